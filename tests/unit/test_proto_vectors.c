/* The C implementation against tests/vectors/{handshake,frames,identity-export}.json,
 * which an independent Python implementation of docs/protocol.md wrote
 * (tests/vectors/gen_proto.py): byte for byte, in both directions (what C
 * writes equals the vector; what the vector says, C reads). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/handshake.h"
#include "proto/replay.h"
#include "proto_harness.h"
#include "test.h"
#include "vectors.h"
#include "util/rng.h"

static uint64_t num(json_t *o, const char *key)
{
    return (uint64_t)json_integer_value(json_object_get(o, key));
}

/* Hex of `key` into a malloc'd buffer. */
static uint8_t *bytes(json_t *o, const char *key, size_t *len)
{
    const char *h = pkc_test_json_str(o, key);
    size_t n = strlen(h) / 2;
    uint8_t *b = malloc(n ? n : 1);
    *len = pkc_test_unhex(h, b, n);
    return b;
}

/* Checks that the next record `e` sent is the vector's `key`, and hands it
 * to `to`. */
static void expect_record(ph_endpoint *e, json_t *v, const char *key, ph_endpoint *to)
{
    ph_record r;
    size_t want_len;
    uint8_t *want = bytes(v, key, &want_len);
    CHECK(ph_take(e, &r));
    CHECK_EQ(r.len, want_len);
    CHECK_MEM(r.data, want, want_len);
    if (to)
        CHECK_OK(ph_deliver(to, r.data, r.len));
    free(r.data);
    free(want);
}

/* Two sessions set up as a transcript says. */
typedef struct run {
    ph_pair p;
    ph_tape_rng tape_a, tape_b; /* each gives exactly its side's ephemeral secret */
    uint8_t e_i[32], e_r[32], proof[32];
} run;

/* Sets up `t` and starts the initiator; `expected` (may be NULL) is the
 * peer it means to reach. */
static void transcript_start(json_t *v, run *t, const uint8_t *expected)
{
    uint8_t seed_a[32], seed_b[32], fp_i[32], fp_r[32];
    ph_pair *p = &t->p;
    pkc_test_unhex(pkc_test_json_str(v, "initiator_seed"), seed_a, 32);
    pkc_test_unhex(pkc_test_json_str(v, "responder_seed"), seed_b, 32);
    pkc_test_unhex(pkc_test_json_str(v, "initiator_fingerprint"), fp_i, 32);
    pkc_test_unhex(pkc_test_json_str(v, "responder_fingerprint"), fp_r, 32);
    pkc_test_unhex(pkc_test_json_str(v, "initiator_ephemeral_secret"), t->e_i, 32);
    pkc_test_unhex(pkc_test_json_str(v, "responder_ephemeral_secret"), t->e_r, 32);
    int has_proof = json_is_string(json_object_get(v, "proof_secret"));
    if (has_proof)
        pkc_test_unhex(pkc_test_json_str(v, "proof_secret"), t->proof, 32);

    ph_init(p, 0);
    pkc_identity_free(p->id_a);
    pkc_identity_free(p->id_b);
    CHECK_OK(pkc_identity_from_seed(seed_a, &p->id_a));
    CHECK_OK(pkc_identity_from_seed(seed_b, &p->id_b));
    p->clock.wall_ms = (int64_t)num(v, "wall_ms");
    p->a.cfg.identity = p->id_a;
    p->b.cfg.identity = p->id_b;
    p->a.cfg.local_fingerprint = p->b.cfg.remote_fingerprint = fp_i;
    p->a.cfg.remote_fingerprint = p->b.cfg.local_fingerprint = fp_r;
    p->a.cfg.capabilities = num(v, "initiator_capabilities");
    p->b.cfg.capabilities = num(v, "responder_capabilities");
    p->b.cfg.pow_bits = (uint32_t)num(v, "pow_bits");
    p->b.cfg.require = (unsigned)num(v, "require");
    p->a.cfg.expected_peer = expected;
    if (has_proof) {
        p->a.cfg.proof_secret = t->proof;
        p->b.cfg.proof_secrets = (const uint8_t(*)[32])&t->proof;
        p->b.cfg.n_proof_secrets = 1;
    }
    ph_tape_init(&t->tape_a, t->e_i, 32);
    ph_tape_init(&t->tape_b, t->e_r, 32);
    CHECK_OK(pkc_session_new(&p->a.cfg, &p->a.cb, &p->a, &p->clock.clock, &t->tape_a.rng,
                             &p->a.s));
    CHECK_OK(pkc_session_new(&p->b.cfg, &p->b.cb, &p->b, &p->clock.clock, &t->tape_b.rng,
                             &p->b.s));
    CHECK_OK(pkc_session_start(p->a.s));
}

