/* integrate.h: integrating, deleting and collecting items (integrate.c). */
#ifndef PKC_CRDT_INTEGRATE_H
#define PKC_CRDT_INTEGRATE_H

#include <stdint.h>

#include "pkc.h"
#include "crdt/item.h"

typedef struct ybranch ybranch;
typedef struct ykey ykey;

/* ------------------------------------------------------------------------ */
/* Integration (integrate.c).                                               */

/* Integrates a new item whose id, origins, parent, psub, content and
 * left/right (as found) are set; `offset` as in Yjs. */
int yc_integrate(pkc_ytxn *txn, yitem *it, uint32_t offset);
/* Integrates a GC range (offset already applied). */
int yc_integrate_gc(pkc_ytxn *txn, yitem *it);
int yc_item_delete(pkc_ytxn *txn, yitem *it);
/* Collects an item's content (Item.gc); parent_gcd turns it into GC. */
void yc_item_gc(pkc_ydoc *doc, yitem *it, int parent_gcd);
/* Adds the branch (and key) to txn->changed as Yjs's
 * addChangedTypeToTransaction does. */
int yc_changed(pkc_ytxn *txn, ybranch *b, ykey *key);

/* Frees the scratch space of integration's conflict resolution. */
void yc_scratch_free(pkc_ydoc *doc);

#endif
