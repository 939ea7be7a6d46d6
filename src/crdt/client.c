/* client.c: the client table (client ids -> indices). */
#include "crdt/client.h"

#include <string.h>

#include "pkc.h"
#include "crdt/doc.h"
#include "util/array.h"
#include "util/hashtab.h"

/* ------------------------------------------------------------------------ */
/* Client table                                                             */

static uint32_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* The table's slots hold index + 1 into doc->cl. */
static uint32_t clslot_hash(const void *slot, const void *ctx)
{
    const pkc_ydoc *doc = ctx;
    uint32_t x;
    memcpy(&x, slot, sizeof x);
    return hash64(doc->cl[x - 1].id);
}

static const pkc_hashtab_layout CLSLOTS = {sizeof(uint32_t), sizeof(uint32_t), 16, clslot_hash};

typedef struct client_query {
    const pkc_ydoc *doc;
    uint64_t id;
} client_query;

static int clslot_match(const void *slot, const void *key)
{
    const client_query *q = key;
    uint32_t x;
    memcpy(&x, slot, sizeof x);
    return q->doc->cl[x - 1].id == q->id;
}

int yc_client_find_slow(const pkc_ydoc *doc, uint64_t id, uint32_t *ix)
{
    client_query q = {doc, id};
    const uint32_t *x = pkc_hashtab_find(&doc->clslots, &CLSLOTS, hash64(id), clslot_match, &q);
    if (x == NULL)
        return 0;
    *ix = *x - 1;
    ((pkc_ydoc *)doc)->clhint = *x; /* a cache, not a change */
    return 1;
}

int yc_client_get(pkc_ydoc *doc, uint64_t id, uint32_t *ix)
{
    if (yc_client_find(doc, id, ix))
        return 0;
    if (pkc_hashtab_reserve(&doc->clslots, &CLSLOTS, doc))
        return PKC_ERR_NOMEM;
    if (doc->ncl == doc->capcl &&
        pkc_array_grow32((void **)&doc->cl, &doc->capcl, doc->ncl + 1, sizeof *doc->cl))
        return PKC_ERR_NOMEM;
    uint32_t *x = pkc_hashtab_add(&doc->clslots, &CLSLOTS, hash64(id), doc); /* (reserved) */
    yclient *c = &doc->cl[doc->ncl];
    memset(c, 0, sizeof *c);
    c->doc = doc;
    c->id = id;
    *x = ++doc->ncl;
    *ix = doc->ncl - 1;
    return 0;
}
