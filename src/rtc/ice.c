/* ice.c: the ICE agent (RFC 8445) with consent freshness (RFC 7675). */
#include "rtc/ice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"
#include "rtc/sdp.h"

#define LOG "rtc"
#define NONE UINT64_MAX

typedef enum pair_state {
    PAIR_WAITING = 0,
    PAIR_IN_PROGRESS,
    PAIR_SUCCEEDED,
    PAIR_FAILED,
} pair_state;

typedef struct local_cand {
    pkc_cand c;
    int advertised; /* host or srflx in descriptions; 0 for bases we found */
    int usable;     /* a base that checks are sent from (host or found) */
} local_cand;

typedef struct remote_cand {
    pkc_cand c;
    int seen; /* sent us an authenticated check or answered one */
    uint64_t last_request; /* lite: when its last authenticated check came */
} remote_cand;

typedef struct ice_pair {
    uint8_t local, remote;
    pair_state state;
    uint64_t priority;
    uint8_t txid[PKC_STUN_TXID_SIZE];
    uint64_t next_tx;
    uint32_t rto;
    uint8_t tries;
    uint8_t queued;              /* in the triggered-check queue */
    uint8_t nominating;          /* the check in flight carries USE-CANDIDATE */
    uint8_t nominate_on_success; /* controlled: USE-CANDIDATE arrived early */
    uint8_t nominated;
} ice_pair;

typedef struct stun_server {
    pkc_addr addr;
    uint8_t txid[PKC_STUN_TXID_SIZE];
    uint64_t next_tx;
    uint32_t rto;
    uint8_t tries;
    uint8_t done;
} stun_server;

#define CONSENT_TX 4

struct pkc_ice_agent {
    pkc_ice_config cfg;
    pkc_ice_callbacks cb;
    const pkc_rng *rng;
    pkc_ice_state state;
    int controlling;
    uint64_t tiebreaker;

    char ufrag[PKC_ICE_UFRAG_MAX + 1], pwd[PKC_ICE_PWD_MAX + 1];
    /* Until the peer learns new credentials, its checks use the old ones. */
    char old_ufrag[PKC_ICE_UFRAG_MAX + 1], old_pwd[PKC_ICE_PWD_MAX + 1];
    char rufrag[PKC_ICE_UFRAG_MAX + 1], rpwd[PKC_ICE_PWD_MAX + 1];
    int have_remote_creds;
    int remote_done;

    local_cand local[PKC_ICE_MAX_LOCAL];
    size_t n_local;
    uint16_t next_local_pref;
    remote_cand remote[PKC_ICE_MAX_REMOTE];
    size_t n_remote;
    ice_pair pairs[PKC_ICE_MAX_PAIRS];
    size_t n_pairs;
    uint8_t queue[PKC_ICE_MAX_PAIRS]; /* triggered checks, FIFO */
    size_t q_head, q_len;

    stun_server servers[PKC_ICE_MAX_STUN_SERVERS];
    size_t n_servers;
    int gathering; /* 1 while server-reflexive requests are in flight */

    int selected; /* pair index, -1 */
    int have_path;
    pkc_addr path_local, path_remote; /* survives a restart */
    int nominated;

    uint64_t next_check;   /* pacing */
    uint64_t checking_since;
    uint64_t next_consent;
    uint64_t last_consent; /* last consent response (full) or request (lite) */
    uint64_t last_sent;
    uint8_t consent_tx[CONSENT_TX][PKC_STUN_TXID_SIZE];
    size_t consent_i;
};

static const char ice_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";

static void random_chars(const pkc_rng *rng, char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ice_chars[pkc_rng_below(rng, 64)];
    out[n] = '\0';
}

void pkc_ice_config_default(pkc_ice_config *c)
{
    memset(c, 0, sizeof *c);
    c->ta_us = 20000;
    c->rto_us = 200000;
    c->max_tries = 8;
    c->consent_interval_us = 5000000;
    c->disconnected_us = 7500000;
    c->consent_timeout_us = 30000000;
    c->keepalive_us = 15000000;
    c->checking_timeout_us = 30000000;
}

