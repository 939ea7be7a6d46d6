/*
 * Fuzzes the QR code module of the command (cli/qr.c) with what a person
 * may hand `pkc join --qr-image`: any bytes as an image file.
 *
 * - qr_image_decode() (PNG by libpng, JPEG by libjpeg) either refuses with
 *   a known code and a message, or gives a width x height grey buffer
 *   within the pixel cap, every byte of which is read here (ASan sees a
 *   short buffer);
 * - qr_read_mem() (decode, then zbar) agrees with it: the same refusal, or
 *   a scan result (a text, or no QR code, or several);
 * - a text that was found encodes again (when it has no NUL and fits), and
 *   its terminal rendering draws back to the module matrix.
 *
 * libpng, libjpeg and zbar are Debian's uninstrumented builds: coverage
 * guides through qr.c only, and the checked-in seeds (PNG of every colour
 * type, interlaced, 16-bit, with alpha; baseline, progressive and grey
 * JPEG) are what reaches the decoders' corners.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qr.h"

/* Small, so that zbar scans quickly: a 256x256 image. */
#define FUZZ_MAX_PIXELS (256u * 256u)

static void must(int cond)
{
    if (!cond)
        abort();
}

static int known_code(int rc)
{
    return rc == QR_ERR_NOT_IMAGE || rc == QR_ERR_FORMAT || rc == QR_ERR_CORRUPT ||
           rc == QR_ERR_TOO_LARGE || rc == QR_ERR_NOMEM;
}

/* Checks qr_term_render() against the matrix: each cell's halves. */
static void check_render(const qr_code *qr, int margin, unsigned flags)
{
    char *s;
    size_t n;
    must(qr_term_render(qr, margin, flags, &s, &n) == 0);
    must(strlen(s) == n);
    int cols, rows;
    qr_term_size(qr, margin, &cols, &rows);
    int side = qr->size + 2 * margin;
    int ink = (flags & QR_TERM_COLOR) || !(flags & QR_TERM_INVERT);
    const char *p = s;
    for (int r = 0; r < rows; r++) {
        if (flags & QR_TERM_COLOR) {
            static const char on[] = "\x1b[30;107m\x1b[38;5;16;48;5;231m";
            must(memcmp(p, on, sizeof on - 1) == 0);
            p += sizeof on - 1;
        }
        for (int x = 0; x < cols; x++) {
            int top, bot;
            if (*p == ' ') {
                top = bot = 0;
                p++;
            } else {
                must(memcmp(p, "\xe2\x96", 2) == 0);
                top = p[2] == '\x80' || p[2] == '\x88';
                bot = p[2] == '\x84' || p[2] == '\x88';
                must(top || bot);
                p += 3;
            }
            for (int h = 0; h < 2; h++) {
                int y = 2 * r + h, got = h ? bot : top;
                if (y >= side) {
                    must(!got);
                    continue;
                }
                int mx = x - margin, my = y - margin, dark = 0;
                if (mx >= 0 && my >= 0 && mx < qr->size && my < qr->size)
                    dark = qr->modules[my * qr->size + mx];
                must(got == (dark == ink));
            }
        }
        if (flags & QR_TERM_COLOR) {
            must(memcmp(p, "\x1b[0m", 4) == 0);
            p += 4;
        }
        must(*p++ == '\n');
    }
    must(*p == '\0');
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    uint8_t *grey;
    unsigned w, h;
    int drc = qr_image_decode(data, size, FUZZ_MAX_PIXELS, &grey, &w, &h, err, sizeof err);
    if (drc == 0) {
        must(w > 0 && h > 0 && (size_t)w * h <= FUZZ_MAX_PIXELS);
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)w * h; i++)
            sum += grey[i];
        /* Keep the sum from being optimised away. */
        must(sum <= 255u * (size_t)w * h);
        free(grey);
    } else {
        must(known_code(drc) && grey == NULL && err[0] != '\0');
    }

    char *text;
    size_t len;
    int rc = qr_read_mem(data, size, FUZZ_MAX_PIXELS, &text, &len, err, sizeof err);
    if (drc != 0) {
        /* Same refusal (NOMEM may differ: it depends on the moment). */
        must(rc == drc || rc == QR_ERR_NOMEM || drc == QR_ERR_NOMEM);
        must(text == NULL);
        return 0;
    }
    if (rc != 0) {
        must(rc == QR_ERR_NO_QR || rc == QR_ERR_SEVERAL || rc == QR_ERR_NOMEM);
        must(text == NULL);
        return 0;
    }
    must(text != NULL && text[len] == '\0');
    qr_code qr;
    int erc = qr_encode(text, len, QR_LEVEL_AUTO, &qr, err, sizeof err);
    if (len == 0 || memchr(text, '\0', len))
        must(erc == QR_ERR_INVALID);
    else if (len > QR_MAX_TEXT)
        must(erc == QR_ERR_TOO_LONG);
    else
        must(erc == 0);
    if (erc == 0) {
        must(qr.size == 17 + 4 * qr.version && (qr.level == 'M' || qr.level == 'Q'));
        check_render(&qr, QR_QUIET_ZONE, 0);
        check_render(&qr, 1, QR_TERM_COLOR);
        check_render(&qr, 0, QR_TERM_INVERT);
        qr_code_free(&qr);
    }
    free(text);
    return 0;
}
