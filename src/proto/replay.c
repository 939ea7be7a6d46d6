/*
 * replay.c: the replay window for message ids (pkc.h, "Replay window";
 * design in docs/proto.md, "Replay window"; saved state in docs/protocol.md,
 * "Replay window state").
 *
 * Each id is an entry of a fixed pool, on four structures at once:
 *   - an open-addressing table (linear probing, keyed hash so that ids
 *     chosen by an attacker cannot pile up in one place) to find it;
 *   - a min-heap by timestamp, to forget it when it leaves the window;
 *   - the list of all entries in arrival order, to evict the oldest arrival
 *     when the pool is full;
 *   - its sender's list in arrival order, to evict the sender's oldest
 *     when it holds its share.
 * Senders are known by a keyed 32-bit hash of their key, and kept in
 * slots: SLOTS to a bucket, the bucket chosen by the hash. An id forgotten
 * before its time raises its sender's horizon to its timestamp: from then
 * on that sender's messages at or before it are refused, so the forgotten
 * one cannot come back, and nobody else's are. A slot is the sender's
 * while it has ids or a horizon that still matters; a sender that finds
 * its bucket's slots all taken is refused until one frees up.
 */
#include "proto/replay.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "crypto/kdf.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/versioned.h"
#include "util/rng.h"
#include "proto/wire.h"

#define NIL UINT32_MAX
#define NONE INT64_MIN /* no horizon, no floor */
#define FORMAT_MAGIC "pkc-replay"
#define FORMAT_VERSION 1
#define FORMAT_LABEL "pkc-replay-v1"
#define FLAG_FINAL 0x01
#define FLAG_HAS_TIME 0x02
#define FLAG_HAS_FLOOR 0x04
#define SLOTS 8 /* senders per bucket */
#define BUCKET_BITS_MIN 4
#define BUCKET_BITS_MAX 21
#define TIME_LIMIT (INT64_C(1) << 62) /* |times| in a saved state */

typedef struct entry {
    uint8_t id[PKC_MSG_ID_BYTES];
    int64_t ts;
    uint32_t sender; /* keyed hash of the sender's key */
    uint32_t heap;   /* index in the heap */
    uint32_t home;   /* table slot it hashes to */
    uint32_t prev, next;   /* arrival order, all entries (NIL at the ends) */
    uint32_t sprev, snext; /* arrival order, the sender's entries */
    uint8_t slot;          /* its sender's slot in the bucket */
} entry;

typedef struct slot {
    int64_t horizon; /* refuse this sender's timestamps <= horizon; NONE */
    uint32_t sender; /* the hash; the slot is free when count is 0 and the
                        horizon is NONE or below the window */
    uint32_t count;
    uint32_t head, tail; /* oldest and newest arrival */
} slot;

typedef struct bucket {
    /* Only from a saved state with more senders to a bucket than this
     * window has slots: refuse every sender's timestamps <= it. NONE. */
    int64_t shared;
    slot s[SLOTS];
} bucket;

struct pkc_replay {
    pkc_replay_config cfg;
    size_t per_sender;
    entry *pool;
    uint32_t free_list; /* through `next` */
    uint32_t fresh;     /* pool[fresh..capacity) never used: taken in order, so
                           that an idle window touches none of its memory */
    size_t count;
    uint32_t *heap;  /* entry indices, min-heap by ts */
    uint32_t *table; /* entry index + 1; 0 = empty */
    size_t mask;     /* table size - 1 */
    bucket *buckets;
    unsigned bucket_bits;
    uint32_t head, tail; /* oldest and newest arrival */
    uint8_t hash_key[16];
    int64_t floor;   /* refuse timestamps <= floor; NONE */
    int64_t max_now; /* newest `now` seen: forgetting follows it, so a clock
                        stepping back cannot revive forgotten ids */
    int have_now;
    int closed; /* exported as its last act: refuses everything */
    int used;   /* has checked or imported something */
};

#define CONFIG_SIZES PKC_STRUCT_V1(pkc_replay_config)

void pkc_replay_config_default_versioned(int config_version, pkc_replay_config *out)
{
    pkc_replay_config c = {
        .capacity = 65536, .max_age_ms = 600000, .max_skew_ms = 30000, .max_per_sender = 0};
    pkc_struct_write(out, &c, config_version, CONFIG_SIZES);
}

