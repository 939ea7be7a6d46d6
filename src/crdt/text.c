/*
 * text.c: Y.Text: inserting, deleting and formatting text with Yjs's
 * formatting items, the cleanup of redundant formatting after remote
 * changes, toDelta / applyDelta, and the XML text serialisation.
 *
 * This is a port of YText.js: every position rule (which item becomes the
 * left origin, where format items go, which get deleted) shows on the wire,
 * so the structure follows Yjs function by function. Attribute values are
 * `const yv *`; their pointers are their identity for Yjs's `===`.
 */
#include "crdt/text.h"

#include <stdio.h>
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
#include "crdt/pool.h"
#include "crdt/read.h"
#include "crdt/seqtree.h"
#include "crdt/split.h"
#include "crdt/txn.h"
#include "crdt/types.h"
#include "crdt/utf16.h"
#include "crdt/val.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/text.h"

static ysval YSV_NULL = {{PKC_YV_NULL, {0}}, 1u << 30};
#define YV_NULL (YSV_NULL.v)

/* ------------------------------------------------------------------------ */
/* Attribute maps (insertion-ordered, as JavaScript Maps / objects)         */

typedef struct yattr {
    const char *key;
    size_t klen;
    const yv *val;
} yattr;

typedef struct yattrs {
    yattr *a;
    size_t n, cap;
    ysval **own; /* values this map holds a reference to */
    size_t nown, capown;
} yattrs;

static yattr *attrs_find(const yattrs *m, const char *k, size_t kn)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->a[i].klen == kn && memcmp(m->a[i].key, k, kn) == 0)
            return &m->a[i];
    return NULL;
}

static const yv *attrs_get(const yattrs *m, const char *k, size_t kn)
{
    yattr *a = attrs_find(m, k, kn);
    return a ? a->val : NULL;
}

static int attrs_set(yattrs *m, const char *k, size_t kn, const yv *v)
{
    yattr *a = attrs_find(m, k, kn);
    if (a) {
        a->val = v;
        return 0;
    }
    yattr x = {k, kn, v};
    return PKC_ARRAY_PUSH(m->a, m->n, m->cap, x) ? pkc_error_code(PKC_ERR_NOMEM) : 0;
}

static void attrs_del(yattrs *m, const char *k, size_t kn)
{
    yattr *a = attrs_find(m, k, kn);
    if (a) {
        size_t i = (size_t)(a - m->a);
        memmove(m->a + i, m->a + i + 1, (m->n - i - 1) * sizeof *m->a);
        m->n--;
    }
}

static int attrs_copy(yattrs *dst, const yattrs *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++)
        if (PKC_ARRAY_PUSH(dst->a, dst->n, dst->cap, src->a[i]))
            return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

static void attrs_free(yattrs *m)
{
    for (size_t i = 0; i < m->nown; i++)
        ysval_release(m->own[i]);
    free(m->own);
    free(m->a);
    memset(m, 0, sizeof *m);
}

/* updateCurrentAttributes */
static int attrs_update(yattrs *m, const yfmt *f)
{
    if (f->val->v.kind == PKC_YV_NULL) {
        attrs_del(m, f->key, f->key_len);
        return 0;
    }
    return attrs_set(m, f->key, f->key_len, &f->val->v);
}

