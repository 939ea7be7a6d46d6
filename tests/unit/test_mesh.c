/* The mesh engine on its own: one engine, neighbours played by the test.
 * What arrives from a neighbour is crafted here; what the engine sends and
 * decides is recorded by the callbacks and checked. */
#include <stdlib.h>
#include <string.h>

#include "mesh/wire.h"
#include "test.h"
#include "util/clock.h"
#include "util/rng.h"

typedef struct sent {
    uint8_t to[20];
    uint8_t type;
    uint8_t *data;
    size_t len;
} sent;

typedef struct fx {
    pkc_manual_clock clk;
    pkc_seeded_rng rng;
    pkc_mesh *m;
    pkc_mesh_config cfg;
    sent out[4096];
    size_t n_out;
    unsigned delivered, last_hops;
    int validate_result;
    int disconnects, last_bye;
    uint8_t last_bye_peer[20];
    int reenter_rc;
} fx;

static void on_send(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    fx *f = ud;
    if (f->n_out == sizeof f->out / sizeof f->out[0])
        return;
    sent *s = &f->out[f->n_out++];
    memcpy(s->to, peer, 20);
    s->type = data[0];
    s->data = malloc(len);
    memcpy(s->data, data, len);
    s->len = len;
}

static void on_deliver(void *ud, const pkc_mesh_message *msg)
{
    fx *f = ud;
    f->delivered++;
    f->last_hops = msg->hops;
    /* Callbacks must not re-enter the engine: it says so. */
    f->reenter_rc = pkc_mesh_publish(f->m, (const uint8_t *)"re", 2, (const uint8_t *)"x", 1);
}

static pkc_mesh_validation on_validate(void *ud, const pkc_mesh_message *msg)
{
    (void)msg;
    return (pkc_mesh_validation)((fx *)ud)->validate_result;
}

static void on_disconnect(void *ud, const uint8_t *peer, pkc_mesh_disconnect_reason why)
{
    fx *f = ud;
    f->disconnects++;
    f->last_bye = (int)why;
    memcpy(f->last_bye_peer, peer, 20);
}

static const uint8_t SELF[20] = {0x50};
static const uint8_t N1[20] = {0x11}, N2[20] = {0x22}, N3[20] = {0x33};

static void fx_clear(fx *f)
{
    for (size_t i = 0; i < f->n_out; i++)
        free(f->out[i].data);
    f->n_out = 0;
}

static void fx_free(fx *f)
{
    fx_clear(f);
    pkc_mesh_free(f->m);
    free(f);
}

static fx *fx_new(void (*tweak)(pkc_mesh_config *))
{
    fx *f = calloc(1, sizeof *f);
    pkc_manual_clock_init(&f->clk, 1000000, 1700000000000);
    pkc_seeded_rng_init(&f->rng, 3);
    pkc_mesh_config_default(&f->cfg);
    if (tweak)
        tweak(&f->cfg);
    pkc_mesh_callbacks cb = {0};
    cb.send = on_send;
    cb.deliver = on_deliver;
    cb.validate = on_validate;
    cb.disconnect = on_disconnect;
    f->validate_result = PKC_MESH_ACCEPT;
    if (pkc_mesh_new(&f->cfg, &cb, f, SELF, &f->clk.clock, &f->rng.rng, &f->m) != 0) {
        free(f);
        return NULL;
    }
    return f;
}

static size_t count_type(const fx *f, const uint8_t *to, uint8_t type)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_out; i++)
        n += f->out[i].type == type && (!to || memcmp(f->out[i].to, to, 20) == 0);
    return n;
}

static int recv_msg(fx *f, const uint8_t *from, const mesh_msg *m)
{
    pkc_buf b = PKC_BUF_INIT;
    mesh_msg_encode(&b, m);
    int rc = pkc_mesh_receive(f->m, from, b.data, b.len);
    pkc_buf_free(&b);
    return rc;
}

