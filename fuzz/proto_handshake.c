/*
 * Fuzzes the handshake: the record decoders, and both state machines fed
 * arbitrary records. The first byte picks the mode:
 *   0..4  decode the rest as HELLO, WELCOME, AUTH, ACCEPT or REFUSE; an
 *         accepted record re-encodes to exactly the same bytes;
 *   5..   a responder (odd) or an initiator (even) session receives the rest,
 *         cut into records by 2-byte big-endian lengths. Whatever comes, the
 *         session ends up in a valid state, reports its end at most once,
 *         and every record it sends is a well-formed handshake record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/handshake.h"
#include "util/clock.h"
#include "util/rng.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void roundtrip(uint8_t kind, const uint8_t *in, size_t len)
{
    pkc_buf b = PKC_BUF_INIT;
    int rc = -1;
    switch (kind) {
    case 0: {
        pkc_hs_hello m;
        if (pkc_hs_decode_hello(in, len, &m) == 0)
            rc = pkc_hs_encode_hello(&b, &m);
        break;
    }
    case 1: {
        pkc_hs_welcome m;
        if (pkc_hs_decode_welcome(in, len, &m) == 0) {
            rc = pkc_hs_encode_welcome_body(&b, &m);
            pkc_buf_push(&b, m.signature, 64);
            pkc_buf_push(&b, m.mac, 32);
        }
        break;
    }
    case 2: {
        pkc_hs_auth m;
        if (pkc_hs_decode_auth(in, len, &m) == 0) {
            rc = pkc_hs_encode_auth_body(&b, &m);
            pkc_buf_push(&b, m.signature, 64);
            pkc_buf_push(&b, m.mac, 32);
        }
        break;
    }
    case 3: {
        pkc_hs_accept m;
        if (pkc_hs_decode_accept(in, len, &m) == 0) {
            rc = pkc_hs_encode_accept_body(&b, &m);
            pkc_buf_push(&b, m.mac, 32);
        }
        break;
    }
    default: {
        pkc_hs_refuse m;
        if (pkc_hs_decode_refuse(in, len, &m) == 0)
            rc = pkc_hs_encode_refuse(&b, &m);
        break;
    }
    }
    if (rc == 0)
        check(b.err == 0 && b.len == len && memcmp(b.data, in, len) == 0);
    pkc_buf_free(&b);
}

typedef struct sink {
    int closed;
    int bad_output;
} sink;

static int on_send(void *user, const uint8_t *rec, size_t len)
{
    sink *k = user;
    int ok = 0;
    switch (len ? rec[0] : 0) {
    case PKC_REC_HELLO: {
        pkc_hs_hello m;
        ok = pkc_hs_decode_hello(rec, len, &m) == 0;
        break;
    }
    case PKC_REC_WELCOME: {
        pkc_hs_welcome m;
        ok = pkc_hs_decode_welcome(rec, len, &m) == 0;
        break;
    }
    case PKC_REC_REFUSE: {
        pkc_hs_refuse m;
        ok = pkc_hs_decode_refuse(rec, len, &m) == 0;
        break;
    }
    default: /* AUTH, ACCEPT, SEALED need genuine peers: not reachable */
        break;
    }
    if (!ok)
        k->bad_output = 1;
    return 0;
}

static void on_closed(void *user, pkc_session *s, const pkc_session_end *end)
{
    (void)s;
    check(end->text != NULL);
    /* No genuine peer is here to MAC a REFUSE (nor to seal a DISCONNECT):
     * nothing the peer's side ended may count as authenticated, nor carry a
     * retry time. */
    check(!end->by_peer || (!end->authenticated && end->retry_after_ms == 0));
    check(end->retry_after_ms <= PKC_RETRY_AFTER_MAX_MS);
    ((sink *)user)->closed++;
}

static pkc_identity *me;
static const uint8_t fp_a[32] = {0xa1}, fp_b[32] = {0xb1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] < 5) {
        roundtrip(data[0], data + 1, size - 1);
        return 0;
    }
    if (me == NULL) {
        uint8_t seed[32];
        memset(seed, 0xbb, sizeof seed);
        if (pkc_identity_from_seed(seed, &me) != 0)
            abort();
    }
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, 1700000000000);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 1);
    pkc_session_config cfg;
    pkc_session_config_default(&cfg);
    int responder = data[0] & 1;
    cfg.initiator = !responder;
    cfg.identity = me;
    cfg.local_fingerprint = responder ? fp_b : fp_a;
    cfg.remote_fingerprint = responder ? fp_a : fp_b;
    cfg.local_fingerprint_len = cfg.remote_fingerprint_len = 32;
    cfg.pow_bits = data[0] & 2 ? 1 : 0;
    sink k = {0, 0};
    pkc_session_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.send = on_send;
    cb.closed = on_closed;
    pkc_session *s;
    if (pkc_session_new(&cfg, &cb, &k, &clk.clock, &rng.rng, &s) != 0)
        abort();
    check(pkc_session_start(s) == 0);
    size_t off = 1;
    while (off + 2 <= size) {
        size_t n = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (n > size - off)
            n = size - off;
        (void)pkc_session_receive(s, data + off, n);
        off += n;
        pkc_manual_clock_advance(&clk, 1000000);
        pkc_session_tick(s);
    }
    pkc_session_state st = pkc_session_get_state(s);
    check(st == PKC_SESSION_HANDSHAKE || st == PKC_SESSION_CLOSED);
    check(k.closed == (st == PKC_SESSION_CLOSED));
    check(!k.bad_output);
    pkc_session_free(s);
    return 0;
}
