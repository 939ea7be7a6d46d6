/*
 * store_driver: writes to pkc.db as the node does, for the crash and
 * full-disk tests (tests/store/crash.sh, disk_full.sh), and verifies what it finds.
 *
 *   store_driver write DIR SEED [--full] [--max N]
 *       Appends numbered batches, each in one transaction (group commit),
 *       after the last one stored. A batch holds received messages, Yjs
 *       updates of three documents, direct messages to send, receipts for
 *       those of three batches before, a duplicate, the peer book and the
 *       batch number; every few batches a compaction merged on a worker
 *       thread (its own reader connection) is swapped in. Prints
 *       "commit N" before the commit and "ack N" once it returned 0:
 *       from then on batch N must survive anything.
 *   store_driver fill DIR SEED
 *       As write, until a write fails: it must fail with PKC_ERR_IO
 *       "disk full: ..."; prints "full MESSAGE", tries more batches and a
 *       compaction of each document (each must succeed or fail the same
 *       way), then checks in the same process that every batch
 *       acknowledged is intact and nothing of a failed one is stored.
 *   store_driver verify DIR SEED ACKED
 *       Opens the database (it must open cleanly and pass integrity_check)
 *       and checks that batches 1..ACKED at least are stored, each intact
 *       and whole, and nothing of any later batch.
 *
 * The content of batch N is a function of SEED and N only, so verify
 * recomputes it. Exit status 0 when all is well; messages on stderr.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "util/err.h"
#include "util/rng.h"

#define DOCS 3
#define KEEP_PENDING 3 /* batch N records the receipts of batch N - 3 */

static const uint8_t ROOMS[2][PKC_DB_ROOM_ID_BYTES] = {{'r', 'o', 'o', 'm', 0, 0, 0, 1},
                                                       {'r', 'o', 'o', 'm', 0, 0, 0, 2}};
static const uint8_t PEER[PKC_DB_PEER_BYTES] = {'p', 'e', 'e', 'r'};

static uint64_t seed;

static int fail(const char *what)
{
    fprintf(stderr, "store_driver: %s: %s\n", what, pkc_errmsg());
    return 1;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != 0) {                                                                            \
            fprintf(stderr, "store_driver: %s: %s: %s\n", #expr, pkc_err_name(rc_),               \
                    pkc_errmsg());                                                                 \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)

/* ---- Batch content: a function of (seed, batch) --------------------------------- */

static void rng_for(pkc_seeded_rng *r, int64_t batch, int kind, int j)
{
    pkc_seeded_rng_init(r, seed * 0x9e3779b97f4a7c15ull ^ (uint64_t)batch * 1000003u ^
                               (uint64_t)kind << 56 ^ (uint64_t)j << 40);
}

typedef struct plan {
    int inbox, updates, outbox;
} plan;

static plan plan_of(int64_t batch)
{
    pkc_seeded_rng r;
    rng_for(&r, batch, 0, 0);
    plan p;
    p.inbox = 1 + (int)pkc_rng_below(&r.rng, 40);
    p.updates = (int)pkc_rng_below(&r.rng, 5);
    p.outbox = (int)pkc_rng_below(&r.rng, 4);
    return p;
}

typedef struct inmsg {
    pkc_db_inbox_msg m;
    char topic[16];
    uint8_t payload[400];
} inmsg;

static void inbox_of(int64_t batch, int j, inmsg *out)
{
    pkc_seeded_rng r;
    rng_for(&r, batch, 1, j);
    memset(out, 0, sizeof *out);
    pkc_db_inbox_msg *m = &out->m;
    m->msg_id[0] = 'I';
    for (int k = 0; k < 8; k++)
        m->msg_id[1 + k] = (uint8_t)((uint64_t)batch >> (56 - 8 * k));
    m->msg_id[9] = (uint8_t)j;
    memcpy(m->room, ROOMS[batch % 2], PKC_DB_ROOM_ID_BYTES);
    pkc_rng_fill(&r.rng, m->sender, sizeof m->sender);
    m->flags = j % 2 ? PKC_DB_MSG_DIRECT : 0;
    snprintf(out->topic, sizeof out->topic, "t%d", (int)(batch % 5));
    m->topic = out->topic;
    m->time_ms = batch * 1000 + j;
    m->payload_len = (size_t)pkc_rng_below(&r.rng, sizeof out->payload + 1);
    pkc_rng_fill(&r.rng, out->payload, m->payload_len);
    m->payload = out->payload;
}

