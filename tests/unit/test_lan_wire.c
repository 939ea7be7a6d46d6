/* The LAN announcement datagram (src/discovery/lan_wire.c): the vectors an
 * independent Python implementation wrote (tests/vectors/gen_lan.py), the
 * record against pkc_announce_create(), limits, and the signature's cover. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "discovery/lan_wire.h"
#include "test.h"
#include "vectors.h"

static size_t hex(json_t *o, const char *key, uint8_t *out, size_t cap)
{
    return pkc_test_unhex(pkc_test_json_str(o, key), out, cap);
}

static const uint8_t FP[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t ROOM[8] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11};

static pkc_identity *make_identity(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    pkc_identity *id = NULL;
    if (pkc_identity_from_seed(seed, &id) != 0)
        abort();
    return id;
}

TEST(lan_wire, vectors_valid)
{
    json_t *j = pkc_test_vectors_load("lan.json");
    CHECK(j != NULL);
    /* The local room. */
    uint8_t secret[32], want[32];
    pkc_lan_local_room_secret(secret);
    json_t *local = json_object_get(j, "local_room");
    CHECK_EQ(hex(local, "secret", want, sizeof want), 32);
    CHECK_MEM(secret, want, 32);
    pkc_room_key k;
    pkc_room_key_derive(secret, &k);
    CHECK_EQ(hex(local, "room_id", want, sizeof want), 8);
    CHECK_MEM(k.id, want, 8);

    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "valid"), i, v)
    {
        uint8_t seed[32], dg[PKC_LAN_DATAGRAM_MAX], fp[32], pk[32], dh[32];
        CHECK_EQ(hex(v, "seed", seed, 32), 32);
        size_t dg_len = hex(v, "datagram", dg, sizeof dg);
        CHECK_EQ(hex(v, "fingerprint", fp, 32), 32);
        CHECK_EQ(hex(v, "public_key", pk, 32), 32);
        CHECK_EQ(hex(v, "dh_public_key", dh, 32), 32);
        uint64_t ts = (uint64_t)json_integer_value(json_object_get(v, "timestamp_ms"));
        const char *addrs[PKC_ADDRESSES_MAX];
        size_t n_addrs = json_array_size(json_object_get(v, "addresses"));
        for (size_t a = 0; a < n_addrs; a++)
            addrs[a] = json_string_value(json_array_get(json_object_get(v, "addresses"), a));
        uint8_t rooms[PKC_LAN_ROOMS_MAX * 8];
        json_t *secrets = json_object_get(v, "room_secrets"), *ids = json_object_get(v, "room_ids");
        size_t n_rooms = json_array_size(secrets);
        for (size_t r = 0; r < n_rooms; r++) {
            uint8_t s[32], id[8];
            CHECK_EQ(pkc_test_unhex(json_string_value(json_array_get(secrets, r)), s, 32), 32);
            CHECK_EQ(pkc_test_unhex(json_string_value(json_array_get(ids, r)), id, 8), 8);
            pkc_room_key_derive(s, &k);
            CHECK_MEM(k.id, id, 8);
            memcpy(rooms + r * 8, id, 8);
        }
        pkc_identity *ident;
        CHECK_OK(pkc_identity_from_seed(seed, &ident));
        CHECK_MEM(pkc_identity_get_public_key(ident), pk, 32);

        /* C writes the same bytes. */
        if (json_is_true(json_object_get(v, "pkc_writes"))) {
            pkc_lan_params p = {.timestamp_ms = ts,
                                .addresses = addrs,
                                .n_addresses = n_addrs,
                                .rooms = rooms,
                                .n_rooms = n_rooms,
                                .fingerprint = fp,
                                .ufrag = pkc_test_json_str(v, "ufrag"),
                                .pwd = pkc_test_json_str(v, "pwd")};
            pkc_buf b = PKC_BUF_INIT;
            CHECK_OK(pkc_lan_datagram_encode(ident, &p, &b));
            CHECK_EQ(b.len, dg_len);
            CHECK_MEM(b.data, dg, dg_len);
            pkc_buf_free(&b);
        }
        /* And reads what the vector says. */
        pkc_lan_announcement a;
        CHECK_OK(pkc_lan_datagram_decode(dg, dg_len, &a));
        CHECK_MEM(a.announce.public_key, pk, 32);
        CHECK_MEM(a.announce.dh_public_key, dh, 32);
        CHECK_EQ_U64(a.announce.timestamp_ms, ts);
        CHECK_EQ(a.announce.n_addresses, n_addrs);
        for (size_t x = 0; x < n_addrs; x++) {
            CHECK_EQ(a.announce.addresses[x].len, strlen(addrs[x]));
            CHECK_MEM(a.announce.addresses[x].data, addrs[x], strlen(addrs[x]));
        }
        CHECK_EQ(a.n_rooms, n_rooms);
        CHECK_MEM(a.rooms, rooms, n_rooms * 8);
        CHECK_MEM(a.fingerprint, fp, 32);
        CHECK_EQ(a.ufrag.len, strlen(pkc_test_json_str(v, "ufrag")));
        CHECK_MEM(a.ufrag.data, pkc_test_json_str(v, "ufrag"), a.ufrag.len);
        CHECK_EQ(a.pwd.len, strlen(pkc_test_json_str(v, "pwd")));
        CHECK_MEM(a.pwd.data, pkc_test_json_str(v, "pwd"), a.pwd.len);
        CHECK_STR(a.announce.peer_id, pkc_identity_get_peer_id(ident));
        CHECK_OK(pkc_announce_verify(&a.announce, (int64_t)ts, 120000, 120000, 0));
        pkc_identity_free(ident);
    }
    CHECK(i >= 3);
    json_decref(j);
}