static void run_transcript(json_t *v)
{
    run t;
    transcript_start(v, &t, NULL);
    CHECK_HELPER();
    int has_proof = json_is_string(json_object_get(v, "proof_secret"));
    expect_record(&t.p.a, v, "hello", &t.p.b);
    CHECK_HELPER();
    expect_record(&t.p.b, v, "welcome", &t.p.a);
    CHECK_HELPER();
    expect_record(&t.p.a, v, "auth", &t.p.b);
    CHECK_HELPER();
    expect_record(&t.p.b, v, "accept", &t.p.a);
    CHECK_HELPER();
    CHECK(t.p.a.established && t.p.b.established);
    CHECK_EQ(t.tape_a.pos, 32);
    CHECK_EQ(t.tape_b.pos, 32);

    pkc_session_info ia, ib;
    pkc_session_get_info(t.p.a.s, &ia);
    pkc_session_get_info(t.p.b.s, &ib);
    uint8_t sid[32];
    pkc_test_unhex(pkc_test_json_str(v, "session_id"), sid, 32);
    CHECK_MEM(ia.session_id, sid, 32);
    CHECK_MEM(ib.session_id, sid, 32);
    CHECK_EQ(ib.proof_key, has_proof ? 0 : -1);

    /* The AUTH's proof of work is the vector's. */
    size_t alen;
    uint8_t *auth = bytes(v, "auth", &alen);
    pkc_hs_auth a;
    CHECK_OK(pkc_hs_decode_auth(auth, alen, &a));
    CHECK_EQ_U64(a.pow_counter, num(v, "pow_counter"));
    free(auth);

    /* First sealed records each way: the session keys are the vector's. */
    size_t flen;
    uint8_t *frames = bytes(v, "initiator_first_frames", &flen);
    CHECK_OK(pkc_session_send_encoded(t.p.a.s, frames, flen));
    free(frames);
    expect_record(&t.p.a, v, "initiator_first_record", &t.p.b);
    CHECK_HELPER();
    CHECK_EQ(t.p.b.n_frames, 1);
    frames = bytes(v, "responder_first_frames", &flen);
    CHECK_OK(pkc_session_send_encoded(t.p.b.s, frames, flen));
    free(frames);
    expect_record(&t.p.b, v, "responder_first_record", &t.p.a);
    CHECK_HELPER();
    ph_free(&t.p);
}

/* The refusals of a transcript, sent once both sides hold the handshake
 * key: C's initiator, meant for another peer, sends exactly the vector's
 * REFUSE (MAC included) after WELCOME, and C's responder takes it as
 * authentic; the vector's REFUSE from the responder, in place of ACCEPT, is
 * authentic to C's initiator with its retry time, and altered in any byte,
 * it is not. */
