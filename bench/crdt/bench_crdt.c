/*
 * bench-crdt: the crdt-benchmarks cases B1 to B4 on pkc, the same
 * operations bench/crdt/yjs.mjs runs on yjs, printed as one JSON object
 * (times in ms, sizes in bytes).
 *
 * Usage: bench-crdt INPUTS.json TRACE.json.gz MERGE_N
 *        bench-crdt --mem TRACE.json.gz   (memory of the loaded B4 document;
 *                                          run with glibc's tcache off)
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "pkc.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench-crdt: %s: %s (%s)\n", what, pkc_err_name(rc), pkc_errmsg());
    exit(1);
}

static uint64_t client_id(uint64_t k)
{
    uint32_t v = (uint32_t)(2654435761u * (uint32_t)(k + 1));
    return v ? v : 1;
}

/* ------------------------------------------------------------------------ */
/* Collected updates                                                        */

typedef struct ups {
    uint8_t **u;
    size_t *len;
    size_t n, cap;
    size_t bytes;
} ups;

static void on_update(void *ud, const uint8_t *u, size_t n, const void *origin)
{
    (void)origin;
    ups *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->u = realloc(l->u, l->cap * sizeof *l->u);
        l->len = realloc(l->len, l->cap * sizeof *l->len);
    }
    l->u[l->n] = malloc(n);
    memcpy(l->u[l->n], u, n);
    l->len[l->n++] = n;
    l->bytes += n;
}

static void ups_free(ups *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->u[i]);
    free(l->u);
    free(l->len);
    memset(l, 0, sizeof *l);
}

static pkc_ydoc *new_doc(uint64_t k, ups *collect)
{
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    cfg.client_id = client_id(k);
    pkc_ydoc *d;
    int rc = pkc_ydoc_new(&cfg, pkc_rng_system(), &d);
    if (rc == 0 && collect)
        rc = pkc_ydoc_observe_update(d, on_update, collect, NULL);
    if (rc)
        die("new doc", rc);
    return d;
}

static pkc_ytype *root(pkc_ydoc *d, const char *name, pkc_ytype_kind kind)
{
    pkc_ytype *t;
    int rc = pkc_ydoc_get(d, name, kind, &t);
    if (rc)
        die("root", rc);
    return t;
}

static void to_value(json_t *j, pkc_yvalue *v)
{
    memset(v, 0, sizeof *v);
    if (json_is_integer(j)) {
        v->kind = PKC_YV_NUMBER;
        v->u.number = (double)json_integer_value(j);
    } else if (json_is_string(j)) {
        v->kind = PKC_YV_STRING;
        v->u.str.ptr = json_string_value(j);
        v->u.str.len = json_string_length(j);
    } else if (json_is_object(j)) {
        size_t n = json_object_size(j), i = 0;
        const char *k;
        json_t *x;
        v->kind = PKC_YV_OBJECT;
        v->u.object.entries = calloc(n ? n : 1, sizeof(pkc_yentry));
        v->u.object.len = n;
        json_object_foreach(j, k, x)
        {
            v->u.object.entries[i].key = k;
            v->u.object.entries[i].key_len = strlen(k);
            to_value(x, &v->u.object.entries[i].value);
            i++;
        }
    } else {
        v->kind = PKC_YV_NULL;
    }
}

static void run_op(pkc_ydoc *d, pkc_ytxn *txn, json_t *op)
{
    const char *k = json_string_value(json_array_get(op, 0));
    json_t *a = json_array_get(op, 1), *b = json_array_get(op, 2);
    int rc = 0;
    if (strcmp(k, "ti") == 0) {
        rc = pkc_ytext_insert(txn, root(d, "text", PKC_YTEXT), (size_t)json_integer_value(a),
                              json_string_value(b), json_string_length(b), NULL, 0);
    } else if (strcmp(k, "td") == 0) {
        rc = pkc_ytext_delete(txn, root(d, "text", PKC_YTEXT), (size_t)json_integer_value(a),
                              (size_t)json_integer_value(b));
    } else if (strcmp(k, "ai") == 0) {
        size_t n = json_array_size(b);
        pkc_yvalue *vals = calloc(n ? n : 1, sizeof *vals);
        for (size_t i = 0; i < n; i++)
            to_value(json_array_get(b, i), &vals[i]);
        rc = pkc_yarray_insert(txn, root(d, "array", PKC_YARRAY), (size_t)json_integer_value(a), vals,
                               n, NULL);
        free(vals);
    } else if (strcmp(k, "ms") == 0) {
        pkc_yvalue v;
        to_value(b, &v);
        rc = pkc_ymap_set(txn, root(d, "map", PKC_YMAP), json_string_value(a), &v, NULL);
        if (v.kind == PKC_YV_OBJECT)
            free(v.u.object.entries);
    }
    if (rc)
        die(k, rc);
}

