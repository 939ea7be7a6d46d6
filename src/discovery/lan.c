/*
 * lan.c: pkc_lan, the sans-I/O engine of same-host and LAN discovery
 * (lan.h; docs/discovery.md).
 */
#include "discovery/lan.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"

#define LOG "lan"
#define NEVER UINT64_MAX
#define SWEEP_US (10 * 1000000ull)
#define MINUTE_US (60 * 1000000ull)

void pkc_lan_config_default(pkc_lan_config *c)
{
    memset(c, 0, sizeof *c);
    c->enabled = 1;
    /* Spread as mDNS spreads its answers (RFC 6762, section 6: 20-120 ms),
     * short enough that a newcomer meets the room in a fraction of a second;
     * min_gap_ms and max_per_minute bound the rate whatever happens. */
    c->start_delay_ms = 20;
    c->change_delay_ms = 100;
    c->answer_delay_ms = 100;
    c->interval_min_ms = 1000;
    c->interval_max_ms = 30000;
    c->full_interval_ms = 300000;
    c->min_gap_ms = 250;
    c->max_per_minute = 20;
    c->answers_per_minute = 60;
    c->max_age_ms = 120000;
    c->max_skew_ms = 120000;
    c->report_interval_ms = 60000;
    c->peer_ttl_ms = 900000;
    c->max_peers = 256;
    c->max_sources = 256;
    c->source_rate = 100;
    c->source_burst = 200;
    c->datagram_cost = 1;
    c->signature_cost = 10;
    c->signature_rate = 100;
    c->signature_burst = 200;
}

typedef struct lan_room {
    uint8_t id[PKC_ROOM_ID_BYTES];
    unsigned connected, target;
} lan_room;

typedef struct lan_peer {
    uint8_t public_key[32];
    uint8_t dh_public_key[32];
    char peer_id[PKC_PEER_ID_SIZE];
    uint64_t last_ts;      /* timestamp of the last announcement accepted */
    uint64_t last_heard_us;
    /* Dial information, as last announced. */
    size_t n_addresses;
    char addresses[PKC_ADDRESSES_MAX][PKC_LAN_ADDRESS_MAX + 1];
    char ufrag[PKC_LAN_UFRAG_MAX + 1];
    char pwd[PKC_LAN_PWD_MAX + 1];
    uint8_t fingerprint[PKC_LAN_FINGERPRINT_BYTES];
    /* Rooms it announces, and when it was last reported in each. */
    size_t n_rooms;
    uint8_t rooms[PKC_LAN_ROOMS_MAX][PKC_ROOM_ID_BYTES];
    uint64_t reported_us[PKC_LAN_ROOMS_MAX];
    unsigned char reported[PKC_LAN_ROOMS_MAX];
} lan_peer;

typedef struct lan_source {
    uint8_t addr[32];
    size_t len;
    double tokens;
    uint64_t last_us;
} lan_source;

struct pkc_lan {
    pkc_lan_config cfg;
    pkc_lan_callbacks cb;
    void *user_data;
    const pkc_identity *id;
    const pkc_clock *clock;
    const pkc_rng *rng;
    int busy; /* inside a callback */

    lan_room rooms[PKC_LAN_ROOMS_MAX];
    size_t n_rooms;

    int have_listener;
    size_t n_addresses;
    char addresses[PKC_ADDRESSES_MAX][PKC_LAN_ADDRESS_MAX + 1];
    char ufrag[PKC_LAN_UFRAG_MAX + 1];
    char pwd[PKC_LAN_PWD_MAX + 1];
    uint8_t fingerprint[PKC_LAN_FINGERPRINT_BYTES];

    /* Sending schedule. */
    uint64_t next_us;     /* NEVER: nothing scheduled */
    int urgent;           /* the next announcement is for a change or an answer */
    uint32_t interval_ms; /* the back-off step after the next announcement */
    int has_sent;
    uint64_t last_send_us;
    int has_ts;
    uint64_t last_ts;     /* timestamps we send only increase */
    uint64_t answer_window_us; /* direct answers: the minute being counted ... */
    uint32_t answers_in_window; /* ... and how many it has had */
    uint64_t *ring;       /* times of the last max_per_minute announcements */
    size_t ring_count, ring_pos;
    pkc_buf out;

