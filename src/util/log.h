/* log.h: leveled logging for pkc's own code. */
#ifndef PKC_UTIL_LOG_H
#define PKC_UTIL_LOG_H

#include "pkc.h"

/* Formats and delivers one message; callers use the macros below, which skip
 * the formatting when the level is disabled. */
void pkc_log_write(pkc_log_level level, const char *subsystem, const char *fmt, ...)
    PKC_PRINTF(3, 4);

/* Nonzero when messages of `level` would be delivered. */
int pkc_log_enabled(pkc_log_level level);

#define PKC_LOG_(level, subsystem, ...)                                                            \
    do {                                                                                           \
        if (pkc_log_enabled(level))                                                                \
            pkc_log_write((level), (subsystem), __VA_ARGS__);                                      \
    } while (0)

#define pkc_loge(sub, ...) PKC_LOG_(PKC_LOG_ERROR, sub, __VA_ARGS__)
#define pkc_logw(sub, ...) PKC_LOG_(PKC_LOG_WARN, sub, __VA_ARGS__)
#define pkc_logi(sub, ...) PKC_LOG_(PKC_LOG_INFO, sub, __VA_ARGS__)
#define pkc_logd(sub, ...) PKC_LOG_(PKC_LOG_DEBUG, sub, __VA_ARGS__)
#define pkc_logt(sub, ...) PKC_LOG_(PKC_LOG_TRACE, sub, __VA_ARGS__)

#endif
