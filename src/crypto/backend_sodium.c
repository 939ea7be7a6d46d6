/* backend_sodium.c: the crypto backend on libsodium. */
#include "backend.h"

#include <sodium.h>

#include "../util/err.h"

int pkc_crypto_init(void)
{
    /* sodium_init() is idempotent and thread-safe; 1 means "already done". */
    if (sodium_init() < 0)
        return pkc_error(PKC_ERR_CRYPTO, "libsodium failed to initialise");
    return 0;
}

void pkc_crypto_sign_keypair_from_seed(uint8_t pk[PKC_SIGN_PUBLIC_BYTES],
                                       uint8_t sk[PKC_SIGN_SECRET_BYTES],
                                       const uint8_t seed[PKC_SIGN_SEED_BYTES])
{
    crypto_sign_ed25519_seed_keypair(pk, sk, seed);
}

void pkc_crypto_hash2(uint8_t *out, size_t out_len, const void *a, size_t a_len, const void *b,
                      size_t b_len)
{
    crypto_generichash_blake2b_state st;
    crypto_generichash_blake2b_init(&st, NULL, 0, out_len);
    crypto_generichash_blake2b_update(&st, a, a_len);
    crypto_generichash_blake2b_update(&st, b, b_len);
    crypto_generichash_blake2b_final(&st, out, out_len);
    sodium_memzero(&st, sizeof st);
}

void pkc_crypto_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

int pkc_crypto_memcmp(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n);
}
