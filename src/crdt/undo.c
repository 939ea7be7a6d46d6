/*
 * undo.c: the UndoManager, as Yjs's (UndoManager.js and redoItem in
 * Item.js). Undo deletes what a stack item inserted and re-creates what it
 * deleted; the order in which items are re-created decides their new
 * clocks, so delete sets here keep Yjs's client order (a JavaScript Map's
 * insertion order) beside their sorted ranges.
 */
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/content.h"
#include "crdt/doc.h"
#include "crdt/ds.h"
#include "crdt/integrate.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/pool.h"
#include "crdt/redone.h"
#include "crdt/split.h"
#include "crdt/txn.h"
#include "crdt/types.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/versioned.h"

/* A delete set with its clients' order. */
typedef struct yods {
    yds ds;           /* sorted, merged */
    uint64_t *order;  /* client ids */
    size_t n, cap;
} yods;

static void yods_free(yods *d)
{
    yds_free(&d->ds);
    free(d->order);
    memset(d, 0, sizeof *d);
}

static int order_add(yods *d, uint64_t client)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->order[i] == client)
            return 0;
    return PKC_ARRAY_PUSH(d->order, d->n, d->cap, client) ? pkc_error_code(PKC_ERR_NOMEM) : 0;
}

/* mergeDeleteSets([a, b]) into a */
static int yods_merge(yods *a, const yods *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (order_add(a, b->order[i]))
            return pkc_error_code(PKC_ERR_NOMEM);
    return yds_merge(&a->ds, &b->ds);
}

typedef struct ystack_item {
    yods insertions, deletions;
} ystack_item;

struct pkc_yundo {
    pkc_ydoc *doc;
    ybranch **scope;
    size_t nscope, capscope;
    const void **origins; /* tracked origins (NULL and the manager itself too) */
    size_t norigins, caporigins;
    ystack_item *undo, *redo;
    size_t nundo, capundo, nredo, capredo;
    int undoing, redoing;
    ystack_item *curr; /* set while popping, as Yjs's currStackItem */
    int64_t last_change;
    uint32_t capture_timeout;
    pkc_clock clock;
    uint32_t hook_id;
};

/* ------------------------------------------------------------------------ */

static int is_parent_of(const ybranch *parent, const yitem *child)
{
    while (child) {
        const ybranch *p = yi_parent(parent->doc, child);
        if (p == parent)
            return 1;
        if (p == NULL || p->dead)
            return 0;
        child = p->item;
    }
    return 0;
}

static int in_scope(const pkc_yundo *um, const yitem *it)
{
    for (size_t i = 0; i < um->nscope; i++)
        if (is_parent_of(um->scope[i], it))
            return 1;
    return 0;
}

static void keep_item(yitem *it, int keep)
{
    while (it && ((it->flags & YF_KEEP) != 0) != keep) {
        if (keep)
            it->flags |= YF_KEEP;
        else
            it->flags &= (uint8_t)~YF_KEEP;
        const ybranch *p = yi_parent(yi_doc(it), it);
        if (p == NULL || p->dead)
            break;
        it = p->item;
    }
}

/* Yjs iterateDeletedStructs: clients in order, clean starts and ends (with
 * `txn`'s splits), fn for each struct. Positions are found again after
 * every call: fn may split structs. */
typedef int (*ystruct_cb)(void *ud, yitem *it);

