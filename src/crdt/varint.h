/* varint.h: lib0 varuints, inline fast paths over util/buf.h. */
#ifndef PKC_CRDT_VARINT_H
#define PKC_CRDT_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* ------------------------------------------------------------------------ */
/* Varuints.                                                                */

/* Fast path for varuints of up to 8 bytes (56 bits); anything else, and
 * every error, goes through pkc_reader_varuint. */
static inline int yrd_varuint(pkc_reader *r, uint64_t *v)
{
    const uint8_t *p = r->p;
    if (p < r->end && *p < 0x80) {
        *v = *p;
        r->p = p + 1;
        return 0;
    }
    uint64_t x = 0;
    unsigned shift = 0;
    for (const uint8_t *q = p; q < r->end && q - p < 8; q++, shift += 7) {
        x |= (uint64_t)(*q & 0x7f) << shift;
        if (*q < 0x80) {
            *v = x;
            r->p = q + 1;
            return 0;
        }
    }
    return pkc_reader_varuint(r, v);
}

/* pkc_reader_varbytes with the fast path above; errors (and the reader
 * left as it was) through pkc_reader_varbytes. */
static inline int yrd_varbytes(pkc_reader *r, const uint8_t **p, size_t *n)
{
    const uint8_t *at = r->p;
    uint64_t len;
    if (yrd_varuint(r, &len) == 0 && len <= (uint64_t)(r->end - r->p)) {
        *p = r->p;
        *n = (size_t)len;
        r->p += len;
        return 0;
    }
    r->p = at;
    return pkc_reader_varbytes(r, p, n);
}

/* pkc_buf_push_varuint, written in place when there is room (encoders
 * write several per struct). */
static inline int ywr_varuint(pkc_buf *b, uint64_t v)
{
    if (b->err == 0 && b->cap - b->len >= PKC_VARUINT_MAX_BYTES &&
        b->limit - b->len >= PKC_VARUINT_MAX_BYTES) {
        uint8_t *p = b->data + b->len;
        while (v >= 0x80) {
            *p++ = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        *p++ = (uint8_t)v;
        b->len = (size_t)(p - b->data);
        return 0;
    }
    return pkc_buf_push_varuint(b, v);
}

#endif
