/*
 * hostile: a pkc node that misbehaves on command, for the node tests of
 * issue 11 item 7 (tests/node/ scripts). It runs a real node (pkc_node_* on a
 * thread of its own, LAN discovery and the control socket on) and reaches
 * into its insides (node_int.h) from the loop thread to send what an honest
 * node never sends: broadcasts with a broken signature, the same bytes
 * again, floods, Yjs updates that cannot apply, updates whose predecessor
 * it never sent.
 *
 * Usage: pkc-node-hostile --data DIR [--log-level L] [--below PEER_ID | --above PEER_ID]
 *   --below: make the identity (first start) one whose id hash is smaller
 *   than PEER_ID's, so that this node is the one that dials that peer;
 *   --above: greater, so that the peer dials this node.
 *
 * Commands on stdin, one per line (in the default room, the local room);
 * each is answered by "done CMD ..." or "fail CMD: message" on stdout:
 *
 *   forge TEXT        broadcast TEXT signed, then with one signature byte
 *                     flipped, sent as a mesh GOSSIP to every neighbour
 *   genuine           the last forged message again, with its signature intact
 *                     (same id)
 *   raw TEXT          broadcast TEXT as a GOSSIP sent to every neighbour
 *                     without our mesh (which thus never remembers it); the
 *                     bytes are kept for `replay`
 *   replay            the kept bytes again, as they were
 *   flood N           N SYNC frames of an unused kind on every session of the room, at once
 *   hide DOC KEY JSON set KEY in document DOC, stored here but never sent
 *   garbage DOC       broadcast a "y:DOC" update that cannot apply (a real
 *                     update cut short), signed and encrypted as any update
 *   abandon           from now on, end every session of a link we dialed in
 *                     its handshake, right after HELLO (as our mesh does when
 *                     it drops a peer it is connecting to), keeping the
 *                     connection, and never dial that peer again (its direct
 *                     path held, as after failed dials); links that reach us
 *                     are left alone. Says "abandoned PEER_ID" on stdout for
 *                     each. "calm" ends it.
 *   cut N             close the next N links that reach us as soon as their
 *                     handshake is done, before the loop sends what it
 *                     queued: the ACCEPT and the SCTP ABORT leave in one
 *                     batch of datagrams (as when a full node refuses the
 *                     peer it has just accepted). Says "cut PEER_ID" for
 *                     each. "calm" ends it at once.
 *
 * Events on stdout: "ready PEER_ID", "connected PEER_ID", "disconnected
 * PEER_ID", "message PEER_ID TEXT". SIGTERM or SIGINT stops the node
 * cleanly (exit status 0).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mesh/wire.h"
#include "node/loop.h"
#include "node/node_int.h"
#include "pkc.h"
#include "util/buf.h"
#include "util/err.h"

/* node.c and node_doc.c: not in node_int.h. */
int node_doc_json_op(pkc_node *n, node_room *r, const char *name, const char *key, const char *json,
                     int op, char **out);
#define DOC_SET 0

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cmd_lock = PTHREAD_MUTEX_INITIALIZER;
static pkc_node *node;

static void say(const char *fmt, ...) PKC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&out_lock);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    va_end(ap);
}

static void on_peer(void *ud, pkc_node *n, const pkc_node_peer_event *ev)
{
    (void)ud;
    (void)n;
    say("%s %s", ev->connected ? "connected" : "disconnected", ev->peer_id);
}

static void on_message(void *ud, pkc_node *n, const pkc_node_message *m)
{
    (void)ud;
    (void)n;
    say("message %s %.*s", m->from, (int)m->len, (const char *)m->data);
}

/* ---- on the loop thread ---------------------------------------------------------------------- */

static uint8_t *kept; /* `raw`: the frame, for `replay` */
static size_t kept_len;
static uint8_t *forged; /* `forge`: the intact frame, for `genuine` */
static size_t forged_len;

static node_room *room(void)
{
    return node_room_find(node, NULL);
}

/* A signed, encrypted broadcast of `topic` made as node_broadcast_raw makes
 * it, but not published. */
