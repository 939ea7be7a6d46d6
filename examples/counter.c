/*
 * counter.c: one counter shared by every instance, in a pkc document.
 *
 *   counter [--room PHRASE] [--add K] [--every MS] [--peers N] DATA_DIR TARGET
 *
 * Each instance adds K (default 1) to the counter, one every MS
 * milliseconds (default 100), after N neighbours are connected (default 0:
 * at once), prints the total each time it changes, and exits once the
 * total reached TARGET (see "Why not exit at once" below). Three instances
 * in three terminals:
 *
 *   counter /tmp/a 3         counter /tmp/b 3         counter /tmp/c 3
 *
 * all print "total 3" and exit. The counter lives in the document "counter"
 * of the room (the local room, or the private room of --room), in its root
 * map "state": `pkc --data /tmp/a doc json counter` shows it while a counter
 * runs.
 *
 * Why one key per peer. A single number ("total": 5) would lose increments:
 * two peers that both read 5 at the same moment both write 6, and a Yjs map
 * keeps one of two concurrent writes to a key (the one of the larger client
 * id), so the total is 6, not 7. Here each peer writes only its own key
 * (its peer id) with the number of increments it made, and the total is
 * the sum of the values. A key has one writer, so no two writes to it are
 * ever concurrent, and every increment survives every merge: a grow-only
 * counter (G-Counter) built from a Y.Map.
 *
 * Why not exit at once. A peer that leaves right after its last change may
 * take that change with it: a neighbour that had not received it yet has
 * nobody left to get it from (it comes back when this peer does). So an
 * instance that reached TARGET says so in a second map, "done" (its peer id
 * set to true), and leaves only once every other peer that counted has said
 * so too, or is no longer connected to it: then nobody waits for what it
 * holds.
 *
 * Threads: the node runs on its own thread (pkc_node_start) and its
 * callbacks only wake the main thread, which does all the work through
 * calls that are allowed from any thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pkc.h>

#define DOC "counter"
#define MAP "state" /* the root map that pkc doc get/set/json show */
#define DONE "done" /* peer id -> true: it reached the target */

static int wake[2] = {-1, -1}; /* callbacks and signals write here */
static volatile sig_atomic_t interrupted;

static void poke(char why)
{
    /* Non-blocking: a full pipe already holds a wake-up. */
    ssize_t w = write(wake[1], &why, 1);
    (void)w;
}

static void on_signal(int sig)
{
    interrupted = 1;
    poke('s');
}

/* A peer came or went, or the document changed (here or from a peer). */
static void on_peer(void *ud, pkc_node *node, const pkc_node_peer_event *ev)
{
    poke('p');
}

static void on_doc(void *ud, pkc_node *node, const char *room, const char *doc, int local)
{
    if (strcmp(doc, DOC) == 0)
        poke('d');
}

/* ---- the document: run by pkc_node_doc_transact on the node's thread ---- */

/* Adds one to this peer's own key. */
static int increment(void *ud, pkc_ydoc *doc, pkc_ytxn *txn)
{
    const char *me = ud;
    pkc_ytype *map;
    int rc = pkc_ydoc_get(doc, MAP, PKC_YMAP, &map);
    if (rc)
        return rc;
    double mine = 0;
    pkc_yvalue *v;
    if (pkc_ymap_get(map, me, &v) == 0) {
        if (v->kind == PKC_YV_NUMBER)
            mine = v->u.number;
        pkc_yvalue_free(v);
    }
    pkc_yvalue one_more = {.kind = PKC_YV_NUMBER, .u.number = mine + 1};
    return pkc_ymap_set(txn, map, me, &one_more, NULL);
}

/* Says that this peer reached the target. */
static int mark_done(void *ud, pkc_ydoc *doc, pkc_ytxn *txn)
{
    pkc_ytype *done;
    int rc = pkc_ydoc_get(doc, DONE, PKC_YMAP, &done);
    pkc_yvalue yes = {.kind = PKC_YV_BOOL, .u.boolean = 1};
    return rc ? rc : pkc_ymap_set(txn, done, (const char *)ud, &yes, NULL);
}

/* Sums every peer's count; `parts` shows them ("20+20+19"). `waiting`:
 * the peers that counted, are still connected and have not said done. */
typedef struct tally {
    const char *me;
    const pkc_node_peer_info *neighbours;
    size_t n_neighbours;
    long long total;
    char parts[256];
    unsigned waiting;
} tally;

static int is_neighbour(const tally *t, const char *peer_id)
{
    for (size_t i = 0; i < t->n_neighbours; i++)
        if (strcmp(t->neighbours[i].peer_id, peer_id) == 0)
            return 1;
    return 0;
}

