/*
 * Two pkc_conn state machines wired to each other in memory and run on a
 * fake clock, in the manner of quicly's t/test.c: what one side sends goes
 * into a queue, a filter may drop, hold back (reorder) or duplicate chosen
 * datagrams, and the pair runs until a condition holds, moving the clock
 * to the next deadline (and usrsctp's, in 10 ms ticks as the runtime does)
 * whenever nothing is in flight. OpenSSL's DTLS timer and usrsctp read the
 * time themselves; the runner's gettimeofday() makes them follow the same
 * fake clock (fake_time.h), so nothing here waits in real time.
 *
 * Every dispatch is followed by a check that the application's view (the
 * states and channel events it received) matches pkc_conn_state() and the
 * channels' states, and every delivered message is checked against what
 * the other side's application sent. The last tests fail pkc's allocations
 * one by one (fail_alloc.h) and check that the views never diverge.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fail_alloc.h"
#include "fake_time.h"
#include "rtc/cert.h"
#include "rtc/conn.h"
#include "rtc/dtls.h"
#include "rtc/sctp.h"
#include "test.h"
#include "util/rng.h"

#define MS 1000u
#define SEC 1000000u
#define SCTP_TICK_US (10 * MS) /* as the runtime (loop.c) */
#define DGRAM_MAX 1500
#define QUEUE_MAX 4096
#define APP_CHANNELS 16
#define SEQ_MAX 512
#define BIG 262144 /* the largest message (both sides' max-message-size) */

/* ---- what the application sees ------------------------------------------------ */

typedef struct app_channel {
    pkc_rtc_channel *ch; /* NULL once its CLOSE was dispatched */
    int id;
    int ours;         /* this side created it */
    int open;         /* OPEN or CHANNEL dispatched */
    int closed;       /* CLOSE dispatched */
    int close_called; /* this side called pkc_rtc_channel_close */
    int ordered;
    char label[32];
    /* Sent (accepted by pkc_rtc_channel_send). */
    uint32_t sent, sent_empty;
    /* Received. */
    uint32_t recv, recv_empty, next_seq;
    uint8_t seen[SEQ_MAX / 8];
} app_channel;

struct pair;

typedef struct side {
    struct pair *p;
    int idx;
    pkc_conn *c;
    pkc_addr host;
    pkc_seeded_rng rng;
    pkc_rtc_state state; /* the last state dispatched */
    pkc_rtc_state states[32];
    uint64_t state_at[32];
    size_t n_states;
    char cands[8][PKC_CAND_LINE_MAX];
    size_t n_cands, cands_forwarded;
    int cands_done, cands_done_forwarded;
    app_channel ch[APP_CHANNELS];
    size_t n_ch;
} side;

typedef enum verdict { PASS, DROP, DUP, HOLD } verdict;
/* Decides the fate of one datagram sent by side `from`. */
typedef verdict (*filter_fn)(struct pair *p, int from, const uint8_t *d, size_t n);

typedef struct dgram {
    int to;
    pkc_addr src, dst;
    size_t len;
    uint8_t data[DGRAM_MAX];
} dgram;

typedef struct pair {
    side s[2];
    uint64_t now;
    filter_fn filter;
    int counter[8]; /* for filters */
    dgram *held[2]; /* held back until the side's next datagram */
    size_t dropped, duplicated, held_count;
} pair;

static dgram queue[QUEUE_MAX];
static size_t q_head, q_len;
static dgram held_store[2];
static pair the_pair;
static uint8_t msgbuf[BIG + 64];

static pkc_rtc_cert *certs[2];

/* ---- datagram kinds, for filters ------------------------------------------------- */

enum {
    K_OTHER,
    K_STUN_REQUEST,
    K_STUN_INDICATION,
    K_STUN_SUCCESS,
    K_STUN_ERROR,
    K_DTLS_HANDSHAKE,
    K_DTLS_CCS,
    K_DTLS_ALERT,
    K_DTLS_APP,
};

static int kind_of(const uint8_t *d, size_t n)
{
    if (n >= 20 && d[0] < 4) {
        unsigned cls = (unsigned)(d[0] << 8 | d[1]) & 0x0110;
        return cls == 0x0000 ? K_STUN_REQUEST
               : cls == 0x0010 ? K_STUN_INDICATION
               : cls == 0x0100 ? K_STUN_SUCCESS
                               : K_STUN_ERROR;
    }
    if (n >= 13 && d[0] >= 20 && d[0] <= 63) {
        switch (d[0]) {
        case 20: return K_DTLS_CCS;
        case 21: return K_DTLS_ALERT;
        case 22: return K_DTLS_HANDSHAKE;
        case 23: return K_DTLS_APP;
        }
    }
    return K_OTHER;
}

/* Whether the datagram holds an unencrypted (epoch 0) handshake message of
 * type `t` (1 ClientHello, 2 ServerHello, 11 Certificate, ...). */
static int has_handshake(const uint8_t *d, size_t n, int t)
{
    size_t off = 0;
    while (off + 13 <= n) {
        size_t rl = (size_t)d[off + 11] << 8 | d[off + 12];
        int epoch = d[off + 3] << 8 | d[off + 4];
        if (d[off] == 22 && epoch == 0 && rl >= 1 && off + 13 < n && d[off + 13] == t)
            return 1;
        off += 13 + rl;
    }
    return 0;
}

/* ---- the pair ------------------------------------------------------------------ */

static void enqueue(pair *p, int to, const pkc_addr *src, const pkc_addr *dst, const uint8_t *d,
                    size_t n)
{
    if (q_len == QUEUE_MAX || n > DGRAM_MAX) {
        pkc_test_fail(__FILE__, __LINE__, "datagram queue overflow (%zu queued, %zu bytes)", q_len, n);
        return;
    }
    dgram *g = &queue[(q_head + q_len++) % QUEUE_MAX];
    g->to = to;
    g->src = *src;
    g->dst = *dst;
    g->len = n;
    memcpy(g->data, d, n);
}

static void io_send(void *u, const pkc_addr *local, const pkc_addr *remote, const uint8_t *d, size_t n)
{
    side *s = u;
    pair *p = s->p;
    int to = 1 - s->idx;
    /* The other side's host is the only address there is. */
    if (!pkc_addr_equal(remote, &p->s[to].host))
        return;
    const pkc_addr *src = local->family ? local : &s->host;
    verdict v = p->filter ? p->filter(p, s->idx, d, n) : PASS;
    if (v == DROP) {
        p->dropped++;
        return;
    }
    /* One datagram per direction is held at a time (a second HOLD passes). */
    if (v == HOLD && p->held[s->idx] == NULL && n <= DGRAM_MAX) {
        dgram *g = &held_store[s->idx];
        g->to = to;
        g->src = *src;
        g->dst = *remote;
        g->len = n;
        memcpy(g->data, d, n);
        p->held[s->idx] = g;
        p->held_count++;
        return;
    }
    enqueue(p, to, src, remote, d, n);
    if (v == DUP) {
        p->duplicated++;
        enqueue(p, to, src, remote, d, n);
    }
    dgram *h = p->held[s->idx];
    if (h) { /* the held one goes after this one: reordered */
        p->held[s->idx] = NULL;
        enqueue(p, h->to, &h->src, &h->dst, h->data, h->len);
    }
}

static void io_wake(void *u)
{
    (void)u;
}

