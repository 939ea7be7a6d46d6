/* cmd_rtc.c: pkc rtc echo / pkc rtc bench: WebRTC data channel diagnostics,
 * and the peer the interop tests and benchmarks drive. */
#define _GNU_SOURCE
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char rtc_help[] =
    "WebRTC data channel diagnostics. Descriptions travel as JSON lines:\n"
    "{\"type\":\"offer\"|\"answer\",\"sdp\":\"...\"}, candidates inside (no trickle).\n"
    "\n"
    "  pkc rtc echo    read an offer on stdin, print the answer, echo every\n"
    "                  message back on its channel (text as text, binary as\n"
    "                  binary) until the peer closes or --timeout\n"
    "  pkc rtc echo --offer\n"
    "                  print an offer, read the answer, open a channel \"echo\"\n"
    "                  (unless --no-open)\n"
    "  pkc rtc bench   print an offer, read the answer of an echo peer, then\n"
    "                  measure time to open and throughput; prints a result line\n"
    "\n"
    "Channels with protocol \"pkc-sink\" do not echo: binary messages are counted,\n"
    "and a text message is answered with {\"bytes\":N,\"messages\":M} (pkc rtc bench\n"
    "uses this).\n"
    "\n"
    "Options:\n"
    "  --offer              (echo) make the offer instead of answering\n"
    "  --open SPEC          (echo) open a channel once connected (repeatable;\n"
    "                       default \"echo\" with --offer). SPEC is LABEL then\n"
    "                       comma-separated options: unordered, rtx=N (max\n"
    "                       retransmits), lifetime=MS (max packet lifetime),\n"
    "                       protocol=P, negotiated=ID; e.g. chat,unordered,rtx=3\n"
    "  --no-open            (echo --offer) open no channel\n"
    "  --listen             (echo) accept peers without seeing their offers\n"
    "                       (ICE-lite): print the answer every peer applies to\n"
    "                       its own offer, echo for all of them, exit when the\n"
    "                       last one has closed\n"
    "  --stun HOST:PORT     a STUN server (repeatable)\n"
    "  --port N             UDP port (default: ephemeral)\n"
    "  --no-loopback        no host candidates on loopback interfaces\n"
    "  --timeout S          give up after S seconds (default 60)\n"
    "  --bytes N            (bench) bytes to send (default 64 MiB)\n"
    "  --message-size N     (bench) size of each message (default 65536)\n"
    "\n"
    "stdout carries only JSON lines: the description, then events\n"
    "{\"type\":\"state\",\"state\":...}, {\"type\":\"channel\",\"label\":...,\"id\":...,\n"
    "\"ordered\":...,\"max_retransmits\":...,\"max_lifetime_ms\":...,\"protocol\":...},\n"
    "{\"type\":\"result\",...} (bench). Logs go to stderr.\n";

#define MAX_OPEN 8

typedef struct open_spec {
    char label[128];
    char protocol[128];
    pkc_rtc_channel_options o;
} open_spec;

typedef struct opts {
    int offer, bench, no_open, listen, no_loopback;
    open_spec open[MAX_OPEN];
    size_t n_open;
    const char *stun[4];
    size_t n_stun;
    uint16_t port;
    double timeout;
    uint64_t bytes;
    size_t msg_size;
} opts;

typedef struct app {
    opts o;
    pkc_loop *loop;
    pkc_rtc_peer *peer;
    int failed, done;
    int described; /* our description was printed */
    int opened;    /* --open channels created */
    /* bench */
    pkc_rtc_channel *bench_ch;
    uint64_t t_remote_us, t_open_us, t_start_us, t_end_us;
    uint64_t sent;
    uint8_t *payload;
    /* sink */
    uint64_t sink_bytes, sink_msgs;
    /* listen */
    pkc_rtc_socket *sock;
    int accepted, live;
    pkc_rtc_peer *peers[64];
} app;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        printf("%s\n", s);
        fflush(stdout);
        free(s);
    }
    json_decref(o);
}

/* ---- stdin: a reader thread hands lines to the loop ---------------------------- */

typedef struct line_msg {
    app *a;
    char *line; /* NULL: end of input */
} line_msg;

static void on_line(void *arg);

