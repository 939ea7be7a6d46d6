/*
 * pkc.h: the one public header of pkc, serverless peer-to-peer communication.
 *
 * Conventions used by every function declared here:
 *
 *   - Names are pkc_<noun>_<verb>. Objects are opaque handles created by a
 *     pkc_<noun>_new() (or _generate/_load) and destroyed by pkc_<noun>_free(),
 *     which accepts NULL.
 *   - Functions that can fail return an int: 0 on success, a negative
 *     PKC_ERR_* code on failure. pkc_strerror() names the code; pkc_errmsg()
 *     returns a sentence about the most recent failure on the calling thread
 *     (what was wrong and where), so a caller can show a useful message.
 *     A function that fails leaves its outputs untouched unless it says
 *     otherwise.
 *   - Pointer parameters must not be NULL unless the comment says "may be NULL".
 *   - "copies" means the function keeps its own copy of the argument;
 *     "borrows" means the caller must keep it alive for the stated time.
 *   - Configuration structs have a pkc_<noun>_config_default() initialiser:
 *     always call it first so that fields added in later versions get sane
 *     values.
 *
 * Threading: unless a comment says otherwise, a handle may be used from one
 * thread at a time; distinct handles may be used concurrently. The logging
 * configuration is process-wide (see pkc_log_set_handler).
 *
 * Time and randomness: the protocol core never reads a clock or an entropy
 * source by itself. Everything that needs them takes a pkc_clock and a
 * pkc_rng; pkc_clock_system() and pkc_rng_system() are the real ones.
 */
#ifndef PKC_H
#define PKC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PKC_API __attribute__((visibility("default")))
#define PKC_NODISCARD __attribute__((warn_unused_result))
#define PKC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PKC_API
#define PKC_NODISCARD
#define PKC_PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define PKC_VERSION_MAJOR 0
#define PKC_VERSION_MINOR 1
#define PKC_VERSION_PATCH 0
#define PKC_VERSION "0.1.0"

/* The library's version string, e.g. "0.1.0". May differ from PKC_VERSION
 * when a program runs against a newer shared library. Never NULL. */
