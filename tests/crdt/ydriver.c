/*
 * ydriver: pkc's CRDT as a line-oriented filter for the differential tests
 * against the `yjs` package (tests/crdt/differential.mjs). Each input line is a
 * command; each prints exactly one line. Binary data is hex.
 *
 *   doc D CLIENT GC          create document D                    -> ok
 *   free D                                                         -> ok
 *   apply D HEX | apply2 D HEX   apply a v1 / v2 update            -> ok | err NAME
 *   applyr D HEX             apply with a non-NULL origin           -> ok | err NAME
 *   txn D JSON               run the ops (JSON array) in one transaction;
 *                            prints the update it emitted, or "-"  -> HEX | - | err NAME
 *   enc D [SVHEX]            encodeStateAsUpdate                   -> HEX
 *   sv D                     encodeStateVector                     -> HEX
 *   pending D                                                      -> 0 | 1
 *   json D SPEC              SPEC: name:kind,... (kind as pkc_ytype_kind);
 *                            prints {"name": toJSON, ...}           -> JSON
 *   delta D NAME             toDelta of root text NAME              -> JSON
 *   deltaat D PATH SNAP PREV CB  toDelta(snapshot, prevSnapshot, computeYChange)
 *                            of the text at PATH; SNAP, PREV: HEX or - (undefined);
 *                            CB 1: computeYChange as ychange_cb below  -> JSON | err NAME
 *   merge HEX...             Y.mergeUpdates                         -> HEX | err NAME
 *   diff HEX SVHEX           Y.diffUpdate                           -> HEX | err NAME
 *   svu HEX                  Y.encodeStateVectorFromUpdate          -> HEX | err NAME
 *   v21 HEX                  Y.convertUpdateFormatV2ToV1            -> HEX | err NAME
 *   check D                  internal consistency (trees, lengths)  -> ok | bad ...
 *   emitted                  updates emitted since the last call    -> HEX HEX ...
 *   time MS                  set the clock undo managers read       -> ok
 *   um D TIMEOUT SPEC        an undo manager over the roots of SPEC  -> ok
 *   undo D | redo D          prints the update it emitted           -> HEX | -
 *   stopcap D                stop capturing (next change: new step)  -> ok
 *   rpos D PATH INDEX ASSOC  relative position from an index        -> HEX
 *   rpres D HEX              where it is now: id:client:clock|root:name INDEX, or -
 *   snap D                   encodeSnapshot(snapshot(doc))          -> HEX
 *   fromsnap D HEX N         createDocFromSnapshot into doc N       -> ok
 *   observe D SPEC           deep-observe the roots of SPEC         -> ok
 *   events D                 events since the last call: [{r, path, keys, delta}]
 *   tryapply D HEX (tryapply2)  apply; an error must change nothing
 *                            -> ok | ok warned (crdt warnings) | err NAME unchanged
 *
 * Ops: {"p": path, "o": name, ...}; path = [root, kind, step...] where a
 * step is a map key (string) or a list index (number).
 *   mset k v | mset_t k kind name | mdel k
 *   ains i vals | ains_t i kind name | apush vals | adel i n
 *   tins i s attrs|null | tembed i v attrs|null | tembed_t i kind | tdel i n | tfmt i n attrs
 *   xel i name | xtext i | xattr k v | xrmattr k
 * Values are JSON; {"$bin": HEX} is a Uint8Array, {"$undef": 1} undefined.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/branch.h"
#include "crdt/check.h"
#include "crdt/client.h"
#include "crdt/doc.h"
#include "crdt/val.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/rng.h"
#include "util/text.h"

#define MAXDOCS 64
static pkc_ydoc *docs[MAXDOCS];
static pkc_yundo *ums[MAXDOCS];
static pkc_manual_clock mclock;
static pkc_yawareness *aws[MAXDOCS];
static pkc_buf aw_events[MAXDOCS]; /* initialised in main */

/* crdt warnings logged (bad input that was handled) */
static unsigned warnings;
static void on_log(void *ud, pkc_log_level level, const char *subsystem, const char *message)
{
    (void)ud;
    if (level <= PKC_LOG_WARN && strcmp(subsystem, "crdt") == 0)
        warnings++;
    else
        fprintf(stderr, "pkc[%s] %s: %s\n", subsystem, pkc_log_level_name(level), message);
}

static void ids_str(pkc_buf *b, const uint64_t *v, size_t n)
{
    char t[32];
    pkc_buf_push_u8(b, '[');
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(t, sizeof t, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
        pkc_buf_push(b, t, (size_t)k);
    }
    pkc_buf_push_u8(b, ']');
}

static void on_aw(void *ud, const pkc_yawareness_change *c, const void *origin, int is_update)
{
    pkc_buf *b = &aw_events[(intptr_t)ud];
    if (b->len)
        pkc_buf_push_u8(b, ';');
    pkc_buf_push(b, is_update ? "update " : "change ", 7);
    ids_str(b, c->added, c->nadded);
    ids_str(b, c->updated, c->nupdated);
    ids_str(b, c->removed, c->nremoved);
    const char *o = origin == PKC_YAWARENESS_TIMEOUT ? " timeout" : origin ? " remote" : " local";
    pkc_buf_push(b, o, strlen(o));
}

static void print_hex(const uint8_t *p, size_t n)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        putchar(h[p[i] >> 4]);
        putchar(h[p[i] & 15]);
    }
}

