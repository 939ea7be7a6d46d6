/* test_node.c: the node's API in one process, with LAN discovery off (no
 * packet leaves the host): creation and its errors, the data directory's
 * lock, documents, the inbox, rooms remembered across restarts, the three
 * ways of running (own thread, caller's thread, caller's loop) and calls
 * from other threads. Nodes talking to each other are tests/node/. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery/dnsrec.h"
#include "discovery/lan_wire.h"
#include "node/node_int.h"
#include "rtc/stun.h"
#include "store/db.h"
#include "util/text.h"
#include "test.h"

static void config(pkc_node_config *cfg, const char *dir)
{
    pkc_node_config_default(cfg);
    cfg->data_dir = dir;
    cfg->lan = 0;
}

typedef struct seen {
    int messages;
    char last[64];
    int docs;
} seen;

static void on_message(void *ud, pkc_node *node, const pkc_node_message *m)
{
    (void)node;
    seen *s = ud;
    s->messages++;
    snprintf(s->last, sizeof s->last, "%.*s", (int)m->len, (const char *)m->data);
}

static void on_doc(void *ud, pkc_node *node, const char *room, const char *doc, int local)
{
    (void)node;
    (void)room;
    (void)doc;
    (void)local;
    ((seen *)ud)->docs++;
}

static int count_inbox(void *ud, const pkc_node_message *m)
{
    seen *s = ud;
    s->messages++;
    snprintf(s->last, sizeof s->last, "%.*s", (int)m->len, (const char *)m->data);
    return 0;
}

TEST(node, creation_errors_say_what_is_wrong)
{
    pkc_node_config cfg;
    pkc_node *node = NULL;
    config(&cfg, NULL);
    CHECK_ERR(pkc_node_new(&cfg, NULL, NULL, &node), PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "data_dir") != NULL);
    config(&cfg, pkc_test_tmpdir());
    cfg.max_peers = 0;
    CHECK_ERR(pkc_node_new(&cfg, NULL, NULL, &node), PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "max_peers") != NULL);
    config(&cfg, pkc_test_tmpdir());
    const char *rooms[] = {"short"};
    cfg.rooms = rooms;
    cfg.n_rooms = 1;
    CHECK_ERR(pkc_node_new(&cfg, NULL, NULL, &node), PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "at least 8") != NULL);
    CHECK(node == NULL);
    CHECK_ERR(pkc_node_new_versioned(99, &cfg, PKC_NODE_CALLBACKS_VERSION, NULL, NULL, &node),
              PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "version 99") != NULL);
}

/* A data directory whose parents do not exist yet (the default
 * ~/.local/share/pkc on a fresh account) is made, parents too, 0700; a
 * path through a file says so. */
TEST(node, data_directory_is_made_with_its_parents)
{
    char dir[4200], file[4300], sub[4400];
    snprintf(dir, sizeof dir, "%s/fresh/.local/share/pkc", pkc_test_tmpdir());
    pkc_node_config cfg;
    config(&cfg, dir);
    pkc_node *node = NULL;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    pkc_node_free(node);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    snprintf(file, sizeof file, "%s/identity.key", dir);
    snprintf(sub, sizeof sub, "%s/sub", file);
    config(&cfg, sub);
    node = NULL;
    CHECK(pkc_node_new(&cfg, NULL, NULL, &node) != 0);
    CHECK(strstr(pkc_errmsg(), "data directory") != NULL);
    CHECK(node == NULL);
}

TEST(node, one_node_per_data_directory)
{
    const char *dir = pkc_test_tmpdir();
    pkc_node_config cfg;
    config(&cfg, dir);
    pkc_node *a, *b = NULL;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &a));
    CHECK_ERR(pkc_node_new(&cfg, NULL, NULL, &b), PKC_ERR_AGAIN);
    CHECK(strstr(pkc_errmsg(), "another node runs") != NULL);
    pkc_node_free(a);
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &b));
    pkc_node_free(b);
}

