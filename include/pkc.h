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
    XX(FINGERPRINT, -56, "DTLS certificate fingerprint mismatch (SDP or session)")  \
    XX(SCTP, -57, "SCTP association failure")                                      \
    XX(STUN_ERROR, -58, "the STUN server answered with an error")                  \
                                                                                   \
    /* crdt (-70 .. -89) */                                                        \
    XX(YTYPE_KIND, -70, "shared type exists with a different kind")               \
    XX(YTYPE_DELETED, -71, "shared type was deleted")                              \
                                                                                   \
    /* crypto and proto (-90 .. -109) */                                           \
    XX(CRYPTO, -90, "cryptographic operation failed")                              \
    XX(BAD_SIGNATURE, -91, "signature verification failed")                        \
    XX(REPLAY, -92, "message already seen (replay or duplicate)")                  \
    XX(STALE, -93, "timestamp outside the accepted window")                        \
    XX(RATE_LIMITED, -94, "rate limit exceeded")                                   \
    XX(BLOCKED, -95, "peer temporarily blocked")                                   \
    XX(REFUSED, -96, "refused: session or connection not accepted")                \
    XX(POW, -98, "proof of work missing, insufficient or for something else")      \
    XX(UNAUTHORIZED, -99, "peer not authorised (no valid invitation, not known)")  \
    XX(DECRYPT, -100, "cannot decrypt: wrong key or passphrase, or altered data")  \
                                                                                   \
    /* mesh (-110 .. -129) */                                                      \
    XX(MESH_NOT_NEIGHBOR, -110, "peer is not a connected neighbour")               \
    XX(MESH_GRAYLISTED, -112, "peer's score is below the graylist threshold")      \
    XX(MESH_PROTOCOL, -113, "peer violated the mesh protocol")                     \
    XX(MESH_REJECTED, -114, "message rejected by validation")                      \
    XX(MESH_NO_ROUTE, -115, "no route to the peer")                                \
    XX(MESH_BUSY, -117, "called from inside a mesh callback")                      \
                                                                                   \
    /* discovery and store (-130 .. -149) */                                       \
    XX(EXPIRED, -130, "expired: past the end of its validity")                     \
    XX(NOT_YET_VALID, -131, "not valid yet: dated later than now")                 \
    XX(USED, -132, "already used (a single-use invitation)")                       \
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
PKC_API const uint8_t *pkc_identity_get_public_key(const pkc_identity *id);

/* The peer id string (PKC_PEER_ID_LEN characters, NUL-terminated).
 * Borrowed: valid until pkc_identity_free(). */
PKC_API const char *pkc_identity_get_peer_id(const pkc_identity *id);

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

/* The identity file of a data directory (see pkc_identity_load_or_create). */
#define PKC_IDENTITY_FILE "identity.key"

/*
 * Identity files. The file format is in docs/protocol.md ("Identity file").
 *
 * pkc_identity_load(): reads `path`. Returns 0; PKC_ERR_NOT_FOUND if it does
 * not exist; PKC_ERR_PERMISSION if group or others can read it (as ssh, pkc
 * refuses a secret key others can read; fix with chmod 600); PKC_ERR_IO;
 * PKC_ERR_MALFORMED or PKC_ERR_CHECKSUM if the content is damaged.
 *
 * pkc_identity_save(): creates `path` with mode 0600, durably (written to a
 * temporary file, fsync'd, then linked into place), and its directory
 * (mode 0700, with parents) if missing. Never overwrites: PKC_ERR_EXISTS if
 * `path` exists. PKC_ERR_PERMISSION, PKC_ERR_IO otherwise.
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

/*
 * Signatures and the identity's key-agreement key.
 *
 * pkc_identity_sign(): the Ed25519 signature (RFC 8032) of `msg` (`len`
 * bytes; may be NULL when len is 0). Pure Ed25519 over the bytes given: put a
 * label of your own in front of what you sign so that a signature made for
 * one purpose cannot be presented for another (pkc's own protocols do).
 *
 * pkc_signature_verify(): 0 if `sig` is a valid signature of `msg` by
 * `public_key`, else PKC_ERR_BAD_SIGNATURE. Non-canonical signatures and
 * small-order keys are rejected.
 *
 * pkc_identity_get_dh_public_key(): the identity's X25519 public key (32 bytes,
 * borrowed), which others use to encrypt to this peer. Its secret is derived
 * from the identity's seed (docs/protocol.md, "Identity keys"), so the
 * identity file needs nothing more; peer announcements carry the public key
 * under the identity's signature.
 */
#define PKC_SIGNATURE_BYTES 64
#define PKC_DH_PUBLIC_KEY_BYTES 32

PKC_API void pkc_identity_sign(const pkc_identity *id, const void *msg, size_t len,
                               uint8_t sig[PKC_SIGNATURE_BYTES]);
PKC_API PKC_NODISCARD int pkc_signature_verify(const uint8_t public_key[PKC_PUBLIC_KEY_BYTES],
                                               const void *msg, size_t len,
                                               const uint8_t sig[PKC_SIGNATURE_BYTES]);
PKC_API const uint8_t *pkc_identity_get_dh_public_key(const pkc_identity *id);

/* Overwrites `len` bytes at `p` with zeros in a way the compiler cannot
 * remove: for buffers that held a passphrase, a seed or an export. */
PKC_API void pkc_memzero(void *p, size_t len);

/*
 * Export and import: moving an identity to another device as text
 * (docs/protocol.md, "Identity export").
 *
 * pkc_identity_export(): writes a malloc'd, NUL-terminated text to *out
 * (free() it). With a `passphrase` (NUL-terminated, may be NULL), the seed is
 * encrypted with a key derived by Argon2id with `params` (may be NULL for the
 * defaults: 3 passes over 64 MiB) and a random salt from `rng`; without one,
 * the seed is in clear and the text must be kept as secret as identity.key.
 * Returns 0, PKC_ERR_INVALID_ARG (empty passphrase, parameters out of
 * range), PKC_ERR_NOMEM.
 *
 * pkc_identity_import(): parses `len` bytes of an export (or of an
 * identity.key file). `passphrase` may be NULL for a clear export. Returns 0
 * and a new identity in *out; PKC_ERR_MALFORMED (not an export, or damaged;
 * see pkc_errmsg()), PKC_ERR_RANGE (key-derivation parameters above the
 * limits, which protects against a file crafted to exhaust memory),
 * PKC_ERR_DECRYPT (wrong passphrase, or the text was altered),
 * PKC_ERR_INVALID_ARG (the export is encrypted and no passphrase was given),
 * PKC_ERR_CHECKSUM (the seed does not give the stated peer id), PKC_ERR_NOMEM.
 *
 * pkc_identity_export_encrypted(): 1 if the text is an encrypted export,
 * 0 if it holds the seed in clear, or PKC_ERR_MALFORMED.
 */
typedef struct pkc_identity_export_params {
    uint32_t ops;     /* Argon2id passes: 1..16 (default 3) */
    uint32_t mem_kib; /* Argon2id memory in KiB: 8..1048576 (default 65536) */
} pkc_identity_export_params;
#define PKC_IDENTITY_EXPORT_PARAMS_V1 1
#define PKC_IDENTITY_EXPORT_PARAMS_VERSION PKC_IDENTITY_EXPORT_PARAMS_V1

PKC_API void pkc_identity_export_params_default_versioned(int params_version,
                                                          pkc_identity_export_params *p);
#define pkc_identity_export_params_default(P) \
    pkc_identity_export_params_default_versioned(PKC_IDENTITY_EXPORT_PARAMS_VERSION, (P))
PKC_API PKC_NODISCARD int pkc_identity_export_versioned(const pkc_identity *id,
                                                        const char *passphrase, int params_version,
                                                        const pkc_identity_export_params *params,
                                                        const pkc_rng *rng, char **out);
#define pkc_identity_export(ID, PASSPHRASE, PARAMS, RNG, OUT) \
    pkc_identity_export_versioned((ID), (PASSPHRASE), PKC_IDENTITY_EXPORT_PARAMS_VERSION, \
        (PARAMS), (RNG), (OUT))
PKC_API PKC_NODISCARD int pkc_identity_import(const char *text, size_t len,
                                              const char *passphrase, pkc_identity **out);
PKC_API PKC_NODISCARD int pkc_identity_export_encrypted(const char *text, size_t len);

/* ======================================================================== */
/* rtc: WebRTC data channels                                                */
/* ======================================================================== */

/*
 * WebRTC data channels, interoperable with browsers: ICE (full, and lite on
 * a shared socket), DTLS 1.2, SCTP and DCEP, described by SDP offers and
 * answers as browsers write them. docs/api.md explains the model; the wire
 * profile is in docs/protocol.md.
 *
 * Threads: every rtc object belongs to one pkc_loop. Callbacks run on the
 * thread inside pkc_loop_run() of that loop, never from inside another pkc
 * call of yours. Call the functions of a loop's objects only from that
 * thread: from a callback, or while the loop is not running. The one
 * exception is pkc_loop_post(), which any thread may call (use it to hand
 * work to the loop thread).
 *
 * Inside a callback you may call any function of this section, including
 * freeing the object the callback is about (pkc_rtc_peer_free() from
 * `state`, for instance), except pkc_loop_free() and pkc_loop_run().
 */

/* ---- the event loop ---------------------------------------------------- */

/* The runtime's event loop (libuv): sockets, timers, the SCTP clock. */
typedef struct pkc_loop pkc_loop;

/* Returns 0, PKC_ERR_NOMEM or PKC_ERR_IO. */
PKC_API PKC_NODISCARD int pkc_loop_new(pkc_loop **out);
/* Frees the loop. Free every object created on it first (sockets, peers). */
PKC_API void pkc_loop_free(pkc_loop *loop);
/* Runs callbacks until pkc_loop_stop() is called, or until `timeout_ms`
 * milliseconds passed (-1: no limit). Returns 0 when stopped,
 * PKC_ERR_TIMEOUT when the time ran out. */
PKC_API int pkc_loop_run(pkc_loop *loop, int timeout_ms);
/* Makes pkc_loop_run() return after the current callback. Loop thread only. */
PKC_API void pkc_loop_stop(pkc_loop *loop);
/* Runs fn(arg) on the loop thread soon. Thread-safe. 0, PKC_ERR_INVALID_ARG
 * (fn NULL) or PKC_ERR_NOMEM. */
PKC_API int pkc_loop_post(pkc_loop *loop, void (*fn)(void *arg), void *arg);

/* ---- DTLS certificate ---------------------------------------------------- */

/* A self-signed ECDSA P-256 certificate and its key: a peer's DTLS
 * identity. Its SHA-256 fingerprint goes into every description. Shared
 * by reference: peers keep their own reference. */
typedef struct pkc_rtc_cert pkc_rtc_cert;

/* A new certificate, valid for a year. 0, PKC_ERR_CRYPTO or PKC_ERR_NOMEM. */
PKC_API PKC_NODISCARD int pkc_rtc_cert_generate(pkc_rtc_cert **out);
/* The certificate in data directory `dir` (file "dtls-cert.pem", mode 0600,
 * written durably), creating it (and `dir`, mode 0700) if missing or
 * expired. *created (may be NULL) is set to 1 if this call made it.
 * Returns 0, PKC_ERR_PERMISSION (the file is readable by group or others),
 * PKC_ERR_MALFORMED (damaged), PKC_ERR_IO. */
PKC_API PKC_NODISCARD int pkc_rtc_cert_load_or_create(const char *dir, pkc_rtc_cert **out,
                                                      int *created);
/* Drops the caller's reference. Accepts NULL. */
PKC_API void pkc_rtc_cert_free(pkc_rtc_cert *cert);
/* "sha-256 AB:CD:..." (the a=fingerprint value). Borrowed, lives as long as
 * the certificate. */
PKC_API const char *pkc_rtc_cert_get_fingerprint(const pkc_rtc_cert *cert);

/* ---- UDP sockets ------------------------------------------------------------ */

/*
 * A UDP port (one socket per address family, bound to the wildcard address)
 * that serves any number of peer connections: incoming datagrams are routed
 * by the ICE username (STUN) and by the remote address (DTLS). Host
 * candidates are every interface address with this port.
 */
typedef struct pkc_rtc_socket pkc_rtc_socket;

typedef struct pkc_rtc_socket_config {
    uint16_t port_min; /* 0 and 0: an ephemeral port */
    uint16_t port_max; /* the first free port in [port_min, port_max] */
    int ipv6;          /* also IPv6 (default 1; skipped if unavailable) */
    int loopback;      /* host candidates on loopback interfaces too (default 1) */
} pkc_rtc_socket_config;
#define PKC_RTC_SOCKET_CONFIG_V1 1
#define PKC_RTC_SOCKET_CONFIG_VERSION PKC_RTC_SOCKET_CONFIG_V1

PKC_API void pkc_rtc_socket_config_default_versioned(int config_version, pkc_rtc_socket_config *c);
#define pkc_rtc_socket_config_default(C) \
    pkc_rtc_socket_config_default_versioned(PKC_RTC_SOCKET_CONFIG_VERSION, (C))
/* Returns 0, PKC_ERR_IO (no free port, or the system refused). */
PKC_API PKC_NODISCARD int pkc_rtc_socket_new_versioned(pkc_loop *loop, int config_version,
                                                       const pkc_rtc_socket_config *cfg,
                                                       pkc_rtc_socket **out);
#define pkc_rtc_socket_new(LOOP, CFG, OUT) \
    pkc_rtc_socket_new_versioned((LOOP), PKC_RTC_SOCKET_CONFIG_VERSION, (CFG), (OUT))
/* Free the peers using it first. Accepts NULL. */
PKC_API void pkc_rtc_socket_free(pkc_rtc_socket *s);
PKC_API uint16_t pkc_rtc_socket_get_port(const pkc_rtc_socket *s);

/* ---- peer connections ---------------------------------------------------------- */

typedef struct pkc_rtc_peer pkc_rtc_peer;
typedef struct pkc_rtc_channel pkc_rtc_channel;

typedef enum pkc_rtc_state {
    PKC_RTC_NEW = 0,
    PKC_RTC_CONNECTING,   /* ICE checks, DTLS and SCTP handshakes */
    PKC_RTC_CONNECTED,    /* SCTP is up: channels open */
    PKC_RTC_DISCONNECTED, /* consent checks unanswered for a while; may recover */
    PKC_RTC_FAILED,       /* ICE failed, consent expired, DTLS or SCTP failed */
    PKC_RTC_CLOSED,       /* closed by either side */
} pkc_rtc_state;

typedef enum pkc_rtc_sdp_type { PKC_RTC_OFFER = 0, PKC_RTC_ANSWER = 1 } pkc_rtc_sdp_type;

typedef struct pkc_rtc_config {
    /* STUN servers, "HOST:PORT" (names are resolved); copied. May be NULL. */
    const char *const *stun_servers;
    size_t n_stun_servers;
    /* The UDP socket to use; may be NULL: the peer then opens its own with
     * `socket_config`. Borrowed: must outlive the peer. */
    pkc_rtc_socket *socket;
    pkc_rtc_socket_config socket_config;
    /* The DTLS certificate (a reference is taken); may be NULL: the peer
     * generates a certificate for itself. */
    pkc_rtc_cert *cert;
    /* The largest message this peer accepts (a=max-message-size);
     * default 262144. */
    uint32_t max_message_size;
    /* Consent freshness (RFC 7675): without an answer for this long the
     * peer is gone and the connection fails. Default 30000. */
    uint32_t consent_timeout_ms;
    /* Largest total of bytes queued on a channel before send fails with
     * PKC_ERR_AGAIN. Default 16 MiB. */
    size_t max_buffered_amount;
    /* Version 2. SCTP streams offered each way, 1..65535: channel ids are
     * below it (and below what the peer offers). Default 1024, as browsers;
     * each stream costs about 60 bytes a connection, so a program that
     * opens few channels saves memory with fewer (the node uses 64). */
    uint16_t max_channels;
} pkc_rtc_config;
#define PKC_RTC_CONFIG_V1 1
#define PKC_RTC_CONFIG_V2 2 /* adds max_channels */
#define PKC_RTC_CONFIG_VERSION PKC_RTC_CONFIG_V2

PKC_API void pkc_rtc_config_default_versioned(int config_version, pkc_rtc_config *c);
#define pkc_rtc_config_default(C) \
    pkc_rtc_config_default_versioned(PKC_RTC_CONFIG_VERSION, (C))

