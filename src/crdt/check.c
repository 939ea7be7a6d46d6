/*
 * check.c: the document's internal invariants, for tests and fuzzers.
 * Walks everything: O(document).
 */
#include "crdt/check.h"

#include <stdarg.h>
#include <stdio.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/content.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/pool.h"
#include "crdt/seqtree.h"

static const char *fail(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return buf;
}

const char *yc_doc_check(const pkc_ydoc *doc, char *buf, size_t n)
{
    /* the store: per client, blocks of structs with consecutive clocks */
    for (uint32_t ci = 0; ci < doc->ncl; ci++) {
        const yclient *c = &doc->cl[ci];
        uint32_t expect = 0;
        if (c->doc != doc)
            return fail(buf, n, "client %llu: not of this document", (unsigned long long)c->id);
        for (uint32_t bi = 0; bi < c->nb; bi++) {
            if (c->b[bi].n == 0 && c->nb > 1)
                return fail(buf, n, "client %llu: empty block", (unsigned long long)c->id);
            if (c->b[bi].n > YB_CAP)
                return fail(buf, n, "client %llu: block %u overfull", (unsigned long long)c->id, bi);
            if (c->b[bi].n && c->first[bi] != ycl_at(c, (ypos){bi, 0})->id.clock)
                return fail(buf, n, "client %llu: first clock of block %u", (unsigned long long)c->id,
                            bi);
            for (uint32_t k = 0; k < c->b[bi].n; k++) {
                uint32_t h = yb_h(&c->b[bi], k);
                if (h == 0 || (h >> YC_CHUNK_BITS) >= doc->nchunks)
                    return fail(buf, n, "client %llu: block %u: bad handle", (unsigned long long)c->id,
                                bi);
                const yitem *it = yc_item(doc, h);
                const yblock *bl = &c->b[bi];
                if (yi_h(it) != h || it->kind == YC_FREE ||
                    (bl->off && (bl->base > it->id.clock || bl->base + bl->off[k] != it->id.clock)))
                    return fail(buf, n, "client %llu: block %u: freed or misplaced item",
                                (unsigned long long)c->id, bi);
                if (it->id.clock != expect || it->id.client != ci || it->len == 0)
                    return fail(buf, n, "client %llu at clock %u: struct %u+%u",
                                (unsigned long long)c->id, expect, it->id.clock, it->len);
                if (it->kind == YC_GC && (it->owner || it->left || it->right))
                    return fail(buf, n, "GC %llu:%u is linked", (unsigned long long)c->id,
                                it->id.clock);
                if (it->kind != YC_GC && yi_parent(doc, it) == NULL)
                    return fail(buf, n, "item %llu:%u has no parent", (unsigned long long)c->id,
                                it->id.clock);
                expect = it->id.clock + it->len;
            }
        }
        if (c->nb && expect != c->state)
            return fail(buf, n, "client %llu: state %u, structs end at %u",
                        (unsigned long long)c->id, c->state, expect);
        /* the arena: what items use is within it and adds up to alive */
        uint64_t used = 0;
        for (uint32_t bi = 0; bi < c->nb; bi++) {
            for (uint32_t k = 0; k < c->b[bi].n; k++) {
                const yitem *it = ycl_at(c, (ypos){bi, k});
                if (it->kind != YC_STRING && it->kind != YC_ANY && it->kind != YC_JSON &&
                    it->kind != YC_BINARY && it->kind != YC_EMBED && it->kind != YC_DOC)
                    continue;
                uint32_t cn = yi_cn(doc, it);
                if ((uint64_t)it->content + cn > c->alen || (it->cn == YC_CN_BIG) != (cn >= YC_CN_BIG))
                    return fail(buf, n, "client %llu: content of %u (%u+%u) outside its arena (%u)",
                                (unsigned long long)c->id, it->id.clock, it->content, cn, c->alen);
                used += cn;
            }
        }
        if (used != c->alive || c->alen > c->acap)
            return fail(buf, n, "client %llu: arena counts %u bytes in use, items use %llu",
                        (unsigned long long)c->id, c->alive, (unsigned long long)used);
    }
    /* every live type: its list and map chains hold its own items, linked
     * both ways; its length is its list's; its position tree agrees */
    for (const ybranch *b = doc->all; b; b = b->next_all) {
        if (b->dead)
            continue;
        const char *name = b->root ? b->root->s : "(nested)";
        uint64_t w = 0;
        const yitem *prev = NULL;
        for (const yitem *it = b->start; it; prev = it, it = yi_right(doc, it)) {
            if (it->owner != b->owner || it->left != yi_h(prev) || it->kind == YC_GC)
                return fail(buf, n, "type %s: foreign or mislinked list item %llu:%u", name,
                            (unsigned long long)doc->cl[it->id.client].id, it->id.clock);
            w += yi_weight(it);
        }
        if (w != b->length)
            return fail(buf, n, "type %s: length %llu, list holds %llu", name,
                        (unsigned long long)b->length, (unsigned long long)w);
        for (uint32_t k = 0; k < b->map.n; k++) {
            const ykey *key = b->map.e[k];
            const yitem *it = key->val;
            if (it && it->right)
                return fail(buf, n, "type %s: key %s is not its chain's last item", name, key->s);
            const yitem *start = NULL;
            for (const yitem *next = NULL; it; next = it, it = yi_left(doc, it)) {
                if (yi_parent(doc, it) != b || yi_psub(doc, it) != key || it->right != yi_h(next))
                    return fail(buf, n, "type %s: key %s: foreign or mislinked item %llu:%u", name,
                                key->s, (unsigned long long)doc->cl[it->id.client].id,
                                it->id.clock);
                start = it;
            }
            if (start != key->first)
                return fail(buf, n, "type %s: key %s: wrong first item", name, key->s);
        }
        int r = yst_check(b);
        if (r)
            return fail(buf, n, "type %s: position tree (%d)", name, r);
    }
    return NULL;
}
