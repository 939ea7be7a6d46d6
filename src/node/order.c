/*
 * order.c: the hold-back buffer that passes each sender's text broadcasts
 * on in the order sent (order.h).
 */
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "util/err.h"
#include "util/log.h"
#include "node/order.h"

uint64_t node_bcast_epoch_next(uint64_t *last, int64_t wall_ms)
{
    uint64_t e = wall_ms > 0 ? (uint64_t)wall_ms : 0;
    *last = e > *last ? e : *last + 1;
    return *last;
}

int node_bcast_open(const pkc_message *m, uint64_t *epoch, uint64_t *seq, node_order_msg *om)
{
    int rc = node_bcast_decode(m->plaintext.data, m->plaintext.len, epoch, seq, &om->text,
                               &om->len);
    if (rc)
        return rc;
    memcpy(om->id, m->id, sizeof om->id);
    memcpy(om->from, m->from, sizeof om->from);
    om->time_ms = (int64_t)m->timestamp_ms;
    return 0;
}

#define LOG "node"

int node_bcast_encode(pkc_buf *b, uint64_t epoch, uint64_t seq, const void *text, size_t len)
{
    pkc_buf_push_u8(b, NODE_BCAST_VERSION);
    pkc_buf_push_u64be(b, epoch);
    pkc_buf_push_varuint(b, seq);
    if (len)
        pkc_buf_push(b, text, len);
    return b->err;
}

int node_bcast_decode(const uint8_t *data, size_t len, uint64_t *epoch, uint64_t *seq,
                      const uint8_t **text, size_t *text_len)
{
    pkc_reader r;
    pkc_reader_init(&r, data, len);
    uint8_t v;
    uint64_t e, s;
    if (pkc_reader_u8(&r, &v) || v != NODE_BCAST_VERSION)
        return pkc_error(PKC_ERR_MALFORMED, "broadcast: not an envelope of version %d",
                         NODE_BCAST_VERSION);
    if (pkc_reader_u64be(&r, &e) || e == 0)
        return pkc_error(PKC_ERR_MALFORMED, "broadcast: no epoch");
    size_t at = pkc_reader_offset(&r);
    if (pkc_reader_varuint_max(&r, NODE_BCAST_SEQ_MAX, &s) || s == 0 ||
        pkc_reader_offset(&r) - at != pkc_varuint_size(s))
        return pkc_error(PKC_ERR_MALFORMED, "broadcast: sequence number not 1..2^63-1, shortest");
    *epoch = e;
    *seq = s;
    *text_len = pkc_reader_left(&r);
    *text = *text_len ? data + pkc_reader_offset(&r) : data;
    return 0;
}

typedef struct held {
    uint64_t seq;
    uint64_t at; /* when it was held */
    node_order_msg m;
    uint8_t data[];
} held;

typedef struct sender {
    uint8_t from[32];
    int used;
    uint64_t epoch;
    uint64_t next; /* the sequence number to deliver next */
    uint64_t last_us;
    held *h[NODE_ORDER_HELD_MAX]; /* by sequence number */
    size_t n;
} sender;

struct node_order {
    node_order_fn fn;
    void *ud;
    sender *s; /* NODE_ORDER_SENDERS */
    uint64_t since;
    size_t bytes;
    node_order_stats st;
};

int node_order_new(node_order_fn fn, void *user_data, uint64_t since, node_order **out)
{
    node_order *o = calloc(1, sizeof *o);
    if (o)
        o->s = calloc(NODE_ORDER_SENDERS, sizeof *o->s);
    if (o == NULL || o->s == NULL) {
        free(o);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    o->fn = fn;
    o->ud = user_data;
    o->since = since;
    *out = o;
    return 0;
}

void node_order_free(node_order *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < NODE_ORDER_SENDERS; i++)
        for (size_t k = 0; k < o->s[i].n; k++)
            free(o->s[i].h[k]);
    free(o->s);
    free(o);
}

