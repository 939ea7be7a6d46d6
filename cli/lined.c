/* lined.c: the line editor of pkc chat (lined.h). Raw termios and a few
 * VT100 sequences (carriage return, erase to the end of the line, cursor
 * forward), which every terminal pkc meets understands: no curses. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "lined.h"

#define LINE_MAX_BYTES 8192
#define HISTORY_MAX 500
#define INBUF_BYTES 4096
#define ESC_MAX 16

struct lined {
    int in_fd, out_fd;
    char prompt[128];
    int prompt_w;
    int cols;
    char buf[LINE_MAX_BYTES + 1];
    size_t len, pos; /* bytes; pos is on a character boundary */
    size_t scroll;   /* the first byte shown */
    char *kill;      /* the last text cut (Ctrl-Y puts it back) */
    char *hist[HISTORY_MAX];
    size_t n_hist, hpos; /* hpos == n_hist: the line being typed */
    char *scratch;       /* that line while the history is browsed */
    unsigned char in[INBUF_BYTES];
    size_t in_len, in_off;
};

/* ---- the terminal's state, restored on every way out ------------------------------------------
 */

static struct termios saved_termios;
static volatile sig_atomic_t raw_fd = -1;
static int restore_installed;
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static struct sigaction previous[sizeof crash_signals / sizeof crash_signals[0]];

static void restore_terminal(void)
{
    int fd = raw_fd;
    if (fd >= 0) {
        raw_fd = -1;
        (void)tcsetattr(fd, TCSADRAIN, &saved_termios);
    }
}

static void on_crash(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    int fd = raw_fd;
    restore_terminal();
    if (fd >= 0)
        (void)!write(fd, "\r\n", 2);
    /* The previous handler (the default, or a sanitizer's) takes over: a
     * fault happens again when this returns; a signal that was sent (kill,
     * abort) is raised again. */
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        if (crash_signals[i] == sig)
            sigaction(sig, &previous[i], NULL);
    if (sig == SIGABRT || info == NULL || info->si_code <= 0)
        raise(sig);
}

static void install_restore(void)
{
    if (restore_installed)
        return;
    restore_installed = 1;
    atexit(restore_terminal);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_crash;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        sigaction(crash_signals[i], &sa, &previous[i]);
}

static int enter_raw(int fd)
{
    struct termios raw = saved_termios;
    raw.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
    raw.c_cflag |= CS8;
    /* ISIG off: Ctrl-C and Ctrl-Z are keys (Ctrl-C leaves the chat; a
     * stopped chat would leave the terminal raw under the shell). OPOST
     * stays on: '\n' still starts a line for whoever writes to stderr. */
    raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSADRAIN, &raw) != 0)
        return -1;
    raw_fd = fd;
    return 0;
}

/* ---- UTF-8 ----------------------------------------------------------------------------------- */

/* Decodes one character of s[0..n): its length, 0 if s is a valid but
 * incomplete start, -1 if invalid. */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return 0;
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        v = (v << 6) | (s[i] & 0x3f);
        /* Reject overlong forms and surrogates as early as possible. */
        if (i == 1 && len == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)))
            return -1;
        if (i == 1 && len == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)))
            return -1;
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return -1;
    *cp = v;
    return len;
}

static int cp_width(uint32_t cp)
{
    static int utf8_locale = -1;
    if (utf8_locale < 0)
        utf8_locale = MB_CUR_MAX > 1;
    if (cp < 0x80)
        return 1;
    if (!utf8_locale)
        return 1;
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : w;
}

int term_width(const char *s, size_t len)
{
    int w = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n <= 0) {
            w++;
            i++;
            continue;
        }
        w += cp_width(cp);
        i += (size_t)n;
    }
    return w;
}

static int put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

