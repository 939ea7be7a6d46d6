/*
 * The CRDT's C API: what a program using pkc's Yjs documents relies on
 * (values in and out, errors, transactions, observers and their events,
 * undo, cursors, snapshots, sync and awareness). Byte-for-byte agreement
 * with the yjs package is checked by tests/crdt/ (differential tests);
 * expected values here were taken from yjs 13.6.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/val.h"
#include "test.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/rng.h"

/* ---- helpers -------------------------------------------------------------- */

static pkc_seeded_rng test_rng;

static pkc_ydoc *doc_new(uint64_t client, int gc)
{
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    cfg.client_id = client;
    cfg.gc = gc;
    pkc_seeded_rng_init(&test_rng, client);
    pkc_ydoc *d = NULL;
    if (pkc_ydoc_new(&cfg, &test_rng.rng, &d) != 0)
        return NULL;
    return d;
}

static pkc_ytype *root(pkc_ydoc *d, const char *name, pkc_ytype_kind kind)
{
    pkc_ytype *t = NULL;
    if (pkc_ydoc_get(d, name, kind, &t) != 0)
        return NULL;
    return t;
}

/* JSON of a value (as JSON.stringify), in a static buffer. */
static const char *vjson(const pkc_yvalue *v)
{
    static char out[4096];
    pkc_buf b = PKC_BUF_INIT;
    if (v == NULL || yjson_write(&b, v) || b.len >= sizeof out) {
        pkc_buf_free(&b);
        return "(unprintable)";
    }
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    pkc_buf_free(&b);
    return out;
}

static const char *tjson(const pkc_ytype *t)
{
    static char out[4096];
    char *j;
    size_t n;
    if (pkc_ytype_to_json(t, &j, &n) || n >= sizeof out)
        return "(error)";
    memcpy(out, j, n + 1);
    free(j);
    return out;
}

static const char *tstr(const pkc_ytype *t)
{
    static char out[4096];
    char *s;
    size_t n;
    if (pkc_ytext_to_string(t, &s, &n) || n >= sizeof out)
        return "(error)";
    memcpy(out, s, n + 1);
    free(s);
    return out;
}

static pkc_yvalue num(double d)
{
    pkc_yvalue v = {.kind = PKC_YV_NUMBER};
    v.u.number = d;
    return v;
}

static pkc_yvalue str(const char *s)
{
    pkc_yvalue v = {.kind = PKC_YV_STRING};
    v.u.str.ptr = s;
    v.u.str.len = strlen(s);
    return v;
}

static pkc_yvalue typev(pkc_ytype_kind k)
{
    pkc_yvalue v = {.kind = PKC_YV_TYPE};
    v.u.type.kind = k;
    return v;
}

static pkc_yvalue boolv(int b)
{
    pkc_yvalue v = {.kind = PKC_YV_BOOL};
    v.u.boolean = b;
    return v;
}

/* Copies every update a document emits into another document. */
static void relay(void *ud, const uint8_t *u, size_t n, const void *origin)
{
    (void)origin;
    if (pkc_ydoc_apply_update((pkc_ydoc *)ud, u, n, "relay") != 0)
        abort();
}

static int same_state(pkc_ydoc *a, pkc_ydoc *b)
{
    uint8_t *x, *y;
    size_t xn, yn;
    if (pkc_ydoc_encode_state_vector(a, &x, &xn) || pkc_ydoc_encode_state_vector(b, &y, &yn))
        return 0;
    int same = xn == yn && memcmp(x, y, xn) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- values, maps, arrays, text ------------------------------------------- */

TEST(crdt, map_set_get_overwrite_delete)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *m = root(d, "m", PKC_YMAP);
    CHECK(m != NULL);
    pkc_yvalue v = num(1.5);
    CHECK_OK(pkc_ymap_set(NULL, m, "a", &v, NULL));
    v = str("x");
    CHECK_OK(pkc_ymap_set(NULL, m, "b", &v, NULL));
    v = num(2);
    CHECK_OK(pkc_ymap_set(NULL, m, "a", &v, NULL)); /* overwrite */
    CHECK_EQ(pkc_ymap_get_size(m), 2);
    CHECK(pkc_ymap_has(m, "a") && !pkc_ymap_has(m, "zz"));
    pkc_yvalue *out;
    CHECK_OK(pkc_ymap_get(m, "a", &out));
    CHECK_EQ(out->kind, PKC_YV_NUMBER);
    CHECK(out->u.number == 2);
    pkc_yvalue_free(out);
    CHECK_ERR(pkc_ymap_get(m, "zz", &out), PKC_ERR_NOT_FOUND);
    CHECK_OK(pkc_ymap_delete(NULL, m, "zz")); /* a missing key is fine */
    CHECK_OK(pkc_ymap_delete(NULL, m, "b"));
    CHECK_EQ(pkc_ymap_get_size(m), 1);
    CHECK_STR(tjson(m), "{\"a\":2}");
    CHECK_OK(pkc_ymap_get_entries(m, &out));
    CHECK_STR(vjson(out), "{\"a\":2}");
    pkc_yvalue_free(out);
    pkc_ydoc_free(d);
}

TEST(crdt, values_of_every_kind_round_trip)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *m = root(d, "m", PKC_YMAP);
    pkc_yvalue items[3] = {num(1), str("two"), {.kind = PKC_YV_NULL}};
    pkc_yentry entries[3] = {{"k", 1, boolv(1)}, {"n", 1, num(-0.5)}, {"k", 1, boolv(0)}};
    pkc_yvalue vals[8];
    const char *keys[8] = {"undef", "null", "bool", "big", "bin", "arr", "obj", "str"};
    vals[0].kind = PKC_YV_UNDEFINED;
    vals[1].kind = PKC_YV_NULL;
    vals[2] = boolv(1);
    vals[3].kind = PKC_YV_BIGINT;
    vals[3].u.bigint = -((int64_t)1 << 60);
    vals[4].kind = PKC_YV_BINARY;
    vals[4].u.str.ptr = "\x00\xff";
    vals[4].u.str.len = 2;
    vals[5].kind = PKC_YV_ARRAY;
    vals[5].u.array.items = items;
    vals[5].u.array.len = 3;
    vals[6].kind = PKC_YV_OBJECT;
    vals[6].u.object.entries = entries;
    vals[6].u.object.len = 3;
    vals[7] = str("é😀");
    for (int i = 0; i < 8; i++)
        CHECK_OK(pkc_ymap_set(NULL, m, keys[i], &vals[i], NULL));
    pkc_yvalue *out;
    CHECK_OK(pkc_ymap_get(m, "big", &out));
    CHECK(out->kind == PKC_YV_BIGINT && out->u.bigint == -((int64_t)1 << 60));
    pkc_yvalue_free(out);
    CHECK_OK(pkc_ymap_get(m, "bin", &out));
    CHECK(out->kind == PKC_YV_BINARY && out->u.str.len == 2 && memcmp(out->u.str.ptr, "\x00\xff", 2) == 0);
    pkc_yvalue_free(out);
    CHECK_OK(pkc_ymap_get(m, "undef", &out));
    CHECK_EQ(out->kind, PKC_YV_UNDEFINED);
    pkc_yvalue_free(out);
    /* a later duplicate key wins, at the first key's place (as in JavaScript) */
    CHECK_OK(pkc_ymap_get(m, "obj", &out));
    CHECK_STR(vjson(out), "{\"k\":false,\"n\":-0.5}");
    pkc_yvalue_free(out);
    /* the same values through an update into another document */
    pkc_ydoc *e = doc_new(2, 1);
    uint8_t *u;
    size_t n;
    CHECK_OK(pkc_ydoc_encode_state(d, NULL, 0, &u, &n));
    CHECK_OK(pkc_ydoc_apply_update(e, u, n, NULL));
    free(u);
    char want[1024];
    snprintf(want, sizeof want, "%s", tjson(m));
    CHECK_STR(tjson(root(e, "m", PKC_YMAP)), want);
    /* (JSON leaves undefined out, as JSON.stringify(map.toJSON()) does) */
    CHECK_STR(want, "{\"null\":null,\"bool\":true,\"big\":-1152921504606846976,"
                    "\"bin\":{\"0\":0,\"1\":255},\"arr\":[1,\"two\",null],"
                    "\"obj\":{\"k\":false,\"n\":-0.5},\"str\":\"é😀\"}");
    /* strings must be UTF-8 */
    pkc_yvalue bad = str("\xc3\x28");
    CHECK_ERR(pkc_ymap_set(NULL, m, "bad", &bad, NULL), PKC_ERR_INVALID_ARG);
    CHECK(!pkc_ymap_has(m, "bad"));
    pkc_ydoc_free(d);
    pkc_ydoc_free(e);
}

