/* stun.c: the STUN codec (RFC 8489), strict decoder and writer. */
#include "rtc/stun.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/err.h"

#define FINGERPRINT_XOR 0x5354554eu
#define INTEGRITY_SIZE 20

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int pkc_stun_is_stun(const uint8_t *p, size_t n)
{
    return n >= PKC_STUN_HEADER_SIZE && p[0] < 4 && rd32(p + 4) == PKC_STUN_MAGIC;
}

static int decode_address(const uint8_t *v, size_t len, const uint8_t *header, int xor_,
                          pkc_addr *out, const char *name, size_t off)
{
    if (len < 4)
        return pkc_error(PKC_ERR_MALFORMED, "STUN %s at offset %zu: %zu bytes, too short", name,
                         off, len);
    pkc_addr a;
    memset(&a, 0, sizeof a);
    uint8_t fam = v[1];
    if (fam == 1 && len == 8)
        a.family = 4;
    else if (fam == 2 && len == 20)
        a.family = 6;
    else
        return pkc_error(PKC_ERR_MALFORMED,
                         "STUN %s at offset %zu: family %u with %zu bytes of value", name, off,
                         (unsigned)fam, len);
    a.port = rd16(v + 2);
    memcpy(a.ip, v + 4, a.family == 4 ? 4 : 16);
    if (xor_) {
        /* Port and address are XORed with the magic cookie, then (IPv6)
         * the transaction id: exactly bytes 4..19 of the header. */
        a.port ^= (uint16_t)(PKC_STUN_MAGIC >> 16);
        for (size_t i = 0; i < (a.family == 4 ? 4u : 16u); i++)
            a.ip[i] ^= header[4 + i];
    }
    *out = a;
    return 0;
}

static int want_len(size_t got, size_t want, const char *name, size_t off)
{
    if (got != want)
        return pkc_error(PKC_ERR_MALFORMED, "STUN %s at offset %zu: %zu bytes, expected %zu",
                         name, off, got, want);
    return 0;
}