static app_channel *app_find(side *s, const pkc_rtc_channel *ch)
{
    for (size_t i = s->n_ch; i-- > 0;)
        if (s->ch[i].ch == ch)
            return &s->ch[i];
    return NULL;
}

/* The latest channel with stream id `id` (ids are reused after a close). */
static app_channel *app_find_id(side *s, int id)
{
    for (size_t i = s->n_ch; i-- > 0;)
        if (s->ch[i].id == id)
            return &s->ch[i];
    return NULL;
}

static app_channel *app_add(side *s, pkc_rtc_channel *ch, int ours)
{
    if (s->n_ch == APP_CHANNELS) {
        pkc_test_fail(__FILE__, __LINE__, "too many channels");
        return NULL;
    }
    app_channel *a = &s->ch[s->n_ch++];
    memset(a, 0, sizeof *a);
    a->ch = ch;
    a->id = pkc_rtc_channel_get_id(ch);
    a->ours = ours;
    pkc_rtc_channel_options o;
    pkc_rtc_channel_get_options(ch, &o);
    a->ordered = o.ordered;
    snprintf(a->label, sizeof a->label, "%s", pkc_rtc_channel_get_label(ch));
    return a;
}

/* Message bytes: "IIIISSSSSSSSLLLLLLLLk" (channel id, sequence number,
 * length, 'b'inary or 't'ext), then a pattern that depends on all of them. */
#define HDR 21
static size_t make_message(uint8_t *out, int id, uint32_t seq, size_t len, int binary)
{
    char h[HDR + 1];
    snprintf(h, sizeof h, "%04x%08x%08x%c", (unsigned)id & 0xffff, seq, (unsigned)len,
             binary ? 'b' : 't');
    memcpy(out, h, HDR);
    for (size_t i = HDR; i < len; i++)
        out[i] = (uint8_t)('a' + (seq * 7 + i + (unsigned)id) % 26);
    return len;
}

static void on_message(side *s, app_channel *a, const pkc_conn_event *ev)
{
    app_channel *from = app_find_id(&s->p->s[1 - s->idx], a->id);
    if (from == NULL) {
        pkc_test_fail(__FILE__, __LINE__, "side %d: message on channel %d, which the peer does not know",
                      s->idx, a->id);
        return;
    }
    if (ev->len == 0) {
        a->recv_empty++;
        if (a->recv_empty > from->sent_empty)
            pkc_test_fail(__FILE__, __LINE__, "side %d: more empty messages on channel %d than sent",
                          s->idx, a->id);
        return;
    }
    char h[HDR + 1];
    unsigned id, seq, len;
    char kind;
    if (ev->len < HDR) {
        pkc_test_fail(__FILE__, __LINE__, "side %d: a message of %zu bytes was never sent", s->idx, ev->len);
        return;
    }
    memcpy(h, ev->data, HDR);
    h[HDR] = '\0';
    if (sscanf(h, "%4x%8x%8x%c", &id, &seq, &len, &kind) != 4 || (int)id != a->id ||
        len != ev->len || kind != (ev->binary ? 'b' : 't')) {
        pkc_test_fail(__FILE__, __LINE__, "side %d channel %d: bad message header %.21s (%zu bytes, %s)",
                      s->idx, a->id, h, ev->len, ev->binary ? "binary" : "text");
        return;
    }
    static uint8_t expect[BIG + 64];
    make_message(expect, (int)id, seq, len, kind == 'b');
    if (memcmp(expect, ev->data, len) != 0) {
        pkc_test_fail(__FILE__, __LINE__, "side %d channel %d: message %u corrupted", s->idx, a->id, seq);
        return;
    }
    if (seq >= from->sent) {
        pkc_test_fail(__FILE__, __LINE__, "side %d channel %d: message %u delivered, %u sent", s->idx,
                      a->id, seq, from->sent);
        return;
    }
    if (seq >= SEQ_MAX || (a->seen[seq / 8] & (1u << (seq % 8)))) {
        pkc_test_fail(__FILE__, __LINE__, "side %d channel %d: message %u delivered twice", s->idx, a->id, seq);
        return;
    }
    a->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    if (a->ordered && seq != a->next_seq) {
        pkc_test_fail(__FILE__, __LINE__, "side %d channel %d (ordered): message %u before %u", s->idx,
                      a->id, seq, a->next_seq);
        return;
    }
    a->next_seq = seq + 1;
    a->recv++;
}

static int on_event(void *arg, pkc_conn *c, const pkc_conn_event *ev)
{
    (void)c;
    side *s = arg;
    app_channel *a;
    switch (ev->kind) {
    case PKC_CONN_EV_STATE:
        s->state = ev->state;
        if (s->n_states < 32) {
            s->state_at[s->n_states] = s->p->now;
            s->states[s->n_states++] = ev->state;
        }
        break;
    case PKC_CONN_EV_CANDIDATE:
        if (ev->text == NULL)
            s->cands_done = 1;
        else if (s->n_cands < 8)
            snprintf(s->cands[s->n_cands++], PKC_CAND_LINE_MAX, "%s", ev->text);
        break;
    case PKC_CONN_EV_CHANNEL:
        if (app_find(s, ev->ch) != NULL) {
            pkc_test_fail(__FILE__, __LINE__, "side %d: CHANNEL for a known channel", s->idx);
            break;
        }
        a = app_add(s, ev->ch, 0);
        if (a)
            a->open = 1;
        break;
    case PKC_CONN_EV_OPEN:
        a = app_find(s, ev->ch);
        if (a == NULL || a->open || !a->ours) {
            pkc_test_fail(__FILE__, __LINE__, "side %d: OPEN for an unknown or open channel", s->idx);
        } else {
            a->open = 1;
            a->id = pkc_rtc_channel_get_id(ev->ch); /* assigned when SCTP came up */
        }
        break;
    case PKC_CONN_EV_MESSAGE:
        a = app_find(s, ev->ch);
        if (a == NULL || !a->open)
            pkc_test_fail(__FILE__, __LINE__, "side %d: message on a channel never opened", s->idx);
        else
            on_message(s, a, ev);
        break;
    case PKC_CONN_EV_LOW:
        break;
    case PKC_CONN_EV_CLOSE:
        a = app_find(s, ev->ch);
        if (a == NULL) {
            pkc_test_fail(__FILE__, __LINE__, "side %d: CLOSE for an unknown channel", s->idx);
            break;
        }
        a->closed = 1;
        a->ch = NULL; /* freed when this returns */
        break;
    }
    return 0;
}

/* The application's view against the state machine's, after a dispatch
 * (so with nothing queued). */
static void check_view(side *s)
{
    pkc_rtc_state st = pkc_conn_state(s->c);
    if (s->state != st) {
        pkc_test_fail(__FILE__, __LINE__, "side %d: the application was told %s, the connection is %s",
                      s->idx, pkc_rtc_state_name(s->state), pkc_rtc_state_name(st));
        return;
    }
    int terminal = st == PKC_RTC_FAILED || st == PKC_RTC_CLOSED;
    for (size_t i = 0; i < s->n_ch; i++) {
        app_channel *a = &s->ch[i];
        if (a->ch == NULL)
            continue;
        pkc_rtc_channel_state cs = pkc_rtc_channel_get_state(a->ch);
        const char *bad = NULL;
        if (cs == PKC_RTC_CHANNEL_CLOSED)
            bad = "closed without a CLOSE event";
        else if (cs == PKC_RTC_CHANNEL_OPEN && !a->open)
            bad = "open without an OPEN/CHANNEL event";
        else if (cs == PKC_RTC_CHANNEL_CONNECTING && a->open)
            bad = "connecting after its OPEN event";
        else if (terminal)
            bad = "alive in a connection that ended";
        if (bad) {
            pkc_test_fail(__FILE__, __LINE__, "side %d: channel %d '%s' %s (state %d)", s->idx, a->id,
                          a->label, bad, (int)cs);
            return;
        }
    }
}

