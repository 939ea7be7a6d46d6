/* test_node_rules.c: the making and the checks of messages that the node
 * and the page share (src/node/node_rules.c): node_broadcast_make (the
 * envelope and numbering of texts, our own copy in the replay window),
 * node_direct_make and node_direct_open (each refusal of a direct message).
 * Time is a fixed clock: nothing waits. */
#include <stdlib.h>
#include <string.h>

#include "node/node_rules.h"
#include "node/order.h"
#include "test.h"

#define NOW_MS 1800000000000LL

static int64_t clock_ms = NOW_MS;

static uint64_t mono(void *ud)
{
    (void)ud;
    return (uint64_t)clock_ms * 1000;
}

static int64_t wall(void *ud)
{
    (void)ud;
    return clock_ms;
}

static const pkc_clock test_clock = {mono, wall, NULL};

static pkc_identity *ident(uint8_t b)
{
    uint8_t seed[32];
    memset(seed, b, sizeof seed);
    pkc_identity *id = NULL;
    if (pkc_identity_from_seed(seed, &id) != 0)
        abort();
    return id;
}

static void hash_of(const pkc_identity *id, uint8_t out[PKC_PEER_ID_HASH_BYTES])
{
    if (pkc_peer_id_parse(pkc_identity_get_peer_id(id), out) != 0)
        abort();
}

/* A direct message from `from` to `to`, made at time `at_ms`. */
static void make(const pkc_identity *from, const pkc_identity *to, const char *topic,
                 const char *text, int64_t at_ms, uint8_t **frame, size_t *fl, uint8_t id[16])
{
    clock_ms = at_ms;
    if (node_direct_make(from, pkc_identity_get_public_key(to), pkc_identity_get_dh_public_key(to),
                         topic, text, strlen(text), &test_clock, pkc_rng_system(), frame, fl,
                         id) != 0)
        abort();
    clock_ms = NOW_MS;
}

TEST(node_rules, a_direct_message_opens_as_made)
{
    pkc_identity *a = ident(1), *b = ident(2);
    uint8_t ha[20], *frame, *buf;
    size_t fl;
    uint8_t id[16];
    hash_of(a, ha);
    make(a, b, "dm", "hello, b", NOW_MS, &frame, &fl, id);
    pkc_frame f;
    CHECK_EQ(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), NODE_DIRECT_DM);
    CHECK_MEM(f.message.id, id, 16);
    CHECK_EQ(f.message.plaintext.len, 8);
    CHECK_MEM(f.message.plaintext.data, "hello, b", 8);
    free(buf);
    free(frame);
    /* An ack: its plaintext is the 16-byte id; another topic: OTHER. */
    clock_ms = NOW_MS;
    CHECK_OK(node_direct_make(a, pkc_identity_get_public_key(b), pkc_identity_get_dh_public_key(b),
                              "ack", id, 16, &test_clock, pkc_rng_system(), &frame, &fl, NULL));
    CHECK_EQ(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), NODE_DIRECT_ACK);
    CHECK_MEM(f.message.plaintext.data, id, 16);
    free(buf);
    free(frame);
    make(a, b, "ack", "not sixteen", NOW_MS, &frame, &fl, id); /* an ack of the wrong size */
    CHECK_EQ(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), NODE_DIRECT_OTHER);
    free(buf);
    free(frame);
    make(a, b, "later", "x", NOW_MS, &frame, &fl, id);
    CHECK_EQ(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), NODE_DIRECT_OTHER);
    free(buf);
    free(frame);
    pkc_identity_free(a);
    pkc_identity_free(b);
}