static void *stdin_thread(void *arg)
{
    app *a = arg;
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        ssize_t n = getline(&line, &cap, stdin);
        line_msg *m = malloc(sizeof *m);
        if (m == NULL)
            break;
        m->a = a;
        m->line = n > 0 ? strdup(line) : NULL;
        if (pkc_loop_post(a->loop, on_line, m) != 0) {
            free(m->line);
            free(m);
            break;
        }
        if (n <= 0)
            break;
    }
    free(line);
    return NULL;
}

/* ---- bench -------------------------------------------------------------------------- */

static void bench_pump(app *a)
{
    pkc_rtc_channel *ch = a->bench_ch;
    while (a->sent < a->o.bytes) {
        size_t n = a->o.msg_size;
        if (a->o.bytes - a->sent < n)
            n = (size_t)(a->o.bytes - a->sent);
        if (pkc_rtc_channel_get_buffered_amount(ch) > 4 * 1024 * 1024)
            return; /* wait for on_buffered_amount_low */
        if (pkc_rtc_channel_send(ch, a->payload, n, 1) != 0)
            return;
        a->sent += n;
    }
    if (a->sent == a->o.bytes) {
        a->sent++; /* once */
        if (pkc_rtc_channel_send(ch, "done", 4, 0) != 0)
            fprintf(stderr, "pkc: bench: %s\n", pkc_errmsg());
    }
}

/* ---- callbacks ---------------------------------------------------------------------------- */

static void print_description(app *a, const char *type)
{
    char *sdp;
    if (pkc_rtc_peer_get_local_description(a->peer, &sdp) != 0) {
        cli_fail("description", PKC_ERR_STATE);
        a->failed = 1;
        pkc_loop_stop(a->loop);
        return;
    }
    print_json(json_pack("{s:s, s:s}", "type", type, "sdp", sdp));
    free(sdp);
    a->described = 1;
}

static void open_channels(app *a)
{
    for (size_t i = 0; i < a->o.n_open; i++) {
        pkc_rtc_channel *ch;
        if (pkc_rtc_channel_new(a->peer, a->o.open[i].label, &a->o.open[i].o, &ch) != 0)
            fprintf(stderr, "pkc: opening channel '%s': %s\n", a->o.open[i].label, pkc_errmsg());
    }
}

static void on_state(void *ud, pkc_rtc_peer *peer, pkc_rtc_state st)
{
    app *a = ud;
    if (a->o.listen) {
        fprintf(stderr, "pkc: accepted connection %s\n", pkc_rtc_state_name(st));
        print_json(json_pack("{s:s, s:s}", "type", "state", "state", pkc_rtc_state_name(st)));
        if (st == PKC_RTC_CLOSED || st == PKC_RTC_FAILED) {
            for (int i = 0; i < 64; i++)
                if (a->peers[i] == peer)
                    a->peers[i] = NULL;
            pkc_rtc_peer_free(peer);
            if (--a->live == 0)
                pkc_loop_stop(a->loop);
        }
        return;
    }
    fprintf(stderr, "pkc: connection %s\n", pkc_rtc_state_name(st));
    print_json(json_pack("{s:s, s:s}", "type", "state", "state", pkc_rtc_state_name(st)));
    if (st == PKC_RTC_CONNECTED) {
        pkc_rtc_stats s;
        pkc_rtc_peer_get_stats(peer, &s);
        print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "type", "stats", "local",
                             s.local_address, "remote", s.remote_address, "local_type", s.local_type,
                             "remote_type", s.remote_type, "dtls_client", s.dtls_client,
                             "ice_controlling", s.ice_controlling));
    }
    if (st == PKC_RTC_FAILED) {
        a->failed = 1;
        pkc_loop_stop(a->loop);
    } else if (st == PKC_RTC_CLOSED) {
        a->done = 1;
        pkc_loop_stop(a->loop);
    } else if (st == PKC_RTC_CONNECTED && !a->o.bench && !a->opened) {
        a->opened = 1;
        open_channels(a);
    }
}

