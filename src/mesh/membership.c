/*
 * membership.c: who we are connected to, and why.
 *
 * HyParView's two views: the active view (connected neighbours, at most
 * max_peers together with attempts under way) and the passive view (peers we
 * know and may connect to). JOIN, FORWARD_JOIN random walks, SHUFFLE random
 * walks, neighbour requests (REQUEST with a priority, relayed over the mesh as
 * signaling) and repair from the passive view when a neighbour is lost. On
 * top: liveness (PING/PONG every heartbeat, silence = failure), reconnection
 * with exponential back-off, Vivaldi network coordinates (carried in PING/PONG
 * and peer records) and topology optimisation that replaces the slowest link
 * by a closer peer while keeping random links.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/mesh_int.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"

/* Request priorities: LOW is accepted if there is room, HIGH makes room (the
 * requester has no neighbour), OPTIMIZE makes room by giving up a neighbour
 * much farther away than the requester (the topology optimisation). */
enum { PRIO_LOW = 0, PRIO_HIGH = 1, PRIO_OPTIMIZE = 2 };
enum {
    REFUSE_FULL = 1, REFUSE_SCORE = 2, REFUSE_DUPLICATE = 3, REFUSE_STOPPED = 4,
    REFUSE_CONNECTED = 5, /* we have a live link to the requester already */
};
enum { PASSIVE_NO = 0, PASSIVE_IF_ROOM = 1, PASSIVE_REPLACE = 2 };

/* ---- peer records ----------------------------------------------------------- */

struct id_key {
    const pkc_mesh *m;
    const uint8_t *id;
};

static int peer_eq(const void *ctx, uint32_t idx)
{
    const struct id_key *k = ctx;
    return memcmp(k->m->peers[idx].id, k->id, MESH_ID_LEN) == 0;
}

mesh_peer *mesh_peer_find(pkc_mesh *m, const uint8_t *id)
{
    struct id_key k = {m, id};
    uint32_t i = mesh_map_find(&m->peer_map, mesh_siphash(&m->sip, id, MESH_ID_LEN), peer_eq, &k);
    return i == MESH_NONE ? NULL : &m->peers[i];
}

mesh_peer *mesh_slot_peer(pkc_mesh *m, unsigned slot)
{
    return m->slots[slot] == MESH_NONE ? NULL : &m->peers[m->slots[slot]];
}

static void peer_free(pkc_mesh *m, mesh_peer *p)
{
    if (p->in_passive)
        mesh_remove_passive(m, p);
    mesh_map_del(&m->peer_map, p->hkey, mesh_peer_idx(m, p));
    memset(p, 0, sizeof *p);
    m->n_peers--;
}

/* A record to reuse when all are taken: the one heard of longest ago that is
 * not connected, not being connected, not in the passive view and not touched
 * during this call. Banned peers go last: forgetting them lifts the ban. */
static mesh_peer *evictable(pkc_mesh *m)
{
    mesh_peer *best = NULL;
    for (unsigned i = 0; i < MESH_MAX_KNOWN; i++) {
        mesh_peer *p = &m->peers[i];
        if (!p->used || p->state != PEER_KNOWN || p->in_passive || p->seen_at >= m->now)
            continue;
        int banned = p->banned_until > m->now;
        if (!best) {
            best = p;
            continue;
        }
        int best_banned = best->banned_until > m->now;
        if (banned != best_banned ? !banned : p->seen_at < best->seen_at)
            best = p;
    }
    return best;
}

mesh_peer *mesh_peer_get(pkc_mesh *m, const uint8_t *id)
{
    mesh_peer *p = mesh_peer_find(m, id);
    if (p)
        return p;
    if (memcmp(id, m->self, MESH_ID_LEN) == 0)
        return NULL;
    if (m->n_peers == MESH_MAX_KNOWN) {
        p = evictable(m);
        if (!p)
            return NULL;
        peer_free(m, p);
    } else {
        for (unsigned i = 0; i < MESH_MAX_KNOWN; i++)
            if (!m->peers[i].used) {
                p = &m->peers[i];
                break;
            }
    }
    uint64_t h = mesh_siphash(&m->sip, id, MESH_ID_LEN);
    if (mesh_map_put(&m->peer_map, h, mesh_peer_idx(m, p)))
        return NULL;
    memset(p, 0, sizeof *p);
    memcpy(p->id, id, MESH_ID_LEN);
    p->hkey = h;
    p->used = 1;
    p->slot = -1;
    p->rtt_ms = -1;
    p->seen_at = m->now;
    /* Kept across reconnections: reconnecting does not refill it. */
    p->graft_tokens = MESH_GRAFT_BURST;
    p->graft_at = m->now;
    m->n_peers++;
    return p;
}

static void peer_timer_at(pkc_mesh *m, mesh_peer *p, uint64_t at)
{
    p->gen++;
    p->deadline = at;
    if (at)
        mesh_timer_add(m, MESH_T_PEER, mesh_peer_idx(m, p), p->gen, at);
}

static uint64_t backoff_us(pkc_mesh *m, unsigned fails)
{
    uint64_t ms = m->cfg.reconnect_backoff_ms;
    for (unsigned i = 1; i < fails && ms < m->cfg.reconnect_backoff_max_ms; i++)
        ms *= 2;
    if (ms > m->cfg.reconnect_backoff_max_ms)
        ms = m->cfg.reconnect_backoff_max_ms;
    /* +-25% jitter so that peers that failed together do not retry together. */
    uint64_t us = ms * 1000;
    return us - us / 4 + mesh_rand_below(m, us / 2 + 1);
}

static int banned(pkc_mesh *m, const mesh_peer *p)
{
    return p->banned_until > m->now || mesh_score(m, p) < m->cfg.score.accept_threshold;
}

/* ---- passive view ------------------------------------------------------------- */

int mesh_remove_passive(pkc_mesh *m, mesh_peer *p)
{
    if (!p->in_passive)
        return 0;
    uint32_t idx = mesh_peer_idx(m, p);
    for (unsigned i = 0; i < m->n_passive; i++)
        if (m->passive[i] == idx) {
            m->passive[i] = m->passive[--m->n_passive];
            break;
        }
    p->in_passive = 0;
    return 1;
}

static void add_passive(pkc_mesh *m, mesh_peer *p, int mode)
{
    if (mode == PASSIVE_NO || p->in_passive || p->state != PEER_KNOWN ||
        p->banned_until > m->now)
        return;
    if (m->n_passive == m->cfg.passive_size) {
        if (mode != PASSIVE_REPLACE)
            return;
        /* HyParView: a random entry makes room, but never one we are
         * currently retrying. */
        unsigned i = (unsigned)mesh_rand_below(m, m->n_passive);
        mesh_peer *old = &m->peers[m->passive[i]];
        if (old->fail_count)
            return;
        old->in_passive = 0;
        m->passive[i] = m->passive[--m->n_passive];
    }
    m->passive[m->n_passive++] = mesh_peer_idx(m, p);
    p->in_passive = 1;
}

/* An estimate of the mesh size: the peers in our views, or those we know a
 * route to (neighbours of neighbours, peers on walks), whichever is more. */
unsigned mesh_known_count(pkc_mesh *m)
{
    unsigned views = m->n_active + m->n_pending + m->n_passive;
    unsigned routed = mesh_map_count(&m->route_map); /* may include neighbours: not added */
    return (views > routed ? views : routed) + 1;
}

static int full_mesh(pkc_mesh *m)
{
    return mesh_known_count(m) < m->cfg.full_mesh_below;
}

/* ---- records and coordinates ----------------------------------------------------- */

