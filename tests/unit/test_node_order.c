/* test_node_order.c: the hold-back buffer that delivers each sender's text
 * broadcasts in the order sent (src/node/order.h), and the broadcast
 * envelope that numbers them. Times are passed in: no clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/order.h"
#include "test.h"

typedef struct got {
    char text[4096]; /* "A1 A2 B1 ..." in delivery order */
    size_t count;
} got;

static void on_deliver(void *ud, const node_order_msg *m)
{
    got *g = ud;
    size_t l = strlen(g->text);
    snprintf(g->text + l, sizeof g->text - l, "%s%.*s", l ? " " : "", (int)m->len,
             (const char *)m->text);
    g->count++;
}

/* Pushes sender `who`'s message `seq` of `epoch`, its text "<who><seq>". */
static int push(node_order *o, char who, uint64_t epoch, uint64_t seq, uint64_t now_s)
{
    node_order_msg m;
    memset(&m, 0, sizeof m);
    m.from[0] = (uint8_t)who;
    m.id[0] = (uint8_t)seq;
    char text[32];
    snprintf(text, sizeof text, "%c%llu", who, (unsigned long long)seq);
    m.text = (const uint8_t *)text;
    m.len = strlen(text);
    return node_order_push(o, epoch, seq, &m, now_s * 1000000ull);
}

TEST(node_order, in_order_goes_straight_through)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    for (uint64_t k = 1; k <= 3; k++)
        CHECK_OK(push(o, 'A', 100, k, 1));
    CHECK_STR(g.text, "A1 A2 A3");
    CHECK_EQ_U64(node_order_deadline(o), UINT64_MAX);
    node_order_free(o);
}

TEST(node_order, a_gap_that_fills_delivers_in_order)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    CHECK_OK(push(o, 'A', 100, 1, 1));
    CHECK_OK(push(o, 'A', 100, 3, 1));
    CHECK_OK(push(o, 'B', 7, 1, 1)); /* another sender is not held up */
    CHECK_OK(push(o, 'A', 100, 4, 2));
    CHECK_STR(g.text, "A1 B1");
    CHECK_EQ_U64(node_order_deadline(o), 1000000ull + NODE_ORDER_GAP_US);
    node_order_tick(o, 2000000); /* not yet */
    CHECK_STR(g.text, "A1 B1");
    CHECK_OK(push(o, 'A', 100, 2, 3));
    CHECK_STR(g.text, "A1 B1 A2 A3 A4");
    CHECK_EQ_U64(node_order_deadline(o), UINT64_MAX);
    node_order_stats st;
    node_order_get_stats(o, &st);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.held, 0);
    CHECK_EQ_U64(st.held_bytes, 0);
    node_order_free(o);
}

TEST(node_order, a_gap_that_does_not_fill_is_given_up_and_the_late_one_still_delivered)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    CHECK_OK(push(o, 'A', 100, 1, 0));
    CHECK_OK(push(o, 'A', 100, 3, 1));
    CHECK_OK(push(o, 'A', 100, 5, 2));
    CHECK_STR(g.text, "A1");
    /* 3 has waited the bound at 1 s + gap: 3 goes; 5 waits its own bound. */
    node_order_tick(o, 1000000 + NODE_ORDER_GAP_US);
    CHECK_STR(g.text, "A1 A3");
    CHECK_EQ_U64(node_order_deadline(o), 2000000 + NODE_ORDER_GAP_US);
    CHECK_OK(push(o, 'A', 100, 4, 3)); /* fills the second gap */
    CHECK_STR(g.text, "A1 A3 A4 A5");
    CHECK_OK(push(o, 'A', 100, 2, 20)); /* too late for its place: delivered anyway */
    CHECK_STR(g.text, "A1 A3 A4 A5 A2");
    CHECK_OK(push(o, 'A', 100, 6, 20));
    CHECK_STR(g.text, "A1 A3 A4 A5 A2 A6");
    node_order_stats st;
    node_order_get_stats(o, &st);
    CHECK_EQ_U64(st.gaps, 1);
    CHECK_EQ_U64(st.late, 1);
    CHECK_EQ_U64(st.delivered, 6);
    node_order_free(o);
}

TEST(node_order, a_first_message_after_one_waits_for_the_earlier_then_the_bound)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    CHECK_OK(push(o, 'A', 100, 2, 0)); /* 1 may still come */
    CHECK_STR(g.text, "");
    CHECK_OK(push(o, 'A', 100, 1, 1));
    CHECK_STR(g.text, "A1 A2");
    /* A sender heard from first in the middle of its epoch: held for the
     * bound, no longer. */
    CHECK_OK(push(o, 'B', 5, 40, 2));
    CHECK_OK(push(o, 'B', 5, 41, 2));
    CHECK_STR(g.text, "A1 A2");
    node_order_tick(o, 2000000 + NODE_ORDER_GAP_US);
    CHECK_STR(g.text, "A1 A2 B40 B41");
    CHECK_OK(push(o, 'B', 5, 42, 12));
    CHECK_STR(g.text, "A1 A2 B40 B41 B42");
    node_order_free(o);
}

