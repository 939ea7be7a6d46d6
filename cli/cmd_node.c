/* cmd_node.c: pkc up (the node in the foreground) and the commands that talk
 * to a running node over its control socket: status, peers, rooms, send,
 * inbox, doc (docs/cli.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control_client.h"
#include "progress.h"
#include "qr.h"

#define CONFIG_FILE "config.json"
#define ROOMS_MAX CLI_ROOMS_MAX
#define STUN_MAX CLI_STUN_MAX

typedef cli_node_settings settings;

static int add_room(settings *s, const char *phrase)
{
    if (s->n_rooms >= ROOMS_MAX) {
        fprintf(stderr, "pkc: at most %d rooms\n", ROOMS_MAX);
        return -1;
    }
    s->rooms[s->n_rooms++] = phrase;
    return 0;
}

static int add_stun(settings *s, const char *server)
{
    if (s->n_stun >= STUN_MAX) {
        fprintf(stderr, "pkc: at most %d STUN servers\n", STUN_MAX);
        return -1;
    }
    s->stun[s->n_stun++] = server;
    return 0;
}

static int add_str(const char **list, size_t *n, const char *v, const char *what)
{
    if (*n >= 8) {
        fprintf(stderr, "pkc: at most 8 %s\n", what);
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

static int read_config_file(settings *s, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, CONFIG_FILE);
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    if (o == NULL) {
        if (access(path, F_OK) != 0)
            return 0;
        fprintf(stderr, "pkc: %s: line %d: %s\n", path, err.line, err.text);
        return -1;
    }
    s->file = o;
    if (!json_is_object(o)) {
        fprintf(stderr, "pkc: %s: not a JSON object\n", path);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "rooms") == 0 && json_is_array(v)) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                if (!json_is_string(x) || add_room(s, json_string_value(x)))
                    goto bad;
            }
        } else if (strcmp(key, "stun") == 0 && json_is_array(v)) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                if (!json_is_string(x) || add_stun(s, json_string_value(x)))
                    goto bad;
            }
        } else if ((strcmp(key, "seeds") == 0 || strcmp(key, "doh_resolvers") == 0) &&
                   json_is_array(v)) {
            int seeds = key[0] == 's';
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                if (!json_is_string(x) ||
                    add_str(seeds ? s->seeds : s->doh, seeds ? &s->n_seeds : &s->n_doh,
                            json_string_value(x), seeds ? "seed domains" : "DoH resolvers"))
                    goto bad;
            }
        } else if (strcmp(key, "doh_cafile") == 0 && json_is_string(v)) {
            s->doh_cafile = json_string_value(v);
        } else if (strcmp(key, "local_room") == 0 && json_is_boolean(v)) {
            s->local_room = json_is_true(v);
        } else if (strcmp(key, "lan") == 0 && json_is_boolean(v)) {
            s->lan = json_is_true(v);
        } else if (strcmp(key, "port") == 0 && json_is_integer(v)) {
            s->port = (long)json_integer_value(v);
        } else if (strcmp(key, "max_peers") == 0 && json_is_integer(v)) {
            s->max_peers = (long)json_integer_value(v);
        } else {
        bad:
            fprintf(stderr,
                    "pkc: %s: bad or unknown setting \"%s\" (rooms: [strings], stun: [strings], "
                    "local_room: bool, lan: bool, port: int, max_peers: int, seeds: [strings], "
                    "doh_resolvers: [strings], doh_cafile: string)\n",
                    path, key);
            return -1;
        }
    }
    return 0;
}

static int env_bool(const char *name, int *out)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == 0)
        return 0;
    if (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
        *out = 0;
    else {
        fprintf(stderr, "pkc: %s must be 0 or 1, got '%s'\n", name, v);
        return -1;
    }
    return 0;
}

static int parse_long(const char *what, const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "pkc: %s must be a number from %ld to %ld, got '%s'\n", what, min, max,
                text);
        return -1;
    }
    *out = v;
    return 0;
}

static int read_env(settings *s)
{
    const char *v;
    if ((v = getenv("PKC_ROOM")) && v[0] && add_room(s, v))
        return -1;
    if ((v = getenv("PKC_STUN")) && v[0]) {
        s->env_copy = strdup(v);
        if (s->env_copy == NULL)
            return -1;
        for (char *save = NULL, *t = strtok_r(s->env_copy, ",", &save); t;
             t = strtok_r(NULL, ",", &save))
            if (add_stun(s, t))
                return -1;
    }
    if (env_bool("PKC_LAN", &s->lan) || env_bool("PKC_LOCAL_ROOM", &s->local_room))
        return -1;
    if ((v = getenv("PKC_PORT")) && v[0] && parse_long("PKC_PORT", v, 0, 65535, &s->port))
        return -1;
    if ((v = getenv("PKC_MAX_PEERS")) && v[0] &&
        parse_long("PKC_MAX_PEERS", v, 1, 32, &s->max_peers))
        return -1;
    return 0;
}

/* ---- pkc up ------------------------------------------------------------------------------------- */

static const char up_help[] =
    "Runs this peer's node in the foreground until Ctrl-C (SIGINT) or SIGTERM.\n"
    "It joins the local room (every pkc node on this host and LAN) and the\n"
    "private rooms given, finds peers by LAN announcements, connects, and prints\n"
    "what happens: peers found, connected and gone, messages as they arrive.\n"
    "Each line typed on stdin is sent to the default room; a line\n"
    "'/to PEER TEXT' sends TEXT to one peer only.\n"
    "\n"
    "Settings come from DATA/config.json, then the environment, then flags:\n"
    "  --room PHRASE      join the private room of passphrase PHRASE (at least 8\n"
    "                     characters; repeatable; remembered)      PKC_ROOM\n"
    "  --no-local         stay out of the local room             PKC_LOCAL_ROOM=0\n"
    "  --no-lan           no LAN announcements                   PKC_LAN=0\n"
    "  --port N           UDP port of every connection (0: any)  PKC_PORT\n"
    "  --max-peers N      neighbours per room, 1..32 (default 8) PKC_MAX_PEERS\n"
    "  --stun HOST:PORT   a STUN server (repeatable)             PKC_STUN (comma list)\n"
    "  --seed DOMAIN      find the seeds of our rooms published at _pkc.DOMAIN and\n"
    "                     dial them (repeatable; config \"seeds\")\n"
    "  --doh URL          a DNS over HTTPS resolver for --seed, tried in order\n"
    "                     (repeatable; config \"doh_resolvers\")\n"
    "  --doh-cafile FILE  the CAs to trust for them (config \"doh_cafile\")\n"
    "  --invite           show an invitation to the default room (link, QR code)\n"
    "  --json             events as JSON lines on stdout\n";

static volatile int up_json;
/* Sync progress is drawn on stdout when it is a terminal (not --json): one
 * line redrawn with '\r', erased before any other line. */
static int up_progress, up_progress_shown;

static void up_progress_erase(void)
{
    if (up_progress_shown) {
        fputs("\r\x1b[K", stdout);
        up_progress_shown = 0;
    }
}

static void print_time(FILE *f)
{
    up_progress_erase();
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    fprintf(f, "%02d:%02d:%02d ", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void on_invite(void *ud, pkc_node *node, const pkc_node_invite_event *ev)
{
    (void)ud;
    (void)node;
    static const char *const outcome[] = {"", "used", "joined", "refused"};
    if (up_json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "event", "invite", "outcome",
                              outcome[ev->outcome], "id", ev->invite_id, "room", ev->room, "peer",
                              ev->peer_id, "reason", ev->reason);
        if (o) {
            char *t = json_dumps(o, JSON_COMPACT);
            if (t)
                printf("%s\n", t);
            free(t);
            json_decref(o);
        }
    } else {
        print_time(stdout);
        if (ev->outcome == PKC_NODE_INVITE_USED)
            printf("%s joined room %s with invitation %s\n", ev->peer_id, ev->room,
                   ev->invite_id);
        else if (ev->outcome == PKC_NODE_INVITE_JOINED)
            printf("invitation %s: connected to the inviter %s, in room %s\n", ev->invite_id,
                   ev->peer_id, ev->room);
        else
            printf("invitation %s refused by %s: %s\n", ev->invite_id, ev->peer_id, ev->reason);
    }
    fflush(stdout);
}

static void on_sync(void *ud, pkc_node *node, const pkc_node_sync_event *ev)
{
    (void)ud;
    (void)node;
    if (up_json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "event", "sync", "room",
                              ev->room, "doc", ev->doc, "peer", ev->peer_id, "received",
                              (json_int_t)ev->received, "total", (json_int_t)ev->total, "done",
                              ev->done);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (t)
            printf("%s\n", t);
        free(t);
        json_decref(o);
    } else if (up_progress) {
        char text[400];
        cli_sync_text(text, sizeof text, ev->doc, ev->peer_id, ev->received, ev->total, ev->done);
        if (ev->done) {
            print_time(stdout);
            printf("%s\n", text);
        } else {
            printf("\r%s\x1b[K", text);
            up_progress_shown = 1;
        }
    } else {
        return; /* piped: the change itself is reported as a doc event */
    }
    fflush(stdout);
}