static mesh_msg gossip(const uint8_t *origin, const char *id, const char *payload)
{
    mesh_msg m;
    memset(&m, 0, sizeof m);
    m.type = MESH_GOSSIP;
    m.u.gossip.origin = origin;
    m.u.gossip.id = (const uint8_t *)id;
    m.u.gossip.id_len = strlen(id);
    m.u.gossip.payload = (const uint8_t *)payload;
    m.u.gossip.len = strlen(payload);
    return m;
}

TEST(mesh, config_defaults_and_checks)
{
    pkc_mesh_config c;
    pkc_mesh_config_default(&c);
    CHECK_EQ(c.max_peers, 8);
    CHECK_EQ(c.heartbeat_interval_ms, 10000);
    CHECK_EQ(c.gossip_interval_ms, 5000);
    CHECK_EQ(c.full_mesh_below, 10);
    pkc_mesh_callbacks cb = {0};
    cb.send = on_send;
    pkc_manual_clock clk;
    pkc_seeded_rng rng;
    pkc_manual_clock_init(&clk, 0, 0);
    pkc_seeded_rng_init(&rng, 1);
    pkc_mesh *m = NULL;
    c.max_peers = 33;
    CHECK_ERR(pkc_mesh_new(&c, &cb, NULL, SELF, &clk.clock, &rng.rng, &m), PKC_ERR_INVALID_ARG);
    pkc_mesh_config_default(&c);
    c.target_peers = 9;
    CHECK_ERR(pkc_mesh_new(&c, &cb, NULL, SELF, &clk.clock, &rng.rng, &m), PKC_ERR_INVALID_ARG);
    pkc_mesh_config_default(&c);
    c.score.graylist_threshold = 0;
    CHECK_ERR(pkc_mesh_new(&c, &cb, NULL, SELF, &clk.clock, &rng.rng, &m), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_mesh_new(NULL, NULL, NULL, SELF, &clk.clock, &rng.rng, &m), PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_mesh_new(NULL, &cb, NULL, SELF, &clk.clock, &rng.rng, &m));
    pkc_mesh_free(m);
    pkc_mesh_free(NULL);
}

/* Bad bytes from a neighbour: a clear error, counted against that neighbour
 * only, nothing else changes. */
TEST(mesh, malformed_input_scores_sender_only)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(f->m, N2, NULL, 0));
    double s1, s2;
    CHECK_OK(pkc_mesh_get_peer_score(f->m, N1, &s1));
    static const uint8_t junk[] = {0x01, 0x00, 0x00};
    CHECK_ERR(pkc_mesh_receive(f->m, N1, junk, sizeof junk), PKC_ERR_TRUNCATED);
    CHECK(strstr(pkc_errmsg(), "mesh message") != NULL);
    CHECK_ERR(pkc_mesh_receive(f->m, N1, (const uint8_t *)"\xff", 1), PKC_ERR_MALFORMED);
    double a1, a2;
    CHECK_OK(pkc_mesh_get_peer_score(f->m, N1, &a1));
    CHECK_OK(pkc_mesh_get_peer_score(f->m, N2, &a2));
    CHECK_OK(pkc_mesh_get_peer_score(f->m, N2, &s2));
    CHECK(a1 < s1 - 30); /* two invalid messages: -10 * 2^2 */
    CHECK(a2 == s2);
    pkc_mesh_stats st;
    pkc_mesh_get_stats(f->m, &st);
    CHECK_EQ(st.errors, 2);
    CHECK_EQ(st.invalid_messages, 2);
    CHECK_EQ(st.connected_peers, 2);
    CHECK_EQ(st.delivered, 0);
    /* A third one takes it below the disconnect threshold. */
    CHECK_ERR(pkc_mesh_receive(f->m, N1, junk, sizeof junk), PKC_ERR_TRUNCATED);
    pkc_mesh_get_stats(f->m, &st);
    CHECK_EQ(st.connected_peers, 1);
    CHECK_EQ(f->last_bye, PKC_MESH_BYE_SCORE);
    CHECK_MEM(f->last_bye_peer, N1, 20);
    CHECK_EQ(count_type(f, N1, MESH_DISCONNECT), 1);
    /* And it is refused when it comes back. */
    CHECK_ERR(pkc_mesh_peer_connected(f->m, N1, NULL, 0), PKC_ERR_REFUSED);
    /* Messages from strangers are not looked at. */
    CHECK_ERR(pkc_mesh_receive(f->m, N3, junk, sizeof junk), PKC_ERR_MESH_NOT_NEIGHBOR);
    fx_free(f);
}

