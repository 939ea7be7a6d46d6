/* pow.c: proof-of-work stamps (see pow.h). */
#include "crypto/pow.h"

#include <string.h>

#include "util/err.h"
#include "crypto/kdf.h"

#define CTX_MAX 128

unsigned pkc_pow_value(const char *label, const void *ctx, size_t ctx_len, uint64_t counter)
{
    uint8_t in[CTX_MAX + 8], h[32];
    if (ctx_len > CTX_MAX)
        return 0;
    memcpy(in, ctx, ctx_len);
    for (int i = 0; i < 8; i++)
        in[ctx_len + (size_t)i] = (uint8_t)(counter >> (56 - 8 * i));
    pkc_hash_labeled(h, sizeof h, label, in, ctx_len + 8);
    unsigned bits = 0;
    for (size_t i = 0; i < sizeof h; i++) {
        if (h[i] == 0) {
            bits += 8;
            continue;
        }
        for (uint8_t b = h[i]; !(b & 0x80); b = (uint8_t)(b << 1))
            bits++;
        break;
    }
    return bits;
}

uint64_t pkc_pow_solve(const char *label, const void *ctx, size_t ctx_len, unsigned bits)
{
    if (bits > PKC_POW_BITS_MAX)
        bits = PKC_POW_BITS_MAX;
    uint64_t c = 0;
    while (pkc_pow_value(label, ctx, ctx_len, c) < bits)
        c++;
    return c;
}

int pkc_pow_check(const char *label, const void *ctx, size_t ctx_len, uint64_t counter,
                  unsigned bits)
{
    unsigned got = pkc_pow_value(label, ctx, ctx_len, counter);
    if (got < bits)
        return pkc_error(PKC_ERR_POW, "proof of work is worth %u bits, %u required", got, bits);
    return 0;
}
