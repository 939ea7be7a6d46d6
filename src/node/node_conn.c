/*
 * node_conn.c: the node's connections (docs/node.md, "Connections").
 *
 * One UDP socket carries everything; an ICE-lite listener on it lets
 * peers dial us with what our LAN announcement says (addresses, ufrag,
 * pwd, certificate fingerprint) and no signaling. Between two nodes there
 * is at most one WebRTC connection (a "link"): the one with the smaller
 * peer id hash dials and opens one data channel per room they share; the
 * other waits for it. (Two links between the same two sockets would share
 * one address pair, which the socket cannot tell apart.) Each channel
 * carries a pkc session that proves the room's secret; the room's mesh
 * then runs over the session's MESH frames.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "discovery/lan_wire.h"
#include "proto/handshake.h"
#include "rtc/addr.h"
#include "rtc/candidate.h"
#include "rtc/sctp.h"
#include "rtc/sdp.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "node/loop.h"
#include "node/rtc_runtime.h"
#include "node/node_int.h"

#define LOG "node"
#define LINK_CONNECT_TIMEOUT_US (20 * 1000000ull)
#define LINK_IDLE_US (30 * 1000000ull)
/* When the mesh wants a dial to a peer with a smaller id, which dials by
 * rule, we give its link this long to arrive (both usually hear each other
 * at once) before dialing ourselves: a full peer never would. */
#define DIAL_YIELD_US (1000 * 1000ull)
/* Two links dialed at once (each side to the other, on different address
 * families: on the same ports they cannot both work): the one the smaller
 * id dialed is kept when it is younger than this; an older one is not a
 * crossing but a link the peer lost (it restarted) or one that is stuck. */
#define LINK_CROSSING_US (10 * 1000000ull)

static const pkc_rtc_callbacks rtc_cb;
static node_link *link_find(pkc_node *n, const uint8_t hash[PKC_PEER_ID_HASH_BYTES]);
static const pkc_session_callbacks sess_cb;

static int hash_less(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, PKC_PEER_ID_HASH_BYTES) < 0;
}

static void self_hash(pkc_node *n, uint8_t out[PKC_PEER_ID_HASH_BYTES])
{
    if (pkc_peer_id_parse(pkc_identity_get_peer_id(n->id), out) != 0)
        memset(out, 0, PKC_PEER_ID_HASH_BYTES);
}

/* ---- known peers -------------------------------------------------------------------------------- */

node_known *node_known_get(pkc_node *n, const uint8_t hash[PKC_PEER_ID_HASH_BYTES])
{
    for (node_known *k = n->known; k; k = k->next)
        if (memcmp(k->hash, hash, PKC_PEER_ID_HASH_BYTES) == 0)
            return k;
    return NULL;
}

node_known *node_known_put(pkc_node *n, const uint8_t pk[32], const uint8_t dh[32])
{
    char id[PKC_PEER_ID_SIZE];
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_from_public_key(pk, id);
    if (pkc_peer_id_parse(id, hash) != 0)
        return NULL;
    node_known *k = node_known_get(n, hash);
    if (k == NULL) {
        k = calloc(1, sizeof *k);
        if (k == NULL)
            return NULL;
        memcpy(k->hash, hash, sizeof hash);
        memcpy(k->peer_id, id, sizeof id);
        k->next = n->known;
        n->known = k;
    }
    memcpy(k->pk, pk, 32);
    if (dh)
        memcpy(k->dh, dh, 32);
    return k;
}

/* How to dial `k` (its addresses follow, from k->addrs[0]): dialable now. */
static void known_set_dial(pkc_node *n, node_known *k, const char *ufrag, const char *pwd,
                           const uint8_t fp[32])
{
    k->dialable = 1;
    snprintf(k->ufrag, sizeof k->ufrag, "%s", ufrag);
    snprintf(k->pwd, sizeof k->pwd, "%s", pwd);
    memcpy(k->fp, fp, 32);
    k->n_addrs = 0;
    k->heard_us = node_now_us(n);
}

void node_lan_found(void *user_data, pkc_lan *lan, const pkc_lan_peer *p)
{
    (void)lan;
    pkc_node *n = user_data;
    node_room *r = node_room_by_id(n, p->room_id);
    if (r == NULL)
        return;
    node_known *k = node_known_put(n, p->public_key, p->dh_public_key);
    if (k == NULL)
        return;
    /* New listener credentials: the peer restarted. A link we dialed to its
     * previous run is dead even if it has not timed out yet. */
    if (k->dialable && strcmp(k->ufrag, p->ufrag) != 0) {
        node_link *old = link_find(n, k->hash);
        if (old && old->outbound) {
            pkc_logi(LOG, "%s restarted: dialing it again", k->peer_id);
            node_link_close(old, "the peer restarted");
        }
    }
    known_set_dial(n, k, p->ufrag, p->pwd, p->fingerprint);
    for (size_t i = 0; i < p->n_addresses && k->n_addrs < NODE_ADDRS_MAX; i++)
        snprintf(k->addrs[k->n_addrs++], sizeof k->addrs[0], "%s", p->addresses[i]);
    pkc_logi(LOG, "LAN: %s is in room %s", k->peer_id, r->id);
    /* The peer book: its keys, so that messages can be sealed to it later. */
    pkc_db_peer row;
    memset(&row, 0, sizeof row);
    memcpy(row.id, k->hash, sizeof row.id);
    memcpy(row.public_key, k->pk, 32);
    memcpy(row.x25519, k->dh, 32);
    row.last_seen_ms = node_wall_ms(n);
    if (pkc_db_peer_put(n->db, &row) != 0 ||
        pkc_db_peer_add_room(n->db, k->hash, r->key.id, row.last_seen_ms) != 0)
        node_error(n, "peer book: %s", pkc_errmsg());
    char line[256];
    snprintf(line, sizeof line, "{\"event\":\"found\",\"peer\":\"%s\",\"room\":\"%s\"}",
             k->peer_id, r->id);
    node_control_event(n, "found", line);
    if (r->mesh)
        pkc_mesh_add_peer(r->mesh, k->hash, PKC_MESH_PEER_DIALABLE);
    /* A peer we wait for (it dials) may have messages waiting in our outbox. */
    node_reschedule(n);
}

/* ---- links and channels ------------------------------------------------------------------------- */

static node_link *link_find(pkc_node *n, const uint8_t hash[PKC_PEER_ID_HASH_BYTES])
{
    for (node_link *l = n->links; l; l = l->next)
        if (!l->dead && l->hash_known && memcmp(l->hash, hash, PKC_PEER_ID_HASH_BYTES) == 0)
            return l;
    return NULL;
}

node_link *node_link_find(pkc_node *n, const uint8_t hash[PKC_PEER_ID_HASH_BYTES])
{
    return link_find(n, hash);
}

/* Whether `from` is one of the addresses `k` announced. */
static int known_at(const node_known *k, const pkc_addr *from)
{
    for (size_t i = 0; i < k->n_addrs; i++) {
        pkc_addr a;
        if (strncmp(k->addrs[i], "udp:", 4) == 0 && pkc_addr_parse(k->addrs[i] + 4, &a) == 0 &&
            pkc_addr_equal(&a, from))
            return 1;
    }
    return 0;
}

/* A link still setting up, or carrying a channel that is open or opening.
 * A connected link whose channels all ended (refused, left) only waits to
 * be reaped: it serves nobody. */
static int link_in_use(const node_link *l)
{
    if (!l->connected_us)
        return 1;
    for (const node_chan *c = l->chans; c; c = c->next)
        if (!c->dead)
            return 1;
    return 0;
}

/* Whether `l`, the link we dialed to a peer with a greater id, wins over
 * the peer's link that just reached us: the dials crossed. A link we
 * dialed that is not connected, unused, or established long ago (the peer
 * dials again because it lost it: it restarted), gives way. */