void mesh_self_record(pkc_mesh *m, mesh_record *rec)
{
    rec->id = m->self;
    rec->flags = (uint8_t)((m->cfg.dialable ? MESH_REC_DIALABLE : 0) | MESH_REC_COORD);
    rec->x = llround(m->cx * 10);
    rec->y = llround(m->cy * 10);
    rec->h = (uint64_t)llround(m->ch * 10);
}

static void peer_record(const mesh_peer *p, mesh_record *rec)
{
    rec->id = p->id;
    rec->flags = (uint8_t)((p->flags & MESH_REC_DIALABLE) | (p->has_coord ? MESH_REC_COORD : 0) |
                           (p->state == PEER_ACTIVE ? MESH_REC_NEIGHBOR : 0));
    rec->x = llround(p->cx * 10);
    rec->y = llround(p->cy * 10);
    rec->h = (uint64_t)llround(p->ch * 10);
}

static void set_coord(mesh_peer *p, int64_t x, int64_t y, uint64_t h)
{
    p->has_coord = 1;
    p->cx = (double)x / 10;
    p->cy = (double)y / 10;
    p->ch = (double)h / 10;
}

/* Learns a peer from a record. `via` (may be NULL) sent the record: when the
 * record says it is via's neighbour, via is remembered as a waypoint for
 * reaching the peer through the mesh. */
static void learn_via(pkc_mesh *m, const mesh_record *rec, int mode, const uint8_t *via)
{
    if (!rec->id || memcmp(rec->id, m->self, MESH_ID_LEN) == 0)
        return;
    mesh_peer *p = mesh_peer_get(m, rec->id);
    if (!p)
        return;
    if (via && (rec->flags & MESH_REC_NEIGHBOR) && memcmp(via, p->id, MESH_ID_LEN) != 0 &&
        memcmp(via, m->self, MESH_ID_LEN) != 0) {
        memcpy(p->via, via, MESH_ID_LEN);
        p->via_ok = 1;
    }
    p->flags = rec->flags & MESH_REC_DIALABLE;
    if (rec->flags & MESH_REC_COORD)
        set_coord(p, rec->x, rec->y, rec->h);
    if (p->seen_at < m->now)
        p->seen_at = m->now;
    add_passive(m, p, mode);
}

static void learn(pkc_mesh *m, const mesh_record *rec, int mode)
{
    learn_via(m, rec, mode, NULL);
}

void mesh_learn_record(pkc_mesh *m, const mesh_record *rec, int to_passive)
{
    learn(m, rec, to_passive ? PASSIVE_REPLACE : PASSIVE_NO);
}

static double predicted_rtt(const pkc_mesh *m, const mesh_peer *p)
{
    double dx = m->cx - p->cx, dy = m->cy - p->cy;
    return sqrt(dx * dx + dy * dy) + m->ch + p->ch;
}

/* One Vivaldi step (Dabek et al. 2004) with heights, from an RTT sample to a
 * peer at (rx, ry, rh) whose error estimate is rerr. */
static void vivaldi(pkc_mesh *m, double rtt, double rx, double ry, double rh, double rerr)
{
    const double ce = 0.25, cc = 0.25;
    if (rtt <= 0)
        return;
    if (rerr < 0.01)
        rerr = 0.01;
    double dx = m->cx - rx, dy = m->cy - ry;
    double plane = sqrt(dx * dx + dy * dy);
    double dist = plane + m->ch + rh;
    double w = m->cerr / (m->cerr + rerr);
    double es = fabs(dist - rtt) / rtt;
    m->cerr = es * ce * w + m->cerr * (1 - ce * w);
    if (m->cerr > 1)
        m->cerr = 1;
    if (m->cerr < 0.01)
        m->cerr = 0.01;
    double force = cc * w * (rtt - dist);
    double ux, uy;
    if (plane > 1e-6) {
        ux = dx / plane;
        uy = dy / plane;
    } else {
        double a = pkc_rng_unit(m->rng) * 6.283185307179586;
        ux = cos(a);
        uy = sin(a);
    }
    m->cx += force * ux;
    m->cy += force * uy;
    if (dist > 1e-6)
        m->ch += force * (m->ch + rh) / dist;
    if (m->ch < 0.1)
        m->ch = 0.1;
    const double lim = MESH_COORD_MAX / 10.0;
    if (m->cx > lim || m->cx < -lim || m->cy > lim || m->cy < -lim || m->ch > lim) {
        m->cx = m->cy = 0; /* nonsense from a peer: start over */
        m->ch = 0.1;
        m->cerr = 1;
    }
}

/* ---- sending helpers ---------------------------------------------------------------- */

static mesh_peer *random_active(pkc_mesh *m, const mesh_path *exclude, const mesh_peer *also)
{
    mesh_peer *pick = NULL;
    unsigned seen = 0;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (!p || p == also)
            continue;
        int skip = 0;
        for (size_t i = 0; exclude && i < exclude->len; i++)
            if (memcmp(exclude->ids + i * MESH_ID_LEN, p->id, MESH_ID_LEN) == 0)
                skip = 1;
        if (skip)
            continue;
        /* Reservoir sampling: uniform over the eligible neighbours. */
        if (mesh_rand_below(m, ++seen) == 0)
            pick = p;
    }
    return pick;
}


static void send_signal(pkc_mesh *m, const uint8_t *to, uint8_t op, uint64_t nonce,
                        uint8_t extra)
{
    mesh_route_body rb;
    memset(&rb, 0, sizeof rb);
    rb.kind = MESH_RK_SIGNAL;
    rb.u.signal.op = op;
    rb.u.signal.nonce = nonce;
    if (op == MESH_SIG_REQUEST) {
        rb.u.signal.prio = extra;
        mesh_self_record(m, &rb.u.signal.rec);
    } else if (op == MESH_SIG_REFUSE) {
        rb.u.signal.reason = extra;
        /* Peer exchange: neighbours that advertised room. */
        for (unsigned s = 0; s < MESH_MAX_SLOTS && rb.u.signal.count < MESH_PX_MAX; s++) {
            mesh_peer *q = mesh_slot_peer(m, s);
            if (q && q->nbr_count && q->nbr_count < m->cfg.max_peers &&
                memcmp(q->id, to, MESH_ID_LEN) != 0)
                peer_record(q, &rb.u.signal.rec_px[rb.u.signal.count++]);
        }
    }
    (void)mesh_signal_send(m, to, &rb);
}

void mesh_send_neighbors(pkc_mesh *m, mesh_peer *to)
{
    mesh_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = MESH_NEIGHBORS;
    for (unsigned s = 0; s < MESH_MAX_SLOTS && msg.u.neighbors.count < MESH_RECORDS_MAX; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (p && p != to)
            peer_record(p, &msg.u.neighbors.rec[msg.u.neighbors.count++]);
    }
    mesh_send_msg(m, to, &msg);
}

/* ---- connection attempts --------------------------------------------------------------- */

static void emit_connect(pkc_mesh *m, mesh_peer *p, pkc_mesh_connect_mode mode)
{
    if (m->cb.connect)
        m->cb.connect(m->ud, p->id, mode);
}

static void emit_disconnect(pkc_mesh *m, mesh_peer *p, pkc_mesh_disconnect_reason why)
{
    if (m->cb.disconnect)
        m->cb.disconnect(m->ud, p->id, why);
}