typedef struct pkc_rtc_callbacks {
    /* The connection's state changed. */
    void (*state)(void *user_data, pkc_rtc_peer *peer, pkc_rtc_state state);
    /* A local ICE candidate ("candidate:..." without "a=") gathered after
     * the description was made, to trickle to the peer; NULL when
     * gathering is complete (send end-of-candidates). */
    void (*candidate)(void *user_data, pkc_rtc_peer *peer, const char *candidate);
    /* The peer opened a channel. It is open: messages may arrive at once. */
    void (*channel)(void *user_data, pkc_rtc_peer *peer, pkc_rtc_channel *ch);
    /* A channel this side created is open: its DCEP OPEN is sent (as in
     * browsers, messages may follow at once), or, negotiated, SCTP is up. */
    void (*open)(void *user_data, pkc_rtc_channel *ch);
    /* A message. `data` is borrowed for the call; `binary` is 0 for text
     * (UTF-8 as sent). Empty messages have len 0. */
    void (*message)(void *user_data, pkc_rtc_channel *ch, const uint8_t *data, size_t len,
                    int binary);
    /* The channel's buffered amount fell to its low threshold or below. */
    void (*buffered_amount_low)(void *user_data, pkc_rtc_channel *ch);
    /* The channel is closed (by either side, or with its connection); the
     * handle is freed when this callback returns. */
    void (*close)(void *user_data, pkc_rtc_channel *ch);
    /* Listener sockets only: a peer connected without an offer we saw
     * (see pkc_rtc_listen). */
    void (*incoming)(void *user_data, pkc_rtc_peer *peer);
} pkc_rtc_callbacks;
#define PKC_RTC_CALLBACKS_V1 1
#define PKC_RTC_CALLBACKS_VERSION PKC_RTC_CALLBACKS_V1

/* Creates a peer connection on `loop`. `cfg` and `cb` are copied; every
 * callback may be NULL and receives `user_data` (the peer's user data,
 * see pkc_rtc_peer_set_user_data) first. Returns 0, PKC_ERR_INVALID_ARG,
 * PKC_ERR_NOMEM, PKC_ERR_IO (no socket). */
PKC_API PKC_NODISCARD int pkc_rtc_peer_new_versioned(pkc_loop *loop, int config_version,
                                                     const pkc_rtc_config *cfg,
                                                     int callbacks_version,
                                                     const pkc_rtc_callbacks *cb, void *user_data,
                                                     pkc_rtc_peer **out);
#define pkc_rtc_peer_new(LOOP, CFG, CB, USER_DATA, OUT) \
    pkc_rtc_peer_new_versioned((LOOP), PKC_RTC_CONFIG_VERSION, (CFG), PKC_RTC_CALLBACKS_VERSION, \
        (CB), (USER_DATA), (OUT))
/* Closes (as pkc_rtc_peer_close) and frees the connection and its channels
 * without further callbacks. Accepts NULL. */
PKC_API void pkc_rtc_peer_free(pkc_rtc_peer *peer);

/* Makes an offer and applies it as the local description (createOffer and
 * setLocalDescription in one). *sdp is malloc'd; free() it. It carries the
 * host candidates; later ones come through the `candidate` callback. Making another
 * offer before the answer came replaces the first. Returns 0,
 * PKC_ERR_STATE (the peer's offer awaits our answer, or the connection is
 * closed or ICE-lite). */
PKC_API PKC_NODISCARD int pkc_rtc_peer_create_offer(pkc_rtc_peer *peer, char **sdp);
/* Applies the peer's offer or answer. Returns 0; PKC_ERR_SDP,
 * PKC_ERR_TOO_LARGE (see pkc_errmsg() for what is wrong); PKC_ERR_STATE
 * (an answer without our offer, an offer while ours is pending). */
PKC_API PKC_NODISCARD int pkc_rtc_peer_set_remote(pkc_rtc_peer *peer, pkc_rtc_sdp_type type,
                                                  const char *sdp);
/* Makes the answer to the applied remote offer and applies it. */
PKC_API PKC_NODISCARD int pkc_rtc_peer_create_answer(pkc_rtc_peer *peer, char **sdp);
/* The current local description with every candidate gathered so far (and
 * end-of-candidates once gathering is complete): what a peer that does not
 * trickle sends. PKC_ERR_STATE before an offer or answer was made. */
PKC_API PKC_NODISCARD int pkc_rtc_peer_get_local_description(pkc_rtc_peer *peer, char **sdp);
/* A trickled remote candidate ("candidate:..." with or without "a=");
 * NULL or "" for end-of-candidates. Candidates that cannot be used (mDNS
 * names, TCP) are ignored: 0. PKC_ERR_SDP if malformed. */
PKC_API PKC_NODISCARD int pkc_rtc_peer_add_candidate(pkc_rtc_peer *peer, const char *candidate);
/* ICE restart: the next pkc_rtc_peer_create_offer() carries new ICE
 * credentials; data keeps flowing while the new checks run. */
PKC_API void pkc_rtc_peer_restart_ice(pkc_rtc_peer *peer);
/* Whether local candidate gathering is complete. */
PKC_API int pkc_rtc_peer_is_gathering_done(const pkc_rtc_peer *peer);
/* Closes every channel and the connection (SCTP abort, DTLS close_notify);
 * the `state` callback (PKC_RTC_CLOSED) follows. */
PKC_API void pkc_rtc_peer_close(pkc_rtc_peer *peer);
PKC_API pkc_rtc_state pkc_rtc_peer_get_state(const pkc_rtc_peer *peer);
PKC_API const char *pkc_rtc_state_name(pkc_rtc_state state);
/* "sha-256 AB:..." of the certificate the peer presented, once DTLS saw it;
 * NULL before. Borrowed from the peer. */
PKC_API const char *pkc_rtc_peer_get_remote_fingerprint(const pkc_rtc_peer *peer);
/* Per-peer user data (initially the user_data given to pkc_rtc_peer_new or
 * pkc_rtc_listen), passed to every callback about the peer and its channels. */
PKC_API void pkc_rtc_peer_set_user_data(pkc_rtc_peer *peer, void *user_data);
PKC_API void *pkc_rtc_peer_get_user_data(const pkc_rtc_peer *peer);

typedef struct pkc_rtc_stats {
    char local_address[64];  /* selected pair, "IP:port"; "" if none */
    char remote_address[64]; /* a peer reported by `incoming`: before a pair is selected, the
                                address whose check opened it (type "prflx") */
    char local_type[8];      /* "host", "srflx", "prflx" */
    char remote_type[8];
    uint64_t bytes_sent;     /* UDP payload bytes */
    uint64_t bytes_received;
    int dtls_client;         /* our DTLS role */
    int ice_controlling;
    int ice_lite;
} pkc_rtc_stats;
#define PKC_RTC_STATS_V1 1
#define PKC_RTC_STATS_VERSION PKC_RTC_STATS_V1

PKC_API void pkc_rtc_peer_get_stats_versioned(const pkc_rtc_peer *peer, int stats_version,
                                              pkc_rtc_stats *out);
#define pkc_rtc_peer_get_stats(PEER, OUT) \
    pkc_rtc_peer_get_stats_versioned((PEER), PKC_RTC_STATS_VERSION, (OUT))

/* ---- ICE-lite listeners ------------------------------------------------------- */

/*
 * Makes `s` accept connections from peers whose offer it never sees: it
 * answers their ICE checks as an ICE-lite agent with fixed credentials and
 * is the DTLS server. *sdp receives an answer (malloc'd) a peer applies to
 * its own offer (data section mid "0", as browsers make): a=ice-lite, the
 * credentials, the fingerprint of `cfg->cert` (or of a generated one),
 * a=setup:passive and the host candidates. Each peer that connects becomes a
 * pkc_rtc_peer reported by the `incoming` callback and then behaves as any other;
 * free it when done. Any certificate is accepted from such peers (there was
 * no offer to pin it): authenticate them above, with
 * pkc_rtc_peer_get_remote_fingerprint(). One listener per socket.
 * Returns 0, PKC_ERR_EXISTS, PKC_ERR_NOMEM.
 */
PKC_API PKC_NODISCARD int pkc_rtc_listen_versioned(pkc_rtc_socket *s, int config_version,
                                                   const pkc_rtc_config *cfg,
                                                   int callbacks_version,
                                                   const pkc_rtc_callbacks *cb, void *user_data,
                                                   char **sdp);
#define pkc_rtc_listen(S, CFG, CB, USER_DATA, SDP) \
    pkc_rtc_listen_versioned((S), PKC_RTC_CONFIG_VERSION, (CFG), PKC_RTC_CALLBACKS_VERSION, (CB), \
        (USER_DATA), (SDP))

/* ---- data channels ------------------------------------------------------------ */

typedef struct pkc_rtc_channel_options {
    int ordered;            /* default 1 */
    int max_retransmits;    /* -1 (default): unlimited */
    int max_lifetime_ms;    /* -1 (default): unlimited; not with max_retransmits */
    int negotiated;         /* 1: no DCEP; both sides create it with `id` */
    uint16_t id;            /* for negotiated channels */
    const char *protocol;   /* sub-protocol, copied; may be NULL */
    uint16_t priority;      /* DCEP priority, default 256 */
} pkc_rtc_channel_options;
#define PKC_RTC_CHANNEL_OPTIONS_V1 1
#define PKC_RTC_CHANNEL_OPTIONS_VERSION PKC_RTC_CHANNEL_OPTIONS_V1

typedef enum pkc_rtc_channel_state {
    PKC_RTC_CHANNEL_CONNECTING = 0,
    PKC_RTC_CHANNEL_OPEN,
    PKC_RTC_CHANNEL_CLOSING,
    PKC_RTC_CHANNEL_CLOSED,
} pkc_rtc_channel_state;

PKC_API void pkc_rtc_channel_options_default_versioned(int options_version,
                                                       pkc_rtc_channel_options *o);
#define pkc_rtc_channel_options_default(O) \
    pkc_rtc_channel_options_default_versioned(PKC_RTC_CHANNEL_OPTIONS_VERSION, (O))
/* Creates a channel; it opens (the `open` callback) once the connection is up, or at
 * once if it is. `label` is copied (UTF-8, may be ""), `opts` may be NULL.
 * The handle stays valid until the `close` callback returns or the peer is freed.
 * Returns 0, PKC_ERR_INVALID_ARG (options), PKC_ERR_EXISTS (negotiated id in
 * use), PKC_ERR_RANGE (no stream id left), PKC_ERR_STATE (closed). */
PKC_API PKC_NODISCARD int pkc_rtc_channel_new_versioned(pkc_rtc_peer *peer, const char *label,
                                                        int options_version,
                                                        const pkc_rtc_channel_options *opts,
                                                        pkc_rtc_channel **out);
#define pkc_rtc_channel_new(PEER, LABEL, OPTS, OUT) \
    pkc_rtc_channel_new_versioned((PEER), (LABEL), PKC_RTC_CHANNEL_OPTIONS_VERSION, (OPTS), \
        (OUT))
/* Queues one message (copied). `binary` 0 sends text (PPID 51, must be
 * UTF-8), else binary (53); empty messages are allowed. Messages may be
 * sent before the channel is open. Returns 0; PKC_ERR_TOO_LARGE (over the
 * peer's max-message-size); PKC_ERR_AGAIN (max_buffered_amount reached:
 * wait for the `buffered_amount_low` callback); PKC_ERR_MALFORMED (text not UTF-8);
 * PKC_ERR_CLOSED. */
PKC_API PKC_NODISCARD int pkc_rtc_channel_send(pkc_rtc_channel *ch, const void *data, size_t len,
                                               int binary);
/* Bytes queued and not yet handed to SCTP. */
PKC_API size_t pkc_rtc_channel_get_buffered_amount(const pkc_rtc_channel *ch);
/* The `buffered_amount_low` callback fires when the buffered amount falls from above
 * `threshold` to at or below it. Default 0. */
PKC_API void pkc_rtc_channel_set_buffered_amount_low_threshold(pkc_rtc_channel *ch,
                                                               size_t threshold);
/* Closes the channel (SCTP stream reset); the `close` callback follows. */
PKC_API void pkc_rtc_channel_close(pkc_rtc_channel *ch);
PKC_API pkc_rtc_channel_state pkc_rtc_channel_get_state(const pkc_rtc_channel *ch);
/* Borrowed strings, valid as long as the channel. */
PKC_API const char *pkc_rtc_channel_get_label(const pkc_rtc_channel *ch);
PKC_API const char *pkc_rtc_channel_get_protocol(const pkc_rtc_channel *ch);
/* The SCTP stream id, or -1 before it is assigned. */
PKC_API int pkc_rtc_channel_get_id(const pkc_rtc_channel *ch);
PKC_API pkc_rtc_peer *pkc_rtc_channel_get_peer(const pkc_rtc_channel *ch);
PKC_API void pkc_rtc_channel_get_options_versioned(const pkc_rtc_channel *ch, int options_version,
                                                   pkc_rtc_channel_options *out);
#define pkc_rtc_channel_get_options(CH, OUT) \
    pkc_rtc_channel_get_options_versioned((CH), PKC_RTC_CHANNEL_OPTIONS_VERSION, (OUT))
PKC_API void pkc_rtc_channel_set_user_data(pkc_rtc_channel *ch, void *user_data);
PKC_API void *pkc_rtc_channel_get_user_data(const pkc_rtc_channel *ch);


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
     * the document's rng, as Yjs does. Must be below 2^53. */
    uint64_t client_id;
    /* Garbage-collect deleted content (default 1, as Yjs's `gc: true`).
     * Snapshots of the past (pkc_ydoc_from_snapshot) need 0. */
    int gc;
} pkc_ydoc_config;
#define PKC_YDOC_CONFIG_V1 1
#define PKC_YDOC_CONFIG_VERSION PKC_YDOC_CONFIG_V1

PKC_API void pkc_ydoc_config_default_versioned(int config_version, pkc_ydoc_config *cfg);
#define pkc_ydoc_config_default(CFG) \
    pkc_ydoc_config_default_versioned(PKC_YDOC_CONFIG_VERSION, (CFG))

/* Creates an empty document. `cfg` may be NULL (defaults). `rng` gives the
 * random client ids (the first one unless cfg->client_id is set, and the
 * new id taken when another peer turns out to use ours); it is borrowed for
 * the document's life (pkc_rng_system() is the real one).
 * Returns 0, PKC_ERR_NOMEM or PKC_ERR_INVALID_ARG (rng NULL, client id
 * >= 2^53). */
PKC_API PKC_NODISCARD int pkc_ydoc_new_versioned(int config_version, const pkc_ydoc_config *cfg,
                                                 const pkc_rng *rng, pkc_ydoc **out);
#define pkc_ydoc_new(CFG, RNG, OUT) \
    pkc_ydoc_new_versioned(PKC_YDOC_CONFIG_VERSION, (CFG), (RNG), (OUT))
/* Frees the document with every type, event and transaction handle of it.
 * Undo managers of the document must be freed first. Accepts NULL. Not
 * from inside a callback of this document. */
PKC_API void pkc_ydoc_free(pkc_ydoc *doc);
/* The client id used for this peer's next changes. */
PKC_API uint64_t pkc_ydoc_get_client_id(const pkc_ydoc *doc);

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
PKC_API const void *pkc_ytxn_get_origin(const pkc_ytxn *txn);
/* 1 when the transaction's changes were made here, 0 when they came from
 * an update. */
PKC_API int pkc_ytxn_is_local(const pkc_ytxn *txn);

/* ---- Updates and state vectors ------------------------------------------ */

/*
 * Applies a Yjs update (v1; _v2 for the v2 format) as a remote change with
 * `origin` (may be NULL). Structs whose dependencies are missing are kept
 * and applied when those arrive (pkc_ydoc_has_pending). Returns 0 or
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
PKC_API PKC_NODISCARD int pkc_ydoc_encode_state_vector(const pkc_ydoc *doc, uint8_t **out,
                                                size_t *out_len);
/* 1 when structs or deletes wait for missing dependencies. */
PKC_API int pkc_ydoc_has_pending(const pkc_ydoc *doc);

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
PKC_API PKC_NODISCARD int pkc_yupdate_encode_state_vector(const uint8_t *update, size_t len,
                                                   uint8_t **out, size_t *out_len);
PKC_API PKC_NODISCARD int pkc_yupdate_v2_to_v1(const uint8_t *update, size_t len, uint8_t **out,
                                               size_t *out_len);

/* ---- Types (common) ------------------------------------------------------ */

/* The kind of a type (PKC_YUNDEFINED for a root never accessed with one). */
PKC_API pkc_ytype_kind pkc_ytype_get_kind(const pkc_ytype *t);
/* Length of the list part: elements of an Array or XML node's children,
 * UTF-16 units of a Text (embeds count 1). */
PKC_API size_t pkc_ytype_get_length(const pkc_ytype *t);
/* 1 if the type was deleted (its handle stays valid). */
PKC_API int pkc_ytype_is_deleted(const pkc_ytype *t);
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
PKC_API size_t pkc_ymap_get_size(const pkc_ytype *map);
/* All entries as one PKC_YV_OBJECT, in the order Yjs iterates them. */
PKC_API PKC_NODISCARD int pkc_ymap_get_entries(const pkc_ytype *map, pkc_yvalue **out);

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
PKC_API PKC_NODISCARD int pkc_ytext_to_string(const pkc_ytype *text, char **out, size_t *len);
/* Yjs's toDelta(): a PKC_YV_ARRAY of {insert, attributes?} objects.
 * *out malloc'd (pkc_yvalue_free). PKC_ERR_NOMEM. */
