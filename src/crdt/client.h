/* client.h: the clients of a document and the client table (client.c). */
#ifndef PKC_CRDT_CLIENT_H
#define PKC_CRDT_CLIENT_H

#include <stdint.h>

#include "crdt/doc.h"

/* ------------------------------------------------------------------------ */
/* Clients.                                                                 */

typedef struct yblock yblock;

typedef struct yclient {
    pkc_ydoc *doc;
    uint64_t id;
    yblock *b;
    uint32_t *first; /* first clock of each block */
    uint32_t nb, capb;
    uint32_t state;     /* next expected clock */
    uint32_t txn_mark;  /* == doc->txn_seq when `before` is valid */
    uint32_t before;    /* state when the transaction first touched it */
    uint32_t ds_mark;   /* == doc->txn_seq once in txn->ds_order */
    /* The content bytes of the client's items, appended as they come (so
     * mostly in clock order, and consecutive items that merge are usually
     * adjacent already). Bytes no item uses any more are dropped by
     * yc_compact at the end of a transaction once they are many. */
    uint8_t *arena;
    uint32_t alen, acap;
    uint32_t alive;     /* bytes of alen that items use */
    uint32_t compact_mark; /* in doc->compact */
    uint32_t fb, fi;    /* where ycl_find found the last struct (a hint) */
    uint32_t merge_mark; /* == txn seq while merge_min is valid (txn.c) */
    uint32_t merge_min;  /* structs from this clock on are merged after the transaction */
} yclient;

/* The client table. */
int yc_client_find_slow(const pkc_ydoc *doc, uint64_t id, uint32_t *ix);
/* 1 and its index when the client is known; updates name the same few
 * clients again and again: the last one found is tried first. */
static inline int yc_client_find(const pkc_ydoc *doc, uint64_t id, uint32_t *ix)
{
    if (doc->clhint && doc->cl[doc->clhint - 1].id == id) {
        *ix = doc->clhint - 1;
        return 1;
    }
    return yc_client_find_slow(doc, id, ix);
}
int yc_client_get(pkc_ydoc *doc, uint64_t id, uint32_t *ix); /* adds */
static inline uint32_t yc_state(const pkc_ydoc *doc, uint64_t id)
{
    uint32_t ix;
    return yc_client_find(doc, id, &ix) ? doc->cl[ix].state : 0;
}

#endif
