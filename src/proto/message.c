/*
 * message.c: signed records: peer announcements and DATA / SIGNAL messages,
 * their encryption to a room or to one recipient, and room keys
 * (docs/protocol.md, "Announcements" and "Messages").
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/peerid.h"
#include "crypto/pow.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/versioned.h"
#include "util/rng.h"
#include "util/text.h"
#include "proto/frame.h"

#define LABEL_ROOM_KEY "pkc-room-key-v1"
#define LABEL_ROOM_ID "pkc-room-id-v1"
#define LABEL_SEAL "pkc-seal-v1"

void pkc_room_key_derive(const uint8_t secret[PKC_ROOM_SECRET_BYTES], pkc_room_key *out)
{
    uint8_t id[PKC_KDF_BYTES];
    pkc_kdf(out->key, secret, PKC_ROOM_SECRET_BYTES, LABEL_ROOM_KEY, NULL, 0);
    pkc_kdf(id, secret, PKC_ROOM_SECRET_BYTES, LABEL_ROOM_ID, NULL, 0);
    memcpy(out->id, id, PKC_ROOM_ID_BYTES);
}

static int check_time(uint64_t ts, int64_t now_ms, int64_t max_age_ms, int64_t max_skew_ms,
                      const char *what)
{
    int64_t t = (int64_t)ts;
    if (t > now_ms && t - now_ms > max_skew_ms)
        return pkc_error(PKC_ERR_STALE,
                         "%s: timestamp %lld ms ahead of our clock (tolerance %lld ms)", what,
                         (long long)(t - now_ms), (long long)max_skew_ms);
    if (t < now_ms && now_ms - t > max_age_ms)
        return pkc_error(PKC_ERR_STALE, "%s: %lld ms old (at most %lld ms accepted)", what,
                         (long long)(now_ms - t), (long long)max_age_ms);
    return 0;
}

/* --- Announcements ----------------------------------------------------- */

static void pow_context_announce(uint8_t ctx[40], const uint8_t pk[32], uint64_t ts)
{
    memcpy(ctx, pk, 32);
    for (int i = 0; i < 8; i++)
        ctx[32 + i] = (uint8_t)(ts >> (56 - 8 * i));
}

