/*
 * pow.h: proof-of-work stamps.
 *
 *   hash(counter) = H(label, context || u64be counter)        (kdf.h's H)
 *   a stamp `counter` is worth the number of leading zero bits of hash.
 *
 * The context binds a stamp to what it pays for (a handshake's transcript,
 * an announcement's key and timestamp), so it cannot be used for anything
 * else; the label says which kind of thing.
 */
#ifndef PKC_CRYPTO_POW_H
#define PKC_CRYPTO_POW_H

#include <stddef.h>
#include <stdint.h>

#define PKC_POW_BITS_MAX 32
#define PKC_POW_LABEL_HANDSHAKE "pkc-pow-v1 handshake"
#define PKC_POW_LABEL_ANNOUNCE "pkc-pow-v1 announce"

/* Leading zero bits of the stamp's hash (0..256). */
unsigned pkc_pow_value(const char *label, const void *ctx, size_t ctx_len, uint64_t counter);

/* The smallest counter worth at least `bits` (0..PKC_POW_BITS_MAX): counters
 * are tried from 0 upwards, so the result is deterministic. */
uint64_t pkc_pow_solve(const char *label, const void *ctx, size_t ctx_len, unsigned bits);

/* 0 if `counter` is worth at least `bits`, else PKC_ERR_POW. */
int pkc_pow_check(const char *label, const void *ctx, size_t ctx_len, uint64_t counter,
                  unsigned bits);

#endif
