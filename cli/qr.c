/* qr.c: QR codes: libqrencode to encode, half blocks for the terminal,
 * libpng to write and read, libjpeg to read, zbar to find the symbol. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <qrencode.h>
#include <zbar.h>

#include "qr.h"

#if defined(__GNUC__)
#define QR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define QR_PRINTF(a, b)
#endif

static int fail(int code, char *err, size_t errsize, const char *fmt, ...) QR_PRINTF(4, 5);

static int fail(int code, char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *qr_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case QR_ERR_INVALID:
        return "invalid argument";
    case QR_ERR_TOO_LONG:
        return "text too long for a QR code";
    case QR_ERR_NOMEM:
        return "out of memory";
    case QR_ERR_IO:
        return "input/output error";
    case QR_ERR_NOT_IMAGE:
        return "not an image";
    case QR_ERR_FORMAT:
        return "unsupported image format";
    case QR_ERR_CORRUPT:
        return "damaged or truncated image";
    case QR_ERR_TOO_LARGE:
        return "image too large";
    case QR_ERR_NO_QR:
        return "no QR code found";
    case QR_ERR_SEVERAL:
        return "several different QR codes found";
    case QR_ERR_NO_READER:
        return "no QR code reader (zbar) installed";
    default:
        return "unknown error";
    }
}

/* ---- encoding ------------------------------------------------------------- */

void qr_code_free(qr_code *qr)
{
    if (qr == NULL)
        return;
    free(qr->modules);
    memset(qr, 0, sizeof *qr);
}

/* libqrencode wants a C string; `version` is the smallest to use. */
static QRcode *encode_at(const char *s, int version, QRecLevel level)
{
    /* QR_MODE_8 as the hint: no Kanji mode (it would reinterpret Shift-JIS
     * looking byte pairs); case-sensitive, or libqrencode upper-cases the
     * text to fit alphanumeric mode. */
    return QRcode_encodeString(s, version, level, QR_MODE_8, 1);
}

