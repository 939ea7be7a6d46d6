/*
 * txn.c: transactions. A transaction records the state of each client it
 * touches (Yjs's beforeState, but only for clients it touches), its deletes,
 * the types it changed and the items split during it. Committing runs
 * Yjs's cleanupTransactions: observers, deep observers, after-transaction
 * hooks, text formatting cleanup, garbage collection, merging of structs,
 * the client-id collision check and the update event. Transactions started
 * by callbacks during a cleanup run after it, in order.
 */
#include "crdt/txn.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/content.h"
#include "crdt/doc.h"
#include "crdt/ds.h"
#include "crdt/event.h"
#include "crdt/integrate.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/split.h"
#include "crdt/text.h"
#include "crdt/update.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/rng.h"

/* Transactions committed but not yet cleaned up see the states of clients
 * they did not touch as they were at their commit: when a later
 * transaction touches such a client first, the old state is frozen into
 * them. */
static int freeze_for_pending(pkc_ydoc *doc, uint32_t cix)
{
    for (pkc_ytxn *t = doc->cleanup_head; t; t = t->next) {
        int found = 0;
        for (uint32_t i = 0; i < t->ntouched && !found; i++)
            found = t->touched[i] == cix;
        for (uint32_t i = 0; i < t->nfrozen && !found; i++)
            found = t->frozen[i] == cix;
        if (!found && (PKC_ARRAY_PUSH32(t->frozen, t->nfrozen, t->capfrozen, cix) ||
                       PKC_ARRAY_PUSH32(t->frozen_state, t->nfrozen_state, t->capfrozen_state,
                                 doc->cl[cix].state)))
            return pkc_error_code(PKC_ERR_NOMEM);
    }
    return 0;
}

