/* cmd_dashboard.c: pkc dashboard, a live full-screen view of the running
 * node (docs/cli.md, "pkc dashboard"). A client of its control socket: it
 * asks for status, peers and invites once a second, and follows the inbox
 * (messages, peers arriving and leaving, invitation outcomes) as they come. */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
#include "control_client.h"

#define HISTORY 60    /* seconds of traffic in the graphs */
#define RECENT_MAX 32 /* messages and events kept */
#define ERRORS_MAX 8
#define LINE_CAP 512

typedef struct sample {
    double mesh_msgs, mesh_bytes; /* per second, the node's own figures */
    double in, out;               /* messages received and sent per second */
} sample;

typedef struct dash {
    const char *room; /* --room: a name or id, or NULL for all */
    int utf8;
    /* the node, as last seen */
    json_t *status, *peers, *invites;
    json_t *docs; /* NULL from a node without the "docs" command */
    int running;     /* the last poll reached the node */
    char why[256];   /* why it did not */
    int64_t last_ok; /* wall ms of the last poll that reached it */
    /* the follow connection (inbox with follow), raw for poll() */
    int ffd;
    char fbuf[1 << 16];
    size_t flen;
    /* history */
    sample hist[HISTORY];
    size_t n_hist, hist_at;
    int have_counts;
    json_int_t last_in, last_out;
    int64_t last_sample_ms;
    /* recent messages and events, newest last */
    char recent[RECENT_MAX][LINE_CAP];
    size_t n_recent;
    char errors[ERRORS_MAX][LINE_CAP];
    size_t n_errors;
    json_int_t errors_seen;
    int errors_known;
} dash;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void clock_text(char *out, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, cap, "%H:%M:%S", &tm);
}

