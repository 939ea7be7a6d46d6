/* session.h: session internals for tests and fuzzing (not public API). */
#ifndef PKC_PROTO_SESSION_H
#define PKC_PROTO_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"

/* Seals `len` arbitrary bytes (1..max_frame_size) as the plaintext of one
 * record and sends it, without checking that they are frames: lets a fuzzer
 * or a test play a peer that sends anything inside an authentic record. */
int pkc_session_send_raw(pkc_session *s, const uint8_t *plain, size_t len);

#endif
