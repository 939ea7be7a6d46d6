/*
 * The error contract of pkc.h: after a failure, pkc_errmsg() describes that
 * failure, never an earlier one. Each case below makes one public function
 * fail on one of its error paths, right after an unrelated failure planted a
 * message with a marker in it; the message read afterwards must be about
 * the call that just failed (not the marker), and a code without detail
 * must come with pkc_strerror() of that code.
 *
 * tests/api/errmsg_coverage.py checks that every public function that
 * returns an error code has a case here (or is listed as unable to fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mesh/wire.h"
#include "test.h"
#include "util/clock.h"
#include "util/rng.h"

#define MARKER "errmsg-marker-7f3a"

/* An unrelated failure whose message carries MARKER. */
static int plant(void)
{
    pkc_identity *id = NULL;
    int rc = pkc_identity_load("/nonexistent-" MARKER "/identity.key", &id);
    return rc == PKC_ERR_NOT_FOUND && strstr(pkc_errmsg(), MARKER) != NULL;
}

/* The message after `rc` belongs to the call that returned it. `what` is
 * the case's name, for the report. */
#define EXPECT_FAIL(what, expr, code)                                                              \
    do {                                                                                           \
        CHECK(plant());                                                                            \
        int rc_ = (expr);                                                                          \
        const char *m_ = pkc_errmsg();                                                             \
        if (rc_ != (code) || m_[0] == '\0' || strstr(m_, MARKER) != NULL) {                        \
            pkc_test_fail(__FILE__, __LINE__, "%s: %s returned %s (expected %s), message \"%s\"",  \
                          what, #expr, pkc_err_name(rc_), pkc_err_name(code), m_);                 \
        }                                                                                          \
    } while (0)

/* The example of the issue that asked for this: a peer id failure, then a
 * log level failure, used to leave the peer id's message. */
TEST(errmsg, latest_failure_wins)
{
    CHECK_ERR(pkc_peer_id_parse("pkc1zzzz", NULL), PKC_ERR_MALFORMED);
    CHECK(strstr(pkc_errmsg(), "peer id") != NULL);
    pkc_log_level l;
    CHECK_ERR(pkc_log_level_parse("loud", &l), PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "peer id") == NULL);
    CHECK(strstr(pkc_errmsg(), "loud") != NULL);
}

