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
    XX(YTYPE_KIND, -70, "shared type exists with a different kind")               \
    XX(YTYPE_DELETED, -71, "shared type was deleted")                              \
                                                                                   \
    /* crypto and proto (-90 .. -109) */                                           \
    XX(CRYPTO, -90, "cryptographic operation failed")                              \
    XX(BAD_SIGNATURE, -91, "signature verification failed")                        \
                                                                                   \
    /* mesh (-110 .. -129) */                                                      \
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

/*
 * Documents that are wire-compatible with Yjs (the `yjs` npm package): the
 * same update format (v1; v2 is decoded too), the same algorithm, the same
 * results. See docs/api.md ("CRDT") and docs/protocol.md ("Yjs updates").
 * All lengths and indices of text are in UTF-16 code units, as in
 * JavaScript. Nothing here does I/O or reads a clock by itself.
 *
 * Threading: a document and everything obtained from it (types,
 * transactions, events, undo managers) is used from one thread at a time.
 * Callbacks run on the thread that commits the transaction, inside
 * pkc_ytxn_commit() or pkc_ydoc_apply_update(); they may read the document
 * and may start and commit new transactions (which are processed after the
 * current one), but must not free the document.
 */

/* A value stored in or read from a document: what a JavaScript peer sees as
 * undefined, null, a boolean, a number, a BigInt, a string, a Uint8Array,
 * an array, a plain object, a shared type or a subdocument. */
typedef enum pkc_ykind {
    PKC_YV_UNDEFINED = 0,
    PKC_YV_NULL = 1,
    PKC_YV_BOOL = 2,
    PKC_YV_NUMBER = 3, /* a JavaScript number (double) */
    PKC_YV_BIGINT = 4,
    PKC_YV_STRING = 5, /* UTF-8 */
    PKC_YV_BINARY = 6,
    PKC_YV_ARRAY = 7,
    PKC_YV_OBJECT = 8,
    PKC_YV_TYPE = 9, /* output: a shared type; input: a new, empty shared type */
    PKC_YV_DOC = 10  /* a subdocument, named by its guid */
} pkc_ykind;

/* Kinds of shared types. The values are Yjs's type refs on the wire. */
typedef enum pkc_ytype_kind {
    PKC_YARRAY = 0,
    PKC_YMAP = 1,
    PKC_YTEXT = 2,
    PKC_YXML_ELEMENT = 3,
    PKC_YXML_FRAGMENT = 4,
    PKC_YXML_HOOK = 5,
    PKC_YXML_TEXT = 6,
    PKC_YUNDEFINED = 255 /* a root that no one has accessed with a kind yet */
} pkc_ytype_kind;

typedef struct pkc_ydoc pkc_ydoc;
typedef struct pkc_ytxn pkc_ytxn;
/* A shared type (Map, Array, Text, XML node) inside a document. Handles are
 * owned by the document and stay valid until pkc_ydoc_free(), also after
 * the type is deleted (operations then fail with PKC_ERR_YTYPE_DELETED). */
typedef struct pkc_ytype pkc_ytype;

typedef struct pkc_yvalue pkc_yvalue;
typedef struct pkc_yentry pkc_yentry;

struct pkc_yvalue {
    pkc_ykind kind;
    union {
        int boolean;
        double number;
        int64_t bigint;
        /* STRING (UTF-8, not NUL-terminated on input; pkc's outputs add a
         * NUL after len), BINARY, DOC (the guid). */
        struct {
            const char *ptr;
            size_t len;
        } str;
        struct {
            pkc_yvalue *items;
            size_t len;
        } array;
        /* Keys are unique; on input a later duplicate wins, as in
         * JavaScript. */
        struct {
            pkc_yentry *entries;
            size_t len;
        } object;
        /* Output: `handle`. Input: a new empty type of `kind`; `name` is the
         * node name of an XML element or hook (NUL-terminated). */
        struct {
            pkc_ytype *handle;
            pkc_ytype_kind kind;
            const char *name;
        } type;
    } u;
};

struct pkc_yentry {
    const char *key; /* UTF-8; pkc's outputs add a NUL after key_len */
    size_t key_len;
    pkc_yvalue value;
};

/* Frees a value returned by pkc (the tree and `v` itself). Accepts NULL. */
PKC_API void pkc_yvalue_free(pkc_yvalue *v);

