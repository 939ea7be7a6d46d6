/*
 * Fuzzes an established session: two sessions complete a real handshake,
 * then A sends the input, cut into records by 2-byte big-endian lengths, as
 * authentic sealed records of arbitrary plaintext (what a malicious but
 * authenticated peer can send). Properties: B never crashes, stays
 * established or closes (a block) exactly once, and every frame it delivers
 * re-encodes, carries a verified signature when it is a message, and is of
 * a known type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/session.h"
#include "util/clock.h"
#include "util/rng.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

#define QUEUE 8
typedef struct peer {
    uint8_t *q[QUEUE];
    size_t qlen[QUEUE];
    size_t n;
    int closed, established;
} peer;

static int on_send(void *user, const uint8_t *rec, size_t len)
{
    peer *p = user;
    if (p->n == QUEUE)
        return 0; /* B's pongs and disconnects: not needed */
    p->q[p->n] = malloc(len);
    memcpy(p->q[p->n], rec, len);
    p->qlen[p->n++] = len;
    return 0;
}

static void on_established(void *user, pkc_session *s)
{
    (void)s;
    ((peer *)user)->established = 1;
}

static void on_closed(void *user, pkc_session *s, const pkc_session_end *end)
{
    (void)s;
    (void)end;
    ((peer *)user)->closed++;
}

static uint8_t scratch[PKC_FRAME_SIZE_MAX];

static void on_frame(void *user, pkc_session *s, const pkc_frame *f)
{
    (void)user;
    (void)s;
    check(f->type >= PKC_FRAME_ANNOUNCE && f->type <= PKC_FRAME_MESH);
    size_t len;
    check(pkc_frame_encode(f, scratch, sizeof scratch, &len) == 0);
    if (f->type == PKC_FRAME_DATA || f->type == PKC_FRAME_SIGNAL)
        check(pkc_message_verify(&f->message, f->type, 1700000000000, 600000, 120000) == 0);
}

static void flush(peer *from, pkc_session *to)
{
    for (size_t i = 0; i < from->n; i++) {
        if (to)
            (void)pkc_session_receive(to, from->q[i], from->qlen[i]);
        free(from->q[i]);
    }
    from->n = 0;
}

static pkc_identity *ida, *idb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t fpa[32] = {1}, fpb[32] = {2};
    if (ida == NULL) {
        uint8_t seed[32];
        memset(seed, 0xaa, 32);
        if (pkc_identity_from_seed(seed, &ida))
            abort();
        memset(seed, 0xbb, 32);
        if (pkc_identity_from_seed(seed, &idb))
            abort();
    }
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 1000000, 1700000000000);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 7);
    peer pa, pb;
    memset(&pa, 0, sizeof pa);
    memset(&pb, 0, sizeof pb);
    pkc_session_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.send = on_send;
    cb.established = on_established;
    cb.closed = on_closed;
    cb.frame = on_frame;
    pkc_session_config ca, cbf;
    pkc_session_config_default(&ca);
    ca.initiator = 1;
    ca.identity = ida;
    ca.local_fingerprint = fpa;
    ca.remote_fingerprint = fpb;
    ca.local_fingerprint_len = ca.remote_fingerprint_len = 32;
    cbf = ca;
    cbf.initiator = 0;
    cbf.identity = idb;
    cbf.local_fingerprint = fpb;
    cbf.remote_fingerprint = fpa;
    cbf.msg_burst = 64; /* reach the rate limit and the block sometimes */
    pkc_session *a, *b;
    if (pkc_session_new(&ca, &cb, &pa, &clk.clock, &rng.rng, &a) ||
        pkc_session_new(&cbf, &cb, &pb, &clk.clock, &rng.rng, &b) || pkc_session_start(a))
        abort();
    for (int i = 0; i < 4; i++) {
        flush(&pa, b);
        flush(&pb, a);
    }
    check(pa.established && pb.established);
    size_t off = 0;
    while (off + 2 <= size && pkc_session_get_state(b) == PKC_SESSION_ESTABLISHED) {
        size_t n = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (n > size - off)
            n = size - off;
        if (n > 0 && pkc_session_send_raw(a, data + off, n) == 0)
            flush(&pa, b);
        off += n;
        flush(&pb, NULL);
    }
    pkc_session_state st = pkc_session_get_state(b);
    check(st == PKC_SESSION_ESTABLISHED || st == PKC_SESSION_CLOSED);
    check(pb.closed == (st == PKC_SESSION_CLOSED));
    flush(&pa, NULL);
    flush(&pb, NULL);
    pkc_session_free(a);
    pkc_session_free(b);
    return 0;
}