static void on_candidate(void *ud, pkc_rtc_peer *peer, const char *cand)
{
    (void)peer;
    app *a = ud;
    /* No trickle here: print the description once gathering is complete. */
    if (cand == NULL && !a->described && pkc_rtc_peer_is_gathering_done(a->peer))
        print_description(a, a->o.offer || a->o.bench ? "offer" : "answer");
}

static void report_channel(pkc_rtc_channel *ch, const char *how)
{
    pkc_rtc_channel_options o;
    pkc_rtc_channel_get_options(ch, &o);
    print_json(json_pack("{s:s, s:s, s:s, s:i, s:b, s:i, s:i, s:s, s:b}", "type", "channel", "how",
                         how, "label", pkc_rtc_channel_get_label(ch), "id", pkc_rtc_channel_get_id(ch),
                         "ordered", o.ordered, "max_retransmits", o.max_retransmits,
                         "max_lifetime_ms", o.max_lifetime_ms, "protocol",
                         pkc_rtc_channel_get_protocol(ch), "negotiated", o.negotiated));
}

static void on_channel(void *ud, pkc_rtc_peer *peer, pkc_rtc_channel *ch)
{
    (void)peer;
    (void)ud;
    report_channel(ch, "remote");
}

static void on_open(void *ud, pkc_rtc_channel *ch)
{
    app *a = ud;
    report_channel(ch, "local");
    if (a->o.bench && ch == a->bench_ch) {
        a->t_open_us = now_us();
        a->t_start_us = a->t_open_us;
        bench_pump(a);
    }
}

static void on_message(void *ud, pkc_rtc_channel *ch, const uint8_t *data, size_t len, int binary)
{
    app *a = ud;
    if (a->o.bench && ch == a->bench_ch) {
        if (!binary) {
            a->t_end_us = now_us();
            json_t *r = json_loadb((const char *)data, len, 0, NULL);
            json_int_t got = r ? json_integer_value(json_object_get(r, "bytes")) : -1;
            json_decref(r);
            double secs = (double)(a->t_end_us - a->t_start_us) / 1e6;
            double open_ms = (double)(a->t_open_us - a->t_remote_us) / 1e3;
            print_json(json_pack("{s:s, s:f, s:I, s:I, s:f, s:f}", "type", "result", "open_ms",
                                 open_ms, "bytes", (json_int_t)a->o.bytes, "received", got,
                                 "seconds", secs,
                                 "mib_per_s", (double)a->o.bytes / 1048576.0 / secs));
            if (got != (json_int_t)a->o.bytes)
                a->failed = 1;
            a->done = 1;
            pkc_loop_stop(a->loop);
        }
        return;
    }
    if (strcmp(pkc_rtc_channel_get_protocol(ch), "pkc-sink") == 0) {
        if (binary) {
            a->sink_bytes += len;
            a->sink_msgs++;
        } else {
            char reply[96];
            int n = snprintf(reply, sizeof reply, "{\"bytes\":%llu,\"messages\":%llu}",
                             (unsigned long long)a->sink_bytes, (unsigned long long)a->sink_msgs);
            if (pkc_rtc_channel_send(ch, reply, (size_t)n, 0) != 0)
                fprintf(stderr, "pkc: sink reply: %s\n", pkc_errmsg());
        }
        return;
    }
    int rc = pkc_rtc_channel_send(ch, data, len, binary);
    if (rc)
        fprintf(stderr, "pkc: echo of %zu bytes on '%s' failed: %s\n", len,
                pkc_rtc_channel_get_label(ch), pkc_errmsg());
}

static void on_low(void *ud, pkc_rtc_channel *ch)
{
    app *a = ud;
    if (a->o.bench && ch == a->bench_ch)
        bench_pump(a);
}

static void on_close(void *ud, pkc_rtc_channel *ch)
{
    (void)ud;
    print_json(json_pack("{s:s, s:s, s:i}", "type", "close", "label", pkc_rtc_channel_get_label(ch),
                         "id", pkc_rtc_channel_get_id(ch)));
}

static void on_incoming(void *ud, pkc_rtc_peer *peer)
{
    app *a = ud;
    for (int i = 0; i < 64; i++)
        if (a->peers[i] == NULL) {
            a->peers[i] = peer;
            break;
        }
    a->accepted++;
    a->live++;
    print_json(json_pack("{s:s, s:i}", "type", "incoming", "count", a->accepted));
}