TEST(mesh, publish_floods_to_neighbours)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(f->m, N2, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(f->m, N3, NULL, 0));
    fx_clear(f);
    CHECK_OK(pkc_mesh_publish(f->m, (const uint8_t *)"m1", 2, (const uint8_t *)"hello", 5));
    CHECK_EQ(count_type(f, NULL, MESH_GOSSIP), 3);
    CHECK_ERR(pkc_mesh_publish(f->m, (const uint8_t *)"m1", 2, (const uint8_t *)"again", 5),
              PKC_ERR_EXISTS);
    uint8_t big[70000] = {0};
    CHECK_ERR(pkc_mesh_publish(f->m, (const uint8_t *)"m2", 2, big, sizeof big),
              PKC_ERR_TOO_LARGE);
    CHECK_ERR(pkc_mesh_publish(f->m, (const uint8_t *)"", 0, big, 1), PKC_ERR_INVALID_ARG);
    fx_free(f);
}

TEST(mesh, delivers_once_and_validates)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(f->m, N2, NULL, 0));
    mesh_msg g = gossip(N3, "id-1", "payload");
    g.u.gossip.round = 4;
    CHECK_OK(recv_msg(f, N1, &g));
    CHECK_EQ(f->delivered, 1);
    CHECK_EQ(f->last_hops, 5);
    CHECK_EQ(f->reenter_rc, PKC_ERR_MESH_BUSY);
    CHECK_OK(recv_msg(f, N2, &g));
    CHECK_EQ(f->delivered, 1); /* a duplicate */
    f->validate_result = PKC_MESH_REJECT;
    mesh_msg bad = gossip(N3, "id-2", "evil");
    CHECK_ERR(recv_msg(f, N1, &bad), PKC_ERR_MESH_REJECTED);
    CHECK_EQ(f->delivered, 1);
    f->validate_result = PKC_MESH_IGNORE;
    mesh_msg ign = gossip(N3, "id-3", "meh");
    CHECK_OK(recv_msg(f, N2, &ign));
    CHECK_EQ(f->delivered, 1);
    f->validate_result = PKC_MESH_ACCEPT;
    CHECK_OK(recv_msg(f, N1, &ign)); /* ignored ids stay ignored */
    CHECK_EQ(f->delivered, 1);
    double s1, s2;
    CHECK_OK(pkc_mesh_get_peer_score(f->m, N1, &s1));
    CHECK_OK(pkc_mesh_get_peer_score(f->m, N2, &s2));
    CHECK(s1 < 0 && s2 == 0); /* REJECT counts (P4), IGNORE does not */
    fx_free(f);
}

/* IHAVE for a message we lack: after graft_timeout, GRAFT to the announcer;
 * an announcer that does not deliver is counted (P3) and the next is asked. */
