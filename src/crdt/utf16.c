/* utf16.c: UTF-16 lengths and offsets of UTF-8 content. */
#include "crdt/utf16.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* UTF-16                                                                   */

size_t yc_utf16_len(const uint8_t *s, size_t n, int *ascii)
{
    size_t units = 0, i = 0;
    int a = 1;
    /* runs of ASCII, eight bytes at a time */
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
        units += 8;
        i += 8;
    }
    for (; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x80) {
            a = 0;
            if ((c & 0xc0) != 0x80)
                units += c >= 0xf0 ? 2 : 1;
        } else {
            units++;
        }
    }
    if (ascii)
        *ascii = a;
    return units;
}

size_t yc_utf16_offset(const uint8_t *s, size_t n, size_t k, int *mid)
{
    size_t units = 0, i = 0;
    *mid = 0;
    while (i < n && units < k) {
        uint8_t c = s[i];
        size_t cl = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (cl == 4) {
            if (units + 1 == k) {
                *mid = 1;
                return i;
            }
            units += 2;
        } else {
            units++;
        }
        i += cl;
    }
    return i;
}
