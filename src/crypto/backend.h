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
#define PKC_HASH_MAX_BYTES 64
#define PKC_HASH_KEY_MAX_BYTES 64
#define PKC_X25519_BYTES 32
#define PKC_AEAD_KEY_BYTES 32
#define PKC_AEAD_NONCE_BYTES 24
#define PKC_AEAD_TAG_BYTES 16
#define PKC_PWHASH_SALT_BYTES 16

#if defined(__GNUC__) || defined(__clang__)
#define PKC_MUST_CHECK __attribute__((warn_unused_result))
#else
#define PKC_MUST_CHECK
#endif

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

/* BLAKE2b (unkeyed, output 1..64 bytes) over input that arrives in
 * pieces, such as a handshake transcript growing record by record:
 * _init, _update with each piece; _peek gives the hash of all the pieces so
 * far followed by `more` (may be empty) and leaves the state as it was, so
 * that one state serves every hash of a growing input without hashing its
 * beginning again. The same bytes as pkc_crypto_hash2 of the whole. A
 * state is a plain value: a copy is an independent state. */
typedef struct pkc_hash_state {
    uint64_t opaque[48];
} pkc_hash_state;
void pkc_crypto_hash_init(pkc_hash_state *st, size_t out_len);
void pkc_crypto_hash_update(pkc_hash_state *st, const void *p, size_t n);
void pkc_crypto_hash_peek(const pkc_hash_state *st, const void *more, size_t more_len,
                          uint8_t *out, size_t out_len);

/* Ed25519 detached signature of `msg` with the 64-byte secret key. */
void pkc_crypto_sign(uint8_t sig[PKC_SIGNATURE_BYTES], const void *msg, size_t len,
                     const uint8_t sk[PKC_SIGN_SECRET_BYTES]);

/* 0 if `sig` is a valid signature of `msg` by `pk`, else -1. Rejects
 * non-canonical signatures and small-order public keys. */
PKC_MUST_CHECK int pkc_crypto_sign_verify(const uint8_t sig[PKC_SIGNATURE_BYTES], const void *msg,
                                          size_t len, const uint8_t pk[PKC_SIGN_PUBLIC_BYTES]);

/* BLAKE2b keyed with `key` (1..64 bytes), output 1..64 bytes, over the
 * concatenation of a and b. */
void pkc_crypto_hash2_keyed(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len,
                            const void *a, size_t a_len, const void *b, size_t b_len);

/* X25519 public key of a 32-byte secret (clamped as RFC 7748 says). */
void pkc_crypto_x25519_base(uint8_t pk[PKC_X25519_BYTES], const uint8_t sk[PKC_X25519_BYTES]);

/* X25519 shared secret. -1 (and `out` zeroed) if the result is all zero,
 * i.e. the peer's key is a small-order point. */
PKC_MUST_CHECK int pkc_crypto_x25519(uint8_t out[PKC_X25519_BYTES],
                                     const uint8_t sk[PKC_X25519_BYTES],
                                     const uint8_t peer_pk[PKC_X25519_BYTES]);

/* XChaCha20-Poly1305 (IETF): writes len + PKC_AEAD_TAG_BYTES bytes to `c`
 * (ciphertext then tag). `c` may equal `m`. */
void pkc_crypto_aead_seal(uint8_t *c, const uint8_t *m, size_t len, const uint8_t *ad,
                          size_t ad_len, const uint8_t nonce[PKC_AEAD_NONCE_BYTES],
                          const uint8_t key[PKC_AEAD_KEY_BYTES]);

/* Opens `c_len` bytes (ciphertext and tag) into `m` (c_len - 16 bytes).
 * 0, or -1 if c_len < 16 or the tag does not match (then `m` is zeroed). */
PKC_MUST_CHECK int pkc_crypto_aead_open(uint8_t *m, const uint8_t *c, size_t c_len,
                                        const uint8_t *ad, size_t ad_len,
                                        const uint8_t nonce[PKC_AEAD_NONCE_BYTES],
                                        const uint8_t key[PKC_AEAD_KEY_BYTES]);

/* The same XChaCha20-Poly1305 for many messages under one key whose nonces
 * all begin with the same 16 bytes (sealed records: 16 zero bytes, then the
 * sequence number). XChaCha20 turns the key and those 16 bytes into a
 * subkey (HChaCha20), then runs ChaCha20-Poly1305 (IETF) under the subkey
 * with the nonce 4 zero bytes || the last 8 bytes of the 24. The subkey is
 * the same for every such message, so pkc_crypto_aead_subkey() computes it
 * once, and the _sub functions do the rest per message: their output is
 * byte for byte that of pkc_crypto_aead_seal/open with the nonce
 * prefix || tail. The subkey is as secret as the key. */
void pkc_crypto_aead_subkey(uint8_t subkey[PKC_AEAD_KEY_BYTES],
                            const uint8_t key[PKC_AEAD_KEY_BYTES], const uint8_t prefix[16]);
void pkc_crypto_aead_seal_sub(uint8_t *c, const uint8_t *m, size_t len, const uint8_t *ad,
                              size_t ad_len, const uint8_t tail[8],
                              const uint8_t subkey[PKC_AEAD_KEY_BYTES]);
PKC_MUST_CHECK int pkc_crypto_aead_open_sub(uint8_t *m, const uint8_t *c, size_t c_len,
                                            const uint8_t *ad, size_t ad_len,
                                            const uint8_t tail[8],
                                            const uint8_t subkey[PKC_AEAD_KEY_BYTES]);

/* Argon2id (version 1.3, one lane) of a passphrase: `ops` passes over
 * `mem_kib` KiB. 0, or -1 if the parameters are out of the library's range
 * or memory runs out. */
PKC_MUST_CHECK int pkc_crypto_pwhash(uint8_t *out, size_t out_len, const char *pass,
                                     size_t pass_len, const uint8_t salt[PKC_PWHASH_SALT_BYTES],
                                     uint32_t ops, uint32_t mem_kib);

/* Zeroes memory in a way the compiler cannot remove. */
void pkc_crypto_wipe(void *p, size_t n);

/* Constant-time comparison: 0 if equal. */
int pkc_crypto_memcmp(const void *a, const void *b, size_t n);

#endif