int qr_encode(const char *text, size_t len, qr_level level, qr_code *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    if (text == NULL || len == 0)
        return fail(QR_ERR_INVALID, err, errsize, "empty text");
    if (level != QR_LEVEL_AUTO && level != QR_LEVEL_M && level != QR_LEVEL_Q)
        return fail(QR_ERR_INVALID, err, errsize, "unknown error-correction level %d", (int)level);
    if (len > QR_MAX_TEXT)
        return fail(QR_ERR_TOO_LONG, err, errsize, "%zu bytes of text; a QR code here holds %d",
                    len, QR_MAX_TEXT);
    if (memchr(text, '\0', len))
        return fail(QR_ERR_INVALID, err, errsize, "a NUL byte at offset %zu of the text",
                    (size_t)((const char *)memchr(text, '\0', len) - text));
    char *s = malloc(len + 1);
    if (s == NULL)
        return fail(QR_ERR_NOMEM, err, errsize, "out of memory");
    memcpy(s, text, len);
    s[len] = '\0';

    QRcode *c = encode_at(s, 0, level == QR_LEVEL_Q ? QR_ECLEVEL_Q : QR_ECLEVEL_M);
    char lv = level == QR_LEVEL_Q ? 'Q' : 'M';
    if (c && level == QR_LEVEL_AUTO) {
        /* Q when it costs no extra modules. */
        QRcode *q = encode_at(s, c->version, QR_ECLEVEL_Q);
        if (q && q->version == c->version) {
            QRcode_free(c);
            c = q;
            lv = 'Q';
        } else {
            QRcode_free(q);
        }
    }
    int e = errno;
    free(s);
    if (c == NULL) {
        if (e == ERANGE)
            return fail(QR_ERR_TOO_LONG, err, errsize,
                        "%zu bytes of text do not fit a QR code at level %c", len, lv);
        return fail(QR_ERR_NOMEM, err, errsize, "libqrencode: %s", strerror(e));
    }
    size_t n = (size_t)c->width * (size_t)c->width;
    out->modules = malloc(n);
    if (out->modules == NULL) {
        QRcode_free(c);
        return fail(QR_ERR_NOMEM, err, errsize, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        out->modules[i] = c->data[i] & 1; /* bit 0: dark; the others are libqrencode's */
    out->version = c->version;
    out->size = c->width;
    out->level = lv;
    QRcode_free(c);
    return 0;
}

/* Dark at (x, y) of the symbol with its quiet zone; outside is light. */
static int dark_at(const qr_code *qr, int margin, int x, int y)
{
    x -= margin;
    y -= margin;
    if (x < 0 || y < 0 || x >= qr->size || y >= qr->size)
        return 0;
    return qr->modules[(size_t)y * (size_t)qr->size + (size_t)x];
}

static int valid_code(const qr_code *qr)
{
    return qr && qr->modules && qr->size >= 21 && qr->size <= 177;
}

/* ---- terminal ------------------------------------------------------------- */

void qr_term_size(const qr_code *qr, int margin, int *cols, int *rows)
{
    int side = qr->size + 2 * margin;
    *cols = side;
    *rows = (side + 1) / 2;
}

/* Black on white: 16-colour first (bright white background: plain 47 is a
 * grey on many themes), then the 256-colour cube's pure black and white,
 * which themes leave alone; a terminal that lacks 256 colours ignores that
 * part and keeps the first. */
#define SGR_ON "\x1b[30;107m\x1b[38;5;16;48;5;231m"
#define SGR_OFF "\x1b[0m"

int qr_term_render(const qr_code *qr, int margin, unsigned flags, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    if (!valid_code(qr) || margin < 0 || margin > 16 || (flags & ~3u))
        return QR_ERR_INVALID;
    int color = (flags & QR_TERM_COLOR) != 0;
    /* In colour the glyphs are always the dark modules (foreground black). */
    int ink = color || !(flags & QR_TERM_INVERT);
    int cols, rows;
    qr_term_size(qr, margin, &cols, &rows);
    /* Each cell is at most 3 bytes of UTF-8. */
    size_t line = (size_t)cols * 3 + (color ? sizeof SGR_ON + sizeof SGR_OFF : 0) + 1;
    size_t cap = line * (size_t)rows + 1;
    char *b = malloc(cap);
    if (b == NULL)
        return QR_ERR_NOMEM;
    size_t n = 0;
    int side = cols;
    for (int r = 0; r < rows; r++) {
        if (color) {
            memcpy(b + n, SGR_ON, sizeof SGR_ON - 1);
            n += sizeof SGR_ON - 1;
        }
        for (int x = 0; x < cols; x++) {
            int y = 2 * r;
            int top = dark_at(qr, margin, x, y) == ink;
            /* An odd side leaves the lower half of the last line outside the
             * symbol and its quiet zone: draw it as background (not ink) so
             * that it reads as light in colour and as nothing in plain. */
            int bot = y + 1 < side ? dark_at(qr, margin, x, y + 1) == ink : 0;
            const char *g =
                top ? (bot ? "\xe2\x96\x88" : "\xe2\x96\x80") : (bot ? "\xe2\x96\x84" : " ");
            size_t gl = strlen(g);
            memcpy(b + n, g, gl);
            n += gl;
        }
        if (color) {
            memcpy(b + n, SGR_OFF, sizeof SGR_OFF - 1);
            n += sizeof SGR_OFF - 1;
        }
        b[n++] = '\n';
    }
    b[n] = '\0';
    *out = b;
    if (len)
        *len = n;
    return 0;
}

int qr_term_want_color(int fd)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && nc[0] != '\0')
        return 0;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        return 0;
    return isatty(fd);
}

/* ---- PNG writing ---------------------------------------------------------- */

