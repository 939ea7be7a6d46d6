/*
 * driver.c: the pkc side of bench/node (README.md; bench_node.h): starts
 * nodes as processes of their own (peer.c), drives them and prints one
 * JSON row per line, measured as bench/node/ywebrtc/bench.mjs measures
 * y-webrtc: same runs, same samples, same clock, median [min-max].
 *
 * Runs only where loopback is the one interface (bench/node/run starts it
 * inside `unshare -n` with lo up). Environment: NB_RUNS (5), NB_PINGS
 * (100), NB_BURST (10000), NB_PEERS (4), NB_TIMEOUT_MS (15000),
 * NB_ONLY=memory,pair,twohop,sync.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pkc.h"
#include "bench_node.h"

#define WARMUP 10
#define MSG_BYTES 32
#define SYNC_BYTES (1024 * 1024)
#define MAX_PROCS 16
#define MAX_SAMPLES 4096

static int RUNS, PINGS, BURST, PEERS, TIMEOUT;
static char tmpdir[64];
static char exe[4096];
static int seq;

double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

char *bench_text(size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz     ";
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    uint32_t x = 0x2545f491u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        s[i] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
    }
    s[n] = 0;
    return s;
}

static void say(const char *fmt, ...) PKC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench/node pkc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- node processes -----------------------------------------------------------------------------
 */

typedef struct line {
    char *text;
    struct line *next;
} line;

typedef struct proc {
    pid_t pid;
    int in, out;
    int n; /* its number: data directory n<N>, stderr n<N>.err */
    char buf[65536];
    size_t len;
    line *pending;
    int eof;
    char id[64];
} proc;

static proc *procs[MAX_PROCS];

static double num(const char *l, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(l, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

static int is_ev(const char *l, const char *ev)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"ev\":\"%s\"", ev);
    return strstr(l, pat) != NULL;
}

/* Starts a node: `bench-node peer DIR MAX_PEERS WANT_TEXT`. */
static proc *spawn(unsigned max_peers, size_t want_text)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        say("pipe: %s", strerror(errno));
        exit(1);
    }
    proc *p = calloc(1, sizeof *p);
    if (p == NULL)
        exit(1);
    p->n = ++seq;
    char dir[128], err[128], maxs[16], wants[32];
    snprintf(dir, sizeof dir, "%s/n%d", tmpdir, p->n);
    snprintf(err, sizeof err, "%s/n%d.err", tmpdir, p->n);
    snprintf(maxs, sizeof maxs, "%u", max_peers);
    snprintf(wants, sizeof wants, "%zu", want_text);
    p->pid = fork();
    if (p->pid < 0) {
        say("fork: %s", strerror(errno));
        exit(1);
    }
    if (p->pid == 0) {
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (e >= 0)
            dup2(e, 2);
        char *args[] = {exe, "peer", dir, maxs, wants, NULL};
        execv(exe, args);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->in = in[1];
    p->out = out[0];
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i] == NULL) {
            procs[i] = p;
            return p;
        }
    say("too many processes");
    exit(1);
}

static void send_cmd(proc *p, const char *fmt, ...) PKC_PRINTF(2, 3);
static void send_cmd(proc *p, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    buf[n++] = '\n';
    if (write(p->in, buf, (size_t)n) != n)
        say("node %d: command not sent: %s", p->n, strerror(errno));
}

typedef int (*pred_fn)(const char *l, double arg);
static int any(const char *l, double arg)
{
    (void)l;
    (void)arg;
    return 1;
}
static int n_at_least(const char *l, double arg)
{
    return num(l, "n") >= arg;
}
static int id_is(const char *l, double arg)
{
    return num(l, "id") == arg;
}

static char *take(proc *p, const char *ev, pred_fn pred, double arg)
{
    for (line **pp = &p->pending; *pp; pp = &(*pp)->next) {
        line *x = *pp;
        if (is_ev(x->text, ev) && pred(x->text, arg)) {
            *pp = x->next;
            char *t = x->text;
            free(x);
            return t;
        }
    }
    return NULL;
}

static char failure[512];

/* The next event `ev` of `p` for which pred holds (consumed; free() it),
 * or NULL after timeout_ms or when the process is gone (failure[] says
 * why). */
