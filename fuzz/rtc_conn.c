/* Fuzzes a connection's datagram input: an ICE-lite connection (as a
 * listener accepts) receives a sequence of datagrams from one address.
 * Input records: [kind][len hi][len lo][bytes]:
 *   kind 0: a raw datagram (STUN, DTLS, anything);
 *   kind 1: STUN attributes for a Binding request the harness completes
 *           with a header, the right USERNAME, MESSAGE-INTEGRITY and
 *           FINGERPRINT, so that the fuzzer reaches the authenticated
 *           paths (role conflicts, nomination, unknown attributes);
 *   kind 2: advance time by len milliseconds and run the timers.
 * Properties: no crash, no leak, no sanitizer report; every datagram the
 * connection sends is at most 1200 bytes; its state stays a valid one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/conn.h"
#include "rtc/stun.h"
#include "util/rng.h"

static pkc_rtc_cert *cert;
static size_t sent_max;

static void io_send(void *u, const pkc_addr *l, const pkc_addr *r, const uint8_t *d, size_t n)
{
    (void)u;
    (void)l;
    (void)r;
    (void)d;
    if (n > sent_max)
        sent_max = n;
}

static void io_wake(void *u)
{
    (void)u;
}

static int drop_event(void *arg, pkc_conn *c, const pkc_conn_event *ev)
{
    (void)arg;
    (void)c;
    (void)ev;
    return 0;
}

#define UFRAG "fuzzUfrg"
#define PWD "fuzzPassword0123456789ab"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (cert == NULL) {
        pkc_log_set_level(PKC_LOG_ERROR); /* bad input is logged as warnings */
        pkc_seeded_rng r;
        pkc_seeded_rng_init(&r, 1);
        if (pkc_cert_generate(&r.rng, 1700000000000, &cert) != 0)
            abort();
    }
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 42);
    pkc_conn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.cert = cert;
    cfg.max_message_size = 262144;
    cfg.max_buffered_amount = 1 << 20;
    pkc_ice_config_default(&cfg.ice);
    pkc_conn_io io = {io_send, io_wake, NULL, NULL};
    pkc_conn *c;
    if (pkc_conn_new(&cfg, &io, &rng.rng, &c) != 0)
        abort();
    pkc_addr local, remote;
    pkc_addr_parse("127.0.0.1:5000", &local);
    pkc_addr_parse("127.0.0.1:6000", &remote);
    pkc_conn_add_host(c, &local);
    if (pkc_conn_accept_lite(c, UFRAG, PWD, 0) != 0)
        abort();
    uint64_t now = 1000000;
    sent_max = 0;
    size_t off = 0;
    while (off + 3 <= size) {
        uint8_t kind = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        const uint8_t *p = data + off;
        off += len;
        if (kind % 3 == 0) {
            pkc_conn_input(c, &local, &remote, p, len, now);
        } else if (kind % 3 == 1) {
            uint8_t txid[12] = {0};
            memcpy(txid, &off, sizeof off < 12 ? sizeof off : 12);
            pkc_buf b = PKC_BUF_INIT;
            pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_REQUEST, txid);
            pkc_stun_add(&b, PKC_STUN_ATTR_USERNAME, UFRAG ":peer", strlen(UFRAG ":peer"));
            pkc_buf_push(&b, p, len & ~(size_t)3);
            if (pkc_stun_finish(&b, PWD, strlen(PWD), 1) == 0)
                pkc_conn_input(c, &local, &remote, b.data, b.len, now);
            pkc_buf_free(&b);
        } else {
            now += len * 1000;
            pkc_conn_timeout(c, now);
        }
        pkc_conn_dispatch(c, drop_event, NULL);
    }
    if (sent_max > 1200 || (unsigned)pkc_conn_state(c) > PKC_RTC_CLOSED)
        abort();
    pkc_conn_free(c);
    return 0;
}