int pkc_stun_decode(const uint8_t *p, size_t n, pkc_stun_msg *out)
{
    if (n < PKC_STUN_HEADER_SIZE)
        return pkc_error(PKC_ERR_TRUNCATED, "STUN: %zu bytes, shorter than the 20-byte header", n);
    if (n > PKC_STUN_MAX_SIZE)
        return pkc_error(PKC_ERR_TOO_LARGE, "STUN: %zu bytes, over the %d-byte limit", n,
                         PKC_STUN_MAX_SIZE);
    if (p[0] & 0xc0)
        return pkc_error(PKC_ERR_MALFORMED, "STUN: the first two bits are not zero");
    if (rd32(p + 4) != PKC_STUN_MAGIC)
        return pkc_error(PKC_ERR_MALFORMED, "STUN: no magic cookie (RFC 3489 messages are not supported)");
    size_t body = rd16(p + 2);
    if (body % 4)
        return pkc_error(PKC_ERR_MALFORMED, "STUN: length %zu is not a multiple of 4", body);
    if (body + PKC_STUN_HEADER_SIZE != n)
        return pkc_error(body + PKC_STUN_HEADER_SIZE > n ? PKC_ERR_TRUNCATED : PKC_ERR_MALFORMED,
                         "STUN: the header announces %zu bytes of attributes, the datagram has %zu",
                         body, n - PKC_STUN_HEADER_SIZE);

    pkc_stun_msg m;
    memset(&m, 0, sizeof m);
    m.type = rd16(p);
    memcpy(m.txid, p + 8, PKC_STUN_TXID_SIZE);
    m.len = n;

    int after_integrity = 0;
    size_t off = PKC_STUN_HEADER_SIZE;
    while (off < n) {
        if (n - off < 4)
            return pkc_error(PKC_ERR_TRUNCATED, "STUN: attribute header at offset %zu cut off", off);
        uint16_t type = rd16(p + off), len = rd16(p + off + 2);
        size_t padded = ((size_t)len + 3) & ~(size_t)3;
        if (padded > n - off - 4)
            return pkc_error(PKC_ERR_TRUNCATED,
                             "STUN: attribute 0x%04x at offset %zu: %u bytes announced, %zu left",
                             type, off, (unsigned)len, n - off - 4);
        const uint8_t *v = p + off + 4;
        int rc = 0;
        if (m.has & PKC_STUN_HAS_FINGERPRINT)
            return pkc_error(PKC_ERR_MALFORMED, "STUN: attribute 0x%04x at offset %zu after FINGERPRINT",
                             type, off);
        if (type == PKC_STUN_ATTR_FINGERPRINT) {
            if ((rc = want_len(len, 4, "FINGERPRINT", off)))
                return rc;
            uint32_t crc = (uint32_t)crc32(0L, p, (uInt)off) ^ FINGERPRINT_XOR;
            if (crc != rd32(v))
                return pkc_error(PKC_ERR_CHECKSUM, "STUN: FINGERPRINT does not match the message");
            m.has |= PKC_STUN_HAS_FINGERPRINT;
        } else if (after_integrity) {
            /* RFC 8489 14.5: ignore everything else after MESSAGE-INTEGRITY. */
        } else if (type == PKC_STUN_ATTR_MESSAGE_INTEGRITY) {
            if ((rc = want_len(len, INTEGRITY_SIZE, "MESSAGE-INTEGRITY", off)))
                return rc;
            m.has |= PKC_STUN_HAS_INTEGRITY;
            m.integrity_offset = off;
            after_integrity = 1;
        } else if (type == PKC_STUN_ATTR_USERNAME) {
            if (len > PKC_STUN_MAX_USERNAME)
                return pkc_error(PKC_ERR_MALFORMED, "STUN USERNAME at offset %zu: %u bytes, over %d",
                                 off, (unsigned)len, PKC_STUN_MAX_USERNAME);
            if (!(m.has & PKC_STUN_HAS_USERNAME)) {
                m.username = v;
                m.username_len = len;
                m.has |= PKC_STUN_HAS_USERNAME;
            }
        } else if (type == PKC_STUN_ATTR_XOR_MAPPED_ADDRESS) {
            pkc_addr a;
            if ((rc = decode_address(v, len, p, 1, &a, "XOR-MAPPED-ADDRESS", off)))
                return rc;
            if (!(m.has & PKC_STUN_HAS_XOR_MAPPED)) {
                m.xor_mapped = a;
                m.has |= PKC_STUN_HAS_XOR_MAPPED;
            }
        } else if (type == PKC_STUN_ATTR_MAPPED_ADDRESS) {
            pkc_addr a;
            if ((rc = decode_address(v, len, p, 0, &a, "MAPPED-ADDRESS", off)))
                return rc;
            if (!(m.has & PKC_STUN_HAS_MAPPED)) {
                m.mapped = a;
                m.has |= PKC_STUN_HAS_MAPPED;
            }
        } else if (type == PKC_STUN_ATTR_PRIORITY) {
            if ((rc = want_len(len, 4, "PRIORITY", off)))
                return rc;
            if (!(m.has & PKC_STUN_HAS_PRIORITY)) {
                m.priority = rd32(v);
                m.has |= PKC_STUN_HAS_PRIORITY;
            }
        } else if (type == PKC_STUN_ATTR_USE_CANDIDATE) {
            if ((rc = want_len(len, 0, "USE-CANDIDATE", off)))
                return rc;
            m.has |= PKC_STUN_HAS_USE_CANDIDATE;
        } else if (type == PKC_STUN_ATTR_ICE_CONTROLLING || type == PKC_STUN_ATTR_ICE_CONTROLLED) {
            int ing = type == PKC_STUN_ATTR_ICE_CONTROLLING;
            if ((rc = want_len(len, 8, ing ? "ICE-CONTROLLING" : "ICE-CONTROLLED", off)))
                return rc;
            uint64_t t = (uint64_t)rd32(v) << 32 | rd32(v + 4);
            uint32_t bit = ing ? PKC_STUN_HAS_CONTROLLING : PKC_STUN_HAS_CONTROLLED;
            if (!(m.has & bit)) {
                if (ing)
                    m.ice_controlling = t;
                else
                    m.ice_controlled = t;
                m.has |= bit;
            }
        } else if (type == PKC_STUN_ATTR_ERROR_CODE) {
            if (len < 4 || len > 4 + 763)
                return pkc_error(PKC_ERR_MALFORMED, "STUN ERROR-CODE at offset %zu: %u bytes", off,
                                 (unsigned)len);
            unsigned cls = v[2] & 7, num = v[3];
            if (rd16(v) != 0 || (v[2] & 0xf8) || cls < 3 || cls > 6 || num > 99)
                return pkc_error(PKC_ERR_MALFORMED, "STUN ERROR-CODE at offset %zu: class %u number %u",
                                 off, cls, num);
            if (!(m.has & PKC_STUN_HAS_ERROR_CODE)) {
                m.error_code = (uint16_t)(cls * 100 + num);
                m.reason = v + 4;
                m.reason_len = len - 4u;
                m.has |= PKC_STUN_HAS_ERROR_CODE;
            }
        } else if (type == PKC_STUN_ATTR_SOFTWARE) {
            if (len > 763)
                return pkc_error(PKC_ERR_MALFORMED, "STUN SOFTWARE at offset %zu: %u bytes", off,
                                 (unsigned)len);
            if (!(m.has & PKC_STUN_HAS_SOFTWARE)) {
                m.software = v;
                m.software_len = len;
                m.has |= PKC_STUN_HAS_SOFTWARE;
            }
        } else if (type < 0x8000) {
            /* Comprehension-required and unknown to us. */
            if (m.n_unknown < PKC_STUN_MAX_UNKNOWN)
                m.unknown[m.n_unknown++] = type;
            m.has |= PKC_STUN_HAS_UNKNOWN_ATTRS;
        }
        off += 4 + padded;
    }
    *out = m;
    return 0;
}

/* HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the length field
 * counting up to the end of MESSAGE-INTEGRITY (RFC 8489 14.5). */
static void integrity_hmac(const uint8_t *p, size_t mi_off, const void *key, size_t key_len,
                           uint8_t out[INTEGRITY_SIZE])
{
    uint8_t header[PKC_STUN_HEADER_SIZE];
    memcpy(header, p, sizeof header);
    wr16(header + 2, (uint16_t)(mi_off + 4 + INTEGRITY_SIZE - PKC_STUN_HEADER_SIZE));
    /* One contiguous buffer for the one-shot HMAC: a STUN message is small. */
    uint8_t buf[PKC_STUN_MAX_SIZE];
    memcpy(buf, header, sizeof header);
    memcpy(buf + sizeof header, p + sizeof header, mi_off - sizeof header);
    unsigned int md_len = INTEGRITY_SIZE;
    HMAC(EVP_sha1(), key, (int)key_len, buf, mi_off, out, &md_len);
}

int pkc_stun_check_integrity(const uint8_t *p, const pkc_stun_msg *m, const void *key,
                             size_t key_len)
{
    if (!(m->has & PKC_STUN_HAS_INTEGRITY))
        return pkc_error(PKC_ERR_NOT_FOUND, "STUN: no MESSAGE-INTEGRITY");
    uint8_t mac[INTEGRITY_SIZE];
    integrity_hmac(p, m->integrity_offset, key, key_len, mac);
    if (CRYPTO_memcmp(mac, p + m->integrity_offset + 4, INTEGRITY_SIZE) != 0)
        return pkc_error(PKC_ERR_INTEGRITY, "STUN: MESSAGE-INTEGRITY does not verify");
    return 0;
}

void pkc_stun_begin(pkc_buf *b, uint16_t type, const uint8_t txid[PKC_STUN_TXID_SIZE])
{
    pkc_buf_push_u16be(b, type);
    pkc_buf_push_u16be(b, 0);
    pkc_buf_push_u32be(b, PKC_STUN_MAGIC);
    pkc_buf_push(b, txid, PKC_STUN_TXID_SIZE);
}

static void set_length(pkc_buf *b)
{
    if (b->err == 0 && b->len >= PKC_STUN_HEADER_SIZE)
        wr16(b->data + 2, (uint16_t)(b->len - PKC_STUN_HEADER_SIZE));
}

void pkc_stun_add(pkc_buf *b, uint16_t attr, const void *value, size_t len)
{
    static const uint8_t zero[4];
    if (len > 0xffff) {
        if (b->err == 0)
            b->err = pkc_error_code(PKC_ERR_TOO_LARGE);
        return;
    }
    pkc_buf_push_u16be(b, attr);
    pkc_buf_push_u16be(b, (uint16_t)len);
    if (len)
        pkc_buf_push(b, value, len);
    pkc_buf_push(b, zero, (4 - len % 4) % 4);
    if (b->err == 0 && b->len > PKC_STUN_MAX_SIZE)
        b->err = pkc_error_code(PKC_ERR_TOO_LARGE);
}

