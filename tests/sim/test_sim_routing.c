/* Routing to one peer and signaling relayed over the mesh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

/* Two peers behind symmetric NATs cannot connect to each other, even when
 * their engines try (each knows the other); their direct messages still
 * arrive, through the mesh, over several hops, and never over a link of
 * their own. */
TEST(sim_routing, unreachable_pair_talks_through_mesh)
{
    sim_config c;
    sim_config_default(&c);
    c.seed = 31;
    sim *s = NULL;
    CHECK_OK(sim_new(&c, &s));
    const int n = 150, x = 40, y = 120;
    for (int i = 0; i < n; i++) {
        sim_run_until(s, sim_now(s) + 0.1);
        int p = sim_add_peer(s, i == x || i == y ? SIM_SYMMETRIC
                                : i % 10 == 0    ? SIM_PUBLIC
                                                 : SIM_NAT);
        CHECK(p == i);
        if (i > 0)
            sim_invite_random(s, p);
        if (i % 10 != 0)
            sim_add_seed(s, p, 0);
    }
    sim_run_until(s, sim_now(s) + 60);
    /* Make them want each other: each learns the other as a candidate. */
    CHECK_OK(pkc_mesh_add_peer(sim_engine(s, x), sim_peer_id(s, y), 0));
    CHECK_OK(pkc_mesh_add_peer(sim_engine(s, y), sim_peer_id(s, x), 0));
    for (int k = 0; k < 10; k++) {
        CHECK_OK(sim_send_direct(s, x, y, "ping", 4));
        sim_run_until(s, sim_now(s) + 2);
        CHECK_OK(sim_send_direct(s, y, x, "pong", 4));
        sim_run_until(s, sim_now(s) + 2);
    }
    sim_run_until(s, sim_now(s) + 30);
    unsigned hxy, hyx;
    CHECK_EQ(sim_direct_received(s, y, x, &hxy), 10);
    CHECK_EQ(sim_direct_received(s, x, y, &hyx), 10);
    fprintf(stderr, "  hops x->y up to %u, y->x up to %u\n", hxy, hyx);
    CHECK(hxy >= 2 && hxy <= c.mesh.max_hops);
    CHECK(hyx >= 2 && hyx <= c.mesh.max_hops);
    CHECK(!sim_ever_linked(s, x, y));
    CHECK(!sim_linked(s, x, y));
    /* x lists y among the peers it knows beyond its neighbours, with a
     * route whose first hop is one of x's neighbours. */
    pkc_mesh_known_info *k = calloc(2048, sizeof *k);
    CHECK(k != NULL);
    size_t nk = pkc_mesh_get_known_peers(sim_engine(s, x), k, 2048);
    CHECK(nk <= 2048);
    const pkc_mesh_known_info *ky = NULL;
    for (size_t i = 0; i < nk; i++)
        if (memcmp(k[i].id, sim_peer_id(s, y), PKC_PEER_ID_HASH_BYTES) == 0)
            ky = &k[i];
    CHECK(ky != NULL);
    CHECK(ky->route == PKC_MESH_ROUTE_RELAYED || ky->route == PKC_MESH_ROUTE_WAYPOINT);
    CHECK(ky->hops >= 2 && ky->hops <= c.mesh.max_hops + 1u);
    int via = -1;
    for (int i = 0; i < n; i++)
        if (memcmp(sim_peer_id(s, i), ky->via, PKC_PEER_ID_HASH_BYTES) == 0)
            via = i;
    CHECK(via >= 0 && via != y);
    CHECK(sim_linked(s, x, via));
    fprintf(stderr, "  x knows y: %u hops via peer %d\n", ky->hops, via);
    free(k);
    sim_free(s);
}

/* A line: 0 - 1 - 2, with 0 and 2 unable to connect. 0 knows 2 through 1,
 * two hops away; 2 knows 0 the same way. */
TEST(sim_routing, a_line_lists_the_far_end_as_relayed)
{
    sim_config c;
    sim_config_default(&c);
    c.seed = 7;
    sim *s = NULL;
    CHECK_OK(sim_new(&c, &s));
    for (int i = 0; i < 3; i++)
        CHECK_EQ(sim_add_peer(s, SIM_PUBLIC), i);
    sim_block(s, 0, 2);
    CHECK_OK(sim_invite(s, 1, 0));
    CHECK_OK(sim_invite(s, 2, 1));
    sim_run_until(s, sim_now(s) + 30);
    CHECK(sim_linked(s, 0, 1) && sim_linked(s, 1, 2) && !sim_linked(s, 0, 2));
    for (int end = 0; end <= 2; end += 2) {
        int far = 2 - end;
        pkc_mesh_known_info k[8];
        size_t nk = pkc_mesh_get_known_peers(sim_engine(s, end), k, 8);
        CHECK(nk >= 1 && nk <= 8);
        const pkc_mesh_known_info *kf = NULL;
        for (size_t i = 0; i < nk; i++) {
            CHECK(memcmp(k[i].id, sim_peer_id(s, 1), PKC_PEER_ID_HASH_BYTES) != 0);
            if (memcmp(k[i].id, sim_peer_id(s, far), PKC_PEER_ID_HASH_BYTES) == 0)
                kf = &k[i];
        }
        CHECK(kf != NULL);
        CHECK_EQ(kf->route, PKC_MESH_ROUTE_RELAYED);
        CHECK_EQ(kf->hops, 2);
        CHECK_MEM(kf->via, sim_peer_id(s, 1), PKC_PEER_ID_HASH_BYTES);
    }
    sim_free(s);
}

/* Direct messages reach any peer of a 300-peer mesh (routes found by
 * discovery when not known), within max_hops. */
TEST(sim_routing, direct_messages_reach_any_peer)
{
    sim *s = simtest_mesh(NULL, 300, 0.1, 12);
    CHECK(s != NULL);
    sim_run_until(s, sim_now(s) + 60);
    const int from = 7;
    int sent = 0;
    for (int t = 1; t < 300; t += 13) {
        if (t == from)
            continue;
        CHECK_OK(sim_send_direct(s, from, t, "hello", 5));
        sent++;
    }
    sim_run_until(s, sim_now(s) + 30);
    int got = 0;
    unsigned worst = 0;
    for (int t = 1; t < 300; t += 13) {
        unsigned h = 0;
        if (t != from && sim_direct_received(s, t, from, &h) == 1)
            got++;
        if (h > worst)
            worst = h;
    }
    fprintf(stderr, "  %d of %d delivered, up to %u hops\n", got, sent, worst);
    CHECK_EQ(got, sent);
    CHECK(worst <= 8);
    sim_free(s);
}

/* Beyond the invitations that bring each peer in, the engines' own
 * connections form through signaling carried by the mesh. */
TEST(sim_routing, connections_form_through_relayed_signaling)
{
    sim *s = simtest_mesh(NULL, 100, 0.1, 3);
    CHECK(s != NULL);
    sim_run_until(s, sim_now(s) + 60);
    sim_results r;
    sim_measure(s, &r);
    fprintf(stderr, "  %llu links by relayed signaling, %llu connections\n",
            (unsigned long long)sim_signaled_links(s), (unsigned long long)r.connections);
    /* 99 invitations make at most 99 links; peers have ~7 neighbours. */
    CHECK(sim_signaled_links(s) > 150);
    CHECK(r.avg_degree > 5);
    CHECK_EQ(sim_components(s), 1);
    sim_free(s);
}
