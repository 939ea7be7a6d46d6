/*
 * lan.h: pkc_lan, same-host and LAN discovery without I/O.
 *
 * The engine decides when the node announces itself and what to make of the
 * announcements it hears; the runtime (src/node/lan_io.c) moves the
 * datagrams. Time comes from a pkc_clock, randomness from a pkc_rng; there
 * are no sockets here (docs/discovery.md has the design, docs/protocol.md
 * "LAN announcements" the datagram).
 *
 *   sending:   soon after start (jittered), then at 1, 2, 4 ... s up to 30 s;
 *              soon again when something changes (a room joined or left, the
 *              listener's addresses or credentials); only every 5 minutes
 *              while every announced room has the connections it wants; soon
 *              when a new peer of one of our rooms appears (so it learns of us
 *              too); never more than 20 a minute whatever happens; nothing
 *              while disabled.
 *   receiving: cheap checks first (source budget, size, magic, syntax, own
 *              key, timestamp window, the peer's last timestamp), then the
 *              signature, paid for from the source's budget and a global one
 *              before it is checked; then "peer P is in room R" for each room
 *              of ours it announces, not again for the same peer, room and
 *              dial information within a minute.
 *
 * Threads: one thread at a time per engine. Callbacks run inside the
 * pkc_lan call that caused them (send from pkc_lan_tick, found from
 * pkc_lan_receive and pkc_lan_join) and must not call pkc_lan functions on
 * the same engine (those return PKC_ERR_STATE).
 */
#ifndef PKC_DISCOVERY_LAN_H
#define PKC_DISCOVERY_LAN_H

#include <stddef.h>
#include <stdint.h>

#include "discovery/lan_wire.h"
#include "pkc.h"

typedef struct pkc_lan pkc_lan;

/* Configuration; pkc_lan_config_default() gives the values in the comments. */
typedef struct pkc_lan_config {
    int enabled;                  /* 0: sends nothing, ignores what it hears (--no-lan): 1 */
    /* Sending. */
    uint32_t start_delay_ms;      /* first announcement within this after start: 20 */
    uint32_t change_delay_ms;     /* after a change, within: 100 */
    uint32_t answer_delay_ms;     /* after a new peer of our rooms appears, within: 100 */
    uint32_t interval_min_ms;     /* back-off starts here ... : 1000 */
    uint32_t interval_max_ms;     /* ... doubles up to here: 30000 */
    uint32_t full_interval_ms;    /* while every room is satisfied: 300000 */
    uint32_t min_gap_ms;          /* between two announcements, at least: 250 */
    uint32_t max_per_minute;      /* hard limit, 1..600: 20 */
    uint32_t answers_per_minute;  /* direct answers (callback answer), 0..600: 60 */
    /* Receiving. */
    int64_t max_age_ms;           /* older announcements are stale: 120000 */
    int64_t max_skew_ms;          /* announcements from further ahead are stale: 120000 */
    uint32_t report_interval_ms;  /* the same peer, room and dial info again after: 60000 */
    uint32_t peer_ttl_ms;         /* a peer not heard from for this long is forgotten: 900000 */
    size_t max_peers;             /* peers remembered (least recently heard go first): 256 */
    size_t max_sources;           /* source addresses with a budget: 256 */
    double source_rate;           /* tokens per second per source address: 100 */
    double source_burst;          /* bucket size per source: 200 */
    double datagram_cost;         /* tokens a datagram costs: 1 */
    double signature_cost;        /* tokens a signature check costs on top: 10 */
    double signature_rate;        /* signature checks per second, all sources: 100 */
    double signature_burst;       /* 200 */
} pkc_lan_config;

void pkc_lan_config_default(pkc_lan_config *cfg);

/* A peer heard in one of our rooms; everything is borrowed for the call. */
typedef struct pkc_lan_peer {
    const uint8_t *public_key;    /* Ed25519, 32 bytes */
    const uint8_t *dh_public_key; /* X25519, 32 bytes (to seal messages to it) */
    const char *peer_id;          /* derived from public_key */
    const uint8_t *room_id;       /* PKC_ROOM_ID_BYTES: the room of ours it announces */
    const char *const *addresses; /* "udp:IP:PORT" host candidates of its listener */
    size_t n_addresses;
    const char *ufrag;            /* ICE-lite listener credentials */
    const char *pwd;
    const uint8_t *fingerprint;   /* SHA-256 of its DTLS certificate, 32 bytes */
    uint64_t timestamp_ms;        /* of the announcement (its clock) */
} pkc_lan_peer;

typedef struct pkc_lan_callbacks {
    /* Send this announcement to every destination (multicast groups, the
     * host registry). `data` is borrowed for the call. Required. */
    void (*send)(void *user_data, pkc_lan *lan, const uint8_t *data, size_t len);
    /* A peer is in one of our rooms: the node adds it to that room's mesh
     * as dialable. Called once per room it shares with us; again only when
     * its dial information changes or report_interval_ms passed. May be NULL. */
    void (*found)(void *user_data, pkc_lan *lan, const pkc_lan_peer *peer);
    /* Send this announcement now to the source of the datagram being
     * received (only ever called from inside pkc_lan_receive): the answer
     * to a newcomer of our rooms. Return 1 if the runtime could send it to
     * that one node (it knows the source as one node's own address, as the
     * host registry's are), else 0: the engine then answers to everyone
     * within answer_delay_ms, as without this callback. At most
     * answers_per_minute a minute; they do not count against
     * max_per_minute or min_gap_ms. May be NULL. */
    int (*answer)(void *user_data, pkc_lan *lan, const uint8_t *data, size_t len);
} pkc_lan_callbacks;

