/*
 * node_msg.c: messages (docs/node.md, "Messages").
 *
 * Every message is a signed DATA frame (docs/protocol.md, "Frames") made
 * with pkc_message_create(); the mesh carries the encoded frame as its
 * payload. Broadcasts are encrypted with the room key and published;
 * direct messages are sealed to the recipient and routed with
 * pkc_mesh_send(). Topics: "" a broadcast text, "dm" a direct message,
 * "ack" the receipt of a direct message (payload: its 16-byte id),
 * "y:NAME" a Yjs update of document NAME.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/text.h"
#include "util/log.h"
#include "node/node_int.h"
#include "node/node_rules.h"

#define LOG "node"

pkc_mesh_validation node_mesh_validate(void *user_data, const pkc_mesh_message *msg)
{
    node_room *r = user_data;
    pkc_node *n = r->n;
    pkc_frame f;
    int64_t now = node_wall_ms(n);
    int bad_signature = 0;
    pkc_mesh_validation v = node_room_broadcast_check(msg, r->key.id, now, &f, &bad_signature);
    if (bad_signature)
        node_error(n, "room %s: a message with a bad signature, rejected", r->id);
    if (v != PKC_MESH_ACCEPT)
        return v;
    pkc_message *m = &f.message;
    int rc = pkc_replay_check(n->replay, m->id, m->from, (int64_t)m->timestamp_ms, now);
    if (rc) {
        char id[PKC_PEER_ID_SIZE];
        pkc_peer_id_from_public_key(m->from, id);
        pkc_logi(LOG, "room %s: message from %s dropped: %s", r->id, id, pkc_errmsg());
        return PKC_MESH_IGNORE;
    }
    return PKC_MESH_ACCEPT;
}

/* ---- group commit ------------------------------------------------------------------------------- */

/* Each dispatch of the connections' events (pkc_loop_dispatch_pending) runs
 * in one transaction: a burst of messages costs one commit instead of one
 * per message. Nothing is told before it is durable: the callbacks, the
 * control clients and the receipts of direct messages wait in n->reports
 * until the commit succeeds; if it fails, what the batch stored is gone
 * and none of it was acknowledged (docs/node.md, "Persistence"). */
void node_batch_begin(void *node)
{
    pkc_node *n = node;
    if (n->db == NULL || pkc_db_in_transaction(n->db))
        return;
    if (pkc_db_begin(n->db) == 0)
        n->batch_open = 1;
    else
        pkc_logd(LOG, "no group commit for this batch: %s", pkc_errmsg());
}

node_report *node_report_new(pkc_node *n, int kind, size_t len)
{
    node_report *rp = calloc(1, sizeof *rp + len);
    if (rp == NULL) {
        node_error(n, "out of memory queueing a report");
        return NULL;
    }
    rp->kind = kind;
    rp->len = len;
    *n->reports_tail = rp;
    n->reports_tail = &rp->next;
    return rp;
}

void node_reports_drop(pkc_node *n)
{
    while (n->reports) {
        node_report *rp = n->reports;
        n->reports = rp->next;
        free(rp);
    }
    n->reports_tail = &n->reports;
}

static void report_message(pkc_node *n, const pkc_node_message *nm)
{
    if (n->cb.message)
        n->cb.message(n->user_data, n, nm);
    node_control_message(n, nm);
}

static void report_delivered(pkc_node *n, const uint8_t id[PKC_MSG_ID_BYTES], const char *to)
{
    pkc_logi(LOG, "direct message delivered to %s", to);
    if (n->cb.delivered)
        n->cb.delivered(n->user_data, n, id);
    char hex[2 * PKC_MSG_ID_BYTES + 1];
    pkc_hex_encode(hex, id, PKC_MSG_ID_BYTES);
    char line[256];
    snprintf(line, sizeof line, "{\"event\":\"delivered\",\"id\":\"%s\",\"to\":\"%s\"}", hex, to);
    node_control_event(n, "delivered", line);
}

/* A failed group commit: what the batch stored is gone, and none of it
 * was told. */
