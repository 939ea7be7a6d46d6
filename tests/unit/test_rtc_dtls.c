/* DTLS endpoints wired to each other in memory. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "rtc/cert.h"
#include "rtc/dtls.h"
#include "test.h"

#define MAXQ 64

typedef struct side {
    pkc_dtls *d;
    uint8_t *q[MAXQ]; /* datagrams to the other side */
    size_t qlen[MAXQ], n;
    uint8_t got[4096];
    size_t got_len;
    int states[8], n_states;
    size_t max_dgram;
    int drop; /* drop everything it sends */
} side;

static void on_send(void *u, const uint8_t *p, size_t n)
{
    side *s = u;
    if (n > s->max_dgram)
        s->max_dgram = n;
    if (s->drop || s->n == MAXQ)
        return;
    s->q[s->n] = malloc(n);
    memcpy(s->q[s->n], p, n);
    s->qlen[s->n++] = n;
}

static void on_recv(void *u, const uint8_t *p, size_t n)
{
    side *s = u;
    if (s->got_len + n <= sizeof s->got) {
        memcpy(s->got + s->got_len, p, n);
        s->got_len += n;
    }
}

static void on_state(void *u, pkc_dtls_state st)
{
    side *s = u;
    if (s->n_states < 8)
        s->states[s->n_states++] = (int)st;
}

/* Delivers everything queued, both ways, until quiet. */
static void pump(side *a, side *b, uint64_t now)
{
    for (int round = 0; round < 50 && (a->n || b->n); round++) {
        side *from[2] = {a, b}, *to[2] = {b, a};
        for (int k = 0; k < 2; k++) {
            size_t n = from[k]->n;
            uint8_t *q[MAXQ];
            size_t ql[MAXQ];
            memcpy(q, from[k]->q, n * sizeof q[0]);
            memcpy(ql, from[k]->qlen, n * sizeof ql[0]);
            from[k]->n = 0;
            for (size_t i = 0; i < n; i++) {
                (void)pkc_dtls_input(to[k]->d, q[i], ql[i], now);
                free(q[i]);
            }
        }
    }
}

static void drain(side *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->q[i]);
    s->n = 0;
}

static pkc_rtc_cert *cert_a, *cert_b;

static void setup(side *a, side *b)
{
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    pkc_dtls_callbacks ca = {on_send, on_recv, on_state, a}, cbb = {on_send, on_recv, on_state, b};
    if (pkc_dtls_new(cert_a, &ca, &a->d) || pkc_dtls_new(cert_b, &cbb, &b->d))
        pkc_test_fail(__FILE__, __LINE__, "pkc_dtls_new failed");
}

static int make_certs(void)
{
    if (cert_a)
        return 0;
    return pkc_cert_generate(pkc_rng_system(), 1700000000000, &cert_a) ||
           pkc_cert_generate(pkc_rng_system(), 1700000000000, &cert_b);
}