static char *next(proc *p, const char *ev, pred_fn pred, double arg, int timeout_ms)
{
    double deadline = bench_now_us() + timeout_ms * 1e3;
    for (;;) {
        char *t = take(p, ev, pred, arg);
        if (t)
            return t;
        /* An error event is a failure at once. */
        char *e = take(p, "error", any, 0);
        if (e) {
            snprintf(failure, sizeof failure, "node %d: %s", p->n, e);
            free(e);
            return NULL;
        }
        if (getenv("NB_DEBUG"))
            for (line *x = p->pending; x; x = x->next)
                say("node %d pending: %s", p->n, x->text);
        if (p->eof) {
            snprintf(failure, sizeof failure,
                     "node %d exited while waiting for %s (see %s/n%d.err)", p->n, ev, tmpdir,
                     p->n);
            return NULL;
        }
        double left = deadline - bench_now_us();
        if (left <= 0) {
            snprintf(failure, sizeof failure, "no %s from node %d within %d ms", ev, p->n,
                     timeout_ms);
            return NULL;
        }
        struct pollfd pf = {p->out, POLLIN, 0};
        int r = poll(&pf, 1, (int)(left / 1e3) + 1);
        if (r <= 0)
            continue;
        ssize_t got = read(p->out, p->buf + p->len, sizeof p->buf - 1 - p->len);
        if (got <= 0) {
            p->eof = 1;
            continue;
        }
        p->len += (size_t)got;
        char *start = p->buf, *nl;
        line **tail = &p->pending;
        while (*tail)
            tail = &(*tail)->next;
        while ((nl = memchr(start, '\n', (size_t)(p->buf + p->len - start)))) {
            *nl = 0;
            line *x = malloc(sizeof *x);
            if (x == NULL || (x->text = strdup(start)) == NULL)
                exit(1);
            x->next = NULL;
            *tail = x;
            tail = &x->next;
            start = nl + 1;
        }
        p->len = (size_t)(p->buf + p->len - start);
        memmove(p->buf, start, p->len);
    }
}

/* next() that returns the event's t (or -1 on failure). */
static double next_t(proc *p, const char *ev, pred_fn pred, double arg, int timeout_ms)
{
    char *l = next(p, ev, pred, arg, timeout_ms);
    if (l == NULL)
        return -1;
    double t = num(l, "t");
    free(l);
    return t;
}

static void kill_all(void)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        proc *p = procs[i];
        if (p == NULL)
            continue;
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        close(p->in);
        close(p->out);
        while (p->pending) {
            line *x = p->pending;
            p->pending = x->next;
            free(x->text);
            free(x);
        }
        free(p);
        procs[i] = NULL;
    }
}

/* ---- rows ---------------------------------------------------------------------------------------
 */

typedef struct samples {
    double v[MAX_SAMPLES];
    size_t n;
} samples;

static void push(samples *s, double v)
{
    if (s->n < MAX_SAMPLES)
        s->v[s->n++] = v;
}

typedef struct result {
    int ok, failures;
    char reason[512];
} result;

/* runs: n runs of fn; a run that fails (a timeout, a node gone) is
 * counted, its nodes killed. */
static result runs_upto(const char *name, int n, int give_up, int (*fn)(void))
{
    result r = {0, 0, ""};
    for (int i = 0; i < n; i++) {
        if (give_up && r.ok == 0 && r.failures >= give_up) {
            say("%s: %d failures in a row, %d runs left out", name, give_up, n - i);
            break;
        }
        failure[0] = 0;
        if (fn() == 0) {
            r.ok++;
        } else {
            r.failures++;
            if (!r.reason[0])
                snprintf(r.reason, sizeof r.reason, "%s", failure);
            say("%s run %d: %s", name, i + 1, failure);
        }
        kill_all();
    }
    say("%s: %d runs", name, r.ok);
    return r;
}

