/* control_client.c: the client of a running node's control socket
 * (control_client.h). Moved out of cmd_node.c unchanged but for the names. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "control_client.h"

/* Says why into `why` when given, else on stderr. */
PKC_PRINTF(3, 4) static void say(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && cap) {
        vsnprintf(why, cap, fmt, ap);
    } else {
        fputs("pkc: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

int cli_control_connect_why(cli_conn *c, char *why, size_t cap)
{
    const char *dir = cli_data_dir();
    if (dir == NULL)
        return CLI_FAIL;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/control.sock", dir) >=
        sizeof sa.sun_path) {
        say(why, cap, "the data directory path %s is too long for a Unix socket", dir);
        return CLI_FAIL;
    }
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        if (c->fd >= 0)
            close(c->fd);
        if (e == ENOENT || e == ECONNREFUSED) {
            say(why, cap, "no node runs on %s (start one with 'pkc up')", dir);
            return CLI_NO_NODE;
        }
        say(why, cap, "%s: %s", sa.sun_path, strerror(e));
        return CLI_FAIL;
    }
    c->in = fdopen(c->fd, "r");
    if (c->in == NULL) {
        say(why, cap, "%s", strerror(errno));
        close(c->fd);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_control_connect(cli_conn *c)
{
    return cli_control_connect_why(c, NULL, 0);
}

int cli_control_send_why(cli_conn *c, json_t *req, char *why, size_t cap)
{
    char *s = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (s == NULL) {
        say(why, cap, "out of memory");
        return CLI_FAIL;
    }
    size_t n = strlen(s);
    s[n] = '\n';
    ssize_t w = write(c->fd, s, n + 1);
    free(s);
    if (w != (ssize_t)(n + 1)) {
        say(why, cap, "writing to the node: %s", w < 0 ? strerror(errno) : "short write");
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_control_send(cli_conn *c, json_t *req)
{
    return cli_control_send_why(c, req, NULL, 0);
}

json_t *cli_control_read(cli_conn *c)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, c->in);
    if (n <= 0) {
        free(line);
        return NULL;
    }
    json_t *o = json_loads(line, 0, NULL);
    free(line);
    return o;
}

void cli_control_close(cli_conn *c)
{
    fclose(c->in);
}

json_t *cli_control_call_why(json_t *req, cli_conn *c, int *rc, void (*each)(json_t *, void *),
                             void *ud, char *why, size_t cap)
{
    if ((*rc = cli_control_connect_why(c, why, cap)) != CLI_OK) {
        json_decref(req);
        return NULL;
    }
    if ((*rc = cli_control_send_why(c, req, why, cap)) != CLI_OK) {
        cli_control_close(c);
        return NULL;
    }
    for (;;) {
        json_t *o = cli_control_read(c);
        if (o == NULL) {
            say(why, cap, "the node closed the connection");
            *rc = CLI_FAIL;
            cli_control_close(c);
            return NULL;
        }
        json_t *ok = json_object_get(o, "ok");
        if (ok) {
            if (!json_is_true(ok)) {
                say(why, cap, "%s", json_string_value(json_object_get(o, "error")));
                *rc = CLI_FAIL;
                json_decref(o);
                cli_control_close(c);
                return NULL;
            }
            *rc = CLI_OK;
            return o;
        }
        if (each)
            each(o, ud);
        json_decref(o);
    }
}

json_t *cli_control_call(json_t *req, cli_conn *c, int *rc, void (*each)(json_t *, void *),
                         void *ud)
{
    return cli_control_call_why(req, c, rc, each, ud, NULL, 0);
}
