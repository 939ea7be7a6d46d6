/*
 * doh.c: DNS over HTTPS lookups of seed records (RFC 8484) through libcurl
 * (doh.h, pkc.h "DNS seed lookup"). The DNS messages are ldns's
 * (src/discovery/dnsmsg.c); this file moves them over HTTPS and keeps the
 * cache.
 */
#define _GNU_SOURCE
#include "node/doh.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The types and constants only: the functions come through dlopen(). */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "discovery/dnsmsg.h"
#include "util/err.h"
#include "util/log.h"
#include "util/text.h"
#include "util/versioned.h"

#define LOG "doh"
#define RESOLVERS_MAX 8
/* Answers cached at most: the oldest goes first. */
#define CACHE_MAX 64
/* Keys whose highest sequence we remember. */
#define SEEN_MAX 256

typedef struct cache_entry {
    char owner[PKC_DNS_NAME_MAX + 2];
    uint64_t expires_us, stored_us;
    pkc_dnsrec *recs;
    size_t n;
} cache_entry;

typedef struct seen_key {
    uint8_t pk[PKC_PUBLIC_KEY_BYTES];
    uint64_t sequence;
} seen_key;

struct pkc_doh {
    char *resolvers[RESOLVERS_MAX];
    size_t n_resolvers;
    char *ca_file;
    uint32_t timeout_ms;
    int post;
    const pkc_clock *clock;
    atomic_int cancel;              /* pkc_doh_cancel: transfers under way stop */
    pkc_doh_transport_fn transport; /* tests: instead of HTTPS */
    void *transport_ud;
    pthread_mutex_t lock;
    cache_entry cache[CACHE_MAX];
    size_t n_cache;
    seen_key seen[SEEN_MAX];
    size_t n_seen;
};

#define CONFIG_SIZES PKC_STRUCT_V1(pkc_doh_config)
#define SEED_SIZES PKC_STRUCT_V1(pkc_dns_seed)

void pkc_doh_config_default_versioned(int config_version, pkc_doh_config *cfg)
{
    pkc_doh_config c;
    memset(&c, 0, sizeof c);
    c.timeout_ms = 5000;
    pkc_struct_write(cfg, &c, config_version, CONFIG_SIZES);
}

/* libcurl is opened with dlopen() the first time a resolver is set up, not
 * linked: it brings about 30 libraries (GnuTLS, Kerberos, LDAP, SSH, RTMP,
 * ...) that would be mapped into every process of libpkc, about 4 MB of
 * resident memory for the nodes that never use DNS seeds (docs/discovery.md). */
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} cu;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_why[256]; /* why libcurl cannot serve: "" when it can */

static void curl_init(void)
{
    void *lib = dlopen(PKC_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(curl_why, sizeof curl_why, "%s (Debian package libcurl4)", dlerror());
        return;
    }
#define CU(field, name)                                                                            \
    if ((*(void **)&cu.field = dlsym(lib, name)) == NULL) {                                        \
        snprintf(curl_why, sizeof curl_why, "%s has no %s", PKC_CURL_SONAME, name);               \
        return;                                                                                    \
    }
    CU(global_init, "curl_global_init")
    CU(easy_init, "curl_easy_init")
    CU(easy_setopt, "curl_easy_setopt")
    CU(easy_perform, "curl_easy_perform")
    CU(easy_getinfo, "curl_easy_getinfo")
    CU(easy_cleanup, "curl_easy_cleanup")
    CU(easy_strerror, "curl_easy_strerror")
    CU(slist_append, "curl_slist_append")
    CU(slist_free_all, "curl_slist_free_all")
#undef CU
    /* Never closed: libcurl keeps global state until the process ends. */
    CURLcode rc = cu.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        snprintf(curl_why, sizeof curl_why, "%s", cu.easy_strerror(rc));
}

