/*
 * conn.h: a WebRTC peer connection as a state machine without I/O: the
 * offer/answer exchange, ICE (ice.h), DTLS (dtls.h), SCTP (sctp.h) and the
 * data channels with DCEP (dcep.h).
 *
 * In: datagrams (pkc_conn_input), time (pkc_conn_timeout at
 * pkc_conn_deadline), descriptions and candidates, channel operations.
 * Out: datagrams through the `send` callback (synchronously), and events
 * (state, candidates, channels, messages) through a queue that the owner
 * empties with pkc_conn_dispatch(), so that no user callback ever runs
 * inside a user's own call. `wake` tells the owner that events are waiting.
 *
 * SCTP's timers are process-wide (sctp.h): the owner also calls
 * pkc_sctp_tick() and then pkc_conn_poll_sctp() regularly while the
 * connection has an association.
 */
#ifndef PKC_RTC_CONN_H
#define PKC_RTC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "rtc/addr.h"
#include "rtc/candidate.h"
#include "rtc/cert.h"
#include "rtc/ice.h"

typedef struct pkc_conn pkc_conn;

typedef struct pkc_conn_config {
    pkc_rtc_cert *cert; /* a reference is taken */
    uint32_t max_message_size;
    size_t max_buffered_amount;
    uint16_t max_channels; /* streams each way; 0: PKC_SCTP_STREAMS */
    pkc_ice_config ice;
} pkc_conn_config;

typedef struct pkc_conn_io {
    /* A datagram to send from `local` (family 0: any) to `remote`. */
    void (*send)(void *user, const pkc_addr *local, const pkc_addr *remote, const uint8_t *data,
                 size_t len);
    /* Events are queued: call pkc_conn_dispatch() soon (not from inside
     * the call that caused this). */
    void (*wake)(void *user);
    /* `remote` may send us data: route its datagrams to this connection. */
    void (*remote_seen)(void *user, const pkc_addr *remote);
    void *user;
} pkc_conn_io;

typedef enum pkc_conn_event_kind {
    PKC_CONN_EV_STATE,
    PKC_CONN_EV_CANDIDATE, /* text NULL: end of candidates */
    PKC_CONN_EV_CHANNEL,   /* the peer opened a channel */
    PKC_CONN_EV_OPEN,
    PKC_CONN_EV_MESSAGE,
    PKC_CONN_EV_LOW,
    PKC_CONN_EV_CLOSE, /* the channel is freed after the handler returns */
} pkc_conn_event_kind;

typedef struct pkc_conn_event {
    pkc_conn_event_kind kind;
    pkc_rtc_state state;
    pkc_rtc_channel *ch;
    const char *text; /* candidate */
    const uint8_t *data;
    size_t len;
    int binary;
} pkc_conn_event;

/* Handles one event; returns nonzero to stop dispatching (for instance
 * because the connection must not be touched any more). */
typedef int (*pkc_conn_handler)(void *arg, pkc_conn *c, const pkc_conn_event *ev);

int pkc_conn_new(const pkc_conn_config *cfg, const pkc_conn_io *io, const pkc_rng *rng,
                 pkc_conn **out);
/* Frees without events; sends ABORT and close_notify if connected. */
void pkc_conn_free(pkc_conn *c);
void pkc_conn_set_owner(pkc_conn *c, void *owner);
void *pkc_conn_owner(const pkc_conn *c);

/* Local addresses for host candidates (before the first description). */
int pkc_conn_add_host(pkc_conn *c, const pkc_addr *a);
/* STUN servers for server-reflexive candidates; gathering starts with the
 * first local description. */
void pkc_conn_set_stun_servers(pkc_conn *c, const pkc_addr *servers, size_t n);

/* While held (STUN server names being resolved), gathering waits; the
 * release starts it if a description was made meanwhile. */
void pkc_conn_hold_gathering(pkc_conn *c);
void pkc_conn_release_gathering(pkc_conn *c, uint64_t now);

/* Offer/answer. The returned text is malloc'd. See pkc.h for the errors. */
int pkc_conn_create_offer(pkc_conn *c, uint64_t now, char **sdp);
int pkc_conn_create_answer(pkc_conn *c, uint64_t now, char **sdp);
int pkc_conn_set_remote(pkc_conn *c, pkc_rtc_sdp_type type, const char *sdp, size_t len,
                        uint64_t now);
int pkc_conn_local_description(pkc_conn *c, char **sdp);
int pkc_conn_add_candidate(pkc_conn *c, const char *line, uint64_t now);
void pkc_conn_restart_ice(pkc_conn *c, uint64_t now);

/* Makes this connection the ICE-lite side of a listener: fixed
 * credentials, DTLS server, any certificate accepted. Call before any
 * input. The remote ufrag comes with the first check. */
int pkc_conn_accept_lite(pkc_conn *c, const char *ufrag, const char *pwd, uint64_t now);

/* A datagram received on `local` from `remote`. */
void pkc_conn_input(pkc_conn *c, const pkc_addr *local, const pkc_addr *remote,
                    const uint8_t *data, size_t len, uint64_t now);
void pkc_conn_timeout(pkc_conn *c, uint64_t now);
uint64_t pkc_conn_deadline(const pkc_conn *c);
/* After pkc_sctp_tick(): hands over what usrsctp produced for this
 * connection. */
void pkc_conn_poll_sctp(pkc_conn *c);
int pkc_conn_has_sctp(const pkc_conn *c);

/* Runs queued events through `h`. */
void pkc_conn_dispatch(pkc_conn *c, pkc_conn_handler h, void *arg);
int pkc_conn_has_events(const pkc_conn *c);

void pkc_conn_close(pkc_conn *c);
pkc_rtc_state pkc_conn_state(const pkc_conn *c);
int pkc_conn_gathering_done(const pkc_conn *c);
const char *pkc_conn_remote_fingerprint(pkc_conn *c);
void pkc_conn_stats(const pkc_conn *c, pkc_rtc_stats *out);
pkc_ice_agent *pkc_conn_ice(pkc_conn *c);

/* The largest message a channel sends, whatever the peer accepts. */
#define PKC_RTC_SEND_MAX (1024 * 1024)

/* pkc_rtc_channel_new's work (the other channel functions are public and
 * live in conn.c too). */
int pkc_conn_channel_new(pkc_conn *c, const char *label, const pkc_rtc_channel_options *opts,
                         pkc_rtc_channel **out);

#endif
