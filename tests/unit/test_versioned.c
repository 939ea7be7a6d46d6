/* Versioned structs (util/versioned.h, docs/api.md "Structs that grow"):
 * what an older program's smaller struct gets from a newer library. */
#include <string.h>

#include "test.h"
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
