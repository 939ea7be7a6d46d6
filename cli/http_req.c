/* http_req.c: the request line of `pkc web`, parsed and its path checked. */
#include "http_req.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The target's path, percent-decoded into `out`, checked. 0 or -1. */
static int decode_path(const char *target, size_t len, char *out, size_t cap)
{
    if (len == 0 || target[0] != '/')
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len && target[i] != '?' && target[i] != '#'; i++) {
        char c = target[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(target[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(target[i + 2]) : -1;
            if (lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || c == '\\' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    /* Every segment between slashes: s points at a slash. */
    for (const char *s = out; *s != '\0';) {
        const char *e = strchr(s + 1, '/');
        size_t n = (e ? (size_t)(e - s) : strlen(s)) - 1;
        if ((n == 1 && s[1] == '.') || (n == 2 && s[1] == '.' && s[2] == '.'))
            return -1;
        if (e == NULL)
            break;
        s = e;
    }
    return 0;
}

int http_req_parse(const char *head, size_t len, http_req *r)
{
    const char *eol = memchr(head, '\n', len);
    if (eol == NULL || eol == head || eol[-1] != '\r')
        return 400;
    size_t line = (size_t)(eol - head) - 1;
    const char *sp1 = memchr(head, ' ', line);
    if (sp1 == NULL)
        return 400;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', line - (size_t)(target - head));
    if (sp2 == NULL)
        return 400;
    const char *version = sp2 + 1;
    size_t vlen = line - (size_t)(version - head);
    if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 || version[7] < '0' || version[7] > '9')
        return 400;
    size_t mlen = (size_t)(sp1 - head);
    if (mlen == 4 && memcmp(head, "HEAD", 4) == 0)
        r->head_only = 1;
    else if (mlen == 3 && memcmp(head, "GET", 3) == 0)
        r->head_only = 0;
    else
        return 405;
    if (decode_path(target, (size_t)(sp2 - target), r->path, sizeof r->path) != 0)
        return 400;
    return 0;
}
