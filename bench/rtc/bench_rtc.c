/* bench-rtc: memory of idle WebRTC connections. Connects N pairs of peers
 * in this process over loopback (each peer with its own UDP socket, one
 * open channel each), lets them idle, and reports the growth of the
 * resident set per connection as one JSON line.
 *   bench-rtc [--pairs N] [--idle-ms MS] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkc.h"

typedef struct side {
    pkc_rtc_peer *peer;
    int connected, open;
} side;

static pkc_loop *loop;
static int total_open, want_open;

static void on_state(void *ud, pkc_rtc_peer *p, pkc_rtc_state st)
{
    (void)p;
    side *s = ud;
    if (st == PKC_RTC_CONNECTED)
        s->connected = 1;
    if (st == PKC_RTC_FAILED)
        fprintf(stderr, "bench-rtc: a connection failed\n");
}

/* Both callbacks count through this one, typed: calling a callback from
 * another with its void * arguments swapped compiles, and wrote into the
 * library's channel (the API change to user_data first left on_channel
 * calling on_open(ch, ud), so `side *s = ch` set a field of the channel:
 * the upper half of its list link, and a later walk of the channels
 * crashed). */
static void side_opened(side *s)
{
    s->open = 1;
    if (++total_open == want_open)
        pkc_loop_stop(loop);
}

static void on_open(void *ud, pkc_rtc_channel *ch)
{
    (void)ch;
    side_opened(ud);
}

static void on_channel(void *ud, pkc_rtc_peer *p, pkc_rtc_channel *ch)
{
    (void)p;
    (void)ch;
    side_opened(ud);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
    int pairs = 50, idle_ms = 3000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--pairs") == 0)
            pairs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--idle-ms") == 0)
            idle_ms = atoi(argv[i + 1]);
    }
    if (pkc_loop_new(&loop) != 0)
        return 1;
    pkc_rtc_cert *cert;
    if (pkc_rtc_cert_generate(&cert) != 0)
        return 1;
    side *sides = calloc((size_t)pairs * 2, sizeof *sides);
    pkc_rtc_config cfg;
    pkc_rtc_config_default(&cfg);
    cfg.cert = cert;
    cfg.socket_config.ipv6 = 0;
    cfg.socket_config.loopback = 1;

    /* Warm up: one pair, so that one-time allocations (usrsctp, OpenSSL,
     * libuv) are in the baseline, not in the per-connection figure. */
    int warm = 1;
    long base = 0;
    side *warm_sides = calloc(2, sizeof *warm_sides);
    for (int round = 0; round < 2; round++) {
        int n = round == 0 ? warm : pairs;
        side *ss = round == 0 ? warm_sides : sides;
        total_open = 0;
        want_open = 2 * n;
        for (int i = 0; i < n; i++) {
            side *a = &ss[2 * i], *b = &ss[2 * i + 1];
            pkc_rtc_callbacks cb = {.state = on_state, .channel = on_channel, .open = on_open};
            pkc_rtc_channel *ch;
            char *offer, *answer;
            if (pkc_rtc_peer_new(loop, &cfg, &cb, a, &a->peer) ||
                pkc_rtc_peer_new(loop, &cfg, &cb, b, &b->peer) ||
                pkc_rtc_channel_new(a->peer, "idle", NULL, &ch) ||
                pkc_rtc_peer_create_offer(a->peer, &offer) ||
                pkc_rtc_peer_set_remote(b->peer, PKC_RTC_OFFER, offer) ||
                pkc_rtc_peer_create_answer(b->peer, &answer) ||
                pkc_rtc_peer_set_remote(a->peer, PKC_RTC_ANSWER, answer)) {
                fprintf(stderr, "bench-rtc: %s\n", pkc_errmsg());
                return 1;
            }
            free(offer);
            free(answer);
        }
        if (pkc_loop_run(loop, 60000) == PKC_ERR_TIMEOUT) {
            fprintf(stderr, "bench-rtc: only %d of %d channels opened\n", total_open, want_open);
            return 1;
        }
        pkc_loop_run(loop, round == 0 ? 500 : idle_ms); /* idle: consent checks, SCTP timers */
        if (round == 0)
            base = rss_kib();
    }
    long after = rss_kib();
    double per = (double)(after - base) / (2.0 * pairs);
    printf("{\"connections\":%d,\"rss_base_kib\":%ld,\"rss_kib\":%ld,\"kib_per_connection\":%.1f}\n",
           2 * pairs, base, after, per);
    fflush(stdout);
    for (int i = 0; i < 2 * pairs; i++)
        pkc_rtc_peer_free(sides[i].peer);
    for (int i = 0; i < 2; i++)
        pkc_rtc_peer_free(warm_sides[i].peer);
    free(sides);
    free(warm_sides);
    pkc_rtc_cert_free(cert);
    pkc_loop_free(loop);
    return 0;
}
