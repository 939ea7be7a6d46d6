/* txn.h: transactions (txn.c). */
#ifndef PKC_CRDT_TXN_H
#define PKC_CRDT_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "crdt/ds.h"
#include "crdt/item.h"

typedef struct ybranch ybranch;
typedef struct ykey ykey;

/* ------------------------------------------------------------------------ */
/* Transactions.                                                            */

typedef struct ychanged {
    ybranch *b;
    uint8_t list;    /* the list part changed (Yjs's `null` parentSub) */
    ykey **keys;     /* changed keys */
    uint32_t nkeys, capkeys;
} ychanged;

/* Events delivered to deep observers of a type (Yjs changedParentTypes). */
typedef struct ycparent {
    ybranch *b;
    pkc_yevent **events;
    uint32_t n, cap;
} ycparent;

struct pkc_ytxn {
    pkc_ydoc *doc;
    const void *origin;
    int local;
    uint32_t seq;          /* doc->txn_seq of this transaction */
    uint32_t *touched;     /* client indices this transaction added to */
    uint32_t ntouched, captouched;
    uint32_t *befores;     /* their states before */
    uint32_t nbefores, capbefores;
    uint32_t *frozen;      /* untouched clients changed by later ones */
    uint32_t nfrozen, capfrozen;
    uint32_t *frozen_state;
    uint32_t nfrozen_state, capfrozen_state;
    yds ds;                /* deletes of this transaction */
    uint32_t *ds_order;    /* clients in the order they first got a delete */
    uint32_t nds_order, capds_order;
    ychanged *changed;
    uint32_t nchanged, capchanged;
    ycparent *cparents;    /* types with a changed descendant (or self) */
    uint32_t ncparents, capcparents;
    pkc_yevent **events;
    uint32_t nevents, capevents;
    yid *merge;            /* split-off items to try to merge afterwards */
    size_t nmerge, capmerge;
    int need_fmt_cleanup;
    int committed;
    int cleanup;           /* observers are running */
    pkc_ytxn *next;        /* queue of transactions awaiting cleanup */
};

int yc_txn_begin(pkc_ydoc *doc, const void *origin, int local, pkc_ytxn **out);
int yc_txn_commit(pkc_ytxn *txn);
/* Records the client's state before this transaction changes it. */
int yc_txn_touch(pkc_ytxn *txn, uint32_t cix);
uint32_t yc_txn_before(const pkc_ytxn *txn, uint32_t cix);
int yc_txn_add_delete(pkc_ytxn *txn, uint32_t cix, uint32_t clock, uint32_t len);
int yc_txn_add_merge(pkc_ytxn *txn, yid id);
/* Whether the transaction inserted (adds) / deleted (deletes) a struct. */
int yc_txn_adds(const pkc_ytxn *txn, const yitem *it);
int yc_txn_deletes(const pkc_ytxn *txn, const yitem *it);
/* Own client id for new items (allocates its table entry). */
int yc_own_client(pkc_ydoc *doc, uint32_t *cix);

#endif
