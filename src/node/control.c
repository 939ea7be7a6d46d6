/*
 * control.c: the control socket, <data_dir>/control.sock (mode 0600), over
 * which the pkc command talks to a running node (docs/cli.md, "Control
 * socket"). One JSON object per line each way: a request
 * {"cmd":"status"|"peers"|"rooms"|"docs"|"invites"|"send"|"inbox"|"doc"|"watch"|"invite"|"accept"|
 *  "answer"|"dnsrecord"|"dnspublish", ...}
 * gets one reply {"ok":true, ...} or {"ok":false,"error":TEXT,"code":NAME};
 * "inbox" with "follow" and "watch" then stream events, one per line, until
 * the client closes.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/text.h"
#include "util/log.h"
#include "node/loop.h"
#include "node/node_int.h"

#define LOG "control"
#define LINE_MAX_BYTES (1u << 20)
#define CLIENTS_MAX 64
#define INVITES_LIST_MAX 256 /* "invites" lists the newest this many; "count" says how many */

typedef struct client {
    struct node_control *ctl;
    uv_pipe_t pipe;
    char *buf;
    size_t len, cap;
    int follow_messages;
    char follow_room[17];
    int follow_invites; /* "invite", "accept", "answer" with "follow": invitation events */
    int follow_dns;     /* "dnspublish" with "follow": how each update went */
    int watch;
    char watch_room[17];
    char watch_doc[PKC_DOC_NAME_MAX + 1];
    int closing;
    struct client *next;
} client;

struct node_control {
    pkc_node *n;
    uv_pipe_t server;
    char path[4200];
    client *clients;
    size_t n_clients;
    int closing;
};

static void client_close(client *c);

static void write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void client_write(client *c, const char *line)
{
    if (c->closing)
        return;
    size_t n = strlen(line);
    char *copy = malloc(n + 1);
    uv_write_t *w = malloc(sizeof *w);
    if (copy == NULL || w == NULL) {
        free(copy);
        free(w);
        client_close(c);
        return;
    }
    memcpy(copy, line, n);
    copy[n] = '\n';
    w->data = copy;
    uv_buf_t b = uv_buf_init(copy, (unsigned)(n + 1));
    if (uv_write(w, (uv_stream_t *)&c->pipe, &b, 1, write_done) != 0) {
        free(copy);
        free(w);
        client_close(c);
    }
}

static void client_json(client *c, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s)
        client_write(c, s);
    else
        client_write(c, "{\"ok\":false,\"error\":\"out of memory\",\"code\":\"PKC_ERR_NOMEM\"}");
    free(s);
    json_decref(o);
}

static void reply_error(client *c, int rc)
{
    const char *msg = pkc_errmsg();
    client_json(c, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg[0] ? msg : pkc_strerror(rc),
                             "code", pkc_err_name(rc)));
}

/* The request's "ttl" (seconds, absent: 0 = the default) into *out; an
 * error reply when it is out of range. */
static int req_ttl(client *c, const json_t *req, uint32_t *out)
{
    json_int_t ttl = json_integer_value(json_object_get(req, "ttl"));
    if (ttl < 0 || ttl > UINT32_MAX) {
        reply_error(c, pkc_error(PKC_ERR_INVALID_ARG, "\"ttl\" out of range"));
        return -1;
    }
    *out = (uint32_t)ttl;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    client *c = h->data;
    free(c->buf);
    free(c);
}

static void client_close(client *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct node_control *ctl = c->ctl;
    client **p = &ctl->clients;
    while (*p && *p != c)
        p = &(*p)->next;
    if (*p)
        *p = c->next;
    ctl->n_clients--;
    uv_close((uv_handle_t *)&c->pipe, on_closed);
}

static json_t *message_json(const pkc_node_message *m)
{
    char id[33];
    pkc_hex_encode(id, m->id, PKC_MSG_ID_BYTES);
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:b, s:I}", "event", "message", "seq",
                          (json_int_t)m->seq, "id", id, "from", m->from, "room", m->room,
                          "direct", m->direct, "time_ms", (json_int_t)m->time_ms);
    if (o == NULL)
        return NULL;
    json_t *t = json_stringn((const char *)m->data, m->len);
    if (t) {
        json_object_set_new(o, "text", t);
    } else {
        char *h = malloc(2 * m->len + 1);
        if (h) {
            pkc_hex_encode(h, m->data, m->len);
            json_object_set_new(o, "data_hex", json_string(h));
            free(h);
        }
    }
    return o;
}

