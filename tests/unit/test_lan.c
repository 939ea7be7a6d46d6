/* The LAN discovery engine (src/discovery/lan.c) on a manual clock: the
 * sending schedule, back-off, slow-down when full, hard limits, and what it
 * makes of what it hears (rooms, replays, stale copies, forgeries, floods). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "discovery/lan.h"
#include "util/clock.h"
#include "util/rng.h"
#include "test.h"

#define T0_WALL 1767225600000ll
#define MS 1000ull
#define S (1000 * MS)
#define MAX_SENT 4096

typedef struct sent {
    uint64_t at_us;
    size_t len;
    uint8_t data[PKC_LAN_DATAGRAM_MAX];
} sent;

typedef struct found {
    char peer_id[PKC_PEER_ID_SIZE];
    uint8_t room[8];
    char ufrag[65];
    size_t n_addresses;
    char address0[64];
} found;

/* One node: an identity, an engine, what it sent and what it found. */
typedef struct node {
    pkc_identity *id;
    pkc_lan *lan;
    pkc_manual_clock *clock;
    sent *sent;
    size_t n_sent;
    found found[64];
    size_t n_found;
    int reenter_rc; /* what a pkc_lan call from inside a callback returned */
    int answer_ok;  /* what the answer callback returns: 1 as a registry source */
    sent answers[4];
    size_t n_answers;
} node;

static pkc_manual_clock g_clock;
static pkc_seeded_rng g_rng;

static const uint8_t ROOM_A[8] = {'r', 'o', 'o', 'm', '-', 'a', 0, 1};
static const uint8_t ROOM_B[8] = {'r', 'o', 'o', 'm', '-', 'b', 0, 2};
static const uint8_t ROOM_C[8] = {'r', 'o', 'o', 'm', '-', 'c', 0, 3};
static const uint8_t FP[32] = {0xfa, 0xce};
static const uint8_t SRC1[4] = {10, 0, 0, 1};
static const uint8_t SRC2[4] = {10, 0, 0, 2};

static void on_send(void *ud, pkc_lan *lan, const uint8_t *data, size_t len)
{
    node *n = ud;
    if (n->n_sent < MAX_SENT) {
        sent *s = &n->sent[n->n_sent++];
        s->at_us = n->clock->mono_us;
        s->len = len;
        memcpy(s->data, data, len);
    }
    n->reenter_rc = pkc_lan_tick(lan);
}

static void on_found(void *ud, pkc_lan *lan, const pkc_lan_peer *p)
{
    node *n = ud;
    n->reenter_rc = pkc_lan_join(lan, ROOM_C);
    if (n->n_found == 64)
        return;
    found *f = &n->found[n->n_found++];
    memcpy(f->peer_id, p->peer_id, sizeof f->peer_id);
    memcpy(f->room, p->room_id, 8);
    snprintf(f->ufrag, sizeof f->ufrag, "%s", p->ufrag);
    f->n_addresses = p->n_addresses;
    snprintf(f->address0, sizeof f->address0, "%s", p->n_addresses ? p->addresses[0] : "");
}

static int on_answer(void *ud, pkc_lan *lan, const uint8_t *data, size_t len)
{
    node *n = ud;
    n->reenter_rc = pkc_lan_tick(lan);
    if (!n->answer_ok)
        return 0;
    if (n->n_answers < 4) {
        sent *s = &n->answers[n->n_answers];
        s->at_us = n->clock->mono_us;
        s->len = len;
        memcpy(s->data, data, len);
    }
    n->n_answers++;
    return 1;
}

static void node_init_cfg(node *n, uint8_t seed_fill, const pkc_lan_config *cfg)
{
    memset(n, 0, sizeof *n);
    uint8_t seed[32];
    memset(seed, seed_fill, sizeof seed);
    if (pkc_identity_from_seed(seed, &n->id))
        abort();
    n->clock = &g_clock;
    n->sent = calloc(MAX_SENT, sizeof *n->sent);
    pkc_lan_callbacks cb = {.send = on_send, .found = on_found, .answer = on_answer};
    if (pkc_lan_new(cfg, &cb, n, n->id, &g_clock.clock, &g_rng.rng, &n->lan))
        abort();
}

static void node_init(node *n, uint8_t seed_fill)
{
    node_init_cfg(n, seed_fill, NULL);
}

static void node_free(node *n)
{
    pkc_lan_free(n->lan);
    pkc_identity_free(n->id);
    free(n->sent);
}

static int node_listen(node *n, const char *ufrag)
{
    char a[64];
    snprintf(a, sizeof a, "udp:192.168.7.%u:4000", (unsigned)(n->id->public_key[0] % 200 + 1));
    const char *addrs[] = {a, "udp:[fd00::7]:4000"};
    return pkc_lan_set_listener(n->lan, addrs, 2, ufrag, "0123456789abcdefghijklmn", FP);
}

static void fresh(void)
{
    pkc_manual_clock_init(&g_clock, 5 * S, T0_WALL);
    pkc_seeded_rng_init(&g_rng, 7);
}

/* Advances the clock to `until_us`, running the engines' ticks at their
 * deadlines on the way. */
