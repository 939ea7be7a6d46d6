/* control_client.h: the pkc command's client of a running node's control
 * socket, DATA/control.sock (docs/cli.md, "Control socket"): one JSON
 * object per line each way. Shared by the commands that talk to a node
 * (cmd_node.c: status, peers, send, inbox, doc, invite...; cmd_dashboard.c). */
#ifndef PKC_CLI_CONTROL_CLIENT_H
#define PKC_CLI_CONTROL_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Exit status when no node runs on the data directory. */
#define CLI_NO_NODE 3

typedef struct cli_conn {
    int fd;
    FILE *in; /* reads fd line by line */
} cli_conn;

/* Connects to the node of cli_data_dir(). Returns CLI_OK, CLI_NO_NODE
 * (said plainly, with what to do) or CLI_FAIL, after printing why. */
int cli_control_connect(cli_conn *c);
/* Writes `req` as one line; takes its reference. CLI_OK or CLI_FAIL. */
int cli_control_send(cli_conn *c, json_t *req);
/* Reads one line as JSON; NULL at the end (the node went away). */
json_t *cli_control_read(cli_conn *c);
void cli_control_close(cli_conn *c);
/* Connects, sends `req` (its reference taken); reads lines until the
 * reply ({"ok":...}), calling `each` for the ones before it. Returns the
 * reply (caller decrefs; the connection stays open: cli_control_close it)
 * or NULL with the exit status in *rc, after printing why (closed). */
json_t *cli_control_call(json_t *req, cli_conn *c, int *rc, void (*each)(json_t *, void *),
                         void *ud);

/* The same, quiet: why a call failed goes into `why` (`cap` bytes) instead
 * of stderr, for a caller that owns the screen (pkc dashboard). */
int cli_control_connect_why(cli_conn *c, char *why, size_t cap);
int cli_control_send_why(cli_conn *c, json_t *req, char *why, size_t cap);
json_t *cli_control_call_why(json_t *req, cli_conn *c, int *rc, void (*each)(json_t *, void *),
                             void *ud, char *why, size_t cap);

#endif
