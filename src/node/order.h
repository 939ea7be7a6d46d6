/*
 * order.h: per-sender order of a room's text broadcasts (docs/node.md,
 * "Messages"; the envelope in docs/protocol.md, "Messages" under "Node").
 *
 * A sender numbers its text broadcasts in each room: an epoch (its start
 * time, wall ms: a restarted sender starts a new one) and a sequence number
 * counting from 1 in that epoch. The mesh delivers a message on its first
 * arrival over any link, so a receiver may get 8 after 11; the hold-back
 * buffer here passes each sender's messages on in the order sent:
 *   - the next one expected is delivered at once, with those held after it;
 *   - one further ahead is held until the gap fills, or until it has waited
 *     NODE_ORDER_GAP_US: then what is held is delivered (the gap logged),
 *     and a late one still arriving is delivered when it comes;
 *   - a newer epoch (the sender restarted) delivers what the older one held
 *     and starts again at 1; a message of an older epoch is delivered as is;
 *   - a sender first heard of is expected from 1 if its epoch began at or
 *     after `since` (we were there: its earlier texts are on their way),
 *     else from the number it came with (it began numbering before we came:
 *     the earlier ones may never come, and are not waited for);
 *   - bounds: a sender jumping more than NODE_ORDER_WINDOW ahead is not
 *     waited for; at most NODE_ORDER_HELD_MAX messages a sender and
 *     NODE_ORDER_BYTES bytes a room are held (past them the oldest gap is
 *     given up), and at most NODE_ORDER_SENDERS senders are tracked (the
 *     one heard from longest ago is forgotten, what it held delivered).
 * Nothing here reads a clock: times are passed in. Duplicates never reach
 * it (the replay window drops them); a sequence number held twice is
 * delivered at once.
 */
#ifndef PKC_NODE_ORDER_H
#define PKC_NODE_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define NODE_ORDER_GAP_US (8 * 1000000ull)
#define NODE_ORDER_WINDOW 1024
#define NODE_ORDER_HELD_MAX 128
#define NODE_ORDER_SENDERS 256
#define NODE_ORDER_BYTES (4u << 20)

/* The envelope of a text broadcast (topic ""), inside its encryption:
 * version 1 (1 byte), epoch (8 bytes big-endian, not 0), seq (varuint,
 * shortest form, 1 .. 2^63 - 1), then the text. */
#define NODE_BCAST_VERSION 1
#define NODE_BCAST_HEADER_MAX (1 + 8 + 10)
#define NODE_BCAST_SEQ_MAX ((1ull << 63) - 1)

int node_bcast_encode(pkc_buf *b, uint64_t epoch, uint64_t seq, const void *text, size_t len);
/* 0, or PKC_ERR_MALFORMED (outputs untouched). `text` borrows `data`. */
int node_bcast_decode(const uint8_t *data, size_t len, uint64_t *epoch, uint64_t *seq,
                      const uint8_t **text, size_t *text_len);

typedef struct node_order_msg {
    uint8_t id[16];
    uint8_t from[32]; /* the sender's public key */
    int64_t time_ms;
    const uint8_t *text;
    size_t len;
} node_order_msg;

/* The epoch a sender opens with its first text since it started (or since
 * it joined the room again): the wall clock's ms, above `*last` (the last
 * epoch it opened, in any room), which becomes it. */
uint64_t node_bcast_epoch_next(uint64_t *last, int64_t wall_ms);

struct pkc_message;
/* A text broadcast `m` (opened: its plaintext is the envelope) taken apart:
 * its epoch, number, and *om (borrowing `m`). 0, or PKC_ERR_MALFORMED. */
int node_bcast_open(const struct pkc_message *m, uint64_t *epoch, uint64_t *seq,
                    node_order_msg *om);

/* Called for each message released, in the order released. The buffer is
 * consistent during the call; the callback must not call back into it. */
typedef void (*node_order_fn)(void *user_data, const node_order_msg *m);

typedef struct node_order node_order;

/* `since`: wall ms from which we hear the room (our start in it). */
int node_order_new(node_order_fn fn, void *user_data, uint64_t since, node_order **out);
/* Frees without delivering (node_order_flush first to deliver). */
void node_order_free(node_order *o);
/* Delivers everything held, sender by sender in order. */
void node_order_flush(node_order *o);
/* A message of `epoch`, `seq` received at `now_us`: delivered now, or held.
 * 0, or PKC_ERR_NOMEM (then it was delivered at once). */
int node_order_push(node_order *o, uint64_t epoch, uint64_t seq, const node_order_msg *m,
                    uint64_t now_us);
/* Gives up the gaps that have waited NODE_ORDER_GAP_US by `now_us`. */
void node_order_tick(node_order *o, uint64_t now_us);
/* When node_order_tick has something to do next, or UINT64_MAX. */
uint64_t node_order_deadline(const node_order *o);

typedef struct node_order_stats {
    size_t senders, held, held_bytes;
    uint64_t delivered, late, gaps; /* late: after its gap was given up */
} node_order_stats;
void node_order_get_stats(const node_order *o, node_order_stats *st);

#endif