static int link_wins_crossing(const node_link *l, uint64_t now)
{
    /* One still looking for a path loses to a link that works. */
    return l->outbound && l->connected_us && link_in_use(l) &&
           now - l->created_us < LINK_CROSSING_US;
}

/* The link's remote address as text ("IP:port"), "" while it has none;
 * LINK_ADDR_MAX bytes hold any. */
#define LINK_ADDR_MAX sizeof(((pkc_rtc_stats *)0)->remote_address)
static void link_remote(const node_link *l, char *out, size_t cap)
{
    out[0] = 0;
    if (l->rtc == NULL)
        return;
    pkc_rtc_stats st;
    pkc_rtc_peer_get_stats(l->rtc, &st);
    snprintf(out, cap, "%s", st.remote_address);
}

/* An inbound link, not yet authenticated, from one of the addresses `k`
 * announced. */
static int link_unnamed_from(node_link *l, const node_known *k)
{
    if (l->dead || l->outbound || l->hash_known || l->rtc == NULL)
        return 0;
    char text[LINK_ADDR_MAX];
    pkc_addr from;
    link_remote(l, text, sizeof text);
    return pkc_addr_parse(text, &from) == 0 && known_at(k, &from);
}

/* Whether a link from `k` is forming: an inbound link, not yet
 * authenticated, from one of the addresses `k` announced. Dialing it now
 * would cross that link on the same pair of UDP ports, where two DTLS
 * associations cannot be told apart. A link whose sessions all ended
 * before the peer said who it is (the dialer gave up on it: its mesh
 * dropped us in the handshake) forms nothing any more, though its
 * connection lives on: it is closed here, or we would wait for it until it
 * is closed as idle (LINK_IDLE_US after it connected) while the peer waits
 * for our dial. Nor is one still unnamed LINK_CROSSING_US after it
 * connected: its handshake is stuck (after a lossy setup usrsctp can take
 * 6 to 20 s to resend a lost record, whatever its RTO cap), and its dialer
 * gives it up for ours at that age (link_wins_crossing): it is closed here
 * and we dial, rather than wait for the handshake step's 30 s timeout. */
static int link_forming_from(pkc_node *n, const node_known *k)
{
    for (node_link *l = n->links; l; l = l->next) {
        if (!link_unnamed_from(l, k))
            continue;
        if (l->had_chan && !link_in_use(l)) {
            node_link_close(l, "its sessions ended before the peer said who it is: we dial it");
            continue;
        }
        if (l->connected_us && node_now_us(n) - l->connected_us >= LINK_CROSSING_US) {
            node_link_close(l, "still unnamed 10 s after it connected: stuck, we dial it");
            continue;
        }
        return 1;
    }
    return 0;
}

node_chan *node_chan_find(pkc_node *n, node_room *r, const uint8_t peer[PKC_PEER_ID_HASH_BYTES])
{
    node_link *l = link_find(n, peer);
    if (l == NULL)
        return NULL;
    for (node_chan *c = l->chans; c; c = c->next)
        if (!c->dead && c->room == r)
            return c;
    return NULL;
}

static void peer_event(pkc_node *n, node_link *l, node_room *r, int connected)
{
    pkc_logi(LOG, "%s %s room %s", l->peer_id, connected ? "joined us in" : "left", r->id);
    if (n->cb.peer) {
        pkc_node_peer_event ev = {l->peer_id, r->id, connected};
        n->cb.peer(n->user_data, n, &ev);
    }
    char line[256];
    snprintf(line, sizeof line, "{\"event\":\"%s\",\"peer\":\"%s\",\"room\":\"%s\"}",
             connected ? "connected" : "disconnected", l->peer_id, r->id);
    node_control_event(n, connected ? "connected" : "disconnected", line);
}

/* The channel is over: tell the mesh (later: this may run inside one of
 * its callbacks) and the application. */
static void chan_dead(node_chan *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    pkc_node *n = c->link->n;
    node_doc_sync_abandon(c); /* a document's state half arrived: given up */
    if (c->room && c->in_mesh) {
        if (!c->mesh_bye)
            node_defer(n, W_DISCONNECTED, c->room, c->link->hash);
        peer_event(n, c->link, c->room, 0);
    } else if (c->room && c->joining && !c->mesh_bye) {
        /* The session ended inside pkc_mesh_peer_connected(): the mesh's
         * first message to the peer could not be sent (its connection
         * ended in the same batch of datagrams as the handshake's last
         * record). The mesh may have taken the peer: it must hear that it
         * is gone (for an attempt, this fails it), or it would hold a
         * neighbour that is not there and refuse the peer's next
         * connection as "already connected". No event: the application
         * never heard of it. */
        pkc_logd(LOG, "session with %s ended as the mesh took it: the mesh hears it is gone",
                 c->link->peer_id);
        node_defer(n, W_DISCONNECTED, c->room, c->link->hash);
    } else if (c->room && c->initiator && !c->mesh_bye) {
        node_defer(n, W_CONNECT_FAILED, c->room, c->link->hash);
    }
    c->in_mesh = 0;
}

static int chan_start_session(node_chan *c)
{
    node_link *l = c->link;
    pkc_node *n = l->n;
    pkc_session_config sc;
    pkc_session_config_default(&sc);
    sc.initiator = c->initiator;
    sc.identity = n->id;
    sc.local_fingerprint = n->cert_fp;
    sc.local_fingerprint_len = 32;
    uint8_t remote_fp[PKC_FINGERPRINT_MAX_BYTES];
    if (l->outbound) {
        memcpy(remote_fp, l->remote_fp, 32);
    } else {
        pkc_fingerprint f;
        const char *text = pkc_rtc_peer_get_remote_fingerprint(l->rtc);
        if (text == NULL || pkc_fingerprint_parse(text, strlen(text), &f) != 0 ||
            f.alg != PKC_HASH_SHA256)
            return pkc_error(PKC_ERR_FINGERPRINT, "no SHA-256 certificate fingerprint");
        memcpy(remote_fp, f.bytes, 32);
    }
    sc.remote_fingerprint = remote_fp;
    sc.remote_fingerprint_len = 32;
    sc.max_frame_size = NODE_FRAME_MAX;
    /* Each handshake step may wait for SCTP to retransmit a record on a
     * lossy path, several times (backed off to 3 s each, rtc/sctp.c):
     * proto's default of 10 s ended links that were about to come up. */
    sc.handshake_timeout_ms = NODE_HANDSHAKE_STEP_MS;
    sc.guard = n->guard;
    /* Room members exchange small messages at up to NODE_MSG_RATE per
     * second: proto's defaults (200 frames/s, 1 MiB/s) would block a busy
     * room's peer for a minute. */
    sc.msg_rate = NODE_MSG_RATE;
    sc.msg_burst = 2 * NODE_MSG_RATE;
    sc.byte_rate = NODE_BYTE_RATE;
    sc.byte_burst = 4 * NODE_BYTE_RATE;
    uint8_t secrets[NODE_ROOMS_MAX + NODE_INVITES_MAX][32];
    size_t n_secrets = 0;
    if (c->initiator) {
        sc.expected_peer = l->hash;
        sc.proof_secret = c->invite ? c->invite->offer.token : c->room->secret;
    } else {
        /* The rooms, then the invitations a peer may prove. */
        for (node_room *r = n->rooms; r && n_secrets < NODE_ROOMS_MAX; r = r->next) {
            c->proof_is_invite[n_secrets] = 0;
            memcpy(c->proof_ids[n_secrets], r->key.id, 8);
            memcpy(secrets[n_secrets++], r->secret, 32);
        }
        size_t rooms = n_secrets;
        for (node_invite *v = n->invites; v && n_secrets < rooms + NODE_INVITES_MAX; v = v->next)
            if (node_invite_live(n, v)) {
                c->proof_is_invite[n_secrets] = 1;
                memcpy(c->proof_ids[n_secrets], v->offer.id, 8);
                memcpy(secrets[n_secrets++], v->offer.token, 32);
            }
        sc.require = PKC_REQUIRE_PROOF;
        sc.proof_secrets = (const uint8_t(*)[32])secrets;
        sc.n_proof_secrets = n_secrets;
    }
    int rc = pkc_session_new(&sc, &sess_cb, c, n->clock, n->rng, &c->sess);
    pkc_memzero(secrets, sizeof secrets);
    if (rc == 0)
        rc = pkc_session_start(c->sess);
    return rc;
}

