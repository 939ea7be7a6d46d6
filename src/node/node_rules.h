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

#endif
