/* Hash tables with open addressing (util/hashtab.h), in the two shapes
 * the code uses: entries in the slots (with removal), and slots holding
 * index + 1 into an array of entries kept in insertion order. */
#include <stdlib.h>

#include "test.h"
#include "util/hashtab.h"
#include "util/rng.h"

/* Entries in the slots: a nonzero 64-bit key first, then a value. The
 * hash takes `shift` low bits away, so that keys collide in runs and
 * probe runs wrap around the end of the table. */
typedef struct entry {
    uint64_t key;
    uint32_t val;
} entry;

static uint32_t entry_hash(const void *slot, const void *ctx)
{
    const entry *e = slot;
    unsigned shift = ctx ? *(const unsigned *)ctx : 0;
    return (uint32_t)(e->key >> shift) * 0x9e3779b1u;
}

static int entry_match(const void *slot, const void *key)
{
    return ((const entry *)slot)->key == *(const uint64_t *)key;
}

static const pkc_hashtab_layout ENTRIES = {sizeof(entry), sizeof(uint64_t), 4, entry_hash};

/* Every used slot is reachable from its home slot without crossing an
 * empty one, and n counts the used slots. */
static int well_formed(const pkc_hashtab *t, const pkc_hashtab_layout *l, const void *ctx)
{
    uint32_t used = 0;
    for (uint32_t i = 0; i < t->cap; i++) {
        const void *s = pkc_hashtab_get_slot(t, l, i);
        if (!pkc_hashtab_is_used(l, s))
            continue;
        used++;
        for (uint32_t j = l->hash(s, ctx) & (t->cap - 1); j != i; j = (j + 1) & (t->cap - 1))
            if (!pkc_hashtab_is_used(l, pkc_hashtab_get_slot(t, l, j)))
                return 0;
    }
    return used == t->n && (t->cap == 0 || (t->cap & (t->cap - 1)) == 0) && t->n * 2 <= t->cap;
}

static void random_ops(unsigned shift)
{
    pkc_seeded_rng r;
    pkc_seeded_rng_init(&r, 42 + shift);
    const pkc_rng *rng = &r.rng;
    enum { KEYS = 300 };
    uint32_t ref[KEYS + 1]; /* value + 1 of key k, 0: absent */
    memset(ref, 0, sizeof ref);
    pkc_hashtab t = {0};
    for (int step = 0; step < 20000; step++) {
        uint64_t key = 1 + pkc_rng_below(rng, KEYS);
        uint32_t h = entry_hash(&(entry){key, 0}, &shift);
        entry *e = pkc_hashtab_find(&t, &ENTRIES, h, entry_match, &key);
        CHECK(ref[key] ? e != NULL && e->val + 1 == ref[key] : e == NULL);
        if (e == NULL) {
            e = pkc_hashtab_add(&t, &ENTRIES, h, &shift);
            CHECK(e != NULL);
            CHECK(e->key == 0 && e->val == 0);
            e->key = key;
            e->val = (uint32_t)step;
            ref[key] = (uint32_t)step + 1;
        } else if (pkc_rng_below(rng, 3) == 0) {
            e->val = (uint32_t)step;
            ref[key] = (uint32_t)step + 1;
        } else {
            pkc_hashtab_remove(&t, &ENTRIES, e, &shift);
            ref[key] = 0;
        }
        if (step % 97 == 0)
            CHECK(well_formed(&t, &ENTRIES, &shift));
    }
    CHECK(well_formed(&t, &ENTRIES, &shift));
    for (uint64_t key = 1; key <= KEYS; key++) {
        uint32_t h = entry_hash(&(entry){key, 0}, &shift);
        const entry *e = pkc_hashtab_find(&t, &ENTRIES, h, entry_match, &key);
        CHECK(ref[key] ? e != NULL && e->val + 1 == ref[key] : e == NULL);
    }
    pkc_hashtab_free(&t);
    CHECK(t.slots == NULL && t.n == 0 && t.cap == 0);
}

TEST(hashtab, entries_random_against_a_reference)
{
    random_ops(0);
    CHECK_HELPER();
    random_ops(3); /* runs of 8 keys with one hash */
    CHECK_HELPER();
    random_ops(40); /* one hash for all: one run around the whole table */
    CHECK_HELPER();
}

