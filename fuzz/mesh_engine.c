/*
 * Fuzzes the mesh engine with whatever three connected neighbours send it:
 * the input is a sequence of records
 *   u8 op | u16be length | bytes
 * where op % 4 picks neighbour 0..2 (op % 4 == 3: advance the clock by
 * `length` milliseconds and run the timers). A peer never crashes on what
 * others send, and the invariants hold after every step: never more than
 * max_peers neighbours, the deadline is defined, statistics add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pkc_manual_clock clk;
    pkc_seeded_rng rng;
    pkc_manual_clock_init(&clk, 1000000, 1700000000000);
    pkc_seeded_rng_init(&rng, 7);
    pkc_mesh_config cfg;
    pkc_mesh_config_default(&cfg);
    cfg.max_peers = 4;
    cfg.target_peers = 3;
    pkc_mesh_callbacks cb = {0};
    cb.send = on_send;
    cb.signal = on_signal;
    uint8_t self[PKC_PEER_ID_HASH_BYTES] = {0x55};
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