TEST(crdt, array_insert_get_slice_delete)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *a = root(d, "a", PKC_YARRAY);
    pkc_yvalue v[3] = {num(1), num(2), num(3)};
    CHECK_OK(pkc_yarray_insert(NULL, a, 0, v, 3, NULL));
    pkc_yvalue x = str("x");
    CHECK_OK(pkc_yarray_insert(NULL, a, 1, &x, 1, NULL));
    CHECK_OK(pkc_yarray_push(NULL, a, &x, 1, NULL));
    CHECK_STR(tjson(a), "[1,\"x\",2,3,\"x\"]");
    CHECK_EQ(pkc_ytype_get_length(a), 5);
    CHECK_ERR(pkc_yarray_insert(NULL, a, 6, &x, 1, NULL), PKC_ERR_RANGE);
    pkc_yvalue *out;
    CHECK_OK(pkc_yarray_get(a, 2, &out));
    CHECK(out->kind == PKC_YV_NUMBER && out->u.number == 2);
    pkc_yvalue_free(out);
    CHECK_ERR(pkc_yarray_get(a, 5, &out), PKC_ERR_RANGE);
    CHECK_OK(pkc_yarray_slice(a, 1, 100, &out)); /* clamped */
    CHECK_STR(vjson(out), "[\"x\",2,3,\"x\"]");
    pkc_yvalue_free(out);
    CHECK_OK(pkc_yarray_delete(NULL, a, 1, 2));
    CHECK_STR(tjson(a), "[1,3,\"x\"]");
    CHECK_ERR(pkc_yarray_delete(NULL, a, 2, 2), PKC_ERR_RANGE);
    CHECK_STR(tjson(a), "[1,3,\"x\"]");
    pkc_ydoc_free(d);
}

TEST(crdt, text_utf16_positions)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *t = root(d, "t", PKC_YTEXT);
    const char *s = "héllo 😀";
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, s, strlen(s), NULL, 0));
    CHECK_EQ(pkc_ytype_get_length(t), 8); /* é one unit, 😀 two */
    CHECK_OK(pkc_ytext_delete(NULL, t, 1, 1));
    CHECK_STR(tstr(t), "hllo 😀");
    CHECK_OK(pkc_ytext_insert(NULL, t, 7, "!", 1, NULL, 0));
    CHECK_STR(tstr(t), "hllo 😀!");
    CHECK_ERR(pkc_ytext_insert(NULL, t, 0, "\xff", 1, NULL, 0), PKC_ERR_INVALID_ARG);
    CHECK_STR(tstr(t), "hllo 😀!");
    /* as in Yjs: past the end is the end */
    CHECK_OK(pkc_ytext_insert(NULL, t, 100, "?", 1, NULL, 0));
    CHECK_STR(tstr(t), "hllo 😀!?");
    CHECK_OK(pkc_ytext_delete(NULL, t, 7, 100));
    CHECK_STR(tstr(t), "hllo 😀");
    pkc_yentry b = {"b", 1, boolv(1)};
    CHECK_OK(pkc_ytext_format(NULL, t, 5, 4, &b, 1)); /* 2 past the end: newlines */
    CHECK_STR(tstr(t), "hllo 😀\n\n");
    pkc_ydoc_free(d);
}

TEST(crdt, text_formatting_and_delta)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *t = root(d, "t", PKC_YTEXT);
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "hello world", 11, NULL, 0));
    pkc_yentry bold = {"bold", 4, boolv(1)};
    CHECK_OK(pkc_ytext_format(NULL, t, 0, 5, &bold, 1));
    /* inserting without attributes inherits the formatting at the position */
    CHECK_OK(pkc_ytext_insert(NULL, t, 5, "!", 1, NULL, 0));
    /* an empty attribute list inserts plain text */
    pkc_yentry none;
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, ">", 1, &none, 0));
    pkc_yvalue img = {.kind = PKC_YV_OBJECT};
    pkc_yentry src = {"image", 5, str("x.png")};
    img.u.object.entries = &src;
    img.u.object.len = 1;
    CHECK_OK(pkc_ytext_insert_embed(NULL, t, 1, &img, &none, 0, NULL));
    pkc_yvalue *delta;
    CHECK_OK(pkc_ytext_to_delta(t, &delta));
    CHECK_STR(vjson(delta), "[{\"insert\":\">\"},{\"insert\":{\"image\":\"x.png\"}},"
                            "{\"insert\":\"hello!\",\"attributes\":{\"bold\":true}},"
                            "{\"insert\":\" world\"}]");
    pkc_yvalue_free(delta);
    CHECK_STR(tstr(t), ">hello! world"); /* embeds left out */
    CHECK_EQ(pkc_ytype_get_length(t), 14);
    /* removing the attribute */
    pkc_yentry unbold = {"bold", 4, {.kind = PKC_YV_NULL}};
    CHECK_OK(pkc_ytext_format(NULL, t, 0, 14, &unbold, 1));
    CHECK_OK(pkc_ytext_to_delta(t, &delta));
    CHECK_STR(vjson(delta), "[{\"insert\":\">\"},{\"insert\":{\"image\":\"x.png\"}},"
                            "{\"insert\":\"hello! world\"}]");
    pkc_yvalue_free(delta);
    pkc_ydoc_free(d);
}

TEST(crdt, text_apply_delta)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *t = root(d, "t", PKC_YTEXT);
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "abcdef", 6, NULL, 0));
    yv delta;
    CHECK_OK(yjson_parse("[{\"retain\":1},{\"delete\":2},{\"insert\":\"XY\",\"attributes\":{\"i\":true}},"
                         "{\"retain\":1,\"attributes\":{\"u\":1}}]",
                         strlen("[{\"retain\":1},{\"delete\":2},{\"insert\":\"XY\",\"attributes\":{\"i\":"
                                "true}},{\"retain\":1,\"attributes\":{\"u\":1}}]"),
                         &delta));
    CHECK_OK(pkc_ytext_apply_delta(NULL, t, &delta));
    yv_clear(&delta);
    pkc_yvalue *out;
    CHECK_OK(pkc_ytext_to_delta(t, &out));
    CHECK_STR(vjson(out), "[{\"insert\":\"a\"},{\"insert\":\"XY\",\"attributes\":{\"i\":true}},"
                          "{\"insert\":\"d\",\"attributes\":{\"u\":1}},{\"insert\":\"ef\"}]");
    pkc_yvalue_free(out);
    pkc_ydoc_free(d);
}

