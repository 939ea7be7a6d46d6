/*
 * Fuzzes the envelope of a text broadcast (src/node/order.h) and the
 * hold-back buffer behind it. The input is first decoded as an envelope: a
 * failure leaves the outputs untouched; what is accepted re-encodes to
 * exactly the same bytes. Then the input drives the buffer as a peer would:
 * 5-byte steps (sender 0..7, epoch 1..4 (we came at 3), sequence number as a signed
 * distance from the sender's last one, time advanced 0..255 x 100 ms). Every
 * message pushed is delivered exactly once by the final flush, never more
 * than the bounds are held, and nothing is held after the flush.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/order.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

typedef struct counts {
    uint32_t pushed, delivered;
    uint8_t seen[4096 / 8];
} counts;

static void on_deliver(void *ud, const node_order_msg *m)
{
    counts *c = ud;
    uint32_t k = (uint32_t)m->id[0] | (uint32_t)m->id[1] << 8;
    check(k < c->pushed);
    check(!(c->seen[k / 8] & (1u << (k % 8)))); /* once */
    c->seen[k / 8] |= (uint8_t)(1u << (k % 8));
    c->delivered++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t e = 77, s = 77;
    const uint8_t *t = NULL;
    size_t tl = 77;
    if (node_bcast_decode(data, size, &e, &s, &t, &tl) != 0) {
        check(e == 77 && s == 77 && t == NULL && tl == 77);
    } else {
        check(e != 0 && s != 0 && s <= NODE_BCAST_SEQ_MAX && tl <= size);
        pkc_buf b = PKC_BUF_INIT;
        check(node_bcast_encode(&b, e, s, t, tl) == 0);
        check(b.len == size && memcmp(b.data, data, size) == 0);
        pkc_buf_free(&b);
    }

    counts *c = calloc(1, sizeof *c);
    node_order *o = NULL;
    if (c == NULL || node_order_new(on_deliver, c, 3, &o) != 0) {
        free(c);
        return 0;
    }
    uint64_t last[8] = {0}, now = 0;
    for (size_t i = 0; i + 5 <= size && c->pushed < 4096; i += 5) {
        const uint8_t *p = data + i;
        unsigned who = p[0] & 7;
        uint64_t epoch = 1 + ((p[0] >> 3) & 3);
        int16_t d = (int16_t)(p[1] | p[2] << 8);
        uint64_t seq;
        if (d < 0)
            seq = last[who] > (uint64_t)-d ? last[who] - (uint64_t)-d : 1;
        else
            seq = last[who] < NODE_BCAST_SEQ_MAX - (uint64_t)d ? last[who] + (uint64_t)d
                                                               : NODE_BCAST_SEQ_MAX;
        if (seq == 0)
            seq = 1;
        if (p[0] & 0x80)
            seq = NODE_BCAST_SEQ_MAX - p[1]; /* far ahead */
        last[who] = seq;
        now += (uint64_t)p[3] * 100000;
        node_order_msg m;
        memset(&m, 0, sizeof m);
        m.id[0] = (uint8_t)c->pushed;
        m.id[1] = (uint8_t)(c->pushed >> 8);
        m.from[0] = (uint8_t)who;
        m.text = p;
        m.len = p[4] & 3;
        c->pushed++;
        node_order_push(o, epoch, seq, &m, now);
        if (p[4] & 0x80)
            node_order_tick(o, now);
        node_order_stats st;
        node_order_get_stats(o, &st);
        check(st.held_bytes <= NODE_ORDER_BYTES && st.senders <= NODE_ORDER_SENDERS);
        check(st.held + c->delivered == c->pushed && st.held <= 8 * NODE_ORDER_HELD_MAX);
        check(st.held == 0 || node_order_deadline(o) != UINT64_MAX);
    }
    node_order_flush(o);
    check(c->delivered == c->pushed);
    node_order_stats st;
    node_order_get_stats(o, &st);
    check(st.held == 0 && st.held_bytes == 0);
    node_order_free(o);
    free(c);
    return 0;
}
