/*
 * session.c: the session state machine (pkc.h, "Sessions").
 *
 * Handshake records are plaintext and hashed into a transcript; once both sides
 * are authenticated every record is SEALED: XChaCha20-Poly1305 under a key
 * per direction, with the record's sequence number as nonce, checked
 * against a sliding window so that reordering is accepted and replays are
 * not. Inside a sealed record are frames; each takes a token of the frame
 * rate (as does every further signature check it asks for), is checked, and
 * goes to its type's handler (PKC_FRAME_TYPES in frame.h); DATA and SIGNAL
 * messages also pass the replay window (the node's, or the session's own).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/peerid.h"
#include "crypto/pow.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/versioned.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/text.h"
#include "proto/frame.h"
#include "proto/guard.h"
#include "proto/handshake.h"
#include "proto/session.h"
#include "proto/wire.h"

#define SUB "proto"
#define PINGS 4
#define SEQ_WINDOW 64
#define SEQ_LIMIT (UINT64_C(1) << 62)
#define SEALED_OVERHEAD (1 + PKC_VARUINT_MAX_BYTES + PKC_AEAD_TAG_BYTES)
#define VERIFIED_SLOTS 64 /* announcements remembered as verified, per session */
#define OWN_REPLAY_CAPACITY 4096 /* ids in the window of a session given none */

typedef enum hs_state {
    ST_WAIT_HELLO,   /* responder */
    ST_WAIT_WELCOME, /* initiator, after HELLO */
    ST_WAIT_AUTH,    /* responder, after WELCOME */
    ST_WAIT_ACCEPT,  /* initiator, after AUTH */
    ST_IDLE,         /* initiator before start() */
    ST_ESTABLISHED,
    ST_CLOSED
} hs_state;

struct pkc_session {
    pkc_session_config cfg;
    pkc_session_callbacks cb;
    void *user;
    const pkc_clock *clock;
    const pkc_rng *rng;
    hs_state st;
    uint64_t hs_deadline_us;

    uint8_t local_fp[PKC_FINGERPRINT_MAX_BYTES], remote_fp[PKC_FINGERPRINT_MAX_BYTES];
    uint8_t expected_peer[PKC_PEER_ID_HASH_BYTES];
    uint8_t proof_secret[32];
    uint8_t (*proof_secrets)[32];
    uint8_t (*proof_ids)[PKC_PROOF_ID_BYTES];
    pkc_room_key *rooms;
    pkc_guard *own_guard;
    pkc_replay *own_replay; /* when cfg.replay is NULL: made with the first message */

    /* Handshake. */
    uint8_t e_sk[32], e_pk[32];
    uint8_t k[32];
    uint8_t th_welcome[32];
    int keyed; /* k and th_welcome are agreed: REFUSEs carry a MAC */
    pkc_hash_state transcript; /* TH's state after the records so far */
    size_t transcript_len;
    size_t hello_len;
    uint64_t min_version_offered, max_version_offered;

    /* Result. */
    uint64_t version, caps;
    uint8_t peer_pk[32];
    uint8_t peer_hash[PKC_PEER_ID_HASH_BYTES];
    char peer_id[PKC_PEER_ID_SIZE];
    int proof_key;
    /* The HChaCha20 subkeys of key_i2r and key_r2i for the records' nonce
     * prefix (16 zero bytes): what XChaCha20 would compute for every record. */
    uint8_t key_send[32], key_recv[32], session_id[32];
    uint64_t send_seq;
    uint64_t recv_top;    /* highest sequence number accepted */
    uint64_t recv_bitmap; /* bit i: recv_top - i was accepted */
    int recv_any;

    /* Rate limits, in thousandths. */
    uint64_t msg_milli, byte_milli, bucket_us;

    /* BLAKE2b-256 of announcements whose signature verified, by their first
     * byte: a repeat (the same announcement in PEX after PEX, or 64 times
     * in one) is not verified again. Direct-mapped; a miss costs a check. */
    uint8_t verified[VERIFIED_SLOTS][32];
    uint64_t verified_used; /* bit i: slot i holds a digest */

    /* Pings. */
    struct {
        uint64_t id, sent_us;
        int64_t sent_wall;
        int used;
    } pings[PINGS];
    uint64_t next_ping_id;
    uint64_t rtt_us;
    int64_t clock_offset_ms;

    pkc_session_stats stats;
    pkc_buf out;      /* the record being sent */
    /* Grown when needed (see room_for()), so that a session holds no more
     * than its traffic needs. */
    uint8_t *plain;   /* a received record's frames */
    uint8_t *opened;  /* a message's decrypted payload */
    size_t plain_cap, opened_cap;
    char end_text[PKC_REASON_TEXT_MAX + 64];
    int end_unauthenticated; /* the end is an unauthenticated REFUSE */
};

/* --- Helpers ----------------------------------------------------------- */

const char *pkc_reason_name(uint64_t reason)
{
    static const char *const names[] = {"none",    "protocol",     "version",    "fingerprint",
                                        "auth",    "unauthorized", "pow",        "blocked",
                                        "wrong-peer", "self",      "timeout",    "shutdown"};
    return reason < sizeof names / sizeof names[0] ? names[reason] : "unknown";
}

/* The error a refusal or disconnect with `reason` gives on this side. */
static int reason_error(uint64_t reason)
{
    switch (reason) {
    case PKC_REASON_NONE:
    case PKC_REASON_SHUTDOWN:
        return 0;
    case PKC_REASON_VERSION:
        return PKC_ERR_UNSUPPORTED;
    case PKC_REASON_FINGERPRINT:
        return PKC_ERR_FINGERPRINT;
    case PKC_REASON_AUTH:
        return PKC_ERR_BAD_SIGNATURE;
    case PKC_REASON_UNAUTHORIZED:
        return PKC_ERR_UNAUTHORIZED;
    case PKC_REASON_POW:
        return PKC_ERR_POW;
    case PKC_REASON_BLOCKED:
        return PKC_ERR_BLOCKED;
    case PKC_REASON_WRONG_PEER:
        return PKC_ERR_MISMATCH;
    case PKC_REASON_TIMEOUT:
        return PKC_ERR_TIMEOUT;
    default:
        return PKC_ERR_REFUSED;
    }
}

static pkc_guard *guard_of(pkc_session *s)
{
    return s->cfg.guard ? s->cfg.guard : s->own_guard;
}

/* The replay window: the shared one, or the session's own (made now if
 * need be; NULL when out of memory). */
static pkc_replay *replay_of(pkc_session *s)
{
    if (s->cfg.replay)
        return s->cfg.replay;
    if (s->own_replay == NULL) {
        pkc_replay_config rc;
        pkc_replay_config_default(&rc);
        rc.capacity = OWN_REPLAY_CAPACITY;
        rc.max_age_ms = s->cfg.message_max_age_ms;
        rc.max_skew_ms = s->cfg.max_clock_skew_ms;
        if (pkc_replay_new(&rc, s->rng, &s->own_replay) != 0)
            return NULL;
    }
    return s->own_replay;
}

static uint64_t now_us(const pkc_session *s)
{
    return pkc_clock_mono_us(s->clock);
}

static int64_t now_ms(const pkc_session *s)
{
    return pkc_clock_wall_ms(s->clock);
}

static void wipe_handshake(pkc_session *s)
{
    pkc_crypto_wipe(s->e_sk, sizeof s->e_sk);
    pkc_crypto_wipe(s->k, sizeof s->k);
    s->keyed = 0;
}

/* A retry time from the peer, cut to what a session reports. */
static uint64_t clamp_retry(uint64_t ms)
{
    return ms < PKC_RETRY_AFTER_MAX_MS ? ms : PKC_RETRY_AFTER_MAX_MS;
}

/* Ends the session and reports it; `fmt` describes why. */
static void finish(pkc_session *s, int error, int by_peer, uint64_t reason,
                   uint64_t retry_after_ms, const char *fmt, ...) PKC_PRINTF(6, 7);
static void finish(pkc_session *s, int error, int by_peer, uint64_t reason,
                   uint64_t retry_after_ms, const char *fmt, ...)
{
    if (s->st == ST_CLOSED)
        return;
    s->st = ST_CLOSED;
    wipe_handshake(s);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->end_text, sizeof s->end_text, fmt, ap);
    va_end(ap);
    pkc_logi(SUB, "session%s%s ended%s: %s (%s)", s->peer_id[0] ? " with " : "", s->peer_id,
             by_peer ? " by the peer" : "", s->end_text, pkc_reason_name(reason));
    if (s->cb.closed) {
        pkc_session_end end = {error,       by_peer, reason, retry_after_ms,
                               s->end_text, !s->end_unauthenticated};
        s->cb.closed(s->user, s, &end);
    }
}

static int emit(pkc_session *s)
{
    s->stats.records_out++;
    s->stats.bytes_out += s->out.len;
    if (s->cb.send(s->user, s->out.data, s->out.len) != 0) {
        finish(s, PKC_ERR_IO, 0, PKC_REASON_NONE, 0, "the transport refused a record");
        return pkc_error(PKC_ERR_IO, "session: the send callback failed");
    }
    return 0;
}

