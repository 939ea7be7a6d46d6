/* progress.h: how far long work has come, for a person waiting at a
 * terminal, and nothing at all when the output is not one (docs/cli.md,
 * "Progress").
 *
 * One look for every command: a document arriving reads
 *   syncing notes from pkc1abcdefgh...: 45% (470 KiB of 1.0 MiB)
 * and a wait that lasts over a second
 *   waiting for the inviter... 12 s
 * on one line of standard error, redrawn in place and erased when it ends. */
#ifndef PKC_CLI_PROGRESS_H
#define PKC_CLI_PROGRESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* `n` bytes for a person: "812 B", "470 KiB", "1.0 MiB", "2.3 GiB". */
void cli_bytes(char *out, size_t cap, uint64_t n);

/* Printable ASCII of `in` (a name from a peer: no escape sequence of its
 * reaches the terminal), other bytes as '?', at most `max` characters. */
void cli_ascii(char *out, size_t cap, const char *in, size_t max);

/* One line about a document's state arriving (pkc_node_sync_event's
 * fields): "syncing DOC from PEER...: P% (R of T)" while it arrives,
 * "synced DOC from PEER... (T)" once done, and "sync of DOC from
 * PEER... stopped at P% (R of T)" when given up. */
void cli_sync_text(char *out, size_t cap, const char *doc, const char *peer_id,
                   uint64_t received, uint64_t total, int done);

/* A wait shown on standard error while it lasts: after a second, "WHAT...
 * N s" redrawn every second by a thread of its own; erased by
 * cli_wait_end(). Nothing when standard error is not a terminal. */
typedef struct cli_wait {
    char what[96];
    int on; /* the thread runs */
    int stop;
    int shown; /* a line is on the screen */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} cli_wait;

void cli_wait_begin(cli_wait *w, const char *what);
/* Erases the line (before the caller prints) and stops. Safe when begin
 * showed nothing; call once per begin. */
void cli_wait_end(cli_wait *w);

/* Whether progress lines may be drawn on `fd` (a terminal, and TERM is
 * not "dumb"). */
int cli_progress_on(int fd);

#endif
