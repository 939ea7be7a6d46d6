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
    pkc_peer_id_hash(pkc_identity_public_key(p.id_a), a_hash);
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