static int make_broadcast(const char *topic, const void *data, size_t len, uint8_t **frame,
                          size_t *frame_len)
{
    pkc_message_params p;
    memset(&p, 0, sizeof p);
    p.type = PKC_FRAME_DATA;
    p.room = &room()->key;
    p.topic = topic;
    p.topic_len = strlen(topic);
    p.payload = data;
    p.payload_len = len;
    pkc_buf env = PKC_BUF_INIT;
    if (topic[0] == 0) {
        /* A text, in its envelope (src/node/order.h), numbered on. */
        node_room *r = room();
        if (r->bcast.epoch == 0) {
            int64_t wall = node_wall_ms(node);
            r->bcast.epoch = wall > 0 ? (uint64_t)wall : 1;
        }
        if (node_bcast_encode(&env, r->bcast.epoch, ++r->bcast.seq, data, len) != 0) {
            pkc_buf_free(&env);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        p.payload = env.data;
        p.payload_len = env.len;
    }
    int rc = pkc_message_create(node->id, &p, node->clock, node->rng, frame, frame_len, NULL);
    pkc_buf_free(&env);
    return rc;
}

/* Sends `frame` (one DATA frame) as a mesh GOSSIP from us to every
 * neighbour of the room: what our mesh would send, without it. */
static int gossip(const uint8_t *frame, size_t len, unsigned *sent)
{
    pkc_frame f;
    size_t used;
    int rc = pkc_frame_decode(frame, len, NODE_FRAME_MAX, &f, &used);
    if (rc)
        return rc;
    uint8_t self[PKC_PEER_ID_HASH_BYTES];
    if ((rc = pkc_peer_id_parse(pkc_identity_get_peer_id(node->id), self)))
        return rc;
    mesh_msg m;
    memset(&m, 0, sizeof m);
    m.type = MESH_GOSSIP;
    m.u.gossip.origin = self;
    m.u.gossip.id = f.message.id;
    m.u.gossip.id_len = PKC_MSG_ID_BYTES;
    m.u.gossip.payload = frame;
    m.u.gossip.len = len;
    pkc_buf b;
    pkc_buf_init(&b);
    if ((rc = mesh_msg_encode(&b, &m))) {
        pkc_buf_free(&b);
        return pkc_error(rc, "mesh_msg_encode");
    }
    pkc_frame out;
    memset(&out, 0, sizeof out);
    out.type = PKC_FRAME_MESH;
    out.mesh.data = b.data;
    out.mesh.len = b.len;
    *sent = 0;
    for (node_link *l = node->links; l; l = l->next)
        for (node_chan *c = l->chans; c; c = c->next)
            if (!c->dead && c->in_mesh && c->room == room() && node_chan_send_frame(c, &out) == 0)
                (*sent)++;
    pkc_buf_free(&b);
    return *sent ? 0 : pkc_error(PKC_ERR_NOT_FOUND, "no neighbour to send to");
}

static int cmd_forge(const char *text, char *res, size_t cap)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    int rc = make_broadcast("", text, strlen(text), &frame, &len);
    if (rc)
        return rc;
    pkc_frame f;
    size_t used;
    if ((rc = pkc_frame_decode(frame, len, NODE_FRAME_MAX, &f, &used))) {
        free(frame);
        return rc;
    }
    free(forged);
    forged = malloc(len);
    if (forged == NULL) {
        free(frame);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    memcpy(forged, frame, len);
    forged_len = len;
    frame[f.message.signature - frame + 7] ^= 0x20;
    unsigned sent = 0;
    rc = gossip(frame, len, &sent);
    free(frame);
    snprintf(res, cap, "to %u", sent);
    return rc;
}

static int cmd_genuine(char *res, size_t cap)
{
    if (forged == NULL)
        return pkc_error(PKC_ERR_STATE, "nothing forged yet");
    unsigned sent = 0;
    int rc = gossip(forged, forged_len, &sent);
    snprintf(res, cap, "to %u", sent);
    return rc;
}

static int cmd_raw(const char *text, char *res, size_t cap)
{
    free(kept);
    kept = NULL;
    int rc = make_broadcast("", text, strlen(text), &kept, &kept_len);
    if (rc)
        return rc;
    unsigned sent = 0;
    rc = gossip(kept, kept_len, &sent);
    snprintf(res, cap, "to %u", sent);
    return rc;
}

static int cmd_replay(char *res, size_t cap)
{
    if (kept == NULL)
        return pkc_error(PKC_ERR_STATE, "nothing kept to replay");
    unsigned sent = 0;
    int rc = gossip(kept, kept_len, &sent);
    snprintf(res, cap, "to %u", sent);
    return rc;
}

static int cmd_flood(unsigned count, char *res, size_t cap)
{
    unsigned sessions = 0, frames = 0;
    for (node_link *l = node->links; l; l = l->next)
        for (node_chan *c = l->chans; c; c = c->next) {
            if (c->dead || !c->in_mesh || c->room != room())
                continue;
            sessions++;
            for (unsigned i = 0; i < count; i++) {
                /* SYNC frames of a kind nobody uses: counted by the
                 * receiver's rate limits, answered by nothing (a PING
                 * flood would be answered by as many PONGs, and the
                 * answers would get the victim blocked here in turn). */
                pkc_frame f;
                memset(&f, 0, sizeof f);
                f.type = PKC_FRAME_SYNC;
                f.sync.kind = 200;
                f.sync.doc.data = (const uint8_t *)"flood";
                f.sync.doc.len = 5;
                f.sync.message.data = (const uint8_t *)&i;
                f.sync.message.len = sizeof i;
                if (node_chan_send_frame(c, &f) != 0)
                    break;
                frames++;
            }
        }
    snprintf(res, cap, "%u frames on %u sessions", frames, sessions);
    return sessions ? 0 : pkc_error(PKC_ERR_NOT_FOUND, "no session to flood");
}

static int cmd_hide(const char *doc, const char *key, const char *json)
{
    /* The node broadcasts local updates only with sync on (node_doc.c,
     * on_update): off for this one change, which is stored all the same. */
    node->cfg.sync = 0;
    int rc = node_doc_json_op(node, room(), doc, key, json, DOC_SET, NULL);
    node->cfg.sync = 1;
    return rc;
}

static int cmd_garbage(const char *doc, char *res, size_t cap)
{
    /* A real update (a map key set to a long string) cut short. */
    pkc_ydoc *y = NULL, *check = NULL;
    pkc_ytype *map;
    uint8_t *u = NULL;
    size_t ul = 0;
    int rc = pkc_ydoc_new(NULL, node->rng, &y);
    if (rc == 0)
        rc = pkc_ydoc_get(y, "state", PKC_YMAP, &map);
    if (rc == 0) {
        pkc_yvalue v;
        memset(&v, 0, sizeof v);
        v.kind = PKC_YV_STRING;
        v.u.str.ptr = "a value that never arrives whole";
        v.u.str.len = strlen(v.u.str.ptr);
        rc = pkc_ymap_set(NULL, map, "broken", &v, NULL);
    }
    if (rc == 0)
        rc = pkc_ydoc_encode_state(y, NULL, 0, &u, &ul);
    size_t cut = ul / 2;
    /* It must not apply: checked on a document of our own first. */
    if (rc == 0 && (rc = pkc_ydoc_new(NULL, node->rng, &check)) == 0 &&
        pkc_ydoc_apply_update(check, u, cut, NULL) == 0)
        rc = pkc_error(PKC_ERR_STATE, "the cut update applies: not a broken one");
    if (rc == 0) {
        char topic[PKC_DOC_NAME_MAX + 3];
        snprintf(topic, sizeof topic, "y:%s", doc);
        rc = node_broadcast_raw(node, room(), topic, u, cut, NULL);
    }
    snprintf(res, cap, "%zu of %zu bytes", cut, ul);
    free(u);
    pkc_ydoc_free(check);
    pkc_ydoc_free(y);
    return rc;
}

/* abandon: a check handle on the node's loop, run after each of its I/O
 * polls. A session starts (HELLO sent) in one iteration and its WELCOME can
 * come at the earliest in the next, so each handshake of ours is seen here
 * before it completes. */
static uv_check_t abandon_check;
static int abandoning;

static void on_abandon_check(uv_check_t *h)
{
    (void)h;
    for (node_link *l = node->links; l; l = l->next) {
        if (l->dead || !l->outbound)
            continue;
        node_known *k = node_known_get(node, l->hash);
        for (node_chan *c = l->chans; c; c = c->next) {
            if (c->dead || c->sess == NULL ||
                pkc_session_get_state(c->sess) != PKC_SESSION_HANDSHAKE)
                continue;
            if (k) {
                k->direct_failures = NODE_DIRECT_FAILURES;
                k->direct_hold_until = node_now_us(node) + 3600ull * 1000000;
            }
            pkc_session_close(c->sess, PKC_REASON_NONE, "mesh");
            say("abandoned %s", l->peer_id);
        }
    }
}

static int cmd_abandon(int on)
{
    if (on && !abandoning) {
        if (uv_check_init(&node->loop->uv, &abandon_check) != 0 ||
            uv_check_start(&abandon_check, on_abandon_check) != 0)
            return pkc_error(PKC_ERR_STATE, "no check handle on the loop");
        abandoning = 1;
    } else if (!on && abandoning) {
        uv_close((uv_handle_t *)&abandon_check, NULL);
        abandoning = 0;
    }
    return 0;
}

/* cut: the node's batch_end (pkc_loop runs it after a batch of datagrams
 * is dispatched, before the datagrams queued meanwhile are sent) wrapped,
 * so that a link that reached us and whose session has just become
 * established (we sent ACCEPT) is closed in the same batch. */
static unsigned cuts_left;

static void cut_batch_end(void *ud)
{
    pkc_node *n = ud; /* not `node`: NULL while the node is freed */
    node_batch_end(n);
    for (node_link *l = n->links; l && cuts_left; l = l->next) {
        if (l->dead || l->outbound)
            continue;
        for (node_chan *c = l->chans; c; c = c->next)
            if (!c->dead && c->sess && pkc_session_get_state(c->sess) == PKC_SESSION_ESTABLISHED) {
                say("cut %s", l->peer_id);
                node_link_close(l, "hostile: cut");
                cuts_left--;
                break;
            }
    }
}

static int cmd_cut(unsigned n)
{
    node->loop->batch_end = n ? cut_batch_end : node_batch_end;
    cuts_left = n;
    return 0;
}

typedef struct job {
    char *line;
    char res[128];
    int rc;
    char msg[256];
    int done;
    pthread_mutex_t m;
    pthread_cond_t c;
} job;

static void run_job(void *arg)
{
    job *j = arg;
    char *save = NULL, *cmd = strtok_r(j->line, " ", &save);
    char *rest = save && *save ? save : NULL;
    int rc;
    if (cmd == NULL)
        rc = pkc_error(PKC_ERR_INVALID_ARG, "empty command");
    else if (room() == NULL)
        rc = pkc_error(PKC_ERR_STATE, "in no room");
    else if (strcmp(cmd, "forge") == 0 && rest)
        rc = cmd_forge(rest, j->res, sizeof j->res);
    else if (strcmp(cmd, "genuine") == 0)
        rc = cmd_genuine(j->res, sizeof j->res);
    else if (strcmp(cmd, "raw") == 0 && rest)
        rc = cmd_raw(rest, j->res, sizeof j->res);
    else if (strcmp(cmd, "replay") == 0)
        rc = cmd_replay(j->res, sizeof j->res);
    else if (strcmp(cmd, "flood") == 0 && rest)
        rc = cmd_flood((unsigned)strtoul(rest, NULL, 10), j->res, sizeof j->res);
    else if (strcmp(cmd, "abandon") == 0)
        rc = cmd_abandon(1);
    else if (strcmp(cmd, "calm") == 0) {
        rc = cmd_abandon(0);
        if (rc == 0)
            rc = cmd_cut(0);
    }
    else if (strcmp(cmd, "cut") == 0 && rest)
        rc = cmd_cut((unsigned)strtoul(rest, NULL, 10));
    else if (strcmp(cmd, "garbage") == 0 && rest)
        rc = cmd_garbage(rest, j->res, sizeof j->res);
    else if (strcmp(cmd, "hide") == 0 && rest) {
        char *doc = strtok_r(NULL, " ", &save);
        char *key = strtok_r(NULL, " ", &save);
        rc = doc && key && save && *save ? cmd_hide(doc, key, save)
                                         : pkc_error(PKC_ERR_INVALID_ARG, "hide DOC KEY JSON");
    } else
        rc = pkc_error(PKC_ERR_INVALID_ARG, "unknown command or missing argument");
    j->rc = rc;
    if (rc)
        snprintf(j->msg, sizeof j->msg, "%s", pkc_errmsg());
    node_reschedule(node);
    pthread_mutex_lock(&j->m);
    j->done = 1;
    pthread_cond_signal(&j->c);
    pthread_mutex_unlock(&j->m);
}

/* ---- threads --------------------------------------------------------------------------------- */

/* run_line: runs one command line on the loop thread and waits for it;
 * the caller holds cmd_lock and node is set. */
static void run_line(char *line, job *j)
{
    memset(j, 0, sizeof *j);
    j->line = line;
    pthread_mutex_init(&j->m, NULL);
    pthread_cond_init(&j->c, NULL);
    if (pkc_loop_post(node->loop, run_job, j) != 0) {
        j->rc = PKC_ERR_NOMEM;
        snprintf(j->msg, sizeof j->msg, "cannot post to the loop");
    } else {
        pthread_mutex_lock(&j->m);
        while (!j->done)
            pthread_cond_wait(&j->c, &j->m);
        pthread_mutex_unlock(&j->m);
    }
    pthread_mutex_destroy(&j->m);
    pthread_cond_destroy(&j->c);
}

static void *reader(void *arg)
{
    (void)arg;
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char name[32];
        snprintf(name, sizeof name, "%.31s", line);
        name[strcspn(name, " ")] = 0;
        job j;
        pthread_mutex_lock(&cmd_lock);
        if (node == NULL) {
            pthread_mutex_unlock(&cmd_lock);
            break;
        }
        run_line(line, &j);
        pthread_mutex_unlock(&cmd_lock);
        if (j.rc)
            say("fail %s: %s", name, j.msg);
        else
            say("done %s %s", name, j.res);
    }
    return NULL;
}

