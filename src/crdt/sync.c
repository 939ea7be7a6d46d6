/*
 * sync.c: the y-protocols sync protocol (sync step 1, sync step 2, update),
 * byte for byte as y-protocols/sync.js writes it:
 *
 *   step 1:  varuint 0 || varbytes(encodeStateVector(doc))
 *   step 2:  varuint 1 || varbytes(encodeStateAsUpdate(doc, their sv))
 *   update:  varuint 2 || varbytes(update)
 */

#include "pkc.h"
#include "crdt/sv.h"
#include "crdt/update.h"
#include "util/buf.h"
#include "util/err.h"

static int finish(pkc_buf *b, uint8_t **out, size_t *out_len)
{
    if (b->err) {
        int rc = b->err;
        pkc_buf_free(b);
        return rc;
    }
    *out = pkc_buf_steal(b, out_len);
    return 0;
}

int pkc_ysync_step1(const pkc_ydoc *doc, uint8_t **out, size_t *out_len)
{
    ysv sv;
    int rc = yc_doc_sv(doc, &sv);
    if (rc)
        return rc;
    pkc_buf body = PKC_BUF_INIT, b = PKC_BUF_INIT;
    ysv_encode(&body, &sv);
    ysv_free(&sv);
    pkc_buf_push_varuint(&b, PKC_YSYNC_STEP1);
    pkc_buf_push_varbytes(&b, body.data, body.len);
    pkc_buf_free(&body);
    return finish(&b, out, out_len);
}

int pkc_ysync_update(const uint8_t *update, size_t len, uint8_t **out, size_t *out_len)
{
    pkc_buf b = PKC_BUF_INIT;
    pkc_buf_push_varuint(&b, PKC_YSYNC_UPDATE);
    pkc_buf_push_varbytes(&b, update, len);
    return finish(&b, out, out_len);
}

int yc_sync_read(pkc_ydoc *doc, pkc_reader *r, const void *origin, pkc_buf *reply, int *type)
{
    uint64_t t;
    const uint8_t *p;
    size_t n;
    int rc;
    pkc_reader save = *r;
    if ((rc = pkc_reader_varuint(r, &t)))
        return rc;
    if (t > PKC_YSYNC_UPDATE) {
        *r = save;
        return pkc_error(PKC_ERR_MALFORMED, "offset %zu: unknown sync message type %llu",
                         pkc_reader_offset(r), (unsigned long long)t);
    }
    if ((rc = pkc_reader_varbytes(r, &p, &n)) || (rc = pkc_reader_finish(r))) {
        *r = save;
        return rc;
    }
    if (type)
        *type = (int)t;
    if (t == PKC_YSYNC_STEP1) {
        ysv sv;
        if ((rc = ysv_decode(p, n, &sv)))
            return pkc_error_wrap(rc, "sync step 1 state vector");
        pkc_buf st = PKC_BUF_INIT;
        rc = yc_encode_state(doc, &sv, &st);
        ysv_free(&sv);
        if (rc == 0) {
            pkc_buf_push_varuint(reply, PKC_YSYNC_STEP2);
            rc = pkc_buf_push_varbytes(reply, st.data, st.len);
        }
        pkc_buf_free(&st);
        return rc;
    }
    return yc_apply_update(doc, p, n, 0, origin);
}

int pkc_ysync_read(pkc_ydoc *doc, const uint8_t *msg, size_t len, const void *origin,
                           uint8_t **reply, size_t *reply_len, int *type)
{
    pkc_reader r;
    pkc_buf b = PKC_BUF_INIT;
    pkc_reader_init(&r, msg, len);
    int rc = yc_sync_read(doc, &r, origin, &b, type);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    if (b.len == 0) {
        pkc_buf_free(&b);
        *reply = NULL;
        *reply_len = 0;
        return 0;
    }
    return finish(&b, reply, reply_len);
}