TEST(node_order, a_sender_that_began_before_we_came_is_not_waited_for)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 1000, &o)); /* we came at 1000 */
    CHECK_OK(push(o, 'B', 999, 40, 0));                 /* 1..39 were before us */
    CHECK_OK(push(o, 'B', 999, 42, 0));
    CHECK_STR(g.text, "B40");
    CHECK_OK(push(o, 'B', 999, 41, 0));
    CHECK_STR(g.text, "B40 B41 B42");
    CHECK_OK(push(o, 'A', 1000, 2, 0)); /* began as we came: 1 is on its way */
    CHECK_STR(g.text, "B40 B41 B42");
    CHECK_OK(push(o, 'A', 1000, 1, 0));
    CHECK_STR(g.text, "B40 B41 B42 A1 A2");
    node_order_free(o);
}

TEST(node_order, a_restarted_sender_does_not_stall)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    CHECK_OK(push(o, 'A', 100, 1, 0));
    CHECK_OK(push(o, 'A', 100, 2, 0));
    CHECK_OK(push(o, 'A', 100, 4, 0)); /* 3 lost with the crash */
    /* The new epoch counts from 1 again: what the old one held goes out
     * first, then the new one in order. */
    CHECK_OK(push(o, 'A', 200, 1, 1));
    CHECK_OK(push(o, 'A', 200, 2, 1));
    CHECK_STR(g.text, "A1 A2 A4 A1 A2");
    /* A straggler of the old epoch: delivered as it comes, the new
     * epoch's order untouched. */
    CHECK_OK(push(o, 'A', 100, 3, 2));
    CHECK_OK(push(o, 'A', 200, 4, 2));
    CHECK_OK(push(o, 'A', 200, 3, 2));
    CHECK_STR(g.text, "A1 A2 A4 A1 A2 A3 A3 A4");
    CHECK_EQ_U64(node_order_deadline(o), UINT64_MAX);
    node_order_free(o);
}

TEST(node_order, the_same_number_twice_is_delivered_not_held_or_lost)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    CHECK_OK(push(o, 'A', 100, 1, 0));
    CHECK_OK(push(o, 'A', 100, 3, 0));
    CHECK_OK(push(o, 'A', 100, 3, 0)); /* another message numbered 3: out at once */
    CHECK_OK(push(o, 'A', 100, 1, 0)); /* another numbered 1: behind us, out at once */
    CHECK_STR(g.text, "A1 A3 A1");
    CHECK_OK(push(o, 'A', 100, 2, 0));
    CHECK_STR(g.text, "A1 A3 A1 A2 A3");
    node_order_free(o);
}

TEST(node_order, a_sender_jumping_far_ahead_is_not_waited_for)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    CHECK_OK(push(o, 'H', 9, 1, 0));
    CHECK_OK(push(o, 'H', 9, 5, 0));
    CHECK_OK(push(o, 'H', 9, 2 + NODE_ORDER_WINDOW + 1000, 0));
    /* Held 5 goes out, then the jump; nothing is held. */
    CHECK_STR(g.text, "H1 H5 H2026");
    CHECK_EQ_U64(node_order_deadline(o), UINT64_MAX);
    CHECK_OK(push(o, 'H', 9, UINT64_MAX >> 1, 0));
    CHECK_OK(push(o, 'H', 9, 7, 0)); /* far behind now: delivered */
    CHECK_EQ(g.count, 5);
    node_order_stats st;
    node_order_get_stats(o, &st);
    CHECK_EQ_U64(st.held, 0);
    node_order_free(o);
}