static void batch_failed(pkc_node *n, node_report *list)
{
    size_t count = 0;
    for (node_report *rp = list; rp; rp = rp->next)
        count++;
    node_error(n, "what arrived was not stored (%zu messages and receipts lost): %s", count,
               pkc_errmsg());
}

int node_batch_sync(pkc_node *n)
{
    if (!n->batch_open)
        return 0;
    int rc = pkc_db_commit(n->db);
    if (rc) {
        n->batch_open = 0;
        char msg[sizeof n->last_error];
        snprintf(msg, sizeof msg, "%s", pkc_errmsg());
        node_reports_run(n, rc); /* drops them, the loss recorded */
        return pkc_error(rc, "%s", msg);
    }
    if (pkc_db_begin(n->db) != 0)
        n->batch_open = 0;
    return 0;
}

void node_reports_run(pkc_node *n, int rc)
{
    node_report *list = n->reports;
    n->reports = NULL;
    n->reports_tail = &n->reports;
    if (rc)
        batch_failed(n, list);
    while (list) {
        node_report *rp = list;
        list = rp->next;
        node_room *r = rc == 0 && rp->kind != R_MESSAGE && rp->kind != R_DELIVERED
                           ? node_room_by_id(n, rp->room)
                           : NULL;
        if (rc == 0 && rp->kind == R_MESSAGE) {
            pkc_node_message nm = {rp->seq,     {0},           rp->from, rp->room_id,
                                   rp->direct,  rp->time_ms,   rp->data, rp->len};
            memcpy(nm.id, rp->msg_id, PKC_MSG_ID_BYTES);
            report_message(n, &nm);
        } else if (rc == 0 && rp->kind == R_DELIVERED) {
            report_delivered(n, rp->msg_id, rp->from);
        } else if (r && rp->kind == R_ACK) {
            node_work *w = node_defer(n, W_ACK, r, rp->peer);
            if (w)
                memcpy(w->msg_id, rp->msg_id, PKC_MSG_ID_BYTES);
        } else if (r && r->mesh && rp->kind == R_PUBLISH) {
            if (node_mesh_publish(n, r, rp->msg_id, rp->data, rp->len) != 0)
                node_error(n, "room %s: a stored broadcast was not sent: %s", r->id,
                           pkc_errmsg());
        } else if (r && r->mesh && rp->kind == R_SEND) {
            if (node_mesh_send(n, r, rp->peer, rp->data, rp->len) == 0)
                pkc_db_outbox_mark_attempt(n->db, rp->msg_id, node_wall_ms(n));
        }
        free(rp);
    }
}

void node_batch_end(void *node)
{
    pkc_node *n = node;
    int rc = 0;
    if (n->batch_open) {
        n->batch_open = 0;
        rc = pkc_db_commit(n->db);
    }
    node_reports_run(n, rc);
}

/* Stores a received message (or our own broadcast) in the inbox and tells
 * the callbacks and control clients, once it is durable. */
static int store_and_report_as(pkc_node *n, node_room *r, const uint8_t msg_id[PKC_MSG_ID_BYTES],
                               const uint8_t from[32], int64_t time_ms, const uint8_t *text,
                               size_t len, int direct)
{
    pkc_db_inbox_msg im;
    memset(&im, 0, sizeof im);
    memcpy(im.msg_id, msg_id, PKC_MSG_ID_BYTES);
    memcpy(im.room, r->key.id, PKC_ROOM_ID_BYTES);
    memcpy(im.sender, from, 32);
    im.flags = direct ? PKC_DB_MSG_DIRECT : 0;
    im.topic = "";
    im.time_ms = time_ms;
    im.payload = text;
    im.payload_len = len;
    int64_t seq = 0;
    int rc = pkc_db_inbox_add(n->db, &im, &seq);
    if (rc) {
        if (rc != PKC_ERR_EXISTS)
            node_error(n, "inbox: %s", pkc_errmsg());
        return rc;
    }
    if (memcmp(from, pkc_identity_get_public_key(n->id), 32) != 0)
        n->messages_received++;
    if (n->batch_open) {
        node_report *rp = node_report_new(n, R_MESSAGE, len);
        if (rp == NULL)
            return 0; /* stored; only its report is lost */
        rp->seq = seq;
        memcpy(rp->msg_id, msg_id, PKC_MSG_ID_BYTES);
        pkc_peer_id_from_public_key(from, rp->from);
        memcpy(rp->room_id, r->id, sizeof rp->room_id);
        rp->direct = direct;
        rp->time_ms = time_ms;
        if (len)
            memcpy(rp->data, text, len);
        return 0;
    }
    char fid[PKC_PEER_ID_SIZE];
    pkc_peer_id_from_public_key(from, fid);
    pkc_node_message nm = {seq, {0}, fid, r->id, direct, time_ms, text, len};
    memcpy(nm.id, msg_id, PKC_MSG_ID_BYTES);
    report_message(n, &nm);
    return 0;
}

