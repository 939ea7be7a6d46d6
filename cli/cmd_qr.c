/* cmd_qr.c: pkc qr: make and read QR codes (a utility; `pkc invite` and
 * `pkc join` use the same code through qr.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "qr.h"

static const char qr_help[] =
    "pkc qr encode shows TEXT (or stdin with '-', one trailing newline dropped)\n"
    "as a QR code in the terminal, in Unicode half blocks: black on white with\n"
    "ANSI colours on a terminal, plain text otherwise or when NO_COLOR is set.\n"
    "With --png it writes a PNG file instead. pkc qr decode prints the text of\n"
    "the QR code in a PNG or JPEG image (a screenshot or a photo).\n"
    "\n"
    "Options (encode):\n"
    "  --png FILE        write FILE instead of printing\n"
    "  --module PX       pixels per module in the PNG, 1..64 (default 8)\n"
    "  --grey8           8-bit grey PNG (default 1-bit)\n"
    "  --margin N        quiet zone in modules, 0..16 (default 4, the standard)\n"
    "  --level L         error correction: auto (M, or Q when it fits the same\n"
    "                    size; the default), M or Q\n"
    "  --color WHEN      auto (default), always or never\n"
    "  --invert          plain output: glyphs for the light modules (for a dark\n"
    "                    terminal with NO_COLOR)\n"
    "  --info            print 'version V level L modules N cells WxH' on stderr\n";

enum { O_PNG = 1, O_MODULE, O_GREY8, O_MARGIN, O_LEVEL, O_COLOR, O_INVERT, O_INFO };

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* All of stdin, up to QR_MAX_TEXT + 2 bytes (more is refused by qr_encode). */
static int read_stdin(char *buf, size_t cap, size_t *n)
{
    *n = 0;
    while (*n < cap) {
        size_t got = fread(buf + *n, 1, cap - *n, stdin);
        if (got == 0)
            break;
        *n += got;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "pkc: qr: reading stdin: %s\n", strerror(errno));
        return CLI_FAIL;
    }
    if (*n > 0 && buf[*n - 1] == '\n')
        (*n)--;
    if (*n > 0 && buf[*n - 1] == '\r')
        (*n)--;
    return CLI_OK;
}

