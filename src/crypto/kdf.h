/*
 * kdf.h: the two hash constructions every pkc protocol uses, so that each
 * use has its own label (domain separation) and a second implementation has
 * exactly two things to get right:
 *
 *   H(label, data)      = BLAKE2b-256( label || 0x00 || data )
 *   KDF(key, label, d)  = BLAKE2b-256 keyed with `key` ( label || 0x00 || d )
 *
 * Labels are short ASCII strings such as "pkc-hs-v1 key".
 */
#ifndef PKC_CRYPTO_KDF_H
#define PKC_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#define PKC_KDF_BYTES 32

/* H with an output of `out_len` bytes (1..64). */
void pkc_hash_labeled(uint8_t *out, size_t out_len, const char *label, const void *data,
                      size_t len);

/* KDF with a 32-byte output; `key` is 1..64 bytes. */
void pkc_kdf(uint8_t out[PKC_KDF_BYTES], const uint8_t *key, size_t key_len, const char *label,
             const void *data, size_t len);

#endif
