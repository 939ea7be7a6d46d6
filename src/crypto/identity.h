/* identity.h: internals of pkc_identity shared with other layers. */
#ifndef PKC_CRYPTO_IDENTITY_H
#define PKC_CRYPTO_IDENTITY_H

#include "backend.h"
#include "pkc.h"

struct pkc_identity {
    uint8_t seed[PKC_SIGN_SEED_BYTES];
    uint8_t public_key[PKC_SIGN_PUBLIC_BYTES];
    uint8_t secret_key[PKC_SIGN_SECRET_BYTES];
    char peer_id[PKC_PEER_ID_SIZE];
};

/* The 32-byte seed the identity was made from (secret). */
const uint8_t *pkc_identity_seed(const pkc_identity *id);

#endif
