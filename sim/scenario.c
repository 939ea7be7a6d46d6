/*
 * scenario.c: the runs pkc-sim makes. Peers join one after another through
 * invitations to random live peers, the mesh settles, then messages are
 * published by random live peers at a steady rate, with crashes, a partition
 * and churn as asked, and the run drains before it is measured.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "util/array.h"
#include "util/rng.h"

void sim_scenario_default(sim_scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->peers = 100;
    sc->messages = 100;
    sc->crash = 0;
    sc->seed = 1;
    sc->protocol = PKC_MESH_PLUMTREE;
    sc->join_rate = 10;
    sc->warmup = 60;
    sc->rate = 20;
    sc->size = 64;
    sc->drain = 60;
    sc->partition_at = -1;
    sc->partition_for = 60;
    sc->partition_fraction = 0.5;
    sc->churn = 0;
    sc->public_fraction = 0.05;
    sc->symmetric_fraction = 0.1;
    sc->seeds = 3;
    sc->max_peers = 0;
    sc->loss = 0;
    sc->bandwidth_kbps = 0;
    sc->lat_min_ms = 5;
    sc->lat_max_ms = 100;
}

typedef struct run {
    sim *s;
    pkc_seeded_rng rng;
    const sim_scenario *sc;
    int *publics;
    size_t n_publics, cap_publics;
} run;

static int random_live(run *r)
{
    int n = sim_peers(r->s), live = 0;
    for (int i = 0; i < n; i++)
        live += sim_alive(r->s, i);
    if (live == 0)
        return -1;
    int k = (int)pkc_rng_below(&r->rng.rng, (uint64_t)live);
    for (int i = 0; i < n; i++)
        if (sim_alive(r->s, i) && k-- == 0)
            return i;
    return -1;
}

static int join_one(run *r, int first)
{
    double u = pkc_rng_unit(&r->rng.rng);
    unsigned cls = first || u < r->sc->public_fraction ? SIM_PUBLIC
                   : u < r->sc->public_fraction + r->sc->symmetric_fraction ? SIM_SYMMETRIC
                                                                            : SIM_NAT;
    int p = sim_add_peer(r->s, cls);
    if (p < 0)
        return -1;
    /* DNS seeds: a few dialable peers, known from the start. */
    for (unsigned k = 0; k < r->sc->seeds && r->n_publics; k++)
        sim_add_seed(r->s, p,
                     r->publics[pkc_rng_below(&r->rng.rng, (uint64_t)r->n_publics)]);
    if (!first)
        sim_invite_random(r->s, p);
    if (cls == SIM_PUBLIC) {
        if (PKC_ARRAY_PUSH(r->publics, r->n_publics, r->cap_publics, p))
            return -1;
    }
    return p;
}

