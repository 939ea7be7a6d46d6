/*
 * route.c: messages for one peer that is not a neighbour.
 *
 * A ROUTE message carries the path it has travelled (origin first, sender
 * last, at most max_hops peers). Each hop checks that the path ends with the
 * neighbour that sent it and does not contain itself (no loops), learns a
 * route back to every peer on the path, and forwards to the target if it is
 * a neighbour, else along a learned route whose next hop is not on the path.
 * Routes are learned from everything that carries a path or an origin:
 * routed messages, FORWARD_JOIN and SHUFFLE walks, neighbour lists, GOSSIP.
 *
 * With no route, the sender queues the message and floods a route request
 * (RREQ) over a few hops, then over more; the target, or a neighbour of the
 * target, answers with RREP along the reverse path, which teaches every hop
 * the route. A hop that cannot forward returns ERROR to the origin.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "crypto/peerid.h"
#include "mesh/mesh_int.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/versioned.h"

enum { ERR_NO_ROUTE = 1, ERR_HOPS = 2 };

struct rkey {
    const pkc_mesh *m;
    const uint8_t *id;
};

static int route_eq(const void *ctx, uint32_t idx)
{
    const struct rkey *k = ctx;
    return memcmp(k->m->routes[idx].id, k->id, MESH_ID_LEN) == 0;
}

int mesh_route_init(pkc_mesh *m)
{
    m->routes = calloc(MESH_ROUTES, sizeof *m->routes);
    return m->routes ? 0 : PKC_ERR_NOMEM;
}

void mesh_route_free(pkc_mesh *m)
{
    free(m->routes);
    m->routes = NULL;
    mesh_map_free(&m->route_map);
    for (unsigned i = 0; i < MESH_DISCOVERIES; i++)
        for (size_t q = 0; q < m->disc[i].nq; q++)
            free(m->disc[i].q[q].path);
}

static mesh_route *route_find(pkc_mesh *m, const uint8_t *id)
{
    struct rkey k = {m, id};
    uint32_t i =
        mesh_map_find(&m->route_map, mesh_siphash(&m->sip, id, MESH_ID_LEN), route_eq, &k);
    return i == MESH_NONE ? NULL : &m->routes[i];
}

static mesh_peer *route_via(pkc_mesh *m, const mesh_route *r)
{
    if (r->expires <= m->now || r->via >= MESH_MAX_KNOWN)
        return NULL;
    mesh_peer *p = &m->peers[r->via];
    return p->used && p->state == PEER_ACTIVE && p->gen == r->via_gen ? p : NULL;
}

static void route_del(pkc_mesh *m, mesh_route *r)
{
    mesh_map_del(&m->route_map, r->hkey, (uint32_t)(r - m->routes));
    r->used = 0;
}

void mesh_route_learn(pkc_mesh *m, const uint8_t *id, mesh_peer *via, unsigned hops)
{
    if (!via || via->state != PEER_ACTIVE || memcmp(id, m->self, MESH_ID_LEN) == 0 ||
        memcmp(id, via->id, MESH_ID_LEN) == 0)
        return;
    uint32_t vidx = mesh_peer_idx(m, via);
    mesh_route *r = route_find(m, id);
    if (r) {
        if (!route_via(m, r) || hops <= r->hops || r->via == vidx) {
            r->via = vidx;
            r->via_gen = via->gen;
            r->hops = (uint8_t)(hops > 255 ? 255 : hops);
            r->expires = m->now + (uint64_t)m->cfg.route_ttl_ms * 1000;
        }
        return;
    }
    r = &m->routes[m->route_next];
    m->route_next = (m->route_next + 1) % MESH_ROUTES;
    if (r->used)
        route_del(m, r);
    memcpy(r->id, id, MESH_ID_LEN);
    r->hkey = mesh_siphash(&m->sip, id, MESH_ID_LEN);
    if (mesh_map_put(&m->route_map, r->hkey, (uint32_t)(r - m->routes)))
        return;
    r->used = 1;
    r->via = vidx;
    r->via_gen = via->gen;
    r->hops = (uint8_t)(hops > 255 ? 255 : hops);
    r->expires = m->now + (uint64_t)m->cfg.route_ttl_ms * 1000;
}

mesh_peer *mesh_route_random_peer(pkc_mesh *m, unsigned min_hops)
{
    if (mesh_map_count(&m->route_map) == 0)
        return NULL;
    size_t start = (size_t)mesh_rand_below(m, MESH_ROUTES);
    for (size_t k = 0; k < MESH_ROUTES; k++) {
        mesh_route *r = &m->routes[(start + k) % MESH_ROUTES];
        if (r->used && r->hops >= min_hops && route_via(m, r))
            return mesh_peer_get(m, r->id);
    }
    return NULL;
}

void mesh_route_forget_via(pkc_mesh *m, const mesh_peer *via, unsigned hops)
{
    uint32_t vidx = mesh_peer_idx(m, via);
    for (size_t i = 0; i < MESH_ROUTES; i++)
        if (m->routes[i].used && m->routes[i].via == vidx && m->routes[i].hops == hops)
            route_del(m, &m->routes[i]);
}

void mesh_route_expire(pkc_mesh *m)
{
    for (size_t i = 0; i < MESH_ROUTES; i++)
        if (m->routes[i].used && !route_via(m, &m->routes[i]))
            route_del(m, &m->routes[i]);
}

static int on_path(const mesh_path *path, const uint8_t *id)
{
    for (size_t i = 0; path && i < path->len; i++)
        if (memcmp(path->ids + i * MESH_ID_LEN, id, MESH_ID_LEN) == 0)
            return 1;
    return 0;
}

static mesh_peer *next_hop(pkc_mesh *m, const uint8_t *target, const mesh_path *path)
{
    mesh_peer *p = mesh_peer_find(m, target);
    if (p && p->state == PEER_ACTIVE)
        return on_path(path, p->id) ? NULL : p;
    mesh_route *r = route_find(m, target);
    if (!r)
        return NULL;
    mesh_peer *via = route_via(m, r);
    if (!via || on_path(path, via->id))
        return NULL;
    return via;
}

int mesh_route_known(pkc_mesh *m, const uint8_t *id)
{
    return next_hop(m, id, NULL) != NULL;
}

int mesh_route_reachable(pkc_mesh *m, const mesh_peer *p)
{
    return next_hop(m, p->id, NULL) || (p->via_ok && next_hop(m, p->via, NULL));
}

/* The next hop towards `target`, else towards the waypoint (a peer that
 * knows the target), never to a peer already on the path. */
