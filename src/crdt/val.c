/*
 * val.c: values as JavaScript peers see them. lib0's Any encoding (what Yjs
 * stores in Map and Array items), JSON as JSON.parse and JSON.stringify
 * read and write it, Number.prototype.toString, and the equality tests Yjs
 * uses (lib0 equalityDeep, equalAttrs, ===).
 */
#include "crdt/val.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/branch.h"
#include "crdt/read.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/text.h"

void yv_clear(yv *v)
{
    switch (v->kind) {
    case PKC_YV_STRING:
    case PKC_YV_BINARY:
    case PKC_YV_DOC:
        free((void *)v->u.str.ptr);
        break;
    case PKC_YV_ARRAY:
        for (size_t i = 0; i < v->u.array.len; i++)
            yv_clear(&v->u.array.items[i]);
        free(v->u.array.items);
        break;
    case PKC_YV_OBJECT:
        for (size_t i = 0; i < v->u.object.len; i++) {
            free((void *)v->u.object.entries[i].key);
            yv_clear(&v->u.object.entries[i].value);
        }
        free(v->u.object.entries);
        break;
    case PKC_YV_TYPE:
        free((void *)v->u.type.name);
        break;
    default:
        break;
    }
    v->kind = PKC_YV_UNDEFINED;
}

void pkc_yvalue_free(pkc_yvalue *v)
{
    if (v == NULL)
        return;
    yv_clear(v);
    free(v);
}

