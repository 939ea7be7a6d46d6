/* log.c: process-wide log level and handler. */
#include "util/log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"

#define LOG_LINE_MAX 1024
#define LEVEL_UNSET (-1)

static atomic_int log_level = LEVEL_UNSET;
static pkc_log_fn log_handler;
static void *log_user_data;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

const char *pkc_log_level_name(pkc_log_level level)
{
    if ((int)level < 0 || (int)level > PKC_LOG_TRACE)
        return "?";
    return level_names[level];
}

int pkc_log_level_parse(const char *name, pkc_log_level *out)
{
    if (name == NULL || out == NULL)
        return pkc_error_code(PKC_ERR_INVALID_ARG);
    if (name[0] >= '0' && name[0] <= '4' && name[1] == '\0') {
        *out = (pkc_log_level)(name[0] - '0');
        return 0;
    }
    for (int i = 0; i <= PKC_LOG_TRACE; i++) {
        const char *a = name, *b = level_names[i];
        while (*a && *b && tolower((unsigned char)*a) == *b) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0') {
            *out = (pkc_log_level)i;
            return 0;
        }
    }
    /* "warning" is what people type. */
    if (strcasecmp(name, "warning") == 0) {
        *out = PKC_LOG_WARN;
        return 0;
    }
    return pkc_error(PKC_ERR_INVALID_ARG,
                     "log level \"%.40s\": not error, warn, info, debug, trace or 0-4", name);
}

static int level_from_env(void)
{
    const char *env = getenv("PKC_LOG");
    pkc_log_level lvl;
    if (env != NULL && pkc_log_level_parse(env, &lvl) == 0)
        return (int)lvl;
    return PKC_LOG_WARN;
}

pkc_log_level pkc_log_get_level(void)
{
    int lvl = atomic_load_explicit(&log_level, memory_order_relaxed);
    if (lvl == LEVEL_UNSET) {
        int expected = LEVEL_UNSET;
        atomic_compare_exchange_strong(&log_level, &expected, level_from_env());
        lvl = atomic_load(&log_level);
    }
    return (pkc_log_level)lvl;
}

void pkc_log_set_level(pkc_log_level level)
{
    if ((int)level < PKC_LOG_ERROR)
        level = PKC_LOG_ERROR;
    if ((int)level > PKC_LOG_TRACE)
        level = PKC_LOG_TRACE;
    atomic_store(&log_level, (int)level);
}

int pkc_log_enabled(pkc_log_level level)
{
    return (int)level <= (int)pkc_log_get_level();
}

void pkc_log_set_handler(pkc_log_fn fn, void *user_data)
{
    log_handler = fn;
    log_user_data = user_data;
}

static void default_handler(pkc_log_level level, const char *subsystem, const char *message)
{
    /* One fprintf per line: stdio locks the stream, so lines from several
     * threads do not interleave. */
    fprintf(stderr, "pkc[%s] %s: %s\n", subsystem, pkc_log_level_name(level), message);
}

void pkc_log_write(pkc_log_level level, const char *subsystem, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof line)
        memcpy(line + sizeof line - 4, "...", 4);
    /* A message is one line: a newline inside would let a peer forge log lines. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (subsystem == NULL)
        subsystem = "pkc";
    pkc_log_fn fn = log_handler;
    if (fn != NULL)
        fn(log_user_data, level, subsystem, line);
    else
        default_handler(level, subsystem, line);
}
