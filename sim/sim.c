/* sim.c: the network simulator (see sim.h). */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "crypto/peerid.h"
#include "util/clock.h"
#include "util/hashtab.h"
#include "util/rng.h"

#define ID_LEN PKC_PEER_ID_HASH_BYTES
#define MSGID_LEN 12

enum ev_type {
    EV_MSG = 1,      /* bytes from a to b */
    EV_CLOSE,        /* a closed its side: tell b */
    EV_LINK_UP,      /* a and b finish connecting (aux: 0 invite, 1 dial, 2 signaled) */
    EV_CONNECT_FAIL, /* a's attempt to b failed */
    EV_SIGNAL,       /* a passes signaling bytes to its engine for b */
    EV_TIMER,        /* a's engine deadline */
    EV_REINVITE,     /* a joined by invitation: still alone? ask someone else */
    EV_RESEED,       /* every 15 s: isolated peers re-read the seed list (DNS) */
};

typedef struct ev {
    uint64_t t, seq;
    uint8_t type;
    int a, b;
    uint32_t aux;
    uint8_t *data;
    size_t len;
} ev;

typedef struct node {
    sim *s;
    int idx;
    uint8_t id[ID_LEN];
    pkc_identity *identity;
    unsigned cls;
    uint8_t alive;
    uint32_t addr;
    double x, y;
    pkc_mesh *mesh;
    pkc_seeded_rng rng;
    uint64_t scheduled;
    uint64_t created_at;
    uint32_t drop_types; /* bit t: messages starting with byte t are not sent */
} node;

typedef struct link {
    int a, b; /* a < b; direction 0 is a -> b */
    uint8_t used, open[2];
    uint64_t busy[2], last[2];
} link;

typedef struct handshake {
    int a, b; /* a < b */
    uint8_t used, desc[2], cand[2];
} handshake;

typedef struct msgrec {
    uint8_t id[MSGID_LEN];
    uint64_t t;
    int publisher;
    uint8_t valid;
    unsigned delivered;
    uint8_t *got; /* bit per peer */
} msgrec;

typedef struct direct_rec {
    int to, from;
    unsigned count, max_hops;
} direct_rec;

/* A map from a 64-bit key to an int >= 0, for ids and pairs (util/hashtab.h;
 * a slot holds the value + 1, 0 when empty, and the key). */
typedef pkc_hashtab imap;

struct sim {
    sim_config cfg;
    pkc_manual_clock clock;
    pkc_seeded_rng rng;
    node *nodes;
    int n_nodes;
    imap ids;
    link *links;
    size_t n_links, cap_links;
    imap link_map;
    handshake *hs;
    size_t n_hs, cap_hs;
    imap hs_map;
    ev *heap;
    size_t heap_len, heap_cap;
    uint64_t seq;
    uint8_t *group;
    int partitioned;
    uint64_t *block_keys;
    size_t n_block, cap_block;
    msgrec *msgs;
    size_t n_msgs, cap_msgs;
    uint32_t *lat_samples;
    size_t n_lat, cap_lat;
    unsigned max_hops_seen;
    direct_rec *direct;
    size_t n_direct, cap_direct;
    unsigned max_degree;
    uint64_t signaled_links, events, lost;
    pkc_mesh_stats dead; /* statistics of engines that are gone */
    unsigned crashed, left;
    imap ever; /* pairs ever linked */
    int reseeding;
};

/* ---- small containers ------------------------------------------------------------ */

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    return k ^ (k >> 33);
}

typedef struct imap_slot {
    uint32_t v1; /* value + 1 */
    uint32_t pad;
    uint64_t k;
} imap_slot;

static uint32_t imap_slot_hash(const void *slot, const void *ctx)
{
    (void)ctx;
    return (uint32_t)mix(((const imap_slot *)slot)->k);
}

static int imap_slot_match(const void *slot, const void *key)
{
    return ((const imap_slot *)slot)->k == *(const uint64_t *)key;
}

static const pkc_hashtab_layout IMAP = {sizeof(imap_slot), sizeof(uint32_t), 64, imap_slot_hash};

static int imap_get(const imap *m, uint64_t key)
{
    const imap_slot *e = pkc_hashtab_find(m, &IMAP, (uint32_t)mix(key), imap_slot_match, &key);
    return e ? (int)e->v1 - 1 : -1;
}

/* Sets key -> v (v >= 0), or deletes with v = -1. */
static void imap_set(imap *m, uint64_t key, int v)
{
    imap_slot *e = pkc_hashtab_find(m, &IMAP, (uint32_t)mix(key), imap_slot_match, &key);
    if (v < 0) {
        if (e)
            pkc_hashtab_remove(m, &IMAP, e, NULL);
        return;
    }
    if (!e && !(e = pkc_hashtab_add(m, &IMAP, (uint32_t)mix(key), NULL)))
        abort();
    e->v1 = (uint32_t)v + 1;
    e->k = key;
}

static void imap_free(imap *m)
{
    pkc_hashtab_free(m);
}

