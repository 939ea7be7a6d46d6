/*
 * blocks.c: the structs of one client in clock order, in a blocked array
 * (blocks of YB_CAP), so that splitting an old item moves at most one block,
 * not the whole list as Yjs's Array.splice does.
 */
#include "crdt/blocks.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/client.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "crdt/pool.h"
#include "util/array.h"
#include "util/err.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