char *term_clean(const void *data, size_t len, int keep_newlines)
{
    const unsigned char *s = data;
    /* Every input byte becomes at most 3 output bytes (U+FFFD). */
    char *out = malloc(3 * len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        int n = utf8_decode(s + i, len - i, &cp);
        if (n <= 0) {
            cp = 0xfffd;
            n = 1;
        } else if (cp == '\r' && i + 1 < len && s[i + 1] == '\n') {
            i++;
            continue;
        } else if (cp == '\t') {
            cp = ' ';
        } else if (cp == '\n' && keep_newlines) {
            /* kept */
        } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
                   (cp >= 0x2066 && cp <= 0x2069)) {
            cp = 0xfffd;
        }
        o += (size_t)put_utf8(out + o, cp);
        i += (size_t)n;
    }
    out[o] = 0;
    return out;
}

/* ---- output -----------------------------------------------------------------------------------
 */

typedef struct abuf {
    char *p;
    size_t len, cap;
    int failed;
} abuf;

static void ab_add(abuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void ab_str(abuf *b, const char *s)
{
    ab_add(b, s, strlen(s));
}

static void ab_flush(lined *e, abuf *b)
{
    size_t off = 0;
    while (!b->failed && off < b->len) {
        ssize_t w = write(e->out_fd, b->p + off, b->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int term_cols(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

static size_t next_char(const lined *e, size_t i)
{
    if (i >= e->len)
        return e->len;
    i++;
    while (i < e->len && ((unsigned char)e->buf[i] & 0xc0) == 0x80)
        i++;
    return i;
}

static size_t prev_char(const lined *e, size_t i)
{
    if (i == 0)
        return 0;
    i--;
    while (i > 0 && ((unsigned char)e->buf[i] & 0xc0) == 0x80)
        i--;
    return i;
}

/* Draws the input line: the prompt, the part of the line around the
 * cursor that fits, the cursor in its place. */
static void draw_line(lined *e, abuf *b)
{
    int avail = e->cols - e->prompt_w - 1;
    if (avail < 4)
        avail = 4;
    if (e->pos < e->scroll)
        e->scroll = e->pos;
    while (e->scroll < e->pos && term_width(e->buf + e->scroll, e->pos - e->scroll) > avail)
        e->scroll = next_char(e, e->scroll);
    /* Show as much as fits when text before the window would. */
    while (e->scroll > 0) {
        size_t p = prev_char(e, e->scroll);
        if (term_width(e->buf + p, e->len - p) > avail)
            break;
        e->scroll = p;
    }
    size_t end = e->scroll;
    int w = 0;
    while (end < e->len) {
        size_t nx = next_char(e, end);
        int cw = term_width(e->buf + end, nx - end);
        if (w + cw > avail)
            break;
        w += cw;
        end = nx;
    }
    ab_str(b, "\r");
    ab_str(b, e->prompt);
    ab_add(b, e->buf + e->scroll, end - e->scroll);
    ab_str(b, "\x1b[K\r");
    int col = e->prompt_w + term_width(e->buf + e->scroll, e->pos - e->scroll);
    if (col > 0) {
        char mv[24];
        int n = snprintf(mv, sizeof mv, "\x1b[%dC", col);
        ab_add(b, mv, (size_t)n);
    }
}

static void refresh(lined *e)
{
    abuf b = {0};
    draw_line(e, &b);
    ab_flush(e, &b);
}

/* One screen line of `s` (up to `avail` columns): its length in bytes,
 * broken after a space when there is one past the first quarter. */
static size_t wrap_at(const char *s, size_t len, int avail)
{
    size_t i = 0, last_space = 0;
    int w = 0;
    while (i < len) {
        uint32_t cp;
        int n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n <= 0)
            n = 1, cp = '?';
        int cw = cp_width(cp);
        if (w + cw > avail)
            break;
        w += cw;
        i += (size_t)n;
        if (cp == ' ' && w > avail / 4)
            last_space = i;
    }
    if (i < len && last_space > 0)
        return last_space;
    return i > 0 ? i : (len > 0 ? 1 : 0);
}

void lined_print(lined *e, const char *text, int indent)
{
    abuf b = {0};
    ab_str(&b, "\r\x1b[K");
    int cols = e->cols;
    if (indent < 0 || indent > cols / 2)
        indent = 0;
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t plen = nl ? (size_t)(nl - p) : strlen(p);
        int first = 1;
        do {
            int avail = first ? cols : cols - indent;
            if (!first)
                for (int k = 0; k < indent; k++)
                    ab_add(&b, " ", 1);
            size_t n = wrap_at(p, plen, avail);
            size_t shown = n;
            /* The space a line breaks at is not shown. */
            while (shown > 0 && p[shown - 1] == ' ' && n < plen)
                shown--;
            ab_add(&b, p, shown);
            ab_str(&b, "\r\n");
            p += n;
            plen -= n;
            first = 0;
        } while (plen > 0);
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    draw_line(e, &b);
    ab_flush(e, &b);
}

/* ---- editing ----------------------------------------------------------------------------------
 */

static void set_line(lined *e, const char *s)
{
    size_t n = strlen(s);
    if (n > LINE_MAX_BYTES)
        n = LINE_MAX_BYTES;
    while (n > 0 && n < strlen(s) && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    memcpy(e->buf, s, n);
    e->buf[n] = 0;
    e->len = e->pos = n;
    e->scroll = 0;
}

static void insert(lined *e, const char *s, size_t n)
{
    if (e->len + n > LINE_MAX_BYTES)
        return;
    memmove(e->buf + e->pos + n, e->buf + e->pos, e->len - e->pos);
    memcpy(e->buf + e->pos, s, n);
    e->len += n;
    e->pos += n;
    e->buf[e->len] = 0;
}

/* Removes [from, to), keeping it for Ctrl-Y when `keep`. */
static void cut(lined *e, size_t from, size_t to, int keep)
{
    if (to <= from)
        return;
    if (keep) {
        char *k = malloc(to - from + 1);
        if (k) {
            memcpy(k, e->buf + from, to - from);
            k[to - from] = 0;
            free(e->kill);
            e->kill = k;
        }
    }
    memmove(e->buf + from, e->buf + to, e->len - to);
    e->len -= to - from;
    e->buf[e->len] = 0;
    if (e->pos > to)
        e->pos -= to - from;
    else if (e->pos > from)
        e->pos = from;
}

static size_t word_left(const lined *e, size_t i)
{
    while (i > 0 && e->buf[i - 1] == ' ')
        i--;
    while (i > 0 && e->buf[i - 1] != ' ')
        i--;
    return i;
}

static size_t word_right(const lined *e, size_t i)
{
    while (i < e->len && e->buf[i] == ' ')
        i++;
    while (i < e->len && e->buf[i] != ' ')
        i++;
    return i;
}

static void history_move(lined *e, int up)
{
    if (up) {
        if (e->hpos == 0)
            return;
        if (e->hpos == e->n_hist) {
            free(e->scratch);
            e->scratch = strdup(e->buf);
        }
        e->hpos--;
        set_line(e, e->hist[e->hpos]);
    } else {
        if (e->hpos >= e->n_hist)
            return;
        e->hpos++;
        set_line(e, e->hpos == e->n_hist ? (e->scratch ? e->scratch : "") : e->hist[e->hpos]);
    }
}

void lined_history_add(lined *e, const char *line)
{
    if (line[0] == 0 || (e->n_hist && strcmp(e->hist[e->n_hist - 1], line) == 0))
        goto done;
    char *copy = strdup(line);
    if (copy == NULL)
        goto done;
    if (e->n_hist == HISTORY_MAX) {
        free(e->hist[0]);
        memmove(e->hist, e->hist + 1, (HISTORY_MAX - 1) * sizeof e->hist[0]);
        e->n_hist--;
    }
    e->hist[e->n_hist++] = copy;
done:
    e->hpos = e->n_hist;
}

enum { K_NONE = 0, K_UP = 0x100, K_DOWN, K_RIGHT, K_LEFT, K_HOME, K_END, K_DEL, K_WLEFT, K_WRIGHT };

/* The key of an arrow, Home or End sequence's final byte (ESC O x or
 * ESC [ ... x); `ctrl`: with Ctrl or Alt (a word left or right). */
static void arrow_key(char c, int ctrl, int *key)
{
    switch (c) {
    case 'A':
        *key = K_UP;
        break;
    case 'B':
        *key = K_DOWN;
        break;
    case 'C':
        *key = ctrl ? K_WRIGHT : K_RIGHT;
        break;
    case 'D':
        *key = ctrl ? K_WLEFT : K_LEFT;
        break;
    case 'H':
        *key = K_HOME;
        break;
    case 'F':
        *key = K_END;
        break;
    }
}

/* Parses an escape sequence at in[0] (ESC): its length, 0 if incomplete,
 * and the key (K_NONE for those it ignores). */
static size_t parse_escape(const unsigned char *in, size_t n, int *key)
{
    *key = K_NONE;
    if (n < 2)
        return 0;
    if (in[1] == 'O') {
        if (n < 3)
            return 0;
        arrow_key(in[2], 0, key);
        return 3;
    }
    if (in[1] != '[') {
        /* Alt+key and a lone Escape: the Escape is dropped, the key kept. */
        return 1;
    }
    size_t i = 2;
    while (i < n && i < ESC_MAX && in[i] >= 0x20 && in[i] <= 0x3f)
        i++;
    if (i >= ESC_MAX)
        return i;
    if (i >= n)
        return 0;
    if (in[i] < 0x40 || in[i] > 0x7e)
        return i; /* not a sequence: dropped up to here */
    char params[ESC_MAX + 1];
    memcpy(params, in + 2, i - 2);
    params[i - 2] = 0;
    int ctrl = strcmp(params, "1;5") == 0 || strcmp(params, "1;3") == 0;
    switch (in[i]) {
    case '~':
        if (strcmp(params, "1") == 0 || strcmp(params, "7") == 0)
            *key = K_HOME;
        else if (strcmp(params, "4") == 0 || strcmp(params, "8") == 0)
            *key = K_END;
        else if (strcmp(params, "3") == 0)
            *key = K_DEL;
        break;
    default:
        arrow_key(in[i], ctrl, key);
    }
    return i + 1;
}

static char *take_line(lined *e)
{
    char *line = strdup(e->buf);
    e->len = e->pos = e->scroll = 0;
    e->buf[0] = 0;
    free(e->scratch);
    e->scratch = NULL;
    e->hpos = e->n_hist;
    return line;
}

int lined_next(lined *e, char **line)
{
    *line = NULL;
    int changed = 0, result = LINED_NONE;
    while (result == LINED_NONE && e->in_off < e->in_len) {
        const unsigned char *in = e->in + e->in_off;
        size_t n = e->in_len - e->in_off, used = 1;
        int key = in[0];
        if (key == 0x1b) {
            used = parse_escape(in, n, &key);
            if (used == 0)
                break; /* the rest comes with the next read */
        } else if (key >= 0x80) {
            uint32_t cp;
            int len = utf8_decode(in, n, &cp);
            if (len == 0)
                break;
            if (len < 0) {
                key = K_NONE;
            } else {
                used = (size_t)len;
                /* C1 controls and the bidi overrides are not typed text. */
                if (cp >= 0xa0 && !(cp >= 0x202a && cp <= 0x202e) &&
                    !(cp >= 0x2066 && cp <= 0x2069))
                    insert(e, (const char *)in, used);
                key = K_NONE;
            }
        }
        e->in_off += used;
        changed = 1;
        switch (key) {
        case K_NONE:
            break;
        case '\r':
        case '\n':
            *line = take_line(e);
            result = *line ? LINED_LINE : LINED_NONE;
            break;
        case 0x03: /* Ctrl-C */
            result = LINED_INTR;
            break;
        case 0x04: /* Ctrl-D: the end on an empty line, else Delete */
            if (e->len == 0)
                result = LINED_EOF;
            else
                cut(e, e->pos, next_char(e, e->pos), 0);
            break;
        case K_DEL:
            cut(e, e->pos, next_char(e, e->pos), 0);
            break;
        case 0x7f:
        case 0x08: /* Backspace */
            cut(e, prev_char(e, e->pos), e->pos, 0);
            break;
        case 0x01: /* Ctrl-A */
        case K_HOME:
            e->pos = 0;
            break;
        case 0x05: /* Ctrl-E */
        case K_END:
            e->pos = e->len;
            break;
        case 0x02: /* Ctrl-B */
        case K_LEFT:
            e->pos = prev_char(e, e->pos);
            break;
        case 0x06: /* Ctrl-F */
        case K_RIGHT:
            e->pos = next_char(e, e->pos);
            break;
        case K_WLEFT:
            e->pos = word_left(e, e->pos);
            break;
        case K_WRIGHT:
            e->pos = word_right(e, e->pos);
            break;
        case 0x15: /* Ctrl-U: to the start */
            cut(e, 0, e->pos, 1);
            break;
        case 0x0b: /* Ctrl-K: to the end */
            cut(e, e->pos, e->len, 1);
            break;
        case 0x17: /* Ctrl-W: the word before the cursor */
            cut(e, word_left(e, e->pos), e->pos, 1);
            break;
        case 0x19: /* Ctrl-Y */
            if (e->kill)
                insert(e, e->kill, strlen(e->kill));
            break;
        case 0x10: /* Ctrl-P */
        case K_UP:
            history_move(e, 1);
            break;
        case 0x0e: /* Ctrl-N */
        case K_DOWN:
            history_move(e, 0);
            break;
        case 0x0c: /* Ctrl-L: clear the screen */
            (void)!write(e->out_fd, "\x1b[H\x1b[2J", 7);
            break;
        default:
            if (key >= 0x20 && key < 0x7f) {
                char c = (char)key;
                insert(e, &c, 1);
            }
            break;
        }
    }
    if (e->in_off == e->in_len)
        e->in_off = e->in_len = 0;
    if (changed)
        refresh(e);
    return result;
}

int lined_read(lined *e)
{
    if (e->in_off > 0) {
        memmove(e->in, e->in + e->in_off, e->in_len - e->in_off);
        e->in_len -= e->in_off;
        e->in_off = 0;
    }
    if (e->in_len == sizeof e->in)
        e->in_len = 0; /* a sequence that never ends: dropped */
    for (;;) {
        ssize_t r = read(e->in_fd, e->in + e->in_len, sizeof e->in - e->in_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r <= 0)
            return -1;
        e->in_len += (size_t)r;
        return 0;
    }
}

/* ---- setup ------------------------------------------------------------------------------------
 */

lined *lined_new(int in_fd, int out_fd, const char *prompt)
{
    if (!isatty(in_fd) || !isatty(out_fd))
        return NULL;
    lined *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->in_fd = in_fd;
    e->out_fd = out_fd;
    snprintf(e->prompt, sizeof e->prompt, "%s", prompt);
    e->prompt_w = term_width(e->prompt, strlen(e->prompt));
    if (tcgetattr(in_fd, &saved_termios) != 0) {
        free(e);
        return NULL;
    }
    install_restore();
    if (enter_raw(in_fd) != 0) {
        free(e);
        return NULL;
    }
    e->cols = term_cols(out_fd);
    refresh(e);
    return e;
}

void lined_set_prompt(lined *e, const char *prompt)
{
    if (strcmp(e->prompt, prompt) == 0)
        return;
    snprintf(e->prompt, sizeof e->prompt, "%s", prompt);
    e->prompt_w = term_width(e->prompt, strlen(e->prompt));
    refresh(e);
}

void lined_resize(lined *e)
{
    e->cols = term_cols(e->out_fd);
    refresh(e);
}

void lined_resume(lined *e)
{
    (void)enter_raw(e->in_fd);
    lined_resize(e);
}

void lined_free(lined *e)
{
    if (e == NULL)
        return;
    (void)!write(e->out_fd, "\r\x1b[K", 4);
    restore_terminal();
    for (size_t i = 0; i < e->n_hist; i++)
        free(e->hist[i]);
    free(e->scratch);
    free(e->kill);
    free(e);
}
