/*
 * buf.h: a growable byte buffer for writing and a bounds-checked reader, with
 * the integer and length-prefixed encodings of every pkc wire format.
 *
 * Variable-length integers and strings are lib0's (the encoding Yjs uses):
 *   varuint: 7 bits per byte, least significant group first, high bit set on
 *            every byte but the last.
 *   varint:  first byte = continue bit (0x80), sign bit (0x40), 6 low bits of
 *            the magnitude; then 7 bits per byte as varuint. Sign and
 *            magnitude, so "negative zero" (0x40) exists and is distinct.
 *   varbytes / varstring: varuint length, then that many bytes (strings are
 *            UTF-8).
 * Fixed-width integers are big-endian.
 *
 * Writer errors are sticky: after the first failure (out of memory, limit)
 * every push is a no-op returning the same error, so encoders may push a
 * whole message and check once. Readers never advance on failure.
 */
#ifndef PKC_UTIL_BUF_H
#define PKC_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"

/* Largest varuint is 10 bytes (64 bits / 7). */
#define PKC_VARUINT_MAX_BYTES 10

typedef struct pkc_buf {
    uint8_t *data; /* owned; NULL until the first push */
    size_t len;
    size_t cap;
    size_t limit; /* maximum len; pushes beyond fail with PKC_ERR_TOO_LARGE */
    int err;      /* first error, sticky */
} pkc_buf;

#define PKC_BUF_INIT {NULL, 0, 0, SIZE_MAX, 0}

void pkc_buf_init(pkc_buf *b);
void pkc_buf_init_limit(pkc_buf *b, size_t limit);
/* Frees the memory and makes `b` empty again (reusable). */
void pkc_buf_free(pkc_buf *b);
/* len = 0 and clears the error; keeps the memory. */
void pkc_buf_reset(pkc_buf *b);
/* Hands the bytes to the caller (free() them); `b` becomes empty.
 * Returns NULL when empty. */
uint8_t *pkc_buf_steal(pkc_buf *b, size_t *len);

int pkc_buf_reserve(pkc_buf *b, size_t extra);
int pkc_buf_push(pkc_buf *b, const void *p, size_t n);
int pkc_buf_push_u8(pkc_buf *b, uint8_t v);
int pkc_buf_push_u16be(pkc_buf *b, uint16_t v);
int pkc_buf_push_u32be(pkc_buf *b, uint32_t v);
int pkc_buf_push_u64be(pkc_buf *b, uint64_t v);
int pkc_buf_push_varuint(pkc_buf *b, uint64_t v);
int pkc_buf_push_varint(pkc_buf *b, int64_t v);
/* lib0 varint from sign and magnitude; (1, 0) writes negative zero. */
int pkc_buf_push_varint_sm(pkc_buf *b, int negative, uint64_t magnitude);
int pkc_buf_push_varbytes(pkc_buf *b, const void *p, size_t n);
int pkc_buf_push_varstring(pkc_buf *b, const char *s, size_t n);
int pkc_buf_push_cstring(pkc_buf *b, const char *s); /* varstring of strlen(s) */

/* A block whose length is only known after its content is written:
 *   size_t mark = pkc_buf_block_begin(b); ...pushes...; pkc_buf_block_end(b, mark);
 * inserts the varuint length of everything pushed since `mark` at `mark`. */
size_t pkc_buf_block_begin(const pkc_buf *b);
int pkc_buf_block_end(pkc_buf *b, size_t mark);

/* Bytes a varuint of `v` takes. */
size_t pkc_varuint_size(uint64_t v);

typedef struct pkc_reader {
    const uint8_t *start; /* for offsets in error messages */
    const uint8_t *p;
    const uint8_t *end;
} pkc_reader;

void pkc_reader_init(pkc_reader *r, const void *data, size_t len);
size_t pkc_reader_left(const pkc_reader *r);
size_t pkc_reader_offset(const pkc_reader *r);

/* All return 0 or PKC_ERR_TRUNCATED / PKC_ERR_RANGE / PKC_ERR_MALFORMED,
 * with the offset in pkc_errmsg(). Pointers returned borrow the input. */
int pkc_reader_u8(pkc_reader *r, uint8_t *v);
int pkc_reader_u16be(pkc_reader *r, uint16_t *v);
int pkc_reader_u32be(pkc_reader *r, uint32_t *v);
int pkc_reader_u64be(pkc_reader *r, uint64_t *v);
int pkc_reader_bytes(pkc_reader *r, size_t n, const uint8_t **out);
int pkc_reader_copy(pkc_reader *r, void *dst, size_t n);
int pkc_reader_skip(pkc_reader *r, size_t n);
/* Fails with PKC_ERR_RANGE if the value does not fit in 64 bits. Accepts
 * non-minimal encodings, as lib0 does. */
int pkc_reader_varuint(pkc_reader *r, uint64_t *v);
/* As pkc_reader_varuint, and PKC_ERR_RANGE if the value exceeds `max`. */
int pkc_reader_varuint_max(pkc_reader *r, uint64_t max, uint64_t *v);
/* `negative` (may be NULL) is set for every negative value and for negative
 * zero. PKC_ERR_RANGE if the value does not fit in int64_t. */
int pkc_reader_varint(pkc_reader *r, int64_t *v, int *negative);
/* varuint length then bytes; PKC_ERR_TRUNCATED if the length exceeds what is
 * left, checked before anything else. */
int pkc_reader_varbytes(pkc_reader *r, const uint8_t **p, size_t *n);
/* As varbytes, and PKC_ERR_MALFORMED unless the bytes are valid UTF-8. */
int pkc_reader_varstring(pkc_reader *r, const char **s, size_t *n);
/* A varuint length-prefixed block as a reader of its own. */
int pkc_reader_block(pkc_reader *r, pkc_reader *sub);
/* PKC_ERR_MALFORMED if bytes are left ("N trailing bytes"). */
int pkc_reader_finish(const pkc_reader *r);

#endif