static int store_and_report(pkc_node *n, node_room *r, const pkc_message *m, const uint8_t *text,
                            size_t len, int direct)
{
    return store_and_report_as(n, r, m->id, m->from, (int64_t)m->timestamp_ms, text, len, direct);
}

void node_order_deliver(void *user_data, const node_order_msg *m)
{
    node_room *r = user_data;
    store_and_report_as(r->n, r, m->id, m->from, m->time_ms, m->text, m->len, 0);
}

/* A text broadcast: its envelope (order.h) gives its place among its
 * sender's; the room's hold-back buffer delivers it in that order. */
static void text_broadcast(pkc_node *n, node_room *r, const pkc_message *m)
{
    uint64_t epoch, seq;
    node_order_msg om;
    char id[PKC_PEER_ID_SIZE];
    if (node_bcast_open(m, &epoch, &seq, &om) != 0) {
        pkc_peer_id_from_public_key(m->from, id);
        pkc_logi(LOG, "room %s: a broadcast from %s dropped: %s", r->id, id, pkc_errmsg());
        return;
    }
    if (r->order == NULL) {
        node_order_deliver(r, &om);
        return;
    }
    node_order_push(r->order, epoch, seq, &om, node_now_us(n));
}

void node_mesh_deliver(void *user_data, const pkc_mesh_message *msg)
{
    node_room *r = user_data;
    pkc_node *n = r->n;
    pkc_frame f;
    if (node_decode_data(msg->payload, msg->len, &f) != 0)
        return;
    pkc_message *m = &f.message;
    uint8_t *buf = malloc(m->payload.len + 1);
    if (buf == NULL) {
        node_error(n, "out of memory opening a message");
        return;
    }
    if (pkc_message_open(m, PKC_FRAME_DATA, n->id, &r->key, 1, buf, m->payload.len + 1) != 0) {
        node_error(n, "room %s: a message that does not open: %s", r->id, pkc_errmsg());
        free(buf);
        return;
    }
    if (m->topic.len == 0) {
        text_broadcast(n, r, m);
    } else if (m->topic.len > 2 && memcmp(m->topic.data, "a:", 2) == 0) {
        char name[PKC_DOC_NAME_MAX + 1];
        size_t nl = m->topic.len - 2;
        if (nl <= PKC_DOC_NAME_MAX && n->cfg.sync) {
            memcpy(name, m->topic.data + 2, nl);
            name[nl] = 0;
            node_doc_remote_awareness(r, name, m->plaintext.data, m->plaintext.len);
        }
    } else if (node_topic_is(m, "nat")) {
        node_nat_moved(n, r, m->from, m->plaintext.data, m->plaintext.len);
    } else if (m->topic.len > 2 && memcmp(m->topic.data, "y:", 2) == 0) {
        char name[PKC_DOC_NAME_MAX + 1];
        size_t nl = m->topic.len - 2;
        if (nl <= PKC_DOC_NAME_MAX && n->cfg.sync) {
            memcpy(name, m->topic.data + 2, nl);
            name[nl] = 0;
            char from[PKC_PEER_ID_SIZE];
            pkc_peer_id_from_public_key(m->from, from);
            node_doc_remote_update(r, name, m->plaintext.data, m->plaintext.len, from);
        }
    }
    free(buf);
}

