/*
 * The attacks of the proto attack catalogue (docs/proto.md, "Attack
 * catalogue") that issue 15 raised, each run against two sessions wired in
 * memory beside the same scenario without the attack (the baseline), so
 * that each test shows both what the defence lets through and what it stops.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "crypto/peerid.h"
#include "proto/handshake.h"
#include "proto/replay.h"
#include "proto_harness.h"
#include "test.h"

/* --- Refusals ---------------------------------------------------------- */

/* A relay on the path that replaces one record of the responder's with a
 * REFUSE of its own making. */
typedef struct forger {
    uint8_t replace;   /* the record kind to replace */
    int with_mac;      /* append 32 bytes of garbage where a MAC would be */
    int done;
} forger;

static int forge_refuse(void *user, int from_initiator, ph_record *r)
{
    forger *f = user;
    if (from_initiator || r->data[0] != f->replace || f->done)
        return 1;
    pkc_buf b = PKC_BUF_INIT;
    static const char text[] = "blocked forever";
    pkc_hs_refuse ref = {PKC_REASON_BLOCKED, {(const uint8_t *)text, sizeof text - 1}, UINT64_MAX,
                         NULL};
    if (pkc_hs_encode_refuse(&b, &ref) != 0)
        abort();
    if (f->with_mac) {
        uint8_t junk[32];
        memset(junk, 0x5a, sizeof junk);
        pkc_buf_push(&b, junk, sizeof junk);
    }
    free(r->data);
    r->data = pkc_buf_steal(&b, &r->len);
    f->done = 1;
    return 1;
}

/* Baseline: a genuine refusal, once both sides hold the handshake key, is
 * authenticated and its retry time is taken (cut to an hour). Attack: a
 * REFUSE forged on the path, before or after the key exchange, with or
 * without a made-up MAC, still ends that handshake (as dropping the channel
 * would) but says it is not authenticated and gives no retry time; it
 * used to be taken verbatim (retry 2^64 - 1 ms). After establishment, a
 * REFUSE is not a record a session accepts. */