    /* Receiving. */
    lan_peer **peers;
    size_t n_peers;
    lan_source *sources;
    size_t n_sources;
    double sig_tokens;
    uint64_t sig_last_us;
    uint64_t last_sweep_us;

    pkc_lan_stats stats;
};

static uint64_t now_us(const pkc_lan *lan)
{
    return pkc_clock_mono_us(lan->clock);
}

static int busy_error(const pkc_lan *lan)
{
    (void)lan;
    return pkc_error(PKC_ERR_STATE, "lan: called from inside a pkc_lan callback");
}

static uint64_t ms_to_us(uint64_t ms)
{
    return ms * 1000;
}

/* x plus up to a quarter of x, so that nodes started together drift apart. */
static uint64_t jittered_us(pkc_lan *lan, uint32_t ms)
{
    return ms_to_us(ms) + pkc_rng_below(lan->rng, ms_to_us(ms) / 4 + 1);
}

/* ---- schedule --------------------------------------------------------------- */

static int is_ready(const pkc_lan *lan)
{
    return lan->cfg.enabled && lan->n_rooms > 0 && lan->have_listener && lan->n_addresses > 0;
}

static int all_full(const pkc_lan *lan)
{
    if (lan->n_rooms == 0)
        return 0;
    for (size_t i = 0; i < lan->n_rooms; i++)
        if (lan->rooms[i].connected < lan->rooms[i].target)
            return 0;
    return 1;
}

/* Announce within `max_delay_ms` (uniformly), unless something is due
 * sooner anyway. */
static void soon(pkc_lan *lan, uint32_t max_delay_ms)
{
    if (!lan->cfg.enabled)
        return;
    uint64_t t = now_us(lan) + pkc_rng_below(lan->rng, ms_to_us(max_delay_ms) + 1);
    if (t < lan->next_us)
        lan->next_us = t;
    lan->urgent = 1;
}

/* Something changed: announce soon, and repeat at 1, 2, 4 ... s again
 * (datagrams get lost; a few copies make up for it). */
static void restart(pkc_lan *lan, uint32_t max_delay_ms)
{
    lan->interval_ms = lan->cfg.interval_min_ms;
    soon(lan, max_delay_ms);
}

/* The earliest time the hard limits allow another announcement. */
static uint64_t allowed_at(const pkc_lan *lan)
{
    uint64_t t = 0;
    if (lan->has_sent)
        t = lan->last_send_us + ms_to_us(lan->cfg.min_gap_ms);
    if (lan->ring_count == lan->cfg.max_per_minute) {
        uint64_t oldest = lan->ring[lan->ring_pos]; /* the next slot to overwrite */
        if (oldest + MINUTE_US > t)
            t = oldest + MINUTE_US;
    }
    return t;
}

/* Encodes our announcement into lan->out, with a timestamp later than any
 * we sent before. */
static int encode(pkc_lan *lan)
{
    const char *addrs[PKC_ADDRESSES_MAX];
    for (size_t i = 0; i < lan->n_addresses; i++)
        addrs[i] = lan->addresses[i];
    uint8_t rooms[PKC_LAN_ROOMS_MAX * PKC_ROOM_ID_BYTES];
    for (size_t i = 0; i < lan->n_rooms; i++)
        memcpy(rooms + i * PKC_ROOM_ID_BYTES, lan->rooms[i].id, PKC_ROOM_ID_BYTES);
    int64_t wall = pkc_clock_wall_ms(lan->clock);
    uint64_t ts = wall > 0 ? (uint64_t)wall : 0;
    if (lan->has_ts && ts <= lan->last_ts)
        ts = lan->last_ts + 1;
    pkc_lan_params p = {
        .timestamp_ms = ts,
        .addresses = addrs,
        .n_addresses = lan->n_addresses,
        .rooms = rooms,
        .n_rooms = lan->n_rooms,
        .fingerprint = lan->fingerprint,
        .ufrag = lan->ufrag,
        .pwd = lan->pwd,
    };
    pkc_buf_reset(&lan->out);
    int rc;
    /* Leave addresses out, last first, until the datagram fits. */
    while ((rc = pkc_lan_datagram_encode(lan->id, &p, &lan->out)) == PKC_ERR_TOO_LARGE &&
           p.n_addresses > 1)
        p.n_addresses--;
    if (rc)
        return rc;
    if (p.n_addresses < lan->n_addresses)
        pkc_logd(LOG, "announcing %zu of %zu addresses (datagram size)", p.n_addresses,
                 lan->n_addresses);
    lan->last_ts = ts;
    lan->has_ts = 1;
    return 0;
}

