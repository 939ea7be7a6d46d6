/* The replay window, against a brute-force model. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/clock.h"
#include "util/rng.h"

#define T0 1700000000000LL

static void make_id(uint8_t id[PKC_MSG_ID_BYTES], uint64_t n)
{
    memset(id, 0, PKC_MSG_ID_BYTES);
    for (int i = 0; i < 8; i++)
        id[i] = (uint8_t)(n >> (8 * i));
    id[15] = 0x5a;
}

static pkc_replay *new_replay(size_t capacity, int64_t age, int64_t skew)
{
    pkc_replay_config c = {capacity, age, skew};
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 1);
    pkc_replay *r = NULL;
    if (pkc_replay_new(&c, &rng.rng, &r) != 0)
        abort();
    return r;
}

TEST(proto_replay, accepts_any_order_once)
{
    pkc_replay *r = new_replay(1000, 600000, 120000);
    uint8_t id[16];
    /* Timestamps out of order, within the window. */
    static const int64_t ts[] = {T0, T0 - 500000, T0 + 100000, T0 - 1, T0 - 599999};
    for (size_t i = 0; i < 5; i++) {
        make_id(id, i);
        CHECK_OK(pkc_replay_check(r, id, ts[i], T0));
    }
    for (size_t i = 0; i < 5; i++) {
        make_id(id, i);
        CHECK_ERR(pkc_replay_check(r, id, ts[i], T0), PKC_ERR_REPLAY);
    }
    CHECK_EQ(pkc_replay_get_count(r), 5);
    /* Outside the window: too old, too far ahead. */
    make_id(id, 100);
    CHECK_ERR(pkc_replay_check(r, id, T0 - 600001, T0), PKC_ERR_STALE);
    CHECK_ERR(pkc_replay_check(r, id, T0 + 120001, T0), PKC_ERR_STALE);
    CHECK_OK(pkc_replay_check(r, id, T0 + 120000, T0));
    CHECK_EQ(pkc_replay_get_count(r), 6);
    /* Time passes: old ids are forgotten, and their messages are stale. */
    make_id(id, 1);
    CHECK_ERR(pkc_replay_check(r, id, T0 - 500000, T0 + 200000), PKC_ERR_STALE);
    make_id(id, 200);
    CHECK_OK(pkc_replay_check(r, id, T0 + 200000, T0 + 200000));
    CHECK_EQ(pkc_replay_get_count(r), 5); /* T0 - 500000 and T0 - 599999 went */
    pkc_replay_free(r);
}

TEST(proto_replay, a_full_window_shrinks_instead_of_forgetting)
{
    pkc_replay *r = new_replay(4, 600000, 120000);
    uint8_t id[16];
    for (uint64_t i = 0; i < 4; i++) {
        make_id(id, i);
        CHECK_OK(pkc_replay_check(r, id, T0 + (int64_t)i * 10, T0));
    }
    /* Full: a message older than all it holds cannot be judged: stale. */
    make_id(id, 50);
    CHECK_ERR(pkc_replay_check(r, id, T0 - 5, T0), PKC_ERR_STALE);
    /* A newer one pushes out the oldest (T0)... */
    make_id(id, 51);
    CHECK_OK(pkc_replay_check(r, id, T0 + 100, T0));
    CHECK_EQ(pkc_replay_get_count(r), 4);
    /* ...whose replay is now refused as stale rather than accepted. */
    make_id(id, 0);
    CHECK_ERR(pkc_replay_check(r, id, T0, T0), PKC_ERR_STALE);
    make_id(id, 1);
    CHECK_ERR(pkc_replay_check(r, id, T0 + 10, T0), PKC_ERR_REPLAY);
    pkc_replay_free(r);
}

TEST(proto_replay, a_clock_stepping_back_revives_nothing)
{
    pkc_replay *r = new_replay(100, 1000, 1000);
    uint8_t id[16];
    make_id(id, 1);
    CHECK_OK(pkc_replay_check(r, id, T0, T0));
    make_id(id, 2);
    CHECK_OK(pkc_replay_check(r, id, T0 + 5000, T0 + 5000)); /* id 1 forgotten */
    CHECK_EQ(pkc_replay_get_count(r), 1);
    /* Our clock jumps back; id 1 is still refused. */
    make_id(id, 1);
    CHECK_ERR(pkc_replay_check(r, id, T0, T0), PKC_ERR_STALE);
    pkc_replay_free(r);
}

