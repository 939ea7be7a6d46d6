/*
 * peer.c: the browser peer's binding of the engines, the page's counterpart
 * of src/node/node_conn.c, node_msg.c and node_doc.c without their I/O
 * (docs/web.md, "The browser peer"). The JavaScript host (web/page/peer.js)
 * owns the RTCPeerConnections, data channels, BroadcastChannel and timers;
 * this file owns everything said over a channel, exactly as the native node
 * says it (docs/protocol.md, "Node"):
 *
 *  - a channel (label "pkc", reliable, ordered) per room carries a pkc
 *    session: the dialer is the initiator, expects the peer it dialed and
 *    proves the room's secret; the other side requires a proof and offers
 *    every room's secret; both DTLS fingerprints (from the SDP) are bound;
 *  - the room's mesh runs over the session's MESH frames; each side's first
 *    frame is its signed ANNOUNCE;
 *  - broadcasts are DATA frames encrypted with the room key, published to
 *    the mesh and checked by node_room_broadcast_check() (src/node/
 *    node_rules.c, the node's own rules) and a replay window;
 *  - documents: y-protocols step 1 on every new session, step 2 answers
 *    (SYNC frames, kind 0, or fragments of kind 2 above 252 KiB: the
 *    node's node_sync_send and node_sync_frag_add), live updates as
 *    "y:NAME" broadcasts.
 *
 * The host is called back through functions imported from "pkc_host"
 * (below). Engines do not allow calls back into themselves from their
 * callbacks, so what a callback would do to a mesh is queued and run when
 * the host's call returns (work_run), as the node does (node_defer).
 * Time and randomness: pkc_clock_system() and pkc_rng_system(), which WASI
 * routes to the host (performance.now, Date, crypto.getRandomValues).
 */
#include "pkc.h"
#include "crypto/kdf.h"
#include "crypto/peerid.h"
#include "node/node_rules.h"
#include "node/order.h"
#include "util/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST(name) __attribute__((import_module("pkc_host"), import_name(name)))

/* Send one record on the channel's data channel; nonzero if it cannot. */
HOST("chan_send") int host_chan_send(void *chan, const uint8_t *record, size_t len);
/* The channel's session is established and its room's mesh took the peer. */
HOST("chan_established") void host_chan_established(void *chan, void *room, const char *peer_id);
/* The channel's session ended (close the data channel; free the channel
 * with pkcw_chan_free once this call has returned). */
HOST("chan_closed")
void host_chan_closed(void *chan, int reason, int by_peer, int authenticated, const char *text);
/* A text broadcast of the room (topic ""), checked and opened. */
HOST("message")
void host_message(void *room, const char *from, const uint8_t *id, const uint8_t *payload,
                  size_t len, double timestamp_ms);
/* Document `name` of the room changed (local: by this peer) by `update`
 * (Yjs v1). For a local change, DOC_HELD means the host keeps the update
 * first and broadcasts it itself once kept (pkcw_room_doc_send); anything
 * else, that the core broadcasts it now (docs/web.md, "Persistence"). */
#define DOC_HELD 2
HOST("doc_changed")
int host_doc_changed(void *room, const char *name, int local, const uint8_t *update, size_t len);
/* The room's mesh asks for a connection to `peer` (20-byte hash). */
HOST("mesh_connect") void host_mesh_connect(void *room, const uint8_t *peer, int mode);
/* A direct message (topic "dm") to us from `from`, checked and opened
 * (node_direct_open). The host keeps it once (by id), shows it, and
 * acknowledges every copy (pkcw_direct_seal "ack", pkcw_room_direct_send). */
HOST("direct")
void host_direct(void *room, const char *from, const uint8_t *id, const uint8_t *text,
                 size_t len, double timestamp_ms);
/* `from`'s receipt (ack) of our direct message `id`. */
HOST("delivered") void host_delivered(void *room, const char *from, const uint8_t *id);
/* A neighbour's signed announcement was checked: its keys (Ed25519 and
 * X25519, 32 bytes each), to seal direct messages to it. */
HOST("peer_keys")
void host_peer_keys(const char *peer_id, const uint8_t *pk, const uint8_t *dh);
/* Something worth telling (level 0 debug, 1 info, 2 error). */
HOST("log") void host_log(int level, const char *text);

#define WEB_ROOMS_MAX 16
/* Tokens of invitations this page accepted (two-step: the inviter dials us
 * and proves one), offered beside the rooms' secrets: the newest 8. */
#define WEB_TOKENS_MAX 8
#define WEB_PROOFS_MAX (WEB_ROOMS_MAX + WEB_TOKENS_MAX)

typedef struct web_room web_room;
typedef struct web_chan web_chan;
typedef struct web_doc web_doc;

/* A peer whose keys we know (from its announcement, or the host's peer
 * book): to seal direct messages to it, as the node's node_known. */
typedef struct web_known {
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    uint8_t pk[32], dh[32];
    struct web_known *next;
} web_known;

#define WEB_KNOWN_MAX 1024

typedef struct web_peer {
    pkc_identity *id; /* borrowed from the host */
    web_known *known;
    size_t n_known;
    const pkc_clock *clock;
    const pkc_rng *rng;
    pkc_guard *guard;
    pkc_replay *replay;
    web_room *rooms;
    web_chan *chans;
    uint64_t bcast_epoch_last; /* the last text epoch opened (order.h) */
    struct work *work, **work_tail;
    int in_call; /* depth of pkcw_* calls: work runs when the outermost returns */
    /* For the metrics, as the node counts them (pkcw_peer_metrics). */
    uint64_t total_connections; /* sessions that joined a mesh */
    uint64_t conflicts;         /* remote updates merged over a local change */
    int64_t last_sync_ms;       /* wall clock of the last remote update applied; 0: none */
    struct web_token {
        uint8_t token[32];
        uint8_t room_id[PKC_ROOM_ID_BYTES];
        uint8_t inviter[PKC_PEER_ID_HASH_BYTES]; /* only the inviter may prove it */
    } tokens[WEB_TOKENS_MAX];
    size_t n_tokens, next_token;
} web_peer;

struct web_room {
    web_peer *p;
    uint8_t secret[PKC_ROOM_SECRET_BYTES];
    pkc_room_key key;
    pkc_mesh *mesh;
    node_order *order;     /* senders' texts in the order sent (src/node/order.h) */
    node_bcast_state bcast; /* our texts' epoch and last number (order.h) */
    web_doc *docs;
    web_room *next;
};

struct web_doc {
    web_room *room;
    char name[PKC_DOC_NAME_MAX + 1];
    pkc_ydoc *doc;
    int applying_remote;
    int changed_local; /* a local change since the last remote update */
    web_doc *next;
};