TEST(node, documents_inbox_and_rooms_survive_a_restart)
{
    const char *dir = pkc_test_tmpdir();
    pkc_node_config cfg;
    config(&cfg, dir);
    seen s = {0};
    pkc_node_callbacks cb = {.message = on_message, .doc = on_doc};
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, &cb, &s, &node));
    char id[PKC_PEER_ID_SIZE];
    snprintf(id, sizeof id, "%s", pkc_node_get_peer_id(node));
    /* Not running: the calls run on this thread. */
    CHECK_OK(pkc_node_doc_set_json(node, NULL, "notes", "title", "\"shopping\""));
    CHECK_OK(pkc_node_doc_set_json(node, "local", "notes", "items", "[1, 2, {\"x\": null}]"));
    CHECK(s.docs >= 2);
    CHECK_ERR(pkc_node_doc_set_json(node, NULL, "notes", "bad", "{nope"), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_node_doc_set_json(node, "nowhere", "notes", "k", "1"), PKC_ERR_NOT_FOUND);
    CHECK(strstr(pkc_errmsg(), "nowhere") != NULL);
    CHECK_OK(pkc_node_broadcast(node, NULL, "hello", 5, NULL));
    CHECK_EQ(s.messages, 1);
    CHECK_STR(s.last, "hello");
    char room[17];
    CHECK_OK(pkc_node_join(node, "correct horse battery staple", "garden", room));
    CHECK_ERR(pkc_node_join(node, "correct horse battery staple", NULL, room), PKC_ERR_EXISTS);
    pkc_node_free(node);

    /* A restart with the same configuration: everything is back. */
    s = (seen){0};
    CHECK_OK(pkc_node_new(&cfg, &cb, &s, &node));
    CHECK_STR(pkc_node_get_peer_id(node), id);
    char *json = NULL;
    CHECK_OK(pkc_node_doc_get_json(node, NULL, "notes", NULL, &json));
    CHECK_STR(json, "{\"title\":\"shopping\",\"items\":[1,2,{\"x\":null}]}");
    free(json);
    CHECK_OK(pkc_node_doc_get_json(node, "local", "notes", "title", &json));
    CHECK_STR(json, "\"shopping\"");
    free(json);
    CHECK_ERR(pkc_node_doc_get_json(node, "local", "notes", "absent", &json), PKC_ERR_NOT_FOUND);
    CHECK_ERR(pkc_node_doc_get_json(node, "local", "nodoc", NULL, &json), PKC_ERR_NOT_FOUND);
    pkc_node_room_info rooms[4];
    CHECK_EQ(pkc_node_get_rooms(node, rooms, 4), 2);
    CHECK_STR(rooms[0].name, "local");
    CHECK_STR(rooms[1].name, "garden");
    CHECK_STR(rooms[1].id, room);
    /* The inbox kept the broadcast. */
    s = (seen){0};
    CHECK_OK(pkc_node_inbox(node, "local", 0, 0, count_inbox, &s));
    CHECK_EQ(s.messages, 1);
    CHECK_STR(s.last, "hello");
    CHECK_ERR(pkc_node_inbox(node, "local", 0, 0, NULL, NULL), PKC_ERR_INVALID_ARG);
    pkc_node_free(node);
}

TEST(node, inbox_lists_in_order_and_by_room)
{
    const char *dir = pkc_test_tmpdir();
    pkc_node_config cfg;
    config(&cfg, dir);
    const char *rooms[] = {"a long enough phrase"};
    cfg.rooms = rooms;
    cfg.n_rooms = 1;
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    CHECK_OK(pkc_node_broadcast(node, "local", "one", 3, NULL));
    CHECK_OK(pkc_node_broadcast(node, NULL, "two", 3, NULL)); /* the private room: default */
    CHECK_OK(pkc_node_broadcast(node, "local", "three", 5, NULL));
    seen s = {0};
    CHECK_OK(pkc_node_inbox(node, NULL, 0, 0, count_inbox, &s));
    CHECK_EQ(s.messages, 3);
    CHECK_STR(s.last, "three");
    s = (seen){0};
    CHECK_OK(pkc_node_inbox(node, "local", 0, 0, count_inbox, &s));
    CHECK_EQ(s.messages, 2);
    s = (seen){0};
    CHECK_OK(pkc_node_inbox(node, NULL, 0, 1, count_inbox, &s));
    CHECK_EQ(s.messages, 1);
    CHECK_STR(s.last, "one");
    uint8_t big[60001] = {0};
    CHECK_ERR(pkc_node_broadcast(node, NULL, big, sizeof big, NULL), PKC_ERR_TOO_LARGE);
    CHECK_ERR(pkc_node_send(node, NULL, "pkc1zzzz", "x", 1, NULL), PKC_ERR_MALFORMED);
    pkc_node_free(node);
}

typedef struct caller {
    pkc_node *node;
    int rc;
    int done;
} caller;

