/*
 * blocks.h: a client's structs in clock order, in a blocked array
 * (blocks.c).
 */
#ifndef PKC_CRDT_BLOCKS_H
#define PKC_CRDT_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/client.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "crdt/pool.h"

/* ------------------------------------------------------------------------ */
/* Structs of one client.                                                   */

#define YB_CAP 64

/* Structs of one client in clock order, YB_CAP (at most) per block. Blocks
 * of structs whose items were allocated one after the other (a loaded
 * document, appended structs) hold just the first handle, others all of
 * them. Their clocks are kept as 16-bit offsets, so that a block is
 * searched without loading items (when a clock is 65536 or more past the
 * block's base, the items are searched instead). */
typedef struct yblock {
    uint32_t n;
    uint32_t h0;   /* h == NULL: the handles are h0, h0 + 1, ..., h0 + n - 1 */
    uint32_t base; /* a clock at or before the first struct's */
    uint32_t spare;
    uint32_t *h;   /* NULL, or the handles (room for YB_CAP) */
    uint16_t *off; /* NULL, or clock - base of each struct (room for YB_CAP) */
} yblock;

static inline uint32_t yb_h(const yblock *bl, uint32_t i)
{
    return bl->h ? bl->h[i] : bl->h0 + i;
}

typedef struct ypos {
    uint32_t b, i;
} ypos;

/* Structs of one client, by clock. */
ypos ycl_find(const yclient *c, uint32_t clock); /* must exist */
static inline yitem *ycl_at(const yclient *c, ypos p)
{
    return yc_item(c->doc, yb_h(&c->b[p.b], p.i));
}
static inline int ycl_next(const yclient *c, ypos *p)
{
    if (++p->i < c->b[p->b].n)
        return 1;
    if (p->b + 1 < c->nb) {
        p->b++;
        p->i = 0;
        return 1;
    }
    p->i--;
    return 0;
}
static inline int ycl_prev(const yclient *c, ypos *p)
{
    if (p->i > 0) {
        p->i--;
        return 1;
    }
    if (p->b > 0) {
        p->b--;
        p->i = c->b[p->b].n - 1;
        return 1;
    }
    return 0;
}
static inline ypos ycl_last(const yclient *c)
{
    ypos p = {c->nb - 1, c->b[c->nb - 1].n - 1};
    return p;
}
int ycl_push(pkc_ydoc *doc, uint32_t cix, yitem *it);
/* ycl_push, inline when `it` goes into the last block as the next of its
 * consecutive handles (loading a document, appending). */
static inline int ycl_push_fast(pkc_ydoc *doc, uint32_t cix, yitem *it)
{
    yclient *c = &doc->cl[cix];
    if (c->nb > 0) {
        yblock *bl = &c->b[c->nb - 1];
        uint32_t d = it->id.clock - bl->base;
        if (bl->n > 0 && bl->n < YB_CAP && bl->h == NULL && bl->off != NULL && d <= 0xffff &&
            yi_h(it) == bl->h0 + bl->n) {
            bl->off[bl->n++] = (uint16_t)d;
            c->state = it->id.clock + it->len;
            return 0;
        }
    }
    return ycl_push(doc, cix, it);
}
int ycl_insert_after(yclient *c, ypos p, yitem *it);
/* Makes sure ycl_remove(c, p) needs no memory; PKC_ERR_NOMEM. */
int ycl_removable(yclient *c, ypos p);
void ycl_remove(yclient *c, ypos p);
size_t ycl_count(const yclient *c);

/* Finds the struct containing (cix, clock); must exist. */
static inline yitem *yc_find(const pkc_ydoc *doc, uint32_t cix, uint32_t clock)
{
    const yclient *c = &doc->cl[cix];
    return ycl_at(c, ycl_find(c, clock));
}

#endif
