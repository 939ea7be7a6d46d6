/*
 * node_doc.c: documents (docs/node.md, "Documents").
 *
 * Each named document of a room is a Yjs document, stored as the updates
 * that made it (pkc_db_doc_append), compacted into their merge once they
 * are many. On a new session both sides send y-protocols sync step 1 for
 * every document they have and answer the other's with step 2 (SYNC
 * frames): two peers converge whatever the gossip history holds. Local
 * changes are stored, then broadcast to the room as DATA messages of topic
 * "y:NAME" carrying the update. An update that leaves the document waiting
 * for missing structs, or that cannot apply, makes the node ask its
 * neighbours for the state again (step 1).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "node/loop.h"
#include "node/node_int.h"

#define LOG "node"
#define COMPACT_AFTER 500
#define ROOT "state"

/* The origin of changes that came from peers (or from the database). */
static const char remote_origin[] = "remote";

static void send_step1(node_chan *c, node_doc *d);

static void resync(node_doc *d)
{
    pkc_node *n = d->room->n;
    for (node_link *l = n->links; l; l = l->next)
        for (node_chan *c = l->chans; c; c = c->next)
            if (!c->dead && c->in_mesh && c->room == d->room)
                send_step1(c, d);
}

/* ---- compaction ---------------------------------------------------------------------------------- */

static void compact_work(uv_work_t *req)
{
    pkc_node *n = req->data;
    n->compact_rc = pkc_db_doc_merge(n->reader, n->compact_room, n->compact_doc,
                                     &n->compact_merge);
    if (n->compact_rc)
        snprintf(n->compact_err, sizeof n->compact_err, "%s", pkc_errmsg());
}

static void compact_done(uv_work_t *req, int status)
{
    pkc_node *n = req->data;
    if (status == 0 && n->compact_rc == 0 && node_room_by_id(n, n->compact_room) &&
        pkc_db_doc_compact(n->db, n->compact_room, n->compact_doc, &n->compact_merge) != 0)
        node_error(n, "document %s: compaction: %s", n->compact_doc, pkc_errmsg());
    else if (n->compact_rc)
        node_error(n, "document %s: compaction: %s", n->compact_doc, n->compact_err);
    pkc_db_merge_clear(&n->compact_merge);
    n->compacting = 0;
}

/* Replaces a document's stored updates by their merge: the merge (the part
 * that costs) on libuv's worker thread while the node runs, at once
 * otherwise. Updates appended meanwhile stay after it. */
static void compact(pkc_node *n, node_room *r, node_doc *d)
{
    memcpy(n->compact_room, r->key.id, PKC_ROOM_ID_BYTES);
    snprintf(n->compact_doc, sizeof n->compact_doc, "%s", d->name);
    memset(&n->compact_merge, 0, sizeof n->compact_merge);
    if (n->timers_open && n->reader == NULL) {
        pkc_db_config dc;
        pkc_db_config_default(&dc);
        dc.quick_check = 0;
        if (pkc_db_open_reader(n->data_dir, &dc, &n->reader) != 0)
            pkc_logd(LOG, "no reader connection (%s): compacting on the loop", pkc_errmsg());
    }
    if (n->timers_open && n->reader) {
        n->compacting = 1;
        n->compact_req.data = n;
        if (uv_queue_work(&n->loop->uv, &n->compact_req, compact_work, compact_done) == 0)
            return;
        n->compacting = 0;
    }
    pkc_db_merge m;
    if (pkc_db_doc_merge(n->db, r->key.id, d->name, &m) == 0) {
        if (pkc_db_doc_compact(n->db, r->key.id, d->name, &m) != 0)
            node_error(n, "document %s: compaction: %s", d->name, pkc_errmsg());
        pkc_db_merge_clear(&m);
    }
}

/* Waits for a compaction in flight (the node is stopping). */
void node_compact_wait(pkc_node *n)
{
    while (n->compacting)
        uv_run(&n->loop->uv, UV_RUN_ONCE);
}