void pkc_stun_add_u32(pkc_buf *b, uint16_t attr, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    pkc_stun_add(b, attr, x, 4);
}

void pkc_stun_add_u64(pkc_buf *b, uint16_t attr, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (56 - 8 * i));
    pkc_stun_add(b, attr, x, 8);
}

void pkc_stun_add_address(pkc_buf *b, uint16_t attr, const pkc_addr *a, int xor_)
{
    uint8_t v[20];
    size_t iplen = a->family == 6 ? 16 : 4;
    v[0] = 0;
    v[1] = a->family == 6 ? 2 : 1;
    uint16_t port = a->port;
    memcpy(v + 4, a->ip, iplen);
    if (xor_ && b->err == 0 && b->len >= PKC_STUN_HEADER_SIZE) {
        port ^= (uint16_t)(PKC_STUN_MAGIC >> 16);
        for (size_t i = 0; i < iplen; i++)
            v[4 + i] ^= b->data[4 + i];
    }
    wr16(v + 2, port);
    pkc_stun_add(b, attr, v, 4 + iplen);
}

void pkc_stun_add_error(pkc_buf *b, uint16_t code, const char *reason)
{
    uint8_t v[4 + 128];
    size_t rlen = strlen(reason);
    if (rlen > 128)
        rlen = 128;
    v[0] = v[1] = 0;
    v[2] = (uint8_t)(code / 100);
    v[3] = (uint8_t)(code % 100);
    memcpy(v + 4, reason, rlen);
    pkc_stun_add(b, PKC_STUN_ATTR_ERROR_CODE, v, 4 + rlen);
}

int pkc_stun_finish(pkc_buf *b, const void *key, size_t key_len, int fingerprint)
{
    if (b->err)
        return b->err;
    /* Checked before anything: integrity_hmac works in a buffer of the
     * maximum size, and a caller may have pushed bytes directly. */
    size_t need = b->len + (key ? 4 + INTEGRITY_SIZE : 0) + (fingerprint ? 8 : 0);
    if (b->len < PKC_STUN_HEADER_SIZE || need > PKC_STUN_MAX_SIZE)
        return b->err = b->len < PKC_STUN_HEADER_SIZE ? pkc_error_code(PKC_ERR_INVALID_ARG) : pkc_error_code(PKC_ERR_TOO_LARGE);
    if (key != NULL) {
        uint8_t mac[INTEGRITY_SIZE];
        size_t mi_off = b->len;
        /* The length must already count MESSAGE-INTEGRITY; integrity_hmac
         * sets it in its copy of the header. */
        integrity_hmac(b->data, mi_off, key, key_len, mac);
        pkc_stun_add(b, PKC_STUN_ATTR_MESSAGE_INTEGRITY, mac, sizeof mac);
    }
    if (fingerprint) {
        pkc_buf_push_u16be(b, PKC_STUN_ATTR_FINGERPRINT);
        pkc_buf_push_u16be(b, 4);
        if (b->err)
            return b->err;
        size_t crc_off = b->len;
        pkc_buf_push_u32be(b, 0);
        set_length(b);
        if (b->err)
            return b->err;
        uint32_t crc = (uint32_t)crc32(0L, b->data, (uInt)(crc_off - 4)) ^ FINGERPRINT_XOR;
        b->data[crc_off] = (uint8_t)(crc >> 24);
        b->data[crc_off + 1] = (uint8_t)(crc >> 16);
        b->data[crc_off + 2] = (uint8_t)(crc >> 8);
        b->data[crc_off + 3] = (uint8_t)crc;
    }
    set_length(b);
    if (b->err == 0 && b->len > PKC_STUN_MAX_SIZE)
        b->err = pkc_error_code(PKC_ERR_TOO_LARGE);
    return b->err;
}

const char *pkc_stun_type_name(uint16_t type)
{
    if (PKC_STUN_METHOD(type) != PKC_STUN_METHOD_BINDING)
        return "non-binding message";
    switch (PKC_STUN_CLASS(type)) {
    case PKC_STUN_REQUEST:
        return "binding request";
    case PKC_STUN_INDICATION:
        return "binding indication";
    case PKC_STUN_SUCCESS:
        return "binding success";
    default:
        return "binding error";
    }
}
