/* The replay window: its rules, against a brute-force model; what one
 * sender can and cannot do to it; its saved state. */
#include <stdlib.h>
#include <string.h>

#include "proto/replay.h"
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

/* Sender keys: 32 bytes, the first 8 the number. */
static const uint8_t *sender(uint64_t n)
{
    static uint8_t keys[8][32];
    static unsigned next;
    uint8_t *k = keys[next++ % 8];
    memset(k, 0x33, 32);
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(n >> (8 * i));
    return k;
}

static pkc_replay *new_replay_per(size_t capacity, int64_t age, int64_t skew, size_t per,
                                  uint64_t seed)
{
    pkc_replay_config c = {capacity, age, skew, per};
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, seed);
    pkc_replay *r = NULL;
    if (pkc_replay_new(&c, &rng.rng, &r) != 0)
        abort();
    return r;
}

static pkc_replay *new_replay(size_t capacity, int64_t age, int64_t skew)
{
    return new_replay_per(capacity, age, skew, capacity, 1);
}

TEST(proto_replay, accepts_any_order_once)
{
    pkc_replay *r = new_replay(1000, 600000, 120000);
    const uint8_t *s = sender(1);
    uint8_t id[16];
    /* Timestamps out of order, within the window. */
    static const int64_t ts[] = {T0, T0 - 500000, T0 + 100000, T0 - 1, T0 - 599999};
    for (size_t i = 0; i < 5; i++) {
        make_id(id, i);
        CHECK_OK(pkc_replay_check(r, id, s, ts[i], T0));
    }
    for (size_t i = 0; i < 5; i++) {
        make_id(id, i);
        CHECK_ERR(pkc_replay_check(r, id, s, ts[i], T0), PKC_ERR_REPLAY);
    }
    CHECK_EQ(pkc_replay_get_count(r), 5);
    /* Outside the window: too old, too far ahead. */
    make_id(id, 100);
    CHECK_ERR(pkc_replay_check(r, id, s, T0 - 600001, T0), PKC_ERR_STALE);
    CHECK_ERR(pkc_replay_check(r, id, s, T0 + 120001, T0), PKC_ERR_STALE);
    CHECK_OK(pkc_replay_check(r, id, s, T0 + 120000, T0));
    CHECK_EQ(pkc_replay_get_count(r), 6);
    /* Time passes: old ids are forgotten, and their messages are stale. */
    make_id(id, 1);
    CHECK_ERR(pkc_replay_check(r, id, s, T0 - 500000, T0 + 200000), PKC_ERR_STALE);
    make_id(id, 200);
    CHECK_OK(pkc_replay_check(r, id, s, T0 + 200000, T0 + 200000));
    CHECK_EQ(pkc_replay_get_count(r), 5); /* T0 - 500000 and T0 - 599999 went */
    pkc_replay_free(r);
}

/* Full, the window forgets the oldest arrival, whatever its timestamp, and
 * its sender is refused that timestamp and older from then on: the
 * forgotten id cannot come back, and nobody else's messages are refused. */
TEST(proto_replay, a_full_window_forgets_the_oldest_arrival)
{
    pkc_replay *r = new_replay(4, 600000, 120000);
    uint8_t id[16];
    const uint8_t *first = sender(10);
    /* The first arrival claims a later time than the three after it. */
    make_id(id, 0);
    CHECK_OK(pkc_replay_check(r, id, first, T0 + 100000, T0));
    for (uint64_t i = 1; i < 4; i++) {
        make_id(id, i);
        CHECK_OK(pkc_replay_check(r, id, sender(10 + i), T0 - 1000 * (int64_t)i, T0));
    }
    /* A fifth pushes out the first arrival, not the oldest timestamp... */
    make_id(id, 4);
    CHECK_OK(pkc_replay_check(r, id, sender(14), T0, T0));
    CHECK_EQ(pkc_replay_get_count(r), 4);
    /* ...whose replay is refused as stale rather than accepted, */
    make_id(id, 0);
    CHECK_ERR(pkc_replay_check(r, id, first, T0 + 100000, T0), PKC_ERR_STALE);
    /* as is anything of its sender's no newer than it, */
    make_id(id, 5);
    CHECK_ERR(pkc_replay_check(r, id, first, T0 - 5000, T0), PKC_ERR_STALE);
    /* while everyone else's older messages are still taken. */
    make_id(id, 6);
    CHECK_OK(pkc_replay_check(r, id, sender(13), T0 - 5000, T0));
    make_id(id, 2);
    CHECK_ERR(pkc_replay_check(r, id, sender(12), T0 - 2000, T0), PKC_ERR_REPLAY);
    pkc_replay_free(r);
}