void pkc_doh_free(pkc_doh *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_resolvers; i++)
        free(d->resolvers[i]);
    for (size_t i = 0; i < d->n_cache; i++)
        free(d->cache[i].recs);
    free(d->ca_file);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int pkc_doh_new_versioned(int config_version, const pkc_doh_config *cfg, const pkc_clock *clock,
                          pkc_doh **out)
{
    if (cfg == NULL || clock == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_doh_new: config, clock and out are required");
    pkc_doh_config c;
    pkc_doh_config_default_versioned(PKC_DOH_CONFIG_VERSION, &c);
    int rc = pkc_struct_read(&c, cfg, config_version, CONFIG_SIZES);
    if (rc)
        return rc;
    if (c.n_resolvers == 0 || c.resolvers == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS over HTTPS: no resolver given");
    if (c.n_resolvers > RESOLVERS_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS over HTTPS: %zu resolvers, at most %d",
                         c.n_resolvers, RESOLVERS_MAX);
    for (size_t i = 0; i < c.n_resolvers; i++) {
        const char *u = c.resolvers[i];
        if (u == NULL || strncmp(u, "https://", 8) != 0 || strlen(u) < 9 || strlen(u) > 2048)
            return pkc_error(PKC_ERR_INVALID_ARG,
                             "DNS over HTTPS: resolver '%s' is not an https:// URL", u ? u : "");
    }
    if (c.ca_file) {
        FILE *f = fopen(c.ca_file, "r");
        if (f == NULL)
            return pkc_error(PKC_ERR_INVALID_ARG, "DNS over HTTPS: cannot read the CA file %s",
                             c.ca_file);
        fclose(f);
    }
    if (c.timeout_ms == 0)
        c.timeout_ms = 5000;
    pthread_once(&curl_once, curl_init);
    if (curl_why[0])
        return pkc_error(PKC_ERR_IO, "DNS over HTTPS: libcurl: %s", curl_why);
    pkc_doh *d = calloc(1, sizeof *d);
    if (d == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    pthread_mutex_init(&d->lock, NULL);
    d->timeout_ms = c.timeout_ms;
    d->post = c.post;
    d->clock = clock;
    for (size_t i = 0; i < c.n_resolvers; i++) {
        if ((d->resolvers[i] = strdup(c.resolvers[i])) == NULL) {
            pkc_doh_free(d);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        d->n_resolvers++;
    }
    if (c.ca_file && (d->ca_file = strdup(c.ca_file)) == NULL) {
        pkc_doh_free(d);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    *out = d;
    return 0;
}

/* --- One exchange --------------------------------------------------------- */

typedef struct body {
    uint8_t *data;
    size_t len;
    int too_large;
} body;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body *b = ud;
    size_t n = size * nmemb;
    if (n > PKC_DNSMSG_MAX - b->len) {
        b->too_large = 1;
        return 0; /* curl stops: CURLE_WRITE_ERROR */
    }
    uint8_t *p = realloc(b->data, b->len + n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->len, ptr, n);
    b->data = p;
    b->len += n;
    return n;
}

void pkc_doh_set_transport(pkc_doh *d, pkc_doh_transport_fn fn, void *user_data)
{
    d->transport = fn;
    d->transport_ud = user_data;
}

void pkc_doh_cancel(pkc_doh *d, int on)
{
    if (d)
        atomic_store(&d->cancel, on);
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    pkc_doh *d = ud;
    return atomic_load(&d->cancel) ? 1 : 0; /* non-zero: curl aborts the transfer */
}

/* Asks `url` for the answer to `query`: 0 with the body in *b, or an
 * error with the reason. */
static int exchange(pkc_doh *d, const char *url, const uint8_t *query, size_t qlen, body *b)
{
    CURL *h = cu.easy_init();
    if (h == NULL)
        return pkc_error(PKC_ERR_NOMEM, "libcurl cannot make a handle");
    char *full = NULL;
    struct curl_slist *hdr = cu.slist_append(NULL, "Accept: application/dns-message");
    if (d->post) {
        hdr = hdr ? cu.slist_append(hdr, "Content-Type: application/dns-message") : NULL;
        cu.easy_setopt(h, CURLOPT_URL, url);
        cu.easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)query);
        cu.easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)qlen);
    } else {
        /* RFC 8484 4.1: dns= the base64url of the query, no padding. */
        size_t enc = pkc_base64url_encoded_len(qlen);
        size_t cap = strlen(url) + 6 + enc + 1;
        if ((full = malloc(cap)) != NULL) {
            int k = snprintf(full, cap, "%s%cdns=", url, strchr(url, '?') ? '&' : '?');
            pkc_base64url_encode(full + k, cap - (size_t)k, query, qlen);
        }
        cu.easy_setopt(h, CURLOPT_URL, full ? full : url);
    }
    if (hdr == NULL || (!d->post && full == NULL)) {
        cu.slist_free_all(hdr);
        free(full);
        cu.easy_cleanup(h);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    cu.easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    cu.easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    cu.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    cu.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (d->ca_file)
        cu.easy_setopt(h, CURLOPT_CAINFO, d->ca_file);
    cu.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
    cu.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)d->timeout_ms);
    cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    cu.easy_setopt(h, CURLOPT_USERAGENT, "pkc");
    cu.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    cu.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    cu.easy_setopt(h, CURLOPT_XFERINFODATA, d);
    cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    cu.easy_setopt(h, CURLOPT_WRITEDATA, b);
    CURLcode cc = cu.easy_perform(h);
    int rc = 0;
    long status = 0;
    char *ctype = NULL;
    if (cc != CURLE_OK) {
        int code = cc == CURLE_OPERATION_TIMEDOUT ? PKC_ERR_TIMEOUT : PKC_ERR_IO;
        if (b->too_large)
            rc = pkc_error(PKC_ERR_TOO_LARGE, "an answer of more than %d bytes", PKC_DNSMSG_MAX);
        else if (cc == CURLE_ABORTED_BY_CALLBACK)
            rc = pkc_error(PKC_ERR_CLOSED, "cancelled: the node stops");
        else
            rc = pkc_error(code, "%s%s", cu.easy_strerror(cc),
                           cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE
                               ? " (the resolver's certificate does not verify)"
                               : "");
    } else {
        long version = 0;
        cu.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        cu.easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
        cu.easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
        pkc_logd(LOG, "%s: HTTP/%s %ld, %zu bytes", url,
                 version == CURL_HTTP_VERSION_2_0   ? "2"
                 : version == CURL_HTTP_VERSION_1_1 ? "1.1"
                                                    : "?",
                 status, b->len);
        if (status != 200)
            rc = pkc_error(PKC_ERR_IO, "HTTP status %ld", status);
        else if (ctype == NULL || strncasecmp(ctype, "application/dns-message", 23) != 0)
            rc = pkc_error(PKC_ERR_MALFORMED, "content type '%s', not application/dns-message",
                           ctype ? ctype : "(none)");
    }
    cu.slist_free_all(hdr);
    free(full);
    cu.easy_cleanup(h);
    return rc;
}

