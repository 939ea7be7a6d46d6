/* Versioned structs (util/versioned.h, docs/api.md "Structs that grow"):
 * what an older program's smaller struct gets from a newer library. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/clock.h"
#include "util/rng.h"
#include "util/versioned.h"

/* A config as a library of version 2 has it, and the prefix a program
 * built against version 1 has. */
typedef struct cfg_v2 {
    int a;
    int b;
    int c; /* added in version 2 */
} cfg_v2;
typedef struct cfg_v1 {
    int a;
    int b;
} cfg_v1;

static pkc_struct_sizes sizes(void)
{
    static const size_t s[] = {0, sizeof(cfg_v1), sizeof(cfg_v2)};
    return (pkc_struct_sizes){"cfg", s, 2};
}

TEST(versioned, older_callers_keep_the_defaults_of_newer_fields)
{
    cfg_v2 lib = {1, 2, 3}; /* the library's defaults */
    cfg_v1 old = {10, 20};
    CHECK_OK(pkc_struct_read(&lib, &old, 1, sizes()));
    CHECK_EQ(lib.a, 10);
    CHECK_EQ(lib.b, 20);
    CHECK_EQ(lib.c, 3); /* the version 1 program never set it */
    cfg_v2 cur = {7, 8, 9};
    cfg_v2 got = {1, 2, 3};
    CHECK_OK(pkc_struct_read(&got, &cur, 2, sizes()));
    CHECK(memcmp(&got, &cur, sizeof got) == 0);
    /* NULL: nothing to read, the defaults stay. */
    CHECK_OK(pkc_struct_read(&got, NULL, 99, sizes()));
}

TEST(versioned, outputs_stop_where_the_callers_struct_ends)
{
    struct {
        cfg_v1 s;
        int guard;
    } old = {{0, 0}, 0x5a5a5a5a};
    cfg_v2 lib = {1, 2, 3};
    pkc_struct_write(&old.s, &lib, 1, sizes());
    CHECK_EQ(old.s.a, 1);
    CHECK_EQ(old.s.b, 2);
    CHECK_EQ(old.guard, 0x5a5a5a5a); /* not written past */
    /* A newer caller than the library gets what the library has. */
    struct {
        cfg_v2 s;
        int extra;
    } newer = {{0, 0, 0}, 77};
    pkc_struct_write(&newer, &lib, 3, sizes());
    CHECK_EQ(newer.s.c, 3);
    CHECK_EQ(newer.extra, 77);
}

TEST(versioned, unknown_versions_are_refused_with_both_named)
{
    cfg_v2 lib = {1, 2, 3};
    cfg_v1 old = {10, 20};
    CHECK_ERR(pkc_struct_read(&lib, &old, 3, sizes()), PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "cfg version 3") != NULL);
    CHECK(strstr(pkc_errmsg(), "1 to 2") != NULL);
    CHECK_ERR(pkc_struct_read(&lib, &old, 0, sizes()), PKC_ERR_INVALID_ARG);
    CHECK_EQ(lib.a, 1); /* unchanged */
}

/* The public entry points check the version the macros pass. */
TEST(versioned, public_entry_points_check_it)
{
    pkc_replay_config rc;
    pkc_replay_config_default(&rc);
    pkc_replay *r = NULL;
    CHECK_ERR(pkc_replay_new_versioned(2, &rc, pkc_rng_system(), &r), PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "pkc_replay_config version 2") != NULL);
    pkc_frame f;
    size_t used;
    CHECK_ERR(pkc_frame_decode_versioned((const uint8_t *)"\x01\x00", 2, 1024, 0, &f, &used),
              PKC_ERR_INVALID_ARG);
    pkc_session_config sc;
    pkc_session_config_default(&sc);
    pkc_session_callbacks cb = {0};
    pkc_session *s;
    CHECK_ERR(pkc_session_new_versioned(1, &sc, 5, &cb, NULL, pkc_clock_system(),
                                        pkc_rng_system(), &s),
              PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "pkc_session_callbacks version 5") != NULL);
    /* A default written for version 1 is the library's default. */
    pkc_rtc_channel_options o;
    memset(&o, 0xff, sizeof o);
    pkc_rtc_channel_options_default_versioned(1, &o);
    CHECK_EQ(o.ordered, 1);
    CHECK_EQ(o.priority, 256);
}

/* ---- the mesh's structs ------------------------------------------------------- */

static void mesh_send_nothing(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    (void)ud, (void)peer, (void)data, (void)len;
}

