/*
 * bench_proto: pkc's wire protocol beside libsodium's raw primitives, in
 * the same process and run:
 *
 *   sign    pkc_message_create() of a DATA frame   vs  BLAKE2b-256 + crypto_sign_ed25519_detached
 *   verify  pkc_frame_decode + pkc_message_verify  vs  BLAKE2b-256 + crypto_sign_ed25519_verify_detached
 *                                                      (of the same signature)
 *   seal    pkc_session_send() of a MESH frame     vs  crypto_aead_xchacha20poly1305_ietf_encrypt
 *   open    pkc_session_receive() of the record    vs  crypto_aead_xchacha20poly1305_ietf_decrypt
 *   handshake  two sessions, four records          vs  the primitives a handshake needs:
 *                                        2 X25519 keygen, 2 X25519, 2 sign, 2 verify
 *
 * The payload of each row is what the reference processes; pkc adds its
 * headers (for a sealed MESH frame: 3 bytes of frame header inside the
 * ciphertext), and that cost is part of pkc's overhead. Seal and open are
 * also shown beside crypto_aead_chacha20poly1305_ietf with the subkey
 * computed once ("ChaCha20-Poly1305"): the very computation pkc makes for
 * each record (XChaCha20 with a nonce whose first 16 bytes are the same for
 * every record of a session), so that row shows what the framing alone
 * costs.
 *
 * Method (both sides identically): time is the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so that the time others run on the shared
 * cores is not counted. Each row runs ROUNDS rounds; a round alternates
 * PAIRS batches of pkc and of the reference (pkc first, then the
 * reference first, ...), each batch the same number of operations (about
 * BATCH_S), and keeps each side's fastest batch: what remains of
 * interference (caches, the other hyperthread) only adds time. The rates
 * are the medians over the rounds; the overhead is the median of the
 * per-round ratios, with its quartiles. Inputs that can be used once
 * (records to open) are made before each batch, untimed, for both sides
 * alike, in buffers of the same size.
 *
 * `bench-proto --count` instead runs a few operations of each side between
 * callgrind client requests (collection on, off, dump), for
 * `valgrind --tool=callgrind --collect-atstart=no`: instructions per
 * operation, independent of noise (bench/proto/run prints them).
 *
 * Prints tables; nothing here is a test.
 */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif

#include "pkc.h"
#include "util/clock.h"
#include "util/rng.h"

#define ROUNDS 21
#define PAIRS 8
#define BATCH_S 0.0005
#define SLAB_BYTES (512 * 1024) /* inputs prepared for one batch */

/* CPU seconds this thread has run. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile uint64_t sink;

/* One side of a row: `op(i)` for i = 0..n-1, after `prep(n)` (untimed) if
 * given. */
typedef void (*op_fn)(size_t i);
typedef void (*prep_fn)(size_t n);
typedef struct side {
    op_fn op;
    prep_fn prep;
} side;