static result runs(const char *name, int n, int (*fn)(void))
{
    return runs_upto(name, n, 0, fn);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double round1(double v)
{
    return (double)(long long)(v * 10 + (v < 0 ? -0.5 : 0.5)) / 10;
}

static void row(const char *name, samples *s, const result *r, const char *unit, const char *note)
{
    qsort(s->v, s->n, sizeof s->v[0], cmp_double);
    printf("{\"row\":\"%s\",\"unit\":\"%s\",\"runs\":%d,\"failures\":%d,\"samples\":%zu,", name,
           unit, r->ok, r->failures, s->n);
    if (s->n) {
        double m = s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
        printf("\"median\":%.1f,\"min\":%.1f,\"max\":%.1f,", round1(m), round1(s->v[0]),
               round1(s->v[s->n - 1]));
    } else {
        printf("\"median\":null,\"min\":null,\"max\":null,\"na\":\"");
        for (const char *c = r->reason[0] ? r->reason : "no sample"; *c; c++)
            if (*c != '"' && *c != '\\')
                putchar(*c);
        printf("\",");
    }
    printf("\"note\":\"%s\"}\n", note);
    fflush(stdout);
}

/* Least-squares slope of ys over k = 1, 2, ...: memory per further peer. */
static double slope(const double *ys, int n)
{
    double mx = (n + 1) / 2.0, my = 0, sxy = 0, sxx = 0;
    for (int i = 0; i < n; i++)
        my += ys[i] / n;
    for (int i = 0; i < n; i++) {
        sxy += (i + 1 - mx) * (ys[i] - my);
        sxx += (i + 1 - mx) * (i + 1 - mx);
    }
    return sxy / sxx;
}

static int rss_of(proc *p, double *vm, double *anon)
{
    send_cmd(p, "rss");
    char *l = next(p, "rss", any, 0, TIMEOUT);
    if (l == NULL)
        return -1;
    *vm = num(l, "rss_kib");
    *anon = num(l, "anon_kib");
    free(l);
    return 0;
}

/* The first peer id of a "peers" event, and how many there are. */
static int peers_of(proc *p, char *first, size_t cap)
{
    send_cmd(p, "peers");
    char *l = next(p, "peers", any, 0, TIMEOUT);
    if (l == NULL)
        return -1;
    int n = (int)num(l, "n");
    first[0] = 0;
    const char *s = strstr(l, "\"ids\":[\"");
    if (s) {
        s += 8;
        size_t k = strcspn(s, "\"");
        snprintf(first, cap, "%.*s", (int)(k < cap ? k : cap - 1), s);
    }
    free(l);
    return n;
}

static int started(proc *p)
{
    char *l = next(p, "started", any, 0, TIMEOUT);
    if (l == NULL)
        return -1;
    const char *s = strstr(l, "\"id\":\"");
    if (s)
        snprintf(p->id, sizeof p->id, "%.*s", (int)strcspn(s + 6, "\""), s + 6);
    free(l);
    return 0;
}

/* ---- measures -----------------------------------------------------------------------------------
 */

static samples idle, idle_anon, first, first_anon, per, per_anon, over_floor;
static double floor_median = -1; /* VmRSS of `bench-node floor`, KiB (-1: not measured) */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

#define IDLE_MS 1000

static int memory_run(void)
{
    proc *hub = spawn(8, 0);
    if (started(hub) != 0)
        return -1;
    sleep_ms(IDLE_MS); /* idle: its first announcements out, its timers run */
    double m0, a0, vm[MAX_PROCS], an[MAX_PROCS];
    if (rss_of(hub, &m0, &a0) != 0)
        return -1;
    for (int k = 1; k <= PEERS; k++) {
        spawn(8, 0);
        char *l = next(hub, "connected", n_at_least, k, TIMEOUT > 60000 ? TIMEOUT : 60000);
        if (l == NULL) {
            size_t len = strlen(failure);
            snprintf(failure + len, sizeof failure - len, " (the hub's peer %d of %d)", k, PEERS);
            return -1;
        }
        free(l);
        if (rss_of(hub, &vm[k - 1], &an[k - 1]) != 0)
            return -1;
    }
    push(&idle, m0);
    push(&idle_anon, a0);
    if (floor_median >= 0)
        push(&over_floor, m0 - floor_median);
    push(&first, vm[0] - m0);
    push(&first_anon, an[0] - a0);
    push(&per, slope(vm, PEERS));
    push(&per_anon, slope(an, PEERS));
    return 0;
}

static samples first_conn, one_hop, rate;

static int latency(proc *from, proc *to, samples *s)
{
    for (int i = 0; i < WARMUP + PINGS; i++) {
        send_cmd(from, "ping %d", i);
        char *l = next(to, "recv", id_is, i, TIMEOUT);
        if (l == NULL)
            return -1;
        if (i >= WARMUP)
            push(s, num(l, "t") - num(l, "sent"));
        free(l);
    }
    return 0;
}

static int pair_run(void)
{
    proc *a = spawn(8, 0);
    if (started(a) != 0)
        return -1;
    double t0 = bench_now_us();
    proc *b = spawn(8, 0);
    double tc = next_t(b, "connected", any, 0, TIMEOUT);
    if (tc < 0 || next_t(a, "connected", any, 0, TIMEOUT) < 0)
        return -1;
    push(&first_conn, (tc - t0) / 1e3);
    if (latency(a, b, &one_hop) != 0)
        return -1;
    /* b counts from 0 before the first message leaves a (else messages
     * counted before the reset are lost to the count and the run stalls). */
    send_cmd(b, "want_count %d", BURST);
    if (next_t(b, "counting", any, 0, TIMEOUT) < 0)
        return -1;
    send_cmd(a, "burst %d %d", BURST, MSG_BYTES);
    double ts = next_t(a, "burst_start", any, 0, TIMEOUT);
    double td = next_t(b, "count", any, 0, TIMEOUT > 60000 ? TIMEOUT : 60000);
    if (ts < 0 || td < 0)
        return -1;
    push(&rate, BURST / ((td - ts) / 1e6));
    return 0;
}

static samples two_hop;

static int twohop_run(void)
{
    /* A line A - M - C in one room: A and C take one neighbour each
     * (max_peers 1), M two. */
    proc *a = spawn(1, 0);
    if (started(a) != 0)
        return -1;
    proc *m = spawn(2, 0);
    if (started(m) != 0 || next_t(a, "connected", any, 0, TIMEOUT) < 0)
        return -1;
    /* The line is up when M holds two neighbours (C may first reach A,
     * which is full and refuses it). */
    proc *c = spawn(1, 0);
    if (started(c) != 0)
        return -1;
    char *l = next(m, "connected", n_at_least, 2, TIMEOUT);
    if (l == NULL)
        return -1;
    free(l);
    for (int to_m = 0; !to_m;) { /* and C has heard so */
        if ((l = next(c, "connected", any, 0, TIMEOUT)) == NULL)
            return -1;
        to_m = strstr(l, m->id) != NULL;
        free(l);
    }
    char pa[64], pc[64];
    if (peers_of(a, pa, sizeof pa) != 1 || peers_of(c, pc, sizeof pc) != 1 ||
        strcmp(pa, m->id) != 0 || strcmp(pc, m->id) != 0) {
        snprintf(failure, sizeof failure, "not a line A-M-C: A's neighbour %s, C's %s, M is %s", pa,
                 pc, m->id);
        return -1;
    }
    size_t before = two_hop.n;
    if (latency(a, c, &two_hop) != 0)
        return -1;
    /* Still a line after the pings: every sample went through M. */
    if (peers_of(a, pa, sizeof pa) != 1 || peers_of(c, pc, sizeof pc) != 1 ||
        strcmp(pa, m->id) != 0 || strcmp(pc, m->id) != 0) {
        two_hop.n = before;
        snprintf(failure, sizeof failure, "A and C linked during the run");
        return -1;
    }
    return 0;
}

static samples sync_join, sync_conn;
static int sync_bytes;

static int sync_run(void)
{
    proc *a = spawn(8, 0);
    if (started(a) != 0)
        return -1;
    send_cmd(a, "fill %d", sync_bytes);
    if (next_t(a, "filled", any, 0, TIMEOUT) < 0)
        return -1;
    proc *b = spawn(8, (size_t)sync_bytes);
    char *l = next(b, "text", any, 0, TIMEOUT > 30000 ? TIMEOUT : 30000);
    if (l == NULL)
        return -1;
    int ok = strstr(l, "\"ok\":true") != NULL;
    double td = num(l, "t");
    free(l);
    if (!ok) {
        snprintf(failure, sizeof failure, "synced text differs from the original");
        return -1;
    }
    double tj = next_t(b, "joining", any, 0, TIMEOUT);
    double tc = next_t(b, "connected", any, 0, TIMEOUT);
    if (tj < 0 || tc < 0)
        return -1;
    push(&sync_join, (td - tj) / 1e3);
    push(&sync_conn, (td - tc) / 1e3);
    return 0;
}

/* ---- main ---------------------------------------------------------------------------------------
 */

static int env(const char *k, int d)
{
    const char *v = getenv(k);
    return v && atoi(v) > 0 ? atoi(v) : d;
}

static int only(const char *part)
{
    const char *o = getenv("NB_ONLY");
    if (o == NULL || !o[0])
        return 1;
    size_t n = strlen(part);
    for (const char *p = o; (p = strstr(p, part)); p += n)
        if ((p == o || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void cleanup(void)
{
    kill_all();
    if (tmpdir[0] && !getenv("NB_KEEP"))
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* `bench-node floor`: the same executable with no node, only its libraries
 * loaded and OpenSSL put to work as a node does at start (a DTLS
 * certificate made); prints its VmRSS and RssAnon in KiB. What any program
 * of these libraries costs before it does anything of its own. */
static int floor_main(void)
{
    pkc_rtc_cert *cert = NULL;
    if (pkc_rtc_cert_generate(&cert) != 0) {
        fprintf(stderr, "floor: %s\n", pkc_errmsg());
        return 1;
    }
    long vm, anon;
    bench_self_rss(&vm, &anon);
    printf("%ld %ld\n", vm, anon);
    pkc_rtc_cert_free(cert);
    return 0;
}

static samples floor_vm, floor_anon, dtls_vm, dtls_static_vm;

/* measure_cmd: runs CMD, which prints "VMRSS_KIB RSSANON_KIB", and adds
 * them to VM and ANON (ANON may be NULL). */
static int measure_cmd(const char *cmd, const char *what, samples *vm_s, samples *anon_s)
{
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    long vm = -1, anon = -1;
    int ok = fscanf(p, "%ld %ld", &vm, &anon) == 2;
    if (pclose(p) != 0 || !ok || vm < 0) {
        snprintf(failure, sizeof failure, "%s failed", what);
        return -1;
    }
    push(vm_s, (double)vm);
    if (anon_s)
        push(anon_s, (double)anon);
    return 0;
}

static int floor_run(void)
{
    char cmd[sizeof exe + 16];
    snprintf(cmd, sizeof cmd, "'%s' floor", exe);
    return measure_cmd(cmd, "bench-node floor", &floor_vm, &floor_anon);
}

/* bench-dtls-floor[-static] (bench/node/floor/dtls_floor.c), beside this
 * executable: OpenSSL alone, set up for DTLS as pkc does. */
static char dtls_exe[sizeof exe + 32];
static samples *dtls_into; /* the samples of the row being measured */

static int dtls_run(void)
{
    char cmd[sizeof dtls_exe + 4];
    snprintf(cmd, sizeof cmd, "'%s'", dtls_exe);
    return measure_cmd(cmd, dtls_exe, dtls_into, NULL);
}

/* dtls_rows: the rows of bench-dtls-floor and its static build, or their
 * absence ("not built") said in the row. */
static void dtls_rows(void)
{
    static const char *const names[2] = {"bench-dtls-floor", "bench-dtls-floor-static"};
    static const char *const rows[2] = {"dtls_floor_rss_kib", "dtls_floor_static_rss_kib"};
    static const char *const notes[2] = {
        "VmRSS of a process with only OpenSSL 3, shared libraries as pkc links them: "
        "OPENSSL_init_ssl, a DTLS context, a P-256 key, a self-signed certificate, one SSL "
        "(bench/node/floor/dtls_floor.c); no pkc, no other library",
        "the same program linked statically (Debian's libssl.a, libcrypto.a, glibc)"};
    const char *slash = strrchr(exe, '/');
    for (int i = 0; i < 2; i++) {
        snprintf(dtls_exe, sizeof dtls_exe, "%.*s/%s", (int)(slash - exe), exe, names[i]);
        samples *s = dtls_into = i ? &dtls_static_vm : &dtls_vm;
        if (access(dtls_exe, X_OK) != 0) {
            result none = {0, 0, ""};
            snprintf(none.reason, sizeof none.reason, "%s not built", names[i]);
            row(rows[i], s, &none, "KiB", notes[i]);
            continue;
        }
        result r = runs(names[i], RUNS, dtls_run);
        row(rows[i], s, &r, "KiB", notes[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "peer") == 0)
        return bench_peer_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "floor") == 0)
        return floor_main();
    RUNS = env("NB_RUNS", 5);
    PINGS = env("NB_PINGS", 100);
    BURST = env("NB_BURST", 10000);
    PEERS = env("NB_PEERS", 4);
    TIMEOUT = env("NB_TIMEOUT_MS", 15000);
    if (PEERS > MAX_PROCS - 1)
        PEERS = MAX_PROCS - 1;

    struct if_nameindex *ifs = if_nameindex();
    for (struct if_nameindex *i = ifs; i && i->if_index; i++)
        if (strcmp(i->if_name, "lo") != 0) {
            say("interface %s: run inside a namespace with only lo (bench/node/run does)",
                i->if_name);
            return 2;
        }
    if_freenameindex(ifs);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        say("/proc/self/exe: %s", strerror(errno));
        return 1;
    }
    exe[n] = 0;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pkc-bench-node-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        say("mkdtemp: %s", strerror(errno));
        return 1;
    }
    /* The host registry of LAN discovery ($XDG_RUNTIME_DIR/pkc/lan): this
     * run's own. */
    setenv("XDG_RUNTIME_DIR", tmpdir, 1);
    atexit(cleanup);
    signal(SIGPIPE, SIG_IGN);

    if (only("memory")) {
        result fr = runs("floor", RUNS, floor_run);
        row("floor_rss_kib", &floor_vm, &fr, "KiB",
            "VmRSS of bench-node with no node: its libraries loaded and a DTLS certificate made "
            "(OpenSSL at work, as a node at start); the least any node process can have");
        row("floor_rss_anon_kib", &floor_anon, &fr, "KiB", "RssAnon of the same process");
        dtls_rows();
        if (floor_vm.n) /* row() sorted the samples */
            floor_median = floor_vm.n % 2 ? floor_vm.v[floor_vm.n / 2]
                                          : (floor_vm.v[floor_vm.n / 2 - 1] +
                                             floor_vm.v[floor_vm.n / 2]) / 2;
        result r = runs("memory", RUNS, memory_run);
        row("idle_rss_kib", &idle, &r, "KiB",
            "VmRSS of a node process (bench-node peer: pkc_node_start, control socket on) 1 s "
            "after it started, in the local room, announced, no peer");
        row("idle_over_floor_kib", &over_floor, &r, "KiB",
            "VmRSS of the idle node less the median of floor_rss_kib: what the node itself adds "
            "to a process of its libraries");
        row("idle_rss_anon_kib", &idle_anon, &r, "KiB",
            "RssAnon of the same process (excludes mapped code: bench-node, libc, libuv, sqlite)");
        row("first_peer_rss_kib", &first, &r, "KiB", "VmRSS added by the first connected peer");
        row("first_peer_rss_anon_kib", &first_anon, &r, "KiB",
            "RssAnon added by the first connected peer");
        char note[256];
        snprintf(note, sizeof note,
                 "VmRSS added per further connected peer: least-squares slope of VmRSS over "
                 "1..%d connected peers (full mesh), each measured when the hub reports it "
                 "connected",
                 PEERS);
        row("per_peer_rss_kib", &per, &r, "KiB", note);
        row("per_peer_rss_anon_kib", &per_anon, &r, "KiB",
            "RssAnon added per further connected peer");
    }
    if (only("pair")) {
        result r = runs("pairs", RUNS, pair_run);
        row("first_connection_ms", &first_conn, &r, "ms",
            "fork+exec of the second node process (fresh data directory: identity and DTLS "
            "certificate made, database created; the first node already running) to its peer "
            "callback (session established, in the mesh); discovery through the host registry");
        char note[256];
        snprintf(note, sizeof note,
                 "one-way, CLOCK_MONOTONIC: pkc_node_broadcast in the sender (timestamp in the "
                 "message) to the receiver's message callback; %d sequential messages per run "
                 "after %d warm-up",
                 PINGS, WARMUP);
        row("one_hop_latency_us", &one_hop, &r, "us", note);
        snprintf(note, sizeof note,
                 "%d broadcasts of %d bytes from the sender's main thread, 100 per pkc_node_batch "
                 "(one commit, one wait for the node's thread each: as y-webrtc's 100 transactions "
                 "per turn), first batch to the receiver's callback counting all",
                 BURST, MSG_BYTES);
        row("messages_per_s", &rate, &r, "msg/s", note);
    }
    if (only("twohop")) {
        result r = runs("two-hop", RUNS / 2 + 1 > 3 ? RUNS / 2 + 1 : 3, twohop_run);
        row("two_hop_latency_us", &two_hop, &r, "us",
            "routed by the mesh: A, M, C in one room, A and C with max_peers 1, M with 2 (a line "
            "A-M-C, checked before and after), a broadcast from A relayed by M; same measure as "
            "one hop");
    }
    if (only("sync")) {
        sync_bytes = SYNC_BYTES;
        result r = runs_upto("sync", RUNS, 2, sync_run);
        row("sync_1mib_ms", &sync_join, &r, "ms",
            "new node's pkc_node_new (process loaded) to its Y.Text equal to the 1 MiB original "
            "(one insert, document bench), content checked in the doc callback; given up after "
            "2 failed runs");
        row("sync_1mib_connected_ms", &sync_conn, &r, "ms",
            "new node's peer callback (session established) to its Y.Text equal to the original");
    }
    return 0;
}