static int start_attempt(pkc_mesh *m, mesh_peer *p, uint8_t why, uint8_t prio)
{
    if (m->stopped || p->state != PEER_KNOWN || m->n_active + m->n_pending >= m->cfg.max_peers)
        return -1;
    /* An isolated peer tries one peer at a time: a burst of dials would make
     * several dialable peers each give up a neighbour for it. */
    if (m->n_active == 0 && m->n_pending > 0)
        return -1;
    /* Dial (no signaling) when isolated, or to restore a lost link to a
     * dialable peer: that is how a healed partition finds its other side.
     * Otherwise ask through the mesh, so that dialable peers are not
     * preferred by everyone. */
    int dial = (p->flags & MESH_REC_DIALABLE) &&
               (m->n_active == 0 || why == WHY_RETRY || !mesh_route_reachable(m, p));
    if (!dial && (m->n_active == 0 || m->now < p->no_route_until))
        return -1;
    /* A route discovery floods the neighbourhood: retries of lost links
     * (often to peers that crashed) go only where a route is known. */
    if (!dial && why == WHY_RETRY && !mesh_route_reachable(m, p))
        return -1;
    p->state = PEER_PENDING;
    p->why = why;
    p->prio = prio;
    p->outbound = 1;
    p->dialing = (uint8_t)dial;
    p->nonce = pkc_rng_u64(m->rng);
    p->seen_at = m->now;
    m->n_pending++;
    m->st.connect_attempts++;
    peer_timer_at(m, p, m->now + (uint64_t)m->cfg.connect_timeout_ms * 1000);
    if (dial) {
        pkc_logd("mesh", "dialing a dialable peer (why %u)", why);
        p->stage = PEND_CONNECTING;
        emit_connect(m, p, PKC_MESH_CONNECT_DIAL);
    } else {
        pkc_logd("mesh", "requesting a connection (why %u, prio %u)", why, prio);
        p->stage = PEND_REQUESTED;
        send_signal(m, p->id, MESH_SIG_REQUEST, p->nonce, prio);
    }
    return 0;
}

static void clear_optimize_marks(pkc_mesh *m)
{
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *q = mesh_slot_peer(m, s);
        if (q && q->to_replace && mesh_score(m, q) >= 0)
            q->to_replace = 0;
    }
}

/* Ends a pending attempt without a connection. */
static void end_attempt(pkc_mesh *m, mesh_peer *p, int cancel_remote)
{
    if (p->state != PEER_PENDING)
        return;
    if (p->stage == PEND_CONNECTING)
        emit_disconnect(m, p, PKC_MESH_BYE_CANCELLED);
    if (cancel_remote && !p->dialing)
        send_signal(m, p->id, MESH_SIG_CANCEL, p->nonce, 0);
    if (p->why == WHY_OPTIMIZE)
        clear_optimize_marks(m);
    /* A restoration that did not happen is still owed: another candidate. */
    if (p->why == WHY_RESTORE && p->outbound && m->out_owed < m->cfg.max_peers)
        m->out_owed++;
    p->state = PEER_KNOWN;
    p->stage = 0;
    p->dialing = 0;
    m->n_pending--;
    peer_timer_at(m, p, 0);
    m->need_maintain = 1;
}

void mesh_attempt_failed(pkc_mesh *m, mesh_peer *p, int no_route)
{
    if (p->state != PEER_PENDING)
        return;
    int was_out = p->outbound;
    end_attempt(m, p, !no_route);
    if (no_route)
        p->no_route_until = m->now + (uint64_t)m->cfg.route_timeout_ms * 2000;
    if (!was_out)
        return; /* the side that asked retries */
    p->fail_count++;
    if (p->fail_count > m->cfg.reconnect_attempts) {
        mesh_remove_passive(m, p);
        p->fail_count = 0;
        p->failed_before = 0;
        return;
    }
    add_passive(m, p, PASSIVE_REPLACE);
    peer_timer_at(m, p, m->now + backoff_us(m, p->fail_count));
}

void mesh_route_failed_for(pkc_mesh *m, const uint8_t *target)
{
    mesh_peer *p = mesh_peer_find(m, target);
    if (p)
        p->via_ok = 0;
    if (p && p->state == PEER_PENDING && p->stage == PEND_REQUESTED)
        mesh_attempt_failed(m, p, 1);
}

/* ---- admission and removal ---------------------------------------------------------------- */

static int free_slot(pkc_mesh *m)
{
    for (unsigned s = 0; s < m->cfg.max_peers; s++)
        if (m->slots[s] == MESH_NONE)
            return (int)s;
    return -1;
}

void mesh_set_addr(pkc_mesh *m, mesh_peer *p, const uint8_t *addr, size_t len)
{
    p->has_tag = addr != NULL;
    p->addr_tag = p->prefix_tag = 0;
    if (!addr)
        return;
    p->addr_tag = mesh_siphash(&m->sip, addr, len);
    if (len != 4 && len != 16) {
        p->prefix_tag = p->addr_tag;
        return;
    }
    uint8_t pre[9]; /* the length first: an IPv4 /24 never equals an IPv6 /64 */
    size_t plen = len == 4 ? 3 : 8;
    pre[0] = (uint8_t)len;
    memcpy(pre + 1, addr, plen);
    p->prefix_tag = mesh_siphash(&m->sip, pre, plen + 1);
}

/* Slots kept for connections this peer chose itself (outbound): inbound
 * connections, which anyone can open, never hold more than the rest. */
static unsigned out_reserved(const pkc_mesh *m)
{
    return m->cfg.max_peers >= 4 ? MESH_OUT_RESERVED : 0;
}

/* Connections by direction, established and under way. */
static void count_dirs(const pkc_mesh *m, unsigned *in, unsigned *out)
{
    *in = *out = 0;
    for (unsigned i = 0; i < MESH_MAX_KNOWN; i++) {
        const mesh_peer *p = &m->peers[i];
        if (p->used && p->state != PEER_KNOWN)
            ++*(p->outbound ? out : in);
    }
}

/* Inbound neighbours other than `self` in p's address prefix (`p` is
 * `self`, or a copy of it). */
static unsigned prefix_inbound_of(pkc_mesh *m, const mesh_peer *p, const mesh_peer *self)
{
    unsigned n = 0;
    for (unsigned s = 0; p->has_tag && s < MESH_MAX_SLOTS; s++) {
        const mesh_peer *q = mesh_slot_peer(m, s);
        n += q && q != self && !q->outbound && q->has_tag && q->prefix_tag == p->prefix_tag;
    }
    return n;
}

/* Inbound neighbours other than `p` in p's address prefix. */
static unsigned prefix_inbound(pkc_mesh *m, const mesh_peer *p)
{
    return prefix_inbound_of(m, p, p);
}

static double age_key(const mesh_peer *p)
{
    return -(double)p->connected_at;
}

static double useful_key(const mesh_peer *p)
{
    return p->first_deliveries;
}

/* Is inbound neighbour `p` among the `k` inbound neighbours that rank
 * highest by `key` (ties: the lower record index)? */
static int in_top(pkc_mesh *m, const mesh_peer *p, double (*key)(const mesh_peer *), unsigned k)
{
    unsigned above = 0;
    double kp = key(p);
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        const mesh_peer *q = mesh_slot_peer(m, s);
        if (!q || q == p || q->outbound)
            continue;
        double kq = key(q);
        above += kq > kp || (kq == kp && q < p);
    }
    return above < k;
}

/* The neighbour to give up for an inbound connection from `newcomer` (NULL
 * while its address is unknown). Only inbound neighbours: the slots of the
 * connections we chose stay ours. First one marked for replacement or
 * scoring below zero; else, leaving aside the MESH_PROTECT_OLDEST
 * longest-connected ones and the MESH_PROTECT_USEFUL that delivered the most
 * messages first, one from the address prefix with the most inbound
 * neighbours (the newcomer included), then the one that claims the most
 * neighbours (it loses least; a claim only ever makes a peer more
 * evictable), then the youngest. NULL if every inbound neighbour is
 * protected. */