/* A bucket of SLOTS senders for every 16 ids: half as many sender slots
 * as ids. */
static unsigned bucket_bits_for(size_t capacity)
{
    unsigned bits = BUCKET_BITS_MIN;
    while (bits < BUCKET_BITS_MAX && ((size_t)1 << bits) < capacity / 16)
        bits++;
    return bits;
}

static void reset(pkc_replay *r)
{
    size_t nb = (size_t)1 << r->bucket_bits;
    for (size_t i = 0; i < nb; i++) {
        r->buckets[i].shared = NONE;
        for (int k = 0; k < SLOTS; k++)
            r->buckets[i].s[k] = (slot){NONE, 0, 0, NIL, NIL};
    }
    if (r->used || r->count)
        memset(r->table, 0, (r->mask + 1) * sizeof *r->table); /* new: calloc'd */
    r->free_list = NIL;
    r->fresh = 0;
    r->count = 0;
    r->head = r->tail = NIL;
    r->floor = NONE;
    r->max_now = 0;
    r->have_now = 0;
    r->closed = 0;
    r->used = 0;
}

int pkc_replay_new_versioned(int config_version, const pkc_replay_config *config,
                             const pkc_rng *rng, pkc_replay **out)
{
    if (config == NULL || rng == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay: NULL argument");
    pkc_replay_config c, *cfg = &c;
    pkc_replay_config_default(&c);
    int vrc = pkc_struct_read(&c, config, config_version, CONFIG_SIZES);
    if (vrc)
        return vrc;
    if (cfg->capacity == 0 || cfg->capacity > (1u << 24) || cfg->max_age_ms < 0 ||
        cfg->max_skew_ms < 0 || cfg->max_age_ms > TIME_LIMIT / 4 ||
        cfg->max_skew_ms > TIME_LIMIT / 4 || cfg->max_per_sender > cfg->capacity)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay: capacity must be 1..2^24, times "
                                              "non-negative, max_per_sender at most capacity");
    pkc_replay *r = calloc(1, sizeof *r);
    if (r == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    r->cfg = *cfg;
    r->per_sender = cfg->max_per_sender ? cfg->max_per_sender
                                        : (cfg->capacity / 32 ? cfg->capacity / 32 : 1);
    r->bucket_bits = bucket_bits_for(cfg->capacity);
    size_t tsize = 16;
    while (tsize < 2 * cfg->capacity)
        tsize <<= 1;
    r->mask = tsize - 1;
    r->pool = malloc(cfg->capacity * sizeof *r->pool);
    r->heap = malloc(cfg->capacity * sizeof *r->heap);
    r->table = calloc(tsize, sizeof *r->table);
    r->buckets = malloc(((size_t)1 << r->bucket_bits) * sizeof *r->buckets);
    if (r->pool == NULL || r->heap == NULL || r->table == NULL || r->buckets == NULL) {
        pkc_replay_free(r);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    reset(r);
    /* Unknown to peers, so they cannot choose ids or keys that collide. */
    pkc_rng_fill(rng, r->hash_key, sizeof r->hash_key);
    *out = r;
    return 0;
}

void pkc_replay_free(pkc_replay *r)
{
    if (r == NULL)
        return;
    free(r->pool);
    free(r->heap);
    free(r->table);
    free(r->buckets);
    free(r);
}

size_t pkc_replay_get_count(const pkc_replay *r)
{
    return r->count;
}

uint32_t pkc_replay_sender_hash(const pkc_replay *r, const uint8_t *sender)
{
    uint8_t h[4];
    pkc_crypto_hash2_keyed(h, sizeof h, r->hash_key, sizeof r->hash_key, sender,
                           sender ? PKC_PUBLIC_KEY_BYTES : 0, NULL, 0);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

uint32_t pkc_replay_bucket_of(const pkc_replay *r, uint32_t sender_hash)
{
    return sender_hash & (((uint32_t)1 << r->bucket_bits) - 1);
}

/* --- The id table ------------------------------------------------------ */

static size_t home_of(const pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES])
{
    uint8_t h[8];
    pkc_crypto_hash2_keyed(h, sizeof h, r->hash_key, sizeof r->hash_key, id, PKC_MSG_ID_BYTES,
                           NULL, 0);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | h[i];
    return (size_t)v & r->mask;
}

/* The table slot holding `id` (home `home`), or the empty slot where it
 * would go. */
static size_t find(const pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES], size_t home,
                   int *found)
{
    size_t i = home;
    while (r->table[i]) {
        if (memcmp(r->pool[r->table[i] - 1].id, id, PKC_MSG_ID_BYTES) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & r->mask;
    }
    *found = 0;
    return i;
}

/* Empties table slot `i` with backward-shift deletion (no tombstones). */
static void table_remove(pkc_replay *r, size_t i)
{
    size_t j = i;
    for (;;) {
        r->table[i] = 0;
        for (;;) {
            j = (j + 1) & r->mask;
            if (r->table[j] == 0)
                return;
            size_t k = r->pool[r->table[j] - 1].home;
            /* Move j back to i unless its home lies cyclically in (i, j]. */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        r->table[i] = r->table[j];
        i = j;
    }
}

/* --- The heap by timestamp --------------------------------------------- */

static void heap_put(pkc_replay *r, size_t at, uint32_t e)
{
    r->heap[at] = e;
    r->pool[e].heap = (uint32_t)at;
}

static void sift_up(pkc_replay *r, size_t at)
{
    uint32_t e = r->heap[at];
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (r->pool[r->heap[parent]].ts <= r->pool[e].ts)
            break;
        heap_put(r, at, r->heap[parent]);
        at = parent;
    }
    heap_put(r, at, e);
}

static void sift_down(pkc_replay *r, size_t at)
{
    uint32_t e = r->heap[at];
    for (;;) {
        size_t c = 2 * at + 1;
        if (c >= r->count)
            break;
        if (c + 1 < r->count && r->pool[r->heap[c + 1]].ts < r->pool[r->heap[c]].ts)
            c++;
        if (r->pool[e].ts <= r->pool[r->heap[c]].ts)
            break;
        heap_put(r, at, r->heap[c]);
        at = c;
    }
    heap_put(r, at, e);
}

/* --- Senders ---------------------------------------------------------- */

static int64_t oldest_kept(const pkc_replay *r)
{
    return r->max_now - r->cfg.max_age_ms;
}

/* Whether a slot is free: no ids, and no horizon that still refuses
 * anything the window would take. */
static int slot_free(const pkc_replay *r, const slot *k)
{
    return k->count == 0 && (k->horizon == NONE || k->horizon < oldest_kept(r));
}

/* The slot of sender `sh` in bucket `b`, or -1. */
static int slot_of(const pkc_replay *r, const bucket *b, uint32_t sh)
{
    for (int i = 0; i < SLOTS; i++)
        if (b->s[i].sender == sh && !slot_free(r, &b->s[i]))
            return i;
    return -1;
}

/* A free slot of `b` made `sh`'s, or -1 if all are taken. */
static int slot_claim(const pkc_replay *r, bucket *b, uint32_t sh)
{
    for (int i = 0; i < SLOTS; i++)
        if (slot_free(r, &b->s[i])) {
            b->s[i] = (slot){NONE, sh, 0, NIL, NIL};
            return i;
        }
    return -1;
}

static slot *slot_at(pkc_replay *r, const entry *x)
{
    return &r->buckets[pkc_replay_bucket_of(r, x->sender)].s[x->slot];
}

/* --- Entries ----------------------------------------------------------- */

/* Takes entry `e` off every structure and back to the free list. */
static void drop(pkc_replay *r, uint32_t e)
{
    entry *x = &r->pool[e];
    int found;
    table_remove(r, find(r, x->id, x->home, &found));

    size_t at = x->heap;
    r->count--;
    if (at != r->count) {
        /* The last leaf takes its place, then moves up or down. */
        heap_put(r, at, r->heap[r->count]);
        if (at > 0 && r->pool[r->heap[at]].ts < r->pool[r->heap[(at - 1) / 2]].ts)
            sift_up(r, at);
        else
            sift_down(r, at);
    }

    if (x->prev != NIL)
        r->pool[x->prev].next = x->next;
    else
        r->head = x->next;
    if (x->next != NIL)
        r->pool[x->next].prev = x->prev;
    else
        r->tail = x->prev;

    slot *k = slot_at(r, x);
    if (x->sprev != NIL)
        r->pool[x->sprev].snext = x->snext;
    else
        k->head = x->snext;
    if (x->snext != NIL)
        r->pool[x->snext].sprev = x->sprev;
    else
        k->tail = x->sprev;
    k->count--;

    x->next = r->free_list;
    r->free_list = e;
}

/* Forgets entry `e` before its time: its sender is refused its timestamp
 * and older from now on, so that it cannot be replayed. */
static void evict(pkc_replay *r, uint32_t e)
{
    slot *k = slot_at(r, &r->pool[e]);
    if (r->pool[e].ts > k->horizon)
        k->horizon = r->pool[e].ts;
    drop(r, e);
}

/* Adds an entry for sender `sh` in its slot `si` (the table slot is
 * `at`, found empty for `id`); there is room in the pool. */
static void insert(pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES], size_t home, size_t at,
                   int64_t ts, uint32_t sh, int si)
{
    uint32_t e = r->free_list;
    if (e == NIL) {
        e = r->fresh++;
    } else {
        r->free_list = r->pool[e].next;
    }
    entry *x = &r->pool[e];
    memcpy(x->id, id, PKC_MSG_ID_BYTES);
    x->ts = ts;
    x->sender = sh;
    x->slot = (uint8_t)si;
    x->home = (uint32_t)home;
    r->table[at] = e + 1;

    r->count++;
    heap_put(r, r->count - 1, e);
    sift_up(r, r->count - 1);

    x->prev = r->tail;
    x->next = NIL;
    if (r->tail != NIL)
        r->pool[r->tail].next = e;
    else
        r->head = e;
    r->tail = e;

    slot *k = slot_at(r, x);
    x->sprev = k->tail;
    x->snext = NIL;
    if (k->tail != NIL)
        r->pool[k->tail].snext = e;
    else
        k->head = e;
    k->tail = e;
    k->count++;
}

/* Takes `id` of sender `sh` (slot `si`, claimed): the sender's oldest
 * arrival goes first if it holds its share, then the oldest arrival of all
 * if the pool is full. */
static void admit(pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES], size_t home, int64_t ts,
                  uint32_t sh, int si)
{
    slot *k = &r->buckets[pkc_replay_bucket_of(r, sh)].s[si];
    if (k->count >= r->per_sender)
        evict(r, k->head);
    if (r->count == r->cfg.capacity)
        evict(r, r->head);
    int found;
    size_t at = find(r, id, home, &found); /* evictions may have moved the empty slot */
    insert(r, id, home, at, ts, sh, si);
}