static int announce(pkc_lan *lan, uint64_t now)
{
    int rc = encode(lan);
    if (rc)
        return rc;
    lan->has_sent = 1;
    lan->last_send_us = now;
    lan->ring[lan->ring_pos] = now;
    lan->ring_pos = (lan->ring_pos + 1) % lan->cfg.max_per_minute;
    if (lan->ring_count < lan->cfg.max_per_minute)
        lan->ring_count++;
    lan->stats.sent++;
    lan->busy = 1;
    lan->cb.send(lan->user_data, lan, lan->out.data, lan->out.len);
    lan->busy = 0;
    return 0;
}

/* Answers a newcomer at once, to it alone, if the runtime can reach the
 * source of the datagram being received and the minute's budget allows;
 * returns whether it did. */
static int answer_now(pkc_lan *lan, uint64_t now)
{
    if (lan->cb.answer == NULL || !is_ready(lan) || lan->cfg.answers_per_minute == 0)
        return 0;
    if (now - lan->answer_window_us >= MINUTE_US) {
        lan->answer_window_us = now;
        lan->answers_in_window = 0;
    }
    if (lan->answers_in_window >= lan->cfg.answers_per_minute || encode(lan) != 0)
        return 0;
    lan->busy = 1;
    int ok = lan->cb.answer(lan->user_data, lan, lan->out.data, lan->out.len);
    lan->busy = 0;
    if (!ok)
        return 0;
    lan->answers_in_window++;
    lan->stats.answered++;
    return 1;
}

/* ---- peers and sources ------------------------------------------------------ */

static lan_peer *peer_find(const pkc_lan *lan, const uint8_t *pk)
{
    for (size_t i = 0; i < lan->n_peers; i++)
        if (memcmp(lan->peers[i]->public_key, pk, 32) == 0)
            return lan->peers[i];
    return NULL;
}

static void peer_remove_at(pkc_lan *lan, size_t i)
{
    free(lan->peers[i]);
    lan->peers[i] = lan->peers[--lan->n_peers];
}

static void sweep(pkc_lan *lan, uint64_t now)
{
    if (now < lan->last_sweep_us + SWEEP_US)
        return;
    lan->last_sweep_us = now;
    for (size_t i = 0; i < lan->n_peers;) {
        if (now - lan->peers[i]->last_heard_us >= ms_to_us(lan->cfg.peer_ttl_ms))
            peer_remove_at(lan, i);
        else
            i++;
    }
}

static void refill(double *tokens, uint64_t *last_us, uint64_t now, double rate, double burst)
{
    if (now > *last_us) {
        *tokens += (double)(now - *last_us) / 1e6 * rate;
        if (*tokens > burst)
            *tokens = burst;
    }
    *last_us = now;
}

static lan_source *source_get(pkc_lan *lan, const uint8_t *src, size_t len, uint64_t now)
{
    lan_source *lru = NULL;
    for (size_t i = 0; i < lan->n_sources; i++) {
        lan_source *s = &lan->sources[i];
        if (s->len == len && memcmp(s->addr, src, len) == 0) {
            refill(&s->tokens, &s->last_us, now, lan->cfg.source_rate, lan->cfg.source_burst);
            return s;
        }
        if (lru == NULL || s->last_us < lru->last_us)
            lru = s;
    }
    /* A new source starts with a full bucket; when the table is full, the
     * one heard from longest ago makes room. */
    lan_source *s = lan->n_sources < lan->cfg.max_sources ? &lan->sources[lan->n_sources++] : lru;
    memcpy(s->addr, src, len);
    s->len = len;
    s->tokens = lan->cfg.source_burst;
    s->last_us = now;
    return s;
}

static int is_our_room(const pkc_lan *lan, const uint8_t *id)
{
    for (size_t i = 0; i < lan->n_rooms; i++)
        if (memcmp(lan->rooms[i].id, id, PKC_ROOM_ID_BYTES) == 0)
            return 1;
    return 0;
}