static void on_line(void *arg)
{
    line_msg *m = arg;
    app *a = m->a;
    char *line = m->line;
    free(m);
    if (line == NULL)
        return; /* stdin closed: keep going until the peer closes */
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    free(line);
    const char *type = o ? json_string_value(json_object_get(o, "type")) : NULL;
    const char *sdp = o ? json_string_value(json_object_get(o, "sdp")) : NULL;
    if (type == NULL || sdp == NULL) {
        fprintf(stderr, "pkc: expected a line {\"type\":\"offer\"|\"answer\",\"sdp\":\"...\"}\n");
        json_decref(o);
        a->failed = 1;
        pkc_loop_stop(a->loop);
        return;
    }
    int want_offer = !(a->o.offer || a->o.bench);
    if (strcmp(type, want_offer ? "offer" : "answer") != 0) {
        fprintf(stderr, "pkc: expected an %s, got '%s'\n", want_offer ? "offer" : "answer", type);
        json_decref(o);
        a->failed = 1;
        pkc_loop_stop(a->loop);
        return;
    }
    a->t_remote_us = now_us();
    int rc = pkc_rtc_peer_set_remote(a->peer, want_offer ? PKC_RTC_OFFER : PKC_RTC_ANSWER, sdp);
    json_decref(o);
    if (rc) {
        cli_fail("remote description", rc);
        a->failed = 1;
        pkc_loop_stop(a->loop);
        return;
    }
    if (want_offer) {
        char *answer;
        rc = pkc_rtc_peer_create_answer(a->peer, &answer);
        if (rc) {
            cli_fail("answer", rc);
            a->failed = 1;
            pkc_loop_stop(a->loop);
            return;
        }
        free(answer);
        if (pkc_rtc_peer_is_gathering_done(a->peer))
            print_description(a, "answer");
    }
}

static void on_timeout(void *arg)
{
    (void)arg;
}

/* ---- the command ------------------------------------------------------------------------------- */

/* LABEL[,unordered][,rtx=N][,lifetime=MS][,protocol=P][,negotiated=ID] */
static int parse_open(const char *spec, open_spec *out)
{
    memset(out, 0, sizeof *out);
    pkc_rtc_channel_options_default(&out->o);
    const char *comma = strchr(spec, ',');
    size_t n = comma ? (size_t)(comma - spec) : strlen(spec);
    if (n >= sizeof out->label)
        return -1;
    memcpy(out->label, spec, n);
    while (comma) {
        const char *opt = comma + 1;
        comma = strchr(opt, ',');
        size_t len = comma ? (size_t)(comma - opt) : strlen(opt);
        char buf[160];
        if (len >= sizeof buf)
            return -1;
        memcpy(buf, opt, len);
        buf[len] = '\0';
        char *end;
        long v;
        if (strcmp(buf, "unordered") == 0) {
            out->o.ordered = 0;
        } else if (strncmp(buf, "rtx=", 4) == 0) {
            v = strtol(buf + 4, &end, 10);
            if (*end || v < 0 || v > 65535)
                return -1;
            out->o.max_retransmits = (int)v;
        } else if (strncmp(buf, "lifetime=", 9) == 0) {
            v = strtol(buf + 9, &end, 10);
            if (*end || v < 0 || v > 65535)
                return -1;
            out->o.max_lifetime_ms = (int)v;
        } else if (strncmp(buf, "protocol=", 9) == 0) {
            if (strlen(buf + 9) >= sizeof out->protocol)
                return -1;
            memcpy(out->protocol, buf + 9, strlen(buf + 9) + 1);
            out->o.protocol = out->protocol;
        } else if (strncmp(buf, "negotiated=", 11) == 0) {
            v = strtol(buf + 11, &end, 10);
            if (*end || v < 0 || v > 1023)
                return -1;
            out->o.negotiated = 1;
            out->o.id = (uint16_t)v;
        } else {
            return -1;
        }
    }
    if (out->o.max_retransmits >= 0 && out->o.max_lifetime_ms >= 0)
        return -1;
    return 0;
}

