/* rtc_peer.c: pkc_rtc_peer, the public peer connection, binding a
 * pkc_conn state machine to a socket, a timer and the user's callbacks. */
#define _GNU_SOURCE
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/sctp.h"
#include "rtc/sdp.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/versioned.h"
#include "node/rtc_runtime.h"

#define LOG "rtc"

#define CONFIG_SIZES                                                                               \
    ((pkc_struct_sizes){"pkc_rtc_config",                                                          \
                        (const size_t[]){0, offsetof(pkc_rtc_config, max_channels),                \
                                         sizeof(pkc_rtc_config)},                                  \
                        2})
#define CALLBACKS_SIZES PKC_STRUCT_V1(pkc_rtc_callbacks)

void pkc_rtc_config_default_versioned(int config_version, pkc_rtc_config *out)
{
    pkc_rtc_config c;
    memset(&c, 0, sizeof c);
    pkc_rtc_socket_config_default(&c.socket_config);
    c.max_message_size = 262144;
    c.consent_timeout_ms = 30000;
    c.max_buffered_amount = 16 * 1024 * 1024;
    c.max_channels = 1024;
    pkc_struct_write(out, &c, config_version, CONFIG_SIZES);
}

/* The caller's config and callbacks of their versions, over the defaults. */
static int read_config(int config_version, const pkc_rtc_config *config, int callbacks_version,
                       const pkc_rtc_callbacks *callbacks, pkc_rtc_config *cfg,
                       pkc_rtc_callbacks *cb)
{
    pkc_rtc_config_default(cfg);
    memset(cb, 0, sizeof *cb);
    int rc = pkc_struct_read(cfg, config, config_version, CONFIG_SIZES);
    return rc ? rc : pkc_struct_read(cb, callbacks, callbacks_version, CALLBACKS_SIZES);
}

/* ---- plumbing between the state machine and the world ---------------------- */

static void io_send(void *u, const pkc_addr *l, const pkc_addr *r, const uint8_t *d, size_t n)
{
    struct pkc_rtc_peer *p = u;
    pkc_rtc_socket_send(p->sock, l, r, d, n);
}

static void io_wake(void *u)
{
    struct pkc_rtc_peer *p = u;
    pkc_loop_schedule(p->loop, p);
}

static void io_remote_seen(void *u, const pkc_addr *r)
{
    struct pkc_rtc_peer *p = u;
    pkc_rtc_socket_route(p->sock, r, p);
}

static void on_timer(uv_timer_t *t)
{
    struct pkc_rtc_peer *p = t->data;
    if (p->dead)
        return;
    p->armed = UINT64_MAX;
    pkc_conn_timeout(p->conn, pkc_loop_now(p->loop));
    pkc_rtc_peer_after_io(p);
    pkc_loop_dispatch_pending(p->loop);
}

void pkc_rtc_peer_after_io(struct pkc_rtc_peer *p)
{
    if (p->dead)
        return;
    uint64_t d = pkc_conn_deadline(p->conn);
    if (d != p->armed) {
        p->armed = d;
        if (d == UINT64_MAX) {
            uv_timer_stop(&p->timer);
        } else {
            uint64_t now = pkc_loop_now(p->loop);
            uint64_t ms = d > now ? (d - now + 999) / 1000 : 0;
            uv_timer_start(&p->timer, on_timer, ms, 0);
        }
    }
    if (!p->loop->sctp_running && pkc_conn_has_sctp(p->conn))
        pkc_loop_update_sctp(p->loop);
}

void pkc_rtc_peer_input(struct pkc_rtc_peer *p, const pkc_addr *local, const pkc_addr *remote,
                        const uint8_t *data, size_t len)
{
    pkc_conn_input(p->conn, local, remote, data, len, pkc_loop_now(p->loop));
    /* Dispatch (and re-arm the timer) once the batch is through. */
    pkc_loop_schedule(p->loop, p);
}

/* ---- events to callbacks ------------------------------------------------------- */

static void really_free(struct pkc_rtc_peer *p);

