/* buf.c: growable writer and bounds-checked reader. */
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/text.h"

void pkc_buf_init(pkc_buf *b)
{
    pkc_buf_init_limit(b, SIZE_MAX);
}

void pkc_buf_init_limit(pkc_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
    b->err = 0;
}

void pkc_buf_free(pkc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}

void pkc_buf_reset(pkc_buf *b)
{
    b->len = 0;
    b->err = 0;
}

uint8_t *pkc_buf_steal(pkc_buf *b, size_t *len)
{
    uint8_t *p = b->len ? b->data : NULL;
    if (len)
        *len = b->len;
    if (p == NULL)
        free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
    return p;
}

int pkc_buf_reserve(pkc_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > b->limit || b->len > b->limit - extra) {
        b->err = pkc_error(PKC_ERR_TOO_LARGE, "buffer limit of %zu bytes exceeded", b->limit);
        return b->err;
    }
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL) {
        b->err = pkc_error(PKC_ERR_NOMEM, "buffer: cannot grow to %zu bytes", cap);
        return b->err;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int pkc_buf_push(pkc_buf *b, const void *p, size_t n)
{
    int rc = pkc_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int pkc_buf_push_u8(pkc_buf *b, uint8_t v)
{
    return pkc_buf_push(b, &v, 1);
}

int pkc_buf_push_u16be(pkc_buf *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return pkc_buf_push(b, t, sizeof t);
}

int pkc_buf_push_u32be(pkc_buf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return pkc_buf_push(b, t, sizeof t);
}

int pkc_buf_push_u64be(pkc_buf *b, uint64_t v)
{
    uint8_t t[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        t[i] = (uint8_t)v;
    return pkc_buf_push(b, t, sizeof t);
}

static size_t encode_varuint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v > 0x7f) {
        out[n++] = (uint8_t)(0x80 | (v & 0x7f));
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t pkc_varuint_size(uint64_t v)
{
    size_t n = 1;
    while (v > 0x7f) {
        v >>= 7;
        n++;
    }
    return n;
}

int pkc_buf_push_varuint(pkc_buf *b, uint64_t v)
{
    uint8_t t[PKC_VARUINT_MAX_BYTES];
    return pkc_buf_push(b, t, encode_varuint(t, v));
}

int pkc_buf_push_varint_sm(pkc_buf *b, int negative, uint64_t magnitude)
{
    uint8_t t[PKC_VARUINT_MAX_BYTES + 1];
    size_t n = 0;
    t[n++] = (uint8_t)((magnitude > 0x3f ? 0x80 : 0) | (negative ? 0x40 : 0) | (magnitude & 0x3f));
    magnitude >>= 6;
    if (magnitude > 0)
        n += encode_varuint(t + n, magnitude);
    return pkc_buf_push(b, t, n);
}

int pkc_buf_push_varint(pkc_buf *b, int64_t v)
{
    /* Magnitude of INT64_MIN does not fit in int64_t; compute it unsigned. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    return pkc_buf_push_varint_sm(b, v < 0, mag);
}

int pkc_buf_push_varbytes(pkc_buf *b, const void *p, size_t n)
{
    int rc = pkc_buf_push_varuint(b, n);
    return rc ? rc : pkc_buf_push(b, p, n);
}

int pkc_buf_push_varstring(pkc_buf *b, const char *s, size_t n)
{
    return pkc_buf_push_varbytes(b, s, n);
}

int pkc_buf_push_cstring(pkc_buf *b, const char *s)
{
    return pkc_buf_push_varbytes(b, s, strlen(s));
}

size_t pkc_buf_block_begin(const pkc_buf *b)
{
    return b->len;
}

int pkc_buf_block_end(pkc_buf *b, size_t mark)
{
    if (b->err)
        return b->err;
    if (mark > b->len)
        return b->err = pkc_error(PKC_ERR_INVALID_ARG, "buffer: block mark past the end");
    uint8_t t[PKC_VARUINT_MAX_BYTES];
    size_t body = b->len - mark;
    size_t n = encode_varuint(t, body);
    int rc = pkc_buf_reserve(b, n);
    if (rc)
        return rc;
    memmove(b->data + mark + n, b->data + mark, body);
    memcpy(b->data + mark, t, n);
    b->len += n;
    return 0;
}

/* ------------------------------------------------------------------------ */

void pkc_reader_init(pkc_reader *r, const void *data, size_t len)
{
    static const uint8_t empty[1];
    r->start = data ? (const uint8_t *)data : empty;
    r->p = r->start;
    r->end = r->start + (data ? len : 0);
}

size_t pkc_reader_left(const pkc_reader *r)
{
    return (size_t)(r->end - r->p);
}

size_t pkc_reader_offset(const pkc_reader *r)
{
    return (size_t)(r->p - r->start);
}

static int truncated(const pkc_reader *r, size_t want)
{
    return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: need %zu bytes, %zu left",
                     pkc_reader_offset(r), want, pkc_reader_left(r));
}

int pkc_reader_bytes(pkc_reader *r, size_t n, const uint8_t **out)
{
    if (n > pkc_reader_left(r))
        return truncated(r, n);
    *out = r->p;
    r->p += n;
    return 0;
}

int pkc_reader_copy(pkc_reader *r, void *dst, size_t n)
{
    const uint8_t *p = NULL;
    int rc = pkc_reader_bytes(r, n, &p);
    if (rc == 0 && n)
        memcpy(dst, p, n);
    return rc;
}

int pkc_reader_skip(pkc_reader *r, size_t n)
{
    const uint8_t *p = NULL;
    return pkc_reader_bytes(r, n, &p);
}

int pkc_reader_u8(pkc_reader *r, uint8_t *v)
{
    if (r->p >= r->end)
        return truncated(r, 1);
    *v = *r->p++;
    return 0;
}

static int read_be(pkc_reader *r, size_t n, uint64_t *v)
{
    const uint8_t *p = NULL;
    int rc = pkc_reader_bytes(r, n, &p);
    if (rc)
        return rc;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | p[i];
    *v = x;
    return 0;
}

int pkc_reader_u16be(pkc_reader *r, uint16_t *v)
{
    uint64_t x;
    int rc = read_be(r, 2, &x);
    if (rc == 0)
        *v = (uint16_t)x;
    return rc;
}

int pkc_reader_u32be(pkc_reader *r, uint32_t *v)
{
    uint64_t x;
    int rc = read_be(r, 4, &x);
    if (rc == 0)
        *v = (uint32_t)x;
    return rc;
}

int pkc_reader_u64be(pkc_reader *r, uint64_t *v)
{
    return read_be(r, 8, v);
}

/* Reads 7-bit groups starting at bit `shift` from `p`; returns bytes used. */
static int read_groups(const pkc_reader *r, const uint8_t *p, unsigned shift, uint64_t acc,
                       uint64_t *v, size_t *used)
{
    const uint8_t *q = p;
    for (;;) {
        if (q >= r->end) {
            return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: variable-length integer truncated",
                             pkc_reader_offset(r));
        }
        uint8_t c = *q++;
        uint64_t bits = c & 0x7f;
        if (bits != 0) {
            if (shift >= 64 || (shift > 0 && bits >> (64 - shift)) != 0)
                return pkc_error(PKC_ERR_RANGE,
                                 "offset %zu: variable-length integer does not fit in 64 bits",
                                 pkc_reader_offset(r));
            acc |= bits << shift;
        }
        if ((c & 0x80) == 0)
            break;
        shift += 7;
        /* Zero groups past bit 64 are harmless but unbounded; cap the length. */
        if ((size_t)(q - r->p) >= PKC_VARUINT_MAX_BYTES + 1)
            return pkc_error(PKC_ERR_RANGE,
                             "offset %zu: variable-length integer longer than %d bytes",
                             pkc_reader_offset(r), PKC_VARUINT_MAX_BYTES + 1);
    }
    *v = acc;
    *used = (size_t)(q - p);
    return 0;
}

int pkc_reader_varuint(pkc_reader *r, uint64_t *v)
{
    size_t used;
    uint64_t x;
    int rc = read_groups(r, r->p, 0, 0, &x, &used);
    if (rc)
        return rc;
    r->p += used;
    *v = x;
    return 0;
}

int pkc_reader_varuint_max(pkc_reader *r, uint64_t max, uint64_t *v)
{
    pkc_reader save = *r;
    uint64_t x;
    int rc = pkc_reader_varuint(r, &x);
    if (rc)
        return rc;
    if (x > max) {
        *r = save;
        return pkc_error(PKC_ERR_RANGE, "offset %zu: value %llu exceeds the maximum %llu",
                         pkc_reader_offset(r), (unsigned long long)x, (unsigned long long)max);
    }
    *v = x;
    return 0;
}

int pkc_reader_varint(pkc_reader *r, int64_t *v, int *negative)
{
    if (r->p >= r->end)
        return truncated(r, 1);
    uint8_t first = *r->p;
    int neg = (first & 0x40) != 0;
    uint64_t mag = first & 0x3f;
    size_t used = 1;
    if (first & 0x80) {
        size_t more;
        int rc = read_groups(r, r->p + 1, 6, mag, &mag, &more);
        if (rc)
            return rc;
        used += more;
    }
    if (mag > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return pkc_error(PKC_ERR_RANGE, "offset %zu: varint does not fit in 64 bits",
                         pkc_reader_offset(r));
    r->p += used;
    if (neg)
        *v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    else
        *v = (int64_t)mag;
    if (negative)
        *negative = neg;
    return 0;
}

int pkc_reader_varbytes(pkc_reader *r, const uint8_t **p, size_t *n)
{
    pkc_reader save = *r;
    uint64_t len;
    int rc = pkc_reader_varuint(r, &len);
    if (rc)
        return rc;
    if (len > pkc_reader_left(r)) {
        *r = save;
        return pkc_error(PKC_ERR_TRUNCATED, "offset %zu: length %llu exceeds the %zu bytes left",
                         pkc_reader_offset(r), (unsigned long long)len, pkc_reader_left(r));
    }
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

int pkc_reader_varstring(pkc_reader *r, const char **s, size_t *n)
{
    pkc_reader save = *r;
    const uint8_t *p = NULL;
    size_t len = 0;
    int rc = pkc_reader_varbytes(r, &p, &len);
    if (rc)
        return rc;
    size_t bad;
    if (!pkc_utf8_valid(p, len, &bad)) {
        size_t at = pkc_reader_offset(r) - len + bad;
        *r = save;
        return pkc_error(PKC_ERR_MALFORMED, "offset %zu: string is not valid UTF-8", at);
    }
    *s = (const char *)p;
    *n = len;
    return 0;
}

int pkc_reader_block(pkc_reader *r, pkc_reader *sub)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    int rc = pkc_reader_varbytes(r, &p, &n);
    if (rc)
        return rc;
    /* Keep the parent's start so offsets in errors stay absolute. */
    sub->start = r->start;
    sub->p = p;
    sub->end = p + n;
    return 0;
}

int pkc_reader_finish(const pkc_reader *r)
{
    if (r->p != r->end)
        return pkc_error(PKC_ERR_MALFORMED, "offset %zu: %zu unexpected trailing bytes",
                         pkc_reader_offset(r), pkc_reader_left(r));
    return 0;
}
