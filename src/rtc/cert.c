/* cert.c: self-signed ECDSA P-256 certificates for DTLS. */
#define _DEFAULT_SOURCE
#include "rtc/cert.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"

static int verify_accept_all(int ok, X509_STORE_CTX *ctx)
{
    /* Self-signed certificates never verify against a CA; the check that
     * matters, the fingerprint from the session description, is done by
     * dtls.c's own verify callback. This one only keeps the context's
     * default from failing. */
    (void)ok;
    (void)ctx;
    return 1;
}

static int build_ctx(pkc_rtc_cert *c)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (ctx == NULL)
        return pkc_error(PKC_ERR_DTLS, "SSL_CTX_new failed");
    if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, c->x509) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, (EVP_PKEY *)c->pkey) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA") != 1 ||
        SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1 ||
        /* Some stacks insist on use_srtp even for data-only sessions;
         * Chromium ignores it. (Returns 0 on success.) */
        SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AES128_CM_SHA1_80") != 0) {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return pkc_error(PKC_ERR_DTLS, "configuring the DTLS context failed");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_accept_all);
    /* Idle connections keep no 16 KB read/write buffers. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    c->ctx = ctx;
    return 0;
}

int pkc_cert_digest(X509 *x, pkc_hash_alg alg, pkc_fingerprint *out)
{
    const EVP_MD *md;
    switch (alg) {
    case PKC_HASH_SHA1:
        md = EVP_sha1();
        break;
    case PKC_HASH_SHA224:
        md = EVP_sha224();
        break;
    case PKC_HASH_SHA256:
        md = EVP_sha256();
        break;
    case PKC_HASH_SHA384:
        md = EVP_sha384();
        break;
    case PKC_HASH_SHA512:
        md = EVP_sha512();
        break;
    default:
        return pkc_error(PKC_ERR_UNSUPPORTED, "fingerprint: unsupported hash");
    }
    unsigned int n = 0;
    pkc_fingerprint f;
    memset(&f, 0, sizeof f);
    if (X509_digest(x, md, f.bytes, &n) != 1 || n > PKC_FINGERPRINT_MAX) {
        ERR_clear_error();
        return pkc_error(PKC_ERR_DTLS, "X509_digest failed");
    }
    f.alg = alg;
    f.len = (uint8_t)n;
    *out = f;
    return 0;
}

static int finish(pkc_rtc_cert *c, pkc_rtc_cert **out)
{
    int rc = pkc_cert_digest(c->x509, PKC_HASH_SHA256, &c->fingerprint);
    if (rc == 0) {
        pkc_fingerprint_format(&c->fingerprint, c->fingerprint_text, sizeof c->fingerprint_text);
        rc = build_ctx(c);
    }
    if (rc == 0) {
        const ASN1_TIME *na = X509_get0_notAfter(c->x509);
        struct tm tm;
        if (ASN1_TIME_to_tm(na, &tm) == 1)
            c->not_after_ms = (int64_t)timegm(&tm) * 1000;
    }
    if (rc) {
        pkc_cert_unref(c);
        return rc;
    }
    *out = c;
    return 0;
}

int pkc_cert_generate(const pkc_rng *rng, int64_t now_ms, pkc_rtc_cert **out)
{
    pkc_rtc_cert *c = calloc(1, sizeof *c);
    if (c == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    c->refs = 1;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    c->pkey = pkey;
    c->x509 = x;
    uint8_t serial[8];
    pkc_rng_fill(rng, serial, sizeof serial);
    serial[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_NAME *name = X509_NAME_new();
    time_t now = (time_t)(now_ms / 1000);
    int ok = pkey && x && bn && name && X509_set_version(x, 2) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
             X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), PKC_CERT_VALIDITY_DAYS, 0, &now) != NULL &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"pkc", -1,
                                        -1, 0) == 1 &&
             X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
             X509_set_pubkey(x, pkey) == 1 && X509_sign(x, pkey, EVP_sha256()) > 0;
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        ERR_clear_error();
        pkc_cert_unref(c);
        return pkc_error(PKC_ERR_CRYPTO, "generating the DTLS certificate failed");
    }
    return finish(c, out);
}

int pkc_cert_to_pem(const pkc_rtc_cert *c, char **pem, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int ok = PEM_write_bio_PrivateKey(b, (EVP_PKEY *)c->pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
             PEM_write_bio_X509(b, c->x509) == 1;
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *copy = ok && n > 0 ? malloc((size_t)n + 1) : NULL;
    if (copy) {
        memcpy(copy, data, (size_t)n);
        copy[n] = '\0';
    }
    /* The key was in the BIO's memory: wipe before freeing. */
    if (n > 0)
        OPENSSL_cleanse(data, (size_t)n);
    BIO_free(b);
    ERR_clear_error();
    if (copy == NULL)
        return pkc_error(PKC_ERR_NOMEM, "writing the certificate as PEM failed");
    *pem = copy;
    *len = (size_t)n;
    return 0;
}

int pkc_cert_from_pem(const char *pem, size_t len, pkc_rtc_cert **out)
{
    if (len > 64 * 1024)
        return pkc_error(PKC_ERR_MALFORMED, "certificate file: larger than 64 KiB");
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    X509 *x = pkey ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (pkey == NULL || x == NULL) {
        EVP_PKEY_free(pkey);
        X509_free(x);
        return pkc_error(PKC_ERR_MALFORMED, "certificate file: expected a PEM private key then a certificate");
    }
    if (X509_check_private_key(x, pkey) != 1) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        X509_free(x);
        return pkc_error(PKC_ERR_MALFORMED, "certificate file: the key does not belong to the certificate");
    }
    pkc_rtc_cert *c = calloc(1, sizeof *c);
    if (c == NULL) {
        EVP_PKEY_free(pkey);
        X509_free(x);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    c->refs = 1;
    c->pkey = pkey;
    c->x509 = x;
    return finish(c, out);
}

pkc_rtc_cert *pkc_cert_ref(pkc_rtc_cert *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    return c;
}

void pkc_cert_unref(pkc_rtc_cert *c)
{
    if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    SSL_CTX_free(c->ctx);
    X509_free(c->x509);
    EVP_PKEY_free((EVP_PKEY *)c->pkey);
    free(c);
}
