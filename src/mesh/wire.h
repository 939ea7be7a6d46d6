/*
 * wire.h: the mesh messages (docs/protocol.md, "Mesh"), decoded in place
 * (pointers borrow the input) and encoded with pkc_buf.
 *
 * Every decoder checks every count and length against its limit and against
 * the bytes left before using it, and rejects trailing bytes, so that an
 * accepted message re-encodes to an equivalent one (fuzz/mesh_wire.c).
 */
#ifndef PKC_MESH_WIRE_H
#define PKC_MESH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MESH_ID_LEN 20         /* peer id hash */
#define MESH_MSGID_MAX 32      /* message ids are 1..32 bytes */
#define MESH_PATH_MAX 16       /* peers in a path */
#define MESH_RECORDS_MAX 32    /* peer records in one message */
#define MESH_ITEMS_MAX 512     /* ids in one IHAVE or GRAFT */
#define MESH_FRAME_MAX (1u << 20)
#define MESH_COORD_MAX 10000000 /* |coordinate| in 0.1 ms units (1000 s) */
#define MESH_PX_MAX 8          /* peers suggested in a REFUSE */
#define MESH_PK_LEN 32         /* Ed25519 public key */
#define MESH_SIG_LEN 64        /* Ed25519 signature */
#define MESH_TIME_MAX ((UINT64_C(1) << 53) - 1) /* timestamps: Unix ms */
#define MESH_RREQ_TTL_MAX 3    /* the largest RREQ ttl an engine sends */
#define MESH_SIG_SKEW_MS 60000 /* a SIGNAL is accepted this far from the receiver's clock */
/* The label of the signature of a SIGNAL (docs/protocol.md, "Routed messages"). */
#define MESH_SIGNAL_LABEL "pkc-mesh-signal-v1"

/*
 * The message types, one row each (as quicly's frame table and proto's
 * PKC_FRAME_TYPES): everything that is particular to a type is named here.
 *
 *   X(NAME, value, "NAME", codec, handler, class)
 *
 *   NAME      the enum constant (the enum below is made from the rows)
 *   value     the type byte on the wire, 1..255; the last row has the
 *             largest (MESH_TYPE_END follows it)
 *   "NAME"    what logs print (mesh_type_name)
 *   codec     the stem of the two functions that read and write the body
 *             after the type byte (wire.c):
 *               int  read_<codec>(pkc_reader *r, mesh_msg *m)
 *                   reads the body into m->u's member, checking every count
 *                   and length against its limit (the type's size rules)
 *               void write_<codec>(pkc_buf *b, const mesh_msg *m)
 *                   writes it, the shortest way (sticky errors in b->err)
 *   handler   int handler(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg):
 *             a received one, after decoding, rate limit and score checks
 *             (the engine; mesh.c's dispatch table is made from this column)
 *   class     MESH_CLASS_PAYLOAD or MESH_CLASS_CONTROL: which counters of
 *             pkc_mesh_stats a sent one goes to
 *
 * A new type is a row here, a member of mesh_msg's union if it has fields,
 * those two codec functions and its handler: nothing else switches on the
 * type. A row whose functions are missing does not compile, nor do two
 * rows with one value or a value above the last row's (wire.c checks). A type
 * without a row is undecodable: an invalid message, scored as such.
 */
#define MESH_CLASS_CONTROL 0
#define MESH_CLASS_PAYLOAD 1

#define MESH_TYPES(X)                                                                              \
    X(MESH_GOSSIP, 1, "GOSSIP", gossip, mesh_on_gossip, MESH_CLASS_PAYLOAD)                        \
    X(MESH_IHAVE, 2, "IHAVE", ihave, mesh_on_ihave, MESH_CLASS_CONTROL)                            \
    X(MESH_GRAFT, 3, "GRAFT", graft, mesh_on_graft, MESH_CLASS_CONTROL)                            \
    X(MESH_PRUNE, 4, "PRUNE", prune, on_prune, MESH_CLASS_CONTROL)                                \
    X(MESH_JOIN, 5, "JOIN", join, mesh_on_join, MESH_CLASS_CONTROL)                                \
    X(MESH_FORWARD_JOIN, 6, "FORWARD_JOIN", fjoin, mesh_on_forward_join, MESH_CLASS_CONTROL)       \
    X(MESH_NEIGHBORS, 7, "NEIGHBORS", neighbors, mesh_on_neighbors, MESH_CLASS_CONTROL)            \
    X(MESH_DISCONNECT, 8, "DISCONNECT", disconnect, mesh_on_disconnect, MESH_CLASS_CONTROL)        \
    X(MESH_SHUFFLE, 9, "SHUFFLE", shuffle, mesh_on_shuffle, MESH_CLASS_CONTROL)                    \
    X(MESH_PING, 10, "PING", ping, mesh_on_ping, MESH_CLASS_CONTROL)                               \
    X(MESH_PONG, 11, "PONG", ping, mesh_on_pong, MESH_CLASS_CONTROL)                               \
    X(MESH_ROUTE, 12, "ROUTE", route, mesh_on_route, MESH_CLASS_CONTROL)                           \
    X(MESH_RREQ, 13, "RREQ", rreq, mesh_on_rreq, MESH_CLASS_CONTROL)                               \
    X(MESH_TREE, 14, "TREE", tree, mesh_on_tree, MESH_CLASS_CONTROL)                               \
    X(MESH_CATCHUP, 15, "CATCHUP", ihave, mesh_on_ihave, MESH_CLASS_CONTROL)

