/*
 * node_seed.c: DNS seeds in the node (docs/discovery.md "Lookup over DNS
 * over HTTPS", "Publishing"):
 *   - lookups: the TXT records of "_pkc.<domain>" for each configured
 *     domain, through DNS over HTTPS (doh.c), when the node starts and
 *     again when the answer's TTL runs out (sooner after a failure); each
 *     seed of a room we are in is dialed as the inviter of a one-step
 *     invitation is, proving the room's secret (node_dial_invite);
 *   - publications: our record sent with an RFC 2136 update signed with
 *     TSIG, again every half TTL.
 * DNS is blocking I/O: each lookup or update runs on a libuv worker thread
 * (uv_queue_work), one at a time, and its result is used on the loop
 * thread. Lookups are rare (minutes apart) and bounded by the resolvers'
 * timeouts, so a worker thread is simpler than driving curl's multi
 * interface from the loop, and the loop never waits.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <ldns/ldns.h>

#include "crypto/identity.h"
#include "discovery/dnsmsg.h"
#include "util/err.h"
#include "util/log.h"
#include "util/text.h"
#include "util/versioned.h"
#include "node/doh.h"
#include "node/loop.h"
#include "node/node_int.h"

#define LOG "seed"
#define DOMAINS_MAX 8
#define PUBS_MAX 8
/* After a lookup: again at the TTL, within these bounds (s). */
#define LOOKUP_MIN_S 30
#define LOOKUP_MAX_S 3600
/* After a failure: 5 s, doubling up to 5 minutes. */
#define RETRY_FIRST_S 5
#define RETRY_MAX_S 300

typedef struct publication {
    uint8_t room_id[PKC_ROOM_ID_BYTES];
    char domain[PKC_DNS_NAME_MAX + 2];
    char owner[PKC_DNS_NAME_MAX + 1];
    int per_peer;
    uint32_t ttl_s, timeout_ms;
    struct sockaddr_storage server;
    socklen_t server_len;
    char server_text[80];
    pkc_dns_tsig_key key;
    int has_key;
    char last_line[PKC_DNSREC_ZONE_LINE_MAX + 1]; /* what is published: deleted next time */
    uint64_t due_us;
    unsigned failures;
} publication;

typedef struct node_seeds {
    pkc_node *n;
    char *domains[DOMAINS_MAX];
    size_t n_domains;
    pkc_doh *doh;
    uv_timer_t timer;
    int timer_open;
    uv_work_t req;
    int busy; /* a lookup or an update is on a worker thread */
    /* Lookup. */
    uint64_t lookup_due_us;
    unsigned lookup_failures;
    int job_lookup; /* the job under way: 1 lookup, 0 update */
    pkc_dnsrec found[DOMAINS_MAX * PKC_DOH_RECORDS_MAX];
    size_t n_found;
    uint32_t ttl_min;
    int lookup_rc;
    char lookup_err[300];
    /* Update. */
    publication pubs[PUBS_MAX];
    size_t n_pubs;
    publication *job_pub;
    char job_line[PKC_DNSREC_ZONE_LINE_MAX + 1];
    int update_rc;
    char update_err[300];
} node_seeds;

static char *dup_checked(const char *s, int *rc)
{
    char *d = s ? strdup(s) : NULL;
    if (s && d == NULL)
        *rc = pkc_error_code(PKC_ERR_NOMEM);
    return d;
}

