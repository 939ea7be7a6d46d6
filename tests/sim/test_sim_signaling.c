/* Attacks on the mesh's routed signaling and route discovery (issue 15,
 * items 1 and 3), each beside the same run without the attack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "crypto/peerid.h"
#include "mesh/wire.h"
#include "simtest.h"

/* Attacker `a` sends over its link to `x` a ROUTE carrying a SIGNAL REQUEST
 * for `target` that claims to come from `origin` (forwarded by `a`), with
 * public key `pk`, signed by `key` (NULL: zeros). */
static int inject_request(sim *s, int a, int x, const uint8_t *target, const uint8_t *origin,
                          const pkc_identity *key, const uint8_t *pk, uint8_t prio, uint64_t nonce)
{
    mesh_route_body rb;
    memset(&rb, 0, sizeof rb);
    rb.kind = MESH_RK_SIGNAL;
    rb.u.signal.op = MESH_SIG_REQUEST;
    rb.u.signal.nonce = nonce;
    rb.u.signal.time_ms = (uint64_t)sim_wall_ms(s);
    rb.u.signal.public_key = pk;
    rb.u.signal.prio = prio;
    rb.u.signal.rec = (mesh_record){origin, 0, 0, 0, 0};
    pkc_buf body = PKC_BUF_INIT, tbs = PKC_BUF_INIT, out = PKC_BUF_INIT;
    mesh_route_body_encode(&body, &rb);
    mesh_signal_signed_data(&tbs, origin, target, body.data, body.len);
    uint8_t sig[MESH_SIG_LEN] = {0};
    if (key)
        pkc_identity_sign_labeled(key, MESH_SIGNAL_LABEL, tbs.data, tbs.len, sig);
    pkc_buf_push(&body, sig, sizeof sig);
    uint8_t path[2 * MESH_ID_LEN];
    memcpy(path, origin, MESH_ID_LEN);
    memcpy(path + MESH_ID_LEN, sim_peer_id(s, a), MESH_ID_LEN);
    mesh_msg r;
    memset(&r, 0, sizeof r);
    r.type = MESH_ROUTE;
    r.u.route.kind = MESH_RK_SIGNAL;
    r.u.route.target = target;
    r.u.route.path.len = 2;
    r.u.route.path.ids = path;
    r.u.route.payload = body.data;
    r.u.route.len = body.len;
    mesh_msg_encode(&out, &r);
    int rc = out.err ? -1 : sim_inject(s, a, x, out.data, out.len);
    pkc_buf_free(&body);
    pkc_buf_free(&tbs);
    pkc_buf_free(&out);
    return rc;
}

/* A neighbour of `a` linked to `v` if there is one, else any; -1 if none. */
static int relay_towards(sim *s, int a, int v)
{
    int any = -1;
    for (int i = 0; i < sim_peers(s); i++) {
        if (i == a || i == v || !sim_linked(s, a, i))
            continue;
        if (sim_linked(s, i, v))
            return i;
        any = i;
    }
    return any;
}

typedef struct sig_run {
    unsigned kept, had;   /* the victim's first neighbours still linked, of */
    uint64_t kept_set;    /* which of them (bit k: the k-th in peer index order) */
    unsigned degree;      /* the victim's neighbours at the end */
    unsigned delivered;   /* of a message published after the attack */
    uint64_t rejected;    /* signals the victim refused */
    unsigned max_pending; /* the victim's attempts under way, at most */
    uint64_t sent;        /* forged REQUESTs the attacker sent */
} sig_run;

/* 60 peers; from 60 s, for 20 s, member `a` (not a neighbour of the victim
 * `v`) sends every second, for each neighbour n of v, a REQUEST naming n
 * with a's own key, one with n's key and a made-up signature, and eight
 * high-priority REQUESTs from fresh identities (validly signed: identities
 * are free). Before the fix, the first kind made v drop its link to n and
 * the third made v evict neighbours and hold the slots. */
