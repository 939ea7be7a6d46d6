/*
 * dnsrec.c: DNS seed records (dnsrec.h; docs/protocol.md, "DNS seed
 * records").
 */
#define _POSIX_C_SOURCE 200809L
#include "discovery/dnsrec.h"

#include <stdio.h>
#include <string.h>

#include "crypto/identity.h"
#include "proto/frame.h"
#include "proto/wire.h"
#include "util/err.h"
#include "util/text.h"

/* The signature's domain separation: never valid as an invitation's
 * ("pkc-invite-v1") or any other pkc signature. */
#define LABEL_SIGN "pkc-dns-v1"
#define W "dns record"

/* --- Making --------------------------------------------------------------- */

static void encode_unsigned(const pkc_dnsrec *rec, pkc_buf *b)
{
    pkc_buf_push_u8(b, rec->version);
    pkc_buf_push(b, rec->public_key, sizeof rec->public_key);
    pkc_buf_push_varuint(b, rec->sequence);
    pkc_buf_push(b, rec->room_id, sizeof rec->room_id);
    pkc_invite_dial_write(&rec->dial, b);
}

int pkc_dnsrec_create(const pkc_identity *id, const pkc_dnsrec_params *p, pkc_dnsrec *out)
{
    if (id == NULL || p == NULL || out == NULL || p->room_id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    if (p->sequence == 0 || p->sequence > PKC_TIMESTAMP_MAX)
        return pkc_error(PKC_ERR_RANGE, W ": sequence %llu (1..2^53 - 1)",
                         (unsigned long long)p->sequence);
    pkc_dnsrec rec;
    memset(&rec, 0, sizeof rec);
    int rc = pkc_invite_dial_from_params(W, &p->dial, &rec.dial);
    if (rc)
        return rc;
    rec.version = PKC_DNSREC_VERSION;
    memcpy(rec.public_key, id->public_key, sizeof rec.public_key);
    snprintf(rec.peer_id, sizeof rec.peer_id, "%s", id->peer_id);
    rec.sequence = p->sequence;
    memcpy(rec.room_id, p->room_id, sizeof rec.room_id);
    pkc_buf b;
    pkc_buf_init_limit(&b, PKC_DNSREC_BYTES_MAX);
    encode_unsigned(&rec, &b);
    if ((rc = b.err) == 0) {
        pkc_identity_sign_labeled(id, LABEL_SIGN, b.data, b.len, rec.signature);
        memcpy(out, &rec, sizeof rec);
    }
    pkc_buf_free(&b);
    return rc ? pkc_error(rc, W ": cannot encode it") : 0;
}

/* --- Bytes ---------------------------------------------------------------- */

int pkc_dnsrec_encode(const pkc_dnsrec *rec, pkc_buf *out)
{
    if (rec == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    /* What the decoder would refuse is not written. */
    if (rec->version != PKC_DNSREC_VERSION || rec->sequence == 0 ||
        rec->sequence > PKC_TIMESTAMP_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": not a valid record (version, sequence)");
    int rc = pkc_invite_dial_check(W, &rec->dial);
    if (rc)
        return rc;
    size_t start = out->len;
    encode_unsigned(rec, out);
    pkc_buf_push(out, rec->signature, sizeof rec->signature);
    if (out->err) {
        rc = out->err;
        out->len = start;
        out->err = 0;
        return rc == PKC_ERR_NOMEM ? pkc_error_code(rc) : pkc_error(rc, W ": cannot encode it");
    }
    return 0;
}

static int decode(const uint8_t *in, size_t len, pkc_dnsrec *out, int check_signature)
{
    if (in == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    if (len > PKC_DNSREC_BYTES_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, W ": %zu bytes, at most %d", len, PKC_DNSREC_BYTES_MAX);
    pkc_reader r;
    pkc_reader_init(&r, in, len);
    pkc_dnsrec rec;
    memset(&rec, 0, sizeof rec);
    const uint8_t *p;
    int rc;
    if ((rc = pkc_wire_u8(&r, &rec.version, "version")))
        goto fail;
    if (rec.version != PKC_DNSREC_VERSION)
        return pkc_error(PKC_ERR_UNSUPPORTED,
                         W ": version %u, this pkc reads version %d (update pkc?)", rec.version,
                         PKC_DNSREC_VERSION);
    if ((rc = pkc_wire_fixed(&r, PKC_PUBLIC_KEY_BYTES, &p, "public key")))
        goto fail;
    memcpy(rec.public_key, p, PKC_PUBLIC_KEY_BYTES);
    size_t at = pkc_reader_offset(&r);
    if ((rc = pkc_wire_varuint(&r, PKC_TIMESTAMP_MAX, &rec.sequence, "sequence")))
        goto fail;
    if (rec.sequence == 0)
        return pkc_error(PKC_ERR_RANGE, W ": sequence: offset %zu: zero", at);
    if ((rc = pkc_wire_fixed(&r, PKC_ROOM_ID_BYTES, &p, "room id")))
        goto fail;
    memcpy(rec.room_id, p, PKC_ROOM_ID_BYTES);
    if ((rc = pkc_invite_dial_read(&r, W, &rec.dial)))
        return rc;
    size_t signed_len = pkc_reader_offset(&r);
    if ((rc = pkc_wire_fixed(&r, PKC_SIGNATURE_BYTES, &p, "signature")) ||
        (rc = pkc_wire_end(&r, "signature")))
        goto fail;
    memcpy(rec.signature, p, PKC_SIGNATURE_BYTES);
    if (check_signature &&
        pkc_verify_labeled(rec.public_key, LABEL_SIGN, in, signed_len, rec.signature, W) != 0)
        return pkc_error(PKC_ERR_BAD_SIGNATURE,
                         W ": tampered: the signature does not verify (altered or damaged in "
                           "transit)");
    pkc_peer_id_from_public_key(rec.public_key, rec.peer_id);
    memcpy(out, &rec, sizeof rec);
    return 0;
fail:
    /* A field reader's message ("sequence: offset 33: ..."). */
    return pkc_error_wrap(rc, W ": malformed");
}

int pkc_dnsrec_decode(const uint8_t *in, size_t len, pkc_dnsrec *out)
{
    return decode(in, len, out, 1);
}

int pkc_dnsrec_decode_unsigned(const uint8_t *in, size_t len, pkc_dnsrec *out)
{
    return decode(in, len, out, 0);
}

/* --- Text ----------------------------------------------------------------- */

int pkc_dnsrec_text(const pkc_dnsrec *rec, char *out, size_t out_size)
{
    if (rec == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    pkc_buf b;
    pkc_buf_init_limit(&b, PKC_DNSREC_BYTES_MAX);
    int rc = pkc_dnsrec_encode(rec, &b);
    if (rc == 0) {
        size_t need = PKC_DNSREC_PREFIX_LEN + pkc_base64url_encoded_len(b.len);
        if (out_size < need + 1) {
            rc = pkc_error(PKC_ERR_TOO_LARGE, W ": the text needs %zu bytes, %zu given", need + 1,
                           out_size);
        } else {
            memcpy(out, PKC_DNSREC_PREFIX, PKC_DNSREC_PREFIX_LEN);
            pkc_base64url_encode(out + PKC_DNSREC_PREFIX_LEN, out_size - PKC_DNSREC_PREFIX_LEN,
                                 b.data, b.len);
            rc = (int)need;
        }
    }
    pkc_buf_free(&b);
    return rc;
}

int pkc_dnsrec_split(const char *text, size_t len, pkc_dnsrec_txt *strings, size_t max)
{
    if (text == NULL || strings == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    size_t n = len == 0 ? 1 : (len + PKC_DNSREC_STRING_MAX - 1) / PKC_DNSREC_STRING_MAX;
    if (n > max || n > (size_t)INT32_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, W ": %zu strings needed, room for %zu", n, max);
    for (size_t i = 0; i < n; i++) {
        size_t off = i * PKC_DNSREC_STRING_MAX;
        strings[i].data = (const uint8_t *)text + off;
        strings[i].len = len - off < PKC_DNSREC_STRING_MAX ? len - off : PKC_DNSREC_STRING_MAX;
    }
    return (int)n;
}

int pkc_dnsrec_parse_txt(const pkc_dnsrec_txt *strings, size_t n, pkc_dnsrec *out)
{
    if ((strings == NULL && n > 0) || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    char text[PKC_DNSREC_TEXT_MAX];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (strings[i].len > PKC_DNSREC_STRING_MAX)
            return pkc_error(PKC_ERR_MALFORMED,
                             W ": string %zu has %zu bytes, a DNS character-string at most 255", i,
                             strings[i].len);
        if (strings[i].len > sizeof text - len)
            return pkc_error(PKC_ERR_TOO_LARGE, W ": more than %d bytes of text",
                             PKC_DNSREC_TEXT_MAX);
        if (strings[i].len) {
            if (strings[i].data == NULL)
                return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL string");
            memcpy(text + len, strings[i].data, strings[i].len);
            len += strings[i].len;
        }
    }
    /* Other TXT records may share the name (site verification tokens, a
     * later version): say which this is, so that a reader skips it. */
    if (len < 4 || memcmp(text, "pkc", 3) != 0 || text[3] < '0' || text[3] > '9')
        return pkc_error(PKC_ERR_MALFORMED, W ": not a pkc record (one begins with \"%s\")",
                         PKC_DNSREC_PREFIX);
    if (text[3] != '1')
        return pkc_error(PKC_ERR_UNSUPPORTED,
                         W ": text version %c, this pkc reads version 1 (update pkc?)", text[3]);
    if (len < PKC_DNSREC_PREFIX_LEN || text[4] != '=')
        return pkc_error(PKC_ERR_MALFORMED, W ": no '=' after \"pkc1\"");
    const char *body = text + PKC_DNSREC_PREFIX_LEN;
    size_t body_len = len - PKC_DNSREC_PREFIX_LEN;
    for (size_t i = 0; i < body_len; i++) {
        char c = body[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return pkc_error(PKC_ERR_MALFORMED,
                             W ": malformed: byte %zu of the text is not base64url (A-Z a-z 0-9 "
                               "- _)",
                             i + PKC_DNSREC_PREFIX_LEN);
    }
    uint8_t bytes[PKC_DNSREC_BYTES_MAX];
    size_t bytes_len;
    int rc = pkc_base64url_decode(body, body_len, bytes, sizeof bytes, &bytes_len);
    if (rc)
        return pkc_error_wrap(rc, W ": malformed");
    return pkc_dnsrec_decode(bytes, bytes_len, out);
}

/* --- Checks --------------------------------------------------------------- */

int pkc_dnsrec_check(const pkc_dnsrec *rec, const uint8_t room_id[PKC_ROOM_ID_BYTES],
                     const char *peer_id, uint64_t last_seen)
{
    if (rec == NULL || room_id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    if (memcmp(rec->room_id, room_id, PKC_ROOM_ID_BYTES) != 0) {
        char theirs[2 * PKC_ROOM_ID_BYTES + 1];
        pkc_hex_encode(theirs, rec->room_id, PKC_ROOM_ID_BYTES);
        return pkc_error(PKC_ERR_MISMATCH, W ": for another room (%s), ignored", theirs);
    }
    if (peer_id != NULL && strcmp(peer_id, rec->peer_id) != 0)
        return pkc_error(PKC_ERR_MISMATCH, W ": signed by %s, published under the name of %.64s",
                         rec->peer_id, peer_id);
    if (rec->sequence <= last_seen)
        return pkc_error(
            PKC_ERR_STALE, W ": older record ignored: sequence %llu, %llu already seen from %s",
            (unsigned long long)rec->sequence, (unsigned long long)last_seen, rec->peer_id);
    return 0;
}

/* --- Names and zone lines ------------------------------------------------- */

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int pkc_dns_domain_check(const char *domain)
{
    if (domain == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "domain: NULL");
    size_t n = strnlen(domain, PKC_DNS_NAME_MAX + 2);
    if (n > 0 && domain[n - 1] == '.')
        n--;
    if (n == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "domain: empty");
    if (n > PKC_DNS_NAME_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "domain: longer than %d bytes", PKC_DNS_NAME_MAX);
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && domain[i] != '.') {
            if (!name_char(domain[i]))
                return pkc_error(PKC_ERR_INVALID_ARG,
                                 "domain: byte %zu is not a letter, digit, '-' or '_' (write an "
                                 "international name as xn--...)",
                                 i);
            continue;
        }
        size_t label = i - start;
        if (label == 0)
            return pkc_error(PKC_ERR_INVALID_ARG, "domain: empty label at byte %zu", start);
        if (label > PKC_DNS_LABEL_MAX)
            return pkc_error(PKC_ERR_INVALID_ARG,
                             "domain: label at byte %zu has %zu bytes, at "
                             "most %d",
                             start, label, PKC_DNS_LABEL_MAX);
        if (domain[start] == '-' || domain[i - 1] == '-')
            return pkc_error(PKC_ERR_INVALID_ARG,
                             "domain: label at byte %zu begins or ends with '-'", start);
        start = i + 1;
    }
    return 0;
}

int pkc_dnsrec_owner_name(const char *domain, const char *peer_id, char *out, size_t out_size)
{
    if (out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    int rc = pkc_dns_domain_check(domain);
    if (rc)
        return rc;
    if (peer_id != NULL && (rc = pkc_peer_id_parse(peer_id, NULL)) != 0)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": not a peer id: %s", pkc_errmsg());
    size_t d = strlen(domain);
    if (domain[d - 1] == '.')
        d--;
    size_t need = strlen(PKC_DNSREC_LABEL) + 1 + (peer_id ? PKC_PEER_ID_LEN + 1 : 0) + d;
    if (need > PKC_DNS_NAME_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": the name would have %zu bytes, at most %d", need,
                         PKC_DNS_NAME_MAX);
    if (out_size < need + 1)
        return pkc_error(PKC_ERR_TOO_LARGE, W ": the name needs %zu bytes, %zu given", need + 1,
                         out_size);
    int len = snprintf(out, out_size, "%s.%s%s%.*s", PKC_DNSREC_LABEL, peer_id ? peer_id : "",
                       peer_id ? "." : "", (int)d, domain);
    /* DNS names are case-insensitive: one spelling, so that names compare. */
    for (int i = 0; i < len; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] + 32);
    return len;
}

int pkc_dns_quote(const uint8_t *s, size_t n, char *out, size_t out_size)
{
    if ((s == NULL && n > 0) || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "dns: NULL argument");
    size_t len = 0;
    char tmp[5];
    for (size_t i = 0; i <= n + 1; i++) {
        size_t k;
        if (i == 0 || i == n + 1) {
            tmp[0] = '"';
            k = 1;
        } else {
            uint8_t c = s[i - 1];
            if (c == '"' || c == '\\') {
                tmp[0] = '\\';
                tmp[1] = (char)c;
                k = 2;
            } else if (c < 0x20 || c >= 0x7f) {
                snprintf(tmp, sizeof tmp, "\\%03u", c);
                k = 4;
            } else {
                tmp[0] = (char)c;
                k = 1;
            }
        }
        if (out_size - len < k + 1)
            return pkc_error(PKC_ERR_TOO_LARGE, "dns: quoted string longer than %zu bytes",
                             out_size - 1);
        memcpy(out + len, tmp, k);
        len += k;
    }
    out[len] = 0;
    return len > INT32_MAX ? pkc_error(PKC_ERR_TOO_LARGE, "dns: quoted string too long") : (int)len;
}

int pkc_dnsrec_zone_line(const pkc_dnsrec *rec, const char *owner, uint32_t ttl, char *out,
                         size_t out_size)
{
    if (rec == NULL || owner == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    if (ttl == 0)
        ttl = PKC_DNSREC_TTL_DEFAULT;
    if (ttl > PKC_DNSREC_TTL_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": a TTL of %u s, at most 2^31 - 1", ttl);
    int rc = pkc_dns_domain_check(owner);
    if (rc)
        return rc;
    char text[PKC_DNSREC_TEXT_MAX + 1];
    int tlen = pkc_dnsrec_text(rec, text, sizeof text);
    if (tlen < 0)
        return tlen;
    pkc_dnsrec_txt strings[PKC_DNSREC_STRINGS_MAX];
    int ns = pkc_dnsrec_split(text, (size_t)tlen, strings, PKC_DNSREC_STRINGS_MAX);
    if (ns < 0)
        return ns;
    size_t olen = strlen(owner);
    int head = snprintf(out, out_size, "%.*s. %u IN TXT",
                        (int)(owner[olen - 1] == '.' ? olen - 1 : olen), owner, ttl);
    if (head < 0 || (size_t)head >= out_size)
        goto too_large;
    size_t len = (size_t)head;
    for (int i = 0; i < ns; i++) {
        if (out_size - len < 2)
            goto too_large;
        out[len++] = ' ';
        int q = pkc_dns_quote(strings[i].data, strings[i].len, out + len, out_size - len);
        if (q < 0)
            goto too_large;
        len += (size_t)q;
    }
    return (int)len;
too_large:
    out[0] = 0;
    return pkc_error(PKC_ERR_TOO_LARGE, W ": the zone line needs more than %zu bytes", out_size);
}
