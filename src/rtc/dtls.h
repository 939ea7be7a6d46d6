/*
 * dtls.h: one DTLS 1.2 endpoint (OpenSSL) without I/O.
 *
 * Datagrams come in through pkc_dtls_input(); datagrams to send and
 * decrypted application data go out through the callbacks given at
 * creation, synchronously, from inside pkc_dtls_* calls. Each DTLS write is
 * one datagram (a datagram BIO of our own), so records never straddle
 * datagrams. Time comes in as `now` (microseconds); the retransmission timer
 * starts at 100 ms and doubles (OpenSSL's default starts at 1 s).
 *
 * Until pkc_dtls_start() (role known and ICE ready), incoming datagrams are
 * queued, not dropped: a browser's ClientHello often arrives before the
 * answer that tells us our role.
 *
 * The peer's certificate is checked during the handshake against the
 * fingerprint from its session description; a mismatch aborts the
 * handshake with a bad_certificate alert.
 */
#ifndef PKC_RTC_DTLS_H
#define PKC_RTC_DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "rtc/cert.h"
#include "rtc/sdp.h"

typedef enum pkc_dtls_state {
    PKC_DTLS_NEW = 0,
    PKC_DTLS_HANDSHAKING,
    PKC_DTLS_CONNECTED,
    PKC_DTLS_CLOSED, /* close_notify sent or received */
    PKC_DTLS_FAILED,
} pkc_dtls_state;

typedef struct pkc_dtls_callbacks {
    /* One datagram to send to the peer. */
    void (*send)(void *user, const uint8_t *data, size_t len);
    /* Application data from one record. */
    void (*recv)(void *user, const uint8_t *data, size_t len);
    /* The state changed (to CONNECTED, CLOSED or FAILED). */
    void (*state)(void *user, pkc_dtls_state state);
    void *user;
} pkc_dtls_callbacks;

typedef struct pkc_dtls pkc_dtls;

#define PKC_DTLS_MTU 1200
#define PKC_DTLS_EARLY_MAX 16 /* datagrams queued before start */

int pkc_dtls_new(pkc_rtc_cert *cert, const pkc_dtls_callbacks *cb, pkc_dtls **out);
void pkc_dtls_free(pkc_dtls *d);

/* The peer's expected fingerprint. Without one (an ICE-lite connection that
 * never saw the offer), any certificate is accepted and its SHA-256
 * fingerprint is available from pkc_dtls_peer_fingerprint() for the layer
 * above to authenticate. */
void pkc_dtls_set_remote_fingerprint(pkc_dtls *d, const pkc_fingerprint *fp);

/* Starts the handshake as client (sends the ClientHello) or server, then
 * processes the queued early datagrams. */
int pkc_dtls_start(pkc_dtls *d, int client, uint64_t now);

/* One received datagram (first byte 20..63). Returns 0, or PKC_ERR_DTLS /
 * PKC_ERR_FINGERPRINT when the handshake failed (then the state is FAILED).
 * Undecryptable or malformed records are dropped silently, as DTLS says. */
int pkc_dtls_input(pkc_dtls *d, const uint8_t *data, size_t len, uint64_t now);

/* Encrypts `len` bytes as one record in one datagram. PKC_ERR_STATE before
 * the handshake is done or after close. */
int pkc_dtls_send(pkc_dtls *d, const uint8_t *data, size_t len);

/* Handles the retransmission timer; call at or after pkc_dtls_deadline(). */
void pkc_dtls_timeout(pkc_dtls *d, uint64_t now);
/* Absolute time of the next timer (UINT64_MAX if none). */
uint64_t pkc_dtls_deadline(const pkc_dtls *d);

/* Sends close_notify. */
void pkc_dtls_close(pkc_dtls *d);

pkc_dtls_state pkc_dtls_get_state(const pkc_dtls *d);
/* SHA-256 of the peer's certificate once it was seen, else NULL. */
const pkc_fingerprint *pkc_dtls_peer_fingerprint(const pkc_dtls *d);
/* The failure message when FAILED. */
const char *pkc_dtls_error(const pkc_dtls *d);

#endif