static void dispatch(pair *p)
{
    for (int i = 0; i < 2; i++) {
        side *s = &p->s[i];
        pkc_conn_dispatch(s->c, on_event, s);
        check_view(s);
    }
    /* The applications forward trickled candidates. */
    for (int i = 0; i < 2; i++) {
        side *s = &p->s[i], *o = &p->s[1 - i];
        while (s->cands_forwarded < s->n_cands)
            (void)pkc_conn_add_candidate(o->c, s->cands[s->cands_forwarded++], p->now);
        if (s->cands_done && !s->cands_done_forwarded) {
            s->cands_done_forwarded = 1;
            (void)pkc_conn_add_candidate(o->c, NULL, p->now);
        }
    }
}

/* Delivers what is queued, in order, until nothing is. */
static void deliver_all(pair *p)
{
    for (;;) {
        if (q_len == 0) {
            /* A datagram held back with nothing after it goes now. */
            int any = 0;
            for (int i = 0; i < 2; i++)
                if (p->held[i]) {
                    dgram *h = p->held[i];
                    p->held[i] = NULL;
                    enqueue(p, h->to, &h->src, &h->dst, h->data, h->len);
                    any = 1;
                }
            if (!any)
                return;
        }
        static dgram g; /* the queue may grow while this one is handled */
        g = queue[q_head];
        q_head = (q_head + 1) % QUEUE_MAX;
        q_len--;
        pkc_conn_input(p->s[g.to].c, &g.dst, &g.src, g.data, g.len, p->now);
        dispatch(p);
        if (pkc_test_has_failed())
            return;
    }
}

/* Moves the clock to the next deadline of either side, or usrsctp's next
 * tick, if that is not after `end`; runs what is due. 0 if nothing is due
 * by `end` (the clock is then at `end`). */
static int advance(pair *p, uint64_t end)
{
    uint64_t next = UINT64_MAX;
    int sctp = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t d = pkc_conn_deadline(p->s[i].c);
        if (d < next)
            next = d;
        sctp |= pkc_conn_has_sctp(p->s[i].c);
    }
    if (sctp && p->now + SCTP_TICK_US < next)
        next = p->now + SCTP_TICK_US;
    int due = next <= end;
    if (!due)
        next = end;
    if (next > p->now)
        p->now = next;
    fake_time_set(p->now);
    pkc_sctp_tick(p->now);
    for (int i = 0; i < 2; i++)
        if (pkc_conn_has_sctp(p->s[i].c))
            pkc_conn_poll_sctp(p->s[i].c);
    for (int i = 0; i < 2; i++)
        if (pkc_conn_deadline(p->s[i].c) <= p->now)
            pkc_conn_timeout(p->s[i].c, p->now);
    dispatch(p);
    return due;
}

typedef int (*cond_fn)(pair *p);

/* Runs until cond(p) (NULL: never) or `limit_us` of fake time passed.
 * Returns whether cond held. */
static int run_until(pair *p, cond_fn cond, uint64_t limit_us)
{
    uint64_t end = p->now + limit_us;
    for (long steps = 0; steps < 10000000; steps++) {
        deliver_all(p);
        if (pkc_test_has_failed())
            return 0;
        if (cond && cond(p))
            return 1;
        if (p->now >= end || !advance(p, end)) {
            deliver_all(p);
            return cond && cond(p);
        }
    }
    pkc_test_fail(__FILE__, __LINE__, "the pair does not settle (a deadline in the past?)");
    return 0;
}

static void run_for(pair *p, uint64_t us)
{
    run_until(p, NULL, us);
}

static int make_certs(void)
{
    if (certs[0])
        return 0;
    pkc_seeded_rng r;
    pkc_seeded_rng_init(&r, 1);
    int rc = pkc_cert_generate(&r.rng, 1700000000000, &certs[0]);
    return rc ? rc : pkc_cert_generate(&r.rng, 1700000000000, &certs[1]);
}

/* Two connections with host candidates 198.51.100.1:50001 (A, which
 * offers) and 198.51.100.2:50002 (B); `seed` drives their rngs. */
/* Streams each side offers (pkc_conn_config.max_channels; 0: the default). */
static uint16_t pair_max_channels;

static pair *pair_new(uint64_t seed)
{
    pair *p = &the_pair;
    memset(p, 0, sizeof *p);
    q_head = q_len = 0;
    p->now = fake_time_start();
    if (make_certs() != 0) {
        pkc_test_fail(__FILE__, __LINE__, "certificates: %s", pkc_errmsg());
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        side *s = &p->s[i];
        s->p = p;
        s->idx = i;
        s->state = PKC_RTC_NEW;
        char ip[32];
        snprintf(ip, sizeof ip, "198.51.100.%d", i + 1);
        pkc_addr_parse_ip(ip, strlen(ip), (uint16_t)(50001 + i), &s->host);
        pkc_seeded_rng_init(&s->rng, seed * 2 + (uint64_t)i);
        pkc_conn_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.cert = certs[i];
        cfg.max_message_size = BIG;
        cfg.max_buffered_amount = 4 * 1024 * 1024;
        cfg.max_channels = pair_max_channels;
        pkc_ice_config_default(&cfg.ice);
        pkc_conn_io io = {io_send, io_wake, NULL, s};
        if (pkc_conn_new(&cfg, &io, &s->rng.rng, &s->c) != 0 || pkc_conn_add_host(s->c, &s->host) != 0) {
            pkc_test_fail(__FILE__, __LINE__, "pkc_conn_new: %s", pkc_errmsg());
            return NULL;
        }
    }
    return p;
}

static void pair_free(pair *p)
{
    for (int i = 0; i < 2; i++) {
        pkc_conn_free(p->s[i].c); /* its ABORT goes into the queue */
        p->s[i].c = NULL;
    }
    q_head = q_len = 0;
    p->held[0] = p->held[1] = NULL;
    fake_time_stop();
}

/* A offers, B answers. 0 or the first error. */
static int offer_answer(pair *p)
{
    char *offer = NULL, *answer = NULL;
    int rc = pkc_conn_create_offer(p->s[0].c, p->now, &offer);
    if (rc == 0)
        rc = pkc_conn_set_remote(p->s[1].c, PKC_RTC_OFFER, offer, strlen(offer), p->now);
    if (rc == 0)
        rc = pkc_conn_create_answer(p->s[1].c, p->now, &answer);
    if (rc == 0)
        rc = pkc_conn_set_remote(p->s[0].c, PKC_RTC_ANSWER, answer, strlen(answer), p->now);
    free(offer);
    free(answer);
    dispatch(p);
    return rc;
}

static int both_connected(pair *p)
{
    return p->s[0].state == PKC_RTC_CONNECTED && p->s[1].state == PKC_RTC_CONNECTED;
}

static int is_terminal(pkc_rtc_state s)
{
    return s == PKC_RTC_FAILED || s == PKC_RTC_CLOSED;
}

