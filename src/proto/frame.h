/* frame.h: frame codec internals shared by the session and the message code. */
#ifndef PKC_PROTO_FRAME_H
#define PKC_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
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

/* The exact encoded size of `f`, or a negative error for invalid fields. */
int64_t pkc_frame_size(const pkc_frame *f);
/* The same, and the size of its body in *body. */
int64_t pkc_frame_sizes(const pkc_frame *f, int64_t *body);
/* Writes `f`, whose sizes pkc_frame_sizes() gave (and accepted), at `out`. */
void pkc_frame_put(uint8_t *out, const pkc_frame *f, uint64_t body);

/* Decodes a DATA or SIGNAL body (from `hops` to the signature). */
int pkc_message_decode_body(const uint8_t *body, size_t len, uint64_t type, pkc_message *m);
/* The signature label of a message type. */
const char *pkc_message_label(uint64_t type);
/* The digest a message's signature signs (and whose first 16 bytes are its
 * id): H(label of `type`, signed_part). */
void pkc_message_digest(uint64_t type, const uint8_t *signed_part, size_t len, uint8_t out[32]);

#endif