/* One sender holds at most max_per_sender ids; beyond, its own oldest go,
 * and only it is refused what they covered (here in the same bucket as
 * the other sender, as the window has 16 buckets and these two are picked
 * to share one). */
TEST(proto_replay, one_sender_holds_its_share_only)
{
    pkc_replay *r = new_replay_per(64, 600000, 30000, 8, 1);
    uint8_t mk[32], hk[32];
    memset(mk, 0x66, 32);
    memset(hk, 0x67, 32);
    for (uint32_t fill = 0; pkc_replay_bucket_of(r, pkc_replay_sender_hash(r, hk)) !=
                            pkc_replay_bucket_of(r, pkc_replay_sender_hash(r, mk));
         fill++)
        memcpy(hk, &fill, sizeof fill);
    const uint8_t *m = mk, *h = hk;
    uint8_t id[16];
    for (uint64_t i = 0; i < 8; i++) {
        make_id(id, 1000 + i);
        CHECK_OK(pkc_replay_check(r, id, h, T0 - 60000 + (int64_t)i, T0));
    }
    /* M sends 100 messages stamped as far ahead as allowed. */
    for (uint64_t i = 0; i < 100; i++) {
        make_id(id, i);
        CHECK_OK(pkc_replay_check(r, id, m, T0 + 29000 + (int64_t)i, T0 + (int64_t)i));
    }
    CHECK_EQ(pkc_replay_get_count(r), 16);
    /* H's ids are all still there, its older messages still welcome. */
    for (uint64_t i = 0; i < 8; i++) {
        make_id(id, 1000 + i);
        CHECK_ERR(pkc_replay_check(r, id, h, T0 - 60000 + (int64_t)i, T0 + 100), PKC_ERR_REPLAY);
    }
    make_id(id, 2000);
    CHECK_OK(pkc_replay_check(r, id, h, T0 - 300000, T0 + 100));
    /* M's forgotten ones stay refused. */
    make_id(id, 0);
    CHECK_ERR(pkc_replay_check(r, id, m, T0 + 29000, T0 + 100), PKC_ERR_STALE);
    pkc_replay_free(r);
}

TEST(proto_replay, a_clock_stepping_back_revives_nothing)
{
    pkc_replay *r = new_replay(100, 1000, 1000);
    const uint8_t *s = sender(2);
    uint8_t id[16];
    make_id(id, 1);
    CHECK_OK(pkc_replay_check(r, id, s, T0, T0));
    make_id(id, 2);
    CHECK_OK(pkc_replay_check(r, id, s, T0 + 5000, T0 + 5000)); /* id 1 forgotten */
    CHECK_EQ(pkc_replay_get_count(r), 1);
    /* Our clock jumps back; id 1 is still refused. */
    make_id(id, 1);
    CHECK_ERR(pkc_replay_check(r, id, s, T0, T0), PKC_ERR_STALE);
    pkc_replay_free(r);
}

/* --- The rules, written the slow obvious way ---------------------------- */

enum { MODEL_CAP = 64, MODEL_SENDERS = 12, MODEL_SLOTS = 8 };

