/* cmd_chat.c: pkc chat, the node in the foreground with an interactive
 * chat for one room (docs/cli.md, "pkc chat").
 *
 * One thread does everything: the node runs on this thread's poll loop
 * (pkc_node_open), so its callbacks, the keys typed and the signals are
 * handled in turn and the terminal is written from one place. On a
 * terminal, lined.c keeps the input line at the bottom; otherwise (a pipe
 * in or out) it is line mode: a line in, events out, no escape sequences. */
#define _GNU_SOURCE
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lined.h"
#include "progress.h"

#define SHORT_ID 8     /* characters of a peer id shown, after "pkc1" */
#define PENDING_MAX 64 /* direct messages awaiting their receipt, remembered */
#define KNOWN_MAX 1024 /* peers /to can name */
#define BACKLOG 10     /* messages of the inbox shown at the start */
#define LINE_IN_MAX 65536
#define HISTORY_FILE "chat_history"
#define HISTORY_KEEP 500

typedef struct pending_dm {
    uint8_t id[PKC_MSG_ID_BYTES];
    char to[PKC_PEER_ID_SIZE];
    char text[64];
    int used;
} pending_dm;

typedef struct chat {
    pkc_node *node;
    lined *ed; /* NULL: line mode */
    char prompt[80]; /* the input line's prompt when nothing is in progress */
    const char *self;
    char room[17];
    char room_name[64];
    char (*known)[PKC_PEER_ID_SIZE];
    size_t n_known;
    pending_dm pending[PENDING_MAX];
    size_t next_pending;
    int quit;
    FILE *history;
    /* Line mode's input. */
    char *in;
    size_t in_len;
    /* The inbox's last messages at the start. */
    struct backlog {
        char from[PKC_PEER_ID_SIZE];
        int direct;
        int64_t time_ms;
        char *text;
        size_t len;
    } backlog[BACKLOG];
    size_t n_backlog;
} chat;

/* ---- output: everything the chat shows goes through say() ---------------------------------------
 */

/* Shows one entry: `head` (ASCII: time, who) then `body` (from elsewhere:
 * cleaned here). Wrapped lines are indented under the body. */
static void say(chat *c, const char *head, const void *body, size_t body_len)
{
    char *clean = term_clean(body, body_len, 1);
    if (clean == NULL)
        return;
    size_t hl = strlen(head), bl = strlen(clean);
    char *text = malloc(hl + bl + 1);
    if (text == NULL) {
        free(clean);
        return;
    }
    memcpy(text, head, hl);
    memcpy(text + hl, clean, bl + 1);
    if (c->ed) {
        lined_print(c->ed, text, term_width(head, hl));
    } else {
        /* Line mode: the lines of a message after its first are indented
         * under it, so that every entry starts at column 0. */
        int indent = term_width(head, hl);
        for (const char *p = text, *nl;; p = nl + 1) {
            nl = strchr(p, '\n');
            if (p != text)
                printf("%*s", indent, "");
            fwrite(p, 1, nl ? (size_t)(nl - p) : strlen(p), stdout);
            fputc('\n', stdout);
            if (nl == NULL)
                break;
        }
        fflush(stdout);
    }
    free(text);
    free(clean);
}

static void sayf(chat *c, const char *fmt, ...) PKC_PRINTF(2, 3);
static void sayf(chat *c, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    say(c, "", buf, strlen(buf));
}