static void see_time(pkc_replay *r, int64_t now)
{
    if (!r->have_now || now > r->max_now) {
        r->max_now = now;
        r->have_now = 1;
    }
}

int pkc_replay_check(pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES],
                     const uint8_t sender[PKC_PUBLIC_KEY_BYTES], int64_t ts, int64_t now)
{
    if (r == NULL || id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay: NULL argument");
    if (r->closed)
        return pkc_error(PKC_ERR_CLOSED, "replay window: closed by its final export");
    if (now > TIME_LIMIT || now < -TIME_LIMIT)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay window: now is beyond +-2^62 ms");
    if (ts > TIME_LIMIT || ts < -TIME_LIMIT)
        return pkc_error(PKC_ERR_STALE, "replay window: a timestamp beyond +-2^62 ms");
    r->used = 1;
    see_time(r, now);
    if (ts > now && ts - now > r->cfg.max_skew_ms)
        return pkc_error(PKC_ERR_STALE, "replay window: timestamp %lld ms in the future",
                         (long long)(ts - now));
    int64_t oldest = oldest_kept(r);
    if (ts < oldest)
        return pkc_error(PKC_ERR_STALE, "replay window: %lld ms old, at most %lld accepted",
                         (long long)(r->max_now - ts), (long long)r->cfg.max_age_ms);
    if (r->floor != NONE && ts <= r->floor)
        return pkc_error(PKC_ERR_STALE, "replay window: from before the restart (%lld ms before "
                                        "what it can vouch for)",
                         (long long)(r->floor - ts + 1));
    uint32_t sh = pkc_replay_sender_hash(r, sender);
    bucket *b = &r->buckets[pkc_replay_bucket_of(r, sh)];
    int si = slot_of(r, b, sh);
    if (ts <= b->shared || (si >= 0 && ts <= b->s[si].horizon))
        return pkc_error(PKC_ERR_STALE, "replay window: older than what it still remembers of "
                                        "this sender");
    while (r->count > 0 && r->pool[r->heap[0]].ts < oldest)
        drop(r, r->heap[0]);
    size_t home = home_of(r, id);
    int found;
    (void)find(r, id, home, &found);
    if (found)
        return pkc_error(PKC_ERR_REPLAY, "replay window: message already seen");
    if (si < 0 && (si = slot_claim(r, b, sh)) < 0)
        return pkc_error(PKC_ERR_STALE, "replay window: %d other senders hold this sender's "
                                        "bucket",
                         SLOTS);
    admit(r, id, home, ts, sh, si);
    return 0;
}

void pkc_replay_restart(pkc_replay *r, int64_t now_ms)
{
    if (r == NULL || now_ms > TIME_LIMIT || now_ms < -TIME_LIMIT)
        return;
    see_time(r, now_ms);
    int64_t f = now_ms + r->cfg.max_skew_ms;
    if (f > r->floor)
        r->floor = f;
}

/* --- Saved state ------------------------------------------------------- */

/* The floor a saved state carries: the window's own, or what it has
 * forgotten by age (timestamps before max_now - max_age), the higher. */
static int64_t export_floor(const pkc_replay *r)
{
    int64_t f = r->floor;
    if (r->have_now && r->max_now - r->cfg.max_age_ms - 1 > f)
        f = r->max_now - r->cfg.max_age_ms - 1;
    return f;
}

/* The slots of bucket `b` with a horizon above `f`, in the order a saved
 * state lists them (by sender hash); returns how many. */
static int horizons_of(const bucket *b, int64_t f, const slot *out[SLOTS])
{
    int n = 0;
    for (int i = 0; i < SLOTS; i++) {
        if (b->s[i].horizon == NONE || b->s[i].horizon <= f)
            continue;
        int j = n++;
        while (j > 0 && out[j - 1]->sender > b->s[i].sender) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = &b->s[i];
    }
    return n;
}

int pkc_replay_export(pkc_replay *r, unsigned flags, uint8_t **out, size_t *len)
{
    if (r == NULL || out == NULL || len == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay export: NULL argument");
    if (flags & ~(unsigned)PKC_REPLAY_EXPORT_FINAL)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay export: unknown flags 0x%x", flags);
    if (r->closed)
        return pkc_error(PKC_ERR_CLOSED, "replay export: already exported as final");
    int64_t f = export_floor(r);
    size_t nb = (size_t)1 << r->bucket_bits;
    uint32_t n_shared = 0, n_senders = 0, n_entries = 0;
    const slot *hz[SLOTS];
    for (size_t i = 0; i < nb; i++) {
        n_shared += r->buckets[i].shared != NONE && r->buckets[i].shared > f;
        n_senders += (uint32_t)horizons_of(&r->buckets[i], f, hz);
    }
    for (uint32_t e = r->head; e != NIL; e = r->pool[e].next)
        n_entries += r->pool[e].ts > f;

    pkc_buf b = PKC_BUF_INIT;
    (void)pkc_buf_reserve(&b, 128 + (size_t)(n_shared + n_senders) * 12 +
                                  (size_t)n_entries * 28);
    pkc_buf_push(&b, FORMAT_MAGIC, sizeof FORMAT_MAGIC - 1);
    pkc_buf_push_u8(&b, FORMAT_VERSION);
    pkc_buf_push_u8(&b, (uint8_t)(((flags & PKC_REPLAY_EXPORT_FINAL) ? FLAG_FINAL : 0) |
                                  (r->have_now ? FLAG_HAS_TIME : 0) |
                                  (f != NONE ? FLAG_HAS_FLOOR : 0)));
    pkc_buf_push_u64be(&b, r->have_now ? (uint64_t)r->max_now : 0);
    pkc_buf_push_u64be(&b, f != NONE ? (uint64_t)f : 0);
    pkc_buf_push_u64be(&b, (uint64_t)r->cfg.max_age_ms);
    pkc_buf_push_u64be(&b, (uint64_t)r->cfg.max_skew_ms);
    pkc_buf_push(&b, r->hash_key, sizeof r->hash_key);
    pkc_buf_push_u8(&b, (uint8_t)r->bucket_bits);
    pkc_buf_push_u32be(&b, n_shared);
    for (size_t i = 0; i < nb; i++) {
        if (r->buckets[i].shared == NONE || r->buckets[i].shared <= f)
            continue;
        pkc_buf_push_u32be(&b, (uint32_t)i);
        pkc_buf_push_u64be(&b, (uint64_t)r->buckets[i].shared);
    }
    pkc_buf_push_u32be(&b, n_senders);
    for (size_t i = 0; i < nb; i++) {
        int n = horizons_of(&r->buckets[i], f, hz);
        for (int k = 0; k < n; k++) {
            pkc_buf_push_u32be(&b, hz[k]->sender);
            pkc_buf_push_u64be(&b, (uint64_t)hz[k]->horizon);
        }
    }
    pkc_buf_push_u32be(&b, n_entries);
    for (uint32_t e = r->head; e != NIL; e = r->pool[e].next) {
        if (r->pool[e].ts <= f)
            continue;
        pkc_buf_push(&b, r->pool[e].id, PKC_MSG_ID_BYTES);
        pkc_buf_push_u64be(&b, (uint64_t)r->pool[e].ts);
        pkc_buf_push_u32be(&b, r->pool[e].sender);
    }
    if (b.err == 0) {
        uint8_t sum[32];
        pkc_hash_labeled(sum, sizeof sum, FORMAT_LABEL, b.data, b.len);
        pkc_buf_push(&b, sum, sizeof sum);
    }
    int rc = b.err;
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    *out = pkc_buf_steal(&b, len);
    if (flags & PKC_REPLAY_EXPORT_FINAL)
        r->closed = 1;
    return 0;
}

static int64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    /* Two's complement. */
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int read_time(pkc_reader *rd, int64_t *t, const char *what)
{
    const uint8_t *p;
    int rc = pkc_wire_fixed(rd, 8, &p, what);
    if (rc)
        return rc;
    int64_t x = be64(p);
    if (x > TIME_LIMIT || x < -TIME_LIMIT) {
        rd->p -= 8;
        return pkc_error(PKC_ERR_RANGE, "%s: offset %zu: %lld ms is beyond +-2^62", what,
                         pkc_reader_offset(rd), (long long)x);
    }
    *t = x;
    return 0;
}

static int read_u32(pkc_reader *rd, uint32_t *v, const char *what)
{
    const uint8_t *p;
    int rc = pkc_wire_fixed(rd, 4, &p, what);
    if (rc == 0)
        *v = be32(p);
    return rc;
}

/* The parts of a saved state, read and checked. */
typedef struct saved {
    unsigned flags;
    int64_t saved_at, floor, max_age, max_skew;
    const uint8_t *hash_key;
    unsigned bucket_bits;
    uint32_t n_shared, n_senders, n_entries;
    const uint8_t *shared, *senders, *entries; /* 12, 12 and 28 bytes each */
} saved;

/* A list of (u32, time) pairs, in increasing order of `order`(the u32),
 * each time above the floor. */
static int read_pairs(pkc_reader *rd, saved *s, uint32_t *n, const uint8_t **at, int senders)
{
    const char *what = senders ? "replay state sender horizons" : "replay state shared horizons";
    int rc = read_u32(rd, n, what);
    if (rc)
        return rc;
    if (*n > pkc_reader_left(rd) / 12)
        return pkc_error(PKC_ERR_TRUNCATED, "%s: %u of them, no room for them", what, *n);
    *at = rd->p;
    uint32_t mask = ((uint32_t)1 << s->bucket_bits) - 1;
    uint64_t last = 0;
    for (uint32_t i = 0; i < *n; i++) {
        uint32_t k;
        int64_t h;
        if ((rc = read_u32(rd, &k, what)) || (rc = read_time(rd, &h, what)))
            return rc;
        /* Shared: by bucket. Senders: by bucket, then hash. */
        uint64_t order = senders ? ((uint64_t)(k & mask) << 32 | k) : k;
        if ((i > 0 && order <= last) || (!senders && k > mask))
            return pkc_error(PKC_ERR_MALFORMED, "%s: %u: out of order or range", what, i);
        if (s->floor != NONE && h <= s->floor)
            return pkc_error(PKC_ERR_MALFORMED, "%s: %u: at or below the floor", what, i);
        last = order;
    }
    return 0;
}

static int parse(const uint8_t *in, size_t len, saved *s)
{
    size_t head = sizeof FORMAT_MAGIC - 1 + 1;
    if (len < head)
        return pkc_error(PKC_ERR_TRUNCATED, "replay state: %zu bytes, not even a header", len);
    if (memcmp(in, FORMAT_MAGIC, sizeof FORMAT_MAGIC - 1) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "replay state: not one (no \"%s\" magic)",
                         FORMAT_MAGIC);
    if (in[head - 1] != FORMAT_VERSION)
        return pkc_error(PKC_ERR_UNSUPPORTED, "replay state: version %u (this build reads %d)",
                         in[head - 1], FORMAT_VERSION);
    if (len < head + 32)
        return pkc_error(PKC_ERR_TRUNCATED, "replay state: %zu bytes, shorter than a checksum",
                         len);
    uint8_t sum[32];
    pkc_hash_labeled(sum, sizeof sum, FORMAT_LABEL, in, len - 32);
    if (pkc_crypto_memcmp(sum, in + len - 32, 32) != 0)
        return pkc_error(PKC_ERR_CHECKSUM,
                         "replay state: the checksum does not match (damaged or cut short)");
    pkc_reader rd;
    pkc_reader_init(&rd, in, len - 32);
    rd.p += head;
    uint8_t flags, bits;
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = pkc_wire_u8(&rd, &flags, "replay state flags")))
        return rc;
    if (flags & ~(FLAG_FINAL | FLAG_HAS_TIME | FLAG_HAS_FLOOR))
        return pkc_error(PKC_ERR_MALFORMED, "replay state: unknown flags 0x%02x", flags);
    s->flags = flags;
    if ((rc = read_time(&rd, &s->saved_at, "replay state time")) ||
        (rc = read_time(&rd, &s->floor, "replay state floor")) ||
        (rc = read_time(&rd, &s->max_age, "replay state max age")) ||
        (rc = read_time(&rd, &s->max_skew, "replay state max skew")) ||
        (rc = pkc_wire_fixed(&rd, 16, &s->hash_key, "replay state hash key")) ||
        (rc = pkc_wire_u8(&rd, &bits, "replay state bucket bits")))
        return rc;
    if (!(flags & FLAG_HAS_TIME) && s->saved_at != 0)
        return pkc_error(PKC_ERR_MALFORMED, "replay state: a time without its flag");
    if (!(flags & FLAG_HAS_FLOOR) && s->floor != 0)
        return pkc_error(PKC_ERR_MALFORMED, "replay state: a floor without its flag");
    if (!(flags & FLAG_HAS_FLOOR))
        s->floor = NONE;
    if (s->max_age < 0 || s->max_skew < 0 || s->max_age > TIME_LIMIT / 4 ||
        s->max_skew > TIME_LIMIT / 4)
        return pkc_error(PKC_ERR_MALFORMED, "replay state: max age or skew out of range");
    if ((flags & FLAG_HAS_TIME) &&
        (!(flags & FLAG_HAS_FLOOR) || s->floor < s->saved_at - s->max_age - 1))
        return pkc_error(PKC_ERR_MALFORMED,
                         "replay state: the floor is below what it had forgotten by age");
    if (bits < BUCKET_BITS_MIN || bits > BUCKET_BITS_MAX)
        return pkc_error(PKC_ERR_MALFORMED, "replay state: 2^%u buckets (2^%d..2^%d)", bits,
                         BUCKET_BITS_MIN, BUCKET_BITS_MAX);
    s->bucket_bits = bits;
    if ((rc = read_pairs(&rd, s, &s->n_shared, &s->shared, 0)) ||
        (rc = read_pairs(&rd, s, &s->n_senders, &s->senders, 1)) ||
        (rc = read_u32(&rd, &s->n_entries, "replay state entry count")))
        return rc;
    if (s->n_entries != pkc_reader_left(&rd) / 28 || pkc_reader_left(&rd) % 28)
        return pkc_error(PKC_ERR_MALFORMED, "replay state: %u entries in %zu bytes",
                         s->n_entries, pkc_reader_left(&rd));
    s->entries = rd.p;
    for (uint32_t i = 0; i < s->n_entries; i++) {
        const uint8_t *id;
        int64_t ts;
        uint32_t sender;
        if ((rc = pkc_wire_fixed(&rd, PKC_MSG_ID_BYTES, &id, "replay state id")) ||
            (rc = read_time(&rd, &ts, "replay state timestamp")) ||
            (rc = read_u32(&rd, &sender, "replay state sender")))
            return rc;
        if (s->floor != NONE && ts <= s->floor)
            return pkc_error(PKC_ERR_MALFORMED, "replay state: entry %u at or below the floor",
                             i);
    }
    return pkc_wire_end(&rd, "replay state");
}