TEST(rtc_dtls, handshake_data_close)
{
    CHECK_OK(make_certs());
    side a, b;
    setup(&a, &b);
    CHECK_HELPER();
    pkc_dtls_set_remote_fingerprint(a.d, &cert_b->fingerprint);
    pkc_dtls_set_remote_fingerprint(b.d, &cert_a->fingerprint);
    /* The client's ClientHello reaches the server before it knows its
     * role: it is queued, not lost. */
    CHECK_OK(pkc_dtls_start(a.d, 1, 0));
    CHECK_EQ(a.n, 1);
    pump(&a, &b, 0);
    CHECK_EQ(pkc_dtls_get_state(b.d), PKC_DTLS_NEW);
    /* pump delivered the hello into b's early queue; start b now. */
    CHECK_OK(pkc_dtls_start(b.d, 0, 0));
    pump(&a, &b, 0);
    CHECK_EQ(pkc_dtls_get_state(a.d), PKC_DTLS_CONNECTED);
    CHECK_EQ(pkc_dtls_get_state(b.d), PKC_DTLS_CONNECTED);
    CHECK(a.max_dgram <= PKC_DTLS_MTU);
    CHECK(b.max_dgram <= PKC_DTLS_MTU);
    CHECK(pkc_dtls_peer_fingerprint(a.d) != NULL);
    CHECK_MEM(pkc_dtls_peer_fingerprint(a.d)->bytes, cert_b->fingerprint.bytes, 32);

    /* One write is one datagram; data arrives intact. */
    CHECK_OK(pkc_dtls_send(a.d, (const uint8_t *)"hello", 5));
    CHECK_EQ(a.n, 1);
    pump(&a, &b, 0);
    CHECK_EQ(b.got_len, 5);
    CHECK_MEM(b.got, "hello", 5);

    /* Garbage, truncated and replayed records change nothing. */
    uint8_t junk[100];
    memset(junk, 0x17, sizeof junk);
    CHECK_OK(pkc_dtls_input(b.d, junk, sizeof junk, 0));
    CHECK_OK(pkc_dtls_input(b.d, junk, 3, 0));
    CHECK_OK(pkc_dtls_send(a.d, (const uint8_t *)"again", 5));
    uint8_t rec[256];
    size_t rl = a.qlen[0];
    memcpy(rec, a.q[0], rl);
    pump(&a, &b, 0);
    CHECK_OK(pkc_dtls_input(b.d, rec, rl, 0)); /* replay: dropped */
    rec[rl - 1] ^= 1;
    CHECK_OK(pkc_dtls_input(b.d, rec, rl, 0)); /* forged: dropped */
    CHECK_EQ(b.got_len, 10);
    CHECK_EQ(pkc_dtls_get_state(b.d), PKC_DTLS_CONNECTED);

    /* close_notify reaches the other side. */
    pkc_dtls_close(a.d);
    pump(&a, &b, 0);
    CHECK_EQ(pkc_dtls_get_state(b.d), PKC_DTLS_CLOSED);
    CHECK_ERR(pkc_dtls_send(b.d, (const uint8_t *)"x", 1), PKC_ERR_STATE);
    drain(&a);
    drain(&b);
    pkc_dtls_free(a.d);
    pkc_dtls_free(b.d);
}

TEST(rtc_dtls, fingerprint_mismatch_aborts)
{
    CHECK_OK(make_certs());
    side a, b;
    setup(&a, &b);
    CHECK_HELPER();
    /* b expects a certificate that a does not have. */
    pkc_dtls_set_remote_fingerprint(a.d, &cert_b->fingerprint);
    pkc_dtls_set_remote_fingerprint(b.d, &cert_b->fingerprint);
    CHECK_OK(pkc_dtls_start(a.d, 1, 0));
    CHECK_OK(pkc_dtls_start(b.d, 0, 0));
    pump(&a, &b, 0);
    CHECK_EQ(pkc_dtls_get_state(b.d), PKC_DTLS_FAILED);
    CHECK(strstr(pkc_dtls_error(b.d), "does not match") != NULL);
    CHECK(pkc_dtls_get_state(a.d) != PKC_DTLS_CONNECTED); /* the alert reached a */
    drain(&a);
    drain(&b);
    pkc_dtls_free(a.d);
    pkc_dtls_free(b.d);

    /* And the other way round: the client rejects the server. */
    setup(&a, &b);
    pkc_dtls_set_remote_fingerprint(a.d, &cert_a->fingerprint);
    pkc_dtls_set_remote_fingerprint(b.d, &cert_a->fingerprint);
    CHECK_OK(pkc_dtls_start(a.d, 1, 0));
    CHECK_OK(pkc_dtls_start(b.d, 0, 0));
    pump(&a, &b, 0);
    CHECK_EQ(pkc_dtls_get_state(a.d), PKC_DTLS_FAILED);
    CHECK(pkc_dtls_get_state(b.d) != PKC_DTLS_CONNECTED);
    drain(&a);
    drain(&b);
    pkc_dtls_free(a.d);
    pkc_dtls_free(b.d);
}