const char *pkc_ice_state_name(pkc_ice_state s)
{
    static const char *const names[] = {"new",       "checking",     "connected", "completed",
                                        "disconnected", "failed", "closed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

int pkc_ice_new(const pkc_ice_config *cfg, const pkc_ice_callbacks *cb, const pkc_rng *rng,
                pkc_ice_agent **out)
{
    pkc_ice_agent *a = calloc(1, sizeof *a);
    if (a == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    a->cfg = *cfg;
    a->cb = *cb;
    a->rng = rng;
    a->controlling = cfg->lite ? 0 : cfg->controlling;
    a->tiebreaker = pkc_rng_u64(rng);
    random_chars(rng, a->ufrag, 8);
    random_chars(rng, a->pwd, 24);
    a->selected = -1;
    a->next_local_pref = 65535;
    a->next_check = 0;
    a->next_consent = NONE;
    a->checking_since = NONE;
    *out = a;
    return 0;
}

void pkc_ice_free(pkc_ice_agent *a)
{
    free(a);
}

const char *pkc_ice_local_ufrag(const pkc_ice_agent *a)
{
    return a->ufrag;
}

const char *pkc_ice_local_pwd(const pkc_ice_agent *a)
{
    return a->pwd;
}

int pkc_ice_set_local_creds(pkc_ice_agent *a, const char *ufrag, const char *pwd)
{
    if (pkc_ice_check_ufrag(ufrag, strlen(ufrag)) || pkc_ice_check_pwd(pwd, strlen(pwd)))
        return pkc_error_code(PKC_ERR_SDP);
    snprintf(a->ufrag, sizeof a->ufrag, "%s", ufrag);
    snprintf(a->pwd, sizeof a->pwd, "%s", pwd);
    return 0;
}

void pkc_ice_set_lite(pkc_ice_agent *a)
{
    a->cfg.lite = 1;
    a->controlling = 0;
}

int pkc_ice_is_controlling(const pkc_ice_agent *a)
{
    return a->controlling;
}

void pkc_ice_set_controlling(pkc_ice_agent *a, int controlling)
{
    a->controlling = a->cfg.lite ? 0 : controlling;
}

void pkc_ice_set_tiebreaker(pkc_ice_agent *a, uint64_t tb)
{
    a->tiebreaker = tb;
}

static void set_state(pkc_ice_agent *a, pkc_ice_state s)
{
    if (a->state == s || a->state == PKC_ICE_CLOSED)
        return;
    pkc_logd(LOG, "ICE %s: %s -> %s", a->ufrag, pkc_ice_state_name(a->state), pkc_ice_state_name(s));
    a->state = s;
    if (a->cb.state)
        a->cb.state(a->cb.user, s);
}

/* ---- candidates and pairs ------------------------------------------------ */

static uint64_t pair_priority(const pkc_ice_agent *a, const ice_pair *p)
{
    uint64_t l = a->local[p->local].c.priority, r = a->remote[p->remote].c.priority;
    uint64_t g = a->controlling ? l : r, d = a->controlling ? r : l;
    return ((g < d ? g : d) << 32) + 2 * (g > d ? g : d) + (g > d ? 1 : 0);
}

static void reprioritise(pkc_ice_agent *a)
{
    for (size_t i = 0; i < a->n_pairs; i++)
        a->pairs[i].priority = pair_priority(a, &a->pairs[i]);
}

static int compatible(const pkc_cand *l, const pkc_cand *r)
{
    if (l->addr.family != r->addr.family)
        return 0;
    /* Link-local addresses only reach link-local addresses. */
    if (pkc_addr_is_link_local(&l->addr) != pkc_addr_is_link_local(&r->addr))
        return 0;
    /* A loopback source cannot reach another host. */
    if (pkc_addr_is_loopback(&l->addr) && !pkc_addr_is_loopback(&r->addr) &&
        r->type != PKC_CAND_HOST && r->type != PKC_CAND_PRFLX)
        return 0;
    return 1;
}

static int find_pair(const pkc_ice_agent *a, size_t l, size_t r)
{
    for (size_t i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].local == l && a->pairs[i].remote == r)
            return (int)i;
    return -1;
}

static int add_pair(pkc_ice_agent *a, size_t l, size_t r)
{
    int i = find_pair(a, l, r);
    if (i >= 0)
        return i;
    if (a->n_pairs == PKC_ICE_MAX_PAIRS)
        return -1;
    ice_pair *p = &a->pairs[a->n_pairs];
    memset(p, 0, sizeof *p);
    p->local = (uint8_t)l;
    p->remote = (uint8_t)r;
    p->state = PAIR_WAITING;
    p->priority = pair_priority(a, p);
    return (int)a->n_pairs++;
}

static void pair_new_remote(pkc_ice_agent *a, size_t r)
{
    if (a->cfg.lite)
        return; /* lite agents only answer */
    for (size_t l = 0; l < a->n_local; l++)
        if (a->local[l].usable && compatible(&a->local[l].c, &a->remote[r].c))
            add_pair(a, l, r);
}

static int find_local(const pkc_ice_agent *a, const pkc_addr *addr)
{
    for (size_t i = 0; i < a->n_local; i++)
        if (a->local[i].usable && pkc_addr_equal(&a->local[i].c.addr, addr))
            return (int)i;
    return -1;
}

static int find_remote(const pkc_ice_agent *a, const pkc_addr *addr)
{
    for (size_t i = 0; i < a->n_remote; i++)
        if (pkc_addr_equal(&a->remote[i].c.addr, addr))
            return (int)i;
    return -1;
}

static uint16_t local_pref_for(pkc_ice_agent *a, const pkc_addr *addr)
{
    /* Real interfaces first, IPv6 before IPv4, loopback and link-local
     * last; each new candidate a little lower so priorities are unique. */
    uint16_t base = addr->family == 6 ? 60000 : 50000;
    if (pkc_addr_is_loopback(addr))
        base = (uint16_t)(base - 30000);
    else if (pkc_addr_is_link_local(addr))
        base = (uint16_t)(base - 20000);
    uint16_t pref = (uint16_t)(base - (65535 - a->next_local_pref));
    a->next_local_pref--;
    return pref;
}

static void foundation(char out[PKC_CAND_FOUNDATION_MAX + 1], pkc_cand_type t, const pkc_addr *base)
{
    pkc_addr ip = *base;
    ip.port = 0;
    snprintf(out, PKC_CAND_FOUNDATION_MAX + 1, "%u", (unsigned)(pkc_addr_hash(&ip) ^ (uint32_t)t));
}

static int add_local(pkc_ice_agent *a, const pkc_addr *addr, pkc_cand_type type,
                     const pkc_addr *related, int advertised, int usable)
{
    if (a->n_local == PKC_ICE_MAX_LOCAL)
        return -1;
    local_cand *lc = &a->local[a->n_local];
    memset(lc, 0, sizeof *lc);
    lc->c.component = 1;
    lc->c.type = type;
    lc->c.addr = *addr;
    if (related)
        lc->c.related = *related;
    lc->c.priority = pkc_cand_priority(type, local_pref_for(a, addr), 1);
    foundation(lc->c.foundation, type, related ? related : addr);
    lc->advertised = advertised;
    lc->usable = usable;
    size_t i = a->n_local++;
    if (usable)
        for (size_t r = 0; r < a->n_remote; r++)
            if (!a->cfg.lite && compatible(&lc->c, &a->remote[r].c))
                add_pair(a, i, r);
    return (int)i;
}

int pkc_ice_add_host(pkc_ice_agent *a, const pkc_addr *addr)
{
    if (find_local(a, addr) >= 0)
        return 0;
    if (add_local(a, addr, PKC_CAND_HOST, NULL, 1, 1) < 0)
        return pkc_error(PKC_ERR_TOO_LARGE, "ICE: more than %d local candidates", PKC_ICE_MAX_LOCAL);
    return 0;
}

size_t pkc_ice_local_candidates(const pkc_ice_agent *a, pkc_cand *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_local && n < max; i++)
        if (a->local[i].advertised)
            out[n++] = a->local[i].c;
    return n;
}

int pkc_ice_add_remote(pkc_ice_agent *a, const pkc_cand *c, uint64_t now)
{
    if (c->component != 1 || c->addr.family == 0)
        return 0;
    int i = find_remote(a, &c->addr);
    if (i >= 0) {
        /* A signalled candidate replaces a peer-reflexive one (RFC 8445 7.3.1.3). */
        if (a->remote[i].c.type == PKC_CAND_PRFLX && c->type != PKC_CAND_PRFLX) {
            a->remote[i].c.type = c->type;
            snprintf(a->remote[i].c.foundation, sizeof a->remote[i].c.foundation, "%s", c->foundation);
        }
        return 0;
    }
    if (a->n_remote == PKC_ICE_MAX_REMOTE)
        return pkc_error(PKC_ERR_TOO_LARGE, "ICE: more than %d remote candidates", PKC_ICE_MAX_REMOTE);
    remote_cand *rc = &a->remote[a->n_remote];
    memset(rc, 0, sizeof *rc);
    rc->c = *c;
    size_t r = a->n_remote++;
    pair_new_remote(a, r);
    if (a->state == PKC_ICE_NEW && a->have_remote_creds) {
        a->checking_since = now;
        set_state(a, PKC_ICE_CHECKING);
    }
    return 0;
}

void pkc_ice_remote_done(pkc_ice_agent *a, uint64_t now)
{
    (void)now;
    a->remote_done = 1;
}

/* ---- sending -------------------------------------------------------------- */

static void send_to(pkc_ice_agent *a, const pkc_addr *local, const pkc_addr *remote, pkc_buf *b,
                    uint64_t now)
{
    if (b->err) {
        pkc_logw(LOG, "ICE: could not build a STUN message: %s", pkc_strerror(b->err));
        return;
    }
    a->last_sent = now;
    a->cb.send(a->cb.user, local, remote, b->data, b->len);
}

static void write_request(pkc_ice_agent *a, pkc_buf *b, const uint8_t txid[PKC_STUN_TXID_SIZE],
                          const local_cand *l, int use_candidate)
{
    char user[2 * PKC_ICE_UFRAG_MAX + 2];
    int n = snprintf(user, sizeof user, "%s:%s", a->rufrag, a->ufrag);
    pkc_stun_begin(b, PKC_STUN_METHOD_BINDING | PKC_STUN_REQUEST, txid);
    pkc_stun_add(b, PKC_STUN_ATTR_USERNAME, user, (size_t)n);
    /* The priority a peer-reflexive candidate learnt from this check gets. */
    uint32_t prio = (l->c.priority & 0x00ffffffu) | (110u << 24);
    pkc_stun_add_u32(b, PKC_STUN_ATTR_PRIORITY, prio);
    if (a->controlling)
        pkc_stun_add_u64(b, PKC_STUN_ATTR_ICE_CONTROLLING, a->tiebreaker);
    else
        pkc_stun_add_u64(b, PKC_STUN_ATTR_ICE_CONTROLLED, a->tiebreaker);
    if (use_candidate)
        pkc_stun_add(b, PKC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    pkc_stun_finish(b, a->rpwd, strlen(a->rpwd), 1);
}

static void send_check(pkc_ice_agent *a, ice_pair *p, uint64_t now, int fresh)
{
    if (fresh) {
        pkc_rng_fill(a->rng, p->txid, sizeof p->txid);
        p->tries = 0;
        p->rto = a->cfg.rto_us;
        /* Nominate with this check if we control and have not yet. */
        p->nominating = a->controlling && !a->nominated && a->selected == (int)(p - a->pairs);
    } else {
        p->rto = p->rto * 2 > 1600000 ? 1600000 : p->rto * 2;
    }
    p->state = PAIR_IN_PROGRESS;
    p->tries++;
    p->next_tx = now + p->rto;
    uint8_t buf[256];
    pkc_buf b = {buf, 0, sizeof buf, sizeof buf, 0};
    write_request(a, &b, p->txid, &a->local[p->local], p->nominating);
    char ls[PKC_ADDR_STRLEN], rs[PKC_ADDR_STRLEN];
    pkc_logt(LOG, "ICE %s: check %s -> %s%s (try %u)", a->ufrag,
             pkc_addr_string(&a->local[p->local].c.addr, ls, sizeof ls),
             pkc_addr_string(&a->remote[p->remote].c.addr, rs, sizeof rs),
             p->nominating ? " USE-CANDIDATE" : "", p->tries);
    send_to(a, &a->local[p->local].c.addr, &a->remote[p->remote].c.addr, &b, now);
}

static void trigger(pkc_ice_agent *a, size_t i)
{
    ice_pair *p = &a->pairs[i];
    if (p->queued || a->cfg.lite)
        return;
    if (p->state == PAIR_SUCCEEDED && !(a->controlling && a->selected == (int)i && !a->nominated))
        return;
    p->queued = 1;
    a->queue[(a->q_head + a->q_len++) % PKC_ICE_MAX_PAIRS] = (uint8_t)i;
}

/* ---- selection ------------------------------------------------------------- */

static void select_pair(pkc_ice_agent *a, int i, uint64_t now)
{
    ice_pair *p = &a->pairs[i];
    const pkc_addr *l = &a->local[p->local].c.addr, *r = &a->remote[p->remote].c.addr;
    int changed = !a->have_path || !pkc_addr_equal(l, &a->path_local) ||
                  !pkc_addr_equal(r, &a->path_remote);
    a->selected = i;
    if (changed) {
        char ls[PKC_ADDR_STRLEN], rs[PKC_ADDR_STRLEN];
        pkc_logd(LOG, "ICE %s: selected %s (%s) -> %s (%s)%s", a->ufrag,
                 pkc_addr_string(l, ls, sizeof ls), pkc_cand_type_name(a->local[p->local].c.type),
                 pkc_addr_string(r, rs, sizeof rs), pkc_cand_type_name(a->remote[p->remote].c.type),
                 p->nominated ? " nominated" : "");
        int first = !a->have_path;
        a->have_path = 1;
        a->path_local = *l;
        a->path_remote = *r;
        if (first) {
            a->last_consent = now;
            if (!a->cfg.lite)
                a->next_consent = now + a->cfg.consent_interval_us;
        }
        if (a->cb.selected)
            a->cb.selected(a->cb.user, l, r);
    }
    set_state(a, p->nominated ? PKC_ICE_COMPLETED : PKC_ICE_CONNECTED);
}

static void nominate(pkc_ice_agent *a, int i, uint64_t now)
{
    a->pairs[i].nominated = 1;
    a->nominated = 1;
    select_pair(a, i, now);
}

/* ---- receiving ------------------------------------------------------------- */

static void respond(pkc_ice_agent *a, const pkc_stun_msg *m, const pkc_addr *local,
                    const pkc_addr *remote, const char *pwd, uint16_t error, uint64_t now)
{
    uint8_t buf[256];
    pkc_buf b = {buf, 0, sizeof buf, sizeof buf, 0};
    if (error) {
        static const char *const reasons[] = {[0] = "Bad Request", [1] = "Unknown Attribute",
                                              [2] = "Role Conflict"};
        const char *reason = error == 400 ? reasons[0] : error == 420 ? reasons[1] : reasons[2];
        pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_ERROR, m->txid);
        pkc_stun_add_error(&b, error, reason);
        if (error == 420) {
            uint8_t v[2 * PKC_STUN_MAX_UNKNOWN];
            for (size_t i = 0; i < m->n_unknown; i++) {
                v[2 * i] = (uint8_t)(m->unknown[i] >> 8);
                v[2 * i + 1] = (uint8_t)m->unknown[i];
            }
            pkc_stun_add(&b, PKC_STUN_ATTR_UNKNOWN_ATTRIBUTES, v, 2 * m->n_unknown);
        }
    } else {
        pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_SUCCESS, m->txid);
        pkc_stun_add_address(&b, PKC_STUN_ATTR_XOR_MAPPED_ADDRESS, remote, 1);
    }
    pkc_stun_finish(&b, pwd, strlen(pwd), 1);
    send_to(a, local, remote, &b, now);
}