/* Seconds for one batch of `n`. */
static double batch(const side *s, size_t n)
{
    if (s->prep)
        s->prep(n);
    double t0 = now_s();
    for (size_t i = 0; i < n; i++)
        s->op(i);
    return now_s() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v[0..n-1], sorted in place. */
static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double f = pos - (double)i;
    return i + 1 < n ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

typedef struct result {
    double pkc_rate, ref_rate;         /* operations per second, medians */
    double over, over_lo, over_hi;     /* median overhead and its quartiles, in % */
} result;

/* Batch size: about BATCH_S of the slower side, at most `cap` (the inputs
 * one batch can have). */
static size_t calibrate(const side *a, const side *b, size_t cap)
{
    size_t k = 1;
    double t = 0;
    for (;;) {
        double ta = batch(a, k), tb = b ? batch(b, k) : 0;
        t = ta > tb ? ta : tb;
        if (t >= BATCH_S / 4 || k >= cap)
            break;
        k = k * 4 < cap ? k * 4 : cap;
    }
    size_t want = (size_t)(BATCH_S / (t / (double)k)) + 1;
    return want < cap ? want : cap;
}

static result measure(side pkc, side ref, size_t cap)
{
    result r;
    const side *refp = ref.op ? &ref : NULL;
    size_t n = calibrate(&pkc, refp, cap);
    double tp[ROUNDS], tr[ROUNDS], ratio[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        double bp = 1e9, br = 1e9;
        for (int j = 0; j < PAIRS; j++) {
            double a, b = 1;
            if (refp && (j & 1)) {
                b = batch(refp, n);
                a = batch(&pkc, n);
            } else {
                a = batch(&pkc, n);
                if (refp)
                    b = batch(refp, n);
            }
            bp = a < bp ? a : bp;
            br = b < br ? b : br;
        }
        tp[k] = bp / (double)n;
        tr[k] = br / (double)n;
        ratio[k] = tp[k] / tr[k];
    }
    r.pkc_rate = 1 / quantile(tp, ROUNDS, 0.5);
    r.ref_rate = refp ? 1 / quantile(tr, ROUNDS, 0.5) : 0;
    r.over = (quantile(ratio, ROUNDS, 0.5) - 1) * 100;
    r.over_lo = (quantile(ratio, ROUNDS, 0.25) - 1) * 100;
    r.over_hi = (quantile(ratio, ROUNDS, 0.75) - 1) * 100;
    return r;
}

/* --- Counting instructions (under callgrind) -------------------------- */

static int counting;

/* Runs `n` operations of each side, each between client requests that
 * switch callgrind's collection on and off and dump the count, named
 * "what|side|n". Two operations of each first, uncounted (lazy binding,
 * first-use paths). */
static void count(const char *what, side pkc, side ref, size_t n)
{
#ifdef HAVE_CALLGRIND
    const side *sides[2] = {&pkc, &ref};
    const char *names[2] = {"pkc", "ref"};
    for (int k = 0; k < 2; k++) {
        const side *s = sides[k];
        if (s->op == NULL)
            continue;
        (void)batch(s, 2);
        if (s->prep)
            s->prep(n);
        char name[160];
        snprintf(name, sizeof name, "%s|%s|%zu", what, names[k], n);
        CALLGRIND_TOGGLE_COLLECT;
        for (size_t i = 0; i < n; i++)
            s->op(i);
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_DUMP_STATS_AT(name);
    }
#else
    (void)what, (void)pkc, (void)ref, (void)n;
#endif
}

/* --- Output ------------------------------------------------------------ */

static void row(const char *what, side pkc, side ref, size_t cap, size_t count_n)
{
    if (counting) {
        count(what, pkc, ref, count_n < cap ? count_n : cap);
        return;
    }
    result r = measure(pkc, ref, cap);
    if (ref.op)
        printf("%-44s %11.0f %11.0f %+8.1f%%  %+6.1f .. %+5.1f\n", what, r.pkc_rate, r.ref_rate,
               r.over, r.over_lo, r.over_hi);
    else
        printf("%-44s %11.0f\n", what, r.pkc_rate);
    fflush(stdout);
}

/* --- Shared state ------------------------------------------------------ */

static pkc_identity *alice, *bob;
static pkc_manual_clock clk;
static pkc_seeded_rng rng;
static uint8_t payload[16384];
static size_t payload_len;
static uint8_t sk[64], pk[32], sig[64];
static uint8_t *msg_frame;
static size_t msg_frame_len;

/* --- sign / verify ----------------------------------------------------- */

static void op_pkc_sign(size_t i)
{
    (void)i;
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.topic = "chat";
    mp.topic_len = 4;
    mp.payload = payload;
    mp.payload_len = payload_len;
    uint8_t *f;
    size_t n;
    if (pkc_message_create(alice, &mp, &clk.clock, &rng.rng, &f, &n, NULL) != 0)
        abort();
    sink += f[n - 1];
    free(f);
}

/* The same cryptographic work pkc does: BLAKE2b-256 of the bytes, then
 * Ed25519 of the digest. */
static void op_raw_sign(size_t i)
{
    (void)i;
    uint8_t d[32];
    crypto_generichash_blake2b(d, sizeof d, payload, payload_len, NULL, 0);
    crypto_sign_ed25519_detached(sig, NULL, d, sizeof d, sk);
    sink += sig[0];
}

static void op_pkc_verify(size_t i)
{
    (void)i;
    pkc_frame f;
    size_t used;
    if (pkc_frame_decode(msg_frame, msg_frame_len, PKC_FRAME_SIZE_MAX, &f, &used) != 0 ||
        pkc_message_verify(&f.message, f.type, clk.wall_ms, 600000, 120000) != 0)
        abort();
    sink += used;
}

/* BLAKE2b-256 of the payload, then Ed25519 verification of the very
 * signature pkc verifies (of its digest; verification takes data-dependent
 * time, so the same signature makes the comparison exact). */
static uint8_t msg_digest[32], msg_sig[64];
static void op_raw_verify(size_t i)
{
    (void)i;
    uint8_t d[32];
    crypto_generichash_blake2b(d, sizeof d, payload, payload_len, NULL, 0);
    sink += d[0];
    if (crypto_sign_ed25519_verify_detached(msg_sig, msg_digest, sizeof msg_digest, pk) != 0)
        abort();
}

/* --- seal / open: a session pair -------------------------------------- */

/* Records a session sends: into `slab` (slots of `stride` bytes) while
 * `slab` is set; otherwise the transport takes them and forgets them. */
typedef struct capture {
    uint8_t *slab;
    size_t stride, n, cap;
    size_t *lens;
    size_t delivered;
} capture;

static capture cap_a, cap_b;
static size_t lens_a[4096];

static int on_send(void *user, const uint8_t *rec, size_t len)
{
    capture *c = user;
    if (c->slab == NULL)
        return 0;
    if (c->n == c->cap || len > c->stride)
        abort();
    memcpy(c->slab + c->n * c->stride, rec, len);
    c->lens[c->n++] = len;
    return 0;
}

static void on_frame(void *user, pkc_session *s, const pkc_frame *f)
{
    (void)s;
    ((capture *)user)->delivered++;
    sink += f->type;
}

static pkc_session *sa, *sb;

static void make_pair(pkc_session **a, pkc_session **b, capture *ca, capture *cb)
{
    static const uint8_t fpa[32] = {1}, fpb[32] = {2};
    pkc_session_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.send = on_send;
    cbs.frame = on_frame;
    pkc_session_config c;
    pkc_session_config_default(&c);
    c.msg_rate = 1000000;
    c.msg_burst = 100000000;
    c.byte_rate = 1000000000;
    c.byte_burst = 1000000000000;
    c.initiator = 1;
    c.identity = alice;
    c.local_fingerprint = fpa;
    c.remote_fingerprint = fpb;
    c.local_fingerprint_len = c.remote_fingerprint_len = 32;
    pkc_session_config d = c;
    d.initiator = 0;
    d.identity = bob;
    d.local_fingerprint = fpb;
    d.remote_fingerprint = fpa;
    /* The handshake goes through slabs of the callers' captures. */
    uint8_t hs[2][4 * 1024];
    size_t hl[2][4];
    size_t *lens_a_was = ca->lens, *lens_b_was = cb->lens;
    ca->slab = hs[0];
    cb->slab = hs[1];
    ca->lens = hl[0];
    cb->lens = hl[1];
    ca->stride = cb->stride = 1024;
    ca->cap = cb->cap = 4;
    ca->n = cb->n = 0;
    if (pkc_session_new(&c, &cbs, ca, &clk.clock, &rng.rng, a) ||
        pkc_session_new(&d, &cbs, cb, &clk.clock, &rng.rng, b) || pkc_session_start(*a))
        abort();
    for (int step = 0; step < 4; step++) {
        capture *from = step % 2 ? cb : ca;
        pkc_session *to = step % 2 ? *a : *b;
        for (size_t i = 0; i < from->n; i++)
            if (pkc_session_receive(to, from->slab + i * from->stride, from->lens[i]) != 0)
                abort();
        from->n = 0;
    }
    if (pkc_session_get_state(*a) != PKC_SESSION_ESTABLISHED ||
        pkc_session_get_state(*b) != PKC_SESSION_ESTABLISHED)
        abort();
    ca->slab = cb->slab = NULL;
    ca->cap = cb->cap = 0;
    ca->lens = lens_a_was;
    cb->lens = lens_b_was;
}

static pkc_frame mesh;
static uint8_t key[32], subkey[32], nonce[24];
static uint8_t *slab; /* records (pkc) or ciphertexts (reference) to open */
static size_t stride, slab_cap;
static uint8_t ct[16384 + 64], pt[16384 + 64];
static uint8_t nonces[4096][24];

static void op_pkc_seal(size_t i)
{
    (void)i;
    if (pkc_session_send(sa, &mesh) != 0)
        abort();
}

static void op_raw_seal(size_t i)
{
    (void)i;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, payload, payload_len, NULL, 0, NULL,
                                               nonce, key);
    sink += ct[0];
}

