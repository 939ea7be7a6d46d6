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
 * that say we are their parent. TREE messages carry (root, the root's
 * sequence number, distance, "you are my parent") and go to every neighbour
 * when they change (triggered updates). A neighbour's children are never its
 * parent (poison reverse); longer loops after the root is lost count up to
 * MESH_TREE_DEPTH (16) and are then discarded, except when the root itself
 * crashed: its neighbours retract it with a newer sequence number
 * (mesh_tree_probe_timer), as DSDV does.
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
    msg.u.tree.seq = m->tseq;
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

/* Sequence numbers compare as serial numbers (RFC 1982): a is newer than b. */
static int seq_newer(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

/* A retraction is forgotten MESH_TREE_SEQ_KEEP_MS after we took it: the
 * stale offers it was against died out long ago, and a root that restarted
 * (at number 0) is taken again. */
static int seq_expired(const pkc_mesh *m, const struct mesh_tree_seq *f)
{
    return f->dead && m->now - f->used_at > (uint64_t)MESH_TREE_SEQ_KEEP_MS * 1000;
}

static struct mesh_tree_seq *seq_find(pkc_mesh *m, const uint8_t *root)
{
    for (unsigned i = 0; i < MESH_TREE_SEQS; i++)
        if (m->seqs[i].used && !seq_expired(m, &m->seqs[i]) &&
            memcmp(m->seqs[i].root, root, MESH_ID_LEN) == 0)
            return &m->seqs[i];
    return NULL;
}

/* An entry for `root`: its own, else a free or expired one, else that of
 * the smallest root smaller than it (the roots of fragments come and go
 * while a larger one is retracted); NULL if none. */
static struct mesh_tree_seq *seq_entry(pkc_mesh *m, const uint8_t *root, uint32_t seq)
{
    struct mesh_tree_seq *f = seq_find(m, root);
    if (f)
        return f;
    for (unsigned i = 0; i < MESH_TREE_SEQS && !f; i++) {
        struct mesh_tree_seq *g = &m->seqs[i];
        if (!g->used || seq_expired(m, g))
            f = g;
    }
    for (unsigned i = 0; i < MESH_TREE_SEQS && !f; i++)
        if (memcmp(m->seqs[i].root, root, MESH_ID_LEN) < 0 &&
            (!f || memcmp(m->seqs[i].root, f->root, MESH_ID_LEN) < 0))
            f = &m->seqs[i];
    if (!f)
        return NULL;
    memset(f, 0, sizeof *f);
    memcpy(f->root, root, MESH_ID_LEN);
    f->used = 1;
    f->seq = seq;
    f->at = f->used_at = m->now;
    return f;
}

/* How far past the newest number we know for a root one may be: a root
 * advances its number only when it is retracted, but an attacker could
 * claim any: MESH_TREE_SEQ_SLACK, and one more per MESH_TREE_SEQ_MS since
 * we last saw the number advance. */
static int seq_in_pace(const pkc_mesh *m, const struct mesh_tree_seq *f, uint32_t seq)
{
    return (uint64_t)(uint32_t)(seq - f->seq) <=
           MESH_TREE_SEQ_SLACK + (m->now - f->at) / ((uint64_t)MESH_TREE_SEQ_MS * 1000);
}

/* May we take an offer of (root, seq)? Not at or below a number that
 * retracted the root; above the newest we know, only at the pace above. */
static int seq_ok(pkc_mesh *m, const uint8_t *root, uint32_t seq)
{
    const struct mesh_tree_seq *f = seq_find(m, root);
    if (!f)
        return 1;
    if (seq_newer(seq, f->seq))
        return seq_in_pace(m, f, seq);
    return !f->dead;
}

/* Our own number moves past `seq`: a retraction of us (at `seq`, or older),
 * or an offer of us at a number newer than ours, which we did not make (we
 * restarted, or it is forged). At most once per MESH_TREE_SEQ_MS, and never
 * more than MESH_TREE_SEQ_SLACK ahead of ours: others refuse numbers that
 * run ahead of that pace, and a neighbour pushing ours ahead would cut us
 * off. (Honest peers only ever retract our number + 1.) One that comes
 * sooner waits for the time (mesh_tree_seq_timer), the newest one: dropped,
 * it left every peer that had passed it on refusing our offers as stale
 * until it expired (MESH_TREE_SEQ_KEEP_MS), while we went on as the root of
 * whoever had not heard it (two trees for 60 s; half of 1000 peers crashed,
 * seed 18: one root retracted twice within a second). */
static void advance(pkc_mesh *m, uint32_t seq, int retraction)
{
    uint32_t *own = m->parent == MESH_NONE ? &m->tseq : &m->seq_own;
    if (seq_newer(*own, seq) || (seq == *own && !retraction) ||
        seq_newer(seq, *own + MESH_TREE_SEQ_SLACK))
        return;
    uint64_t due = m->seq_at + (uint64_t)MESH_TREE_SEQ_MS * 1000;
    if (m->seq_at && m->now < due) {
        if (!m->seq_due || seq_newer(seq, m->seq_pending))
            m->seq_pending = seq;
        if (m->seq_due != due) {
            m->seq_due = due;
            mesh_timer_add(m, MESH_T_SEQ, 0, 0, due);
        }
        return;
    }
    m->seq_due = 0;
    m->seq_at = m->now;
    *own = seq + 1;
    if (m->parent == MESH_NONE) {
        m->tree_dirty = 1;
        mesh_tree_flush(m); /* at once: see mesh_tree_update */
    }
}

/* What waited is moved past as a retraction is: an offer that waited was
 * newer than our number (one at our number returns above), and our number
 * does not move meanwhile. */
void mesh_tree_seq_timer(pkc_mesh *m)
{
    m->seq_due = 0;
    advance(m, m->seq_pending, 1);
}

static void send_retract(pkc_mesh *m, mesh_peer *p, const uint8_t *root, uint32_t seq)
{
    mesh_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = MESH_TREE;
    msg.u.tree.root = root;
    msg.u.tree.seq = seq;
    msg.u.tree.flags = MESH_TREE_RETRACT;
    mesh_send_msg(m, p, &msg);
}

/* `root` is gone as of `seq` (newer than any offer of it that it made):
 * offers of it with older numbers are refused from now on, and every
 * neighbour is told. 0 if we knew already. */
static int retract(pkc_mesh *m, const uint8_t *root, uint32_t seq)
{
    struct mesh_tree_seq *f = seq_find(m, root);
    if (f && (seq_newer(f->seq, seq) || (f->seq == seq && f->dead)))
        return 0;
    if (f && seq_newer(seq, f->seq) && !seq_in_pace(m, f, seq))
        return 0;
    f = seq_entry(m, root, seq);
    if (!f)
        return 0;
    if (f->seq != seq)
        f->at = m->now;
    f->seq = seq;
    f->dead = 1;
    f->used_at = m->now;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (p)
            send_retract(m, p, f->root, f->seq);
    }
    return 1;
}

