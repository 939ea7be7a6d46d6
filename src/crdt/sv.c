/* sv.c: state vectors: client id -> clock, sorted by client (v1 format). */
#include "crdt/sv.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/client.h"
#include "crdt/doc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"

/* ------------------------------------------------------------------------ */
/* State vectors                                                            */

int ysv_set(ysv *sv, uint64_t client, uint64_t clock)
{
    int found;
    size_t i = ysv_pos(sv, client, &found);
    if (!found) {
        size_t cap = sv->cap;
        if (pkc_array_grow((void **)&sv->client, &cap, sv->n + 1, sizeof *sv->client))
            return pkc_error_code(PKC_ERR_NOMEM);
        cap = sv->cap;
        if (pkc_array_grow((void **)&sv->clock, &cap, sv->n + 1, sizeof *sv->clock))
            return pkc_error_code(PKC_ERR_NOMEM);
        sv->cap = cap;
        memmove(sv->client + i + 1, sv->client + i, (sv->n - i) * sizeof *sv->client);
        memmove(sv->clock + i + 1, sv->clock + i, (sv->n - i) * sizeof *sv->clock);
        sv->n++;
        sv->client[i] = client;
    }
    sv->clock[i] = clock;
    return 0;
}

uint64_t ysv_get(const ysv *sv, uint64_t client, int *found)
{
    int f;
    size_t i = ysv_pos(sv, client, &f);
    if (found)
        *found = f;
    return f ? sv->clock[i] : 0;
}

int ysv_decode(const uint8_t *p, size_t n, ysv *out)
{
    pkc_reader r;
    uint64_t cnt;
    int rc;
    memset(out, 0, sizeof *out);
    pkc_reader_init(&r, p, n);
    if ((rc = pkc_reader_varuint(&r, &cnt)))
        return rc;
    if (cnt > pkc_reader_left(&r) / 2)
        return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu state vector entries announced",
                         pkc_reader_offset(&r), (unsigned long long)cnt);
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t client, clock;
        if ((rc = pkc_reader_varuint(&r, &client)) || (rc = pkc_reader_varuint(&r, &clock)) ||
            (rc = ysv_set(out, client, clock))) {
            ysv_free(out);
            return rc;
        }
    }
    if ((rc = pkc_reader_finish(&r))) {
        ysv_free(out);
        return rc;
    }
    return 0;
}

int ysv_encode(pkc_buf *b, const ysv *sv)
{
    pkc_buf_push_varuint(b, sv->n);
    for (size_t i = sv->n; i-- > 0;) {
        pkc_buf_push_varuint(b, sv->client[i]);
        pkc_buf_push_varuint(b, sv->clock[i]);
    }
    return b->err;
}

int yc_doc_sv(const pkc_ydoc *doc, ysv *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < doc->ncl; i++) {
        if (doc->cl[i].nb == 0)
            continue;
        int rc = ysv_set(out, doc->cl[i].id, doc->cl[i].state);
        if (rc) {
            ysv_free(out);
            return rc;
        }
    }
    return 0;
}