static void run_until(node **nodes, size_t n, uint64_t until_us)
{
    for (;;) {
        uint64_t next = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            uint64_t d = pkc_lan_get_deadline(nodes[i]->lan);
            if (d < next)
                next = d;
        }
        if (next > until_us) {
            if (until_us > g_clock.mono_us)
                pkc_manual_clock_advance(&g_clock, until_us - g_clock.mono_us);
            return;
        }
        if (next > g_clock.mono_us)
            pkc_manual_clock_advance(&g_clock, next - g_clock.mono_us);
        for (size_t i = 0; i < n; i++)
            if (pkc_lan_get_deadline(nodes[i]->lan) <= g_clock.mono_us &&
                pkc_lan_tick(nodes[i]->lan) != 0)
                abort();
    }
}

static void run1(node *n, uint64_t until_us)
{
    node *ns[] = {n};
    run_until(ns, 1, until_us);
}

static size_t sends_between(const node *n, uint64_t from, uint64_t to)
{
    size_t c = 0;
    for (size_t i = 0; i < n->n_sent; i++)
        c += n->sent[i].at_us >= from && n->sent[i].at_us < to;
    return c;
}

/* The newest datagram `n` sent. */
static const sent *last(const node *n)
{
    return n->n_sent ? &n->sent[n->n_sent - 1] : NULL;
}

static int deliver(node *to, const sent *s, const uint8_t *src)
{
    return pkc_lan_receive(to->lan, s->data, s->len, src, 4);
}

/* ---- sending -------------------------------------------------------------- */

TEST(lan, nothing_without_room_or_listener)
{
    fresh();
    node a;
    node_init(&a, 1);
    CHECK_EQ_U64(pkc_lan_get_deadline(a.lan), UINT64_MAX);
    run1(&a, g_clock.mono_us + 60 * S);
    CHECK_EQ(a.n_sent, 0);
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    run1(&a, g_clock.mono_us + 60 * S);
    CHECK_EQ(a.n_sent, 0); /* no listener yet */
    const char *none[1] = {NULL};
    CHECK_OK(pkc_lan_set_listener(a.lan, none, 0, "abcd", "0123456789abcdefghijklmn", FP));
    run1(&a, g_clock.mono_us + 60 * S);
    CHECK_EQ(a.n_sent, 0); /* no address to dial */
    uint64_t t = g_clock.mono_us;
    CHECK_OK(node_listen(&a, "abcd"));
    run1(&a, t + 300 * MS);
    CHECK_EQ(a.n_sent, 1); /* within change_delay_ms */
    node_free(&a);
}

/* Soon after start, then 1, 2, 4 ... s up to 30 s, each up to a quarter
 * later (jitter). */
TEST(lan, start_and_backoff)
{
    fresh();
    node a;
    node_init(&a, 1);
    uint64_t t0 = g_clock.mono_us;
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    CHECK_OK(node_listen(&a, "abcd"));
    CHECK(pkc_lan_get_deadline(a.lan) <= t0 + 100 * MS);
    run1(&a, t0 + 10 * 60 * S);
    CHECK(a.n_sent >= 20);
    CHECK(a.sent[0].at_us <= t0 + 100 * MS);
    uint64_t want = 1000;
    for (size_t i = 1; i < 12; i++) {
        uint64_t gap_ms = (a.sent[i].at_us - a.sent[i - 1].at_us) / MS;
        if (gap_ms < want || gap_ms > want + want / 4) {
            pkc_test_fail(__FILE__, __LINE__, "gap %zu: %llu ms, expected %llu..%llu", i,
                          (unsigned long long)gap_ms, (unsigned long long)want,
                          (unsigned long long)(want + want / 4));
            break;
        }
        want = want * 2 > 30000 ? 30000 : want * 2;
    }
    /* Steady state: about two a minute. */
    size_t last_minute = sends_between(&a, t0 + 9 * 60 * S, t0 + 10 * 60 * S);
    CHECK(last_minute >= 1 && last_minute <= 2);
    /* Each datagram decodes, is signed by us, and its timestamps increase. */
    uint64_t prev = 0;
    for (size_t i = 0; i < a.n_sent; i++) {
        pkc_lan_announcement d;
        CHECK_OK(pkc_lan_datagram_decode(a.sent[i].data, a.sent[i].len, &d));
        CHECK_MEM(d.announce.public_key, a.id->public_key, 32);
        CHECK(d.announce.timestamp_ms > prev);
        prev = d.announce.timestamp_ms;
        CHECK_EQ(d.n_rooms, 1);
        CHECK_MEM(d.rooms, ROOM_A, 8);
    }
    pkc_lan_stats st;
    pkc_lan_get_stats(a.lan, &st);
    CHECK_EQ_U64(st.sent, a.n_sent);
    node_free(&a);
}

/* A change (room joined or left, listener changed) is announced within
 * change_delay_ms and the back-off starts again. */
