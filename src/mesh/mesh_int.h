/*
 * mesh_int.h: the engine's internal state, shared by its files:
 *   mesh.c       lifecycle, public entry points, dispatch, timers, statistics
 *   membership.c HyParView views, join, shuffle, connection decisions,
 *                liveness, topology optimisation, network coordinates
 *   broadcast.c  message cache, Plumtree and flooding, anti-entropy
 *   route.c      routes, discovery, routed messages (direct, signaling)
 *   score.c      peer scoring
 *   table.c      keyed hash, hash map, timer heap
 */
#ifndef PKC_MESH_INT_H
#define PKC_MESH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "util/buf.h"
#include "util/hashtab.h"
#include "mesh/wire.h"

#define MESH_MAX_SLOTS 32   /* max_peers limit: the width of the per-message bitmasks */
#define MESH_NONE UINT32_MAX
#define MESH_MAX_KNOWN 512  /* peer records kept */
#define MESH_ROUTES 1024    /* route table entries */
#define MESH_MISSING_MAX 4096
#define MESH_MISSING_PER_PEER 256
#define MESH_ANNOUNCERS 4
/* How long an unanswered GRAFT may still be answered before it counts as a
 * broken promise (P3): pkc's SCTP retransmission timeout is at most 10 s. */
#define MESH_PROMISE_US (10 * 1000000ull)
/* A message we have held this long, or got as a catch-up, is a catch-up:
 * announced with CATCHUP (asked for at once) and answered marked
 * MESH_GOSSIP_CATCHUP (forwarded lazily only). Repairs of fresh messages
 * take graft_timeout plus a retry or two: well under it. */
#define MESH_CATCHUP_US (5 * 1000000ull)
/* Announcement kinds: the index of pkc_mesh's ihave buffers. */
enum { MESH_ANN_IHAVE = 0, MESH_ANN_CATCHUP = 1, MESH_ANN_KINDS = 2 };
#define MESH_DISCOVERIES 16
#define MESH_DISC_QUEUE 16
#define MESH_RREQ_SEEN 1024  /* route requests remembered (duplicates) */
#define MESH_RREQ_RATE 2.0   /* route requests a neighbour may send per second */
#define MESH_RREQ_BURST 16.0 /* (MESH_DISCOVERIES started at once fit) */
#define MESH_SIG_SEEN 1024   /* signatures of accepted signals, remembered */
#define MESH_TREE_DEPTH 16 /* longest accepted distance to the tree's root */
#define MESH_OUT_RESERVED 2 /* slots kept for connections we chose (max_peers >= 4) */
#define MESH_IN_PER_PREFIX 2 /* inbound neighbours per address prefix (/24, /64) */
#define MESH_IN_PRESSURE_MS 60000 /* outbound links lost are restored this long after */
#define MESH_PROTECT_OLDEST 2 /* longest-connected inbound neighbours never evicted */
#define MESH_PROTECT_USEFUL 2 /* inbound neighbours with the most first deliveries: kept */
#define MESH_GRAFT_BURST (512.0 * 1024) /* payload bytes served to one neighbour's GRAFTs */
#define MESH_GRAFT_RATE (128.0 * 1024)  /* ... refilled per second */
#define MESH_PARENT_MISSES 6 /* first copies in a row not from the parent: it is replaced */
#define MESH_PARENT_GRACE_MS 1000 /* ... counted only from this long after we took it */
#define MESH_PARENT_BAN_MS 30000 /* ... for this long, doubling with each strike */
#define MESH_PROBE_IDLE_MS 250  /* a parent silent this long while others deliver: PING it */
#define MESH_PROBE_SLACK_MS 250 /* ... it must answer within 2 RTT + this */
#define MESH_TREE_SEQ_MS 1000   /* a root's sequence number may advance one per this ... */
#define MESH_TREE_SEQ_SLACK 4   /* ... and this many more (a bound on forged numbers) */
#define MESH_TREE_SEQS 4        /* roots whose sequence number a peer remembers */
#define MESH_TREE_RETRACT_ANY_MS 30000 /* a retraction from any neighbour: one per this */
#define MESH_TREE_SEQ_KEEP_MS 60000 /* a retraction is forgotten this long after */

/* ---- keyed hash, map, heap (table.c) ------------------------------------ */

typedef struct mesh_sip {
    uint64_t k0, k1;
} mesh_sip;
uint64_t mesh_siphash(const mesh_sip *key, const void *data, size_t len);

