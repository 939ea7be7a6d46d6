#define _GNU_SOURCE /* memmem */
/* Frames: round trips of every type, canonical encoding, limits, truncation
 * at every offset, unknown types; signed messages and announcements. */
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "crypto/pow.h"
#include "proto/frame.h"
#include "proto/handshake.h"
#include "proto/wire.h"
#include "test.h"
#include "util/clock.h"
#include "util/rng.h"

#define NOW_MS 1700000000000LL

typedef struct fixture {
    pkc_identity *alice, *bob, *carol;
    pkc_manual_clock clock;
    pkc_seeded_rng rng;
} fixture;

static void fx_init(fixture *fx)
{
    uint8_t s[32];
    memset(s, 0xaa, 32);
    if (pkc_identity_from_seed(s, &fx->alice))
        abort();
    memset(s, 0xbb, 32);
    if (pkc_identity_from_seed(s, &fx->bob))
        abort();
    memset(s, 0xcc, 32);
    if (pkc_identity_from_seed(s, &fx->carol))
        abort();
    pkc_manual_clock_init(&fx->clock, 1000000, NOW_MS);
    pkc_seeded_rng_init(&fx->rng, 42);
}

static void fx_free(fixture *fx)
{
    pkc_identity_free(fx->alice);
    pkc_identity_free(fx->bob);
    pkc_identity_free(fx->carol);
}

/* Every kind of frame, encoded; returns how many (each malloc'd). */
#define N_SAMPLES 16
static size_t samples(fixture *fx, uint8_t *out[N_SAMPLES], size_t len[N_SAMPLES])
{
    size_t n = 0;
    pkc_frame f;
    static const uint8_t y_sync[] = {0x00, 0x02, 0x01, 0x00}; /* a y-protocols step 1 */
    static const uint8_t mesh[] = {0x01, 0x02, 0x03, 0x04, 0x05};
    size_t cap = 4096;
#define ADD_FRAME()                                                                                \
    do {                                                                                           \
        out[n] = malloc(cap);                                                                      \
        if (pkc_frame_encode(&f, out[n], cap, &len[n]) != 0)                                       \
            abort();                                                                               \
        n++;                                                                                       \
    } while (0)
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_CONTROL;
    f.control.action = PKC_CONTROL_PING;
    f.control.ping_id = 7;
    f.control.wall_ms = NOW_MS;
    ADD_FRAME();
    f.control.action = PKC_CONTROL_PONG;
    f.control.rtt_us = 12345;
    ADD_FRAME();
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_CONTROL;
    f.control.action = PKC_CONTROL_DISCONNECT;
    f.control.reason = PKC_REASON_SHUTDOWN;
    f.control.text = (pkc_bytes){(const uint8_t *)"bye \xc3\xa9", 6};
    f.control.retry_after_ms = 30000;
    ADD_FRAME();
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_SYNC;
    f.sync.kind = PKC_SYNC_MESSAGE;
    f.sync.doc = (pkc_bytes){(const uint8_t *)"notes", 5};
    f.sync.message = (pkc_bytes){y_sync, sizeof y_sync};
    ADD_FRAME();
    f.sync.kind = PKC_SYNC_AWARENESS;
    ADD_FRAME();
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_MESH;
    f.mesh = (pkc_bytes){mesh, sizeof mesh};
    ADD_FRAME();
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_PEX;
    f.pex.request = 1;
    f.pex.max = 16;
    ADD_FRAME();
    /* Signed ones. */
    const char *addrs[] = {"udp:203.0.113.5:41000", "udp:[2001:db8::1]:41000"};
    pkc_announce_params ap = {NOW_MS, 3, addrs, 2, 4};
    if (pkc_announce_create(fx->alice, &ap, &out[n], &len[n]) != 0)
        abort();
    size_t ann = n++;
    /* A PEX response carrying it. */
    pkc_frame a;
    size_t used;
    if (pkc_frame_decode(out[ann], len[ann], PKC_FRAME_SIZE_MAX, &a, &used) != 0)
        abort();
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_PEX;
    f.pex.count = 2;
    f.pex.announcements[0] = a.announce.encoded;
    f.pex.announcements[1] = a.announce.encoded;
    ADD_FRAME();
    pkc_room_key room;
    uint8_t secret[32];
    memset(secret, 0x5e, 32);
    pkc_room_key_derive(secret, &room);
    static const uint8_t hello[] = "hello, room";
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.topic = "chat";
    mp.topic_len = 4;
    mp.payload = hello;
    mp.payload_len = sizeof hello - 1;
    if (pkc_message_create(fx->alice, &mp, &fx->clock.clock, &fx->rng.rng, &out[n], &len[n],
                           NULL))
        abort();
    n++;
    mp.room = &room;
    if (pkc_message_create(fx->alice, &mp, &fx->clock.clock, &fx->rng.rng, &out[n], &len[n],
                           NULL))
        abort();
    n++;
    mp.room = NULL;
    mp.to_public_key = pkc_identity_get_public_key(fx->bob);
    if (pkc_message_create(fx->alice, &mp, &fx->clock.clock, &fx->rng.rng, &out[n], &len[n],
                           NULL))
        abort();
    n++;
    mp.to_dh_public_key = pkc_identity_get_dh_public_key(fx->bob);
    if (pkc_message_create(fx->alice, &mp, &fx->clock.clock, &fx->rng.rng, &out[n], &len[n],
                           NULL))
        abort();
    n++;
    uint8_t sig_payload[256];
    size_t sig_len;
    pkc_signal sg = {PKC_SIGNAL_OFFER, {(const uint8_t *)"c1", 2},
                     {(const uint8_t *)"v=0\r\n", 5}};
    if (pkc_signal_encode(&sg, sig_payload, sizeof sig_payload, &sig_len) != 0)
        abort();
    mp.type = PKC_FRAME_SIGNAL;
    mp.topic = NULL;
    mp.topic_len = 0;
    mp.payload = sig_payload;
    mp.payload_len = sig_len;
    if (pkc_message_create(fx->alice, &mp, &fx->clock.clock, &fx->rng.rng, &out[n], &len[n],
                           NULL))
        abort();
    n++;
#undef ADD_FRAME
    return n;
}