TEST(lan, change_announces_soon)
{
    fresh();
    node a;
    node_init(&a, 1);
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    CHECK_OK(node_listen(&a, "abcd"));
    run1(&a, g_clock.mono_us + 5 * 60 * S); /* back-off at its cap */
    size_t before = a.n_sent;
    uint64_t t = g_clock.mono_us;
    CHECK_OK(pkc_lan_join(a.lan, ROOM_B));
    run1(&a, t + 260 * MS);
    CHECK_EQ(a.n_sent, before + 1);
    pkc_lan_announcement d2;
    CHECK_OK(pkc_lan_datagram_decode(last(&a)->data, last(&a)->len, &d2));
    CHECK_EQ(d2.n_rooms, 2);
    /* Then 1 s, 2 s again. */
    run1(&a, t + 4100 * MS);
    CHECK_EQ(a.n_sent, before + 3);
    /* Same listener again: no change, nothing sooner. */
    run1(&a, g_clock.mono_us + 5 * 60 * S);
    uint64_t d = pkc_lan_get_deadline(a.lan);
    CHECK(d > g_clock.mono_us + 250 * MS);
    CHECK_OK(node_listen(&a, "abcd"));
    CHECK_EQ_U64(pkc_lan_get_deadline(a.lan), d);
    CHECK_OK(node_listen(&a, "efgh")); /* new credentials */
    CHECK(pkc_lan_get_deadline(a.lan) <= g_clock.mono_us + 100 * MS);
    run1(&a, g_clock.mono_us + 260 * MS);
    CHECK_OK(pkc_lan_datagram_decode(last(&a)->data, last(&a)->len, &d2));
    CHECK_EQ(d2.ufrag.len, 4);
    CHECK_MEM(d2.ufrag.data, "efgh", 4);
    run1(&a, g_clock.mono_us + 5 * 60 * S);
    CHECK_OK(pkc_lan_leave(a.lan, ROOM_B));
    CHECK(pkc_lan_get_deadline(a.lan) <= g_clock.mono_us + 100 * MS);
    run1(&a, g_clock.mono_us + 260 * MS);
    CHECK_OK(pkc_lan_datagram_decode(last(&a)->data, last(&a)->len, &d2));
    CHECK_EQ(d2.n_rooms, 1);
    CHECK_ERR(pkc_lan_leave(a.lan, ROOM_B), PKC_ERR_NOT_FOUND);
    CHECK_ERR(pkc_lan_join(a.lan, ROOM_A), PKC_ERR_EXISTS);
    /* Leaving the last room stops it. */
    CHECK_OK(pkc_lan_leave(a.lan, ROOM_A));
    CHECK_EQ_U64(pkc_lan_get_deadline(a.lan), UINT64_MAX);
    before = a.n_sent;
    run1(&a, g_clock.mono_us + 10 * 60 * S);
    CHECK_EQ(a.n_sent, before);
    node_free(&a);
}

/* Once every room has the connections it wants, announcements are rare:
 * every 5 minutes (up to a quarter later); when one falls short, they
 * start again at once. */
TEST(lan, slowdown_when_full)
{
    fresh();
    node a;
    node_init(&a, 1);
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    CHECK_OK(pkc_lan_join(a.lan, ROOM_B));
    CHECK_OK(node_listen(&a, "abcd"));
    run1(&a, g_clock.mono_us + 10 * S);
    CHECK_OK(pkc_lan_set_room_status(a.lan, ROOM_A, 3, 3));
    uint64_t t = g_clock.mono_us;
    run1(&a, t + 10 * 60 * S);
    CHECK(sends_between(&a, t, t + 10 * 60 * S) >= 15); /* room B still wants peers */
    CHECK_OK(pkc_lan_set_room_status(a.lan, ROOM_B, 8, 6));
    t = g_clock.mono_us;
    run1(&a, t + 60 * 60 * S);
    size_t hour = sends_between(&a, t, t + 60 * 60 * S);
    CHECK(hour >= 9 && hour <= 12); /* 60 / 5, jittered */
    for (size_t i = a.n_sent - hour + 1; i < a.n_sent; i++)
        CHECK(a.sent[i].at_us - a.sent[i - 1].at_us >= 300 * S);
    /* A connection lost: announcing again within change_delay_ms, then 1 s. */
    t = g_clock.mono_us;
    size_t before = a.n_sent;
    CHECK_OK(pkc_lan_set_room_status(a.lan, ROOM_A, 2, 3));
    run1(&a, t + 260 * MS);
    CHECK_EQ(a.n_sent, before + 1);
    run1(&a, t + 1600 * MS);
    CHECK_EQ(a.n_sent, before + 2);
    CHECK_ERR(pkc_lan_set_room_status(a.lan, ROOM_C, 1, 1), PKC_ERR_NOT_FOUND);
    node_free(&a);
}

/* No more than max_per_minute announcements in any minute and at least
 * min_gap_ms between two, however many changes and newcomers there are. */
TEST(lan, hard_rate_limit)
{
    fresh();
    node a;
    node_init(&a, 1);
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    CHECK_OK(node_listen(&a, "abcd"));
    uint64_t t0 = g_clock.mono_us;
    for (int i = 0; i < 3000; i++) { /* a change every 100 ms for 5 minutes */
        if (i % 2)
            CHECK_OK(pkc_lan_join(a.lan, ROOM_B));
        else if (i > 0)
            CHECK_OK(pkc_lan_leave(a.lan, ROOM_B));
        run1(&a, g_clock.mono_us + 100 * MS);
    }
    CHECK(a.n_sent >= 90);
    for (size_t i = 1; i < a.n_sent; i++) {
        CHECK(a.sent[i].at_us - a.sent[i - 1].at_us >= 250 * MS);
        if (i >= 20)
            CHECK(a.sent[i].at_us - a.sent[i - 20].at_us >= 60 * S);
    }
    CHECK(sends_between(&a, t0, t0 + 5 * 60 * S) <= 100);
    pkc_lan_stats st;
    pkc_lan_get_stats(a.lan, &st);
    CHECK(st.deferred > 0);
    node_free(&a);
}