int node_seeds_setup(pkc_node *n, const pkc_node_config *cfg)
{
    if (cfg->n_seed_domains && cfg->seed_domains == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: n_seed_domains without seed_domains");
    if (cfg->n_doh_resolvers && cfg->doh_resolvers == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "pkc_node_new: n_doh_resolvers without doh_resolvers");
    if (cfg->n_seed_domains > DOMAINS_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: at most %d seed domains, got %zu",
                         DOMAINS_MAX, cfg->n_seed_domains);
    for (size_t i = 0; i < cfg->n_seed_domains; i++) {
        int rc = cfg->seed_domains[i] ? pkc_dns_domain_check(cfg->seed_domains[i])
                                      : pkc_error(PKC_ERR_INVALID_ARG, "NULL");
        if (rc)
            return pkc_error_wrap(rc, "pkc_node_new: seed domain %zu", i);
    }
    if (cfg->n_seed_domains && cfg->n_doh_resolvers == 0)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "pkc_node_new: seed domains need a DNS over HTTPS resolver "
                         "(doh_resolvers, pkc up --doh URL)");
    node_seeds *s = calloc(1, sizeof *s);
    if (s == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    s->n = n;
    n->seeds = s;
    int rc = 0;
    for (size_t i = 0; i < cfg->n_seed_domains && rc == 0; i++)
        if ((s->domains[i] = dup_checked(cfg->seed_domains[i], &rc)))
            s->n_domains++;
    if (rc)
        return rc;
    if (cfg->n_doh_resolvers) {
        pkc_doh_config dc;
        pkc_doh_config_default(&dc);
        dc.resolvers = cfg->doh_resolvers;
        dc.n_resolvers = cfg->n_doh_resolvers;
        dc.ca_file = cfg->doh_ca_file;
        if ((rc = pkc_doh_new(&dc, n->clock, &s->doh)))
            return pkc_error_wrap(rc, "pkc_node_new");
    }
    return 0;
}

void node_seeds_free(pkc_node *n)
{
    node_seeds *s = n->seeds;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_domains; i++)
        free(s->domains[i]);
    pkc_doh_free(s->doh);
    pkc_memzero(s->pubs, sizeof s->pubs); /* the TSIG secrets */
    free(s);
    n->seeds = NULL;
}

/* --- Jobs on the worker thread --------------------------------------------- */

static void lookup_work(node_seeds *s)
{
    s->n_found = 0;
    s->ttl_min = 0;
    s->lookup_rc = 0;
    s->lookup_err[0] = '\0';
    int any = 0;
    for (size_t i = 0; i < s->n_domains; i++) {
        char owner[PKC_DNS_NAME_MAX + 1];
        uint32_t ttl = 0;
        int rc = pkc_dnsrec_owner_name(s->domains[i], NULL, owner, sizeof owner);
        if (rc >= 0)
            rc = pkc_doh_lookup_records(s->doh, owner, NULL, s->found + s->n_found,
                                        PKC_DOH_RECORDS_MAX, &ttl, NULL);
        if (rc < 0) {
            s->lookup_rc = rc;
            snprintf(s->lookup_err, sizeof s->lookup_err, "%s", pkc_errmsg());
            continue;
        }
        any = 1;
        s->n_found += (size_t)rc;
        if (s->ttl_min == 0 || ttl < s->ttl_min)
            s->ttl_min = ttl;
    }
    if (any && s->n_found)
        s->lookup_rc = 0;
}

