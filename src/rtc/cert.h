/*
 * cert.h: the DTLS certificate of a peer: a self-signed ECDSA P-256
 * certificate (what browsers generate for WebRTC), its private key and the
 * OpenSSL context built on them. Shared by every connection that uses it
 * (reference-counted; safe to share between threads once built).
 */
#ifndef PKC_RTC_CERT_H
#define PKC_RTC_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "rtc/sdp.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;

/* Validity of generated certificates. Browsers do not check it for WebRTC,
 * but a certificate kept in the data directory is renewed when it expires. */
#define PKC_CERT_VALIDITY_DAYS 365

/* pkc_rtc_cert is declared in pkc.h (opaque). */
struct pkc_rtc_cert {
    int refs; /* atomic */
    void *pkey; /* EVP_PKEY */
    X509 *x509;
    SSL_CTX *ctx;
    pkc_fingerprint fingerprint; /* SHA-256 of the DER certificate */
    char fingerprint_text[3 * 32 + 16]; /* "sha-256 AB:..." */
    int64_t not_after_ms;
};

/* A new key pair and certificate valid from `now_ms` - 1 day for
 * PKC_CERT_VALIDITY_DAYS; the serial number comes from `rng`. */
int pkc_cert_generate(const pkc_rng *rng, int64_t now_ms, pkc_rtc_cert **out);
/* The PEM text of the private key and certificate (PKCS#8 key first).
 * *pem is malloc'd, NUL-terminated. */
int pkc_cert_to_pem(const pkc_rtc_cert *c, char **pem, size_t *len);
/* Parses what pkc_cert_to_pem wrote. PKC_ERR_MALFORMED if it is not a key
 * and a certificate that belong together. */
int pkc_cert_from_pem(const char *pem, size_t len, pkc_rtc_cert **out);
pkc_rtc_cert *pkc_cert_ref(pkc_rtc_cert *c);
void pkc_cert_unref(pkc_rtc_cert *c);

/* The digest of a DER certificate with `alg`; 0 or PKC_ERR_UNSUPPORTED. */
int pkc_cert_digest(X509 *x, pkc_hash_alg alg, pkc_fingerprint *out);

#endif
