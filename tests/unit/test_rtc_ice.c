/* The ICE agent between two (or more) agents on a simulated network, with
 * a virtual clock: connection, nomination, role conflicts, consent
 * freshness, restarts, trickle, ICE-lite and forged messages. */
#include <stdio.h>
#include <stdlib.h>

#include "rtc/ice.h"
#include "rtc/sdp.h"
#include "test.h"
#include "util/rng.h"

#define MAXPKT 4096

typedef struct agent_ctx agent_ctx;

typedef struct pkt {
    pkc_addr from, to;
    size_t len;
    uint8_t data[600];
} pkt;

typedef struct net {
    pkt q[MAXPKT];
    size_t n;
    agent_ctx *agents[4];
    size_t n_agents;
    int drop_from[4]; /* drop everything agent i sends */
    pkc_addr nat[4];  /* if set: agent i's datagrams leave from this address, and it gets those sent to it */
    pkt last_check[4]; /* agent i's last check as it left (for replays) */
    uint64_t now;
    size_t delivered;
} net;

struct agent_ctx {
    net *net;
    int idx;
    pkc_ice_agent *a;
    pkc_addr host;
    pkc_ice_state states[32];
    size_t n_states;
    int selections;
    pkc_addr sel_local, sel_remote;
    size_t sent, checks_sent, indications_sent;
    pkc_cand gathered[8];
    size_t n_gathered;
    int gather_done;
};

static void cb_send(void *u, const pkc_addr *l, const pkc_addr *r, const uint8_t *d, size_t n)
{
    agent_ctx *c = u;
    net *nt = c->net;
    c->sent++;
    if (n >= 2 && d[0] == 0x00 && d[1] == 0x01)
        c->checks_sent++;
    if (n >= 2 && d[0] == 0x00 && d[1] == 0x11)
        c->indications_sent++;
    if (nt->drop_from[c->idx] || nt->n == MAXPKT || n > sizeof nt->q[0].data)
        return;
    pkt *p = &nt->q[nt->n++];
    p->from = l->family ? *l : c->host;
    if (nt->nat[c->idx].family)
        p->from = nt->nat[c->idx];
    p->to = *r;
    p->len = n;
    memcpy(p->data, d, n);
    if (n >= 2 && d[0] == 0x00 && d[1] == 0x01)
        nt->last_check[c->idx] = *p;
}

static void cb_state(void *u, pkc_ice_state s)
{
    agent_ctx *c = u;
    if (c->n_states < 32)
        c->states[c->n_states++] = s;
}

static void cb_selected(void *u, const pkc_addr *l, const pkc_addr *r)
{
    agent_ctx *c = u;
    c->selections++;
    c->sel_local = *l;
    c->sel_remote = *r;
}

static void cb_candidate(void *u, const pkc_cand *cand)
{
    agent_ctx *c = u;
    if (cand == NULL)
        c->gather_done = 1;
    else if (c->n_gathered < 8)
        c->gathered[c->n_gathered++] = *cand;
}

static pkc_seeded_rng rngs[4];

static void make_agent(net *nt, agent_ctx *c, const char *host, int controlling, int lite)
{
    memset(c, 0, sizeof *c);
    c->net = nt;
    c->idx = (int)nt->n_agents;
    nt->agents[nt->n_agents++] = c;
    pkc_addr_parse(host, &c->host);
    pkc_ice_config cfg;
    pkc_ice_config_default(&cfg);
    cfg.controlling = controlling;
    cfg.lite = lite;
    pkc_ice_callbacks cb = {cb_send, cb_candidate, cb_state, cb_selected, NULL, c};
    pkc_seeded_rng_init(&rngs[c->idx], 1000 + (uint64_t)c->idx);
    if (pkc_ice_new(&cfg, &cb, &rngs[c->idx].rng, &c->a) != 0)
        abort();
    pkc_ice_add_host(c->a, &c->host);
}

static pkc_cand host_cand(agent_ctx *c)
{
    pkc_cand out[4];
    size_t n = pkc_ice_local_candidates(c->a, out, 4);
    if (n == 0)
        abort();
    return out[0];
}

