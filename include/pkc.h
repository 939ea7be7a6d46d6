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
 * on_state, for instance), except pkc_loop_free() and pkc_loop_run().
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
/* Runs fn(arg) on the loop thread soon. Thread-safe. 0 or PKC_ERR_NOMEM. */
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
PKC_API const char *pkc_rtc_cert_fingerprint(const pkc_rtc_cert *cert);

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

PKC_API void pkc_rtc_socket_config_default(pkc_rtc_socket_config *c);
/* Returns 0, PKC_ERR_IO (no free port, or the system refused). */
PKC_API PKC_NODISCARD int pkc_rtc_socket_new(pkc_loop *loop, const pkc_rtc_socket_config *cfg,
                                             pkc_rtc_socket **out);
/* Free the peers using it first. Accepts NULL. */
PKC_API void pkc_rtc_socket_free(pkc_rtc_socket *s);
PKC_API uint16_t pkc_rtc_socket_port(const pkc_rtc_socket *s);

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
} pkc_rtc_config;

PKC_API void pkc_rtc_config_default(pkc_rtc_config *c);

typedef struct pkc_rtc_callbacks {
    /* The connection's state changed. */
    void (*on_state)(pkc_rtc_peer *peer, pkc_rtc_state state, void *user_data);
    /* A local ICE candidate ("candidate:..." without "a=") gathered after
     * the description was made, to trickle to the peer; NULL when
     * gathering is complete (send end-of-candidates). */
    void (*on_candidate)(pkc_rtc_peer *peer, const char *candidate, void *user_data);
    /* The peer opened a channel. It is open: messages may arrive at once. */
    void (*on_channel)(pkc_rtc_peer *peer, pkc_rtc_channel *ch, void *user_data);
    /* A channel this side created is open: its DCEP OPEN is sent (as in
     * browsers, messages may follow at once), or, negotiated, SCTP is up. */
    void (*on_open)(pkc_rtc_channel *ch, void *user_data);
    /* A message. `data` is borrowed for the call; `binary` is 0 for text
     * (UTF-8 as sent). Empty messages have len 0. */
    void (*on_message)(pkc_rtc_channel *ch, const uint8_t *data, size_t len, int binary,
                       void *user_data);
    /* The channel's buffered amount fell to its low threshold or below. */
    void (*on_buffered_amount_low)(pkc_rtc_channel *ch, void *user_data);
    /* The channel is closed (by either side, or with its connection); the
     * handle is freed when this callback returns. */
    void (*on_close)(pkc_rtc_channel *ch, void *user_data);
    /* Listener sockets only: a peer connected without an offer we saw
     * (see pkc_rtc_listen). */
    void (*on_incoming)(pkc_rtc_peer *peer, void *user_data);
    void *user_data;
} pkc_rtc_callbacks;

/* Creates a peer connection on `loop`. `cfg` and `cb` are copied. Returns 0,
 * PKC_ERR_INVALID_ARG, PKC_ERR_NOMEM, PKC_ERR_IO (no socket). */
PKC_API PKC_NODISCARD int pkc_rtc_peer_new(pkc_loop *loop, const pkc_rtc_config *cfg,
                                           const pkc_rtc_callbacks *cb, pkc_rtc_peer **out);
/* Closes (as pkc_rtc_peer_close) and frees the connection and its channels
 * without further callbacks. Accepts NULL. */
PKC_API void pkc_rtc_peer_free(pkc_rtc_peer *peer);

/* Makes an offer and applies it as the local description (createOffer and
 * setLocalDescription in one). *sdp is malloc'd; free() it. It carries the
 * host candidates; later ones come through on_candidate. Making another
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
PKC_API PKC_NODISCARD int pkc_rtc_peer_local_description(pkc_rtc_peer *peer, char **sdp);
/* A trickled remote candidate ("candidate:..." with or without "a=");
 * NULL or "" for end-of-candidates. Candidates that cannot be used (mDNS
 * names, TCP) are ignored: 0. PKC_ERR_SDP if malformed. */
PKC_API PKC_NODISCARD int pkc_rtc_peer_add_candidate(pkc_rtc_peer *peer, const char *candidate);
/* ICE restart: the next pkc_rtc_peer_create_offer() carries new ICE
 * credentials; data keeps flowing while the new checks run. */
PKC_API void pkc_rtc_peer_restart_ice(pkc_rtc_peer *peer);
/* Whether local candidate gathering is complete. */
PKC_API int pkc_rtc_peer_gathering_done(const pkc_rtc_peer *peer);
/* Closes every channel and the connection (SCTP abort, DTLS close_notify);
 * on_state(CLOSED) follows. */
PKC_API void pkc_rtc_peer_close(pkc_rtc_peer *peer);
PKC_API pkc_rtc_state pkc_rtc_peer_state(const pkc_rtc_peer *peer);
PKC_API const char *pkc_rtc_state_name(pkc_rtc_state state);
/* "sha-256 AB:..." of the certificate the peer presented, once DTLS saw it;
 * NULL before. Borrowed from the peer. */