static void run_ops(pkc_ydoc *d, pkc_ytxn *txn, json_t *ops)
{
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) run_op(d, txn, op);
}

static uint8_t *encode(pkc_ydoc *d, size_t *n)
{
    uint8_t *out;
    int rc = pkc_ydoc_encode_state(d, NULL, 0, &out, n);
    if (rc)
        die("encode", rc);
    return out;
}

static void apply(pkc_ydoc *d, const uint8_t *u, size_t n)
{
    int rc = pkc_ydoc_apply_update(d, u, n, NULL);
    if (rc)
        die("apply", rc);
}

static char *text_of(pkc_ydoc *d)
{
    char *s;
    size_t n;
    int rc = pkc_ytext_to_string(root(d, "text", PKC_YTEXT), &s, &n);
    if (rc)
        die("text", rc);
    return s;
}

/* load time: loads are short (a few ms), so the best of at least 3,
 * repeated until 100 ms have gone by, so that one burst of load on a shared
 * machine does not decide the figure (yjs.mjs measures yjs by the same rule) */
static void load_stats(json_t *o, const uint8_t *enc, size_t n)
{
    double best = 1e18, start = now_ms();
    for (int i = 0; i < 3 || (now_ms() - start < 100 && i < 1000); i++) {
        double t0 = now_ms();
        pkc_ydoc *d = new_doc(100000, NULL);
        apply(d, enc, n);
        double dt = now_ms() - t0;
        pkc_ydoc_free(d);
        if (dt < best)
            best = dt;
    }
    json_object_set_new(o, "load_ms", json_real(best));
}

/*
 * What a loaded document holds: MEM_DOCS documents loaded and kept, the
 * heap's growth divided by their number (yjs.mjs does the same). The heap
 * is malloc's in-use chunks (headers and padding included) and mmapped
 * blocks. glibc's thread cache keeps freed chunks counted as in use, so
 * this runs in a process of its own with the cache off (bench/crdt/run sets
 * GLIBC_TUNABLES=glibc.malloc.tcache_count=0); with it on, chunks taken
 * from the cache during the load would not be counted.
 */
#define MEM_DOCS 4

static size_t mem_per_doc(const uint8_t *enc, size_t n)
{
    pkc_ydoc *d[MEM_DOCS];
    size_t before = heap_used();
    for (int i = 0; i < MEM_DOCS; i++) {
        d[i] = new_doc(100000 + (uint64_t)i, NULL);
        apply(d[i], enc, n);
    }
    size_t after = heap_used();
    for (int i = 0; i < MEM_DOCS; i++)
        pkc_ydoc_free(d[i]);
    return after > before ? (after - before) / MEM_DOCS : 0;
}

/* ------------------------------------------------------------------------ */

static json_t *bench_b1(json_t *ops)
{
    double best = 1e18;
    ups u = {0};
    for (int round = 0; round < 3; round++) {
        ups_free(&u);
        double t0 = now_ms();
        pkc_ydoc *d = new_doc(0, &u);
        run_ops(d, NULL, ops);
        double dt = now_ms() - t0;
        pkc_ydoc_free(d);
        if (dt < best)
            best = dt;
    }
    pkc_ydoc *d2 = new_doc(1, NULL);
    for (size_t i = 0; i < u.n; i++)
        apply(d2, u.u[i], u.len[i]);
    size_t n;
    uint8_t *enc = encode(d2, &n);
    json_t *o = json_object();
    json_object_set_new(o, "time_ms", json_real(best));
    json_object_set_new(o, "update_bytes", json_real((double)u.bytes / (double)json_array_size(ops)));
    json_object_set_new(o, "doc_bytes", json_integer((json_int_t)n));
    load_stats(o, enc, n);
    free(enc);
    pkc_ydoc_free(d2);
    ups_free(&u);
    return o;
}