typedef struct png_err_ctx {
    jmp_buf jmp;
    char msg[160];
} png_err_ctx;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_err_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
    longjmp(ctx->jmp, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

int qr_png_write(const qr_code *qr, const char *path, int module_px, int margin, unsigned flags,
                 char *err, size_t errsize)
{
    if (!valid_code(qr) || path == NULL || module_px < 1 || module_px > 64 || margin < 0 ||
        margin > 16 || (flags & ~QR_PNG_GREY8))
        return fail(QR_ERR_INVALID, err, errsize,
                    "invalid PNG parameters (module %d px, margin %d)", module_px, margin);
    int grey8 = (flags & QR_PNG_GREY8) != 0;
    unsigned side = (unsigned)(qr->size + 2 * margin) * (unsigned)module_px;
    size_t rowbytes = grey8 ? side : (side + 7) / 8;
    /* volatile: both are set after setjmp and read after a longjmp. */
    png_bytep volatile row = NULL;
    FILE *volatile f = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    png_err_ctx ctx;
    ctx.msg[0] = '\0';

    f = fopen(path, "wb");
    if (f == NULL)
        return fail(QR_ERR_IO, err, errsize, "%s: %s", path, strerror(errno));
    row = malloc(rowbytes);
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    if (png)
        info = png_create_info_struct(png);
    if (row == NULL || png == NULL || info == NULL) {
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(f);
        remove(path);
        return fail(QR_ERR_NOMEM, err, errsize, "out of memory");
    }
    if (setjmp(ctx.jmp)) {
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(f);
        remove(path);
        return fail(QR_ERR_IO, err, errsize, "%s: %s", path, ctx.msg);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, side, side, grey8 ? 8 : 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int full = qr->size + 2 * margin;
    for (int my = 0; my < full; my++) {
        memset(row, 0xff, rowbytes); /* light */
        for (int mx = 0; mx < full; mx++) {
            if (!dark_at(qr, margin, mx, my))
                continue;
            for (int p = 0; p < module_px; p++) {
                unsigned x = (unsigned)mx * (unsigned)module_px + (unsigned)p;
                if (grey8)
                    row[x] = 0;
                else
                    row[x / 8] &= (png_byte) ~(0x80u >> (x % 8));
            }
        }
        for (int p = 0; p < module_px; p++)
            png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        int e = errno;
        remove(path);
        return fail(QR_ERR_IO, err, errsize, "%s: %s", path, strerror(e));
    }
    return 0;
}

/* ---- image decoding ------------------------------------------------------- */

/* Other formats a person may hand us, named in the refusal. */
static const char *other_format(const uint8_t *d, size_t n)
{
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return "GIF";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return "WebP";
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        if (memcmp(d + 8, "avif", 4) == 0 || memcmp(d + 8, "avis", 4) == 0)
            return "AVIF";
        if (memcmp(d + 8, "hei", 3) == 0 || memcmp(d + 8, "mif1", 4) == 0 ||
            memcmp(d + 8, "hev", 3) == 0 || memcmp(d + 8, "msf1", 4) == 0)
            return "HEIC/HEIF";
    }
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return "TIFF";
    if (n >= 2 && memcmp(d, "BM", 2) == 0 && n >= 14)
        return "BMP";
    if (n >= 4 && memcmp(d, "\0\0\1\0", 4) == 0)
        return "ICO";
    if (n >= 5 && memcmp(d, "<?xml", 5) == 0)
        return "XML (SVG?)";
    if (n >= 4 && memcmp(d, "<svg", 4) == 0)
        return "SVG";
    if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' &&
        (d[2] == '\n' || d[2] == ' ' || d[2] == '\r' || d[2] == '\t'))
        return "PNM";
    if (n >= 4 && memcmp(d, "\xff\x0a", 2) == 0)
        return "JPEG XL";
    if (n >= 12 && memcmp(d, "\0\0\0\x0cJXL \r\n\x87\n", 12) == 0)
        return "JPEG XL";
    return NULL;
}

