/* dtls.c: a DTLS 1.2 endpoint over OpenSSL with a datagram BIO of our own. */
#include "rtc/dtls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "util/err.h"
#include "util/log.h"

typedef struct early_dgram {
    size_t len;
    uint8_t data[];
} early_dgram;

struct pkc_dtls {
    SSL *ssl;
    BIO *bio;
    pkc_rtc_cert *cert;
    pkc_dtls_callbacks cb;
    pkc_dtls_state state;
    int client;
    int started;
    pkc_fingerprint remote_fp; /* alg NONE: accept any */
    pkc_fingerprint peer_fp;   /* SHA-256 of what the peer presented */
    int have_peer_fp;
    int fp_mismatch;
    /* The datagram being read: the BIO returns it once. */
    const uint8_t *in;
    size_t in_len;
    uint64_t deadline;
    early_dgram *early[PKC_DTLS_EARLY_MAX];
    size_t n_early;
    char error[160];
};

/* ---- the datagram BIO ---------------------------------------------------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int dbio_write(BIO *b, const char *data, int len)
{
    pkc_dtls *d = BIO_get_data(b);
    if (d == NULL || len < 0)
        return -1;
    d->cb.send(d->cb.user, (const uint8_t *)data, (size_t)len);
    return len;
}

static int dbio_read(BIO *b, char *out, int size)
{
    pkc_dtls *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (d == NULL || d->in == NULL) {
        BIO_set_retry_read(b);
        return -1;
    }
    /* A datagram larger than the buffer is truncated, as recvfrom would. */
    size_t n = d->in_len < (size_t)size ? d->in_len : (size_t)size;
    memcpy(out, d->in, n);
    d->in = NULL;
    d->in_len = 0;
    return (int)n;
}

static long dbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return PKC_DTLS_MTU;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        return 0;
    default:
        return 0;
    }
}

static int dbio_create(BIO *b)
{
    BIO_set_init(b, 1);
    BIO_set_data(b, NULL);
    return 1;
}

static int dbio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

static void bio_method_init(void)
{
    bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pkc dgram");
    if (bio_method == NULL)
        return;
    BIO_meth_set_write(bio_method, dbio_write);
    BIO_meth_set_read(bio_method, dbio_read);
    BIO_meth_set_ctrl(bio_method, dbio_ctrl);
    BIO_meth_set_create(bio_method, dbio_create);
    BIO_meth_set_destroy(bio_method, dbio_destroy);
}

/* ---- verification -------------------------------------------------------- */

static int ssl_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void index_init(void)
{
    ssl_index = SSL_get_ex_new_index(0, "pkc_dtls", NULL, NULL, NULL);
}

static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
    (void)preverify_ok; /* self-signed: the fingerprint is what counts */
    if (X509_STORE_CTX_get_error_depth(xs) != 0)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    pkc_dtls *d = ssl ? SSL_get_ex_data(ssl, ssl_index) : NULL;
    X509 *peer = X509_STORE_CTX_get0_cert(xs);
    if (d == NULL || peer == NULL)
        return 0;
    if (pkc_cert_digest(peer, PKC_HASH_SHA256, &d->peer_fp) == 0)
        d->have_peer_fp = 1;
    if (d->remote_fp.alg == PKC_HASH_NONE)
        return 1;
    pkc_fingerprint got;
    if (pkc_cert_digest(peer, d->remote_fp.alg, &got) != 0 || got.len != d->remote_fp.len ||
        memcmp(got.bytes, d->remote_fp.bytes, got.len) != 0) {
        d->fp_mismatch = 1;
        return 0;
    }
    return 1;
}

/* Starts at 100 ms and doubles up to 3 s (OpenSSL: 1 s doubling to 60 s). */
static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
    (void)ssl;
    if (prev_us == 0)
        return 100000;
    return prev_us >= 1500000 ? 3000000 : prev_us * 2;
}

/* ---- the endpoint --------------------------------------------------------- */

