/*
 * awareness.c: the y-protocols awareness protocol (who is here, cursors):
 * per client a JSON state and a clock, as y-protocols/awareness.js.
 *
 *   update: varuint n, then n times: varuint client, varuint clock,
 *           varstring JSON.stringify(state)   ("null" = client left)
 *
 * States are kept as the JSON text JSON.stringify would write for them, so
 * what we send is what y-protocols would send. Time is passed in.
 */
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/item.h"
#include "crdt/val.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"

#define OUTDATED_MS 30000

const char pkc_yawareness_timeout_origin = 't';

typedef struct yaw_entry {
    uint64_t client;
    uint64_t clock;
    int64_t last_updated;
    int has_state;
    uint64_t order; /* when the state last appeared (y-protocols' Map order) */
    char *json; /* canonical JSON text of the state */
    size_t json_len;
    yv val;
} yaw_entry;

typedef struct yaw_obs {
    pkc_yawareness_fn fn;
    void *ud;
} yaw_obs;

struct pkc_yawareness {
    uint64_t client_id;
    uint64_t seq;
    yaw_entry *e; /* every client with meta (a clock), with or without state */
    size_t n, cap;
    yaw_obs *obs;
    size_t nobs, capobs;
};

static yaw_entry *find(const pkc_yawareness *aw, uint64_t client)
{
    for (size_t i = 0; i < aw->n; i++)
        if (aw->e[i].client == client)
            return &aw->e[i];
    return NULL;
}

static yaw_entry *get(pkc_yawareness *aw, uint64_t client)
{
    yaw_entry *e = find(aw, client);
    if (e)
        return e;
    yaw_entry ne;
    memset(&ne, 0, sizeof ne);
    ne.client = client;
    if (PKC_ARRAY_PUSH(aw->e, aw->n, aw->cap, ne))
        return NULL;
    return &aw->e[aw->n - 1];
}

static void clear_state(yaw_entry *e)
{
    free(e->json);
    e->json = NULL;
    e->json_len = 0;
    yv_clear(&e->val);
    e->has_state = 0;
}

