/* Established sessions: frames of every type, sealed records (replay,
 * reordering, tampering, size), rate limits and blocks, forged and stale
 * messages, pings. */
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "proto/frame.h"
#include "proto/handshake.h"
#include "proto_harness.h"
#include "test.h"

static int send_mesh(ph_pair *p, ph_endpoint *from, uint8_t tag)
{
    uint8_t body[8] = {tag, 1, 2, 3, 4, 5, 6, 7};
    pkc_frame f;
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_MESH;
    f.mesh = (pkc_bytes){body, sizeof body};
    (void)p;
    return pkc_session_send(from->s, &f);
}

TEST(proto_traffic, every_frame_type_is_delivered)
{
    ph_pair p;
    CHECK_OK(ph_connect(&p, 100));
    pkc_frame f;
    static const uint8_t y[] = {0x00, 0x00, 0x01, 0x00};
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_SYNC;
    f.sync.kind = PKC_SYNC_MESSAGE;
    f.sync.doc = (pkc_bytes){(const uint8_t *)"doc", 3};
    f.sync.message = (pkc_bytes){y, sizeof y};
    CHECK_OK(pkc_session_send(p.a.s, &f));
    CHECK_OK(send_mesh(&p, &p.a, 9));
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_PEX;
    f.pex.request = 1;
    f.pex.max = 8;
    CHECK_OK(pkc_session_send(p.a.s, &f));
    uint8_t *ann, *msg;
    size_t ann_len, msg_len;
    pkc_announce_params ap = {(uint64_t)p.clock.wall_ms, 0, NULL, 0, 0};
    CHECK_OK(pkc_announce_create(p.id_a, &ap, &ann, &ann_len));
    CHECK_OK(pkc_session_send_encoded(p.a.s, ann, ann_len));
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.to_public_key = pkc_identity_get_public_key(p.id_b);
    mp.to_dh_public_key = pkc_identity_get_dh_public_key(p.id_b);
    mp.payload = (const uint8_t *)"secret";
    mp.payload_len = 6;
    CHECK_OK(pkc_message_create(p.id_a, &mp, &p.clock.clock, &p.rng.rng, &msg, &msg_len, NULL));
    CHECK_OK(pkc_session_send_encoded(p.a.s, msg, msg_len));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 5);
    CHECK_EQ(p.b.frame_type[0], PKC_FRAME_SYNC);
    CHECK_EQ(p.b.frame_type[1], PKC_FRAME_MESH);
    CHECK_EQ(p.b.frame_type[2], PKC_FRAME_PEX);
    CHECK_EQ(p.b.frame_type[3], PKC_FRAME_ANNOUNCE);
    CHECK_EQ(p.b.frame_len[3], ann_len);
    CHECK_MEM(p.b.frame_bytes[3], ann, ann_len);
    CHECK_EQ(p.b.frame_type[4], PKC_FRAME_DATA);
    CHECK_EQ(p.b.opened[4], 1);
    CHECK_EQ(p.b.plain_len[4], 6);
    CHECK_MEM(p.b.plain[4], "secret", 6);
    /* Both directions, and several frames in one record. */
    uint8_t two[64];
    size_t l1, l2;
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_MESH;
    f.mesh = (pkc_bytes){(const uint8_t *)"one", 3};
    CHECK_OK(pkc_frame_encode(&f, two, sizeof two, &l1));
    f.mesh = (pkc_bytes){(const uint8_t *)"two", 3};
    CHECK_OK(pkc_frame_encode(&f, two + l1, sizeof two - l1, &l2));
    CHECK_OK(pkc_session_send_encoded(p.b.s, two, l1 + l2));
    ph_pump(&p);
    CHECK_EQ(p.a.n_frames, 2);
    pkc_session_info ia;
    pkc_session_get_info(p.a.s, &ia);
    CHECK_EQ(ia.stats.frames_in, 2);
    CHECK_EQ(ia.stats.records_in, 3); /* WELCOME, ACCEPT, and the one with two frames */
    free(ann);
    free(msg);
    ph_free(&p);
}

