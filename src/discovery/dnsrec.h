/*
 * dnsrec.h: DNS seed records (docs/protocol.md, "DNS seed records").
 *
 * An always-on peer (a seed) publishes in DNS what a one-step invitation
 * carries to reach it, without the room secret and without expiry: its
 * identity key, a sequence number (strictly increasing: the publisher's wall
 * clock in ms), the id of the room it seeds, its dial information (DTLS
 * fingerprint, ICE credentials, 1..8 addresses, the bytes of an invitation),
 * and an Ed25519 signature over all of it. A reader still needs the room
 * secret: the seed admits only peers that prove it in the session handshake.
 *
 * Text form: "pkc1=" then the base64url (RFC 4648 section 5, no padding) of
 * the bytes, split into DNS character-strings of at most 255 bytes (RFC
 * 1035 3.3.14) that a reader joins in order without separators.
 *
 * Owner names: "_pkc.<domain>" holds the seed list of a domain (one TXT
 * record per seed), "_pkc.<peer id>.<domain>" one peer's record, as iroh's
 * "_iroh.<id>.<origin>".
 *
 * Pure codec: no clock, no I/O. Checks, in order (each with its own code
 * and pkc_errmsg() text, every message beginning "dns record: "):
 *   pkc_dnsrec_parse_txt: size, prefix ("pkc" then a version: another
 *     version is PKC_ERR_UNSUPPORTED, anything else PKC_ERR_MALFORMED: not
 *     a pkc record), base64url (the character's offset), then as
 *     pkc_dnsrec_decode: version (PKC_ERR_UNSUPPORTED), fields
 *     (PKC_ERR_MALFORMED, PKC_ERR_TRUNCATED, PKC_ERR_RANGE: "field: offset
 *     N: ..."), then the signature (PKC_ERR_BAD_SIGNATURE: tampered);
 *   pkc_dnsrec_check: the room (PKC_ERR_MISMATCH: another room's seed), the
 *     peer when the name gave one (PKC_ERR_MISMATCH), the sequence
 *     (PKC_ERR_STALE: not newer than the last seen, ignored).
 */
#ifndef PKC_DISCOVERY_DNSREC_H
#define PKC_DISCOVERY_DNSREC_H

#include <stddef.h>
#include <stdint.h>

#include "discovery/invite.h"
#include "util/buf.h"
#include "pkc.h"

#define PKC_DNSREC_VERSION 1
/* The text form's prefix: the format and its version, then '='. */
#define PKC_DNSREC_PREFIX "pkc1="
#define PKC_DNSREC_PREFIX_LEN 5
/* The label before the domain (or before the peer id). */
#define PKC_DNSREC_LABEL "_pkc"

/* A DNS character-string holds at most 255 bytes (RFC 1035 3.3.14). */
#define PKC_DNSREC_STRING_MAX 255
/* The longest record: every field at its limit (8 IPv6 addresses). */
#define PKC_DNSREC_BYTES_MAX                                                                       \
    (1 + 32 + 8 + PKC_ROOM_ID_BYTES + 32 + 1 + PKC_LAN_UFRAG_MAX + 1 + PKC_LAN_PWD_MAX + 1 +       \
     PKC_INVITE_ADDRESSES_MAX * 19 + 64)
/* Its text (prefix + base64url, no NUL) and the number of strings. */
#define PKC_DNSREC_TEXT_MAX (PKC_DNSREC_PREFIX_LEN + (PKC_DNSREC_BYTES_MAX * 4 + 2) / 3)
#define PKC_DNSREC_STRINGS_MAX                                                                     \
    ((PKC_DNSREC_TEXT_MAX + PKC_DNSREC_STRING_MAX - 1) / PKC_DNSREC_STRING_MAX)

/* A domain name: labels of 1..63 bytes, at most 253 bytes written without
 * the final dot (RFC 1035 2.3.4, RFC 2181 11). */
#define PKC_DNS_LABEL_MAX 63
#define PKC_DNS_NAME_MAX 253
/* TTLs: 1 s .. 2^31 - 1 s (RFC 2181 8); the default 5 minutes, so that a
 * seed that moved is found again soon. */
#define PKC_DNSREC_TTL_DEFAULT 300
#define PKC_DNSREC_TTL_MAX 2147483647u
/* The longest zone line pkc_dnsrec_zone_line writes, without the NUL:
 * name, dot, space, TTL, " IN TXT", and each string quoted after a space. */
#define PKC_DNSREC_ZONE_LINE_MAX                                                                   \
    (PKC_DNS_NAME_MAX + 1 + 1 + 10 + 7 + PKC_DNSREC_TEXT_MAX + 3 * PKC_DNSREC_STRINGS_MAX)

/* A decoded (or made) record: a plain value, owning everything, no secret. */
typedef struct pkc_dnsrec {
    uint8_t version;                          /* PKC_DNSREC_VERSION */
    uint8_t public_key[PKC_PUBLIC_KEY_BYTES]; /* the seed's identity */
    char peer_id[PKC_PEER_ID_SIZE];           /* derived from public_key */
    uint64_t sequence;                        /* 1..2^53 - 1, strictly increasing */
    uint8_t room_id[PKC_ROOM_ID_BYTES];       /* pkc_room_key_derive(secret).id */
    pkc_invite_dial dial;                     /* how to reach the seed */
    uint8_t signature[PKC_SIGNATURE_BYTES];
} pkc_dnsrec;

typedef struct pkc_dnsrec_params {
    /* Strictly greater than any the seed published before: its wall clock
     * in Unix ms is the usual choice (1..2^53 - 1). */
    uint64_t sequence;
    const uint8_t *room_id; /* PKC_ROOM_ID_BYTES */
    pkc_invite_dial_params dial;
} pkc_dnsrec_params;

