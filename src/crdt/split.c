/* split.c: splitting and merging items. */
#include "crdt/split.h"

#include <string.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/content.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/offsets.h"
#include "crdt/pool.h"
#include "crdt/redone.h"
#include "crdt/seqtree.h"
#include "crdt/txn.h"
#include "crdt/utf16.h"
#include "util/err.h"

/* ------------------------------------------------------------------------ */
/* Splitting                                                                */

/* Gives units [diff, len) of left's content to right: both keep pointing
 * into the arena, except that a split surrogate pair makes both halves
 * U+FFFD (yjs#248; lengths in UTF-16 units stay the same), which gives
 * right a copy. Fails (NOMEM, TOO_LARGE) before changing anything. */
static int split_content(pkc_ydoc *doc, yitem *left, yitem *right, uint32_t diff)
{
    uint32_t cix = left->id.client;
    uint32_t cn = yi_cn(doc, left);
    const uint8_t *p = yi_bytes(doc, left);
    size_t off;
    int rc;
    switch (left->kind) {
    case YC_DELETED:
        return 0;
    case YC_STRING: {
        int mid = 0;
        off = (left->flags & YF_ASCII) ? diff : yc_utf16_offset(p, cn, diff, &mid);
        if (mid) {
            uint32_t rest = cn - (uint32_t)off - 4, roff;
            if ((rc = yc_set_cn(doc, right, rest + 3)))
                return rc;
            if ((rc = yc_arena_reserve(doc, cix, rest + 3, &roff))) {
                yc_set_cn(doc, right, 0);
                return rc;
            }
            uint8_t *a = doc->cl[cix].arena;
            memcpy(a + roff, YC_U_FFFD, 3);
            memcpy(a + roff + 3, a + left->content + off + 4, rest);
            right->content = roff;
            /* left: U+FFFD over the first three bytes of the pair */
            memcpy(a + left->content + off, YC_U_FFFD, 3);
            yc_set_cn(doc, left, (uint32_t)off + 3);
            yc_arena_drop(doc, cix, rest + 1);
        } else {
            if ((rc = yc_set_cn(doc, right, cn - (uint32_t)off)))
                return rc;
            right->content = left->content + (uint32_t)off;
            yc_set_cn(doc, left, (uint32_t)off);
        }
        if (!(left->flags & YF_ASCII)) {
            int a;
            yc_utf16_len(yi_bytes(doc, right), yi_cn(doc, right), &a);
            if (a)
                right->flags |= YF_ASCII;
            yc_utf16_len(yi_bytes(doc, left), yi_cn(doc, left), &a);
            if (a)
                left->flags |= YF_ASCII;
        } else {
            right->flags |= YF_ASCII;
        }
        return 0;
    }
    case YC_ANY:
    case YC_JSON:
        off = yc_elem_offset(doc, left, diff);
        if ((rc = yc_set_cn(doc, right, cn - (uint32_t)off)))
            return rc;
        right->content = left->content + (uint32_t)off;
        yc_set_cn(doc, left, (uint32_t)off);
        if (left->owner)
            yc_offs_split(doc, left, diff);
        return 0;
    default:
        return pkc_error(PKC_ERR_INTERNAL, "content kind %u cannot be split", left->kind);
    }
}

yitem *yc_split(pkc_ytxn *txn, yitem *left, uint32_t diff)
{
    pkc_ydoc *doc = txn->doc;
    yclient *c = &doc->cl[left->id.client];
    ypos pos = ycl_find(c, left->id.clock);
    yitem *right = yc_item_alloc(doc);
    if (right == NULL)
        goto nomem;
    right->id.client = left->id.client;
    right->id.clock = left->id.clock + diff;
    right->len = left->len - diff;
    right->kind = left->kind;
    right->flags = YF_ORIGIN | (left->flags & (YF_RORIGIN | YF_DELETED | YF_KEEP));
    if (yc_kind_countable(left->kind))
        right->flags |= YF_COUNTABLE;
    right->origin.client = left->id.client;
    right->origin.clock = left->id.clock + diff - 1;
    right->rorigin = left->rorigin;
    right->left = yi_h(left);
    right->right = left->right;
    right->owner = left->owner;
    if (ycl_insert_after(c, pos, right)) {
        yc_item_release(doc, right);
        goto nomem;
    }
    if (split_content(doc, left, right, diff)) {
        /* the store gives the struct back; nothing else changed */
        ycl_remove(c, ycl_find(c, right->id.clock));
        yc_item_release(doc, right);
        return NULL;
    }
    if (left->flags & YF_REDONE) {
        yid to;
        if (yc_redone_get(doc, left, &to)) {
            to.clock += diff;
            yc_redone_set(doc, right, to);
        }
    }
    uint32_t rh = yi_h(right);
    yitem *rr = yi_right(doc, right);
    left->len = diff;
    left->right = rh;
    if (rr)
        rr->left = rh;
    if (yc_txn_add_merge(txn, right->id))
        goto nomem;
    ykey *key = yi_psub(doc, right);
    if (key && right->right == 0)
        key->val = right;
    if (yi_leaf(left) && yst_split(yi_parent(doc, left), left, right))
        goto nomem;
    return right;
nomem:
    pkc_error_code(PKC_ERR_NOMEM);
    return NULL;
}