TEST(proto_attacks, forged_refuse_is_not_taken_at_its_word)
{
    /* Baseline: B blocks A (its guard), and says so with a MAC. */
    ph_pair p;
    ph_init(&p, 300);
    pkc_guard *guard;
    pkc_guard_config gc;
    pkc_guard_config_default(&gc);
    CHECK_OK(pkc_guard_new(&gc, &p.clock.clock, &guard));
    uint8_t a_hash[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_hash(pkc_identity_get_public_key(p.id_a), a_hash);
    CHECK_ERR(pkc_guard_penalise(guard, a_hash, 100, "flooding"), PKC_ERR_BLOCKED);
    p.b.cfg.guard = guard;
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    CHECK(!p.a.established);
    CHECK_EQ(p.a.end_reason, PKC_REASON_BLOCKED);
    CHECK_EQ(p.a.end_retry, 60000);
    CHECK_EQ(p.a.end_authenticated, 1);
    ph_free(&p);
    pkc_guard_free(guard);

    /* A genuine refusal with a longer block than anyone reports: cut. */
    ph_init(&p, 301);
    gc.block_ms = gc.block_max_ms = 36000000; /* 10 hours */
    CHECK_OK(pkc_guard_new(&gc, &p.clock.clock, &guard));
    CHECK_ERR(pkc_guard_penalise(guard, a_hash, 100, "flooding"), PKC_ERR_BLOCKED);
    p.b.cfg.guard = guard;
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    CHECK_EQ(p.a.end_reason, PKC_REASON_BLOCKED);
    CHECK_EQ(p.a.end_retry, PKC_RETRY_AFTER_MAX_MS);
    CHECK_EQ(p.a.end_authenticated, 1);
    ph_free(&p);
    pkc_guard_free(guard);

    /* Attacks: a forged REFUSE in place of ACCEPT (A holds k) without and
     * with a made-up MAC, and in place of WELCOME (no key yet). */
    static const struct {
        uint8_t replace;
        int with_mac;
    } cases[] = {{PKC_REC_ACCEPT, 0}, {PKC_REC_ACCEPT, 1}, {PKC_REC_WELCOME, 0},
                 {PKC_REC_WELCOME, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        forger f = {cases[i].replace, cases[i].with_mac, 0};
        ph_init(&p, 302);
        p.relay = forge_refuse;
        p.relay_user = &f;
        CHECK_OK(ph_start(&p));
        ph_pump(&p);
        CHECK(f.done);
        CHECK(!p.a.established);
        CHECK_EQ(p.a.closed, 1);
        CHECK_EQ(p.a.end_by_peer, 1);
        CHECK_EQ(p.a.end_reason, PKC_REASON_BLOCKED); /* the claim, for people */
        CHECK_EQ(p.a.end_retry, 0);
        CHECK_EQ(p.a.end_authenticated, 0);
        CHECK(strstr(p.a.end_text, "unauthenticated") != NULL);
        ph_free(&p);
    }

    /* After establishment: a REFUSE, forged or not, is dropped as a record
     * that has no place there, and the session goes on. */
    CHECK_OK(ph_connect(&p, 303));
    pkc_buf b = PKC_BUF_INIT;
    pkc_hs_refuse ref = {PKC_REASON_BLOCKED, {(const uint8_t *)"go", 2}, UINT64_MAX, NULL};
    CHECK_OK(pkc_hs_encode_refuse(&b, &ref));
    CHECK_ERR(ph_deliver(&p.a, b.data, b.len), PKC_ERR_MALFORMED);
    pkc_buf_free(&b);
    CHECK_EQ(pkc_session_get_state(p.a.s), PKC_SESSION_ESTABLISHED);
    CHECK_OK(pkc_session_ping(p.a.s));
    ph_pump(&p);
    pkc_session_info ia;
    pkc_session_get_info(p.a.s, &ia);
    CHECK(ia.rtt_us > 0);
    CHECK_EQ(p.a.closed, 0);
    ph_free(&p);
}

/* --- Peer exchange ----------------------------------------------------- */

/* n announcements of distinct identities (or of one, when `same`), and a
 * PEX response frame of them. */
typedef struct pex_set {
    uint8_t *ann[PKC_PEX_MAX];
    size_t len[PKC_PEX_MAX];
    pkc_frame f;
} pex_set;

static void pex_set_make(pex_set *x, const ph_pair *p, size_t n, int same)
{
    memset(x, 0, sizeof *x);
    x->f.type = PKC_FRAME_PEX;
    x->f.pex.count = n;
    for (size_t i = 0; i < n; i++) {
        uint8_t seed[32];
        memset(seed, 0x40 + (same ? 0 : (int)i), sizeof seed);
        pkc_identity *id;
        CHECK_OK(pkc_identity_from_seed(seed, &id));
        pkc_announce_params ap = {(uint64_t)p->clock.wall_ms, 0, NULL, 0, 0};
        CHECK_OK(pkc_announce_create(id, &ap, &x->ann[i], &x->len[i]));
        pkc_identity_free(id);
        /* The frame's 2 bytes of type and length, then the record. */
        x->f.pex.announcements[i] = (pkc_bytes){x->ann[i] + 3, x->len[i] - 3};
        CHECK_EQ(x->ann[i][2], 1); /* announcements of this size: a 2-byte length */
    }
}

static void pex_set_free(pex_set *x)
{
    for (size_t i = 0; i < PKC_PEX_MAX; i++)
        free(x->ann[i]);
}

/* Sends `frames` copies of the set's PEX response at once and delivers
 * them. */
static void pex_flood(ph_pair *p, pex_set *x, int frames)
{
    for (int k = 0; k < frames; k++) {
        CHECK_OK(pkc_session_send(p->a.s, &x->f));
        ph_pump(p);
        if (p->b.n_frames >= PH_FRAMES)
            ph_clear_frames(&p->b);
    }
}

/* Baseline: an honest peer's PEX responses are delivered whole, each new
 * entry verified once, a repeated response not verified again, 64 new
 * entries a second for 10 s without a loss. Attacks: 60 responses of 64
 * copies of one announcement, which used to cost 3 840 signature checks,
 * cost one; responses of 64 distinct ones at once, which used to cost 64
 * checks for one token of the frame rate, cost a token per check: the
 * flooder runs out of tokens after at most 400 checks, and is blocked. */
TEST(proto_attacks, peer_exchange_work_is_charged_to_the_sender)
{
    ph_pair p;
    pex_set eight, all, one;
    pkc_session_info ib;

    /* Baseline: 8 entries, then the same response again; then 64 new ones
     * a second, for 10 seconds (the rate allows 200 checks a second). */
    CHECK_OK(ph_connect(&p, 310));
    pex_set_make(&eight, &p, 8, 0);
    CHECK_HELPER();
    pex_flood(&p, &eight, 2);
    CHECK_EQ(p.b.n_frames, 2);
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.signatures_checked, 8);
    CHECK_EQ(ib.stats.verified_repeats, 8);
    pex_set_make(&all, &p, PKC_PEX_MAX, 0);
    CHECK_HELPER();
    ph_clear_frames(&p.b);
    for (int k = 0; k < 10; k++) {
        pex_flood(&p, &all, 1);
        pkc_manual_clock_advance(&p.clock, 1000000);
    }
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(p.b.n_frames, 10);
    CHECK_EQ(ib.stats.dropped_rate, 0);
    CHECK(ib.stats.signatures_checked >= 8 + PKC_PEX_MAX); /* repeats of evicted slots again */
    CHECK_EQ(pkc_session_get_state(p.b.s), PKC_SESSION_ESTABLISHED);
    ph_free(&p);
    pex_set_free(&all);
    pex_set_free(&eight);

    /* Attack: 60 responses of 64 copies of one announcement. */
    CHECK_OK(ph_connect(&p, 311));
    pex_set_make(&one, &p, PKC_PEX_MAX, 1);
    CHECK_HELPER();
    pex_flood(&p, &one, 60);
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.signatures_checked, 1);
    CHECK_EQ(ib.stats.verified_repeats, 60 * PKC_PEX_MAX - 1);
    CHECK_EQ(ib.stats.dropped_rate, 0);
    CHECK_EQ(pkc_session_get_state(p.b.s), PKC_SESSION_ESTABLISHED);
    ph_free(&p);
    pex_set_free(&one);

    /* Attack: responses of 64 distinct announcements, at once, until the
     * flooder is stopped. */
    CHECK_OK(ph_connect(&p, 312));
    pex_set_make(&all, &p, PKC_PEX_MAX, 0);
    CHECK_HELPER();
    int sent = 0;
    while (sent < 1000 && pkc_session_get_state(p.b.s) == PKC_SESSION_ESTABLISHED) {
        pex_flood(&p, &all, 1);
        sent++;
    }
    pkc_session_get_info(p.b.s, &ib);
    /* No more checks than the burst of 400 tokens (the old cost of these
     * frames: 64 each, over 6 000); then each entry or frame refused cost
     * a point, and 100 blocked the flooder. */
    CHECK(ib.stats.signatures_checked <= p.b.cfg.msg_burst);
    CHECK(sent < 120);
    CHECK_EQ(ib.stats.dropped_rate, 100);
    CHECK_EQ(pkc_session_get_state(p.b.s), PKC_SESSION_CLOSED);
    CHECK_EQ(p.b.end_error, PKC_ERR_BLOCKED);
    CHECK_EQ(p.a.end_reason, PKC_REASON_BLOCKED);
    ph_free(&p);
    pex_set_free(&all);
}