enum mesh_type {
#define MESH_TYPE_ENUM(name, value, text, codec, handler, class) name = value,
    MESH_TYPES(MESH_TYPE_ENUM)
#undef MESH_TYPE_ENUM
    MESH_TYPE_END /* one past the last row's value: tables are this long */
};

/* TREE flags */
#define MESH_TREE_PARENT 0x01u /* the receiver is the sender's parent */
#define MESH_TREE_RETRACT 0x02u /* not the sender's place: the root is gone as of seq */

/* GOSSIP flags */
#define MESH_GOSSIP_FLOOD 0x01u /* the publisher's copy to a neighbour off the tree */
#define MESH_GOSSIP_OFFTREE 0x02u /* to the parent: it entered the sender's subtree off the tree */
#define MESH_GOSSIP_CATCHUP 0x04u /* a GRAFT answer of a catch-up message (MESH_CATCHUP_US) */

/* Record flags */
#define MESH_REC_DIALABLE 0x01u
#define MESH_REC_COORD 0x02u /* x, y, h follow */
#define MESH_REC_NEIGHBOR 0x04u /* the sender is connected to this peer now */

/* A peer as others learn about it: id, flags and network coordinate
 * (Vivaldi, in units of 0.1 ms). */
typedef struct mesh_record {
    const uint8_t *id;
    uint8_t flags;
    int64_t x, y;
    uint64_t h;
} mesh_record;

typedef struct mesh_path {
    size_t len;          /* 0..MESH_PATH_MAX peers */
    const uint8_t *ids;  /* len * MESH_ID_LEN bytes */
} mesh_path;

/*
 * Kinds of ROUTE messages (the payload's meaning), one row each, in the same
 * manner as MESH_TYPES:
 *
 *   X(NAME, value, stem)
 *
 *   value     the kind byte, 1..255; the last row has the largest
 *   stem      the member of mesh_route_body's union, and the stem of
 *               int  read_rk_<stem>(pkc_reader *r, mesh_route_body *rb)
 *               void write_rk_<stem>(pkc_buf *b, const mesh_route_body *rb)
 *                                            (wire.c), and of its handler
 *               void on_<stem>(pkc_mesh *m, const uint8_t *origin,
 *                              const mesh_msg *msg, const mesh_route_body *rb)
 *             in route.c, which a routed message reaches at its target
 *
 * A kind without a row is forwarded like any other but undecodable at its
 * target (counted in errors there).
 */
#define MESH_ROUTE_KINDS(X)                                                                        \
    X(MESH_RK_DIRECT, 1, direct)                                                                   \
    X(MESH_RK_SIGNAL, 2, signal)                                                                   \
    X(MESH_RK_SHUFFLE_REPLY, 3, shuffle_reply)                                                     \
    X(MESH_RK_RREP, 4, rrep)                                                                       \
    X(MESH_RK_ERROR, 5, error)

enum mesh_route_kind {
#define MESH_RK_ENUM(name, value, stem) name = value,
    MESH_ROUTE_KINDS(MESH_RK_ENUM)
#undef MESH_RK_ENUM
    MESH_RK_END /* one past the last row's value */
};

/* Signal operations. */
enum mesh_sig_op {
    MESH_SIG_REQUEST = 1, /* may I connect? prio, requester record */
    MESH_SIG_ACCEPT = 2,
    MESH_SIG_REFUSE = 3,  /* reason, and peers that may have room */
    MESH_SIG_DATA = 4,    /* opaque transport signaling */
    MESH_SIG_CANCEL = 5,
};

