/* hashtab.c: growing and removing for util/hashtab.h. */
#include "util/hashtab.h"

#include <stdlib.h>

#include "util/err.h"

int pkc_hashtab_grow(pkc_hashtab *t, const pkc_hashtab_layout *l, const void *ctx)
{
    uint32_t cap = t->cap ? t->cap * 2 : l->min_cap;
    if (t->cap > UINT32_MAX / 2)
        return pkc_error_code(PKC_ERR_NOMEM);
    pkc_hashtab g = {calloc(cap, l->size), t->n, cap};
    if (g.slots == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    uint32_t mask = cap - 1;
    for (uint32_t i = 0; i < t->cap; i++) {
        const void *s = pkc_hashtab_get_slot(t, l, i);
        if (!pkc_hashtab_is_used(l, s))
            continue;
        uint32_t j = l->hash(s, ctx) & mask;
        while (pkc_hashtab_is_used(l, pkc_hashtab_get_slot(&g, l, j)))
            j = (j + 1) & mask;
        memcpy(pkc_hashtab_get_slot(&g, l, j), s, l->size);
    }
    free(t->slots);
    *t = g;
    return 0;
}

void pkc_hashtab_remove(pkc_hashtab *t, const pkc_hashtab_layout *l, void *slot,
                        const void *ctx)
{
    uint32_t mask = t->cap - 1;
    uint32_t i = (uint32_t)(((char *)slot - (char *)t->slots) / l->size);
    memset(slot, 0, l->size);
    t->n--;
    for (uint32_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        void *s = pkc_hashtab_get_slot(t, l, j);
        if (!pkc_hashtab_is_used(l, s))
            break;
        uint32_t home = l->hash(s, ctx) & mask;
        /* move j to i if its home is not in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            memcpy(pkc_hashtab_get_slot(t, l, i), s, l->size);
            memset(s, 0, l->size);
            i = j;
        }
    }
}

void pkc_hashtab_free(pkc_hashtab *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}
