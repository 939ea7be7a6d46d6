/* sv.h: state vectors (sv.c). */
#ifndef PKC_CRDT_SV_H
#define PKC_CRDT_SV_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "util/buf.h"

/* ------------------------------------------------------------------------ */
/* State vectors: client id -> clock.                                       */

typedef struct ysv {
    uint64_t *client; /* ascending */
    uint64_t *clock;
    size_t n, cap;
} ysv;
/* The index of the client's entry (*found 1) or where it would go (0). */
static inline size_t ysv_pos(const ysv *sv, uint64_t client, int *found)
{
    size_t lo = 0, hi = sv->n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (sv->client[m] < client)
            lo = m + 1;
        else
            hi = m;
    }
    *found = lo < sv->n && sv->client[lo] == client;
    return lo;
}
int ysv_set(ysv *sv, uint64_t client, uint64_t clock);
uint64_t ysv_get(const ysv *sv, uint64_t client, int *found);
static inline void ysv_free(ysv *sv)
{
    free(sv->client);
    free(sv->clock);
    memset(sv, 0, sizeof *sv);
}
int ysv_decode(const uint8_t *p, size_t n, ysv *out);
int ysv_encode(pkc_buf *b, const ysv *sv); /* sorted by client descending */
int yc_doc_sv(const pkc_ydoc *doc, ysv *out);

#endif