static int both_ended(pair *p)
{
    return is_terminal(p->s[0].state) && is_terminal(p->s[1].state);
}

/* A new connected pair (CHECKs on failure leave it NULL). */
static pair *pair_connect(uint64_t seed)
{
    pair *p = pair_new(seed);
    if (p == NULL)
        return NULL;
    if (offer_answer(p) != 0) {
        pkc_test_fail(__FILE__, __LINE__, "offer/answer: %s", pkc_errmsg());
        return NULL;
    }
    if (!run_until(p, both_connected, 5 * SEC)) {
        pkc_test_fail(__FILE__, __LINE__, "not connected: %s / %s", pkc_rtc_state_name(p->s[0].state),
                      pkc_rtc_state_name(p->s[1].state));
        return NULL;
    }
    return p;
}

static app_channel *open_channel(side *s, const char *label, int ordered)
{
    pkc_rtc_channel_options o;
    pkc_rtc_channel_options_default(&o);
    o.ordered = ordered;
    pkc_rtc_channel *ch;
    if (pkc_conn_channel_new(s->c, label, &o, &ch) != 0)
        return NULL;
    app_channel *a = app_add(s, ch, 1);
    dispatch(s->p);
    return a;
}

/* The peer's entry for our channel `a` (NULL until its CHANNEL event). */
static app_channel *peer_of(side *s, const app_channel *a)
{
    return app_find_id(&s->p->s[1 - s->idx], a->id);
}

/* Sends message number a->sent (len bytes); 0 or the error. */
static int send_msg(side *s, app_channel *a, size_t len, int binary)
{
    if (a->ch == NULL)
        return PKC_ERR_CLOSED;
    int rc;
    if (len == 0) {
        rc = pkc_rtc_channel_send(a->ch, "", 0, binary);
        if (rc == 0)
            a->sent_empty++;
    } else {
        make_message(msgbuf, a->id, a->sent, len, binary);
        rc = pkc_rtc_channel_send(a->ch, msgbuf, len, binary);
        if (rc == 0)
            a->sent++;
    }
    return rc;
}

/* Everything sent on `a` (ours, from side s) has arrived. */
static int all_arrived(side *s, const app_channel *a)
{
    const app_channel *b = peer_of(s, a);
    return b && b->recv == a->sent && b->recv_empty == a->sent_empty;
}

static int all_channels_arrived(pair *p)
{
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < p->s[i].n_ch; k++)
            if (!all_arrived(&p->s[i], &p->s[i].ch[k]))
                return 0;
    return 1;
}

/* Each side's channels open, and the peer knows them. */
static int all_channels_open(pair *p)
{
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < p->s[i].n_ch; k++) {
            const app_channel *a = &p->s[i].ch[k], *b = peer_of(&p->s[i], a);
            if (!a->open || a->closed || b == NULL || !b->open)
                return 0;
        }
    return 1;
}

/* No channel is still opening, and every channel open at one side is open
 * at the other (a refused one is closed where it was opened). */
static int channels_agree(pair *p)
{
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < p->s[i].n_ch; k++) {
            const app_channel *a = &p->s[i].ch[k], *o = peer_of(&p->s[i], a);
            if (!a->open && !a->closed)
                return 0;
            if (a->open && !a->closed &&
                (o == NULL || !o->open || o->closed || strcmp(o->label, a->label) != 0))
                return 0;
        }
    return 1;
}

static uint64_t state_time(const side *s, pkc_rtc_state st)
{
    for (size_t i = 0; i < s->n_states; i++)
        if (s->states[i] == st)
            return s->state_at[i];
    return UINT64_MAX;
}

/* ---- the fake clock reaches OpenSSL ------------------------------------------------- */

static size_t dtls_sent;
static void dtls_count_send(void *u, const uint8_t *d, size_t n)
{
    (void)u;
    (void)d;
    (void)n;
    dtls_sent++;
}
static void dtls_no_recv(void *u, const uint8_t *d, size_t n)
{
    (void)u;
    (void)d;
    (void)n;
}

/* OpenSSL's DTLS timer runs on gettimeofday(); with the runner's, it runs
 * on the fake clock: the first retransmission is at exactly 100 ms (pkc's
 * timer callback), the next 200 ms later, without any real wait. */
TEST(rtc_pair, dtls_timer_on_the_fake_clock)
{
    CHECK_OK(make_certs());
    uint64_t t0 = fake_time_start() + SEC;
    fake_time_set(t0);
    pkc_dtls_callbacks cb = {dtls_count_send, dtls_no_recv, NULL, NULL};
    pkc_dtls *d;
    CHECK_OK(pkc_dtls_new(certs[0], &cb, &d));
    dtls_sent = 0;
    CHECK_OK(pkc_dtls_start(d, 1, t0));
    CHECK_EQ(dtls_sent, 1);
    CHECK_EQ_U64(pkc_dtls_deadline(d), t0 + 100 * MS);
    fake_time_set(t0 + 100 * MS - 1);
    pkc_dtls_timeout(d, t0 + 100 * MS - 1);
    CHECK_EQ(dtls_sent, 1);
    fake_time_set(t0 + 100 * MS);
    pkc_dtls_timeout(d, t0 + 100 * MS);
    CHECK_EQ(dtls_sent, 2);
    CHECK_EQ_U64(pkc_dtls_deadline(d), t0 + 300 * MS);
    pkc_dtls_free(d);
    fake_time_stop();
}

/* ---- the cases ---------------------------------------------------------------------- */

TEST(rtc_pair, handshake)
{
    pair *p = pair_connect(1);
    CHECK_HELPER();
    for (int i = 0; i < 2; i++) {
        side *s = &p->s[i];
        CHECK_EQ(s->n_states, 2);
        CHECK_EQ(s->states[0], PKC_RTC_CONNECTING);
        CHECK_EQ(s->states[1], PKC_RTC_CONNECTED);
        CHECK_STR(pkc_conn_remote_fingerprint(s->c), certs[1 - i]->fingerprint_text);
        pkc_rtc_stats st;
        pkc_conn_stats(s->c, &st);
        char want_l[PKC_ADDR_STRLEN], want_r[PKC_ADDR_STRLEN];
        CHECK_STR(st.local_address, pkc_addr_string(&s->host, want_l, sizeof want_l));
        CHECK_STR(st.remote_address, pkc_addr_string(&p->s[1 - i].host, want_r, sizeof want_r));
        CHECK_EQ(st.dtls_client, i == 1); /* the answerer of an actpass offer */
        CHECK_EQ(st.ice_controlling, i == 0);
        /* Host candidates only: the end of candidates was trickled. */
        CHECK(s->cands_done);
    }
    /* No loss: no retransmission of any kind was needed (ICE paces its
     * checks 20 ms apart; DTLS would retransmit after 100 ms). */
    CHECK(state_time(&p->s[0], PKC_RTC_CONNECTED) - state_time(&p->s[0], PKC_RTC_CONNECTING) < 100 * MS);
    CHECK_EQ(p->dropped, 0);
    pair_free(p);
}

