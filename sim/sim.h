/*
 * sim.h: a deterministic network simulator that runs the real mesh engine
 * (src/mesh) for many peers in one process.
 *
 * One virtual clock (a pkc_manual_clock) and one event queue ordered by time
 * (ties by insertion order). Links between connected peers have a one-way
 * latency derived from the peers' positions in a unit square, jitter, loss
 * and bandwidth, and deliver in order. Peers have a reachability class
 * (public: dialable and reachable by all; NAT; symmetric NAT: cannot connect
 * to another symmetric peer) and explicit blocked pairs, partitions with
 * healing, crashes, graceful leaves and joins. Connections the engines decide
 * on form only after their signaling has travelled through the mesh (offer,
 * answer, a candidate each way) and reachability allows it.
 *
 * Everything random comes from seeded generators: the same configuration and
 * seed give the same run, event for event.
 */
#ifndef PKC_SIM_H
#define PKC_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pkc.h"

typedef struct sim sim;

typedef struct sim_config {
    uint64_t seed;
    pkc_mesh_config mesh;      /* every peer's engine configuration */
    double lat_min_ms;         /* one-way latency of the closest pair: 5 */
    double lat_max_ms;         /* of the farthest pair: 100 */
    double jitter;             /* latency varies by +- this fraction: 0.1 */
    double loss;               /* probability a message is lost: 0 */
    double bandwidth_kbps;     /* per link and direction, 0 = unlimited */
    double ice_fail_s;         /* connectivity checks give up after: 5 */
    unsigned max_peers_alloc;  /* capacity: peers that may ever exist: 4096 */
} sim_config;

void sim_config_default(sim_config *c);

/* Peer classes. */
#define SIM_NAT 0u
#define SIM_PUBLIC 1u    /* dialable, reachable by everyone */
#define SIM_SYMMETRIC 2u /* cannot connect to another symmetric peer */

int sim_new(const sim_config *c, sim **out);
void sim_free(sim *s);

/* Creates a peer (not connected to anyone); returns its index or -1. */
int sim_add_peer(sim *s, unsigned cls);
/* As sim_add_peer, with an engine configuration of its own (NULL: the
 * simulator's), e.g. an attacker's. */
int sim_add_peer_with(sim *s, unsigned cls, const pkc_mesh_config *cfg);
/* Sets a peer's IPv4 address (host order), reported to the engines it
 * connects to afterwards. By default peer i is 10.(i >> 8).(i & 255).1: a
 * /24 of its own. */
void sim_set_addr(sim *s, int peer, uint32_t addr);
/* An attacker that withholds: messages whose first byte is t, for every bit
 * t set in `mask` (mesh message types), are silently not sent by `peer`'s
 * engine. 0: everything is sent. */
void sim_set_drop_types(sim *s, int peer, uint32_t mask);
/* The id of message `msg` (from sim_publish) into `out` (at least 16
 * bytes); returns its length, 0 if there is no such message. */
size_t sim_msg_id(const sim *s, int msg, uint8_t *out);
/* Forgets the latencies measured so far: sim_measure's latency figures then
 * cover deliveries from now on. */
void sim_clear_latency(sim *s);
/* Tells `peer` about `seed` as a known dialable contact (a DNS seed). */
void sim_add_seed(sim *s, int peer, int seed);
/* An out-of-band invitation: `peer` and `contact` connect directly (if the
 * reachability matrix allows) after two round trips. Returns 0 or -1. */
int sim_invite(sim *s, int peer, int contact);
/* Invitation from a random live peer in the mesh (one with a neighbour; the
 * first live peer while none has one) that `peer` can reach; returns it, or
 * -1. */
int sim_invite_random(sim *s, int peer);

void sim_crash(sim *s, int peer);            /* silent: engine freed, links go quiet */
void sim_leave(sim *s, int peer);            /* graceful: DISCONNECT, then gone */
void sim_block(sim *s, int a, int b);        /* a and b cannot connect directly */
/* Splits live peers: group[i] (0 or 1) for every peer index; messages and
 * connections between groups are lost until sim_heal(). */
void sim_partition(sim *s, const uint8_t *group);
void sim_heal(sim *s);

/* Publishes a new message from `peer`; `valid` = 0 makes validators reject
 * it. Returns the message number or -1. */
