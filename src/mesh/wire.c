/*
 * wire.c: mesh message codec (docs/protocol.md, "Mesh").
 *
 * What is particular to each message type is in its section below and in
 * its row of MESH_TYPES (wire.h); likewise for the kinds of ROUTE payload
 * and MESH_ROUTE_KINDS. The generic code after each group only dispatches
 * by those tables.
 */
#include "mesh/wire.h"

#include <string.h>

#include "util/err.h"

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static int read_id(pkc_reader *r, const uint8_t **id)
{
    return pkc_reader_bytes(r, MESH_ID_LEN, id);
}

static int read_msgid(pkc_reader *r, const uint8_t **id, size_t *len)
{
    size_t at = pkc_reader_offset(r);
    TRY(pkc_reader_varbytes(r, id, len));
    if (*len == 0 || *len > MESH_MSGID_MAX)
        return pkc_error(PKC_ERR_MALFORMED, "offset %zu: message id of %zu bytes (1..%d)", at, *len,
                         MESH_MSGID_MAX);
    return 0;
}

static int read_coord(pkc_reader *r, int64_t *v)
{
    size_t at = pkc_reader_offset(r);
    TRY(pkc_reader_varint(r, v, NULL));
    if (*v > MESH_COORD_MAX || *v < -MESH_COORD_MAX)
        return pkc_error(PKC_ERR_RANGE, "offset %zu: coordinate %lld out of range", at,
                         (long long)*v);
    return 0;
}

static int read_record_body(pkc_reader *r, mesh_record *rec)
{
    TRY(pkc_reader_u8(r, &rec->flags));
    rec->x = rec->y = 0;
    rec->h = 0;
    if (rec->flags & MESH_REC_COORD) {
        TRY(read_coord(r, &rec->x));
        TRY(read_coord(r, &rec->y));
        TRY(pkc_reader_varuint_max(r, MESH_COORD_MAX, &rec->h));
    }
    return 0;
}

static int read_record(pkc_reader *r, mesh_record *rec)
{
    TRY(read_id(r, &rec->id));
    return read_record_body(r, rec);
}

static int read_records(pkc_reader *r, size_t *count, mesh_record *rec, size_t min, size_t max)
{
    uint64_t n;
    size_t at = pkc_reader_offset(r);
    TRY(pkc_reader_varuint(r, &n));
    if (n < min || n > max)
        return pkc_error(PKC_ERR_RANGE, "offset %zu: %llu peer records (%zu..%zu)", at,
                         (unsigned long long)n, min, max);
    /* Each record is at least 21 bytes: checked before reading any. */
    if (pkc_reader_left(r) < n * (MESH_ID_LEN + 1))
        return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu records do not fit in %zu bytes",
                         at, (unsigned long long)n, pkc_reader_left(r));
    for (size_t i = 0; i < n; i++)
        TRY(read_record(r, &rec[i]));
    *count = (size_t)n;
    return 0;
}

static int read_path(pkc_reader *r, mesh_path *p, size_t min)
{
    uint8_t n;
    size_t at = pkc_reader_offset(r);
    TRY(pkc_reader_u8(r, &n));
    if (n < min || n > MESH_PATH_MAX)
        return pkc_error(PKC_ERR_RANGE, "offset %zu: path of %u peers (%zu..%d)", at, n, min,
                         MESH_PATH_MAX);
    TRY(pkc_reader_bytes(r, (size_t)n * MESH_ID_LEN, &p->ids));
    p->len = n;
    /* A path never names a peer twice: that would be a loop. */
    for (size_t i = 0; i < p->len; i++)
        for (size_t j = i + 1; j < p->len; j++)
            if (memcmp(p->ids + i * MESH_ID_LEN, p->ids + j * MESH_ID_LEN, MESH_ID_LEN) == 0)
                return pkc_error(PKC_ERR_MALFORMED, "offset %zu: path names peer %zu twice", at,
                                 i);
    return 0;
}