TEST(lan_wire, vectors_invalid)
{
    json_t *j = pkc_test_vectors_load("lan.json");
    CHECK(j != NULL);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "invalid"), i, v)
    {
        uint8_t dg[4096];
        size_t n = hex(v, "datagram", dg, sizeof dg);
        pkc_lan_announcement a;
        memset(&a, 0x5a, sizeof a);
        int rc = pkc_lan_datagram_decode(dg, n, &a);
        if (strcmp(pkc_err_name(rc), pkc_test_json_str(v, "error")) != 0) {
            pkc_test_fail(__FILE__, __LINE__, "%s: %s, expected %s (%s)", pkc_test_json_str(v, "name"),
                          pkc_err_name(rc), pkc_test_json_str(v, "error"), pkc_errmsg());
            break;
        }
        CHECK(strlen(pkc_errmsg()) > 0);
        CHECK_EQ(((uint8_t *)&a)[0], 0x5a); /* untouched */
    }
    CHECK(i >= 10);
    json_decref(j);
}

/* The record inside the datagram is the one pkc_announce_create() makes: with
 * no extensions, byte for byte. */
TEST(lan_wire, record_is_pkc_announce_create)
{
    pkc_identity *id = make_identity(7);
    const char *addrs[] = {"udp:10.0.0.1:4000", "udp:[::1]:4001"};
    pkc_announce_params ap = {.timestamp_ms = 1767225600123ull,
                              .capabilities = 5,
                              .addresses = addrs,
                              .n_addresses = 2};
    uint8_t *frame;
    size_t frame_len, used;
    CHECK_OK(pkc_announce_create(id, &ap, &frame, &frame_len));
    pkc_frame f;
    CHECK_OK(pkc_frame_decode(frame, frame_len, PKC_FRAME_SIZE_MAX, &f, &used));
    pkc_buf b = PKC_BUF_INIT;
    static const uint8_t no_ext[] = {0};
    CHECK_OK(pkc_lan_record_encode(id, ap.timestamp_ms, ap.capabilities, addrs, 2, no_ext, 1, &b));
    CHECK_EQ(b.len, f.announce.encoded.len);
    CHECK_MEM(b.data, f.announce.encoded.data, b.len);
    pkc_buf_free(&b);
    free(frame);
    pkc_identity_free(id);
}

