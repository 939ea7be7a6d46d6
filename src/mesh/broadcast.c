/*
 * broadcast.c: spreading messages to every peer.
 *
 * Plumtree (Leitão, Pereira, Rodrigues 2007): each active link is eager or
 * lazy. A new message goes in full (GOSSIP) to eager links and as an IHAVE
 * announcement (batched every ihave_interval) to lazy ones. Eager links are
 * the spanning tree's (tree.c) and links grafted for repair. A peer that
 * hears IHAVE for a message it lacks waits graft_timeout, then asks an
 * announcer (GRAFT), which makes that link eager: delivery heals while the
 * tree reconverges. A duplicate over a grafted link turns it lazy again
 * (PRUNE to the sender).
 *
 * Publishing floods to every neighbour (as gossipsub's flood publishing):
 * neighbours off the tree get the copy marked FLOOD, deliver it at once, and
 * forward it only when the tree copy arrives (or after graft_timeout if it
 * never does), so the publisher's flood does not reshape the tree.
 *
 * Anti-entropy: each cache entry records, per neighbour slot, whether the
 * neighbour is known to have it or was told. New neighbours, and anyone
 * missed, get IHAVE for every payload still cached (cache_ttl): that is how
 * messages published on one side of a healed partition reach the other.
 *
 * Catch-ups: a message held MESH_CATCHUP_US or more, or fetched as a
 * catch-up, is announced with CATCHUP instead of IHAVE (the receiver asks at
 * once: no tree copy is coming) and answered marked MESH_GOSSIP_CATCHUP; the
 * peer that asked delivers it and announces it on (CATCHUP) rather than
 * pushing it down eager links. When a partition heals, a hundred old
 * messages cross at once while the tree re-forms over the seam: pushed
 * eagerly, they went down links whose two ends no longer agreed on who is
 * whose child (redundancy 1.35 with 1000 peers); announced, each peer asks
 * for each once (1.11), and a hop costs a round trip, not graft_timeout.
 *
 * PKC_MESH_FLOOD: every link eager, no PRUNE; the same repair machinery.
 */
#include <stdlib.h>
#include <string.h>

#include "mesh/mesh_int.h"
#include "util/array.h"
#include "util/err.h"
#include "util/log.h"

#define FROM_SELF (-1)
#define FROM_GONE (-2)

/* ---- cache ---------------------------------------------------------------------- */

struct msg_key {
    const pkc_mesh *m;
    const uint8_t *id;
    size_t len;
};

static int entry_eq(const void *ctx, uint32_t idx)
{
    const struct msg_key *k = ctx;
    const mesh_entry *e = &k->m->ring[idx];
    return e->id_len == k->len && memcmp(e->id, k->id, k->len) == 0;
}

static int missing_eq(const void *ctx, uint32_t idx)
{
    const struct msg_key *k = ctx;
    const mesh_missing *mi = &k->m->missing[idx];
    return mi->id_len == k->len && memcmp(mi->id, k->id, k->len) == 0;
}

int mesh_cache_init(pkc_mesh *m)
{
    m->ring_cap = 64;
    m->ring = calloc(m->ring_cap, sizeof *m->ring);
    return m->ring ? 0 : PKC_ERR_NOMEM;
}

void mesh_cache_free(pkc_mesh *m)
{
    if (m->ring)
        for (size_t i = 0; i < m->ring_cap; i++)
            free(m->ring[i].payload);
    free(m->ring);
    m->ring = NULL;
    mesh_map_free(&m->msg_map);
    free(m->missing);
    m->missing = NULL;
    mesh_map_free(&m->missing_map);
}

static mesh_entry *ring_at(pkc_mesh *m, size_t i)
{
    return &m->ring[(m->ring_head + i) % m->ring_cap];
}

mesh_entry *mesh_cache_find(pkc_mesh *m, const uint8_t *id, size_t len)
{
    struct msg_key k = {m, id, len};
    uint32_t i = mesh_map_find(&m->msg_map, mesh_siphash(&m->sip, id, len), entry_eq, &k);
    return i == MESH_NONE ? NULL : &m->ring[i];
}

static void drop_payload(pkc_mesh *m, mesh_entry *e)
{
    if (!(e->flags & ENT_PAYLOAD))
        return;
    m->cache_bytes -= e->len;
    free(e->payload);
    e->payload = NULL;
    e->len = 0;
    e->flags &= (uint8_t)~ENT_PAYLOAD;
}