static void run_refusals(json_t *v)
{
    uint8_t other[PKC_PEER_ID_HASH_BYTES];
    pkc_test_unhex(pkc_test_json_str(v, "expected_peer_for_refusal"), other, sizeof other);
    run t;
    transcript_start(v, &t, other);
    CHECK_HELPER();
    expect_record(&t.p.a, v, "hello", &t.p.b);
    CHECK_HELPER();
    expect_record(&t.p.b, v, "welcome", NULL);
    CHECK_HELPER();
    size_t want_len;
    uint8_t *want = bytes(v, "welcome", &want_len);
    CHECK_ERR(ph_deliver(&t.p.a, want, want_len), PKC_ERR_MISMATCH);
    free(want);
    CHECK_EQ(t.p.a.end_reason, PKC_REASON_WRONG_PEER);
    ph_record r;
    want = bytes(v, "initiator_refuse_wrong_peer", &want_len);
    CHECK(ph_take(&t.p.a, &r));
    CHECK_EQ(r.len, want_len);
    CHECK_MEM(r.data, want, want_len);
    free(want);
    CHECK_ERR(ph_deliver(&t.p.b, r.data, r.len), PKC_ERR_MISMATCH);
    free(r.data);
    CHECK_EQ(t.p.b.end_error, PKC_ERR_MISMATCH);
    CHECK_EQ(t.p.b.end_reason, PKC_REASON_WRONG_PEER);
    CHECK_EQ(t.p.b.end_authenticated, 1);
    ph_free(&t.p);

    size_t len;
    uint8_t *refuse = bytes(v, "responder_refuse_blocked", &len);
    for (size_t flip = 0; flip <= len; flip++) {
        transcript_start(v, &t, NULL);
        CHECK_HELPER();
        expect_record(&t.p.a, v, "hello", &t.p.b);
        CHECK_HELPER();
        expect_record(&t.p.b, v, "welcome", &t.p.a);
        CHECK_HELPER();
        expect_record(&t.p.a, v, "auth", NULL); /* B never answers; the vector does */
        CHECK_HELPER();
        if (flip < len && flip > 0)
            refuse[flip] ^= 0x01;
        ph_deliver(&t.p.a, refuse, len);
        if (flip < len && flip > 0)
            refuse[flip] ^= 0x01;
        CHECK_EQ(t.p.a.closed, 1);
        CHECK_EQ(t.p.a.end_by_peer, 1);
        if (flip == 0 || flip == len) {
            CHECK_EQ(t.p.a.end_error, PKC_ERR_BLOCKED);
            CHECK_EQ(t.p.a.end_reason, PKC_REASON_BLOCKED);
            CHECK_EQ(t.p.a.end_retry, 60000);
            CHECK_EQ(t.p.a.end_authenticated, 1);
        } else {
            CHECK_EQ(t.p.a.end_retry, 0);
            CHECK_EQ(t.p.a.end_authenticated, 0);
        }
        ph_free(&t.p);
    }
    free(refuse);
}

TEST(proto_vectors, handshake_transcripts)
{
    json_t *root = pkc_test_vectors_load("handshake.json");
    CHECK(root != NULL);
    json_t *list = json_object_get(root, "transcripts"), *v;
    size_t i;
    CHECK(json_array_size(list) >= 2);
    json_array_foreach(list, i, v)
    {
        run_transcript(v);
        CHECK_HELPER();
        run_refusals(v);
        CHECK_HELPER();
    }
    size_t n;
    uint8_t *refuse = bytes(root, "refuse_example", &n);
    pkc_hs_refuse r;
    CHECK_OK(pkc_hs_decode_refuse(refuse, n, &r));
    CHECK_EQ(r.reason, PKC_REASON_UNAUTHORIZED);
    CHECK_MEM(r.text.data, "an invitation is required", r.text.len);
    CHECK(r.mac == NULL);
    free(refuse);
    json_decref(root);
}

/* Checks a message vector: C makes the same bytes from the same inputs,
 * and reads back what Python wrote. */