TEST(proto_traffic, sending_needs_an_established_session)
{
    ph_pair p;
    ph_init(&p, 101);
    CHECK_OK(ph_start(&p));
    CHECK_ERR(send_mesh(&p, &p.a, 1), PKC_ERR_STATE);
    CHECK_ERR(pkc_session_ping(p.b.s), PKC_ERR_STATE);
    ph_pump(&p);
    CHECK_OK(send_mesh(&p, &p.a, 1));
    /* Junk given to send_encoded is refused before it is sealed. */
    static const uint8_t junk[] = {0x07, 0x05, 0x01};
    CHECK_ERR(pkc_session_send_encoded(p.a.s, junk, sizeof junk), PKC_ERR_TRUNCATED);
    static const uint8_t zero[] = {0x00, 0x00};
    CHECK_ERR(pkc_session_send_encoded(p.a.s, zero, sizeof zero), PKC_ERR_MALFORMED);
    CHECK_OK(pkc_session_close(p.a.s, PKC_REASON_NONE, NULL));
    CHECK_ERR(send_mesh(&p, &p.a, 1), PKC_ERR_CLOSED);
    ph_free(&p);
}

TEST(proto_traffic, replayed_records_are_dropped_reordered_ones_accepted)
{
    ph_pair p;
    CHECK_OK(ph_connect(&p, 102));
    ph_record r[5];
    for (int i = 0; i < 5; i++) {
        CHECK_OK(send_mesh(&p, &p.a, (uint8_t)i));
        CHECK(ph_take(&p.a, &r[i]));
    }
    /* Out of order: 3, 0, 4, 1, 2 are all accepted once. */
    static const int order[] = {3, 0, 4, 1, 2};
    for (int i = 0; i < 5; i++)
        CHECK_OK(ph_deliver(&p.b, r[order[i]].data, r[order[i]].len));
    CHECK_EQ(p.b.n_frames, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(p.b.frame_bytes[i][2], order[i]);
    /* Each again: replays. */
    for (int i = 0; i < 5; i++)
        CHECK_ERR(ph_deliver(&p.b, r[i].data, r[i].len), PKC_ERR_REPLAY);
    CHECK_EQ(p.b.n_frames, 5);
    pkc_session_info ib;
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.dropped_replayed, 5);
    CHECK_EQ(pkc_session_get_state(p.b.s), PKC_SESSION_ESTABLISHED);
    /* A record that fell out of the 64-record window, never seen. */
    ph_record late;
    CHECK_OK(send_mesh(&p, &p.a, 99));
    CHECK(ph_take(&p.a, &late));
    for (int i = 0; i < 70; i++)
        CHECK_OK(send_mesh(&p, &p.a, 0));
    ph_pump(&p);
    CHECK_ERR(ph_deliver(&p.b, late.data, late.len), PKC_ERR_REPLAY);
    free(late.data);
    for (int i = 0; i < 5; i++)
        free(r[i].data);
    ph_free(&p);
}

TEST(proto_traffic, tampered_truncated_and_oversized_records)
{
    ph_pair p;
    CHECK_OK(ph_connect(&p, 103));
    CHECK_OK(send_mesh(&p, &p.a, 1));
    ph_record r;
    CHECK(ph_take(&p.a, &r));
    /* Every bit flip is caught (the header is authenticated too). */
    for (size_t i = 0; i < r.len; i++) {
        r.data[i] ^= 0x20;
        int rc = ph_deliver(&p.b, r.data, r.len);
        CHECK(rc != 0);
        r.data[i] ^= 0x20;
    }
    /* Truncated at every offset. */
    for (size_t cut = 0; cut < r.len; cut++) {
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, r.data, cut);
        int rc = ph_deliver(&p.b, part, cut);
        free(part);
        CHECK(rc != 0);
    }
    CHECK_EQ(p.b.n_frames, 0);
    CHECK_EQ(pkc_session_get_state(p.b.s), PKC_SESSION_ESTABLISHED);
    /* And the intact record still goes through: nothing changed. */
    CHECK_OK(ph_deliver(&p.b, r.data, r.len));
    CHECK_EQ(p.b.n_frames, 1);
    free(r.data);

    /* A record larger than the frame limit is refused before decryption. */
    size_t big = PKC_FRAME_SIZE_DEFAULT + 64;
    uint8_t *huge = calloc(1, big);
    huge[0] = PKC_REC_SEALED;
    CHECK_ERR(ph_deliver(&p.b, huge, big), PKC_ERR_TOO_LARGE);
    /* And so is sending one. */
    pkc_frame f;
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_MESH;
    f.mesh = (pkc_bytes){huge, PKC_FRAME_SIZE_DEFAULT};
    CHECK_ERR(pkc_session_send(p.a.s, &f), PKC_ERR_TOO_LARGE);
    free(huge);
    ph_free(&p);
}

