/*
 * update.c: writing v1 updates (a document's structs and delete set), and
 * applying updates to a document (Yjs readUpdateV2 / integrateStructs /
 * readAndApplyDeleteSet), with pending structs and deletes kept for later.
 */
#include "crdt/update.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/content.h"
#include "crdt/decode.h"
#include "crdt/doc.h"
#include "crdt/ds.h"
#include "crdt/integrate.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/merge.h"
#include "crdt/pool.h"
#include "crdt/split.h"
#include "crdt/sv.h"
#include "crdt/txn.h"
#include "crdt/utf16.h"
#include "crdt/val.h"
#include "crdt/varint.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"

/* ------------------------------------------------------------------------ */
/* Writing structs                                                          */

static int write_content(pkc_buf *b, const pkc_ydoc *doc, const yitem *it, uint32_t offset)
{
    const uint8_t *p = yi_bytes(doc, it);
    uint32_t cn = yi_cn(doc, it);
    switch (it->kind) {
    case YC_DELETED:
        return ywr_varuint(b, it->len - offset);
    case YC_JSON:
    case YC_ANY:
        ywr_varuint(b, it->len - offset);
        if (offset == 0)
            return pkc_buf_push(b, p, cn);
        return yc_content_slice(doc, it, offset, b);
    case YC_BINARY:
        return pkc_buf_push_varbytes(b, p, cn);
    case YC_STRING: {
        if (offset == 0)
            return pkc_buf_push_varstring(b, (const char *)p, cn);
        int mid = 0;
        size_t off = (it->flags & YF_ASCII) ? offset : yc_utf16_offset(p, cn, offset, &mid);
        if (!mid)
            return pkc_buf_push_varstring(b, (const char *)p + off, cn - off);
        /* a split surrogate pair: Yjs writes the lone half as U+FFFD */
        ywr_varuint(b, cn - off - 4 + 3);
        pkc_buf_push(b, "\xef\xbf\xbd", 3);
        return pkc_buf_push(b, p + off + 4, cn - off - 4);
    }
    case YC_EMBED:
        return pkc_buf_push_varbytes(b, p, cn);
    case YC_FORMAT: {
        const yfmt *f = yi_fmt(doc, it);
        pkc_buf_push_varstring(b, f->key, f->key_len);
        return pkc_buf_push_varstring(b, f->json, f->json_len);
    }
    case YC_TYPE: {
        const ybranch *t = yi_type(doc, it);
        ywr_varuint(b, t->tref);
        if (t->tref == PKC_YXML_ELEMENT || t->tref == PKC_YXML_HOOK)
            pkc_buf_push_varstring(b, t->name ? t->name : "", t->name_len);
        return b->err;
    }
    case YC_DOC:
        return pkc_buf_push(b, p, cn);
    default:
        return pkc_error(PKC_ERR_INTERNAL, "cannot write content kind %u", it->kind);
    }
}

int yc_write_item(pkc_buf *b, const pkc_ydoc *doc, const yitem *it, uint32_t offset)
{
    if (it->kind == YC_GC) {
        pkc_buf_push_u8(b, 0);
        return ywr_varuint(b, it->len - offset);
    }
    int has_origin = offset > 0 || (it->flags & YF_ORIGIN);
    int has_right = (it->flags & YF_RORIGIN) != 0;
    const ykey *key = yi_psub(doc, it);
    uint8_t info = (uint8_t)((it->kind & 31) | (has_origin ? 0x80 : 0) | (has_right ? 0x40 : 0) |
                             (key ? 0x20 : 0));
    pkc_buf_push_u8(b, info);
    if (has_origin) {
        yid o = it->origin;
        if (offset > 0) {
            o.client = it->id.client;
            o.clock = it->id.clock + offset - 1;
        }
        ywr_varuint(b, doc->cl[o.client].id);
        ywr_varuint(b, o.clock);
    }
    if (has_right) {
        ywr_varuint(b, doc->cl[it->rorigin.client].id);
        ywr_varuint(b, it->rorigin.clock);
    }
    if (!has_origin && !has_right) {
        const ybranch *parent = yi_parent(doc, it);
        if (parent->item == NULL) {
            ywr_varuint(b, 1);
            pkc_buf_push_varstring(b, parent->root->s, parent->root->len);
        } else {
            ywr_varuint(b, 0);
            ywr_varuint(b, doc->cl[parent->item->id.client].id);
            ywr_varuint(b, parent->item->id.clock);
        }
        if (key)
            pkc_buf_push_varstring(b, key->s, key->len);
    }
    return write_content(b, doc, it, offset);
}