static mesh_peer *next_hop_via(pkc_mesh *m, const uint8_t *target, const uint8_t *waypoint,
                               const mesh_path *path)
{
    mesh_peer *nh = next_hop(m, target, path);
    if (!nh && waypoint && memcmp(waypoint, m->self, MESH_ID_LEN) != 0)
        nh = next_hop(m, waypoint, path);
    return nh;
}

/* Encodes ROUTE(kind, target, waypoint, path + self, body) into m->out. */
static void encode_route(pkc_mesh *m, uint8_t kind, const uint8_t *target,
                         const uint8_t *waypoint, const mesh_path *path, const uint8_t *body,
                         size_t len)
{
    pkc_buf_reset(&m->out);
    pkc_buf_push_u8(&m->out, MESH_ROUTE);
    pkc_buf_push_u8(&m->out, kind);
    pkc_buf_push(&m->out, target, MESH_ID_LEN);
    pkc_buf_push_u8(&m->out, waypoint != NULL);
    if (waypoint)
        pkc_buf_push(&m->out, waypoint, MESH_ID_LEN);
    mesh_push_path(&m->out, path, m->self);
    pkc_buf_push_varbytes(&m->out, body, len);
}

static int rreq_take(pkc_mesh *m, double *tok, uint64_t *at, uint64_t start);