TEST(rtc_pair, channels_both_ways)
{
    pair *p = pair_connect(2);
    CHECK_HELPER();
    side *a = &p->s[0], *b = &p->s[1];
    pkc_rtc_channel_options o;
    pkc_rtc_channel_options_default(&o);
    o.protocol = "chat";
    pkc_rtc_channel *ch;
    CHECK_OK(pkc_conn_channel_new(a->c, "from-a", &o, &ch));
    CHECK(app_add(a, ch, 1));
    o.protocol = NULL;
    o.ordered = 0;
    o.max_retransmits = 3;
    CHECK_OK(pkc_conn_channel_new(b->c, "from-b", &o, &ch));
    CHECK(app_add(b, ch, 1));
    /* A negotiated channel: both create it, no DCEP. */
    pkc_rtc_channel_options_default(&o);
    o.negotiated = 1;
    o.id = 100;
    CHECK_OK(pkc_conn_channel_new(a->c, "neg", &o, &ch));
    CHECK(app_add(a, ch, 1));
    CHECK_OK(pkc_conn_channel_new(b->c, "neg", &o, &ch));
    CHECK(app_add(b, ch, 1));
    CHECK(run_until(p, all_channels_open, 1 * SEC));

    /* A's channel at B. */
    app_channel *x = peer_of(a, &a->ch[0]);
    CHECK(x && !x->ours);
    CHECK_STR(x->label, "from-a");
    CHECK_STR(pkc_rtc_channel_get_protocol(x->ch), "chat");
    CHECK_EQ(x->ordered, 1);
    CHECK_EQ(a->ch[0].id % 2, 1); /* A is the DTLS server: odd ids */
    /* B's channel at A, with its reliability. */
    x = peer_of(b, &b->ch[0]);
    CHECK(x && !x->ours);
    CHECK_STR(x->label, "from-b");
    CHECK_EQ(x->ordered, 0);
    pkc_rtc_channel_get_options(x->ch, &o);
    CHECK_EQ(o.max_retransmits, 3);
    CHECK_EQ(b->ch[0].id % 2, 0);
    /* The negotiated ones were never announced. */
    CHECK_EQ(a->n_ch, 3);
    CHECK_EQ(b->n_ch, 3);
    CHECK_STR(a->ch[1].label, "neg");
    CHECK_STR(b->ch[1].label, "neg");
    CHECK_EQ(a->ch[1].id, 100);
    CHECK_EQ(b->ch[1].id, 100);
    CHECK(a->ch[1].open && b->ch[1].open);
    pair_free(p);
}

static int open_pair_channels(pair *p)
{
    if (!open_channel(&p->s[0], "a-ordered", 1) || !open_channel(&p->s[0], "a-unordered", 0) ||
        !open_channel(&p->s[1], "b-ordered", 1) || !open_channel(&p->s[1], "b-unordered", 0))
        return 0;
    return run_until(p, all_channels_open, 1 * SEC);
}

/* Ordered and unordered, text and binary, empty, and messages of up to the
 * peer's max-message-size (SCTP fragments them into 1188-byte packets). */
static int send_mix(pair *p, int round)
{
    static const size_t sizes[] = {HDR, 100, 1187, 1188, 1189, 5000, 65536, 100000, BIG};
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < p->s[i].n_ch; k++) {
            side *s = &p->s[i];
            app_channel *a = &s->ch[k];
            if (!a->ours)
                continue;
            for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++)
                if (send_msg(s, a, sizes[(j + (size_t)round) % (sizeof sizes / sizeof sizes[0])],
                             (int)(j % 2)) != 0)
                    return 0;
            if (send_msg(s, a, 0, 0) || send_msg(s, a, 0, 1))
                return 0;
            for (int j = 0; j < 40; j++)
                if (send_msg(s, a, HDR + (size_t)j * 13, j % 3 == 0) != 0)
                    return 0;
        }
    return 1;
}

TEST(rtc_pair, messages_both_ways)
{
    pair *p = pair_connect(3);
    CHECK_HELPER();
    CHECK(open_pair_channels(p));
    uint64_t t0 = p->now;
    CHECK(send_mix(p, 0));
    CHECK(run_until(p, all_channels_arrived, 10 * SEC));
    uint64_t took = p->now - t0;
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < p->s[i].n_ch; k++) {
            app_channel *a = &p->s[i].ch[k];
            CHECK_EQ(a->ours ? a->sent : a->recv, 49);
            CHECK_EQ(a->ours ? a->sent_empty : a->recv_empty, 2);
            if (a->ours)
                CHECK_EQ(pkc_rtc_channel_get_buffered_amount(a->ch), 0);
        }
    /* Nothing was lost: no retransmission timer (RTO 120 ms at least). */
    CHECK(took < 120 * MS);
    CHECK_EQ(p->dropped, 0);
    pair_free(p);
}

/* ---- loss, reordering, duplication ------------------------------------------------- */

/* Drops the first 3 Binding requests each side sends, and the first 2
 * success responses from B. */
static verdict drop_first_checks(pair *p, int from, const uint8_t *d, size_t n)
{
    int k = kind_of(d, n);
    if (k == K_STUN_REQUEST && p->counter[from]++ < 3)
        return DROP;
    if (k == K_STUN_SUCCESS && from == 1 && p->counter[2]++ < 2)
        return DROP;
    return PASS;
}

TEST(rtc_pair, lost_checks_retransmitted)
{
    pair *p = pair_new(4);
    CHECK_HELPER();
    p->filter = drop_first_checks;
    CHECK_OK(offer_answer(p));
    uint64_t t0 = p->now;
    CHECK(run_until(p, both_connected, 10 * SEC));
    CHECK_EQ(p->dropped, 8);
    /* Recovered by retransmissions on the fake clock: the first comes an
     * RTO (200 ms) after the first check. */
    uint64_t took = state_time(&p->s[0], PKC_RTC_CONNECTED) - t0;
    CHECK(took >= 200 * MS);
    CHECK(took < 5 * SEC);
    CHECK(open_pair_channels(p));
    pair_free(p);
}

/* Drops B's (the DTLS client's) first ClientHello, A's first ServerHello
 * flight and B's first flight with its Certificate. */
static verdict drop_dtls_flights(pair *p, int from, const uint8_t *d, size_t n)
{
    if (kind_of(d, n) != K_DTLS_HANDSHAKE)
        return PASS;
    if (from == 1 && has_handshake(d, n, 1) && p->counter[0]++ == 0)
        return DROP;
    if (from == 0 && has_handshake(d, n, 2) && p->counter[1]++ == 0)
        return DROP;
    if (from == 1 && has_handshake(d, n, 11) && p->counter[2]++ == 0)
        return DROP;
    return PASS;
}

TEST(rtc_pair, lost_dtls_flights_retransmitted)
{
    pair *p = pair_new(5);
    CHECK_HELPER();
    p->filter = drop_dtls_flights;
    CHECK_OK(offer_answer(p));
    uint64_t t0 = p->now;
    CHECK(run_until(p, both_connected, 10 * SEC));
    CHECK_EQ(p->counter[0], 2);
    CHECK(p->counter[1] >= 2);
    CHECK(p->counter[2] >= 2);
    CHECK_EQ(p->dropped, 3);
    /* Three lost flights, each recovered by a retransmission 100 ms after
     * it was sent (pkc's DTLS timer), on the fake clock. */
    uint64_t took = state_time(&p->s[1], PKC_RTC_CONNECTED) - t0;
    CHECK(took >= 300 * MS);
    CHECK(took < 400 * MS);
    pair_free(p);
}

