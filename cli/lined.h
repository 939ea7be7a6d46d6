/* lined.h: a small line editor for a terminal in raw mode, for pkc chat.
 *
 * The input line stays at the bottom of the terminal; text printed with
 * lined_print() appears above it and the line is drawn again after it, so
 * output may arrive while a person types. One line of the screen: a line
 * longer than the terminal scrolls sideways. UTF-8: a character is one
 * cursor step and is never split. One thread uses an editor; nothing else
 * may write to the terminal while it is open.
 *
 * The terminal is restored by lined_free(), at exit (atexit) and when the
 * process crashes (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT: restored, then
 * the previous handler runs). Signals that end the program otherwise
 * (SIGINT, SIGTERM, SIGHUP) are the caller's: it must end through
 * lined_free() or exit().
 */
#ifndef PKC_CLI_LINED_H
#define PKC_CLI_LINED_H

#include <stddef.h>
#include <stdint.h>

typedef struct lined lined;

/* What lined_next() found. */
enum {
    LINED_NONE = 0, /* nothing more until the terminal is readable again */
    LINED_LINE,     /* a line was entered (Enter) */
    LINED_EOF,      /* Ctrl-D on an empty line */
    LINED_INTR,     /* Ctrl-C */
};

/* Puts the terminal (in_fd and out_fd, both terminals) in raw mode and draws
 * `prompt` (ASCII, copied). Returns NULL if they are not terminals or raw
 * mode cannot be set. */
lined *lined_new(int in_fd, int out_fd, const char *prompt);
/* Clears the input line, restores the terminal and frees. Accepts NULL. */
void lined_free(lined *e);

/* Reads what the terminal has; call when in_fd is readable. Returns 0, or
 * -1 at the end of input or on an error. */
int lined_read(lined *e);
/* Handles the keys read so far until a line is complete: returns one of
 * LINED_*. For LINED_LINE, *line is the line (malloc'd, UTF-8, without the
 * newline). Call until it returns LINED_NONE. */
int lined_next(lined *e, char **line);

/* Prints `text` (UTF-8 without control characters except '\n'; see
 * term_clean) above the input line, wrapped at the terminal's width at
 * spaces where it can, continuation lines indented by `indent` columns. */
void lined_print(lined *e, const char *text, int indent);
/* Adds a line to the history (Up/Down); empty lines and a repeat of the
 * last one are not added. */
void lined_history_add(lined *e, const char *line);
/* Replaces the prompt (ASCII, copied; up to 127 bytes) and redraws the
 * input line: a status that updates in place (pkc chat's sync progress). */
void lined_set_prompt(lined *e, const char *prompt);
/* The terminal's size changed (SIGWINCH): redraws. */
void lined_resize(lined *e);
/* After the process was stopped and continued (SIGCONT): raw mode again,
 * redraw. */
void lined_resume(lined *e);

/* Text from elsewhere made safe to show on a terminal: invalid UTF-8 becomes
 * U+FFFD, control characters (C0 other than '\n' when `keep_newlines`, DEL,
 * C1) and the bidirectional overrides become U+FFFD, '\t' a space, "\r\n"
 * a newline. Returns a malloc'd NUL-terminated string, or NULL (no memory). */
char *term_clean(const void *data, size_t len, int keep_newlines);
/* Columns of the UTF-8 text (wcwidth in a UTF-8 locale, else one per
 * character). */
int term_width(const char *s, size_t len);

#endif
