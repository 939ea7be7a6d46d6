/* The mesh message codec: byte-exact encodings (the examples of
 * docs/protocol.md) and rejection of malformed input. */
#include <string.h>

#include "mesh/wire.h"
#include "test.h"

static void check_hex(const mesh_msg *m, const char *hex)
{
    uint8_t want[512];
    size_t n = pkc_test_unhex(hex, want, sizeof want);
    pkc_buf b = PKC_BUF_INIT;
    CHECK_OK(mesh_msg_encode(&b, m));
    CHECK_EQ(b.len, n);
    CHECK_MEM(b.data, want, n);
    mesh_msg d;
    CHECK_OK(mesh_msg_decode(&d, want, n));
    CHECK_EQ(d.type, m->type);
    pkc_buf_free(&b);
}

static const uint8_t ID_A[20] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
                                 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
static const uint8_t ID_B[20] = {0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
                                 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb};
#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

TEST(mesh_wire, known_encodings)
{
    mesh_msg m;
    memset(&m, 0, sizeof m);
    m.type = MESH_GOSSIP;
    m.u.gossip.flags = MESH_GOSSIP_FLOOD;
    m.u.gossip.round = 2;
    m.u.gossip.origin = ID_A;
    m.u.gossip.id = (const uint8_t *)"id";
    m.u.gossip.id_len = 2;
    m.u.gossip.payload = (const uint8_t *)"hi";
    m.u.gossip.len = 2;
    check_hex(&m, "010102" HEX_A "02696402" "6869");
    CHECK_HELPER();
    m.u.gossip.flags = MESH_GOSSIP_OFFTREE;
    check_hex(&m, "010202" HEX_A "02696402" "6869");
    CHECK_HELPER();
    m.u.gossip.flags = MESH_GOSSIP_CATCHUP;
    check_hex(&m, "010402" HEX_A "02696402" "6869");
    CHECK_HELPER();

    /* CATCHUP, as IHAVE: one item, id "id", round 2. */
    memset(&m, 0, sizeof m);
    m.type = MESH_CATCHUP;
    m.u.items.count = 1;
    m.u.items.items = (const uint8_t *)"\x02" "id" "\x02";
    m.u.items.items_len = 4;
    check_hex(&m, "0f01" "026964" "02");
    CHECK_HELPER();

    memset(&m, 0, sizeof m);
    m.type = MESH_PRUNE;
    check_hex(&m, "04");
    CHECK_HELPER();

    memset(&m, 0, sizeof m);
    m.type = MESH_TREE;
    m.u.tree.root = ID_B;
    m.u.tree.seq = 258;
    m.u.tree.dist = 3;
    m.u.tree.flags = MESH_TREE_PARENT;
    check_hex(&m, "0e" HEX_B "00000102" "0301");
    CHECK_HELPER();
    m.u.tree.seq = 0xffffffffu;
    m.u.tree.dist = 0;
    m.u.tree.flags = MESH_TREE_RETRACT;
    check_hex(&m, "0e" HEX_B "ffffffff" "0002");
    CHECK_HELPER();

    memset(&m, 0, sizeof m);
    m.type = MESH_PING;
    m.u.ping.nonce = 300;
    check_hex(&m, "0aac0200");
    CHECK_HELPER();

    /* A record with a coordinate: x = -12.5 ms, y = 3 ms, height 0.5 ms. */
    memset(&m, 0, sizeof m);
    m.type = MESH_NEIGHBORS;
    m.u.neighbors.count = 1;
    m.u.neighbors.rec[0] = (mesh_record){ID_A, MESH_REC_DIALABLE | MESH_REC_COORD, -125, 30, 5};
    check_hex(&m, "0701" HEX_A "03fd011e05");
    CHECK_HELPER();

    uint8_t path[40];
    memcpy(path, ID_A, 20);
    memcpy(path + 20, ID_B, 20);
    memset(&m, 0, sizeof m);
    m.type = MESH_ROUTE;
    m.u.route.kind = MESH_RK_DIRECT;
    m.u.route.target = ID_B;
    m.u.route.waypoint = ID_A;
    m.u.route.path.len = 2;
    m.u.route.path.ids = path;
    m.u.route.payload = (const uint8_t *)"x";
    m.u.route.len = 1;
    check_hex(&m, "0c01" HEX_B "01" HEX_A "02" HEX_A HEX_B "0178");
}

