/*
 * lan_wire.c: the LAN announcement datagram (lan_wire.h; docs/protocol.md,
 * "LAN announcements").
 */
#define _POSIX_C_SOURCE 200809L
#include "discovery/lan_wire.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "proto/frame.h"
#include "proto/wire.h"
#include "util/err.h"

static int ice_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

int pkc_lan_ice_string_valid(const uint8_t *s, size_t n, size_t min, size_t max)
{
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!ice_char(s[i]))
            return 0;
    return 1;
}

int pkc_lan_address_valid(const char *s, size_t n)
{
    /* The shortest is "udp:[::]:1". */
    if (s == NULL || n < 10 || n > PKC_LAN_ADDRESS_MAX || memcmp(s, "udp:", 4) != 0)
        return 0;
    /* Only what an IP address and a port are written with (no NUL, which
     * would end the address early for inet_pton). */
    for (size_t i = 4; i < n; i++)
        if (!strchr("0123456789abcdef.:[]", s[i]) || s[i] == 0)
            return 0;
    /* The port: after the last ':', 1..65535, decimal without leading zeros. */
    size_t colon = n;
    while (colon > 4 && s[colon - 1] != ':')
        colon--;
    if (colon <= 4 || colon == n || n - colon > 5 || s[colon] == '0')
        return 0;
    unsigned port = 0;
    for (size_t i = colon; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        port = port * 10 + (unsigned)(s[i] - '0');
    }
    if (port == 0 || port > 65535)
        return 0;
    /* The host: an IPv4 address, or an IPv6 address in brackets, in the
     * spelling inet_ntop gives it. */
    const char *host = s + 4;
    size_t host_len = colon - 1 - 4;
    int family = AF_INET;
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        family = AF_INET6;
        host++;
        host_len -= 2;
    }
    char text[INET6_ADDRSTRLEN], again[INET6_ADDRSTRLEN];
    if (host_len == 0 || host_len >= sizeof text)
        return 0;
    memcpy(text, host, host_len);
    text[host_len] = 0;
    unsigned char ip[16];
    if (inet_pton(family, text, ip) != 1 || inet_ntop(family, ip, again, sizeof again) == NULL)
        return 0;
    return strcmp(text, again) == 0;
}

int pkc_lan_record_encode(const pkc_identity *id, uint64_t timestamp_ms, uint64_t capabilities,
                          const char *const *addresses, size_t n_addresses,
                          const uint8_t *extensions, size_t ext_len, pkc_buf *out)
{
    size_t start = out->len;
    pkc_buf_push_u8(out, PKC_ANNOUNCE_VERSION);
    pkc_buf_push(out, id->public_key, 32);
    pkc_buf_push(out, id->dh_public, 32);
    pkc_buf_push_varuint(out, timestamp_ms);
    pkc_buf_push_varuint(out, capabilities);
    pkc_buf_push_varuint(out, n_addresses);
    for (size_t i = 0; i < n_addresses; i++)
        pkc_buf_push_cstring(out, addresses[i]);
    pkc_buf_push(out, extensions, ext_len);
    pkc_buf_push_u64be(out, 0); /* no proof of work: LAN floods are rate-limited instead */
    if (out->err)
        return out->err;
    uint8_t sig[PKC_SIGNATURE_BYTES];
    pkc_identity_sign_labeled(id, PKC_LABEL_ANNOUNCE, out->data + start, out->len - start, sig);
    return pkc_buf_push(out, sig, sizeof sig);
}

static int check_params(const pkc_lan_params *p)
{
    if (p->timestamp_ms > PKC_TIMESTAMP_MAX)
        return pkc_error(PKC_ERR_RANGE, "lan announcement: timestamp above 2^53 - 1");
    if (p->n_addresses == 0 || p->n_addresses > PKC_ADDRESSES_MAX || p->addresses == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan announcement: %zu addresses (1..%d)",
                         p->n_addresses, PKC_ADDRESSES_MAX);
    for (size_t i = 0; i < p->n_addresses; i++) {
        const char *a = p->addresses[i];
        if (a == NULL || !pkc_lan_address_valid(a, strlen(a)))
            return pkc_error(PKC_ERR_INVALID_ARG,
                             "lan announcement: address %zu \"%.64s\" is not udp:IP:PORT", i,
                             a ? a : "(null)");
    }
    if (p->n_rooms == 0 || p->n_rooms > PKC_LAN_ROOMS_MAX || p->rooms == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan announcement: %zu rooms (1..%d)", p->n_rooms,
                         PKC_LAN_ROOMS_MAX);
    if (p->fingerprint == NULL || p->ufrag == NULL || p->pwd == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan announcement: no listener credentials");
    if (!pkc_lan_ice_string_valid((const uint8_t *)p->ufrag, strlen(p->ufrag), PKC_LAN_UFRAG_MIN,
                          PKC_LAN_UFRAG_MAX))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "lan announcement: ICE ufrag must be %d..%d ice-chars",
                         PKC_LAN_UFRAG_MIN, PKC_LAN_UFRAG_MAX);
    if (!pkc_lan_ice_string_valid((const uint8_t *)p->pwd, strlen(p->pwd), PKC_LAN_PWD_MIN,
                          PKC_LAN_PWD_MAX))
        return pkc_error(PKC_ERR_INVALID_ARG, "lan announcement: ICE pwd must be %d..%d ice-chars",
                         PKC_LAN_PWD_MIN, PKC_LAN_PWD_MAX);
    return 0;
}

