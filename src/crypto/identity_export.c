/*
 * identity_export.c: an identity as text to move to another device.
 *
 *   pkc-identity-export-v1\n
 *   peer-id <peer id>\n
 *   kdf none\n                                   (seed in clear)
 *   kdf argon2id <ops> <mem_kib> <salt>\n         (salt: 16 bytes, base64url)
 *   secret <base64url>\n                          (seed, or seed sealed: 48 bytes)
 *
 * Sealed: key = Argon2id(passphrase, salt, ops, mem_kib, 32 bytes),
 * secret = XChaCha20-Poly1305(key, nonce = 24 zero bytes, ad = lines 1-3).
 * The key is new for every export (fresh salt), so a fixed nonce is safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/rng.h"
#include "util/text.h"
#include "util/versioned.h"
#include "crypto/identity.h"

#define MAGIC "pkc-identity-export-v1\n"
#define FILE_MAGIC "pkc-identity-v1\n"
#define EXPORT_MAX 1024
#define OPS_MAX 16u
#define MEM_KIB_MIN 8u
#define MEM_KIB_MAX 1048576u
#define SEALED_BYTES (PKC_SIGN_SEED_BYTES + PKC_AEAD_TAG_BYTES)

#define PARAMS_SIZES PKC_STRUCT_V1(pkc_identity_export_params)

void pkc_identity_export_params_default_versioned(int params_version,
                                                  pkc_identity_export_params *out)
{
    pkc_identity_export_params p = {.ops = 3, .mem_kib = 65536};
    pkc_struct_write(out, &p, params_version, PARAMS_SIZES);
}

static int params_ok(uint32_t ops, uint32_t mem_kib)
{
    return ops >= 1 && ops <= OPS_MAX && mem_kib >= MEM_KIB_MIN && mem_kib <= MEM_KIB_MAX;
}

static int derive_key(uint8_t key[PKC_AEAD_KEY_BYTES], const char *pass,
                      const uint8_t salt[PKC_PWHASH_SALT_BYTES], uint32_t ops, uint32_t mem_kib)
{
    if (pkc_crypto_pwhash(key, PKC_AEAD_KEY_BYTES, pass, strlen(pass), salt, ops, mem_kib) != 0)
        return pkc_error(PKC_ERR_NOMEM, "identity export: Argon2id with %u KiB failed (memory)",
                         (unsigned)mem_kib);
    return 0;
}

int pkc_identity_export_versioned(const pkc_identity *id, const char *passphrase,
                                  int params_version, const pkc_identity_export_params *params,
                                  const pkc_rng *rng, char **out)
{
    if (id == NULL || out == NULL || (passphrase != NULL && rng == NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "identity export: NULL argument");
    if (passphrase != NULL && passphrase[0] == '\0')
        return pkc_error(PKC_ERR_INVALID_ARG, "identity export: empty passphrase");
    pkc_identity_export_params p;
    pkc_identity_export_params_default(&p);
    int rc = pkc_struct_read(&p, params, params_version, PARAMS_SIZES);
    if (rc)
        return rc;
    if (passphrase && !params_ok(p.ops, p.mem_kib))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "identity export: Argon2id parameters out of range (ops 1..%u, "
                         "memory %u..%u KiB)",
                         OPS_MAX, MEM_KIB_MIN, MEM_KIB_MAX);

    char *text = malloc(EXPORT_MAX);
    if (text == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int n;
    uint8_t secret[SEALED_BYTES];
    size_t secret_len;
    if (passphrase == NULL) {
        n = snprintf(text, EXPORT_MAX, MAGIC "peer-id %s\nkdf none\n", id->peer_id);
        memcpy(secret, id->seed, PKC_SIGN_SEED_BYTES);
        secret_len = PKC_SIGN_SEED_BYTES;
    } else {
        uint8_t salt[PKC_PWHASH_SALT_BYTES], key[PKC_AEAD_KEY_BYTES];
        char salt_text[32];
        pkc_rng_fill(rng, salt, sizeof salt);
        pkc_base64url_encode(salt_text, sizeof salt_text, salt, sizeof salt);
        n = snprintf(text, EXPORT_MAX, MAGIC "peer-id %s\nkdf argon2id %u %u %s\n", id->peer_id,
                     (unsigned)p.ops, (unsigned)p.mem_kib, salt_text);
        rc = derive_key(key, passphrase, salt, p.ops, p.mem_kib);
        if (rc) {
            free(text);
            return rc;
        }
        static const uint8_t zero_nonce[PKC_AEAD_NONCE_BYTES];
        pkc_crypto_aead_seal(secret, id->seed, PKC_SIGN_SEED_BYTES, (const uint8_t *)text,
                             (size_t)n, zero_nonce, key);
        pkc_crypto_wipe(key, sizeof key);
        secret_len = SEALED_BYTES;
    }
    char secret_text[80];
    pkc_base64url_encode(secret_text, sizeof secret_text, secret, secret_len);
    n += snprintf(text + n, EXPORT_MAX - (size_t)n, "secret %s\n", secret_text);
    pkc_crypto_wipe(secret, sizeof secret);
    pkc_crypto_wipe(secret_text, sizeof secret_text);
    *out = text;
    return 0;
}

/* A parsed export; pointers borrow the text. */
typedef struct parsed_export {
    int is_file; /* an identity.key file rather than an export */
    const char *peer_id;
    int sealed;
    uint32_t ops, mem_kib;
    uint8_t salt[PKC_PWHASH_SALT_BYTES];
    size_t ad_len; /* bytes before the secret line */
    const char *secret;
    size_t secret_len;
} parsed_export;

