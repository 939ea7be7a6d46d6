/* A partition that heals: one component again, and every message published
 * on either side during the split reaches everyone afterwards. */
#include <stdio.h>
#include <stdlib.h>

#include "simtest.h"

TEST(sim_partition, heal_reunites_and_delivers_split_messages)
{
    sim *s = simtest_mesh(NULL, 200, 0.1, 77);
    CHECK(s != NULL);
    sim_run_until(s, sim_now(s) + 60);
    CHECK_EQ(sim_components(s), 1);
    int n = sim_peers(s);
    uint8_t *g = calloc((size_t)n, 1);
    CHECK(g != NULL);
    for (int i = 0; i < n; i++)
        g[i] = (uint8_t)((i * 2654435761u >> 7) & 1);
    sim_partition(s, g);
    /* Publish on both sides while split, after the sides have noticed. */
    int msgs[20], nmsgs = 0;
    sim_run_until(s, sim_now(s) + 30);
    for (int k = 0; k < 20; k++) {
        int p = (k * 37 + 3) % n;
        while (g[p] != (uint8_t)(k & 1))
            p = (p + 1) % n;
        int id = sim_publish(s, p, 1, 64);
        CHECK(id >= 0);
        msgs[nmsgs++] = id;
        sim_run_until(s, sim_now(s) + 1);
    }
    sim_run_until(s, sim_now(s) + 10);
    /* The split is real: no message crossed it. */
    CHECK(sim_components(s) >= 2);
    for (int k = 0; k < nmsgs; k++)
        for (int i = 0; i < n; i++)
            if (sim_msg_delivered_to(s, msgs[k], i) && g[i] != (uint8_t)(k & 1)) {
                pkc_test_fail(__FILE__, __LINE__, "message %d crossed the partition", k);
                free(g);
                sim_free(s);
                return;
            }
    sim_heal(s);
    sim_run_until(s, sim_now(s) + 120);
    CHECK_EQ(sim_components(s), 1);
    for (int k = 0; k < nmsgs; k++) {
        unsigned got = sim_msg_delivered(s, msgs[k]);
        if (got != (unsigned)n) {
            pkc_test_fail(__FILE__, __LINE__, "message %d (side %d) reached %u of %d peers", k,
                          k & 1, got, n);
            break;
        }
    }
    /* And the healed mesh carries new messages to everyone. */
    int after = sim_publish(s, 5, 1, 64);
    sim_run_until(s, sim_now(s) + 10);
    CHECK_EQ(sim_msg_delivered(s, after), n);
    CHECK(sim_max_degree_ever(s) <= 8);
    free(g);
    sim_free(s);
}