static void handle_request(pkc_ice_agent *a, const pkc_stun_msg *m, const uint8_t *data,
                           const pkc_addr *local, const pkc_addr *remote, uint64_t now)
{
    char rs[PKC_ADDR_STRLEN];
    pkc_addr_string(remote, rs, sizeof rs);
    if (!(m->has & PKC_STUN_HAS_USERNAME) || !(m->has & PKC_STUN_HAS_INTEGRITY) ||
        !(m->has & PKC_STUN_HAS_FINGERPRINT)) {
        pkc_logd(LOG, "ICE %s: request from %s without USERNAME, MESSAGE-INTEGRITY or FINGERPRINT dropped",
                 a->ufrag, rs);
        return;
    }
    const uint8_t *colon = memchr(m->username, ':', m->username_len);
    if (colon == NULL) {
        pkc_logd(LOG, "ICE %s: request from %s with a malformed USERNAME dropped", a->ufrag, rs);
        return;
    }
    size_t lfrag_n = (size_t)(colon - m->username);
    const char *rfrag = (const char *)colon + 1;
    size_t rfrag_n = m->username_len - lfrag_n - 1;
    const char *pwd = NULL;
    if (lfrag_n == strlen(a->ufrag) && memcmp(m->username, a->ufrag, lfrag_n) == 0)
        pwd = a->pwd;
    else if (a->old_ufrag[0] && lfrag_n == strlen(a->old_ufrag) &&
             memcmp(m->username, a->old_ufrag, lfrag_n) == 0)
        pwd = a->old_pwd;
    if (pwd == NULL) {
        pkc_logd(LOG, "ICE %s: request from %s for another ufrag dropped", a->ufrag, rs);
        return;
    }
    if (pkc_stun_check_integrity(data, m, pwd, strlen(pwd)) != 0) {
        pkc_logw(LOG, "ICE %s: request from %s fails MESSAGE-INTEGRITY: dropped", a->ufrag, rs);
        return;
    }
    if (m->n_unknown) {
        respond(a, m, local, remote, pwd, 420, now);
        return;
    }
    if (!(m->has & PKC_STUN_HAS_PRIORITY) ||
        !(m->has & (PKC_STUN_HAS_CONTROLLING | PKC_STUN_HAS_CONTROLLED))) {
        respond(a, m, local, remote, pwd, 400, now);
        return;
    }

    /* Role conflict (RFC 8445 7.3.1.1). */
    if (a->controlling && (m->has & PKC_STUN_HAS_CONTROLLING)) {
        if (a->tiebreaker >= m->ice_controlling) {
            pkc_logd(LOG, "ICE %s: role conflict, both controlling: we keep it", a->ufrag);
            respond(a, m, local, remote, pwd, 487, now);
            return;
        }
        pkc_logd(LOG, "ICE %s: role conflict, both controlling: switching to controlled", a->ufrag);
        a->controlling = 0;
        reprioritise(a);
    } else if (!a->controlling && (m->has & PKC_STUN_HAS_CONTROLLED)) {
        if (a->tiebreaker >= m->ice_controlled && !a->cfg.lite) {
            pkc_logd(LOG, "ICE %s: role conflict, both controlled: switching to controlling", a->ufrag);
            a->controlling = 1;
            reprioritise(a);
        } else {
            pkc_logd(LOG, "ICE %s: role conflict, both controlled: the peer must switch", a->ufrag);
            respond(a, m, local, remote, pwd, 487, now);
            return;
        }
    }

    respond(a, m, local, remote, pwd, 0, now);

    /* Checks from another generation of the peer's credentials are
     * answered (they are authenticated) but start nothing. */
    if (a->have_remote_creds &&
        (rfrag_n != strlen(a->rufrag) || memcmp(rfrag, a->rufrag, rfrag_n) != 0))
        return;

    int l = find_local(a, local);
    if (l < 0)
        l = add_local(a, local, PKC_CAND_HOST, NULL, 0, 1);
    int r = find_remote(a, remote);
    if (r < 0) {
        pkc_cand c;
        memset(&c, 0, sizeof c);
        c.component = 1;
        c.type = PKC_CAND_PRFLX;
        c.addr = *remote;
        c.priority = m->priority;
        snprintf(c.foundation, sizeof c.foundation, "%u", (unsigned)pkc_addr_hash(remote));
        if (a->n_remote < PKC_ICE_MAX_REMOTE) {
            a->remote[a->n_remote].c = c;
            a->remote[a->n_remote].seen = 0;
            r = (int)a->n_remote++;
            pkc_logd(LOG, "ICE %s: peer-reflexive remote candidate %s", a->ufrag, rs);
        }
    }
    if (l < 0 || r < 0)
        return;
    if (!a->remote[r].seen) {
        a->remote[r].seen = 1;
        if (a->cb.remote_seen)
            a->cb.remote_seen(a->cb.user, remote);
    }
    int use = (m->has & PKC_STUN_HAS_USE_CANDIDATE) != 0;

    if (a->cfg.lite) {
        /* A lite agent's pairs are valid when a check arrives; the
         * controlling peer's nomination (or its first check) picks the path. */
        int i = add_pair(a, (size_t)l, (size_t)r);
        if (i < 0)
            return;
        a->pairs[i].state = PAIR_SUCCEEDED;
        a->last_consent = now;
        uint64_t quiet_since = a->selected >= 0 && a->pairs[a->selected].remote != (size_t)r
                                   ? a->remote[a->pairs[a->selected].remote].last_request
                                   : now;
        a->remote[r].last_request = now;
        if (use) {
            nominate(a, i, now);
        } else if (a->selected < 0) {
            select_pair(a, i, now);
        } else if (a->nominated && a->selected != i &&
                   now - quiet_since >= a->cfg.consent_interval_us / 2) {
            /* The controlling peer nominated one pair and checks only
             * that one (consent), yet its checks now come from another
             * address and no longer from the nominated one: its NAT
             * mapped it anew (rebinding). Follow it: the path switches to
             * this peer-reflexive address. */
            pkc_logi(LOG, "ICE %s: the peer now checks from %s: path switched (NAT rebinding)",
                     a->ufrag, rs);
            nominate(a, i, now);
        }
        if (a->state == PKC_ICE_DISCONNECTED)
            set_state(a, a->nominated ? PKC_ICE_COMPLETED : PKC_ICE_CONNECTED);
        return;
    }

    if (a->state == PKC_ICE_NEW) {
        a->checking_since = now;
        set_state(a, PKC_ICE_CHECKING);
    }
    int i = add_pair(a, (size_t)l, (size_t)r);
    if (i < 0)
        return;
    ice_pair *p = &a->pairs[i];
    if (p->state == PAIR_FAILED)
        p->state = PAIR_WAITING;
    if (p->state == PAIR_WAITING)
        trigger(a, (size_t)i);
    if (use && !a->controlling) {
        if (p->state == PAIR_SUCCEEDED) {
            if (!p->nominated || a->selected != i)
                nominate(a, i, now);
        } else {
            p->nominate_on_success = 1;
            trigger(a, (size_t)i);
        }
    }
}

