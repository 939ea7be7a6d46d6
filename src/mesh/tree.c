/*
 * tree.c: the broadcast tree that Plumtree pushes along.
 *
 * Plumtree lets the tree emerge from pruning the links that deliver
 * duplicates. With many publishers at once, different messages prune
 * different links of the same cycle at the same time and the eager links
 * fall apart; measured in the simulator (1000 peers, 20 messages/s from
 * random publishers) a third of all deliveries then needed a GRAFT. So the
 * tree is kept explicitly instead, as a spanning tree protocol does: the
 * root is the largest peer id in the component; each peer's parent is the
 * neighbour that offers that root at the smallest distance (ties: the lowest
 * round-trip time, then the current parent); children are the neighbours
 * that say we are their parent. TREE messages carry (root, distance, "you
 * are my parent") and go to every neighbour when they change (triggered
 * updates). A neighbour's children are never its parent (poison reverse);
 * longer loops after the root is lost count up to MESH_TREE_DEPTH (16) and are
 * then discarded.
 *
 * Eager links are the tree links plus links grafted by Plumtree repair;
 * grafted links go back to lazy when a duplicate arrives over them.
 */
#include <string.h>

#include "mesh/mesh_int.h"
#include "util/log.h"

int mesh_tree_link(const pkc_mesh *m, const mesh_peer *p)
{
    return p->state == PEER_ACTIVE && (m->parent == mesh_peer_idx(m, p) || p->t_child);
}

int mesh_eager(const pkc_mesh *m, const mesh_peer *p)
{
    return m->cfg.broadcast == PKC_MESH_FLOOD || p->eager || mesh_tree_link(m, p);
}

static void send_tree(pkc_mesh *m, mesh_peer *p)
{
    mesh_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = MESH_TREE;
    msg.u.tree.root = m->root;
    msg.u.tree.dist = m->dist;
    msg.u.tree.flags = m->parent == mesh_peer_idx(m, p) ? MESH_TREE_PARENT : 0;
    mesh_send_msg(m, p, &msg);
}

void mesh_tree_hello(pkc_mesh *m, mesh_peer *p)
{
    if (m->cfg.broadcast == PKC_MESH_PLUMTREE)
        send_tree(m, p);
}

/* Is the offer (root, dist) better than (broot, bdist)? */
static int better(const uint8_t *root, unsigned dist, const uint8_t *broot, unsigned bdist)
{
    int c = memcmp(root, broot, MESH_ID_LEN);
    return c > 0 || (c == 0 && dist < bdist);
}

void mesh_tree_update(pkc_mesh *m)
{
    if (m->cfg.broadcast != PKC_MESH_PLUMTREE)
        return;
    const uint8_t *broot = m->self;
    unsigned bdist = 0;
    uint32_t bparent = MESH_NONE;
    double brtt = 0;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (!p || !p->t_has || p->t_child || (unsigned)p->t_dist + 1 > MESH_TREE_DEPTH ||
            p->t_bad_until > m->now || mesh_score(m, p) < 0 ||
            (m->bad_root_until > m->now && memcmp(p->t_root, m->bad_root, MESH_ID_LEN) == 0))
            continue;
        unsigned d = (unsigned)p->t_dist + 1;
        uint32_t idx = mesh_peer_idx(m, p);
        double rtt = p->rtt_ms < 0 ? 1e9 : p->rtt_ms;
        int take = better(p->t_root, d, broot, bdist);
        if (!take && bparent != MESH_NONE && memcmp(p->t_root, broot, MESH_ID_LEN) == 0 &&
            d == bdist) {
            /* A tie: keep the current parent, else the closer one. */
            if (idx == m->parent)
                take = 1;
            else if (bparent != m->parent && rtt < brtt)
                take = 1;
        }
        if (take) {
            broot = p->t_root;
            bdist = d;
            bparent = idx;
            brtt = rtt;
        }
    }
    if (bparent == m->parent && bdist == m->dist && memcmp(broot, m->root, MESH_ID_LEN) == 0)
        return;
    uint32_t old_parent = m->parent;
    if (bparent != old_parent)
        m->parent_misses = 0;
    memmove(m->root, broot, MESH_ID_LEN);
    m->dist = (uint8_t)bdist;
    m->parent = bparent;
    pkc_logd("mesh", "tree: distance %u to the root, parent %s", m->dist,
             bparent == MESH_NONE ? "none (root)" : bparent == old_parent ? "same" : "new");
    /* Updates go out with the next flush: a burst of changes (a lost root
     * counting up to MESH_TREE_DEPTH) costs one message per neighbour per
     * ihave_interval, not one per change. */
    m->tree_dirty = 1;
    mesh_want_flush(m);
}