static int handle(void *arg, pkc_conn *c, const pkc_conn_event *ev)
{
    (void)c;
    struct pkc_rtc_peer *p = arg;
    const pkc_rtc_callbacks *cb = &p->cb;
    void *ud = p->user_data;
    switch (ev->kind) {
    case PKC_CONN_EV_STATE:
        if (cb->state)
            cb->state(ud, p, ev->state);
        break;
    case PKC_CONN_EV_CANDIDATE:
        if (cb->candidate)
            cb->candidate(ud, p, ev->text);
        break;
    case PKC_CONN_EV_CHANNEL:
        if (cb->channel)
            cb->channel(ud, p, ev->ch);
        break;
    case PKC_CONN_EV_OPEN:
        if (cb->open)
            cb->open(ud, ev->ch);
        break;
    case PKC_CONN_EV_MESSAGE:
        if (cb->message)
            cb->message(ud, ev->ch, ev->data, ev->len, ev->binary);
        break;
    case PKC_CONN_EV_LOW:
        if (cb->buffered_amount_low)
            cb->buffered_amount_low(ud, ev->ch);
        break;
    case PKC_CONN_EV_CLOSE:
        if (cb->close)
            cb->close(ud, ev->ch);
        break;
    }
    return p->free_requested;
}

void pkc_rtc_peer_dispatch(struct pkc_rtc_peer *p)
{
    if (p->dead)
        return;
    p->in_dispatch++;
    pkc_conn_dispatch(p->conn, handle, p);
    p->in_dispatch--;
    if (p->free_requested && p->in_dispatch == 0) {
        really_free(p);
        return;
    }
    pkc_rtc_peer_after_io(p);
}

/* ---- STUN server names ---------------------------------------------------------- */

typedef struct resolve_req {
    uv_getaddrinfo_t req;
    struct pkc_rtc_peer *peer;
    uint16_t port;
} resolve_req;

static void apply_stun(struct pkc_rtc_peer *p)
{
    p->stun_applied = 1;
    pkc_conn_set_stun_servers(p->conn, p->stun_addrs, p->n_stun_addrs);
    pkc_conn_release_gathering(p->conn, pkc_loop_now(p->loop));
    pkc_rtc_peer_after_io(p);
    pkc_loop_schedule(p->loop, p);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_req *r = (resolve_req *)req;
    struct pkc_rtc_peer *p = r->peer;
    p->resolving--;
    if (!p->dead && status == 0) {
        /* One address of each family: a server reached over IPv4 and IPv6
         * gives a server-reflexive candidate for each. */
        int have4 = 0, have6 = 0;
        for (struct addrinfo *ai = res; ai && p->n_stun_addrs < 4; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET && have4) || (ai->ai_family == AF_INET6 && have6))
                continue;
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
            a.port = r->port;
            p->stun_addrs[p->n_stun_addrs++] = a;
            have4 |= a.family == 4;
            have6 |= a.family == 6;
        }
    } else if (!p->dead) {
        pkc_logw(LOG, "STUN server name: %s", uv_strerror(status));
    }
    uv_freeaddrinfo(res);
    free(r);
    if (p->dead) {
        if (p->resolving == 0)
            really_free(p);
        return;
    }
    if (p->resolving == 0)
        apply_stun(p);
}