static void report(pkc_lan *lan, lan_peer *p, size_t room, uint64_t now)
{
    p->reported[room] = 1;
    p->reported_us[room] = now;
    lan->stats.reported++;
    if (lan->cb.found == NULL)
        return;
    const char *addrs[PKC_ADDRESSES_MAX];
    for (size_t i = 0; i < p->n_addresses; i++)
        addrs[i] = p->addresses[i];
    pkc_lan_peer info = {
        .public_key = p->public_key,
        .dh_public_key = p->dh_public_key,
        .peer_id = p->peer_id,
        .room_id = p->rooms[room],
        .addresses = addrs,
        .n_addresses = p->n_addresses,
        .ufrag = p->ufrag,
        .pwd = p->pwd,
        .fingerprint = p->fingerprint,
        .timestamp_ms = p->last_ts,
    };
    lan->busy = 1;
    lan->cb.found(lan->user_data, lan, &info);
    lan->busy = 0;
}

static void copy_bytes(char *dst, pkc_bytes b)
{
    memcpy(dst, b.data, b.len);
    dst[b.len] = 0;
}

static int same_string(const char *s, pkc_bytes b)
{
    return strlen(s) == b.len && memcmp(s, b.data, b.len) == 0;
}

/* Whether the announcement's dial information differs from what `p` has. */
static int dial_changed(const lan_peer *p, const pkc_lan_announcement *a)
{
    if (p->n_addresses != a->announce.n_addresses || !same_string(p->ufrag, a->ufrag) ||
        !same_string(p->pwd, a->pwd) ||
        memcmp(p->fingerprint, a->fingerprint, PKC_LAN_FINGERPRINT_BYTES) != 0)
        return 1;
    for (size_t i = 0; i < p->n_addresses; i++)
        if (!same_string(p->addresses[i], a->announce.addresses[i]))
            return 1;
    return 0;
}

/* Records a verified announcement; returns the peer, or NULL (no memory). */
static lan_peer *peer_update(pkc_lan *lan, const pkc_lan_announcement *a, uint64_t now,
                             int *is_new, int *changed, int *gained)
{
    lan_peer *p = peer_find(lan, a->announce.public_key);
    *is_new = p == NULL;
    *changed = 0;
    *gained = 0;
    if (p == NULL) {
        if (lan->n_peers == lan->cfg.max_peers) {
            size_t oldest = 0;
            for (size_t i = 1; i < lan->n_peers; i++)
                if (lan->peers[i]->last_heard_us < lan->peers[oldest]->last_heard_us)
                    oldest = i;
            peer_remove_at(lan, oldest);
        }
        p = calloc(1, sizeof *p);
        if (p == NULL)
            return NULL;
        memcpy(p->public_key, a->announce.public_key, 32);
        memcpy(p->peer_id, a->announce.peer_id, sizeof p->peer_id);
        lan->peers[lan->n_peers++] = p;
    } else {
        *changed = dial_changed(p, a);
    }
    memcpy(p->dh_public_key, a->announce.dh_public_key, 32);
    p->last_ts = a->announce.timestamp_ms;
    p->last_heard_us = now;
    p->n_addresses = a->announce.n_addresses;
    for (size_t i = 0; i < p->n_addresses; i++)
        copy_bytes(p->addresses[i], a->announce.addresses[i]);
    copy_bytes(p->ufrag, a->ufrag);
    copy_bytes(p->pwd, a->pwd);
    memcpy(p->fingerprint, a->fingerprint, PKC_LAN_FINGERPRINT_BYTES);

    /* Its rooms: report times carry over for rooms it still announces. */
    uint8_t rooms[PKC_LAN_ROOMS_MAX][PKC_ROOM_ID_BYTES] = {{0}};
    uint64_t reported_us[PKC_LAN_ROOMS_MAX] = {0};
    unsigned char reported[PKC_LAN_ROOMS_MAX] = {0};
    for (size_t i = 0; i < a->n_rooms; i++) {
        const uint8_t *id = a->rooms + i * PKC_ROOM_ID_BYTES;
        memcpy(rooms[i], id, PKC_ROOM_ID_BYTES);
        reported[i] = 0;
        reported_us[i] = 0;
        size_t j = 0;
        while (j < p->n_rooms && memcmp(p->rooms[j], id, PKC_ROOM_ID_BYTES) != 0)
            j++;
        if (j < p->n_rooms) {
            reported[i] = p->reported[j];
            reported_us[i] = p->reported_us[j];
        } else if (is_our_room(lan, id)) {
            *gained = 1;
        }
    }
    p->n_rooms = a->n_rooms;
    memcpy(p->rooms, rooms, sizeof rooms);
    memcpy(p->reported_us, reported_us, sizeof reported_us);
    memcpy(p->reported, reported, sizeof reported);
    return p;
}

