/*
 * peer.c: one pkc node, a process of its own (bench_node.h), the
 * counterpart of bench/node/ywebrtc/peer.mjs.
 *
 *   bench-node peer DATA_DIR MAX_PEERS WANT_TEXT
 *
 * A node in the local room (the namespace that bench/node/run gives holds
 * only this run's nodes) with LAN discovery on (with only lo, through the
 * host registry: the driver points XDG_RUNTIME_DIR at a directory of its
 * own), running on a thread of its own (pkc_node_start); this thread reads
 * commands on stdin and calls the API, as a program embedding pkc does.
 * WANT_TEXT > 0: emit "text" once document "bench"'s Y.Text "text" holds
 * that many characters, checked against bench_text().
 *
 * The control socket is on, as in `pkc up`.
 *
 * Events (stdout, one JSON object per line, t first): joining (before
 * pkc_node_new), started, connected {n}, closed {n}, recv {id, sent},
 * counting (want_count is in force), count {n}, filled, text {ok, length}, rss {rss_kib, anon_kib},
 * peers {n, ids}, error {message}.
 * Commands (stdin): ping ID, burst N SIZE, want_count N, fill BYTES, rss,
 * peers, exit.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkc.h"
#include "bench_node.h"

#define DOC_NAME "bench"
#define TEXT_NAME "text"

static pkc_node *node;
static const char *self_id;
static atomic_int neighbours;
static atomic_ulong burst_seen;
static atomic_ulong burst_want;
static size_t want_text;
static char *expected;
static atomic_int text_done;

/* One event: a whole line in one write() (callbacks run on the node's
 * thread, commands on this one). */
