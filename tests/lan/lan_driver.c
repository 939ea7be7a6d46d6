/*
 * lan_driver: one discovering node for tests/lan/netns.sh, on a real libuv
 * loop: the pkc_lan engine with the lan_io sockets, and a made-up ICE-lite
 * listener (random credentials and fingerprint; its addresses are the
 * host's with --listen-port). Prints one line per event on stdout:
 *
 *   ready <peer id>                  started
 *   found <peer id> <room id> <addr> a peer of one of our rooms
 *   other                            a verified announcement of no room of ours
 *   full                             --want peers found: the room is satisfied
 *   stats <name>=<n> ...             at the end (SIGTERM, SIGINT or --timeout)
 *
 * Options: --room NAME (room secret = H("pkc-test-room", NAME); repeatable),
 * --no-lan, --port P, --registry DIR, --no-registry, --no-ipv4, --no-ipv6,
 * --want N, --listen-port P, --timeout MS.
 *
 * Never run it outside a network namespace made for the purpose: it
 * multicasts on every interface.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "crypto/kdf.h"
#include "discovery/lan.h"
#include "node/lan_io.h"
#include "node/loop.h"
#include "pkc.h"
#include "util/clock.h"
#include "util/rng.h"
#include "util/text.h"

#define MAX_ROOMS 4
#define MAX_FOUND 64

static struct {
    pkc_loop *loop;
    pkc_lan *lan;
    pkc_lan_io *io;
    pkc_identity *id;
    uv_timer_t tick, stop;
    uv_signal_t sigterm, sigint;
    uint8_t rooms[MAX_ROOMS][PKC_ROOM_ID_BYTES];
    size_t n_rooms;
    unsigned want;
    int full;
    char found[MAX_FOUND][PKC_PEER_ID_SIZE];
    size_t n_found;
    uint64_t other_rooms;
    int stopping;
} d;

static void schedule(void);

static void on_tick(uv_timer_t *t)
{
    (void)t;
    if (pkc_lan_tick(d.lan) != 0)
        fprintf(stderr, "lan_driver: tick: %s\n", pkc_errmsg());
    schedule();
}

static void schedule(void)
{
    if (d.stopping)
        return;
    uint64_t deadline = pkc_lan_get_deadline(d.lan);
    if (deadline == UINT64_MAX) {
        uv_timer_stop(&d.tick);
        return;
    }
    uint64_t now = pkc_clock_mono_us(pkc_clock_system());
    uint64_t ms = deadline > now ? (deadline - now + 999) / 1000 : 0;
    uv_timer_start(&d.tick, on_tick, ms, 0);
}

static void on_send(void *ud, pkc_lan *lan, const uint8_t *data, size_t len)
{
    (void)ud, (void)lan;
    if (d.io && pkc_lan_io_send(d.io, data, len) < 0)
        fprintf(stderr, "lan_driver: send: %s\n", pkc_errmsg());
}

static void on_found(void *ud, pkc_lan *lan, const pkc_lan_peer *p)
{
    (void)ud, (void)lan;
    char room[2 * PKC_ROOM_ID_BYTES + 1];
    pkc_hex_encode(room, p->room_id, PKC_ROOM_ID_BYTES);
    printf("found %s %s %s\n", p->peer_id, room, p->n_addresses ? p->addresses[0] : "-");
    size_t i = 0;
    while (i < d.n_found && strcmp(d.found[i], p->peer_id) != 0)
        i++;
    if (i == d.n_found && d.n_found < MAX_FOUND)
        memcpy(d.found[d.n_found++], p->peer_id, PKC_PEER_ID_SIZE);
}

static void on_receive(void *ud, const uint8_t *data, size_t len, const struct sockaddr *from)
{
    (void)ud;
    const uint8_t *src;
    size_t src_len;
    if (from->sa_family == AF_INET) {
        src = (const uint8_t *)&((const struct sockaddr_in *)from)->sin_addr;
        src_len = 4;
    } else {
        src = (const uint8_t *)&((const struct sockaddr_in6 *)from)->sin6_addr;
        src_len = 16;
    }
    (void)pkc_lan_receive(d.lan, data, len, src, src_len);
    pkc_lan_stats st;
    pkc_lan_get_stats(d.lan, &st);
    for (; d.other_rooms < st.other_rooms; d.other_rooms++)
        printf("other\n");
    /* This driver connects to nobody: a room counts as satisfied once it
     * found --want peers, which is what slows the announcements down. */
    if (d.want && !d.full && d.n_found >= d.want) {
        for (size_t i = 0; i < d.n_rooms; i++)
            (void)pkc_lan_set_room_status(d.lan, d.rooms[i], d.want, d.want);
        d.full = 1;
        printf("full\n");
    }
    schedule();
}

