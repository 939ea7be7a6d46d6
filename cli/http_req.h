/* http_req.h: the request head parser of `pkc web` (cmd_web.c), apart so
 * that fuzz/cli_http_req.c can drive it. */
#ifndef PKC_CLI_HTTP_REQ_H
#define PKC_CLI_HTTP_REQ_H

#include <stddef.h>

#define HTTP_PATH_MAX 4096

typedef struct http_req {
    int head_only;            /* HEAD rather than GET */
    char path[HTTP_PATH_MAX]; /* decoded, starts with '/' */
} http_req;

/*
 * Reads the request line of `head` (`len` bytes, the request head; it need
 * not be NUL-terminated). Returns 0 for a GET or HEAD of a safe path, with
 * *r filled; else the HTTP status to answer: 405 for another method, 400 for
 * a malformed line or a path that is not safe to join to a directory: not
 * starting with '/', bad or NUL percent-encoding, a NUL or backslash, a "."
 * or ".." segment (after decoding), or longer than HTTP_PATH_MAX - 1. The
 * query and fragment are dropped. r->head_only is set as soon as the method
 * is known (also when the path is then refused).
 */
int http_req_parse(const char *head, size_t len, http_req *r);

#endif
