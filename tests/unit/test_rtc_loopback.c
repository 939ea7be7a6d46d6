/* Two (or more) pkc peers over real UDP on this host, through the public
 * API: channels of every kind, 1 MiB transfers, max-size messages, close,
 * back-pressure, ICE restart, trickle, a shared socket, an ICE-lite
 * listener, a vanished peer, bad descriptions. Waits are on events with
 * deadlines (pkc_loop_run's time limit), never sleeps. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "pkc.h"
#include "test.h"
#include "util/rng.h"

#define MAXCH 128
#define MAXMSG 512

typedef struct msg_rec {
    pkc_rtc_channel *ch;
    uint8_t *data;
    size_t len;
    int binary;
} msg_rec;

typedef struct side {
    pkc_loop *loop;
    pkc_rtc_peer *peer;
    pkc_rtc_state state;
    int saw[8]; /* states seen */
    pkc_rtc_channel *remote_ch[MAXCH]; /* opened by the other side */
    size_t n_remote;
    pkc_rtc_channel *opened[MAXCH];
    size_t n_opened;
    int closed[MAXCH * 2];
    size_t n_closed;
    msg_rec msgs[MAXMSG];
    size_t n_msgs;
    size_t bytes;
    int low;
    int echo; /* echo every message back */
    char *cands[16];
    size_t n_cands;
    int cands_done;
    int incoming;
    pkc_rtc_peer *incoming_peers[8];
} side;

static void stop(side *s)
{
    pkc_loop_stop(s->loop);
}

static void on_state(void *ud, pkc_rtc_peer *p, pkc_rtc_state st)
{
    (void)p;
    side *s = ud;
    s->state = st;
    s->saw[st] = 1;
    stop(s);
}

static void on_candidate(void *ud, pkc_rtc_peer *p, const char *c)
{
    (void)p;
    side *s = ud;
    if (c == NULL)
        s->cands_done = 1;
    else if (s->n_cands < 16)
        s->cands[s->n_cands++] = strdup(c);
    stop(s);
}

static void on_channel(void *ud, pkc_rtc_peer *p, pkc_rtc_channel *ch)
{
    (void)p;
    side *s = ud;
    if (s->n_remote < MAXCH)
        s->remote_ch[s->n_remote++] = ch;
    stop(s);
}

static void on_open(void *ud, pkc_rtc_channel *ch)
{
    side *s = ud;
    if (s->n_opened < MAXCH)
        s->opened[s->n_opened++] = ch;
    stop(s);
}

static void on_message(void *ud, pkc_rtc_channel *ch, const uint8_t *d, size_t n, int binary)
{
    side *s = ud;
    s->bytes += n;
    if (s->echo) {
        if (pkc_rtc_channel_send(ch, d, n, binary) != 0)
            pkc_test_fail(__FILE__, __LINE__, "echo failed: %s", pkc_errmsg());
    } else if (s->n_msgs < MAXMSG) {
        msg_rec *m = &s->msgs[s->n_msgs++];
        m->ch = ch;
        m->data = malloc(n ? n : 1);
        memcpy(m->data, d, n);
        m->len = n;
        m->binary = binary;
    }
    stop(s);
}

static void on_low(void *ud, pkc_rtc_channel *ch)
{
    (void)ch;
    side *s = ud;
    s->low++;
    stop(s);
}

static void on_close(void *ud, pkc_rtc_channel *ch)
{
    side *s = ud;
    if (s->n_closed < MAXCH * 2)
        s->closed[s->n_closed++] = pkc_rtc_channel_get_id(ch);
    /* Forget the handle: it is freed when this returns. */
    for (size_t i = 0; i < s->n_remote; i++)
        if (s->remote_ch[i] == ch)
            s->remote_ch[i] = NULL;
    for (size_t i = 0; i < s->n_opened; i++)
        if (s->opened[i] == ch)
            s->opened[i] = NULL;
    for (size_t i = 0; i < s->n_msgs; i++)
        if (s->msgs[i].ch == ch)
            s->msgs[i].ch = NULL;
    stop(s);
}

static void on_incoming(void *ud, pkc_rtc_peer *p)
{
    side *s = ud;
    if (s->incoming < 8)
        s->incoming_peers[s->incoming] = p;
    s->incoming++;
    stop(s);
}

static const pkc_rtc_callbacks side_callbacks = {
    .state = on_state,
    .candidate = on_candidate,
    .channel = on_channel,
    .open = on_open,
    .message = on_message,
    .buffered_amount_low = on_low,
    .close = on_close,
    .incoming = on_incoming,
};

static void clear_side(side *s)
{
    for (size_t i = 0; i < s->n_msgs; i++)
        free(s->msgs[i].data);
    for (size_t i = 0; i < s->n_cands; i++)
        free(s->cands[i]);
}

/* Runs `loop` until cond(arg) holds or `ms` pass. */
typedef int (*cond_fn)(void *);
static int wait_until(pkc_loop *loop, cond_fn cond, void *arg, int ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!cond(arg)) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long spent = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= ms)
            return 0;
        if (pkc_loop_run(loop, (int)(ms - spent)) == PKC_ERR_TIMEOUT && !cond(arg))
            return 0;
    }
    return 1;
}

typedef struct pair {
    side a, b;
    pkc_loop *loop;
} pair;

static int both_connected(void *arg)
{
    pair *p = arg;
    return p->a.state == PKC_RTC_CONNECTED && p->b.state == PKC_RTC_CONNECTED;
}

static pkc_rtc_cert *shared_cert(void)
{
    static pkc_rtc_cert *c;
    if (c == NULL && pkc_rtc_cert_generate(&c) != 0)
        abort();
    return c;
}

static void config(pkc_rtc_config *cfg)
{
    pkc_rtc_config_default(cfg);
    cfg->cert = shared_cert();
}