void mesh_tree_flush(pkc_mesh *m)
{
    if (!m->tree_dirty)
        return;
    m->tree_dirty = 0;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (p)
            send_tree(m, p);
    }
}

int mesh_on_tree(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg)
{
    if (m->cfg.broadcast != PKC_MESH_PLUMTREE)
        return 0;
    if (msg->u.tree.dist > MESH_TREE_DEPTH)
        return mesh_violation(m, from, 1, "TREE: distance %u above %d", msg->u.tree.dist,
                              MESH_TREE_DEPTH);
    if (m->parent == mesh_peer_idx(m, from) &&
        (from->t_dist != msg->u.tree.dist ||
         memcmp(from->t_root, msg->u.tree.root, MESH_ID_LEN) != 0))
        m->parent_misses = 0; /* it moved in the tree: what it missed was upstream */
    memcpy(from->t_root, msg->u.tree.root, MESH_ID_LEN);
    from->t_dist = msg->u.tree.dist;
    from->t_child = (msg->u.tree.flags & MESH_TREE_PARENT) != 0;
    from->t_has = 1;
    mesh_tree_update(m);
    return 0;
}

void mesh_tree_lost(pkc_mesh *m, mesh_peer *p)
{
    p->t_has = 0;
    p->t_child = 0;
    if (m->parent == mesh_peer_idx(m, p)) {
        /* Forget the root we had through it: recompute from scratch. */
        m->parent = MESH_NONE;
        memcpy(m->root, m->self, MESH_ID_LEN);
        m->dist = 0;
        mesh_tree_update(m);
        m->tree_dirty = 1; /* even if we are now the root: say so */
        mesh_want_flush(m);
    }
}

/* Sets the parent `p` aside for MESH_PARENT_BAN_MS, doubling with each
 * strike, and picks another. */
static void set_aside(pkc_mesh *m, mesh_peer *p)
{
    m->parent_misses = 0;
    if (p->t_strikes < 6)
        p->t_strikes++;
    p->t_bad_until = m->now + ((uint64_t)MESH_PARENT_BAN_MS * 1000 << (p->t_strikes - 1));
    if (m->parent == mesh_peer_idx(m, p) && m->dist == 1) {
        /* The parent claimed to be the root: set the root it claimed aside,
         * not only the link to it, so that offers of it through others
         * (stale, or counting up to MESH_TREE_DEPTH) are not taken either. */
        memcpy(m->bad_root, m->root, MESH_ID_LEN);
        m->bad_root_until = p->t_bad_until;
    }
    mesh_tree_update(m);
}

/* Silent since a probe it did not answer: crashed, as far as we can tell. */
static int silent_dead(const mesh_peer *p)
{
    return p->t_dead_at && p->last_rx < p->t_dead_at;
}

/* A crashed peer says nothing, and is noticed by silence only after
 * peer_timeout_ms (25 s). Until then it stayed in the tree, its whole
 * subtree fed by GRAFTs, each grafted link and each late tree copy a
 * duplicate: with 20% of 1000 peers crashed, 47% of the live peers hung
 * below a crashed peer when publishing started, and 3..8% still did from
 * 5 s on, since a peer that gets its first copies from its own children
 * (who grafted them) never counted a miss against its parent. So a parent
 * that has sent us nothing for MESH_PROBE_IDLE_MS while messages reach us
 * from elsewhere (announced, or delivered by anyone else) is sent a PING;
 * no PONG within twice its round-trip time plus MESH_PROBE_SLACK_MS and it
 * is set aside. A live parent answers whatever it forwards: withholding is
 * judged by delivery (mesh_tree_first_copy). */