static void on_update(void *user_data, const uint8_t *update, size_t len, const void *origin)
{
    node_doc *d = user_data;
    node_room *r = d->room;
    pkc_node *n = r->n;
    if (d->applying_remote == 2)
        return; /* loading from the database */
    int64_t seq;
    int rc = pkc_db_doc_append(n->db, r->key.id, d->name, update, len, &seq);
    if (rc) {
        node_error(n, "document %s: update not stored: %s", d->name, pkc_errmsg());
        if (origin != remote_origin)
            d->store_failed = rc;
        return;
    }
    d->updates_since_compact++;
    int local = origin != remote_origin;
    if (local) {
        d->changed_local = 1;
        char topic[PKC_DOC_NAME_MAX + 3];
        snprintf(topic, sizeof topic, "y:%s", d->name);
        if (n->cfg.sync && node_broadcast_raw(n, r, topic, update, len, NULL) != 0)
            node_error(n, "document %s: update not sent: %s", d->name, pkc_errmsg());
    } else {
        if (d->changed_local)
            n->conflicts++;
        d->changed_local = 0;
        n->last_sync_ms = node_wall_ms(n);
        d->last_remote_ms = n->last_sync_ms;
    }
    if (n->cb.doc)
        n->cb.doc(n->user_data, n, r->id, d->name, local);
    char line[PKC_DOC_NAME_MAX + 128];
    json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "event", "doc", "room", r->id, "doc", d->name,
                          "local", local);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s) {
        snprintf(line, sizeof line, "%s", s);
        node_control_event(n, "doc", line);
    }
    free(s);
    json_decref(o);
    if (d->updates_since_compact >= COMPACT_AFTER && !n->compacting) {
        d->updates_since_compact = 0;
        compact(n, r, d);
    }
}

/* Our own awareness state changed, was renewed or went offline: tell the
 * room (topic "a:NAME"). States of others are applied with remote_origin. */
static void on_awareness(void *user_data, const pkc_yawareness_change *change, const void *origin,
                         int is_update)
{
    (void)change;
    node_doc *d = user_data;
    if (origin == remote_origin || !is_update || d->room->mesh == NULL)
        return;
    uint64_t self = pkc_ydoc_get_client_id(d->doc);
    int ours = 0;
    for (size_t i = 0; i < change->nadded; i++)
        ours |= change->added[i] == self;
    for (size_t i = 0; i < change->nupdated; i++)
        ours |= change->updated[i] == self;
    for (size_t i = 0; i < change->nremoved; i++)
        ours |= change->removed[i] == self;
    if (!ours)
        return;
    uint8_t *u = NULL;
    size_t ul = 0;
    if (pkc_yawareness_encode(d->aw, &self, 1, &u, &ul) == 0) {
        char topic[PKC_DOC_NAME_MAX + 3];
        snprintf(topic, sizeof topic, "a:%s", d->name);
        if (node_broadcast_raw(d->room->n, d->room, topic, u, ul, NULL) != 0)
            pkc_logd(LOG, "document %s: awareness not sent: %s", d->name, pkc_errmsg());
    }
    free(u);
}

typedef struct load_ctx {
    node_doc *d;
    uint64_t bad;
} load_ctx;

static int load_one(void *ud, int64_t seq, const uint8_t *update, size_t len)
{
    (void)seq;
    load_ctx *x = ud;
    if (pkc_ydoc_apply_update(x->d->doc, update, len, remote_origin) != 0)
        x->bad++;
    return 0;
}