static void probe(pkc_mesh *m, mesh_peer *p);

/* A retraction of `root` as of `seq` from the neighbour `from`, for our
 * root. From our parent it is taken and passed on to every neighbour; so it
 * is from anyone else, but at most once per MESH_TREE_RETRACT_ANY_MS: a
 * retraction cannot be checked, and one forged every 0.5 s, flooded, tore
 * the tree down every time (mean latency doubled in the 40-peer test),
 * while taken only from the parent it reached the crashed root's other
 * subtrees too late (redundancy 1.76 on one seed of 20). Within that time
 * we pass the retraction up to our parent (at most one per
 * MESH_TREE_SEQ_MS), towards the root, which moves past the number if it is
 * alive, and its new number flows down the tree to everyone; at distance 1
 * the parent is the root, and we PING it too. (Only PINGed there, a live
 * root never heard of a forged retraction that the forger's children had
 * taken from it, and they stayed cut off from the tree: mean latency 2.7
 * times the baseline's on seed 28 of sim.forged_retraction_fails.) */
static void on_retract(pkc_mesh *m, mesh_peer *from, const uint8_t *root, uint32_t seq)
{
    if (memcmp(root, m->self, MESH_ID_LEN) == 0) {
        advance(m, seq, 1); /* we are not gone */
        return;
    }
    if (m->parent == MESH_NONE || memcmp(root, m->root, MESH_ID_LEN) != 0 ||
        !seq_newer(seq, m->tseq))
        return;
    mesh_peer *parent = &m->peers[m->parent];
    if (parent == from) {
        if (retract(m, root, seq))
            mesh_tree_update(m);
        return;
    }
    const struct mesh_tree_seq *f = seq_find(m, root);
    if (f && !seq_in_pace(m, f, seq))
        return;
    if (!m->retract_any_at ||
        m->now - m->retract_any_at >= (uint64_t)MESH_TREE_RETRACT_ANY_MS * 1000) {
        m->retract_any_at = m->now;
        if (retract(m, root, seq))
            mesh_tree_update(m);
        return;
    }
    if (m->dist == 1)
        probe(m, parent);
    if (!m->retract_up_at ||
        m->now - m->retract_up_at >= (uint64_t)MESH_TREE_SEQ_MS * 1000) {
        m->retract_up_at = m->now;
        send_retract(m, parent, root, seq);
    }
}

/* Remembers the number of the root we take. */
static void seq_note(pkc_mesh *m)
{
    if (m->parent == MESH_NONE)
        return;
    struct mesh_tree_seq *f = seq_entry(m, m->root, m->tseq);
    if (!f)
        return;
    f->used_at = m->now;
    if (seq_newer(m->tseq, f->seq)) {
        f->seq = m->tseq;
        f->at = m->now;
        f->dead = 0;
    }
}