void node_control_message(pkc_node *n, const pkc_node_message *m)
{
    struct node_control *ctl = n->control;
    if (ctl == NULL)
        return;
    char *s = NULL;
    for (client *c = ctl->clients, *next; c; c = next) {
        next = c->next;
        if (!c->follow_messages || (c->follow_room[0] && strcmp(c->follow_room, m->room) != 0))
            continue;
        if (s == NULL) {
            json_t *o = message_json(m);
            s = o ? json_dumps(o, JSON_COMPACT) : NULL;
            json_decref(o);
            if (s == NULL)
                return;
        }
        client_write(c, s);
    }
    free(s);
}

void node_control_event(pkc_node *n, const char *kind, const char *line)
{
    struct node_control *ctl = n->control;
    if (ctl == NULL)
        return;
    for (client *c = ctl->clients, *next; c; c = next) {
        next = c->next;
        /* A watched document's changes and sync progress go to its
         * watchers; every other event to the followers of messages. */
        if ((strcmp(kind, "doc") == 0 || strcmp(kind, "sync") == 0) && c->watch) {
            json_t *o = json_loads(line, 0, NULL);
            const char *room = json_string_value(json_object_get(o, "room"));
            const char *doc = json_string_value(json_object_get(o, "doc"));
            if (room && doc && strcmp(doc, c->watch_doc) == 0 &&
                (c->watch_room[0] == 0 || strcmp(room, c->watch_room) == 0))
                client_write(c, line);
            json_decref(o);
        } else if (c->follow_messages && strcmp(kind, "doc") != 0) {
            client_write(c, line);
        } else if (c->follow_invites && strcmp(kind, "invite") == 0) {
            client_write(c, line);
        } else if (c->follow_dns && strcmp(kind, "dnspublish") == 0) {
            client_write(c, line);
        }
    }
}

/* ---- requests ----------------------------------------------------------------------------------- */

static int inbox_line(void *ud, const pkc_node_message *m)
{
    client *c = ud;
    json_t *o = message_json(m);
    client_json(c, o);
    return 0;
}

static json_t *metrics_json(pkc_node *n)
{
    pkc_node_metrics m;
    pkc_node_get_metrics(n, &m);
    return json_pack("{s:{s:i, s:I, s:f, s:f, s:f}, s:{s:I, s:i, s:I, s:I}, "
                     "s:{s:s, s:I, s:I, s:I, s:s}, s:{s:I, s:I, s:I}}",
                     "network", "connected_peers", (int)m.connected_peers, "total_connections",
                     (json_int_t)m.total_connections, "messages_per_second",
                     m.messages_per_second, "bytes_per_second", m.bytes_per_second,
                     "average_latency_ms", m.average_latency_ms, "sync", "state_bytes",
                     (json_int_t)m.state_bytes, "pending_updates", (int)m.pending_updates,
                     "conflicts_resolved", (json_int_t)m.conflicts_resolved, "last_sync_ms",
                     (json_int_t)m.last_sync_ms, "health", "status",
                     m.healthy ? (m.connected_peers ? "connected" : "alone") : "stopped",
                     "uptime_ms", (json_int_t)m.uptime_ms, "reconnections",
                     (json_int_t)m.reconnections, "errors", (json_int_t)m.errors, "last_error",
                     m.last_error, "messages", "received", (json_int_t)m.messages_received,
                     "sent", (json_int_t)m.messages_sent, "outbox_pending",
                     (json_int_t)m.outbox_pending);
}

static json_t *rooms_json(pkc_node *n)
{
    pkc_node_room_info ri[NODE_ROOMS_MAX];
    size_t k = pkc_node_get_rooms(n, ri, NODE_ROOMS_MAX);
    json_t *a = json_array();
    for (size_t i = 0; i < k && i < NODE_ROOMS_MAX; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:i, s:i, s:i}", "id", ri[i].id,
                                           "name", ri[i].name, "local", ri[i].local, "peers",
                                           (int)ri[i].peers, "known", (int)ri[i].known, "docs",
                                           (int)ri[i].docs));
    return a;
}

#define RELAYED_LIST_MAX 256 /* "peers" lists this many peers beyond the neighbours */
#define DOCS_LIST_MAX 256    /* "docs" lists this many documents */