static void on_peer(void *ud, pkc_node *node, const pkc_node_peer_event *ev)
{
    (void)ud;
    (void)node;
    if (up_json) {
        printf("{\"event\":\"%s\",\"peer\":\"%s\",\"room\":\"%s\"}\n",
               ev->connected ? "connected" : "disconnected", ev->peer_id, ev->room);
    } else {
        print_time(stdout);
        printf("%s %s (room %s)\n", ev->peer_id, ev->connected ? "connected" : "disconnected",
               ev->room);
    }
    fflush(stdout);
}

static void on_message(void *ud, pkc_node *node, const pkc_node_message *m)
{
    (void)ud;
    if (strcmp(m->from, pkc_node_get_peer_id(node)) == 0)
        return; /* what we typed */
    if (up_json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I}", "event", "message", "from", m->from,
                              "room", m->room, "direct", m->direct, "time_ms",
                              (json_int_t)m->time_ms);
        json_t *t = json_stringn((const char *)m->data, m->len);
        json_object_set_new(o, "text", t ? t : json_null());
        char *s = json_dumps(o, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        print_time(stdout);
        printf("%s%s: %.*s\n", m->from, m->direct ? " (to you)" : "", (int)m->len,
               (const char *)m->data);
    }
    fflush(stdout);
}

static void on_delivered(void *ud, pkc_node *node, const uint8_t id[PKC_MSG_ID_BYTES])
{
    (void)ud;
    (void)node;
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    if (up_json)
        printf("{\"event\":\"delivered\",\"id\":\"%s\"}\n", hex);
    else {
        print_time(stdout);
        printf("delivered %s\n", hex);
    }
    fflush(stdout);
}

static void on_doc(void *ud, pkc_node *node, const char *room, const char *doc, int local)
{
    (void)ud;
    (void)node;
    if (local)
        return;
    if (up_json)
        printf("{\"event\":\"doc\",\"room\":\"%s\",\"doc\":\"%s\"}\n", room, doc);
    else {
        print_time(stdout);
        printf("document %s changed (room %s)\n", doc, room);
    }
    fflush(stdout);
}

static void handle_line(pkc_node *node, char *line)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = 0;
    if (len == 0)
        return;
    int rc;
    if (strncmp(line, "/to ", 4) == 0) {
        char *peer = line + 4;
        char *sp = strchr(peer, ' ');
        if (sp == NULL) {
            fprintf(stderr, "pkc: usage: /to PEER TEXT\n");
            return;
        }
        *sp = 0;
        rc = pkc_node_send(node, NULL, peer, sp + 1, strlen(sp + 1), NULL);
    } else {
        rc = pkc_node_broadcast(node, NULL, line, len, NULL);
    }
    if (rc)
        fprintf(stderr, "pkc: not sent: %s\n", pkc_errmsg());
}

int cli_node_settings_read(const char *cmd, int argc, char **argv, int json_ok, int max_operands,
                           int flag_rooms_first, cli_node_settings *out)
{
    enum {
        O_ROOM = 1,
        O_NO_LOCAL,
        O_NO_LAN,
        O_PORT,
        O_MAX_PEERS,
        O_STUN,
        O_JSON,
        O_INVITE,
        O_SEED,
        O_DOH,
        O_DOH_CAFILE
    };
    static const struct option opts[] = {{"room", required_argument, NULL, O_ROOM},
                                         {"no-local", no_argument, NULL, O_NO_LOCAL},
                                         {"no-lan", no_argument, NULL, O_NO_LAN},
                                         {"port", required_argument, NULL, O_PORT},
                                         {"max-peers", required_argument, NULL, O_MAX_PEERS},
                                         {"stun", required_argument, NULL, O_STUN},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"invite", no_argument, NULL, O_INVITE},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"doh", required_argument, NULL, O_DOH},
                                         {"doh-cafile", required_argument, NULL, O_DOH_CAFILE},
                                         CLI_COMMON_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    settings *s = out;
    memset(s, 0, sizeof *s);
    s->local_room = 1;
    s->lan = 1;
    s->max_peers = 8;
    /* Flags are read after the file and the environment, but --data must be
     * known first: a first pass for the common options only. */
    settings flags;
    memset(&flags, 0, sizeof flags);
    flags.local_room = flags.lan = -1;
    flags.port = flags.max_peers = -1;
    int opt;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        int r = cli_common_option(opt, optarg);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        switch (opt) {
        case O_ROOM:
            if (add_room(&flags, optarg))
                return CLI_USAGE;
            break;
        case O_NO_LOCAL:
            flags.local_room = 0;
            break;
        case O_NO_LAN:
            flags.lan = 0;
            break;
        case O_PORT:
            if (parse_long("--port", optarg, 0, 65535, &flags.port))
                return CLI_USAGE;
            break;
        case O_MAX_PEERS:
            if (parse_long("--max-peers", optarg, 1, 32, &flags.max_peers))
                return CLI_USAGE;
            break;
        case O_STUN:
            if (add_stun(&flags, optarg))
                return CLI_USAGE;
            break;
        case O_INVITE:
            s->invite = 1;
            break;
        case O_SEED:
            if (add_str(flags.seeds, &flags.n_seeds, optarg, "seed domains"))
                return CLI_USAGE;
            break;
        case O_DOH:
            if (add_str(flags.doh, &flags.n_doh, optarg, "DoH resolvers"))
                return CLI_USAGE;
            break;
        case O_DOH_CAFILE:
            flags.doh_cafile = optarg;
            break;
        case O_JSON:
            if (!json_ok)
                return cli_usage_error(cmd, "unknown option '--json'");
            flags.json = 1;
            break;
        default:
            return cli_usage_error(cmd, "unknown option");
        }
    }
    if (cli_g.help) {
        cli_print_help(stdout, cli_find(cmd));
        return -1;
    }
    if (argc - optind > max_operands)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + max_operands]);
    const char *dir = cli_data_dir();
    if (dir == NULL)
        return CLI_FAIL;
    s->data_dir = dir;
    /* The rooms of the flags first when they must decide the default room
     * (the node's default room is the first of its configuration). */
    if (flag_rooms_first)
        for (size_t i = 0; i < flags.n_rooms; i++)
            if (add_room(s, flags.rooms[i]))
                return CLI_USAGE;
    if (read_config_file(s, dir) || read_env(s))
        return CLI_FAIL;
    if (!flag_rooms_first)
        for (size_t i = 0; i < flags.n_rooms; i++)
            if (add_room(s, flags.rooms[i]))
                return CLI_USAGE;
    for (size_t i = 0; i < flags.n_stun; i++)
        if (add_stun(s, flags.stun[i]))
            return CLI_USAGE;
    if (flags.local_room >= 0)
        s->local_room = flags.local_room;
    if (flags.lan >= 0)
        s->lan = flags.lan;
    if (flags.port >= 0)
        s->port = flags.port;
    if (flags.max_peers >= 0)
        s->max_peers = flags.max_peers;
    for (size_t i = 0; i < flags.n_seeds; i++)
        if (add_str(s->seeds, &s->n_seeds, flags.seeds[i], "seed domains"))
            return CLI_USAGE;
    /* Resolvers given as flags replace those of the file. */
    if (flags.n_doh) {
        memcpy(s->doh, flags.doh, sizeof s->doh);
        s->n_doh = flags.n_doh;
    }
    if (flags.doh_cafile)
        s->doh_cafile = flags.doh_cafile;
    s->json = flags.json;
    return CLI_OK;
}

void cli_node_settings_free(cli_node_settings *s)
{
    json_decref((json_t *)s->file);
    s->file = NULL;
    free(s->env_copy);
    s->env_copy = NULL;
}