PKC_API PKC_NODISCARD int pkc_ytext_to_delta(const pkc_ytype *text, pkc_yvalue **out);
/*
 * Yjs's toDelta(snapshot, prevSnapshot): the text as it was at `snapshot`
 * (NULL: now), with the text that differs from `prev_snapshot` (NULL: none)
 * marked by the attribute `ychange`: {"type": "removed"} for text deleted
 * at `snapshot` but there at `prev_snapshot`, {"type": "added"} for text
 * there at `snapshot` but not at `prev_snapshot` (y-prosemirror's version
 * history). Both NULL: the same as pkc_ytext_to_delta. Snapshots are
 * Y.encodeSnapshot bytes (v1, as pkc_ydoc_encode_snapshot writes them); both are
 * borrowed for the call. The document is not changed (Yjs splits items at
 * the snapshots' boundaries and merges them again; pkc reads the pieces).
 *
 * As in Yjs: every piece of marked text is an op of its own (even next to
 * one marked alike); embeds carry the attributes of the text before them,
 * `ychange` included; formatting counts as it was at `snapshot`; and a
 * document that collects deleted content (gc, the default) has no removed
 * text left to show, so history views need documents with gc = 0.
 * *out malloc'd (pkc_yvalue_free). PKC_ERR_MALFORMED for snapshot bytes
 * that do not decode (trailing bytes included; *out is then untouched),
 * PKC_ERR_NOMEM.
 */
PKC_API PKC_NODISCARD int pkc_ytext_to_delta_at(const pkc_ytype *text, const uint8_t *snapshot,
                                             size_t snapshot_len, const uint8_t *prev_snapshot,
                                             size_t prev_len, pkc_yvalue **out);
/* Yjs's computeYChange: the value of `ychange` for a piece of text that was
 * added (added = 1) or removed (added = 0), whose first unit has the id
 * (client, clock). The value is borrowed until the callback is called again
 * or pkc_ytext_to_delta_at_cb returns (pkc copies it); NULL stands for
 * JavaScript's undefined. As in Yjs, a piece that follows one whose value
 * is an object with `user` (a number) equal to the piece's client and
 * `type` "added"/"removed" as this one joins it, without a new call. Called
 * on the caller's thread, during pkc_ytext_to_delta_at_cb; must not change
 * the document. */
typedef const pkc_yvalue *(*pkc_ytext_ychange_fn)(void *ud, int added, uint64_t client,
                                                  uint32_t clock);
/* pkc_ytext_to_delta_at with Yjs's computeYChange (`ychange` may be NULL: the
 * {"type"} values). Errors as pkc_ytext_to_delta_at. */
PKC_API PKC_NODISCARD int pkc_ytext_to_delta_at_cb(const pkc_ytype *text, const uint8_t *snapshot,
                                                size_t snapshot_len, const uint8_t *prev_snapshot,
                                                size_t prev_len, pkc_ytext_ychange_fn ychange,
                                                void *ud, pkc_yvalue **out);
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
PKC_API PKC_NODISCARD int pkc_yxml_get_child(const pkc_ytype *parent, size_t index, pkc_ytype **out);
/* The node name of an element (or hook); NULL for other types. Borrowed. */
PKC_API const char *pkc_yxml_get_name(const pkc_ytype *element);
/* The parent type, or NULL for a root or a deleted type. */
PKC_API pkc_ytype *pkc_ytype_get_parent(const pkc_ytype *t);
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
PKC_API PKC_NODISCARD int pkc_yxml_to_string(const pkc_ytype *t, char **out, size_t *len);

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
PKC_API pkc_ytype *pkc_yevent_get_target(const pkc_yevent *ev);
/* Path from the observed type to the target: an array of keys (strings)
 * and indices (numbers). Borrowed for the call. */
PKC_API const pkc_yvalue *pkc_yevent_get_path(const pkc_yevent *ev);
/* Changed keys: an object of key -> {"action": "add"|"update"|"delete",
 * "oldValue": value}. Borrowed for the call; NULL when out of memory. */
PKC_API const pkc_yvalue *pkc_yevent_get_keys(const pkc_yevent *ev);
/* The change of the list part as a delta: an array of {insert: [...]} /
 * {retain: n} / {delete: n} (for texts, insert holds a string or an embed
 * and ops may carry attributes). Borrowed for the call. */
PKC_API const pkc_yvalue *pkc_yevent_get_delta(const pkc_yevent *ev);

/* ---- Undo ---------------------------------------------------------------- */

typedef struct pkc_yundo pkc_yundo;

typedef struct pkc_yundo_config {
    /* Changes less than this many milliseconds apart merge into one undo
     * step (default 500, as Yjs). Measured with the undo manager's clock
     * (wall_ms). */
    uint32_t capture_timeout_ms;
} pkc_yundo_config;
#define PKC_YUNDO_CONFIG_V1 1
#define PKC_YUNDO_CONFIG_VERSION PKC_YUNDO_CONFIG_V1

PKC_API void pkc_yundo_config_default_versioned(int config_version, pkc_yundo_config *cfg);
#define pkc_yundo_config_default(CFG) \
    pkc_yundo_config_default_versioned(PKC_YUNDO_CONFIG_VERSION, (CFG))
/* An undo manager for changes to `scope` (n types of one document) made in
 * transactions whose origin is tracked: NULL and the undo manager itself
 * by default (pkc_yundo_track_origin adds more). `cfg` may be NULL
 * (defaults); `clock` times the capture timeout and is borrowed for the
 * undo manager's life (pkc_clock_system() is the real one). Returns 0,
 * PKC_ERR_INVALID_ARG (no types, clock NULL), PKC_ERR_NOMEM. */
PKC_API PKC_NODISCARD int pkc_yundo_new_versioned(pkc_ytype *const *scope, size_t n,
                                                  int config_version, const pkc_yundo_config *cfg,
                                                  const pkc_clock *clock, pkc_yundo **out);
#define pkc_yundo_new(SCOPE, N, CFG, CLOCK, OUT) \
    pkc_yundo_new_versioned((SCOPE), (N), PKC_YUNDO_CONFIG_VERSION, (CFG), (CLOCK), (OUT))
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
PKC_API PKC_NODISCARD int pkc_ydoc_encode_snapshot(const pkc_ydoc *doc, uint8_t **out, size_t *out_len);
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
 * "{}", as in y-protocols. Returns 0, PKC_ERR_INVALID_ARG (client id >=
 * 2^53), PKC_ERR_NOMEM. */
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
PKC_API size_t pkc_yawareness_get_clients(const pkc_yawareness *aw, uint64_t *ids, size_t max);
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

/*
 * Everything peers say to each other above a data channel: the session
 * handshake (mutual authentication bound to both DTLS certificates, an
 * ephemeral X25519 exchange, version and capability negotiation, optional
 * proof of work and invitation), then frames sealed with the session's keys.
 * Wire formats: docs/protocol.md, "proto". Design notes: docs/proto.md.
 *
 * Like the rest of the protocol core this does no I/O: a session takes the
 * data channel's messages and the time, and hands back messages to send and
 * events through callbacks.
 */

#define PKC_PROTO_VERSION 1
#define PKC_MSG_ID_BYTES 16
#define PKC_NONCE_BYTES 16
#define PKC_ROOM_SECRET_BYTES 32
#define PKC_ROOM_ID_BYTES 8
#define PKC_SESSION_ID_BYTES 32
#define PKC_FINGERPRINT_MAX_BYTES 64

/* Frame size: the plaintext of one session record (one data channel
 * message). Every decoder checks lengths against these limits before it
 * allocates or copies anything. */
#define PKC_FRAME_SIZE_DEFAULT 65536u
#define PKC_FRAME_SIZE_MIN 1024u
#define PKC_FRAME_SIZE_MAX 1048576u

/* Field limits (bytes). */
#define PKC_TOPIC_MAX 64
#define PKC_DOC_NAME_MAX 256
#define PKC_ADDRESS_MAX 200
#define PKC_ADDRESSES_MAX 16
#define PKC_PEX_MAX 64
#define PKC_REASON_TEXT_MAX 256
#define PKC_CONNECTION_ID_MAX 64

/* A borrowed byte range. */
typedef struct pkc_bytes {
    const uint8_t *data;
    size_t len;
} pkc_bytes;

typedef enum pkc_frame_type {
    PKC_FRAME_CONTROL = 1,  /* ping, pong, disconnect (handled by the session) */
    PKC_FRAME_ANNOUNCE = 2, /* a signed peer announcement */
    PKC_FRAME_DATA = 3,     /* a signed message to everyone or to one peer */
    PKC_FRAME_SYNC = 4,     /* y-protocols sync and awareness messages */
    PKC_FRAME_SIGNAL = 5,   /* offer, answer, candidates to relay to a peer */
    PKC_FRAME_PEX = 6,      /* peer exchange: signed announcements of others */
    PKC_FRAME_MESH = 7      /* opaque bytes of the mesh engine */
} pkc_frame_type;

/* Reasons for refusing or ending a session (on the wire as varuint). */
typedef enum pkc_reason {
    PKC_REASON_NONE = 0,         /* normal close */
    PKC_REASON_PROTOCOL = 1,     /* malformed or unexpected message */
    PKC_REASON_VERSION = 2,      /* no common protocol version */
    PKC_REASON_FINGERPRINT = 3,  /* DTLS fingerprints differ: relayed or forged endpoint */
    PKC_REASON_AUTH = 4,         /* bad signature or key confirmation */
    PKC_REASON_UNAUTHORIZED = 5, /* invitation or known peer required */
    PKC_REASON_POW = 6,          /* proof of work missing, insufficient, too costly */
    PKC_REASON_BLOCKED = 7,      /* temporarily blocked (rate, invalid messages) */
    PKC_REASON_WRONG_PEER = 8,   /* not the peer that was expected */
    PKC_REASON_SELF = 9,         /* both ends are the same identity */
    PKC_REASON_TIMEOUT = 10,     /* handshake did not finish in time */
    PKC_REASON_SHUTDOWN = 11     /* the peer is going away */
} pkc_reason;

/* "protocol", "version", ... for a reason code; "unknown" otherwise. */
PKC_API const char *pkc_reason_name(uint64_t reason);

/* --- Frames ------------------------------------------------------------ */

typedef enum pkc_control_action {
    PKC_CONTROL_PING = 1,
    PKC_CONTROL_PONG = 2,
    PKC_CONTROL_DISCONNECT = 3
} pkc_control_action;

typedef struct pkc_control {
    uint64_t action;         /* pkc_control_action */
    uint64_t ping_id;        /* ping, pong: pong echoes the ping's */
    uint64_t wall_ms;        /* ping, pong: the sender's wall clock */
    uint64_t rtt_us;         /* pong: the sender's latest RTT to us (0 unknown) */
    uint64_t reason;         /* disconnect: pkc_reason */
    pkc_bytes text;          /* disconnect: UTF-8, at most PKC_REASON_TEXT_MAX */
    uint64_t retry_after_ms; /* disconnect: 0 = none */
} pkc_control;

/* A peer announcement: a record signed by the peer it describes. */
typedef struct pkc_announce {
    const uint8_t *public_key;    /* Ed25519, 32 bytes */
    const uint8_t *dh_public_key; /* X25519, 32 bytes */
    uint64_t timestamp_ms;        /* when it was made (sender's wall clock) */
    uint64_t capabilities;
    size_t n_addresses;
    pkc_bytes addresses[PKC_ADDRESSES_MAX]; /* UTF-8, e.g. "udp:203.0.113.5:41000" */
    pkc_bytes extensions;         /* raw extension list (kept, not interpreted) */
    uint64_t pow_counter;
    const uint8_t *signature;     /* 64 bytes */
    pkc_bytes encoded;            /* the whole record, as PEX and relays pass it on */
    char peer_id[PKC_PEER_ID_SIZE]; /* derived from public_key */
} pkc_announce;

/* Flags of a DATA or SIGNAL message. */
#define PKC_MSG_DIRECT 0x01 /* to one peer (`to` present); else to everyone */
#define PKC_MSG_ROOM 0x02   /* payload encrypted with a room key */
#define PKC_MSG_SEALED 0x04 /* payload encrypted to the recipient (needs DIRECT) */

/*
 * A DATA or SIGNAL message. `hops` is outside the signature (relays
 * increment it); everything in `signed_part` is covered by `signature`,
 * which signs `digest` = BLAKE2b-256(label || 0x00 || signed_part) with the
 * label "pkc-data-v1" or "pkc-signal-v1". `id`, the message id, is the first
 * 16 bytes of the digest: the same at every peer, whoever relayed it, so the
 * mesh deduplicates by it.
 */
typedef struct pkc_message {
    uint64_t type;            /* PKC_FRAME_DATA or PKC_FRAME_SIGNAL, as decoded */
    uint64_t hops;
    unsigned flags;           /* PKC_MSG_* */
    const uint8_t *from;      /* sender's Ed25519 public key, 32 bytes */
    const uint8_t *to;        /* recipient's peer id hash, 20 bytes; NULL unless DIRECT */
    uint64_t timestamp_ms;
    const uint8_t *nonce;     /* 16 random bytes */
    pkc_bytes topic;          /* application channel, UTF-8, at most PKC_TOPIC_MAX */
    const uint8_t *room_id;   /* 8 bytes when ROOM, else NULL */
    const uint8_t *ephemeral; /* X25519 key, 32 bytes, when SEALED, else NULL */
    pkc_bytes payload;        /* as on the wire (ciphertext and tag when encrypted) */
    const uint8_t *signature; /* 64 bytes */
    pkc_bytes signed_part;
    uint8_t digest[32];           /* computed when decoded; what is signed */
    uint8_t id[PKC_MSG_ID_BYTES]; /* the first 16 bytes of digest */
    /* Set by pkc_message_open() (and by a session before delivery):
     * the payload in clear. For a message not encrypted it is `payload`;
     * for one this peer cannot open, data is NULL and `opened` is 0. */
    pkc_bytes plaintext;
    int opened;
} pkc_message;

typedef enum pkc_signal_kind {
    PKC_SIGNAL_OFFER = 1,
    PKC_SIGNAL_ANSWER = 2,
    PKC_SIGNAL_CANDIDATE = 3,
    PKC_SIGNAL_END_OF_CANDIDATES = 4,
    PKC_SIGNAL_BYE = 5
} pkc_signal_kind;

/* The content of a SIGNAL message (inside its sealed payload). */
typedef struct pkc_signal {
    uint64_t kind;        /* pkc_signal_kind */
    pkc_bytes connection; /* id of the connection attempt, chosen by the offerer */
    pkc_bytes body;       /* SDP or candidate line, UTF-8 */
} pkc_signal;

typedef enum pkc_sync_kind {
    PKC_SYNC_MESSAGE = 0,  /* y-protocols sync: step 1, step 2, update */
    PKC_SYNC_AWARENESS = 1 /* y-protocols awareness update */
} pkc_sync_kind;

typedef struct pkc_sync {
    uint64_t kind;     /* pkc_sync_kind; values up to 255 are carried unchanged */
    pkc_bytes doc;     /* document name, UTF-8, at most PKC_DOC_NAME_MAX */
    pkc_bytes message; /* the y-protocols message, as y-protocols encodes it */
} pkc_sync;

typedef struct pkc_pex {
    int request;          /* 1: asks for up to `max` announcements; 0: a response */
    uint64_t max;         /* request: 1..PKC_PEX_MAX */
    size_t count;         /* response: 0..PKC_PEX_MAX */
    pkc_bytes announcements[PKC_PEX_MAX]; /* response: encoded announcements */
} pkc_pex;

typedef struct pkc_frame {
    uint64_t type; /* pkc_frame_type, or any other value for an unknown type */
    union {
        pkc_control control;
        pkc_announce announce;
        pkc_message message; /* DATA and SIGNAL */
        pkc_sync sync;
        pkc_pex pex;
        pkc_bytes mesh;    /* MESH: the mesh engine's bytes */
        pkc_bytes unknown; /* unknown type: its body */
    };
} pkc_frame;
#define PKC_FRAME_V1 1
#define PKC_FRAME_VERSION PKC_FRAME_V1