/* Sends the update of `p` publishing `line` over TCP; 0 or the reason. */
static int update_send(const publication *p, const char *line, const char *old_line)
{
    uint8_t *wire = NULL;
    size_t len = 0;
    int rc = pkc_dnsmsg_update(p->domain, line, p->per_peer, old_line, p->has_key ? &p->key : NULL,
                               &wire, &len);
    if (rc)
        return rc;
    ldns_buffer *q = ldns_buffer_new(len);
    if (q == NULL) {
        free(wire);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    /* ldns_tcp_send sends the bytes before the buffer's position. */
    ldns_buffer_write(q, wire, len);
    struct timeval tv = {p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000};
    uint8_t *answer = NULL;
    size_t alen = 0;
    ldns_status st = ldns_tcp_send(&answer, q, &p->server, p->server_len, tv, &alen);
    ldns_buffer_free(q);
    if (st != LDNS_STATUS_OK || answer == NULL) {
        free(answer);
        free(wire);
        return pkc_error(st == LDNS_STATUS_NETWORK_ERR ? PKC_ERR_IO : PKC_ERR_TIMEOUT,
                         "DNS update: no answer from %s over TCP: %s", p->server_text,
                         ldns_get_errorstr_by_id(st));
    }
    rc = pkc_dnsmsg_update_result(answer, alen, wire, len, p->has_key ? &p->key : NULL);
    free(answer);
    free(wire);
    return rc;
}

static void on_work(uv_work_t *req)
{
    node_seeds *s = req->data;
    if (s->job_lookup) {
        lookup_work(s);
        return;
    }
    publication *p = s->job_pub;
    s->update_rc = update_send(p, s->job_line, p->last_line[0] ? p->last_line : NULL);
    if (s->update_rc)
        snprintf(s->update_err, sizeof s->update_err, "%s", pkc_errmsg());
}

/* --- On the loop ------------------------------------------------------------ */

static void schedule(node_seeds *s);

static uint32_t backoff_s(unsigned failures)
{
    uint32_t t = RETRY_FIRST_S;
    for (unsigned i = 1; i < failures && t < RETRY_MAX_S; i++)
        t *= 2;
    return t < RETRY_MAX_S ? t : RETRY_MAX_S;
}

static void lookup_done(node_seeds *s)
{
    pkc_node *n = s->n;
    uint64_t now = node_now_us(n);
    if (s->lookup_rc < 0 && s->n_found == 0) {
        s->lookup_failures++;
        uint32_t again = backoff_s(s->lookup_failures);
        pkc_logw(LOG, "DNS seeds: no seed found: %s (again in %u s)", s->lookup_err, again);
        node_error(n, "DNS seeds: %s", s->lookup_err);
        s->lookup_due_us = now + (uint64_t)again * 1000000u;
        return;
    }
    s->lookup_failures = 0;
    uint32_t ttl = s->ttl_min < LOOKUP_MIN_S ? LOOKUP_MIN_S : s->ttl_min;
    if (ttl > LOOKUP_MAX_S)
        ttl = LOOKUP_MAX_S;
    s->lookup_due_us = now + (uint64_t)ttl * 1000000u;
    size_t dialed = 0;
    for (size_t i = 0; i < s->n_found; i++) {
        const pkc_dnsrec *rec = &s->found[i];
        if (memcmp(rec->public_key, n->id->public_key, PKC_PUBLIC_KEY_BYTES) == 0)
            continue; /* our own record */
        node_room *r = node_room_by_id(n, rec->room_id);
        if (r == NULL) {
            char hex[2 * PKC_ROOM_ID_BYTES + 1];
            pkc_hex_encode(hex, rec->room_id, PKC_ROOM_ID_BYTES);
            pkc_logi(LOG, "seed %s is for room %s, which we are not in (its passphrase: --room)",
                     rec->peer_id, hex);
            continue;
        }
        if (node_dial_invite(n, r, rec->public_key, &rec->dial, NULL) != 0) {
            pkc_logi(LOG, "seed %s (room %s) not dialed: %s", rec->peer_id, r->id, pkc_errmsg());
            continue;
        }
        pkc_logi(LOG, "dialing seed %s of room %s", rec->peer_id, r->id);
        dialed++;
    }
    char line[256];
    snprintf(line, sizeof line,
             "{\"event\":\"dnsseeds\",\"seeds\":%zu,\"dialed\":%zu,\"next_s\":%u}", s->n_found,
             dialed, ttl);
    node_control_event(n, "dnsseeds", line);
}

static void update_done(node_seeds *s)
{
    pkc_node *n = s->n;
    publication *p = s->job_pub;
    uint64_t now = node_now_us(n);
    json_t *o;
    if (s->update_rc == 0) {
        p->failures = 0;
        snprintf(p->last_line, sizeof p->last_line, "%s", s->job_line);
        uint32_t half = p->ttl_s / 2 ? p->ttl_s / 2 : 1;
        p->due_us = now + (uint64_t)half * 1000000u;
        pkc_logi(LOG, "published %s on %s (again in %u s)", p->owner, p->server_text, half);
        o = json_pack("{s:s, s:b, s:s, s:s, s:i}", "event", "dnspublish", "ok", 1, "owner",
                      p->owner, "server", p->server_text, "next_s", (int)half);
    } else {
        p->failures++;
        uint32_t again = backoff_s(p->failures);
        if (again > p->ttl_s / 2 && p->ttl_s >= 2)
            again = p->ttl_s / 2;
        p->due_us = now + (uint64_t)again * 1000000u;
        pkc_logw(LOG, "%s not published on %s: %s (again in %u s)", p->owner, p->server_text,
                 s->update_err, again);
        node_error(n, "DNS publish: %s", s->update_err);
        o = json_pack("{s:s, s:b, s:s, s:s, s:s}", "event", "dnspublish", "ok", 0, "owner",
                      p->owner, "server", p->server_text, "error", s->update_err);
    }
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (t)
        node_control_event(n, "dnspublish", t);
    free(t);
    json_decref(o);
}

static void after_work(uv_work_t *req, int status)
{
    node_seeds *s = req->data;
    s->busy = 0;
    /* Stopping: the result (a lookup cancelled) is of no use. */
    if (status == 0 && s->timer_open) {
        if (s->job_lookup)
            lookup_done(s);
        else
            update_done(s);
    }
    if (s->timer_open)
        schedule(s);
}

/* Starts the next job that is due, or arms the timer for it. */
static void on_timer(uv_timer_t *t)
{
    node_seeds *s = t->data;
    schedule(s);
}

static int start_job(node_seeds *s)
{
    s->req.data = s;
    if (uv_queue_work(&s->n->loop->uv, &s->req, on_work, after_work) != 0)
        return -1;
    s->busy = 1;
    return 0;
}

static void schedule(node_seeds *s)
{
    pkc_node *n = s->n;
    if (s->busy || !s->timer_open || n->stopping)
        return;
    uint64_t now = node_now_us(n);
    uint64_t next = UINT64_MAX;
    /* Updates first: a record that expires is lost to every reader. */
    for (size_t i = 0; i < s->n_pubs; i++) {
        publication *p = &s->pubs[i];
        if (p->due_us > now) {
            if (p->due_us < next)
                next = p->due_us;
            continue;
        }
        node_room *r = node_room_by_id(n, p->room_id);
        int len = r ? node_dns_line(n, r, p->domain, p->per_peer, p->ttl_s, s->job_line,
                                    sizeof s->job_line, NULL)
                    : pkc_error(PKC_ERR_NOT_FOUND, "the room was left");
        if (len < 0) {
            pkc_logw(LOG, "%s: no record to publish: %s", p->owner, pkc_errmsg());
            p->due_us = now + (uint64_t)backoff_s(++p->failures) * 1000000u;
            if (p->due_us < next)
                next = p->due_us;
            continue;
        }
        s->job_lookup = 0;
        s->job_pub = p;
        if (start_job(s) == 0)
            return;
    }
    if (s->n_domains && s->doh) {
        if (s->lookup_due_us <= now) {
            s->job_lookup = 1;
            if (start_job(s) == 0)
                return;
            s->lookup_due_us = now + 1000000u;
        }
        if (s->lookup_due_us < next)
            next = s->lookup_due_us;
    }
    if (next != UINT64_MAX)
        uv_timer_start(&s->timer, on_timer, (next - now + 999) / 1000, 0);
}

void node_seeds_start(pkc_node *n)
{
    node_seeds *s = n->seeds;
    if (s == NULL)
        return;
    uv_timer_init(&n->loop->uv, &s->timer);
    s->timer.data = s;
    s->timer_open = 1;
    s->lookup_due_us = 0;
    pkc_doh_cancel(s->doh, 0);
    schedule(s);
}

static void closed(uv_handle_t *h)
{
    (void)h;
}

void node_seeds_stop(pkc_node *n)
{
    node_seeds *s = n->seeds;
    if (s == NULL || !s->timer_open)
        return;
    s->timer_open = 0;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, closed);
    /* A lookup under way stops at once; an update within its timeout. */
    pkc_doh_cancel(s->doh, 1);
    while (s->busy)
        uv_run(&n->loop->uv, UV_RUN_ONCE);
}