int pkc_dtls_new(pkc_rtc_cert *cert, const pkc_dtls_callbacks *cb, pkc_dtls **out)
{
    pthread_once(&bio_once, bio_method_init);
    pthread_once(&index_once, index_init);
    if (bio_method == NULL || ssl_index < 0)
        return pkc_error(PKC_ERR_DTLS, "OpenSSL initialisation failed");
    pkc_dtls *d = calloc(1, sizeof *d);
    if (d == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    d->cb = *cb;
    d->deadline = UINT64_MAX;
    d->ssl = SSL_new(cert->ctx);
    d->bio = BIO_new(bio_method);
    if (d->ssl == NULL || d->bio == NULL) {
        SSL_free(d->ssl);
        BIO_free(d->bio);
        free(d);
        ERR_clear_error();
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    d->cert = pkc_cert_ref(cert);
    BIO_set_data(d->bio, d);
    SSL_set_bio(d->ssl, d->bio, d->bio); /* the same BIO twice: one reference taken */
    SSL_set_ex_data(d->ssl, ssl_index, d);
    SSL_set_verify(d->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(d->ssl, PKC_DTLS_MTU);
    SSL_set_mtu(d->ssl, PKC_DTLS_MTU);
    DTLS_set_timer_cb(d->ssl, timer_cb);
    *out = d;
    return 0;
}

void pkc_dtls_free(pkc_dtls *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_early; i++)
        free(d->early[i]);
    BIO_set_data(d->bio, NULL);
    SSL_free(d->ssl);
    pkc_cert_unref(d->cert);
    ERR_clear_error();
    free(d);
}

void pkc_dtls_set_remote_fingerprint(pkc_dtls *d, const pkc_fingerprint *fp)
{
    d->remote_fp = *fp;
}

static void set_state(pkc_dtls *d, pkc_dtls_state s)
{
    if (d->state == s)
        return;
    d->state = s;
    if (d->cb.state)
        d->cb.state(d->cb.user, s);
}

static int fail(pkc_dtls *d, int code, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char ossl[120] = "";
    if (e)
        ERR_error_string_n(e, ossl, sizeof ossl);
    ERR_clear_error();
    if (d->fp_mismatch) {
        code = PKC_ERR_FINGERPRINT;
        snprintf(d->error, sizeof d->error,
                 "the peer's certificate does not match the a=fingerprint of its description");
    } else {
        snprintf(d->error, sizeof d->error, "%s%s%s", what, ossl[0] ? ": " : "", ossl);
    }
    pkc_logw("rtc", "DTLS: %s", d->error);
    d->deadline = UINT64_MAX;
    set_state(d, PKC_DTLS_FAILED);
    return pkc_error(code, "DTLS: %s", d->error);
}

static void update_deadline(pkc_dtls *d, uint64_t now)
{
    struct timeval tv;
    if (d->state == PKC_DTLS_HANDSHAKING && DTLSv1_get_timeout(d->ssl, &tv) == 1)
        d->deadline = now + (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
    else
        d->deadline = UINT64_MAX;
}

/* Drives the handshake or reads records; `in` is the datagram to offer. */
static int pump(pkc_dtls *d, const uint8_t *in, size_t len, uint64_t now)
{
    d->in = in;
    d->in_len = len;
    ERR_clear_error();
    int rc = 0;
    if (d->state == PKC_DTLS_HANDSHAKING) {
        int r = SSL_do_handshake(d->ssl);
        if (r == 1) {
            pkc_logd("rtc", "DTLS: connected as %s (%s)", d->client ? "client" : "server",
                     SSL_get_cipher_name(d->ssl));
            set_state(d, PKC_DTLS_CONNECTED);
        } else {
            int e = SSL_get_error(d->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                d->in = NULL;
                return fail(d, PKC_ERR_DTLS, "handshake failed");
            }
        }
    }
    if (d->state == PKC_DTLS_CONNECTED) {
        /* Records after the handshake's last flight may share its datagram. */
        uint8_t buf[16384 + 256];
        for (;;) {
            int r = SSL_read(d->ssl, buf, (int)sizeof buf);
            if (r > 0) {
                d->cb.recv(d->cb.user, buf, (size_t)r);
                if (d->state != PKC_DTLS_CONNECTED)
                    break;
                continue;
            }
            int e = SSL_get_error(d->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN) {
                pkc_logd("rtc", "DTLS: close_notify received");
                SSL_shutdown(d->ssl); /* answer it */
                set_state(d, PKC_DTLS_CLOSED);
            } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                d->in = NULL;
                return fail(d, PKC_ERR_DTLS, "reading a record failed");
            }
            break;
        }
    }
    d->in = NULL;
    update_deadline(d, now);
    return rc;
}

int pkc_dtls_start(pkc_dtls *d, int client, uint64_t now)
{
    if (d->started)
        return 0;
    d->started = 1;
    d->client = client;
    if (client)
        SSL_set_connect_state(d->ssl);
    else
        SSL_set_accept_state(d->ssl);
    d->state = PKC_DTLS_HANDSHAKING;
    int rc = client ? pump(d, NULL, 0, now) : 0;
    for (size_t i = 0; i < d->n_early && rc == 0 && d->state == PKC_DTLS_HANDSHAKING; i++)
        rc = pump(d, d->early[i]->data, d->early[i]->len, now);
    for (size_t i = 0; i < d->n_early; i++)
        free(d->early[i]);
    d->n_early = 0;
    return rc;
}

int pkc_dtls_input(pkc_dtls *d, const uint8_t *data, size_t len, uint64_t now)
{
    if (!d->started) {
        if (d->n_early == PKC_DTLS_EARLY_MAX || len > 4096)
            return 0; /* a flood before we know our role: drop */
        early_dgram *e = malloc(sizeof *e + len);
        if (e == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        e->len = len;
        memcpy(e->data, data, len);
        d->early[d->n_early++] = e;
        return 0;
    }
    if (d->state != PKC_DTLS_HANDSHAKING && d->state != PKC_DTLS_CONNECTED)
        return 0;
    return pump(d, data, len, now);
}

int pkc_dtls_send(pkc_dtls *d, const uint8_t *data, size_t len)
{
    if (d->state != PKC_DTLS_CONNECTED)
        return pkc_error(PKC_ERR_STATE, "DTLS: not connected");
    ERR_clear_error();
    int r = SSL_write(d->ssl, data, (int)len);
    if (r != (int)len) {
        ERR_clear_error();
        return pkc_error(PKC_ERR_DTLS, "DTLS: write of %zu bytes failed", len);
    }
    return 0;
}

void pkc_dtls_timeout(pkc_dtls *d, uint64_t now)
{
    if (d->state != PKC_DTLS_HANDSHAKING || now < d->deadline)
        return;
    ERR_clear_error();
    if (DTLSv1_handle_timeout(d->ssl) < 0) {
        fail(d, PKC_ERR_DTLS, "handshake timed out");
        return;
    }
    ERR_clear_error();
    update_deadline(d, now);
}

uint64_t pkc_dtls_deadline(const pkc_dtls *d)
{
    return d->deadline;
}

void pkc_dtls_close(pkc_dtls *d)
{
    if (d->state == PKC_DTLS_CONNECTED) {
        ERR_clear_error();
        SSL_shutdown(d->ssl);
        ERR_clear_error();
        set_state(d, PKC_DTLS_CLOSED);
    } else if (d->state != PKC_DTLS_FAILED) {
        d->deadline = UINT64_MAX;
        set_state(d, PKC_DTLS_CLOSED);
    }
}

pkc_dtls_state pkc_dtls_get_state(const pkc_dtls *d)
{
    return d->state;
}

const pkc_fingerprint *pkc_dtls_peer_fingerprint(const pkc_dtls *d)
{
    return d->have_peer_fp ? &d->peer_fp : NULL;
}

const char *pkc_dtls_error(const pkc_dtls *d)
{
    return d->error;
}