/* ---- Documents ---------------------------------------------------------- */

typedef struct pkc_ydoc_config {
    /* This peer's client id; 0 (the default) draws a random 32-bit id from
     * `rng`, as Yjs does. Must be below 2^53. */
    uint64_t client_id;
    /* Garbage-collect deleted content (default 1, as Yjs's `gc: true`).
     * Snapshots of the past (pkc_ydoc_from_snapshot) need 0. */
    int gc;
    /* Randomness for client ids (including the new id taken when another
     * peer turns out to use ours). NULL: pkc_rng_system(). Copied. */
    const pkc_rng *rng;
} pkc_ydoc_config;

PKC_API void pkc_ydoc_config_default(pkc_ydoc_config *cfg);

/* Creates an empty document. `cfg` may be NULL (defaults).
 * Returns 0, PKC_ERR_NOMEM or PKC_ERR_INVALID_ARG (client id >= 2^53). */
PKC_API PKC_NODISCARD int pkc_ydoc_new(const pkc_ydoc_config *cfg, pkc_ydoc **out);
/* Frees the document with every type, event and transaction handle of it.
 * Undo managers of the document must be freed first. Accepts NULL. Not
 * from inside a callback of this document. */
PKC_API void pkc_ydoc_free(pkc_ydoc *doc);
/* The client id used for this peer's next changes. */
PKC_API uint64_t pkc_ydoc_client_id(const pkc_ydoc *doc);

/*
 * The root type called `name` (UTF-8, NUL-terminated), created on first
 * access. Roots are untyped on the wire; the first access with a kind
 * other than PKC_YUNDEFINED fixes it. Returns 0, PKC_ERR_YTYPE_KIND when
 * the root was already accessed with another kind, PKC_ERR_NOMEM.
 * The handle is borrowed from the document.
 */
PKC_API PKC_NODISCARD int pkc_ydoc_get(pkc_ydoc *doc, const char *name, pkc_ytype_kind kind,
                                       pkc_ytype **out);

/* ---- Transactions ------------------------------------------------------- */

/*
 * Every change happens in a transaction. Functions that change a document
 * take a `txn`; passing NULL runs that one change in a transaction of its
 * own (origin NULL). pkc_ydoc_transact() opens one (PKC_ERR_STATE if one is
 * open already); pkc_ytxn_commit() ends and frees it, then calls the
 * observers, merges and collects, and emits the update (see
 * pkc_ydoc_observe_update). `origin` is an opaque pointer passed to
 * observers and undo managers (Yjs's transaction origin); may be NULL.
 */
PKC_API PKC_NODISCARD int pkc_ydoc_transact(pkc_ydoc *doc, const void *origin, pkc_ytxn **out);
PKC_API int pkc_ytxn_commit(pkc_ytxn *txn);
PKC_API const void *pkc_ytxn_origin(const pkc_ytxn *txn);
/* 1 when the transaction's changes were made here, 0 when they came from
 * an update. */
PKC_API int pkc_ytxn_is_local(const pkc_ytxn *txn);

/* ---- Updates and state vectors ------------------------------------------ */

/*
 * Applies a Yjs update (v1; _v2 for the v2 format) as a remote change with
 * `origin` (may be NULL). Structs whose dependencies are missing are kept
 * and applied when those arrive (pkc_ydoc_pending). Returns 0 or
 * PKC_ERR_TRUNCATED / MALFORMED / RANGE / TOO_LARGE for bad input, which
 * changes nothing; PKC_ERR_NOMEM.
 */
PKC_API PKC_NODISCARD int pkc_ydoc_apply_update(pkc_ydoc *doc, const uint8_t *update, size_t len,
                                                const void *origin);
PKC_API PKC_NODISCARD int pkc_ydoc_apply_update_v2(pkc_ydoc *doc, const uint8_t *update,
                                                   size_t len, const void *origin);
/* The document as one v1 update (Y.encodeStateAsUpdate): everything the
 * peer with encoded state vector `sv` (may be NULL: nothing) lacks.
 * *out is malloc'd; free() it. PKC_ERR_MALFORMED/TRUNCATED for a bad sv. */
PKC_API PKC_NODISCARD int pkc_ydoc_encode_state(pkc_ydoc *doc, const uint8_t *sv, size_t sv_len,
                                                uint8_t **out, size_t *out_len);