static const char *route_name(int route)
{
    return route == PKC_MESH_ROUTE_RELAYED    ? "relayed"
           : route == PKC_MESH_ROUTE_WAYPOINT ? "waypoint"
                                              : "none";
}

static json_t *relayed_json(pkc_node *n)
{
    json_t *a = json_array();
    pkc_node_relayed_info *ri = calloc(RELAYED_LIST_MAX, sizeof *ri);
    if (ri == NULL)
        return a;
    size_t k = pkc_node_get_relayed_peers(n, ri, RELAYED_LIST_MAX);
    for (size_t i = 0; i < k && i < RELAYED_LIST_MAX; i++) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:b, s:I}", "peer_id", ri[i].peer_id, "room",
                              ri[i].room, "route", route_name(ri[i].route), "hops",
                              (int)ri[i].hops, "pending", ri[i].pending, "seen_ms",
                              (json_int_t)ri[i].seen_ms);
        if (o && ri[i].via[0])
            json_object_set_new(o, "via", json_string(ri[i].via));
        json_array_append_new(a, o);
    }
    free(ri);
    return a;
}

static json_t *docs_json(pkc_node *n, const char *room)
{
    pkc_node_doc_info *di = calloc(DOCS_LIST_MAX, sizeof *di);
    if (di == NULL)
        return json_array();
    size_t k = pkc_node_get_docs(n, room, di, DOCS_LIST_MAX);
    json_t *a = json_array();
    for (size_t i = 0; i < k && i < DOCS_LIST_MAX; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:I}", "room", di[i].room, "name",
                         di[i].name, "stored_bytes", (json_int_t)di[i].stored_bytes,
                         "stored_updates", (json_int_t)di[i].stored_updates,
                         "updates_since_compact", (json_int_t)di[i].updates_since_compact,
                         "pending", di[i].pending, "last_remote_ms",
                         (json_int_t)di[i].last_remote_ms));
    free(di);
    return a;
}