static uint8_t *unhex(const char *s, size_t *n)
{
    if (s == NULL)
        s = "";
    size_t len = strlen(s);
    uint8_t *out = malloc(len / 2 + 1);
    if (pkc_hex_decode(s, len, out, len / 2 + 1, n) != 0) {
        fprintf(stderr, "ydriver: bad hex\n");
        exit(2);
    }
    return out;
}

static pkc_ydoc *getdoc(const char *s)
{
    int i = atoi(s);
    if (i < 0 || i >= MAXDOCS || docs[i] == NULL) {
        fprintf(stderr, "ydriver: no doc %s\n", s);
        exit(2);
    }
    return docs[i];
}

/* ------------------------------------------------------------------------ */
/* JSON -> pkc_yvalue                                                       */

static int to_value(json_t *j, pkc_yvalue *v)
{
    memset(v, 0, sizeof *v);
    switch (json_typeof(j)) {
    case JSON_NULL:
        v->kind = PKC_YV_NULL;
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        v->kind = PKC_YV_BOOL;
        v->u.boolean = json_is_true(j);
        return 0;
    case JSON_INTEGER:
        v->kind = PKC_YV_NUMBER;
        v->u.number = (double)json_integer_value(j);
        return 0;
    case JSON_REAL:
        v->kind = PKC_YV_NUMBER;
        v->u.number = json_real_value(j);
        return 0;
    case JSON_STRING:
        v->kind = PKC_YV_STRING;
        v->u.str.ptr = json_string_value(j);
        v->u.str.len = json_string_length(j);
        return 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        v->kind = PKC_YV_ARRAY;
        v->u.array.items = calloc(n ? n : 1, sizeof(pkc_yvalue));
        v->u.array.len = n;
        for (size_t i = 0; i < n; i++)
            to_value(json_array_get(j, i), &v->u.array.items[i]);
        return 0;
    }
    case JSON_OBJECT: {
        json_t *b = json_object_get(j, "$bin");
        if (b) {
            size_t n;
            v->kind = PKC_YV_BINARY;
            v->u.str.ptr = (const char *)unhex(json_string_value(b), &n);
            v->u.str.len = n;
            return 0;
        }
        if (json_object_get(j, "$undef")) {
            v->kind = PKC_YV_UNDEFINED;
            return 0;
        }
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
        return 0;
    }
    }
    return -1;
}

/* frees what to_value allocated (not the strings, owned by jansson) */
static void drop_value(pkc_yvalue *v)
{
    if (v->kind == PKC_YV_ARRAY) {
        for (size_t i = 0; i < v->u.array.len; i++)
            drop_value(&v->u.array.items[i]);
        free(v->u.array.items);
    } else if (v->kind == PKC_YV_OBJECT) {
        for (size_t i = 0; i < v->u.object.len; i++)
            drop_value(&v->u.object.entries[i].value);
        free(v->u.object.entries);
    } else if (v->kind == PKC_YV_BINARY) {
        free((void *)v->u.str.ptr);
    }
}

static pkc_yentry *to_attrs(json_t *j, size_t *n)
{
    if (j == NULL || json_is_null(j)) {
        *n = 0;
        return NULL;
    }
    pkc_yvalue v;
    to_value(j, &v);
    *n = v.u.object.len;
    if (v.u.object.entries == NULL)
        v.u.object.entries = calloc(1, sizeof(pkc_yentry));
    return v.u.object.entries;
}

static void drop_attrs(pkc_yentry *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        drop_value(&a[i].value);
    free(a);
}

/* ------------------------------------------------------------------------ */
/* Ops                                                                      */

/* computeYChange of the differential test: (type, id) => id.client % 2
 * ? {type, user: 'u' + id.client, clock: id.clock} : {user: id.client, type}
 * (the second form joins pieces of one client, as Yjs compares cur.user) */
static const pkc_yvalue *ychange_cb(void *ud, int added, uint64_t client, uint32_t clock)
{
    static char user[32];
    static pkc_yentry e[3];
    static pkc_yvalue v;
    (void)ud;
    const char *type = added ? "added" : "removed";
    pkc_yvalue tv = {.kind = PKC_YV_STRING};
    tv.u.str.ptr = type;
    tv.u.str.len = strlen(type);
    if (client % 2) {
        pkc_yvalue uv = {.kind = PKC_YV_STRING}, cv = {.kind = PKC_YV_NUMBER};
        uv.u.str.len = (size_t)snprintf(user, sizeof user, "u%llu", (unsigned long long)client);
        uv.u.str.ptr = user;
        cv.u.number = clock;
        e[0] = (pkc_yentry){"type", 4, tv};
        e[1] = (pkc_yentry){"user", 4, uv};
        e[2] = (pkc_yentry){"clock", 5, cv};
        v.u.object.len = 3;
    } else {
        pkc_yvalue uv = {.kind = PKC_YV_NUMBER};
        uv.u.number = (double)client;
        e[0] = (pkc_yentry){"user", 4, uv};
        e[1] = (pkc_yentry){"type", 4, tv};
        v.u.object.len = 2;
    }
    v.kind = PKC_YV_OBJECT;
    v.u.object.entries = e;
    return &v;
}

