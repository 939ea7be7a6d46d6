/*
 * Fuzzes the decoder of a `nat` message's payload (src/node/node_nat.c):
 * the addresses a peer says it moved to. A failure leaves the count
 * untouched; what it accepts holds 1..8 addresses that a LAN announcement
 * may carry and re-encodes to exactly the same bytes.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/lan_wire.h"
#include "node/node_int.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char addrs[NODE_ADDRS_MAX][64];
    size_t count = 12345;
    if (node_nat_addrs_decode(data, size, addrs, &count) != 0) {
        check(count == 12345);
        return 0;
    }
    check(count >= 1 && count <= NODE_ADDRS_MAX);
    const char *p[NODE_ADDRS_MAX];
    for (size_t i = 0; i < count; i++) {
        check(pkc_lan_address_valid(addrs[i], strlen(addrs[i])));
        p[i] = addrs[i];
    }
    pkc_buf b;
    pkc_buf_init(&b);
    node_nat_addrs_encode(&b, p, count);
    check(b.err == 0 && b.len == size && memcmp(b.data, data, size) == 0);
    pkc_buf_free(&b);
    return 0;
}
