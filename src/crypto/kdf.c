/* kdf.c: labelled BLAKE2b hashing and key derivation (see kdf.h). */
#include "crypto/kdf.h"

#include <string.h>

#include "crypto/backend.h"

void pkc_hash_labeled(uint8_t *out, size_t out_len, const char *label, const void *data,
                      size_t len)
{
    /* strlen + 1 takes the terminating NUL as the 0x00 separator. */
    pkc_crypto_hash2(out, out_len, label, strlen(label) + 1, data, len);
}

void pkc_kdf(uint8_t out[PKC_KDF_BYTES], const uint8_t *key, size_t key_len, const char *label,
             const void *data, size_t len)
{
    pkc_crypto_hash2_keyed(out, PKC_KDF_BYTES, key, key_len, label, strlen(label) + 1, data,
                           len);
}
