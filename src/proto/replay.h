/* replay.h: what tests and fuzzers need from a replay window beyond the
 * public API (pkc.h, "Replay window"). */
#ifndef PKC_PROTO_REPLAY_H
#define PKC_PROTO_REPLAY_H

#include <stdint.h>

#include "pkc.h"

/* The keyed hash of a sender's key (NULL: the anonymous sender) that
 * places it in a bucket. */
uint32_t pkc_replay_sender_hash(const pkc_replay *r, const uint8_t *sender);
/* The bucket of a sender hash. */
uint32_t pkc_replay_bucket_of(const pkc_replay *r, uint32_t sender_hash);

#endif
