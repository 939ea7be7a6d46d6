/* ytrace.c: the editing-trace reader and the code point -> UTF-16 map. */
#include "ytrace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* reader                                                                   */

typedef struct rd {
    const ytrace_handler *h;
    const uint8_t *p, *end, *chunk; /* the current chunk; p is the next byte */
    uint64_t base;                  /* offset of chunk[0] in the JSON */
    int eof, stop;                  /* stop: a read callback's nonzero result */
    char *s;                        /* the last string read (decoded) */
    size_t sn, scap;
    char *err;
    size_t errsize;
} rd;

static const uint8_t no_bytes[1];

static uint64_t offset(const rd *r)
{
    return r->base + (uint64_t)(r->p - r->chunk);
}

/* Makes a byte available at r->p; 0 at the end of the input or on a read
 * error (r->stop). */
static int fill(rd *r)
{
    while (r->p == r->end) {
        if (r->eof || r->stop)
            return 0;
        r->base += (uint64_t)(r->end - r->chunk);
        r->chunk = r->end;
        const uint8_t *p = NULL;
        size_t n = 0;
        int e = r->h->read(r->h->user, &p, &n);
        if (e) {
            r->stop = e;
            return 0;
        }
        if (n == 0) {
            r->eof = 1;
            return 0;
        }
        r->chunk = r->p = p;
        r->end = p + n;
    }
    return 1;
}

static int fail_at(rd *r, uint64_t off, const char *fmt, ...)
{
    if (r->stop)
        return r->stop;
    if (r->errsize) {
        int k = snprintf(r->err, r->errsize, "offset %llu: ", (unsigned long long)off);
        if (k >= 0 && (size_t)k < r->errsize) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + k, r->errsize - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return YTRACE_MALFORMED;
}

#define FAIL(r, ...) fail_at((r), offset(r), __VA_ARGS__)

/* The next byte without taking it, or -1 at the end. */
static inline int peek(rd *r)
{
    return r->p < r->end || fill(r) ? *r->p : -1;
}

/* Takes the next byte, or -1 at the end. */
static inline int next(rd *r)
{
    return r->p < r->end || fill(r) ? *r->p++ : -1;
}

/* Skips whitespace; the next byte without taking it, or -1. */
static int ws_slow(rd *r)
{
    for (;;) {
        while (r->p < r->end) {
            uint8_t c = *r->p;
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
                return c;
            r->p++;
        }
        if (!fill(r))
            return -1;
    }
}

static inline int ws(rd *r)
{
    /* the common case: no whitespace (every byte above ' ' is none) */
    return r->p < r->end && *r->p > ' ' ? *r->p : ws_slow(r);
}

static int what_end(rd *r, int c, const char *expected)
{
    return c < 0 ? FAIL(r, "the trace ends early (expected %s)", expected)
                 : FAIL(r, "expected %s", expected);
}

static int grow(rd *r, size_t n)
{
    size_t cap = r->scap ? r->scap : 256;
    while (cap - r->sn < n)
        cap *= 2;
    char *s = realloc(r->s, cap);
    if (s == NULL)
        return YTRACE_NOMEM;
    r->s = s;
    r->scap = cap;
    return 0;
}

static inline int push(rd *r, const void *p, size_t n)
{
    if (r->scap - r->sn < n && grow(r, n))
        return YTRACE_NOMEM;
    memcpy(r->s + r->sn, p, n);
    r->sn += n;
    return 0;
}

static int hex4(rd *r, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        int c = next(r);
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return c < 0 ? FAIL(r, "the trace ends inside a string")
                         : FAIL(r, "a \\u escape needs four hex digits");
        x = x << 4 | (uint32_t)d;
    }
    *v = x;
    return 0;
}

