/*
 * relpos.c: relative positions (Yjs RelativePosition.js) and snapshots
 * (Snapshot.js).
 *
 * Relative position encoding (Y.encodeRelativePosition):
 *   varuint 0 || varuint client || varuint clock    an item
 *   u8 1      || varstring name                     the end of a root type
 *   u8 2      || varuint client || varuint clock    the end of a nested type
 *   then varint assoc (absent: 0)
 *
 * Snapshot encoding (Y.encodeSnapshot): delete set (v1) || state vector.
 */
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/doc.h"
#include "crdt/ds.h"
#include "crdt/item.h"
#include "crdt/pool.h"
#include "crdt/redone.h"
#include "crdt/seqtree.h"
#include "crdt/split.h"
#include "crdt/sv.h"
#include "crdt/txn.h"
#include "crdt/update.h"
#include "util/buf.h"
#include "util/err.h"

#define B(t) ((ybranch *)(t))

int pkc_yrelpos_from_index(const pkc_ytype *t, size_t index, int assoc, uint8_t **out,
                                   size_t *out_len)
{
    const ybranch *b = B(t);
    pkc_buf o = PKC_BUF_INIT;
    const pkc_ydoc *doc = b->doc;
    const yitem *at = NULL;
    uint32_t at_clock = 0;
    int found = 0;
    if (!(assoc < 0 && index == 0)) {
        if (assoc < 0)
            index--;
        for (const yitem *n = b->start; n; n = yi_right(doc, n)) {
            if (!yi_deleted(n) && yi_countable(n)) {
                if (n->len > index) {
                    at = n;
                    at_clock = n->id.clock + (uint32_t)index;
                    found = 1;
                    break;
                }
                index -= n->len;
            }
            if (n->right == 0 && assoc < 0) {
                at = n;
                at_clock = n->id.clock + n->len - 1;
                found = 1;
                break;
            }
        }
    }
    if (found) {
        pkc_buf_push_varuint(&o, 0);
        pkc_buf_push_varuint(&o, doc->cl[at->id.client].id);
        pkc_buf_push_varuint(&o, at_clock);
    } else if (b->dead) {
        /* (a deleted type may have lost its item to garbage collection) */
        pkc_buf_free(&o);
        return pkc_error(PKC_ERR_YTYPE_DELETED, "the type was deleted");
    } else if (b->item == NULL) {
        pkc_buf_push_u8(&o, 1);
        pkc_buf_push_varstring(&o, b->root->s, b->root->len);
    } else {
        pkc_buf_push_u8(&o, 2);
        pkc_buf_push_varuint(&o, doc->cl[b->item->id.client].id);
        pkc_buf_push_varuint(&o, b->item->id.clock);
    }
    pkc_buf_push_varint(&o, assoc);
    if (o.err) {
        int rc = o.err;
        pkc_buf_free(&o);
        return rc;
    }
    *out = pkc_buf_steal(&o, out_len);
    return 0;
}

/* Yjs followRedone, without splitting */
static const yitem *follow(const pkc_ydoc *doc, uint32_t cix, uint32_t clock, uint32_t *diff)
{
    const yitem *it;
    for (;;) {
        it = yc_find(doc, cix, clock);
        *diff = clock - it->id.clock;
        yid r;
        if (it->kind == YC_GC || !yc_redone_get(doc, it, &r))
            return it;
        cix = r.client;
        clock = r.clock + *diff;
    }
}