TEST(mesh_wire, items_roundtrip)
{
    pkc_buf items = PKC_BUF_INIT;
    pkc_buf_push_varbytes(&items, "abc", 3);
    pkc_buf_push_varuint(&items, 7);
    pkc_buf_push_varbytes(&items, "z", 1);
    pkc_buf_push_varuint(&items, 200);
    mesh_msg m;
    memset(&m, 0, sizeof m);
    m.type = MESH_IHAVE;
    m.u.items.count = 2;
    m.u.items.items = items.data;
    m.u.items.items_len = items.len;
    pkc_buf b = PKC_BUF_INIT;
    CHECK_OK(mesh_msg_encode(&b, &m));
    mesh_msg d;
    CHECK_OK(mesh_msg_decode(&d, b.data, b.len));
    CHECK_EQ(d.u.items.count, 2);
    mesh_items_iter it;
    const uint8_t *id;
    size_t len;
    uint64_t round;
    mesh_items_begin(&it, &d);
    CHECK(mesh_items_next(&it, &id, &len, &round));
    CHECK(len == 3 && memcmp(id, "abc", 3) == 0 && round == 7);
    CHECK(mesh_items_next(&it, &id, &len, &round));
    CHECK(len == 1 && round == 200);
    CHECK(!mesh_items_next(&it, &id, &len, &round));
    pkc_buf_free(&b);
    pkc_buf_free(&items);
}

static void check_rejects(const char *hex, int code)
{
    uint8_t in[512];
    size_t n = pkc_test_unhex(hex, in, sizeof in);
    mesh_msg m;
    CHECK_ERR(mesh_msg_decode(&m, in, n), code);
}

TEST(mesh_wire, rejects_malformed)
{
    check_rejects("", PKC_ERR_TRUNCATED);
    check_rejects("ff", PKC_ERR_MALFORMED);             /* unknown type */
    check_rejects("0400", PKC_ERR_MALFORMED);           /* PRUNE with a trailing byte */
    check_rejects("0180", PKC_ERR_MALFORMED);           /* unknown GOSSIP flags */
    check_rejects("0108", PKC_ERR_MALFORMED);           /* the next one too */
    check_rejects("0f01026964", PKC_ERR_TRUNCATED);     /* CATCHUP item without its round */
    check_rejects("010000" HEX_A "00" "00", PKC_ERR_MALFORMED); /* empty message id */
    check_rejects("010000" HEX_A "21", PKC_ERR_TRUNCATED);      /* id longer than the input */
    check_rejects("010000" HEX_A "0178" "05616263", PKC_ERR_TRUNCATED); /* payload cut short */
    check_rejects("0200", PKC_ERR_RANGE);               /* IHAVE without ids */
    check_rejects("02818001", PKC_ERR_RANGE);           /* 16385 ids */
    check_rejects("028002", PKC_ERR_TRUNCATED);         /* 256 ids in 0 bytes */
    check_rejects("0c01" HEX_B "00" "00" "00", PKC_ERR_RANGE);   /* ROUTE with an empty path */
    check_rejects("0c01" HEX_B "00" "11", PKC_ERR_RANGE);        /* path of 17 */
    check_rejects("0c01" HEX_B "00" "02" HEX_A HEX_A "00", PKC_ERR_MALFORMED); /* loop */
    check_rejects("0c01" HEX_B "02", PKC_ERR_MALFORMED);         /* unknown ROUTE flags */
    check_rejects("0c00", PKC_ERR_MALFORMED);                    /* ROUTE kind 0 */
    check_rejects("0e" HEX_B "00000001" "0304", PKC_ERR_MALFORMED); /* unknown TREE flags */
    check_rejects("0e" HEX_B "0301", PKC_ERR_TRUNCATED);  /* TREE without its sequence number */
    check_rejects("0e" HEX_B "00000001" "03", PKC_ERR_TRUNCATED);   /* TREE without flags */
    check_rejects("0e" HEX_B "00000001" "030100", PKC_ERR_MALFORMED); /* trailing byte */
    check_rejects("0e" HEX_B "00000001" "0102", PKC_ERR_MALFORMED); /* retraction, distance 1 */
    check_rejects("0e" HEX_B "00000001" "0003", PKC_ERR_MALFORMED); /* retraction, PARENT */
    check_rejects("0721", PKC_ERR_RANGE);                        /* 33 records */
    check_rejects("0701" HEX_A "02ffffffff0f", PKC_ERR_RANGE);   /* coordinate out of range */
    check_rejects("0a0102", PKC_ERR_MALFORMED);                  /* PING coordinate flag 2 */
}