static void *call_from_thread(void *arg)
{
    caller *c = arg;
    c->rc = pkc_node_doc_set_json(c->node, NULL, "shared", "from", "\"thread\"");
    if (c->rc == 0)
        c->rc = pkc_node_doc_set_json(c->node, NULL, "shared", "missing", "{") ==
                        PKC_ERR_MALFORMED &&
                        strstr(pkc_errmsg(), "not JSON") != NULL
                    ? 0
                    : -1;
    __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

TEST(node, runs_on_the_callers_loop_and_takes_calls_from_other_threads)
{
    pkc_node_config cfg;
    config(&cfg, pkc_test_tmpdir());
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    CHECK_EQ(pkc_node_get_fd(node), -1);
    CHECK_OK(pkc_node_open(node));
    CHECK_ERR(pkc_node_open(node), PKC_ERR_STATE);
    CHECK(pkc_node_get_fd(node) >= 0);
    CHECK(pkc_node_get_port(node) != 0);
    caller c = {node, -99, 0};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, call_from_thread, &c), 0);
    /* Drive the node as an event loop would until the thread's calls are done. */
    while (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST)) {
        struct pollfd p = {pkc_node_get_fd(node), POLLIN, 0};
        int timeout = pkc_node_get_timeout(node);
        (void)poll(&p, 1, timeout < 0 || timeout > 100 ? 100 : timeout);
        CHECK_OK(pkc_node_process(node));
    }
    pthread_join(t, NULL);
    CHECK_OK(c.rc);
    char *json = NULL;
    CHECK_OK(pkc_node_doc_get_json(node, NULL, "shared", "from", &json));
    CHECK_STR(json, "\"thread\"");
    free(json);
    pkc_node_metrics m;
    pkc_node_get_metrics(node, &m);
    CHECK_EQ(m.healthy, 1);
    CHECK_EQ(m.connected_peers, 0);
    CHECK(m.state_bytes > 0);
    pkc_node_stop(node);
    CHECK_ERR(pkc_node_process(node), PKC_ERR_STATE);
    pkc_node_get_metrics(node, &m);
    CHECK_EQ(m.healthy, 0);
    pkc_node_free(node);
}

TEST(node, runs_on_its_own_thread_and_stops)
{
    pkc_node_config cfg;
    config(&cfg, pkc_test_tmpdir());
    seen s = {0};
    pkc_node_callbacks cb = {.message = on_message};
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, &cb, &s, &node));
    CHECK_OK(pkc_node_start(node));
    CHECK_ERR(pkc_node_start(node), PKC_ERR_STATE);
    CHECK_ERR(pkc_node_run(node), PKC_ERR_STATE);
    CHECK_OK(pkc_node_broadcast(node, NULL, "hi", 2, NULL));
    CHECK_EQ(s.messages, 1); /* the call waited for the loop thread */
    CHECK_ERR(pkc_node_leave(node, "nowhere"), PKC_ERR_NOT_FOUND);
    CHECK(strstr(pkc_errmsg(), "nowhere") != NULL); /* the message came back with the code */
    pkc_node_stop(node);
    pkc_node_stop(node);
    CHECK_ERR(pkc_node_start(node), PKC_ERR_STATE);
    pkc_node_free(node);
}

/* The TXT strings of a zone line "NAME. TTL IN TXT "s1" "s2"..." (no
 * escapes: a record's text has none) into `s`; returns how many. */
static size_t zone_strings(char *line, pkc_dnsrec_txt *s, size_t max)
{
    size_t n = 0;
    char *q = strchr(line, '"');
    while (q != NULL && n < max) {
        char *end = strchr(q + 1, '"');
        if (end == NULL)
            break;
        s[n].data = (const uint8_t *)q + 1;
        s[n].len = (size_t)(end - q - 1);
        n++;
        q = strchr(end + 1, '"');
    }
    return n;
}