/* The encoded state vector (Y.encodeStateVector); *out malloc'd. */
PKC_API PKC_NODISCARD int pkc_ydoc_state_vector(const pkc_ydoc *doc, uint8_t **out,
                                                size_t *out_len);
/* 1 when structs or deletes wait for missing dependencies. */
PKC_API int pkc_ydoc_pending(const pkc_ydoc *doc);

/* Observes every committed transaction that changed something: `fn`
 * receives its v1 update (borrowed for the call) and origin. *id (may be
 * NULL) names the subscription for pkc_ydoc_unobserve_update. */
typedef void (*pkc_yupdate_fn)(void *user_data, const uint8_t *update, size_t len,
                               const void *origin);
PKC_API PKC_NODISCARD int pkc_ydoc_observe_update(pkc_ydoc *doc, pkc_yupdate_fn fn,
                                                  void *user_data, uint32_t *id);
PKC_API void pkc_ydoc_unobserve_update(pkc_ydoc *doc, uint32_t id);

/*
 * Functions on encoded updates, without a document:
 *   merge:  Y.mergeUpdates, in O(n log n) (v1 in and out; _v2: v2 in, v1 out)
 *   diff:   Y.diffUpdate: what `update` has beyond encoded state vector sv
 *   state_vector: Y.encodeStateVectorFromUpdate
 *   v2_to_v1: Y.convertUpdateFormatV2ToV1
 * Outputs are malloc'd. Errors: as pkc_ydoc_apply_update.
 */
PKC_API PKC_NODISCARD int pkc_yupdate_merge(const uint8_t *const *updates, const size_t *lens,
                                            size_t n, uint8_t **out, size_t *out_len);
PKC_API PKC_NODISCARD int pkc_yupdate_merge_v2(const uint8_t *const *updates, const size_t *lens,
                                               size_t n, uint8_t **out, size_t *out_len);
PKC_API PKC_NODISCARD int pkc_yupdate_diff(const uint8_t *update, size_t len, const uint8_t *sv,
                                           size_t sv_len, uint8_t **out, size_t *out_len);
PKC_API PKC_NODISCARD int pkc_yupdate_state_vector(const uint8_t *update, size_t len,
                                                   uint8_t **out, size_t *out_len);
PKC_API PKC_NODISCARD int pkc_yupdate_v2_to_v1(const uint8_t *update, size_t len, uint8_t **out,
                                               size_t *out_len);

/* ---- Types (common) ------------------------------------------------------ */

/* The kind of a type (PKC_YUNDEFINED for a root never accessed with one). */
PKC_API pkc_ytype_kind pkc_ytype_kind_of(const pkc_ytype *t);
/* Length of the list part: elements of an Array or XML node's children,
 * UTF-16 units of a Text (embeds count 1). */
PKC_API size_t pkc_ytype_length(const pkc_ytype *t);
/* 1 if the type was deleted (its handle stays valid). */
PKC_API int pkc_ytype_deleted(const pkc_ytype *t);
/* The type as JSON text, as JSON.stringify(type.toJSON()) in Yjs (XML types
 * give their string form as a JSON string); *json malloc'd, NUL-terminated. */
PKC_API PKC_NODISCARD int pkc_ytype_to_json(const pkc_ytype *t, char **json, size_t *len);

/* ---- Map (also the attributes of XML elements and of Text) --------------- */

/* `key` is UTF-8, NUL-terminated. A value of kind PKC_YV_TYPE creates a new
 * empty shared type there; *created (may be NULL) receives its handle. */
PKC_API PKC_NODISCARD int pkc_ymap_set(pkc_ytxn *txn, pkc_ytype *map, const char *key,
                                       const pkc_yvalue *value, pkc_ytype **created);
/* Deleting a missing key is not an error. */
PKC_API PKC_NODISCARD int pkc_ymap_delete(pkc_ytxn *txn, pkc_ytype *map, const char *key);
/* *out malloc'd (pkc_yvalue_free); PKC_ERR_NOT_FOUND if the key is unset. */
PKC_API PKC_NODISCARD int pkc_ymap_get(const pkc_ytype *map, const char *key, pkc_yvalue **out);
PKC_API int pkc_ymap_has(const pkc_ytype *map, const char *key);
PKC_API size_t pkc_ymap_size(const pkc_ytype *map);
/* All entries as one PKC_YV_OBJECT, in the order Yjs iterates them. */
PKC_API PKC_NODISCARD int pkc_ymap_entries(const pkc_ytype *map, pkc_yvalue **out);