static void check_message(json_t *v, const uint8_t *enc, size_t len, const pkc_frame *f)
{
    uint8_t seed[32];
    pkc_test_unhex(pkc_test_json_str(v, "seed"), seed, 32);
    pkc_identity *from, *to = NULL;
    CHECK_OK(pkc_identity_from_seed(seed, &from));
    if (json_object_get(v, "recipient_seed")) {
        pkc_test_unhex(pkc_test_json_str(v, "recipient_seed"), seed, 32);
        CHECK_OK(pkc_identity_from_seed(seed, &to));
    }
    pkc_room_key room;
    int has_room = json_object_get(v, "room_secret") != NULL;
    if (has_room) {
        uint8_t secret[32], key[32], id[8];
        pkc_test_unhex(pkc_test_json_str(v, "room_secret"), secret, 32);
        pkc_test_unhex(pkc_test_json_str(v, "room_key"), key, 32);
        pkc_test_unhex(pkc_test_json_str(v, "room_id"), id, 8);
        pkc_room_key_derive(secret, &room);
        CHECK_MEM(room.key, key, 32);
        CHECK_MEM(room.id, id, 8);
    }
    size_t plen, rlen;
    uint8_t *plain = bytes(v, "plaintext", &plen);
    uint8_t *tape = bytes(v, "rng", &rlen);
    uint8_t id[16], out[512];
    pkc_test_unhex(pkc_test_json_str(v, "id"), id, 16);

    /* Reading. */
    pkc_message m = f->message;
    CHECK_EQ(m.flags, num(v, "flags"));
    CHECK_EQ_U64(m.timestamp_ms, num(v, "timestamp_ms"));
    CHECK_EQ(m.hops, num(v, "hops"));
    CHECK_MEM(m.id, id, 16);
    CHECK_MEM(m.from, pkc_identity_get_public_key(from), 32);
    CHECK_OK(pkc_message_verify(&m, f->type, (int64_t)m.timestamp_ms, 1000, 1000));
    CHECK_OK(pkc_message_open(&m, f->type, to, has_room ? &room : NULL, has_room, out,
                              sizeof out));
    CHECK_EQ(m.plaintext.len, plen);
    CHECK_MEM(m.plaintext.data, plain, plen);
    if (f->type == PKC_FRAME_SIGNAL) {
        pkc_signal sg;
        CHECK_OK(pkc_signal_decode(m.plaintext.data, m.plaintext.len, &sg));
        CHECK_EQ(sg.kind, num(v, "signal_kind"));
        CHECK_MEM(sg.connection.data, pkc_test_json_str(v, "connection"), sg.connection.len);
        CHECK_MEM(sg.body.data, pkc_test_json_str(v, "body"), sg.body.len);
    }

    /* Writing, from the same inputs (a relayed vector is written at 0 hops). */
    ph_tape_rng rng;
    ph_tape_init(&rng, tape, rlen);
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1, (int64_t)num(v, "timestamp_ms"));
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = f->type;
    mp.topic = pkc_test_json_str(v, "topic");
    mp.topic_len = strlen(mp.topic);
    mp.payload = plain;
    mp.payload_len = plen;
    if (to) {
        mp.to_public_key = pkc_identity_get_public_key(to);
        if (m.flags & PKC_MSG_SEALED)
            mp.to_dh_public_key = pkc_identity_get_dh_public_key(to);
    }
    mp.room = has_room ? &room : NULL;
    uint8_t *mine, mine_id[16];
    size_t mine_len;
    CHECK_OK(pkc_message_create(from, &mp, &clk.clock, &rng.rng, &mine, &mine_len, mine_id));
    CHECK_EQ(rng.pos, rlen);
    CHECK_MEM(mine_id, id, 16);
    pkc_frame g = *f;
    g.message.hops = 0;
    uint8_t at0[1024];
    size_t at0_len;
    CHECK_OK(pkc_frame_encode(&g, at0, sizeof at0, &at0_len));
    CHECK_EQ(mine_len, at0_len);
    CHECK_MEM(mine, at0, at0_len);
    if (m.hops == 0) {
        CHECK_EQ(mine_len, len);
        CHECK_MEM(mine, enc, len);
    }
    free(mine);
    free(plain);
    free(tape);
    pkc_identity_free(from);
    pkc_identity_free(to);
}