/* What pkc computes for a record, without the framing: XChaCha20-Poly1305
 * with the HChaCha20 subkey of the nonce's fixed first 16 bytes done once. */
static void op_ietf_seal(size_t i)
{
    (void)i;
    crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, payload, payload_len, NULL, 0, NULL,
                                              nonce + 12, subkey);
    sink += ct[0];
}

/* `n` records from sa, sealed now, into the slab. */
static void prep_pkc_open(size_t n)
{
    cap_a.slab = slab;
    cap_a.stride = stride;
    cap_a.cap = n;
    cap_a.n = 0;
    for (size_t i = 0; i < n; i++)
        if (pkc_session_send(sa, &mesh) != 0)
            abort();
    cap_a.slab = NULL;
}

static void op_pkc_open(size_t i)
{
    if (pkc_session_receive(sb, slab + i * stride, cap_a.lens[i]) != 0)
        abort();
}

/* `n` ciphertexts of the payload under distinct nonces, into the slab. */
static uint64_t ref_seq;
static void prep_ref_open(size_t n, int ietf)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(nonces[i], nonce, 24);
        uint64_t v = ref_seq++;
        for (int k = 0; k < 8; k++)
            nonces[i][16 + k] = (uint8_t)(v >> (56 - 8 * k));
        if (ietf)
            crypto_aead_chacha20poly1305_ietf_encrypt(slab + i * stride, NULL, payload,
                                                      payload_len, NULL, 0, NULL,
                                                      nonces[i] + 12, subkey);
        else
            crypto_aead_xchacha20poly1305_ietf_encrypt(slab + i * stride, NULL, payload,
                                                       payload_len, NULL, 0, NULL, nonces[i],
                                                       key);
    }
}