/* Parses JSON text into a canonical text and value. */
static int canon(const char *s, size_t n, char **json, size_t *jlen, yv *val)
{
    int rc = yjson_parse(s, n, val);
    if (rc)
        return rc;
    pkc_buf b = PKC_BUF_INIT;
    if ((rc = yjson_write(&b, val)) == 0)
        rc = pkc_buf_push_u8(&b, 0);
    if (rc) {
        pkc_buf_free(&b);
        yv_clear(val);
        return rc;
    }
    size_t bn;
    *json = (char *)pkc_buf_steal(&b, &bn);
    *jlen = bn - 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

typedef struct ids {
    uint64_t *v;
    size_t n, cap;
} ids;

static int ids_push(ids *l, uint64_t x)
{
    return PKC_ARRAY_PUSH(l->v, l->n, l->cap, x) ? pkc_error_code(PKC_ERR_NOMEM) : 0;
}

static void emit(pkc_yawareness *aw, const ids *added, const ids *updated, const ids *filtered,
                 const ids *removed, const void *origin, int always_update)
{
    pkc_yawareness_change c;
    if (added->n || filtered->n || removed->n) {
        c.added = added->v, c.nadded = added->n;
        c.updated = filtered->v, c.nupdated = filtered->n;
        c.removed = removed->v, c.nremoved = removed->n;
        for (size_t i = 0; i < aw->nobs; i++)
            aw->obs[i].fn(aw->obs[i].ud, &c, origin, 0);
    }
    if (always_update || added->n || updated->n || removed->n) {
        c.added = added->v, c.nadded = added->n;
        c.updated = updated->v, c.nupdated = updated->n;
        c.removed = removed->v, c.nremoved = removed->n;
        for (size_t i = 0; i < aw->nobs; i++)
            aw->obs[i].fn(aw->obs[i].ud, &c, origin, 1);
    }
}

static void ids_free(ids *a, ids *b, ids *c, ids *d)
{
    free(a->v);
    free(b->v);
    free(c->v);
    free(d->v);
}

/* ------------------------------------------------------------------------ */

static int set_local(pkc_yawareness *aw, const char *json, int64_t now)
{
    char *cj = NULL;
    size_t cn = 0;
    yv val;
    memset(&val, 0, sizeof val);
    int rc;
    if (json && (rc = canon(json, strlen(json), &cj, &cn, &val)))
        return rc;
    yaw_entry *e = find(aw, aw->client_id);
    int had_meta = e != NULL;
    if ((e = get(aw, aw->client_id)) == NULL) {
        free(cj);
        yv_clear(&val);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    uint64_t clock = had_meta ? e->clock + 1 : 0;
    int had_state = e->has_state;
    yv prev = e->val;
    char *prevj = e->json;
    e->val.kind = PKC_YV_UNDEFINED;
    e->json = NULL;
    e->has_state = 0;
    if (json) {
        e->json = cj;
        e->json_len = cn;
        e->val = val;
        e->has_state = 1;
        if (!had_state)
            e->order = ++aw->seq;
    }
    e->clock = clock;
    e->last_updated = now;
    ids added = {0}, updated = {0}, filtered = {0}, removed = {0};
    rc = 0;
    if (json == NULL) {
        rc = ids_push(&removed, aw->client_id);
    } else if (!had_state) {
        rc = ids_push(&added, aw->client_id);
    } else {
        rc = ids_push(&updated, aw->client_id);
        if (rc == 0 && !yv_equal_deep(&prev, &e->val))
            rc = ids_push(&filtered, aw->client_id);
    }
    yv_clear(&prev);
    free(prevj);
    if (rc == 0)
        emit(aw, &added, &updated, &filtered, &removed, NULL, 1);
    ids_free(&added, &updated, &filtered, &removed);
    return rc;
}

int pkc_yawareness_new(uint64_t client_id, int64_t now_ms, pkc_yawareness **out)
{
    if (client_id > YC_MAX_CLIENT)
        return pkc_error(PKC_ERR_INVALID_ARG, "awareness client id above 2^53");
    pkc_yawareness *aw = calloc(1, sizeof *aw);
    if (aw == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    aw->client_id = client_id;
    int rc = set_local(aw, "{}", now_ms);
    if (rc) {
        pkc_yawareness_free(aw);
        return rc;
    }
    *out = aw;
    return 0;
}

void pkc_yawareness_free(pkc_yawareness *aw)
{
    if (aw == NULL)
        return;
    for (size_t i = 0; i < aw->n; i++)
        clear_state(&aw->e[i]);
    free(aw->e);
    free(aw->obs);
    free(aw);
}

int pkc_yawareness_observe(pkc_yawareness *aw, pkc_yawareness_fn fn, void *user_data)
{
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "awareness observer function is NULL");
    yaw_obs o = {fn, user_data};
    return PKC_ARRAY_PUSH(aw->obs, aw->nobs, aw->capobs, o) ? pkc_error_code(PKC_ERR_NOMEM) : 0;
}

int pkc_yawareness_set_local(pkc_yawareness *aw, const char *json, int64_t now_ms)
{
    return set_local(aw, json, now_ms);
}

const char *pkc_yawareness_get(const pkc_yawareness *aw, uint64_t client_id)
{
    const yaw_entry *e = find(aw, client_id);
    return e && e->has_state ? e->json : NULL;
}

/* Entries with a state, in the order their states appeared. */
static const yaw_entry **with_state(const pkc_yawareness *aw, size_t *n)
{
    const yaw_entry **v = malloc((aw->n ? aw->n : 1) * sizeof *v);
    *n = 0;
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < aw->n; i++) {
        if (!aw->e[i].has_state)
            continue;
        size_t j = (*n)++;
        while (j > 0 && v[j - 1]->order > aw->e[i].order) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = &aw->e[i];
    }
    return v;
}

size_t pkc_yawareness_get_clients(const pkc_yawareness *aw, uint64_t *out, size_t max)
{
    size_t n;
    const yaw_entry **v = with_state(aw, &n);
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = v[i]->client;
    free(v);
    return n;
}

static int encode(const pkc_yawareness *aw, const uint64_t *clients, size_t n, pkc_buf *b)
{
    const yaw_entry **all = NULL;
    size_t count = n;
    if (clients == NULL && (all = with_state(aw, &count)) == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    pkc_buf_push_varuint(b, count);
    for (size_t i = 0; i < count; i++) {
        const yaw_entry *e;
        if (clients) {
            if ((e = find(aw, clients[i])) == NULL)
                return pkc_error(PKC_ERR_NOT_FOUND, "no awareness clock for client %llu",
                                 (unsigned long long)clients[i]);
        } else {
            e = all[i];
        }
        pkc_buf_push_varuint(b, e->client);
        pkc_buf_push_varuint(b, e->clock);
        if (e->has_state)
            pkc_buf_push_varstring(b, e->json, e->json_len);
        else
            pkc_buf_push_varstring(b, "null", 4);
    }
    free(all);
    return b->err;
}

int pkc_yawareness_encode(const pkc_yawareness *aw, const uint64_t *clients, size_t n,
                                  uint8_t **out, size_t *out_len)
{
    pkc_buf b = PKC_BUF_INIT;
    int rc = encode(aw, clients, n, &b);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    *out = pkc_buf_steal(&b, out_len);
    return 0;
}

int pkc_yawareness_message(const pkc_yawareness *aw, const uint64_t *clients, size_t n,
                                   uint8_t **out, size_t *out_len)
{
    pkc_buf body = PKC_BUF_INIT, b = PKC_BUF_INIT;
    int rc = encode(aw, clients, n, &body);
    if (rc == 0) {
        pkc_buf_push_varuint(&b, PKC_YMSG_AWARENESS);
        rc = pkc_buf_push_varbytes(&b, body.data, body.len);
    }
    pkc_buf_free(&body);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    *out = pkc_buf_steal(&b, out_len);
    return 0;
}

typedef struct yaw_in {
    uint64_t client, clock;
    char *json;
    size_t json_len;
    yv val;
} yaw_in;

int yc_awareness_apply(pkc_yawareness *aw, pkc_reader *r, const void *origin, int64_t now)
{
    uint64_t n;
    int rc;
    if ((rc = pkc_reader_varuint(r, &n)))
        return rc;
    if (n > pkc_reader_left(r) / 3)
        return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu awareness states announced",
                         pkc_reader_offset(r), (unsigned long long)n);
    yaw_in *in = calloc(n ? n : 1, sizeof *in);
    if (in == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    /* decode everything first: bad input changes nothing */
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        const char *s;
        size_t sn;
        if ((rc = pkc_reader_varuint(r, &in[i].client)) || (rc = pkc_reader_varuint(r, &in[i].clock)) ||
            (rc = pkc_reader_varstring(r, &s, &sn)))
            break;
        if (in[i].client > YC_MAX_CLIENT || in[i].clock > YC_MAX_CLIENT)
            rc = pkc_error(PKC_ERR_RANGE, "offset %zu: awareness client or clock above 2^53",
                           pkc_reader_offset(r));
        else if ((rc = canon(s, sn, &in[i].json, &in[i].json_len, &in[i].val)))
            pkc_error_wrap(rc, "awareness state %llu", (unsigned long long)i);
    }
    if (rc == 0)
        rc = pkc_reader_finish(r);
    ids added = {0}, updated = {0}, filtered = {0}, removed = {0};
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        yaw_in *x = &in[i];
        int is_null = x->val.kind == PKC_YV_NULL;
        yaw_entry *e = find(aw, x->client);
        int had_meta = e != NULL;
        int had_state = e && e->has_state;
        uint64_t cur = e ? e->clock : 0;
        uint64_t clock = x->clock;
        if (!(cur < clock || (cur == clock && is_null && had_state)))
            continue;
        if ((e = get(aw, x->client)) == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            break;
        }
        yv prev;
        memset(&prev, 0, sizeof prev);
        if (is_null) {
            if (x->client == aw->client_id && e->has_state) {
                /* a peer may not remove our state: announce it again */
                clock++;
            } else {
                clear_state(e);
            }
        } else {
            prev = e->val;
            free(e->json);
            e->json = x->json;
            e->json_len = x->json_len;
            e->val = x->val;
            if (!e->has_state)
                e->order = ++aw->seq;
            e->has_state = 1;
            x->json = NULL;
            memset(&x->val, 0, sizeof x->val);
        }
        e->clock = clock;
        e->last_updated = now;
        if (!had_meta && !is_null) {
            rc = ids_push(&added, x->client);
        } else if (had_meta && is_null) {
            rc = ids_push(&removed, x->client);
        } else if (!is_null) {
            if (!had_state || !yv_equal_deep(&e->val, &prev))
                rc = ids_push(&filtered, x->client);
            if (rc == 0)
                rc = ids_push(&updated, x->client);
        }
        yv_clear(&prev);
    }
    if (rc == 0)
        emit(aw, &added, &updated, &filtered, &removed, origin, 0);
    ids_free(&added, &updated, &filtered, &removed);
    for (uint64_t i = 0; i < n; i++) {
        free(in[i].json);
        yv_clear(&in[i].val);
    }
    free(in);
    return rc;
}