/* The line at *p without its "\n", which must be there. */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (nl == NULL)
        return -1;
    *line = *p;
    *len = (size_t)(nl - *p);
    *p = nl + 1;
    return 0;
}

static int starts(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

/* A decimal number of 1..7 digits without leading zeros, then `stop`. */
static int take_u32(const char **p, const char *end, char stop, uint32_t *v)
{
    const char *s = *p;
    uint32_t x = 0;
    int digits = 0;
    while (s < end && *s >= '0' && *s <= '9' && digits < 8) {
        if (digits == 1 && x == 0)
            return -1;
        x = x * 10 + (uint32_t)(*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || digits > 7 || s >= end || *s != stop)
        return -1;
    *v = x;
    *p = s + 1;
    return 0;
}

static int parse_export(const char *text, size_t len, parsed_export *e)
{
    memset(e, 0, sizeof *e);
    if (text == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "identity import: NULL text");
    if (len > EXPORT_MAX)
        return pkc_error(PKC_ERR_MALFORMED, "identity import: larger than %d bytes", EXPORT_MAX);
    const char *p = text, *end = text + len, *line;
    size_t n;
    if (next_line(&p, end, &line, &n) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "identity import: not a pkc identity export");
    if (n == sizeof MAGIC - 2 && memcmp(line, MAGIC, n) == 0) {
        e->is_file = 0;
    } else if (n == sizeof FILE_MAGIC - 2 && memcmp(line, FILE_MAGIC, n) == 0) {
        e->is_file = 1;
    } else {
        return pkc_error(PKC_ERR_MALFORMED,
                         "identity import: does not start with \"pkc-identity-export-v1\"");
    }
    if (next_line(&p, end, &line, &n) != 0 || n != 8 + PKC_PEER_ID_LEN ||
        !starts(line, n, "peer-id "))
        return pkc_error(PKC_ERR_MALFORMED, "identity import: line 2 is not \"peer-id <id>\"");
    e->peer_id = line + 8;
    if (!e->is_file) {
        if (next_line(&p, end, &line, &n) != 0)
            return pkc_error(PKC_ERR_MALFORMED, "identity import: line 3 is not \"kdf ...\"");
        if (n == 8 && memcmp(line, "kdf none", 8) == 0) {
            e->sealed = 0;
        } else if (starts(line, n, "kdf argon2id ")) {
            const char *q = line + 13, *lend = line + n + 1; /* includes the '\n' */
            size_t salt_len;
            if (take_u32(&q, lend, ' ', &e->ops) != 0 ||
                take_u32(&q, lend, ' ', &e->mem_kib) != 0 ||
                lend - q != 23 ||
                pkc_base64url_decode(q, 22, e->salt, sizeof e->salt, &salt_len) != 0 ||
                salt_len != sizeof e->salt)
                return pkc_error(PKC_ERR_MALFORMED,
                                 "identity import: line 3 is not \"kdf argon2id <ops> <KiB> "
                                 "<salt, 22 base64url characters>\"");
            if (!params_ok(e->ops, e->mem_kib))
                return pkc_error(PKC_ERR_RANGE,
                                 "identity import: Argon2id parameters %u passes, %u KiB are "
                                 "outside 1..%u passes, %u..%u KiB",
                                 (unsigned)e->ops, (unsigned)e->mem_kib, OPS_MAX, MEM_KIB_MIN,
                                 MEM_KIB_MAX);
            e->sealed = 1;
        } else {
            return pkc_error(PKC_ERR_MALFORMED,
                             "identity import: line 3 is neither \"kdf none\" nor "
                             "\"kdf argon2id\"");
        }
    }
    e->ad_len = (size_t)(p - text);
    const char *key = e->is_file ? "seed " : "secret ";
    size_t want = e->sealed ? 64 : 43;
    if (next_line(&p, end, &line, &n) != 0 || !starts(line, n, key) ||
        n != strlen(key) + want)
        return pkc_error(PKC_ERR_MALFORMED, "identity import: line %d is not \"%s<%zu base64url "
                         "characters>\"",
                         e->is_file ? 3 : 4, key, want);
    e->secret = line + strlen(key);
    e->secret_len = want;
    if (p != end)
        return pkc_error(PKC_ERR_MALFORMED, "identity import: unexpected content after the secret");
    return 0;
}

int pkc_identity_export_encrypted(const char *text, size_t len)
{
    parsed_export e;
    int rc = parse_export(text, len, &e);
    if (rc)
        return rc;
    return e.sealed;
}

int pkc_identity_import(const char *text, size_t len, const char *passphrase, pkc_identity **out)
{
    if (out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "identity import: NULL argument");
    parsed_export e;
    int rc = parse_export(text, len, &e);
    if (rc)
        return rc;
    if (e.sealed && (passphrase == NULL || passphrase[0] == '\0'))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "identity import: the export is encrypted; a passphrase is needed");
    uint8_t raw[SEALED_BYTES + 2], seed[PKC_SIGN_SEED_BYTES];
    size_t raw_len;
    if (pkc_base64url_decode(e.secret, e.secret_len, raw, sizeof raw, &raw_len) != 0 ||
        raw_len != (e.sealed ? SEALED_BYTES : PKC_SIGN_SEED_BYTES)) {
        pkc_crypto_wipe(raw, sizeof raw);
        return pkc_error(PKC_ERR_MALFORMED, "identity import: the secret is not valid base64url");
    }
    if (e.sealed) {
        uint8_t key[PKC_AEAD_KEY_BYTES];
        static const uint8_t zero_nonce[PKC_AEAD_NONCE_BYTES];
        rc = derive_key(key, passphrase, e.salt, e.ops, e.mem_kib);
        if (rc) {
            pkc_crypto_wipe(raw, sizeof raw);
            return rc;
        }
        int bad = pkc_crypto_aead_open(seed, raw, SEALED_BYTES, (const uint8_t *)text, e.ad_len,
                                       zero_nonce, key);
        pkc_crypto_wipe(key, sizeof key);
        if (bad) {
            pkc_crypto_wipe(raw, sizeof raw);
            return pkc_error(PKC_ERR_DECRYPT,
                             "identity import: wrong passphrase, or the export was altered");
        }
    } else {
        memcpy(seed, raw, sizeof seed);
    }
    pkc_crypto_wipe(raw, sizeof raw);
    pkc_identity *id;
    rc = pkc_identity_from_seed(seed, &id);
    pkc_crypto_wipe(seed, sizeof seed);
    if (rc)
        return rc;
    if (memcmp(id->peer_id, e.peer_id, PKC_PEER_ID_LEN) != 0) {
        pkc_identity_free(id);
        return pkc_error(PKC_ERR_CHECKSUM,
                         "identity import: the secret does not give the stated peer id (damaged)");
    }
    *out = id;
    return 0;
}