/* Keys to seal to `hash`: from a LAN announcement, else the peer book. */
static int recipient_keys(pkc_node *n, const uint8_t hash[PKC_PEER_ID_HASH_BYTES], uint8_t pk[32],
                          uint8_t dh[32])
{
    node_known *k = node_known_get(n, hash);
    static const uint8_t zero[32];
    if (k && memcmp(k->dh, zero, 32) != 0) {
        memcpy(pk, k->pk, 32);
        memcpy(dh, k->dh, 32);
        return 0;
    }
    pkc_db_peer row;
    if (pkc_db_peer_get(n->db, hash, &row) == 0 && memcmp(row.x25519, zero, 32) != 0) {
        memcpy(pk, row.public_key, 32);
        memcpy(dh, row.x25519, 32);
        return 0;
    }
    return pkc_error(PKC_ERR_NOT_FOUND, "this node has never seen that peer's announcement");
}

static int make_direct(pkc_node *n, const uint8_t hash[PKC_PEER_ID_HASH_BYTES], const char *topic,
                       const void *data, size_t len, uint8_t **frame, size_t *frame_len,
                       uint8_t id[PKC_MSG_ID_BYTES])
{
    uint8_t pk[32], dh[32];
    int rc = recipient_keys(n, hash, pk, dh);
    if (rc)
        return rc;
    return node_direct_make(n->id, pk, dh, topic, data, len, n->clock, n->rng, frame, frame_len,
                            id);
}

/* Runs from the work queue (node_defer): the mesh refuses calls from inside
 * its callbacks, where a direct message arrives. */
void node_send_ack(pkc_node *n, node_room *r, const uint8_t hash[PKC_PEER_ID_HASH_BYTES],
                   const uint8_t id[PKC_MSG_ID_BYTES])
{
    uint8_t *frame = NULL;
    size_t fl = 0;
    int rc = make_direct(n, hash, "ack", id, PKC_MSG_ID_BYTES, &frame, &fl, NULL);
    if (rc == 0 && r->mesh)
        rc = pkc_mesh_send(r->mesh, hash, frame, fl);
    if (rc)
        pkc_logd(LOG, "receipt not sent: %s", pkc_errmsg());
    free(frame);
}

typedef struct pending_ctx {
    const uint8_t *id;
    int found;
} pending_ctx;

static int pending_one(void *ud, const pkc_db_outbox_msg *m)
{
    pending_ctx *x = ud;
    if (memcmp(m->msg_id, x->id, PKC_MSG_ID_BYTES) == 0)
        x->found = 1;
    return 0;
}

/* Whether message `id` to `peer` still waits for its ack. */
static int outbox_pending(pkc_node *n, const uint8_t peer[PKC_PEER_ID_HASH_BYTES],
                          const uint8_t id[PKC_MSG_ID_BYTES])
{
    pending_ctx x = {id, 0};
    if (pkc_db_outbox_list_pending(n->db, peer, 0, pending_one, &x) != 0)
        return 0;
    return x.found;
}

