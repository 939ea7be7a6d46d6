/*
 * Fuzzes what `pkc yjs replay` reads traces with (cli/ytrace.c):
 *
 * - the reader gives the same events, result and message whatever chunks
 *   its bytes come in (all at once, or cut at sizes drawn from the input;
 *   each chunk in a buffer of its own, so reading past one or keeping one
 *   too long is a sanitizer report);
 * - it agrees with jansson: a trace it accepts, jansson reads as the same
 *   trace; JSON that jansson accepts (duplicate keys rejected) and that is
 *   a trace within the documented limits, it accepts;
 * - the code point -> UTF-16 map gives, after every edit of an accepted
 *   trace and of an edit script drawn from the same bytes, the positions
 *   that a plain array of code points gives.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ytrace.h"

static void must(int cond)
{
    if (!cond)
        abort();
}

/* ---- events as bytes ---------------------------------------------------- */

typedef struct log {
    uint8_t *b;
    size_t n, cap;
} log_t;

static void put(log_t *l, const void *p, size_t n)
{
    if (l->cap - l->n < n) {
        size_t cap = l->cap ? l->cap : 256;
        while (cap - l->n < n)
            cap *= 2;
        l->b = realloc(l->b, cap);
        must(l->b != NULL);
        l->cap = cap;
    }
    if (n)
        memcpy(l->b + l->n, p, n);
    l->n += n;
}

static int same(const log_t *a, const log_t *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->b, b->b, a->n) == 0);
}

static void put_u64(log_t *l, uint64_t v)
{
    put(l, &v, sizeof v);
}

static void put_str(log_t *l, char tag, const char *s, size_t n)
{
    put(l, &tag, 1);
    put_u64(l, n);
    put(l, s, n);
}

/* ---- the reader, in chunks ---------------------------------------------- */

typedef struct src {
    const uint8_t *data;
    size_t size, off;
    const uint8_t *cuts; /* chunk sizes are 1 + cuts[i % ncuts] % 13; NULL: all at once */
    size_t ncuts, i;
    uint8_t *chunk;
    log_t log;
} src;

static int src_read(void *user, const uint8_t **p, size_t *n)
{
    src *s = user;
    free(s->chunk);
    s->chunk = NULL;
    size_t k = s->size - s->off;
    if (s->cuts && k > 1u + s->cuts[s->i % s->ncuts] % 13u)
        k = 1u + s->cuts[s->i % s->ncuts] % 13u;
    s->i++;
    if (k) {
        s->chunk = malloc(k);
        must(s->chunk != NULL);
        memcpy(s->chunk, s->data + s->off, k);
        s->off += k;
    }
    *p = s->chunk;
    *n = k;
    return 0;
}

static int on_start(void *u, const char *s, size_t n)
{
    put_str(&((src *)u)->log, 'S', s, n);
    return 0;
}

static int on_end(void *u, const char *s, size_t n)
{
    put_str(&((src *)u)->log, 'E', s, n);
    return 0;
}

static int on_begin(void *u)
{
    put(&((src *)u)->log, "B", 1);
    return 0;
}

static int on_patch(void *u, uint64_t pos, uint64_t del, const char *s, size_t n)
{
    src *x = u;
    put(&x->log, "P", 1);
    put_u64(&x->log, pos);
    put_u64(&x->log, del);
    put_str(&x->log, 's', s, n);
    return 0;
}

static int on_commit(void *u)
{
    put(&((src *)u)->log, "T", 1);
    return 0;
}

static int parse(src *s, char *err, size_t errsize)
{
    ytrace_handler h = {src_read, on_start, on_end, on_begin, on_patch, on_commit, s};
    int rc = ytrace_parse(&h, err, errsize);
    free(s->chunk);
    s->chunk = NULL;
    return rc;
}

/* ---- the same trace from jansson's tree ---------------------------------- */

static int is_key(void *it, const char *name)
{
    return json_object_iter_key_len(it) == strlen(name) &&
           memcmp(json_object_iter_key(it), name, strlen(name)) == 0;
}