/* "3s", "4m05s", "2h03m", "3d04h". */
static void duration_text(char *out, size_t cap, int64_t ms)
{
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(out, cap, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, cap, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, cap, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
    else
        snprintf(out, cap, "%lldd%02lldh", (long long)(s / 86400), (long long)(s / 3600 % 24));
}

static void bytes_text(char *out, size_t cap, double b)
{
    if (b < 1000)
        snprintf(out, cap, "%.0f B", b);
    else if (b < 1e6)
        snprintf(out, cap, "%.1f kB", b / 1e3);
    else if (b < 1e9)
        snprintf(out, cap, "%.1f MB", b / 1e6);
    else
        snprintf(out, cap, "%.1f GB", b / 1e9);
}

/* The short form of a peer id: 8 characters after "pkc1" (as pkc chat). */
static void short_id(char out[9], const char *id)
{
    snprintf(out, 9, "%s", id && strlen(id) > 4 ? id + 4 : "?");
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static json_int_t jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static double jnum(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* The name of room `id` (hex) as the node's status lists it, else the id. */
static const char *room_name(dash *d, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(d->status, "rooms"), i, r)
    {
        if (strcmp(jstr(r, "id"), id) == 0)
            return jstr(r, "name");
    }
    return id;
}

/* Whether room `id` is shown (--room names it by name or id, or is not given). */
static int room_shown(dash *d, const char *id)
{
    if (d->room == NULL)
        return 1;
    return strcmp(d->room, id) == 0 || strcmp(d->room, room_name(d, id)) == 0;
}

PKC_PRINTF(2, 3) static void add_recent(dash *d, const char *fmt, ...)
{
    if (d->n_recent == RECENT_MAX) {
        memmove(d->recent[0], d->recent[1], (RECENT_MAX - 1) * sizeof d->recent[0]);
        d->n_recent--;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->recent[d->n_recent++], LINE_CAP, fmt, ap);
    va_end(ap);
}

static void add_error(dash *d, const char *text)
{
    if (d->n_errors == ERRORS_MAX) {
        memmove(d->errors[0], d->errors[1], (ERRORS_MAX - 1) * sizeof d->errors[0]);
        d->n_errors--;
    }
    char t[16];
    clock_text(t, sizeof t, wall_ms());
    snprintf(d->errors[d->n_errors++], LINE_CAP, "%s %s", t, text);
}

/* ---- what the node says -------------------------------------------------------------------------
 */

static void on_event(dash *d, json_t *ev)
{
    const char *kind = jstr(ev, "event");
    char t[16], who[9];
    if (strcmp(kind, "message") == 0) {
        if (!room_shown(d, jstr(ev, "room")))
            return;
        clock_text(t, sizeof t, jint(ev, "time_ms"));
        const char *from = jstr(ev, "from");
        int me = strcmp(from, jstr(d->status, "peer_id")) == 0;
        short_id(who, from);
        const char *text = json_string_value(json_object_get(ev, "text"));
        add_recent(d, "%s %s%s [%s]: %s", t,
                   json_is_true(json_object_get(ev, "direct")) ? "dm " : "", me ? "you" : who,
                   room_name(d, jstr(ev, "room")), text ? text : "(binary data)");
    } else if (strcmp(kind, "connected") == 0 || strcmp(kind, "disconnected") == 0) {
        if (!room_shown(d, jstr(ev, "room")))
            return;
        clock_text(t, sizeof t, wall_ms());
        short_id(who, jstr(ev, "peer"));
        add_recent(d, "%s * %s %s %s", t, who, kind[0] == 'c' ? "joined" : "left",
                   room_name(d, jstr(ev, "room")));
    } else if (strcmp(kind, "invite") == 0) {
        clock_text(t, sizeof t, wall_ms());
        short_id(who, jstr(ev, "peer"));
        const char *reason = jstr(ev, "reason");
        add_recent(d, "%s * invitation %.8s %s by %s%s%s", t, jstr(ev, "id"), jstr(ev, "outcome"),
                   who, reason[0] ? ": " : "", reason);
    } else if (strcmp(kind, "delivered") == 0) {
        clock_text(t, sizeof t, wall_ms());
        add_recent(d, "%s * delivered %.8s", t, jstr(ev, "id"));
    }
}

static void follow_close(dash *d)
{
    if (d->ffd >= 0)
        close(d->ffd);
    d->ffd = -1;
    d->flen = 0;
}

/* Opens the follow connection: the inbox's messages (kept: the last few)
 * then its events as they happen. */
static void follow_open(dash *d)
{
    cli_conn c;
    char why[256];
    if (cli_control_connect_why(&c, why, sizeof why) != CLI_OK)
        return;
    json_t *req = json_pack("{s:s, s:b}", "cmd", "inbox", "follow", 1);
    if (cli_control_send_why(&c, req, why, sizeof why) != CLI_OK) {
        cli_control_close(&c);
        return;
    }
    /* Read the descriptor itself, for poll(): no stdio buffer in between. */
    d->ffd = dup(c.fd);
    cli_control_close(&c);
    d->flen = 0;
    d->n_recent = 0;
}

/* Reads what the follow connection has; 0, or -1 when the node closed it. */
static int follow_read(dash *d)
{
    ssize_t n = read(d->ffd, d->fbuf + d->flen, sizeof d->fbuf - 1 - d->flen);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return -1;
    d->flen += (size_t)n;
    char *p = d->fbuf, *nl;
    while ((nl = memchr(p, '\n', d->flen - (size_t)(p - d->fbuf))) != NULL) {
        *nl = 0;
        json_t *o = json_loads(p, 0, NULL);
        if (o && json_object_get(o, "event"))
            on_event(d, o);
        json_decref(o);
        p = nl + 1;
    }
    d->flen -= (size_t)(p - d->fbuf);
    memmove(d->fbuf, p, d->flen);
    if (d->flen == sizeof d->fbuf - 1) /* a line longer than the buffer: dropped */
        d->flen = 0;
    return 0;
}

static json_t *ask(dash *d, const char *cmd)
{
    cli_conn c;
    int rc;
    json_t *o = cli_control_call_why(json_pack("{s:s}", "cmd", cmd), &c, &rc, NULL, NULL, d->why,
                                     sizeof d->why);
    if (o)
        cli_control_close(&c);
    return o;
}

/* Asks the node for its figures; records the traffic sample. */
static void poll_node(dash *d)
{
    json_t *st = ask(d, "status");
    json_t *pe = st ? ask(d, "peers") : NULL;
    json_t *iv = pe ? ask(d, "invites") : NULL;
    if (iv == NULL) {
        json_decref(st);
        json_decref(pe);
        if (d->running) {
            char t[16];
            clock_text(t, sizeof t, wall_ms());
            add_recent(d, "%s * node stopped", t);
        }
        d->running = 0;
        d->have_counts = 0;
        follow_close(d);
        return;
    }
    json_t *dc = ask(d, "docs"); /* optional: a node before the command has none */
    json_decref(d->status);
    json_decref(d->peers);
    json_decref(d->invites);
    json_decref(d->docs);
    d->status = st;
    d->peers = pe;
    d->invites = iv;
    d->docs = dc;
    if (!d->running)
        follow_open(d);
    d->running = 1;
    d->last_ok = wall_ms();

    json_t *m = json_object_get(st, "metrics");
    json_t *net = json_object_get(m, "network"), *msgs = json_object_get(m, "messages"),
           *health = json_object_get(m, "health");
    int64_t now = mono_ms();
    json_int_t in = jint(msgs, "received"), out = jint(msgs, "sent");
    sample s = {jnum(net, "messages_per_second"), jnum(net, "bytes_per_second"), 0, 0};
    if (d->have_counts && now > d->last_sample_ms) {
        double secs = (double)(now - d->last_sample_ms) / 1000.0;
        s.in = (double)(in - d->last_in) / secs;
        s.out = (double)(out - d->last_out) / secs;
    }
    d->have_counts = 1;
    d->last_in = in;
    d->last_out = out;
    d->last_sample_ms = now;
    d->hist[d->hist_at] = s;
    d->hist_at = (d->hist_at + 1) % HISTORY;
    if (d->n_hist < HISTORY)
        d->n_hist++;

    json_int_t errors = jint(health, "errors");
    const char *last = jstr(health, "last_error");
    if (!d->errors_known) {
        d->errors_known = 1;
        if (errors > 0 && last[0]) {
            char line[LINE_CAP];
            snprintf(line, sizeof line, "(before) %s", last);
            add_error(d, line);
        }
    } else if (errors > d->errors_seen && last[0]) {
        char line[LINE_CAP];
        if (errors - d->errors_seen > 1)
            snprintf(line, sizeof line, "%s (and %lld more)", last,
                     (long long)(errors - d->errors_seen - 1));
        else
            snprintf(line, sizeof line, "%s", last);
        add_error(d, line);
    }
    d->errors_seen = errors;
}

/* ---- drawing ------------------------------------------------------------------------------------
 */

/* Writes `s` at (y, x), at most `width` columns: control characters (and,
 * outside UTF-8, any byte over 0x7f) become '?', so that nothing a peer
 * sends drives the terminal; the rest of the width is cleared. */
static void put(dash *d, int y, int x, int width, const char *s)
{
    if (y < 0 || y >= LINES || width <= 0)
        return;
    move(y, x);
    int used = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t len = strlen(s);
    while (len > 0 && used < width) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x80 || !d->utf8) {
            addch(c >= 0x20 && c < 0x7f ? c : '?');
            used++;
            s++;
            len--;
            continue;
        }
        wchar_t wc;
        size_t k = mbrtowc(&wc, s, len, &st);
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            memset(&st, 0, sizeof st);
            addch('?');
            used++;
            s++;
            len--;
            continue;
        }
        int w = wcwidth(wc);
        if (w < 0) {
            addch('?');
            w = 1;
        } else if (used + w > width) {
            break;
        } else {
            addnstr(s, (int)k);
        }
        used += w;
        s += k;
        len -= k;
    }
    for (; used < width; used++)
        addch(' ');
}