static int resolve(pkc_ydoc *doc, json_t *path, pkc_ytype **out)
{
    pkc_ytype *t;
    int rc = pkc_ydoc_get(doc, json_string_value(json_array_get(path, 0)),
                          (pkc_ytype_kind)json_integer_value(json_array_get(path, 1)), &t);
    if (rc)
        return rc;
    for (size_t i = 2; i < json_array_size(path); i++) {
        json_t *s = json_array_get(path, i);
        pkc_yvalue *v = NULL;
        if (json_is_string(s))
            rc = pkc_ymap_get(t, json_string_value(s), &v);
        else
            rc = pkc_yarray_get(t, (size_t)json_integer_value(s), &v);
        if (rc)
            return rc;
        if (v->kind != PKC_YV_TYPE) {
            pkc_yvalue_free(v);
            return PKC_ERR_NOT_FOUND;
        }
        t = v->u.type.handle;
        pkc_yvalue_free(v);
    }
    *out = t;
    return 0;
}

static size_t I(json_t *op, const char *k)
{
    return (size_t)json_integer_value(json_object_get(op, k));
}

static int run_op(pkc_ydoc *doc, pkc_ytxn *txn, json_t *op)
{
    pkc_ytype *t;
    int rc = resolve(doc, json_object_get(op, "p"), &t);
    if (rc)
        return rc;
    const char *o = json_string_value(json_object_get(op, "o"));
    const char *k = json_string_value(json_object_get(op, "k"));
    pkc_yvalue v;
    memset(&v, 0, sizeof v);
    if (strcmp(o, "mset") == 0) {
        to_value(json_object_get(op, "v"), &v);
        rc = pkc_ymap_set(txn, t, k, &v, NULL);
    } else if (strcmp(o, "mset_t") == 0 || strcmp(o, "ains_t") == 0) {
        v.kind = PKC_YV_TYPE;
        v.u.type.kind = (pkc_ytype_kind)I(op, "kind");
        v.u.type.name = json_string_value(json_object_get(op, "name"));
        if (o[0] == 'm')
            rc = pkc_ymap_set(txn, t, k, &v, NULL);
        else
            rc = pkc_yarray_insert(txn, t, I(op, "i"), &v, 1, NULL);
        v.kind = PKC_YV_NULL;
    } else if (strcmp(o, "mdel") == 0) {
        rc = pkc_ymap_delete(txn, t, k);
    } else if (strcmp(o, "ains") == 0 || strcmp(o, "apush") == 0) {
        to_value(json_object_get(op, "v"), &v);
        if (o[1] == 'i')
            rc = pkc_yarray_insert(txn, t, I(op, "i"), v.u.array.items, v.u.array.len, NULL);
        else
            rc = pkc_yarray_push(txn, t, v.u.array.items, v.u.array.len, NULL);
    } else if (strcmp(o, "adel") == 0) {
        rc = pkc_yarray_delete(txn, t, I(op, "i"), I(op, "n"));
    } else if (strcmp(o, "tins") == 0) {
        json_t *s = json_object_get(op, "s");
        json_t *a = json_object_get(op, "a");
        size_t na;
        pkc_yentry *attrs = to_attrs(a, &na);
        rc = pkc_ytext_insert(txn, t, I(op, "i"), json_string_value(s), json_string_length(s),
                              (a && !json_is_null(a)) ? attrs : NULL, na);
        drop_attrs(attrs, na);
    } else if (strcmp(o, "tembed") == 0) {
        json_t *a = json_object_get(op, "a");
        size_t na;
        pkc_yentry *attrs = to_attrs(a, &na);
        to_value(json_object_get(op, "v"), &v);
        rc = pkc_ytext_insert_embed(txn, t, I(op, "i"), &v, attrs, na, NULL);
        drop_attrs(attrs, na);
    } else if (strcmp(o, "tembed_t") == 0) {
        v.kind = PKC_YV_TYPE;
        v.u.type.kind = (pkc_ytype_kind)I(op, "kind");
        rc = pkc_ytext_insert_embed(txn, t, I(op, "i"), &v, NULL, 0, NULL);
        v.kind = PKC_YV_NULL;
    } else if (strcmp(o, "tdel") == 0) {
        rc = pkc_ytext_delete(txn, t, I(op, "i"), I(op, "n"));
    } else if (strcmp(o, "tfmt") == 0) {
        size_t na;
        pkc_yentry *attrs = to_attrs(json_object_get(op, "a"), &na);
        rc = pkc_ytext_format(txn, t, I(op, "i"), I(op, "n"), attrs, na);
        drop_attrs(attrs, na);
    } else if (strcmp(o, "xel") == 0) {
        rc = pkc_yxml_insert_element(txn, t, I(op, "i"),
                                     json_string_value(json_object_get(op, "name")), NULL);
    } else if (strcmp(o, "xtext") == 0) {
        rc = pkc_yxml_insert_text(txn, t, I(op, "i"), NULL);
    } else if (strcmp(o, "xattr") == 0) {
        rc = pkc_yxml_set_attribute(txn, t, k, json_string_value(json_object_get(op, "v")));
    } else if (strcmp(o, "xrmattr") == 0) {
        rc = pkc_yxml_remove_attribute(txn, t, k);
    } else if (strcmp(o, "delta") == 0) {
        to_value(json_object_get(op, "v"), &v);
        rc = pkc_ytext_apply_delta(txn, t, &v);
    } else {
        fprintf(stderr, "ydriver: unknown op %s\n", o);
        exit(2);
    }
    drop_value(&v);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Events (deep observers on roots), as JSON                               */

static void hexs(pkc_buf *b, const uint8_t *p, size_t n)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        pkc_buf_push_u8(b, (uint8_t)h[p[i] >> 4]);
        pkc_buf_push_u8(b, (uint8_t)h[p[i] & 15]);
    }
}

