/*
 * seqtree.c: an order-statistic B+ tree over the items of one list, in
 * document order, weighted by what each item adds to the type's length.
 * It replaces Yjs's search markers: finding index i, or the index of an
 * item, costs O(log n) wherever the index is.
 *
 * Leaves hold item pointers (each item's chunk points back to its leaf); inner
 * nodes hold children and the sum of each child's weights. Nodes are not
 * rebalanced when they shrink (they are removed only when empty): lists
 * mostly grow, and merges remove few items per node.
 */
#include "crdt/seqtree.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/branch.h"
#include "crdt/item.h"
#include "crdt/pool.h"
#include "util/array.h"
#include "util/err.h"

static uint32_t slot_of(const ynode *n, const void *child)
{
    uint32_t i = 0;
    while (n->c[i] != child)
        i++;
    return i;
}

static void propagate(ynode *n, int64_t delta)
{
    while (n->parent) {
        ynode *p = n->parent;
        p->w[slot_of(p, n)] += (uint64_t)delta;
        n = p;
    }
}

static uint64_t node_sum(const ynode *n)
{
    uint64_t s = 0;
    for (uint32_t i = 0; i < n->n; i++)
        s += n->w[i];
    return s;
}

static ynode *node_new(int leaf)
{
    ynode *n = malloc(sizeof *n);
    if (n) {
        n->parent = NULL;
        n->n = 0;
        n->is_leaf = (uint32_t)leaf;
    }
    return n;
}

static void set_child_parent(ynode *n, uint32_t i)
{
    if (n->is_leaf)
        yi_set_leaf((yitem *)n->c[i], n);
    else
        ((ynode *)n->c[i])->parent = n;
}

/* Inserts child `c` with weight `w` at slot `at` of `n`, splitting nodes up
 * the tree as needed. The caller has not yet added w to n's ancestors. */