/* ---- Array (also the children of XML fragments and elements) ------------- */

/* Inserts `n` values at `index` (0..length). Consecutive plain values
 * become one item, as in Yjs. PKC_ERR_RANGE beyond the end. For values of
 * kind PKC_YV_TYPE, created[i] (the array may be NULL) gets the handle. */
PKC_API PKC_NODISCARD int pkc_yarray_insert(pkc_ytxn *txn, pkc_ytype *array, size_t index,
                                            const pkc_yvalue *values, size_t n,
                                            pkc_ytype **created);
PKC_API PKC_NODISCARD int pkc_yarray_push(pkc_ytxn *txn, pkc_ytype *array,
                                          const pkc_yvalue *values, size_t n,
                                          pkc_ytype **created);
PKC_API PKC_NODISCARD int pkc_yarray_delete(pkc_ytxn *txn, pkc_ytype *array, size_t index,
                                            size_t len);
/* *out malloc'd; PKC_ERR_RANGE beyond the end. */
PKC_API PKC_NODISCARD int pkc_yarray_get(const pkc_ytype *array, size_t index, pkc_yvalue **out);
/* Elements [start, end) as a PKC_YV_ARRAY (clamped to the length). */
PKC_API PKC_NODISCARD int pkc_yarray_slice(const pkc_ytype *array, size_t start, size_t end,
                                           pkc_yvalue **out);

/* ---- Text ---------------------------------------------------------------- */

/*
 * Indices and lengths are UTF-16 code units. `attrs` are formatting
 * attributes (a value of kind PKC_YV_NULL removes one). For insert and
 * insert_embed, attrs == NULL inherits the formatting at the position (as
 * Yjs's insert without attributes); an empty list (nattrs 0, attrs not
 * NULL) inserts unformatted text. As in Yjs, an index past the end means
 * the end, a deleted range stops at the end, and formatting a range that
 * reaches past the end appends newlines (formatted) to fill it (Quill's
 * trailing newline). PKC_ERR_INVALID_ARG for text that is not UTF-8.
 */
PKC_API PKC_NODISCARD int pkc_ytext_insert(pkc_ytxn *txn, pkc_ytype *text, size_t index,
                                           const char *utf8, size_t len, const pkc_yentry *attrs,
                                           size_t nattrs);
PKC_API PKC_NODISCARD int pkc_ytext_insert_embed(pkc_ytxn *txn, pkc_ytype *text, size_t index,
                                                 const pkc_yvalue *embed, const pkc_yentry *attrs,
                                                 size_t nattrs, pkc_ytype **created);
PKC_API PKC_NODISCARD int pkc_ytext_delete(pkc_ytxn *txn, pkc_ytype *text, size_t index,
                                           size_t len);
PKC_API PKC_NODISCARD int pkc_ytext_format(pkc_ytxn *txn, pkc_ytype *text, size_t index,
                                           size_t len, const pkc_yentry *attrs, size_t nattrs);
/* The plain text (embeds left out), UTF-8, NUL-terminated, malloc'd. */
PKC_API PKC_NODISCARD int pkc_ytext_string(const pkc_ytype *text, char **out, size_t *len);
/* Yjs's toDelta(): a PKC_YV_ARRAY of {insert, attributes?} objects. */
PKC_API PKC_NODISCARD int pkc_ytext_delta(const pkc_ytype *text, pkc_yvalue **out);
/* Applies a Quill-style delta (array of {insert|retain|delete, attributes}
 * objects) as Yjs's applyDelta. */
PKC_API PKC_NODISCARD int pkc_ytext_apply_delta(pkc_ytxn *txn, pkc_ytype *text,
                                                const pkc_yvalue *delta);

/* ---- XML ----------------------------------------------------------------- */

/* Inserts a new element named `name` (or a text node) into a fragment or
 * element at `index`; *out (may be NULL) gets its handle. */
PKC_API PKC_NODISCARD int pkc_yxml_insert_element(pkc_ytxn *txn, pkc_ytype *parent, size_t index,
                                                  const char *name, pkc_ytype **out);
PKC_API PKC_NODISCARD int pkc_yxml_insert_text(pkc_ytxn *txn, pkc_ytype *parent, size_t index,
                                               pkc_ytype **out);
