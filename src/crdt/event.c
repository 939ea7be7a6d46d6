/*
 * event.c: observer calls and the events they receive, as Yjs's YEvent:
 * the changed keys of the map part, the delta of the list part (YText has
 * its own, in text.c) and the path from the observed type.
 */
#include "crdt/event.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/branch.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/pool.h"
#include "crdt/read.h"
#include "crdt/seqtree.h"
#include "crdt/txn.h"
#include "crdt/val.h"
#include "util/array.h"
#include "util/err.h"

int yc_text_event_delta(pkc_ytxn *ev, ybranch *target, yv *out);

void yc_event_free(pkc_yevent *ev)
{
    pkc_yvalue_free(ev->delta);
    pkc_yvalue_free(ev->keys);
    pkc_yvalue_free(ev->path);
    free(ev);
}

static int cparent_add(pkc_ytxn *txn, ybranch *b, pkc_yevent *ev)
{
    ycparent *cp;
    if (b->dtxn_mark == txn->seq) {
        cp = &txn->cparents[b->dtxn_idx];
    } else {
        ycparent n;
        memset(&n, 0, sizeof n);
        n.b = b;
        if (PKC_ARRAY_PUSH32(txn->cparents, txn->ncparents, txn->capcparents, n))
            return pkc_error_code(PKC_ERR_NOMEM);
        b->dtxn_mark = txn->seq;
        b->dtxn_idx = txn->ncparents - 1;
        cp = &txn->cparents[b->dtxn_idx];
    }
    if (ev == NULL)
        return 0;
    return PKC_ARRAY_PUSH32(cp->events, cp->n, cp->cap, ev) ? pkc_error_code(PKC_ERR_NOMEM) : 0;
}

/* Whether anyone will see an event of b: its observers or deep observers
 * of b or a type above it. */
static int watched(const ybranch *b)
{
    if (b->nobs)
        return 1;
    for (;;) {
        if (b->ndobs)
            return 1;
        if (b->item == NULL || b->dead)
            return 0;
        b = yi_parent(b->doc, b->item);
    }
}

