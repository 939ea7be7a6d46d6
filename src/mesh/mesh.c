/* mesh.c: the mesh engine's lifecycle, public entry points, message
 * dispatch, timers and statistics. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/peerid.h"
#include "mesh/mesh_int.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/versioned.h"

#define CONFIG_SIZES PKC_STRUCT_V1(pkc_mesh_config)
#define CALLBACKS_SIZES PKC_STRUCT_V1(pkc_mesh_callbacks)
#define STATS_SIZES PKC_STRUCT_V1(pkc_mesh_stats)
#define PEER_INFO_SIZES PKC_STRUCT_V1(pkc_mesh_peer_info)

void pkc_mesh_config_default_versioned(int config_version, pkc_mesh_config *out)
{
    pkc_mesh_config d, *c = &d;
    memset(c, 0, sizeof *c);
    c->max_peers = 8;
    c->target_peers = 6;
    c->full_mesh_below = 10;
    c->passive_size = 32;
    c->active_walk_length = 6;
    c->passive_walk_length = 3;
    c->shuffle_active = 3;
    c->shuffle_passive = 4;
    c->shuffle_interval_ms = 30000;
    c->dialable = 0;
    c->heartbeat_interval_ms = 10000;
    c->gossip_interval_ms = 5000;
    c->peer_timeout_ms = 25000;
    c->connect_timeout_ms = 15000;
    c->reconnect_backoff_ms = 1000;
    c->reconnect_backoff_max_ms = 60000;
    c->reconnect_attempts = 10;
    c->broadcast = PKC_MESH_PLUMTREE;
    c->ihave_interval_ms = 100;
    c->graft_timeout_ms = 1000;
    c->graft_retry_ms = 500;
    c->cache_messages = 8192;
    c->cache_bytes = 16u << 20;
    c->cache_ttl_ms = 120000;
    c->max_payload = 65536;
    c->max_hops = 8;
    c->route_ttl_ms = 120000;
    c->route_timeout_ms = 3000;
    c->optimize_interval_ms = 60000;
    c->random_links = 2;
    c->rate_msgs = 1000;
    c->burst_msgs = 4000;
    c->rate_bytes = 8.0 * 1024 * 1024;
    c->burst_bytes = 32.0 * 1024 * 1024;
    pkc_mesh_score_params *s = &c->score;
    s->time_weight = 0.5;
    s->time_quantum_ms = 10000;
    s->time_cap = 10;
    s->first_delivery_weight = 0.2;
    s->first_delivery_cap = 50;
    s->failure_weight = -1;
    s->invalid_weight = -10;
    s->app_weight = 1;
    s->colocation_weight = -5;
    s->colocation_threshold = 2;
    s->behaviour_weight = -2;
    s->decay = 0.9;
    s->invalid_decay = 0.97;
    s->gossip_threshold = -10;
    s->accept_threshold = -10;
    s->disconnect_threshold = -40;
    s->graylist_threshold = -80;
    s->retain_ms = 600000;
    pkc_struct_write(out, c, config_version, CONFIG_SIZES);
}

static int check_config(const pkc_mesh_config *c)
{
#define REQUIRE(cond, what)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return pkc_error(PKC_ERR_INVALID_ARG, "mesh config: %s", what);                        \
    } while (0)
    REQUIRE(c->max_peers >= 1 && c->max_peers <= MESH_MAX_SLOTS, "max_peers must be 1..32");
    REQUIRE(c->target_peers >= 1 && c->target_peers <= c->max_peers,
            "target_peers must be 1..max_peers");
    REQUIRE(c->passive_size >= 1 && c->passive_size <= 1024, "passive_size must be 1..1024");
    REQUIRE(c->active_walk_length <= MESH_PATH_MAX - 2, "active_walk_length must be <= 14");
    REQUIRE(c->passive_walk_length <= c->active_walk_length,
            "passive_walk_length must be <= active_walk_length");
    REQUIRE(c->shuffle_active + c->shuffle_passive + 1 <= MESH_RECORDS_MAX,
            "shuffle_active + shuffle_passive must be <= 31");
    REQUIRE(c->heartbeat_interval_ms > 0 && c->gossip_interval_ms > 0 &&
                c->shuffle_interval_ms > 0 && c->ihave_interval_ms > 0 &&
                c->graft_timeout_ms > 0 && c->graft_retry_ms > 0 && c->route_timeout_ms > 0 &&
                c->connect_timeout_ms > 0 && c->reconnect_backoff_ms > 0,
            "intervals and timeouts must be > 0");
    REQUIRE(c->peer_timeout_ms > c->heartbeat_interval_ms,
            "peer_timeout_ms must exceed heartbeat_interval_ms");
    REQUIRE(c->reconnect_backoff_max_ms >= c->reconnect_backoff_ms,
            "reconnect_backoff_max_ms must be >= reconnect_backoff_ms");
    REQUIRE(c->broadcast == PKC_MESH_PLUMTREE || c->broadcast == PKC_MESH_FLOOD,
            "unknown broadcast mode");
    REQUIRE(c->cache_messages >= 16 && c->cache_messages <= (1u << 24),
            "cache_messages must be 16..2^24");
    REQUIRE(c->max_payload >= 1 && c->max_payload <= MESH_FRAME_MAX - 4096,
            "max_payload must be 1..1044480");
    REQUIRE(c->max_hops >= 2 && c->max_hops <= MESH_PATH_MAX, "max_hops must be 2..16");
    REQUIRE(c->rate_msgs > 0 && c->burst_msgs >= 1 && c->rate_bytes > 0 &&
                c->burst_bytes >= (double)c->max_payload + 4096,
            "rate limits must be positive and the byte burst must hold one message");
    const pkc_mesh_score_params *s = &c->score;
    REQUIRE(s->graylist_threshold <= s->disconnect_threshold &&
                s->disconnect_threshold <= s->accept_threshold && s->accept_threshold <= 0 &&
                s->gossip_threshold <= 0,
            "score thresholds must satisfy graylist <= disconnect <= accept <= 0");
    REQUIRE(s->decay > 0 && s->decay <= 1 && s->invalid_decay > 0 && s->invalid_decay <= 1,
            "score decays must be in (0, 1]");
    REQUIRE(s->time_quantum_ms > 0, "score time_quantum_ms must be > 0");
#undef REQUIRE
    return 0;
}

uint64_t mesh_rand_below(pkc_mesh *m, uint64_t n)
{
    return pkc_rng_below(m->rng, n);
}

void mesh_timer_add(pkc_mesh *m, uint8_t kind, uint32_t idx, uint32_t gen, uint64_t at)
{
    /* Out of memory here only delays the timer to the next periodic tick. */
    mesh_timer t = {at, idx, gen, kind};
    (void)mesh_heap_push(&m->heap, t);
}

