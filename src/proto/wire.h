/*
 * wire.h: strict reading for pkc's own wire formats, over util/buf.h.
 *
 * pkc's frames and handshake are canonical: varuints must be minimal (lib0
 * readers accept longer forms; these do not), so that an accepted message
 * re-encodes to the same bytes and a signature covers exactly one reading.
 * Every failure names the field: "<what>: offset N: ...".
 */
#ifndef PKC_PROTO_WIRE_H
#define PKC_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* A minimal varuint no larger than `max`. */
int pkc_wire_varuint(pkc_reader *r, uint64_t max, uint64_t *v, const char *what);
/* The common case of pkc_wire_varuint, inline: a minimal varuint of at most
 * 8 bytes (56 bits) at `p`, before `end`. Returns its length, or 0 for
 * anything else (longer, not minimal, cut short): then pkc_wire_varuint
 * gives the verdict and the error. The caller checks the value's range. */
static inline size_t pkc_wire_varuint_quick(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    if (p < end && *p < 0x80) { /* one byte: most frame types and lengths */
        *v = *p;
        return 1;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < 8 && i < (size_t)(end - p); i++) {
        uint8_t b = p[i];
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (b == 0 && i > 0)
                return 0;
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

/* A varuint length (minimal, at most `max`) then that many bytes. */
int pkc_wire_varbytes(pkc_reader *r, size_t max, pkc_bytes *out, const char *what);
/* As pkc_wire_varbytes, and the bytes must be valid UTF-8. */
int pkc_wire_varstring(pkc_reader *r, size_t max, pkc_bytes *out, const char *what);
/* Exactly `n` bytes. */
int pkc_wire_fixed(pkc_reader *r, size_t n, const uint8_t **out, const char *what);
int pkc_wire_u8(pkc_reader *r, uint8_t *v, const char *what);
int pkc_wire_u64be(pkc_reader *r, uint64_t *v, const char *what);
/* An extension list: varuint count (at most `max_count`), then count times
 * (varuint type, varbytes value of at most `max_value`). Unknown types are
 * kept as raw bytes in *out (the whole list, count included). */
int pkc_wire_extensions(pkc_reader *r, size_t max_count, size_t max_value, pkc_bytes *out,
                        const char *what);
/* The end of a message: nothing may follow. */
int pkc_wire_end(const pkc_reader *r, const char *what);

#endif
