/*
 * frame.c: the frame codec (docs/protocol.md, "Frames").
 *
 *   frame = varuint type || varuint body_length || body
 *
 * Encoding computes the exact size first and then writes without a second
 * buffer; decoding checks every length against the bytes left and the
 * limits before taking anything. What is particular to each type is in its
 * section below and in its row of PKC_FRAME_TYPES (frame.h); the generic
 * code at the end only dispatches by that table.
 */
#include "proto/frame.h"

#include <string.h>

#include "crypto/backend.h"
#include "crypto/kdf.h"
#include "crypto/peerid.h"
#include "util/err.h"
#include "util/text.h"
#include "proto/wire.h"

/* --- Writing ----------------------------------------------------------- */

typedef struct wcur {
    uint8_t *p;
} wcur;

static void w_u8(wcur *w, uint8_t v)
{
    *w->p++ = v;
}

static void w_bytes(wcur *w, const void *p, size_t n)
{
    if (n) {
        memcpy(w->p, p, n);
        w->p += n;
    }
}

static void w_varuint(wcur *w, uint64_t v)
{
    while (v >= 0x80) {
        *w->p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *w->p++ = (uint8_t)v;
}

static void w_varbytes(wcur *w, const pkc_bytes *b)
{
    w_varuint(w, b->len);
    w_bytes(w, b->data, b->len);
}

/* pkc_varuint_size(), inline: frame sizes are computed for every frame sent. */
static inline size_t vsize(uint64_t v)
{
    size_t n = 1;
    while (v > 0x7f) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t vb_size(size_t n)
{
    return vsize(n) + n;
}

static int text_ok(const pkc_bytes *b, size_t max, const char *what)
{
    if (b->len > max)
        return pkc_error(PKC_ERR_RANGE, "frame: %s is %zu bytes, more than %zu", what, b->len,
                         max);
    if (b->len && (b->data == NULL || !pkc_utf8_valid(b->data, b->len, NULL)))
        return pkc_error(PKC_ERR_INVALID_ARG, "frame: %s is not UTF-8", what);
    return 0;
}

static inline int bytes_ok(const pkc_bytes *b, const char *what)
{
    if (b->len && b->data == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "frame: %s is NULL", what);
    if (b->len > PKC_FRAME_SIZE_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "frame: %s is %zu bytes, more than %u", what, b->len,
                         PKC_FRAME_SIZE_MAX);
    return 0;
}

/* --- CONTROL ----------------------------------------------------------- */

static int64_t control_size(const pkc_frame *f)
{
    const pkc_control *c = &f->control;
    int rc;
    switch (c->action) {
    case PKC_CONTROL_PING:
        return 1 + (int64_t)(vsize(c->ping_id) + vsize(c->wall_ms));
    case PKC_CONTROL_PONG:
        return 1 + (int64_t)(vsize(c->ping_id) + vsize(c->wall_ms) + vsize(c->rtt_us));
    case PKC_CONTROL_DISCONNECT:
        if ((rc = text_ok(&c->text, PKC_REASON_TEXT_MAX, "disconnect text")) != 0)
            return rc;
        return 1 + (int64_t)(vsize(c->reason) + vb_size(c->text.len) + vsize(c->retry_after_ms));
    default:
        return pkc_error(PKC_ERR_INVALID_ARG, "frame: unknown control action %llu",
                         (unsigned long long)c->action);
    }
}

static void control_write(wcur *w, const pkc_frame *f)
{
    const pkc_control *c = &f->control;
    w_u8(w, (uint8_t)c->action);
    if (c->action == PKC_CONTROL_DISCONNECT) {
        w_varuint(w, c->reason);
        w_varbytes(w, &c->text);
        w_varuint(w, c->retry_after_ms);
    } else {
        w_varuint(w, c->ping_id);
        w_varuint(w, c->wall_ms);
        if (c->action == PKC_CONTROL_PONG)
            w_varuint(w, c->rtt_us);
    }
}

static int control_decode(const uint8_t *body, size_t n, uint64_t type, pkc_frame *f)
{
    (void)type;
    pkc_reader r;
    pkc_reader_init(&r, body, n);
    pkc_control c;
    memset(&c, 0, sizeof c);
    uint8_t action;
    int rc = pkc_wire_u8(&r, &action, "control action");
    if (rc)
        return rc;
    c.action = action;
    switch (action) {
    case PKC_CONTROL_PING:
    case PKC_CONTROL_PONG:
        if ((rc = pkc_wire_varuint(&r, UINT64_MAX, &c.ping_id, "ping id")) ||
            (rc = pkc_wire_varuint(&r, PKC_TIMESTAMP_MAX, &c.wall_ms, "ping wall clock")))
            return rc;
        if (action == PKC_CONTROL_PONG &&
            (rc = pkc_wire_varuint(&r, UINT64_MAX, &c.rtt_us, "pong rtt")))
            return rc;
        break;
    case PKC_CONTROL_DISCONNECT:
        if ((rc = pkc_wire_varuint(&r, UINT64_MAX, &c.reason, "disconnect reason")) ||
            (rc = pkc_wire_varstring(&r, PKC_REASON_TEXT_MAX, &c.text, "disconnect text")) ||
            (rc = pkc_wire_varuint(&r, UINT64_MAX, &c.retry_after_ms, "disconnect retry")))
            return rc;
        break;
    default:
        return pkc_error(PKC_ERR_UNSUPPORTED, "control: unknown action %u", action);
    }
    if ((rc = pkc_wire_end(&r, "frame body")))
        return rc;
    f->control = c;
    return 0;
}

/* --- ANNOUNCE ---------------------------------------------------------- */

static int64_t announce_size(const pkc_frame *f)
{
    int rc;
    if (f->announce.encoded.len == 0 || f->announce.encoded.data == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "frame: an announcement is sent as made by pkc_announce_create()");
    if ((rc = bytes_ok(&f->announce.encoded, "announcement")) != 0)
        return rc;
    return (int64_t)f->announce.encoded.len;
}

static void announce_write(wcur *w, const pkc_frame *f)
{
    w_bytes(w, f->announce.encoded.data, f->announce.encoded.len);
}

int pkc_announce_decode(const uint8_t *in, size_t len, pkc_announce *out)
{
    if (in == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "announcement: NULL argument");
    if (len > PKC_FRAME_SIZE_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "announcement: %zu bytes", len);
    pkc_reader r;
    pkc_reader_init(&r, in, len);
    pkc_announce a;
    memset(&a, 0, sizeof a);
    uint8_t version;
    uint64_t n;
    int rc = pkc_wire_u8(&r, &version, "announcement version");
    if (rc)
        return rc;
    if (version != PKC_ANNOUNCE_VERSION)
        return pkc_error(PKC_ERR_UNSUPPORTED, "announcement: version %u (this peer reads %d)",
                         version, PKC_ANNOUNCE_VERSION);
    if ((rc = pkc_wire_fixed(&r, 32, &a.public_key, "announcement public key")) ||
        (rc = pkc_wire_fixed(&r, 32, &a.dh_public_key, "announcement X25519 key")) ||
        (rc = pkc_wire_varuint(&r, PKC_TIMESTAMP_MAX, &a.timestamp_ms,
                               "announcement timestamp")) ||
        (rc = pkc_wire_varuint(&r, UINT64_MAX, &a.capabilities, "announcement capabilities")) ||
        (rc = pkc_wire_varuint(&r, PKC_ADDRESSES_MAX, &n, "announcement address count")))
        return rc;
    a.n_addresses = (size_t)n;
    for (size_t i = 0; i < a.n_addresses; i++) {
        if ((rc = pkc_wire_varstring(&r, PKC_ADDRESS_MAX, &a.addresses[i],
                                     "announcement address")))
            return rc;
        if (a.addresses[i].len == 0)
            return pkc_error(PKC_ERR_MALFORMED, "announcement: address %zu is empty", i);
    }
    if ((rc = pkc_wire_extensions(&r, PKC_EXTENSIONS_MAX, PKC_EXTENSION_VALUE_MAX, &a.extensions,
                                  "announcement extensions")) ||
        (rc = pkc_wire_u64be(&r, &a.pow_counter, "announcement proof of work")) ||
        (rc = pkc_wire_fixed(&r, PKC_SIGNATURE_BYTES, &a.signature, "announcement signature")) ||
        (rc = pkc_wire_end(&r, "announcement")))
        return rc;
    a.encoded.data = in;
    a.encoded.len = len;
    pkc_peer_id_from_public_key(a.public_key, a.peer_id);
    *out = a;
    return 0;
}


static int announce_decode(const uint8_t *body, size_t n, uint64_t type, pkc_frame *f)
{
    (void)type;
    return pkc_announce_decode(body, n, &f->announce);
}

/* --- DATA and SIGNAL --------------------------------------------------- */

static int64_t message_size(const pkc_frame *f)
{
    const pkc_message *m = &f->message;
    int rc;
    if (m->signed_part.len == 0 || m->signed_part.data == NULL || m->signature == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "frame: a message is sent as made by pkc_message_create()");
    if (m->hops > PKC_HOPS_MAX)
        return pkc_error(PKC_ERR_RANGE, "frame: hops %llu above %d", (unsigned long long)m->hops,
                         PKC_HOPS_MAX);
    if ((rc = bytes_ok(&m->signed_part, "message")) != 0)
        return rc;
    return (int64_t)(vsize(m->hops) + m->signed_part.len + PKC_SIGNATURE_BYTES);
}

static void message_write(wcur *w, const pkc_frame *f)
{
    w_varuint(w, f->message.hops);
    w_bytes(w, f->message.signed_part.data, f->message.signed_part.len);
    w_bytes(w, f->message.signature, PKC_SIGNATURE_BYTES);
}

const char *pkc_message_label(uint64_t type)
{
    return type == PKC_FRAME_SIGNAL ? PKC_LABEL_SIGNAL : PKC_LABEL_DATA;
}

void pkc_message_digest(uint64_t type, const uint8_t *signed_part, size_t len, uint8_t out[32])
{
    pkc_hash_labeled(out, 32, pkc_message_label(type), signed_part, len);
}

int pkc_message_decode_body(const uint8_t *body, size_t len, uint64_t type, pkc_message *out)
{
    const char *what = type == PKC_FRAME_SIGNAL ? "signal" : "data";
    pkc_reader r;
    pkc_reader_init(&r, body, len);
    pkc_message m;
    memset(&m, 0, sizeof m);
    uint8_t version, flags;
    int rc = pkc_wire_varuint(&r, PKC_HOPS_MAX, &m.hops, "message hops");
    if (rc)
        return rc;
    const uint8_t *signed_start = r.p;
    if ((rc = pkc_wire_u8(&r, &version, "message version")))
        return rc;
    if (version != PKC_MESSAGE_VERSION)
        return pkc_error(PKC_ERR_UNSUPPORTED, "%s: message version %u (this peer reads %d)", what,
                         version, PKC_MESSAGE_VERSION);
    if ((rc = pkc_wire_u8(&r, &flags, "message flags")))
        return rc;
    if (flags & ~(PKC_MSG_DIRECT | PKC_MSG_ROOM | PKC_MSG_SEALED))
        return pkc_error(PKC_ERR_MALFORMED, "%s: unknown flags 0x%02x", what, flags);
    if ((flags & PKC_MSG_SEALED) && !(flags & PKC_MSG_DIRECT))
        return pkc_error(PKC_ERR_MALFORMED, "%s: sealed but not direct", what);
    if ((flags & PKC_MSG_SEALED) && (flags & PKC_MSG_ROOM))
        return pkc_error(PKC_ERR_MALFORMED, "%s: both sealed and room-encrypted", what);
    if (type == PKC_FRAME_SIGNAL && flags != (PKC_MSG_DIRECT | PKC_MSG_SEALED))
        return pkc_error(PKC_ERR_MALFORMED, "signal: must be direct and sealed (flags 0x%02x)",
                         flags);
    m.flags = flags;
    if ((rc = pkc_wire_fixed(&r, 32, &m.from, "message sender")))
        return rc;
    if ((flags & PKC_MSG_DIRECT) &&
        (rc = pkc_wire_fixed(&r, PKC_PEER_ID_HASH_BYTES, &m.to, "message recipient")))
        return rc;
    if ((rc = pkc_wire_varuint(&r, PKC_TIMESTAMP_MAX, &m.timestamp_ms, "message timestamp")) ||
        (rc = pkc_wire_fixed(&r, PKC_NONCE_BYTES, &m.nonce, "message nonce")) ||
        (rc = pkc_wire_varstring(&r, PKC_TOPIC_MAX, &m.topic, "message topic")))
        return rc;
    if ((flags & PKC_MSG_ROOM) &&
        (rc = pkc_wire_fixed(&r, PKC_ROOM_ID_BYTES, &m.room_id, "message room id")))
        return rc;
    if ((flags & PKC_MSG_SEALED) &&
        (rc = pkc_wire_fixed(&r, 32, &m.ephemeral, "message ephemeral key")))
        return rc;
    if ((rc = pkc_wire_varbytes(&r, PKC_FRAME_SIZE_MAX, &m.payload, "message payload")))
        return rc;
    if ((flags & (PKC_MSG_ROOM | PKC_MSG_SEALED)) && m.payload.len < PKC_AEAD_TAG_BYTES)
        return pkc_error(PKC_ERR_MALFORMED, "%s: encrypted payload shorter than its tag", what);
    m.signed_part.data = signed_start;
    m.signed_part.len = (size_t)(r.p - signed_start);
    if ((rc = pkc_wire_fixed(&r, PKC_SIGNATURE_BYTES, &m.signature, "message signature")) ||
        (rc = pkc_wire_end(&r, what)))
        return rc;
    m.type = type;
    pkc_message_digest(type, m.signed_part.data, m.signed_part.len, m.digest);
    memcpy(m.id, m.digest, PKC_MSG_ID_BYTES);
    if (!(flags & (PKC_MSG_ROOM | PKC_MSG_SEALED))) {
        m.plaintext = m.payload;
        m.opened = 1;
    }
    *out = m;
    return 0;
}

static int message_decode(const uint8_t *body, size_t n, uint64_t type, pkc_frame *f)
{
    return pkc_message_decode_body(body, n, type, &f->message);
}

/* --- SYNC -------------------------------------------------------------- */

static int64_t sync_size(const pkc_frame *f)
{
    const pkc_sync *s = &f->sync;
    int rc;
    if (s->kind > 255)
        return pkc_error(PKC_ERR_RANGE, "frame: sync kind %llu above 255",
                         (unsigned long long)s->kind);
    if ((rc = text_ok(&s->doc, PKC_DOC_NAME_MAX, "document name")) != 0 ||
        (rc = bytes_ok(&s->message, "sync message")) != 0)
        return rc;
    return (int64_t)(vsize(s->kind) + vb_size(s->doc.len) + vb_size(s->message.len));
}

static void sync_write(wcur *w, const pkc_frame *f)
{
    w_varuint(w, f->sync.kind);
    w_varbytes(w, &f->sync.doc);
    w_varbytes(w, &f->sync.message);
}

static int sync_decode(const uint8_t *body, size_t n, uint64_t type, pkc_frame *f)
{
    (void)type;
    pkc_reader r;
    pkc_reader_init(&r, body, n);
    pkc_sync x;
    int rc;
    if ((rc = pkc_wire_varuint(&r, 255, &x.kind, "sync kind")) ||
        (rc = pkc_wire_varstring(&r, PKC_DOC_NAME_MAX, &x.doc, "sync document")) ||
        (rc = pkc_wire_varbytes(&r, PKC_FRAME_SIZE_MAX, &x.message, "sync message")) ||
        (rc = pkc_wire_end(&r, "frame body")))
        return rc;
    f->sync = x;
    return 0;
}

/* --- PEX --------------------------------------------------------------- */

static int64_t pex_size(const pkc_frame *f)
{
    const pkc_pex *x = &f->pex;
    int rc;
    if (x->request) {
        if (x->max < 1 || x->max > PKC_PEX_MAX)
            return pkc_error(PKC_ERR_RANGE, "frame: PEX request for %llu peers (1..%d)",
                             (unsigned long long)x->max, PKC_PEX_MAX);
        return 1 + (int64_t)vsize(x->max);
    }
    if (x->count > PKC_PEX_MAX)
        return pkc_error(PKC_ERR_RANGE, "frame: PEX response with %zu peers (at most %d)",
                         x->count, PKC_PEX_MAX);
    int64_t n = 1 + (int64_t)vsize(x->count);
    for (size_t i = 0; i < x->count; i++) {
        if ((rc = bytes_ok(&x->announcements[i], "PEX entry")) != 0)
            return rc;
        n += (int64_t)vb_size(x->announcements[i].len);
    }
    return n;
}

static void pex_write(wcur *w, const pkc_frame *f)
{
    if (f->pex.request) {
        w_u8(w, 1);
        w_varuint(w, f->pex.max);
    } else {
        w_u8(w, 2);
        w_varuint(w, f->pex.count);
        for (size_t i = 0; i < f->pex.count; i++)
            w_varbytes(w, &f->pex.announcements[i]);
    }
}

static int pex_decode(const uint8_t *body, size_t n, uint64_t type, pkc_frame *f)
{
    (void)type;
    pkc_reader r;
    pkc_reader_init(&r, body, n);
    uint8_t kind;
    uint64_t count;
    int rc = pkc_wire_u8(&r, &kind, "pex kind");
    if (rc)
        return rc;
    if (kind == 1) {
        if ((rc = pkc_wire_varuint(&r, PKC_PEX_MAX, &count, "pex request size")))
            return rc;
        if (count == 0)
            return pkc_error(PKC_ERR_RANGE, "pex: a request for 0 peers");
        if ((rc = pkc_wire_end(&r, "frame body")))
            return rc;
        f->pex.request = 1;
        f->pex.max = count;
        f->pex.count = 0;
        return 0;
    }
    if (kind != 2)
        return pkc_error(PKC_ERR_UNSUPPORTED, "pex: unknown kind %u", kind);
    if ((rc = pkc_wire_varuint(&r, PKC_PEX_MAX, &count, "pex count")))
        return rc;
    /* The entries go to f only once all are read: pkc_pex is large, so
     * they are kept here, and only as many copied as there are. */
    pkc_bytes entries[PKC_PEX_MAX];
    for (size_t i = 0; i < count; i++)
        if ((rc = pkc_wire_varbytes(&r, PKC_FRAME_SIZE_MAX, &entries[i], "pex entry")))
            return rc;
    if ((rc = pkc_wire_end(&r, "frame body")))
        return rc;
    f->pex.request = 0;
    f->pex.max = 0;
    f->pex.count = (size_t)count;
    memcpy(f->pex.announcements, entries, (size_t)count * sizeof entries[0]);
    return 0;
}

/* --- MESH -------------------------------------------------------------- */

static int64_t mesh_size(const pkc_frame *f)
{
    int rc;
    if ((rc = bytes_ok(&f->mesh, "mesh payload")) != 0)
        return rc;
    return (int64_t)f->mesh.len;
}

static void mesh_write(wcur *w, const pkc_frame *f)
{
    w_bytes(w, f->mesh.data, f->mesh.len);
}

static int mesh_decode(const uint8_t *body, size_t n, uint64_t type, pkc_frame *f)
{
    (void)type;
    f->mesh = (pkc_bytes){body, n};
    return 0;
}

/* --- The table --------------------------------------------------------- */

typedef struct frame_codec {
    const char *name;
    int64_t (*size)(const pkc_frame *f);
    void (*write)(wcur *w, const pkc_frame *f);
    int (*decode)(const uint8_t *body, size_t n, uint64_t type, pkc_frame *f);
} frame_codec;

#define ROW(type, name, stem) _Static_assert((type) < PKC_FRAME_TYPE_END, "raise PKC_FRAME_TYPE_END");
PKC_FRAME_TYPES(ROW)
#undef ROW

static const frame_codec codecs[PKC_FRAME_TYPE_END] = {
#define ROW(type, name, stem) [type] = {name, stem##_size, stem##_write, stem##_decode},
    PKC_FRAME_TYPES(ROW)
#undef ROW
};

/* The codec of a type, or NULL for a type without a row. */
static inline const frame_codec *codec_of(uint64_t type)
{
    return type < PKC_FRAME_TYPE_END && codecs[type].size ? &codecs[type] : NULL;
}

const char *pkc_frame_type_name(uint64_t type)
{
    const frame_codec *c = codec_of(type);
    return c ? c->name : "unknown";
}

/* --- Encoding ---------------------------------------------------------- */

int64_t pkc_frame_sizes(const pkc_frame *f, int64_t *body_out)
{
    const frame_codec *c = codec_of(f->type);
    if (c == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "frame: cannot encode frame type %llu",
                         (unsigned long long)f->type);
    int64_t body = c->size(f);
    if (body < 0)
        return body;
    if (body > (int64_t)PKC_FRAME_SIZE_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "frame: body of %lld bytes exceeds %u", (long long)body,
                         PKC_FRAME_SIZE_MAX);
    *body_out = body;
    return (int64_t)(vsize(f->type) + vsize((uint64_t)body)) + body;
}

int64_t pkc_frame_size(const pkc_frame *f)
{
    int64_t body;
    return pkc_frame_sizes(f, &body);
}

void pkc_frame_put(uint8_t *out, const pkc_frame *f, uint64_t body)
{
    wcur w = {out};
    w_varuint(&w, f->type);
    w_varuint(&w, body);
    codecs[f->type].write(&w, f);
}

/* pkc_frame is versioned by the frame types it knows: a later version adds
 * union members, never larger than the union is (the assertion below
 * checks that the union keeps its size), so an older caller's struct is never written past; a
 * frame type newer than the caller's version would be decoded as unknown
 * for it. Version 1 knows types 1 to 7. */
_Static_assert(sizeof(pkc_frame) == 1056 || sizeof(void *) != 8,
               "pkc_frame changed size: a new frame type must fit in the union");

int pkc_frame_encode_versioned(int frame_version, const pkc_frame *f, uint8_t *out, size_t cap,
                               size_t *len)
{
    if (f == NULL || len == NULL || (out == NULL && cap > 0))
        return pkc_error(PKC_ERR_INVALID_ARG, "frame encode: NULL argument");
    if (frame_version != PKC_FRAME_V1)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "pkc_frame version %d is unknown to this library (pkc %s knows 1)",
                         frame_version, PKC_VERSION);
    int64_t body, total = pkc_frame_sizes(f, &body);
    if (total < 0)
        return (int)total;
    if ((size_t)total > cap) {
        *len = (size_t)total;
        return pkc_error(PKC_ERR_TOO_LARGE, "frame encode: needs %lld bytes, %zu given",
                         (long long)total, cap);
    }
    pkc_frame_put(out, f, (uint64_t)body);
    *len = (size_t)total;
    return 0;
}

/* --- Decoding ---------------------------------------------------------- */

/* The frame header at `in`: type and body, checked as pkc_frame_decode()
 * says; the slow path, which names what is wrong. */
static int frame_header(const uint8_t *in, size_t len, size_t max_size, uint64_t *type,
                        uint64_t *body_len)
{
    pkc_reader r;
    pkc_reader_init(&r, in, len);
    int rc = pkc_wire_varuint(&r, UINT64_MAX, type, "frame type");
    if (rc)
        return rc;
    if (*type == 0)
        return pkc_error(PKC_ERR_MALFORMED, "frame: type 0 is reserved");
    if ((rc = pkc_wire_varuint(&r, UINT64_MAX, body_len, "frame length")))
        return rc;
    if (*body_len > max_size || *body_len > PKC_FRAME_SIZE_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "frame: body of %llu bytes exceeds the limit %zu",
                         (unsigned long long)*body_len,
                         max_size < PKC_FRAME_SIZE_MAX ? max_size : (size_t)PKC_FRAME_SIZE_MAX);
    if (*body_len > pkc_reader_left(&r))
        return pkc_error(PKC_ERR_TRUNCATED, "frame: body of %llu bytes, only %zu left",
                         (unsigned long long)*body_len, pkc_reader_left(&r));
    return 0;
}

int pkc_frame_decode_versioned(const uint8_t *in, size_t len, size_t max_size,
                               int frame_version, pkc_frame *out, size_t *consumed)
{
    if (in == NULL || out == NULL || consumed == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "frame decode: NULL argument");
    if (frame_version != PKC_FRAME_V1)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "pkc_frame version %d is unknown to this library (pkc %s knows 1)",
                         frame_version, PKC_VERSION);
    /* The header: short varuints inline; anything unusual (or wrong) takes
     * frame_header(). */
    const uint8_t *end = in + len;
    uint64_t type, body_len;
    size_t a = pkc_wire_varuint_quick(in, end, &type), b = 0;
    if (a == 0 || type == 0 || (b = pkc_wire_varuint_quick(in + a, end, &body_len)) == 0 ||
        body_len > max_size || body_len > PKC_FRAME_SIZE_MAX ||
        body_len > (size_t)(end - in) - a - b) {
        int rc = frame_header(in, len, max_size, &type, &body_len);
        if (rc)
            return rc;
        a = vsize(type);
        b = vsize(body_len);
    }
    const uint8_t *body = in + a + b;
    size_t n = (size_t)body_len;
    const frame_codec *c = codec_of(type);
    if (c == NULL) {
        out->type = type;
        out->unknown = (pkc_bytes){body, n};
    } else {
        /* Each decoder reads its whole body and writes *out only on success. */
        int rc = c->decode(body, n, type, out);
        if (rc)
            return pkc_error_wrap(rc, "frame type %llu (%s) at body offset %zu",
                                  (unsigned long long)type, c->name, (size_t)(body - in));
        out->type = type;
    }
    *consumed = a + b + n;
    return 0;
}