/* Off: nothing is sent and nothing heard is used; on again: soon. */
TEST(lan, disabled_sends_nothing)
{
    fresh();
    pkc_lan_config cfg;
    pkc_lan_config_default(&cfg);
    cfg.enabled = 0;
    node a, b;
    node_init_cfg(&a, 1, &cfg);
    node_init(&b, 2);
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    CHECK_OK(node_listen(&a, "abcd"));
    CHECK_OK(pkc_lan_join(b.lan, ROOM_A));
    CHECK_OK(node_listen(&b, "bbbb"));
    CHECK_EQ_U64(pkc_lan_get_deadline(a.lan), UINT64_MAX);
    node *ns[] = {&a, &b};
    run_until(ns, 2, g_clock.mono_us + 30 * 60 * S);
    CHECK_EQ(a.n_sent, 0);
    CHECK(b.n_sent > 0);
    CHECK_ERR(deliver(&a, last(&b), SRC2), PKC_ERR_STATE);
    CHECK_EQ(a.n_found, 0);
    uint64_t t = g_clock.mono_us;
    CHECK_OK(pkc_lan_set_enabled(a.lan, 1));
    run1(&a, t + 500 * MS);
    CHECK_EQ(a.n_sent, 1);
    CHECK_OK(pkc_lan_set_enabled(a.lan, 0));
    run1(&a, g_clock.mono_us + 30 * 60 * S);
    CHECK_EQ(a.n_sent, 1);
    pkc_lan_stats st;
    pkc_lan_get_stats(a.lan, &st);
    CHECK_EQ_U64(st.disabled, 1);
    node_free(&a);
    node_free(&b);
}

/* ---- receiving -------------------------------------------------------------- */

/* Three nodes of one room find each other; a fourth, in another room, finds
 * nobody and nobody finds it. */
TEST(lan, same_room_found_other_room_ignored)
{
    fresh();
    node n[4];
    for (int i = 0; i < 4; i++) {
        node_init(&n[i], (uint8_t)(i + 1));
        CHECK_OK(pkc_lan_join(n[i].lan, i < 3 ? ROOM_A : ROOM_B));
        CHECK_OK(node_listen(&n[i], "abcd"));
    }
    /* Everyone hears everything the others send. */
    size_t heard[4] = {0};
    node *ns[] = {&n[0], &n[1], &n[2], &n[3]};
    for (int step = 0; step < 100; step++) {
        run_until(ns, 4, g_clock.mono_us + 100 * MS);
        for (int s = 0; s < 4; s++) {
            for (; heard[s] < n[s].n_sent; heard[s]++)
                for (int r = 0; r < 4; r++) {
                    uint8_t src[4] = {10, 0, 0, (uint8_t)(s + 1)};
                    int rc = deliver(&n[r], &n[s].sent[heard[s]], src);
                    CHECK(rc == 0);
                }
        }
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(n[i].n_found, 2);
        for (size_t f = 0; f < n[i].n_found; f++) {
            CHECK_MEM(n[i].found[f].room, ROOM_A, 8);
            CHECK(strcmp(n[i].found[f].peer_id, pkc_identity_get_peer_id(n[i].id)) != 0);
            CHECK(strcmp(n[i].found[f].peer_id, pkc_identity_get_peer_id(n[3].id)) != 0);
            CHECK_STR(n[i].found[f].ufrag, "abcd");
            CHECK_EQ(n[i].found[f].n_addresses, 2);
        }
        CHECK(strcmp(n[i].found[0].peer_id, n[i].found[1].peer_id) != 0);
    }
    CHECK_EQ(n[3].n_found, 0);
    pkc_lan_stats st;
    pkc_lan_get_stats(n[3].lan, &st);
    CHECK(st.other_rooms >= 3);
    CHECK(st.own > 0);
    pkc_lan_get_stats(n[0].lan, &st);
    CHECK(st.own > 0);
    CHECK(st.other_rooms >= 1);
    CHECK_EQ_U64(st.reported, 2);
    for (int i = 0; i < 4; i++)
        node_free(&n[i]);
}

static void setup_pair(node *a, node *b)
{
    fresh();
    node_init(a, 1);
    node_init(b, 2);
    if (pkc_lan_join(a->lan, ROOM_A) || node_listen(a, "aaaa") || pkc_lan_join(b->lan, ROOM_A) ||
        node_listen(b, "bbbb"))
        abort();
    run1(b, g_clock.mono_us + 600 * MS); /* b's first announcement */
}

