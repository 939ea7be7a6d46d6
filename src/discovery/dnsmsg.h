/*
 * dnsmsg.h: the DNS messages of DNS seed discovery, built and parsed with
 * ldns (never by hand): the TXT query of a DNS-over-HTTPS lookup (RFC 8484:
 * id 0; EDNS(0) padded to a multiple of 128 bytes as RFC 8467 recommends),
 * the reading of its answer, and the RFC 2136 UPDATE that publishes a
 * record. Pure: no I/O, no clock.
 *
 * The answer decoder trusts nothing: ldns refuses truncated messages,
 * lengths past the end and compression pointer loops; then the answer must
 * be a response (QR) with id 0, not truncated (TC), NOERROR (NXDOMAIN and
 * NODATA are PKC_ERR_NOT_FOUND), one question for the name and type asked;
 * answer records of another name, class or type are skipped (a CNAME chain
 * is not followed: seeds are published at the name itself), and an answer
 * with such records only is PKC_ERR_MALFORMED ("wrong type"). Each failure
 * has its own pkc_errmsg(), beginning "DNS answer: ".
 */
#ifndef PKC_DISCOVERY_DNSMSG_H
#define PKC_DISCOVERY_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "discovery/dnsrec.h"

/* RFC 8467 4.1: clients pad queries to a multiple of 128 bytes. */
#define PKC_DNSMSG_QUERY_BLOCK 128
/* The EDNS(0) UDP size we advertise (the DNS flag day 2020 value; over
 * HTTPS it only bounds what a resolver may forward). */
#define PKC_DNSMSG_EDNS_SIZE 1232
/* The largest DNS message over HTTPS (RFC 8484 allows 65535). */
#define PKC_DNSMSG_MAX 65535
/* Strings of one TXT record handed to the callback at most; a record with
 * more is skipped (no seed record needs so many). */
#define PKC_DNSMSG_TXT_STRINGS_MAX 32

/* The wire form of a query for `type` records at `name` (1 = A, 16 =
 * TXT), id 0, RD set, padded: *out is malloc'd (free()). 0,
 * PKC_ERR_INVALID_ARG (the name), PKC_ERR_NOMEM. */
int pkc_dnsmsg_query(const char *name, uint16_t type, uint8_t **out, size_t *out_len);

/* One TXT record of an answer: its strings (borrowed for the call) and
 * its TTL in seconds. */
typedef void (*pkc_dnsmsg_txt_fn)(void *user_data, const pkc_dnsrec_txt *strings, size_t n,
                                  uint32_t ttl);

/* Reads the answer `msg` (len bytes) to a query for TXT at `name`: calls
 * `fn` for each TXT record of the name, in order. Returns the number of
 * records handed to `fn` (0 is PKC_ERR_NOT_FOUND), or a negative error:
 * PKC_ERR_MALFORMED (not a DNS message, truncated, pointer loop, not an
 * answer to this question, records of another type only),
 * PKC_ERR_NOT_FOUND (NXDOMAIN, NODATA: no record at all),
 * PKC_ERR_REFUSED (SERVFAIL, REFUSED and other rcodes), PKC_ERR_TRUNCATED
 * (the TC bit). *min_ttl (may be NULL) gets the smallest TTL of the
 * records handed over, or of the SOA's minimum for a negative answer
 * (RFC 2308; 0 when there is none). */
int pkc_dnsmsg_parse_txt(const uint8_t *msg, size_t len, const char *name, pkc_dnsmsg_txt_fn fn,
                         void *user_data, uint32_t *min_ttl);

/* A TSIG key: its name, and its secret in base64 as BIND writes it. */
typedef struct pkc_dns_tsig_key {
    char name[PKC_DNS_NAME_MAX + 2];
    char secret[256];
} pkc_dns_tsig_key;

/* Reads a key file as tsig-keygen writes it:
 *     key "NAME" { algorithm hmac-sha256; secret "BASE64"; };
 * Only hmac-sha256 is accepted (PKC_ERR_UNSUPPORTED otherwise);
 * PKC_ERR_MALFORMED (the reason) for anything else. */
int pkc_dns_tsig_key_parse(const char *text, size_t len, pkc_dns_tsig_key *out);

/* The RFC 2136 UPDATE for `zone` that publishes `zone_line` (a line of
 * pkc_dnsrec_zone_line): when `replace_all`, the TXT RRset at its owner is
 * deleted first (a per-peer name, ours alone); else `old_line`, when not
 * NULL, is deleted (our previous record at a shared name). Signed with
 * `key` (TSIG, HMAC-SHA256, fudge 300 s) when key is not NULL. The TSIG
 * time is ldns's reading of the system clock (ldns takes no other, and the
 * server checks it against its own clock): the one place this layer reads
 * a clock. *out is malloc'd. 0, PKC_ERR_INVALID_ARG (a line ldns cannot
 * read, an owner outside the zone), PKC_ERR_NOMEM, PKC_ERR_CRYPTO (TSIG). */
int pkc_dnsmsg_update(const char *zone, const char *zone_line, int replace_all,
                      const char *old_line, const pkc_dns_tsig_key *key, uint8_t **out,
                      size_t *out_len);

/* Reads the answer `msg` to the UPDATE `query` (as pkc_dnsmsg_update made
 * it; the id is the query's): 0 (NOERROR and, when `key` is not NULL,
 * signed by the server with the key over the query's MAC, RFC 8945 5.3);
 * PKC_ERR_REFUSED (REFUSED, NOTAUTH: "the server refused the update
 * (rcode): is the TSIG key right?", other rcodes); PKC_ERR_BAD_SIGNATURE
 * (a success not signed, or whose TSIG does not verify: not believed);
 * PKC_ERR_MALFORMED (not a DNS message, not the answer to this update). */
int pkc_dnsmsg_update_result(const uint8_t *msg, size_t len, const uint8_t *query, size_t qlen,
                             const pkc_dns_tsig_key *key);

#endif