/* --- pkc_node_dns_publish ---------------------------------------------------- */

typedef struct publish_args {
    pkc_node_dns_publish_options o;
    publication p;
    char owner[PKC_DNS_NAME_MAX + 1];
} publish_args;

static int do_publish(pkc_node *n, void *arg)
{
    publish_args *a = arg;
    node_room *r = node_room_find(n, a->o.room);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->o.room ? a->o.room : "");
    if (!n->timers_open || n->seeds == NULL || !n->seeds->timer_open)
        return pkc_error(PKC_ERR_STATE, "the node does not run: it has no address to publish");
    node_seeds *s = n->seeds;
    /* The record is made when it is sent (schedule): what it needs is here. */
    if (n->n_laddrs == 0)
        return pkc_error(PKC_ERR_STATE, "the node has no address to publish");
    int len =
        pkc_dnsrec_owner_name(a->o.domain, a->o.per_peer ? pkc_identity_get_peer_id(n->id) : NULL,
                              a->owner, sizeof a->owner);
    if (len < 0)
        return len;
    memcpy(a->p.room_id, r->key.id, PKC_ROOM_ID_BYTES);
    snprintf(a->p.owner, sizeof a->p.owner, "%s", a->owner);
    publication *p = NULL;
    for (size_t i = 0; i < s->n_pubs && !p; i++)
        if (strcmp(s->pubs[i].owner, a->owner) == 0 &&
            memcmp(s->pubs[i].room_id, r->key.id, PKC_ROOM_ID_BYTES) == 0)
            p = &s->pubs[i];
    if (p == NULL) {
        if (s->n_pubs >= PUBS_MAX)
            return pkc_error(PKC_ERR_TOO_LARGE, "at most %d DNS publications", PUBS_MAX);
        p = &s->pubs[s->n_pubs++];
    } else if (s->busy && !s->job_lookup && s->job_pub == p) {
        return pkc_error(PKC_ERR_AGAIN, "an update of %s is under way: try again", a->owner);
    } else {
        /* What the previous publication put there is deleted next time. */
        snprintf(a->p.last_line, sizeof a->p.last_line, "%s", p->last_line);
    }
    *p = a->p;
    p->due_us = 0;
    schedule(s);
    return 0;
}