/* The child at `index` (a borrowed handle), PKC_ERR_RANGE beyond the end,
 * PKC_ERR_NOT_FOUND when the child is not a shared type. */
PKC_API PKC_NODISCARD int pkc_yxml_child(const pkc_ytype *parent, size_t index, pkc_ytype **out);
/* The node name of an element (or hook); NULL for other types. Borrowed. */
PKC_API const char *pkc_yxml_name(const pkc_ytype *element);
/* The parent type, or NULL for a root or a deleted type. */
PKC_API pkc_ytype *pkc_ytype_parent(const pkc_ytype *t);
/* Attribute values are any values (Yjs keeps strings in practice). */
PKC_API PKC_NODISCARD int pkc_yxml_set_attribute(pkc_ytxn *txn, pkc_ytype *element,
                                                 const char *key, const char *value);
PKC_API PKC_NODISCARD int pkc_yxml_remove_attribute(pkc_ytxn *txn, pkc_ytype *element,
                                                    const char *key);
/* *out malloc'd, NUL-terminated (JavaScript's String() of the value);
 * PKC_ERR_NOT_FOUND if unset. */
PKC_API PKC_NODISCARD int pkc_yxml_get_attribute(const pkc_ytype *element, const char *key,
                                                 char **out);
/* toString(): fragments and elements as XML, text nodes with formatting as
 * nested tags. *out malloc'd, NUL-terminated. */
PKC_API PKC_NODISCARD int pkc_yxml_string(const pkc_ytype *t, char **out, size_t *len);

/* ---- Observers and events ------------------------------------------------ */

/*
 * Observers are called after a transaction that changed the type
 * (pkc_ytype_observe: changes to the type itself) or anything inside it
 * (pkc_ytype_observe_deep: all events of the transaction below it, top
 * first). Events and everything returned from them are valid during the
 * call only, except values returned as malloc'd.
 */
typedef struct pkc_yevent pkc_yevent;
typedef void (*pkc_yobserve_fn)(void *user_data, pkc_ytxn *txn, const pkc_yevent *event);
typedef void (*pkc_yobserve_deep_fn)(void *user_data, pkc_ytxn *txn,
                                     const pkc_yevent *const *events, size_t n);

PKC_API PKC_NODISCARD int pkc_ytype_observe(pkc_ytype *t, pkc_yobserve_fn fn, void *user_data,
                                            uint32_t *id);
PKC_API PKC_NODISCARD int pkc_ytype_observe_deep(pkc_ytype *t, pkc_yobserve_deep_fn fn,
                                                 void *user_data, uint32_t *id);
PKC_API void pkc_ytype_unobserve(pkc_ytype *t, uint32_t id);

/* The type that changed. */
PKC_API pkc_ytype *pkc_yevent_target(const pkc_yevent *ev);
/* Path from the observed type to the target: an array of keys (strings)
 * and indices (numbers). Borrowed for the call. */
PKC_API const pkc_yvalue *pkc_yevent_path(const pkc_yevent *ev);
/* Changed keys: an object of key -> {"action": "add"|"update"|"delete",
 * "oldValue": value}. Borrowed for the call; NULL when out of memory. */
PKC_API const pkc_yvalue *pkc_yevent_keys(const pkc_yevent *ev);
/* The change of the list part as a delta: an array of {insert: [...]} /
 * {retain: n} / {delete: n} (for texts, insert holds a string or an embed
 * and ops may carry attributes). Borrowed for the call. */
PKC_API const pkc_yvalue *pkc_yevent_delta(const pkc_yevent *ev);

/* ---- Undo ---------------------------------------------------------------- */

typedef struct pkc_yundo pkc_yundo;

typedef struct pkc_yundo_config {
    /* Changes less than this many milliseconds apart merge into one undo
     * step (default 500, as Yjs). Measured with `clock` (wall_ms). */
    uint32_t capture_timeout_ms;
    /* The clock; NULL: pkc_clock_system(). Copied. */
    const pkc_clock *clock;
} pkc_yundo_config;

PKC_API void pkc_yundo_config_default(pkc_yundo_config *cfg);
/* An undo manager for changes to `scope` (n types of one document) made in
 * transactions whose origin is tracked: NULL and the undo manager itself
 * by default (pkc_yundo_track_origin adds more). */
