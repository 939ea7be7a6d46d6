/*
 * store.c: the struct store. Items come from a pool; each client's structs
 * are kept in clock order in a blocked array (blocks of YB_CAP pointers), so
 * that splitting an old item moves at most one block, not the whole list as
 * Yjs's Array.splice does.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt.h"
#include "util/err.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Ordered hash maps                                                        */

uint32_t ymap_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* The map's slots hold index + 1 into its entries. */
static uint32_t slot_hash(const void *slot, const void *ctx)
{
    const ymap *m = ctx;
    uint32_t x;
    memcpy(&x, slot, sizeof x);
    return m->e[x - 1]->hash;
}

static const pkc_hashtab_layout YMAP_SLOTS = {sizeof(uint32_t), sizeof(uint32_t), 8, slot_hash};

typedef struct ymap_query {
    const ymap *m;
    const char *s;
    size_t n;
    uint32_t hash;
} ymap_query;

static int slot_match(const void *slot, const void *key)
{
    const ymap_query *q = key;
    uint32_t x;
    memcpy(&x, slot, sizeof x);
    const ykey *k = q->m->e[x - 1];
    return k->hash == q->hash && k->len == q->n && memcmp(k->s, q->s, q->n) == 0;
}

ykey *ymap_find(const ymap *m, const char *s, size_t n)
{
    if (m->slots.cap == 0)
        return NULL;
    ymap_query q = {m, s, n, ymap_hash(s, n)};
    const uint32_t *x = pkc_hashtab_find(&m->slots, &YMAP_SLOTS, q.hash, slot_match, &q);
    return x ? m->e[*x - 1] : NULL;
}

ykey *ymap_get_or_add(ymap *m, const char *s, size_t n)
{
    ykey *k = ymap_find(m, s, n);
    if (k)
        return k;
    if (n > UINT32_MAX - 1)
        return NULL;
    if (m->n == m->cap && pkc_array_grow32((void **)&m->e, &m->cap, m->n + 1, sizeof *m->e))
        return NULL;
    k = malloc(sizeof *k + n + 1);
    if (k == NULL)
        return NULL;
    k->val = NULL;
    k->first = NULL;
    k->owner = 0;
    k->hash = ymap_hash(s, n);
    k->len = (uint32_t)n;
    if (n)
        memcpy(k->s, s, n);
    k->s[n] = '\0';
    uint32_t *x = pkc_hashtab_add(&m->slots, &YMAP_SLOTS, k->hash, m);
    if (x == NULL) {
        free(k);
        return NULL;
    }
    m->e[m->n] = k;
    *x = ++m->n;
    return k;
}

