/*
 * qr_web.c: QR codes for the page (docs/web.md, "Invitations made by a
 * page"): the symbol of an invitation's link, drawn by web/page/qr.js as
 * SVG. The native CLI draws its codes with libqrencode (cli/qr.c), which is
 * not built for WebAssembly; this is an encoder of ISO/IEC 18004 of its
 * own, small and without dependencies: error correction level M (as `pkc
 * invite`), the smallest version 1..40 that holds the text, the mask with
 * the lowest penalty, and the segments docs/protocol.md describes for an
 * invitation's link: the base in byte mode, the code (upper-case base32)
 * in alphanumeric mode, 5.5 bits a character.
 *
 * Pure: no clock, no randomness, no allocation. Checked by decoding what it
 * makes with zbar (tests/web/qr_check.c, web.qr).
 */
#include "pkc.h"
#include "util/err.h"

#include <stdint.h>
#include <string.h>

#define QR_VERSION_MAX 40
#define QR_SIZE_MAX (QR_VERSION_MAX * 4 + 17)
#define QR_DATA_BYTES_MAX 3706 /* raw codewords of version 40 */

/* Level M: error correction codewords per block, and blocks (index: version). */
static const uint8_t ECC_PER_BLOCK[QR_VERSION_MAX + 1] = {
    0,  10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
    26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28};
static const uint8_t ECC_BLOCKS[QR_VERSION_MAX + 1] = {
    0,  1,  1,  1,  2,  2,  4,  4,  4,  5,  5,  5,  8,  9,  9,  10, 10, 11, 13, 14, 16,
    17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49};
#define FORMAT_LEVEL_M 0 /* the level's two format bits */