/* ---- the API ---------------------------------------------------------------- */

static int check_config(const pkc_lan_config *c)
{
#define BAD(cond, what)                                                                            \
    if (cond)                                                                                      \
    return pkc_error(PKC_ERR_INVALID_ARG, "lan config: %s", what)
    BAD(c->interval_min_ms == 0 || c->interval_max_ms < c->interval_min_ms,
        "interval_min_ms must be 1..interval_max_ms");
    BAD(c->interval_max_ms > 86400000u || c->full_interval_ms > 86400000u ||
            c->start_delay_ms > 86400000u || c->change_delay_ms > 86400000u ||
            c->answer_delay_ms > 86400000u || c->min_gap_ms > 86400000u,
        "delays and intervals must be at most a day");
    BAD(c->full_interval_ms < c->interval_min_ms, "full_interval_ms below interval_min_ms");
    BAD(c->max_per_minute < 1 || c->max_per_minute > 600, "max_per_minute must be 1..600");
    BAD(c->answers_per_minute > 600, "answers_per_minute must be 0..600");
    BAD(c->max_age_ms < 0 || c->max_skew_ms < 0, "max_age_ms and max_skew_ms must be >= 0");
    BAD(c->max_peers < 1 || c->max_peers > 65536, "max_peers must be 1..65536");
    BAD(c->max_sources < 1 || c->max_sources > 65536, "max_sources must be 1..65536");
    BAD(!(c->source_rate > 0) || !(c->source_burst >= c->datagram_cost + c->signature_cost) ||
            !(c->datagram_cost >= 0) || !(c->signature_cost >= 0),
        "source_rate must be > 0 and source_burst at least datagram_cost + signature_cost");
    BAD(!(c->signature_rate > 0) || !(c->signature_burst >= 1),
        "signature_rate must be > 0 and signature_burst >= 1");
#undef BAD
    return 0;
}

