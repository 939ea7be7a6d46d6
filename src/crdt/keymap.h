/* keymap.h: keys and ordered hash maps (keymap.c). */
#ifndef PKC_CRDT_KEYMAP_H
#define PKC_CRDT_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

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

uint32_t ymap_hash(const char *s, size_t n);
ykey *ymap_find(const ymap *m, const char *s, size_t n);
/* Returns the existing key or a new one (val NULL); NULL when out of memory. */
ykey *ymap_get_or_add(ymap *m, const char *s, size_t n);
void ymap_free(ymap *m);

#endif