/* A map from a 64-bit hash to a 32-bit index (util/hashtab.h; a slot holds
 * the index + 1 and the hash). The caller compares keys through `eq` (hashes
 * of attacker-chosen ids may collide: the hash is keyed with a secret per
 * engine, so collisions cannot be planned). */
typedef struct mesh_map {
    pkc_hashtab t;
} mesh_map;
typedef int (*mesh_eq_fn)(const void *ctx, uint32_t idx);
/* The index of `h` that `eq` accepts, or MESH_NONE. */
uint32_t mesh_map_find(const mesh_map *m, uint64_t h, mesh_eq_fn eq, const void *ctx);
/* Adds idx under h. PKC_ERR_NOMEM (the message set; nothing changed). */
int mesh_map_put(mesh_map *m, uint64_t h, uint32_t idx);
/* Removes idx from under h, if it is there. */
void mesh_map_del(mesh_map *m, uint64_t h, uint32_t idx);
void mesh_map_free(mesh_map *m);
/* Indices held. */
static inline uint32_t mesh_map_count(const mesh_map *m)
{
    return m->t.n;
}

enum mesh_timer_kind {
    MESH_T_PEER = 1,    /* pending deadline or retry of a peer record */
    MESH_T_MISSING = 2, /* IHAVE'd message not received */
    MESH_T_AWAIT = 3,   /* a flood copy waiting for its tree copy */
    MESH_T_DISC = 4,    /* route discovery round */
    MESH_T_PROBE = 5,   /* a tree parent's answer to a PING is due */
    MESH_T_SEQ = 6,     /* our own tree number may advance again */
};
typedef struct mesh_timer {
    uint64_t at;
    uint32_t idx, gen;
    uint8_t kind;
} mesh_timer;
typedef struct mesh_heap {
    mesh_timer *t;
    size_t len, cap;
} mesh_heap;
int mesh_heap_push(mesh_heap *h, mesh_timer t);
void mesh_heap_pop(mesh_heap *h);

/* ---- peers ---------------------------------------------------------------- */

enum mesh_peer_state { PEER_KNOWN = 0, PEER_PENDING = 1, PEER_ACTIVE = 2 };
enum mesh_pending_stage {
    PEND_REQUESTED = 1,  /* REQUEST sent, waiting for ACCEPT */
    PEND_CONNECTING = 2, /* connect callback emitted, waiting for the transport */
};
enum mesh_reason { /* why a connection was sought */
    WHY_REPAIR = 0, WHY_JOIN = 1, WHY_RETRY = 2, WHY_OPTIMIZE = 3, WHY_REPLACE = 4,
    WHY_RESTORE = 5, /* in place of an outbound link the other side gave up */
};

typedef struct mesh_peer {
    uint8_t id[MESH_ID_LEN];
    uint64_t hkey;
    uint32_t gen;       /* bumped on every admission and timer change */
    uint8_t used;
    uint8_t state;
    uint8_t flags;      /* MESH_REC_DIALABLE */
    uint8_t in_passive;
    int8_t slot;        /* active slot, -1 */
    /* connection attempt */
    uint8_t stage, outbound, prio, why, dialing;
    uint64_t nonce;
    uint64_t deadline;  /* pending deadline or retry time; 0 = none */
    /* active link */
    uint8_t eager, random_link, to_replace, bye;
    uint64_t connected_at, last_rx, ping_at, ping_nonce;
    double rtt_ms;      /* EWMA; < 0 unknown */
    uint64_t addr_tag;   /* keyed hash of the whole address (P6) */
    uint64_t prefix_tag; /* keyed hash of its /24 (IPv4) or /64 (IPv6) */
    uint8_t has_tag;
    uint16_t missing_count;
    uint8_t nbr_count;  /* neighbours it advertised (NEIGHBORS): a claim, only ever
                           used to make it more evictable, never to protect it */
    uint8_t t_has, t_child, t_dist; /* its TREE: has one, we are its parent, distance */
    uint32_t t_seq;                  /* ... and its root's sequence number */
    uint8_t t_root[MESH_ID_LEN];
    uint8_t t_strikes;    /* times it was replaced as a parent that did not deliver */
    uint64_t t_bad_until; /* not our parent before then */
    uint64_t t_probe_at;  /* a parent's PONG is due then (0: no probe under way) */
    double graft_tokens;  /* payload bytes its GRAFTs may still get (MESH_GRAFT_*) */
    uint64_t graft_at;
    uint8_t via_ok;     /* `via` is a neighbour of it: route there first */
    uint8_t via[MESH_ID_LEN];
    double tok_msgs, tok_bytes;
    uint64_t tok_at;
    double rreq_tok;    /* its route requests: a token bucket of their own */
    uint64_t rreq_at;
    /* network coordinate as last advertised */
    uint8_t has_coord;
    double cx, cy, ch;
    /* score counters (gossipsub P2, P3, P4, P5, P7) */
    double first_deliveries, failures, invalid, behaviour, app_score;
    uint64_t banned_until;
    uint64_t seen_at;   /* last time we heard of or from it */
    /* reconnection */
    uint16_t fail_count;
    uint8_t failed_before;
    uint64_t no_route_until;
} mesh_peer;