static void who(const uint8_t from[32], char out[PKC_PEER_ID_SIZE])
{
    pkc_peer_id_from_public_key(from, out);
}

/* Takes the first held message off `s` and delivers it. */
static void pop_deliver(node_order *o, sender *s)
{
    held *x = s->h[0];
    memmove(s->h, s->h + 1, (s->n - 1) * sizeof *s->h);
    s->n--;
    o->bytes -= x->m.len;
    if (x->seq >= s->next)
        s->next = x->seq + 1;
    o->st.delivered++;
    o->fn(o->ud, &x->m);
    free(x);
}

/* Delivers the held messages that are next in order. */
static void release_run(node_order *o, sender *s)
{
    while (s->n && s->h[0]->seq <= s->next)
        pop_deliver(o, s);
}

/* Stops waiting for the first gap of `s`: what follows it is delivered up
 * to the next gap. */
static void give_up(node_order *o, sender *s, const char *why)
{
    if (s->n == 0)
        return;
    char id[PKC_PEER_ID_SIZE];
    who(s->from, id);
    uint64_t first = s->h[0]->seq;
    pkc_logi(LOG, "broadcasts %llu..%llu of %s (epoch %llu) missing (%s): delivering those after",
             (unsigned long long)s->next, (unsigned long long)(first - 1), id,
             (unsigned long long)s->epoch, why);
    o->st.gaps++;
    s->next = first;
    release_run(o, s);
}

static void give_up_all(node_order *o, sender *s, const char *why)
{
    while (s->n)
        give_up(o, s, why);
}

static void deliver_now(node_order *o, const node_order_msg *m)
{
    o->st.delivered++;
    o->fn(o->ud, m);
}

static uint64_t oldest_at(const sender *s)
{
    uint64_t t = UINT64_MAX;
    for (size_t k = 0; k < s->n; k++)
        if (s->h[k]->at < t)
            t = s->h[k]->at;
    return t;
}

static sender *sender_get(node_order *o, const uint8_t from[32], uint64_t now)
{
    sender *free_slot = NULL, *stale = NULL;
    for (size_t i = 0; i < NODE_ORDER_SENDERS; i++) {
        sender *s = &o->s[i];
        if (!s->used) {
            if (!free_slot)
                free_slot = s;
            continue;
        }
        if (memcmp(s->from, from, 32) == 0)
            return s;
        if (!stale || s->last_us < stale->last_us)
            stale = s;
    }
    sender *s = free_slot;
    if (s == NULL) {
        /* Forget the sender heard from longest ago: what it held goes out. */
        s = stale;
        give_up_all(o, s, "too many senders to track");
        o->st.senders--;
    }
    memset(s, 0, sizeof *s);
    s->used = 1;
    memcpy(s->from, from, 32);
    s->last_us = now;
    o->st.senders++;
    return s;
}

/* Holds `m`; 0, or 1 if its sequence number is already held, -1 without
 * memory: then it must be delivered now. */
static int hold(node_order *o, sender *s, uint64_t seq, const node_order_msg *m, uint64_t now)
{
    size_t k = 0;
    while (k < s->n && s->h[k]->seq < seq)
        k++;
    if (k < s->n && s->h[k]->seq == seq)
        return 1;
    held *x = malloc(sizeof *x + (m->len ? m->len : 1));
    if (x == NULL)
        return -1;
    x->seq = seq;
    x->at = now;
    x->m = *m;
    if (m->len)
        memcpy(x->data, m->text, m->len);
    x->m.text = x->data;
    memmove(s->h + k + 1, s->h + k, (s->n - k) * sizeof *s->h);
    s->h[k] = x;
    s->n++;
    o->bytes += m->len;
    return 0;
}