static int read_items(pkc_reader *r, mesh_msg *m, int with_round, size_t min)
{
    uint64_t n;
    size_t at = pkc_reader_offset(r);
    TRY(pkc_reader_varuint(r, &n));
    if (n < min || n > MESH_ITEMS_MAX)
        return pkc_error(PKC_ERR_RANGE, "offset %zu: %llu ids (%zu..%d)", at,
                         (unsigned long long)n, min, MESH_ITEMS_MAX);
    if (pkc_reader_left(r) < n * (with_round ? 3 : 2))
        return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu ids do not fit in %zu bytes", at,
                         (unsigned long long)n, pkc_reader_left(r));
    const uint8_t *start = r->p;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *id;
        size_t len;
        uint64_t round;
        TRY(read_msgid(r, &id, &len));
        if (with_round)
            TRY(pkc_reader_varuint_max(r, UINT16_MAX, &round));
    }
    m->u.items.count = (size_t)n;
    m->u.items.items = start;
    m->u.items.items_len = (size_t)(r->p - start);
    return 0;
}

static int read_ping(pkc_reader *r, mesh_msg *m)
{
    TRY(pkc_reader_varuint(r, &m->u.ping.nonce));
    TRY(pkc_reader_u8(r, &m->u.ping.has_coord));
    if (m->u.ping.has_coord > 1)
        return pkc_error(PKC_ERR_MALFORMED, "offset %zu: coordinate flag %u",
                         pkc_reader_offset(r) - 1, m->u.ping.has_coord);
    memset(&m->u.ping.coord, 0, sizeof m->u.ping.coord);
    m->u.ping.error = 0;
    if (m->u.ping.has_coord) {
        TRY(read_coord(r, &m->u.ping.coord.x));
        TRY(read_coord(r, &m->u.ping.coord.y));
        TRY(pkc_reader_varuint_max(r, MESH_COORD_MAX, &m->u.ping.coord.h));
        TRY(pkc_reader_varuint_max(r, 1000000, &m->u.ping.error));
    }
    return 0;
}

void mesh_push_record(pkc_buf *b, const mesh_record *rec)
{
    if (rec->id)
        pkc_buf_push(b, rec->id, MESH_ID_LEN);
    pkc_buf_push_u8(b, rec->flags);
    if (rec->flags & MESH_REC_COORD) {
        pkc_buf_push_varint(b, rec->x);
        pkc_buf_push_varint(b, rec->y);
        pkc_buf_push_varuint(b, rec->h);
    }
}

void mesh_push_path(pkc_buf *b, const mesh_path *p, const uint8_t *append)
{
    pkc_buf_push_u8(b, (uint8_t)(p->len + (append != NULL)));
    if (p->len)
        pkc_buf_push(b, p->ids, p->len * MESH_ID_LEN);
    if (append)
        pkc_buf_push(b, append, MESH_ID_LEN);
}

static void push_records(pkc_buf *b, size_t n, const mesh_record *rec)
{
    pkc_buf_push_varuint(b, n);
    for (size_t i = 0; i < n; i++)
        mesh_push_record(b, &rec[i]);
}

/* --- GOSSIP ------------------------------------------------------------ */

static int read_gossip(pkc_reader *r, mesh_msg *m)
{
    TRY(pkc_reader_u8(r, &m->u.gossip.flags));
    if (m->u.gossip.flags & ~(MESH_GOSSIP_FLOOD | MESH_GOSSIP_OFFTREE | MESH_GOSSIP_CATCHUP))
        return pkc_error(PKC_ERR_MALFORMED, "offset 1: unknown GOSSIP flags 0x%02x",
                         m->u.gossip.flags);
    TRY(pkc_reader_varuint_max(r, UINT16_MAX, &m->u.gossip.round));
    TRY(read_id(r, &m->u.gossip.origin));
    TRY(read_msgid(r, &m->u.gossip.id, &m->u.gossip.id_len));
    return pkc_reader_varbytes(r, &m->u.gossip.payload, &m->u.gossip.len);
}

static void write_gossip(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_u8(b, m->u.gossip.flags);
    pkc_buf_push_varuint(b, m->u.gossip.round);
    pkc_buf_push(b, m->u.gossip.origin, MESH_ID_LEN);
    pkc_buf_push_varbytes(b, m->u.gossip.id, m->u.gossip.id_len);
    pkc_buf_push_varbytes(b, m->u.gossip.payload, m->u.gossip.len);
}

/* --- IHAVE and GRAFT --------------------------------------------------- */

/* IHAVE and CATCHUP items carry a round (mesh_items_begin knows by the type). */
static void write_items(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_varuint(b, m->u.items.count);
    mesh_items_iter it;
    const uint8_t *id;
    size_t len;
    uint64_t round;
    mesh_items_begin(&it, m);
    while (mesh_items_next(&it, &id, &len, &round)) {
        pkc_buf_push_varbytes(b, id, len);
        if (it.with_round)
            pkc_buf_push_varuint(b, round);
    }
}