/* One DNS character-string of a TXT record, as a lookup answers it. */
typedef struct pkc_dnsrec_txt {
    const uint8_t *data;
    size_t len; /* 0..255 */
} pkc_dnsrec_txt;

/* Makes and signs a record by `id` into *out. Returns 0;
 * PKC_ERR_INVALID_ARG (NULL, or a field outside its limits: named in
 * pkc_errmsg()), PKC_ERR_RANGE (the sequence). *out is untouched on
 * failure. */
int pkc_dnsrec_create(const pkc_identity *id, const pkc_dnsrec_params *p, pkc_dnsrec *out);

/* Appends the bytes of `rec` to `out`: 0, PKC_ERR_INVALID_ARG (a field
 * outside its limits), PKC_ERR_NOMEM; `out` is as it was on failure. */
int pkc_dnsrec_encode(const pkc_dnsrec *rec, pkc_buf *out);

/* Decodes bytes and checks the signature (not the room nor the sequence:
 * pkc_dnsrec_check). Never trusts a length. Errors as the header says;
 * *out is untouched on failure. */
int pkc_dnsrec_decode(const uint8_t *in, size_t len, pkc_dnsrec *out);
/* Without the signature check: for tests and the fuzz harness only. */
int pkc_dnsrec_decode_unsigned(const uint8_t *in, size_t len, pkc_dnsrec *out);

/* The text "pkc1=..." and a NUL into `out` (PKC_DNSREC_TEXT_MAX + 1 bytes
 * is always enough). Returns its length (> 0), or a negative error:
 * PKC_ERR_TOO_LARGE (out_size), those of pkc_dnsrec_encode. */
int pkc_dnsrec_text(const pkc_dnsrec *rec, char *out, size_t out_size);

/* Splits `text` (len bytes) into strings of PKC_DNSREC_STRING_MAX bytes,
 * the last shorter: strings[i] points into `text`. Returns the number of
 * strings (ceil(len / 255), at least 1: an empty text is one empty string),
 * or PKC_ERR_TOO_LARGE if more than `max` are needed. */
int pkc_dnsrec_split(const char *text, size_t len, pkc_dnsrec_txt *strings, size_t max);

/* Joins a TXT record's strings in order (as a lookup answers them) and
 * reads the record: a string longer than 255 bytes is PKC_ERR_MALFORMED,
 * then the checks of the header in order. *out is untouched on failure. */
int pkc_dnsrec_parse_txt(const pkc_dnsrec_txt *strings, size_t n, pkc_dnsrec *out);

/*
 * What a reader checks before using a record it decoded:
 *   - the record seeds `room_id` (that of the room the reader joins), else
 *     PKC_ERR_MISMATCH "for another room";
 *   - `peer_id`, when not NULL (the record came from "_pkc.<peer id>.<domain>"),
 *     is the record's key's, else PKC_ERR_MISMATCH;
 *   - its sequence is greater than `last_seen` (the highest the reader has
 *     taken from this key; 0 for none), else PKC_ERR_STALE "older record
 *     ignored".
 */
int pkc_dnsrec_check(const pkc_dnsrec *rec, const uint8_t room_id[PKC_ROOM_ID_BYTES],
                     const char *peer_id, uint64_t last_seen);

/* Whether `domain` is a domain name pkc publishes under: 1..253 bytes
 * (without an optional final dot), labels of 1..63 letters, digits, '-'
 * and '_', not beginning or ending with '-'. 0 or PKC_ERR_INVALID_ARG with
 * the reason (and the label) in pkc_errmsg(). */
int pkc_dns_domain_check(const char *domain);

/* The owner name of a record, lower case and without the final dot, and a
 * NUL into `out`: "_pkc.<domain>" (the domain's seed list) when `peer_id`
 * is NULL, else "_pkc.<peer id>.<domain>" (that peer's record). Returns its
 * length; PKC_ERR_INVALID_ARG (the domain, as pkc_dns_domain_check; a peer
 * id that is not one; a name longer than 253 bytes), PKC_ERR_TOO_LARGE
 * (out_size; PKC_DNS_NAME_MAX + 1 is always enough). */
int pkc_dnsrec_owner_name(const char *domain, const char *peer_id, char *out, size_t out_size);

/* A DNS character-string `s` (n bytes) quoted for a master file and a NUL
 * into `out`: '"' and '\' escaped with '\', bytes outside printable ASCII
 * as \DDD (RFC 1035 5.1). Returns its length, PKC_ERR_TOO_LARGE
 * (out_size; 4 n + 3 is always enough). */
int pkc_dns_quote(const uint8_t *s, size_t n, char *out, size_t out_size);

/* One master-file line (RFC 1035 5.1) publishing `rec` at `owner` (a name
 * as pkc_dnsrec_owner_name writes it) with `ttl` seconds (0 = the default),
 * and a NUL:
 *   _pkc.example.org. 300 IN TXT "pkc1=..." "..."
 * Each string is quoted, with '"' and '\' escaped by '\' and bytes outside
 * printable ASCII as \DDD. Returns its length; PKC_ERR_INVALID_ARG (owner,
 * ttl above PKC_DNSREC_TTL_MAX), PKC_ERR_TOO_LARGE (out_size:
 * PKC_DNSREC_ZONE_LINE_MAX + 1 is always enough), those of
 * pkc_dnsrec_encode. */
int pkc_dnsrec_zone_line(const pkc_dnsrec *rec, const char *owner, uint32_t ttl, char *out,
                         size_t out_size);

#endif