static mesh_peer *victim(pkc_mesh *m, const mesh_peer *newcomer)
{
    mesh_peer *best = NULL;
    double best_key[3] = {0, 0, 0};
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (!p || p->outbound)
            continue;
        double sc = mesh_score(m, p);
        int bad = p->to_replace || sc < 0;
        if (!bad && (in_top(m, p, age_key, MESH_PROTECT_OLDEST) ||
                     (p->first_deliveries > 0 && in_top(m, p, useful_key, MESH_PROTECT_USEFUL))))
            continue;
        unsigned crowd = 1 + prefix_inbound(m, p);
        if (newcomer && newcomer != p && newcomer->has_tag && p->has_tag &&
            newcomer->prefix_tag == p->prefix_tag)
            crowd++;
        double key[3] = {bad ? 1e9 - sc : (double)crowd, (double)p->nbr_count,
                         (double)p->connected_at};
        int better = !best;
        for (int i = 0; i < 3 && !better; i++) {
            if (key[i] != best_key[i]) {
                better = key[i] > best_key[i];
                break;
            }
        }
        if (better) {
            best = p;
            memcpy(best_key, key, sizeof key);
        }
    }
    return best;
}

/* Room for one more inbound connection: a free slot within the inbound
 * share (max_peers less out_reserved()), else one of our own attempts above
 * that reserve given up (it was speculative; never one restoring an
 * outbound link, see mesh_maintain()), else, if `evict`, an inbound
 * neighbour given up (victim()). Changes nothing: returns 1 if there is
 * room, with the attempt to give up in *cancel or the neighbour in *evicted
 * (NULL when a slot is free). `skip`, if not NULL, is a pending attempt
 * counted as given up already (the newcomer's own). */
static int inbound_room_plan(pkc_mesh *m, int evict, const mesh_peer *newcomer,
                             const mesh_peer *skip, mesh_peer **cancel, mesh_peer **evicted)
{
    *cancel = *evicted = NULL;
    unsigned in, out;
    count_dirs(m, &in, &out);
    if (skip && skip->state != PEER_KNOWN)
        --*(skip->outbound ? &out : &in);
    unsigned in_max = m->cfg.max_peers - out_reserved(m);
    if (in < in_max && in + out < m->cfg.max_peers)
        return 1;
    if (in < in_max && out > out_reserved(m)) {
        mesh_peer *c = NULL;
        for (unsigned i = 0; i < MESH_MAX_KNOWN; i++) {
            mesh_peer *q = &m->peers[i];
            if (q != skip && q->used && q->state == PEER_PENDING && q->outbound &&
                q->why != WHY_RESTORE &&
                (!c || (q->stage == PEND_REQUESTED && c->stage != PEND_REQUESTED)))
                c = q;
        }
        if (c) {
            *cancel = c;
            return 1;
        }
    }
    *evicted = evict ? victim(m, newcomer) : NULL;
    return *evicted != NULL;
}

/* inbound_room_plan(), then done. */
static int inbound_room(pkc_mesh *m, int evict, const mesh_peer *newcomer)
{
    mesh_peer *cancel, *v;
    if (!inbound_room_plan(m, evict, newcomer, NULL, &cancel, &v))
        return 0;
    if (cancel) {
        end_attempt(m, cancel, 1);
    } else if (v) {
        pkc_logd("mesh", "giving up an inbound neighbour for another");
        mesh_drop(m, v, PKC_MESH_BYE_REPLACED, DROP_BYE);
    }
    return 1;
}

/* The refusals of an unsolicited connection that depend on the peer alone
 * (leaving, banned, score): 0 or the error. */
static int refuse_unsolicited(pkc_mesh *m, const mesh_peer *p)
{
    if (m->stopped)
        return pkc_error(PKC_ERR_REFUSED, "mesh: leaving; connection refused");
    if (p->banned_until > m->now)
        return pkc_error(PKC_ERR_REFUSED,
                         "mesh: peer banned for %llu s more (its score fell below the "
                         "disconnect threshold; now %.1f); connection refused",
                         (unsigned long long)((p->banned_until - m->now + 999999) / 1000000),
                         mesh_score(m, p));
    if (banned(m, p))
        return pkc_error(PKC_ERR_REFUSED, "mesh: peer's score %.1f is below the "
                                          "accept threshold; connection refused",
                         mesh_score(m, p));
    return 0;
}

/* An inbound connection refused for want of room (or a crowded prefix):
 * for a while, outbound links lost are restored rather than left to inbound
 * ones (mesh_on_disconnect()). */
static void note_in_pressure(pkc_mesh *m)
{
    m->in_pressure_until = m->now + MESH_IN_PRESSURE_MS * 1000;
}

static int refuse_prefix(void)
{
    return pkc_error(PKC_ERR_REFUSED, "mesh: %d inbound neighbours from that address "
                                      "prefix already; connection refused",
                     MESH_IN_PER_PREFIX);
}

static int refuse_no_room(void)
{
    return pkc_error(PKC_ERR_REFUSED, "mesh: no inbound slot can be freed; "
                                      "connection refused");
}

int mesh_admit_check(pkc_mesh *m, const mesh_peer *rec, const uint8_t *addr, size_t len)
{
    if (rec && rec->state == PEER_ACTIVE)
        return pkc_error(PKC_ERR_EXISTS, "mesh: peer is already connected");
    mesh_peer t;
    if (rec)
        t = *rec;
    else
        memset(&t, 0, sizeof t);
    mesh_set_addr(m, &t, addr, len);
    int unsolicited = !rec || rec->state != PEER_PENDING || rec->stage != PEND_CONNECTING;
    if (!unsolicited)
        return !rec->outbound && prefix_inbound_of(m, &t, rec) >= MESH_IN_PER_PREFIX
                   ? refuse_prefix()
                   : 0;
    int rc = refuse_unsolicited(m, &t);
    if (rc)
        return rc;
    t.outbound = 0;
    mesh_peer *cancel, *v;
    if (prefix_inbound_of(m, &t, rec) >= MESH_IN_PER_PREFIX) {
        note_in_pressure(m);
        return refuse_prefix();
    }
    if (!inbound_room_plan(m, 1, &t, rec, &cancel, &v)) {
        note_in_pressure(m);
        return refuse_no_room();
    }
    return 0;
}