static int read_ihave(pkc_reader *r, mesh_msg *m)
{
    return read_items(r, m, 1, 1);
}

static void write_ihave(pkc_buf *b, const mesh_msg *m)
{
    write_items(b, m);
}

static int read_graft(pkc_reader *r, mesh_msg *m)
{
    return read_items(r, m, 0, 0);
}

static void write_graft(pkc_buf *b, const mesh_msg *m)
{
    write_items(b, m);
}

/* --- PRUNE: no body ---------------------------------------------------- */

static int read_prune(pkc_reader *r, mesh_msg *m)
{
    (void)r;
    (void)m;
    return 0;
}

static void write_prune(pkc_buf *b, const mesh_msg *m)
{
    (void)b;
    (void)m;
}

/* --- JOIN -------------------------------------------------------------- */

/* The record of the sender, without its id (the link says who it is). */
static int read_join(pkc_reader *r, mesh_msg *m)
{
    return read_record_body(r, &m->u.join.self);
}

static void write_join(pkc_buf *b, const mesh_msg *m)
{
    mesh_record rec = m->u.join.self;
    rec.id = NULL;
    mesh_push_record(b, &rec);
}

/* --- FORWARD_JOIN ------------------------------------------------------ */

static int read_fjoin(pkc_reader *r, mesh_msg *m)
{
    TRY(pkc_reader_u8(r, &m->u.fjoin.ttl));
    TRY(read_record(r, &m->u.fjoin.peer));
    return read_path(r, &m->u.fjoin.path, 1);
}

static void write_fjoin(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_u8(b, m->u.fjoin.ttl);
    mesh_push_record(b, &m->u.fjoin.peer);
    mesh_push_path(b, &m->u.fjoin.path, NULL);
}

/* --- NEIGHBORS --------------------------------------------------------- */

static int read_neighbors(pkc_reader *r, mesh_msg *m)
{
    return read_records(r, &m->u.neighbors.count, m->u.neighbors.rec, 0, MESH_RECORDS_MAX);
}

static void write_neighbors(pkc_buf *b, const mesh_msg *m)
{
    push_records(b, m->u.neighbors.count, m->u.neighbors.rec);
}

/* --- DISCONNECT -------------------------------------------------------- */

static int read_disconnect(pkc_reader *r, mesh_msg *m)
{
    return pkc_reader_u8(r, &m->u.disconnect.reason);
}

static void write_disconnect(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_u8(b, m->u.disconnect.reason);
}

/* --- SHUFFLE ----------------------------------------------------------- */

static int read_shuffle(pkc_reader *r, mesh_msg *m)
{
    TRY(pkc_reader_u8(r, &m->u.shuffle.ttl));
    TRY(read_path(r, &m->u.shuffle.path, 1));
    return read_records(r, &m->u.shuffle.count, m->u.shuffle.rec, 1, MESH_RECORDS_MAX);
}

static void write_shuffle(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_u8(b, m->u.shuffle.ttl);
    mesh_push_path(b, &m->u.shuffle.path, NULL);
    push_records(b, m->u.shuffle.count, m->u.shuffle.rec);
}

/* --- PING and PONG (read_ping above) ----------------------------------- */

static void write_ping(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_varuint(b, m->u.ping.nonce);
    pkc_buf_push_u8(b, m->u.ping.has_coord);
    if (m->u.ping.has_coord) {
        pkc_buf_push_varint(b, m->u.ping.coord.x);
        pkc_buf_push_varint(b, m->u.ping.coord.y);
        pkc_buf_push_varuint(b, m->u.ping.coord.h);
        pkc_buf_push_varuint(b, m->u.ping.error);
    }
}

/* --- ROUTE (its payload: MESH_ROUTE_KINDS, below) ---------------------- */

static int read_route(pkc_reader *r, mesh_msg *m)
{
    uint8_t flags;
    TRY(pkc_reader_u8(r, &m->u.route.kind));
    if (m->u.route.kind == 0)
        return pkc_error(PKC_ERR_MALFORMED, "offset 1: ROUTE kind 0");
    TRY(read_id(r, &m->u.route.target));
    TRY(pkc_reader_u8(r, &flags));
    if (flags > 1)
        return pkc_error(PKC_ERR_MALFORMED, "offset 22: unknown ROUTE flags 0x%02x", flags);
    if (flags)
        TRY(read_id(r, &m->u.route.waypoint));
    TRY(read_path(r, &m->u.route.path, 1));
    return pkc_reader_varbytes(r, &m->u.route.payload, &m->u.route.len);
}