/* Tells each the other's credentials and (optionally) candidates. */
static void introduce(agent_ctx *x, agent_ctx *y, int x_learns_cands, int y_learns_cands)
{
    pkc_ice_set_remote_creds(x->a, pkc_ice_local_ufrag(y->a), pkc_ice_local_pwd(y->a), x->net->now);
    pkc_ice_set_remote_creds(y->a, pkc_ice_local_ufrag(x->a), pkc_ice_local_pwd(x->a), x->net->now);
    if (x_learns_cands) {
        pkc_cand c = host_cand(y);
        pkc_ice_add_remote(x->a, &c, x->net->now);
    }
    if (y_learns_cands) {
        pkc_cand c = host_cand(x);
        pkc_ice_add_remote(y->a, &c, x->net->now);
    }
}

static void deliver_all(net *nt)
{
    for (int guard = 0; guard < 100 && nt->n; guard++) {
        size_t n = nt->n;
        pkt *batch = malloc(n * sizeof *batch);
        memcpy(batch, nt->q, n * sizeof *batch);
        nt->n = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < nt->n_agents; k++)
                if (pkc_addr_equal(&nt->agents[k]->host, &batch[i].to) ||
                    (nt->nat[k].family && pkc_addr_equal(&nt->nat[k], &batch[i].to))) {
                    nt->delivered++;
                    pkc_ice_input(nt->agents[k]->a, &nt->agents[k]->host, &batch[i].from,
                                  batch[i].data, batch[i].len, nt->now);
                }
        free(batch);
    }
}

/* Runs the network until `until_us`, jumping from deadline to deadline. */
static void run(net *nt, uint64_t until_us)
{
    for (int guard = 0; guard < 100000; guard++) {
        deliver_all(nt);
        uint64_t next = UINT64_MAX;
        for (size_t k = 0; k < nt->n_agents; k++) {
            uint64_t d = pkc_ice_deadline(nt->agents[k]->a);
            if (d < next)
                next = d;
        }
        if (next > until_us)
            break;
        if (next > nt->now)
            nt->now = next;
        for (size_t k = 0; k < nt->n_agents; k++)
            if (pkc_ice_deadline(nt->agents[k]->a) <= nt->now)
                pkc_ice_timeout(nt->agents[k]->a, nt->now);
    }
    if (until_us > nt->now)
        nt->now = until_us;
    deliver_all(nt);
}

static int ever(const agent_ctx *c, pkc_ice_state s)
{
    for (size_t i = 0; i < c->n_states; i++)
        if (c->states[i] == s)
            return 1;
    return 0;
}

static void free_net(net *nt)
{
    for (size_t k = 0; k < nt->n_agents; k++)
        pkc_ice_free(nt->agents[k]->a);
}

TEST(rtc_ice, connect_and_nominate)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    introduce(&a, &b, 1, 1);
    run(&nt, 1000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    CHECK_EQ(pkc_ice_get_state(b.a), PKC_ICE_COMPLETED);
    CHECK(pkc_addr_equal(&a.sel_remote, &b.host));
    CHECK(pkc_addr_equal(&b.sel_remote, &a.host));
    CHECK(pkc_ice_is_controlling(a.a) && !pkc_ice_is_controlling(b.a));
    /* Checks after nomination stop: over the next 60 s only consent
     * checks (every 4-6 s) flow, about 12 each way. */
    size_t before = a.checks_sent;
    run(&nt, 61000000);
    size_t consent = a.checks_sent - before;
    CHECK(consent >= 10 && consent <= 15);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    free_net(&nt);
}

/* The controlled side knows no candidate of the controlling side (a browser
 * with mDNS names): it learns a peer-reflexive one from the checks. */
TEST(rtc_ice, peer_reflexive)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    introduce(&a, &b, 0, 1); /* a learns nothing; b learns a's */
    run(&nt, 2000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    CHECK_EQ(pkc_ice_get_state(b.a), PKC_ICE_COMPLETED);
    char l[8], r[8];
    pkc_ice_selected_types(a.a, l, r);
    CHECK_STR(r, "prflx");
    free_net(&nt);
}