static int read_total(void *ud, pkc_ydoc *doc, pkc_ytxn *txn)
{
    tally *t = ud;
    pkc_ytype *map, *done;
    pkc_yvalue *all;
    int rc = pkc_ydoc_get(doc, MAP, PKC_YMAP, &map);
    if (rc || (rc = pkc_ydoc_get(doc, DONE, PKC_YMAP, &done)) ||
        (rc = pkc_ymap_get_entries(map, &all)))
        return rc;
    t->total = 0;
    t->parts[0] = 0;
    t->waiting = 0;
    for (size_t i = 0, used = 0; i < all->u.object.len; i++) {
        const pkc_yentry *e = &all->u.object.entries[i];
        const pkc_yvalue *v = &e->value;
        if (v->kind != PKC_YV_NUMBER)
            continue;
        t->total += (long long)v->u.number;
        if (strcmp(e->key, t->me) != 0 && is_neighbour(t, e->key) && !pkc_ymap_has(done, e->key))
            t->waiting++;
        if (used < sizeof t->parts)
            used += (size_t)snprintf(t->parts + used, sizeof t->parts - used, "%s%lld",
                                     used ? "+" : "", (long long)v->u.number);
    }
    pkc_yvalue_free(all);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    const char *phrase = NULL;
    long add = 1, every = 100, want_peers = 0;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--room") == 0)
            phrase = argv[i + 1];
        else if (strcmp(argv[i], "--add") == 0)
            add = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--every") == 0)
            every = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--peers") == 0)
            want_peers = atol(argv[i + 1]);
        else
            break;
    }
    long long target = i + 2 == argc ? atoll(argv[i + 1]) : 0;
    if (target <= 0 || add < 0 || every < 0 || want_peers < 0) {
        fprintf(stderr,
                "usage: %s [--room PHRASE] [--add K] [--every MS] [--peers N] DATA_DIR TARGET\n",
                argv[0]);
        return 2;
    }

    pkc_node_config cfg;
    pkc_node_config_default(&cfg);
    cfg.data_dir = argv[i];
    cfg.local_room = phrase == NULL;
    pkc_node_callbacks cb = {.peer = on_peer, .doc = on_doc};
    pkc_node *node;
    if (pkc_node_new(&cfg, &cb, NULL, &node) != 0) {
        fprintf(stderr, "counter: %s\n", pkc_errmsg());
        return 1;
    }
    char room[17] = "local";
    int rc = 0;
    if (phrase && (rc = pkc_node_join(node, phrase, NULL, room)) == PKC_ERR_EXISTS)
        rc = 0; /* joined in an earlier run: remembered */
    if (rc == 0 && phrase == NULL) {
        pkc_node_room_info r[16];
        size_t n = pkc_node_get_rooms(node, r, 16);
        for (size_t k = 0; k < n && k < 16; k++)
            if (r[k].local)
                memcpy(room, r[k].id, sizeof room);
    }
    if (rc == 0 && (pipe(wake) != 0 || fcntl(wake[1], F_SETFL, O_NONBLOCK) != 0))
        rc = -1;
    if (rc == 0) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = pkc_node_start(node);
    }
    if (rc) {
        fprintf(stderr, "counter: %s\n", rc == -1 ? strerror(errno) : pkc_errmsg());
        pkc_node_free(node);
        return 1;
    }
    const char *me = pkc_node_get_peer_id(node);
    printf("counter: peer %s, room %s, adding %ld, until %lld\n", me, room, add, target);
    fflush(stdout);

    long added = 0;
    long long shown = -1, next_ms = 0;
    int counting = want_peers == 0, done = 0;
    while (!interrupted) {
        /* Where things stand: the total (printed when it changed), who
         * still waits for us, whether enough neighbours are here to start
         * counting. */
        pkc_node_peer_info neighbours[32];
        size_t n = pkc_node_get_peers(node, neighbours, 32), k = 0;
        for (size_t j = 0; j < n && j < 32; j++)
            if (strcmp(neighbours[j].room, room) == 0)
                neighbours[k++] = neighbours[j];
        tally t = {.me = me, .neighbours = neighbours, .n_neighbours = k};
        if ((rc = pkc_node_doc_transact(node, room, DOC, read_total, &t)) != 0)
            break;
        if (t.total != shown)
            printf("total %lld (%s)\n", shown = t.total, t.parts);
        fflush(stdout);
        if (t.total >= target && !done) {
            if ((rc = pkc_node_doc_transact(node, room, DOC, mark_done, (void *)me)) != 0)
                break;
            done = 1;
            continue;
        }
        if (done && t.waiting == 0)
            break;
        if (!counting && k >= (size_t)want_peers)
            counting = 1;
        /* Our next increment, when it is due. */
        int timeout = -1;
        if (counting && added < add) {
            long long now = now_ms();
            if (now >= next_ms) {
                if ((rc = pkc_node_doc_transact(node, room, DOC, increment, (void *)me)) != 0)
                    break;
                added++;
                next_ms = now + every;
                continue; /* print the new total at once */
            }
            timeout = (int)(next_ms - now);
        }
        /* Sleep until a callback or a signal wakes us, or the next increment. */
        struct pollfd p = {wake[0], POLLIN, 0};
        if (poll(&p, 1, timeout) > 0) {
            char buf[256];
            ssize_t r = read(wake[0], buf, sizeof buf);
            (void)r;
        }
    }
    if (rc)
        fprintf(stderr, "counter: %s\n", pkc_errmsg());
    pkc_node_free(node);
    close(wake[0]);
    close(wake[1]);
    return rc || interrupted ? 1 : 0;
}
