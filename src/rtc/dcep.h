/*
 * dcep.h: the Data Channel Establishment Protocol (RFC 8832), carried on
 * SCTP with PPID 50:
 *   DATA_CHANNEL_OPEN (0x03): channel type u8, priority u16, reliability
 *     parameter u32, label length u16, protocol length u16, label, protocol
 *   DATA_CHANNEL_ACK (0x02): the type byte alone
 * All integers big-endian. Label and protocol are UTF-8.
 */
#ifndef PKC_RTC_DCEP_H
#define PKC_RTC_DCEP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define PKC_DCEP_OPEN 0x03
#define PKC_DCEP_ACK 0x02

/* Channel types: bit 7 unordered; low bits reliability. */
#define PKC_DCEP_RELIABLE 0x00
#define PKC_DCEP_PARTIAL_RELIABLE_REXMIT 0x01
#define PKC_DCEP_PARTIAL_RELIABLE_TIMED 0x02
#define PKC_DCEP_UNORDERED_BIT 0x80

#define PKC_DCEP_LABEL_MAX 65535

typedef struct pkc_dcep_open {
    uint8_t channel_type;
    uint16_t priority;
    uint32_t reliability; /* max retransmits or lifetime in ms; 0 if reliable */
    const char *label;    /* borrowed from the input; not NUL-terminated */
    size_t label_len;
    const char *protocol;
    size_t protocol_len;
} pkc_dcep_open;

/* Parses a DCEP message. *type is PKC_DCEP_OPEN (then *open is filled) or
 * PKC_DCEP_ACK. Returns 0, PKC_ERR_TRUNCATED, PKC_ERR_MALFORMED (unknown
 * message or channel type, trailing bytes, label or protocol not UTF-8). */
int pkc_dcep_parse(const uint8_t *p, size_t n, uint8_t *type, pkc_dcep_open *open);

/* Appends a DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK to `b`. Returns b->err. */
int pkc_dcep_write_open(pkc_buf *b, const pkc_dcep_open *open);
int pkc_dcep_write_ack(pkc_buf *b);

#endif