/* Two peers on one new loop, not yet connected (NULL: default config). */
static void make_pair(pair *p, const pkc_rtc_config *ca, const pkc_rtc_config *cb_cfg)
{
    memset(p, 0, sizeof *p);
    if (pkc_loop_new(&p->loop) != 0)
        abort();
    p->a.loop = p->b.loop = p->loop;
    pkc_rtc_config def;
    config(&def);
    CHECK_OK(pkc_rtc_peer_new(p->loop, ca ? ca : &def, &side_callbacks, &p->a, &p->a.peer));
    CHECK_OK(pkc_rtc_peer_new(p->loop, cb_cfg ? cb_cfg : &def, &side_callbacks, &p->b, &p->b.peer));
}

/* a offers, b answers; both on `loop`. */
static void connect_pair(pair *p, const pkc_rtc_config *ca, const pkc_rtc_config *cb_cfg)
{
    make_pair(p, ca, cb_cfg);
    CHECK_HELPER();
    char *offer, *answer;
    CHECK_OK(pkc_rtc_peer_create_offer(p->a.peer, &offer));
    CHECK_OK(pkc_rtc_peer_set_remote(p->b.peer, PKC_RTC_OFFER, offer));
    CHECK_OK(pkc_rtc_peer_create_answer(p->b.peer, &answer));
    CHECK_OK(pkc_rtc_peer_set_remote(p->a.peer, PKC_RTC_ANSWER, answer));
    free(offer);
    free(answer);
    CHECK(wait_until(p->loop, both_connected, p, 10000));
}

static void free_pair(pair *p)
{
    pkc_rtc_peer_free(p->a.peer);
    pkc_rtc_peer_free(p->b.peer);
    clear_side(&p->a);
    clear_side(&p->b);
    pkc_loop_free(p->loop);
}

typedef struct count_cond {
    size_t *n;
    size_t want;
} count_cond;

static int reached(void *arg)
{
    count_cond *c = arg;
    return *c->n >= c->want;
}

static int wait_count(pkc_loop *loop, size_t *n, size_t want, int ms)
{
    count_cond c = {n, want};
    return wait_until(loop, reached, &c, ms);
}

/* ---- tests ---------------------------------------------------------------------- */

TEST(rtc_loopback, many_channels_both_ways)
{
    pair p;
    connect_pair(&p, NULL, NULL);
    CHECK_HELPER();
    pkc_rtc_stats st;
    pkc_rtc_peer_get_stats(p.a.peer, &st);
    CHECK(st.ice_controlling && !st.dtls_client); /* offerer: controlling, DTLS server */
    CHECK(st.local_address[0] && st.remote_address[0]);
    CHECK(pkc_rtc_peer_get_remote_fingerprint(p.a.peer) != NULL);
    CHECK_STR(pkc_rtc_peer_get_remote_fingerprint(p.a.peer), pkc_rtc_cert_get_fingerprint(shared_cert()));
    /* 40 channels from each side. */
    for (int i = 0; i < 40; i++) {
        char label[32];
        pkc_rtc_channel *ch;
        snprintf(label, sizeof label, "a%d", i);
        CHECK_OK(pkc_rtc_channel_new(p.a.peer, label, NULL, &ch));
        snprintf(label, sizeof label, "b%d", i);
        CHECK_OK(pkc_rtc_channel_new(p.b.peer, label, NULL, &ch));
    }
    CHECK(wait_count(p.loop, &p.a.n_opened, 40, 10000));
    CHECK(wait_count(p.loop, &p.b.n_opened, 40, 10000));
    CHECK(wait_count(p.loop, &p.a.n_remote, 40, 10000));
    CHECK(wait_count(p.loop, &p.b.n_remote, 40, 10000));
    /* The DTLS client (b, the answerer) uses even stream ids, a odd ones. */
    for (size_t i = 0; i < 40; i++) {
        CHECK_EQ(pkc_rtc_channel_get_id(p.a.opened[i]) % 2, 1);
        CHECK_EQ(pkc_rtc_channel_get_id(p.b.opened[i]) % 2, 0);
    }
    /* A message on each of a's channels arrives on the matching channel. */
    for (size_t i = 0; i < 40; i++) {
        char m[64];
        int n = snprintf(m, sizeof m, "to %s", pkc_rtc_channel_get_label(p.a.opened[i]));
        CHECK_OK(pkc_rtc_channel_send(p.a.opened[i], m, (size_t)n, 0));
    }
    CHECK(wait_count(p.loop, &p.b.n_msgs, 40, 10000));
    for (size_t i = 0; i < 40; i++) {
        msg_rec *m = &p.b.msgs[i];
        char want[64];
        snprintf(want, sizeof want, "to %s", pkc_rtc_channel_get_label(m->ch));
        CHECK_EQ(m->len, strlen(want));
        CHECK_MEM(m->data, want, m->len);
        CHECK(!m->binary);
    }
    free_pair(&p);
}

