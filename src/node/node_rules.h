/*
 * node_rules.h: the node's rules for what peers send that do no I/O and need
 * neither libuv nor the database, so that the browser build (web/, which
 * compiles node_rules.c into pkc.wasm) applies exactly the native node's
 * rules (docs/protocol.md, "Node").
 */
#ifndef PKC_NODE_RULES_H
#define PKC_NODE_RULES_H

#include "pkc.h"

/* The largest record a node sends: a peer that dialed our ICE-lite
 * listener never showed us its a=max-message-size, and the WebRTC default
 * (what browsers and pkc accept at least) is 256 KiB. */
#define NODE_SEND_MAX 262144

/* What a neighbour may send us, per second, before its excess is dropped
 * and counted against it (sessions and meshes); bursts of twice the
 * messages and four times the bytes. */
#define NODE_MSG_RATE 10000
#define NODE_BYTE_RATE (16u * 1024 * 1024)

/* A room broadcast's age and clock skew (docs/protocol.md, "Messages"). */
#define NODE_MSG_MAX_AGE_MS 600000
#define NODE_MSG_MAX_SKEW_MS 30000

/* Decodes a mesh payload that must be exactly one DATA frame. */
int node_decode_data(const uint8_t *data, size_t len, pkc_frame *f);

/*
 * The checks of a room broadcast before the replay window: exactly one DATA
 * frame (decoded into *f), the mesh message id equal to the frame's id, flag
 * ROOM set and DIRECT clear, room id `room_id`, the mesh origin the hash of
 * the signer, the signature, the timestamp within [now - 600 s, now + 30 s].
 * PKC_MESH_ACCEPT (then the caller checks its replay window), REJECT (with
 * *bad_signature set when that was the reason) or IGNORE (stale: an honest
 * relay may be late).
 */
pkc_mesh_validation node_room_broadcast_check(const pkc_mesh_message *msg,
                                              const uint8_t room_id[PKC_ROOM_ID_BYTES],
                                              int64_t now_ms, pkc_frame *f, int *bad_signature);

/* SYNC frames carry at most NODE_SYNC_CHUNK bytes of a message; a longer
 * one (the step 2 of a large document) goes in fragments of kind
 * NODE_SYNC_FRAGMENT: varuint total, varuint offset, bytes (docs/protocol.md,
 * "Document sync"), up to NODE_SYNC_MAX_MESSAGE bytes in all. */
#define NODE_SYNC_CHUNK (NODE_SEND_MAX - 4096)
#define NODE_SYNC_FRAGMENT 2
#define NODE_SYNC_MAX_MESSAGE (64u << 20)

/* A sync message arriving in fragments on one channel. */
typedef struct node_sync_frag {
    uint8_t *buf; /* NULL when none is arriving */
    size_t len, total;
    char doc[PKC_DOC_NAME_MAX + 1];
} node_sync_frag;

/* Frees what arrived so far; the struct is then empty. */
void node_sync_frag_reset(node_sync_frag *f);

/*
 * Adds a fragment (in order: the channel is reliable and ordered). Returns 1
 * when the message is whole (f->buf, f->total bytes), 0 when more is to
 * come, or an error (the fragments so far are dropped). Wherever a message
 * half arrived is given up (a malformed fragment, one out of order, a new
 * message starting), `abandon(ud)` is called first, with f still holding
 * it, then f is reset.
 */
int node_sync_frag_add(node_sync_frag *f, const pkc_sync *s, void (*abandon)(void *ud), void *ud);

/*
 * Sends sync message `msg` of document `doc` in one SYNC frame (kind 0) or,
 * above NODE_SYNC_CHUNK, in fragments, each through `send`. Returns 0,
 * PKC_ERR_TOO_LARGE (over NODE_SYNC_MAX_MESSAGE), or the first error of
 * `send` (the rest is not sent).
 */
int node_sync_send(const char *doc, const uint8_t *msg, size_t len,
                   int (*send)(void *ud, const pkc_frame *f), void *ud);

/* Direct messages are accepted up to 7 days after they were made, so that
 * one waiting in an outbox still arrives (docs/node.md, "Messages"). */
#define NODE_DIRECT_MAX_AGE_MS (NODE_MSG_MAX_AGE_MS * 6 * 24 * 7)

/* Whether message `m`'s topic is `t`. */
int node_topic_is(const pkc_message *m, const char *t);