static void send_rreq_round(pkc_mesh *m, mesh_disc *d)
{
    unsigned ttl = d->stage == 0 ? MESH_RREQ_TTL_MAX - 1 : MESH_RREQ_TTL_MAX;
    if (ttl > m->cfg.max_hops - 1)
        ttl = m->cfg.max_hops - 1;
    d->nonce = pkc_rng_u64(m->rng);
    d->gen++;
    mesh_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = MESH_RREQ;
    msg.u.rreq.ttl = (uint8_t)ttl;
    msg.u.rreq.nonce = d->nonce;
    msg.u.rreq.target = d->target;
    msg.u.rreq.path.len = 1;
    msg.u.rreq.path.ids = m->self;
    /* Never more than our neighbours accept from us: over it, this round
     * is skipped (the discovery fails if the next one is too). */
    if (rreq_take(m, &m->rreq_tok, &m->rreq_at, 1)) {
        for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
            mesh_peer *p = mesh_slot_peer(m, s);
            if (p)
                mesh_send_msg(m, p, &msg);
        }
    }
    mesh_timer_add(m, MESH_T_DISC, (uint32_t)(d - m->disc), d->gen,
                   m->now + (uint64_t)m->cfg.route_timeout_ms * 1000);
}

static void disc_free(mesh_disc *d)
{
    for (size_t q = 0; q < d->nq; q++)
        free(d->q[q].path);
    d->nq = 0;
    d->used = 0;
    d->gen++;
}

/* Sends ROUTE(kind, target, path + self, body) to the next hop, or queues
 * it behind a route discovery (discover). `path` is the path so far: empty
 * for our own messages, the received one when a forwarder repairs a broken
 * route locally. */
static int send_or_queue(pkc_mesh *m, const uint8_t *target, uint8_t kind, const uint8_t *body,
                         size_t len, const mesh_path *path, int discover)
{
    mesh_path none = {0, NULL};
    if (!path)
        path = &none;
    const uint8_t *waypoint = NULL;
    mesh_peer *nh = next_hop(m, target, path);
    if (!nh) {
        mesh_peer *p = mesh_peer_find(m, target);
        if (p && p->via_ok && (nh = next_hop(m, p->via, path)) != NULL)
            waypoint = p->via;
    }
    if (nh) {
        encode_route(m, kind, target, waypoint, path, body, len);
        if (m->out.err)
            return m->out.err;
        if (path->len)
            m->st.routed_forwarded++;
        else
            m->st.routed_sent++;
        mesh_send_out(m, nh, 0);
        return 0;
    }
    if (!discover || m->n_active == 0) {
        pkc_logd("mesh", "route: no route for kind %u (discover %d)", kind, discover);
        m->st.route_failures++;
        return pkc_error(PKC_ERR_MESH_NO_ROUTE, "mesh: no route to the peer");
    }
    mesh_disc *d = NULL, *free_d = NULL;
    for (unsigned i = 0; i < MESH_DISCOVERIES; i++) {
        if (m->disc[i].used && memcmp(m->disc[i].target, target, MESH_ID_LEN) == 0)
            d = &m->disc[i];
        else if (!m->disc[i].used && !free_d)
            free_d = &m->disc[i];
    }
    if (!d) {
        if (!free_d)
            return pkc_error(PKC_ERR_AGAIN, "mesh: too many route discoveries under way");
        d = free_d;
        pkc_logd("mesh", "route: discovering for kind %u (path %zu)", kind, path->len);
        d->used = 1;
        d->stage = 0;
        d->nq = 0;
        memcpy(d->target, target, MESH_ID_LEN);
        send_rreq_round(m, d);
    }
    if (d->nq == MESH_DISC_QUEUE)
        return pkc_error(PKC_ERR_AGAIN, "mesh: %d messages already wait for this route",
                         MESH_DISC_QUEUE);
    size_t plen = path->len * MESH_ID_LEN;
    uint8_t *copy = malloc(plen + len + 1);
    if (!copy)
        return pkc_error_code(PKC_ERR_NOMEM);
    if (plen)
        memcpy(copy, path->ids, plen);
    if (len)
        memcpy(copy + plen, body, len);
    d->q[d->nq].kind = kind;
    d->q[d->nq].path_len = (uint8_t)path->len;
    d->q[d->nq].path = copy;
    d->q[d->nq].len = len;
    d->nq++;
    return 0;
}