int yc_call_type_observers(pkc_ytxn *txn, ychanged *ch)
{
    ybranch *b = ch->b;
    if (b->tref == PKC_YUNDEFINED)
        return 0; /* AbstractType._callObserver does nothing */
    pkc_yevent *ev = NULL;
    if (watched(b)) {
        /* events are made only for someone to see them; the list of
         * changed parent types is kept either way */
        ev = calloc(1, sizeof *ev);
        if (ev == NULL || PKC_ARRAY_PUSH32(txn->events, txn->nevents, txn->capevents, ev)) {
            free(ev);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        ev->txn = txn;
        ev->target = b;
        ev->current = b;
        ev->ch = (uint32_t)(ch - txn->changed);
    }
    for (ybranch *t = b;;) {
        int rc = cparent_add(txn, t, ev);
        if (rc)
            return rc;
        if (t->item == NULL || t->dead)
            break;
        t = yi_parent(t->doc, t->item);
    }
    if (ev && b->nobs > 0) {
        uint32_t n = b->nobs;
        yobs *copy = malloc(n * sizeof *copy);
        if (copy == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        memcpy(copy, b->obs, n * sizeof *copy);
        for (uint32_t i = 0; i < n; i++)
            ((pkc_yobserve_fn)copy[i].fn)(copy[i].ud, txn, ev);
        free(copy);
    }
    if ((b->tref == PKC_YTEXT || b->tref == PKC_YXML_TEXT) && !txn->local && b->has_formatting)
        txn->need_fmt_cleanup = 1;
    return 0;
}

static size_t depth_between(const ybranch *current, const ybranch *target)
{
    size_t d = 0;
    while (target != current && target->item && !target->dead) {
        d++;
        target = yi_parent(target->doc, target->item);
    }
    return d;
}

int yc_call_deep_observers(pkc_ytxn *txn, ycparent *cp)
{
    ybranch *b = cp->b;
    size_t n = 0;
    pkc_yevent **evs = malloc((cp->n ? cp->n : 1) * sizeof *evs);
    size_t *depth = malloc((cp->n ? cp->n : 1) * sizeof *depth);
    yobs *copy = malloc(b->ndobs * sizeof *copy);
    int rc = 0;
    if (evs == NULL || depth == NULL || copy == NULL) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto done;
    }
    for (uint32_t i = 0; i < cp->n; i++) {
        pkc_yevent *ev = cp->events[i];
        ybranch *t = ev->target;
        if (t->dead || (t->item && yi_deleted(t->item)))
            continue;
        if (ev->current != b) {
            ev->current = b;
            pkc_yvalue_free(ev->path);
            ev->path = NULL;
        }
        /* stable insertion by path length */
        size_t d = depth_between(b, t), j = n;
        while (j > 0 && depth[j - 1] > d) {
            evs[j] = evs[j - 1];
            depth[j] = depth[j - 1];
            j--;
        }
        evs[j] = ev;
        depth[j] = d;
        n++;
    }
    memcpy(copy, b->dobs, b->ndobs * sizeof *copy);
    uint32_t nobs = b->ndobs;
    for (uint32_t i = 0; i < nobs; i++)
        ((pkc_yobserve_deep_fn)copy[i].fn)(copy[i].ud, txn, (const pkc_yevent *const *)evs, n);
done:
    free(evs);
    free(depth);
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Observer registration                                                    */

static int add_obs(pkc_ydoc *doc, yobs **arr, uint32_t *n, uint32_t *cap, void (*fn)(void),
                   void *ud, uint32_t *id)
{
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "observer function is NULL");
    yobs o = {fn, ud, ++doc->next_obs_id};
    if (PKC_ARRAY_PUSH32(*arr, *n, *cap, o))
        return pkc_error_code(PKC_ERR_NOMEM);
    if (id)
        *id = o.id;
    return 0;
}

int pkc_ytype_observe(pkc_ytype *t, pkc_yobserve_fn fn, void *user_data, uint32_t *id)
{
    ybranch *b = (ybranch *)t;
    return add_obs(b->doc, &b->obs, &b->nobs, &b->capobs, (void (*)(void))fn, user_data, id);
}

int pkc_ytype_observe_deep(pkc_ytype *t, pkc_yobserve_deep_fn fn, void *user_data,
                                   uint32_t *id)
{
    ybranch *b = (ybranch *)t;
    return add_obs(b->doc, &b->dobs, &b->ndobs, &b->capdobs, (void (*)(void))fn, user_data, id);
}

static void del_obs(yobs *arr, uint32_t *n, uint32_t id)
{
    for (uint32_t i = 0; i < *n; i++) {
        if (arr[i].id == id) {
            memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof *arr);
            (*n)--;
            return;
        }
    }
}

void pkc_ytype_unobserve(pkc_ytype *t, uint32_t id)
{
    ybranch *b = (ybranch *)t;
    del_obs(b->obs, &b->nobs, id);
    del_obs(b->dobs, &b->ndobs, id);
}

/* ------------------------------------------------------------------------ */
/* Event contents                                                           */

pkc_ytype *pkc_yevent_get_target(const pkc_yevent *ev)
{
    return (pkc_ytype *)ev->target;
}

static pkc_yvalue *new_value(pkc_ykind kind)
{
    pkc_yvalue *v = calloc(1, sizeof *v);
    if (v)
        v->kind = kind;
    return v;
}