TEST(node, dns_record_of_a_running_node)
{
    pkc_node_config cfg;
    config(&cfg, pkc_test_tmpdir());
    const char *rooms[] = {"a phrase for the seed"};
    cfg.rooms = rooms;
    cfg.n_rooms = 1;
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    pkc_node_room_info ri[4];
    size_t nr = pkc_node_get_rooms(node, ri, 4);
    const char *room = NULL;
    for (size_t i = 0; i < nr && i < 4; i++)
        if (!ri[i].local)
            room = ri[i].id;
    CHECK(room != NULL);
    char line[PKC_NODE_DNS_RECORD_MAX];
    pkc_node_dns_record_options o = {.room = room, .domain = "Example.org"};
    CHECK_ERR(pkc_node_dns_record(node, &o, line, sizeof line), PKC_ERR_STATE);
    CHECK_OK(pkc_node_start(node));
    int len = pkc_node_dns_record(node, &o, line, sizeof line);
    CHECK(len > 0 && (size_t)len == strlen(line));
    CHECK(strncmp(line, "_pkc.example.org. 300 IN TXT \"pkc1=", 35) == 0);
    pkc_dnsrec_txt s[PKC_DNSREC_STRINGS_MAX];
    size_t ns = zone_strings(line, s, PKC_DNSREC_STRINGS_MAX);
    CHECK(ns >= 1);
    pkc_dnsrec rec;
    CHECK_OK(pkc_dnsrec_parse_txt(s, ns, &rec));
    /* Ours, for this room, with our listener's dial information. */
    char hex[17];
    pkc_hex_encode(hex, rec.room_id, 8);
    CHECK_STR(hex, room);
    CHECK_STR(rec.peer_id, pkc_node_get_peer_id(node));
    CHECK_STR(rec.dial.ufrag, node->lufrag);
    CHECK_MEM(rec.dial.fingerprint, node->cert_fp, 32);
    CHECK(rec.dial.n_addresses >= 1);
    CHECK_STR(rec.dial.addresses[0], node->laddrs[0]);
    CHECK_OK(pkc_dnsrec_check(&rec, rec.room_id, pkc_node_get_peer_id(node), 0));
    /* The next record is newer, even within the same millisecond. */
    uint64_t first = rec.sequence;
    o.per_peer = 1;
    o.ttl_s = 3600;
    CHECK(pkc_node_dns_record(node, &o, line, sizeof line) > 0);
    char want[128];
    snprintf(want, sizeof want, "_pkc.%s.example.org. 3600 IN TXT ", pkc_node_get_peer_id(node));
    CHECK(strncmp(line, want, strlen(want)) == 0);
    ns = zone_strings(line, s, PKC_DNSREC_STRINGS_MAX);
    CHECK_OK(pkc_dnsrec_parse_txt(s, ns, &rec));
    CHECK(rec.sequence > first);
    CHECK_ERR(pkc_dnsrec_check(&rec, rec.room_id, NULL, rec.sequence), PKC_ERR_STALE);
    /* Refusals. */
    CHECK_ERR(pkc_node_dns_record(node, &o, line, 40), PKC_ERR_TOO_LARGE);
    o.ttl_s = PKC_DNSREC_TTL_MAX + 1u;
    CHECK_ERR(pkc_node_dns_record(node, &o, line, sizeof line), PKC_ERR_INVALID_ARG);
    o.ttl_s = 0;
    o.domain = "-bad.example";
    CHECK_ERR(pkc_node_dns_record(node, &o, line, sizeof line), PKC_ERR_INVALID_ARG);
    o.domain = "example.org";
    o.room = "nowhere";
    CHECK_ERR(pkc_node_dns_record(node, &o, line, sizeof line), PKC_ERR_NOT_FOUND);
    pkc_node_free(node);
}

/* A STUN server on loopback, played by the test: answers the next Binding
 * request of a round other than `skip` (a txid) with `mapped`. Returns 0,
 * or -1 if none came within `ms`. */
static int fake_stun_answer(int fd, const char *mapped, int ms, uint8_t txid[12], const uint8_t *skip)
{
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, ms) != 1)
            return -1;
        uint8_t buf[1500];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        pkc_stun_msg m;
        if (n <= 0 || pkc_stun_decode(buf, (size_t)n, &m) != 0 ||
            PKC_STUN_CLASS(m.type) != PKC_STUN_REQUEST)
            continue;
        if (skip && memcmp(m.txid, skip, 12) == 0)
            continue; /* a retransmission of the round already answered */
        memcpy(txid, m.txid, 12);
        pkc_addr a;
        if (pkc_addr_parse(mapped, &a) != 0)
            return -1;
        uint8_t out[128];
        pkc_buf b = {out, 0, sizeof out, sizeof out, 0};
        pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_SUCCESS, m.txid);
        pkc_stun_add_address(&b, PKC_STUN_ATTR_XOR_MAPPED_ADDRESS, &a, 1);
        if (pkc_stun_finish(&b, NULL, 0, 1) != 0)
            return -1;
        sendto(fd, out, b.len, 0, (struct sockaddr *)&from, fl);
        return 0;
    }
}

/* Whether the node's DNS record for `room` ends its addresses with `want`
 * (the reflexive address comes after the host ones). */
static int record_ends_with(pkc_node *node, const char *room, const char *want)
{
    char line[PKC_NODE_DNS_RECORD_MAX];
    pkc_node_dns_record_options o = {.room = room, .domain = "example.org"};
    if (pkc_node_dns_record(node, &o, line, sizeof line) <= 0)
        return 0;
    pkc_dnsrec_txt s[PKC_DNSREC_STRINGS_MAX];
    size_t ns = zone_strings(line, s, PKC_DNSREC_STRINGS_MAX);
    pkc_dnsrec rec;
    if (ns == 0 || pkc_dnsrec_parse_txt(s, ns, &rec) != 0 || rec.dial.n_addresses < 2)
        return 0;
    return strcmp(rec.dial.addresses[rec.dial.n_addresses - 1], want) == 0;
}