static node_chan *chan_new(node_link *l, node_room *r, int initiator)
{
    node_chan *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->link = l;
    c->room = r;
    c->initiator = initiator;
    c->next = l->chans;
    l->chans = c;
    l->had_chan = 1;
    return c;
}

/* Opens a channel for room `r` on our outbound link `l`. */
static int link_open_room(node_link *l, node_room *r, node_invite *v)
{
    node_chan *c = chan_new(l, r, 1);
    if (c == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    c->invite = v;
    pkc_rtc_channel_options o;
    pkc_rtc_channel_options_default(&o);
    int rc = pkc_rtc_channel_new(l->rtc, "pkc", &o, &c->ch);
    if (rc) {
        c->dead = 1;
        return rc;
    }
    pkc_rtc_channel_set_user_data(c->ch, c);
    return 0;
}

/* The listener's answer as its announcement describes it. */
static int build_lite_answer(const node_known *k, char **out)
{
    pkc_cand cands[PKC_SDP_MAX_CANDIDATES];
    size_t nc = 0;
    for (size_t i = 0; i < k->n_addrs && nc < PKC_SDP_MAX_CANDIDATES; i++) {
        pkc_cand *c = &cands[nc];
        memset(c, 0, sizeof *c);
        if (strncmp(k->addrs[i], "udp:", 4) != 0 || pkc_addr_parse(k->addrs[i] + 4, &c->addr))
            continue;
        c->component = 1;
        c->type = PKC_CAND_HOST;
        c->priority = pkc_cand_priority(PKC_CAND_HOST, (uint16_t)(65535 - i), 1);
        snprintf(c->foundation, sizeof c->foundation, "%zu", i + 1);
        nc++;
    }
    pkc_fingerprint fp = {.alg = PKC_HASH_SHA256, .len = 32};
    memcpy(fp.bytes, k->fp, 32);
    return pkc_sdp_write_lite_answer(1, k->ufrag, k->pwd, &fp, NODE_RTC_MESSAGE_MAX, cands, nc,
                                     out);
}

static node_link *link_new(pkc_node *n)
{
    node_link *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->n = n;
    l->state = PKC_RTC_NEW;
    l->created_us = node_now_us(n);
    l->next = n->links;
    n->links = l;
    return l;
}

/* `stun` (room for the servers) receives them rotated by one more place at
 * each attempt: a connection that failed is tried again through another
 * STUN server first. */
static void rtc_config(pkc_node *n, pkc_rtc_config *rc, const char **stun)
{
    pkc_rtc_config_default(rc);
    rc->socket = n->sock;
    rc->cert = n->cert;
    rc->max_message_size = NODE_RTC_MESSAGE_MAX;
    /* A channel per room shared with the peer (NODE_ROOMS_MAX): 64 streams
     * instead of 1024 save about 60 KiB a connection. */
    rc->max_channels = NODE_RTC_CHANNELS;
    size_t k = n->cfg.n_stun_servers;
    if (k && stun) {
        for (size_t i = 0; i < k; i++)
            stun[i] = n->cfg.stun_servers[(i + n->stun_turn) % k];
        n->stun_turn++;
        rc->stun_servers = stun;
        rc->n_stun_servers = k;
    }
}

/* Whether we gave up on a direct connection to `k` for now: the last
 * NODE_DIRECT_FAILURES we dialed never connected (symmetric NATs on both
 * sides, say). The mesh routes around it meanwhile. */
static int direct_held(pkc_node *n, const node_known *k)
{
    return k->direct_failures >= NODE_DIRECT_FAILURES && node_now_us(n) < k->direct_hold_until;
}

/* A link we dialed ended before it connected. */
static void link_failed_direct(node_link *l)
{
    pkc_node *n = l->n;
    node_nat_refresh_soon(n); /* our mapping may have changed */
    if (!l->outbound || l->connected_us || !l->hash_known)
        return;
    node_known *k = node_known_get(n, l->hash);
    if (k == NULL)
        return;
    k->direct_failures++;
    if (k->direct_failures >= NODE_DIRECT_FAILURES) {
        unsigned extra = k->direct_failures - NODE_DIRECT_FAILURES;
        uint64_t hold = (60 * 1000000ull) << (extra < 5 ? extra : 5); /* 1 .. 32 min */
        k->direct_hold_until = node_now_us(n) + hold;
        pkc_logi(LOG, "%s: %u direct connections failed in a row: no direct dial for %llu s "
                      "(the mesh routes to it)",
                 k->peer_id, k->direct_failures, (unsigned long long)(hold / 1000000));
    }
}

/* Dials `k` for room `r`: a new link, or a channel on the one we have.
 * With `v`, the channel proves invitation `v` rather than the room. */
static int dial(pkc_node *n, node_room *r, node_known *k, node_invite *v)
{
    node_link *l = link_find(n, k->hash);
    if (l && !l->outbound && !link_in_use(l)) {
        /* The peer dialed us, but nothing uses that link any more (its
         * channel was refused or closed) and channels are opened by the
         * side that dialed: a link of our own. */
        node_link_close(l, "unused: we dial the peer ourselves");
        l = NULL;
    }
    if (l) {
        if (!l->outbound)
            return 0; /* it dialed us: its channels come to us */
        for (node_chan *c = l->chans; c; c = c->next)
            if (!c->dead && c->room == r)
                return 0;
        return link_open_room(l, r, v);
    }
    if (!k->dialable || k->n_addrs == 0)
        return pkc_error(PKC_ERR_NOT_FOUND, "no address to dial %s", k->peer_id);
    if (direct_held(n, k))
        return pkc_error(PKC_ERR_AGAIN,
                         "%s: %u direct connections failed in a row (a NAT in the way?): not "
                         "dialed for %llu s more; messages reach it through the mesh",
                         k->peer_id, k->direct_failures,
                         (unsigned long long)((k->direct_hold_until - node_now_us(n)) / 1000000));
    uint64_t retry = 0;
    if (pkc_guard_check(n->guard, k->hash, &retry, NULL) != 0)
        return pkc_error(PKC_ERR_BLOCKED, "%s is blocked for %llu ms more: not dialed", k->peer_id,
                         (unsigned long long)retry);
    if (link_forming_from(n, k)) {
        /* Its link may still fail (a lossy path): we look again in a
         * moment (known_tick), and dial if it is gone and has not come. */
        pkc_logd(LOG, "%s is dialing us: no dial of ours for now", k->peer_id);
        k->dial_at = node_now_us(n) + DIAL_YIELD_US;
        memcpy(k->dial_room, r->key.id, sizeof k->dial_room);
        return 0;
    }
    l = link_new(n);
    if (l == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    l->outbound = 1;
    l->hash_known = 1;
    memcpy(l->hash, k->hash, sizeof l->hash);
    memcpy(l->pk, k->pk, sizeof l->pk);
    memcpy(l->peer_id, k->peer_id, sizeof l->peer_id);
    memcpy(l->remote_fp, k->fp, 32);
    pkc_rtc_config cfg;
    const char *stun[16];
    rtc_config(n, &cfg, stun);
    int rc = pkc_rtc_peer_new(n->loop, &cfg, &rtc_cb, l, &l->rtc);
    if (rc) {
        l->dead = 1;
        return rc;
    }
    char *offer = NULL, *answer = NULL;
    if ((rc = link_open_room(l, r, v)) == 0 && (rc = pkc_rtc_peer_create_offer(l->rtc, &offer)) == 0 &&
        (rc = build_lite_answer(k, &answer)) == 0)
        rc = pkc_rtc_peer_set_remote(l->rtc, PKC_RTC_ANSWER, answer);
    free(offer);
    free(answer);
    if (rc) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", pkc_errmsg());
        node_link_close(l, "dial failed");
        return pkc_error(rc, "dialing %s: %s", k->peer_id, msg);
    }
    pkc_logd(LOG, "dialing %s for room %s", k->peer_id, r->id);
    return 0;
}

int node_dial_invite(pkc_node *n, node_room *r, const uint8_t pk[32], const pkc_invite_dial *d,
                     node_invite *v)
{
    node_known *k = node_known_put(n, pk, NULL);
    if (k == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    known_set_dial(n, k, d->ufrag, d->pwd, d->fingerprint);
    for (size_t i = 0; i < d->n_addresses && k->n_addrs < NODE_ADDRS_MAX; i++)
        snprintf(k->addrs[k->n_addrs++], sizeof k->addrs[0], "%s", d->addresses[i]);
    node_link *l = link_find(n, k->hash);
    if (l && !l->outbound && link_in_use(l))
        return pkc_error(PKC_ERR_STATE,
                         "%s is connected to us by a link it dialed: it opens the channels", k->peer_id);
    return dial(n, r, k, v);
}

/* dial(), and the mesh told when it fails (a blocked peer is no error of
 * ours: logged only). */
static void dial_or_fail(pkc_node *n, node_room *r, node_known *k)
{
    int rc = dial(n, r, k, NULL);
    if (rc == 0)
        return;
    if (rc == PKC_ERR_BLOCKED || rc == PKC_ERR_AGAIN)
        pkc_logd(LOG, "%s", pkc_errmsg());
    else
        node_error(n, "%s", pkc_errmsg());
    node_defer(n, W_CONNECT_FAILED, r, k->hash);
}

void node_redial(pkc_node *n, node_link *l, node_known *k)
{
    node_room *r = NULL;
    for (node_chan *c = l->chans; c && r == NULL; c = c->next)
        if (!c->dead && c->room && c->in_mesh)
            r = c->room;
    node_link_close(l, "the peer moved: dialing its new address");
    if (r == NULL)
        return;
    /* From the timer (this may run inside a mesh callback): the meshes
     * hear of the old link's end first. Other rooms come back through
     * their meshes. */
    k->dial_at = node_now_us(n);
    memcpy(k->dial_room, r->key.id, sizeof k->dial_room);
    node_reschedule(n);
}

void node_link_close(node_link *l, const char *why)
{
    if (l->dead)
        return;
    pkc_logd(LOG, "closing the link to %s: %s", l->peer_id[0] ? l->peer_id : "?", why);
    for (node_chan *c = l->chans; c; c = c->next) {
        if (c->sess && pkc_session_get_state(c->sess) != PKC_SESSION_CLOSED)
            pkc_session_close(c->sess, PKC_REASON_SHUTDOWN, why);
        chan_dead(c);
    }
    l->dead = 1;
    if (l->rtc)
        pkc_rtc_peer_close(l->rtc);
}

/* ---- rtc callbacks ------------------------------------------------------------------------------ */

static void on_rtc_state(void *ud, pkc_rtc_peer *peer, pkc_rtc_state st)
{
    (void)peer;
    node_link *l = ud;
    l->state = st;
    if (st == PKC_RTC_CONNECTED && !l->connected_us) {
        l->connected_us = node_now_us(l->n);
        node_known *k = l->hash_known ? node_known_get(l->n, l->hash) : NULL;
        if (k)
            k->direct_failures = 0;
    }
    if (st == PKC_RTC_FAILED && !l->dead)
        link_failed_direct(l);
    if (st == PKC_RTC_DISCONNECTED)
        node_nat_refresh_soon(l->n); /* did our mapping change? */
    if (st == PKC_RTC_FAILED || st == PKC_RTC_CLOSED) {
        /* A peer that leaves closes its connection: only a failure is an error. */
        if (!l->dead && st == PKC_RTC_FAILED)
            node_error(l->n, "connection to %s failed", l->peer_id[0] ? l->peer_id : "a peer");
        else if (!l->dead)
            pkc_logi(LOG, "connection to %s closed", l->peer_id[0] ? l->peer_id : "a peer");
        node_link_close(l, "connection closed");
    }
}

static void on_rtc_channel(void *ud, pkc_rtc_peer *peer, pkc_rtc_channel *ch)
{
    (void)peer;
    node_link *l = ud;
    if (l->dead || l->outbound) {
        /* We open the channels of links we dialed; a peer that opens one
         * there breaks the rule. */
        pkc_rtc_channel_close(ch);
        return;
    }
    node_chan *c = chan_new(l, NULL, 0);
    if (c == NULL) {
        pkc_rtc_channel_close(ch);
        return;
    }
    c->ch = ch;
    pkc_rtc_channel_set_user_data(ch, c);
    if (chan_start_session(c) != 0) {
        node_error(l->n, "session: %s", pkc_errmsg());
        chan_dead(c);
        pkc_rtc_channel_close(ch);
        c->ch = NULL;
    }
}

static void on_rtc_open(void *ud, pkc_rtc_channel *ch)
{
    (void)ud;
    node_chan *c = pkc_rtc_channel_get_user_data(ch);
    if (c == NULL || c->dead)
        return;
    if (chan_start_session(c) != 0) {
        node_error(c->link->n, "session: %s", pkc_errmsg());
        chan_dead(c);
        pkc_rtc_channel_close(ch);
    }
}

/* The handshake's records by name, for the debug log: where a connection
 * that does not come up stopped (docs/node.md, "Connections"). */
static const char *hs_record_name(const uint8_t *record, size_t len)
{
    static const char *const names[] = {"?", "HELLO", "WELCOME", "AUTH", "ACCEPT", "REFUSE"};
    return len && record[0] >= PKC_REC_HELLO && record[0] <= PKC_REC_REFUSE ? names[record[0]]
                                                                             : NULL;
}

/* A link's peer for the log: its id, or "a peer at ADDRESS" for a link that
 * reached us and has not said who it is yet. */
static const char *link_name(node_link *l)
{
    static _Thread_local char buf[LINK_ADDR_MAX + 16];
    if (l->hash_known || l->outbound || l->rtc == NULL)
        return l->peer_id[0] ? l->peer_id : "a peer";
    char text[LINK_ADDR_MAX];
    link_remote(l, text, sizeof text);
    snprintf(buf, sizeof buf, "a peer at %s", text[0] ? text : "?");
    return buf;
}

static void on_rtc_message(void *ud, pkc_rtc_channel *ch, const uint8_t *data, size_t len,
                           int binary)
{
    (void)ud;
    (void)binary;
    node_chan *c = pkc_rtc_channel_get_user_data(ch);
    if (c == NULL || c->dead || c->sess == NULL)
        return;
    const char *name = hs_record_name(data, len);
    if (name)
        pkc_logd(LOG, "handshake with %s: %s received", link_name(c->link), name);
    int rc = pkc_session_receive(c->sess, data, len);
    if (rc && rc != PKC_ERR_CLOSED)
        pkc_logd(LOG, "record from %s dropped: %s", link_name(c->link), pkc_errmsg());
    node_reschedule(c->link->n);
}

static void on_rtc_close(void *ud, pkc_rtc_channel *ch)
{
    (void)ud;
    node_chan *c = pkc_rtc_channel_get_user_data(ch);
    if (c == NULL)
        return;
    c->ch = NULL;
    chan_dead(c);
}

/* A peer's check reached our listener from the address of a peer we are
 * dialing: both dialed at once. The two connections would share one pair
 * of UDP ports, where DTLS cannot tell them apart, so one must go before
 * DTLS starts: the one dialed by the greater id (each side decides the
 * same). Returns 1 if the new connection is to be refused. */
static int crossed_dial(pkc_node *n, pkc_rtc_peer *peer)
{
    pkc_rtc_stats st;
    pkc_addr from;
    pkc_rtc_peer_get_stats(peer, &st);
    if (pkc_addr_parse(st.remote_address, &from) != 0)
        return 0;
    uint8_t self[PKC_PEER_ID_HASH_BYTES];
    self_hash(n, self);
    for (node_link *o = n->links; o; o = o->next) {
        if (o->dead || !o->outbound || o->connected_us)
            continue; /* a link that works is not crossed: the peer restarted */
        const node_known *k = node_known_get(n, o->hash);
        if (k == NULL || !known_at(k, &from))
            continue;
        if (hash_less(self, o->hash)) {
            pkc_logd(LOG, "%s dialed us while we dial it: ours is kept", o->peer_id);
            return 1;
        }
        pkc_logd(LOG, "%s dialed us while we dial it: its dial is kept", o->peer_id);
        node_link_close(o, "crossed dials: the smaller id's is kept");
        return 0;
    }
    return 0;
}

static void on_rtc_incoming(void *ud, pkc_rtc_peer *peer)
{
    pkc_node *n = ud;
    if (crossed_dial(n, peer)) {
        pkc_rtc_peer_free(peer);
        return;
    }
    node_link *l = link_new(n);
    if (l == NULL) {
        pkc_rtc_peer_close(peer);
        return;
    }
    l->rtc = peer;
    pkc_rtc_peer_set_user_data(peer, l);
}

static const pkc_rtc_callbacks rtc_cb = {
    .state = on_rtc_state,
    .channel = on_rtc_channel,
    .open = on_rtc_open,
    .message = on_rtc_message,
    .close = on_rtc_close,
    .incoming = on_rtc_incoming,
};

/* ---- session callbacks -------------------------------------------------------------------------- */

static int on_sess_send(void *ud, const uint8_t *record, size_t len)
{
    node_chan *c = ud;
    if (c->ch == NULL)
        return PKC_ERR_CLOSED;
    const char *name = hs_record_name(record, len);
    if (name)
        pkc_logd(LOG, "handshake with %s: %s sent", link_name(c->link), name);
    return pkc_rtc_channel_send(c->ch, record, len, 1);
}

/* The mesh's address tag of a peer (co-location penalty, inbound limit per
 * address): its IP address as text, compared whole, so at most two inbound
 * neighbours per other host; on loopback the whole "IP:port", since every
 * node of this host has the same IP there. */
static void addr_tag(node_link *l, char *out, size_t cap)
{
    link_remote(l, out, cap);
    if (out[0] == 0)
        return;
    pkc_addr a;
    if (pkc_addr_parse(out, &a) == 0 && pkc_addr_is_loopback(&a))
        return;
    char *colon = strrchr(out, ':');
    if (colon)
        *colon = 0;
}

/* Our signed announcement, first thing on a new session: the peer learns
 * our X25519 key (to seal direct messages to us) even if it never heard
 * our LAN announcement. */
static void send_announce(node_chan *c)
{
    pkc_node *n = c->link->n;
    const char *addrs[NODE_ADDRS_MAX];
    pkc_announce_params p;
    memset(&p, 0, sizeof p);
    p.timestamp_ms = (uint64_t)node_wall_ms(n);
    p.addresses = addrs;
    p.n_addresses = node_dial_addrs(n, addrs, NODE_ADDRS_MAX);
    uint8_t *frame = NULL;
    size_t len = 0;
    if (pkc_announce_create(n->id, &p, &frame, &len) != 0 ||
        pkc_session_send_encoded(c->sess, frame, len) != 0)
        pkc_logd(LOG, "announcement to %s not sent: %s", c->link->peer_id, pkc_errmsg());
    free(frame);
}

/* The mesh's last refusal (pkc_errmsg()) in words for the peer and the log:
 * without its "mesh: " prefix. */
static void mesh_words(char *why, size_t cap)
{
    const char *e = pkc_errmsg();
    snprintf(why, cap, "%s", strncmp(e, "mesh: ", 6) == 0 ? e + 6 : e);
}

/* The room whose secret, or the invitation whose token, the peer proved
 * on our (the responder's) channel `c`: the room, or NULL; the invitation,
 * if it was one, in *v. */
static node_room *proved_room(node_chan *c, int proof_key, node_invite **v)
{
    pkc_node *n = c->link->n;
    *v = NULL;
    if (proof_key < 0 || proof_key >= NODE_ROOMS_MAX + NODE_INVITES_MAX)
        return NULL;
    const uint8_t *pid = c->proof_ids[proof_key];
    if (!c->proof_is_invite[proof_key])
        return node_room_by_id(n, pid);
    if ((*v = node_invite_find(n, pid)) == NULL)
        return NULL;
    return node_room_by_id(n, (*v)->offer.room_id);
}

/* Responder, before ACCEPT: an invitation that no longer admits (expired,
 * used), or a peer the room's mesh would not take now (full, the peer
 * banned, its address prefix crowded) is refused in the handshake,
 * so that neither side ever counts it as connected. Accepted and then
 * dropped, it took the dialer's one slot for a moment: the dialer (max-peers
 * 1) refused a peer with room that dialed it meanwhile, and connected to
 * that peer a second later (node.full_peer). Whatever needs the link
 * (another link from the same peer: replaced or crossed) is left to
 * on_sess_established. */
static int on_sess_admit(void *ud, pkc_session *s, uint64_t *reason, char *why, size_t cap)
{
    node_chan *c = ud;
    node_link *l = c->link;
    pkc_node *n = l->n;
    pkc_session_info si;
    pkc_session_get_info(s, &si);
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    node_invite *v;
    node_room *r = proved_room(c, si.proof_key, &v);
    if (v && node_invite_check(n, v, why, cap) != 0) {
        /* Its own words first (expired, used), as on_sess_established
         * would say them. */
        *reason = PKC_REASON_UNAUTHORIZED;
        return 1;
    }
    if (r == NULL || r->mesh == NULL || pkc_peer_id_parse(si.peer_id, hash) != 0)
        return 0;
    node_link *other = link_find(n, hash);
    if (other && other != l)
        return 0;
    char tag[64];
    addr_tag(l, tag, sizeof tag);
    int rc = pkc_mesh_peer_acceptable(r->mesh, hash, (const uint8_t *)tag, strlen(tag));
    if (rc == 0 || rc == PKC_ERR_MESH_BUSY)
        return 0;
    mesh_words(why, cap);
    pkc_logi(LOG, "mesh of room %s does not take %s: %s (refused in the handshake)", r->id,
             si.peer_id, why);
    *reason = PKC_REASON_NONE;
    c->mesh_bye = 1;
    return 1;
}

static void on_sess_established(void *ud, pkc_session *s)
{
    node_chan *c = ud;
    node_link *l = c->link;
    pkc_node *n = l->n;
    pkc_session_info si;
    pkc_session_get_info(s, &si);
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    if (pkc_peer_id_parse(si.peer_id, hash) != 0) {
        pkc_session_close(s, PKC_REASON_PROTOCOL, "bad peer id");
        return;
    }
    if (!l->hash_known) {
        /* An inbound link. A peer that dials us again while we hold a
         * link to it has restarted (or lost that link without our
         * noticing yet): the new, authenticated connection replaces the
         * old one, which would otherwise linger until it times out. */
        node_link *other = link_find(n, hash);
        uint8_t self[PKC_PEER_ID_HASH_BYTES];
        self_hash(n, self);
        if (other && other != l && hash_less(self, hash) &&
            link_wins_crossing(other, node_now_us(n))) {
            /* Crossed dials: the link we (the smaller id) dialed wins on
             * both sides; the peer drops this one when ours reaches it. */
            pkc_logd(LOG, "%s dialed us while we dial it: our link is kept", si.peer_id);
            pkc_session_close(s, PKC_REASON_NONE, "crossed dials: the smaller id's link is kept");
            l->hash_known = 1;
            memcpy(l->hash, hash, sizeof hash);
            memcpy(l->peer_id, si.peer_id, sizeof l->peer_id);
            node_link_close(l, "crossed dials");
            return;
        }
        if (other && other != l) {
            pkc_logi(LOG, "%s connected again: its new connection replaces the old one",
                     si.peer_id);
            node_link_close(other, "replaced by a new connection");
            /* The meshes hear of the old link's end before the new one
             * is offered to them (this runs outside any mesh callback). */
            node_work_run(n);
        }
        l->hash_known = 1;
        memcpy(l->hash, hash, sizeof hash);
        memcpy(l->pk, si.peer_public_key, 32);
        memcpy(l->peer_id, si.peer_id, sizeof l->peer_id);
    } else if (memcmp(l->hash, hash, sizeof hash) != 0) {
        pkc_session_close(s, PKC_REASON_WRONG_PEER, "another peer on this connection");
        return;
    }
    if (!c->initiator) {
        node_room *r = proved_room(c, si.proof_key, &c->invite);
        if (c->invite) {
            /* Checked now; used (or the join completed) once the room's
             * mesh takes the peer, below. */
            char why[200];
            if (node_invite_check(n, c->invite, why, sizeof why) != 0) {
                pkc_session_close(s, PKC_REASON_UNAUTHORIZED, why);
                return;
            }
        }
        if (r == NULL) {
            pkc_session_close(s, PKC_REASON_UNAUTHORIZED, "no room");
            return;
        }
        for (node_chan *o = l->chans; o; o = o->next)
            if (o != c && !o->dead && o->room == r) {
                pkc_session_close(s, PKC_REASON_PROTOCOL, "a channel for this room exists");
                return;
            }
        c->room = r;
    }
    c->established = 1;
    if (node_known_get(n, hash) == NULL)
        node_known_put(n, si.peer_public_key, NULL);
    node_room *r = c->room;
    if (r->mesh == NULL) {
        pkc_session_close(s, PKC_REASON_SHUTDOWN, "room not running");
        return;
    }
    char tag[64];
    addr_tag(l, tag, sizeof tag);
    c->joining = 1;
    int rc = pkc_mesh_peer_connected(r->mesh, hash, (const uint8_t *)tag, strlen(tag));
    c->joining = 0;
    if (c->dead)
        return; /* ended inside the call: chan_dead() told the mesh */
    if (rc) {
        /* Why, in the log and to the peer: full, or the peer banned (its
         * score fell below the disconnect threshold), ... */
        char why[200];
        mesh_words(why, sizeof why);
        pkc_logi(LOG, "mesh of room %s did not take %s: %s", r->id, l->peer_id, why);
        c->mesh_bye = 1;
        pkc_session_close(s, PKC_REASON_NONE, why);
        return;
    }
    if (!c->initiator && c->invite) {
        char why[200];
        if (node_invite_admit(n, c->invite, si.peer_id, why, sizeof why) != 0) {
            c->mesh_bye = 1;
            pkc_mesh_peer_disconnected(r->mesh, hash);
            pkc_session_close(s, PKC_REASON_UNAUTHORIZED, why);
            return;
        }
    }
    c->in_mesh = 1;
    n->total_connections++;
    /* The event first: if a send below ends the session, chan_dead()
     * reports its end after it, never before. */
    peer_event(n, l, r, 1);
    send_announce(c);
    if (c->dead)
        return;
    if (n->cfg.sync)
        node_doc_sync_start(c);
    node_outbox_flush(n, hash);
}

static void on_sess_frame(void *ud, pkc_session *s, const pkc_frame *f)
{
    node_chan *c = ud;
    if (c->initiator && c->invite && !c->invite_confirmed && !c->dead) {
        /* Our proof of an invitation is accepted once the peer, which
         * checked it (time, use) after its handshake, talks to us. */
        char why[200];
        c->invite_confirmed = 1;
        if (node_invite_admit(c->link->n, c->invite, c->link->peer_id, why, sizeof why) != 0) {
            pkc_session_close(s, PKC_REASON_NONE, why);
            return;
        }
    }
    if (c->dead || c->room == NULL || !c->in_mesh)
        return;
    if (f->type == PKC_FRAME_ANNOUNCE) {
        /* The peer's own announcement: its X25519 key, checked. */
        const pkc_announce *a = &f->announce;
        if (memcmp(a->public_key, c->link->pk, PKC_PUBLIC_KEY_BYTES) == 0 &&
            pkc_announce_verify(a, node_wall_ms(c->link->n), 3600000, 30000, 0) == 0)
            node_known_put(c->link->n, a->public_key, a->dh_public_key);
        return;
    }
    if (f->type == PKC_FRAME_MESH) {
        int rc = pkc_mesh_receive(c->room->mesh, c->link->hash, f->mesh.data, f->mesh.len);
        if (rc && rc != PKC_ERR_MESH_BUSY)
            pkc_logd(LOG, "mesh message from %s dropped: %s", c->link->peer_id, pkc_errmsg());
    } else if (f->type == PKC_FRAME_SYNC && c->link->n->cfg.sync) {
        node_doc_sync_frame(c, &f->sync);
    }
}

static void on_sess_closed(void *ud, pkc_session *s, const pkc_session_end *end)
{
    (void)s;
    node_chan *c = ud;
    if (end->error && !c->mesh_bye)
        pkc_logd(LOG, "session with %s ended: %s", link_name(c->link),
                 end->text);
    if (c->initiator && c->invite && !c->invite_confirmed && end->by_peer)
        node_invite_refused(c->link->n, c->invite, c->link->peer_id, end->text);
    chan_dead(c);
    if (c->ch) {
        pkc_rtc_channel_close(c->ch);
    }
}

static const pkc_session_callbacks sess_cb = {
    .send = on_sess_send,
    .admit = on_sess_admit,
    .established = on_sess_established,
    .frame = on_sess_frame,
    .closed = on_sess_closed,
};

int node_chan_send_frame(node_chan *c, const pkc_frame *f)
{
    if (c->dead || c->sess == NULL)
        return pkc_error(PKC_ERR_CLOSED, "channel closed");
    return pkc_session_send(c->sess, f);
}

/* ---- mesh transport callbacks ------------------------------------------------------------------- */

/* At log level trace: every mesh message we send (our own and those we
 * forward for others), as hex in parts of 192 bytes, numbered, so that a
 * test can read what a relaying node had in hand (docs/node.md). */
static void trace_mesh_out(pkc_node *n, const char *peer_id, const uint8_t *data, size_t len)
{
    static const char hx[] = "0123456789abcdef";
    uint64_t seq = ++n->mesh_trace_seq;
    for (size_t off = 0; off < len; off += 192) {
        char hex[2 * 192 + 1];
        size_t k = len - off < 192 ? len - off : 192;
        for (size_t i = 0; i < k; i++) {
            hex[2 * i] = hx[data[off + i] >> 4];
            hex[2 * i + 1] = hx[data[off + i] & 15];
        }
        hex[2 * k] = 0;
        pkc_logt(LOG, "mesh out %llu to %s len %zu at %zu: %s", (unsigned long long)seq, peer_id,
                 len, off, hex);
    }
}

static void mesh_send(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    node_room *r = ud;
    node_chan *c = node_chan_find(r->n, r, peer);
    if (c == NULL || !c->established)
        return;
    if (pkc_log_enabled(PKC_LOG_TRACE))
        trace_mesh_out(r->n, c->link->peer_id, data, len);
    pkc_frame f;
    memset(&f, 0, sizeof f);
    f.type = PKC_FRAME_MESH;
    f.mesh.data = data;
    f.mesh.len = len;
    if (pkc_session_send(c->sess, &f) != 0)
        pkc_logd(LOG, "mesh message to %s not sent: %s", c->link->peer_id, pkc_errmsg());
}

static void mesh_connect(void *ud, const uint8_t *peer, pkc_mesh_connect_mode mode)
{
    node_room *r = ud;
    pkc_node *n = r->n;
    uint8_t self[PKC_PEER_ID_HASH_BYTES];
    self_hash(n, self);
    node_known *k = node_known_get(n, peer);
    if (k && direct_held(n, k)) {
        /* We gave up on a direct path to it for now (our dials never
         * connected): no signal, no dial. The mesh's attempt times out
         * (15 s) instead of failing at once, which would make it ask
         * again at once; messages reach the peer through the mesh. */
        pkc_logd(LOG, "%s: no direct connection tried for %llu s more", k->peer_id,
                 (unsigned long long)((k->direct_hold_until - node_now_us(n)) / 1000000));
        return;
    }
    /* A connection set up through the mesh (INITIATE on the side that
     * asked, RESPOND on the other): each side tells the other how to dial
     * it, in a signal the mesh authenticates end to end. */
    if (mode != PKC_MESH_CONNECT_DIAL)
        node_defer(n, W_SIGNAL, r, peer);
    if (!hash_less(self, peer)) {
        /* The peer dials us (the smaller id dials); its connection will
         * answer this request. A dial the mesh asked for on its own (no
         * signal told the peer) may never come: the peer may be full or
         * want nobody. We dial after DIAL_YIELD_US if its link has not
         * arrived (node_links_tick). */
        if (mode == PKC_MESH_CONNECT_DIAL && k && k->dialable) {
            k->dial_at = node_now_us(n) + DIAL_YIELD_US;
            memcpy(k->dial_room, r->key.id, sizeof k->dial_room);
        }
        return;
    }
    if (k == NULL || !k->dialable) {
        /* No dial information yet: it comes with the peer's signal. */
        if (mode == PKC_MESH_CONNECT_DIAL)
            node_defer(n, W_CONNECT_FAILED, r, peer);
        return;
    }
    dial_or_fail(n, r, k);
}

/* ---- dial information through the mesh ---------------------------------------------------------- */

#define DIAL_MAGIC "pkcd"
#define DIAL_VERSION 1

/* Our listener's dial information, for `peer`, through the room's mesh
 * (docs/protocol.md, "Dial information"). */
void node_signal_dial_info(pkc_node *n, node_room *r, const uint8_t *peer)
{
    if (r->mesh == NULL || n->n_laddrs == 0)
        return;
    pkc_buf b;
    pkc_buf_init(&b);
    pkc_buf_push(&b, DIAL_MAGIC, 4);
    pkc_buf_push_u8(&b, DIAL_VERSION);
    pkc_buf_push(&b, pkc_identity_get_public_key(n->id), 32);
    pkc_buf_push(&b, pkc_identity_get_dh_public_key(n->id), 32);
    pkc_buf_push(&b, n->cert_fp, 32);
    pkc_buf_push_cstring(&b, n->lufrag);
    pkc_buf_push_cstring(&b, n->lpwd);
    /* Host addresses, then the reflexive ones (what a peer behind another
     * NAT can reach). */
    const char *addrs[NODE_ADDRS_MAX];
    size_t count = node_dial_addrs(n, addrs, NODE_ADDRS_MAX);
    pkc_buf_push_varuint(&b, count);
    for (size_t i = 0; i < count; i++)
        pkc_buf_push_cstring(&b, addrs[i]);
    if (b.err == 0 && pkc_mesh_signal(r->mesh, peer, b.data, b.len) != 0)
        pkc_logd(LOG, "dial information not signaled: %s", pkc_errmsg());
    pkc_buf_free(&b);
}

static void mesh_signal(void *ud, const uint8_t *peer, const uint8_t *data, size_t len)
{
    node_room *r = ud;
    pkc_node *n = r->n;
    pkc_reader rd;
    pkc_reader_init(&rd, data, len);
    const uint8_t *magic, *pk, *dh, *fp;
    uint8_t version;
    const char *ufrag, *pwd;
    size_t ufrag_len, pwd_len;
    uint64_t count;
    if (pkc_reader_bytes(&rd, 4, &magic) || memcmp(magic, DIAL_MAGIC, 4) != 0 ||
        pkc_reader_u8(&rd, &version) || version != DIAL_VERSION || pkc_reader_bytes(&rd, 32, &pk) ||
        pkc_reader_bytes(&rd, 32, &dh) || pkc_reader_bytes(&rd, 32, &fp) ||
        pkc_reader_varstring(&rd, &ufrag, &ufrag_len) ||
        pkc_reader_varstring(&rd, &pwd, &pwd_len) ||
        !pkc_lan_ice_string_valid((const uint8_t *)ufrag, ufrag_len, 4, 256) ||
        !pkc_lan_ice_string_valid((const uint8_t *)pwd, pwd_len, 22, 256) ||
        pkc_reader_varuint_max(&rd, NODE_ADDRS_MAX, &count) != 0) {
        pkc_logd(LOG, "room %s: a signal that is not dial information, dropped", r->id);
        return;
    }
    char addrs[NODE_ADDRS_MAX][64];
    for (uint64_t i = 0; i < count; i++) {
        const char *a;
        size_t al;
        if (pkc_reader_varstring(&rd, &a, &al) || al >= sizeof addrs[0] ||
            !pkc_lan_address_valid(a, al)) {
            pkc_logd(LOG, "room %s: dial information with a bad address, dropped", r->id);
            return;
        }
        memcpy(addrs[i], a, al);
        addrs[i][al] = 0;
    }
    if (pkc_reader_finish(&rd) != 0)
        return;
    /* The mesh checked that `peer` signed this; the key must be peer's. */
    char id[PKC_PEER_ID_SIZE];
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_from_public_key(pk, id);
    if (pkc_peer_id_parse(id, hash) != 0 || memcmp(hash, peer, sizeof hash) != 0) {
        node_error(n, "room %s: dial information whose key is not its sender's", r->id);
        return;
    }
    node_known *k = node_known_put(n, pk, dh);
    if (k == NULL)
        return;
    k->dialable = 1;
    snprintf(k->ufrag, sizeof k->ufrag, "%.*s", (int)ufrag_len, ufrag);
    snprintf(k->pwd, sizeof k->pwd, "%.*s", (int)pwd_len, pwd);
    memcpy(k->fp, fp, 32);
    k->n_addrs = (size_t)count;
    for (size_t i = 0; i < k->n_addrs; i++)
        memcpy(k->addrs[i], addrs[i], sizeof addrs[i]);
    pkc_logd(LOG, "room %s: dial information of %s signaled through the mesh", r->id, id);
    k->heard_us = node_now_us(n);
    uint8_t self[PKC_PEER_ID_HASH_BYTES];
    self_hash(n, self);
    if (!hash_less(self, peer)) {
        /* The peer dials us: open our NAT to the addresses it signaled
         * (authenticated), unless we gave up on a direct path to it. */
        if (!direct_held(n, k) && link_find(n, k->hash) == NULL)
            node_nat_punch(n, k);
        return;
    }
    if (node_chan_find(n, r, peer) == NULL) {
        int rc = dial(n, r, k, NULL);
        if (rc == PKC_ERR_AGAIN)
            pkc_logd(LOG, "%s", pkc_errmsg());
        else if (rc)
            node_error(n, "%s", pkc_errmsg());
    }
}

static void mesh_disconnect(void *ud, const uint8_t *peer, pkc_mesh_disconnect_reason reason)
{
    node_room *r = ud;
    node_link *l = link_find(r->n, peer);
    if (l == NULL)
        return;
    for (node_chan *c = l->chans; c; c = c->next)
        if (!c->dead && c->room == r) {
            c->mesh_bye = 1;
            if (c->sess)
                pkc_session_close(c->sess,
                                  reason == PKC_MESH_BYE_LEAVING ? PKC_REASON_SHUTDOWN
                                                                 : PKC_REASON_NONE,
                                  "mesh");
            chan_dead(c);
        }
}

const pkc_mesh_callbacks node_mesh_callbacks = {
    .send = mesh_send,
    .deliver = node_mesh_deliver,
    .validate = node_mesh_validate,
    .direct = node_mesh_direct,
    .connect = mesh_connect,
    .signal = mesh_signal,
    .disconnect = mesh_disconnect,
};

/* ---- timers and reaping ------------------------------------------------------------------------- */

/* Dials planned by mesh_connect whose peer did not dial us first. */
static void known_tick(pkc_node *n, uint64_t now, uint64_t *deadline)
{
    for (node_known *k = n->known; k; k = k->next) {
        if (!k->dial_at)
            continue;
        if (deadline) {
            if (k->dial_at < *deadline)
                *deadline = k->dial_at;
            continue;
        }
        if (now < k->dial_at)
            continue;
        k->dial_at = 0;
        node_room *r = node_room_by_id(n, k->dial_room);
        node_link *l = link_find(n, k->hash);
        if (r == NULL || r->mesh == NULL || (l && link_in_use(l)))
            continue; /* the room is gone, or the peer's link came */
        pkc_logd(LOG, "%s has not dialed us: dialing it", k->peer_id);
        dial_or_fail(n, r, k);
    }
}

void node_links_tick(pkc_node *n, uint64_t now, uint64_t *deadline)
{
    known_tick(n, now, deadline);
    node_nat_tick(n, now, deadline);
    for (node_link *l = n->links; l; l = l->next) {
        if (l->dead)
            continue;
        uint64_t limit = l->created_us + LINK_CONNECT_TIMEOUT_US;
        if (!l->connected_us) {
            if (deadline) {
                if (limit < *deadline)
                    *deadline = limit;
            } else if (now >= limit) {
                link_failed_direct(l);
                node_link_close(l, "connection timed out");
                continue;
            }
        }
        for (node_chan *c = l->chans; c; c = c->next) {
            if (c->dead || c->sess == NULL)
                continue;
            uint64_t d = pkc_session_get_deadline(c->sess);
            if (deadline) {
                if (d < *deadline)
                    *deadline = d;
            } else if (d <= now) {
                pkc_session_tick(c->sess);
            }
        }
    }
}

void node_links_reap(pkc_node *n)
{
    uint64_t now = node_now_us(n);
    node_link **pl = &n->links;
    while (*pl) {
        node_link *l = *pl;
        node_chan **pc = &l->chans;
        int live = 0;
        while (*pc) {
            node_chan *c = *pc;
            if (c->dead) {
                *pc = c->next;
                if (c->ch) {
                    pkc_rtc_channel_set_user_data(c->ch, NULL);
                    pkc_rtc_channel_close(c->ch);
                }
                pkc_session_free(c->sess);
                node_sync_frag_reset(&c->frag);
                free(c);
                continue;
            }
            live++;
            pc = &c->next;
        }
        if (!l->dead && live == 0 && l->connected_us && now - l->connected_us > LINK_IDLE_US)
            node_link_close(l, "no room in common");
        if (l->dead) {
            *pl = l->next;
            if (l->rtc) {
                pkc_rtc_peer_set_user_data(l->rtc, NULL);
                pkc_rtc_peer_free(l->rtc);
            }
            free(l);
            continue;
        }
        pl = &l->next;
    }
}

/* ---- start and stop ----------------------------------------------------------------------------- */

static void lan_send(void *ud, pkc_lan *lan, const uint8_t *data, size_t len)
{
    (void)lan;
    pkc_node *n = ud;
    if (n->lan_io)
        pkc_lan_io_send(n->lan_io, data, len);
}

static int lan_answer(void *ud, pkc_lan *lan, const uint8_t *data, size_t len)
{
    (void)lan;
    pkc_node *n = ud;
    return n->lan_io ? pkc_lan_io_answer(n->lan_io, data, len) : 0;
}

static void lan_receive(void *ud, const uint8_t *data, size_t len, const struct sockaddr *from)
{
    pkc_node *n = ud;
    const uint8_t *src;
    size_t src_len;
    if (from->sa_family == AF_INET) {
        src = (const uint8_t *)&((const struct sockaddr_in *)from)->sin_addr;
        src_len = 4;
    } else {
        src = (const uint8_t *)&((const struct sockaddr_in6 *)from)->sin6_addr;
        src_len = 16;
    }
    (void)pkc_lan_receive(n->lan, data, len, src, src_len);
    node_reschedule(n);
}

static int listener_info(pkc_node *n)
{
    pkc_sdp *d = calloc(1, sizeof *d);
    if (d == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = pkc_sdp_parse(n->listener_sdp, strlen(n->listener_sdp), d);
    if (rc == 0) {
        snprintf(n->lufrag, sizeof n->lufrag, "%s", d->ice_ufrag);
        snprintf(n->lpwd, sizeof n->lpwd, "%s", d->ice_pwd);
        memcpy(n->cert_fp, d->fingerprint.bytes, 32);
        n->n_laddrs = 0;
        for (size_t i = 0; i < d->n_cands && n->n_laddrs < NODE_ADDRS_MAX; i++) {
            if (pkc_addr_is_link_local(&d->cands[i].addr))
                continue;
            char a[PKC_ADDR_STRLEN];
            snprintf(n->laddrs[n->n_laddrs++], sizeof n->laddrs[0], "udp:%s",
                     pkc_addr_string(&d->cands[i].addr, a, sizeof a));
        }
    }
    free(d);
    return rc;
}

int node_net_start(pkc_node *n)
{
    int rc = pkc_rtc_cert_load_or_create(n->data_dir, &n->cert, NULL);
    if (rc)
        return rc;
    pkc_rtc_socket_config sc;
    pkc_rtc_socket_config_default(&sc);
    sc.port_min = sc.port_max = n->cfg.port;
    if ((rc = pkc_rtc_socket_new(n->loop, &sc, &n->sock)))
        return rc;
    pkc_rtc_config cfg;
    rtc_config(n, &cfg, NULL);
    if ((rc = pkc_rtc_listen(n->sock, &cfg, &rtc_cb, n, &n->listener_sdp)) ||
        (rc = listener_info(n)) || (rc = node_nat_start(n)))
        return rc;
    if (n->cfg.lan) {
        pkc_lan_callbacks lc = {lan_send, node_lan_found, lan_answer};
        if ((rc = pkc_lan_new(NULL, &lc, n, n->id, n->clock, n->rng, &n->lan)))
            return rc;
        const char *addrs[NODE_ADDRS_MAX];
        for (size_t i = 0; i < n->n_laddrs; i++)
            addrs[i] = n->laddrs[i];
        if ((rc = pkc_lan_set_listener(n->lan, addrs, n->n_laddrs, n->lufrag, n->lpwd,
                                       n->cert_fp)))
            return rc;
        if (pkc_lan_io_start(n->loop, NULL, lan_receive, n, &n->lan_io) != 0) {
            node_error(n, "LAN discovery off: %s", pkc_errmsg());
            pkc_lan_free(n->lan);
            n->lan = NULL;
        }
    }
    for (node_room *r = n->rooms; r; r = r->next)
        if ((rc = node_room_start(n, r)))
            return rc;
    pkc_logi(LOG, "%s listening on UDP port %u", pkc_identity_get_peer_id(n->id),
             pkc_rtc_socket_get_port(n->sock));
    return 0;
}

void node_net_stop(pkc_node *n)
{
    for (node_link *l = n->links; l; l = l->next)
        node_link_close(l, "shutting down");
    /* Let the DISCONNECTs leave. */
    pkc_loop_dispatch_pending(n->loop);
    pkc_rtc_socket_flush();
    node_links_reap(n);
    pkc_lan_io_stop(n->lan_io);
    n->lan_io = NULL;
    pkc_lan_free(n->lan);
    n->lan = NULL;
    node_nat_stop(n);
    pkc_rtc_socket_free(n->sock);
    n->sock = NULL;
    free(n->listener_sdp);
    n->listener_sdp = NULL;
    pkc_rtc_cert_free(n->cert);
    n->cert = NULL;
}
