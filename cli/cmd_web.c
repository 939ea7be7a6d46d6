/* cmd_web.c: pkc web: serves the browser build (web/dist/, from `make web`)
 * on 127.0.0.1 for trying the page out. A small static file server: GET and
 * HEAD, a few content types (application/wasm among them, which
 * WebAssembly.instantiateStreaming needs), nothing outside the directory. The
 * page itself needs no server code: any static host serves web/dist/. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "http_req.h"

#ifndef PKC_WEB_DIST
#define PKC_WEB_DIST "web/dist"
#endif

static const char web_help[] =
    "pkc web serves the browser build, the static site that `make web` writes to\n"
    "web/dist/, on 127.0.0.1 only, and prints its address: open it in a browser.\n"
    "It answers GET and HEAD for files under the directory and nothing else; it\n"
    "stops on Ctrl-C. Any static web server can serve the same files.\n"
    "\n"
    "Options:\n"
    "  --port N     port to listen on (default 8080; 0: any free port)\n"
    "  --dir DIR    the directory to serve (default: " PKC_WEB_DIST ")\n";

#define WEB_DEFAULT_PORT 8080
#define WEB_MAX_CONNS 32
#define WEB_REQUEST_MAX 8192
#define WEB_IDLE_MS 10000
/* After the answer: how long what the client still sends is read and
 * dropped before the socket is closed (lingering close). */
#define WEB_LINGER_MS 2000

typedef struct web_conn {
    int fd;
    size_t len;
    int64_t since_ms;
    int closing; /* answered: reading to the client's end, then closed */
    char buf[WEB_REQUEST_MAX];
} web_conn;

static volatile sig_atomic_t web_stop;

static void on_signal(int sig)
{
    (void)sig;
    web_stop = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".wasm", "application/wasm"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *content_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot != NULL)
        for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
            if (strcasecmp(dot, content_types[i].ext) == 0)
                return content_types[i].type;
    return "application/octet-stream";
}

/* Writes all of `len` bytes (the socket is blocking with a send timeout). */
static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void send_head(int fd, int status, const char *reason, const char *type, long long length,
                      const char *extra)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\n"
                     "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
                     "%sConnection: close\r\n\r\n",
                     status, reason, type, length, extra ? extra : "");
    if (n > 0 && (size_t)n < sizeof head)
        (void)send_all(fd, head, (size_t)n);
}

static int send_error(int fd, int head_only, int status, const char *reason, const char *extra)
{
    char body[128];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason);
    send_head(fd, status, reason, "text/plain; charset=utf-8", n, extra);
    if (!head_only)
        (void)send_all(fd, body, (size_t)n);
    return status;
}

