/*
 * candidate.h: ICE candidates and their SDP attribute form (RFC 8839 5.1):
 *   candidate:<foundation> <component> <transport> <priority> <address>
 *             <port> typ <host|srflx|prflx|relay> [raddr <a> rport <p>]
 *             *(<extension name> <extension value>)
 */
#ifndef PKC_RTC_CANDIDATE_H
#define PKC_RTC_CANDIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "rtc/addr.h"

typedef enum pkc_cand_type {
    PKC_CAND_HOST = 0,
    PKC_CAND_SRFLX = 1,
    PKC_CAND_PRFLX = 2,
    PKC_CAND_RELAY = 3,
} pkc_cand_type;

#define PKC_CAND_FOUNDATION_MAX 32

typedef struct pkc_cand {
    char foundation[PKC_CAND_FOUNDATION_MAX + 1];
    uint16_t component;
    uint32_t priority;
    pkc_cand_type type;
    pkc_addr addr;
    pkc_addr related; /* raddr/rport; family 0 when absent */
} pkc_cand;

/* What pkc_cand_parse found. */
typedef enum pkc_cand_parse_result {
    PKC_CAND_USABLE = 0,  /* UDP, numeric address, component 1 */
    PKC_CAND_IGNORED = 1, /* well-formed but not for us: TCP, an mDNS or other
                             host name, another component */
} pkc_cand_parse_result;

/* Parses one candidate attribute value, with or without the leading "a=" and
 * "candidate:" (browsers trickle "candidate:..." without "a="). On success
 * returns 0 and sets *result; *out is filled only when usable. Returns
 * PKC_ERR_SDP (with what is wrong in pkc_errmsg()) for malformed input. */
int pkc_cand_parse(const char *line, size_t len, pkc_cand *out, pkc_cand_parse_result *result);

/* Room for the longest candidate line pkc writes (two IPv6 addresses). */
#define PKC_CAND_LINE_MAX 256

/* Writes "candidate:..." (no "a=", no line end, NUL-terminated) into `out`
 * and returns its length, as snprintf. */
size_t pkc_cand_format(const pkc_cand *c, char *out, size_t size);
/* Appends "candidate:..." (no "a=", no line end) to `b`. */
void pkc_cand_write(pkc_buf *b, const pkc_cand *c);

/* RFC 8445 5.1.2.1: (2^24) type preference + (2^8) local preference +
 * (256 - component). */
uint32_t pkc_cand_priority(pkc_cand_type type, uint16_t local_pref, uint16_t component);
const char *pkc_cand_type_name(pkc_cand_type t);

#endif