static void free_samples(uint8_t *out[], size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(out[i]);
}

TEST(proto_frame, every_type_round_trips)
{
    fixture fx;
    fx_init(&fx);
    uint8_t *enc[N_SAMPLES];
    size_t len[N_SAMPLES];
    size_t n = samples(&fx, enc, len);
    CHECK_EQ(n, 14);
    int seen[8] = {0};
    for (size_t i = 0; i < n; i++) {
        pkc_frame f;
        size_t used, again_len;
        uint8_t again[4096];
        CHECK_OK(pkc_frame_decode(enc[i], len[i], PKC_FRAME_SIZE_DEFAULT, &f, &used));
        CHECK_EQ(used, len[i]);
        CHECK(f.type >= 1 && f.type <= 7);
        seen[f.type] = 1;
        CHECK_OK(pkc_frame_encode(&f, again, sizeof again, &again_len));
        CHECK_EQ(again_len, len[i]);
        CHECK_MEM(again, enc[i], len[i]);
    }
    for (int t = 1; t <= 7; t++)
        CHECK(seen[t]);
    free_samples(enc, n);
    fx_free(&fx);
}

TEST(proto_frame, fields_survive_the_trip)
{
    fixture fx;
    fx_init(&fx);
    uint8_t *enc[N_SAMPLES];
    size_t len[N_SAMPLES];
    size_t n = samples(&fx, enc, len);
    pkc_frame f;
    size_t used;
    CHECK_OK(pkc_frame_decode(enc[1], len[1], PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_EQ(f.control.action, PKC_CONTROL_PONG);
    CHECK_EQ(f.control.ping_id, 7);
    CHECK_EQ(f.control.wall_ms, NOW_MS);
    CHECK_EQ(f.control.rtt_us, 12345);
    CHECK_OK(pkc_frame_decode(enc[2], len[2], PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_EQ(f.control.reason, PKC_REASON_SHUTDOWN);
    CHECK_EQ(f.control.text.len, 6);
    CHECK_EQ(f.control.retry_after_ms, 30000);
    CHECK_OK(pkc_frame_decode(enc[4], len[4], PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_EQ(f.sync.kind, PKC_SYNC_AWARENESS);
    CHECK_MEM(f.sync.doc.data, "notes", 5);
    CHECK_OK(pkc_frame_decode(enc[7], len[7], PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_EQ(f.type, PKC_FRAME_ANNOUNCE);
    CHECK_STR(f.announce.peer_id, pkc_identity_get_peer_id(fx.alice));
    CHECK_EQ(f.announce.n_addresses, 2);
    CHECK_MEM(f.announce.addresses[1].data, "udp:[2001:db8::1]:41000", 23);
    CHECK_MEM(f.announce.dh_public_key, pkc_identity_get_dh_public_key(fx.alice), 32);
    CHECK_EQ(f.announce.capabilities, 3);
    CHECK_OK(pkc_frame_decode(enc[12], len[12], PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_EQ(f.message.flags, PKC_MSG_DIRECT | PKC_MSG_SEALED);
    CHECK(f.message.ephemeral != NULL && f.message.room_id == NULL);
    CHECK_MEM(f.message.from, pkc_identity_get_public_key(fx.alice), 32);
    CHECK_EQ(f.message.opened, 0);
    free_samples(enc, n);
    fx_free(&fx);
}

TEST(proto_frame, truncated_at_every_offset_is_refused)
{
    fixture fx;
    fx_init(&fx);
    uint8_t *enc[N_SAMPLES];
    size_t len[N_SAMPLES];
    size_t n = samples(&fx, enc, len);
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t cut = 0; cut < len[i]; cut++) {
            /* A copy of exactly `cut` bytes, so ASan sees any over-read. */
            uint8_t *part = malloc(cut ? cut : 1);
            memcpy(part, enc[i], cut);
            pkc_frame f;
            memset(&f, 0x5a, sizeof f);
            size_t used = 12345;
            int rc = pkc_frame_decode(part, cut, PKC_FRAME_SIZE_MAX, &f, &used);
            free(part);
            CHECK(rc == PKC_ERR_TRUNCATED || rc == PKC_ERR_MALFORMED);
            CHECK_EQ(used, 12345);
            CHECK_EQ(((uint8_t *)&f)[0], 0x5a);
            checked++;
        }
        /* The body cut short while the length still claims it all. */
        uint8_t *copy = malloc(len[i]);
        memcpy(copy, enc[i], len[i]);
        pkc_frame f;
        size_t used;
        CHECK_ERR(pkc_frame_decode(copy, len[i] - 1, PKC_FRAME_SIZE_MAX, &f, &used),
                  PKC_ERR_TRUNCATED);
        free(copy);
    }
    CHECK(checked > 1000);
    free_samples(enc, n);
    fx_free(&fx);
}

TEST(proto_frame, oversized_frames_are_refused_from_the_length)
{
    /* Type 7 (MESH, which takes any body), length 2^40: only 3 bytes follow. */
    uint8_t huge[] = {0x07, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 2, 3};
    pkc_frame f;
    size_t used;
    CHECK_ERR(pkc_frame_decode(huge, sizeof huge, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_TOO_LARGE);
    /* Below the hard limit but above the caller's. */
    uint8_t *big = calloc(1, 5000);
    big[0] = 0x07;
    big[1] = 0x88; /* 4488 = 0x1188: 0x88 0x23 */
    big[2] = 0x23;
    CHECK_OK(pkc_frame_decode(big, 4491, 8192, &f, &used));
    CHECK_EQ(used, 4491);
    CHECK_ERR(pkc_frame_decode(big, 4491, 4096, &f, &used), PKC_ERR_TOO_LARGE);
    CHECK(strstr(pkc_errmsg(), "exceeds the limit 4096") != NULL);
    free(big);

    /* Field limits: a topic of 65 bytes, 17 addresses, a PEX of 65. */
    pkc_buf b = PKC_BUF_INIT;
    pkc_buf_push_varuint(&b, 65);
    for (int i = 0; i < 65; i++)
        pkc_buf_push_u8(&b, 'a');
    pkc_reader r;
    pkc_reader_init(&r, b.data, b.len);
    pkc_bytes t;
    CHECK_ERR(pkc_wire_varstring(&r, PKC_TOPIC_MAX, &t, "topic"), PKC_ERR_TOO_LARGE);
    CHECK_EQ(pkc_reader_offset(&r), 0);
    pkc_buf_free(&b);

    uint8_t pex[] = {0x06, 0x02, 0x02, 65};
    CHECK_ERR(pkc_frame_decode(pex, sizeof pex, PKC_FRAME_SIZE_MAX, &f, &used), PKC_ERR_RANGE);
    uint8_t req0[] = {0x06, 0x02, 0x01, 0x00};
    CHECK_ERR(pkc_frame_decode(req0, sizeof req0, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_RANGE);

    /* Encoding refuses what decoding would. */
    pkc_frame e;
    memset(&e, 0, sizeof e);
    e.type = PKC_FRAME_SYNC;
    e.sync.doc.len = PKC_DOC_NAME_MAX + 1;
    e.sync.doc.data = (const uint8_t *)calloc(1, PKC_DOC_NAME_MAX + 1);
    uint8_t out[512];
    CHECK_ERR(pkc_frame_encode(&e, out, sizeof out, &used), PKC_ERR_RANGE);
    free((void *)e.sync.doc.data);
    e.sync.doc.len = 0;
    e.sync.message.len = PKC_FRAME_SIZE_MAX + 1;
    e.sync.message.data = out;
    CHECK_ERR(pkc_frame_encode(&e, out, sizeof out, &used), PKC_ERR_TOO_LARGE);
}

TEST(proto_frame, encodings_are_canonical)
{
    pkc_frame f;
    size_t used;
    /* A ping with its id written in two bytes instead of one. */
    uint8_t ping[] = {0x01, 0x04, 0x01, 0x87, 0x00, 0x00};
    CHECK_ERR(pkc_frame_decode(ping, sizeof ping, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_MALFORMED);
    CHECK(strstr(pkc_errmsg(), "shortest form") != NULL);
    uint8_t ok[] = {0x01, 0x03, 0x01, 0x07, 0x00};
    CHECK_OK(pkc_frame_decode(ok, sizeof ok, PKC_FRAME_SIZE_MAX, &f, &used));
    /* The type and the length too. */
    uint8_t type2[] = {0x81, 0x00, 0x03, 0x01, 0x07, 0x00};
    CHECK_ERR(pkc_frame_decode(type2, sizeof type2, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_MALFORMED);
    uint8_t len2[] = {0x01, 0x83, 0x00, 0x01, 0x07, 0x00};
    CHECK_ERR(pkc_frame_decode(len2, sizeof len2, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_MALFORMED);
    /* Trailing bytes inside a body. */
    uint8_t trail[] = {0x01, 0x04, 0x01, 0x07, 0x00, 0x00};
    CHECK_ERR(pkc_frame_decode(trail, sizeof trail, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_MALFORMED);
    /* Invalid UTF-8 in a disconnect text. */
    uint8_t bad_utf8[] = {0x01, 0x05, 0x03, 0x00, 0x01, 0xff, 0x00};
    CHECK_ERR(pkc_frame_decode(bad_utf8, sizeof bad_utf8, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_MALFORMED);
}

TEST(proto_frame, unknown_types_are_skippable)
{
    /* A frame of type 200 (from a newer version) followed by a MESH frame. */
    uint8_t two[] = {0xc8, 0x01, 0x03, 0x01, 0xaa, 0xbb, 0x07, 0x01, 0x42};
    pkc_frame f;
    size_t used;
    CHECK_OK(pkc_frame_decode(two, sizeof two, PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_EQ(f.type, 200);
    CHECK_EQ(f.unknown.len, 3);
    CHECK_EQ(used, 6);
    CHECK_OK(pkc_frame_decode(two + used, sizeof two - used, PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_EQ(f.type, PKC_FRAME_MESH);
    CHECK_EQ(f.mesh.data[0], 0x42);
    /* Type 0 is reserved. */
    uint8_t zero[] = {0x00, 0x00};
    CHECK_ERR(pkc_frame_decode(zero, sizeof zero, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_MALFORMED);
    /* A known type with a newer inner version is UNSUPPORTED, not malformed,
     * so that sessions skip it. */
    uint8_t ann2[] = {0x02, 0x01, 0x02};
    CHECK_ERR(pkc_frame_decode(ann2, sizeof ann2, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_UNSUPPORTED);
    uint8_t ctl9[] = {0x01, 0x01, 0x09};
    CHECK_ERR(pkc_frame_decode(ctl9, sizeof ctl9, PKC_FRAME_SIZE_MAX, &f, &used),
              PKC_ERR_UNSUPPORTED);
}

/* --- Messages ---------------------------------------------------------- */

static int make(fixture *fx, const pkc_identity *from, const pkc_message_params *mp, uint8_t **out,
                size_t *len, pkc_frame *f)
{
    int rc = pkc_message_create(from, mp, &fx->clock.clock, &fx->rng.rng, out, len, NULL);
    if (rc)
        return rc;
    size_t used;
    return pkc_frame_decode(*out, *len, PKC_FRAME_SIZE_MAX, f, &used);
}

TEST(proto_frame, broadcast_message)
{
    fixture fx;
    fx_init(&fx);
    static const uint8_t text[] = "hello everyone";
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.topic = "chat";
    mp.topic_len = 4;
    mp.payload = text;
    mp.payload_len = sizeof text - 1;
    uint8_t *enc, id[PKC_MSG_ID_BYTES];
    size_t len, used;
    CHECK_OK(pkc_message_create(fx.alice, &mp, &fx.clock.clock, &fx.rng.rng, &enc, &len, id));
    pkc_frame f;
    CHECK_OK(pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_EQ(f.type, PKC_FRAME_DATA);
    CHECK_MEM(f.message.id, id, sizeof id);
    CHECK_EQ(f.message.timestamp_ms, NOW_MS);
    CHECK(f.message.to == NULL);
    CHECK_OK(pkc_message_verify(&f.message, f.type, NOW_MS, 600000, 120000));
    CHECK_EQ(f.message.opened, 1);
    CHECK_EQ(f.message.plaintext.len, sizeof text - 1);
    CHECK_MEM(f.message.plaintext.data, text, sizeof text - 1);

    /* A relay increments hops; the id and the signature stay valid. */
    f.message.hops = 3;
    uint8_t fwd[512];
    size_t fwd_len;
    CHECK_OK(pkc_frame_encode(&f, fwd, sizeof fwd, &fwd_len));
    pkc_frame g;
    CHECK_OK(pkc_frame_decode(fwd, fwd_len, PKC_FRAME_SIZE_MAX, &g, &used));
    CHECK_EQ(g.message.hops, 3);
    CHECK_MEM(g.message.id, id, sizeof id);
    CHECK_OK(pkc_message_verify(&g.message, g.type, NOW_MS, 600000, 120000));

    /* Any change to the signed part is caught. */
    size_t start = (size_t)(f.message.signed_part.data - enc);
    for (size_t i = start; i < len; i++) {
        enc[i] ^= 0x01;
        pkc_frame h;
        int rc = pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &h, &used);
        if (rc == 0)
            CHECK_ERR(pkc_message_verify(&h.message, h.type, NOW_MS, 600000, 120000),
                      PKC_ERR_BAD_SIGNATURE);
        enc[i] ^= 0x01;
    }
    /* Time window. */
    CHECK_ERR(pkc_message_verify(&f.message, f.type, NOW_MS + 600001, 600000, 120000),
              PKC_ERR_STALE);
    CHECK_OK(pkc_message_verify(&f.message, f.type, NOW_MS + 600000, 600000, 120000));
    CHECK_ERR(pkc_message_verify(&f.message, f.type, NOW_MS - 120001, 600000, 120000),
              PKC_ERR_STALE);
    CHECK(strstr(pkc_errmsg(), "ahead of our clock") != NULL);
    /* A DATA signature is not a SIGNAL signature. */
    CHECK_ERR(pkc_message_verify(&f.message, PKC_FRAME_SIGNAL, NOW_MS, 600000, 120000),
              PKC_ERR_BAD_SIGNATURE);
    free(enc);
    fx_free(&fx);
}

TEST(proto_frame, room_messages_need_the_room_key)
{
    fixture fx;
    fx_init(&fx);
    uint8_t secret[32], other_secret[32];
    memset(secret, 0x11, 32);
    memset(other_secret, 0x12, 32);
    pkc_room_key rooms[2];
    pkc_room_key_derive(other_secret, &rooms[0]);
    pkc_room_key_derive(secret, &rooms[1]);
    CHECK(memcmp(rooms[0].id, rooms[1].id, 8) != 0);
    static const uint8_t text[] = "for the room only";
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.room = &rooms[1];
    mp.payload = text;
    mp.payload_len = sizeof text - 1;
    uint8_t *enc, out[256];
    size_t len;
    pkc_frame f;
    CHECK_OK(make(&fx, fx.alice, &mp, &enc, &len, &f));
    CHECK_EQ(f.message.flags, PKC_MSG_ROOM);
    CHECK_EQ(f.message.payload.len, sizeof text - 1 + 16);
    CHECK(memmem(enc, len, text, sizeof text - 1) == NULL);
    CHECK_OK(pkc_message_verify(&f.message, f.type, NOW_MS, 600000, 120000));
    CHECK_EQ(f.message.opened, 0);
    CHECK_ERR(pkc_message_open(&f.message, f.type, fx.bob, rooms, 1, out, sizeof out),
              PKC_ERR_NOT_FOUND);
    CHECK_EQ(f.message.opened, 0);
    CHECK_OK(pkc_message_open(&f.message, f.type, fx.bob, rooms, 2, out, sizeof out));
    CHECK_EQ(f.message.opened, 1);
    CHECK_EQ(f.message.plaintext.len, sizeof text - 1);
    CHECK_MEM(out, text, sizeof text - 1);

    /* Mallory, in the room, re-signs Alice's ciphertext as her own: the
     * sender is bound into the encryption, so it no longer decrypts. */
    size_t start = (size_t)(f.message.signed_part.data - enc);
    memcpy(enc + start + 2, pkc_identity_get_public_key(fx.carol), 32);
    uint8_t sig[64];
    pkc_identity_sign_labeled(fx.carol, PKC_LABEL_DATA, f.message.signed_part.data,
                              f.message.signed_part.len, sig);
    memcpy(enc + start + f.message.signed_part.len, sig, 64);
    pkc_frame g;
    size_t used;
    CHECK_OK(pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &g, &used));
    CHECK_OK(pkc_message_verify(&g.message, g.type, NOW_MS, 600000, 120000));
    CHECK_ERR(pkc_message_open(&g.message, g.type, fx.bob, rooms, 2, out, sizeof out),
              PKC_ERR_DECRYPT);
    free(enc);
    fx_free(&fx);
}

TEST(proto_frame, direct_messages_are_sealed_to_the_recipient)
{
    fixture fx;
    fx_init(&fx);
    static const uint8_t text[] = "only for bob";
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.to_public_key = pkc_identity_get_public_key(fx.bob);
    mp.to_dh_public_key = pkc_identity_get_dh_public_key(fx.bob);
    mp.payload = text;
    mp.payload_len = sizeof text - 1;
    uint8_t *enc, out[256];
    size_t len;
    pkc_frame f;
    CHECK_OK(make(&fx, fx.alice, &mp, &enc, &len, &f));
    CHECK(memmem(enc, len, text, sizeof text - 1) == NULL);
    uint8_t bob_hash[20];
    CHECK_OK(pkc_peer_id_parse(pkc_identity_get_peer_id(fx.bob), bob_hash));
    CHECK_MEM(f.message.to, bob_hash, 20);
    CHECK_OK(pkc_message_verify(&f.message, f.type, NOW_MS, 600000, 120000));
    /* Carol relays it but cannot read it. */
    CHECK_ERR(pkc_message_open(&f.message, f.type, fx.carol, NULL, 0, out, sizeof out),
              PKC_ERR_NOT_FOUND);
    CHECK_OK(pkc_message_open(&f.message, f.type, fx.bob, NULL, 0, out, sizeof out));
    CHECK_MEM(f.message.plaintext.data, text, sizeof text - 1);
    /* Each message has its own ephemeral key. */
    uint8_t *enc2;
    size_t len2;
    pkc_frame f2;
    CHECK_OK(make(&fx, fx.alice, &mp, &enc2, &len2, &f2));
    CHECK(memcmp(f.message.ephemeral, f2.message.ephemeral, 32) != 0);
    /* Direct but not sealed: readable by relays, still signed. */
    mp.to_dh_public_key = NULL;
    uint8_t *enc3;
    size_t len3;
    pkc_frame f3;
    CHECK_OK(make(&fx, fx.alice, &mp, &enc3, &len3, &f3));
    CHECK_EQ(f3.message.flags, PKC_MSG_DIRECT);
    CHECK_EQ(f3.message.opened, 1);
    /* Inconsistent parameters. */
    mp.to_dh_public_key = pkc_identity_get_dh_public_key(fx.bob);
    pkc_room_key room;
    uint8_t room_secret[32] = {1};
    pkc_room_key_derive(room_secret, &room);
    mp.room = &room;
    uint8_t *x;
    size_t xl;
    CHECK_ERR(pkc_message_create(fx.alice, &mp, &fx.clock.clock, &fx.rng.rng, &x, &xl, NULL),
              PKC_ERR_INVALID_ARG);
    /* A small-order recipient key. */
    static const uint8_t zero[32];
    mp.room = NULL;
    mp.to_dh_public_key = zero;
    CHECK_ERR(pkc_message_create(fx.alice, &mp, &fx.clock.clock, &fx.rng.rng, &x, &xl, NULL),
              PKC_ERR_CRYPTO);
    free(enc);
    free(enc2);
    free(enc3);
    fx_free(&fx);
}

TEST(proto_frame, signals_are_sealed_and_decode)
{
    fixture fx;
    fx_init(&fx);
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n";
    pkc_signal sg = {PKC_SIGNAL_ANSWER, {(const uint8_t *)"attempt-7", 9},
                     {(const uint8_t *)sdp, sizeof sdp - 1}};
    uint8_t payload[256], out[256];
    size_t plen, len;
    CHECK_OK(pkc_signal_encode(&sg, payload, sizeof payload, &plen));
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_SIGNAL;
    mp.to_public_key = pkc_identity_get_public_key(fx.bob);
    mp.payload = payload;
    mp.payload_len = plen;
    uint8_t *enc;
    pkc_frame f;
    /* A signal must be sealed. */
    CHECK_ERR(make(&fx, fx.alice, &mp, &enc, &len, &f), PKC_ERR_INVALID_ARG);
    mp.to_dh_public_key = pkc_identity_get_dh_public_key(fx.bob);
    CHECK_OK(make(&fx, fx.alice, &mp, &enc, &len, &f));
    CHECK_EQ(f.type, PKC_FRAME_SIGNAL);
    CHECK_OK(pkc_message_verify(&f.message, f.type, NOW_MS, 600000, 120000));
    CHECK_ERR(pkc_message_verify(&f.message, PKC_FRAME_DATA, NOW_MS, 600000, 120000),
              PKC_ERR_BAD_SIGNATURE);
    CHECK_OK(pkc_message_open(&f.message, f.type, fx.bob, NULL, 0, out, sizeof out));
    pkc_signal got;
    CHECK_OK(pkc_signal_decode(f.message.plaintext.data, f.message.plaintext.len, &got));
    CHECK_EQ(got.kind, PKC_SIGNAL_ANSWER);
    CHECK_EQ(got.connection.len, 9);
    CHECK_MEM(got.body.data, sdp, sizeof sdp - 1);
    /* The same bytes as DATA and as SIGNAL have different ids. */
    uint8_t digest_data[32];
    pkc_message_digest(PKC_FRAME_DATA, f.message.signed_part.data, f.message.signed_part.len,
                       digest_data);
    CHECK(memcmp(digest_data, f.message.id, 16) != 0);
    CHECK_MEM(f.message.id, f.message.digest, 16);
    /* A SIGNAL that is not sealed is malformed. */
    size_t start = (size_t)(f.message.signed_part.data - enc);
    enc[start + 1] = PKC_MSG_DIRECT;
    size_t used;
    CHECK_ERR(pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &f, &used), PKC_ERR_MALFORMED);
    /* Unknown signal kinds. */
    uint8_t bad[] = {0x09, 0x00, 0x00};
    CHECK_ERR(pkc_signal_decode(bad, sizeof bad, &got), PKC_ERR_UNSUPPORTED);
    free(enc);
    fx_free(&fx);
}

TEST(proto_frame, message_flags_are_validated)
{
    fixture fx;
    fx_init(&fx);
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    uint8_t *enc;
    size_t len, used;
    pkc_frame f;
    CHECK_OK(make(&fx, fx.alice, &mp, &enc, &len, &f));
    size_t flags_at = (size_t)(f.message.signed_part.data - enc) + 1;
    static const uint8_t bad_flags[] = {0x08, 0x04, 0x06, 0x80};
    for (size_t i = 0; i < sizeof bad_flags; i++) {
        enc[flags_at] = bad_flags[i];
        CHECK_ERR(pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &f, &used), PKC_ERR_MALFORMED);
    }
    enc[flags_at] = 0;
    enc[flags_at - 1] = 2; /* message version 2 */
    CHECK_ERR(pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &f, &used), PKC_ERR_UNSUPPORTED);
    free(enc);
    fx_free(&fx);
}

/* --- Announcements ----------------------------------------------------- */

TEST(proto_frame, announcements_verify_and_forgeries_do_not)
{
    fixture fx;
    fx_init(&fx);
    const char *addrs[] = {"udp:192.0.2.7:5000"};
    pkc_announce_params ap = {NOW_MS, 1, addrs, 1, 8};
    uint8_t *enc;
    size_t len, used;
    CHECK_OK(pkc_announce_create(fx.alice, &ap, &enc, &len));
    pkc_frame f;
    CHECK_OK(pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_OK(pkc_announce_verify(&f.announce, NOW_MS, 3600000, 120000, 8));
    CHECK_OK(pkc_announce_verify(&f.announce, NOW_MS, 3600000, 120000, 0));
    /* Every single bit of the record is covered. */
    size_t start = (size_t)(f.announce.encoded.data - enc), forged = 0;
    for (size_t i = start; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            enc[i] ^= (uint8_t)(1 << bit);
            pkc_frame g;
            if (pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &g, &used) == 0) {
                int rc = pkc_announce_verify(&g.announce, NOW_MS, 3600000, 120000, 0);
                CHECK(rc != 0);
                forged++;
            }
            enc[i] ^= (uint8_t)(1 << bit);
        }
    }
    CHECK(forged > 100);
    /* Mallory announces with Alice's key and her own signature. */
    size_t body = len - start;
    uint8_t *copy = malloc(len);
    memcpy(copy, enc, len);
    pkc_identity_sign_labeled(fx.carol, PKC_LABEL_ANNOUNCE, copy + start, body - 64,
                              copy + len - 64);
    pkc_frame g;
    CHECK_OK(pkc_frame_decode(copy, len, PKC_FRAME_SIZE_MAX, &g, &used));
    CHECK_ERR(pkc_announce_verify(&g.announce, NOW_MS, 3600000, 120000, 0),
              PKC_ERR_BAD_SIGNATURE);
    free(copy);
    /* Time. */
    CHECK_ERR(pkc_announce_verify(&f.announce, NOW_MS + 3600001, 3600000, 120000, 0),
              PKC_ERR_STALE);
    CHECK_ERR(pkc_announce_verify(&f.announce, NOW_MS - 120001, 3600000, 120000, 0),
              PKC_ERR_STALE);
    free(enc);
    fx_free(&fx);
}

TEST(proto_frame, announcement_proof_of_work_wrong_or_reused)
{
    fixture fx;
    fx_init(&fx);
    pkc_announce_params ap = {NOW_MS, 0, NULL, 0, 12};
    uint8_t *enc;
    size_t len, used;
    CHECK_OK(pkc_announce_create(fx.alice, &ap, &enc, &len));
    pkc_frame f;
    CHECK_OK(pkc_frame_decode(enc, len, PKC_FRAME_SIZE_MAX, &f, &used));
    CHECK_OK(pkc_announce_verify(&f.announce, NOW_MS, 3600000, 120000, 12));
    CHECK_ERR(pkc_announce_verify(&f.announce, NOW_MS, 3600000, 120000, 24), PKC_ERR_POW);
    uint64_t paid = f.announce.pow_counter;

    /* A later announcement that reuses the counter (validly signed: the
     * signer is the cheater) is worth nothing: the stamp covers the time. */
    pkc_announce_params later = {NOW_MS + 1000, 0, NULL, 0, 0};
    uint8_t *enc2;
    size_t len2;
    CHECK_OK(pkc_announce_create(fx.alice, &later, &enc2, &len2));
    pkc_frame g;
    CHECK_OK(pkc_frame_decode(enc2, len2, PKC_FRAME_SIZE_MAX, &g, &used));
    /* Write the old counter and sign again. */
    size_t start = (size_t)(g.announce.encoded.data - enc2);
    size_t ctr_at = len2 - 64 - 8;
    for (int i = 0; i < 8; i++)
        enc2[ctr_at + (size_t)i] = (uint8_t)(paid >> (56 - 8 * i));
    pkc_identity_sign_labeled(fx.alice, PKC_LABEL_ANNOUNCE, enc2 + start, ctr_at + 8 - start,
                              enc2 + len2 - 64);
    CHECK_OK(pkc_frame_decode(enc2, len2, PKC_FRAME_SIZE_MAX, &g, &used));
    CHECK_EQ(g.announce.pow_counter, paid);
    CHECK_ERR(pkc_announce_verify(&g.announce, NOW_MS, 3600000, 120000, 12), PKC_ERR_POW);
    /* Nor does Bob's announcement at the same time. */
    pkc_announce_params bob = {NOW_MS, 0, NULL, 0, 0};
    uint8_t *enc3;
    size_t len3;
    CHECK_OK(pkc_announce_create(fx.bob, &bob, &enc3, &len3));
    CHECK_OK(pkc_frame_decode(enc3, len3, PKC_FRAME_SIZE_MAX, &g, &used));
    start = (size_t)(g.announce.encoded.data - enc3);
    ctr_at = len3 - 64 - 8;
    for (int i = 0; i < 8; i++)
        enc3[ctr_at + (size_t)i] = (uint8_t)(paid >> (56 - 8 * i));
    pkc_identity_sign_labeled(fx.bob, PKC_LABEL_ANNOUNCE, enc3 + start, ctr_at + 8 - start,
                              enc3 + len3 - 64);
    CHECK_OK(pkc_frame_decode(enc3, len3, PKC_FRAME_SIZE_MAX, &g, &used));
    CHECK_ERR(pkc_announce_verify(&g.announce, NOW_MS, 3600000, 120000, 12), PKC_ERR_POW);
    free(enc);
    free(enc2);
    free(enc3);
    fx_free(&fx);
}

TEST(proto_frame, announcement_limits)
{
    fixture fx;
    fx_init(&fx);
    const char *addrs[PKC_ADDRESSES_MAX + 1];
    for (int i = 0; i <= PKC_ADDRESSES_MAX; i++)
        addrs[i] = "udp:192.0.2.1:1";
    pkc_announce_params ap = {NOW_MS, 0, addrs, PKC_ADDRESSES_MAX + 1, 0};
    uint8_t *enc;
    size_t len;
    CHECK_ERR(pkc_announce_create(fx.alice, &ap, &enc, &len), PKC_ERR_RANGE);
    ap.n_addresses = 1;
    char longaddr[PKC_ADDRESS_MAX + 2];
    memset(longaddr, 'x', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = '\0';
    addrs[0] = longaddr;
    CHECK_ERR(pkc_announce_create(fx.alice, &ap, &enc, &len), PKC_ERR_INVALID_ARG);
    addrs[0] = "";
    CHECK_ERR(pkc_announce_create(fx.alice, &ap, &enc, &len), PKC_ERR_INVALID_ARG);
    ap.n_addresses = 0;
    ap.pow_bits = 33;
    CHECK_ERR(pkc_announce_create(fx.alice, &ap, &enc, &len), PKC_ERR_RANGE);
    fx_free(&fx);
}