/* --- Replay window ----------------------------------------------------- */

/* A message of `id`'s, stamped `offset_ms` from the pair's clock, relayed
 * by A to B. Returns 1 if B delivered it. */
static int relay_message(ph_pair *p, const pkc_identity *id, int64_t offset_ms)
{
    pkc_manual_clock theirs;
    pkc_manual_clock_init(&theirs, 1, p->clock.wall_ms + offset_ms);
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.payload = (const uint8_t *)"x";
    mp.payload_len = 1;
    uint8_t *m;
    size_t n;
    if (pkc_message_create(id, &mp, &theirs.clock, &p->rng.rng, &m, &n, NULL) != 0)
        abort();
    if (p->b.n_frames >= PH_FRAMES)
        ph_clear_frames(&p->b);
    size_t before = p->b.n_frames;
    if (pkc_session_send_encoded(p->a.s, m, n) != 0)
        abort();
    free(m);
    ph_pump(p);
    return p->b.n_frames > before;
}

static pkc_identity *identity_of(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    pkc_identity *id = NULL;
    if (pkc_identity_from_seed(seed, &id) != 0)
        abort();
    return id;
}

/* An honest sender at 2 messages a second for 60 s, through A (an honest
 * relay) to B, whose shared window holds `capacity` ids; meanwhile
 * `senders` attacking identities together send `rate` valid messages a
 * second stamped as far ahead as B allows (skew - 1 s). `sharing` of the
 * attackers are picked to fall in the honest sender's bucket of B's window,
 * the others not to. Returns how many of the 120 honest messages B
 * delivered. */