/* Answers one request (the bytes up to its blank line); returns the status. */
static int respond(int fd, const char *root, const char *head, size_t len, size_t *sent)
{
    *sent = 0;
    http_req req;
    req.head_only = 0; /* set by the parser once it knows the method */
    int status = http_req_parse(head, len, &req);
    if (status == 405)
        return send_error(fd, 0, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
    if (status != 0)
        return send_error(fd, req.head_only, status, "Bad Request", NULL);
    int head_only = req.head_only;
    const char *rel = req.path;
    char path[PATH_MAX + HTTP_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s%s%s", root, rel,
                     rel[strlen(rel) - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof path)
        return send_error(fd, head_only, 404, "Not Found", NULL);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if ((size_t)n + sizeof "/index.html" > sizeof path)
            return send_error(fd, head_only, 404, "Not Found", NULL);
        strcat(path, "/index.html");
    }
    /* Nothing outside the directory, not even through a symbolic link. */
    char real[PATH_MAX];
    size_t rootlen = strlen(root);
    if (realpath(path, real) == NULL || strncmp(real, root, rootlen) != 0 || real[rootlen] != '/')
        return send_error(fd, head_only, 404, "Not Found", NULL);
    int file = open(real, O_RDONLY | O_CLOEXEC);
    if (file < 0)
        return send_error(fd, head_only, 404, "Not Found", NULL);
    if (fstat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(file);
        return send_error(fd, head_only, 404, "Not Found", NULL);
    }
    send_head(fd, 200, "OK", content_type(real), (long long)st.st_size, NULL);
    if (!head_only) {
        off_t off = 0;
        while (off < st.st_size) {
            ssize_t w = sendfile(fd, file, &off, (size_t)(st.st_size - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
        }
        *sent = (size_t)off;
    }
    close(file);
    return 200;
}

/* A whole request head is in: answer it. The socket turns blocking with a
 * send timeout for the answer (files are small; a stuck reader costs at
 * most that long). */
static void serve(web_conn *c, const char *root)
{
    int flags = fcntl(c->fd, F_GETFL);
    if (flags >= 0)
        (void)fcntl(c->fd, F_SETFL, flags & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = 5};
    (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char line[160];
    size_t ll = strcspn(c->buf, "\r\n");
    snprintf(line, sizeof line, "%.*s", (int)(ll < 120 ? ll : 120), c->buf);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    size_t sent;
    int status = respond(c->fd, root, c->buf, c->len, &sent);
    fprintf(stderr, "pkc web: %s -> %d\n", line, status);
}

static void drop(web_conn *c)
{
    close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->closing = 0;
}

/* Closing a socket with bytes of the client's still unread (the rest of a
 * refused request, a body) makes the kernel send a reset, and the client
 * may lose the answer it has not read yet. So the answer is followed by our
 * end of the stream, and what comes in is read and dropped until the
 * client closes (or WEB_LINGER_MS), as web servers do. */
static void finish(web_conn *c, int64_t now)
{
    shutdown(c->fd, SHUT_WR);
    c->closing = 1;
    c->since_ms = now;
}

static int parse_opts(int argc, char **argv, long *port, const char **dir)
{
    enum { O_PORT = 1, O_DIR };
    static const struct option lo[] = {CLI_COMMON_LONG_OPTIONS,
                                       {"port", required_argument, NULL, O_PORT},
                                       {"dir", required_argument, NULL, O_DIR},
                                       {NULL, 0, NULL, 0}};
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, lo, NULL)) != -1) {
        switch (opt) {
        case O_PORT:
            *port = strtol(optarg, &end, 10);
            if (*end || end == optarg || *port < 0 || *port > 65535)
                return cli_usage_error("web", "--port needs 0..65535");
            break;
        case O_DIR:
            *dir = optarg;
            break;
        default: {
            int r = cli_common_option(opt, optarg);
            if (r < 0)
                return CLI_USAGE;
            if (r == 0)
                return cli_usage_error("web", "unknown option");
        }
        }
    }
    if (optind < argc)
        return cli_usage_error("web", "unexpected argument '%s'", argv[optind]);
    return CLI_OK;
}

static int run_web(int argc, char **argv)
{
    long port = WEB_DEFAULT_PORT;
    const char *dir = PKC_WEB_DIST;
    int rc = parse_opts(argc, argv, &port, &dir);
    if (rc != CLI_OK)
        return rc;
    if (cli_g.help) {
        cli_print_help(stdout, cli_find("web"));
        return CLI_OK;
    }
    char root[PATH_MAX];
    char probe[PATH_MAX + 16];
    if (realpath(dir, root) == NULL) {
        fprintf(stderr, "pkc: %s: %s (build the page with `make web`)\n", dir, strerror(errno));
        return CLI_FAIL;
    }
    snprintf(probe, sizeof probe, "%s/pkc.wasm", root);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "pkc: %s has no pkc.wasm (build the page with `make web`)\n", root);
        return CLI_FAIL;
    }

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        fprintf(stderr, "pkc: socket: %s\n", strerror(errno));
        return CLI_FAIL;
    }
    int one = 1;
    (void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
        fprintf(stderr, "pkc: 127.0.0.1:%ld: %s\n", port, strerror(errno));
        close(lfd);
        return CLI_FAIL;
    }
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal; /* no SA_RESTART: poll() returns */
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);
    signal(SIGPIPE, SIG_IGN);
    printf("pkc: serving %s at http://localhost:%u/ (127.0.0.1 only; Ctrl-C stops)\n", root,
           ntohs(sa.sin_port));
    fflush(stdout);

    static web_conn conns[WEB_MAX_CONNS];
    for (int i = 0; i < WEB_MAX_CONNS; i++)
        conns[i].fd = -1;
    struct pollfd pfd[WEB_MAX_CONNS + 1];
    int slot[WEB_MAX_CONNS + 1];
    while (!web_stop) {
        int n = 0, free_slots = 0;
        for (int i = 0; i < WEB_MAX_CONNS; i++) {
            if (conns[i].fd < 0) {
                free_slots++;
                continue;
            }
            pfd[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
            slot[n++] = i;
        }
        /* When every slot is taken, new connections wait in the backlog. */
        if (free_slots > 0) {
            pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
            slot[n++] = -1;
        }
        int r = poll(pfd, (nfds_t)n, 1000);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "pkc: poll: %s\n", strerror(errno));
            break;
        }
        int64_t now = now_ms();
        for (int k = 0; r > 0 && k < n; k++) {
            if (pfd[k].revents == 0)
                continue;
            if (slot[k] < 0) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    int i = 0;
                    while (i < WEB_MAX_CONNS && conns[i].fd >= 0)
                        i++;
                    if (i == WEB_MAX_CONNS) {
                        close(fd);
                        break;
                    }
                    conns[i].fd = fd;
                    conns[i].len = 0;
                    conns[i].since_ms = now;
                }
                continue;
            }
            web_conn *c = &conns[slot[k]];
            if (c->closing) {
                char sink[4096];
                ssize_t got = recv(c->fd, sink, sizeof sink, 0);
                if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
                    drop(c);
                continue;
            }
            ssize_t got = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0) {
                drop(c);
                continue;
            }
            c->len += (size_t)got;
            c->buf[c->len] = '\0';
            if (strstr(c->buf, "\r\n\r\n") != NULL) {
                serve(c, root);
                finish(c, now);
            } else if (c->len == sizeof c->buf - 1) {
                send_error(c->fd, 0, 431, "Request Header Fields Too Large", NULL);
                finish(c, now);
            }
        }
        /* A browser's speculative connection may never send a request. */
        for (int i = 0; i < WEB_MAX_CONNS; i++)
            if (conns[i].fd >= 0 &&
                now - conns[i].since_ms > (conns[i].closing ? WEB_LINGER_MS : WEB_IDLE_MS))
                drop(&conns[i]);
    }
    for (int i = 0; i < WEB_MAX_CONNS; i++)
        if (conns[i].fd >= 0)
            drop(&conns[i]);
    close(lfd);
    return CLI_OK;
}

CLI_COMMAND(web, 50, "[--port N] [--dir DIR]", "serve the browser page (make web) on localhost",
            web_help, run_web)