/*
 * pkc_frame_encode(): writes one frame (type, length, body) to `out`
 * (`cap` bytes) and its size to *len. ANNOUNCE, DATA and SIGNAL frames are
 * written from their `encoded` / `signed_part` and `signature` (only `hops`
 * may differ from what was decoded: that is how a relay forwards), so they
 * are made with pkc_announce_create() and pkc_message_create(). Returns 0;
 * PKC_ERR_TOO_LARGE if the frame does not fit in `cap` (*len is then the
 * size needed) or exceeds PKC_FRAME_SIZE_MAX; PKC_ERR_INVALID_ARG or
 * PKC_ERR_RANGE for fields out of their limits.
 *
 * pkc_frame_decode(): decodes the first frame of `in` into *f, its size to
 * *consumed. Pointers in *f borrow `in`. A frame longer than `max_size` is
 * refused (PKC_ERR_TOO_LARGE) from its length field alone. A type this
 * version does not know decodes with f->unknown set to its body, so callers
 * skip it. Checks syntax and limits only, not signatures (see
 * pkc_announce_verify(), pkc_message_verify()). Encodings are canonical
 * (shortest varuints), so an accepted frame re-encodes to the same bytes.
 * Returns 0, PKC_ERR_TRUNCATED, PKC_ERR_MALFORMED, PKC_ERR_RANGE,
 * PKC_ERR_TOO_LARGE; *f and *consumed are untouched on failure.
 */
PKC_API PKC_NODISCARD int pkc_frame_encode_versioned(int struct_version, const pkc_frame *f,
                                                     uint8_t *out, size_t cap, size_t *len);
#define pkc_frame_encode(F, OUT, CAP, LEN) \
    pkc_frame_encode_versioned(PKC_FRAME_VERSION, (F), (OUT), (CAP), (LEN))
PKC_API PKC_NODISCARD int pkc_frame_decode_versioned(const uint8_t *in, size_t len,
                                                     size_t max_size, int struct_version,
                                                     pkc_frame *f, size_t *consumed);
#define pkc_frame_decode(IN, LEN, MAX_SIZE, F, CONSUMED) \
    pkc_frame_decode_versioned((IN), (LEN), (MAX_SIZE), PKC_FRAME_VERSION, (F), (CONSUMED))

/* --- Announcements ----------------------------------------------------- */

typedef struct pkc_announce_params {
    uint64_t timestamp_ms;  /* normally pkc_clock wall_ms */
    uint64_t capabilities;
    const char *const *addresses; /* NUL-terminated UTF-8 strings, may be NULL */
    size_t n_addresses;
    uint32_t pow_bits;      /* work to put in (0..32); receivers decide what they require */
} pkc_announce_params;
#define PKC_ANNOUNCE_PARAMS_V1 1
#define PKC_ANNOUNCE_PARAMS_VERSION PKC_ANNOUNCE_PARAMS_V1

/*
 * pkc_announce_create(): signs an announcement of `id` and returns it as a
 * malloc'd ANNOUNCE frame in *frame (free() it), ready for
 * pkc_session_send_encoded(). Finding the proof of work takes about
 * 2^pow_bits hashes. Returns 0, PKC_ERR_RANGE, PKC_ERR_INVALID_ARG,
 * PKC_ERR_NOMEM.
 *
 * pkc_announce_decode(): decodes an announcement record (the body of an
 * ANNOUNCE frame or an entry of a PEX response); pointers borrow `in`.
 *
 * pkc_announce_verify(): checks the signature, that the timestamp is within
 * [now_ms - max_age_ms, now_ms + max_skew_ms], and that the proof of work
 * has at least `pow_bits` bits. Returns 0, PKC_ERR_BAD_SIGNATURE,
 * PKC_ERR_STALE, PKC_ERR_POW.
 */
PKC_API PKC_NODISCARD int pkc_announce_create_versioned(const pkc_identity *id, int params_version,
                                                        const pkc_announce_params *p,
                                                        uint8_t **frame, size_t *frame_len);
#define pkc_announce_create(ID, P, FRAME, FRAME_LEN) \
    pkc_announce_create_versioned((ID), PKC_ANNOUNCE_PARAMS_VERSION, (P), (FRAME), (FRAME_LEN))
PKC_API PKC_NODISCARD int pkc_announce_decode(const uint8_t *in, size_t len, pkc_announce *a);
PKC_API PKC_NODISCARD int pkc_announce_verify(const pkc_announce *a, int64_t now_ms,
                                              int64_t max_age_ms, int64_t max_skew_ms,
                                              uint32_t pow_bits);

/* --- Messages (DATA and SIGNAL) ---------------------------------------- */

/* The key of a room: derived from the 32-byte room secret that invitations
 * carry. `id` names the key in messages, so a peer in several rooms knows
 * which one to use; it reveals nothing about the secret. */
typedef struct pkc_room_key {
    uint8_t key[32];
    uint8_t id[PKC_ROOM_ID_BYTES];
} pkc_room_key;

PKC_API void pkc_room_key_derive(const uint8_t secret[PKC_ROOM_SECRET_BYTES], pkc_room_key *out);

typedef struct pkc_message_params {
    uint64_t type;               /* PKC_FRAME_DATA or PKC_FRAME_SIGNAL */
    /* Recipient, for a direct message (may be NULL: to everyone). Sealing to
     * it needs its X25519 key, from its announcement. */
    const uint8_t *to_public_key;    /* 32 bytes, or NULL */
    const uint8_t *to_dh_public_key; /* 32 bytes, or NULL: not sealed */
    const pkc_room_key *room;    /* encrypt with this room key (broadcast), may be NULL */
    const char *topic;           /* may be NULL (empty) */
    size_t topic_len;
    const uint8_t *payload;      /* may be NULL when payload_len is 0 */
    size_t payload_len;
} pkc_message_params;
#define PKC_MESSAGE_PARAMS_V1 1
#define PKC_MESSAGE_PARAMS_VERSION PKC_MESSAGE_PARAMS_V1

/*
 * pkc_message_create(): makes a signed DATA or SIGNAL frame from `id` as a
 * malloc'd buffer in *frame (free() it) and, if `msg_id` is not NULL, writes
 * its message id. The timestamp comes from `clock`, the nonce (and the
 * ephemeral key of a sealed message) from `rng`. A SIGNAL must be sealed to
 * its recipient; its payload is the output of pkc_signal_encode(). Returns 0,
 * PKC_ERR_INVALID_ARG (inconsistent parameters: room and recipient key
 * together, a SIGNAL without a recipient key), PKC_ERR_TOO_LARGE,
 * PKC_ERR_CRYPTO (the recipient key is a small-order point), PKC_ERR_NOMEM.
 *
 * pkc_message_verify(): checks the signature (over the digest computed when
 * `m` was decoded from bytes for frame type `type`) and that the timestamp is
 * within [now_ms - max_age_ms, now_ms + max_skew_ms]. Returns 0,
 * PKC_ERR_BAD_SIGNATURE or PKC_ERR_STALE.
 *
 * pkc_message_open(): sets m->plaintext: for a message in clear, its
 * payload; for a room message, decrypts it with the matching key of `rooms`;
 * for a sealed message addressed to `self`, decrypts it with self's key.
 * `out` (at least m->payload.len bytes) receives decrypted bytes. Returns 0;
 * PKC_ERR_NOT_FOUND (no matching room key, or sealed to someone else:
 * m->opened stays 0); PKC_ERR_DECRYPT (tampered, or a key that does not fit).
 * Call it only on a verified message.
 */
PKC_API PKC_NODISCARD int pkc_message_create_versioned(const pkc_identity *id, int params_version,
                                                       const pkc_message_params *p,
                                                       const pkc_clock *clock, const pkc_rng *rng,
                                                       uint8_t **frame, size_t *frame_len,
                                                       uint8_t msg_id[PKC_MSG_ID_BYTES]);
#define pkc_message_create(ID, P, CLOCK, RNG, FRAME, FRAME_LEN, MSG_ID) \
    pkc_message_create_versioned((ID), PKC_MESSAGE_PARAMS_VERSION, (P), (CLOCK), (RNG), (FRAME), \
        (FRAME_LEN), (MSG_ID))
PKC_API PKC_NODISCARD int pkc_message_verify(const pkc_message *m, uint64_t type, int64_t now_ms,
                                             int64_t max_age_ms, int64_t max_skew_ms);
PKC_API PKC_NODISCARD int pkc_message_open(pkc_message *m, uint64_t type, const pkc_identity *self,
                                           const pkc_room_key *rooms, size_t n_rooms,
                                           uint8_t *out, size_t out_cap);

/* SIGNAL content: encode into `out` (cap bytes, *len set; PKC_ERR_TOO_LARGE
 * with *len = the size needed) and decode (pointers borrow `in`). */
PKC_API PKC_NODISCARD int pkc_signal_encode(const pkc_signal *s, uint8_t *out, size_t cap,
                                            size_t *len);
PKC_API PKC_NODISCARD int pkc_signal_decode(const uint8_t *in, size_t len, pkc_signal *s);

/* --- Replay window ----------------------------------------------------- */

/*
 * Remembers the ids of recent messages, in bounded memory, to refuse
 * replays while accepting messages in any order. A message is accepted once
 * if its timestamp is within [now - max_age, now + max_skew]; its id is
 * remembered until its timestamp leaves that window. Ids are kept per
 * sender (the message's signer, known by a keyed hash of its key), and a
 * sender holds at most `max_per_sender` of them; when a sender or the whole
 * window is full, the oldest arrival (the sender's, or of all) is
 * forgotten early and its sender is refused messages no newer than it
 * from then on. So one sender, whatever timestamps it claims, can only
 * shrink its own window, not anyone else's. Senders have places in
 * buckets, 8 to a bucket (the bucket chosen by the hash): a sender new to
 * a bucket whose places are all held is refused until one frees up
 * (docs/proto.md, "Replay window"). Sessions that share a window (or a
 * guard, below) use it from inside their calls: drive all of them from one
 * thread, or serialise the calls.
 *
 * Size it to the traffic: capacity >= new messages per second x (max_age +
 * max_skew) keeps every id until it expires (the default, 65536, is about
 * 100 a second over 10 min 30 s; about 80 bytes each, 5 MiB).
 */
typedef struct pkc_replay pkc_replay;

typedef struct pkc_replay_config {
    size_t capacity;       /* ids remembered (default 65536) */
    int64_t max_age_ms;    /* default 600000 (10 minutes) */
    int64_t max_skew_ms;   /* how far in the future a timestamp may be; default 30000 */
    size_t max_per_sender; /* ids one sender may hold; 0 (default): capacity / 32 */
} pkc_replay_config;
#define PKC_REPLAY_CONFIG_V1 1
#define PKC_REPLAY_CONFIG_VERSION PKC_REPLAY_CONFIG_V1

PKC_API void pkc_replay_config_default_versioned(int config_version, pkc_replay_config *cfg);
#define pkc_replay_config_default(CFG) \
    pkc_replay_config_default_versioned(PKC_REPLAY_CONFIG_VERSION, (CFG))
/* `rng` keys the window's hashing (so peers cannot aim ids or keys at one
 * spot); used only during the call. PKC_ERR_INVALID_ARG (capacity 0 or
 * above 2^24, negative times, max_per_sender above capacity),
 * PKC_ERR_NOMEM. */
PKC_API PKC_NODISCARD int pkc_replay_new_versioned(int config_version,
                                                   const pkc_replay_config *cfg,
                                                   const pkc_rng *rng, pkc_replay **out);
#define pkc_replay_new(CFG, RNG, OUT) \
    pkc_replay_new_versioned(PKC_REPLAY_CONFIG_VERSION, (CFG), (RNG), (OUT))
PKC_API void pkc_replay_free(pkc_replay *r);
/* A message `id` signed by `sender` (its 32-byte public key; NULL counts
 * as one anonymous sender). 0: new, and now remembered. PKC_ERR_REPLAY:
 * seen before. PKC_ERR_STALE: too old, too far in the future, no newer
 * than what the window has forgotten of this sender (or than its floor,
 * after a restart), or the sender's bucket has no place for a newcomer.
 * PKC_ERR_CLOSED after a final export. PKC_ERR_INVALID_ARG
 * for `now` beyond +-2^62. A refused message changes nothing. */
PKC_API PKC_NODISCARD int pkc_replay_check(pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES],
                                           const uint8_t sender[PKC_PUBLIC_KEY_BYTES],
                                           int64_t timestamp_ms, int64_t now_ms);
PKC_API size_t pkc_replay_get_count(const pkc_replay *r);

/*
 * Keeping a window across restarts (the format: docs/protocol.md, "Replay
 * window state"). A window lives in memory; a process that starts again
 * with a new one would accept again what the old one had seen. So:
 *
 * pkc_replay_export(): the window as bytes (malloc'd in *out, free() it):
 * its ids, what it has forgotten early, and the key of its hashing (keep
 * the bytes as private as the node's other state). With
 * PKC_REPLAY_EXPORT_FINAL the export is the window's last act: it refuses
 * every message afterwards (PKC_ERR_CLOSED), so the bytes hold all it ever
 * accepted; export so at shutdown. Without it (a periodic save), the
 * window goes on. PKC_ERR_INVALID_ARG, PKC_ERR_CLOSED, PKC_ERR_NOMEM.
 *
 * pkc_replay_import(): into a new window that has checked nothing yet, at
 * wall time `now_ms`. A final export restores everything; any other may
 * miss what the window accepted after it was written, stamped up to now +
 * max_skew, so the window then refuses every timestamp up to that (for
 * max_skew after the start, nothing is accepted). A final export is good
 * for one start: after importing it, overwrite it (a new export) or delete
 * it before the window accepts anything. PKC_ERR_TRUNCATED,
 * PKC_ERR_MALFORMED, PKC_ERR_RANGE, PKC_ERR_CHECKSUM (damaged: the message
 * says where), PKC_ERR_UNSUPPORTED (a newer format), PKC_ERR_STATE (the
 * window was used), PKC_ERR_INVALID_ARG; on failure the window is as it
 * was.
 *
 * pkc_replay_restart(): the process starts again without a saved window
 * (none, or it failed to import): refuse every timestamp up to now_ms +
 * max_skew, everything the previous process may have accepted. A node's
 * very first start needs neither call.
 */
#define PKC_REPLAY_EXPORT_FINAL 0x01u
PKC_API PKC_NODISCARD int pkc_replay_export(pkc_replay *r, unsigned flags, uint8_t **out,
                                            size_t *len);
PKC_API PKC_NODISCARD int pkc_replay_import(pkc_replay *r, const uint8_t *in, size_t len,
                                            int64_t now_ms);
PKC_API void pkc_replay_restart(pkc_replay *r, int64_t now_ms);

/* --- Guard: penalties and temporary blocks ----------------------------- */

/*
 * Remembers misbehaving peers (by peer id hash) across sessions: each
 * offence adds points, points decay over time, and a peer whose points reach
 * `block_points` is blocked for `block_ms`, doubled for each further block up
 * to `block_max_ms`. Sessions that share a guard refuse a blocked peer's
 * handshake with PKC_REASON_BLOCKED and the time left. Memory is bounded by
 * `capacity` peers (the least recently seen unblocked peer is forgotten
 * first).
 */
typedef struct pkc_guard pkc_guard;

typedef struct pkc_guard_config {
    size_t capacity;          /* default 1024 */
    uint32_t block_points;    /* default 100 */
    uint32_t decay_per_s;     /* points forgiven per second, default 5 */
    uint64_t block_ms;        /* first block, default 60000 */
    uint64_t block_max_ms;    /* longest block, default 3600000 */
    uint32_t invalid_points;  /* bad signature, undecryptable, malformed: default 20 */
    uint32_t excess_points;   /* each message over a rate limit: default 1 */
} pkc_guard_config;
#define PKC_GUARD_CONFIG_V1 1
#define PKC_GUARD_CONFIG_VERSION PKC_GUARD_CONFIG_V1

PKC_API void pkc_guard_config_default_versioned(int config_version, pkc_guard_config *cfg);
#define pkc_guard_config_default(CFG) \
    pkc_guard_config_default_versioned(PKC_GUARD_CONFIG_VERSION, (CFG))
/* `clock` is borrowed for the guard's life (monotonic time). */
PKC_API PKC_NODISCARD int pkc_guard_new_versioned(int config_version, const pkc_guard_config *cfg,
                                                  const pkc_clock *clock, pkc_guard **out);
#define pkc_guard_new(CFG, CLOCK, OUT) \
    pkc_guard_new_versioned(PKC_GUARD_CONFIG_VERSION, (CFG), (CLOCK), (OUT))
PKC_API void pkc_guard_free(pkc_guard *g);
/* Adds `points` for `reason` (copied, shortened to 95 bytes). Returns 0, or
 * PKC_ERR_BLOCKED if the peer is blocked now (by this or an earlier call). */
PKC_API int pkc_guard_penalise(pkc_guard *g, const uint8_t peer[PKC_PEER_ID_HASH_BYTES],
                               uint32_t points, const char *reason);
/* 0 if the peer may talk; PKC_ERR_BLOCKED with the time left (may be NULL)
 * and the reason (borrowed until the next guard call; may be NULL). */