/* Adds a key to an "object" attribute map keeping JavaScript's key order. */
static int obj_set(yattrs *m, const char *k, size_t kn, const yv *v)
{
    yattr *a = attrs_find(m, k, kn);
    if (a) {
        a->val = v;
        return 0;
    }
    uint32_t ix, jx;
    size_t at = m->n;
    if (pkc_js_index_parse(k, kn, &ix)) {
        at = 0;
        while (at < m->n && pkc_js_index_parse(m->a[at].key, m->a[at].klen, &jx) && jx < ix)
            at++;
    }
    yattr x = {k, kn, v};
    if (PKC_ARRAY_PUSH(m->a, m->n, m->cap, x))
        return pkc_error_code(PKC_ERR_NOMEM);
    memmove(m->a + at + 1, m->a + at, (m->n - 1 - at) * sizeof *m->a);
    m->a[at] = x;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Positions                                                                */

typedef struct ypos_t {
    pkc_ydoc *doc;
    yitem *left, *right;
    uint64_t index;
    yattrs cur;
} ytpos;

static int fwd(ytpos *p)
{
    yitem *r = p->right;
    if (r->kind == YC_FORMAT) {
        if (!yi_deleted(r) && attrs_update(&p->cur, yi_fmt(p->doc, r)))
            return pkc_error_code(PKC_ERR_NOMEM);
    } else if (!yi_deleted(r)) {
        p->index += r->len;
    }
    p->left = r;
    p->right = yi_right(p->doc, r);
    return 0;
}

static int find_next(pkc_ytxn *txn, ytpos *p, uint64_t count)
{
    while (p->right && count > 0) {
        yitem *r = p->right;
        if (r->kind == YC_FORMAT) {
            if (!yi_deleted(r) && attrs_update(&p->cur, yi_fmt(p->doc, r)))
                return pkc_error_code(PKC_ERR_NOMEM);
        } else if (!yi_deleted(r)) {
            if (count < r->len && yc_split(txn, r, (uint32_t)count) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            p->index += r->len;
            count -= r->len;
        }
        p->left = r;
        p->right = yi_right(p->doc, r);
    }
    return 0;
}

/* Yjs findPosition. Without formatting, the tree jumps straight to the
 * item (the same place Yjs's search markers reach). */
static int find_position(pkc_ytxn *txn, ybranch *b, uint64_t index, ytpos *p)
{
    memset(p, 0, sizeof *p);
    p->doc = txn->doc;
    if (!b->has_formatting && index > 0 && index <= b->length) {
        uint32_t off;
        yitem *it = yst_find(b, index - 1, &off);
        if (it == NULL || (off + 1 < it->len && yc_split(txn, it, off + 1) == NULL))
            return pkc_error_code(PKC_ERR_NOMEM);
        p->left = it;
        p->right = yi_right(txn->doc, it);
        p->index = index;
        return 0;
    }
    p->right = b->start;
    return find_next(txn, p, index);
}

/* `val` points into a ysval (every attribute value does): the new item
 * shares it, as the Yjs item shares the object. */
static int new_format(pkc_ytxn *txn, ybranch *parent, ytpos *p, const char *key, size_t kn,
                      const yv *val)
{
    ysval *sv = (ysval *)(void *)val;
    pkc_buf j = PKC_BUF_INIT;
    int rc = yjson_write(&j, val);
    if (rc) {
        pkc_buf_free(&j);
        return rc;
    }
    yfmt *f = malloc(sizeof *f + j.len + 1);
    char *k = malloc(kn + 1);
    if (f == NULL || k == NULL) {
        free(f);
        free(k);
        pkc_buf_free(&j);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    memcpy(k, key, kn);
    k[kn] = '\0';
    memcpy(f->json, j.data, j.len);
    f->json[j.len] = '\0';
    f->json_len = (uint32_t)j.len;
    f->key = k;
    f->key_len = (uint32_t)kn;
    pkc_buf_free(&j);
    f->val = sv;
    sv->refs++;
    yitem *it;
    if ((rc = yc_new_item(txn, parent, p->left, p->right, NULL, YC_FORMAT, 1, &it))) {
        ysval_release(f->val);
        free(f);
        free(k);
        return rc;
    }
    if ((rc = yc_set_fmt(txn->doc, it, f))) {
        ysval_release(f->val);
        free(f);
        free(k);
        yc_item_release(txn->doc, it);
        return rc;
    }
    if ((rc = yc_integrate(txn, it, 0)))
        return rc;
    p->right = it;
    return fwd(p);
}

static int insert_negated(pkc_ytxn *txn, ybranch *parent, ytpos *p, yattrs *neg)
{
    int rc;
    while (p->right && (yi_deleted(p->right) ||
                        (p->right->kind == YC_FORMAT &&
                         yv_equal_attr(attrs_get(neg, yi_fmt(p->doc, p->right)->key,
                                                 yi_fmt(p->doc, p->right)->key_len),
                                       &yi_fmt(p->doc, p->right)->val->v)))) {
        if (!yi_deleted(p->right))
            attrs_del(neg, yi_fmt(p->doc, p->right)->key, yi_fmt(p->doc, p->right)->key_len);
        if ((rc = fwd(p)))
            return rc;
    }
    for (size_t i = 0; i < neg->n; i++)
        if ((rc = new_format(txn, parent, p, neg->a[i].key, neg->a[i].klen, neg->a[i].val)))
            return rc;
    return 0;
}

static const yv *or_null(const yv *v)
{
    return v ? v : &YV_NULL;
}

static int minimize(ytpos *p, const yattrs *attributes)
{
    while (p->right) {
        yitem *r = p->right;
        if (!(yi_deleted(r) ||
              (r->kind == YC_FORMAT &&
               yv_equal_attr(or_null(attrs_get(attributes, yi_fmt(p->doc, r)->key,
                                               yi_fmt(p->doc, r)->key_len)),
                             &yi_fmt(p->doc, r)->val->v))))
            break;
        int rc = fwd(p);
        if (rc)
            return rc;
    }
    return 0;
}

static int insert_attributes(pkc_ytxn *txn, ybranch *parent, ytpos *p, const yattrs *attributes,
                             yattrs *neg)
{
    memset(neg, 0, sizeof *neg);
    for (size_t i = 0; i < attributes->n; i++) {
        const yattr *a = &attributes->a[i];
        const yv *cur = or_null(attrs_get(&p->cur, a->key, a->klen));
        if (!yv_equal_attr(cur, a->val)) {
            int rc;
            if ((rc = attrs_set(neg, a->key, a->klen, cur)) ||
                (rc = new_format(txn, parent, p, a->key, a->klen, a->val)))
                return rc;
        }
    }
    return 0;
}

/* The content of an insert: a string, an embed (JSON) or a new type. */
typedef struct yins {
    const char *str;   /* UTF-8 text, or NULL */
    size_t len;
    const yv *embed;   /* embed value (kind TYPE: a new type) */
    pkc_ytype **created;
} yins;

static int insert_text(pkc_ytxn *txn, ybranch *parent, ytpos *p, const yins *ins,
                       yattrs *attributes)
{
    int rc;
    for (size_t i = 0; i < p->cur.n; i++)
        if (attrs_get(attributes, p->cur.a[i].key, p->cur.a[i].klen) == NULL &&
            (rc = obj_set(attributes, p->cur.a[i].key, p->cur.a[i].klen, &YV_NULL)))
            return rc;
    if ((rc = minimize(p, attributes)))
        return rc;
    yattrs neg;
    if ((rc = insert_attributes(txn, parent, p, attributes, &neg))) {
        attrs_free(&neg);
        return rc;
    }
    yitem *it = NULL;
    const char *str = ins->str;
    size_t slen = ins->len;
    if (str == NULL && ins->embed->kind == PKC_YV_STRING) {
        /* Yjs: a string "embed" is plain text */
        str = ins->embed->u.str.ptr;
        slen = ins->embed->u.str.len;
    }
    if (str) {
        int ascii;
        size_t units = yc_utf16_len((const uint8_t *)str, slen, &ascii);
        if ((rc = yc_new_item(txn, parent, p->left, p->right, NULL, YC_STRING, (uint32_t)units, &it)) ==
            0) {
            rc = yc_set_bytes(txn->doc, it, str, slen);
            if (ascii)
                it->flags |= YF_ASCII;
        }
    } else if (ins->embed->kind == PKC_YV_TYPE) {
        pkc_ytype_kind k = ins->embed->u.type.kind;
        ybranch *nb = NULL;
        if ((unsigned)k > PKC_YXML_TEXT) {
            rc = pkc_error(PKC_ERR_INVALID_ARG, "unknown type kind");
        } else if ((nb = yc_branch_new(txn->doc, (uint8_t)k)) == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
        } else {
            if (k == PKC_YXML_ELEMENT || k == PKC_YXML_HOOK) {
                const char *name = ins->embed->u.type.name ? ins->embed->u.type.name : "UNDEFINED";
                nb->name_len = (uint32_t)strlen(name);
                nb->name = malloc(nb->name_len + 1);
                if (nb->name)
                    memcpy(nb->name, name, nb->name_len + 1);
            }
            if ((rc = yc_new_item(txn, parent, p->left, p->right, NULL, YC_TYPE, 1, &it)) == 0) {
                yi_set_type(it, nb);
                if (ins->created)
                    *ins->created = (pkc_ytype *)nb;
            }
        }
    } else {
        pkc_buf j = PKC_BUF_INIT;
        if ((rc = yjson_write(&j, ins->embed)) == 0 &&
            (rc = yc_new_item(txn, parent, p->left, p->right, NULL, YC_EMBED, 1, &it)) == 0)
            rc = yc_set_bytes(txn->doc, it, j.data, j.len);
        pkc_buf_free(&j);
    }
    if (rc) {
        if (it)
            yc_item_release(txn->doc, it);
        attrs_free(&neg);
        return rc;
    }
    uint64_t index = p->index;
    if ((rc = yc_integrate(txn, it, 0)) == 0) {
        p->right = it;
        p->index = index;
        if ((rc = fwd(p)) == 0)
            rc = insert_negated(txn, parent, p, &neg);
    }
    attrs_free(&neg);
    return rc;
}

static int format_text(pkc_ytxn *txn, ybranch *parent, ytpos *p, uint64_t length,
                       const yattrs *attributes)
{
    int rc;
    if ((rc = minimize(p, attributes)))
        return rc;
    yattrs neg;
    if ((rc = insert_attributes(txn, parent, p, attributes, &neg)))
        goto done;
    while (p->right &&
           (length > 0 || (neg.n > 0 && (yi_deleted(p->right) || p->right->kind == YC_FORMAT)))) {
        yitem *r = p->right;
        if (!yi_deleted(r)) {
            if (r->kind == YC_FORMAT) {
                const yfmt *f = yi_fmt(txn->doc, r);
                const yv *attr = attrs_get(attributes, f->key, f->key_len);
                if (attr) {
                    if (yv_equal_attr(attr, &f->val->v)) {
                        attrs_del(&neg, f->key, f->key_len);
                    } else {
                        if (length == 0)
                            break;
                        if ((rc = attrs_set(&neg, f->key, f->key_len, &f->val->v)))
                            goto done;
                    }
                    if ((rc = yc_item_delete(txn, r)))
                        goto done;
                } else if ((rc = attrs_set(&p->cur, f->key, f->key_len, &f->val->v))) {
                    goto done;
                }
            } else {
                if (length < r->len && yc_split(txn, r, (uint32_t)length) == NULL) {
                    rc = pkc_error_code(PKC_ERR_NOMEM);
                    goto done;
                }
                length -= r->len;
            }
        }
        if ((rc = fwd(p)))
            goto done;
    }
    if (length > 0) {
        /* Quill's trailing newline: formatting past the end inserts them */
        char *nl = malloc((size_t)length);
        if (nl == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            goto done;
        }
        memset(nl, '\n', (size_t)length);
        yitem *it;
        if ((rc = yc_new_item(txn, parent, p->left, p->right, NULL, YC_STRING, (uint32_t)length,
                              &it)) == 0) {
            rc = yc_set_bytes(txn->doc, it, nl, (size_t)length);
            it->flags |= YF_ASCII;
            if (rc)
                yc_item_release(txn->doc, it);
            else if ((rc = yc_integrate(txn, it, 0)) == 0) {
                p->right = it;
                rc = fwd(p);
            }
        }
        free(nl);
        if (rc)
            goto done;
    }
    rc = insert_negated(txn, parent, p, &neg);
done:
    attrs_free(&neg);
    return rc;
}

/* Yjs cleanupFormattingGap */
static int cleanup_gap(pkc_ytxn *txn, yitem *start, yitem *curr, const yattrs *start_attrs,
                       yattrs *curr_attrs, int *cleanups)
{
    yitem *end = start;
    yattrs end_fmt; /* key -> the format item (as identity) */
    int rc = 0;
    memset(&end_fmt, 0, sizeof end_fmt);
    while (end && (!yi_countable(end) || yi_deleted(end))) {
        if (!yi_deleted(end) && end->kind == YC_FORMAT &&
            (rc = attrs_set(&end_fmt, yi_fmt(txn->doc, end)->key, yi_fmt(txn->doc, end)->key_len,
                            (const yv *)end)))
            goto done;
        end = yi_right(txn->doc, end);
    }
    int reached = 0;
    while (start != end) {
        if (curr == start)
            reached = 1;
        if (!yi_deleted(start) && start->kind == YC_FORMAT) {
            const yfmt *f = yi_fmt(txn->doc, start);
            const yv *sv = or_null(attrs_get(start_attrs, f->key, f->key_len));
            if (attrs_get(&end_fmt, f->key, f->key_len) != (const yv *)start ||
                yv_strict_eq(sv, &f->val->v)) {
                if ((rc = yc_item_delete(txn, start)))
                    goto done;
                (*cleanups)++;
                if (!reached && yv_strict_eq(or_null(attrs_get(curr_attrs, f->key, f->key_len)), &f->val->v) &&
                    !yv_strict_eq(sv, &f->val->v)) {
                    if (sv->kind == PKC_YV_NULL)
                        attrs_del(curr_attrs, f->key, f->key_len);
                    else if ((rc = attrs_set(curr_attrs, f->key, f->key_len, sv)))
                        goto done;
                }
            }
            if (!reached && !yi_deleted(start) && (rc = attrs_update(curr_attrs, f)))
                goto done;
        }
        start = yi_right(txn->doc, start);
    }
done:
    attrs_free(&end_fmt);
    return rc;
}

static int cleanup_contextless(pkc_ytxn *txn, yitem *item)
{
    while (item && item->right &&
           (yi_deleted(yi_right(txn->doc, item)) || !yi_countable(yi_right(txn->doc, item))))
        item = yi_right(txn->doc, item);
    yattrs seen;
    int rc = 0;
    memset(&seen, 0, sizeof seen);
    while (item && (yi_deleted(item) || !yi_countable(item))) {
        if (!yi_deleted(item) && item->kind == YC_FORMAT) {
            const yfmt *f = yi_fmt(txn->doc, item);
            if (attrs_find(&seen, f->key, f->key_len)) {
                if ((rc = yc_item_delete(txn, item)))
                    break;
            } else if ((rc = attrs_set(&seen, f->key, f->key_len, &YV_NULL))) {
                break;
            }
        }
        item = yi_left(txn->doc, item);
    }
    attrs_free(&seen);
    return rc;
}

static int cleanup_type(pkc_ytxn *txn, ybranch *t)
{
    yitem *start = t->start, *end = t->start;
    yattrs sa, ca;
    int rc = 0, res = 0;
    memset(&sa, 0, sizeof sa);
    memset(&ca, 0, sizeof ca);
    while (end) {
        if (!yi_deleted(end)) {
            if (end->kind == YC_FORMAT) {
                if ((rc = attrs_update(&ca, yi_fmt(txn->doc, end))))
                    break;
            } else {
                if ((rc = cleanup_gap(txn, start, end, &sa, &ca, &res)))
                    break;
                attrs_free(&sa);
                if ((rc = attrs_copy(&sa, &ca)))
                    break;
                start = end;
            }
        }
        end = yi_right(txn->doc, end);
    }
    attrs_free(&sa);
    attrs_free(&ca);
    return rc;
}

/* Yjs iterateStructs with a callback */
typedef int (*ystruct_fn)(void *ud, yitem *it);

static int iterate_structs(pkc_ytxn *txn, uint32_t cix, uint32_t clock, uint64_t len, ystruct_fn fn,
                           void *ud)
{
    if (len == 0)
        return 0;
    pkc_ydoc *doc = txn->doc;
    yclient *c = &doc->cl[cix];
    uint64_t end = (uint64_t)clock + len;
    if (yc_clean_start(txn, cix, clock) == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    ypos p = ycl_find(c, clock);
    for (;;) {
        yitem *it = ycl_at(c, p);
        if (end < (uint64_t)it->id.clock + it->len) {
            if (yc_clean_start(txn, cix, (uint32_t)end) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            p = ycl_find(c, it->id.clock);
        }
        int rc = fn(ud, it);
        if (rc)
            return rc;
        if (!ycl_next(c, &p) || ycl_at(c, p)->id.clock >= end)
            return 0;
    }
}

typedef struct fmtcleanup {
    pkc_ytxn *t;          /* the new transaction */
    ybranch **full;       /* types needing a full cleanup */
    size_t nfull, capfull;
} fmtcleanup;

static int in_full(const fmtcleanup *c, const ybranch *b)
{
    for (size_t i = 0; i < c->nfull; i++)
        if (c->full[i] == b)
            return 1;
    return 0;
}

static int add_full(fmtcleanup *c, ybranch *b)
{
    if (in_full(c, b))
        return 0;
    return PKC_ARRAY_PUSH(c->full, c->nfull, c->capfull, b) ? pkc_error_code(PKC_ERR_NOMEM) : 0;
}

static int collect_new_formats(void *ud, yitem *it)
{
    if (it->kind == YC_FORMAT && !yi_deleted(it))
        return add_full(ud, yi_parent(yi_doc(it), it));
    return 0;
}

static int visit_deleted(void *ud, yitem *it)
{
    fmtcleanup *c = ud;
    ybranch *parent = yi_parent(yi_doc(it), it);
    if (it->kind == YC_GC || parent == NULL || !parent->has_formatting || in_full(c, parent))
        return 0;
    if (it->kind == YC_FORMAT)
        return add_full(c, parent);
    return cleanup_contextless(c->t, it);
}

int yc_text_cleanup_after_txn(pkc_ytxn *txn)
{
    pkc_ydoc *doc = txn->doc;
    fmtcleanup c;
    int rc = 0;
    memset(&c, 0, sizeof c);
    for (uint32_t i = 0; i < txn->ntouched && rc == 0; i++) {
        uint32_t cix = txn->touched[i];
        uint32_t before = txn->befores[i], after = doc->cl[cix].state;
        if (before == after)
            continue;
        /* Yjs passes afterClock as the length: everything from before on */
        rc = iterate_structs(txn, cix, before, after, collect_new_formats, &c);
    }
    if (rc == 0 && (rc = yc_txn_begin(doc, NULL, 1, &c.t)) == 0) {
        /* iterateDeletedStructs: clients in the Map's insertion order */
        for (uint32_t o = 0; o < txn->nds_order && rc == 0; o++) {
            uint32_t cix = txn->ds_order[o];
            uint64_t client = doc->cl[cix].id;
            size_t k = 0;
            while (k < txn->ds.n && txn->ds.r[k].client != client)
                k++;
            for (; k < txn->ds.n && txn->ds.r[k].client == client && rc == 0; k++) {
                const yrange *d = &txn->ds.r[k];
                if (d->clock >= doc->cl[cix].state)
                    break;
                rc = iterate_structs(txn, cix, d->clock, d->len, visit_deleted, &c);
            }
        }
        for (size_t i = 0; i < c.nfull && rc == 0; i++)
            rc = cleanup_type(c.t, c.full[i]);
        int rc2 = yc_txn_commit(c.t);
        if (rc == 0)
            rc = rc2;
    }
    free(c.full);
    return rc;
}

static int delete_text(pkc_ytxn *txn, ytpos *p, uint64_t length)
{
    yattrs start_attrs;
    int rc = attrs_copy(&start_attrs, &p->cur);
    if (rc)
        return rc;
    yitem *start = p->right;
    while (length > 0 && p->right) {
        yitem *r = p->right;
        if (!yi_deleted(r) && (r->kind == YC_TYPE || r->kind == YC_EMBED || r->kind == YC_STRING)) {
            if (length < r->len && yc_split(txn, r, (uint32_t)length) == NULL) {
                rc = pkc_error_code(PKC_ERR_NOMEM);
                break;
            }
            length -= r->len;
            if ((rc = yc_item_delete(txn, r)))
                break;
        }
        if ((rc = fwd(p)))
            break;
    }
    /* without format items the cleanup finds nothing to do */
    if (rc == 0 && start && yi_parent(txn->doc, start)->has_formatting) {
        int cleanups = 0;
        rc = cleanup_gap(txn, start, p->right, &start_attrs, &p->cur, &cleanups);
    }
    attrs_free(&start_attrs);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Attributes from the API                                                  */

static int attrs_from_api(const pkc_yentry *attrs, size_t n, yattrs *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (!pkc_utf8_valid((const uint8_t *)attrs[i].key, attrs[i].key_len, NULL)) {
            attrs_free(out);
            return pkc_error(PKC_ERR_INVALID_ARG, "attribute name is not UTF-8");
        }
        if (attrs[i].value.kind == PKC_YV_UNDEFINED)
            continue;
        if (attrs[i].value.kind == PKC_YV_TYPE || attrs[i].value.kind == PKC_YV_DOC ||
            attrs[i].value.kind == PKC_YV_BIGINT || (unsigned)attrs[i].value.kind > PKC_YV_DOC) {
            attrs_free(out);
            return pkc_error(PKC_ERR_INVALID_ARG, "attribute values are JSON values");
        }
        ysval *sv = ysval_new();
        int rc = sv ? yv_copy(&sv->v, &attrs[i].value) : pkc_error_code(PKC_ERR_NOMEM);
        if (rc == 0 && PKC_ARRAY_PUSH(out->own, out->nown, out->capown, sv))
            rc = pkc_error_code(PKC_ERR_NOMEM);
        if (rc) {
            ysval_release(sv);
            attrs_free(out);
            return rc;
        }
        if ((rc = obj_set(out, attrs[i].key, attrs[i].key_len, &sv->v))) {
            attrs_free(out);
            return rc;
        }
    }
    return 0;
}

static int text_ok(const ybranch *b)
{
    int rc = yc_check_live(b);
    if (rc)
        return rc;
    if (b->tref != PKC_YTEXT && b->tref != PKC_YXML_TEXT)
        return pkc_error(PKC_ERR_YTYPE_KIND, "not a text");
    return 0;
}

#define B(t) ((ybranch *)(t))

static int do_insert(pkc_ytxn *txn, ybranch *b, uint64_t index, const yins *ins,
                     const pkc_yentry *attrs, size_t nattrs, int inherit)
{
    if (index > b->length)
        index = b->length; /* as Yjs: past the end is the end */
    ytpos p;
    yattrs a;
    int rc;
    if ((rc = attrs_from_api(attrs, attrs ? nattrs : 0, &a)))
        return rc;
    if ((rc = find_position(txn, b, index, &p)) == 0) {
        if (inherit) {
            for (size_t i = 0; i < p.cur.n && rc == 0; i++)
                rc = obj_set(&a, p.cur.a[i].key, p.cur.a[i].klen, p.cur.a[i].val);
        }
        if (rc == 0)
            rc = insert_text(txn, b, &p, ins, &a);
    }
    attrs_free(&p.cur);
    attrs_free(&a);
    return rc;
}

int pkc_ytext_insert(pkc_ytxn *txn, pkc_ytype *text, size_t index, const char *utf8,
                             size_t len, const pkc_yentry *attrs, size_t nattrs)
{
    ybranch *b = B(text);
    int own, rc;
    if ((rc = text_ok(b)))
        return rc;
    if (!pkc_utf8_valid((const uint8_t *)utf8, len, NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "text is not valid UTF-8");
    if (len == 0)
        return 0;
    if ((rc = yc_api_begin(b, &txn, &own)))
        return rc;
    yins ins = {utf8, len, NULL, NULL};
    rc = do_insert(txn, b, index, &ins, attrs, nattrs, attrs == NULL);
    return yc_api_end(txn, own, rc);
}

int pkc_ytext_insert_embed(pkc_ytxn *txn, pkc_ytype *text, size_t index,
                                   const pkc_yvalue *embed, const pkc_yentry *attrs, size_t nattrs,
                                   pkc_ytype **created)
{
    ybranch *b = B(text);
    int own, rc;
    if ((rc = text_ok(b)))
        return rc;
    if (embed->kind == PKC_YV_UNDEFINED || embed->kind == PKC_YV_DOC ||
        embed->kind == PKC_YV_BIGINT || (unsigned)embed->kind > PKC_YV_DOC)
        return pkc_error(PKC_ERR_INVALID_ARG, "embeds are JSON values or shared types");
    if ((rc = yc_api_begin(b, &txn, &own)))
        return rc;
    yins ins = {NULL, 0, embed, created};
    rc = do_insert(txn, b, index, &ins, attrs, nattrs, 0);
    return yc_api_end(txn, own, rc);
}

int pkc_ytext_delete(pkc_ytxn *txn, pkc_ytype *text, size_t index, size_t len)
{
    ybranch *b = B(text);
    int own, rc;
    if ((rc = text_ok(b)))
        return rc;
    /* as Yjs: a range reaching past the end stops there */
    if (index >= b->length || len == 0)
        return 0;
    if (len > b->length - index)
        len = (size_t)(b->length - index);
    if ((rc = yc_api_begin(b, &txn, &own)))
        return rc;
    ytpos p;
    if ((rc = find_position(txn, b, index, &p)) == 0)
        rc = delete_text(txn, &p, len);
    attrs_free(&p.cur);
    return yc_api_end(txn, own, rc);
}

int pkc_ytext_format(pkc_ytxn *txn, pkc_ytype *text, size_t index, size_t len,
                             const pkc_yentry *attrs, size_t nattrs)
{
    ybranch *b = B(text);
    int own, rc;
    if ((rc = text_ok(b)))
        return rc;
    /* as Yjs: nothing to format at the end; a range reaching past it
     * appends newlines (Quill's trailing newline, Yjs's formatText) */
    if (len == 0 || index >= b->length)
        return 0;
    yattrs a;
    if ((rc = attrs_from_api(attrs, nattrs, &a)))
        return rc;
    if ((rc = yc_api_begin(b, &txn, &own))) {
        attrs_free(&a);
        return rc;
    }
    ytpos p;
    if ((rc = find_position(txn, b, index, &p)) == 0 && p.right)
        rc = format_text(txn, b, &p, len, &a);
    attrs_free(&p.cur);
    attrs_free(&a);
    return yc_api_end(txn, own, rc);
}

static const yv *obj_member(const yv *o, const char *k)
{
    if (o->kind != PKC_YV_OBJECT)
        return NULL;
    size_t kn = strlen(k);
    for (size_t i = 0; i < o->u.object.len; i++)
        if (o->u.object.entries[i].key_len == kn && memcmp(o->u.object.entries[i].key, k, kn) == 0)
            return &o->u.object.entries[i].value;
    return NULL;
}

static int attrs_from_obj(const yv *o, yattrs *out)
{
    memset(out, 0, sizeof *out);
    if (o == NULL)
        return 0;
    if (o->kind != PKC_YV_OBJECT)
        return pkc_error(PKC_ERR_INVALID_ARG, "attributes must be an object");
    return attrs_from_api(o->u.object.entries, o->u.object.len, out);
}

int pkc_ytext_apply_delta(pkc_ytxn *txn, pkc_ytype *text, const pkc_yvalue *delta)
{
    ybranch *b = B(text);
    int own, rc;
    if ((rc = text_ok(b)))
        return rc;
    if (delta->kind != PKC_YV_ARRAY)
        return pkc_error(PKC_ERR_INVALID_ARG, "a delta is an array of operations");
    if ((rc = yc_api_begin(b, &txn, &own)))
        return rc;
    ytpos p;
    memset(&p, 0, sizeof p);
    p.doc = txn->doc;
    p.right = b->start;
    for (size_t i = 0; i < delta->u.array.len && rc == 0; i++) {
        const yv *op = &delta->u.array.items[i];
        const yv *ins = obj_member(op, "insert"), *ret = obj_member(op, "retain"),
                 *del = obj_member(op, "delete");
        yattrs a;
        if ((rc = attrs_from_obj(obj_member(op, "attributes"), &a)))
            break;
        if (ins) {
            if (ins->kind == PKC_YV_STRING) {
                if (ins->u.str.len > 0) {
                    if (!pkc_utf8_valid((const uint8_t *)ins->u.str.ptr, ins->u.str.len, NULL))
                        rc = pkc_error(PKC_ERR_INVALID_ARG, "text is not valid UTF-8");
                    else {
                        yins x = {ins->u.str.ptr, ins->u.str.len, NULL, NULL};
                        rc = insert_text(txn, b, &p, &x, &a);
                    }
                }
            } else {
                yins x = {NULL, 0, ins, NULL};
                rc = insert_text(txn, b, &p, &x, &a);
            }
        } else if (ret && ret->kind == PKC_YV_NUMBER && ret->u.number >= 0) {
            rc = format_text(txn, b, &p, (uint64_t)ret->u.number, &a);
        } else if (del && del->kind == PKC_YV_NUMBER && del->u.number >= 0) {
            rc = delete_text(txn, &p, (uint64_t)del->u.number);
        } else {
            rc = pkc_error(PKC_ERR_INVALID_ARG, "delta operation %zu is not insert/retain/delete", i);
        }
        attrs_free(&a);
    }
    attrs_free(&p.cur);
    return yc_api_end(txn, own, rc);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

int pkc_ytext_to_string(const pkc_ytype *text, char **out, size_t *len)
{
    const ybranch *b = B(text);
    pkc_buf s = PKC_BUF_INIT;
    for (const yitem *n = b->start; n; n = yi_right(b->doc, n))
        if (n->kind == YC_STRING && !yi_deleted(n))
            pkc_buf_push(&s, yi_bytes(b->doc, n), yi_cn(b->doc, n));
    pkc_buf_push_u8(&s, 0);
    if (s.err) {
        pkc_buf_free(&s);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    size_t n;
    *out = (char *)pkc_buf_steal(&s, &n);
    if (len)
        *len = n - 1;
    return 0;
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

static int push_entry(yv *obj, size_t *cap, const char *k, size_t kn, yv *val)
{
    pkc_yentry e;
    e.key = dupz(k, kn);
    e.key_len = kn;
    e.value = *val;
    if (e.key == NULL || PKC_ARRAY_PUSH(obj->u.object.entries, obj->u.object.len, *cap, e)) {
        free((void *)e.key);
        yv_clear(val);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    return 0;
}

/* {insert: v, attributes?: {...}} */
static int delta_op(yv *ops, size_t *cap, yv *ins, const yattrs *attrs)
{
    yv op;
    size_t ocap = 0;
    memset(&op, 0, sizeof op);
    op.kind = PKC_YV_OBJECT;
    int rc = push_entry(&op, &ocap, "insert", 6, ins);
    if (rc == 0 && attrs->n > 0) {
        yv a;
        size_t acap = 0;
        memset(&a, 0, sizeof a);
        a.kind = PKC_YV_OBJECT;
        for (size_t i = 0; i < attrs->n && rc == 0; i++) {
            yv c;
            if ((rc = yv_copy(&c, attrs->a[i].val)) == 0)
                rc = push_entry(&a, &acap, attrs->a[i].key, attrs->a[i].klen, &c);
        }
        if (rc == 0)
            rc = push_entry(&op, &ocap, "attributes", 10, &a);
        else
            yv_clear(&a);
    }
    if (rc == 0 && PKC_ARRAY_PUSH(ops->u.array.items, ops->u.array.len, *cap, op))
        rc = pkc_error_code(PKC_ERR_NOMEM);
    if (rc)
        yv_clear(&op);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* toDelta(snapshot, prevSnapshot, computeYChange)                          */

/* A snapshot as Yjs's decodeSnapshot reads it: per client, the delete
 * ranges in written order (a client written twice gets both lists, one
 * after the other; isDeleted binary-searches them as they are) and the
 * state vector's clock (a client written twice: the later one). */
typedef struct ysnclient {
    uint64_t client;
    uint64_t sv;
    int has_sv;
    size_t r0, nr; /* its ranges: snap->r[r0 .. r0 + nr) */
} ysnclient;

typedef struct ysnrange {
    uint64_t client, clock, len;
    size_t seq; /* order in the snapshot */
} ysnrange;

typedef struct ysnap {
    ysnclient *c; /* by client, ascending */
    size_t nc;
    ysnrange *r;  /* by client, then seq */
    size_t nr;
} ysnap;

static void ysnap_free(ysnap *s)
{
    free(s->c);
    free(s->r);
    memset(s, 0, sizeof *s);
}

static int cmp_snrange(const void *a, const void *b)
{
    const ysnrange *x = a, *y = b;
    if (x->client != y->client)
        return x->client < y->client ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const ysnclient *ysnap_find(const ysnap *s, uint64_t client)
{
    size_t lo = 0, hi = s->nc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->c[mid].client < client)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nc && s->c[lo].client == client ? &s->c[lo] : NULL;
}

/* Every error is PKC_ERR_MALFORMED (or NOMEM); trailing bytes are too. */
static int ysnap_decode(const uint8_t *p, size_t n, ysnap *s)
{
    pkc_reader r;
    uint64_t nclients, nsv;
    ysnrange *sv = NULL;
    size_t cap = 0;
    int rc;
    memset(s, 0, sizeof *s);
    pkc_reader_init(&r, p, n);
    if ((rc = pkc_reader_varuint(&r, &nclients)))
        goto bad;
    for (uint64_t i = 0; i < nclients; i++) {
        uint64_t client, cnt;
        if ((rc = pkc_reader_varuint(&r, &client)) || (rc = pkc_reader_varuint(&r, &cnt)))
            goto bad;
        if (cnt > pkc_reader_left(&r) / 2) {
            rc = pkc_error(PKC_ERR_MALFORMED, "offset %zu: %llu deletes announced",
                           pkc_reader_offset(&r), (unsigned long long)cnt);
            goto bad;
        }
        for (uint64_t k = 0; k < cnt; k++) {
            ysnrange x = {client, 0, 0, s->nr};
            if ((rc = pkc_reader_varuint(&r, &x.clock)) || (rc = pkc_reader_varuint(&r, &x.len)))
                goto bad;
            if (PKC_ARRAY_PUSH(s->r, s->nr, cap, x)) {
                rc = pkc_error_code(PKC_ERR_NOMEM);
                goto fail;
            }
        }
    }
    if ((rc = pkc_reader_varuint(&r, &nsv)))
        goto bad;
    if (nsv > pkc_reader_left(&r) / 2) {
        rc = pkc_error(PKC_ERR_MALFORMED, "offset %zu: %llu state vector entries announced",
                       pkc_reader_offset(&r), (unsigned long long)nsv);
        goto bad;
    }
    sv = malloc((nsv ? (size_t)nsv : 1) * sizeof *sv);
    if (sv == NULL) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto fail;
    }
    for (uint64_t i = 0; i < nsv; i++) {
        sv[i].seq = (size_t)i;
        sv[i].len = 0;
        if ((rc = pkc_reader_varuint(&r, &sv[i].client)) || (rc = pkc_reader_varuint(&r, &sv[i].clock)))
            goto bad;
    }
    if ((rc = pkc_reader_finish(&r)))
        goto bad;
    if (s->nr > 1)
        qsort(s->r, s->nr, sizeof *s->r, cmp_snrange);
    if (nsv > 1)
        qsort(sv, (size_t)nsv, sizeof *sv, cmp_snrange);
    /* the clients of both parts, merged */
    s->c = malloc((s->nr + (size_t)nsv + 1) * sizeof *s->c);
    if (s->c == NULL) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto fail;
    }
    size_t i = 0, j = 0;
    while (i < s->nr || j < nsv) {
        uint64_t client = j >= nsv || (i < s->nr && s->r[i].client < sv[j].client) ? s->r[i].client
                                                                                    : sv[j].client;
        ysnclient *c = &s->c[s->nc++];
        memset(c, 0, sizeof *c);
        c->client = client;
        c->r0 = i;
        while (i < s->nr && s->r[i].client == client)
            i++;
        c->nr = i - c->r0;
        for (; j < nsv && sv[j].client == client; j++) {
            c->has_sv = 1;
            c->sv = sv[j].clock; /* sorted by seq: the last one wins */
        }
    }
    free(sv);
    return 0;
bad:
    rc = pkc_error_wrap(PKC_ERR_MALFORMED, "snapshot");
fail:
    free(sv);
    ysnap_free(s);
    return rc;
}

/* Yjs's isVisible(item, snapshot) for the unit at (client, clock):
 * sv[client] > clock and not isDeleted(ds, id), whose findIndexDS is a
 * binary search over the client's ranges as written. */
static int ysnap_visible(const ysnap *s, uint64_t client, uint64_t clock)
{
    const ysnclient *c = ysnap_find(s, client);
    if (c == NULL || !c->has_sv || c->sv <= clock)
        return 0;
    if (c->nr == 0)
        return 1;
    const ysnrange *d = s->r + c->r0;
    ptrdiff_t left = 0, right = (ptrdiff_t)c->nr - 1;
    while (left <= right) {
        ptrdiff_t mid = (left + right) / 2;
        if (d[mid].clock <= clock) {
            if (clock - d[mid].clock < d[mid].len)
                return 0;
            left = mid + 1;
        } else {
            right = mid - 1;
        }
    }
    return 1;
}

/* Where Yjs's splitSnapshotAffectedStructs would split items: per client
 * id, the clock of the state vector and the starts and ends of the delete
 * ranges that iterateDeletedStructs visits (it stops at the first range
 * that starts at or after the document's state of that client). A split
 * only happens inside an item, so clocks past the state never matter. */
typedef struct ycut {
    uint64_t client, clock;
} ycut;

typedef struct ycuts {
    ycut *c;
    size_t n, cap;
} ycuts;

static int cmp_cut(const void *a, const void *b)
{
    const ycut *x = a, *y = b;
    if (x->client != y->client)
        return x->client < y->client ? -1 : 1;
    return x->clock < y->clock ? -1 : x->clock > y->clock;
}

static int cuts_add(ycuts *k, const pkc_ydoc *doc, const ysnap *s)
{
    for (size_t i = 0; i < s->nc; i++) {
        const ysnclient *c = &s->c[i];
        uint32_t cix;
        if (!yc_client_find(doc, c->client, &cix))
            continue;
        uint64_t state = doc->cl[cix].state;
        if (c->has_sv && c->sv < state) {
            ycut x = {c->client, c->sv};
            if (PKC_ARRAY_PUSH(k->c, k->n, k->cap, x))
                return pkc_error_code(PKC_ERR_NOMEM);
        }
        for (size_t j = 0; j < c->nr; j++) {
            const ysnrange *d = &s->r[c->r0 + j];
            if (d->clock >= state)
                break;
            if (d->len == 0)
                continue;
            ycut a = {c->client, d->clock};
            ycut b = {c->client, d->len < state - d->clock ? d->clock + d->len : state};
            if (PKC_ARRAY_PUSH(k->c, k->n, k->cap, a) || PKC_ARRAY_PUSH(k->c, k->n, k->cap, b))
                return pkc_error_code(PKC_ERR_NOMEM);
        }
    }
    return 0;
}

/* The first cut of `client` after `clock` (UINT64_MAX: none). */
static uint64_t cut_after(const ycuts *k, uint64_t client, uint64_t clock)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->c[mid].client < client || (k->c[mid].client == client && k->c[mid].clock <= clock))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k->n && k->c[lo].client == client ? k->c[lo].clock : UINT64_MAX;
}

static const yv YCH_TYPE_REMOVED = {.kind = PKC_YV_STRING, .u.str = {"removed", 7}};
static const yv YCH_TYPE_ADDED = {.kind = PKC_YV_STRING, .u.str = {"added", 5}};
static pkc_yentry YCH_REMOVED_E = {"type", 4, {.kind = PKC_YV_STRING, .u.str = {"removed", 7}}};
static pkc_yentry YCH_ADDED_E = {"type", 4, {.kind = PKC_YV_STRING, .u.str = {"added", 5}}};
static const yv YCH_REMOVED = {.kind = PKC_YV_OBJECT, .u.object = {&YCH_REMOVED_E, 1}};
static const yv YCH_ADDED = {.kind = PKC_YV_OBJECT, .u.object = {&YCH_ADDED_E, 1}};
static const yv YV_UNDEFINED = {.kind = PKC_YV_UNDEFINED};

typedef struct tdbuild {
    const ybranch *t;
    yv *out;
    size_t cap;
    yattrs cur;
    pkc_buf str;
    const ysnap *snap, *prev;
    pkc_ytext_ychange_fn ychange;
    void *ud;
    yv **own; /* ychange values from the callback */
    size_t nown, capown;
} tdbuild;

/* packStr */
static int td_pack(tdbuild *d)
{
    if (d->str.len == 0)
        return 0;
    if (d->str.err)
        return pkc_error_code(PKC_ERR_NOMEM);
    yv s;
    memset(&s, 0, sizeof s);
    s.kind = PKC_YV_STRING;
    s.u.str.len = d->str.len;
    s.u.str.ptr = dupz(d->str.data, d->str.len);
    if (s.u.str.ptr == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    pkc_buf_reset(&d->str);
    return delta_op(d->out, &d->cap, &s, &d->cur);
}

/* cur === undefined */
static int js_undefined(const yv *v)
{
    return v == NULL || v->kind == PKC_YV_UNDEFINED;
}

/* The member `k` of an object (the last of duplicates, as JavaScript), or NULL. */
static const yv *js_member(const yv *o, const char *k, size_t kn)
{
    const yv *m = NULL;
    if (o->kind == PKC_YV_OBJECT)
        for (size_t i = 0; i < o->u.object.len; i++)
            if (o->u.object.entries[i].key_len == kn && memcmp(o->u.object.entries[i].key, k, kn) == 0)
                m = &o->u.object.entries[i].value;
    return m;
}

/* cur === undefined || cur.user !== client || cur.type !== type */
static int ych_new(const yv *cur, uint64_t client, const yv *type)
{
    if (js_undefined(cur))
        return 1;
    const yv *user = js_member(cur, "user", 4), *ty = js_member(cur, "type", 4);
    if (user == NULL || user->kind != PKC_YV_NUMBER || user->u.number != (double)client)
        return 1;
    return ty == NULL || ty->kind != PKC_YV_STRING || ty->u.str.len != type->u.str.len ||
           memcmp(ty->u.str.ptr, type->u.str.ptr, type->u.str.len) != 0;
}

/* currentAttributes.set('ychange', computeYChange ? computeYChange(...) : {type}) */
static int ych_set(tdbuild *d, int added, uint64_t client, uint32_t clock)
{
    const yv *v = added ? &YCH_ADDED : &YCH_REMOVED;
    if (d->ychange) {
        const yv *got = d->ychange(d->ud, added, client, clock);
        if (got == NULL) {
            v = &YV_UNDEFINED;
        } else {
            yv *c = malloc(sizeof *c);
            int rc;
            if (c == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            if ((rc = yv_copy(c, got))) {
                free(c);
                return rc;
            }
            if (PKC_ARRAY_PUSH(d->own, d->nown, d->capown, c)) {
                yv_clear(c);
                free(c);
                return pkc_error_code(PKC_ERR_NOMEM);
            }
            v = c;
        }
    }
    return attrs_set(&d->cur, "ychange", 7, v);
}

/* One unit range of an item (Yjs's item after the snapshot splits) at
 * `clock`; for strings, its UTF-8 bytes. */
static int td_segment(tdbuild *d, const yitem *n, uint32_t clock, const uint8_t *s, size_t sn,
                      int half_start, int half_end)
{
    const pkc_ydoc *doc = d->t->doc;
    uint64_t client = doc->cl[n->id.client].id;
    int vis = d->snap ? ysnap_visible(d->snap, client, clock) : !yi_deleted(n);
    int vis_prev = d->prev ? ysnap_visible(d->prev, client, clock) : 0;
    int rc = 0;
    if (!vis && !vis_prev)
        return 0;
    switch (n->kind) {
    case YC_STRING: {
        const yv *cur = attrs_get(&d->cur, "ychange", 7);
        if (d->snap && !vis) {
            if (ych_new(cur, client, &YCH_TYPE_REMOVED) &&
                ((rc = td_pack(d)) || (rc = ych_set(d, 0, client, clock))))
                return rc;
        } else if (d->prev && !vis_prev) {
            if (ych_new(cur, client, &YCH_TYPE_ADDED) &&
                ((rc = td_pack(d)) || (rc = ych_set(d, 1, client, clock))))
                return rc;
        } else if (!js_undefined(cur)) {
            /* (also a `ychange` format attribute; an undefined value from
             * the callback stays, as `cur !== undefined` is false for it) */
            if ((rc = td_pack(d)))
                return rc;
            attrs_del(&d->cur, "ychange", 7);
        }
        /* a split surrogate pair: both halves are U+FFFD (yjs#248) */
        if (half_start)
            pkc_buf_push(&d->str, "\xef\xbf\xbd", 3);
        pkc_buf_push(&d->str, s, sn);
        if (half_end)
            pkc_buf_push(&d->str, "\xef\xbf\xbd", 3);
        return d->str.err ? pkc_error_code(PKC_ERR_NOMEM) : 0;
    }
    case YC_TYPE:
    case YC_EMBED: {
        if ((rc = td_pack(d)))
            return rc;
        yv v;
        if ((rc = yc_item_value(n, 0, &v)))
            return rc;
        return delta_op(d->out, &d->cap, &v, &d->cur);
    }
    case YC_FORMAT:
        if (vis && (rc = td_pack(d)) == 0)
            rc = attrs_update(&d->cur, yi_fmt(doc, n));
        return rc;
    default:
        return 0;
    }
}

/* A string item in the pieces Yjs's splits would make of it. */
static int td_string(tdbuild *d, const ycuts *k, const yitem *n)
{
    const pkc_ydoc *doc = d->t->doc;
    const uint8_t *p = yi_bytes(doc, n);
    size_t cn = yi_cn(doc, n);
    uint64_t client = doc->cl[n->id.client].id;
    uint32_t at = n->id.clock, end = n->id.clock + n->len;
    size_t bi = 0; /* byte of unit `at` (with `half`: of the pair it is the low half of) */
    int half = 0;
    while (at < end) {
        uint64_t cut = k ? cut_after(k, client, at) : UINT64_MAX;
        uint32_t to = cut < end ? (uint32_t)cut : end;
        size_t b0 = bi, units = to - at;
        int half_start = half, mid = 0;
        if (half) {
            b0 += 4;
            units--;
        }
        size_t off = to == end                ? cn - b0 /* the rest */
                     : (n->flags & YF_ASCII) ? units
                                             : yc_utf16_offset(p + b0, cn - b0, units, &mid);
        int rc = td_segment(d, n, at, p + b0, off, half_start, mid);
        if (rc)
            return rc;
        bi = b0 + off;
        half = mid;
        at = to;
    }
    return 0;
}

static int text_delta_at(const ybranch *t, const ysnap *snap, const ysnap *prev,
                         pkc_ytext_ychange_fn ychange, void *ud, yv *out)
{
    tdbuild d;
    ycuts k;
    int rc = 0;
    memset(&d, 0, sizeof d);
    memset(&k, 0, sizeof k);
    memset(out, 0, sizeof *out);
    out->kind = PKC_YV_ARRAY;
    d.t = t;
    d.out = out;
    d.str = (pkc_buf)PKC_BUF_INIT;
    d.snap = snap;
    d.prev = prev;
    d.ychange = ychange;
    d.ud = ud;
    if (snap)
        rc = cuts_add(&k, t->doc, snap);
    if (rc == 0 && prev)
        rc = cuts_add(&k, t->doc, prev);
    if (rc == 0 && k.n > 1)
        qsort(k.c, k.n, sizeof *k.c, cmp_cut);
    for (const yitem *n = t->start; n && rc == 0; n = yi_right(t->doc, n)) {
        if (n->kind == YC_STRING)
            rc = td_string(&d, k.n ? &k : NULL, n);
        else
            rc = td_segment(&d, n, n->id.clock, NULL, 0, 0, 0);
    }
    if (rc == 0)
        rc = td_pack(&d);
    pkc_buf_free(&d.str);
    attrs_free(&d.cur);
    for (size_t i = 0; i < d.nown; i++) {
        yv_clear(d.own[i]);
        free(d.own[i]);
    }
    free(d.own);
    free(k.c);
    if (rc)
        yv_clear(out);
    return rc;
}

int yc_text_delta(const ybranch *t, yv *out)
{
    return text_delta_at(t, NULL, NULL, NULL, NULL, out);
}

int pkc_ytext_to_delta(const pkc_ytype *text, pkc_yvalue **out)
{
    return pkc_ytext_to_delta_at_cb(text, NULL, 0, NULL, 0, NULL, NULL, out);
}

int pkc_ytext_to_delta_at(const pkc_ytype *text, const uint8_t *snapshot, size_t snapshot_len,
                               const uint8_t *prev_snapshot, size_t prev_len, pkc_yvalue **out)
{
    return pkc_ytext_to_delta_at_cb(text, snapshot, snapshot_len, prev_snapshot, prev_len, NULL, NULL,
                                 out);
}

int pkc_ytext_to_delta_at_cb(const pkc_ytype *text, const uint8_t *snapshot,
                                  size_t snapshot_len, const uint8_t *prev_snapshot,
                                  size_t prev_len, pkc_ytext_ychange_fn ychange, void *ud,
                                  pkc_yvalue **out)
{
    ysnap snap, prev;
    int rc;
    memset(&snap, 0, sizeof snap);
    memset(&prev, 0, sizeof prev);
    if (snapshot && (rc = ysnap_decode(snapshot, snapshot_len, &snap)))
        return rc;
    if (prev_snapshot && (rc = ysnap_decode(prev_snapshot, prev_len, &prev))) {
        ysnap_free(&snap);
        return rc;
    }
    pkc_yvalue *v = malloc(sizeof *v);
    if (v == NULL)
        rc = pkc_error_code(PKC_ERR_NOMEM);
    else
        rc = text_delta_at(B(text), snapshot ? &snap : NULL, prev_snapshot ? &prev : NULL, ychange,
                           ud, v);
    ysnap_free(&snap);
    ysnap_free(&prev);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

static int cmp_key(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = memcmp(a, b, n);
    return c ? c : (an < bn ? -1 : an > bn);
}

typedef struct kv {
    char key[24];
    size_t klen;
    const char *kp;
    pkc_buf val;
} kv;

static int xml_attrs(pkc_buf *b, const yv *av)
{
    size_t n = 0;
    switch (av->kind) {
    case PKC_YV_OBJECT:
        n = av->u.object.len;
        break;
    case PKC_YV_STRING:
        n = yc_utf16_len((const uint8_t *)av->u.str.ptr, av->u.str.len, NULL);
        break;
    case PKC_YV_ARRAY:
        n = av->u.array.len;
        break;
    case PKC_YV_BINARY:
        n = av->u.str.len;
        break;
    default:
        return 0;
    }
    kv *a = calloc(n ? n : 1, sizeof *a);
    if (a == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    size_t soff = 0;
    for (size_t i = 0; i < n; i++) {
        pkc_buf_init(&a[i].val);
        if (av->kind == PKC_YV_OBJECT) {
            a[i].kp = av->u.object.entries[i].key;
            a[i].klen = av->u.object.entries[i].key_len;
            yv_js_string(&a[i].val, &av->u.object.entries[i].value);
            continue;
        }
        a[i].klen = (size_t)snprintf(a[i].key, sizeof a[i].key, "%zu", i);
        a[i].kp = NULL;
        if (av->kind == PKC_YV_ARRAY) {
            const yv *e = &av->u.array.items[i];
            if (e->kind != PKC_YV_UNDEFINED && e->kind != PKC_YV_NULL)
                yv_js_string(&a[i].val, e);
        } else if (av->kind == PKC_YV_BINARY) {
            char t[8];
            int tn = snprintf(t, sizeof t, "%u", (unsigned)(uint8_t)av->u.str.ptr[i]);
            pkc_buf_push(&a[i].val, t, (size_t)tn);
        } else {
            /* one UTF-16 unit of the string; surrogate halves print as U+FFFD */
            const uint8_t *p = (const uint8_t *)av->u.str.ptr;
            uint8_t c = p[soff];
            size_t cl = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
            if (cl == 4) {
                static const uint8_t rep[3] = {0xef, 0xbf, 0xbd};
                pkc_buf_push(&a[i].val, rep, 3);
                if (i + 1 < n) {
                    i++;
                    pkc_buf_init(&a[i].val);
                    a[i].klen = (size_t)snprintf(a[i].key, sizeof a[i].key, "%zu", i);
                    a[i].kp = NULL;
                    pkc_buf_push(&a[i].val, rep, 3);
                }
            } else {
                pkc_buf_push(&a[i].val, p + soff, cl);
            }
            soff += cl;
        }
    }
    /* attrs.sort((a, b) => a.key < b.key ? -1 : 1) */
#define KP(x) ((x).kp ? (x).kp : (x).key)
    for (size_t i = 1; i < n; i++) {
        kv x = a[i];
        size_t j = i;
        while (j > 0 && cmp_key(KP(a[j - 1]), a[j - 1].klen, KP(x), x.klen) > 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
    for (size_t i = 0; i < n; i++) {
        const char *kp = KP(a[i]);
        pkc_buf_push_u8(b, ' ');
        pkc_buf_push(b, kp, a[i].klen);
        pkc_buf_push(b, "=\"", 2);
        pkc_buf_push(b, a[i].val.data, a[i].val.len);
        pkc_buf_push_u8(b, '"');
        pkc_buf_free(&a[i].val);
    }
#undef KP
    free(a);
    return b->err;
}

/* YXmlText.toString */
int yc_xml_text_string(pkc_buf *b, const ybranch *t)
{
    yv d;
    int rc = yc_text_delta(t, &d);
    if (rc)
        return rc;
    for (size_t i = 0; i < d.u.array.len && rc == 0; i++) {
        const yv *op = &d.u.array.items[i];
        const yv *ins = obj_member(op, "insert");
        const yv *attrs = obj_member(op, "attributes");
        size_t n = attrs ? attrs->u.object.len : 0;
        const pkc_yentry **nodes = malloc((n ? n : 1) * sizeof *nodes);
        if (nodes == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            break;
        }
        for (size_t k = 0; k < n; k++)
            nodes[k] = &attrs->u.object.entries[k];
        for (size_t k = 1; k < n; k++) {
            const pkc_yentry *x = nodes[k];
            size_t j = k;
            while (j > 0 && cmp_key(nodes[j - 1]->key, nodes[j - 1]->key_len, x->key, x->key_len) > 0) {
                nodes[j] = nodes[j - 1];
                j--;
            }
            nodes[j] = x;
        }
        for (size_t k = 0; k < n; k++) {
            pkc_buf_push_u8(b, '<');
            pkc_buf_push(b, nodes[k]->key, nodes[k]->key_len);
            const yv *av = &nodes[k]->value;
            /* JavaScript's for...in over the value: object keys, or the
             * indices of a string, array or Uint8Array */
            rc = xml_attrs(b, av);
            if (rc)
                break;
            pkc_buf_push_u8(b, '>');
        }
        if (rc == 0) {
            if (ins->kind == PKC_YV_TYPE)
                rc = yc_xml_string(b, (const ybranch *)ins->u.type.handle, 1);
            else
                rc = yv_js_string(b, ins);
        }
        for (size_t k = n; k-- > 0;) {
            pkc_buf_push(b, "</", 2);
            pkc_buf_push(b, nodes[k]->key, nodes[k]->key_len);
            pkc_buf_push_u8(b, '>');
        }
        free(nodes);
    }
    yv_clear(&d);
    return rc ? rc : b->err;
}

/* ------------------------------------------------------------------------ */
/* YTextEvent.delta                                                         */

typedef struct tdelta {
    yv *out;
    size_t cap;
    int action; /* 0 none, 1 insert, 2 retain, 3 delete */
    pkc_buf ins;
    const yitem *ins_item; /* an embed or type being inserted */
    uint64_t retain, del;
    yattrs attributes, cur;
} tdelta;

static int num_op(tdelta *d, const char *name, uint64_t n, const yattrs *attrs)
{
    yv op, num;
    size_t ocap = 0;
    memset(&op, 0, sizeof op);
    memset(&num, 0, sizeof num);
    op.kind = PKC_YV_OBJECT;
    num.kind = PKC_YV_NUMBER;
    num.u.number = (double)n;
    int rc = push_entry(&op, &ocap, name, strlen(name), &num);
    if (rc == 0 && attrs && attrs->n > 0) {
        yv a;
        size_t acap = 0;
        memset(&a, 0, sizeof a);
        a.kind = PKC_YV_OBJECT;
        for (size_t i = 0; i < attrs->n && rc == 0; i++) {
            yv c;
            if ((rc = yv_copy(&c, attrs->a[i].val)) == 0)
                rc = push_entry(&a, &acap, attrs->a[i].key, attrs->a[i].klen, &c);
        }
        if (rc == 0)
            rc = push_entry(&op, &ocap, "attributes", 10, &a);
        else
            yv_clear(&a);
    }
    if (rc == 0 && PKC_ARRAY_PUSH(d->out->u.array.items, d->out->u.array.len, d->cap, op))
        rc = pkc_error_code(PKC_ERR_NOMEM);
    if (rc)
        yv_clear(&op);
    return rc;
}

static int add_op(tdelta *d)
{
    int rc = 0;
    switch (d->action) {
    case 3:
        if (d->del > 0)
            rc = num_op(d, "delete", d->del, NULL);
        d->del = 0;
        break;
    case 1:
        if (d->ins_item || d->ins.len > 0) {
            yv v;
            memset(&v, 0, sizeof v);
            if (d->ins_item) {
                rc = yc_item_value(d->ins_item, 0, &v);
            } else {
                v.kind = PKC_YV_STRING;
                v.u.str.len = d->ins.len;
                if ((v.u.str.ptr = dupz(d->ins.data, d->ins.len)) == NULL)
                    rc = pkc_error_code(PKC_ERR_NOMEM);
            }
            if (rc == 0) {
                yattrs nn;
                memset(&nn, 0, sizeof nn);
                for (size_t i = 0; i < d->cur.n && rc == 0; i++)
                    if (d->cur.a[i].val->kind != PKC_YV_NULL)
                        rc = attrs_set(&nn, d->cur.a[i].key, d->cur.a[i].klen, d->cur.a[i].val);
                if (rc == 0)
                    rc = delta_op(d->out, &d->cap, &v, &nn);
                else
                    yv_clear(&v);
                attrs_free(&nn);
            }
        }
        pkc_buf_reset(&d->ins);
        d->ins_item = NULL;
        break;
    case 2:
        if (d->retain > 0)
            rc = num_op(d, "retain", d->retain, &d->attributes);
        d->retain = 0;
        break;
    default:
        return 0;
    }
    d->action = 0;
    return rc;
}

static const yv *obj_member(const yv *o, const char *k);

int yc_text_event_delta(pkc_ytxn *ev, ybranch *target, yv *out)
{
    pkc_ydoc *doc = ev->doc;
    tdelta d;
    yattrs old;
    pkc_ytxn *t = doc->txn; /* deletes of redundant formats go here */
    int own = 0, rc = 0;
    memset(&d, 0, sizeof d);
    pkc_buf_init(&d.ins);
    memset(&old, 0, sizeof old);
    memset(out, 0, sizeof *out);
    out->kind = PKC_YV_ARRAY;
    d.out = out;
#define DEL(item)                                                                                      do {                                                                                                   if (t == NULL) {                                                                                       if ((rc = yc_txn_begin(doc, NULL, 1, &t)))                                                             goto done;                                                                                     own = 1;                                                                                       }                                                                                                  if ((rc = yc_item_delete(t, (item))))                                                                  goto done;                                                                                 } while (0)
    for (yitem *it = target->start; it; it = yi_right(doc, it)) {
        int adds = yc_txn_adds(ev, it), dels = yc_txn_deletes(ev, it);
        switch (it->kind) {
        case YC_TYPE:
        case YC_EMBED:
            if (adds) {
                if (!dels) {
                    if ((rc = add_op(&d)))
                        goto done;
                    d.action = 1;
                    d.ins_item = it;
                    if ((rc = add_op(&d)))
                        goto done;
                }
            } else if (dels) {
                if (d.action != 3 && (rc = add_op(&d)))
                    goto done;
                d.action = 3;
                d.del += 1;
            } else if (!yi_deleted(it)) {
                if (d.action != 2 && (rc = add_op(&d)))
                    goto done;
                d.action = 2;
                d.retain += 1;
            }
            break;
        case YC_STRING:
            if (adds) {
                if (!dels) {
                    if (d.action != 1 && (rc = add_op(&d)))
                        goto done;
                    d.action = 1;
                    pkc_buf_push(&d.ins, yi_bytes(doc, it), yi_cn(doc, it));
                }
            } else if (dels) {
                if (d.action != 3 && (rc = add_op(&d)))
                    goto done;
                d.action = 3;
                d.del += it->len;
            } else if (!yi_deleted(it)) {
                if (d.action != 2 && (rc = add_op(&d)))
                    goto done;
                d.action = 2;
                d.retain += it->len;
            }
            break;
        case YC_FORMAT: {
            const yfmt *f = yi_fmt(doc, it);
            const yv *value = &f->val->v;
            if (adds) {
                if (!dels) {
                    const yv *cur = or_null(attrs_get(&d.cur, f->key, f->key_len));
                    if (!yv_equal_attr(cur, value)) {
                        if (d.action == 2 && (rc = add_op(&d)))
                            goto done;
                        if (yv_equal_attr(value, or_null(attrs_get(&old, f->key, f->key_len))))
                            attrs_del(&d.attributes, f->key, f->key_len);
                        else if ((rc = obj_set(&d.attributes, f->key, f->key_len, value)))
                            goto done;
                    } else if (value->kind != PKC_YV_NULL) {
                        DEL(it);
                    }
                }
            } else if (dels) {
                if ((rc = attrs_set(&old, f->key, f->key_len, value)))
                    goto done;
                const yv *cur = or_null(attrs_get(&d.cur, f->key, f->key_len));
                if (!yv_equal_attr(cur, value)) {
                    if (d.action == 2 && (rc = add_op(&d)))
                        goto done;
                    if ((rc = obj_set(&d.attributes, f->key, f->key_len, cur)))
                        goto done;
                }
            } else if (!yi_deleted(it)) {
                if ((rc = attrs_set(&old, f->key, f->key_len, value)))
                    goto done;
                const yv *attr = attrs_get(&d.attributes, f->key, f->key_len);
                if (attr) {
                    if (!yv_equal_attr(attr, value)) {
                        if (d.action == 2 && (rc = add_op(&d)))
                            goto done;
                        if (value->kind == PKC_YV_NULL)
                            attrs_del(&d.attributes, f->key, f->key_len);
                        else if ((rc = obj_set(&d.attributes, f->key, f->key_len, value)))
                            goto done;
                    } else if (attr->kind != PKC_YV_NULL) {
                        DEL(it);
                    }
                }
            }
            if (!yi_deleted(it)) {
                if (d.action == 1 && (rc = add_op(&d)))
                    goto done;
                if ((rc = attrs_update(&d.cur, f)))
                    goto done;
            }
            break;
        }
        default:
            break;
        }
    }
    if ((rc = add_op(&d)))
        goto done;
    while (out->u.array.len > 0) {
        yv *last = &out->u.array.items[out->u.array.len - 1];
        if (obj_member(last, "retain") && !obj_member(last, "attributes")) {
            yv_clear(last);
            out->u.array.len--;
        } else {
            break;
        }
    }
#undef DEL
done:
    if (own) {
        int rc2 = yc_txn_commit(t);
        if (rc == 0)
            rc = rc2;
    }
    pkc_buf_free(&d.ins);
    attrs_free(&d.attributes);
    attrs_free(&d.cur);
    attrs_free(&old);
    if (rc)
        yv_clear(out);
    return rc;
}
