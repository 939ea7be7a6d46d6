/*
 * sdp.h: session descriptions for data-channel-only WebRTC sessions
 * (RFC 8866 syntax; JSEP RFC 8829; RFC 8839 ICE, RFC 8842 DTLS,
 * RFC 8841 SCTP attributes).
 *
 * The parser accepts what Chromium and Firefox send: session- or media-level
 * ICE credentials, fingerprint and setup; CRLF or LF line ends; audio and
 * video sections (kept only so that an answer can reject them); attributes
 * that do not concern data channels (ignored). It rejects malformed input
 * with PKC_ERR_SDP and a message naming the line and what is wrong.
 *
 * The writer emits what browsers emit for a data channel (see
 * docs/protocol.md, "Session descriptions").
 */
#ifndef PKC_RTC_SDP_H
#define PKC_RTC_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "rtc/candidate.h"

#define PKC_SDP_MAX_SIZE (64 * 1024)
#define PKC_SDP_MAX_CANDIDATES 64
#define PKC_SDP_MAX_MEDIA 16
#define PKC_ICE_UFRAG_MAX 256
#define PKC_ICE_PWD_MAX 256
#define PKC_SDP_MID_MAX 32
#define PKC_FINGERPRINT_MAX 64

typedef enum pkc_dtls_setup {
    PKC_SETUP_NONE = 0, /* absent */
    PKC_SETUP_ACTPASS,
    PKC_SETUP_ACTIVE,
    PKC_SETUP_PASSIVE,
    PKC_SETUP_HOLDCONN,
} pkc_dtls_setup;

typedef enum pkc_hash_alg {
    PKC_HASH_NONE = 0,
    PKC_HASH_SHA1,
    PKC_HASH_SHA224,
    PKC_HASH_SHA256,
    PKC_HASH_SHA384,
    PKC_HASH_SHA512,
} pkc_hash_alg;

typedef struct pkc_fingerprint {
    pkc_hash_alg alg;
    uint8_t len;
    uint8_t bytes[PKC_FINGERPRINT_MAX];
} pkc_fingerprint;

/* One m= section. Only the data channel section is used; the others are
 * remembered so that an answer can reject them (port 0). */
typedef struct pkc_sdp_media {
    char kind[16];  /* "application", "audio", ... */
    char proto[32]; /* "UDP/DTLS/SCTP", ... */
    char fmt[32];   /* the first format: "webrtc-datachannel", "111", ... */
    char mid[PKC_SDP_MID_MAX + 1];
    int rejected; /* port 0 */
} pkc_sdp_media;

typedef struct pkc_sdp {
    uint64_t session_id;
    uint64_t session_version;
    pkc_sdp_media media[PKC_SDP_MAX_MEDIA];
    size_t n_media;
    size_t data_index; /* media[data_index] is the data channel section */
    /* Of the data channel section (media-level, else session-level). */
    char ice_ufrag[PKC_ICE_UFRAG_MAX + 1];
    char ice_pwd[PKC_ICE_PWD_MAX + 1];
    int ice_lite;
    int ice_trickle; /* a=ice-options includes "trickle" */
    pkc_fingerprint fingerprint;
    pkc_dtls_setup setup;
    uint16_t sctp_port;
    int has_max_message_size;
    uint64_t max_message_size; /* 0: unlimited (RFC 8841 6.1) */
    pkc_cand cands[PKC_SDP_MAX_CANDIDATES];
    size_t n_cands;
    size_t n_ignored_cands; /* mDNS names, TCP, other components */
    int end_of_candidates;
} pkc_sdp;

/* Parses `len` bytes of SDP into `out` (which is overwritten). Returns 0,
 * PKC_ERR_SDP or PKC_ERR_TOO_LARGE. `out` is large: allocate it. */
int pkc_sdp_parse(const char *text, size_t len, pkc_sdp *out);

/* Writes `d` as SDP text (CRLF line ends) into `out`. Returns out->err. */
int pkc_sdp_write(const pkc_sdp *d, pkc_buf *out);
/* The same as a malloc'd, NUL-terminated string in *out. Returns 0 or an error. */
int pkc_sdp_write_string(const pkc_sdp *d, char **out);
/* Fills `m` as the one data channel section pkc offers (application,
 * UDP/DTLS/SCTP, webrtc-datachannel) with media id `mid`. */
void pkc_sdp_media_datachannel(pkc_sdp_media *m, const char *mid);

/* The SDP of an ICE-lite, DTLS-passive data channel endpoint that is
 * reachable at `cands` with credentials ufrag/pwd: what a listener gives
 * out, and what a dialer builds for it from an announcement (docs/node.md,
 * "Connections"). max_message_size 0: 262144. Returns a malloc'd,
 * NUL-terminated string in *out, or PKC_ERR_NOMEM / PKC_ERR_INVALID_ARG. */
int pkc_sdp_write_lite_answer(uint64_t session_id, const char *ufrag, const char *pwd,
                              const pkc_fingerprint *fingerprint, uint64_t max_message_size,
                              const pkc_cand *cands, size_t n_cands, char **out);

/* "sha-256 AB:CD:..." into `out` (3 * len + 9 bytes is enough). */
void pkc_fingerprint_format(const pkc_fingerprint *f, char *out, size_t out_size);
/* Parses the value of a=fingerprint. PKC_ERR_SDP or PKC_ERR_UNSUPPORTED
 * (an unknown hash function). */
int pkc_fingerprint_parse(const char *s, size_t n, pkc_fingerprint *out);
const char *pkc_dtls_setup_name(pkc_dtls_setup s);

/* Checks ICE credentials: ufrag 4..256 and pwd 22..256 ice-chars. */
int pkc_ice_check_ufrag(const char *s, size_t n);
int pkc_ice_check_pwd(const char *s, size_t n);

#endif