/* "HH:MM" in local time, with the date when it is not today. */
static void when(int64_t ms, char *out, size_t size)
{
    time_t t = (time_t)(ms / 1000), now = time(NULL);
    struct tm tm, today;
    localtime_r(&t, &tm);
    localtime_r(&now, &today);
    if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
        snprintf(out, size, "%02d:%02d", tm.tm_hour, tm.tm_min);
    else
        snprintf(out, size, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The short form of a peer id: "you", or SHORT_ID characters after "pkc1". */
static const char *who(const chat *c, const char *peer, char out[SHORT_ID + 1])
{
    if (strcmp(peer, c->self) == 0)
        return "you";
    const char *p = strncmp(peer, "pkc1", 4) == 0 ? peer + 4 : peer;
    size_t n = strnlen(p, SHORT_ID);
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

/* ---- peers /to can name -------------------------------------------------------------------------
 */

static void know(chat *c, const char *peer)
{
    if (strlen(peer) != PKC_PEER_ID_LEN || strcmp(peer, c->self) == 0)
        return;
    for (size_t i = 0; i < c->n_known; i++)
        if (strcmp(c->known[i], peer) == 0)
            return;
    if (c->n_known == KNOWN_MAX)
        return;
    if (c->known == NULL && (c->known = calloc(KNOWN_MAX, sizeof *c->known)) == NULL)
        return;
    snprintf(c->known[c->n_known++], PKC_PEER_ID_SIZE, "%s", peer);
}

static int id_matches(const char *id, const char *prefix, size_t n)
{
    return strncmp(id, prefix, n) == 0 ||
           (strncmp(id, "pkc1", 4) == 0 && strncmp(id + 4, prefix, n) == 0);
}

/* The peer `prefix` names: a full id, or the start of one (with or without
 * "pkc1") of a connected or known peer. NULL after saying why not. */
static const char *resolve_peer(chat *c, const char *prefix)
{
    size_t n = strlen(prefix);
    pkc_node_peer_info peers[256];
    size_t np = pkc_node_get_peers(c->node, peers, 256);
    if (np > 256)
        np = 256;
    for (size_t i = 0; i < np; i++)
        know(c, peers[i].peer_id);
    const char *found = NULL;
    size_t matches = 0;
    char list[512] = "";
    for (size_t i = 0; i < c->n_known; i++) {
        if (!id_matches(c->known[i], prefix, n))
            continue;
        found = c->known[i];
        matches++;
        char s[SHORT_ID + 1];
        size_t l = strlen(list);
        if (l < sizeof list - 32)
            snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", who(c, found, s));
    }
    if (matches == 1)
        return found;
    if (matches > 1) {
        sayf(c, "-- '%s' could be %zu peers (%s): type more of the id", prefix, matches, list);
        return NULL;
    }
    /* A full id the node may know from before this session. */
    if (n == PKC_PEER_ID_LEN && strncmp(prefix, "pkc1", 4) == 0)
        return prefix;
    sayf(c, "-- no peer '%s' (/peers lists them)", prefix);
    return NULL;
}

/* ---- the node's callbacks (this thread, inside pkc_node_process) --------------------------------
 */

static void show_message(chat *c, const pkc_node_message *m, const uint8_t *data, size_t len)
{
    char t[64], s[SHORT_ID + 1], head[160];
    when(m->time_ms, t, sizeof t);
    const char *from = who(c, m->from, s);
    if (m->direct) {
        char room[80] = "";
        if (strcmp(m->room, c->room) != 0)
            snprintf(room, sizeof room, " (room %s)", m->room);
        snprintf(head, sizeof head, "%s [direct] %s%s: ", t, from, room);
    } else {
        snprintf(head, sizeof head, "%s %s: ", t, from);
    }
    say(c, head, data, len);
}

static void on_invite(void *ud, pkc_node *node, const pkc_node_invite_event *ev)
{
    (void)node;
    chat *c = ud;
    char t[64], s[SHORT_ID + 1];
    when(now_ms(), t, sizeof t);
    if (ev->outcome == PKC_NODE_INVITE_USED)
        sayf(c, "%s * %s joined with an invitation", t, who(c, ev->peer_id, s));
    else if (ev->outcome == PKC_NODE_INVITE_JOINED)
        sayf(c, "%s * invitation accepted by %s: in room %s", t, who(c, ev->peer_id, s), ev->room);
    else
        sayf(c, "%s * invitation refused by %s: %s", t, who(c, ev->peer_id, s), ev->reason);
}

/* A document of the room arriving: on a terminal, its progress in the
 * prompt, then one line when done; nothing in line mode. */
static void on_sync(void *ud, pkc_node *node, const pkc_node_sync_event *ev)
{
    (void)node;
    chat *c = ud;
    if (c->ed == NULL || strcmp(ev->room, c->room) != 0)
        return;
    if (!ev->done) {
        /* "[room] (syncing notes: 45%) " */
        char p[128], doc[25];
        cli_ascii(doc, sizeof doc, ev->doc, 24);
        unsigned pct = ev->total ? (unsigned)(ev->received * 100 / ev->total) : 100;
        snprintf(p, sizeof p, "%s(syncing %s: %u%%) ", c->prompt, doc, pct);
        lined_set_prompt(c->ed, p);
        return;
    }
    lined_set_prompt(c->ed, c->prompt);
    char text[400], t[64];
    cli_sync_text(text, sizeof text, ev->doc, ev->peer_id, ev->received, ev->total, ev->done);
    when(now_ms(), t, sizeof t);
    sayf(c, "%s * %s", t, text);
}

static void on_peer(void *ud, pkc_node *node, const pkc_node_peer_event *ev)
{
    (void)node;
    chat *c = ud;
    if (strcmp(ev->room, c->room) != 0)
        return;
    know(c, ev->peer_id);
    char t[64], s[SHORT_ID + 1];
    when(now_ms(), t, sizeof t);
    sayf(c, "%s * %s %s", t, who(c, ev->peer_id, s), ev->connected ? "joined" : "left");
}

static void on_message(void *ud, pkc_node *node, const pkc_node_message *m)
{
    (void)node;
    chat *c = ud;
    if (!m->direct && strcmp(m->room, c->room) != 0)
        return;
    know(c, m->from);
    show_message(c, m, m->data, m->len);
}

static void on_delivered(void *ud, pkc_node *node, const uint8_t id[PKC_MSG_ID_BYTES])
{
    (void)node;
    chat *c = ud;
    char t[64], s[SHORT_ID + 1];
    when(now_ms(), t, sizeof t);
    for (size_t i = 0; i < PENDING_MAX; i++) {
        pending_dm *p = &c->pending[i];
        if (p->used && memcmp(p->id, id, PKC_MSG_ID_BYTES) == 0) {
            char head[96];
            snprintf(head, sizeof head, "%s * delivered to %s: ", t, who(c, p->to, s));
            say(c, head, p->text, strlen(p->text));
            p->used = 0;
            return;
        }
    }
    /* Sent before this chat started, or with pkc send. */
    sayf(c, "%s * a direct message was delivered (id %02x%02x%02x%02x...)", t, id[0], id[1], id[2],
         id[3]);
}

/* ---- what a person types ------------------------------------------------------------------------
 */

static const char chat_commands[] =
    "Type a line to send it to everyone in the room. Commands:\n"
    "  /to PEER TEXT  send TEXT to one peer only (sealed to it; a receipt shows\n"
    "                 when it arrives). PEER: the id as shown, or any unambiguous\n"
    "                 start of a connected or known peer's id\n"
    "  /peers         the peers connected in this room\n"
    "  /invite [once] an invitation to this room: a link and its QR code (once:\n"
    "                 for one person)\n"
    "  /answer CODE   apply the answer an invitee sent back to your invitation\n"
    "  /help          this text\n"
    "  /quit          leave (also Ctrl-D on an empty line, or Ctrl-C)\n"
    "  //TEXT         send a line that starts with '/'\n"
    "Keys: Left/Right, Home/End (Ctrl-A/Ctrl-E), Backspace/Delete, Ctrl-U (to the\n"
    "start), Ctrl-K (to the end), Ctrl-W (the word before), Ctrl-Y (put back what\n"
    "was cut), Up/Down (history), Ctrl-L (clear the screen).";

static void show_peers(chat *c)
{
    pkc_node_peer_info peers[256];
    size_t np = pkc_node_get_peers(c->node, peers, 256);
    if (np > 256)
        np = 256;
    size_t shown = 0;
    for (size_t i = 0; i < np; i++) {
        if (strcmp(peers[i].room, c->room) != 0)
            continue;
        know(c, peers[i].peer_id);
        char s[SHORT_ID + 1], rtt[32];
        if (peers[i].rtt_ms < 0)
            snprintf(rtt, sizeof rtt, "rtt ?");
        else
            snprintf(rtt, sizeof rtt, "rtt %.1f ms", peers[i].rtt_ms);
        sayf(c, "-- %s  %s  %s, %s, connected %llu s", who(c, peers[i].peer_id, s),
             peers[i].peer_id, peers[i].address, rtt,
             (unsigned long long)(peers[i].connected_ms / 1000));
        shown++;
    }
    pkc_node_room_info rooms[CLI_ROOMS_MAX];
    size_t nr = pkc_node_get_rooms(c->node, rooms, CLI_ROOMS_MAX);
    unsigned known = 0;
    for (size_t i = 0; i < nr && i < CLI_ROOMS_MAX; i++)
        if (strcmp(rooms[i].id, c->room) == 0)
            known = rooms[i].known;
    sayf(c, "-- %zu peer%s connected in room %s, about %u known; you are %s", shown,
         shown == 1 ? "" : "s", c->room_name, known, c->self);
}

static void send_direct(chat *c, char *args)
{
    while (*args == ' ')
        args++;
    char *sp = strchr(args, ' ');
    char *text = sp ? sp + 1 : NULL;
    if (sp)
        *sp = 0;
    while (text && *text == ' ')
        text++;
    if (args[0] == 0 || text == NULL || text[0] == 0) {
        sayf(c, "-- usage: /to PEER TEXT");
        return;
    }
    const char *peer = resolve_peer(c, args);
    if (peer == NULL)
        return;
    char to[PKC_PEER_ID_SIZE];
    snprintf(to, sizeof to, "%s", peer);
    uint8_t id[PKC_MSG_ID_BYTES];
    if (pkc_node_send(c->node, c->room, to, text, strlen(text), id) != 0) {
        sayf(c, "-- not sent: %s", pkc_errmsg());
        return;
    }
    pending_dm *p = &c->pending[c->next_pending++ % PENDING_MAX];
    memcpy(p->id, id, sizeof id);
    snprintf(p->to, sizeof p->to, "%s", to);
    /* What the receipt quotes: the start, on a character boundary. */
    size_t n = strlen(text);
    if (n >= sizeof p->text) {
        n = sizeof p->text - 4;
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
            n--;
        memcpy(p->text, text, n);
        memcpy(p->text + n, "...", 4);
    } else {
        memcpy(p->text, text, n + 1);
    }
    p->used = 1;
    know(c, to);
    char t[64], s[SHORT_ID + 1], head[96];
    when(now_ms(), t, sizeof t);
    snprintf(head, sizeof head, "%s [direct] you -> %s: ", t, who(c, to, s));
    say(c, head, text, strlen(text));
}

static void show_invite(chat *c, int once)
{
    char *t = NULL;
    /* Plain half blocks: what the chat shows passes through term_clean,
     * which strips escape sequences (colours too). */
    if (cli_invitation_text(c->node, c->room, once, 0, &t) != CLI_OK)
        sayf(c, "-- no invitation: %s", pkc_errmsg());
    else
        say(c, "", t, strlen(t));
    free(t);
}

static void apply_answer(chat *c, const char *text)
{
    pkc_node_invitation inv;
    if (text[strspn(text, " ")] == 0)
        sayf(c, "-- /answer CODE: the answer link or code an invitee sent you");
    else if (pkc_node_invite_answer(c->node, text, &inv) != 0)
        sayf(c, "-- answer not applied: %s", pkc_errmsg());
    else
        sayf(c, "-- answer to invitation %s: connecting to %.*s", inv.id, SHORT_ID,
             inv.peer_id + 4);
}

static void handle_line(chat *c, char *line)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        line[--len] = 0;
    if (len == 0)
        return;
    if (c->history) {
        fprintf(c->history, "%s\n", line);
        fflush(c->history);
    }
    if (line[0] == '/' && line[1] != '/') {
        char *cmd = line + 1, *args = strchr(cmd, ' ');
        size_t cl = args ? (size_t)(args - cmd) : strlen(cmd);
        if (cl == 2 && strncmp(cmd, "to", 2) == 0)
            send_direct(c, args ? args : cmd + cl);
        else if (cl == 5 && strncmp(cmd, "peers", 5) == 0)
            show_peers(c);
        else if (cl == 6 && strncmp(cmd, "invite", 6) == 0)
            show_invite(c, args && strstr(args, "once") != NULL);
        else if (cl == 6 && strncmp(cmd, "answer", 6) == 0)
            apply_answer(c, args ? args : "");
        else if (cl == 4 && strncmp(cmd, "help", 4) == 0)
            say(c, "", chat_commands, strlen(chat_commands));
        else if ((cl == 4 && strncmp(cmd, "quit", 4) == 0) ||
                 (cl == 4 && strncmp(cmd, "exit", 4) == 0))
            c->quit = 1;
        else
            sayf(c, "-- unknown command /%.*s (/help lists them)", (int)(cl > 40 ? 40 : cl), cmd);
        return;
    }
    const char *text = line[0] == '/' ? line + 1 : line;
    /* Shown by the message callback once it is stored (as "you"). */
    if (pkc_node_broadcast(c->node, c->room, text, strlen(text), NULL) != 0)
        sayf(c, "-- not sent: %s", pkc_errmsg());
}

/* Line mode: whole lines from stdin, however they come. Returns -1 at the
 * end of input. */
static int read_lines(chat *c)
{
    if (c->in == NULL && (c->in = malloc(LINE_IN_MAX + 1)) == NULL)
        return -1;
    ssize_t r = read(0, c->in + c->in_len, LINE_IN_MAX - c->in_len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (r <= 0) {
        if (c->in_len) {
            c->in[c->in_len] = 0;
            c->in_len = 0;
            handle_line(c, c->in);
        }
        return -1;
    }
    c->in_len += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < c->in_len && !c->quit; i++) {
        if (c->in[i] != '\n')
            continue;
        c->in[i] = 0;
        handle_line(c, c->in + start);
        start = i + 1;
    }
    if (start == 0 && c->in_len == LINE_IN_MAX) {
        sayf(c, "-- a line of more than %d bytes: not sent", LINE_IN_MAX);
        c->in_len = 0;
        return 0;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    return 0;
}

/* ---- the start ----------------------------------------------------------------------------------
 */

static int backlog_each(void *ud, const pkc_node_message *m)
{
    chat *c = ud;
    know(c, m->from);
    if (c->n_backlog == BACKLOG) {
        /* Full: the oldest goes. */
        free(c->backlog[0].text);
        memmove(c->backlog, c->backlog + 1, (BACKLOG - 1) * sizeof c->backlog[0]);
        c->n_backlog--;
    }
    struct backlog *b = &c->backlog[c->n_backlog++];
    memset(b, 0, sizeof *b);
    snprintf(b->from, sizeof b->from, "%s", m->from);
    b->direct = m->direct;
    b->time_ms = m->time_ms;
    if ((b->text = malloc(m->len + 1)) != NULL) {
        memcpy(b->text, m->data, m->len);
        b->len = m->len;
    }
    return 0;
}

/* The chat's room: ROOM (an id, a name, "local"), else the node's default
 * room: the first private room of the settings (--room first), else the
 * local room, else the first room. */
static int pick_room(chat *c, const cli_node_settings *s, const char *spec)
{
    pkc_node_room_info rooms[CLI_ROOMS_MAX];
    size_t nr = pkc_node_get_rooms(c->node, rooms, CLI_ROOMS_MAX);
    if (nr > CLI_ROOMS_MAX)
        nr = CLI_ROOMS_MAX;
    if (nr == 0) {
        fprintf(stderr, "pkc: in no room: the local room is off (--no-local) and no --room "
                        "given\n");
        return CLI_FAIL;
    }
    const char *want = NULL;
    char id[17];
    if (spec) {
        want = spec;
    } else if (s->n_rooms) {
        /* The id of a passphrase: joining again derives it (it is joined). */
        int e = pkc_node_join(c->node, s->rooms[0], NULL, id);
        if (e != 0 && e != PKC_ERR_EXISTS)
            return cli_fail("room", e);
        want = id;
    } else if (s->local_room) {
        want = "local";
    } else {
        want = rooms[0].id;
    }
    for (size_t i = 0; i < nr; i++) {
        if ((rooms[i].local && strcmp(want, "local") == 0) || strcmp(want, rooms[i].id) == 0 ||
            strcmp(want, rooms[i].name) == 0) {
            memcpy(c->room, rooms[i].id, sizeof c->room);
            c->room[sizeof c->room - 1] = 0;
            memcpy(c->room_name, rooms[i].name, sizeof c->room_name);
            c->room_name[sizeof c->room_name - 1] = 0;
            return CLI_OK;
        }
    }
    fprintf(stderr, "pkc: not in a room '%s'; the node is in:", want);
    for (size_t i = 0; i < nr; i++)
        fprintf(stderr, " %s (%s)", rooms[i].name, rooms[i].id);
    fprintf(stderr, "\n");
    return CLI_FAIL;
}

/* The history of what was typed, DATA/chat_history (0600): the last
 * HISTORY_KEEP lines come back with Up; the file is cut back to those when
 * it has grown to twice as many. */
static void load_history(chat *c, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, HISTORY_FILE);
    char **all = calloc(2 * HISTORY_KEEP, sizeof *all);
    size_t count = 0, first = 0;
    FILE *f = all ? fopen(path, "r") : NULL;
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0) {
            if (line[n - 1] == '\n')
                line[n - 1] = 0;
            size_t slot = (first + count) % (2 * HISTORY_KEEP);
            if (count == 2 * HISTORY_KEEP) {
                free(all[first]);
                first = (first + 1) % (2 * HISTORY_KEEP);
            } else {
                count++;
            }
            all[slot] = strdup(line);
        }
        free(line);
        fclose(f);
    }
    size_t from = count > HISTORY_KEEP ? count - HISTORY_KEEP : 0;
    for (size_t i = from; i < count; i++) {
        const char *l = all[(first + i) % (2 * HISTORY_KEEP)];
        if (l)
            lined_history_add(c->ed, l);
    }
    c->history = fopen(path, count == 2 * HISTORY_KEEP ? "w" : "a");
    if (c->history) {
        fchmod(fileno(c->history), 0600);
        if (count == 2 * HISTORY_KEEP) {
            for (size_t i = from; i < count; i++) {
                const char *l = all[(first + i) % (2 * HISTORY_KEEP)];
                if (l)
                    fprintf(c->history, "%s\n", l);
            }
            fflush(c->history);
        }
    }
    for (size_t i = 0; all && i < 2 * HISTORY_KEEP; i++)
        free(all[i]);
    free(all);
}

