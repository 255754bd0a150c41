/*
 * log.h — the process log: levels, text or JSON lines on stderr (or a file
 * reopened on SIGHUP).  Any thread may log; each line is one write(2) so lines
 * never interleave.  Never log secrets or tokens: callers pass redacted text.
 * The packet path must not log per packet: use log_ratelimited.
 */
#ifndef IRTC_LOG_H
#define IRTC_LOG_H

#include <stdarg.h>
#include <stdint.h>

typedef enum { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;
typedef enum { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON } log_format_t;

/* Sets level and format; path NULL means stderr. Returns 0 or IRTC_EIO. */
int log_setup(log_level_t level, log_format_t format, const char *path);
/* Reopens the log file (SIGHUP, after logrotate). No-op on stderr. */
int log_reopen(void);
int log_level_parse(const char *s, log_level_t *out);
int log_format_parse(const char *s, log_format_t *out);
int log_enabled(log_level_t level);

void log_write(log_level_t level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_vwrite(log_level_t level, const char *module, const char *fmt, va_list ap);

#define log_debug(mod, ...) log_write(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...) log_write(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_write(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_write(LOG_LEVEL_ERROR, mod, __VA_ARGS__)

/* At most one line per interval_ms for this call site; state is per site. */
#define log_ratelimited(level, mod, interval_ms, ...)                                                         \
    do {                                                                                                      \
        static _Atomic uint64_t log_rl_last_;                                                                 \
        if (log_ratelimit_pass(&log_rl_last_, (interval_ms)))                                                 \
            log_write(level, mod, __VA_ARGS__);                                                               \
    } while (0)
int log_ratelimit_pass(_Atomic uint64_t *last_ms, uint64_t interval_ms);

#endif