static void handle_pair_response(pkc_ice_agent *a, ice_pair *p, const pkc_stun_msg *m,
                                 const uint8_t *data, const pkc_addr *local, const pkc_addr *remote,
                                 uint64_t now)
{
    int i = (int)(p - a->pairs);
    if (pkc_stun_check_integrity(data, m, a->rpwd, strlen(a->rpwd)) != 0) {
        pkc_logw(LOG, "ICE %s: response fails MESSAGE-INTEGRITY: dropped", a->ufrag);
        return;
    }
    if (!pkc_addr_equal(remote, &a->remote[p->remote].c.addr) ||
        !pkc_addr_equal(local, &a->local[p->local].c.addr)) {
        pkc_logd(LOG, "ICE %s: non-symmetric response: pair failed", a->ufrag);
        p->state = PAIR_FAILED;
        return;
    }
    if (PKC_STUN_CLASS(m->type) == PKC_STUN_ERROR) {
        if (m->error_code == 487) {
            pkc_logd(LOG, "ICE %s: 487 role conflict: switching to %s", a->ufrag,
                     a->controlling ? "controlled" : "controlling");
            a->controlling = !a->controlling;
            reprioritise(a);
            p->state = PAIR_WAITING;
            trigger(a, (size_t)i);
        } else {
            pkc_logd(LOG, "ICE %s: check answered with error %u: pair failed", a->ufrag, m->error_code);
            p->state = PAIR_FAILED;
        }
        return;
    }
    p->state = PAIR_SUCCEEDED;
    p->next_tx = NONE;
    if (!a->remote[p->remote].seen) {
        a->remote[p->remote].seen = 1;
        if (a->cb.remote_seen)
            a->cb.remote_seen(a->cb.user, remote);
    }
    if (a->selected == i)
        a->last_consent = now;
    if (a->controlling) {
        if (p->nominating) {
            nominate(a, i, now);
        } else if (!a->nominated && a->selected < 0) {
            /* The first pair that works carries data at once and is
             * nominated by the next check on it. */
            select_pair(a, i, now);
            trigger(a, (size_t)i);
        }
    } else {
        if (p->nominate_on_success) {
            nominate(a, i, now);
        } else if (!a->nominated &&
                   (a->selected < 0 || p->priority > a->pairs[a->selected].priority)) {
            select_pair(a, i, now);
        }
    }
}

