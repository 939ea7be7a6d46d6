/* keymap.c: keys and ordered hash maps (insertion order, as JavaScript's Map). */
#include "crdt/keymap.h"

#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/hashtab.h"

/* ------------------------------------------------------------------------ */
/* Ordered hash maps                                                        */

static const pkc_hashtab_layout YMAP_SLOTS = YMAP_SLOTS_LAYOUT;

ykey *ymap_add(ymap *m, const char *s, size_t n)
{
    ykey *k;
    if (n > UINT32_MAX - 1)
        return NULL;
    /* room in the slots first: a failure after the key is allocated is impossible */
    if (pkc_hashtab_reserve(&m->slots, &YMAP_SLOTS, m))
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
    uint32_t *x = pkc_hashtab_add(&m->slots, &YMAP_SLOTS, k->hash, m); /* (reserved) */
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