int pkc_yawareness_apply(pkc_yawareness *aw, const uint8_t *update, size_t len,
                                 const void *origin, int64_t now_ms)
{
    pkc_reader r;
    pkc_reader_init(&r, update, len);
    return yc_awareness_apply(aw, &r, origin, now_ms);
}

int pkc_yawareness_remove(pkc_yawareness *aw, const uint64_t *clients, size_t n,
                                  const void *origin, int64_t now_ms)
{
    ids added = {0}, updated = {0}, filtered = {0}, removed = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaw_entry *e = find(aw, clients[i]);
        if (e == NULL || !e->has_state)
            continue;
        clear_state(e);
        if (clients[i] == aw->client_id) {
            e->clock++;
            e->last_updated = now_ms;
        }
        rc = ids_push(&removed, clients[i]);
    }
    if (rc == 0 && removed.n)
        emit(aw, &added, &updated, &filtered, &removed, origin, 0);
    ids_free(&added, &updated, &filtered, &removed);
    return rc;
}

int64_t pkc_yawareness_check(pkc_yawareness *aw, int64_t now_ms)
{
    yaw_entry *me = find(aw, aw->client_id);
    if (me && me->has_state && OUTDATED_MS / 2 <= now_ms - me->last_updated) {
        char *j = malloc(me->json_len + 1);
        if (j) {
            memcpy(j, me->json, me->json_len + 1);
            set_local(aw, j, now_ms); /* renew our clock */
            free(j);
        }
    }
    uint64_t *rm = NULL;
    size_t nrm = 0, caprm = 0;
    for (size_t i = 0; i < aw->n; i++) {
        yaw_entry *e = &aw->e[i];
        if (e->client != aw->client_id && OUTDATED_MS <= now_ms - e->last_updated && e->has_state)
            if (PKC_ARRAY_PUSH(rm, nrm, caprm, e->client))
                break;
    }
    if (nrm && pkc_yawareness_remove(aw, rm, nrm, PKC_YAWARENESS_TIMEOUT, now_ms))
        nrm = 0; /* out of memory: try again next time */
    free(rm);
    return OUTDATED_MS / 10;
}