void node_mesh_direct(void *user_data, const uint8_t *from_hash, const uint8_t *data, size_t len,
                      unsigned hops)
{
    (void)hops;
    node_room *r = user_data;
    pkc_node *n = r->n;
    pkc_frame f;
    uint8_t *buf = NULL;
    int kind = node_direct_open(n->id, from_hash, data, len, node_wall_ms(n), &f, &buf);
    if (kind < 0) {
        node_error(n, "room %s: %s", r->id, pkc_errmsg());
        return;
    }
    if (kind == NODE_DIRECT_NOT_OURS)
        return;
    pkc_message *m = &f.message;
    char id[PKC_PEER_ID_SIZE];
    pkc_peer_id_from_public_key(m->from, id);
    const uint8_t *sender = from_hash; /* checked: the signer's */
    int64_t now = node_wall_ms(n);
    int rc;
    if (kind == NODE_DIRECT_DM) {
        /* Stored once (the inbox refuses a message id twice), acknowledged
         * every time: the sender retries until an ack reaches it. */
        rc = store_and_report(n, r, m, m->plaintext.data, m->plaintext.len, 1);
        if (rc == 0 || rc == PKC_ERR_EXISTS) {
            /* In a group commit, the receipt waits for the commit. */
            node_report *rp = n->batch_open ? node_report_new(n, R_ACK, 0) : NULL;
            node_work *w;
            if (rp) {
                memcpy(rp->room, r->key.id, sizeof rp->room);
                memcpy(rp->peer, sender, sizeof rp->peer);
                memcpy(rp->msg_id, m->id, PKC_MSG_ID_BYTES);
            } else if (!n->batch_open && (w = node_defer(n, W_ACK, r, sender)) != NULL) {
                memcpy(w->msg_id, m->id, PKC_MSG_ID_BYTES);
            }
        }
    } else if (kind == NODE_DIRECT_ACK) {
        /* Only the first ack of a message counts: the recipient acknowledges
         * every copy it receives, and only pending messages are resent. */
        if (outbox_pending(n, sender, m->plaintext.data) &&
            pkc_db_outbox_mark_delivered(n->db, m->plaintext.data, now) == 0) {
            node_report *rp = n->batch_open ? node_report_new(n, R_DELIVERED, 0) : NULL;
            if (rp) {
                memcpy(rp->msg_id, m->plaintext.data, PKC_MSG_ID_BYTES);
                memcpy(rp->from, id, sizeof rp->from);
            } else if (!n->batch_open) {
                report_delivered(n, m->plaintext.data, id);
            }
        }
    }
    free(buf);
}

