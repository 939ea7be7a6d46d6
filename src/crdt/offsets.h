/* offsets.h: element offsets of long Any / JSON items (offsets.c). */
#ifndef PKC_CRDT_OFFSETS_H
#define PKC_CRDT_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "crdt/item.h"

/* Byte offset of element k of an Any / JSON item (O(1) for long items). */
size_t yc_elem_offset(const pkc_ydoc *doc, const yitem *it, uint32_t k);
void yc_offs_free(pkc_ydoc *doc);
/* Hooks for the content changes of Any / JSON items: dropped, split at
 * `diff` (left keeps its table, cut), `right` merged into `left` (whose
 * content had old_cn bytes before). */
void yc_offs_drop(pkc_ydoc *doc, const yitem *it);
void yc_offs_split(pkc_ydoc *doc, const yitem *left, uint32_t diff);
void yc_offs_merged(pkc_ydoc *doc, const yitem *left, const yitem *right, size_t old_cn);

#endif
