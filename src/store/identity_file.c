/*
 * identity_file.c: identity.key, the file that holds a peer's secret seed.
 *
 *   pkc-identity-v1\n
 *   peer-id <peer id>\n
 *   seed <base64url of the 32-byte Ed25519 seed, 43 characters>\n
 */
#define _GNU_SOURCE
#include "store/identity_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/identity.h"
#include "util/err.h"
#include "util/rng.h"
#include "util/text.h"
#include "store/file.h"

#define MAGIC "pkc-identity-v1\n"
#define PEER_ID_KEY "peer-id "
#define SEED_KEY "seed "
#define SEED_TEXT_LEN 43 /* base64url of 32 bytes, no padding */

size_t pkc_identity_file_format(const pkc_identity *id, char *out, size_t out_size)
{
    char seed[64];
    pkc_base64url_encode(seed, sizeof seed, pkc_identity_seed(id), PKC_SIGN_SEED_BYTES);
    int n = snprintf(out, out_size, MAGIC PEER_ID_KEY "%s\n" SEED_KEY "%s\n",
                     pkc_identity_get_peer_id(id), seed);
    pkc_crypto_wipe(seed, sizeof seed);
    return n < 0 ? 0 : (size_t)n;
}

/* Takes "key value\n" at *p; returns the value's length or -1. */
static int take_line(const char **p, const char *end, const char *key, const char **value)
{
    size_t klen = strlen(key);
    if ((size_t)(end - *p) < klen || memcmp(*p, key, klen) != 0)
        return -1;
    const char *v = *p + klen;
    const char *nl = memchr(v, '\n', (size_t)(end - v));
    if (nl == NULL)
        return -1;
    *value = v;
    *p = nl + 1;
    return (int)(nl - v);
}

int pkc_identity_file_parse(const char *content, size_t len, pkc_identity **out)
{
    const char *p = content, *end = content + len, *id_text, *seed_text;
    if (len > PKC_IDENTITY_FILE_MAX)
        return pkc_error(PKC_ERR_MALFORMED, "identity file: larger than %d bytes",
                         PKC_IDENTITY_FILE_MAX);
    if (len < sizeof MAGIC - 1 || memcmp(p, MAGIC, sizeof MAGIC - 1) != 0)
        return pkc_error(PKC_ERR_MALFORMED,
                         "identity file: does not start with \"pkc-identity-v1\"");
    p += sizeof MAGIC - 1;
    int id_len = take_line(&p, end, PEER_ID_KEY, &id_text);
    if (id_len != PKC_PEER_ID_LEN)
        return pkc_error(PKC_ERR_MALFORMED, "identity file: line 2 is not \"peer-id <id>\"");
    int seed_len = take_line(&p, end, SEED_KEY, &seed_text);
    /* Exactly the unpadded form, so each identity has one file content. */
    if (seed_len != SEED_TEXT_LEN)
        return pkc_error(PKC_ERR_MALFORMED, "identity file: line 3 is not \"seed <43 base64url characters>\"");
    if (p != end)
        return pkc_error(PKC_ERR_MALFORMED, "identity file: unexpected content after line 3");

    uint8_t seed[PKC_SIGN_SEED_BYTES + 8];
    size_t seed_n;
    if (pkc_base64url_decode(seed_text, (size_t)seed_len, seed, sizeof seed, &seed_n) != 0 ||
        seed_n != PKC_SIGN_SEED_BYTES) {
        pkc_crypto_wipe(seed, sizeof seed);
        return pkc_error(PKC_ERR_MALFORMED, "identity file: the seed is not 32 bytes of base64url");
    }
    pkc_identity *id;
    int rc = pkc_identity_from_seed(seed, &id);
    pkc_crypto_wipe(seed, sizeof seed);
    if (rc)
        return rc;
    if (memcmp(id->peer_id, id_text, PKC_PEER_ID_LEN) != 0) {
        pkc_identity_free(id);
        return pkc_error(PKC_ERR_CHECKSUM,
                         "identity file: the seed does not produce the stored peer id (damaged)");
    }
    *out = id;
    return 0;
}

int pkc_identity_load(const char *path, pkc_identity **out)
{
    if (path == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "identity: NULL argument");
    char *content;
    size_t len;
    int rc = pkc_file_read_private(path, PKC_IDENTITY_FILE_MAX, &content, &len);
    if (rc)
        return rc;
    rc = pkc_identity_file_parse(content, len, out);
    pkc_file_free_secret(content, len);
    if (rc)
        return pkc_error_wrap(rc, "%s", path);
    return 0;
}

int pkc_identity_save(const pkc_identity *id, const char *path)
{
    if (id == NULL || path == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "identity: NULL argument");
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return pkc_error(PKC_ERR_INVALID_ARG, "%s: path too long", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
        int rc = pkc_mkdir_p(dir, 0700);
        if (rc)
            return rc;
    }
    char content[PKC_IDENTITY_FILE_MAX];
    size_t len = pkc_identity_file_format(id, content, sizeof content);
    int rc = pkc_file_write_durable(path, content, len, 0);
    pkc_crypto_wipe(content, sizeof content);
    return rc;
}

int pkc_identity_load_or_create(const char *dir, const pkc_rng *rng, pkc_identity **out,
                                int *created)
{
    if (dir == NULL || rng == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "identity: NULL argument");
    int rc = pkc_mkdir_p(dir, 0700);
    if (rc)
        return rc;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, PKC_IDENTITY_FILE) >= (int)sizeof path)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: path too long", dir);
    rc = pkc_identity_load(path, out);
    if (rc != PKC_ERR_NOT_FOUND) {
        if (rc == 0 && created)
            *created = 0;
        return rc;
    }
    pkc_identity *id;
    rc = pkc_identity_generate(rng, &id);
    if (rc)
        return rc;
    rc = pkc_identity_save(id, path);
    if (rc == PKC_ERR_EXISTS) {
        /* Another process created it between our load and save: use theirs. */
        pkc_identity_free(id);
        rc = pkc_identity_load(path, out);
        if (rc == 0 && created)
            *created = 0;
        return rc;
    }
    if (rc) {
        pkc_identity_free(id);
        return rc;
    }
    *out = id;
    if (created)
        *created = 1;
    return 0;
}