int pkc_lan_new(const pkc_lan_config *cfg, const pkc_lan_callbacks *cb, void *user_data,
                const pkc_identity *id, const pkc_clock *clock, const pkc_rng *rng,
                pkc_lan **out)
{
    if (cb == NULL || cb->send == NULL || id == NULL || clock == NULL || rng == NULL ||
        out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan: NULL argument (callbacks, send, identity, "
                                              "clock and rng are required)");
    pkc_lan_config c;
    if (cfg)
        c = *cfg;
    else
        pkc_lan_config_default(&c);
    int rc = check_config(&c);
    if (rc)
        return rc;
    pkc_lan *lan = calloc(1, sizeof *lan);
    if (lan == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    lan->ring = calloc(c.max_per_minute, sizeof *lan->ring);
    lan->peers = calloc(c.max_peers, sizeof *lan->peers);
    lan->sources = calloc(c.max_sources, sizeof *lan->sources);
    if (lan->ring == NULL || lan->peers == NULL || lan->sources == NULL) {
        pkc_lan_free(lan);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    lan->cfg = c;
    lan->cb = *cb;
    lan->user_data = user_data;
    lan->id = id;
    lan->clock = clock;
    lan->rng = rng;
    pkc_buf_init_limit(&lan->out, PKC_LAN_DATAGRAM_MAX + 256);
    lan->next_us = NEVER;
    lan->interval_ms = c.interval_min_ms;
    lan->sig_tokens = c.signature_burst;
    lan->sig_last_us = now_us(lan);
    lan->last_sweep_us = lan->sig_last_us;
    soon(lan, c.start_delay_ms);
    *out = lan;
    return 0;
}

void pkc_lan_free(pkc_lan *lan)
{
    if (lan == NULL)
        return;
    if (lan->peers)
        for (size_t i = 0; i < lan->n_peers; i++)
            free(lan->peers[i]);
    free(lan->peers);
    free(lan->sources);
    free(lan->ring);
    pkc_buf_free(&lan->out);
    free(lan);
}

int pkc_lan_set_listener(pkc_lan *lan, const char *const *addresses, size_t n_addresses,
                         const char *ufrag, const char *pwd, const uint8_t *fingerprint)
{
    if (lan == NULL || ufrag == NULL || pwd == NULL || fingerprint == NULL ||
        (n_addresses > 0 && addresses == NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "lan listener: NULL argument");
    if (lan->busy)
        return busy_error(lan);
    if (n_addresses > PKC_ADDRESSES_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan listener: %zu addresses, at most %d",
                         n_addresses, PKC_ADDRESSES_MAX);
    for (size_t i = 0; i < n_addresses; i++)
        if (addresses[i] == NULL || !pkc_lan_address_valid(addresses[i], strlen(addresses[i])))
            return pkc_error(PKC_ERR_INVALID_ARG, "lan listener: address %zu \"%.64s\" is not "
                                                  "udp:IP:PORT",
                             i, addresses[i] ? addresses[i] : "(null)");
    size_t ul = strlen(ufrag), pl = strlen(pwd);
    if (!pkc_lan_ice_string_valid((const uint8_t *)ufrag, ul, PKC_LAN_UFRAG_MIN,
                                  PKC_LAN_UFRAG_MAX) ||
        !pkc_lan_ice_string_valid((const uint8_t *)pwd, pl, PKC_LAN_PWD_MIN, PKC_LAN_PWD_MAX))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "lan listener: ICE ufrag must be %d..%d and pwd %d..%d ice-chars",
                         PKC_LAN_UFRAG_MIN, PKC_LAN_UFRAG_MAX, PKC_LAN_PWD_MIN, PKC_LAN_PWD_MAX);
    int changed = !lan->have_listener || n_addresses != lan->n_addresses ||
                  strcmp(ufrag, lan->ufrag) != 0 || strcmp(pwd, lan->pwd) != 0 ||
                  memcmp(fingerprint, lan->fingerprint, PKC_LAN_FINGERPRINT_BYTES) != 0;
    for (size_t i = 0; !changed && i < n_addresses; i++)
        changed = strcmp(addresses[i], lan->addresses[i]) != 0;
    lan->have_listener = 1;
    lan->n_addresses = n_addresses;
    for (size_t i = 0; i < n_addresses; i++)
        memcpy(lan->addresses[i], addresses[i], strlen(addresses[i]) + 1);
    memcpy(lan->ufrag, ufrag, ul + 1);
    memcpy(lan->pwd, pwd, pl + 1);
    memcpy(lan->fingerprint, fingerprint, PKC_LAN_FINGERPRINT_BYTES);
    if (changed)
        restart(lan, lan->cfg.change_delay_ms);
    return 0;
}

static lan_room *room_find(pkc_lan *lan, const uint8_t *id)
{
    for (size_t i = 0; i < lan->n_rooms; i++)
        if (memcmp(lan->rooms[i].id, id, PKC_ROOM_ID_BYTES) == 0)
            return &lan->rooms[i];
    return NULL;
}

int pkc_lan_join(pkc_lan *lan, const uint8_t *room_id)
{
    if (lan == NULL || room_id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan join: NULL argument");
    if (lan->busy)
        return busy_error(lan);
    if (room_find(lan, room_id))
        return pkc_error(PKC_ERR_EXISTS, "lan join: the room is announced already");
    if (lan->n_rooms == PKC_LAN_ROOMS_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "lan join: %d rooms announced already",
                         PKC_LAN_ROOMS_MAX);
    lan_room *r = &lan->rooms[lan->n_rooms++];
    memcpy(r->id, room_id, PKC_ROOM_ID_BYTES);
    r->connected = 0;
    r->target = 1;
    restart(lan, lan->cfg.change_delay_ms);
    /* Peers already heard in it. */
    uint64_t now = now_us(lan);
    if (!lan->cfg.enabled)
        return 0;
    for (size_t i = 0; i < lan->n_peers; i++) {
        lan_peer *p = lan->peers[i];
        if (now - p->last_heard_us >= ms_to_us(lan->cfg.peer_ttl_ms))
            continue;
        for (size_t j = 0; j < p->n_rooms; j++)
            if (memcmp(p->rooms[j], room_id, PKC_ROOM_ID_BYTES) == 0)
                report(lan, p, j, now);
    }
    return 0;
}

int pkc_lan_leave(pkc_lan *lan, const uint8_t *room_id)
{
    if (lan == NULL || room_id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan leave: NULL argument");
    if (lan->busy)
        return busy_error(lan);
    lan_room *r = room_find(lan, room_id);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "lan leave: the room is not announced");
    *r = lan->rooms[--lan->n_rooms];
    /* Forget whom we reported in it, so that joining again reports them again. */
    for (size_t i = 0; i < lan->n_peers; i++)
        for (size_t j = 0; j < lan->peers[i]->n_rooms; j++)
            if (memcmp(lan->peers[i]->rooms[j], room_id, PKC_ROOM_ID_BYTES) == 0)
                lan->peers[i]->reported[j] = 0;
    restart(lan, lan->cfg.change_delay_ms);
    return 0;
}

int pkc_lan_set_room_status(pkc_lan *lan, const uint8_t *room_id, unsigned connected,
                            unsigned target)
{
    if (lan == NULL || room_id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan room status: NULL argument");
    if (lan->busy)
        return busy_error(lan);
    lan_room *r = room_find(lan, room_id);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "lan room status: the room is not announced");
    int was_full = all_full(lan);
    r->connected = connected;
    r->target = target;
    int full = all_full(lan);
    if (was_full && !full) {
        restart(lan, lan->cfg.change_delay_ms);
    } else if (!was_full && full && !lan->urgent && lan->next_us != NEVER) {
        /* The regular back-off gives way to the rare announcement at once. */
        uint64_t base = lan->has_sent ? lan->last_send_us : now_us(lan);
        lan->next_us = base + jittered_us(lan, lan->cfg.full_interval_ms);
    }
    return 0;
}

int pkc_lan_set_enabled(pkc_lan *lan, int enabled)
{
    if (lan == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan: NULL argument");
    if (lan->busy)
        return busy_error(lan);
    enabled = enabled != 0;
    if (enabled == lan->cfg.enabled)
        return 0;
    lan->cfg.enabled = enabled;
    if (enabled) {
        restart(lan, lan->cfg.start_delay_ms);
    } else {
        lan->next_us = NEVER;
        lan->urgent = 0;
    }
    return 0;
}

uint64_t pkc_lan_get_deadline(const pkc_lan *lan)
{
    if (lan == NULL || !is_ready(lan))
        return NEVER;
    return lan->next_us;
}

int pkc_lan_tick(pkc_lan *lan)
{
    if (lan == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan: NULL argument");
    if (lan->busy)
        return busy_error(lan);
    uint64_t now = now_us(lan);
    sweep(lan, now);
    if (!is_ready(lan) || lan->next_us == NEVER || now < lan->next_us)
        return 0;
    uint64_t t = allowed_at(lan);
    if (t > now) {
        lan->next_us = t;
        lan->stats.deferred++;
        return 0;
    }
    int rc = announce(lan, now);
    if (rc) {
        /* Not expected (the parameters were checked when set); try again
         * later rather than in a loop. */
        pkc_logw(LOG, "cannot announce: %s", pkc_errmsg());
        lan->next_us = now + ms_to_us(lan->cfg.interval_max_ms);
        return rc;
    }
    lan->urgent = 0;
    if (all_full(lan)) {
        lan->next_us = now + jittered_us(lan, lan->cfg.full_interval_ms);
    } else {
        lan->next_us = now + jittered_us(lan, lan->interval_ms);
        lan->interval_ms = lan->interval_ms > lan->cfg.interval_max_ms / 2
                               ? lan->cfg.interval_max_ms
                               : lan->interval_ms * 2;
    }
    return 0;
}

static int stale(const pkc_lan *lan, uint64_t ts, int64_t now_ms)
{
    int64_t t = (int64_t)ts; /* at most 2^53 - 1: the decoder checked */
    return (t > now_ms && t - now_ms > lan->cfg.max_skew_ms) ||
           (t < now_ms && now_ms - t > lan->cfg.max_age_ms);
}

int pkc_lan_receive(pkc_lan *lan, const uint8_t *data, size_t len, const uint8_t *src,
                    size_t src_len)
{
    if (lan == NULL || (data == NULL && len > 0) || src == NULL || src_len == 0 || src_len > 32)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan receive: NULL argument or source of %zu bytes",
                         src_len);
    if (lan->busy)
        return busy_error(lan);
    lan->stats.received++;
    if (!lan->cfg.enabled) {
        lan->stats.disabled++;
        return pkc_error(PKC_ERR_STATE, "lan receive: discovery is off");
    }
    uint64_t now = now_us(lan);
    sweep(lan, now);

    /* Every datagram is paid for before anything is done with it. */
    lan_source *s = source_get(lan, src, src_len, now);
    if (s->tokens < lan->cfg.datagram_cost) {
        lan->stats.rate_limited++;
        return pkc_error(PKC_ERR_RATE_LIMITED, "lan receive: the source is over its budget");
    }
    s->tokens -= lan->cfg.datagram_cost;

    pkc_lan_announcement a;
    int rc = pkc_lan_datagram_decode(data ? data : (const uint8_t *)"", len, &a);
    if (rc) {
        lan->stats.malformed++;
        return rc;
    }
    if (memcmp(a.announce.public_key, lan->id->public_key, 32) == 0) {
        lan->stats.own++;
        return 0;
    }
    lan_peer *p = peer_find(lan, a.announce.public_key);
    if (p && a.announce.timestamp_ms == p->last_ts) {
        lan->stats.duplicate++;
        return 0;
    }
    if (p && a.announce.timestamp_ms < p->last_ts) {
        lan->stats.older++;
        return pkc_error(PKC_ERR_REPLAY,
                         "lan receive: announcement of %s older than one already accepted",
                         a.announce.peer_id);
    }
    int64_t now_ms = pkc_clock_wall_ms(lan->clock);
    if (stale(lan, a.announce.timestamp_ms, now_ms)) {
        lan->stats.stale++;
        return pkc_error(PKC_ERR_STALE,
                         "lan receive: announcement of %s made at %llu, now is %lld "
                         "(accepted: %lld ms old to %lld ms ahead)",
                         a.announce.peer_id, (unsigned long long)a.announce.timestamp_ms,
                         (long long)now_ms, (long long)lan->cfg.max_age_ms,
                         (long long)lan->cfg.max_skew_ms);
    }

    /* The signature: paid for from the source's budget and the global one. */
    refill(&lan->sig_tokens, &lan->sig_last_us, now, lan->cfg.signature_rate,
           lan->cfg.signature_burst);
    if (s->tokens < lan->cfg.signature_cost || lan->sig_tokens < 1) {
        lan->stats.rate_limited++;
        return pkc_error(PKC_ERR_RATE_LIMITED, "lan receive: no budget left for a signature check");
    }
    s->tokens -= lan->cfg.signature_cost;
    lan->sig_tokens -= 1;
    lan->stats.signatures_checked++;
    rc = pkc_announce_verify(&a.announce, now_ms, lan->cfg.max_age_ms, lan->cfg.max_skew_ms, 0);
    if (rc) {
        if (rc == PKC_ERR_BAD_SIGNATURE)
            lan->stats.bad_signature++;
        else
            lan->stats.stale++;
        return rc;
    }
    lan->stats.accepted++;

    int is_new, changed, gained;
    p = peer_update(lan, &a, now, &is_new, &changed, &gained);
    if (p == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int shared = 0;
    for (size_t i = 0; i < p->n_rooms; i++)
        shared |= is_our_room(lan, p->rooms[i]);
    if (!shared) {
        lan->stats.other_rooms++;
        return 0;
    }
    /* A newcomer (or one that restarted: its listener credentials are new)
     * learns of us from our answer instead of our next announcement, which
     * may be minutes away. */
    if ((is_new || changed || gained) && !answer_now(lan, now))
        soon(lan, lan->cfg.answer_delay_ms);
    for (size_t i = 0; i < p->n_rooms; i++) {
        if (!is_our_room(lan, p->rooms[i]))
            continue;
        if (!p->reported[i] || changed ||
            now - p->reported_us[i] >= ms_to_us(lan->cfg.report_interval_ms))
            report(lan, p, i, now);
    }
    return 0;
}

void pkc_lan_get_stats(const pkc_lan *lan, pkc_lan_stats *out)
{
    if (lan && out)
        *out = lan->stats;
}