static void finish(void)
{
    if (d.stopping)
        return;
    d.stopping = 1;
    pkc_lan_stats st;
    pkc_lan_get_stats(d.lan, &st);
    pkc_lan_io_stats io;
    memset(&io, 0, sizeof io);
    if (d.io)
        pkc_lan_io_get_stats(d.io, &io);
    printf("stats sent=%llu received=%llu accepted=%llu reported=%llu own=%llu duplicate=%llu "
           "other_rooms=%llu rate_limited=%llu malformed=%llu stale=%llu bad_signature=%llu "
           "io_sent=%llu io_errors=%llu io_received=%llu if4=%zu if6=%zu registry_peers=%zu\n",
           (unsigned long long)st.sent, (unsigned long long)st.received,
           (unsigned long long)st.accepted, (unsigned long long)st.reported,
           (unsigned long long)st.own, (unsigned long long)st.duplicate,
           (unsigned long long)st.other_rooms, (unsigned long long)st.rate_limited,
           (unsigned long long)st.malformed, (unsigned long long)st.stale,
           (unsigned long long)st.bad_signature, (unsigned long long)io.sent,
           (unsigned long long)io.send_errors, (unsigned long long)io.received, io.interfaces4,
           io.interfaces6, io.registry_peers);
    pkc_lan_io_stop(d.io);
    d.io = NULL;
    uv_close((uv_handle_t *)&d.tick, NULL);
    uv_close((uv_handle_t *)&d.stop, NULL);
    uv_close((uv_handle_t *)&d.sigterm, NULL);
    uv_close((uv_handle_t *)&d.sigint, NULL);
    pkc_loop_stop(d.loop);
}

static void on_stop_timer(uv_timer_t *t)
{
    (void)t;
    finish();
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)s, (void)sig;
    finish();
}

/* The listener's host candidates: every interface address (link-local IPv6
 * ones need a zone, which addresses cannot carry) with `port`. */
static size_t listener_addresses(unsigned port, char out[][64], size_t cap)
{
    uv_interface_address_t *ifs;
    int count;
    size_t n = 0;
    if (uv_interface_addresses(&ifs, &count) != 0)
        return 0;
    for (int i = 0; i < count && n < cap; i++) {
        char ip[INET6_ADDRSTRLEN];
        if (ifs[i].address.address4.sin_family == AF_INET) {
            inet_ntop(AF_INET, &ifs[i].address.address4.sin_addr, ip, sizeof ip);
            snprintf(out[n++], 64, "udp:%s:%u", ip, port);
        } else if (ifs[i].address.address6.sin6_family == AF_INET6 &&
                   !IN6_IS_ADDR_LINKLOCAL(&ifs[i].address.address6.sin6_addr)) {
            inet_ntop(AF_INET6, &ifs[i].address.address6.sin6_addr, ip, sizeof ip);
            snprintf(out[n++], 64, "udp:[%s]:%u", ip, port);
        }
    }
    uv_free_interface_addresses(ifs, count);
    return n;
}