static void probe(pkc_mesh *m, mesh_peer *p)
{
    if (p->t_probe_at || silent_dead(p) ||
        m->now - p->last_rx <= (uint64_t)MESH_PROBE_IDLE_MS * 1000)
        return;
    uint64_t sent = mesh_ping(m, p);
    double rtt = p->rtt_ms < 0 ? MESH_PROBE_SLACK_MS : p->rtt_ms;
    uint64_t at = sent + (uint64_t)((2 * rtt + MESH_PROBE_SLACK_MS) * 1000);
    if (at <= m->now)
        at = m->now + 1;
    p->t_probe_at = at;
    mesh_timer_add(m, MESH_T_PROBE, mesh_peer_idx(m, p), 0, at);
}

void mesh_tree_check_parent(pkc_mesh *m)
{
    if (m->parent != MESH_NONE)
        probe(m, &m->peers[m->parent]);
}

/* The exception is the root itself (we are at distance 1) when it is
 * silent: setting a crashed root aside sends the whole mesh counting up to
 * MESH_TREE_DEPTH through the stale offers of it that every peer holds
 * (no peer beyond its neighbours knows it is gone), and loops carry nothing
 * from the rest of the mesh: in the 300-peer scenario of
 * sim.crash_20_percent_every_seed, redundancy rose from 1.26 to 1.41 on the
 * seeds whose root crashes. Kept, the root's subtrees go on as trees of
 * their own, joined by GRAFTs, until the peer timeout drops it. A root that
 * talks but does not answer is set aside like any parent. */
void mesh_tree_probe_timer(pkc_mesh *m, mesh_peer *p)
{
    uint64_t sent = p->ping_at;
    p->t_probe_at = 0;
    if (p->last_rx < sent && m->parent == mesh_peer_idx(m, p) && m->dist == 1) {
        p->t_dead_at = sent;
        return;
    }
    pkc_logd("mesh", "tree: a parent did not answer a PING: set aside");
    set_aside(m, p);
}

/* Anyone may claim the largest id and so become the root, the hub of the
 * tree, and then withhold; a parent may also just fail upstream. Roots
 * cannot be verified (ids are free), so the parent is judged by delivery:
 * in a working tree, every message that does not come from our own subtree
 * (a child) or from its publisher's flood comes first from the parent.
 * What a child got off the tree (a GRAFT answer, a grafted link) and passes
 * up to us marked OFFTREE did not reach our subtree through us either: it
 * counts too, and we mark it so to our own parent. (Before, a withholding
 * root's children counted nothing while their own children repaired for
 * them, and the forged root kept the tree on 6 of seeds 1..10 of
 * sim.withholding_root_fails.) MESH_PARENT_MISSES first copies in a row
 * from elsewhere and the parent is set aside for MESH_PARENT_BAN_MS,
 * doubling with each strike: the tree re-forms without it, and a forged
 * root that nobody takes as parent dies out (its distance counts up). A
 * parent that moves in the tree (another root or distance) starts afresh:
 * what it missed was upstream of it. */
int mesh_tree_first_copy(pkc_mesh *m, const mesh_peer *from, int flood, int offtree)
{
    if (m->parent == MESH_NONE)
        return 0;
    if (mesh_peer_idx(m, from) == m->parent) {
        m->parent_misses = 0;
        return 0;
    }
    mesh_peer *p = &m->peers[m->parent];
    probe(m, p);
    if (flood || (from->t_child && !offtree))
        return 0;
    if (silent_dead(p))
        return 1; /* a crashed root: kept (mesh_tree_probe_timer) */
    if (++m->parent_misses >= MESH_PARENT_MISSES) {
        pkc_logd("mesh", "tree: the parent delivered none of the last %d messages: replaced",
                 MESH_PARENT_MISSES);
        set_aside(m, p);
    }
    return 1;
}
