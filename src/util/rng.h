/* rng.h: helpers over pkc_rng, and a seeded generator for tests and the
 * simulator. */
#ifndef PKC_UTIL_RNG_H
#define PKC_UTIL_RNG_H

#include "pkc.h"

static inline void pkc_rng_fill(const pkc_rng *rng, void *buf, size_t len)
{
    rng->fill(rng->user_data, buf, len);
}

uint64_t pkc_rng_u64(const pkc_rng *rng);
/* Uniform in [0, n); n must be > 0. Unbiased (rejection sampling). */
uint64_t pkc_rng_below(const pkc_rng *rng, uint64_t n);
/* Uniform in [0, 1) with 53 bits. */
double pkc_rng_unit(const pkc_rng *rng);

/* xoshiro256** seeded through splitmix64: fast, deterministic, NOT
 * cryptographic. The same seed gives the same bytes on every platform. */
typedef struct pkc_seeded_rng {
    pkc_rng rng;
    uint64_t s[4];
} pkc_seeded_rng;

void pkc_seeded_rng_init(pkc_seeded_rng *r, uint64_t seed);

#endif