static int check_pixels(unsigned w, unsigned h, size_t max_pixels, const char *what, char *err,
                        size_t errsize)
{
    if (w == 0 || h == 0)
        return fail(QR_ERR_CORRUPT, err, errsize, "%s: image of %ux%u pixels", what, w, h);
    if ((uint64_t)w * h > (uint64_t)max_pixels)
        return fail(QR_ERR_TOO_LARGE, err, errsize,
                    "%s image of %ux%u pixels; at most %zu pixels are read", what, w, h,
                    max_pixels);
    return 0;
}

static int decode_png(const uint8_t *data, size_t n, size_t max_pixels, uint8_t **grey,
                      unsigned *width, unsigned *height, char *err, size_t errsize)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, n)) {
        int rc = fail(QR_ERR_CORRUPT, err, errsize, "PNG: %s", img.message);
        png_image_free(&img);
        return rc;
    }
    int rc = check_pixels(img.width, img.height, max_pixels, "PNG", err, errsize);
    if (rc) {
        png_image_free(&img);
        return rc;
    }
    img.format = PNG_FORMAT_GRAY;
    uint8_t *buf = malloc((size_t)img.width * img.height);
    if (buf == NULL) {
        png_image_free(&img);
        return fail(QR_ERR_NOMEM, err, errsize, "out of memory for %ux%u pixels", img.width,
                    img.height);
    }
    /* Transparency is composited on white: a QR code drawn in black on a
     * transparent background must not turn into black on black. */
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&img, &white, buf, (png_int_32)img.width, NULL)) {
        rc = fail(QR_ERR_CORRUPT, err, errsize, "PNG: %s", img.message);
        png_image_free(&img);
        free(buf);
        return rc;
    }
    *grey = buf;
    *width = img.width;
    *height = img.height;
    return 0;
}

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jmp;
    int truncated;
    char msg[JMSG_LENGTH_MAX];
} jpeg_ctx;

/* A progressive JPEG can hold thousands of scans, each a pass over the
 * whole image: a few kilobytes that take minutes. Real ones have about 10. */
#define JPEG_MAX_SCANS 100

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
    longjmp(ctx->jmp, 1);
}

static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
    /* Warnings are level -1. libjpeg pads a truncated file with grey and
     * only warns; a file cut short is refused like a truncated PNG. */
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        ctx->truncated = 1;
}

static void jpeg_on_progress(j_common_ptr cinfo)
{
    if (cinfo->is_decompressor) {
        j_decompress_ptr d = (j_decompress_ptr)cinfo;
        if (d->input_scan_number > JPEG_MAX_SCANS) {
            jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
            snprintf(ctx->msg, sizeof ctx->msg, "more than %d scans", JPEG_MAX_SCANS);
            longjmp(ctx->jmp, 1);
        }
    }
}

