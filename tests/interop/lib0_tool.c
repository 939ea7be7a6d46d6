/*
 * lib0_tool: pkc's lib0 codec as a line-oriented filter, for tests/interop/
 * lib0.mjs, which checks it against the lib0 npm package.
 *
 * Each input line is a command; each gets exactly one output line:
 *   eu N        -> hex of varuint(N)
 *   ei N | -0   -> hex of varint(N) (-0: negative zero)
 *   es HEX      -> hex of varstring(UTF-8 bytes HEX)
 *   du HEX      -> N             (the whole input must be one varuint)
 *   di HEX      -> N or -0
 *   ds HEX      -> hex of the string's bytes
 *   dm KINDS HEX -> values separated by spaces (KINDS: u, i, s per value)
 * Decoding failures print "error PKC_ERR_...".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/text.h"

static void print_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    pkc_hex_encode(s, p, n);
    fputs(s, stdout);
    free(s);
}

static uint8_t *unhex(const char *s, size_t *n)
{
    size_t len = strlen(s);
    uint8_t *out = malloc(len / 2 + 1);
    if (pkc_hex_decode(s, len, out, len / 2 + 1, n) != 0) {
        fprintf(stderr, "lib0_tool: bad hex\n");
        exit(2);
    }
    return out;
}

static int decode_one(pkc_reader *r, char kind)
{
    int rc;
    if (kind == 'u') {
        uint64_t v;
        if ((rc = pkc_reader_varuint(r, &v)) == 0)
            printf("%" PRIu64, v);
    } else if (kind == 'i') {
        int64_t v;
        int neg;
        if ((rc = pkc_reader_varint(r, &v, &neg)) == 0) {
            if (v == 0 && neg)
                printf("-0");
            else
                printf("%" PRId64, v);
        }
    } else {
        const char *s;
        size_t n;
        if ((rc = pkc_reader_varstring(r, &s, &n)) == 0)
            print_hex((const uint8_t *)s, n);
    }
    return rc;
}

int main(void)
{
    static char line[1 << 22];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *arg = strchr(line, ' ');
        if (arg == NULL) {
            fprintf(stderr, "lib0_tool: bad line\n");
            return 2;
        }
        *arg++ = '\0';
        pkc_buf b = PKC_BUF_INIT;
        if (line[0] == 'e') {
            if (strcmp(line, "eu") == 0) {
                pkc_buf_push_varuint(&b, strtoull(arg, NULL, 10));
            } else if (strcmp(line, "ei") == 0) {
                if (strcmp(arg, "-0") == 0)
                    pkc_buf_push_varint_sm(&b, 1, 0);
                else
                    pkc_buf_push_varint(&b, strtoll(arg, NULL, 10));
            } else {
                size_t n;
                uint8_t *p = unhex(arg, &n);
                pkc_buf_push_varstring(&b, (const char *)p, n);
                free(p);
            }
            print_hex(b.data, b.len);
        } else {
            const char *kinds = line[1] == 'm' ? arg : line + 1;
            char *hex = line[1] == 'm' ? strchr(arg, ' ') : arg;
            if (line[1] == 'm')
                *hex++ = '\0';
            size_t n;
            uint8_t *p = unhex(hex, &n);
            pkc_reader r;
            pkc_reader_init(&r, p, n);
            int rc = 0;
            for (const char *k = kinds; *k && rc == 0; k++) {
                if (k != kinds)
                    putchar(' ');
                rc = decode_one(&r, *k);
            }
            if (rc == 0)
                rc = pkc_reader_finish(&r);
            if (rc)
                printf("%serror %s", kinds[0] && kinds[1] ? " " : "", pkc_err_name(rc));
            free(p);
        }
        putchar('\n');
        pkc_buf_free(&b);
    }
    return 0;
}