/* --- SIGNAL content ---------------------------------------------------- */

int pkc_signal_encode(const pkc_signal *s, uint8_t *out, size_t cap, size_t *len)
{
    if (s == NULL || len == NULL || (out == NULL && cap > 0))
        return pkc_error(PKC_ERR_INVALID_ARG, "signal encode: NULL argument");
    int rc;
    if (s->kind < PKC_SIGNAL_OFFER || s->kind > PKC_SIGNAL_BYE)
        return pkc_error(PKC_ERR_INVALID_ARG, "signal: unknown kind %llu",
                         (unsigned long long)s->kind);
    if ((rc = text_ok(&s->connection, PKC_CONNECTION_ID_MAX, "signal connection id")) ||
        (rc = text_ok(&s->body, PKC_SIGNAL_BODY_MAX, "signal body")))
        return rc;
    size_t total =
        vsize(s->kind) + vb_size(s->connection.len) + vb_size(s->body.len);
    if (total > cap) {
        *len = total;
        return pkc_error(PKC_ERR_TOO_LARGE, "signal encode: needs %zu bytes, %zu given", total,
                         cap);
    }
    wcur w = {out};
    w_varuint(&w, s->kind);
    w_varbytes(&w, &s->connection);
    w_varbytes(&w, &s->body);
    *len = total;
    return 0;
}

int pkc_signal_decode(const uint8_t *in, size_t len, pkc_signal *out)
{
    if (in == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "signal decode: NULL argument");
    pkc_reader r;
    pkc_reader_init(&r, in, len);
    pkc_signal s;
    int rc;
    if ((rc = pkc_wire_varuint(&r, UINT64_MAX, &s.kind, "signal kind")) ||
        (rc = pkc_wire_varstring(&r, PKC_CONNECTION_ID_MAX, &s.connection,
                                 "signal connection id")) ||
        (rc = pkc_wire_varstring(&r, PKC_SIGNAL_BODY_MAX, &s.body, "signal body")) ||
        (rc = pkc_wire_end(&r, "signal")))
        return rc;
    if (s.kind < PKC_SIGNAL_OFFER || s.kind > PKC_SIGNAL_BYE)
        return pkc_error(PKC_ERR_UNSUPPORTED, "signal: unknown kind %llu",
                         (unsigned long long)s.kind);
    *out = s;
    return 0;
}