static char *dupz(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

const pkc_yvalue *pkc_yevent_get_path(const pkc_yevent *cev)
{
    pkc_yevent *ev = (pkc_yevent *)cev;
    if (ev->path)
        return ev->path;
    size_t d = depth_between(ev->current, ev->target);
    pkc_yvalue *p = new_value(PKC_YV_ARRAY);
    if (p == NULL || (p->u.array.items = calloc(d ? d : 1, sizeof(yv))) == NULL) {
        free(p);
        return NULL;
    }
    p->u.array.len = d;
    const ybranch *child = ev->target;
    for (size_t i = d; i-- > 0;) {
        const yitem *it = child->item;
        const ykey *key = yi_psub(child->doc, it);
        yv *e = &p->u.array.items[i];
        if (key) {
            e->kind = PKC_YV_STRING;
            e->u.str.ptr = dupz(key->s, key->len);
            e->u.str.len = key->len;
            if (e->u.str.ptr == NULL) {
                e->kind = PKC_YV_UNDEFINED;
                pkc_yvalue_free(p);
                return NULL;
            }
        } else {
            e->kind = PKC_YV_NUMBER;
            e->u.number = (double)yst_index(it);
        }
        child = yi_parent(child->doc, it);
    }
    ev->path = p;
    return p;
}

static int put(yv *obj, size_t *cap, const char *k, yv *val)
{
    pkc_yentry e;
    e.key = dupz(k, strlen(k));
    e.key_len = strlen(k);
    e.value = *val;
    if (e.key == NULL || PKC_ARRAY_PUSH(obj->u.object.entries, obj->u.object.len, *cap, e)) {
        free((void *)e.key);
        yv_clear(val);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    return 0;
}

const pkc_yvalue *pkc_yevent_get_keys(const pkc_yevent *cev)
{
    pkc_yevent *ev = (pkc_yevent *)cev;
    if (ev->keys)
        return ev->keys;
    pkc_ytxn *txn = ev->txn;
    const ychanged *ch = &txn->changed[ev->ch];
    pkc_yvalue *out = new_value(PKC_YV_OBJECT);
    size_t cap = 0;
    if (out == NULL)
        return NULL;
    for (uint32_t i = 0; i < ch->nkeys; i++) {
        const ykey *k = ch->keys[i];
        const yitem *it = k->val;
        const char *action;
        const yitem *oldv = NULL;
        if (it == NULL)
            continue;
        if (yc_txn_adds(txn, it)) {
            const yitem *prev = yi_left(txn->doc, it);
            while (prev && yc_txn_adds(txn, prev))
                prev = yi_left(txn->doc, prev);
            if (yc_txn_deletes(txn, it)) {
                if (prev && yc_txn_deletes(txn, prev)) {
                    action = "delete";
                    oldv = prev;
                } else {
                    continue;
                }
            } else if (prev && yc_txn_deletes(txn, prev)) {
                action = "update";
                oldv = prev;
            } else {
                action = "add";
            }
        } else if (yc_txn_deletes(txn, it)) {
            action = "delete";
            oldv = it;
        } else {
            continue;
        }
        yv change, a, o;
        size_t ccap = 0;
        memset(&change, 0, sizeof change);
        memset(&a, 0, sizeof a);
        memset(&o, 0, sizeof o);
        change.kind = PKC_YV_OBJECT;
        a.kind = PKC_YV_STRING;
        a.u.str.ptr = dupz(action, strlen(action));
        a.u.str.len = strlen(action);
        int rc = a.u.str.ptr ? put(&change, &ccap, "action", &a) : pkc_error_code(PKC_ERR_NOMEM);
        /* the old value of deleted content is gone after collection; Yjs
         * gives its last content (undefined for deleted content) */
        if (rc == 0 && oldv && oldv->kind != YC_DELETED && oldv->kind != YC_GC && oldv->len > 0)
            rc = yc_item_value(oldv, oldv->len - 1, &o);
        if (rc == 0)
            rc = put(&change, &ccap, "oldValue", &o);
        if (rc == 0) {
            pkc_yentry e;
            e.key = dupz(k->s, k->len);
            e.key_len = k->len;
            e.value = change;
            if (e.key == NULL || PKC_ARRAY_PUSH(out->u.object.entries, out->u.object.len, cap, e)) {
                free((void *)e.key);
                rc = pkc_error_code(PKC_ERR_NOMEM);
            }
        }
        if (rc) {
            yv_clear(&change);
            pkc_yvalue_free(out);
            return NULL;
        }
    }
    ev->keys = out;
    return out;
}

/* YEvent.changes.delta of the list part */
static int list_delta(pkc_ytxn *txn, const ybranch *t, const ychanged *ch, yv *out)
{
    memset(out, 0, sizeof *out);
    out->kind = PKC_YV_ARRAY;
    if (!ch->list)
        return 0;
    size_t cap = 0;
    int kind = 0; /* 1 insert, 2 retain, 3 delete */
    yv op;
    size_t opcap = 0, icap = 0;
    yv *ins = NULL;
    uint64_t count = 0;
    int rc = 0;
    memset(&op, 0, sizeof op);
#define PACK()                                                                                     \
    do {                                                                                           \
        if (kind) {                                                                                \
            yv val;                                                                                \
            memset(&val, 0, sizeof val);                                                           \
            memset(&op, 0, sizeof op);                                                             \
            op.kind = PKC_YV_OBJECT;                                                               \
            opcap = 0;                                                                             \
            if (kind == 1) {                                                                       \
                val = *ins;                                                                        \
                free(ins);                                                                         \
                ins = NULL;                                                                        \
            } else {                                                                               \
                val.kind = PKC_YV_NUMBER;                                                          \
                val.u.number = (double)count;                                                      \
            }                                                                                      \
            rc = put(&op, &opcap, kind == 1 ? "insert" : kind == 2 ? "retain" : "delete", &val);   \
            if (rc == 0)                                                                           \
                rc = PKC_ARRAY_PUSH(out->u.array.items, out->u.array.len, cap, op);                \
            if (rc)                                                                                \
                yv_clear(&op);                                                                     \
            kind = 0;                                                                              \
        }                                                                                          \
    } while (0)
    for (const yitem *it = t->start; it && rc == 0; it = yi_right(t->doc, it)) {
        if (yi_deleted(it)) {
            if (yc_txn_deletes(txn, it) && !yc_txn_adds(txn, it)) {
                if (kind != 3) {
                    PACK();
                    kind = 3;
                    count = 0;
                }
                count += it->len;
            }
        } else if (yc_txn_adds(txn, it)) {
            if (kind != 1) {
                PACK();
                kind = 1;
                ins = calloc(1, sizeof *ins);
                if (ins == NULL) {
                    rc = pkc_error_code(PKC_ERR_NOMEM);
                    break;
                }
                ins->kind = PKC_YV_ARRAY;
                icap = 0;
            }
            if (yi_countable(it)) {
                for (uint32_t k = 0; k < it->len && rc == 0; k++) {
                    yv v;
                    if ((rc = yc_item_value(it, k, &v)) == 0 &&
                        PKC_ARRAY_PUSH(ins->u.array.items, ins->u.array.len, icap, v)) {
                        yv_clear(&v);
                        rc = pkc_error_code(PKC_ERR_NOMEM);
                    }
                }
            }
        } else {
            if (kind != 2) {
                PACK();
                kind = 2;
                count = 0;
            }
            count += it->len;
        }
    }
    if (rc == 0 && kind && kind != 2)
        PACK();
#undef PACK
    if (ins) {
        yv_clear(ins);
        free(ins);
    }
    if (rc)
        yv_clear(out);
    return rc;
}

const pkc_yvalue *pkc_yevent_get_delta(const pkc_yevent *cev)
{
    pkc_yevent *ev = (pkc_yevent *)cev;
    if (ev->delta)
        return ev->delta;
    pkc_yvalue *v = malloc(sizeof *v);
    if (v == NULL)
        return NULL;
    int rc;
    if (ev->target->tref == PKC_YTEXT || ev->target->tref == PKC_YXML_TEXT)
        rc = yc_text_event_delta(ev->txn, ev->target, v);
    else
        rc = list_delta(ev->txn, ev->target, &ev->txn->changed[ev->ch], v);
    if (rc) {
        free(v);
        return NULL;
    }
    ev->delta = v;
    return v;
}
