/*
 * guard.c: penalty points and temporary blocks per peer (pkc.h, "Guard").
 *
 * Points are kept in thousandths and decay linearly with monotonic time. The
 * table is small and consulted only on rare events (handshakes, offences),
 * so a linear scan is enough and keeps memory exactly bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/err.h"
#include "util/versioned.h"
#include "util/log.h"
#include "proto/guard.h"
#include "pkc.h"

#define REASON_MAX 96

typedef struct guard_entry {
    uint8_t peer[PKC_PEER_ID_HASH_BYTES];
    int used;
    uint64_t milli_points;
    uint64_t updated_us;
    uint64_t blocked_until_us; /* 0: not blocked */
    uint32_t blocks;           /* blocks so far (each doubles the next) */
    char reason[REASON_MAX];
} guard_entry;

struct pkc_guard {
    pkc_guard_config cfg;
    const pkc_clock *clock;
    guard_entry *entries;
};

#define CONFIG_SIZES PKC_STRUCT_V1(pkc_guard_config)

void pkc_guard_config_default_versioned(int config_version, pkc_guard_config *out)
{
    pkc_guard_config c = {.capacity = 1024,
                          .block_points = 100,
                          .decay_per_s = 5,
                          .block_ms = 60000,
                          .block_max_ms = 3600000,
                          .invalid_points = 20,
                          .excess_points = 1};
    pkc_struct_write(out, &c, config_version, CONFIG_SIZES);
}

int pkc_guard_new_versioned(int config_version, const pkc_guard_config *config,
                            const pkc_clock *clock, pkc_guard **out)
{
    if (config == NULL || clock == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "guard: NULL argument");
    pkc_guard_config c, *cfg = &c;
    pkc_guard_config_default(&c);
    int vrc = pkc_struct_read(&c, config, config_version, CONFIG_SIZES);
    if (vrc)
        return vrc;
    if (cfg->capacity == 0 || cfg->capacity > 1000000 || cfg->block_points == 0 ||
        cfg->block_ms == 0 || cfg->block_max_ms < cfg->block_ms)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "guard: capacity 1..10^6, block_points > 0, 0 < block_ms <= block_max_ms");
    pkc_guard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    g->entries = calloc(cfg->capacity, sizeof *g->entries);
    if (g->entries == NULL) {
        free(g);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    g->cfg = *cfg;
    g->clock = clock;
    *out = g;
    return 0;
}

void pkc_guard_free(pkc_guard *g)
{
    if (g == NULL)
        return;
    free(g->entries);
    free(g);
}

static void decay(const pkc_guard *g, guard_entry *e, uint64_t now)
{
    if (now > e->updated_us) {
        /* Whole milliseconds only; the remainder counts towards the next call. */
        uint64_t ms = (now - e->updated_us) / 1000;
        uint64_t forgiven = ms * g->cfg.decay_per_s;
        e->milli_points = forgiven >= e->milli_points ? 0 : e->milli_points - forgiven;
        e->updated_us += ms * 1000;
    }
}

static int is_blocked(const guard_entry *e, uint64_t now)
{
    return e->blocked_until_us != 0 && now < e->blocked_until_us;
}

static guard_entry *lookup(pkc_guard *g, const uint8_t peer[PKC_PEER_ID_HASH_BYTES])
{
    for (size_t i = 0; i < g->cfg.capacity; i++)
        if (g->entries[i].used && memcmp(g->entries[i].peer, peer, PKC_PEER_ID_HASH_BYTES) == 0)
            return &g->entries[i];
    return NULL;
}

/* An entry for `peer`, making room if needed: a free slot, else the least
 * recently updated unblocked peer, else the block that ends first. */
static guard_entry *lookup_or_add(pkc_guard *g, const uint8_t peer[PKC_PEER_ID_HASH_BYTES],
                                  uint64_t now)
{
    guard_entry *e = lookup(g, peer), *victim = NULL;
    if (e)
        return e;
    for (size_t i = 0; i < g->cfg.capacity; i++) {
        guard_entry *c = &g->entries[i];
        if (!c->used) {
            victim = c;
            break;
        }
        if (victim == NULL) {
            victim = c;
            continue;
        }
        int cb = is_blocked(c, now), vb = is_blocked(victim, now);
        if (cb != vb) {
            if (!cb)
                victim = c;
        } else if (cb ? c->blocked_until_us < victim->blocked_until_us
                      : c->updated_us < victim->updated_us) {
            victim = c;
        }
    }
    memset(victim, 0, sizeof *victim);
    victim->used = 1;
    memcpy(victim->peer, peer, PKC_PEER_ID_HASH_BYTES);
    victim->updated_us = now;
    return victim;
}

int pkc_guard_penalise(pkc_guard *g, const uint8_t peer[PKC_PEER_ID_HASH_BYTES], uint32_t points,
                       const char *reason)
{
    if (g == NULL || peer == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "guard: NULL argument");
    uint64_t now = pkc_clock_mono_us(g->clock);
    guard_entry *e = lookup_or_add(g, peer, now);
    decay(g, e, now);
    if (is_blocked(e, now))
        return pkc_error(PKC_ERR_BLOCKED, "blocked: %s", e->reason);
    e->milli_points += (uint64_t)points * 1000;
    if (e->milli_points < (uint64_t)g->cfg.block_points * 1000)
        return 0;
    uint64_t ms = g->cfg.block_ms;
    for (uint32_t i = 0; i < e->blocks && ms < g->cfg.block_max_ms; i++)
        ms *= 2;
    if (ms > g->cfg.block_max_ms)
        ms = g->cfg.block_max_ms;
    e->blocks++;
    e->blocked_until_us = now + ms * 1000;
    e->milli_points = 0;
    snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "misbehaviour");
    pkc_logi("proto", "guard: blocking a peer for %llu s: %s", (unsigned long long)(ms / 1000),
             e->reason);
    return pkc_error(PKC_ERR_BLOCKED, "blocked for %llu s: %s", (unsigned long long)(ms / 1000),
                     e->reason);
}

int pkc_guard_check(pkc_guard *g, const uint8_t peer[PKC_PEER_ID_HASH_BYTES],
                    uint64_t *retry_after_ms, const char **reason)
{
    if (g == NULL || peer == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "guard: NULL argument");
    uint64_t now = pkc_clock_mono_us(g->clock);
    guard_entry *e = lookup(g, peer);
    if (e == NULL || !is_blocked(e, now))
        return 0;
    uint64_t left = (e->blocked_until_us - now + 999) / 1000;
    if (retry_after_ms)
        *retry_after_ms = left;
    if (reason)
        *reason = e->reason;
    return pkc_error(PKC_ERR_BLOCKED, "blocked for %llu ms more: %s", (unsigned long long)left,
                     e->reason);
}

void pkc_guard_forgive(pkc_guard *g, const uint8_t peer[PKC_PEER_ID_HASH_BYTES])
{
    guard_entry *e = g && peer ? lookup(g, peer) : NULL;
    if (e)
        memset(e, 0, sizeof *e);
}

uint32_t pkc_guard_invalid_points(const pkc_guard *g)
{
    return g->cfg.invalid_points;
}

uint32_t pkc_guard_excess_points(const pkc_guard *g)
{
    return g->cfg.excess_points;
}
