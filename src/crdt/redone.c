/* redone.c: redone links (the UndoManager's item.redone). */
#include "crdt/redone.h"

#include <string.h>

#include "pkc.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "util/array.h"
#include "util/err.h"

/* ------------------------------------------------------------------------ */
/* Redone links                                                             */

static size_t redone_find(const pkc_ydoc *doc, yid id, int *found)
{
    size_t lo = 0, hi = doc->nredone;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        const yid *x = &doc->redone[m].id;
        if (x->client < id.client || (x->client == id.client && x->clock < id.clock))
            lo = m + 1;
        else
            hi = m;
    }
    *found = lo < doc->nredone && yid_eq(doc->redone[lo].id, id);
    return lo;
}

int yc_redone_set(pkc_ydoc *doc, yitem *it, yid to)
{
    int found;
    size_t i = redone_find(doc, it->id, &found);
    if (!found) {
        if (pkc_array_grow((void **)&doc->redone, &doc->capredone, doc->nredone + 1,
                           sizeof *doc->redone))
            return pkc_error_code(PKC_ERR_NOMEM);
        memmove(doc->redone + i + 1, doc->redone + i, (doc->nredone - i) * sizeof *doc->redone);
        doc->nredone++;
        doc->redone[i].id = it->id;
    }
    doc->redone[i].to = to;
    it->flags |= YF_REDONE;
    return 0;
}

int yc_redone_get(const pkc_ydoc *doc, const yitem *it, yid *to)
{
    if (!(it->flags & YF_REDONE))
        return 0;
    int found;
    size_t i = redone_find(doc, it->id, &found);
    if (found)
        *to = doc->redone[i].to;
    return found;
}

void yc_redone_clear(pkc_ydoc *doc, const yitem *it)
{
    int found;
    size_t i = redone_find(doc, it->id, &found);
    if (found) {
        memmove(doc->redone + i, doc->redone + i + 1, (doc->nredone - i - 1) * sizeof *doc->redone);
        doc->nredone--;
    }
}
