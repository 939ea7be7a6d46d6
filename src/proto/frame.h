/* frame.h: frame codec internals shared by the session and the message code. */
#ifndef PKC_PROTO_FRAME_H
#define PKC_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "pkc.h"

#define PKC_ANNOUNCE_VERSION 1
#define PKC_MESSAGE_VERSION 1
#define PKC_TIMESTAMP_MAX ((UINT64_C(1) << 53) - 1)
#define PKC_HOPS_MAX 255
#define PKC_EXTENSIONS_MAX 16
#define PKC_EXTENSION_VALUE_MAX 256
#define PKC_SIGNAL_BODY_MAX 16384

#define PKC_LABEL_ANNOUNCE "pkc-announce-v1"
#define PKC_LABEL_DATA "pkc-data-v1"
#define PKC_LABEL_SIGNAL "pkc-signal-v1"

/*
 * The frame types this version knows, one row each (as quicly's frame
 * table): the type, the name people see, and the stem of the functions that
 * do everything type-specific:
 *
 *   int64_t <stem>_size(const pkc_frame *f)     the body's size after checking
 *                                               its fields' limits, or a
 *                                               negative error     (frame.c)
 *   void    <stem>_write(wcur *w, const pkc_frame *f)
 *                                               writes that body   (frame.c)
 *   int     <stem>_decode(const uint8_t *body, size_t n, uint64_t type,
 *                         pkc_frame *f)         reads the whole body into f's
 *                                               member; f untouched on failure
 *                                                                  (frame.c)
 *   int     on_<stem>(pkc_session *s, pkc_frame *f)
 *                                               a received one     (session.c)
 *
 * A new type is a value and a union member in pkc.h, a row here and those
 * four functions. Types without a row decode as f->unknown and are skipped.
 */
#define PKC_FRAME_TYPES(X)                                                                         \
    X(PKC_FRAME_CONTROL, "CONTROL", control)                                                       \
    X(PKC_FRAME_ANNOUNCE, "ANNOUNCE", announce)                                                    \
    X(PKC_FRAME_DATA, "DATA", message)                                                             \
    X(PKC_FRAME_SYNC, "SYNC", sync)                                                                \
    X(PKC_FRAME_SIGNAL, "SIGNAL", message)                                                         \
    X(PKC_FRAME_PEX, "PEX", pex)                                                                   \
    X(PKC_FRAME_MESH, "MESH", mesh)

/* One past the largest type with a row (frame.c checks it at compile time). */
#define PKC_FRAME_TYPE_END (PKC_FRAME_MESH + 1)

/* The row's name of a type ("DATA"), or "unknown". */
const char *pkc_frame_type_name(uint64_t type);

/* The exact encoded size of `f`, or a negative error for invalid fields. */
int64_t pkc_frame_size(const pkc_frame *f);
/* The same, and the size of its body in *body. */
int64_t pkc_frame_sizes(const pkc_frame *f, int64_t *body);
/* Writes `f`, whose sizes pkc_frame_sizes() gave (and accepted), at `out`. */
void pkc_frame_put(uint8_t *out, const pkc_frame *f, uint64_t body);

/* pkc_announce_verify() in its two parts: the signature (an Ed25519
 * verification), and the claims (timestamp window, proof of work), which
 * cost next to nothing. */
int pkc_announce_check_signature(const pkc_announce *a);
int pkc_announce_check_claims(const pkc_announce *a, int64_t now_ms, int64_t max_age_ms,
                              int64_t max_skew_ms, uint32_t pow_bits);

/* Decodes a DATA or SIGNAL body (from `hops` to the signature). */
int pkc_message_decode_body(const uint8_t *body, size_t len, uint64_t type, pkc_message *m);
/* The signature label of a message type. */
const char *pkc_message_label(uint64_t type);
/* The digest a message's signature signs (and whose first 16 bytes are its
 * id): H(label of `type`, signed_part). */
void pkc_message_digest(uint64_t type, const uint8_t *signed_part, size_t len, uint8_t out[32]);

#endif
