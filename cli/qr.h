/* qr.h: QR codes for the pkc command: encode a text (an invitation URL),
 * show it in a terminal with Unicode half blocks, write it as a PNG file,
 * and read one back from a PNG or JPEG image (a screenshot or a photo).
 *
 * Only the command links this (libqrencode, libpng, libjpeg, zbar); libpkc
 * has no image or QR code dependency. Every function is reentrant: no
 * global state, one call's objects used by one thread at a time.
 *
 * Errors: functions return 0 or a negative QR_ERR_* code. Those that take
 * `err, errsize` write a one-line message there that says what and where
 * (the file name, the image size, what the decoder said); err may be NULL
 * when errsize is 0. qr_strerror() names a code. See docs/qr.md for what
 * zbar, libpng and libjpeg do that surprised us. */
#ifndef PKC_CLI_QR_H
#define PKC_CLI_QR_H

#include <stddef.h>
#include <stdint.h>

#define QR_ERR_INVALID -1   /* bad argument: empty text, NUL in text, bad size */
#define QR_ERR_TOO_LONG -2  /* text over QR_MAX_TEXT bytes */
#define QR_ERR_NOMEM -3     /* out of memory */
#define QR_ERR_IO -4        /* a file could not be opened, read or written */
#define QR_ERR_NOT_IMAGE -5 /* neither PNG nor JPEG nor another known image */
#define QR_ERR_FORMAT -6    /* an image, but a format or variant not read here */
#define QR_ERR_CORRUPT -7   /* PNG or JPEG that is truncated or damaged */
#define QR_ERR_TOO_LARGE -8 /* file or image over the limits below */
#define QR_ERR_NO_QR -9     /* an image with no readable QR code */
#define QR_ERR_SEVERAL -10  /* several QR codes with different texts */
#define QR_ERR_NO_READER -11 /* zbar (loaded when first needed) is not installed */

/* The longest text qr_encode() takes, in bytes: a version 26 symbol at
 * level M in byte mode (121 modules). Past this a photo of a phone or laptop
 * screen stops scanning reliably, and the terminal rendering is far wider
 * than 80 columns; an invitation is about 200-300 bytes. */
#define QR_MAX_TEXT 1024

/* The standard quiet zone around a symbol, in modules (ISO/IEC 18004). */
#define QR_QUIET_ZONE 4

/* Limits of qr_read_file() and qr_read_mem() (max_pixels 0): a 12-megapixel
 * phone photo is 12e6 pixels; this is 48e6 (one byte of grey each, checked
 * before anything of that size is allocated). Files over QR_MAX_FILE bytes
 * are refused before they are read. */
#define QR_MAX_PIXELS (48u * 1000 * 1000)
#define QR_MAX_FILE (64u * 1024 * 1024)

/* Error-correction level. QR_LEVEL_AUTO is M, raised to Q when Q fits in the
 * same version (so the symbol is never larger than at M): M restores 15% of
 * the codewords, Q 25%, which is what a blurred or glared photo of a screen
 * uses. L (7%) is too little for a photo; H (30%) makes a 300-byte URL too
 * big for an 80-column terminal. */
typedef enum qr_level { QR_LEVEL_AUTO = 0, QR_LEVEL_M = 1, QR_LEVEL_Q = 2 } qr_level;

/* An encoded symbol. modules[y * size + x] is 1 for a dark module, 0 for a
 * light one, without the quiet zone. */
typedef struct qr_code {
    int version; /* 1..40 */
    int size;    /* modules per side: 17 + 4 * version */
    char level;  /* 'M' or 'Q' */
    uint8_t *modules;
} qr_code;

/*
 * Encodes `len` bytes of text (no NUL among them; UTF-8 or ASCII) into the
 * smallest symbol at `level`. The segments are chosen by libqrencode: digits
 * in numeric mode, runs of upper-case letters, digits and " $%*+-./:" in
 * alphanumeric mode (5.5 bits a character), the rest in byte mode (8 bits);
 * no ECI header, so a reader sees the bytes as they are. An invitation in
 * upper-case base32 after an upper-case "HTTPS://HOST/#" is alphanumeric
 * throughout: 300 characters make a version 10 symbol (57 modules a side)
 * instead of version 13 (69) in byte mode.
 *
 * Fills *out, to be released with qr_code_free(). Returns 0, QR_ERR_INVALID
 * (len 0 or a NUL byte), QR_ERR_TOO_LONG, QR_ERR_NOMEM.
 */
int qr_encode(const char *text, size_t len, qr_level level, qr_code *out, char *err,
              size_t errsize);

/* Frees the modules; out is then zeroed. Accepts a zeroed qr_code. */
void qr_code_free(qr_code *qr);

/* ---- terminal ------------------------------------------------------------- */