TEST(proto_traffic, unknown_and_newer_frames_are_skipped)
{
    ph_pair p;
    CHECK_OK(ph_connect(&p, 104));
    /* An unknown type, a newer announcement version, an unknown control
     * action, then a MESH frame that must still arrive. */
    static const uint8_t frames[] = {0xc8, 0x01, 0x02, 0xaa, 0xbb, 0x02, 0x02, 0x02, 0x00,
                                     0x01, 0x01, 0x09, 0x07, 0x01, 0x42};
    CHECK_OK(pkc_session_send_encoded(p.a.s, frames, sizeof frames));
    ph_pump(&p);
    CHECK_EQ(p.b.last_rc, 0);
    CHECK_EQ(p.b.n_frames, 1);
    CHECK_EQ(p.b.frame_type[0], PKC_FRAME_MESH);
    pkc_session_info ib;
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.unknown_skipped, 3);
    CHECK_EQ(ib.stats.dropped_invalid, 0);
    ph_free(&p);
}

TEST(proto_traffic, ping_measures_rtt_and_clock_offset)
{
    ph_pair p;
    CHECK_OK(ph_connect(&p, 105));
    CHECK_OK(pkc_session_ping(p.a.s));
    ph_record ping, pong;
    CHECK(ph_take(&p.a, &ping));
    pkc_manual_clock_advance(&p.clock, 20000); /* 20 ms to B */
    CHECK_OK(ph_deliver(&p.b, ping.data, ping.len));
    CHECK(ph_take(&p.b, &pong));
    pkc_manual_clock_advance(&p.clock, 30000); /* 30 ms back */
    CHECK_OK(ph_deliver(&p.a, pong.data, pong.len));
    pkc_session_info ia;
    pkc_session_get_info(p.a.s, &ia);
    CHECK_EQ(ia.rtt_us, 50000);
    /* Same clock on both sides; the estimate is off by the path asymmetry
     * (B answered at +20 ms, estimated +25 ms). */
    CHECK_EQ(ia.clock_offset_ms, -5);
    CHECK_EQ(p.b.n_frames, 0); /* control frames are the session's own */
    /* The same record again is a replay and changes nothing. */
    CHECK_ERR(ph_deliver(&p.a, pong.data, pong.len), PKC_ERR_REPLAY);
    pkc_session_get_info(p.a.s, &ia);
    CHECK_EQ(ia.rtt_us, 50000);
    free(ping.data);
    free(pong.data);
    ph_free(&p);
}

/* --- Messages through a session ---------------------------------------- */

static int send_data(ph_pair *p, const pkc_identity *from, const uint8_t *payload, size_t n,
                     uint8_t **out, size_t *out_len)
{
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.topic = "t";
    mp.topic_len = 1;
    mp.payload = payload;
    mp.payload_len = n;
    int rc = pkc_message_create(from, &mp, &p->clock.clock, &p->rng.rng, out, out_len, NULL);
    if (rc)
        return rc;
    return pkc_session_send_encoded(p->a.s, *out, *out_len);
}