TEST(mesh, ihave_leads_to_graft)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(f->m, N2, NULL, 0));
    pkc_buf items = PKC_BUF_INIT;
    pkc_buf_push_varbytes(&items, "lost", 4);
    pkc_buf_push_varuint(&items, 1);
    mesh_msg ih;
    memset(&ih, 0, sizeof ih);
    ih.type = MESH_IHAVE;
    ih.u.items.count = 1;
    ih.u.items.items = items.data;
    ih.u.items.items_len = items.len;
    CHECK_OK(recv_msg(f, N1, &ih));
    CHECK_OK(recv_msg(f, N2, &ih));
    fx_clear(f);
    pkc_manual_clock_advance(&f->clk, (uint64_t)f->cfg.graft_timeout_ms * 1000 - 1);
    CHECK_OK(pkc_mesh_tick(f->m));
    CHECK_EQ(count_type(f, NULL, MESH_GRAFT), 0);
    pkc_manual_clock_advance(&f->clk, 1);
    CHECK(pkc_mesh_get_deadline(f->m) <= f->clk.mono_us);
    CHECK_OK(pkc_mesh_tick(f->m));
    CHECK_EQ(count_type(f, NULL, MESH_GRAFT), 1);
    const uint8_t *first = f->out[0].to;
    const uint8_t *other = memcmp(first, N1, 20) == 0 ? N2 : N1;
    double before;
    CHECK_OK(pkc_mesh_get_peer_score(f->m, first, &before));
    pkc_manual_clock_advance(&f->clk, (uint64_t)f->cfg.graft_retry_ms * 1000);
    CHECK_OK(pkc_mesh_tick(f->m));
    CHECK_EQ(count_type(f, other, MESH_GRAFT), 1);
    double after;
    CHECK_OK(pkc_mesh_get_peer_score(f->m, first, &after));
    CHECK(after < before);
    /* The payload arrives: delivered, no more grafts. */
    mesh_msg g = gossip(N3, "lost", "found");
    CHECK_OK(recv_msg(f, other, &g));
    CHECK_EQ(f->delivered, 1);
    fx_clear(f);
    pkc_manual_clock_advance(&f->clk, 10000000);
    CHECK_OK(pkc_mesh_tick(f->m));
    CHECK_EQ(count_type(f, NULL, MESH_GRAFT), 0);
    pkc_buf_free(&items);
    fx_free(f);
}

TEST(mesh, graft_is_served_and_storms_penalised)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    CHECK_OK(pkc_mesh_publish(f->m, (const uint8_t *)"m1", 2, (const uint8_t *)"hello", 5));
    fx_clear(f);
    pkc_buf items = PKC_BUF_INIT;
    pkc_buf_push_varbytes(&items, "m1", 2);
    mesh_msg gr;
    memset(&gr, 0, sizeof gr);
    gr.type = MESH_GRAFT;
    gr.u.items.count = 1;
    gr.u.items.items = items.data;
    gr.u.items.items_len = items.len;
    CHECK_OK(recv_msg(f, N1, &gr));
    CHECK_EQ(count_type(f, N1, MESH_GOSSIP), 1);
    CHECK_OK(recv_msg(f, N1, &gr));
    CHECK_EQ(count_type(f, N1, MESH_GOSSIP), 2);
    CHECK_ERR(recv_msg(f, N1, &gr), PKC_ERR_MESH_PROTOCOL);
    CHECK_EQ(count_type(f, N1, MESH_GOSSIP), 2);
    pkc_buf_free(&items);
    fx_free(f);
}

/* Routed messages: loops and forged paths are refused and penalised; the
 * hop limit stops forwarding; the origin hears of a dead end. */