/* Sends a REFUSE; once the handshake key is agreed, with its MAC, so that
 * the peer can tell it from one forged on the path. */
static void send_refuse(pkc_session *s, uint64_t reason, const char *text, uint64_t retry)
{
    pkc_hs_refuse r = {reason, {(const uint8_t *)text, strlen(text)}, retry, NULL};
    if (r.text.len > PKC_REASON_TEXT_MAX)
        r.text.len = PKC_REASON_TEXT_MAX; /* may cut UTF-8: our texts are ASCII */
    pkc_buf_reset(&s->out);
    if (pkc_hs_encode_refuse(&s->out, &r) != 0)
        return;
    if (s->keyed) {
        uint8_t mac[PKC_MAC_BYTES];
        pkc_hs_refuse_mac(mac, s->k, s->cfg.initiator, s->th_welcome, s->out.data, s->out.len);
        pkc_buf_push(&s->out, mac, sizeof mac);
        if (s->out.err)
            return;
    }
    (void)emit(s);
}

/* Fails the handshake: REFUSE to the peer, closed to the user; returns err. */
static int hs_fail(pkc_session *s, int err, uint64_t reason, uint64_t retry, const char *fmt, ...)
    PKC_PRINTF(5, 6);
static int hs_fail(pkc_session *s, int err, uint64_t reason, uint64_t retry, const char *fmt, ...)
{
    char text[PKC_REASON_TEXT_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    send_refuse(s, reason, text, retry);
    finish(s, err, 0, reason, retry, "%s", text);
    return pkc_error(err, "handshake: %s", text);
}

/* --- Creation ---------------------------------------------------------- */

#define CONFIG_SIZES PKC_STRUCT_V1(pkc_session_config)
#define CALLBACKS_SIZES                                                                            \
    ((pkc_struct_sizes){"pkc_session_callbacks",                                                   \
                        (const size_t[]){0, offsetof(pkc_session_callbacks, admit),                \
                                         sizeof(pkc_session_callbacks)},                           \
                        2})

void pkc_session_config_default_versioned(int config_version, pkc_session_config *out)
{
    pkc_session_config c;
    memset(&c, 0, sizeof c);
    c.max_frame_size = PKC_FRAME_SIZE_DEFAULT;
    c.handshake_timeout_ms = 10000;
    c.max_pow_bits = 20;
    c.message_max_age_ms = 600000;
    c.announce_max_age_ms = 3600000;
    c.max_clock_skew_ms = 30000;
    c.msg_rate = 200;
    c.msg_burst = 400;
    c.byte_rate = 1u << 20;
    c.byte_burst = 4u << 20;
    pkc_struct_write(out, &c, config_version, CONFIG_SIZES);
}

static int fp_len_ok(size_t n)
{
    return n == 0 || (n >= 16 && n <= PKC_FINGERPRINT_MAX_BYTES);
}

static int check_config(const pkc_session_config *c, const pkc_session_callbacks *cb)
{
    if (c->identity == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: no identity");
    if (cb->send == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: no send callback");
    if (!fp_len_ok(c->local_fingerprint_len) || !fp_len_ok(c->remote_fingerprint_len) ||
        (c->local_fingerprint_len && !c->local_fingerprint) ||
        (c->remote_fingerprint_len && !c->remote_fingerprint))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "session: fingerprints must be 0 or 16..64 bytes (SHA-256: 32)");
    if ((c->local_fingerprint_len == 0) != (c->remote_fingerprint_len == 0))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "session: give both fingerprints (DTLS) or neither (no DTLS)");
    if (c->max_frame_size < PKC_FRAME_SIZE_MIN || c->max_frame_size > PKC_FRAME_SIZE_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: max_frame_size must be %u..%u",
                         PKC_FRAME_SIZE_MIN, PKC_FRAME_SIZE_MAX);
    if (c->pow_bits > PKC_POW_BITS_MAX || c->announce_pow_bits > PKC_POW_BITS_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: proof of work above %d bits",
                         PKC_POW_BITS_MAX);
    if (c->require & ~(unsigned)(PKC_REQUIRE_PROOF | PKC_REQUIRE_KNOWN))
        return pkc_error(PKC_ERR_INVALID_ARG, "session: unknown require flags");
    if ((c->n_proof_secrets && !c->proof_secrets) || (c->n_rooms && !c->rooms) ||
        c->n_proof_secrets > 1024 || c->n_rooms > 1024)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: proof secrets or rooms (at most 1024)");
    if (c->msg_rate == 0 || c->msg_rate > 1000000 || c->msg_burst == 0 ||
        c->msg_burst > 100000000 || c->byte_rate == 0 || c->byte_rate > 1000000000 ||
        c->byte_burst < c->max_frame_size + SEALED_OVERHEAD || c->byte_burst > 1000000000000)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "session: rate limits out of range (byte_burst must hold a record)");
    const int64_t years = INT64_C(1) << 40; /* ms: about 35 years */
    if (c->message_max_age_ms < 0 || c->announce_max_age_ms < 0 || c->max_clock_skew_ms < 0 ||
        c->message_max_age_ms > years || c->announce_max_age_ms > years ||
        c->max_clock_skew_ms > years || c->handshake_timeout_ms == 0 ||
        c->handshake_timeout_ms > 86400000)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: times out of range");
    return 0;
}

