/*
 * lan_wire.h: the LAN announcement datagram (docs/protocol.md, "LAN
 * announcements"):
 *
 *   datagram = "pkcl" || u8 version (1) || announcement record
 *
 * The record is an ANNOUNCE body (docs/protocol.md, "Frames") signed by the
 * node it describes; its addresses are the node's ICE-lite listener host
 * candidates ("udp:IP:PORT") and two of its extensions carry the room ids
 * the node announces and what a peer needs to dial the listener without
 * signaling (ICE ufrag and pwd, SHA-256 DTLS fingerprint). Pure codec: no
 * clock, no I/O; signatures are made here and checked by the caller
 * (pkc_announce_verify), after its cheaper checks.
 */
#ifndef PKC_DISCOVERY_LAN_WIRE_H
#define PKC_DISCOVERY_LAN_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "pkc.h"

#define PKC_LAN_MAGIC "pkcl"
#define PKC_LAN_MAGIC_LEN 4
#define PKC_LAN_VERSION 1
/* A datagram is at most this long: one IPv6 packet of the minimum MTU
 * (1280) holds it with its headers, so it is never fragmented. */
#define PKC_LAN_DATAGRAM_MAX 1200
/* The shortest possible datagram (no addresses, no extensions): anything
 * shorter is refused before it is parsed. */
#define PKC_LAN_DATAGRAM_MIN (PKC_LAN_MAGIC_LEN + 1 + 1 + 32 + 32 + 1 + 1 + 1 + 1 + 8 + 64)

/* Extension types of the announcement record (shared with every other use
 * of announcements; docs/protocol.md lists them). */
#define PKC_ANNOUNCE_EXT_ROOMS 1
#define PKC_ANNOUNCE_EXT_LISTENER 2

#define PKC_LAN_ROOMS_MAX 16
#define PKC_LAN_FINGERPRINT_BYTES 32 /* SHA-256 */
#define PKC_LAN_UFRAG_MIN 4
#define PKC_LAN_UFRAG_MAX 64
#define PKC_LAN_PWD_MIN 22
#define PKC_LAN_PWD_MAX 64
/* "udp:[" + 45 (the longest IPv6 text) + "]:65535" */
#define PKC_LAN_ADDRESS_MAX 57

/* What a node puts in its announcement. */
typedef struct pkc_lan_params {
    uint64_t timestamp_ms; /* wall clock, at most 2^53 - 1 */
    uint64_t capabilities; /* the announcement's capabilities (0 today) */
    const char *const *addresses; /* "udp:IP:PORT", NUL-terminated */
    size_t n_addresses;           /* 1..PKC_ADDRESSES_MAX */
    const uint8_t *rooms;         /* n_rooms room ids, PKC_ROOM_ID_BYTES each */
    size_t n_rooms;               /* 1..PKC_LAN_ROOMS_MAX */
    const uint8_t *fingerprint;   /* PKC_LAN_FINGERPRINT_BYTES */
    const char *ufrag;            /* ICE ufrag of the listener, 4..64 ice-chars */
    const char *pwd;              /* ICE pwd of the listener, 22..64 ice-chars */
} pkc_lan_params;

/* A decoded datagram. Every pointer borrows the datagram. */
typedef struct pkc_lan_announcement {
    pkc_announce announce; /* the signed record: pkc_announce_verify() it */
    const uint8_t *rooms;  /* n_rooms * PKC_ROOM_ID_BYTES */
    size_t n_rooms;
    const uint8_t *fingerprint; /* PKC_LAN_FINGERPRINT_BYTES */
    pkc_bytes ufrag;
    pkc_bytes pwd;
} pkc_lan_announcement;

/*
 * Writes the datagram announcing `id` with `p`, signed, to `out` (appended;
 * at most PKC_LAN_DATAGRAM_MAX bytes). Returns 0; PKC_ERR_INVALID_ARG (a
 * field out of its limits or of the wrong syntax, named in pkc_errmsg()),
 * PKC_ERR_RANGE (timestamp), PKC_ERR_TOO_LARGE (more than
 * PKC_LAN_DATAGRAM_MAX bytes: fewer addresses), PKC_ERR_NOMEM. On failure
 * `out` is as it was.
 */
int pkc_lan_datagram_encode(const pkc_identity *id, const pkc_lan_params *p, pkc_buf *out);

/*
 * Decodes a datagram: size, magic and version first, then the record
 * (pkc_announce_decode), its addresses (at least one, each "udp:IPv4:PORT"
 * or "udp:[IPv6]:PORT", port 1..65535) and its extensions (exactly one ROOMS
 * and one LISTENER; others are skipped). Checks syntax and limits only, not
 * the signature or the time. Returns 0; PKC_ERR_TOO_LARGE, PKC_ERR_TRUNCATED,
 * PKC_ERR_MALFORMED (magic, syntax, a missing or repeated extension),
 * PKC_ERR_UNSUPPORTED (another version), PKC_ERR_RANGE. *out is untouched
 * on failure.
 */
int pkc_lan_datagram_decode(const uint8_t *in, size_t len, pkc_lan_announcement *out);

/* Whether `s` (n bytes) is "udp:IPv4:PORT" or "udp:[IPv6]:PORT" with a port
 * of 1..65535, written as inet_ntop writes addresses (so that one address
 * has one spelling). */
int pkc_lan_address_valid(const char *s, size_t n);

/* Whether `s` (n bytes) is min..max ICE characters (RFC 8839 ice-char:
 * ALPHA / DIGIT / "+" / "/"). */
int pkc_lan_ice_string_valid(const uint8_t *s, size_t n, size_t min, size_t max);

/* The announcement record alone (the ANNOUNCE body of docs/protocol.md),
 * with `extensions` (an encoded extension list: varuint count, then the
 * entries) and no proof of work, appended to `out`. Exposed for the test
 * that it is the record pkc_announce_create() makes. */
int pkc_lan_record_encode(const pkc_identity *id, uint64_t timestamp_ms, uint64_t capabilities,
                          const char *const *addresses, size_t n_addresses,
                          const uint8_t *extensions, size_t ext_len, pkc_buf *out);

/* The secret of the local room, which every pkc peer on the same host and
 * LAN is in with no configuration: H("pkc-local-room-v1", ""). Public by
 * design (docs/protocol.md, "LAN announcements"); its room id is
 * pkc_room_key_derive() of it, as for any room. */
void pkc_lan_local_room_secret(uint8_t secret[PKC_ROOM_SECRET_BYTES]);

#endif