PKC_API int pkc_guard_check(pkc_guard *g, const uint8_t peer[PKC_PEER_ID_HASH_BYTES],
                            uint64_t *retry_after_ms, const char **reason);
/* Lifts a block and forgets the peer's points. */
PKC_API void pkc_guard_forgive(pkc_guard *g, const uint8_t peer[PKC_PEER_ID_HASH_BYTES]);

/* --- Sessions ---------------------------------------------------------- */

typedef struct pkc_session pkc_session;

typedef enum pkc_session_state {
    PKC_SESSION_HANDSHAKE = 0,   /* not yet authenticated */
    PKC_SESSION_ESTABLISHED = 1, /* frames flow */
    PKC_SESSION_CLOSED = 2       /* ended; only pkc_session_free() is useful */
} pkc_session_state;

/* The responder's admission policy (pkc_session_config.require). With both
 * flags, either suffices. */
#define PKC_REQUIRE_PROOF 0x01 /* a valid proof of an invitation or room secret */
#define PKC_REQUIRE_KNOWN 0x02 /* a peer the is_known callback accepts */

typedef struct pkc_session_config {
    int initiator;                /* 1: this side speaks first (sends HELLO) */
    const pkc_identity *identity; /* borrowed for the session's life */
    /* SHA-256 (or -384/-512) fingerprints of the DTLS certificates, as in
     * SDP a=fingerprint, local and remote; copied. Both 0 bytes when the
     * session runs over a transport without DTLS (then nothing binds it to
     * the transport, and the session's own encryption is all there is). */
    const uint8_t *local_fingerprint;
    size_t local_fingerprint_len;
    const uint8_t *remote_fingerprint;
    size_t remote_fingerprint_len;
    uint64_t capabilities;        /* offered; the session uses both sides' common bits */
    uint32_t max_frame_size;      /* default PKC_FRAME_SIZE_DEFAULT */
    uint64_t handshake_timeout_ms;/* default 10000, from the last step answered */

    /* Initiator. */
    const uint8_t *expected_peer; /* 20-byte peer id hash (pkc_peer_id_parse), may be NULL */
    const uint8_t *proof_secret;  /* 32-byte invitation token or room secret, may be NULL */
    uint32_t max_pow_bits;        /* most work we agree to do (default 20: about 10^6
                                     hashes, done inside pkc_session_receive) */

    /* Responder. */
    unsigned require;             /* PKC_REQUIRE_*, 0 = anyone may connect */
    uint32_t pow_bits;            /* work demanded of the initiator (0..32, default 0) */
    const uint8_t (*proof_secrets)[32]; /* accepted invitation tokens / room secrets; copied */
    size_t n_proof_secrets;

    /* Both. */
    pkc_guard *guard;             /* shared blocks; borrowed, may be NULL (then the session
                                     keeps its own, which dies with it) */
    pkc_replay *replay;           /* shared replay window for DATA/SIGNAL; borrowed, may be NULL
                                     (then the session keeps its own, of 4096 ids, made with
                                     the first message and dying with the session: share one
                                     window among a node's sessions) */
    const pkc_room_key *rooms;    /* keys to open room messages; copied */
    size_t n_rooms;
    uint32_t announce_pow_bits;   /* required in received announcements, default 0 */
    int64_t message_max_age_ms;   /* default 600000 */
    int64_t announce_max_age_ms;  /* default 3600000 */
    int64_t max_clock_skew_ms;    /* default 30000 */
    uint32_t msg_rate, msg_burst;   /* frames per second, default 200 and 400 */
    uint64_t byte_rate, byte_burst; /* bytes per second, default 1 MiB and 4 MiB */
} pkc_session_config;
#define PKC_SESSION_CONFIG_V1 1
#define PKC_SESSION_CONFIG_VERSION PKC_SESSION_CONFIG_V1

/* The longest retry_after_ms a session reports from a peer (an hour, the
 * guard's default longest block); larger values are cut to it. */
#define PKC_RETRY_AFTER_MAX_MS 3600000u

/* How a session ended. */
typedef struct pkc_session_end {
    int error;               /* 0 for a normal close, else a PKC_ERR_* code */
    int by_peer;             /* 1: the peer ended it (REFUSE or DISCONNECT) */
    uint64_t reason;         /* pkc_reason */
    uint64_t retry_after_ms; /* from an authenticated BLOCKED refusal or disconnect, at
                                most PKC_RETRY_AFTER_MAX_MS; else 0 */
    const char *text;        /* a sentence, never NULL; valid during the callback */
    /* 0 when the end came from a REFUSE that was not authenticated (sent
     * before the handshake key existed, or its MAC did not verify): anyone
     * on the path could have sent it, so `reason` is only the peer's claim,
     * to show, not to act on, and retry_after_ms is 0. 1 otherwise: this
     * side ended it, or the peer did by a DISCONNECT (sealed) or a REFUSE
     * whose MAC verified. */
    int authenticated;
} pkc_session_end;

/*
 * Callbacks, called from inside pkc_session_start/receive/send/ping/close/
 * tick on the calling thread. Inside a callback, pkc_session_send*(),
 * pkc_session_ping() and pkc_session_close() may be called on the same
 * session; pkc_session_free() and pkc_session_receive() may not (free it
 * after the call returns; the send callback queues records, it does not hand
 * them synchronously to a session that could answer back). Pointers passed
 * to callbacks are valid only during the call.
 */
typedef struct pkc_session_callbacks {
    /* Required: send one record as one data channel message. A nonzero
     * return closes the session. */
    int (*send)(void *user_data, const uint8_t *record, size_t len);
    /* The peer is authenticated; frames may be sent. May be NULL. */
    void (*established)(void *user_data, pkc_session *s);
    /* A frame from the peer, checked: announcements and messages verified
     * (signature, time, proof of work), messages opened when this peer has
     * the key, PEX entries verified. CONTROL frames are handled by the
     * session and not passed on. May be NULL. */
    void (*frame)(void *user_data, pkc_session *s, const pkc_frame *f);
    /* A verified DATA or SIGNAL message whose id the replay window has seen:
     * not delivered as a frame (the mesh uses it to prune redundant links).
     * May be NULL. */
    void (*duplicate)(void *user_data, pkc_session *s, const pkc_frame *f);
    /* The session ended. Called once. May be NULL. */
    void (*closed)(void *user_data, pkc_session *s, const pkc_session_end *end);
    /* Responder with PKC_REQUIRE_KNOWN: is this public key a known peer?
     * Return nonzero to admit. May be NULL (nobody is known). */
    int (*is_known)(void *user_data, const uint8_t public_key[PKC_PUBLIC_KEY_BYTES]);
    /* Added in V2. Responder: the peer passed every check of its AUTH
     * (signatures, block list, proof of work, `require`);
     * pkc_session_get_info() gives its key, id and proof_key. Return 0 to
     * accept it: ACCEPT is sent and the session is established. Return
     * nonzero to refuse it: a REFUSE goes out with *reason (PKC_REASON_NONE
     * unless set) and the text written to `why` (why_cap bytes,
     * NUL-terminated; "refused" if left empty), and the session ends
     * (closed, with the reason's error, PKC_ERR_REFUSED for none). For an
     * admission that depends on the application's state at that moment (a
     * full room): a peer refused here never counts as connected on either
     * side. Must not close or free the session. May be NULL (accept). */
    int (*admit)(void *user_data, pkc_session *s, uint64_t *reason, char *why, size_t why_cap);
} pkc_session_callbacks;
#define PKC_SESSION_CALLBACKS_V1 1
#define PKC_SESSION_CALLBACKS_V2 2 /* adds admit */
#define PKC_SESSION_CALLBACKS_VERSION PKC_SESSION_CALLBACKS_V2

typedef struct pkc_session_stats {
    uint64_t records_in, records_out, frames_in, frames_out, bytes_in, bytes_out;
    uint64_t dropped_rate;      /* frames over the rate limits */
    uint64_t dropped_invalid;   /* bad signature, malformed, undecryptable */
    uint64_t dropped_stale;     /* timestamp outside the window */
    uint64_t dropped_replayed;  /* records replayed (sequence number seen) */
    uint64_t duplicates;        /* messages the replay window had seen */
    uint64_t unknown_skipped;   /* frames of unknown types */
    uint64_t signatures_checked; /* Ed25519 verifications done for the peer's frames */
    uint64_t verified_repeats;   /* announcements verified before in this session: not again */
} pkc_session_stats;

typedef struct pkc_session_info {
    pkc_session_state state;
    uint64_t version;                /* negotiated protocol version */
    uint64_t capabilities;           /* common capabilities */
    uint8_t peer_public_key[PKC_PUBLIC_KEY_BYTES];
    char peer_id[PKC_PEER_ID_SIZE];  /* "" until established */
    uint8_t session_id[PKC_SESSION_ID_BYTES]; /* channel binding, same at both ends */
    int proof_key;                   /* responder: index in proof_secrets the peer proved, or -1 */
    uint64_t rtt_us;                 /* latest ping round trip, 0 unknown */
    int64_t clock_offset_ms;         /* peer's wall clock minus ours, estimated by ping */
    pkc_session_stats stats;
} pkc_session_info;
#define PKC_SESSION_INFO_V1 1
#define PKC_SESSION_INFO_VERSION PKC_SESSION_INFO_V1

PKC_API void pkc_session_config_default_versioned(int config_version, pkc_session_config *cfg);
#define pkc_session_config_default(CFG) \
    pkc_session_config_default_versioned(PKC_SESSION_CONFIG_VERSION, (CFG))

/* Creates a session (copies cfg and cb; borrows clock and rng for its life).
 * Returns 0, PKC_ERR_INVALID_ARG (with what is wrong: a missing identity or
 * send callback, a fingerprint of another length than 0 or 16..64, limits
 * out of range), PKC_ERR_NOMEM. */
PKC_API PKC_NODISCARD int pkc_session_new_versioned(int config_version,
                                                    const pkc_session_config *cfg,
                                                    int callbacks_version,
                                                    const pkc_session_callbacks *cb,
                                                    void *user_data, const pkc_clock *clock,
                                                    const pkc_rng *rng, pkc_session **out);
#define pkc_session_new(CFG, CB, USER_DATA, CLOCK, RNG, OUT) \
    pkc_session_new_versioned(PKC_SESSION_CONFIG_VERSION, (CFG), PKC_SESSION_CALLBACKS_VERSION, \
        (CB), (USER_DATA), (CLOCK), (RNG), (OUT))
/* Frees without sending anything. Accepts NULL. */
PKC_API void pkc_session_free(pkc_session *s);

/* Initiator: sends HELLO. Responder: nothing. Call once, after new. */
PKC_API PKC_NODISCARD int pkc_session_start(pkc_session *s);

/*
 * One message received on the data channel. Returns 0 when it was accepted
 * (or contained only frames that were dropped for a reason that does not
 * condemn the peer: stale, duplicate, unknown type), or the reason it was
 * rejected: PKC_ERR_TOO_LARGE, PKC_ERR_MALFORMED, PKC_ERR_TRUNCATED,
 * PKC_ERR_DECRYPT, PKC_ERR_REPLAY, PKC_ERR_RATE_LIMITED, PKC_ERR_BAD_SIGNATURE,
 * PKC_ERR_BLOCKED, and during the handshake PKC_ERR_FINGERPRINT, PKC_ERR_POW,
 * PKC_ERR_UNAUTHORIZED, PKC_ERR_REFUSED, PKC_ERR_UNSUPPORTED, PKC_ERR_MISMATCH
 * (not the expected peer). Errors during the handshake end the session (the
 * closed callback says why, and the peer was sent a REFUSE); afterwards,
 * a bad record is dropped and counted, and the session ends only when the
 * guard blocks the peer. PKC_ERR_NOMEM when the receive buffers (grown
 * with the records and messages, up to max_frame_size) cannot grow: the
 * record or the encrypted message is dropped, not remembered as seen.
 * PKC_ERR_CLOSED after the end.
 */
PKC_API int pkc_session_receive(pkc_session *s, const uint8_t *record, size_t len);

/* Sends one frame (pkc_frame_encode()) in its own record. PKC_ERR_STATE
 * before the session is established, PKC_ERR_CLOSED after; encoding errors. */
PKC_API PKC_NODISCARD int pkc_session_send(pkc_session *s, const pkc_frame *f);
/* Sends already encoded frames (one or more, as pkc_frame_encode() or
 * pkc_message_create() made them) in one record: how the mesh sends one
 * message to many peers without encoding it again. PKC_ERR_TOO_LARGE if
 * above max_frame_size. */
PKC_API PKC_NODISCARD int pkc_session_send_encoded(pkc_session *s, const uint8_t *frames,
                                                   size_t len);
/* Sends a ping; the pong updates rtt_us and clock_offset_ms. */
PKC_API PKC_NODISCARD int pkc_session_ping(pkc_session *s);
/* Ends the session: a DISCONNECT (or a REFUSE during the handshake) with
 * `reason` and `text` (may be NULL) is sent, then the closed callback runs. */
PKC_API int pkc_session_close(pkc_session *s, pkc_reason reason, const char *text);

/* Monotonic time (us, as the session's clock) at which pkc_session_tick()
 * must be called, or UINT64_MAX if nothing is pending. */
PKC_API uint64_t pkc_session_get_deadline(const pkc_session *s);
/* Handles timeouts (the handshake's). */
PKC_API void pkc_session_tick(pkc_session *s);

PKC_API pkc_session_state pkc_session_get_state(const pkc_session *s);
PKC_API void pkc_session_get_info_versioned(const pkc_session *s, int info_version,
                                            pkc_session_info *info);
#define pkc_session_get_info(S, INFO) \
    pkc_session_get_info_versioned((S), PKC_SESSION_INFO_VERSION, (INFO))


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
 * pkc_mesh_get_deadline(). The engine answers through callbacks: bytes to
 * send to a neighbour, messages to deliver, and decisions: "connect to X"
 * (with signaling bytes to carry to X through the mesh), "disconnect X".
 * Peers are named by their 20-byte peer id hash (PKC_PEER_ID_HASH_BYTES).
 *
 * Mesh messages are not authenticated by the engine, except connection
 * signaling, which the engine signs and verifies end to end: the layer below
 * (proto) must deliver them only from the authenticated peer they claim to
 * come from, and broadcast payloads must be signed by their publisher and
 * checked in the validate callback.
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
 * Configuration. Call pkc_mesh_config_default() first; the defaults
 * (max_peers 8, heartbeat 10 s, gossip 5 s, ...) are explained in
 * docs/mesh.md. Versioned (docs/api.md, "Structs that grow"); the score
 * parameters are part of its layout.
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
#define PKC_MESH_CONFIG_V1 1
#define PKC_MESH_CONFIG_VERSION PKC_MESH_CONFIG_V1

PKC_API void pkc_mesh_config_default_versioned(int config_version, pkc_mesh_config *cfg);
#define pkc_mesh_config_default(CFG) \
    pkc_mesh_config_default_versioned(PKC_MESH_CONFIG_VERSION, (CFG))

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

/* A broadcast message, borrowed for the duration of a callback. It only
 * grows at its end and has no version. */
typedef struct pkc_mesh_message {
    const uint8_t *origin; /* PKC_PEER_ID_HASH_BYTES, as claimed by the message */
    const uint8_t *id;
    size_t id_len;
    const uint8_t *payload;
    size_t len;
    unsigned hops; /* links travelled, 1 for a neighbour's own message */
} pkc_mesh_message;

/*
 * Callbacks, copied at pkc_mesh_new() (versioned: fill the struct with a
 * designated initialiser, so that callbacks added later are NULL). They run on the thread that called the
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
    /* Signaling bytes (offer, answer, candidates) for the connection being
     * set up with `peer`. `peer` is verified: it signed these bytes for this
     * engine, recently (a minute either way of wall_ms), and they are not a
     * replay. Nothing unsigned, forged or replayed reaches this callback. */
    void (*signal)(void *user_data, const uint8_t *peer, const uint8_t *data, size_t len);
    /* Close (or stop setting up) the connection to `peer`. Messages passed to
     * send before this call should still be delivered. */
    void (*disconnect)(void *user_data, const uint8_t *peer, pkc_mesh_disconnect_reason reason);
} pkc_mesh_callbacks;
#define PKC_MESH_CALLBACKS_V1 1
#define PKC_MESH_CALLBACKS_VERSION PKC_MESH_CALLBACKS_V1

/*
 * Creates an engine for the peer of identity `self`: its peer id hash names
 * it in the mesh, and its key signs the engine's connection signaling (which
 * others check end to end; docs/protocol.md, "Routed messages"). `cfg` may be
 * NULL (defaults); `cfg` and `cb` are copied; `self`, `clock` and `rng` are
 * borrowed until pkc_mesh_free(). `clock` must give both clocks: wall_ms
 * stamps signaling. Returns 0, PKC_ERR_INVALID_ARG (a config field out of
 * range, named in pkc_errmsg(); a missing send callback; a struct version
 * this library does not know) or PKC_ERR_NOMEM.
 */