#define HEX_PK "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX_SIG HEX_PK HEX_PK

/* SIGNAL: op, nonce, time, public key, the op's fields, signature. */
TEST(mesh_wire, route_bodies)
{
    mesh_route_body rb;
    uint8_t in[256];
    size_t n = pkc_test_unhex("0307" "e807" HEX_PK "02" "00" HEX_SIG, in, sizeof in);
    CHECK_OK(mesh_route_body_decode(&rb, MESH_RK_SIGNAL, in, n));
    CHECK_EQ(rb.u.signal.op, MESH_SIG_REFUSE);
    CHECK_EQ(rb.u.signal.nonce, 7);
    CHECK_EQ(rb.u.signal.time_ms, 1000);
    CHECK(rb.u.signal.public_key == in + 4);
    CHECK_EQ(rb.u.signal.reason, 2);
    CHECK_EQ(rb.u.signal.count, 0);
    CHECK_EQ(rb.u.signal.signed_len, 38);
    CHECK(rb.u.signal.sig == in + 38);
    /* It re-encodes to the same bytes. */
    pkc_buf b = PKC_BUF_INIT;
    CHECK_OK(mesh_route_body_encode(&b, &rb));
    CHECK(b.len == n && memcmp(b.data, in, n) == 0);
    pkc_buf_free(&b);
    /* 9 suggestions: at most 8 */
    n = pkc_test_unhex("0307" "e807" HEX_PK "02" "09", in, sizeof in);
    CHECK_ERR(mesh_route_body_decode(&rb, MESH_RK_SIGNAL, in, n), PKC_ERR_RANGE);
    n = pkc_test_unhex("0905" "00" HEX_PK, in, sizeof in);
    CHECK_ERR(mesh_route_body_decode(&rb, MESH_RK_SIGNAL, in, n), PKC_ERR_MALFORMED);
    n = pkc_test_unhex("0107" "00" HEX_PK "03", in, sizeof in); /* REQUEST priority 3 */
    CHECK_ERR(mesh_route_body_decode(&rb, MESH_RK_SIGNAL, in, n), PKC_ERR_MALFORMED);
    n = pkc_test_unhex("0307" "e807" HEX_PK "02" "00" HEX_PK, in, sizeof in); /* short signature */
    CHECK_ERR(mesh_route_body_decode(&rb, MESH_RK_SIGNAL, in, n), PKC_ERR_TRUNCATED);
    n = pkc_test_unhex("0307" "8080808080808080800100" HEX_PK, in, sizeof in); /* time > 2^53-1 */
    CHECK(mesh_route_body_decode(&rb, MESH_RK_SIGNAL, in, n) != 0);
    n = pkc_test_unhex("0407" "00" HEX_PK "056f66666572" HEX_SIG, in, sizeof in);
    CHECK_OK(mesh_route_body_decode(&rb, MESH_RK_SIGNAL, in, n));
    CHECK(rb.u.signal.len == 5 && memcmp(rb.u.signal.data, "offer", 5) == 0);
    /* docs/protocol.md's example: an ACCEPT from aa… to bb…. */
    static const uint8_t pk[32] = {0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
                                   0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
                                   0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
                                   0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc};
    uint8_t sig[64];
    memset(sig, 0xdd, sizeof sig);
    memset(&rb, 0, sizeof rb);
    rb.kind = MESH_RK_SIGNAL;
    rb.u.signal.op = MESH_SIG_ACCEPT;
    rb.u.signal.nonce = 7;
    rb.u.signal.time_ms = 1000;
    rb.u.signal.public_key = pk;
    rb.u.signal.sig = sig;
    pkc_buf body = PKC_BUF_INIT;
    CHECK_OK(mesh_route_body_encode(&body, &rb));
    mesh_msg m;
    memset(&m, 0, sizeof m);
    m.type = MESH_ROUTE;
    m.u.route.kind = MESH_RK_SIGNAL;
    m.u.route.target = ID_B;
    m.u.route.path.len = 1;
    m.u.route.path.ids = ID_A;
    m.u.route.payload = body.data;
    m.u.route.len = body.len;
#define HEX_DD "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
    check_hex(&m, "0c02" HEX_B "00" "01" HEX_A "64" "0207e807" HEX_PK HEX_DD HEX_DD);
    pkc_buf_free(&body);
    n = pkc_test_unhex("0407" "00" HEX_PK "056f66666572" HEX_SIG "00", in, sizeof in);
    CHECK_ERR(mesh_route_body_decode(&rb, MESH_RK_SIGNAL, in, n), PKC_ERR_MALFORMED);
    CHECK_ERR(mesh_route_body_decode(&rb, 9, in, n), PKC_ERR_MALFORMED);
}