TEST(lan_wire, addresses)
{
    static const char *good[] = {"udp:1.2.3.4:1", "udp:192.168.1.20:65535", "udp:[::1]:80",
                                 "udp:[fd00::20]:41000", "udp:[::ffff:1.2.3.4]:9",
                                 "udp:[2001:db8:1:2:3:4:5:6]:1234"};
    static const char *bad[] = {"",
                                "udp:",
                                "tcp:1.2.3.4:1",
                                "udp:1.2.3.4",
                                "udp:1.2.3.4:",
                                "udp:1.2.3.4:0",
                                "udp:1.2.3.4:65536",
                                "udp:1.2.3.4:01",
                                "udp:1.2.3.4:+1",
                                "udp:01.2.3.4:1",
                                "udp:1.2.3:1",
                                "udp:[1.2.3.4]:1",
                                "udp:::1:80",
                                "udp:[::1:80",
                                "udp:[FD00::20]:1",
                                "udp:[fd00:0::20]:1",
                                "udp:[fe80::1%eth0]:1",
                                "udp:localhost:1",
                                "udp: 1.2.3.4:1",
                                "udp:[2001:db8:1:2:3:4:5:6:7]:1234"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!pkc_lan_address_valid(good[i], strlen(good[i])))
            pkc_test_fail(__FILE__, __LINE__, "refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (pkc_lan_address_valid(bad[i], strlen(bad[i])))
            pkc_test_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
    /* A NUL inside is not part of an address (inet_pton would stop there). */
    CHECK(!pkc_lan_address_valid("udp:1.2.3.4:1\0", 14));
    CHECK(!pkc_lan_address_valid("udp:1.2.3.4\0:1", 14));
    CHECK(!pkc_lan_address_valid("udp:[::1\0]:1", 12));
}

static pkc_lan_params params(const char *const *addrs, size_t n_addrs, const uint8_t *rooms,
                             size_t n_rooms)
{
    pkc_lan_params p = {.timestamp_ms = 1767225600000ull,
                        .addresses = addrs,
                        .n_addresses = n_addrs,
                        .rooms = rooms,
                        .n_rooms = n_rooms,
                        .fingerprint = FP,
                        .ufrag = "abcd",
                        .pwd = "abcdefghijklmnopqrstuv"};
    return p;
}

TEST(lan_wire, encode_limits)
{
    pkc_identity *id = make_identity(3);
    const char *one[] = {"udp:10.1.2.3:5000"};
    uint8_t rooms[17 * 8];
    memset(rooms, 0x42, sizeof rooms);
    pkc_buf b = PKC_BUF_INIT;
    pkc_lan_params p = params(one, 1, rooms, 1);
    CHECK_OK(pkc_lan_datagram_encode(id, &p, &b));
    size_t ok_len = b.len;

    p.n_rooms = 0;
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_INVALID_ARG);
    p.n_rooms = 17;
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_INVALID_ARG);
    p = params(one, 0, rooms, 1);
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_INVALID_ARG);
    const char *bad_addr[] = {"udp:host.example:5000"};
    p = params(bad_addr, 1, rooms, 1);
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_INVALID_ARG);
    p = params(one, 1, rooms, 1);
    p.ufrag = "abc";
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_INVALID_ARG);
    p.ufrag = "ab-d";
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_INVALID_ARG);
    p = params(one, 1, rooms, 1);
    p.pwd = "abcdefghijklmnopqrstu"; /* 21 */
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_INVALID_ARG);
    p = params(one, 1, rooms, 1);
    p.timestamp_ms = 1ull << 53;
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_RANGE);
    CHECK_EQ(b.len, ok_len); /* failures leave `out` as it was */

    /* The largest case: 16 rooms, 16 of the longest addresses, the longest
     * credentials: too large; 15 addresses fit. */
    const char *longest = "udp:[1111:2222:3333:4444:5555:6666:7777:8888]:65535";
    CHECK(pkc_lan_address_valid(longest, strlen(longest)));
    const char *many[16];
    for (int i = 0; i < 16; i++)
        many[i] = longest;
    char ufrag[65], pwd[65];
    memset(ufrag, 'u', 64);
    memset(pwd, 'p', 64);
    ufrag[64] = pwd[64] = 0;
    p = params(many, 16, rooms, 16);
    p.ufrag = ufrag;
    p.pwd = pwd;
    pkc_buf_reset(&b);
    CHECK_ERR(pkc_lan_datagram_encode(id, &p, &b), PKC_ERR_TOO_LARGE);
    CHECK_EQ(b.len, 0);
    while (pkc_lan_datagram_encode(id, &p, &b) == PKC_ERR_TOO_LARGE)
        p.n_addresses--;
    CHECK_EQ(p.n_addresses, 14);
    CHECK(b.len <= PKC_LAN_DATAGRAM_MAX);
    pkc_lan_announcement a;
    CHECK_OK(pkc_lan_datagram_decode(b.data, b.len, &a));
    CHECK_EQ(a.n_rooms, 16);
    CHECK_EQ(a.announce.n_addresses, 14);
    CHECK_EQ(a.ufrag.len, 64);
    pkc_buf_free(&b);
    pkc_identity_free(id);
}

/* Every bit of a datagram matters: flipping any one makes it undecodable or
 * its signature fail (except the magic and version, which fail earlier). */
TEST(lan_wire, signature_covers_every_bit)
{
    pkc_identity *id = make_identity(9);
    const char *addrs[] = {"udp:10.1.2.3:5000", "udp:[fd00::1]:5000"};
    pkc_lan_params p = params(addrs, 2, ROOM, 1);
    pkc_buf b = PKC_BUF_INIT;
    CHECK_OK(pkc_lan_datagram_encode(id, &p, &b));
    int64_t now = (int64_t)p.timestamp_ms;
    pkc_lan_announcement a;
    CHECK_OK(pkc_lan_datagram_decode(b.data, b.len, &a));
    CHECK_OK(pkc_announce_verify(&a.announce, now, 120000, 120000, 0));
    size_t accepted = 0;
    for (size_t i = 0; i < b.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (uint8_t)(1u << bit);
            if (pkc_lan_datagram_decode(b.data, b.len, &a) == 0 &&
                pkc_announce_verify(&a.announce, now, 1ll << 53, 1ll << 53, 0) == 0)
                accepted++;
            b.data[i] ^= (uint8_t)(1u << bit);
        }
    CHECK_EQ(accepted, 0);
    pkc_buf_free(&b);
    pkc_identity_free(id);
}

TEST(lan_wire, decode_limits)
{
    uint8_t big[PKC_LAN_DATAGRAM_MAX + 1];
    memset(big, 0, sizeof big);
    memcpy(big, "pkcl\x01", 5);
    pkc_lan_announcement a;
    CHECK_ERR(pkc_lan_datagram_decode(big, sizeof big, &a), PKC_ERR_TOO_LARGE);
    CHECK_ERR(pkc_lan_datagram_decode(big, 5, &a), PKC_ERR_TRUNCATED);
    CHECK_ERR(pkc_lan_datagram_decode(big, 0, &a), PKC_ERR_TRUNCATED);
    CHECK_ERR(pkc_lan_datagram_decode(NULL, 10, &a), PKC_ERR_INVALID_ARG);
}