TEST(crdt, xml_elements_attributes_text)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *f = root(d, "xml", PKC_YXML_FRAGMENT), *p, *t;
    CHECK_OK(pkc_yxml_insert_element(NULL, f, 0, "p", &p));
    CHECK_OK(pkc_yxml_set_attribute(NULL, p, "class", "c"));
    CHECK_OK(pkc_yxml_insert_text(NULL, p, 0, &t));
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "ab", 2, NULL, 0));
    pkc_yentry bold = {"bold", 4, boolv(1)};
    CHECK_OK(pkc_ytext_format(NULL, t, 1, 1, &bold, 1));
    pkc_yentry ix = {"x", 1, num(1)};
    pkc_yvalue io = {.kind = PKC_YV_OBJECT};
    io.u.object.entries = &ix;
    io.u.object.len = 1;
    pkc_yentry it = {"i", 1, io};
    CHECK_OK(pkc_ytext_insert(NULL, t, 2, "c", 1, &it, 1));
    char *s;
    size_t n;
    CHECK_OK(pkc_yxml_to_string(f, &s, &n));
    CHECK_STR(s, "<p class=\"c\">a<bold>b</bold><i x=\"1\">c</i></p>");
    free(s);
    CHECK_STR(pkc_yxml_get_name(p), "p");
    CHECK(pkc_ytype_get_parent(t) == p && pkc_ytype_get_parent(p) == f && pkc_ytype_get_parent(f) == NULL);
    pkc_ytype *child;
    CHECK_OK(pkc_yxml_get_child(f, 0, &child));
    CHECK(child == p);
    CHECK_ERR(pkc_yxml_get_child(f, 1, &child), PKC_ERR_RANGE);
    CHECK_OK(pkc_yxml_get_attribute(p, "class", &s));
    CHECK_STR(s, "c");
    free(s);
    CHECK_OK(pkc_yxml_remove_attribute(NULL, p, "class"));
    CHECK_ERR(pkc_yxml_get_attribute(p, "class", &s), PKC_ERR_NOT_FOUND);
    pkc_ydoc_free(d);
}

TEST(crdt, nested_types_and_deleted_handles)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *m = root(d, "m", PKC_YMAP), *inner, *list;
    pkc_yvalue tv = typev(PKC_YMAP);
    CHECK_OK(pkc_ymap_set(NULL, m, "inner", &tv, &inner));
    CHECK_EQ(pkc_ytype_get_kind(inner), PKC_YMAP);
    tv = typev(PKC_YARRAY);
    CHECK_OK(pkc_ymap_set(NULL, inner, "list", &tv, &list));
    pkc_yvalue one = num(1);
    CHECK_OK(pkc_yarray_push(NULL, list, &one, 1, NULL));
    CHECK_STR(tjson(m), "{\"inner\":{\"list\":[1]}}");
    pkc_yvalue *out;
    CHECK_OK(pkc_ymap_get(m, "inner", &out));
    CHECK(out->kind == PKC_YV_TYPE && out->u.type.handle == inner);
    pkc_yvalue_free(out);
    /* deleting the entry deletes the types below it; their handles stay
     * valid and refuse changes */
    CHECK_OK(pkc_ymap_delete(NULL, m, "inner"));
    CHECK(pkc_ytype_is_deleted(inner) && pkc_ytype_is_deleted(list));
    CHECK_ERR(pkc_yarray_push(NULL, list, &one, 1, NULL), PKC_ERR_YTYPE_DELETED);
    CHECK_ERR(pkc_ymap_set(NULL, inner, "x", &one, NULL), PKC_ERR_YTYPE_DELETED);
    CHECK_STR(tjson(m), "{}");
    pkc_ydoc_free(d);
}

TEST(crdt, root_kinds)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *t;
    CHECK_OK(pkc_ydoc_get(d, "r", PKC_YMAP, &t));
    CHECK_ERR(pkc_ydoc_get(d, "r", PKC_YTEXT, &t), PKC_ERR_YTYPE_KIND);
    pkc_ytype *u;
    CHECK_OK(pkc_ydoc_get(d, "r", PKC_YUNDEFINED, &u));
    CHECK(u == t);
    /* roots are untyped on the wire: what another peer wrote as a map is
     * read as whatever kind is asked first */
    pkc_ydoc *e = doc_new(2, 1);
    pkc_yvalue v = num(5);
    CHECK_OK(pkc_ymap_set(NULL, t, "k", &v, NULL));
    uint8_t *up;
    size_t n;
    CHECK_OK(pkc_ydoc_encode_state(d, NULL, 0, &up, &n));
    CHECK_OK(pkc_ydoc_apply_update(e, up, n, NULL));
    free(up);
    CHECK_OK(pkc_ydoc_get(e, "r", PKC_YUNDEFINED, &u));
    CHECK_EQ(pkc_ytype_get_kind(u), PKC_YUNDEFINED);
    CHECK_OK(pkc_ydoc_get(e, "r", PKC_YMAP, &u));
    CHECK_STR(tjson(u), "{\"k\":5}");
    pkc_ydoc_free(d);
    pkc_ydoc_free(e);
}

/* ---- documents, updates, transactions --------------------------------------- */

TEST(crdt, two_documents_converge_through_updates)
{
    pkc_ydoc *a = doc_new(1, 1), *b = doc_new(2, 1);
    CHECK_OK(pkc_ydoc_observe_update(a, relay, b, NULL));
    CHECK_OK(pkc_ydoc_observe_update(b, relay, a, NULL));
    pkc_ytype *ta = root(a, "t", PKC_YTEXT), *tb = root(b, "t", PKC_YTEXT);
    CHECK_OK(pkc_ytext_insert(NULL, ta, 0, "abc", 3, NULL, 0));
    CHECK_OK(pkc_ytext_insert(NULL, tb, 3, "def", 3, NULL, 0));
    CHECK_OK(pkc_ytext_delete(NULL, ta, 1, 3));
    CHECK_STR(tstr(ta), "aef");
    CHECK_STR(tstr(tb), "aef");
    CHECK(same_state(a, b));
    CHECK_EQ(pkc_ydoc_has_pending(a), 0);
    pkc_ydoc_free(a);
    pkc_ydoc_free(b);
}