int node_broadcast_raw(pkc_node *n, node_room *r, const char *topic, const void *data, size_t len,
                       uint8_t id[PKC_MSG_ID_BYTES])
{
    uint8_t *frame = NULL;
    size_t fl = 0;
    uint8_t mid[PKC_MSG_ID_BYTES];
    pkc_frame f;
    int replay_rc = 0;
    int rc = node_broadcast_make(n->id, &r->key, topic, data, len, &r->bcast, &n->bcast_epoch_last,
                                 n->replay, n->clock, n->rng, node_wall_ms(n), &frame, &fl, mid, &f,
                                 &replay_rc);
    if (rc)
        return rc;
    if (id)
        memcpy(id, mid, sizeof mid);
    if (replay_rc)
        pkc_logd(LOG, "own message not remembered: %s", pkc_errmsg());
    /* Our own copy of a text, in our inbox. */
    if (topic[0] == 0) {
        rc = store_and_report(n, r, &f.message, data, len, 0);
        if (rc && rc != PKC_ERR_EXISTS) {
            free(frame);
            return rc;
        }
    }
    rc = 0;
    if (n->batch_open) {
        /* Sent once the batch that stored it commits. */
        node_report *rp = node_report_new(n, R_PUBLISH, fl);
        if (rp == NULL) {
            free(frame);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        memcpy(rp->room, r->key.id, sizeof rp->room);
        memcpy(rp->msg_id, mid, sizeof mid);
        memcpy(rp->data, frame, fl);
        if (topic[0] == 0)
            n->messages_sent++;
    } else if (r->mesh) {
        rc = node_mesh_publish(n, r, mid, frame, fl);
        if (rc == 0 && topic[0] == 0)
            n->messages_sent++;
    }
    free(frame);
    return rc;
}

int node_send_direct(pkc_node *n, node_room *r, const char *peer_id, const void *data,
                     size_t len, uint8_t id[PKC_MSG_ID_BYTES])
{
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    int rc = pkc_peer_id_parse(peer_id, hash);
    if (rc)
        return rc;
    if (strcmp(peer_id, pkc_identity_get_peer_id(n->id)) == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "a direct message to oneself");
    uint8_t *frame = NULL;
    size_t fl = 0;
    uint8_t mid[PKC_MSG_ID_BYTES];
    if ((rc = make_direct(n, hash, "dm", data, len, &frame, &fl, mid)))
        return rc;
    pkc_db_outbox_msg om;
    memset(&om, 0, sizeof om);
    memcpy(om.msg_id, mid, sizeof mid);
    memcpy(om.room, r->key.id, PKC_ROOM_ID_BYTES);
    memcpy(om.recipient, hash, sizeof hash);
    om.frame = frame;
    om.frame_len = fl;
    om.created_ms = node_wall_ms(n);
    rc = pkc_db_outbox_add(n->db, &om);
    node_report *rp = NULL;
    if (rc == 0 && n->batch_open && (rp = node_report_new(n, R_SEND, fl)) != NULL) {
        /* Sent once the batch commits (the outbox retries it otherwise). */
        memcpy(rp->room, r->key.id, sizeof rp->room);
        memcpy(rp->peer, hash, sizeof rp->peer);
        memcpy(rp->msg_id, mid, sizeof mid);
        memcpy(rp->data, frame, fl);
    }
    if (rc == 0) {
        if (id)
            memcpy(id, mid, sizeof mid);
        n->messages_sent++;
        if (!n->batch_open && r->mesh && node_mesh_send(n, r, hash, frame, fl) == 0)
            pkc_db_outbox_mark_attempt(n->db, mid, node_wall_ms(n));
    }
    free(frame);
    return rc;
}

typedef struct flush_ctx {
    pkc_node *n;
    uint8_t ids[64][PKC_MSG_ID_BYTES];
    size_t count;
} flush_ctx;

static int flush_one(void *ud, const pkc_db_outbox_msg *m)
{
    flush_ctx *x = ud;
    node_room *r = node_room_by_id(x->n, m->room);
    if (r == NULL || r->mesh == NULL)
        return 0;
    pkc_mesh_stats st;
    pkc_mesh_get_stats(r->mesh, &st);
    if (st.connected_peers == 0)
        return 0;
    if (pkc_mesh_send(r->mesh, m->recipient, m->frame, m->frame_len) == 0 && x->count < 64)
        memcpy(x->ids[x->count++], m->msg_id, PKC_MSG_ID_BYTES);
    return 0;
}

void node_outbox_flush(pkc_node *n, const uint8_t *only_peer)
{
    flush_ctx x;
    x.n = n;
    x.count = 0;
    if (pkc_db_outbox_list_pending(n->db, only_peer, 64, flush_one, &x) != 0)
        return;
    for (size_t i = 0; i < x.count; i++)
        pkc_db_outbox_mark_attempt(n->db, x.ids[i], node_wall_ms(n));
}

static int count_one(void *ud, const pkc_db_outbox_msg *m)
{
    (void)m;
    (*(uint64_t *)ud)++;
    return 0;
}

int node_outbox_count(pkc_node *n, uint64_t *count)
{
    *count = 0;
    return pkc_db_outbox_list_pending(n->db, NULL, 0, count_one, count);
}

typedef struct inbox_ctx {
    pkc_node_message_fn fn;
    void *ud;
} inbox_ctx;

static int inbox_one(void *ud, const pkc_db_inbox_msg *m)
{
    inbox_ctx *x = ud;
    char from[PKC_PEER_ID_SIZE], room[17];
    pkc_peer_id_from_public_key(m->sender, from);
    pkc_hex_encode(room, m->room, PKC_ROOM_ID_BYTES);
    pkc_node_message nm = {m->seq,
                           {0},
                           from,
                           room,
                           (m->flags & PKC_DB_MSG_DIRECT) != 0,
                           m->time_ms,
                           m->payload,
                           m->payload_len};
    memcpy(nm.id, m->msg_id, PKC_MSG_ID_BYTES);
    return x->fn(x->ud, &nm);
}

int node_inbox_list(pkc_node *n, node_room *r, int64_t after, size_t limit,
                    pkc_node_message_fn fn, void *ud)
{
    inbox_ctx x = {fn, ud};
    int64_t last = 0;
    return pkc_db_inbox_list(n->db, r ? r->key.id : NULL, after, limit, inbox_one, &x, &last);
}