int node_doc_open(node_room *r, const char *name, node_doc **out)
{
    for (node_doc *d = r->docs; d; d = d->next)
        if (strcmp(d->name, name) == 0) {
            *out = d;
            return 0;
        }
    pkc_node *n = r->n;
    node_doc *d = calloc(1, sizeof *d);
    if (d == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    d->room = r;
    snprintf(d->name, sizeof d->name, "%s", name);
    int rc = pkc_ydoc_new(NULL, n->rng, &d->doc);
    if (rc) {
        free(d);
        return rc;
    }
    load_ctx x = {d, 0};
    d->applying_remote = 2;
    rc = pkc_db_doc_load(n->db, r->key.id, name, load_one, &x);
    d->applying_remote = 0;
    if (rc == PKC_ERR_CHECKSUM) {
        /* Damaged rows are skipped; the peers send what they held. */
        node_error(n, "document %s: %s; fetching it again from peers", name, pkc_errmsg());
    } else if (rc) {
        pkc_ydoc_free(d->doc);
        free(d);
        return rc;
    }
    if (x.bad)
        node_error(n, "document %s: %llu stored updates did not apply", name,
                   (unsigned long long)x.bad);
    if ((rc = pkc_ydoc_observe_update(d->doc, on_update, d, &d->observer)) ||
        (rc = pkc_yawareness_new(pkc_ydoc_get_client_id(d->doc), node_wall_ms(n), &d->aw)) ||
        (rc = pkc_yawareness_set_local(d->aw, NULL, node_wall_ms(n))) ||
        (rc = pkc_yawareness_observe(d->aw, on_awareness, d))) {
        pkc_yawareness_free(d->aw);
        pkc_ydoc_free(d->doc);
        free(d);
        return rc;
    }
    d->next = r->docs;
    r->docs = d;
    *out = d;
    return 0;
}

void node_doc_close_all(node_room *r)
{
    while (r->docs) {
        node_doc *d = r->docs;
        r->docs = d->next;
        pkc_yawareness_free(d->aw);
        pkc_ydoc_free(d->doc);
        free(d);
    }
}

typedef struct doc_names {
    char (*v)[PKC_DOC_NAME_MAX + 1];
    size_t n, cap;
} doc_names;

static int collect(void *ud, const pkc_db_doc_info *info)
{
    doc_names *ns = ud;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 8;
        void *v = realloc(ns->v, cap * sizeof *ns->v);
        if (v == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        ns->v = v;
        ns->cap = cap;
    }
    snprintf(ns->v[ns->n++], PKC_DOC_NAME_MAX + 1, "%s", info->name);
    return 0;
}

void node_docs_load_names(node_room *r)
{
    /* Opening inside the list callback would call the db from its own
     * callback: collect the names first. */
    doc_names ns = {NULL, 0, 0};
    if (pkc_db_doc_list(r->n->db, r->key.id, collect, &ns) != 0)
        node_error(r->n, "documents of room %s: %s", r->id, pkc_errmsg());
    for (size_t i = 0; i < ns.n; i++) {
        node_doc *d;
        if (node_doc_open(r, ns.v[i], &d) != 0)
            node_error(r->n, "document %s: %s", ns.v[i], pkc_errmsg());
    }
    free(ns.v);
}

/* ---- sync over a session ------------------------------------------------------------------------ */

/* Sync messages go as one SYNC frame or, when long, in fragments
 * (node_sync_send, node_rules.c). */
static int send_frame(void *ud, const pkc_frame *f)
{
    return node_chan_send_frame(ud, f);
}

static void send_sync(node_chan *c, node_doc *d, const uint8_t *msg, size_t len)
{
    if (node_sync_send(d->name, msg, len, send_frame, c) != 0)
        node_error(c->link->n, "document %s: sync to %s not sent: %s", d->name, c->link->peer_id,
                   pkc_errmsg());
}

static void frag_reset(node_chan *c)
{
    node_sync_frag_reset(&c->frag);
    c->frag_reports = 0;
}

/* ---- sync progress ------------------------------------------------------------------------------ */

int node_progress_due(unsigned reports, uint64_t last_us, uint64_t now_us, int final)
{
    /* A clock that went back (it should not) counts as due: never silent
     * for long. */
    return final || reports == 0 || now_us < last_us || now_us - last_us >= NODE_PROGRESS_US;
}

/* Reports how far the message of document `doc` from c's peer has come:
 * the callback and the control clients' "sync" event. */
static void progress_report(node_chan *c, const char *doc, uint64_t received, uint64_t total,
                            int done)
{
    pkc_node *n = c->link->n;
    c->frag_report_us = node_now_us(n);
    c->frag_reports++;
    if (c->room == NULL)
        return;
    if (n->cb.sync) {
        pkc_node_sync_event ev = {c->room->id, doc, c->link->peer_id, received, total, done};
        n->cb.sync(n->user_data, n, &ev);
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "event", "sync", "room",
                          c->room->id, "doc", doc, "peer", c->link->peer_id, "received",
                          (json_int_t)received, "total", (json_int_t)total, "done", done);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (line)
        node_control_event(n, "sync", line);
    free(line);
    json_decref(o);
}

void node_doc_sync_abandon(node_chan *c)
{
    if (c->frag.buf == NULL || c->frag.total == 0)
        return;
    char doc[PKC_DOC_NAME_MAX + 1];
    snprintf(doc, sizeof doc, "%s", c->frag.doc);
    uint64_t received = c->frag.len, total = c->frag.total;
    frag_reset(c);
    progress_report(c, doc, received, total, 1);
}

static void frag_abandon(void *ud)
{
    node_doc_sync_abandon(ud);
}

static void send_step1(node_chan *c, node_doc *d)
{
    uint8_t *msg = NULL;
    size_t len = 0;
    if (pkc_ysync_step1(d->doc, &msg, &len) == 0)
        send_sync(c, d, msg, len);
    free(msg);
}

void node_doc_sync_start(node_chan *c)
{
    for (node_doc *d = c->room->docs; d; d = d->next) {
        send_step1(c, d);
        uint64_t ids[64];
        size_t k = pkc_yawareness_get_clients(d->aw, ids, 64);
        uint8_t *u = NULL;
        size_t ul = 0;
        if (k && pkc_yawareness_encode(d->aw, ids, k > 64 ? 64 : k, &u, &ul) == 0) {
            pkc_frame f;
            memset(&f, 0, sizeof f);
            f.type = PKC_FRAME_SYNC;
            f.sync.kind = PKC_SYNC_AWARENESS;
            f.sync.doc.data = (const uint8_t *)d->name;
            f.sync.doc.len = strlen(d->name);
            f.sync.message.data = u;
            f.sync.message.len = ul;
            (void)node_chan_send_frame(c, &f);
        }
        free(u);
    }
}

static node_doc *doc_if_open(node_room *r, const pkc_bytes *name)
{
    for (node_doc *d = r->docs; d; d = d->next)
        if (strlen(d->name) == name->len && memcmp(d->name, name->data, name->len) == 0)
            return d;
    return NULL;
}

void node_doc_awareness_frame(node_chan *c, const pkc_sync *s)
{
    node_doc *d = doc_if_open(c->room, &s->doc);
    if (d && pkc_yawareness_apply(d->aw, s->message.data, s->message.len, remote_origin,
                                  node_wall_ms(c->link->n)) != 0)
        pkc_logd(LOG, "document %s: awareness from %s dropped: %s", d->name, c->link->peer_id,
                 pkc_errmsg());
}

void node_doc_remote_awareness(node_room *r, const char *name, const uint8_t *update, size_t len)
{
    node_doc *d;
    if (node_doc_open(r, name, &d) != 0)
        return;
    if (pkc_yawareness_apply(d->aw, update, len, remote_origin, node_wall_ms(r->n)) != 0)
        pkc_logd(LOG, "document %s: awareness dropped: %s", name, pkc_errmsg());
}

/* Renewals of our states, timeouts of others'. */
void node_docs_tick(pkc_node *n)
{
    int64_t now = node_wall_ms(n);
    for (node_room *r = n->rooms; r; r = r->next)
        for (node_doc *d = r->docs; d; d = d->next)
            (void)pkc_yawareness_check(d->aw, now);
}

/* Going away: our states are removed everywhere. */
void node_docs_offline(pkc_node *n)
{
    int64_t now = node_wall_ms(n);
    for (node_room *r = n->rooms; r; r = r->next)
        for (node_doc *d = r->docs; d; d = d->next)
            if (pkc_yawareness_get(d->aw, pkc_ydoc_get_client_id(d->doc)) &&
                pkc_yawareness_set_local(d->aw, NULL, now) != 0)
                pkc_logd(LOG, "document %s: %s", d->name, pkc_errmsg());
}

void node_doc_sync_frame(node_chan *c, const pkc_sync *s)
{
    pkc_node *n = c->link->n;
    if (s->kind == PKC_SYNC_AWARENESS) {
        node_doc_awareness_frame(c, s);
        return;
    }
    if (s->kind == NODE_SYNC_FRAGMENT) {
        int whole = node_sync_frag_add(&c->frag, s, frag_abandon, c);
        if (whole < 0) {
            node_error(n, "sync from %s dropped: %s", c->link->peer_id, pkc_errmsg());
            return;
        }
        /* Progress: at a bounded rate while it arrives (the first
         * fragment, then at most every NODE_PROGRESS_US), and once
         * applied; the last fragment has only the latter (a report of it
         * as still arriving, due when the previous one was long enough
         * ago, said the same bytes twice: node.sync_progress, under load). */
        char doc[PKC_DOC_NAME_MAX + 1];
        snprintf(doc, sizeof doc, "%s", c->frag.doc);
        uint64_t total = c->frag.total;
        if (whole == 0 && node_progress_due(c->frag_reports, c->frag_report_us, node_now_us(n), 0))
            progress_report(c, doc, c->frag.len, total, 0);
        if (whole == 0)
            return;
        pkc_sync full = *s;
        full.kind = PKC_SYNC_MESSAGE;
        full.message.data = c->frag.buf;
        full.message.len = c->frag.total;
        uint8_t *msg = c->frag.buf;
        c->frag.buf = NULL; /* ours now: the handling below may reset the channel's */
        c->frag.len = c->frag.total = 0;
        node_doc_sync_frame(c, &full);
        free(msg);
        progress_report(c, doc, total, total, 1);
        c->frag_reports = 0;
        return;
    }
    if (s->kind != PKC_SYNC_MESSAGE || s->doc.len == 0 || s->doc.len > PKC_DOC_NAME_MAX)
        return;
    char name[PKC_DOC_NAME_MAX + 1];
    memcpy(name, s->doc.data, s->doc.len);
    name[s->doc.len] = 0;
    if (strlen(name) != s->doc.len)
        return; /* a NUL inside */
    int existed = 0;
    for (node_doc *d = c->room->docs; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            existed = 1;
    node_doc *d;
    if (node_doc_open(c->room, name, &d) != 0) {
        node_error(n, "document %s: %s", name, pkc_errmsg());
        return;
    }
    uint8_t *reply = NULL;
    size_t rn = 0;
    int type = 0;
    d->applying_remote = 1;
    int rc = pkc_ysync_read(d->doc, s->message.data, s->message.len, remote_origin, &reply, &rn,
                            &type);
    d->applying_remote = 0;
    if (rc) {
        node_error(n, "document %s: sync message from %s dropped: %s", name, c->link->peer_id,
                   pkc_errmsg());
        free(reply);
        return;
    }
    if (reply)
        send_sync(c, d, reply, rn);
    free(reply);
    if (!existed)
        send_step1(c, d); /* new to us: ask for everything it holds */
}

void node_doc_remote_update(node_room *r, const char *name, const uint8_t *update, size_t len,
                            const char *from)
{
    pkc_node *n = r->n;
    node_doc *d;
    if (node_doc_open(r, name, &d) != 0) {
        node_error(n, "document %s: %s", name, pkc_errmsg());
        return;
    }
    d->applying_remote = 1;
    int rc = pkc_ydoc_apply_update(d->doc, update, len, remote_origin);
    d->applying_remote = 0;
    if (rc) {
        node_error(n, "document %s: an update from %s does not apply (%s): resyncing", name, from,
                   pkc_errmsg());
        resync(d);
    } else if (pkc_ydoc_has_pending(d->doc)) {
        pkc_logi(LOG, "document %s: updates are missing: asking the neighbours for the state",
                 name);
        resync(d);
    }
}

/* ---- the API's operations ----------------------------------------------------------------------- */

/* After a local change: its error if the database did not take it (a full
 * disk), so that the caller is never told it is kept when it is not. */
static int stored(node_doc *d)
{
    int rc = d->store_failed;
    d->store_failed = 0;
    if (rc == 0)
        return 0;
    return pkc_error(rc, "%s", d->room->n->last_error);
}

int node_doc_transact(pkc_node *n, node_room *r, const char *name, pkc_node_doc_fn fn, void *ud)
{
    node_doc *d;
    int rc = node_doc_open(r, name, &d);
    if (rc)
        return rc;
    (void)n;
    pkc_ytxn *txn;
    if ((rc = pkc_ydoc_transact(d->doc, NULL, &txn)))
        return rc;
    d->store_failed = 0;
    int frc = fn(ud, d->doc, txn);
    rc = pkc_ytxn_commit(txn);
    if (frc)
        return pkc_error(frc < 0 ? frc : PKC_ERR_INVALID_ARG,
                         "document %s: the transaction's function returned %d (%s); what it "
                         "changed is kept",
                         name, frc, pkc_err_name(frc));
    return rc ? rc : stored(d);
}

static int json_to_yvalue(json_t *j, pkc_yvalue *v, int depth)
{
    memset(v, 0, sizeof *v);
    if (depth > 64)
        return pkc_error(PKC_ERR_TOO_LARGE, "JSON nested deeper than 64");
    switch (json_typeof(j)) {
    case JSON_NULL:
        v->kind = PKC_YV_NULL;
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        v->kind = PKC_YV_BOOL;
        v->u.boolean = json_is_true(j);
        return 0;
    case JSON_INTEGER:
        v->kind = PKC_YV_NUMBER;
        v->u.number = (double)json_integer_value(j);
        return 0;
    case JSON_REAL:
        v->kind = PKC_YV_NUMBER;
        v->u.number = json_real_value(j);
        return 0;
    case JSON_STRING:
        v->kind = PKC_YV_STRING;
        v->u.str.ptr = json_string_value(j);
        v->u.str.len = json_string_length(j);
        return 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        v->kind = PKC_YV_ARRAY;
        v->u.array.items = calloc(n ? n : 1, sizeof(pkc_yvalue));
        if (v->u.array.items == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        v->u.array.len = n;
        for (size_t i = 0; i < n; i++) {
            int rc = json_to_yvalue(json_array_get(j, i), &v->u.array.items[i], depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j), i = 0;
        v->kind = PKC_YV_OBJECT;
        v->u.object.entries = calloc(n ? n : 1, sizeof(pkc_yentry));
        if (v->u.object.entries == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        v->u.object.len = n;
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            v->u.object.entries[i].key = key;
            v->u.object.entries[i].key_len = strlen(key);
            int rc = json_to_yvalue(val, &v->u.object.entries[i].value, depth + 1);
            i++;
            if (rc)
                return rc;
        }
        return 0;
    }
    }
    return pkc_error(PKC_ERR_MALFORMED, "unknown JSON type");
}

static void yvalue_clear(pkc_yvalue *v)
{
    if (v->kind == PKC_YV_ARRAY && v->u.array.items) {
        for (size_t i = 0; i < v->u.array.len; i++)
            yvalue_clear(&v->u.array.items[i]);
        free(v->u.array.items);
    } else if (v->kind == PKC_YV_OBJECT && v->u.object.entries) {
        for (size_t i = 0; i < v->u.object.len; i++)
            yvalue_clear(&v->u.object.entries[i].value);
        free(v->u.object.entries);
    }
}

enum { DOC_SET, DOC_DEL, DOC_GET, DOC_AWARE_SET, DOC_AWARE_GET };

int node_doc_json_op(pkc_node *n, node_room *r, const char *name, const char *key,
                     const char *json, int op, char **out)
{
    (void)n;
    node_doc *d;
    int rc;
    if (op == DOC_GET || op == DOC_AWARE_GET) {
        /* Reading does not create a document. */
        int have = 0;
        for (node_doc *x = r->docs; x; x = x->next)
            have |= strcmp(x->name, name) == 0;
        if (!have)
            return pkc_error(PKC_ERR_NOT_FOUND, "no document '%s' in room %s", name, r->id);
    }
    if ((rc = node_doc_open(r, name, &d)))
        return rc;
    if (op == DOC_AWARE_SET)
        return pkc_yawareness_set_local(d->aw, json, node_wall_ms(r->n));
    if (op == DOC_AWARE_GET) {
        json_t *o = json_object();
        uint64_t ids[256];
        size_t k = pkc_yawareness_get_clients(d->aw, ids, 256);
        for (size_t i = 0; i < k && i < 256; i++) {
            const char *st = pkc_yawareness_get(d->aw, ids[i]);
            json_t *v = st ? json_loads(st, JSON_DECODE_ANY, NULL) : NULL;
            char client[24];
            snprintf(client, sizeof client, "%llu", (unsigned long long)ids[i]);
            if (v)
                json_object_set_new(o, client, v);
        }
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (text == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        *out = text;
        return 0;
    }
    pkc_ytype *map;
    if ((rc = pkc_ydoc_get(d->doc, ROOT, PKC_YMAP, &map)))
        return rc;
    if (op == DOC_GET) {
        if (key == NULL) {
            size_t len;
            return pkc_ytype_to_json(map, out, &len);
        }
        pkc_yvalue *v = NULL;
        if ((rc = pkc_ymap_get(map, key, &v)))
            return pkc_error(rc, "document %s has no key '%s'", name, key);
        /* One value as JSON: through a scratch map is overkill; format here. */
        json_t *j = NULL;
        switch (v->kind) {
        case PKC_YV_TYPE: {
            size_t len;
            rc = pkc_ytype_to_json(v->u.type.handle, out, &len);
            pkc_yvalue_free(v);
            return rc;
        }
        default:
            break;
        }
        pkc_yvalue_free(v);
        /* Values other than types: read the whole map and pick the key. */
        char *all = NULL;
        size_t len;
        if ((rc = pkc_ytype_to_json(map, &all, &len)))
            return rc;
        json_t *o = json_loads(all, 0, NULL);
        free(all);
        j = o ? json_object_get(o, key) : NULL;
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(o);
        if (s == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        *out = s;
        return 0;
    }
    d->store_failed = 0;
    if (op == DOC_DEL) {
        rc = pkc_ymap_delete(NULL, map, key);
        return rc ? rc : stored(d);
    }
    json_error_t err;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &err);
    if (j == NULL)
        return pkc_error(PKC_ERR_MALFORMED, "value is not JSON: %s", err.text);
    pkc_yvalue v;
    rc = json_to_yvalue(j, &v, 0);
    if (rc == 0)
        rc = pkc_ymap_set(NULL, map, key, &v, NULL);
    yvalue_clear(&v);
    json_decref(j);
    return rc ? rc : stored(d);
}
