/*
 * stun.h: STUN messages (RFC 8489) as ICE (RFC 8445) and consent freshness
 * (RFC 7675) use them: Binding requests, responses and indications with
 * USERNAME, MESSAGE-INTEGRITY (HMAC-SHA1), FINGERPRINT, XOR-MAPPED-ADDRESS,
 * PRIORITY, USE-CANDIDATE, ICE-CONTROLLING/CONTROLLED and ERROR-CODE.
 *
 * The decoder is strict about structure (header, lengths, padding, the sizes
 * of the attributes it knows, MESSAGE-INTEGRITY and FINGERPRINT placement)
 * and verifies FINGERPRINT when present. Attributes after
 * MESSAGE-INTEGRITY other than FINGERPRINT are ignored, as the RFC says;
 * repeated attributes keep their first value. Unknown attributes are skipped;
 * unknown comprehension-required ones (type < 0x8000) are listed so that a
 * request can be answered with 420.
 */
#ifndef PKC_RTC_STUN_H
#define PKC_RTC_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "rtc/addr.h"

#define PKC_STUN_HEADER_SIZE 20
#define PKC_STUN_MAGIC 0x2112A442u
#define PKC_STUN_TXID_SIZE 12
/* Largest message pkc decodes or writes: fits an unfragmented datagram. */
#define PKC_STUN_MAX_SIZE 1280
#define PKC_STUN_MAX_USERNAME 513
#define PKC_STUN_MAX_UNKNOWN 8

/* Classes, as already placed in the message type bits. */
enum {
    PKC_STUN_REQUEST = 0x0000,
    PKC_STUN_INDICATION = 0x0010,
    PKC_STUN_SUCCESS = 0x0100,
    PKC_STUN_ERROR = 0x0110,
};
#define PKC_STUN_METHOD_BINDING 0x0001
#define PKC_STUN_CLASS_MASK 0x0110
#define PKC_STUN_METHOD(type) ((uint16_t)((type) & ~PKC_STUN_CLASS_MASK & 0x3fff))
#define PKC_STUN_CLASS(type) ((uint16_t)((type) & PKC_STUN_CLASS_MASK))

enum {
    PKC_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    PKC_STUN_ATTR_USERNAME = 0x0006,
    PKC_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    PKC_STUN_ATTR_ERROR_CODE = 0x0009,
    PKC_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    PKC_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    PKC_STUN_ATTR_PRIORITY = 0x0024,
    PKC_STUN_ATTR_USE_CANDIDATE = 0x0025,
    PKC_STUN_ATTR_SOFTWARE = 0x8022,
    PKC_STUN_ATTR_FINGERPRINT = 0x8028,
    PKC_STUN_ATTR_ICE_CONTROLLED = 0x8029,
    PKC_STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/* Which attributes a decoded message carried. */
enum {
    PKC_STUN_HAS_USERNAME = 1u << 0,
    PKC_STUN_HAS_INTEGRITY = 1u << 1,
    PKC_STUN_HAS_FINGERPRINT = 1u << 2,
    PKC_STUN_HAS_XOR_MAPPED = 1u << 3,
    PKC_STUN_HAS_MAPPED = 1u << 4,
    PKC_STUN_HAS_PRIORITY = 1u << 5,
    PKC_STUN_HAS_USE_CANDIDATE = 1u << 6,
    PKC_STUN_HAS_CONTROLLING = 1u << 7,
    PKC_STUN_HAS_CONTROLLED = 1u << 8,
    PKC_STUN_HAS_ERROR_CODE = 1u << 9,
    PKC_STUN_HAS_SOFTWARE = 1u << 10,
    PKC_STUN_HAS_UNKNOWN_ATTRS = 1u << 11,
};

/* A decoded message. Pointers borrow the input buffer. */
typedef struct pkc_stun_msg {
    uint16_t type;
    uint8_t txid[PKC_STUN_TXID_SIZE];
    uint32_t has;
    const uint8_t *username;
    size_t username_len;
    uint32_t priority;
    uint64_t ice_controlling;
    uint64_t ice_controlled;
    pkc_addr xor_mapped;
    pkc_addr mapped;
    uint16_t error_code; /* 300..699 */
    const uint8_t *reason;
    size_t reason_len;
    const uint8_t *software;
    size_t software_len;
    uint16_t unknown[PKC_STUN_MAX_UNKNOWN]; /* comprehension-required, unknown */
    size_t n_unknown;
    size_t integrity_offset; /* of the MESSAGE-INTEGRITY attribute header */
    size_t len;
} pkc_stun_msg;

/* Nonzero if `p` may be a STUN message (RFC 7983: first byte 0..3, and the
 * magic cookie in place). Cheap; used to demultiplex. */
int pkc_stun_is_stun(const uint8_t *p, size_t n);

/* Decodes `n` bytes (exactly one message). Returns 0, PKC_ERR_TRUNCATED,
 * PKC_ERR_MALFORMED, PKC_ERR_TOO_LARGE or PKC_ERR_CHECKSUM (a FINGERPRINT
 * that does not match), with details in pkc_errmsg(). */
int pkc_stun_decode(const uint8_t *p, size_t n, pkc_stun_msg *m);

/* Verifies MESSAGE-INTEGRITY with `key` (ICE: the password). `p` is the
 * buffer `m` was decoded from. Returns 0, PKC_ERR_NOT_FOUND (no
 * MESSAGE-INTEGRITY) or PKC_ERR_INTEGRITY (wrong key or altered message). */
int pkc_stun_check_integrity(const uint8_t *p, const pkc_stun_msg *m, const void *key,
                             size_t key_len);

/* Writing: begin, add attributes, finish. Errors are sticky in `b`. */
void pkc_stun_begin(pkc_buf *b, uint16_t type, const uint8_t txid[PKC_STUN_TXID_SIZE]);
void pkc_stun_add(pkc_buf *b, uint16_t attr, const void *value, size_t len);
void pkc_stun_add_u32(pkc_buf *b, uint16_t attr, uint32_t v);
void pkc_stun_add_u64(pkc_buf *b, uint16_t attr, uint64_t v);
/* XOR-MAPPED-ADDRESS (xor = 1) or MAPPED-ADDRESS (xor = 0). */
void pkc_stun_add_address(pkc_buf *b, uint16_t attr, const pkc_addr *a, int xor_);
void pkc_stun_add_error(pkc_buf *b, uint16_t code, const char *reason);
/* Appends MESSAGE-INTEGRITY when `key` is not NULL, then FINGERPRINT when
 * `fingerprint` is set, fixing the length field. Returns b->err. */
int pkc_stun_finish(pkc_buf *b, const void *key, size_t key_len, int fingerprint);

/* A short name for logs: "binding request", "binding success", ... */
const char *pkc_stun_type_name(uint16_t type);

#endif