int sim_run_scenario(const sim_scenario *sc, sim_results *res)
{
    sim_config c;
    sim_config_default(&c);
    c.seed = sc->seed;
    c.mesh.broadcast = sc->protocol;
    if (sc->max_peers) {
        c.mesh.max_peers = sc->max_peers;
        if (c.mesh.target_peers > sc->max_peers)
            c.mesh.target_peers = sc->max_peers;
    }
    c.loss = sc->loss;
    c.bandwidth_kbps = sc->bandwidth_kbps;
    c.lat_min_ms = sc->lat_min_ms;
    c.lat_max_ms = sc->lat_max_ms;
    double publish_for = sc->rate > 0 ? sc->messages / sc->rate : 0;
    c.max_peers_alloc = sc->peers + (unsigned)(sc->churn * publish_for) + 64;
    run r = {0};
    r.sc = sc;
    pkc_seeded_rng_init(&r.rng, sc->seed ^ 0x5ce7a210u);
    if (sim_new(&c, &r.s))
        return -1;
    int rc = 0;
    double join_rate = sc->join_rate > 0 ? sc->join_rate : 50;
    for (unsigned i = 0; i < sc->peers; i++) {
        sim_run_until(r.s, i / join_rate);
        if (join_one(&r, i == 0) < 0) {
            rc = -1;
            goto out;
        }
    }
    double t0 = sc->peers / join_rate + sc->warmup;
    sim_run_until(r.s, t0);
    unsigned crash = (unsigned)floor(sc->crash * sc->peers + 1e-9);
    for (unsigned k = 0; k < crash; k++) {
        int v = random_live(&r);
        if (v >= 0)
            sim_crash(r.s, v);
    }
    double t_split = sc->partition_at >= 0 ? t0 + sc->partition_at : -1;
    double t_heal = t_split >= 0 ? t_split + sc->partition_for : -1;
    double next_churn = sc->churn > 0 ? t0 - log(1 - pkc_rng_unit(&r.rng.rng)) / sc->churn : -1;
    double end_publish = t0 + publish_for;
    unsigned published = 0;
    for (;;) {
        double t_pub = published < sc->messages ? t0 + published / sc->rate : INFINITY;
        double t = t_pub;
        int what = 0;
        if (t_split >= 0 && t_split <= t) {
            t = t_split;
            what = 1;
        }
        if (t_heal >= 0 && t_heal <= t && t_split < 0) {
            t = t_heal;
            what = 2;
        }
        if (next_churn >= 0 && next_churn <= end_publish && next_churn <= t) {
            t = next_churn;
            what = 3;
        }
        if (isinf(t))
            break;
        sim_run_until(r.s, t);
        if (what == 0) {
            int p = random_live(&r);
            if (p >= 0)
                sim_publish(r.s, p, 1, sc->size);
            published++;
        } else if (what == 1) {
            int n = sim_peers(r.s);
            uint8_t *g = calloc((size_t)n, 1);
            if (!g) {
                rc = -1;
                goto out;
            }
            for (int i = 0; i < n; i++)
                g[i] = pkc_rng_unit(&r.rng.rng) < sc->partition_fraction;
            sim_partition(r.s, g);
            free(g);
            t_split = -1;
        } else if (what == 2) {
            sim_heal(r.s);
            t_heal = -1;
        } else {
            double u = pkc_rng_unit(&r.rng.rng);
            if (u < 1.0 / 3) {
                if (join_one(&r, 0) < 0) {
                    rc = -1;
                    goto out;
                }
            } else {
                int v = random_live(&r);
                if (v >= 0) {
                    if (u < 2.0 / 3)
                        sim_leave(r.s, v);
                    else
                        sim_crash(r.s, v);
                }
            }
            next_churn = t - log(1 - pkc_rng_unit(&r.rng.rng)) / sc->churn;
        }
    }
    double end = end_publish + sc->drain;
    if (sc->partition_at >= 0 && t0 + sc->partition_at + sc->partition_for + sc->drain > end)
        end = t0 + sc->partition_at + sc->partition_for + sc->drain;
    sim_run_until(r.s, end);
    sim_measure(r.s, res);
out:
    free(r.publics);
    sim_free(r.s);
    return rc;
}

void sim_results_json(FILE *f, const sim_scenario *sc, const sim_results *r, double wall)
{
    fprintf(f,
            "{\"peers\":%u,\"live_peers\":%u,\"messages\":%u,\"delivery_ratio\":%.6f,"
            "\"redundancy\":%.4f,\"max_hops\":%u,\"p50_latency_ms\":%.1f,"
            "\"p99_latency_ms\":%.1f,\"max_degree\":%u,\"components\":%u,"
            "\"wall_seconds\":%.2f,"
            "\"protocol\":\"%s\",\"seed\":%llu,\"crashed\":%u,\"left\":%u,"
            "\"max_latency_ms\":%.1f,\"mean_latency_ms\":%.1f,\"avg_degree\":%.2f,"
            "\"payload_msgs\":%llu,\"payload_bytes\":%llu,\"control_msgs\":%llu,"
            "\"control_bytes\":%llu,\"ihave_ids\":%llu,\"grafts\":%llu,\"prunes\":%llu,"
            "\"deliveries\":%llu,\"payload_received\":%llu,\"connections\":%llu,"
            "\"signaled_links\":%llu,\"connect_attempts\":%llu,\"reconnections\":%llu,"
            "\"failures\":%llu,\"route_failures\":%llu,\"errors\":%llu,\"lost\":%llu,"
            "\"events\":%llu,\"sim_seconds\":%.1f}\n",
            r->peers, r->live_peers, r->messages, r->delivery_ratio, r->redundancy, r->max_hops,
            r->p50_latency_ms, r->p99_latency_ms, r->max_degree, r->components, wall,
            sc->protocol == PKC_MESH_FLOOD ? "flood" : "plumtree", (unsigned long long)sc->seed,
            r->crashed, r->left, r->max_latency_ms, r->mean_latency_ms, r->avg_degree,
            (unsigned long long)r->payload_msgs, (unsigned long long)r->payload_bytes,
            (unsigned long long)r->control_msgs, (unsigned long long)r->control_bytes,
            (unsigned long long)r->ihave_ids, (unsigned long long)r->grafts,
            (unsigned long long)r->prunes, (unsigned long long)r->deliveries,
            (unsigned long long)r->payload_received, (unsigned long long)r->connections,
            (unsigned long long)r->signaled_links, (unsigned long long)r->connect_attempts,
            (unsigned long long)r->reconnections, (unsigned long long)r->failures,
            (unsigned long long)r->route_failures, (unsigned long long)r->errors,
            (unsigned long long)r->lost, (unsigned long long)r->events, r->sim_seconds);
}