void mesh_want_flush(pkc_mesh *m)
{
    uint64_t at = m->now + (uint64_t)m->cfg.ihave_interval_ms * 1000;
    if (m->next_flush == UINT64_MAX || m->next_flush > at)
        m->next_flush = at;
}

/* PRUNE has no body: its handler takes none. */
static int on_prune(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    (void)msg;
    return mesh_on_prune(m, from);
}

/* What the engine does with each message type, by the rows of MESH_TYPES
 * (wire.h): the handler of a received one, and whether a sent one counts
 * as payload or control. */
typedef struct mesh_type_row {
    int (*handler)(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
    int payload;
} mesh_type_row;

static const mesh_type_row type_rows[MESH_TYPE_END] = {
#define ROW(name, value, text, codec, handler, class)                                              \
    [name] = {handler, (class) == MESH_CLASS_PAYLOAD},
    MESH_TYPES(ROW)
#undef ROW
};

void mesh_send_out(pkc_mesh *m, mesh_peer *p, int payload)
{
    if (m->out.err || p->state != PEER_ACTIVE)
        return;
    m->st.msgs_sent++;
    m->st.bytes_sent += m->out.len;
    if (payload) {
        m->st.payload_msgs_sent++;
        m->st.payload_bytes_sent += m->out.len;
    } else {
        m->st.control_msgs_sent++;
        m->st.control_bytes_sent += m->out.len;
    }
    pkc_logt("mesh", "send %s (%zu bytes)", mesh_type_name(m->out.data[0]), m->out.len);
    m->cb.send(m->ud, p->id, m->out.data, m->out.len);
}

void mesh_send_msg(pkc_mesh *m, mesh_peer *p, const mesh_msg *msg)
{
    pkc_buf_reset(&m->out);
    mesh_msg_encode(&m->out, msg);
    mesh_send_out(m, p, msg->type < MESH_TYPE_END && type_rows[msg->type].payload);
}

int mesh_violation(pkc_mesh *m, mesh_peer *p, double penalty, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    p->behaviour += penalty;
    pkc_logd("mesh", "protocol violation: %s", text);
    return pkc_error(PKC_ERR_MESH_PROTOCOL, "%s", text);
}

/* Every public entry point that may run callbacks calls enter() first
 * (returning its error, if any) and leave() last. */
static int enter(pkc_mesh *m)
{
    if (m->busy)
        return pkc_error(PKC_ERR_MESH_BUSY, "mesh: called from inside a mesh callback");
    m->busy = 1;
    uint64_t now = pkc_clock_mono_us(m->clock);
    if (now > m->now)
        m->now = now;
    return 0;
}

static void leave(pkc_mesh *m)
{
    if (m->need_maintain)
        mesh_maintain(m);
    m->busy = 0;
}

int pkc_mesh_new_versioned(int config_version, const pkc_mesh_config *config,
                           int callbacks_version, const pkc_mesh_callbacks *callbacks,
                           void *user_data, const pkc_identity *self, const pkc_clock *clock,
                           const pkc_rng *rng, pkc_mesh **out)
{
    /* The caller's structs over the current defaults (NULL config: all). */
    pkc_mesh_config c, *cfg = &c;
    pkc_mesh_callbacks cbs, *cb = &cbs;
    pkc_mesh_config_default(&c);
    memset(&cbs, 0, sizeof cbs);
    int rc = pkc_struct_read(&c, config, config_version, CONFIG_SIZES);
    if (rc == 0)
        rc = pkc_struct_read(&cbs, callbacks, callbacks_version, CALLBACKS_SIZES);
    if (rc)
        return rc;
    if (!callbacks || !cb->send || !self || !clock || !clock->mono_us || !clock->wall_ms || !rng ||
        !out)
        return pkc_error(PKC_ERR_INVALID_ARG, "mesh: callbacks with send, self, clock (both "
                                              "clocks), rng and out are required");
    rc = check_config(cfg);
    if (rc)
        return rc;
    pkc_mesh *m = calloc(1, sizeof *m);
    if (!m)
        return pkc_error_code(PKC_ERR_NOMEM);
    m->cfg = *cfg;
    m->cb = *cb;
    m->ud = user_data;
    pkc_peer_id_hash(pkc_identity_get_public_key(self), m->self);
    m->identity = self;
    m->clock = clock;
    m->rng = rng;
    m->sip.k0 = pkc_rng_u64(rng);
    m->sip.k1 = pkc_rng_u64(rng);
    m->now = pkc_clock_mono_us(clock);
    m->peers = calloc(MESH_MAX_KNOWN, sizeof *m->peers);
    m->passive = calloc(cfg->passive_size, sizeof *m->passive);
    pkc_buf_init(&m->out);
    pkc_buf_init(&m->body);
    for (unsigned i = 0; i < MESH_MAX_SLOTS; i++) {
        m->slots[i] = MESH_NONE;
        for (unsigned k = 0; k < MESH_ANN_KINDS; k++)
            pkc_buf_init(&m->ihave[k][i]);
    }
    if (!m->peers || !m->passive || mesh_cache_init(m) || mesh_route_init(m)) {
        pkc_mesh_free(m);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    memcpy(m->root, m->self, MESH_ID_LEN);
    m->parent = MESH_NONE;
    /* Vivaldi starts at the origin with full uncertainty. */
    m->cerr = 1.0;
    m->ch = 0.1;
    /* Spread the periodic work so that peers created together do not tick
     * together. */
    uint64_t hb = (uint64_t)cfg->heartbeat_interval_ms * 1000;
    uint64_t gi = (uint64_t)cfg->gossip_interval_ms * 1000;
    uint64_t si = (uint64_t)cfg->shuffle_interval_ms * 1000;
    m->next_heartbeat = m->now + 1 + mesh_rand_below(m, hb);
    m->next_gossip = m->now + 1 + mesh_rand_below(m, gi);
    m->next_shuffle = m->now + 1 + mesh_rand_below(m, si);
    m->next_optimize = cfg->optimize_interval_ms
                           ? m->now + (uint64_t)cfg->optimize_interval_ms * 1000 +
                                 mesh_rand_below(m, (uint64_t)cfg->optimize_interval_ms * 1000)
                           : UINT64_MAX;
    m->next_flush = UINT64_MAX;
    m->rate_at = m->now;
    m->st.average_rtt_ms = -1;
    *out = m;
    return 0;
}

void pkc_mesh_free(pkc_mesh *m)
{
    if (!m)
        return;
    free(m->peers);
    mesh_map_free(&m->peer_map);
    free(m->passive);
    mesh_cache_free(m);
    mesh_route_free(m);
    for (unsigned k = 0; k < MESH_ANN_KINDS; k++)
        for (unsigned i = 0; i < MESH_MAX_SLOTS; i++)
            pkc_buf_free(&m->ihave[k][i]);
    pkc_buf_free(&m->out);
    pkc_buf_free(&m->body);
    free(m->heap.t);
    free(m);
}

int pkc_mesh_add_peer(pkc_mesh *m, const uint8_t *peer, unsigned flags)
{
    if (!peer || memcmp(peer, m->self, MESH_ID_LEN) == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "mesh: cannot add self or NULL as a peer");
    int rc = enter(m);
    if (rc)
        return rc;
    mesh_record rec = {peer, (uint8_t)(flags & MESH_REC_DIALABLE), 0, 0, 0};
    mesh_learn_record(m, &rec, 1);
    m->need_maintain = 1;
    leave(m);
    return 0;
}

/* enter(), for a connection from `peer` with that address tag. */
static int enter_connection(pkc_mesh *m, const uint8_t *peer, const uint8_t *addr_tag,
                            size_t tag_len)
{
    if (!peer || memcmp(peer, m->self, MESH_ID_LEN) == 0 || (tag_len && !addr_tag))
        return pkc_error(PKC_ERR_INVALID_ARG, "mesh: bad peer or address tag");
    return enter(m);
}

int pkc_mesh_peer_connected(pkc_mesh *m, const uint8_t *peer, const uint8_t *addr_tag,
                            size_t tag_len)
{
    int rc = enter_connection(m, peer, addr_tag, tag_len);
    if (rc)
        return rc;
    mesh_peer *p = mesh_peer_get(m, peer);
    if (!p) {
        rc = pkc_error(PKC_ERR_REFUSED, "mesh: no room for another peer record");
    } else if (p->state == PEER_ACTIVE) {
        rc = pkc_error(PKC_ERR_EXISTS, "mesh: peer is already connected");
    } else {
        mesh_set_addr(m, p, addr_tag, tag_len);
        rc = mesh_admit(m, p, p->state != PEER_PENDING || p->stage != PEND_CONNECTING);
    }
    leave(m);
    return rc;
}

int pkc_mesh_peer_acceptable(pkc_mesh *m, const uint8_t *peer, const uint8_t *addr_tag,
                             size_t tag_len)
{
    int rc = enter_connection(m, peer, addr_tag, tag_len);
    if (rc)
        return rc;
    rc = mesh_admit_check(m, mesh_peer_find(m, peer), addr_tag, tag_len);
    m->busy = 0; /* not leave(): maintenance due waits for the next call, so no callback runs */
    return rc;
}

int pkc_mesh_peer_connect_failed(pkc_mesh *m, const uint8_t *peer)
{
    int rc = enter(m);
    if (rc)
        return rc;
    mesh_peer *p = peer ? mesh_peer_find(m, peer) : NULL;
    if (!p || p->state != PEER_PENDING)
        rc = pkc_error(PKC_ERR_NOT_FOUND, "mesh: no connection attempt with that peer");
    else
        mesh_attempt_failed(m, p, 0);
    leave(m);
    return rc;
}

int pkc_mesh_peer_disconnected(pkc_mesh *m, const uint8_t *peer)
{
    int rc = enter(m);
    if (rc)
        return rc;
    mesh_peer *p = peer ? mesh_peer_find(m, peer) : NULL;
    if (!p || p->state == PEER_KNOWN)
        rc = pkc_error(PKC_ERR_NOT_FOUND, "mesh: not connected to that peer");
    else if (p->state == PEER_PENDING)
        mesh_attempt_failed(m, p, 0);
    else
        mesh_drop(m, p, PKC_MESH_BYE_TIMEOUT, DROP_FAILED | DROP_QUIET);
    leave(m);
    return rc;
}

static int take_tokens(pkc_mesh *m, mesh_peer *p, size_t len)
{
    double dt = (double)(m->now - p->tok_at) / 1e6;
    p->tok_at = m->now;
    p->tok_msgs += dt * m->cfg.rate_msgs;
    if (p->tok_msgs > m->cfg.burst_msgs)
        p->tok_msgs = m->cfg.burst_msgs;
    p->tok_bytes += dt * m->cfg.rate_bytes;
    if (p->tok_bytes > m->cfg.burst_bytes)
        p->tok_bytes = m->cfg.burst_bytes;
    if (p->tok_msgs < 1 || p->tok_bytes < (double)len)
        return 0;
    p->tok_msgs -= 1;
    p->tok_bytes -= (double)len;
    return 1;
}

static int dispatch(pkc_mesh *m, mesh_peer *p, const mesh_msg *msg)
{
    if (msg->type < MESH_TYPE_END && type_rows[msg->type].handler)
        return type_rows[msg->type].handler(m, p, msg);
    return pkc_error(PKC_ERR_MALFORMED, "unknown mesh message type %u", msg->type);
}

int pkc_mesh_receive(pkc_mesh *m, const uint8_t *from, const uint8_t *data, size_t len)
{
    if (!from || (!data && len))
        return pkc_error(PKC_ERR_INVALID_ARG, "mesh: NULL sender or data");
    int rc = enter(m);
    if (rc)
        return rc;
    mesh_peer *p = mesh_peer_find(m, from);
    if (!p || p->state != PEER_ACTIVE) {
        rc = pkc_error(PKC_ERR_MESH_NOT_NEIGHBOR, "mesh: message from a peer that is not a "
                                                  "connected neighbour");
        goto done;
    }
    m->st.msgs_received++;
    m->st.bytes_received += len;
    p->last_rx = m->now;
    p->seen_at = m->now;
    if (!take_tokens(m, p, len)) {
        m->st.rate_limited++;
        p->behaviour += 1;
        rc = pkc_error(PKC_ERR_RATE_LIMITED, "mesh: neighbour exceeded %.0f messages/s "
                                                  "or %.0f bytes/s; message dropped",
                       m->cfg.rate_msgs, m->cfg.rate_bytes);
        goto check;
    }
    if (mesh_score(m, p) < m->cfg.score.graylist_threshold) {
        rc = pkc_error(PKC_ERR_MESH_GRAYLISTED, "mesh: neighbour is graylisted; ignored");
        goto check;
    }
    mesh_msg msg;
    rc = mesh_msg_decode(&msg, data, len);
    if (rc) {
        m->st.invalid_messages++;
        p->invalid += 1;
        pkc_error_wrap(rc, "mesh message from neighbour");
        pkc_logd("mesh", "undecodable message: %s", pkc_errmsg());
        goto check;
    }
    pkc_logt("mesh", "recv %s (%zu bytes)", mesh_type_name(msg.type), len);
    rc = dispatch(m, p, &msg);
check:
    if (rc)
        m->st.errors++;
    mesh_score_check(m, p);
done:
    leave(m);
    return rc;
}

static int timer_valid(pkc_mesh *m, const mesh_timer *t)
{
    switch (t->kind) {
    case MESH_T_PEER:
        return t->idx < MESH_MAX_KNOWN && m->peers[t->idx].used && m->peers[t->idx].gen == t->gen;
    case MESH_T_MISSING:
        return t->idx < m->missing_cap && m->missing[t->idx].used &&
               m->missing[t->idx].gen == t->gen;
    case MESH_T_AWAIT:
        return t->idx < m->ring_cap && (uint32_t)m->ring[t->idx].seq == t->gen &&
               (m->ring[t->idx].flags & ENT_AWAIT);
    case MESH_T_DISC:
        return t->idx < MESH_DISCOVERIES && m->disc[t->idx].used &&
               m->disc[t->idx].gen == t->gen;
    case MESH_T_PROBE:
        return t->idx < MESH_MAX_KNOWN && m->peers[t->idx].state == PEER_ACTIVE &&
               m->peers[t->idx].t_probe_at == t->at;
    case MESH_T_SEQ:
        return m->seq_due == t->at;
    }
    return 0;
}

static void drop_stale_timers(pkc_mesh *m)
{
    while (m->heap.len && !timer_valid(m, &m->heap.t[0]))
        mesh_heap_pop(&m->heap);
}

static void gossip_round(pkc_mesh *m)
{
    mesh_score_decay(m);
    mesh_cache_expire(m);
    mesh_route_expire(m);
    mesh_antientropy(m, UINT32_MAX);
    /* Shuffle more often while short of neighbours or of candidates. */
    if (m->n_active && (m->n_active < m->cfg.target_peers || 2 * m->n_passive < m->cfg.passive_size))
        mesh_shuffle_start(m);
    /* Rates over the interval just ended. */
    double dt = (double)(m->now - m->rate_at) / 1e6;
    uint64_t msgs = m->st.msgs_sent + m->st.msgs_received;
    uint64_t bytes = m->st.bytes_sent + m->st.bytes_received;
    if (dt > 0) {
        m->st.messages_per_second = (double)(msgs - m->rate_msgs) / dt;
        m->st.bytes_per_second = (double)(bytes - m->rate_bytes) / dt;
    }
    m->rate_at = m->now;
    m->rate_msgs = msgs;
    m->rate_bytes = bytes;
}

int pkc_mesh_tick(pkc_mesh *m)
{
    int rc = enter(m);
    if (rc)
        return rc;
    uint64_t now = m->now;
    if (m->next_flush <= now) {
        m->next_flush = UINT64_MAX;
        mesh_flush(m);
    }
    if (m->next_heartbeat <= now) {
        m->next_heartbeat = now + (uint64_t)m->cfg.heartbeat_interval_ms * 1000;
        mesh_heartbeat(m);
    }
    if (m->next_gossip <= now) {
        m->next_gossip = now + (uint64_t)m->cfg.gossip_interval_ms * 1000;
        gossip_round(m);
    }
    if (m->next_shuffle <= now) {
        m->next_shuffle = now + (uint64_t)m->cfg.shuffle_interval_ms * 1000;
        mesh_shuffle_start(m);
    }
    if (m->next_optimize <= now) {
        m->next_optimize = now + (uint64_t)m->cfg.optimize_interval_ms * 1000;
        mesh_optimize(m);
    }
    /* Timers added while running these are due later than `now` or run in
     * this loop; bound the loop anyway. */
    for (size_t budget = m->heap.len + 64; budget && m->heap.len; budget--) {
        mesh_timer t = m->heap.t[0];
        if (t.at > now)
            break;
        mesh_heap_pop(&m->heap);
        if (!timer_valid(m, &t))
            continue;
        switch (t.kind) {
        case MESH_T_PEER:
            mesh_peer_timer(m, &m->peers[t.idx]);
            break;
        case MESH_T_MISSING:
            mesh_missing_timer(m, t.idx, t.gen);
            break;
        case MESH_T_AWAIT:
            mesh_await_timer(m, t.idx, t.gen);
            break;
        case MESH_T_DISC:
            mesh_disc_timer(m, t.idx, t.gen);
            break;
        case MESH_T_PROBE:
            mesh_tree_probe_timer(m, &m->peers[t.idx]);
            break;
        case MESH_T_SEQ:
            mesh_tree_seq_timer(m);
            break;
        }
    }
    if (m->next_flush <= now) {
        m->next_flush = UINT64_MAX;
        mesh_flush(m);
    }
    leave(m);
    return 0;
}

uint64_t pkc_mesh_get_deadline(pkc_mesh *m)
{
    drop_stale_timers(m);
    uint64_t d = m->next_heartbeat;
    if (m->next_gossip < d)
        d = m->next_gossip;
    if (m->next_shuffle < d)
        d = m->next_shuffle;
    if (m->next_optimize < d)
        d = m->next_optimize;
    if (m->next_flush < d)
        d = m->next_flush;
    if (m->heap.len && m->heap.t[0].at < d)
        d = m->heap.t[0].at;
    return d;
}

int pkc_mesh_publish(pkc_mesh *m, const uint8_t *id, size_t id_len, const uint8_t *payload,
                     size_t len)
{
    if (!id || id_len == 0 || id_len > MESH_MSGID_MAX || (!payload && len))
        return pkc_error(PKC_ERR_INVALID_ARG, "mesh: message id must be 1..%d bytes",
                         MESH_MSGID_MAX);
    if (len > m->cfg.max_payload)
        return pkc_error(PKC_ERR_TOO_LARGE, "mesh: payload of %zu bytes exceeds max_payload %zu",
                         len, m->cfg.max_payload);
    int rc = enter(m);
    if (rc)
        return rc;
    rc = mesh_publish_local(m, id, id_len, payload, len);
    leave(m);
    return rc;
}

int pkc_mesh_send(pkc_mesh *m, const uint8_t *to, const uint8_t *data, size_t len)
{
    if (!to || (!data && len) || memcmp(to, m->self, MESH_ID_LEN) == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "mesh: bad destination");
    if (len > m->cfg.max_payload)
        return pkc_error(PKC_ERR_TOO_LARGE, "mesh: payload of %zu bytes exceeds max_payload %zu",
                         len, m->cfg.max_payload);
    int rc = enter(m);
    if (rc)
        return rc;
    rc = mesh_route_send(m, to, MESH_RK_DIRECT, data, len);
    leave(m);
    return rc;
}

int pkc_mesh_signal(pkc_mesh *m, const uint8_t *to, const uint8_t *data, size_t len)
{
    if (!to || (!data && len))
        return pkc_error(PKC_ERR_INVALID_ARG, "mesh: bad destination");
    if (len > m->cfg.max_payload)
        return pkc_error(PKC_ERR_TOO_LARGE, "mesh: signal of %zu bytes exceeds max_payload %zu",
                         len, m->cfg.max_payload);
    int rc = enter(m);
    if (rc)
        return rc;
    mesh_peer *p = mesh_peer_find(m, to);
    if (!p || p->state != PEER_PENDING || p->stage != PEND_CONNECTING || p->dialing) {
        rc = pkc_error(PKC_ERR_NOT_FOUND, "mesh: no connection is being set up with that peer");
    } else {
        mesh_route_body rb = {.kind = MESH_RK_SIGNAL};
        rb.u.signal.op = MESH_SIG_DATA;
        rb.u.signal.nonce = p->nonce;
        rb.u.signal.data = data;
        rb.u.signal.len = len;
        rc = mesh_signal_send(m, to, &rb);
        if (!rc)
            m->st.signals_sent++;
    }
    leave(m);
    return rc;
}

int pkc_mesh_set_app_score(pkc_mesh *m, const uint8_t *peer, double value)
{
    if (!peer || !isfinite(value))
        return pkc_error(PKC_ERR_INVALID_ARG, "mesh: bad peer or score");
    int rc = enter(m);
    if (rc)
        return rc;
    mesh_peer *p = mesh_peer_get(m, peer);
    if (!p)
        rc = pkc_error(PKC_ERR_NOMEM, "mesh: no room for another peer record");
    else {
        p->app_score = value;
        mesh_score_check(m, p);
    }
    leave(m);
    return rc;
}

int pkc_mesh_get_peer_score(pkc_mesh *m, const uint8_t *peer, double *score)
{
    mesh_peer *p = peer ? mesh_peer_find(m, peer) : NULL;
    if (!p)
        return pkc_error(PKC_ERR_NOT_FOUND, "mesh: unknown peer");
    uint64_t now = pkc_clock_mono_us(m->clock);
    if (now > m->now)
        m->now = now;
    *score = mesh_score(m, p);
    return 0;
}

int pkc_mesh_leave(pkc_mesh *m)
{
    int rc = enter(m);
    if (rc)
        return rc;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++)
        if (m->slots[s] != MESH_NONE)
            mesh_drop(m, &m->peers[m->slots[s]], PKC_MESH_BYE_LEAVING, DROP_BYE);
    for (unsigned i = 0; i < MESH_MAX_KNOWN; i++)
        if (m->peers[i].used && m->peers[i].state == PEER_PENDING)
            mesh_attempt_failed(m, &m->peers[i], 0);
    m->stopped = 1;
    m->need_maintain = 0;
    m->busy = 0;
    return 0;
}

void pkc_mesh_get_stats_versioned(pkc_mesh *m, int stats_version, pkc_mesh_stats *to)
{
    pkc_mesh_stats st = m->st, *out = &st;
    out->connected_peers = m->n_active;
    out->pending_connections = m->n_pending;
    out->passive_peers = m->n_passive;
    out->known_peers = mesh_known_count(m);
    double sum = 0;
    unsigned n = 0;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        if (m->slots[s] == MESH_NONE)
            continue;
        const mesh_peer *p = &m->peers[m->slots[s]];
        if (p->rtt_ms >= 0) {
            sum += p->rtt_ms;
            n++;
        }
    }
    out->average_rtt_ms = n ? sum / n : -1;
    pkc_struct_write(to, out, stats_version, STATS_SIZES);
}

size_t pkc_mesh_get_peers_versioned(pkc_mesh *m, int info_version, pkc_mesh_peer_info *out,
                                    size_t max)
{
    const pkc_struct_sizes sizes = PEER_INFO_SIZES;
    if (pkc_struct_check(info_version, sizes))
        return 0; /* the size of the caller's elements is unknown: nothing written */
    size_t n = 0;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        if (m->slots[s] == MESH_NONE)
            continue;
        const mesh_peer *p = &m->peers[m->slots[s]];
        if (n < max) {
            pkc_mesh_peer_info info, *i = &info;
            memset(i, 0, sizeof *i);
            memcpy(i->id, p->id, MESH_ID_LEN);
            i->score = mesh_score(m, p);
            i->rtt_ms = p->rtt_ms;
            i->connected_us = p->connected_at;
            i->eager = mesh_eager(m, p);
            i->outbound = p->outbound;
            /* elements of the caller's version's size */
            pkc_struct_write((char *)out + n * sizes.sizes[info_version], i, info_version, sizes);
        }
        n++;
    }
    return n;
}
