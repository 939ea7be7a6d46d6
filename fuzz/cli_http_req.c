/*
 * Fuzzes the request line parser of `pkc web` (cli/http_req.c):
 *
 * - an accepted path is safe to join to a directory: it starts with '/', has
 *   no NUL or backslash, no "." or ".." segment, and fits HTTP_PATH_MAX;
 * - the path, percent-encoded byte by byte (slashes left as they are: the
 *   target must start with one) into a new GET request, parses back to
 *   itself;
 * - the result depends on the request line only: bytes after it change
 *   nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_req.h"

static void must(int cond)
{
    if (!cond)
        abort();
}

static int safe(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n >= HTTP_PATH_MAX || p[0] != '/' || strchr(p, '\\') != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '/')
            continue;
        size_t j = i + 1;
        while (j < n && p[j] != '/')
            j++;
        size_t len = j - i - 1;
        if ((len == 1 && p[i + 1] == '.') || (len == 2 && p[i + 1] == '.' && p[i + 2] == '.'))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* In a buffer of its own: reading past it is a sanitizer report. */
    char *in = malloc(size ? size : 1);
    if (in == NULL)
        return 0;
    memcpy(in, data, size);
    static http_req r, again;
    int status = http_req_parse(in, size, &r);
    must(status == 0 || status == 400 || status == 405);
    if (status == 0) {
        must(safe(r.path));
        static char req[3 * HTTP_PATH_MAX + 32];
        size_t o = 0;
        memcpy(req, "GET ", 4);
        o = 4;
        for (const char *p = r.path; *p; p++) {
            static const char hex[] = "0123456789ABCDEF";
            unsigned char c = (unsigned char)*p;
            if (c == '/') {
                req[o++] = '/';
                continue;
            }
            req[o++] = '%';
            req[o++] = hex[c >> 4];
            req[o++] = hex[c & 15];
        }
        memcpy(req + o, " HTTP/1.1\r\n\r\n", 13);
        o += 13;
        must(http_req_parse(req, o, &again) == 0);
        must(again.head_only == 0 && strcmp(again.path, r.path) == 0);
    }
    const char *eol = memchr(in, '\n', size);
    if (eol != NULL) {
        size_t line = (size_t)(eol - in) + 1;
        must(http_req_parse(in, line, &again) == status);
        if (status == 0)
            must(again.head_only == r.head_only && strcmp(again.path, r.path) == 0);
    }
    free(in);
    return 0;
}