/* With a STUN server, the node learns its reflexive address on its shared
 * socket and gives it, after the host addresses, in DNS records and
 * invitations; a later refresh (every 10 s) that finds another mapping
 * (NAT rebinding) replaces it. */
TEST(node, reflexive_address_from_stun_in_its_dial_information)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    CHECK(bind(fd, (struct sockaddr *)&sa, sl) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    char server[32];
    /* A name: resolved by the node once, at start. */
    snprintf(server, sizeof server, "localhost:%u", ntohs(sa.sin_port));
    pkc_node_config cfg;
    config(&cfg, pkc_test_tmpdir());
    const char *rooms[] = {"a phrase for the reflexive test"};
    const char *stun[] = {server};
    cfg.rooms = rooms;
    cfg.n_rooms = 1;
    cfg.stun_servers = stun;
    cfg.n_stun_servers = 1;
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    pkc_node_room_info ri[4];
    size_t nr = pkc_node_get_rooms(node, ri, 4);
    const char *room = NULL;
    for (size_t i = 0; i < nr && i < 4; i++)
        if (!ri[i].local)
            room = ri[i].id;
    CHECK(room != NULL);
    CHECK_OK(pkc_node_start(node));
    uint8_t first[12], second[12];
    CHECK_EQ(fake_stun_answer(fd, "203.0.113.7:4242", 5000, first, NULL), 0);
    int found = 0;
    for (int i = 0; i < 500 && !found; i++) {
        found = record_ends_with(node, room, "udp:203.0.113.7:4242");
        if (!found)
            poll(NULL, 0, 10);
    }
    CHECK(found);
    pkc_node_invitation inv;
    pkc_node_invite_options io = {.room = room, .one_step = 1};
    CHECK_OK(pkc_node_invite_create(node, &io, &inv));
    pkc_invite off;
    CHECK_OK(pkc_invite_parse(inv.code, strlen(inv.code), &off));
    CHECK(off.dial.n_addresses >= 2);
    CHECK_STR(off.dial.addresses[off.dial.n_addresses - 1], "udp:203.0.113.7:4242");
    CHECK_STR(off.dial.addresses[0], node->laddrs[0]);
    /* The next round sees another mapping. */
    CHECK_EQ(fake_stun_answer(fd, "203.0.113.7:20001", 15000, second, first), 0);
    found = 0;
    for (int i = 0; i < 500 && !found; i++) {
        found = record_ends_with(node, room, "udp:203.0.113.7:20001");
        if (!found)
            poll(NULL, 0, 10);
    }
    CHECK(found);
    pkc_node_stop(node);
    CHECK_EQ(node->nat_changes, 1); /* read once its loop thread ended */
    pkc_node_free(node);
    close(fd);
}

TEST(node, lists_its_invitations_without_their_secrets)
{
    pkc_node_config cfg;
    config(&cfg, pkc_test_tmpdir());
    const char *rooms[] = {"a phrase for the invitations"};
    cfg.rooms = rooms;
    cfg.n_rooms = 1;
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    pkc_node_invite_info ii[4];
    CHECK_EQ(pkc_node_get_invitations(node, ii, 4), 0);
    CHECK_OK(pkc_node_start(node));
    pkc_node_invitation inv[2];
    pkc_node_invite_options o = {.expires_s = 60};
    CHECK_OK(pkc_node_invite_create(node, &o, &inv[0]));
    o = (pkc_node_invite_options){.single_use = 1, .one_step = 1};
    CHECK_OK(pkc_node_invite_create(node, &o, &inv[1]));
    memset(ii, 0xa5, sizeof ii);
    CHECK_EQ(pkc_node_get_invitations(node, ii, 4), 2);
    /* Newest first, as made. */
    CHECK_STR(ii[0].id, inv[1].id);
    CHECK_STR(ii[0].room, inv[1].room);
    CHECK_STR(ii[0].room_name, inv[1].room_name);
    CHECK_EQ(ii[0].expires_ms, inv[1].expires_ms);
    CHECK(ii[0].single_use && ii[0].one_step && ii[0].mine && !ii[0].used);
    CHECK_STR(ii[1].id, inv[0].id);
    CHECK_EQ(ii[1].expires_ms, inv[0].expires_ms);
    CHECK(!ii[1].single_use && !ii[1].one_step && ii[1].mine && !ii[1].used);
    /* Fewer slots than invitations: those written, and how many there are. */
    memset(ii, 0, sizeof ii);
    CHECK_EQ(pkc_node_get_invitations(node, ii, 1), 2);
    CHECK_STR(ii[0].id, inv[1].id);
    CHECK_EQ(ii[1].id[0], 0);
    CHECK_EQ(pkc_node_get_invitations(node, NULL, 0), 2);
    /* A version this library does not know: nothing written, and why. */
    CHECK_EQ(pkc_node_get_invitations_versioned(node, 9, ii, 4), 0);
    CHECK(strstr(pkc_errmsg(), "version 9") != NULL);
    CHECK_EQ(ii[0].id[0], inv[1].id[0]);
    pkc_node_free(node);

    /* Ours are kept across a restart. */
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    CHECK_EQ(pkc_node_get_invitations(node, ii, 4), 2);
    CHECK(strcmp(ii[0].id, inv[0].id) == 0 || strcmp(ii[1].id, inv[0].id) == 0);
    pkc_node_free(node);
}

