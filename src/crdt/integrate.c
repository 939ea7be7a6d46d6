/*
 * integrate.c: YATA integration (Yjs Item.integrate), delete and garbage
 * collection of items, and the changed-type bookkeeping of transactions.
 */
#include "crdt/integrate.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/content.h"
#include "crdt/doc.h"
#include "crdt/itab.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/pool.h"
#include "crdt/redone.h"
#include "crdt/seqtree.h"
#include "crdt/split.h"
#include "crdt/txn.h"
#include "util/array.h"
#include "util/err.h"
#include "util/log.h"

/* A set of items for the conflict loop: "items before origin", of which the
 * ones added since the last clear are the "conflicting items". */
typedef struct yset {
    yitem **key;
    uint32_t *gen;
    uint32_t *used; /* occupied slots, to clear only those */
    uint32_t cap, n, cur;
} yset;

static void yset_reset(yset *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        s->key[s->used[i]] = NULL;
    s->n = 0;
    s->cur = 1;
}

static int yset_add(yset *s, yitem *it)
{
    if ((s->n + 1) * 2 > s->cap) {
        uint32_t nc = s->cap ? s->cap * 2 : 64;
        yitem **nk = calloc(nc, sizeof *nk);
        uint32_t *ng = malloc(nc * sizeof *ng);
        uint32_t *nu = malloc(nc / 2 * sizeof *nu);
        if (nk == NULL || ng == NULL || nu == NULL) {
            free(nk);
            free(ng);
            free(nu);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        for (uint32_t k = 0; k < s->n; k++) {
            uint32_t i = s->used[k];
            uint32_t j = yc_ptr_hash(s->key[i]) & (nc - 1);
            while (nk[j])
                j = (j + 1) & (nc - 1);
            nk[j] = s->key[i];
            ng[j] = s->gen[i];
            nu[k] = j;
        }
        free(s->key);
        free(s->gen);
        free(s->used);
        s->key = nk;
        s->gen = ng;
        s->used = nu;
        s->cap = nc;
    }
    uint32_t mask = s->cap - 1;
    uint32_t j = yc_ptr_hash(it) & mask;
    while (s->key[j] && s->key[j] != it)
        j = (j + 1) & mask;
    if (s->key[j] == NULL) {
        s->key[j] = it;
        s->used[s->n++] = j;
    }
    s->gen[j] = s->cur;
    return 0;
}

/* 0: absent, 1: before origin only, 2: also conflicting */
static int yset_has(const yset *s, const yitem *it)
{
    if (s->cap == 0)
        return 0;
    uint32_t mask = s->cap - 1;
    for (uint32_t j = yc_ptr_hash(it) & mask; s->key[j]; j = (j + 1) & mask)
        if (s->key[j] == it)
            return s->gen[j] == s->cur ? 2 : 1;
    return 0;
}

void yc_scratch_free(pkc_ydoc *doc)
{
    if (doc->scratch) {
        free(doc->scratch->key);
        free(doc->scratch->gen);
        free(doc->scratch->used);
        free(doc->scratch);
        doc->scratch = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Changed types                                                            */

int yc_changed(pkc_ytxn *txn, ybranch *b, ykey *key)
{
    yitem *item = b->item;
    if (b->root == NULL) {
        if (item == NULL || yi_deleted(item))
            return 0;
        if (item->id.clock >= yc_txn_before(txn, item->id.client))
            return 0;
    }
    ychanged *c;
    if (b->txn_mark == txn->seq) {
        c = &txn->changed[b->txn_idx];
    } else {
        ychanged nc;
        memset(&nc, 0, sizeof nc);
        nc.b = b;
        if (PKC_ARRAY_PUSH32(txn->changed, txn->nchanged, txn->capchanged, nc))
            return pkc_error_code(PKC_ERR_NOMEM);
        b->txn_mark = txn->seq;
        b->txn_idx = txn->nchanged - 1;
        c = &txn->changed[b->txn_idx];
    }
    if (key == NULL) {
        c->list = 1;
        return 0;
    }
    for (uint32_t i = 0; i < c->nkeys; i++)
        if (c->keys[i] == key)
            return 0;
    if (PKC_ARRAY_PUSH32(c->keys, c->nkeys, c->capkeys, key))
        return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

static void changed_remove(pkc_ytxn *txn, ybranch *b)
{
    if (b->txn_mark != txn->seq)
        return;
    ychanged *c = &txn->changed[b->txn_idx];
    c->b = NULL;
    free(c->keys);
    c->keys = NULL;
    c->nkeys = c->capkeys = 0;
    c->list = 0;
    b->txn_mark = 0;
}

/* ------------------------------------------------------------------------ */
/* Delete                                                                   */

int yc_item_delete(pkc_ytxn *txn, yitem *it)
{
    if (yi_deleted(it) || it->kind == YC_GC)
        return 0;
    ybranch *parent = yi_parent(txn->doc, it);
    ykey *key = yi_psub(txn->doc, it);
    int rc;
    if (yi_countable(it) && key == NULL)
        parent->length -= it->len;
    if (yi_leaf(it))
        yst_add_weight(it, -(int64_t)yi_weight(it));
    it->flags |= YF_DELETED;
    if ((rc = yc_txn_add_delete(txn, it->id.client, it->id.clock, it->len)))
        return rc;
    if ((rc = yc_changed(txn, parent, key)))
        return rc;
    if (it->kind == YC_TYPE) {
        ybranch *b = yi_type(txn->doc, it);
        for (yitem *c = b->start; c; c = yi_right(txn->doc, c)) {
            if (!yi_deleted(c)) {
                if ((rc = yc_item_delete(txn, c)))
                    return rc;
            } else if (c->id.clock < yc_txn_before(txn, c->id.client)) {
                if ((rc = yc_txn_add_merge(txn, c->id)))
                    return rc;
            }
        }
        for (uint32_t i = 0; i < b->map.n; i++) {
            yitem *c = b->map.e[i]->val;
            if (c == NULL)
                continue;
            if (!yi_deleted(c)) {
                if ((rc = yc_item_delete(txn, c)))
                    return rc;
            } else if (c->id.clock < yc_txn_before(txn, c->id.client)) {
                if ((rc = yc_txn_add_merge(txn, c->id)))
                    return rc;
            }
        }
        changed_remove(txn, b);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Garbage collection                                                       */

static void to_gc(pkc_ydoc *doc, yitem *it)
{
    yc_content_free(doc, it);
    if (it->flags & YF_REDONE)
        yc_redone_clear(doc, it);
    it->kind = YC_GC;
    it->flags = YF_DELETED;
    it->owner = 0;
    it->left = it->right = 0;
    yi_set_leaf(it, NULL);
}

void yc_item_gc(pkc_ydoc *doc, yitem *it, int parent_gcd)
{
    if (it->kind == YC_GC)
        return;
    if (it->kind == YC_TYPE) {
        ybranch *b = yi_type(doc, it);
        for (yitem *c = b->start; c;) {
            yitem *next = yi_right(doc, c);
            yc_item_gc(doc, c, 1);
            c = next;
        }
        for (uint32_t i = 0; i < b->map.n; i++) {
            for (yitem *c = b->map.e[i]->val; c;) {
                yitem *prev = yi_left(doc, c);
                yc_item_gc(doc, c, 1);
                c = prev;
            }
        }
        yst_free(b);
        yc_keys_free(b);
        b->start = NULL;
        b->length = 0;
        b->dead = 1;
        b->item = NULL;
    }
    if (parent_gcd) {
        to_gc(doc, it);
    } else {
        yc_content_free(doc, it);
        it->kind = YC_DELETED;
    }
}

/* ------------------------------------------------------------------------ */
/* Integrate                                                                */

static int id_opt_eq(const yitem *a, const yitem *b, int right)
{
    uint8_t f = right ? YF_RORIGIN : YF_ORIGIN;
    int ha = (a->flags & f) != 0, hb = (b->flags & f) != 0;
    if (ha != hb)
        return 0;
    if (!ha)
        return 1;
    return right ? yid_eq(a->rorigin, b->rorigin) : yid_eq(a->origin, b->origin);
}

int yc_integrate_gc(pkc_ytxn *txn, yitem *it)
{
    int rc = yc_txn_touch(txn, it->id.client);
    if (rc)
        return rc;
    it->kind = YC_GC;
    it->flags = YF_DELETED;
    it->owner = 0;
    it->left = it->right = 0;
    return ycl_push(txn->doc, it->id.client, it);
}

int yc_integrate(pkc_ytxn *txn, yitem *it, uint32_t offset)
{
    pkc_ydoc *doc = txn->doc;
    int rc;
    if (offset > 0) {
        /* content was already sliced by the caller */
        yitem *l = yc_clean_end(txn, it->id.client, it->id.clock - 1);
        if (l == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        it->left = yi_h(l);
        it->origin = yi_last_id(l);
        it->flags |= YF_ORIGIN;
        /* The rest of a struct we already know the start of: in any real
         * update its left neighbour is that start, in the same list. An
         * update that gives known ids other content can make it an item of
         * another list. Yjs then links the item into that list while
         * keeping its own parent (its lists and lengths disagree from then
         * on), or throws if it is a GC. pkc keeps its lists sound: it
         * drops the content (the clocks become a GC) and warns. */
        if (it->owner && (l->kind == YC_GC || l->owner != it->owner)) {
            pkc_logw("crdt",
                     "update gives %llu:%u other content than the document has; dropped %u units",
                     (unsigned long long)doc->cl[it->id.client].id, it->id.clock, it->len);
            it->owner = 0;
        }
    }
    ybranch *parent = yi_parent(doc, it);
    ykey *key = yi_psub(doc, it);
    if (parent == NULL) {
        yc_content_free(doc, it);
        return yc_integrate_gc(txn, it);
    }
    yitem *left = yi_left(doc, it), *right = yi_right(doc, it);
    uint32_t ih = yi_h(it);
    if ((left == NULL && (right == NULL || right->left != 0)) ||
        (left != NULL && left->right != it->right)) {
        yitem *o;
        if (left) {
            o = yi_right(doc, left);
        } else if (key) {
            o = key->first;
        } else {
            o = parent->start;
        }
        if (doc->scratch == NULL && (doc->scratch = calloc(1, sizeof(yset))) == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        yset *s = doc->scratch;
        yset_reset(s);
        uint64_t my_client = doc->cl[it->id.client].id;
        while (o != NULL && o != right) {
            if (yset_add(s, o))
                return pkc_error_code(PKC_ERR_NOMEM);
            if (id_opt_eq(it, o, 0)) {
                if (doc->cl[o->id.client].id < my_client) {
                    left = o;
                    s->cur++;
                } else if (id_opt_eq(it, o, 1)) {
                    break;
                }
            } else if ((o->flags & YF_ORIGIN)) {
                yitem *oo = yc_find(doc, o->origin.client, o->origin.clock);
                int h = yset_has(s, oo);
                if (h == 0)
                    break;
                if (h == 1) {
                    left = o;
                    s->cur++;
                }
            } else {
                break;
            }
            o = yi_right(doc, o);
        }
        it->left = yi_h(left);
    }
    /* reconnect left and right, update the parent's start or map */
    if (left) {
        it->right = left->right;
        left->right = ih;
    } else {
        yitem *r;
        if (key) {
            r = key->first;
            key->first = it;
        } else {
            r = parent->start;
            parent->start = it;
        }
        it->right = yi_h(r);
    }
    right = yi_right(doc, it);
    if (right) {
        right->left = ih;
    } else if (key) {
        key->val = it;
        if (left && (rc = yc_item_delete(txn, left)))
            return rc;
    }
    if (key == NULL) {
        if (yi_countable(it) && !yi_deleted(it))
            parent->length += it->len;
        if ((rc = yst_insert_after(parent, left, it)))
            return rc;
    }
    if ((doc->cl[it->id.client].txn_mark != txn->seq && (rc = yc_txn_touch(txn, it->id.client))) ||
        (rc = ycl_push_fast(doc, it->id.client, it)))
        return rc;
    switch (it->kind) {
    case YC_DELETED:
        if ((rc = yc_txn_add_delete(txn, it->id.client, it->id.clock, it->len)))
            return rc;
        it->flags |= YF_DELETED;
        break;
    case YC_TYPE:
        yi_type(doc, it)->item = it;
        break;
    case YC_FORMAT:
        parent->has_formatting = 1;
        break;
    default:
        break;
    }
    if ((rc = yc_changed(txn, parent, key)))
        return rc;
    if ((parent->item && yi_deleted(parent->item)) || parent->dead || (key && it->right))
        return yc_item_delete(txn, it);
    return 0;
}