TEST(proto_traffic, replayed_messages_are_duplicates_not_news)
{
    ph_pair p;
    ph_init(&p, 106);
    pkc_replay *replay;
    pkc_replay_config rc;
    pkc_replay_config_default(&rc);
    CHECK_OK(pkc_replay_new(&rc, &p.rng.rng, &replay));
    p.b.cfg.replay = replay;
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    uint8_t *m;
    size_t n;
    CHECK_OK(send_data(&p, p.id_a, (const uint8_t *)"x", 1, &m, &n));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 1);
    /* The same signed message again, in a new record (so the record layer
     * accepts it), and again a minute later. */
    CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
    ph_pump(&p);
    pkc_manual_clock_advance(&p.clock, 60000000);
    CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 1);
    CHECK_EQ(p.b.n_duplicates, 2);
    /* After the window it is stale, not news either. */
    pkc_manual_clock_advance(&p.clock, 600000000);
    CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 1);
    pkc_session_info ib;
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.dropped_stale, 1);
    CHECK_EQ(ib.stats.duplicates, 2);
    CHECK_EQ(ib.stats.dropped_invalid, 0);
    free(m);
    ph_free(&p);
    pkc_replay_free(replay);
}

TEST(proto_traffic, forged_messages_and_announcements_are_dropped_and_penalised)
{
    ph_pair p;
    ph_init(&p, 107);
    pkc_guard *guard;
    pkc_guard_config gc;
    pkc_guard_config_default(&gc);
    CHECK_OK(pkc_guard_new(&gc, &p.clock.clock, &guard));
    p.b.cfg.guard = guard;
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    uint8_t *m;
    size_t n;
    CHECK_OK(send_data(&p, p.id_a, (const uint8_t *)"genuine", 7, &m, &n));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 1);
    /* A claims a message of B's: B's key, A's bytes. */
    pkc_frame f;
    size_t used;
    CHECK_OK(pkc_frame_decode(m, n, PKC_FRAME_SIZE_MAX, &f, &used));
    memcpy(m + (f.message.from - m), pkc_identity_get_public_key(p.id_b), 32);
    CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
    ph_pump(&p);
    CHECK_EQ(p.b.last_rc, PKC_ERR_BAD_SIGNATURE);
    CHECK_EQ(p.b.n_frames, 1);
    /* A forged announcement. */
    uint8_t *ann;
    size_t ann_len;
    pkc_announce_params ap = {(uint64_t)p.clock.wall_ms, 0, NULL, 0, 0};
    CHECK_OK(pkc_announce_create(p.id_a, &ap, &ann, &ann_len));
    ann[ann_len - 70] ^= 1; /* in the proof-of-work counter */
    CHECK_OK(pkc_session_send_encoded(p.a.s, ann, ann_len));
    ph_pump(&p);
    CHECK_EQ(p.b.last_rc, PKC_ERR_BAD_SIGNATURE);
    CHECK_EQ(p.b.n_frames, 1);
    /* The same forgery inside a peer exchange: the good entry survives. */
    uint8_t *good;
    size_t good_len;
    CHECK_OK(pkc_announce_create(p.id_b, &ap, &good, &good_len));
    pkc_frame fa, fg;
    CHECK_OK(pkc_frame_decode(ann, ann_len, PKC_FRAME_SIZE_MAX, &fa, &used));
    CHECK_OK(pkc_frame_decode(good, good_len, PKC_FRAME_SIZE_MAX, &fg, &used));
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_PEX;
    f.pex.count = 2;
    f.pex.announcements[0] = fa.announce.encoded;
    f.pex.announcements[1] = fg.announce.encoded;
    CHECK_OK(pkc_session_send(p.a.s, &f));
    ph_pump(&p);
    CHECK_EQ(p.b.last_rc, PKC_ERR_BAD_SIGNATURE);
    CHECK_EQ(p.b.n_frames, 2);
    pkc_frame got;
    CHECK_OK(pkc_frame_decode(p.b.frame_bytes[1], p.b.frame_len[1], PKC_FRAME_SIZE_MAX, &got,
                              &used));
    CHECK_EQ(got.pex.count, 1);
    CHECK_EQ(got.pex.announcements[0].len, fg.announce.encoded.len);
    CHECK_MEM(got.pex.announcements[0].data, fg.announce.encoded.data, fg.announce.encoded.len);
    pkc_session_info ib;
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.dropped_invalid, 3);
    /* Three offences of 20 points: not yet blocked; two more and A is. */
    CHECK_EQ(pkc_session_get_state(p.b.s), PKC_SESSION_ESTABLISHED);
    CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
    CHECK_OK(pkc_session_send_encoded(p.a.s, m, n));
    ph_pump(&p);
    CHECK_EQ(pkc_session_get_state(p.b.s), PKC_SESSION_CLOSED);
    CHECK_EQ(p.b.end_error, PKC_ERR_BLOCKED);
    CHECK_EQ(p.a.end_error, PKC_ERR_BLOCKED);
    CHECK_EQ(p.a.end_by_peer, 1);
    CHECK_EQ(p.a.end_reason, PKC_REASON_BLOCKED);
    CHECK_EQ(p.a.end_retry, 60000);
    CHECK(strstr(p.a.end_text, "forged") != NULL);
    free(m);
    free(ann);
    free(good);
    ph_free(&p);
    pkc_guard_free(guard);
}

