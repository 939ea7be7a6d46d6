/*
 * replay.c: the replay window for message ids (pkc.h, "Replay window").
 *
 * A min-heap of (timestamp, id) ordered by timestamp finds what to forget
 * first; an open-addressing table (linear probing, keyed hash so that ids
 * chosen by an attacker cannot pile up in one place) finds ids. Heap entries
 * know their table slot and table slots their heap index, so both stay in
 * step in O(log n) per operation.
 */
#include <stdlib.h>
#include <string.h>

#include "../crypto/backend.h"
#include "../util/err.h"
#include "../util/rng.h"
#include "pkc.h"

typedef struct entry {
    int64_t ts;
    uint32_t slot; /* index in the table */
    uint8_t id[PKC_MSG_ID_BYTES];
} entry;

struct pkc_replay {
    pkc_replay_config cfg;
    entry *heap; /* cfg.capacity entries, min-heap by ts */
    size_t count;
    uint32_t *table; /* heap index + 1; 0 = empty */
    size_t mask;     /* table size - 1 */
    uint8_t hash_key[16];
    int64_t horizon; /* refuse ts <= horizon (after a forced eviction) */
    int have_horizon;
    int64_t max_now; /* newest `now` seen: forgetting follows it, so a clock
                        stepping back cannot revive forgotten ids */
    int have_now;
};

void pkc_replay_config_default(pkc_replay_config *cfg)
{
    cfg->capacity = 16384;
    cfg->max_age_ms = 600000;
    cfg->max_skew_ms = 120000;
}

int pkc_replay_new(const pkc_replay_config *cfg, const pkc_rng *rng, pkc_replay **out)
{
    if (cfg == NULL || rng == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay: NULL argument");
    if (cfg->capacity == 0 || cfg->capacity > (1u << 24) || cfg->max_age_ms < 0 ||
        cfg->max_skew_ms < 0)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "replay: capacity must be 1..2^24 and times non-negative");
    pkc_replay *r = calloc(1, sizeof *r);
    if (r == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    r->cfg = *cfg;
    size_t tsize = 16;
    while (tsize < 2 * cfg->capacity)
        tsize <<= 1;
    r->mask = tsize - 1;
    r->heap = malloc(cfg->capacity * sizeof *r->heap);
    r->table = calloc(tsize, sizeof *r->table);
    if (r->heap == NULL || r->table == NULL) {
        pkc_replay_free(r);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    /* Unknown to peers, so they cannot choose ids that collide. */
    pkc_rng_fill(rng, r->hash_key, sizeof r->hash_key);
    *out = r;
    return 0;
}

void pkc_replay_free(pkc_replay *r)
{
    if (r == NULL)
        return;
    free(r->heap);
    free(r->table);
    free(r);
}

size_t pkc_replay_get_count(const pkc_replay *r)
{
    return r->count;
}

static size_t home(const pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES])
{
    uint8_t h[8];
    pkc_crypto_hash2_keyed(h, sizeof h, r->hash_key, sizeof r->hash_key, id, PKC_MSG_ID_BYTES,
                           NULL, 0);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | h[i];
    return (size_t)v & r->mask;
}

/* The table slot holding `id`, or the empty slot where it would go. */
static size_t find(const pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES], int *found)
{
    size_t i = home(r, id);
    while (r->table[i]) {
        if (memcmp(r->heap[r->table[i] - 1].id, id, PKC_MSG_ID_BYTES) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & r->mask;
    }
    *found = 0;
    return i;
}

/* Removes table slot `i` with backward-shift deletion (no tombstones). */
static void table_remove(pkc_replay *r, size_t i)
{
    size_t j = i;
    for (;;) {
        r->table[i] = 0;
        for (;;) {
            j = (j + 1) & r->mask;
            if (r->table[j] == 0)
                return;
            size_t k = home(r, r->heap[r->table[j] - 1].id);
            /* Move j back to i unless its home lies cyclically in (i, j]. */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        r->table[i] = r->table[j];
        r->heap[r->table[i] - 1].slot = (uint32_t)i;
        i = j;
    }
}

static void heap_set(pkc_replay *r, size_t at, const entry *e)
{
    r->heap[at] = *e;
    r->table[e->slot] = (uint32_t)at + 1;
}

static void sift_up(pkc_replay *r, size_t at)
{
    entry e = r->heap[at];
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (r->heap[parent].ts <= e.ts)
            break;
        heap_set(r, at, &r->heap[parent]);
        at = parent;
    }
    heap_set(r, at, &e);
}

static void sift_down(pkc_replay *r, size_t at)
{
    entry e = r->heap[at];
    for (;;) {
        size_t c = 2 * at + 1;
        if (c >= r->count)
            break;
        if (c + 1 < r->count && r->heap[c + 1].ts < r->heap[c].ts)
            c++;
        if (e.ts <= r->heap[c].ts)
            break;
        heap_set(r, at, &r->heap[c]);
        at = c;
    }
    heap_set(r, at, &e);
}

/* Forgets the oldest entry. */
static void pop_min(pkc_replay *r)
{
    table_remove(r, r->heap[0].slot);
    r->count--;
    if (r->count > 0) {
        r->heap[0] = r->heap[r->count];
        r->table[r->heap[0].slot] = 1;
        sift_down(r, 0);
    }
}

int pkc_replay_check(pkc_replay *r, const uint8_t id[PKC_MSG_ID_BYTES], int64_t ts,
                     int64_t now)
{
    if (r == NULL || id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "replay: NULL argument");
    if (!r->have_now || now > r->max_now) {
        r->max_now = now;
        r->have_now = 1;
    }
    if (ts > now && ts - now > r->cfg.max_skew_ms)
        return pkc_error(PKC_ERR_STALE, "replay window: timestamp %lld ms in the future",
                         (long long)(ts - now));
    int64_t oldest = r->max_now - r->cfg.max_age_ms;
    if (ts < oldest)
        return pkc_error(PKC_ERR_STALE, "replay window: %lld ms old, at most %lld accepted",
                         (long long)(r->max_now - ts), (long long)r->cfg.max_age_ms);
    if (r->have_horizon && ts <= r->horizon)
        return pkc_error(PKC_ERR_STALE,
                         "replay window: older than what the full window still remembers");
    while (r->count > 0 && r->heap[0].ts < oldest)
        pop_min(r);
    int found;
    size_t slot = find(r, id, &found);
    if (found)
        return pkc_error(PKC_ERR_REPLAY, "replay window: message already seen");
    if (r->count == r->cfg.capacity) {
        if (ts <= r->heap[0].ts)
            return pkc_error(PKC_ERR_STALE,
                             "replay window: full, and this message is older than all it holds");
        r->horizon = r->heap[0].ts;
        r->have_horizon = 1;
        pop_min(r);
        slot = find(r, id, &found); /* deletion may have moved the empty slot */
    }
    entry e;
    e.ts = ts;
    e.slot = (uint32_t)slot;
    memcpy(e.id, id, PKC_MSG_ID_BYTES);
    r->count++;
    heap_set(r, r->count - 1, &e);
    sift_up(r, r->count - 1);
    return 0;
}
