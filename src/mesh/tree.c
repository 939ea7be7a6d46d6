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

/* Anyone may claim the largest id and so become the root, the hub of the
 * tree, and then withhold; a parent may also just fail upstream. Roots
 * cannot be verified (ids are free), so the parent is judged by delivery:
 * in a working tree, every message that does not come from our own subtree
 * (a child) or from its publisher's flood comes first from the parent.
 * MESH_PARENT_MISSES first copies in a row from elsewhere (a GRAFT answer,
 * a grafted link) and the parent is set aside for MESH_PARENT_BAN_MS,
 * doubling with each strike: the tree re-forms without it, and a forged
 * root that nobody takes as parent dies out (its distance counts up). */
void mesh_tree_first_copy(pkc_mesh *m, const mesh_peer *from, int flood)
{
    if (m->parent == MESH_NONE)
        return;
    if (mesh_peer_idx(m, from) == m->parent) {
        m->parent_misses = 0;
        return;
    }
    if (flood || from->t_child || ++m->parent_misses < MESH_PARENT_MISSES)
        return;
    mesh_peer *p = &m->peers[m->parent];
    m->parent_misses = 0;
    if (p->t_strikes < 6)
        p->t_strikes++;
    p->t_bad_until = m->now + ((uint64_t)MESH_PARENT_BAN_MS * 1000 << (p->t_strikes - 1));
    if (m->dist == 1) {
        /* The parent was the root itself: set the root aside, not only the
         * link to it, so that offers of it through others (stale, or
         * counting up to MESH_TREE_DEPTH) are not taken either. */
        memcpy(m->bad_root, p->id, MESH_ID_LEN);
        m->bad_root_until = p->t_bad_until;
    }
    pkc_logd("mesh", "tree: the parent delivered none of the last %d messages: replaced",
             MESH_PARENT_MISSES);
    mesh_tree_update(m);
}