typedef struct pair {
    pkc_ydoc *other;
    int *busy;
} pair;

static void forward(void *ud, const uint8_t *u, size_t n, const void *origin)
{
    (void)origin;
    pair *p = ud;
    if (*p->busy)
        return;
    *p->busy = 1;
    apply(p->other, u, n);
    *p->busy = 0;
}

static json_t *bench_b2(json_t *spec)
{
    double best = 1e18;
    uint8_t *enc = NULL;
    size_t n = 0;
    for (int round = 0; round < 3; round++) {
        int busy = 0;
        pkc_ydoc *d1 = new_doc(0, NULL), *d2 = new_doc(1, NULL);
        pair p1 = {d2, &busy}, p2 = {d1, &busy};
        if (pkc_ydoc_observe_update(d1, forward, &p1, NULL) ||
            pkc_ydoc_observe_update(d2, forward, &p2, NULL))
            die("observe", PKC_ERR_NOMEM);
        json_t *init = json_object_get(spec, "init");
        if (pkc_ytext_insert(NULL, root(d1, "text", PKC_YTEXT), 0, json_string_value(init),
                             json_string_length(init), NULL, 0))
            die("init", -1);
        double t0 = now_ms();
        pkc_ytxn *txn;
        if (pkc_ydoc_transact(d1, NULL, &txn))
            die("txn", -1);
        run_ops(d1, txn, json_object_get(spec, "a"));
        pkc_ytxn_commit(txn);
        if (pkc_ydoc_transact(d2, NULL, &txn))
            die("txn", -1);
        run_ops(d2, txn, json_object_get(spec, "b"));
        pkc_ytxn_commit(txn);
        double dt = now_ms() - t0;
        char *s1 = text_of(d1), *s2 = text_of(d2);
        if (strcmp(s1, s2) != 0) {
            fprintf(stderr, "bench-crdt: B2 did not converge\n");
            exit(1);
        }
        free(s1);
        free(s2);
        free(enc);
        enc = encode(d1, &n);
        pkc_ydoc_free(d1);
        pkc_ydoc_free(d2);
        if (dt < best)
            best = dt;
    }
    json_t *o = json_object();
    json_object_set_new(o, "time_ms", json_real(best));
    json_object_set_new(o, "doc_bytes", json_integer((json_int_t)n));
    load_stats(o, enc, n);
    free(enc);
    return o;
}

static json_t *bench_b3(json_t *spec)
{
    size_t peers = json_array_size(spec);
    ups u = {0};
    for (size_t i = 0; i < peers; i++) {
        pkc_ydoc *d = new_doc(i, &u);
        run_op(d, NULL, json_array_get(spec, i));
        pkc_ydoc_free(d);
    }
    pkc_ytxn *txn;
    pkc_ydoc *d0 = new_doc(peers, NULL);
    if (pkc_ydoc_transact(d0, NULL, &txn))
        die("txn", -1);
    for (size_t i = 0; i < u.n; i++)
        apply(d0, u.u[i], u.len[i]);
    pkc_ytxn_commit(txn);
    double best = 1e18;
    for (int round = 0; round < 3; round++) {
        double t0 = now_ms();
        pkc_ydoc *d1 = new_doc(peers + 1, NULL);
        if (pkc_ydoc_transact(d1, NULL, &txn))
            die("txn", -1);
        for (size_t i = 0; i < u.n; i++)
            apply(d1, u.u[i], u.len[i]);
        pkc_ytxn_commit(txn);
        double dt = now_ms() - t0;
        pkc_ydoc_free(d1);
        if (dt < best)
            best = dt;
    }
    size_t n;
    uint8_t *enc = encode(d0, &n);
    json_t *o = json_object();
    json_object_set_new(o, "time_ms", json_real(best));
    json_object_set_new(o, "update_bytes", json_integer((json_int_t)u.bytes));
    json_object_set_new(o, "doc_bytes", json_integer((json_int_t)n));
    load_stats(o, enc, n);
    free(enc);
    pkc_ydoc_free(d0);
    ups_free(&u);
    return o;
}