static int uint_ok(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0 &&
           (uint64_t)json_integer_value(v) <= YTRACE_MAX_INT;
}

/* 1 and the events if `t` is a trace as ytrace_parse documents it. */
static int jansson_log(json_t *t, log_t *l)
{
    if (!json_is_object(t))
        return 0;
    int txns = 0;
    for (void *it = json_object_iter(t); it; it = json_object_iter_next(t, it)) {
        json_t *v = json_object_iter_value(it);
        if (is_key(it, "startContent") || is_key(it, "endContent")) {
            if (!json_is_string(v))
                return 0;
            put_str(l, is_key(it, "startContent") ? 'S' : 'E', json_string_value(v),
                    json_string_length(v));
        } else if (is_key(it, "txns")) {
            txns = 1;
            if (!json_is_array(v))
                return 0;
            for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *tx = json_array_get(v, i);
                json_t *ps = json_object_get(tx, "patches");
                if (!json_is_object(tx) || !json_is_array(ps))
                    return 0;
                put(l, "B", 1);
                for (size_t j = 0; j < json_array_size(ps); j++) {
                    json_t *p = json_array_get(ps, j);
                    json_t *ins = json_array_get(p, 2);
                    if (!json_is_array(p) || json_array_size(p) != 3 ||
                        !uint_ok(json_array_get(p, 0)) || !uint_ok(json_array_get(p, 1)) ||
                        !json_is_string(ins))
                        return 0;
                    put(l, "P", 1);
                    put_u64(l, (uint64_t)json_integer_value(json_array_get(p, 0)));
                    put_u64(l, (uint64_t)json_integer_value(json_array_get(p, 1)));
                    put_str(l, 's', json_string_value(ins), json_string_length(ins));
                }
                put(l, "T", 1);
            }
        }
    }
    return txns;
}

static size_t depth(json_t *v)
{
    size_t d = 0;
    if (json_is_object(v))
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            size_t k = depth(json_object_iter_value(it));
            d = k > d ? k : d;
        }
    else if (json_is_array(v))
        for (size_t i = 0; i < json_array_size(v); i++) {
            size_t k = depth(json_array_get(v, i));
            d = k > d ? k : d;
        }
    else
        return 0;
    return d + 1;
}

/* ---- the map against an array of code points ----------------------------- */

typedef struct model {
    uint8_t *u; /* UTF-16 units of each code point: 1 or 2 */
    size_t n, cap;
} model;

