/* array.h: growable arrays: a pointer, a count and a capacity the caller
 * keeps, grown by doubling (8 elements at first), with the overflow checks
 * in one place.
 *
 *   item *a = NULL; size_t n = 0, cap = 0;
 *   if (PKC_ARRAY_PUSH(a, n, cap, x)) return rc;   (PKC_ERR_NOMEM)
 *   ... free(a);
 */
#ifndef PKC_UTIL_ARRAY_H
#define PKC_UTIL_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"

/* Makes room for `need` elements of `elem` bytes at *p (realloc; *p may be
 * NULL with *cap 0): nothing when *cap is enough, else the capacity doubles
 * (from 8) until it is. PKC_ERR_NOMEM (the message set; *p and *cap
 * unchanged) when out of memory or when need * elem does not fit in a
 * size_t. */
int pkc_array_grow(void **p, size_t *cap, size_t need, size_t elem);
/* The same with a 32-bit capacity; need above 2^31 - 1 is PKC_ERR_NOMEM,
 * so that counts stay far from overflowing. */
int pkc_array_grow32(void **p, uint32_t *cap, uint32_t need, size_t elem);

/* Appends `val` to arr[0..n) (n and cap lvalues of type size_t, or
 * uint32_t for PKC_ARRAY_PUSH32); 0, or PKC_ERR_NOMEM with nothing
 * changed. */
#define PKC_ARRAY_PUSH(arr, n, cap, val)                                                          \
    (((n) < (cap) || pkc_array_grow((void **)&(arr), &(cap), (n) + 1, sizeof *(arr)) == 0)         \
         ? ((arr)[(n)++] = (val), 0)                                                               \
         : PKC_ERR_NOMEM)

#define PKC_ARRAY_PUSH32(arr, n, cap, val)                                                        \
    (((n) < (cap) || pkc_array_grow32((void **)&(arr), &(cap), (n) + 1, sizeof *(arr)) == 0)       \
         ? ((arr)[(n)++] = (val), 0)                                                               \
         : PKC_ERR_NOMEM)

#endif