TEST(rtc_loopback, channel_kinds_and_messages)
{
    pair p;
    connect_pair(&p, NULL, NULL);
    CHECK_HELPER();
    p.b.echo = 1;
    pkc_rtc_channel_options o;
    pkc_rtc_channel *ch[4];
    pkc_rtc_channel_options_default(&o);
    o.ordered = 0;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "unordered", &o, &ch[0]));
    pkc_rtc_channel_options_default(&o);
    o.max_retransmits = 0;
    o.ordered = 0;
    o.protocol = "chat";
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "rtx0", &o, &ch[1]));
    pkc_rtc_channel_options_default(&o);
    o.max_lifetime_ms = 100;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "life", &o, &ch[2]));
    /* Negotiated: both sides create it, no DCEP. */
    pkc_rtc_channel_options_default(&o);
    o.negotiated = 1;
    o.id = 42;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "neg", &o, &ch[3]));
    pkc_rtc_channel *nb;
    CHECK_OK(pkc_rtc_channel_new(p.b.peer, "neg", &o, &nb));
    CHECK_ERR(pkc_rtc_channel_new(p.b.peer, "neg2", &o, &nb), PKC_ERR_EXISTS);
    o.max_retransmits = 1;
    o.max_lifetime_ms = 1;
    CHECK_ERR(pkc_rtc_channel_new(p.a.peer, "bad", &o, &nb), PKC_ERR_INVALID_ARG);
    CHECK(wait_count(p.loop, &p.a.n_opened, 4, 10000));
    CHECK(wait_count(p.loop, &p.b.n_remote, 3, 10000));
    /* b read the options out of DCEP. */
    for (size_t i = 0; i < 3; i++) {
        pkc_rtc_channel_options got;
        pkc_rtc_channel_get_options(p.b.remote_ch[i], &got);
        const char *l = pkc_rtc_channel_get_label(p.b.remote_ch[i]);
        if (strcmp(l, "unordered") == 0) {
            CHECK(!got.ordered && got.max_retransmits == -1 && got.max_lifetime_ms == -1);
        } else if (strcmp(l, "rtx0") == 0) {
            CHECK(!got.ordered && got.max_retransmits == 0);
            CHECK_STR(pkc_rtc_channel_get_protocol(p.b.remote_ch[i]), "chat");
        } else {
            CHECK_STR(l, "life");
            CHECK(got.ordered && got.max_lifetime_ms == 100);
        }
    }
    /* Text, binary, empty text, empty binary on each; the echo returns each
     * with its type. */
    static const char *const texts[] = {"hello", "", "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93"};
    size_t want = 0;
    for (int k = 0; k < 4; k++) {
        for (int t = 0; t < 3; t++)
            CHECK_OK(pkc_rtc_channel_send(ch[k], texts[t], strlen(texts[t]), 0));
        CHECK_OK(pkc_rtc_channel_send(ch[k], "\x00\x01\xff", 3, 1));
        CHECK_OK(pkc_rtc_channel_send(ch[k], "", 0, 1));
        want += 5;
    }
    CHECK(wait_count(p.loop, &p.a.n_msgs, want, 10000));
    size_t empties_text = 0, empties_bin = 0, bins = 0;
    for (size_t i = 0; i < p.a.n_msgs; i++) {
        msg_rec *m = &p.a.msgs[i];
        if (m->len == 0 && !m->binary)
            empties_text++;
        if (m->len == 0 && m->binary)
            empties_bin++;
        if (m->len == 3 && m->binary) {
            CHECK_MEM(m->data, "\x00\x01\xff", 3);
            bins++;
        }
    }
    CHECK_EQ(empties_text, 4);
    CHECK_EQ(empties_bin, 4);
    CHECK_EQ(bins, 4);
    /* Text must be UTF-8. */
    CHECK_ERR(pkc_rtc_channel_send(ch[0], "\xff\xfe", 2, 0), PKC_ERR_MALFORMED);
    free_pair(&p);
}

TEST(rtc_loopback, megabyte_transfers_and_max_size)
{
    pkc_rtc_config ca, cb;
    config(&ca);
    config(&cb);
    cb.max_message_size = 1024 * 1024; /* b accepts 1 MiB messages */
    pair p;
    connect_pair(&p, &ca, &cb);
    CHECK_HELPER();
    pkc_rtc_channel *ch;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "bulk", NULL, &ch));
    CHECK(wait_count(p.loop, &p.a.n_opened, 1, 10000));
    /* 1 MiB in 16 messages, then one message of 1 MiB. */
    uint8_t *mib = malloc(1 << 20);
    for (size_t i = 0; i < (1u << 20); i++)
        mib[i] = (uint8_t)(i * 31 + (i >> 12));
    for (int k = 0; k < 16; k++)
        CHECK_OK(pkc_rtc_channel_send(ch, mib + k * 65536, 65536, 1));
    CHECK_OK(pkc_rtc_channel_send(ch, mib, 1 << 20, 1));
    CHECK(wait_count(p.loop, &p.b.n_msgs, 17, 20000));
    for (int k = 0; k < 16; k++) {
        CHECK_EQ(p.b.msgs[k].len, 65536);
        CHECK_MEM(p.b.msgs[k].data, mib + k * 65536, 65536);
    }
    CHECK_EQ(p.b.msgs[16].len, 1 << 20);
    CHECK_MEM(p.b.msgs[16].data, mib, 1 << 20);
    /* a accepts 256 KiB (the default): b may send exactly that, not more. */
    CHECK(wait_count(p.loop, &p.b.n_remote, 1, 10000));
    pkc_rtc_channel *back = p.b.remote_ch[0];
    CHECK_OK(pkc_rtc_channel_send(back, mib, 262144, 1));
    CHECK_ERR(pkc_rtc_channel_send(back, mib, 262145, 1), PKC_ERR_TOO_LARGE);
    CHECK(wait_count(p.loop, &p.a.n_msgs, 1, 10000));
    CHECK_EQ(p.a.msgs[0].len, 262144);
    CHECK_MEM(p.a.msgs[0].data, mib, 262144);
    free(mib);
    free_pair(&p);
}

typedef struct closed_cond {
    side *s;
    int id;
} closed_cond;

static int saw_close(void *arg)
{
    closed_cond *c = arg;
    for (size_t i = 0; i < c->s->n_closed; i++)
        if (c->s->closed[i] == c->id)
            return 1;
    return 0;
}

static int state_is(void *arg)
{
    side *s = arg;
    return s->state == PKC_RTC_CLOSED || s->state == PKC_RTC_FAILED;
}

