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