static int poison(uint64_t seed, size_t capacity, int senders, int sharing, int rate)
{
    ph_pair p;
    ph_init(&p, seed);
    pkc_replay_config rc;
    pkc_replay_config_default(&rc);
    rc.capacity = capacity;
    pkc_replay *w;
    if (pkc_replay_new(&rc, &p.rng.rng, &w) != 0)
        abort();
    p.b.cfg.replay = w;
    if (ph_start(&p) != 0)
        abort();
    ph_pump(&p);
    pkc_identity *honest = identity_of(0xc1), *attackers[64];
    uint32_t hb = pkc_replay_bucket_of(
        w, pkc_replay_sender_hash(w, pkc_identity_get_public_key(honest)));
    int have = 0, shared = 0;
    for (int fill = 0x10; have < senders && fill < 0x10 + 20000; fill++) {
        uint8_t seed32[32];
        memset(seed32, 0, sizeof seed32);
        seed32[0] = (uint8_t)fill;
        seed32[1] = (uint8_t)(fill >> 8);
        pkc_identity *id;
        if (pkc_identity_from_seed(seed32, &id) != 0)
            abort();
        int same = pkc_replay_bucket_of(
                       w, pkc_replay_sender_hash(w, pkc_identity_get_public_key(id))) == hb;
        if (same ? shared < sharing : have - shared < senders - sharing) {
            attackers[have++] = id;
            shared += same;
        } else {
            pkc_identity_free(id);
        }
    }
    if (have < senders)
        abort();
    int heard = 0, sent = 0;
    for (int half = 0; half < 120; half++) {
        for (int k = 0; k < rate / 2; k++) {
            (void)relay_message(&p, attackers[sent++ % senders], rc.max_skew_ms - 1000);
            pkc_manual_clock_advance(&p.clock, 500000 / (uint64_t)(rate / 2 + 1));
        }
        heard += relay_message(&p, honest, 0);
        pkc_manual_clock_advance(&p.clock,
                                 500000 - (uint64_t)(rate / 2) * (500000 / (uint64_t)(rate / 2 + 1)));
    }
    pkc_identity_free(honest);
    for (int k = 0; k < senders; k++)
        pkc_identity_free(attackers[k]);
    ph_free(&p);
    pkc_replay_free(w);
    return heard;
}

/* Baseline: 120 of 120 honest messages heard. Attack: one sender at 40
 * valid messages a second stamped 29 s ahead (the 140 a second at
 * +119 s into 16 384 ids, scaled to a window of 1024 and the 30 s skew). It
 * used to fill the window within 26 s, after which B refused every current
 * message (51 of 120 heard, measured on the earlier window); now the
 * sender only ever holds its share (32 ids), only its own messages are
 * refused what its forgotten ones covered, and all 120 are heard, also
 * when it shares the honest sender's bucket. The same spread over 64
 * identities (3 of them in the honest sender's bucket) into a window of
 * 2048: they fill it, everyone's oldest arrivals go, and no current
 * message is refused. What remains (proto_replay/
 * a_crowded_bucket_refuses_newcomers): a sender new to a bucket whose 8
 * places all hold other senders' ids waits until one frees up. */
TEST(proto_attacks, future_timestamps_do_not_poison_the_replay_window)
{
    CHECK_EQ(poison(320, 1024, 1, 0, 0), 120);
    CHECK_EQ(poison(321, 1024, 1, 0, 40), 120);
    CHECK_EQ(poison(323, 1024, 1, 1, 40), 120);
    CHECK_EQ(poison(322, 2048, 64, 3, 40), 120);
}

/* Replay protection is on without configuration: a session given no
 * window keeps its own. Baseline: a message delivered once. Attack: the
 * same signed message again, in a new record: a duplicate, not news (it
 * used to be delivered again). */
TEST(proto_attacks, sessions_refuse_replays_by_default)
{
    ph_pair p;
    CHECK_OK(ph_connect(&p, 330));
    CHECK(p.b.cfg.replay == NULL);
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.payload = (const uint8_t *)"once";
    mp.payload_len = 4;
    uint8_t *m;
    size_t n;
    CHECK_OK(pkc_message_create(p.id_a, &mp, &p.clock.clock, &p.rng.rng, &m, &n, NULL));
    CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 1);
    CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 1);
    CHECK_EQ(p.b.n_duplicates, 1);
    free(m);
    ph_free(&p);
}

/* A node restarts: its window was in memory. Baseline (what a restart did
 * before there was anything to restore): a new window takes a replay of a
 * message the old one had seen 5 minutes before. Now: restored from a
 * final save, or told it restarted without one, the new window refuses
 * it, and takes new messages (at once after a final save, after
 * max_skew otherwise). */
