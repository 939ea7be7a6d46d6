/* identity.h: internals of pkc_identity shared with other layers. */
#ifndef PKC_CRYPTO_IDENTITY_H
#define PKC_CRYPTO_IDENTITY_H

#include "crypto/backend.h"
#include "pkc.h"

struct pkc_identity {
    uint8_t seed[PKC_SIGN_SEED_BYTES];
    uint8_t public_key[PKC_SIGN_PUBLIC_BYTES];
    uint8_t secret_key[PKC_SIGN_SECRET_BYTES];
    uint8_t dh_secret[PKC_X25519_BYTES]; /* KDF(seed, "pkc-x25519-v1", "") */
    uint8_t dh_public[PKC_X25519_BYTES];
    char peer_id[PKC_PEER_ID_SIZE];
};

/* The 32-byte seed the identity was made from (secret). */
const uint8_t *pkc_identity_seed(const pkc_identity *id);

/* Signs BLAKE2b-256(label || 0x00 || data): how every pkc protocol signs, so
 * that a signature made for one purpose never verifies for another. */
void pkc_identity_sign_labeled(const pkc_identity *id, const char *label, const void *data,
                               size_t len, uint8_t sig[PKC_SIGNATURE_BYTES]);

/* Verifies a signature made by pkc_identity_sign_labeled(): 0 or
 * PKC_ERR_BAD_SIGNATURE (with `what` in the message). */
int pkc_verify_labeled(const uint8_t pk[PKC_SIGN_PUBLIC_BYTES], const char *label,
                       const void *data, size_t len, const uint8_t sig[PKC_SIGNATURE_BYTES],
                       const char *what);

#endif
