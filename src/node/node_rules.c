/*
 * node_rules.c: the node's I/O-free rules for what peers send (node_rules.h),
 * shared by the native node and the browser build.
 */
#include <string.h>

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