TEST(proto_traffic, flood_is_limited_then_blocked_then_forgiven)
{
    ph_pair p;
    ph_init(&p, 108);
    pkc_guard *guard;
    pkc_guard_config gc;
    pkc_guard_config_default(&gc);
    CHECK_OK(pkc_guard_new(&gc, &p.clock.clock, &guard));
    p.b.cfg.guard = guard;
    p.b.cfg.msg_rate = 100;
    p.b.cfg.msg_burst = 50;
    CHECK_OK(ph_start(&p));
    ph_pump(&p);

    /* Legitimate traffic at the rate limit is never dropped. */
    for (int i = 0; i < 300; i++) {
        CHECK_OK(send_mesh(&p, &p.a, 1));
        ph_pump(&p);
        pkc_manual_clock_advance(&p.clock, 10000); /* 100 per second */
        if (p.b.n_frames == PH_FRAMES)
            ph_clear_frames(&p.b);
    }
    pkc_session_info ib;
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.frames_in, 300);
    CHECK_EQ(ib.stats.dropped_rate, 0);

    /* A flood, with no time passing: the burst is delivered, the excess is
     * dropped, and after 100 dropped frames (1 point each) A is blocked. */
    ph_clear_frames(&p.b);
    int sent = 0;
    while (pkc_session_get_state(p.b.s) == PKC_SESSION_ESTABLISHED && sent < 1000) {
        CHECK_OK(send_mesh(&p, &p.a, 2));
        sent++;
        ph_pump(&p);
    }
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.frames_in, 300 + 50);
    CHECK_EQ(ib.stats.dropped_rate, 100);
    CHECK_EQ(sent, 150);
    CHECK_EQ(p.b.end_error, PKC_ERR_BLOCKED);
    CHECK_EQ(p.a.end_reason, PKC_REASON_BLOCKED);
    CHECK(strstr(p.a.end_text, "message rate limit") != NULL);

    /* Reconnecting during the block is refused, with the time left. */
    ph_free_sessions(&p);
    p.a.closed = p.b.closed = p.a.established = p.b.established = 0;
    pkc_manual_clock_advance(&p.clock, 30000000);
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    CHECK(!p.a.established && !p.b.established);
    CHECK_EQ(p.a.end_error, PKC_ERR_BLOCKED);
    CHECK_EQ(p.a.end_reason, PKC_REASON_BLOCKED);
    CHECK_EQ(p.a.end_retry, 30000);

    /* After the block, A is welcome again; a second offence blocks longer. */
    ph_free_sessions(&p);
    p.a.closed = p.b.closed = 0;
    pkc_manual_clock_advance(&p.clock, 30000000);
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    CHECK(p.a.established && p.b.established);
    while (pkc_session_get_state(p.b.s) == PKC_SESSION_ESTABLISHED) {
        CHECK_OK(send_mesh(&p, &p.a, 3));
        ph_pump(&p);
    }
    CHECK_EQ(p.a.end_retry, 120000);
    ph_free(&p);
    pkc_guard_free(guard);
}