/* --- Records -------------------------------------------------------------- */

typedef struct collect {
    pkc_doh *d;
    const char *owner, *peer_id, *resolver;
    pkc_dnsrec recs[PKC_DOH_RECORDS_MAX];
    size_t n;
} collect;

static uint64_t seen_get(pkc_doh *d, const uint8_t pk[PKC_PUBLIC_KEY_BYTES])
{
    for (size_t i = 0; i < d->n_seen; i++)
        if (memcmp(d->seen[i].pk, pk, PKC_PUBLIC_KEY_BYTES) == 0)
            return d->seen[i].sequence;
    return 0;
}

static void seen_put(pkc_doh *d, const uint8_t pk[PKC_PUBLIC_KEY_BYTES], uint64_t seq)
{
    for (size_t i = 0; i < d->n_seen; i++)
        if (memcmp(d->seen[i].pk, pk, PKC_PUBLIC_KEY_BYTES) == 0) {
            if (seq > d->seen[i].sequence)
                d->seen[i].sequence = seq;
            return;
        }
    size_t at = d->n_seen < SEEN_MAX ? d->n_seen++ : (size_t)(seq % SEEN_MAX);
    memcpy(d->seen[at].pk, pk, PKC_PUBLIC_KEY_BYTES);
    d->seen[at].sequence = seq;
}