int yc_txn_touch(pkc_ytxn *txn, uint32_t cix)
{
    pkc_ydoc *doc = txn->doc;
    yclient *c = &doc->cl[cix];
    if (c->txn_mark == txn->seq)
        return 0;
    if (doc->cleanup_head && freeze_for_pending(doc, cix))
        return pkc_error_code(PKC_ERR_NOMEM);
    c->txn_mark = txn->seq;
    c->before = c->state;
    if (PKC_ARRAY_PUSH32(txn->touched, txn->ntouched, txn->captouched, cix) ||
        PKC_ARRAY_PUSH32(txn->befores, txn->nbefores, txn->capbefores, c->state))
        return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

uint32_t yc_txn_before(const pkc_ytxn *txn, uint32_t cix)
{
    const yclient *c = &txn->doc->cl[cix];
    if (c->txn_mark == txn->seq)
        return c->before;
    for (uint32_t i = 0; i < txn->nfrozen; i++)
        if (txn->frozen[i] == cix)
            return txn->frozen_state[i];
    if (txn->doc->txn != txn) {
        for (uint32_t i = 0; i < txn->ntouched; i++)
            if (txn->touched[i] == cix)
                return txn->befores[i];
    }
    return c->state;
}

int yc_txn_add_delete(pkc_ytxn *txn, uint32_t cix, uint32_t clock, uint32_t len)
{
    yclient *c = &txn->doc->cl[cix];
    if (c->ds_mark != txn->seq) {
        /* Yjs's delete set is a Map: remember the order clients came in */
        c->ds_mark = txn->seq;
        if (PKC_ARRAY_PUSH32(txn->ds_order, txn->nds_order, txn->capds_order, cix))
            return pkc_error_code(PKC_ERR_NOMEM);
    }
    if (yds_add(&txn->ds, c->id, clock, len))
        return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

int yc_txn_add_merge(pkc_ytxn *txn, yid id)
{
    if (PKC_ARRAY_PUSH(txn->merge, txn->nmerge, txn->capmerge, id))
        return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

int yc_txn_adds(const pkc_ytxn *txn, const yitem *it)
{
    return it->id.clock >= yc_txn_before(txn, it->id.client);
}

int yc_txn_deletes(const pkc_ytxn *txn, const yitem *it)
{
    return yds_contains(&txn->ds, txn->doc->cl[it->id.client].id, it->id.clock);
}

int yc_own_client(pkc_ydoc *doc, uint32_t *cix)
{
    return yc_client_get(doc, doc->client_id, cix);
}

int yc_txn_begin(pkc_ydoc *doc, const void *origin, int local, pkc_ytxn **out)
{
    if (doc->txn)
        return pkc_error(PKC_ERR_STATE, "a transaction is already open on this document");
    pkc_ytxn *t = doc->spare_txn;
    if (t) {
        doc->spare_txn = NULL;
    } else if ((t = calloc(1, sizeof *t)) == NULL) {
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    t->doc = doc;
    t->origin = origin;
    t->local = local;
    if (++doc->txn_seq == 0)
        ++doc->txn_seq;
    t->seq = doc->txn_seq;
    doc->txn = t;
    *out = t;
    return 0;
}

/* Empties a finished transaction but keeps its arrays, so that the next
 * transaction of the document does not allocate them again. */
static void txn_recycle(pkc_ytxn *t)
{
    for (uint32_t i = 0; i < t->nchanged; i++)
        free(t->changed[i].keys);
    for (uint32_t i = 0; i < t->ncparents; i++)
        free(t->cparents[i].events);
    for (uint32_t i = 0; i < t->nevents; i++)
        yc_event_free(t->events[i]);
    t->nchanged = t->ncparents = t->nevents = 0;
    /* keep small arrays only: a big transaction's would stay allocated */
#define SHRINK(arr, cap)                                                                           \
    do {                                                                                           \
        if ((cap) > 64) {                                                                          \
            free(arr);                                                                             \
            (arr) = NULL;                                                                          \
            (cap) = 0;                                                                             \
        }                                                                                          \
    } while (0)
    SHRINK(t->changed, t->capchanged);
    SHRINK(t->cparents, t->capcparents);
    SHRINK(t->events, t->capevents);
    SHRINK(t->touched, t->captouched);
    SHRINK(t->befores, t->capbefores);
    SHRINK(t->frozen, t->capfrozen);
    SHRINK(t->frozen_state, t->capfrozen_state);
    SHRINK(t->ds_order, t->capds_order);
    SHRINK(t->merge, t->capmerge);
    SHRINK(t->ds.r, t->ds.cap);
#undef SHRINK
    t->ntouched = t->nbefores = t->nfrozen = t->nfrozen_state = t->nds_order = 0;
    t->nmerge = 0;
    t->ds.n = 0;
    t->origin = NULL;
    t->local = 0;
    t->seq = 0;
    t->need_fmt_cleanup = 0;
    t->committed = 0;
    t->cleanup = 0;
    t->next = NULL;
}

void yc_txn_free(pkc_ytxn *t)
{
    for (uint32_t i = 0; i < t->nchanged; i++)
        free(t->changed[i].keys);
    free(t->changed);
    for (uint32_t i = 0; i < t->ncparents; i++)
        free(t->cparents[i].events);
    free(t->cparents);
    for (uint32_t i = 0; i < t->nevents; i++)
        yc_event_free(t->events[i]);
    free(t->events);
    free(t->touched);
    free(t->befores);
    free(t->frozen);
    free(t->frozen_state);
    free(t->merge);
    free(t->ds_order);
    yds_free(&t->ds);
    free(t);
}

/* ------------------------------------------------------------------------ */
/* Merging structs after a transaction (tryToMergeWithLefts & co.)          */

static int is_first(ypos p)
{
    return p.b == 0 && p.i == 0;
}

/* Merges the struct at *p into its left neighbours while possible; *p ends
 * at the surviving left struct. Returns the number merged. */
static uint32_t merge_lefts(pkc_ydoc *doc, uint32_t cix, ypos *pp)
{
    yclient *c = &doc->cl[cix];
    ypos p = *pp;
    uint32_t merged = 0;
    for (;;) {
        ypos q = p;
        if (!ycl_prev(c, &q))
            break;
        yitem *right = ycl_at(c, p), *left = ycl_at(c, q);
        if (yi_deleted(left) != yi_deleted(right) || (left->kind == YC_GC) != (right->kind == YC_GC))
            break;
        /* (out of memory for the store: keep them apart, still correct) */
        if (!yc_mergeable(doc, left, right) || ycl_removable(c, p) ||
            !yc_merge_items(doc, left, right))
            break;
        ykey *key = yi_psub(doc, right);
        if (key && key->val == right)
            key->val = left;
        uint32_t h = yb_h(&c->b[p.b], p.i);
        ycl_remove(c, p);
        /* its content is left's now: only the item goes back to the pool */
        right->kind = YC_FREE;
        right->right = doc->free_items;
        doc->free_items = h;
        merged++;
        p = q;
    }
    *pp = p;
    return merged;
}

static void merge_range_down(pkc_ydoc *doc, uint32_t cix, ypos p, uint32_t min_clock)
{
    yclient *c = &doc->cl[cix];
    while (!is_first(p) && ycl_at(c, p)->id.clock >= min_clock) {
        merge_lefts(doc, cix, &p);
        if (!ycl_prev(c, &p))
            break;
    }
}

static void try_gc_ds(pkc_ydoc *doc, const yds *ds)
{
    for (size_t k = ds->n; k-- > 0;) {
        const yrange *d = &ds->r[k];
        uint32_t cix;
        if (!yc_client_find(doc, d->client, &cix) || doc->cl[cix].nb == 0)
            continue;
        yclient *c = &doc->cl[cix];
        uint32_t end = d->clock + d->len;
        ypos p = ycl_find(c, d->clock);
        for (;;) {
            yitem *it = ycl_at(c, p);
            if (it->id.clock >= end)
                break;
            if (it->kind != YC_GC && yi_deleted(it) && !(it->flags & YF_KEEP) &&
                (doc->gc_filter == NULL || doc->gc_filter(doc->gc_filter_ud, (pkc_ytype *)yi_parent(doc, it))))
                yc_item_gc(doc, it, 0);
            if (!ycl_next(c, &p))
                break;
        }
    }
}

/* Where merge_after starts merging each client's structs: it tries every
 * pair of neighbouring structs whose right one starts at merge_min or later
 * (the struct holding the state before the transaction, or anywhere when
 * that is the first). */
static void merge_after_bounds(pkc_ytxn *t)
{
    pkc_ydoc *doc = t->doc;
    for (uint32_t i = 0; i < t->ntouched; i++) {
        yclient *c = &doc->cl[t->touched[i]];
        if (c->state == t->befores[i] || c->nb == 0)
            continue;
        ypos f = ycl_find(c, t->befores[i]);
        c->merge_mark = t->seq;
        c->merge_min = is_first(f) ? 0 : ycl_at(c, f)->id.clock;
    }
}

/* Merging is the same whatever the order the neighbours are tried in
 * (whether two neighbours merge does not change when either merges with
 * its other neighbour first), so a range whose pairs merge_after tries
 * anyway is skipped here: when loading a document, all of them. Merges
 * here only move the struct holding the old state to an earlier clock, so
 * merge_after still tries at least the pairs it would have. */
static void try_merge_ds(pkc_ytxn *t, const yds *ds)
{
    pkc_ydoc *doc = t->doc;
    merge_after_bounds(t);
    for (size_t k = ds->n; k-- > 0;) {
        const yrange *d = &ds->r[k];
        uint32_t cix;
        if (!yc_client_find(doc, d->client, &cix) || doc->cl[cix].nb == 0)
            continue;
        yclient *c = &doc->cl[cix];
        if (c->merge_mark == t->seq && d->clock >= c->merge_min)
            continue;
        ypos p = ycl_find(c, d->clock + d->len - 1);
        ycl_next(c, &p);
        merge_range_down(doc, cix, p, d->clock);
    }
}

static void merge_after(pkc_ytxn *t)
{
    pkc_ydoc *doc = t->doc;
    for (uint32_t i = 0; i < t->ntouched; i++) {
        uint32_t cix = t->touched[i];
        yclient *c = &doc->cl[cix];
        uint32_t before = t->befores[i];
        if (c->state == before || c->nb == 0)
            continue;
        ypos f = ycl_find(c, before);
        if (is_first(f) && !ycl_next(c, &f))
            continue;
        merge_range_down(doc, cix, ycl_last(c), ycl_at(c, f)->id.clock);
    }
    for (size_t i = t->nmerge; i-- > 0;) {
        yid id = t->merge[i];
        yclient *c = &doc->cl[id.client];
        ypos p = ycl_find(c, id.clock);
        ypos q = p;
        if (ycl_next(c, &q)) {
            if (merge_lefts(doc, id.client, &q) > 1)
                continue;
            p = ycl_find(c, id.clock);
        }
        if (!is_first(p))
            merge_lefts(doc, id.client, &p);
    }
}

/* ------------------------------------------------------------------------ */
/* Cleanup                                                                  */

static int call_observers(pkc_ytxn *t)
{
    int rc;
    /* type observers, in the order types were first changed */
    for (uint32_t i = 0; i < t->nchanged; i++) {
        ychanged *ch = &t->changed[i];
        ybranch *b = ch->b;
        if (b == NULL || b->dead || (b->item && yi_deleted(b->item)))
            continue;
        if ((rc = yc_call_type_observers(t, ch)))
            return rc;
    }
    /* deep observers */
    for (uint32_t i = 0; i < t->ncparents; i++) {
        ybranch *b = t->cparents[i].b;
        if (b->ndobs == 0 || b->dead || (b->item && yi_deleted(b->item)))
            continue;
        if ((rc = yc_call_deep_observers(t, &t->cparents[i])))
            return rc;
    }
    pkc_ydoc *doc = t->doc;
    for (uint32_t i = 0; i < doc->naobs; i++)
        doc->aobs[i].fn(doc->aobs[i].ud, t);
    if (t->need_fmt_cleanup && (rc = yc_text_cleanup_after_txn(t)))
        return rc;
    return 0;
}

static int cleanup(pkc_ytxn *t)
{
    pkc_ydoc *doc = t->doc;
    int rc;
    yds_sort_merge(&t->ds);
    t->cleanup = 1;
    rc = call_observers(t);
    if (doc->gc)
        try_gc_ds(doc, &t->ds);
    try_merge_ds(t, &t->ds);
    merge_after(t);
    if (!t->local) {
        uint32_t own;
        if (yc_client_find(doc, doc->client_id, &own) && doc->cl[own].state != yc_txn_before(t, own)) {
            /* another peer uses our client id: take a new one, as Yjs does */
            uint32_t id;
            pkc_rng_fill(&doc->rng, &id, sizeof id);
            doc->client_id = id;
        }
    }
    if (doc->nuobs > 0) {
        /* the document's buffer: observers may start transactions (whose
         * updates are written after this call returns), never re-enter */
        pkc_buf b = doc->ubuf;
        memset(&doc->ubuf, 0, sizeof doc->ubuf);
        pkc_buf_reset(&b);
        if (b.limit == 0)
            pkc_buf_init(&b);
        int has;
        int rc2 = yc_txn_encode_update(t, &b, &has);
        if (rc2 == 0 && has) {
            for (uint32_t i = 0; i < doc->nuobs; i++)
                doc->uobs[i].fn(doc->uobs[i].ud, b.data, b.len, t->origin);
        }
        if (doc->ubuf.data == NULL && b.cap <= 1 << 16)
            doc->ubuf = b;
        else
            pkc_buf_free(&b);
        if (rc == 0)
            rc = rc2;
    }
    return rc;
}

int yc_txn_commit(pkc_ytxn *txn)
{
    pkc_ydoc *doc = txn->doc;
    if (doc->txn != txn)
        return pkc_error(PKC_ERR_STATE, "transaction is not the open one");
    doc->txn = NULL;
    txn->committed = 1;
    txn->next = NULL;
    if (doc->cleanup_tail)
        doc->cleanup_tail->next = txn;
    else
        doc->cleanup_head = txn;
    doc->cleanup_tail = txn;
    if (doc->cleaning)
        return 0;
    doc->cleaning = 1;
    int rc = 0;
    while (doc->cleanup_head) {
        pkc_ytxn *t = doc->cleanup_head;
        int r = cleanup(t);
        if (rc == 0)
            rc = r;
        doc->cleanup_head = t->next;
        if (doc->cleanup_head == NULL)
            doc->cleanup_tail = NULL;
        if (doc->spare_txn == NULL) {
            txn_recycle(t);
            doc->spare_txn = t;
        } else {
            yc_txn_free(t);
        }
    }
    doc->cleaning = 0;
    if (doc->ncompact)
        yc_compact(doc);
    return rc;
}
