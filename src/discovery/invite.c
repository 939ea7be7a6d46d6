/*
 * invite.c: invitations and their answers (invite.h; docs/protocol.md,
 * "Invitations").
 */
#define _POSIX_C_SOURCE 200809L
#include "discovery/invite.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/peerid.h"
#include "proto/frame.h"
#include "proto/handshake.h"
#include "proto/wire.h"
#include "util/err.h"
#include "util/text.h"

#define LABEL_SIGN "pkc-invite-v1"
#define LABEL_ANSWER_MAC "pkc-invite-v1 answer"

/* Address types on the wire. */
#define ADDR_UDP4 4
#define ADDR_UDP6 6

static const char *what(int kind)
{
    return kind == PKC_INVITE_ANSWER ? "answer" : "invitation";
}

/* A display name: UTF-8 without control characters (C0, DEL, C1), which a
 * terminal could take for commands. */
static int room_name_valid(const uint8_t *s, size_t n)
{
    if (n > PKC_INVITE_ROOM_NAME_MAX || !pkc_utf8_valid(s, n, NULL))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f)
            return 0;
        /* U+0080..U+009F is C2 80..C2 9F. */
        if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
            return 0;
    }
    return 1;
}

/* --- Making --------------------------------------------------------------- */

int pkc_invite_dial_from_params(const char *w, const pkc_invite_dial_params *p,
                                pkc_invite_dial *d)
{
    if (p == NULL || d == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: NULL argument", w);
    if (p->fingerprint == NULL || p->ufrag == NULL || p->pwd == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: no fingerprint or ICE credentials", w);
    if (!pkc_lan_ice_string_valid((const uint8_t *)p->ufrag, strlen(p->ufrag), PKC_LAN_UFRAG_MIN,
                                  PKC_LAN_UFRAG_MAX))
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: ICE ufrag must be %d..%d ice-chars", w,
                         PKC_LAN_UFRAG_MIN, PKC_LAN_UFRAG_MAX);
    if (!pkc_lan_ice_string_valid((const uint8_t *)p->pwd, strlen(p->pwd), PKC_LAN_PWD_MIN,
                                  PKC_LAN_PWD_MAX))
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: ICE pwd must be %d..%d ice-chars", w,
                         PKC_LAN_PWD_MIN, PKC_LAN_PWD_MAX);
    if (p->n_addresses == 0 || p->n_addresses > PKC_INVITE_ADDRESSES_MAX || p->addresses == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: %zu addresses (1..%d)", w, p->n_addresses,
                         PKC_INVITE_ADDRESSES_MAX);
    for (size_t i = 0; i < p->n_addresses; i++) {
        const char *a = p->addresses[i];
        if (a == NULL || !pkc_lan_address_valid(a, strlen(a)))
            return pkc_error(PKC_ERR_INVALID_ARG, "%s: address %zu \"%.64s\" is not udp:IP:PORT", w,
                             i, a ? a : "(null)");
    }
    memcpy(d->fingerprint, p->fingerprint, sizeof d->fingerprint);
    snprintf(d->ufrag, sizeof d->ufrag, "%s", p->ufrag);
    snprintf(d->pwd, sizeof d->pwd, "%s", p->pwd);
    d->n_addresses = p->n_addresses;
    for (size_t i = 0; i < p->n_addresses; i++)
        snprintf(d->addresses[i], sizeof d->addresses[i], "%s", p->addresses[i]);
    return 0;
}

static int times_from_params(int kind, uint64_t created, uint64_t lifetime, pkc_invite *inv)
{
    if (lifetime == 0)
        lifetime = PKC_INVITE_LIFETIME_DEFAULT_MS;
    if (lifetime > PKC_INVITE_LIFETIME_MAX_MS)
        return pkc_error(PKC_ERR_RANGE, "%s: a lifetime of %llu ms (at most 30 days)", what(kind),
                         (unsigned long long)lifetime);
    if (created > PKC_TIMESTAMP_MAX - lifetime)
        return pkc_error(PKC_ERR_RANGE, "%s: expiry time above 2^53 - 1", what(kind));
    inv->created_ms = created;
    inv->expires_ms = created + lifetime;
    return 0;
}

