/* text.h: UTF-8 validation and UTF-16 lengths, base64url, hex and
 * JavaScript array-index keys. */
#ifndef PKC_UTIL_TEXT_H
#define PKC_UTIL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. Returns 1 if valid; else 0 and, if `bad` is not NULL, the offset
 * of the first invalid byte. */
int pkc_utf8_valid(const uint8_t *s, size_t n, size_t *bad);

/* Number of UTF-16 code units of valid UTF-8 `s` (what JavaScript's
 * String.length reports): 2 for each code point above U+FFFF, else 1. */
size_t pkc_utf16_len(const uint8_t *s, size_t n);

/* base64url (RFC 4648 section 5), without padding. */
size_t pkc_base64url_encoded_len(size_t n);
/* Writes the encoding of `in` and a NUL; `out_size` must be at least
 * pkc_base64url_encoded_len(n) + 1. Returns the length without the NUL. */
size_t pkc_base64url_encode(char *out, size_t out_size, const void *in, size_t n);
/* Upper bound of the decoded size of `in_len` characters. */
size_t pkc_base64url_decoded_max(size_t in_len);
/* Decodes; accepts "=" padding only when complete and correct. Rejects
 * characters outside the base64url alphabet, impossible lengths and nonzero
 * unused bits (so every byte string has exactly one accepted encoding
 * without padding). Returns 0, PKC_ERR_MALFORMED, or PKC_ERR_TOO_LARGE if
 * the result does not fit in `out_size`. */
int pkc_base64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size,
                         size_t *out_len);

/* base32 (RFC 4648 section 6: A-Z 2-7), upper case, without padding: what a
 * QR code's alphanumeric mode holds in 5.5 bits a character. */
size_t pkc_base32_encoded_len(size_t n);
/* Writes the encoding of `in` and a NUL; `out_size` must be at least
 * pkc_base32_encoded_len(n) + 1. Returns the length without the NUL (0 and
 * an empty string if `out` is too small). */
size_t pkc_base32_encode(char *out, size_t out_size, const void *in, size_t n);
/* Upper bound of the decoded size of `in_len` characters. */
size_t pkc_base32_decoded_max(size_t in_len);
/* Decodes upper- or lower-case letters (each character on its own: a caller
 * that wants one case checks it). Rejects "=" padding and every other
 * character outside the alphabet, impossible lengths (1, 3 or 6 characters
 * modulo 8) and nonzero unused bits, so every byte string has exactly one
 * accepted encoding up to case. Returns 0, PKC_ERR_MALFORMED (pkc_errmsg()
 * gives the offending character's offset), or PKC_ERR_TOO_LARGE if the
 * result does not fit in `out_size`. */
int pkc_base32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size,
                      size_t *out_len);

/* The value of a hex digit (upper or lower case), or -1 for any other
 * character. */
static inline int pkc_hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Lower-case hex of `in` and a NUL into `out` (2n + 1 bytes). */
void pkc_hex_encode(char *out, const void *in, size_t n);
/* Accepts upper and lower case. PKC_ERR_MALFORMED for odd lengths or
 * non-hex characters, PKC_ERR_TOO_LARGE if out_size < in_len / 2. */
int pkc_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size, size_t *out_len);

/* Whether s[0..n) is a JavaScript array index: the canonical decimal form
 * of 0 to 4294967294 (no sign, no leading zero), the keys JavaScript puts
 * first in an object, ascending. Returns 1 and the index in *out, else 0
 * (*out unchanged). */
int pkc_js_index_parse(const char *s, size_t n, uint32_t *out);

#endif