TEST(node_order, held_messages_are_bounded_per_sender_and_in_bytes)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    /* A hostile sender never sends 1 and sends 2, 3, ... within the window:
     * at most NODE_ORDER_HELD_MAX are held, the rest pushes the oldest out. */
    for (uint64_t k = 2; k < 2 + NODE_ORDER_HELD_MAX + 10; k++)
        CHECK_OK(push(o, 'H', 9, k, 0));
    node_order_stats st;
    node_order_get_stats(o, &st);
    CHECK(st.held <= NODE_ORDER_HELD_MAX);
    CHECK(g.count > 0);
    CHECK_EQ_U64(st.held + g.count, NODE_ORDER_HELD_MAX + 10);
    /* Big messages: the room's byte bound holds across senders. */
    static uint8_t big[60000];
    memset(big, 'x', sizeof big);
    for (unsigned s = 0; s < 200; s++) {
        node_order_msg m;
        memset(&m, 0, sizeof m);
        m.from[0] = 'S';
        m.from[1] = (uint8_t)s;
        m.text = big;
        m.len = sizeof big;
        CHECK_OK(node_order_push(o, 1, 2, &m, 1));
        node_order_get_stats(o, &st);
        CHECK(st.held_bytes <= NODE_ORDER_BYTES);
    }
    CHECK(st.held_bytes > NODE_ORDER_BYTES / 2);
    node_order_free(o); /* frees what is held (ASan checks) */
}

TEST(node_order, too_many_senders_forgets_the_quietest_after_delivering_its_own)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    CHECK_OK(push(o, 'Q', 1, 2, 0)); /* the quietest, holding one */
    for (unsigned s = 0; s < NODE_ORDER_SENDERS; s++) {
        node_order_msg m;
        memset(&m, 0, sizeof m);
        m.from[0] = 'S';
        m.from[1] = (uint8_t)s;
        m.from[2] = (uint8_t)(s >> 8);
        m.text = (const uint8_t *)"s";
        m.len = 1;
        CHECK_OK(node_order_push(o, 1, 1, &m, 1000000 + s));
    }
    CHECK(strstr(g.text, "Q2") != NULL);
    node_order_stats st;
    node_order_get_stats(o, &st);
    CHECK_EQ_U64(st.senders, NODE_ORDER_SENDERS);
    CHECK_EQ_U64(st.held, 0);
    node_order_free(o);
}

TEST(node_order, flush_delivers_everything_held_in_order)
{
    got g = {{0}, 0};
    node_order *o;
    CHECK_OK(node_order_new(on_deliver, &g, 0, &o));
    CHECK_OK(push(o, 'A', 1, 4, 0));
    CHECK_OK(push(o, 'A', 1, 2, 0));
    CHECK_OK(push(o, 'A', 1, 3, 0));
    CHECK_STR(g.text, "");
    node_order_flush(o);
    CHECK_STR(g.text, "A2 A3 A4");
    node_order_free(o);
}

TEST(node_order, the_envelope_round_trips_and_refuses_what_is_not_one)
{
    pkc_buf b = PKC_BUF_INIT;
    CHECK_OK(node_bcast_encode(&b, 0x0102030405060708ull, 300, "hi", 2));
    static const uint8_t want[] = {1, 1, 2, 3, 4, 5, 6, 7, 8, 0xac, 0x02, 'h', 'i'};
    CHECK_EQ(b.len, sizeof want);
    CHECK_MEM(b.data, want, sizeof want);
    uint64_t e = 0, s = 0;
    const uint8_t *t = NULL;
    size_t tl = 0;
    CHECK_OK(node_bcast_decode(b.data, b.len, &e, &s, &t, &tl));
    CHECK_EQ_U64(e, 0x0102030405060708ull);
    CHECK_EQ_U64(s, 300);
    CHECK_EQ(tl, 2);
    CHECK_MEM(t, "hi", 2);
    /* An empty text is allowed. */
    CHECK_OK(node_bcast_decode(want, 11, &e, &s, &t, &tl));
    CHECK_EQ(tl, 0);
    uint8_t bad[sizeof want];
    memcpy(bad, want, sizeof want);
    bad[0] = 2; /* another version */
    CHECK_ERR(node_bcast_decode(bad, sizeof bad, &e, &s, &t, &tl), PKC_ERR_MALFORMED);
    CHECK_ERR(node_bcast_decode(want, 10, &e, &s, &t, &tl), PKC_ERR_MALFORMED); /* cut seq */
    CHECK_ERR(node_bcast_decode(want, 5, &e, &s, &t, &tl), PKC_ERR_MALFORMED);
    static const uint8_t zero_epoch[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK_ERR(node_bcast_decode(zero_epoch, sizeof zero_epoch, &e, &s, &t, &tl), PKC_ERR_MALFORMED);
    static const uint8_t zero_seq[] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    CHECK_ERR(node_bcast_decode(zero_seq, sizeof zero_seq, &e, &s, &t, &tl), PKC_ERR_MALFORMED);
    static const uint8_t long_seq[] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0x81, 0x00}; /* not shortest */
    CHECK_ERR(node_bcast_decode(long_seq, sizeof long_seq, &e, &s, &t, &tl), PKC_ERR_MALFORMED);
    CHECK_EQ_U64(s, 300); /* untouched by failures */
    pkc_buf_free(&b);
}