static void evict_oldest(pkc_mesh *m)
{
    mesh_entry *e = ring_at(m, 0);
    drop_payload(m, e);
    mesh_map_del(&m->msg_map, e->hkey, (uint32_t)(e - m->ring));
    memset(e, 0, sizeof *e);
    m->ring_head = (m->ring_head + 1) % m->ring_cap;
    m->ring_len--;
}

/* Doubles the ring, keeping arrival order; entries move, so the map and the
 * timers that name entries are rebuilt. */
static int ring_grow(pkc_mesh *m)
{
    size_t cap = m->ring_cap * 2;
    if (cap > m->cfg.cache_messages)
        cap = m->cfg.cache_messages;
    mesh_entry *n = calloc(cap, sizeof *n);
    if (!n)
        return PKC_ERR_NOMEM;
    for (size_t i = 0; i < m->ring_len; i++)
        n[i] = *ring_at(m, i);
    free(m->ring);
    m->ring = n;
    m->ring_cap = cap;
    m->ring_head = 0;
    mesh_map_free(&m->msg_map);
    for (size_t i = 0; i < m->ring_len; i++) {
        if (mesh_map_put(&m->msg_map, n[i].hkey, (uint32_t)i))
            return PKC_ERR_NOMEM;
        if (n[i].flags & ENT_AWAIT)
            mesh_timer_add(m, MESH_T_AWAIT, (uint32_t)i, (uint32_t)n[i].seq,
                           m->now + (uint64_t)m->cfg.graft_timeout_ms * 1000);
    }
    return 0;
}

static mesh_entry *cache_add(pkc_mesh *m, const uint8_t *id, size_t id_len, const uint8_t *origin,
                             unsigned hops, const uint8_t *payload, size_t len)
{
    if (m->ring_len == m->ring_cap) {
        if (m->ring_cap < m->cfg.cache_messages) {
            if (ring_grow(m))
                return NULL;
        } else {
            evict_oldest(m);
        }
    }
    uint8_t *copy = NULL;
    if (payload) {
        copy = malloc(len ? len : 1);
        if (!copy)
            return NULL;
        memcpy(copy, payload, len);
    }
    size_t at = (m->ring_head + m->ring_len) % m->ring_cap;
    mesh_entry *e = &m->ring[at];
    memset(e, 0, sizeof *e);
    memcpy(e->id, id, id_len);
    e->id_len = (uint8_t)id_len;
    e->hkey = mesh_siphash(&m->sip, id, id_len);
    if (mesh_map_put(&m->msg_map, e->hkey, (uint32_t)at)) {
        free(copy);
        return NULL;
    }
    memcpy(e->origin, origin, MESH_ID_LEN);
    e->hops = (uint16_t)hops;
    e->seq = ++m->seq;
    e->at = m->now;
    e->from_slot = FROM_SELF;
    if (copy) {
        e->payload = copy;
        e->len = len;
        e->flags = ENT_PAYLOAD;
        m->cache_bytes += len;
    }
    m->ring_len++;
    /* Over the byte budget: the oldest payloads go first (ids stay, for
     * deduplication). */
    for (size_t i = 0; i < m->ring_len && m->cache_bytes > m->cfg.cache_bytes; i++) {
        mesh_entry *o = ring_at(m, i);
        if (o != e)
            drop_payload(m, o);
    }
    return e;
}

void mesh_cache_expire(pkc_mesh *m)
{
    uint64_t ttl = (uint64_t)m->cfg.cache_ttl_ms * 1000;
    for (size_t i = 0; i < m->ring_len; i++) {
        mesh_entry *e = ring_at(m, i);
        if (e->at + ttl > m->now)
            break;
        drop_payload(m, e);
    }
}

/* ---- missing messages (IHAVE heard, payload not yet) --------------------------------- */

static mesh_missing *missing_find(pkc_mesh *m, const uint8_t *id, size_t len)
{
    struct msg_key k = {m, id, len};
    uint32_t i =
        mesh_map_find(&m->missing_map, mesh_siphash(&m->sip, id, len), missing_eq, &k);
    return i == MESH_NONE ? NULL : &m->missing[i];
}

static void missing_release_announcers(pkc_mesh *m, mesh_missing *mi)
{
    for (unsigned a = 0; a < mi->n_ann; a++) {
        mesh_peer *p = &m->peers[mi->ann_peer[a]];
        if (p->used && p->missing_count)
            p->missing_count--;
    }
    mi->n_ann = 0;
}