int cli_node_create(const cli_node_settings *s, const pkc_node_callbacks *cb, void *user_data,
                    pkc_node **out)
{
    pkc_node_config cfg;
    pkc_node_config_default(&cfg);
    cfg.data_dir = s->data_dir;
    cfg.local_room = s->local_room;
    cfg.lan = s->lan;
    cfg.rooms = s->rooms;
    cfg.n_rooms = s->n_rooms;
    cfg.stun_servers = s->stun;
    cfg.n_stun_servers = s->n_stun;
    cfg.port = (uint16_t)s->port;
    cfg.max_peers = (unsigned)s->max_peers;
    cfg.seed_domains = s->seeds;
    cfg.n_seed_domains = s->n_seeds;
    cfg.doh_resolvers = s->doh;
    cfg.n_doh_resolvers = s->n_doh;
    cfg.doh_ca_file = s->doh_cafile;
    int e = pkc_node_new(&cfg, cb, user_data, out);
    if (e == PKC_ERR_AGAIN) {
        fprintf(stderr,
                "pkc: a node already runs on %s (pkc up or pkc chat, in another terminal).\n"
                "  Stop it (Ctrl-C there) and try again, or talk through it: pkc --data %s send "
                "TEXT, pkc --data %s inbox --follow.\n"
                "  To be a second peer on this machine, give another data directory: --data DIR.\n",
                s->data_dir, s->data_dir, s->data_dir);
        return CLI_FAIL;
    }
    if (e)
        return cli_fail("node", e);
    return CLI_OK;
}

static int run_up(int argc, char **argv)
{
    settings s;
    int rc = cli_node_settings_read("up", argc, argv, 1, 0, 0, &s);
    if (rc) {
        cli_node_settings_free(&s);
        return rc < 0 ? CLI_OK : rc;
    }
    const char *dir = s.data_dir;
    up_json = s.json;
    up_progress = !s.json && cli_progress_on(STDOUT_FILENO);
    pkc_node_callbacks cb = {on_peer, on_message, on_delivered, on_doc, on_invite, on_sync};
    pkc_node *node;
    if ((rc = cli_node_create(&s, &cb, NULL, &node)) != CLI_OK)
        goto out;
    int e;
    rc = CLI_FAIL;
    /* Signals are taken by a signalfd on this thread; the node's thread
     * inherits the blocked mask. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if ((e = pkc_node_start(node)) != 0) {
        rc = cli_fail("node", e);
        pkc_node_free(node);
        if (sfd >= 0)
            close(sfd);
        goto out;
    }
    pkc_node_room_info rooms[ROOMS_MAX];
    size_t nr = pkc_node_get_rooms(node, rooms, ROOMS_MAX);
    if (up_json) {
        json_t *a = json_array();
        for (size_t i = 0; i < nr && i < ROOMS_MAX; i++)
            json_array_append_new(a, json_pack("{s:s, s:s}", "id", rooms[i].id, "name",
                                               rooms[i].name));
        json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:o}", "event", "up", "peer_id",
                              pkc_node_get_peer_id(node), "port", (int)pkc_node_get_port(node),
                              "data_dir", dir, "rooms", a);
        char *j = json_dumps(o, JSON_COMPACT);
        printf("%s\n", j ? j : "{}");
        free(j);
        json_decref(o);
    } else {
        printf("pkc %s up\n  peer id: %s\n  data:    %s\n  UDP port %u\n  rooms:  ", pkc_version(),
               pkc_node_get_peer_id(node), dir, pkc_node_get_port(node));
        for (size_t i = 0; i < nr && i < ROOMS_MAX; i++)
            printf(" %s (%s)", rooms[i].name, rooms[i].id);
        /* The command as this shell can run it (make run uses ./build/pkc). */
        char self[4096];
        ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
        if (sl <= 0)
            snprintf(self, sizeof self, "pkc");
        else
            self[sl] = 0;
        printf("%s\nLooking for peers on this host and the LAN%s.\n"
               "Type a line to send it to the room; '/to PEER TEXT' for one peer; Ctrl-C "
               "to stop.\n"
               "In another terminal: %s --data %s status | peers | inbox | doc ... "
               "(help: %s help).\n",
               nr ? "" : " none (the local room is off and no --room given)",
               s.lan ? "" : " (LAN announcements off: --no-lan)", self, dir, self);
        for (size_t i = 0; i < s.n_seeds; i++)
            printf("Looking for the DNS seeds of %s (_pkc.%s) over DNS over HTTPS.\n", s.seeds[i],
                   s.seeds[i]);
    }
    if (s.invite && !up_json) {
        char *t = NULL;
        if (cli_invitation_text(node, NULL, 0, qr_term_want_color(STDOUT_FILENO), &t) == CLI_OK)
            fputs(t, stdout);
        else
            fprintf(stderr, "pkc: no invitation: %s\n", pkc_errmsg());
        free(t);
    }
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    int stdin_open = 1;
    for (;;) {
        struct pollfd p[2] = {{sfd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents & POLLIN)
            break;
        if (p[1].revents & (POLLIN | POLLHUP)) {
            if (getline(&line, &cap, stdin) < 0)
                stdin_open = 0;
            else
                handle_line(node, line);
        }
    }
    free(line);
    if (!up_json) {
        up_progress_erase();
        fflush(stdout);
        fprintf(stderr, "pkc: stopping\n");
    }
    pkc_node_free(node);
    if (sfd >= 0)
        close(sfd);
    rc = CLI_OK;
out:
    cli_node_settings_free(&s);
    return rc;
}

CLI_COMMAND(up, 20,
            "[--room PHRASE] [--no-local] [--no-lan] [--port N] [--seed DOMAIN --doh URL] [--json]",
            "run this peer's node in the foreground", up_help, run_up)

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s)
        printf("%s\n", s);
    free(s);
    fflush(stdout);
}

/* Parses the options every client command takes: --json, --room R. */
static int client_options(const char *cmd, int argc, char **argv, int *json, const char **room,
                          const char **to, int *follow)
{
    enum { O_JSON = 1, O_ROOM, O_TO, O_FOLLOW };
    static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                         {"room", required_argument, NULL, O_ROOM},
                                         {"to", required_argument, NULL, O_TO},
                                         {"follow", no_argument, NULL, O_FOLLOW},
                                         CLI_COMMON_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "f" CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        int r = cli_common_option(opt, optarg);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (opt == O_JSON)
            *json = 1;
        else if (opt == O_ROOM)
            *room = optarg;
        else if (opt == O_TO && to)
            *to = optarg;
        else if ((opt == O_FOLLOW || opt == 'f') && follow)
            *follow = 1;
        else
            return cli_usage_error(cmd, "unknown option");
    }
    if (cli_g.help) {
        cli_print_help(stdout, cli_find(cmd));
        return -1;
    }
    return CLI_OK;
}

static int run_status(int argc, char **argv)
{
    int json = 0;
    const char *room = NULL;
    int rc = client_options("status", argc, argv, &json, &room, NULL, NULL);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind < argc)
        return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
    cli_conn c;
    json_t *o = cli_control_call(json_pack("{s:s}", "cmd", "status"), &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    json_object_del(o, "ok");
    if (json) {
        print_json(o);
    } else {
        json_t *m = json_object_get(o, "metrics");
        json_t *net = json_object_get(m, "network"), *sync = json_object_get(m, "sync"),
               *health = json_object_get(m, "health"), *msgs = json_object_get(m, "messages");
        printf("peer id:  %s\ndata:     %s\nUDP port: %lld\n",
               json_string_value(json_object_get(o, "peer_id")),
               json_string_value(json_object_get(o, "data_dir")),
               (long long)json_integer_value(json_object_get(o, "port")));
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(o, "rooms"), i, r)
        {
            printf("room:     %s (%s): %lld peers, %lld known, %lld documents\n",
                   json_string_value(json_object_get(r, "name")),
                   json_string_value(json_object_get(r, "id")),
                   (long long)json_integer_value(json_object_get(r, "peers")),
                   (long long)json_integer_value(json_object_get(r, "known")),
                   (long long)json_integer_value(json_object_get(r, "docs")));
        }
        double lat = json_real_value(json_object_get(net, "average_latency_ms"));
        char lat_text[32];
        if (lat < 0)
            snprintf(lat_text, sizeof lat_text, "unknown");
        else
            snprintf(lat_text, sizeof lat_text, "%.2f ms", lat);
        printf("network:  %lld connected, %lld connections in all, %.1f messages/s, %.0f B/s, "
               "latency %s\n",
               (long long)json_integer_value(json_object_get(net, "connected_peers")),
               (long long)json_integer_value(json_object_get(net, "total_connections")),
               json_real_value(json_object_get(net, "messages_per_second")),
               json_real_value(json_object_get(net, "bytes_per_second")),
               lat_text);
        json_int_t last = json_integer_value(json_object_get(sync, "last_sync_ms"));
        char last_text[48] = "never";
        if (last > 0) {
            time_t t = (time_t)(last / 1000);
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(last_text, sizeof last_text, "at %H:%M:%S", &tm);
        }
        printf("sync:     %lld bytes of state, %lld documents waiting, %lld conflicts resolved, "
               "last sync %s\n",
               (long long)json_integer_value(json_object_get(sync, "state_bytes")),
               (long long)json_integer_value(json_object_get(sync, "pending_updates")),
               (long long)json_integer_value(json_object_get(sync, "conflicts_resolved")),
               last_text);
        printf("health:   %s, up %.1f s, %lld reconnections, %lld errors%s%s\n",
               json_string_value(json_object_get(health, "status")),
               json_integer_value(json_object_get(health, "uptime_ms")) / 1000.0,
               (long long)json_integer_value(json_object_get(health, "reconnections")),
               (long long)json_integer_value(json_object_get(health, "errors")),
               json_string_length(json_object_get(health, "last_error")) ? ", last: " : "",
               json_string_value(json_object_get(health, "last_error")));
        printf("messages: %lld received, %lld sent, %lld waiting in the outbox\n",
               (long long)json_integer_value(json_object_get(msgs, "received")),
               (long long)json_integer_value(json_object_get(msgs, "sent")),
               (long long)json_integer_value(json_object_get(msgs, "outbox_pending")));
    }
    json_decref(o);
    cli_control_close(&c);
    return CLI_OK;
}