/* JSON with tags for what JSON lacks: {"$undef":1}, {"$type":kind},
 * {"$bin":hex}, {"$big":"n"}, {"$doc":guid} */
static void wval(pkc_buf *b, const pkc_yvalue *v)
{
    char t[64];
    switch (v->kind) {
    case PKC_YV_UNDEFINED:
        pkc_buf_push(b, "{\"$undef\":1}", 12);
        return;
    case PKC_YV_TYPE:
        snprintf(t, sizeof t, "{\"$type\":%d}", (int)v->u.type.kind);
        pkc_buf_push(b, t, strlen(t));
        return;
    case PKC_YV_BINARY:
        pkc_buf_push(b, "{\"$bin\":\"", 9);
        hexs(b, (const uint8_t *)v->u.str.ptr, v->u.str.len);
        pkc_buf_push(b, "\"}", 2);
        return;
    case PKC_YV_BIGINT:
        snprintf(t, sizeof t, "{\"$big\":\"%lld\"}", (long long)v->u.bigint);
        pkc_buf_push(b, t, strlen(t));
        return;
    case PKC_YV_DOC:
        pkc_buf_push(b, "{\"$doc\":", 8);
        yjson_write_string(b, v->u.str.ptr, v->u.str.len);
        pkc_buf_push_u8(b, '}');
        return;
    case PKC_YV_ARRAY:
        pkc_buf_push_u8(b, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i)
                pkc_buf_push_u8(b, ',');
            wval(b, &v->u.array.items[i]);
        }
        pkc_buf_push_u8(b, ']');
        return;
    case PKC_YV_OBJECT:
        pkc_buf_push_u8(b, '{');
        for (size_t i = 0; i < v->u.object.len; i++) {
            if (i)
                pkc_buf_push_u8(b, ',');
            yjson_write_string(b, v->u.object.entries[i].key, v->u.object.entries[i].key_len);
            pkc_buf_push_u8(b, ':');
            wval(b, &v->u.object.entries[i].value);
        }
        pkc_buf_push_u8(b, '}');
        return;
    default:
        yjson_write(b, v);
    }
}

typedef struct evsink {
    pkc_buf *out;
    char root[64];
} evsink;
static pkc_buf ev_out[MAXDOCS];
static evsink ev_sinks[MAXDOCS][8];

static void on_deep(void *ud, pkc_ytxn *txn, const pkc_yevent *const *evs, size_t n)
{
    (void)txn;
    evsink *s = ud;
    for (size_t i = 0; i < n; i++) {
        const pkc_yvalue *keys = pkc_yevent_get_keys(evs[i]);
        pkc_buf_push(s->out, s->out->len > 1 ? "," : "", s->out->len > 1 ? 1 : 0);
        pkc_buf_push(s->out, "{\"r\":", 5);
        yjson_write_string(s->out, s->root, strlen(s->root));
        pkc_buf_push(s->out, ",\"path\":", 8);
        wval(s->out, pkc_yevent_get_path(evs[i]));
        pkc_buf_push(s->out, ",\"keys\":", 8);
        if (keys)
            wval(s->out, keys);
        else
            pkc_buf_push(s->out, "null", 4);
        pkc_buf_push(s->out, ",\"delta\":", 9);
        wval(s->out, pkc_yevent_get_delta(evs[i]));
        pkc_buf_push_u8(s->out, '}');
    }
}

static pkc_buf last_update = PKC_BUF_INIT;
static pkc_buf all_updates = PKC_BUF_INIT; /* hex, space separated */
static int got_update;

static void on_update(void *ud, const uint8_t *u, size_t n, const void *origin)
{
    static const char h[] = "0123456789abcdef";
    (void)ud;
    (void)origin;
    if (!got_update) {
        pkc_buf_reset(&last_update);
        pkc_buf_push(&last_update, u, n);
    }
    got_update = 1;
    if (all_updates.len)
        pkc_buf_push_u8(&all_updates, ' ');
    for (size_t i = 0; i < n; i++) {
        pkc_buf_push_u8(&all_updates, (uint8_t)h[u[i] >> 4]);
        pkc_buf_push_u8(&all_updates, (uint8_t)h[u[i] & 15]);
    }
}

/* ------------------------------------------------------------------------ */

static int verbose_errors;

static void print_err(int rc)
{
    printf("err %s", pkc_err_name(rc));
    if (verbose_errors)
        fprintf(stderr, "ydriver: %s: %s\n", pkc_err_name(rc), pkc_errmsg());
}

