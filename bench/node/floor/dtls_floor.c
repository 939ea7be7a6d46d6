/* bench-dtls-floor: the resident memory of a process that does nothing but
 * what pkc needs OpenSSL 3 for (docs/rtc.md): initialise libssl, make a DTLS
 * context, a P-256 key and a self-signed certificate signed with SHA-256,
 * and one DTLS connection object. No pkc code, no other library. Prints
 * "VMRSS_KIB RSSANON_KIB" (from /proc/self/status) on stdout, exit 0; on
 * failure a message on stderr, exit 1.
 *
 * bench/node's driver runs it (built twice: linked as pkc is, against the
 * shared libssl/libcrypto, and statically against Debian's libssl.a and
 * libcrypto.a) to show the least memory the design's DTLS library takes
 * before any node exists: bench/node/README.md, "pkc's limits seen here". */
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>

void bench_self_rss(long *vm_kib, long *anon_kib); /* ../self_rss.c */

int main(void)
{
    if (OPENSSL_init_ssl(0, NULL) != 1) {
        fprintf(stderr, "dtls-floor: OPENSSL_init_ssl failed\n");
        return 1;
    }
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    int ok = ctx && key && name && X509_set_version(x, 2) == 1 &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(x), -86400) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"floor",
                                        -1, -1, 0) == 1 &&
             X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1 &&
             X509_sign(x, key, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, x) == 1 &&
             SSL_CTX_use_PrivateKey(ctx, key) == 1;
    SSL *ssl = ok ? SSL_new(ctx) : NULL;
    if (ssl == NULL) {
        fprintf(stderr, "dtls-floor: OpenSSL setup failed\n");
        return 1;
    }
    long vm, anon;
    bench_self_rss(&vm, &anon);
    if (vm < 0 || anon < 0) {
        fprintf(stderr, "dtls-floor: no VmRSS or RssAnon in /proc/self/status\n");
        return 1;
    }
    printf("%ld %ld\n", vm, anon);
    SSL_free(ssl);
    X509_free(x);
    EVP_PKEY_free(key);
    SSL_CTX_free(ctx);
    return 0;
}