void ymap_free(ymap *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        free(m->e[i]);
    free(m->e);
    pkc_hashtab_free(&m->slots);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------------ */
/* Item pool and content storage                                            */

yitem *yc_item_alloc(pkc_ydoc *doc)
{
    yitem *it;
    uint32_t slot;
    if (doc->free_items) {
        it = yc_item(doc, doc->free_items);
        doc->free_items = it->right;
        slot = it->slot;
    } else {
        if (doc->nchunks == 0 || doc->chunk_used == YC_CHUNK) {
            if (doc->nchunks >= UINT32_MAX >> YC_CHUNK_BITS)
                return NULL;
            if (PKC_ARRAY_PUSH32(doc->chunks, doc->nchunks, doc->capchunks, NULL))
                return NULL;
            ychunk *ch = malloc(sizeof *ch);
            if (ch == NULL) {
                doc->nchunks--;
                return NULL;
            }
            ch->doc = doc;
            ch->base = (doc->nchunks - 1) << YC_CHUNK_BITS;
            ch->spare = 0;
            ch->leaf = NULL;
            doc->chunks[doc->nchunks - 1] = ch;
            /* handle 0 means none: chunk 0 does not use slot 0 */
            doc->chunk_used = doc->nchunks == 1 ? 1 : 0;
        }
        slot = doc->chunk_used++;
        it = &doc->chunks[doc->nchunks - 1]->items[slot];
    }
    memset(it, 0, sizeof *it);
    it->slot = (uint8_t)slot;
    yi_set_leaf(it, NULL);
    return it;
}

int yi_leaf_room(yitem *it)
{
    ychunk *ch = yi_chunk(it);
    if (ch->leaf == NULL && (ch->leaf = calloc(YC_CHUNK, sizeof *ch->leaf)) == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

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

static void offs_drop(pkc_ydoc *doc, const yitem *it);

/* ------------------------------------------------------------------------ */
/* Byte counts of 0x3fff bytes or more                                      */

/* Item-keyed side tables (yitab): entries start with their key. */

static uint32_t itab_hash(const void *slot, const void *ctx)
{
    const yitem *k;
    memcpy(&k, slot, sizeof k);
    return yc_ptr_hash(k);
}

static int itab_match(const void *slot, const void *key)
{
    const yitem *k;
    memcpy(&k, slot, sizeof k);
    return k == key;
}

/* The layout of a table of `esz`-byte entries. */
#define ITAB_LAYOUT(esz) {(esz), sizeof(const yitem *), 16, itab_hash}

static inline void *itab_find(const yitab *t, const pkc_hashtab_layout *l, const yitem *it)
{
    return pkc_hashtab_find(t, l, yc_ptr_hash(it), itab_match, it);
}

/* A new entry for `it` (not in the table), zeroed but for its key; NULL
 * when out of memory (nothing changed). */
static void *itab_add(yitab *t, const pkc_hashtab_layout *l, const yitem *it)
{
    void *e = pkc_hashtab_add(t, l, yc_ptr_hash(it), NULL);
    if (e)
        memcpy(e, &it, sizeof it);
    return e;
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

static int set_big_cn(pkc_ydoc *doc, yitem *it, uint32_t n);

/* Sets the item's byte count; PKC_ERR_NOMEM (nothing changed) only when a
 * count of 0x3fff or more is new to the item. */
static inline int set_cn(pkc_ydoc *doc, yitem *it, uint32_t n)
{
    if (n < YC_CN_BIG && it->cn != YC_CN_BIG) {
        it->cn = n;
        return 0;
    }
    return set_big_cn(doc, it, n);
}

static int set_big_cn(pkc_ydoc *doc, yitem *it, uint32_t n)
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

/* n unused bytes of client cix's arena became garbage */
static void arena_drop(pkc_ydoc *doc, uint32_t cix, uint32_t n)
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

/* Offset of n new bytes at the end of client cix's arena. */
static int arena_reserve(pkc_ydoc *doc, uint32_t cix, size_t n, uint32_t *off)
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
    if ((rc = set_cn(doc, it, (uint32_t)n)))
        return rc;
    if ((rc = arena_reserve(doc, it->id.client, n, &off))) {
        set_cn(doc, it, 0);
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
            offs_drop(doc, it);
        uint32_t n = yi_cn(doc, it);
        if (n)
            arena_drop(doc, it->id.client, n);
        set_cn(doc, it, 0);
    }
    it->content = 0;
}

void yc_item_release(pkc_ydoc *doc, yitem *it)
{
    yc_content_free(doc, it);
    if (it->flags & YF_REDONE)
        yc_redone_clear(doc, it);
    it->kind = YC_FREE;
    it->right = doc->free_items;
    doc->free_items = yi_h(it);
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

/* ------------------------------------------------------------------------ */
/* UTF-16                                                                   */

size_t yc_utf16_len(const uint8_t *s, size_t n, int *ascii)
{
    size_t units = 0, i = 0;
    int a = 1;
    /* runs of ASCII, eight bytes at a time */
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
        units += 8;
        i += 8;
    }
    for (; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x80) {
            a = 0;
            if ((c & 0xc0) != 0x80)
                units += c >= 0xf0 ? 2 : 1;
        } else {
            units++;
        }
    }
    if (ascii)
        *ascii = a;
    return units;
}

size_t yc_utf16_offset(const uint8_t *s, size_t n, size_t k, int *mid)
{
    size_t units = 0, i = 0;
    *mid = 0;
    while (i < n && units < k) {
        uint8_t c = s[i];
        size_t cl = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (cl == 4) {
            if (units + 1 == k) {
                *mid = 1;
                return i;
            }
            units += 2;
        } else {
            units++;
        }
        i += cl;
    }
    return i;
}

static const uint8_t REPLACEMENT[3] = {0xef, 0xbf, 0xbd};

/* ------------------------------------------------------------------------ */
/* Element offsets of long Any / JSON items                                 */

/* Yjs keeps their elements in a JavaScript array; we keep their encoded
 * bytes, and for items of more than YOFF_MIN elements a table of where each
 * element starts, so that reading or writing from element k is O(1): an
 * item that grows by appends is written from its end after every
 * transaction. The table follows the item through splits and merges. */
#define YOFF_MIN 32

typedef struct yoffs {
    const yitem *it; /* the key */
    uint32_t *off;   /* off[i] = byte offset of element i */
    uint32_t n, cap;
} yoffs;

static const pkc_hashtab_layout OFFS = ITAB_LAYOUT(sizeof(yoffs));

static yoffs *offs_find(pkc_ydoc *doc, const yitem *it)
{
    return itab_find(&doc->offs, &OFFS, it);
}

static void offs_drop(pkc_ydoc *doc, const yitem *it)
{
    yoffs *o = offs_find(doc, it);
    if (o == NULL)
        return;
    free(o->off);
    pkc_hashtab_remove(&doc->offs, &OFFS, o, NULL);
}

void yc_offs_free(pkc_ydoc *doc)
{
    for (uint32_t i = 0; i < doc->offs.cap; i++)
        free(((yoffs *)pkc_hashtab_slot(&doc->offs, &OFFS, i))->off);
    pkc_hashtab_free(&doc->offs);
}

/* Appends the offsets of `count` elements starting at byte `from`. */
static int offs_scan(const pkc_ydoc *doc, yoffs *o, const yitem *it, size_t from, uint32_t count)
{
    if (o->n + count > o->cap) {
        uint32_t nc = o->cap ? o->cap : 64;
        while (nc < o->n + count)
            nc *= 2;
        uint32_t *no = realloc(o->off, nc * sizeof *no);
        if (no == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        o->off = no;
        o->cap = nc;
    }
    pkc_reader r;
    pkc_reader_init(&r, yi_bytes(doc, it), yi_cn(doc, it));
    r.p += from;
    for (uint32_t i = 0; i < count; i++) {
        o->off[o->n++] = (uint32_t)pkc_reader_offset(&r);
        if (it->kind == YC_ANY) {
            yany_skip(&r);
        } else {
            const uint8_t *p;
            size_t n;
            pkc_reader_varbytes(&r, &p, &n);
        }
    }
    return 0;
}

static size_t scan_offset(const pkc_ydoc *doc, const yitem *it, uint32_t k)
{
    pkc_reader r;
    pkc_reader_init(&r, yi_bytes(doc, it), yi_cn(doc, it));
    for (uint32_t i = 0; i < k; i++) {
        if (it->kind == YC_ANY) {
            if (yany_skip(&r))
                break;
        } else {
            const uint8_t *p;
            size_t n;
            if (pkc_reader_varbytes(&r, &p, &n))
                break;
        }
    }
    return pkc_reader_offset(&r);
}

size_t yc_elem_offset(const pkc_ydoc *cdoc, const yitem *it, uint32_t k)
{
    if (k == 0)
        return 0;
    if (k >= it->len)
        return yi_cn(cdoc, it);
    if (it->len < YOFF_MIN || it->owner == 0)
        return scan_offset(cdoc, it, k);
    pkc_ydoc *doc = (pkc_ydoc *)cdoc; /* the table is a cache, not a change */
    yoffs *o = offs_find(doc, it);
    if (o == NULL) {
        if ((o = itab_add(&doc->offs, &OFFS, it)) == NULL)
            return scan_offset(doc, it, k);
        if (offs_scan(doc, o, it, 0, it->len)) {
            offs_drop(doc, it);
            return scan_offset(doc, it, k);
        }
    }
    return o->off[k];
}

/* hooks for the content changes of Any / JSON items */
static void offs_split(pkc_ydoc *doc, const yitem *left, uint32_t diff)
{
    yoffs *o = offs_find(doc, left);
    if (o && o->n > diff)
        o->n = diff;
}

static void offs_merged(pkc_ydoc *doc, const yitem *left, const yitem *right, size_t old_cn)
{
    offs_drop(doc, right);
    yoffs *o = offs_find(doc, left);
    if (o && offs_scan(doc, o, left, old_cn, right->len))
        offs_drop(doc, left);
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
            pkc_buf_push(b, REPLACEMENT, 3);
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

/* ------------------------------------------------------------------------ */
/* Client table                                                             */

static uint32_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* The table's slots hold index + 1 into doc->cl. */
static uint32_t clslot_hash(const void *slot, const void *ctx)
{
    const pkc_ydoc *doc = ctx;
    uint32_t x;
    memcpy(&x, slot, sizeof x);
    return hash64(doc->cl[x - 1].id);
}

static const pkc_hashtab_layout CLSLOTS = {sizeof(uint32_t), sizeof(uint32_t), 16, clslot_hash};

typedef struct client_query {
    const pkc_ydoc *doc;
    uint64_t id;
} client_query;

static int clslot_match(const void *slot, const void *key)
{
    const client_query *q = key;
    uint32_t x;
    memcpy(&x, slot, sizeof x);
    return q->doc->cl[x - 1].id == q->id;
}

int yc_client_find_slow(const pkc_ydoc *doc, uint64_t id, uint32_t *ix)
{
    client_query q = {doc, id};
    const uint32_t *x = pkc_hashtab_find(&doc->clslots, &CLSLOTS, hash64(id), clslot_match, &q);
    if (x == NULL)
        return 0;
    *ix = *x - 1;
    ((pkc_ydoc *)doc)->clhint = *x; /* a cache, not a change */
    return 1;
}

int yc_client_get(pkc_ydoc *doc, uint64_t id, uint32_t *ix)
{
    if (yc_client_find(doc, id, ix))
        return 0;
    if (doc->ncl == doc->capcl &&
        pkc_array_grow32((void **)&doc->cl, &doc->capcl, doc->ncl + 1, sizeof *doc->cl))
        return PKC_ERR_NOMEM;
    uint32_t *x = pkc_hashtab_add(&doc->clslots, &CLSLOTS, hash64(id), doc);
    if (x == NULL)
        return PKC_ERR_NOMEM;
    yclient *c = &doc->cl[doc->ncl];
    memset(c, 0, sizeof *c);
    c->doc = doc;
    c->id = id;
    *x = ++doc->ncl;
    *ix = doc->ncl - 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Blocked struct arrays                                                    */

/* The last index in a[0..n) (n > 0, a ascending, a[0] <= key) with
 * a[i] <= key; branch-free, since lookups jump around the history. */
static inline uint32_t last_le(const uint32_t *a, uint32_t n, uint32_t key)
{
    uint32_t base = 0;
    while (n > 1) {
        uint32_t half = n / 2;
        base = a[base + half] <= key ? base + half : base;
        n -= half;
    }
    return base;
}

/* The last index in a[0..n) (n > 0, a ascending, a[0] <= key <= 0xffff)
 * with a[i] <= key, for 16-bit offsets. `a` has room for YB_CAP entries, all
 * initialised (off_alloc): with SSE2 all of them are compared at once (no
 * chain of dependent loads as in a binary search) and those past n masked
 * out. */
static inline uint32_t last_le16(const uint16_t *a, uint32_t n, uint32_t key)
{
#if defined(__SSE2__) && YB_CAP == 64
    /* unsigned 16-bit compare through the signed one: flip the top bit */
    const __m128i flip = _mm_set1_epi16((short)0x8000);
    const __m128i k = _mm_xor_si128(_mm_set1_epi16((short)(uint16_t)key), flip);
    uint64_t gt = 0;
    for (int v = 0; v < 4; v++) {
        __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(a + 16 * v)), flip);
        __m128i y = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(a + 16 * v + 8)), flip);
        __m128i m = _mm_packs_epi16(_mm_cmpgt_epi16(x, k), _mm_cmpgt_epi16(y, k));
        gt |= (uint64_t)(uint16_t)_mm_movemask_epi8(m) << (16 * v);
    }
    /* entries <= key: a prefix of the first n (a[0] <= key) */
    uint64_t le = ~gt & (n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1);
    return 63u - (uint32_t)__builtin_clzll(le | 1); /* (0 as the search would) */
#else
    uint32_t base = 0;
    while (n > 1) {
        uint32_t half = n / 2;
        base = a[base + half] <= key ? base + half : base;
        n -= half;
    }
    return base;
#endif
}

/* Room for a block's clock offsets (initialised: last_le16 reads them all). */
static uint16_t *off_alloc(void)
{
    return calloc(YB_CAP, sizeof(uint16_t));
}

/* The last index in block bl (n > 0, clock of the first <= key) whose
 * struct starts at or before key. */
static inline uint32_t block_le(const pkc_ydoc *doc, const yblock *bl, uint32_t key)
{
    uint32_t base = 0, n = bl->n;
    if (bl->off)
        return last_le16(bl->off, n, key - bl->base > 0xffff ? 0xffff : key - bl->base);
    if (bl->h == NULL && (bl->h0 >> YC_CHUNK_BITS) == ((bl->h0 + n - 1) >> YC_CHUNK_BITS)) {
        /* consecutive items in one chunk */
        const yitem *a = yc_item(doc, bl->h0);
        while (n > 1) {
            uint32_t half = n / 2;
            base = a[base + half].id.clock <= key ? base + half : base;
            n -= half;
        }
        return base;
    }
    while (n > 1) {
        uint32_t half = n / 2;
        base = yc_item(doc, yb_h(bl, base + half))->id.clock <= key ? base + half : base;
        n -= half;
    }
    return base;
}

static inline uint32_t block_clock(const pkc_ydoc *doc, const yblock *bl, uint32_t i)
{
    return bl->off ? bl->base + bl->off[i] : yc_item(doc, yb_h(bl, i))->id.clock;
}

ypos ycl_find(const yclient *c, uint32_t clock)
{
    /* recent structs are looked up most: try the last one */
    uint32_t last = c->nb - 1;
    const yblock *bl = &c->b[last];
    ypos p = {last, bl->n - 1};
    if (block_clock(c->doc, bl, p.i) <= clock)
        return p;
    /* lookups often go through the history in order (delete sets, both
     * ways): try the block where the last one ended, and there the struct
     * it found and its neighbours (structs cover the clocks without gaps) */
    p.b = c->fb;
    if (p.b < last && c->first[p.b] <= clock && clock < c->first[p.b + 1]) {
        bl = &c->b[p.b];
        p.i = c->fi;
        if (p.i < bl->n) {
            const yitem *it = ycl_at(c, p);
            if (it->id.clock <= clock) {
                if (clock - it->id.clock < it->len)
                    return p;
                if (p.i + 1 < bl->n) {
                    p.i++;
                    it = ycl_at(c, p);
                    if (clock - it->id.clock < it->len)
                        goto found;
                }
            } else if (p.i > 0) {
                p.i--;
                if (ycl_at(c, p)->id.clock <= clock)
                    goto found;
            }
        }
    } else {
        p.b = c->first[last] <= clock ? last : last_le(c->first, last, clock);
    }
    p.i = block_le(c->doc, &c->b[p.b], clock);
found:;
    yclient *m = (yclient *)c; /* the hint is a cache, not a change */
    m->fb = p.b;
    m->fi = p.i;
    return p;
}

/* an empty block at `at` */
static int insert_block(yclient *c, uint32_t at)
{
    if (c->nb == c->capb) {
        uint32_t cap = c->capb;
        if (pkc_array_grow32((void **)&c->b, &cap, c->nb + 1, sizeof *c->b))
            return pkc_error_code(PKC_ERR_NOMEM);
        uint32_t *f = realloc(c->first, cap * sizeof *f);
        if (f == NULL)
            return pkc_error_code(PKC_ERR_NOMEM); /* b grew; capb stays, so it grows again next time */
        c->first = f;
        c->capb = cap;
    }
    memmove(c->b + at + 1, c->b + at, (c->nb - at) * sizeof *c->b);
    memmove(c->first + at + 1, c->first + at, (c->nb - at) * sizeof *c->first);
    memset(&c->b[at], 0, sizeof c->b[at]);
    c->first[at] = 0;
    c->nb++;
    return 0;
}

/* gives a block of consecutive handles its handle array */
static int explicit_block(yblock *bl)
{
    if (bl->h)
        return 0;
    uint32_t *h = malloc(YB_CAP * sizeof *h);
    if (h == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    for (uint32_t i = 0; i < bl->n; i++)
        h[i] = bl->h0 + i;
    bl->h = h;
    return 0;
}

/* (Re)computes a block's clock offsets from base, the clock of its first
 * struct; without them (too far apart, out of memory) it is searched by its
 * items. */
static void block_offsets(const pkc_ydoc *doc, yblock *bl)
{
    if (bl->n == 0)
        return;
    uint32_t base = yc_item(doc, yb_h(bl, 0))->id.clock;
    if (bl->off == NULL && (bl->off = off_alloc()) == NULL)
        return;
    for (uint32_t i = 0; i < bl->n; i++) {
        uint32_t d = yc_item(doc, yb_h(bl, i))->id.clock - base;
        if (d > 0xffff) {
            free(bl->off);
            bl->off = NULL;
            return;
        }
        bl->off[i] = (uint16_t)d;
    }
    bl->base = base;
}

/* records struct i's clock (the others are in place) */
static void block_set_clock(yblock *bl, uint32_t i, uint32_t clock)
{
    if (bl->off == NULL)
        return;
    if (clock - bl->base > 0xffff) {
        free(bl->off);
        bl->off = NULL;
        return;
    }
    bl->off[i] = (uint16_t)(clock - bl->base);
}

int ycl_push(pkc_ydoc *doc, uint32_t cix, yitem *it)
{
    yclient *c = &doc->cl[cix];
    uint32_t h = yi_h(it);
    if ((c->nb == 0 || c->b[c->nb - 1].n == YB_CAP) && insert_block(c, c->nb))
        return pkc_error_code(PKC_ERR_NOMEM);
    yblock *bl = &c->b[c->nb - 1];
    if (bl->n == 0) {
        c->first[c->nb - 1] = it->id.clock;
        bl->h0 = h;
        bl->base = it->id.clock;
        if (bl->off == NULL)
            bl->off = off_alloc(); /* NULL: items are searched */
    }
    if (bl->h == NULL && h != bl->h0 + bl->n && explicit_block(bl))
        return pkc_error_code(PKC_ERR_NOMEM);
    if (bl->h)
        bl->h[bl->n] = h;
    block_set_clock(bl, bl->n, it->id.clock);
    bl->n++;
    c->state = it->id.clock + it->len;
    return 0;
}

int ycl_insert_after(yclient *c, ypos p, yitem *it)
{
    uint32_t at = p.i + 1, h = yi_h(it);
    yblock *bl = &c->b[p.b];
    if (bl->n == YB_CAP) {
        /* split: the upper half goes to a new block */
        uint32_t half = YB_CAP / 2;
        uint32_t *hs = NULL;
        if (bl->h && (hs = malloc(YB_CAP * sizeof *hs)) == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        if (insert_block(c, p.b + 1)) {
            free(hs);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        bl = &c->b[p.b];
        yblock *nb = &c->b[p.b + 1];
        nb->n = YB_CAP - half;
        if (bl->h) {
            memcpy(hs, bl->h + half, nb->n * sizeof *hs);
            nb->h = hs;
        } else {
            nb->h0 = bl->h0 + half;
        }
        if (bl->off) {
            /* the upper half's offsets from its own first clock */
            if ((nb->off = off_alloc()) != NULL) {
                nb->base = bl->base + bl->off[half];
                for (uint32_t i = 0; i < nb->n; i++)
                    nb->off[i] = (uint16_t)(bl->off[half + i] - bl->off[half]);
            }
        } else {
            block_offsets(c->doc, nb);
        }
        bl->n = half;
        c->first[p.b + 1] = ycl_at(c, (ypos){p.b + 1, 0})->id.clock;
        if (at > half) {
            bl = nb;
            at -= half;
        }
    }
    if (bl->h == NULL && at == bl->n && h == bl->h0 + bl->n) {
        block_set_clock(bl, at, it->id.clock);
        bl->n++;
        return 0;
    }
    if (explicit_block(bl))
        return pkc_error_code(PKC_ERR_NOMEM);
    memmove(bl->h + at + 1, bl->h + at, (bl->n - at) * sizeof *bl->h);
    bl->h[at] = h;
    if (bl->off)
        memmove(bl->off + at + 1, bl->off + at, (bl->n - at) * sizeof *bl->off);
    block_set_clock(bl, at, it->id.clock);
    bl->n++;
    return 0;
}

/* keeps first[] right after the struct at p changed its clock or went */
static void fix_first(yclient *c, uint32_t b)
{
    if (b < c->nb && c->b[b].n)
        c->first[b] = ycl_at(c, (ypos){b, 0})->id.clock;
}

int ycl_removable(yclient *c, ypos p)
{
    yblock *bl = &c->b[p.b];
    if (bl->h == NULL && p.i > 0 && p.i + 1 < bl->n && explicit_block(bl))
        return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

void ycl_remove(yclient *c, ypos p)
{
    yblock *bl = &c->b[p.b];
    uint32_t k = bl->n - p.i - 1; /* structs after p */
    if (bl->h == NULL && p.i == 0) {
        bl->h0++;
    } else if (bl->h || k) {
        /* callers make sure with ycl_removable that this cannot fail (a
         * struct just inserted is never in the middle of such a block) */
        if (explicit_block(bl))
            return;
        memmove(bl->h + p.i, bl->h + p.i + 1, k * sizeof *bl->h);
    }
    if (bl->off)
        memmove(bl->off + p.i, bl->off + p.i + 1, k * sizeof *bl->off);
    bl->n--;
    if (bl->n == 0 && c->nb > 1) {
        free(bl->h);
        free(bl->off);
        memmove(c->b + p.b, c->b + p.b + 1, (c->nb - p.b - 1) * sizeof *c->b);
        memmove(c->first + p.b, c->first + p.b + 1, (c->nb - p.b - 1) * sizeof *c->first);
        c->nb--;
    } else if (p.i == 0) {
        fix_first(c, p.b);
    }
}

size_t ycl_count(const yclient *c)
{
    size_t n = 0;
    for (uint32_t i = 0; i < c->nb; i++)
        n += c->b[i].n;
    return n;
}

yitem *yc_find(const pkc_ydoc *doc, uint32_t cix, uint32_t clock)
{
    const yclient *c = &doc->cl[cix];
    return ycl_at(c, ycl_find(c, clock));
}

/* ------------------------------------------------------------------------ */
/* Splitting                                                                */

/* Gives units [diff, len) of left's content to right: both keep pointing
 * into the arena, except that a split surrogate pair makes both halves
 * U+FFFD (yjs#248; lengths in UTF-16 units stay the same), which gives
 * right a copy. Fails (NOMEM, TOO_LARGE) before changing anything. */
static int split_content(pkc_ydoc *doc, yitem *left, yitem *right, uint32_t diff)
{
    uint32_t cix = left->id.client;
    uint32_t cn = yi_cn(doc, left);
    const uint8_t *p = yi_bytes(doc, left);
    size_t off;
    int rc;
    switch (left->kind) {
    case YC_DELETED:
        return 0;
    case YC_STRING: {
        int mid = 0;
        off = (left->flags & YF_ASCII) ? diff : yc_utf16_offset(p, cn, diff, &mid);
        if (mid) {
            uint32_t rest = cn - (uint32_t)off - 4, roff;
            if ((rc = set_cn(doc, right, rest + 3)))
                return rc;
            if ((rc = arena_reserve(doc, cix, rest + 3, &roff))) {
                set_cn(doc, right, 0);
                return rc;
            }
            uint8_t *a = doc->cl[cix].arena;
            memcpy(a + roff, REPLACEMENT, 3);
            memcpy(a + roff + 3, a + left->content + off + 4, rest);
            right->content = roff;
            /* left: U+FFFD over the first three bytes of the pair */
            memcpy(a + left->content + off, REPLACEMENT, 3);
            set_cn(doc, left, (uint32_t)off + 3);
            arena_drop(doc, cix, rest + 1);
        } else {
            if ((rc = set_cn(doc, right, cn - (uint32_t)off)))
                return rc;
            right->content = left->content + (uint32_t)off;
            set_cn(doc, left, (uint32_t)off);
        }
        if (!(left->flags & YF_ASCII)) {
            int a;
            yc_utf16_len(yi_bytes(doc, right), yi_cn(doc, right), &a);
            if (a)
                right->flags |= YF_ASCII;
            yc_utf16_len(yi_bytes(doc, left), yi_cn(doc, left), &a);
            if (a)
                left->flags |= YF_ASCII;
        } else {
            right->flags |= YF_ASCII;
        }
        return 0;
    }
    case YC_ANY:
    case YC_JSON:
        off = yc_elem_offset(doc, left, diff);
        if ((rc = set_cn(doc, right, cn - (uint32_t)off)))
            return rc;
        right->content = left->content + (uint32_t)off;
        set_cn(doc, left, (uint32_t)off);
        if (left->owner)
            offs_split(doc, left, diff);
        return 0;
    default:
        return pkc_error(PKC_ERR_INTERNAL, "content kind %u cannot be split", left->kind);
    }
}

yitem *yc_split(pkc_ytxn *txn, yitem *left, uint32_t diff)
{
    pkc_ydoc *doc = txn->doc;
    yclient *c = &doc->cl[left->id.client];
    ypos pos = ycl_find(c, left->id.clock);
    yitem *right = yc_item_alloc(doc);
    if (right == NULL)
        goto nomem;
    right->id.client = left->id.client;
    right->id.clock = left->id.clock + diff;
    right->len = left->len - diff;
    right->kind = left->kind;
    right->flags = YF_ORIGIN | (left->flags & (YF_RORIGIN | YF_DELETED | YF_KEEP));
    if (yc_kind_countable(left->kind))
        right->flags |= YF_COUNTABLE;
    right->origin.client = left->id.client;
    right->origin.clock = left->id.clock + diff - 1;
    right->rorigin = left->rorigin;
    right->left = yi_h(left);
    right->right = left->right;
    right->owner = left->owner;
    if (ycl_insert_after(c, pos, right)) {
        yc_item_release(doc, right);
        goto nomem;
    }
    if (split_content(doc, left, right, diff)) {
        /* the store gives the struct back; nothing else changed */
        ycl_remove(c, ycl_find(c, right->id.clock));
        yc_item_release(doc, right);
        return NULL;
    }
    if (left->flags & YF_REDONE) {
        yid to;
        if (yc_redone_get(doc, left, &to)) {
            to.clock += diff;
            yc_redone_set(doc, right, to);
        }
    }
    uint32_t rh = yi_h(right);
    yitem *rr = yi_right(doc, right);
    left->len = diff;
    left->right = rh;
    if (rr)
        rr->left = rh;
    if (yc_txn_add_merge(txn, right->id))
        goto nomem;
    ykey *key = yi_psub(doc, right);
    if (key && right->right == 0)
        key->val = right;
    if (yi_leaf(left) && yst_split(yi_parent(doc, left), left, right))
        goto nomem;
    return right;
nomem:
    pkc_error_code(PKC_ERR_NOMEM);
    return NULL;
}

yitem *yc_clean_start(pkc_ytxn *txn, uint32_t cix, uint32_t clock)
{
    yitem *it = yc_find(txn->doc, cix, clock);
    if (it->id.clock < clock && it->kind != YC_GC)
        return yc_split(txn, it, clock - it->id.clock);
    return it;
}

yitem *yc_clean_end(pkc_ytxn *txn, uint32_t cix, uint32_t clock)
{
    yitem *it = yc_find(txn->doc, cix, clock);
    if (clock != it->id.clock + it->len - 1 && it->kind != YC_GC) {
        if (yc_split(txn, it, clock - it->id.clock + 1) == NULL)
            return NULL;
    }
    return it;
}

/* ------------------------------------------------------------------------ */
/* Merging                                                                  */

int yc_mergeable(const pkc_ydoc *doc, const yitem *left, const yitem *right)
{
    if (left->kind == YC_GC || right->kind == YC_GC)
        return left->kind == YC_GC && right->kind == YC_GC;
    if (left->kind != right->kind || yi_right(doc, left) != right)
        return 0;
    if (!(right->flags & YF_ORIGIN) || right->origin.client != left->id.client ||
        right->origin.clock != left->id.clock + left->len - 1)
        return 0;
    if ((left->flags & YF_RORIGIN) != (right->flags & YF_RORIGIN) ||
        ((left->flags & YF_RORIGIN) && !yid_eq(left->rorigin, right->rorigin)))
        return 0;
    if (left->id.client != right->id.client || left->id.clock + left->len != right->id.clock)
        return 0;
    if (yi_deleted(left) != yi_deleted(right))
        return 0;
    if ((left->flags & YF_REDONE) || (right->flags & YF_REDONE))
        return 0;
    switch (left->kind) {
    case YC_STRING:
    case YC_ANY:
    case YC_JSON:
    case YC_DELETED:
        return 1;
    default:
        return 0;
    }
}

int yc_merge_items(pkc_ydoc *doc, yitem *left, yitem *right)
{
    if (left->kind == YC_GC) {
        left->len += right->len;
        return 1;
    }
    switch (left->kind) {
    case YC_STRING:
    case YC_ANY:
    case YC_JSON: {
        /* out of memory: keep them apart, which is still correct */
        uint32_t lcn = yi_cn(doc, left), rcn = yi_cn(doc, right);
        if ((uint64_t)lcn + rcn > UINT32_MAX || set_cn(doc, left, lcn + rcn))
            return 0;
        if (left->content + lcn != right->content) {
            /* not adjacent in the arena (one was moved): copy both to its end */
            uint32_t cix = left->id.client, off;
            if (arena_reserve(doc, cix, (size_t)lcn + rcn, &off)) {
                set_cn(doc, left, lcn);
                return 0;
            }
            uint8_t *a = doc->cl[cix].arena;
            memcpy(a + off, a + left->content, lcn);
            memcpy(a + off + lcn, a + right->content, rcn);
            left->content = off;
            arena_drop(doc, cix, lcn + rcn);
        }
        set_cn(doc, right, 0); /* its bytes are left's now */
        right->content = 0;
        if (left->kind == YC_STRING && !(right->flags & YF_ASCII))
            left->flags &= (uint8_t)~YF_ASCII;
        if (left->kind != YC_STRING && doc->offs.n)
            offs_merged(doc, left, right, lcn);
        break;
    }
    case YC_DELETED:
        break;
    default:
        return 0;
    }
    if (right->flags & YF_KEEP)
        left->flags |= YF_KEEP;
    if (yi_leaf(right))
        yst_merge(yi_parent(doc, left), left, right);
    left->right = right->right;
    if (left->right)
        yi_right(doc, left)->left = yi_h(left);
    left->len += right->len;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Redone links                                                             */

static size_t redone_find(const pkc_ydoc *doc, yid id, int *found)
{
    size_t lo = 0, hi = doc->nredone;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        const yid *x = &doc->redone[m].id;
        if (x->client < id.client || (x->client == id.client && x->clock < id.clock))
            lo = m + 1;
        else
            hi = m;
    }
    *found = lo < doc->nredone && yid_eq(doc->redone[lo].id, id);
    return lo;
}

int yc_redone_set(pkc_ydoc *doc, yitem *it, yid to)
{
    int found;
    size_t i = redone_find(doc, it->id, &found);
    if (!found) {
        if (pkc_array_grow((void **)&doc->redone, &doc->capredone, doc->nredone + 1,
                           sizeof *doc->redone))
            return pkc_error_code(PKC_ERR_NOMEM);
        memmove(doc->redone + i + 1, doc->redone + i, (doc->nredone - i) * sizeof *doc->redone);
        doc->nredone++;
        doc->redone[i].id = it->id;
    }
    doc->redone[i].to = to;
    it->flags |= YF_REDONE;
    return 0;
}

int yc_redone_get(const pkc_ydoc *doc, const yitem *it, yid *to)
{
    if (!(it->flags & YF_REDONE))
        return 0;
    int found;
    size_t i = redone_find(doc, it->id, &found);
    if (found)
        *to = doc->redone[i].to;
    return found;
}

void yc_redone_clear(pkc_ydoc *doc, const yitem *it)
{
    int found;
    size_t i = redone_find(doc, it->id, &found);
    if (found) {
        memmove(doc->redone + i, doc->redone + i + 1, (doc->nredone - i - 1) * sizeof *doc->redone);
        doc->nredone--;
    }
}

/* ------------------------------------------------------------------------ */
/* Branches                                                                 */

static uint32_t owner_new(pkc_ydoc *doc, ybranch *b, ykey *k)
{
    uint32_t o;
    if (doc->nfree_owners) {
        o = doc->free_owners[--doc->nfree_owners];
    } else {
        yowner e = {NULL, NULL};
        if (PKC_ARRAY_PUSH32(doc->owners, doc->nowners, doc->capowners, e))
            return 0;
        o = doc->nowners - 1;
    }
    doc->owners[o].b = b;
    doc->owners[o].k = k;
    return o;
}

ykey *yc_key_get(ybranch *b, const char *s, size_t n)
{
    ykey *k = ymap_get_or_add(&b->map, s, n);
    if (k && k->owner == 0 && (k->owner = owner_new(b->doc, b, k)) == 0)
        return NULL; /* the key stays, without items, and gets an owner next time */
    return k;
}

void yc_keys_free(ybranch *b)
{
    pkc_ydoc *doc = b->doc;
    for (uint32_t i = 0; i < b->map.n; i++) {
        uint32_t o = b->map.e[i]->owner;
        if (o == 0)
            continue;
        doc->owners[o].b = NULL;
        doc->owners[o].k = NULL;
        /* out of memory: the entry is not reused, which is harmless */
        (void)PKC_ARRAY_PUSH32(doc->free_owners, doc->nfree_owners, doc->capfree_owners, o);
    }
    ymap_free(&b->map);
}

ybranch *yc_branch_new(pkc_ydoc *doc, uint8_t tref)
{
    ybranch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    if ((b->owner = owner_new(doc, b, NULL)) == 0) {
        free(b);
        return NULL;
    }
    b->doc = doc;
    b->tref = tref;
    b->next_all = doc->all;
    doc->all = b;
    return b;
}

int yc_root_get(pkc_ydoc *doc, const char *name, size_t len, ybranch **out)
{
    ykey *k = ymap_get_or_add(&doc->roots, name, len);
    if (k == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    if (k->val == NULL) {
        ybranch *b = yc_branch_new(doc, PKC_YUNDEFINED);
        if (b == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        b->root = k;
        k->val = b;
    }
    *out = k->val;
    return 0;
}

_Static_assert(sizeof(yitem) == 48, "items are 48 bytes (docs/crdt.md, Memory)");
