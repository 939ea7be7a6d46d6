/*
 * Fuzzes the mesh message decoder (src/mesh/wire.c), and the ROUTE body
 * decoder for the kind the message names. Property: an accepted message
 * re-encodes to bytes that decode again and re-encode to the same bytes
 * (a fixed point after one round), never longer than the input (writers use
 * the shortest varints; readers also accept longer ones).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/wire.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void roundtrip_body(uint8_t kind, const uint8_t *data, size_t len)
{
    mesh_route_body rb, rb2;
    if (mesh_route_body_decode(&rb, kind, data, len) != 0)
        return;
    pkc_buf b1 = PKC_BUF_INIT, b2 = PKC_BUF_INIT;
    check(mesh_route_body_encode(&b1, &rb) == 0);
    check(b1.len <= len);
    check(mesh_route_body_decode(&rb2, kind, b1.data, b1.len) == 0);
    check(mesh_route_body_encode(&b2, &rb2) == 0);
    check(b1.len == b2.len && (b1.len == 0 || memcmp(b1.data, b2.data, b1.len) == 0));
    pkc_buf_free(&b1);
    pkc_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mesh_msg m, m2;
    if (mesh_msg_decode(&m, data, size) != 0)
        return 0;
    pkc_buf b1 = PKC_BUF_INIT, b2 = PKC_BUF_INIT;
    check(mesh_msg_encode(&b1, &m) == 0);
    check(b1.len <= size);
    check(mesh_msg_decode(&m2, b1.data, b1.len) == 0);
    check(m2.type == m.type);
    check(mesh_msg_encode(&b2, &m2) == 0);
    check(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    if (m.type == MESH_ROUTE)
        roundtrip_body(m.u.route.kind, m.u.route.payload, m.u.route.len);
    pkc_buf_free(&b1);
    pkc_buf_free(&b2);
    return 0;
}