typedef struct pkc_lan_stats {
    uint64_t sent;               /* announcements made (each to every destination) */
    uint64_t answered;           /* direct answers sent (callback answer) */
    uint64_t deferred;           /* times the hard limit or the gap pushed one back */
    uint64_t received;           /* datagrams given to pkc_lan_receive() */
    uint64_t accepted;           /* announcements of others, verified */
    uint64_t reported;           /* found callbacks */
    uint64_t own;                /* our own announcements, heard back */
    uint64_t duplicate;          /* the same announcement again (another path) */
    uint64_t older;              /* older than one already accepted from that peer */
    uint64_t other_rooms;        /* verified, but no room in common with us */
    uint64_t disabled;           /* heard while disabled */
    uint64_t signatures_checked;
    /* Rejected: */
    uint64_t rate_limited;       /* over the source's or the global budget */
    uint64_t malformed;          /* size, magic, version, syntax */
    uint64_t stale;              /* timestamp outside [now - max_age, now + max_skew] */
    uint64_t bad_signature;
} pkc_lan_stats;

/*
 * Creates an engine announcing `id` (borrowed until pkc_lan_free). `cfg` may
 * be NULL (defaults); `cfg` and `cb` are copied; `clock` and `rng` are
 * borrowed until pkc_lan_free(). The engine announces once it is in a room
 * and has listener information (pkc_lan_set_listener). Returns 0,
 * PKC_ERR_INVALID_ARG (a NULL argument, no send callback, a config field out
 * of range: named in pkc_errmsg()), PKC_ERR_NOMEM.
 */
int pkc_lan_new(const pkc_lan_config *cfg, const pkc_lan_callbacks *cb, void *user_data,
                const pkc_identity *id, const pkc_clock *clock, const pkc_rng *rng,
                pkc_lan **out);
void pkc_lan_free(pkc_lan *lan);

/*
 * What a peer needs to dial this node's ICE-lite listener: its host
 * candidates ("udp:IP:PORT", 0..16; copied; those that do not fit in a
 * datagram are left out, last first), ICE ufrag and pwd, and the SHA-256
 * fingerprint of its DTLS certificate (32 bytes). A change is announced
 * soon; with no address nothing is announced. Returns 0,
 * PKC_ERR_INVALID_ARG (syntax or limits), PKC_ERR_STATE.
 */
int pkc_lan_set_listener(pkc_lan *lan, const char *const *addresses, size_t n_addresses,
                         const char *ufrag, const char *pwd, const uint8_t *fingerprint);

/*
 * Announces room `room_id` (PKC_ROOM_ID_BYTES, from pkc_room_key_derive:
 * never the secret) and reports the peers already heard in it. Until
 * pkc_lan_set_room_status() says otherwise the room wants connections.
 * Returns 0, PKC_ERR_EXISTS, PKC_ERR_TOO_LARGE (PKC_LAN_ROOMS_MAX rooms
 * already), PKC_ERR_STATE.
 */
int pkc_lan_join(pkc_lan *lan, const uint8_t *room_id);
/* Stops announcing a room. Returns 0, PKC_ERR_NOT_FOUND, PKC_ERR_STATE. */
int pkc_lan_leave(pkc_lan *lan, const uint8_t *room_id);
/*
 * The room's mesh has `connected` connections of the `target` it seeks.
 * While every room has connected >= target, announcements are rare
 * (full_interval_ms); when one falls below, they start again at
 * interval_min_ms. Returns 0, PKC_ERR_NOT_FOUND, PKC_ERR_STATE.
 */
int pkc_lan_set_room_status(pkc_lan *lan, const uint8_t *room_id, unsigned connected,
                            unsigned target);
/* Turns discovery on (announces soon) or off (nothing is sent, what is
 * heard is ignored). Returns 0 or PKC_ERR_STATE. */
int pkc_lan_set_enabled(pkc_lan *lan, int enabled);

/*
 * A datagram heard from source address `src` (src_len bytes, 1..32: for
 * instance the IP address without the port; only equality matters: it
 * names the budget the datagram is paid from). Returns 0 when it was
 * accepted, or when it was our own or a copy already accepted (see the
 * stats); otherwise the reason it was dropped: PKC_ERR_RATE_LIMITED,
 * PKC_ERR_TOO_LARGE, PKC_ERR_TRUNCATED, PKC_ERR_MALFORMED,
 * PKC_ERR_UNSUPPORTED, PKC_ERR_RANGE, PKC_ERR_STALE, PKC_ERR_REPLAY (older
 * than one accepted from that peer), PKC_ERR_BAD_SIGNATURE, PKC_ERR_STATE
 * (disabled, or called from a callback). The engine is unchanged by a
 * dropped datagram, except for its stats and budgets.
 */
int pkc_lan_receive(pkc_lan *lan, const uint8_t *data, size_t len, const uint8_t *src,
                    size_t src_len);

/* Sends what is due (through the send callback). Call it at
 * pkc_lan_get_deadline(). Returns 0 or PKC_ERR_STATE. */
int pkc_lan_tick(pkc_lan *lan);
/* The monotonic time (pkc_clock mono_us) at which pkc_lan_tick() must run
 * next; UINT64_MAX if nothing is due (disabled, no room, no listener). */
uint64_t pkc_lan_get_deadline(const pkc_lan *lan);

void pkc_lan_get_stats(const pkc_lan *lan, pkc_lan_stats *out);

#endif
