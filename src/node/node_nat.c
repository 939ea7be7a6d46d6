/*
 * node_nat.c: NAT traversal for the node's shared socket (docs/node.md,
 * "Connections").
 *
 * - Reflexive addresses. With STUN servers configured, the node sends
 *   Binding requests from the socket every connection uses and keeps the
 *   mapped address of each family (server-reflexive): it joins the host
 *   addresses in the dial information we signal through the mesh, in
 *   invitations and in DNS records. Refreshed every NAT_REFRESH_US (which
 *   also keeps the mapping alive), and soon after a link fails; a changed
 *   mapping (NAT rebinding) is signaled again to the peers we have links
 *   with.
 * - Hole punching. A peer that signals (authenticated end to end by the
 *   mesh) that it will dial us gets a few Binding requests from our socket
 *   at the addresses it signaled, so that our NAT's filter lets its ICE
 *   checks in. Never to an address anyone else chose; capped per peer
 *   (PUNCH_ROUNDS) and per node (PUNCH_PER_SECOND).
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "rtc/addr.h"
#include "rtc/stun.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"
#include "discovery/lan_wire.h"
#include "node/rtc_runtime.h"
#include "node/node_int.h"

#define LOG "node"
#define NAT_REFRESH_US (10 * 1000000ull)
#define NAT_SOON_US (500 * 1000ull)
#define STUN_TRIES 4
#define STUN_RTO_US (250 * 1000ull)
#define PUNCH_ROUNDS 6
#define PUNCH_FIRST_GAP_US (100 * 1000ull)
#define PUNCH_PER_SECOND 200
/* A peer that says it moved more often than this is not heard. */
#define MOVED_MIN_GAP_US (5 * 1000000ull)

/* A STUN server name being resolved; `n` is NULL once the node stopped. */
typedef struct node_nat_resolve {
    uv_getaddrinfo_t req;
    pkc_node *n;
    uint16_t port;
    struct node_nat_resolve *next;
} node_nat_resolve;

static void stun_response(void *ud, const pkc_addr *from, const pkc_stun_msg *m,
                          const uint8_t *data, size_t len);

size_t node_dial_addrs(const pkc_node *n, const char **out, size_t max)
{
    size_t k = 0, hosts = n->n_laddrs;
    size_t refl = (n->srflx[0][0] != 0) + (n->srflx[1][0] != 0);
    /* Room for the reflexive ones: they are what a peer behind another
     * NAT can reach. */
    if (hosts + refl > max)
        hosts = max > refl ? max - refl : 0;
    for (size_t i = 0; i < hosts; i++)
        out[k++] = n->laddrs[i];
    for (size_t f = 0; f < 2 && k < max; f++) {
        if (n->srflx[f][0] == 0)
            continue;
        int dup = 0;
        for (size_t i = 0; i < n->n_laddrs; i++)
            dup |= strcmp(n->laddrs[i], n->srflx[f]) == 0;
        if (!dup)
            out[k++] = n->srflx[f];
    }
    return k;
}

/* ---- the `nat` message ---- */

void node_nat_addrs_encode(pkc_buf *b, const char *const *addrs, size_t count)
{
    pkc_buf_push_varuint(b, count);
    for (size_t i = 0; i < count; i++)
        pkc_buf_push_cstring(b, addrs[i]);
}

int node_nat_addrs_decode(const uint8_t *data, size_t len, char out[][64], size_t *count)
{
    pkc_reader rd;
    pkc_reader_init(&rd, data, len);
    uint64_t k;
    if (pkc_reader_varuint_max(&rd, NODE_ADDRS_MAX, &k) != 0 || k == 0)
        return pkc_error(PKC_ERR_MALFORMED, "nat: count not 1..%d", NODE_ADDRS_MAX);
    for (uint64_t i = 0; i < k; i++) {
        const char *a;
        size_t al;
        if (pkc_reader_varstring(&rd, &a, &al) || al >= 64 || !pkc_lan_address_valid(a, al))
            return pkc_error(PKC_ERR_MALFORMED, "nat: address %u is not udp:IP:PORT", (unsigned)i);
        memcpy(out[i], a, al);
        out[i][al] = 0;
    }
    if (pkc_reader_finish(&rd) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "nat: bytes after the addresses");
    *count = (size_t)k;
    return 0;
}

/* ---- reflexive addresses ---- */

static void stun_send(pkc_node *n, size_t i, uint64_t now)
{
    struct node_stun_tx *t = &n->stun_tx[i];
    uint8_t buf[64];
    pkc_buf b = {buf, 0, sizeof buf, sizeof buf, 0};
    pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_REQUEST, t->txid);
    if (pkc_stun_finish(&b, NULL, 0, 1) != 0)
        return;
    if (pkc_rtc_socket_send(n->sock, NULL, &n->stun_addrs[i], buf, b.len) != 0)
        pkc_logd(LOG, "STUN request not sent: %s", pkc_errmsg());
    t->tries++;
    t->next_us = now + (STUN_RTO_US << (t->tries - 1));
}