int mesh_admit(pkc_mesh *m, mesh_peer *p, int unsolicited)
{
    if (unsolicited) {
        int rc = refuse_unsolicited(m, p);
        if (rc)
            return rc;
        if (p->state == PEER_PENDING)
            end_attempt(m, p, 0);
        p->outbound = 0;
        if (prefix_inbound(m, p) >= MESH_IN_PER_PREFIX) {
            note_in_pressure(m);
            return refuse_prefix();
        }
        if (!inbound_room(m, 1, p)) {
            note_in_pressure(m);
            return refuse_no_room();
        }
        p->why = WHY_REPAIR;
    } else {
        m->n_pending--;
        if (!p->outbound && prefix_inbound(m, p) >= MESH_IN_PER_PREFIX) {
            /* Accepted through signaling; its address is known only now. */
            p->state = PEER_KNOWN;
            p->stage = 0;
            peer_timer_at(m, p, 0);
            m->need_maintain = 1;
            return refuse_prefix();
        }
    }
    int slot = free_slot(m);
    if (slot < 0) /* cannot happen: pending attempts hold their slot */
        return pkc_error(PKC_ERR_INTERNAL, "mesh: no free slot");
    unsigned was_active = m->n_active;
    peer_timer_at(m, p, 0);
    p->state = PEER_ACTIVE;
    p->stage = 0;
    p->dialing = 0;
    p->slot = (int8_t)slot;
    m->slots[slot] = mesh_peer_idx(m, p);
    m->n_active++;
    p->connected_at = p->last_rx = p->tok_at = p->seen_at = m->now;
    p->tok_msgs = m->cfg.burst_msgs;
    p->tok_bytes = m->cfg.burst_bytes;
    p->eager = 0;
    p->t_has = p->t_child = 0;
    p->bye = 0;
    p->to_replace = 0;
    p->ping_at = p->ping_nonce = 0;
    p->t_probe_at = 0;
    p->missing_count = 0;
    p->random_link = p->why != WHY_OPTIMIZE;
    p->no_route_until = 0;
    mesh_remove_passive(m, p);
    m->st.total_connections++;
    if (p->failed_before)
        m->st.reconnections++;
    p->failed_before = 0;
    p->fail_count = 0;
    pkc_logi("mesh", "neighbour admitted (%u active, %s)", m->n_active,
             unsolicited ? "unsolicited" : "requested");
    mesh_send_neighbors(m, p);
    mesh_tree_hello(m, p);
    m->nbrs_dirty = 1;
    mesh_want_flush(m);
    m->digest_slots |= 1u << slot;
    mesh_want_flush(m);
    if (was_active == 0) {
        mesh_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.type = MESH_JOIN;
        mesh_self_record(m, &msg.u.join.self);
        msg.u.join.self.id = NULL;
        mesh_send_msg(m, p, &msg);
    }
    if (p->why == WHY_OPTIMIZE || p->why == WHY_REPLACE) {
        unsigned want = full_mesh(m) ? m->cfg.max_peers : m->cfg.target_peers;
        for (unsigned s = 0; s < MESH_MAX_SLOTS && m->n_active > want; s++) {
            mesh_peer *q = mesh_slot_peer(m, s);
            if (q && q->to_replace)
                mesh_drop(m, q, PKC_MESH_BYE_REPLACED, DROP_BYE);
        }
    }
    m->need_maintain = 1;
    return 0;
}

void mesh_drop(pkc_mesh *m, mesh_peer *p, pkc_mesh_disconnect_reason why, unsigned flags)
{
    if (p->state == PEER_PENDING) {
        mesh_attempt_failed(m, p, 0);
        return;
    }
    if (p->state != PEER_ACTIVE)
        return;
    if (flags & DROP_BYE) {
        mesh_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.type = MESH_DISCONNECT;
        msg.u.disconnect.reason = (uint8_t)why;
        mesh_send_msg(m, p, &msg);
    }
    unsigned slot = (unsigned)p->slot;
    mesh_slot_freed(m, slot, mesh_peer_idx(m, p));
    m->slots[slot] = MESH_NONE;
    p->state = PEER_KNOWN; /* before the tree update, which must not count it */
    mesh_tree_lost(m, p);
    m->digest_slots &= ~(1u << slot);
    for (unsigned k = 0; k < MESH_ANN_KINDS; k++) {
        pkc_buf_reset(&m->ihave[k][slot]);
        m->ihave_n[k][slot] = 0;
    }
    p->slot = -1;
    p->state = PEER_KNOWN;
    p->seen_at = m->now;
    m->n_active--;
    m->nbrs_dirty = 1;
    mesh_want_flush(m);
    m->need_maintain = 1;
    pkc_logd("mesh", "neighbour dropped (reason %d, %u active)", (int)why, m->n_active);
    if (!(flags & DROP_QUIET))
        emit_disconnect(m, p, why);
    if (flags & DROP_FAILED) {
        m->st.failures++;
        p->failed_before = 1;
        p->fail_count++;
        add_passive(m, p, PASSIVE_REPLACE);
        peer_timer_at(m, p, m->now + backoff_us(m, p->fail_count));
    } else if (why == PKC_MESH_BYE_SCORE) {
        p->banned_until = m->now + (uint64_t)m->cfg.score.retain_ms * 1000;
        mesh_remove_passive(m, p);
    } else if (why != PKC_MESH_BYE_LEAVING) {
        add_passive(m, p, PASSIVE_REPLACE);
    }
}

/* ---- choosing whom to connect to -------------------------------------------------------- */

static int candidate_ok(pkc_mesh *m, const mesh_peer *p)
{
    return p->state == PEER_KNOWN && !banned(m, p) && (!p->fail_count || p->deadline <= m->now) &&
           m->now >= p->no_route_until &&
           ((p->flags & MESH_REC_DIALABLE) || m->n_active > 0);
}

/* A uniformly random passive peer among those reachable without a route
 * discovery (a known route or waypoint; dialable when isolated). Others,
 * which cost a discovery flood, only when badly under-connected. */
static mesh_peer *pick_candidate(pkc_mesh *m)
{
    mesh_peer *best = NULL, *other = NULL;
    unsigned nb = 0, no = 0;
    for (unsigned i = 0; i < m->n_passive; i++) {
        mesh_peer *p = &m->peers[m->passive[i]];
        if (!candidate_ok(m, p))
            continue;
        int easy = mesh_route_reachable(m, p) ||
                   ((p->flags & MESH_REC_DIALABLE) && m->n_active < m->cfg.target_peers);
        if (easy) {
            if (mesh_rand_below(m, ++nb) == 0)
                best = p;
        } else if (mesh_rand_below(m, ++no) == 0) {
            other = p;
        }
    }
    if (best)
        return best;
    if (m->n_active) {
        /* No passive peer in reach: any peer we know a route to. */
        mesh_peer *p =
            mesh_route_random_peer(m, 2 * m->n_active < m->cfg.target_peers ? 2 : 3);
        if (p && candidate_ok(m, p))
            return p;
    }
    return 2 * m->n_active < m->cfg.target_peers ? other : NULL;
}

void mesh_maintain(pkc_mesh *m)
{
    m->need_maintain = 0;
    if (m->stopped)
        return;
    unsigned known = mesh_known_count(m);
    unsigned want = m->cfg.target_peers;
    if (full_mesh(m))
        want = known - 1 < m->cfg.max_peers ? known - 1 : m->cfg.max_peers;
    if (m->n_active + m->n_pending >= want + m->owed)
        m->owed = 0;
    /* At least out_reserved() connections of our own choosing, whatever
     * inbound connections came: inbound ones are anyone's to open. And an
     * outbound link the other side gave up is restored by another outbound
     * one (out_owed), even above want: otherwise the slot it frees goes to
     * whoever opens an inbound connection first, and identities that knock
     * all the time (an eclipse) would take, one by one, every slot that
     * honest neighbours leave in the normal course of the mesh. */
    unsigned in, out;
    count_dirs(m, &in, &out);
    if (m->n_active + m->n_pending >= m->cfg.max_peers)
        m->out_owed = 0; /* full: nothing to restore into */
    for (unsigned tries = 0; tries < 8 && m->n_active + m->n_pending < m->cfg.max_peers &&
                             (m->n_active + m->n_pending < want + m->owed ||
                              out < out_reserved(m) || m->out_owed);
         tries++) {
        mesh_peer *c = pick_candidate(m);
        if (!c) {
            m->owed = 0; /* out_owed stays: restored when a candidate comes */
            break;
        }
        unsigned before = m->n_pending;
        uint8_t why = !m->n_active ? WHY_JOIN : m->out_owed ? WHY_RESTORE : WHY_REPAIR;
        if (start_attempt(m, c, why, m->n_active ? PRIO_LOW : PRIO_HIGH)) {
            c->no_route_until = m->now + 1; /* skip it for the rest of this call */
        } else {
            out++;
            if (why == WHY_RESTORE)
                m->out_owed--;
            if (m->n_active + before >= want && m->owed)
                m->owed--;
        }
    }
    /* Replace a neighbour whose score went negative, when there is room to
     * connect before disconnecting. */
    int replacing = 0;
    for (unsigned i = 0; i < MESH_MAX_KNOWN; i++)
        if (m->peers[i].used && m->peers[i].state == PEER_PENDING &&
            (m->peers[i].why == WHY_REPLACE || m->peers[i].why == WHY_OPTIMIZE))
            replacing = 1;
    if (!replacing && m->n_active + m->n_pending < m->cfg.max_peers) {
        for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
            mesh_peer *q = mesh_slot_peer(m, s);
            if (q && q->to_replace) {
                mesh_peer *c = pick_candidate(m);
                if (c)
                    start_attempt(m, c, WHY_REPLACE, PRIO_LOW);
                break;
            }
        }
    }
}