TEST(hashtab, grows_at_half_full_from_min_cap)
{
    pkc_hashtab t = {0};
    CHECK(pkc_hashtab_find(&t, &ENTRIES, 0, entry_match, &(uint64_t){1}) == NULL);
    for (uint64_t key = 1; key <= 64; key++) {
        entry *e = pkc_hashtab_add(&t, &ENTRIES, entry_hash(&(entry){key, 0}, NULL), NULL);
        CHECK(e != NULL);
        e->key = key;
        uint32_t want = 4;
        while (key * 2 > want)
            want *= 2;
        CHECK_EQ(t.cap, want);
        CHECK_EQ(t.n, key);
    }
    CHECK(well_formed(&t, &ENTRIES, NULL));
    pkc_hashtab_free(&t);
}

TEST(hashtab, reserve_makes_the_next_add_not_grow)
{
    pkc_hashtab t = {0};
    for (uint64_t key = 1; key <= 40; key++) {
        CHECK_OK(pkc_hashtab_reserve(&t, &ENTRIES, NULL));
        uint32_t cap = t.cap;
        void *slots = t.slots;
        CHECK((uint64_t)(t.n + 1) * 2 <= cap);
        entry *e = pkc_hashtab_add(&t, &ENTRIES, entry_hash(&(entry){key, 0}, NULL), NULL);
        CHECK(e != NULL);
        CHECK(t.cap == cap && t.slots == slots); /* slots did not move */
        e->key = key;
    }
    CHECK(well_formed(&t, &ENTRIES, NULL));
    pkc_hashtab_free(&t);
}

/* Index slots over entries kept in insertion order, looked up by string
 * (what the CRDT's ordered maps are). */
typedef struct strmap {
    const char **e;
    size_t n;
    pkc_hashtab slots;
} strmap;

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static uint32_t index_hash(const void *slot, const void *ctx)
{
    const strmap *m = ctx;
    return str_hash(m->e[*(const uint32_t *)slot - 1]);
}

typedef struct str_query {
    const strmap *m;
    const char *s;
} str_query;

static int index_match(const void *slot, const void *key)
{
    const str_query *q = key;
    return strcmp(q->m->e[*(const uint32_t *)slot - 1], q->s) == 0;
}

static const pkc_hashtab_layout INDEX = {sizeof(uint32_t), sizeof(uint32_t), 8, index_hash};

static long strmap_find(const strmap *m, const char *s)
{
    str_query q = {m, s};
    const uint32_t *x = pkc_hashtab_find(&m->slots, &INDEX, str_hash(s), index_match, &q);
    return x ? (long)*x - 1 : -1;
}

TEST(hashtab, index_slots_over_an_array)
{
    static const char *words[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j",
                                  "k", "l", "m", "n", "o", "p", "q", "r", "s", "t",
                                  "alpha", "beta", "gamma", "delta", "", "0", "1"};
    enum { N = sizeof words / sizeof words[0] };
    const char *e[N];
    strmap m = {e, 0, {0}};
    for (size_t i = 0; i < N; i++) {
        CHECK_EQ(strmap_find(&m, words[i]), -1);
        uint32_t *x = pkc_hashtab_add(&m.slots, &INDEX, str_hash(words[i]), &m);
        CHECK(x != NULL);
        e[m.n] = words[i];
        *x = (uint32_t)++m.n;
        for (size_t j = 0; j <= i; j++)
            CHECK_EQ(strmap_find(&m, words[j]), j);
    }
    CHECK(well_formed(&m.slots, &INDEX, &m));
    CHECK_EQ(m.slots.n, N);
    CHECK_EQ(strmap_find(&m, "epsilon"), -1);
    pkc_hashtab_free(&m.slots);
}

/* A key that is all zero bytes but for its last one is still a used slot
 * (is_used looks at every key byte). */
TEST(hashtab, odd_key_sizes)
{
    static const pkc_hashtab_layout L3 = {4, 3, 4, NULL};
    CHECK(!pkc_hashtab_is_used(&L3, (const uint8_t[4]){0, 0, 0, 9}));
    CHECK(pkc_hashtab_is_used(&L3, (const uint8_t[4]){0, 0, 1, 0}));
    CHECK(pkc_hashtab_is_used(&L3, (const uint8_t[4]){1, 0, 0, 0}));
    static const pkc_hashtab_layout L8 = {16, 8, 4, NULL};
    CHECK(!pkc_hashtab_is_used(&L8, (const uint64_t[2]){0, 5}));
    CHECK(pkc_hashtab_is_used(&L8, (const uint64_t[2]){1ull << 63, 0}));
}
