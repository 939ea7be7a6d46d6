/* backend_sodium.c: the crypto backend on libsodium. */
#include "crypto/backend.h"

#include <sodium.h>
#include <string.h>

#include "util/err.h"

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

/* pkc_hash_state holds libsodium's state; the copies in and out keep
 * libsodium's alignment requirement (64) off pkc's structs. */
_Static_assert(sizeof(pkc_hash_state) == sizeof(crypto_generichash_blake2b_state),
               "pkc_hash_state must hold a BLAKE2b state");

void pkc_crypto_hash_init(pkc_hash_state *st, size_t out_len)
{
    crypto_generichash_blake2b_state b;
    crypto_generichash_blake2b_init(&b, NULL, 0, out_len);
    memcpy(st, &b, sizeof b);
}

void pkc_crypto_hash_update(pkc_hash_state *st, const void *p, size_t n)
{
    crypto_generichash_blake2b_state b;
    memcpy(&b, st, sizeof b);
    crypto_generichash_blake2b_update(&b, p, n);
    memcpy(st, &b, sizeof b);
}

void pkc_crypto_hash_peek(const pkc_hash_state *st, const void *more, size_t more_len,
                          uint8_t *out, size_t out_len)
{
    crypto_generichash_blake2b_state b;
    memcpy(&b, st, sizeof b);
    crypto_generichash_blake2b_update(&b, more, more_len);
    crypto_generichash_blake2b_final(&b, out, out_len);
    sodium_memzero(&b, sizeof b);
}

void pkc_crypto_sign(uint8_t sig[PKC_SIGNATURE_BYTES], const void *msg, size_t len,
                     const uint8_t sk[PKC_SIGN_SECRET_BYTES])
{
    crypto_sign_ed25519_detached(sig, NULL, msg, len, sk);
}

int pkc_crypto_sign_verify(const uint8_t sig[PKC_SIGNATURE_BYTES], const void *msg, size_t len,
                           const uint8_t pk[PKC_SIGN_PUBLIC_BYTES])
{
    return crypto_sign_ed25519_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

void pkc_crypto_hash2_keyed(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len,
                            const void *a, size_t a_len, const void *b, size_t b_len)
{
    crypto_generichash_blake2b_state st;
    crypto_generichash_blake2b_init(&st, key, key_len, out_len);
    crypto_generichash_blake2b_update(&st, a, a_len);
    crypto_generichash_blake2b_update(&st, b, b_len);
    crypto_generichash_blake2b_final(&st, out, out_len);
    sodium_memzero(&st, sizeof st);
}

void pkc_crypto_x25519_base(uint8_t pk[PKC_X25519_BYTES], const uint8_t sk[PKC_X25519_BYTES])
{
    crypto_scalarmult_curve25519_base(pk, sk);
}

int pkc_crypto_x25519(uint8_t out[PKC_X25519_BYTES], const uint8_t sk[PKC_X25519_BYTES],
                      const uint8_t peer_pk[PKC_X25519_BYTES])
{
    /* libsodium returns -1 for an all-zero result (small-order peer key). */
    if (crypto_scalarmult_curve25519(out, sk, peer_pk) != 0) {
        sodium_memzero(out, PKC_X25519_BYTES);
        return -1;
    }
    return 0;
}

void pkc_crypto_aead_seal(uint8_t *c, const uint8_t *m, size_t len, const uint8_t *ad,
                          size_t ad_len, const uint8_t nonce[PKC_AEAD_NONCE_BYTES],
                          const uint8_t key[PKC_AEAD_KEY_BYTES])
{
    crypto_aead_xchacha20poly1305_ietf_encrypt(c, NULL, m, len, ad, ad_len, NULL, nonce, key);
}

int pkc_crypto_aead_open(uint8_t *m, const uint8_t *c, size_t c_len, const uint8_t *ad,
                         size_t ad_len, const uint8_t nonce[PKC_AEAD_NONCE_BYTES],
                         const uint8_t key[PKC_AEAD_KEY_BYTES])
{
    if (c_len < PKC_AEAD_TAG_BYTES)
        return -1;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL, NULL, c, c_len, ad, ad_len, nonce,
                                                   key) != 0) {
        sodium_memzero(m, c_len - PKC_AEAD_TAG_BYTES);
        return -1;
    }
    return 0;
}

void pkc_crypto_aead_subkey(uint8_t subkey[PKC_AEAD_KEY_BYTES],
                            const uint8_t key[PKC_AEAD_KEY_BYTES], const uint8_t prefix[16])
{
    crypto_core_hchacha20(subkey, prefix, key, NULL);
}

/* The IETF nonce XChaCha20 uses after HChaCha20: 4 zero bytes, then the
 * last 8 bytes of its 24. */
static void ietf_nonce(uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES],
                       const uint8_t tail[8])
{
    memset(n, 0, 4);
    memcpy(n + 4, tail, 8);
}

void pkc_crypto_aead_seal_sub(uint8_t *c, const uint8_t *m, size_t len, const uint8_t *ad,
                              size_t ad_len, const uint8_t tail[8],
                              const uint8_t subkey[PKC_AEAD_KEY_BYTES])
{
    uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    ietf_nonce(n, tail);
    crypto_aead_chacha20poly1305_ietf_encrypt(c, NULL, m, len, ad, ad_len, NULL, n, subkey);
}

int pkc_crypto_aead_open_sub(uint8_t *m, const uint8_t *c, size_t c_len, const uint8_t *ad,
                             size_t ad_len, const uint8_t tail[8],
                             const uint8_t subkey[PKC_AEAD_KEY_BYTES])
{
    if (c_len < PKC_AEAD_TAG_BYTES)
        return -1;
    uint8_t n[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    ietf_nonce(n, tail);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(m, NULL, NULL, c, c_len, ad, ad_len, n,
                                                  subkey) != 0) {
        sodium_memzero(m, c_len - PKC_AEAD_TAG_BYTES);
        return -1;
    }
    return 0;
}

int pkc_crypto_pwhash(uint8_t *out, size_t out_len, const char *pass, size_t pass_len,
                      const uint8_t salt[PKC_PWHASH_SALT_BYTES], uint32_t ops, uint32_t mem_kib)
{
    if (ops < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
        (uint64_t)mem_kib * 1024 < crypto_pwhash_argon2id_MEMLIMIT_MIN)
        return -1;
    return crypto_pwhash_argon2id(out, out_len, pass, pass_len, salt, ops,
                                  (size_t)mem_kib * 1024, crypto_pwhash_argon2id_ALG_ARGON2ID13);
}

void pkc_crypto_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

void pkc_memzero(void *p, size_t len)
{
    sodium_memzero(p, len);
}

int pkc_crypto_memcmp(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n);
}