/* ---- message cache -------------------------------------------------------- */

enum mesh_entry_flags {
    ENT_PAYLOAD = 0x01, /* payload held (can serve GRAFT) */
    ENT_AWAIT = 0x02,   /* first copy was a publisher's flood copy: forward on the tree copy */
    ENT_IGNORED = 0x04, /* validation said IGNORE: remembered, not forwarded */
    ENT_OFFTREE = 0x08, /* reached us off the tree: said so to the parent (MESH_GOSSIP_OFFTREE) */
    ENT_CATCHUP = 0x10, /* a catch-up: came as a MESH_GOSSIP_CATCHUP answer to our GRAFT */
};

typedef struct mesh_entry {
    uint8_t id[MESH_MSGID_MAX];
    uint8_t id_len;
    uint8_t flags;
    uint16_t hops;
    int8_t from_slot;   /* first sender, -1 = ourselves */
    uint8_t origin[MESH_ID_LEN];
    uint32_t known;     /* slots known to have it or told about it */
    uint32_t served;    /* slots whose GRAFT of it was answered: once each */
    uint64_t hkey;
    uint64_t seq;       /* insertion number; identifies the entry in timers */
    uint64_t at;        /* received */
    uint8_t *payload;
    size_t len;
    uint32_t await_from_peer; /* AWAIT: the flood sender (peer index) */
} mesh_entry;

typedef struct mesh_missing {
    uint8_t id[MESH_MSGID_MAX];
    uint8_t id_len;
    uint8_t used;
    uint8_t n_ann;
    uint8_t grafts;
    uint32_t ann_peer[MESH_ANNOUNCERS]; /* peer indices */
    uint32_t ann_gen[MESH_ANNOUNCERS];
    uint16_t ann_hops[MESH_ANNOUNCERS];
    uint32_t grafted_peer;   /* MESH_NONE until a GRAFT was sent */
    uint32_t grafted_gen;
    /* Announcers asked (GRAFT) that had not answered by graft_retry_ms: late
     * answers are common on a lossy link (its transport retransmits), so
     * they are penalised (P3) only if the message has not come at all
     * MESH_PROMISE_US after the last announcer was asked ("waited"). */
    uint8_t n_owed, waited;
    uint32_t owed_peer[MESH_ANNOUNCERS];
    uint32_t owed_gen[MESH_ANNOUNCERS];
    uint32_t gen;
    uint64_t hkey;
    uint64_t created;
} mesh_missing;

/* ---- routes --------------------------------------------------------------- */

typedef struct mesh_route {
    uint8_t id[MESH_ID_LEN];
    uint8_t used;
    uint8_t hops;
    uint32_t via, via_gen;  /* next hop: peer index and its admission generation */
    uint64_t expires;
    uint64_t hkey;
} mesh_route;

typedef struct mesh_queued {
    uint8_t kind;
    uint8_t path_len;  /* hops before us (a forwarder's local repair), else 0 */
    uint8_t *path;     /* path_len ids, then the body (one allocation) */
    size_t len;        /* body bytes */
} mesh_queued;

typedef struct mesh_disc {
    uint8_t target[MESH_ID_LEN];
    uint8_t used, stage;
    uint64_t nonce;
    uint32_t gen;
    size_t nq;
    mesh_queued q[MESH_DISC_QUEUE];
} mesh_disc;

/* ---- the engine ----------------------------------------------------------- */

