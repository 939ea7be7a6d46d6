/*
 * node_rules.c: the node's I/O-free rules for what peers send (node_rules.h),
 * shared by the native node and the browser build.
 */
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "node/node_rules.h"

int node_decode_data(const uint8_t *data, size_t len, pkc_frame *f)
{
    size_t used = 0;
    int rc = pkc_frame_decode(data, len, PKC_FRAME_SIZE_MAX, f, &used);
    if (rc)
        return rc;
    if (f->type != PKC_FRAME_DATA || used != len)
        return pkc_error(PKC_ERR_MALFORMED, "mesh payload is not one DATA frame");
    return 0;
}

pkc_mesh_validation node_room_broadcast_check(const pkc_mesh_message *msg,
                                              const uint8_t room_id[PKC_ROOM_ID_BYTES],
                                              int64_t now_ms, pkc_frame *f, int *bad_signature)
{
    *bad_signature = 0;
    if (node_decode_data(msg->payload, msg->len, f) != 0)
        return PKC_MESH_REJECT;
    pkc_message *m = &f->message;
    if (msg->id_len != PKC_MSG_ID_BYTES || memcmp(msg->id, m->id, PKC_MSG_ID_BYTES) != 0)
        return PKC_MESH_REJECT;
    if (!(m->flags & PKC_MSG_ROOM) || (m->flags & PKC_MSG_DIRECT) ||
        memcmp(m->room_id, room_id, PKC_ROOM_ID_BYTES) != 0)
        return PKC_MESH_REJECT;
    char id[PKC_PEER_ID_SIZE];
    uint8_t origin[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_from_public_key(m->from, id);
    if (pkc_peer_id_parse(id, origin) != 0 ||
        memcmp(origin, msg->origin, PKC_PEER_ID_HASH_BYTES) != 0)
        return PKC_MESH_REJECT;
    int rc =
        pkc_message_verify(m, PKC_FRAME_DATA, now_ms, NODE_MSG_MAX_AGE_MS, NODE_MSG_MAX_SKEW_MS);
    if (rc == PKC_ERR_BAD_SIGNATURE) {
        *bad_signature = 1;
        return PKC_MESH_REJECT;
    }
    if (rc)
        return PKC_MESH_IGNORE;
    return PKC_MESH_ACCEPT;
}

void node_sync_frag_reset(node_sync_frag *f)
{
    free(f->buf);
    f->buf = NULL;
    f->len = f->total = 0;
}

static int frag_give_up(node_sync_frag *f, void (*abandon)(void *ud), void *ud)
{
    if (f->buf != NULL && f->total != 0)
        abandon(ud);
    node_sync_frag_reset(f);
    return 0;
}

int node_sync_frag_add(node_sync_frag *f, const pkc_sync *s, void (*abandon)(void *ud), void *ud)
{
    pkc_reader r;
    uint64_t total, off;
    pkc_reader_init(&r, s->message.data, s->message.len);
    if (pkc_reader_varuint_max(&r, NODE_SYNC_MAX_MESSAGE, &total) ||
        pkc_reader_varuint_max(&r, NODE_SYNC_MAX_MESSAGE, &off) || total <= NODE_SYNC_CHUNK ||
        off + pkc_reader_left(&r) > total || pkc_reader_left(&r) == 0 ||
        s->doc.len > PKC_DOC_NAME_MAX) {
        frag_give_up(f, abandon, ud);
        return pkc_error(PKC_ERR_MALFORMED, "a malformed sync fragment");
    }
    if (off == 0) {
        frag_give_up(f, abandon, ud);
        if ((f->buf = malloc(total)) == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        f->total = total;
        memcpy(f->doc, s->doc.data, s->doc.len);
        f->doc[s->doc.len] = 0;
    } else if (f->buf == NULL || off != f->len || total != f->total ||
               strlen(f->doc) != s->doc.len || memcmp(f->doc, s->doc.data, s->doc.len) != 0) {
        frag_give_up(f, abandon, ud);
        return pkc_error(PKC_ERR_MALFORMED, "a sync fragment out of order");
    }
    size_t n = pkc_reader_left(&r);
    const uint8_t *p = NULL;
    if (pkc_reader_bytes(&r, n, &p) != 0) {
        frag_give_up(f, abandon, ud);
        return pkc_error(PKC_ERR_MALFORMED, "a truncated sync fragment");
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
    return f->len == f->total;
}

int node_sync_send(const char *doc, const uint8_t *msg, size_t len,
                   int (*send)(void *ud, const pkc_frame *f), void *ud)
{
    pkc_frame f;
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_SYNC;
    f.sync.kind = PKC_SYNC_MESSAGE;
    f.sync.doc.data = (const uint8_t *)doc;
    f.sync.doc.len = strlen(doc);
    if (len <= NODE_SYNC_CHUNK) {
        f.sync.message.data = msg;
        f.sync.message.len = len;
        return send(ud, &f);
    }
    if (len > NODE_SYNC_MAX_MESSAGE)
        return pkc_error(PKC_ERR_TOO_LARGE, "a sync message of %zu bytes is over the %u limit", len,
                         NODE_SYNC_MAX_MESSAGE);
    f.sync.kind = NODE_SYNC_FRAGMENT;
    pkc_buf b;
    pkc_buf_init(&b);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += NODE_SYNC_CHUNK) {
        size_t n = len - off < NODE_SYNC_CHUNK ? len - off : NODE_SYNC_CHUNK;
        pkc_buf_reset(&b);
        pkc_buf_push_varuint(&b, len);
        pkc_buf_push_varuint(&b, off);
        pkc_buf_push(&b, msg + off, n);
        f.sync.message.data = b.data;
        f.sync.message.len = b.len;
        rc = b.err ? pkc_error(PKC_ERR_NOMEM, "a sync fragment") : send(ud, &f);
    }
    pkc_buf_free(&b);
    return rc;
}