/* The sender whose oldest held message has waited longest. */
static sender *oldest_gap(node_order *o)
{
    sender *best = NULL;
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < NODE_ORDER_SENDERS; i++) {
        sender *s = &o->s[i];
        if (s->used && s->n && oldest_at(s) < t) {
            t = oldest_at(s);
            best = s;
        }
    }
    return best;
}

int node_order_push(node_order *o, uint64_t epoch, uint64_t seq, const node_order_msg *m,
                    uint64_t now_us)
{
    sender *s = sender_get(o, m->from, now_us);
    s->last_us = now_us;
    if (s->epoch == 0) {
        /* First heard of: if it began numbering before we were here, what
         * came before this one may never reach us. */
        s->epoch = epoch;
        s->next = epoch >= o->since ? 1 : seq;
    } else if (epoch < s->epoch) {
        o->st.late++;
        deliver_now(o, m); /* from before the sender restarted */
        return 0;
    } else if (epoch > s->epoch) {
        give_up_all(o, s, "the sender restarted");
        s->epoch = epoch;
        s->next = 1;
    }
    if (seq < s->next) {
        o->st.late++;
        char id[PKC_PEER_ID_SIZE];
        who(m->from, id);
        pkc_logi(LOG, "broadcast %llu of %s arrived after its gap was given up",
                 (unsigned long long)seq, id);
        deliver_now(o, m);
        return 0;
    }
    if (seq == s->next) {
        s->next++;
        deliver_now(o, m);
        release_run(o, s);
        return 0;
    }
    if (seq - s->next > NODE_ORDER_WINDOW) {
        /* Too far ahead to wait for: everything before it is given up. */
        give_up_all(o, s, "the sender jumped ahead");
        if (s->next < seq) {
            char id[PKC_PEER_ID_SIZE];
            who(m->from, id);
            pkc_logi(LOG, "broadcasts %llu..%llu of %s missing (it jumped ahead)",
                     (unsigned long long)s->next, (unsigned long long)(seq - 1), id);
            o->st.gaps++;
        }
        s->next = seq + 1;
        deliver_now(o, m);
        return 0;
    }
    while (s->n == NODE_ORDER_HELD_MAX && seq > s->next)
        give_up(o, s, "too many held");
    if (seq <= s->next) {
        if (seq == s->next)
            s->next++;
        deliver_now(o, m);
        release_run(o, s);
        return 0;
    }
    int rc = hold(o, s, seq, m, now_us);
    if (rc) {
        deliver_now(o, m);
        return rc < 0 ? pkc_error_code(PKC_ERR_NOMEM) : 0;
    }
    sender *g;
    while (o->bytes > NODE_ORDER_BYTES && (g = oldest_gap(o)) != NULL)
        give_up(o, g, "too many bytes held");
    return 0;
}

uint64_t node_order_deadline(const node_order *o)
{
    uint64_t d = UINT64_MAX;
    for (size_t i = 0; i < NODE_ORDER_SENDERS; i++) {
        const sender *s = &o->s[i];
        if (s->used && s->n) {
            uint64_t t = oldest_at(s) + NODE_ORDER_GAP_US;
            if (t < d)
                d = t;
        }
    }
    return d;
}

void node_order_tick(node_order *o, uint64_t now_us)
{
    for (size_t i = 0; i < NODE_ORDER_SENDERS; i++) {
        sender *s = &o->s[i];
        while (s->used && s->n && oldest_at(s) + NODE_ORDER_GAP_US <= now_us)
            give_up(o, s, "waited too long");
    }
}

void node_order_flush(node_order *o)
{
    for (size_t i = 0; i < NODE_ORDER_SENDERS; i++)
        if (o->s[i].used)
            give_up_all(o, &o->s[i], "delivered before closing");
}

void node_order_get_stats(const node_order *o, node_order_stats *st)
{
    *st = o->st;
    st->held = 0;
    for (size_t i = 0; i < NODE_ORDER_SENDERS; i++)
        st->held += o->s[i].used ? o->s[i].n : 0;
    st->held_bytes = o->bytes;
}
