/*
 * bench_proto: pkc's wire protocol beside libsodium's raw primitives, in
 * the same process and run:
 *
 *   sign    pkc_message_create() of a DATA frame   vs  BLAKE2b-256 of the payload +
 *                                                      crypto_sign_ed25519_detached
 *   verify  pkc_frame_decode + pkc_message_verify  vs  BLAKE2b-256 of the payload +
 *                                                      crypto_sign_ed25519_verify_detached
 *                                                      of the signature pkc verifies
 *   seal    pkc_session_send() of a MESH frame     vs  crypto_aead_xchacha20poly1305_ietf_encrypt
 *   open    pkc_session_receive() of the record    vs  crypto_aead_xchacha20poly1305_ietf_decrypt
 *   handshake  two sessions, four records          vs  the primitives a handshake needs:
 *                                        2 X25519 keygen, 2 X25519, 2 sign, 2 verify
 *                                        (of a different 32-byte message each time)
 *
 * The payload of each row is what the reference processes; pkc adds its
 * headers (for a sealed MESH frame: 3 bytes of frame header inside the
 * ciphertext), and that cost is part of pkc's overhead. Seal and open are
 * also shown beside crypto_aead_chacha20poly1305_ietf with the subkey
 * computed once (the "framing alone" rows): the very computation pkc makes
 * for each record (XChaCha20 with a nonce whose first 16 bytes are the same
 * for every record of a direction), so those rows show what the framing
 * alone costs.
 *
 * Method (both sides identically): time is the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so that the time others run on the shared
 * cores is not counted. The table is measured PASSES times over, every
 * row in each pass, so that each row's rounds are spread over the whole
 * run. Each pass gives each row ROUNDS rounds; a round alternates
 * PAIRS batches of pkc and of the reference (pkc first, then the
 * reference first, ...), each batch the same number of operations (about
 * BATCH_S), and keeps each side's fastest batch: what remains of
 * interference (caches, the other hyperthread) only adds time. The rates
 * are the medians over all rounds; the overhead is the median of the
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

#define PASSES 3
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

/* What the rounds of one row found, over all passes. */
typedef struct samples {
    double tp[PASSES * ROUNDS], tr[PASSES * ROUNDS], ratio[PASSES * ROUNDS];
    size_t n;
} samples;

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

/* ROUNDS rounds of one row, added to `out`. */
static void measure(side pkc, side ref, size_t cap, samples *out)
{
    const side *refp = ref.op ? &ref : NULL;
    size_t n = calibrate(&pkc, refp, cap);
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
        size_t i = out->n++;
        out->tp[i] = bp / (double)n;
        out->tr[i] = br / (double)n;
        out->ratio[i] = out->tp[i] / out->tr[i];
    }
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

/* Fresh ephemeral keys each time (from a counter, so that instruction
 * counts repeat), and signatures of 32 bytes that differ each time, as
 * pkc's transcript hashes do: Ed25519 verification takes data-dependent
 * time, and one fixed message would be one sample of it. */
