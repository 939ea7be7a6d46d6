/* split.h: splitting and merging items (split.c). */
#ifndef PKC_CRDT_SPLIT_H
#define PKC_CRDT_SPLIT_H

#include <stdint.h>

#include "pkc.h"
#include "crdt/item.h"

/* Yjs getItemCleanStart / getItemCleanEnd: split so that clock starts /
 * ends a struct. Return NULL only when out of memory. */
yitem *yc_clean_start(pkc_ytxn *txn, uint32_t cix, uint32_t clock);
yitem *yc_clean_end(pkc_ytxn *txn, uint32_t cix, uint32_t clock);
/* Splits item at `diff` units; returns the right part (NULL: no memory). */
yitem *yc_split(pkc_ytxn *txn, yitem *left, uint32_t diff);
/* Whether `right` would merge into `left` (Item.mergeWith's rules). */
int yc_mergeable(const pkc_ydoc *doc, const yitem *left, const yitem *right);
/* Merges `right` into `left` (yc_mergeable); the caller removes right from
 * the store. Returns 0 when out of memory (they stay apart), else 1. */
int yc_merge_items(pkc_ydoc *doc, yitem *left, yitem *right);

#endif