PKC_API PKC_NODISCARD int pkc_yundo_new(pkc_ytype *const *scope, size_t n,
                                        const pkc_yundo_config *cfg, pkc_yundo **out);
PKC_API void pkc_yundo_free(pkc_yundo *um);
PKC_API PKC_NODISCARD int pkc_yundo_add_scope(pkc_yundo *um, pkc_ytype *t);
PKC_API PKC_NODISCARD int pkc_yundo_track_origin(pkc_yundo *um, const void *origin);
PKC_API void pkc_yundo_untrack_origin(pkc_yundo *um, const void *origin);
/* Undo / redo the last step; *done (may be NULL) is 1 if something changed. */
PKC_API PKC_NODISCARD int pkc_yundo_undo(pkc_yundo *um, int *done);
PKC_API PKC_NODISCARD int pkc_yundo_redo(pkc_yundo *um, int *done);
PKC_API int pkc_yundo_can_undo(const pkc_yundo *um);
PKC_API int pkc_yundo_can_redo(const pkc_yundo *um);
/* The next change starts a new undo step. */
PKC_API void pkc_yundo_stop_capturing(pkc_yundo *um);
PKC_API PKC_NODISCARD int pkc_yundo_clear(pkc_yundo *um);

/* ---- Relative positions (cursors) ----------------------------------------- */

/* A position in a type that stays at the same place as others edit, in
 * Yjs's encoding (Y.encodeRelativePosition). `assoc` >= 0 sticks to the
 * element after the position, < 0 to the one before. *out malloc'd. */
PKC_API PKC_NODISCARD int pkc_yrelpos_from_index(const pkc_ytype *t, size_t index, int assoc,
                                                 uint8_t **out, size_t *out_len);
/* Resolves it in `doc`: the type and index now. PKC_ERR_NOT_FOUND when the
 * type or position is not (or no longer) there; MALFORMED for bad bytes. */
PKC_API PKC_NODISCARD int pkc_yrelpos_to_index(pkc_ydoc *doc, const uint8_t *relpos, size_t len,
                                               pkc_ytype **type, size_t *index);

/* ---- Snapshots ------------------------------------------------------------ */

/* The document's snapshot (delete set and state vector, Y.encodeSnapshot). */
PKC_API PKC_NODISCARD int pkc_ydoc_snapshot(const pkc_ydoc *doc, uint8_t **out, size_t *out_len);
/* A new document with the state at a snapshot (Y.createDocFromSnapshot).
 * `doc` must have been created with gc = 0 (PKC_ERR_STATE otherwise). */
PKC_API PKC_NODISCARD int pkc_ydoc_from_snapshot(pkc_ydoc *doc, const uint8_t *snapshot,
                                                 size_t len, pkc_ydoc **out);

/* ---- y-protocols: sync ----------------------------------------------------- */

enum { PKC_YSYNC_STEP1 = 0, PKC_YSYNC_STEP2 = 1, PKC_YSYNC_UPDATE = 2 };

/* Sync step 1 (our state vector) as y-protocols writes it. *out malloc'd. */
PKC_API PKC_NODISCARD int pkc_ysync_step1(const pkc_ydoc *doc, uint8_t **out, size_t *out_len);
/* An update message wrapping a v1 update. */
PKC_API PKC_NODISCARD int pkc_ysync_update(const uint8_t *update, size_t len, uint8_t **out,
                                           size_t *out_len);
/* Handles a sync message (y-protocols readSyncMessage): step 1 produces the
 * step 2 reply in *reply (malloc'd; else *reply = NULL); step 2 and update
 * messages are applied with `origin`. *type (may be NULL) gets the message
 * type. Bad messages change nothing. */
PKC_API PKC_NODISCARD int pkc_ysync_read(pkc_ydoc *doc, const uint8_t *msg, size_t len,
                                         const void *origin, uint8_t **reply, size_t *reply_len,
                                         int *type);

/* ---- y-protocols: awareness ------------------------------------------------- */

/*
 * Presence (cursors, names) of the peers editing a document: per client a
 * JSON state with a clock, as y-protocols/awareness. States not renewed for
 * 30 s are removed by pkc_yawareness_check (call it every few seconds with
 * the current time), which also renews the local state every 15 s.
 */
typedef struct pkc_yawareness pkc_yawareness;

typedef struct pkc_yawareness_change {
    const uint64_t *added, *updated, *removed; /* client ids */
    size_t nadded, nupdated, nremoved;
} pkc_yawareness_change;