static const char ALNUM[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

typedef struct qr {
    int size;
    uint8_t dark[QR_SIZE_MAX][QR_SIZE_MAX];
    uint8_t fixed[QR_SIZE_MAX][QR_SIZE_MAX]; /* function patterns: not data, not masked */
} qr;

typedef struct bits {
    uint8_t b[QR_DATA_BYTES_MAX];
    size_t n; /* bits */
} bits;

static void put_bits(bits *o, uint32_t v, int count)
{
    for (int i = count - 1; i >= 0; i--, o->n++)
        if ((v >> i) & 1)
            o->b[o->n >> 3] |= (uint8_t)(0x80 >> (o->n & 7));
}

static int raw_modules(int ver)
{
    int r = (16 * ver + 128) * ver + 64;
    if (ver >= 2) {
        int na = ver / 7 + 2;
        r -= (25 * na - 10) * na - 55;
        if (ver >= 7)
            r -= 36;
    }
    return r;
}

static int data_codewords(int ver)
{
    return raw_modules(ver) / 8 - ECC_PER_BLOCK[ver] * ECC_BLOCKS[ver];
}

static int alnum_value(char c)
{
    const char *p = c ? strchr(ALNUM, c) : NULL;
    return p ? (int)(p - ALNUM) : -1;
}

/* The segments: bytes [0, split) in byte mode, [split, len) alphanumeric
 * (split == len: one byte segment). Their bits at version `ver`. */
static size_t segment_bits(size_t split, size_t len, int ver)
{
    size_t b = 0;
    if (split > 0)
        b += 4 + (ver <= 9 ? 8 : 16) + 8 * split;
    if (len > split) {
        size_t n = len - split;
        b += 4 + (ver <= 9 ? 9 : ver <= 26 ? 11 : 13) + 11 * (n / 2) + 6 * (n % 2);
    }
    return b;
}

/* GF(256) with x^8 + x^4 + x^3 + x^2 + 1. */
static uint8_t gf_mul(uint8_t x, uint8_t y)
{
    unsigned z = 0;
    for (int i = 7; i >= 0; i--) {
        z = (z << 1) ^ ((z >> 7) * 0x11D);
        z ^= ((y >> i) & 1u) * x;
    }
    return (uint8_t)z;
}

static void rs_remainder(const uint8_t *data, int len, int degree, uint8_t *out)
{
    uint8_t div[32] = {0};
    div[degree - 1] = 1;
    uint8_t root = 1;
    for (int i = 0; i < degree; i++) {
        for (int j = 0; j < degree; j++) {
            div[j] = gf_mul(div[j], root);
            if (j + 1 < degree)
                div[j] ^= div[j + 1];
        }
        root = gf_mul(root, 0x02);
    }
    memset(out, 0, (size_t)degree);
    for (int k = 0; k < len; k++) {
        uint8_t f = data[k] ^ out[0];
        memmove(out, out + 1, (size_t)degree - 1);
        out[degree - 1] = 0;
        for (int j = 0; j < degree; j++)
            out[j] ^= gf_mul(div[j], f);
    }
}

static void set_fixed(qr *q, int x, int y, int dark)
{
    q->dark[y][x] = (uint8_t)(dark != 0);
    q->fixed[y][x] = 1;
}

static void finder(qr *q, int cx, int cy)
{
    for (int dy = -4; dy <= 4; dy++)
        for (int dx = -4; dx <= 4; dx++) {
            int x = cx + dx, y = cy + dy;
            int d = dx < 0 ? -dx : dx, e = dy < 0 ? -dy : dy;
            int m = d > e ? d : e;
            if (x >= 0 && x < q->size && y >= 0 && y < q->size)
                set_fixed(q, x, y, m != 2 && m != 4);
        }
}

static void format_bits(qr *q, int mask)
{
    int data = FORMAT_LEVEL_M << 3 | mask;
    int rem = data;
    for (int i = 0; i < 10; i++)
        rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    int b = (data << 10 | rem) ^ 0x5412;
    for (int i = 0; i <= 5; i++)
        set_fixed(q, 8, i, (b >> i) & 1);
    set_fixed(q, 8, 7, (b >> 6) & 1);
    set_fixed(q, 8, 8, (b >> 7) & 1);
    set_fixed(q, 7, 8, (b >> 8) & 1);
    for (int i = 9; i < 15; i++)
        set_fixed(q, 14 - i, 8, (b >> i) & 1);
    for (int i = 0; i < 8; i++)
        set_fixed(q, q->size - 1 - i, 8, (b >> i) & 1);
    for (int i = 8; i < 15; i++)
        set_fixed(q, 8, q->size - 15 + i, (b >> i) & 1);
    set_fixed(q, 8, q->size - 8, 1);
}

static void function_patterns(qr *q, int ver)
{
    int s = q->size;
    for (int i = 0; i < s; i++) {
        set_fixed(q, 6, i, i % 2 == 0);
        set_fixed(q, i, 6, i % 2 == 0);
    }
    finder(q, 3, 3);
    finder(q, s - 4, 3);
    finder(q, 3, s - 4);
    if (ver >= 2) {
        int na = ver / 7 + 2, pos[7];
        int step = (ver * 8 + na * 3 + 5) / (na * 4 - 4) * 2;
        pos[0] = 6;
        for (int i = na - 1, p = s - 7; i >= 1; i--, p -= step)
            pos[i] = p;
        for (int i = 0; i < na; i++)
            for (int j = 0; j < na; j++) {
                if ((i == 0 && j == 0) || (i == 0 && j == na - 1) || (i == na - 1 && j == 0))
                    continue;
                for (int dy = -2; dy <= 2; dy++)
                    for (int dx = -2; dx <= 2; dx++) {
                        int d = dx < 0 ? -dx : dx, e = dy < 0 ? -dy : dy;
                        set_fixed(q, pos[i] + dx, pos[j] + dy, (d > e ? d : e) != 1);
                    }
            }
    }
    format_bits(q, 0); /* reserves the area; drawn again with the mask */
    if (ver >= 7) {
        int rem = ver;
        for (int i = 0; i < 12; i++)
            rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
        long b = (long)ver << 12 | rem;
        for (int i = 0; i < 18; i++) {
            int bit = (int)((b >> i) & 1), a = s - 11 + i % 3, c = i / 3;
            set_fixed(q, a, c, bit);
            set_fixed(q, c, a, bit);
        }
    }
}

static int mask_bit(int m, int x, int y)
{
    switch (m) {
    case 0:
        return (x + y) % 2 == 0;
    case 1:
        return y % 2 == 0;
    case 2:
        return x % 3 == 0;
    case 3:
        return (x + y) % 3 == 0;
    case 4:
        return (x / 3 + y / 2) % 2 == 0;
    case 5:
        return x * y % 2 + x * y % 3 == 0;
    case 6:
        return (x * y % 2 + x * y % 3) % 2 == 0;
    default:
        return ((x + y) % 2 + x * y % 3) % 2 == 0;
    }
}

static void apply_mask(qr *q, int m)
{
    for (int y = 0; y < q->size; y++)
        for (int x = 0; x < q->size; x++)
            if (!q->fixed[y][x] && mask_bit(m, x, y))
                q->dark[y][x] ^= 1;
}

/* The penalty of ISO/IEC 18004 7.8.3: runs of 5 or more, 2x2 blocks,
 * finder-like 1:1:3:1:1 patterns with 4 light modules beside, and the
 * balance of dark modules. */
static long penalty(const qr *q)
{
    int s = q->size;
    long p = 0, dark = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < s; i++) {
            int run = 0, prev = -1;
            uint32_t window = 0;
            for (int j = 0; j < s; j++) {
                int d = pass ? q->dark[j][i] : q->dark[i][j];
                if (d == prev) {
                    run++;
                } else {
                    if (run >= 5)
                        p += 3 + run - 5;
                    run = 1;
                    prev = d;
                }
                window = ((window << 1) | (uint32_t)d) & 0x7FF;
                if (j >= 10 && (window == 0x5D0 || window == 0x05D))
                    p += 40;
            }
            if (run >= 5)
                p += 3 + run - 5;
        }
    for (int y = 0; y < s; y++)
        for (int x = 0; x < s; x++) {
            dark += q->dark[y][x];
            if (y + 1 < s && x + 1 < s) {
                int c = q->dark[y][x];
                if (q->dark[y][x + 1] == c && q->dark[y + 1][x] == c && q->dark[y + 1][x + 1] == c)
                    p += 3;
            }
        }
    long total = (long)s * s;
    long k = ((dark * 20 - total * 10 < 0 ? total * 10 - dark * 20 : dark * 20 - total * 10) +
              total - 1) /
                 total -
             1;
    return p + (k > 0 ? k : 0) * 10;
}