static void missing_remove(pkc_mesh *m, mesh_missing *mi)
{
    missing_release_announcers(m, mi);
    mesh_map_del(&m->missing_map, mi->hkey, (uint32_t)(mi - m->missing));
    mi->used = 0;
    mi->gen++;
    m->n_missing--;
}

static mesh_missing *missing_add(pkc_mesh *m, const uint8_t *id, size_t len)
{
    if (m->n_missing >= MESH_MISSING_MAX)
        return NULL;
    size_t i;
    for (i = 0; i < m->missing_cap; i++)
        if (!m->missing[i].used)
            break;
    if (i == m->missing_cap) {
        size_t old = m->missing_cap;
        if (pkc_array_grow((void **)&m->missing, &m->missing_cap, old + 1, sizeof *m->missing))
            return NULL;
        memset(m->missing + old, 0, (m->missing_cap - old) * sizeof *m->missing);
    }
    mesh_missing *mi = &m->missing[i];
    uint32_t gen = mi->gen + 1;
    memset(mi, 0, sizeof *mi);
    mi->gen = gen;
    memcpy(mi->id, id, len);
    mi->id_len = (uint8_t)len;
    mi->hkey = mesh_siphash(&m->sip, id, len);
    if (mesh_map_put(&m->missing_map, mi->hkey, (uint32_t)i))
        return NULL;
    mi->used = 1;
    mi->grafted_peer = MESH_NONE;
    mi->created = m->now;
    m->n_missing++;
    mesh_timer_add(m, MESH_T_MISSING, (uint32_t)i, mi->gen,
                   m->now + (uint64_t)m->cfg.graft_timeout_ms * 1000);
    return mi;
}

/* ---- sending ---------------------------------------------------------------------------- */

static void send_gossip(pkc_mesh *m, mesh_peer *p, const mesh_entry *e, uint8_t flags)
{
    mesh_msg msg;
    msg.type = MESH_GOSSIP;
    msg.u.gossip.flags = flags;
    msg.u.gossip.round = e->hops;
    msg.u.gossip.origin = e->origin;
    msg.u.gossip.id = e->id;
    msg.u.gossip.id_len = e->id_len;
    msg.u.gossip.payload = e->payload;
    msg.u.gossip.len = e->len;
    mesh_send_msg(m, p, &msg);
}

static int catchup(const pkc_mesh *m, const mesh_entry *e)
{
    return (e->flags & ENT_CATCHUP) || m->now - e->at >= MESH_CATCHUP_US;
}

static void flush_kind(pkc_mesh *m, unsigned k, unsigned s)
{
    mesh_peer *p = mesh_slot_peer(m, s);
    pkc_buf *b = &m->ihave[k][s];
    if (p && m->ihave_n[k][s]) {
        pkc_buf_reset(&m->out);
        pkc_buf_push_u8(&m->out, k == MESH_ANN_CATCHUP ? MESH_CATCHUP : MESH_IHAVE);
        pkc_buf_push_varuint(&m->out, m->ihave_n[k][s]);
        pkc_buf_push(&m->out, b->data, b->len);
        m->st.ihave_ids_sent += m->ihave_n[k][s];
        mesh_send_out(m, p, 0);
    }
    pkc_buf_reset(b);
    m->ihave_n[k][s] = 0;
}

static void flush_slot(pkc_mesh *m, unsigned s)
{
    for (unsigned k = 0; k < MESH_ANN_KINDS; k++)
        flush_kind(m, k, s);
}

/* Announces e to slot s at the next flush: IHAVE, or CATCHUP for a catch-up. */
static void queue_ihave(pkc_mesh *m, unsigned s, const mesh_entry *e)
{
    unsigned k = catchup(m, e) ? MESH_ANN_CATCHUP : MESH_ANN_IHAVE;
    pkc_buf *b = &m->ihave[k][s];
    pkc_buf_push_varbytes(b, e->id, e->id_len);
    pkc_buf_push_varuint(b, e->hops);
    if (b->err) {
        pkc_buf_reset(b);
        m->ihave_n[k][s] = 0;
        return;
    }
    if (++m->ihave_n[k][s] == MESH_ITEMS_MAX)
        flush_kind(m, k, s);
    else
        mesh_want_flush(m);
}