PKC_API PKC_NODISCARD int pkc_mesh_new_versioned(int config_version, const pkc_mesh_config *cfg,
                                                 int callbacks_version,
                                                 const pkc_mesh_callbacks *cb, void *user_data,
                                                 const pkc_identity *self, const pkc_clock *clock,
                                                 const pkc_rng *rng, pkc_mesh **out);
#define pkc_mesh_new(CFG, CB, USER_DATA, SELF, CLOCK, RNG, OUT) \
    pkc_mesh_new_versioned(PKC_MESH_CONFIG_VERSION, (CFG), PKC_MESH_CALLBACKS_VERSION, (CB), \
        (USER_DATA), (SELF), (CLOCK), (RNG), (OUT))
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
 * an inbound dial) it is an inbound connection, admitted like a high-priority
 * neighbour request: when the inbound slots are full (max_peers less two kept
 * for connections the engine chose itself), an inbound neighbour is given up
 * for it, never an outbound one nor the longest-connected or most useful
 * inbound ones (docs/mesh.md, "Admission and eviction"), or it is refused:
 * PKC_ERR_REFUSED (close the connection; nothing was sent to it). At most two
 * inbound neighbours may share an address prefix.
 * `addr_tag` (may be NULL) is the peer's network address: 4 bytes are taken
 * as an IPv4 address in network order (prefix /24), 16 bytes as IPv6 (/64),
 * anything else as an opaque tag that is its own prefix. It serves the
 * co-location penalty (same address) and the inbound limit per prefix.
 * Returns 0, PKC_ERR_REFUSED, PKC_ERR_EXISTS (already connected),
 * PKC_ERR_INVALID_ARG, PKC_ERR_MESH_BUSY.
 */
PKC_API int pkc_mesh_peer_connected(pkc_mesh *mesh, const uint8_t *peer, const uint8_t *addr_tag,
                                    size_t tag_len);
/*
 * What pkc_mesh_peer_connected() with the same arguments would answer now:
 * 0 (it would take the peer, possibly giving up an attempt of ours or an
 * inbound neighbour), or the error it would return, with the same message.
 * Nothing is sent and no callback runs; the one thing remembered is a
 * refusal for lack of inbound room, as pkc_mesh_peer_connected() remembers
 * it (for a while, lost outbound links are restored rather than left to
 * inbound ones). For an answer before the connection is confirmed to the
 * peer (pkc_session_callbacks.admit), so that a peer the mesh would refuse
 * is refused in its handshake instead of accepted and then dropped. Returns
 * 0, PKC_ERR_REFUSED, PKC_ERR_EXISTS, PKC_ERR_INVALID_ARG, PKC_ERR_MESH_BUSY
 * (inside a callback of this engine).
 */
PKC_API int pkc_mesh_peer_acceptable(pkc_mesh *mesh, const uint8_t *peer, const uint8_t *addr_tag,
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
 * PKC_ERR_MESH_NOT_NEIGHBOR (not connected), PKC_ERR_RATE_LIMITED,
 * PKC_ERR_MESH_GRAYLISTED (ignored), PKC_ERR_TRUNCATED / PKC_ERR_MALFORMED /
 * PKC_ERR_RANGE / PKC_ERR_TOO_LARGE (undecodable), PKC_ERR_MESH_PROTOCOL
 * (well-formed but not allowed: a loop, a forged path, a GRAFT storm, ...),
 * PKC_ERR_MESH_REJECTED (validation said REJECT), PKC_ERR_MESH_BUSY.
 * pkc_errmsg() says what was wrong.
 */
PKC_API int pkc_mesh_receive(pkc_mesh *mesh, const uint8_t *from, const uint8_t *data, size_t len);

/* Runs the timers that are due. Call it at pkc_mesh_get_deadline().
 * Returns 0 or PKC_ERR_MESH_BUSY. */
PKC_API int pkc_mesh_tick(pkc_mesh *mesh);
/* The monotonic time (pkc_clock mono_us) at which pkc_mesh_tick() must run
 * next; UINT64_MAX if never. */
PKC_API uint64_t pkc_mesh_get_deadline(pkc_mesh *mesh);

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
PKC_API int pkc_mesh_get_peer_score(pkc_mesh *mesh, const uint8_t *peer, double *score);

/* Leaves the mesh: DISCONNECT to every neighbour, then the disconnect
 * callback for each; pending attempts are cancelled. Afterwards the engine
 * seeks and admits no connections; free it. Returns 0 or PKC_ERR_MESH_BUSY. */
PKC_API int pkc_mesh_leave(pkc_mesh *mesh);

/* Metrics (the health of this peer's part of the mesh: neighbours,
 * connections made and lost, traffic rates, round trips, errors) and
 * protocol counters. Counters count since pkc_mesh_new(); rates cover the
 * last gossip interval. Versioned: written only as far as the caller's
 * version of the struct reaches. */
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
    uint64_t signals_rejected;    /* signaling for us that failed its checks
                                     (key, time, replay, signature) */
    uint64_t rreq_limited;        /* route requests dropped: over a neighbour's
                                     rate (2/s, burst 16) */
} pkc_mesh_stats;
#define PKC_MESH_STATS_V1 1
#define PKC_MESH_STATS_VERSION PKC_MESH_STATS_V1

PKC_API void pkc_mesh_get_stats_versioned(pkc_mesh *mesh, int stats_version, pkc_mesh_stats *out);
#define pkc_mesh_get_stats(MESH, OUT) \
    pkc_mesh_get_stats_versioned((MESH), PKC_MESH_STATS_VERSION, (OUT))

/* One neighbour. Versioned: an array of them has the caller's version's
 * size per element. */
typedef struct pkc_mesh_peer_info {
    uint8_t id[PKC_PEER_ID_HASH_BYTES];
    double score;
    double rtt_ms;          /* -1 until measured */
    uint64_t connected_us;  /* mono_us when admitted */
    int eager;              /* on the broadcast tree (Plumtree eager link) */
    int outbound;           /* this side asked for the connection */
} pkc_mesh_peer_info;
#define PKC_MESH_PEER_INFO_V1 1
#define PKC_MESH_PEER_INFO_VERSION PKC_MESH_PEER_INFO_V1

/* Writes up to `max` active neighbours to `out`; returns how many there are
 * (may exceed `max`). `out` may be NULL when `max` is 0. With an
 * info_version this library does not know (a program built against a newer
 * pkc.h), the size of the caller's elements is unknown: nothing is written,
 * 0 is returned and pkc_errmsg() says why. */
PKC_API size_t pkc_mesh_get_peers_versioned(pkc_mesh *mesh, int info_version,
                                            pkc_mesh_peer_info *out, size_t max);
#define pkc_mesh_get_peers(MESH, OUT, MAX) \
    pkc_mesh_get_peers_versioned((MESH), PKC_MESH_PEER_INFO_VERSION, (OUT), (MAX))

/* How a known peer that is not a neighbour is reached. */
typedef enum pkc_mesh_route_kind {
    PKC_MESH_ROUTE_NONE = 0,     /* known (a neighbour's list, a shuffle, a walk): no route now */
    PKC_MESH_ROUTE_RELAYED = 1,  /* a route of its own: through neighbour `via`, `hops` links */
    PKC_MESH_ROUTE_WAYPOINT = 2, /* no route of its own, but one to a peer it is a neighbour
                                    of: `via` is that route's first hop, `hops` one more */
} pkc_mesh_route_kind;

/* A peer known to the mesh that is not a neighbour. Versioned as
 * pkc_mesh_peer_info. */
typedef struct pkc_mesh_known_info {
    uint8_t id[PKC_PEER_ID_HASH_BYTES];
    int route;             /* pkc_mesh_route_kind */
    unsigned hops;         /* links along the route (2: a neighbour's neighbour); 0 without */
    uint8_t via[PKC_PEER_ID_HASH_BYTES]; /* next hop, a neighbour; zeros without a route */
    int pending;           /* a connection to it is being set up */
    int passive;           /* in the passive view: a candidate neighbour */
    uint64_t seen_us;      /* mono_us when last heard of or from; 0: only a route is known */
} pkc_mesh_known_info;
#define PKC_MESH_KNOWN_INFO_V1 1
#define PKC_MESH_KNOWN_INFO_VERSION PKC_MESH_KNOWN_INFO_V1

/* Writes up to `max` known peers that are not neighbours to `out`: the
 * peer records first (pending, passive, merely known), then destinations
 * known only by a route (the route table holds more than the records).
 * Returns how many there are (may exceed `max`). Routes are as the engine
 * would use them now: an expired route, or one through a neighbour since
 * lost, counts as none. `out` may be NULL when `max` is 0. An unknown
 * info_version: as pkc_mesh_get_peers. */
PKC_API size_t pkc_mesh_get_known_peers_versioned(pkc_mesh *mesh, int info_version,
                                                  pkc_mesh_known_info *out, size_t max);
#define pkc_mesh_get_known_peers(MESH, OUT, MAX) \
    pkc_mesh_get_known_peers_versioned((MESH), PKC_MESH_KNOWN_INFO_VERSION, (OUT), (MAX))


/* ======================================================================== */
/* node: the runtime a person runs and a program embeds                     */
/* ======================================================================== */

/*
 * A node binds the engines above into a running peer (docs/node.md): one
 * UDP port shared by every connection (an ICE-lite listener, so that peers
 * dial it without signaling), a WebRTC data channel and a pkc session per
 * neighbour and room, a mesh per room, messages and documents over the
 * mesh, LAN discovery, and a database (SQLite, WAL) in its data directory.
 *
 * Rooms. A node is in one or more rooms; a room is a mesh with a shared
 * secret. By default it is in the local room (every pkc node on the host
 * and LAN, whose secret is public: never for what a stranger must not
 * read) and in every room it joined before. Functions that take a `room`
 * accept NULL or "" (the node's default room: the first private room
 * joined in the configuration, else the local room), "local", a room's
 * 16-character hex id, or its name.
 *
 * Threads. A node runs on one thread, its loop thread: a thread of its own
 * (pkc_node_start), the caller's (pkc_node_run, which returns after
 * pkc_node_stop), or the caller's event loop (pkc_node_open, below). Every other pkc_node_* function may be called from
 * any thread: from another thread it waits until the loop thread has done
 * the work (so it must not be called while holding a lock a callback
 * takes); from the loop thread (inside a callback) it runs at once.
 * Callbacks run on the loop thread, never concurrently with each other.
 * pkc_node_free() must not be called from a callback.
 *
 * Errors: every function returns 0 or a negative PKC_ERR_* code with
 * pkc_errmsg() set on the calling thread. PKC_ERR_STATE: the node is not
 * running (for functions that need the network) or was stopped.
 */
typedef struct pkc_node pkc_node;

typedef struct pkc_node_config {
    /* Where the identity (identity.key), the database (pkc.db), the DTLS
     * certificate and the control socket live; created 0700 if missing.
     * Required; copied. */
    const char *data_dir;
    /* The local room: 1 (join it), 0 (leave it: not joined, not
     * announced). */
    int local_room;
    /* Same-host and LAN discovery (multicast announcements): 1. */
    int lan;
    /* Passphrases of private rooms to join (Argon2id derives each room's
     * secret; docs/protocol.md, "Rooms"); copied. Joined rooms are
     * remembered in the database. May be NULL. */
    const char *const *rooms;
    size_t n_rooms;
    /* The seed's keys. */
    unsigned max_peers;             /* neighbours per room: 8 */
    const char *const *stun_servers; /* "HOST:PORT", at most 16; copied; may be NULL.
                                        Each new attempt starts with the next one. The
                                        node asks the first 4 addresses for its
                                        reflexive address every 10 s and gives it in
                                        its dial information (docs/node.md, "Across
                                        NATs"). */
    size_t n_stun_servers;
    uint32_t gossip_interval_ms;    /* 5000 */
    uint32_t heartbeat_interval_ms; /* 10000 */
    int sync;                       /* documents synced with peers: 1 */
    /* The UDP port of every connection: 0 = any free port. */
    uint16_t port;
    /* The control socket (<data_dir>/control.sock, mode 0600) that the
     * pkc command talks to: 1. */
    int control;
    /* Direct messages waiting in the outbox are tried again every: 5000 ms. */
    uint32_t outbox_retry_ms;
    /* Version 2: DNS seeds (docs/discovery.md "Lookup over DNS over HTTPS").
     * Domains whose seeds ("_pkc.<domain>" TXT records) the node looks up
     * when it starts and again when the answer's TTL runs out; it dials
     * each seed of a room it is in, proving the room's secret. At most 8;
     * copied; may be NULL. */
    const char *const *seed_domains;
    size_t n_seed_domains;
    /* DNS over HTTPS resolvers ("https://HOST[:PORT]/PATH"), tried in
     * order: required with seed_domains (at most 8; copied). */
    const char *const *doh_resolvers;
    size_t n_doh_resolvers;
    const char *doh_ca_file; /* CAs to trust for them; NULL: the system's; copied */
} pkc_node_config;
#define PKC_NODE_CONFIG_V1 1
#define PKC_NODE_CONFIG_V2 2 /* adds seed_domains, doh_resolvers, doh_ca_file */
#define PKC_NODE_CONFIG_VERSION PKC_NODE_CONFIG_V2

PKC_API void pkc_node_config_default_versioned(int config_version, pkc_node_config *cfg);
#define pkc_node_config_default(CFG) \
    pkc_node_config_default_versioned(PKC_NODE_CONFIG_VERSION, (CFG))

/* A peer connected or disconnected, in a room. Borrowed for the call. */
typedef struct pkc_node_peer_event {
    const char *peer_id; /* PKC_PEER_ID_LEN characters */
    const char *room;    /* the room's hex id */
    int connected;       /* 1: now a neighbour; 0: no longer */
} pkc_node_peer_event;

/* What became of an invitation. Borrowed for the call. */
typedef enum pkc_node_invite_outcome {
    /* Inviter: an invitee completed the handshake with this invitation (a
     * single-use one is now used up). */
    PKC_NODE_INVITE_USED = 1,
    /* Invitee: the handshake with the inviter completed; the room is
     * joined and remembered. */
    PKC_NODE_INVITE_JOINED = 2,
    /* Invitee: the inviter refused the invitation (`reason` says why:
     * expired, already used, ...); the room is left. */
    PKC_NODE_INVITE_REFUSED = 3
} pkc_node_invite_outcome;
typedef struct pkc_node_invite_event {
    pkc_node_invite_outcome outcome;
    const char *invite_id; /* 16 hex characters */
    const char *room;      /* the room's hex id */
    const char *peer_id;   /* the other side: invitee (USED), inviter (JOINED, REFUSED) */
    const char *reason;    /* REFUSED: the inviter's words; otherwise "" */
} pkc_node_invite_event;

/* How far a document's state arriving from a peer has come: reported
 * while a sync message too large for one frame (over about 250 KiB: the
 * first sync of a large document) arrives in fragments, at most ten times
 * a second per document and peer, and always at the end (`done`).
 * Borrowed for the call. */
typedef struct pkc_node_sync_event {
    const char *room;    /* the room's hex id */
    const char *doc;     /* the document's name */
    const char *peer_id; /* who sends it */
    uint64_t received;   /* bytes of the message received so far */
    uint64_t total;      /* bytes of the whole message */
    /* 1: the last report of this message: applied (received == total),
     * or given up (received < total: the channel closed, a fragment was
     * malformed; the next sync starts again). */
    int done;
} pkc_node_sync_event;

/* A message received (or, for the inbox, stored). Borrowed for the call. */
typedef struct pkc_node_message {
    int64_t seq;               /* its place in the inbox (increasing) */
    uint8_t id[PKC_MSG_ID_BYTES];
    const char *from;          /* sender's peer id */
    const char *room;          /* the room's hex id */
    int direct;                /* 1: sent to this node only (sealed to it) */
    int64_t time_ms;           /* the sender's timestamp */
    const uint8_t *data;       /* the text or bytes sent */
    size_t len;
} pkc_node_message;

typedef struct pkc_node_callbacks {
    void (*peer)(void *user_data, pkc_node *node, const pkc_node_peer_event *ev);
    /* A broadcast or direct message arrived and is stored in the inbox. */
    void (*message)(void *user_data, pkc_node *node, const pkc_node_message *msg);
    /* A direct message this node sent was acknowledged by its recipient. */
    void (*delivered)(void *user_data, pkc_node *node, const uint8_t id[PKC_MSG_ID_BYTES]);
    /* Document `doc` of `room` changed (local: 1 when made on this node). */
    void (*doc)(void *user_data, pkc_node *node, const char *room, const char *doc, int local);
    /* Version 2: what became of an invitation (see pkc_node_invite_create). */
    void (*invite)(void *user_data, pkc_node *node, const pkc_node_invite_event *ev);
    /* Version 2: a document's state arriving in fragments, so far. */
    void (*sync)(void *user_data, pkc_node *node, const pkc_node_sync_event *ev);
} pkc_node_callbacks;
#define PKC_NODE_CALLBACKS_V1 1
#define PKC_NODE_CALLBACKS_V2 2 /* adds `invite` and `sync` */
#define PKC_NODE_CALLBACKS_VERSION PKC_NODE_CALLBACKS_V2