static void check_announce(json_t *v, const uint8_t *enc, size_t len, const pkc_frame *f)
{
    uint8_t seed[32], dh[32];
    pkc_test_unhex(pkc_test_json_str(v, "seed"), seed, 32);
    pkc_test_unhex(pkc_test_json_str(v, "dh_public_key"), dh, 32);
    pkc_identity *id;
    CHECK_OK(pkc_identity_from_seed(seed, &id));
    CHECK_STR(f->announce.peer_id, pkc_test_json_str(v, "peer_id"));
    CHECK_MEM(f->announce.dh_public_key, dh, 32);
    CHECK_MEM(pkc_identity_get_dh_public_key(id), dh, 32);
    CHECK_EQ_U64(f->announce.pow_counter, num(v, "pow_counter"));
    CHECK_OK(pkc_announce_verify(&f->announce, (int64_t)num(v, "timestamp_ms"), 1000, 1000,
                                 (uint32_t)num(v, "pow_bits")));
    json_t *addrs = json_object_get(v, "addresses");
    const char *list[PKC_ADDRESSES_MAX];
    size_t n = json_array_size(addrs);
    CHECK_EQ(f->announce.n_addresses, n);
    for (size_t i = 0; i < n; i++) {
        list[i] = json_string_value(json_array_get(addrs, i));
        CHECK_EQ(f->announce.addresses[i].len, strlen(list[i]));
    }
    pkc_announce_params ap = {num(v, "timestamp_ms"), num(v, "capabilities"), list, n,
                              (uint32_t)num(v, "pow_bits")};
    uint8_t *mine;
    size_t mine_len;
    CHECK_OK(pkc_announce_create(id, &ap, &mine, &mine_len));
    CHECK_EQ(mine_len, len);
    CHECK_MEM(mine, enc, len);
    free(mine);
    pkc_identity_free(id);
}

TEST(proto_vectors, every_frame_type)
{
    json_t *root = pkc_test_vectors_load("frames.json");
    CHECK(root != NULL);
    json_t *list = json_object_get(root, "vectors"), *v;
    size_t i;
    int seen[8] = {0};
    json_array_foreach(list, i, v)
    {
        size_t len, used, again_len;
        uint8_t *enc = bytes(v, "hex", &len), again[2048];
        pkc_frame f;
        CHECK_OK(pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &f, &used));
        CHECK_EQ(used, len);
        CHECK_EQ(f.type, num(v, "type"));
        if (f.type > PKC_FRAME_MESH) {
            free(enc);
            continue; /* unknown: decoded, to be skipped */
        }
        seen[f.type] = 1;
        CHECK_OK(pkc_frame_encode(&f, again, sizeof again, &again_len));
        CHECK_EQ(again_len, len);
        CHECK_MEM(again, enc, len);
        switch (f.type) {
        case PKC_FRAME_CONTROL:
            CHECK_EQ(f.control.action, num(v, "action"));
            if (f.control.action == PKC_CONTROL_DISCONNECT) {
                CHECK_EQ(f.control.reason, num(v, "reason"));
                CHECK_MEM(f.control.text.data, pkc_test_json_str(v, "text"), f.control.text.len);
            } else {
                CHECK_EQ(f.control.ping_id, num(v, "ping_id"));
                CHECK_EQ_U64(f.control.wall_ms, num(v, "wall_ms"));
            }
            break;
        case PKC_FRAME_ANNOUNCE:
            check_announce(v, enc, len, &f);
            break;
        case PKC_FRAME_DATA:
        case PKC_FRAME_SIGNAL:
            check_message(v, enc, len, &f);
            break;
        case PKC_FRAME_SYNC:
            CHECK_EQ(f.sync.kind, num(v, "kind"));
            CHECK_MEM(f.sync.doc.data, pkc_test_json_str(v, "doc"), f.sync.doc.len);
            break;
        case PKC_FRAME_PEX:
            CHECK_EQ(f.pex.request, num(v, "request"));
            if (!f.pex.request) {
                CHECK_EQ(f.pex.count, num(v, "count"));
                pkc_announce a;
                CHECK_OK(pkc_announce_decode(f.pex.announcements[0].data,
                                             f.pex.announcements[0].len, &a));
            }
            break;
        default:
            break;
        }
        free(enc);
        CHECK_HELPER();
    }
    for (int t = 1; t <= 7; t++)
        CHECK(seen[t]);
    json_decref(root);
}

