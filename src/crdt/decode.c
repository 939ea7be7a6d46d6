/*
 * decode.c: reads Yjs updates (v1 and v2) into a flat list of structs and a
 * delete set, checking everything before the document is touched: lengths
 * against the bytes left, clocks and clients in range, references into the
 * same client only to earlier clocks, content well-formed (JSON, Any, UTF-8),
 * no zero-length structs, no client twice, no trailing bytes.
 *
 * Item content is kept in its v1 encoding (pointing into the input for v1;
 * converted into a scratch buffer for v2), so the v1 writer can copy it.
 */
#include "crdt/decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/ds.h"
#include "crdt/item.h"
#include "crdt/utf16.h"
#include "crdt/val.h"
#include "crdt/varint.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/text.h"

void yupd_free(yupd *u)
{
    free(u->s);
    free(u->grp);
    free(u->par);
    yds_free(&u->ds);
    pkc_buf_free(&u->scratch);
    pkc_buf_free(&u->strs);
    memset(u, 0, sizeof *u);
}

static int bad(const pkc_reader *r, const char *what)
{
    return pkc_error(PKC_ERR_MALFORMED, "offset %zu: %s", pkc_reader_offset(r), what);
}

static int range_err(const pkc_reader *r, const char *what)
{
    return pkc_error(PKC_ERR_RANGE, "offset %zu: %s", pkc_reader_offset(r), what);
}

/* ------------------------------------------------------------------------ */
/* v2 column decoders (lib0 RleDecoder, UintOptRleDecoder,                  */
/* IntDiffOptRleDecoder, StringDecoder)                                     */

typedef struct rle8 {
    pkc_reader r;
    uint8_t s;
    int64_t count; /* -1: repeat forever */
} rle8;

static int rle8_read(rle8 *d, uint8_t *out)
{
    int rc;
    if (d->count == 0) {
        if ((rc = pkc_reader_u8(&d->r, &d->s)))
            return rc;
        if (pkc_reader_left(&d->r)) {
            uint64_t c;
            if ((rc = pkc_reader_varuint(&d->r, &c)))
                return rc;
            if (c > (uint64_t)INT64_MAX - 1)
                return range_err(&d->r, "run length out of range");
            d->count = (int64_t)c + 1;
        } else {
            d->count = -1;
        }
    }
    if (d->count > 0)
        d->count--;
    *out = d->s;
    return 0;
}

typedef struct uoptrle {
    pkc_reader r;
    uint64_t s;
    uint64_t count;
} uoptrle;

static int uoptrle_read(uoptrle *d, uint64_t *out)
{
    int rc;
    if (d->count == 0) {
        int64_t v;
        int neg;
        if ((rc = pkc_reader_varint(&d->r, &v, &neg)))
            return rc;
        d->count = 1;
        if (neg) {
            uint64_t c;
            if (v == INT64_MIN)
                return range_err(&d->r, "value out of range");
            v = -v;
            if ((rc = pkc_reader_varuint(&d->r, &c)))
                return rc;
            if (c > UINT64_MAX - 2)
                return range_err(&d->r, "run length out of range");
            d->count = c + 2;
        }
        d->s = (uint64_t)v;
    }
    d->count--;
    *out = d->s;
    return 0;
}

typedef struct idiffrle {
    pkc_reader r;
    int64_t s;
    int64_t diff;
    uint64_t count;
} idiffrle;

static int idiffrle_read(idiffrle *d, int64_t *out)
{
    int rc;
    if (d->count == 0) {
        int64_t v;
        if ((rc = pkc_reader_varint(&d->r, &v, NULL)))
            return rc;
        d->diff = v >> 1; /* floor(v / 2) */
        d->count = 1;
        if (v & 1) {
            uint64_t c;
            if ((rc = pkc_reader_varuint(&d->r, &c)))
                return rc;
            if (c > UINT64_MAX - 2)
                return range_err(&d->r, "run length out of range");
            d->count = c + 2;
        }
    }
    if ((d->diff > 0 && d->s > INT64_MAX - d->diff) || (d->diff < 0 && d->s < INT64_MIN - d->diff))
        return range_err(&d->r, "value out of range");
    d->s += d->diff;
    d->count--;
    *out = d->s;
    return 0;
}

typedef struct strdec {
    uoptrle lens;
    const char *str;
    size_t n;
    size_t pos;  /* byte offset */
    int half;    /* the previous slice ended inside a surrogate pair */
} strdec;

/* Slices `units` UTF-16 code units, writing UTF-8 to b (halves of split
 * surrogate pairs become U+FFFD, as TextEncoder writes lone surrogates). */