PKC_PRINTF(3, 4) static void putf(dash *d, int y, const char *fmt, ...)
{
    char line[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    put(d, y, 0, COLS, line);
}

static void title(dash *d, int y, const char *fmt, ...) PKC_PRINTF(3, 4);
static void title(dash *d, int y, const char *fmt, ...)
{
    char line[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    attron(A_BOLD);
    put(d, y, 0, COLS, line);
    attroff(A_BOLD);
}

/* The last `width` samples of one series as a bar graph: 8 levels of block
 * characters, or ASCII outside UTF-8; scaled to the largest shown. */
static void sparkline(dash *d, char *out, size_t cap, int width, int which)
{
    static const char *const blocks[] = {" ",      "\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ascii[] = " .:-=+*#@";
    size_t n = d->n_hist < (size_t)width ? d->n_hist : (size_t)width;
    double v[HISTORY], max = 0;
    for (size_t i = 0; i < n; i++) {
        const sample *s = &d->hist[(d->hist_at + HISTORY - n + i) % HISTORY];
        v[i] = which == 0 ? s->mesh_msgs : which == 1 ? s->mesh_bytes : s->in + s->out;
        if (v[i] > max)
            max = v[i];
    }
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < width - (int)n && k + 1 < cap; i++)
        out[k++] = ' ';
    for (size_t i = 0; i < n; i++) {
        int level = v[i] <= 0 || max <= 0 ? 0 : 1 + (int)(v[i] / max * 7.999);
        if (level > 8)
            level = 8;
        const char *b = d->utf8 ? blocks[level] : (char[2]){ascii[level], 0};
        size_t bl = strlen(b);
        if (k + bl + 1 > cap)
            break;
        memcpy(out + k, b, bl);
        k += bl;
    }
    out[k] = 0;
}

/* Rows for the lists, from what each would show and what the screen has:
 * each gets one row, then one more in turn until all is shown or the rows
 * run out. */
#define LISTS 5 /* peers, messages, invitations, errors, documents */
static void share_rows(int avail, const int want[LISTS], int got[LISTS])
{
    for (int i = 0; i < LISTS; i++) {
        got[i] = avail > 0 && want[i] > 0 ? 1 : 0;
        avail -= got[i];
    }
    for (int more = 1; more && avail > 0;) {
        more = 0;
        for (int i = 0; i < LISTS && avail > 0; i++)
            if (got[i] < want[i]) {
                got[i]++;
                avail--;
                more = 1;
            }
    }
}

static void draw(dash *d)
{
    erase();
    if (LINES < 12 || COLS < 40) {
        put(d, 0, 0, COLS, "pkc dashboard: the terminal is too small (40x12 at least); q quits");
        refresh();
        return;
    }
    json_t *st = d->status, *m = json_object_get(st, "metrics");
    json_t *sync = json_object_get(m, "sync"), *health = json_object_get(m, "health");
    char up[32], t[16], b1[32];
    duration_text(up, sizeof up, jint(health, "uptime_ms"));
    int y = 0;
    attron(A_REVERSE);
    if (d->running)
        putf(d, y++, " pkc %s  port %lld  up %s  %s", jstr(st, "peer_id"),
             (long long)jint(st, "port"), up, jstr(health, "status"));
    else if (st)
        putf(d, y++, " pkc %s  node stopped: waiting for it (q quits)", jstr(st, "peer_id"));
    else
        putf(d, y++, " pkc dashboard  node stopped: waiting for it (q quits)");
    attroff(A_REVERSE);

    /* Rooms: neighbours (direct) and peers known through the mesh. */
    char line[LINE_CAP];
    size_t k = 0, i;
    json_t *r;
    k += (size_t)snprintf(line, sizeof line, "rooms:");
    json_array_foreach(json_object_get(st, "rooms"), i, r)
    {
        if (!room_shown(d, jstr(r, "id")) || k >= sizeof line)
            continue;
        json_int_t direct = jint(r, "peers"), known = jint(r, "known");
        k += (size_t)snprintf(line + k, sizeof line - k, " %s %lld direct/%lld known%s",
                              jstr(r, "name"), (long long)direct, (long long)known,
                              i + 1 < json_array_size(json_object_get(st, "rooms")) ? "," : "");
    }
    put(d, y++, 0, COLS, line);

    /* What the lists would show: neighbours, then peers reached through
     * them (or known without a route). */
    json_t *peers = json_array(), *invites = json_array(), *docs = json_array();
    json_t *p;
    json_array_foreach(d->peers ? json_object_get(d->peers, "peers") : NULL, i, p)
    {
        if (room_shown(d, jstr(p, "room")))
            json_array_append(peers, p);
    }
    size_t n_direct = json_array_size(peers);
    json_array_foreach(d->peers ? json_object_get(d->peers, "relayed") : NULL, i, p)
    {
        if (room_shown(d, jstr(p, "room")))
            json_array_append(peers, p);
    }
    json_array_foreach(d->docs ? json_object_get(d->docs, "docs") : NULL, i, p)
    {
        if (room_shown(d, jstr(p, "room")))
            json_array_append(docs, p);
    }
    json_array_foreach(d->invites ? json_object_get(d->invites, "invites") : NULL, i, p)
    {
        if (room_shown(d, jstr(p, "room")))
            json_array_append(invites, p);
    }
    /* Fixed: header, rooms, traffic (3), documents (2), 4 list titles, footer. */
    int avail = LINES - 2 - 3 - 2 - 4 - 1;
    int want[LISTS] = {(int)json_array_size(peers), (int)d->n_recent,
                       (int)json_array_size(invites), (int)d->n_errors,
                       (int)json_array_size(docs)};
    for (int j = 0; j < LISTS - 1; j++)
        if (want[j] == 0)
            want[j] = 1; /* "none" */
    int got[LISTS];
    share_rows(avail, want, got);

    /* Peers. */
    if (json_array_size(peers) > n_direct)
        snprintf(line, sizeof line, "Peers (%zu+%zu)", n_direct, json_array_size(peers) - n_direct);
    else
        snprintf(line, sizeof line, "Peers (%zu)", n_direct);
    title(d, y++, "%-16s%-10s%-8s%-23s%7s %6s  %s", line, "room", "route", "address", "RTT",
          "score", "since");
    int y0 = y;
    if (json_array_size(peers) == 0)
        putf(d, y++, "  none connected");
    json_array_foreach(peers, i, p)
    {
        if ((int)i >= got[0])
            break;
        if ((int)i == got[0] - 1 && json_array_size(peers) > (size_t)got[0]) {
            putf(d, y++, "  ... and %zu more", json_array_size(peers) - i);
            break;
        }
        char who[9], rtt[16], since[16];
        short_id(who, jstr(p, "peer_id"));
        if (i >= n_direct) { /* known through the mesh */
            char via[9], route[48];
            const char *how = jstr(p, "route");
            short_id(via, jstr(p, "via"));
            if (strcmp(how, "relayed") == 0 || strcmp(how, "waypoint") == 0)
                snprintf(route, sizeof route, "relayed (%lld hops via %s)",
                         (long long)jint(p, "hops"), via);
            else
                snprintf(route, sizeof route, "known, no route");
            json_int_t seen = jint(p, "seen_ms");
            if (seen >= 0)
                duration_text(since, sizeof since, seen);
            putf(d, y++, "  %-8s %-3s  %-9.9s %-30s %s%s", who,
                 json_is_true(json_object_get(p, "pending")) ? "..." : "",
                 room_name(d, jstr(p, "room")), route, seen >= 0 ? "seen " : "",
                 seen >= 0 ? since : "");
            continue;
        }
        double ms = jnum(p, "rtt_ms");
        if (ms < 0)
            snprintf(rtt, sizeof rtt, "-");
        else
            snprintf(rtt, sizeof rtt, "%.1fms", ms);
        duration_text(since, sizeof since, jint(p, "connected_ms"));
        putf(d, y++, "  %-8s %-3s  %-9.9s direct  %-22.22s %7s %6.2f  %s", who,
             json_is_true(json_object_get(p, "outbound")) ? "out" : "in",
             room_name(d, jstr(p, "room")), jstr(p, "address"), rtt, jnum(p, "score"), since);
    }
    y = y0 + got[0];

    /* Traffic: the node's mesh figures, and messages in and out. */
    sample cur = d->n_hist ? d->hist[(d->hist_at + HISTORY - 1) % HISTORY] : (sample){0, 0, 0, 0};
    int gw = COLS - 44;
    if (gw > HISTORY)
        gw = HISTORY;
    if (gw < 0)
        gw = 0;
    char g[HISTORY * 4 + 1];
    title(d, y++, "Traffic (last %d s)", gw);
    bytes_text(b1, sizeof b1, cur.mesh_bytes);
    sparkline(d, g, sizeof g, gw, 1);
    putf(d, y, "  mesh %7.1f msg/s %10s/s ", cur.mesh_msgs, b1);
    put(d, y++, 42, COLS - 42, g);
    sparkline(d, g, sizeof g, gw, 2);
    putf(d, y, "  messages in %5.1f/s out %5.1f/s ", cur.in, cur.out);
    put(d, y++, 42, COLS - 42, g);

    /* Documents: the sync figures the node has (over all its documents). */
    int64_t last_sync = jint(sync, "last_sync_ms");
    if (last_sync)
        clock_text(t, sizeof t, last_sync);
    else
        snprintf(t, sizeof t, "never");
    bytes_text(b1, sizeof b1, (double)jint(sync, "state_bytes"));
    json_int_t n_docs = 0;
    json_array_foreach(json_object_get(st, "rooms"), i, r)
    {
        if (room_shown(d, jstr(r, "id")))
            n_docs += jint(r, "docs");
    }
    title(d, y++, "Documents (%lld open)", (long long)n_docs);
    putf(d, y++, "  state %s, %lld waiting for updates, %lld conflicts merged, last sync %s", b1,
         (long long)jint(sync, "pending_updates"), (long long)jint(sync, "conflicts_resolved"), t);
    /* One row per document: its stored size, whether it waits for
     * updates, and when a peer's update last changed it. */
    y0 = y;
    json_array_foreach(docs, i, p)
    {
        if ((int)i >= got[4])
            break;
        if ((int)i == got[4] - 1 && json_array_size(docs) > (size_t)got[4]) {
            putf(d, y++, "  ... and %zu more", json_array_size(docs) - i);
            break;
        }
        char last[24];
        int64_t lr = jint(p, "last_remote_ms");
        if (lr > 0)
            clock_text(last, sizeof last, lr);
        else
            snprintf(last, sizeof last, "none yet");
        bytes_text(b1, sizeof b1, (double)jint(p, "stored_bytes"));
        putf(d, y++, "  %-14.14s %-9.9s %8s %4lld upd  %-7s  from peer %s", jstr(p, "name"),
             room_name(d, jstr(p, "room")), b1, (long long)jint(p, "stored_updates"),
             json_is_true(json_object_get(p, "pending")) ? "waiting" : "in sync", last);
    }
    y = y0 + got[4];

    /* Recent messages and events: the newest that fit. */
    title(d, y++, "Messages and events");
    y0 = y;
    if (d->n_recent == 0)
        putf(d, y++, "  none yet");
    size_t from = d->n_recent > (size_t)got[1] ? d->n_recent - (size_t)got[1] : 0;
    for (size_t j = from; j < d->n_recent; j++) {
        snprintf(line, sizeof line, "  %s", d->recent[j]);
        put(d, y++, 0, COLS, line);
    }
    y = y0 + got[1];

    /* Invitations. */
    snprintf(line, sizeof line, "Invitations (%zu)", json_array_size(invites));
    title(d, y++, "%-20s%-13s%-12s%-14s%s", line, "room", "expires", "use", "kind");
    y0 = y;
    if (json_array_size(invites) == 0)
        putf(d, y++, "  none (make one with 'pkc invite')");
    int64_t now = wall_ms();
    json_array_foreach(invites, i, p)
    {
        if ((int)i >= got[2])
            break;
        if ((int)i == got[2] - 1 && json_array_size(invites) > (size_t)got[2]) {
            putf(d, y++, "  ... and %zu more", json_array_size(invites) - i);
            break;
        }
        char exp[32];
        int64_t left = (int64_t)jint(p, "expires_ms") - now;
        if (left > 0) {
            char dur[16];
            duration_text(dur, sizeof dur, left);
            snprintf(exp, sizeof exp, "in %s", dur);
        } else {
            snprintf(exp, sizeof exp, "expired");
        }
        int mine = json_is_true(json_object_get(p, "mine"));
        int used = json_is_true(json_object_get(p, "used"));
        const char *use = mine ? (json_is_true(json_object_get(p, "single_use"))
                                      ? (used ? "single, used" : "single")
                                      : "any number")
                               : (used ? "joined" : "joining");
        putf(d, y++, "  %.8s %s  %-12.12s %-11s %-13s %s", jstr(p, "id"),
             mine ? "mine    " : "accepted", room_name(d, jstr(p, "room")), exp, use,
             json_is_true(json_object_get(p, "one_step")) ? "one-step" : "two-step");
    }
    y = y0 + got[2];

    /* Errors the node counted: the most recent of each count increase. */
    title(d, y++, "Errors (%lld)", (long long)jint(health, "errors"));
    if (d->n_errors == 0)
        putf(d, y++, "  none");
    from = d->n_errors > (size_t)got[3] ? d->n_errors - (size_t)got[3] : 0;
    for (size_t j = from; j < d->n_errors; j++) {
        snprintf(line, sizeof line, "  %s", d->errors[j]);
        put(d, y++, 0, COLS, line);
    }

    /* Footer. */
    clock_text(t, sizeof t, d->running ? d->last_ok : wall_ms());
    attron(A_REVERSE);
    if (d->running)
        putf(d, LINES - 1, " updated %s, every second   q quit", t);
    else
        putf(d, LINES - 1, " %s: %s   q quit", t, d->why);
    attroff(A_REVERSE);
    json_decref(peers);
    json_decref(invites);
    json_decref(docs);
    refresh();
}

/* ---- the command --------------------------------------------------------------------------------
 */

static const char dashboard_help[] =
    "A live full-screen view of the running node: peers, traffic, documents,\n"
    "messages, invitations and errors, refreshed every second. Keys: q quits\n"
    "(so do Ctrl-C and SIGTERM), r redraws. Needs a terminal; for the same\n"
    "figures as JSON use 'pkc status --json' and 'pkc peers --json'.\n"
    "\n"
    "  --room ROOM   only this room (its name or id)\n";

static int run_dashboard(int argc, char **argv)
{
    enum { O_ROOM = 1 };
    static const struct option opts[] = {
        {"room", required_argument, NULL, O_ROOM}, CLI_COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    dash *d = calloc(1, sizeof *d);
    if (d == NULL)
        return CLI_FAIL;
    d->ffd = -1;
    int opt, rc = CLI_OK;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        int r = cli_common_option(opt, optarg);
        if (r < 0) {
            free(d);
            return CLI_USAGE;
        }
        if (r > 0)
            continue;
        if (opt == O_ROOM) {
            d->room = optarg;
        } else {
            free(d);
            return cli_usage_error("dashboard", "unknown option");
        }
    }
    if (cli_g.help) {
        free(d);
        cli_print_help(stdout, cli_find("dashboard"));
        return CLI_OK;
    }
    if (optind < argc) {
        free(d);
        return cli_usage_error("dashboard", "unexpected argument '%s'", argv[optind]);
    }
    /* A node must run when we start: said plainly, as the other commands do. */
    cli_conn c;
    json_t *first = cli_control_call(json_pack("{s:s}", "cmd", "status"), &c, &rc, NULL, NULL);
    if (first == NULL) {
        free(d);
        return rc;
    }
    cli_control_close(&c);
    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        json_decref(first);
        free(d);
        fprintf(stderr, "pkc: the dashboard needs a terminal; for the same figures as JSON, use "
                        "'pkc status --json' and 'pkc peers --json'\n");
        return CLI_FAIL;
    }
    if (d->room) {
        size_t i;
        json_t *r;
        int found = 0;
        json_array_foreach(json_object_get(first, "rooms"), i, r)
        {
            found |= strcmp(jstr(r, "id"), d->room) == 0 || strcmp(jstr(r, "name"), d->room) == 0;
        }
        if (!found) {
            fprintf(stderr, "pkc: the node is in no room '%s' (see 'pkc rooms')\n", d->room);
            json_decref(first);
            free(d);
            return CLI_FAIL;
        }
    }
    json_decref(first);

    setlocale(LC_ALL, "");
    d->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    /* Ctrl-C, SIGTERM and SIGHUP come through a descriptor: the screen is
     * given back before the command ends, whichever ends it. A write to a
     * node that went away fails instead of killing us. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, &old);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    if (sfd < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        free(d);
        fprintf(stderr, "pkc: signalfd: %s\n", strerror(errno));
        return CLI_FAIL;
    }

    if (initscr() == NULL) {
        close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        free(d);
        return CLI_FAIL;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);

    poll_node(d);
    draw(d);
    int64_t next = mono_ms() + 1000;
    int quit = 0;
    while (!quit) {
        struct pollfd pf[3] = {{STDIN_FILENO, POLLIN, 0}, {sfd, POLLIN, 0}, {d->ffd, POLLIN, 0}};
        int64_t wait = next - mono_ms();
        int n = poll(pf, d->ffd >= 0 ? 3 : 2, wait < 0 ? 0 : (int)wait);
        int redraw = 0;
        if (n < 0 && errno != EINTR)
            break;
        /* Keys, and KEY_RESIZE (ncurses' SIGWINCH handler ends the poll). */
        int ch;
        while ((ch = getch()) != ERR) {
            if (ch == 'q' || ch == 'Q' || ch == 3 /* Ctrl-C as a key */) {
                quit = 1;
            } else if (ch == KEY_RESIZE || ch == 'r' || ch == 12 /* Ctrl-L */) {
                if (ch != KEY_RESIZE)
                    clearok(curscr, TRUE);
                redraw = 1;
            }
        }
        if (n > 0 && (pf[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                rc = si.ssi_signo == SIGINT ? CLI_OK : 128 + (int)si.ssi_signo;
            quit = 1;
        }
        if (n > 0 && d->ffd >= 0 && pf[2].revents) {
            if (follow_read(d) != 0)
                follow_close(d); /* the next poll says whether the node is gone */
            redraw = 1;
        }
        if (mono_ms() >= next) {
            poll_node(d);
            next = mono_ms() + 1000;
            redraw = 1;
        }
        if (redraw && !quit)
            draw(d);
    }
    endwin();
    follow_close(d);
    close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    json_decref(d->status);
    json_decref(d->peers);
    json_decref(d->invites);
    json_decref(d->docs);
    free(d);
    return rc;
}

CLI_COMMAND(dashboard, 30, "[--room ROOM]", "a live full-screen view of the running node",
            dashboard_help, run_dashboard)