TEST(mesh, routing_refuses_loops_and_bounds_hops)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(f->m, N2, NULL, 0));
    uint8_t path[16 * 20];
    mesh_msg r;
    memset(&r, 0, sizeof r);
    r.type = MESH_ROUTE;
    r.u.route.kind = MESH_RK_DIRECT;
    r.u.route.target = N2;
    r.u.route.payload = (const uint8_t *)"x";
    r.u.route.len = 1;
    /* The path must end with the neighbour that sent it. */
    memcpy(path, N3, 20);
    r.u.route.path.len = 1;
    r.u.route.path.ids = path;
    CHECK_ERR(recv_msg(f, N1, &r), PKC_ERR_MESH_PROTOCOL);
    /* It must not contain us. */
    memcpy(path, SELF, 20);
    memcpy(path + 20, N1, 20);
    r.u.route.path.len = 2;
    CHECK_ERR(recv_msg(f, N1, &r), PKC_ERR_MESH_PROTOCOL);
    /* A valid one to our neighbour N2 is forwarded with us appended. */
    memcpy(path, N3, 20);
    fx_clear(f);
    CHECK_OK(recv_msg(f, N1, &r));
    CHECK_EQ(count_type(f, N2, MESH_ROUTE), 1);
    mesh_msg fw;
    CHECK_OK(mesh_msg_decode(&fw, f->out[0].data, f->out[0].len));
    CHECK_EQ(fw.u.route.path.len, 3);
    CHECK_MEM(fw.u.route.path.ids + 40, SELF, 20);
    /* At max_hops it goes no farther, and an ERROR heads back. */
    for (unsigned i = 0; i < f->cfg.max_hops; i++)
        path[i * 20] = (uint8_t)(0x80 + i), path[i * 20 + 1] = 1;
    memcpy(path + (f->cfg.max_hops - 1) * 20, N1, 20);
    r.u.route.path.len = f->cfg.max_hops;
    fx_clear(f);
    CHECK_OK(recv_msg(f, N1, &r));
    CHECK_EQ(count_type(f, N2, MESH_ROUTE), 0);
    CHECK_EQ(count_type(f, N1, MESH_ROUTE), 1); /* the ERROR, back towards the origin */
    fx_free(f);
}

/* Unsolicited connections beyond max_peers: refused while every neighbour
 * would be cut off; admitted by giving up a neighbour that has others. */
TEST(mesh, admission_respects_max_peers)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    uint8_t ids[10][20];
    memset(ids, 0, sizeof ids);
    for (int i = 0; i < 9; i++) {
        ids[i][0] = (uint8_t)(0x60 + i);
        int rc = pkc_mesh_peer_connected(f->m, ids[i], NULL, 0);
        if (i < 8)
            CHECK_OK(rc);
        else
            CHECK_ERR(rc, PKC_ERR_REFUSED);
    }
    CHECK_EQ(pkc_mesh_get_peers(f->m, NULL, 0), 8);
    /* Neighbour 3 announces three neighbours of its own. */
    mesh_msg nb;
    memset(&nb, 0, sizeof nb);
    nb.type = MESH_NEIGHBORS;
    nb.u.neighbors.count = 2;
    nb.u.neighbors.rec[0] = (mesh_record){N1, 0, 0, 0, 0};
    nb.u.neighbors.rec[1] = (mesh_record){N2, 0, 0, 0, 0};
    CHECK_OK(recv_msg(f, ids[3], &nb));
    fx_clear(f);
    CHECK_OK(pkc_mesh_peer_connected(f->m, ids[8], NULL, 0));
    CHECK_EQ(pkc_mesh_get_peers(f->m, NULL, 0), 8);
    CHECK_EQ(count_type(f, ids[3], MESH_DISCONNECT), 1);
    CHECK_EQ(f->last_bye, PKC_MESH_BYE_REPLACED);
    CHECK_ERR(pkc_mesh_peer_connected(f->m, ids[8], NULL, 0), PKC_ERR_EXISTS);
    fx_free(f);
}

/* A silent neighbour fails after peer_timeout; it is retried with back-off
 * and, when it comes back, counted as a reconnection. */