void mesh_tree_update(pkc_mesh *m)
{
    if (m->cfg.broadcast != PKC_MESH_PLUMTREE)
        return;
    const uint8_t *broot = m->self;
    unsigned bdist = 0;
    uint32_t bparent = MESH_NONE, bseq = 0;
    double brtt = 0;
    for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
        mesh_peer *p = mesh_slot_peer(m, s);
        if (!p || !p->t_has || p->t_child || (unsigned)p->t_dist + 1 > MESH_TREE_DEPTH ||
            p->t_bad_until > m->now || mesh_score(m, p) < 0 ||
            (m->bad_root_until > m->now && memcmp(p->t_root, m->bad_root, MESH_ID_LEN) == 0) ||
            memcmp(p->t_root, m->self, MESH_ID_LEN) == 0 || !seq_ok(m, p->t_root, p->t_seq) ||
            (p->t_probe_at && mesh_peer_idx(m, p) != m->parent))
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
            bseq = p->t_seq;
        }
    }
    if (bparent == MESH_NONE)
        bseq = m->parent == MESH_NONE ? m->tseq : m->seq_own;
    if (bparent == m->parent && bdist == m->dist && bseq == m->tseq &&
        memcmp(broot, m->root, MESH_ID_LEN) == 0)
        return;
    uint32_t old_parent = m->parent;
    /* A root we take at a newer number than we knew: it was retracted and
     * is back (or it is new to us after a retraction of it). */
    int renewed = 0;
    if (bparent != MESH_NONE) {
        const struct mesh_tree_seq *g = seq_find(m, broot);
        renewed = g && seq_newer(bseq, g->seq);
    }
    if (bparent != old_parent) {
        m->parent_misses = 0;
        m->parent_at = m->now;
        m->parent_told = 0;
    }
    if (m->parent == MESH_NONE)
        m->seq_own = m->tseq;
    memmove(m->root, broot, MESH_ID_LEN);
    m->dist = (uint8_t)bdist;
    m->parent = bparent;
    m->tseq = bseq;
    seq_note(m);
    pkc_logd("mesh", "tree: distance %u to the root, parent %s", m->dist,
             bparent == MESH_NONE ? "none (root)" : bparent == old_parent ? "same" : "new");
    /* Updates go out with the next flush: a burst of changes (a lost root
     * counting up to MESH_TREE_DEPTH) costs one message per neighbour per
     * ihave_interval, not one per change. A root renewed goes out at once,
     * as the retraction it answers did: a step behind it, 100 ms a hop,
     * every retraction of a live root took the whole tree apart for a
     * moment before the new number caught up (half of 1000 peers crashed,
     * seed 25: 1.308, 1.192 at once). */
    m->tree_dirty = 1;
    if (renewed)
        mesh_tree_flush(m);
    else
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
    if (msg->u.tree.flags & MESH_TREE_RETRACT) {
        /* Not the sender's place in the tree: a root it says is gone. */
        on_retract(m, from, msg->u.tree.root, msg->u.tree.seq);
        return 0;
    }
    if (memcmp(msg->u.tree.root, m->self, MESH_ID_LEN) == 0) {
        advance(m, msg->u.tree.seq, 0);
    } else {
        /* An offer of a root we know to be gone, at an older number: the
         * sender has not heard (it was across a partition, or new). */
        const struct mesh_tree_seq *f = seq_find(m, msg->u.tree.root);
        if (f && f->dead && !seq_newer(msg->u.tree.seq, f->seq))
            send_retract(m, from, f->root, f->seq);
    }
    if (m->parent == mesh_peer_idx(m, from) &&
        (from->t_dist != msg->u.tree.dist ||
         memcmp(from->t_root, msg->u.tree.root, MESH_ID_LEN) != 0))
        m->parent_misses = 0; /* it moved in the tree: what it missed was upstream */
    memcpy(from->t_root, msg->u.tree.root, MESH_ID_LEN);
    from->t_seq = msg->u.tree.seq;
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
        m->tseq = m->seq_own;
        mesh_tree_update(m);
        m->tree_dirty = 1; /* even if we are now the root: say so */
        mesh_want_flush(m);
    }
}

/* Sets the parent `p` (or a neighbour that failed a probe) aside for
 * MESH_PARENT_BAN_MS, doubling with each strike, and picks another. */