TEST(crdt, concurrent_edits_and_diff_against_state_vector)
{
    pkc_ydoc *a = doc_new(1, 1), *b = doc_new(2, 1);
    pkc_ytype *ta = root(a, "t", PKC_YTEXT), *tb = root(b, "t", PKC_YTEXT);
    CHECK_OK(pkc_ytext_insert(NULL, ta, 0, "aaa", 3, NULL, 0));
    CHECK_OK(pkc_ytext_insert(NULL, tb, 0, "bbb", 3, NULL, 0));
    /* each sends what the other lacks */
    uint8_t *sva, *svb, *ua, *ub;
    size_t sva_n, svb_n, ua_n, ub_n;
    CHECK_OK(pkc_ydoc_encode_state_vector(a, &sva, &sva_n));
    CHECK_OK(pkc_ydoc_encode_state_vector(b, &svb, &svb_n));
    CHECK_OK(pkc_ydoc_encode_state(a, svb, svb_n, &ua, &ua_n));
    CHECK_OK(pkc_ydoc_encode_state(b, sva, sva_n, &ub, &ub_n));
    CHECK_OK(pkc_ydoc_apply_update(b, ua, ua_n, NULL));
    CHECK_OK(pkc_ydoc_apply_update(a, ub, ub_n, NULL));
    /* the lower client id goes first (YATA) */
    CHECK_STR(tstr(ta), "aaabbb");
    CHECK_STR(tstr(tb), "aaabbb");
    /* nothing more to send */
    uint8_t *none;
    size_t none_n;
    free(svb);
    CHECK_OK(pkc_ydoc_encode_state_vector(b, &svb, &svb_n));
    CHECK_OK(pkc_ydoc_encode_state(a, svb, svb_n, &none, &none_n));
    CHECK_EQ(none_n, 2); /* no structs, no deletes */
    free(none);
    CHECK_ERR(pkc_ydoc_encode_state(a, (const uint8_t *)"\x05", 1, &none, &none_n),
              PKC_ERR_TRUNCATED);
    free(sva);
    free(svb);
    free(ua);
    free(ub);
    pkc_ydoc_free(a);
    pkc_ydoc_free(b);
}

TEST(crdt, bad_update_changes_nothing)
{
    pkc_ydoc *a = doc_new(1, 1), *b = doc_new(2, 1);
    pkc_ytype *ta = root(a, "t", PKC_YTEXT);
    CHECK_OK(pkc_ytext_insert(NULL, ta, 0, "hello", 5, NULL, 0));
    uint8_t *u, *before, *after;
    size_t n, bn, an;
    CHECK_OK(pkc_ydoc_encode_state(a, NULL, 0, &u, &n));
    CHECK_OK(pkc_ytext_insert(NULL, root(b, "t", PKC_YTEXT), 0, "x", 1, NULL, 0));
    CHECK_OK(pkc_ydoc_encode_state(b, NULL, 0, &before, &bn));
    for (size_t k = 0; k < n; k++) {
        int rc = pkc_ydoc_apply_update(b, u, k, NULL);
        CHECK(rc == PKC_ERR_TRUNCATED || rc == PKC_ERR_MALFORMED);
        CHECK(strstr(pkc_errmsg(), "offset") != NULL); /* says where */
        CHECK_OK(pkc_ydoc_encode_state(b, NULL, 0, &after, &an));
        CHECK(an == bn && memcmp(after, before, bn) == 0);
        free(after);
    }
    CHECK_OK(pkc_ydoc_apply_update(b, u, n, NULL));
    CHECK_STR(tstr(root(b, "t", PKC_YTEXT)), "hellox");
    free(u);
    free(before);
    pkc_ydoc_free(a);
    pkc_ydoc_free(b);
}

TEST(crdt, missing_dependencies_wait_as_pending)
{
    pkc_ydoc *a = doc_new(1, 1), *b = doc_new(2, 1);
    pkc_ytype *ta = root(a, "t", PKC_YTEXT);
    uint8_t *u1, *u2, *sv;
    size_t n1, n2, svn;
    CHECK_OK(pkc_ytext_insert(NULL, ta, 0, "abc", 3, NULL, 0));
    CHECK_OK(pkc_ydoc_encode_state(a, NULL, 0, &u1, &n1));
    CHECK_OK(pkc_ydoc_encode_state_vector(a, &sv, &svn));
    CHECK_OK(pkc_ytext_insert(NULL, ta, 1, "X", 1, NULL, 0));
    CHECK_OK(pkc_ytext_delete(NULL, ta, 0, 1));
    CHECK_OK(pkc_ydoc_encode_state(a, sv, svn, &u2, &n2));
    CHECK_OK(pkc_ydoc_apply_update(b, u2, n2, NULL));
    CHECK_EQ(pkc_ydoc_has_pending(b), 1);
    CHECK_STR(tstr(root(b, "t", PKC_YTEXT)), "");
    CHECK_OK(pkc_ydoc_apply_update(b, u1, n1, NULL));
    CHECK_EQ(pkc_ydoc_has_pending(b), 0);
    CHECK_STR(tstr(root(b, "t", PKC_YTEXT)), "Xbc");
    free(u1);
    free(u2);
    free(sv);
    pkc_ydoc_free(a);
    pkc_ydoc_free(b);
}

TEST(crdt, client_id_collision_takes_a_new_id)
{
    pkc_ydoc *a = doc_new(7, 1), *b = doc_new(7, 1); /* the same id */
    CHECK_OK(pkc_ytext_insert(NULL, root(a, "t", PKC_YTEXT), 0, "a", 1, NULL, 0));
    uint8_t *u;
    size_t n;
    CHECK_OK(pkc_ydoc_encode_state(a, NULL, 0, &u, &n));
    CHECK_OK(pkc_ydoc_apply_update(b, u, n, NULL));
    free(u);
    /* b received changes under its own id from elsewhere: it moves away */
    CHECK(pkc_ydoc_get_client_id(b) != 7);
    CHECK_OK(pkc_ytext_insert(NULL, root(b, "t", PKC_YTEXT), 1, "b", 1, NULL, 0));
    CHECK_OK(pkc_ydoc_encode_state(b, NULL, 0, &u, &n));
    CHECK_OK(pkc_ydoc_apply_update(a, u, n, NULL));
    free(u);
    CHECK_STR(tstr(root(a, "t", PKC_YTEXT)), "ab");
    CHECK_EQ(pkc_ydoc_get_client_id(a), 7);
    pkc_ydoc_free(a);
    pkc_ydoc_free(b);
}

static int nupdates;
static void count_update(void *ud, const uint8_t *u, size_t n, const void *origin)
{
    (void)u;
    (void)n;
    CHECK(origin == ud);
    nupdates++;
}

TEST(crdt, transactions_origin_and_one_update_each)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *m = root(d, "m", PKC_YMAP);
    static const char origin[] = "mine";
    uint32_t id;
    CHECK_OK(pkc_ydoc_observe_update(d, count_update, (void *)origin, &id));
    pkc_ytxn *txn, *txn2;
    CHECK_OK(pkc_ydoc_transact(d, origin, &txn));
    CHECK_ERR(pkc_ydoc_transact(d, origin, &txn2), PKC_ERR_STATE);
    CHECK(pkc_ytxn_get_origin(txn) == origin && pkc_ytxn_is_local(txn));
    pkc_yvalue v = num(1);
    CHECK_OK(pkc_ymap_set(txn, m, "a", &v, NULL));
    CHECK_OK(pkc_ymap_set(txn, m, "b", &v, NULL));
    CHECK_EQ(nupdates, 0); /* not before the commit */
    CHECK_OK(pkc_ytxn_commit(txn));
    CHECK_EQ(nupdates, 1);
    /* a transaction that changes nothing emits nothing */
    CHECK_OK(pkc_ydoc_transact(d, origin, &txn));
    CHECK_OK(pkc_ymap_delete(txn, m, "nope"));
    CHECK_OK(pkc_ytxn_commit(txn));
    CHECK_EQ(nupdates, 1);
    pkc_ydoc_unobserve_update(d, id);
    CHECK_OK(pkc_ymap_set(NULL, m, "c", &v, NULL));
    CHECK_EQ(nupdates, 1);
    pkc_ydoc_free(d);
}

