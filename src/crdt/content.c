/* content.c: item content: format values, byte counts, the clients' arenas. */
#include "crdt/content.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/client.h"
#include "crdt/doc.h"
#include "crdt/itab.h"
#include "crdt/item.h"
#include "crdt/offsets.h"
#include "crdt/utf16.h"
#include "crdt/val.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hashtab.h"

/* ------------------------------------------------------------------------ */
/* Format values                                                            */

ysval *ysval_new(void)
{
    ysval *s = calloc(1, sizeof *s);
    if (s)
        s->refs = 1;
    return s;
}

void ysval_release(ysval *s)
{
    if (s && --s->refs == 0) {
        yv_clear(&s->v);
        free(s);
    }
}

/* ------------------------------------------------------------------------ */
/* Byte counts of 0x3fff bytes or more                                      */

typedef struct ybigcn {
    const yitem *it; /* the key */
    uint32_t cn;
} ybigcn;

static const pkc_hashtab_layout BIGCN = ITAB_LAYOUT(sizeof(ybigcn));

uint32_t yc_bigcn(const pkc_ydoc *doc, const yitem *it)
{
    const ybigcn *e = itab_find(&doc->bigcn, &BIGCN, it);
    return e ? e->cn : 0;
}

static void bigcn_drop(pkc_ydoc *doc, const yitem *it)
{
    ybigcn *e = itab_find(&doc->bigcn, &BIGCN, it);
    if (e)
        pkc_hashtab_remove(&doc->bigcn, &BIGCN, e, NULL);
}