TEST(proto_vectors, identity_export)
{
    json_t *v = pkc_test_vectors_load("identity-export.json");
    CHECK(v != NULL);
    uint8_t seed[32], salt[16], dh[32];
    pkc_test_unhex(pkc_test_json_str(v, "seed"), seed, 32);
    pkc_test_unhex(pkc_test_json_str(v, "salt"), salt, 16);
    pkc_test_unhex(pkc_test_json_str(v, "dh_public_key"), dh, 32);
    pkc_identity *id, *back;
    CHECK_OK(pkc_identity_from_seed(seed, &id));
    CHECK_STR(pkc_identity_get_peer_id(id), pkc_test_json_str(v, "peer_id"));
    CHECK_MEM(pkc_identity_get_dh_public_key(id), dh, 32);
    const char *clear = pkc_test_json_str(v, "clear"), *sealed = pkc_test_json_str(v, "encrypted");
    const char *pass = pkc_test_json_str(v, "passphrase");
    CHECK_OK(pkc_identity_import(clear, strlen(clear), NULL, &back));
    CHECK_STR(pkc_identity_get_peer_id(back), pkc_test_json_str(v, "peer_id"));
    pkc_identity_free(back);
    CHECK_OK(pkc_identity_import(sealed, strlen(sealed), pass, &back));
    CHECK_STR(pkc_identity_get_peer_id(back), pkc_test_json_str(v, "peer_id"));
    pkc_identity_free(back);
    char *mine;
    CHECK_OK(pkc_identity_export(id, NULL, NULL, NULL, &mine));
    CHECK_STR(mine, clear);
    free(mine);
    ph_tape_rng rng;
    ph_tape_init(&rng, salt, 16);
    pkc_identity_export_params params = {(uint32_t)num(v, "ops"), (uint32_t)num(v, "mem_kib")};
    CHECK_OK(pkc_identity_export(id, pass, &params, &rng.rng, &mine));
    CHECK_STR(mine, sealed);
    free(mine);
    pkc_identity_free(id);
    json_decref(v);
}

/* Every handshake record of the vectors, cut at every offset, is refused by
 * its decoder; the whole record is accepted. */
TEST(proto_vectors, truncated_handshake_records_are_refused)
{
    json_t *root = pkc_test_vectors_load("handshake.json");
    CHECK(root != NULL);
    json_t *t = json_array_get(json_object_get(root, "transcripts"), 1);
    static const char *keys[] = {"hello", "welcome", "auth", "accept"};
    size_t checked = 0;
    for (int k = 0; k < 5; k++) {
        size_t len;
        uint8_t *rec = k < 4 ? bytes(t, keys[k], &len) : bytes(root, "refuse_example", &len);
        for (size_t cut = 0; cut <= len; cut++) {
            uint8_t *part = malloc(cut ? cut : 1);
            memcpy(part, rec, cut);
            int rc;
            switch (k) {
            case 0: {
                pkc_hs_hello m;
                rc = pkc_hs_decode_hello(part, cut, &m);
                break;
            }
            case 1: {
                pkc_hs_welcome m;
                rc = pkc_hs_decode_welcome(part, cut, &m);
                break;
            }
            case 2: {
                pkc_hs_auth m;
                rc = pkc_hs_decode_auth(part, cut, &m);
                break;
            }
            case 3: {
                pkc_hs_accept m;
                rc = pkc_hs_decode_accept(part, cut, &m);
                break;
            }
            default: {
                pkc_hs_refuse m;
                rc = pkc_hs_decode_refuse(part, cut, &m);
                break;
            }
            }
            free(part);
            if (cut == len)
                CHECK_OK(rc);
            else
                CHECK(rc == PKC_ERR_TRUNCATED || rc == PKC_ERR_MALFORMED);
            checked++;
        }
        free(rec);
    }
    CHECK(checked > 500);
    /* A responder given a cut HELLO refuses it and stays whole. */
    size_t len;
    uint8_t *hello = bytes(t, "hello", &len);
    ph_pair p;
    ph_init(&p, 30);
    CHECK_OK(pkc_session_new(&p.b.cfg, &p.b.cb, &p.b, &p.clock.clock, &p.rng.rng, &p.b.s));
    CHECK_ERR(ph_deliver(&p.b, hello, len - 1), PKC_ERR_TRUNCATED);
    CHECK_EQ(p.b.end_reason, PKC_REASON_PROTOCOL);
    free(hello);
    ph_free(&p);
    json_decref(root);
}