TEST(rtc_loopback, close_channel_and_connection)
{
    pair p;
    connect_pair(&p, NULL, NULL);
    CHECK_HELPER();
    pkc_rtc_channel *c1, *c2;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "one", NULL, &c1));
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "two", NULL, &c2));
    CHECK(wait_count(p.loop, &p.b.n_remote, 2, 10000));
    int id1 = pkc_rtc_channel_get_id(c1);
    /* Closing a channel: messages already queued are delivered first, then
     * both sides see the close; the other channel keeps working. */
    CHECK_OK(pkc_rtc_channel_send(c1, "last words", 10, 0));
    pkc_rtc_channel_close(c1);
    CHECK_EQ(pkc_rtc_channel_get_state(c1), PKC_RTC_CHANNEL_CLOSING);
    CHECK_ERR(pkc_rtc_channel_send(c1, "x", 1, 0), PKC_ERR_CLOSED);
    closed_cond ca = {&p.a, id1}, cbc = {&p.b, id1};
    CHECK(wait_until(p.loop, saw_close, &ca, 10000));
    CHECK(wait_until(p.loop, saw_close, &cbc, 10000));
    CHECK(p.b.n_msgs >= 1);
    CHECK_EQ(p.b.msgs[0].len, 10);
    CHECK_OK(pkc_rtc_channel_send(c2, "still here", 10, 0));
    CHECK(wait_count(p.loop, &p.b.n_msgs, 2, 10000));
    /* The stream id can be used again. */
    pkc_rtc_channel *c3;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "three", NULL, &c3));
    CHECK(wait_count(p.loop, &p.b.n_remote, 3, 10000));
    CHECK_EQ(pkc_rtc_channel_get_id(c3), id1);
    /* Closing the connection: the other side sees CLOSED, channels close. */
    size_t closed_before = p.b.n_closed;
    pkc_rtc_peer_close(p.a.peer);
    CHECK(wait_until(p.loop, state_is, &p.b, 10000));
    CHECK_EQ(p.b.state, PKC_RTC_CLOSED);
    CHECK(p.b.n_closed >= closed_before + 2);
    CHECK_EQ(pkc_rtc_peer_get_state(p.a.peer), PKC_RTC_CLOSED);
    pkc_rtc_channel *c4;
    CHECK_ERR(pkc_rtc_channel_new(p.a.peer, "late", NULL, &c4), PKC_ERR_STATE);
    free_pair(&p);
}

TEST(rtc_loopback, back_pressure)
{
    pkc_rtc_config ca;
    config(&ca);
    ca.max_buffered_amount = 2 * 1024 * 1024;
    pair p;
    connect_pair(&p, &ca, NULL);
    CHECK_HELPER();
    pkc_rtc_channel *ch;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "flood", NULL, &ch));
    pkc_rtc_channel_set_buffered_amount_low_threshold(ch, 256 * 1024);
    CHECK(wait_count(p.loop, &p.a.n_opened, 1, 10000));
    static uint8_t chunk[65536];
    size_t total = 32u << 20, sent = 0;
    int again = 0;
    while (sent < total) {
        int rc = pkc_rtc_channel_send(ch, chunk, sizeof chunk, 1);
        if (rc == PKC_ERR_AGAIN) {
            again++;
            CHECK(pkc_rtc_channel_get_buffered_amount(ch) + sizeof chunk > ca.max_buffered_amount);
            int low = p.a.low;
            CHECK(wait_count(p.loop, (size_t *)&p.a.low, (size_t)low + 1, 20000) || p.a.low > low);
            CHECK(pkc_rtc_channel_get_buffered_amount(ch) <= 256 * 1024);
            continue;
        }
        CHECK_OK(rc);
        sent += sizeof chunk;
    }
    CHECK(again > 0); /* the limit was hit and the low-water callback resumed us */
    CHECK(wait_count(p.loop, &p.b.bytes, total, 30000));
    CHECK_EQ(p.b.bytes, total);
    free_pair(&p);
}

/* ---- a vanished peer: b runs on its own thread, which then freezes ---- */

typedef struct frozen {
    side *s;
    pkc_rtc_config cfg;
    char *offer, *answer;
    pthread_mutex_t m;
    pthread_cond_t cv;
    int answered, release;
} frozen;

static void *frozen_thread(void *arg)
{
    frozen *f = arg;
    side *s = f->s;
    if (pkc_loop_new(&s->loop) || pkc_rtc_peer_new(s->loop, &f->cfg, &side_callbacks, s, &s->peer) ||
        pkc_rtc_peer_set_remote(s->peer, PKC_RTC_OFFER, f->offer) ||
        pkc_rtc_peer_create_answer(s->peer, &f->answer))
        abort();
    pthread_mutex_lock(&f->m);
    f->answered = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->m);
    /* Serve until connected, then stop answering anything. */
    for (int i = 0; i < 200 && s->state != PKC_RTC_CONNECTED; i++)
        pkc_loop_run(s->loop, 100);
    pthread_mutex_lock(&f->m);
    while (!f->release)
        pthread_cond_wait(&f->cv, &f->m);
    pthread_mutex_unlock(&f->m);
    pkc_rtc_peer_free(s->peer);
    pkc_loop_free(s->loop);
    return NULL;
}

TEST(rtc_loopback, vanished_peer_detected)
{
    side a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK_OK(pkc_loop_new(&a.loop));
    pkc_rtc_config cfg;
    config(&cfg);
    cfg.consent_timeout_ms = 4000; /* the default 30 s is tested in rtc_ice */
    CHECK_OK(pkc_rtc_peer_new(a.loop, &cfg, &side_callbacks, &a, &a.peer));
    frozen f;
    memset(&f, 0, sizeof f);
    f.s = &b;
    config(&f.cfg);
    pthread_mutex_init(&f.m, NULL);
    pthread_cond_init(&f.cv, NULL);
    CHECK_OK(pkc_rtc_peer_create_offer(a.peer, &f.offer));
    pthread_t th;
    pthread_create(&th, NULL, frozen_thread, &f);
    pthread_mutex_lock(&f.m);
    while (!f.answered)
        pthread_cond_wait(&f.cv, &f.m);
    pthread_mutex_unlock(&f.m);
    CHECK_OK(pkc_rtc_peer_set_remote(a.peer, PKC_RTC_ANSWER, f.answer));
    struct timespec t0, t1;
    /* Connected, then b's thread stops serving: a must notice. */
    for (int i = 0; i < 100 && a.state != PKC_RTC_CONNECTED; i++)
        pkc_loop_run(a.loop, 100);
    CHECK_EQ(a.state, PKC_RTC_CONNECTED);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(wait_until(a.loop, state_is, &a, 10000));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_EQ(a.state, PKC_RTC_FAILED);
    CHECK(a.saw[PKC_RTC_DISCONNECTED]);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs <= 4.5);
    pthread_mutex_lock(&f.m);
    f.release = 1;
    pthread_cond_signal(&f.cv);
    pthread_mutex_unlock(&f.m);
    pthread_join(th, NULL);
    free(f.offer);
    free(f.answer);
    pkc_rtc_peer_free(a.peer);
    pkc_loop_free(a.loop);
    clear_side(&a);
    clear_side(&b);
}