typedef struct burst {
    seen *s;
    int count;
    int fail; /* what fn returns after its broadcasts */
    int calls_inside[4]; /* doc set, nested batch, leave, doc transact from inside fn */
    int messages_inside; /* message callbacks seen while fn ran */
} burst;

static int nested(void *ud, pkc_node *node)
{
    (void)ud;
    (void)node;
    return 0;
}

static int burst_fn(void *ud, pkc_node *node)
{
    burst *b = ud;
    for (int i = 0; i < b->count; i++) {
        char text[16];
        int len = snprintf(text, sizeof text, "b%d", i);
        int rc = pkc_node_broadcast(node, NULL, text, (size_t)len, NULL);
        if (rc)
            return rc;
    }
    b->calls_inside[0] = pkc_node_doc_set_json(node, NULL, "d", "k", "1");
    b->calls_inside[1] = pkc_node_batch(node, nested, NULL);
    b->calls_inside[2] = pkc_node_leave(node, "local");
    b->messages_inside = b->s->messages;
    return b->fail;
}

/* pkc_node_batch: one commit for a burst, reported and sent after it;
 * all or nothing; no document change, leave or nested batch inside. */
TEST(node, batch_stores_a_burst_all_or_nothing)
{
    pkc_node_config cfg;
    config(&cfg, pkc_test_tmpdir());
    seen s = {0};
    pkc_node_callbacks cb = {.message = on_message};
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, &cb, &s, &node));
    CHECK_OK(pkc_node_start(node));
    burst b = {.s = &s, .count = 3};
    CHECK_OK(pkc_node_batch(node, burst_fn, &b));
    CHECK_EQ(b.messages_inside, 0); /* nothing told before the commit */
    CHECK_EQ(b.calls_inside[0], PKC_ERR_STATE);
    CHECK_EQ(b.calls_inside[1], PKC_ERR_STATE);
    CHECK_EQ(b.calls_inside[2], PKC_ERR_STATE);
    CHECK_EQ(s.messages, 3);
    CHECK_STR(s.last, "b2");
    /* fn fails after two broadcasts: neither is kept or told. */
    b = (burst){.s = &s, .count = 2, .fail = PKC_ERR_RANGE};
    CHECK_ERR(pkc_node_batch(node, burst_fn, &b), PKC_ERR_RANGE);
    CHECK(strstr(pkc_errmsg(), "nothing of the batch was kept") != NULL);
    b = (burst){.s = &s, .count = 1, .fail = 7};
    CHECK_ERR(pkc_node_batch(node, burst_fn, &b), PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "returned 7") != NULL);
    CHECK_EQ(s.messages, 3);
    /* No fn: refused. */
    b = (burst){.s = &s, .count = 1};
    CHECK_ERR(pkc_node_batch(node, NULL, &b), PKC_ERR_INVALID_ARG);
    seen listed = {0};
    CHECK_OK(pkc_node_inbox(node, NULL, 0, 0, count_inbox, &listed));
    CHECK_EQ(listed.messages, 3);
    CHECK_STR(listed.last, "b2");
    /* The node goes on as before: a plain broadcast, a document change. */
    CHECK_OK(pkc_node_broadcast(node, NULL, "after", 5, NULL));
    CHECK_EQ(s.messages, 4);
    CHECK_OK(pkc_node_doc_set_json(node, NULL, "d", "k", "1"));
    pkc_node_free(node);

    /* After a restart the batch is there (it was committed). */
    s = (seen){0};
    CHECK_OK(pkc_node_new(&cfg, &cb, &s, &node));
    listed = (seen){0};
    CHECK_OK(pkc_node_inbox(node, NULL, 0, 0, count_inbox, &listed));
    CHECK_EQ(listed.messages, 4);
    pkc_node_free(node);
}