static uint64_t hs_counter;
static void op_raw_handshake(size_t i)
{
    (void)i;
    uint8_t seed[randombytes_SEEDBYTES] = {0}, e[64], p1[32], p2[32], s1[32], s2[32], sg[64];
    memcpy(seed, &hs_counter, sizeof hs_counter);
    hs_counter++;
    randombytes_buf_deterministic(e, sizeof e, seed);
    crypto_scalarmult_curve25519_base(p1, e);
    crypto_scalarmult_curve25519_base(p2, e + 32);
    if (crypto_scalarmult_curve25519(s1, e, p2) || crypto_scalarmult_curve25519(s2, e + 32, p1))
        abort();
    for (int k = 0; k < 2; k++) {
        const uint8_t *m = k ? p2 : p1;
        crypto_sign_ed25519_detached(sg, NULL, m, 32, sk);
        if (crypto_sign_ed25519_verify_detached(sg, m, 32, pk) != 0)
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

/* --- The rows ----------------------------------------------------------- */

typedef enum kind { SIGN, VERIFY, SEAL, OPEN, HANDSHAKE, CODEC } kind;

typedef struct row_def {
    kind kind;
    size_t size;   /* payload bytes; for CODEC, which frame */
    int ietf;      /* SEAL, OPEN: beside ChaCha20-Poly1305 with the subkey */
    char what[80];
    samples *res;
} row_def;

static const char *const codec_names[] = {"control ping", "sync, 1 KiB",
                                          "data, 256 B (signed, not verified)",
                                          "announce (decode derives peer id)"};

/* Makes the inputs of a row; its sides, the batch limit and the number of
 * operations to count. */
static void setup(const row_def *r, side *pkc, side *ref, size_t *cap, size_t *count_n)
{
    payload_len = r->size;
    *cap = SIZE_MAX;
    *ref = (side){NULL, NULL};
    switch (r->kind) {
    case SIGN:
        *pkc = (side){op_pkc_sign, NULL};
        *ref = (side){op_raw_sign, NULL};
        *count_n = 8;
        break;
    case VERIFY: {
        pkc_message_params mp;
        memset(&mp, 0, sizeof mp);
        mp.type = PKC_FRAME_DATA;
        mp.topic = "chat";
        mp.topic_len = 4;
        mp.payload = payload;
        mp.payload_len = payload_len;
        pkc_frame mf;
        size_t used;
        if (pkc_message_create(alice, &mp, &clk.clock, &rng.rng, &msg_frame, &msg_frame_len,
                               NULL) ||
            pkc_frame_decode(msg_frame, msg_frame_len, PKC_FRAME_SIZE_MAX, &mf, &used))
            abort();
        memcpy(msg_digest, mf.message.digest, 32);
        memcpy(msg_sig, mf.message.signature, 64);
        *pkc = (side){op_pkc_verify, NULL};
        *ref = (side){op_raw_verify, NULL};
        *count_n = 8;
        break;
    }
    case SEAL:
    case OPEN:
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
        if (r->kind == SEAL) {
            *pkc = (side){op_pkc_seal, NULL};
            *ref = (side){r->ietf ? op_ietf_seal : op_raw_seal, NULL};
        } else {
            *pkc = (side){op_pkc_open, prep_pkc_open};
            *ref = r->ietf ? (side){op_ietf_open, prep_ietf_open}
                           : (side){op_raw_open, prep_raw_open};
            *cap = slab_cap;
        }
        *count_n = 64;
        break;
    case HANDSHAKE:
        *pkc = (side){op_pkc_handshake, NULL};
        *ref = (side){op_raw_handshake, NULL};
        *count_n = 4;
        break;
    case CODEC:
        memset(&frame_in, 0, sizeof frame_in);
        if (r->size == 0) {
            frame_in.type = PKC_FRAME_CONTROL;
            frame_in.control.action = PKC_CONTROL_PING;
            frame_in.control.ping_id = 12345;
            frame_in.control.wall_ms = 1700000000000;
        } else if (r->size == 1) {
            frame_in.type = PKC_FRAME_SYNC;
            frame_in.sync.doc = (pkc_bytes){(const uint8_t *)"notes", 5};
            frame_in.sync.message = (pkc_bytes){payload, 1024};
        } else {
            size_t used;
            if (r->size == 2) {
                pkc_message_params mp;
                memset(&mp, 0, sizeof mp);
                mp.type = PKC_FRAME_DATA;
                mp.payload = payload;
                mp.payload_len = 256;
                if (pkc_message_create(alice, &mp, &clk.clock, &rng.rng, &msg_frame,
                                       &msg_frame_len, NULL))
                    abort();
            } else {
                pkc_announce_params ap = {1700000000000, 0, NULL, 0, 0};
                if (pkc_announce_create(alice, &ap, &msg_frame, &msg_frame_len))
                    abort();
            }
            if (pkc_frame_decode(msg_frame, msg_frame_len, PKC_FRAME_SIZE_MAX, &frame_in, &used))
                abort();
        }
        *pkc = (side){op_frame_codec, NULL};
        *count_n = 64;
        break;
    }
}

static void teardown(const row_def *r)
{
    if (r->kind == SEAL || r->kind == OPEN) {
        pkc_session_free(sa);
        pkc_session_free(sb);
    }
    if (r->kind == VERIFY || (r->kind == CODEC && r->size >= 2)) {
        free(msg_frame);
        msg_frame = NULL;
    }
}

static void print_row(const row_def *r)
{
    samples *x = r->res;
    double pkc_rate = 1 / quantile(x->tp, x->n, 0.5);
    if (r->kind == CODEC) {
        printf("%-44s %11.0f\n", r->what, pkc_rate);
        return;
    }
    double ref_rate = 1 / quantile(x->tr, x->n, 0.5);
    double over = (quantile(x->ratio, x->n, 0.5) - 1) * 100;
    double lo = (quantile(x->ratio, x->n, 0.25) - 1) * 100;
    double hi = (quantile(x->ratio, x->n, 0.75) - 1) * 100;
    printf("%-44s %11.0f %11.0f %+8.1f%%  %+6.1f .. %+5.1f\n", r->what, pkc_rate, ref_rate, over,
           lo, hi);
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

    static const size_t sizes[] = {100, 1000, 1024, 4000, 4096, 16384};
    const size_t n_sizes = sizeof sizes / sizeof sizes[0];
    static row_def rows[64];
    size_t n_rows = 0;
    for (size_t si = 0; si < n_sizes; si++) {
        row_def *a = &rows[n_rows++], *b = &rows[n_rows++];
        *a = (row_def){SIGN, sizes[si], 0, "", NULL};
        snprintf(a->what, sizeof a->what, "sign DATA, %zu B payload", sizes[si]);
        *b = (row_def){VERIFY, sizes[si], 0, "", NULL};
        snprintf(b->what, sizeof b->what, "verify DATA, %zu B payload", sizes[si]);
    }
    for (int ietf = 0; ietf < 2; ietf++) {
        for (size_t si = 0; si < n_sizes; si++) {
            const char *vs = ietf ? ", framing alone" : "";
            row_def *a = &rows[n_rows++], *b = &rows[n_rows++];
            *a = (row_def){SEAL, sizes[si], ietf, "", NULL};
            snprintf(a->what, sizeof a->what, "seal record, %zu B frame%s", sizes[si], vs);
            *b = (row_def){OPEN, sizes[si], ietf, "", NULL};
            snprintf(b->what, sizeof b->what, "open record, %zu B frame%s", sizes[si], vs);
        }
        if (!ietf) {
            row_def *h = &rows[n_rows++];
            *h = (row_def){HANDSHAKE, 0, 0, "", NULL};
            snprintf(h->what, sizeof h->what, "handshake (both ends, 4 records)");
        }
    }
    for (size_t c = 0; c < 4; c++) {
        row_def *r = &rows[n_rows++];
        *r = (row_def){CODEC, c, 0, "", NULL};
        snprintf(r->what, sizeof r->what, "%s", codec_names[c]);
    }

    if (counting) {
        for (size_t i = 0; i < n_rows; i++) {
            side p, q;
            size_t cap, count_n;
            setup(&rows[i], &p, &q, &cap, &count_n);
            count(rows[i].what, p, q, count_n < cap ? count_n : cap);
            teardown(&rows[i]);
        }
    } else {
        /* Every row in each pass: a row's rounds are spread over the whole
         * run, so that a phase of the machine's other work does not make
         * up one row alone. */
        for (size_t i = 0; i < n_rows; i++)
            if ((rows[i].res = calloc(1, sizeof *rows[i].res)) == NULL)
                return 1;
        for (int pass = 0; pass < PASSES; pass++) {
            for (size_t i = 0; i < n_rows; i++) {
                side p, q;
                size_t cap, count_n;
                setup(&rows[i], &p, &q, &cap, &count_n);
                measure(p, q, cap, rows[i].res);
                teardown(&rows[i]);
            }
        }
        printf("%-44s %11s %11s %9s  %s\n", "operations per second (medians)", "pkc",
               "libsodium", "overhead", "quartiles");
        for (size_t i = 0; i < n_rows; i++) {
            if (rows[i].kind == SEAL && rows[i].ietf && !rows[i - 1].ietf)
                printf("\nthe framing alone: beside crypto_aead_chacha20poly1305_ietf, subkey "
                       "once\n");
            if (rows[i].kind == CODEC && rows[i].size == 0)
                printf("\n%-44s %11s\n", "frames encoded + decoded per second", "pkc");
            print_row(&rows[i]);
            free(rows[i].res);
        }
    }
    free(slab);
    pkc_identity_free(alice);
    pkc_identity_free(bob);
    return sink == 42 ? 1 : 0;
}
