/* keymap.c: keys and ordered hash maps (insertion order, as JavaScript's Map). */
#include "crdt/keymap.h"

#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/hashtab.h"

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