/*
 * Creates a node: loads (or creates) the identity and the database of
 * cfg->data_dir and joins the rooms; nothing touches the network before
 * pkc_node_start() or pkc_node_run(). `cb` may be NULL; it is copied.
 * Returns 0; PKC_ERR_INVALID_ARG (no data_dir, a field out of range);
 * PKC_ERR_AGAIN (another node runs on this data directory);
 * PKC_ERR_PERMISSION / PKC_ERR_IO / PKC_ERR_MALFORMED / PKC_ERR_CHECKSUM
 * (identity file); PKC_ERR_NOMEM. A damaged database is moved aside (the
 * message says where) and a fresh one is made: documents come back from
 * peers.
 */
PKC_API PKC_NODISCARD int pkc_node_new_versioned(int config_version, const pkc_node_config *cfg,
                                                 int callbacks_version,
                                                 const pkc_node_callbacks *cb, void *user_data,
                                                 pkc_node **out);
#define pkc_node_new(CFG, CB, USER_DATA, OUT) \
    pkc_node_new_versioned(PKC_NODE_CONFIG_VERSION, (CFG), PKC_NODE_CALLBACKS_VERSION, (CB), \
        (USER_DATA), (OUT))
/* Stops the node if it runs, then frees it. Accepts NULL. */
PKC_API void pkc_node_free(pkc_node *node);

/* Starts the node on a thread of its own. Returns 0, PKC_ERR_STATE
 * (already started or stopped), PKC_ERR_IO (the UDP port, the control
 * socket), PKC_ERR_NOMEM. */
PKC_API PKC_NODISCARD int pkc_node_start(pkc_node *node);
/* Runs the node on the calling thread until pkc_node_stop() (from a
 * callback, another thread or a signal handler's thread via
 * pkc_node_stop). Returns 0 after a stop, or an error as pkc_node_start. */
PKC_API PKC_NODISCARD int pkc_node_run(pkc_node *node);
/* Leaves every mesh (DISCONNECT to each neighbour), writes what is
 * pending, and ends the loop; waits for the loop thread unless called on
 * it. Safe to call more than once. */
PKC_API void pkc_node_stop(pkc_node *node);

/*
 * On the caller's event loop (libuv's way of embedding one loop in
 * another): pkc_node_open() sets the node up on the calling thread, which
 * becomes its loop thread, and returns at once. The caller then watches
 * pkc_node_get_fd() for reading (a uv_poll_t on its own uv loop, or poll(2))
 * and calls pkc_node_process() when it is readable and when
 * pkc_node_get_timeout() milliseconds have passed (-1: no timer), on that
 * thread. pkc_node_process() returns 0, or PKC_ERR_CLOSED once the node has
 * stopped (after pkc_node_stop() from any thread: the next
 * pkc_node_process() finishes the stop). Free the node on that thread.
 * Other threads may call the node's functions as usual: they wait for the
 * next pkc_node_process().
 */
PKC_API PKC_NODISCARD int pkc_node_open(pkc_node *node);
PKC_API int pkc_node_get_fd(const pkc_node *node);
PKC_API int pkc_node_get_timeout(const pkc_node *node);
PKC_API int pkc_node_process(pkc_node *node);

/* This node's peer id (borrowed until pkc_node_free). */
PKC_API const char *pkc_node_get_peer_id(const pkc_node *node);
/* The UDP port every connection uses; 0 before the node runs. */
PKC_API uint16_t pkc_node_get_port(pkc_node *node);

/* Joins the private room of `passphrase` (at least 8 bytes) and remembers
 * it; `name` (may be NULL) is a display name. Writes the room's hex id to
 * `room_id` (17 bytes; may be NULL). Returns 0, PKC_ERR_EXISTS (joined
 * already: room_id is still written), PKC_ERR_INVALID_ARG. */
PKC_API PKC_NODISCARD int pkc_node_join(pkc_node *node, const char *passphrase, const char *name,
                                        char room_id[17]);
/* Leaves a room and forgets it (its documents and messages stay in the
 * database). Returns 0, PKC_ERR_NOT_FOUND. */
PKC_API PKC_NODISCARD int pkc_node_leave(pkc_node *node, const char *room);

/*
 * Invitations (docs/node.md "Invitations", docs/protocol.md "Invitations").
 * An invitation is a signed code, shown as a URL BASE#CODE, that brings a
 * peer into a room from anywhere: it carries the room's secret and how to
 * reach the inviter. Treat it as a secret until it expires.
 *
 * Two-step (works between any two peers): the invitee accepts the code
 * (pkc_node_invite_accept), which gives an answer code; the inviter applies
 * the answer (pkc_node_invite_answer) and dials the invitee. One-step (the
 * inviter is reachable: same LAN, public address, or a NAT that keeps its
 * mapping): accepting the code also dials the inviter at once, and the
 * inviter admits the invitee inside the session handshake, where it proves
 * the invitation's token. Both run for every invitation; `one_step` tells
 * the invitee that no answer is needed.
 *
 * The invitee's room is joined for good only once a handshake with the
 * inviter proved the invitation (PKC_NODE_INVITE_JOINED). A single-use
 * invitation is used up by that handshake, never by reading the code or
 * opening the link. The inviter's invitations survive its restarts.
 */
typedef struct pkc_node_invite_options {
    const char *room;     /* id or name; NULL: the default room */
    uint32_t expires_s;   /* lifetime, 1 s .. 30 days; 0: 300 (5 minutes) */
    int single_use;       /* used up by the first invitee's handshake */
    int one_step;         /* tell invitees that no answer is needed */
    const char *url_base; /* NULL: "https://pkc.invalid/join"; the code goes after '#' */
} pkc_node_invite_options;
#define PKC_NODE_INVITE_OPTIONS_V1 1
#define PKC_NODE_INVITE_OPTIONS_VERSION PKC_NODE_INVITE_OPTIONS_V1

#define PKC_NODE_INVITE_TEXT_MAX 1400 /* a URL or code with its NUL, always enough */

typedef struct pkc_node_invitation {
    char url[PKC_NODE_INVITE_TEXT_MAX];  /* BASE#CODE */
    char code[PKC_NODE_INVITE_TEXT_MAX]; /* "PKCI1..." (an offer) or "PKCA1..." (an answer) */
    char id[17];                         /* the invitation's id, hex */
    char room[17];                       /* the room's hex id */
    char room_name[64];
    char peer_id[PKC_PEER_ID_SIZE]; /* accept: the inviter; create: ours */
    uint64_t expires_ms;            /* Unix ms */
    int one_step, single_use;
} pkc_node_invitation;
#define PKC_NODE_INVITATION_V1 1
#define PKC_NODE_INVITATION_VERSION PKC_NODE_INVITATION_V1

/* Makes an invitation to a room into *out (url, code, id, expiry). Returns
 * 0; PKC_ERR_NOT_FOUND (no such room); PKC_ERR_INVALID_ARG (options);
 * PKC_ERR_STATE (the node does not run: it has no address to give);
 * PKC_ERR_NOMEM, PKC_ERR_IO (storing it). */
PKC_API PKC_NODISCARD int pkc_node_invite_create_versioned(pkc_node *node, int options_version,
                                                           const pkc_node_invite_options *opts,
                                                           int out_version,
                                                           pkc_node_invitation *out);
#define pkc_node_invite_create(NODE, OPTS, OUT) \
    pkc_node_invite_create_versioned((NODE), PKC_NODE_INVITE_OPTIONS_VERSION, (OPTS), \
        PKC_NODE_INVITATION_VERSION, (OUT))

/*
 * DNS seed records (docs/protocol.md "DNS seed records"): the TXT record
 * that lets nodes knowing a room's secret find this node through DNS, as a
 * master-file line to publish:
 *   _pkc.example.org. 300 IN TXT "pkc1=..." "..."
 * It carries our identity key, the room's id (never its secret), our
 * listener's dial information and a sequence (our wall clock in ms, strictly
 * increasing), signed. Publishing it is the caller's business.
 */
typedef struct pkc_node_dns_record_options {
    const char *room;   /* id or name; NULL: the default room */
    const char *domain; /* required: "example.org" (labels 1..63, at most 253 bytes) */
    uint32_t ttl_s;     /* 1 .. 2^31 - 1; 0: 300 */
    int per_peer;       /* owner "_pkc.<our peer id>.<domain>" instead of "_pkc.<domain>" */
} pkc_node_dns_record_options;
#define PKC_NODE_DNS_RECORD_OPTIONS_V1 1
#define PKC_NODE_DNS_RECORD_OPTIONS_VERSION PKC_NODE_DNS_RECORD_OPTIONS_V1

/* A zone line with its NUL always fits in this many bytes. */
#define PKC_NODE_DNS_RECORD_MAX 1024

/* Writes the zone line of our record for a room and a NUL into `out`.
 * Returns its length; PKC_ERR_NOT_FOUND (no such room); PKC_ERR_INVALID_ARG
 * (no domain, a domain that is not one, the TTL); PKC_ERR_STATE (the node
 * does not run: it has no address to give); PKC_ERR_TOO_LARGE (out_size). */
PKC_API PKC_NODISCARD int pkc_node_dns_record_versioned(pkc_node *node, int options_version,
                                                        const pkc_node_dns_record_options *opts,
                                                        char *out, size_t out_size);
#define pkc_node_dns_record(NODE, OPTS, OUT, SIZE) \
    pkc_node_dns_record_versioned((NODE), PKC_NODE_DNS_RECORD_OPTIONS_VERSION, (OPTS), (OUT), \
        (SIZE))

/*
 * DNS seed lookup over DNS over HTTPS (RFC 8484; docs/discovery.md "Lookup
 * over DNS over HTTPS"). A pkc_doh holds the resolvers to ask, in order,
 * and a cache of their answers (kept for the answer's TTL). Each lookup
 * asks for the TXT records at "_pkc.<domain>" (or "_pkc.<peer id>.<domain>")
 * with an HTTP/2 GET (dns=, base64url) or POST of application/dns-message,
 * DNS id 0, padded to 128 bytes (RFC 8467); TLS is always verified (the
 * system's CAs or `ca_file`). An answer that is malformed, truncated, an
 * HTTP error, a certificate that does not verify or a resolver that does
 * not answer within the timeout counts as no answer: the reason is logged
 * and the next resolver asked. Every record is checked (docs/protocol.md
 * "DNS seed records": format, signature, the peer of a per-peer name, a
 * sequence not older than the last seen from its key) before it is given.
 * Lookups block the calling thread (the node runs them on a libuv worker
 * thread); a pkc_doh may be used from several threads.
 */
typedef struct pkc_doh pkc_doh;

typedef struct pkc_doh_config {
    /* "https://HOST[:PORT]/PATH" (only https), tried in order; 1..8 of
     * them; copied. */
    const char *const *resolvers;
    size_t n_resolvers;
    const char *ca_file;  /* PEM file of the CAs to trust; NULL: the system's; copied */
    uint32_t timeout_ms;  /* per resolver, connection to answer: 5000 */
    int post;             /* 1: POST; 0: GET with dns= (cacheable by HTTP caches) */
} pkc_doh_config;
#define PKC_DOH_CONFIG_V1 1
#define PKC_DOH_CONFIG_VERSION PKC_DOH_CONFIG_V1

PKC_API void pkc_doh_config_default_versioned(int config_version, pkc_doh_config *cfg);
#define pkc_doh_config_default(CFG) \
    pkc_doh_config_default_versioned(PKC_DOH_CONFIG_VERSION, (CFG))

/* Returns 0; PKC_ERR_INVALID_ARG (no resolver, more than 8, one that is not
 * an https URL, a ca_file that cannot be read, no clock); PKC_ERR_NOMEM;
 * PKC_ERR_IO (libcurl cannot start). `clock` is borrowed (cache expiry). */
PKC_API PKC_NODISCARD int pkc_doh_new_versioned(int config_version, const pkc_doh_config *cfg,
                                                const pkc_clock *clock, pkc_doh **out);
#define pkc_doh_new(CFG, CLOCK, OUT) \
    pkc_doh_new_versioned(PKC_DOH_CONFIG_VERSION, (CFG), (CLOCK), (OUT))
PKC_API void pkc_doh_free(pkc_doh *d);

/* One seed found: a peer that publishes itself for a room. */
typedef struct pkc_dns_seed {
    char peer_id[PKC_PEER_ID_SIZE];
    char room[17];      /* the room's hex id (the record never holds its secret) */
    uint64_t sequence;  /* the publisher's wall clock in ms when it made the record */
    uint32_t ttl_s;     /* seconds the answer stays valid (in the cache) */
    int cached;         /* 1: from the cache, not asked again */
    size_t n_addresses; /* 1..8 */
    char addresses[8][64]; /* "udp:IP:PORT" */
} pkc_dns_seed;
#define PKC_DNS_SEED_V1 1
#define PKC_DNS_SEED_VERSION PKC_DNS_SEED_V1

/* Looks up the seeds of `domain` ("_pkc.<domain>"; "_pkc.<peer_id>.<domain>"
 * when peer_id is not NULL) into out[0..max). Returns how many (0: an
 * answer without a valid record, each refusal logged); PKC_ERR_INVALID_ARG
 * (the domain, the peer id); PKC_ERR_NOT_FOUND (no such name or no TXT
 * record: NXDOMAIN, NODATA); PKC_ERR_TIMEOUT or PKC_ERR_IO (no resolver
 * answered: the last one's reason in pkc_errmsg(), each in the log). */
PKC_API PKC_NODISCARD int pkc_doh_lookup_versioned(pkc_doh *d, const char *domain,
                                                   const char *peer_id, int seed_version,
                                                   pkc_dns_seed *out, size_t max);
#define pkc_doh_lookup(D, DOMAIN, PEER, OUT, MAX) \
    pkc_doh_lookup_versioned((D), (DOMAIN), (PEER), PKC_DNS_SEED_VERSION, (OUT), (MAX))

/*
 * Publishes our DNS seed record for a room with RFC 2136 dynamic updates
 * (plain DNS over TCP to the zone's primary, signed with TSIG
 * HMAC-SHA256), and keeps it published: the node makes a new record (a
 * higher sequence, its current addresses) and sends it again every half
 * TTL while it runs. A per-peer name ("_pkc.<our id>.<domain>") has its
 * TXT records replaced; at the shared "_pkc.<domain>" our previous record
 * is deleted and the new one added (other seeds' records stay). Returns 0
 * once the first update is under way (on a libuv worker thread: the loop
 * never waits for DNS); how each update went is logged and sent to the
 * control socket's watchers as {"event":"dnspublish",...}.
 */
typedef struct pkc_node_dns_publish_options {
    const char *room;          /* id or name; NULL: the default room */
    const char *domain;        /* required: the zone, "example.org" */
    uint32_t ttl_s;            /* 0: 300; republished every ttl_s / 2 */
    int per_peer;              /* "_pkc.<our peer id>.<domain>" */
    const char *server;        /* required: "IP:PORT" or "[IPv6]:PORT" of the primary */
    const char *tsig_key_file; /* tsig-keygen's file (hmac-sha256); NULL: unsigned */
    uint32_t timeout_ms;       /* each update: 0 = 5000 */
} pkc_node_dns_publish_options;
#define PKC_NODE_DNS_PUBLISH_OPTIONS_V1 1
#define PKC_NODE_DNS_PUBLISH_OPTIONS_VERSION PKC_NODE_DNS_PUBLISH_OPTIONS_V1

/* Returns 0 (the owner name and a NUL into owner_out, which may be NULL,
 * PKC_DNS_OWNER_MAX bytes); PKC_ERR_NOT_FOUND (no such room);
 * PKC_ERR_INVALID_ARG (domain, server, TTL; a key file that cannot be read
 * or is not hmac-sha256: the reason); PKC_ERR_STATE (the node does not
 * run); PKC_ERR_TOO_LARGE (8 publications already: one per room and
 * domain, a second call for the same replaces the first). */
#define PKC_DNS_OWNER_MAX 256
PKC_API PKC_NODISCARD int pkc_node_dns_publish_versioned(pkc_node *node, int options_version,
                                                         const pkc_node_dns_publish_options *opts,
                                                         char *owner_out);