static char *dup_bytes(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int yv_copy(yv *dst, const yv *src)
{
    memset(dst, 0, sizeof *dst);
    dst->kind = src->kind;
    switch (src->kind) {
    case PKC_YV_STRING:
    case PKC_YV_BINARY:
    case PKC_YV_DOC:
        if ((dst->u.str.ptr = dup_bytes(src->u.str.ptr, src->u.str.len)) == NULL)
            goto nomem;
        dst->u.str.len = src->u.str.len;
        return 0;
    case PKC_YV_ARRAY: {
        size_t n = src->u.array.len;
        dst->u.array.items = calloc(n ? n : 1, sizeof(yv));
        if (dst->u.array.items == NULL)
            goto nomem;
        for (size_t i = 0; i < n; i++) {
            dst->u.array.len = i;
            if (yv_copy(&dst->u.array.items[i], &src->u.array.items[i])) {
                yv_clear(dst);
                return pkc_error_code(PKC_ERR_NOMEM);
            }
        }
        dst->u.array.len = n;
        return 0;
    }
    case PKC_YV_OBJECT: {
        size_t n = src->u.object.len;
        dst->u.object.entries = calloc(n ? n : 1, sizeof(pkc_yentry));
        if (dst->u.object.entries == NULL)
            goto nomem;
        for (size_t i = 0; i < n; i++) {
            const pkc_yentry *se = &src->u.object.entries[i];
            pkc_yentry *de = &dst->u.object.entries[i];
            dst->u.object.len = i;
            if ((de->key = dup_bytes(se->key, se->key_len)) == NULL) {
                yv_clear(dst);
                return pkc_error_code(PKC_ERR_NOMEM);
            }
            de->key_len = se->key_len;
            dst->u.object.len = i + 1;
            if (yv_copy(&de->value, &se->value)) {
                yv_clear(dst);
                return pkc_error_code(PKC_ERR_NOMEM);
            }
        }
        dst->u.object.len = n;
        return yv_obj_normalize(dst);
    }
    case PKC_YV_TYPE:
        dst->u.type = src->u.type;
        if (src->u.type.name && (dst->u.type.name = dup_bytes(src->u.type.name,
                                                              strlen(src->u.type.name))) == NULL)
            goto nomem;
        return 0;
    default:
        dst->u = src->u;
        return 0;
    }
nomem:
    dst->kind = PKC_YV_UNDEFINED;
    return pkc_error_code(PKC_ERR_NOMEM);
}

/* ------------------------------------------------------------------------ */
/* JavaScript object key order                                              */

int yv_obj_normalize(yv *obj)
{
    size_t n = obj->u.object.len;
    pkc_yentry *e = obj->u.object.entries;
    if (n < 2) {
        uint32_t ix;
        (void)ix;
        return 0;
    }
    /* Drop earlier duplicates: the first position keeps the last value. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < w; j++)
            if (e[j].key_len == e[i].key_len && memcmp(e[j].key, e[i].key, e[i].key_len) == 0)
                break;
        if (j < w) {
            free((void *)e[i].key);
            yv_clear(&e[j].value);
            e[j].value = e[i].value;
        } else {
            e[w++] = e[i];
        }
    }
    n = obj->u.object.len = w;
    /* Stable: index keys ascending, then the rest in order. */
    int any_index = 0;
    uint32_t ix;
    for (size_t i = 0; i < n; i++)
        if (pkc_js_index_parse(e[i].key, e[i].key_len, &ix))
            any_index = 1;
    if (!any_index)
        return 0;
    pkc_yentry *tmp = malloc(n * sizeof *tmp);
    if (tmp == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (pkc_js_index_parse(e[i].key, e[i].key_len, &ix))
            tmp[k++] = e[i];
    /* insertion sort by index value (few index keys in practice) */
    for (size_t i = 1; i < k; i++) {
        pkc_yentry x = tmp[i];
        uint32_t xv, yvv;
        pkc_js_index_parse(x.key, x.key_len, &xv);
        size_t j = i;
        while (j > 0 &&
               (pkc_js_index_parse(tmp[j - 1].key, tmp[j - 1].key_len, &yvv), yvv > xv)) {
            tmp[j] = tmp[j - 1];
            j--;
        }
        tmp[j] = x;
    }
    for (size_t i = 0; i < n; i++)
        if (!pkc_js_index_parse(e[i].key, e[i].key_len, &ix))
            tmp[k++] = e[i];
    memcpy(e, tmp, n * sizeof *tmp);
    free(tmp);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* lib0 Any                                                                 */

static double be_float32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    float f;
    memcpy(&f, &u, 4);
    return (double)f;
}

static double be_float64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static int any_read(pkc_reader *r, yv *out, int depth, int build)
{
    uint8_t tag;
    size_t at = pkc_reader_offset(r);
    int rc;
    if (depth > YC_MAX_DEPTH)
        return pkc_error(PKC_ERR_TOO_LARGE, "offset %zu: values nested deeper than %d", at,
                         YC_MAX_DEPTH);
    if ((rc = pkc_reader_u8(r, &tag)))
        return rc;
    if (build)
        memset(out, 0, sizeof *out);
    switch (tag) {
    case 127:
        if (build)
            out->kind = PKC_YV_UNDEFINED;
        return 0;
    case 126:
        if (build)
            out->kind = PKC_YV_NULL;
        return 0;
    case 125: {
        int64_t v;
        int neg;
        if ((rc = pkc_reader_varint(r, &v, &neg)))
            return rc;
        if (build) {
            out->kind = PKC_YV_NUMBER;
            out->u.number = (v == 0 && neg) ? -0.0 : (double)v;
        }
        return 0;
    }
    case 124: {
        const uint8_t *p;
        if ((rc = pkc_reader_bytes(r, 4, &p)))
            return rc;
        if (build) {
            out->kind = PKC_YV_NUMBER;
            out->u.number = be_float32(p);
        }
        return 0;
    }
    case 123: {
        const uint8_t *p;
        if ((rc = pkc_reader_bytes(r, 8, &p)))
            return rc;
        if (build) {
            out->kind = PKC_YV_NUMBER;
            out->u.number = be_float64(p);
        }
        return 0;
    }
    case 122: {
        uint64_t v;
        if ((rc = pkc_reader_u64be(r, &v)))
            return rc;
        if (build) {
            out->kind = PKC_YV_BIGINT;
            out->u.bigint = (int64_t)v;
        }
        return 0;
    }
    case 121:
    case 120:
        if (build) {
            out->kind = PKC_YV_BOOL;
            out->u.boolean = tag == 120;
        }
        return 0;
    case 119:
    case 116: {
        const char *s;
        size_t n;
        if (tag == 119)
            rc = pkc_reader_varstring(r, &s, &n);
        else
            rc = pkc_reader_varbytes(r, (const uint8_t **)&s, &n);
        if (rc)
            return rc;
        if (build) {
            out->kind = tag == 119 ? PKC_YV_STRING : PKC_YV_BINARY;
            if ((out->u.str.ptr = dup_bytes(s, n)) == NULL) {
                out->kind = PKC_YV_UNDEFINED;
                return pkc_error_code(PKC_ERR_NOMEM);
            }
            out->u.str.len = n;
        }
        return 0;
    }
    case 118:
    case 117: {
        uint64_t cnt;
        if ((rc = pkc_reader_varuint(r, &cnt)))
            return rc;
        /* every member takes at least one byte (two with its key) */
        if (cnt > pkc_reader_left(r) / (tag == 118 ? 2 : 1))
            return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu members announced, %zu bytes left",
                             at, (unsigned long long)cnt, pkc_reader_left(r));
        if (!build) {
            for (uint64_t i = 0; i < cnt; i++) {
                if (tag == 118) {
                    const char *k;
                    size_t kn;
                    if ((rc = pkc_reader_varstring(r, &k, &kn)))
                        return rc;
                }
                if ((rc = any_read(r, NULL, depth + 1, 0)))
                    return rc;
            }
            return 0;
        }
        if (tag == 117) {
            out->kind = PKC_YV_ARRAY;
            out->u.array.items = calloc(cnt ? cnt : 1, sizeof(yv));
            if (out->u.array.items == NULL)
                goto nomem;
            for (uint64_t i = 0; i < cnt; i++) {
                if ((rc = any_read(r, &out->u.array.items[i], depth + 1, 1))) {
                    yv_clear(out);
                    return rc;
                }
                out->u.array.len = i + 1;
            }
            return 0;
        }
        out->kind = PKC_YV_OBJECT;
        out->u.object.entries = calloc(cnt ? cnt : 1, sizeof(pkc_yentry));
        if (out->u.object.entries == NULL)
            goto nomem;
        for (uint64_t i = 0; i < cnt; i++) {
            const char *k;
            size_t kn;
            pkc_yentry *e;
            if ((rc = pkc_reader_varstring(r, &k, &kn))) {
                yv_clear(out);
                return rc;
            }
            if (kn == 9 && memcmp(k, "__proto__", 9) == 0) {
                /* readAny does obj[key] = value: that sets the prototype
                 * (or nothing); the object gets no such key */
                yv tmp;
                if ((rc = any_read(r, &tmp, depth + 1, 1))) {
                    yv_clear(out);
                    return rc;
                }
                yv_clear(&tmp);
                continue;
            }
            e = &out->u.object.entries[out->u.object.len];
            if ((e->key = dup_bytes(k, kn)) == NULL) {
                yv_clear(out);
                goto nomem;
            }
            e->key_len = kn;
            out->u.object.len++;
            if ((rc = any_read(r, &e->value, depth + 1, 1))) {
                yv_clear(out);
                return rc;
            }
        }
        if ((rc = yv_obj_normalize(out))) {
            yv_clear(out);
            return rc;
        }
        return 0;
    }
    default:
        r->p--;
        return pkc_error(PKC_ERR_MALFORMED, "offset %zu: unknown value type %u", at, tag);
    }
nomem:
    out->kind = PKC_YV_UNDEFINED;
    return pkc_error_code(PKC_ERR_NOMEM);
}

int yany_read(pkc_reader *r, yv *out)
{
    pkc_reader save = *r;
    int rc = any_read(r, out, 0, 1);
    if (rc)
        *r = save;
    return rc;
}

int yany_skip(pkc_reader *r)
{
    pkc_reader save = *r;
    int rc = any_read(r, NULL, 0, 0);
    if (rc)
        *r = save;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Canonical form: what lib0 writeAny writes for what lib0 readAny reads     */

/* A varuint / varint of bytes [a, b) has no redundant trailing group. */
static int minimal_var(const uint8_t *a, const uint8_t *b)
{
    return b - a == 1 || b[-1] != 0;
}

static int canon_number(double d)
{
    return !(isfinite(d) && d == trunc(d) && fabs(d) <= 2147483647.0);
}

/* Walks one value like any_read; *canon becomes 0 if rewriting what readAny
 * makes of it would give other bytes. */
static int any_canon(pkc_reader *r, int depth, int *canon)
{
    uint8_t tag;
    const uint8_t *a;
    int rc;
    if (depth > YC_MAX_DEPTH)
        return pkc_error(PKC_ERR_TOO_LARGE, "offset %zu: values nested deeper than %d",
                         pkc_reader_offset(r), YC_MAX_DEPTH);
    if ((rc = pkc_reader_u8(r, &tag)))
        return rc;
    switch (tag) {
    case 127:
    case 126:
    case 121:
    case 120:
        return 0;
    case 125: {
        int64_t v;
        a = r->p;
        if ((rc = pkc_reader_varint(r, &v, NULL)))
            return rc;
        if (!minimal_var(a, r->p) || v > 2147483647 || v < -2147483647)
            *canon = 0;
        return 0;
    }
    case 124: {
        const uint8_t *p;
        if ((rc = pkc_reader_bytes(r, 4, &p)))
            return rc;
        double d = be_float32(p);
        if (isnan(d) || !canon_number(d))
            *canon = 0; /* a NaN becomes a float64, an int31 a varint */
        return 0;
    }
    case 123: {
        const uint8_t *p;
        if ((rc = pkc_reader_bytes(r, 8, &p)))
            return rc;
        double d = be_float64(p);
        if (isnan(d)) {
            if (!(p[1] & 0x08))
                *canon = 0; /* signalling: engines quieten it */
        } else if (!canon_number(d) || (double)(float)d == d) {
            *canon = 0;
        }
        return 0;
    }
    case 122:
        return pkc_reader_bytes(r, 8, (const uint8_t **)&a);
    case 119:
    case 116: {
        const char *s;
        size_t n;
        a = r->p;
        if (tag == 119)
            rc = pkc_reader_varstring(r, &s, &n);
        else
            rc = pkc_reader_varbytes(r, (const uint8_t **)&s, &n);
        if (rc)
            return rc;
        if (!minimal_var(a, (const uint8_t *)s))
            *canon = 0;
        return 0;
    }
    case 118:
    case 117: {
        uint64_t cnt;
        a = r->p;
        if ((rc = pkc_reader_varuint(r, &cnt)))
            return rc;
        if (!minimal_var(a, r->p))
            *canon = 0;
        if (cnt > pkc_reader_left(r) / (tag == 118 ? 2 : 1))
            return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu members announced, %zu bytes left",
                             pkc_reader_offset(r), (unsigned long long)cnt, pkc_reader_left(r));
        /* object keys: no duplicates, no __proto__, array indices first
         * and ascending (checked pairwise for small objects only) */
        enum { SMALL = 32 };
        const char *keys[SMALL];
        size_t klen[SMALL];
        int seen_plain = 0;
        uint32_t last_ix = 0;
        int have_ix = 0;
        for (uint64_t i = 0; i < cnt; i++) {
            if (tag == 118) {
                const char *k;
                size_t kn;
                uint32_t ix;
                a = r->p;
                if ((rc = pkc_reader_varstring(r, &k, &kn)))
                    return rc;
                if (!minimal_var(a, (const uint8_t *)k) || (kn == 9 && memcmp(k, "__proto__", 9) == 0))
                    *canon = 0;
                if (pkc_js_index_parse(k, kn, &ix)) {
                    if (seen_plain || (have_ix && ix <= last_ix))
                        *canon = 0;
                    last_ix = ix;
                    have_ix = 1;
                } else {
                    seen_plain = 1;
                }
                if (cnt > SMALL) {
                    if (*canon)
                        *canon = -1; /* decided by rewriting (unless known bad) */
                } else {
                    for (uint64_t j = 0; j < i; j++)
                        if (klen[j] == kn && memcmp(keys[j], k, kn) == 0)
                            *canon = 0;
                    keys[i] = k;
                    klen[i] = kn;
                }
            }
            if ((rc = any_canon(r, depth + 1, canon)))
                return rc;
        }
        return 0;
    }
    default:
        r->p--;
        return pkc_error(PKC_ERR_MALFORMED, "offset %zu: unknown value type %u",
                         pkc_reader_offset(r), tag);
    }
}

int yany_canon(pkc_reader *r, int *canonical)
{
    pkc_reader save = *r;
    int canon = 1;
    int rc = any_canon(r, 0, &canon);
    if (rc) {
        *r = save;
        return rc;
    }
    if (canon < 0) {
        /* a large object: compare with what writing it gives */
        pkc_reader again = save;
        pkc_buf w = PKC_BUF_INIT;
        yv v;
        if ((rc = yany_read(&again, &v)))
            return rc;
        rc = yany_write(&w, &v);
        yv_clear(&v);
        canon = rc == 0 && w.len == (size_t)(r->p - save.p) && memcmp(w.data, save.p, w.len) == 0;
        pkc_buf_free(&w);
        if (rc) {
            *r = save;
            return rc;
        }
    }
    *canonical = canon;
    return 0;
}

static int push_be(pkc_buf *b, uint64_t v, int n)
{
    uint8_t t[8];
    for (int i = n - 1; i >= 0; i--) {
        t[i] = (uint8_t)v;
        v >>= 8;
    }
    return pkc_buf_push(b, t, (size_t)n);
}

static int any_write(pkc_buf *b, const yv *v, int depth)
{
    if (depth > YC_MAX_DEPTH)
        return pkc_error(PKC_ERR_TOO_LARGE, "values nested deeper than %d", YC_MAX_DEPTH);
    switch (v->kind) {
    case PKC_YV_UNDEFINED:
        return pkc_buf_push_u8(b, 127);
    case PKC_YV_NULL:
        return pkc_buf_push_u8(b, 126);
    case PKC_YV_BOOL:
        return pkc_buf_push_u8(b, v->u.boolean ? 120 : 121);
    case PKC_YV_NUMBER: {
        double d = v->u.number;
        if (isfinite(d) && d == trunc(d) && fabs(d) <= 2147483647.0) {
            pkc_buf_push_u8(b, 125);
            return pkc_buf_push_varint_sm(b, signbit(d) != 0, (uint64_t)fabs(d));
        }
        float f = (float)d;
        if (!isnan(d) && (double)f == d) {
            uint32_t u;
            memcpy(&u, &f, 4);
            pkc_buf_push_u8(b, 124);
            return push_be(b, u, 4);
        }
        uint64_t u;
        memcpy(&u, &d, 8);
        if (isnan(d))
            u |= UINT64_C(1) << 51; /* JavaScript engines keep NaNs quiet */
        pkc_buf_push_u8(b, 123);
        return push_be(b, u, 8);
    }
    case PKC_YV_BIGINT:
        pkc_buf_push_u8(b, 122);
        return push_be(b, (uint64_t)v->u.bigint, 8);
    case PKC_YV_STRING:
        if (!pkc_utf8_valid((const uint8_t *)v->u.str.ptr, v->u.str.len, NULL))
            return pkc_error(PKC_ERR_INVALID_ARG, "string value is not valid UTF-8");
        pkc_buf_push_u8(b, 119);
        return pkc_buf_push_varstring(b, v->u.str.ptr, v->u.str.len);
    case PKC_YV_BINARY:
        pkc_buf_push_u8(b, 116);
        return pkc_buf_push_varbytes(b, v->u.str.ptr, v->u.str.len);
    case PKC_YV_ARRAY:
        pkc_buf_push_u8(b, 117);
        pkc_buf_push_varuint(b, v->u.array.len);
        for (size_t i = 0; i < v->u.array.len; i++) {
            int rc = any_write(b, &v->u.array.items[i], depth + 1);
            if (rc)
                return rc;
        }
        return b->err;
    case PKC_YV_OBJECT: {
        /* Write in JavaScript's key order, like Object.keys(). */
        yv tmp;
        int rc = yv_copy(&tmp, v);
        if (rc)
            return rc;
        pkc_buf_push_u8(b, 118);
        pkc_buf_push_varuint(b, tmp.u.object.len);
        for (size_t i = 0; i < tmp.u.object.len && rc == 0; i++) {
            const pkc_yentry *e = &tmp.u.object.entries[i];
            if (!pkc_utf8_valid((const uint8_t *)e->key, e->key_len, NULL))
                rc = pkc_error(PKC_ERR_INVALID_ARG, "object key is not valid UTF-8");
            else {
                pkc_buf_push_varstring(b, e->key, e->key_len);
                rc = any_write(b, &e->value, depth + 1);
            }
        }
        yv_clear(&tmp);
        return rc ? rc : b->err;
    }
    default:
        return pkc_error(PKC_ERR_INVALID_ARG, "a shared type or document is not a plain value");
    }
}

int yany_write(pkc_buf *b, const yv *v)
{
    int rc = any_write(b, v, 0);
    return rc ? rc : b->err;
}

/* ------------------------------------------------------------------------ */
/* Numbers as JavaScript prints them                                        */

size_t yjs_number(double d, char out[32])
{
    if (isnan(d))
        return (size_t)snprintf(out, 32, "NaN");
    if (isinf(d))
        return (size_t)snprintf(out, 32, "%sInfinity", d < 0 ? "-" : "");
    if (d == 0)
        return (size_t)snprintf(out, 32, "0");
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp: [-]d[.ddd]e[+-]XX */
    char digits[20];
    int k = 0, neg = 0;
    const char *p = tmp;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[k++] = *p;
    int e = atoi(p + 1);
    while (k > 1 && digits[k - 1] == '0')
        k--;
    int n = e + 1; /* value = 0.d1..dk * 10^n */
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (k <= n && n <= 21) {
        for (int i = 0; i < k; i++)
            out[o++] = digits[i];
        for (int i = k; i < n; i++)
            out[o++] = '0';
    } else if (0 < n && n <= 21) {
        for (int i = 0; i < n; i++)
            out[o++] = digits[i];
        out[o++] = '.';
        for (int i = n; i < k; i++)
            out[o++] = digits[i];
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -n; i++)
            out[o++] = '0';
        for (int i = 0; i < k; i++)
            out[o++] = digits[i];
    } else {
        out[o++] = digits[0];
        if (k > 1) {
            out[o++] = '.';
            for (int i = 1; i < k; i++)
                out[o++] = digits[i];
        }
        o += (size_t)snprintf(out + o, 32 - o, "e%c%d", n - 1 >= 0 ? '+' : '-',
                              n - 1 >= 0 ? n - 1 : 1 - n);
    }
    out[o] = '\0';
    return o;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */

typedef struct jp {
    const char *s, *p, *end;
    int build;
    int lossy; /* a lone surrogate escape became U+FFFD */
} jp;

static int jerr(const jp *j, const char *what)
{
    return pkc_error(PKC_ERR_MALFORMED, "JSON offset %zu: %s", (size_t)(j->p - j->s), what);
}

static void jws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int read_u4(jp *j, uint32_t *u)
{
    if (j->end - j->p < 4)
        return jerr(j, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = pkc_hex_digit_value(j->p[i]);
        if (h < 0)
            return jerr(j, "bad \\u escape");
        v = v << 4 | (uint32_t)h;
    }
    j->p += 4;
    *u = v;
    return 0;
}

static int put_utf8(pkc_buf *b, uint32_t cp)
{
    uint8_t t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (uint8_t)(0xc0 | cp >> 6);
        t[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (uint8_t)(0xe0 | cp >> 12);
        t[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        t[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        t[0] = (uint8_t)(0xf0 | cp >> 18);
        t[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        t[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return pkc_buf_push(b, t, n);
}

/* Reads a string token; with b == NULL only validates. */
static int jstring(jp *j, pkc_buf *b)
{
    j->p++; /* opening quote */
    for (;;) {
        if (j->p >= j->end)
            return jerr(j, "unterminated string");
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            return b ? b->err : 0;
        }
        if (c < 0x20)
            return jerr(j, "control character in string");
        if (c != '\\') {
            const char *q = j->p;
            while (q < j->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
                q++;
            if (b)
                pkc_buf_push(b, j->p, (size_t)(q - j->p));
            j->p = q;
            continue;
        }
        if (j->end - j->p < 2)
            return jerr(j, "truncated escape");
        char e = j->p[1];
        j->p += 2;
        uint32_t cp;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = 8; break;
        case 'f': cp = 12; break;
        case 'n': cp = 10; break;
        case 'r': cp = 13; break;
        case 't': cp = 9; break;
        case 'u': {
            int rc = read_u4(j, &cp);
            if (rc)
                return rc;
            if (cp >= 0xd800 && cp <= 0xdbff && j->end - j->p >= 6 && j->p[0] == '\\' &&
                j->p[1] == 'u') {
                jp save = *j;
                uint32_t lo;
                j->p += 2;
                if (read_u4(j, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                else
                    *j = save;
            }
            if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
                j->lossy = 1;
            }
            break;
        }
        default:
            j->p--;
            return jerr(j, "bad escape");
        }
        if (b)
            put_utf8(b, cp);
    }
}

static int jvalue(jp *j, yv *out, int depth);

static int jnumber(jp *j, yv *out)
{
    const char *st = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end)
        return jerr(j, "bad number");
    if (*j->p == '0') {
        j->p++;
    } else if (*j->p >= '1' && *j->p <= '9') {
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    } else {
        return jerr(j, "bad number");
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return jerr(j, "bad fraction");
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return jerr(j, "bad exponent");
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->build) {
        char tmp[64];
        size_t n = (size_t)(j->p - st);
        char *heap = NULL;
        char *t = tmp;
        if (n >= sizeof tmp) {
            if ((heap = malloc(n + 1)) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            t = heap;
        }
        memcpy(t, st, n);
        t[n] = '\0';
        out->kind = PKC_YV_NUMBER;
        out->u.number = strtod(t, NULL);
        free(heap);
    }
    return 0;
}

static int jlit(jp *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return jerr(j, "unexpected character");
    j->p += n;
    return 0;
}

static int jvalue(jp *j, yv *out, int depth)
{
    int rc;
    if (depth > YC_MAX_DEPTH)
        return pkc_error(PKC_ERR_TOO_LARGE, "JSON nested deeper than %d", YC_MAX_DEPTH);
    jws(j);
    if (j->p >= j->end)
        return jerr(j, "unexpected end");
    if (j->build)
        memset(out, 0, sizeof *out);
    switch (*j->p) {
    case 'n':
        if ((rc = jlit(j, "null")))
            return rc;
        if (j->build)
            out->kind = PKC_YV_NULL;
        return 0;
    case 't':
    case 'f': {
        int t = *j->p == 't';
        if ((rc = jlit(j, t ? "true" : "false")))
            return rc;
        if (j->build) {
            out->kind = PKC_YV_BOOL;
            out->u.boolean = t;
        }
        return 0;
    }
    case '"': {
        if (!j->build)
            return jstring(j, NULL);
        pkc_buf b = PKC_BUF_INIT;
        if ((rc = jstring(j, &b))) {
            pkc_buf_free(&b);
            return rc;
        }
        size_t n = b.len;
        pkc_buf_push_u8(&b, 0);
        if (b.err) {
            pkc_buf_free(&b);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        out->kind = PKC_YV_STRING;
        out->u.str.ptr = (const char *)pkc_buf_steal(&b, NULL);
        out->u.str.len = n;
        return 0;
    }
    case '[': {
        j->p++;
        size_t cap = 0;
        if (j->build)
            out->kind = PKC_YV_ARRAY;
        jws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return 0;
        }
        for (;;) {
            yv tmp;
            if ((rc = jvalue(j, &tmp, depth + 1))) {
                if (j->build)
                    yv_clear(out);
                return rc;
            }
            if (j->build) {
                if (PKC_ARRAY_PUSH(out->u.array.items, out->u.array.len, cap, tmp)) {
                    yv_clear(&tmp);
                    yv_clear(out);
                    return pkc_error_code(PKC_ERR_NOMEM);
                }
            }
            jws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == ']') {
                j->p++;
                return 0;
            }
            if (j->build)
                yv_clear(out);
            return jerr(j, "expected , or ]");
        }
    }
    case '{': {
        j->p++;
        size_t cap = 0;
        if (j->build)
            out->kind = PKC_YV_OBJECT;
        jws(j);
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return 0;
        }
        for (;;) {
            jws(j);
            if (j->p >= j->end || *j->p != '"') {
                rc = jerr(j, "expected a key");
                goto obj_fail;
            }
            pkc_yentry e;
            memset(&e, 0, sizeof e);
            if (j->build) {
                pkc_buf kb = PKC_BUF_INIT;
                if ((rc = jstring(j, &kb))) {
                    pkc_buf_free(&kb);
                    goto obj_fail;
                }
                e.key_len = kb.len;
                pkc_buf_push_u8(&kb, 0);
                if (kb.err) {
                    pkc_buf_free(&kb);
                    rc = pkc_error_code(PKC_ERR_NOMEM);
                    goto obj_fail;
                }
                e.key = (const char *)pkc_buf_steal(&kb, NULL);
            } else if ((rc = jstring(j, NULL))) {
                goto obj_fail;
            }
            jws(j);
            if (j->p >= j->end || *j->p != ':') {
                free((void *)e.key);
                rc = jerr(j, "expected :");
                goto obj_fail;
            }
            j->p++;
            if ((rc = jvalue(j, &e.value, depth + 1))) {
                free((void *)e.key);
                goto obj_fail;
            }
            if (j->build && PKC_ARRAY_PUSH(out->u.object.entries, out->u.object.len, cap, e)) {
                free((void *)e.key);
                yv_clear(&e.value);
                rc = pkc_error_code(PKC_ERR_NOMEM);
                goto obj_fail;
            }
            jws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == '}') {
                j->p++;
                if (j->build && (rc = yv_obj_normalize(out)))
                    goto obj_fail;
                return 0;
            }
            rc = jerr(j, "expected , or }");
            goto obj_fail;
        }
    obj_fail:
        if (j->build)
            yv_clear(out);
        return rc;
    }
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
            return jnumber(j, out);
        return jerr(j, "unexpected character");
    }
}

static int json_run(const char *s, size_t n, yv *out, int build, int *lossy)
{
    jp j = {s, s, s + n, build, 0};
    yv tmp;
    int rc = jvalue(&j, build ? &tmp : NULL, 0);
    if (rc)
        return rc;
    jws(&j);
    if (j.p != j.end) {
        if (build)
            yv_clear(&tmp);
        return jerr(&j, "trailing characters");
    }
    if (build)
        *out = tmp;
    if (lossy)
        *lossy = j.lossy;
    return 0;
}

int yjson_parse(const char *s, size_t n, yv *out)
{
    return json_run(s, n, out, 1, NULL);
}

int yjson_valid(const char *s, size_t n)
{
    return json_run(s, n, NULL, 0, NULL);
}

int yjson_canon(const char *s, size_t n, pkc_buf *out, int *canonical)
{
    yv v;
    int lossy = 0;
    size_t at = out->len;
    int rc = json_run(s, n, &v, 1, &lossy);
    if (rc)
        return rc;
    rc = yjson_write(out, &v);
    yv_clear(&v);
    if (rc)
        return rc;
    /* a text with lone surrogates pkc cannot hold is kept as it came */
    *canonical = lossy || (out->len - at == n && memcmp(out->data + at, s, n) == 0);
    if (*canonical)
        out->len = at; /* else out holds the canonical text */
    return 0;
}

int yjson_write_string(pkc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    pkc_buf_push_u8(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        size_t en = 2;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
                u[4] = hex[c >> 4], u[5] = hex[c & 15];
                esc = u;
                en = 6;
            }
        }
        if (esc) {
            if (run)
                pkc_buf_push(b, s + i - run, run);
            run = 0;
            pkc_buf_push(b, esc, en);
        } else {
            run++;
        }
    }
    if (run)
        pkc_buf_push(b, s + n - run, run);
    return pkc_buf_push_u8(b, '"');
}

static int json_write(pkc_buf *b, const yv *v, int depth)
{
    char num[32];
    if (depth > YC_MAX_DEPTH)
        return pkc_error(PKC_ERR_TOO_LARGE, "values nested deeper than %d", YC_MAX_DEPTH);
    switch (v->kind) {
    case PKC_YV_UNDEFINED:
    case PKC_YV_NULL:
        return pkc_buf_push(b, "null", 4);
    case PKC_YV_BOOL:
        return v->u.boolean ? pkc_buf_push(b, "true", 4) : pkc_buf_push(b, "false", 5);
    case PKC_YV_NUMBER:
        if (!isfinite(v->u.number))
            return pkc_buf_push(b, "null", 4);
        return pkc_buf_push(b, num, yjs_number(v->u.number, num));
    case PKC_YV_BIGINT: {
        int n = snprintf(num, sizeof num, "%lld", (long long)v->u.bigint);
        return pkc_buf_push(b, num, (size_t)n);
    }
    case PKC_YV_STRING:
        return yjson_write_string(b, v->u.str.ptr, v->u.str.len);
    case PKC_YV_BINARY: {
        /* JSON.stringify(Uint8Array) writes an object of its elements */
        pkc_buf_push_u8(b, '{');
        for (size_t i = 0; i < v->u.str.len; i++) {
            int n = snprintf(num, sizeof num, "%s\"%zu\":%u", i ? "," : "", i,
                             (unsigned)(uint8_t)v->u.str.ptr[i]);
            pkc_buf_push(b, num, (size_t)n);
        }
        return pkc_buf_push_u8(b, '}');
    }
    case PKC_YV_ARRAY:
        pkc_buf_push_u8(b, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i)
                pkc_buf_push_u8(b, ',');
            const yv *e = &v->u.array.items[i];
            int rc = json_write(b, e, depth + 1);
            if (rc)
                return rc;
        }
        return pkc_buf_push_u8(b, ']');
    case PKC_YV_OBJECT: {
        pkc_buf_push_u8(b, '{');
        int first = 1;
        for (size_t i = 0; i < v->u.object.len; i++) {
            const pkc_yentry *e = &v->u.object.entries[i];
            if (e->value.kind == PKC_YV_UNDEFINED)
                continue;
            if (!first)
                pkc_buf_push_u8(b, ',');
            first = 0;
            yjson_write_string(b, e->key, e->key_len);
            pkc_buf_push_u8(b, ':');
            int rc = json_write(b, &e->value, depth + 1);
            if (rc)
                return rc;
        }
        return pkc_buf_push_u8(b, '}');
    }
    case PKC_YV_DOC:
        return pkc_buf_push(b, "{}", 2);
    case PKC_YV_TYPE:
        /* JSON.stringify calls the type's toJSON() */
        if (v->u.type.handle)
            return yc_type_json(b, (const ybranch *)v->u.type.handle, depth + 1);
        return pkc_buf_push(b, "null", 4);
    default:
        return pkc_buf_push(b, "null", 4);
    }
}