/* ------------------------------------------------------------------------ */
/* B4                                                                       */

static json_t *read_trace(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *gz = malloc((size_t)n);
    if (fread(gz, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    z_stream z;
    memset(&z, 0, sizeof z);
    inflateInit2(&z, 15 + 32);
    size_t cap = (size_t)n * 8, len = 0;
    char *buf = malloc(cap);
    z.next_in = gz;
    z.avail_in = (uInt)n;
    int zr;
    do {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        z.next_out = (Bytef *)buf + len;
        z.avail_out = (uInt)(cap - len);
        zr = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
    } while (zr == Z_OK);
    inflateEnd(&z);
    free(gz);
    json_error_t err;
    json_t *t = json_loadb(buf, len, 0, &err);
    free(buf);
    if (t == NULL) {
        fprintf(stderr, "bench-crdt: %s: %s\n", path, err.text);
        exit(1);
    }
    return t;
}

typedef struct edit {
    size_t pos, del;
    const char *ins;
    size_t len;
} edit;

/* The trace's edits in order (strings borrowed from `trace`). */
static edit *flatten(json_t *trace, size_t *count)
{
    json_t *txns = json_object_get(trace, "txns");
    size_t ne = 0;
    size_t ti;
    json_t *tx;
    json_array_foreach(txns, ti, tx) ne += json_array_size(json_object_get(tx, "patches"));
    edit *e = malloc(ne * sizeof *e);
    ne = 0;
    json_array_foreach(txns, ti, tx)
    {
        size_t pi;
        json_t *p;
        json_array_foreach(json_object_get(tx, "patches"), pi, p)
        {
            json_t *ins = json_array_get(p, 2);
            e[ne].pos = (size_t)json_integer_value(json_array_get(p, 0));
            e[ne].del = (size_t)json_integer_value(json_array_get(p, 1));
            e[ne].ins = json_string_value(ins);
            e[ne].len = json_string_length(ins);
            ne++;
        }
    }
    *count = ne;
    return e;
}

static void edit_b4(pkc_ydoc *d, const edit *e, size_t ne)
{
    pkc_ytype *t = root(d, "text", PKC_YTEXT);
    for (size_t i = 0; i < ne; i++) {
        pkc_ytxn *txn;
        int rc = pkc_ydoc_transact(d, NULL, &txn);
        if (rc == 0 && e[i].del)
            rc = pkc_ytext_delete(txn, t, e[i].pos, e[i].del);
        if (rc == 0 && e[i].len)
            rc = pkc_ytext_insert(txn, t, e[i].pos, e[i].ins, e[i].len, NULL, 0);
        if (rc)
            die("B4 edit", rc);
        pkc_ytxn_commit(txn);
    }
}

/* bench-crdt --mem: the memory of the loaded B4 document only. */
static json_t *mem_b4(const char *trace_path)
{
    json_t *trace = read_trace(trace_path);
    size_t ne, n;
    edit *e = flatten(trace, &ne);
    pkc_ydoc *d = new_doc(0, NULL);
    edit_b4(d, e, ne);
    uint8_t *enc = encode(d, &n);
    pkc_ydoc_free(d);
    free(e);
    json_decref(trace);
    malloc_trim(0);
    json_t *o = json_object();
    json_object_set_new(o, "doc_bytes", json_integer((json_int_t)n));
    json_object_set_new(o, "mem_bytes", json_integer((json_int_t)mem_per_doc(enc, n)));
    free(enc);
    return o;
}

static json_t *bench_b4(const char *trace_path, size_t merge_n)
{
    json_t *trace = read_trace(trace_path);
    /* flatten the edits first: the timed loop only edits */
    size_t ne;
    edit *e = flatten(trace, &ne);
    ups u = {0};
    pkc_ydoc *d = NULL;
    double apply_best = 1e18;
    /* BENCH_ONLY=apply|receive|merge|load runs one phase (for profiling) */
    const char *only = getenv("BENCH_ONLY");
    int rounds = only && strcmp(only, "apply") ? 1 : (only && getenv("BENCH_REPEAT") ? atoi(getenv("BENCH_REPEAT")) : 2);
    for (int round = 0; round < rounds; round++) {
        pkc_ydoc_free(d);
        ups_free(&u);
        double t0 = now_ms();
        d = new_doc(0, &u);
        edit_b4(d, e, ne);
        double dt = now_ms() - t0;
        if (dt < apply_best)
            apply_best = dt;
    }
    char *s = text_of(d);
    if (strcmp(s, json_string_value(json_object_get(trace, "endContent"))) != 0) {
        fprintf(stderr, "bench-crdt: B4 replay is wrong\n");
        exit(1);
    }
    free(s);
    size_t n;
    uint8_t *enc = encode(d, &n);
    pkc_ydoc_free(d);
    double receive_best = 1e18;
    if (only && strcmp(only, "apply") == 0)
        exit(0);
    int rrounds = only && strcmp(only, "receive") ? 0 : (only && getenv("BENCH_REPEAT") ? atoi(getenv("BENCH_REPEAT")) : 2);
    for (int round = 0; round < rrounds; round++) {
        double t0 = now_ms();
        pkc_ydoc *r = new_doc(1, NULL);
        for (size_t i = 0; i < u.n; i++)
            apply(r, u.u[i], u.len[i]);
        double dt = now_ms() - t0;
        pkc_ydoc_free(r);
        if (dt < receive_best)
            receive_best = dt;
    }
    /* merge: all updates, and the first merge_n (what yjs can do in time) */
    uint8_t *merged;
    size_t mlen;
    if (only && strcmp(only, "load") == 0) {
        json_t *o = json_object();
        for (int i = 0; i < 20; i++)
            load_stats(o, enc, n);
        exit(0);
    }
    if (only && strcmp(only, "merge"))
        exit(0);
    double t0 = now_ms();
    int rc = pkc_yupdate_merge((const uint8_t *const *)u.u, u.len, u.n, &merged, &mlen);
    double merge_all = now_ms() - t0;
    if (rc)
        die("merge", rc);
    free(merged);
    size_t mn = merge_n < u.n ? merge_n : u.n;
    t0 = now_ms();
    rc = pkc_yupdate_merge((const uint8_t *const *)u.u, u.len, mn, &merged, &mlen);
    double merge_sub = now_ms() - t0;
    if (rc)
        die("merge", rc);
    free(merged);
    json_t *o = json_object();
    json_object_set_new(o, "edits", json_integer((json_int_t)ne));
    json_object_set_new(o, "apply_ms", json_real(apply_best));
    json_object_set_new(o, "receive_ms", json_real(receive_best));
    json_object_set_new(o, "merge_n", json_integer((json_int_t)mn));
    json_object_set_new(o, "merge_ms", json_real(merge_sub));
    json_object_set_new(o, "merge_bytes", json_integer((json_int_t)mlen));
    json_object_set_new(o, "merge_all_ms", json_real(merge_all));
    json_object_set_new(o, "updates_bytes", json_integer((json_int_t)u.bytes));
    json_object_set_new(o, "doc_bytes", json_integer((json_int_t)n));
    load_stats(o, enc, n);
    free(enc);
    ups_free(&u);
    free(e);
    json_decref(trace);
    return o;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--mem") == 0) {
        json_t *o = mem_b4(argv[2]);
        char *s = json_dumps(o, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(o);
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: bench-crdt INPUTS.json TRACE.json.gz MERGE_N\n"
                        "       bench-crdt --mem TRACE.json.gz\n");
        return 2;
    }
    json_error_t err;
    json_t *inputs = json_load_file(argv[1], 0, &err);
    if (inputs == NULL) {
        fprintf(stderr, "bench-crdt: %s: %s\n", argv[1], err.text);
        return 1;
    }
    json_t *res = json_object();
    const char *name;
    json_t *spec;
    json_object_foreach(inputs, name, spec)
    {
        json_t *r = strncmp(name, "B1", 2) == 0   ? bench_b1(spec)
                    : strncmp(name, "B2", 2) == 0 ? bench_b2(spec)
                                                  : bench_b3(spec);
        json_object_set_new(res, name, r);
    }
    json_object_set_new(res, "B4", bench_b4(argv[2], (size_t)strtoull(argv[3], NULL, 10)));
    char *s = json_dumps(res, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(res);
    json_decref(inputs);
    return 0;
}
