/* array.c: growable arrays. */
#include "util/array.h"

#include <stdlib.h>

#include "util/err.h"

int pkc_array_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    /* (no divisions: arrays grow often, mostly from empty) */
    size_t nc = *cap ? *cap : 8, bytes;
    while (nc < need)
        nc = nc > SIZE_MAX / 2 ? need : nc * 2;
    if (__builtin_mul_overflow(nc, elem, &bytes)) {
        /* doubling went past what fits: exactly what is needed */
        nc = need;
        if (__builtin_mul_overflow(nc, elem, &bytes))
            return pkc_error_code(PKC_ERR_NOMEM);
    }
    void *q = realloc(*p, bytes);
    if (q == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    *p = q;
    *cap = nc;
    return 0;
}

int pkc_array_grow32(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need > UINT32_MAX / 2)
        return pkc_error_code(PKC_ERR_NOMEM);
    size_t c = *cap;
    int rc = pkc_array_grow(p, &c, need, elem);
    if (rc == 0)
        *cap = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
    return rc;
}