TEST(proto_traffic, byte_rate_limit)
{
    ph_pair p;
    ph_init(&p, 109);
    p.b.cfg.byte_rate = 100000;
    p.b.cfg.byte_burst = PKC_FRAME_SIZE_DEFAULT + 100;
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    static uint8_t blob[30000];
    pkc_frame f;
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_MESH;
    f.mesh = (pkc_bytes){blob, sizeof blob};
    CHECK_OK(pkc_session_send(p.a.s, &f));
    CHECK_OK(pkc_session_send(p.a.s, &f));
    CHECK_OK(pkc_session_send(p.a.s, &f));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 2);
    CHECK_EQ(p.b.last_rc, PKC_ERR_RATE_LIMITED);
    pkc_manual_clock_advance(&p.clock, 400000); /* 40 kB more allowance */
    CHECK_OK(pkc_session_send(p.a.s, &f));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 3);
    ph_free(&p);
}

TEST(proto_traffic, room_and_relay_delivery)
{
    /* B has the room key; a message for the room arrives opened. A direct
     * message sealed to someone else arrives unopened, for relaying. */
    uint8_t secret[32];
    memset(secret, 0x77, 32);
    pkc_room_key room;
    pkc_room_key_derive(secret, &room);
    ph_pair p;
    ph_init(&p, 110);
    p.b.cfg.rooms = &room;
    p.b.cfg.n_rooms = 1;
    CHECK_OK(ph_start(&p));
    ph_pump(&p);
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.room = &room;
    mp.payload = (const uint8_t *)"room talk";
    mp.payload_len = 9;
    uint8_t *m1, *m2;
    size_t n1, n2;
    CHECK_OK(pkc_message_create(p.id_a, &mp, &p.clock.clock, &p.rng.rng, &m1, &n1, NULL));
    uint8_t carol_seed[32];
    memset(carol_seed, 0xcc, 32);
    pkc_identity *carol;
    CHECK_OK(pkc_identity_from_seed(carol_seed, &carol));
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.to_public_key = pkc_identity_get_public_key(carol);
    mp.to_dh_public_key = pkc_identity_get_dh_public_key(carol);
    mp.payload = (const uint8_t *)"for carol";
    mp.payload_len = 9;
    CHECK_OK(pkc_message_create(p.id_a, &mp, &p.clock.clock, &p.rng.rng, &m2, &n2, NULL));
    CHECK_OK(pkc_session_send_encoded(p.a.s, m1, n1));
    CHECK_OK(pkc_session_send_encoded(p.a.s, m2, n2));
    ph_pump(&p);
    CHECK_EQ(p.b.n_frames, 2);
    CHECK_EQ(p.b.opened[0], 1);
    CHECK_MEM(p.b.plain[0], "room talk", 9);
    CHECK_EQ(p.b.opened[1], 0);
    /* B forwards it to C with one more hop; C opens it. */
    pkc_frame f;
    size_t used;
    CHECK_OK(pkc_frame_decode(p.b.frame_bytes[1], p.b.frame_len[1], PKC_FRAME_SIZE_MAX, &f,
                              &used));
    CHECK_EQ(f.message.hops, 0);
    uint8_t out[64];
    CHECK_OK(pkc_message_open(&f.message, f.type, carol, NULL, 0, out, sizeof out));
    CHECK_MEM(out, "for carol", 9);
    pkc_identity_free(carol);
    free(m1);
    free(m2);
    ph_free(&p);
}

/* A peer whose clock is off: within the tolerance (10 minutes slow, 30 s
 * fast) its messages are heard, beyond it they are dropped as stale,
 * counted, and not held against it. */