int mesh_route_send(pkc_mesh *m, const uint8_t *target, uint8_t kind, const uint8_t *body,
                    size_t len)
{
    return send_or_queue(m, target, kind, body, len, NULL, 1);
}

int mesh_route_send_ex(pkc_mesh *m, const uint8_t *target, uint8_t kind, const uint8_t *body,
                       size_t len, int discover)
{
    return send_or_queue(m, target, kind, body, len, NULL, discover);
}

static void send_error(pkc_mesh *m, const uint8_t *origin, const uint8_t *target, uint8_t code);

void mesh_disc_timer(pkc_mesh *m, uint32_t idx, uint32_t gen)
{
    (void)gen;
    mesh_disc *d = &m->disc[idx];
    if (d->stage == 0 && m->n_active) {
        d->stage = 1;
        send_rreq_round(m, d);
        return;
    }
    pkc_logd("mesh", "route discovery failed");
    m->st.route_failures++;
    uint8_t target[MESH_ID_LEN];
    memcpy(target, d->target, MESH_ID_LEN);
    mesh_disc copy = *d;
    d->nq = 0;
    disc_free(d);
    for (size_t q = 0; q < copy.nq; q++) {
        if (copy.q[q].path_len && copy.q[q].kind != MESH_RK_ERROR)
            send_error(m, copy.q[q].path, target, ERR_NO_ROUTE);
        free(copy.q[q].path);
    }
    mesh_route_failed_for(m, target);
}

static void disc_done(pkc_mesh *m, const uint8_t *target, uint64_t nonce)
{
    for (unsigned i = 0; i < MESH_DISCOVERIES; i++) {
        mesh_disc *d = &m->disc[i];
        if (!d->used || d->nonce != nonce || memcmp(d->target, target, MESH_ID_LEN) != 0)
            continue;
        /* The queue is sent with the route the RREP just taught us. */
        mesh_disc copy = *d;
        d->nq = 0;
        disc_free(d);
        for (size_t q = 0; q < copy.nq; q++) {
            mesh_path p = {copy.q[q].path_len, copy.q[q].path};
            (void)send_or_queue(m, target, copy.q[q].kind,
                                copy.q[q].path + p.len * MESH_ID_LEN, copy.q[q].len, &p, 0);
            free(copy.q[q].path);
        }
        return;
    }
}

int mesh_check_path(pkc_mesh *m, mesh_peer *from, const mesh_path *path, const char *what)
{
    if (path->len == 0 ||
        memcmp(path->ids + (path->len - 1) * MESH_ID_LEN, from->id, MESH_ID_LEN) != 0)
        return mesh_violation(m, from, 1, "%s: path does not end with the sender", what);
    if (on_path(path, m->self))
        return mesh_violation(m, from, 1, "%s: path already contains this peer (loop)", what);
    for (size_t i = 0; i + 1 < path->len; i++)
        mesh_route_learn(m, path->ids + i * MESH_ID_LEN, from, (unsigned)(path->len - i));
    return 0;
}

static void send_error(pkc_mesh *m, const uint8_t *origin, const uint8_t *target, uint8_t code)
{
    uint8_t body[1 + MESH_ID_LEN];
    body[0] = code;
    memcpy(body + 1, target, MESH_ID_LEN);
    (void)send_or_queue(m, origin, MESH_RK_ERROR, body, sizeof body, NULL, 0);
}

/* ---- signed signaling ------------------------------------------------------------- */