/* A saved replay window, written by the Python generator from the format's
 * description: C reads it, knows its senders by the same keyed hash, keeps
 * its ids, floor and horizons, and writes the same bytes back. */
TEST(proto_vectors, replay_state)
{
    json_t *v = pkc_test_vectors_load("replay.json");
    CHECK(v != NULL);
    size_t len;
    uint8_t *state = bytes(v, "state", &len);
    int64_t now = (int64_t)num(v, "wall_ms");
    pkc_replay_config c;
    pkc_replay_config_default(&c);
    c.capacity = num(v, "capacity");
    c.max_per_sender = num(v, "max_per_sender");
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 9);
    pkc_replay *r;
    CHECK_OK(pkc_replay_new(&c, &rng.rng, &r));
    CHECK_OK(pkc_replay_import(r, state, len, now));
    json_t *ids = json_object_get(v, "ids");
    CHECK_EQ(pkc_replay_get_count(r), json_array_size(ids));
    uint8_t *out;
    size_t out_len;
    CHECK_OK(pkc_replay_export(r, PKC_REPLAY_EXPORT_FINAL, &out, &out_len));
    CHECK_EQ(out_len, len);
    CHECK_MEM(out, state, len);
    free(out);
    pkc_replay_free(r);

    /* What it refuses and takes. */
    CHECK_OK(pkc_replay_new(&c, &rng.rng, &r));
    CHECK_OK(pkc_replay_import(r, state, len, now));
    json_t *senders = json_object_get(v, "senders"), *hashes = json_object_get(v, "sender_hashes");
    uint8_t s1[32], s2[32], id[16];
    pkc_test_unhex(pkc_test_json_str(senders, "s1"), s1, 32);
    pkc_test_unhex(pkc_test_json_str(senders, "s2"), s2, 32);
    CHECK_EQ(pkc_replay_sender_hash(r, s1), num(hashes, "s1"));
    CHECK_EQ(pkc_replay_sender_hash(r, s2), num(hashes, "s2"));
    json_t *ts = json_object_get(v, "timestamps"), *who = json_object_get(v, "entry_senders");
    for (size_t i = 0; i < json_array_size(ids); i++) {
        pkc_test_unhex(json_string_value(json_array_get(ids, i)), id, 16);
        uint8_t k[32];
        pkc_test_unhex(pkc_test_json_str(senders, json_string_value(json_array_get(who, i))), k, 32);
        CHECK_ERR(pkc_replay_check(r, id, k, (int64_t)json_integer_value(json_array_get(ts, i)),
                                   now),
                  PKC_ERR_REPLAY);
    }
    json_t *hz = json_object_get(v, "horizons");
    int64_t h1 = (int64_t)num(hz, "s1"), h2 = (int64_t)num(hz, "s2");
    memset(id, 0xee, sizeof id);
    CHECK_ERR(pkc_replay_check(r, id, s1, h1, now), PKC_ERR_STALE);
    CHECK_OK(pkc_replay_check(r, id, s1, h1 + 1, now));
    id[0] = 1;
    CHECK_ERR(pkc_replay_check(r, id, s2, h2, now), PKC_ERR_STALE);
    CHECK_OK(pkc_replay_check(r, id, s2, h2 + 1, now));
    /* The shared horizon of its bucket holds for any sender there. */
    uint8_t k[32];
    memset(k, 0x44, sizeof k);
    for (uint32_t fill = 0;
         pkc_replay_bucket_of(r, pkc_replay_sender_hash(r, k)) != num(v, "shared_bucket"); fill++)
        memcpy(k, &fill, sizeof fill);
    int64_t shared = (int64_t)num(v, "shared_horizon");
    id[0] = 2;
    CHECK_ERR(pkc_replay_check(r, id, k, shared, now), PKC_ERR_STALE);
    CHECK_OK(pkc_replay_check(r, id, k, shared + 1, now));
    pkc_replay_free(r);
    free(state);
    json_decref(v);
}
