/*
 * ice.h: an ICE agent (RFC 8445) for one data stream with one component,
 * full or lite, with consent freshness (RFC 7675). No I/O: datagrams and
 * time in; datagrams, candidates and state changes out through callbacks,
 * called synchronously from inside pkc_ice_* calls; randomness from a
 * pkc_rng.
 *
 * Local candidates: the runtime serves every connection from one UDP socket
 * per address family bound to the wildcard address, so every host
 * candidate is (interface address, that port) and is its own base; checks
 * name their source address (the runtime sets it per datagram). A
 * datagram that arrives on a local address the agent does not know (a
 * loopback address that was not advertised, say) becomes a base of its own.
 * Server-reflexive candidates come from Binding requests to configured STUN
 * servers; the related address is where the response arrived.
 *
 * Simplifications, documented in docs/rtc.md: every pair starts Waiting
 * (one component, so frozen pairs only delay); the controlling agent
 * nominates the first pair that succeeds (regular nomination, one pair);
 * consent checks double as keepalives.
 */
#ifndef PKC_RTC_ICE_H
#define PKC_RTC_ICE_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "rtc/candidate.h"
#include "rtc/stun.h"

#define PKC_ICE_MAX_LOCAL 16
#define PKC_ICE_MAX_REMOTE 64
#define PKC_ICE_MAX_PAIRS 128
#define PKC_ICE_MAX_STUN_SERVERS 4

typedef enum pkc_ice_state {
    PKC_ICE_NEW = 0,
    PKC_ICE_CHECKING,
    PKC_ICE_CONNECTED, /* a pair works (data may flow) */
    PKC_ICE_COMPLETED, /* a pair is nominated */
    PKC_ICE_DISCONNECTED, /* consent responses missing for a while */
    PKC_ICE_FAILED,
    PKC_ICE_CLOSED,
} pkc_ice_state;

typedef struct pkc_ice_config {
    int controlling;
    int lite;
    uint32_t ta_us;               /* pacing of checks (default 20 ms) */
    uint32_t rto_us;              /* first check retransmission (default 200 ms) */
    uint8_t max_tries;            /* sends of one check before the pair fails (8) */
    uint32_t consent_interval_us; /* consent check interval, randomised +-20% (5 s) */
    uint32_t disconnected_us;     /* without consent: disconnected after (7.5 s) */
    uint32_t consent_timeout_us;  /* without consent: failed after (30 s, RFC 7675) */
    uint32_t keepalive_us;        /* lite: indication when idle (15 s) */
    uint32_t checking_timeout_us; /* no pair works after this: failed (30 s) */
} pkc_ice_config;

void pkc_ice_config_default(pkc_ice_config *c);

typedef struct pkc_ice_callbacks {
    /* A datagram to send from local address `local` (port included; family
     * 0 lets the system choose) to `remote`. */
    void (*send)(void *user, const pkc_addr *local, const pkc_addr *remote, const uint8_t *data,
                 size_t len);
    /* A local candidate was gathered after pkc_ice_gather() returned (a
     * server-reflexive one); NULL when gathering is complete. */
    void (*candidate)(void *user, const pkc_cand *c);
    void (*state)(void *user, pkc_ice_state state);
    /* The pair that carries data changed (first selection, nomination of
     * another pair, a switch by the controlling peer). */
    void (*selected)(void *user, const pkc_addr *local, const pkc_addr *remote);
    /* A remote address proved it knows our credentials: data from it may
     * be accepted, and the runtime can route its datagrams to us. */
    void (*remote_seen)(void *user, const pkc_addr *remote);
    void *user;
} pkc_ice_callbacks;

typedef struct pkc_ice_agent pkc_ice_agent;

/* `rng` is borrowed for the agent's lifetime. */
int pkc_ice_new(const pkc_ice_config *cfg, const pkc_ice_callbacks *cb, const pkc_rng *rng,
                pkc_ice_agent **out);
void pkc_ice_free(pkc_ice_agent *a);