int yjson_write(pkc_buf *b, const yv *v)
{
    int rc = json_write(b, v, 0);
    return rc ? rc : b->err;
}

int yv_js_string(pkc_buf *b, const yv *v)
{
    char num[32];
    switch (v->kind) {
    case PKC_YV_UNDEFINED:
        return pkc_buf_push(b, "undefined", 9);
    case PKC_YV_NULL:
        return pkc_buf_push(b, "null", 4);
    case PKC_YV_BOOL:
        return v->u.boolean ? pkc_buf_push(b, "true", 4) : pkc_buf_push(b, "false", 5);
    case PKC_YV_NUMBER:
        return pkc_buf_push(b, num, yjs_number(v->u.number, num));
    case PKC_YV_BIGINT: {
        int n = snprintf(num, sizeof num, "%lld", (long long)v->u.bigint);
        return pkc_buf_push(b, num, (size_t)n);
    }
    case PKC_YV_STRING:
        return pkc_buf_push(b, v->u.str.ptr, v->u.str.len);
    case PKC_YV_BINARY:
        for (size_t i = 0; i < v->u.str.len; i++) {
            int n = snprintf(num, sizeof num, "%s%u", i ? "," : "", (unsigned)(uint8_t)v->u.str.ptr[i]);
            pkc_buf_push(b, num, (size_t)n);
        }
        return b->err;
    case PKC_YV_ARRAY:
        for (size_t i = 0; i < v->u.array.len; i++) {
            const yv *e = &v->u.array.items[i];
            if (i)
                pkc_buf_push_u8(b, ',');
            if (e->kind != PKC_YV_UNDEFINED && e->kind != PKC_YV_NULL)
                yv_js_string(b, e);
        }
        return b->err;
    default:
        return pkc_buf_push(b, "[object Object]", 15);
    }
}