static void on_txt(void *ud, const pkc_dnsrec_txt *s, size_t n, uint32_t ttl)
{
    (void)ttl;
    collect *c = ud;
    pkc_dnsrec rec;
    if (pkc_dnsrec_parse_txt(s, n, &rec) != 0) {
        /* Another kind of TXT record at the name is no concern of ours. */
        if (pkc_errmsg()[0] && strstr(pkc_errmsg(), "not a pkc record") == NULL)
            pkc_logw(LOG, "%s from %s: record refused: %s", c->owner, c->resolver, pkc_errmsg());
        return;
    }
    /* The room is the caller's to check; the peer and the sequence here.
     * The same record again (an equal sequence) is no older. */
    uint64_t last = seen_get(c->d, rec.public_key);
    int rc = pkc_dnsrec_check(&rec, rec.room_id, c->peer_id, 0);
    if (rc == 0 && rec.sequence < last)
        rc = pkc_error(PKC_ERR_STALE,
                       "dns record: older record ignored: sequence %llu, %llu "
                       "already seen",
                       (unsigned long long)rec.sequence, (unsigned long long)last);
    if (rc != 0) {
        pkc_logw(LOG, "%s from %s: record of %s refused: %s", c->owner, c->resolver, rec.peer_id,
                 pkc_errmsg());
        return;
    }
    /* Two records of one key in an answer: the newer only. */
    for (size_t i = 0; i < c->n; i++)
        if (memcmp(c->recs[i].public_key, rec.public_key, PKC_PUBLIC_KEY_BYTES) == 0) {
            if (rec.sequence > c->recs[i].sequence)
                c->recs[i] = rec;
            return;
        }
    if (c->n >= PKC_DOH_RECORDS_MAX) {
        pkc_logw(LOG, "%s: more than %d seeds, the rest ignored", c->owner, PKC_DOH_RECORDS_MAX);
        return;
    }
    c->recs[c->n++] = rec;
}

static uint64_t now_us(const pkc_doh *d)
{
    return d->clock->mono_us(d->clock->user_data);
}

static cache_entry *cache_find(pkc_doh *d, const char *owner, uint64_t now)
{
    for (size_t i = 0; i < d->n_cache; i++) {
        cache_entry *e = &d->cache[i];
        if (strcasecmp(e->owner, owner) != 0)
            continue;
        if (now < e->expires_us)
            return e;
        free(e->recs);
        d->cache[i] = d->cache[--d->n_cache];
        return NULL;
    }
    return NULL;
}

static void cache_put(pkc_doh *d, const char *owner, const pkc_dnsrec *recs, size_t n, uint32_t ttl,
                      uint64_t now)
{
    if (ttl == 0 || n == 0)
        return;
    pkc_dnsrec *copy = malloc(n * sizeof *copy);
    if (copy == NULL)
        return; /* not cached: asked again next time */
    memcpy(copy, recs, n * sizeof *copy);
    cache_entry *e = NULL;
    for (size_t i = 0; i < d->n_cache && !e; i++)
        if (strcasecmp(d->cache[i].owner, owner) == 0)
            e = &d->cache[i];
    if (e == NULL && d->n_cache < CACHE_MAX) {
        e = &d->cache[d->n_cache++];
        memset(e, 0, sizeof *e);
    }
    if (e == NULL) { /* full: the one that expires first goes */
        e = &d->cache[0];
        for (size_t i = 1; i < d->n_cache; i++)
            if (d->cache[i].expires_us < e->expires_us)
                e = &d->cache[i];
    }
    free(e->recs);
    snprintf(e->owner, sizeof e->owner, "%s", owner);
    e->recs = copy;
    e->n = n;
    e->stored_us = now;
    e->expires_us = now + (uint64_t)ttl * 1000000u;
}