int yc_set_big_cn(pkc_ydoc *doc, yitem *it, uint32_t n)
{
    if (n < YC_CN_BIG) {
        if (it->cn == YC_CN_BIG)
            bigcn_drop(doc, it);
        it->cn = n;
        return 0;
    }
    ybigcn *e = it->cn == YC_CN_BIG ? itab_find(&doc->bigcn, &BIGCN, it) : NULL;
    if (e == NULL && (e = itab_add(&doc->bigcn, &BIGCN, it)) == NULL)
        return PKC_ERR_NOMEM;
    e->cn = n;
    it->cn = YC_CN_BIG;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Content                                                                  */

static int has_bytes(unsigned kind)
{
    return kind == YC_STRING || kind == YC_ANY || kind == YC_JSON || kind == YC_BINARY ||
           kind == YC_EMBED || kind == YC_DOC;
}

void yc_arena_drop(pkc_ydoc *doc, uint32_t cix, uint32_t n)
{
    yclient *c = &doc->cl[cix];
    c->alive -= n;
    uint32_t garbage = c->alen - c->alive;
    if (garbage > 4096 && garbage > c->alive / 2 && c->compact_mark == 0) {
        /* out of memory: it is compacted later, when it needs to grow */
        if (PKC_ARRAY_PUSH32(doc->compact, doc->ncompact, doc->capcompact, cix) == 0)
            c->compact_mark = 1;
    }
}

int yc_arena_reserve(pkc_ydoc *doc, uint32_t cix, size_t n, uint32_t *off)
{
    yclient *c = &doc->cl[cix];
    if (n > UINT32_MAX - c->alen)
        return pkc_error(PKC_ERR_TOO_LARGE, "over 4 GiB of content from one client");
    uint32_t need = c->alen + (uint32_t)n;
    if (need > c->acap) {
        uint64_t cap = (uint64_t)c->acap + c->acap / 2;
        if (cap < need)
            cap = need;
        if (cap < 16)
            cap = 16;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        uint8_t *a = realloc(c->arena, (size_t)cap);
        if (a == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        c->arena = a;
        c->acap = (uint32_t)cap;
    }
    *off = c->alen;
    c->alen = need;
    c->alive += (uint32_t)n;
    return 0;
}

int yc_arena_expect(pkc_ydoc *doc, uint32_t cix, size_t n)
{
    yclient *c = &doc->cl[cix];
    if (c->alen > 0 || n <= c->acap || n > UINT32_MAX)
        return 0;
    uint8_t *a = realloc(c->arena, n);
    if (a == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    c->arena = a;
    c->acap = (uint32_t)n;
    return 0;
}

int yc_set_bytes(pkc_ydoc *doc, yitem *it, const void *p, size_t n)
{
    if (n > UINT32_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "content of %zu bytes", n);
    yclient *c = &doc->cl[it->id.client];
    /* p may point into the arena, which may move */
    const uint8_t *q = p;
    int inside = c->arena && q >= c->arena && q < c->arena + c->alen;
    size_t from = inside ? (size_t)(q - c->arena) : 0;
    uint32_t off;
    int rc;
    if ((rc = yc_set_cn(doc, it, (uint32_t)n)))
        return rc;
    if ((rc = yc_arena_reserve(doc, it->id.client, n, &off))) {
        yc_set_cn(doc, it, 0);
        return rc;
    }
    if (n)
        memcpy(c->arena + off, inside ? c->arena + from : q, n);
    it->content = off;
    return 0;
}

int yc_set_fmt(pkc_ydoc *doc, yitem *it, yfmt *f)
{
    uint32_t i;
    if (doc->nfree_fmts) {
        i = doc->free_fmts[--doc->nfree_fmts];
    } else {
        if (doc->nfmts == 0 && PKC_ARRAY_PUSH32(doc->fmts, doc->nfmts, doc->capfmts, NULL))
            return pkc_error_code(PKC_ERR_NOMEM); /* entry 0: unused */
        if (PKC_ARRAY_PUSH32(doc->fmts, doc->nfmts, doc->capfmts, NULL))
            return pkc_error_code(PKC_ERR_NOMEM);
        i = doc->nfmts - 1;
    }
    doc->fmts[i] = f;
    it->content = i;
    return 0;
}

void yc_content_free(pkc_ydoc *doc, yitem *it)
{
    if (it->kind == YC_DELETED || it->kind == YC_GC)
        return; /* (content is 0 for these) */
    if (it->kind == YC_FORMAT) {
        if (it->content) {
            yfmt *f = doc->fmts[it->content];
            ysval_release(f->val);
            free(f->key);
            free(f);
            doc->fmts[it->content] = NULL;
            /* out of memory: the entry is not reused, which is harmless */
            (void)PKC_ARRAY_PUSH32(doc->free_fmts, doc->nfree_fmts, doc->capfree_fmts, it->content);
        }
    } else if (has_bytes(it->kind)) {
        if ((it->kind == YC_ANY || it->kind == YC_JSON) && doc->offs.n)
            yc_offs_drop(doc, it);
        uint32_t n = yi_cn(doc, it);
        if (n)
            yc_arena_drop(doc, it->id.client, n);
        yc_set_cn(doc, it, 0);
    }
    it->content = 0;
}

/* Copies the live content of client cix in clock order to a new arena of
 * just its size. */
static void compact_client(pkc_ydoc *doc, uint32_t cix)
{
    yclient *c = &doc->cl[cix];
    uint64_t total = 0; /* c->alive, which yc_doc_check checks */
    for (uint32_t bi = 0; bi < c->nb; bi++) {
        for (uint32_t k = 0; k < c->b[bi].n; k++) {
            const yitem *it = ycl_at(c, (ypos){bi, k});
            if (has_bytes(it->kind))
                total += yi_cn(doc, it);
        }
    }
    if (total > c->alen)
        return;
    if (total == 0) {
        free(c->arena);
        c->arena = NULL;
        c->alen = c->acap = c->alive = 0;
        return;
    }
    uint8_t *a = malloc((size_t)total);
    if (a == NULL)
        return; /* later */
    uint32_t len = 0;
    for (uint32_t bi = 0; bi < c->nb; bi++) {
        for (uint32_t k = 0; k < c->b[bi].n; k++) {
            yitem *it = ycl_at(c, (ypos){bi, k});
            if (!has_bytes(it->kind))
                continue;
            uint32_t n = yi_cn(doc, it);
            memcpy(a + len, c->arena + it->content, n);
            it->content = len;
            len += n;
        }
    }
    free(c->arena);
    c->arena = a;
    c->alen = c->acap = c->alive = len;
}

void yc_compact(pkc_ydoc *doc)
{
    for (uint32_t i = 0; i < doc->ncompact; i++) {
        yclient *c = &doc->cl[doc->compact[i]];
        c->compact_mark = 0;
        uint32_t garbage = c->alen - c->alive;
        if (garbage > 4096 && garbage > c->alive / 2)
            compact_client(doc, doc->compact[i]);
    }
    doc->ncompact = 0;
}

int yc_content_slice(const pkc_ydoc *doc, const yitem *it, uint32_t from, pkc_buf *b)
{
    const uint8_t *p = yi_bytes(doc, it);
    uint32_t cn = yi_cn(doc, it);
    switch (it->kind) {
    case YC_STRING: {
        if (it->flags & YF_ASCII)
            return pkc_buf_push(b, p + from, cn - from);
        int mid;
        size_t off = yc_utf16_offset(p, cn, from, &mid);
        if (mid) {
            pkc_buf_push(b, YC_U_FFFD, 3);
            off += 4;
        }
        return pkc_buf_push(b, p + off, cn - off);
    }
    case YC_ANY:
    case YC_JSON: {
        size_t off = yc_elem_offset(doc, it, from);
        return pkc_buf_push(b, p + off, cn - off);
    }
    default:
        return pkc_buf_push(b, p, cn);
    }
}