TEST(proto_traffic, clock_skew_tolerance)
{
    ph_pair p;
    CHECK_OK(ph_connect(&p, 111));
    static const int64_t offsets_s[] = {-590, -30, 0, 20, 29, 31, 90, 119, 180, -610, -3600};
    static const int heard[] = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
    size_t n_heard = 0, n_stale = 0;
    for (size_t i = 0; i < sizeof offsets_s / sizeof offsets_s[0]; i++) {
        pkc_manual_clock theirs;
        pkc_manual_clock_init(&theirs, 1, p.clock.wall_ms + offsets_s[i] * 1000);
        pkc_message_params mp;
        memset(&mp, 0, sizeof mp);
        mp.type = PKC_FRAME_DATA;
        mp.payload = (const uint8_t *)"tick";
        mp.payload_len = 4;
        uint8_t *m;
        size_t len;
        CHECK_OK(pkc_message_create(p.id_a, &mp, &theirs.clock, &p.rng.rng, &m, &len, NULL));
        CHECK_OK(pkc_session_send_encoded(p.a.s, m, len));
        ph_pump(&p);
        free(m);
        CHECK_EQ(p.b.last_rc, 0);
        n_heard += (size_t)heard[i];
        n_stale += (size_t)!heard[i];
        CHECK_EQ(p.b.n_frames, n_heard);
    }
    pkc_session_info ib;
    pkc_session_get_info(p.b.s, &ib);
    CHECK_EQ(ib.stats.dropped_stale, n_stale);
    CHECK_EQ(ib.stats.dropped_invalid, 0);
    ph_free(&p);
}

/* A session's receive buffers start empty and grow with the records and
 * messages it gets: sizes up and down, across the growth steps, to the
 * largest record and message allowed, all delivered intact. */
TEST(proto_traffic, buffers_grow_with_the_traffic)
{
    ph_pair p;
    CHECK_OK(ph_connect(&p, 120));
    static uint8_t body[PKC_FRAME_SIZE_DEFAULT];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 7 + i / 251);
    /* The largest MESH body: 1 byte of type and 3 of length before it. */
    const size_t largest = PKC_FRAME_SIZE_DEFAULT - 4;
    const size_t sizes[] = {1, 200, 252, 253, 254, 255, 256, 257, 5000, largest, 10, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        pkc_frame f;
        memset(&f, 0, sizeof f);
        f.type = PKC_FRAME_MESH;
        f.mesh = (pkc_bytes){body, sizes[k]};
        ph_clear_frames(&p.b);
        if (sizes[k] > largest) {
            CHECK_EQ(pkc_session_send(p.a.s, &f), PKC_ERR_TOO_LARGE);
            continue;
        }
        CHECK_OK(pkc_session_send(p.a.s, &f));
        ph_pump(&p);
        CHECK_EQ(p.b.last_rc, 0);
        CHECK_EQ(p.b.n_frames, 1);
        CHECK_EQ(p.b.frame_type[0], PKC_FRAME_MESH);
        pkc_frame g;
        size_t used;
        CHECK_OK(pkc_frame_decode(p.b.frame_bytes[0], p.b.frame_len[0], PKC_FRAME_SIZE_MAX, &g,
                                  &used));
        CHECK_EQ(g.mesh.len, sizes[k]);
        CHECK_MEM(g.mesh.data, body, sizes[k]);
    }
    /* Sealed messages, opened into the other buffer. */
    const size_t msg_sizes[] = {1, 300, 40000, 12, 65000};
    for (size_t k = 0; k < sizeof msg_sizes / sizeof msg_sizes[0]; k++) {
        pkc_message_params mp;
        memset(&mp, 0, sizeof mp);
        mp.type = PKC_FRAME_DATA;
        mp.to_public_key = pkc_identity_get_public_key(p.id_b);
        mp.to_dh_public_key = pkc_identity_get_dh_public_key(p.id_b);
        mp.payload = body;
        mp.payload_len = msg_sizes[k];
        uint8_t *msg;
        size_t msg_len;
        CHECK_OK(pkc_message_create(p.id_a, &mp, &p.clock.clock, &p.rng.rng, &msg, &msg_len,
                                    NULL));
        ph_clear_frames(&p.b);
        CHECK_OK(pkc_session_send_encoded(p.a.s, msg, msg_len));
        ph_pump(&p);
        CHECK_EQ(p.b.last_rc, 0);
        CHECK_EQ(p.b.n_frames, 1);
        CHECK_EQ(p.b.opened[0], 1);
        CHECK_EQ(p.b.plain_len[0], msg_sizes[k]);
        CHECK_MEM(p.b.plain[0], body, msg_sizes[k]);
        free(msg);
    }
    ph_free(&p);
}