static void signaling_run(int attack, uint64_t seed, sig_run *r)
{
    memset(r, 0, sizeof *r);
    sim *s = simtest_mesh(NULL, 60, 0.2, seed);
    CHECK(s != NULL);
    if (!s)
        return;
    sim_run_until(s, sim_now(s) + 60);
    const int v = 5;
    /* x is a neighbour of v, a a neighbour of x but not of v. */
    int a = -1, x = -1;
    for (x = 0; x < sim_peers(s) && a < 0; x++) {
        if (x == v || !sim_linked(s, v, x))
            continue;
        for (int i = 0; i < sim_peers(s) && a < 0; i++)
            if (i != v && i != x && sim_linked(s, x, i) && !sim_linked(s, v, i))
                a = i;
        if (a >= 0)
            break;
    }
    CHECK(a >= 0);
    int was[64], n_was = 0;
    for (int i = 0; i < sim_peers(s); i++)
        if (i != v && sim_linked(s, v, i))
            was[n_was++] = i;
    r->had = (unsigned)n_was;
    pkc_mesh_stats st;
    uint64_t nonce = 1;
    for (int round = 0; round < 20; round++) {
        x = relay_towards(s, a, v);
        if (attack && x >= 0) {
            const uint8_t *vid = sim_peer_id(s, v);
            const pkc_identity *ak = sim_identity(s, a);
            for (int k = 0; k < n_was; k++) {
                if (was[k] == x)
                    continue; /* x would refuse a path naming itself */
                const uint8_t *nid = sim_peer_id(s, was[k]);
                const uint8_t *npk = pkc_identity_get_public_key(sim_identity(s, was[k]));
                r->sent += inject_request(s, a, x, vid, nid, ak, pkc_identity_get_public_key(ak), 0,
                                          nonce++) == 0;
                r->sent += inject_request(s, a, x, vid, nid, ak, npk, 1, nonce++) == 0;
            }
            for (int k = 0; k < 8; k++) {
                uint8_t seed32[32] = {(uint8_t)round, (uint8_t)k, 0x5b};
                pkc_identity *sy = NULL;
                CHECK_OK(pkc_identity_from_seed(seed32, &sy));
                uint8_t sid[MESH_ID_LEN];
                pkc_peer_id_hash(pkc_identity_get_public_key(sy), sid);
                (void)inject_request(s, a, x, vid, sid, sy, pkc_identity_get_public_key(sy), 1,
                                     nonce++);
                pkc_identity_free(sy);
            }
        }
        sim_run_until(s, sim_now(s) + 1);
        pkc_mesh_get_stats(sim_engine(s, v), &st);
        if (st.pending_connections > r->max_pending)
            r->max_pending = st.pending_connections;
    }
    sim_run_until(s, sim_now(s) + 10);
    r->kept_set = 0;
    for (int k = 0; k < n_was; k++)
        if (sim_linked(s, v, was[k])) {
            r->kept++;
            r->kept_set |= 1ull << k;
        }
    r->degree = sim_degree(s, v);
    int msg = sim_publish(s, 7, 1, 64);
    CHECK(msg >= 0);
    sim_run_until(s, sim_now(s) + 15);
    r->delivered = sim_msg_delivered(s, msg);
    pkc_mesh_get_stats(sim_engine(s, v), &st);
    r->rejected = st.signals_rejected;
    sim_free(s);
}

