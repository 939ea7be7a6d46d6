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

static void on_state(pkc_rtc_peer *p, pkc_rtc_state st, void *ud)
{
    (void)p;
    side *s = ud;
    s->state = st;
    s->saw[st] = 1;
    stop(s);
}

static void on_candidate(pkc_rtc_peer *p, const char *c, void *ud)
{
    (void)p;
    side *s = ud;
    if (c == NULL)
        s->cands_done = 1;
    else if (s->n_cands < 16)
        s->cands[s->n_cands++] = strdup(c);
    stop(s);
}

static void on_channel(pkc_rtc_peer *p, pkc_rtc_channel *ch, void *ud)
{
    (void)p;
    side *s = ud;
    if (s->n_remote < MAXCH)
        s->remote_ch[s->n_remote++] = ch;
    stop(s);
}

static void on_open(pkc_rtc_channel *ch, void *ud)
{
    side *s = ud;
    if (s->n_opened < MAXCH)
        s->opened[s->n_opened++] = ch;
    stop(s);
}

static void on_message(pkc_rtc_channel *ch, const uint8_t *d, size_t n, int binary, void *ud)
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

static void on_low(pkc_rtc_channel *ch, void *ud)
{
    (void)ch;
    side *s = ud;
    s->low++;
    stop(s);
}

static void on_close(pkc_rtc_channel *ch, void *ud)
{
    side *s = ud;
    if (s->n_closed < MAXCH * 2)
        s->closed[s->n_closed++] = pkc_rtc_channel_id(ch);
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

static void on_incoming(pkc_rtc_peer *p, void *ud)
{
    side *s = ud;
    if (s->incoming < 8)
        s->incoming_peers[s->incoming] = p;
    s->incoming++;
    stop(s);
}

static pkc_rtc_callbacks callbacks_for(side *s)
{
    pkc_rtc_callbacks cb = {on_state, on_candidate, on_channel, on_open, on_message,
                            on_low,   on_close,     on_incoming, s};
    return cb;
}

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

/* a offers, b answers; both on `loop`. */
static void connect_pair(pair *p, const pkc_rtc_config *ca, const pkc_rtc_config *cb_cfg)
{
    memset(p, 0, sizeof *p);
    if (pkc_loop_new(&p->loop) != 0)
        abort();
    p->a.loop = p->b.loop = p->loop;
    pkc_rtc_config def;
    config(&def);
    pkc_rtc_callbacks cba = callbacks_for(&p->a), cbb = callbacks_for(&p->b);
    CHECK_OK(pkc_rtc_peer_new(p->loop, ca ? ca : &def, &cba, &p->a.peer));
    CHECK_OK(pkc_rtc_peer_new(p->loop, cb_cfg ? cb_cfg : &def, &cbb, &p->b.peer));
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
    pkc_rtc_peer_stats(p.a.peer, &st);
    CHECK(st.ice_controlling && !st.dtls_client); /* offerer: controlling, DTLS server */
    CHECK(st.local_address[0] && st.remote_address[0]);
    CHECK(pkc_rtc_peer_remote_fingerprint(p.a.peer) != NULL);
    CHECK_STR(pkc_rtc_peer_remote_fingerprint(p.a.peer), pkc_rtc_cert_fingerprint(shared_cert()));
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
        CHECK_EQ(pkc_rtc_channel_id(p.a.opened[i]) % 2, 1);
        CHECK_EQ(pkc_rtc_channel_id(p.b.opened[i]) % 2, 0);
    }
    /* A message on each of a's channels arrives on the matching channel. */
    for (size_t i = 0; i < 40; i++) {
        char m[64];
        int n = snprintf(m, sizeof m, "to %s", pkc_rtc_channel_label(p.a.opened[i]));
        CHECK_OK(pkc_rtc_channel_send(p.a.opened[i], m, (size_t)n, 0));
    }
    CHECK(wait_count(p.loop, &p.b.n_msgs, 40, 10000));
    for (size_t i = 0; i < 40; i++) {
        msg_rec *m = &p.b.msgs[i];
        char want[64];
        snprintf(want, sizeof want, "to %s", pkc_rtc_channel_label(m->ch));
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
        pkc_rtc_channel_options_get(p.b.remote_ch[i], &got);
        const char *l = pkc_rtc_channel_label(p.b.remote_ch[i]);
        if (strcmp(l, "unordered") == 0) {
            CHECK(!got.ordered && got.max_retransmits == -1 && got.max_lifetime_ms == -1);
        } else if (strcmp(l, "rtx0") == 0) {
            CHECK(!got.ordered && got.max_retransmits == 0);
            CHECK_STR(pkc_rtc_channel_protocol(p.b.remote_ch[i]), "chat");
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
    int id1 = pkc_rtc_channel_id(c1);
    /* Closing a channel: messages already queued are delivered first, then
     * both sides see the close; the other channel keeps working. */
    CHECK_OK(pkc_rtc_channel_send(c1, "last words", 10, 0));
    pkc_rtc_channel_close(c1);
    CHECK_EQ(pkc_rtc_channel_state_get(c1), PKC_RTC_CHANNEL_CLOSING);
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
    CHECK_EQ(pkc_rtc_channel_id(c3), id1);
    /* Closing the connection: the other side sees CLOSED, channels close. */
    size_t closed_before = p.b.n_closed;
    pkc_rtc_peer_close(p.a.peer);
    CHECK(wait_until(p.loop, state_is, &p.b, 10000));
    CHECK_EQ(p.b.state, PKC_RTC_CLOSED);
    CHECK(p.b.n_closed >= closed_before + 2);
    CHECK_EQ(pkc_rtc_peer_state(p.a.peer), PKC_RTC_CLOSED);
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
            CHECK(pkc_rtc_channel_buffered_amount(ch) + sizeof chunk > ca.max_buffered_amount);
            int low = p.a.low;
            CHECK(wait_count(p.loop, (size_t *)&p.a.low, (size_t)low + 1, 20000) || p.a.low > low);
            CHECK(pkc_rtc_channel_buffered_amount(ch) <= 256 * 1024);
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
    pkc_rtc_callbacks cb = callbacks_for(s);
    if (pkc_loop_new(&s->loop) || pkc_rtc_peer_new(s->loop, &f->cfg, &cb, &s->peer) ||
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
    pkc_rtc_callbacks cb = callbacks_for(&a);
    CHECK_OK(pkc_rtc_peer_new(a.loop, &cfg, &cb, &a.peer));
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
