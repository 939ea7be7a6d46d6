/*
 * doc.h: the document (doc.c), and the model of the Yjs-compatible engine.
 *
 * The model follows Yjs (node_modules/yjs/src) closely, so that every
 * decision that shows on the wire (origins, splits, merges, delete sets) is
 * the same:
 *
 *   - A document has a struct store: per client, the structs (items and GC
 *     ranges) ordered by clock, covering clocks 0..state without gaps.
 *   - Every shared type is a branch: a doubly linked list of items in
 *     document order (the "list" part) plus a map from keys to the newest
 *     item of each key (the "map" part), as Yjs's AbstractType.
 *   - Items are split where an origin or a delete points inside them and
 *     merged again at the end of each transaction.
 *
 * What differs is storage: items come from a pool, per-client structs live
 * in a blocked array (so splits do not move the whole array), and every
 * branch's list has an order-statistic tree over its items so an index is
 * found in O(log n) instead of Yjs's scan from a search marker.
 *
 * Client ids are stored in items as an index into the document's client
 * table (yid.client), clocks as 32 bits: updates with larger clocks are
 * rejected (PKC_ERR_RANGE).
 */
#ifndef PKC_CRDT_DOC_H
#define PKC_CRDT_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "crdt/item.h"
#include "crdt/itab.h"
#include "crdt/keymap.h"
#include "util/buf.h"

typedef struct ybranch ybranch;
typedef struct yclient yclient;
typedef struct yfmt yfmt;
typedef struct yrange yrange;

/* ------------------------------------------------------------------------ */
/* The document.                                                            */

typedef struct yredone {
    yid id;    /* the item (its first clock) */
    yid to;
} yredone;

typedef struct yupdate_obs {
    void (*fn)(void *ud, const uint8_t *update, size_t len, const void *origin);
    void *ud;
    uint32_t id;
} yupdate_obs;

typedef struct yafter_obs {
    void (*fn)(void *ud, pkc_ytxn *txn);
    void *ud;
    uint32_t id;
} yafter_obs;

struct pkc_ydoc {
    uint64_t client_id;
    int gc;
    int (*gc_filter)(void *ud, const pkc_ytype *parent);
    void *gc_filter_ud;
    pkc_rng rng;
    char *guid;

    yclient *cl;
    uint32_t ncl, capcl;
    pkc_hashtab clslots; /* uint32_t slots: index + 1 into cl, by client id */
    uint32_t clhint;  /* index + 1 of the client found last (a cache) */

    ymap roots;       /* name -> ybranch */
    /* what items belong to (yitem.owner): a type's list (k NULL) or one of
     * its map keys; entry 0 is none */
    struct yowner *owners;
    uint32_t nowners, capowners;
    uint32_t *free_owners;
    uint32_t nfree_owners, capfree_owners;
    ybranch *all;     /* every branch ever created (freed with the doc) */

    /* pending structs (a v1 update) and what they miss; pending deletes */
    uint8_t *pending;
    size_t pending_len;
    yrange *missing;  /* client, clock (len unused) */
    size_t nmissing;
    uint8_t *pending_ds;
    size_t pending_ds_len;

    pkc_ytxn *txn;     /* the open transaction */
    pkc_ytxn *spare_txn; /* a finished one, for reuse */
    pkc_buf ubuf;      /* for encoding transactions' updates */
    pkc_ytxn *cleanup_head; /* committed, awaiting (or in) cleanup */
    pkc_ytxn *cleanup_tail;
    int cleaning;
    uint32_t txn_seq;

    /* item pool: chunks of YC_CHUNK items; handle = chunk << YC_CHUNK_BITS
     * | slot, 0 (chunk 0, slot 0, never used) meaning none */
    struct ychunk **chunks;
    uint32_t nchunks, capchunks;
    uint32_t chunk_used; /* slots taken in the last chunk */
    uint32_t free_items; /* handle of the first free item (linked by right) */

    /* redone links (UndoManager) */
    yredone *redone;
    size_t nredone, capredone;

    yupdate_obs *uobs;
    uint32_t nuobs, capuobs;
    yafter_obs *aobs;
    uint32_t naobs, capaobs;
    uint32_t next_obs_id;

    /* scratch for the conflict resolution of integrate() */
    struct yset *scratch;

    /* byte offsets of the elements of long Any / JSON items (offsets.c) */
    yitab offs;

    /* format contents (yitem.content of FORMAT items); entry 0 unused */
    yfmt **fmts;
    uint32_t nfmts, capfmts;
    uint32_t *free_fmts;
    uint32_t nfree_fmts, capfree_fmts;

    /* byte counts of YC_CN_BIG items (content.c) */
    yitab bigcn;

    /* clients whose arenas hold many unused bytes (yc_compact) */
    uint32_t *compact;
    uint32_t ncompact, capcompact;
};

#endif