/* A sender's numbering of its text broadcasts in one room (order.h): the
 * epoch (0 until the room's first text) and the last number given. */
typedef struct node_bcast_state {
    uint64_t epoch;
    uint64_t seq;
} node_bcast_state;

/*
 * Makes a room broadcast of `topic` as the node and the page both make it:
 * a signed DATA frame encrypted with the room key (pkc_message_create); a
 * text (topic "") in its envelope (order.h), numbered from `st` (a room's
 * first text opens an epoch above *epoch_last, from now_ms); st advances
 * only when the frame was made. Our own copy is then remembered in
 * `replay` (so that it is never taken back from a peer); *replay_rc gets
 * that check's result (nonzero: not remembered, pkc_errmsg() says why).
 * On success, *frame (malloc'd, free() it), *frame_len, `id` and `own` (the
 * frame decoded, pointing into *frame) are set.
 */
int node_broadcast_make(const pkc_identity *self, const pkc_room_key *key, const char *topic,
                        const void *data, size_t len, node_bcast_state *st, uint64_t *epoch_last,
                        pkc_replay *replay, const pkc_clock *clock, const pkc_rng *rng,
                        int64_t now_ms, uint8_t **frame, size_t *frame_len,
                        uint8_t id[PKC_MSG_ID_BYTES], pkc_frame *own, int *replay_rc);

/*
 * Makes a direct message of `topic` ("dm" a text, "ack" a receipt whose
 * payload is the 16-byte id): a DATA frame signed by `self` and sealed to
 * the recipient's keys `pk` (Ed25519) and `dh` (X25519). *frame is
 * malloc'd; `id` (may be NULL) gets its message id.
 */
int node_direct_make(const pkc_identity *self, const uint8_t pk[32], const uint8_t dh[32],
                     const char *topic, const void *data, size_t len, const pkc_clock *clock,
                     const pkc_rng *rng, uint8_t **frame, size_t *frame_len,
                     uint8_t id[PKC_MSG_ID_BYTES]);

/* What node_direct_open() found. */
enum {
    NODE_DIRECT_NOT_OURS = 1, /* not a direct message sealed to us: dropped quietly */
    NODE_DIRECT_DM = 2,       /* a text (topic "dm") */
    NODE_DIRECT_ACK = 3,      /* a receipt: plaintext is the 16-byte id acknowledged */
    NODE_DIRECT_OTHER = 4,    /* another topic: ignored */
};

/*
 * The checks of a message that came through pkc_mesh_send() from the peer
 * of hash `from_hash`, then its opening: exactly one DATA frame (into *f),
 * flags DIRECT and SEALED, addressed to `self`, signed by the peer it came
 * from, the signature, made at most NODE_DIRECT_MAX_AGE_MS ago and at most
 * NODE_MSG_MAX_SKEW_MS ahead, and it opens with our key. Returns one of the
 * NODE_DIRECT_* kinds (*buf, malloc'd, holds the plaintext that
 * f->message.plaintext points to: free() it; NULL for NOT_OURS), or an error
 * whose pkc_errmsg() says what was wrong (the caller shows it). The replay
 * of a direct message is the caller's: a message is kept once (by its id)
 * and acknowledged every time.
 */
int node_direct_open(const pkc_identity *self, const uint8_t from_hash[PKC_PEER_ID_HASH_BYTES],
                     const uint8_t *data, size_t len, int64_t now_ms, pkc_frame *f,
                     uint8_t **buf);

/* The metrics a room adds (pkc_node_metrics, docs/node.md "Metrics"), summed
 * the same way by the node (node.c) and the page (web/src/peer.c): its
 * mesh's neighbours and rates, latency weighted by neighbours, and the
 * encoded size and pending state of its documents. */
typedef struct node_metrics_sum {
    unsigned connected_peers;
    double messages_per_second, bytes_per_second;
    double rtt_sum;  /* average RTT x neighbours, over meshes that measured one */
    unsigned rtt_n;
    uint64_t state_bytes;
    unsigned pending_updates;
} node_metrics_sum;
void node_metrics_add_mesh(node_metrics_sum *s, const pkc_mesh_stats *st);
void node_metrics_add_doc(node_metrics_sum *s, pkc_ydoc *doc);
/* The neighbours' average latency in ms, -1 when none was measured. */
double node_metrics_latency(const node_metrics_sum *s);

#endif