typedef struct outmsg {
    pkc_db_outbox_msg m;
    uint8_t frame[200];
} outmsg;

static void outbox_of(int64_t batch, int j, outmsg *out)
{
    pkc_seeded_rng r;
    rng_for(&r, batch, 2, j);
    memset(out, 0, sizeof *out);
    pkc_db_outbox_msg *m = &out->m;
    m->msg_id[0] = 'O';
    for (int k = 0; k < 8; k++)
        m->msg_id[1 + k] = (uint8_t)((uint64_t)batch >> (56 - 8 * k));
    m->msg_id[9] = (uint8_t)j;
    memcpy(m->room, ROOMS[batch % 2], PKC_DB_ROOM_ID_BYTES);
    pkc_rng_fill(&r.rng, m->recipient, sizeof m->recipient);
    m->frame_len = 1 + (size_t)pkc_rng_below(&r.rng, sizeof out->frame);
    pkc_rng_fill(&r.rng, out->frame, m->frame_len);
    m->frame = out->frame;
    m->created_ms = batch * 1000 + j;
}

static void doc_name(char out[16], int d)
{
    snprintf(out, 16, "d%d", d);
}

static int doc_of(int64_t batch, int j)
{
    return (int)((batch + j) % DOCS);
}

static void key_of(char out[32], int64_t batch, int j)
{
    snprintf(out, 32, "b%lld.%d", (long long)batch, j);
}

typedef struct captured {
    uint8_t *data;
    size_t len;
} captured;

static void on_update(void *ud, const uint8_t *u, size_t len, const void *origin)
{
    (void)origin;
    captured *c = ud;
    free(c->data);
    c->data = malloc(len);
    if (c->data)
        memcpy(c->data, u, len);
    c->len = c->data ? len : 0;
}

/* Update j of a batch: a client of its own sets m[key] = batch. */
static int update_of(int64_t batch, int j, captured *out)
{
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    cfg.client_id = (uint64_t)batch * 8 + (uint64_t)j + 1;
    pkc_ydoc *doc;
    pkc_ytype *map;
    TRY(pkc_ydoc_new(&cfg, pkc_rng_system(), &doc));
    char key[32];
    key_of(key, batch, j);
    pkc_yvalue v = {.kind = PKC_YV_NUMBER, .u.number = (double)batch};
    memset(out, 0, sizeof *out);
    int rc = pkc_ydoc_get(doc, "m", PKC_YMAP, &map);
    if (rc == 0)
        rc = pkc_ydoc_observe_update(doc, on_update, out, NULL);
    if (rc == 0)
        rc = pkc_ymap_set(NULL, map, key, &v, NULL);
    pkc_ydoc_free(doc);
    if (rc == 0 && out->len == 0)
        rc = pkc_error(PKC_ERR_INTERNAL, "no update");
    return rc;
}

/* ---- Background compaction: the merge on a worker thread ------------------------ */

typedef struct worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *dir;
    int want;  /* document to merge, -1: none */
    int ready; /* a result waits in doc/merge/rc */
    int doc, rc, stop;
    pkc_db_merge merge;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    pkc_db *r = NULL;
    int rc = pkc_db_open_reader(w->dir, NULL, &r);
    if (rc)
        fprintf(stderr, "store_driver: worker: %s\n", pkc_errmsg());
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->want < 0)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        int d = w->want;
        w->want = -1;
        pthread_mutex_unlock(&w->mu);
        char name[16];
        doc_name(name, d);
        pkc_db_merge m = {0};
        int mrc = r ? pkc_db_doc_merge(r, ROOMS[0], name, &m) : rc;
        if (mrc && mrc != PKC_ERR_NOT_FOUND)
            fprintf(stderr, "store_driver: worker: merge: %s\n", pkc_errmsg());
        pthread_mutex_lock(&w->mu);
        w->doc = d;
        w->rc = mrc;
        w->merge = m;
        w->ready = 1;
    }
    pthread_mutex_unlock(&w->mu);
    pkc_db_close(r);
    return NULL;
}