#define pkc_node_dns_publish(NODE, OPTS, OWNER) \
    pkc_node_dns_publish_versioned((NODE), PKC_NODE_DNS_PUBLISH_OPTIONS_VERSION, (OPTS), (OWNER))

/* Accepts an invitation (a URL, a bare code, with any whitespace): checks
 * it, joins its room for now, dials the inviter proving the invitation,
 * and fills *out with the room, the inviter and the answer (url, code) for
 * the two-step exchange. The outcome comes later, through the `invite`
 * callback. Returns 0; PKC_ERR_MALFORMED / PKC_ERR_TRUNCATED /
 * PKC_ERR_TOO_LARGE / PKC_ERR_RANGE (malformed: where, in pkc_errmsg()),
 * PKC_ERR_UNSUPPORTED (another version or kind: an answer is applied with
 * pkc_node_invite_answer), PKC_ERR_BAD_SIGNATURE (tampered),
 * PKC_ERR_EXPIRED / PKC_ERR_NOT_YET_VALID (since or until when),
 * PKC_ERR_INVALID_ARG (our own invitation), PKC_ERR_STATE (the node does
 * not run). */
PKC_API PKC_NODISCARD int pkc_node_invite_accept_versioned(pkc_node *node, const char *text,
                                                           int out_version,
                                                           pkc_node_invitation *out);
#define pkc_node_invite_accept(NODE, TEXT, OUT) \
    pkc_node_invite_accept_versioned((NODE), (TEXT), PKC_NODE_INVITATION_VERSION, (OUT))

/* Applies an invitee's answer to one of our invitations: dials the invitee,
 * proving the invitation; the `invite` callback tells when it is used.
 * *out (may be NULL) gets the invitation's id, room and expiry and the
 * invitee's id (peer_id); url and code are "". Returns 0; the decoding
 * errors of pkc_node_invite_accept; PKC_ERR_NOT_FOUND (it answers no
 * invitation of ours: another node's, or one from before a reset);
 * PKC_ERR_EXPIRED (the invitation or the answer); PKC_ERR_USED (a
 * single-use invitation already used); PKC_ERR_BAD_SIGNATURE (tampered, or
 * made without the invitation). */
PKC_API PKC_NODISCARD int pkc_node_invite_answer_versioned(pkc_node *node, const char *text,
                                                           int out_version,
                                                           pkc_node_invitation *out);
#define pkc_node_invite_answer(NODE, TEXT, OUT) \
    pkc_node_invite_answer_versioned((NODE), (TEXT), PKC_NODE_INVITATION_VERSION, (OUT))

/* One invitation the node holds: one it made (mine; kept, also once used
 * or expired, across restarts) or one it accepted whose handshake with the
 * inviter has not completed yet. No secrets: neither the code nor the
 * token. */
typedef struct pkc_node_invite_info {
    char id[17];          /* the invitation's id, hex */
    char room[17];        /* the room's hex id */
    char room_name[64];   /* as the invitation names it, may be "" */
    uint64_t expires_ms;  /* Unix ms */
    int one_step, single_use;
    int mine;             /* 1: made here; 0: accepted here */
    int used;             /* mine and single-use: a handshake used it up;
                             accepted: the handshake with the inviter completed */
} pkc_node_invite_info;
#define PKC_NODE_INVITE_INFO_V1 1
#define PKC_NODE_INVITE_INFO_VERSION PKC_NODE_INVITE_INFO_V1
/* Writes up to `max` invitations, newest first; returns how many there
 * are. An unknown info_version: as pkc_node_get_rooms. */
PKC_API size_t pkc_node_get_invitations_versioned(pkc_node *node, int info_version,
                                                  pkc_node_invite_info *out, size_t max);
#define pkc_node_get_invitations(NODE, OUT, MAX) \
    pkc_node_get_invitations_versioned((NODE), PKC_NODE_INVITE_INFO_VERSION, (OUT), (MAX))

typedef struct pkc_node_room_info {
    char id[17];     /* hex */
    char name[64];   /* "local", or the display name */
    int local;       /* the local room */
    unsigned peers;  /* neighbours now */
    unsigned known;  /* peers known in the room (estimate) */
    unsigned docs;   /* documents open */
} pkc_node_room_info;
#define PKC_NODE_ROOM_INFO_V1 1
#define PKC_NODE_ROOM_INFO_VERSION PKC_NODE_ROOM_INFO_V1
/* Writes up to `max` rooms; returns how many there are. With an
 * info_version this library does not know, nothing is written, 0 is
 * returned and pkc_errmsg() says why (as pkc_mesh_get_peers). */
PKC_API size_t pkc_node_get_rooms_versioned(pkc_node *node, int info_version,
                                            pkc_node_room_info *out, size_t max);
#define pkc_node_get_rooms(NODE, OUT, MAX) \
    pkc_node_get_rooms_versioned((NODE), PKC_NODE_ROOM_INFO_VERSION, (OUT), (MAX))

typedef struct pkc_node_peer_info {
    char peer_id[PKC_PEER_ID_SIZE];
    char room[17];
    char address[64];   /* the selected ICE pair's remote address, "IP:port" */
    double rtt_ms;      /* -1 until measured */
    double score;       /* the mesh's score */
    uint64_t connected_ms; /* how long ago it became a neighbour */
    int outbound;       /* this node dialed */
} pkc_node_peer_info;
#define PKC_NODE_PEER_INFO_V1 1
#define PKC_NODE_PEER_INFO_VERSION PKC_NODE_PEER_INFO_V1
/* Writes up to `max` neighbours (one entry per room they share with us);
 * returns how many there are. An unknown info_version: as
 * pkc_node_get_rooms. */
PKC_API size_t pkc_node_get_peers_versioned(pkc_node *node, int info_version,
                                            pkc_node_peer_info *out, size_t max);
#define pkc_node_get_peers(NODE, OUT, MAX) \
    pkc_node_get_peers_versioned((NODE), PKC_NODE_PEER_INFO_VERSION, (OUT), (MAX))

/* A peer known in a room that is not a neighbour there, and how it is
 * reached (the mesh's pkc_mesh_get_known_peers). */
typedef struct pkc_node_relayed_info {
    char peer_id[PKC_PEER_ID_SIZE];
    char room[17];
    int route;          /* pkc_mesh_route_kind: NONE (known, no route), RELAYED, WAYPOINT */
    unsigned hops;      /* links along the route (2: a neighbour's neighbour); 0 without */
    char via[PKC_PEER_ID_SIZE]; /* the neighbour it goes through; "" without a route */
    int pending;        /* a direct connection to it is being set up */
    int64_t seen_ms;    /* how long ago it was last heard of; -1: only a route is known */
} pkc_node_relayed_info;
#define PKC_NODE_RELAYED_INFO_V1 1
#define PKC_NODE_RELAYED_INFO_VERSION PKC_NODE_RELAYED_INFO_V1
/* Writes up to `max` known peers that are not neighbours (one entry per
 * room it is known in), those with a route first, fewest hops first;
 * returns how many there are. An unknown info_version: as
 * pkc_node_get_rooms. */
PKC_API size_t pkc_node_get_relayed_peers_versioned(pkc_node *node, int info_version,
                                                    pkc_node_relayed_info *out, size_t max);
#define pkc_node_get_relayed_peers(NODE, OUT, MAX) \
    pkc_node_get_relayed_peers_versioned((NODE), PKC_NODE_RELAYED_INFO_VERSION, (OUT), (MAX))

/* An open document and its sync state. */
typedef struct pkc_node_doc_info {
    char room[17];
    char name[PKC_DOC_NAME_MAX + 1];
    uint64_t stored_bytes;   /* its updates as stored in the database, summed (the last
                                compaction's merge and the updates since) */
    uint64_t stored_updates; /* how many rows those are */
    uint64_t updates_since_compact; /* updates stored since the last compaction by this run */
    int pending;             /* updates wait for ones not received yet (missing
                                dependencies: pkc_ydoc_has_pending); a resync was asked */
    int64_t last_remote_ms;  /* wall ms when a peer's update last changed it; 0: not since
                                the node started */
} pkc_node_doc_info;
#define PKC_NODE_DOC_INFO_V1 1
#define PKC_NODE_DOC_INFO_VERSION PKC_NODE_DOC_INFO_V1
/* Writes up to `max` open documents of `room` (an id, a name, "local"),
 * or of every room when `room` is NULL, by room then name; returns how
 * many there are. An unknown room, or an unknown info_version: nothing
 * written, 0 returned and pkc_errmsg() says why. */
PKC_API size_t pkc_node_get_docs_versioned(pkc_node *node, int info_version, const char *room,
                                           pkc_node_doc_info *out, size_t max);
#define pkc_node_get_docs(NODE, ROOM, OUT, MAX) \
    pkc_node_get_docs_versioned((NODE), PKC_NODE_DOC_INFO_VERSION, (ROOM), (OUT), (MAX))
/* Closes the connection to `peer_id` in every room. It may come back
 * later (it is not blocked). Returns 0, PKC_ERR_NOT_FOUND,
 * PKC_ERR_MALFORMED (not a peer id). */
PKC_API PKC_NODISCARD int pkc_node_disconnect_peer(pkc_node *node, const char *peer_id);

/* Broadcasts `data` (at most 60000 bytes) to the room: signed, encrypted
 * with the room's key, stored in our own inbox too. `id` (may be NULL)
 * receives the message id. Returns 0, PKC_ERR_NOT_FOUND (no such room),
 * PKC_ERR_TOO_LARGE, PKC_ERR_IO (the database). */
PKC_API PKC_NODISCARD int pkc_node_broadcast(pkc_node *node, const char *room, const void *data,
                                             size_t len, uint8_t id[PKC_MSG_ID_BYTES]);
/* Sends `data` to one peer, sealed to it, routed through the room's mesh
 * when there is no direct link. It is written to the outbox first and
 * sent again until the recipient acknowledges it (the `delivered`
 * callback), also across restarts; the recipient must have been seen
 * once (its keys come from its announcements). Returns 0,
 * PKC_ERR_NOT_FOUND (room, or a peer never seen), PKC_ERR_MALFORMED,
 * PKC_ERR_TOO_LARGE, PKC_ERR_IO. */
PKC_API PKC_NODISCARD int pkc_node_send(pkc_node *node, const char *room, const char *peer_id,
                                        const void *data, size_t len,
                                        uint8_t id[PKC_MSG_ID_BYTES]);
/*
 * Runs fn(user_data, node) on the node's loop thread as one unit of
 * storage, for bursts: the broadcasts and direct messages fn makes
 * (pkc_node_broadcast, pkc_node_send on this node) are stored in one
 * transaction, committed when fn returns, and sent only after that
 * commit. A burst then costs one commit and one hand-over to the loop
 * thread instead of one of each per message. Inside fn those calls return
 * 0 once their message is in the transaction: nothing of the batch is
 * durable, or sent, before pkc_node_batch returns 0. All or nothing: if fn
 * returns nonzero (a negative PKC_ERR_* is returned as is, with its
 * message; another value becomes PKC_ERR_INVALID_ARG) or the commit fails
 * (PKC_ERR_IO, a full disk), nothing fn stored is kept and nothing is sent.
 * Inside fn, document changes and pkc_node_leave return PKC_ERR_STATE (Yjs
 * has no rollback), and so does a nested pkc_node_batch; pkc_node_batch
 * itself returns PKC_ERR_STATE when called from a peer or document
 * callback (those run while the node stores what arrived). Returns 0,
 * PKC_ERR_INVALID_ARG (fn NULL), PKC_ERR_STATE, PKC_ERR_IO, fn's error.
 */
typedef int (*pkc_node_batch_fn)(void *user_data, pkc_node *node);
PKC_API PKC_NODISCARD int pkc_node_batch(pkc_node *node, pkc_node_batch_fn fn, void *user_data);
/* Calls `fn` for stored messages with seq > after_seq, oldest first, at
 * most `limit` (0: all); `fn` returns 0 to go on. Returns 0 or an error. */
typedef int (*pkc_node_message_fn)(void *user_data, const pkc_node_message *msg);
PKC_API PKC_NODISCARD int pkc_node_inbox(pkc_node *node, const char *room, int64_t after_seq,
                                         size_t limit, pkc_node_message_fn fn, void *user_data);

/*
 * Documents: each named document of a room is a Yjs document; its root
 * map "state" is the seed's getSharedState(name). Changes made here are
 * stored, then spread to the room; changes from peers are applied, stored
 * and reported by the `doc` callback.
 *
 * pkc_node_doc_transact(): runs fn(user_data, doc, txn) on the loop thread
 * with the document `name` of `room` (created on first use) inside a
 * transaction, then commits it: any Yjs type of the document may be read
 * or changed there through the CRDT API (pkc_ydoc_get with the txn's
 * document). The document must not be kept after fn returns. fn returns
 * 0, or a negative PKC_ERR_* code that is returned with a message saying
 * so (another nonzero value becomes PKC_ERR_INVALID_ARG); the changes it
 * made are kept either way: Yjs has no rollback. Returns 0,
 * PKC_ERR_NOT_FOUND (room), PKC_ERR_INVALID_ARG (name empty or over
 * PKC_DOC_NAME_MAX), PKC_ERR_IO (the change could not be stored: it is
 * not sent either), fn's error.
 *
 * The rest work on the root map "state": set a key to a JSON value,
 * delete a key, read one key or the whole map as JSON text (malloc'd,
 * NUL-terminated: free() it).
 */
typedef int (*pkc_node_doc_fn)(void *user_data, pkc_ydoc *doc, pkc_ytxn *txn);
PKC_API PKC_NODISCARD int pkc_node_doc_transact(pkc_node *node, const char *room,
                                                const char *name, pkc_node_doc_fn fn,
                                                void *user_data);
PKC_API PKC_NODISCARD int pkc_node_doc_set_json(pkc_node *node, const char *room,
                                                const char *name, const char *key,
                                                const char *json);
PKC_API PKC_NODISCARD int pkc_node_doc_delete(pkc_node *node, const char *room, const char *name,
                                              const char *key);
/* key NULL: the whole map. PKC_ERR_NOT_FOUND for an unset key. */
PKC_API PKC_NODISCARD int pkc_node_doc_get_json(pkc_node *node, const char *room,
                                                const char *name, const char *key, char **json);

/*
 * Awareness (y-protocols): who is on a document, and where (cursors,
 * names). pkc_node_doc_set_awareness() sets this node's state on document
 * `name` to JSON text (NULL: absent, the initial state); it is spread to
 * the room, renewed every 15 s, and removed when the node stops.
 * pkc_node_doc_get_awareness() gives every known state as one JSON object
 * {"<client id>": state, ...} (malloc'd; free() it); states not renewed
 * for 30 s are dropped. Returns 0, PKC_ERR_NOT_FOUND (room; get: no such
 * document), PKC_ERR_MALFORMED (not JSON), PKC_ERR_INVALID_ARG.
 */
PKC_API PKC_NODISCARD int pkc_node_doc_set_awareness(pkc_node *node, const char *room,
                                                     const char *name, const char *json);
PKC_API PKC_NODISCARD int pkc_node_doc_get_awareness(pkc_node *node, const char *room,
                                                     const char *name, char **json);

/* Metrics: network, sync, health (the seed's metrics; docs/node.md). */
typedef struct pkc_node_metrics {
    /* network */
    unsigned connected_peers;     /* neighbours now, over every room */
    uint64_t total_connections;   /* sessions ever established */
    double messages_per_second;   /* mesh messages sent + received, last interval */
    double bytes_per_second;
    double average_latency_ms;    /* over neighbours with an RTT; -1 if none */
    /* sync */
    uint64_t state_bytes;         /* encoded size of every open document */
    unsigned pending_updates;     /* documents waiting for missing updates */
    uint64_t conflicts_resolved;  /* remote updates merged into a document we changed */
    int64_t last_sync_ms;         /* wall clock of the last applied remote update; 0 never */
    /* health */
    int healthy;                  /* 1: running with at least one neighbour or alone by choice */
    uint64_t uptime_ms;
    uint64_t reconnections;       /* neighbours back after a failure */
    uint64_t errors;              /* errors counted (dropped input, failed writes) */
    char last_error[160];         /* the most recent one, "" if none */
    /* messages */
    uint64_t messages_received, messages_sent, outbox_pending;
} pkc_node_metrics;
#define PKC_NODE_METRICS_V1 1
#define PKC_NODE_METRICS_VERSION PKC_NODE_METRICS_V1
PKC_API void pkc_node_get_metrics_versioned(pkc_node *node, int metrics_version,
                                            pkc_node_metrics *out);
#define pkc_node_get_metrics(NODE, OUT) \
    pkc_node_get_metrics_versioned((NODE), PKC_NODE_METRICS_VERSION, (OUT))


/* ======================================================================== */
/* discovery and store                                                      */
/* ======================================================================== */


#ifdef __cplusplus
}
#endif

#endif /* PKC_H */