static void refresh_round(pkc_node *n, uint64_t now)
{
    n->nat_round++;
    for (size_t i = 0; i < n->n_stun_addrs; i++) {
        pkc_rng_fill(n->rng, n->stun_tx[i].txid, sizeof n->stun_tx[i].txid);
        n->stun_tx[i].tries = 0;
        stun_send(n, i, now);
    }
    n->nat_refresh_us = now + NAT_REFRESH_US;
}

void node_nat_refresh_soon(pkc_node *n)
{
    if (n->n_stun_addrs == 0)
        return;
    uint64_t soon = node_now_us(n) + NAT_SOON_US;
    if (n->nat_refresh_us > soon)
        n->nat_refresh_us = soon;
}

/* Our mapping changed (NAT rebinding): our links' datagrams now leave from
 * a new public port, which the peers' NATs do not let in, and the peers
 * send to the old one, which ours no longer maps. We punch our new mapping
 * open to every linked peer's address (authenticated by ICE), and tell the
 * rooms our new addresses in a signed `nat` broadcast: it reaches a linked
 * peer through the rest of the mesh. The peer punches back (it waits on an
 * ICE-lite listener: our next consent check moves its path) or dials us
 * again at the new address (it dialed the link). */
static void mapping_changed(pkc_node *n)
{
    for (node_link *l = n->links; l; l = l->next) {
        if (l->dead || l->rtc == NULL || !l->hash_known || !l->connected_us)
            continue;
        pkc_rtc_stats st;
        pkc_addr a;
        pkc_rtc_peer_get_stats(l->rtc, &st);
        node_known *k = node_known_get(n, l->hash);
        if (k == NULL || pkc_addr_parse(st.remote_address, &a) != 0)
            continue;
        k->punch[0] = a;
        k->n_punch = 1;
        k->punch_left = PUNCH_ROUNDS;
        k->punch_at = node_now_us(n);
    }
    const char *addrs[NODE_ADDRS_MAX];
    size_t count = node_dial_addrs(n, addrs, NODE_ADDRS_MAX);
    pkc_buf b;
    pkc_buf_init(&b);
    node_nat_addrs_encode(&b, addrs, count);
    for (node_room *r = n->rooms; r && b.err == 0; r = r->next)
        if (r->mesh && node_broadcast_raw(n, r, "nat", b.data, b.len, NULL) != 0)
            pkc_logd(LOG, "room %s: new addresses not sent: %s", r->id, pkc_errmsg());
    pkc_buf_free(&b);
}

void node_nat_moved(pkc_node *n, node_room *r, const uint8_t pk[32], const uint8_t *data,
                    size_t len)
{
    size_t count;
    char addrs[NODE_ADDRS_MAX][64];
    if (node_nat_addrs_decode(data, len, addrs, &count) != 0) {
        pkc_logd(LOG, "room %s: a malformed nat message, dropped: %s", r->id, pkc_errmsg());
        return;
    }
    char id[PKC_PEER_ID_SIZE];
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_from_public_key(pk, id);
    if (pkc_peer_id_parse(id, hash) != 0)
        return;
    node_known *k = node_known_get(n, hash);
    if (k == NULL || !k->dialable)
        return; /* nothing of ours depends on where it is */
    uint64_t now = node_now_us(n);
    if (k->moved_us && now - k->moved_us < MOVED_MIN_GAP_US) {
        pkc_logd(LOG, "%s moved again within %llu s: ignored", id,
                 (unsigned long long)(MOVED_MIN_GAP_US / 1000000));
        return;
    }
    k->moved_us = now;
    k->n_addrs = (size_t)count;
    for (size_t i = 0; i < k->n_addrs; i++)
        memcpy(k->addrs[i], addrs[i], sizeof addrs[i]);
    node_link *l = node_link_find(n, hash);
    if (l == NULL || l->rtc == NULL)
        return;
    pkc_logi(LOG, "%s moved (its NAT mapped it anew): now at %s%s", id, addrs[count - 1] + 4,
             l->outbound ? ": dialing it again" : ": punching to it");
    if (l->outbound) {
        /* Our consent checks go to its old address: a new link, dialed to
         * the new one (the peer punched its NAT open to us). */
        node_redial(n, l, k);
        return;
    }
    /* It dialed us: punch to its new address, only at the IP it has now
     * (a room member cannot point us at anyone else's host), so that its
     * next consent check reaches our listener, which follows it. */
    pkc_rtc_stats st;
    pkc_addr cur;
    pkc_rtc_peer_get_stats(l->rtc, &st);
    if (pkc_addr_parse(st.remote_address, &cur) != 0)
        return;
    k->n_punch = 0;
    for (size_t i = 0; i < k->n_addrs; i++) {
        pkc_addr a;
        if (pkc_addr_parse(k->addrs[i] + 4, &a) == 0 && pkc_addr_ip_equal(&a, &cur) &&
            !pkc_addr_equal(&a, &cur))
            k->punch[k->n_punch++] = a;
    }
    if (k->n_punch) {
        k->punch_left = PUNCH_ROUNDS;
        k->punch_at = now;
    }
}