static void usage(void)
{
    fprintf(stderr, "usage: lan_driver [--room NAME]... [--no-lan] [--port P] [--registry DIR | "
                    "--no-registry] [--no-ipv4] [--no-ipv6] [--want N] [--listen-port P] "
                    "[--timeout MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    pkc_lan_io_config io_cfg;
    pkc_lan_io_config_default(&io_cfg);
    pkc_lan_config cfg;
    pkc_lan_config_default(&cfg);
    unsigned listen_port = 40000, timeout_ms = 20000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--room") == 0 && v && d.n_rooms < MAX_ROOMS) {
            uint8_t secret[PKC_ROOM_SECRET_BYTES];
            pkc_hash_labeled(secret, sizeof secret, "pkc-test-room", v, strlen(v));
            pkc_room_key k;
            pkc_room_key_derive(secret, &k);
            memcpy(d.rooms[d.n_rooms++], k.id, PKC_ROOM_ID_BYTES);
            i++;
        } else if (strcmp(a, "--no-lan") == 0) {
            cfg.enabled = 0;
        } else if (strcmp(a, "--port") == 0 && v) {
            io_cfg.port = (uint16_t)atoi(v);
            i++;
        } else if (strcmp(a, "--registry") == 0 && v) {
            io_cfg.registry_dir = v;
            i++;
        } else if (strcmp(a, "--no-registry") == 0) {
            io_cfg.registry_dir = "";
        } else if (strcmp(a, "--no-ipv4") == 0) {
            io_cfg.ipv4 = 0;
        } else if (strcmp(a, "--no-ipv6") == 0) {
            io_cfg.ipv6 = 0;
        } else if (strcmp(a, "--want") == 0 && v) {
            d.want = (unsigned)atoi(v);
            i++;
        } else if (strcmp(a, "--listen-port") == 0 && v) {
            listen_port = (unsigned)atoi(v);
            i++;
        } else if (strcmp(a, "--timeout") == 0 && v) {
            timeout_ms = (unsigned)atoi(v);
            i++;
        } else {
            usage();
        }
    }
    const pkc_clock *clock = pkc_clock_system();
    const pkc_rng *rng = pkc_rng_system();
    if (pkc_identity_generate(rng, &d.id) || pkc_loop_new(&d.loop)) {
        fprintf(stderr, "lan_driver: %s\n", pkc_errmsg());
        return 1;
    }
    pkc_lan_callbacks cb = {.send = on_send, .found = on_found};
    if (pkc_lan_new(&cfg, &cb, NULL, d.id, clock, rng, &d.lan)) {
        fprintf(stderr, "lan_driver: %s\n", pkc_errmsg());
        return 1;
    }
    /* A made-up listener: what a real node takes from its ICE-lite socket. */
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
    char ufrag[9], pwd[25];
    for (int i = 0; i < 8; i++)
        ufrag[i] = chars[pkc_rng_below(rng, 64)];
    for (int i = 0; i < 24; i++)
        pwd[i] = chars[pkc_rng_below(rng, 64)];
    ufrag[8] = pwd[24] = 0;
    uint8_t fp[32];
    pkc_rng_fill(rng, fp, sizeof fp);
    char addr_buf[8][64];
    const char *addrs[8];
    size_t n_addrs = listener_addresses(listen_port, addr_buf, 8);
    for (size_t i = 0; i < n_addrs; i++)
        addrs[i] = addr_buf[i];
    if (pkc_lan_set_listener(d.lan, addrs, n_addrs, ufrag, pwd, fp)) {
        fprintf(stderr, "lan_driver: listener: %s\n", pkc_errmsg());
        return 1;
    }
    for (size_t i = 0; i < d.n_rooms; i++)
        if (pkc_lan_join(d.lan, d.rooms[i])) {
            fprintf(stderr, "lan_driver: join: %s\n", pkc_errmsg());
            return 1;
        }

    /* --no-lan: no socket at all, as the node does. */
    if (cfg.enabled && pkc_lan_io_start(d.loop, &io_cfg, on_receive, NULL, &d.io)) {
        fprintf(stderr, "lan_driver: %s\n", pkc_errmsg());
        return 1;
    }
    uv_loop_t *uv = &d.loop->uv;
    uv_timer_init(uv, &d.tick);
    uv_timer_init(uv, &d.stop);
    uv_signal_init(uv, &d.sigterm);
    uv_signal_init(uv, &d.sigint);
    uv_timer_start(&d.stop, on_stop_timer, timeout_ms, 0);
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    printf("ready %s\n", pkc_identity_get_peer_id(d.id));
    schedule();
    (void)pkc_loop_run(d.loop, -1);
    pkc_loop_free(d.loop);
    pkc_lan_free(d.lan);
    pkc_identity_free(d.id);
    return 0;
}