int mesh_signal_send(pkc_mesh *m, const uint8_t *to, mesh_route_body *rb)
{
    rb->kind = MESH_RK_SIGNAL;
    int64_t now_ms = pkc_clock_wall_ms(m->clock);
    rb->u.signal.time_ms = now_ms > 0 ? (uint64_t)now_ms : 0;
    rb->u.signal.public_key = pkc_identity_get_public_key(m->identity);
    rb->u.signal.sig = NULL;
    pkc_buf body = PKC_BUF_INIT, tbs = PKC_BUF_INIT;
    mesh_route_body_encode(&body, rb);
    mesh_signal_signed_data(&tbs, m->self, to, body.data, body.len);
    int rc = body.err ? body.err : tbs.err;
    if (!rc) {
        uint8_t sig[MESH_SIG_LEN];
        pkc_identity_sign_labeled(m->identity, MESH_SIGNAL_LABEL, tbs.data, tbs.len, sig);
        pkc_buf_push(&body, sig, sizeof sig);
        rc = body.err;
    }
    /* Only a request may start a route discovery; answers go back the way
     * the request came (or are lost, and the attempt times out). */
    if (!rc)
        rc = send_or_queue(m, to, MESH_RK_SIGNAL, body.data, body.len, NULL,
                           rb->u.signal.op == MESH_SIG_REQUEST);
    pkc_buf_free(&body);
    pkc_buf_free(&tbs);
    return rc;
}

/* A SIGNAL acts only if its origin signed it for us, recently, and we have
 * not acted on it before: the key in it must be the one the origin's id
 * names, its timestamp within MESH_SIG_SKEW_MS of our clock, its signature
 * new and valid. The cheap checks come first. Returns 0 if it may act. */
static int signal_check(pkc_mesh *m, const uint8_t *origin, const mesh_msg *msg,
                        const mesh_route_body *rb)
{
    uint8_t h[MESH_ID_LEN];
    pkc_peer_id_hash(rb->u.signal.public_key, h);
    if (memcmp(h, origin, MESH_ID_LEN) != 0)
        return pkc_error(PKC_ERR_MESH_PROTOCOL, "signal: key does not match its origin");
    int64_t now_ms = pkc_clock_wall_ms(m->clock);
    int64_t t = (int64_t)rb->u.signal.time_ms;
    if (t < now_ms - MESH_SIG_SKEW_MS || t > now_ms + MESH_SIG_SKEW_MS)
        return pkc_error(PKC_ERR_MESH_PROTOCOL, "signal: timestamp %lld ms from our clock",
                         (long long)(t - now_ms));
    uint64_t key = mesh_siphash(&m->sip, rb->u.signal.sig, MESH_SIG_LEN) | 1;
    for (size_t i = 0; i < MESH_SIG_SEEN; i++)
        if (m->sig_seen[i].h == key && m->sig_seen[i].until > m->now)
            return pkc_error(PKC_ERR_MESH_PROTOCOL, "signal: a replay");
    pkc_buf tbs = PKC_BUF_INIT;
    mesh_signal_signed_data(&tbs, origin, m->self, msg->u.route.payload, rb->u.signal.signed_len);
    int rc = tbs.err ? tbs.err
                     : pkc_verify_labeled(rb->u.signal.public_key, MESH_SIGNAL_LABEL, tbs.data,
                                          tbs.len, rb->u.signal.sig, "mesh signal");
    pkc_buf_free(&tbs);
    if (rc)
        return rc;
    /* Remembered for as long as its timestamp could still be accepted. The
     * ring evicts by arrival: filling it takes MESH_SIG_SEEN valid signals
     * signed for us within the window. */
    m->sig_seen[m->sig_seen_next].h = key;
    m->sig_seen[m->sig_seen_next].until = m->now + 2 * (uint64_t)MESH_SIG_SKEW_MS * 1000;
    m->sig_seen_next = (m->sig_seen_next + 1) % MESH_SIG_SEEN;
    return 0;
}

/* The handlers of the ROUTE kinds, by the rows of MESH_ROUTE_KINDS (wire.h):
 * a routed message that reached its target, from `origin`. */
static void on_direct(pkc_mesh *m, const uint8_t *origin, const mesh_msg *msg,
                      const mesh_route_body *rb)
{
    if (m->cb.direct)
        m->cb.direct(m->ud, origin, rb->u.direct.data, rb->u.direct.len,
                     (unsigned)msg->u.route.path.len);
}

static void on_signal(pkc_mesh *m, const uint8_t *origin, const mesh_msg *msg,
                      const mesh_route_body *rb)
{
    (void)msg;
    mesh_on_signal(m, origin, rb);
}