static void stun_response(void *ud, const pkc_addr *from, const pkc_stun_msg *m,
                          const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    pkc_node *n = ud;
    size_t i;
    for (i = 0; i < n->n_stun_addrs; i++)
        if (n->stun_tx[i].tries && pkc_addr_equal(from, &n->stun_addrs[i]) &&
            memcmp(m->txid, n->stun_tx[i].txid, sizeof m->txid) == 0)
            break;
    if (i == n->n_stun_addrs)
        return; /* not ours, or a late answer to an earlier round */
    n->stun_tx[i].tries = 0;
    char fs[PKC_ADDR_STRLEN];
    pkc_addr_string(from, fs, sizeof fs);
    if (PKC_STUN_CLASS(m->type) != PKC_STUN_SUCCESS) {
        pkc_logw(LOG, "STUN server %s answered with error %u", fs, m->error_code);
        return;
    }
    const pkc_addr *mapped = (m->has & PKC_STUN_HAS_XOR_MAPPED) ? &m->xor_mapped
                             : (m->has & PKC_STUN_HAS_MAPPED)   ? &m->mapped
                                                                : NULL;
    if (mapped == NULL || mapped->family != from->family || mapped->port == 0) {
        pkc_logw(LOG, "STUN server %s answered without a usable mapped address", fs);
        return;
    }
    char ms[PKC_ADDR_STRLEN], text[64];
    snprintf(text, sizeof text, "udp:%s", pkc_addr_string(mapped, ms, sizeof ms));
    int fam = mapped->family == 6;
    char *slot = n->srflx[fam];
    if (n->nat_round_seen[fam] == n->nat_round) {
        /* Another server answered this round first: if it saw us
         * elsewhere, the mapping depends on the destination (a symmetric
         * NAT). Not a change either way. */
        if (strcmp(slot, text) != 0)
            pkc_logd(LOG, "STUN server %s sees us at %s, another at %s: a symmetric NAT", fs,
                     text + 4, slot + 4);
        return;
    }
    n->nat_round_seen[fam] = n->nat_round;
    if (strcmp(slot, text) == 0)
        return;
    if (slot[0]) {
        n->nat_changes++;
        pkc_logi(LOG, "reflexive address changed from %s to %s (NAT rebinding): telling our peers",
                 slot + 4, text + 4);
    } else {
        pkc_logi(LOG, "reflexive address %s (STUN server %s)", text + 4, fs);
    }
    int had = slot[0] != 0;
    snprintf(slot, 64, "%s", text);
    if (had)
        mapping_changed(n);
}