/* ---- ICE restart, trickle, shared sockets, listeners, bad input ---------------- */

TEST(rtc_loopback, ice_restart_keeps_data_flowing)
{
    pair p;
    connect_pair(&p, NULL, NULL);
    CHECK_HELPER();
    p.b.echo = 1;
    pkc_rtc_channel *ch;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "r", NULL, &ch));
    CHECK(wait_count(p.loop, &p.a.n_opened, 1, 10000));
    CHECK_OK(pkc_rtc_channel_send(ch, "before", 6, 0));
    CHECK(wait_count(p.loop, &p.a.n_msgs, 1, 10000));
    char *old_offer, *offer, *answer;
    CHECK_OK(pkc_rtc_peer_get_local_description(p.a.peer, &old_offer));
    pkc_rtc_peer_restart_ice(p.a.peer);
    CHECK_OK(pkc_rtc_peer_create_offer(p.a.peer, &offer));
    /* New credentials in the new offer. */
    const char *u1 = strstr(old_offer, "a=ice-ufrag:"), *u2 = strstr(offer, "a=ice-ufrag:");
    CHECK(u1 && u2 && strncmp(u1, u2, 20) != 0);
    /* Data still flows while the restart is pending. */
    CHECK_OK(pkc_rtc_channel_send(ch, "during", 6, 0));
    CHECK(wait_count(p.loop, &p.a.n_msgs, 2, 10000));
    char *old_answer;
    CHECK_OK(pkc_rtc_peer_get_local_description(p.b.peer, &old_answer));
    CHECK_OK(pkc_rtc_peer_set_remote(p.b.peer, PKC_RTC_OFFER, offer));
    CHECK_OK(pkc_rtc_peer_create_answer(p.b.peer, &answer));
    u1 = strstr(old_answer, "a=ice-ufrag:");
    u2 = strstr(answer, "a=ice-ufrag:");
    CHECK(u1 && u2 && strncmp(u1, u2, 20) != 0); /* the answerer restarts too */
    CHECK(strstr(answer, "a=setup:active") != NULL); /* DTLS role unchanged */
    CHECK_OK(pkc_rtc_peer_set_remote(p.a.peer, PKC_RTC_ANSWER, answer));
    CHECK_OK(pkc_rtc_channel_send(ch, "after", 5, 0));
    CHECK(wait_count(p.loop, &p.a.n_msgs, 3, 10000));
    CHECK_MEM(p.a.msgs[2].data, "after", 5);
    CHECK_EQ(p.a.state, PKC_RTC_CONNECTED);
    CHECK_EQ(p.b.state, PKC_RTC_CONNECTED);
    free(old_offer);
    free(old_answer);
    free(offer);
    free(answer);
    free_pair(&p);
}

/* Removes every a=candidate and a=end-of-candidates line. */
static char *strip_candidates(const char *sdp, char **cands, size_t *n)
{
    char *out = malloc(strlen(sdp) + 1), *w = out;
    *n = 0;
    for (const char *p = sdp; *p;) {
        const char *e = strstr(p, "\r\n");
        size_t len = e ? (size_t)(e - p) + 2 : strlen(p);
        if (strncmp(p, "a=candidate:", 12) == 0) {
            cands[(*n)++] = strndup(p + 2, len - 4);
        } else if (strncmp(p, "a=end-of-candidates", 19) != 0) {
            memcpy(w, p, len);
            w += len;
        }
        p += len;
    }
    *w = '\0';
    return out;
}

TEST(rtc_loopback, trickle_candidates)
{
    pair p;
    make_pair(&p, NULL, NULL);
    CHECK_HELPER();
    char *offer, *answer, *ca[32], *cb[32];
    size_t na, nb;
    CHECK_OK(pkc_rtc_peer_create_offer(p.a.peer, &offer));
    char *bare_offer = strip_candidates(offer, ca, &na);
    CHECK(na > 0);
    CHECK_OK(pkc_rtc_peer_set_remote(p.b.peer, PKC_RTC_OFFER, bare_offer));
    CHECK_OK(pkc_rtc_peer_create_answer(p.b.peer, &answer));
    char *bare_answer = strip_candidates(answer, cb, &nb);
    CHECK_OK(pkc_rtc_peer_set_remote(p.a.peer, PKC_RTC_ANSWER, bare_answer));
    /* Nothing to check yet: no connection. */
    CHECK(!wait_until(p.loop, both_connected, &p, 300));
    /* Trickle b's candidates to a (as browsers do, without "a="), then
     * end-of-candidates; and an mDNS one, which is ignored. */
    CHECK_OK(pkc_rtc_peer_add_candidate(p.a.peer,
                                        "candidate:1 1 udp 2113937151 0c3f.local 5000 typ host"));
    CHECK_ERR(pkc_rtc_peer_add_candidate(p.a.peer, "candidate:1 1 udp x"), PKC_ERR_SDP);
    for (size_t i = 0; i < nb; i++)
        CHECK_OK(pkc_rtc_peer_add_candidate(p.a.peer, cb[i]));
    CHECK_OK(pkc_rtc_peer_add_candidate(p.a.peer, NULL));
    CHECK(wait_until(p.loop, both_connected, &p, 10000));
    for (size_t i = 0; i < na; i++)
        free(ca[i]);
    for (size_t i = 0; i < nb; i++)
        free(cb[i]);
    free(offer);
    free(answer);
    free(bare_offer);
    free(bare_answer);
    free_pair(&p);
}

