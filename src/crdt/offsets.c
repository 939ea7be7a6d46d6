/* offsets.c: element offsets of long Any / JSON items. */
#include "crdt/offsets.h"

#include <stdlib.h>

#include "pkc.h"
#include "crdt/content.h"
#include "crdt/doc.h"
#include "crdt/itab.h"
#include "crdt/item.h"
#include "crdt/val.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hashtab.h"

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

void yc_offs_drop(pkc_ydoc *doc, const yitem *it)
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
        free(((yoffs *)pkc_hashtab_get_slot(&doc->offs, &OFFS, i))->off);
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
            yc_offs_drop(doc, it);
            return scan_offset(doc, it, k);
        }
    }
    return o->off[k];
}

void yc_offs_split(pkc_ydoc *doc, const yitem *left, uint32_t diff)
{
    yoffs *o = offs_find(doc, left);
    if (o && o->n > diff)
        o->n = diff;
}

void yc_offs_merged(pkc_ydoc *doc, const yitem *left, const yitem *right, size_t old_cn)
{
    yc_offs_drop(doc, right);
    yoffs *o = offs_find(doc, left);
    if (o && offs_scan(doc, o, left, old_cn, right->len))
        yc_offs_drop(doc, left);
}