TEST(lan, found_once_then_after_interval_or_change)
{
    node a, b;
    setup_pair(&a, &b);
    CHECK_EQ(b.n_sent, 1);
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK_EQ(a.n_found, 1);
    CHECK_STR(a.found[0].peer_id, pkc_identity_get_peer_id(b.id));
    CHECK_MEM(a.found[0].room, ROOM_A, 8);
    CHECK_STR(a.found[0].ufrag, "bbbb");
    /* The same datagram again (another interface, the registry): nothing. */
    CHECK_OK(deliver(&a, last(&b), SRC1));
    CHECK_EQ(a.n_found, 1);
    pkc_lan_stats st;
    pkc_lan_get_stats(a.lan, &st);
    CHECK_EQ_U64(st.duplicate, 1);
    CHECK_EQ_U64(st.signatures_checked, 1);
    /* b's next announcements within a minute: accepted, not reported. */
    run1(&b, g_clock.mono_us + 30 * S);
    CHECK(b.n_sent >= 4);
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK_EQ(a.n_found, 1);
    /* After report_interval_ms, reported again (the node may have lost it). */
    run1(&b, g_clock.mono_us + 40 * S);
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK_EQ(a.n_found, 2);
    /* New listener credentials (b restarted): reported at once. */
    CHECK_OK(node_listen(&b, "cccc"));
    run1(&b, g_clock.mono_us + 300 * MS);
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK_EQ(a.n_found, 3);
    CHECK_STR(a.found[2].ufrag, "cccc");
    /* b leaves the room: its announcements no longer report it. */
    CHECK_OK(pkc_lan_join(b.lan, ROOM_B));
    CHECK_OK(pkc_lan_leave(b.lan, ROOM_A));
    run1(&b, g_clock.mono_us + 120 * S);
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK_EQ(a.n_found, 3);
    node_free(&a);
    node_free(&b);
}

TEST(lan, own_announcements_ignored)
{
    node a, b;
    setup_pair(&a, &b);
    run1(&a, g_clock.mono_us + 600 * MS);
    CHECK_OK(deliver(&a, last(&a), SRC1));
    CHECK_EQ(a.n_found, 0);
    pkc_lan_stats st;
    pkc_lan_get_stats(a.lan, &st);
    CHECK_EQ_U64(st.own, 1);
    CHECK_EQ_U64(st.signatures_checked, 0);
    node_free(&a);
    node_free(&b);
}

/* An announcement older than one accepted from the same peer is a replay; a
 * copy replayed later than max_age_ms is stale, and so is one from further
 * ahead than max_skew_ms. */
TEST(lan, replay_and_staleness)
{
    node a, b, c;
    setup_pair(&a, &b);
    const sent first = *last(&b);
    run1(&b, g_clock.mono_us + 1300 * MS);
    CHECK_EQ(b.n_sent, 2);
    const sent second = *last(&b);
    CHECK_OK(deliver(&a, &second, SRC2));
    CHECK_EQ(a.n_found, 1);
    CHECK_ERR(deliver(&a, &first, SRC2), PKC_ERR_REPLAY);
    CHECK_EQ(a.n_found, 1);
    pkc_lan_stats st;
    pkc_lan_get_stats(a.lan, &st);
    CHECK_EQ_U64(st.older, 1);
    CHECK_EQ_U64(st.signatures_checked, 1); /* the replay cost no signature check */

    /* c never heard b. The second copy replayed 121 s later: stale. */
    node_init(&c, 3);
    CHECK_OK(pkc_lan_join(c.lan, ROOM_A));
    CHECK_OK(node_listen(&c, "cccc"));
    pkc_manual_clock_advance(&g_clock, 121 * S);
    CHECK_ERR(deliver(&c, &second, SRC2), PKC_ERR_STALE);
    /* b's clock a minute ahead of c's: fine; three minutes: stale. */
    g_clock.wall_ms += 60 * 1000;
    run1(&b, g_clock.mono_us + 40 * S);
    g_clock.wall_ms -= 60 * 1000;
    CHECK_OK(deliver(&c, last(&b), SRC2));
    CHECK_EQ(c.n_found, 1);
    g_clock.wall_ms += 3 * 60 * 1000;
    run1(&b, g_clock.mono_us + 40 * S);
    g_clock.wall_ms -= 3 * 60 * 1000;
    CHECK_ERR(deliver(&c, last(&b), SRC2), PKC_ERR_STALE);
    pkc_lan_get_stats(c.lan, &st);
    CHECK_EQ_U64(st.stale, 2);
    CHECK_EQ_U64(st.signatures_checked, 1); /* stale copies cost none either */
    node_free(&c);
    node_free(&a);
    node_free(&b);
}

/* A forged datagram (b's key, someone else's signature) is rejected, and it
 * does not stop b's genuine announcements from being accepted, even when
 * it claims a later time. */
TEST(lan, forged_signature_rejected)
{
    node a, b;
    setup_pair(&a, &b);
    sent forged = *last(&b);
    forged.data[forged.len - 1] ^= 1;
    CHECK_ERR(deliver(&a, &forged, SRC1), PKC_ERR_BAD_SIGNATURE);
    /* A later timestamp: the varuint just after the two keys. */
    sent later = *last(&b);
    size_t ts_at = 5 + 1 + 32 + 32;
    later.data[ts_at] = (uint8_t)(later.data[ts_at] + 2) | 0x80;
    CHECK_ERR(deliver(&a, &later, SRC1), PKC_ERR_BAD_SIGNATURE);
    CHECK_EQ(a.n_found, 0);
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK_EQ(a.n_found, 1);
    pkc_lan_stats st;
    pkc_lan_get_stats(a.lan, &st);
    CHECK_EQ_U64(st.bad_signature, 2);
    CHECK_EQ_U64(st.accepted, 1);
    node_free(&a);
    node_free(&b);
}

/* Junk and repeated datagrams from one source cost little and run out its
 * budget without touching another source's. */