void mesh_peer_timer(pkc_mesh *m, mesh_peer *p)
{
    if (p->state == PEER_PENDING) {
        pkc_logd("mesh", "connection attempt timed out (stage %u, why %u, dial %u, out %u)", p->stage, p->why, p->dialing, p->outbound);
        mesh_attempt_failed(m, p, 0);
        return;
    }
    if (p->state != PEER_KNOWN || !p->fail_count)
        return;
    /* Reconnection with back-off: retried whenever a slot is free, even above
     * target_peers, so that links cut by a partition come back when it heals. */
    if (banned(m, p))
        return;
    if (start_attempt(m, p, WHY_RETRY, m->n_active ? PRIO_LOW : PRIO_HIGH) != 0) {
        if (++p->fail_count > m->cfg.reconnect_attempts) {
            mesh_remove_passive(m, p);
            p->fail_count = 0;
            p->failed_before = 0;
            return;
        }
        peer_timer_at(m, p, m->now + backoff_us(m, p->fail_count));
    }
}

/* ---- liveness, scoring actions, optimisation --------------------------------------------- */

void mesh_heartbeat(pkc_mesh *m)
{
    uint64_t timeout = (uint64_t)m->cfg.peer_timeout_ms * 1000;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (!p)
            continue;
        if (m->now - p->last_rx >= timeout) {
            pkc_logi("mesh", "neighbour silent for %u ms: failed", m->cfg.peer_timeout_ms);
            mesh_drop(m, p, PKC_MESH_BYE_TIMEOUT, DROP_FAILED);
            continue;
        }
        if (mesh_score_check(m, p))
            continue;
        if (mesh_score(m, p) < 0) {
            p->to_replace = 1;
            if (p->eager && m->cfg.broadcast == PKC_MESH_PLUMTREE) {
                mesh_msg prune = {.type = MESH_PRUNE};
                p->eager = 0;
                m->st.prunes_sent++;
                mesh_send_msg(m, p, &prune);
            }
            if (m->parent == mesh_peer_idx(m, p))
                mesh_tree_update(m); /* a parent must not have a negative score */
        }
        /* A PING sent in the last half interval (a tree probe) is still
         * awaited: a new nonce would make its PONG look unasked for. */
        if (p->ping_nonce &&
            m->now - p->ping_at < (uint64_t)m->cfg.heartbeat_interval_ms * 500)
            continue;
        p->ping_nonce = 0;
        mesh_ping(m, p);
    }
    m->need_maintain = 1;
}

uint64_t mesh_ping(pkc_mesh *m, mesh_peer *p)
{
    if (p->ping_nonce)
        return p->ping_at;
    mesh_msg ping;
    memset(&ping, 0, sizeof ping);
    ping.type = MESH_PING;
    p->ping_nonce = pkc_rng_u64(m->rng) | 1;
    p->ping_at = m->now;
    ping.u.ping.nonce = p->ping_nonce;
    mesh_send_msg(m, p, &ping);
    return p->ping_at;
}

/* Random links that must stay: the optimisation never takes the last
 * random_links of them. */
static unsigned random_count(pkc_mesh *m)
{
    unsigned n = 0;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *q = mesh_slot_peer(m, s);
        n += q && q->random_link;
    }
    return n;
}

/* A neighbour that may be given up for a closer peer: measured, not needed
 * as a random link, and with neighbours to spare. */
static int replaceable(pkc_mesh *m, const mesh_peer *q, unsigned randoms)
{
    return q->rtt_ms >= 0 && !q->to_replace && q->nbr_count > m->cfg.target_peers &&
           !(q->random_link && randoms <= m->cfg.random_links);
}

/* Full, asked by a peer predicted much closer than our farthest replaceable
 * neighbour: give that neighbour up for it. Returns 1 if it did. */
static int swap_for_closer(pkc_mesh *m, const mesh_peer *asker)
{
    if (m->cerr > 0.5)
        return 0;
    double near = predicted_rtt(m, asker);
    unsigned randoms = random_count(m);
    mesh_peer *far = NULL;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *q = mesh_slot_peer(m, s);
        if (q && replaceable(m, q, randoms) && (!far || q->rtt_ms > far->rtt_ms))
            far = q;
    }
    if (!far || far->rtt_ms < 2 * near || far->rtt_ms - near < 10)
        return 0;
    pkc_logd("mesh", "optimising: giving up a %.0f ms link for a peer predicted at %.0f ms",
             far->rtt_ms, near);
    mesh_drop(m, far, PKC_MESH_BYE_REPLACED, DROP_BYE);
    return 1;
}

void mesh_optimize(pkc_mesh *m)
{
    if (m->stopped || full_mesh(m) || m->n_pending || m->n_active < m->cfg.target_peers ||
        m->cerr > 0.5)
        return;
    unsigned randoms = random_count(m);
    mesh_peer *worst = NULL;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (p && replaceable(m, p, randoms) && (!worst || p->rtt_ms > worst->rtt_ms))
            worst = p;
    }
    if (!worst)
        return;
    mesh_peer *best = NULL;
    double best_rtt = 0;
    for (unsigned i = 0; i < m->n_passive; i++) {
        mesh_peer *p = &m->peers[m->passive[i]];
        if (!p->has_coord || !candidate_ok(m, p) || !mesh_route_reachable(m, p))
            continue;
        double r = predicted_rtt(m, p);
        if (!best || r < best_rtt) {
            best = p;
            best_rtt = r;
        }
    }
    /* Only a clear gain is worth a new connection. */
    if (!best || best_rtt > worst->rtt_ms * 0.5 || worst->rtt_ms - best_rtt < 10)
        return;
    pkc_logd("mesh", "optimising: replacing a %.0f ms link by a peer predicted at %.0f ms",
             worst->rtt_ms, best_rtt);
    worst->to_replace = 1;
    if (start_attempt(m, best, WHY_OPTIMIZE, PRIO_OPTIMIZE))
        worst->to_replace = 0;
}

/* ---- message handlers -------------------------------------------------------------------- */

int mesh_on_join(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    mesh_record rec = msg->u.join.self;
    rec.id = from->id;
    learn(m, &rec, PASSIVE_NO);
    if (m->cfg.active_walk_length == 0)
        return 0;
    mesh_msg fj;
    memset(&fj, 0, sizeof fj);
    fj.type = MESH_FORWARD_JOIN;
    fj.u.fjoin.ttl = (uint8_t)m->cfg.active_walk_length;
    peer_record(from, &fj.u.fjoin.peer);
    uint8_t path[2 * MESH_ID_LEN];
    memcpy(path, from->id, MESH_ID_LEN);
    memcpy(path + MESH_ID_LEN, m->self, MESH_ID_LEN);
    fj.u.fjoin.path.len = 2;
    fj.u.fjoin.path.ids = path;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (p && p != from)
            mesh_send_msg(m, p, &fj);
    }
    return 0;
}