TEST(mesh, heartbeat_detects_failure_and_reconnects)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(f->m, N2, NULL, 0));
    for (int s = 0; s < 40; s++) {
        pkc_manual_clock_advance(&f->clk, 1000000);
        mesh_msg ping;
        memset(&ping, 0, sizeof ping);
        ping.type = MESH_PING;
        CHECK_OK(recv_msg(f, N2, &ping)); /* N2 stays alive, N1 is silent */
        CHECK_OK(pkc_mesh_tick(f->m));
    }
    CHECK(count_type(f, N1, MESH_PING) >= 2);
    pkc_mesh_stats st;
    pkc_mesh_get_stats(f->m, &st);
    CHECK_EQ(st.connected_peers, 1);
    CHECK_EQ(st.failures, 1);
    CHECK_EQ(f->last_bye, PKC_MESH_BYE_TIMEOUT);
    CHECK_MEM(f->last_bye_peer, N1, 20);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    pkc_mesh_get_stats(f->m, &st);
    CHECK_EQ(st.reconnections, 1);
    fx_free(f);
}

static void small_bucket(pkc_mesh_config *c)
{
    c->rate_msgs = 10;
    c->burst_msgs = 20;
}

TEST(mesh, rate_limit_drops_and_disconnects)
{
    fx *f = fx_new(small_bucket);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    mesh_msg ping;
    memset(&ping, 0, sizeof ping);
    ping.type = MESH_PING;
    int limited = 0;
    for (int i = 0; i < 40; i++) {
        int rc = recv_msg(f, N1, &ping);
        if (rc == PKC_ERR_RATE_LIMITED)
            limited++;
        else if (rc == PKC_ERR_MESH_NOT_NEIGHBOR)
            break;
        else
            CHECK_OK(rc);
    }
    CHECK(limited >= 1);
    pkc_mesh_stats st;
    pkc_mesh_get_stats(f->m, &st);
    CHECK_EQ(st.connected_peers, 0);
    CHECK(st.rate_limited >= 1);
    CHECK_EQ(f->last_bye, PKC_MESH_BYE_SCORE);
    fx_free(f);
}

/* Everything an engine sends must decode: run a small session and check. */
TEST(mesh, everything_sent_decodes)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, NULL, 0));
    CHECK_OK(pkc_mesh_peer_connected(f->m, N2, NULL, 0));
    CHECK_OK(pkc_mesh_publish(f->m, (const uint8_t *)"m1", 2, (const uint8_t *)"x", 1));
    CHECK_OK(pkc_mesh_send(f->m, N3, (const uint8_t *)"direct", 6));
    for (int s = 0; s < 60; s++) {
        pkc_manual_clock_advance(&f->clk, 1000000);
        CHECK_OK(pkc_mesh_tick(f->m));
    }
    CHECK(f->n_out > 10);
    for (size_t i = 0; i < f->n_out; i++) {
        mesh_msg m;
        CHECK_OK(mesh_msg_decode(&m, f->out[i].data, f->out[i].len));
    }
    fx_free(f);
}

/* P6: more than colocation_threshold neighbours behind one address cost
 * each of them; P5: the application can push a peer out. */
TEST(mesh, colocation_and_application_score)
{
    fx *f = fx_new(NULL);
    CHECK(f != NULL);
    uint8_t ids[4][20];
    memset(ids, 0, sizeof ids);
    const uint8_t tag[4] = {10, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        ids[i][0] = (uint8_t)(0x70 + i);
        CHECK_OK(pkc_mesh_peer_connected(f->m, ids[i], tag, sizeof tag));
    }
    CHECK_OK(pkc_mesh_peer_connected(f->m, N1, (const uint8_t *)"other", 5));
    double same, other;
    CHECK_OK(pkc_mesh_get_peer_score(f->m, ids[0], &same));
    CHECK_OK(pkc_mesh_get_peer_score(f->m, N1, &other));
    /* 4 behind one address, threshold 2: -5 * 2^2 each. */
    CHECK(same <= other - 19.9);
    CHECK_OK(pkc_mesh_set_app_score(f->m, N1, -100));
    pkc_mesh_stats st;
    pkc_mesh_get_stats(f->m, &st);
    CHECK_EQ(st.connected_peers, 4);
    CHECK_MEM(f->last_bye_peer, N1, 20);
    CHECK_EQ(f->last_bye, PKC_MESH_BYE_SCORE);
    fx_free(f);
}