static void prep_raw_open(size_t n)
{
    prep_ref_open(n, 0);
}

static void prep_ietf_open(size_t n)
{
    prep_ref_open(n, 1);
}

static void op_raw_open(size_t i)
{
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, slab + i * stride,
                                                   payload_len + 16, NULL, 0, nonces[i],
                                                   key) != 0)
        abort();
}

static void op_ietf_open(size_t i)
{
    if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, slab + i * stride,
                                                  payload_len + 16, NULL, 0, nonces[i] + 12,
                                                  subkey) != 0)
        abort();
}

/* --- handshakes -------------------------------------------------------- */

static void op_pkc_handshake(size_t i)
{
    (void)i;
    capture a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    pkc_session *x, *y;
    make_pair(&x, &y, &a, &b);
    pkc_session_free(x);
    pkc_session_free(y);
}

static void op_raw_handshake(size_t i)
{
    (void)i;
    uint8_t e1[32], p1[32], e2[32], p2[32], s1[32], s2[32], m[32] = {1}, sg[64];
    randombytes_buf(e1, 32);
    randombytes_buf(e2, 32);
    crypto_scalarmult_curve25519_base(p1, e1);
    crypto_scalarmult_curve25519_base(p2, e2);
    if (crypto_scalarmult_curve25519(s1, e1, p2) || crypto_scalarmult_curve25519(s2, e2, p1))
        abort();
    for (int k = 0; k < 2; k++) {
        crypto_sign_ed25519_detached(sg, NULL, m, sizeof m, sk);
        if (crypto_sign_ed25519_verify_detached(sg, m, sizeof m, pk) != 0)
            abort();
    }
    sink += s1[0] + s2[0];
}

