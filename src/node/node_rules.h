/*
 * node_rules.h: the node's rules for what peers send that do no I/O and need
 * neither libuv nor the database, so that the browser build (web/, which
 * compiles node_rules.c into pkc.wasm) applies exactly the native node's
 * rules (docs/protocol.md, "Node").
 */
#ifndef PKC_NODE_RULES_H
#define PKC_NODE_RULES_H

#include "pkc.h"

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

#endif