/* Every second datagram in each direction changes places with the next. */
static verdict swap_pairs(pair *p, int from, const uint8_t *d, size_t n)
{
    (void)d;
    (void)n;
    return p->counter[from]++ % 2 == 0 ? HOLD : PASS;
}

TEST(rtc_pair, reordered_datagrams)
{
    pair *p = pair_new(6);
    CHECK_HELPER();
    p->filter = swap_pairs;
    CHECK_OK(offer_answer(p));
    CHECK(run_until(p, both_connected, 10 * SEC));
    CHECK(open_pair_channels(p));
    CHECK(send_mix(p, 1));
    CHECK(run_until(p, all_channels_arrived, 30 * SEC));
    CHECK(p->held_count > 100);
    CHECK_EQ(p->dropped, 0);
    pair_free(p);
}

static verdict duplicate_all(pair *p, int from, const uint8_t *d, size_t n)
{
    (void)p;
    (void)from;
    (void)d;
    (void)n;
    return DUP;
}

TEST(rtc_pair, duplicated_datagrams)
{
    pair *p = pair_new(7);
    CHECK_HELPER();
    p->filter = duplicate_all;
    CHECK_OK(offer_answer(p));
    CHECK(run_until(p, both_connected, 10 * SEC));
    CHECK(open_pair_channels(p));
    CHECK(send_mix(p, 2));
    /* on_message fails the test on any message delivered twice. */
    CHECK(run_until(p, all_channels_arrived, 30 * SEC));
    CHECK(p->duplicated > 100);

    pair_free(p);
}

/* Once armed (counter[0]), drops B's application data datagrams number 3
 * and 4 and the last one of a burst (counter[2] set by the test). */
static verdict drop_app_data(pair *p, int from, const uint8_t *d, size_t n)
{
    if (!p->counter[0] || from != 1 || kind_of(d, n) != K_DTLS_APP)
        return PASS;
    int k = ++p->counter[1];
    if (k == 3 || k == 4 || k == p->counter[2])
        return DROP;
    return PASS;
}

/* SCTP recovers lost packets: a gap in a long message by fast retransmit,
 * the tail of a burst by its T3 timer (RTO 120 ms at least), on the fake
 * clock: usrsctp compares send times from gettimeofday() with the RTO. */
TEST(rtc_pair, lost_sctp_packets_retransmitted)
{
    pair *p = pair_connect(8);
    CHECK_HELPER();
    side *b = &p->s[1];
    app_channel *ch = open_channel(b, "lossy", 1);
    CHECK(ch);
    CHECK(run_until(p, all_channels_open, 1 * SEC));
    p->filter = drop_app_data;
    p->counter[0] = 1;
    CHECK_OK(send_msg(b, ch, 60000, 1));
    uint64_t t0 = p->now;
    CHECK(run_until(p, all_channels_arrived, 5 * SEC));
    CHECK_EQ(p->dropped, 2);
    uint64_t fast = p->now - t0;
    /* One small message whose only packet is lost: only T3 brings it. */
    p->counter[2] = p->counter[1] + 1;
    t0 = p->now;
    CHECK_OK(send_msg(b, ch, 200, 0));
    CHECK(run_until(p, all_channels_arrived, 5 * SEC));
    CHECK_EQ(p->dropped, 3);
    uint64_t t3 = p->now - t0;
    CHECK(fast < 120 * MS);
    CHECK(t3 >= 120 * MS);
    CHECK(t3 < 200 * MS);
    pair_free(p);
}

/* ---- consent, close, restart ------------------------------------------------------- */

static verdict drop_all(pair *p, int from, const uint8_t *d, size_t n)
{
    (void)p;
    (void)from;
    (void)d;
    (void)n;
    return DROP;
}

TEST(rtc_pair, consent_expires)
{
    pair *p = pair_connect(9);
    CHECK_HELPER();
    CHECK(open_pair_channels(p));
    run_for(p, 3 * SEC);
    p->filter = drop_all; /* the path dies */
    uint64_t t0 = p->now;
    CHECK(run_until(p, both_ended, 40 * SEC));
    for (int i = 0; i < 2; i++) {
        side *s = &p->s[i];
        CHECK_EQ(s->state, PKC_RTC_FAILED);
        CHECK_EQ(s->n_states, 4);
        CHECK_EQ(s->states[2], PKC_RTC_DISCONNECTED);
        /* RFC 7675: 30 s after the last consent response, which came at
         * most 6 s (the longest check interval) before the path died. */
        uint64_t disc = state_time(s, PKC_RTC_DISCONNECTED) - t0;
        uint64_t fail = state_time(s, PKC_RTC_FAILED) - t0;
        CHECK(disc >= 1500 * MS && disc <= 7500 * MS);
        CHECK(fail >= 24 * SEC && fail <= 30 * SEC);
        for (size_t k = 0; k < s->n_ch; k++)
            CHECK(s->ch[k].closed);
    }
    pair_free(p);
}

static int channel_closed_both(pair *p)
{
    const app_channel *a = &p->s[0].ch[0], *b = peer_of(&p->s[0], a);
    const app_channel *c = &p->s[1].ch[0], *d = peer_of(&p->s[1], c);
    return a->closed && b && b->closed && c->closed && d && d->closed;
}

/* Fewer streams (the node offers 64): channel ids stay below the number,
 * and channels under it open both ways. */
TEST(rtc_pair, max_channels_bounds_the_ids)
{
    pair_max_channels = 8;
    pair *p = pair_connect(11);
    pair_max_channels = 0;
    CHECK_HELPER();
    pkc_rtc_channel_options o;
    pkc_rtc_channel_options_default(&o);
    o.negotiated = 1;
    o.id = 8;
    pkc_rtc_channel *ch;
    CHECK_ERR(pkc_conn_channel_new(p->s[0].c, "neg", &o, &ch), PKC_ERR_RANGE);
    CHECK(strstr(pkc_errmsg(), "id 8 is over 7") != NULL);
    /* A is the DTLS server: odd ids 1, 3, 5, 7, then none left. */
    for (int i = 0; i < 4; i++)
        CHECK(open_channel(&p->s[0], "a", 1) != NULL);
    pkc_rtc_channel_options_default(&o);
    CHECK_ERR(pkc_conn_channel_new(p->s[0].c, "one too many", &o, &ch), PKC_ERR_RANGE);
    CHECK(open_channel(&p->s[1], "b", 1) != NULL);
    CHECK(run_until(p, all_channels_open, 2 * SEC));
    CHECK_EQ(p->s[0].ch[3].id, 7);
    pair_free(p);
}

TEST(rtc_pair, orderly_close)
{
    pair *p = pair_connect(10);
    CHECK_HELPER();
    app_channel *a = open_channel(&p->s[0], "a", 1), *b = open_channel(&p->s[1], "b", 1);
    CHECK(a && b);
    CHECK(run_until(p, all_channels_open, 1 * SEC));
    /* Messages queued before a close arrive before it. */
    for (int i = 0; i < 5; i++) {
        CHECK_OK(send_msg(&p->s[0], a, 30000, 1));
        CHECK_OK(send_msg(&p->s[1], b, 30000, 1));
    }
    pkc_rtc_channel_close(a->ch);
    pkc_rtc_channel_close(b->ch);
    CHECK_ERR(pkc_rtc_channel_send(a->ch, "x", 1, 1), PKC_ERR_CLOSED);
    CHECK(run_until(p, channel_closed_both, 2 * SEC));
    CHECK(all_channels_arrived(p));
    CHECK_EQ(p->s[0].state, PKC_RTC_CONNECTED);
    /* Then the connection: A closes, B is told CLOSED, not FAILED. */
    pkc_conn_close(p->s[0].c);
    CHECK(run_until(p, both_ended, 1 * SEC));
    CHECK_EQ(p->s[0].state, PKC_RTC_CLOSED);
    CHECK_EQ(p->s[1].state, PKC_RTC_CLOSED);
    pair_free(p);
}