/* Both think they control: the larger tie-breaker keeps the role. */
TEST(rtc_ice, role_conflict_both_controlling)
{
    for (int swap = 0; swap < 2; swap++) {
        static net nt;
        memset(&nt, 0, sizeof nt);
        agent_ctx a, b;
        make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
        make_agent(&nt, &b, "10.0.0.2:2000", 1, 0);
        pkc_ice_set_tiebreaker(a.a, swap ? 5 : 9);
        pkc_ice_set_tiebreaker(b.a, swap ? 9 : 5);
        introduce(&a, &b, 1, 1);
        run(&nt, 3000000);
        CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
        CHECK_EQ(pkc_ice_get_state(b.a), PKC_ICE_COMPLETED);
        CHECK_EQ(pkc_ice_is_controlling(a.a), !swap);
        CHECK_EQ(pkc_ice_is_controlling(b.a), swap);
        free_net(&nt);
    }
}

TEST(rtc_ice, role_conflict_both_controlled)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 0, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    pkc_ice_set_tiebreaker(a.a, 100);
    pkc_ice_set_tiebreaker(b.a, 7);
    introduce(&a, &b, 1, 1);
    run(&nt, 3000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    CHECK_EQ(pkc_ice_get_state(b.a), PKC_ICE_COMPLETED);
    CHECK(pkc_ice_is_controlling(a.a));
    CHECK(!pkc_ice_is_controlling(b.a));
    free_net(&nt);
}

/* RFC 7675: a peer that vanishes is detected within 30 s, not long before. */
TEST(rtc_ice, consent_detects_vanished_peer)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    introduce(&a, &b, 1, 1);
    run(&nt, 10000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    uint64_t gone = nt.now;
    nt.drop_from[1] = 1; /* b vanishes */
    uint64_t disconnected = 0, failed = 0;
    while (nt.now < gone + 40000000 && !failed) {
        run(&nt, nt.now + 100000);
        pkc_ice_state s = pkc_ice_get_state(a.a);
        if (s == PKC_ICE_DISCONNECTED && !disconnected)
            disconnected = nt.now;
        if (s == PKC_ICE_FAILED)
            failed = nt.now;
    }
    CHECK(disconnected != 0);
    CHECK(failed != 0);
    /* The last consent answer came at most one interval (6 s) before b
     * vanished; failure follows 30 s after that answer. */
    CHECK(failed - gone <= 30100000);
    CHECK(failed - gone >= 24000000);
    CHECK(disconnected - gone <= 7600000);
    /* Once failed, the agent sends nothing more. */
    size_t sent = a.sent;
    run(&nt, nt.now + 20000000);
    CHECK_EQ(a.sent, sent);
    free_net(&nt);
}

/* Consent that resumes before the timeout brings the agent back. */
TEST(rtc_ice, consent_recovers)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    introduce(&a, &b, 1, 1);
    run(&nt, 5000000);
    nt.drop_from[1] = 1;
    run(&nt, nt.now + 15000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_DISCONNECTED);
    nt.drop_from[1] = 0;
    run(&nt, nt.now + 8000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    free_net(&nt);
}

/* An ICE restart: new credentials, checks again, the path stays usable. */
TEST(rtc_ice, restart)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    introduce(&a, &b, 1, 1);
    run(&nt, 2000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    char old_ufrag[64];
    snprintf(old_ufrag, sizeof old_ufrag, "%s", pkc_ice_local_ufrag(a.a));
    pkc_ice_restart(a.a, nt.now);
    CHECK(strcmp(old_ufrag, pkc_ice_local_ufrag(a.a)) != 0);
    /* b learns a's new credentials (a new offer), a learns b's new ones. */
    pkc_ice_restart(b.a, nt.now);
    CHECK_EQ(pkc_ice_set_remote_creds(b.a, pkc_ice_local_ufrag(a.a), pkc_ice_local_pwd(a.a), nt.now), 1);
    /* Data may still flow: the old path is kept while checking. */
    CHECK(pkc_ice_selected(b.a, NULL, NULL));
    CHECK(pkc_ice_accept_data(b.a, &a.host, nt.now));
    CHECK_EQ(pkc_ice_set_remote_creds(a.a, pkc_ice_local_ufrag(b.a), pkc_ice_local_pwd(b.a), nt.now), 1);
    pkc_cand cb = host_cand(&b);
    pkc_ice_add_remote(a.a, &cb, nt.now);
    int sel_a = a.selections;
    run(&nt, nt.now + 2000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    CHECK_EQ(pkc_ice_get_state(b.a), PKC_ICE_COMPLETED);
    CHECK(a.selections == sel_a); /* same path, no switch needed */
    CHECK(ever(&a, PKC_ICE_CHECKING));
    free_net(&nt);
}

/* Unreachable candidates and end-of-candidates: the agent gives up. */
TEST(rtc_ice, all_pairs_fail)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    pkc_ice_set_remote_creds(a.a, pkc_ice_local_ufrag(b.a), pkc_ice_local_pwd(b.a), 0);
    pkc_cand c = host_cand(&b);
    pkc_addr_parse("10.9.9.9:9", &c.addr); /* nobody there */
    pkc_ice_add_remote(a.a, &c, 0);
    pkc_ice_remote_done(a.a, 0);
    run(&nt, 60000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_FAILED);
    /* It retransmitted (8 sends of the one check) before failing. */
    CHECK_EQ(a.checks_sent, 8);
    free_net(&nt);
}