static uint64_t pair_key(int a, int b)
{
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

static uint64_t id_key(const uint8_t *id)
{
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | id[i];
    return k;
}

/* ---- events ------------------------------------------------------------------------- */

static int ev_before(const ev *x, const ev *y)
{
    return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static void push(sim *s, uint64_t t, uint8_t type, int a, int b, uint32_t aux, const void *data,
                 size_t len)
{
    ev e = {t, ++s->seq, type, a, b, aux, NULL, len};
    if (len) {
        e.data = malloc(len);
        if (!e.data)
            abort();
        memcpy(e.data, data, len);
    }
    if (pkc_array_grow((void **)&s->heap, &s->heap_cap, s->heap_len + 1, sizeof(ev)))
        abort();
    size_t i = s->heap_len++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_before(&e, &s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = e;
}

static ev pop(sim *s)
{
    ev top = s->heap[0], last = s->heap[--s->heap_len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_len)
            break;
        if (c + 1 < s->heap_len && ev_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!ev_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->heap_len)
        s->heap[i] = last;
    return top;
}

static uint64_t now_us(const sim *s)
{
    return s->clock.mono_us;
}

/* ---- network model -------------------------------------------------------------------- */

static double unit(sim *s)
{
    return pkc_rng_unit(&s->rng.rng);
}

static uint64_t latency_us(sim *s, int a, int b)
{
    const node *x = &s->nodes[a], *y = &s->nodes[b];
    double d = hypot(x->x - y->x, x->y - y->y) / sqrt(2.0);
    double ms = s->cfg.lat_min_ms + (s->cfg.lat_max_ms - s->cfg.lat_min_ms) * d;
    ms *= 1 + s->cfg.jitter * (2 * unit(s) - 1);
    return (uint64_t)(ms * 1000) + 1;
}

static int is_blocked(const sim *s, int a, int b)
{
    uint64_t k = pair_key(a, b);
    for (size_t i = 0; i < s->n_block; i++)
        if (s->block_keys[i] == k)
            return 1;
    return 0;
}

static int split(const sim *s, int a, int b)
{
    return s->partitioned && s->group[a] != s->group[b];
}

static int reachable(const sim *s, int a, int b)
{
    const node *x = &s->nodes[a], *y = &s->nodes[b];
    if ((x->cls & SIM_SYMMETRIC) && (y->cls & SIM_SYMMETRIC))
        return 0;
    return !is_blocked(s, a, b) && !split(s, a, b);
}

static link *find_link(sim *s, int a, int b)
{
    int i = imap_get(&s->link_map, pair_key(a, b));
    return i < 0 ? NULL : &s->links[i];
}

static int dir(const link *l, int from)
{
    return from == l->a ? 0 : 1;
}

static link *open_link(sim *s, int a, int b)
{
    link *l = find_link(s, a, b);
    if (l)
        return l;
    size_t i;
    for (i = 0; i < s->n_links; i++)
        if (!s->links[i].used)
            break;
    if (i == s->n_links) {
        if (pkc_array_grow((void **)&s->links, &s->cap_links, s->n_links + 1, sizeof(link)))
            abort();
        s->n_links++;
    }
    l = &s->links[i];
    memset(l, 0, sizeof *l);
    l->used = 1;
    l->a = a < b ? a : b;
    l->b = a < b ? b : a;
    l->open[0] = l->open[1] = 1;
    imap_set(&s->link_map, pair_key(a, b), (int)i);
    imap_set(&s->ever, pair_key(a, b), 1);
    return l;
}

static void free_link_if_closed(sim *s, link *l)
{
    if (l->open[0] || l->open[1])
        return;
    imap_set(&s->link_map, pair_key(l->a, l->b), -1);
    l->used = 0;
}

/* `from` closes its side; the other side hears of it after the data in
 * flight (reliable, ordered transport). */
static void close_side(sim *s, link *l, int from, int notify)
{
    int d = dir(l, from);
    int other = d == 0 ? l->b : l->a;
    if (!l->open[d])
        return;
    l->open[d] = 0;
    if (notify) {
        uint64_t t = now_us(s) + latency_us(s, from, other);
        if (l->last[d] > t)
            t = l->last[d];
        push(s, t, EV_CLOSE, from, other, 0, NULL, 0);
    }
    free_link_if_closed(s, l);
}

static handshake *hs_get(sim *s, int a, int b, int create)
{
    int i = imap_get(&s->hs_map, pair_key(a, b));
    if (i >= 0)
        return &s->hs[i];
    if (!create)
        return NULL;
    size_t j;
    for (j = 0; j < s->n_hs; j++)
        if (!s->hs[j].used)
            break;
    if (j == s->n_hs) {
        if (pkc_array_grow((void **)&s->hs, &s->cap_hs, s->n_hs + 1, sizeof(handshake)))
            abort();
        s->n_hs++;
    }
    handshake *h = &s->hs[j];
    memset(h, 0, sizeof *h);
    h->used = 1;
    h->a = a < b ? a : b;
    h->b = a < b ? b : a;
    imap_set(&s->hs_map, pair_key(a, b), (int)j);
    return h;
}

static void hs_del(sim *s, handshake *h)
{
    imap_set(&s->hs_map, pair_key(h->a, h->b), -1);
    h->used = 0;
}

static int peer_of(sim *s, const uint8_t *id)
{
    int i = imap_get(&s->ids, id_key(id));
    return i >= 0 && memcmp(s->nodes[i].id, id, ID_LEN) == 0 ? i : -1;
}

/* ---- engine plumbing -------------------------------------------------------------------- */

static void after_call(sim *s, node *n)
{
    if (!n->alive)
        return;
    unsigned deg = (unsigned)pkc_mesh_get_peers(n->mesh, NULL, 0);
    if (deg > s->max_degree)
        s->max_degree = deg;
    uint64_t d = pkc_mesh_get_deadline(n->mesh);
    if (d != n->scheduled) {
        n->scheduled = d;
        if (d != UINT64_MAX)
            push(s, d < now_us(s) ? now_us(s) : d, EV_TIMER, n->idx, -1, 0, NULL, 0);
    }
}

static void cb_send(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    node *n = ud;
    sim *s = n->s;
    int b = peer_of(s, peer);
    link *l = b >= 0 ? find_link(s, n->idx, b) : NULL;
    if (!l || !l->open[dir(l, n->idx)])
        return;
    if (len && data[0] < 32 && (n->drop_types >> data[0]) & 1)
        return;
    int d = dir(l, n->idx);
    uint64_t now = now_us(s);
    uint64_t depart = l->busy[d] > now ? l->busy[d] : now;
    if (s->cfg.bandwidth_kbps > 0)
        depart += (uint64_t)((double)len * 8.0 / s->cfg.bandwidth_kbps * 1000.0);
    l->busy[d] = depart;
    uint64_t arrive = depart + latency_us(s, n->idx, b);
    if (arrive < l->last[d])
        arrive = l->last[d]; /* in order */
    l->last[d] = arrive;
    if (s->cfg.loss > 0 && unit(s) < s->cfg.loss) {
        s->lost++;
        return;
    }
    push(s, arrive, EV_MSG, n->idx, b, 0, data, len);
}

static int msg_number(const uint8_t *id, size_t len)
{
    if (len != MSGID_LEN || memcmp(id, "sim1", 4) != 0)
        return -1;
    return (int)((uint32_t)id[4] << 24 | (uint32_t)id[5] << 16 | (uint32_t)id[6] << 8 | id[7]);
}

static void record_delivery(sim *s, int msg, int peer, unsigned hops)
{
    if (msg < 0 || (size_t)msg >= s->n_msgs)
        return;
    msgrec *r = &s->msgs[msg];
    if (r->got[peer / 8] & (1u << (peer % 8)))
        return;
    r->got[peer / 8] |= (uint8_t)(1u << (peer % 8));
    r->delivered++;
    if (!r->valid)
        return;
    if (hops > s->max_hops_seen)
        s->max_hops_seen = hops;
    if (pkc_array_grow((void **)&s->lat_samples, &s->cap_lat, s->n_lat + 1, sizeof(uint32_t)))
        abort();
    s->lat_samples[s->n_lat++] = (uint32_t)(now_us(s) - r->t);
}

static void cb_deliver(void *ud, const pkc_mesh_message *msg)
{
    node *n = ud;
    record_delivery(n->s, msg_number(msg->id, msg->id_len), n->idx, msg->hops);
}

static pkc_mesh_validation cb_validate(void *ud, const pkc_mesh_message *msg)
{
    (void)ud;
    return msg->len > 0 && msg->payload[0] == 'X' ? PKC_MESH_REJECT : PKC_MESH_ACCEPT;
}

static void cb_direct(void *ud, const uint8_t *from, const uint8_t *data, size_t len,
                      unsigned hops)
{
    node *n = ud;
    sim *s = n->s;
    (void)data;
    (void)len;
    int f = peer_of(s, from);
    for (size_t i = 0; i < s->n_direct; i++)
        if (s->direct[i].to == n->idx && s->direct[i].from == f) {
            s->direct[i].count++;
            if (hops > s->direct[i].max_hops)
                s->direct[i].max_hops = hops;
            return;
        }
    if (pkc_array_grow((void **)&s->direct, &s->cap_direct, s->n_direct + 1, sizeof(direct_rec)))
        abort();
    s->direct[s->n_direct++] = (direct_rec){n->idx, f, 1, hops};
}

/* Signaling payloads: 'O' offer, 'A' answer, 'C' candidate. */
static void queue_signal(sim *s, int a, int b, char kind)
{
    uint8_t sdp[24];
    memset(sdp, 0, sizeof sdp);
    sdp[0] = (uint8_t)kind;
    memcpy(sdp + 1, s->nodes[a].id, 8);
    push(s, now_us(s), EV_SIGNAL, a, b, 0, sdp, sizeof sdp);
}

static void handshake_progress(sim *s, handshake *h)
{
    if (!(h->desc[0] && h->desc[1] && h->cand[0] && h->cand[1]))
        return;
    int a = h->a, b = h->b;
    hs_del(s, h);
    uint64_t now = now_us(s);
    if (s->nodes[a].alive && s->nodes[b].alive && reachable(s, a, b)) {
        /* Connectivity checks and the DTLS handshake: two round trips. */
        uint64_t t = now + 2 * (latency_us(s, a, b) + latency_us(s, b, a));
        push(s, t, EV_LINK_UP, a, b, 2, NULL, 0);
    } else {
        uint64_t t = now + (uint64_t)(s->cfg.ice_fail_s * 1e6);
        push(s, t, EV_CONNECT_FAIL, a, b, 0, NULL, 0);
        push(s, t, EV_CONNECT_FAIL, b, a, 0, NULL, 0);
    }
}

static void cb_connect(void *ud, const uint8_t *peer, pkc_mesh_connect_mode mode)
{
    node *n = ud;
    sim *s = n->s;
    int b = peer_of(s, peer);
    if (b < 0)
        return;
    uint64_t now = now_us(s);
    switch (mode) {
    case PKC_MESH_CONNECT_INITIATE:
        hs_get(s, n->idx, b, 1);
        queue_signal(s, n->idx, b, 'O');
        queue_signal(s, n->idx, b, 'C');
        break;
    case PKC_MESH_CONNECT_RESPOND:
        hs_get(s, n->idx, b, 1);
        break;
    case PKC_MESH_CONNECT_DIAL:
        if (s->nodes[b].alive && (s->nodes[b].cls & SIM_PUBLIC) && reachable(s, n->idx, b))
            push(s, now + 2 * (latency_us(s, n->idx, b) + latency_us(s, b, n->idx)), EV_LINK_UP,
                 n->idx, b, 1, NULL, 0);
        else
            push(s, now + (uint64_t)(s->cfg.ice_fail_s * 1e6), EV_CONNECT_FAIL, n->idx, b, 0,
                 NULL, 0);
        break;
    }
}

static void cb_signal(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    node *n = ud;
    sim *s = n->s;
    int b = peer_of(s, peer);
    if (b < 0 || len < 1)
        return;
    handshake *h = hs_get(s, n->idx, b, 0);
    if (!h)
        return;
    int side = n->idx == h->a ? 0 : 1;
    if (data[0] == 'O') {
        h->desc[side] = 1;
        queue_signal(s, n->idx, b, 'A');
        queue_signal(s, n->idx, b, 'C');
    } else if (data[0] == 'A') {
        h->desc[side] = 1;
    } else if (data[0] == 'C') {
        h->cand[side] = 1;
    }
    handshake_progress(s, h);
}

static void cb_disconnect(void *ud, const uint8_t *peer, pkc_mesh_disconnect_reason why)
{
    node *n = ud;
    sim *s = n->s;
    (void)why;
    int b = peer_of(s, peer);
    if (b < 0)
        return;
    link *l = find_link(s, n->idx, b);
    if (l)
        close_side(s, l, n->idx, 1);
    handshake *h = hs_get(s, n->idx, b, 0);
    if (h)
        hs_del(s, h);
}

static const pkc_mesh_callbacks callbacks = {
    cb_send, cb_deliver, cb_validate, cb_direct, cb_connect, cb_signal, cb_disconnect,
};

/* ---- public API ------------------------------------------------------------------------- */

void sim_config_default(sim_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    pkc_mesh_config_default(&c->mesh);
    c->lat_min_ms = 5;
    c->lat_max_ms = 100;
    c->jitter = 0.1;
    c->loss = 0;
    c->bandwidth_kbps = 0;
    c->ice_fail_s = 5;
    c->max_peers_alloc = 4096;
}

int sim_new(const sim_config *c, sim **out)
{
    sim *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->cfg = *c;
    pkc_manual_clock_init(&s->clock, 0, 1700000000000);
    pkc_seeded_rng_init(&s->rng, c->seed);
    s->nodes = calloc(c->max_peers_alloc, sizeof *s->nodes);
    s->group = calloc(c->max_peers_alloc, 1);
    if (!s->nodes || !s->group) {
        sim_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void sim_free(sim *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_nodes; i++) {
        pkc_mesh_free(s->nodes[i].mesh);
        pkc_identity_free(s->nodes[i].identity);
    }
    for (size_t i = 0; i < s->heap_len; i++)
        free(s->heap[i].data);
    for (size_t i = 0; i < s->n_msgs; i++)
        free(s->msgs[i].got);
    free(s->heap);
    free(s->nodes);
    free(s->group);
    free(s->links);
    free(s->hs);
    free(s->block_keys);
    free(s->msgs);
    free(s->lat_samples);
    free(s->direct);
    imap_free(&s->ever);
    imap_free(&s->ids);
    imap_free(&s->link_map);
    imap_free(&s->hs_map);
    free(s);
}

int sim_add_peer(sim *s, unsigned cls)
{
    return sim_add_peer_with(s, cls, NULL);
}

int sim_add_peer_with(sim *s, unsigned cls, const pkc_mesh_config *cfg)
{
    if ((unsigned)s->n_nodes == s->cfg.max_peers_alloc)
        return -1;
    int i = s->n_nodes;
    node *n = &s->nodes[i];
    n->s = s;
    n->idx = i;
    n->cls = cls;
    /* 10.hi.lo.1: every peer in a /24 of its own. */
    n->addr = 0x0a000001u | ((uint32_t)i & 0xffffu) << 8;
    do {
        uint8_t seed[32];
        pkc_rng_fill(&s->rng.rng, seed, sizeof seed);
        pkc_identity_free(n->identity);
        n->identity = NULL;
        if (pkc_identity_from_seed(seed, &n->identity))
            return -1;
        pkc_peer_id_hash(pkc_identity_get_public_key(n->identity), n->id);
    } while (imap_get(&s->ids, id_key(n->id)) >= 0);
    n->x = unit(s);
    n->y = unit(s);
    pkc_seeded_rng_init(&n->rng, pkc_rng_u64(&s->rng.rng));
    if (!s->reseeding) {
        s->reseeding = 1;
        push(s, now_us(s) + 15000000, EV_RESEED, -1, -1, 0, NULL, 0);
    }
    pkc_mesh_config mc = cfg ? *cfg : s->cfg.mesh;
    mc.dialable = (cls & SIM_PUBLIC) != 0;
    if (pkc_mesh_new(&mc, &callbacks, n, n->identity, &s->clock.clock, &n->rng.rng, &n->mesh))
        return -1;
    n->alive = 1;
    n->scheduled = UINT64_MAX;
    n->created_at = now_us(s);
    imap_set(&s->ids, id_key(n->id), i);
    s->n_nodes++;
    after_call(s, n);
    return i;
}

void sim_set_drop_types(sim *s, int peer, uint32_t mask)
{
    s->nodes[peer].drop_types = mask;
}

size_t sim_msg_id(const sim *s, int msg, uint8_t *out)
{
    if (msg < 0 || (size_t)msg >= s->n_msgs)
        return 0;
    memcpy(out, s->msgs[msg].id, MSGID_LEN);
    return MSGID_LEN;
}

void sim_clear_latency(sim *s)
{
    s->n_lat = 0;
}

void sim_set_addr(sim *s, int peer, uint32_t addr)
{
    s->nodes[peer].addr = addr;
}

static void addr_bytes(const node *n, uint8_t out[4])
{
    out[0] = (uint8_t)(n->addr >> 24);
    out[1] = (uint8_t)(n->addr >> 16);
    out[2] = (uint8_t)(n->addr >> 8);
    out[3] = (uint8_t)n->addr;
}

void sim_add_seed(sim *s, int peer, int seed)
{
    node *n = &s->nodes[peer];
    if (!n->alive || peer == seed)
        return;
    pkc_mesh_add_peer(n->mesh, s->nodes[seed].id,
                      (s->nodes[seed].cls & SIM_PUBLIC) ? PKC_MESH_PEER_DIALABLE : 0);
    after_call(s, n);
}

int sim_invite(sim *s, int peer, int contact)
{
    if (peer == contact || !s->nodes[peer].alive || !s->nodes[contact].alive ||
        !reachable(s, peer, contact))
        return -1;
    uint64_t t =
        now_us(s) + 2 * (latency_us(s, peer, contact) + latency_us(s, contact, peer));
    push(s, t, EV_LINK_UP, peer, contact, 0, NULL, 0);
    return 0;
}

/* Who can invite: a live peer already in the mesh (with a neighbour), or
 * while nobody has one yet, the first live peer (the mesh's founder). */
static int can_invite(sim *s, int i, int peer, int any)
{
    if (i == peer || !s->nodes[i].alive)
        return 0;
    if (!any)
        return sim_degree(s, i) > 0;
    for (int j = 0; j < i; j++)
        if (j != peer && s->nodes[j].alive)
            return 0;
    return 1;
}

int sim_invite_random(sim *s, int peer)
{
    int live = 0, any = 0;
    for (int i = 0; i < s->n_nodes; i++)
        live += can_invite(s, i, peer, 0);
    if (live == 0) {
        any = 1;
        for (int i = 0; i < s->n_nodes; i++)
            live += can_invite(s, i, peer, 1);
    }
    for (int tries = 0; tries < 64 && live > 0; tries++) {
        int k = (int)pkc_rng_below(&s->rng.rng, (uint64_t)live);
        for (int i = 0; i < s->n_nodes; i++) {
            if (!can_invite(s, i, peer, any))
                continue;
            if (k-- == 0) {
                if (sim_invite(s, peer, i) == 0) {
                    /* A person whose invitation did not work asks for
                     * another one (three times at most). */
                    push(s, now_us(s) + 10000000, EV_REINVITE, peer, -1, 3, NULL, 0);
                    return i;
                }
                break;
            }
        }
    }
    return -1;
}

static void harvest(sim *s, node *n)
{
    pkc_mesh_stats st;
    pkc_mesh_get_stats(n->mesh, &st);
    s->dead.payload_msgs_sent += st.payload_msgs_sent;
    s->dead.payload_bytes_sent += st.payload_bytes_sent;
    s->dead.control_msgs_sent += st.control_msgs_sent;
    s->dead.control_bytes_sent += st.control_bytes_sent;
    s->dead.ihave_ids_sent += st.ihave_ids_sent;
    s->dead.grafts_sent += st.grafts_sent;
    s->dead.prunes_sent += st.prunes_sent;
    s->dead.delivered += st.delivered;
    s->dead.payload_received += st.payload_received;
    s->dead.total_connections += st.total_connections;
    s->dead.reconnections += st.reconnections;
    s->dead.failures += st.failures;
    s->dead.connect_attempts += st.connect_attempts;
    s->dead.route_failures += st.route_failures;
    s->dead.errors += st.errors;
    s->dead.rate_limited += st.rate_limited;
    s->dead.invalid_messages += st.invalid_messages + st.rejected_messages;
}

void sim_crash(sim *s, int peer)
{
    node *n = &s->nodes[peer];
    if (!n->alive)
        return;
    harvest(s, n);
    pkc_mesh_free(n->mesh);
    n->mesh = NULL;
    n->alive = 0;
    s->crashed++;
    /* Its links stay open on the other side: nobody is told. */
    for (size_t i = 0; i < s->n_links; i++) {
        link *l = &s->links[i];
        if (l->used && (l->a == peer || l->b == peer))
            close_side(s, l, peer, 0);
    }
}

void sim_leave(sim *s, int peer)
{
    node *n = &s->nodes[peer];
    if (!n->alive)
        return;
    pkc_mesh_leave(n->mesh);
    harvest(s, n);
    pkc_mesh_free(n->mesh);
    n->mesh = NULL;
    n->alive = 0;
    s->left++;
    for (size_t i = 0; i < s->n_links; i++) {
        link *l = &s->links[i];
        if (l->used && (l->a == peer || l->b == peer))
            close_side(s, l, peer, 1);
    }
}

void sim_block(sim *s, int a, int b)
{
    if (pkc_array_grow((void **)&s->block_keys, &s->cap_block, s->n_block + 1, sizeof(uint64_t)))
        abort();
    s->block_keys[s->n_block++] = pair_key(a, b);
}

void sim_partition(sim *s, const uint8_t *group)
{
    memcpy(s->group, group, (size_t)s->n_nodes);
    s->partitioned = 1;
}

void sim_heal(sim *s)
{
    s->partitioned = 0;
}

int sim_publish(sim *s, int peer, int valid, size_t size)
{
    node *n = &s->nodes[peer];
    if (!n->alive)
        return -1;
    if (pkc_array_grow((void **)&s->msgs, &s->cap_msgs, s->n_msgs + 1, sizeof(msgrec)))
        abort();
    int k = (int)s->n_msgs;
    uint8_t id[MSGID_LEN] = {'s', 'i', 'm', '1', (uint8_t)(k >> 24), (uint8_t)(k >> 16),
                             (uint8_t)(k >> 8), (uint8_t)k};
    pkc_rng_fill(&s->rng.rng, id + 8, 4);
    uint8_t *payload = malloc(size ? size : 1);
    uint8_t *got = calloc((s->cfg.max_peers_alloc + 7) / 8, 1);
    if (!payload || !got)
        abort();
    memset(payload, 'v', size);
    if (size)
        payload[0] = valid ? 'V' : 'X';
    int rc = pkc_mesh_publish(n->mesh, id, sizeof id, payload, size);
    free(payload);
    after_call(s, n);
    if (rc) {
        free(got);
        return -1;
    }
    msgrec *r = &s->msgs[s->n_msgs++];
    memcpy(r->id, id, MSGID_LEN);
    r->t = now_us(s);
    r->publisher = peer;
    r->valid = (uint8_t)valid;
    r->delivered = 1;
    r->got = got;
    got[peer / 8] |= (uint8_t)(1u << (peer % 8));
    return k;
}

int sim_send_direct(sim *s, int a, int b, const void *data, size_t len)
{
    node *n = &s->nodes[a];
    if (!n->alive)
        return -1;
    int rc = pkc_mesh_send(n->mesh, s->nodes[b].id, data, len);
    after_call(s, n);
    return rc;
}

int sim_inject(sim *s, int a, int b, const void *data, size_t len)
{
    link *l = find_link(s, a, b);
    if (!l || !l->open[dir(l, a)])
        return -1;
    int d = dir(l, a);
    uint64_t arrive = now_us(s) + latency_us(s, a, b);
    if (arrive < l->last[d])
        arrive = l->last[d];
    l->last[d] = arrive;
    push(s, arrive, EV_MSG, a, b, 0, data, len);
    return 0;
}

static void link_up(sim *s, int a, int b, uint32_t kind)
{
    node *x = &s->nodes[a], *y = &s->nodes[b];
    if (!x->alive || !y->alive || split(s, a, b) || find_link(s, a, b)) {
        if (x->alive && kind != 0 && !find_link(s, a, b))
            push(s, now_us(s), EV_CONNECT_FAIL, a, b, 0, NULL, 0);
        if (y->alive && kind == 2 && !find_link(s, a, b))
            push(s, now_us(s), EV_CONNECT_FAIL, b, a, 0, NULL, 0);
        return;
    }
    link *l = open_link(s, a, b);
    if (kind == 2)
        s->signaled_links++;
    uint8_t xa[4], ya[4];
    addr_bytes(x, xa);
    addr_bytes(y, ya);
    int rx = pkc_mesh_peer_connected(x->mesh, y->id, ya, sizeof ya);
    after_call(s, x);
    l = find_link(s, a, b);
    if (rx && l)
        close_side(s, l, a, 1);
    int ry = pkc_mesh_peer_connected(y->mesh, x->id, xa, sizeof xa);
    after_call(s, y);
    l = find_link(s, a, b);
    if (ry && l)
        close_side(s, l, b, 1);
}

static void run_event(sim *s, ev *e)
{
    node *a = e->a >= 0 ? &s->nodes[e->a] : NULL;
    node *b = e->b >= 0 ? &s->nodes[e->b] : NULL;
    switch (e->type) {
    case EV_MSG: {
        link *l = find_link(s, e->a, e->b);
        if (!b->alive || !l || !l->open[dir(l, e->b)] || split(s, e->a, e->b))
            break;
        pkc_mesh_receive(b->mesh, a->id, e->data, e->len);
        after_call(s, b);
        break;
    }
    case EV_CLOSE: {
        /* A close notification crosses the network like data: a partition
         * loses it (the far side then notices by its own timeout). */
        link *l = find_link(s, e->a, e->b);
        if (!l || !l->open[dir(l, e->b)] || split(s, e->a, e->b))
            break;
        close_side(s, l, e->b, 0);
        if (b->alive) {
            pkc_mesh_peer_disconnected(b->mesh, a->id);
            after_call(s, b);
        }
        break;
    }
    case EV_LINK_UP:
        link_up(s, e->a, e->b, e->aux);
        break;
    case EV_CONNECT_FAIL:
        if (a->alive) {
            pkc_mesh_peer_connect_failed(a->mesh, b->id);
            after_call(s, a);
        }
        break;
    case EV_SIGNAL:
        if (a->alive) {
            pkc_mesh_signal(a->mesh, b->id, e->data, e->len);
            after_call(s, a);
        }
        break;
    case EV_REINVITE:
        if (a->alive && sim_degree(s, e->a) == 0 && e->aux > 0) {
            int got = -1;
            for (int tries = 0; tries < 64 && got < 0; tries++) {
                int k = (int)pkc_rng_below(&s->rng.rng, (uint64_t)s->n_nodes);
                if (k != e->a && s->nodes[k].alive && sim_degree(s, k) > 0 &&
                    sim_invite(s, e->a, k) == 0)
                    got = k;
            }
            push(s, now_us(s) + 10000000, EV_REINVITE, e->a, -1, e->aux - 1, NULL, 0);
        }
        break;
    case EV_RESEED: {
        /* The runtime of a peer left without neighbours looks its seeds up
         * again (DNS TXT records list the always-on peers that are up). */
        int publics = 0;
        for (int i = 0; i < s->n_nodes; i++)
            publics += s->nodes[i].alive && (s->nodes[i].cls & SIM_PUBLIC);
        for (int i = 0; i < s->n_nodes && publics > 0; i++) {
            node *n = &s->nodes[i];
            if (!n->alive || sim_degree(s, i) > 0)
                continue;
            for (int k = 0; k < 3; k++) {
                int pick = (int)pkc_rng_below(&s->rng.rng, (uint64_t)publics);
                for (int j = 0; j < s->n_nodes; j++)
                    if (s->nodes[j].alive && (s->nodes[j].cls & SIM_PUBLIC) && pick-- == 0) {
                        sim_add_seed(s, i, j);
                        break;
                    }
            }
        }
        push(s, now_us(s) + 15000000, EV_RESEED, -1, -1, 0, NULL, 0);
        break;
    }
    case EV_TIMER:
        if (a->alive && a->scheduled == e->t) {
            a->scheduled = UINT64_MAX;
            pkc_mesh_tick(a->mesh);
            after_call(s, a);
        } else if (a->alive && a->scheduled < now_us(s)) {
            /* A deadline that moved earlier than an event already queued. */
            a->scheduled = UINT64_MAX;
            pkc_mesh_tick(a->mesh);
            after_call(s, a);
        }
        break;
    }
}

void sim_run_until(sim *s, double t)
{
    uint64_t end = (uint64_t)(t * 1e6);
    while (s->heap_len && s->heap[0].t <= end) {
        ev e = pop(s);
        if (e.t > s->clock.mono_us)
            pkc_manual_clock_advance(&s->clock, e.t - s->clock.mono_us);
        s->events++;
        run_event(s, &e);
        free(e.data);
    }
    if (end > s->clock.mono_us)
        pkc_manual_clock_advance(&s->clock, end - s->clock.mono_us);
}

int64_t sim_wall_ms(const sim *s)
{
    return s->clock.wall_ms;
}

double sim_now(const sim *s)
{
    return (double)s->clock.mono_us / 1e6;
}

int sim_peers(const sim *s)
{
    return s->n_nodes;
}

int sim_alive(const sim *s, int peer)
{
    return s->nodes[peer].alive;
}

pkc_mesh *sim_engine(sim *s, int peer)
{
    return s->nodes[peer].mesh;
}

const pkc_identity *sim_identity(const sim *s, int peer)
{
    return s->nodes[peer].identity;
}

const uint8_t *sim_peer_id(const sim *s, int peer)
{
    return s->nodes[peer].id;
}

unsigned sim_degree(sim *s, int peer)
{
    return s->nodes[peer].alive ? (unsigned)pkc_mesh_get_peers(s->nodes[peer].mesh, NULL, 0) : 0;
}

int sim_linked(sim *s, int a, int b)
{
    link *l = find_link(s, a, b);
    return l && l->open[0] && l->open[1];
}

int sim_ever_linked(const sim *s, int a, int b)
{
    return imap_get(&s->ever, pair_key(a, b)) == 1;
}

static int uf_find(int *p, int x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

unsigned sim_components(sim *s)
{
    int *p = malloc(sizeof(int) * (size_t)(s->n_nodes ? s->n_nodes : 1));
    if (!p)
        abort();
    for (int i = 0; i < s->n_nodes; i++)
        p[i] = i;
    for (size_t i = 0; i < s->n_links; i++) {
        link *l = &s->links[i];
        if (l->used && l->open[0] && l->open[1] && s->nodes[l->a].alive && s->nodes[l->b].alive)
            p[uf_find(p, l->a)] = uf_find(p, l->b);
    }
    unsigned c = 0;
    for (int i = 0; i < s->n_nodes; i++)
        c += s->nodes[i].alive && uf_find(p, i) == i;
    free(p);
    return c;
}

unsigned sim_max_degree_ever(const sim *s)
{
    return s->max_degree;
}

unsigned sim_msg_delivered(const sim *s, int msg)
{
    const msgrec *r = &s->msgs[msg];
    unsigned n = 0;
    for (int i = 0; i < s->n_nodes; i++)
        n += s->nodes[i].alive && (r->got[i / 8] & (1u << (i % 8)));
    return n;
}

int sim_msg_delivered_to(const sim *s, int msg, int peer)
{
    return (s->msgs[msg].got[peer / 8] >> (peer % 8)) & 1;
}

unsigned sim_direct_received(const sim *s, int peer, int from, unsigned *max_hops)
{
    for (size_t i = 0; i < s->n_direct; i++)
        if (s->direct[i].to == peer && s->direct[i].from == from) {
            if (max_hops)
                *max_hops = s->direct[i].max_hops;
            return s->direct[i].count;
        }
    if (max_hops)
        *max_hops = 0;
    return 0;
}

uint64_t sim_signaled_links(const sim *s)
{
    return s->signaled_links;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

void sim_measure(sim *s, sim_results *r)
{
    memset(r, 0, sizeof *r);
    r->peers = (unsigned)s->n_nodes;
    r->crashed = s->crashed;
    r->left = s->left;
    unsigned live = 0;
    double deg = 0;
    pkc_mesh_stats tot = s->dead;
    for (int i = 0; i < s->n_nodes; i++) {
        node *n = &s->nodes[i];
        if (!n->alive)
            continue;
        live++;
        pkc_mesh_stats st;
        pkc_mesh_get_stats(n->mesh, &st);
        deg += st.connected_peers;
        tot.payload_msgs_sent += st.payload_msgs_sent;
        tot.payload_bytes_sent += st.payload_bytes_sent;
        tot.control_msgs_sent += st.control_msgs_sent;
        tot.control_bytes_sent += st.control_bytes_sent;
        tot.ihave_ids_sent += st.ihave_ids_sent;
        tot.grafts_sent += st.grafts_sent;
        tot.prunes_sent += st.prunes_sent;
        tot.delivered += st.delivered;
        tot.payload_received += st.payload_received;
        tot.total_connections += st.total_connections;
        tot.reconnections += st.reconnections;
        tot.failures += st.failures;
        tot.connect_attempts += st.connect_attempts;
        tot.route_failures += st.route_failures;
        tot.errors += st.errors;
        tot.rate_limited += st.rate_limited;
        tot.invalid_messages += st.invalid_messages + st.rejected_messages;
    }
    r->live_peers = live;
    r->avg_degree = live ? deg / live : 0;
    /* Delivery over (valid message, peer alive now that existed when it was
     * published) pairs. */
    uint64_t want = 0, got = 0;
    for (size_t k = 0; k < s->n_msgs; k++) {
        const msgrec *m = &s->msgs[k];
        if (!m->valid)
            continue;
        r->messages++;
        for (int i = 0; i < s->n_nodes; i++) {
            const node *n = &s->nodes[i];
            if (!n->alive || n->created_at > m->t)
                continue;
            want++;
            got += (m->got[i / 8] >> (i % 8)) & 1;
        }
    }
    r->delivery_ratio = want ? (double)got / (double)want : 1.0;
    r->redundancy = tot.delivered ? (double)tot.payload_received / (double)tot.delivered : 0;
    r->max_hops = s->max_hops_seen;
    if (s->n_lat) {
        qsort(s->lat_samples, s->n_lat, sizeof(uint32_t), cmp_u32);
        r->p50_latency_ms = s->lat_samples[(s->n_lat - 1) / 2] / 1000.0;
        r->p99_latency_ms = s->lat_samples[(size_t)((double)(s->n_lat - 1) * 0.99)] / 1000.0;
        r->max_latency_ms = s->lat_samples[s->n_lat - 1] / 1000.0;
        double sum = 0;
        for (size_t i = 0; i < s->n_lat; i++)
            sum += s->lat_samples[i];
        r->mean_latency_ms = sum / (double)s->n_lat / 1000.0;
    }
    r->max_degree = s->max_degree;
    r->components = sim_components(s);
    r->payload_msgs = tot.payload_msgs_sent;
    r->payload_bytes = tot.payload_bytes_sent;
    r->control_msgs = tot.control_msgs_sent;
    r->control_bytes = tot.control_bytes_sent;
    r->ihave_ids = tot.ihave_ids_sent;
    r->grafts = tot.grafts_sent;
    r->prunes = tot.prunes_sent;
    r->deliveries = tot.delivered;
    r->payload_received = tot.payload_received;
    r->connections = tot.total_connections;
    r->reconnections = tot.reconnections;
    r->failures = tot.failures;
    r->connect_attempts = tot.connect_attempts;
    r->signaled_links = s->signaled_links;
    r->route_failures = tot.route_failures;
    r->errors = tot.errors;
    r->rate_limited = tot.rate_limited;
    r->invalid = tot.invalid_messages;
    r->events = s->events;
    r->lost = s->lost;
    r->sim_seconds = sim_now(s);
}