struct web_chan {
    web_peer *p;
    web_room *room; /* the dialer's from the start, the answerer's once proven */
    pkc_session *sess;
    int initiator;
    uint8_t hash[PKC_PEER_ID_HASH_BYTES]; /* the peer's (expected, then authenticated) */
    char peer_id[PKC_PEER_ID_SIZE];
    uint8_t proof_ids[WEB_PROOFS_MAX][PKC_ROOM_ID_BYTES];
    int proof_token[WEB_PROOFS_MAX]; /* -1: a room's secret; else p->tokens' slot */
    int established, in_mesh, mesh_bye, dead;
    node_sync_frag frag; /* a sync message arriving in fragments */
    web_chan *next;
};

enum { W_DISCONNECTED = 1, W_CONNECT_FAILED = 2 };
struct work {
    int kind;
    web_room *room;
    uint8_t peer[PKC_PEER_ID_HASH_BYTES];
    struct work *next;
};

static const char remote_origin_tag = 'r';
#define REMOTE_ORIGIN ((const void *)&remote_origin_tag)

static void logf_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int level, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    host_log(level, buf);
}

static int64_t wall_ms(web_peer *p)
{
    return p->clock->wall_ms(p->clock->user_data);
}

static uint64_t now_us(web_peer *p)
{
    return p->clock->mono_us(p->clock->user_data);
}

/* ---- deferred work -------------------------------------------------------------------------- */

static void defer(web_peer *p, int kind, web_room *r, const uint8_t *peer)
{
    struct work *w = calloc(1, sizeof *w);
    if (w == NULL) {
        host_log(2, "out of memory: a mesh event is lost");
        return;
    }
    w->kind = kind;
    w->room = r;
    memcpy(w->peer, peer, sizeof w->peer);
    *p->work_tail = w;
    p->work_tail = &w->next;
}

static void work_run(web_peer *p)
{
    while (p->work) {
        struct work *w = p->work;
        p->work = w->next;
        if (p->work == NULL)
            p->work_tail = &p->work;
        if (w->room->mesh) {
            if (w->kind == W_DISCONNECTED)
                (void)pkc_mesh_peer_disconnected(w->room->mesh, w->peer);
            else
                (void)pkc_mesh_peer_connect_failed(w->room->mesh, w->peer);
        }
        free(w);
    }
}

static void enter(web_peer *p)
{
    p->in_call++;
}

static void leave(web_peer *p)
{
    if (--p->in_call == 0)
        work_run(p);
}

/* ---- known peers ---------------------------------------------------------------------------- */

static web_known *known_get(web_peer *p, const uint8_t hash[PKC_PEER_ID_HASH_BYTES])
{
    for (web_known *k = p->known; k; k = k->next)
        if (memcmp(k->hash, hash, PKC_PEER_ID_HASH_BYTES) == 0)
            return k;
    return NULL;
}