static void on_shuffle_reply(pkc_mesh *m, const uint8_t *origin, const mesh_msg *msg,
                             const mesh_route_body *rb)
{
    (void)msg;
    mesh_on_shuffle_reply(m, origin, rb);
}

static void on_rrep(pkc_mesh *m, const uint8_t *origin, const mesh_msg *msg,
                    const mesh_route_body *rb)
{
    (void)msg;
    disc_done(m, origin, rb->u.rrep.nonce);
}

static void on_error(pkc_mesh *m, const uint8_t *origin, const mesh_msg *msg,
                     const mesh_route_body *rb)
{
    (void)origin;
    (void)msg;
    mesh_route *r = route_find(m, rb->u.error.target);
    if (r)
        route_del(m, r);
    mesh_route_failed_for(m, rb->u.error.target);
}

typedef void (*route_kind_handler)(pkc_mesh *m, const uint8_t *origin, const mesh_msg *msg,
                                   const mesh_route_body *rb);
static const route_kind_handler kind_handlers[MESH_RK_END] = {
#define ROW(name, value, stem) [name] = on_##stem,
    MESH_ROUTE_KINDS(ROW)
#undef ROW
};

static void deliver(pkc_mesh *m, const mesh_msg *msg)
{
    const uint8_t *origin = msg->u.route.path.ids;
    mesh_route_body rb;
    if (mesh_route_body_decode(&rb, msg->u.route.kind, msg->u.route.payload, msg->u.route.len)) {
        /* The body is the origin's, not the neighbour's: no penalty. */
        pkc_logd("mesh", "undecodable routed message: %s", pkc_errmsg());
        m->st.errors++;
        return;
    }
    if (rb.kind == MESH_RK_SIGNAL && signal_check(m, origin, msg, &rb)) {
        /* Neither is the signature: a relay cannot tell. */
        pkc_logd("mesh", "signal refused: %s", pkc_errmsg());
        m->st.signals_rejected++;
        return;
    }
    m->st.routed_received++;
    /* Every kind that decodes has a row, hence a handler. */
    kind_handlers[rb.kind](m, origin, msg, &rb);
}

int mesh_on_route(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    const mesh_path *path = &msg->u.route.path;
    int rc = mesh_check_path(m, from, path, "ROUTE");
    if (rc)
        return rc;
    if (memcmp(msg->u.route.target, m->self, MESH_ID_LEN) == 0) {
        deliver(m, msg);
        return 0;
    }
    const uint8_t *origin = path->ids;
    if (path->len >= m->cfg.max_hops) {
        m->st.route_failures++;
        if (msg->u.route.kind != MESH_RK_ERROR)
            send_error(m, origin, msg->u.route.target, ERR_HOPS);
        return 0;
    }
    mesh_peer *nh = next_hop_via(m, msg->u.route.target, msg->u.route.waypoint, path);
    if (!nh) {
        /* Local repair: find the target from here, keeping the path, as
         * long as the message has hops to spare; else tell the origin. */
        pkc_logd("mesh", "route: cannot forward kind %u (waypoint %d, path %zu)",
                 msg->u.route.kind, msg->u.route.waypoint != NULL, path->len);
        if (msg->u.route.kind != MESH_RK_ERROR && path->len + 2 < m->cfg.max_hops &&
            send_or_queue(m, msg->u.route.target, msg->u.route.kind, msg->u.route.payload,
                          msg->u.route.len, path, 1) == 0)
            return 0;
        m->st.route_failures++;
        if (msg->u.route.kind != MESH_RK_ERROR)
            send_error(m, origin, msg->u.route.target, ERR_NO_ROUTE);
        return 0;
    }
    encode_route(m, msg->u.route.kind, msg->u.route.target, msg->u.route.waypoint, path,
                 msg->u.route.payload, msg->u.route.len);
    m->st.routed_forwarded++;
    mesh_send_out(m, nh, 0);
    return 0;
}

/* Takes a route-request token from a bucket (MESH_RREQ_RATE per second,
 * MESH_RREQ_BURST at most, full at `start`); 0 if none is left. */