static int decode_jpeg(const uint8_t *data, size_t n, size_t max_pixels, uint8_t **grey,
                       unsigned *width, unsigned *height, char *err, size_t errsize)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_ctx ctx;
    /* volatile: set after setjmp, read after a longjmp. */
    uint8_t *volatile buf = NULL;
    volatile int rc = 0;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&ctx, 0, sizeof ctx);
    cinfo.err = jpeg_std_error(&ctx.pub);
    ctx.pub.error_exit = jpeg_on_error;
    ctx.pub.emit_message = jpeg_on_message;
    if (setjmp(ctx.jmp)) {
        if (rc == 0 && ctx.truncated)
            rc = fail(QR_ERR_CORRUPT, err, errsize, "JPEG: the file is truncated (%s)", ctx.msg);
        else if (rc == 0)
            rc = fail(QR_ERR_CORRUPT, err, errsize, "JPEG: %s", ctx.msg);
        jpeg_destroy_decompress(&cinfo);
        free(buf);
        return rc;
    }
    jpeg_create_decompress(&cinfo);
    ctx.progress.progress_monitor = jpeg_on_progress;
    cinfo.progress = &ctx.progress;
    /* libjpeg's own allocations (a progressive image keeps all its
     * coefficients, 2 bytes a sample) are bounded by the pixel cap. */
    cinfo.mem->max_memory_to_use = 1024L * 1024 * 1024;
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    if (ctx.truncated) {
        rc = fail(QR_ERR_CORRUPT, err, errsize, "JPEG: the file ends inside its header");
        longjmp(ctx.jmp, 1);
    }
    if (cinfo.data_precision != 8) {
        rc = fail(QR_ERR_FORMAT, err, errsize, "JPEG with %d-bit samples; only 8-bit is read",
                  cinfo.data_precision);
        longjmp(ctx.jmp, 1);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        rc = fail(QR_ERR_FORMAT, err, errsize, "CMYK JPEG; save it as RGB or grey");
        longjmp(ctx.jmp, 1);
    }
    if (cinfo.num_components != 1 && cinfo.num_components != 3) {
        rc = fail(QR_ERR_FORMAT, err, errsize, "JPEG with %d components", cinfo.num_components);
        longjmp(ctx.jmp, 1);
    }
    int prc = check_pixels(cinfo.image_width, cinfo.image_height, max_pixels, "JPEG", err, errsize);
    if (prc) {
        rc = prc;
        longjmp(ctx.jmp, 1);
    }
    /* libjpeg converts YCbCr to grey by taking Y; RGB JPEGs are weighted. */
    cinfo.out_color_space = JCS_GRAYSCALE;
    jpeg_start_decompress(&cinfo);
    unsigned w = cinfo.output_width, h = cinfo.output_height;
    if (cinfo.output_components != 1 || (uint64_t)w * h > (uint64_t)max_pixels) {
        rc = fail(QR_ERR_FORMAT, err, errsize, "JPEG decodes to %d components",
                  cinfo.output_components);
        longjmp(ctx.jmp, 1);
    }
    buf = malloc((size_t)w * h);
    if (buf == NULL) {
        rc = fail(QR_ERR_NOMEM, err, errsize, "out of memory for %ux%u pixels", w, h);
        longjmp(ctx.jmp, 1);
    }
    while (cinfo.output_scanline < h) {
        JSAMPROW row = buf + (size_t)cinfo.output_scanline * w;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1)
            break;
    }
    if (ctx.truncated || cinfo.output_scanline < h) {
        rc = fail(QR_ERR_CORRUPT, err, errsize, "JPEG: the file is truncated (%ux%u pixels)", w, h);
        longjmp(ctx.jmp, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (ctx.truncated) {
        free(buf);
        return fail(QR_ERR_CORRUPT, err, errsize, "JPEG: the file is truncated");
    }
    *grey = buf;
    *width = w;
    *height = h;
    return 0;
}

int qr_image_decode(const uint8_t *data, size_t n, size_t max_pixels, uint8_t **grey,
                    unsigned *width, unsigned *height, char *err, size_t errsize)
{
    *grey = NULL;
    *width = *height = 0;
    if (max_pixels == 0)
        max_pixels = QR_MAX_PIXELS;
    if (n >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return decode_png(data, n, max_pixels, grey, width, height, err, errsize);
    if (n >= 3 && memcmp(data, "\xff\xd8\xff", 3) == 0)
        return decode_jpeg(data, n, max_pixels, grey, width, height, err, errsize);
    const char *fmt = other_format(data, n);
    if (fmt)
        return fail(QR_ERR_FORMAT, err, errsize, "a %s image; PNG and JPEG are read", fmt);
    if (n == 0)
        return fail(QR_ERR_NOT_IMAGE, err, errsize, "an empty file, not an image");
    return fail(QR_ERR_NOT_IMAGE, err, errsize, "not a PNG or JPEG image");
}

/* ---- reading -------------------------------------------------------------- */

/* zbar is loaded when a code is first read (dlopen), not linked: it pulls in
 * X11, D-Bus, systemd and video libraries that every `pkc up` process would
 * otherwise map (about 1.5 MB of resident memory for nothing: docs/qr.md). */
static struct {
    int tried;
    void *lib;
    zbar_image_scanner_t *(*scanner_create)(void);
    void (*scanner_destroy)(zbar_image_scanner_t *);
    int (*scanner_set_config)(zbar_image_scanner_t *, zbar_symbol_type_t, zbar_config_t, int);
    zbar_image_t *(*image_create)(void);
    void (*image_destroy)(zbar_image_t *);
    void (*image_set_format)(zbar_image_t *, unsigned long);
    void (*image_set_size)(zbar_image_t *, unsigned, unsigned);
    void (*image_set_data)(zbar_image_t *, const void *, unsigned long, zbar_image_cleanup_handler_t *);
    int (*scan_image)(zbar_image_scanner_t *, zbar_image_t *);
    const zbar_symbol_t *(*image_first_symbol)(const zbar_image_t *);
    const zbar_symbol_t *(*symbol_next)(const zbar_symbol_t *);
    zbar_symbol_type_t (*symbol_get_type)(const zbar_symbol_t *);
    const char *(*symbol_get_data)(const zbar_symbol_t *);
    unsigned (*symbol_get_data_length)(const zbar_symbol_t *);
    char why[200];
} zb;

static int zbar_load(char *err, size_t errsize)
{
    if (!zb.tried) {
        zb.tried = 1;
        zb.lib = dlopen(PKC_ZBAR_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (zb.lib == NULL) {
            snprintf(zb.why, sizeof zb.why, "%s", dlerror());
        } else {
#define ZB(field, name)                                                                        \
    if ((*(void **)&zb.field = dlsym(zb.lib, name)) == NULL && zb.why[0] == '\0')               \
        snprintf(zb.why, sizeof zb.why, "%s: no symbol %s", PKC_ZBAR_SONAME, name);
            ZB(scanner_create, "zbar_image_scanner_create")
            ZB(scanner_destroy, "zbar_image_scanner_destroy")
            ZB(scanner_set_config, "zbar_image_scanner_set_config")
            ZB(image_create, "zbar_image_create")
            ZB(image_destroy, "zbar_image_destroy")
            ZB(image_set_format, "zbar_image_set_format")
            ZB(image_set_size, "zbar_image_set_size")
            ZB(image_set_data, "zbar_image_set_data")
            ZB(scan_image, "zbar_scan_image")
            ZB(image_first_symbol, "zbar_image_first_symbol")
            ZB(symbol_next, "zbar_symbol_next")
            ZB(symbol_get_type, "zbar_symbol_get_type")
            ZB(symbol_get_data, "zbar_symbol_get_data")
            ZB(symbol_get_data_length, "zbar_symbol_get_data_length")
#undef ZB
        }
    }
    if (zb.lib == NULL || zb.why[0])
        return fail(QR_ERR_NO_READER, err, errsize,
                    "cannot read QR codes: zbar is not available (%s; Debian package libzbar0)",
                    zb.why);
    return 0;
}

static int scan(uint8_t *grey, unsigned w, unsigned h, char **text, size_t *len, char *err,
                size_t errsize)
{
    if (zbar_load(err, errsize) != 0)
        return QR_ERR_NO_READER;
    zbar_image_scanner_t *sc = zb.scanner_create();
    zbar_image_t *img = zb.image_create();
    if (sc == NULL || img == NULL) {
        if (sc)
            zb.scanner_destroy(sc);
        if (img)
            zb.image_destroy(img);
        return fail(QR_ERR_NOMEM, err, errsize, "out of memory");
    }
    zb.scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
    zb.scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    /* The bytes as encoded: without this zbar guesses a character set
     * (Shift-JIS, ISO 8859-1, UTF-8) and converts to UTF-8 with iconv. */
    zb.scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1);
    /* Light on dark (a plain rendering on a dark terminal) when dark on
     * light finds nothing. */
    zb.scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_TEST_INVERTED, 1);
    zb.image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
    zb.image_set_size(img, w, h);
    /* No cleanup handler: the buffer stays ours. */
    zb.image_set_data(img, grey, (unsigned long)w * h, NULL);
    int found = zb.scan_image(sc, img);
    int rc = 0;
    const char *first = NULL;
    unsigned first_len = 0;
    int distinct = 0;
    if (found < 0) {
        rc = fail(QR_ERR_NOMEM, err, errsize, "zbar failed to scan the image");
        goto out;
    }
    for (const zbar_symbol_t *s = zb.image_first_symbol(img); s; s = zb.symbol_next(s)) {
        if (zb.symbol_get_type(s) != ZBAR_QRCODE)
            continue;
        const char *d = zb.symbol_get_data(s);
        unsigned dl = zb.symbol_get_data_length(s);
        if (first == NULL) {
            first = d;
            first_len = dl;
            distinct = 1;
        } else if (dl != first_len || memcmp(d, first, dl) != 0) {
            distinct++;
        }
    }
    if (first == NULL) {
        rc = fail(QR_ERR_NO_QR, err, errsize, "no QR code found in the %ux%u image", w, h);
        goto out;
    }
    if (distinct > 1) {
        rc = fail(QR_ERR_SEVERAL, err, errsize,
                  "%d different QR codes in the image; crop it to the one to read", distinct);
        goto out;
    }
    *text = malloc((size_t)first_len + 1);
    if (*text == NULL) {
        rc = fail(QR_ERR_NOMEM, err, errsize, "out of memory");
        goto out;
    }
    memcpy(*text, first, first_len);
    (*text)[first_len] = '\0';
    *len = first_len;
out:
    zb.image_destroy(img);
    zb.scanner_destroy(sc);
    return rc;
}

int qr_read_mem(const uint8_t *data, size_t n, size_t max_pixels, char **text, size_t *len,
                char *err, size_t errsize)
{
    uint8_t *grey;
    unsigned w, h;
    *text = NULL;
    *len = 0;
    int rc = qr_image_decode(data, n, max_pixels, &grey, &w, &h, err, errsize);
    if (rc)
        return rc;
    rc = scan(grey, w, h, text, len, err, errsize);
    free(grey);
    return rc;
}

int qr_read_file(const char *path, char **text, size_t *len, char *err, size_t errsize)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail(QR_ERR_IO, err, errsize, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return fail(QR_ERR_IO, err, errsize, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return fail(QR_ERR_IO, err, errsize, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > QR_MAX_FILE) {
        fclose(f);
        return fail(QR_ERR_TOO_LARGE, err, errsize, "%s: %lld bytes; at most %u are read", path,
                    (long long)st.st_size, QR_MAX_FILE);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *data = malloc(n ? n : 1);
    if (data == NULL) {
        fclose(f);
        return fail(QR_ERR_NOMEM, err, errsize, "out of memory");
    }
    size_t got = fread(data, 1, n, f);
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        free(data);
        return fail(QR_ERR_IO, err, errsize, "%s: %s", path, strerror(e));
    }
    /* A file that shrank while we read it is read as it now is. */
    int rc = qr_read_mem(data, got, 0, text, len, err, errsize);
    free(data);
    if (rc && err && errsize) {
        /* Prefix the file name. */
        size_t el = strnlen(err, errsize);
        size_t pl = strlen(path) + 2;
        if (pl + el + 1 <= errsize) {
            memmove(err + pl, err, el + 1);
            memcpy(err, path, pl - 2);
            memcpy(err + pl - 2, ": ", 2);
        }
    }
    return rc;
}