CLI_COMMAND(status, 21, "[--json]", "how the running node and its network are doing", NULL,
            run_status)

static int run_list(const char *cmd, int argc, char **argv)
{
    int json = 0;
    const char *room = NULL;
    int rc = client_options(cmd, argc, argv, &json, &room, NULL, NULL);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    cli_conn c;
    json_t *o = cli_control_call(json_pack("{s:s}", "cmd", cmd), &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    json_t *a = json_object_get(o, cmd);
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x)
    {
        if (json) {
            print_json(x);
        } else if (strcmp(cmd, "peers") == 0) {
            double rtt = json_real_value(json_object_get(x, "rtt_ms"));
            char rtt_text[32];
            if (rtt < 0)
                snprintf(rtt_text, sizeof rtt_text, "rtt ?");
            else
                snprintf(rtt_text, sizeof rtt_text, "rtt %.2f ms", rtt);
            printf("%s  room %s  %s  %s  %s\n", json_string_value(json_object_get(x, "peer_id")),
                   json_string_value(json_object_get(x, "room")),
                   json_string_value(json_object_get(x, "address")),
                   json_is_true(json_object_get(x, "outbound")) ? "out" : "in", rtt_text);
        } else {
            printf("%s  %-20s %s%lld peers, %lld documents\n",
                   json_string_value(json_object_get(x, "id")),
                   json_string_value(json_object_get(x, "name")),
                   json_is_true(json_object_get(x, "local")) ? "(local) " : "",
                   (long long)json_integer_value(json_object_get(x, "peers")),
                   (long long)json_integer_value(json_object_get(x, "docs")));
        }
    }
    if (!json && json_array_size(a) == 0)
        printf("%s\n", strcmp(cmd, "peers") == 0 ? "no peers connected" : "in no room");
    json_decref(o);
    cli_control_close(&c);
    return CLI_OK;
}

static int run_peers(int argc, char **argv)
{
    return run_list("peers", argc, argv);
}

static int run_rooms(int argc, char **argv)
{
    return run_list("rooms", argc, argv);
}

CLI_COMMAND(peers, 22, "[--json]", "the running node's neighbours", NULL, run_peers)
CLI_COMMAND(rooms, 23, "[--json]", "the rooms the running node is in", NULL, run_rooms)

static int run_send(int argc, char **argv)
{
    int json = 0;
    const char *room = NULL, *to = NULL;
    int rc = client_options("send", argc, argv, &json, &room, &to, NULL);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind + 1 != argc)
        return cli_usage_error("send", "send takes one TEXT argument (quote it)");
    json_t *req = json_pack("{s:s, s:s}", "cmd", "send", "text", argv[optind]);
    if (req == NULL)
        return cli_usage_error("send", "TEXT must be UTF-8");
    if (room)
        json_object_set_new(req, "room", json_string(room));
    if (to)
        json_object_set_new(req, "to", json_string(to));
    cli_conn c;
    json_t *o = cli_control_call(req, &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    if (json) {
        json_object_del(o, "ok");
        print_json(o);
    } else {
        printf("%s %s\n", to ? "queued for delivery:" : "sent:",
               json_string_value(json_object_get(o, "id")));
    }
    json_decref(o);
    cli_control_close(&c);
    return CLI_OK;
}

static const char send_help[] =
    "Without --to, sends TEXT to everyone in the room (signed, encrypted with\n"
    "the room's key). With --to PEER, sends it to that peer only (sealed to it),\n"
    "through the mesh; it waits in the node's outbox until PEER acknowledges it,\n"
    "across restarts. Prints the message id.\n"
    "  --to PEER     one peer only\n"
    "  --room ROOM   'local', a room id or name (default: the node's default room)\n"
    "  --json        print {\"id\": ...}\n";

CLI_COMMAND(send, 24, "[--to PEER] [--room ROOM] [--json] TEXT", "send a message", send_help,
            run_send)

static void print_message(json_t *m, int json)
{
    if (json) {
        print_json(m);
        return;
    }
    time_t t = (time_t)(json_integer_value(json_object_get(m, "time_ms")) / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    const char *text = json_string_value(json_object_get(m, "text"));
    printf("%04d-%02d-%02d %02d:%02d:%02d %s%s: %s\n", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           json_string_value(json_object_get(m, "from")),
           json_is_true(json_object_get(m, "direct")) ? " (to you)" : "",
           text ? text : "(binary)");
    fflush(stdout);
}

static void inbox_each(json_t *m, void *ud)
{
    print_message(m, *(int *)ud);
}

static int run_inbox(int argc, char **argv)
{
    int json = 0, follow = 0;
    const char *room = NULL;
    int rc = client_options("inbox", argc, argv, &json, &room, NULL, &follow);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind < argc)
        return cli_usage_error("inbox", "unexpected argument '%s'", argv[optind]);
    json_t *req = json_pack("{s:s, s:b}", "cmd", "inbox", "follow", follow);
    if (room)
        json_object_set_new(req, "room", json_string(room));
    cli_conn c;
    json_t *o = cli_control_call(req, &c, &rc, inbox_each, &json);
    if (o == NULL)
        return rc;
    json_decref(o);
    if (follow) {
        signal(SIGPIPE, SIG_IGN);
        json_t *m;
        while ((m = cli_control_read(&c)) != NULL) {
            const char *ev = json_string_value(json_object_get(m, "event"));
            if (ev && strcmp(ev, "message") == 0)
                print_message(m, json);
            else if (json)
                print_json(m);
            json_decref(m);
        }
        fprintf(stderr, "pkc: the node stopped\n");
        cli_control_close(&c);
        return CLI_FAIL;
    }
    cli_control_close(&c);
    return CLI_OK;
}

static const char inbox_help[] =
    "Prints the messages the node stored, oldest first: time, sender, text.\n"
    "  --follow, -f  then print each new message (and peer events with --json)\n"
    "                as it arrives, until the node stops\n"
    "  --room ROOM   only this room's messages\n"
    "  --json        one JSON object per line: event, seq, id, from, room,\n"
    "                direct, time_ms, text\n";

CLI_COMMAND(inbox, 25, "[--follow] [--room ROOM] [--json]", "messages received", inbox_help,
            run_inbox)