int pkc_announce_create_versioned(const pkc_identity *id, int params_version,
                                  const pkc_announce_params *params, uint8_t **frame,
                                  size_t *frame_len)
{
    pkc_announce_params pv, *p = &pv;
    memset(&pv, 0, sizeof pv);
    if (params == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "announce: NULL argument");
    int vrc = pkc_struct_read(&pv, params, params_version, PKC_STRUCT_V1(pkc_announce_params));
    if (vrc)
        return vrc;
    if (id == NULL || frame == NULL || frame_len == NULL ||
        (p->n_addresses > 0 && p->addresses == NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "announce: NULL argument");
    if (p->timestamp_ms > PKC_TIMESTAMP_MAX)
        return pkc_error(PKC_ERR_RANGE, "announce: timestamp above 2^53 - 1");
    if (p->n_addresses > PKC_ADDRESSES_MAX)
        return pkc_error(PKC_ERR_RANGE, "announce: %zu addresses, at most %d", p->n_addresses,
                         PKC_ADDRESSES_MAX);
    if (p->pow_bits > PKC_POW_BITS_MAX)
        return pkc_error(PKC_ERR_RANGE, "announce: proof of work of %u bits, at most %d",
                         p->pow_bits, PKC_POW_BITS_MAX);
    for (size_t i = 0; i < p->n_addresses; i++) {
        const char *a = p->addresses[i];
        size_t n = a ? strlen(a) : 0;
        if (n == 0 || n > PKC_ADDRESS_MAX || !pkc_utf8_valid((const uint8_t *)a, n, NULL))
            return pkc_error(PKC_ERR_INVALID_ARG,
                             "announce: address %zu must be 1..%d bytes of UTF-8", i,
                             PKC_ADDRESS_MAX);
    }
    uint8_t ctx[40];
    pow_context_announce(ctx, id->public_key, p->timestamp_ms);
    uint64_t counter = pkc_pow_solve(PKC_POW_LABEL_ANNOUNCE, ctx, sizeof ctx, p->pow_bits);

    pkc_buf b = PKC_BUF_INIT;
    pkc_buf_push_varuint(&b, PKC_FRAME_ANNOUNCE);
    size_t mark = pkc_buf_block_begin(&b);
    size_t start = b.len;
    pkc_buf_push_u8(&b, PKC_ANNOUNCE_VERSION);
    pkc_buf_push(&b, id->public_key, 32);
    pkc_buf_push(&b, id->dh_public, 32);
    pkc_buf_push_varuint(&b, p->timestamp_ms);
    pkc_buf_push_varuint(&b, p->capabilities);
    pkc_buf_push_varuint(&b, p->n_addresses);
    for (size_t i = 0; i < p->n_addresses; i++)
        pkc_buf_push_cstring(&b, p->addresses[i]);
    pkc_buf_push_varuint(&b, 0); /* no extensions */
    pkc_buf_push_u64be(&b, counter);
    int rc = b.err;
    if (rc == 0) {
        uint8_t sig[PKC_SIGNATURE_BYTES];
        pkc_identity_sign_labeled(id, PKC_LABEL_ANNOUNCE, b.data + start, b.len - start, sig);
        pkc_buf_push(&b, sig, sizeof sig);
        rc = pkc_buf_block_end(&b, mark);
    }
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    *frame = pkc_buf_steal(&b, frame_len);
    return 0;
}

int pkc_announce_check_signature(const pkc_announce *a)
{
    if (a == NULL || a->encoded.data == NULL || a->encoded.len < PKC_SIGNATURE_BYTES)
        return pkc_error(PKC_ERR_INVALID_ARG, "announce verify: not a decoded announcement");
    return pkc_verify_labeled(a->public_key, PKC_LABEL_ANNOUNCE, a->encoded.data,
                              a->encoded.len - PKC_SIGNATURE_BYTES, a->signature, "announcement");
}

int pkc_announce_check_claims(const pkc_announce *a, int64_t now_ms, int64_t max_age_ms,
                              int64_t max_skew_ms, uint32_t pow_bits)
{
    int rc;
    if ((rc = check_time(a->timestamp_ms, now_ms, max_age_ms, max_skew_ms, "announcement")))
        return rc;
    if (pow_bits > 0) {
        uint8_t ctx[40];
        pow_context_announce(ctx, a->public_key, a->timestamp_ms);
        if ((rc = pkc_pow_check(PKC_POW_LABEL_ANNOUNCE, ctx, sizeof ctx, a->pow_counter,
                                pow_bits)))
            return pkc_error_wrap(rc, "announcement of %s", a->peer_id);
    }
    return 0;
}

int pkc_announce_verify(const pkc_announce *a, int64_t now_ms, int64_t max_age_ms,
                        int64_t max_skew_ms, uint32_t pow_bits)
{
    int rc = pkc_announce_check_signature(a);
    return rc ? rc : pkc_announce_check_claims(a, now_ms, max_age_ms, max_skew_ms, pow_bits);
}

/* --- Messages ---------------------------------------------------------- */

static void aead_nonce(uint8_t out[PKC_AEAD_NONCE_BYTES], const uint8_t nonce[PKC_NONCE_BYTES],
                       uint64_t ts)
{
    memcpy(out, nonce, PKC_NONCE_BYTES);
    for (int i = 0; i < 8; i++)
        out[PKC_NONCE_BYTES + i] = (uint8_t)(ts >> (56 - 8 * i));
}

/* key = KDF(X25519(sk, pk), "pkc-seal-v1", ephemeral_pk || recipient_dh_pk) */
static int seal_key(uint8_t key[32], const uint8_t sk[32], const uint8_t pk[32],
                    const uint8_t eph_pk[32], const uint8_t recipient_pk[32])
{
    uint8_t shared[32], ctx[64];
    if (pkc_crypto_x25519(shared, sk, pk) != 0)
        return -1;
    memcpy(ctx, eph_pk, 32);
    memcpy(ctx + 32, recipient_pk, 32);
    pkc_kdf(key, shared, sizeof shared, LABEL_SEAL, ctx, sizeof ctx);
    pkc_crypto_wipe(shared, sizeof shared);
    return 0;
}

int pkc_message_create_versioned(const pkc_identity *id, int params_version,
                                 const pkc_message_params *params, const pkc_clock *clock,
                                 const pkc_rng *rng, uint8_t **frame, size_t *frame_len,
                                 uint8_t msg_id[PKC_MSG_ID_BYTES])
{
    pkc_message_params pv, *p = &pv;
    memset(&pv, 0, sizeof pv);
    if (params == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "message: NULL argument");
    int vrc = pkc_struct_read(&pv, params, params_version, PKC_STRUCT_V1(pkc_message_params));
    if (vrc)
        return vrc;
    if (id == NULL || clock == NULL || rng == NULL || frame == NULL ||
        frame_len == NULL || (p->payload == NULL && p->payload_len > 0) ||
        (p->topic == NULL && p->topic_len > 0))
        return pkc_error(PKC_ERR_INVALID_ARG, "message: NULL argument");
    if (p->type != PKC_FRAME_DATA && p->type != PKC_FRAME_SIGNAL)
        return pkc_error(PKC_ERR_INVALID_ARG, "message: type must be DATA or SIGNAL");
    if (p->to_dh_public_key && !p->to_public_key)
        return pkc_error(PKC_ERR_INVALID_ARG, "message: sealing needs the recipient");
    if (p->to_dh_public_key && p->room)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "message: sealed to a recipient or encrypted to a room, not both");
    if (p->type == PKC_FRAME_SIGNAL && (!p->to_dh_public_key || p->room))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "message: a signal is sealed to its recipient (X25519 key needed)");
    if (p->topic_len > PKC_TOPIC_MAX ||
        !pkc_utf8_valid((const uint8_t *)p->topic, p->topic_len, NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "message: topic must be 0..%d bytes of UTF-8",
                         PKC_TOPIC_MAX);
    if (p->payload_len > PKC_FRAME_SIZE_MAX - 512)
        return pkc_error(PKC_ERR_TOO_LARGE, "message: payload of %zu bytes", p->payload_len);
    int64_t now = pkc_clock_wall_ms(clock);
    if (now < 0 || (uint64_t)now > PKC_TIMESTAMP_MAX)
        return pkc_error(PKC_ERR_RANGE, "message: the wall clock is out of range");
    uint64_t ts = (uint64_t)now;

    unsigned flags = 0;
    if (p->to_public_key)
        flags |= PKC_MSG_DIRECT;
    if (p->to_dh_public_key)
        flags |= PKC_MSG_SEALED;
    if (p->room)
        flags |= PKC_MSG_ROOM;
    int encrypted = (flags & (PKC_MSG_SEALED | PKC_MSG_ROOM)) != 0;

    uint8_t nonce[PKC_NONCE_BYTES], eph_sk[32], eph_pk[32], key[32];
    pkc_rng_fill(rng, nonce, sizeof nonce);
    if (flags & PKC_MSG_SEALED) {
        pkc_rng_fill(rng, eph_sk, sizeof eph_sk);
        pkc_crypto_x25519_base(eph_pk, eph_sk);
        int bad = seal_key(key, eph_sk, p->to_dh_public_key, eph_pk, p->to_dh_public_key);
        pkc_crypto_wipe(eph_sk, sizeof eph_sk);
        if (bad)
            return pkc_error(PKC_ERR_CRYPTO, "message: the recipient's X25519 key is invalid");
    } else if (flags & PKC_MSG_ROOM) {
        memcpy(key, p->room->key, sizeof key);
    }

    /* The exact size first: one allocation, and the body's length written
     * before the body (no moving it afterwards). */
    size_t ct_len = p->payload_len + (encrypted ? PKC_AEAD_TAG_BYTES : 0);
    size_t signed_len = 2 + 32 + ((flags & PKC_MSG_DIRECT) ? PKC_PEER_ID_HASH_BYTES : 0) +
                        pkc_varuint_size(ts) + PKC_NONCE_BYTES + pkc_varuint_size(p->topic_len) +
                        p->topic_len + ((flags & PKC_MSG_ROOM) ? PKC_ROOM_ID_BYTES : 0) +
                        ((flags & PKC_MSG_SEALED) ? 32 : 0) + pkc_varuint_size(ct_len) + ct_len;
    size_t body_len = 1 /* hops */ + signed_len + PKC_SIGNATURE_BYTES;
    size_t total = pkc_varuint_size(p->type) + pkc_varuint_size(body_len) + body_len;
    pkc_buf b = PKC_BUF_INIT;
    (void)pkc_buf_reserve(&b, total);
    pkc_buf_push_varuint(&b, p->type);
    pkc_buf_push_varuint(&b, body_len);
    pkc_buf_push_varuint(&b, 0); /* hops */
    size_t start = b.len;
    pkc_buf_push_u8(&b, PKC_MESSAGE_VERSION);
    pkc_buf_push_u8(&b, (uint8_t)flags);
    pkc_buf_push(&b, id->public_key, 32);
    if (flags & PKC_MSG_DIRECT) {
        uint8_t to[PKC_PEER_ID_HASH_BYTES];
        pkc_peer_id_hash(p->to_public_key, to);
        pkc_buf_push(&b, to, sizeof to);
    }
    pkc_buf_push_varuint(&b, ts);
    pkc_buf_push(&b, nonce, sizeof nonce);
    pkc_buf_push_varstring(&b, p->topic, p->topic_len);
    if (flags & PKC_MSG_ROOM)
        pkc_buf_push(&b, p->room->id, PKC_ROOM_ID_BYTES);
    if (flags & PKC_MSG_SEALED)
        pkc_buf_push(&b, eph_pk, sizeof eph_pk);
    size_t header_end = b.len;
    pkc_buf_push_varuint(&b, ct_len);
    int rc = pkc_buf_reserve(&b, ct_len + PKC_SIGNATURE_BYTES);
    if (rc == 0) {
        if (encrypted) {
            uint8_t n24[PKC_AEAD_NONCE_BYTES];
            aead_nonce(n24, nonce, ts);
            pkc_crypto_aead_seal(b.data + b.len, p->payload, p->payload_len, b.data + start,
                                 header_end - start, n24, key);
        } else if (p->payload_len) {
            memcpy(b.data + b.len, p->payload, p->payload_len);
        }
        b.len += ct_len;
        uint8_t digest[32], sig[PKC_SIGNATURE_BYTES];
        pkc_message_digest(p->type, b.data + start, b.len - start, digest);
        pkc_crypto_sign(sig, digest, sizeof digest, id->secret_key);
        if (msg_id)
            memcpy(msg_id, digest, PKC_MSG_ID_BYTES);
        pkc_buf_push(&b, sig, sizeof sig);
        rc = b.err;
        if (rc == 0 && b.len != total)
            rc = pkc_error(PKC_ERR_INTERNAL, "message: %zu bytes written, %zu computed", b.len,
                           total);
    }
    pkc_crypto_wipe(key, sizeof key);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    *frame = pkc_buf_steal(&b, frame_len);
    return 0;
}