static void handle_server_response(pkc_ice_agent *a, stun_server *s, const pkc_stun_msg *m,
                                   const pkc_addr *local, uint64_t now)
{
    (void)now;
    char ss[PKC_ADDR_STRLEN];
    pkc_addr_string(&s->addr, ss, sizeof ss);
    s->done = 1;
    s->next_tx = NONE;
    if (PKC_STUN_CLASS(m->type) == PKC_STUN_ERROR) {
        pkc_logw(LOG, "ICE: STUN server %s answered error %u", ss, m->error_code);
    } else {
        const pkc_addr *mapped = (m->has & PKC_STUN_HAS_XOR_MAPPED) ? &m->xor_mapped
                                 : (m->has & PKC_STUN_HAS_MAPPED)   ? &m->mapped
                                                                    : NULL;
        if (mapped == NULL) {
            pkc_logw(LOG, "ICE: STUN server %s gave no mapped address", ss);
        } else {
            int dup = 0;
            for (size_t i = 0; i < a->n_local; i++)
                if (a->local[i].advertised && pkc_addr_equal(&a->local[i].c.addr, mapped))
                    dup = 1; /* redundant with a host candidate (RFC 8445 5.1.3) */
            char ms[PKC_ADDR_STRLEN];
            pkc_logd(LOG, "ICE %s: STUN server %s: server-reflexive %s%s", a->ufrag, ss,
                     pkc_addr_string(mapped, ms, sizeof ms), dup ? " (same as a host candidate)" : "");
            if (!dup) {
                if (find_local(a, local) < 0)
                    add_local(a, local, PKC_CAND_HOST, NULL, 0, 1);
                int i = add_local(a, mapped, PKC_CAND_SRFLX, local, 1, 0);
                if (i >= 0 && a->cb.candidate)
                    a->cb.candidate(a->cb.user, &a->local[i].c);
            }
        }
    }
    int pending = 0;
    for (size_t i = 0; i < a->n_servers; i++)
        pending |= !a->servers[i].done;
    if (!pending && a->gathering) {
        a->gathering = 0;
        if (a->cb.candidate)
            a->cb.candidate(a->cb.user, NULL);
    }
}