static void emit(const char *ev, const char *fmt, ...) PKC_PRINTF(2, 3);
static void emit(const char *ev, const char *fmt, ...)
{
    double t = bench_now_us();
    char line[4096];
    int n = snprintf(line, sizeof line, "{\"t\":%.1f,\"ev\":\"%s\"", t, ev);
    if (fmt && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (n > (int)sizeof line - 3)
        n = (int)sizeof line - 3;
    line[n++] = '}';
    line[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(1, line + off, (size_t)(n - off));
        if (w <= 0)
            _exit(1); /* the driver is gone */
        off += (int)w;
    }
}

static void on_peer(void *ud, pkc_node *nd, const pkc_node_peer_event *ev)
{
    (void)ud;
    (void)nd;
    int k =
        ev->connected ? atomic_fetch_add(&neighbours, 1) + 1 : atomic_fetch_sub(&neighbours, 1) - 1;
    emit(ev->connected ? "connected" : "closed", ",\"peer\":\"%s\",\"n\":%d", ev->peer_id, k);
}

static void on_message(void *ud, pkc_node *nd, const pkc_node_message *m)
{
    (void)ud;
    (void)nd;
    double t = bench_now_us(); /* first thing: the receiver's time */
    if (strcmp(m->from, self_id) == 0 || m->len == 0)
        return; /* our own broadcast, stored in our inbox */
    if (m->data[0] == 'p') {
        char buf[64];
        size_t len = m->len < sizeof buf - 1 ? m->len : sizeof buf - 1;
        memcpy(buf, m->data, len);
        buf[len] = 0;
        unsigned long id;
        double sent;
        if (sscanf(buf, "p%lu %lf", &id, &sent) == 2) {
            char line[128];
            snprintf(line, sizeof line, "{\"t\":%.1f,\"ev\":\"recv\",\"id\":%lu,\"sent\":%.1f}\n",
                     t, id, sent);
            if (write(1, line, strlen(line)) < 0)
                _exit(1);
        }
    } else if (m->data[0] == 'b') {
        unsigned long seen = atomic_fetch_add(&burst_seen, 1) + 1;
        unsigned long want = atomic_load(&burst_want);
        if (want && seen >= want && atomic_compare_exchange_strong(&burst_want, &want, 0))
            emit("count", ",\"n\":%lu", seen);
    }
}

static int check_text(void *ud, pkc_ydoc *doc, pkc_ytxn *txn)
{
    (void)txn;
    (void)ud;
    pkc_ytype *text;
    int rc = pkc_ydoc_get(doc, TEXT_NAME, PKC_YTEXT, &text);
    if (rc)
        return rc;
    size_t len = pkc_ytype_get_length(text);
    if (len < want_text)
        return 0;
    double t = bench_now_us();
    char *s = NULL;
    size_t n = 0;
    if ((rc = pkc_ytext_to_string(text, &s, &n)))
        return rc;
    int ok = n == want_text && memcmp(s, expected, n) == 0;
    free(s);
    atomic_store(&text_done, 1);
    char line[128];
    snprintf(line, sizeof line, "{\"t\":%.1f,\"ev\":\"text\",\"ok\":%s,\"length\":%zu}\n", t,
             ok ? "true" : "false", len);
    if (write(1, line, strlen(line)) < 0)
        _exit(1);
    return 0;
}

static void on_doc(void *ud, pkc_node *nd, const char *room, const char *doc, int local)
{
    (void)ud;
    if (local || !want_text || atomic_load(&text_done) || strcmp(doc, DOC_NAME) != 0)
        return;
    /* On the node's thread: runs at once. */
    if (pkc_node_doc_transact(nd, room, DOC_NAME, check_text, NULL) != 0)
        emit("error", ",\"message\":\"text check: %s\"", pkc_errmsg());
}

static int fill(void *ud, pkc_ydoc *doc, pkc_ytxn *txn)
{
    size_t bytes = *(size_t *)ud;
    char *s = bench_text(bytes);
    if (s == NULL)
        return PKC_ERR_NOMEM;
    pkc_ytype *text;
    int rc = pkc_ydoc_get(doc, TEXT_NAME, PKC_YTEXT, &text);
    if (rc == 0)
        rc = pkc_ytext_insert(txn, text, 0, s, bytes, NULL, 0);
    free(s);
    return rc;
}

static void rss(void)
{
    long vm, anon;
    bench_self_rss(&vm, &anon);
    emit("rss", ",\"rss_kib\":%ld,\"anon_kib\":%ld", vm, anon);
}

static void peers(void)
{
    pkc_node_peer_info info[32];
    size_t n = pkc_node_get_peers(node, info, 32);
    char ids[32 * (PKC_PEER_ID_SIZE + 3) + 1];
    size_t off = 0;
    ids[0] = 0;
    for (size_t i = 0; i < n && i < 32; i++)
        off += (size_t)snprintf(ids + off, sizeof ids - off, "%s\"%s\"", i ? "," : "",
                                info[i].peer_id);
    emit("peers", ",\"n\":%zu,\"ids\":[%s]", n, ids);
}

/* BATCH broadcasts per pkc_node_batch: one commit and one hand-over to the
 * node's thread per batch, as y-webrtc's side makes 100 transactions per
 * event-loop turn. */
#define BATCH 100

typedef struct burst_batch {
    const char *payload;
    size_t size;
    unsigned long count;
} burst_batch;

static int burst_fn(void *ud, pkc_node *nd)
{
    burst_batch *b = ud;
    for (unsigned long i = 0; i < b->count; i++) {
        int rc = pkc_node_broadcast(nd, NULL, b->payload, b->size, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static void burst(unsigned long n, size_t size)
{
    char payload[1024];
    if (size < 1 || size > sizeof payload)
        size = 32;
    memset(payload, 'x', size);
    payload[0] = 'b';
    emit("burst_start", NULL);
    for (unsigned long i = 0; i < n; i += BATCH) {
        burst_batch b = {payload, size, n - i < BATCH ? n - i : BATCH};
        int rc = pkc_node_batch(node, burst_fn, &b);
        if (rc) {
            emit("error", ",\"message\":\"batch at %lu: %s\"", i, pkc_errmsg());
            return;
        }
    }
    emit("burst_sent", NULL);
}

static void command(char *line)
{
    unsigned long a = 0, b = 0;
    if (sscanf(line, "ping %lu", &a) == 1) {
        char msg[64];
        int len = snprintf(msg, sizeof msg, "p%lu %.1f", a, bench_now_us());
        if (pkc_node_broadcast(node, NULL, msg, (size_t)len, NULL) != 0)
            emit("error", ",\"message\":\"ping: %s\"", pkc_errmsg());
    } else if (sscanf(line, "burst %lu %lu", &a, &b) == 2) {
        burst(a, b);
    } else if (sscanf(line, "want_count %lu", &a) == 1) {
        atomic_store(&burst_seen, 0);
        atomic_store(&burst_want, a);
        emit("counting", NULL); /* the driver starts the burst only now */
    } else if (sscanf(line, "fill %lu", &a) == 1) {
        size_t bytes = a;
        if (pkc_node_doc_transact(node, NULL, DOC_NAME, fill, &bytes) != 0)
            emit("error", ",\"message\":\"fill: %s\"", pkc_errmsg());
        else
            emit("filled", ",\"length\":%zu", bytes);
    } else if (strncmp(line, "rss", 3) == 0) {
        rss();
    } else if (strncmp(line, "peers", 5) == 0) {
        peers();
    } else if (strncmp(line, "exit", 4) == 0) {
        pkc_node_free(node);
        exit(0);
    } else {
        emit("error", ",\"message\":\"unknown command\"");
    }
}

int bench_peer_main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench-node peer DATA_DIR MAX_PEERS [WANT_TEXT]\n");
        return 2;
    }
    want_text = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
    if (want_text && (expected = bench_text(want_text)) == NULL)
        return 1; /* computed now, not while the sync is timed */
    pkc_node_config cfg;
    pkc_node_config_default(&cfg);
    cfg.data_dir = argv[1];
    cfg.max_peers = (unsigned)strtoul(argv[2], NULL, 10);
    pkc_node_callbacks cb = {on_peer, on_message, NULL, on_doc, NULL, NULL};
    emit("joining", NULL);
    int rc = pkc_node_new(&cfg, &cb, NULL, &node);
    if (rc == 0 && (self_id = pkc_node_get_peer_id(node)) != NULL)
        rc = pkc_node_start(node);
    if (rc) {
        fprintf(stderr, "bench-node peer: %s\n", pkc_errmsg());
        emit("error", ",\"message\":\"start\"");
        return 1;
    }
    emit("started", ",\"id\":\"%s\",\"port\":%u", self_id, (unsigned)pkc_node_get_port(node));
    char line[256];
    while (fgets(line, sizeof line, stdin))
        command(line);
    pkc_node_free(node);
    return 0;
}
