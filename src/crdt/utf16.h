/* utf16.h: UTF-16 lengths and offsets of UTF-8 content (utf16.c). */
#ifndef PKC_CRDT_UTF16_H
#define PKC_CRDT_UTF16_H

#include <stddef.h>
#include <stdint.h>

/* UTF-16 length of UTF-8 bytes; and the byte offset of UTF-16 unit `k`
 * (*mid set when k falls between the halves of a surrogate pair, the offset
 * then being that of the 4-byte character). */
size_t yc_utf16_len(const uint8_t *s, size_t n, int *ascii);
size_t yc_utf16_offset(const uint8_t *s, size_t n, size_t k, int *mid);
/* U+FFFD in UTF-8 (3 bytes), what a split surrogate pair becomes. */
#define YC_U_FFFD "\xef\xbf\xbd"

#endif