static int strdec_read(strdec *d, pkc_buf *b, size_t *off, size_t *len)
{
    uint64_t units;
    int rc = uoptrle_read(&d->lens, &units);
    if (rc)
        return rc;
    *off = b->len;
    static const uint8_t rep[3] = {0xef, 0xbf, 0xbd};
    while (units > 0) {
        if (d->half) {
            pkc_buf_push(b, rep, 3);
            d->half = 0;
            d->pos += 4;
            units--;
            continue;
        }
        if (d->pos >= d->n)
            return pkc_error(PKC_ERR_MALFORMED, "offset %zu: v2 string slice beyond its table",
                             pkc_reader_offset(&d->lens.r));
        uint8_t c = (uint8_t)d->str[d->pos];
        size_t cl = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (cl == 4) {
            if (units == 1) {
                pkc_buf_push(b, rep, 3);
                d->half = 1;
                units = 0;
                break;
            }
            units -= 2;
        } else {
            units--;
        }
        pkc_buf_push(b, d->str + d->pos, cl);
        d->pos += cl;
    }
    *len = b->len - *off;
    return b->err;
}

/* ------------------------------------------------------------------------ */
/* The decoder state                                                        */

typedef struct ydecoder {
    int v2;
    pkc_reader rest;
    /* v2 */
    idiffrle keyclock;
    uoptrle client;
    idiffrle leftclock, rightclock;
    rle8 info;
    strdec str;
    rle8 pinfo;
    uoptrle tref;
    uoptrle len;
    size_t *keys; /* offsets into u->strs, as pairs (off, len) */
    size_t nkeys, capkeys;
    uint64_t *clients; /* of the struct blocks, to find duplicates */
    size_t nclients, capclients;
    yupd *u;
    size_t total_in;
    size_t nstructs;
    pkc_buf canon; /* content rewritten to canonical form */
    int any_canonical; /* the Any content just read is canonical */
    size_t str_bytes;  /* v1: bytes of the string content just read */
} ydecoder;

static inline int d_client(ydecoder *d, uint64_t *v)
{
    int rc;
    if (d->v2)
        rc = uoptrle_read(&d->client, v);
    else
        rc = yrd_varuint(&d->rest, v);
    if (rc == 0 && *v > YC_MAX_CLIENT)
        return range_err(d->v2 ? &d->client.r : &d->rest, "client id above 2^53");
    return rc;
}

static inline int d_clock(ydecoder *d, int right, uint32_t *v)
{
    if (d->v2) {
        int64_t x;
        idiffrle *c = right ? &d->rightclock : &d->leftclock;
        int rc = idiffrle_read(c, &x);
        if (rc)
            return rc;
        if (x < 0 || x >= (int64_t)YC_MAX_CLOCK)
            return range_err(&c->r, "clock out of range");
        *v = (uint32_t)x;
        return 0;
    }
    uint64_t x;
    int rc = yrd_varuint(&d->rest, &x);
    if (rc)
        return rc;
    if (x >= YC_MAX_CLOCK)
        return range_err(&d->rest, "clock out of range");
    *v = (uint32_t)x;
    return 0;
}

static int d_len(ydecoder *d, uint64_t *v)
{
    if (d->v2)
        return uoptrle_read(&d->len, v);
    return yrd_varuint(&d->rest, v);
}

/* A string: in v1 a varstring of the rest; in v2 a slice of the string
 * table (copied to u->strs). Returns pointer-or-offset in *off (v2). */
static int d_string(ydecoder *d, const char **s, size_t *n, size_t *off)
{
    if (!d->v2) {
        *off = SIZE_MAX;
        return pkc_reader_varstring(&d->rest, s, n);
    }
    *s = NULL;
    return strdec_read(&d->str, &d->u->strs, off, n);
}

static int d_key(ydecoder *d, const char **s, size_t *n, size_t *off)
{
    if (!d->v2)
        return d_string(d, s, n, off);
    int64_t kc;
    int rc = idiffrle_read(&d->keyclock, &kc);
    if (rc)
        return rc;
    if (kc >= 0 && (uint64_t)kc < d->nkeys) {
        *s = NULL;
        *off = d->keys[2 * kc];
        *n = d->keys[2 * kc + 1];
        return 0;
    }
    if ((rc = d_string(d, s, n, off)))
        return rc;
    if (pkc_array_grow((void **)&d->keys, &d->capkeys, 2 * (d->nkeys + 1), sizeof *d->keys))
        return pkc_error_code(PKC_ERR_NOMEM);
    d->keys[2 * d->nkeys] = *off;
    d->keys[2 * d->nkeys + 1] = *n;
    d->nkeys++;
    return 0;
}

/* Bytes at `off` of a buffer that may still be empty (data NULL). */
static const uint8_t *buf_at(const pkc_buf *b, size_t off)
{
    static const uint8_t none[1];
    return b->data ? b->data + off : none;
}

/* String as bytes of v1 content: varstring. */
static int push_str(ydecoder *d, pkc_buf *out, const char *s, size_t n, size_t off)
{
    if (s == NULL)
        s = (const char *)buf_at(&d->u->strs, off);
    return pkc_buf_push_varstring(out, s, n);
}