int pkc_ice_input(pkc_ice_agent *a, const pkc_addr *local, const pkc_addr *remote,
                  const uint8_t *data, size_t len, uint64_t now)
{
    if (a->state == PKC_ICE_CLOSED)
        return 0;
    pkc_stun_msg m;
    if (pkc_stun_decode(data, len, &m) != 0) {
        char rs[PKC_ADDR_STRLEN];
        pkc_logw(LOG, "ICE %s: bad STUN message from %s dropped: %s", a->ufrag,
                 pkc_addr_string(remote, rs, sizeof rs), pkc_errmsg());
        return 0;
    }
    if (PKC_STUN_METHOD(m.type) != PKC_STUN_METHOD_BINDING)
        return 0;
    uint16_t cls = PKC_STUN_CLASS(m.type);
    if (cls == PKC_STUN_REQUEST) {
        handle_request(a, &m, data, local, remote, now);
        return 0;
    }
    if (cls == PKC_STUN_INDICATION)
        return 0; /* a keepalive */
    for (size_t i = 0; i < a->n_pairs; i++) {
        ice_pair *p = &a->pairs[i];
        if (p->state == PAIR_IN_PROGRESS && memcmp(p->txid, m.txid, sizeof m.txid) == 0) {
            if (!(m.has & PKC_STUN_HAS_FINGERPRINT))
                return 0;
            handle_pair_response(a, p, &m, data, local, remote, now);
            return 0;
        }
    }
    for (size_t i = 0; i < CONSENT_TX; i++) {
        if (memcmp(a->consent_tx[i], m.txid, sizeof m.txid) == 0) {
            if (cls == PKC_STUN_SUCCESS && a->have_path &&
                pkc_addr_equal(remote, &a->path_remote) &&
                pkc_stun_check_integrity(data, &m, a->rpwd, strlen(a->rpwd)) == 0) {
                a->last_consent = now;
                memset(a->consent_tx[i], 0, sizeof a->consent_tx[i]);
                if (a->state == PKC_ICE_DISCONNECTED)
                    set_state(a, a->nominated ? PKC_ICE_COMPLETED : PKC_ICE_CONNECTED);
            }
            return 0;
        }
    }
    for (size_t i = 0; i < a->n_servers; i++) {
        stun_server *s = &a->servers[i];
        if (!s->done && memcmp(s->txid, m.txid, sizeof m.txid) == 0 &&
            pkc_addr_equal(remote, &s->addr)) {
            handle_server_response(a, s, &m, local, now);
            return 0;
        }
    }
    return pkc_error_code(PKC_ERR_NOT_FOUND);
}

int pkc_ice_accept_data(pkc_ice_agent *a, const pkc_addr *remote, uint64_t now)
{
    (void)now;
    if (a->state == PKC_ICE_CLOSED || a->state == PKC_ICE_FAILED)
        return 0;
    if (a->have_path && pkc_addr_equal(remote, &a->path_remote))
        return 1;
    int r = find_remote(a, remote);
    return r >= 0 && a->remote[r].seen;
}

void pkc_ice_note_sent(pkc_ice_agent *a, uint64_t now)
{
    a->last_sent = now;
}

/* ---- gathering --------------------------------------------------------------- */

static void send_server_request(pkc_ice_agent *a, stun_server *s, uint64_t now)
{
    uint8_t buf[64];
    pkc_buf b = {buf, 0, sizeof buf, sizeof buf, 0};
    pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_REQUEST, s->txid);
    pkc_stun_finish(&b, NULL, 0, 1);
    s->tries++;
    s->next_tx = now + s->rto;
    s->rto *= 2;
    pkc_addr any;
    memset(&any, 0, sizeof any); /* the system picks the source address */
    send_to(a, &any, &s->addr, &b, now);
}

void pkc_ice_gather(pkc_ice_agent *a, const pkc_addr *servers, size_t n, uint64_t now)
{
    if (a->cfg.lite)
        n = 0;
    a->n_servers = 0;
    for (size_t i = 0; i < n && a->n_servers < PKC_ICE_MAX_STUN_SERVERS; i++) {
        stun_server *s = &a->servers[a->n_servers++];
        memset(s, 0, sizeof *s);
        s->addr = servers[i];
        s->rto = 250000;
        pkc_rng_fill(a->rng, s->txid, sizeof s->txid);
        send_server_request(a, s, now);
    }
    a->gathering = a->n_servers > 0;
    if (!a->gathering && a->cb.candidate)
        a->cb.candidate(a->cb.user, NULL);
}