static void set_aside(pkc_mesh *m, mesh_peer *p, int ban_root)
{
    if (m->parent == mesh_peer_idx(m, p))
        m->parent_misses = 0;
    if (p->t_strikes < 6)
        p->t_strikes++;
    p->t_bad_until = m->now + ((uint64_t)MESH_PARENT_BAN_MS * 1000 << (p->t_strikes - 1));
    if (ban_root && m->parent == mesh_peer_idx(m, p) && m->dist == 1) {
        /* The parent claimed to be the root: set the root it claimed aside,
         * not only the link to it, so that offers of it through others
         * (stale, or counting up to MESH_TREE_DEPTH) are not taken either. */
        memcpy(m->bad_root, m->root, MESH_ID_LEN);
        m->bad_root_until = p->t_bad_until;
        /* And retract it, as a silent root is (mesh_tree_probe_timer):
         * where every live neighbour of the root set it aside, the rest of
         * the mesh counted its stale offers up to MESH_TREE_DEPTH (2.5 s of
         * loops, three times in 10 s on one seed of half of 1000 peers
         * crashed). A live root moves past the number and the peers that
         * did not set it aside take it again. */
        retract(m, m->root, m->tseq + 1);
    }
    mesh_tree_update(m);
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
    if (p->state != PEER_ACTIVE)
        return;
    if (p->t_probe_at ||
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

/* The root itself too, when it is silent: setting it aside used to send the
 * whole mesh counting up to MESH_TREE_DEPTH through the stale offers of it
 * that every peer holds (no peer beyond its neighbours knows it is gone),
 * loops carrying nothing from the rest of the mesh (redundancy 1.62 on two
 * of seeds 1..20 with 20% of 1000 peers crashed), so it was kept until the
 * peer timeout. Now its neighbour retracts it with the next sequence number,
 * which every peer passes on (on_retract) and which makes every stale offer
 * of it too old: the tree re-forms below the next largest id at once. A live root
 * that hears itself retracted (the link to one neighbour failed, or a
 * forged retraction) makes a newer number and is taken again, by us too:
 * the root is not set aside as a withholding one is (mesh_tree_first_copy).
 *
 * A parent that does not answer has the neighbours silent as long probed at
 * once beside it, and none of them is taken as parent before its PONG
 * (mesh_tree_update): after a mass crash the next best offer was often
 * another crashed neighbour's, frozen at its last distance, found dead one
 * probe later, and the next after it (half of 1000 peers crashed, seed 2:
 * 241 of the 500 live peers below a crashed parent 2.25 s after the crash,
 * 2 with the probes). */
void mesh_tree_probe_timer(pkc_mesh *m, mesh_peer *p)
{
    p->t_probe_at = 0;
    int parent = m->parent == mesh_peer_idx(m, p);
    pkc_logd("mesh", "tree: a %s did not answer a PING: set aside", parent ? "parent" : "neighbour");
    int silent_root = parent && m->dist == 1 && p->last_rx < p->ping_at;
    if (silent_root)
        retract(m, m->root, m->tseq + 1);
    if (parent)
        for (unsigned s = 0; s < MESH_MAX_SLOTS; s++) {
            mesh_peer *q = mesh_slot_peer(m, s);
            if (q && q != p)
                probe(m, q);
        }
    set_aside(m, p, !silent_root);
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
 * what it missed was upstream of it. Misses count from MESH_PARENT_GRACE_MS
 * after we took the parent: while the tree re-forms after a crash, first
 * copies come from everywhere but the new parents for a moment, and live
 * parents were set aside by the hundred (the cascade that made the tail of
 * the half-crashed benchmark); and what reaches us off the tree then goes
 * up unmarked: it says nothing about our parent's parent either (marked, the
 * largest live id was set aside by its children for OFFTREE copies from
 * grandchildren that had just re-formed below them: half of 1000 peers
 * crashed, seeds 1..60, max 1.254, 1.231 unmarked). At the third miss our
 * TREE goes to the parent again: if the one that made it our parent was
 * lost, it does not know, pushes nothing, and would be set aside for it (1%
 * loss, seed 7: the root, by one of its neighbours, 1.219 against 1.117). */
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
    if (m->now - m->parent_at < (uint64_t)MESH_PARENT_GRACE_MS * 1000)
        return 0;
    if (++m->parent_misses == MESH_PARENT_MISSES / 2) {
        send_tree(m, p); /* it may not know it is our parent: a TREE lost on the way */
        /* If it did not, it could not push what was on its way before it
         * knew: the first time, the count starts again after a new grace
         * (1% loss, seed 7: the root set aside by a neighbour, 1.158; 1.111
         * with it). A withholding parent gains a second and three messages. */
        if (!m->parent_told) {
            m->parent_told = 1;
            m->parent_misses = 0;
            m->parent_at = m->now;
        }
    }
    if (m->parent_misses >= MESH_PARENT_MISSES) {
        pkc_logd("mesh", "tree: the parent delivered none of the last %d messages: replaced",
                 MESH_PARENT_MISSES);
        set_aside(m, p, 1);
    }
    return 1;
}