static void write_route(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_u8(b, m->u.route.kind);
    pkc_buf_push(b, m->u.route.target, MESH_ID_LEN);
    pkc_buf_push_u8(b, m->u.route.waypoint != NULL);
    if (m->u.route.waypoint)
        pkc_buf_push(b, m->u.route.waypoint, MESH_ID_LEN);
    mesh_push_path(b, &m->u.route.path, NULL);
    pkc_buf_push_varbytes(b, m->u.route.payload, m->u.route.len);
}

/* --- RREQ -------------------------------------------------------------- */

static int read_rreq(pkc_reader *r, mesh_msg *m)
{
    TRY(pkc_reader_u8(r, &m->u.rreq.ttl));
    TRY(pkc_reader_varuint(r, &m->u.rreq.nonce));
    TRY(read_id(r, &m->u.rreq.target));
    return read_path(r, &m->u.rreq.path, 1);
}

static void write_rreq(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_u8(b, m->u.rreq.ttl);
    pkc_buf_push_varuint(b, m->u.rreq.nonce);
    pkc_buf_push(b, m->u.rreq.target, MESH_ID_LEN);
    mesh_push_path(b, &m->u.rreq.path, NULL);
}

/* --- TREE -------------------------------------------------------------- */

static int read_tree(pkc_reader *r, mesh_msg *m)
{
    TRY(read_id(r, &m->u.tree.root));
    TRY(pkc_reader_u32be(r, &m->u.tree.seq));
    TRY(pkc_reader_u8(r, &m->u.tree.dist));
    TRY(pkc_reader_u8(r, &m->u.tree.flags));
    if (m->u.tree.flags & ~(MESH_TREE_PARENT | MESH_TREE_RETRACT))
        return pkc_error(PKC_ERR_MALFORMED, "offset 26: unknown TREE flags 0x%02x",
                         m->u.tree.flags);
    if ((m->u.tree.flags & MESH_TREE_RETRACT) &&
        (m->u.tree.dist != 0 || (m->u.tree.flags & MESH_TREE_PARENT)))
        return pkc_error(PKC_ERR_MALFORMED, "offset 25: a TREE retraction with distance %u, "
                         "flags 0x%02x", m->u.tree.dist, m->u.tree.flags);
    return 0;
}

static void write_tree(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push(b, m->u.tree.root, MESH_ID_LEN);
    pkc_buf_push_u32be(b, m->u.tree.seq);
    pkc_buf_push_u8(b, m->u.tree.dist);
    pkc_buf_push_u8(b, m->u.tree.flags);
}

/* --- The table of message types ---------------------------------------- */

typedef struct mesh_codec {
    const char *name;
    int (*read)(pkc_reader *r, mesh_msg *m);
    void (*write)(pkc_buf *b, const mesh_msg *m);
} mesh_codec;

/* The rows' values are type bytes other than 0, and the enum puts
 * MESH_TYPE_END after the last row, which must have the largest. */
