/*
 * read.c: values out of items (Yjs getContent) and types out as JSON
 * (toJSON) and XML strings (toString).
 */
#include "crdt/read.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/branch.h"
#include "crdt/content.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/pool.h"
#include "crdt/utf16.h"
#include "crdt/val.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/text.h"

static char *dupz(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

int yc_item_value(const yitem *it, uint32_t k, yv *out)
{
    memset(out, 0, sizeof *out);
    const pkc_ydoc *doc = yi_doc(it);
    const uint8_t *p = yi_bytes(doc, it);
    uint32_t cn = yi_cn(doc, it);
    pkc_reader r;
    switch (it->kind) {
    case YC_ANY: {
        pkc_reader_init(&r, p, cn);
        for (uint32_t i = 0; i < k; i++)
            yany_skip(&r);
        return yany_read(&r, out);
    }
    case YC_JSON: {
        pkc_reader_init(&r, p, cn);
        const uint8_t *s;
        size_t n = 0;
        for (uint32_t i = 0; i <= k; i++)
            pkc_reader_varbytes(&r, &s, &n);
        if (n == 9 && memcmp(s, "undefined", 9) == 0) {
            out->kind = PKC_YV_UNDEFINED;
            return 0;
        }
        return yjson_parse((const char *)s, n, out);
    }
    case YC_BINARY:
        out->kind = PKC_YV_BINARY;
        if ((out->u.str.ptr = dupz(p, cn)) == NULL)
            goto nomem;
        out->u.str.len = cn;
        return 0;
    case YC_EMBED:
        return yjson_parse((const char *)p, cn, out);
    case YC_TYPE:
        out->kind = PKC_YV_TYPE;
        out->u.type.handle = (pkc_ytype *)yi_type(doc, it);
        out->u.type.kind = (pkc_ytype_kind)yi_type(doc, it)->tref;
        return 0;
    case YC_DOC: {
        pkc_reader_init(&r, p, cn);
        const char *g;
        size_t n;
        pkc_reader_varstring(&r, &g, &n);
        out->kind = PKC_YV_DOC;
        if ((out->u.str.ptr = dupz(g, n)) == NULL)
            goto nomem;
        out->u.str.len = n;
        return 0;
    }
    case YC_STRING: {
        /* getContent() splits a string into UTF-16 code units */
        int mid;
        size_t off = yc_utf16_offset(p, cn, k, &mid);
        size_t cl;
        static const char rep[3] = {(char)0xef, (char)0xbf, (char)0xbd};
        const char *src;
        if (mid) {
            src = rep;
            cl = 3;
        } else {
            uint8_t c = p[off];
            cl = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
            src = (const char *)p + off;
            if (cl == 4) {
                src = rep;
                cl = 3;
            }
        }
        out->kind = PKC_YV_STRING;
        if ((out->u.str.ptr = dupz(src, cl)) == NULL)
            goto nomem;
        out->u.str.len = cl;
        return 0;
    }
    default:
        out->kind = PKC_YV_UNDEFINED;
        return 0;
    }
nomem:
    out->kind = PKC_YV_UNDEFINED;
    return pkc_error_code(PKC_ERR_NOMEM);
}

/* ------------------------------------------------------------------------ */
/* toJSON                                                                   */

static int value_json(pkc_buf *b, const yitem *it, uint32_t k, int depth);

static int text_string(pkc_buf *b, const ybranch *t)
{
    for (const yitem *n = t->start; n; n = yi_right(t->doc, n))
        if (n->kind == YC_STRING && !yi_deleted(n))
            pkc_buf_push(b, yi_bytes(t->doc, n), yi_cn(t->doc, n));
    return b->err;
}

int yc_type_json(pkc_buf *b, const ybranch *t, int depth)
{
    if (depth > YC_MAX_DEPTH)
        return pkc_error(PKC_ERR_TOO_LARGE, "types nested deeper than %d", YC_MAX_DEPTH);
    switch (t->tref) {
    case PKC_YMAP:
    case PKC_YXML_HOOK: {
        /* a plain object: JavaScript puts array-index keys first */
        uint32_t *ord = malloc((t->map.n ? t->map.n : 1) * sizeof *ord);
        if (ord == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        uint32_t no = 0, ix, jx;
        for (uint32_t i = 0; i < t->map.n; i++)
            if (pkc_js_index_parse(t->map.e[i]->s, t->map.e[i]->len, &ix))
                ord[no++] = i;
        for (uint32_t i = 1; i < no; i++) {
            uint32_t x = ord[i], j = i;
            pkc_js_index_parse(t->map.e[x]->s, t->map.e[x]->len, &ix);
            while (j > 0 && (pkc_js_index_parse(t->map.e[ord[j - 1]]->s,
                                                t->map.e[ord[j - 1]]->len, &jx),
                             jx > ix)) {
                ord[j] = ord[j - 1];
                j--;
            }
            ord[j] = x;
        }
        for (uint32_t i = 0; i < t->map.n; i++)
            if (!pkc_js_index_parse(t->map.e[i]->s, t->map.e[i]->len, &ix))
                ord[no++] = i;
        pkc_buf_push_u8(b, '{');
        int first = 1, rc = 0;
        for (uint32_t oi = 0; oi < t->map.n && rc == 0; oi++) {
            const ykey *k = t->map.e[ord[oi]];
            const yitem *it = k->val;
            if (it == NULL || yi_deleted(it))
                continue;
            /* JSON.stringify drops undefined members */
            if (it->kind == YC_ANY || it->kind == YC_JSON) {
                yv v;
                if ((rc = yc_item_value(it, it->len - 1, &v)))
                    break;
                int undef = v.kind == PKC_YV_UNDEFINED;
                yv_clear(&v);
                if (undef)
                    continue;
            }
            if (!first)
                pkc_buf_push_u8(b, ',');
            first = 0;
            yjson_write_string(b, k->s, k->len);
            pkc_buf_push_u8(b, ':');
            rc = value_json(b, it, it->len - 1, depth);
        }
        free(ord);
        if (rc)
            return rc;
        return pkc_buf_push_u8(b, '}');
    }
    case PKC_YARRAY: {
        pkc_buf_push_u8(b, '[');
        int first = 1;
        for (const yitem *n = t->start; n; n = yi_right(t->doc, n)) {
            if (!yi_countable(n) || yi_deleted(n))
                continue;
            for (uint32_t k = 0; k < n->len; k++) {
                if (!first)
                    pkc_buf_push_u8(b, ',');
                first = 0;
                int rc = value_json(b, n, k, depth);
                if (rc)
                    return rc;
            }
        }
        return pkc_buf_push_u8(b, ']');
    }
    case PKC_YTEXT: {
        pkc_buf s = PKC_BUF_INIT;
        int rc = text_string(&s, t);
        if (rc == 0)
            rc = yjson_write_string(b, (const char *)s.data, s.len);
        pkc_buf_free(&s);
        return rc;
    }
    case PKC_YXML_FRAGMENT:
    case PKC_YXML_ELEMENT:
    case PKC_YXML_TEXT: {
        pkc_buf s = PKC_BUF_INIT;
        int rc = yc_xml_string(&s, t, depth);
        if (rc == 0)
            rc = yjson_write_string(b, (const char *)s.data, s.len);
        pkc_buf_free(&s);
        return rc;
    }
    default:
        /* an untyped root: toJSON() returns undefined */
        return pkc_buf_push(b, "null", 4);
    }
}

static int value_json(pkc_buf *b, const yitem *it, uint32_t k, int depth)
{
    if (it->kind == YC_TYPE)
        return yc_type_json(b, yi_type(yi_doc(it), it), depth + 1);
    if (it->kind == YC_DOC)
        return pkc_buf_push(b, "{}", 2);
    yv v;
    int rc = yc_item_value(it, k, &v);
    if (rc)
        return rc;
    rc = yjson_write(b, &v);
    yv_clear(&v);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* XML strings                                                              */

static int cmp_str(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* JavaScript's String(x) of a value inside an item */
static int item_js_string(pkc_buf *b, const yitem *it, uint32_t k, int depth)
{
    if (it->kind == YC_TYPE) {
        const ybranch *t = yi_type(yi_doc(it), it);
        if (t->tref == PKC_YXML_ELEMENT || t->tref == PKC_YXML_FRAGMENT || t->tref == PKC_YXML_TEXT)
            return yc_xml_string(b, t, depth + 1);
        if (t->tref == PKC_YTEXT)
            return text_string(b, t);
        if (t->tref == PKC_YARRAY) {
            /* Array.prototype.toString would apply to toArray(); YArray has
             * no toString, so this is Object's */
        }
        return pkc_buf_push(b, "[object Object]", 15);
    }
    yv v;
    int rc = yc_item_value(it, k, &v);
    if (rc)
        return rc;
    rc = yv_js_string(b, &v);
    yv_clear(&v);
    return rc;
}

static int element_string(pkc_buf *b, const ybranch *t, int depth)
{
    /* attributes sorted by key */
    size_t n = 0;
    const ykey **keys = malloc((t->map.n ? t->map.n : 1) * sizeof *keys);
    if (keys == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    for (uint32_t i = 0; i < t->map.n; i++) {
        const ykey *k = t->map.e[i];
        if (k->val && !yi_deleted((const yitem *)k->val))
            keys[n++] = k;
    }
    for (size_t i = 1; i < n; i++) {
        const ykey *x = keys[i];
        size_t j = i;
        while (j > 0 && cmp_str(keys[j - 1]->s, keys[j - 1]->len, x->s, x->len) > 0) {
            keys[j] = keys[j - 1];
            j--;
        }
        keys[j] = x;
    }
    /* node name in lower case (toLocaleLowerCase; ASCII here) */
    char *name = malloc(t->name_len + 1);
    if (name == NULL) {
        free(keys);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    for (uint32_t i = 0; i < t->name_len; i++) {
        char c = t->name[i];
        name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    pkc_buf_push_u8(b, '<');
    pkc_buf_push(b, name, t->name_len);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const yitem *it = keys[i]->val;
        pkc_buf_push_u8(b, ' ');
        pkc_buf_push(b, keys[i]->s, keys[i]->len);
        pkc_buf_push(b, "=\"", 2);
        rc = item_js_string(b, it, it->len - 1, depth);
        pkc_buf_push_u8(b, '"');
    }
    pkc_buf_push_u8(b, '>');
    for (const yitem *c = t->start; c && rc == 0; c = yi_right(t->doc, c)) {
        if (!yi_countable(c) || yi_deleted(c))
            continue;
        for (uint32_t k = 0; k < c->len && rc == 0; k++)
            rc = item_js_string(b, c, k, depth);
    }
    pkc_buf_push(b, "</", 2);
    pkc_buf_push(b, name, t->name_len);
    pkc_buf_push_u8(b, '>');
    free(name);
    free(keys);
    return rc ? rc : b->err;
}

int yc_xml_string(pkc_buf *b, const ybranch *t, int depth)
{
    if (depth > YC_MAX_DEPTH)
        return pkc_error(PKC_ERR_TOO_LARGE, "types nested deeper than %d", YC_MAX_DEPTH);
    switch (t->tref) {
    case PKC_YXML_ELEMENT:
        return element_string(b, t, depth);
    case PKC_YXML_TEXT:
        return yc_xml_text_string(b, t);
    case PKC_YTEXT:
        return text_string(b, t);
    default: {
        int rc = 0;
        for (const yitem *c = t->start; c && rc == 0; c = yi_right(t->doc, c)) {
            if (!yi_countable(c) || yi_deleted(c))
                continue;
            for (uint32_t k = 0; k < c->len && rc == 0; k++)
                rc = item_js_string(b, c, k, depth);
        }
        return rc ? rc : b->err;
    }
    }
}
