/*
 * pool.h: the item pool (pool.c): items in chunks that never move, and the
 * handles that name them.
 */
#ifndef PKC_CRDT_POOL_H
#define PKC_CRDT_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/doc.h"
#include "crdt/item.h"

/* ------------------------------------------------------------------------ */
/* Item handles.                                                            */

/* Items live in chunks that never move, so `yitem *` pointers stay valid;
 * inside items, links to other items are 32-bit handles. An item finds its
 * chunk (and so its document and its own handle) from its slot. */
typedef struct ynode ynode;

#define YC_CHUNK_BITS 7
#define YC_CHUNK (1u << YC_CHUNK_BITS)

typedef struct ychunk {
    pkc_ydoc *doc;
    uint32_t base; /* handle of items[0] */
    uint32_t spare;
    ynode **leaf;  /* the tree leaf of each item (seqtree.c), NULL until one has one */
    yitem items[YC_CHUNK];
} ychunk;

static inline ychunk *yi_chunk(const yitem *it)
{
    return (ychunk *)(void *)((char *)(void *)(it - it->slot) - offsetof(ychunk, items));
}

/* The handle of an item (0 for NULL). */
static inline uint32_t yi_h(const yitem *it)
{
    return it ? yi_chunk(it)->base + it->slot : 0;
}

static inline pkc_ydoc *yi_doc(const yitem *it)
{
    return yi_chunk(it)->doc;
}

/* The position-tree leaf holding a list item, or NULL. */
static inline ynode *yi_leaf(const yitem *it)
{
    ynode **l = yi_chunk(it)->leaf;
    return l ? l[it->slot] : NULL;
}

/* Sets it (the chunk's table exists: see yi_leaf_room). */
static inline void yi_set_leaf(yitem *it, ynode *n)
{
    ynode **l = yi_chunk(it)->leaf;
    if (l)
        l[it->slot] = n;
}

/* Makes room for the item's leaf; PKC_ERR_NOMEM. */
int yi_leaf_room(yitem *it);

/* The item of a handle (NULL for 0). */
static inline yitem *yc_item(const pkc_ydoc *doc, uint32_t h)
{
    return h ? &doc->chunks[h >> YC_CHUNK_BITS]->items[h & (YC_CHUNK - 1)] : NULL;
}

static inline yitem *yi_left(const pkc_ydoc *doc, const yitem *it)
{
    return yc_item(doc, it->left);
}

static inline yitem *yi_right(const pkc_ydoc *doc, const yitem *it)
{
    return yc_item(doc, it->right);
}

/* New items (zeroed) and freed ones. */
yitem *yc_item_alloc(pkc_ydoc *doc);
void yc_item_release(pkc_ydoc *doc, yitem *it); /* frees content too */

#endif