TEST(errmsg, util_and_identity)
{
    pkc_log_level l;
    EXPECT_FAIL("log level", pkc_log_level_parse("loud", &l), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("log level NULL", pkc_log_level_parse(NULL, &l), PKC_ERR_INVALID_ARG);
    pkc_identity *id = NULL;
    EXPECT_FAIL("generate without rng", pkc_identity_generate(NULL, &id), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("from_seed NULL", pkc_identity_from_seed(NULL, &id), PKC_ERR_INVALID_ARG);
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    EXPECT_FAIL("peer id length", pkc_peer_id_parse("pkc1zzzz", hash), PKC_ERR_MALFORMED);
    EXPECT_FAIL("peer id checksum",
                pkc_peer_id_parse("pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaa", hash),
                PKC_ERR_CHECKSUM);

    uint8_t seed[32] = {1};
    CHECK_OK(pkc_identity_from_seed(seed, &id));
    uint8_t other[32] = {2};
    pkc_identity *id2 = NULL;
    CHECK_OK(pkc_identity_from_seed(other, &id2));
    EXPECT_FAIL("peer id of another key",
                pkc_peer_id_verify(pkc_identity_get_peer_id(id), pkc_identity_get_public_key(id2)),
                PKC_ERR_MISMATCH);
    uint8_t sig[PKC_SIGNATURE_BYTES];
    pkc_identity_sign(id, "x", 1, sig);
    EXPECT_FAIL("signature of another key",
                pkc_signature_verify(pkc_identity_get_public_key(id2), "x", 1, sig),
                PKC_ERR_BAD_SIGNATURE);

    const char *dir = pkc_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/id.key", dir);
    CHECK_OK(pkc_identity_save(id, path));
    EXPECT_FAIL("save over an existing file", pkc_identity_save(id, path), PKC_ERR_EXISTS);
    pkc_identity *back = NULL;
    snprintf(path, sizeof path, "%s/missing.key", dir);
    EXPECT_FAIL("load a missing file", pkc_identity_load(path, &back), PKC_ERR_NOT_FOUND);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("not an identity\n", f);
    fclose(f);
    CHECK(chmod(path, 0600) == 0);
    EXPECT_FAIL("load a damaged file", pkc_identity_load(path, &back), PKC_ERR_MALFORMED);
    EXPECT_FAIL("load_or_create without rng", pkc_identity_load_or_create(dir, NULL, &back, NULL),
                PKC_ERR_INVALID_ARG);

    char *text = NULL;
    pkc_identity_export_params p;
    pkc_identity_export_params_default(&p);
    p.ops = 99;
    EXPECT_FAIL("export params", pkc_identity_export(id, "pass", &p, pkc_rng_system(), &text),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("export params version",
                pkc_identity_export_versioned(id, "pass", 99, &p, pkc_rng_system(), &text),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("import junk", pkc_identity_import("junk", 4, NULL, &back), PKC_ERR_MALFORMED);
    EXPECT_FAIL("export_encrypted junk", pkc_identity_export_encrypted("junk", 4),
                PKC_ERR_MALFORMED);
    pkc_identity_free(id);
    pkc_identity_free(id2);
}

static pkc_ydoc *new_doc(uint64_t client)
{
    static pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, client);
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    cfg.client_id = client;
    pkc_ydoc *d = NULL;
    return pkc_ydoc_new(&cfg, &rng.rng, &d) == 0 ? d : NULL;
}

static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0x01};

TEST(errmsg, crdt)
{
    pkc_ydoc *d = new_doc(1), *d2 = NULL;
    CHECK(d != NULL);
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    EXPECT_FAIL("ydoc without rng", pkc_ydoc_new(&cfg, NULL, &d2), PKC_ERR_INVALID_ARG);
    cfg.client_id = (uint64_t)1 << 60;
    EXPECT_FAIL("ydoc client id", pkc_ydoc_new(&cfg, pkc_rng_system(), &d2), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("ydoc config version", pkc_ydoc_new_versioned(0, &cfg, pkc_rng_system(), &d2),
                PKC_ERR_INVALID_ARG);

    pkc_ytype *map, *text, *arr, *xml, *t2;
    CHECK_OK(pkc_ydoc_get(d, "m", PKC_YMAP, &map));
    CHECK_OK(pkc_ydoc_get(d, "t", PKC_YTEXT, &text));
    CHECK_OK(pkc_ydoc_get(d, "a", PKC_YARRAY, &arr));
    CHECK_OK(pkc_ydoc_get(d, "x", PKC_YXML_FRAGMENT, &xml));
    EXPECT_FAIL("root of another kind", pkc_ydoc_get(d, "m", PKC_YTEXT, &t2), PKC_ERR_YTYPE_KIND);

    pkc_ytxn *txn;
    CHECK_OK(pkc_ydoc_transact(d, NULL, &txn));
    pkc_ytxn *txn2;
    EXPECT_FAIL("nested transaction", pkc_ydoc_transact(d, NULL, &txn2), PKC_ERR_STATE);
    CHECK_OK(pkc_ytxn_commit(txn));

    EXPECT_FAIL("apply junk", pkc_ydoc_apply_update(d, junk, sizeof junk, NULL), PKC_ERR_RANGE);
    EXPECT_FAIL("apply truncated", pkc_ydoc_apply_update(d, (const uint8_t *)"\x01", 1, NULL),
                PKC_ERR_TRUNCATED);
    EXPECT_FAIL("apply v2 junk", pkc_ydoc_apply_update_v2(d, junk, sizeof junk, NULL),
                PKC_ERR_RANGE);
    uint8_t *out;
    size_t outn;
    EXPECT_FAIL("encode_state bad sv", pkc_ydoc_encode_state(d, junk, sizeof junk, &out, &outn),
                PKC_ERR_RANGE);
    const uint8_t *ups[1] = {junk};
    size_t lens[1] = {sizeof junk};
    EXPECT_FAIL("merge junk", pkc_yupdate_merge(ups, lens, 1, &out, &outn), PKC_ERR_RANGE);
    EXPECT_FAIL("merge v2 junk", pkc_yupdate_merge_v2(ups, lens, 1, &out, &outn), PKC_ERR_RANGE);
    EXPECT_FAIL("diff junk", pkc_yupdate_diff(junk, sizeof junk, NULL, 0, &out, &outn),
                PKC_ERR_TRUNCATED);
    EXPECT_FAIL("sv of junk", pkc_yupdate_encode_state_vector(junk, sizeof junk, &out, &outn),
                PKC_ERR_RANGE);
    EXPECT_FAIL("v2 to v1 junk", pkc_yupdate_v2_to_v1(junk, sizeof junk, &out, &outn),
                PKC_ERR_RANGE);

    pkc_yvalue v = {.kind = PKC_YV_NUMBER, .u.number = 1};
    pkc_yvalue bad = {.kind = (pkc_ykind)77};
    pkc_yvalue *got;
    EXPECT_FAIL("map set bad value", pkc_ymap_set(NULL, map, "k", &bad, NULL), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("map get unset", pkc_ymap_get(map, "nope", &got), PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("array insert past end", pkc_yarray_insert(NULL, arr, 5, &v, 1, NULL),
                PKC_ERR_RANGE);
    EXPECT_FAIL("array push bad value", pkc_yarray_push(NULL, arr, &bad, 1, NULL),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("array delete past end", pkc_yarray_delete(NULL, arr, 0, 3), PKC_ERR_RANGE);
    EXPECT_FAIL("array get past end", pkc_yarray_get(arr, 9, &got), PKC_ERR_RANGE);
    EXPECT_FAIL("text insert not UTF-8", pkc_ytext_insert(NULL, text, 0, "\xff", 1, NULL, 0),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("text embed bad value", pkc_ytext_insert_embed(NULL, text, 0, &bad, NULL, 0, NULL),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("text delete of map", pkc_ytext_delete(NULL, map, 0, 1), PKC_ERR_YTYPE_KIND);
    CHECK_OK(pkc_ytext_insert(NULL, text, 0, "hello", 5, NULL, 0));
    pkc_yentry attr = {"bold", 4, bad};
    EXPECT_FAIL("text format bad attr", pkc_ytext_format(NULL, text, 0, 1, &attr, 1),
                PKC_ERR_INVALID_ARG);
    char *s;
    EXPECT_FAIL("delta at junk snapshot",
                pkc_ytext_to_delta_at(text, junk, sizeof junk, NULL, 0, &got), PKC_ERR_MALFORMED);
    EXPECT_FAIL("delta at cb junk snapshot",
                pkc_ytext_to_delta_at_cb(text, NULL, 0, junk, sizeof junk, NULL, NULL, &got),
                PKC_ERR_MALFORMED);
    pkc_yvalue notdelta = {.kind = PKC_YV_STRING, .u.str = {"x", 1}};
    EXPECT_FAIL("apply delta not an array", pkc_ytext_apply_delta(NULL, text, &notdelta),
                PKC_ERR_INVALID_ARG);
    pkc_ytype *el;
    EXPECT_FAIL("xml element past end", pkc_yxml_insert_element(NULL, xml, 4, "p", &el),
                PKC_ERR_RANGE);
    EXPECT_FAIL("xml text past end", pkc_yxml_insert_text(NULL, xml, 4, &el), PKC_ERR_RANGE);
    EXPECT_FAIL("xml child past end", pkc_yxml_get_child(xml, 0, &el), PKC_ERR_RANGE);
    CHECK_OK(pkc_yxml_insert_element(NULL, xml, 0, "p", &el));
    EXPECT_FAIL("xml attribute not UTF-8", pkc_yxml_set_attribute(NULL, el, "k", "\xff"),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("xml attribute unset", pkc_yxml_get_attribute(el, "nope", &s), PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("observe NULL fn", pkc_ytype_observe(map, NULL, NULL, NULL), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("observe deep NULL fn", pkc_ytype_observe_deep(map, NULL, NULL, NULL),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("observe update NULL fn", pkc_ydoc_observe_update(d, NULL, NULL, NULL),
                PKC_ERR_INVALID_ARG);

    /* A deleted type: operations on it fail with YTYPE_DELETED. */
    pkc_yvalue tv = {.kind = PKC_YV_TYPE, .u.type = {.kind = PKC_YMAP}};
    pkc_ytype *inner;
    CHECK_OK(pkc_ymap_set(NULL, map, "inner", &tv, &inner));
    CHECK_OK(pkc_ymap_delete(NULL, map, "inner"));
    EXPECT_FAIL("set on a deleted type", pkc_ymap_set(NULL, inner, "k", &v, NULL),
                PKC_ERR_YTYPE_DELETED);
    EXPECT_FAIL("delete on a deleted type", pkc_ymap_delete(NULL, inner, "k"),
                PKC_ERR_YTYPE_DELETED);
    char *json;
    size_t jn;
    CHECK_OK(pkc_ytype_to_json(map, &json, &jn));
    free(json);

    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 0, 1000000);
    pkc_yundo *um = NULL;
    EXPECT_FAIL("undo without types", pkc_yundo_new(&map, 0, NULL, &clk.clock, &um),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("undo without clock", pkc_yundo_new(&map, 1, NULL, NULL, &um), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("undo config version",
                pkc_yundo_new_versioned(&map, 1, 5, &(pkc_yundo_config){0}, &clk.clock, &um),
                PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_yundo_new(&map, 1, NULL, &clk.clock, &um));
    pkc_ydoc *d3 = new_doc(3);
    pkc_ytype *foreign;
    CHECK_OK(pkc_ydoc_get(d3, "f", PKC_YMAP, &foreign));
    EXPECT_FAIL("undo scope of another document", pkc_yundo_add_scope(um, foreign),
                PKC_ERR_INVALID_ARG);
    pkc_ytxn *open;
    CHECK_OK(pkc_ydoc_transact(d, NULL, &open));
    EXPECT_FAIL("undo inside a transaction", pkc_yundo_undo(um, NULL), PKC_ERR_STATE);
    EXPECT_FAIL("redo inside a transaction", pkc_yundo_redo(um, NULL), PKC_ERR_STATE);
    CHECK_OK(pkc_ytxn_commit(open));
    pkc_yundo_free(um);

    uint8_t *rp;
    size_t rpn;
    EXPECT_FAIL("relpos of a deleted type", pkc_yrelpos_from_index(inner, 0, 0, &rp, &rpn),
                PKC_ERR_YTYPE_DELETED);
    size_t idx;
    EXPECT_FAIL("relpos junk", pkc_yrelpos_to_index(d, junk, sizeof junk, &t2, &idx),
                PKC_ERR_RANGE);
    CHECK_OK(pkc_ydoc_encode_snapshot(d, &out, &outn));
    EXPECT_FAIL("from snapshot of a gc document", pkc_ydoc_from_snapshot(d, out, outn, &d2),
                PKC_ERR_STATE);
    free(out);

    uint8_t *reply;
    size_t replyn;
    int type;
    EXPECT_FAIL("sync read junk",
                pkc_ysync_read(d, junk, sizeof junk, NULL, &reply, &replyn, &type), PKC_ERR_RANGE);
    pkc_yawareness *aw = NULL;
    EXPECT_FAIL("awareness client id", pkc_yawareness_new((uint64_t)1 << 60, 0, &aw),
                PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_yawareness_new(1, 0, &aw));
    EXPECT_FAIL("awareness observe NULL", pkc_yawareness_observe(aw, NULL, NULL),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("awareness bad JSON", pkc_yawareness_set_local(aw, "{", 0), PKC_ERR_MALFORMED);
    uint64_t none = 42;
    EXPECT_FAIL("awareness encode an unknown client",
                pkc_yawareness_encode(aw, &none, 1, &out, &outn), PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("awareness apply junk", pkc_yawareness_apply(aw, junk, sizeof junk, NULL, 0),
                PKC_ERR_RANGE);
    EXPECT_FAIL("awareness message of an unknown client",
                pkc_yawareness_message(aw, &none, 1, &out, &outn), PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("provider junk",
                pkc_yprovider_read(d, aw, junk, sizeof junk, NULL, 0, &reply, &replyn, &type),
                PKC_ERR_RANGE);
    pkc_yawareness_free(aw);
    pkc_ydoc_free(d3);
    pkc_ydoc_free(d);
}

static void noop(void *arg)
{
    (void)arg;
}

TEST(errmsg, rtc)
{
    pkc_loop *loop = NULL;
    CHECK_OK(pkc_loop_new(&loop));
    EXPECT_FAIL("loop times out", pkc_loop_run(loop, 1), PKC_ERR_TIMEOUT);
    EXPECT_FAIL("post NULL fn", pkc_loop_post(loop, NULL, NULL), PKC_ERR_INVALID_ARG);
    (void)noop;
    pkc_rtc_cert *cert = NULL;
    const char *dir = pkc_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/dtls-cert.pem", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("-----BEGIN junk\n", f);
    fclose(f);
    CHECK(chmod(path, 0600) == 0);
    EXPECT_FAIL("cert damaged", pkc_rtc_cert_load_or_create(dir, &cert, NULL), PKC_ERR_MALFORMED);

    pkc_rtc_socket_config sc;
    pkc_rtc_socket_config_default(&sc);
    sc.port_min = 2000, sc.port_max = 1000;
    pkc_rtc_socket *sock = NULL;
    EXPECT_FAIL("socket ports", pkc_rtc_socket_new(loop, &sc, &sock), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("socket version", pkc_rtc_socket_new_versioned(loop, 9, &sc, &sock),
                PKC_ERR_INVALID_ARG);
    pkc_rtc_config cfg;
    pkc_rtc_config_default(&cfg);
    cfg.n_stun_servers = 1;
    pkc_rtc_peer *peer = NULL;
    pkc_rtc_callbacks cb = {0};
    EXPECT_FAIL("peer stun NULL", pkc_rtc_peer_new(loop, &cfg, &cb, NULL, &peer),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("peer callbacks version",
                pkc_rtc_peer_new_versioned(loop, PKC_RTC_CONFIG_VERSION, NULL, 0, &cb, NULL, &peer),
                PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_rtc_peer_new(loop, NULL, &cb, NULL, &peer));
    char *sdp = NULL;
    EXPECT_FAIL("description before offer", pkc_rtc_peer_get_local_description(peer, &sdp),
                PKC_ERR_STATE);
    EXPECT_FAIL("answer without offer", pkc_rtc_peer_create_answer(peer, &sdp), PKC_ERR_STATE);
    EXPECT_FAIL("remote junk", pkc_rtc_peer_set_remote(peer, PKC_RTC_OFFER, "junk"), PKC_ERR_SDP);
    EXPECT_FAIL("candidate junk", pkc_rtc_peer_add_candidate(peer, "candidate:x"), PKC_ERR_SDP);
    pkc_rtc_channel_options o;
    pkc_rtc_channel_options_default(&o);
    o.max_retransmits = 1, o.max_lifetime_ms = 1;
    pkc_rtc_channel *ch = NULL;
    EXPECT_FAIL("channel options", pkc_rtc_channel_new(peer, "c", &o, &ch), PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_rtc_channel_new(peer, "c", NULL, &ch));
    EXPECT_FAIL("text not UTF-8", pkc_rtc_channel_send(ch, "\xff", 1, 0), PKC_ERR_MALFORMED);
    CHECK_OK(pkc_rtc_peer_create_offer(peer, &sdp));
    free(sdp);
    pkc_rtc_peer_close(peer);
    EXPECT_FAIL("offer when closed", pkc_rtc_peer_create_offer(peer, &sdp), PKC_ERR_STATE);
    pkc_rtc_peer_free(peer);

    CHECK_OK(pkc_rtc_socket_new(loop, NULL, &sock));
    CHECK_OK(pkc_rtc_listen(sock, NULL, &cb, NULL, &sdp));
    free(sdp);
    EXPECT_FAIL("second listener", pkc_rtc_listen(sock, NULL, &cb, NULL, &sdp), PKC_ERR_EXISTS);
    pkc_rtc_socket_free(sock);
    pkc_loop_free(loop);
}

static int send_nothing(void *ud, const uint8_t *rec, size_t len)
{
    (void)ud, (void)rec, (void)len;
    return 0;
}

TEST(errmsg, proto)
{
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 3);
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, 1767225600000);
    uint8_t seed[32] = {7};
    pkc_identity *id = NULL;
    CHECK_OK(pkc_identity_from_seed(seed, &id));

    pkc_frame f, g;
    size_t len, used;
    uint8_t buf[64];
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_CONTROL;
    f.control.action = 99;
    EXPECT_FAIL("frame encode: unknown action", pkc_frame_encode(&f, buf, sizeof buf, &len),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("frame decode: truncated",
                pkc_frame_decode((const uint8_t *)"\x01\x05", 2, 1024, &g, &used),
                PKC_ERR_TRUNCATED);
    EXPECT_FAIL("frame decode: over the limit",
                pkc_frame_decode((const uint8_t *)"\x01\xff\xff\x03", 4, 1024, &g, &used),
                PKC_ERR_TOO_LARGE);

    pkc_announce_params ap = {.timestamp_ms = 1767225600000, .pow_bits = 40};
    uint8_t *frame;
    size_t flen;
    EXPECT_FAIL("announce: proof of work over 32 bits", pkc_announce_create(id, &ap, &frame, &flen),
                PKC_ERR_RANGE);
    pkc_announce a;
    EXPECT_FAIL("announce decode: a future version", pkc_announce_decode(junk, sizeof junk, &a),
                PKC_ERR_UNSUPPORTED);
    ap.pow_bits = 0;
    CHECK_OK(pkc_announce_create(id, &ap, &frame, &flen));
    CHECK_OK(pkc_frame_decode(frame, flen, PKC_FRAME_SIZE_DEFAULT, &g, &used));
    EXPECT_FAIL("announce: stale",
                pkc_announce_verify(&g.announce, 1767225600000 + 7200000, 3600000, 30000, 0),
                PKC_ERR_STALE);
    EXPECT_FAIL("announce: not enough work",
                pkc_announce_verify(&g.announce, 1767225600000, 3600000, 30000, 24), PKC_ERR_POW);
    free(frame);

    pkc_message_params mp = {
        .type = PKC_FRAME_SIGNAL, .payload = (const uint8_t *)"x", .payload_len = 1};
    EXPECT_FAIL("message: a SIGNAL without a recipient",
                pkc_message_create(id, &mp, &clk.clock, &rng.rng, &frame, &flen, NULL),
                PKC_ERR_INVALID_ARG);
    mp.type = PKC_FRAME_DATA;
    CHECK_OK(pkc_message_create(id, &mp, &clk.clock, &rng.rng, &frame, &flen, NULL));
    CHECK_OK(pkc_frame_decode(frame, flen, PKC_FRAME_SIZE_DEFAULT, &g, &used));
    EXPECT_FAIL(
        "message: stale",
        pkc_message_verify(&g.message, PKC_FRAME_DATA, 1767225600000 + 3600000, 600000, 30000),
        PKC_ERR_STALE);
    g.message.digest[0] ^= 1;
    EXPECT_FAIL("message: bad signature",
                pkc_message_verify(&g.message, PKC_FRAME_DATA, 1767225600000, 600000, 30000),
                PKC_ERR_BAD_SIGNATURE);
    free(frame);
    pkc_room_key rk;
    uint8_t secret[32] = {9};
    pkc_room_key_derive(secret, &rk);
    mp.room = &rk;
    CHECK_OK(pkc_message_create(id, &mp, &clk.clock, &rng.rng, &frame, &flen, NULL));
    CHECK_OK(pkc_frame_decode(frame, flen, PKC_FRAME_SIZE_DEFAULT, &g, &used));
    uint8_t out[256];
    EXPECT_FAIL("message open: no key",
                pkc_message_open(&g.message, PKC_FRAME_DATA, id, NULL, 0, out, sizeof out),
                PKC_ERR_NOT_FOUND);
    free(frame);

    pkc_signal sg = {.kind = 77};
    EXPECT_FAIL("signal encode: unknown kind", pkc_signal_encode(&sg, buf, sizeof buf, &len),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("signal decode: junk", pkc_signal_decode(junk, sizeof junk, &sg), PKC_ERR_RANGE);

    pkc_replay_config rc;
    pkc_replay_config_default(&rc);
    pkc_replay *rp = NULL;
    rc.capacity = 0;
    EXPECT_FAIL("replay: capacity 0", pkc_replay_new(&rc, &rng.rng, &rp), PKC_ERR_INVALID_ARG);
    pkc_replay_config_default(&rc);
    CHECK_OK(pkc_replay_new(&rc, &rng.rng, &rp));
    uint8_t mid[PKC_MSG_ID_BYTES] = {1};
    EXPECT_FAIL("replay: too old", pkc_replay_check(rp, mid, NULL, 0, 1767225600000),
                PKC_ERR_STALE);
    CHECK_OK(pkc_replay_check(rp, mid, NULL, 1767225600000, 1767225600000));
    EXPECT_FAIL("replay: seen", pkc_replay_check(rp, mid, NULL, 1767225600000, 1767225600000),
                PKC_ERR_REPLAY);
    EXPECT_FAIL("replay: import into a used window", pkc_replay_import(rp, junk, sizeof junk, 0),
                PKC_ERR_STATE);
    uint8_t *blob;
    size_t blen;
    EXPECT_FAIL("replay: export flags", pkc_replay_export(rp, 0x80, &blob, &blen),
                PKC_ERR_INVALID_ARG);
    pkc_replay_free(rp);

    pkc_guard_config gc;
    pkc_guard_config_default(&gc);
    pkc_guard *gd = NULL;
    EXPECT_FAIL("guard: no clock", pkc_guard_new(&gc, NULL, &gd), PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_guard_new(&gc, &clk.clock, &gd));
    uint8_t peer[PKC_PEER_ID_HASH_BYTES] = {5};
    EXPECT_FAIL("guard: blocked by this offence", pkc_guard_penalise(gd, peer, 1000, "test"),
                PKC_ERR_BLOCKED);
    EXPECT_FAIL("guard: check a blocked peer", pkc_guard_check(gd, peer, NULL, NULL),
                PKC_ERR_BLOCKED);
    pkc_guard_free(gd);

    pkc_session_config sc;
    pkc_session_config_default(&sc);
    pkc_session_callbacks scb = {.send = send_nothing};
    pkc_session *s = NULL;
    EXPECT_FAIL("session: no identity", pkc_session_new(&sc, &scb, NULL, &clk.clock, &rng.rng, &s),
                PKC_ERR_INVALID_ARG);
    sc.identity = id;
    sc.initiator = 1;
    CHECK_OK(pkc_session_new(&sc, &scb, NULL, &clk.clock, &rng.rng, &s));
    pkc_frame ping = {.type = PKC_FRAME_CONTROL, .control = {.action = PKC_CONTROL_PING}};
    EXPECT_FAIL("session: send before the handshake", pkc_session_send(s, &ping), PKC_ERR_STATE);
    EXPECT_FAIL("session: send_encoded before the handshake",
                pkc_session_send_encoded(s, (const uint8_t *)"\x01\x00", 2), PKC_ERR_STATE);
    EXPECT_FAIL("session: ping before the handshake", pkc_session_ping(s), PKC_ERR_STATE);
    CHECK_OK(pkc_session_start(s));
    EXPECT_FAIL("session: started twice", pkc_session_start(s), PKC_ERR_STATE);
    EXPECT_FAIL("session: junk record", pkc_session_receive(s, junk, sizeof junk),
                PKC_ERR_MALFORMED);
    EXPECT_FAIL("session: receive after the end", pkc_session_receive(s, junk, sizeof junk),
                PKC_ERR_CLOSED);
    EXPECT_FAIL("session: close after the end", pkc_session_close(s, PKC_REASON_NONE, NULL),
                PKC_ERR_CLOSED);
    pkc_session_free(s);
    pkc_identity_free(id);
}

/* ---- mesh ------------------------------------------------------------------ */

typedef struct mesh_fx {
    pkc_mesh *m;
    pkc_mesh_validation verdict;
    int in_callback; /* the BUSY cases ran inside the deliver callback */
} mesh_fx;

static void mesh_send_nothing(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    (void)ud, (void)peer, (void)data, (void)len;
}

static pkc_mesh_validation mesh_validate(void *ud, const pkc_mesh_message *msg)
{
    (void)msg;
    return ((mesh_fx *)ud)->verdict;
}

/* The mesh engine's own identity (it signs its signaling) and its id hash. */
static uint8_t MESH_SELF_HASH[PKC_PEER_ID_HASH_BYTES];
#define MESH_SELF pkc_test_identity(0x50, MESH_SELF_HASH)
static const uint8_t MESH_N1[PKC_PEER_ID_HASH_BYTES] = {0x11};
static const uint8_t MESH_N2[PKC_PEER_ID_HASH_BYTES] = {0x22};
static const uint8_t MESH_N3[PKC_PEER_ID_HASH_BYTES] = {0x33};
static const uint8_t MESH_N4[PKC_PEER_ID_HASH_BYTES] = {0x44};

/* From inside a callback, every entry point that may run callbacks is
 * refused, and says so. */
static void mesh_deliver_reenters(void *ud, const pkc_mesh_message *msg)
{
    (void)msg;
    mesh_fx *f = ud;
    pkc_mesh *m = f->m;
    EXPECT_FAIL("mesh: add_peer from a callback", pkc_mesh_add_peer(m, MESH_N3, 0),
                PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: peer_connected from a callback",
                pkc_mesh_peer_connected(m, MESH_N3, NULL, 0), PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: peer_acceptable from a callback",
                pkc_mesh_peer_acceptable(m, MESH_N3, NULL, 0), PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: connect_failed from a callback", pkc_mesh_peer_connect_failed(m, MESH_N3),
                PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: disconnected from a callback", pkc_mesh_peer_disconnected(m, MESH_N1),
                PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: receive from a callback",
                pkc_mesh_receive(m, MESH_N1, (const uint8_t *)"\x0a", 1), PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: tick from a callback", pkc_mesh_tick(m), PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: publish from a callback",
                pkc_mesh_publish(m, (const uint8_t *)"id2", 3, (const uint8_t *)"x", 1),
                PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: send from a callback",
                pkc_mesh_send(m, MESH_N2, (const uint8_t *)"x", 1), PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: signal from a callback",
                pkc_mesh_signal(m, MESH_N2, (const uint8_t *)"x", 1), PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: app score from a callback", pkc_mesh_set_app_score(m, MESH_N1, 1),
                PKC_ERR_MESH_BUSY);
    EXPECT_FAIL("mesh: leave from a callback", pkc_mesh_leave(m), PKC_ERR_MESH_BUSY);
    f->in_callback = 1;
}

static int mesh_receive_msg(pkc_mesh *m, const uint8_t *from, const mesh_msg *msg)
{
    pkc_buf b = PKC_BUF_INIT;
    mesh_msg_encode(&b, msg);
    int rc = b.err ? b.err : pkc_mesh_receive(m, from, b.data, b.len);
    pkc_buf_free(&b);
    return rc;
}

static mesh_msg mesh_gossip(const char *id)
{
    mesh_msg g;
    memset(&g, 0, sizeof g);
    g.type = MESH_GOSSIP;
    g.u.gossip.origin = MESH_N2;
    g.u.gossip.id = (const uint8_t *)id;
    g.u.gossip.id_len = strlen(id);
    g.u.gossip.payload = (const uint8_t *)"payload";
    g.u.gossip.len = 7;
    return g;
}

TEST(errmsg, mesh)
{
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, 1767225600000);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 5);
    mesh_fx f = {NULL, PKC_MESH_ACCEPT, 0};
    pkc_mesh_callbacks cb = {.send = mesh_send_nothing, .validate = mesh_validate};
    pkc_mesh_config c;
    pkc_mesh_config_default(&c);
    pkc_mesh *m = NULL;

    /* Creation. */
    c.max_peers = 33;
    EXPECT_FAIL("mesh: max_peers", pkc_mesh_new(&c, &cb, &f, MESH_SELF, &clk.clock, &rng.rng, &m),
                PKC_ERR_INVALID_ARG);
    pkc_mesh_config_default(&c);
    pkc_mesh_callbacks none = {0};
    EXPECT_FAIL("mesh: no send callback",
                pkc_mesh_new(&c, &none, &f, MESH_SELF, &clk.clock, &rng.rng, &m),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: no clock", pkc_mesh_new(&c, &cb, &f, MESH_SELF, NULL, &rng.rng, &m),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: config version",
                pkc_mesh_new_versioned(7, &c, PKC_MESH_CALLBACKS_VERSION, &cb, &f, MESH_SELF,
                                       &clk.clock, &rng.rng, &m),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: callbacks version",
                pkc_mesh_new_versioned(PKC_MESH_CONFIG_VERSION, &c, 7, &cb, &f, MESH_SELF,
                                       &clk.clock, &rng.rng, &m),
                PKC_ERR_INVALID_ARG);
    /* A bucket of one message that refills very slowly: the second message
     * of a neighbour is over its rate. */
    c.burst_msgs = 1;
    c.rate_msgs = 0.001;
    CHECK_OK(pkc_mesh_new(&c, &cb, &f, MESH_SELF, &clk.clock, &rng.rng, &m));
    f.m = m;

    /* Peers and connections. */
    EXPECT_FAIL("mesh: add self", pkc_mesh_add_peer(m, (pkc_test_identity(0x50, MESH_SELF_HASH), MESH_SELF_HASH), 0), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: connected to self", pkc_mesh_peer_connected(m, (pkc_test_identity(0x50, MESH_SELF_HASH), MESH_SELF_HASH), NULL, 0),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: address tag NULL", pkc_mesh_peer_connected(m, MESH_N1, NULL, 4),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: acceptable: address tag NULL",
                pkc_mesh_peer_acceptable(m, MESH_N1, NULL, 4), PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_mesh_peer_acceptable(m, MESH_N1, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(m, MESH_N1, NULL, 0));
    EXPECT_FAIL("mesh: connected twice", pkc_mesh_peer_connected(m, MESH_N1, NULL, 0),
                PKC_ERR_EXISTS);
    EXPECT_FAIL("mesh: acceptable when connected", pkc_mesh_peer_acceptable(m, MESH_N1, NULL, 0),
                PKC_ERR_EXISTS);
    EXPECT_FAIL("mesh: connect_failed without an attempt",
                pkc_mesh_peer_connect_failed(m, MESH_N2), PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("mesh: disconnected without a connection",
                pkc_mesh_peer_disconnected(m, MESH_N2), PKC_ERR_NOT_FOUND);
    double score;
    EXPECT_FAIL("mesh: score of an unknown peer", pkc_mesh_get_peer_score(m, MESH_N3, &score),
                PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("mesh: app score NaN", pkc_mesh_set_app_score(m, MESH_N1, 0.0 / 0.0),
                PKC_ERR_INVALID_ARG);

    /* Receiving. */
    EXPECT_FAIL("mesh: receive NULL data", pkc_mesh_receive(m, MESH_N1, NULL, 3),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: receive from a stranger",
                pkc_mesh_receive(m, MESH_N2, (const uint8_t *)"\x0a", 1),
                PKC_ERR_MESH_NOT_NEIGHBOR);
    EXPECT_FAIL("mesh: receive truncated",
                pkc_mesh_receive(m, MESH_N1, (const uint8_t *)"\x01\x00\x00", 3),
                PKC_ERR_TRUNCATED);
    EXPECT_FAIL("mesh: over the rate",
                pkc_mesh_receive(m, MESH_N1, (const uint8_t *)"\x01\x00\x00", 3),
                PKC_ERR_RATE_LIMITED);
    pkc_mesh_free(m);

    pkc_mesh_config_default(&c);
    cb.deliver = mesh_deliver_reenters;
    CHECK_OK(pkc_mesh_new(&c, &cb, &f, MESH_SELF, &clk.clock, &rng.rng, &m));
    f.m = m;
    CHECK_OK(pkc_mesh_peer_connected(m, MESH_N1, NULL, 0));
    EXPECT_FAIL("mesh: receive a type unknown", pkc_mesh_receive(m, MESH_N1, junk, sizeof junk),
                PKC_ERR_MALFORMED);
    mesh_msg pong;
    memset(&pong, 0, sizeof pong);
    pong.type = MESH_PONG;
    pong.u.ping.nonce = 12345;
    EXPECT_FAIL("mesh: PONG without a PING", mesh_receive_msg(m, MESH_N1, &pong),
                PKC_ERR_MESH_PROTOCOL);
    f.verdict = PKC_MESH_REJECT;
    mesh_msg g = mesh_gossip("rejected");
    EXPECT_FAIL("mesh: validation rejects", mesh_receive_msg(m, MESH_N1, &g),
                PKC_ERR_MESH_REJECTED);
    /* (N1 has been disconnected for all that: a neighbour in good standing) */
    CHECK_OK(pkc_mesh_peer_connected(m, MESH_N4, NULL, 0));
    f.verdict = PKC_MESH_ACCEPT;
    g = mesh_gossip("accepted");
    CHECK_OK(mesh_receive_msg(m, MESH_N4, &g)); /* runs the BUSY cases */
    CHECK(f.in_callback);

    /* Publishing and sending. */
    EXPECT_FAIL("mesh: publish an empty id",
                pkc_mesh_publish(m, (const uint8_t *)"", 0, (const uint8_t *)"x", 1),
                PKC_ERR_INVALID_ARG);
    uint8_t *big = calloc(1, c.max_payload + 1);
    CHECK(big != NULL);
    EXPECT_FAIL("mesh: publish too much",
                pkc_mesh_publish(m, (const uint8_t *)"big", 3, big, c.max_payload + 1),
                PKC_ERR_TOO_LARGE);
    EXPECT_FAIL("mesh: publish an id seen",
                pkc_mesh_publish(m, (const uint8_t *)"accepted", 8, (const uint8_t *)"x", 1),
                PKC_ERR_EXISTS);
    EXPECT_FAIL("mesh: send to self", pkc_mesh_send(m, (pkc_test_identity(0x50, MESH_SELF_HASH), MESH_SELF_HASH), (const uint8_t *)"x", 1),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: send too much", pkc_mesh_send(m, MESH_N2, big, c.max_payload + 1),
                PKC_ERR_TOO_LARGE);
    EXPECT_FAIL("mesh: signal NULL data", pkc_mesh_signal(m, MESH_N2, NULL, 1),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("mesh: signal too much", pkc_mesh_signal(m, MESH_N2, big, c.max_payload + 1),
                PKC_ERR_TOO_LARGE);
    EXPECT_FAIL("mesh: signal without a connection being set up",
                pkc_mesh_signal(m, MESH_N2, (const uint8_t *)"x", 1), PKC_ERR_NOT_FOUND);
    free(big);
    CHECK_OK(pkc_mesh_peer_disconnected(m, MESH_N4));
    EXPECT_FAIL("mesh: send without neighbours", pkc_mesh_send(m, MESH_N2, (const uint8_t *)"x", 1),
                PKC_ERR_MESH_NO_ROUTE);
    pkc_mesh_free(m);
}

/* Functions that fail only when memory runs out: each allocation they make
 * is failed in turn (tests/unit/fail_alloc.h); every failure must be
 * PKC_ERR_NOMEM with a message of its own, until the call succeeds. */
#include "fail_alloc.h"

#define EXPECT_OOM_WALK(what, expr, on_success)                                                    \
    do {                                                                                           \
        unsigned long n_;                                                                          \
        for (n_ = 1; n_ < 10000; n_++) {                                                           \
            CHECK(plant());                                                                        \
            fail_alloc_nth(n_);                                                                    \
            int rc_ = (expr);                                                                      \
            fail_alloc_disarm();                                                                   \
            if (fail_alloc_failed() == 0) {                                                        \
                if (rc_ != 0)                                                                      \
                    pkc_test_fail(__FILE__, __LINE__, "%s: %s", what, pkc_errmsg());               \
                else                                                                               \
                    on_success;                                                                    \
                break;                                                                             \
            }                                                                                      \
            const char *m_ = pkc_errmsg();                                                         \
            if (rc_ == 0) {                                                                        \
                on_success; /* recovered from the failed allocation: allowed */                    \
                continue;                                                                          \
            }                                                                                      \
            if (rc_ != PKC_ERR_NOMEM || m_[0] == '\0' || strstr(m_, MARKER) != NULL) {             \
                pkc_test_fail(__FILE__, __LINE__, "%s: allocation %lu: %s, message \"%s\"", what,  \
                              n_, pkc_err_name(rc_), m_);                                          \
                return;                                                                            \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Set up with allocations passed through, then the call under test. */
static int remove_attribute(pkc_ytype *el)
{
    fail_alloc_pause();
    int rc = pkc_yxml_set_attribute(NULL, el, "class", "x");
    fail_alloc_resume();
    return rc ? rc : pkc_yxml_remove_attribute(NULL, el, "class");
}

static int remove_state(pkc_yawareness *aw, uint64_t client)
{
    fail_alloc_pause();
    int rc = pkc_yawareness_set_local(aw, "{}", 0);
    fail_alloc_resume();
    return rc ? rc : pkc_yawareness_remove(aw, &client, 1, NULL, 0);
}

static const char origins[64];

static void untrack_all(pkc_yundo *um)
{
    for (int i = 0; i < 64; i++)
        pkc_yundo_untrack_origin(um, &origins[i]);
}

/* Enough origins that the list must grow. */
static int track_many(pkc_yundo *um)
{
    for (int i = 0; i < 64; i++) {
        int rc = pkc_yundo_track_origin(um, &origins[i]);
        if (rc) {
            untrack_all(um);
            return rc;
        }
    }
    return 0;
}

static int clear_a_change(pkc_yundo *um, pkc_ytype *map)
{
    static double n;
    pkc_yvalue v = {.kind = PKC_YV_NUMBER, .u.number = ++n};
    fail_alloc_pause();
    int rc = pkc_ymap_set(NULL, map, "k2", &v, NULL);
    fail_alloc_resume();
    return rc ? rc : pkc_yundo_clear(um);
}

/* A message of its own id each time. */
static int publish_fresh(pkc_mesh *m)
{
    static unsigned n;
    char id[16];
    int len = snprintf(id, sizeof id, "fresh-%u", ++n);
    return pkc_mesh_publish(m, (const uint8_t *)id, (size_t)len, (const uint8_t *)"payload", 7);
}

static int doc_fn_fails(void *ud, pkc_ydoc *doc, pkc_ytxn *txn)
{
    (void)ud;
    (void)doc;
    (void)txn;
    return PKC_ERR_RANGE; /* the application's own failure */
}

static int inbox_fn(void *ud, const pkc_node_message *m)
{
    (void)ud;
    (void)m;
    return 0;
}

/* The node, with LAN discovery off (nothing leaves the host). */
TEST(errmsg, node)
{
    pkc_node_config cfg;
    pkc_node_config_default(&cfg);
    cfg.lan = 0;
    pkc_node *node = NULL;
    EXPECT_FAIL("node: no data_dir", pkc_node_new(&cfg, NULL, NULL, &node), PKC_ERR_INVALID_ARG);
    cfg.data_dir = pkc_test_tmpdir();
    EXPECT_FAIL("node: no out", pkc_node_new(&cfg, NULL, NULL, NULL), PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("node: version",
                pkc_node_new_versioned(9, &cfg, PKC_NODE_CALLBACKS_VERSION, NULL, NULL, &node),
                PKC_ERR_INVALID_ARG);
    cfg.max_peers = 99;
    EXPECT_FAIL("node: max_peers", pkc_node_new(&cfg, NULL, NULL, &node), PKC_ERR_INVALID_ARG);
    cfg.max_peers = 8;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    pkc_node *second = NULL;
    EXPECT_FAIL("node: locked", pkc_node_new(&cfg, NULL, NULL, &second), PKC_ERR_AGAIN);

    EXPECT_FAIL("node: process before open", pkc_node_process(node), PKC_ERR_STATE);
    EXPECT_FAIL("node: join short", pkc_node_join(node, "short", NULL, NULL),
                PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_node_join(node, "a phrase long enough", NULL, NULL));
    EXPECT_FAIL("node: join again", pkc_node_join(node, "a phrase long enough", NULL, NULL),
                PKC_ERR_EXISTS);
    EXPECT_FAIL("node: leave", pkc_node_leave(node, "nowhere"), PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("node: disconnect bad id", pkc_node_disconnect_peer(node, "pkc1zzzz"),
                PKC_ERR_MALFORMED);
    EXPECT_FAIL("node: disconnect unknown",
                pkc_node_disconnect_peer(node, pkc_node_get_peer_id(node)), PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("node: broadcast room", pkc_node_broadcast(node, "nowhere", "x", 1, NULL),
                PKC_ERR_NOT_FOUND);
    static uint8_t big[60001];
    EXPECT_FAIL("node: broadcast big", pkc_node_broadcast(node, NULL, big, sizeof big, NULL),
                PKC_ERR_TOO_LARGE);
    EXPECT_FAIL("node: batch fn", pkc_node_batch(node, NULL, NULL), PKC_ERR_INVALID_ARG);
    pkc_node_invitation inv;
    EXPECT_FAIL("node: invite before start", pkc_node_invite_create(node, NULL, &inv),
                PKC_ERR_STATE);
    pkc_node_invite_options io = {.room = "nowhere"};
    EXPECT_FAIL("node: invite room", pkc_node_invite_create(node, &io, &inv), PKC_ERR_NOT_FOUND);
    char zl[PKC_NODE_DNS_RECORD_MAX];
    pkc_node_dns_record_options dro = {.domain = "example.org"};
    EXPECT_FAIL("node: dns record before start", pkc_node_dns_record(node, &dro, zl, sizeof zl),
                PKC_ERR_STATE);
    dro.room = "nowhere";
    EXPECT_FAIL("node: dns record room", pkc_node_dns_record(node, &dro, zl, sizeof zl),
                PKC_ERR_NOT_FOUND);
    dro.domain = "exa mple.org";
    EXPECT_FAIL("node: dns record domain", pkc_node_dns_record(node, &dro, zl, sizeof zl),
                PKC_ERR_INVALID_ARG);
    dro.domain = NULL;
    EXPECT_FAIL("node: dns record no domain", pkc_node_dns_record(node, &dro, zl, sizeof zl),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("node: accept garbage", pkc_node_invite_accept(node, "PKCI1$$$", &inv),
                PKC_ERR_MALFORMED);
    EXPECT_FAIL("node: answer garbage", pkc_node_invite_answer(node, "hello", &inv),
                PKC_ERR_MALFORMED);
    EXPECT_FAIL("node: send bad id", pkc_node_send(node, NULL, "pkc1zzzz", "x", 1, NULL),
                PKC_ERR_MALFORMED);
    EXPECT_FAIL("node: send to self",
                pkc_node_send(node, NULL, pkc_node_get_peer_id(node), "x", 1, NULL),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("node: inbox fn", pkc_node_inbox(node, NULL, 0, 0, NULL, NULL),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("node: inbox room", pkc_node_inbox(node, "nowhere", 0, 0, inbox_fn, NULL),
                PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("node: transact name", pkc_node_doc_transact(node, NULL, "", doc_fn_fails, NULL),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("node: transact fn", pkc_node_doc_transact(node, NULL, "d", doc_fn_fails, NULL),
                PKC_ERR_RANGE);
    EXPECT_FAIL("node: set json", pkc_node_doc_set_json(node, NULL, "d", "k", "{"),
                PKC_ERR_MALFORMED);
    EXPECT_FAIL("node: delete key", pkc_node_doc_delete(node, NULL, "d", NULL),
                PKC_ERR_INVALID_ARG);
    char *json = NULL;
    EXPECT_FAIL("node: get missing", pkc_node_doc_get_json(node, NULL, "d", "absent", &json),
                PKC_ERR_NOT_FOUND);
    EXPECT_FAIL("node: awareness json", pkc_node_doc_set_awareness(node, NULL, "d", "{"),
                PKC_ERR_MALFORMED);
    EXPECT_FAIL("node: awareness doc", pkc_node_doc_get_awareness(node, NULL, "none", &json),
                PKC_ERR_NOT_FOUND);

    CHECK_OK(pkc_node_open(node));
    EXPECT_FAIL("node: open twice", pkc_node_open(node), PKC_ERR_STATE);
    EXPECT_FAIL("node: start while open", pkc_node_start(node), PKC_ERR_STATE);
    EXPECT_FAIL("node: run while open", pkc_node_run(node), PKC_ERR_STATE);
    pkc_node_stop(node);
    EXPECT_FAIL("node: process after stop", pkc_node_process(node), PKC_ERR_STATE);
    pkc_node_free(node);
}

TEST(errmsg, dns_seeds)
{
    /* The node's configuration (version 2) and pkc_node_dns_publish. */
    pkc_node_config cfg;
    pkc_node_config_default(&cfg);
    cfg.lan = 0;
    cfg.data_dir = pkc_test_tmpdir();
    pkc_node *node = NULL;
    const char *domains[] = {"seeds.example"}, *bad_domains[] = {"bad domain"};
    const char *resolvers[] = {"https://127.0.0.1:1/dns-query"}, *http[] = {"http://x/"};
    cfg.seed_domains = domains;
    cfg.n_seed_domains = 1;
    EXPECT_FAIL("node: seeds without resolver", pkc_node_new(&cfg, NULL, NULL, &node),
                PKC_ERR_INVALID_ARG);
    cfg.doh_resolvers = http;
    cfg.n_doh_resolvers = 1;
    EXPECT_FAIL("node: resolver not https", pkc_node_new(&cfg, NULL, NULL, &node),
                PKC_ERR_INVALID_ARG);
    cfg.doh_resolvers = resolvers;
    cfg.seed_domains = bad_domains;
    EXPECT_FAIL("node: bad seed domain", pkc_node_new(&cfg, NULL, NULL, &node),
                PKC_ERR_INVALID_ARG);
    cfg.seed_domains = domains;
    cfg.doh_ca_file = "/nonexistent/ca.pem";
    EXPECT_FAIL("node: CA file", pkc_node_new(&cfg, NULL, NULL, &node), PKC_ERR_INVALID_ARG);
    cfg.doh_ca_file = NULL;
    /* A program built against version 1 of the config still works. */
    CHECK_OK(pkc_node_new_versioned(PKC_NODE_CONFIG_V1, &cfg, PKC_NODE_CALLBACKS_VERSION, NULL,
                                    NULL, &node));
    pkc_node_free(node);
    node = NULL;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    pkc_node_dns_publish_options po = {.domain = "seeds.example", .server = "127.0.0.1:1"};
    EXPECT_FAIL("node: dns publish before start", pkc_node_dns_publish(node, &po, NULL),
                PKC_ERR_STATE);
    po.server = "localhost:53";
    EXPECT_FAIL("node: dns publish server", pkc_node_dns_publish(node, &po, NULL),
                PKC_ERR_INVALID_ARG);
    po.server = "127.0.0.1:53";
    po.tsig_key_file = "/nonexistent/tsig.key";
    EXPECT_FAIL("node: dns publish key file", pkc_node_dns_publish(node, &po, NULL),
                PKC_ERR_INVALID_ARG);
    po.tsig_key_file = NULL;
    po.domain = NULL;
    EXPECT_FAIL("node: dns publish no domain", pkc_node_dns_publish(node, &po, NULL),
                PKC_ERR_INVALID_ARG);
    po.domain = "seeds.example";
    po.room = "nowhere";
    EXPECT_FAIL("node: dns publish room", pkc_node_dns_publish(node, &po, NULL),
                PKC_ERR_NOT_FOUND);
    pkc_node_free(node);

    /* pkc_doh. */
    pkc_doh_config dc;
    pkc_doh_config_default(&dc);
    CHECK_EQ(dc.timeout_ms, 5000);
    pkc_doh *d = NULL;
    EXPECT_FAIL("doh: no resolver", pkc_doh_new(&dc, pkc_clock_system(), &d),
                PKC_ERR_INVALID_ARG);
    dc.resolvers = http;
    dc.n_resolvers = 1;
    EXPECT_FAIL("doh: not https", pkc_doh_new(&dc, pkc_clock_system(), &d), PKC_ERR_INVALID_ARG);
    const char *nine[9] = {resolvers[0], resolvers[0], resolvers[0], resolvers[0], resolvers[0],
                           resolvers[0], resolvers[0], resolvers[0], resolvers[0]};
    dc.resolvers = nine;
    dc.n_resolvers = 9;
    EXPECT_FAIL("doh: too many", pkc_doh_new(&dc, pkc_clock_system(), &d), PKC_ERR_INVALID_ARG);
    dc.n_resolvers = 1;
    EXPECT_FAIL("doh: clock", pkc_doh_new(&dc, NULL, &d), PKC_ERR_INVALID_ARG);
    dc.ca_file = "/nonexistent/ca.pem";
    EXPECT_FAIL("doh: CA file", pkc_doh_new(&dc, pkc_clock_system(), &d), PKC_ERR_INVALID_ARG);
    dc.ca_file = NULL;
    CHECK_OK(pkc_doh_new(&dc, pkc_clock_system(), &d));
    pkc_dns_seed seeds[2];
    EXPECT_FAIL("doh: bad domain", pkc_doh_lookup(d, "bad domain", NULL, seeds, 2),
                PKC_ERR_INVALID_ARG);
    EXPECT_FAIL("doh: bad peer", pkc_doh_lookup(d, "example.org", "pkc1zzzz", seeds, 2),
                PKC_ERR_INVALID_ARG);
    /* Nothing listens on 127.0.0.1:1: no resolver answered. */
    EXPECT_FAIL("doh: refused", pkc_doh_lookup(d, "example.org", NULL, seeds, 2), PKC_ERR_IO);
    CHECK(strstr(pkc_errmsg(), "no resolver answered") != NULL);
    pkc_doh_free(d);
    pkc_doh_free(NULL);
}

TEST(errmsg, out_of_memory)
{
    pkc_ydoc *d = new_doc(11);
    CHECK(d != NULL);
    pkc_ytype *map, *text, *arr, *xml, *el;
    CHECK_OK(pkc_ydoc_get(d, "m", PKC_YMAP, &map));
    CHECK_OK(pkc_ydoc_get(d, "t", PKC_YTEXT, &text));
    CHECK_OK(pkc_ydoc_get(d, "a", PKC_YARRAY, &arr));
    CHECK_OK(pkc_ydoc_get(d, "x", PKC_YXML_FRAGMENT, &xml));
    pkc_yvalue v = {.kind = PKC_YV_STRING, .u.str = {"value", 5}};
    CHECK_OK(pkc_ymap_set(NULL, map, "k", &v, NULL));
    CHECK_OK(pkc_yarray_push(NULL, arr, &v, 1, NULL));
    pkc_yentry bold = {"bold", 4, {.kind = PKC_YV_BOOL, .u.boolean = 1}};
    CHECK_OK(pkc_ytext_insert(NULL, text, 0, "hello", 5, &bold, 1));
    CHECK_OK(pkc_yxml_insert_element(NULL, xml, 0, "p", &el));
    CHECK_OK(pkc_yxml_set_attribute(NULL, el, "class", "x"));

    pkc_yvalue *out;
    uint8_t *bytes;
    size_t len;
    char *s;
    EXPECT_OOM_WALK("map entries", pkc_ymap_get_entries(map, &out), pkc_yvalue_free(out));
    EXPECT_OOM_WALK("array slice", pkc_yarray_slice(arr, 0, 1, &out), pkc_yvalue_free(out));
    EXPECT_OOM_WALK("text string", pkc_ytext_to_string(text, &s, &len), free(s));
    EXPECT_OOM_WALK("text delta", pkc_ytext_to_delta(text, &out), pkc_yvalue_free(out));
    EXPECT_OOM_WALK("xml string", pkc_yxml_to_string(xml, &s, &len), free(s));
    EXPECT_OOM_WALK("state vector", pkc_ydoc_encode_state_vector(d, &bytes, &len), free(bytes));
    EXPECT_OOM_WALK("snapshot", pkc_ydoc_encode_snapshot(d, &bytes, &len), free(bytes));
    EXPECT_OOM_WALK("map JSON", pkc_ytype_to_json(map, &s, &len), free(s));
    EXPECT_OOM_WALK("sync step 1", pkc_ysync_step1(d, &bytes, &len), free(bytes));
    EXPECT_OOM_WALK("sync update", pkc_ysync_update((const uint8_t *)"\x00\x00", 2, &bytes, &len),
                    free(bytes));
    /* Changes: each failed try leaves nothing behind (the attribute is set
     * again for each, so every try removes it). */
    EXPECT_OOM_WALK("xml remove attribute", remove_attribute(el), (void)0);

    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 0, 1000000);
    pkc_yundo *um;
    CHECK_OK(pkc_yundo_new(&map, 1, NULL, &clk.clock, &um));
    EXPECT_OOM_WALK("undo track origin", track_many(um), untrack_all(um));
    /* (It reuses the document's spare transaction here: no allocation.) */
    EXPECT_OOM_WALK("undo clear", clear_a_change(um, map), (void)0);
    pkc_yundo_free(um);

    pkc_yawareness *aw;
    CHECK_OK(pkc_yawareness_new(5, 0, &aw));
    uint64_t self = 5;
    EXPECT_OOM_WALK("awareness remove", remove_state(aw, self), (void)0);
    pkc_yawareness_free(aw);

    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 6);
    pkc_mesh_callbacks mcb = {.send = mesh_send_nothing};
    pkc_mesh *mesh;
    EXPECT_OOM_WALK("mesh", pkc_mesh_new(NULL, &mcb, NULL, MESH_SELF, &clk.clock, &rng.rng, &mesh),
                    pkc_mesh_free(mesh));
    CHECK_OK(pkc_mesh_new(NULL, &mcb, NULL, MESH_SELF, &clk.clock, &rng.rng, &mesh));
    CHECK_OK(pkc_mesh_peer_connected(mesh, MESH_N1, NULL, 0));
    EXPECT_OOM_WALK("mesh publish", publish_fresh(mesh), (void)0);
    pkc_mesh_free(mesh);

    pkc_loop *loop;
    EXPECT_OOM_WALK("loop", pkc_loop_new(&loop), pkc_loop_free(loop));
    pkc_rtc_cert *cert;
    EXPECT_OOM_WALK("certificate", pkc_rtc_cert_generate(&cert), pkc_rtc_cert_free(cert));
    pkc_ydoc_free(d);
}
