/* ds.h: delete sets (ds.c). */
#ifndef PKC_CRDT_DS_H
#define PKC_CRDT_DS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* ------------------------------------------------------------------------ */
/* Delete sets: per client (by id) sorted, merged ranges.                   */

typedef struct yrange {
    uint64_t client; /* the real client id */
    uint32_t clock;
    uint32_t len;
} yrange;

typedef struct yds {
    yrange *r;
    size_t n, cap;
} yds;

int yds_add(yds *ds, uint64_t client, uint32_t clock, uint32_t len);
/* Sorts by (client descending, clock) and merges overlapping ranges. */
void yds_sort_merge(yds *ds);
int yds_contains(const yds *ds, uint64_t client, uint32_t clock); /* sorted */
static inline void yds_free(yds *ds)
{
    free(ds->r);
    memset(ds, 0, sizeof *ds);
}
int yds_write(pkc_buf *b, const yds *ds); /* v1, ds sorted */
int yds_copy(yds *dst, const yds *src);
int yds_merge(yds *dst, const yds *add); /* dst = sorted(dst ∪ add) */

#endif