typedef struct model {
    size_t cap, per, n;
    uint64_t ids[MODEL_CAP]; /* in arrival order */
    int64_t ts[MODEL_CAP];
    int who[MODEL_CAP];
    uint32_t bucket[MODEL_SENDERS];
    size_t count[MODEL_SENDERS];
    int64_t horizon[MODEL_SENDERS];
    int have_h[MODEL_SENDERS];
    int64_t max_now;
    int have_now;
    int64_t age, skew;
} model;

static void model_forget(model *m, size_t i, int early)
{
    int w = m->who[i];
    if (early && (!m->have_h[w] || m->ts[i] > m->horizon[w])) {
        m->horizon[w] = m->ts[i];
        m->have_h[w] = 1;
    }
    m->count[w]--;
    memmove(m->ids + i, m->ids + i + 1, (m->n - i - 1) * sizeof m->ids[0]);
    memmove(m->ts + i, m->ts + i + 1, (m->n - i - 1) * sizeof m->ts[0]);
    memmove(m->who + i, m->who + i + 1, (m->n - i - 1) * sizeof m->who[0]);
    m->n--;
}

/* A sender holds a place in its bucket while it has ids, or a horizon
 * that still refuses something. */
static int model_holds(const model *m, int w)
{
    return m->count[w] > 0 || (m->have_h[w] && m->horizon[w] >= m->max_now - m->age);
}

static int model_check(model *m, uint64_t id, int w, int64_t ts, int64_t now)
{
    if (!m->have_now || now > m->max_now) {
        m->max_now = now;
        m->have_now = 1;
    }
    if (ts > now && ts - now > m->skew)
        return PKC_ERR_STALE;
    int64_t oldest = m->max_now - m->age;
    if (ts < oldest || (model_holds(m, w) && m->have_h[w] && ts <= m->horizon[w]))
        return PKC_ERR_STALE;
    for (size_t i = 0; i < m->n;) {
        if (m->ts[i] < oldest)
            model_forget(m, i, 0);
        else
            i++;
    }
    for (size_t i = 0; i < m->n; i++)
        if (m->ids[i] == id)
            return PKC_ERR_REPLAY;
    if (!model_holds(m, w)) {
        int held = 0;
        for (int k = 0; k < MODEL_SENDERS; k++)
            held += k != w && m->bucket[k] == m->bucket[w] && model_holds(m, k);
        if (held >= MODEL_SLOTS)
            return PKC_ERR_STALE;
        m->have_h[w] = 0; /* a new place: whatever was there no longer counts */
    }
    if (m->count[w] >= m->per)
        for (size_t i = 0; i < m->n; i++)
            if (m->who[i] == w) {
                model_forget(m, i, 1);
                break;
            }
    if (m->n == m->cap)
        model_forget(m, 0, 1);
    m->ids[m->n] = id;
    m->ts[m->n] = ts;
    m->who[m->n++] = w;
    m->count[w]++;
    return 0;
}

/* A walk of messages from a few senders (one of them stamping far ahead,
 * several sharing a bucket), new ones and repeats, time moving mostly
 * forward: the window and the model agree at every step, and no id is
 * ever accepted twice. */
