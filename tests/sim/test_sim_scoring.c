/* Misbehaving peers are scored down and disconnected, and refused when they
 * come back; everyone else keeps working. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/wire.h"
#include "simtest.h"

/* Its neighbours now, as a list ending in -1. */
static void neighbours_of(sim *s, int a, int *out, int max)
{
    int k = 0;
    for (int i = 0; i < sim_peers(s) && k < max - 1; i++)
        if (i != a && sim_linked(s, a, i))
            out[k++] = i;
    out[k] = -1;
}

/* Every former neighbour has cut the attacker off and would refuse it. */
static void check_cut_off(sim *s, int attacker, const int *was, double below)
{
    for (int k = 0; was[k] >= 0; k++) {
        int n = was[k];
        double sc = 0;
        CHECK(!sim_linked(s, attacker, n));
        CHECK_OK(pkc_mesh_get_peer_score(sim_engine(s, n), sim_peer_id(s, attacker), &sc));
        if (sc >= below) {
            pkc_test_fail(__FILE__, __LINE__, "peer %d scores the attacker %.1f", n, sc);
            return;
        }
    }
}

/* Honest messages still reach every live peer but the attacker. */
static void check_honest_delivery(sim *s, int attacker)
{
    int from = attacker == 3 ? 4 : 3;
    int msg = sim_publish(s, from, 1, 64);
    CHECK(msg >= 0);
    sim_run_until(s, sim_now(s) + 15);
    unsigned got = sim_msg_delivered(s, msg) - (unsigned)sim_msg_delivered_to(s, msg, attacker);
    CHECK_EQ(got, sim_peers(s) - 1);
}

TEST(sim_scoring, invalid_publisher_is_disconnected)
{
    sim *s = simtest_mesh(NULL, 60, 0.2, 21);
    CHECK(s != NULL);
    sim_run_until(s, sim_now(s) + 60);
    const int a = 17;
    int was[40];
    neighbours_of(s, a, was, 40);
    CHECK(was[0] >= 0);
    int bad[10];
    for (int k = 0; k < 10; k++) {
        bad[k] = sim_publish(s, a, 0, 64);
        CHECK(bad[k] >= 0);
        sim_run_until(s, sim_now(s) + 1);
    }
    sim_run_until(s, sim_now(s) + 20);
    /* Nobody accepted an invalid message; those who got one from the
     * attacker dropped it and will not take it back (accept_threshold). */
    for (int k = 0; k < 10; k++)
        CHECK_EQ(sim_msg_delivered(s, bad[k]), 1);
    check_cut_off(s, a, was, -10);
    CHECK_HELPER();
    CHECK(sim_degree(s, a) <= 2); /* at most peers that have not heard from it yet */
    check_honest_delivery(s, a);
    sim_free(s);
}

/* A neighbour that floods: the same GOSSIP frame over and over (so that
 * nothing but the flood itself costs anything), far faster than the
 * per-neighbour token bucket allows (default: 1000 messages/s, burst 4000).
 * The excess is dropped and counted as behaviour penalties (P7), and the
 * flooder is disconnected. */
TEST(sim_scoring, flooder_is_rate_limited_and_disconnected)
{
    sim *s = simtest_mesh(NULL, 60, 0.2, 22);
    CHECK(s != NULL);
    sim_run_until(s, sim_now(s) + 60);
    const int f = 23;
    int was[40];
    neighbours_of(s, f, was, 40);
    CHECK(was[0] >= 0);
    pkc_buf b = PKC_BUF_INIT;
    uint8_t id[16] = {'f', 'l', 'o', 'o', 'd'};
    mesh_msg m;
    memset(&m, 0, sizeof m);
    m.type = MESH_GOSSIP;
    m.u.gossip.origin = sim_peer_id(s, f);
    m.u.gossip.id = id;
    m.u.gossip.id_len = sizeof id;
    m.u.gossip.payload = (const uint8_t *)"Vflood";
    m.u.gossip.len = 6;
    CHECK_OK(mesh_msg_encode(&b, &m));
    for (int k = 0; k < 5000; k++)
        for (int j = 0; was[j] >= 0; j++)
            sim_inject(s, f, was[j], b.data, b.len);
    pkc_buf_free(&b);
    sim_run_until(s, sim_now(s) + 30);
    check_cut_off(s, f, was, -10);
    CHECK_HELPER();
    uint64_t limited = 0;
    for (int j = 0; was[j] >= 0; j++) {
        pkc_mesh_stats st;
        pkc_mesh_get_stats(sim_engine(s, was[j]), &st);
        limited += st.rate_limited;
    }
    CHECK(limited > 0);
    check_honest_delivery(s, f);
    sim_free(s);
}

/* Bytes that are not mesh messages: errors, counted as invalid (P4),
 * disconnected after a few, and nothing else changes for the receiver. */
TEST(sim_scoring, garbage_sender_is_disconnected)
{
    sim *s = simtest_mesh(NULL, 40, 0.2, 23);
    CHECK(s != NULL);
    sim_run_until(s, sim_now(s) + 60);
    const int g = 11;
    int was[40];
    neighbours_of(s, g, was, 40);
    CHECK(was[0] >= 0);
    static const uint8_t junk[][6] = {
        {0xff, 1, 2, 3, 4, 5}, {0x01, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x0c, 0, 0, 0, 0, 0},
        {0x02, 0x80, 0x80, 0x80, 0x80, 0x80}, {0x07, 0x7f, 0, 0, 0, 0},
    };
    for (size_t k = 0; k < sizeof junk / sizeof junk[0]; k++)
        for (int j = 0; was[j] >= 0; j++)
            sim_inject(s, g, was[j], junk[k], sizeof junk[k]);
    sim_run_until(s, sim_now(s) + 5);
    check_cut_off(s, g, was, -10);
    CHECK_HELPER();
    for (int j = 0; was[j] >= 0; j++) {
        pkc_mesh_stats st;
        pkc_mesh_get_stats(sim_engine(s, was[j]), &st);
        CHECK(st.invalid_messages >= 3);
        CHECK(st.connected_peers >= 4); /* its other neighbours stayed */
    }
    check_honest_delivery(s, g);
    sim_free(s);
}