int pkc_session_new_versioned(int config_version, const pkc_session_config *config,
                              int callbacks_version, const pkc_session_callbacks *callbacks,
                              void *user_data, const pkc_clock *clock, const pkc_rng *rng,
                              pkc_session **out)
{
    if (config == NULL || callbacks == NULL || clock == NULL || rng == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: NULL argument");
    pkc_session_config c, *cfg = &c;
    pkc_session_callbacks cbs, *cb = &cbs;
    pkc_session_config_default(&c);
    memset(&cbs, 0, sizeof cbs);
    int rc = pkc_struct_read(&c, config, config_version, CONFIG_SIZES);
    if (rc == 0)
        rc = pkc_struct_read(&cbs, callbacks, callbacks_version, CALLBACKS_SIZES);
    if (rc)
        return rc;
    rc = check_config(cfg, cb);
    if (rc)
        return rc;
    if ((rc = pkc_crypto_init()))
        return rc;
    pkc_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    s->cfg = *cfg;
    s->cb = *cb;
    s->user = user_data;
    s->clock = clock;
    s->rng = rng;
    s->proof_key = -1;
    pkc_hs_transcript_init(&s->transcript);
    pkc_buf_init(&s->out);
    /* Without DTLS both are empty, and the pointers may be NULL. */
    if (cfg->local_fingerprint_len)
        memcpy(s->local_fp, cfg->local_fingerprint, cfg->local_fingerprint_len);
    if (cfg->remote_fingerprint_len)
        memcpy(s->remote_fp, cfg->remote_fingerprint, cfg->remote_fingerprint_len);
    s->cfg.local_fingerprint = s->local_fp;
    s->cfg.remote_fingerprint = s->remote_fp;
    if (cfg->expected_peer) {
        memcpy(s->expected_peer, cfg->expected_peer, sizeof s->expected_peer);
        s->cfg.expected_peer = s->expected_peer;
    }
    if (cfg->proof_secret) {
        memcpy(s->proof_secret, cfg->proof_secret, 32);
        s->cfg.proof_secret = s->proof_secret;
    }
    if (cfg->n_proof_secrets) {
        s->proof_secrets = malloc(cfg->n_proof_secrets * sizeof *s->proof_secrets);
        s->proof_ids = malloc(cfg->n_proof_secrets * sizeof *s->proof_ids);
    }
    if (cfg->n_rooms)
        s->rooms = malloc(cfg->n_rooms * sizeof *s->rooms);
    if ((cfg->n_proof_secrets && (s->proof_secrets == NULL || s->proof_ids == NULL)) ||
        (cfg->n_rooms && s->rooms == NULL)) {
        pkc_session_free(s);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    for (size_t i = 0; i < cfg->n_proof_secrets; i++) {
        memcpy(s->proof_secrets[i], cfg->proof_secrets[i], 32);
        pkc_hs_proof_id(s->proof_ids[i], s->proof_secrets[i]);
    }
    s->cfg.proof_secrets = (const uint8_t(*)[32])s->proof_secrets;
    if (cfg->n_rooms)
        memcpy(s->rooms, cfg->rooms, cfg->n_rooms * sizeof *s->rooms);
    s->cfg.rooms = s->rooms;
    if (cfg->guard == NULL) {
        pkc_guard_config gc;
        pkc_guard_config_default(&gc);
        gc.capacity = 1;
        if ((rc = pkc_guard_new(&gc, clock, &s->own_guard))) {
            pkc_session_free(s);
            return rc;
        }
    }
    s->st = cfg->initiator ? ST_IDLE : ST_WAIT_HELLO;
    s->hs_deadline_us = now_us(s) + cfg->handshake_timeout_ms * 1000;
    s->msg_milli = (uint64_t)cfg->msg_burst * 1000;
    s->byte_milli = cfg->byte_burst * 1000;
    s->bucket_us = now_us(s);
    *out = s;
    return 0;
}

void pkc_session_free(pkc_session *s)
{
    if (s == NULL)
        return;
    pkc_buf_free(&s->out);
    if (s->plain)
        pkc_crypto_wipe(s->plain, s->plain_cap);
    free(s->plain);
    if (s->opened)
        pkc_crypto_wipe(s->opened, s->opened_cap);
    free(s->opened);
    if (s->proof_secrets)
        pkc_crypto_wipe(s->proof_secrets, s->cfg.n_proof_secrets * 32);
    free(s->proof_secrets);
    free(s->proof_ids);
    if (s->rooms)
        pkc_crypto_wipe(s->rooms, s->cfg.n_rooms * sizeof *s->rooms);
    free(s->rooms);
    pkc_guard_free(s->own_guard);
    pkc_replay_free(s->own_replay);
    pkc_crypto_wipe(s, sizeof *s);
    free(s);
}

/* Makes *buf (of *cap bytes) hold at least `need` bytes (1..limit): a power
 * of two from 256 up, at most `limit`. What it held is wiped, not kept.
 * NULL when out of memory (then *buf is unchanged). */
static uint8_t *room_for(uint8_t **buf, size_t *cap, size_t need, size_t limit)
{
    if (need <= *cap)
        return *buf;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    if (c > limit)
        c = limit;
    uint8_t *p = malloc(c);
    if (p == NULL) {
        pkc_error(PKC_ERR_NOMEM, "session: no memory for %zu bytes", c);
        return NULL;
    }
    if (*buf) {
        pkc_crypto_wipe(*buf, *cap);
        free(*buf);
    }
    *buf = p;
    *cap = c;
    return p;
}

/* --- Handshake --------------------------------------------------------- */

static int transcript_add(pkc_session *s, const uint8_t *p, size_t n)
{
    if (n > 4 * PKC_HS_MAX - s->transcript_len)
        return pkc_error(PKC_ERR_INTERNAL, "handshake: transcript full");
    pkc_crypto_hash_update(&s->transcript, p, n);
    s->transcript_len += n;
    return 0;
}

/* TH of the transcript plus the first `extra` bytes of `more` (the records
 * so far are not hashed again). */
static void th_with(const pkc_session *s, const uint8_t *more, size_t extra, uint8_t out[32])
{
    pkc_crypto_hash_peek(&s->transcript, more, extra, out, 32);
}

/* The tail of WELCOME, AUTH and ACCEPT, whose body is in s->out: appends
 * sig = Sign(identity, sig_label, TH(T || body)) unless sig_label is NULL,
 * then mac = KDF(k, mac_label, TH(T || body || sig)), and adds the record to
 * the transcript T. `th_body` is TH(T || body) if the caller has it (WELCOME
 * derives k from it), else NULL. */
static int sign_and_mac(pkc_session *s, const char *sig_label, const char *mac_label,
                        const uint8_t *th_body)
{
    uint8_t th[32], sig[PKC_SIGNATURE_BYTES], mac[PKC_MAC_BYTES];
    if (sig_label) {
        if (th_body == NULL) {
            th_with(s, s->out.data, s->out.len, th);
            th_body = th;
        }
        pkc_identity_sign_labeled(s->cfg.identity, sig_label, th_body, 32, sig);
        pkc_buf_push(&s->out, sig, sizeof sig);
    }
    th_with(s, s->out.data, s->out.len, th);
    pkc_kdf(mac, s->k, 32, mac_label, th, sizeof th);
    pkc_buf_push(&s->out, mac, sizeof mac);
    int rc = s->out.err;
    return rc ? rc : transcript_add(s, s->out.data, s->out.len);
}

/* Whether `mac` is KDF(k, label, TH(T || the first n bytes of rec)). */
static int mac_ok(const pkc_session *s, const char *label, const uint8_t *rec, size_t n,
                  const uint8_t *mac)
{
    uint8_t th[32], want[PKC_MAC_BYTES];
    th_with(s, rec, n, th);
    pkc_kdf(want, s->k, 32, label, th, sizeof th);
    return pkc_crypto_memcmp(want, mac, sizeof want) == 0;
}

static int fp_equal(const pkc_bytes *got, const uint8_t *want, size_t want_len)
{
    return got->len == want_len && (want_len == 0 || memcmp(got->data, want, want_len) == 0);
}

int pkc_session_start(pkc_session *s)
{
    if (s == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: NULL");
    if (!s->cfg.initiator)
        return 0;
    if (s->st != ST_IDLE)
        return pkc_error(PKC_ERR_STATE, "session: already started");
    pkc_rng_fill(s->rng, s->e_sk, sizeof s->e_sk);
    pkc_crypto_x25519_base(s->e_pk, s->e_sk);
    pkc_hs_hello h = {PKC_VERSION_MIN_SUPPORTED,
                      PKC_VERSION_MAX_SUPPORTED,
                      s->cfg.capabilities,
                      {s->local_fp, s->cfg.local_fingerprint_len},
                      {s->remote_fp, s->cfg.remote_fingerprint_len},
                      s->e_pk,
                      {NULL, 0}};
    s->min_version_offered = h.min_version;
    s->max_version_offered = h.max_version;
    pkc_buf_reset(&s->out);
    int rc = pkc_hs_encode_hello(&s->out, &h);
    if (rc == 0)
        rc = transcript_add(s, s->out.data, s->out.len);
    if (rc)
        return rc;
    s->hello_len = s->out.len;
    s->st = ST_WAIT_WELCOME;
    s->hs_deadline_us = now_us(s) + s->cfg.handshake_timeout_ms * 1000;
    return emit(s);
}

static void derive_session_keys(pkc_session *s)
{
    uint8_t th[32], i2r[32], r2i[32];
    th_with(s, NULL, 0, th);
    pkc_kdf(i2r, s->k, 32, PKC_LABEL_I2R, th, 32);
    pkc_kdf(r2i, s->k, 32, PKC_LABEL_R2I, th, 32);
    pkc_kdf(s->session_id, s->k, 32, PKC_LABEL_SESSION_ID, th, 32);
    static const uint8_t prefix[16] = {0};
    pkc_crypto_aead_subkey(s->key_send, s->cfg.initiator ? i2r : r2i, prefix);
    pkc_crypto_aead_subkey(s->key_recv, s->cfg.initiator ? r2i : i2r, prefix);
    pkc_crypto_wipe(i2r, 32);
    pkc_crypto_wipe(r2i, 32);
}

static void established(pkc_session *s)
{
    derive_session_keys(s);
    wipe_handshake(s);
    s->st = ST_ESTABLISHED;
    pkc_logi(SUB, "session with %s established (version %llu)", s->peer_id,
             (unsigned long long)s->version);
    if (s->cb.established)
        s->cb.established(s->user, s);
}

static void set_peer(pkc_session *s, const uint8_t pk[32])
{
    memcpy(s->peer_pk, pk, 32);
    pkc_peer_id_hash(pk, s->peer_hash);
    pkc_peer_id_encode(s->peer_hash, s->peer_id);
}

/* Responder: HELLO -> WELCOME. */
static int on_hello(pkc_session *s, const uint8_t *rec, size_t len)
{
    pkc_hs_hello h;
    int rc = pkc_hs_decode_hello(rec, len, &h);
    if (rc)
        return hs_fail(s, rc, PKC_REASON_PROTOCOL, 0, "malformed HELLO: %s", pkc_errmsg());
    uint64_t v = h.max_version < PKC_VERSION_MAX_SUPPORTED ? h.max_version
                                                           : PKC_VERSION_MAX_SUPPORTED;
    uint64_t lo = h.min_version > PKC_VERSION_MIN_SUPPORTED ? h.min_version
                                                            : PKC_VERSION_MIN_SUPPORTED;
    if (v < lo)
        return hs_fail(s, PKC_ERR_UNSUPPORTED, PKC_REASON_VERSION, 0,
                       "no common protocol version (peer %llu..%llu, ours %d..%d)",
                       (unsigned long long)h.min_version, (unsigned long long)h.max_version,
                       PKC_VERSION_MIN_SUPPORTED, PKC_VERSION_MAX_SUPPORTED);
    if (!fp_equal(&h.fp_initiator, s->remote_fp, s->cfg.remote_fingerprint_len) ||
        !fp_equal(&h.fp_responder, s->local_fp, s->cfg.local_fingerprint_len))
        return hs_fail(s, PKC_ERR_FINGERPRINT, PKC_REASON_FINGERPRINT, 0,
                       "the peer sees other DTLS certificates than we do: a relay or forged "
                       "endpoint is in between");
    if ((rc = transcript_add(s, rec, len)))
        return rc;
    s->hello_len = len;
    s->version = v;
    s->caps = h.capabilities & s->cfg.capabilities;

    pkc_rng_fill(s->rng, s->e_sk, sizeof s->e_sk);
    pkc_crypto_x25519_base(s->e_pk, s->e_sk);
    uint8_t dh[32];
    if (pkc_crypto_x25519(dh, s->e_sk, h.ephemeral) != 0)
        return hs_fail(s, PKC_ERR_CRYPTO, PKC_REASON_PROTOCOL, 0,
                       "the peer's ephemeral key is a small-order point");

    const pkc_identity *me = s->cfg.identity;
    pkc_hs_welcome w;
    memset(&w, 0, sizeof w);
    w.version = v;
    w.capabilities = s->cfg.capabilities;
    w.fp_initiator = (pkc_bytes){s->remote_fp, s->cfg.remote_fingerprint_len};
    w.fp_responder = (pkc_bytes){s->local_fp, s->cfg.local_fingerprint_len};
    w.ephemeral = s->e_pk;
    w.identity = me->public_key;
    w.pow_bits = (uint8_t)s->cfg.pow_bits;
    w.require = (uint8_t)s->cfg.require;
    pkc_buf_reset(&s->out);
    if ((rc = pkc_hs_encode_welcome_body(&s->out, &w))) {
        pkc_crypto_wipe(dh, sizeof dh);
        return rc;
    }
    uint8_t th[32];
    th_with(s, s->out.data, s->out.len, th);
    pkc_kdf(s->k, dh, sizeof dh, PKC_LABEL_HS_KEY, th, sizeof th);
    pkc_crypto_wipe(dh, sizeof dh);
    if ((rc = sign_and_mac(s, PKC_LABEL_SIG_RESPONDER, PKC_LABEL_MAC_RESPONDER, th)))
        return rc;
    th_with(s, NULL, 0, s->th_welcome);
    s->keyed = 1;
    s->st = ST_WAIT_AUTH;
    return emit(s);
}

/* Initiator: WELCOME -> AUTH. */
static int on_welcome(pkc_session *s, const uint8_t *rec, size_t len)
{
    pkc_hs_welcome w;
    int rc = pkc_hs_decode_welcome(rec, len, &w);
    if (rc)
        return hs_fail(s, rc, PKC_REASON_PROTOCOL, 0, "malformed WELCOME: %s", pkc_errmsg());
    if (w.version < s->min_version_offered || w.version > s->max_version_offered)
        return hs_fail(s, PKC_ERR_UNSUPPORTED, PKC_REASON_VERSION, 0,
                       "the peer chose version %llu, not one we offered",
                       (unsigned long long)w.version);
    if (!fp_equal(&w.fp_initiator, s->local_fp, s->cfg.local_fingerprint_len) ||
        !fp_equal(&w.fp_responder, s->remote_fp, s->cfg.remote_fingerprint_len))
        return hs_fail(s, PKC_ERR_FINGERPRINT, PKC_REASON_FINGERPRINT, 0,
                       "the peer sees other DTLS certificates than we do: a relay or forged "
                       "endpoint is in between");
    uint8_t th[32], dh[32];
    size_t body_len = len - PKC_SIGNATURE_BYTES - PKC_MAC_BYTES;
    th_with(s, rec, body_len, th);
    if (pkc_verify_labeled(w.identity, PKC_LABEL_SIG_RESPONDER, th, sizeof th, w.signature,
                           "WELCOME") != 0)
        return hs_fail(s, PKC_ERR_BAD_SIGNATURE, PKC_REASON_AUTH, 0,
                       "the WELCOME signature does not verify: the handshake was altered in "
                       "transit, or the peer does not hold its key");
    if (pkc_crypto_x25519(dh, s->e_sk, w.ephemeral) != 0)
        return hs_fail(s, PKC_ERR_CRYPTO, PKC_REASON_PROTOCOL, 0,
                       "the peer's ephemeral key is a small-order point");
    pkc_kdf(s->k, dh, sizeof dh, PKC_LABEL_HS_KEY, th, sizeof th);
    pkc_crypto_wipe(dh, sizeof dh);
    if (!mac_ok(s, PKC_LABEL_MAC_RESPONDER, rec, body_len + PKC_SIGNATURE_BYTES, w.mac))
        return hs_fail(s, PKC_ERR_BAD_SIGNATURE, PKC_REASON_AUTH, 0,
                       "the WELCOME key confirmation does not match");
    /* Both hold k now: from here on, a refusal is authenticated. */
    th_with(s, rec, len, s->th_welcome);
    s->keyed = 1;
    set_peer(s, w.identity);
    const pkc_identity *me = s->cfg.identity;
    if (memcmp(w.identity, me->public_key, 32) == 0)
        return hs_fail(s, PKC_ERR_REFUSED, PKC_REASON_SELF, 0, "connected to ourselves");
    if (s->cfg.expected_peer && memcmp(s->peer_hash, s->expected_peer, PKC_PEER_ID_HASH_BYTES) != 0)
        return hs_fail(s, PKC_ERR_MISMATCH, PKC_REASON_WRONG_PEER, 0,
                       "the peer is %s, not the one we meant to reach", s->peer_id);
    uint64_t retry = 0;
    if (pkc_guard_check(guard_of(s), s->peer_hash, &retry, NULL) != 0)
        return hs_fail(s, PKC_ERR_BLOCKED, PKC_REASON_BLOCKED, 0,
                       "we have blocked %s for %llu ms more", s->peer_id,
                       (unsigned long long)retry);
    if (w.pow_bits > s->cfg.max_pow_bits)
        return hs_fail(s, PKC_ERR_POW, PKC_REASON_POW, 0,
                       "the peer demands %u bits of proof of work, more than our limit of %u",
                       w.pow_bits, (unsigned)s->cfg.max_pow_bits);
    if ((rc = transcript_add(s, rec, len)))
        return rc;
    s->version = w.version;
    s->caps = w.capabilities & s->cfg.capabilities;

    pkc_hs_auth a;
    memset(&a, 0, sizeof a);
    uint8_t ctx[64], proof_id[PKC_PROOF_ID_BYTES], proof_mac[PKC_MAC_BYTES];
    a.identity = me->public_key;
    if (w.pow_bits) {
        pkc_hs_pow_context(ctx, s->th_welcome, me->public_key);
        a.pow_counter = pkc_pow_solve(PKC_POW_LABEL_HANDSHAKE, ctx, sizeof ctx, w.pow_bits);
    }
    if (s->cfg.proof_secret) {
        pkc_hs_proof_id(proof_id, s->proof_secret);
        pkc_hs_proof_mac(proof_mac, s->proof_secret, s->th_welcome, me->public_key);
        a.proof_id = proof_id;
        a.proof_mac = proof_mac;
    }
    pkc_buf_reset(&s->out);
    if ((rc = pkc_hs_encode_auth_body(&s->out, &a)) ||
        (rc = sign_and_mac(s, PKC_LABEL_SIG_INITIATOR, PKC_LABEL_MAC_INITIATOR, NULL)))
        return rc;
    s->st = ST_WAIT_ACCEPT;
    return emit(s);
}

/* Responder: AUTH -> ACCEPT or REFUSE. */
static int on_auth(pkc_session *s, const uint8_t *rec, size_t len)
{
    pkc_hs_auth a;
    int rc = pkc_hs_decode_auth(rec, len, &a);
    if (rc)
        return hs_fail(s, rc, PKC_REASON_PROTOCOL, 0, "malformed AUTH: %s", pkc_errmsg());
    uint8_t th[32], mac[PKC_MAC_BYTES];
    size_t body_len = len - PKC_SIGNATURE_BYTES - PKC_MAC_BYTES;
    th_with(s, rec, body_len, th);
    if (pkc_verify_labeled(a.identity, PKC_LABEL_SIG_INITIATOR, th, sizeof th, a.signature,
                           "AUTH") != 0)
        return hs_fail(s, PKC_ERR_BAD_SIGNATURE, PKC_REASON_AUTH, 0,
                       "the AUTH signature does not verify: the handshake was altered in "
                       "transit, or the peer does not hold its key");
    if (!mac_ok(s, PKC_LABEL_MAC_INITIATOR, rec, body_len + PKC_SIGNATURE_BYTES, a.mac))
        return hs_fail(s, PKC_ERR_BAD_SIGNATURE, PKC_REASON_AUTH, 0,
                       "the AUTH key confirmation does not match");
    set_peer(s, a.identity);
    const pkc_identity *me = s->cfg.identity;
    if (memcmp(a.identity, me->public_key, 32) == 0)
        return hs_fail(s, PKC_ERR_REFUSED, PKC_REASON_SELF, 0, "connected to ourselves");
    uint64_t retry = 0;
    const char *why = NULL;
    if (pkc_guard_check(guard_of(s), s->peer_hash, &retry, &why) != 0)
        return hs_fail(s, PKC_ERR_BLOCKED, PKC_REASON_BLOCKED, retry,
                       "blocked for %llu ms more: %s", (unsigned long long)retry, why);
    if (s->cfg.pow_bits) {
        uint8_t ctx[64];
        pkc_hs_pow_context(ctx, s->th_welcome, a.identity);
        unsigned got = pkc_pow_value(PKC_POW_LABEL_HANDSHAKE, ctx, sizeof ctx, a.pow_counter);
        if (got < s->cfg.pow_bits)
            return hs_fail(s, PKC_ERR_POW, PKC_REASON_POW, 0,
                           "proof of work worth %u bits for this handshake, %u required", got,
                           (unsigned)s->cfg.pow_bits);
    }
    int proof = -1;
    if (a.proof_id) {
        for (size_t i = 0; i < s->cfg.n_proof_secrets && proof < 0; i++) {
            if (memcmp(s->proof_ids[i], a.proof_id, PKC_PROOF_ID_BYTES) != 0)
                continue;
            pkc_hs_proof_mac(mac, s->proof_secrets[i], s->th_welcome, a.identity);
            if (pkc_crypto_memcmp(mac, a.proof_mac, sizeof mac) == 0)
                proof = (int)i;
        }
    }
    if (s->cfg.require) {
        int ok = ((s->cfg.require & PKC_REQUIRE_PROOF) && proof >= 0) ||
                 ((s->cfg.require & PKC_REQUIRE_KNOWN) && s->cb.is_known &&
                  s->cb.is_known(s->user, a.identity));
        if (!ok) {
            const char *need = s->cfg.require == PKC_REQUIRE_PROOF ? "an invitation is required"
                               : s->cfg.require == PKC_REQUIRE_KNOWN
                                   ? "only known peers are accepted"
                                   : "an invitation or a known identity is required";
            return hs_fail(s, PKC_ERR_UNAUTHORIZED, PKC_REASON_UNAUTHORIZED, 0, "%s%s", need,
                           a.proof_id ? " (the invitation proof given is not valid)" : "");
        }
    }
    s->proof_key = proof;
    if (s->cb.admit) {
        uint64_t reason = PKC_REASON_NONE;
        char text[PKC_REASON_TEXT_MAX + 1];
        text[0] = 0;
        if (s->cb.admit(s->user, s, &reason, text, sizeof text) != 0) {
            text[sizeof text - 1] = 0;
            int err = reason_error(reason);
            return hs_fail(s, err ? err : PKC_ERR_REFUSED, reason, 0, "%s",
                           text[0] ? text : "refused");
        }
    }
    if ((rc = transcript_add(s, rec, len)))
        return rc;
    pkc_hs_accept c = {{NULL, 0}, NULL};
    pkc_buf_reset(&s->out);
    if ((rc = pkc_hs_encode_accept_body(&s->out, &c)) ||
        (rc = sign_and_mac(s, NULL, PKC_LABEL_MAC_ACCEPT, NULL)))
        return rc;
    if ((rc = emit(s)))
        return rc;
    established(s);
    return 0;
}

/* Initiator: ACCEPT. */
static int on_accept(pkc_session *s, const uint8_t *rec, size_t len)
{
    pkc_hs_accept c;
    int rc = pkc_hs_decode_accept(rec, len, &c);
    if (rc)
        return hs_fail(s, rc, PKC_REASON_PROTOCOL, 0, "malformed ACCEPT: %s", pkc_errmsg());
    if (!mac_ok(s, PKC_LABEL_MAC_ACCEPT, rec, len - PKC_MAC_BYTES, c.mac))
        return hs_fail(s, PKC_ERR_BAD_SIGNATURE, PKC_REASON_AUTH, 0,
                       "the ACCEPT key confirmation does not match");
    if ((rc = transcript_add(s, rec, len)))
        return rc;
    established(s);
    return 0;
}

/* A REFUSE from the peer. Once both hold k it must carry a MAC to be taken
 * at its word; without one (the peer refused before it could check our
 * key, or someone on the path made it up) the handshake ends all the same
 * (anyone on the path could cut it anyway) but the end says it is not
 * authenticated and no retry time is taken from it. */
static int on_refuse(pkc_session *s, const uint8_t *rec, size_t len)
{
    pkc_hs_refuse r;
    int rc = pkc_hs_decode_refuse(rec, len, &r);
    if (rc) {
        s->end_unauthenticated = 1;
        finish(s, PKC_ERR_REFUSED, 1, PKC_REASON_PROTOCOL, 0, "the peer refused (malformed "
                                                              "REFUSE)");
        return pkc_error(PKC_ERR_REFUSED, "handshake: the peer refused (malformed REFUSE)");
    }
    int authentic = 0;
    if (s->keyed && r.mac) {
        uint8_t want[PKC_MAC_BYTES];
        pkc_hs_refuse_mac(want, s->k, !s->cfg.initiator, s->th_welcome, rec,
                          len - PKC_MAC_BYTES);
        authentic = pkc_crypto_memcmp(want, r.mac, sizeof want) == 0;
    }
    const char *unauth = authentic    ? ""
                         : !s->keyed  ? ", unauthenticated"
                         : r.mac      ? ", unauthenticated: its MAC does not verify"
                                      : ", unauthenticated: no MAC";
    int err = reason_error(r.reason);
    if (err == 0)
        err = PKC_ERR_REFUSED;
    /* The text comes from the peer: logged and shown, so keep it printable. */
    char text[PKC_REASON_TEXT_MAX + 1];
    size_t n = r.text.len;
    for (size_t i = 0; i < n; i++)
        text[i] = (r.text.data[i] < 0x20 || r.text.data[i] == 0x7f) ? ' ' : (char)r.text.data[i];
    text[n] = '\0';
    s->end_unauthenticated = !authentic;
    finish(s, err, 1, r.reason, authentic ? clamp_retry(r.retry_after_ms) : 0,
           "refused by the peer (%s%s): %s", pkc_reason_name(r.reason), unauth, text);
    return pkc_error(err, "handshake: refused by the peer (%s%s): %s", pkc_reason_name(r.reason),
                     unauth, text);
}

static int handshake_record(pkc_session *s, const uint8_t *rec, size_t len)
{
    if (len > PKC_HS_MAX)
        return hs_fail(s, PKC_ERR_TOO_LARGE, PKC_REASON_PROTOCOL, 0,
                       "a handshake record of %zu bytes (at most %d)", len, PKC_HS_MAX);
    uint8_t kind = rec[0];
    if (kind == PKC_REC_REFUSE)
        return on_refuse(s, rec, len);
    int rc, st = s->st;
    switch (s->st) {
    case ST_WAIT_HELLO:
        if (kind == PKC_REC_HELLO) {
            rc = on_hello(s, rec, len);
            goto progress;
        }
        break;
    case ST_WAIT_WELCOME:
        if (kind == PKC_REC_WELCOME) {
            rc = on_welcome(s, rec, len);
            goto progress;
        }
        break;
    case ST_WAIT_AUTH:
        if (kind == PKC_REC_AUTH) {
            rc = on_auth(s, rec, len);
            goto progress;
        }
        break;
    case ST_WAIT_ACCEPT:
        if (kind == PKC_REC_ACCEPT)
            return on_accept(s, rec, len);
        break;
    default:
        break;
    }
    return hs_fail(s, PKC_ERR_MALFORMED, PKC_REASON_PROTOCOL, 0,
                   "unexpected record kind 0x%02x during the handshake", kind);
progress:
    /* Each step the peer answers gives the next one the whole timeout: a
     * transport that is slow because it retransmits (a lossy path) still
     * completes; one that stops answering times out. At most three steps,
     * so at most three timeouts in all. */
    if (rc == 0 && (int)s->st != st && s->st != ST_ESTABLISHED && s->st != ST_CLOSED)
        s->hs_deadline_us = now_us(s) + s->cfg.handshake_timeout_ms * 1000;
    return rc;
}

/* --- Sealed records ---------------------------------------------------- */

/* A record's nonce is 16 zero bytes (the prefix of the subkeys), then this:
 * the sequence number, big-endian. */
static void seq_tail(uint8_t t[8], uint64_t seq)
{
    /* Spelled out, so that compilers make it one byte-swapped store. */
    t[0] = (uint8_t)(seq >> 56);
    t[1] = (uint8_t)(seq >> 48);
    t[2] = (uint8_t)(seq >> 40);
    t[3] = (uint8_t)(seq >> 32);
    t[4] = (uint8_t)(seq >> 24);
    t[5] = (uint8_t)(seq >> 16);
    t[6] = (uint8_t)(seq >> 8);
    t[7] = (uint8_t)seq;
}

/* Why no record can be sent now, or 0. */
static int cannot_send(const pkc_session *s)
{
    if (s->st == ST_ESTABLISHED && s->send_seq < SEQ_LIMIT)
        return 0;
    if (s->st == ST_CLOSED)
        return pkc_error(PKC_ERR_CLOSED, "session: closed");
    if (s->st != ST_ESTABLISHED)
        return pkc_error(PKC_ERR_STATE, "session: not established yet");
    return pkc_error(PKC_ERR_STATE, "session: sequence numbers exhausted; reconnect");
}

/* Starts a record in s->out, with room for `plain` bytes of frames and the
 * tag: writes its kind and sequence number. Returns where the frames go,
 * or NULL (out of memory: s->out.err). */
static uint8_t *begin_sealed(pkc_session *s, size_t plain)
{
    size_t need = 1 + PKC_VARUINT_MAX_BYTES + plain + PKC_AEAD_TAG_BYTES;
    s->out.len = 0;
    if (need > s->out.cap || s->out.err) {
        pkc_buf_reset(&s->out);
        if (pkc_buf_reserve(&s->out, need))
            return NULL;
    }
    uint8_t *p = s->out.data;
    *p++ = PKC_REC_SEALED;
    uint64_t v = s->send_seq;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    s->out.len = (size_t)(p - s->out.data);
    return p;
}

/* Seals the `plain` bytes of frames after the record's header and sends. */
static int seal_and_emit(pkc_session *s, size_t plain, uint64_t nframes)
{
    uint8_t *p = s->out.data + s->out.len;
    uint8_t t[8];
    seq_tail(t, s->send_seq);
    /* No associated data: the header is the kind byte and the sequence
     * number, and the sequence number is the nonce. */
    pkc_crypto_aead_seal_sub(p, p, plain, NULL, 0, t, s->key_send);
    s->out.len += plain + PKC_AEAD_TAG_BYTES;
    s->send_seq++;
    s->stats.frames_out += nframes;
    return emit(s);
}

int pkc_session_send(pkc_session *s, const pkc_frame *f)
{
    if (s == NULL || f == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "session send: NULL argument");
    int rc = cannot_send(s);
    if (rc)
        return rc;
    int64_t body, size = pkc_frame_sizes(f, &body);
    if (size < 0)
        return (int)size;
    if ((uint64_t)size > s->cfg.max_frame_size)
        return pkc_error(PKC_ERR_TOO_LARGE, "session send: a frame of %zu bytes (limit %u)",
                         (size_t)size, (unsigned)s->cfg.max_frame_size);
    uint8_t *p = begin_sealed(s, (size_t)size);
    if (p == NULL)
        return s->out.err;
    pkc_frame_put(p, f, (uint64_t)body);
    return seal_and_emit(s, (size_t)size, 1);
}

/* Walks the frame headers of `p`; returns the number of frames or an error. */
static int64_t count_frames(const uint8_t *p, size_t len, size_t max)
{
    pkc_reader r;
    pkc_reader_init(&r, p, len);
    int64_t n = 0;
    while (pkc_reader_left(&r)) {
        uint64_t type;
        pkc_bytes body;
        int rc = pkc_wire_varuint(&r, UINT64_MAX, &type, "frame type");
        if (rc == 0 && type == 0)
            rc = pkc_error(PKC_ERR_MALFORMED, "frame: type 0 is reserved");
        if (rc == 0)
            rc = pkc_wire_varbytes(&r, max, &body, "frame body");
        if (rc)
            return rc;
        n++;
    }
    return n;
}

int pkc_session_send_encoded(pkc_session *s, const uint8_t *frames, size_t len)
{
    if (s == NULL || frames == NULL || len == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "session send: no frames");
    if (len > s->cfg.max_frame_size)
        return pkc_error(PKC_ERR_TOO_LARGE, "session send: %zu bytes of frames (limit %u)", len,
                         (unsigned)s->cfg.max_frame_size);
    int64_t n = count_frames(frames, len, s->cfg.max_frame_size);
    if (n < 0)
        return pkc_error_wrap((int)n, "session send: not a sequence of frames");
    int rc = cannot_send(s);
    if (rc)
        return rc;
    uint8_t *p = begin_sealed(s, len);
    if (p == NULL)
        return s->out.err;
    memcpy(p, frames, len);
    return seal_and_emit(s, len, (uint64_t)n);
}

int pkc_session_send_raw(pkc_session *s, const uint8_t *plain, size_t len)
{
    if (s == NULL || plain == NULL || len == 0 || len > s->cfg.max_frame_size)
        return pkc_error(PKC_ERR_INVALID_ARG, "session send raw: 1..max_frame_size bytes");
    int rc = cannot_send(s);
    if (rc)
        return rc;
    uint8_t *p = begin_sealed(s, len);
    if (p == NULL)
        return s->out.err;
    memcpy(p, plain, len);
    return seal_and_emit(s, len, 0);
}

static int send_control(pkc_session *s, const pkc_control *c)
{
    pkc_frame f;
    f.type = PKC_FRAME_CONTROL;
    f.control = *c;
    return pkc_session_send(s, &f);
}

int pkc_session_ping(pkc_session *s)
{
    if (s == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: NULL");
    if (s->st != ST_ESTABLISHED)
        return pkc_error(s->st == ST_CLOSED ? PKC_ERR_CLOSED : PKC_ERR_STATE,
                         "session: not established");
    int slot = (int)(s->next_ping_id % PINGS);
    int64_t wall = now_ms(s);
    pkc_control c;
    memset(&c, 0, sizeof c);
    c.action = PKC_CONTROL_PING;
    c.ping_id = s->next_ping_id++;
    c.wall_ms = wall < 0 ? 0 : (uint64_t)wall;
    s->pings[slot].id = c.ping_id;
    s->pings[slot].sent_us = now_us(s);
    s->pings[slot].sent_wall = wall;
    s->pings[slot].used = 1;
    return send_control(s, &c);
}

int pkc_session_close(pkc_session *s, pkc_reason reason, const char *text)
{
    if (s == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "session: NULL");
    if (s->st == ST_CLOSED)
        return pkc_error(PKC_ERR_CLOSED, "session: already closed");
    if (text == NULL)
        text = pkc_reason_name(reason);
    size_t n = strlen(text);
    if (n > PKC_REASON_TEXT_MAX)
        n = PKC_REASON_TEXT_MAX;
    while (n > 0 && !pkc_utf8_valid((const uint8_t *)text, n, NULL))
        n--; /* do not cut a character in two */
    if (s->st == ST_ESTABLISHED) {
        pkc_control c;
        memset(&c, 0, sizeof c);
        c.action = PKC_CONTROL_DISCONNECT;
        c.reason = reason;
        c.text = (pkc_bytes){(const uint8_t *)text, n};
        (void)send_control(s, &c);
    } else if (s->st != ST_IDLE) {
        char t[PKC_REASON_TEXT_MAX + 1];
        memcpy(t, text, n);
        t[n] = '\0';
        send_refuse(s, reason, t, 0);
    }
    finish(s, 0, 0, reason, 0, "%.*s", (int)n, text);
    return 0;
}

/* --- Receiving frames -------------------------------------------------- */

/* Refills the token buckets from the time passed. */
static void refill(pkc_session *s)
{
    uint64_t t = now_us(s);
    if (t > s->bucket_us) {
        uint64_t dt = t - s->bucket_us;
        if (dt > 1000000000)
            dt = 1000000000;
        s->msg_milli += dt * s->cfg.msg_rate / 1000;
        s->byte_milli += dt * s->cfg.byte_rate / 1000;
        if (s->msg_milli > (uint64_t)s->cfg.msg_burst * 1000)
            s->msg_milli = (uint64_t)s->cfg.msg_burst * 1000;
        if (s->byte_milli > s->cfg.byte_burst * 1000)
            s->byte_milli = s->cfg.byte_burst * 1000;
        s->bucket_us = t;
    }
}

/* The peer is blocked now: tell it and end the session. */
static int blocked(pkc_session *s)
{
    uint64_t retry = 0;
    const char *why = "misbehaviour";
    (void)pkc_guard_check(guard_of(s), s->peer_hash, &retry, &why);
    char text[PKC_REASON_TEXT_MAX];
    snprintf(text, sizeof text, "blocked for %llu s: %s", (unsigned long long)(retry / 1000),
             why);
    pkc_control c;
    memset(&c, 0, sizeof c);
    c.action = PKC_CONTROL_DISCONNECT;
    c.reason = PKC_REASON_BLOCKED;
    c.text = (pkc_bytes){(const uint8_t *)text, strlen(text)};
    c.retry_after_ms = retry;
    (void)send_control(s, &c);
    finish(s, PKC_ERR_BLOCKED, 0, PKC_REASON_BLOCKED, retry, "%s", text);
    return pkc_error(PKC_ERR_BLOCKED, "session: %s", text);
}

/* Counts an offence; returns PKC_ERR_BLOCKED if that blocks the peer. */
static int penalise(pkc_session *s, uint32_t points, const char *what)
{
    pkc_guard *g = guard_of(s);
    if (pkc_guard_penalise(g, s->peer_hash, points, what) == PKC_ERR_BLOCKED)
        return blocked(s);
    return 0;
}

/* A frame that was invalid: count, log, penalise. Returns `err`, or
 * PKC_ERR_BLOCKED. */
static int invalid(pkc_session *s, int err, const char *what)
{
    s->stats.dropped_invalid++;
    pkc_logw(SUB, "from %s: dropped %s: %s", s->peer_id, what, pkc_errmsg());
    int rc = penalise(s, pkc_guard_invalid_points(guard_of(s)), what);
    return rc ? rc : err;
}

/* Takes one token of the frame rate for work the peer asks of us. Without
 * one: PKC_ERR_RATE_LIMITED, and the peer is penalised (PKC_ERR_BLOCKED if
 * that blocks it). */
static int charge_frame(pkc_session *s)
{
    if (s->msg_milli >= 1000) {
        s->msg_milli -= 1000;
        return 0;
    }
    s->stats.dropped_rate++;
    char why[96];
    snprintf(why, sizeof why, "over the message rate limit (%u/s, burst %u)",
             (unsigned)s->cfg.msg_rate, (unsigned)s->cfg.msg_burst);
    int rc = penalise(s, pkc_guard_excess_points(guard_of(s)), why);
    return rc ? rc : pkc_error(PKC_ERR_RATE_LIMITED, "frame over the message rate limit");
}

static int on_control(pkc_session *s, pkc_frame *f)
{
    const pkc_control *c = &f->control;
    if (c->action == PKC_CONTROL_PING) {
        int64_t wall = now_ms(s);
        pkc_control p;
        memset(&p, 0, sizeof p);
        p.action = PKC_CONTROL_PONG;
        p.ping_id = c->ping_id;
        p.wall_ms = wall < 0 ? 0 : (uint64_t)wall;
        p.rtt_us = s->rtt_us;
        (void)send_control(s, &p);
    } else if (c->action == PKC_CONTROL_PONG) {
        for (int i = 0; i < PINGS; i++) {
            if (!s->pings[i].used || s->pings[i].id != c->ping_id)
                continue;
            s->pings[i].used = 0;
            uint64_t rtt = now_us(s) - s->pings[i].sent_us;
            s->rtt_us = rtt ? rtt : 1;
            /* The pong left the peer about half a round trip after our ping. */
            s->clock_offset_ms =
                (int64_t)c->wall_ms - (s->pings[i].sent_wall + (int64_t)(rtt / 2000));
            break;
        }
    } else if (c->action == PKC_CONTROL_DISCONNECT) {
        char text[PKC_REASON_TEXT_MAX + 1];
        for (size_t i = 0; i < c->text.len; i++)
            text[i] = (c->text.data[i] < 0x20 || c->text.data[i] == 0x7f) ? ' '
                                                                          : (char)c->text.data[i];
        text[c->text.len] = '\0';
        finish(s, reason_error(c->reason), 1, c->reason, clamp_retry(c->retry_after_ms),
               "the peer disconnected (%s): %s", pkc_reason_name(c->reason), text);
    }
    return 0;
}

static void deliver(pkc_session *s, const pkc_frame *f)
{
    if (s->cb.frame)
        s->cb.frame(s->user, s, f);
}

static int on_message(pkc_session *s, pkc_frame *f)
{
    pkc_message *m = &f->message;
    s->stats.signatures_checked++;
    int rc = pkc_message_verify(m, f->type, now_ms(s), s->cfg.message_max_age_ms,
                                s->cfg.max_clock_skew_ms);
    if (rc == PKC_ERR_STALE) {
        s->stats.dropped_stale++;
        pkc_logd(SUB, "from %s: dropped a stale message: %s", s->peer_id, pkc_errmsg());
        return 0;
    }
    if (rc)
        return invalid(s, rc, f->type == PKC_FRAME_SIGNAL ? "a forged signal" : "a forged message");
    /* Room for the plaintext before the replay window remembers the id. */
    if ((m->flags & (PKC_MSG_ROOM | PKC_MSG_SEALED)) &&
        room_for(&s->opened, &s->opened_cap, m->payload.len, s->cfg.max_frame_size) == NULL)
        return PKC_ERR_NOMEM;
    pkc_replay *window = replay_of(s);
    if (window == NULL)
        return PKC_ERR_NOMEM;
    rc = pkc_replay_check(window, m->id, m->from, (int64_t)m->timestamp_ms, now_ms(s));
    if (rc == PKC_ERR_REPLAY) {
        s->stats.duplicates++;
        if (s->cb.duplicate)
            s->cb.duplicate(s->user, s, f);
        return 0;
    }
    if (rc) {
        /* Stale for the window (or the window closed by its final export). */
        s->stats.dropped_stale++;
        pkc_logd(SUB, "from %s: dropped a message: %s", s->peer_id, pkc_errmsg());
        return 0;
    }
    rc = pkc_message_open(m, f->type, s->cfg.identity, s->rooms, s->cfg.n_rooms, s->opened,
                          s->opened_cap);
    if (rc == PKC_ERR_DECRYPT) {
        /* Signed by its sender, who made it undecryptable: not this neighbour's
         * fault, so no penalty; but it goes no further. */
        s->stats.dropped_invalid++;
        pkc_logw(SUB, "from %s: dropped a message that does not decrypt: %s", s->peer_id,
                 pkc_errmsg());
        return 0;
    }
    deliver(s, f);
    return 0;
}

/* Verifies an announcement (a frame's or a PEX entry); `what` names it in
 * the log and the penalty. The claims (time, proof of work) are checked
 * first: what would be dropped anyway costs no signature check. A
 * signature not seen verified in this session before is checked for a
 * token of the frame rate when `charge` (the frame paid for the first);
 * without one, PKC_ERR_RATE_LIMITED and nothing is checked. */
static int check_announce(pkc_session *s, const pkc_announce *a, const char *what, int charge)
{
    int rc = pkc_announce_check_claims(a, now_ms(s), s->cfg.announce_max_age_ms,
                                       s->cfg.max_clock_skew_ms, s->cfg.announce_pow_bits);
    if (rc == 0) {
        uint8_t d[32];
        pkc_crypto_hash2(d, sizeof d, a->encoded.data, a->encoded.len, NULL, 0);
        unsigned slot = d[0] % VERIFIED_SLOTS;
        if ((s->verified_used >> slot & 1) && memcmp(s->verified[slot], d, sizeof d) == 0) {
            s->stats.verified_repeats++;
            return 0;
        }
        if (charge && (rc = charge_frame(s)) != 0)
            return rc;
        s->stats.signatures_checked++;
        rc = pkc_announce_check_signature(a);
        if (rc == 0) {
            memcpy(s->verified[slot], d, sizeof d);
            s->verified_used |= UINT64_C(1) << slot;
            return 0;
        }
    }
    if (rc == PKC_ERR_BAD_SIGNATURE)
        return invalid(s, rc, what);
    if (rc == PKC_ERR_STALE)
        s->stats.dropped_stale++;
    else
        s->stats.dropped_invalid++;
    pkc_logd(SUB, "from %s: dropped %s: %s", s->peer_id, what, pkc_errmsg());
    return rc;
}

/* A PEX response: each entry is checked; one signature check is paid by the
 * frame's token, each further one takes its own (repeats are free), so a
 * frame of 64 entries costs what 64 ANNOUNCE frames would. */
static int on_pex(pkc_session *s, pkc_frame *f)
{
    if (f->pex.request) {
        deliver(s, f);
        return 0;
    }
    size_t kept = 0;
    int worst = 0;
    uint64_t checked = s->stats.signatures_checked;
    for (size_t i = 0; i < f->pex.count; i++) {
        pkc_announce a;
        int rc = pkc_announce_decode(f->pex.announcements[i].data, f->pex.announcements[i].len, &a);
        if (rc == 0)
            rc = check_announce(s, &a, "a forged announcement in peer exchange",
                                s->stats.signatures_checked > checked);
        else if (rc != PKC_ERR_UNSUPPORTED)
            rc = invalid(s, rc, "a malformed announcement in peer exchange");
        if (rc == PKC_ERR_BLOCKED)
            return rc;
        if (rc == PKC_ERR_BAD_SIGNATURE || rc == PKC_ERR_MALFORMED ||
            (rc == PKC_ERR_RATE_LIMITED && worst == 0))
            worst = rc;
        if (rc == 0)
            f->pex.announcements[kept++] = f->pex.announcements[i];
    }
    f->pex.count = kept;
    if (kept)
        deliver(s, f);
    return worst;
}

static int on_announce(pkc_session *s, pkc_frame *f)
{
    int rc = check_announce(s, &f->announce, "a forged announcement", 0);
    if (rc == 0)
        deliver(s, f);
    return rc == PKC_ERR_STALE || rc == PKC_ERR_POW ? 0 : rc;
}

static int on_sync(pkc_session *s, pkc_frame *f)
{
    deliver(s, f);
    return 0;
}

static int on_mesh(pkc_session *s, pkc_frame *f)
{
    deliver(s, f);
    return 0;
}

/* The handlers of the frame types, by the rows of PKC_FRAME_TYPES. */
typedef int (*frame_handler)(pkc_session *s, pkc_frame *f);
static const frame_handler handlers[PKC_FRAME_TYPE_END] = {
#define ROW(type, name, stem) [type] = on_##stem,
    PKC_FRAME_TYPES(ROW)
#undef ROW
};

static int on_frame(pkc_session *s, pkc_frame *f)
{
    frame_handler h = f->type < PKC_FRAME_TYPE_END ? handlers[f->type] : NULL;
    if (h == NULL) {
        s->stats.unknown_skipped++;
        return 0;
    }
    s->stats.frames_in++;
    return h(s, f);
}

/* The size of the frame at `p` from its header alone, or 0. */
static size_t frame_extent(const uint8_t *p, size_t len)
{
    pkc_reader r;
    pkc_reader_init(&r, p, len);
    uint64_t type, n;
    if (pkc_reader_varuint(&r, &type) || pkc_reader_varuint(&r, &n) || n > pkc_reader_left(&r))
        return 0;
    return pkc_reader_offset(&r) + (size_t)n;
}

/* A sealed record, step 1: its size, kind and sequence number; *hdr is
 * where the ciphertext starts. */
static int record_header(pkc_session *s, const uint8_t *rec, size_t len, uint64_t *seq,
                         size_t *hdr)
{
    if (len > (size_t)s->cfg.max_frame_size + SEALED_OVERHEAD) {
        s->stats.dropped_invalid++;
        return pkc_error(PKC_ERR_TOO_LARGE, "record of %zu bytes: frames are at most %u bytes",
                         len, (unsigned)s->cfg.max_frame_size);
    }
    if (rec[0] != PKC_REC_SEALED) {
        s->stats.dropped_invalid++;
        return pkc_error(PKC_ERR_MALFORMED, "record kind 0x%02x after the handshake", rec[0]);
    }
    size_t n = 1 + pkc_wire_varuint_quick(rec + 1, rec + len, seq);
    if (n == 1 || *seq > SEQ_LIMIT) {
        pkc_reader r;
        pkc_reader_init(&r, rec + 1, len - 1);
        int rc = pkc_wire_varuint(&r, SEQ_LIMIT, seq, "record sequence number");
        if (rc) {
            s->stats.dropped_invalid++;
            return rc;
        }
        n = 1 + pkc_reader_offset(&r);
    }
    if (len - n < PKC_AEAD_TAG_BYTES) {
        s->stats.dropped_invalid++;
        return pkc_error(PKC_ERR_TRUNCATED, "record: shorter than its tag");
    }
    *hdr = n;
    return 0;
}

/* Step 2: the sequence number against the window of records received:
 * anything above the top, or within the window and unseen. */
static int record_seq_check(pkc_session *s, uint64_t seq)
{
    if (s->recv_any && seq <= s->recv_top &&
        (s->recv_top - seq >= SEQ_WINDOW || (s->recv_bitmap >> (s->recv_top - seq)) & 1)) {
        s->stats.dropped_replayed++;
        return pkc_error(PKC_ERR_REPLAY, "record %llu: replayed or too old (newest %llu)",
                         (unsigned long long)seq, (unsigned long long)s->recv_top);
    }
    return 0;
}

/* Remembers `seq` as received (once its tag verified). */
static void record_seq_accept(pkc_session *s, uint64_t seq)
{
    if (!s->recv_any || seq > s->recv_top) {
        uint64_t shift = s->recv_any ? seq - s->recv_top : SEQ_WINDOW;
        s->recv_bitmap = shift >= SEQ_WINDOW ? 0 : s->recv_bitmap << shift;
        s->recv_bitmap |= 1;
        s->recv_top = seq;
        s->recv_any = 1;
    } else {
        s->recv_bitmap |= UINT64_C(1) << (s->recv_top - seq);
    }
}

/* Step 3: decrypts the frames into s->plain (*plain_len bytes). */
static int record_open(pkc_session *s, const uint8_t *rec, size_t len, size_t hdr, uint64_t seq,
                       size_t *plain_len)
{
    size_t n = len - hdr - PKC_AEAD_TAG_BYTES;
    if ((n > s->plain_cap || s->plain == NULL) &&
        room_for(&s->plain, &s->plain_cap, n ? n : 1,
                 (size_t)s->cfg.max_frame_size + PKC_AEAD_TAG_BYTES) == NULL)
        return PKC_ERR_NOMEM;
    uint8_t t[8];
    seq_tail(t, seq);
    if (pkc_crypto_aead_open_sub(s->plain, rec + hdr, len - hdr, NULL, 0, t, s->key_recv) != 0) {
        /* Not attributable (a third party can inject on a transport without
         * DTLS), so counted but not penalised. */
        s->stats.dropped_invalid++;
        return pkc_error(PKC_ERR_DECRYPT, "record %llu: does not authenticate",
                         (unsigned long long)seq);
    }
    *plain_len = n;
    return 0;
}

/* Step 4: the record's bytes against the byte rate. */
static int record_charge(pkc_session *s, size_t len)
{
    refill(s);
    if (s->byte_milli >= (uint64_t)len * 1000) {
        s->byte_milli -= (uint64_t)len * 1000;
        return 0;
    }
    s->stats.dropped_rate++;
    pkc_logd(SUB, "from %s: record over the byte rate", s->peer_id);
    char why[96];
    snprintf(why, sizeof why, "over the byte rate limit (%llu B/s)",
             (unsigned long long)s->cfg.byte_rate);
    int rc = penalise(s, pkc_guard_excess_points(guard_of(s)), why);
    return rc ? rc : pkc_error(PKC_ERR_RATE_LIMITED, "record over the byte rate limit");
}

/* Step 5: the frames, in order, each for a token of the frame rate. */
static int record_frames(pkc_session *s, uint64_t seq, size_t plain_len)
{
    if (plain_len == 0)
        return pkc_error(PKC_ERR_MALFORMED, "record %llu: no frames", (unsigned long long)seq);
    int result = 0, rc;
    size_t off = 0;
    while (off < plain_len && s->st == ST_ESTABLISHED) {
        rc = charge_frame(s);
        if (rc == PKC_ERR_BLOCKED)
            return rc;
        pkc_frame f;
        size_t used = 0;
        if (rc == 0)
            rc = pkc_frame_decode(s->plain + off, plain_len - off, s->cfg.max_frame_size, &f,
                                  &used);
        if (rc == PKC_ERR_RATE_LIMITED || rc == PKC_ERR_UNSUPPORTED) {
            /* Over the rate, or a known type in a newer version (skipped as
             * unknown types are): step over it by its header. */
            if (rc == PKC_ERR_RATE_LIMITED)
                result = rc;
            else
                s->stats.unknown_skipped++;
            size_t ext = frame_extent(s->plain + off, plain_len - off);
            if (ext == 0)
                break;
            off += ext;
            continue;
        }
        if (rc) {
            rc = invalid(s, rc, "a malformed frame");
            return rc;
        }
        off += used;
        rc = on_frame(s, &f);
        if (rc == PKC_ERR_BLOCKED)
            return rc;
        if (rc && result == 0)
            result = rc;
    }
    return result;
}

static int sealed_record(pkc_session *s, const uint8_t *rec, size_t len)
{
    uint64_t seq = 0;
    size_t hdr = 0, plain_len = 0;
    int rc;
    if ((rc = record_header(s, rec, len, &seq, &hdr)) || (rc = record_seq_check(s, seq)) ||
        (rc = record_open(s, rec, len, hdr, seq, &plain_len)))
        return rc;
    record_seq_accept(s, seq);
    s->stats.records_in++;
    s->stats.bytes_in += len;
    if ((rc = record_charge(s, len)))
        return rc;
    return record_frames(s, seq, plain_len);
}

int pkc_session_receive(pkc_session *s, const uint8_t *rec, size_t len)
{
    if (s == NULL || (rec == NULL && len > 0))
        return pkc_error(PKC_ERR_INVALID_ARG, "session receive: NULL argument");
    if (s->st == ST_CLOSED)
        return pkc_error(PKC_ERR_CLOSED, "session: closed");
    if (len == 0)
        return pkc_error(PKC_ERR_MALFORMED, "session: an empty record");
    if (s->st == ST_IDLE)
        return pkc_error(PKC_ERR_STATE, "session: pkc_session_start() first");
    if (s->st != ST_ESTABLISHED) {
        int rc = handshake_record(s, rec, len);
        if (rc == 0) {
            s->stats.records_in++;
            s->stats.bytes_in += len;
        }
        return rc;
    }
    return sealed_record(s, rec, len);
}

/* --- Time and introspection -------------------------------------------- */

uint64_t pkc_session_get_deadline(const pkc_session *s)
{
    if (s == NULL || s->st == ST_ESTABLISHED || s->st == ST_CLOSED)
        return UINT64_MAX;
    return s->hs_deadline_us;
}

void pkc_session_tick(pkc_session *s)
{
    if (s == NULL || s->st == ST_ESTABLISHED || s->st == ST_CLOSED)
        return;
    if (now_us(s) >= s->hs_deadline_us)
        (void)hs_fail(s, PKC_ERR_TIMEOUT, PKC_REASON_TIMEOUT, 0,
                      "the handshake did not finish within %llu ms",
                      (unsigned long long)s->cfg.handshake_timeout_ms);
}

pkc_session_state pkc_session_get_state(const pkc_session *s)
{
    if (s->st == ST_ESTABLISHED)
        return PKC_SESSION_ESTABLISHED;
    if (s->st == ST_CLOSED)
        return PKC_SESSION_CLOSED;
    return PKC_SESSION_HANDSHAKE;
}

void pkc_session_get_info_versioned(const pkc_session *s, int info_version, pkc_session_info *out)
{
    pkc_session_info tmp, *info = &tmp;
    memset(info, 0, sizeof *info);
    info->state = pkc_session_get_state(s);
    info->version = s->version;
    info->capabilities = s->caps;
    memcpy(info->peer_public_key, s->peer_pk, 32);
    memcpy(info->peer_id, s->peer_id, sizeof info->peer_id);
    memcpy(info->session_id, s->session_id, sizeof info->session_id);
    info->proof_key = s->proof_key;
    info->rtt_us = s->rtt_us;
    info->clock_offset_ms = s->clock_offset_ms;
    info->stats = s->stats;
    pkc_struct_write(out, info, info_version, PKC_STRUCT_V1(pkc_session_info));
}