int mesh_on_forward_join(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    const mesh_path *path = &msg->u.fjoin.path;
    int rc = mesh_check_path(m, from, path, "FORWARD_JOIN");
    if (rc)
        return rc;
    if (msg->u.fjoin.ttl > m->cfg.active_walk_length)
        return mesh_violation(m, from, 1, "FORWARD_JOIN: ttl %u above %u", msg->u.fjoin.ttl,
                              m->cfg.active_walk_length);
    const mesh_record *rec = &msg->u.fjoin.peer;
    if (memcmp(rec->id, m->self, MESH_ID_LEN) == 0)
        return 0; /* our own join came back */
    learn(m, rec, PASSIVE_NO);
    mesh_peer *np = mesh_peer_find(m, rec->id);
    if (!np)
        return 0;
    unsigned ttl = msg->u.fjoin.ttl;
    if ((ttl == 0 || m->n_active <= 1) && np->state == PEER_KNOWN && !banned(m, np) &&
        start_attempt(m, np, WHY_JOIN, PRIO_LOW) == 0)
        return 0;
    if (ttl == m->cfg.passive_walk_length)
        add_passive(m, np, PASSIVE_REPLACE);
    if (ttl == 0 || path->len >= MESH_PATH_MAX)
        return 0;
    mesh_peer *next = random_active(m, path, np);
    if (!next)
        return 0;
    mesh_msg fj = *msg;
    fj.u.fjoin.ttl = (uint8_t)(ttl - 1);
    uint8_t ids[MESH_PATH_MAX * MESH_ID_LEN];
    memcpy(ids, path->ids, path->len * MESH_ID_LEN);
    memcpy(ids + path->len * MESH_ID_LEN, m->self, MESH_ID_LEN);
    fj.u.fjoin.path.ids = ids;
    fj.u.fjoin.path.len = path->len + 1;
    mesh_send_msg(m, next, &fj);
    return 0;
}

int mesh_on_neighbors(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    /* NEIGHBORS lists the sender's other neighbours: we are one more. */
    from->nbr_count = (uint8_t)(msg->u.neighbors.count + 1);
    mesh_route_forget_via(m, from, 2);
    for (size_t i = 0; i < msg->u.neighbors.count; i++) {
        const mesh_record *rec = &msg->u.neighbors.rec[i];
        if (memcmp(rec->id, m->self, MESH_ID_LEN) == 0)
            continue;
        /* Neighbours of neighbours make triangles, not an expander: they
         * fill the passive view only while the mesh is small enough to be
         * a full mesh. */
        learn_via(m, rec, full_mesh(m) ? PASSIVE_IF_ROOM : PASSIVE_NO, from->id);
        mesh_route_learn(m, rec->id, from, 2);
    }
    m->need_maintain = 1;
    return 0;
}

int mesh_on_disconnect(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    uint8_t reason = msg->u.disconnect.reason;
    int was_out = from->outbound;
    from->bye = 1;
    mesh_drop(m, from, PKC_MESH_BYE_REQUESTED, 0);
    /* An outbound link is ours: while inbound connections compete for our
     * slots, the other side giving it up does not hand its slot to them
     * (mesh_maintain() restores it). */
    if (was_out && !m->stopped && m->now < m->in_pressure_until &&
        m->out_owed < m->cfg.max_peers)
        m->out_owed++;
    /* A neighbour that gave us up for a newcomer leaves a hole; filling it
     * with a random passive peer, even above target_peers, rewires the mesh
     * the way HyParView's full active views do, so that joins do not carve
     * it into islands. */
    if (reason == PKC_MESH_BYE_REPLACED && m->owed < m->cfg.max_peers)
        m->owed++;
    if (reason == PKC_MESH_BYE_LEAVING || reason == PKC_MESH_BYE_SCORE)
        mesh_remove_passive(m, from);
    return 0;
}

static size_t sample_records(pkc_mesh *m, mesh_record *out, size_t max, int active,
                             const uint8_t *skip)
{
    /* A random sample: a partial Fisher-Yates over the view's indices. */
    uint32_t idx[MESH_MAX_SLOTS > 1024 ? MESH_MAX_SLOTS : 1024];
    size_t n = 0;
    if (active) {
        for (unsigned s = 0; s < MESH_MAX_SLOTS; s++)
            if (m->slots[s] != MESH_NONE)
                idx[n++] = m->slots[s];
    } else {
        for (unsigned i = 0; i < m->n_passive; i++)
            idx[n++] = m->passive[i];
    }
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        size_t j = i + (size_t)mesh_rand_below(m, n - i);
        uint32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        const mesh_peer *p = &m->peers[idx[i]];
        if (skip && memcmp(p->id, skip, MESH_ID_LEN) == 0)
            continue;
        peer_record(p, &out[k++]);
    }
    return k;
}

void mesh_shuffle_start(pkc_mesh *m)
{
    if (m->stopped || m->n_active == 0)
        return;
    mesh_peer *to = random_active(m, NULL, NULL);
    if (!to)
        return;
    mesh_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = MESH_SHUFFLE;
    msg.u.shuffle.ttl = (uint8_t)m->cfg.active_walk_length;
    msg.u.shuffle.path.len = 1;
    msg.u.shuffle.path.ids = m->self;
    mesh_self_record(m, &msg.u.shuffle.rec[0]);
    size_t n = 1;
    n += sample_records(m, msg.u.shuffle.rec + n, m->cfg.shuffle_active, 1, to->id);
    n += sample_records(m, msg.u.shuffle.rec + n, m->cfg.shuffle_passive, 0, to->id);
    msg.u.shuffle.count = n;
    mesh_send_msg(m, to, &msg);
}

static void integrate(pkc_mesh *m, const mesh_record *rec, size_t n, const uint8_t *via)
{
    for (size_t i = 0; i < n; i++)
        learn_via(m, &rec[i], PASSIVE_REPLACE, via);
    m->need_maintain = 1;
}

int mesh_on_shuffle(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    const mesh_path *path = &msg->u.shuffle.path;
    int rc = mesh_check_path(m, from, path, "SHUFFLE");
    if (rc)
        return rc;
    if (msg->u.shuffle.ttl > m->cfg.active_walk_length)
        return mesh_violation(m, from, 1, "SHUFFLE: ttl %u above %u", msg->u.shuffle.ttl,
                              m->cfg.active_walk_length);
    unsigned ttl = msg->u.shuffle.ttl;
    if (ttl > 0 && m->n_active > 1 && path->len < MESH_PATH_MAX) {
        mesh_peer *next = random_active(m, path, NULL);
        if (next) {
            mesh_msg fw = *msg;
            fw.u.shuffle.ttl = (uint8_t)(ttl - 1);
            uint8_t ids[MESH_PATH_MAX * MESH_ID_LEN];
            memcpy(ids, path->ids, path->len * MESH_ID_LEN);
            memcpy(ids + path->len * MESH_ID_LEN, m->self, MESH_ID_LEN);
            fw.u.shuffle.path.ids = ids;
            fw.u.shuffle.path.len = path->len + 1;
            mesh_send_msg(m, next, &fw);
            return 0;
        }
    }
    /* The walk ends here: answer with a sample of our passive view and keep
     * theirs. */
    mesh_route_body rb;
    memset(&rb, 0, sizeof rb);
    rb.kind = MESH_RK_SHUFFLE_REPLY;
    rb.u.shuffle_reply.count =
        sample_records(m, rb.u.shuffle_reply.rec, msg->u.shuffle.count, 0, path->ids);
    pkc_buf body = PKC_BUF_INIT;
    mesh_route_body_encode(&body, &rb);
    if (!body.err && memcmp(path->ids, m->self, MESH_ID_LEN) != 0)
        (void)mesh_route_send(m, path->ids, MESH_RK_SHUFFLE_REPLY, body.data, body.len);
    pkc_buf_free(&body);
    integrate(m, msg->u.shuffle.rec, msg->u.shuffle.count, path->ids);
    return 0;
}