/* qr_term_render() flags. */
#define QR_TERM_COLOR 1u  /* black on white with ANSI SGR, whatever the theme */
#define QR_TERM_INVERT 2u /* plain only: glyphs are the light modules */

/* The cells qr_term_render() fills: `cols` columns (one module each) and
 * `rows` lines (two modules each, the last one half empty when the side is
 * odd), with a quiet zone of `margin` modules. */
void qr_term_size(const qr_code *qr, int margin, int *cols, int *rows);

/*
 * Renders the symbol as lines of Unicode half blocks, two modules a cell:
 * U+2580 (upper half dark), U+2584 (lower half dark), U+2588 (both) and a
 * space (both light), each line ending in "\n".
 *
 * With QR_TERM_COLOR each line starts with SGR black on white (the fixed
 * 256-colour palette entries 16 and 231, after the 16-colour 30;107 for a
 * terminal without 256 colours) and ends with SGR 0 before its newline, so
 * the symbol and its quiet zone look the same on a dark and a light theme
 * and no colour leaks into the next line. Without it the output is plain
 * text for a file, a pipe or NO_COLOR: glyphs are dark modules (ink on
 * paper, right on a light background); QR_TERM_INVERT swaps them for a
 * dark terminal background.
 *
 * margin: quiet zone in modules, 0..16 (QR_QUIET_ZONE is the standard).
 * Sets *out to a NUL-terminated malloc'd string (the caller frees it) and
 * *len to its length (len may be NULL). Returns 0, QR_ERR_INVALID,
 * QR_ERR_NOMEM.
 */
int qr_term_render(const qr_code *qr, int margin, unsigned flags, char **out, size_t *len);

/* Whether output to file descriptor `fd` should get QR_TERM_COLOR: it is a
 * terminal, NO_COLOR is unset or empty (https://no-color.org), and TERM is
 * not "dumb". */
int qr_term_want_color(int fd);

/* ---- PNG ------------------------------------------------------------------ */

#define QR_PNG_GREY8 1u /* 8-bit grey (0 and 255) instead of 1-bit */

/*
 * Writes the symbol to `path` as a PNG: `module_px` pixels per module
 * (1..64), a light quiet zone of `margin` modules (0..16), 1-bit grey (the
 * smallest file) or 8-bit grey with QR_PNG_GREY8. The file is created or
 * truncated; after a failure it is removed. Returns 0, QR_ERR_INVALID,
 * QR_ERR_IO, QR_ERR_NOMEM.
 */
int qr_png_write(const qr_code *qr, const char *path, int module_px, int margin, unsigned flags,
                 char *err, size_t errsize);

/* ---- reading -------------------------------------------------------------- */

/*
 * Finds the QR code in an image file: PNG (any bit depth or colour type,
 * interlaced or not; transparency is composited on white) or JPEG
 * (baseline or progressive, grey or YCbCr), decoded to 8-bit grey and
 * scanned with zbar, dark-on-light first and inverted if that finds none.
 *
 * Sets *text to a malloc'd copy of the symbol's bytes as encoded (NUL
 * appended, not counted in *len; the bytes themselves may hold a NUL: check
 * *len), which the caller frees. The same text found twice (zbar can
 * report a symbol more than once) counts once.
 *
 * Returns 0; QR_ERR_IO (missing or unreadable file); QR_ERR_NOT_IMAGE;
 * QR_ERR_FORMAT (GIF, WebP, HEIC, ...: the message names it; CMYK JPEG;
 * 12-bit JPEG); QR_ERR_CORRUPT (truncated or damaged: the decoder's
 * message); QR_ERR_TOO_LARGE (file over QR_MAX_FILE or image over
 * QR_MAX_PIXELS, refused from its header); QR_ERR_NO_QR; QR_ERR_SEVERAL;
 * QR_ERR_NOMEM; QR_ERR_NO_READER (libzbar.so.0, opened with dlopen() at the
 * first read, is missing).
 */
int qr_read_file(const char *path, char **text, size_t *len, char *err, size_t errsize);

/* The same from `n` bytes in memory, with a pixel limit (0: QR_MAX_PIXELS).
 * Reads nothing outside data[0..n). */
int qr_read_mem(const uint8_t *data, size_t n, size_t max_pixels, char **text, size_t *len,
                char *err, size_t errsize);

/* The image decoding step alone: `n` bytes of PNG or JPEG to *grey, a
 * malloc'd buffer of *width x *height bytes, rows top to bottom, 0 black,
 * 255 white. Returns as qr_read_mem() without QR_ERR_NO_QR and
 * QR_ERR_SEVERAL. */
int qr_image_decode(const uint8_t *data, size_t n, size_t max_pixels, uint8_t **grey,
                    unsigned *width, unsigned *height, char *err, size_t errsize);

/* "invalid argument", "no QR code found", ... for a QR_ERR_* code. */
const char *qr_strerror(int code);

#endif
