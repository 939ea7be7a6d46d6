/* main.c: pkc-sim, the mesh simulator's command line (docs/sim.md). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static const char usage[] =
    "Usage: pkc-sim [options]\n"
    "Runs the mesh engine for many peers in one process on a virtual clock.\n"
    "\n"
    "  --peers N            peers joining at the start (100)\n"
    "  --messages M         messages published after the warm-up (100)\n"
    "  --crash FRACTION     share of peers that crash when publishing starts (0)\n"
    "  --seed S             seed of every random choice (1)\n"
    "  --protocol P         plumtree or flood (plumtree)\n"
    "  --json               print one JSON object instead of a summary\n"
    "  --size BYTES         payload size (64)\n"
    "  --rate R             messages per second (20)\n"
    "  --join-rate R        peers joining per second at the start (10)\n"
    "  --warmup S           seconds from the last join to the first message (60)\n"
    "  --drain S            seconds from the last message to the measurement (60)\n"
    "  --partition AT:FOR[:FRACTION]\n"
    "                       split the peers AT seconds after publishing starts, heal\n"
    "                       FOR seconds later; FRACTION of peers on one side (0.5)\n"
    "  --churn R            joins, leaves and crashes per second while publishing (0)\n"
    "  --public F           share of dialable peers (0.05)\n"
    "  --symmetric F        share of peers behind symmetric NATs (0.1)\n"
    "  --seeds K            dialable peers each peer knows from the start (3)\n"
    "  --max-peers N        engine max_peers (8)\n"
    "  --loss P             probability that a message is lost (0)\n"
    "  --bandwidth KBPS     per link and direction, 0 = unlimited (0)\n"
    "  --latency MIN:MAX    one-way latency range in ms (5:100)\n"
    "  -h, --help           this help\n";

static int bad(const char *opt, const char *val)
{
    fprintf(stderr, "pkc-sim: bad value for %s: '%s'\n%s", opt, val ? val : "", usage);
    return 2;
}

static int num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    sim_scenario sc;
    sim_scenario_default(&sc);
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(o, "--json")) {
            json = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "pkc-sim: unknown option or missing value: %s\n%s", o, usage);
            return 2;
        }
        const char *v = argv[++i];
        double d;
        if (!strcmp(o, "--peers")) {
            if (num(v, 1, 100000, &d))
                return bad(o, v);
            sc.peers = (unsigned)d;
        } else if (!strcmp(o, "--messages")) {
            if (num(v, 0, 10000000, &d))
                return bad(o, v);
            sc.messages = (unsigned)d;
        } else if (!strcmp(o, "--crash")) {
            if (num(v, 0, 0.99, &sc.crash))
                return bad(o, v);
        } else if (!strcmp(o, "--seed")) {
            char *end;
            errno = 0;
            sc.seed = strtoull(v, &end, 10);
            if (errno || end == v || *end)
                return bad(o, v);
        } else if (!strcmp(o, "--protocol")) {
            if (!strcmp(v, "plumtree"))
                sc.protocol = PKC_MESH_PLUMTREE;
            else if (!strcmp(v, "flood"))
                sc.protocol = PKC_MESH_FLOOD;
            else
                return bad(o, v);
        } else if (!strcmp(o, "--size")) {
            if (num(v, 1, 65536, &d))
                return bad(o, v);
            sc.size = (size_t)d;
        } else if (!strcmp(o, "--rate")) {
            if (num(v, 0.001, 1e6, &sc.rate))
                return bad(o, v);
        } else if (!strcmp(o, "--join-rate")) {
            if (num(v, 0.001, 1e6, &sc.join_rate))
                return bad(o, v);
        } else if (!strcmp(o, "--warmup")) {
            if (num(v, 0, 1e6, &sc.warmup))
                return bad(o, v);
        } else if (!strcmp(o, "--drain")) {
            if (num(v, 0, 1e6, &sc.drain))
                return bad(o, v);
        } else if (!strcmp(o, "--partition")) {
            double at, len, frac = 0.5;
            int n = 0;
            char extra;
            n = sscanf(v, "%lf:%lf:%lf%c", &at, &len, &frac, &extra);
            if ((n != 2 && n != 3) || at < 0 || len <= 0 || frac <= 0 || frac >= 1)
                return bad(o, v);
            sc.partition_at = at;
            sc.partition_for = len;
            sc.partition_fraction = frac;
        } else if (!strcmp(o, "--churn")) {
            if (num(v, 0, 1e4, &sc.churn))
                return bad(o, v);
        } else if (!strcmp(o, "--public")) {
            if (num(v, 0, 1, &sc.public_fraction))
                return bad(o, v);
        } else if (!strcmp(o, "--symmetric")) {
            if (num(v, 0, 1, &sc.symmetric_fraction))
                return bad(o, v);
        } else if (!strcmp(o, "--seeds")) {
            if (num(v, 0, 100, &d))
                return bad(o, v);
            sc.seeds = (unsigned)d;
        } else if (!strcmp(o, "--max-peers")) {
            if (num(v, 1, 32, &d))
                return bad(o, v);
            sc.max_peers = (unsigned)d;
        } else if (!strcmp(o, "--loss")) {
            if (num(v, 0, 0.9, &sc.loss))
                return bad(o, v);
        } else if (!strcmp(o, "--bandwidth")) {
            if (num(v, 0, 1e9, &sc.bandwidth_kbps))
                return bad(o, v);
        } else if (!strcmp(o, "--latency")) {
            double lo, hi;
            char extra;
            if (sscanf(v, "%lf:%lf%c", &lo, &hi, &extra) != 2 || lo < 0 || hi < lo)
                return bad(o, v);
            sc.lat_min_ms = lo;
            sc.lat_max_ms = hi;
        } else {
            fprintf(stderr, "pkc-sim: unknown option: %s\n%s", o, usage);
            return 2;
        }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sim_results r;
    if (sim_run_scenario(&sc, &r)) {
        fprintf(stderr, "pkc-sim: out of memory\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (json) {
        sim_results_json(stdout, &sc, &r, wall);
        return 0;
    }
    printf("pkc-sim: %u peers (%u live, %u crashed, %u left), %u messages, %s, seed %llu\n",
           r.peers, r.live_peers, r.crashed, r.left, r.messages,
           sc.protocol == PKC_MESH_FLOOD ? "flood" : "plumtree", (unsigned long long)sc.seed);
    printf("  delivery ratio   %.6f\n", r.delivery_ratio);
    printf("  redundancy       %.3f payload copies per delivery\n", r.redundancy);
    printf("  hops             max %u\n", r.max_hops);
    printf("  latency          p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.p50_latency_ms,
           r.p99_latency_ms, r.max_latency_ms);
    printf("  degree           max %u ever, %.2f average now\n", r.max_degree, r.avg_degree);
    printf("  components       %u\n", r.components);
    printf("  traffic          %llu payload msgs (%llu bytes), %llu control msgs (%llu bytes)\n",
           (unsigned long long)r.payload_msgs, (unsigned long long)r.payload_bytes,
           (unsigned long long)r.control_msgs, (unsigned long long)r.control_bytes);
    printf("  connections      %llu admitted, %llu by routed signaling, %llu reconnections\n",
           (unsigned long long)r.connections, (unsigned long long)r.signaled_links,
           (unsigned long long)r.reconnections);
    printf("  simulated        %.1f s, %llu events, %.2f s wall\n", r.sim_seconds,
           (unsigned long long)r.events, wall);
    return 0;
}