typedef struct mesh_msg {
    uint8_t type;
    union {
        struct {
            uint8_t flags;
            uint64_t round;
            const uint8_t *origin;
            const uint8_t *id;
            size_t id_len;
            const uint8_t *payload;
            size_t len;
        } gossip;
        struct { /* IHAVE and CATCHUP: (id, round) items; GRAFT: id items */
            size_t count;
            const uint8_t *items; /* validated; walk with mesh_items_next */
            size_t items_len;
        } items;
        struct {
            mesh_record self;
        } join;
        struct {
            uint8_t ttl;
            mesh_record peer;
            mesh_path path;
        } fjoin;
        struct {
            size_t count;
            mesh_record rec[MESH_RECORDS_MAX];
        } neighbors;
        struct {
            uint8_t reason;
        } disconnect;
        struct {
            uint8_t ttl;
            mesh_path path;
            size_t count;
            mesh_record rec[MESH_RECORDS_MAX];
        } shuffle;
        struct { /* PING and PONG */
            uint64_t nonce;
            uint8_t has_coord;
            mesh_record coord; /* id unused (NULL) */
            uint64_t error;    /* coordinate error estimate, in 1/1000 */
        } ping;
        struct {
            uint8_t kind;
            const uint8_t *target;
            const uint8_t *waypoint; /* NULL, or a peer to head for first */
            mesh_path path;
            const uint8_t *payload;
            size_t len;
        } route;
        struct {
            uint8_t ttl;
            uint64_t nonce;
            const uint8_t *target;
            mesh_path path;
        } rreq;
        struct {
            const uint8_t *root;
            uint32_t seq; /* the root's sequence number */
            uint8_t dist;
            uint8_t flags;
        } tree;
    } u;
} mesh_msg;

/* The payload of a ROUTE message, by kind. */
typedef struct mesh_route_body {
    uint8_t kind;
    union {
        struct {
            const uint8_t *data;
            size_t len;
        } direct;
        struct {
            uint8_t op;
            uint64_t nonce;    /* identifies the connection attempt */
            uint64_t time_ms;  /* the origin's wall clock when it signed */
            const uint8_t *public_key; /* MESH_PK_LEN: the origin's identity */
            uint8_t prio;      /* REQUEST */
            mesh_record rec;   /* REQUEST: the requester */
            uint8_t reason;    /* REFUSE */
            size_t count;      /* REFUSE: suggestions */
            mesh_record rec_px[MESH_PX_MAX];
            const uint8_t *data; /* DATA */
            size_t len;
            /* The signature (MESH_SIG_LEN) over the origin, the target, the
             * kind and the `signed_len` bytes of the payload before it
             * (mesh_signal_signed_data). The encoder writes it if not NULL:
             * the signer encodes without it, signs, then appends it. */
            const uint8_t *sig;
            size_t signed_len;
        } signal;
        struct {
            size_t count;
            mesh_record rec[MESH_RECORDS_MAX];
        } shuffle_reply;
        struct {
            uint64_t nonce;
        } rrep;
        struct {
            uint8_t code;
            const uint8_t *target; /* the peer that could not be reached */
        } error;
    } u;
} mesh_route_body;

/* Decodes one message. Returns 0 or PKC_ERR_TRUNCATED / MALFORMED / RANGE /
 * TOO_LARGE with pkc_errmsg() saying where. */
int mesh_msg_decode(mesh_msg *m, const uint8_t *data, size_t len);
/* Appends the encoding of `m` to `b` (sticky errors: check b->err). */
int mesh_msg_encode(pkc_buf *b, const mesh_msg *m);

int mesh_route_body_decode(mesh_route_body *rb, uint8_t kind, const uint8_t *data, size_t len);
int mesh_route_body_encode(pkc_buf *b, const mesh_route_body *rb);

/* Appends what a SIGNAL's signature covers to `b`: origin id, target id,
 * the kind byte (MESH_RK_SIGNAL), then the payload up to the signature
 * (`payload`, `signed_len` bytes). */
void mesh_signal_signed_data(pkc_buf *b, const uint8_t *origin, const uint8_t *target,
                             const uint8_t *payload, size_t signed_len);

/* Iterates the validated items of an IHAVE (with_round) or GRAFT. */
typedef struct mesh_items_iter {
    pkc_reader r;
    int with_round;
} mesh_items_iter;
void mesh_items_begin(mesh_items_iter *it, const mesh_msg *m);
/* Returns 1 with the next item, 0 at the end. */
int mesh_items_next(mesh_items_iter *it, const uint8_t **id, size_t *id_len, uint64_t *round);

/* Encoders for pieces the engine assembles itself. */
void mesh_push_record(pkc_buf *b, const mesh_record *r);
void mesh_push_path(pkc_buf *b, const mesh_path *p, const uint8_t *append);

/* The row's name of a type ("GOSSIP"), or "?". */
const char *mesh_type_name(unsigned type);

#endif