int pkc_invite_dial_check(const char *w, const pkc_invite_dial *d)
{
    if (d->n_addresses == 0 || d->n_addresses > PKC_INVITE_ADDRESSES_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: %zu addresses (1..%d)", w, d->n_addresses,
                         PKC_INVITE_ADDRESSES_MAX);
    size_t uf = strnlen(d->ufrag, sizeof d->ufrag), pw = strnlen(d->pwd, sizeof d->pwd);
    if (!pkc_lan_ice_string_valid((const uint8_t *)d->ufrag, uf, PKC_LAN_UFRAG_MIN,
                                  PKC_LAN_UFRAG_MAX) ||
        !pkc_lan_ice_string_valid((const uint8_t *)d->pwd, pw, PKC_LAN_PWD_MIN, PKC_LAN_PWD_MAX))
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: ICE credentials out of limits", w);
    for (size_t i = 0; i < d->n_addresses; i++)
        if (!pkc_lan_address_valid(d->addresses[i],
                                   strnlen(d->addresses[i], PKC_LAN_ADDRESS_MAX + 1)))
            return pkc_error(PKC_ERR_INVALID_ARG, "%s: address %zu is not udp:IP:PORT", w, i);
    return 0;
}

void pkc_invite_dial_write(const pkc_invite_dial *d, pkc_buf *b)
{
    pkc_buf_push(b, d->fingerprint, sizeof d->fingerprint);
    pkc_buf_push_cstring(b, d->ufrag);
    pkc_buf_push_cstring(b, d->pwd);
    pkc_buf_push_varuint(b, d->n_addresses);
    for (size_t i = 0; i < d->n_addresses; i++) {
        /* Checked valid: "udp:" host ":" port, the host in brackets for IPv6. */
        const char *a = d->addresses[i] + 4;
        const char *colon = strrchr(a, ':');
        char host[INET6_ADDRSTRLEN + 2];
        size_t host_len = (size_t)(colon - a);
        int v6 = a[0] == '[';
        snprintf(host, sizeof host, "%.*s", (int)(v6 ? host_len - 2 : host_len), a + v6);
        uint8_t ip[16];
        if (inet_pton(v6 ? AF_INET6 : AF_INET, host, ip) != 1) {
            b->err = b->err ? b->err : PKC_ERR_INTERNAL;
            return;
        }
        pkc_buf_push_u8(b, v6 ? ADDR_UDP6 : ADDR_UDP4);
        pkc_buf_push(b, ip, v6 ? 16 : 4);
        pkc_buf_push_u16be(b, (uint16_t)strtoul(colon + 1, NULL, 10));
    }
}

/* Everything of `inv` before its signature; with `mac_at` (may be NULL), the
 * offset of an answer's MAC. */
static void encode_unsigned(const pkc_invite *inv, pkc_buf *b, size_t *mac_at)
{
    pkc_buf_push_u8(b, inv->version);
    pkc_buf_push_u8(b, inv->kind);
    pkc_buf_push_u8(b, inv->flags);
    pkc_buf_push(b, inv->public_key, sizeof inv->public_key);
    pkc_buf_push_varuint(b, inv->created_ms);
    pkc_buf_push_varuint(b, inv->expires_ms - inv->created_ms);
    pkc_invite_dial_write(&inv->dial, b);
    if (inv->kind == PKC_INVITE_OFFER) {
        pkc_buf_push(b, inv->room_secret, sizeof inv->room_secret);
        pkc_buf_push_cstring(b, inv->room_name);
        pkc_buf_push(b, inv->token, sizeof inv->token);
    } else {
        pkc_buf_push(b, inv->id, sizeof inv->id);
        if (mac_at)
            *mac_at = b->len;
        pkc_buf_push(b, inv->mac, sizeof inv->mac);
    }
}

static void answer_mac(const uint8_t token[PKC_INVITE_TOKEN_BYTES], const uint8_t *before,
                       size_t len, uint8_t mac[PKC_INVITE_MAC_BYTES])
{
    pkc_kdf(mac, token, PKC_INVITE_TOKEN_BYTES, LABEL_ANSWER_MAC, before, len);
}