static int qr_encode_cmd(const char *arg, const char *png, int module_px, int grey8, int margin,
                         qr_level level, int color, int invert, int info)
{
    static char in[QR_MAX_TEXT + 3];
    const char *text = arg;
    size_t len = strlen(arg);
    char err[256];
    if (strcmp(arg, "-") == 0) {
        int rc = read_stdin(in, sizeof in, &len);
        if (rc)
            return rc;
        text = in;
    }
    qr_code qr;
    int rc = qr_encode(text, len, level, &qr, err, sizeof err);
    if (rc) {
        fprintf(stderr, "pkc: qr: %s\n", err);
        return CLI_FAIL;
    }
    int cols, rows;
    qr_term_size(&qr, margin, &cols, &rows);
    if (info)
        fprintf(stderr, "version %d level %c modules %d cells %dx%d\n", qr.version, qr.level,
                qr.size, cols, rows);
    if (png) {
        rc = qr_png_write(&qr, png, module_px, margin, grey8 ? QR_PNG_GREY8 : 0, err, sizeof err);
        qr_code_free(&qr);
        if (rc) {
            fprintf(stderr, "pkc: qr: %s\n", err);
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    if (color < 0)
        color = qr_term_want_color(STDOUT_FILENO);
    char *s;
    size_t n;
    rc = qr_term_render(&qr, margin, (color ? QR_TERM_COLOR : 0) | (invert ? QR_TERM_INVERT : 0),
                        &s, &n);
    qr_code_free(&qr);
    if (rc) {
        fprintf(stderr, "pkc: qr: %s\n", qr_strerror(rc));
        return CLI_FAIL;
    }
    fwrite(s, 1, n, stdout);
    free(s);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "pkc: qr: writing stdout: %s\n", strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int qr_decode_cmd(const char *path)
{
    char *text;
    size_t len;
    char err[512];
    int rc = qr_read_file(path, &text, &len, err, sizeof err);
    if (rc) {
        fprintf(stderr, "pkc: qr: %s\n", err);
        return CLI_FAIL;
    }
    fwrite(text, 1, len, stdout);
    putchar('\n');
    free(text);
    return CLI_OK;
}

static int run_qr(int argc, char **argv)
{
    static const struct option opts[] = {{"png", required_argument, NULL, O_PNG},
                                         {"module", required_argument, NULL, O_MODULE},
                                         {"grey8", no_argument, NULL, O_GREY8},
                                         {"margin", required_argument, NULL, O_MARGIN},
                                         {"level", required_argument, NULL, O_LEVEL},
                                         {"color", required_argument, NULL, O_COLOR},
                                         {"invert", no_argument, NULL, O_INVERT},
                                         {"info", no_argument, NULL, O_INFO},
                                         CLI_COMMON_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    const char *png = NULL;
    int module_px = 8, grey8 = 0, margin = QR_QUIET_ZONE, color = -1, invert = 0, info = 0;
    qr_level level = QR_LEVEL_AUTO;
    int opt;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        switch (opt) {
        case O_PNG:
            png = optarg;
            continue;
        case O_MODULE:
            if (parse_int(optarg, 1, 64, &module_px))
                return cli_usage_error("qr", "--module takes a number from 1 to 64");
            continue;
        case O_GREY8:
            grey8 = 1;
            continue;
        case O_MARGIN:
            if (parse_int(optarg, 0, 16, &margin))
                return cli_usage_error("qr", "--margin takes a number from 0 to 16");
            continue;
        case O_LEVEL:
            if (strcmp(optarg, "auto") == 0)
                level = QR_LEVEL_AUTO;
            else if (strcasecmp(optarg, "M") == 0)
                level = QR_LEVEL_M;
            else if (strcasecmp(optarg, "Q") == 0)
                level = QR_LEVEL_Q;
            else
                return cli_usage_error("qr", "--level takes auto, M or Q");
            continue;
        case O_COLOR:
            if (strcmp(optarg, "auto") == 0)
                color = -1;
            else if (strcmp(optarg, "always") == 0)
                color = 1;
            else if (strcmp(optarg, "never") == 0)
                color = 0;
            else
                return cli_usage_error("qr", "--color takes auto, always or never");
            continue;
        case O_INVERT:
            invert = 1;
            continue;
        case O_INFO:
            info = 1;
            continue;
        default: {
            int r = cli_common_option(opt, optarg);
            if (r < 0)
                return CLI_USAGE;
            if (r == 0)
                return cli_usage_error("qr", "unknown option");
        }
        }
    }
    if (cli_g.help) {
        cli_print_help(stdout, cli_find("qr"));
        return CLI_OK;
    }
    if (optind >= argc)
        return cli_usage_error("qr", "missing subcommand (encode, decode)");
    const char *sub = argv[optind++];
    int nargs = argc - optind;
    char **args = argv + optind;
    if (strcmp(sub, "encode") == 0) {
        if (nargs != 1)
            return cli_usage_error("qr", "encode takes one TEXT, or '-' for stdin");
        return qr_encode_cmd(args[0], png, module_px, grey8, margin, level, color, invert, info);
    }
    if (strcmp(sub, "decode") == 0) {
        if (nargs != 1)
            return cli_usage_error("qr", "decode takes one image file");
        return qr_decode_cmd(args[0]);
    }
    return cli_usage_error("qr", "unknown subcommand '%s'", sub);
}

CLI_COMMAND(qr, 45, "encode [--png FILE] TEXT|- | decode FILE",
            "make and read QR codes (terminal, PNG; PNG and JPEG photos)", qr_help, run_qr)