static int rreq_take(pkc_mesh *m, double *tok, uint64_t *at, uint64_t start)
{
    if (*at == 0 || *at < start) {
        *tok = MESH_RREQ_BURST;
        *at = m->now;
    }
    *tok += (double)(m->now - *at) / 1e6 * MESH_RREQ_RATE;
    *at = m->now;
    if (*tok > MESH_RREQ_BURST)
        *tok = MESH_RREQ_BURST;
    if (*tok < 1)
        return 0;
    *tok -= 1;
    return 1;
}

static int rreq_token(pkc_mesh *m, mesh_peer *from)
{
    return rreq_take(m, &from->rreq_tok, &from->rreq_at, from->connected_at);
}

/* Records a route request; returns 1 if it is new, 0 if it was seen in the
 * last route_timeout_ms or if the set is full of live entries (so that no
 * burst can flush it and make old requests new again). */
static int rreq_first(pkc_mesh *m, const uint8_t *first, uint64_t nonce)
{
    uint8_t key[MESH_ID_LEN + 8];
    memcpy(key, first, MESH_ID_LEN);
    for (int i = 0; i < 8; i++)
        key[MESH_ID_LEN + i] = (uint8_t)(nonce >> (8 * i));
    uint64_t h = mesh_siphash(&m->sip, key, sizeof key) | 1;
    for (size_t i = 0; i < MESH_RREQ_SEEN; i++)
        if (m->rreq_seen[i].h == h && m->rreq_seen[i].until > m->now)
            return 0;
    struct mesh_rreq_seen *e = &m->rreq_seen[m->rreq_seen_next];
    if (e->until > m->now)
        return 0; /* the oldest is still live: every entry is */
    e->h = h;
    e->until = m->now + (uint64_t)m->cfg.route_timeout_ms * 1000;
    m->rreq_seen_next = (m->rreq_seen_next + 1) % MESH_RREQ_SEEN;
    return 1;
}

/* A route request costs every peer within its ttl a message per neighbour,
 * so what the engine would never send is a violation (a ttl above
 * MESH_RREQ_TTL_MAX, or more hops left than the first peer could have
 * given), each neighbour's requests are rate-limited before anything else
 * (over the limit: dropped; a penalty only when the neighbour itself is the
 * first peer, since honest relays pass on others' requests), and duplicates
 * are detected by a time-based set that a flood cannot flush. */
int mesh_on_rreq(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    const mesh_path *path = &msg->u.rreq.path;
    int rc = mesh_check_path(m, from, path, "RREQ");
    if (rc)
        return rc;
    if (msg->u.rreq.ttl > MESH_RREQ_TTL_MAX || msg->u.rreq.ttl + path->len > MESH_RREQ_TTL_MAX + 1)
        return mesh_violation(m, from, 1, "RREQ: ttl %u with a path of %zu (at most %d in all)",
                              msg->u.rreq.ttl, path->len, MESH_RREQ_TTL_MAX + 1);
    if (!rreq_token(m, from)) {
        m->st.rreq_limited++;
        if (path->len == 1)
            return mesh_violation(m, from, 0.25, "RREQ: over %.0f route requests/s",
                                  MESH_RREQ_RATE);
        return 0;
    }
    if (!rreq_first(m, path->ids, msg->u.rreq.nonce))
        return 0;

    const uint8_t *target = msg->u.rreq.target;
    uint8_t body[PKC_VARUINT_MAX_BYTES];
    pkc_buf b = PKC_BUF_INIT;
    pkc_buf_push_varuint(&b, msg->u.rreq.nonce);
    size_t blen = b.len;
    if (!b.err)
        memcpy(body, b.data, blen);
    pkc_buf_free(&b);
    if (memcmp(target, m->self, MESH_ID_LEN) == 0) {
        (void)send_or_queue(m, path->ids, MESH_RK_RREP, body, blen, NULL, 0);
        return 0;
    }
    mesh_peer *t = mesh_peer_find(m, target);
    if (t && t->state == PEER_ACTIVE && !on_path(path, target)) {
        /* Answer for our neighbour: the path [target, us] tells every hop
         * back that the target is one hop beyond us. */
        mesh_path via = {1, target};
        mesh_peer *nh = next_hop(m, path->ids, &via);
        if (nh) {
            encode_route(m, MESH_RK_RREP, path->ids, NULL, &via, body, blen);
            mesh_send_out(m, nh, 0);
        }
        return 0;
    }
    if (msg->u.rreq.ttl == 0 || path->len >= MESH_PATH_MAX || path->len >= m->cfg.max_hops)
        return 0;
    mesh_msg fw = *msg;
    fw.u.rreq.ttl = (uint8_t)(msg->u.rreq.ttl - 1);
    uint8_t ids[MESH_PATH_MAX * MESH_ID_LEN];
    memcpy(ids, path->ids, path->len * MESH_ID_LEN);
    memcpy(ids + path->len * MESH_ID_LEN, m->self, MESH_ID_LEN);
    fw.u.rreq.path.ids = ids;
    fw.u.rreq.path.len = path->len + 1;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (p && !on_path(path, p->id))
            mesh_send_msg(m, p, &fw);
    }
    return 0;
}