/* The tables of wire.h: every row is named and reaches its decoder; a type
 * or ROUTE kind without a row is refused both ways. */
TEST(mesh_wire, type_tables)
{
    mesh_msg m;
    uint8_t in[1];
#define ROW(name, value, text, codec, handler, class)                                              \
    CHECK_STR(mesh_type_name(name), text);                                                         \
    in[0] = name;                                                                                  \
    if (mesh_msg_decode(&m, in, 1) != 0)                                                           \
        CHECK(strstr(pkc_errmsg(), "unknown mesh message type") == NULL);
    MESH_TYPES(ROW)
#undef ROW
    for (unsigned t = 0; t < 256; t++) {
        if (t != 0 && t < MESH_TYPE_END && strcmp(mesh_type_name(t), "?") != 0)
            continue;
        in[0] = (uint8_t)t;
        CHECK_ERR(mesh_msg_decode(&m, in, 1), PKC_ERR_MALFORMED);
        CHECK(strstr(pkc_errmsg(), "unknown mesh message type") != NULL);
        memset(&m, 0, sizeof m);
        m.type = (uint8_t)t;
        pkc_buf b = PKC_BUF_INIT;
        CHECK_ERR(mesh_msg_encode(&b, &m), PKC_ERR_INVALID_ARG);
        pkc_buf_free(&b);
    }
    CHECK_STR(mesh_type_name(0), "?");
    CHECK_STR(mesh_type_name(MESH_TYPE_END), "?");

    mesh_route_body rb;
#define ROW(name, value, stem)                                                                     \
    if (mesh_route_body_decode(&rb, name, in, 0) != 0)                                             \
        CHECK(strstr(pkc_errmsg(), "unknown ROUTE kind") == NULL);
    MESH_ROUTE_KINDS(ROW)
#undef ROW
    for (unsigned k = 0; k < 256; k++) {
        if (k != 0 && k < MESH_RK_END)
            continue;
        CHECK_ERR(mesh_route_body_decode(&rb, (uint8_t)k, in, 0), PKC_ERR_MALFORMED);
        memset(&rb, 0, sizeof rb);
        rb.kind = (uint8_t)k;
        pkc_buf b = PKC_BUF_INIT;
        CHECK_ERR(mesh_route_body_encode(&b, &rb), PKC_ERR_INVALID_ARG);
        pkc_buf_free(&b);
    }
}
