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
    XX(SDP, -50, "invalid or unsupported session description")                     \
    XX(INTEGRITY, -51, "message integrity check failed")                           \
    XX(ICE_FAILED, -52, "ICE found no working path to the peer")                   \
    XX(CONSENT, -53, "the peer stopped answering consent checks")                  \
    XX(ROLE_CONFLICT, -54, "ICE role conflict")                                    \
    XX(DTLS, -55, "DTLS handshake or record failure")                              \
    XX(FINGERPRINT, -56, "peer certificate does not match its fingerprint")        \
    XX(SCTP, -57, "SCTP association failure")                                      \
    XX(STUN_ERROR, -58, "the STUN server answered with an error")                  \
                                                                                   \
    /* crdt (-70 .. -89) */                                                        \
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
