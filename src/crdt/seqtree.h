/*
 * seqtree.h: positions: an order-statistic B+ tree over a list's items
 * (seqtree.c).
 */
#ifndef PKC_CRDT_SEQTREE_H
#define PKC_CRDT_SEQTREE_H

#include <stdint.h>

#include "crdt/item.h"

typedef struct ybranch ybranch;
typedef struct ynode ynode;

/* ------------------------------------------------------------------------ */
/* Order-statistic tree over the items of a list (seqtree.c).               */

#define YN_ORDER 32

struct ynode {
    ynode *parent;
    uint32_t n;
    uint32_t is_leaf;
    uint64_t w[YN_ORDER];
    void *c[YN_ORDER]; /* yitem * in leaves, ynode * above */
};

/* The tree is built on first use (an index lookup) and kept up to date
 * from then on; documents that only receive remote changes never build
 * one. */
/* Inserts `it` after `after` (NULL: at the front) in b's tree. */
int yst_insert_after(ybranch *b, yitem *after, yitem *it);
/* The last item of the list (deleted or not), or NULL. */
yitem *yst_last(const ybranch *b);
void yst_remove(ybranch *b, yitem *it);
/* The item's weight changed by `delta` (delete, split, merge). */
void yst_add_weight(yitem *it, int64_t delta);
/* left (in the tree) was just split: right (not yet in it) follows it,
 * both with their weights now. PKC_ERR_NOMEM. */
int yst_split(ybranch *b, yitem *left, yitem *right);
/* right (its list neighbour) merged into left: its weight goes to left and
 * it leaves the tree. */
void yst_merge(ybranch *b, yitem *left, yitem *right);
/* The item whose weight covers unit `index` (< the tree's total), and the
 * offset of that unit inside it. NULL when out of memory (building). */
yitem *yst_find(const ybranch *b, uint64_t index, uint32_t *offset);
/* Units before `it` in its list (builds the tree if needed; on failure to
 * allocate, counts by walking the list). */
uint64_t yst_index(const yitem *it);
void yst_free(ybranch *b);
/* Debug check of the whole tree; returns 0 when consistent. */
int yst_check(const ybranch *b);

#endif