static int worker_start(worker *w, const char *dir)
{
    memset(w, 0, sizeof *w);
    w->dir = dir;
    w->want = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

static void worker_stop(worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pkc_db_merge_clear(&w->merge);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

/* Swaps in a finished merge (inside the batch's transaction); asks for the
 * next one every 7 batches. */
static int worker_poll(worker *w, pkc_db *db, int64_t batch)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (w->ready) {
        w->ready = 0;
        if (w->rc == 0) {
            char name[16];
            doc_name(name, w->doc);
            rc = pkc_db_doc_compact(db, ROOMS[0], name, &w->merge);
            if (rc == PKC_ERR_MISMATCH)
                rc = 0;
        }
        pkc_db_merge_clear(&w->merge);
    }
    if (batch % 7 == 0 && w->want < 0) {
        w->want = (int)(batch / 7 % DOCS);
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* ---- Writing --------------------------------------------------------------------- */

static int stored_batch(pkc_db *db, int64_t *out)
{
    uint8_t *v;
    size_t n;
    int rc = pkc_db_kv_get(db, "batch", &v, &n);
    if (rc == PKC_ERR_NOT_FOUND) {
        *out = 0;
        return 0;
    }
    if (rc)
        return rc;
    int64_t b = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        b = b << 8 | v[i];
    free(v);
    *out = b;
    return n == 8 ? 0 : pkc_error(PKC_ERR_MALFORMED, "kv batch: %zu bytes", n);
}

/* Every write of one batch, inside the caller's transaction. */
static int write_batch(pkc_db *db, worker *w, int64_t batch)
{
    plan p = plan_of(batch);
    int rc = worker_poll(w, db, batch);
    for (int j = 0; rc == 0 && j < p.inbox; j++) {
        inmsg m;
        inbox_of(batch, j, &m);
        rc = pkc_db_inbox_add(db, &m.m, NULL);
    }
    if (rc == 0 && batch > 1) { /* a duplicate: reported, and the batch goes on */
        inmsg m;
        inbox_of(batch - 1, 0, &m);
        rc = pkc_db_inbox_add(db, &m.m, NULL);
        if (rc == PKC_ERR_EXISTS)
            rc = 0;
        else if (rc == 0)
            rc = pkc_error(PKC_ERR_INTERNAL, "a duplicate was stored");
    }
    for (int j = 0; rc == 0 && j < p.updates; j++) {
        captured u;
        char name[16];
        doc_name(name, doc_of(batch, j));
        rc = update_of(batch, j, &u);
        if (rc == 0)
            rc = pkc_db_doc_append(db, ROOMS[0], name, u.data, u.len, NULL);
        free(u.data);
    }
    for (int j = 0; rc == 0 && j < p.outbox; j++) {
        outmsg m;
        outbox_of(batch, j, &m);
        rc = pkc_db_outbox_add(db, &m.m);
    }
    if (rc == 0 && batch > KEEP_PENDING) {
        plan old = plan_of(batch - KEEP_PENDING);
        for (int j = 0; rc == 0 && j < old.outbox; j++) {
            outmsg m;
            outbox_of(batch - KEEP_PENDING, j, &m);
            rc = pkc_db_outbox_mark_delivered(db, m.m.msg_id, batch);
        }
    }
    if (rc == 0) {
        pkc_db_peer peer;
        memset(&peer, 0, sizeof peer);
        memcpy(peer.id, PEER, sizeof peer.id);
        peer.last_seen_ms = batch;
        peer.score = (double)batch / 2;
        rc = pkc_db_peer_put(db, &peer);
    }
    if (rc == 0) {
        uint8_t b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)((uint64_t)batch >> (56 - 8 * i));
        rc = pkc_db_kv_put(db, "batch", b, sizeof b);
    }
    return rc;
}

/* ---- Verifying ----------------------------------------------------------------- */

typedef struct inbox_walk {
    int64_t batch, last;
    int j;
    uint64_t seen;
    int bad;
} inbox_walk;

static int check_inbox(void *ud, const pkc_db_inbox_msg *got)
{
    inbox_walk *w = ud;
    while (w->batch <= w->last && w->j >= plan_of(w->batch).inbox) {
        w->batch++;
        w->j = 0;
    }
    if (w->batch > w->last)
        return pkc_error(PKC_ERR_MISMATCH, "inbox: message seq %lld after the last batch %lld",
                         (long long)got->seq, (long long)w->last);
    inmsg want;
    inbox_of(w->batch, w->j, &want);
    const pkc_db_inbox_msg *m = &want.m;
    if (memcmp(got->msg_id, m->msg_id, sizeof m->msg_id) != 0 ||
        memcmp(got->room, m->room, sizeof m->room) != 0 ||
        memcmp(got->sender, m->sender, sizeof m->sender) != 0 || got->flags != m->flags ||
        strcmp(got->topic, m->topic) != 0 || got->time_ms != m->time_ms ||
        got->payload_len != m->payload_len ||
        (m->payload_len && memcmp(got->payload, m->payload, m->payload_len) != 0))
        return pkc_error(PKC_ERR_MISMATCH, "inbox: seq %lld is not message %d of batch %lld",
                         (long long)got->seq, w->j, (long long)w->batch);
    w->j++;
    w->seen++;
    return 0;
}

typedef struct outbox_walk {
    int64_t batch, last;
    int j;
} outbox_walk;

static int check_outbox(void *ud, const pkc_db_outbox_msg *got)
{
    outbox_walk *w = ud;
    while (w->batch <= w->last && w->j >= plan_of(w->batch).outbox) {
        w->batch++;
        w->j = 0;
    }
    if (w->batch > w->last)
        return pkc_error(PKC_ERR_MISMATCH, "outbox: a pending message after the last batch");
    outmsg want;
    outbox_of(w->batch, w->j, &want);
    if (memcmp(got->msg_id, want.m.msg_id, sizeof got->msg_id) != 0 ||
        memcmp(got->recipient, want.m.recipient, sizeof got->recipient) != 0 ||
        got->frame_len != want.m.frame_len ||
        memcmp(got->frame, want.m.frame, got->frame_len) != 0 ||
        got->created_ms != want.m.created_ms || got->delivered_ms != 0)
        return pkc_error(PKC_ERR_MISMATCH, "outbox: pending message %d of batch %lld differs",
                         w->j, (long long)w->batch);
    w->j++;
    return 0;
}

static int apply_update(void *ud, int64_t seq, const uint8_t *u, size_t len)
{
    (void)seq;
    return pkc_ydoc_apply_update(ud, u, len, NULL);
}

static int verify_docs(pkc_db *db, int64_t last, uint64_t *total)
{
    *total = 0;
    for (int d = 0; d < DOCS; d++) {
        char name[16];
        doc_name(name, d);
        pkc_ydoc *doc;
        pkc_ytype *map;
        TRY(pkc_ydoc_new(NULL, pkc_rng_system(), &doc));
        int rc = pkc_db_doc_load(db, ROOMS[0], name, apply_update, doc);
        if (rc == 0)
            rc = pkc_ydoc_get(doc, "m", PKC_YMAP, &map);
        size_t want = 0;
        for (int64_t b = 1; rc == 0 && b <= last; b++) {
            plan p = plan_of(b);
            for (int j = 0; rc == 0 && j < p.updates; j++) {
                if (doc_of(b, j) != d)
                    continue;
                char key[32];
                key_of(key, b, j);
                want++;
                if (!pkc_ymap_has(map, key))
                    rc = pkc_error(PKC_ERR_MISMATCH, "document %s lacks %s", name, key);
            }
        }
        if (rc == 0 && pkc_ymap_get_size(map) != want)
            rc = pkc_error(PKC_ERR_MISMATCH, "document %s: %zu keys, not %zu", name,
                           pkc_ymap_get_size(map), want);
        if (rc == 0 && pkc_ydoc_has_pending(doc))
            rc = pkc_error(PKC_ERR_MISMATCH, "document %s: updates wait for missing ones", name);
        pkc_ydoc_free(doc);
        if (rc)
            return rc;
        *total += want;
    }
    return 0;
}

static int64_t sql_int(pkc_db *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(pkc_db_get_handle(db), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int verify(pkc_db *db, int64_t acked, int64_t *last_out)
{
    int64_t last;
    TRY(stored_batch(db, &last));
    if (last < acked)
        return pkc_error(PKC_ERR_MISMATCH, "batch %lld was acknowledged, the last stored is %lld",
                         (long long)acked, (long long)last);
    /* The inbox, in order: every message of batches 1..last, nothing more. */
    inbox_walk iw = {1, last, 0, 0, 0};
    TRY(pkc_db_inbox_list(db, NULL, 0, 0, check_inbox, &iw, NULL));
    uint64_t want_in = 0, want_out = 0;
    for (int64_t b = 1; b <= last; b++) {
        want_in += (uint64_t)plan_of(b).inbox;
        want_out += (uint64_t)plan_of(b).outbox;
    }
    if (iw.seen != want_in)
        return pkc_error(PKC_ERR_MISMATCH, "inbox: %llu messages, not %llu",
                         (unsigned long long)iw.seen, (unsigned long long)want_in);
    /* The outbox: the last batches' messages pending, the older delivered. */
    outbox_walk ow = {last > KEEP_PENDING ? last - KEEP_PENDING + 1 : 1, last, 0};
    TRY(pkc_db_outbox_list_pending(db, NULL, 0, check_outbox, &ow));
    while (ow.batch <= last && ow.j >= plan_of(ow.batch).outbox) {
        ow.batch++;
        ow.j = 0;
    }
    if (ow.batch <= last)
        return pkc_error(PKC_ERR_MISMATCH, "outbox: pending messages of batch %lld missing",
                         (long long)ow.batch);
    if (sql_int(db, "SELECT count(*) FROM outbox") != (int64_t)want_out)
        return pkc_error(PKC_ERR_MISMATCH, "outbox: %lld messages, not %llu",
                         (long long)sql_int(db, "SELECT count(*) FROM outbox"),
                         (unsigned long long)want_out);
    uint64_t updates;
    TRY(verify_docs(db, last, &updates));
    if (last > 0) {
        pkc_db_peer peer;
        TRY(pkc_db_peer_get(db, PEER, &peer));
        free((void *)peer.dial);
        if (peer.last_seen_ms != last)
            return pkc_error(PKC_ERR_MISMATCH, "peer last seen %lld, not %lld",
                             (long long)peer.last_seen_ms, (long long)last);
    }
    sqlite3_stmt *st;
    const char *ok = NULL;
    if (sqlite3_prepare_v2(pkc_db_get_handle(db), "PRAGMA integrity_check", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        ok = (const char *)sqlite3_column_text(st, 0);
    int intact = ok && strcmp(ok, "ok") == 0;
    if (!intact)
        fprintf(stderr, "store_driver: integrity_check: %s\n", ok ? ok : "(failed)");
    sqlite3_finalize(st);
    if (!intact)
        return pkc_error(PKC_ERR_CHECKSUM, "integrity_check failed");
    fprintf(stderr,
            "store_driver: verified batches 1..%lld (%lld acknowledged): %llu messages in, %llu "
            "out, %llu document updates, %lld rows of them\n",
            (long long)last, (long long)acked, (unsigned long long)want_in,
            (unsigned long long)want_out, (unsigned long long)updates,
            (long long)sql_int(db, "SELECT count(*) FROM doc_updates"));
    if (last_out)
        *last_out = last;
    return 0;
}

/* ---- Main ------------------------------------------------------------------------ */

static int is_disk_full(int rc)
{
    return rc == PKC_ERR_IO && strncmp(pkc_errmsg(), "disk full: ", 11) == 0;
}

/* Batch `batch` in one transaction; prints "commit N", then "ack N" once
 * the commit returned 0. */
static int one_batch(pkc_db *db, worker *w, int64_t batch)
{
    int rc = pkc_db_begin(db);
    if (rc == 0)
        rc = write_batch(db, w, batch);
    if (rc == 0) {
        printf("commit %lld\n", (long long)batch);
        fflush(stdout);
        rc = pkc_db_commit(db);
    } else if (pkc_db_in_transaction(db)) {
        char first_msg[512];
        snprintf(first_msg, sizeof first_msg, "%s", pkc_errmsg());
        if (rc == PKC_ERR_IO) {
            /* A full disk ends the transaction: later writes say so, and
             * the commit gives the first error again. */
            int again = pkc_db_kv_put(db, "x", "y", 1);
            int crc = pkc_db_commit(db);
            if (again != PKC_ERR_STATE || crc != rc) {
                fprintf(stderr, "store_driver: after a failed write: %s, commit %s\n",
                        pkc_err_name(again), pkc_err_name(crc));
                return PKC_ERR_INTERNAL;
            }
        } else {
            pkc_db_rollback(db);
        }
        pkc_error(rc, "%s", first_msg);
    }
    if (rc == 0) {
        printf("ack %lld\n", (long long)batch);
        fflush(stdout);
    }
    return rc;
}

/* On the full disk: more batches and compactions fail with "disk full" (or
 * fit); then everything acknowledged is intact and nothing else stored. */
static int while_full(pkc_db *db, worker *w, int64_t batch)
{
    printf("full %s\n", pkc_errmsg());
    fflush(stdout);
    for (int k = 0; k < 8; k++) {
        int rc = one_batch(db, w, batch);
        if (rc == 0)
            batch++;
        else if (!is_disk_full(rc))
            return fail("a batch on the full disk");
    }
    for (int d = 0; d < DOCS; d++) {
        char name[16];
        doc_name(name, d);
        pkc_db_merge m;
        int rc = pkc_db_doc_merge(db, ROOMS[0], name, &m);
        if (rc == PKC_ERR_NOT_FOUND)
            continue;
        if (rc)
            return fail("a merge on the full disk");
        rc = pkc_db_doc_compact(db, ROOMS[0], name, &m);
        pkc_db_merge_clear(&m);
        if (rc && !is_disk_full(rc))
            return fail("a compaction on the full disk");
        fprintf(stderr, "store_driver: compaction of %s on the full disk: %s\n", name,
                rc ? pkc_errmsg() : "done");
    }
    int64_t last;
    if (verify(db, batch - 1, &last) != 0)
        return fail("verify on the full disk");
    if (last != batch - 1)
        return fail("a failed batch was stored");
    return 0;
}

static int run_write(const char *dir, int sync_full, int64_t max, int fill)
{
    pkc_db_config cfg;
    pkc_db_config_default(&cfg);
    cfg.sync_full = sync_full;
    pkc_db *db;
    TRY(pkc_db_open(dir, &cfg, &db));
    int64_t batch;
    int rc = stored_batch(db, &batch);
    worker w;
    if (rc == 0 && worker_start(&w, dir) != 0)
        rc = pkc_error(PKC_ERR_INTERNAL, "pthread_create");
    if (rc) {
        pkc_db_close(db);
        return fail("start");
    }
    int64_t first = batch + 1;
    for (batch = first; max == 0 || batch < first + max; batch++)
        if ((rc = one_batch(db, &w, batch)) != 0)
            break;
    int status = 0;
    if (!fill)
        status = rc ? fail("write") : 0;
    else if (!is_disk_full(rc))
        status = fail(rc ? "expected a full disk" : "the disk never filled");
    else
        status = while_full(db, &w, batch);
    worker_stop(&w);
    pkc_db_close(db);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: store_driver write|fill|verify DIR SEED [--full] [--max N] "
                        "[ACKED]\n");
        return 2;
    }
    const char *mode = argv[1], *dir = argv[2];
    seed = strtoull(argv[3], NULL, 10);
    if (strcmp(mode, "verify") == 0) {
        pkc_db *db;
        if (argc < 5)
            return 2;
        int64_t acked = strtoll(argv[4], NULL, 10);
        if (pkc_db_open(dir, NULL, &db) != 0)
            return fail("open for verify");
        int rc = verify(db, acked, NULL);
        pkc_db_close(db);
        return rc ? fail("verify") : 0;
    }
    int full = 0;
    int64_t max = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0)
            full = 1;
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
            max = strtoll(argv[++i], NULL, 10);
        else
            return 2;
    }
    if (strcmp(mode, "write") == 0)
        return run_write(dir, full, max, 0);
    if (strcmp(mode, "fill") == 0)
        return run_write(dir, full, 0, 1);
    return 2;
}
