/* wire.c: strict field readers (see wire.h). */
#include "proto/wire.h"

#include "util/err.h"
#include "util/text.h"

int pkc_wire_varuint(pkc_reader *r, uint64_t max, uint64_t *v, const char *what)
{
    /* Fast path for well-formed input: minimal (the last byte is not zero
     * unless it is the only one), at most 64 bits, within `max`. Anything
     * else takes the slow path below, which says what is wrong. */
    {
        const uint8_t *p = r->p;
        uint64_t x = 0;
        for (unsigned shift = 0; p < r->end && shift < 64; shift += 7) {
            uint8_t b = *p++;
            if (shift == 63 && b > 1)
                break;
            x |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) {
                if ((b == 0 && shift > 0) || x > max)
                    break;
                *v = x;
                r->p = p;
                return 0;
            }
        }
    }
    const uint8_t *start = r->p;
    uint64_t x;
    int rc = pkc_reader_varuint(r, &x);
    if (rc)
        return pkc_error_wrap(rc, "%s", what);
    size_t used = (size_t)(r->p - start);
    if (used != pkc_varuint_size(x)) {
        r->p = start;
        return pkc_error(PKC_ERR_MALFORMED, "%s: offset %zu: varuint not in its shortest form",
                         what, pkc_reader_offset(r));
    }
    if (x > max) {
        r->p = start;
        return pkc_error(PKC_ERR_RANGE, "%s: offset %zu: %llu exceeds the limit %llu", what,
                         pkc_reader_offset(r), (unsigned long long)x, (unsigned long long)max);
    }
    *v = x;
    return 0;
}

int pkc_wire_varbytes(pkc_reader *r, size_t max, pkc_bytes *out, const char *what)
{
    const uint8_t *start = r->p;
    uint64_t n;
    int rc = pkc_wire_varuint(r, UINT64_MAX, &n, what);
    if (rc)
        return rc;
    if (n > max) {
        r->p = start;
        return pkc_error(PKC_ERR_TOO_LARGE, "%s: offset %zu: length %llu exceeds the limit %zu",
                         what, pkc_reader_offset(r), (unsigned long long)n, max);
    }
    if (n > pkc_reader_left(r)) {
        size_t left = pkc_reader_left(r);
        r->p = start;
        return pkc_error(PKC_ERR_TRUNCATED,
                         "%s: offset %zu: length %llu exceeds the %zu bytes left", what,
                         pkc_reader_offset(r), (unsigned long long)n, left);
    }
    out->data = r->p;
    out->len = (size_t)n;
    r->p += n;
    return 0;
}

int pkc_wire_varstring(pkc_reader *r, size_t max, pkc_bytes *out, const char *what)
{
    const uint8_t *start = r->p;
    pkc_bytes b;
    int rc = pkc_wire_varbytes(r, max, &b, what);
    if (rc)
        return rc;
    size_t bad;
    if (!pkc_utf8_valid(b.data, b.len, &bad)) {
        size_t at = (size_t)(b.data - r->start) + bad;
        r->p = start;
        return pkc_error(PKC_ERR_MALFORMED, "%s: offset %zu: invalid UTF-8", what, at);
    }
    *out = b;
    return 0;
}

int pkc_wire_fixed(pkc_reader *r, size_t n, const uint8_t **out, const char *what)
{
    int rc = pkc_reader_bytes(r, n, out);
    return rc ? pkc_error_wrap(rc, "%s", what) : 0;
}

int pkc_wire_u8(pkc_reader *r, uint8_t *v, const char *what)
{
    int rc = pkc_reader_u8(r, v);
    return rc ? pkc_error_wrap(rc, "%s", what) : 0;
}

int pkc_wire_u64be(pkc_reader *r, uint64_t *v, const char *what)
{
    int rc = pkc_reader_u64be(r, v);
    return rc ? pkc_error_wrap(rc, "%s", what) : 0;
}

int pkc_wire_extensions(pkc_reader *r, size_t max_count, size_t max_value, pkc_bytes *out,
                        const char *what)
{
    const uint8_t *start = r->p;
    uint64_t n, type;
    pkc_bytes value;
    int rc = pkc_wire_varuint(r, max_count, &n, what);
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        rc = pkc_wire_varuint(r, UINT64_MAX, &type, what);
        if (rc == 0)
            rc = pkc_wire_varbytes(r, max_value, &value, what);
    }
    if (rc) {
        r->p = start;
        return rc;
    }
    out->data = start;
    out->len = (size_t)(r->p - start);
    return 0;
}

int pkc_wire_end(const pkc_reader *r, const char *what)
{
    if (pkc_reader_left(r) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "%s: %zu unexpected bytes at offset %zu", what,
                         pkc_reader_left(r), pkc_reader_offset(r));
    return 0;
}