static int server_addr(const char *text, publication *p)
{
    char host[80];
    const char *port;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - text - 1) >= sizeof host)
            return -1;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        port = end + 2;
    } else {
        const char *c = strrchr(text, ':');
        if (c == NULL || (size_t)(c - text) >= sizeof host)
            return -1;
        memcpy(host, text, (size_t)(c - text));
        host[c - text] = '\0';
        port = c + 1;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (port[0] == '\0' || getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
        return -1;
    memcpy(&p->server, res->ai_addr, res->ai_addrlen);
    p->server_len = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(p->server_text, sizeof p->server_text, "%s", text);
    return 0;
}

#define PUBLISH_SIZES PKC_STRUCT_V1(pkc_node_dns_publish_options)

int pkc_node_dns_publish_versioned(pkc_node *n, int options_version,
                                   const pkc_node_dns_publish_options *opts, char *owner_out)
{
    if (n == NULL || opts == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_dns_publish: node and options are "
                                              "required");
    publish_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = pkc_struct_read(&a->o, opts, options_version, PUBLISH_SIZES);
    if (rc == 0 && a->o.domain == NULL)
        rc = pkc_error(PKC_ERR_INVALID_ARG, "DNS publish: a domain (the zone) is required");
    if (rc == 0)
        rc = pkc_dns_domain_check(a->o.domain);
    if (rc == 0 && a->o.ttl_s > PKC_DNSREC_TTL_MAX)
        rc = pkc_error(PKC_ERR_INVALID_ARG, "TTL: at most 2^31 - 1 s, got %u", a->o.ttl_s);
    if (rc == 0 && (a->o.server == NULL || strlen(a->o.server) >= sizeof a->p.server_text ||
                    server_addr(a->o.server, &a->p) != 0))
        rc =
            pkc_error(PKC_ERR_INVALID_ARG, "DNS publish: server '%s' is not IP:PORT or [IPv6]:PORT",
                      a->o.server ? a->o.server : "");
    if (rc == 0 && a->o.tsig_key_file) {
        FILE *f = fopen(a->o.tsig_key_file, "r");
        char text[2048];
        size_t len = f ? fread(text, 1, sizeof text, f) : 0;
        if (f == NULL)
            rc = pkc_error(PKC_ERR_INVALID_ARG, "DNS publish: cannot read the TSIG key file %s",
                           a->o.tsig_key_file);
        else if ((rc = pkc_dns_tsig_key_parse(text, len, &a->p.key)) != 0)
            rc = pkc_error_wrap(rc, "DNS publish: %s", a->o.tsig_key_file);
        else
            a->p.has_key = 1;
        if (f)
            fclose(f);
    }
    if (rc == 0) {
        snprintf(a->p.domain, sizeof a->p.domain, "%s", a->o.domain);
        a->p.per_peer = a->o.per_peer;
        a->p.ttl_s = a->o.ttl_s ? a->o.ttl_s : PKC_DNSREC_TTL_DEFAULT;
        a->p.timeout_ms = a->o.timeout_ms ? a->o.timeout_ms : 5000;
        rc = node_call(n, do_publish, a);
    }
    if (rc == 0 && owner_out)
        snprintf(owner_out, PKC_DNS_OWNER_MAX, "%s", a->owner);
    pkc_memzero(&a->p.key, sizeof a->p.key);
    free(a);
    return rc;
}
