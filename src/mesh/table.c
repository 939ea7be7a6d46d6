/* table.c: a keyed hash (SipHash-1-3), a hash map over util/hashtab and a
 * timer heap for the mesh engine. */
#include <string.h>

#include "mesh/mesh_int.h"
#include "util/array.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

uint64_t mesh_siphash(const mesh_sip *key, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t v0 = 0x736f6d6570736575ull ^ key->k0;
    uint64_t v1 = 0x646f72616e646f6dull ^ key->k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ key->k0;
    uint64_t v3 = 0x7465646279746573ull ^ key->k1;
    uint64_t b = (uint64_t)len << 56;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t mword = 0;
        for (int j = 7; j >= 0; j--)
            mword = mword << 8 | p[i + (size_t)j];
        v3 ^= mword;
        SIPROUND;
        v0 ^= mword;
    }
    for (size_t j = 0; i + j < len; j++)
        b |= (uint64_t)p[i + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* A slot of a mesh_map: the index + 1 (0: empty) and its hash. */
typedef struct map_slot {
    uint32_t ix;
    uint32_t pad;
    uint64_t h;
} map_slot;

static uint32_t map_slot_hash(const void *slot, const void *ctx)
{
    (void)ctx;
    return (uint32_t)((const map_slot *)slot)->h;
}

static const pkc_hashtab_layout MAP_SLOTS = {sizeof(map_slot), sizeof(uint32_t), 16,
                                             map_slot_hash};

struct map_key {
    uint64_t h;
    mesh_eq_fn eq; /* NULL: the index is `idx` */
    const void *ctx;
    uint32_t idx;
};

static int map_slot_match(const void *slot, const void *key)
{
    const map_slot *s = slot;
    const struct map_key *k = key;
    if (s->h != k->h)
        return 0;
    return k->eq ? k->eq(k->ctx, s->ix - 1) : s->ix - 1 == k->idx;
}

uint32_t mesh_map_find(const mesh_map *m, uint64_t h, mesh_eq_fn eq, const void *ctx)
{
    struct map_key k = {h, eq, ctx, 0};
    const map_slot *s = pkc_hashtab_find(&m->t, &MAP_SLOTS, (uint32_t)h, map_slot_match, &k);
    return s ? s->ix - 1 : MESH_NONE;
}

int mesh_map_put(mesh_map *m, uint64_t h, uint32_t idx)
{
    map_slot *s = pkc_hashtab_add(&m->t, &MAP_SLOTS, (uint32_t)h, NULL);
    if (!s)
        return PKC_ERR_NOMEM;
    s->ix = idx + 1;
    s->h = h;
    return 0;
}

void mesh_map_del(mesh_map *m, uint64_t h, uint32_t idx)
{
    struct map_key k = {h, NULL, NULL, idx};
    map_slot *s = pkc_hashtab_find(&m->t, &MAP_SLOTS, (uint32_t)h, map_slot_match, &k);
    if (s)
        pkc_hashtab_remove(&m->t, &MAP_SLOTS, s, NULL);
}

void mesh_map_free(mesh_map *m)
{
    pkc_hashtab_free(&m->t);
}

static int timer_before(const mesh_timer *a, const mesh_timer *b)
{
    return a->at < b->at;
}

int mesh_heap_push(mesh_heap *h, mesh_timer t)
{
    if (pkc_array_grow((void **)&h->t, &h->cap, h->len + 1, sizeof *h->t))
        return PKC_ERR_NOMEM;
    size_t i = h->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(&t, &h->t[parent]))
            break;
        h->t[i] = h->t[parent];
        i = parent;
    }
    h->t[i] = t;
    return 0;
}

void mesh_heap_pop(mesh_heap *h)
{
    if (h->len == 0)
        return;
    mesh_timer last = h->t[--h->len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && timer_before(&h->t[c + 1], &h->t[c]))
            c++;
        if (!timer_before(&h->t[c], &last))
            break;
        h->t[i] = h->t[c];
        i = c;
    }
    if (h->len)
        h->t[i] = last;
}