static int count_updates(void *ud, const pkc_db_doc_info *doc)
{
    *(uint64_t *)ud = doc->updates;
    return 0;
}

/* Documents are compacted in the background (the merge on a worker
 * thread) once they have many updates, and nothing is lost. */
/* pkc_node_get_docs: one row per open document with its sync state. An
 * update from another node whose predecessor is missing leaves the
 * document pending; the predecessor resolves it and is the last remote
 * update. Stored bytes and rows are the database's. */
static uint8_t *doc_state(pkc_node *node, const char *name, const uint8_t *sv, size_t sv_len,
                          size_t *len)
{
    node_doc *d;
    uint8_t *u = NULL;
    if (node_doc_open(node_room_find(node, "local"), name, &d) != 0 ||
        pkc_ydoc_encode_state(d->doc, sv, sv_len, &u, len) != 0)
        return NULL;
    return u;
}

TEST(node, lists_documents_with_their_sync_state)
{
    pkc_node_config cfg;
    config(&cfg, pkc_test_tmpdir());
    pkc_node *node, *other;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    pkc_node_doc_info di[4];
    CHECK_EQ(pkc_node_get_docs(node, NULL, di, 4), 0);
    CHECK_OK(pkc_node_doc_set_json(node, "local", "notes", "a", "1"));
    CHECK_OK(pkc_node_doc_set_json(node, "local", "notes", "b", "\"two\""));
    char garden[17];
    CHECK_OK(pkc_node_join(node, "correct horse battery staple", "garden", garden));
    CHECK_OK(pkc_node_doc_set_json(node, garden, "plan", "x", "1"));

    CHECK_EQ(pkc_node_get_docs(node, NULL, NULL, 0), 2);
    CHECK_EQ(pkc_node_get_docs(node, NULL, di, 4), 2);
    const pkc_node_doc_info *notes = strcmp(di[0].name, "notes") == 0 ? &di[0] : &di[1];
    const pkc_node_doc_info *plan = notes == &di[0] ? &di[1] : &di[0];
    CHECK_STR(notes->name, "notes");
    CHECK_STR(plan->name, "plan");
    CHECK_STR(plan->room, garden);
    CHECK_EQ(notes->stored_updates, 2);
    CHECK_EQ(notes->updates_since_compact, 2);
    CHECK_EQ(plan->stored_updates, 1);
    CHECK(notes->stored_bytes > plan->stored_bytes);
    CHECK_EQ(notes->pending, 0);
    CHECK_EQ(notes->last_remote_ms, 0);
    CHECK_EQ(pkc_node_get_docs(node, garden, di, 4), 1);
    CHECK_STR(di[0].name, "plan");
    CHECK_EQ(pkc_node_get_docs(node, "nowhere", di, 4), 0);
    CHECK(strstr(pkc_errmsg(), "nowhere") != NULL);
    CHECK_EQ(pkc_node_get_docs_versioned(node, PKC_NODE_DOC_INFO_VERSION + 1, NULL, di, 4), 0);
    CHECK(strstr(pkc_errmsg(), "pkc_node_doc_info") != NULL);

    /* Two updates of another node, the second applied first. */
    config(&cfg, pkc_test_tmpdir());
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &other));
    CHECK_OK(pkc_node_doc_set_json(other, "local", "shared", "first", "1"));
    size_t len1, sv_len, len2;
    uint8_t *u1 = doc_state(other, "shared", NULL, 0, &len1);
    CHECK(u1 != NULL);
    node_doc *od;
    CHECK_OK(node_doc_open(node_room_find(other, "local"), "shared", &od));
    uint8_t *sv = NULL;
    CHECK_OK(pkc_ydoc_encode_state_vector(od->doc, &sv, &sv_len));
    CHECK_OK(pkc_node_doc_set_json(other, "local", "shared", "second", "2"));
    uint8_t *u2 = doc_state(other, "shared", sv, sv_len, &len2);
    CHECK(u2 != NULL);
    node_doc_remote_update(node_room_find(node, "local"), "shared", u2, len2, "other");
    CHECK_EQ(pkc_node_get_docs(node, "local", di, 4), 2);
    CHECK_STR(di[1].name, "shared");
    CHECK_EQ(di[1].pending, 1);
    CHECK_EQ(di[1].last_remote_ms, 0); /* nothing applied yet */
    node_doc_remote_update(node_room_find(node, "local"), "shared", u1, len1, "other");
    CHECK_EQ(pkc_node_get_docs(node, "local", di, 4), 2);
    CHECK_EQ(di[1].pending, 0);
    CHECK(di[1].last_remote_ms > 0);
    CHECK_EQ(di[1].stored_updates, 1); /* one change applied: both updates' structs */
    CHECK_EQ(di[0].last_remote_ms, 0);
    free(u1);
    free(u2);
    free(sv);
    /* Alone, the node knows no peer beyond its neighbours (the relayed
     * listing over connected nodes: tests/node/dashboard.sh). */
    pkc_node_relayed_info ri[2];
    CHECK_EQ(pkc_node_get_relayed_peers(node, ri, 2), 0);
    CHECK_EQ(pkc_node_get_relayed_peers_versioned(node, PKC_NODE_RELAYED_INFO_VERSION + 1, ri, 2),
             0);
    CHECK(strstr(pkc_errmsg(), "pkc_node_relayed_info") != NULL);
    pkc_node_free(other);
    pkc_node_free(node);
}