/* A varuint below 2^14 (every length here). */
static size_t put_varuint(uint8_t *out, size_t v)
{
    if (v < 0x80) {
        out[0] = (uint8_t)v;
        return 1;
    }
    out[0] = (uint8_t)(0x80 | (v & 0x7f));
    out[1] = (uint8_t)(v >> 7);
    return 2;
}

int pkc_lan_datagram_encode(const pkc_identity *id, const pkc_lan_params *p, pkc_buf *out)
{
    if (id == NULL || p == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan announcement: NULL argument");
    int rc = check_params(p);
    if (rc)
        return rc;
    /* The extension list: ROOMS, then LISTENER. */
    uint8_t ext[1 + 2 * (1 + 2) + PKC_LAN_ROOMS_MAX * PKC_ROOM_ID_BYTES +
                PKC_LAN_FINGERPRINT_BYTES + 2 * (1 + PKC_LAN_PWD_MAX)];
    size_t n = 0, rooms_len = p->n_rooms * PKC_ROOM_ID_BYTES;
    size_t ufrag_len = strlen(p->ufrag), pwd_len = strlen(p->pwd);
    size_t listener_len = PKC_LAN_FINGERPRINT_BYTES + 1 + ufrag_len + 1 + pwd_len;
    ext[n++] = 2;
    ext[n++] = PKC_ANNOUNCE_EXT_ROOMS;
    n += put_varuint(ext + n, rooms_len);
    memcpy(ext + n, p->rooms, rooms_len);
    n += rooms_len;
    ext[n++] = PKC_ANNOUNCE_EXT_LISTENER;
    n += put_varuint(ext + n, listener_len);
    memcpy(ext + n, p->fingerprint, PKC_LAN_FINGERPRINT_BYTES);
    n += PKC_LAN_FINGERPRINT_BYTES;
    ext[n++] = (uint8_t)ufrag_len; /* at most 64 */
    memcpy(ext + n, p->ufrag, ufrag_len);
    n += ufrag_len;
    ext[n++] = (uint8_t)pwd_len;
    memcpy(ext + n, p->pwd, pwd_len);
    n += pwd_len;

    size_t start = out->len;
    pkc_buf_push(out, PKC_LAN_MAGIC, PKC_LAN_MAGIC_LEN);
    pkc_buf_push_u8(out, PKC_LAN_VERSION);
    rc = pkc_lan_record_encode(id, p->timestamp_ms, p->capabilities, p->addresses,
                               p->n_addresses, ext, n, out);
    if (rc == 0 && out->len - start > PKC_LAN_DATAGRAM_MAX)
        rc = pkc_error(PKC_ERR_TOO_LARGE,
                       "lan announcement: %zu bytes, at most %d (announce fewer addresses)",
                       out->len - start, PKC_LAN_DATAGRAM_MAX);
    if (rc) {
        out->len = start;
        out->err = 0;
        return rc;
    }
    return 0;
}

/* The two extensions this format defines, from the record's raw list
 * (already checked by pkc_announce_decode: count and value sizes). */
static int decode_extensions(pkc_bytes list, pkc_lan_announcement *a)
{
    pkc_reader r;
    pkc_reader_init(&r, list.data, list.len);
    uint64_t count, type;
    pkc_bytes value;
    int rc = pkc_wire_varuint(&r, UINT64_MAX, &count, "extensions");
    int have_rooms = 0, have_listener = 0;
    for (uint64_t i = 0; rc == 0 && i < count; i++) {
        if ((rc = pkc_wire_varuint(&r, UINT64_MAX, &type, "extension type")) ||
            (rc = pkc_wire_varbytes(&r, SIZE_MAX, &value, "extension value")))
            return rc;
        if (type == PKC_ANNOUNCE_EXT_ROOMS) {
            if (have_rooms++)
                return pkc_error(PKC_ERR_MALFORMED, "lan announcement: two ROOMS extensions");
            if (value.len == 0 || value.len % PKC_ROOM_ID_BYTES != 0 ||
                value.len / PKC_ROOM_ID_BYTES > PKC_LAN_ROOMS_MAX)
                return pkc_error(PKC_ERR_MALFORMED,
                                 "lan announcement: ROOMS of %zu bytes (1..%d ids of %d bytes)",
                                 value.len, PKC_LAN_ROOMS_MAX, PKC_ROOM_ID_BYTES);
            a->rooms = value.data;
            a->n_rooms = value.len / PKC_ROOM_ID_BYTES;
        } else if (type == PKC_ANNOUNCE_EXT_LISTENER) {
            if (have_listener++)
                return pkc_error(PKC_ERR_MALFORMED, "lan announcement: two LISTENER extensions");
            pkc_reader v;
            pkc_reader_init(&v, value.data, value.len);
            if ((rc = pkc_wire_fixed(&v, PKC_LAN_FINGERPRINT_BYTES, &a->fingerprint,
                                     "listener fingerprint")) ||
                (rc = pkc_wire_varbytes(&v, PKC_LAN_UFRAG_MAX, &a->ufrag, "listener ufrag")) ||
                (rc = pkc_wire_varbytes(&v, PKC_LAN_PWD_MAX, &a->pwd, "listener pwd")) ||
                (rc = pkc_wire_end(&v, "listener extension"))) {
                /* Whatever is wrong inside it, the extension is malformed. */
                char why[200];
                snprintf(why, sizeof why, "%s", pkc_errmsg());
                return pkc_error(PKC_ERR_MALFORMED, "lan announcement: LISTENER extension: %s",
                                 why);
            }
            if (!pkc_lan_ice_string_valid(a->ufrag.data, a->ufrag.len, PKC_LAN_UFRAG_MIN,
                                  PKC_LAN_UFRAG_MAX) ||
                !pkc_lan_ice_string_valid(a->pwd.data, a->pwd.len, PKC_LAN_PWD_MIN,
                                          PKC_LAN_PWD_MAX))
                return pkc_error(PKC_ERR_MALFORMED,
                                 "lan announcement: ICE credentials of the wrong length or "
                                 "characters");
        }
    }
    if (rc)
        return rc;
    if (!have_rooms || !have_listener)
        return pkc_error(PKC_ERR_MALFORMED, "lan announcement: no %s extension",
                         have_rooms ? "LISTENER" : "ROOMS");
    return 0;
}

int pkc_lan_datagram_decode(const uint8_t *in, size_t len, pkc_lan_announcement *out)
{
    if (in == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan announcement: NULL argument");
    if (len > PKC_LAN_DATAGRAM_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "lan announcement: %zu bytes, at most %d", len,
                         PKC_LAN_DATAGRAM_MAX);
    if (len < PKC_LAN_DATAGRAM_MIN)
        return pkc_error(PKC_ERR_TRUNCATED, "lan announcement: %zu bytes, at least %d", len,
                         PKC_LAN_DATAGRAM_MIN);
    if (memcmp(in, PKC_LAN_MAGIC, PKC_LAN_MAGIC_LEN) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "lan announcement: not a pkc datagram (magic)");
    if (in[PKC_LAN_MAGIC_LEN] != PKC_LAN_VERSION)
        return pkc_error(PKC_ERR_UNSUPPORTED, "lan announcement: version %u (this peer reads %d)",
                         in[PKC_LAN_MAGIC_LEN], PKC_LAN_VERSION);
    pkc_lan_announcement a;
    memset(&a, 0, sizeof a);
    size_t head = PKC_LAN_MAGIC_LEN + 1;
    int rc = pkc_announce_decode(in + head, len - head, &a.announce);
    if (rc)
        return pkc_error_wrap(rc, "lan announcement");
    if (a.announce.n_addresses == 0)
        return pkc_error(PKC_ERR_MALFORMED, "lan announcement: no address to dial");
    for (size_t i = 0; i < a.announce.n_addresses; i++)
        if (!pkc_lan_address_valid((const char *)a.announce.addresses[i].data,
                                   a.announce.addresses[i].len))
            return pkc_error(PKC_ERR_MALFORMED, "lan announcement: address %zu is not udp:IP:PORT",
                             i);
    if ((rc = decode_extensions(a.announce.extensions, &a)))
        return rc;
    *out = a;
    return 0;
}

void pkc_lan_local_room_secret(uint8_t secret[PKC_ROOM_SECRET_BYTES])
{
    pkc_hash_labeled(secret, PKC_ROOM_SECRET_BYTES, "pkc-local-room-v1", NULL, 0);
}