static int parse_opts(int argc, char **argv, const char *sub, opts *o)
{
    enum { O_OFFER = 1, O_NO_OPEN, O_LISTEN, O_NO_LOOPBACK, O_OPEN, O_STUN, O_PORT, O_TIMEOUT, O_BYTES, O_MSIZE };
    static const struct option lo[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"offer", no_argument, NULL, O_OFFER},
        {"open", required_argument, NULL, O_OPEN},
        {"no-open", no_argument, NULL, O_NO_OPEN},
        {"listen", no_argument, NULL, O_LISTEN},
        {"no-loopback", no_argument, NULL, O_NO_LOOPBACK},
        {"stun", required_argument, NULL, O_STUN},
        {"port", required_argument, NULL, O_PORT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"bytes", required_argument, NULL, O_BYTES},
        {"message-size", required_argument, NULL, O_MSIZE},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->timeout = 60;
    o->bytes = 64ull << 20;
    o->msg_size = 65536;
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, lo, NULL)) != -1) {
        switch (opt) {
        case O_OFFER:
            o->offer = 1;
            break;
        case O_OPEN:
            if (o->n_open == MAX_OPEN)
                return cli_usage_error("rtc", "at most %d --open", MAX_OPEN);
            if (parse_open(optarg, &o->open[o->n_open]) != 0)
                return cli_usage_error("rtc", "--open %s: expected LABEL[,unordered][,rtx=N]"
                                              "[,lifetime=MS][,protocol=P][,negotiated=ID]",
                                       optarg);
            o->n_open++;
            break;
        case O_NO_OPEN:
            o->no_open = 1;
            break;
        case O_LISTEN:
            o->listen = 1;
            break;
        case O_NO_LOOPBACK:
            o->no_loopback = 1;
            break;
        case O_STUN:
            if (o->n_stun == 4)
                return cli_usage_error("rtc", "at most 4 --stun servers");
            o->stun[o->n_stun++] = optarg;
            break;
        case O_PORT: {
            long p = strtol(optarg, &end, 10);
            if (*end || p < 1 || p > 65535)
                return cli_usage_error("rtc", "--port needs 1..65535");
            o->port = (uint16_t)p;
            break;
        }
        case O_TIMEOUT:
            o->timeout = strtod(optarg, &end);
            if (*end || o->timeout <= 0)
                return cli_usage_error("rtc", "--timeout needs seconds");
            break;
        case O_BYTES:
            o->bytes = strtoull(optarg, &end, 10);
            if (*end || o->bytes == 0)
                return cli_usage_error("rtc", "--bytes needs a number");
            break;
        case O_MSIZE:
            o->msg_size = strtoul(optarg, &end, 10);
            if (*end || o->msg_size == 0 || o->msg_size > 262144)
                return cli_usage_error("rtc", "--message-size needs 1..262144");
            break;
        default: {
            int r = cli_common_option(opt, optarg);
            if (r < 0)
                return CLI_USAGE;
            if (r == 0)
                return cli_usage_error("rtc", "unknown option");
        }
        }
    }
    if (optind < argc)
        return cli_usage_error("rtc", "unexpected argument '%s'", argv[optind]);
    o->bench = strcmp(sub, "bench") == 0;
    if (o->offer && o->n_open == 0 && !o->no_open)
        (void)parse_open("echo", &o->open[o->n_open++]);
    return CLI_OK;
}