TEST(proto_replay, matches_a_brute_force_model)
{
    enum { HISTORY = 400 };
    static int64_t sent_ts[HISTORY];
    static uint8_t sent_by[HISTORY];
    static uint8_t accepted[20000];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        model m;
        memset(&m, 0, sizeof m);
        m.cap = MODEL_CAP;
        m.per = 24;
        m.age = 2000;
        m.skew = 500;
        pkc_replay *r = new_replay_per(m.cap, m.age, m.skew, m.per, seed);
        CHECK_EQ(pkc_replay_bucket_of(r, UINT32_MAX), 15);
        /* Keys: the first three in whatever bucket they fall, then nine in
         * the bucket of the first (one more than it has places). */
        uint8_t keys[MODEL_SENDERS][32];
        int have = 0;
        for (uint32_t fill = 0; have < MODEL_SENDERS; fill++) {
            uint8_t k[32];
            memset(k, 0x70, sizeof k);
            memcpy(k, &fill, sizeof fill);
            uint32_t bk = pkc_replay_bucket_of(r, pkc_replay_sender_hash(r, k));
            if (have >= 3 && bk != m.bucket[0])
                continue;
            memcpy(keys[have], k, 32);
            m.bucket[have++] = bk;
        }
        memset(accepted, 0, sizeof accepted);
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
                /* Mostly the first three; the crowd of the first's bucket
                 * now and then. */
                sent_by[idn % HISTORY] = (uint8_t)(pkc_rng_below(&rng.rng, 4) < 3
                                                       ? pkc_rng_below(&rng.rng, 3)
                                                       : pkc_rng_below(&rng.rng, MODEL_SENDERS));
                /* Some from the future, some delayed, some too old; sender
                 * 0 always as far ahead as allowed. */
                sent_ts[idn % HISTORY] = sent_by[idn % HISTORY] == 0
                                             ? now + m.skew
                                             : now - (int64_t)pkc_rng_below(&rng.rng, 2600) + 550;
            } else {
                uint64_t back = pkc_rng_below(&rng.rng, next_id < HISTORY ? next_id : HISTORY);
                idn = next_id - 1 - back;
            }
            int64_t ts = sent_ts[idn % HISTORY];
            int who = sent_by[idn % HISTORY];
            uint8_t id[16];
            make_id(id, idn);
            int want = model_check(&m, idn, who, ts, now);
            int got = pkc_replay_check(r, id, keys[who], ts, now);
            if (got != want) {
                pkc_test_fail(__FILE__, __LINE__, "seed %llu step %d: got %s, model %s",
                              (unsigned long long)seed, step, pkc_err_name(got),
                              pkc_err_name(want));
                pkc_replay_free(r);
                return;
            }
            CHECK_EQ(pkc_replay_get_count(r), m.n);
            if (got == 0) {
                CHECK(!accepted[idn]);
                accepted[idn] = 1;
            }
            counts[want == 0 ? 0 : want == PKC_ERR_REPLAY ? 1 : 2]++;
        }
        /* The walk exercised every outcome. */
        CHECK(counts[0] > 1000 && counts[1] > 1000 && counts[2] > 1000);
        pkc_replay_free(r);
    }
}

/* A bucket has places for 8 senders: a ninth is refused until one of them
 * has nothing left in the window, and none of the 8 loses anything. */
TEST(proto_replay, a_crowded_bucket_refuses_newcomers)
{
    pkc_replay *r = new_replay(256, 1000, 500);
    uint8_t keys[9][32];
    uint32_t first = 0;
    int have = 0;
    for (uint32_t fill = 0; have < 9; fill++) {
        memset(keys[have], 0x71, 32);
        memcpy(keys[have], &fill, sizeof fill);
        uint32_t bk = pkc_replay_bucket_of(r, pkc_replay_sender_hash(r, keys[have]));
        if (have == 0)
            first = bk;
        if (bk == first)
            have++;
    }
    uint8_t id[16];
    for (uint64_t i = 0; i < 8; i++) {
        make_id(id, i);
        CHECK_OK(pkc_replay_check(r, id, keys[i], T0, T0));
    }
    make_id(id, 8);
    CHECK_ERR(pkc_replay_check(r, id, keys[8], T0, T0), PKC_ERR_STALE);
    CHECK(strstr(pkc_errmsg(), "other senders") != NULL);
    for (uint64_t i = 0; i < 8; i++) {
        make_id(id, 100 + i);
        CHECK_OK(pkc_replay_check(r, id, keys[i], T0 + 1, T0 + 1));
    }
    /* A second on, the first 8 ids expire; the 8 still hold their places
     * with the second ones, until they expire too. */
    make_id(id, 8);
    CHECK_ERR(pkc_replay_check(r, id, keys[8], T0 + 1000, T0 + 1000), PKC_ERR_STALE);
    CHECK_OK(pkc_replay_check(r, id, keys[8], T0 + 1002, T0 + 1002));
    pkc_replay_free(r);
}