TEST(node, compaction_in_the_background_keeps_every_change)
{
    const char *dir = pkc_test_tmpdir();
    pkc_node_config cfg;
    config(&cfg, dir);
    pkc_node *node;
    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    CHECK_OK(pkc_node_open(node));
    char key[16];
    for (int i = 0; i < 700; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK_OK(pkc_node_doc_set_json(node, "local", "many", key, "1"));
        CHECK_OK(pkc_node_process(node));
    }
    /* The merge runs on libuv's worker thread; the loop swaps it in. */
    for (int i = 0; i < 2000 && node->compacting; i++) {
        struct pollfd p = {pkc_node_get_fd(node), POLLIN, 0};
        (void)poll(&p, 1, 10);
        CHECK_OK(pkc_node_process(node));
    }
    CHECK(!node->compacting);
    CHECK_EQ(node->errors, 0);
    pkc_node_free(node);

    pkc_db *db;
    pkc_db_config dc;
    pkc_db_config_default(&dc);
    CHECK_OK(pkc_db_open(dir, &dc, &db));
    pkc_room_key local;
    uint8_t secret[PKC_ROOM_SECRET_BYTES];
    pkc_lan_local_room_secret(secret);
    pkc_room_key_derive(secret, &local);
    uint64_t updates = 0;
    int rc = pkc_db_doc_list(db, local.id, count_updates, &updates);
    pkc_db_close(db);
    CHECK_OK(rc);
    CHECK(updates < 700 - 400); /* 500 of them became one */

    CHECK_OK(pkc_node_new(&cfg, NULL, NULL, &node));
    char *json = NULL;
    CHECK_OK(pkc_node_doc_get_json(node, "local", "many", NULL, &json));
    int keys = 0;
    for (const char *p = json; (p = strstr(p, "\":1")) != NULL; p++)
        keys++;
    free(json);
    CHECK_EQ(keys, 700);
    pkc_node_free(node);
}

/* Sync progress (node_doc.c): a message arriving in fragments is reported
 * at most once per NODE_PROGRESS_US, besides its first and final report. */
TEST(node, sync_progress_is_rate_limited)
{
    /* The first report and a final one are always due. */
    CHECK(node_progress_due(0, 0, 0, 0));
    CHECK(node_progress_due(0, 5000000, 5000000, 0));
    CHECK(node_progress_due(3, 1000000, 1000001, 1));
    /* Others once the interval has passed since the last. */
    CHECK(!node_progress_due(1, 1000000, 1000000 + NODE_PROGRESS_US - 1, 0));
    CHECK(node_progress_due(1, 1000000, 1000000 + NODE_PROGRESS_US, 0));
    /* A clock that went back is not a reason to go silent. */
    CHECK(node_progress_due(1, 1000000, 999999, 0));

    /* A stream of fragments every 7 ms for 3 s, starting at 10 s: reports
     * at 10 a second at most, each at least the interval after the last. */
    unsigned reports = 0;
    uint64_t last = 0, start = 10000000, end = start + 3000000;
    for (uint64_t now = start; now < end; now += 7000) {
        if (node_progress_due(reports, last, now, 0)) {
            if (reports)
                CHECK(now - last >= NODE_PROGRESS_US);
            reports++;
            last = now;
        }
    }
    CHECK(reports >= 3000000 / NODE_PROGRESS_US - 3);
    CHECK(reports <= 3000000 / NODE_PROGRESS_US + 1);
    CHECK(node_progress_due(reports, last, end, 1));
}