static int known_put(web_peer *p, const uint8_t pk[32], const uint8_t dh[32])
{
    char id[PKC_PEER_ID_SIZE];
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_from_public_key(pk, id);
    int rc = pkc_peer_id_parse(id, hash);
    if (rc)
        return rc;
    web_known *k = known_get(p, hash);
    if (k == NULL) {
        if (p->n_known == WEB_KNOWN_MAX)
            return pkc_error(PKC_ERR_TOO_LARGE, "at most %d known peers", WEB_KNOWN_MAX);
        if ((k = calloc(1, sizeof *k)) == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        memcpy(k->hash, hash, sizeof hash);
        k->next = p->known;
        p->known = k;
        p->n_known++;
    }
    memcpy(k->pk, pk, 32);
    memcpy(k->dh, dh, 32);
    return 0;
}

/* ---- channels and sessions ------------------------------------------------------------------ */

static web_chan *chan_find(web_peer *p, web_room *r, const uint8_t *peer)
{
    for (web_chan *c = p->chans; c; c = c->next)
        if (!c->dead && c->established && c->room == r && memcmp(c->hash, peer, 20) == 0)
            return c;
    return NULL;
}

static void chan_dead(web_chan *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    node_sync_frag_reset(&c->frag);
    if (c->room && c->in_mesh) {
        if (!c->mesh_bye)
            defer(c->p, W_DISCONNECTED, c->room, c->hash);
    } else if (c->room && c->initiator && !c->mesh_bye) {
        defer(c->p, W_CONNECT_FAILED, c->room, c->hash);
    }
    c->in_mesh = 0;
}

static int on_sess_send(void *ud, const uint8_t *record, size_t len)
{
    web_chan *c = ud;
    return host_chan_send(c, record, len) ? PKC_ERR_CLOSED : 0;
}

static int send_frame(void *ud, const pkc_frame *f)
{
    web_chan *c = ud;
    return pkc_session_send(c->sess, f);
}

/* One SYNC frame, or fragments when long (node_sync_send: the node's code). */
static void send_sync(web_chan *c, web_doc *d, const uint8_t *msg, size_t len)
{
    if (node_sync_send(d->name, msg, len, send_frame, c) != 0)
        logf_(2, "document %s: sync to %s not sent: %s", d->name, c->peer_id, pkc_errmsg());
}

static void send_step1(web_chan *c, web_doc *d)
{
    uint8_t *msg = NULL;
    size_t len = 0;
    if (pkc_ysync_step1(d->doc, &msg, &len) == 0)
        send_sync(c, d, msg, len);
    free(msg);
}

/* Our signed announcement, first thing on a new session (as the node's,
 * with no listener addresses: a page has none). */
static void send_announce(web_chan *c)
{
    pkc_announce_params ap;
    memset(&ap, 0, sizeof ap);
    ap.timestamp_ms = (uint64_t)wall_ms(c->p);
    uint8_t *frame = NULL;
    size_t len = 0;
    if (pkc_announce_create(c->p->id, &ap, &frame, &len) != 0 ||
        pkc_session_send_encoded(c->sess, frame, len) != 0)
        logf_(0, "announcement to %s not sent: %s", c->peer_id, pkc_errmsg());
    free(frame);
}

static void on_sess_established(void *ud, pkc_session *s)
{
    web_chan *c = ud;
    web_peer *p = c->p;
    pkc_session_info si;
    pkc_session_get_info(s, &si);
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    if (pkc_peer_id_parse(si.peer_id, hash) != 0) {
        pkc_session_close(s, PKC_REASON_PROTOCOL, "bad peer id");
        return;
    }
    if (c->initiator && memcmp(c->hash, hash, sizeof hash) != 0) {
        pkc_session_close(s, PKC_REASON_WRONG_PEER, "another peer on this connection");
        return;
    }
    memcpy(c->hash, hash, sizeof hash);
    memcpy(c->peer_id, si.peer_id, sizeof c->peer_id);
    if (!c->initiator) {
        web_room *r = NULL;
        if (si.proof_key >= 0 && si.proof_key < WEB_PROOFS_MAX)
            for (r = p->rooms; r; r = r->next)
                if (memcmp(r->key.id, c->proof_ids[si.proof_key], PKC_ROOM_ID_BYTES) == 0)
                    break;
        if (r == NULL) {
            pkc_session_close(s, PKC_REASON_UNAUTHORIZED, "no room");
            return;
        }
        /* An invitation's token: proven by its inviter alone. */
        int t = si.proof_key >= 0 && si.proof_key < WEB_PROOFS_MAX ? c->proof_token[si.proof_key]
                                                                   : -1;
        if (t >= 0 && memcmp(p->tokens[t].inviter, hash, sizeof hash) != 0) {
            pkc_session_close(s, PKC_REASON_UNAUTHORIZED,
                              "an invitation's token proven by a peer that is not its inviter");
            return;
        }
        for (web_chan *o = p->chans; o; o = o->next)
            if (o != c && !o->dead && o->room == r && o->established &&
                memcmp(o->hash, hash, sizeof hash) == 0) {
                pkc_session_close(s, PKC_REASON_PROTOCOL, "a channel for this room exists");
                return;
            }
        c->room = r;
    }
    c->established = 1;
    web_room *r = c->room;
    if (r->mesh == NULL) {
        pkc_session_close(s, PKC_REASON_SHUTDOWN, "room not running");
        return;
    }
    /* The address tag: a page has no address of its own to show; the peer
     * id is an opaque tag that is its own prefix. */
    if (pkc_mesh_peer_connected(r->mesh, hash, hash, sizeof hash) != 0) {
        logf_(1, "the room's mesh did not take %s: %s", c->peer_id, pkc_errmsg());
        c->mesh_bye = 1;
        pkc_session_close(s, PKC_REASON_NONE, "room full");
        return;
    }
    c->in_mesh = 1;
    r->p->total_connections++;
    send_announce(c);
    for (web_doc *d = r->docs; d; d = d->next)
        send_step1(c, d);
    host_chan_established(c, r, c->peer_id);
}

static web_doc *doc_open(web_room *r, const char *name);

static void frag_abandon(void *ud)
{
    web_chan *c = ud;
    logf_(1, "document %s: a sync message from %s given up after %zu of %zu bytes", c->frag.doc,
          c->peer_id, c->frag.len, c->frag.total);
}

static void sync_frame(web_chan *c, const pkc_sync *s)
{
    if (s->kind == NODE_SYNC_FRAGMENT) {
        int whole = node_sync_frag_add(&c->frag, s, frag_abandon, c);
        if (whole < 0) {
            logf_(2, "sync from %s dropped: %s", c->peer_id, pkc_errmsg());
            return;
        }
        if (whole == 0)
            return;
        logf_(0, "document %s: a sync message of %zu bytes from %s reassembled", c->frag.doc,
              c->frag.total, c->peer_id);
        pkc_sync full = *s;
        full.kind = PKC_SYNC_MESSAGE;
        full.message.data = c->frag.buf;
        full.message.len = c->frag.total;
        node_sync_frag msg = c->frag; /* ours now */
        memset(&c->frag, 0, sizeof c->frag);
        sync_frame(c, &full);
        node_sync_frag_reset(&msg);
        return;
    }
    if (s->kind != PKC_SYNC_MESSAGE || s->doc.len == 0 || s->doc.len > PKC_DOC_NAME_MAX)
        return; /* awareness (kind 1): not shown by a page yet */
    char name[PKC_DOC_NAME_MAX + 1];
    memcpy(name, s->doc.data, s->doc.len);
    name[s->doc.len] = 0;
    if (strlen(name) != s->doc.len)
        return; /* a NUL inside */
    int existed = 0;
    for (web_doc *d = c->room->docs; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            existed = 1;
    web_doc *d = doc_open(c->room, name);
    if (d == NULL)
        return;
    uint8_t *reply = NULL;
    size_t rn = 0;
    int type = 0;
    d->applying_remote = 1;
    int rc =
        pkc_ysync_read(d->doc, s->message.data, s->message.len, REMOTE_ORIGIN, &reply, &rn, &type);
    d->applying_remote = 0;
    if (rc) {
        logf_(2, "document %s: sync message from %s dropped: %s", name, c->peer_id, pkc_errmsg());
        free(reply);
        return;
    }
    if (reply)
        send_sync(c, d, reply, rn);
    free(reply);
    if (!existed)
        send_step1(c, d);
}

static void on_sess_frame(void *ud, pkc_session *s, const pkc_frame *f)
{
    (void)s;
    web_chan *c = ud;
    if (c->dead || c->room == NULL || !c->in_mesh)
        return;
    if (f->type == PKC_FRAME_MESH) {
        int rc = pkc_mesh_receive(c->room->mesh, c->hash, f->mesh.data, f->mesh.len);
        if (rc && rc != PKC_ERR_MESH_BUSY)
            logf_(0, "mesh message from %s dropped: %s", c->peer_id, pkc_errmsg());
    } else if (f->type == PKC_FRAME_SYNC) {
        sync_frame(c, &f->sync);
    } else if (f->type == PKC_FRAME_ANNOUNCE) {
        /* The peer's own announcement: its X25519 key, checked as the node
         * checks it (node_conn.c), for the direct messages we seal to it. */
        const pkc_announce *a = &f->announce;
        pkc_session_info si;
        pkc_session_get_info(c->sess, &si);
        if (memcmp(a->public_key, si.peer_public_key, PKC_PUBLIC_KEY_BYTES) == 0 &&
            pkc_announce_verify(a, wall_ms(c->p), 3600000, 30000, 0) == 0 &&
            known_put(c->p, a->public_key, a->dh_public_key) == 0)
            host_peer_keys(c->peer_id, a->public_key, a->dh_public_key);
    }
}

static void on_sess_closed(void *ud, pkc_session *s, const pkc_session_end *end)
{
    (void)s;
    web_chan *c = ud;
    chan_dead(c);
    host_chan_closed(c, (int)end->reason, end->by_peer, end->authenticated, end->text);
}

static const pkc_session_callbacks sess_cb = {
    .send = on_sess_send,
    .established = on_sess_established,
    .frame = on_sess_frame,
    .closed = on_sess_closed,
};

/* ---- rooms: the mesh's callbacks ------------------------------------------------------------ */

static void mesh_send(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    web_room *r = ud;
    web_chan *c = chan_find(r->p, r, peer);
    if (c == NULL)
        return;
    pkc_frame f;
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_MESH;
    f.mesh.data = data;
    f.mesh.len = len;
    if (pkc_session_send(c->sess, &f) != 0)
        logf_(0, "mesh message to %s not sent: %s", c->peer_id, pkc_errmsg());
}

static pkc_mesh_validation mesh_validate(void *ud, const pkc_mesh_message *msg)
{
    web_room *r = ud;
    pkc_frame f;
    int bad_signature = 0;
    int64_t now = wall_ms(r->p);
    pkc_mesh_validation v = node_room_broadcast_check(msg, r->key.id, now, &f, &bad_signature);
    if (bad_signature)
        host_log(2, "a message with a bad signature, rejected");
    if (v != PKC_MESH_ACCEPT)
        return v;
    if (pkc_replay_check(r->p->replay, f.message.id, f.message.from,
                         (int64_t)f.message.timestamp_ms, now) != 0) {
        logf_(1, "a message dropped: %s", pkc_errmsg());
        return PKC_MESH_IGNORE;
    }
    return PKC_MESH_ACCEPT;
}

static void remote_update(web_room *r, const char *name, const uint8_t *update, size_t len)
{
    web_doc *d = doc_open(r, name);
    if (d == NULL)
        return;
    d->applying_remote = 1;
    int rc = pkc_ydoc_apply_update(d->doc, update, len, REMOTE_ORIGIN);
    d->applying_remote = 0;
    if (rc == 0 && !pkc_ydoc_has_pending(d->doc))
        return;
    /* As the node: a gap is filled by the neighbours' step 2. */
    logf_(1, "document %s: %s: asking the neighbours for the state", name,
          rc ? pkc_errmsg() : "updates are missing");
    for (web_chan *c = r->p->chans; c; c = c->next)
        if (!c->dead && c->in_mesh && c->room == r)
            send_step1(c, d);
}

static void mesh_deliver(void *ud, const pkc_mesh_message *msg)
{
    web_room *r = ud;
    pkc_frame f;
    if (node_decode_data(msg->payload, msg->len, &f) != 0)
        return;
    pkc_message *m = &f.message;
    uint8_t *buf = malloc(m->payload.len + 1);
    if (buf == NULL) {
        host_log(2, "out of memory opening a message");
        return;
    }
    if (pkc_message_open(m, PKC_FRAME_DATA, r->p->id, &r->key, 1, buf, m->payload.len + 1) != 0) {
        logf_(2, "a message that does not open: %s", pkc_errmsg());
        free(buf);
        return;
    }
    char from[PKC_PEER_ID_SIZE];
    pkc_peer_id_from_public_key(m->from, from);
    if (m->topic.len == 0) {
        /* A text in its envelope (epoch, number: order.h), passed on in its
         * sender's order, as the node does (node_msg.c, text_broadcast). */
        uint64_t epoch, seq;
        node_order_msg om;
        if (node_bcast_open(m, &epoch, &seq, &om) != 0)
            logf_(2, "a broadcast from %s dropped: %s", from, pkc_errmsg());
        else
            node_order_push(r->order, epoch, seq, &om, now_us(r->p));
    } else if (m->topic.len > 2 && m->topic.len - 2 <= PKC_DOC_NAME_MAX &&
               memcmp(m->topic.data, "y:", 2) == 0) {
        char name[PKC_DOC_NAME_MAX + 1];
        memcpy(name, m->topic.data + 2, m->topic.len - 2);
        name[m->topic.len - 2] = 0;
        if (strlen(name) == m->topic.len - 2)
            remote_update(r, name, m->plaintext.data, m->plaintext.len);
    }
    free(buf);
}

/* A message routed to us with pkc_mesh_send(): checked and opened as the
 * node does (node_direct_open); a text or a receipt goes to the host. */
static void mesh_direct(void *ud, const uint8_t *from_hash, const uint8_t *data, size_t len,
                        unsigned hops)
{
    (void)hops;
    web_room *r = ud;
    pkc_frame f;
    uint8_t *buf = NULL;
    int kind = node_direct_open(r->p->id, from_hash, data, len, wall_ms(r->p), &f, &buf);
    if (kind < 0) {
        host_log(2, pkc_errmsg());
        return;
    }
    if (kind == NODE_DIRECT_NOT_OURS)
        return;
    const pkc_message *m = &f.message;
    char from[PKC_PEER_ID_SIZE];
    pkc_peer_id_from_public_key(m->from, from);
    if (kind == NODE_DIRECT_DM)
        host_direct(r, from, m->id, m->plaintext.data, m->plaintext.len,
                    (double)m->timestamp_ms);
    else if (kind == NODE_DIRECT_ACK)
        host_delivered(r, from, m->plaintext.data);
    free(buf);
}

static void mesh_connect(void *ud, const uint8_t *peer, pkc_mesh_connect_mode mode)
{
    host_mesh_connect(ud, peer, (int)mode);
}

/* Dial information through the mesh is for native listeners; a page has
 * none, and dials no listener yet (page<->node interop is a later piece). */
static void mesh_signal(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    (void)ud;
    (void)peer;
    logf_(0, "a mesh signal of %zu bytes: a page has no listener to dial, dropped", len);
}

static void mesh_disconnect(void *ud, const uint8_t *peer, pkc_mesh_disconnect_reason reason)
{
    web_room *r = ud;
    for (web_chan *c = r->p->chans; c; c = c->next)
        if (!c->dead && c->room == r && memcmp(c->hash, peer, 20) == 0) {
            c->mesh_bye = 1;
            if (c->sess)
                pkc_session_close(
                    c->sess, reason == PKC_MESH_BYE_LEAVING ? PKC_REASON_SHUTDOWN : PKC_REASON_NONE,
                    "mesh");
            chan_dead(c);
        }
}

static const pkc_mesh_callbacks mesh_cb = {
    .send = mesh_send,
    .deliver = mesh_deliver,
    .validate = mesh_validate,
    .direct = mesh_direct,
    .connect = mesh_connect,
    .signal = mesh_signal,
    .disconnect = mesh_disconnect,
};

/* ---- broadcasts ----------------------------------------------------------------------------- */

static int broadcast(web_room *r, const char *topic, const uint8_t *data, size_t len,
                     uint8_t id[PKC_MSG_ID_BYTES])
{
    web_peer *p = r->p;
    uint8_t *frame = NULL;
    size_t fl = 0;
    uint8_t mid[PKC_MSG_ID_BYTES];
    pkc_frame own;
    int replay_rc = 0;
    /* Made as the node makes it (node_rules.c), our own copy remembered. */
    int rc = node_broadcast_make(p->id, &r->key, topic, data, len, &r->bcast, &p->bcast_epoch_last,
                                 p->replay, p->clock, p->rng, wall_ms(p), &frame, &fl, mid, &own,
                                 &replay_rc);
    if (rc)
        return rc;
    if (replay_rc)
        logf_(0, "own message not remembered: %s", pkc_errmsg());
    if (id)
        memcpy(id, mid, sizeof mid);
    rc = pkc_mesh_publish(r->mesh, mid, sizeof mid, frame, fl);
    free(frame);
    return rc;
}

/* ---- documents ------------------------------------------------------------------------------ */

static void send_update(web_room *r, const char *name, const uint8_t *update, size_t len)
{
    char topic[PKC_DOC_NAME_MAX + 3];
    snprintf(topic, sizeof topic, "y:%s", name);
    int rc = broadcast(r, topic, update, len, NULL);
    if (rc && rc != PKC_ERR_MESH_BUSY)
        logf_(2, "document %s: update not sent: %s", name, pkc_errmsg());
}

static void on_update(void *ud, const uint8_t *update, size_t len, const void *origin)
{
    web_doc *d = ud;
    int local = origin != REMOTE_ORIGIN;
    /* As the node's node_doc.c: a peer's update (not one restored from the
     * host's store, applied with applying_remote 0) after a local change
     * is a conflict resolved; it is the last sync. */
    if (local) {
        d->changed_local = 1;
    } else if (d->applying_remote == 1) {
        if (d->changed_local)
            d->room->p->conflicts++;
        d->changed_local = 0;
        d->room->p->last_sync_ms = wall_ms(d->room->p);
    }
    if (host_doc_changed(d->room, d->name, local, update, len) != DOC_HELD && local)
        send_update(d->room, d->name, update, len);
}

static web_doc *doc_open(web_room *r, const char *name)
{
    for (web_doc *d = r->docs; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    size_t nl = strlen(name);
    if (nl == 0 || nl > PKC_DOC_NAME_MAX) {
        pkc_error(PKC_ERR_INVALID_ARG, "a document name has 1 to %d bytes", PKC_DOC_NAME_MAX);
        return NULL;
    }
    web_doc *d = calloc(1, sizeof *d);
    if (d == NULL) {
        pkc_error(PKC_ERR_NOMEM, "document %s", name);
        return NULL;
    }
    memcpy(d->name, name, nl + 1);
    d->room = r;
    if (pkc_ydoc_new(NULL, r->p->rng, &d->doc) != 0 ||
        pkc_ydoc_observe_update(d->doc, on_update, d, NULL) != 0) {
        logf_(2, "document %s: %s", name, pkc_errmsg());
        pkc_ydoc_free(d->doc);
        free(d);
        return NULL;
    }
    d->next = r->docs;
    r->docs = d;
    return d;
}

/* ---- the host's calls ----------------------------------------------------------------------- */

/* The local room's public secret, H("pkc-local-room-v1", "") (docs/protocol.md, "LAN
 * announcements"; the same as pkc_lan_local_room_secret()). */
PKC_API void pkcw_local_room_secret(uint8_t out[PKC_ROOM_SECRET_BYTES])
{
    pkc_hash_labeled(out, PKC_ROOM_SECRET_BYTES, "pkc-local-room-v1", NULL, 0);
}

/* The 20-byte hash of a peer id (text), for ordering peers as the node
 * does (the smaller dials). Returns 0 or PKC_ERR_MALFORMED. */
PKC_API int pkcw_peer_id_hash(const char *peer_id, uint8_t out[PKC_PEER_ID_HASH_BYTES])
{
    return pkc_peer_id_parse(peer_id, out);
}

/* A peer of identity `id` (borrowed until pkcw_peer_free). */
PKC_API int pkcw_peer_new(pkc_identity *id, web_peer **out)
{
    if (id == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "peer: an identity is needed");
    web_peer *p = calloc(1, sizeof *p);
    if (p == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    p->id = id;
    p->clock = pkc_clock_system();
    p->rng = pkc_rng_system();
    p->work_tail = &p->work;
    pkc_guard_config gc;
    pkc_guard_config_default(&gc);
    pkc_replay_config rc;
    pkc_replay_config_default(&rc);
    int err = pkc_guard_new(&gc, p->clock, &p->guard);
    if (err == 0)
        err = pkc_replay_new(&rc, p->rng, &p->replay);
    if (err) {
        pkc_guard_free(p->guard);
        free(p);
        return err;
    }
    *out = p;
    return 0;
}

/* Joins the room of `secret` (32 bytes); *out names it to the host. */
/* A sender's text, in its order (node_order): to the host. */
static void order_deliver(void *user_data, const node_order_msg *m)
{
    char from[PKC_PEER_ID_SIZE];
    pkc_peer_id_from_public_key(m->from, from);
    host_message(user_data, from, m->id, m->text, m->len, (double)m->time_ms);
}

PKC_API int pkcw_room_join(web_peer *p, const uint8_t *secret, web_room **out)
{
    size_t n = 0;
    for (web_room *r = p->rooms; r; r = r->next, n++)
        if (memcmp(r->secret, secret, PKC_ROOM_SECRET_BYTES) == 0) {
            *out = r;
            return 0;
        }
    if (n == WEB_ROOMS_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "at most %d rooms", WEB_ROOMS_MAX);
    web_room *r = calloc(1, sizeof *r);
    if (r == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    r->p = p;
    memcpy(r->secret, secret, PKC_ROOM_SECRET_BYTES);
    pkc_room_key_derive(secret, &r->key);
    pkc_mesh_config mc;
    pkc_mesh_config_default(&mc);
    /* The node's per-neighbour rates (node.c). */
    mc.rate_msgs = NODE_MSG_RATE;
    mc.burst_msgs = 2 * NODE_MSG_RATE;
    mc.rate_bytes = NODE_BYTE_RATE;
    mc.burst_bytes = 4 * NODE_BYTE_RATE;
    mc.max_payload = NODE_SEND_MAX - 8192;
    int rc = pkc_mesh_new(&mc, &mesh_cb, r, p->id, p->clock, p->rng, &r->mesh);
    if (rc) {
        free(r);
        return rc;
    }
    int64_t wall = wall_ms(p);
    rc = node_order_new(order_deliver, r, wall > 0 ? (uint64_t)wall : 0, &r->order);
    if (rc) {
        pkc_mesh_free(r->mesh);
        free(r);
        return rc;
    }
    r->next = p->rooms;
    p->rooms = r;
    *out = r;
    return 0;
}

/* The room's 8-byte id. */
PKC_API const uint8_t *pkcw_room_id(const web_room *r)
{
    return r->key.id;
}

/*
 * A channel on a data channel that has just opened. The dialer (initiator)
 * names the room and the peer it dialed (peer id text); the answerer passes
 * NULL for both and learns them in the handshake. The dialer proves the
 * room's secret, or with `proof` (32 bytes, else NULL) an invitation's token
 * (a native inviter's one-step invitation, as node_conn.c's dialer does).
 * Fingerprints: the hash bytes of a=fingerprint in the local and remote SDP.
 * Then pkcw_chan_start.
 */
PKC_API int pkcw_chan_new(web_peer *p, web_room *room, const char *expected_peer,
                          const uint8_t *proof, const uint8_t *local_fp, size_t local_fp_len, const uint8_t *remote_fp,
                          size_t remote_fp_len, web_chan **out)
{
    if (p == NULL || out == NULL || (room == NULL) != (expected_peer == NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "channel: the dialer names room and peer");
    web_chan *c = calloc(1, sizeof *c);
    if (c == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    c->p = p;
    c->room = room;
    c->initiator = room != NULL;
    pkc_session_config sc;
    pkc_session_config_default(&sc);
    sc.initiator = c->initiator;
    sc.identity = p->id;
    sc.local_fingerprint = local_fp;
    sc.local_fingerprint_len = local_fp_len;
    sc.remote_fingerprint = remote_fp;
    sc.remote_fingerprint_len = remote_fp_len;
    sc.max_frame_size = PKC_FRAME_SIZE_MAX;
    sc.guard = p->guard;
    sc.msg_rate = NODE_MSG_RATE;
    sc.msg_burst = 2 * NODE_MSG_RATE;
    sc.byte_rate = NODE_BYTE_RATE;
    sc.byte_burst = 4 * NODE_BYTE_RATE;
    uint8_t secrets[WEB_PROOFS_MAX][32];
    size_t n = 0;
    int rc = 0;
    if (c->initiator) {
        rc = pkc_peer_id_parse(expected_peer, c->hash);
        snprintf(c->peer_id, sizeof c->peer_id, "%s", expected_peer);
        sc.expected_peer = c->hash;
        sc.proof_secret = proof ? proof : room->secret;
    } else {
        for (web_room *r = p->rooms; r && n < WEB_ROOMS_MAX; r = r->next) {
            c->proof_token[n] = -1;
            memcpy(c->proof_ids[n], r->key.id, PKC_ROOM_ID_BYTES);
            memcpy(secrets[n++], r->secret, 32);
        }
        for (size_t t = 0; t < p->n_tokens; t++) {
            c->proof_token[n] = (int)t;
            memcpy(c->proof_ids[n], p->tokens[t].room_id, PKC_ROOM_ID_BYTES);
            memcpy(secrets[n++], p->tokens[t].token, 32);
        }
        sc.require = PKC_REQUIRE_PROOF;
        sc.proof_secrets = (const uint8_t(*)[32])secrets;
        sc.n_proof_secrets = n;
    }
    if (rc == 0)
        rc = pkc_session_new(&sc, &sess_cb, c, p->clock, p->rng, &c->sess);
    pkc_memzero(secrets, sizeof secrets);
    if (rc) {
        free(c);
        return rc;
    }
    c->next = p->chans;
    p->chans = c;
    *out = c;
    return 0;
}

/* Starts the channel's session (the initiator sends HELLO): once the host
 * knows the handle, since the host's chan_send is called for it. */
PKC_API int pkcw_chan_start(web_chan *c)
{
    enter(c->p);
    int rc = pkc_session_start(c->sess);
    leave(c->p);
    return rc;
}

/* A message from the data channel. Returns pkc_session_receive()'s result. */
PKC_API int pkcw_chan_receive(web_chan *c, const uint8_t *data, size_t len)
{
    enter(c->p);
    int rc = pkc_session_receive(c->sess, data, len);
    leave(c->p);
    return rc;
}

/* The data channel closed (or failed). */
PKC_API void pkcw_chan_transport_closed(web_chan *c)
{
    enter(c->p);
    if (pkc_session_get_state(c->sess) != PKC_SESSION_CLOSED)
        (void)pkc_session_close(c->sess, PKC_REASON_NONE, "the data channel closed");
    chan_dead(c);
    leave(c->p);
}

/* Ends the channel's session with `reason` (pkc_reason) and `text`. */
PKC_API void pkcw_chan_close(web_chan *c, int reason, const char *text)
{
    enter(c->p);
    (void)pkc_session_close(c->sess, (pkc_reason)reason, text);
    chan_dead(c);
    leave(c->p);
}

/* Frees a channel (not from inside a host callback about it). */
PKC_API void pkcw_chan_free(web_chan *c)
{
    if (c == NULL)
        return;
    web_peer *p = c->p;
    enter(p);
    chan_dead(c);
    for (web_chan **pp = &p->chans; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    pkc_session_free(c->sess);
    free(c);
    leave(p);
}

/* The channel's session: state (pkc_session_state), the peer's id into
 * `peer_id` (PKC_PEER_ID_SIZE bytes), its latest round trip in us. */
PKC_API int pkcw_chan_state(const web_chan *c, char *peer_id, double *rtt_us)
{
    pkc_session_info si;
    pkc_session_get_info(c->sess, &si);
    if (peer_id)
        memcpy(peer_id, si.peer_id, PKC_PEER_ID_SIZE);
    if (rtt_us)
        *rtt_us = (double)si.rtt_us;
    return (int)si.state;
}

/* The mesh asked for a connection the host cannot make (it does not know
 * the peer): the mesh retries later with back-off. */
PKC_API void pkcw_room_connect_failed(web_room *r, const uint8_t *peer)
{
    enter(r->p);
    (void)pkc_mesh_peer_connect_failed(r->mesh, peer);
    leave(r->p);
}

/* Broadcasts a text (topic "") to the room; `id` (16 bytes, may be NULL)
 * gets its message id. */
PKC_API int pkcw_room_broadcast(web_room *r, const uint8_t *data, size_t len, uint8_t *id)
{
    if (len > 60000)
        return pkc_error(PKC_ERR_TOO_LARGE, "a message has at most 60000 bytes");
    enter(r->p);
    int rc = broadcast(r, "", data, len, id);
    leave(r->p);
    return rc;
}

/* Room statistics: connected neighbours, and the counters of
 * pkc_mesh_stats the page shows (out: 4 doubles: published, delivered,
 * messages per second, average rtt ms). */
PKC_API unsigned pkcw_room_stats(web_room *r, double *out)
{
    pkc_mesh_stats st;
    pkc_mesh_get_stats(r->mesh, &st);
    if (out) {
        out[0] = (double)st.published;
        out[1] = (double)st.delivered;
        out[2] = st.messages_per_second;
        out[3] = st.average_rtt_ms;
    }
    return st.connected_peers;
}

/* The room's document `name`, created if new (and synced with peers from
 * the next session, and at once with the current ones). Changes made to it
 * with the pkc_y* functions are broadcast to the room. */
PKC_API pkc_ydoc *pkcw_room_doc(web_room *r, const char *name)
{
    web_doc *d = NULL;
    for (d = r->docs; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d->doc;
    enter(r->p);
    d = doc_open(r, name);
    if (d)
        for (web_chan *c = r->p->chans; c; c = c->next)
            if (!c->dead && c->in_mesh && c->room == r)
                send_step1(c, d);
    leave(r->p);
    return d ? d->doc : NULL;
}

/* Applies an update the host kept (docs/web.md, "Persistence") to the
 * room's document `name`, as a remote one: it is not broadcast (peers get
 * it through sync). Call before the peer's sessions start. */
PKC_API int pkcw_room_doc_restore(web_room *r, const char *name, const uint8_t *update,
                                  size_t len)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > PKC_DOC_NAME_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "a document name has 1 to %d bytes",
                         PKC_DOC_NAME_MAX);
    enter(r->p);
    web_doc *d = doc_open(r, name);
    int rc = d ? pkc_ydoc_apply_update(d->doc, update, len, REMOTE_ORIGIN)
               : pkc_error(PKC_ERR_NOMEM, "document %s: not opened", name);
    leave(r->p);
    return rc;
}

/* Broadcasts a local update of the room's document `name` that the host
 * held (DOC_HELD) until it was kept. */
PKC_API void pkcw_room_doc_send(web_room *r, const char *name, const uint8_t *update,
                                size_t len)
{
    enter(r->p);
    send_update(r, name, update, len);
    leave(r->p);
}

/* The 16-byte hash kept beside each stored update (as the native store's
 * row hashes): BLAKE2b-128 with the label "pkc-web-store-v1". */
PKC_API void pkcw_store_hash(const uint8_t *data, size_t len, uint8_t out[16])
{
    pkc_hash_labeled(out, 16, "pkc-web-store-v1", data, len);
}

/* A peer's keys from the host's peer book (32 bytes each): direct messages
 * to it can be sealed before it announces itself again. */
PKC_API int pkcw_peer_known(web_peer *p, const uint8_t *pk, const uint8_t *dh)
{
    return known_put(p, pk, dh);
}

/*
 * A direct message to `peer_id` of topic `topic` ("dm" a text, "ack" a
 * receipt of 16 bytes), signed and sealed to its keys as the node makes
 * it (node_direct_make): the frame in *frame (malloc'd) and *frame_len, its
 * id in `id` (16 bytes, may be NULL). Returns 0, PKC_ERR_NOT_FOUND (its
 * keys are not known yet: it has not announced itself to us),
 * PKC_ERR_INVALID_ARG (oneself, another topic), PKC_ERR_TOO_LARGE, or a
 * peer id's error.
 */
PKC_API int pkcw_direct_seal(web_peer *p, const char *peer_id, const char *topic,
                             const uint8_t *data, size_t len, uint8_t **frame, size_t *frame_len,
                             uint8_t *id)
{
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    int rc = pkc_peer_id_parse(peer_id, hash);
    if (rc)
        return rc;
    if (strcmp(peer_id, pkc_identity_get_peer_id(p->id)) == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "a direct message to oneself");
    if (strcmp(topic, "dm") != 0 && !(strcmp(topic, "ack") == 0 && len == PKC_MSG_ID_BYTES))
        return pkc_error(PKC_ERR_INVALID_ARG, "a direct message is a \"dm\" or an \"ack\"");
    if (len > 60000)
        return pkc_error(PKC_ERR_TOO_LARGE, "a message has at most 60000 bytes");
    web_known *k = known_get(p, hash);
    if (k == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "%s has not announced its keys to this page yet",
                         peer_id);
    return node_direct_make(p->id, k->pk, k->dh, topic, data, len, p->clock, p->rng, frame,
                            frame_len, id);
}

/* Sends a sealed direct message through the room's mesh (pkc_mesh_send:
 * over the direct link, else by a route found through the mesh). Returns
 * pkc_mesh_send()'s result: 0 (on its way, best effort), PKC_ERR_AGAIN,
 * PKC_ERR_MESH_NO_ROUTE (no neighbours at all), ... */
PKC_API int pkcw_room_direct_send(web_room *r, const char *peer_id, const uint8_t *frame,
                                  size_t len)
{
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    int rc = pkc_peer_id_parse(peer_id, hash);
    if (rc)
        return rc;
    enter(r->p);
    rc = pkc_mesh_send(r->mesh, hash, frame, len);
    leave(r->p);
    return rc;
}

/* Brackets a host's change of a document: the update callback broadcasts
 * it, and mesh work it causes runs when the bracket closes. */
PKC_API void pkcw_begin(web_peer *p)
{
    enter(p);
}

PKC_API void pkcw_end(web_peer *p)
{
    leave(p);
}

/* Runs what is due (sessions' handshake timeouts, the meshes' timers) and
 * returns the milliseconds until the next call is needed (-1: nothing
 * pending). */
PKC_API double pkcw_tick(web_peer *p)
{
    enter(p);
    uint64_t now = now_us(p);
    for (web_chan *c = p->chans; c; c = c->next)
        if (pkc_session_get_state(c->sess) != PKC_SESSION_CLOSED &&
            pkc_session_get_deadline(c->sess) <= now)
            pkc_session_tick(c->sess);
    for (web_room *r = p->rooms; r; r = r->next) {
        if (pkc_mesh_get_deadline(r->mesh) <= now)
            (void)pkc_mesh_tick(r->mesh);
        if (node_order_deadline(r->order) <= now)
            node_order_tick(r->order, now);
    }
    leave(p);
    uint64_t next = UINT64_MAX;
    for (web_chan *c = p->chans; c; c = c->next)
        if (pkc_session_get_state(c->sess) != PKC_SESSION_CLOSED) {
            uint64_t d = pkc_session_get_deadline(c->sess);
            next = d < next ? d : next;
        }
    for (web_room *r = p->rooms; r; r = r->next) {
        uint64_t d = pkc_mesh_get_deadline(r->mesh);
        next = d < next ? d : next;
        d = node_order_deadline(r->order);
        next = d < next ? d : next;
    }
    if (next == UINT64_MAX)
        return -1;
    now = now_us(p);
    return next <= now ? 0 : (double)(next - now) / 1000.0;
}

/* Leaves every room (DISCONNECT to every neighbour) and frees the peer;
 * channels must have been freed, or are freed here without a word. */
PKC_API void pkcw_peer_free(web_peer *p)
{
    if (p == NULL)
        return;
    enter(p);
    for (web_room *r = p->rooms; r; r = r->next)
        (void)pkc_mesh_leave(r->mesh);
    leave(p);
    while (p->chans) {
        web_chan *c = p->chans;
        p->chans = c->next;
        pkc_session_free(c->sess);
        node_sync_frag_reset(&c->frag);
        free(c);
    }
    while (p->rooms) {
        web_room *r = p->rooms;
        p->rooms = r->next;
        node_order_flush(r->order); /* what is held goes to the host */
        node_order_free(r->order);
        pkc_mesh_free(r->mesh);
        while (r->docs) {
            web_doc *d = r->docs;
            r->docs = d->next;
            pkc_ydoc_free(d->doc);
            free(d);
        }
        pkc_memzero(r->secret, sizeof r->secret);
        free(r);
    }
    while (p->work) {
        struct work *w = p->work;
        p->work = w->next;
        free(w);
    }
    while (p->known) {
        web_known *k = p->known;
        p->known = k->next;
        free(k);
    }
    pkc_replay_free(p->replay);
    pkc_guard_free(p->guard);
    pkc_memzero(p->tokens, sizeof p->tokens);
    free(p);
}

/* ---- metrics (docs/web.md, "The page") ------------------------------------------------------ */

/* The page's metrics, computed as the native node's do_metrics
 * (src/node/node.c) over every room, with the mesh's own rates (messages
 * and bytes sent + received over its last gossip interval). `out` gets up
 * to `max` doubles, in this order (PKCW_METRICS):
 *  0 connected_peers     1 total_connections   2 messages_per_second
 *  3 bytes_per_second    4 average_latency_ms (-1: none)
 *  5 state_bytes         6 pending_updates     7 conflicts_resolved
 *  8 last_sync_ms (0: none)                    9 reconnections
 * 10 mesh messages sent 11 mesh messages received
 * 12 mesh bytes sent    13 mesh bytes received 14 known_peers (the meshes' estimates, summed)
 * 15 mesh errors (inputs rejected)
 * Returns how many it has (PKCW_METRICS). */
#define PKCW_METRICS 16
PKC_API unsigned pkcw_peer_metrics(web_peer *p, double *out, unsigned max)
{
    double m[PKCW_METRICS] = {0};
    node_metrics_sum sum = {0};
    for (web_room *r = p->rooms; r; r = r->next) {
        pkc_mesh_stats st;
        pkc_mesh_get_stats(r->mesh, &st);
        node_metrics_add_mesh(&sum, &st);
        m[9] += (double)st.reconnections;
        m[10] += (double)st.msgs_sent;
        m[11] += (double)st.msgs_received;
        m[12] += (double)st.bytes_sent;
        m[13] += (double)st.bytes_received;
        m[14] += st.known_peers;
        m[15] += (double)st.errors;
        for (web_doc *d = r->docs; d; d = d->next)
            node_metrics_add_doc(&sum, d->doc);
    }
    m[0] = sum.connected_peers;
    m[1] = (double)p->total_connections;
    m[2] = sum.messages_per_second;
    m[3] = sum.bytes_per_second;
    m[4] = node_metrics_latency(&sum);
    m[5] = (double)sum.state_bytes;
    m[6] = sum.pending_updates;
    m[7] = (double)p->conflicts;
    m[8] = (double)p->last_sync_ms;
    unsigned n = max < PKCW_METRICS ? max : PKCW_METRICS;
    if (out)
        memcpy(out, m, n * sizeof *m);
    return PKCW_METRICS;
}

/* The peers the room's mesh knows, one line each, "PEER_ID ROUTE HOPS VIA
 * PENDING SEEN_MS RTT_MS": first its neighbours (ROUTE "direct", HOPS 1,
 * RTT_MS the mesh's PING/PONG round trip, -1 until measured), then the
 * peers it knows that are not neighbours (heard of in a neighbour's list,
 * a shuffle, a route), as pkc_node_get_relayed_peers gives them: ROUTE
 * "relayed", "waypoint" or "none", VIA "-" without a route, SEEN_MS -1 when
 * only a route is known, RTT_MS -1. A string to free(), NULL with
 * pkc_errmsg() set on failure. */
PKC_API char *pkcw_room_known(web_room *r)
{
    size_t total = pkc_mesh_get_known_peers(r->mesh, NULL, 0);
    size_t nn = pkc_mesh_get_peers(r->mesh, NULL, 0);
    pkc_mesh_known_info *k = total ? malloc(total * sizeof *k) : NULL;
    pkc_mesh_peer_info *nb = nn ? malloc(nn * sizeof *nb) : NULL;
    size_t cap = (total + nn) * (2 * PKC_PEER_ID_SIZE + 80) + 1;
    char *text = malloc(cap);
    if ((total && k == NULL) || (nn && nb == NULL) || text == NULL) {
        free(k);
        free(nb);
        free(text);
        pkc_error(PKC_ERR_NOMEM, "the room's known peers");
        return NULL;
    }
    size_t got = total ? pkc_mesh_get_known_peers(r->mesh, k, total) : 0;
    if (got > total)
        got = total;
    size_t ngot = nn ? pkc_mesh_get_peers(r->mesh, nb, nn) : 0;
    if (ngot > nn)
        ngot = nn;
    uint64_t now = now_us(r->p);
    size_t at = 0;
    text[0] = '\0';
    for (size_t i = 0; i < ngot; i++) {
        char id[PKC_PEER_ID_SIZE];
        pkc_peer_id_encode(nb[i].id, id);
        int w = snprintf(text + at, cap - at, "%s direct 1 - 0 0 %.3f\n", id,
                         nb[i].rtt_ms >= 0 ? nb[i].rtt_ms : -1.0);
        if (w < 0 || (size_t)w >= cap - at)
            break;
        at += (size_t)w;
    }
    free(nb);
    for (size_t i = 0; i < got; i++) {
        char id[PKC_PEER_ID_SIZE], via[PKC_PEER_ID_SIZE] = "-";
        pkc_peer_id_encode(k[i].id, id);
        if (k[i].route != PKC_MESH_ROUTE_NONE)
            pkc_peer_id_encode(k[i].via, via);
        long long seen = k[i].seen_us == 0 ? -1
                         : k[i].seen_us > now ? 0
                                              : (long long)((now - k[i].seen_us) / 1000);
        const char *route = k[i].route == PKC_MESH_ROUTE_RELAYED    ? "relayed"
                            : k[i].route == PKC_MESH_ROUTE_WAYPOINT ? "waypoint"
                                                                    : "none";
        int w = snprintf(text + at, cap - at, "%s %s %u %s %d %lld -1\n", id, route, k[i].hops, via,
                         k[i].pending ? 1 : 0, seen);
        if (w < 0 || (size_t)w >= cap - at)
            break;
        at += (size_t)w;
    }
    free(k);
    return text;
}

/* The room's secret (32 bytes), for invite_web.c's invitations. */
const uint8_t *web_room_secret(const web_room *r);
const uint8_t *web_room_secret(const web_room *r)
{
    return r->secret;
}

/*
 * A two-step invitation to room `r` that this page accepted (a page's
 * invitation, which a page cannot dial: docs/web.md, "Invitations made by a
 * page"): its inviter dials us with our answer and proves `token` (32
 * bytes) in its handshake, as a native invitee's listener offers the
 * tokens it accepted. Only `inviter` (peer id text) may prove it. The 8
 * newest are kept. Returns 0 or PKC_ERR_INVALID_ARG.
 */
PKC_API int pkcw_room_invite_accepted(web_room *r, const uint8_t *token, const char *inviter)
{
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    if (r == NULL || token == NULL || inviter == NULL || pkc_peer_id_parse(inviter, hash) != 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: room, token and inviter are required");
    web_peer *p = r->p;
    size_t t = p->n_tokens;
    for (size_t i = 0; i < p->n_tokens; i++)
        if (memcmp(p->tokens[i].token, token, 32) == 0)
            t = i; /* accepted again: the same slot */
    if (t == p->n_tokens) {
        if (p->n_tokens < WEB_TOKENS_MAX)
            t = p->n_tokens++;
        else
            t = p->next_token++ % WEB_TOKENS_MAX; /* the oldest */
    }
    memcpy(p->tokens[t].token, token, 32);
    memcpy(p->tokens[t].room_id, r->key.id, PKC_ROOM_ID_BYTES);
    memcpy(p->tokens[t].inviter, hash, sizeof hash);
    return 0;
}