/* Raises the horizon of sender `sh` to `h`: its own slot's, or where it
 * has none and none is free (a state saved by a window with more slots to
 * a bucket), its bucket's shared one. */
static void raise_horizon(pkc_replay *r, uint32_t sh, int64_t h)
{
    bucket *b = &r->buckets[pkc_replay_bucket_of(r, sh)];
    int si = slot_of(r, b, sh);
    if (si < 0)
        si = slot_claim(r, b, sh);
    int64_t *at = si >= 0 ? &b->s[si].horizon : &b->shared;
    if (h > *at)
        *at = h;
}

int pkc_replay_import(pkc_replay *r, const uint8_t *in, size_t len, int64_t now_ms)
{
    if (r == NULL || in == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay import: NULL argument");
    if (r->used || r->closed)
        return pkc_error(PKC_ERR_STATE, "replay import: only into a window that has not been "
                                        "used yet");
    if (now_ms > TIME_LIMIT || now_ms < -TIME_LIMIT)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay import: now is beyond +-2^62 ms");
    saved s;
    int rc = parse(in, len, &s);
    if (rc)
        return rc;
    /* What a failure below must put back (a restart may have set them). */
    uint8_t key[sizeof r->hash_key];
    memcpy(key, r->hash_key, sizeof key);
    int64_t floor = r->floor, max_now = r->max_now;
    int have_now = r->have_now;

    memcpy(r->hash_key, s.hash_key, sizeof r->hash_key);
    if (s.floor > r->floor)
        r->floor = s.floor;
    if (s.flags & FLAG_HAS_TIME)
        see_time(r, s.saved_at);
    /* The horizons first, so that the senders who have them hold slots. */
    uint32_t nb = (uint32_t)1 << r->bucket_bits, sb = (uint32_t)1 << s.bucket_bits;
    for (uint32_t i = 0; i < s.n_shared; i++) {
        /* A saved bucket's shared horizon, onto every bucket here that
         * holds senders of it. */
        const uint8_t *p = s.shared + (size_t)i * 12;
        uint32_t k = be32(p);
        int64_t h = be64(p + 4);
        for (uint32_t j = k & (nb - 1); j < nb; j += sb < nb ? sb : nb)
            if (h > r->buckets[j].shared)
                r->buckets[j].shared = h;
    }
    for (uint32_t i = 0; i < s.n_senders; i++) {
        const uint8_t *p = s.senders + (size_t)i * 12;
        raise_horizon(r, be32(p), be64(p + 4));
    }
    for (uint32_t i = 0; i < s.n_entries; i++) {
        const uint8_t *p = s.entries + (size_t)i * 28;
        size_t home = home_of(r, p);
        uint32_t sh = be32(p + 24);
        int64_t ts = be64(p + 16);
        int found;
        (void)find(r, p, home, &found);
        if (found) {
            reset(r);
            memcpy(r->hash_key, key, sizeof key);
            r->floor = floor;
            r->max_now = max_now;
            r->have_now = have_now;
            return pkc_error(PKC_ERR_MALFORMED, "replay state: entry %u repeats an id", i);
        }
        bucket *b = &r->buckets[pkc_replay_bucket_of(r, sh)];
        int si = slot_of(r, b, sh);
        if (si < 0)
            si = slot_claim(r, b, sh);
        if (si < 0) {
            /* More senders to this bucket than it has slots: the id is
             * not kept, and the bucket refuses its timestamp and older. */
            if (ts > b->shared)
                b->shared = ts;
            continue;
        }
        admit(r, p, home, ts, sh, si);
    }
    see_time(r, now_ms);
    if (!(s.flags & FLAG_FINAL)) {
        /* Saved while running: the window may have taken messages after it,
         * up to now, stamped up to max_skew ahead. */
        int64_t skew = s.max_skew > r->cfg.max_skew_ms ? s.max_skew : r->cfg.max_skew_ms;
        int64_t f = now_ms + skew;
        if (f > r->floor)
            r->floor = f;
    }
    r->used = 1;
    return 0;
}