TEST(node_rules, direct_messages_refused)
{
    pkc_identity *a = ident(1), *b = ident(2), *c = ident(3);
    uint8_t ha[20], hc[20], *frame, *buf;
    size_t fl;
    uint8_t id[16];
    pkc_frame f;
    hash_of(a, ha);
    hash_of(c, hc);
    /* For someone else: dropped quietly, nothing opened. */
    make(a, c, "dm", "for c", NOW_MS, &frame, &fl, id);
    buf = (uint8_t *)1;
    CHECK_EQ(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), NODE_DIRECT_NOT_OURS);
    CHECK(buf == NULL);
    free(frame);
    /* Not a frame at all, or a frame with bytes after it. */
    CHECK_EQ(node_direct_open(b, ha, (const uint8_t *)"junk", 4, NOW_MS, &f, &buf),
             NODE_DIRECT_NOT_OURS);
    make(a, b, "dm", "hi", NOW_MS, &frame, &fl, id);
    uint8_t *longer = malloc(fl + 1);
    memcpy(longer, frame, fl);
    longer[fl] = 0;
    CHECK_EQ(node_direct_open(b, ha, longer, fl + 1, NOW_MS, &f, &buf), NODE_DIRECT_NOT_OURS);
    free(longer);
    /* Came from another peer than its signer (a relay claiming it). */
    CHECK_ERR(node_direct_open(b, hc, frame, fl, NOW_MS, &f, &buf), PKC_ERR_MISMATCH);
    CHECK(buf == NULL && strstr(pkc_errmsg(), "not its signer") != NULL);
    /* A byte of the signed part changed: the signature. */
    frame[fl - 70] ^= 1;
    CHECK_ERR(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), PKC_ERR_BAD_SIGNATURE);
    CHECK(buf == NULL && strstr(pkc_errmsg(), "rejected") != NULL);
    free(frame);
    /* Addressed to us but sealed to another key: it does not open. */
    clock_ms = NOW_MS;
    CHECK_OK(node_direct_make(a, pkc_identity_get_public_key(b), pkc_identity_get_dh_public_key(c),
                              "dm", "x", 1, &test_clock, pkc_rng_system(), &frame, &fl, NULL));
    CHECK(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf) < 0 && buf == NULL);
    CHECK(strstr(pkc_errmsg(), "does not open") != NULL);
    free(frame);
    /* Made 7 days ago and a minute: stale; 7 days less a minute: taken; 31 s ahead: refused. */
    make(a, b, "dm", "old", NOW_MS - NODE_DIRECT_MAX_AGE_MS - 60000, &frame, &fl, id);
    CHECK_ERR(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), PKC_ERR_STALE);
    CHECK(strstr(pkc_errmsg(), "rejected") != NULL);
    free(frame);
    make(a, b, "dm", "old", NOW_MS - NODE_DIRECT_MAX_AGE_MS + 60000, &frame, &fl, id);
    CHECK_EQ(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), NODE_DIRECT_DM);
    free(buf);
    free(frame);
    make(a, b, "dm", "future", NOW_MS + NODE_MSG_MAX_SKEW_MS + 1000, &frame, &fl, id);
    CHECK_ERR(node_direct_open(b, ha, frame, fl, NOW_MS, &f, &buf), PKC_ERR_STALE);
    free(frame);
    pkc_identity_free(a);
    pkc_identity_free(b);
    pkc_identity_free(c);
}

TEST(node_rules, broadcasts_are_numbered_and_remembered)
{
    pkc_identity *a = ident(1);
    uint8_t secret[32];
    memset(secret, 9, sizeof secret);
    pkc_room_key key;
    pkc_room_key_derive(secret, &key);
    pkc_replay_config rc;
    pkc_replay_config_default(&rc);
    pkc_replay *replay;
    CHECK_OK(pkc_replay_new(&rc, pkc_rng_system(), &replay));
    node_bcast_state st = {0, 0};
    uint64_t epoch_last = NOW_MS + 5; /* an epoch used before, above the clock */
    uint8_t *frame;
    size_t fl;
    uint8_t id[16];
    pkc_frame own;
    int replay_rc = -1;
    for (uint64_t k = 1; k <= 2; k++) {
        CHECK_OK(node_broadcast_make(a, &key, "", "text", 4, &st, &epoch_last, replay, &test_clock,
                                     pkc_rng_system(), NOW_MS, &frame, &fl, id, &own, &replay_rc));
        CHECK_EQ(replay_rc, 0);
        CHECK(st.epoch == NOW_MS + 6 && st.seq == k);
        CHECK_MEM(own.message.id, id, 16);
        CHECK((own.message.flags & PKC_MSG_ROOM) && !(own.message.flags & PKC_MSG_DIRECT));
        /* Our own copy is never taken back. */
        CHECK_ERR(pkc_replay_check(replay, id, pkc_identity_get_public_key(a),
                                   (int64_t)own.message.timestamp_ms, NOW_MS),
                  PKC_ERR_REPLAY);
        /* A peer opens it: the envelope gives the epoch and number. */
        uint8_t buf[256];
        CHECK_OK(pkc_message_open(&own.message, PKC_FRAME_DATA, a, &key, 1, buf, sizeof buf));
        uint64_t epoch, seq;
        node_order_msg om;
        CHECK_OK(node_bcast_open(&own.message, &epoch, &seq, &om));
        CHECK(epoch == NOW_MS + 6 && seq == k && om.len == 4 && memcmp(om.text, "text", 4) == 0);
        free(frame);
    }
    /* Another topic (a document update): not numbered, sent as it is. */
    CHECK_OK(node_broadcast_make(a, &key, "y:note", "upd", 3, &st, &epoch_last, replay, &test_clock,
                                 pkc_rng_system(), NOW_MS, &frame, &fl, id, &own, &replay_rc));
    CHECK(st.seq == 2 && own.message.topic.len == 6);
    free(frame);
    pkc_replay_free(replay);
    pkc_identity_free(a);
}