static int iterate_deleted(pkc_ytxn *txn, const yods *d, ystruct_cb fn, void *ud)
{
    pkc_ydoc *doc = txn->doc;
    for (size_t o = 0; o < d->n; o++) {
        uint64_t client = d->order[o];
        uint32_t cix;
        if (!yc_client_find(doc, client, &cix) || doc->cl[cix].nb == 0)
            continue;
        yclient *c = &doc->cl[cix];
        size_t k = 0;
        while (k < d->ds.n && d->ds.r[k].client != client)
            k++;
        for (; k < d->ds.n && d->ds.r[k].client == client; k++) {
            const yrange *r = &d->ds.r[k];
            if (r->clock >= c->state)
                break;
            uint64_t end = (uint64_t)r->clock + r->len;
            if (yc_clean_start(txn, cix, r->clock) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            uint32_t clock = r->clock;
            for (;;) {
                yitem *it = yc_find(doc, cix, clock);
                if (end < (uint64_t)it->id.clock + it->len &&
                    yc_clean_start(txn, cix, (uint32_t)end) == NULL)
                    return pkc_error_code(PKC_ERR_NOMEM);
                uint32_t next = it->id.clock + it->len;
                int rc = fn(ud, it);
                if (rc)
                    return rc;
                if (next >= end || next >= c->state)
                    break;
                clock = next;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Recording                                                                */

typedef struct keepctx {
    pkc_yundo *um;
    int keep;
} keepctx;

static int keep_cb(void *ud, yitem *it)
{
    keepctx *k = ud;
    if (it->kind != YC_GC && in_scope(k->um, it))
        keep_item(it, k->keep);
    return 0;
}

static void stack_item_free(ystack_item *s)
{
    yods_free(&s->insertions);
    yods_free(&s->deletions);
}

static int clear_stack(pkc_ytxn *txn, pkc_yundo *um, ystack_item *st, size_t *n)
{
    keepctx k = {um, 0};
    int rc = 0;
    for (size_t i = 0; i < *n; i++) {
        if (rc == 0)
            rc = iterate_deleted(txn, &st[i].deletions, keep_cb, &k);
        stack_item_free(&st[i]);
    }
    *n = 0;
    return rc;
}

static int um_clear(pkc_yundo *um, int undo, int redo)
{
    if (!((undo && um->nundo) || (redo && um->nredo)))
        return 0;
    pkc_ytxn *txn = um->doc->txn;
    int own = 0, rc = 0;
    if (txn == NULL) {
        if ((rc = yc_txn_begin(um->doc, NULL, 1, &txn)))
            return rc;
        own = 1;
    }
    if (undo)
        rc = clear_stack(txn, um, um->undo, &um->nundo);
    if (redo && rc == 0)
        rc = clear_stack(txn, um, um->redo, &um->nredo);
    if (own) {
        int rc2 = yc_txn_commit(txn);
        if (rc == 0)
            rc = rc2;
    }
    return rc;
}

static int tracked(const pkc_yundo *um, const void *origin)
{
    if (origin == um)
        return 1;
    for (size_t i = 0; i < um->norigins; i++)
        if (um->origins[i] == origin)
            return 1;
    return 0;
}

static int scope_changed(const pkc_yundo *um, const pkc_ytxn *txn)
{
    for (size_t i = 0; i < um->nscope; i++)
        if (um->scope[i]->dtxn_mark == txn->seq)
            return 1;
    return 0;
}

static int txn_ds(const pkc_ytxn *txn, yods *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < txn->nds_order; i++)
        if (order_add(out, txn->doc->cl[txn->ds_order[i]].id))
            return pkc_error_code(PKC_ERR_NOMEM);
    return yds_copy(&out->ds, &txn->ds);
}

static void after_txn(void *ud, pkc_ytxn *txn)
{
    pkc_yundo *um = ud;
    pkc_ydoc *doc = txn->doc;
    if (!scope_changed(um, txn) || !tracked(um, txn->origin))
        return;
    int undoing = um->undoing, redoing = um->redoing;
    if (undoing)
        um->last_change = 0; /* stopCapturing */
    else if (!redoing)
        um_clear(um, 0, 1);
    yods ins, del;
    memset(&ins, 0, sizeof ins);
    if (txn_ds(txn, &del))
        goto nomem;
    for (uint32_t i = 0; i < txn->ntouched; i++) {
        uint32_t cix = txn->touched[i];
        uint32_t before = txn->befores[i], after = doc->cl[cix].state;
        if (after > before &&
            (order_add(&ins, doc->cl[cix].id) || yds_add(&ins.ds, doc->cl[cix].id, before, after - before)))
            goto nomem;
    }
    yds_sort_merge(&ins.ds);
    int64_t now = pkc_clock_wall_ms(&um->clock);
    ystack_item **stack = undoing ? &um->redo : &um->undo;
    size_t *n = undoing ? &um->nredo : &um->nundo;
    size_t *cap = undoing ? &um->capredo : &um->capundo;
    if (um->last_change > 0 && now - um->last_change < (int64_t)um->capture_timeout && *n > 0 &&
        !undoing && !redoing) {
        ystack_item *last = &(*stack)[*n - 1];
        if (yods_merge(&last->deletions, &del) || yods_merge(&last->insertions, &ins))
            goto nomem;
        yods_free(&del);
        yods_free(&ins);
    } else {
        ystack_item si = {ins, del};
        if (PKC_ARRAY_PUSH(*stack, *n, *cap, si))
            goto nomem;
    }
    if (!undoing && !redoing)
        um->last_change = now;
    /* keep what this deleted from being collected */
    {
        yods d;
        keepctx k = {um, 1};
        if (txn_ds(txn, &d) == 0)
            iterate_deleted(txn, &d, keep_cb, &k);
        yods_free(&d);
    }
    return;
nomem:
    /* an undo step is lost; the document itself is unaffected */
    yods_free(&ins);
    yods_free(&del);
}

/* ------------------------------------------------------------------------ */
/* Undo and redo                                                            */

typedef struct yitemset {
    yitem **v;
    size_t n, cap;
} yitemset;

static int set_has(const yitemset *s, const yitem *it)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == it)
            return 1;
    return 0;
}

/* Yjs followRedone */
static yitem *follow_redone(pkc_ydoc *doc, yid id, uint32_t *diff)
{
    yitem *it;
    uint32_t d = 0;
    yid next = id;
    for (;;) {
        next.clock += d;
        it = yc_find(doc, next.client, next.clock);
        d = next.clock - it->id.clock;
        yid r;
        if (it->kind == YC_GC || !yc_redone_get(doc, it, &r))
            break;
        next = r;
    }
    *diff = d;
    return it;
}

static int deleted_by_stack(const ystack_item *st, size_t n, const pkc_ydoc *doc, const yitem *it)
{
    uint64_t client = doc->cl[it->id.client].id;
    for (size_t i = 0; i < n; i++)
        if (yds_contains(&st[i].deletions.ds, client, it->id.clock))
            return 1;
    return 0;
}

static yitem *redone_start(pkc_ytxn *txn, const yitem *it)
{
    yid r;
    if (!yc_redone_get(txn->doc, it, &r))
        return NULL;
    return yc_clean_start(txn, r.client, r.clock);
}

static int copy_content(pkc_ydoc *doc, const yitem *src, yitem *dst)
{
    switch (src->kind) {
    case YC_TYPE: {
        const ybranch *t = yi_type(doc, src);
        ybranch *b = yc_branch_new(doc, t->tref);
        if (b == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        if (t->name) {
            if ((b->name = malloc(t->name_len + 1)) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            memcpy(b->name, t->name, t->name_len + 1);
            b->name_len = t->name_len;
        }
        yi_set_type(dst, b);
        return 0;
    }
    case YC_FORMAT: {
        const yfmt *f = yi_fmt(doc, src);
        yfmt *g = malloc(sizeof *g + f->json_len + 1);
        char *k = malloc(f->key_len + 1);
        if (g == NULL || k == NULL) {
            free(g);
            free(k);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        memcpy(g, f, sizeof *g + f->json_len + 1);
        memcpy(k, f->key, f->key_len + 1);
        g->key = k;
        if (yc_set_fmt(doc, dst, g)) {
            free(g);
            free(k);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        g->val->refs++; /* ContentFormat.copy shares the value */
        return 0;
    }
    case YC_DELETED:
        return 0;
    default:
        if (src->flags & YF_ASCII)
            dst->flags |= YF_ASCII;
        return yc_set_bytes(doc, dst, yi_bytes(doc, src), yi_cn(doc, src));
    }
}

/* Yjs redoItem; *out is NULL when the item cannot be redone. */
static int redo_item(pkc_ytxn *txn, pkc_yundo *um, yitem *item, const yitemset *redoitems,
                     const yods *to_delete, yitem **out)
{
    pkc_ydoc *doc = txn->doc;
    int rc;
    *out = NULL;
    if (item->flags & YF_REDONE) {
        *out = redone_start(txn, item);
        return *out ? 0 : pkc_error_code(PKC_ERR_NOMEM);
    }
    ybranch *ptype = yi_parent(doc, item);
    ykey *ikey = yi_psub(doc, item);
    yitem *pitem = ptype->item;
    if (pitem && yi_deleted(pitem)) {
        if (!(pitem->flags & YF_REDONE)) {
            yitem *r = NULL;
            if (!set_has(redoitems, pitem))
                return 0;
            if ((rc = redo_item(txn, um, pitem, redoitems, to_delete, &r)))
                return rc;
            if (r == NULL)
                return 0;
        }
        while (pitem->flags & YF_REDONE)
            if ((pitem = redone_start(txn, pitem)) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
    }
    ybranch *parent_type = pitem ? yi_type(doc, pitem) : ptype;
    if (pitem && pitem->kind != YC_TYPE)
        return 0;
    yitem *left = NULL, *right = NULL;
    if (ikey == NULL) {
        left = yi_left(doc, item);
        right = item;
        while (left) {
            yitem *trace = left;
            while (trace && yi_parent(doc, trace)->item != pitem) {
                if (!(trace->flags & YF_REDONE)) {
                    trace = NULL;
                } else if ((trace = redone_start(txn, trace)) == NULL) {
                    return pkc_error_code(PKC_ERR_NOMEM);
                }
            }
            if (trace && yi_parent(doc, trace)->item == pitem) {
                left = trace;
                break;
            }
            left = yi_left(doc, left);
        }
        while (right) {
            yitem *trace = right;
            while (trace && yi_parent(doc, trace)->item != pitem) {
                if (!(trace->flags & YF_REDONE)) {
                    trace = NULL;
                } else if ((trace = redone_start(txn, trace)) == NULL) {
                    return pkc_error_code(PKC_ERR_NOMEM);
                }
            }
            if (trace && yi_parent(doc, trace)->item == pitem) {
                right = trace;
                break;
            }
            right = yi_right(doc, right);
        }
    } else {
        right = NULL;
        if (item->right) {
            left = item;
            while (left && left->right) {
                yitem *lr = yi_right(doc, left);
                uint64_t lc = doc->cl[lr->id.client].id;
                if (!((lr->flags & YF_REDONE) || yds_contains(&to_delete->ds, lc, lr->id.clock) ||
                      deleted_by_stack(um->undo, um->nundo, doc, lr) ||
                      deleted_by_stack(um->redo, um->nredo, doc, lr)))
                    break;
                left = lr;
                while (left->flags & YF_REDONE)
                    if ((left = redone_start(txn, left)) == NULL)
                        return pkc_error_code(PKC_ERR_NOMEM);
            }
            if (left && left->right)
                return 0; /* conflicts with a change by another client */
        } else {
            ykey *k = ymap_find(&parent_type->map, ikey->s, ikey->len);
            left = k ? k->val : NULL;
        }
        if (left && yi_parent(doc, left)->item != pitem) {
            ykey *k = ymap_find(&parent_type->map, ikey->s, ikey->len);
            left = k ? k->val : NULL;
        }
    }
    ykey *psub = NULL;
    if (ikey && (psub = yc_key_get(parent_type, ikey->s, ikey->len)) == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    yitem *it;
    if ((rc = yc_new_item(txn, parent_type, left, right, psub, item->kind, item->len, &it)))
        return rc;
    if (item->kind == YC_DELETED)
        it->flags &= (uint8_t)~YF_COUNTABLE;
    if ((rc = copy_content(doc, item, it))) {
        yc_item_release(doc, it);
        return rc;
    }
    if ((rc = yc_redone_set(doc, item, it->id)))
        return rc;
    keep_item(it, 1);
    it->flags |= YF_KEEP;
    if ((rc = yc_integrate(txn, it, 0)))
        return rc;
    keep_item(it, 1);
    *out = it;
    return 0;
}

typedef struct popctx {
    pkc_yundo *um;
    pkc_ytxn *txn;
    const ystack_item *si;
    yitemset to_delete, to_redo;
    int err;
} popctx;

static int collect_insert(void *ud, yitem *it)
{
    popctx *c = ud;
    if (it->kind == YC_GC)
        return 0;
    if (it->flags & YF_REDONE) {
        uint32_t diff;
        it = follow_redone(c->txn->doc, it->id, &diff);
        if (diff > 0 && (it = yc_clean_start(c->txn, it->id.client, it->id.clock + diff)) == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
    }
    if (it->kind != YC_GC && !yi_deleted(it) && in_scope(c->um, it))
        if (PKC_ARRAY_PUSH(c->to_delete.v, c->to_delete.n, c->to_delete.cap, it))
            return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

static int collect_redo(void *ud, yitem *it)
{
    popctx *c = ud;
    if (it->kind != YC_GC && in_scope(c->um, it) &&
        !yds_contains(&c->si->insertions.ds, c->txn->doc->cl[it->id.client].id, it->id.clock) &&
        !set_has(&c->to_redo, it))
        if (PKC_ARRAY_PUSH(c->to_redo.v, c->to_redo.n, c->to_redo.cap, it))
            return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

static int pop(pkc_yundo *um, int redo, int *done)
{
    pkc_ydoc *doc = um->doc;
    ystack_item *stack = redo ? um->redo : um->undo;
    size_t *n = redo ? &um->nredo : &um->nundo;
    pkc_ytxn *txn;
    int rc = yc_txn_begin(doc, um, 1, &txn);
    if (rc)
        return rc;
    ystack_item popped;
    int have = 0;
    while (*n > 0 && !have && rc == 0) {
        ystack_item si = stack[--*n];
        popctx c;
        memset(&c, 0, sizeof c);
        c.um = um;
        c.txn = txn;
        c.si = &si;
        int performed = 0;
        rc = iterate_deleted(txn, &si.insertions, collect_insert, &c);
        if (rc == 0)
            rc = iterate_deleted(txn, &si.deletions, collect_redo, &c);
        for (size_t i = 0; i < c.to_redo.n && rc == 0; i++) {
            yitem *r;
            rc = redo_item(txn, um, c.to_redo.v[i], &c.to_redo, &si.insertions, &r);
            if (r)
                performed = 1;
        }
        for (size_t i = c.to_delete.n; i-- > 0 && rc == 0;) {
            rc = yc_item_delete(txn, c.to_delete.v[i]);
            performed = 1;
        }
        free(c.to_delete.v);
        free(c.to_redo.v);
        if (performed) {
            popped = si;
            have = 1;
        } else {
            stack_item_free(&si);
        }
    }
    /* the manager's own after-transaction hook records the inverse step */
    um->curr = have ? &popped : NULL;
    int rc2 = yc_txn_commit(txn);
    um->curr = NULL;
    if (have)
        stack_item_free(&popped);
    if (done)
        *done = have;
    return rc ? rc : rc2;
}

/* ------------------------------------------------------------------------ */
/* API                                                                      */

void pkc_yundo_config_default_versioned(int config_version, pkc_yundo_config *out)
{
    pkc_yundo_config c = {.capture_timeout_ms = 500};
    pkc_struct_write(out, &c, config_version, PKC_STRUCT_V1(pkc_yundo_config));
}

static void after_txn_cb(void *ud, pkc_ytxn *txn)
{
    after_txn(ud, txn);
}

int pkc_yundo_new_versioned(pkc_ytype *const *scope, size_t n, int config_version,
                                    const pkc_yundo_config *config, const pkc_clock *clock,
                                    pkc_yundo **out)
{
    if (clock == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "pkc_yundo_new: clock is NULL (pkc_clock_system() is the real one)");
    pkc_yundo_config c, *cfg = &c;
    pkc_yundo_config_default(&c);
    int rc = pkc_struct_read(&c, config, config_version, PKC_STRUCT_V1(pkc_yundo_config));
    if (rc)
        return rc;
    if (n == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "an undo manager needs at least one type");
    pkc_yundo *um = calloc(1, sizeof *um);
    if (um == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    um->doc = ((ybranch *)scope[0])->doc;
    um->capture_timeout = cfg->capture_timeout_ms;
    um->clock = *clock;
    const void *null_origin = NULL;
    rc = PKC_ARRAY_PUSH(um->origins, um->norigins, um->caporigins, null_origin);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = pkc_yundo_add_scope(um, scope[i]);
    if (rc == 0) {
        pkc_ydoc *doc = um->doc;
        yafter_obs o = {after_txn_cb, um, ++doc->next_obs_id};
        if (PKC_ARRAY_PUSH32(doc->aobs, doc->naobs, doc->capaobs, o))
            rc = pkc_error_code(PKC_ERR_NOMEM);
        else
            um->hook_id = o.id;
    }
    if (rc) {
        pkc_yundo_free(um);
        return rc;
    }
    *out = um;
    return 0;
}

void pkc_yundo_free(pkc_yundo *um)
{
    if (um == NULL)
        return;
    pkc_ydoc *doc = um->doc;
    for (uint32_t i = 0; i < doc->naobs; i++) {
        if (doc->aobs[i].id == um->hook_id) {
            memmove(doc->aobs + i, doc->aobs + i + 1, (doc->naobs - i - 1) * sizeof *doc->aobs);
            doc->naobs--;
            break;
        }
    }
    for (size_t i = 0; i < um->nundo; i++)
        stack_item_free(&um->undo[i]);
    for (size_t i = 0; i < um->nredo; i++)
        stack_item_free(&um->redo[i]);
    free(um->undo);
    free(um->redo);
    free(um->scope);
    free(um->origins);
    free(um);
}

int pkc_yundo_add_scope(pkc_yundo *um, pkc_ytype *t)
{
    ybranch *b = (ybranch *)t;
    if (b->doc != um->doc)
        return pkc_error(PKC_ERR_INVALID_ARG, "type of another document");
    for (size_t i = 0; i < um->nscope; i++)
        if (um->scope[i] == b)
            return 0;
    return PKC_ARRAY_PUSH(um->scope, um->nscope, um->capscope, b);
}

int pkc_yundo_track_origin(pkc_yundo *um, const void *origin)
{
    if (tracked(um, origin))
        return 0;
    return PKC_ARRAY_PUSH(um->origins, um->norigins, um->caporigins, origin);
}

void pkc_yundo_untrack_origin(pkc_yundo *um, const void *origin)
{
    for (size_t i = 0; i < um->norigins; i++) {
        if (um->origins[i] == origin) {
            memmove(um->origins + i, um->origins + i + 1, (um->norigins - i - 1) * sizeof *um->origins);
            um->norigins--;
            return;
        }
    }
}

int pkc_yundo_undo(pkc_yundo *um, int *done)
{
    if (um->doc->txn)
        return pkc_error(PKC_ERR_STATE, "undo inside an open transaction");
    um->undoing = 1;
    int rc = pop(um, 0, done);
    um->undoing = 0;
    return rc;
}

int pkc_yundo_redo(pkc_yundo *um, int *done)
{
    if (um->doc->txn)
        return pkc_error(PKC_ERR_STATE, "redo inside an open transaction");
    um->redoing = 1;
    int rc = pop(um, 1, done);
    um->redoing = 0;
    return rc;
}

int pkc_yundo_can_undo(const pkc_yundo *um)
{
    return um->nundo > 0;
}

int pkc_yundo_can_redo(const pkc_yundo *um)
{
    return um->nredo > 0;
}

void pkc_yundo_stop_capturing(pkc_yundo *um)
{
    um->last_change = 0;
}

int pkc_yundo_clear(pkc_yundo *um)
{
    return um_clear(um, 1, 1);
}