TEST(proto_replay, bad_config)
{
    pkc_replay_config c;
    pkc_replay_config_default(&c);
    CHECK_EQ(c.capacity, 65536);
    CHECK_EQ(c.max_skew_ms, 30000);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 1);
    pkc_replay *r;
    c.capacity = 0;
    CHECK_ERR(pkc_replay_new(&c, &rng.rng, &r), PKC_ERR_INVALID_ARG);
    pkc_replay_config_default(&c);
    c.max_age_ms = -1;
    CHECK_ERR(pkc_replay_new(&c, &rng.rng, &r), PKC_ERR_INVALID_ARG);
    pkc_replay_config_default(&c);
    c.max_per_sender = c.capacity + 1;
    CHECK_ERR(pkc_replay_new(&c, &rng.rng, &r), PKC_ERR_INVALID_ARG);
}

/* --- Saved state ------------------------------------------------------- */

/* A window with ids of several senders, some forgotten early. */
static pkc_replay *busy_window(size_t capacity, uint64_t seed)
{
    pkc_replay *r = new_replay_per(capacity, 600000, 30000, 6, seed);
    uint8_t id[16];
    for (uint64_t i = 0; i < 40; i++) {
        make_id(id, i);
        if (pkc_replay_check(r, id, sender(i % 5), T0 - 1000 * (int64_t)(40 - i), T0) != 0)
            abort();
    }
    return r;
}

/* Every id of busy_window() is refused by `r`. */
static void all_refused(pkc_replay *r, int64_t now)
{
    uint8_t id[16];
    for (uint64_t i = 0; i < 40; i++) {
        make_id(id, i);
        int rc = pkc_replay_check(r, id, sender(i % 5), T0 - 1000 * (int64_t)(40 - i), now);
        CHECK(rc == PKC_ERR_REPLAY || rc == PKC_ERR_STALE);
    }
}

TEST(proto_replay, saved_and_restored_at_shutdown)
{
    pkc_replay *r = busy_window(32, 1);
    uint8_t *a, *b;
    size_t alen, blen, held = pkc_replay_get_count(r);
    CHECK(held >= 24); /* some of each sender's forgotten early: 6 per bucket */
    CHECK_OK(pkc_replay_export(r, PKC_REPLAY_EXPORT_FINAL, &a, &alen));
    /* A final export is the window's last act. */
    uint8_t id[16];
    make_id(id, 999);
    CHECK_ERR(pkc_replay_check(r, id, sender(1), T0, T0), PKC_ERR_CLOSED);
    CHECK_ERR(pkc_replay_export(r, 0, &b, &blen), PKC_ERR_CLOSED);
    pkc_replay_free(r);

    /* Restored (a different key drawn, replaced by the saved one): the same
     * bytes out again, every id refused, new ones taken at once. */
    pkc_replay *q = new_replay_per(32, 600000, 30000, 6, 2);
    CHECK_OK(pkc_replay_import(q, a, alen, T0));
    CHECK_EQ(pkc_replay_get_count(q), held);
    CHECK_OK(pkc_replay_export(q, PKC_REPLAY_EXPORT_FINAL, &b, &blen));
    CHECK_EQ(blen, alen);
    CHECK_MEM(b, a, alen);
    free(b);
    pkc_replay_free(q);
    q = new_replay_per(32, 600000, 30000, 6, 3);
    CHECK_OK(pkc_replay_import(q, a, alen, T0 + 1000));
    all_refused(q, T0 + 1000);
    CHECK_HELPER();
    make_id(id, 1000);
    CHECK_OK(pkc_replay_check(q, id, sender(1), T0 + 1000, T0 + 1000));
    /* Only into an unused window. */
    CHECK_ERR(pkc_replay_import(q, a, alen, T0 + 1000), PKC_ERR_STATE);
    pkc_replay_free(q);

    /* Into a smaller window: fewer ids kept, none of the others revived. */
    q = new_replay_per(8, 600000, 30000, 2, 4);
    CHECK_OK(pkc_replay_import(q, a, alen, T0 + 1000));
    CHECK_EQ(pkc_replay_get_count(q), 8);
    all_refused(q, T0 + 1000);
    CHECK_HELPER();
    pkc_replay_free(q);
    free(a);
}