/* The mesh engine's own identity (it signs its signaling) and its id hash. */
static uint8_t MESH_SELF_HASH[PKC_PEER_ID_HASH_BYTES];
#define MESH_SELF pkc_test_identity(0x50, MESH_SELF_HASH)

/* The library reads a caller's config and callbacks only as far as their
 * version reaches (the copies below are exactly that size: ASan reports a
 * read past them), keeps what the caller set, and defaults the rest. */
TEST(versioned, mesh_reads_the_callers_structs_and_no_further)
{
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, 1700000000000);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 1);

    pkc_mesh_config *c = malloc(sizeof *c);
    CHECK(c != NULL);
    memset(c, 0xee, sizeof *c);
    pkc_mesh_config_default_versioned(PKC_MESH_CONFIG_V1, c);
    CHECK_EQ(c->max_peers, 8); /* every field of version 1 written */
    CHECK_EQ(c->score.retain_ms, 600000);
    c->max_peers = 3;
    c->target_peers = 2;
    pkc_mesh_callbacks *cb = malloc(sizeof *cb);
    CHECK(cb != NULL);
    memset(cb, 0, sizeof *cb);
    cb->send = mesh_send_nothing;
    pkc_mesh *m = NULL;
    CHECK_OK(pkc_mesh_new_versioned(PKC_MESH_CONFIG_V1, c, PKC_MESH_CALLBACKS_V1, cb, NULL,
                                    MESH_SELF, &clk.clock, &rng.rng, &m));
    free(c);
    free(cb); /* copied */
    static const uint8_t peers[4][PKC_PEER_ID_HASH_BYTES] = {{1}, {2}, {3}, {4}};
    for (int i = 0; i < 3; i++)
        CHECK_OK(pkc_mesh_peer_connected(m, peers[i], NULL, 0));
    /* max_peers 3 was read: a fourth takes the place of one (the defaults'
     * 8 would have had room for it) */
    CHECK_OK(pkc_mesh_peer_connected(m, peers[3], NULL, 0));
    CHECK_EQ(pkc_mesh_get_peers(m, NULL, 0), 3);
    pkc_mesh_free(m);

    /* A NULL config is the defaults, whatever the version says. */
    pkc_mesh_callbacks cb1 = {.send = mesh_send_nothing};
    CHECK_OK(pkc_mesh_new_versioned(PKC_MESH_CONFIG_VERSION, NULL, PKC_MESH_CALLBACKS_VERSION,
                                    &cb1, NULL, MESH_SELF, &clk.clock, &rng.rng, &m));
    pkc_mesh_free(m);
}

/* Outputs: the stats and each peer-info element stop where the caller's
 * struct of its version ends, and only `max` elements are written. */
TEST(versioned, mesh_outputs_stop_at_the_callers_end)
{
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, 1700000000000);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 2);
    pkc_mesh_callbacks cb = {.send = mesh_send_nothing};
    pkc_mesh *m = NULL;
    CHECK_OK(pkc_mesh_new(NULL, &cb, NULL, MESH_SELF, &clk.clock, &rng.rng, &m));
    static const uint8_t a[PKC_PEER_ID_HASH_BYTES] = {1}, b[PKC_PEER_ID_HASH_BYTES] = {2};
    CHECK_OK(pkc_mesh_peer_connected(m, a, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(m, b, NULL, 0));

    pkc_mesh_stats *st = malloc(sizeof *st); /* exactly version 1's size */
    CHECK(st != NULL);
    pkc_mesh_get_stats_versioned(m, PKC_MESH_STATS_V1, st);
    CHECK_EQ(st->connected_peers, 2);
    CHECK_EQ(st->total_connections, 2);
    free(st);

    struct {
        pkc_mesh_peer_info p[1];
        uint8_t guard[sizeof(pkc_mesh_peer_info)];
    } one;
    memset(&one, 0x5a, sizeof one);
    CHECK_EQ(pkc_mesh_get_peers_versioned(m, PKC_MESH_PEER_INFO_V1, one.p, 1), 2);
    CHECK(memcmp(one.p[0].id, a, sizeof a) == 0 || memcmp(one.p[0].id, b, sizeof b) == 0);
    for (size_t i = 0; i < sizeof one.guard; i++)
        CHECK_EQ(one.guard[i], 0x5a); /* the second neighbour was not written */
    pkc_mesh_peer_info two[2];
    CHECK_EQ(pkc_mesh_get_peers(m, two, 2), 2);
    CHECK(memcmp(two[0].id, two[1].id, sizeof two[0].id) != 0);
    CHECK_EQ(two[0].outbound, 0);
    CHECK_EQ(two[1].outbound, 0);
    pkc_mesh_free(m);
}