int pkc_message_verify(const pkc_message *m, uint64_t type, int64_t now_ms, int64_t max_age_ms,
                       int64_t max_skew_ms)
{
    if (m == NULL || m->signed_part.data == NULL || m->signature == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "message verify: not a decoded message");
    /* The digest was computed when decoding, with the label of the type
     * decoded; checked as another type, it is that type's digest. */
    uint8_t other[32];
    const uint8_t *digest = m->digest;
    if (type != m->type) {
        pkc_message_digest(type, m->signed_part.data, m->signed_part.len, other);
        digest = other;
    }
    if (pkc_crypto_sign_verify(m->signature, digest, 32, m->from) != 0)
        return pkc_error(PKC_ERR_BAD_SIGNATURE, "%s: the signature does not match",
                         type == PKC_FRAME_SIGNAL ? "signal" : "message");
    return check_time(m->timestamp_ms, now_ms, max_age_ms, max_skew_ms, "message");
}

int pkc_message_open(pkc_message *m, uint64_t type, const pkc_identity *self,
                     const pkc_room_key *rooms, size_t n_rooms, uint8_t *out, size_t out_cap)
{
    (void)type;
    if (m == NULL || m->signed_part.data == NULL || (n_rooms > 0 && rooms == NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "message open: NULL argument");
    if (!(m->flags & (PKC_MSG_ROOM | PKC_MSG_SEALED))) {
        m->plaintext = m->payload;
        m->opened = 1;
        return 0;
    }
    if (m->payload.len < PKC_AEAD_TAG_BYTES || out == NULL ||
        out_cap < m->payload.len - PKC_AEAD_TAG_BYTES)
        return pkc_error(PKC_ERR_INVALID_ARG, "message open: output buffer too small");
    uint8_t key[32];
    if (m->flags & PKC_MSG_ROOM) {
        const pkc_room_key *k = NULL;
        for (size_t i = 0; i < n_rooms && k == NULL; i++)
            if (memcmp(rooms[i].id, m->room_id, PKC_ROOM_ID_BYTES) == 0)
                k = &rooms[i];
        if (k == NULL)
            return pkc_error(PKC_ERR_NOT_FOUND, "message: encrypted for a room we have no key of");
        memcpy(key, k->key, sizeof key);
    } else {
        uint8_t me[PKC_PEER_ID_HASH_BYTES];
        if (self == NULL)
            return pkc_error(PKC_ERR_NOT_FOUND, "message: sealed, and no identity to open it");
        pkc_peer_id_hash(self->public_key, me);
        if (memcmp(me, m->to, sizeof me) != 0)
            return pkc_error(PKC_ERR_NOT_FOUND, "message: sealed to another peer");
        if (seal_key(key, self->dh_secret, m->ephemeral, m->ephemeral, self->dh_public) != 0)
            return pkc_error(PKC_ERR_DECRYPT, "message: invalid ephemeral key");
    }
    /* The header (signed part up to the payload's length) is the AEAD's
     * associated data. */
    size_t header_len = (size_t)(m->payload.data - m->signed_part.data) -
                        pkc_varuint_size(m->payload.len);
    uint8_t n24[PKC_AEAD_NONCE_BYTES];
    aead_nonce(n24, m->nonce, m->timestamp_ms);
    int bad = pkc_crypto_aead_open(out, m->payload.data, m->payload.len, m->signed_part.data,
                                   header_len, n24, key);
    pkc_crypto_wipe(key, sizeof key);
    if (bad)
        return pkc_error(PKC_ERR_DECRYPT, "message %s: cannot decrypt (tampered, or wrong key)",
                         m->flags & PKC_MSG_ROOM ? "to the room" : "sealed to us");
    m->plaintext.data = out;
    m->plaintext.len = m->payload.len - PKC_AEAD_TAG_BYTES;
    m->opened = 1;
    return 0;
}