struct pkc_mesh {
    pkc_mesh_config cfg;
    pkc_mesh_callbacks cb;
    void *ud;
    uint8_t self[MESH_ID_LEN];
    const pkc_identity *identity; /* signs our signals; borrowed */
    const pkc_clock *clock;
    const pkc_rng *rng;
    mesh_sip sip;
    int busy;
    uint64_t now;

    /* peers */
    mesh_peer *peers;  /* MESH_MAX_KNOWN records */
    mesh_map peer_map;
    uint32_t n_peers;
    uint32_t slots[MESH_MAX_SLOTS]; /* active slot -> peer index, MESH_NONE */
    unsigned n_active, n_pending;
    uint32_t *passive;
    unsigned n_passive;
    int nbrs_dirty;
    int need_maintain;
    int stopped; /* pkc_mesh_leave() was called */
    unsigned owed; /* links to replace even above target_peers */
    unsigned out_owed; /* outbound links lost to the other side, to restore as outbound */
    uint64_t in_pressure_until; /* an inbound connection found no free slot until then */
    uint64_t next_swap; /* no optimisation swap for a REQUEST before */

    /* broadcast tree (tree.c) */
    uint8_t root[MESH_ID_LEN];
    uint8_t dist;
    uint32_t parent; /* peer index, MESH_NONE at the root */
    unsigned parent_misses; /* first copies in a row that did not come from the parent */
    uint64_t parent_at;     /* when we took the parent */
    uint8_t parent_told;    /* our TREE went to it again at the third miss */
    uint32_t tseq;    /* the root's sequence number, ours when we are the root */
    uint32_t seq_own; /* our own, while we follow another root */
    uint64_t retract_up_at; /* when we last passed a retraction up to our parent */
    uint64_t seq_at;        /* when our own number last advanced */
    uint64_t seq_due;       /* a retraction of us waits for MESH_TREE_SEQ_MS: then (0: none) */
    uint32_t seq_pending;   /* ... the number it moves past */
    uint64_t retract_any_at; /* when we last took a retraction from a neighbour not our parent */
    struct mesh_tree_seq {
        uint8_t root[MESH_ID_LEN];
        uint32_t seq;    /* the newest number we know for it ... */
        uint8_t dead;    /* ... which retracted it */
        uint8_t used;
        uint64_t at;      /* when seq last advanced */
        uint64_t used_at; /* when we last took it or it was retracted */
    } seqs[MESH_TREE_SEQS];
    uint8_t bad_root[MESH_ID_LEN]; /* a root that did not deliver, set aside until: */
    uint64_t bad_root_until;
    int tree_dirty;
    uint32_t peer_gen;

    /* our network coordinate (Vivaldi) */
    double cx, cy, ch, cerr;

    /* cache: a ring in arrival order */
    mesh_entry *ring;
    size_t ring_cap, ring_head, ring_len; /* oldest at head */
    mesh_map msg_map;
    size_t cache_bytes;
    uint64_t seq;

    mesh_missing *missing;
    size_t missing_cap, n_missing;
    mesh_map missing_map;

    /* lazy announcements waiting for the flush, per kind (MESH_ANN_IHAVE,
     * MESH_ANN_CATCHUP) and slot */
    pkc_buf ihave[MESH_ANN_KINDS][MESH_MAX_SLOTS];
    unsigned ihave_n[MESH_ANN_KINDS][MESH_MAX_SLOTS];
    uint32_t digest_slots; /* slots owed a full digest */

    /* routes */
    mesh_route *routes;
    mesh_map route_map;
    size_t route_next;
    mesh_disc disc[MESH_DISCOVERIES];
    /* route requests seen (first peer, nonce) in the last route_timeout_ms,
     * in arrival order: a ring that never overwrites a live entry */
    struct mesh_rreq_seen {
        uint64_t h, until;
    } rreq_seen[MESH_RREQ_SEEN];
    size_t rreq_seen_next;
    double rreq_tok; /* our own route requests: within what neighbours accept */
    uint64_t rreq_at;
    /* signals accepted in the last 2 * MESH_SIG_SKEW_MS, by arrival: a
     * replay within the timestamp window is dropped */
    struct mesh_sig_seen {
        uint64_t h, until;
    } sig_seen[MESH_SIG_SEEN];
    size_t sig_seen_next;

    /* timers */
    mesh_heap heap;
    uint64_t next_heartbeat, next_gossip, next_shuffle, next_optimize, next_flush;

