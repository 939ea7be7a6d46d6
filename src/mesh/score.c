/*
 * score.c: peer scoring in the manner of gossipsub v1.1.
 *
 *   score = w1 * min(connected / quantum, cap)          P1 time connected
 *         + w2 * first deliveries (capped, decaying)    P2
 *         + w3 * failures^2 (decaying)                  P3 GRAFTs left unanswered
 *         + w4 * invalid^2 (decaying slowly)            P4 invalid, malformed, rejected
 *         + w5 * application score                      P5
 *         + w6 * surplus^2                              P6 co-located neighbours
 *         + w7 * behaviour^2 (decaying)                 P7 violations, rate excess
 *
 * Records of peers that left are kept (retain_ms) so that a peer cannot reset
 * a bad score by reconnecting.
 */
#include <math.h>

#include "mesh/mesh_int.h"
#include "util/log.h"

double mesh_score(pkc_mesh *m, const mesh_peer *p)
{
    const pkc_mesh_score_params *w = &m->cfg.score;
    double s = 0;
    if (p->state == PEER_ACTIVE) {
        double q = (double)(m->now - p->connected_at) / ((double)w->time_quantum_ms * 1000);
        s += w->time_weight * (q < w->time_cap ? q : w->time_cap);
        if (p->has_tag) {
            unsigned same = 0;
            for (unsigned i = 0; i < MESH_MAX_SLOTS; i++) {
                const mesh_peer *o = mesh_slot_peer(m, i);
                same += o && o->has_tag && o->addr_tag == p->addr_tag;
            }
            if (same > w->colocation_threshold) {
                double surplus = same - w->colocation_threshold;
                s += w->colocation_weight * surplus * surplus;
            }
        }
    }
    s += w->first_delivery_weight * p->first_deliveries;
    s += w->failure_weight * p->failures * p->failures;
    s += w->invalid_weight * p->invalid * p->invalid;
    s += w->app_weight * p->app_score;
    s += w->behaviour_weight * p->behaviour * p->behaviour;
    return s;
}

static double decayed(double v, double f)
{
    v *= f;
    return v < 0.01 ? 0 : v;
}

void mesh_score_decay(pkc_mesh *m)
{
    const pkc_mesh_score_params *w = &m->cfg.score;
    uint64_t retain = (uint64_t)w->retain_ms * 1000;
    for (unsigned i = 0; i < MESH_MAX_KNOWN; i++) {
        mesh_peer *p = &m->peers[i];
        if (!p->used)
            continue;
        p->first_deliveries = decayed(p->first_deliveries, w->decay);
        p->failures = decayed(p->failures, w->decay);
        p->behaviour = decayed(p->behaviour, w->decay);
        p->invalid = decayed(p->invalid, w->invalid_decay);
        /* Forget peers we have no use for once their score is no longer
         * worth remembering. */
        if (p->state == PEER_KNOWN && !p->in_passive && !p->fail_count &&
            p->banned_until <= m->now && m->now - p->seen_at > retain) {
            mesh_remove_passive(m, p);
            mesh_map_del(&m->peer_map, p->hkey, i);
            *p = (mesh_peer){0};
            m->n_peers--;
        }
    }
}

int mesh_score_check(pkc_mesh *m, mesh_peer *p)
{
    if (p->state != PEER_ACTIVE)
        return 0;
    double s = mesh_score(m, p);
    if (s >= m->cfg.score.disconnect_threshold)
        return 0;
    pkc_logi("mesh", "disconnecting a neighbour with score %.1f (threshold %.1f)", s,
             m->cfg.score.disconnect_threshold);
    mesh_drop(m, p, PKC_MESH_BYE_SCORE, DROP_BYE);
    return 1;
}