TEST(lan, flood_budgets)
{
    node a, b;
    setup_pair(&a, &b);
    uint8_t junk[300];
    memset(junk, 0x41, sizeof junk);
    int limited = 0;
    for (int i = 0; i < 1000; i++) {
        int rc = pkc_lan_receive(a.lan, junk, sizeof junk, SRC1, 4);
        if (rc == PKC_ERR_RATE_LIMITED)
            limited++;
        else
            CHECK_EQ(rc, PKC_ERR_MALFORMED);
    }
    CHECK(limited >= 790 && limited <= 800); /* 200 tokens, 1 each */
    CHECK_OK(deliver(&a, last(&b), SRC2));   /* another source: fine */
    CHECK_EQ(a.n_found, 1);

    /* Valid announcements of many identities from one source: each costs a
     * signature, so the source runs dry after burst / (1 + 10) of them. */
    pkc_lan_stats st0, st;
    pkc_lan_get_stats(a.lan, &st0);
    node c;
    node_init(&c, 3);
    CHECK_OK(pkc_lan_join(c.lan, ROOM_A));
    CHECK_OK(node_listen(&c, "cccc"));
    const uint8_t SRC3[4] = {10, 0, 0, 3};
    int ok = 0;
    for (int i = 0; i < 60; i++) {
        /* A new identity each time: what a flood of valid announcements is. */
        uint8_t seed[32];
        memset(seed, 100 + i, sizeof seed);
        pkc_identity *id;
        CHECK_OK(pkc_identity_from_seed(seed, &id));
        pkc_lan_params p = {.timestamp_ms = (uint64_t)g_clock.wall_ms,
                            .addresses = (const char *[]){"udp:10.0.0.3:1"},
                            .n_addresses = 1,
                            .rooms = ROOM_B,
                            .n_rooms = 1,
                            .fingerprint = FP,
                            .ufrag = "abcd",
                            .pwd = "0123456789abcdefghijklmn"};
        pkc_buf buf = PKC_BUF_INIT;
        CHECK_OK(pkc_lan_datagram_encode(id, &p, &buf));
        int rc = pkc_lan_receive(a.lan, buf.data, buf.len, SRC3, 4);
        ok += rc == 0;
        CHECK(rc == 0 || rc == PKC_ERR_RATE_LIMITED);
        /* The same one again and again: no further signature checks. */
        for (int k = 0; k < 5 && rc == 0; k++)
            CHECK_OK(pkc_lan_receive(a.lan, buf.data, buf.len, SRC3, 4));
        pkc_buf_free(&buf);
        pkc_identity_free(id);
    }
    pkc_lan_get_stats(a.lan, &st);
    CHECK_EQ(ok, 12); /* 200 tokens, 11 for each and 1 for each of its 5 copies */
    CHECK_EQ_U64(st.signatures_checked - st0.signatures_checked, (uint64_t)ok);
    /* Budgets refill with time. */
    pkc_manual_clock_advance(&g_clock, 3 * S);
    run1(&c, g_clock.mono_us + 600 * MS);
    CHECK_OK(deliver(&a, last(&c), SRC3));
    CHECK_EQ(a.n_found, 2);
    node_free(&c);
    node_free(&a);
    node_free(&b);
}

/* Many sources, each with budget left, still share one budget of signature
 * checks per second. */
TEST(lan, global_signature_budget)
{
    node a, b;
    setup_pair(&a, &b);
    int ok = 0, limited = 0;
    for (int i = 0; i < 400; i++) {
        uint8_t seed[32];
        memset(seed, 0, sizeof seed);
        seed[0] = (uint8_t)i;
        seed[1] = (uint8_t)(i >> 8);
        seed[2] = 0x77;
        pkc_identity *id;
        CHECK_OK(pkc_identity_from_seed(seed, &id));
        pkc_lan_params p = {.timestamp_ms = (uint64_t)g_clock.wall_ms,
                            .addresses = (const char *[]){"udp:10.0.0.3:1"},
                            .n_addresses = 1,
                            .rooms = ROOM_B,
                            .n_rooms = 1,
                            .fingerprint = FP,
                            .ufrag = "abcd",
                            .pwd = "0123456789abcdefghijklmn"};
        pkc_buf buf = PKC_BUF_INIT;
        CHECK_OK(pkc_lan_datagram_encode(id, &p, &buf));
        uint8_t src[4] = {172, 16, (uint8_t)(i >> 8), (uint8_t)i};
        int rc = pkc_lan_receive(a.lan, buf.data, buf.len, src, 4);
        ok += rc == 0;
        limited += rc == PKC_ERR_RATE_LIMITED;
        pkc_buf_free(&buf);
        pkc_identity_free(id);
    }
    CHECK_EQ(ok, 200);
    CHECK_EQ(limited, 200);
    node_free(&a);
    node_free(&b);
}

/* A newcomer in one of our rooms gets an answer soon, even from a node
 * whose rooms are full and which otherwise announces every 5 minutes. */