TEST(rtc_pair, restart_ice)
{
    pair *p = pair_connect(11);
    CHECK_HELPER();
    app_channel *a = open_channel(&p->s[0], "a", 1);
    CHECK(a);
    CHECK(run_until(p, all_channels_open, 1 * SEC));
    char *before, *offer, *answer;
    CHECK_OK(pkc_conn_local_description(p->s[0].c, &before));
    pkc_conn_restart_ice(p->s[0].c, p->now);
    CHECK_OK(pkc_conn_create_offer(p->s[0].c, p->now, &offer));
    CHECK(strstr(before, "a=ice-ufrag:") && strstr(offer, "a=ice-ufrag:"));
    CHECK(strncmp(strstr(before, "a=ice-ufrag:"), strstr(offer, "a=ice-ufrag:"), 20) != 0);
    /* Data flows while the new offer is on its way. */
    CHECK_OK(send_msg(&p->s[0], a, 1000, 0));
    CHECK(run_until(p, all_channels_arrived, 1 * SEC));
    CHECK_OK(pkc_conn_set_remote(p->s[1].c, PKC_RTC_OFFER, offer, strlen(offer), p->now));
    CHECK_OK(pkc_conn_create_answer(p->s[1].c, p->now, &answer));
    CHECK_OK(pkc_conn_set_remote(p->s[0].c, PKC_RTC_ANSWER, answer, strlen(answer), p->now));
    free(before);
    free(offer);
    free(answer);
    CHECK_OK(send_msg(&p->s[0], a, 1000, 1));
    CHECK(run_until(p, all_channels_arrived, 1 * SEC));
    /* Consent works with the new credentials: still connected well past
     * the consent timeout, and data still flows. */
    run_for(p, 40 * SEC);
    CHECK(both_connected(p));
    CHECK_EQ(p->s[0].n_states, 2);
    CHECK_OK(send_msg(&p->s[0], a, 5000, 1));
    CHECK(run_until(p, all_channels_arrived, 1 * SEC));
    pair_free(p);
}

/* ---- allocation failures (every allocation point, one at a time) -------------------- */

static void quiet_log(void *ud, pkc_log_level level, const char *subsystem, const char *message)
{
    (void)ud;
    (void)level;
    (void)subsystem;
    (void)message;
}

/* What each application knows, for failure messages. */
static void dump(pair *p)
{
    for (int i = 0; i < 2; i++) {
        side *s = &p->s[i];
        fprintf(stderr, "  %c: %s at %llu ms, channels:", 'A' + i, pkc_rtc_state_name(s->state),
                (unsigned long long)(p->now - s->state_at[s->n_states ? s->n_states - 1 : 0]) / 1000);
        for (size_t k = 0; k < s->n_ch; k++)
            fprintf(stderr, " %d '%s'%s%s%s (sent %u, received %u)", s->ch[k].id, s->ch[k].label,
                    s->ch[k].ours ? " ours" : "", s->ch[k].open ? " open" : "",
                    s->ch[k].closed ? " closed" : "", s->ch[k].sent, s->ch[k].recv);
        fputc('\n', stderr);
    }
}