static void handle(client *c, json_t *req)
{
    pkc_node *n = c->ctl->n;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    const char *room = json_string_value(json_object_get(req, "room"));
    if (cmd == NULL) {
        reply_error(c, pkc_error(PKC_ERR_MALFORMED, "a request needs \"cmd\""));
        return;
    }
    if (strcmp(cmd, "status") == 0) {
        client_json(c, json_pack("{s:b, s:s, s:i, s:s, s:o, s:o}", "ok", 1, "peer_id",
                                 pkc_node_get_peer_id(n), "port", (int)pkc_node_get_port(n),
                                 "data_dir", n->data_dir, "rooms", rooms_json(n), "metrics",
                                 metrics_json(n)));
    } else if (strcmp(cmd, "rooms") == 0) {
        client_json(c, json_pack("{s:b, s:o}", "ok", 1, "rooms", rooms_json(n)));
    } else if (strcmp(cmd, "peers") == 0) {
        pkc_node_peer_info pi[256];
        size_t k = pkc_node_get_peers(n, pi, 256);
        json_t *a = json_array();
        for (size_t i = 0; i < k && i < 256; i++)
            json_array_append_new(
                a, json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:b}", "peer_id", pi[i].peer_id,
                             "room", pi[i].room, "address", pi[i].address, "rtt_ms", pi[i].rtt_ms,
                             "score", pi[i].score, "connected_ms", (json_int_t)pi[i].connected_ms,
                             "outbound", pi[i].outbound));
        for (size_t i = 0; i < k && i < 256; i++)
            json_object_set_new(json_array_get(a, i), "route", json_string("direct"));
        client_json(c, json_pack("{s:b, s:o, s:o}", "ok", 1, "peers", a, "relayed",
                                 relayed_json(n)));
    } else if (strcmp(cmd, "docs") == 0) {
        if (room && node_room_find(n, room) == NULL) {
            reply_error(c, pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", room));
            return;
        }
        client_json(c, json_pack("{s:b, s:o}", "ok", 1, "docs", docs_json(n, room)));
    } else if (strcmp(cmd, "invites") == 0) {
        pkc_node_invite_info *ii = calloc(INVITES_LIST_MAX, sizeof *ii);
        if (ii == NULL) {
            reply_error(c, pkc_error_code(PKC_ERR_NOMEM));
            return;
        }
        size_t k = pkc_node_get_invitations(n, ii, INVITES_LIST_MAX);
        json_t *a = json_array();
        for (size_t i = 0; i < k && i < INVITES_LIST_MAX; i++)
            json_array_append_new(
                a, json_pack("{s:s, s:s, s:s, s:I, s:b, s:b, s:b, s:b}", "id", ii[i].id, "room",
                             ii[i].room, "room_name", ii[i].room_name, "expires_ms",
                             (json_int_t)ii[i].expires_ms, "one_step", ii[i].one_step,
                             "single_use", ii[i].single_use, "mine", ii[i].mine, "used",
                             ii[i].used));
        free(ii);
        client_json(c, json_pack("{s:b, s:o, s:I}", "ok", 1, "invites", a, "count", (json_int_t)k));
    } else if (strcmp(cmd, "send") == 0) {
        const char *to = json_string_value(json_object_get(req, "to"));
        json_t *t = json_object_get(req, "text");
        if (!json_is_string(t)) {
            reply_error(c, pkc_error(PKC_ERR_MALFORMED, "send needs \"text\""));
            return;
        }
        uint8_t id[PKC_MSG_ID_BYTES];
        int rc = to ? pkc_node_send(n, room, to, json_string_value(t), json_string_length(t), id)
                    : pkc_node_broadcast(n, room, json_string_value(t), json_string_length(t), id);
        if (rc) {
            reply_error(c, rc);
            return;
        }
        char hex[33];
        pkc_hex_encode(hex, id, sizeof id);
        client_json(c, json_pack("{s:b, s:s}", "ok", 1, "id", hex));
    } else if (strcmp(cmd, "dnsrecord") == 0) {
        pkc_node_dns_record_options o;
        memset(&o, 0, sizeof o);
        o.room = room;
        o.domain = json_string_value(json_object_get(req, "domain"));
        o.per_peer = json_is_true(json_object_get(req, "per_peer"));
        if (req_ttl(c, req, &o.ttl_s) != 0)
            return;
        char line[PKC_NODE_DNS_RECORD_MAX];
        int rc = pkc_node_dns_record(n, &o, line, sizeof line);
        if (rc < 0)
            reply_error(c, rc);
        else
            client_json(c, json_pack("{s:b, s:s}", "ok", 1, "zone_line", line));
    } else if (strcmp(cmd, "dnspublish") == 0) {
        pkc_node_dns_publish_options o;
        memset(&o, 0, sizeof o);
        o.room = room;
        o.domain = json_string_value(json_object_get(req, "domain"));
        o.server = json_string_value(json_object_get(req, "server"));
        o.tsig_key_file = json_string_value(json_object_get(req, "tsig_key_file"));
        o.per_peer = json_is_true(json_object_get(req, "per_peer"));
        if (req_ttl(c, req, &o.ttl_s) != 0)
            return;
        char owner[PKC_DNS_OWNER_MAX];
        int rc = pkc_node_dns_publish(n, &o, owner);
        if (rc < 0) {
            reply_error(c, rc);
        } else {
            c->follow_dns = json_is_true(json_object_get(req, "follow"));
            client_json(c, json_pack("{s:b, s:s}", "ok", 1, "owner", owner));
        }
    } else if (strcmp(cmd, "invite") == 0) {
        pkc_node_invite_options o;
        memset(&o, 0, sizeof o);
        o.room = room;
        o.one_step = json_is_true(json_object_get(req, "one_step"));
        o.single_use = json_is_true(json_object_get(req, "single_use"));
        json_int_t exp = json_integer_value(json_object_get(req, "expires_s"));
        if (exp < 0 || exp > UINT32_MAX) {
            reply_error(c, pkc_error(PKC_ERR_INVALID_ARG, "\"expires_s\" out of range"));
            return;
        }
        o.expires_s = (uint32_t)exp;
        o.url_base = json_string_value(json_object_get(req, "url_base"));
        pkc_node_invitation *inv = calloc(1, sizeof *inv);
        int rc = inv ? pkc_node_invite_create(n, &o, inv) : pkc_error_code(PKC_ERR_NOMEM);
        if (rc == 0) {
            client_json(c, json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:b}", "ok", 1,
                                     "url", inv->url, "code", inv->code, "id", inv->id, "room",
                                     inv->room, "room_name", inv->room_name, "expires_ms",
                                     (json_int_t)inv->expires_ms, "one_step", inv->one_step,
                                     "single_use", inv->single_use));
            c->follow_invites = json_is_true(json_object_get(req, "follow"));
        } else {
            reply_error(c, rc);
        }
        if (inv)
            pkc_memzero(inv, sizeof *inv);
        free(inv);
    } else if (strcmp(cmd, "accept") == 0 || strcmp(cmd, "answer") == 0) {
        const char *text = json_string_value(json_object_get(req, "text"));
        if (text == NULL) {
            reply_error(c, pkc_error(PKC_ERR_MALFORMED, "%s needs \"text\"", cmd));
            return;
        }
        int rc;
        if (strcmp(cmd, "answer") == 0) {
            pkc_node_invitation *inv = calloc(1, sizeof *inv);
            rc = inv ? pkc_node_invite_answer(n, text, inv) : pkc_error_code(PKC_ERR_NOMEM);
            if (rc == 0)
                client_json(c, json_pack("{s:b, s:s, s:s, s:s, s:s}", "ok", 1, "peer",
                                         inv->peer_id, "id", inv->id, "room", inv->room,
                                         "room_name", inv->room_name));
            free(inv);
        } else {
            pkc_node_invitation *inv = calloc(1, sizeof *inv);
            rc = inv ? pkc_node_invite_accept(n, text, inv) : pkc_error_code(PKC_ERR_NOMEM);
            if (rc == 0)
                client_json(c, json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:b, s:b, s:s, s:s}", "ok",
                                         1, "id", inv->id, "room", inv->room, "room_name",
                                         inv->room_name, "inviter", inv->peer_id, "expires_ms",
                                         (json_int_t)inv->expires_ms, "one_step", inv->one_step,
                                         "single_use", inv->single_use, "answer_url", inv->url,
                                         "answer_code", inv->code));
            free(inv);
        }
        if (rc)
            reply_error(c, rc);
        else
            c->follow_invites = json_is_true(json_object_get(req, "follow"));
    } else if (strcmp(cmd, "inbox") == 0) {
        json_int_t after = json_integer_value(json_object_get(req, "after"));
        json_int_t limit = json_integer_value(json_object_get(req, "limit"));
        int rc = pkc_node_inbox(n, room, after, limit > 0 ? (size_t)limit : 0, inbox_line, c);
        if (rc) {
            reply_error(c, rc);
            return;
        }
        client_json(c, json_pack("{s:b}", "ok", 1));
        if (json_is_true(json_object_get(req, "follow"))) {
            node_room *r = room && room[0] ? node_room_find(n, room) : NULL;
            c->follow_messages = 1;
            snprintf(c->follow_room, sizeof c->follow_room, "%s", r ? r->id : "");
        }
    } else if (strcmp(cmd, "doc") == 0 || strcmp(cmd, "watch") == 0) {
        const char *op = json_string_value(json_object_get(req, "op"));
        const char *name = json_string_value(json_object_get(req, "name"));
        const char *key = json_string_value(json_object_get(req, "key"));
        const char *value = json_string_value(json_object_get(req, "value"));
        if (name == NULL) {
            reply_error(c, pkc_error(PKC_ERR_MALFORMED, "doc needs \"name\""));
            return;
        }
        if (strcmp(cmd, "watch") == 0) {
            node_room *r = node_room_find(n, room);
            if (r == NULL) {
                reply_error(c, pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", room ? room : ""));
                return;
            }
            c->watch = 1;
            snprintf(c->watch_room, sizeof c->watch_room, "%s", r->id);
            snprintf(c->watch_doc, sizeof c->watch_doc, "%s", name);
            client_json(c, json_pack("{s:b}", "ok", 1));
            return;
        }
        int rc;
        char *out = NULL;
        if (op && strcmp(op, "set") == 0)
            rc = key && value ? pkc_node_doc_set_json(n, room, name, key, value)
                              : pkc_error(PKC_ERR_MALFORMED, "doc set needs \"key\" and \"value\"");
        else if (op && strcmp(op, "del") == 0)
            rc = key ? pkc_node_doc_delete(n, room, name, key)
                     : pkc_error(PKC_ERR_MALFORMED, "doc del needs \"key\"");
        else if (op && strcmp(op, "presence") == 0 && json_object_get(req, "value"))
            rc = pkc_node_doc_set_awareness(n, room, name, value);
        else if (op && strcmp(op, "presence") == 0)
            rc = pkc_node_doc_get_awareness(n, room, name, &out);
        else if (op && (strcmp(op, "get") == 0 || strcmp(op, "json") == 0))
            rc = pkc_node_doc_get_json(n, room, name, strcmp(op, "get") == 0 ? key : NULL, &out);
        else
            rc = pkc_error(PKC_ERR_MALFORMED, "doc \"op\" is get, set, del, json or presence");
        if (rc) {
            reply_error(c, rc);
            return;
        }
        json_t *o = json_pack("{s:b}", "ok", 1);
        if (out) {
            json_t *v = json_loads(out, JSON_DECODE_ANY, NULL);
            json_object_set_new(o, "value", v ? v : json_null());
        }
        free(out);
        client_json(c, o);
    } else {
        reply_error(c, pkc_error(PKC_ERR_UNSUPPORTED, "unknown command '%s'", cmd));
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    client *c = h->data;
    if (c->cap - c->len < 4096) {
        size_t cap = c->cap ? c->cap * 2 : 8192;
        if (cap > LINE_MAX_BYTES + 8192) {
            *b = uv_buf_init(NULL, 0);
            return;
        }
        char *nb = realloc(c->buf, cap);
        if (nb == NULL) {
            *b = uv_buf_init(NULL, 0);
            return;
        }
        c->buf = nb;
        c->cap = cap;
    }
    *b = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    client *c = s->data;
    if (nread < 0 || (nread == 0 && b->base == NULL)) {
        client_close(c);
        return;
    }
    c->len += (size_t)nread;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl == NULL) {
            if (c->len > LINE_MAX_BYTES) {
                reply_error(c, pkc_error(PKC_ERR_TOO_LARGE, "a request line over 1 MiB"));
                client_close(c);
            }
            return;
        }
        *nl = 0;
        json_error_t err;
        json_t *req = json_loads(c->buf, 0, &err);
        if (req == NULL)
            reply_error(c, pkc_error(PKC_ERR_MALFORMED, "request is not JSON: %s", err.text));
        else
            handle(c, req);
        json_decref(req);
        if (c->closing)
            return;
        size_t used = (size_t)(nl - c->buf) + 1;
        memmove(c->buf, nl + 1, c->len - used);
        c->len -= used;
        node_reschedule(c->ctl->n);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct node_control *ctl = server->data;
    if (status < 0)
        return;
    client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->ctl = ctl;
    uv_pipe_init(&ctl->n->loop->uv, &c->pipe, 0);
    c->pipe.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || ctl->n_clients >= CLIENTS_MAX) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->pipe, on_closed);
        return;
    }
    c->next = ctl->clients;
    ctl->clients = c;
    ctl->n_clients++;
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

