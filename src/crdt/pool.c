/* pool.c: the item pool: items in chunks that never move, named by handles. */
#include "crdt/pool.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/content.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "crdt/redone.h"
#include "util/array.h"
#include "util/err.h"

/* ------------------------------------------------------------------------ */
/* Item pool                                                                */

yitem *yc_item_alloc(pkc_ydoc *doc)
{
    yitem *it;
    uint32_t slot;
    if (doc->free_items) {
        it = yc_item(doc, doc->free_items);
        doc->free_items = it->right;
        slot = it->slot;
    } else {
        if (doc->nchunks == 0 || doc->chunk_used == YC_CHUNK) {
            if (doc->nchunks >= UINT32_MAX >> YC_CHUNK_BITS)
                return NULL;
            if (PKC_ARRAY_PUSH32(doc->chunks, doc->nchunks, doc->capchunks, NULL))
                return NULL;
            ychunk *ch = malloc(sizeof *ch);
            if (ch == NULL) {
                doc->nchunks--;
                return NULL;
            }
            ch->doc = doc;
            ch->base = (doc->nchunks - 1) << YC_CHUNK_BITS;
            ch->spare = 0;
            ch->leaf = NULL;
            doc->chunks[doc->nchunks - 1] = ch;
            /* handle 0 means none: chunk 0 does not use slot 0 */
            doc->chunk_used = doc->nchunks == 1 ? 1 : 0;
        }
        slot = doc->chunk_used++;
        it = &doc->chunks[doc->nchunks - 1]->items[slot];
    }
    memset(it, 0, sizeof *it);
    it->slot = (uint8_t)slot;
    yi_set_leaf(it, NULL);
    return it;
}

int yi_leaf_room(yitem *it)
{
    ychunk *ch = yi_chunk(it);
    if (ch->leaf == NULL && (ch->leaf = calloc(YC_CHUNK, sizeof *ch->leaf)) == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    return 0;
}

void yc_item_release(pkc_ydoc *doc, yitem *it)
{
    yc_content_free(doc, it);
    if (it->flags & YF_REDONE)
        yc_redone_clear(doc, it);
    it->kind = YC_FREE;
    it->right = doc->free_items;
    doc->free_items = yi_h(it);
}
