/*
 * content.h: item content (content.c): format values, byte counts, the
 * clients' arenas.
 */
#ifndef PKC_CRDT_CONTENT_H
#define PKC_CRDT_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/client.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "crdt/val.h"
#include "util/buf.h"

/* ------------------------------------------------------------------------ */
/* Format values.                                                           */

/* A format value shared between items: Yjs compares attribute values with
 * `===`, and a format item that restores an earlier value holds the very
 * same object as the item it copies it from. The pointer is the identity. */
typedef struct ysval {
    yv v;
    uint32_t refs;
} ysval;

ysval *ysval_new(void);
void ysval_release(ysval *s);

/* Format content: key and value. */
typedef struct yfmt {
    char *key;
    uint32_t key_len;
    uint32_t json_len;
    ysval *val;
    char json[]; /* the value as JSON text, as on the v1 wire */
} yfmt;

/* ------------------------------------------------------------------------ */
/* Content.                                                                 */

uint32_t yc_bigcn(const pkc_ydoc *doc, const yitem *it);

/* Content bytes of an item. */
static inline uint32_t yi_cn(const pkc_ydoc *doc, const yitem *it)
{
    return it->cn != YC_CN_BIG ? it->cn : yc_bigcn(doc, it);
}

static inline const uint8_t *yi_bytes(const pkc_ydoc *doc, const yitem *it)
{
    const uint8_t *a = doc->cl[it->id.client].arena;
    return a ? a + it->content : NULL;
}

static inline yfmt *yi_fmt(const pkc_ydoc *doc, const yitem *it)
{
    return doc->fmts[it->content];
}

/* FORMAT content; PKC_ERR_NOMEM (f is then not taken). */
int yc_set_fmt(pkc_ydoc *doc, yitem *it, yfmt *f);
/* Copies n bytes (which may be in the arena) to the end of the arena of
 * the item's client (it->id.client must be set) as its content. */
int yc_set_bytes(pkc_ydoc *doc, yitem *it, const void *p, size_t n);
/* Room for n more content bytes of client cix, exactly when its arena is
 * empty (loading a document), else as the arena grows anyway. */
int yc_arena_expect(pkc_ydoc *doc, uint32_t cix, size_t n);
/* Drops bytes no item uses from arenas that hold many (called when a
 * transaction ends: no content pointer is held then). */
void yc_compact(pkc_ydoc *doc);
/* Frees an item's content (the item keeps its kind, content 0). */
void yc_content_free(pkc_ydoc *doc, yitem *it);
/* Content bytes of units [from, to) of a splittable item, appended to b in
 * the item's storage format (for strings: surrogate halves become
 * U+FFFD as in Yjs). */
int yc_content_slice(const pkc_ydoc *doc, const yitem *it, uint32_t from, pkc_buf *b);

/* For splitting and merging (split.c): */
int yc_set_big_cn(pkc_ydoc *doc, yitem *it, uint32_t n);
/* Sets the item's byte count; PKC_ERR_NOMEM (nothing changed) only when a
 * count of 0x3fff or more is new to the item. */
static inline int yc_set_cn(pkc_ydoc *doc, yitem *it, uint32_t n)
{
    if (n < YC_CN_BIG && it->cn != YC_CN_BIG) {
        it->cn = n;
        return 0;
    }
    return yc_set_big_cn(doc, it, n);
}
/* Offset of n new bytes at the end of client cix's arena. */
int yc_arena_reserve(pkc_ydoc *doc, uint32_t cix, size_t n, uint32_t *off);
/* n unused bytes of client cix's arena became garbage */
void yc_arena_drop(pkc_ydoc *doc, uint32_t cix, uint32_t n);

#endif