#define ROW(name, value, text, codec, handler, class)                                              \
    _Static_assert((value) > 0 && (value) < MESH_TYPE_END && MESH_TYPE_END <= 256,                 \
                   "mesh type " #name ": 1..255, and the last row has the largest");
MESH_TYPES(ROW)
#undef ROW

/* No two rows share a value: they would declare the same member twice. */
struct mesh_types_distinct {
#define ROW(name, value, text, codec, handler, class) char type_##value;
    MESH_TYPES(ROW)
#undef ROW
};

static const mesh_codec codecs[MESH_TYPE_END] = {
#define ROW(name, value, text, codec, handler, class) [name] = {text, read_##codec, write_##codec},
    MESH_TYPES(ROW)
#undef ROW
};

/* The codec of a type, or NULL for a type without a row. */
static const mesh_codec *codec_of(unsigned type)
{
    return type < MESH_TYPE_END && codecs[type].read ? &codecs[type] : NULL;
}

const char *mesh_type_name(unsigned type)
{
    const mesh_codec *c = codec_of(type);
    return c ? c->name : "?";
}

int mesh_msg_decode(mesh_msg *m, const uint8_t *data, size_t len)
{
    if (len > MESH_FRAME_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "mesh message of %zu bytes (limit %u)", len,
                         MESH_FRAME_MAX);
    pkc_reader r;
    pkc_reader_init(&r, data, len);
    memset(m, 0, sizeof *m);
    TRY(pkc_reader_u8(&r, &m->type));
    const mesh_codec *c = codec_of(m->type);
    if (!c)
        return pkc_error(PKC_ERR_MALFORMED, "offset 0: unknown mesh message type %u", m->type);
    TRY(c->read(&r, m));
    return pkc_reader_finish(&r);
}

int mesh_msg_encode(pkc_buf *b, const mesh_msg *m)
{
    pkc_buf_push_u8(b, m->type);
    const mesh_codec *c = codec_of(m->type);
    if (!c)
        return b->err = pkc_error(PKC_ERR_INVALID_ARG, "mesh: cannot encode type %u", m->type);
    c->write(b, m);
    return b->err;
}

void mesh_items_begin(mesh_items_iter *it, const mesh_msg *m)
{
    pkc_reader_init(&it->r, m->u.items.items, m->u.items.items_len);
    it->with_round = m->type == MESH_IHAVE || m->type == MESH_CATCHUP;
}

int mesh_items_next(mesh_items_iter *it, const uint8_t **id, size_t *id_len, uint64_t *round)
{
    if (pkc_reader_left(&it->r) == 0)
        return 0;
    /* Already validated by the decoder: these cannot fail. */
    if (pkc_reader_varbytes(&it->r, id, id_len))
        return 0;
    *round = 0;
    if (it->with_round && pkc_reader_varuint(&it->r, round))
        return 0;
    return 1;
}

/* --- ROUTE payloads: DIRECT ------------------------------------------- */

/* The application's bytes, all of the payload. */
static int read_rk_direct(pkc_reader *r, mesh_route_body *rb)
{
    rb->u.direct.data = r->p;
    rb->u.direct.len = pkc_reader_left(r);
    r->p = r->end;
    return 0;
}

static void write_rk_direct(pkc_buf *b, const mesh_route_body *rb)
{
    pkc_buf_push(b, rb->u.direct.data, rb->u.direct.len);
}

/* --- SIGNAL ------------------------------------------------------------ */

static int read_rk_signal(pkc_reader *r, mesh_route_body *rb)
{
    TRY(pkc_reader_u8(r, &rb->u.signal.op));
    TRY(pkc_reader_varuint(r, &rb->u.signal.nonce));
    TRY(pkc_reader_varuint_max(r, MESH_TIME_MAX, &rb->u.signal.time_ms));
    TRY(pkc_reader_bytes(r, MESH_PK_LEN, &rb->u.signal.public_key));
    switch (rb->u.signal.op) {
    case MESH_SIG_REQUEST:
        TRY(pkc_reader_u8(r, &rb->u.signal.prio));
        if (rb->u.signal.prio > 2)
            return pkc_error(PKC_ERR_MALFORMED, "offset %zu: priority %u",
                             pkc_reader_offset(r) - 1, rb->u.signal.prio);
        TRY(read_record(r, &rb->u.signal.rec));
        break;
    case MESH_SIG_ACCEPT:
    case MESH_SIG_CANCEL:
        break;
    case MESH_SIG_REFUSE: {
        TRY(pkc_reader_u8(r, &rb->u.signal.reason));
        TRY(read_records(r, &rb->u.signal.count, rb->u.signal.rec_px, 0, MESH_PX_MAX));
        break;
    }
    case MESH_SIG_DATA:
        TRY(pkc_reader_varbytes(r, &rb->u.signal.data, &rb->u.signal.len));
        break;
    default:
        return pkc_error(PKC_ERR_MALFORMED, "offset 0: unknown signal operation %u",
                         rb->u.signal.op);
    }
    rb->u.signal.signed_len = pkc_reader_offset(r);
    return pkc_reader_bytes(r, MESH_SIG_LEN, &rb->u.signal.sig);
}

static void write_rk_signal(pkc_buf *b, const mesh_route_body *rb)
{
    pkc_buf_push_u8(b, rb->u.signal.op);
    pkc_buf_push_varuint(b, rb->u.signal.nonce);
    pkc_buf_push_varuint(b, rb->u.signal.time_ms);
    pkc_buf_push(b, rb->u.signal.public_key, MESH_PK_LEN);
    if (rb->u.signal.op == MESH_SIG_REQUEST) {
        pkc_buf_push_u8(b, rb->u.signal.prio);
        mesh_push_record(b, &rb->u.signal.rec);
    } else if (rb->u.signal.op == MESH_SIG_REFUSE) {
        pkc_buf_push_u8(b, rb->u.signal.reason);
        push_records(b, rb->u.signal.count, rb->u.signal.rec_px);
    } else if (rb->u.signal.op == MESH_SIG_DATA) {
        pkc_buf_push_varbytes(b, rb->u.signal.data, rb->u.signal.len);
    }
    if (rb->u.signal.sig)
        pkc_buf_push(b, rb->u.signal.sig, MESH_SIG_LEN);
}

/* --- SHUFFLE_REPLY ----------------------------------------------------- */

static int read_rk_shuffle_reply(pkc_reader *r, mesh_route_body *rb)
{
    return read_records(r, &rb->u.shuffle_reply.count, rb->u.shuffle_reply.rec, 0,
                        MESH_RECORDS_MAX);
}

static void write_rk_shuffle_reply(pkc_buf *b, const mesh_route_body *rb)
{
    push_records(b, rb->u.shuffle_reply.count, rb->u.shuffle_reply.rec);
}

/* --- RREP -------------------------------------------------------------- */

static int read_rk_rrep(pkc_reader *r, mesh_route_body *rb)
{
    return pkc_reader_varuint(r, &rb->u.rrep.nonce);
}

static void write_rk_rrep(pkc_buf *b, const mesh_route_body *rb)
{
    pkc_buf_push_varuint(b, rb->u.rrep.nonce);
}

/* --- ERROR ------------------------------------------------------------- */

static int read_rk_error(pkc_reader *r, mesh_route_body *rb)
{
    TRY(pkc_reader_u8(r, &rb->u.error.code));
    return read_id(r, &rb->u.error.target);
}

static void write_rk_error(pkc_buf *b, const mesh_route_body *rb)
{
    pkc_buf_push_u8(b, rb->u.error.code);
    pkc_buf_push(b, rb->u.error.target, MESH_ID_LEN);
}

/* --- The table of ROUTE kinds ------------------------------------------ */

typedef struct mesh_rk_codec {
    int (*read)(pkc_reader *r, mesh_route_body *rb);
    void (*write)(pkc_buf *b, const mesh_route_body *rb);
} mesh_rk_codec;

#define ROW(name, value, stem)                                                                     \
    _Static_assert((value) > 0 && (value) < MESH_RK_END && MESH_RK_END <= 256,                     \
                   "ROUTE kind " #name ": 1..255, and the last row has the largest");
MESH_ROUTE_KINDS(ROW)
#undef ROW

struct mesh_route_kinds_distinct {
#define ROW(name, value, stem) char kind_##value;
    MESH_ROUTE_KINDS(ROW)
#undef ROW
};

static const mesh_rk_codec rk_codecs[MESH_RK_END] = {
#define ROW(name, value, stem) [name] = {read_rk_##stem, write_rk_##stem},
    MESH_ROUTE_KINDS(ROW)
#undef ROW
};

static const mesh_rk_codec *rk_codec_of(unsigned kind)
{
    return kind < MESH_RK_END && rk_codecs[kind].read ? &rk_codecs[kind] : NULL;
}

int mesh_route_body_decode(mesh_route_body *rb, uint8_t kind, const uint8_t *data, size_t len)
{
    pkc_reader r;
    pkc_reader_init(&r, data, len);
    memset(rb, 0, sizeof *rb);
    rb->kind = kind;
    const mesh_rk_codec *c = rk_codec_of(kind);
    if (!c)
        return pkc_error(PKC_ERR_MALFORMED, "unknown ROUTE kind %u", kind);
    TRY(c->read(&r, rb));
    return pkc_reader_finish(&r);
}

int mesh_route_body_encode(pkc_buf *b, const mesh_route_body *rb)
{
    const mesh_rk_codec *c = rk_codec_of(rb->kind);
    if (!c)
        return b->err = pkc_error(PKC_ERR_INVALID_ARG, "mesh: cannot encode ROUTE kind %u",
                                  rb->kind);
    c->write(b, rb);
    return b->err;
}

void mesh_signal_signed_data(pkc_buf *b, const uint8_t *origin, const uint8_t *target,
                             const uint8_t *payload, size_t signed_len)
{
    pkc_buf_push(b, origin, MESH_ID_LEN);
    pkc_buf_push(b, target, MESH_ID_LEN);
    pkc_buf_push_u8(b, MESH_RK_SIGNAL);
    pkc_buf_push(b, payload, signed_len);
}