int node_control_start(pkc_node *n)
{
    struct node_control *ctl = calloc(1, sizeof *ctl);
    if (ctl == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    ctl->n = n;
    int len = snprintf(ctl->path, sizeof ctl->path, "%s/control.sock", n->data_dir);
    if (len >= 108) {
        free(ctl);
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "control socket path %s is longer than a Unix socket allows (107)",
                         ctl->path);
    }
    /* We hold the data directory's lock: a socket left there is a dead node's. */
    unlink(ctl->path);
    uv_pipe_init(&n->loop->uv, &ctl->server, 0);
    ctl->server.data = ctl;
    int rc = uv_pipe_bind(&ctl->server, ctl->path);
    if (rc == 0)
        rc = chmod(ctl->path, 0600) == 0 ? 0 : UV_EPERM;
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&ctl->server, 16, on_connection);
    if (rc) {
        uv_close((uv_handle_t *)&ctl->server, NULL);
        uv_run(&n->loop->uv, UV_RUN_NOWAIT);
        int e = pkc_error(PKC_ERR_IO, "control socket %s: %s", ctl->path, uv_strerror(rc));
        free(ctl);
        return e;
    }
    n->control = ctl;
    return 0;
}

static void server_closed(uv_handle_t *h)
{
    free(h->data);
}

void node_control_stop(pkc_node *n)
{
    struct node_control *ctl = n->control;
    if (ctl == NULL)
        return;
    n->control = NULL;
    while (ctl->clients)
        client_close(ctl->clients);
    unlink(ctl->path);
    uv_close((uv_handle_t *)&ctl->server, server_closed);
}
