/* identity.c: a peer's Ed25519 identity. */
#include "identity.h"

#include <stdlib.h>
#include <string.h>

#include "../util/err.h"
#include "../util/rng.h"
#include "peerid.h"

int pkc_identity_from_seed(const uint8_t seed[32], pkc_identity **out)
{
    if (seed == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "identity: NULL argument");
    int rc = pkc_crypto_init();
    if (rc)
        return rc;
    pkc_identity *id = calloc(1, sizeof *id);
    if (id == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    memcpy(id->seed, seed, sizeof id->seed);
    pkc_crypto_sign_keypair_from_seed(id->public_key, id->secret_key, id->seed);
    pkc_peer_id_from_public_key(id->public_key, id->peer_id);
    *out = id;
    return 0;
}

int pkc_identity_generate(const pkc_rng *rng, pkc_identity **out)
{
    if (rng == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "identity: NULL argument");
    uint8_t seed[PKC_SIGN_SEED_BYTES];
    pkc_rng_fill(rng, seed, sizeof seed);
    int rc = pkc_identity_from_seed(seed, out);
    pkc_crypto_wipe(seed, sizeof seed);
    return rc;
}

void pkc_identity_free(pkc_identity *id)
{
    if (id == NULL)
        return;
    pkc_crypto_wipe(id, sizeof *id);
    free(id);
}

const uint8_t *pkc_identity_public_key(const pkc_identity *id)
{
    return id->public_key;
}

const char *pkc_identity_peer_id(const pkc_identity *id)
{
    return id->peer_id;
}

const uint8_t *pkc_identity_seed(const pkc_identity *id)
{
    return id->seed;
}