static int gossip_ok(pkc_mesh *m, const mesh_peer *p)
{
    return mesh_score(m, p) >= m->cfg.score.gossip_threshold;
}

/* Eager push to eager links, lazy push to the others, skipping neighbours
 * that have it or were told. A catch-up goes lazily to every link. */
static void forward(pkc_mesh *m, mesh_entry *e)
{
    int flood = m->cfg.broadcast == PKC_MESH_FLOOD;
    int lazy_only = (e->flags & ENT_CATCHUP) != 0;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        uint32_t bit = 1u << s;
        mesh_peer *p = mesh_slot_peer(m, s);
        if (!p || (e->known & bit))
            continue;
        if (!lazy_only && (flood || mesh_eager(m, p))) {
            send_gossip(m, p, e,
                        (e->flags & ENT_OFFTREE) && m->parent == mesh_peer_idx(m, p)
                            ? MESH_GOSSIP_OFFTREE
                            : 0);
            e->known |= bit;
        } else if (gossip_ok(m, p)) {
            queue_ihave(m, s, e);
            e->known |= bit;
        }
    }
}

void mesh_flush(pkc_mesh *m)
{
    mesh_tree_flush(m);
    if (m->nbrs_dirty) {
        /* Neighbour lists change in bursts: one update per flush. */
        m->nbrs_dirty = 0;
        for (unsigned s = 0; s < MESH_MAX_SLOTS; s++)
            if (m->slots[s] != MESH_NONE)
                mesh_send_neighbors(m, &m->peers[m->slots[s]]);
    }
    if (m->digest_slots)
        mesh_antientropy(m, m->digest_slots);
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++)
        flush_slot(m, s);
}

static void graft_refill(pkc_mesh *m, mesh_peer *p)
{
    double dt = (double)(m->now - p->graft_at) / 1e6;
    p->graft_at = m->now;
    p->graft_tokens += dt * MESH_GRAFT_RATE;
    if (p->graft_tokens > MESH_GRAFT_BURST)
        p->graft_tokens = MESH_GRAFT_BURST;
}

/* Offers every cached payload a neighbour in `slots` was not told about,
 * as much as its GRAFT budget would let it fetch now: the rest at the next
 * round, so that an honest neighbour that catches up never asks for what it
 * would be refused. */
void mesh_antientropy(pkc_mesh *m, uint32_t slots)
{
    uint32_t live = 0;
    double budget[MESH_MAX_SLOTS];
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (p && (slots & (1u << s)) && gossip_ok(m, p)) {
            live |= 1u << s;
            graft_refill(m, p);
            budget[s] = p->graft_tokens;
        }
    }
    m->digest_slots &= ~slots;
    if (!live)
        return;
    uint64_t ttl = (uint64_t)m->cfg.cache_ttl_ms * 1000;
    for (size_t i = 0; i < m->ring_len; i++) {
        mesh_entry *e = ring_at(m, i);
        if (!(e->flags & ENT_PAYLOAD) || (e->flags & ENT_AWAIT) || e->at + ttl <= m->now)
            continue;
        uint32_t todo = live & ~e->known;
        for (unsigned s = 0; todo; s++, todo >>= 1)
            if ((todo & 1) && budget[s] >= (double)e->len) {
                budget[s] -= (double)e->len;
                queue_ihave(m, s, e);
                e->known |= 1u << s;
            }
    }
}

void mesh_slot_freed(pkc_mesh *m, unsigned slot, uint32_t peer_idx)
{
    uint32_t keep = ~(1u << slot);
    for (size_t i = 0; i < m->ring_len; i++) {
        mesh_entry *e = ring_at(m, i);
        e->known &= keep;
        e->served &= keep;
        if (e->from_slot == (int8_t)slot)
            e->from_slot = FROM_GONE;
    }
    for (size_t i = 0; i < m->missing_cap; i++) {
        mesh_missing *mi = &m->missing[i];
        if (!mi->used)
            continue;
        for (unsigned a = 0; a < mi->n_ann;) {
            if (mi->ann_peer[a] == peer_idx) {
                mi->n_ann--;
                mi->ann_peer[a] = mi->ann_peer[mi->n_ann];
                mi->ann_gen[a] = mi->ann_gen[mi->n_ann];
                mi->ann_hops[a] = mi->ann_hops[mi->n_ann];
            } else {
                a++;
            }
        }
        if (mi->grafted_peer == peer_idx)
            mi->grafted_peer = MESH_NONE;
    }
    m->peers[peer_idx].missing_count = 0;
}

