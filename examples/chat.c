/*
 * chat.c: a terminal chat over the pkc node API (include/pkc.h, "node").
 *
 *   chat [--room PHRASE] DATA_DIR
 *
 * Joins the local room (every pkc node on this host and LAN) or, with
 * --room, the private room of PHRASE, and prints peers as they join and
 * leave and messages as they arrive. Each line typed is sent to the room;
 * "/to PEER TEXT" sends TEXT to one peer only (sealed to it, and kept in
 * the outbox until it says it got it); "/peers" lists the neighbours.
 * Ctrl-D or Ctrl-C quits. Run it twice with two data directories:
 *
 *   chat /tmp/alice          chat /tmp/bob
 *
 * The node runs on a thread of its own (pkc_node_start): its callbacks run
 * there, while this program's main thread reads the terminal and calls the
 * node, which is allowed from any thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pkc.h>

/* The one room this chat shows: its hex id, as events name it. */
static char room[17];
/* Written by the signal handler to wake the main thread. */
static int wake[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    ssize_t w = write(wake[1], "s", 1);
    (void)w;
}

/* ---- callbacks: on the node's thread, one at a time ---- */

static void on_peer(void *ud, pkc_node *node, const pkc_node_peer_event *ev)
{
    if (strcmp(ev->room, room) == 0)
        printf("* %s %s\n", ev->peer_id, ev->connected ? "joined" : "left");
    fflush(stdout);
}

static void on_message(void *ud, pkc_node *node, const pkc_node_message *m)
{
    /* Our own broadcasts are stored in our inbox too: don't echo them. */
    if (strcmp(m->room, room) != 0 || strcmp(m->from, pkc_node_get_peer_id(node)) == 0)
        return;
    printf("%s%s: %.*s\n", m->from, m->direct ? " (to you)" : "", (int)m->len,
           (const char *)m->data);
    fflush(stdout);
}

static void on_delivered(void *ud, pkc_node *node, const uint8_t id[PKC_MSG_ID_BYTES])
{
    printf("* delivered %02x%02x%02x%02x\n", id[0], id[1], id[2], id[3]);
    fflush(stdout);
}

/* ---- the main thread: one line typed ---- */

static void list_peers(pkc_node *node)
{
    pkc_node_peer_info peers[32];
    size_t n = pkc_node_get_peers(node, peers, 32), shown = 0;
    for (size_t i = 0; i < n && i < 32; i++) {
        if (strcmp(peers[i].room, room) != 0)
            continue; /* a neighbour in another room this node is in */
        printf("* %s at %s\n", peers[i].peer_id, peers[i].address);
        shown++;
    }
    if (shown == 0)
        printf("* nobody here yet\n");
}

static void handle_line(pkc_node *node, char *line)
{
    line[strcspn(line, "\r\n")] = 0;
    if (line[0] == 0)
        return;
    uint8_t id[PKC_MSG_ID_BYTES];
    int rc = 0;
    if (strcmp(line, "/peers") == 0) {
        list_peers(node);
    } else if (strncmp(line, "/to ", 4) == 0) {
        char *peer = line + 4, *text = strchr(peer, ' ');
        if (text == NULL) {
            fprintf(stderr, "usage: /to PEER TEXT\n");
            return;
        }
        *text++ = 0;
        rc = pkc_node_send(node, room, peer, text, strlen(text), id);
        if (rc == 0)
            printf("* queued %02x%02x%02x%02x for %s\n", id[0], id[1], id[2], id[3], peer);
    } else {
        rc = pkc_node_broadcast(node, room, line, strlen(line), NULL);
    }
    /* Every failing pkc call says why in pkc_errmsg(), on this thread. */
    if (rc)
        fprintf(stderr, "not sent: %s\n", pkc_errmsg());
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *phrase = NULL;
    if (argc == 4 && strcmp(argv[1], "--room") == 0)
        phrase = argv[2];
    else if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s [--room PHRASE] DATA_DIR\n", argv[0]);
        return 2;
    }

    pkc_node_config cfg;
    pkc_node_config_default(&cfg); /* first the defaults, then what we change */
    cfg.data_dir = argv[argc - 1];
    cfg.local_room = phrase == NULL; /* a private room alone, or the local room */
    pkc_node_callbacks cb = {.peer = on_peer, .message = on_message, .delivered = on_delivered};
    pkc_node *node;
    if (pkc_node_new(&cfg, &cb, NULL, &node) != 0) {
        fprintf(stderr, "chat: %s\n", pkc_errmsg());
        return 1;
    }
    /* Which room: the private one (joined here; a room joined before is
     * remembered, which pkc_node_join reports as PKC_ERR_EXISTS), else the
     * local one. */
    int rc = 0;
    if (phrase) {
        rc = pkc_node_join(node, phrase, NULL, room);
        rc = rc == PKC_ERR_EXISTS ? 0 : rc;
    } else {
        pkc_node_room_info rooms[16];
        size_t n = pkc_node_get_rooms(node, rooms, 16);
        for (size_t i = 0; i < n && i < 16; i++)
            if (rooms[i].local)
                memcpy(room, rooms[i].id, sizeof room);
    }
    if (rc == 0 && pipe(wake) == 0) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = pkc_node_start(node); /* from here on, callbacks may run */
    } else if (rc == 0) {
        rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "chat: %s\n", rc == -1 ? strerror(errno) : pkc_errmsg());
        pkc_node_free(node);
        return 1;
    }
    printf("* you are %s in room %s (UDP port %u)\n", pkc_node_get_peer_id(node), room,
           pkc_node_get_port(node));
    printf("* type a line to send it; /to PEER TEXT for one peer; /peers; Ctrl-D quits\n");
    fflush(stdout);

    /* Wait for a line or a signal; the node works on its own thread. stdin
     * unbuffered, so that poll() sees every line that getline() has not
     * read yet. */
    setvbuf(stdin, NULL, _IONBF, 0);
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        struct pollfd p[2] = {{0, POLLIN, 0}, {wake[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break; /* Ctrl-C */
        if (p[0].revents) {
            if (getline(&line, &cap, stdin) < 0)
                break; /* Ctrl-D */
            handle_line(node, line);
        }
    }
    free(line);
    /* Says goodbye to the neighbours, writes what is pending, joins the
     * node's thread. */
    pkc_node_free(node);
    close(wake[0]);
    close(wake[1]);
    return 0;
}