TEST(sim_signaling, forged_signaling_cannot_cut_links)
{
    for (uint64_t seed = 31; seed < 34; seed++) {
        sig_run base, atk;
        signaling_run(0, seed, &base);
        signaling_run(1, seed, &atk);
        printf("seed %llu: victim kept %u/%u links (baseline %u/%u), degree %u (%u), "
               "pending at most %u (%u), %llu of %llu forged signals refused (%llu), "
               "delivery %u/60 (%u/60)\n",
               (unsigned long long)seed, atk.kept, atk.had, base.kept, base.had, atk.degree,
               base.degree, atk.max_pending, base.max_pending, (unsigned long long)atk.rejected,
               (unsigned long long)atk.sent, (unsigned long long)base.rejected, atk.delivered,
               base.delivered);
        /* The baseline: nothing refused, everything delivered. */
        CHECK_EQ_U64(base.rejected, 0);
        CHECK_EQ(base.delivered, 60);
        /* Under attack: every forged REQUEST refused, no link lost that the
         * baseline kept, inbound attempts capped, delivery unchanged. (Not
         * every link: the mesh's own optimisation may replace one in 30 s,
         * and then does so in the baseline too: seed 31 kept 7 of 8 in both
         * runs under a change of the tree's timing.) The runs are the same
         * up to the attack, so the k-th first neighbour is the same peer in
         * both. */
        CHECK_EQ(atk.had, base.had);
        CHECK(atk.sent >= 20 * 2 * (uint64_t)(atk.had - 1));
        CHECK(atk.rejected >= atk.sent * 9 / 10 && atk.rejected <= atk.sent);
        CHECK_EQ_U64(base.kept_set & ~atk.kept_set, 0);
        CHECK(atk.kept >= base.kept);
        CHECK(atk.max_pending <= 8 / 2 + 1);
        CHECK_EQ(atk.delivered, 60);
    }
}

/* ---- route-request floods ------------------------------------------------------------ */

typedef struct flood_run {
    unsigned penalised;   /* honest pairs where one scores the other below 0 after */
    double honest_rate;   /* messages sent per honest peer per second, during the flood */
    unsigned links, kept; /* honest-honest links before, and still there after */
    unsigned delivered;   /* of a message published after the flood */
    unsigned honest;
} flood_run;

static uint64_t honest_sent(sim *s, const int *attackers, int n_att)
{
    uint64_t sum = 0;
    for (int i = 0; i < sim_peers(s); i++) {
        int bad = 0;
        for (int k = 0; k < n_att; k++)
            bad |= attackers[k] == i;
        if (bad || !sim_alive(s, i))
            continue;
        pkc_mesh_stats st;
        pkc_mesh_get_stats(sim_engine(s, i), &st);
        sum += st.msgs_sent;
    }
    return sum;
}

static int is_attacker(const int *attackers, int n_att, int i)
{
    for (int k = 0; k < n_att; k++)
        if (attackers[k] == i)
            return 1;
    return 0;
}

/* 60 peers; from 60 s, for 5 s, `n_att` members each send 1000 route
 * requests per second (10 every 10 ms, spread over their neighbours) with
 * fresh nonces and made-up first peers and targets: with ttl 7, the
 * largest the old engine accepted, as issue 15 describes (before the fix,
 * seed 41: an honest peer sent 6172 messages/s with one flooder, 8086 with
 * two, against 2 without; two flooders got 211 of 213 honest links cut), or
 * with ttl 2, the most that still looks honest now. */