/* ---- publishing and receiving ------------------------------------------------------------ */

int mesh_publish_local(pkc_mesh *m, const uint8_t *id, size_t id_len, const uint8_t *payload,
                       size_t len)
{
    if (mesh_cache_find(m, id, id_len))
        return pkc_error(PKC_ERR_EXISTS, "mesh: message id already seen");
    mesh_entry *e = cache_add(m, id, id_len, m->self, 0, payload ? payload : (const uint8_t *)"",
                              len);
    if (!e)
        return pkc_error_code(PKC_ERR_NOMEM);
    m->st.published++;
    mesh_missing *mi = missing_find(m, id, id_len);
    if (mi)
        missing_remove(m, mi);
    int plumtree = m->cfg.broadcast == PKC_MESH_PLUMTREE;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (!p)
            continue;
        send_gossip(m, p, e, plumtree && !mesh_eager(m, p) ? MESH_GOSSIP_FLOOD : 0);
        e->known |= 1u << s;
    }
    return 0;
}

int mesh_on_gossip(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    uint32_t bit = 1u << from->slot;
    int plumtree = m->cfg.broadcast == PKC_MESH_PLUMTREE;
    int flood_copy = (msg->u.gossip.flags & MESH_GOSSIP_FLOOD) != 0;
    m->st.payload_received++;
    if (msg->u.gossip.len > m->cfg.max_payload) {
        from->invalid += 1;
        m->st.invalid_messages++;
        return pkc_error(PKC_ERR_TOO_LARGE, "GOSSIP: payload of %zu bytes exceeds %zu",
                         msg->u.gossip.len, m->cfg.max_payload);
    }
    unsigned hops = (unsigned)msg->u.gossip.round + 1;
    int own = memcmp(msg->u.gossip.origin, m->self, MESH_ID_LEN) == 0;
    if (!own)
        mesh_route_learn(m, msg->u.gossip.origin, from, hops);
    mesh_entry *e = mesh_cache_find(m, msg->u.gossip.id, msg->u.gossip.id_len);
    if (e) {
        e->known |= bit;
        m->st.duplicates++;
        if (!plumtree || flood_copy)
            return 0;
        if (e->flags & ENT_AWAIT) {
            /* The tree copy of a message we had from its publisher's flood. */
            e->flags &= (uint8_t)~ENT_AWAIT;
            e->from_slot = from->slot;
            forward(m, e);
            return 0;
        }
        /* A duplicate over a grafted link: the link is redundant. So is a
         * grafted link whose copy came first when the parent's copy follows:
         * the tree delivers, only later. Kept, such a shortcut went on
         * delivering first, every copy a duplicate, and what came over it
         * went up marked OFFTREE, counted against a parent that delivered
         * (1% loss, seed 4: 1.124, 1.099 with it pruned). */
        mesh_peer *redundant = NULL;
        if (from->eager && !mesh_tree_link(m, from))
            redundant = from;
        else if (mesh_peer_idx(m, from) == m->parent && e->from_slot >= 0) {
            mesh_peer *first = mesh_slot_peer(m, (unsigned)e->from_slot);
            if (first && first->eager && !mesh_tree_link(m, first))
                redundant = first;
        }
        if (redundant) {
            mesh_msg prune = {.type = MESH_PRUNE};
            redundant->eager = 0;
            m->st.prunes_sent++;
            mesh_send_msg(m, redundant, &prune);
        }
        return 0;
    }
    pkc_mesh_message mm = {msg->u.gossip.origin, msg->u.gossip.id,      msg->u.gossip.id_len,
                           msg->u.gossip.payload, msg->u.gossip.len, hops};
    pkc_mesh_validation v = own ? PKC_MESH_IGNORE : PKC_MESH_ACCEPT;
    if (!own && m->cb.validate)
        v = m->cb.validate(m->ud, &mm);
    if (v == PKC_MESH_REJECT) {
        from->invalid += 1;
        m->st.rejected_messages++;
        return pkc_error(PKC_ERR_MESH_REJECTED, "GOSSIP: message rejected by validation");
    }
    int accept = v == PKC_MESH_ACCEPT;
    e = cache_add(m, msg->u.gossip.id, msg->u.gossip.id_len, msg->u.gossip.origin, hops,
                  accept ? msg->u.gossip.payload : NULL, msg->u.gossip.len);
    if (!e)
        return pkc_error_code(PKC_ERR_NOMEM);
    e->known |= bit;
    e->from_slot = from->slot;
    /* A catch-up is one only as the answer to our own GRAFT: a neighbour
     * cannot slow what it pushes to us by marking it so. */
    mesh_missing *mi = missing_find(m, msg->u.gossip.id, msg->u.gossip.id_len);
    int catch_up = 0;
    if (mi) {
        catch_up = (msg->u.gossip.flags & MESH_GOSSIP_CATCHUP) &&
                   mi->grafted_peer == mesh_peer_idx(m, from);
        missing_remove(m, mi);
    }
    if (!accept) {
        e->flags |= ENT_IGNORED;
        return 0;
    }
    if (plumtree &&
        mesh_tree_first_copy(m, from, flood_copy,
                             (msg->u.gossip.flags & MESH_GOSSIP_OFFTREE) != 0))
        e->flags |= ENT_OFFTREE;
    from->first_deliveries += 1;
    if (from->first_deliveries > m->cfg.score.first_delivery_cap)
        from->first_deliveries = m->cfg.score.first_delivery_cap;
    m->st.delivered++;
    if (m->cb.deliver)
        m->cb.deliver(m->ud, &mm);
    if (plumtree && flood_copy) {
        e->flags |= ENT_AWAIT;
        e->await_from_peer = mesh_peer_idx(m, from);
        mesh_timer_add(m, MESH_T_AWAIT, (uint32_t)(e - m->ring), (uint32_t)e->seq,
                       m->now + (uint64_t)m->cfg.graft_timeout_ms * 1000);
        return 0;
    }
    if (plumtree && catch_up)
        e->flags |= ENT_CATCHUP;
    forward(m, e);
    return 0;
}

