/* hashtab.h: hash tables with open addressing and linear probing, over
 * slots whose layout the user chooses: a slot can hold the entry itself
 * (a key and its value) or the index of an entry kept elsewhere (an array
 * in insertion order, say), and the hash can be stored in the slot or
 * computed from it.
 *
 * The table holds `cap` slots of `layout->size` bytes (cap 0 or a power of
 * two) and is at most half full. A slot's first `layout->key_size` bytes
 * (4 or 8: a nonzero index + 1, a pointer, ...) are all zero exactly when
 * it is empty; empty slots are zero bytes throughout. Removing shifts the
 * rest of the probe run back (no tombstones), so lookups stop at the first
 * empty slot.
 *
 *   static uint32_t e_hash(const void *slot, const void *ctx);  (where it belongs)
 *   static int e_match(const void *slot, const void *key);      (is this the key?)
 *   static const pkc_hashtab_layout E = {sizeof(entry), sizeof(void *), 16, e_hash};
 *
 *   entry *e = pkc_hashtab_find(&t, &E, h, e_match, &key);
 *   if (e == NULL && (e = pkc_hashtab_add(&t, &E, h, NULL)) == NULL)
 *       return PKC_ERR_NOMEM;   (then fill in *e, its key nonzero)
 *
 * Lookups and additions are inline: with a layout that is a static const
 * object and static functions, the compiler makes them what a table
 * written by hand would be. Growing and removing call layout->hash through
 * its pointer.
 */
#ifndef PKC_UTIL_HASHTAB_H
#define PKC_UTIL_HASHTAB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct pkc_hashtab {
    void *slots;
    uint32_t n;   /* slots in use */
    uint32_t cap; /* 0 or a power of two */
} pkc_hashtab;

typedef struct pkc_hashtab_layout {
    size_t size;       /* bytes of a slot */
    size_t key_size;   /* leading bytes that are all zero exactly in empty slots */
    uint32_t min_cap;  /* slots when the first is added (a power of two) */
    /* The hash of a slot in use, the one it is looked up with; `ctx` is
     * what the caller of pkc_hashtab_add / _remove passes. */
    uint32_t (*hash)(const void *slot, const void *ctx);
} pkc_hashtab_layout;

/* Returns 1 when `key` is the key of a used slot (called with used slots
 * only). */
typedef int (*pkc_hashtab_match_fn)(const void *slot, const void *key);

/* Slot i (i < cap), used or not: for walking the whole table. */
static inline void *pkc_hashtab_get_slot(const pkc_hashtab *t, const pkc_hashtab_layout *l,
                                         uint32_t i)
{
    return (char *)t->slots + (size_t)i * l->size;
}

/* Whether a slot holds a key (its key bytes are not all zero). */
static inline int pkc_hashtab_is_used(const pkc_hashtab_layout *l, const void *slot)
{
    if (l->key_size == sizeof(uint32_t)) {
        uint32_t k;
        memcpy(&k, slot, sizeof k);
        return k != 0;
    }
    if (l->key_size == sizeof(uint64_t)) {
        uint64_t k;
        memcpy(&k, slot, sizeof k);
        return k != 0;
    }
    for (size_t i = 0; i < l->key_size; i++)
        if (((const unsigned char *)slot)[i])
            return 1;
    return 0;
}

/* The used slot of `hash` that `match` accepts for `key`, or NULL. */
static inline void *pkc_hashtab_find(const pkc_hashtab *t, const pkc_hashtab_layout *l,
                                     uint32_t hash, pkc_hashtab_match_fn match, const void *key)
{
    if (t->cap == 0)
        return NULL;
    uint32_t mask = t->cap - 1;
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        void *s = pkc_hashtab_get_slot(t, l, i);
        if (!pkc_hashtab_is_used(l, s))
            return NULL;
        if (match(s, key))
            return s;
    }
}

/* Doubles the table (from l->min_cap), moving the slots by
 * l->hash(slot, ctx); pkc_hashtab_add calls it when the table would be
 * more than half full. PKC_ERR_NOMEM (the thread's message set; nothing
 * changed). */
int pkc_hashtab_grow(pkc_hashtab *t, const pkc_hashtab_layout *l, const void *ctx);

/* Makes room for one more key: grows the table now if adding one would
 * make it more than half full, so that the next pkc_hashtab_add cannot
 * fail (for callers that must not fail after allocating what the slot
 * will point to). PKC_ERR_NOMEM (the thread's message set; nothing
 * changed). */
static inline int pkc_hashtab_reserve(pkc_hashtab *t, const pkc_hashtab_layout *l,
                                      const void *ctx)
{
    return (uint64_t)(t->n + 1) * 2 > t->cap ? pkc_hashtab_grow(t, l, ctx) : 0;
}

/* A slot for a new key of `hash` (one the table does not hold), zero
 * bytes: the caller fills it in, its key nonzero, before the table is used
 * again. Grows the table first when it would be more than half full. NULL
 * when out of memory (PKC_ERR_NOMEM and the thread's message set; nothing
 * changed). */
static inline void *pkc_hashtab_add(pkc_hashtab *t, const pkc_hashtab_layout *l, uint32_t hash,
                                    const void *ctx)
{
    if (pkc_hashtab_reserve(t, l, ctx))
        return NULL;
    uint32_t mask = t->cap - 1;
    uint32_t i = hash & mask;
    while (pkc_hashtab_is_used(l, pkc_hashtab_get_slot(t, l, i)))
        i = (i + 1) & mask;
    void *s = pkc_hashtab_get_slot(t, l, i);
    memset(s, 0, l->size);
    t->n++;
    return s;
}

/* Empties the used slot `slot` (from pkc_hashtab_find) and moves later
 * slots of its probe run back as linear probing needs (l->hash(slot, ctx)
 * says where each belongs). Pointers to slots are invalid afterwards. */
void pkc_hashtab_remove(pkc_hashtab *t, const pkc_hashtab_layout *l, void *slot,
                        const void *ctx);

/* Frees the slots (not what they point to) and empties the table. */
void pkc_hashtab_free(pkc_hashtab *t);

#endif