/* ------------------------------------------------------------------------ */
/* Equality                                                                 */

static int prim_eq(const yv *a, const yv *b)
{
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case PKC_YV_UNDEFINED:
    case PKC_YV_NULL:
        return 1;
    case PKC_YV_BOOL:
        return !a->u.boolean == !b->u.boolean;
    case PKC_YV_NUMBER:
        return a->u.number == b->u.number;
    case PKC_YV_BIGINT:
        return a->u.bigint == b->u.bigint;
    case PKC_YV_STRING:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
    default:
        return 0;
    }
}

static int is_object_like(const yv *v)
{
    return v->kind == PKC_YV_OBJECT || v->kind == PKC_YV_ARRAY || v->kind == PKC_YV_BINARY;
}

int yv_strict_eq(const yv *a, const yv *b)
{
    if (a == b)
        return 1;
    if (a == NULL || b == NULL)
        return 0;
    if (is_object_like(a) || is_object_like(b))
        return 0;
    return prim_eq(a, b);
}

static const yv *obj_get(const yv *o, const char *k, size_t kn)
{
    for (size_t i = 0; i < o->u.object.len; i++)
        if (o->u.object.entries[i].key_len == kn && memcmp(o->u.object.entries[i].key, k, kn) == 0)
            return &o->u.object.entries[i].value;
    return NULL;
}