static const char chat_help[] =
    "Runs this peer's node in the foreground, as pkc up does (the same settings:\n"
    "DATA/config.json, the environment, the flags below), and chats in one room:\n"
    "messages as they arrive with who and when, peers joining and leaving, direct\n"
    "messages and their receipts. ROOM (an id, a name, or 'local'; see pkc rooms)\n"
    "chooses the room; by default the first --room given, else the node's default\n"
    "room. On a terminal the input line stays at the bottom, with line editing and\n"
    "history; when stdin or stdout is not a terminal it reads lines and prints\n"
    "events, one per line. Type /help in the chat for its commands and keys.\n"
    "\n"
    "  --room PHRASE      join the private room of passphrase PHRASE and chat there\n"
    "  --no-local         stay out of the local room             PKC_LOCAL_ROOM=0\n"
    "  --no-lan           no LAN announcements                   PKC_LAN=0\n"
    "  --port N           UDP port of every connection (0: any)  PKC_PORT\n"
    "  --max-peers N      neighbours per room, 1..32 (default 8) PKC_MAX_PEERS\n"
    "  --stun HOST:PORT   a STUN server (repeatable)             PKC_STUN (comma list)\n";

static int run_chat(int argc, char **argv)
{
    cli_node_settings s;
    int rc = cli_node_settings_read("chat", argc, argv, 0, 1, 1, &s);
    if (rc) {
        cli_node_settings_free(&s);
        return rc < 0 ? CLI_OK : rc;
    }
    const char *spec = optind < argc ? argv[optind] : NULL;
    setlocale(LC_CTYPE, "");
    chat c;
    memset(&c, 0, sizeof c);
    /* Signals are read from a signalfd in the loop; blocked before the node
     * makes any thread so that every thread has them blocked. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGWINCH);
    sigaddset(&mask, SIGCONT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    pkc_node_callbacks cb = {on_peer, on_message, on_delivered, NULL, on_invite, on_sync};
    if ((rc = cli_node_create(&s, &cb, &c, &c.node)) != CLI_OK)
        goto out;
    c.self = pkc_node_get_peer_id(c.node);
    if ((rc = pick_room(&c, &s, spec)) != CLI_OK)
        goto out;
    int e = pkc_node_open(c.node);
    if (e) {
        rc = cli_fail("node", e);
        goto out;
    }
    if (pkc_node_inbox(c.node, c.room, 0, 0, backlog_each, &c) != 0)
        c.n_backlog = 0;
    snprintf(c.prompt, sizeof c.prompt, "[%.20s] ", c.room_name);
    c.ed = lined_new(0, 1, c.prompt);
    if (c.ed)
        load_history(&c, s.data_dir);
    sayf(&c, "pkc chat: room %s (%s), UDP port %u%s", c.room_name, c.room,
         pkc_node_get_port(c.node), s.lan ? "" : ", LAN announcements off");
    sayf(&c, "you are %s (%.*s)", c.self, SHORT_ID, c.self + 4);
    if (s.invite)
        show_invite(&c, 0);
    if (c.n_backlog) {
        sayf(&c, "-- the last %zu message%s of the room:", c.n_backlog,
             c.n_backlog == 1 ? "" : "s");
        for (size_t i = 0; i < c.n_backlog; i++) {
            struct backlog *b = &c.backlog[i];
            if (b->text == NULL)
                continue;
            pkc_node_message m;
            memset(&m, 0, sizeof m);
            m.from = b->from;
            m.room = c.room;
            m.direct = b->direct;
            m.time_ms = b->time_ms;
            show_message(&c, &m, (const uint8_t *)b->text, b->len);
        }
    }
    sayf(&c, "-- /to PEER TEXT for one peer, /peers, /invite, /help; /quit or Ctrl-D to leave");
    int nfd = pkc_node_get_fd(c.node), stdin_open = 1;
    while (!c.quit) {
        struct pollfd p[3] = {{sfd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {nfd, POLLIN, 0}};
        int r = poll(p, 3, pkc_node_get_timeout(c.node));
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 && (p[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGWINCH) {
                    if (c.ed)
                        lined_resize(c.ed);
                } else if (si.ssi_signo == SIGCONT) {
                    if (c.ed)
                        lined_resume(c.ed);
                } else {
                    break;
                }
            }
        }
        if (r > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (c.ed) {
                if (lined_read(c.ed) < 0)
                    break;
                char *line;
                int k;
                while (!c.quit && (k = lined_next(c.ed, &line)) != LINED_NONE) {
                    if (k == LINED_LINE) {
                        lined_history_add(c.ed, line);
                        handle_line(&c, line);
                        free(line);
                    } else {
                        c.quit = 1;
                    }
                }
            } else if (read_lines(&c) < 0) {
                stdin_open = 0;
                c.quit = 1;
            }
        }
        if (pkc_node_process(c.node) == PKC_ERR_CLOSED)
            break;
    }
    if (c.ed) {
        lined_free(c.ed);
        c.ed = NULL;
    }
    fprintf(stderr, "pkc: leaving the room\n");
    rc = CLI_OK;
out:
    pkc_node_stop(c.node);
    pkc_node_free(c.node);
    lined_free(c.ed);
    if (c.history)
        fclose(c.history);
    for (size_t i = 0; i < c.n_backlog; i++)
        free(c.backlog[i].text);
    free(c.known);
    free(c.in);
    if (sfd >= 0)
        close(sfd);
    cli_node_settings_free(&s);
    return rc;
}

CLI_COMMAND(chat, 19, "[--room PHRASE] [--no-local] [--no-lan] [--port N] [ROOM]",
            "chat in a room, in the terminal (runs the node)", chat_help, run_chat)
