/*
 * backend.h: the only door from pkc to a cryptography library.
 *
 * Everything in pkc that needs a primitive calls these functions; one file
 * implements them (backend_sodium.c, libsodium). A second backend (the
 * browser build, libsodium's WebAssembly build) implements the same list.
 * Keep it small: add a primitive here only when a layer needs it.
 */
#ifndef PKC_CRYPTO_BACKEND_H
#define PKC_CRYPTO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"

#define PKC_SIGN_SEED_BYTES 32
#define PKC_SIGN_PUBLIC_BYTES 32
#define PKC_SIGN_SECRET_BYTES 64
#define PKC_SIGNATURE_BYTES 64
#define PKC_HASH_MAX_BYTES 64

/* Initialises the library once; thread-safe. 0 or PKC_ERR_CRYPTO. */
int pkc_crypto_init(void);

/* Ed25519 key pair from a 32-byte seed (deterministic). */
void pkc_crypto_sign_keypair_from_seed(uint8_t pk[PKC_SIGN_PUBLIC_BYTES],
                                       uint8_t sk[PKC_SIGN_SECRET_BYTES],
                                       const uint8_t seed[PKC_SIGN_SEED_BYTES]);

/* BLAKE2b with an output of 1..64 bytes over the concatenation of two
 * inputs (either may be empty), so callers can prefix a domain label. */
void pkc_crypto_hash2(uint8_t *out, size_t out_len, const void *a, size_t a_len, const void *b,
                      size_t b_len);

/* Zeroes memory in a way the compiler cannot remove. */
void pkc_crypto_wipe(void *p, size_t n);

/* Constant-time comparison: 0 if equal. */
int pkc_crypto_memcmp(const void *a, const void *b, size_t n);

#endif
