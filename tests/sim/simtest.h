/* simtest.h: helpers shared by the simulator tests. */
#ifndef PKC_SIMTEST_H
#define PKC_SIMTEST_H

#include "sim.h"
#include "test.h"

/* A simulator with `cfg` (NULL: defaults) and `n` peers joined through
 * invitations from random peers already in the mesh, `gap` seconds apart.
 * Every tenth peer (peer 0 first) is public, and every peer knows up to
 * three public peers as seeds (as from DNS), which is how a peer that lost
 * all its neighbours gets back in. Returns NULL on failure (and fails the
 * test). */
static inline sim *simtest_mesh(const sim_config *cfg, int n, double gap, uint64_t seed)
{
    sim_config c;
    if (cfg)
        c = *cfg;
    else
        sim_config_default(&c);
    c.seed = seed;
    sim *s = NULL;
    if (sim_new(&c, &s) != 0) {
        pkc_test_fail(__FILE__, __LINE__, "sim_new failed");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        sim_run_until(s, sim_now(s) + gap);
        int p = sim_add_peer(s, i % 10 == 0 ? SIM_PUBLIC : SIM_NAT);
        if (p < 0) {
            pkc_test_fail(__FILE__, __LINE__, "sim_add_peer failed");
            sim_free(s);
            return NULL;
        }
        for (int k = 0; k < 3 && 10 * k < p; k++)
            sim_add_seed(s, p, 10 * ((p / 10 + k) % (p / 10 + 1)));
        if (i > 0)
            sim_invite_random(s, p);
    }
    return s;
}

#endif