/* Two connections through one UDP socket: datagrams reach the right one. */
TEST(rtc_loopback, shared_socket)
{
    pkc_loop *loop;
    CHECK_OK(pkc_loop_new(&loop));
    pkc_rtc_socket *shared;
    pkc_rtc_socket_config sc;
    pkc_rtc_socket_config_default(&sc);
    CHECK_OK(pkc_rtc_socket_new(loop, &sc, &shared));
    CHECK(pkc_rtc_socket_get_port(shared) != 0);
    side a[2], b[2];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    for (int i = 0; i < 2; i++) {
        a[i].loop = b[i].loop = loop;
        pkc_rtc_config cfg;
        config(&cfg);
        CHECK_OK(pkc_rtc_peer_new(loop, &cfg, &side_callbacks, &a[i], &a[i].peer));
        cfg.socket = shared;
        CHECK_OK(pkc_rtc_peer_new(loop, &cfg, &side_callbacks, &b[i], &b[i].peer));
        char *offer, *answer;
        CHECK_OK(pkc_rtc_peer_create_offer(a[i].peer, &offer));
        CHECK_OK(pkc_rtc_peer_set_remote(b[i].peer, PKC_RTC_OFFER, offer));
        CHECK_OK(pkc_rtc_peer_create_answer(b[i].peer, &answer));
        char port[16];
        snprintf(port, sizeof port, " %u typ", pkc_rtc_socket_get_port(shared));
        CHECK(strstr(answer, port) != NULL); /* b's candidates carry the shared port */
        CHECK_OK(pkc_rtc_peer_set_remote(a[i].peer, PKC_RTC_ANSWER, answer));
        free(offer);
        free(answer);
        pkc_rtc_channel *ch;
        CHECK_OK(pkc_rtc_channel_new(a[i].peer, i ? "second" : "first", NULL, &ch));
    }
    CHECK(wait_count(loop, &b[0].n_remote, 1, 10000));
    CHECK(wait_count(loop, &b[1].n_remote, 1, 10000));
    CHECK_STR(pkc_rtc_channel_get_label(b[0].remote_ch[0]), "first");
    CHECK_STR(pkc_rtc_channel_get_label(b[1].remote_ch[0]), "second");
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < 2; i++)
            CHECK_OK(pkc_rtc_channel_send(b[i].remote_ch[0], i ? "to a1" : "to a0", 5, 0));
    CHECK(wait_count(loop, &a[0].n_msgs, 20, 10000));
    CHECK(wait_count(loop, &a[1].n_msgs, 20, 10000));
    for (size_t k = 0; k < 20; k++) {
        CHECK_MEM(a[0].msgs[k].data, "to a0", 5);
        CHECK_MEM(a[1].msgs[k].data, "to a1", 5);
    }
    for (int i = 0; i < 2; i++) {
        pkc_rtc_peer_free(a[i].peer);
        pkc_rtc_peer_free(b[i].peer);
        clear_side(&a[i]);
        clear_side(&b[i]);
    }
    pkc_rtc_socket_free(shared);
    pkc_loop_free(loop);
}

/* An ICE-lite listener accepts peers whose offers it never sees. */
TEST(rtc_loopback, lite_listener)
{
    pkc_loop *loop;
    CHECK_OK(pkc_loop_new(&loop));
    pkc_rtc_socket *ls;
    CHECK_OK(pkc_rtc_socket_new(loop, NULL, &ls));
    side l;
    memset(&l, 0, sizeof l);
    l.loop = loop;
    l.echo = 1;
    pkc_rtc_config lc;
    config(&lc);
    char *listener_sdp;
    CHECK_OK(pkc_rtc_listen(ls, &lc, &side_callbacks, &l, &listener_sdp));
    CHECK(strstr(listener_sdp, "a=ice-lite") != NULL);
    CHECK(strstr(listener_sdp, "a=setup:passive") != NULL);
    CHECK_ERR(pkc_rtc_listen(ls, &lc, &side_callbacks, &l, &listener_sdp), PKC_ERR_EXISTS);
    side c[3];
    memset(c, 0, sizeof c);
    pkc_rtc_cert *client_cert;
    CHECK_OK(pkc_rtc_cert_generate(&client_cert));
    for (int i = 0; i < 3; i++) {
        c[i].loop = loop;
        pkc_rtc_config cfg;
        config(&cfg);
        cfg.cert = client_cert;
        CHECK_OK(pkc_rtc_peer_new(loop, &cfg, &side_callbacks, &c[i], &c[i].peer));
        pkc_rtc_channel *ch;
        CHECK_OK(pkc_rtc_channel_new(c[i].peer, "hello", NULL, &ch));
        char *offer;
        CHECK_OK(pkc_rtc_peer_create_offer(c[i].peer, &offer));
        free(offer); /* the listener never sees it */
        CHECK_OK(pkc_rtc_peer_set_remote(c[i].peer, PKC_RTC_ANSWER, listener_sdp));
    }
    for (int i = 0; i < 3; i++) {
        CHECK(wait_count(loop, &c[i].n_opened, 1, 10000));
        pkc_rtc_stats st;
        pkc_rtc_peer_get_stats(c[i].peer, &st);
        CHECK(st.ice_controlling && st.dtls_client);
        char m[16];
        int n = snprintf(m, sizeof m, "client %d", i);
        CHECK_OK(pkc_rtc_channel_send(c[i].opened[0], m, (size_t)n, 0));
    }
    for (int i = 0; i < 3; i++) {
        CHECK(wait_count(loop, &c[i].n_msgs, 1, 10000));
        char m[16];
        int n = snprintf(m, sizeof m, "client %d", i);
        CHECK_EQ(c[i].msgs[0].len, (size_t)n);
        CHECK_MEM(c[i].msgs[0].data, m, (size_t)n);
    }
    CHECK_EQ(l.incoming, 3);
    for (int i = 0; i < 3; i++) {
        pkc_rtc_stats st;
        pkc_rtc_peer_get_stats(l.incoming_peers[i], &st);
        CHECK(st.ice_lite && !st.ice_controlling && !st.dtls_client);
        /* The listener pinned nothing: it reports what the client showed. */
        CHECK_STR(pkc_rtc_peer_get_remote_fingerprint(l.incoming_peers[i]),
                  pkc_rtc_cert_get_fingerprint(client_cert));
    }
    for (int i = 0; i < 3; i++) {
        pkc_rtc_peer_free(c[i].peer);
        clear_side(&c[i]);
        pkc_rtc_peer_free(l.incoming_peers[i]);
    }
    pkc_rtc_cert_free(client_cert);
    clear_side(&l);
    free(listener_sdp);
    pkc_rtc_socket_free(ls);
    pkc_loop_free(loop);
}