/* A lite agent answers, never checks, keeps the NAT binding with
 * indications and notices a vanished peer. */
TEST(rtc_ice, lite)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, l;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &l, "10.0.0.2:2000", 0, 1);
    /* The lite side never learns a's password: it does not need it. */
    pkc_ice_set_remote_creds(a.a, pkc_ice_local_ufrag(l.a), pkc_ice_local_pwd(l.a), 0);
    pkc_cand c = host_cand(&l);
    pkc_ice_add_remote(a.a, &c, 0);
    run(&nt, 1000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    CHECK_EQ(pkc_ice_get_state(l.a), PKC_ICE_COMPLETED);
    CHECK_EQ(l.checks_sent, 0);
    CHECK(pkc_addr_equal(&l.sel_remote, &a.host));
    run(&nt, 40000000);
    CHECK_EQ(pkc_ice_get_state(l.a), PKC_ICE_COMPLETED); /* a's consent checks keep it */
    nt.drop_from[0] = 1;
    run(&nt, nt.now + 31000000);
    CHECK_EQ(pkc_ice_get_state(l.a), PKC_ICE_FAILED);
    CHECK(l.indications_sent >= 1);
    free_net(&nt);
}

/* NAT rebinding on the controlling side: its datagrams suddenly leave from
 * another address. The lite agent follows its consent checks there once the
 * nominated address has been quiet for half a consent interval, and the
 * link never fails; a replayed check from elsewhere while the nominated
 * address is alive moves nothing. */
TEST(rtc_ice, lite_follows_rebinding)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, l;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &l, "10.0.0.2:2000", 0, 1);
    pkc_ice_set_remote_creds(a.a, pkc_ice_local_ufrag(l.a), pkc_ice_local_pwd(l.a), 0);
    pkc_cand c = host_cand(&l);
    pkc_ice_add_remote(a.a, &c, 0);
    run(&nt, 12000000);
    CHECK_EQ(pkc_ice_get_state(l.a), PKC_ICE_COMPLETED);
    CHECK(pkc_addr_equal(&l.sel_remote, &a.host));
    /* A replay of a's last check from an attacker's address: answered
     * (it is authenticated) but the path stays. */
    pkt replay = nt.last_check[0];
    CHECK(replay.len > 0);
    pkc_addr_parse("10.6.6.6:666", &replay.from);
    pkc_ice_input(l.a, &l.host, &replay.from, replay.data, replay.len, nt.now);
    CHECK(pkc_addr_equal(&l.sel_remote, &a.host));
    int selections = l.selections;
    /* Rebinding: a now appears from 192.0.2.7:20001. */
    pkc_addr_parse("192.0.2.7:20001", &nt.nat[0]);
    run(&nt, nt.now + 15000000);
    pkc_addr moved;
    pkc_addr_parse("192.0.2.7:20001", &moved);
    CHECK(pkc_addr_equal(&l.sel_remote, &moved));
    CHECK_EQ(l.selections, selections + 1);
    CHECK_EQ(pkc_ice_get_state(l.a), PKC_ICE_COMPLETED);
    run(&nt, nt.now + 40000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED); /* consent answered all along */
    CHECK_EQ(pkc_ice_get_state(l.a), PKC_ICE_COMPLETED);
    CHECK(!ever(&a, PKC_ICE_FAILED));
    free_net(&nt);
}