int yv_equal_deep(const yv *a, const yv *b)
{
    if (a == b)
        return 1;
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case PKC_YV_BINARY:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
    case PKC_YV_ARRAY:
        if (a->u.array.len != b->u.array.len)
            return 0;
        for (size_t i = 0; i < a->u.array.len; i++)
            if (!yv_equal_deep(&a->u.array.items[i], &b->u.array.items[i]))
                return 0;
        return 1;
    case PKC_YV_OBJECT:
        if (a->u.object.len != b->u.object.len)
            return 0;
        for (size_t i = 0; i < a->u.object.len; i++) {
            const pkc_yentry *e = &a->u.object.entries[i];
            const yv *o = obj_get(b, e->key, e->key_len);
            if (o == NULL) {
                if (e->value.kind != PKC_YV_UNDEFINED)
                    return 0;
                continue;
            }
            if (!yv_equal_deep(&e->value, o))
                return 0;
        }
        return 1;
    case PKC_YV_TYPE:
        return a->u.type.handle == b->u.type.handle;
    default:
        return prim_eq(a, b);
    }
}

/* Keys of an object-like value as JavaScript's Object.keys sees them. */
static size_t flat_size(const yv *v)
{
    if (v->kind == PKC_YV_ARRAY)
        return v->u.array.len;
    if (v->kind == PKC_YV_BINARY)
        return v->u.str.len;
    return v->u.object.len;
}