yitem *yc_clean_start(pkc_ytxn *txn, uint32_t cix, uint32_t clock)
{
    yitem *it = yc_find(txn->doc, cix, clock);
    if (it->id.clock < clock && it->kind != YC_GC)
        return yc_split(txn, it, clock - it->id.clock);
    return it;
}

yitem *yc_clean_end(pkc_ytxn *txn, uint32_t cix, uint32_t clock)
{
    yitem *it = yc_find(txn->doc, cix, clock);
    if (clock != it->id.clock + it->len - 1 && it->kind != YC_GC) {
        if (yc_split(txn, it, clock - it->id.clock + 1) == NULL)
            return NULL;
    }
    return it;
}

/* ------------------------------------------------------------------------ */
/* Merging                                                                  */

int yc_mergeable(const pkc_ydoc *doc, const yitem *left, const yitem *right)
{
    if (left->kind == YC_GC || right->kind == YC_GC)
        return left->kind == YC_GC && right->kind == YC_GC;
    if (left->kind != right->kind || yi_right(doc, left) != right)
        return 0;
    if (!(right->flags & YF_ORIGIN) || right->origin.client != left->id.client ||
        right->origin.clock != left->id.clock + left->len - 1)
        return 0;
    if ((left->flags & YF_RORIGIN) != (right->flags & YF_RORIGIN) ||
        ((left->flags & YF_RORIGIN) && !yid_eq(left->rorigin, right->rorigin)))
        return 0;
    if (left->id.client != right->id.client || left->id.clock + left->len != right->id.clock)
        return 0;
    if (yi_deleted(left) != yi_deleted(right))
        return 0;
    if ((left->flags & YF_REDONE) || (right->flags & YF_REDONE))
        return 0;
    switch (left->kind) {
    case YC_STRING:
    case YC_ANY:
    case YC_JSON:
    case YC_DELETED:
        return 1;
    default:
        return 0;
    }
}

int yc_merge_items(pkc_ydoc *doc, yitem *left, yitem *right)
{
    if (left->kind == YC_GC) {
        left->len += right->len;
        return 1;
    }
    switch (left->kind) {
    case YC_STRING:
    case YC_ANY:
    case YC_JSON: {
        /* out of memory: keep them apart, which is still correct */
        uint32_t lcn = yi_cn(doc, left), rcn = yi_cn(doc, right);
        if ((uint64_t)lcn + rcn > UINT32_MAX || yc_set_cn(doc, left, lcn + rcn))
            return 0;
        if (left->content + lcn != right->content) {
            /* not adjacent in the arena (one was moved): copy both to its end */
            uint32_t cix = left->id.client, off;
            if (yc_arena_reserve(doc, cix, (size_t)lcn + rcn, &off)) {
                yc_set_cn(doc, left, lcn);
                return 0;
            }
            uint8_t *a = doc->cl[cix].arena;
            memcpy(a + off, a + left->content, lcn);
            memcpy(a + off + lcn, a + right->content, rcn);
            left->content = off;
            yc_arena_drop(doc, cix, lcn + rcn);
        }
        yc_set_cn(doc, right, 0); /* its bytes are left's now */
        right->content = 0;
        if (left->kind == YC_STRING && !(right->flags & YF_ASCII))
            left->flags &= (uint8_t)~YF_ASCII;
        if (left->kind != YC_STRING && doc->offs.n)
            yc_offs_merged(doc, left, right, lcn);
        break;
    }
    case YC_DELETED:
        break;
    default:
        return 0;
    }
    if (right->flags & YF_KEEP)
        left->flags |= YF_KEEP;
    if (yi_leaf(right))
        yst_merge(yi_parent(doc, left), left, right);
    left->right = right->right;
    if (left->right)
        yi_right(doc, left)->left = yi_h(left);
    left->len += right->len;
    return 1;
}