static int run_rtc(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            cli_print_help(stdout, cli_find("rtc"));
            return CLI_OK;
        }
        return cli_usage_error("rtc", "expected a subcommand: echo or bench");
    }
    const char *sub = argv[1];
    if (strcmp(sub, "echo") != 0 && strcmp(sub, "bench") != 0)
        return cli_usage_error("rtc", "unknown subcommand '%s'", sub);
    app a;
    memset(&a, 0, sizeof a);
    int rc = parse_opts(argc - 1, argv + 1, sub, &a.o);
    if (rc != CLI_OK)
        return rc;
    if (cli_g.help) {
        cli_print_help(stdout, cli_find("rtc"));
        return CLI_OK;
    }
    const char *dir = cli_data_dir();
    if (dir == NULL)
        return CLI_FAIL;
    pkc_rtc_cert *cert;
    int created;
    rc = pkc_rtc_cert_load_or_create(dir, &cert, &created);
    if (rc)
        return cli_fail("certificate", rc);
    if (created)
        fprintf(stderr, "pkc: created a DTLS certificate in %s/dtls-cert.pem\n", dir);
    rc = pkc_loop_new(&a.loop);
    if (rc) {
        pkc_rtc_cert_free(cert);
        return cli_fail("event loop", rc);
    }
    pkc_rtc_config cfg;
    pkc_rtc_config_default(&cfg);
    cfg.cert = cert;
    cfg.stun_servers = a.o.stun;
    cfg.n_stun_servers = a.o.n_stun;
    cfg.socket_config.port_min = cfg.socket_config.port_max = a.o.port;
    cfg.socket_config.loopback = !a.o.no_loopback;
    pkc_rtc_callbacks cb = {.state = on_state,
                            .candidate = on_candidate,
                            .channel = on_channel,
                            .open = on_open,
                            .message = on_message,
                            .buffered_amount_low = on_low,
                            .close = on_close,
                            .incoming = on_incoming};
    if (a.o.listen) {
        char *sdp = NULL;
        rc = pkc_rtc_socket_new(a.loop, &cfg.socket_config, &a.sock);
        if (rc == 0)
            rc = pkc_rtc_listen(a.sock, &cfg, &cb, &a, &sdp);
        pkc_rtc_cert_free(cert);
        if (rc) {
            pkc_rtc_socket_free(a.sock);
            pkc_loop_free(a.loop);
            return cli_fail("listen", rc);
        }
        print_json(json_pack("{s:s, s:s}", "type", "answer", "sdp", sdp));
        free(sdp);
        rc = pkc_loop_run(a.loop, (int)(a.o.timeout * 1000));
        if (rc == PKC_ERR_TIMEOUT)
            fprintf(stderr, "pkc: --timeout reached\n");
        for (int i = 0; i < 64; i++)
            pkc_rtc_peer_free(a.peers[i]);
        pkc_rtc_socket_free(a.sock);
        pkc_loop_free(a.loop);
        return a.accepted ? CLI_OK : CLI_FAIL;
    }
    rc = pkc_rtc_peer_new(a.loop, &cfg, &cb, &a, &a.peer);
    pkc_rtc_cert_free(cert);
    if (rc) {
        pkc_loop_free(a.loop);
        return cli_fail("peer connection", rc);
    }
    if (a.o.bench) {
        a.payload = calloc(1, a.o.msg_size);
        pkc_rtc_channel_options co;
        pkc_rtc_channel_options_default(&co);
        co.protocol = "pkc-sink";
        rc = pkc_rtc_channel_new(a.peer, "bench", &co, &a.bench_ch);
        if (rc == 0)
            pkc_rtc_channel_set_buffered_amount_low_threshold(a.bench_ch, 1024 * 1024);
    } else if (a.o.offer) {
        /* An offerer's channels exist before the offer. */
        a.opened = 1;
        open_channels(&a);
    }
    if (rc == 0 && (a.o.offer || a.o.bench)) {
        char *offer;
        rc = pkc_rtc_peer_create_offer(a.peer, &offer);
        if (rc == 0) {
            free(offer);
            if (pkc_rtc_peer_is_gathering_done(a.peer))
                print_description(&a, "offer");
        }
    }
    if (rc) {
        cli_fail("offer", rc);
    } else {
        pthread_t th;
        pthread_create(&th, NULL, stdin_thread, &a);
        pthread_detach(th);
        (void)on_timeout;
        rc = pkc_loop_run(a.loop, (int)(a.o.timeout * 1000));
        if (rc == PKC_ERR_TIMEOUT) {
            fprintf(stderr, "pkc: --timeout reached\n");
            if (a.o.bench)
                a.failed = 1;
        }
        rc = 0;
    }
    pkc_rtc_peer_free(a.peer);
    pkc_loop_free(a.loop);
    free(a.payload);
    return rc || a.failed ? CLI_FAIL : CLI_OK;
}

CLI_COMMAND(rtc, 30, "echo|bench [options]", "WebRTC data channel diagnostics (echo peer, benchmark)",
            rtc_help, run_rtc)