TEST(rtc_loopback, bad_descriptions)
{
    pkc_loop *loop;
    CHECK_OK(pkc_loop_new(&loop));
    side a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.loop = b.loop = loop;
    pkc_rtc_config cfg;
    config(&cfg);
    CHECK_OK(pkc_rtc_peer_new(loop, &cfg, &side_callbacks, &a, &a.peer));
    CHECK_OK(pkc_rtc_peer_new(loop, &cfg, &side_callbacks, &b, &b.peer));
    char *offer, *answer, *x;
    CHECK_ERR(pkc_rtc_peer_set_remote(a.peer, PKC_RTC_ANSWER, "v=0\r\n"), PKC_ERR_STATE);
    CHECK_ERR(pkc_rtc_peer_create_answer(a.peer, &x), PKC_ERR_STATE);
    CHECK_ERR(pkc_rtc_peer_get_local_description(a.peer, &x), PKC_ERR_STATE);
    CHECK_OK(pkc_rtc_peer_create_offer(a.peer, &offer));
    /* Garbage and a description without fingerprint: errors, nothing changes. */
    CHECK_ERR(pkc_rtc_peer_set_remote(b.peer, PKC_RTC_OFFER, "hello"), PKC_ERR_SDP);
    CHECK(strstr(pkc_errmsg(), "SDP line 1") != NULL);
    char *nofp = strdup(offer);
    char *fp = strstr(nofp, "a=fingerprint:");
    fp[2] = 'X';
    CHECK_ERR(pkc_rtc_peer_set_remote(b.peer, PKC_RTC_OFFER, nofp), PKC_ERR_SDP);
    CHECK(strstr(pkc_errmsg(), "no a=fingerprint") != NULL);
    CHECK_EQ(pkc_rtc_peer_get_state(b.peer), PKC_RTC_NEW);
    /* An offer cannot be applied as an answer to b's own offer if it says
     * actpass. */
    char *boffer;
    pkc_rtc_peer *c;
    side cs;
    memset(&cs, 0, sizeof cs);
    cs.loop = loop;
    CHECK_OK(pkc_rtc_peer_new(loop, &cfg, &side_callbacks, &cs, &c));
    CHECK_OK(pkc_rtc_peer_create_offer(c, &boffer));
    CHECK_ERR(pkc_rtc_peer_set_remote(c, PKC_RTC_ANSWER, offer), PKC_ERR_SDP);
    CHECK(strstr(pkc_errmsg(), "actpass") != NULL);
    CHECK_ERR(pkc_rtc_peer_set_remote(c, PKC_RTC_OFFER, offer), PKC_ERR_STATE); /* glare */
    pkc_rtc_peer_free(c);
    free(boffer);
    /* After all that, the real offer still works. */
    CHECK_OK(pkc_rtc_peer_set_remote(b.peer, PKC_RTC_OFFER, offer));
    CHECK_OK(pkc_rtc_peer_create_answer(b.peer, &answer));
    CHECK_OK(pkc_rtc_peer_set_remote(a.peer, PKC_RTC_ANSWER, answer));
    pair p = {a, b, loop};
    CHECK(wait_until(loop, both_connected, &p, 10000) ||
          (a.state == PKC_RTC_CONNECTED && b.state == PKC_RTC_CONNECTED));
    free(offer);
    free(answer);
    free(nofp);
    pkc_rtc_peer_free(a.peer);
    pkc_rtc_peer_free(b.peer);
    pkc_loop_free(loop);
}

static int failed_both(void *arg)
{
    pair *p = arg;
    return p->a.state == PKC_RTC_FAILED && p->b.state == PKC_RTC_FAILED;
}

/* An answer whose fingerprint is not the answerer's certificate: DTLS
 * aborts on both sides, no channel ever opens. */
TEST(rtc_loopback, fingerprint_mismatch_fails)
{
    pair p;
    make_pair(&p, NULL, NULL);
    CHECK_HELPER();
    pkc_rtc_channel *ch;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "never", NULL, &ch));
    char *offer, *answer;
    CHECK_OK(pkc_rtc_peer_create_offer(p.a.peer, &offer));
    CHECK_OK(pkc_rtc_peer_set_remote(p.b.peer, PKC_RTC_OFFER, offer));
    CHECK_OK(pkc_rtc_peer_create_answer(p.b.peer, &answer));
    char *fp = strstr(answer, "a=fingerprint:sha-256 ") + 22;
    fp[0] = fp[0] == 'A' ? 'B' : 'A';
    CHECK_OK(pkc_rtc_peer_set_remote(p.a.peer, PKC_RTC_ANSWER, answer));
    CHECK(wait_until(p.loop, failed_both, &p, 10000));
    CHECK_EQ(p.a.n_opened, 0);
    CHECK(!p.a.saw[PKC_RTC_CONNECTED] && !p.b.saw[PKC_RTC_CONNECTED]);
    free(offer);
    free(answer);
    free_pair(&p);
}