int yv_equal_attr(const yv *a, const yv *b)
{
    if (yv_strict_eq(a, b))
        return 1;
    if (a == NULL || b == NULL || !is_object_like(a) || !is_object_like(b))
        return 0;
    /* lib0 equalFlat: same size, every member strictly equal. Nested
     * objects from different items are different objects. */
    if (flat_size(a) != flat_size(b))
        return 0;
    if (a->kind == PKC_YV_OBJECT && b->kind == PKC_YV_OBJECT) {
        for (size_t i = 0; i < a->u.object.len; i++) {
            const pkc_yentry *e = &a->u.object.entries[i];
            const yv *o = obj_get(b, e->key, e->key_len);
            if (o == NULL ? e->value.kind != PKC_YV_UNDEFINED : !yv_strict_eq(&e->value, o))
                return 0;
        }
        return 1;
    }
    if (a->kind == PKC_YV_ARRAY && b->kind == PKC_YV_ARRAY) {
        for (size_t i = 0; i < a->u.array.len; i++)
            if (!yv_strict_eq(&a->u.array.items[i], &b->u.array.items[i]))
                return 0;
        return 1;
    }
    if (a->kind == PKC_YV_BINARY && b->kind == PKC_YV_BINARY)
        return memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
    return 0; /* mixed kinds: rare enough not to emulate further */
}
