/* keymap.h: keys and ordered hash maps (keymap.c). */
#ifndef PKC_CRDT_KEYMAP_H
#define PKC_CRDT_KEYMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crdt/item.h"
#include "util/hashtab.h"

/* ------------------------------------------------------------------------ */
/* Keys and ordered hash maps (insertion order, as JavaScript's Map).       */

typedef struct ykey ykey;

struct ykey {
    void *val;     /* yitem * (branch maps: the last of the key's chain) or
                    * ybranch * (root table) */
    yitem *first;  /* branch maps: the first of the key's chain */
    uint32_t hash;
    uint32_t len;
    uint32_t owner; /* branch maps: its index in doc->owners */
    char s[];      /* NUL-terminated */
};

typedef struct ymap {
    ykey **e;          /* entries in insertion order */
    uint32_t n, cap;   /* entries */
    pkc_hashtab slots; /* uint32_t slots: index + 1 into e */
} ymap;

static inline uint32_t ymap_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* The map's slots hold index + 1 into its entries. */
static inline uint32_t ymap_slot_hash(const void *slot, const void *ctx)
{
    const ymap *m = ctx;
    uint32_t x;
    memcpy(&x, slot, sizeof x);
    return m->e[x - 1]->hash;
}

#define YMAP_SLOTS_LAYOUT {sizeof(uint32_t), sizeof(uint32_t), 8, ymap_slot_hash}

typedef struct ymap_query {
    const ymap *m;
    const char *s;
    size_t n;
    uint32_t hash;
} ymap_query;

static inline int ymap_slot_match(const void *slot, const void *key)
{
    const ymap_query *q = key;
    uint32_t x;
    memcpy(&x, slot, sizeof x);
    const ykey *k = q->m->e[x - 1];
    return k->hash == q->hash && k->len == q->n && memcmp(k->s, q->s, q->n) == 0;
}

static inline ykey *ymap_find(const ymap *m, const char *s, size_t n)
{
    static const pkc_hashtab_layout slots = YMAP_SLOTS_LAYOUT;
    if (m->slots.cap == 0)
        return NULL;
    ymap_query q = {m, s, n, ymap_hash(s, n)};
    const uint32_t *x = pkc_hashtab_find(&m->slots, &slots, q.hash, ymap_slot_match, &q);
    return x ? m->e[*x - 1] : NULL;
}

/* Adds a key the map does not hold (val NULL); NULL when out of memory. */
ykey *ymap_add(ymap *m, const char *s, size_t n);

/* Returns the existing key or a new one (val NULL); NULL when out of memory. */
static inline ykey *ymap_get_or_add(ymap *m, const char *s, size_t n)
{
    ykey *k = ymap_find(m, s, n);
    return k ? k : ymap_add(m, s, n);
}

void ymap_free(ymap *m);

#endif
