/* ds.c: delete sets: per client sorted, merged clock ranges (v1 format). */
#include "crdt/ds.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/varint.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"

/* ------------------------------------------------------------------------ */
/* Delete sets                                                              */

int yds_add(yds *ds, uint64_t client, uint32_t clock, uint32_t len)
{
    yrange r = {client, clock, len};
    return PKC_ARRAY_PUSH(ds->r, ds->n, ds->cap, r);
}

static int cmp_range(const void *a, const void *b)
{
    const yrange *x = a, *y = b;
    if (x->client != y->client)
        return x->client > y->client ? -1 : 1;
    if (x->clock != y->clock)
        return x->clock < y->clock ? -1 : 1;
    return 0;
}

void yds_sort_merge(yds *ds)
{
    if (ds->n == 0)
        return;
    size_t k = 1; /* delete sets mostly come sorted */
    while (k < ds->n && cmp_range(&ds->r[k - 1], &ds->r[k]) <= 0)
        k++;
    if (k < ds->n)
        qsort(ds->r, ds->n, sizeof *ds->r, cmp_range);
    size_t j = 1;
    for (size_t i = 1; i < ds->n; i++) {
        yrange *l = &ds->r[j - 1], *r = &ds->r[i];
        if (l->client == r->client && (uint64_t)l->clock + l->len >= r->clock) {
            uint64_t end = (uint64_t)r->clock + r->len;
            if (end > (uint64_t)l->clock + l->len)
                l->len = (uint32_t)(end - l->clock);
        } else {
            ds->r[j++] = *r;
        }
    }
    ds->n = j;
}

int yds_contains(const yds *ds, uint64_t client, uint32_t clock)
{
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        const yrange *r = &ds->r[m];
        if (r->client > client || (r->client == client && (uint64_t)r->clock + r->len <= clock))
            lo = m + 1;
        else
            hi = m;
    }
    return lo < ds->n && ds->r[lo].client == client && ds->r[lo].clock <= clock;
}

int yds_copy(yds *dst, const yds *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->n == 0)
        return 0;
    dst->r = malloc(src->n * sizeof *dst->r);
    if (dst->r == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    memcpy(dst->r, src->r, src->n * sizeof *dst->r);
    dst->n = dst->cap = src->n;
    return 0;
}

int yds_merge(yds *dst, const yds *add)
{
    for (size_t i = 0; i < add->n; i++)
        if (PKC_ARRAY_PUSH(dst->r, dst->n, dst->cap, add->r[i]))
            return pkc_error_code(PKC_ERR_NOMEM);
    yds_sort_merge(dst);
    return 0;
}

/* Writes ranges grouped by client (descending); within a client in the
 * order stored. */
int yds_write(pkc_buf *b, const yds *ds)
{
    size_t n = ds->n;
    size_t small[16];
    size_t *ord = small;
    if (n > 16) {
        ord = malloc(n * sizeof *ord);
        if (ord == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
    }
    if (n) {
        for (size_t i = 0; i < n; i++)
            ord[i] = i;
        /* stable insertion-merge by client descending */
        for (size_t i = 1; i < n; i++) {
            size_t x = ord[i], j = i;
            while (j > 0 && ds->r[ord[j - 1]].client < ds->r[x].client) {
                ord[j] = ord[j - 1];
                j--;
            }
            ord[j] = x;
        }
    }
    size_t nclients = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || ds->r[ord[i]].client != ds->r[ord[i - 1]].client)
            nclients++;
    ywr_varuint(b, nclients);
    for (size_t i = 0; i < n;) {
        uint64_t c = ds->r[ord[i]].client;
        size_t k = i;
        while (k < n && ds->r[ord[k]].client == c)
            k++;
        ywr_varuint(b, c);
        ywr_varuint(b, k - i);
        for (; i < k; i++) {
            ywr_varuint(b, ds->r[ord[i]].clock);
            ywr_varuint(b, ds->r[ord[i]].len);
        }
    }
    if (ord != small)
        free(ord);
    return b->err;
}