static void flood_run_once(int n_att, uint8_t ttl, uint64_t seed, flood_run *r)
{
    memset(r, 0, sizeof *r);
    sim *s = simtest_mesh(NULL, 60, 0.2, seed);
    CHECK(s != NULL);
    if (!s)
        return;
    sim_run_until(s, sim_now(s) + 60);
    const int attackers[2] = {11, 23};
    uint8_t linked[60][60];
    memset(linked, 0, sizeof linked);
    for (int i = 0; i < 60; i++)
        for (int j = i + 1; j < 60; j++)
            if (!is_attacker(attackers, 2, i) && !is_attacker(attackers, 2, j) &&
                sim_linked(s, i, j)) {
                linked[i][j] = 1;
                r->links++;
            }
    uint64_t sent0 = honest_sent(s, attackers, 2);
    double t0 = sim_now(s);
    uint64_t nonce = 1;
    for (int tick = 0; tick < 500; tick++) {
        for (int k = 0; k < n_att; k++) {
            int a = attackers[k];
            int nb[64], n_nb = 0;
            for (int i = 0; i < sim_peers(s) && n_nb < 64; i++)
                if (i != a && sim_linked(s, a, i))
                    nb[n_nb++] = i;
            for (int q = 0; q < 10 && n_nb; q++) {
                uint8_t origin[MESH_ID_LEN], target[MESH_ID_LEN], path[2 * MESH_ID_LEN];
                memset(origin, 0xe0, sizeof origin);
                memset(target, 0xf0, sizeof target);
                memcpy(origin + 1, &nonce, sizeof nonce);
                memcpy(target + 1, &nonce, sizeof nonce);
                memcpy(path, origin, MESH_ID_LEN);
                memcpy(path + MESH_ID_LEN, sim_peer_id(s, a), MESH_ID_LEN);
                mesh_msg m;
                memset(&m, 0, sizeof m);
                m.type = MESH_RREQ;
                m.u.rreq.ttl = ttl;
                m.u.rreq.nonce = nonce++;
                m.u.rreq.target = target;
                m.u.rreq.path.len = 2;
                m.u.rreq.path.ids = path;
                pkc_buf b = PKC_BUF_INIT;
                mesh_msg_encode(&b, &m);
                (void)sim_inject(s, a, nb[q % n_nb], b.data, b.len);
                pkc_buf_free(&b);
            }
        }
        sim_run_until(s, sim_now(s) + 0.01);
    }
    r->honest = 60 - 2;
    r->honest_rate = (double)(honest_sent(s, attackers, 2) - sent0) / (sim_now(s) - t0) / r->honest;
    sim_run_until(s, sim_now(s) + 5);
    for (int i = 0; i < 60; i++)
        for (int j = i + 1; j < 60; j++) {
            if (!linked[i][j])
                continue;
            r->kept += (unsigned)sim_linked(s, i, j);
            double a = 0, b = 0;
            if (pkc_mesh_get_peer_score(sim_engine(s, i), sim_peer_id(s, j), &a) == 0 &&
                pkc_mesh_get_peer_score(sim_engine(s, j), sim_peer_id(s, i), &b) == 0)
                r->penalised += a < 0 || b < 0;
        }
    int msg = sim_publish(s, 3, 1, 64);
    CHECK(msg >= 0);
    sim_run_until(s, sim_now(s) + 15);
    r->delivered = sim_msg_delivered(s, msg);
    for (int k = 0; k < 2; k++)
        r->delivered -= (unsigned)sim_msg_delivered_to(s, msg, attackers[k]);
    sim_free(s);
}

TEST(sim_signaling, route_request_flood_is_contained)
{
    for (uint64_t seed = 41; seed < 44; seed++) {
        flood_run base, one, two, one2, two2;
        flood_run_once(0, 0, seed, &base);
        flood_run_once(1, 7, seed, &one);
        flood_run_once(2, 7, seed, &two);
        flood_run_once(1, 2, seed, &one2);
        flood_run_once(2, 2, seed, &two2);
        printf("seed %llu: an honest peer sends %.1f msg/s without flooders; with one / two "
               "flooders at ttl 7: %.1f / %.1f, at ttl 2: %.1f / %.1f; honest links kept "
               "%u/%u without, %u, %u, %u, %u with (penalised %u, %u, %u, %u); "
               "delivery %u, %u, %u, %u, %u of %u\n",
               (unsigned long long)seed, base.honest_rate, one.honest_rate, two.honest_rate,
               one2.honest_rate, two2.honest_rate, base.kept, base.links, one.kept, two.kept,
               one2.kept, two2.kept, one.penalised, two.penalised, one2.penalised, two2.penalised,
               base.delivered, one.delivered, two.delivered, one2.delivered, two2.delivered,
               base.honest);
        const flood_run *atk[4] = {&one, &two, &one2, &two2};
        CHECK_EQ(base.delivered, base.honest);
        for (int k = 0; k < 4; k++) {
            /* Delivery as without the flood; each honest peer sends at
             * most what the limit allows more: 2 RREQs/s from each of its
             * (at most 8) neighbours, each passed to 7 others, 112/s (before
             * the fix: over 6000/s); no honest peer penalises an
             * honest neighbour for it (links may move once the flooders are
             * cut off and their neighbours repair: 5% slack). */
            CHECK_EQ(atk[k]->delivered, atk[k]->honest);
            CHECK(atk[k]->honest_rate <= base.honest_rate + 2 * 8 * 7);
            CHECK_EQ(atk[k]->penalised, 0);
            CHECK(atk[k]->kept * 100 >= base.kept * 95);
        }
    }
}
