/* SCTP helpers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "fake_time.h"
#include "rtc/sctp.h"
#include "test.h"
#include "util/rng.h"

/* The fast CRC32c gives usrsctp's result for every length and alignment. */
TEST(rtc_sctp, crc32c_matches_usrsctp)
{
    pkc_seeded_rng r;
    pkc_seeded_rng_init(&r, 7);
    uint8_t buf[1300];
    pkc_rng_fill(&r.rng, buf, sizeof buf);
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += 1 + n / 7)
            CHECK_EQ_U64(pkc_sctp_crc32c(buf + off, n), usrsctp_crc32c(buf + off, n));
    /* RFC 3720 B.4: 32 bytes of zeros give 0x8a9136aa (stored little-endian). */
    uint8_t zeros[32] = {0};
    uint32_t c = pkc_sctp_crc32c(zeros, sizeof zeros);
    CHECK_EQ_U64(c, 0x8a9136aa);
}

/* Two associations wired back to back on the fake clock (1 ms each way),
 * with a filter that drops chosen packets. */
#define WIRE_MAX 256
typedef struct wire_pkt {
    int to;
    uint64_t due;
    size_t len;
    uint8_t data[1500];
} wire_pkt;
static struct {
    pkc_sctp *s[2];
    int connected[2];
    wire_pkt q[WIRE_MAX];
    size_t n;
    uint64_t init_drop_until; /* INIT chunks dropped before then */
    int drop_data;            /* DATA chunks to drop */
    uint64_t got_at;          /* when side 1 got a message */
} w;

static void w_send(void *user, const uint8_t *pkt, size_t len)
{
    int from = (int)(intptr_t)user;
    uint8_t chunk = len > 12 ? pkt[12] : 0xff;
    uint64_t now = fake_time_now();
    if (chunk == 1 && now < w.init_drop_until)
        return; /* INIT */
    if (chunk == 0 && w.drop_data > 0 && from == 0) {
        w.drop_data--;
        return; /* DATA */
    }
    if (w.n == WIRE_MAX || len > sizeof w.q[0].data)
        return;
    wire_pkt *p = &w.q[w.n++];
    p->to = 1 - from;
    p->due = now + 1000;
    p->len = len;
    memcpy(p->data, pkt, len);
}

static void w_message(void *user, uint16_t sid, uint32_t ppid, uint8_t *data, size_t len)
{
    (void)sid, (void)ppid, (void)len;
    if ((int)(intptr_t)user == 1 && !w.got_at)
        w.got_at = fake_time_now();
    free(data);
}

static void w_connected(void *user)
{
    w.connected[(int)(intptr_t)user] = 1;
}

/* Advances the fake clock by `us` in 1 ms steps, delivering what is due. */
static void w_run(uint64_t us)
{
    uint64_t end = fake_time_now() + us;
    while (fake_time_now() < end) {
        uint64_t now = fake_time_now() + 1000;
        fake_time_set(now);
        pkc_sctp_tick(now);
        for (size_t i = 0; i < w.n;) {
            if (w.q[i].due <= now) {
                wire_pkt p = w.q[i];
                w.q[i] = w.q[--w.n];
                pkc_sctp_input(w.s[p.to], p.data, p.len);
            } else {
                i++;
            }
        }
        for (int k = 0; k < 2; k++) {
            if (pkc_sctp_deadline(w.s[k]) <= now)
                pkc_sctp_timeout(w.s[k], now);
            pkc_sctp_poll(w.s[k]);
        }
    }
}

/* An association whose INITs were lost for 1.2 s starts with an RTT
 * sample of about 1.5 s (for a 2 ms round trip), and usrsctp resends a
 * lost chunk only once it is older than about three times that, whatever
 * the RTO cap: a lost HELLO waited 6 s and more on net.loss30. The
 * heartbeats sent after such a start (sctp.c, settle) bring the smoothed
 * RTT and its RTO down, and a message whose first transmission is lost
 * then arrives within a second (6 s without them). */
TEST(rtc_sctp, an_inflated_first_rtt_sample_is_corrected)
{
    memset(&w, 0, sizeof w);
    fake_time_start();
    for (int k = 0; k < 2; k++) {
        pkc_sctp_callbacks cb = {.send = w_send, .message = w_message,
                                 .connected = w_connected, .user = (void *)(intptr_t)k};
        CHECK_OK(pkc_sctp_new(PKC_SCTP_PORT, 65536, 16, &cb, &w.s[k]));
    }
    w.init_drop_until = fake_time_now() + 1200000;
    CHECK_OK(pkc_sctp_connect(w.s[0], PKC_SCTP_PORT));
    CHECK_OK(pkc_sctp_connect(w.s[1], PKC_SCTP_PORT));
    for (int i = 0; i < 100 && !(w.connected[0] && w.connected[1]); i++)
        w_run(100000);
    CHECK(w.connected[0] && w.connected[1]);
    uint32_t first = pkc_sctp_srtt_ms(w.s[0]);
    fprintf(stderr, "  first smoothed RTT %u ms\n", first);
    CHECK(first >= 1000);
    w_run(8000000);
    uint32_t settled = pkc_sctp_srtt_ms(w.s[0]);
    fprintf(stderr, "  after the heartbeats: %u ms, RTO %u ms\n", settled, pkc_sctp_rto_ms(w.s[0]));
    CHECK(settled < 100);
    CHECK(pkc_sctp_rto_ms(w.s[0]) <= 250);
    CHECK_EQ(pkc_sctp_deadline(w.s[0]), UINT64_MAX);
    w.drop_data = 1;
    uint64_t sent = fake_time_now();
    uint8_t msg[100] = {1};
    CHECK_OK(pkc_sctp_send(w.s[0], 1, PKC_PPID_BINARY, msg, sizeof msg, 0, PKC_SCTP_PR_NONE, 0));
    for (int i = 0; i < 100 && !w.got_at; i++)
        w_run(100000);
    CHECK(w.got_at != 0);
    fprintf(stderr, "  a message whose first copy was lost arrived after %llu ms\n",
            (unsigned long long)((w.got_at - sent) / 1000));
    CHECK(w.got_at - sent <= 1000000);
    pkc_sctp_free(w.s[0]);
    pkc_sctp_free(w.s[1]);
    fake_time_stop();
}
