/* ytrace.h: editing traces for `pkc yjs replay`: a one-pass reader of their
 * JSON, and a map from code-point positions (what traces count) to UTF-16
 * positions (what Y.Text counts). No I/O: the reader pulls its bytes through
 * a callback, so a trace is read as it is decompressed, never whole. */
#ifndef PKC_CLI_YTRACE_H
#define PKC_CLI_YTRACE_H

#include <stddef.h>
#include <stdint.h>

/* ytrace_parse's own results besides 0. Callbacks that stop the parse
 * should return negative values, which ytrace_parse passes on. */
#define YTRACE_MALFORMED 1 /* not an editing trace; the message says where */
#define YTRACE_NOMEM 2

/* Positions and lengths above this are rejected (JavaScript's largest safe
 * integer: the traces are written by JavaScript). */
#define YTRACE_MAX_INT ((UINT64_C(1) << 53) - 1)
/* Values the reader skips may nest this deep, no deeper. */
#define YTRACE_MAX_DEPTH 512

typedef struct ytrace_handler {
    /* Gives the next bytes of the trace in *p and *n; *n == 0 at its end.
     * They stay valid until the next call. Returns 0, or nonzero to stop. */
    int (*read)(void *user, const uint8_t **p, size_t *n);
    /* Called in the order of the file. Strings are valid UTF-8 (no NUL
     * terminator; they may hold U+0000), borrowed until the call returns.
     * Any may be NULL. Each returns 0, or nonzero to stop. */
    int (*start_content)(void *user, const char *s, size_t n);
    int (*end_content)(void *user, const char *s, size_t n);
    int (*txn_begin)(void *user);
    int (*patch)(void *user, uint64_t pos, uint64_t del, const char *ins, size_t n);
    int (*txn_end)(void *user);
    void *user;
} ytrace_handler;

/*
 * Reads one trace: a JSON object with "txns", an array of transactions
 * {"patches": [[position, deleted, inserted], ...]} (positions and deleted
 * counts are integers from 0 to YTRACE_MAX_INT, inserted is a string), and
 * optionally "startContent" and "endContent" (strings). Other keys, at the
 * top and in transactions, are skipped whatever their (valid JSON) value.
 * Each of the named keys may appear once per object; a transaction must
 * have "patches". Strict JSON (RFC 8259): UTF-8 only, no lone surrogates
 * in \u escapes.
 *
 * Returns 0; YTRACE_MALFORMED with "offset N: what" in err (N counts bytes
 * of the JSON); YTRACE_NOMEM; or the first nonzero result of a callback.
 * err may be NULL when errsize is 0.
 */
int ytrace_parse(const ytrace_handler *h, char *err, size_t errsize);

/* The text as its astral code points (above U+FFFF, two UTF-16 units
 * each) in a treap ordered by position, each node with the count of other
 * code points before it: an edit costs O(log n) in the number of astral
 * code points, and nothing at all while there are none. */
typedef struct ytrace_node ytrace_node;
typedef struct ytrace_map {
    ytrace_node *nodes; /* nodes[0] is the empty tree */
    uint32_t cap, used, free_list, nfree, root, seed;
    uint64_t tail; /* code points after the last astral one */
} ytrace_map;

void ytrace_map_init(ytrace_map *m);
void ytrace_map_free(ytrace_map *m);
/* The length of the text in code points and in UTF-16 units. */
uint64_t ytrace_map_len(const ytrace_map *m);
uint64_t ytrace_map_len16(const ytrace_map *m);
/*
 * Replaces the `del` code points at code point `pos` with `ins` (valid
 * UTF-8, n bytes), and gives the replaced range in UTF-16 units. Returns 0;
 * -1 if pos + del is past the end (nothing changes); -2 out of memory
 * (nothing changes).
 */
int ytrace_map_edit(ytrace_map *m, uint64_t pos, uint64_t del, const char *ins, size_t n,
                    uint64_t *upos, uint64_t *udel);

#endif
