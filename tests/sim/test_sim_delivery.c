/* Broadcast delivery at scale, with crashes, and repeatability. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

/* 1000 peers; a share of them crashes at once, just before publishing
 * starts, so that messages meet broken tree links before anyone has noticed
 * the failures (the repair path). Fewer messages than the benchmark keep the
 * sanitizer build within its time budget: the thresholds are ratios. */
static void crash_run(double crash, sim_results *r)
{
    sim_scenario sc;
    sim_scenario_default(&sc);
    sc.peers = 1000;
    sc.messages = 50;
    sc.crash = crash;
    sc.seed = 42;
    sc.join_rate = 20;
    sc.warmup = 20;
    sc.drain = 45;
    CHECK_OK(sim_run_scenario(&sc, r));
}

TEST(sim_delivery, crash_20_percent)
{
    sim_results r;
    crash_run(0.2, &r);
    CHECK_HELPER();
    fprintf(stderr, "  delivery %.6f, redundancy %.3f, p99 %.0f ms, grafts %llu\n",
            r.delivery_ratio, r.redundancy, r.p99_latency_ms, (unsigned long long)r.grafts);
    CHECK_EQ(r.crashed, 200);
    CHECK_EQ(r.live_peers, 800);
    CHECK(r.delivery_ratio >= 0.999);
    CHECK(r.grafts > 0); /* the crash broke tree links: repair happened */
    CHECK(r.max_degree <= 8);
}

TEST(sim_delivery, crash_50_percent)
{
    sim_results r;
    crash_run(0.5, &r);
    CHECK_HELPER();
    fprintf(stderr, "  delivery %.6f, redundancy %.3f, p99 %.0f ms, grafts %llu\n",
            r.delivery_ratio, r.redundancy, r.p99_latency_ms, (unsigned long long)r.grafts);
    CHECK_EQ(r.live_peers, 500);
    CHECK(r.delivery_ratio >= 0.99);
    CHECK(r.max_degree <= 8);
}

/* Without failures: everything arrives, about once (Plumtree), while
 * flooding sends about a copy per link. */
TEST(sim_delivery, steady_state_plumtree_vs_flood)
{
    sim_scenario sc;
    sim_scenario_default(&sc);
    sc.peers = 200;
    sc.messages = 100;
    sc.seed = 9;
    sc.warmup = 30;
    sc.drain = 20;
    sim_results p, f;
    CHECK_OK(sim_run_scenario(&sc, &p));
    sc.protocol = PKC_MESH_FLOOD;
    CHECK_OK(sim_run_scenario(&sc, &f));
    fprintf(stderr, "  plumtree redundancy %.3f, flood %.3f\n", p.redundancy, f.redundancy);
    CHECK(p.delivery_ratio == 1.0);
    CHECK(f.delivery_ratio == 1.0);
    CHECK(p.redundancy <= 1.2);
    CHECK(f.redundancy >= 4);
    CHECK_EQ(p.components, 1);
}

static char *run_json(uint64_t seed, double crash)
{
    sim_scenario sc;
    sim_scenario_default(&sc);
    sc.peers = 150;
    sc.messages = 40;
    sc.crash = crash;
    sc.seed = seed;
    sc.churn = 0.5;
    sc.loss = 0.01;
    sc.partition_at = 2;
    sc.partition_for = 20;
    sc.warmup = 20;
    sc.drain = 40;
    sim_results r;
    if (sim_run_scenario(&sc, &r))
        return NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    sim_results_json(f, &sc, &r, 0.0);
    fclose(f);
    return out;
}

/* The same seed gives the same run: crashes, churn, loss and a partition
 * included. Another seed gives another run. */
TEST(sim_delivery, same_seed_same_result)
{
    char *a = run_json(1234, 0.1), *b = run_json(1234, 0.1), *c = run_json(1235, 0.1);
    CHECK(a && b && c);
    if (strcmp(a, b) != 0)
        pkc_test_fail(__FILE__, __LINE__, "runs differ:\n%s%s", a, b);
    CHECK(strcmp(a, c) != 0);
    free(a);
    free(b);
    free(c);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Redundancy on every seed, not on a lucky one: 20% of 300 peers crash just
 * before 200 messages are published, on seeds 1..10. Every live peer gets
 * every message on every seed; redundancy stays at most 1.2 on each (the
 * issue's target) and its median at most 1.1. (Before the tree judged
 * parents by delivery, this scenario gave 1.20..1.37, median 1.27; judged by
 * delivery, 1.07..1.26, median 1.12; with silent parents probed,
 * 1.05..1.25, median 1.08, above 1.2 on seeds 1 and 3, whose root crashes;
 * with crashed roots retracted by sequence number, 1.05..1.12, median 1.08.
 * See docs/mesh.md, Limits. The benchmark runs 1000 peers.) */
TEST(sim_delivery, crash_20_percent_every_seed)
{
    double red[10];
    for (uint64_t seed = 1; seed <= 10; seed++) {
        sim_scenario sc;
        sim_scenario_default(&sc);
        sc.peers = 300;
        sc.messages = 200;
        sc.crash = 0.2;
        sc.seed = seed;
        sc.join_rate = 20;
        sc.warmup = 20;
        sc.drain = 40;
        sim_results r;
        CHECK_OK(sim_run_scenario(&sc, &r));
        fprintf(stderr, "  seed %2llu: delivery %.6f, redundancy %.3f, p50 %.0f ms, p99 %.0f ms\n",
                (unsigned long long)seed, r.delivery_ratio, r.redundancy, r.p50_latency_ms,
                r.p99_latency_ms);
        CHECK(r.delivery_ratio == 1.0);
        CHECK(r.redundancy <= 1.2);
        red[seed - 1] = r.redundancy;
    }
    qsort(red, 10, sizeof red[0], cmp_double);
    double median = (red[4] + red[5]) / 2;
    fprintf(stderr, "  redundancy over ten seeds: min %.3f, median %.3f, max %.3f\n", red[0], median,
            red[9]);
    CHECK(median <= 1.1);
}
