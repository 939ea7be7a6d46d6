/*
 * doc.c: documents, transactions and updates in the public API.
 */
#include "crdt/doc.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/blocks.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/content.h"
#include "crdt/decode.h"
#include "crdt/integrate.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/merge.h"
#include "crdt/offsets.h"
#include "crdt/pool.h"
#include "crdt/seqtree.h"
#include "crdt/sv.h"
#include "crdt/txn.h"
#include "crdt/update.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hashtab.h"
#include "util/rng.h"
#include "util/versioned.h"

void pkc_ydoc_config_default_versioned(int config_version, pkc_ydoc_config *out)
{
    pkc_ydoc_config c = {.gc = 1};
    pkc_struct_write(out, &c, config_version, PKC_STRUCT_V1(pkc_ydoc_config));
}

int pkc_ydoc_new_versioned(int config_version, const pkc_ydoc_config *config,
                                   const pkc_rng *rng, pkc_ydoc **out)
{
    if (rng == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "pkc_ydoc_new: rng is NULL (pkc_rng_system() is the real one)");
    pkc_ydoc_config c, *cfg = &c;
    pkc_ydoc_config_default(&c);
    int rc = pkc_struct_read(&c, config, config_version, PKC_STRUCT_V1(pkc_ydoc_config));
    if (rc)
        return rc;
    if (cfg->client_id > YC_MAX_CLIENT)
        return pkc_error(PKC_ERR_INVALID_ARG, "client id above 2^53");
    pkc_ydoc *doc = calloc(1, sizeof *doc);
    if (doc == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    /* owner entry 0: none (the owner of GC structs) */
    if ((doc->owners = calloc(8, sizeof *doc->owners)) == NULL) {
        free(doc);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    doc->nowners = 1;
    doc->capowners = 8;
    doc->rng = *rng;
    doc->gc = cfg->gc;
    if (cfg->client_id) {
        doc->client_id = cfg->client_id;
    } else {
        uint32_t id;
        pkc_rng_fill(&doc->rng, &id, sizeof id);
        doc->client_id = id;
    }
    *out = doc;
    return 0;
}

void yc_txn_free(pkc_ytxn *t);

void pkc_ydoc_free(pkc_ydoc *doc)
{
    if (doc == NULL)
        return;
    if (doc->txn)
        yc_txn_free(doc->txn);
    if (doc->spare_txn)
        yc_txn_free(doc->spare_txn);
    pkc_buf_free(&doc->ubuf);
    for (uint32_t i = 0; i < doc->ncl; i++) {
        yclient *c = &doc->cl[i];
        for (uint32_t b = 0; b < c->nb; b++) {
            free(c->b[b].h);
            free(c->b[b].off);
        }
        free(c->b);
        free(c->first);
        free(c->arena);
    }
    for (uint32_t i = 1; i < doc->nfmts; i++) {
        yfmt *f = doc->fmts[i];
        if (f) {
            ysval_release(f->val);
            free(f->key);
            free(f);
        }
    }
    free(doc->fmts);
    free(doc->free_fmts);
    pkc_hashtab_free(&doc->bigcn);
    free(doc->compact);
    free(doc->cl);
    pkc_hashtab_free(&doc->clslots);
    for (ybranch *b = doc->all; b;) {
        ybranch *next = b->next_all;
        yst_free(b);
        ymap_free(&b->map);
        free(b->obs);
        free(b->dobs);
        free(b->name);
        free(b);
        b = next;
    }
    ymap_free(&doc->roots);
    free(doc->owners);
    free(doc->free_owners);
    for (uint32_t i = 0; i < doc->nchunks; i++) {
        free(doc->chunks[i]->leaf);
        free(doc->chunks[i]);
    }
    free(doc->chunks);
    free(doc->pending);
    free(doc->pending_ds);
    free(doc->missing);
    free(doc->redone);
    free(doc->uobs);
    free(doc->aobs);
    yc_scratch_free(doc);
    yc_offs_free(doc);
    free(doc);
}

uint64_t pkc_ydoc_get_client_id(const pkc_ydoc *doc)
{
    return doc->client_id;
}

int pkc_ydoc_get(pkc_ydoc *doc, const char *name, pkc_ytype_kind kind, pkc_ytype **out)
{
    ybranch *b;
    size_t n = strlen(name);
    int rc = yc_root_get(doc, name, n, &b);
    if (rc)
        return rc;
    if (kind != PKC_YUNDEFINED) {
        if ((unsigned)kind > PKC_YXML_TEXT)
            return pkc_error(PKC_ERR_INVALID_ARG, "unknown type kind %d", (int)kind);
        if (b->tref == PKC_YUNDEFINED) {
            b->tref = (uint8_t)kind;
            if (kind == PKC_YXML_ELEMENT && b->name == NULL) {
                if ((b->name = malloc(10)) == NULL)
                    return pkc_error_code(PKC_ERR_NOMEM);
                memcpy(b->name, "UNDEFINED", 10);
                b->name_len = 9;
            }
        } else if (b->tref != kind) {
            return pkc_error(PKC_ERR_YTYPE_KIND, "root \"%s\" is already of another kind", name);
        }
    }
    *out = (pkc_ytype *)b;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                             */

int pkc_ydoc_transact(pkc_ydoc *doc, const void *origin, pkc_ytxn **out)
{
    return yc_txn_begin(doc, origin, 1, out);
}

int pkc_ytxn_commit(pkc_ytxn *txn)
{
    return yc_txn_commit(txn);
}

const void *pkc_ytxn_get_origin(const pkc_ytxn *txn)
{
    return txn->origin;
}

int pkc_ytxn_is_local(const pkc_ytxn *txn)
{
    return txn->local;
}

/* ------------------------------------------------------------------------ */
/* Updates                                                                  */

static int steal(pkc_buf *b, uint8_t **out, size_t *out_len)
{
    if (b->err) {
        int rc = b->err;
        pkc_buf_free(b);
        return rc;
    }
    if (b->len == 0) {
        /* keep "empty" distinguishable from failure: one allocated byte */
        pkc_buf_free(b);
        *out = malloc(1);
        if (*out == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        *out_len = 0;
        return 0;
    }
    *out = pkc_buf_steal(b, out_len);
    return 0;
}

int pkc_ydoc_apply_update(pkc_ydoc *doc, const uint8_t *update, size_t len,
                                  const void *origin)
{
    return yc_apply_update(doc, update, len, 0, origin);
}

int pkc_ydoc_apply_update_v2(pkc_ydoc *doc, const uint8_t *update, size_t len,
                                     const void *origin)
{
    return yc_apply_update(doc, update, len, 1, origin);
}

int pkc_ydoc_encode_state(pkc_ydoc *doc, const uint8_t *sv, size_t sv_len, uint8_t **out,
                                  size_t *out_len)
{
    ysv target;
    int rc;
    memset(&target, 0, sizeof target);
    if (sv && (rc = ysv_decode(sv, sv_len, &target)))
        return rc;
    pkc_buf b = PKC_BUF_INIT;
    rc = yc_encode_state(doc, sv ? &target : NULL, &b);
    ysv_free(&target);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    return steal(&b, out, out_len);
}

int pkc_ydoc_encode_state_vector(const pkc_ydoc *doc, uint8_t **out, size_t *out_len)
{
    ysv sv;
    int rc = yc_doc_sv(doc, &sv);
    if (rc)
        return rc;
    pkc_buf b = PKC_BUF_INIT;
    ysv_encode(&b, &sv);
    ysv_free(&sv);
    return steal(&b, out, out_len);
}

int pkc_ydoc_has_pending(const pkc_ydoc *doc)
{
    return doc->pending != NULL || doc->pending_ds != NULL;
}

int pkc_ydoc_observe_update(pkc_ydoc *doc, pkc_yupdate_fn fn, void *user_data,
                                    uint32_t *id)
{
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "update observer function is NULL");
    yupdate_obs o = {fn, user_data, ++doc->next_obs_id};
    if (PKC_ARRAY_PUSH32(doc->uobs, doc->nuobs, doc->capuobs, o))
        return pkc_error_code(PKC_ERR_NOMEM);
    if (id)
        *id = o.id;
    return 0;
}

void pkc_ydoc_unobserve_update(pkc_ydoc *doc, uint32_t id)
{
    for (uint32_t i = 0; i < doc->nuobs; i++) {
        if (doc->uobs[i].id == id) {
            memmove(doc->uobs + i, doc->uobs + i + 1, (doc->nuobs - i - 1) * sizeof *doc->uobs);
            doc->nuobs--;
            return;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Update functions                                                         */

static int merge_api(const uint8_t *const *updates, const size_t *lens, size_t n, int v2,
                     uint8_t **out, size_t *out_len)
{
    if (n == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "nothing to merge");
    pkc_buf b = PKC_BUF_INIT;
    int rc;
    if (v2 && n == 1)
        rc = yc_update_to_v1(updates[0], lens[0], &b);
    else
        rc = yc_update_merge(updates, lens, n, v2, &b);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    return steal(&b, out, out_len);
}

int pkc_yupdate_merge(const uint8_t *const *updates, const size_t *lens, size_t n,
                              uint8_t **out, size_t *out_len)
{
    if (n == 1) {
        /* Yjs returns a single update unchanged; still check it */
        yupd u;
        int rc = yupd_decode(&u, updates[0], lens[0], 0);
        if (rc)
            return rc;
        yupd_free(&u);
    }
    return merge_api(updates, lens, n, 0, out, out_len);
}

int pkc_yupdate_merge_v2(const uint8_t *const *updates, const size_t *lens, size_t n,
                                 uint8_t **out, size_t *out_len)
{
    return merge_api(updates, lens, n, 1, out, out_len);
}

int pkc_yupdate_diff(const uint8_t *update, size_t len, const uint8_t *sv, size_t sv_len,
                             uint8_t **out, size_t *out_len)
{
    ysv s;
    int rc = ysv_decode(sv, sv_len, &s);
    if (rc)
        return rc;
    pkc_buf b = PKC_BUF_INIT;
    rc = yc_update_diff(update, len, 0, &s, &b);
    ysv_free(&s);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    return steal(&b, out, out_len);
}

int pkc_yupdate_encode_state_vector(const uint8_t *update, size_t len, uint8_t **out,
                                     size_t *out_len)
{
    pkc_buf b = PKC_BUF_INIT;
    int rc = yc_update_sv(update, len, 0, &b);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    return steal(&b, out, out_len);
}

int pkc_yupdate_v2_to_v1(const uint8_t *update, size_t len, uint8_t **out,
                                 size_t *out_len)
{
    pkc_buf b = PKC_BUF_INIT;
    int rc = yc_update_to_v1(update, len, &b);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    return steal(&b, out, out_len);
}