/* Stops the test, naming the failed allocation, if a check failed. */
#define CHECK_AT(n)                                                                                \
    do {                                                                                           \
        if (pkc_test_has_failed()) {                                                               \
            fail_alloc_disarm();                                                                   \
            pkc_log_set_handler(NULL, NULL);                                                       \
            fprintf(stderr, "  (with allocation %lu from the start failed)\n", (n));               \
            dump(&the_pair);                                                                       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static int either_ended(pair *p)
{
    return is_terminal(p->s[0].state) || is_terminal(p->s[1].state);
}

/* Whether what side s sent on its channel `a` has arrived, or may have
 * been lost because the channel was closed under it (by the peer, or by
 * the connection's end): never lost silently in an open channel. */
static int resolved(side *s, const app_channel *a)
{
    return all_arrived(s, a) || (a->closed && !a->close_called) || either_ended(s->p);
}

typedef struct exchange {
    app_channel *a, *b; /* A's ordered channel, B's unordered one */
    app_channel *a2;    /* opened by A during the exchange (NULL if refused) */
} exchange;

static exchange ex;

static int a2_settled(pair *p)
{
    /* Announced to B, or refused (B reset the stream: A saw it close). */
    return ex.a2 == NULL || either_ended(p) || ex.a2->closed ||
           (peer_of(&p->s[0], ex.a2) && peer_of(&p->s[0], ex.a2)->open);
}

static int phase1_done(pair *p)
{
    return either_ended(p) ||
           (resolved(&p->s[0], ex.a) && resolved(&p->s[1], ex.b) &&
            (ex.a2 == NULL || resolved(&p->s[0], ex.a2)) && a2_settled(p));
}

static int b_closed_both(pair *p)
{
    const app_channel *at_a = peer_of(&p->s[1], ex.b);
    return ex.b->closed && (at_a == NULL || at_a->closed);
}

static int phase2_done(pair *p)
{
    return either_ended(p) || (phase1_done(p) && b_closed_both(p));
}

static int settled(pair *p)
{
    return both_ended(p) || (both_connected(p) && phase2_done(p) && channels_agree(p));
}

/* After the pair settled: both ended, or both connected with every channel
 * open at one side open at the other, and nothing lost in open channels. */
static void check_settled(pair *p, unsigned long n)
{
    if (!settled(p)) {
        pkc_test_fail(__FILE__, __LINE__, "the pair did not settle");
        return;
    }
    if (both_ended(p)) {
        /* The side that ran out of memory failed; its peer may have been
         * told CLOSED (close_notify). */
        if (p->s[0].state != PKC_RTC_FAILED && p->s[1].state != PKC_RTC_FAILED)
            pkc_test_fail(__FILE__, __LINE__, "allocation %lu failed: both sides CLOSED, neither FAILED", n);
        return;
    }
    if (!channels_agree(p))
        pkc_test_fail(__FILE__, __LINE__, "allocation %lu failed: the channels differ", n);
}

/* A message exchange on an open pair of channels, with a channel opened
 * and one closed on the way: allocation number n (1, 2, ...) counted from
 * the exchange's start fails, until one run completes without reaching
 * it. Whatever fails, the applications' views match the state machines
 * at every dispatch (check_view), no message arrives that was not sent or
 * arrives twice (on_message), the two peers end up agreeing (both
 * connected with the same channels, or both ended), and nothing leaks. */
TEST(rtc_pair, alloc_failure_in_exchange)
{
    unsigned long n;
    size_t ended = 0;
    for (n = 1; n < 5000; n++) {
        pair *p = pair_connect(20);
        CHECK_HELPER();
        memset(&ex, 0, sizeof ex);
        ex.a = open_channel(&p->s[0], "a", 1);
        ex.b = open_channel(&p->s[1], "b", 0);
        CHECK(ex.a && ex.b);
        CHECK(run_until(p, all_channels_open, 1 * SEC));

        pkc_log_set_handler(quiet_log, NULL); /* the failures are logged as errors */
        fail_alloc_nth(n);
        (void)send_msg(&p->s[0], ex.a, HDR, 0);
        (void)send_msg(&p->s[0], ex.a, 3000, 1);
        (void)send_msg(&p->s[0], ex.a, 0, 0);
        (void)send_msg(&p->s[1], ex.b, HDR + 5, 0);
        (void)send_msg(&p->s[1], ex.b, 2500, 1);
        (void)send_msg(&p->s[1], ex.b, 0, 1);
        ex.a2 = open_channel(&p->s[0], "a2", 1);
        if (ex.a2)
            (void)send_msg(&p->s[0], ex.a2, 100, 0);
        run_until(p, phase1_done, 3 * SEC);
        CHECK_AT(n);
        if (ex.b->ch) {
            ex.b->close_called = 1;
            pkc_rtc_channel_close(ex.b->ch);
        }
        run_until(p, phase2_done, 3 * SEC);
        CHECK_AT(n);
        fail_alloc_disarm();
        int hit = fail_alloc_failed() > 0;
        run_until(p, settled, 10 * SEC);
        check_settled(p, n);
        CHECK_AT(n);
        pkc_log_set_handler(NULL, NULL);
        if (!hit) {
            /* The whole exchange, with no failure. */
            CHECK(both_connected(p));
            CHECK(ex.a2 && a2_settled(p) && !ex.a2->closed);
            CHECK(all_arrived(&p->s[0], ex.a) && all_arrived(&p->s[1], ex.b));
            CHECK(all_arrived(&p->s[0], ex.a2));
            CHECK(b_closed_both(p));
        }
        ended += both_ended(p);
        pair_free(p);
        if (!hit)
            break;
    }
    fprintf(stderr, "  %lu allocation points failed one by one; %zu ended the connection\n", n - 1,
            ended);
    CHECK(n > 10 && n < 5000);
}

static int connected_and_open(pair *p)
{
    return both_connected(p) && all_channels_open(p);
}

static int setup_settled(pair *p)
{
    return both_ended(p) || (both_connected(p) && channels_agree(p));
}

/* The same from before the offer to open channels: signalling, the ICE,
 * DTLS and SCTP handshakes, a channel created before the connection and
 * one by each side after it. */
TEST(rtc_pair, alloc_failure_in_setup)
{
    unsigned long n;
    size_t refused = 0, ended = 0;
    for (n = 1; n < 5000; n++) {
        pair *p = pair_new(21);
        CHECK_HELPER();
        app_channel *pre = open_channel(&p->s[0], "pre", 1);
        CHECK(pre);
        pkc_log_set_handler(quiet_log, NULL);
        fail_alloc_nth(n);
        int rc = offer_answer(p);
        if (rc == 0) {
            run_until(p, both_connected, 3 * SEC);
            if (both_connected(p)) {
                (void)open_channel(&p->s[0], "a", 0);
                (void)open_channel(&p->s[1], "b", 1);
            }
            run_until(p, connected_and_open, 3 * SEC);
        }
        fail_alloc_disarm();
        int hit = fail_alloc_failed() > 0;
        CHECK_AT(n);
        if (rc != 0) {
            /* A description could not be made or taken: the caller is
             * told, nothing happened. */
            if (rc != PKC_ERR_NOMEM)
                pkc_test_fail(__FILE__, __LINE__, "offer/answer: %s", pkc_err_name(rc));
            CHECK_AT(n);
            refused++;
        } else {
            run_until(p, setup_settled, 10 * SEC);
            CHECK_AT(n);
            if (!setup_settled(p)) {
                pkc_test_fail(__FILE__, __LINE__, "the pair did not settle");
                CHECK_AT(n);
            }
            ended += both_ended(p);
        }
        pkc_log_set_handler(NULL, NULL);
        if (!hit)
            CHECK(connected_and_open(p));
        pair_free(p);
        if (!hit)
            break;
    }
    fprintf(stderr, "  %lu allocation points failed one by one; %zu refused by the API, %zu ended the connection\n",
            n - 1, refused, ended);
    CHECK(n > 10 && n < 5000);
}

/* Memory runs out for good while messages are on their way: the side they
 * reach fails (it cannot queue them), says so with close_notify, and the
 * other side is told CLOSED; both applications see every channel close. */
TEST(rtc_pair, alloc_failure_for_good)
{
    pair *p = pair_connect(22);
    CHECK_HELPER();
    app_channel *a = open_channel(&p->s[0], "a", 1), *b = open_channel(&p->s[1], "b", 0);
    CHECK(a && b);
    CHECK(run_until(p, all_channels_open, 1 * SEC));
    for (int i = 0; i < 3; i++)
        CHECK_OK(send_msg(&p->s[1], b, 2000, 1)); /* queued, not delivered yet */
    pkc_log_set_handler(quiet_log, NULL);
    fail_alloc_all();
    CHECK_ERR(send_msg(&p->s[0], a, 100, 0), PKC_ERR_NOMEM);
    pkc_rtc_channel *ch;
    CHECK_ERR(pkc_conn_channel_new(p->s[0].c, "x", NULL, &ch), PKC_ERR_NOMEM);
    int ok = run_until(p, both_ended, 5 * SEC);
    fail_alloc_disarm();
    pkc_log_set_handler(NULL, NULL);
    CHECK(ok);
    CHECK(fail_alloc_failed() > 0);
    CHECK_EQ(p->s[0].state, PKC_RTC_FAILED);
    CHECK_EQ(p->s[1].state, PKC_RTC_CLOSED);
    CHECK(a->closed && b->closed);
    CHECK_EQ(peer_of(&p->s[1], b)->recv, 0);
    pair_free(p);
}

/* B expects another certificate than A's: DTLS fails at both ends (B
 * sends an alert), and a channel A created before connecting is closed,
 * not left opening in a failed connection. */
TEST(rtc_pair, dtls_failure_closes_channels)
{
    pair *p = pair_new(23);
    CHECK_HELPER();
    app_channel *pre = open_channel(&p->s[0], "pre", 1);
    CHECK(pre);
    char *offer, *answer;
    CHECK_OK(pkc_conn_create_offer(p->s[0].c, p->now, &offer));
    char *fp = strstr(offer, "a=fingerprint:sha-256 ");
    CHECK(fp);
    fp += strlen("a=fingerprint:sha-256 ");
    fp[0] = fp[0] == '0' ? '1' : '0'; /* one hex digit changed */
    CHECK_OK(pkc_conn_set_remote(p->s[1].c, PKC_RTC_OFFER, offer, strlen(offer), p->now));
    CHECK_OK(pkc_conn_create_answer(p->s[1].c, p->now, &answer));
    CHECK_OK(pkc_conn_set_remote(p->s[0].c, PKC_RTC_ANSWER, answer, strlen(answer), p->now));
    free(offer);
    free(answer);
    pkc_log_set_handler(quiet_log, NULL);
    int ok = run_until(p, both_ended, 5 * SEC);
    pkc_log_set_handler(NULL, NULL);
    CHECK(ok);
    CHECK_EQ(p->s[0].state, PKC_RTC_FAILED);
    CHECK_EQ(p->s[1].state, PKC_RTC_FAILED);
    CHECK(pre->closed);
    pair_free(p);
}