static void print_blob(int rc, uint8_t *p, size_t n)
{
    if (rc)
        print_err(rc);
    else
        print_hex(p, n);
    free(p);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    verbose_errors = getenv("YDRIVER_VERBOSE") != NULL;
    pkc_manual_clock_init(&mclock, 0, 0);
    pkc_log_set_handler(on_log, NULL);
    for (int i = 0; i < MAXDOCS; i++) {
        pkc_buf_init(&aw_events[i]);
        pkc_buf_init(&ev_out[i]);
    }
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char *save = NULL;
        char *cmd = strtok_r(line, " ", &save);
        if (cmd == NULL) {
            putchar('\n');
            continue;
        }
        if (strcmp(cmd, "doc") == 0) {
            int d = atoi(strtok_r(NULL, " ", &save));
            pkc_ydoc_config cfg;
            pkc_ydoc_config_default(&cfg);
            cfg.client_id = strtoull(strtok_r(NULL, " ", &save), NULL, 10);
            cfg.gc = atoi(strtok_r(NULL, " ", &save));
            pkc_ydoc_free(docs[d]);
            docs[d] = NULL;
            static pkc_seeded_rng rng; /* ids after collisions: repeatable */
            if (rng.rng.fill == NULL)
                pkc_seeded_rng_init(&rng, 1);
            int rc = pkc_ydoc_new(&cfg, &rng.rng, &docs[d]);
            if (rc == 0)
                rc = pkc_ydoc_observe_update(docs[d], on_update, NULL, NULL);
            if (rc)
                print_err(rc);
            else
                fputs("ok", stdout);
        } else if (strcmp(cmd, "time") == 0) {
            mclock.wall_ms = strtoll(strtok_r(NULL, " ", &save), NULL, 10);
            fputs("ok", stdout);
        } else if (strcmp(cmd, "um") == 0) {
            /* an undo manager over the roots named in SPEC (name:kind,...) */
            int d = atoi(strtok_r(NULL, " ", &save));
            pkc_yundo_config cfg;
            pkc_yundo_config_default(&cfg);
            cfg.capture_timeout_ms = (uint32_t)atoi(strtok_r(NULL, " ", &save));
            char *spec = strtok_r(NULL, " ", &save), *s2 = NULL;
            pkc_ytype *scope[16];
            size_t n = 0;
            int rc = 0;
            for (char *e = strtok_r(spec, ",", &s2); e && n < 16 && rc == 0; e = strtok_r(NULL, ",", &s2)) {
                char *colon = strchr(e, ':');
                *colon = '\0';
                rc = pkc_ydoc_get(docs[d], e,
                                  (pkc_ytype_kind)atoi(colon + 1), &scope[n++]);
            }
            pkc_yundo_free(ums[d]);
            ums[d] = NULL;
            if (rc == 0)
                rc = pkc_yundo_new(scope, n, &cfg, &mclock.clock, &ums[d]);
            if (rc)
                print_err(rc);
            else
                fputs("ok", stdout);
        } else if (strcmp(cmd, "undo") == 0 || strcmp(cmd, "redo") == 0 || strcmp(cmd, "stopcap") == 0) {
            int d = atoi(strtok_r(NULL, " ", &save));
            if (cmd[0] == 's') {
                pkc_yundo_stop_capturing(ums[d]);
                fputs("ok", stdout);
            } else {
                int done = 0;
                got_update = 0;
                int rc = cmd[0] == 'u' ? pkc_yundo_undo(ums[d], &done) : pkc_yundo_redo(ums[d], &done);
                if (rc)
                    print_err(rc);
                else if (got_update)
                    print_hex(last_update.data, last_update.len);
                else
                    putchar('-');
            }
        } else if (strcmp(cmd, "free") == 0) {
            int d = atoi(strtok_r(NULL, " ", &save));
            pkc_yundo_free(ums[d]);
            ums[d] = NULL;
            pkc_ydoc_free(docs[d]);
            docs[d] = NULL;
            fputs("ok", stdout);
        } else if (strcmp(cmd, "apply") == 0 || strcmp(cmd, "apply2") == 0 ||
                   strcmp(cmd, "applyr") == 0) {
            /* applyr: with an origin other than NULL (undo managers ignore it) */
            static const char remote_origin[] = "remote";
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            size_t n;
            uint8_t *u = unhex(strtok_r(NULL, " ", &save), &n);
            const void *origin = cmd[5] == 'r' ? remote_origin : NULL;
            int rc = cmd[5] == '2' ? pkc_ydoc_apply_update_v2(doc, u, n, origin)
                                   : pkc_ydoc_apply_update(doc, u, n, origin);
            if (rc)
                print_err(rc);
            else
                fputs("ok", stdout);
            free(u);
        } else if (strcmp(cmd, "txn") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            json_error_t jerr;
            json_t *ops = json_loads(save, 0, &jerr);
            if (ops == NULL) {
                fprintf(stderr, "ydriver: bad JSON: %s\n", jerr.text);
                return 2;
            }
            pkc_ytxn *txn;
            int rc = pkc_ydoc_transact(doc, NULL, &txn);
            got_update = 0;
            for (size_t i = 0; rc == 0 && i < json_array_size(ops); i++)
                rc = run_op(doc, txn, json_array_get(ops, i));
            if (rc == 0 || txn)
                pkc_ytxn_commit(txn);
            json_decref(ops);
            if (rc)
                print_err(rc);
            else if (got_update)
                print_hex(last_update.data, last_update.len);
            else
                putchar('-');
        } else if (strcmp(cmd, "enc") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            char *svs = strtok_r(NULL, " ", &save);
            size_t svn = 0, n;
            uint8_t *sv = svs ? unhex(svs, &svn) : NULL, *out = NULL;
            int rc = pkc_ydoc_encode_state(doc, sv, svn, &out, &n);
            free(sv);
            print_blob(rc, out, n);
        } else if (strcmp(cmd, "sv") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            uint8_t *out = NULL;
            size_t n;
            int rc = pkc_ydoc_encode_state_vector(doc, &out, &n);
            print_blob(rc, out, n);
        } else if (strcmp(cmd, "pending") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            printf("%d", pkc_ydoc_has_pending(doc));
        } else if (strcmp(cmd, "json") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            char *spec = strtok_r(NULL, " ", &save);
            char *s2 = NULL;
            putchar('{');
            int first = 1;
            for (char *e = strtok_r(spec, ",", &s2); e; e = strtok_r(NULL, ",", &s2)) {
                char *colon = strchr(e, ':');
                *colon = '\0';
                pkc_ytype *t;
                char *js = NULL;
                int rc = pkc_ydoc_get(doc, e, (pkc_ytype_kind)atoi(colon + 1), &t);
                if (rc == 0)
                    rc = pkc_ytype_to_json(t, &js, NULL);
                printf("%s\"%s\":", first ? "" : ",", e);
                first = 0;
                if (rc)
                    printf("\"err %s\"", pkc_err_name(rc));
                else
                    fputs(js, stdout);
                free(js);
            }
            putchar('}');
        } else if (strcmp(cmd, "delta") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            pkc_ytype *t;
            pkc_yvalue *d = NULL;
            int rc = pkc_ydoc_get(doc, strtok_r(NULL, " ", &save), PKC_YTEXT, &t);
            if (rc == 0)
                rc = pkc_ytext_to_delta(t, &d);
            if (rc) {
                print_err(rc);
            } else {
                pkc_buf b = PKC_BUF_INIT;
                yjson_write(&b, d);
                fwrite(b.data, 1, b.len, stdout);
                pkc_buf_free(&b);
            }
            pkc_yvalue_free(d);
        } else if (strcmp(cmd, "deltaat") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            json_t *path = json_loads(strtok_r(NULL, " ", &save), 0, NULL);
            const char *sh = strtok_r(NULL, " ", &save), *ph = strtok_r(NULL, " ", &save);
            int withcb = atoi(strtok_r(NULL, " ", &save));
            size_t sn = 0, pn = 0;
            uint8_t *sb = strcmp(sh, "-") ? unhex(sh, &sn) : NULL;
            uint8_t *pb = strcmp(ph, "-") ? unhex(ph, &pn) : NULL;
            pkc_ytype *t;
            pkc_yvalue *d = NULL;
            int rc = resolve(doc, path, &t);
            if (rc == 0)
                rc = pkc_ytext_to_delta_at_cb(t, sb, sn, pb, pn, withcb ? ychange_cb : NULL, NULL, &d);
            if (rc) {
                print_err(rc);
            } else {
                pkc_buf b = PKC_BUF_INIT;
                yjson_write(&b, d);
                fwrite(b.data, 1, b.len, stdout);
                pkc_buf_free(&b);
            }
            pkc_yvalue_free(d);
            json_decref(path);
            free(sb);
            free(pb);
        } else if (strcmp(cmd, "merge") == 0) {
            const uint8_t *ups[4096];
            size_t lens[4096], n = 0;
            for (char *h = strtok_r(NULL, " ", &save); h && n < 4096; h = strtok_r(NULL, " ", &save)) {
                ups[n] = unhex(h, &lens[n]);
                n++;
            }
            uint8_t *out = NULL;
            size_t on;
            int rc = pkc_yupdate_merge(ups, lens, n, &out, &on);
            for (size_t i = 0; i < n; i++)
                free((void *)ups[i]);
            print_blob(rc, out, on);
        } else if (strcmp(cmd, "diff") == 0) {
            size_t n, svn, on;
            uint8_t *u = unhex(strtok_r(NULL, " ", &save), &n);
            uint8_t *sv = unhex(strtok_r(NULL, " ", &save), &svn), *out = NULL;
            int rc = pkc_yupdate_diff(u, n, sv, svn, &out, &on);
            free(u);
            free(sv);
            print_blob(rc, out, on);
        } else if (strcmp(cmd, "svu") == 0 || strcmp(cmd, "v21") == 0) {
            size_t n, on;
            uint8_t *u = unhex(strtok_r(NULL, " ", &save), &n), *out = NULL;
            int rc = cmd[0] == 's' ? pkc_yupdate_encode_state_vector(u, n, &out, &on)
                                   : pkc_yupdate_v2_to_v1(u, n, &out, &on);
            free(u);
            print_blob(rc, out, on);
        } else if (strcmp(cmd, "sync1") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            uint8_t *out = NULL;
            size_t n;
            int rc = pkc_ysync_step1(doc, &out, &n);
            print_blob(rc, out, n);
        } else if (strcmp(cmd, "syncupd") == 0) {
            size_t n, on;
            uint8_t *u = unhex(strtok_r(NULL, " ", &save), &n), *out = NULL;
            int rc = pkc_ysync_update(u, n, &out, &on);
            free(u);
            print_blob(rc, out, on);
        } else if (strcmp(cmd, "syncread") == 0 || strcmp(cmd, "prov") == 0) {
            int prov = cmd[0] == 'p';
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            pkc_yawareness *aw = NULL;
            int64_t now = 0;
            if (prov) {
                aw = aws[atoi(strtok_r(NULL, " ", &save))];
                now = strtoll(strtok_r(NULL, " ", &save), NULL, 10);
            }
            size_t n, on = 0;
            uint8_t *m = unhex(strtok_r(NULL, " ", &save), &n), *out = NULL;
            int type = -1;
            int rc = prov ? pkc_yprovider_read(doc, aw, m, n, (void *)1, now, &out, &on, &type)
                          : pkc_ysync_read(doc, m, n, (void *)1, &out, &on, &type);
            free(m);
            if (rc)
                print_err(rc);
            else if (out)
                print_hex(out, on);
            else
                putchar('-');
            free(out);
        } else if (strncmp(cmd, "aw", 2) == 0) {
            int a = atoi(strtok_r(NULL, " ", &save));
            int rc = 0;
            if (strcmp(cmd, "aw") == 0) {
                uint64_t client = strtoull(strtok_r(NULL, " ", &save), NULL, 10);
                int64_t now = strtoll(strtok_r(NULL, " ", &save), NULL, 10);
                pkc_yawareness_free(aws[a]);
                aws[a] = NULL;
                pkc_buf_reset(&aw_events[a]);
                rc = pkc_yawareness_new(client, now, &aws[a]);
                if (rc == 0)
                    rc = pkc_yawareness_observe(aws[a], on_aw, (void *)(intptr_t)a);
                if (rc)
                    print_err(rc);
                else
                    fputs("ok", stdout);
            } else if (strcmp(cmd, "awset") == 0) {
                int64_t now = strtoll(strtok_r(NULL, " ", &save), NULL, 10);
                const char *j = save;
                rc = pkc_yawareness_set_local(aws[a], strcmp(j, "null") ? j : NULL, now);
                if (rc)
                    print_err(rc);
                else
                    fputs("ok", stdout);
            } else if (strcmp(cmd, "awenc") == 0) {
                uint64_t ids[64];
                size_t n = 0;
                for (char *t = strtok_r(NULL, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save))
                    ids[n++] = strtoull(t, NULL, 10);
                uint8_t *out = NULL;
                size_t on;
                rc = pkc_yawareness_encode(aws[a], n ? ids : NULL, n, &out, &on);
                print_blob(rc, out, on);
            } else if (strcmp(cmd, "awapply") == 0) {
                int64_t now = strtoll(strtok_r(NULL, " ", &save), NULL, 10);
                size_t n;
                uint8_t *u = unhex(strtok_r(NULL, " ", &save), &n);
                rc = pkc_yawareness_apply(aws[a], u, n, (void *)1, now);
                free(u);
                if (rc)
                    print_err(rc);
                else
                    fputs("ok", stdout);
            } else if (strcmp(cmd, "awget") == 0) {
                const char *j = pkc_yawareness_get(aws[a], strtoull(strtok_r(NULL, " ", &save), NULL, 10));
                fputs(j ? j : "-", stdout);
            } else if (strcmp(cmd, "awrm") == 0) {
                int64_t now = strtoll(strtok_r(NULL, " ", &save), NULL, 10);
                uint64_t ids[64];
                size_t n = 0;
                for (char *t = strtok_r(NULL, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save))
                    ids[n++] = strtoull(t, NULL, 10);
                rc = pkc_yawareness_remove(aws[a], ids, n, (void *)1, now);
                if (rc)
                    print_err(rc);
                else
                    fputs("ok", stdout);
            } else if (strcmp(cmd, "awcheck") == 0) {
                printf("%lld", (long long)pkc_yawareness_check(aws[a], strtoll(strtok_r(NULL, " ", &save), NULL, 10)));
            } else if (strcmp(cmd, "awclients") == 0) {
                uint64_t ids[256];
                size_t n = pkc_yawareness_get_clients(aws[a], ids, 256);
                for (size_t i = 1; i < n; i++) /* sorted for comparison */
                    for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
                        uint64_t t = ids[j];
                        ids[j] = ids[j - 1];
                        ids[j - 1] = t;
                    }
                for (size_t i = 0; i < n; i++)
                    printf("%s%llu", i ? " " : "", (unsigned long long)ids[i]);
            } else if (strcmp(cmd, "awevents") == 0) {
                fwrite(aw_events[a].data, 1, aw_events[a].len, stdout);
                pkc_buf_reset(&aw_events[a]);
            } else {
                fprintf(stderr, "ydriver: unknown command %s\n", cmd);
                return 2;
            }
        } else if (strcmp(cmd, "rpos") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            json_t *path = json_loads(strtok_r(NULL, " ", &save), 0, NULL);
            size_t index = strtoull(strtok_r(NULL, " ", &save), NULL, 10);
            int assoc = atoi(strtok_r(NULL, " ", &save));
            pkc_ytype *t;
            uint8_t *out = NULL;
            size_t n = 0;
            int rc = resolve(doc, path, &t);
            if (rc == 0)
                rc = pkc_yrelpos_from_index(t, index, assoc, &out, &n);
            json_decref(path);
            print_blob(rc, out, n);
        } else if (strcmp(cmd, "rpres") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            size_t n, index;
            uint8_t *rp = unhex(strtok_r(NULL, " ", &save), &n);
            pkc_ytype *t;
            int rc = pkc_yrelpos_to_index(doc, rp, n, &t, &index);
            free(rp);
            if (rc == PKC_ERR_NOT_FOUND) {
                putchar('-');
            } else if (rc) {
                print_err(rc);
            } else {
                ybranch *b = (ybranch *)t;
                if (b->item)
                    printf("id:%llu:%u %zu", (unsigned long long)doc->cl[b->item->id.client].id,
                           b->item->id.clock, index);
                else
                    printf("root:%s %zu", b->root->s, index);
            }
        } else if (strcmp(cmd, "snap") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            uint8_t *out = NULL;
            size_t n;
            int rc = pkc_ydoc_encode_snapshot(doc, &out, &n);
            print_blob(rc, out, n);
        } else if (strcmp(cmd, "fromsnap") == 0) {
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            size_t n;
            uint8_t *sn = unhex(strtok_r(NULL, " ", &save), &n);
            int d = atoi(strtok_r(NULL, " ", &save));
            pkc_ydoc_free(docs[d]);
            docs[d] = NULL;
            int rc = pkc_ydoc_from_snapshot(doc, sn, n, &docs[d]);
            free(sn);
            if (rc == 0)
                rc = pkc_ydoc_observe_update(docs[d], on_update, NULL, NULL);
            if (rc)
                print_err(rc);
            else
                fputs("ok", stdout);
        } else if (strcmp(cmd, "tryapply") == 0 || strcmp(cmd, "tryapply2") == 0) {
            /* apply; on an error the document must be exactly as before */
            pkc_ydoc *doc = getdoc(strtok_r(NULL, " ", &save));
            size_t n, b0n, b1n;
            uint8_t *u = unhex(strtok_r(NULL, " ", &save), &n), *b0 = NULL, *b1 = NULL;
            uint8_t *sv0 = NULL, *sv1 = NULL;
            size_t sv0n, sv1n;
            if (pkc_ydoc_encode_state(doc, NULL, 0, &b0, &b0n) || pkc_ydoc_encode_state_vector(doc, &sv0, &sv0n)) {
                fprintf(stderr, "ydriver: encode failed\n");
                return 2;
            }
            int pend0 = pkc_ydoc_has_pending(doc);
            warnings = 0;
            int rc = cmd[8] == '2' ? pkc_ydoc_apply_update_v2(doc, u, n, NULL)
                                   : pkc_ydoc_apply_update(doc, u, n, NULL);
            if (rc == 0) {
                fputs(warnings ? "ok warned" : "ok", stdout);
            } else {
                if (pkc_ydoc_encode_state(doc, NULL, 0, &b1, &b1n) ||
                    pkc_ydoc_encode_state_vector(doc, &sv1, &sv1n)) {
                    fprintf(stderr, "ydriver: encode failed\n");
                    return 2;
                }
                int same = b0n == b1n && memcmp(b0, b1, b0n) == 0 && sv0n == sv1n &&
                           memcmp(sv0, sv1, sv0n) == 0 && pend0 == pkc_ydoc_has_pending(doc);
                printf("err %s %s", pkc_err_name(rc), same ? "unchanged" : "CHANGED");
                if (verbose_errors)
                    fprintf(stderr, "ydriver: %s: %s\n", pkc_err_name(rc), pkc_errmsg());
            }
            free(u);
            free(b0);
            free(b1);
            free(sv0);
            free(sv1);
        } else if (strcmp(cmd, "observe") == 0) {
            /* deep-observe the roots of SPEC (name:kind,...), up to 8 */
            int d = atoi(strtok_r(NULL, " ", &save));
            char *spec = strtok_r(NULL, " ", &save), *s2 = NULL;
            int rc = 0, n = 0;
            pkc_buf_reset(&ev_out[d]);
            pkc_buf_push_u8(&ev_out[d], '[');
            for (char *e = strtok_r(spec, ",", &s2); e && n < 8 && rc == 0; e = strtok_r(NULL, ",", &s2), n++) {
                char *colon = strchr(e, ':');
                *colon = '\0';
                pkc_ytype *t;
                evsink *sk = &ev_sinks[d][n];
                sk->out = &ev_out[d];
                snprintf(sk->root, sizeof sk->root, "%s", e);
                rc = pkc_ydoc_get(docs[d], e, (pkc_ytype_kind)atoi(colon + 1), &t);
                if (rc == 0)
                    rc = pkc_ytype_observe_deep(t, on_deep, sk, NULL);
            }
            if (rc)
                print_err(rc);
            else
                fputs("ok", stdout);
        } else if (strcmp(cmd, "events") == 0) {
            /* the events observed since the last "events", as a JSON array */
            int d = atoi(strtok_r(NULL, " ", &save));
            fwrite(ev_out[d].data, 1, ev_out[d].len, stdout);
            putchar(']');
            pkc_buf_reset(&ev_out[d]);
            pkc_buf_push_u8(&ev_out[d], '[');
        } else if (strcmp(cmd, "emitted") == 0) {
            /* every update emitted (by any document) since the last "emitted" */
            fwrite(all_updates.data, 1, all_updates.len, stdout);
            pkc_buf_reset(&all_updates);
        } else if (strcmp(cmd, "check") == 0) {
            char why[200];
            const char *bad = yc_doc_check(getdoc(strtok_r(NULL, " ", &save)), why, sizeof why);
            if (bad)
                printf("bad %s", bad);
            else
                fputs("ok", stdout);
        } else {
            fprintf(stderr, "ydriver: unknown command %s\n", cmd);
            return 2;
        }
        putchar('\n');
        fflush(stdout);
    }
    for (int i = 0; i < MAXDOCS; i++) {
        pkc_yundo_free(ums[i]);
        pkc_ydoc_free(docs[i]);
        pkc_yawareness_free(aws[i]);
        pkc_buf_free(&aw_events[i]);
        pkc_buf_free(&ev_out[i]);
    }
    pkc_buf_free(&all_updates);
    pkc_buf_free(&last_update);
    free(line);
    return 0;
}
