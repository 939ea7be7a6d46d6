/* The guard: penalty points, decay, blocks that double, bounded memory. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/clock.h"

#define T0 1700000000000LL

static const uint8_t peer_x[20] = {1}, peer_y[20] = {2}, peer_z[20] = {3};

TEST(proto_guard, points_block_decay_and_double)
{
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, T0);
    pkc_guard_config c;
    pkc_guard_config_default(&c);
    pkc_guard *g;
    CHECK_OK(pkc_guard_new(&c, &clk.clock, &g));
    CHECK_OK(pkc_guard_check(g, peer_x, NULL, NULL));
    for (int i = 0; i < 4; i++)
        CHECK_OK(pkc_guard_penalise(g, peer_x, 20, "bad"));
    /* 80 points; 4 seconds forgive 20. */
    pkc_manual_clock_advance(&clk, 4000000);
    CHECK_OK(pkc_guard_penalise(g, peer_x, 20, "bad"));
    CHECK_OK(pkc_guard_penalise(g, peer_x, 19, "bad"));
    CHECK_ERR(pkc_guard_penalise(g, peer_x, 1, "the last straw"), PKC_ERR_BLOCKED);
    uint64_t retry = 0;
    const char *why = NULL;
    CHECK_ERR(pkc_guard_check(g, peer_x, &retry, &why), PKC_ERR_BLOCKED);
    CHECK_EQ(retry, 60000);
    CHECK_STR(why, "the last straw");
    CHECK_OK(pkc_guard_check(g, peer_y, NULL, NULL));
    pkc_manual_clock_advance(&clk, 59999000);
    CHECK_ERR(pkc_guard_check(g, peer_x, &retry, NULL), PKC_ERR_BLOCKED);
    CHECK_EQ(retry, 1);
    pkc_manual_clock_advance(&clk, 1000);
    CHECK_OK(pkc_guard_check(g, peer_x, NULL, NULL));
    /* Second block: 120 s, then 240 s ... up to the maximum. */
    uint64_t want = 120000;
    for (int n = 0; n < 8; n++) {
        CHECK_ERR(pkc_guard_penalise(g, peer_x, 100, "again"), PKC_ERR_BLOCKED);
        CHECK_ERR(pkc_guard_check(g, peer_x, &retry, NULL), PKC_ERR_BLOCKED);
        CHECK_EQ_U64(retry, want);
        pkc_manual_clock_advance(&clk, retry * 1000);
        want = want * 2 > c.block_max_ms ? c.block_max_ms : want * 2;
    }
    CHECK_EQ_U64(retry, c.block_max_ms);
    pkc_guard_forgive(g, peer_x);
    CHECK_OK(pkc_guard_penalise(g, peer_x, 99, "fresh start"));
    pkc_guard_free(g);
}

TEST(proto_guard, bounded_memory_keeps_blocks)
{
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, T0);
    pkc_guard_config c;
    pkc_guard_config_default(&c);
    c.capacity = 2;
    pkc_guard *g;
    CHECK_OK(pkc_guard_new(&c, &clk.clock, &g));
    CHECK_ERR(pkc_guard_penalise(g, peer_x, 100, "blocked"), PKC_ERR_BLOCKED);
    CHECK_OK(pkc_guard_penalise(g, peer_y, 50, "some"));
    /* A third peer: the unblocked one is forgotten, not the block. */
    CHECK_OK(pkc_guard_penalise(g, peer_z, 50, "some"));
    CHECK_ERR(pkc_guard_check(g, peer_x, NULL, NULL), PKC_ERR_BLOCKED);
    CHECK_OK(pkc_guard_penalise(g, peer_y, 50, "y again")); /* y starts over */
    pkc_guard_free(g);
}