static int run_doc(int argc, char **argv)
{
    int json = 0;
    const char *room = NULL;
    int rc = client_options("doc", argc, argv, &json, &room, NULL, NULL);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    int nargs = argc - optind;
    if (nargs < 2)
        return cli_usage_error("doc", "usage: pkc doc get|set|del|json|watch NAME [KEY] [VALUE]");
    const char *op = argv[optind], *name = argv[optind + 1];
    const char *key = nargs > 2 ? argv[optind + 2] : NULL;
    const char *value = nargs > 3 ? argv[optind + 3] : NULL;
    int presence = strcmp(op, "presence") == 0;
    if (presence) {
        /* presence NAME [JSON]: a value sets ours, none prints everyone's. */
        value = key;
        key = NULL;
    }
    int want = presence ? nargs : strcmp(op, "set") == 0 ? 4 : strcmp(op, "del") == 0 ? 3
               : strcmp(op, "get") == 0                              ? 3
               : strcmp(op, "json") == 0 || strcmp(op, "watch") == 0 ? 2
                                                                      : -1;
    if (want < 0)
        return cli_usage_error("doc",
                               "unknown doc operation '%s' (get, set, del, json, watch, presence)",
                               op);
    if (nargs != want || (presence && nargs > 3))
        return cli_usage_error("doc", "doc %s takes %d argument%s", op, want - 1,
                               want == 2 ? "" : "s");
    json_t *req = json_pack("{s:s, s:s, s:s}", "cmd", strcmp(op, "watch") == 0 ? "watch" : "doc",
                            "op", op, "name", name);
    if (req == NULL)
        return cli_usage_error("doc", "arguments must be UTF-8");
    if (room)
        json_object_set_new(req, "room", json_string(room));
    if (key)
        json_object_set_new(req, "key", json_string(key));
    if (value) {
        /* VALUE is JSON; anything that is not is taken as a string. */
        json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
        if (v == NULL)
            v = json_string(value);
        char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(v);
        if (s == NULL) {
            json_decref(req);
            return cli_usage_error("doc", "VALUE must be UTF-8");
        }
        json_object_set_new(req, "value", json_string(s));
        free(s);
    }
    cli_conn c;
    json_t *o = cli_control_call(req, &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    if (strcmp(op, "watch") == 0) {
        json_decref(o);
        char *js = NULL;
        /* Print the document now, then each time it changes. */
        /* While its state arrives (the first fill), the progress on
         * standard error when it is a terminal. */
        int progress = cli_progress_on(STDERR_FILENO), shown = 0;
        for (int first = 1;; first = 0) {
            if (!first) {
                json_t *ev = cli_control_read(&c);
                if (ev == NULL)
                    break;
                const char *kind = json_string_value(json_object_get(ev, "event"));
                if (kind && strcmp(kind, "sync") == 0) {
                    const char *peer = json_string_value(json_object_get(ev, "peer"));
                    if (progress && peer && !json_is_true(json_object_get(ev, "done"))) {
                        char text[400];
                        cli_sync_text(text, sizeof text, name, peer,
                                      (uint64_t)json_integer_value(json_object_get(ev, "received")),
                                      (uint64_t)json_integer_value(json_object_get(ev, "total")), 0);
                        fprintf(stderr, "\r%s\x1b[K", text);
                        shown = 1;
                    } else if (shown) {
                        fputs("\r\x1b[K", stderr);
                        shown = 0;
                    }
                    fflush(stderr);
                    json_decref(ev);
                    continue;
                }
                json_decref(ev);
            }
            if (shown) {
                fputs("\r\x1b[K", stderr);
                fflush(stderr);
                shown = 0;
            }
            cli_conn c2;
            int rc2;
            json_t *q = json_pack("{s:s, s:s, s:s}", "cmd", "doc", "op", "json", "name", name);
            if (room)
                json_object_set_new(q, "room", json_string(room));
            json_t *r = cli_control_call(q, &c2, &rc2, NULL, NULL);
            if (r) {
                json_t *v = json_object_get(r, "value");
                if (json)
                    print_json(json_pack("{s:s, s:O}", "doc", name, "value", v ? v : json_null()));
                else
                    print_json(v ? v : json_null());
                json_decref(r);
                cli_control_close(&c2);
            } else if (rc2 == CLI_NO_NODE) {
                break;
            }
        }
        free(js);
        fprintf(stderr, "pkc: the node stopped\n");
        cli_control_close(&c);
        return CLI_FAIL;
    }
    json_t *v = json_object_get(o, "value");
    if (strcmp(op, "get") == 0 || strcmp(op, "json") == 0 || (presence && value == NULL))
        print_json(json ? json_pack("{s:O}", "value", v ? v : json_null()) : v ? v : json_null());
    json_decref(o);
    cli_control_close(&c);
    return CLI_OK;
}

static const char doc_help[] =
    "Shared documents of a room (Yjs documents; the commands work on the root\n"
    "map \"state\", what the seed calls getSharedState(NAME)):\n"
    "  get NAME KEY         print KEY's value as JSON (exit 1 if unset)\n"
    "  set NAME KEY VALUE   set KEY to VALUE (JSON; anything else is a string)\n"
    "  del NAME KEY         delete KEY\n"
    "  json NAME            print the whole map as JSON\n"
    "  watch NAME           print it now and after every change, until the node stops\n"
    "  presence NAME [JSON] set this node's awareness state on NAME (who is here,\n"
    "                       cursors; null: none), or print everyone's\n"
    "  --room ROOM          'local', a room id or name (default: the node's default room)\n"
    "  --json               wrap outputs as {\"value\": ...}\n";

CLI_COMMAND(doc, 26, "get|set|del|json|watch|presence NAME [KEY] [VALUE]", "shared documents", doc_help,
            run_doc)

/* ---- invitations: pkc invite, pkc join, pkc answer ----------------------------------------------- */

/* "90", "90s", "5m", "2h", "1d" -> seconds; -1 if malformed or out of range. */
static long parse_duration(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || v <= 0)
        return -1;
    long mul = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end || v > 30L * 86400 / mul)
        return -1;
    return v * mul;
}

static void local_time(char *out, size_t cap, json_int_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, cap, "%H:%M:%S", &tm);
}

/* Reads an invitation or answer that must not be on the command line: "-"
 * (standard input, up to a blank line or its end) or $PKC_INVITE. */
static char *read_secret_text(const char *arg)
{
    if (arg && strcmp(arg, "-") != 0)
        return strdup(arg);
    if (arg == NULL) {
        const char *e = getenv("PKC_INVITE");
        return e && e[0] ? strdup(e) : NULL;
    }
    if (isatty(0))
        fprintf(stderr, "Paste the link or code, then press Enter twice:\n");
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == '\n' && len > 0)
            break;
        size_t k = strlen(line);
        if (len + k + 1 > cap)
            break;
        memcpy(buf + len, line, k);
        len += k;
    }
    buf[len] = 0;
    return buf;
}

/* Prints invitation events until the one for `id` (and, if set, `peer`)
 * says how it ended: 0 joined/used, 1 refused, 2 the node stopped. */
static int wait_invite(cli_conn *c, const char *id, const char *want, int json)
{
    signal(SIGPIPE, SIG_IGN);
    /* On a terminal, the seconds waited so far (not with --json). */
    const char *what = strcmp(want, "joined") == 0 ? "waiting for the inviter"
                                                   : "waiting for the invitee";
    cli_wait w;
    memset(&w, 0, sizeof w);
    if (!json)
        cli_wait_begin(&w, what);
    json_t *m;
    while ((m = cli_control_read(c)) != NULL) {
        const char *ev = json_string_value(json_object_get(m, "event"));
        const char *mid = json_string_value(json_object_get(m, "id"));
        const char *outcome = json_string_value(json_object_get(m, "outcome"));
        if (ev && strcmp(ev, "invite") == 0 && mid && strcmp(mid, id) == 0 && outcome) {
            cli_wait_end(&w);
            if (json)
                print_json(m);
            int done = strcmp(outcome, want) == 0 ? 0 : strcmp(outcome, "refused") == 0 ? 1 : -1;
            if (!json && done == 0 && strcmp(outcome, "used") == 0)
                printf("%s joined with this invitation.\n",
                       json_string_value(json_object_get(m, "peer")));
            else if (!json && done == 0)
                printf("Connected to the inviter %s: you are in the room.\n",
                       json_string_value(json_object_get(m, "peer")));
            else if (done == 1)
                fprintf(stderr, "pkc: the inviter refused the invitation: %s\n",
                        json_string_value(json_object_get(m, "reason")));
            json_decref(m);
            if (done >= 0)
                return done;
            if (!json)
                cli_wait_begin(&w, what);
            continue;
        }
        json_decref(m);
    }
    cli_wait_end(&w);
    fprintf(stderr, "pkc: the node stopped\n");
    return 2;
}

int cli_invitation_text(pkc_node *node, const char *room, int single_use, int color, char **out)
{
    *out = NULL;
    pkc_node_invite_options o;
    memset(&o, 0, sizeof o);
    o.room = room;
    o.single_use = single_use;
    pkc_node_invitation inv;
    if (pkc_node_invite_create(node, &o, &inv) != 0)
        return CLI_FAIL;
    char *q = NULL;
    size_t qn = 0;
    qr_code qr;
    char err[256];
    if (qr_encode(inv.url, strlen(inv.url), QR_LEVEL_AUTO, &qr, err, sizeof err) == 0) {
        if (qr_term_render(&qr, QR_QUIET_ZONE, color ? QR_TERM_COLOR : 0, &q, &qn) != 0)
            q = NULL;
        qr_code_free(&qr);
    }
    char until[16];
    local_time(until, sizeof until, (json_int_t)inv.expires_ms);
    size_t cap = 2 * sizeof inv.url + qn + 512;
    char *t = malloc(cap);
    if (t == NULL) {
        free(q);
        return CLI_FAIL;
    }
    snprintf(t, cap,
             "Invitation to room %s, valid until %s%s: give this link privately (it holds the "
             "room's secret)\n  %s\n%s%s"
             "They run: pkc join LINK (or scan it); if they send back an answer: pkc answer "
             "ANSWER\n",
             inv.room_name, until, single_use ? ", for one person" : "", inv.url,
             q ? "or let them scan it:\n" : "", q ? q : "");
    free(q);
    pkc_memzero(&inv, sizeof inv);
    *out = t;
    return CLI_OK;
}