TEST(proto_attacks, a_restart_does_not_reopen_the_replay_window)
{
    for (int mode = 0; mode < 3; mode++) { /* 0 nothing, 1 saved, 2 restart() */
        ph_pair p;
        ph_init(&p, 340);
        pkc_replay_config rc;
        pkc_replay_config_default(&rc);
        rc.capacity = 256;
        pkc_replay *w;
        CHECK_OK(pkc_replay_new(&rc, &p.rng.rng, &w));
        p.b.cfg.replay = w;
        CHECK_OK(ph_start(&p));
        ph_pump(&p);
        pkc_message_params mp;
        memset(&mp, 0, sizeof mp);
        mp.type = PKC_FRAME_DATA;
        mp.payload = (const uint8_t *)"old";
        mp.payload_len = 3;
        uint8_t *m;
        size_t n;
        CHECK_OK(pkc_message_create(p.id_a, &mp, &p.clock.clock, &p.rng.rng, &m, &n, NULL));
        CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
        ph_pump(&p);
        CHECK_EQ(p.b.n_frames, 1);

        /* B stops (saving its window if mode 1) and starts 5 minutes on. */
        uint8_t *saved = NULL;
        size_t saved_len = 0;
        if (mode == 1)
            CHECK_OK(pkc_replay_export(w, PKC_REPLAY_EXPORT_FINAL, &saved, &saved_len));
        pkc_replay_free(w);
        ph_free_sessions(&p);
        pkc_manual_clock_advance(&p.clock, 300000000);
        CHECK_OK(pkc_replay_new(&rc, &p.rng.rng, &w));
        if (mode == 1)
            CHECK_OK(pkc_replay_import(w, saved, saved_len, p.clock.wall_ms));
        if (mode == 2)
            pkc_replay_restart(w, p.clock.wall_ms);
        free(saved);
        p.b.cfg.replay = w;
        p.a.established = p.b.established = p.a.closed = p.b.closed = 0;
        CHECK_OK(ph_start(&p));
        ph_pump(&p);
        CHECK(p.b.established);

        /* The replay. */
        CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
        ph_pump(&p);
        CHECK_EQ(p.b.n_frames, mode == 0 ? 1 : 0);
        free(m);
        /* A new message now, and one after max_skew. */
        ph_clear_frames(&p.b);
        CHECK_EQ(relay_message(&p, p.id_a, 0), mode != 2);
        pkc_manual_clock_advance(&p.clock, (uint64_t)rc.max_skew_ms * 1000 + 1000);
        CHECK_EQ(relay_message(&p, p.id_a, 0), 1);
        ph_free(&p);
        pkc_replay_free(w);
    }
}

/* --- Sybil ------------------------------------------------------------- */

/* Adds up the proof-of-work counters of the AUTHs that pass: pkc tries
 * 0, 1, 2, ..., so a counter c cost c + 1 hashes (none when no work was
 * asked, and the counter is 0). */
static int count_work(void *user, int from_initiator, ph_record *r)
{
    uint64_t *counters = user;
    pkc_hs_auth a;
    if (from_initiator && r->data[0] == PKC_REC_AUTH &&
        pkc_hs_decode_auth(r->data, r->len, &a) == 0)
        *counters += a.pow_counter;
    return 1;
}

/* What a fresh identity costs a Sybil attacker (or a flooder coming back
 * under a new name after a block): 16 new identities connect to B. Proof
 * of work off (the baseline): a handshake each, no work. On, at 12 bits:
 * 2^12 = 4096 hashes each on average, bound to that handshake, so none can
 * be reused; one without the work is refused. (Invitations and known-peer
 * admission shut strangers out altogether: proto_session/invitation_required,
 * proto_session/known_peers_only.) */
TEST(proto_attacks, sybil_identities_cost_work_when_asked)
{
    uint64_t counters[2] = {0, 0};
    for (int on = 0; on < 2; on++) {
        for (int i = 0; i < 16; i++) {
            ph_pair p;
            ph_init(&p, 350 + (uint64_t)i);
            pkc_identity_free(p.id_a);
            p.id_a = identity_of((uint8_t)(0x80 + i));
            p.a.cfg.identity = p.id_a;
            p.b.cfg.pow_bits = on ? 12 : 0;
            p.relay = count_work;
            p.relay_user = &counters[on];
            CHECK_OK(ph_start(&p));
            ph_pump(&p);
            CHECK(p.a.established && p.b.established);
            ph_free(&p);
        }
    }
    /* Off: no work. On: 16 x 4096 hashes expected; the draw of these 16
     * handshakes is fixed by their seeds, and a loose bound says the work
     * was done. */
    CHECK_EQ(counters[0], 0);
    uint64_t hashes = counters[1] + 16;
    CHECK(hashes >= 16 * 4096 / 3 && hashes <= 16 * 4096 * 3);
    /* The attacker who skips the work is refused. */
    ph_pair p;
    ph_init(&p, 370);
    p.b.cfg.pow_bits = 12;
    p.a.cfg.max_pow_bits = 0;
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    CHECK(!p.b.established);
    CHECK_EQ(p.a.end_error, PKC_ERR_POW);
    ph_free(&p);
}