TEST(versioned, mesh_refuses_unknown_versions)
{
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, 1700000000000);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 3);
    pkc_mesh_config c;
    pkc_mesh_config_default(&c);
    pkc_mesh_callbacks cb = {.send = mesh_send_nothing};
    pkc_mesh *m = NULL;
    CHECK_ERR(pkc_mesh_new_versioned(2, &c, PKC_MESH_CALLBACKS_VERSION, &cb, NULL, MESH_SELF,
                                     &clk.clock, &rng.rng, &m),
              PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "pkc_mesh_config version 2") != NULL);
    CHECK(strstr(pkc_errmsg(), "1 to 1") != NULL);
    CHECK_ERR(pkc_mesh_new_versioned(PKC_MESH_CONFIG_VERSION, &c, 0, &cb, NULL, MESH_SELF,
                                     &clk.clock, &rng.rng, &m),
              PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "pkc_mesh_callbacks version 0") != NULL);
    CHECK(m == NULL);

    CHECK_OK(pkc_mesh_new(&c, &cb, NULL, MESH_SELF, &clk.clock, &rng.rng, &m));
    static const uint8_t a[PKC_PEER_ID_HASH_BYTES] = {1};
    CHECK_OK(pkc_mesh_peer_connected(m, a, NULL, 0));
    /* A newer program's peer info: its element size is unknown, so nothing
     * is written and nothing counted. */
    pkc_mesh_peer_info p[2];
    memset(p, 0x5a, sizeof p);
    CHECK_EQ(pkc_mesh_get_peers_versioned(m, PKC_MESH_PEER_INFO_VERSION + 1, p, 2), 0);
    CHECK(strstr(pkc_errmsg(), "pkc_mesh_peer_info version 2") != NULL);
    CHECK_EQ(((const uint8_t *)p)[0], 0x5a);
    CHECK_EQ(pkc_mesh_get_peers_versioned(m, 0, p, 2), 0);
    /* A newer program's stats get what this library has; the rest of its
     * struct is left alone. */
    struct {
        pkc_mesh_stats s;
        uint64_t later_field;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.later_field = 77;
    pkc_mesh_get_stats_versioned(m, PKC_MESH_STATS_VERSION + 1, &newer.s);
    CHECK_EQ(newer.s.connected_peers, 1);
    CHECK_EQ(newer.later_field, 77);
    pkc_mesh_free(m);
}

/* The node's lists: elements of the caller's version's size, nothing past
 * `max`; a version this library does not know writes nothing. */
TEST(versioned, node_lists_stop_at_the_callers_end)
{
    pkc_node_config cfg;
    pkc_node_config_default(&cfg);
    cfg.data_dir = pkc_test_tmpdir();
    cfg.lan = 0;
    const char *rooms[] = {"a phrase long enough"};
    cfg.rooms = rooms;
    cfg.n_rooms = 1;
    pkc_node *node = NULL;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    struct {
        pkc_node_room_info r[1];
        uint8_t guard[sizeof(pkc_node_room_info)];
    } one;
    memset(&one, 0x5a, sizeof one);
    CHECK_EQ(pkc_node_get_rooms_versioned(node, PKC_NODE_ROOM_INFO_V1, one.r, 1), 2);
    CHECK_STR(one.r[0].name, "local");
    for (size_t i = 0; i < sizeof one.guard; i++)
        CHECK_EQ(one.guard[i], 0x5a); /* the second room was not written */
    pkc_node_room_info two[2];
    memset(two, 0x5a, sizeof two);
    CHECK_EQ(pkc_node_get_rooms_versioned(node, PKC_NODE_ROOM_INFO_VERSION + 1, two, 2), 0);
    CHECK(strstr(pkc_errmsg(), "pkc_node_room_info version 2") != NULL);
    CHECK_EQ(((const uint8_t *)two)[0], 0x5a);
    CHECK_EQ(pkc_node_get_rooms_versioned(node, 0, two, 2), 0);
    pkc_node_peer_info peers[1];
    CHECK_EQ(pkc_node_get_peers_versioned(node, PKC_NODE_PEER_INFO_VERSION + 1, peers, 1), 0);
    CHECK(strstr(pkc_errmsg(), "pkc_node_peer_info version 2") != NULL);
    CHECK_EQ(pkc_node_get_peers(node, peers, 1), 0);
    pkc_node_free(node);
}
