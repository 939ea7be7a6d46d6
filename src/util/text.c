/* text.c: UTF-8, base64url, base32, hex, JavaScript array indices. */
#include "util/text.h"

#include "util/err.h"

int pkc_utf8_valid(const uint8_t *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            goto invalid;
        }
        if (n - i < len)
            goto invalid;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                goto invalid;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto invalid;
        i += len;
    }
    return 1;
invalid:
    if (bad)
        *bad = i;
    return 0;
}

size_t pkc_utf16_len(const uint8_t *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if ((c & 0xc0) != 0x80)
            units += (c >= 0xf0) ? 2 : 1;
    }
    return units;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t pkc_base64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t pkc_base64url_encode(char *out, size_t out_size, const void *in, size_t n)
{
    const uint8_t *p = in;
    size_t need = pkc_base64url_encoded_len(n);
    if (out_size < need + 1) {
        if (out_size)
            out[0] = '\0';
        return 0;
    }
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

size_t pkc_base64url_decoded_max(size_t in_len)
{
    return in_len / 4 * 3 + 2;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int pkc_base64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size,
                         size_t *out_len)
{
    size_t len = in_len;
    /* Padding: only as the complete tail of a multiple of four. */
    if (len > 0 && in[len - 1] == '=') {
        size_t pad = 1 + (len > 1 && in[len - 2] == '=');
        if (len % 4 != 0)
            return pkc_error(PKC_ERR_MALFORMED, "base64url: bad padding");
        len -= pad;
        if (len % 4 != 4 - pad)
            return pkc_error(PKC_ERR_MALFORMED, "base64url: bad padding");
    }
    if (len % 4 == 1)
        return pkc_error(PKC_ERR_MALFORMED, "base64url: impossible length %zu", in_len);
    size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (n > out_size)
        return pkc_error(PKC_ERR_TOO_LARGE, "base64url: %zu bytes do not fit in %zu", n,
                         out_size);
    for (size_t i = 0; i < len; i++)
        if (b64url_value(in[i]) < 0)
            return pkc_error(PKC_ERR_MALFORMED, "base64url: invalid character at %zu", i);
    if (len % 4 && (b64url_value(in[len - 1]) & (len % 4 == 2 ? 0x0f : 0x03)) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "base64url: nonzero unused bits at the end");
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out_len = o;
    return 0;
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t pkc_base32_encoded_len(size_t n)
{
    return n / 5 * 8 + (n % 5 * 8 + 4) / 5;
}

size_t pkc_base32_encode(char *out, size_t out_size, const void *in, size_t n)
{
    const uint8_t *p = in;
    size_t need = pkc_base32_encoded_len(n);
    if (out_size < need + 1) {
        if (out_size)
            out[0] = '\0';
        return 0;
    }
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits)
        out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}

size_t pkc_base32_decoded_max(size_t in_len)
{
    return in_len / 8 * 5 + 4;
}

static int b32_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

int pkc_base32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size,
                      size_t *out_len)
{
    /* 8 characters hold 5 bytes; a tail of 2, 4, 5 or 7 holds 1, 2, 3 or 4. */
    static const signed char tail_bytes[8] = {0, -1, 1, -1, 2, 3, -1, 4};
    if (tail_bytes[in_len % 8] < 0)
        return pkc_error(PKC_ERR_MALFORMED, "base32: impossible length %zu", in_len);
    size_t n = in_len / 8 * 5 + (size_t)tail_bytes[in_len % 8];
    for (size_t i = 0; i < in_len; i++)
        if (b32_value(in[i]) < 0)
            return pkc_error(PKC_ERR_MALFORMED, "base32: offset %zu: '%c' is not A-Z or 2-7", i,
                             in[i] > 0x20 && in[i] < 0x7f ? in[i] : '?');
    /* The unused low bits of the last character: 5 * len - 8 * n of them. */
    unsigned unused = (unsigned)(5 * (in_len % 8) - 8 * (size_t)tail_bytes[in_len % 8]);
    if (in_len % 8 && (b32_value(in[in_len - 1]) & ((1 << unused) - 1)) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "base32: nonzero unused bits at the end");
    if (n > out_size)
        return pkc_error(PKC_ERR_TOO_LARGE, "base32: %zu bytes do not fit in %zu", n, out_size);
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < in_len; i++) {
        acc = (acc << 5) | (uint32_t)b32_value(in[i]);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    *out_len = o;
    return 0;
}

void pkc_hex_encode(char *out, const void *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int pkc_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size, size_t *out_len)
{
    if (in_len % 2)
        return pkc_error(PKC_ERR_MALFORMED, "hex: odd length %zu", in_len);
    if (in_len / 2 > out_size)
        return pkc_error(PKC_ERR_TOO_LARGE, "hex: %zu bytes do not fit in %zu", in_len / 2,
                         out_size);
    for (size_t i = 0; i < in_len; i++)
        if (pkc_hex_digit_value(in[i]) < 0)
            return pkc_error(PKC_ERR_MALFORMED, "hex: invalid character at %zu", i);
    for (size_t i = 0; i < in_len; i += 2)
        out[i / 2] = (uint8_t)(pkc_hex_digit_value(in[i]) << 4 | pkc_hex_digit_value(in[i + 1]));
    *out_len = in_len / 2;
    return 0;
}

int pkc_js_index_parse(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > 4294967294u)
        return 0;
    *out = (uint32_t)v;
    return 1;
}