typedef struct sm_entry {
    uint64_t client;
    uint32_t cix;
    uint32_t clock;
} sm_entry;

static int cmp_sm(const void *a, const void *b)
{
    const sm_entry *x = a, *y = b;
    return x->client > y->client ? -1 : x->client < y->client;
}

/* Yjs writeClientsStructs: `from(cix)` gives the clock to start at. */
static int write_clients(pkc_buf *b, const pkc_ydoc *doc,
                         uint32_t (*from)(const void *ctx, uint32_t cix), const void *ctx)
{
    sm_entry small[8];
    sm_entry *sm = small;
    size_t n = 0, cap = 8;
    for (uint32_t i = 0; i < doc->ncl; i++) {
        const yclient *c = &doc->cl[i];
        if (c->nb == 0)
            continue;
        uint32_t clock = from(ctx, i);
        if (c->state > clock) {
            sm_entry e = {c->id, i, clock};
            if (n == cap) {
                sm_entry *ns = malloc(cap * 2 * sizeof *ns);
                if (ns == NULL) {
                    if (sm != small)
                        free(sm);
                    return pkc_error_code(PKC_ERR_NOMEM);
                }
                memcpy(ns, sm, n * sizeof *ns);
                if (sm != small)
                    free(sm);
                sm = ns;
                cap *= 2;
            }
            sm[n++] = e;
        }
    }
    if (n > 1)
        qsort(sm, n, sizeof *sm, cmp_sm);
    ywr_varuint(b, n);
    for (size_t k = 0; k < n; k++) {
        const yclient *c = &doc->cl[sm[k].cix];
        uint32_t clock = sm[k].clock;
        ypos p = ycl_find(c, clock);
        /* count the structs from p to the end */
        size_t cnt = c->b[p.b].n - p.i;
        for (uint32_t bi = p.b + 1; bi < c->nb; bi++)
            cnt += c->b[bi].n;
        ywr_varuint(b, cnt);
        ywr_varuint(b, c->id);
        ywr_varuint(b, clock);
        const yitem *first = ycl_at(c, p);
        int rc = yc_write_item(b, doc, first, clock - first->id.clock);
        while (rc == 0 && ycl_next(c, &p))
            rc = yc_write_item(b, doc, ycl_at(c, p), 0);
        if (rc) {
            if (sm != small)
                free(sm);
            return rc;
        }
    }
    if (sm != small)
        free(sm);
    return b->err;
}

static uint32_t from_sv(const void *ctx, uint32_t cix)
{
    const struct {
        const pkc_ydoc *doc;
        const ysv *sv;
    } *c = ctx;
    if (c->sv == NULL)
        return 0;
    uint64_t v = ysv_get(c->sv, c->doc->cl[cix].id, NULL);
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int yc_write_structs(pkc_buf *b, const pkc_ydoc *doc, const ysv *sv)
{
    struct {
        const pkc_ydoc *doc;
        const ysv *sv;
    } ctx = {doc, sv};
    return write_clients(b, doc, from_sv, &ctx);
}

int yc_ds_from_store(const pkc_ydoc *doc, yds *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < doc->ncl; i++) {
        const yclient *c = &doc->cl[i];
        if (c->nb == 0)
            continue;
        ypos p = {0, 0};
        int more = 1;
        while (more) {
            const yitem *it = ycl_at(c, p);
            more = ycl_next(c, &p);
            if (!yi_deleted(it))
                continue;
            uint32_t clock = it->id.clock, len = it->len;
            while (more && yi_deleted(ycl_at(c, p))) {
                len += ycl_at(c, p)->len;
                more = ycl_next(c, &p);
            }
            if (yds_add(out, c->id, clock, len)) {
                yds_free(out);
                return pkc_error_code(PKC_ERR_NOMEM);
            }
        }
    }
    yds_sort_merge(out);
    return 0;
}