/* The QR code of `text`: on the terminal (fd 1, when it is one and `term`)
 * and into `png` (when not NULL). Returns CLI_OK or CLI_FAIL (said). */
static int show_qr(const char *text, int term, const char *png)
{
    qr_code qr;
    char err[256];
    if (qr_encode(text, strlen(text), QR_LEVEL_AUTO, &qr, err, sizeof err) != 0) {
        fprintf(stderr, "pkc: QR code: %s\n", err);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (png && qr_png_write(&qr, png, 8, QR_QUIET_ZONE, 0, err, sizeof err) != 0) {
        fprintf(stderr, "pkc: QR code: %s\n", err);
        rc = CLI_FAIL;
    }
    char *t;
    size_t n;
    if (term && qr_term_render(&qr, QR_QUIET_ZONE,
                               qr_term_want_color(STDOUT_FILENO) ? QR_TERM_COLOR : 0, &t,
                               &n) == 0) {
        fwrite(t, 1, n, stdout);
        free(t);
    }
    qr_code_free(&qr);
    return rc;
}

static const char invite_help[] =
    "Makes an invitation to a room of the running node and prints it as a link.\n"
    "The link holds the room's secret: give it privately (a message, a QR code).\n"
    "\n"
    "  --room ROOM         the room (id or name; default: the node's default room)\n"
    "  --expires DURATION  how long it is valid: 90s, 10m, 2h, 1d (default 5m, at most 30d)\n"
    "  --single-use        used up by the first person who joins with it\n"
    "  --one-step          tell the invitee no answer is needed (this node is reachable)\n"
    "  --url-base URL      the link's base (default https://pkc.invalid/join)\n"
    "  --qr FILE.png       also write the link's QR code as a PNG image\n"
    "  --no-qr             no QR code on the terminal (shown there by default)\n"
    "  --wait              stay until someone joins with it, and say who\n"
    "  --json              one JSON object: url, code, id, room, room_name, expires_ms, ...\n";

static int run_invite(int argc, char **argv)
{
    enum { O_JSON = 1, O_ROOM, O_EXPIRES, O_SINGLE, O_ONE, O_BASE, O_WAIT, O_QR, O_NOQR };
    static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                         {"room", required_argument, NULL, O_ROOM},
                                         {"expires", required_argument, NULL, O_EXPIRES},
                                         {"single-use", no_argument, NULL, O_SINGLE},
                                         {"one-step", no_argument, NULL, O_ONE},
                                         {"url-base", required_argument, NULL, O_BASE},
                                         {"wait", no_argument, NULL, O_WAIT},
                                         {"qr", required_argument, NULL, O_QR},
                                         {"no-qr", no_argument, NULL, O_NOQR},
                                         CLI_COMMON_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    int json = 0, single = 0, one = 0, wait = 0, noqr = 0, opt;
    long expires = 0;
    const char *room = NULL, *base = NULL, *png = NULL;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        int r = cli_common_option(opt, optarg);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (opt == O_JSON)
            json = 1;
        else if (opt == O_ROOM)
            room = optarg;
        else if (opt == O_SINGLE)
            single = 1;
        else if (opt == O_ONE)
            one = 1;
        else if (opt == O_BASE)
            base = optarg;
        else if (opt == O_WAIT)
            wait = 1;
        else if (opt == O_QR)
            png = optarg;
        else if (opt == O_NOQR)
            noqr = 1;
        else if (opt == O_EXPIRES && (expires = parse_duration(optarg)) < 0)
            return cli_usage_error("invite", "--expires: a duration such as 90s, 10m, 2h or 1d "
                                             "(at most 30d), got '%s'",
                                   optarg);
        else if (opt != O_EXPIRES)
            return cli_usage_error("invite", "unknown option");
    }
    if (cli_g.help) {
        cli_print_help(stdout, cli_find("invite"));
        return CLI_OK;
    }
    if (optind < argc)
        return cli_usage_error("invite", "unexpected argument '%s'", argv[optind]);
    json_t *req = json_pack("{s:s, s:b, s:b, s:I, s:b}", "cmd", "invite", "single_use", single,
                            "one_step", one, "expires_s", (json_int_t)expires, "follow", wait);
    if (room)
        json_object_set_new(req, "room", json_string(room));
    if (base)
        json_object_set_new(req, "url_base", json_string(base));
    cli_conn c;
    int rc;
    json_t *o = cli_control_call(req, &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    const char *url = json_string_value(json_object_get(o, "url"));
    char until[16];
    local_time(until, sizeof until, json_integer_value(json_object_get(o, "expires_ms")));
    if (json) {
        json_object_del(o, "ok");
        print_json(o);
    } else {
        printf("Invitation to room %s (%s), valid until %s%s.\n",
               json_string_value(json_object_get(o, "room_name")),
               json_string_value(json_object_get(o, "room")), until,
               single ? ", for one person" : "");
        printf("Give this link to the person you invite, privately (it holds the room's "
               "secret):\n\n  %s\n\n",
               url);
        if (!noqr && isatty(STDOUT_FILENO)) {
            printf("or let them scan it:\n");
            show_qr(url, 1, NULL);
            printf("\n");
        }
        printf("They run:  pkc join LINK   (or `pkc join -` and paste it)\n");
        if (one)
            printf("This node is reachable: they connect at once, no answer needed.\n");
        else
            printf("They get an answer code to send back to you; then run:  pkc answer ANSWER\n"
                   "(With --one-step, when this node is reachable, they connect without it.)\n");
    }
    if (png) {
        if (show_qr(url, 0, png) != CLI_OK)
            rc = CLI_FAIL;
        else if (!json)
            printf("QR code written to %s\n", png);
    }
    char id[17];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    if (wait && rc == CLI_OK) {
        if (!json)
            printf("Waiting for someone to join (Ctrl-C to stop)...\n");
        fflush(stdout);
        rc = wait_invite(&c, id, "used", json) == 0 ? CLI_OK : CLI_FAIL;
    }
    cli_control_close(&c);
    return rc;
}
CLI_COMMAND(invite, 27,
            "[--single-use] [--one-step] [--expires DURATION] [--qr FILE.png] [--room ROOM] [--json]",
            "invite someone to a room: prints a link", invite_help, run_invite)

static const char dns_help[] =
    "DNS seeds: a node that is always on publishes how to reach it as a TXT record\n"
    "(_pkc.DOMAIN); nodes that know a room's secret find it there through DNS over\n"
    "HTTPS (docs/discovery.md).\n"
    "\n"
    "pkc dns record --domain DOMAIN prints the running node's record for a room as\n"
    "one master-file (zone file) line, for example\n"
    "  _pkc.example.org. 300 IN TXT \"pkc1=...\" \"...\"\n"
    "It holds the node's identity, the room's id (not its secret), how to reach the\n"
    "node and a sequence number (newer records replace older ones), signed.\n"
    "\n"
    "pkc dns publish --domain DOMAIN --server IP:PORT [--tsig-key FILE] sends it to\n"
    "the zone's primary server as an RFC 2136 update signed with the TSIG key\n"
    "(tsig-keygen's file, hmac-sha256), waits for the answer, and the running node\n"
    "sends a fresh record every half TTL from then on, while it runs.\n"
    "\n"
    "pkc dns lookup DOMAIN... --resolver URL lists the seeds published for each\n"
    "DOMAIN (peer id, room id, addresses, sequence, TTL), asking the DNS over HTTPS\n"
    "resolvers in order; every record's signature is checked. It needs no node.\n"
    "\n"
    "  --domain DOMAIN   the seed domain (record, publish): the record is _pkc.DOMAIN\n"
    "  --per-peer        name it _pkc.<this node's peer id>.DOMAIN instead\n"
    "  --room ROOM       the room (id or name; default: the node's default room)\n"
    "  --ttl SECONDS     how long resolvers may keep it (default 300)\n"
    "  --server IP:PORT  publish: the zone's primary (DNS over TCP)\n"
    "  --tsig-key FILE   publish: the TSIG key (without one the update is unsigned)\n"
    "  --resolver URL    lookup: an https:// DNS over HTTPS resolver (repeatable)\n"
    "  --cafile FILE     lookup: the CAs to trust (PEM; default: the system's)\n"
    "  --post            lookup: POST the query (default: GET with dns=)\n"
    "  --peer ID         lookup: the record of one peer, _pkc.ID.DOMAIN\n"
    "  --timeout MS      lookup: per resolver (default 5000)\n"
    "  --json            JSON: record {zone_line}; publish the update's outcome;\n"
    "                    lookup one object per DOMAIN {domain, seeds: [...]}\n";

typedef struct dns_opts {
    int json, per_peer, post;
    long ttl, timeout;
    const char *room, *domain, *server, *key, *cafile, *peer;
    const char *resolvers[8];
    size_t n_resolvers;
} dns_opts;

static int dns_record(const dns_opts *d)
{
    if (d->domain == NULL)
        return cli_usage_error("dns", "--domain DOMAIN is required: the record is _pkc.DOMAIN");
    json_t *req = json_pack("{s:s, s:s, s:I, s:b}", "cmd", "dnsrecord", "domain", d->domain,
                            "ttl", (json_int_t)d->ttl, "per_peer", d->per_peer);
    if (d->room)
        json_object_set_new(req, "room", json_string(d->room));
    cli_conn c;
    int rc;
    json_t *o = cli_control_call(req, &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    if (d->json) {
        json_object_del(o, "ok");
        print_json(o);
    } else {
        printf("%s\n", json_string_value(json_object_get(o, "zone_line")));
    }
    json_decref(o);
    cli_control_close(&c);
    return rc;
}

static int dns_publish(const dns_opts *d)
{
    if (d->domain == NULL || d->server == NULL)
        return cli_usage_error("dns", "publish needs --domain DOMAIN (the zone) and --server "
                                      "IP:PORT (its primary)");
    /* The node reads the key file: give it a path that does not depend on
     * our working directory. */
    char *key = NULL;
    if (d->key && (key = realpath(d->key, NULL)) == NULL) {
        fprintf(stderr, "pkc: --tsig-key %s: %s\n", d->key, strerror(errno));
        return CLI_FAIL;
    }
    json_t *req = json_pack("{s:s, s:s, s:s, s:I, s:b, s:b}", "cmd", "dnspublish", "domain",
                            d->domain, "server", d->server, "ttl", (json_int_t)d->ttl,
                            "per_peer", d->per_peer, "follow", 1);
    if (d->room)
        json_object_set_new(req, "room", json_string(d->room));
    if (key)
        json_object_set_new(req, "tsig_key_file", json_string(key));
    free(key);
    cli_conn c;
    int rc;
    json_t *o = cli_control_call(req, &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    char owner[300];
    snprintf(owner, sizeof owner, "%s", json_string_value(json_object_get(o, "owner")));
    json_decref(o);
    signal(SIGPIPE, SIG_IGN);
    rc = CLI_FAIL;
    json_t *m;
    while ((m = cli_control_read(&c)) != NULL) {
        const char *ev = json_string_value(json_object_get(m, "event"));
        const char *mo = json_string_value(json_object_get(m, "owner"));
        if (ev && strcmp(ev, "dnspublish") == 0 && mo && strcmp(mo, owner) == 0) {
            int ok = json_is_true(json_object_get(m, "ok"));
            if (d->json)
                print_json(m);
            else if (ok)
                printf("Published %s on %s; the node republishes it every %d s while it runs.\n",
                       owner, d->server, (int)json_integer_value(json_object_get(m, "next_s")));
            if (!ok)
                fprintf(stderr, "pkc: %s not published: %s\n", owner,
                        json_string_value(json_object_get(m, "error")));
            rc = ok ? CLI_OK : CLI_FAIL;
            json_decref(m);
            break;
        }
        json_decref(m);
    }
    if (m == NULL)
        fprintf(stderr, "pkc: the node stopped\n");
    cli_control_close(&c);
    return rc;
}

static int dns_lookup(const dns_opts *d, int argc, char **argv)
{
    if (argc == 0)
        return cli_usage_error("dns", "which domain: pkc dns lookup DOMAIN --resolver URL");
    if (d->n_resolvers == 0)
        return cli_usage_error("dns", "--resolver URL is required (a DNS over HTTPS resolver, "
                                      "https://HOST/dns-query)");
    pkc_doh_config cfg;
    pkc_doh_config_default(&cfg);
    cfg.resolvers = d->resolvers;
    cfg.n_resolvers = d->n_resolvers;
    cfg.ca_file = d->cafile;
    cfg.post = d->post;
    if (d->timeout)
        cfg.timeout_ms = (uint32_t)d->timeout;
    pkc_doh *doh = NULL;
    int e = pkc_doh_new(&cfg, pkc_clock_system(), &doh);
    if (e)
        return cli_fail("dns lookup", e);
    int rc = CLI_OK;
    pkc_dns_seed *seeds = calloc(32, sizeof *seeds);
    if (seeds == NULL) {
        pkc_doh_free(doh);
        return cli_fail("dns lookup", PKC_ERR_NOMEM);
    }
    for (int a = 0; a < argc; a++) {
        int n = pkc_doh_lookup(doh, argv[a], d->peer, seeds, 32);
        if (n < 0) {
            fprintf(stderr, "pkc: %s: %s\n", argv[a], pkc_errmsg());
            if (d->json) {
                json_t *o = json_pack("{s:s, s:s, s:s}", "domain", argv[a], "error", pkc_errmsg(),
                                      "code", pkc_err_name(n));
                print_json(o);
                json_decref(o);
            }
            rc = CLI_FAIL;
            continue;
        }
        if (d->json) {
            json_t *arr = json_array();
            for (int i = 0; i < n; i++) {
                json_t *ad = json_array();
                for (size_t j = 0; j < seeds[i].n_addresses; j++)
                    json_array_append_new(ad, json_string(seeds[i].addresses[j]));
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:o, s:I, s:i, s:b}", "peer_id", seeds[i].peer_id,
                                   "room", seeds[i].room, "addresses", ad, "sequence",
                                   (json_int_t)seeds[i].sequence, "ttl", (int)seeds[i].ttl_s,
                                   "cached", seeds[i].cached));
            }
            json_t *o = json_pack("{s:s, s:o}", "domain", argv[a], "seeds", arr);
            print_json(o);
            json_decref(o);
            continue;
        }
        printf("%s: %d seed%s\n", argv[a], n, n == 1 ? "" : "s");
        for (int i = 0; i < n; i++) {
            printf("  %s  room %s  sequence %llu  TTL %u s%s\n", seeds[i].peer_id, seeds[i].room,
                   (unsigned long long)seeds[i].sequence, seeds[i].ttl_s,
                   seeds[i].cached ? " (cached)" : "");
            for (size_t j = 0; j < seeds[i].n_addresses; j++)
                printf("    %s\n", seeds[i].addresses[j]);
        }
    }
    fflush(stdout);
    free(seeds);
    pkc_doh_free(doh);
    return rc;
}