PKC_API const char *pkc_rtc_peer_remote_fingerprint(const pkc_rtc_peer *peer);
/* Per-peer user data (initially the callbacks' user_data). */
PKC_API void pkc_rtc_peer_set_user_data(pkc_rtc_peer *peer, void *user_data);
PKC_API void *pkc_rtc_peer_user_data(const pkc_rtc_peer *peer);

typedef struct pkc_rtc_stats {
    char local_address[64];  /* selected pair, "IP:port"; "" if none */
    char remote_address[64];
    char local_type[8];      /* "host", "srflx", "prflx" */
    char remote_type[8];
    uint64_t bytes_sent;     /* UDP payload bytes */
    uint64_t bytes_received;
    int dtls_client;         /* our DTLS role */
    int ice_controlling;
    int ice_lite;
} pkc_rtc_stats;

PKC_API void pkc_rtc_peer_stats(const pkc_rtc_peer *peer, pkc_rtc_stats *out);

/* ---- ICE-lite listeners ------------------------------------------------------- */

/*
 * Makes `s` accept connections from peers whose offer it never sees: it
 * answers their ICE checks as an ICE-lite agent with fixed credentials and
 * is the DTLS server. *sdp receives an answer (malloc'd) a peer applies to
 * its own offer (data section mid "0", as browsers make): a=ice-lite, the
 * credentials, the fingerprint of `cfg->cert` (or of a generated one),
 * a=setup:passive and the host candidates. Each peer that connects becomes a
 * pkc_rtc_peer reported by cb->on_incoming and then behaves as any other;
 * free it when done. Any certificate is accepted from such peers (there was
 * no offer to pin it): authenticate them above, with
 * pkc_rtc_peer_remote_fingerprint(). One listener per socket.
 * Returns 0, PKC_ERR_EXISTS, PKC_ERR_NOMEM.
 */
PKC_API PKC_NODISCARD int pkc_rtc_listen(pkc_rtc_socket *s, const pkc_rtc_config *cfg,
                                         const pkc_rtc_callbacks *cb, char **sdp);

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

typedef enum pkc_rtc_channel_state {
    PKC_RTC_CHANNEL_CONNECTING = 0,
    PKC_RTC_CHANNEL_OPEN,
    PKC_RTC_CHANNEL_CLOSING,
    PKC_RTC_CHANNEL_CLOSED,
} pkc_rtc_channel_state;

PKC_API void pkc_rtc_channel_options_default(pkc_rtc_channel_options *o);
/* Creates a channel; it opens (on_open) once the connection is up, or at
 * once if it is. `label` is copied (UTF-8, may be ""), `opts` may be NULL.
 * The handle stays valid until on_close returns or the peer is freed.
 * Returns 0, PKC_ERR_INVALID_ARG (options), PKC_ERR_EXISTS (negotiated id in
 * use), PKC_ERR_RANGE (no stream id left), PKC_ERR_STATE (closed). */
PKC_API PKC_NODISCARD int pkc_rtc_channel_new(pkc_rtc_peer *peer, const char *label,
                                              const pkc_rtc_channel_options *opts,
                                              pkc_rtc_channel **out);
/* Queues one message (copied). `binary` 0 sends text (PPID 51, must be
 * UTF-8), else binary (53); empty messages are allowed. Messages may be
 * sent before the channel is open. Returns 0; PKC_ERR_TOO_LARGE (over the
 * peer's max-message-size); PKC_ERR_AGAIN (max_buffered_amount reached:
 * wait for on_buffered_amount_low); PKC_ERR_MALFORMED (text not UTF-8);
 * PKC_ERR_CLOSED. */
PKC_API PKC_NODISCARD int pkc_rtc_channel_send(pkc_rtc_channel *ch, const void *data, size_t len,
                                               int binary);
/* Bytes queued and not yet handed to SCTP. */
PKC_API size_t pkc_rtc_channel_buffered_amount(const pkc_rtc_channel *ch);
/* on_buffered_amount_low fires when the buffered amount falls from above
 * `threshold` to at or below it. Default 0. */
PKC_API void pkc_rtc_channel_set_buffered_amount_low_threshold(pkc_rtc_channel *ch,
                                                               size_t threshold);
/* Closes the channel (SCTP stream reset); on_close follows. */
PKC_API void pkc_rtc_channel_close(pkc_rtc_channel *ch);
PKC_API pkc_rtc_channel_state pkc_rtc_channel_state_get(const pkc_rtc_channel *ch);
/* Borrowed strings, valid as long as the channel. */
PKC_API const char *pkc_rtc_channel_label(const pkc_rtc_channel *ch);
PKC_API const char *pkc_rtc_channel_protocol(const pkc_rtc_channel *ch);
/* The SCTP stream id, or -1 before it is assigned. */
PKC_API int pkc_rtc_channel_id(const pkc_rtc_channel *ch);
PKC_API pkc_rtc_peer *pkc_rtc_channel_peer(const pkc_rtc_channel *ch);
PKC_API void pkc_rtc_channel_options_get(const pkc_rtc_channel *ch, pkc_rtc_channel_options *out);
PKC_API void pkc_rtc_channel_set_user_data(pkc_rtc_channel *ch, void *user_data);
PKC_API void *pkc_rtc_channel_user_data(const pkc_rtc_channel *ch);


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