int yc_sync_read(pkc_ydoc *doc, pkc_reader *r, const void *origin, pkc_buf *reply, int *type);

int pkc_yprovider_read(pkc_ydoc *doc, pkc_yawareness *aw, const uint8_t *msg, size_t len,
                               const void *origin, int64_t now_ms, uint8_t **reply,
                               size_t *reply_len, int *type)
{
    pkc_reader r;
    uint64_t t;
    pkc_buf out = PKC_BUF_INIT;
    int rc;
    pkc_reader_init(&r, msg, len);
    if ((rc = pkc_reader_varuint(&r, &t)))
        return rc;
    if (type)
        *type = t > 255 ? 255 : (int)t;
    switch (t) {
    case PKC_YMSG_SYNC: {
        pkc_buf body = PKC_BUF_INIT;
        rc = yc_sync_read(doc, &r, origin, &body, NULL);
        if (rc == 0 && body.len) {
            pkc_buf_push_varuint(&out, PKC_YMSG_SYNC);
            rc = pkc_buf_push(&out, body.data, body.len);
        }
        pkc_buf_free(&body);
        break;
    }
    case PKC_YMSG_AWARENESS: {
        pkc_reader sub;
        if ((rc = pkc_reader_block(&r, &sub)) == 0 && (rc = pkc_reader_finish(&r)) == 0 && aw)
            rc = yc_awareness_apply(aw, &sub, origin, now_ms);
        break;
    }
    case PKC_YMSG_QUERY_AWARENESS:
        if ((rc = pkc_reader_finish(&r)) == 0 && aw) {
            pkc_buf body = PKC_BUF_INIT;
            if ((rc = encode(aw, NULL, 0, &body)) == 0) {
                pkc_buf_push_varuint(&out, PKC_YMSG_AWARENESS);
                rc = pkc_buf_push_varbytes(&out, body.data, body.len);
            }
            pkc_buf_free(&body);
        }
        break;
    default:
        rc = pkc_error(PKC_ERR_UNSUPPORTED, "provider message type %llu", (unsigned long long)t);
    }
    if (rc || out.len == 0) {
        pkc_buf_free(&out);
        if (rc == 0) {
            *reply = NULL;
            *reply_len = 0;
        }
        return rc;
    }
    *reply = pkc_buf_steal(&out, reply_len);
    return 0;
}