int pkc_yrelpos_to_index(pkc_ydoc *doc, const uint8_t *relpos, size_t len, pkc_ytype **type,
                                 size_t *index)
{
    pkc_reader r;
    uint64_t kind, client = 0, clock = 0;
    const char *name = NULL;
    size_t name_len = 0;
    int64_t assoc = 0;
    int rc;
    pkc_reader_init(&r, relpos, len);
    if ((rc = pkc_reader_varuint(&r, &kind)))
        return rc;
    if (kind == 0 || kind == 2) {
        if ((rc = pkc_reader_varuint(&r, &client)) || (rc = pkc_reader_varuint(&r, &clock)))
            return rc;
    } else if (kind == 1) {
        if ((rc = pkc_reader_varstring(&r, &name, &name_len)))
            return rc;
    } else {
        return pkc_error(PKC_ERR_MALFORMED, "offset 0: unknown relative position kind %llu",
                         (unsigned long long)kind);
    }
    if (pkc_reader_left(&r) && (rc = pkc_reader_varint(&r, &assoc, NULL)))
        return rc;
    if ((rc = pkc_reader_finish(&r)))
        return rc;
    ybranch *t = NULL;
    uint64_t idx = 0;
    if (kind == 0 || kind == 2) {
        uint32_t cix;
        if (!yc_client_find(doc, client, &cix) || doc->cl[cix].state <= clock)
            return pkc_error(PKC_ERR_NOT_FOUND, "the position's item is not in the document");
        uint32_t diff;
        const yitem *it = follow(doc, cix, (uint32_t)clock, &diff);
        if (kind == 0) {
            if (it->kind == YC_GC || yi_parent(doc, it) == NULL)
                return pkc_error(PKC_ERR_NOT_FOUND, "the position's item was collected");
            t = yi_parent(doc, it);
            if (t->item == NULL || !yi_deleted(t->item)) {
                idx = (yi_deleted(it) || !yi_countable(it)) ? 0 : diff + (assoc >= 0 ? 0 : 1);
                idx += yst_index(it);
            }
        } else {
            if (it->kind != YC_TYPE)
                return pkc_error(PKC_ERR_NOT_FOUND, "the position's type was collected");
            t = yi_type(doc, it);
            idx = assoc >= 0 ? t->length : 0;
        }
    } else {
        char *z = malloc(name_len + 1);
        if (z == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        memcpy(z, name, name_len);
        z[name_len] = '\0';
        rc = yc_root_get(doc, z, name_len, &t);
        free(z);
        if (rc)
            return rc;
        idx = assoc >= 0 ? t->length : 0;
    }
    *type = (pkc_ytype *)t;
    *index = (size_t)idx;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                */

int pkc_ydoc_encode_snapshot(const pkc_ydoc *doc, uint8_t **out, size_t *out_len)
{
    yds ds;
    ysv sv;
    int rc = yc_ds_from_store(doc, &ds);
    if (rc)
        return rc;
    if ((rc = yc_doc_sv(doc, &sv))) {
        yds_free(&ds);
        return rc;
    }
    pkc_buf b = PKC_BUF_INIT;
    yds_write(&b, &ds);
    ysv_encode(&b, &sv);
    yds_free(&ds);
    ysv_free(&sv);
    if (b.err) {
        rc = b.err;
        pkc_buf_free(&b);
        return rc;
    }
    *out = pkc_buf_steal(&b, out_len);
    return 0;
}

int pkc_ydoc_from_snapshot(pkc_ydoc *doc, const uint8_t *snap, size_t len, pkc_ydoc **out)
{
    if (doc->gc)
        return pkc_error(PKC_ERR_STATE, "the document collects deleted content (gc): its past is gone");
    /* the snapshot: a delete set, then a state vector in its written order */
    pkc_reader r;
    pkc_reader_init(&r, snap, len);
    uint64_t nclients, n;
    int rc;
    if ((rc = pkc_reader_varuint(&r, &nclients)))
        return rc;
    const uint8_t *ds_start = snap;
    for (uint64_t i = 0; i < nclients; i++) {
        uint64_t client, v;
        if ((rc = pkc_reader_varuint(&r, &client)) || (rc = pkc_reader_varuint(&r, &n)))
            return rc;
        if (n > pkc_reader_left(&r))
            return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu deletes announced",
                             pkc_reader_offset(&r), (unsigned long long)n);
        for (uint64_t k = 0; k < 2 * n; k++)
            if ((rc = pkc_reader_varuint(&r, &v)))
                return rc;
    }
    size_t ds_len = pkc_reader_offset(&r);
    uint64_t nsv;
    if ((rc = pkc_reader_varuint(&r, &nsv)))
        return rc;
    if (nsv > pkc_reader_left(&r) / 2)
        return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu state vector entries announced",
                         pkc_reader_offset(&r), (unsigned long long)nsv);
    uint64_t(*sv)[2] = malloc((nsv ? nsv : 1) * sizeof *sv);
    if (sv == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    for (uint64_t i = 0; i < nsv && rc == 0; i++)
        if ((rc = pkc_reader_varuint(&r, &sv[i][0])) == 0)
            rc = pkc_reader_varuint(&r, &sv[i][1]);
    if (rc == 0)
        rc = pkc_reader_finish(&r);
    for (uint64_t i = 0; i < nsv && rc == 0; i++) {
        uint32_t cix;
        if (sv[i][1] > 0 && (!yc_client_find(doc, sv[i][0], &cix) || doc->cl[cix].state < sv[i][1]))
            rc = pkc_error(PKC_ERR_RANGE, "the snapshot is ahead of the document (client %llu)",
                           (unsigned long long)sv[i][0]);
    }
    if (rc) {
        free(sv);
        return rc;
    }
    /* Y.createDocFromSnapshot: the structs below the snapshot's state, the
     * snapshot's deletes, applied to a new document */
    pkc_ytxn *txn;
    if ((rc = yc_txn_begin(doc, NULL, 1, &txn))) {
        free(sv);
        return rc;
    }
    pkc_buf u = PKC_BUF_INIT;
    size_t size = 0;
    for (uint64_t i = 0; i < nsv; i++)
        size += sv[i][1] > 0;
    pkc_buf_push_varuint(&u, size);
    for (uint64_t i = 0; i < nsv && rc == 0; i++) {
        if (sv[i][1] == 0)
            continue;
        uint32_t cix;
        yc_client_find(doc, sv[i][0], &cix);
        uint32_t clock = (uint32_t)sv[i][1];
        if (clock < doc->cl[cix].state && yc_clean_start(txn, cix, clock) == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            break;
        }
        const yclient *c = &doc->cl[cix];
        ypos last = ycl_find(c, clock - 1);
        size_t cnt = 0;
        for (uint32_t bi = 0; bi < last.b; bi++)
            cnt += c->b[bi].n;
        cnt += last.i + 1;
        pkc_buf_push_varuint(&u, cnt);
        pkc_buf_push_varuint(&u, c->id);
        pkc_buf_push_varuint(&u, 0);
        ypos p = {0, 0};
        for (size_t k = 0; k < cnt && rc == 0; k++) {
            rc = yc_write_item(&u, doc, ycl_at(c, p), 0);
            ycl_next(c, &p);
        }
    }
    pkc_buf_push(&u, ds_start, ds_len);
    int rc2 = yc_txn_commit(txn);
    free(sv);
    if (rc == 0)
        rc = rc2 ? rc2 : u.err;
    pkc_ydoc *nd = NULL;
    if (rc == 0) {
        pkc_ydoc_config cfg;
        pkc_ydoc_config_default(&cfg);
        cfg.gc = 1;
        if ((rc = pkc_ydoc_new(&cfg, &doc->rng, &nd)) == 0 && (rc = yc_apply_update(nd, u.data, u.len, 0, NULL))) {
            pkc_ydoc_free(nd);
            nd = NULL;
        }
    }
    pkc_buf_free(&u);
    if (rc)
        return rc;
    *out = nd;
    return 0;
}
