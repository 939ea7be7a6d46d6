/* guard.h: what sessions need from a guard beyond the public API. */
#ifndef PKC_PROTO_GUARD_H
#define PKC_PROTO_GUARD_H

#include "pkc.h"

/* Points for an invalid frame and for each frame over a rate limit. */
uint32_t pkc_guard_invalid_points(const pkc_guard *g);
uint32_t pkc_guard_excess_points(const pkc_guard *g);

#endif