static int json_or_undefined(const char *s, size_t n)
{
    if (n == 9 && memcmp(s, "undefined", 9) == 0)
        return 0;
    return yjson_valid(s, n);
}

static int has_bigint(const yv *v)
{
    if (v->kind == PKC_YV_BIGINT)
        return 1;
    if (v->kind == PKC_YV_ARRAY) {
        for (size_t i = 0; i < v->u.array.len; i++)
            if (has_bigint(&v->u.array.items[i]))
                return 1;
    } else if (v->kind == PKC_YV_OBJECT) {
        for (size_t i = 0; i < v->u.object.len; i++)
            if (has_bigint(&v->u.object.entries[i].value))
                return 1;
    }
    return 0;
}

/* v2 readJSON is readAny; v1 wants the JSON text JSON.stringify writes. */
static int any_as_json(ydecoder *d, pkc_buf *out)
{
    yv v;
    int rc = yany_read(&d->rest, &v);
    if (rc)
        return rc;
    if (v.kind == PKC_YV_UNDEFINED || has_bigint(&v)) {
        yv_clear(&v);
        return bad(&d->rest, "embedded or format value JSON cannot represent");
    }
    pkc_buf j = PKC_BUF_INIT;
    rc = yjson_write(&j, &v);
    yv_clear(&v);
    if (rc == 0)
        rc = pkc_buf_push_varbytes(out, j.data, j.len);
    pkc_buf_free(&j);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Canonical content. Yjs decodes content into JavaScript values and writes
 * those anew, so Any, JSON and subdocument options come out of it in one form
 * whatever bytes came in (a float64 1.0 as the integer 1, object keys in
 * JavaScript's order, duplicates once, overlong varints shortened, ...). pkc
 * keeps content as bytes; it rewrites content that is not in that form. */

static int min_var(const uint8_t *a, const uint8_t *b)
{
    return b - a == 1 || b[-1] != 0;
}

/* JSON text s[0..n) as a varstring, canonical; *same = 0 if it changed. */
static int canon_json_str(pkc_buf *out, const char *s, size_t n, int *same)
{
    pkc_buf j = PKC_BUF_INIT;
    int canonical, rc = yjson_canon(s, n, &j, &canonical);
    if (rc == 0) {
        if (canonical) {
            pkc_buf_push_varstring(out, s, n);
        } else {
            *same = 0;
            pkc_buf_push_varstring(out, (const char *)j.data, j.len);
        }
    }
    pkc_buf_free(&j);
    return rc ? rc : out->err;
}

static int truthy(const yv *v)
{
    switch (v->kind) {
    case PKC_YV_UNDEFINED:
    case PKC_YV_NULL:
        return 0;
    case PKC_YV_BOOL:
        return v->u.boolean;
    case PKC_YV_NUMBER:
        return v->u.number != 0 && !isnan(v->u.number);
    case PKC_YV_BIGINT:
        return v->u.bigint != 0;
    case PKC_YV_STRING:
        return v->u.str.len != 0;
    default:
        return 1;
    }
}

static const yv *opt_get(const yv *o, const char *k)
{
    if (o->kind != PKC_YV_OBJECT)
        return NULL;
    for (size_t i = 0; i < o->u.object.len; i++)
        if (o->u.object.entries[i].key_len == strlen(k) &&
            memcmp(o->u.object.entries[i].key, k, strlen(k)) == 0)
            return &o->u.object.entries[i].value;
    return NULL;
}

/* ContentDoc: new Doc({ guid, ...opts }) and back: the guid (opts.guid wins),
 * then { gc: false } if !gc, { autoLoad: true } if autoLoad, { meta } unless
 * null or undefined. */
static int canon_doc(pkc_reader *r, pkc_buf *out)
{
    const char *g;
    size_t gn;
    yv o;
    int rc;
    if ((rc = pkc_reader_varstring(r, &g, &gn)) || (rc = yany_read(r, &o)))
        return rc;
    if (o.kind == PKC_YV_NULL || o.kind == PKC_YV_UNDEFINED) {
        yv_clear(&o);
        return bad(r, "subdocument options are null"); /* Yjs throws */
    }
    const yv *guid = opt_get(&o, "guid"), *gc = opt_get(&o, "gc"), *al = opt_get(&o, "autoLoad"),
             *meta = opt_get(&o, "meta");
    if (guid && guid->kind != PKC_YV_STRING) {
        yv_clear(&o);
        return bad(r, "subdocument guid option is not a string");
    }
    if (guid)
        pkc_buf_push_varstring(out, guid->u.str.ptr, guid->u.str.len);
    else
        pkc_buf_push_varstring(out, g, gn);
    int ngc = gc && gc->kind != PKC_YV_UNDEFINED && !truthy(gc);
    int nal = al && truthy(al);
    int nmeta = meta && meta->kind != PKC_YV_UNDEFINED && meta->kind != PKC_YV_NULL;
    pkc_buf_push_u8(out, 118);
    pkc_buf_push_varuint(out, (uint64_t)(ngc + nal + nmeta));
    if (ngc) {
        pkc_buf_push_varstring(out, "gc", 2);
        pkc_buf_push_u8(out, 121);
    }
    if (nal) {
        pkc_buf_push_varstring(out, "autoLoad", 8);
        pkc_buf_push_u8(out, 120);
    }
    if (nmeta) {
        pkc_buf_push_varstring(out, "meta", 4);
        rc = yany_write(out, meta);
    }
    yv_clear(&o);
    return rc ? rc : out->err;
}

/* Content p[0..n) in the v1 encoding of kind; on return *rewritten says
 * whether d->canon holds its canonical form instead. */
static int canon_content(ydecoder *d, uint8_t kind, const uint8_t *p, size_t n, int *rewritten)
{
    pkc_reader r;
    pkc_buf *out = &d->canon;
    uint64_t len;
    int rc, same = 1;
    *rewritten = 0;
    pkc_buf_reset(out);
    pkc_reader_init(&r, p, n);
    switch (kind) {
    case YC_ANY: {
        if (d->any_canonical) /* checked while reading it */
            return 0;
        if ((rc = pkc_reader_varuint(&r, &len)))
            return rc;
        same = 0;
        pkc_buf_push_varuint(out, len);
        for (uint64_t i = 0; i < len; i++) {
            yv v;
            if ((rc = yany_read(&r, &v)))
                return rc;
            rc = yany_write(out, &v);
            yv_clear(&v);
            if (rc)
                return rc;
        }
        break;
    }
    case YC_JSON:
        if ((rc = pkc_reader_varuint(&r, &len)))
            return rc;
        pkc_buf_push_varuint(out, len);
        for (uint64_t i = 0; i < len; i++) {
            const uint8_t *a = r.p;
            const char *t;
            size_t tn;
            if ((rc = pkc_reader_varstring(&r, &t, &tn)))
                return rc;
            if (!min_var(a, (const uint8_t *)t))
                same = 0;
            if (tn == 9 && memcmp(t, "undefined", 9) == 0)
                rc = pkc_buf_push_varstring(out, t, tn);
            else
                rc = canon_json_str(out, t, tn, &same);
            if (rc)
                return rc;
        }
        break;
    case YC_EMBED:
    case YC_FORMAT: {
        const char *t;
        size_t tn;
        if (kind == YC_FORMAT) {
            if ((rc = pkc_reader_varstring(&r, &t, &tn)))
                return rc;
            pkc_buf_push_varstring(out, t, tn);
        }
        if ((rc = pkc_reader_varstring(&r, &t, &tn)) || (rc = canon_json_str(out, t, tn, &same)))
            return rc;
        break;
    }
    case YC_DOC:
        if ((rc = canon_doc(&r, out)))
            return rc;
        same = out->len == n && memcmp(out->data, p, n) == 0;
        break;
    default:
        return 0;
    }
    if (out->err)
        return out->err;
    *rewritten = !same;
    return 0;
}

/* Reads an item's content; fills s->len, s->tref and, for v1, s->content;
 * for v2 appends the v1 encoding to u->scratch (offset in *coff). */
static int d_content(ydecoder *d, ydec *s, size_t *coff)
{
    pkc_reader *r = &d->rest;
    const uint8_t *start = r->p;
    pkc_buf *out = &d->u->scratch;
    uint64_t len;
    int rc;
    *coff = out->len;
    switch (s->kind) {
    case YC_DELETED:
        if ((rc = d_len(d, &len)))
            return rc;
        if (d->v2)
            pkc_buf_push_varuint(out, len);
        break;
    case YC_JSON:
    case YC_ANY:
        if ((rc = d_len(d, &len)))
            return rc;
        if (len > pkc_reader_left(r) + (d->v2 && s->kind == YC_JSON ? d->str.n + 1 : 0))
            return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu values announced, fewer bytes left",
                             pkc_reader_offset(r), (unsigned long long)len);
        if (d->v2)
            pkc_buf_push_varuint(out, len);
        d->any_canonical = 1;
        for (uint64_t i = 0; i < len; i++) {
            if (s->kind == YC_ANY) {
                const uint8_t *a = r->p;
                int canonical;
                if ((rc = yany_canon(r, &canonical))) /* validates too */
                    return rc;
                d->any_canonical &= canonical;
                if (d->v2)
                    pkc_buf_push(out, a, (size_t)(r->p - a));
            } else {
                const char *str;
                size_t n, off;
                if ((rc = d_string(d, &str, &n, &off)))
                    return rc;
                const char *t = str ? str : (const char *)buf_at(&d->u->strs, off);
                if ((rc = json_or_undefined(t, n)))
                    return pkc_error_wrap(rc, "offset %zu: JSON content", pkc_reader_offset(r));
                if (d->v2)
                    push_str(d, out, str, n, off);
            }
        }
        break;
    case YC_BINARY: {
        const uint8_t *p;
        size_t n;
        if ((rc = pkc_reader_varbytes(r, &p, &n)))
            return rc;
        if (d->v2)
            pkc_buf_push_varbytes(out, p, n);
        len = 1;
        break;
    }
    case YC_STRING: {
        const char *str;
        size_t n, off;
        if (!d->v2) {
            /* the common case, text: validate and count UTF-16 units with
             * one pass over ASCII runs */
            const uint8_t *p;
            if ((rc = yrd_varbytes(r, &p, &n)))
                return rc;
            d->str_bytes = n;
            size_t i = 0;
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            if (i < n && n - i < 8 && (size_t)(r->end - (p + i)) >= 8) {
                /* the tail in one word too when the input goes on (the
                 * bytes past the string do not count) */
                uint64_t w;
                memcpy(&w, p + i, 8);
                if ((w & UINT64_C(0x8080808080808080) &
                     ((UINT64_C(1) << (8 * (n - i))) - 1)) == 0)
                    i = n;
            }
            while (i < n && p[i] < 0x80)
                i++;
            size_t bad;
            if (i < n && !pkc_utf8_valid(p + i, n - i, &bad))
                return pkc_error(PKC_ERR_MALFORMED, "offset %zu: string is not valid UTF-8",
                                 pkc_reader_offset(r) - n + i + bad);
            len = i == n ? n : i + yc_utf16_len(p + i, n - i, NULL);
            break;
        }
        if ((rc = d_string(d, &str, &n, &off)))
            return rc;
        const char *t = str ? str : (const char *)buf_at(&d->u->strs, off);
        len = yc_utf16_len((const uint8_t *)t, n, NULL);
        push_str(d, out, str, n, off);
        break;
    }
    case YC_EMBED:
        if (d->v2) {
            if ((rc = any_as_json(d, out)))
                return rc;
        } else {
            const char *str;
            size_t n;
            if ((rc = pkc_reader_varstring(r, &str, &n)))
                return rc;
            if ((rc = yjson_valid(str, n)))
                return pkc_error_wrap(rc, "offset %zu: embed", pkc_reader_offset(r));
        }
        len = 1;
        break;
    case YC_FORMAT: {
        const char *key;
        size_t kn, koff;
        if ((rc = d_key(d, &key, &kn, &koff)))
            return rc;
        if (d->v2) {
            push_str(d, out, key, kn, koff);
            if ((rc = any_as_json(d, out)))
                return rc;
        } else {
            const char *str;
            size_t n;
            if ((rc = pkc_reader_varstring(r, &str, &n)))
                return rc;
            if ((rc = yjson_valid(str, n)))
                return pkc_error_wrap(rc, "offset %zu: format value", pkc_reader_offset(r));
        }
        len = 1;
        break;
    }
    case YC_TYPE: {
        uint64_t t;
        if (d->v2)
            rc = uoptrle_read(&d->tref, &t);
        else
            rc = yrd_varuint(r, &t);
        if (rc)
            return rc;
        if (t > PKC_YXML_TEXT)
            return bad(r, "unknown type ref");
        s->tref = (uint8_t)t;
        if (d->v2)
            pkc_buf_push_varuint(out, t);
        if (t == PKC_YXML_ELEMENT || t == PKC_YXML_HOOK) {
            const char *key;
            size_t kn, koff;
            if ((rc = d_key(d, &key, &kn, &koff)))
                return rc;
            if (d->v2)
                push_str(d, out, key, kn, koff);
        }
        len = 1;
        break;
    }
    case YC_DOC: {
        const char *str;
        size_t n, off;
        if ((rc = d_string(d, &str, &n, &off)))
            return rc;
        if (d->v2)
            push_str(d, out, str, n, off);
        const uint8_t *a = r->p;
        if ((rc = yany_skip(r)))
            return rc;
        if (d->v2)
            pkc_buf_push(out, a, (size_t)(r->p - a));
        len = 1;
        break;
    }
    default:
        return bad(r, "unknown content kind");
    }
    if (out->err)
        return out->err;
    if (len == 0)
        return bad(r, "zero-length struct");
    if (len >= YC_MAX_CLOCK)
        return range_err(r, "struct length out of range");
    s->len = (uint32_t)len;
    if (s->kind == YC_ANY || s->kind == YC_JSON || s->kind == YC_EMBED || s->kind == YC_FORMAT ||
        s->kind == YC_DOC) {
        int rewritten;
        const uint8_t *cp = d->v2 ? out->data + *coff : start;
        size_t cn = d->v2 ? out->len - *coff : (size_t)(r->p - start);
        if ((rc = canon_content(d, s->kind, cp, cn, &rewritten)))
            return pkc_error_wrap(rc, "offset %zu: content", pkc_reader_offset(r));
        if (rewritten) {
            if (d->v2)
                out->len = *coff;
            else
                *coff = out->len;
            if (pkc_buf_push(out, d->canon.data, d->canon.len))
                return out->err;
            if (!d->v2) {
                s->content_len = (uint32_t)d->canon.len;
                return 0; /* s->content is set once `out` stops moving */
            }
        }
    }
    if (!d->v2) {
        *coff = SIZE_MAX;
        s->content = start;
        s->content_len = (uint32_t)(r->p - start);
    }
    return 0;
}

size_t ydec_bytes(uint8_t kind, const uint8_t *p, size_t n)
{
    pkc_reader r;
    uint64_t v;
    switch (kind) {
    case YC_STRING:
    case YC_BINARY:
    case YC_EMBED:
        pkc_reader_init(&r, p, n);
        return yrd_varuint(&r, &v) ? 0 : (size_t)v;
    case YC_ANY:
    case YC_JSON:
        pkc_reader_init(&r, p, n);
        return yrd_varuint(&r, &v) ? 0 : pkc_reader_left(&r);
    case YC_DOC:
        return n;
    default:
        return 0;
    }
}

/* Offsets into u->scratch (content) and u->strs (strings) of a struct,
 * made pointers once decoding is done (the buffers move as they grow).
 * v2: one per struct; v1: only structs whose content was rewritten
 * (coff), listed by index `i`. */
typedef struct v2fix {
    size_t coff, pname_off, psub_off;
} v2fix;

typedef struct v1fix {
    size_t i, coff;
} v1fix;

static int decode_structs(ydecoder *d, v2fix **fix, v1fix **cfix, size_t *ncfix)
{
    yupd *u = d->u;
    pkc_reader *r = &d->rest;
    uint64_t nclients;
    int rc;
    size_t capfix = 0, capcfix = 0;
    if ((rc = yrd_varuint(r, &nclients)))
        return rc;
    if (nclients > pkc_reader_left(r) + 1)
        return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu clients announced", pkc_reader_offset(r),
                         (unsigned long long)nclients);
    size_t max_structs = d->v2 ? 16 * d->total_in + 1024 : d->total_in;
    for (uint64_t ci = 0; ci < nclients; ci++) {
        uint64_t nstructs, client, clock64;
        if ((rc = yrd_varuint(r, &nstructs)))
            return rc;
        if ((rc = d_client(d, &client)))
            return rc;
        if ((rc = yrd_varuint(r, &clock64)))
            return rc;
        if (clock64 >= YC_MAX_CLOCK)
            return range_err(r, "clock out of range");
        if (nstructs > max_structs - d->nstructs)
            return pkc_error(PKC_ERR_TOO_LARGE, "offset %zu: %llu structs announced",
                             pkc_reader_offset(r), (unsigned long long)nstructs);
        if (PKC_ARRAY_PUSH(d->clients, d->nclients, d->capclients, client))
            return pkc_error_code(PKC_ERR_NOMEM);
        /* room for the announced structs (no more than the bytes left
         * could hold, so a lying count costs nothing) */
        size_t room = nstructs < pkc_reader_left(r) ? (size_t)nstructs : pkc_reader_left(r);
        if (pkc_array_grow((void **)&u->s, &u->cap, u->n + room, sizeof *u->s) ||
            (d->v2 && pkc_array_grow((void **)fix, &capfix, u->n + room, sizeof **fix)))
            return pkc_error_code(PKC_ERR_NOMEM);
        uint64_t clock = clock64;
        ygroup g = {u->n, 0};
        if (PKC_ARRAY_PUSH(u->grp, u->ngrp, u->capgrp, g))
            return pkc_error_code(PKC_ERR_NOMEM);
        for (uint64_t i = 0; i < nstructs; i++) {
            /* built in place */
            if (u->n == u->cap && pkc_array_grow((void **)&u->s, &u->cap, u->n + 1, sizeof *u->s))
                return pkc_error_code(PKC_ERR_NOMEM);
            ydec *sp = &u->s[u->n];
            memset(sp, 0, sizeof *sp);
            v2fix fx = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
            uint8_t info;
            sp->client = client;
            sp->clock = (uint32_t)clock;
            if (d->v2)
                rc = rle8_read(&d->info, &info);
            else if (r->p < r->end)
                info = *r->p++;
            else
                rc = pkc_reader_u8(r, &info);
            if (rc)
                return rc;
            sp->info = info;
            uint8_t kind = info & 31;
            if (info == 10) {
                uint64_t len;
                if ((rc = yrd_varuint(r, &len)))
                    return rc;
                if (len == 0)
                    return bad(r, "zero-length skip");
                if (len >= YC_MAX_CLOCK)
                    return range_err(r, "skip length out of range");
                sp->kind = YC_SKIP;
                sp->len = (uint32_t)len;
            } else if (kind == 0) {
                uint64_t len;
                if ((rc = d_len(d, &len)))
                    return rc;
                if (len == 0)
                    return bad(r, "zero-length GC struct");
                if (len >= YC_MAX_CLOCK)
                    return range_err(r, "GC length out of range");
                sp->kind = YC_GC;
                sp->len = (uint32_t)len;
            } else if (kind > YC_DOC) {
                return bad(r, "unknown struct kind");
            } else {
                sp->kind = kind;
                if (info & 0x80) {
                    if ((rc = d_client(d, &sp->oclient)) || (rc = d_clock(d, 0, &sp->oclock)))
                        return rc;
                    if (sp->oclient == client && sp->oclock >= clock)
                        return bad(r, "origin points at or after the item itself");
                }
                if (info & 0x40) {
                    if ((rc = d_client(d, &sp->rclient)) || (rc = d_clock(d, 1, &sp->rclock)))
                        return rc;
                    if (sp->rclient == client && sp->rclock >= clock)
                        return bad(r, "right origin points at or after the item itself");
                }
                if ((info & 0xc0) == 0) {
                    ypar par;
                    memset(&par, 0, sizeof par);
                    par.s = u->n;
                    uint64_t pi;
                    if (d->v2) {
                        uint8_t b8;
                        if ((rc = rle8_read(&d->pinfo, &b8)))
                            return rc;
                        pi = b8;
                    } else if ((rc = yrd_varuint(r, &pi))) {
                        return rc;
                    }
                    if (pi > 1)
                        return bad(r, "bad parent info");
                    if (pi == 1) {
                        const char *name;
                        size_t n;
                        if ((rc = d_string(d, &name, &n, &fx.pname_off)))
                            return rc;
                        par.kind = 1;
                        par.pname = name;
                        par.pname_len = (uint32_t)n;
                    } else {
                        if ((rc = d_client(d, &par.pclient)) || (rc = d_clock(d, 0, &par.pclock)))
                            return rc;
                        if (par.pclient == client && par.pclock >= clock)
                            return bad(r, "parent points at or after the item itself");
                        par.kind = 2;
                    }
                    if (info & 0x20) {
                        const char *k;
                        size_t n;
                        if ((rc = d_string(d, &k, &n, &fx.psub_off)))
                            return rc;
                        par.psub = k;
                        par.psub_len = (uint32_t)n;
                    }
                    if (PKC_ARRAY_PUSH(u->par, u->npar, u->cappar, par))
                        return pkc_error_code(PKC_ERR_NOMEM);
                    /* (the pointer is set once u->par stops moving) */
                }
                if ((rc = d_content(d, sp, &fx.coff)))
                    return rc;
                if (fx.coff == SIZE_MAX && sp->kind == YC_STRING)
                    u->grp[u->ngrp - 1].bytes += d->str_bytes; /* (v1) */
                else if (sp->kind == YC_DELETED || sp->kind == YC_FORMAT || sp->kind == YC_TYPE)
                    ; /* no bytes (ydec_bytes) */
                else if (fx.coff == SIZE_MAX)
                    u->grp[u->ngrp - 1].bytes += ydec_bytes(sp->kind, sp->content, sp->content_len);
                else if (u->scratch.len > fx.coff)
                    u->grp[u->ngrp - 1].bytes += ydec_bytes(sp->kind, u->scratch.data + fx.coff,
                                                            u->scratch.len - fx.coff);
            }
            if (clock + sp->len >= YC_MAX_CLOCK)
                return range_err(r, "clock out of range");
            clock += sp->len;
            u->n++;
            u->grp[u->ngrp - 1].end = u->n;
            if (d->v2) {
                size_t nfix = u->n - 1;
                if (pkc_array_grow((void **)fix, &capfix, nfix + 1, sizeof **fix))
                    return pkc_error_code(PKC_ERR_NOMEM);
                (*fix)[nfix] = fx;
            } else if (fx.coff != SIZE_MAX) {
                v1fix c = {u->n - 1, fx.coff};
                if (PKC_ARRAY_PUSH(*cfix, *ncfix, capcfix, c))
                    return pkc_error_code(PKC_ERR_NOMEM);
            }
            d->nstructs++;
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int check_clients(ydecoder *d)
{
    if (d->nclients > 1)
        qsort(d->clients, d->nclients, sizeof *d->clients, cmp_u64);
    for (size_t i = 1; i < d->nclients; i++)
        if (d->clients[i] == d->clients[i - 1])
            return pkc_error(PKC_ERR_MALFORMED, "client %llu appears twice in one update",
                             (unsigned long long)d->clients[i]);
    return 0;
}

static int decode_ds(ydecoder *d)
{
    pkc_reader *r = &d->rest;
    uint64_t nclients;
    int rc;
    if ((rc = yrd_varuint(r, &nclients)))
        return rc;
    if (nclients > pkc_reader_left(r))
        return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu delete-set clients announced",
                         pkc_reader_offset(r), (unsigned long long)nclients);
    for (uint64_t i = 0; i < nclients; i++) {
        uint64_t client, n;
        if ((rc = yrd_varuint(r, &client)))
            return rc;
        if (client > YC_MAX_CLIENT)
            return range_err(r, "client id above 2^53");
        if ((rc = yrd_varuint(r, &n)))
            return rc;
        if (n > pkc_reader_left(r) / 2)
            return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: %llu deletes announced",
                             pkc_reader_offset(r), (unsigned long long)n);
        uint64_t cur = 0;
        for (uint64_t k = 0; k < n; k++) {
            uint64_t clock, len;
            if ((rc = yrd_varuint(r, &clock)) || (rc = yrd_varuint(r, &len)))
                return rc;
            if (d->v2) {
                if (clock > UINT64_MAX - cur)
                    return range_err(r, "delete clock out of range");
                clock += cur;
                if (len == UINT64_MAX)
                    return range_err(r, "delete length out of range");
                len += 1;
                cur = clock + len;
            }
            if (clock >= YC_MAX_CLOCK || len >= YC_MAX_CLOCK || clock + len >= YC_MAX_CLOCK)
                return range_err(r, "delete range out of range");
            if (len == 0)
                continue;
            if (yds_add(&d->u->ds, client, (uint32_t)clock, (uint32_t)len))
                return pkc_error_code(PKC_ERR_NOMEM);
        }
    }
    return 0;
}

static int sub_reader(pkc_reader *r, pkc_reader *sub)
{
    return pkc_reader_block(r, sub);
}

int yupd_decode(yupd *u, const uint8_t *p, size_t n, int v2)
{
    ydecoder d;
    v2fix *fix = NULL;
    v1fix *cfix = NULL;
    size_t ncfix = 0;
    int rc;
    memset(&d, 0, sizeof d);
    memset(u, 0, sizeof *u);
    pkc_buf_init(&u->scratch);
    pkc_buf_init(&u->strs);
    pkc_buf_init(&d.canon);
    d.v2 = v2;
    d.u = u;
    d.total_in = n;
    pkc_reader_init(&d.rest, p, n);
    if (v2) {
        pkc_reader *r = &d.rest;
        uint64_t flag;
        pkc_reader s;
        if ((rc = yrd_varuint(r, &flag)))
            goto fail;
        if ((rc = sub_reader(r, &d.keyclock.r)) || (rc = sub_reader(r, &d.client.r)) ||
            (rc = sub_reader(r, &d.leftclock.r)) || (rc = sub_reader(r, &d.rightclock.r)) ||
            (rc = sub_reader(r, &d.info.r)) || (rc = sub_reader(r, &s)) ||
            (rc = sub_reader(r, &d.pinfo.r)) || (rc = sub_reader(r, &d.tref.r)) ||
            (rc = sub_reader(r, &d.len.r)))
            goto fail;
        /* the string table: a varstring, then the slice lengths */
        const char *str;
        size_t sn;
        if ((rc = pkc_reader_varstring(&s, &str, &sn)))
            goto fail;
        d.str.str = str;
        d.str.n = sn;
        d.str.lens.r = s;
    }
    if ((rc = decode_structs(&d, &fix, &cfix, &ncfix)) || (rc = check_clients(&d)) || (rc = decode_ds(&d)))
        goto fail;
    if ((rc = pkc_reader_finish(&d.rest)))
        goto fail;
    /* v1 content rewritten to canonical form lives in u->scratch too */
    for (size_t k = 0; k < ncfix; k++)
        u->s[cfix[k].i].content = buf_at(&u->scratch, cfix[k].coff);
    for (size_t k = 0; k < u->npar; k++) {
        ypar *pa = &u->par[k];
        u->s[pa->s].par = pa;
        if (v2 && fix[pa->s].pname_off != SIZE_MAX)
            pa->pname = (const char *)buf_at(&u->strs, fix[pa->s].pname_off);
        if (v2 && fix[pa->s].psub_off != SIZE_MAX)
            pa->psub = (const char *)buf_at(&u->strs, fix[pa->s].psub_off);
    }
    if (v2) {
        for (size_t i = 0; i < u->n; i++) {
            ydec *s = &u->s[i];
            if (fix[i].coff != SIZE_MAX) {
                /* content length: up to the next struct's content or the end */
                s->content = buf_at(&u->scratch, fix[i].coff);
            }
        }
        /* content lengths from consecutive offsets */
        size_t last = u->scratch.len;
        for (size_t i = u->n; i-- > 0;) {
            if (fix[i].coff != SIZE_MAX) {
                u->s[i].content_len = (uint32_t)(last - fix[i].coff);
                last = fix[i].coff;
            }
        }
    }
    free(fix);
    free(cfix);
    free(d.keys);
    free(d.clients);
    pkc_buf_free(&d.canon);
    return 0;
fail:
    free(fix);
    free(cfix);
    free(d.keys);
    free(d.clients);
    pkc_buf_free(&d.canon);
    yupd_free(u);
    return rc;
}