static int run_dns(int argc, char **argv)
{
    enum {
        O_JSON = 1,
        O_ROOM,
        O_DOMAIN,
        O_TTL,
        O_PEER,
        O_SERVER,
        O_KEY,
        O_RESOLVER,
        O_CAFILE,
        O_POST,
        O_PEERID,
        O_TIMEOUT
    };
    static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                         {"room", required_argument, NULL, O_ROOM},
                                         {"domain", required_argument, NULL, O_DOMAIN},
                                         {"ttl", required_argument, NULL, O_TTL},
                                         {"per-peer", no_argument, NULL, O_PEER},
                                         {"server", required_argument, NULL, O_SERVER},
                                         {"tsig-key", required_argument, NULL, O_KEY},
                                         {"resolver", required_argument, NULL, O_RESOLVER},
                                         {"cafile", required_argument, NULL, O_CAFILE},
                                         {"post", no_argument, NULL, O_POST},
                                         {"peer", required_argument, NULL, O_PEERID},
                                         {"timeout", required_argument, NULL, O_TIMEOUT},
                                         CLI_COMMON_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    dns_opts d;
    memset(&d, 0, sizeof d);
    int opt;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        int r = cli_common_option(opt, optarg);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        char *end;
        switch (opt) {
        case O_JSON:
            d.json = 1;
            break;
        case O_ROOM:
            d.room = optarg;
            break;
        case O_DOMAIN:
            d.domain = optarg;
            break;
        case O_PEER:
            d.per_peer = 1;
            break;
        case O_SERVER:
            d.server = optarg;
            break;
        case O_KEY:
            d.key = optarg;
            break;
        case O_RESOLVER:
            if (d.n_resolvers >= 8)
                return cli_usage_error("dns", "at most 8 resolvers");
            d.resolvers[d.n_resolvers++] = optarg;
            break;
        case O_CAFILE:
            d.cafile = optarg;
            break;
        case O_POST:
            d.post = 1;
            break;
        case O_PEERID:
            d.peer = optarg;
            break;
        case O_TTL:
            d.ttl = strtol(optarg, &end, 10);
            if (*optarg == 0 || *end != 0 || d.ttl < 1 || d.ttl > 2147483647L)
                return cli_usage_error("dns", "--ttl: seconds from 1 to 2147483647, got '%s'",
                                       optarg);
            break;
        case O_TIMEOUT:
            d.timeout = strtol(optarg, &end, 10);
            if (*optarg == 0 || *end != 0 || d.timeout < 1 || d.timeout > 600000)
                return cli_usage_error("dns", "--timeout: ms from 1 to 600000, got '%s'", optarg);
            break;
        default:
            return cli_usage_error("dns", "unknown option");
        }
    }
    if (cli_g.help) {
        cli_print_help(stdout, cli_find("dns"));
        return CLI_OK;
    }
    if (optind >= argc)
        return cli_usage_error("dns", "which: pkc dns record|publish|lookup");
    const char *sub = argv[optind];
    if (strcmp(sub, "lookup") == 0)
        return dns_lookup(&d, argc - optind - 1, argv + optind + 1);
    if (strcmp(sub, "record") != 0 && strcmp(sub, "publish") != 0)
        return cli_usage_error("dns", "unknown subcommand '%s' (pkc dns record|publish|lookup)",
                               sub);
    if (optind + 1 < argc)
        return cli_usage_error("dns", "unexpected argument '%s'", argv[optind + 1]);
    return strcmp(sub, "record") == 0 ? dns_record(&d) : dns_publish(&d);
}
CLI_COMMAND(dns, 31,
            "record|publish --domain DOMAIN [--server IP:PORT --tsig-key FILE] [--per-peer] "
            "[--room ROOM] [--ttl S] | lookup DOMAIN... --resolver URL [--cafile F] [--json]",
            "DNS seeds: the record, publishing it, looking seeds up", dns_help, run_dns)