TEST(crdt, functions_on_encoded_updates)
{
    /* from yjs: client 5 inserted [1,2], then "x" at 1, then pushed true */
    uint8_t v1[64], v2[64], sv[8];
    size_t n1 = pkc_test_unhex("0104050008010161017d01880500017d02c80500050101770178880501017800", v1,
                               sizeof v1);
    size_t n2 = pkc_test_unhex("00000245030301000201020708008800c80088030161010101000241020104007d01"
                               "7d027701787800",
                               v2, sizeof v2);
    size_t svn = pkc_test_unhex("010504", sv, sizeof sv);
    uint8_t *out;
    size_t on;
    CHECK_OK(pkc_yupdate_v2_to_v1(v2, n2, &out, &on));
    CHECK(on == n1 && memcmp(out, v1, n1) == 0);
    free(out);
    CHECK_OK(pkc_yupdate_encode_state_vector(v1, n1, &out, &on));
    CHECK(on == svn && memcmp(out, sv, svn) == 0);
    free(out);
    CHECK_OK(pkc_yupdate_diff(v1, n1, sv, svn, &out, &on));
    CHECK_EQ(on, 2); /* nothing beyond its own state */
    free(out);
    /* merging the update with its own first half gives the update */
    pkc_ydoc *d = doc_new(1, 1);
    CHECK_OK(pkc_ydoc_apply_update(d, v1, n1, NULL));
    CHECK_STR(tjson(root(d, "a", PKC_YARRAY)), "[1,\"x\",2,true]");
    const uint8_t *ups[2] = {v1, v1};
    size_t lens[2] = {n1, n1};
    CHECK_OK(pkc_yupdate_merge(ups, lens, 2, &out, &on));
    CHECK(on == n1 && memcmp(out, v1, n1) == 0);
    free(out);
    CHECK_ERR(pkc_yupdate_merge(ups, (size_t[]){n1, n1 - 1}, 2, &out, &on), PKC_ERR_TRUNCATED);
    pkc_ydoc_free(d);
}

TEST(crdt, garbage_collection)
{
    /* with gc, deleted text keeps only its length; without, its content
     * stays for snapshots */
    size_t sizes[2];
    for (int gc = 0; gc < 2; gc++) {
        pkc_ydoc *d = doc_new(1, gc);
        pkc_ytype *t = root(d, "t", PKC_YTEXT);
        char big[1000];
        memset(big, 'z', sizeof big);
        CHECK_OK(pkc_ytext_insert(NULL, t, 0, big, sizeof big, NULL, 0));
        CHECK_OK(pkc_ytext_delete(NULL, t, 0, sizeof big));
        uint8_t *u;
        CHECK_OK(pkc_ydoc_encode_state(d, NULL, 0, &u, &sizes[gc]));
        free(u);
        pkc_ydoc_free(d);
    }
    CHECK(sizes[1] < 30 && sizes[0] > 1000);
}

/* ---- observers and events ---------------------------------------------------- */

static char event_log[4096];
static void log_deep(void *ud, pkc_ytxn *txn, const pkc_yevent *const *evs, size_t n)
{
    (void)ud;
    (void)txn;
    for (size_t i = 0; i < n; i++) {
        char line[1024];
        char path[256];
        snprintf(path, sizeof path, "%s", vjson(pkc_yevent_get_path(evs[i])));
        char keys[512];
        snprintf(keys, sizeof keys, "%s", vjson(pkc_yevent_get_keys(evs[i])));
        snprintf(line, sizeof line, "%s %s %s\n", path, keys, vjson(pkc_yevent_get_delta(evs[i])));
        strncat(event_log, line, sizeof event_log - strlen(event_log) - 1);
    }
}

TEST(crdt, deep_observer_paths_keys_deltas)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *m = root(d, "m", PKC_YMAP), *t;
    event_log[0] = '\0';
    uint32_t id;
    CHECK_OK(pkc_ytype_observe_deep(m, log_deep, NULL, &id));
    pkc_yvalue tv = typev(PKC_YTEXT);
    CHECK_OK(pkc_ymap_set(NULL, m, "k", &tv, &t));
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "ab", 2, NULL, 0));
    pkc_yvalue v = num(1);
    CHECK_OK(pkc_ymap_set(NULL, m, "k2", &v, NULL));
    v = num(2);
    CHECK_OK(pkc_ymap_set(NULL, m, "k2", &v, NULL));
    pkc_ytxn *txn;
    CHECK_OK(pkc_ydoc_transact(d, NULL, &txn));
    pkc_yentry b = {"b", 1, boolv(1)};
    CHECK_OK(pkc_ytext_insert(txn, t, 1, "X", 1, &b, 1));
    CHECK_OK(pkc_ymap_delete(txn, m, "k2"));
    CHECK_OK(pkc_ytxn_commit(txn));
    /* as Y.Map.observeDeep reports them (top first) */
    CHECK_STR(event_log,
              "[] {\"k\":{\"action\":\"add\"}} []\n"
              "[\"k\"] {} [{\"insert\":\"ab\"}]\n"
              "[] {\"k2\":{\"action\":\"add\"}} []\n"
              "[] {\"k2\":{\"action\":\"update\",\"oldValue\":1}} []\n"
              "[] {\"k2\":{\"action\":\"delete\",\"oldValue\":2}} []\n"
              "[\"k\"] {} [{\"retain\":1},{\"insert\":\"X\",\"attributes\":{\"b\":true}}]\n");
    pkc_ytype_unobserve(m, id);
    event_log[0] = '\0';
    CHECK_OK(pkc_ymap_set(NULL, m, "k3", &v, NULL));
    CHECK_STR(event_log, "");
    pkc_ydoc_free(d);
}

typedef struct reentry {
    pkc_ytype *log;
    int calls;
} reentry;

static void on_array(void *ud, pkc_ytxn *txn, const pkc_yevent *ev)
{
    (void)txn;
    reentry *r = ud;
    r->calls++;
    /* an observer may change the document: that runs after this transaction */
    if (pkc_yevent_get_target(ev) != r->log) {
        pkc_yvalue v = str("seen");
        if (pkc_yarray_push(NULL, r->log, &v, 1, NULL) != 0)
            abort();
    }
}

TEST(crdt, observers_may_start_transactions)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *a = root(d, "a", PKC_YARRAY);
    reentry r = {root(d, "log", PKC_YARRAY), 0};
    CHECK_OK(pkc_ytype_observe(a, on_array, &r, NULL));
    CHECK_OK(pkc_ytype_observe(r.log, on_array, &r, NULL));
    pkc_yvalue v = num(1);
    CHECK_OK(pkc_yarray_push(NULL, a, &v, 1, NULL));
    CHECK_EQ(r.calls, 2); /* a's event, then log's */
    CHECK_STR(tjson(r.log), "[\"seen\"]");
    pkc_ydoc_free(d);
}