PKC_API const char *pkc_version(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * One error space for the whole library. Codes are negative and stable:
 * a code, once released, keeps its number and meaning. Ranges are reserved
 * per layer so that layers can add codes independently:
 *   -1 .. -49     general (input, memory, files, state)
 *   -50 .. -69    rtc (ICE, DTLS, SCTP, SDP)
 *   -70 .. -89    crdt
 *   -90 .. -109   crypto and proto (identity, handshake, frames)
 *   -110 .. -129  mesh
 *   -130 .. -149  discovery and store
 */
#define PKC_ERRNO_MAP(XX)                                                          \
    /* general */                                                                  \
    XX(INVALID_ARG, -1, "invalid argument")                                        \
    XX(NOMEM, -2, "out of memory")                                                 \
    XX(TRUNCATED, -3, "input ends before the data it announces")                   \
    XX(MALFORMED, -4, "malformed input")                                           \
    XX(TOO_LARGE, -5, "size limit exceeded")                                       \
    XX(RANGE, -6, "value out of range")                                            \
    XX(UNSUPPORTED, -7, "unsupported version or feature")                          \
    XX(IO, -8, "input/output error")                                               \
    XX(NOT_FOUND, -9, "not found")                                                 \
    XX(EXISTS, -10, "already exists")                                              \
    XX(STATE, -11, "operation not valid in the current state")                     \
    XX(PERMISSION, -12, "permission denied or unsafe permissions")                 \
    XX(AGAIN, -13, "resource temporarily unavailable, try again")                  \
    XX(TIMEOUT, -14, "timed out")                                                  \
    XX(CLOSED, -15, "closed")                                                      \
    XX(CHECKSUM, -16, "checksum mismatch")                                         \
    XX(INTERNAL, -17, "internal error")                                            \
    XX(MISMATCH, -18, "does not match what was expected")                          \
    /* rtc (-50 .. -69) */                                                         \
                                                                                   \
    /* crdt (-70 .. -89) */                                                        \
                                                                                   \
    /* crypto and proto (-90 .. -109) */                                           \
    XX(CRYPTO, -90, "cryptographic operation failed")                              \
    XX(BAD_SIGNATURE, -91, "signature verification failed")                        \
                                                                                   \
    /* mesh (-110 .. -129) */                                                      \
    XX(MESH_NOT_NEIGHBOR, -110, "peer is not a connected neighbour")               \
    XX(MESH_RATE_LIMITED, -111, "peer exceeded its rate limit")                    \
    XX(MESH_GRAYLISTED, -112, "peer's score is below the graylist threshold")      \
    XX(MESH_PROTOCOL, -113, "peer violated the mesh protocol")                     \
    XX(MESH_REJECTED, -114, "message rejected by validation")                      \
    XX(MESH_NO_ROUTE, -115, "no route to the peer")                                \
    XX(MESH_REFUSED, -116, "connection refused (no free slot or low score)")       \
    XX(MESH_BUSY, -117, "called from inside a mesh callback")                      \
                                                                                   \
    /* discovery and store (-130 .. -149) */                                       \
                                                                                   \
    /* end */

enum pkc_error {
    PKC_OK = 0,
#define PKC_ERR_ENUM_(name, value, text) PKC_ERR_##name = (value),
    PKC_ERRNO_MAP(PKC_ERR_ENUM_)
#undef PKC_ERR_ENUM_
};

/* A short, static description of an error code ("out of memory"). Unknown
 * codes give "unknown error". Never NULL. Thread-safe. */
PKC_API const char *pkc_strerror(int err);

/* The symbolic name of an error code ("PKC_ERR_NOMEM", "PKC_OK"), or
 * "PKC_ERR_UNKNOWN". Never NULL. Thread-safe. */
PKC_API const char *pkc_err_name(int err);

/* A sentence describing the most recent failure of a pkc function on the
 * calling thread, with details such as the offset or field that was wrong,
 * e.g. "varuint at offset 7: more than 10 bytes". If the failing function
 * recorded no detail, this is pkc_strerror() of its code. Valid until the
 * next pkc call on this thread; never NULL; "" if nothing failed yet. */
PKC_API const char *pkc_errmsg(void);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum pkc_log_level {
    PKC_LOG_ERROR = 0, /* something failed that the user must know about */
    PKC_LOG_WARN = 1,  /* unexpected but handled (bad input from a peer) */
    PKC_LOG_INFO = 2,  /* lifecycle: connections, joins, state changes */
    PKC_LOG_DEBUG = 3, /* protocol decisions */
    PKC_LOG_TRACE = 4  /* every packet */
} pkc_log_level;

/*
 * A log handler. `subsystem` is a short static string ("rtc", "mesh", ...),
 * `message` is one line without a trailing newline; both are valid only
 * during the call. The handler may be called from any thread that calls into
 * pkc, so it must be thread-safe; it must not call pkc functions other than
 * pkc_log_level_name().
 */
typedef void (*pkc_log_fn)(void *user_data, pkc_log_level level, const char *subsystem,
                           const char *message);

/* Messages above `level` are discarded before they are formatted. The
 * default is PKC_LOG_WARN, or the level named by the environment variable
 * PKC_LOG ("error", "warn", "info", "debug", "trace") at the first log call.
 * Thread-safe. */
PKC_API void pkc_log_set_level(pkc_log_level level);
PKC_API pkc_log_level pkc_log_get_level(void);

/* Route log messages to `fn` (NULL restores the default handler, which
 * writes "pkc[subsystem] level: message" lines to stderr). Call it before
 * other threads use pkc: the handler and user_data are not swapped
 * atomically with respect to concurrent logging. */
PKC_API void pkc_log_set_handler(pkc_log_fn fn, void *user_data);

/* "error", "warn", "info", "debug" or "trace"; "?" for other values. */
PKC_API const char *pkc_log_level_name(pkc_log_level level);

/* Parses a level name (case-insensitive) or digit 0-4.
 * Returns 0, or PKC_ERR_INVALID_ARG if `name` names no level. */
PKC_API int pkc_log_level_parse(const char *name, pkc_log_level *out);

/* ------------------------------------------------------------------------ */
/* Time and randomness                                                      */
/* ------------------------------------------------------------------------ */

/*
 * A clock. The protocol core takes one and never reads the system time
 * itself, so a simulator can drive it with virtual time.
 *   mono_us: monotonic microseconds since an arbitrary origin; never
 *            decreases. Used for timers, deadlines and RTTs.
 *   wall_ms: milliseconds since the Unix epoch (UTC), as JavaScript's
 *            Date.now(). Used only for timestamps that cross the wire.
 */
typedef struct pkc_clock {
    uint64_t (*mono_us)(void *user_data);
    int64_t (*wall_ms)(void *user_data);
    void *user_data;
} pkc_clock;

/* The operating system's clocks (CLOCK_MONOTONIC, CLOCK_REALTIME). Static
 * storage; thread-safe. */
PKC_API const pkc_clock *pkc_clock_system(void);

/*
 * A source of random bytes. `fill` must fill all `len` bytes and cannot fail
 * (an entropy source that cannot deliver must abort rather than return
 * predictable bytes).
 */
typedef struct pkc_rng {
    void (*fill)(void *user_data, void *buf, size_t len);
    void *user_data;
} pkc_rng;

/* The operating system's CSPRNG (getrandom(2)). Static storage;
 * thread-safe. */
PKC_API const pkc_rng *pkc_rng_system(void);

/* ------------------------------------------------------------------------ */
/* Identity                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * A peer's long-term identity: an Ed25519 key pair. Its peer id is a short,
 * typable, checksummed string derived from the public key (see
 * docs/protocol.md, "Peer id"), for example
 *   pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq
 */
typedef struct pkc_identity pkc_identity;

#define PKC_PUBLIC_KEY_BYTES 32
#define PKC_PEER_ID_HASH_BYTES 20
/* Length of a peer id string, without the terminating NUL. */
#define PKC_PEER_ID_LEN 42
/* Buffer size for a peer id string, with the terminating NUL. */
#define PKC_PEER_ID_SIZE (PKC_PEER_ID_LEN + 1)

/* Creates a new identity from 32 bytes of `rng`. *out is set on success and
 * must be released with pkc_identity_free(). Returns 0 or PKC_ERR_NOMEM. */
PKC_API PKC_NODISCARD int pkc_identity_generate(const pkc_rng *rng, pkc_identity **out);

/* Recreates an identity from its 32-byte secret seed (copies it). */
PKC_API PKC_NODISCARD int pkc_identity_from_seed(const uint8_t seed[32], pkc_identity **out);

/* Wipes the secret key and frees. Accepts NULL. */
PKC_API void pkc_identity_free(pkc_identity *id);

/* The 32-byte Ed25519 public key. Borrowed: valid until pkc_identity_free(). */
PKC_API const uint8_t *pkc_identity_public_key(const pkc_identity *id);

/* The peer id string (PKC_PEER_ID_LEN characters, NUL-terminated).
 * Borrowed: valid until pkc_identity_free(). */
PKC_API const char *pkc_identity_peer_id(const pkc_identity *id);

/* Writes the peer id of an Ed25519 public key into `out`
 * (PKC_PEER_ID_SIZE bytes). Cannot fail. */
PKC_API void pkc_peer_id_from_public_key(const uint8_t public_key[PKC_PUBLIC_KEY_BYTES],
                                         char out[PKC_PEER_ID_SIZE]);

/* Checks a peer id typed or received as text. Upper-case input is accepted
 * (the id is case-insensitive) but mixed case is not. On success writes the
 * 20-byte key hash to `hash_out` (may be NULL).
 * Returns 0, PKC_ERR_MALFORMED (wrong length, prefix or characters; see
 * pkc_errmsg()) or PKC_ERR_CHECKSUM (well-formed but mistyped). */
PKC_API PKC_NODISCARD int pkc_peer_id_parse(const char *text,
                                            uint8_t hash_out[PKC_PEER_ID_HASH_BYTES]);

/* Returns 0 when `peer_id` is the id of `public_key`, PKC_ERR_MISMATCH
 * when it is a valid id of another key, or an error of pkc_peer_id_parse(). */
PKC_API PKC_NODISCARD int pkc_peer_id_verify(const char *peer_id,
                                             const uint8_t public_key[PKC_PUBLIC_KEY_BYTES]);

/*
 * Identity files. The file format is in docs/protocol.md ("Identity file").
 *
 * pkc_identity_load(): reads `path`. Returns 0; PKC_ERR_NOT_FOUND if it does
 * not exist; PKC_ERR_PERMISSION if group or others can read it (as ssh, pkc
 * refuses a secret key others can read; fix with chmod 600); PKC_ERR_IO;
 * PKC_ERR_MALFORMED or PKC_ERR_CHECKSUM if the content is damaged.
 *
 * pkc_identity_save(): creates `path` with mode 0600, durably (written to a
 * temporary file, fsync'd, then linked into place). Never overwrites:
 * PKC_ERR_EXISTS if `path` exists. PKC_ERR_IO otherwise.
 *
 * pkc_identity_load_or_create(): the identity in data directory `dir`
 * (file "identity.key"), creating the directory (mode 0700, with parents)
 * and a new identity from `rng` if there is none. Safe against another
 * process doing the same at the same time: both end with the same identity.
 * *created (may be NULL) is set to 1 if this call created it, else 0.
 */
PKC_API PKC_NODISCARD int pkc_identity_load(const char *path, pkc_identity **out);
PKC_API PKC_NODISCARD int pkc_identity_save(const pkc_identity *id, const char *path);
PKC_API PKC_NODISCARD int pkc_identity_load_or_create(const char *dir, const pkc_rng *rng,
                                                      pkc_identity **out, int *created);

/* ======================================================================== */
/* rtc: WebRTC data channels                                                */
/* ======================================================================== */


/* ======================================================================== */
/* crdt: Yjs-compatible documents                                           */
/* ======================================================================== */


/* ======================================================================== */
/* proto: sessions and frames                                               */
/* ======================================================================== */


/* ======================================================================== */
/* mesh                                                                     */
/* ======================================================================== */

/*
 * The mesh engine: membership (HyParView-style active and passive views),
 * broadcast (Plumtree: an eager tree plus lazy announcements, or flooding),
 * routing to one peer over several hops, signaling relayed over the mesh,
 * peer scoring (gossipsub v1.1-style) and liveness. docs/mesh.md explains
 * the design, docs/protocol.md ("Mesh") the messages byte by byte.
 *
 * The engine does no I/O. The caller (the runtime, or the simulator) feeds
 * it what arrives from connected neighbours (pkc_mesh_receive), tells it when
 * transport connections come and go, and calls pkc_mesh_tick() at
 * pkc_mesh_next_deadline(). The engine answers through callbacks: bytes to
 * send to a neighbour, messages to deliver, and decisions: "connect to X"
 * (with signaling bytes to carry to X through the mesh), "disconnect X".
 * Peers are named by their 20-byte peer id hash (PKC_PEER_ID_HASH_BYTES).
 *
 * Mesh messages are not authenticated by the engine: the layer below (proto)
 * must deliver them only from the authenticated peer they claim to come from,
 * and broadcast payloads must be signed by their publisher and checked in
 * the validate callback.
 */
typedef struct pkc_mesh pkc_mesh;

/* How broadcast messages spread. */
typedef enum pkc_mesh_broadcast {
    PKC_MESH_PLUMTREE = 0, /* eager push along a spanning tree, IHAVE on other links */
    PKC_MESH_FLOOD = 1     /* every new message to every neighbour (reference) */
} pkc_mesh_broadcast;

/* Peer scoring, in the manner of gossipsub v1.1 (see docs/mesh.md). A
 * counter's contribution is weight * value (P1, P2, P5) or
 * weight * value^2 (P3, P4, P6, P7); weights of penalties are negative. */
typedef struct pkc_mesh_score_params {
    double time_weight;           /* P1, per quantum connected: 0.5 */
    uint32_t time_quantum_ms;     /* 10000 */
    double time_cap;              /* quanta counted at most: 10 */
    double first_delivery_weight; /* P2, per message first received from it: 0.2 */
    double first_delivery_cap;    /* 50 */
    double failure_weight;        /* P3, GRAFTs it left unanswered, squared: -1 */
    double invalid_weight;        /* P4, invalid or malformed messages, squared: -10 */
    double app_weight;            /* P5, times pkc_mesh_set_app_score(): 1 */
    double colocation_weight;     /* P6, squared surplus of neighbours sharing its
                                     address tag: -5 */
    unsigned colocation_threshold; /* neighbours per address tag before P6: 2 */
    double behaviour_weight;      /* P7, protocol violations and rate-limit
                                     excess, squared: -2 */
    double decay;                 /* P2, P3, P7 multiplied by this every gossip
                                     interval: 0.9 */
    double invalid_decay;         /* P4 likewise: 0.97 */
    double gossip_threshold;      /* below: no IHAVE to or from it: -10 */
    double accept_threshold;      /* below: its connection requests are refused: -10 */
    double disconnect_threshold;  /* below: disconnected, refused until it recovers: -40 */
    double graylist_threshold;    /* below: everything it sends is ignored: -80 */
    uint32_t retain_ms;           /* scores of gone peers are kept this long: 600000 */
} pkc_mesh_score_params;

/*
 * Configuration. Call pkc_mesh_config_default() first; the defaults are the
 * seed's (max_peers 8, heartbeat 10 s, gossip 5 s) and docs/mesh.md's.
 */
typedef struct pkc_mesh_config {
    /* Membership. */
    unsigned max_peers;          /* active + pending connections, at most (1..32): 8 */
    unsigned target_peers;       /* connections sought in a partial mesh: 6 */
    unsigned full_mesh_below;    /* while fewer peers (self included) are known,
                                    connect to all of them: 10 */
    unsigned passive_size;       /* passive view (known, unconnected peers): 32 */
    unsigned active_walk_length; /* HyParView ARWL: 6 */
    unsigned passive_walk_length; /* HyParView PRWL: 3 */
    unsigned shuffle_active;     /* active-view entries per shuffle: 3 */
    unsigned shuffle_passive;    /* passive-view entries per shuffle: 4 */
    uint32_t shuffle_interval_ms; /* 30000 */
    int dialable; /* nonzero if others can connect to this peer without
                     signaling (public address, one-step invitation): 0 */

    /* Liveness. */
    uint32_t heartbeat_interval_ms;   /* PING every neighbour: 10000 */
    uint32_t gossip_interval_ms;      /* anti-entropy, score decay, statistics: 5000 */
    uint32_t peer_timeout_ms;         /* silent this long = failed: 25000 */
    uint32_t connect_timeout_ms;      /* a connection attempt gives up after: 15000 */
    uint32_t reconnect_backoff_ms;    /* first retry after a failure: 1000, doubling */
    uint32_t reconnect_backoff_max_ms; /* 60000 */
    unsigned reconnect_attempts;      /* retries before a failed peer is dropped: 10 */

    /* Broadcast. */
    pkc_mesh_broadcast broadcast; /* PKC_MESH_PLUMTREE */
    uint32_t ihave_interval_ms;   /* IHAVE batching delay: 100 */
    uint32_t graft_timeout_ms;    /* IHAVE for a missing message -> GRAFT after: 1000 */
    uint32_t graft_retry_ms;      /* next announcer tried after: 500 */
    unsigned cache_messages;      /* message ids remembered, at most: 8192 */
    size_t cache_bytes;           /* payload bytes kept, at most: 16 MiB */
    uint32_t cache_ttl_ms;        /* payloads kept and offered to new neighbours: 120000 */
    size_t max_payload;           /* largest broadcast or direct payload: 65536 */

    /* Routing to one peer. */
    unsigned max_hops;            /* 2..16: 8 */
    uint32_t route_ttl_ms;        /* learned routes expire after: 120000 */
    uint32_t route_timeout_ms;    /* each route discovery round waits: 3000 */

    /* Topology optimisation: replace the slowest link by a closer peer
     * (network coordinates), keeping at least random_links random links. */
    uint32_t optimize_interval_ms; /* 0 = off: 60000 */
    unsigned random_links;         /* 2 */

    /* Per-neighbour token buckets on what it sends us; excess is dropped and
     * counted against its score (P7). */
    double rate_msgs;   /* messages per second: 1000 */
    double burst_msgs;  /* 4000 */
    double rate_bytes;  /* bytes per second: 8 MiB */
    double burst_bytes; /* 32 MiB */

    pkc_mesh_score_params score;
} pkc_mesh_config;

PKC_API void pkc_mesh_config_default(pkc_mesh_config *cfg);

/* The outcome of validating a broadcast message, as gossipsub's extended
 * validators: ACCEPT delivers and forwards it; REJECT drops it and counts
 * against the neighbour that sent it (P4); IGNORE drops it silently. */
typedef enum pkc_mesh_validation {
    PKC_MESH_ACCEPT = 0,
    PKC_MESH_REJECT = 1,
    PKC_MESH_IGNORE = 2
} pkc_mesh_validation;

/* How the runtime should connect to a peer the engine chose. */
typedef enum pkc_mesh_connect_mode {
    PKC_MESH_CONNECT_INITIATE = 0, /* make an offer; send it with pkc_mesh_signal() */
    PKC_MESH_CONNECT_RESPOND = 1,  /* expect an offer through on_signal */
    PKC_MESH_CONNECT_DIAL = 2      /* the peer is dialable: connect without signaling */
} pkc_mesh_connect_mode;

typedef enum pkc_mesh_disconnect_reason {
    PKC_MESH_BYE_LEAVING = 0,   /* pkc_mesh_leave() */
    PKC_MESH_BYE_REPLACED = 1,  /* a better or higher-priority peer took the slot */
    PKC_MESH_BYE_SCORE = 2,     /* its score fell below disconnect_threshold */
    PKC_MESH_BYE_TIMEOUT = 3,   /* silent for peer_timeout_ms */
    PKC_MESH_BYE_CANCELLED = 4, /* a connection attempt was given up or refused */
    PKC_MESH_BYE_REQUESTED = 5  /* it sent DISCONNECT */
} pkc_mesh_disconnect_reason;

/* A broadcast message, borrowed for the duration of a callback. */
typedef struct pkc_mesh_message {
    const uint8_t *origin; /* PKC_PEER_ID_HASH_BYTES, as claimed by the message */
    const uint8_t *id;
    size_t id_len;
    const uint8_t *payload;
    size_t len;
    unsigned hops; /* links travelled, 1 for a neighbour's own message */
} pkc_mesh_message;

/*
 * Callbacks, copied at pkc_mesh_new(). They run on the thread that called the
 * pkc_mesh function that triggered them; all pointers they receive are
 * borrowed for the call. They must not call pkc_mesh functions on the same
 * handle (those return PKC_ERR_MESH_BUSY): queue the work and do it after the
 * call returns. Every callback may be NULL except send.
 */
typedef struct pkc_mesh_callbacks {
    /* Send `data` to connected neighbour `peer`, reliably and in order. */
    void (*send)(void *user_data, const uint8_t *peer, const uint8_t *data, size_t len);
    /* A new broadcast message passed validation: give it to the application. */
    void (*deliver)(void *user_data, const pkc_mesh_message *msg);
    /* Decide about a new broadcast message (NULL: accept everything). Runs
     * once per message id, before deliver. */
    pkc_mesh_validation (*validate)(void *user_data, const pkc_mesh_message *msg);
    /* A message sent with pkc_mesh_send() reached this peer after `hops`. */
    void (*direct)(void *user_data, const uint8_t *from, const uint8_t *data, size_t len,
                   unsigned hops);
    /* Open a transport connection to `peer` (see pkc_mesh_connect_mode). Then
     * call pkc_mesh_peer_connected() or pkc_mesh_peer_connect_failed(). */
    void (*connect)(void *user_data, const uint8_t *peer, pkc_mesh_connect_mode mode);
    /* Signaling bytes (offer, answer, candidates) from `peer` for the
     * connection being set up with it. */
    void (*signal)(void *user_data, const uint8_t *peer, const uint8_t *data, size_t len);
    /* Close (or stop setting up) the connection to `peer`. Messages passed to
     * send before this call should still be delivered. */
    void (*disconnect)(void *user_data, const uint8_t *peer, pkc_mesh_disconnect_reason reason);
} pkc_mesh_callbacks;

/*
 * Creates an engine for the peer whose id hash is `self`. `cfg` may be NULL
 * (defaults); `cfg`, `cb` and `self` are copied; `clock` and `rng` are
 * borrowed until pkc_mesh_free(). Returns 0, PKC_ERR_INVALID_ARG (a config
 * field out of range, named in pkc_errmsg()) or PKC_ERR_NOMEM.
 */
PKC_API PKC_NODISCARD int pkc_mesh_new(const pkc_mesh_config *cfg, const pkc_mesh_callbacks *cb,
                                       void *user_data, const uint8_t *self,
                                       const pkc_clock *clock, const pkc_rng *rng,
                                       pkc_mesh **out);
/* Frees without sending anything (a crash, as others see it). Accepts NULL. */
PKC_API void pkc_mesh_free(pkc_mesh *mesh);

/* Peer flags, for pkc_mesh_add_peer(). */
#define PKC_MESH_PEER_DIALABLE 0x01u

/* Tells the engine about a peer it may connect to (a DNS seed, a LAN
 * announcement, an address book entry). Returns 0, PKC_ERR_INVALID_ARG (self),
 * PKC_ERR_MESH_BUSY. */
PKC_API int pkc_mesh_add_peer(pkc_mesh *mesh, const uint8_t *peer, unsigned flags);

/*
 * A transport connection to `peer` is up. If the engine asked for it
 * (connect callback) it becomes an active neighbour. Otherwise (an invitation,
 * an inbound dial) the engine admits it like a high-priority neighbour
 * request, replacing its lowest-scoring neighbour when full, or refuses it:
 * PKC_ERR_MESH_REFUSED (close the connection; nothing was sent to it).
 * `addr_tag` (may be NULL) identifies the peer's network address (for example
 * its IP address) for the co-location penalty; only equality matters.
 * Returns 0, PKC_ERR_MESH_REFUSED, PKC_ERR_EXISTS (already connected),
 * PKC_ERR_INVALID_ARG, PKC_ERR_MESH_BUSY.
 */
PKC_API int pkc_mesh_peer_connected(pkc_mesh *mesh, const uint8_t *peer, const uint8_t *addr_tag,
                                    size_t tag_len);
/* A connection the engine asked for could not be made (ICE failed). The peer
 * is retried later with back-off. Returns 0 or PKC_ERR_NOT_FOUND. */
PKC_API int pkc_mesh_peer_connect_failed(pkc_mesh *mesh, const uint8_t *peer);
/* The transport connection to `peer` closed. Unless the engine or the peer
 * chose to close it, this is a failure: the peer is retried with back-off.
 * Returns 0 or PKC_ERR_NOT_FOUND. */
PKC_API int pkc_mesh_peer_disconnected(pkc_mesh *mesh, const uint8_t *peer);

/*
 * Bytes that connected neighbour `from` sent. Bad input never changes
 * anything but the sender's score and the statistics. Returns 0, or:
 * PKC_ERR_MESH_NOT_NEIGHBOR (not connected), PKC_ERR_MESH_RATE_LIMITED,
 * PKC_ERR_MESH_GRAYLISTED (ignored), PKC_ERR_TRUNCATED / PKC_ERR_MALFORMED /
 * PKC_ERR_RANGE / PKC_ERR_TOO_LARGE (undecodable), PKC_ERR_MESH_PROTOCOL
 * (well-formed but not allowed: a loop, a forged path, a GRAFT storm, ...),
 * PKC_ERR_MESH_REJECTED (validation said REJECT), PKC_ERR_MESH_BUSY.
 * pkc_errmsg() says what was wrong.
 */
PKC_API int pkc_mesh_receive(pkc_mesh *mesh, const uint8_t *from, const uint8_t *data, size_t len);

/* Runs the timers that are due. Call it at pkc_mesh_next_deadline().
 * Returns 0 or PKC_ERR_MESH_BUSY. */
PKC_API int pkc_mesh_tick(pkc_mesh *mesh);
/* The monotonic time (pkc_clock mono_us) at which pkc_mesh_tick() must run
 * next; UINT64_MAX if never. */
PKC_API uint64_t pkc_mesh_next_deadline(pkc_mesh *mesh);

/*
 * Broadcasts `payload` (copied) under message id `id` (1..32 bytes, unique
 * per message, e.g. a hash of the signed message). It goes to every
 * neighbour directly and through the tree beyond. Returns 0, PKC_ERR_EXISTS
 * (id already seen), PKC_ERR_TOO_LARGE (over max_payload),
 * PKC_ERR_INVALID_ARG, PKC_ERR_MESH_BUSY.
 */
PKC_API int pkc_mesh_publish(pkc_mesh *mesh, const uint8_t *id, size_t id_len,
                             const uint8_t *payload, size_t len);
/*
 * Sends `data` (copied) to peer `to` through the mesh, over at most max_hops
 * links, finding a route first if needed (queued meanwhile). Delivery is best
 * effort. Returns 0, PKC_ERR_TOO_LARGE, PKC_ERR_AGAIN (too many messages
 * already wait for a route), PKC_ERR_MESH_NO_ROUTE (no neighbours at all),
 * PKC_ERR_INVALID_ARG (self), PKC_ERR_MESH_BUSY.
 */
PKC_API int pkc_mesh_send(pkc_mesh *mesh, const uint8_t *to, const uint8_t *data, size_t len);
/* Signaling bytes for the connection being set up with `to` (after the
 * connect callback), routed through the mesh. Returns as pkc_mesh_send(),
 * or PKC_ERR_NOT_FOUND if no connection with `to` is being set up. */
PKC_API int pkc_mesh_signal(pkc_mesh *mesh, const uint8_t *to, const uint8_t *data, size_t len);

/* Sets the application-specific score component (P5) of `peer`.
 * Returns 0, PKC_ERR_INVALID_ARG, PKC_ERR_NOMEM. */
PKC_API int pkc_mesh_set_app_score(pkc_mesh *mesh, const uint8_t *peer, double value);
/* The current score of `peer`. Returns 0 or PKC_ERR_NOT_FOUND. */
PKC_API int pkc_mesh_peer_score(pkc_mesh *mesh, const uint8_t *peer, double *score);

/* Leaves the mesh: DISCONNECT to every neighbour, then the disconnect
 * callback for each; pending attempts are cancelled. Afterwards the engine
 * seeks and admits no connections; free it. Returns 0 or PKC_ERR_MESH_BUSY. */
PKC_API int pkc_mesh_leave(pkc_mesh *mesh);

/* Metrics (the seed's section 10) and protocol counters. Counters count
 * since pkc_mesh_new(); rates cover the last gossip interval. */
typedef struct pkc_mesh_stats {
    unsigned connected_peers;     /* active neighbours now */
    unsigned pending_connections; /* being set up */
    unsigned passive_peers;
    unsigned known_peers;         /* estimate of the mesh size seen from here */
    uint64_t total_connections;   /* neighbours ever admitted */
    uint64_t reconnections;       /* neighbours admitted again after a failure */
    uint64_t failures;            /* neighbours lost without DISCONNECT */
    double messages_per_second;   /* sent + received */
    double bytes_per_second;      /* sent + received */
    double average_rtt_ms;        /* over neighbours with a measurement; -1 if none */
    uint64_t errors;              /* inputs rejected by pkc_mesh_receive */
    uint64_t msgs_sent, msgs_received, bytes_sent, bytes_received;
    uint64_t payload_msgs_sent, payload_bytes_sent;   /* GOSSIP messages */
    uint64_t control_msgs_sent, control_bytes_sent;   /* everything else */
    uint64_t published, delivered;
    uint64_t payload_received;    /* GOSSIP copies received, duplicates included */
    uint64_t duplicates;
    uint64_t ihave_ids_sent, grafts_sent, prunes_sent;
    uint64_t routed_sent, routed_forwarded, routed_received, route_failures;
    uint64_t rate_limited, invalid_messages, rejected_messages;
    uint64_t connect_attempts, signals_sent;
} pkc_mesh_stats;

PKC_API void pkc_mesh_get_stats(pkc_mesh *mesh, pkc_mesh_stats *out);

typedef struct pkc_mesh_peer_info {
    uint8_t id[PKC_PEER_ID_HASH_BYTES];
    double score;
    double rtt_ms;          /* -1 until measured */
    uint64_t connected_us;  /* mono_us when admitted */
    int eager;              /* on the broadcast tree (Plumtree eager link) */
    int outbound;           /* this side asked for the connection */
} pkc_mesh_peer_info;

/* Writes up to `max` active neighbours to `out`; returns how many there are
 * (may exceed `max`). `out` may be NULL when `max` is 0. */
PKC_API size_t pkc_mesh_get_peers(pkc_mesh *mesh, pkc_mesh_peer_info *out, size_t max);


/* ======================================================================== */
/* discovery and store                                                      */
/* ======================================================================== */


#ifdef __cplusplus
}
#endif

#endif /* PKC_H */