int sim_publish(sim *s, int peer, int valid, size_t size);
/* pkc_mesh_send from `a` to `b`; returns its result. */
int sim_send_direct(sim *s, int a, int b, const void *data, size_t len);
/* Raw bytes from `a` to `b` over their link, bypassing a's engine (an
 * attacker). Returns 0, or -1 if they have no link. */
int sim_inject(sim *s, int a, int b, const void *data, size_t len);

/* Runs events until virtual time `t` seconds. */
void sim_run_until(sim *s, double t);
double sim_now(const sim *s);
int64_t sim_wall_ms(const sim *s); /* the shared wall clock, Unix ms */

/* Inspection. */
int sim_peers(const sim *s);
int sim_alive(const sim *s, int peer);
pkc_mesh *sim_engine(sim *s, int peer);
const uint8_t *sim_peer_id(const sim *s, int peer);
const pkc_identity *sim_identity(const sim *s, int peer); /* its key, e.g. to sign as it */
unsigned sim_degree(sim *s, int peer);          /* engine's active neighbours */
int sim_linked(sim *s, int a, int b);           /* a transport link is open */
unsigned sim_components(sim *s);                /* among live peers */
unsigned sim_max_degree_ever(const sim *s);
/* Deliveries of message `msg` to live peers (its publisher included). */
unsigned sim_msg_delivered(const sim *s, int msg);
int sim_msg_delivered_to(const sim *s, int msg, int peer);
/* Direct messages received by `peer` from `from` (through sim_send_direct),
 * and the largest hop count seen. */
unsigned sim_direct_received(const sim *s, int peer, int from, unsigned *max_hops);
/* Links ever opened by routed signaling (not invitations or dials). */
uint64_t sim_signaled_links(const sim *s);
/* Largest number of transport links `a` and `b` ever had open together. */
int sim_ever_linked(const sim *s, int a, int b);

typedef struct sim_results {
    unsigned peers, live_peers, messages, crashed, joined, left;
    double delivery_ratio, redundancy;
    unsigned max_hops;
    double p50_latency_ms, p99_latency_ms, max_latency_ms, mean_latency_ms;
    unsigned max_degree, components;
    double avg_degree;
    uint64_t payload_msgs, payload_bytes, control_msgs, control_bytes;
    uint64_t ihave_ids, grafts, prunes, deliveries, payload_received;
    uint64_t connections, reconnections, failures, signaled_links, connect_attempts;
    uint64_t route_failures, errors, rate_limited, invalid;
    uint64_t events, lost;
    double sim_seconds;
} sim_results;

/* Measures every valid message published so far, over the peers alive now
 * that existed when it was published (sim_seconds, events: so far). */
void sim_measure(sim *s, sim_results *r);

/* ---- scenarios: what pkc-sim runs (scenario.c) ---------------------------- */

typedef struct sim_scenario {
    unsigned peers;            /* peers that join at the start */
    unsigned messages;         /* messages published after the warm-up */
    double crash;              /* fraction of peers that crash when publishing starts */
    uint64_t seed;
    pkc_mesh_broadcast protocol;
    double join_rate;          /* peers joining per second at the start: 10 */
    double warmup;             /* seconds between the last join and publishing: 60 */
    double rate;               /* messages per second: 20 */
    size_t size;               /* payload bytes: 64 */
    double drain;              /* seconds after the last message: 60 */
    double partition_at;       /* seconds after publishing starts; < 0: none */
    double partition_for;      /* seconds until it heals: 60 */
    double partition_fraction; /* share of peers on the smaller side: 0.5 */
    double churn;              /* joins + leaves + crashes per second while publishing */
    double public_fraction;    /* dialable peers: 0.05 */
    double symmetric_fraction; /* peers behind symmetric NATs: 0.1 */
    unsigned seeds;            /* dialable peers each peer knows from the start: 3 */
    unsigned max_peers;        /* 0: the engine default (8) */
    double loss, bandwidth_kbps, lat_min_ms, lat_max_ms;
} sim_scenario;

void sim_scenario_default(sim_scenario *sc);
/* Runs a scenario; fills `r`. Returns 0 or -1 (out of memory). */
int sim_run_scenario(const sim_scenario *sc, sim_results *r);
/* One JSON object on one line. */
void sim_results_json(FILE *f, const sim_scenario *sc, const sim_results *r, double wall_seconds);

#endif