TEST(lan, answers_newcomers)
{
    node a, b;
    setup_pair(&a, &b);
    CHECK_OK(pkc_lan_set_room_status(a.lan, ROOM_A, 6, 6));
    run1(&a, g_clock.mono_us + 20 * 60 * S);
    run1(&a, pkc_lan_get_deadline(a.lan)); /* just after one of its rare announcements */
    size_t before = a.n_sent;
    CHECK(pkc_lan_get_deadline(a.lan) >= g_clock.mono_us + 300 * S);
    run1(&b, g_clock.mono_us + 40 * S); /* a fresh announcement of b */
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK(pkc_lan_get_deadline(a.lan) <= g_clock.mono_us + 100 * MS);
    run1(&a, g_clock.mono_us + 600 * MS);
    CHECK_EQ(a.n_sent, before + 1);
    /* b's later announcements are no news: no more answers. */
    run1(&b, g_clock.mono_us + 40 * S);
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK(pkc_lan_get_deadline(a.lan) > g_clock.mono_us + 200 * S);
    /* A stranger (another room) gets no answer. */
    node c;
    node_init(&c, 3);
    CHECK_OK(pkc_lan_join(c.lan, ROOM_B));
    CHECK_OK(node_listen(&c, "cccc"));
    run1(&c, g_clock.mono_us + 600 * MS);
    CHECK_OK(deliver(&a, last(&c), SRC1));
    CHECK(pkc_lan_get_deadline(a.lan) > g_clock.mono_us + 200 * S);
    node_free(&c);
    node_free(&a);
    node_free(&b);
}

/* A runtime that can reach the newcomer alone (a host registry source)
 * answers it at once, outside the multicast schedule and its limits; past
 * answers_per_minute the answer goes to everyone within answer_delay_ms,
 * as it does when the runtime cannot reach the source (answers_newcomers). */
TEST(lan, answers_newcomers_directly)
{
    fresh();
    pkc_lan_config cfg;
    pkc_lan_config_default(&cfg);
    cfg.answers_per_minute = 2;
    node a;
    node_init_cfg(&a, 1, &cfg);
    a.answer_ok = 1;
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    CHECK_OK(node_listen(&a, "aaaa"));
    CHECK_OK(pkc_lan_set_room_status(a.lan, ROOM_A, 6, 6));
    run1(&a, g_clock.mono_us + 20 * 60 * S);
    run1(&a, pkc_lan_get_deadline(a.lan));
    size_t before = a.n_sent;
    uint64_t deadline = pkc_lan_get_deadline(a.lan);
    node nc[3];
    for (int i = 0; i < 3; i++) {
        node_init(&nc[i], (uint8_t)(2 + i));
        CHECK_OK(pkc_lan_join(nc[i].lan, ROOM_A));
        CHECK_OK(node_listen(&nc[i], "nnnn"));
    }
    for (int i = 0; i < 3; i++)
        run1(&nc[i], g_clock.mono_us + 200 * MS);
    /* The first newcomer: answered now, to it alone. */
    CHECK_OK(deliver(&a, last(&nc[0]), SRC2));
    CHECK_EQ(a.n_answers, 1);
    CHECK_EQ(a.reenter_rc, PKC_ERR_STATE);
    CHECK_EQ(a.n_sent, before);
    CHECK_EQ_U64(pkc_lan_get_deadline(a.lan), deadline);
    pkc_lan_announcement ann;
    CHECK_OK(pkc_lan_datagram_decode(a.answers[0].data, a.answers[0].len, &ann));
    CHECK_MEM(ann.announce.public_key, a.id->public_key, 32);
    CHECK_EQ(ann.n_rooms, 1);
    /* The answer is an announcement like any: the newcomer finds a. */
    CHECK_OK(deliver(&nc[0], &a.answers[0], SRC1));
    CHECK_EQ(nc[0].n_found, 1);
    CHECK_STR(nc[0].found[0].peer_id, a.id->peer_id);
    /* The second too; the third is over the minute's budget. */
    CHECK_OK(deliver(&a, last(&nc[1]), SRC2));
    CHECK_EQ(a.n_answers, 2);
    CHECK_EQ_U64(pkc_lan_get_deadline(a.lan), deadline);
    CHECK_OK(deliver(&a, last(&nc[2]), SRC2));
    CHECK_EQ(a.n_answers, 2);
    CHECK(pkc_lan_get_deadline(a.lan) <= g_clock.mono_us + 100 * MS);
    pkc_lan_stats st;
    pkc_lan_get_stats(a.lan, &st);
    CHECK_EQ_U64(st.answered, 2);
    for (int i = 0; i < 3; i++)
        node_free(&nc[i]);
    node_free(&a);
}

/* Joining a room reports the peers already heard in it. */
TEST(lan, join_reports_known_peers)
{
    node a, b;
    setup_pair(&a, &b);
    CHECK_OK(pkc_lan_join(b.lan, ROOM_B));
    run1(&b, g_clock.mono_us + 300 * MS);
    CHECK_OK(pkc_lan_leave(a.lan, ROOM_A));
    CHECK_OK(pkc_lan_join(a.lan, ROOM_C));
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK_EQ(a.n_found, 0);
    CHECK_OK(pkc_lan_join(a.lan, ROOM_B));
    CHECK_EQ(a.n_found, 1);
    CHECK_MEM(a.found[0].room, ROOM_B, 8);
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    CHECK_EQ(a.n_found, 2);
    CHECK_MEM(a.found[1].room, ROOM_A, 8);
    /* Forgotten after peer_ttl_ms. */
    CHECK_OK(pkc_lan_leave(a.lan, ROOM_A));
    pkc_manual_clock_advance(&g_clock, 16 * 60 * S);
    CHECK_OK(pkc_lan_tick(a.lan));
    CHECK_OK(pkc_lan_join(a.lan, ROOM_A));
    CHECK_EQ(a.n_found, 2);
    node_free(&a);
    node_free(&b);
}

