/* handshake.c: handshake record codec and key-schedule helpers (handshake.h). */
#include "proto/handshake.h"

#include <string.h>

#include "crypto/kdf.h"
#include "util/err.h"
#include "proto/wire.h"

static int fingerprint_ok(const pkc_bytes *fp, const char *what)
{
    if (fp->len != 0 && (fp->len < 16 || fp->len > PKC_FINGERPRINT_MAX_BYTES))
        return pkc_error(PKC_ERR_MALFORMED, "%s: a fingerprint of %zu bytes (0 or 16..64)", what,
                         fp->len);
    return 0;
}

static int start(pkc_reader *r, const uint8_t *in, size_t len, uint8_t kind, const char *what)
{
    if (in == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: NULL", what);
    if (len > PKC_HS_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "%s: %zu bytes, handshake records are at most %d",
                         what, len, PKC_HS_MAX);
    pkc_reader_init(r, in, len);
    uint8_t k;
    int rc = pkc_wire_u8(r, &k, what);
    if (rc)
        return rc;
    if (k != kind)
        return pkc_error(PKC_ERR_MALFORMED, "%s: record kind 0x%02x", what, k);
    return 0;
}

static int extensions(pkc_reader *r, pkc_bytes *out, const char *what)
{
    return pkc_wire_extensions(r, PKC_HS_EXTENSIONS_MAX, PKC_HS_EXTENSION_VALUE_MAX, out, what);
}

int pkc_hs_decode_hello(const uint8_t *in, size_t len, pkc_hs_hello *out)
{
    pkc_reader r;
    pkc_hs_hello m;
    const uint8_t *magic;
    int rc = start(&r, in, len, PKC_REC_HELLO, "HELLO");
    if (rc)
        return rc;
    if ((rc = pkc_wire_fixed(&r, 3, &magic, "HELLO magic")))
        return rc;
    if (memcmp(magic, PKC_HS_MAGIC, 3) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "HELLO: not a pkc handshake (no \"pkc\" magic)");
    if ((rc = pkc_wire_varuint(&r, UINT32_MAX, &m.min_version, "HELLO min version")) ||
        (rc = pkc_wire_varuint(&r, UINT32_MAX, &m.max_version, "HELLO max version")) ||
        (rc = pkc_wire_varuint(&r, UINT64_MAX, &m.capabilities, "HELLO capabilities")) ||
        (rc = pkc_wire_varbytes(&r, PKC_FINGERPRINT_MAX_BYTES, &m.fp_initiator,
                                "HELLO initiator fingerprint")) ||
        (rc = pkc_wire_varbytes(&r, PKC_FINGERPRINT_MAX_BYTES, &m.fp_responder,
                                "HELLO responder fingerprint")) ||
        (rc = fingerprint_ok(&m.fp_initiator, "HELLO")) ||
        (rc = fingerprint_ok(&m.fp_responder, "HELLO")) ||
        (rc = pkc_wire_fixed(&r, 32, &m.ephemeral, "HELLO ephemeral key")) ||
        (rc = extensions(&r, &m.extensions, "HELLO extensions")) ||
        (rc = pkc_wire_end(&r, "HELLO")))
        return rc;
    if (m.min_version == 0 || m.min_version > m.max_version)
        return pkc_error(PKC_ERR_MALFORMED, "HELLO: versions %llu..%llu",
                         (unsigned long long)m.min_version, (unsigned long long)m.max_version);
    *out = m;
    return 0;
}

int pkc_hs_decode_welcome(const uint8_t *in, size_t len, pkc_hs_welcome *out)
{
    pkc_reader r;
    pkc_hs_welcome m;
    int rc = start(&r, in, len, PKC_REC_WELCOME, "WELCOME");
    if (rc)
        return rc;
    if ((rc = pkc_wire_varuint(&r, UINT32_MAX, &m.version, "WELCOME version")) ||
        (rc = pkc_wire_varuint(&r, UINT64_MAX, &m.capabilities, "WELCOME capabilities")) ||
        (rc = pkc_wire_varbytes(&r, PKC_FINGERPRINT_MAX_BYTES, &m.fp_initiator,
                                "WELCOME initiator fingerprint")) ||
        (rc = pkc_wire_varbytes(&r, PKC_FINGERPRINT_MAX_BYTES, &m.fp_responder,
                                "WELCOME responder fingerprint")) ||
        (rc = fingerprint_ok(&m.fp_initiator, "WELCOME")) ||
        (rc = fingerprint_ok(&m.fp_responder, "WELCOME")) ||
        (rc = pkc_wire_fixed(&r, 32, &m.ephemeral, "WELCOME ephemeral key")) ||
        (rc = pkc_wire_fixed(&r, 32, &m.identity, "WELCOME identity key")) ||
        (rc = pkc_wire_u8(&r, &m.pow_bits, "WELCOME proof-of-work bits")) ||
        (rc = pkc_wire_u8(&r, &m.require, "WELCOME admission")) ||
        (rc = extensions(&r, &m.extensions, "WELCOME extensions")) ||
        (rc = pkc_wire_fixed(&r, PKC_SIGNATURE_BYTES, &m.signature, "WELCOME signature")) ||
        (rc = pkc_wire_fixed(&r, PKC_MAC_BYTES, &m.mac, "WELCOME mac")) ||
        (rc = pkc_wire_end(&r, "WELCOME")))
        return rc;
    if (m.version == 0)
        return pkc_error(PKC_ERR_MALFORMED, "WELCOME: version 0");
    if (m.pow_bits > 32)
        return pkc_error(PKC_ERR_RANGE, "WELCOME: proof of work of %u bits (at most 32)",
                         m.pow_bits);
    *out = m;
    return 0;
}

int pkc_hs_decode_auth(const uint8_t *in, size_t len, pkc_hs_auth *out)
{
    pkc_reader r;
    pkc_hs_auth m;
    uint8_t has_proof;
    int rc = start(&r, in, len, PKC_REC_AUTH, "AUTH");
    if (rc)
        return rc;
    if ((rc = pkc_wire_fixed(&r, 32, &m.identity, "AUTH identity key")) ||
        (rc = pkc_wire_u64be(&r, &m.pow_counter, "AUTH proof of work")) ||
        (rc = pkc_wire_u8(&r, &has_proof, "AUTH proof flag")))
        return rc;
    if (has_proof > 1)
        return pkc_error(PKC_ERR_MALFORMED, "AUTH: proof flag %u (0 or 1)", has_proof);
    m.proof_id = m.proof_mac = NULL;
    if (has_proof && ((rc = pkc_wire_fixed(&r, PKC_PROOF_ID_BYTES, &m.proof_id, "AUTH proof id")) ||
                      (rc = pkc_wire_fixed(&r, PKC_MAC_BYTES, &m.proof_mac, "AUTH proof"))))
        return rc;
    if ((rc = extensions(&r, &m.extensions, "AUTH extensions")) ||
        (rc = pkc_wire_fixed(&r, PKC_SIGNATURE_BYTES, &m.signature, "AUTH signature")) ||
        (rc = pkc_wire_fixed(&r, PKC_MAC_BYTES, &m.mac, "AUTH mac")) ||
        (rc = pkc_wire_end(&r, "AUTH")))
        return rc;
    *out = m;
    return 0;
}

int pkc_hs_decode_accept(const uint8_t *in, size_t len, pkc_hs_accept *out)
{
    pkc_reader r;
    pkc_hs_accept m;
    int rc = start(&r, in, len, PKC_REC_ACCEPT, "ACCEPT");
    if (rc)
        return rc;
    if ((rc = extensions(&r, &m.extensions, "ACCEPT extensions")) ||
        (rc = pkc_wire_fixed(&r, PKC_MAC_BYTES, &m.mac, "ACCEPT mac")) ||
        (rc = pkc_wire_end(&r, "ACCEPT")))
        return rc;
    *out = m;
    return 0;
}

int pkc_hs_decode_refuse(const uint8_t *in, size_t len, pkc_hs_refuse *out)
{
    pkc_reader r;
    pkc_hs_refuse m;
    int rc = start(&r, in, len, PKC_REC_REFUSE, "REFUSE");
    if (rc)
        return rc;
    if ((rc = pkc_wire_varuint(&r, UINT64_MAX, &m.reason, "REFUSE reason")) ||
        (rc = pkc_wire_varstring(&r, PKC_REASON_TEXT_MAX, &m.text, "REFUSE text")) ||
        (rc = pkc_wire_varuint(&r, UINT64_MAX, &m.retry_after_ms, "REFUSE retry")))
        return rc;
    /* Then the MAC, or nothing: the record's length says which. */
    m.mac = NULL;
    if (pkc_reader_left(&r) &&
        (rc = pkc_wire_fixed(&r, PKC_MAC_BYTES, &m.mac, "REFUSE mac")))
        return rc;
    if ((rc = pkc_wire_end(&r, "REFUSE")))
        return rc;
    *out = m;
    return 0;
}

/* --- Encoding ---------------------------------------------------------- */

static void push_extensions(pkc_buf *b, const pkc_bytes *ext)
{
    if (ext->len)
        pkc_buf_push(b, ext->data, ext->len);
    else
        pkc_buf_push_varuint(b, 0);
}

int pkc_hs_encode_hello(pkc_buf *b, const pkc_hs_hello *m)
{
    pkc_buf_push_u8(b, PKC_REC_HELLO);
    pkc_buf_push(b, PKC_HS_MAGIC, 3);
    pkc_buf_push_varuint(b, m->min_version);
    pkc_buf_push_varuint(b, m->max_version);
    pkc_buf_push_varuint(b, m->capabilities);
    pkc_buf_push_varbytes(b, m->fp_initiator.data, m->fp_initiator.len);
    pkc_buf_push_varbytes(b, m->fp_responder.data, m->fp_responder.len);
    pkc_buf_push(b, m->ephemeral, 32);
    push_extensions(b, &m->extensions);
    return b->err;
}

int pkc_hs_encode_welcome_body(pkc_buf *b, const pkc_hs_welcome *m)
{
    pkc_buf_push_u8(b, PKC_REC_WELCOME);
    pkc_buf_push_varuint(b, m->version);
    pkc_buf_push_varuint(b, m->capabilities);
    pkc_buf_push_varbytes(b, m->fp_initiator.data, m->fp_initiator.len);
    pkc_buf_push_varbytes(b, m->fp_responder.data, m->fp_responder.len);
    pkc_buf_push(b, m->ephemeral, 32);
    pkc_buf_push(b, m->identity, 32);
    pkc_buf_push_u8(b, m->pow_bits);
    pkc_buf_push_u8(b, m->require);
    push_extensions(b, &m->extensions);
    return b->err;
}

int pkc_hs_encode_auth_body(pkc_buf *b, const pkc_hs_auth *m)
{
    pkc_buf_push_u8(b, PKC_REC_AUTH);
    pkc_buf_push(b, m->identity, 32);
    pkc_buf_push_u64be(b, m->pow_counter);
    if (m->proof_id) {
        pkc_buf_push_u8(b, 1);
        pkc_buf_push(b, m->proof_id, PKC_PROOF_ID_BYTES);
        pkc_buf_push(b, m->proof_mac, PKC_MAC_BYTES);
    } else {
        pkc_buf_push_u8(b, 0);
    }
    push_extensions(b, &m->extensions);
    return b->err;
}

int pkc_hs_encode_accept_body(pkc_buf *b, const pkc_hs_accept *m)
{
    pkc_buf_push_u8(b, PKC_REC_ACCEPT);
    push_extensions(b, &m->extensions);
    return b->err;
}

int pkc_hs_encode_refuse(pkc_buf *b, const pkc_hs_refuse *m)
{
    pkc_buf_push_u8(b, PKC_REC_REFUSE);
    pkc_buf_push_varuint(b, m->reason);
    pkc_buf_push_varbytes(b, m->text.data, m->text.len);
    pkc_buf_push_varuint(b, m->retry_after_ms);
    if (m->mac)
        pkc_buf_push(b, m->mac, PKC_MAC_BYTES);
    return b->err;
}

/* --- Key schedule helpers ---------------------------------------------- */

void pkc_hs_transcript_hash(uint8_t out[32], const uint8_t *transcript, size_t len)
{
    pkc_hash_labeled(out, 32, PKC_LABEL_TRANSCRIPT, transcript, len);
}

void pkc_hs_transcript_init(pkc_hash_state *st)
{
    /* H(label, x) hashes label || 0x00 || x: the label with its NUL. */
    pkc_crypto_hash_init(st, 32);
    pkc_crypto_hash_update(st, PKC_LABEL_TRANSCRIPT, sizeof PKC_LABEL_TRANSCRIPT);
}

void pkc_hs_refuse_mac(uint8_t out[PKC_MAC_BYTES], const uint8_t k[32], int by_initiator,
                       const uint8_t th_welcome[32], const uint8_t *refuse, size_t len)
{
    uint8_t x[32 + PKC_HS_MAX];
    if (len > PKC_HS_MAX)
        len = PKC_HS_MAX; /* callers pass a record they checked or made */
    memcpy(x, th_welcome, 32);
    memcpy(x + 32, refuse, len);
    pkc_kdf(out, k, 32, by_initiator ? PKC_LABEL_REFUSE_INITIATOR : PKC_LABEL_REFUSE_RESPONDER, x,
            32 + len);
}

void pkc_hs_proof_id(uint8_t out[PKC_PROOF_ID_BYTES], const uint8_t secret[32])
{
    uint8_t k[PKC_KDF_BYTES];
    pkc_kdf(k, secret, 32, PKC_LABEL_PROOF_ID, NULL, 0);
    memcpy(out, k, PKC_PROOF_ID_BYTES);
}

void pkc_hs_pow_context(uint8_t out[64], const uint8_t th_welcome[32], const uint8_t identity[32])
{
    memcpy(out, th_welcome, 32);
    memcpy(out + 32, identity, 32);
}

void pkc_hs_proof_mac(uint8_t out[PKC_MAC_BYTES], const uint8_t secret[32],
                      const uint8_t th_welcome[32], const uint8_t identity[32])
{
    uint8_t ctx[64];
    pkc_hs_pow_context(ctx, th_welcome, identity);
    pkc_kdf(out, secret, 32, PKC_LABEL_PROOF, ctx, sizeof ctx);
}
