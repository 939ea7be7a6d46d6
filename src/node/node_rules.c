/*
 * node_rules.c: the node's I/O-free rules for what peers send (node_rules.h),
 * shared by the native node and the browser build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "node/node_rules.h"
#include "node/order.h"

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

int node_topic_is(const pkc_message *m, const char *t)
{
    size_t n = strlen(t);
    return m->topic.len == n && memcmp(m->topic.data, t, n) == 0;
}

int node_broadcast_make(const pkc_identity *self, const pkc_room_key *key, const char *topic,
                        const void *data, size_t len, node_bcast_state *st, uint64_t *epoch_last,
                        pkc_replay *replay, const pkc_clock *clock, const pkc_rng *rng,
                        int64_t now_ms, uint8_t **frame, size_t *frame_len,
                        uint8_t id[PKC_MSG_ID_BYTES], pkc_frame *own, int *replay_rc)
{
    pkc_message_params p;
    memset(&p, 0, sizeof p);
    p.type = PKC_FRAME_DATA;
    p.room = key;
    p.topic = topic;
    p.topic_len = strlen(topic);
    p.payload = data;
    p.payload_len = len;
    pkc_buf env = PKC_BUF_INIT;
    int text = topic[0] == 0;
    if (text) {
        /* A text: in its envelope, numbered (order.h). A room's first text
         * since the start (or since it was joined again) opens an epoch:
         * the wall clock's ms, above every epoch used before. */
        if (st->epoch == 0) {
            st->epoch = node_bcast_epoch_next(epoch_last, now_ms);
            st->seq = 0;
        }
        if (node_bcast_encode(&env, st->epoch, st->seq + 1, data, len) != 0) {
            pkc_buf_free(&env);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        p.payload = env.data;
        p.payload_len = env.len;
    }
    int rc = pkc_message_create(self, &p, clock, rng, frame, frame_len, id);
    pkc_buf_free(&env);
    if (rc)
        return rc;
    if (text)
        st->seq++;
    /* Our own copy is remembered, so that it is never taken back. */
    rc = node_decode_data(*frame, *frame_len, own);
    if (rc) {
        free(*frame);
        *frame = NULL;
        return rc;
    }
    *replay_rc = pkc_replay_check(replay, id, pkc_identity_get_public_key(self),
                                  (int64_t)own->message.timestamp_ms, now_ms);
    return 0;
}

int node_direct_make(const pkc_identity *self, const uint8_t pk[32], const uint8_t dh[32],
                     const char *topic, const void *data, size_t len, const pkc_clock *clock,
                     const pkc_rng *rng, uint8_t **frame, size_t *frame_len,
                     uint8_t id[PKC_MSG_ID_BYTES])
{
    pkc_message_params p;
    memset(&p, 0, sizeof p);
    p.type = PKC_FRAME_DATA;
    p.to_public_key = pk;
    p.to_dh_public_key = dh;
    p.topic = topic;
    p.topic_len = strlen(topic);
    p.payload = data;
    p.payload_len = len;
    return pkc_message_create(self, &p, clock, rng, frame, frame_len, id);
}

int node_direct_open(const pkc_identity *self, const uint8_t from_hash[PKC_PEER_ID_HASH_BYTES],
                     const uint8_t *data, size_t len, int64_t now_ms, pkc_frame *f,
                     uint8_t **buf)
{
    *buf = NULL;
    if (node_decode_data(data, len, f) != 0)
        return NODE_DIRECT_NOT_OURS;
    pkc_message *m = &f->message;
    uint8_t me[PKC_PEER_ID_HASH_BYTES];
    if (pkc_peer_id_parse(pkc_identity_get_peer_id(self), me) != 0 ||
        !(m->flags & PKC_MSG_DIRECT) || !(m->flags & PKC_MSG_SEALED) ||
        memcmp(m->to, me, PKC_PEER_ID_HASH_BYTES) != 0)
        return NODE_DIRECT_NOT_OURS;
    char id[PKC_PEER_ID_SIZE];
    uint8_t sender[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_from_public_key(m->from, id);
    if (pkc_peer_id_parse(id, sender) != 0 ||
        memcmp(sender, from_hash, PKC_PEER_ID_HASH_BYTES) != 0)
        return pkc_error(PKC_ERR_MISMATCH, "a direct message whose sender is not its signer");
    char why[160];
    int rc = pkc_message_verify(m, PKC_FRAME_DATA, now_ms, NODE_DIRECT_MAX_AGE_MS,
                                NODE_MSG_MAX_SKEW_MS);
    if (rc) {
        snprintf(why, sizeof why, "%s", pkc_errmsg());
        return pkc_error(rc, "direct message from %s rejected: %s", id, why);
    }
    uint8_t *b = malloc(m->payload.len + 1);
    if (b == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    rc = pkc_message_open(m, PKC_FRAME_DATA, self, NULL, 0, b, m->payload.len + 1);
    if (rc) {
        free(b);
        snprintf(why, sizeof why, "%s", pkc_errmsg());
        return pkc_error(rc, "direct message from %s does not open: %s", id, why);
    }
    *buf = b;
    if (node_topic_is(m, "dm"))
        return NODE_DIRECT_DM;
    if (node_topic_is(m, "ack") && m->plaintext.len == PKC_MSG_ID_BYTES)
        return NODE_DIRECT_ACK;
    return NODE_DIRECT_OTHER;
}

void node_metrics_add_mesh(node_metrics_sum *s, const pkc_mesh_stats *st)
{
    s->connected_peers += st->connected_peers;
    s->messages_per_second += st->messages_per_second;
    s->bytes_per_second += st->bytes_per_second;
    if (st->average_rtt_ms >= 0) {
        s->rtt_sum += st->average_rtt_ms * st->connected_peers;
        s->rtt_n += st->connected_peers;
    }
}

void node_metrics_add_doc(node_metrics_sum *s, pkc_ydoc *doc)
{
    uint8_t *u = NULL;
    size_t ul = 0;
    if (pkc_ydoc_encode_state(doc, NULL, 0, &u, &ul) == 0)
        s->state_bytes += ul;
    free(u);
    if (pkc_ydoc_has_pending(doc))
        s->pending_updates++;
}

double node_metrics_latency(const node_metrics_sum *s)
{
    return s->rtt_n ? s->rtt_sum / s->rtt_n : -1;
}
