/* err.h: setting the thread's error message while returning a code. */
#ifndef PKC_UTIL_ERR_H
#define PKC_UTIL_ERR_H

#include "pkc.h"

/* Records a detailed message for pkc_errmsg() on this thread and returns
 * `code`, so a failure path reads: return pkc_error(PKC_ERR_MALFORMED, ...). */
int pkc_error(int code, const char *fmt, ...) PKC_PRINTF(2, 3);

/* Records pkc_strerror(code) as the message (no detail) and returns code. */
int pkc_error_code(int code);

/* Prepends "prefix: " to the current message, keeping its code; returns
 * `code`. Used by callers that add context ("identity.key: ..."). */
int pkc_error_wrap(int code, const char *fmt, ...) PKC_PRINTF(2, 3);

#endif