/* After the backslash of an escape. */
static int escape(rd *r, int store)
{
    uint64_t at = offset(r) - 1;
    int c = next(r);
    uint8_t b[4];
    size_t n = 1;
    switch (c) {
    case '"':
    case '\\':
    case '/':
        b[0] = (uint8_t)c;
        break;
    case 'b':
        b[0] = '\b';
        break;
    case 'f':
        b[0] = '\f';
        break;
    case 'n':
        b[0] = '\n';
        break;
    case 'r':
        b[0] = '\r';
        break;
    case 't':
        b[0] = '\t';
        break;
    case 'u': {
        uint32_t u, lo;
        int e = hex4(r, &u);
        if (e)
            return e;
        if (u >= 0xdc00 && u <= 0xdfff)
            return fail_at(r, at, "a lone surrogate \\u%04X (not a character)", (unsigned)u);
        if (u >= 0xd800 && u <= 0xdbff) {
            if (next(r) != '\\' || next(r) != 'u')
                return fail_at(r, at, "a lone surrogate \\u%04X (not a character)", (unsigned)u);
            if ((e = hex4(r, &lo)))
                return e;
            if (lo < 0xdc00 || lo > 0xdfff)
                return fail_at(r, at, "a lone surrogate \\u%04X (not a character)", (unsigned)u);
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (u < 0x80)
            b[0] = (uint8_t)u;
        else if (u < 0x800) {
            b[0] = (uint8_t)(0xc0 | u >> 6);
            b[1] = (uint8_t)(0x80 | (u & 0x3f));
            n = 2;
        } else if (u < 0x10000) {
            b[0] = (uint8_t)(0xe0 | u >> 12);
            b[1] = (uint8_t)(0x80 | (u >> 6 & 0x3f));
            b[2] = (uint8_t)(0x80 | (u & 0x3f));
            n = 3;
        } else {
            b[0] = (uint8_t)(0xf0 | u >> 18);
            b[1] = (uint8_t)(0x80 | (u >> 12 & 0x3f));
            b[2] = (uint8_t)(0x80 | (u >> 6 & 0x3f));
            b[3] = (uint8_t)(0x80 | (u & 0x3f));
            n = 4;
        }
        break;
    }
    default:
        return c < 0 ? FAIL(r, "the trace ends inside a string")
                     : fail_at(r, at, "an invalid escape in a string");
    }
    return store ? push(r, b, n) : 0;
}

/* After a lead byte c >= 0x80: the rest of one UTF-8 sequence (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). */
static int utf8_seq(rd *r, uint8_t c, int store)
{
    uint64_t at = offset(r) - 1;
    uint8_t b[4] = {c};
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return fail_at(r, at, "invalid UTF-8");
    for (size_t i = 1; i < n; i++) {
        int d = next(r);
        if (d < 0)
            return FAIL(r, "the trace ends inside a string");
        if (d < (i == 1 ? lo : 0x80) || d > (i == 1 ? hi : 0xbf))
            return fail_at(r, at, "invalid UTF-8");
        b[i] = (uint8_t)d;
    }
    return store ? push(r, b, n) : 0;
}

/* At the opening quote: reads a string into r->s (store) or over it. */
static int string(rd *r, int store)
{
    r->p++;
    r->sn = 0;
    for (;;) {
        if (r->p == r->end && !fill(r))
            return FAIL(r, "the trace ends inside a string");
        const uint8_t *q = r->p;
        /* 8 bytes at a time while none is special: a quote, a backslash,
         * a control character or a byte of a multi-byte character */
        while (r->end - q >= 8) {
            uint64_t v;
            memcpy(&v, q, 8);
            const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            uint64_t quote = v ^ (ones * '"'), bs = v ^ (ones * '\\');
            uint64_t special = (v | ((v - ones * 0x20) & ~v) | ((quote - ones) & ~quote) |
                                ((bs - ones) & ~bs)) & highs;
            if (special)
                break;
            q += 8;
        }
        while (q < r->end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
            q++;
        if (store && q > r->p) {
            int e = push(r, r->p, (size_t)(q - r->p));
            if (e)
                return e;
        }
        r->p = q;
        if (q == r->end)
            continue;
        uint8_t c = *r->p++;
        int e = 0;
        if (c == '"')
            return 0;
        if (c == '\\')
            e = escape(r, store);
        else if (c < 0x20)
            return fail_at(r, offset(r) - 1,
                           "a control character in a string (write it as an escape)");
        else
            e = utf8_seq(r, c, store);
        if (e)
            return e;
    }
}

static int literal(rd *r, const char *word)
{
    uint64_t at = offset(r);
    for (const char *w = word; *w; w++)
        if (next(r) != (uint8_t)*w)
            return fail_at(r, at, "expected a JSON value");
    return 0;
}

static int digits(rd *r)
{
    int c = peek(r), n = 0;
    while (c >= '0' && c <= '9') {
        r->p++;
        n++;
        c = peek(r);
    }
    return n;
}

/* Any JSON number. */
static int skip_number(rd *r)
{
    uint64_t at = offset(r);
    if (peek(r) == '-')
        r->p++;
    int c = peek(r);
    if (c == '0')
        r->p++;
    else if (c < '1' || c > '9' || !digits(r))
        return fail_at(r, at, "expected a JSON value");
    if (peek(r) == '.') {
        r->p++;
        if (!digits(r))
            return FAIL(r, "expected digits after the decimal point");
    }
    c = peek(r);
    if (c == 'e' || c == 'E') {
        r->p++;
        c = peek(r);
        if (c == '+' || c == '-')
            r->p++;
        if (!digits(r))
            return FAIL(r, "expected digits in the exponent");
    }
    return 0;
}

/* An integer from 0 to YTRACE_MAX_INT ("-0" is 0, as JSON.parse reads it). */
static int uint_value(rd *r, uint64_t *v, const char *what)
{
    int c = ws(r);
    uint64_t at = offset(r);
    int neg = c == '-';
    if (neg) {
        r->p++;
        c = peek(r);
    }
    if (c < '0' || c > '9')
        return what_end(r, c, what);
    uint64_t x = 0;
    int big = 0;
    if (c == '0')
        r->p++;
    else
        while (c >= '0' && c <= '9') {
            x = x * 10 + (uint64_t)(c - '0');
            big |= x > YTRACE_MAX_INT;
            if (big)
                x = 0;
            r->p++;
            c = peek(r);
        }
    c = peek(r);
    if (c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9'))
        return fail_at(r, at,
                       "expected %s (an integer without fraction, exponent or leading zero)", what);
    if (neg && (x || big))
        return fail_at(r, at, "%s is negative", what);
    if (big)
        return fail_at(r, at, "%s is too large (over 2^53 - 1)", what);
    *v = x;
    return 0;
}

static int skip_value(rd *r, int depth);

/* At '{' or '['. */
static int skip_container(rd *r, int depth)
{
    uint8_t close = *r->p == '{' ? '}' : ']';
    if (depth > YTRACE_MAX_DEPTH)
        return FAIL(r, "nested too deeply (over %d levels)", YTRACE_MAX_DEPTH);
    r->p++;
    int c = ws(r);
    if (c == close) {
        r->p++;
        return 0;
    }
    for (;;) {
        int e;
        if (close == '}') {
            if (c != '"')
                return what_end(r, c, "a key");
            if ((e = string(r, 0)))
                return e;
            if ((c = ws(r)) != ':')
                return what_end(r, c, "':'");
            r->p++;
        }
        if ((e = skip_value(r, depth + 1)))
            return e;
        c = ws(r);
        if (c == close) {
            r->p++;
            return 0;
        }
        if (c != ',')
            return what_end(r, c, close == '}' ? "',' or '}'" : "',' or ']'");
        r->p++;
        c = ws(r);
    }
}

static int skip_value(rd *r, int depth)
{
    int c = ws(r);
    switch (c) {
    case '{':
    case '[':
        return skip_container(r, depth);
    case '"':
        return string(r, 0);
    case 't':
        return literal(r, "true");
    case 'f':
        return literal(r, "false");
    case 'n':
        return literal(r, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return skip_number(r);
        return what_end(r, c, "a JSON value");
    }
}

/* Reads a key and its colon; returns which of names[] it is in *which, or
 * -1 for another key. */
static int key(rd *r, const char *const *names, int nnames, int *which)
{
    int c = ws(r);
    if (c != '"')
        return what_end(r, c, "a key");
    int e = string(r, 1);
    if (e)
        return e;
    *which = -1;
    for (int i = 0; i < nnames; i++)
        if (r->sn && names[i][0] == r->s[0] && strlen(names[i]) == r->sn &&
            memcmp(names[i], r->s, r->sn) == 0)
            *which = i;
    if ((c = ws(r)) != ':')
        return what_end(r, c, "':'");
    r->p++;
    return 0;
}

/* After a member: ',' (1), or the closing byte (0). */
static int member_end(rd *r, uint8_t close, int *more)
{
    int c = ws(r);
    if (c == ',' || c == close) {
        r->p++;
        *more = c == ',';
        return 0;
    }
    return what_end(r, c, close == '}' ? "',' or '}'" : "',' or ']'");
}

static int patches(rd *r)
{
    const ytrace_handler *h = r->h;
    int c = ws(r), more = 1, e;
    if (c != '[')
        return what_end(r, c, "\"patches\" to be an array");
    r->p++;
    if (ws(r) == ']') {
        r->p++;
        return 0;
    }
    while (more) {
        if ((c = ws(r)) != '[')
            return what_end(r, c, "a patch [position, deleted, inserted]");
        r->p++;
        uint64_t pos, del;
        if ((e = uint_value(r, &pos, "a position")))
            return e;
        if ((c = ws(r)) != ',')
            return what_end(r, c, "',' and the count of deleted characters");
        r->p++;
        if ((e = uint_value(r, &del, "the count of deleted characters")))
            return e;
        if ((c = ws(r)) != ',')
            return what_end(r, c, "',' and the inserted text");
        r->p++;
        if ((c = ws(r)) != '"')
            return what_end(r, c, "the inserted text (a string)");
        if ((e = string(r, 1)))
            return e;
        if ((c = ws(r)) != ']')
            return what_end(r, c, "']' after the three elements of a patch");
        r->p++;
        if (h->patch && (e = h->patch(h->user, pos, del, r->s, r->sn)))
            return e;
        if ((e = member_end(r, ']', &more)))
            return e;
    }
    return 0;
}

static int txns(rd *r)
{
    static const char *const names[] = {"patches"};
    const ytrace_handler *h = r->h;
    int c = ws(r), more = 1, e;
    if (c != '[')
        return what_end(r, c, "\"txns\" to be an array");
    r->p++;
    if (ws(r) == ']') {
        r->p++;
        return 0;
    }
    while (more) {
        if ((c = ws(r)) != '{')
            return what_end(r, c, "a transaction {\"patches\": [...]}");
        r->p++;
        if (h->txn_begin && (e = h->txn_begin(h->user)))
            return e;
        int seen = 0, in = 1;
        if (ws(r) == '}') {
            r->p++;
            in = 0;
        }
        while (in) {
            uint64_t at = offset(r);
            int which;
            if ((e = key(r, names, 1, &which)))
                return e;
            if (which == 0) {
                if (seen)
                    return fail_at(r, at, "\"patches\" twice in one transaction");
                seen = 1;
                e = patches(r);
            } else
                e = skip_value(r, 4);
            if (e || (e = member_end(r, '}', &in)))
                return e;
        }
        if (!seen)
            return fail_at(r, offset(r) - 1, "a transaction without \"patches\"");
        if (h->txn_end && (e = h->txn_end(h->user)))
            return e;
        if ((e = member_end(r, ']', &more)))
            return e;
    }
    return 0;
}

static int trace(rd *r)
{
    static const char *const names[] = {"startContent", "endContent", "txns"};
    const ytrace_handler *h = r->h;
    int c = ws(r), seen = 0, in = 1, e;
    if (c != '{')
        return c < 0 ? FAIL(r, "the trace is empty")
                     : FAIL(r, "expected an object {\"txns\": [...]}");
    r->p++;
    if (ws(r) == '}') {
        r->p++;
        in = 0;
    }
    while (in) {
        uint64_t at = offset(r);
        int which;
        if ((e = key(r, names, 3, &which)))
            return e;
        if (which >= 0 && (seen & 1 << which))
            return fail_at(r, at, "\"%s\" twice", names[which]);
        if (which >= 0)
            seen |= 1 << which;
        if (which == 0 || which == 1) {
            if ((c = ws(r)) != '"')
                return what_end(r, c, which ? "\"endContent\" to be a string"
                                            : "\"startContent\" to be a string");
            if ((e = string(r, 1)))
                return e;
            int (*cb)(void *, const char *, size_t) = which ? h->end_content : h->start_content;
            e = cb ? cb(h->user, r->s, r->sn) : 0;
        } else if (which == 2)
            e = txns(r);
        else
            e = skip_value(r, 2);
        if (e || (e = member_end(r, '}', &in)))
            return e;
    }
    if ((c = ws(r)) >= 0)
        return FAIL(r, "more after the end of the trace");
    if (r->stop)
        return r->stop;
    if (!(seen & 4))
        return FAIL(r, "no \"txns\": not an editing trace");
    return 0;
}

int ytrace_parse(const ytrace_handler *h, char *err, size_t errsize)
{
    rd r;
    memset(&r, 0, sizeof r);
    r.h = h;
    r.p = r.end = r.chunk = no_bytes;
    r.err = err;
    r.errsize = errsize;
    if (errsize)
        err[0] = '\0';
    /* never NULL, even for empty strings */
    int rc = grow(&r, 1) ? YTRACE_NOMEM : trace(&r);
    if (rc == YTRACE_NOMEM && errsize)
        snprintf(err, errsize, "out of memory");
    free(r.s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* code point -> UTF-16 map                                                 */

struct ytrace_node {
    uint64_t gap; /* code points before this one that are not astral */
    uint64_t cps; /* code points in the subtree (gaps and astral ones) */
    uint32_t l, r;
    uint32_t n;    /* astral code points in the subtree */
    uint32_t prio; /* treap priority: a parent's is at least its children's */
};

void ytrace_map_init(ytrace_map *m)
{
    memset(m, 0, sizeof *m);
    m->seed = 0x9e3779b9u;
}

void ytrace_map_free(ytrace_map *m)
{
    free(m->nodes);
    memset(m, 0, sizeof *m);
}

uint64_t ytrace_map_len(const ytrace_map *m)
{
    return (m->root ? m->nodes[m->root].cps : 0) + m->tail;
}

uint64_t ytrace_map_len16(const ytrace_map *m)
{
    return ytrace_map_len(m) + (m->root ? m->nodes[m->root].n : 0);
}

static void update(ytrace_node *t, uint32_t x)
{
    ytrace_node *a = &t[x];
    a->cps = a->gap + 1 + t[a->l].cps + t[a->r].cps;
    a->n = 1 + t[a->l].n + t[a->r].n;
}

/* Splits x at code point pos (0 <= pos <= x's cps) into l (the code points
 * before pos, but for the last *lt of them: the part of r's first node's
 * gap that lies before pos, taken off that gap) and r. */
static void split(ytrace_node *t, uint32_t x, uint64_t pos, uint32_t *l, uint32_t *r, uint64_t *lt)
{
    if (x == 0) {
        *l = *r = 0;
        *lt = pos; /* 0 */
        return;
    }
    ytrace_node *a = &t[x];
    uint64_t cl = t[a->l].cps;
    if (pos < cl) {
        split(t, a->l, pos, l, &a->l, lt);
        update(t, x);
        *r = x;
    } else if (pos <= cl + a->gap) {
        *l = a->l;
        *lt = pos - cl;
        a->gap -= pos - cl;
        a->l = 0;
        update(t, x);
        *r = x;
    } else {
        split(t, a->r, pos - cl - a->gap - 1, &a->r, r, lt);
        update(t, x);
        *l = x;
    }
}

static uint32_t merge(ytrace_node *t, uint32_t a, uint32_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    if (t[a].prio >= t[b].prio) {
        t[a].r = merge(t, t[a].r, b);
        update(t, a);
        return a;
    }
    t[b].l = merge(t, a, t[b].l);
    update(t, b);
    return b;
}

/* Adds k code points to the gap of x's first node. */
static void widen_first(ytrace_node *t, uint32_t x, uint64_t k)
{
    while (t[x].l) {
        t[x].cps += k;
        x = t[x].l;
    }
    t[x].gap += k;
    t[x].cps += k;
}

static void release(ytrace_map *m, uint32_t x)
{
    if (x == 0)
        return;
    release(m, m->nodes[x].l);
    release(m, m->nodes[x].r);
    m->nodes[x].l = m->free_list;
    m->free_list = x;
    m->nfree++;
}

static uint32_t prio(ytrace_map *m)
{
    uint32_t s = m->seed; /* xorshift32 */
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return m->seed = s;
}

static int reserve(ytrace_map *m, uint64_t k)
{
    if (m->cap && k <= m->nfree + (uint64_t)(m->cap - m->used))
        return 0;
    uint64_t want = (uint64_t)m->used + k + 1;
    if (want > UINT32_MAX)
        return -2;
    uint64_t cap = m->cap ? m->cap : 64;
    while (cap < want)
        cap *= 2;
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    ytrace_node *t = realloc(m->nodes, (size_t)cap * sizeof *t);
    if (t == NULL)
        return -2;
    if (m->cap == 0) {
        memset(&t[0], 0, sizeof t[0]);
        m->used = 1;
    }
    m->nodes = t;
    m->cap = (uint32_t)cap;
    return 0;
}

static uint32_t alloc_node(ytrace_map *m, uint64_t gap)
{
    uint32_t x;
    if (m->free_list) {
        x = m->free_list;
        m->free_list = m->nodes[x].l;
        m->nfree--;
    } else
        x = m->used++;
    ytrace_node *a = &m->nodes[x];
    a->gap = gap;
    a->l = a->r = 0;
    a->prio = prio(m);
    update(m->nodes, x);
    return x;
}

int ytrace_map_edit(ytrace_map *m, uint64_t pos, uint64_t del, const char *ins, size_t n,
                    uint64_t *upos, uint64_t *udel)
{
    uint64_t len = ytrace_map_len(m), k = 0, astral = 0;
    if (pos > len || del > len - pos)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)ins[i];
        k += (c & 0xc0) != 0x80;
        astral += c >= 0xf0;
    }
    if (m->root == 0 && astral == 0) {
        /* no astral code points: both count alike */
        *upos = pos;
        *udel = del;
        m->tail = m->tail - del + k;
        return 0;
    }
    if (reserve(m, astral))
        return -2;
    ytrace_node *t = m->nodes;
    /* the text is (root, tail); cut it into a | b | c at pos and pos + del */
    uint32_t a, b, c;
    uint64_t at, bt, ct = m->tail;
    uint64_t rcps = t[m->root].cps;
    if (pos <= rcps)
        split(t, m->root, pos, &a, &b, &at);
    else {
        a = m->root;
        b = 0;
        at = pos - rcps;
        ct -= at;
    }
    *upos = t[a].cps + t[a].n + at;
    if (del <= t[b].cps)
        split(t, b, del, &b, &c, &bt);
    else {
        c = 0;
        bt = del - t[b].cps;
        ct -= bt;
    }
    *udel = t[b].cps + t[b].n + bt;
    release(m, b);
    /* a, then at + the inserted code points, then c (or ct if c is empty) */
    uint64_t run = at;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = (uint8_t)ins[i];
        if (ch >= 0xf0) {
            a = merge(m->nodes, a, alloc_node(m, run));
            run = 0;
        } else
            run += (ch & 0xc0) != 0x80;
    }
    t = m->nodes;
    if (c) {
        widen_first(t, c, run);
        m->root = merge(t, a, c);
        m->tail = ct;
    } else {
        m->root = a;
        m->tail = run + ct;
    }
    return 0;
}