/* ---- listing (pkc_mesh_get_known_peers) ----------------------------------------------------- */

/* The route to `id` as next_hop() would take it: its first hop and length. */
static int route_of(pkc_mesh *m, const uint8_t *id, mesh_peer **via, unsigned *hops)
{
    mesh_peer *p = mesh_peer_find(m, id);
    if (p && p->state == PEER_ACTIVE) {
        *via = p;
        *hops = 1;
        return 1;
    }
    mesh_route *r = route_find(m, id);
    mesh_peer *v = r ? route_via(m, r) : NULL;
    if (v == NULL)
        return 0;
    *via = v;
    *hops = r->hops;
    return 1;
}

static void known_write(pkc_mesh *m, const mesh_peer *p, const uint8_t *id,
                        pkc_mesh_known_info *out, size_t n, int info_version)
{
    const pkc_struct_sizes sizes = PKC_STRUCT_V1(pkc_mesh_known_info);
    pkc_mesh_known_info info, *i = &info;
    memset(i, 0, sizeof *i);
    memcpy(i->id, id, MESH_ID_LEN);
    mesh_peer *via;
    unsigned hops;
    if (route_of(m, id, &via, &hops)) {
        i->route = PKC_MESH_ROUTE_RELAYED;
        i->hops = hops;
        memcpy(i->via, via->id, MESH_ID_LEN);
    } else if (p && p->via_ok && memcmp(p->via, m->self, MESH_ID_LEN) != 0 &&
               route_of(m, p->via, &via, &hops)) {
        i->route = PKC_MESH_ROUTE_WAYPOINT;
        i->hops = hops + 1;
        memcpy(i->via, via->id, MESH_ID_LEN);
    }
    if (p) {
        i->pending = p->state == PEER_PENDING;
        i->passive = p->in_passive != 0;
        i->seen_us = p->seen_at;
    }
    pkc_struct_write((char *)out + n * sizes.sizes[info_version], i, info_version, sizes);
}

size_t pkc_mesh_get_known_peers_versioned(pkc_mesh *m, int info_version,
                                          pkc_mesh_known_info *out, size_t max)
{
    if (pkc_struct_check(info_version, PKC_STRUCT_V1(pkc_mesh_known_info)))
        return 0; /* the size of the caller's elements is unknown: nothing written */
    if (out == NULL)
        max = 0;
    size_t n = 0;
    for (uint32_t k = 0; k < MESH_MAX_KNOWN; k++) {
        const mesh_peer *p = &m->peers[k];
        if (!p->used || p->state == PEER_ACTIVE || memcmp(p->id, m->self, MESH_ID_LEN) == 0)
            continue;
        if (n < max)
            known_write(m, p, p->id, out, n, info_version);
        n++;
    }
    for (size_t k = 0; k < MESH_ROUTES; k++) {
        const mesh_route *r = &m->routes[k];
        if (!r->used || route_via(m, r) == NULL || mesh_peer_find(m, r->id) != NULL)
            continue;
        if (n < max)
            known_write(m, NULL, r->id, out, n, info_version);
        n++;
    }
    return n;
}