int pkc_ice_gathering_done(const pkc_ice_agent *a)
{
    return !a->gathering;
}

/* ---- credentials and restarts --------------------------------------------------- */

int pkc_ice_set_remote_creds(pkc_ice_agent *a, const char *ufrag, const char *pwd, uint64_t now)
{
    if (pkc_ice_check_ufrag(ufrag, strlen(ufrag)) || pkc_ice_check_pwd(pwd, strlen(pwd)))
        return pkc_error_code(PKC_ERR_SDP);
    int restart = a->have_remote_creds && (strcmp(ufrag, a->rufrag) || strcmp(pwd, a->rpwd));
    snprintf(a->rufrag, sizeof a->rufrag, "%s", ufrag);
    snprintf(a->rpwd, sizeof a->rpwd, "%s", pwd);
    a->have_remote_creds = 1;
    if (restart) {
        pkc_logi(LOG, "ICE %s: the peer restarted ICE (ufrag %s)", a->ufrag, ufrag);
        /* Keep data flowing on the current path; check everything again. */
        a->n_remote = 0;
        a->n_pairs = 0;
        a->q_len = 0;
        a->selected = -1;
        a->nominated = 0;
        a->remote_done = 0;
        a->checking_since = now;
        memset(a->old_ufrag, 0, sizeof a->old_ufrag);
        memset(a->old_pwd, 0, sizeof a->old_pwd);
        if (a->have_path && !a->cfg.lite) {
            pkc_cand c;
            memset(&c, 0, sizeof c);
            c.component = 1;
            c.type = PKC_CAND_PRFLX;
            c.addr = a->path_remote;
            c.priority = pkc_cand_priority(PKC_CAND_PRFLX, 65535, 1);
            snprintf(c.foundation, sizeof c.foundation, "restart");
            pkc_ice_add_remote(a, &c, now);
        }
        if (a->state != PKC_ICE_FAILED)
            set_state(a, PKC_ICE_CHECKING);
    } else if (a->state == PKC_ICE_NEW && (a->n_remote > 0 || a->n_pairs > 0)) {
        a->checking_since = now;
        set_state(a, PKC_ICE_CHECKING);
    }
    return restart;
}

void pkc_ice_restart(pkc_ice_agent *a, uint64_t now)
{
    (void)now;
    snprintf(a->old_ufrag, sizeof a->old_ufrag, "%s", a->ufrag);
    snprintf(a->old_pwd, sizeof a->old_pwd, "%s", a->pwd);
    random_chars(a->rng, a->ufrag, 8);
    random_chars(a->rng, a->pwd, 24);
    pkc_logi(LOG, "ICE %s: restarting (was %s)", a->ufrag, a->old_ufrag);
}

int pkc_ice_has_ufrag(const pkc_ice_agent *a, const char *ufrag, size_t len)
{
    return (len == strlen(a->ufrag) && memcmp(ufrag, a->ufrag, len) == 0) ||
           (a->old_ufrag[0] && len == strlen(a->old_ufrag) && memcmp(ufrag, a->old_ufrag, len) == 0);
}

int pkc_ice_owns_txid(const pkc_ice_agent *a, const uint8_t txid[PKC_STUN_TXID_SIZE])
{
    for (size_t i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].state == PAIR_IN_PROGRESS && memcmp(a->pairs[i].txid, txid, PKC_STUN_TXID_SIZE) == 0)
            return 1;
    for (size_t i = 0; i < CONSENT_TX; i++)
        if (memcmp(a->consent_tx[i], txid, PKC_STUN_TXID_SIZE) == 0)
            return 1;
    for (size_t i = 0; i < a->n_servers; i++)
        if (!a->servers[i].done && memcmp(a->servers[i].txid, txid, PKC_STUN_TXID_SIZE) == 0)
            return 1;
    return 0;
}

/* ---- timers --------------------------------------------------------------------- */

static int next_pair_to_check(pkc_ice_agent *a)
{
    while (a->q_len) {
        uint8_t i = a->queue[a->q_head];
        a->q_head = (a->q_head + 1) % PKC_ICE_MAX_PAIRS;
        a->q_len--;
        if (i < a->n_pairs && a->pairs[i].queued) {
            a->pairs[i].queued = 0;
            return i;
        }
    }
    if (a->nominated)
        return -1; /* done: no more ordinary checks */
    int best = -1;
    for (size_t i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].state == PAIR_WAITING &&
            (best < 0 || a->pairs[i].priority > a->pairs[best].priority))
            best = (int)i;
    return best;
}

static void send_consent(pkc_ice_agent *a, uint64_t now)
{
    if (a->selected < 0 && !a->have_path)
        return;
    uint8_t *txid = a->consent_tx[a->consent_i++ % CONSENT_TX];
    pkc_rng_fill(a->rng, txid, PKC_STUN_TXID_SIZE);
    local_cand l;
    memset(&l, 0, sizeof l);
    int li = find_local(a, &a->path_local);
    l.c.priority = li >= 0 ? a->local[li].c.priority : pkc_cand_priority(PKC_CAND_HOST, 1, 1);
    uint8_t buf[256];
    pkc_buf b = {buf, 0, sizeof buf, sizeof buf, 0};
    write_request(a, &b, txid, &l, 0);
    send_to(a, &a->path_local, &a->path_remote, &b, now);
}

static void all_failed_check(pkc_ice_agent *a, uint64_t now)
{
    if (a->state != PKC_ICE_CHECKING)
        return;
    int open = 0;
    for (size_t i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].state != PAIR_FAILED)
            open = 1;
    if ((a->remote_done && !open && a->n_pairs > 0) ||
        (a->checking_since != NONE && now - a->checking_since >= a->cfg.checking_timeout_us &&
         !a->have_path)) {
        pkc_logi(LOG, "ICE %s: no candidate pair works", a->ufrag);
        set_state(a, PKC_ICE_FAILED);
    }
}