int pkc_doh_lookup_records(pkc_doh *d, const char *owner, const char *peer_id, pkc_dnsrec *out,
                           size_t max, uint32_t *ttl_s, int *cached)
{
    if (d == NULL || owner == NULL || (out == NULL && max))
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS over HTTPS: NULL argument");
    pthread_mutex_lock(&d->lock);
    uint64_t now = now_us(d);
    cache_entry *e = cache_find(d, owner, now);
    if (e) {
        size_t k = e->n < max ? e->n : max;
        memcpy(out, e->recs, k * sizeof *out);
        if (ttl_s)
            *ttl_s = (uint32_t)((e->expires_us - now + 999999) / 1000000u);
        if (cached)
            *cached = 1;
        pthread_mutex_unlock(&d->lock);
        pkc_logd(LOG, "%s: %zu records from the cache", owner, k);
        return (int)k;
    }
    pthread_mutex_unlock(&d->lock);

    uint8_t *q = NULL;
    size_t qlen = 0;
    int rc = pkc_dnsmsg_query(owner, 16 /* TXT */, &q, &qlen);
    if (rc)
        return rc;
    collect *c = calloc(1, sizeof *c);
    if (c == NULL) {
        free(q);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    c->d = d;
    c->owner = owner;
    c->peer_id = peer_id;
    char why[300] = "";
    int last = PKC_ERR_IO;
    uint32_t ttl = 0;
    int answered = 0;
    for (size_t i = 0; i < d->n_resolvers && !answered && !atomic_load(&d->cancel); i++) {
        body b = {0};
        c->resolver = d->resolvers[i];
        if (d->transport)
            rc = d->transport(d->transport_ud, d->resolvers[i], q, qlen, &b.data, &b.len);
        else
            rc = exchange(d, d->resolvers[i], q, qlen, &b);
        if (rc == 0) {
            c->n = 0;
            pthread_mutex_lock(&d->lock); /* on_txt reads the sequences seen */
            rc = pkc_dnsmsg_parse_txt(b.data, b.len, owner, on_txt, c, &ttl);
            pthread_mutex_unlock(&d->lock);
        }
        free(b.data);
        if (rc >= 0 || rc == PKC_ERR_NOT_FOUND) {
            /* An answer: the name has these records, or none. */
            answered = 1;
            last = rc < 0 ? rc : 0;
            snprintf(why, sizeof why, "%s", rc < 0 ? pkc_errmsg() : "");
            break;
        }
        last = rc;
        snprintf(why, sizeof why, "resolver %s: %s", d->resolvers[i], pkc_errmsg());
        pkc_logw(LOG, "%s: no answer from %s: %s%s", owner, d->resolvers[i], pkc_errmsg(),
                 i + 1 < d->n_resolvers ? " (trying the next resolver)" : "");
    }
    free(q);
    if (!answered) {
        free(c);
        return pkc_error(last == PKC_ERR_TIMEOUT ? PKC_ERR_TIMEOUT : PKC_ERR_IO,
                         "DNS over HTTPS: no resolver answered for %s (last: %s)", owner, why);
    }
    if (last < 0) {
        free(c);
        return pkc_error(last, "DNS over HTTPS: %s", why);
    }
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < c->n; i++)
        seen_put(d, c->recs[i].public_key, c->recs[i].sequence);
    cache_put(d, owner, c->recs, c->n, ttl, now_us(d));
    pthread_mutex_unlock(&d->lock);
    size_t k = c->n < max ? c->n : max;
    if (k)
        memcpy(out, c->recs, k * sizeof *out);
    if (ttl_s)
        *ttl_s = ttl;
    if (cached)
        *cached = 0;
    pkc_logi(LOG, "%s: %zu seed records (TTL %u s)", owner, c->n, ttl);
    free(c);
    return (int)k;
}

int pkc_doh_lookup_versioned(pkc_doh *d, const char *domain, const char *peer_id, int seed_version,
                             pkc_dns_seed *out, size_t max)
{
    if (d == NULL || domain == NULL || (out == NULL && max))
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_doh_lookup: NULL argument");
    int rc = pkc_struct_check(seed_version, SEED_SIZES);
    if (rc)
        return rc;
    char owner[PKC_DNS_NAME_MAX + 1];
    if ((rc = pkc_dnsrec_owner_name(domain, peer_id, owner, sizeof owner)) < 0)
        return rc;
    pkc_dnsrec *recs = calloc(PKC_DOH_RECORDS_MAX, sizeof *recs);
    if (recs == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    uint32_t ttl = 0;
    int cached = 0;
    rc = pkc_doh_lookup_records(d, owner, peer_id, recs, PKC_DOH_RECORDS_MAX, &ttl, &cached);
    size_t k = 0;
    for (int i = 0; rc > 0 && i < rc && k < max; i++, k++) {
        pkc_dns_seed s;
        memset(&s, 0, sizeof s);
        snprintf(s.peer_id, sizeof s.peer_id, "%s", recs[i].peer_id);
        pkc_hex_encode(s.room, recs[i].room_id, PKC_ROOM_ID_BYTES);
        s.sequence = recs[i].sequence;
        s.ttl_s = ttl;
        s.cached = cached;
        s.n_addresses = recs[i].dial.n_addresses;
        for (size_t j = 0; j < s.n_addresses && j < 8; j++)
            snprintf(s.addresses[j], sizeof s.addresses[j], "%s", recs[i].dial.addresses[j]);
        /* Version 1 is the only layout so far: its size is the stride. */
        pkc_struct_write(&out[k], &s, seed_version, SEED_SIZES);
    }
    free(recs);
    return rc < 0 ? rc : (int)k;
}