    /* scratch */
    pkc_buf out, body;

    /* statistics */
    pkc_mesh_stats st;
    uint64_t rate_at, rate_msgs, rate_bytes;
};

/* ---- mesh.c ----------------------------------------------------------------- */
uint64_t mesh_rand_below(pkc_mesh *m, uint64_t n);
/* Sends the message in m->out (already encoded) to an active peer. */
void mesh_send_out(pkc_mesh *m, mesh_peer *p, int payload);
/* Encodes and sends `msg` to `p`. */
void mesh_send_msg(pkc_mesh *m, mesh_peer *p, const mesh_msg *msg);
void mesh_timer_add(pkc_mesh *m, uint8_t kind, uint32_t idx, uint32_t gen, uint64_t at);
void mesh_want_flush(pkc_mesh *m);
int mesh_violation(pkc_mesh *m, mesh_peer *p, double penalty, const char *fmt, ...)
    PKC_PRINTF(4, 5);

/* ---- membership.c ------------------------------------------------------------ */
mesh_peer *mesh_peer_find(pkc_mesh *m, const uint8_t *id);
mesh_peer *mesh_peer_get(pkc_mesh *m, const uint8_t *id); /* find or add; NULL if full */
static inline uint32_t mesh_peer_idx(const pkc_mesh *m, const mesh_peer *p)
{
    return (uint32_t)(p - m->peers);
}
mesh_peer *mesh_slot_peer(pkc_mesh *m, unsigned slot);
void mesh_learn_record(pkc_mesh *m, const mesh_record *rec, int to_passive);
void mesh_self_record(pkc_mesh *m, mesh_record *rec);
int mesh_admit(pkc_mesh *m, mesh_peer *p, int unsolicited);
/* What mesh_admit() would answer now for a connection from the peer whose
 * record is `rec` (NULL: none yet) at address addr/len: 0, or the error it
 * would return. Changes nothing but what mesh_admit() notes of a refusal
 * for want of room (inbound pressure). */
int mesh_admit_check(pkc_mesh *m, const mesh_peer *rec, const uint8_t *addr, size_t len);
/* Sets p's address tags from the address the runtime reported: 4 bytes are
 * an IPv4 address (prefix /24), 16 an IPv6 address (/64), anything else is
 * its own prefix. */