/* ---- undo ---------------------------------------------------------------------- */

TEST(crdt, undo_redo_steps_and_origins)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *t = root(d, "t", PKC_YTEXT);
    pkc_manual_clock clk;
    pkc_manual_clock_init(&clk, 0, 1000000);
    pkc_yundo_config cfg;
    pkc_yundo_config_default(&cfg);
    pkc_yundo *um;
    CHECK_ERR(pkc_yundo_new(&t, 1, &cfg, NULL, &um), PKC_ERR_INVALID_ARG);
    CHECK_OK(pkc_yundo_new(&t, 1, &cfg, &clk.clock, &um));
    CHECK(!pkc_yundo_can_undo(um));
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "a", 1, NULL, 0));
    pkc_manual_clock_advance(&clk, 100 * 1000);
    CHECK_OK(pkc_ytext_insert(NULL, t, 1, "b", 1, NULL, 0)); /* within 500 ms: same step */
    pkc_manual_clock_advance(&clk, 600 * 1000);
    CHECK_OK(pkc_ytext_insert(NULL, t, 2, "c", 1, NULL, 0)); /* a new step */
    /* changes with an untracked origin are not undone */
    static const char remote[] = "remote";
    pkc_ytxn *txn;
    CHECK_OK(pkc_ydoc_transact(d, remote, &txn));
    CHECK_OK(pkc_ytext_insert(txn, t, 0, "R", 1, NULL, 0));
    CHECK_OK(pkc_ytxn_commit(txn));
    CHECK_STR(tstr(t), "Rabc");
    int done;
    CHECK_OK(pkc_yundo_undo(um, &done));
    CHECK(done);
    CHECK_STR(tstr(t), "Rab");
    CHECK_OK(pkc_yundo_undo(um, &done));
    CHECK_STR(tstr(t), "R");
    CHECK_OK(pkc_yundo_undo(um, &done));
    CHECK(!done && !pkc_yundo_can_undo(um));
    CHECK_OK(pkc_yundo_redo(um, &done));
    CHECK(done);
    CHECK_STR(tstr(t), "Rab");
    /* a tracked origin joins; stop_capturing splits steps */
    CHECK_OK(pkc_yundo_track_origin(um, remote));
    CHECK_OK(pkc_ydoc_transact(d, remote, &txn));
    CHECK_OK(pkc_ytext_insert(txn, t, 3, "1", 1, NULL, 0));
    CHECK_OK(pkc_ytxn_commit(txn));
    pkc_yundo_stop_capturing(um);
    CHECK_OK(pkc_ytext_insert(NULL, t, 4, "2", 1, NULL, 0));
    CHECK_OK(pkc_yundo_undo(um, NULL));
    CHECK_STR(tstr(t), "Rab1");
    CHECK_OK(pkc_yundo_undo(um, NULL));
    CHECK_STR(tstr(t), "Rab");
    CHECK_OK(pkc_yundo_clear(um));
    CHECK(!pkc_yundo_can_undo(um) && !pkc_yundo_can_redo(um));
    pkc_yundo_free(um);
    pkc_ydoc_free(d);
}

/* ---- relative positions and snapshots ------------------------------------------ */

TEST(crdt, relative_positions_follow_edits)
{
    pkc_ydoc *d = doc_new(1, 1);
    pkc_ytype *t = root(d, "t", PKC_YTEXT), *at;
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "hello", 5, NULL, 0));
    uint8_t *rp, *rpend;
    size_t rn, rendn, index;
    CHECK_OK(pkc_yrelpos_from_index(t, 3, 0, &rp, &rn));
    CHECK_OK(pkc_yrelpos_from_index(t, 5, 0, &rpend, &rendn)); /* the end: the type itself */
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, ">>", 2, NULL, 0));
    CHECK_OK(pkc_yrelpos_to_index(d, rp, rn, &at, &index));
    CHECK(at == t);
    CHECK_EQ(index, 5);
    CHECK_OK(pkc_ytext_delete(NULL, t, 3, 3)); /* deletes the character it was at */
    CHECK_OK(pkc_yrelpos_to_index(d, rp, rn, &at, &index));
    CHECK_EQ(index, 3);
    CHECK_OK(pkc_yrelpos_to_index(d, rpend, rendn, &at, &index));
    CHECK_EQ(index, pkc_ytype_get_length(t));
    /* in another document the same bytes mean the same place */
    pkc_ydoc *e = doc_new(2, 1);
    uint8_t *u;
    size_t n;
    CHECK_OK(pkc_ydoc_encode_state(d, NULL, 0, &u, &n));
    CHECK_OK(pkc_ydoc_apply_update(e, u, n, NULL));
    free(u);
    CHECK_OK(pkc_yrelpos_to_index(e, rp, rn, &at, &index));
    CHECK(at == root(e, "t", PKC_YTEXT) && index == 3);
    CHECK_ERR(pkc_yrelpos_to_index(e, rp, 1, &at, &index), PKC_ERR_TRUNCATED);
    pkc_ydoc *empty = doc_new(3, 1);
    int rc = pkc_yrelpos_to_index(empty, rp, rn, &at, &index);
    pkc_ydoc_free(empty);
    CHECK_ERR(rc, PKC_ERR_NOT_FOUND);
    free(rp);
    free(rpend);
    pkc_ydoc_free(d);
    pkc_ydoc_free(e);
}

TEST(crdt, snapshots_restore_the_past)
{
    pkc_ydoc *d = doc_new(1, 0);
    pkc_ytype *t = root(d, "t", PKC_YTEXT);
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "first", 5, NULL, 0));
    uint8_t *snap;
    size_t sn;
    CHECK_OK(pkc_ydoc_encode_snapshot(d, &snap, &sn));
    CHECK_OK(pkc_ytext_delete(NULL, t, 0, 5));
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "second", 6, NULL, 0));
    pkc_ydoc *past;
    CHECK_OK(pkc_ydoc_from_snapshot(d, snap, sn, &past));
    CHECK_STR(tstr(root(past, "t", PKC_YTEXT)), "first");
    CHECK_STR(tstr(t), "second");
    pkc_ydoc_free(past);
    /* a document that collects deleted content has no past to show */
    pkc_ydoc *g = doc_new(2, 1);
    CHECK_ERR(pkc_ydoc_from_snapshot(g, snap, sn, &past), PKC_ERR_STATE);
    pkc_ydoc_free(g);
    free(snap);
    pkc_ydoc_free(d);
}

/* The delta *d (read after rc's call) as JSON; frees it. */
static const char *djson(int rc, pkc_yvalue **d)
{
    if (rc)
        return pkc_err_name(rc);
    const char *j = vjson(*d);
    pkc_yvalue_free(*d);
    *d = NULL;
    return j;
}