/* Saved while running (a crash later), or not saved at all: the window
 * cannot know what was taken after, so it refuses everything stamped up to
 * now + max_skew; after that, messages flow again. */
TEST(proto_replay, restarted_without_a_final_save)
{
    pkc_replay *r = busy_window(64, 1);
    uint8_t *a;
    size_t alen;
    CHECK_OK(pkc_replay_export(r, 0, &a, &alen));
    /* The window goes on after a periodic save: this one is not in it. */
    uint8_t id[16];
    make_id(id, 500);
    CHECK_OK(pkc_replay_check(r, id, sender(1), T0 + 20000, T0 + 5000));
    pkc_replay_free(r);

    int64_t start = T0 + 10000;
    for (int saved = 0; saved < 2; saved++) {
        pkc_replay *q = new_replay_per(64, 600000, 30000, 6, 5);
        if (saved)
            CHECK_OK(pkc_replay_import(q, a, alen, start));
        else
            pkc_replay_restart(q, start);
        /* The one taken after the save, replayed: refused. */
        CHECK_ERR(pkc_replay_check(q, id, sender(1), T0 + 20000, start), PKC_ERR_STALE);
        if (saved) {
            all_refused(q, start);
            CHECK_HELPER();
        }
        /* Fresh messages too, until now + max_skew has passed... */
        uint8_t fresh[16];
        make_id(fresh, 600);
        CHECK_ERR(pkc_replay_check(q, fresh, sender(2), start + 29000, start + 29000),
                  PKC_ERR_STALE);
        CHECK_ERR(pkc_replay_check(q, fresh, sender(2), start + 30000, start + 30000),
                  PKC_ERR_STALE);
        /* ...then they are taken. */
        CHECK_OK(pkc_replay_check(q, fresh, sender(2), start + 30001, start + 30001));
        pkc_replay_free(q);
    }
    free(a);
}

/* Damaged state is refused with the reason, and leaves the window as it
 * was (usable). */
TEST(proto_replay, damaged_state_is_refused)
{
    pkc_replay *r = busy_window(32, 1);
    uint8_t *a;
    size_t alen, held = pkc_replay_get_count(r);
    CHECK_OK(pkc_replay_export(r, 0, &a, &alen));
    pkc_replay_free(r);
    pkc_replay *q = new_replay_per(32, 600000, 30000, 6, 6);
    for (size_t i = 0; i < alen; i++) {
        a[i] ^= 0x04;
        int rc = pkc_replay_import(q, a, alen, T0);
        a[i] ^= 0x04;
        /* The magic and the version are read before the checksum. */
        CHECK(rc == PKC_ERR_CHECKSUM || (i < 11 && (rc == PKC_ERR_MALFORMED ||
                                                      rc == PKC_ERR_UNSUPPORTED)));
    }
    for (size_t cut = 0; cut < alen; cut++) {
        int rc = pkc_replay_import(q, a, cut, T0);
        CHECK(rc == PKC_ERR_TRUNCATED || rc == PKC_ERR_CHECKSUM || rc == PKC_ERR_MALFORMED);
    }
    CHECK_EQ(pkc_replay_get_count(q), 0);
    CHECK_OK(pkc_replay_import(q, a, alen, T0));
    CHECK_EQ(pkc_replay_get_count(q), held);
    pkc_replay_free(q);
    free(a);
}
