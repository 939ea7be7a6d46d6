/* table.c: a keyed hash (SipHash-1-3), an open-addressing map and a timer
 * heap for the mesh engine. */
#include <stdlib.h>
#include <string.h>

#include "mesh_int.h"

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

#define SLOT_EMPTY MESH_NONE
#define SLOT_DELETED (MESH_NONE - 1)

uint32_t mesh_map_find(const mesh_map *m, uint64_t h, mesh_eq_fn eq, const void *ctx)
{
    if (m->cap == 0)
        return MESH_NONE;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = (uint32_t)h & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
        uint32_t v = m->v[i];
        if (v == SLOT_EMPTY)
            return MESH_NONE;
        if (v != SLOT_DELETED && m->h[i] == h && eq(ctx, v))
            return v;
    }
    return MESH_NONE;
}

static int map_grow(mesh_map *m, uint32_t cap)
{
    uint64_t *h = malloc(sizeof *h * cap);
    uint32_t *v = malloc(sizeof *v * cap);
    if (!h || !v) {
        free(h);
        free(v);
        return PKC_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < cap; i++)
        v[i] = SLOT_EMPTY;
    uint32_t mask = cap - 1;
    for (uint32_t i = 0; i < m->cap; i++) {
        if (m->v[i] >= SLOT_DELETED)
            continue;
        uint32_t j = (uint32_t)m->h[i] & mask;
        while (v[j] != SLOT_EMPTY)
            j = (j + 1) & mask;
        h[j] = m->h[i];
        v[j] = m->v[i];
    }
    free(m->h);
    free(m->v);
    m->h = h;
    m->v = v;
    m->cap = cap;
    m->used = m->live;
    return 0;
}

int mesh_map_put(mesh_map *m, uint64_t h, uint32_t idx)
{
    if ((m->used + 1) * 4 >= m->cap * 3) {
        uint32_t cap = m->cap ? m->cap : 16;
        while ((m->live + 1) * 2 >= cap)
            cap *= 2;
        if (map_grow(m, cap))
            return PKC_ERR_NOMEM;
    }
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)h & mask;
    while (m->v[i] < SLOT_DELETED)
        i = (i + 1) & mask;
    if (m->v[i] == SLOT_EMPTY)
        m->used++;
    m->h[i] = h;
    m->v[i] = idx;
    m->live++;
    return 0;
}

void mesh_map_del(mesh_map *m, uint64_t h, uint32_t idx)
{
    if (m->cap == 0)
        return;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = (uint32_t)h & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
        if (m->v[i] == SLOT_EMPTY)
            return;
        if (m->v[i] == idx && m->h[i] == h) {
            m->v[i] = SLOT_DELETED;
            m->live--;
            return;
        }
    }
}

void mesh_map_free(mesh_map *m)
{
    free(m->h);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static int timer_before(const mesh_timer *a, const mesh_timer *b)
{
    return a->at < b->at;
}

int mesh_heap_push(mesh_heap *h, mesh_timer t)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        mesh_timer *n = realloc(h->t, cap * sizeof *n);
        if (!n)
            return PKC_ERR_NOMEM;
        h->t = n;
        h->cap = cap;
    }
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