/* Signs *inv (and MACs an answer with `token`). */
static int sign(const pkc_identity *id, const uint8_t *token, pkc_invite *inv)
{
    pkc_buf b;
    pkc_buf_init_limit(&b, PKC_INVITE_BYTES_MAX);
    size_t mac_at = 0;
    encode_unsigned(inv, &b, &mac_at);
    int rc = b.err;
    if (rc == 0 && inv->kind == PKC_INVITE_ANSWER) {
        answer_mac(token, b.data, mac_at, inv->mac);
        memcpy(b.data + mac_at, inv->mac, sizeof inv->mac);
    }
    if (rc == 0)
        pkc_identity_sign_labeled(id, LABEL_SIGN, b.data, b.len, inv->signature);
    pkc_crypto_wipe(b.data, b.len);
    pkc_buf_free(&b);
    return rc ? pkc_error(rc, "%s: cannot encode it", what(inv->kind)) : 0;
}

static void identity_into(const pkc_identity *id, pkc_invite *inv)
{
    memcpy(inv->public_key, id->public_key, sizeof inv->public_key);
    snprintf(inv->peer_id, sizeof inv->peer_id, "%s", id->peer_id);
}

int pkc_invite_offer_create(const pkc_identity *id, const pkc_invite_offer_params *p,
                            pkc_invite *out)
{
    if (id == NULL || p == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: NULL argument");
    if (p->room_secret == NULL || p->token == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: no room secret or no token");
    if (p->flags & ~PKC_INVITE_FLAGS_KNOWN)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: unknown flags 0x%02x", p->flags);
    const char *name = p->room_name ? p->room_name : "";
    if (!room_name_valid((const uint8_t *)name, strlen(name)))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "invitation: the room name must be at most %d bytes of UTF-8 without "
                         "control characters",
                         PKC_INVITE_ROOM_NAME_MAX);
    pkc_invite inv;
    memset(&inv, 0, sizeof inv);
    inv.version = PKC_INVITE_VERSION;
    inv.kind = PKC_INVITE_OFFER;
    inv.flags = p->flags;
    int rc;
    if ((rc = times_from_params(inv.kind, p->created_ms, p->lifetime_ms, &inv)) ||
        (rc = pkc_invite_dial_from_params(what(inv.kind), &p->dial, &inv.dial)))
        return rc;
    identity_into(id, &inv);
    memcpy(inv.room_secret, p->room_secret, sizeof inv.room_secret);
    snprintf(inv.room_name, sizeof inv.room_name, "%s", name);
    pkc_room_key k;
    pkc_room_key_derive(inv.room_secret, &k);
    memcpy(inv.room_id, k.id, sizeof inv.room_id);
    pkc_crypto_wipe(&k, sizeof k);
    memcpy(inv.token, p->token, sizeof inv.token);
    pkc_hs_proof_id(inv.id, inv.token);
    if ((rc = sign(id, NULL, &inv)) == 0)
        memcpy(out, &inv, sizeof inv);
    pkc_crypto_wipe(&inv, sizeof inv);
    return rc;
}

int pkc_invite_answer_create(const pkc_identity *id, const pkc_invite *offer,
                             const pkc_invite_answer_params *p, pkc_invite *out)
{
    if (id == NULL || offer == NULL || p == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "answer: NULL argument");
    if (offer->kind != PKC_INVITE_OFFER)
        return pkc_error(PKC_ERR_INVALID_ARG, "answer: what it answers is not an invitation");
    pkc_invite inv;
    memset(&inv, 0, sizeof inv);
    inv.version = PKC_INVITE_VERSION;
    inv.kind = PKC_INVITE_ANSWER;
    int rc;
    if ((rc = times_from_params(inv.kind, p->created_ms, p->lifetime_ms, &inv)) ||
        (rc = pkc_invite_dial_from_params(what(inv.kind), &p->dial, &inv.dial)))
        return rc;
    identity_into(id, &inv);
    memcpy(inv.id, offer->id, sizeof inv.id);
    if ((rc = sign(id, offer->token, &inv)) == 0)
        memcpy(out, &inv, sizeof inv);
    return rc;
}

/* --- Bytes ---------------------------------------------------------------- */

int pkc_invite_encode(const pkc_invite *inv, pkc_buf *out)
{
    if (inv == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: NULL argument");
    /* What the decoder would refuse is not written. */
    if (inv->version != PKC_INVITE_VERSION ||
        (inv->kind != PKC_INVITE_OFFER && inv->kind != PKC_INVITE_ANSWER) ||
        inv->expires_ms <= inv->created_ms || inv->expires_ms > PKC_TIMESTAMP_MAX ||
        inv->expires_ms - inv->created_ms > PKC_INVITE_LIFETIME_MAX_MS)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: not a valid invitation or answer",
                         what(inv->kind));
    size_t rn = strnlen(inv->room_name, sizeof inv->room_name);
    int rc0;
    if ((rc0 = pkc_invite_dial_check(what(inv->kind), &inv->dial)))
        return rc0;
    if (!room_name_valid((const uint8_t *)inv->room_name, rn))
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: room name out of limits", what(inv->kind));
    size_t start = out->len;
    encode_unsigned(inv, out, NULL);
    pkc_buf_push(out, inv->signature, sizeof inv->signature);
    if (out->err) {
        int rc = out->err;
        if (out->len > start)
            pkc_crypto_wipe(out->data + start, out->len - start);
        out->len = start;
        out->err = 0;
        return rc == PKC_ERR_NOMEM ? pkc_error_code(rc)
                                   : pkc_error(rc, "%s: cannot encode it", what(inv->kind));
    }
    return 0;
}

int pkc_invite_dial_read(pkc_reader *r, const char *w, pkc_invite_dial *d)
{
    const uint8_t *p;
    pkc_bytes s;
    uint64_t n;
    size_t at;
    int rc;
    if ((rc = pkc_wire_fixed(r, 32, &p, "fingerprint")))
        goto fail;
    memcpy(d->fingerprint, p, 32);
    at = pkc_reader_offset(r);
    if ((rc = pkc_wire_varbytes(r, PKC_LAN_UFRAG_MAX, &s, "ufrag")))
        goto fail;
    if (!pkc_lan_ice_string_valid(s.data, s.len, PKC_LAN_UFRAG_MIN, PKC_LAN_UFRAG_MAX)) {
        rc = pkc_error(PKC_ERR_MALFORMED, "%s: ufrag: offset %zu: not %d..%d ice-chars", w, at,
                       PKC_LAN_UFRAG_MIN, PKC_LAN_UFRAG_MAX);
        goto out;
    }
    memcpy(d->ufrag, s.data, s.len);
    at = pkc_reader_offset(r);
    if ((rc = pkc_wire_varbytes(r, PKC_LAN_PWD_MAX, &s, "pwd")))
        goto fail;
    if (!pkc_lan_ice_string_valid(s.data, s.len, PKC_LAN_PWD_MIN, PKC_LAN_PWD_MAX)) {
        rc = pkc_error(PKC_ERR_MALFORMED, "%s: pwd: offset %zu: not %d..%d ice-chars", w, at,
                       PKC_LAN_PWD_MIN, PKC_LAN_PWD_MAX);
        goto out;
    }
    memcpy(d->pwd, s.data, s.len);
    at = pkc_reader_offset(r);
    if ((rc = pkc_wire_varuint(r, PKC_INVITE_ADDRESSES_MAX, &n, "addresses")))
        goto fail;
    if (n == 0) {
        rc = pkc_error(PKC_ERR_MALFORMED, "%s: addresses: offset %zu: none", w, at);
        goto out;
    }
    d->n_addresses = (size_t)n;
    for (size_t i = 0; i < n; i++) {
        uint8_t type;
        uint16_t port;
        at = pkc_reader_offset(r);
        if ((rc = pkc_wire_u8(r, &type, "address type")))
            goto fail;
        if (type != ADDR_UDP4 && type != ADDR_UDP6) {
            rc = pkc_error(PKC_ERR_MALFORMED, "%s: address %zu: offset %zu: unknown type %u", w, i,
                           at, type);
            goto out;
        }
        if ((rc = pkc_wire_fixed(r, type == ADDR_UDP6 ? 16 : 4, &p, "address")))
            goto fail;
        if ((rc = pkc_reader_u16be(r, &port)))
            goto fail;
        char host[INET6_ADDRSTRLEN];
        char *a = d->addresses[i];
        if (inet_ntop(type == ADDR_UDP6 ? AF_INET6 : AF_INET, p, host, sizeof host) == NULL) {
            rc = pkc_error(PKC_ERR_INTERNAL, "%s: address %zu: inet_ntop failed", w, i);
            goto out;
        }
        snprintf(a, sizeof d->addresses[i], type == ADDR_UDP6 ? "udp:[%s]:%u" : "udp:%s:%u",
                 host, port);
        if (!pkc_lan_address_valid(a, strlen(a))) {
            rc = pkc_error(PKC_ERR_MALFORMED, "%s: address %zu: offset %zu: %s cannot be dialed", w,
                           i, at, port == 0 ? "port 0" : "this address");
            goto out;
        }
    }
    return 0;
fail:
    /* A field reader's message ("ufrag: offset 110: ..."), with what it is. */
    return pkc_error_wrap(rc, "%s: malformed", w);
out:
    return rc;
}

static int decode(const uint8_t *in, size_t len, pkc_invite *out, int check_signature)
{
    if (in == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: NULL argument");
    if (len > PKC_INVITE_BYTES_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "invitation: %zu bytes, at most %d", len,
                         PKC_INVITE_BYTES_MAX);
    pkc_reader r;
    pkc_reader_init(&r, in, len);
    pkc_invite inv;
    memset(&inv, 0, sizeof inv);
    int rc;
    if ((rc = pkc_wire_u8(&r, &inv.version, "version")))
        goto fail;
    if (inv.version != PKC_INVITE_VERSION) {
        rc = pkc_error(PKC_ERR_UNSUPPORTED,
                       "invitation: version %u, this pkc reads version %d (update pkc?)",
                       inv.version, PKC_INVITE_VERSION);
        goto out;
    }
    if ((rc = pkc_wire_u8(&r, &inv.kind, "kind")))
        goto fail;
    if (inv.kind != PKC_INVITE_OFFER && inv.kind != PKC_INVITE_ANSWER) {
        rc = pkc_error(PKC_ERR_UNSUPPORTED,
                       "invitation: kind %u unknown (1 is an invitation, 2 an answer)", inv.kind);
        goto out;
    }
    const char *w = what(inv.kind);
    const uint8_t *p;
    uint64_t created, lifetime;
    pkc_bytes s;
    if ((rc = pkc_wire_u8(&r, &inv.flags, "flags")))
        goto fail;
    uint8_t known = inv.kind == PKC_INVITE_OFFER ? PKC_INVITE_FLAGS_KNOWN : 0;
    if (inv.flags & ~known) {
        rc = pkc_error(PKC_ERR_MALFORMED, "%s: flags: offset 2: unknown bits 0x%02x", w,
                       inv.flags & ~known);
        goto out;
    }
    if ((rc = pkc_wire_fixed(&r, 32, &p, "public key")))
        goto fail;
    memcpy(inv.public_key, p, 32);
    if ((rc = pkc_wire_varuint(&r, PKC_TIMESTAMP_MAX, &created, "created")))
        goto fail;
    size_t at = pkc_reader_offset(&r);
    if ((rc = pkc_wire_varuint(&r, PKC_INVITE_LIFETIME_MAX_MS, &lifetime, "lifetime")))
        goto fail;
    if (lifetime == 0 || created + lifetime > PKC_TIMESTAMP_MAX) {
        rc = pkc_error(PKC_ERR_RANGE, "%s: lifetime: offset %zu: %s", w, at,
                       lifetime == 0 ? "zero" : "expires after 2^53 - 1 ms");
        goto out;
    }
    inv.created_ms = created;
    inv.expires_ms = created + lifetime;
    if ((rc = pkc_invite_dial_read(&r, w, &inv.dial)))
        goto out;
    if (inv.kind == PKC_INVITE_OFFER) {
        if ((rc = pkc_wire_fixed(&r, 32, &p, "room secret")))
            goto fail;
        memcpy(inv.room_secret, p, 32);
        at = pkc_reader_offset(&r);
        if ((rc = pkc_wire_varbytes(&r, PKC_INVITE_ROOM_NAME_MAX, &s, "room name")))
            goto fail;
        if (!room_name_valid(s.data, s.len)) {
            rc =
                pkc_error(PKC_ERR_MALFORMED,
                          "%s: room name: offset %zu: not UTF-8 without control characters", w, at);
            goto out;
        }
        memcpy(inv.room_name, s.data, s.len);
        if ((rc = pkc_wire_fixed(&r, 32, &p, "token")))
            goto fail;
        memcpy(inv.token, p, 32);
    } else {
        if ((rc = pkc_wire_fixed(&r, PKC_INVITE_ID_BYTES, &p, "invitation id")))
            goto fail;
        memcpy(inv.id, p, PKC_INVITE_ID_BYTES);
        if ((rc = pkc_wire_fixed(&r, PKC_INVITE_MAC_BYTES, &p, "mac")))
            goto fail;
        memcpy(inv.mac, p, PKC_INVITE_MAC_BYTES);
    }
    size_t signed_len = pkc_reader_offset(&r);
    if ((rc = pkc_wire_fixed(&r, PKC_SIGNATURE_BYTES, &p, "signature")) ||
        (rc = pkc_wire_end(&r, "signature")))
        goto fail;
    memcpy(inv.signature, p, PKC_SIGNATURE_BYTES);
    if (check_signature &&
        pkc_verify_labeled(inv.public_key, LABEL_SIGN, in, signed_len, inv.signature, w) != 0) {
        rc = pkc_error(PKC_ERR_BAD_SIGNATURE,
                       "%s: tampered: the signature does not verify (altered or damaged "
                       "in transit)",
                       w);
        goto out;
    }
    pkc_peer_id_from_public_key(inv.public_key, inv.peer_id);
    if (inv.kind == PKC_INVITE_OFFER) {
        pkc_room_key k;
        pkc_room_key_derive(inv.room_secret, &k);
        memcpy(inv.room_id, k.id, sizeof inv.room_id);
        pkc_crypto_wipe(&k, sizeof k);
        pkc_hs_proof_id(inv.id, inv.token);
    }
    memcpy(out, &inv, sizeof inv);
    rc = 0;
    goto out;
fail:
    /* A field reader's message ("ufrag: offset 110: ..."), with what it is. */
    rc = pkc_error_wrap(rc, "%s: malformed", what(inv.kind));
out:
    pkc_crypto_wipe(&inv, sizeof inv);
    return rc;
}

int pkc_invite_decode(const uint8_t *in, size_t len, pkc_invite *out)
{
    return decode(in, len, out, 1);
}

int pkc_invite_decode_unsigned(const uint8_t *in, size_t len, pkc_invite *out)
{
    return decode(in, len, out, 0);
}

/* --- Text ----------------------------------------------------------------- */

static const char *prefix_of(int kind)
{
    return kind == PKC_INVITE_ANSWER ? "PKCA1" : "PKCI1";
}

int pkc_invite_code(const pkc_invite *inv, char *out, size_t out_size)
{
    if (inv == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: NULL argument");
    pkc_buf b;
    pkc_buf_init_limit(&b, PKC_INVITE_BYTES_MAX);
    int rc = pkc_invite_encode(inv, &b);
    if (rc == 0) {
        size_t need = PKC_INVITE_PREFIX_LEN + pkc_base32_encoded_len(b.len);
        if (out_size < need + 1) {
            rc = pkc_error(PKC_ERR_TOO_LARGE, "%s: the code needs %zu bytes, %zu given",
                           what(inv->kind), need + 1, out_size);
        } else {
            memcpy(out, prefix_of(inv->kind), PKC_INVITE_PREFIX_LEN);
            pkc_base32_encode(out + PKC_INVITE_PREFIX_LEN, out_size - PKC_INVITE_PREFIX_LEN, b.data,
                              b.len);
            rc = (int)need;
        }
        pkc_crypto_wipe(b.data, b.len);
    }
    pkc_buf_free(&b);
    return rc;
}

int pkc_invite_url(const pkc_invite *inv, const char *base, char *out, size_t out_size)
{
    if (inv == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: NULL argument");
    if (base == NULL)
        base = PKC_INVITE_URL_BASE_DEFAULT;
    size_t n = strnlen(base, PKC_INVITE_URL_BASE_MAX + 1);
    if (n == 0 || n > PKC_INVITE_URL_BASE_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: a URL base of 1..%d characters",
                         PKC_INVITE_URL_BASE_MAX);
    for (size_t i = 0; i < n; i++)
        if (base[i] <= 0x20 || base[i] >= 0x7f || base[i] == '#')
            return pkc_error(PKC_ERR_INVALID_ARG,
                             "invitation: URL base: character %zu is not printable ASCII "
                             "other than '#'",
                             i);
    if (out_size < n + 2)
        return pkc_error(PKC_ERR_TOO_LARGE, "%s: the URL needs more than %zu bytes",
                         what(inv->kind), out_size);
    memcpy(out, base, n);
    out[n] = '#';
    int rc = pkc_invite_code(inv, out + n + 1, out_size - n - 1);
    if (rc < 0) {
        out[0] = 0;
        return rc;
    }
    return (int)n + 1 + rc;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int pkc_invite_parse(const char *text, size_t len, pkc_invite *out)
{
    if (text == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: NULL argument");
    if (len > PKC_INVITE_TEXT_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "invitation: %zu characters, at most %d", len,
                         PKC_INVITE_TEXT_MAX);
    char code[PKC_INVITE_TEXT_MAX];
    size_t n = 0, hash = SIZE_MAX;
    for (size_t i = 0; i < len; i++) {
        if (is_space(text[i]))
            continue;
        if (text[i] == '#' && hash == SIZE_MAX)
            hash = n;
        code[n++] = text[i];
    }
    /* A URL: the code is its fragment, whatever the base. */
    const char *c = code;
    if (hash != SIZE_MAX) {
        c = code + hash + 1;
        n -= hash + 1;
    } else if (n >= 3 && memchr(code, ':', n) != NULL && memchr(code, '/', n) != NULL) {
        return pkc_error(PKC_ERR_MALFORMED,
                         "invitation: a link without a code: the code follows '#' in the "
                         "link pkc invite printed");
    }
    if (n == 0)
        return pkc_error(PKC_ERR_MALFORMED, "invitation: empty");
    int upper = 0, lower = 0;
    for (size_t i = 0; i < n; i++) {
        upper |= c[i] >= 'A' && c[i] <= 'Z';
        lower |= c[i] >= 'a' && c[i] <= 'z';
    }
    if (n < PKC_INVITE_PREFIX_LEN || (c[0] != 'P' && c[0] != 'p') || (c[1] != 'K' && c[1] != 'k') ||
        (c[2] != 'C' && c[2] != 'c'))
        return pkc_error(PKC_ERR_MALFORMED,
                         "invitation: not a pkc code (one begins with PKCI1, an answer with "
                         "PKCA1)");
    if (upper && lower)
        return pkc_error(PKC_ERR_MALFORMED,
                         "invitation: mixed upper and lower case (a code is all one case)");
    char k = (char)(c[3] & ~0x20), v = c[4];
    int kind = k == 'I' ? PKC_INVITE_OFFER : k == 'A' ? PKC_INVITE_ANSWER : 0;
    if (kind == 0)
        return pkc_error(PKC_ERR_UNSUPPORTED,
                         "invitation: kind '%c' unknown (PKCI is an invitation, PKCA an answer)",
                         c[3] > 0x20 && c[3] < 0x7f ? c[3] : '?');
    if (v != '1')
        return v >= '0' && v <= '9'
                   ? pkc_error(PKC_ERR_UNSUPPORTED,
                               "%s: version %c, this pkc reads version 1 (update pkc?)", what(kind),
                               v)
                   : pkc_error(PKC_ERR_MALFORMED, "%s: no version after PKC%c", what(kind), k);
    const char *body = c + PKC_INVITE_PREFIX_LEN;
    size_t body_len = n - PKC_INVITE_PREFIX_LEN;
    if (body_len > PKC_INVITE_CODE_MAX - PKC_INVITE_PREFIX_LEN)
        return pkc_error(PKC_ERR_TOO_LARGE, "%s: a code of %zu characters, at most %d", what(kind),
                         n, PKC_INVITE_CODE_MAX);
    uint8_t bytes[PKC_INVITE_BYTES_MAX];
    size_t bytes_len;
    int rc = pkc_base32_decode(body, body_len, bytes, sizeof bytes, &bytes_len);
    if (rc) {
        /* The offset in the code, prefix included. */
        size_t bad = 0;
        const char *m = strstr(pkc_errmsg(), "offset ");
        if (m && sscanf(m, "offset %zu", &bad) == 1)
            return pkc_error(rc,
                             "%s: malformed: character %zu of the code ('%c') is not A-Z or 2-7",
                             what(kind), bad + PKC_INVITE_PREFIX_LEN + 1,
                             body[bad] > 0x20 && body[bad] < 0x7f ? body[bad] : '?');
        return pkc_error_wrap(rc, "%s: malformed", what(kind));
    }
    pkc_invite inv;
    rc = pkc_invite_decode(bytes, bytes_len, &inv);
    pkc_crypto_wipe(bytes, sizeof bytes);
    pkc_crypto_wipe(code, sizeof code);
    if (rc)
        return rc;
    if (inv.kind != kind) {
        pkc_crypto_wipe(&inv, sizeof inv);
        return pkc_error(PKC_ERR_MALFORMED, "invitation: the prefix says %s, the code is an %s",
                         what(kind), what(inv.kind));
    }
    memcpy(out, &inv, sizeof inv);
    pkc_crypto_wipe(&inv, sizeof inv);
    return 0;
}

/* --- Checks --------------------------------------------------------------- */

/* "3 min 12 s", "2 h 5 min", "4 days 3 h", "under 1 s". */
static void duration(char *out, size_t size, uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s == 0)
        snprintf(out, size, "under 1 s");
    else if (s < 60)
        snprintf(out, size, "%llu s", (unsigned long long)s);
    else if (s < 3600)
        snprintf(out, size, "%llu min %llu s", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf(out, size, "%llu h %llu min", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    else
        snprintf(out, size, "%llu days %llu h", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24));
}

/* "2026-12-03 10:00:00 UTC". */
static void utc(char *out, size_t size, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, size, "%llu ms after 1970", (unsigned long long)ms);
}

int pkc_invite_check_time(const pkc_invite *inv, uint64_t now_ms, uint64_t skew_ms)
{
    if (inv == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: NULL argument");
    char d[64], at[64], skew[64];
    if (skew_ms > PKC_INVITE_LIFETIME_MAX_MS)
        skew_ms = PKC_INVITE_LIFETIME_MAX_MS;
    duration(skew, sizeof skew, skew_ms);
    if (now_ms + skew_ms < inv->created_ms) {
        duration(d, sizeof d, inv->created_ms - now_ms);
        utc(at, sizeof at, inv->created_ms);
        return pkc_error(PKC_ERR_NOT_YET_VALID,
                         "%s: not valid yet: made %s in the future, at %s by its maker's clock "
                         "(clocks may differ by %s; check this computer's clock)",
                         what(inv->kind), d, at, skew);
    }
    if (now_ms >= inv->expires_ms + skew_ms) {
        duration(d, sizeof d, now_ms - inv->expires_ms);
        utc(at, sizeof at, inv->expires_ms);
        return pkc_error(PKC_ERR_EXPIRED, "%s: expired %s ago, at %s%s%s%s", what(inv->kind), d, at,
                         skew_ms ? " (with " : "", skew_ms ? skew : "",
                         skew_ms ? " allowed for clock differences)" : "");
    }
    return 0;
}

int pkc_invite_answer_check(const pkc_invite *answer, const pkc_invite *offer)
{
    if (answer == NULL || offer == NULL || answer->kind != PKC_INVITE_ANSWER ||
        offer->kind != PKC_INVITE_OFFER)
        return pkc_error(PKC_ERR_INVALID_ARG, "answer: needs an answer and an invitation");
    if (memcmp(answer->id, offer->id, PKC_INVITE_ID_BYTES) != 0)
        return pkc_error(PKC_ERR_MISMATCH, "answer: it answers another invitation");
    pkc_buf b;
    pkc_buf_init_limit(&b, PKC_INVITE_BYTES_MAX);
    size_t mac_at = 0;
    encode_unsigned(answer, &b, &mac_at);
    int rc = b.err;
    if (rc == 0) {
        uint8_t mac[PKC_INVITE_MAC_BYTES];
        answer_mac(offer->token, b.data, mac_at, mac);
        if (pkc_crypto_memcmp(mac, answer->mac, sizeof mac) != 0)
            rc = pkc_error(PKC_ERR_BAD_SIGNATURE,
                           "answer: tampered: its MAC does not verify (altered, or not made "
                           "from this invitation)");
        pkc_crypto_wipe(mac, sizeof mac);
    } else {
        rc = pkc_error(rc, "answer: cannot encode it");
    }
    pkc_buf_free(&b);
    return rc;
}

void pkc_invite_wipe(pkc_invite *inv)
{
    if (inv)
        pkc_crypto_wipe(inv, sizeof *inv);
}
