/* itab.h: side tables keyed by item (byte counts, element offsets). */
#ifndef PKC_CRDT_ITAB_H
#define PKC_CRDT_ITAB_H

#include <stdint.h>
#include <string.h>

#include "crdt/item.h"
#include "util/hashtab.h"

/* ------------------------------------------------------------------------ */
/* Item-keyed side tables                                                   */

/* A side table keyed by item (content.c, offsets.c): a pkc_hashtab whose
 * slots are entries of one size, each starting with its key
 * (`const yitem *`, NULL: an empty slot). */
typedef pkc_hashtab yitab;

static inline uint32_t yc_ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(x >> 32);
}

static inline uint32_t itab_hash(const void *slot, const void *ctx)
{
    const yitem *k;
    memcpy(&k, slot, sizeof k);
    return yc_ptr_hash(k);
}

static inline int itab_match(const void *slot, const void *key)
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
static inline void *itab_add(yitab *t, const pkc_hashtab_layout *l, const yitem *it)
{
    void *e = pkc_hashtab_add(t, l, yc_ptr_hash(it), NULL);
    if (e)
        memcpy(e, &it, sizeof it);
    return e;
}

#endif
