/* identity.c: a peer's Ed25519 identity. */
#include "crypto/identity.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/rng.h"
#include "crypto/kdf.h"
#include "crypto/peerid.h"

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
    pkc_kdf(id->dh_secret, id->seed, sizeof id->seed, "pkc-x25519-v1", NULL, 0);
    pkc_crypto_x25519_base(id->dh_public, id->dh_secret);
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

const uint8_t *pkc_identity_get_public_key(const pkc_identity *id)
{
    return id->public_key;
}

const char *pkc_identity_get_peer_id(const pkc_identity *id)
{
    return id->peer_id;
}

const uint8_t *pkc_identity_seed(const pkc_identity *id)
{
    return id->seed;
}

const uint8_t *pkc_identity_get_dh_public_key(const pkc_identity *id)
{
    return id->dh_public;
}

void pkc_identity_sign(const pkc_identity *id, const void *msg, size_t len,
                       uint8_t sig[PKC_SIGNATURE_BYTES])
{
    pkc_crypto_sign(sig, msg, len, id->secret_key);
}

int pkc_signature_verify(const uint8_t public_key[PKC_PUBLIC_KEY_BYTES], const void *msg,
                         size_t len, const uint8_t sig[PKC_SIGNATURE_BYTES])
{
    if (public_key == NULL || sig == NULL || (msg == NULL && len > 0))
        return pkc_error(PKC_ERR_INVALID_ARG, "signature verify: NULL argument");
    if (pkc_crypto_sign_verify(sig, msg, len, public_key) != 0)
        return pkc_error(PKC_ERR_BAD_SIGNATURE, "the signature does not match the key and message");
    return 0;
}

void pkc_identity_sign_labeled(const pkc_identity *id, const char *label, const void *data,
                               size_t len, uint8_t sig[PKC_SIGNATURE_BYTES])
{
    uint8_t digest[32];
    pkc_hash_labeled(digest, sizeof digest, label, data, len);
    pkc_crypto_sign(sig, digest, sizeof digest, id->secret_key);
}

int pkc_verify_labeled(const uint8_t pk[PKC_SIGN_PUBLIC_BYTES], const char *label,
                       const void *data, size_t len, const uint8_t sig[PKC_SIGNATURE_BYTES],
                       const char *what)
{
    uint8_t digest[32];
    pkc_hash_labeled(digest, sizeof digest, label, data, len);
    if (pkc_crypto_sign_verify(sig, digest, sizeof digest, pk) != 0)
        return pkc_error(PKC_ERR_BAD_SIGNATURE, "%s: the signature does not match", what);
    return 0;
}
