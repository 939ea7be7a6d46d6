/* Membership in the simulator: full mesh while small, bounded degree, one
 * component. */
#include <stdio.h>
#include <stdlib.h>

#include "simtest.h"

/* Every pair of live peers is linked, and every engine counts n - 1
 * neighbours. */
static void check_full_mesh(sim *s, int n)
{
    for (int a = 0; a < n; a++) {
        CHECK_EQ(sim_degree(s, a), n - 1);
        for (int b = a + 1; b < n; b++)
            if (!sim_linked(s, a, b)) {
                pkc_test_fail(__FILE__, __LINE__, "%d peers: %d and %d are not linked", n, a, b);
                return;
            }
    }
}

TEST(sim_membership, full_mesh_under_10)
{
    for (int n = 2; n <= 9; n++) {
        sim *s = simtest_mesh(NULL, n, 0.5, 100 + (uint64_t)n);
        CHECK(s != NULL);
        sim_run_until(s, sim_now(s) + 120);
        check_full_mesh(s, n);
        CHECK_EQ(sim_components(s), 1);
        sim_free(s);
        CHECK_HELPER();
    }
}

/* Joins faster than the mesh settles, graceful leaves, crashes and new
 * joins: the engine never admits more than max_peers neighbours, for the
 * default 8 and for a smaller setting. The simulator records the largest
 * degree after every engine call. */
static void churn_run(unsigned max_peers, unsigned *max_seen, unsigned *comps)
{
    sim_config c;
    sim_config_default(&c);
    c.mesh.max_peers = max_peers;
    if (c.mesh.target_peers > max_peers)
        c.mesh.target_peers = max_peers - 1;
    sim *s = simtest_mesh(&c, 200, 0.05, 7 + max_peers);
    if (!s)
        return;
    for (int round = 0; round < 40; round++) {
        sim_run_until(s, sim_now(s) + 1);
        int n = sim_peers(s);
        int v = (round * 37) % n;
        if (round % 3 == 0)
            sim_leave(s, v);
        else if (round % 3 == 1)
            sim_crash(s, v);
        int p = sim_add_peer(s, SIM_NAT);
        if (p >= 0)
            sim_invite_random(s, p);
    }
    sim_run_until(s, sim_now(s) + 90);
    *max_seen = sim_max_degree_ever(s);
    *comps = sim_components(s);
    sim_free(s);
}

TEST(sim_membership, max_peers_never_exceeded)
{
    unsigned seen = 0, comps = 0;
    churn_run(8, &seen, &comps);
    CHECK_HELPER();
    CHECK(seen <= 8);
    CHECK_EQ(seen, 8); /* the cap is reached, so the check means something */
    CHECK_EQ(comps, 1);
    churn_run(5, &seen, &comps);
    CHECK_HELPER();
    CHECK(seen <= 5);
    CHECK_EQ(seen, 5);
    CHECK_EQ(comps, 1);
}

/* Beyond full_mesh_below peers the mesh is partial: degrees stay between
 * target and max, and it is one component. */
TEST(sim_membership, partial_mesh_beyond_10)
{
    sim *s = simtest_mesh(NULL, 100, 0.1, 5);
    CHECK(s != NULL);
    sim_run_until(s, sim_now(s) + 120);
    for (int i = 0; i < 100; i++) {
        unsigned d = sim_degree(s, i);
        if (d < 4 || d > 8) {
            pkc_test_fail(__FILE__, __LINE__, "peer %d has %u neighbours", i, d);
            break;
        }
    }
    CHECK_EQ(sim_components(s), 1);
    sim_results r;
    sim_measure(s, &r);
    CHECK(r.avg_degree >= 6 && r.avg_degree <= 8);
    sim_free(s);
}

static double mean_rtt(sim *s)
{
    double sum = 0;
    int n = 0;
    for (int i = 0; i < sim_peers(s); i++) {
        pkc_mesh_stats st;
        pkc_mesh_get_stats(sim_engine(s, i), &st);
        if (st.average_rtt_ms >= 0) {
            sum += st.average_rtt_ms;
            n++;
        }
    }
    return n ? sum / n : 0;
}

/* Topology optimisation: the same mesh, with and without it. With it, links
 * are shorter on average, and the mesh is still one well-connected
 * component (random links are kept). */
TEST(sim_membership, optimisation_prefers_low_latency)
{
    double rtt[2];
    for (int on = 0; on < 2; on++) {
        sim_config c;
        sim_config_default(&c);
        c.mesh.optimize_interval_ms = on ? 20000 : 0;
        sim *s = simtest_mesh(&c, 200, 0.1, 55);
        CHECK(s != NULL);
        sim_run_until(s, sim_now(s) + 400);
        rtt[on] = mean_rtt(s);
        CHECK_EQ(sim_components(s), 1);
        for (int i = 0; i < 200; i++)
            CHECK(sim_degree(s, i) >= 4);
        sim_free(s);
    }
    fprintf(stderr, "  mean neighbour RTT %.1f ms without, %.1f ms with optimisation\n", rtt[0],
            rtt[1]);
    CHECK(rtt[1] < 0.9 * rtt[0]);
}