void mesh_on_shuffle_reply(pkc_mesh *m, const uint8_t *from, const mesh_route_body *rb)
{
    integrate(m, rb->u.shuffle_reply.rec, rb->u.shuffle_reply.count, from);
}

int mesh_on_ping(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    mesh_msg pong;
    memset(&pong, 0, sizeof pong);
    pong.type = MESH_PONG;
    pong.u.ping.nonce = msg->u.ping.nonce;
    pong.u.ping.has_coord = 1;
    mesh_record self;
    mesh_self_record(m, &self);
    pong.u.ping.coord = self;
    pong.u.ping.coord.id = NULL;
    pong.u.ping.error = (uint64_t)llround(m->cerr * 1000);
    mesh_send_msg(m, from, &pong);
    return 0;
}

int mesh_on_pong(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    if (!from->ping_nonce || msg->u.ping.nonce != from->ping_nonce)
        return mesh_violation(m, from, 0.5, "PONG for a PING that was not sent");
    double rtt = (double)(m->now - from->ping_at) / 1000.0;
    from->ping_nonce = 0;
    if (from->t_probe_at) {
        from->t_probe_at = 0; /* alive: a parent again if it offers the best */
        mesh_tree_update(m);
    }
    from->rtt_ms = from->rtt_ms < 0 ? rtt : 0.8 * from->rtt_ms + 0.2 * rtt;
    if (msg->u.ping.has_coord) {
        const mesh_record *c = &msg->u.ping.coord;
        set_coord(from, c->x, c->y, c->h);
        vivaldi(m, rtt, from->cx, from->cy, from->ch, (double)msg->u.ping.error / 1000.0);
    }
    return 0;
}

/* ---- signaling ------------------------------------------------------------------------------ */

/* Inbound attempts (REQUESTs we accepted) under way: each holds a slot until
 * its transport connects or connect_timeout_ms passes. */
static unsigned inbound_pending(const pkc_mesh *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < MESH_MAX_KNOWN; i++)
        n += m->peers[i].used && m->peers[i].state == PEER_PENDING && !m->peers[i].outbound;
    return n;
}

/* A REQUEST is a routed claim, signed by its origin but free to make (any
 * number of identities): it never costs us a live link. So a request from a
 * neighbour is refused (its side of the link may be stale; liveness settles
 * that), a request never evicts a neighbour to make room (HIGH, "I have no
 * neighbour", cannot honestly arrive over the mesh), optimisation swaps are
 * at most one per optimize_interval_ms, and accepted requests hold at most
 * half of the slots. */
static void on_request(pkc_mesh *m, mesh_peer *p, const mesh_route_body *rb)
{
    uint64_t nonce = rb->u.signal.nonce;
    if (memcmp(rb->u.signal.rec.id, p->id, MESH_ID_LEN) == 0)
        learn(m, &rb->u.signal.rec, PASSIVE_NO);
    if (p->state == PEER_ACTIVE) {
        send_signal(m, p->id, MESH_SIG_REFUSE, nonce, REFUSE_CONNECTED);
        return;
    } else if (p->state == PEER_PENDING) {
        if (!p->outbound && p->nonce == nonce) {
            send_signal(m, p->id, MESH_SIG_ACCEPT, nonce, 0); /* a repeat */
            return;
        }
        if (p->outbound && p->stage == PEND_REQUESTED && memcmp(m->self, p->id, MESH_ID_LEN) < 0) {
            /* Both asked at once: the smaller id's request wins. */
            send_signal(m, p->id, MESH_SIG_REFUSE, nonce, REFUSE_DUPLICATE);
            return;
        }
        end_attempt(m, p, 0);
    }
    uint8_t refuse = 0;
    if (m->stopped)
        refuse = REFUSE_STOPPED;
    else if (banned(m, p))
        refuse = REFUSE_SCORE;
    else if (2 * inbound_pending(m) >= m->cfg.max_peers)
        refuse = REFUSE_FULL;
    /* A routed request never evicts an established neighbour (its claims
     * cost nothing); only an optimisation swap may replace one, at most
     * once per optimize interval. */
    else if (!inbound_room(m, 0, NULL)) {
        if (rb->u.signal.prio == PRIO_OPTIMIZE && p->has_coord && m->now >= m->next_swap &&
            swap_for_closer(m, p))
            m->next_swap = m->now + (uint64_t)m->cfg.optimize_interval_ms * 1000;
        else
            refuse = REFUSE_FULL;
    }
    if (refuse) {
        pkc_logd("mesh", "refusing a connection request (reason %u)", refuse);
        if (refuse == REFUSE_FULL)
            add_passive(m, p, PASSIVE_IF_ROOM);
        send_signal(m, p->id, MESH_SIG_REFUSE, nonce, refuse);
        return;
    }
    p->state = PEER_PENDING;
    p->stage = PEND_CONNECTING;
    p->outbound = 0;
    p->dialing = 0;
    p->why = rb->u.signal.prio == PRIO_OPTIMIZE ? WHY_OPTIMIZE : WHY_REPAIR;
    p->prio = rb->u.signal.prio;
    p->nonce = nonce;
    m->n_pending++;
    peer_timer_at(m, p, m->now + (uint64_t)m->cfg.connect_timeout_ms * 1000);
    send_signal(m, p->id, MESH_SIG_ACCEPT, nonce, 0);
    emit_connect(m, p, PKC_MESH_CONNECT_RESPOND);
}

void mesh_on_signal(pkc_mesh *m, const uint8_t *from, const mesh_route_body *rb)
{
    mesh_peer *p = mesh_peer_get(m, from);
    if (!p)
        return;
    p->seen_at = m->now;
    uint64_t nonce = rb->u.signal.nonce;
    int match = p->state == PEER_PENDING && p->nonce == nonce;
    switch (rb->u.signal.op) {
    case MESH_SIG_REQUEST:
        on_request(m, p, rb);
        break;
    case MESH_SIG_ACCEPT:
        if (match && p->outbound && p->stage == PEND_REQUESTED) {
            p->stage = PEND_CONNECTING;
            peer_timer_at(m, p, m->now + (uint64_t)m->cfg.connect_timeout_ms * 1000);
            emit_connect(m, p, PKC_MESH_CONNECT_INITIATE);
        }
        break;
    case MESH_SIG_REFUSE:
        if (match && p->outbound && p->stage == PEND_REQUESTED) {
            uint8_t reason = rb->u.signal.reason;
            end_attempt(m, p, 0);
            for (size_t i = 0; i < rb->u.signal.count; i++)
                learn_via(m, &rb->u.signal.rec_px[i], PASSIVE_REPLACE, p->id);
            if (reason == REFUSE_SCORE || reason == REFUSE_STOPPED) {
                mesh_remove_passive(m, p);
            } else if (reason == REFUSE_FULL) {
                /* Try others first; it may have room later. */
                p->fail_count = p->fail_count ? p->fail_count : 1;
                peer_timer_at(m, p, m->now + backoff_us(m, 4));
                p->gen++; /* a refusal is not a failure: no automatic retry */
            }
        }
        break;
    case MESH_SIG_CANCEL:
        if (match)
            end_attempt(m, p, 0);
        break;
    case MESH_SIG_DATA:
        if (match && p->stage == PEND_CONNECTING && !p->dialing && m->cb.signal)
            m->cb.signal(m->ud, p->id, rb->u.signal.data, rb->u.signal.len);
        break;
    }
}