int yc_encode_state(pkc_ydoc *doc, const ysv *sv, pkc_buf *out)
{
    yds ds;
    int rc = yc_write_structs(out, doc, sv);
    if (rc)
        return rc;
    if ((rc = yc_ds_from_store(doc, &ds)))
        return rc;
    rc = yds_write(out, &ds);
    yds_free(&ds);
    if (rc || (doc->pending == NULL && doc->pending_ds == NULL))
        return rc;
    /* Yjs merges the pending structs (diffed against sv) and deletes in. */
    const uint8_t *ups[3];
    size_t lens[3], n = 0;
    pkc_buf diff = PKC_BUF_INIT, merged = PKC_BUF_INIT;
    ups[n] = out->data;
    lens[n++] = out->len;
    if (doc->pending_ds) {
        ups[n] = doc->pending_ds;
        lens[n++] = doc->pending_ds_len;
    }
    if (doc->pending) {
        ysv empty;
        memset(&empty, 0, sizeof empty);
        if ((rc = yc_update_diff(doc->pending, doc->pending_len, 0, sv ? sv : &empty, &diff)))
            goto done;
        ups[n] = diff.data;
        lens[n++] = diff.len;
    }
    if ((rc = yc_update_merge(ups, lens, n, 0, &merged)))
        goto done;
    pkc_buf_free(out);
    *out = merged;
    memset(&merged, 0, sizeof merged);
done:
    pkc_buf_free(&diff);
    pkc_buf_free(&merged);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Transactions' own update                                                 */

static uint32_t from_txn(const void *ctx, uint32_t cix)
{
    return yc_txn_before(ctx, cix);
}

int yc_txn_encode_update(const pkc_ytxn *txn, pkc_buf *out, int *has_content)
{
    const pkc_ydoc *doc = txn->doc;
    int changed = txn->ds.n > 0;
    for (uint32_t i = 0; i < txn->ntouched && !changed; i++) {
        uint32_t cix = txn->touched[i];
        if (doc->cl[cix].state != yc_txn_before(txn, cix))
            changed = 1;
    }
    *has_content = changed;
    if (!changed)
        return 0;
    int rc = write_clients(out, doc, from_txn, txn);
    if (rc)
        return rc;
    return yds_write(out, &txn->ds);
}

/* ------------------------------------------------------------------------ */
/* Applying updates                                                         */

/* Builds the item content (storage format) of a decoded struct from
 * `offset` units. */
static int dec_content(pkc_ydoc *doc, const ydec *s, uint32_t offset, yitem *it)
{
    pkc_reader r;
    pkc_reader_init(&r, s->content, s->content_len);
    int rc = 0;
    switch (s->kind) {
    case YC_DELETED:
        return 0;
    case YC_JSON:
    case YC_ANY: {
        uint64_t cnt;
        pkc_reader_varuint(&r, &cnt);
        for (uint32_t i = 0; i < offset; i++) {
            if (s->kind == YC_ANY) {
                yany_skip(&r);
            } else {
                const uint8_t *p;
                size_t n;
                pkc_reader_varbytes(&r, &p, &n);
            }
        }
        return yc_set_bytes(doc, it, r.p, pkc_reader_left(&r));
    }
    case YC_BINARY:
    case YC_EMBED: {
        const uint8_t *p;
        size_t n;
        pkc_reader_varbytes(&r, &p, &n);
        return yc_set_bytes(doc, it, p, n);
    }
    case YC_STRING: {
        const uint8_t *p;
        size_t n;
        int mid = 0;
        yrd_varbytes(&r, &p, &n);
        size_t off = offset ? yc_utf16_offset(p, n, offset, &mid) : 0;
        if (mid) {
            pkc_buf b = PKC_BUF_INIT;
            static const uint8_t rep[3] = {0xef, 0xbf, 0xbd};
            pkc_buf_push(&b, rep, 3);
            pkc_buf_push(&b, p + off + 4, n - off - 4);
            rc = b.err ? b.err : yc_set_bytes(doc, it, b.data, b.len);
            pkc_buf_free(&b);
        } else {
            rc = yc_set_bytes(doc, it, p + off, n - off);
        }
        if (rc)
            return rc;
        /* as many bytes as UTF-16 units: all ASCII */
        if (yi_cn(doc, it) == it->len)
            it->flags |= YF_ASCII;
        return 0;
    }
    case YC_FORMAT: {
        const char *k, *j;
        size_t kn, jn;
        pkc_reader_varstring(&r, &k, &kn);
        pkc_reader_varstring(&r, &j, &jn);
        yfmt *f = malloc(sizeof *f + jn + 1);
        char *key = malloc(kn + 1);
        if (f == NULL || key == NULL) {
            free(f);
            free(key);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        memcpy(key, k, kn);
        key[kn] = '\0';
        memcpy(f->json, j, jn);
        f->json[jn] = '\0';
        f->key = key;
        f->key_len = (uint32_t)kn;
        f->json_len = (uint32_t)jn;
        if ((f->val = ysval_new()) == NULL) {
            free(f);
            free(key);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        if ((rc = yjson_parse(j, jn, &f->val->v))) {
            ysval_release(f->val);
            free(f);
            free(key);
            return rc;
        }
        if ((rc = yc_set_fmt(doc, it, f))) {
            ysval_release(f->val);
            free(f);
            free(key);
            return rc;
        }
        return 0;
    }
    case YC_TYPE: {
        uint64_t t;
        pkc_reader_varuint(&r, &t);
        ybranch *b = yc_branch_new(doc, (uint8_t)t);
        if (b == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        if (t == PKC_YXML_ELEMENT || t == PKC_YXML_HOOK) {
            const char *name;
            size_t n;
            pkc_reader_varstring(&r, &name, &n);
            if ((b->name = malloc(n + 1)) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            memcpy(b->name, name, n);
            b->name[n] = '\0';
            b->name_len = (uint32_t)n;
        }
        yi_set_type(it, b);
        return 0;
    }
    case YC_DOC:
        return yc_set_bytes(doc, it, s->content, s->content_len);
    default:
        return pkc_error(PKC_ERR_INTERNAL, "content kind %u", s->kind);
    }
}

/* Per-client reader over the decoded structs. */
typedef struct yref {
    uint64_t client;
    ydec *s;      /* its structs in the decoded update (consecutive) */
    size_t n;
    size_t i;
    int live;     /* still in clientsStructRefs */
} yref;

typedef struct yapply {
    pkc_ytxn *txn;
    yref *cr;       /* sorted by client ascending */
    size_t ncr;
    size_t *ids;    /* indices into cr, ascending by client; consumed from the end */
    size_t nids;
    /* rest: per client, the structs that could not be applied */
    struct {
        uint64_t client;
        ydec **s;
        size_t n;
    } *rest;
    size_t nrest, caprest;
    ysv missing;
    ysv state; /* cache of local states */
} yapply;

static yref *find_ref(yapply *a, uint64_t client)
{
    size_t lo = 0, hi = a->ncr;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (a->cr[m].client < client)
            lo = m + 1;
        else
            hi = m;
    }
    if (lo < a->ncr && a->cr[lo].client == client && a->cr[lo].live)
        return &a->cr[lo];
    return NULL;
}

static int rest_set(yapply *a, uint64_t client, ydec **s, size_t n)
{
    for (size_t i = 0; i < a->nrest; i++) {
        if (a->rest[i].client == client) {
            free(a->rest[i].s);
            a->rest[i].s = s;
            a->rest[i].n = n;
            return 0;
        }
    }
    if (pkc_array_grow((void **)&a->rest, &a->caprest, a->nrest + 1, sizeof *a->rest))
        return pkc_error_code(PKC_ERR_NOMEM);
    a->rest[a->nrest].client = client;
    a->rest[a->nrest].s = s;
    a->rest[a->nrest].n = n;
    a->nrest++;
    return 0;
}

static int missing_update(yapply *a, uint64_t client, uint64_t clock)
{
    int found;
    uint64_t m = ysv_get(&a->missing, client, &found);
    if (!found || m > clock)
        return ysv_set(&a->missing, client, clock);
    return 0;
}

static int add_stack_to_rest(yapply *a, ydec **stack, size_t *nstack)
{
    for (size_t k = 0; k < *nstack; k++) {
        uint64_t client = stack[k]->client;
        yref *r = find_ref(a, client);
        ydec **copy;
        size_t n;
        if (r) {
            r->i--;
            n = r->n - r->i;
            copy = malloc((n ? n : 1) * sizeof *copy);
            if (copy == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            for (size_t j = 0; j < n; j++)
                copy[j] = &r->s[r->i + j];
            r->live = 0;
            r->i = 0;
            r->n = 0;
        } else {
            copy = malloc(sizeof *copy);
            if (copy == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            copy[0] = stack[k];
            n = 1;
        }
        if (rest_set(a, client, copy, n)) {
            free(copy);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        /* remove client from ids */
        size_t w = 0;
        for (size_t i = 0; i < a->nids; i++)
            if (a->cr[a->ids[i]].client != client)
                a->ids[w++] = a->ids[i];
        a->nids = w;
    }
    *nstack = 0;
    return 0;
}

static yref *next_target(yapply *a)
{
    while (a->nids > 0) {
        yref *r = &a->cr[a->ids[a->nids - 1]];
        if (r->live && r->i < r->n)
            return r;
        a->nids--;
    }
    return NULL;
}

/* Yjs Item.getMissing: returns 1 and the missing client, or 0 after
 * resolving left, right, parent and key into `it`. */
static int get_missing(pkc_ytxn *txn, const ydec *s, yitem *it, uint64_t *missing, int *err)
{
    pkc_ydoc *doc = txn->doc;
    *err = 0;
    if (s->kind == YC_GC)
        return 0;
    if ((s->info & 0x80) && s->oclient != s->client && s->oclock >= yc_state(doc, s->oclient)) {
        *missing = s->oclient;
        return 1;
    }
    if ((s->info & 0x40) && s->rclient != s->client && s->rclock >= yc_state(doc, s->rclient)) {
        *missing = s->rclient;
        return 1;
    }
    if (ydec_pkind(s) == 2 && s->par->pclient != s->client &&
        s->par->pclock >= yc_state(doc, s->par->pclient)) {
        *missing = s->par->pclient;
        return 1;
    }
    uint32_t cix;
    yitem *left = NULL, *right = NULL;
    if (s->info & 0x80) {
        yc_client_find(doc, s->oclient, &cix);
        if ((left = yc_clean_end(txn, cix, s->oclock)) == NULL)
            goto nomem;
        it->origin = yi_last_id(left);
        it->flags |= YF_ORIGIN;
    }
    if (s->info & 0x40) {
        yc_client_find(doc, s->rclient, &cix);
        /* the right origin is most often left's right neighbour still (the
         * list as it was when the item was made): then it starts there and
         * needs no search */
        yitem *r = left && left->kind != YC_GC ? yi_right(doc, left) : NULL;
        if (r && r->id.client == cix && r->id.clock == s->rclock && r->kind != YC_GC)
            right = r;
        else if ((right = yc_clean_start(txn, cix, s->rclock)) == NULL)
            goto nomem;
        it->rorigin = right->id;
        it->flags |= YF_RORIGIN;
    }
    it->left = yi_h(left);
    it->right = yi_h(right);
    it->owner = 0;
    if ((left && left->kind == YC_GC) || (right && right->kind == YC_GC)) {
        return 0;
    }
    if (s->par == NULL) {
        if (left)
            it->owner = left->owner;
        else if (right)
            it->owner = right->owner;
        return 0;
    }
    ybranch *parent = NULL;
    if (s->par->kind == 1) {
        if (yc_root_get(doc, s->par->pname, s->par->pname_len, &parent))
            goto nomem;
    } else {
        yc_client_find(doc, s->par->pclient, &cix);
        yitem *pi = yc_find(doc, cix, s->par->pclock);
        if (pi->kind == YC_TYPE)
            parent = yi_type(doc, pi);
    }
    it->owner = parent ? parent->owner : 0;
    return 0;
nomem:
    *err = pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

static int integrate_one(pkc_ytxn *txn, const ydec *s, uint32_t offset)
{
    pkc_ydoc *doc = txn->doc;
    uint32_t cix;
    int rc;
    if (!yc_client_find(doc, s->client, &cix) && (rc = yc_client_get(doc, s->client, &cix)))
        return rc;
    yitem *it = yc_item_alloc(doc);
    if (it == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    it->id.client = cix;
    it->id.clock = s->clock + offset;
    it->len = s->len - offset;
    it->kind = s->kind;
    it->flags = 0;
    if (s->kind == YC_GC) {
        if ((rc = yc_integrate_gc(txn, it))) {
            yc_item_release(doc, it);
            return rc;
        }
        return 0;
    }
    if (yc_kind_countable(s->kind))
        it->flags |= YF_COUNTABLE;
    uint64_t miss;
    get_missing(txn, s, it, &miss, &rc); /* resolves; nothing is missing here */
    if (rc == 0 && it->owner && ydec_psub(s)) {
        ykey *k = yc_key_get(yi_parent(doc, it), s->par->psub, s->par->psub_len);
        if (k == NULL)
            rc = pkc_error_code(PKC_ERR_NOMEM);
        else
            it->owner = k->owner;
    }
    if (rc || (rc = dec_content(doc, s, offset, it))) {
        yc_item_release(doc, it);
        return rc;
    }
    if (it->owner == 0) {
        yc_content_free(doc, it);
        return yc_integrate_gc(txn, it);
    }
    return yc_integrate(txn, it, offset);
}

/* Checks getMissing without side effects (state only). */
static int missing_of(const pkc_ydoc *doc, const ydec *s, uint64_t *missing)
{
    if (s->kind == YC_GC)
        return 0;
    if ((s->info & 0x80) && s->oclient != s->client && s->oclock >= yc_state(doc, s->oclient)) {
        *missing = s->oclient;
        return 1;
    }
    if ((s->info & 0x40) && s->rclient != s->client && s->rclock >= yc_state(doc, s->rclient)) {
        *missing = s->rclient;
        return 1;
    }
    if (ydec_pkind(s) == 2 && s->par->pclient != s->client &&
        s->par->pclock >= yc_state(doc, s->par->pclient)) {
        *missing = s->par->pclient;
        return 1;
    }
    return 0;
}

static int cmp_ref(const void *a, const void *b)
{
    const yref *x = a, *y = b;
    return x->client < y->client ? -1 : x->client > y->client;
}

/* Writes the rest structs as a v1 update (no deletes). */
static int write_rest(yapply *a, pkc_buf *out)
{
    /* clients descending */
    for (size_t i = 1; i < a->nrest; i++) {
        __typeof__(a->rest[0]) x = a->rest[i];
        size_t j = i;
        while (j > 0 && a->rest[j - 1].client < x.client) {
            a->rest[j] = a->rest[j - 1];
            j--;
        }
        a->rest[j] = x;
    }
    pkc_buf_push_varuint(out, a->nrest);
    for (size_t i = 0; i < a->nrest; i++) {
        pkc_buf_push_varuint(out, a->rest[i].n);
        pkc_buf_push_varuint(out, a->rest[i].client);
        pkc_buf_push_varuint(out, a->rest[i].s[0]->clock);
        for (size_t k = 0; k < a->rest[i].n; k++) {
            int rc = ydec_write(out, a->rest[i].s[k], 0);
            if (rc)
                return rc;
        }
    }
    return pkc_buf_push_varuint(out, 0);
}

static int integrate_structs(pkc_ytxn *txn, yupd *u, pkc_buf *rest_out, ysv *missing_out)
{
    pkc_ydoc *doc = txn->doc;
    yapply a;
    int rc = 0;
    ydec **stack = NULL;
    size_t nstack = 0, capstack = 0, capcr = 0;
    memset(&a, 0, sizeof a);
    a.txn = txn;
    /* per client (the decoder keeps each client's structs together) */
    for (size_t gi = 0, i = 0; gi < u->ngrp; gi++) {
        size_t k = u->grp[gi].end;
        if (k == i)
            continue;
        yref r;
        memset(&r, 0, sizeof r);
        r.client = u->s[i].client;
        r.n = k - i;
        r.live = 1;
        r.s = &u->s[i];
        if (PKC_ARRAY_PUSH(a.cr, a.ncr, capcr, r)) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            goto done;
        }
        /* a client's first content (loading a document): an arena of just
         * the size it needs */
        uint64_t bytes = u->grp[gi].bytes;
        uint32_t cix;
        if (bytes &&
            ((rc = yc_client_get(doc, r.client, &cix)) || (rc = yc_arena_expect(doc, cix, bytes)))) {
            a.ncr--;
            goto done;
        }
        i = k;
    }
    if (a.ncr == 0)
        goto done;
    qsort(a.cr, a.ncr, sizeof *a.cr, cmp_ref);
    if ((a.ids = malloc(a.ncr * sizeof *a.ids)) == NULL) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto done;
    }
    for (size_t i = 0; i < a.ncr; i++)
        a.ids[i] = i;
    a.nids = a.ncr;
    yref *cur = next_target(&a);
    if (cur == NULL)
        goto done;
    ydec *head = &cur->s[cur->i++];
    size_t sh = SIZE_MAX; /* a.state's entry of the client looked up last */
    for (;;) {
        if (head->kind != YC_SKIP) {
            int found = 1;
            uint64_t local;
            if (sh < a.state.n && a.state.client[sh] == head->client) {
                local = a.state.clock[sh];
            } else {
                sh = ysv_pos(&a.state, head->client, &found);
                local = found ? a.state.clock[sh] : 0;
            }
            if (!found) {
                sh = SIZE_MAX;
                local = yc_state(doc, head->client);
                if ((rc = ysv_set(&a.state, head->client, local)))
                    goto done;
            }
            int64_t offset = (int64_t)local - (int64_t)head->clock;
            if (offset < 0) {
                if ((rc = PKC_ARRAY_PUSH(stack, nstack, capstack, head)) ||
                    (rc = missing_update(&a, head->client, head->clock - 1)) ||
                    (rc = add_stack_to_rest(&a, stack, &nstack)))
                    goto done;
            } else {
                uint64_t miss;
                if (missing_of(doc, head, &miss)) {
                    if ((rc = PKC_ARRAY_PUSH(stack, nstack, capstack, head)))
                        goto done;
                    yref *r = find_ref(&a, miss);
                    if (r == NULL || r->i == r->n) {
                        if ((rc = missing_update(&a, miss, yc_state(doc, miss))) ||
                            (rc = add_stack_to_rest(&a, stack, &nstack)))
                            goto done;
                    } else {
                        head = &r->s[r->i++];
                        continue;
                    }
                } else if (offset == 0 || offset < head->len) {
                    if ((rc = integrate_one(txn, head, (uint32_t)offset)))
                        goto done;
                    if (sh < a.state.n && a.state.client[sh] == head->client)
                        a.state.clock[sh] = (uint64_t)head->clock + head->len;
                    else if ((rc = ysv_set(&a.state, head->client, (uint64_t)head->clock + head->len)))
                        goto done;
                } else {
                    /* already known; Yjs's getMissing still resolves (and
                     * splits at) the origins */
                    yitem tmp;
                    memset(&tmp, 0, sizeof tmp);
                    get_missing(txn, head, &tmp, &miss, &rc);
                    if (rc)
                        goto done;
                }
            }
        }
        if (nstack > 0) {
            head = stack[--nstack];
        } else if (cur && cur->live && cur->i < cur->n) {
            head = &cur->s[cur->i++];
        } else {
            cur = next_target(&a);
            if (cur == NULL)
                break;
            head = &cur->s[cur->i++];
        }
    }
    if (a.nrest > 0) {
        if ((rc = write_rest(&a, rest_out)))
            goto done;
        *missing_out = a.missing;
        memset(&a.missing, 0, sizeof a.missing);
    }
done:
    free(a.cr);
    free(a.ids);
    for (size_t i = 0; i < a.nrest; i++)
        free(a.rest[i].s);
    free(a.rest);
    free(stack);
    ysv_free(&a.missing);
    ysv_free(&a.state);
    return rc;
}

/* Yjs readAndApplyDeleteSet; unapplied ranges go to `rest` (a v1 update
 * without structs) when any. */
static int apply_ds(pkc_ytxn *txn, const yds *ds, pkc_buf *rest, int *has_rest)
{
    pkc_ydoc *doc = txn->doc;
    yds un;
    int rc = 0;
    memset(&un, 0, sizeof un);
    *has_rest = 0;
    for (size_t k = 0; k < ds->n; k++) {
        const yrange *d = &ds->r[k];
        uint32_t cix;
        int known = yc_client_find(doc, d->client, &cix);
        uint32_t state = known ? doc->cl[cix].state : 0;
        uint32_t clock = d->clock, end = d->clock + d->len;
        if (clock < state) {
            if (state < end && (rc = yds_add(&un, d->client, state, end - state)))
                goto done;
            yclient *c = &doc->cl[cix];
            ypos p = ycl_find(c, clock);
            yitem *it = ycl_at(c, p);
            if (!yi_deleted(it) && it->id.clock < clock) {
                if (yc_split(txn, it, clock - it->id.clock) == NULL) {
                    rc = pkc_error_code(PKC_ERR_NOMEM);
                    goto done;
                }
                p = ycl_find(c, clock);
            }
            for (;;) {
                it = ycl_at(c, p);
                if (it->id.clock >= end)
                    break;
                if (!yi_deleted(it)) {
                    if (end < it->id.clock + it->len) {
                        if (yc_split(txn, it, end - it->id.clock) == NULL) {
                            rc = pkc_error_code(PKC_ERR_NOMEM);
                            goto done;
                        }
                        /* the split may have split p's block: find it again */
                        p = ycl_find(c, it->id.clock);
                    }
                    if ((rc = yc_item_delete(txn, it)))
                        goto done;
                }
                if (!ycl_next(c, &p))
                    break;
            }
        } else if ((rc = yds_add(&un, d->client, clock, d->len))) {
            goto done;
        }
    }
    if (un.n > 0) {
        pkc_buf_push_varuint(rest, 0);
        if ((rc = yds_write(rest, &un)))
            goto done;
        *has_rest = 1;
    }
done:
    yds_free(&un);
    return rc;
}

static int set_pending(uint8_t **p, size_t *n, pkc_buf *b)
{
    free(*p);
    *p = pkc_buf_steal(b, n);
    return 0;
}

static int apply_decoded(pkc_ytxn *txn, yupd *up)
{
    pkc_ydoc *doc = txn->doc;
    yupd u = *up;
    int rc;
    memset(up, 0, sizeof *up);
    txn->local = 0;
    pkc_buf rest = PKC_BUF_INIT, dsrest = PKC_BUF_INIT, dsrest2 = PKC_BUF_INIT;
    ysv missing;
    memset(&missing, 0, sizeof missing);
    int retry = 0;
    if ((rc = integrate_structs(txn, &u, &rest, &missing)))
        goto done;
    if (doc->pending) {
        for (size_t i = 0; i < doc->nmissing; i++) {
            if (doc->missing[i].clock < yc_state(doc, doc->missing[i].client)) {
                retry = 1;
                break;
            }
        }
        if (rest.len) {
            for (size_t i = 0; i < missing.n; i++) {
                size_t j;
                for (j = 0; j < doc->nmissing; j++)
                    if (doc->missing[j].client == missing.client[i])
                        break;
                if (j == doc->nmissing) {
                    size_t cap = doc->nmissing;
                    yrange m = {missing.client[i], (uint32_t)missing.clock[i], 0};
                    if (PKC_ARRAY_PUSH(doc->missing, doc->nmissing, cap, m)) {
                        rc = pkc_error_code(PKC_ERR_NOMEM);
                        goto done;
                    }
                } else if (doc->missing[j].clock > missing.clock[i]) {
                    doc->missing[j].clock = (uint32_t)missing.clock[i];
                }
            }
            const uint8_t *ups[2] = {doc->pending, rest.data};
            size_t lens[2] = {doc->pending_len, rest.len};
            pkc_buf merged = PKC_BUF_INIT;
            if ((rc = yc_update_merge(ups, lens, 2, 0, &merged))) {
                pkc_buf_free(&merged);
                goto done;
            }
            set_pending(&doc->pending, &doc->pending_len, &merged);
        }
    } else if (rest.len) {
        set_pending(&doc->pending, &doc->pending_len, &rest);
        free(doc->missing);
        doc->missing = malloc((missing.n ? missing.n : 1) * sizeof *doc->missing);
        if (doc->missing == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            goto done;
        }
        doc->nmissing = missing.n;
        for (size_t i = 0; i < missing.n; i++) {
            doc->missing[i].client = missing.client[i];
            doc->missing[i].clock = (uint32_t)missing.clock[i];
            doc->missing[i].len = 0;
        }
    }
    int has1, has2 = 0;
    if ((rc = apply_ds(txn, &u.ds, &dsrest, &has1)))
        goto done;
    if (doc->pending_ds) {
        yupd pd;
        if ((rc = yupd_decode(&pd, doc->pending_ds, doc->pending_ds_len, 0)))
            goto done;
        rc = apply_ds(txn, &pd.ds, &dsrest2, &has2);
        yupd_free(&pd);
        if (rc)
            goto done;
        if (has1 && has2) {
            const uint8_t *ups[2] = {dsrest.data, dsrest2.data};
            size_t lens[2] = {dsrest.len, dsrest2.len};
            pkc_buf merged = PKC_BUF_INIT;
            if ((rc = yc_update_merge(ups, lens, 2, 0, &merged))) {
                pkc_buf_free(&merged);
                goto done;
            }
            set_pending(&doc->pending_ds, &doc->pending_ds_len, &merged);
        } else if (has1) {
            set_pending(&doc->pending_ds, &doc->pending_ds_len, &dsrest);
        } else if (has2) {
            set_pending(&doc->pending_ds, &doc->pending_ds_len, &dsrest2);
        } else {
            free(doc->pending_ds);
            doc->pending_ds = NULL;
            doc->pending_ds_len = 0;
        }
    } else if (has1) {
        set_pending(&doc->pending_ds, &doc->pending_ds_len, &dsrest);
    }
    if (retry) {
        uint8_t *pu = doc->pending;
        size_t pn = doc->pending_len;
        doc->pending = NULL;
        doc->pending_len = 0;
        free(doc->missing);
        doc->missing = NULL;
        doc->nmissing = 0;
        yupd pu_dec;
        rc = yupd_decode(&pu_dec, pu, pn, 0);
        if (rc == 0)
            rc = apply_decoded(txn, &pu_dec);
        free(pu);
    }
done:
    yupd_free(&u);
    pkc_buf_free(&rest);
    pkc_buf_free(&dsrest);
    pkc_buf_free(&dsrest2);
    ysv_free(&missing);
    return rc;
}

int yc_apply_update_txn(pkc_ytxn *txn, const uint8_t *p, size_t n, int v2)
{
    yupd u;
    int rc = yupd_decode(&u, p, n, v2);
    if (rc)
        return rc;
    return apply_decoded(txn, &u);
}

int yc_apply_update(pkc_ydoc *doc, const uint8_t *p, size_t n, int v2, const void *origin)
{
    if (doc->txn)
        return yc_apply_update_txn(doc->txn, p, n, v2);
    /* decode (and so validate) before opening a transaction: bad input
     * changes nothing */
    yupd u;
    int rc = yupd_decode(&u, p, n, v2);
    if (rc)
        return rc;
    pkc_ytxn *txn;
    if ((rc = yc_txn_begin(doc, origin, 0, &txn))) {
        yupd_free(&u);
        return rc;
    }
    rc = apply_decoded(txn, &u);
    int rc2 = yc_txn_commit(txn);
    return rc ? rc : rc2;
}
