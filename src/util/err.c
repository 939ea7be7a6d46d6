/* err.c: the error space and the per-thread error message. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERRMSG_SIZE 512

static _Thread_local char errmsg_buf[ERRMSG_SIZE];

const char *pkc_strerror(int err)
{
    switch (err) {
    case PKC_OK:
        return "success";
#define PKC_STRERROR_CASE_(name, value, text)                                                      \
    case PKC_ERR_##name:                                                                           \
        return text;
        PKC_ERRNO_MAP(PKC_STRERROR_CASE_)
#undef PKC_STRERROR_CASE_
    default:
        return "unknown error";
    }
}

const char *pkc_err_name(int err)
{
    switch (err) {
    case PKC_OK:
        return "PKC_OK";
#define PKC_ERRNAME_CASE_(name, value, text)                                                       \
    case PKC_ERR_##name:                                                                           \
        return "PKC_ERR_" #name;
        PKC_ERRNO_MAP(PKC_ERRNAME_CASE_)
#undef PKC_ERRNAME_CASE_
    default:
        return "PKC_ERR_UNKNOWN";
    }
}

const char *pkc_errmsg(void)
{
    return errmsg_buf;
}

int pkc_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg_buf, sizeof errmsg_buf, fmt, ap);
    va_end(ap);
    return code;
}

int pkc_error_code(int code)
{
    snprintf(errmsg_buf, sizeof errmsg_buf, "%s", pkc_strerror(code));
    return code;
}

int pkc_error_wrap(int code, const char *fmt, ...)
{
    char prefix[ERRMSG_SIZE], old[ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errmsg_buf, sizeof old);
    if (old[0] == '\0')
        snprintf(old, sizeof old, "%s", pkc_strerror(code));
    /* Truncation is acceptable: the message is for humans. */
    if (snprintf(errmsg_buf, sizeof errmsg_buf, "%s: %s", prefix, old) < 0)
        errmsg_buf[0] = '\0';
    return code;
}