/* Callbacks cannot call back into the engine. */
TEST(lan, no_reentry_from_callbacks)
{
    node a, b;
    setup_pair(&a, &b);
    CHECK_ERR(b.reenter_rc, PKC_ERR_STATE); /* pkc_lan_tick from send */
    CHECK_OK(deliver(&a, last(&b), SRC2));
    CHECK_EQ(a.n_found, 1);
    CHECK_ERR(a.reenter_rc, PKC_ERR_STATE); /* pkc_lan_join from found */
    node_free(&a);
    node_free(&b);
}

/* Timestamps never go back, even when the wall clock does. */
TEST(lan, timestamps_increase)
{
    node a, b;
    setup_pair(&a, &b);
    pkc_lan_announcement d;
    CHECK_OK(pkc_lan_datagram_decode(last(&b)->data, last(&b)->len, &d));
    uint64_t ts = d.announce.timestamp_ms;
    g_clock.wall_ms -= 10000;
    run1(&b, g_clock.mono_us + 2 * S);
    CHECK_OK(pkc_lan_datagram_decode(last(&b)->data, last(&b)->len, &d));
    CHECK(d.announce.timestamp_ms > ts);
    node_free(&a);
    node_free(&b);
}

/* More addresses than fit: the last ones are left out; it still goes. */
TEST(lan, addresses_trimmed_to_fit)
{
    fresh();
    node a;
    node_init(&a, 1);
    const char *many[16];
    char buf[16][64];
    for (int i = 0; i < 16; i++) {
        snprintf(buf[i], sizeof buf[i], "udp:[1111:2222:3333:4444:5555:6666:7777:%x]:65535",
                 0x1000 + i);
        many[i] = buf[i];
    }
    uint8_t room[8] = {0};
    for (int i = 0; i < PKC_LAN_ROOMS_MAX; i++) {
        room[0] = (uint8_t)i;
        CHECK_OK(pkc_lan_join(a.lan, room));
    }
    CHECK_ERR(pkc_lan_join(a.lan, ROOM_A), PKC_ERR_TOO_LARGE);
    char ufrag[65], pwd[65];
    memset(ufrag, 'u', 64);
    memset(pwd, 'p', 64);
    ufrag[64] = pwd[64] = 0;
    CHECK_OK(pkc_lan_set_listener(a.lan, many, 16, ufrag, pwd, FP));
    run1(&a, g_clock.mono_us + 600 * MS);
    CHECK_EQ(a.n_sent, 1);
    CHECK(a.sent[0].len <= PKC_LAN_DATAGRAM_MAX);
    pkc_lan_announcement d;
    CHECK_OK(pkc_lan_datagram_decode(a.sent[0].data, a.sent[0].len, &d));
    CHECK_EQ(d.announce.n_addresses, 14);
    CHECK(memcmp(d.announce.addresses[13].data, many[13], strlen(many[13])) == 0);
    CHECK_EQ(d.n_rooms, 16);
    node_free(&a);
}

TEST(lan, arguments)
{
    fresh();
    node a;
    node_init(&a, 1);
    pkc_lan_callbacks none = {0};
    pkc_lan *l = NULL;
    CHECK_ERR(pkc_lan_new(NULL, &none, NULL, a.id, &g_clock.clock, &g_rng.rng, &l),
              PKC_ERR_INVALID_ARG);
    pkc_lan_callbacks cb = {.send = on_send};
    CHECK_ERR(pkc_lan_new(NULL, &cb, NULL, a.id, NULL, &g_rng.rng, &l), PKC_ERR_INVALID_ARG);
    pkc_lan_config cfg;
    pkc_lan_config_default(&cfg);
    cfg.max_per_minute = 0;
    CHECK_ERR(pkc_lan_new(&cfg, &cb, NULL, a.id, &g_clock.clock, &g_rng.rng, &l),
              PKC_ERR_INVALID_ARG);
    pkc_lan_config_default(&cfg);
    cfg.interval_max_ms = 10;
    CHECK_ERR(pkc_lan_new(&cfg, &cb, NULL, a.id, &g_clock.clock, &g_rng.rng, &l),
              PKC_ERR_INVALID_ARG);
    CHECK(l == NULL);
    const char *bad[] = {"udp:name:1"};
    CHECK_ERR(pkc_lan_set_listener(a.lan, bad, 1, "abcd", "0123456789abcdefghijklmn", FP),
              PKC_ERR_INVALID_ARG);
    const char *good[] = {"udp:1.2.3.4:1"};
    CHECK_ERR(pkc_lan_set_listener(a.lan, good, 1, "ab", "0123456789abcdefghijklmn", FP),
              PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_lan_set_listener(a.lan, good, 1, "abcd", "short", FP), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_lan_receive(a.lan, (const uint8_t *)"x", 1, SRC1, 0), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_lan_receive(a.lan, (const uint8_t *)"x", 1, SRC1, 4), PKC_ERR_TRUNCATED);
    pkc_lan_free(NULL);
    node_free(&a);
}