void mesh_set_addr(pkc_mesh *m, mesh_peer *p, const uint8_t *addr, size_t len);
/* Ends an active link. flags: */
#define DROP_FAILED 1u /* lost without DISCONNECT: retry with back-off */
#define DROP_BYE 2u    /* send DISCONNECT first */
#define DROP_QUIET 4u  /* the runtime told us: no disconnect callback */
void mesh_drop(pkc_mesh *m, mesh_peer *p, pkc_mesh_disconnect_reason why, unsigned flags);
void mesh_maintain(pkc_mesh *m);
void mesh_heartbeat(pkc_mesh *m);
/* Sends `p` a PING unless one is under way; returns when it was sent. */
uint64_t mesh_ping(pkc_mesh *m, mesh_peer *p);
void mesh_shuffle_start(pkc_mesh *m);
void mesh_optimize(pkc_mesh *m);
void mesh_peer_timer(pkc_mesh *m, mesh_peer *p);
void mesh_send_neighbors(pkc_mesh *m, mesh_peer *to);
unsigned mesh_known_count(pkc_mesh *m);
int mesh_on_join(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_forward_join(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_neighbors(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_disconnect(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_shuffle(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
void mesh_on_shuffle_reply(pkc_mesh *m, const uint8_t *from, const mesh_route_body *rb);
int mesh_on_ping(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_pong(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
void mesh_on_signal(pkc_mesh *m, const uint8_t *from, const mesh_route_body *rb);
void mesh_attempt_failed(pkc_mesh *m, mesh_peer *p, int no_route);
void mesh_route_failed_for(pkc_mesh *m, const uint8_t *target);
int mesh_remove_passive(pkc_mesh *m, mesh_peer *p);

/* ---- broadcast.c -------------------------------------------------------------- */
int mesh_cache_init(pkc_mesh *m);
void mesh_cache_free(pkc_mesh *m);
mesh_entry *mesh_cache_find(pkc_mesh *m, const uint8_t *id, size_t len);
int mesh_publish_local(pkc_mesh *m, const uint8_t *id, size_t id_len, const uint8_t *payload,
                       size_t len);
int mesh_on_gossip(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_ihave(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_graft(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_prune(pkc_mesh *m, mesh_peer *from);
void mesh_missing_timer(pkc_mesh *m, uint32_t idx, uint32_t gen);
void mesh_await_timer(pkc_mesh *m, uint32_t idx, uint32_t gen);
void mesh_flush(pkc_mesh *m);
void mesh_antientropy(pkc_mesh *m, uint32_t slots);
void mesh_cache_expire(pkc_mesh *m);
void mesh_slot_freed(pkc_mesh *m, unsigned slot, uint32_t peer_idx);

/* ---- route.c ------------------------------------------------------------------ */
int mesh_route_init(pkc_mesh *m);
void mesh_route_free(pkc_mesh *m);
void mesh_route_learn(pkc_mesh *m, const uint8_t *id, mesh_peer *via, unsigned hops);
int mesh_route_known(pkc_mesh *m, const uint8_t *id);
/* The peer record of a random destination with a live route at least
 * `min_hops` away (3: farther than a triangle), or NULL. */
mesh_peer *mesh_route_random_peer(pkc_mesh *m, unsigned min_hops);
/* Forgets the routes of `hops` through `via` (its neighbour list changed). */
void mesh_route_forget_via(pkc_mesh *m, const mesh_peer *via, unsigned hops);
/* Known route, or a waypoint hint with a known route. */
int mesh_route_reachable(pkc_mesh *m, const mesh_peer *p);
/* Sends a routed message of `kind` with body m->body to `target`. */
int mesh_route_send(pkc_mesh *m, const uint8_t *target, uint8_t kind, const uint8_t *body,
                    size_t len);
/* Paths end with the neighbour that sent them and never contain us; routes
 * back to every peer on a valid path are learned. */
int mesh_check_path(pkc_mesh *m, mesh_peer *from, const mesh_path *path, const char *what);
/* As mesh_route_send; without a known route, discover = 0 drops it
 * (PKC_ERR_MESH_NO_ROUTE). */
int mesh_route_send_ex(pkc_mesh *m, const uint8_t *target, uint8_t kind, const uint8_t *body,
                       size_t len, int discover);
/* Signs and sends a SIGNAL (rb->u.signal: op, nonce and the op's fields;
 * the rest is filled in here). Only a REQUEST may start a route discovery. */
int mesh_signal_send(pkc_mesh *m, const uint8_t *to, mesh_route_body *rb);
int mesh_on_route(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
int mesh_on_rreq(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
void mesh_disc_timer(pkc_mesh *m, uint32_t idx, uint32_t gen);
void mesh_route_expire(pkc_mesh *m);

/* ---- tree.c ------------------------------------------------------------------- */
int mesh_tree_link(const pkc_mesh *m, const mesh_peer *p);
/* Pushes payloads to it: tree links, grafted links, every link when flooding. */
int mesh_eager(const pkc_mesh *m, const mesh_peer *p);
void mesh_tree_hello(pkc_mesh *m, mesh_peer *p);
void mesh_tree_update(pkc_mesh *m);
void mesh_tree_lost(pkc_mesh *m, mesh_peer *p);
void mesh_tree_flush(pkc_mesh *m);
int mesh_on_tree(pkc_mesh *m, mesh_peer *from, const mesh_msg *msg);
/* A message arrived for the first time from `from` (flood: the publisher's
 * flood copy; offtree: the sender marked it MESH_GOSSIP_OFFTREE): judges
 * the parent by what it delivers. 1 if the message reached our subtree off
 * the tree (to be marked so to our parent). */
int mesh_tree_first_copy(pkc_mesh *m, const mesh_peer *from, int flood, int offtree);
/* Something we lack was announced: checks that the parent is alive. */
void mesh_tree_check_parent(pkc_mesh *m);
/* A parent probed for liveness did not answer in time. */
void mesh_tree_probe_timer(pkc_mesh *m, mesh_peer *p);
/* Our own number may advance again: past the retraction that waited. */
void mesh_tree_seq_timer(pkc_mesh *m);

/* ---- score.c ------------------------------------------------------------------ */
double mesh_score(pkc_mesh *m, const mesh_peer *p);
void mesh_score_decay(pkc_mesh *m);
int mesh_score_check(pkc_mesh *m, mesh_peer *p); /* disconnects below the threshold; 1 if it did */

#endif