static int node_insert(ybranch *b, ynode *n, uint32_t at, void *c, uint64_t w)
{
    if (n->n < YN_ORDER) {
        memmove(n->c + at + 1, n->c + at, (n->n - at) * sizeof *n->c);
        memmove(n->w + at + 1, n->w + at, (n->n - at) * sizeof *n->w);
        n->c[at] = c;
        n->w[at] = w;
        n->n++;
        set_child_parent(n, at);
        propagate(n, (int64_t)w);
        return 0;
    }
    /* split n: the upper half moves to a new sibling */
    ynode *s = node_new((int)n->is_leaf);
    if (s == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    if (n->parent == NULL) {
        ynode *root = node_new(0);
        if (root == NULL) {
            free(s);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        root->c[0] = n;
        root->w[0] = node_sum(n);
        root->n = 1;
        n->parent = root;
        b->tree = root;
    }
    uint32_t half = YN_ORDER / 2;
    memcpy(s->c, n->c + half, (YN_ORDER - half) * sizeof *n->c);
    memcpy(s->w, n->w + half, (YN_ORDER - half) * sizeof *n->w);
    s->n = YN_ORDER - half;
    n->n = half;
    for (uint32_t i = 0; i < s->n; i++)
        set_child_parent(s, i);
    uint64_t sw = node_sum(s);
    ynode *p = n->parent;
    p->w[slot_of(p, n)] -= sw;
    propagate(p, -(int64_t)sw);
    int rc = node_insert(b, p, slot_of(p, n) + 1, s, sw);
    if (rc) {
        /* put the upper half back; n and s are consistent again */
        memcpy(n->c + half, s->c, s->n * sizeof *n->c);
        memcpy(n->w + half, s->w, s->n * sizeof *n->w);
        n->n = YN_ORDER;
        for (uint32_t i = half; i < n->n; i++)
            set_child_parent(n, i);
        p->w[slot_of(p, n)] += sw;
        propagate(p, (int64_t)sw);
        free(s);
        return rc;
    }
    if (at <= half)
        return node_insert(b, n, at, c, w);
    return node_insert(b, s, at - half, c, w);
}

/* Builds the tree over the list bottom-up, nodes 3/4 full. */
#define YN_FILL (YN_ORDER * 3 / 4)

static int build(ybranch *b)
{
    if (b->indexed)
        return 0;
    ynode **level = NULL, **next = NULL;
    size_t nl = 0, cap = 0;
    int rc = 0;
    for (yitem *it = b->start; it;) {
        ynode *leaf = node_new(1);
        if (leaf == NULL || PKC_ARRAY_PUSH(level, nl, cap, leaf)) {
            free(leaf);
            rc = pkc_error_code(PKC_ERR_NOMEM);
            goto fail;
        }
        for (; it && leaf->n < YN_FILL; it = yi_right(b->doc, it)) {
            if (yi_leaf_room(it)) {
                rc = pkc_error_code(PKC_ERR_NOMEM);
                goto fail;
            }
            leaf->c[leaf->n] = it;
            leaf->w[leaf->n] = yi_weight(it);
            yi_set_leaf(it, leaf);
            leaf->n++;
        }
    }
    while (nl > 1) {
        size_t nn = 0, ncap = 0;
        for (size_t i = 0; i < nl;) {
            ynode *p = node_new(0);
            if (p == NULL || PKC_ARRAY_PUSH(next, nn, ncap, p)) {
                free(p);
                rc = pkc_error_code(PKC_ERR_NOMEM);
                goto fail;
            }
            for (; i < nl && p->n < YN_FILL; i++) {
                p->c[p->n] = level[i];
                p->w[p->n] = node_sum(level[i]);
                level[i]->parent = p;
                p->n++;
            }
        }
        free(level);
        level = next;
        nl = nn;
        next = NULL;
    }
    b->tree = nl ? level[0] : NULL;
    b->indexed = 1;
    free(level);
    return 0;
fail:
    /* free what was built: the leaves and any upper nodes */
    for (yitem *it = b->start; it; it = yi_right(b->doc, it))
        yi_set_leaf(it, NULL);
    for (size_t i = 0; i < nl; i++)
        free(level[i]);
    free(level);
    free(next);
    return pkc_error_code(rc);
}

yitem *yst_last(const ybranch *cb)
{
    ybranch *b = (ybranch *)cb;
    if (b->start == NULL)
        return NULL;
    if (!b->indexed && build(b)) {
        yitem *it = b->start;
        while (it->right)
            it = yi_right(b->doc, it);
        return it;
    }
    const ynode *n = b->tree;
    while (!n->is_leaf)
        n = n->c[n->n - 1];
    return n->c[n->n - 1];
}

int yst_insert_after(ybranch *b, yitem *after, yitem *it)
{
    if (!b->indexed)
        return 0;
    if (yi_leaf_room(it))
        return pkc_error_code(PKC_ERR_NOMEM);
    uint64_t w = yi_weight(it);
    if (b->tree == NULL) {
        ynode *n = node_new(1);
        if (n == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        n->c[0] = it;
        n->w[0] = w;
        n->n = 1;
        yi_set_leaf(it, n);
        b->tree = n;
        return 0;
    }
    ynode *leaf;
    uint32_t at;
    if (after == NULL) {
        leaf = b->tree;
        while (!leaf->is_leaf)
            leaf = leaf->c[0];
        at = 0;
    } else {
        leaf = yi_leaf(after);
        at = slot_of(leaf, after) + 1;
    }
    if (node_insert(b, leaf, at, it, w))
        return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

int yst_split(ybranch *b, yitem *left, yitem *right)
{
    ynode *n = yi_leaf(left);
    if (n->n < YN_ORDER && yi_leaf_room(right) == 0) {
        /* in left's leaf: the leaf's weight (and so its ancestors') stays */
        uint32_t i = slot_of(n, left);
        memmove(n->c + i + 2, n->c + i + 1, (n->n - i - 1) * sizeof *n->c);
        memmove(n->w + i + 2, n->w + i + 1, (n->n - i - 1) * sizeof *n->w);
        n->w[i] = yi_weight(left);
        n->c[i + 1] = right;
        n->w[i + 1] = yi_weight(right);
        n->n++;
        yi_set_leaf(right, n);
        return 0;
    }
    yst_add_weight(left, (int64_t)yi_weight(left) - (int64_t)n->w[slot_of(n, left)]);
    return yst_insert_after(b, left, right);
}

void yst_merge(ybranch *b, yitem *left, yitem *right)
{
    ynode *n = yi_leaf(right);
    if (n && n == yi_leaf(left)) {
        /* in one leaf: the leaf's weight (and so its ancestors') stays */
        uint32_t i = slot_of(n, right);
        n->w[slot_of(n, left)] += n->w[i];
        memmove(n->c + i, n->c + i + 1, (n->n - i - 1) * sizeof *n->c);
        memmove(n->w + i, n->w + i + 1, (n->n - i - 1) * sizeof *n->w);
        n->n--;
        yi_set_leaf(right, NULL);
        return;
    }
    uint64_t w = n ? n->w[slot_of(n, right)] : 0;
    yst_remove(b, right);
    yst_add_weight(left, (int64_t)w);
}

void yst_add_weight(yitem *it, int64_t delta)
{
    ynode *n = yi_leaf(it);
    if (delta == 0 || n == NULL)
        return;
    n->w[slot_of(n, it)] += (uint64_t)delta;
    propagate(n, delta);
}

void yst_remove(ybranch *b, yitem *it)
{
    ynode *n = yi_leaf(it);
    if (n == NULL)
        return;
    uint32_t i = slot_of(n, it);
    int64_t w = (int64_t)n->w[i];
    propagate(n, -w);
    yi_set_leaf(it, NULL);
    for (;;) {
        memmove(n->c + i, n->c + i + 1, (n->n - i - 1) * sizeof *n->c);
        memmove(n->w + i, n->w + i + 1, (n->n - i - 1) * sizeof *n->w);
        n->n--;
        if (n->n > 0 || n->parent == NULL)
            break;
        ynode *p = n->parent;
        i = slot_of(p, n);
        free(n);
        n = p;
    }
    if (n->parent == NULL && n->n == 0) {
        free(n);
        b->tree = NULL;
        return;
    }
    (void)b;
    /* collapse a root with a single inner child */
    while (b->tree && !b->tree->is_leaf && b->tree->n == 1) {
        ynode *r = b->tree;
        b->tree = r->c[0];
        b->tree->parent = NULL;
        free(r);
    }
}

yitem *yst_find(const ybranch *cb, uint64_t index, uint32_t *offset)
{
    ybranch *b = (ybranch *)cb; /* building the index is not a change */
    if (!b->indexed && build(b))
        return NULL;
    const ynode *n = b->tree;
    if (n == NULL)
        return NULL;
    for (;;) {
        uint32_t i;
        for (i = 0; i < n->n; i++) {
            if (index < n->w[i])
                break;
            index -= n->w[i];
        }
        if (i == n->n)
            return NULL;
        if (n->is_leaf) {
            *offset = (uint32_t)index;
            return n->c[i];
        }
        n = n->c[i];
    }
}

uint64_t yst_index(const yitem *it)
{
    uint64_t s = 0;
    const pkc_ydoc *doc = yi_doc(it);
    ybranch *b = yi_parent(doc, it);
    if (yi_leaf(it) == NULL && (b->indexed || build(b))) {
        for (const yitem *x = yi_left(doc, it); x; x = yi_left(doc, x))
            s += yi_weight(x);
        return s;
    }
    const ynode *n = yi_leaf(it);
    const void *child = it;
    while (n) {
        for (uint32_t i = 0; n->c[i] != child; i++)
            s += n->w[i];
        child = n;
        n = n->parent;
    }
    return s;
}

static void node_free(ynode *n)
{
    if (!n->is_leaf)
        for (uint32_t i = 0; i < n->n; i++)
            node_free(n->c[i]);
    else
        for (uint32_t i = 0; i < n->n; i++)
            yi_set_leaf((yitem *)n->c[i], NULL);
    free(n);
}

void yst_free(ybranch *b)
{
    if (b->tree)
        node_free(b->tree);
    b->tree = NULL;
    b->indexed = 0;
}

static int check_node(const ynode *n, uint64_t *sum)
{
    uint64_t s = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        if (n->is_leaf) {
            const yitem *it = n->c[i];
            if (yi_leaf(it) != n || n->w[i] != yi_weight(it))
                return -1;
            s += n->w[i];
        } else {
            const ynode *c = n->c[i];
            uint64_t cs;
            if (c->parent != n || check_node(c, &cs) || cs != n->w[i])
                return -1;
            s += cs;
        }
    }
    *sum = s;
    return 0;
}

int yst_check(const ybranch *b)
{
    if (!b->indexed) {
        uint64_t total = 0;
        for (const yitem *it = b->start; it; it = yi_right(b->doc, it)) {
            if (yi_leaf(it))
                return -5;
            total += yi_weight(it);
        }
        return total == b->length ? 0 : -6;
    }
    /* every list item is in the tree, in list order, with the right weight */
    const ynode *leaf = NULL;
    uint32_t li = 0;
    uint64_t total = 0;
    for (const yitem *it = b->start; it; it = yi_right(b->doc, it)) {
        if (yi_leaf(it) == NULL)
            return -1;
        if (yi_leaf(it) != leaf) {
            leaf = yi_leaf(it);
            li = 0;
        }
        if (li >= leaf->n || leaf->c[li] != it)
            return -2;
        li++;
        total += yi_weight(it);
    }
    if (b->tree == NULL)
        return b->start ? -3 : 0;
    uint64_t s;
    if (check_node(b->tree, &s) || s != total || total != b->length)
        return -4;
    return 0;
}
