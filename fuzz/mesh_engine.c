/*
 * Fuzzes the mesh engine with whatever three connected neighbours send it:
 * the input is a sequence of records
 *   u8 op | u16be length | bytes
 * where op % 4 picks neighbour 0..2 (op % 4 == 3: advance the clock by
 * `length` milliseconds and run the timers). With bit 0x80 set, the bytes
 * (u8 signal op, u8 nonce, then the op's fields) become a SIGNAL from a
 * remote peer, routed through that neighbour and validly signed, so that
 * what lies behind the signature check is fuzzed too. A peer never crashes
 * on what others send, and the invariants hold after every step: never more
 * than max_peers neighbours, the deadline is defined, statistics add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "crypto/peerid.h"
#include "mesh/wire.h"
#include "pkc.h"
#include "util/clock.h"
#include "util/rng.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static size_t sent;

static void on_send(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    (void)ud;
    (void)peer;
    check(data != NULL && len > 0);
    sent++;
}

static void on_signal(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    (void)ud;
    (void)peer;
    (void)data;
    (void)len;
}

/* ROUTE(SIGNAL) from `remote` through neighbour `via` to `self`. */
static void signed_signal(pkc_mesh *m, const pkc_identity *remote, const uint8_t *via,
                          const uint8_t *self, int64_t now_ms, const uint8_t *b, size_t n)
{
    if (n < 2)
        return;
    uint8_t rid[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_hash(pkc_identity_get_public_key(remote), rid);
    pkc_buf body = PKC_BUF_INIT, tbs = PKC_BUF_INIT, out = PKC_BUF_INIT;
    pkc_buf_push_u8(&body, b[0]);
    pkc_buf_push_varuint(&body, b[1]);
    pkc_buf_push_varuint(&body, (uint64_t)now_ms);
    pkc_buf_push(&body, pkc_identity_get_public_key(remote), MESH_PK_LEN);
    pkc_buf_push(&body, b + 2, n - 2);
    mesh_signal_signed_data(&tbs, rid, self, body.data, body.len);
    uint8_t sig[MESH_SIG_LEN];
    pkc_identity_sign_labeled(remote, MESH_SIGNAL_LABEL, tbs.data, tbs.len, sig);
    pkc_buf_push(&body, sig, sizeof sig);
    uint8_t path[2 * MESH_ID_LEN];
    memcpy(path, rid, MESH_ID_LEN);
    memcpy(path + MESH_ID_LEN, via, MESH_ID_LEN);
    mesh_msg r;
    memset(&r, 0, sizeof r);
    r.type = MESH_ROUTE;
    r.u.route.kind = MESH_RK_SIGNAL;
    r.u.route.target = self;
    r.u.route.path.len = 2;
    r.u.route.path.ids = path;
    r.u.route.payload = body.data;
    r.u.route.len = body.len;
    mesh_msg_encode(&out, &r);
    if (!out.err)
        (void)pkc_mesh_receive(m, via, out.data, out.len);
    pkc_buf_free(&body);
    pkc_buf_free(&tbs);
    pkc_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pkc_manual_clock clk;
    pkc_seeded_rng rng;
    pkc_manual_clock_init(&clk, 1000000, 1700000000000);
    pkc_seeded_rng_init(&rng, 7);
    pkc_mesh_config cfg;
    pkc_mesh_config_default(&cfg);
    cfg.max_peers = 5; /* three inbound neighbours fit beside the two outbound slots kept */
    cfg.target_peers = 3;
    pkc_mesh_callbacks cb = {0};
    cb.send = on_send;
    cb.signal = on_signal;
    static pkc_identity *self; /* made once: key generation is not what is fuzzed */
    if (!self) {
        uint8_t seed[32] = {0x55};
        check(pkc_identity_from_seed(seed, &self) == 0);
    }
    static pkc_identity *remote;
    if (!remote) {
        uint8_t seed[32] = {0x66};
        check(pkc_identity_from_seed(seed, &remote) == 0);
    }
    uint8_t self_id[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_hash(pkc_identity_get_public_key(self), self_id);
    uint8_t nb[3][PKC_PEER_ID_HASH_BYTES] = {{1}, {2}, {3}};
    pkc_mesh *m = NULL;
    check(pkc_mesh_new(&cfg, &cb, NULL, self, &clk.clock, &rng.rng, &m) == 0);
    for (int i = 0; i < 3; i++)
        check(pkc_mesh_peer_connected(m, nb[i], nb[i], 1) == 0);
    size_t at = 0;
    while (at + 3 <= size) {
        uint8_t op = data[at];
        size_t len = (size_t)data[at + 1] << 8 | data[at + 2];
        at += 3;
        if (op % 4 == 3) {
            pkc_manual_clock_advance(&clk, (uint64_t)len * 1000);
            check(pkc_mesh_tick(m) == 0);
        } else {
            if (len > size - at)
                len = size - at;
            if (op & 0x80)
                signed_signal(m, remote, nb[op % 4], self_id, clk.wall_ms, data + at, len);
            else
                (void)pkc_mesh_receive(m, nb[op % 4], data + at, len);
            at += len;
        }
        pkc_mesh_stats st;
        pkc_mesh_get_stats(m, &st);
        check(st.connected_peers <= cfg.max_peers);
        check(st.connected_peers + st.pending_connections <= cfg.max_peers);
        check(pkc_mesh_get_peers(m, NULL, 0) == st.connected_peers);
        check(pkc_mesh_get_deadline(m) > 0);
    }
    pkc_mesh_free(m);
    return 0;
}