/* --- frames ------------------------------------------------------------ */

static uint8_t frame_buf[32768];
static pkc_frame frame_in;

static void op_frame_codec(size_t i)
{
    (void)i;
    size_t n, used;
    pkc_frame f;
    if (pkc_frame_encode(&frame_in, frame_buf, sizeof frame_buf, &n) != 0 ||
        pkc_frame_decode(frame_buf, n, PKC_FRAME_SIZE_MAX, &f, &used) != 0)
        abort();
    sink += used;
}

int main(int argc, char **argv)
{
    counting = argc > 1 && strcmp(argv[1], "--count") == 0;
#ifndef HAVE_CALLGRIND
    if (counting) {
        fprintf(stderr, "bench-proto: built without valgrind/callgrind.h\n");
        return 2;
    }
#endif
    if (sodium_init() < 0)
        return 1;
    uint8_t seed[32];
    memset(seed, 0xaa, 32);
    if (pkc_identity_from_seed(seed, &alice))
        return 1;
    memset(seed, 0xbb, 32);
    if (pkc_identity_from_seed(seed, &bob))
        return 1;
    memset(seed, 0xaa, 32);
    crypto_sign_ed25519_seed_keypair(pk, sk, seed);
    pkc_manual_clock_init(&clk, 1000000, 1700000000000);
    pkc_seeded_rng_init(&rng, 1);
    /* Fixed inputs, so that instruction counts repeat exactly (Ed25519
     * verification takes data-dependent time). */
    static const uint8_t fixed[randombytes_SEEDBYTES] = {42};
    randombytes_buf_deterministic(payload, sizeof payload, fixed);
    memcpy(key, payload + 100, sizeof key);
    memset(nonce, 0, sizeof nonce); /* as pkc's: 16 zero bytes, then the sequence number */
    crypto_core_hchacha20(subkey, nonce, key, NULL);
    slab = malloc(SLAB_BYTES);
    if (slab == NULL)
        return 1;

    const side none = {NULL, NULL};
    if (!counting)
        printf("%-44s %11s %11s %9s  %s\n", "operations per second (medians)", "pkc",
               "libsodium", "overhead", "quartiles");
    static const size_t sizes[] = {100, 1000, 1024, 4000, 4096, 16384};
    const size_t n_sizes = sizeof sizes / sizeof sizes[0];
    char what[80];
    for (size_t si = 0; si < n_sizes; si++) {
        payload_len = sizes[si];
        snprintf(what, sizeof what, "sign DATA, %zu B payload", payload_len);
        row(what, (side){op_pkc_sign, NULL}, (side){op_raw_sign, NULL}, SIZE_MAX, 8);
        pkc_message_params mp;
        memset(&mp, 0, sizeof mp);
        mp.type = PKC_FRAME_DATA;
        mp.topic = "chat";
        mp.topic_len = 4;
        mp.payload = payload;
        mp.payload_len = payload_len;
        if (pkc_message_create(alice, &mp, &clk.clock, &rng.rng, &msg_frame, &msg_frame_len,
                               NULL))
            return 1;
        pkc_frame mf;
        size_t used;
        if (pkc_frame_decode(msg_frame, msg_frame_len, PKC_FRAME_SIZE_MAX, &mf, &used))
            return 1;
        memcpy(msg_digest, mf.message.digest, 32);
        memcpy(msg_sig, mf.message.signature, 64);
        snprintf(what, sizeof what, "verify DATA, %zu B payload", payload_len);
        row(what, (side){op_pkc_verify, NULL}, (side){op_raw_verify, NULL}, SIZE_MAX, 8);
        free(msg_frame);
    }
    for (int ietf = 0; ietf < 2; ietf++) {
        if (ietf && !counting)
            printf("\nthe framing alone: beside crypto_aead_chacha20poly1305_ietf, subkey once\n");
        for (size_t si = 0; si < n_sizes; si++) {
            payload_len = sizes[si];
            stride = (payload_len + 64 + 63) / 64 * 64;
            slab_cap = SLAB_BYTES / stride;
            if (slab_cap > 4096)
                slab_cap = 4096;
            memset(&mesh, 0, sizeof mesh);
            mesh.type = PKC_FRAME_MESH;
            mesh.mesh = (pkc_bytes){payload, payload_len};
            memset(&cap_a, 0, sizeof cap_a);
            memset(&cap_b, 0, sizeof cap_b);
            cap_a.lens = lens_a;
            make_pair(&sa, &sb, &cap_a, &cap_b);
            const char *vs = ietf ? ", framing alone" : "";
            snprintf(what, sizeof what, "seal record, %zu B frame%s", payload_len, vs);
            row(what, (side){op_pkc_seal, NULL},
                (side){ietf ? op_ietf_seal : op_raw_seal, NULL}, SIZE_MAX, 64);
            snprintf(what, sizeof what, "open record, %zu B frame%s", payload_len, vs);
            row(what, (side){op_pkc_open, prep_pkc_open},
                (side){ietf ? op_ietf_open : op_raw_open, ietf ? prep_ietf_open : prep_raw_open},
                slab_cap, 64);
            pkc_session_free(sa);
            pkc_session_free(sb);
        }
        if (!ietf) {
            row("handshake (both ends, 4 records)", (side){op_pkc_handshake, NULL},
                (side){op_raw_handshake, NULL}, SIZE_MAX, 4);
        }
    }

    if (!counting)
        printf("\n%-44s %11s\n", "frames encoded + decoded per second", "pkc");
    memset(&frame_in, 0, sizeof frame_in);
    frame_in.type = PKC_FRAME_CONTROL;
    frame_in.control.action = PKC_CONTROL_PING;
    frame_in.control.ping_id = 12345;
    frame_in.control.wall_ms = 1700000000000;
    row("control ping", (side){op_frame_codec, NULL}, none, SIZE_MAX, 64);
    memset(&frame_in, 0, sizeof frame_in);
    frame_in.type = PKC_FRAME_SYNC;
    frame_in.sync.doc = (pkc_bytes){(const uint8_t *)"notes", 5};
    frame_in.sync.message = (pkc_bytes){payload, 1024};
    row("sync, 1 KiB", (side){op_frame_codec, NULL}, none, SIZE_MAX, 64);
    payload_len = 256;
    pkc_message_params mp;
    memset(&mp, 0, sizeof mp);
    mp.type = PKC_FRAME_DATA;
    mp.payload = payload;
    mp.payload_len = 256;
    uint8_t *df;
    size_t dl, used;
    if (pkc_message_create(alice, &mp, &clk.clock, &rng.rng, &df, &dl, NULL) ||
        pkc_frame_decode(df, dl, PKC_FRAME_SIZE_MAX, &frame_in, &used))
        return 1;
    row("data, 256 B (signed, not verified)", (side){op_frame_codec, NULL}, none, SIZE_MAX, 64);
    pkc_announce_params ap = {1700000000000, 0, NULL, 0, 0};
    uint8_t *af;
    size_t al;
    if (pkc_announce_create(alice, &ap, &af, &al) ||
        pkc_frame_decode(af, al, PKC_FRAME_SIZE_MAX, &frame_in, &used))
        return 1;
    row("announce (decode derives peer id)", (side){op_frame_codec, NULL}, none, SIZE_MAX, 64);
    free(df);
    free(af);
    free(slab);
    pkc_identity_free(alice);
    pkc_identity_free(bob);
    return sink == 42 ? 1 : 0;
}