/* The first retransmission comes after about 100 ms, then the timer doubles. */
TEST(rtc_dtls, retransmit_timer)
{
    CHECK_OK(make_certs());
    side a, b;
    setup(&a, &b);
    CHECK_HELPER();
    CHECK_OK(pkc_dtls_start(a.d, 1, 1000000));
    CHECK_EQ(a.n, 1);
    uint64_t d1 = pkc_dtls_deadline(a.d);
    CHECK(d1 >= 1000000 + 90000 && d1 <= 1000000 + 110000);
    drain(&a);
    pkc_dtls_free(a.d);
    pkc_dtls_free(b.d);
}

TEST(rtc_dtls, cert_pem_round_trip)
{
    CHECK_OK(make_certs());
    char *pem;
    size_t len;
    CHECK_OK(pkc_cert_to_pem(cert_a, &pem, &len));
    CHECK(strstr(pem, "BEGIN PRIVATE KEY") != NULL);
    CHECK(strstr(pem, "BEGIN CERTIFICATE") != NULL);
    pkc_rtc_cert *c;
    CHECK_OK(pkc_cert_from_pem(pem, len, &c));
    CHECK_MEM(c->fingerprint.bytes, cert_a->fingerprint.bytes, 32);
    pkc_cert_unref(c);
    /* A key from one certificate with another certificate is refused. */
    char *pem_b;
    size_t len_b;
    CHECK_OK(pkc_cert_to_pem(cert_b, &pem_b, &len_b));
    char *mixed = malloc(len + len_b + 1);
    const char *cert_start_a = strstr(pem, "-----BEGIN CERTIFICATE");
    const char *cert_start_b = strstr(pem_b, "-----BEGIN CERTIFICATE");
    size_t key_len = (size_t)(cert_start_a - pem);
    memcpy(mixed, pem, key_len);
    strcpy(mixed + key_len, cert_start_b);
    CHECK_ERR(pkc_cert_from_pem(mixed, strlen(mixed), &c), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_cert_from_pem("garbage", 7, &c), PKC_ERR_MALFORMED);
    free(mixed);
    free(pem);
    free(pem_b);
}

TEST(rtc_dtls, cert_file_in_data_dir)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data", pkc_test_tmpdir());
    pkc_rtc_cert *a, *b;
    int created;
    CHECK_OK(pkc_rtc_cert_load_or_create(dir, &a, &created));
    CHECK_EQ(created, 1);
    CHECK_OK(pkc_rtc_cert_load_or_create(dir, &b, &created));
    CHECK_EQ(created, 0);
    CHECK_STR(pkc_rtc_cert_get_fingerprint(a), pkc_rtc_cert_get_fingerprint(b));
    CHECK(strncmp(pkc_rtc_cert_get_fingerprint(a), "sha-256 ", 8) == 0);
    CHECK_EQ(strlen(pkc_rtc_cert_get_fingerprint(a)), 8 + 32 * 3 - 1);
    pkc_rtc_cert_free(a);
    pkc_rtc_cert_free(b);
    char path[600];
    snprintf(path, sizeof path, "%s/dtls-cert.pem", dir);
    struct stat st;
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    /* Readable by others: refused, as the identity file is. */
    CHECK_EQ(chmod(path, 0644), 0);
    CHECK_ERR(pkc_rtc_cert_load_or_create(dir, &a, &created), PKC_ERR_PERMISSION);
    CHECK_EQ(chmod(path, 0600), 0);
    /* Damaged: an error, and the file is left alone. */
    FILE *f = fopen(path, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnot base64\n", f);
    fclose(f);
    CHECK_ERR(pkc_rtc_cert_load_or_create(dir, &a, &created), PKC_ERR_MALFORMED);
}