/* The same rules, written the slow obvious way. */
typedef struct model {
    size_t cap, n;
    uint64_t ids[64];
    int64_t ts[64];
    int64_t horizon, max_now;
    int have_h, have_now;
    int64_t age, skew;
} model;

static int model_check(model *m, uint64_t id, int64_t ts, int64_t now)
{
    if (!m->have_now || now > m->max_now) {
        m->max_now = now;
        m->have_now = 1;
    }
    if (ts > now && ts - now > m->skew)
        return PKC_ERR_STALE;
    int64_t oldest = m->max_now - m->age;
    if (ts < oldest || (m->have_h && ts <= m->horizon))
        return PKC_ERR_STALE;
    for (size_t i = 0; i < m->n;) {
        if (m->ts[i] < oldest) {
            m->ids[i] = m->ids[m->n - 1];
            m->ts[i] = m->ts[--m->n];
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < m->n; i++)
        if (m->ids[i] == id)
            return PKC_ERR_REPLAY;
    if (m->n == m->cap) {
        size_t min = 0;
        for (size_t i = 1; i < m->n; i++)
            if (m->ts[i] < m->ts[min])
                min = i;
        if (ts <= m->ts[min])
            return PKC_ERR_STALE;
        m->horizon = m->ts[min];
        m->have_h = 1;
        m->ids[min] = m->ids[m->n - 1];
        m->ts[min] = m->ts[--m->n];
    }
    m->ids[m->n] = id;
    m->ts[m->n++] = ts;
    return 0;
}

TEST(proto_replay, matches_a_brute_force_model)
{
    /* As on the wire, an id stands for one message with one timestamp:
     * each step sends a new message or repeats one of the last 400. */
    enum { HISTORY = 400 };
    static int64_t sent_ts[HISTORY];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        model m;
        memset(&m, 0, sizeof m);
        m.cap = 64;
        m.age = 2000;
        m.skew = 500;
        pkc_replay *r = new_replay(m.cap, m.age, m.skew);
        pkc_seeded_rng rng;
        pkc_seeded_rng_init(&rng, seed);
        int64_t now = T0;
        uint64_t next_id = 0;
        int counts[3] = {0};
        for (int step = 0; step < 20000; step++) {
            /* Time mostly moves forward, sometimes back a little. */
            now += (int64_t)pkc_rng_below(&rng.rng, 20) - 3;
            uint64_t idn;
            if (next_id == 0 || pkc_rng_below(&rng.rng, 2) == 0) {
                idn = next_id++;
                /* Some from the future, some delayed, some too old. */
                sent_ts[idn % HISTORY] = now - (int64_t)pkc_rng_below(&rng.rng, 2600) + 550;
            } else {
                uint64_t back = pkc_rng_below(&rng.rng, next_id < HISTORY ? next_id : HISTORY);
                idn = next_id - 1 - back;
            }
            int64_t ts = sent_ts[idn % HISTORY];
            uint8_t id[16];
            make_id(id, idn);
            int want = model_check(&m, idn, ts, now);
            int got = pkc_replay_check(r, id, ts, now);
            if (got != want) {
                pkc_test_fail(__FILE__, __LINE__, "seed %llu step %d: got %s, model %s",
                              (unsigned long long)seed, step, pkc_err_name(got),
                              pkc_err_name(want));
                pkc_replay_free(r);
                return;
            }
            CHECK_EQ(pkc_replay_get_count(r), m.n);
            counts[want == 0 ? 0 : want == PKC_ERR_REPLAY ? 1 : 2]++;
        }
        /* The walk exercised every outcome. */
        CHECK(counts[0] > 1000 && counts[1] > 1000 && counts[2] > 1000);
        pkc_replay_free(r);
    }
}

TEST(proto_replay, bad_config)
{
    pkc_replay_config c;
    pkc_replay_config_default(&c);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 1);
    pkc_replay *r;
    c.capacity = 0;
    CHECK_ERR(pkc_replay_new(&c, &rng.rng, &r), PKC_ERR_INVALID_ARG);
    pkc_replay_config_default(&c);
    c.max_age_ms = -1;
    CHECK_ERR(pkc_replay_new(&c, &rng.rng, &r), PKC_ERR_INVALID_ARG);
}

