/* rng.c: the system CSPRNG and a seeded deterministic generator. */
#define _GNU_SOURCE
#include "util/rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __wasi__
#include <unistd.h>
#else
#include <sys/random.h>
#endif

#ifdef __wasi__
/* WebAssembly (make web): WASI has no getrandom(); getentropy() is its
 * random_get, which the JavaScript host answers with crypto.getRandomValues.
 * It takes at most 256 bytes a call. */
static void system_fill(void *ud, void *buf, size_t len)
{
    (void)ud;
    uint8_t *p = buf;
    while (len > 0) {
        size_t n = len < 256 ? len : 256;
        if (getentropy(p, n) != 0) {
            fprintf(stderr, "pkc: getentropy failed: %s\n", strerror(errno));
            abort();
        }
        p += n;
        len -= n;
    }
}
#else
static void system_fill(void *ud, void *buf, size_t len)
{
    (void)ud;
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* Returning predictable bytes would be worse than stopping. */
            fprintf(stderr, "pkc: getrandom failed: %s\n", strerror(errno));
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
}
#endif

static const pkc_rng system_rng = {system_fill, NULL};

const pkc_rng *pkc_rng_system(void)
{
    return &system_rng;
}

uint64_t pkc_rng_u64(const pkc_rng *rng)
{
    uint8_t b[8];
    pkc_rng_fill(rng, b, sizeof b);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

uint64_t pkc_rng_below(const pkc_rng *rng, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* Reject the top partial range so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = pkc_rng_u64(rng);
    while (v >= limit);
    return v % n;
}

double pkc_rng_unit(const pkc_rng *rng)
{
    return (double)(pkc_rng_u64(rng) >> 11) * 0x1.0p-53;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void seeded_fill(void *ud, void *buf, size_t len)
{
    pkc_seeded_rng *r = ud;
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t v = xoshiro_next(r->s);
        /* Little-endian byte order, fixed, so results match across hosts. */
        for (int i = 0; i < 8 && len > 0; i++, len--, v >>= 8)
            *p++ = (uint8_t)v;
    }
}

void pkc_seeded_rng_init(pkc_seeded_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        r->s[i] = z ^ (z >> 31);
    }
    r->rng.fill = seeded_fill;
    r->rng.user_data = r;
}