static int setup_stun(struct pkc_rtc_peer *p, const pkc_rtc_config *cfg)
{
    for (size_t i = 0; i < cfg->n_stun_servers && i < 4; i++) {
        const char *s = cfg->stun_servers[i];
        pkc_addr a;
        if (pkc_addr_parse(s, &a) == 0) {
            p->stun_addrs[p->n_stun_addrs++] = a;
            continue;
        }
        char host[256];
        uint16_t port;
        if (pkc_host_port_split(s, host, &port) != 0)
            return pkc_error(PKC_ERR_INVALID_ARG, "STUN server '%s': expected HOST:PORT", s);
        resolve_req *r = calloc(1, sizeof *r);
        if (r == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        r->peer = p;
        r->port = port;
        struct addrinfo hints;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_DGRAM;
        hints.ai_family = p->sock->fd[1] >= 0 ? AF_UNSPEC : AF_INET;
        if (uv_getaddrinfo(&p->loop->uv, &r->req, on_resolved, host, NULL, &hints) != 0) {
            free(r);
            return pkc_error(PKC_ERR_INVALID_ARG, "STUN server '%s': cannot resolve", s);
        }
        p->resolving++;
    }
    if (p->resolving == 0) {
        p->stun_applied = 1;
        pkc_conn_set_stun_servers(p->conn, p->stun_addrs, p->n_stun_addrs);
    } else {
        pkc_conn_hold_gathering(p->conn);
    }
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static int make_peer(pkc_loop *loop, pkc_rtc_socket *sock, const pkc_rtc_config *cfg,
                     const pkc_rtc_callbacks *cb, void *user_data, pkc_rtc_cert *cert,
                     struct pkc_rtc_peer **out)
{
    struct pkc_rtc_peer *p = calloc(1, sizeof *p);
    if (p == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    p->loop = loop;
    p->sock = sock;
    if (cb)
        p->cb = *cb;
    p->user_data = user_data;
    p->armed = UINT64_MAX;
    pkc_conn_config cc;
    memset(&cc, 0, sizeof cc);
    cc.cert = cert;
    cc.max_message_size = cfg->max_message_size ? cfg->max_message_size : 262144;
    cc.max_buffered_amount = cfg->max_buffered_amount ? cfg->max_buffered_amount : 16 << 20;
    cc.max_channels = cfg->max_channels;
    pkc_ice_config_default(&cc.ice);
    if (cfg->consent_timeout_ms)
        cc.ice.consent_timeout_us = cfg->consent_timeout_ms * 1000u;
    if (cc.ice.disconnected_us > cc.ice.consent_timeout_us / 2)
        cc.ice.disconnected_us = cc.ice.consent_timeout_us / 2;
    if (cc.ice.consent_interval_us > cc.ice.consent_timeout_us / 4)
        cc.ice.consent_interval_us = cc.ice.consent_timeout_us / 4;
    pkc_conn_io io = {io_send, io_wake, io_remote_seen, p};
    int rc = pkc_conn_new(&cc, &io, pkc_rng_system(), &p->conn);
    if (rc) {
        free(p);
        return rc;
    }
    pkc_conn_set_owner(p->conn, p);
    for (size_t i = 0; i < sock->n_hosts; i++)
        pkc_conn_add_host(p->conn, &sock->hosts[i]);
    uv_timer_init(&loop->uv, &p->timer);
    p->timer.data = p;
    pkc_rtc_socket_attach(sock, p);
    p->loop_next = loop->peers;
    loop->peers = p;
    *out = p;
    return 0;
}

int pkc_rtc_peer_new_versioned(pkc_loop *loop, int config_version, const pkc_rtc_config *config,
                               int callbacks_version, const pkc_rtc_callbacks *callbacks,
                               void *user_data, pkc_rtc_peer **out)
{
    if (loop == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_rtc_peer_new: NULL argument");
    pkc_rtc_config c, *cfg = &c;
    pkc_rtc_callbacks cbs, *cb = &cbs;
    int rc = read_config(config_version, config, callbacks_version, callbacks, cfg, cb);
    if (rc)
        return rc;
    if (cfg->n_stun_servers && cfg->stun_servers == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_rtc_peer_new: stun_servers is NULL");
    pkc_rtc_cert *cert = cfg->cert ? pkc_cert_ref(cfg->cert) : NULL;
    if (cert == NULL)
        rc = pkc_cert_generate(pkc_rng_system(), pkc_clock_wall_ms(pkc_clock_system()), &cert);
    if (rc)
        return rc;
    pkc_rtc_socket *sock = cfg->socket;
    if (sock == NULL) {
        rc = pkc_rtc_socket_new(loop, &cfg->socket_config, &sock);
        if (rc) {
            pkc_cert_unref(cert);
            return rc;
        }
        sock->private_to_peer = 1;
    }
    struct pkc_rtc_peer *p;
    rc = make_peer(loop, sock, cfg, cb, user_data, cert, &p);
    pkc_cert_unref(cert);
    if (rc == 0)
        rc = setup_stun(p, cfg);
    if (rc) {
        if (p) {
            pkc_rtc_peer_free(p);
        } else if (!cfg->socket) {
            pkc_rtc_socket_free(sock);
        }
        return rc;
    }
    *out = p;
    return 0;
}

struct pkc_rtc_peer *pkc_rtc_peer_new_lite(pkc_rtc_socket *s, rtc_listener *l, const char *rufrag,
                                          const pkc_addr *from)
{
    struct pkc_rtc_peer *p;
    if (make_peer(s->loop, s, &l->cfg, &l->cb, l->user_data, l->cert, &p) != 0)
        return NULL;
    p->stun_applied = 1;
    snprintf(p->lite_rufrag, sizeof p->lite_rufrag, "%s", rufrag);
    p->lite_from = *from;
    p->listener = l;
    l->live++;
    if (pkc_conn_accept_lite(p->conn, l->ufrag, l->pwd, pkc_loop_now(s->loop)) != 0) {
        pkc_rtc_peer_free(p);
        return NULL;
    }
    pkc_logi(LOG, "listener: a peer (ufrag %s) connects", rufrag);
    if (p->cb.incoming) {
        p->in_dispatch++;
        p->cb.incoming(p->user_data, p);
        p->in_dispatch--;
        if (p->free_requested) {
            really_free(p);
            return NULL;
        }
    }
    return p;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct pkc_rtc_peer *p = h->data;
    for (struct pkc_rtc_peer **q = &p->loop->peers; *q; q = &(*q)->loop_next)
        if (*q == p) {
            *q = p->loop_next;
            break;
        }
    /* Also drop it from the pending list, if it is there. */
    for (struct pkc_rtc_peer **q = &p->loop->pending; *q; q = &(*q)->pending_next)
        if (*q == p) {
            *q = p->pending_next;
            break;
        }
    p->timer.data = NULL;
    if (p->resolving == 0)
        free(p);
}

static void really_free(struct pkc_rtc_peer *p)
{
    if (p->dead) {
        if (p->resolving == 0 && p->timer.data == NULL)
            free(p);
        return;
    }
    p->dead = 1;
    pkc_conn_free(p->conn);
    p->conn = NULL;
    if (p->listener)
        p->listener->live--;
    pkc_rtc_socket_detach(p->sock, p);
    if (p->sock->private_to_peer)
        pkc_rtc_socket_free(p->sock);
    p->sock = NULL;
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
    pkc_loop_update_sctp(p->loop);
}

void pkc_rtc_peer_free(pkc_rtc_peer *p)
{
    if (p == NULL || p->dead)
        return;
    if (p->in_dispatch) {
        p->free_requested = 1;
        return;
    }
    really_free(p);
}

/* ---- the public peer API ------------------------------------------------------------------ */

static void touched(struct pkc_rtc_peer *p)
{
    pkc_rtc_peer_after_io(p);
}

int pkc_rtc_peer_create_offer(pkc_rtc_peer *p, char **sdp)
{
    int rc = pkc_conn_create_offer(p->conn, pkc_loop_now(p->loop), sdp);
    touched(p);
    return rc;
}

int pkc_rtc_peer_create_answer(pkc_rtc_peer *p, char **sdp)
{
    int rc = pkc_conn_create_answer(p->conn, pkc_loop_now(p->loop), sdp);
    touched(p);
    return rc;
}

int pkc_rtc_peer_set_remote(pkc_rtc_peer *p, pkc_rtc_sdp_type type, const char *sdp)
{
    if (sdp == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_rtc_peer_set_remote: NULL description");
    int rc = pkc_conn_set_remote(p->conn, type, sdp, strlen(sdp), pkc_loop_now(p->loop));
    touched(p);
    return rc;
}

int pkc_rtc_peer_get_local_description(pkc_rtc_peer *p, char **sdp)
{
    return pkc_conn_local_description(p->conn, sdp);
}

int pkc_rtc_peer_add_candidate(pkc_rtc_peer *p, const char *candidate)
{
    int rc = pkc_conn_add_candidate(p->conn, candidate, pkc_loop_now(p->loop));
    touched(p);
    return rc;
}

void pkc_rtc_peer_restart_ice(pkc_rtc_peer *p)
{
    pkc_conn_restart_ice(p->conn, pkc_loop_now(p->loop));
    touched(p);
}

int pkc_rtc_peer_is_gathering_done(const pkc_rtc_peer *p)
{
    return p->stun_applied && pkc_conn_gathering_done(p->conn);
}

void pkc_rtc_peer_close(pkc_rtc_peer *p)
{
    pkc_conn_close(p->conn);
    touched(p);
    pkc_loop_update_sctp(p->loop);
}

pkc_rtc_state pkc_rtc_peer_get_state(const pkc_rtc_peer *p)
{
    return pkc_conn_state(p->conn);
}

const char *pkc_rtc_peer_get_remote_fingerprint(const pkc_rtc_peer *p)
{
    return pkc_conn_remote_fingerprint(p->conn);
}

void pkc_rtc_peer_set_user_data(pkc_rtc_peer *p, void *user_data)
{
    p->user_data = user_data;
}

void *pkc_rtc_peer_get_user_data(const pkc_rtc_peer *p)
{
    return p->user_data;
}

void pkc_rtc_peer_get_stats_versioned(const pkc_rtc_peer *p, int stats_version, pkc_rtc_stats *out)
{
    pkc_rtc_stats st;
    pkc_conn_stats(p->conn, &st);
    if (p->listener && st.remote_address[0] == 0) {
        /* No pair yet: the address whose check opened the connection. */
        pkc_addr_string(&p->lite_from, st.remote_address, sizeof st.remote_address);
        snprintf(st.remote_type, sizeof st.remote_type, "prflx");
    }
    pkc_struct_write(out, &st, stats_version, PKC_STRUCT_V1(pkc_rtc_stats));
}

int pkc_rtc_channel_new_versioned(pkc_rtc_peer *p, const char *label, int options_version,
                                  const pkc_rtc_channel_options *options, pkc_rtc_channel **out)
{
    pkc_rtc_channel_options o;
    pkc_rtc_channel_options_default(&o);
    int rc = pkc_struct_read(&o, options, options_version, PKC_STRUCT_V1(pkc_rtc_channel_options));
    if (rc == 0)
        rc = pkc_conn_channel_new(p->conn, label, &o, out);
    touched(p);
    return rc;
}

/* ---- listeners ------------------------------------------------------------------------------ */

int pkc_rtc_listen_versioned(pkc_rtc_socket *s, int config_version, const pkc_rtc_config *config,
                             int callbacks_version, const pkc_rtc_callbacks *callbacks,
                             void *user_data, char **sdp_out)
{
    if (s->listener)
        return pkc_error(PKC_ERR_EXISTS, "the socket already has a listener");
    pkc_rtc_config conf, *cfg = &conf;
    pkc_rtc_callbacks cbs, *cb = &cbs;
    int rc = read_config(config_version, config, callbacks_version, callbacks, cfg, cb);
    if (rc)
        return rc;
    rtc_listener *l = calloc(1, sizeof *l);
    if (l == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    l->cfg = *cfg;
    l->cfg.stun_servers = NULL;
    l->cfg.n_stun_servers = 0;
    l->cfg.socket = s;
    l->cb = *cb;
    l->user_data = user_data;
    if (cfg->cert)
        l->cert = pkc_cert_ref(cfg->cert);
    else
        rc = pkc_cert_generate(pkc_rng_system(), pkc_clock_wall_ms(pkc_clock_system()), &l->cert);
    if (rc) {
        free(l);
        return rc;
    }
    /* Listener credentials: long enough to be unguessable. */
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
    for (int i = 0; i < 8; i++)
        l->ufrag[i] = chars[pkc_rng_below(pkc_rng_system(), 64)];
    for (int i = 0; i < 24; i++)
        l->pwd[i] = chars[pkc_rng_below(pkc_rng_system(), 64)];

    pkc_cand cands[PKC_SDP_MAX_CANDIDATES];
    size_t nc = 0;
    for (size_t i = 0; i < s->n_hosts && nc < PKC_SDP_MAX_CANDIDATES; i++) {
        pkc_cand *c = &cands[nc++];
        memset(c, 0, sizeof *c);
        c->component = 1;
        c->type = PKC_CAND_HOST;
        c->addr = s->hosts[i];
        uint16_t pref = (uint16_t)((s->hosts[i].family == 6 ? 60000 : 50000) -
                                   (pkc_addr_is_loopback(&s->hosts[i]) ? 30000 : 0) - i);
        c->priority = pkc_cand_priority(PKC_CAND_HOST, pref, 1);
        snprintf(c->foundation, sizeof c->foundation, "%zu", i + 1);
    }
    rc = pkc_sdp_write_lite_answer(pkc_rng_u64(pkc_rng_system()) >> 2, l->ufrag, l->pwd,
                                   &l->cert->fingerprint, l->cfg.max_message_size, cands, nc,
                                   sdp_out);
    if (rc) {
        pkc_cert_unref(l->cert);
        free(l);
        return rc;
    }
    s->listener = l;
    return 0;
}

/* ---- certificates ------------------------------------------------------------------------------ */

int pkc_rtc_cert_generate(pkc_rtc_cert **out)
{
    return pkc_cert_generate(pkc_rng_system(), pkc_clock_wall_ms(pkc_clock_system()), out);
}

void pkc_rtc_cert_free(pkc_rtc_cert *cert)
{
    pkc_cert_unref(cert);
}

const char *pkc_rtc_cert_get_fingerprint(const pkc_rtc_cert *cert)
{
    return cert->fingerprint_text;
}