/* ---- hostile datagrams on the wire ------------------------------------------------ */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtc/sdp.h"
#include "rtc/stun.h"

static void raw_send(int fd, uint16_t port, const void *p, size_t n)
{
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(0x7f000001);
    (void)sendto(fd, p, n, 0, (struct sockaddr *)&to, sizeof to);
}

static int got_n(void *arg)
{
    count_cond *c = arg;
    return *c->n >= c->want;
}

/* Garbage, truncated and forged STUN and DTLS sent to a connected peer's
 * port, including from an address that proved it knows the peer's ICE
 * password: the peer answers only what it must and keeps working. */
TEST(rtc_loopback, hostile_datagrams)
{
    pkc_rtc_config ca;
    config(&ca);
    ca.socket_config.ipv6 = 0;
    ca.socket_config.loopback = 1;
    pair p;
    connect_pair(&p, &ca, &ca);
    CHECK_HELPER();
    p.b.echo = 1;
    pkc_rtc_channel *ch;
    CHECK_OK(pkc_rtc_channel_new(p.a.peer, "still", NULL, &ch));
    CHECK(wait_count(p.loop, &p.a.n_opened, 1, 10000));
    /* b's port and credentials, from its description. */
    char *desc;
    CHECK_OK(pkc_rtc_peer_get_local_description(p.b.peer, &desc));
    pkc_sdp *d = malloc(sizeof *d);
    CHECK_OK(pkc_sdp_parse(desc, strlen(desc), d));
    uint16_t port = 0;
    for (size_t i = 0; i < d->n_cands; i++)
        if (pkc_addr_is_loopback(&d->cands[i].addr))
            port = d->cands[i].addr.port;
    CHECK(port != 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in me;
    memset(&me, 0, sizeof me);
    me.sin_family = AF_INET;
    me.sin_addr.s_addr = htonl(0x7f000001);
    CHECK_EQ(bind(fd, (struct sockaddr *)&me, sizeof me), 0);

    pkc_seeded_rng r;
    pkc_seeded_rng_init(&r, 99);
    uint8_t buf[1500];
    /* 1. Random datagrams of every first byte and many sizes. */
    for (int i = 0; i < 600; i++) {
        size_t n = 1 + pkc_rng_below(&r.rng, sizeof buf);
        pkc_rng_fill(&r.rng, buf, n);
        buf[0] = (uint8_t)i;
        raw_send(fd, port, buf, n);
    }
    /* 2. A check with b's ufrag but the wrong password, and truncated STUN. */
    char user[300];
    int un = snprintf(user, sizeof user, "%s:evil", d->ice_ufrag);
    uint8_t txid[12] = {1, 2, 3};
    pkc_buf m = PKC_BUF_INIT;
    pkc_stun_begin(&m, PKC_STUN_METHOD_BINDING | PKC_STUN_REQUEST, txid);
    pkc_stun_add(&m, PKC_STUN_ATTR_USERNAME, user, (size_t)un);
    pkc_stun_add_u32(&m, PKC_STUN_ATTR_PRIORITY, 1);
    pkc_stun_add_u64(&m, PKC_STUN_ATTR_ICE_CONTROLLED, 1);
    CHECK_OK(pkc_stun_finish(&m, "not-the-password-at-all", 23, 1));
    raw_send(fd, port, m.data, m.len);
    for (size_t k = 1; k < m.len; k += 7)
        raw_send(fd, port, m.data, k);
    pkc_buf_free(&m);
    /* 3. A correctly signed check: b answers it (and now takes DTLS from
     * this address), then forged DTLS records from here. */
    pkc_buf_init(&m);
    pkc_stun_begin(&m, PKC_STUN_METHOD_BINDING | PKC_STUN_REQUEST, txid);
    pkc_stun_add(&m, PKC_STUN_ATTR_USERNAME, user, (size_t)un);
    pkc_stun_add_u32(&m, PKC_STUN_ATTR_PRIORITY, 1);
    pkc_stun_add_u64(&m, PKC_STUN_ATTR_ICE_CONTROLLED, 1);
    CHECK_OK(pkc_stun_finish(&m, d->ice_pwd, strlen(d->ice_pwd), 1));
    raw_send(fd, port, m.data, m.len);
    pkc_buf_free(&m);
    for (int i = 0; i < 200; i++) {
        size_t n = 13 + pkc_rng_below(&r.rng, 1200);
        pkc_rng_fill(&r.rng, buf, n);
        buf[0] = (uint8_t)(20 + i % 4); /* DTLS content types */
        buf[1] = 0xfe;
        buf[2] = 0xfd;
        raw_send(fd, port, buf, n);
    }
    /* The connection still works both ways, and nothing failed. */
    for (int i = 0; i < 20; i++)
        CHECK_OK(pkc_rtc_channel_send(ch, "ping", 4, 0));
    count_cond c = {&p.a.n_msgs, 20};
    CHECK(wait_until(p.loop, got_n, &c, 10000));
    CHECK_EQ(p.a.state, PKC_RTC_CONNECTED);
    CHECK_EQ(p.b.state, PKC_RTC_CONNECTED);
    /* b did answer the signed check: the raw socket has a response. */
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int responses = 0;
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        pkc_stun_msg sm;
        if (pkc_stun_decode(buf, (size_t)n, &sm) == 0 &&
            sm.type == (PKC_STUN_METHOD_BINDING | PKC_STUN_SUCCESS))
            responses++;
    }
    CHECK_EQ(responses, 1); /* only to the signed check */
    close(fd);
    free(desc);
    free(d);
    free_pair(&p);
}