/* The map's and the model's edit; 0 if both refused it as out of range. */
static int both_edit(ytrace_map *m, model *x, uint64_t pos, uint64_t del, const char *s, size_t n)
{
    uint64_t upos = 0, udel = 0;
    int e = ytrace_map_edit(m, pos, del, s, n, &upos, &udel);
    if (pos > x->n || del > x->n - pos) {
        must(e == -1);
        must(ytrace_map_len(m) == x->n);
        return 0;
    }
    must(e == 0);
    uint64_t want = 0, wdel = 0;
    for (size_t i = 0; i < pos; i++)
        want += x->u[i];
    for (size_t i = pos; i < pos + del; i++)
        wdel += x->u[i];
    must(upos == want && udel == wdel);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((uint8_t)s[i] & 0xc0) != 0x80;
    if (x->u == NULL || x->n - del + k > x->cap) {
        x->cap = (x->n - del + k) * 2 + 16;
        x->u = realloc(x->u, x->cap);
        must(x->u != NULL);
    }
    memmove(x->u + pos + k, x->u + pos + del, x->n - pos - del);
    for (size_t i = 0, j = pos; i < n; i++)
        if (((uint8_t)s[i] & 0xc0) != 0x80)
            x->u[j++] = (uint8_t)s[i] >= 0xf0 ? 2 : 1;
    x->n = x->n - del + k;
    uint64_t len16 = 0;
    for (size_t i = 0; i < x->n; i++)
        len16 += x->u[i];
    must(ytrace_map_len(m) == x->n && ytrace_map_len16(m) == len16);
    return 1;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Replays the events of an accepted trace into the map, as replay does. */
static void replay_log(const log_t *l)
{
    ytrace_map m;
    model x = {NULL, 0, 0};
    ytrace_map_init(&m);
    int txns = 0;
    for (size_t i = 0; i < l->n;) {
        char tag = (char)l->b[i++];
        if (tag == 'S' || tag == 'E') {
            uint64_t n = get_u64(l->b + i);
            if (tag == 'S' && !txns && !both_edit(&m, &x, 0, 0, (const char *)l->b + i + 8, n))
                break;
            i += 8 + n;
        } else if (tag == 'P') {
            uint64_t pos = get_u64(l->b + i), del = get_u64(l->b + i + 8);
            uint64_t n = get_u64(l->b + i + 17);
            if (!both_edit(&m, &x, pos, del, (const char *)l->b + i + 25, n))
                break;
            i += 25 + n;
        } else
            txns |= tag == 'B';
    }
    ytrace_map_free(&m);
    free(x.u);
}

/* An edit script: each op is 3 bytes (position, deletion, what to insert). */
static void replay_script(const uint8_t *data, size_t size)
{
    static const char *const pieces[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                         "\xf4\x8f\xbf\xbf", "bc"};
    ytrace_map m;
    model x = {NULL, 0, 0};
    ytrace_map_init(&m);
    for (size_t i = 0; i + 3 <= size; i += 3) {
        uint64_t pos = x.n ? data[i] * (uint64_t)(x.n + 2) / 255 : data[i] % 2;
        uint64_t del = data[i + 1] & 1 ? data[i + 1] >> 4 : 0;
        char ins[64];
        size_t n = 0;
        for (int k = 0; k < (data[i + 2] & 7); k++) {
            const char *p = pieces[(data[i + 2] >> 3 ^ (unsigned)k * 7) % 6];
            memcpy(ins + n, p, strlen(p));
            n += strlen(p);
        }
        both_edit(&m, &x, pos, del, ins, n);
    }
    ytrace_map_free(&m);
    free(x.u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err1[256], err2[256];
    src whole = {data, size, 0, NULL, 0, 0, NULL, {NULL, 0, 0}};
    int rc = parse(&whole, err1, sizeof err1);
    must(rc == 0 || rc == YTRACE_MALFORMED);
    if (size) {
        src cut = {data, size, 0, data, size, 0, NULL, {NULL, 0, 0}};
        must(parse(&cut, err2, sizeof err2) == rc);
        must(same(&cut.log, &whole.log));
        must(strcmp(err1, err2) == 0);
        free(cut.log.b);
    }
    must(rc != 0 || err1[0] == '\0');

    json_error_t je;
    must(rc != 0 || memchr(data, 0, size) == NULL);
    if (rc == 0) {
        json_t *t = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &je);
        if (t == NULL) {
            /* numbers that jansson cannot hold, keys with U+0000: in values
             * the reader skips, they are valid JSON */
            must(strstr(je.text, "too big") || strstr(je.text, "overflow") ||
                 strstr(je.text, "NUL byte in object key"));
        } else {
            log_t l = {NULL, 0, 0};
            must(jansson_log(t, &l));
            must(same(&l, &whole.log));
            free(l.b);
            json_decref(t);
        }
        replay_log(&whole.log);
    } else if (memchr(data, 0, size) == NULL) {
        /* (jansson skips a NUL byte after a number; JSON has none outside
         * strings, nor raw in them, and the reader accepts none: above) */
        json_t *t = json_loadb((const char *)data, size,
                               JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
        log_t l = {NULL, 0, 0};
        if (t && depth(t) < YTRACE_MAX_DEPTH - 8)
            must(!jansson_log(t, &l));
        free(l.b);
        json_decref(t);
    }
    free(whole.log.b);
    replay_script(data, size);
    return 0;
}