/* `change` lists states that changed value (Yjs's 'change'); `update` also
 * renewals (Yjs's 'update'). */
typedef void (*pkc_yawareness_fn)(void *user_data, const pkc_yawareness_change *change,
                                  const void *origin, int is_update);

/* `now_ms` is the wall clock (pkc_clock wall_ms). The local state starts as
 * "{}", as in y-protocols. */
PKC_API PKC_NODISCARD int pkc_yawareness_new(uint64_t client_id, int64_t now_ms,
                                             pkc_yawareness **out);
PKC_API void pkc_yawareness_free(pkc_yawareness *aw);
PKC_API PKC_NODISCARD int pkc_yawareness_observe(pkc_yawareness *aw, pkc_yawareness_fn fn,
                                                 void *user_data);
/* Sets the local state to JSON text `json` (NULL: offline, removes it). */
PKC_API PKC_NODISCARD int pkc_yawareness_set_local(pkc_yawareness *aw, const char *json,
                                                   int64_t now_ms);
/* The state of a client as JSON text (borrowed until the next change);
 * NULL if it has none. */
PKC_API const char *pkc_yawareness_get(const pkc_yawareness *aw, uint64_t client_id);
/* The clients that have a state, into ids[max]; returns their number. */
PKC_API size_t pkc_yawareness_clients(const pkc_yawareness *aw, uint64_t *ids, size_t max);
/* encodeAwarenessUpdate for `clients` (NULL, n = 0: all known). */
PKC_API PKC_NODISCARD int pkc_yawareness_encode(const pkc_yawareness *aw, const uint64_t *clients,
                                                size_t n, uint8_t **out, size_t *out_len);
/* applyAwarenessUpdate. Bad input changes nothing. */
PKC_API PKC_NODISCARD int pkc_yawareness_apply(pkc_yawareness *aw, const uint8_t *update,
                                               size_t len, const void *origin, int64_t now_ms);
/* removeAwarenessStates */
PKC_API PKC_NODISCARD int pkc_yawareness_remove(pkc_yawareness *aw, const uint64_t *clients,
                                                size_t n, const void *origin, int64_t now_ms);
/* Timeouts: renews the local state after 15 s, removes remote states older
 * than 30 s (observers see origin PKC_YAWARENESS_TIMEOUT). Returns the
 * milliseconds until it should run again. */
PKC_API int64_t pkc_yawareness_check(pkc_yawareness *aw, int64_t now_ms);
PKC_API extern const char pkc_yawareness_timeout_origin;
#define PKC_YAWARENESS_TIMEOUT ((const void *)&pkc_yawareness_timeout_origin)

/* The messages y-websocket and y-webrtc exchange: a varuint type (0 sync,
 * 1 awareness, 3 awareness query) then the payload; awareness payloads are
 * length-prefixed (varuint8array). */
enum { PKC_YMSG_SYNC = 0, PKC_YMSG_AWARENESS = 1, PKC_YMSG_AUTH = 2, PKC_YMSG_QUERY_AWARENESS = 3 };
PKC_API PKC_NODISCARD int pkc_yawareness_message(const pkc_yawareness *aw,
                                                 const uint64_t *clients, size_t n,
                                                 uint8_t **out, size_t *out_len);
/*
 * Handles one provider message (y-websocket / y-webrtc framing): sync
 * messages are read as pkc_ysync_read does, awareness messages applied to
 * `aw` (may be NULL: ignored), awareness queries answered with all states.
 * *reply (malloc'd, framed the same way) is NULL when there is nothing to
 * send back. *type (may be NULL) gets the message type. Bad input changes
 * nothing.
 */
PKC_API PKC_NODISCARD int pkc_yprovider_read(pkc_ydoc *doc, pkc_yawareness *aw,
                                             const uint8_t *msg, size_t len, const void *origin,
                                             int64_t now_ms, uint8_t **reply, size_t *reply_len,
                                             int *type);



/* ======================================================================== */
/* proto: sessions and frames                                               */
/* ======================================================================== */


/* ======================================================================== */
/* mesh                                                                     */
/* ======================================================================== */


/* ======================================================================== */
/* discovery and store                                                      */
/* ======================================================================== */


#ifdef __cplusplus
}
#endif

#endif /* PKC_H */