static qr g_qr; /* one symbol at a time: 62 kB kept off the stack */

/*
 * The QR code of `text` (`len` bytes): its modules, row by row, one byte
 * each (1 dark, 0 light), into `out` (at least size * size bytes: 177 * 177
 * always suffices), without the quiet zone. Returns the size (21..177), or
 * PKC_ERR_INVALID_ARG, PKC_ERR_TOO_LARGE (more than a version 40-M symbol
 * holds: 2331 bytes), with pkc_errmsg().
 */
PKC_API int pkcw_qr_encode(const char *text, size_t len, uint8_t *out, size_t out_size)
{
    if (text == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "qr: text and out are required");
    /* The longest tail of alphanumeric characters, if it pays for a
     * segment of its own. */
    size_t split = len;
    while (split > 0 && alnum_value(text[split - 1]) >= 0)
        split--;
    if (len - split < 24)
        split = len;
    int ver = 1;
    while (ver <= QR_VERSION_MAX && segment_bits(split, len, ver) > (size_t)data_codewords(ver) * 8)
        ver++;
    if (ver > QR_VERSION_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "qr: %zu bytes are more than a QR code holds", len);
    int size = ver * 4 + 17;
    if (out_size < (size_t)size * (size_t)size)
        return pkc_error(PKC_ERR_INVALID_ARG, "qr: out holds %zu modules, %d needed", out_size,
                         size * size);
    static bits d;
    memset(&d, 0, sizeof d);
    if (split > 0) {
        put_bits(&d, 0x4, 4);
        put_bits(&d, (uint32_t)split, ver <= 9 ? 8 : 16);
        for (size_t i = 0; i < split; i++)
            put_bits(&d, (uint8_t)text[i], 8);
    }
    if (len > split) {
        put_bits(&d, 0x2, 4);
        put_bits(&d, (uint32_t)(len - split), ver <= 9 ? 9 : ver <= 26 ? 11 : 13);
        for (size_t i = split; i + 1 < len; i += 2)
            put_bits(&d, (uint32_t)(alnum_value(text[i]) * 45 + alnum_value(text[i + 1])), 11);
        if ((len - split) % 2)
            put_bits(&d, (uint32_t)alnum_value(text[len - 1]), 6);
    }
    size_t cap = (size_t)data_codewords(ver) * 8;
    put_bits(&d, 0, cap - d.n < 4 ? (int)(cap - d.n) : 4);
    put_bits(&d, 0, (int)((8 - d.n % 8) % 8));
    for (uint8_t pad = 0xEC; d.n < cap; pad ^= 0xEC ^ 0x11)
        put_bits(&d, pad, 8);

    /* Blocks, their error correction, interleaved. */
    static uint8_t all[QR_DATA_BYTES_MAX];
    int nb = ECC_BLOCKS[ver], ecl = ECC_PER_BLOCK[ver], raw = raw_modules(ver) / 8;
    int nshort = nb - raw % nb, shortlen = raw / nb;
    uint8_t ecc[64][32];
    int start[64], dlen[64];
    for (int i = 0, k = 0; i < nb; i++) {
        dlen[i] = shortlen - ecl + (i < nshort ? 0 : 1);
        start[i] = k;
        rs_remainder(d.b + k, dlen[i], ecl, ecc[i]);
        k += dlen[i];
    }
    int n = 0;
    for (int j = 0; j < shortlen - ecl + 1; j++)
        for (int i = 0; i < nb; i++)
            if (j < dlen[i])
                all[n++] = d.b[start[i] + j];
    for (int j = 0; j < ecl; j++)
        for (int i = 0; i < nb; i++)
            all[n++] = ecc[i][j];

    qr *q = &g_qr;
    memset(q, 0, sizeof *q);
    q->size = size;
    function_patterns(q, ver);
    size_t bit = 0, nbits = (size_t)n * 8;
    for (int right = size - 1; right >= 1; right -= 2) {
        if (right == 6)
            right = 5;
        for (int v = 0; v < size; v++)
            for (int j = 0; j < 2; j++) {
                int x = right - j, up = ((right + 1) & 2) == 0, y = up ? size - 1 - v : v;
                if (!q->fixed[y][x] && bit < nbits) {
                    q->dark[y][x] = (all[bit >> 3] >> (7 - (bit & 7))) & 1;
                    bit++;
                }
            }
    }
    int best = 0;
    long best_p = -1;
    for (int m = 0; m < 8; m++) {
        apply_mask(q, m);
        format_bits(q, m);
        long p = penalty(q);
        if (best_p < 0 || p < best_p) {
            best_p = p;
            best = m;
        }
        apply_mask(q, m); /* undone */
    }
    apply_mask(q, best);
    format_bits(q, best);
    for (int y = 0; y < size; y++)
        memcpy(out + (size_t)y * (size_t)size, q->dark[y], (size_t)size);
    return size;
}