const char *pkc_ice_local_ufrag(const pkc_ice_agent *a);
const char *pkc_ice_local_pwd(const pkc_ice_agent *a);
/* Sets the local credentials (an ICE-lite listener shares its own among
 * the connections it accepts). 0 or PKC_ERR_SDP if not valid. */
int pkc_ice_set_local_creds(pkc_ice_agent *a, const char *ufrag, const char *pwd);
/* Makes the agent ICE-lite (controlled, answers checks, sends none).
 * Before any input. */
void pkc_ice_set_lite(pkc_ice_agent *a);
int pkc_ice_is_controlling(const pkc_ice_agent *a);
void pkc_ice_set_controlling(pkc_ice_agent *a, int controlling);
/* For tests: forces the tie-breaker. */
void pkc_ice_set_tiebreaker(pkc_ice_agent *a, uint64_t tb);

/* A host candidate on local address `addr` (port included). Loopback and
 * link-local addresses get lower priorities. */
int pkc_ice_add_host(pkc_ice_agent *a, const pkc_addr *addr);
/* Starts gathering server-reflexive candidates from `servers` (copied). */
void pkc_ice_gather(pkc_ice_agent *a, const pkc_addr *servers, size_t n, uint64_t now);
int pkc_ice_gathering_done(const pkc_ice_agent *a);
/* Local candidates to advertise (host and server-reflexive). */
size_t pkc_ice_local_candidates(const pkc_ice_agent *a, pkc_cand *out, size_t max);

/* The peer's credentials. Returns 1 if they differ from the previous ones
 * (an ICE restart by the peer: pairs and remote candidates are dropped,
 * data keeps flowing on the old path until a new pair is selected), 0 if
 * unchanged or first, PKC_ERR_SDP if invalid. */
int pkc_ice_set_remote_creds(pkc_ice_agent *a, const char *ufrag, const char *pwd, uint64_t now);
/* A remote candidate (from the description or trickled). */
int pkc_ice_add_remote(pkc_ice_agent *a, const pkc_cand *c, uint64_t now);
/* The peer sent end-of-candidates. */
void pkc_ice_remote_done(pkc_ice_agent *a, uint64_t now);

/* New local credentials (the next description carries them). */
void pkc_ice_restart(pkc_ice_agent *a, uint64_t now);

/* One STUN datagram received on `local` from `remote`. Returns 0 if it was
 * for this agent (handled or dropped as invalid), PKC_ERR_NOT_FOUND if it
 * is a response to a transaction this agent does not know. */
int pkc_ice_input(pkc_ice_agent *a, const pkc_addr *local, const pkc_addr *remote,
                  const uint8_t *data, size_t len, uint64_t now);
/* A non-STUN datagram (DTLS) arrived from `remote`: nonzero if the agent
 * accepts data from it. Counts as activity on that path. */
int pkc_ice_accept_data(pkc_ice_agent *a, const pkc_addr *remote, uint64_t now);
/* Data was sent on the selected pair (keepalive bookkeeping). */
void pkc_ice_note_sent(pkc_ice_agent *a, uint64_t now);

void pkc_ice_timeout(pkc_ice_agent *a, uint64_t now);
uint64_t pkc_ice_deadline(const pkc_ice_agent *a);

/* The pair carrying data, if any: 1 and the addresses, else 0. */
int pkc_ice_selected(const pkc_ice_agent *a, pkc_addr *local, pkc_addr *remote);
/* The candidate types of the selected pair ("host", "prflx", ...), "" if
 * none; each buffer holds 8 bytes. */
void pkc_ice_selected_types(const pkc_ice_agent *a, char *local, char *remote);
pkc_ice_state pkc_ice_get_state(const pkc_ice_agent *a);
const char *pkc_ice_state_name(pkc_ice_state s);
/* Whether a transaction id belongs to one of this agent's transactions. */
int pkc_ice_owns_txid(const pkc_ice_agent *a, const uint8_t txid[PKC_STUN_TXID_SIZE]);
/* Whether `ufrag` is (one of) this agent's local ufrag(s). */
int pkc_ice_has_ufrag(const pkc_ice_agent *a, const char *ufrag, size_t len);

void pkc_ice_close(pkc_ice_agent *a);

#endif