/* The identity of a first start, with an id hash below `peer`'s (`sign`
 * -1) or above it (1). */
static int identity_beside(const char *dir, const char *peer, int sign)
{
    uint8_t limit[PKC_PEER_ID_HASH_BYTES], mine[PKC_PEER_ID_HASH_BYTES];
    int rc = pkc_peer_id_parse(peer, limit);
    if (rc)
        return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/" PKC_IDENTITY_FILE, dir);
    for (int i = 0; i < 5000; i++) {
        pkc_identity *id = NULL;
        int created = 0;
        if ((rc = pkc_identity_load_or_create(dir, pkc_rng_system(), &id, &created)))
            return rc;
        rc = pkc_peer_id_parse(pkc_identity_get_peer_id(id), mine);
        pkc_identity_free(id);
        if (rc)
            return rc;
        if (memcmp(mine, limit, sizeof mine) * sign > 0)
            return 0;
        if (!created)
            return pkc_error(PKC_ERR_EXISTS, "%s holds an identity that is not %s %s", dir,
                             sign < 0 ? "below" : "above", peer);
        unlink(path);
    }
    return pkc_error(PKC_ERR_STATE, "no identity %s %s in 5000 tries", sign < 0 ? "below" : "above",
                     peer);
}

int main(int argc, char **argv)
{
    const char *data = NULL, *beside = NULL, *level = "info";
    int sign = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
        else if (strcmp(argv[i], "--below") == 0 || strcmp(argv[i], "--above") == 0) {
            beside = argv[i + 1];
            sign = argv[i][2] == 'b' ? -1 : 1;
        }
        else if (strcmp(argv[i], "--log-level") == 0)
            level = argv[i + 1];
    }
    if (data == NULL) {
        fprintf(stderr, "usage: %s --data DIR [--log-level L] [--below|--above PEER_ID]\n",
                argv[0]);
        return 2;
    }
    pkc_log_level lv;
    if (pkc_log_level_parse(level, &lv) == 0)
        pkc_log_set_level(lv);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread: main waits for them */
    if (beside && identity_beside(data, beside, sign) != 0) {
        fprintf(stderr, "hostile: %s\n", pkc_errmsg());
        return 1;
    }
    pkc_node_config cfg;
    pkc_node_config_default(&cfg);
    cfg.data_dir = data;
    pkc_node_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.peer = on_peer;
    cb.message = on_message;
    pkc_node *n = NULL;
    if (pkc_node_new(&cfg, &cb, NULL, &n) != 0 || pkc_node_start(n) != 0) {
        fprintf(stderr, "hostile: %s\n", pkc_errmsg());
        pkc_node_free(n);
        return 1;
    }
    node = n;
    say("ready %s", pkc_node_get_peer_id(n));
    pthread_t rd;
    if (pthread_create(&rd, NULL, reader, NULL) != 0) {
        pkc_node_free(n);
        return 1;
    }
    pthread_detach(rd);
    int sig = 0;
    sigwait(&sigs, &sig);
    pthread_mutex_lock(&cmd_lock);
    if (abandoning || cuts_left) { /* its handle closed on the loop, before the loop goes */
        char calm[] = "calm";
        job j;
        run_line(calm, &j);
    }
    node = NULL;
    pkc_node_free(n);
    pthread_mutex_unlock(&cmd_lock);
    free(kept);
    free(forged);
    return 0;
}