void mesh_await_timer(pkc_mesh *m, uint32_t idx, uint32_t gen)
{
    (void)gen;
    mesh_entry *e = &m->ring[idx];
    e->flags &= (uint8_t)~ENT_AWAIT;
    forward(m, e);
}

/* IHAVE, and CATCHUP: for a message that no tree copy will bring, the
 * first announcer is asked at once rather than after graft_timeout. */
int mesh_on_ihave(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    if (!gossip_ok(m, from))
        return 0;
    uint32_t bit = 1u << from->slot;
    mesh_items_iter it;
    const uint8_t *id;
    size_t len;
    uint64_t hops;
    int over = 0;
    mesh_items_begin(&it, msg);
    while (mesh_items_next(&it, &id, &len, &hops)) {
        mesh_entry *e = mesh_cache_find(m, id, len);
        if (e) {
            e->known |= bit;
            continue;
        }
        mesh_missing *mi = missing_find(m, id, len);
        if (!mi) {
            if (from->missing_count >= MESH_MISSING_PER_PEER) {
                over = 1;
                continue;
            }
            mi = missing_add(m, id, len);
            if (!mi)
                continue;
            mesh_tree_check_parent(m);
        }
        uint32_t pidx = mesh_peer_idx(m, from);
        int dup = 0;
        for (unsigned a = 0; a < mi->n_ann; a++)
            dup |= mi->ann_peer[a] == pidx;
        if (dup || mi->n_ann == MESH_ANNOUNCERS || mi->grafted_peer == pidx)
            continue;
        mi->ann_peer[mi->n_ann] = pidx;
        mi->ann_gen[mi->n_ann] = from->gen;
        mi->ann_hops[mi->n_ann] = (uint16_t)hops;
        mi->n_ann++;
        from->missing_count++;
        if (msg->type == MESH_CATCHUP && mi->grafted_peer == MESH_NONE && !mi->grafts) {
            mi->gen++; /* the graft_timeout timer is void: asked now */
            mesh_missing_timer(m, (uint32_t)(mi - m->missing), mi->gen);
        }
    }
    if (over)
        return mesh_violation(m, from, 1, "IHAVE: more than %d announced messages outstanding",
                              MESH_MISSING_PER_PEER);
    return 0;
}

