/* branch.c: branches (shared types), their map keys and owner entries, roots. */
#include "crdt/branch.h"

#include <stdlib.h>

#include "pkc.h"
#include "crdt/doc.h"
#include "crdt/keymap.h"
#include "util/array.h"
#include "util/err.h"

/* ------------------------------------------------------------------------ */
/* Branches                                                                 */

static uint32_t owner_new(pkc_ydoc *doc, ybranch *b, ykey *k)
{
    uint32_t o;
    if (doc->nfree_owners) {
        o = doc->free_owners[--doc->nfree_owners];
    } else {
        yowner e = {NULL, NULL};
        if (PKC_ARRAY_PUSH32(doc->owners, doc->nowners, doc->capowners, e))
            return 0;
        o = doc->nowners - 1;
    }
    doc->owners[o].b = b;
    doc->owners[o].k = k;
    return o;
}

ykey *yc_key_get(ybranch *b, const char *s, size_t n)
{
    ykey *k = ymap_get_or_add(&b->map, s, n);
    if (k && k->owner == 0 && (k->owner = owner_new(b->doc, b, k)) == 0)
        return NULL; /* the key stays, without items, and gets an owner next time */
    return k;
}

void yc_keys_free(ybranch *b)
{
    pkc_ydoc *doc = b->doc;
    for (uint32_t i = 0; i < b->map.n; i++) {
        uint32_t o = b->map.e[i]->owner;
        if (o == 0)
            continue;
        doc->owners[o].b = NULL;
        doc->owners[o].k = NULL;
        /* out of memory: the entry is not reused, which is harmless */
        (void)PKC_ARRAY_PUSH32(doc->free_owners, doc->nfree_owners, doc->capfree_owners, o);
    }
    ymap_free(&b->map);
}

ybranch *yc_branch_new(pkc_ydoc *doc, uint8_t tref)
{
    ybranch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    if ((b->owner = owner_new(doc, b, NULL)) == 0) {
        free(b);
        return NULL;
    }
    b->doc = doc;
    b->tref = tref;
    b->next_all = doc->all;
    doc->all = b;
    return b;
}

int yc_root_get(pkc_ydoc *doc, const char *name, size_t len, ybranch **out)
{
    ykey *k = ymap_get_or_add(&doc->roots, name, len);
    if (k == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    if (k->val == NULL) {
        ybranch *b = yc_branch_new(doc, PKC_YUNDEFINED);
        if (b == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        b->root = k;
        k->val = b;
    }
    *out = k->val;
    return 0;
}