/* Checks signed with the wrong password and forged responses change
 * nothing and get no answer. */
TEST(rtc_ice, forged_messages_ignored)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    /* a believes b's password is something else. */
    pkc_ice_set_remote_creds(a.a, pkc_ice_local_ufrag(b.a), "WrongPasswordWrongPassword", 0);
    pkc_ice_set_remote_creds(b.a, pkc_ice_local_ufrag(a.a), pkc_ice_local_pwd(a.a), 0);
    pkc_cand c = host_cand(&b);
    pkc_ice_add_remote(a.a, &c, 0);
    run(&nt, 5000000);
    CHECK(!ever(&b, PKC_ICE_CHECKING)); /* b answered nothing, learnt nothing */
    CHECK_EQ(b.sent, 0);
    CHECK(pkc_ice_get_state(a.a) != PKC_ICE_COMPLETED);
    CHECK(!pkc_ice_accept_data(b.a, &a.host, nt.now));
    /* Garbage is dropped without harm. */
    uint8_t junk[64];
    memset(junk, 1, sizeof junk);
    CHECK_OK(pkc_ice_input(b.a, &b.host, &a.host, junk, sizeof junk, nt.now));
    free_net(&nt);
}

/* Trickle: candidates arrive after the checks started. */
TEST(rtc_ice, trickle)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a, b;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    make_agent(&nt, &b, "10.0.0.2:2000", 0, 0);
    introduce(&a, &b, 0, 0);
    run(&nt, 3000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_NEW); /* nothing to check yet */
    pkc_cand c = host_cand(&b);
    pkc_ice_add_remote(a.a, &c, nt.now);
    run(&nt, nt.now + 1000000);
    CHECK_EQ(pkc_ice_get_state(a.a), PKC_ICE_COMPLETED);
    CHECK_EQ(pkc_ice_get_state(b.a), PKC_ICE_COMPLETED);
    free_net(&nt);
}

/* Server-reflexive gathering: a STUN server answers with the mapped
 * address; a server that never answers ends gathering after retries. */
TEST(rtc_ice, server_reflexive_gathering)
{
    static net nt;
    memset(&nt, 0, sizeof nt);
    agent_ctx a;
    make_agent(&nt, &a, "10.0.0.1:1000", 1, 0);
    pkc_addr servers[2];
    pkc_addr_parse("192.0.2.50:3478", &servers[0]);
    pkc_addr_parse("192.0.2.51:3478", &servers[1]);
    pkc_ice_gather(a.a, servers, 2, 0);
    CHECK_EQ(nt.n, 2);
    /* Answer the first request as a NAT would see it. */
    pkc_stun_msg m;
    CHECK_OK(pkc_stun_decode(nt.q[0].data, nt.q[0].len, &m));
    pkc_addr mapped;
    pkc_addr_parse("203.0.113.7:40000", &mapped);
    pkc_buf b = PKC_BUF_INIT;
    pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_SUCCESS, m.txid);
    pkc_stun_add_address(&b, PKC_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped, 1);
    CHECK_OK(pkc_stun_finish(&b, NULL, 0, 1));
    nt.n = 0;
    CHECK_OK(pkc_ice_input(a.a, &a.host, &servers[0], b.data, b.len, 0));
    pkc_buf_free(&b);
    CHECK_EQ(a.n_gathered, 1);
    CHECK_EQ(a.gathered[0].type, PKC_CAND_SRFLX);
    CHECK(pkc_addr_equal(&a.gathered[0].addr, &mapped));
    CHECK(pkc_addr_equal(&a.gathered[0].related, &a.host));
    CHECK(!a.gather_done);
    run(&nt, 20000000); /* the second server never answers */
    CHECK(a.gather_done);
    pkc_cand all[8];
    CHECK_EQ(pkc_ice_local_candidates(a.a, all, 8), 2);
    free_net(&nt);
}