void mesh_missing_timer(pkc_mesh *m, uint32_t idx, uint32_t gen)
{
    (void)gen;
    mesh_missing *mi = &m->missing[idx];
    if (mi->grafted_peer != MESH_NONE) {
        /* The announcer we asked has not delivered yet: a promise it may
         * still keep (its answer late behind retransmissions). Counted
         * (P3) only if the message never comes, below. */
        if (mi->n_owed < MESH_ANNOUNCERS) {
            mi->owed_peer[mi->n_owed] = mi->grafted_peer;
            mi->owed_gen[mi->n_owed] = mi->grafted_gen;
            mi->n_owed++;
        } else if (m->peers[mi->grafted_peer].used) {
            m->peers[mi->grafted_peer].failures += 1;
        }
        mi->grafted_peer = MESH_NONE;
    }
    while (mi->n_ann) {
        uint32_t pidx = mi->ann_peer[0];
        uint32_t pgen = mi->ann_gen[0];
        mi->n_ann--;
        mi->ann_peer[0] = mi->ann_peer[mi->n_ann];
        mi->ann_gen[0] = mi->ann_gen[mi->n_ann];
        mi->ann_hops[0] = mi->ann_hops[mi->n_ann];
        mesh_peer *p = &m->peers[pidx];
        if (p->used && p->missing_count)
            p->missing_count--;
        if (!p->used || p->state != PEER_ACTIVE || p->gen != pgen)
            continue;
        pkc_buf_reset(&m->out);
        pkc_buf_push_u8(&m->out, MESH_GRAFT);
        pkc_buf_push_varuint(&m->out, 1);
        pkc_buf_push_varbytes(&m->out, mi->id, mi->id_len);
        if (m->cfg.broadcast == PKC_MESH_PLUMTREE)
            p->eager = 1;
        m->st.grafts_sent++;
        mesh_send_out(m, p, 0);
        mi->grafted_peer = pidx;
        mi->grafted_gen = pgen;
        mi->grafts++;
        mesh_timer_add(m, MESH_T_MISSING, idx, mi->gen,
                       m->now + (uint64_t)m->cfg.graft_retry_ms * 1000);
        return;
    }
    if (mi->n_owed && !mi->waited) {
        /* Every announcer asked: their answers may still come. */
        mi->waited = 1;
        mesh_timer_add(m, MESH_T_MISSING, idx, mi->gen, m->now + MESH_PROMISE_US);
        return;
    }
    /* The message never came: each announcer asked broke its promise. */
    for (unsigned i = 0; i < mi->n_owed; i++) {
        mesh_peer *bad = &m->peers[mi->owed_peer[i]];
        if (bad->used && bad->gen == mi->owed_gen[i])
            bad->failures += 1;
    }
    missing_remove(m, mi);
}

/* GRAFT answers cost us a payload each and the asker almost nothing, so each
 * message is served at most once per neighbour, and at most MESH_GRAFT_BURST
 * bytes at once (MESH_GRAFT_RATE per second after that). What is over the
 * budget is not sent, and the neighbour is marked as not told, so that
 * anti-entropy offers it again once the budget has refilled (anti-entropy
 * offers no more than the budget): an honest neighbour catching up gets
 * everything, paced. */
int mesh_on_graft(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    uint32_t bit = 1u << from->slot;
    if (m->cfg.broadcast == PKC_MESH_PLUMTREE)
        from->eager = 1;
    graft_refill(m, from);
    mesh_items_iter it;
    const uint8_t *id;
    size_t len;
    uint64_t round;
    int again = 0, over = 0;
    mesh_items_begin(&it, msg);
    while (mesh_items_next(&it, &id, &len, &round)) {
        mesh_entry *e = mesh_cache_find(m, id, len);
        if (!e || !(e->flags & ENT_PAYLOAD))
            continue;
        if (e->served & bit) {
            again++;
            continue;
        }
        if (from->graft_tokens < (double)e->len) {
            e->known &= ~bit;
            over++;
            continue;
        }
        from->graft_tokens -= (double)e->len;
        e->served |= bit;
        e->known |= bit;
        send_gossip(m, from, e, catchup(m, e) ? MESH_GOSSIP_CATCHUP : 0);
    }
    if (over)
        pkc_logd("mesh", "GRAFT: %d messages over the neighbour's byte budget, offered later",
                 over);
    if (again)
        return mesh_violation(m, from, again, "GRAFT: %d messages asked for again", again);
    return 0;
}

int mesh_on_prune(pkc_mesh *m, mesh_peer *from)
{
    if (m->cfg.broadcast == PKC_MESH_PLUMTREE)
        from->eager = 0;
    return 0;
}