TEST(crdt, text_delta_at_snapshots)
{
    /* Yjs's testSnapshot */
    pkc_ydoc *d = doc_new(1, 0);
    pkc_ytype *t = root(d, "t", PKC_YTEXT);
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "abcd", 4, NULL, 0));
    uint8_t *s1, *s2;
    size_t n1, n2;
    CHECK_OK(pkc_ydoc_encode_snapshot(d, &s1, &n1));
    CHECK_OK(pkc_ytext_insert(NULL, t, 1, "x", 1, NULL, 0));
    CHECK_OK(pkc_ytext_delete(NULL, t, 2, 1));
    CHECK_OK(pkc_ydoc_encode_snapshot(d, &s2, &n2));
    CHECK_OK(pkc_ytext_delete(NULL, t, 2, 2));
    pkc_yvalue *v = NULL;
    CHECK_STR(djson(pkc_ytext_to_delta_at(t, s1, n1, NULL, 0, &v), &v), "[{\"insert\":\"abcd\"}]");
    CHECK_STR(djson(pkc_ytext_to_delta_at(t, s2, n2, NULL, 0, &v), &v), "[{\"insert\":\"axcd\"}]");
    CHECK_STR(djson(pkc_ytext_to_delta_at(t, s2, n2, s1, n1, &v), &v),
              "[{\"insert\":\"a\"},{\"insert\":\"x\",\"attributes\":{\"ychange\":{\"type\":\"added\"}}},"
              "{\"insert\":\"b\",\"attributes\":{\"ychange\":{\"type\":\"removed\"}}},{\"insert\":\"cd\"}]");
    /* no snapshot: now, and what was deleted since prev is plain text */
    CHECK_STR(djson(pkc_ytext_to_delta_at(t, NULL, 0, s1, n1, &v), &v),
              "[{\"insert\":\"a\"},{\"insert\":\"x\",\"attributes\":{\"ychange\":{\"type\":\"added\"}}},"
              "{\"insert\":\"bcd\"}]");
    /* neither: the same as pkc_ytext_to_delta */
    pkc_yentry bold = {"bold", 4, boolv(1)};
    CHECK_OK(pkc_ytext_format(NULL, t, 0, 1, &bold, 1));
    pkc_yvalue img = {.kind = PKC_YV_OBJECT};
    pkc_yentry src = {"image", 5, str("x.png")};
    img.u.object.entries = &src;
    img.u.object.len = 1;
    CHECK_OK(pkc_ytext_insert_embed(NULL, t, 1, &img, NULL, 0, NULL));
    pkc_yvalue *plain;
    CHECK_OK(pkc_ytext_to_delta(t, &plain));
    char want[256];
    snprintf(want, sizeof want, "%s", vjson(plain));
    pkc_yvalue_free(plain);
    CHECK_STR(want, "[{\"insert\":\"a\",\"attributes\":{\"bold\":true}},"
                    "{\"insert\":{\"image\":\"x.png\"}},{\"insert\":\"x\"}]");
    CHECK_STR(djson(pkc_ytext_to_delta_at(t, NULL, 0, NULL, 0, &v), &v), want);
    free(s1);
    free(s2);
    pkc_ydoc_free(d);
}

TEST(crdt, text_delta_at_malformed_snapshots_change_nothing)
{
    pkc_ydoc *d = doc_new(3, 0);
    pkc_ytype *t = root(d, "t", PKC_YTEXT);
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "hello", 5, NULL, 0));
    CHECK_OK(pkc_ytext_delete(NULL, t, 1, 2));
    uint8_t *s, *before, *after;
    size_t sn, bn, an;
    CHECK_OK(pkc_ydoc_encode_snapshot(d, &s, &sn));
    CHECK_OK(pkc_ydoc_encode_state(d, NULL, 0, &before, &bn));
    uint8_t bad[64];
    CHECK(sn + 1 <= sizeof bad);
    memcpy(bad, s, sn);
    bad[sn] = 0;
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2};
    static const uint8_t overlong[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    struct {
        const uint8_t *p;
        size_t n;
    } cases[] = {
        {s, sn - 1},     /* truncated */
        {bad, sn + 1},   /* a trailing byte */
        {s, 0},          /* nothing */
        {huge, sizeof huge},
        {overlong, sizeof overlong},
    };
    pkc_yvalue sentinel;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pkc_yvalue *v = &sentinel;
        CHECK_ERR(pkc_ytext_to_delta_at(t, cases[i].p, cases[i].n, NULL, 0, &v), PKC_ERR_MALFORMED);
        CHECK(v == &sentinel);
        CHECK_ERR(pkc_ytext_to_delta_at(t, s, sn, cases[i].p, cases[i].n, &v), PKC_ERR_MALFORMED);
        CHECK(v == &sentinel);
        CHECK_ERR(pkc_ytext_to_delta_at(t, NULL, 0, cases[i].p, cases[i].n, &v), PKC_ERR_MALFORMED);
        CHECK(v == &sentinel);
    }
    CHECK_OK(pkc_ydoc_encode_state(d, NULL, 0, &after, &an));
    CHECK_EQ(an, bn);
    CHECK_MEM(after, before, bn);
    CHECK_STR(tstr(t), "hlo");
    /* the good snapshot still reads */
    pkc_yvalue *v = NULL;
    CHECK_STR(djson(pkc_ytext_to_delta_at(t, s, sn, NULL, 0, &v), &v), "[{\"insert\":\"hlo\"}]");
    free(s);
    free(before);
    free(after);
    pkc_ydoc_free(d);
}

static unsigned ych_calls;
static const pkc_yvalue *ych_user(void *ud, int added, uint64_t client, uint32_t clock)
{
    static pkc_yentry e[2];
    static pkc_yvalue v;
    (void)ud;
    (void)clock;
    ych_calls++;
    e[0] = (pkc_yentry){"user", 4, num((double)client)};
    e[1] = (pkc_yentry){"type", 4, str(added ? "added" : "removed")};
    v.kind = PKC_YV_OBJECT;
    v.u.object.entries = e;
    v.u.object.len = 2;
    return &v;
}

TEST(crdt, text_delta_at_ychange_callback)
{
    /* as Yjs: text of the client named in the last `user` joins it without
     * a new call (here across a format change, which still ends the op) */
    pkc_ydoc *d = doc_new(2, 0);
    pkc_ytype *t = root(d, "t", PKC_YTEXT);
    uint8_t *s0;
    size_t n0;
    CHECK_OK(pkc_ydoc_encode_snapshot(d, &s0, &n0));
    CHECK_OK(pkc_ytext_insert(NULL, t, 0, "ab", 2, NULL, 0));
    pkc_yentry bold = {"bold", 4, boolv(1)};
    CHECK_OK(pkc_ytext_format(NULL, t, 1, 1, &bold, 1));
    pkc_yvalue *v = NULL;
    ych_calls = 0;
    CHECK_STR(djson(pkc_ytext_to_delta_at_cb(t, NULL, 0, s0, n0, ych_user, NULL, &v), &v),
              "[{\"insert\":\"a\",\"attributes\":{\"ychange\":{\"user\":2,\"type\":\"added\"}}},"
              "{\"insert\":\"b\",\"attributes\":{\"ychange\":{\"user\":2,\"type\":\"added\"},\"bold\":true}}]");
    CHECK_EQ(ych_calls, 1);
    /* without a callback: {type}, and every piece an op of its own */
    CHECK_STR(djson(pkc_ytext_to_delta_at_cb(t, NULL, 0, s0, n0, NULL, NULL, &v), &v),
              "[{\"insert\":\"a\",\"attributes\":{\"ychange\":{\"type\":\"added\"}}},"
              "{\"insert\":\"b\",\"attributes\":{\"ychange\":{\"type\":\"added\"},\"bold\":true}}]");
    free(s0);
    pkc_ydoc_free(d);
}