void pkc_ice_timeout(pkc_ice_agent *a, uint64_t now)
{
    if (a->state == PKC_ICE_CLOSED || a->state == PKC_ICE_FAILED)
        return;
    /* Gathering retransmissions. */
    for (size_t i = 0; i < a->n_servers; i++) {
        stun_server *s = &a->servers[i];
        if (s->done || now < s->next_tx)
            continue;
        if (s->tries >= 5) {
            char ss[PKC_ADDR_STRLEN];
            pkc_logw(LOG, "ICE: STUN server %s did not answer", pkc_addr_string(&s->addr, ss, sizeof ss));
            s->done = 1;
            int pending = 0;
            for (size_t k = 0; k < a->n_servers; k++)
                pending |= !a->servers[k].done;
            if (!pending && a->gathering) {
                a->gathering = 0;
                if (a->cb.candidate)
                    a->cb.candidate(a->cb.user, NULL);
            }
        } else {
            send_server_request(a, s, now);
        }
    }
    if (!a->cfg.lite && a->have_remote_creds) {
        /* Retransmissions. */
        for (size_t i = 0; i < a->n_pairs; i++) {
            ice_pair *p = &a->pairs[i];
            if (p->state != PAIR_IN_PROGRESS || now < p->next_tx)
                continue;
            if (p->tries >= a->cfg.max_tries) {
                p->state = PAIR_FAILED;
                if (a->selected == (int)i && !a->nominated)
                    a->selected = -1;
            } else {
                send_check(a, p, now, 0);
            }
        }
        /* One new check per Ta. */
        if (now >= a->next_check) {
            int i = next_pair_to_check(a);
            if (i >= 0) {
                send_check(a, &a->pairs[i], now, 1);
                a->next_check = now + a->cfg.ta_us;
            }
        }
        all_failed_check(a, now);
    }
    if (a->have_path && a->state != PKC_ICE_CHECKING) {
        if (!a->cfg.lite && now >= a->next_consent) {
            send_consent(a, now);
            /* 4 to 6 s: randomised so that peers do not synchronise. */
            uint64_t iv = a->cfg.consent_interval_us;
            a->next_consent = now + iv * 4 / 5 + pkc_rng_below(a->rng, iv * 2 / 5 + 1);
        }
        if (a->cfg.lite && now - a->last_sent >= a->cfg.keepalive_us) {
            uint8_t buf[64], txid[PKC_STUN_TXID_SIZE];
            pkc_buf b = {buf, 0, sizeof buf, sizeof buf, 0};
            pkc_rng_fill(a->rng, txid, sizeof txid);
            pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_INDICATION, txid);
            pkc_stun_finish(&b, NULL, 0, 1);
            send_to(a, &a->path_local, &a->path_remote, &b, now);
        }
        uint64_t quiet = now - a->last_consent;
        if (quiet >= a->cfg.consent_timeout_us) {
            pkc_logi(LOG, "ICE %s: no consent for %llu ms: the peer is gone", a->ufrag,
                     (unsigned long long)(quiet / 1000));
            set_state(a, PKC_ICE_FAILED);
        } else if (quiet >= a->cfg.disconnected_us && a->state != PKC_ICE_DISCONNECTED) {
            set_state(a, PKC_ICE_DISCONNECTED);
        }
    }
}

uint64_t pkc_ice_deadline(const pkc_ice_agent *a)
{
    if (a->state == PKC_ICE_CLOSED || a->state == PKC_ICE_FAILED)
        return NONE;
    uint64_t d = NONE;
#define MIN(x)                                                                                     \
    do {                                                                                           \
        uint64_t x_ = (x);                                                                         \
        if (x_ < d)                                                                                \
            d = x_;                                                                                \
    } while (0)
    for (size_t i = 0; i < a->n_servers; i++)
        if (!a->servers[i].done)
            MIN(a->servers[i].next_tx);
    if (!a->cfg.lite && a->have_remote_creds) {
        int waiting = a->q_len > 0;
        for (size_t i = 0; i < a->n_pairs; i++) {
            if (a->pairs[i].state == PAIR_IN_PROGRESS)
                MIN(a->pairs[i].next_tx);
            else if (a->pairs[i].state == PAIR_WAITING && !a->nominated)
                waiting = 1;
        }
        if (waiting)
            MIN(a->next_check);
        if (a->state == PKC_ICE_CHECKING && a->checking_since != NONE)
            MIN(a->checking_since + a->cfg.checking_timeout_us);
    }
    if (a->have_path && a->state != PKC_ICE_CHECKING) {
        if (!a->cfg.lite)
            MIN(a->next_consent);
        else
            MIN(a->last_sent + a->cfg.keepalive_us);
        if (a->state != PKC_ICE_DISCONNECTED)
            MIN(a->last_consent + a->cfg.disconnected_us);
        MIN(a->last_consent + a->cfg.consent_timeout_us);
    }
#undef MIN
    return d;
}

int pkc_ice_selected(const pkc_ice_agent *a, pkc_addr *local, pkc_addr *remote)
{
    if (!a->have_path)
        return 0;
    if (local)
        *local = a->path_local;
    if (remote)
        *remote = a->path_remote;
    return 1;
}

void pkc_ice_selected_types(const pkc_ice_agent *a, char *local, char *remote)
{
    local[0] = remote[0] = '\0';
    if (a->selected < 0)
        return;
    const ice_pair *p = &a->pairs[a->selected];
    snprintf(local, 8, "%s", pkc_cand_type_name(a->local[p->local].c.type));
    snprintf(remote, 8, "%s", pkc_cand_type_name(a->remote[p->remote].c.type));
}

pkc_ice_state pkc_ice_get_state(const pkc_ice_agent *a)
{
    return a->state;
}

void pkc_ice_close(pkc_ice_agent *a)
{
    set_state(a, PKC_ICE_CLOSED);
}