/* The options of join and answer: --json, --no-wait and (join: `image`
 * not NULL) --qr-image FILE. Returns CLI_OK, -1 after the help, or a
 * usage status. */
static int wait_options(const char *cmd, int argc, char **argv, int *json, int *nowait,
                        const char **image)
{
    enum { O_JSON = 1, O_NOWAIT, O_QRIMG };
    static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                         {"no-wait", no_argument, NULL, O_NOWAIT},
                                         {"qr-image", required_argument, NULL, O_QRIMG},
                                         CLI_COMMON_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        int r = cli_common_option(opt, optarg);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (opt == O_JSON)
            *json = 1;
        else if (opt == O_NOWAIT)
            *nowait = 1;
        else if (opt == O_QRIMG && image)
            *image = optarg;
        else
            return cli_usage_error(cmd, "unknown option");
    }
    if (cli_g.help) {
        cli_print_help(stdout, cli_find(cmd));
        return -1;
    }
    return CLI_OK;
}

static const char join_help[] =
    "Accepts an invitation (a link or a bare code) in the running node: joins its\n"
    "room, connects to the inviter, and waits until that works or is refused.\n"
    "Give `-` to paste it on standard input, or nothing to read $PKC_INVITE: the\n"
    "link holds the room's secret, which a command line would show to everyone\n"
    "on this machine.\n"
    "\n"
    "  --qr-image FILE  read the link from a QR code in a PNG or JPEG image (a photo)\n"
    "  --no-wait        return at once (the node keeps trying until the invitation expires)\n"
    "  --json           the answer and the outcome as JSON lines\n";

static int run_join(int argc, char **argv)
{
    int json = 0, nowait = 0;
    const char *image = NULL;
    int rc0 = wait_options("join", argc, argv, &json, &nowait, &image);
    if (rc0)
        return rc0 < 0 ? CLI_OK : rc0;
    if (optind + 1 < argc || (image && optind < argc))
        return cli_usage_error("join", "one invitation at a time");
    char *text = NULL;
    if (image) {
        size_t len;
        char err[512];
        if (qr_read_file(image, &text, &len, err, sizeof err) != 0) {
            fprintf(stderr, "pkc: %s\n", err);
            return CLI_FAIL;
        }
    } else {
        text = read_secret_text(optind < argc ? argv[optind] : NULL);
    }
    if (text == NULL || text[strspn(text, " \t\r\n")] == 0) {
        free(text);
        return cli_usage_error("join", "give the invitation link or code, `-` to paste it, or "
                                       "set $PKC_INVITE");
    }
    json_t *req = json_pack("{s:s, s:s, s:b}", "cmd", "accept", "text", text, "follow", !nowait);
    pkc_memzero(text, strlen(text));
    free(text);
    if (req == NULL)
        return cli_usage_error("join", "the invitation must be text (UTF-8)");
    cli_conn c;
    int rc;
    json_t *o = cli_control_call(req, &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    char id[17];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(o, "id")));
    int one = json_is_true(json_object_get(o, "one_step"));
    if (json) {
        json_object_del(o, "ok");
        print_json(o);
    } else {
        char until[16];
        local_time(until, sizeof until, json_integer_value(json_object_get(o, "expires_ms")));
        printf("Invitation from %s to room %s (%s), valid until %s.\n",
               json_string_value(json_object_get(o, "inviter")),
               json_string_value(json_object_get(o, "room_name")),
               json_string_value(json_object_get(o, "room")), until);
        if (one)
            printf("Connecting to the inviter...\n");
        else
            printf("The inviter takes no dials (a web page's invitation, or one made without "
                   "--one-step): send them this answer:\n\n  %s\n\nand ask them to run:  pkc "
                   "answer ANSWER   (a web page: paste it in its answer box)\n",
                   json_string_value(json_object_get(o, "answer_url")));
    }
    json_decref(o);
    fflush(stdout);
    rc = CLI_OK;
    if (!nowait)
        rc = wait_invite(&c, id, "joined", json) == 0 ? CLI_OK : CLI_FAIL;
    cli_control_close(&c);
    return rc;
}
CLI_COMMAND(join, 28, "[--no-wait] [--json] [LINK|CODE|-] | --qr-image FILE", "accept an invitation",
            join_help,
            run_join)

static const char answer_help[] =
    "Applies the answer an invitee sent back (two-step invitation): the running\n"
    "node connects to the invitee and says when it has joined. `-` reads the\n"
    "answer from standard input, nothing from $PKC_INVITE.\n"
    "\n"
    "  --no-wait   return at once\n"
    "  --json      the outcome as JSON lines\n";

static int run_answer(int argc, char **argv)
{
    int json = 0, nowait = 0;
    int rc0 = wait_options("answer", argc, argv, &json, &nowait, NULL);
    if (rc0)
        return rc0 < 0 ? CLI_OK : rc0;
    if (optind + 1 < argc)
        return cli_usage_error("answer", "one answer at a time");
    char *text = read_secret_text(optind < argc ? argv[optind] : NULL);
    if (text == NULL || text[strspn(text, " \t\r\n")] == 0) {
        free(text);
        return cli_usage_error("answer", "give the answer link or code, or `-` to paste it");
    }
    json_t *req = json_pack("{s:s, s:s, s:b}", "cmd", "answer", "text", text, "follow", !nowait);
    free(text);
    if (req == NULL)
        return cli_usage_error("answer", "the answer must be text (UTF-8)");
    cli_conn c;
    int rc;
    json_t *o = cli_control_call(req, &c, &rc, NULL, NULL);
    if (o == NULL)
        return rc;
    char id[17];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(o, "id")));
    if (json) {
        json_object_del(o, "ok");
        print_json(o);
    } else {
        printf("Answer to invitation %s accepted: connecting to %s...\n", id,
               json_string_value(json_object_get(o, "peer")));
    }
    json_decref(o);
    fflush(stdout);
    rc = CLI_OK;
    if (!nowait)
        rc = wait_invite(&c, id, "used", json) == 0 ? CLI_OK : CLI_FAIL;
    cli_control_close(&c);
    return rc;
}
CLI_COMMAND(answer, 29, "[--no-wait] [--json] ANSWER|-", "apply an invitee's answer", answer_help,
            run_answer)