static void add_server(pkc_node *n, const pkc_addr *a)
{
    for (size_t i = 0; i < n->n_stun_addrs; i++)
        if (pkc_addr_equal(&n->stun_addrs[i], a))
            return;
    if (n->n_stun_addrs < 4 && n->sock->fd[a->family == 6] >= 0)
        n->stun_addrs[n->n_stun_addrs++] = *a;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    node_nat_resolve *q = (node_nat_resolve *)req;
    pkc_node *n = q->n;
    if (n) {
        for (node_nat_resolve **p = &n->resolves; *p; p = &(*p)->next)
            if (*p == q) {
                *p = q->next;
                break;
            }
        n->stun_resolving--;
        if (status == 0) {
            for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                pkc_addr a;
                memset(&a, 0, sizeof a);
                if (ai->ai_family == AF_INET) {
                    a.family = 4;
                    memcpy(a.ip, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
                } else if (ai->ai_family == AF_INET6) {
                    a.family = 6;
                    memcpy(a.ip, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
                } else {
                    continue;
                }
                a.port = q->port;
                add_server(n, &a);
            }
        } else {
            pkc_logw(LOG, "STUN server name: %s", uv_strerror(status));
        }
        if (n->stun_resolving == 0)
            n->nat_refresh_us = 0; /* ask now */
        node_reschedule(n);
    }
    uv_freeaddrinfo(res);
    free(q);
}

int node_nat_start(pkc_node *n)
{
    memset(n->srflx, 0, sizeof n->srflx);
    n->n_stun_addrs = 0;
    n->nat_refresh_us = 0;
    n->sock->stun_response = stun_response;
    n->sock->stun_response_ud = n;
    for (size_t i = 0; i < n->cfg.n_stun_servers; i++) {
        const char *s = n->cfg.stun_servers[i];
        pkc_addr a;
        if (pkc_addr_parse(s, &a) == 0) {
            add_server(n, &a);
            continue;
        }
        char host[256];
        uint16_t port;
        if (pkc_host_port_split(s, host, &port) != 0)
            return pkc_error(PKC_ERR_INVALID_ARG, "STUN server '%s': expected HOST:PORT", s);
        node_nat_resolve *q = calloc(1, sizeof *q);
        if (q == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        q->n = n;
        q->port = port;
        struct addrinfo hints;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_DGRAM;
        if (uv_getaddrinfo(&n->loop->uv, &q->req, on_resolved, host, NULL, &hints) != 0) {
            free(q);
            return pkc_error(PKC_ERR_INVALID_ARG, "STUN server '%s': cannot resolve", s);
        }
        q->next = n->resolves;
        n->resolves = q;
        n->stun_resolving++;
    }
    return 0;
}

void node_nat_stop(pkc_node *n)
{
    /* Names still resolving: their callbacks only free themselves. */
    for (node_nat_resolve *q = n->resolves; q; q = q->next) {
        q->n = NULL;
        uv_cancel((uv_req_t *)&q->req);
    }
    n->resolves = NULL;
    n->stun_resolving = 0;
    if (n->sock)
        n->sock->stun_response = NULL;
    n->n_stun_addrs = 0;
}

/* ---- hole punching ---- */

void node_nat_punch(pkc_node *n, node_known *k)
{
    k->n_punch = 0;
    for (size_t i = 0; i < k->n_addrs && k->n_punch < NODE_ADDRS_MAX; i++) {
        pkc_addr a;
        if (strncmp(k->addrs[i], "udp:", 4) != 0 || pkc_addr_parse(k->addrs[i] + 4, &a) != 0 ||
            n->sock->fd[a.family == 6] < 0)
            continue;
        k->punch[k->n_punch++] = a;
    }
    if (k->n_punch == 0)
        return;
    k->punch_left = PUNCH_ROUNDS;
    k->punch_at = node_now_us(n);
    pkc_logd(LOG, "%s will dial us: punching to its %zu addresses", k->peer_id, k->n_punch);
}

static void punch_round(pkc_node *n, node_known *k, uint64_t now)
{
    if (now - n->punch_window_us >= 1000000) {
        n->punch_window_us = now;
        n->punch_sent = 0;
    }
    for (size_t i = 0; i < k->n_punch; i++) {
        if (n->punch_sent >= PUNCH_PER_SECOND) {
            pkc_logd(LOG, "punching: %u datagrams this second already: some skipped",
                     PUNCH_PER_SECOND);
            break;
        }
        /* A Binding request without credentials: it opens our NAT's
         * filter; a pkc peer drops it (no USERNAME), a STUN server may
         * answer it, and the answer is dropped too (not a txid of ours). */
        uint8_t txid[12], buf[64];
        pkc_rng_fill(n->rng, txid, sizeof txid);
        pkc_buf b = {buf, 0, sizeof buf, sizeof buf, 0};
        pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_REQUEST, txid);
        if (pkc_stun_finish(&b, NULL, 0, 1) == 0 &&
            pkc_rtc_socket_send(n->sock, NULL, &k->punch[i], buf, b.len) == 0)
            n->punch_sent++;
    }
    k->punch_left--;
    /* 0, 0.1, 0.3, 0.7, 1.5, 3.1 s: the dialer's checks retransmit over
     * a few seconds too. */
    k->punch_at = now + (PUNCH_FIRST_GAP_US << (PUNCH_ROUNDS - 1 - k->punch_left));
}

void node_nat_tick(pkc_node *n, uint64_t now, uint64_t *deadline)
{
    if (n->sock == NULL)
        return;
#define DUE(t) (deadline ? ((t) < *deadline ? (*deadline = (t)) : 0, 0) : (now >= (t)))
    if (n->n_stun_addrs && n->stun_resolving == 0) {
        if (DUE(n->nat_refresh_us))
            refresh_round(n, now);
        for (size_t i = 0; i < n->n_stun_addrs; i++) {
            struct node_stun_tx *t = &n->stun_tx[i];
            if (t->tries == 0)
                continue;
            if (t->tries >= STUN_TRIES) {
                if (DUE(t->next_us)) {
                    char s[PKC_ADDR_STRLEN];
                    pkc_logd(LOG, "STUN server %s did not answer",
                             pkc_addr_string(&n->stun_addrs[i], s, sizeof s));
                    t->tries = 0;
                }
                continue;
            }
            if (DUE(t->next_us))
                stun_send(n, i, now);
        }
    }
    for (node_known *k = n->known; k; k = k->next)
        if (k->punch_left && DUE(k->punch_at))
            punch_round(n, k, now);
#undef DUE
}