/* ---- sync, awareness, provider messages ---------------------------------------- */

TEST(crdt, sync_protocol_two_peers)
{
    pkc_ydoc *a = doc_new(1, 1), *b = doc_new(2, 1);
    CHECK_OK(pkc_ytext_insert(NULL, root(a, "t", PKC_YTEXT), 0, "from a", 6, NULL, 0));
    CHECK_OK(pkc_ytext_insert(NULL, root(b, "t", PKC_YTEXT), 0, "from b ", 7, NULL, 0));
    uint8_t *s1, *reply;
    size_t n1, rn;
    int type;
    /* a sends step 1, b answers with step 2, and the other way round */
    CHECK_OK(pkc_ysync_step1(a, &s1, &n1));
    CHECK_OK(pkc_ysync_read(b, s1, n1, NULL, &reply, &rn, &type));
    CHECK_EQ(type, PKC_YSYNC_STEP1);
    CHECK(reply != NULL);
    free(s1);
    uint8_t *none;
    size_t nn;
    CHECK_OK(pkc_ysync_read(a, reply, rn, NULL, &none, &nn, &type));
    CHECK_EQ(type, PKC_YSYNC_STEP2);
    CHECK(none == NULL);
    free(reply);
    CHECK_OK(pkc_ysync_step1(b, &s1, &n1));
    CHECK_OK(pkc_ysync_read(a, s1, n1, NULL, &reply, &rn, &type));
    free(s1);
    CHECK_OK(pkc_ysync_read(b, reply, rn, NULL, &none, &nn, &type));
    free(reply);
    CHECK(same_state(a, b));
    CHECK_STR(tstr(root(a, "t", PKC_YTEXT)), tstr(root(b, "t", PKC_YTEXT)));
    /* bad messages change nothing */
    CHECK_ERR(pkc_ysync_read(a, (const uint8_t *)"\x07\x00", 2, NULL, &none, &nn, &type),
              PKC_ERR_MALFORMED);
    pkc_ydoc_free(a);
    pkc_ydoc_free(b);
}

typedef struct aw_log {
    int calls;
    const void *origin;
    size_t removed;
} aw_log;

static void on_aw(void *ud, const pkc_yawareness_change *c, const void *origin, int is_update)
{
    aw_log *l = ud;
    if (is_update)
        return;
    l->calls++;
    l->origin = origin;
    l->removed += c->nremoved;
}

TEST(crdt, awareness_states_and_timeouts)
{
    int64_t t0 = 1700000000000;
    pkc_yawareness *a, *b;
    CHECK_OK(pkc_yawareness_new(1, t0, &a));
    CHECK_OK(pkc_yawareness_new(2, t0, &b));
    CHECK_STR(pkc_yawareness_get(a, 1), "{}");
    CHECK_OK(pkc_yawareness_set_local(a, "{\"name\":\"ann\"}", t0));
    CHECK_ERR(pkc_yawareness_set_local(a, "{bad", t0), PKC_ERR_MALFORMED);
    uint8_t *u;
    size_t n;
    CHECK_OK(pkc_yawareness_encode(a, NULL, 0, &u, &n));
    aw_log l = {0};
    CHECK_OK(pkc_yawareness_observe(b, on_aw, &l));
    CHECK_OK(pkc_yawareness_apply(b, u, n, "net", t0));
    free(u);
    CHECK_STR(pkc_yawareness_get(b, 1), "{\"name\":\"ann\"}");
    CHECK_EQ(l.calls, 1);
    /* a's state is renewed after 15 s, b forgets it 30 s after it last heard */
    CHECK(pkc_yawareness_check(a, t0 + 15000) > 0);
    CHECK_OK(pkc_yawareness_encode(a, NULL, 0, &u, &n));
    CHECK_OK(pkc_yawareness_apply(b, u, n, "net", t0 + 15000));
    free(u);
    pkc_yawareness_check(b, t0 + 40000);
    CHECK_STR(pkc_yawareness_get(b, 1), "{\"name\":\"ann\"}"); /* heard at 15 s */
    pkc_yawareness_check(b, t0 + 45001);
    CHECK(pkc_yawareness_get(b, 1) == NULL);
    CHECK(l.origin == PKC_YAWARENESS_TIMEOUT);
    CHECK_EQ(l.removed, 1);
    /* going offline removes the state at the peers */
    CHECK_OK(pkc_yawareness_set_local(b, NULL, t0 + 50000));
    CHECK(pkc_yawareness_get(b, 2) == NULL);
    pkc_yawareness_free(a);
    pkc_yawareness_free(b);
}

TEST(crdt, provider_messages)
{
    int64_t now = 1700000000000;
    pkc_ydoc *a = doc_new(1, 1), *b = doc_new(2, 1);
    pkc_yawareness *aa, *ab;
    CHECK_OK(pkc_yawareness_new(1, now, &aa));
    CHECK_OK(pkc_yawareness_new(2, now, &ab));
    CHECK_OK(pkc_yawareness_set_local(aa, "{\"cursor\":1}", now));
    CHECK_OK(pkc_ytext_insert(NULL, root(a, "t", PKC_YTEXT), 0, "x", 1, NULL, 0));
    /* a framed awareness message */
    uint8_t *m, *reply;
    size_t mn, rn;
    int type;
    CHECK_OK(pkc_yawareness_message(aa, NULL, 0, &m, &mn));
    CHECK_EQ(m[0], PKC_YMSG_AWARENESS);
    CHECK_OK(pkc_yprovider_read(b, ab, m, mn, NULL, now, &reply, &rn, &type));
    CHECK_EQ(type, PKC_YMSG_AWARENESS);
    CHECK(reply == NULL);
    free(m);
    CHECK_STR(pkc_yawareness_get(ab, 1), "{\"cursor\":1}");
    /* a query is answered with every state */
    CHECK_OK(pkc_yprovider_read(b, ab, (const uint8_t *)"\x03", 1, NULL, now, &reply, &rn, &type));
    CHECK_EQ(type, PKC_YMSG_QUERY_AWARENESS);
    CHECK(reply != NULL && reply[0] == PKC_YMSG_AWARENESS);
    free(reply);
    /* sync step 1 framed: the answer is a framed step 2 */
    uint8_t *s1;
    size_t n1;
    CHECK_OK(pkc_ysync_step1(b, &s1, &n1));
    uint8_t framed[256];
    framed[0] = PKC_YMSG_SYNC;
    memcpy(framed + 1, s1, n1);
    free(s1);
    CHECK_OK(pkc_yprovider_read(a, aa, framed, n1 + 1, NULL, now, &reply, &rn, &type));
    CHECK_EQ(type, PKC_YMSG_SYNC);
    CHECK(reply != NULL && reply[0] == PKC_YMSG_SYNC);
    CHECK_OK(pkc_yprovider_read(b, ab, reply, rn, NULL, now, &m, &mn, &type));
    free(reply);
    CHECK_STR(tstr(root(b, "t", PKC_YTEXT)), "x");
    CHECK_ERR(pkc_yprovider_read(b, ab, (const uint8_t *)"\x09", 1, NULL, now, &reply, &rn, &type),
              PKC_ERR_UNSUPPORTED);
    pkc_yawareness_free(aa);
    pkc_yawareness_free(ab);
    pkc_ydoc_free(a);
    pkc_ydoc_free(b);
}
