/*
 * log.c — process log writer.  State is set once at start-up (log_setup) and on
 * SIGHUP (log_reopen, control thread); writers on any thread only read the fd,
 * format into a stack buffer and emit one write(2).
 */
#include "core/log.h"
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static struct {
    log_level_t level;
    log_format_t format;
    char path[512];
    _Atomic int fd;
} g_log = {LOG_LEVEL_INFO, LOG_FORMAT_TEXT, "", 2};

static const char *level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s, log_level_t *out)
{
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return IRTC_OK;
        }
    }
    return IRTC_EINVAL;
}

int log_format_parse(const char *s, log_format_t *out)
{
    if (strcmp(s, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return IRTC_EINVAL;
    return IRTC_OK;
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int log_setup(log_level_t level, log_format_t format, const char *path)
{
    g_log.level = level;
    g_log.format = format;
    if (path == NULL || path[0] == '\0') {
        g_log.path[0] = '\0';
        return IRTC_OK;
    }
    int fd = open_log(path);
    if (fd < 0)
        return IRTC_EIO;
    snprintf(g_log.path, sizeof(g_log.path), "%s", path);
    int old = atomic_exchange(&g_log.fd, fd);
    if (old > 2)
        close(old);
    return IRTC_OK;
}

int log_reopen(void)
{
    if (g_log.path[0] == '\0')
        return IRTC_OK;
    int fd = open_log(g_log.path);
    if (fd < 0)
        return IRTC_EIO;
    int old = atomic_exchange(&g_log.fd, fd);
    /* A writer racing with us may still hold the old fd for one write; closing
     * it then yields EBADF for that one line, which is acceptable on rotation. */
    if (old > 2)
        close(old);
    return IRTC_OK;
}

int log_enabled(log_level_t level)
{
    return level >= g_log.level;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int log_ratelimit_pass(_Atomic uint64_t *last_ms, uint64_t interval_ms)
{
    uint64_t now = mono_ms() + interval_ms; /* +interval so that 0 means "never" */
    uint64_t last = atomic_load(last_ms);
    if (last != 0 && now - last < interval_ms)
        return 0;
    return atomic_compare_exchange_strong(last_ms, &last, now);
}

static size_t json_escape(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && n + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char)*p;
        } else if (*p < 0x20) {
            n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", *p);
        } else {
            dst[n++] = (char)*p;
        }
    }
    dst[n] = '\0';
    return n;
}

void log_vwrite(log_level_t level, const char *module, const char *fmt, va_list ap)
{
    if (level < g_log.level)
        return;
    char msg[2048];
    int mlen = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (mlen < 0)
        return;

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));

    char line[4096 + 64];
    int n;
    if (g_log.format == LOG_FORMAT_JSON) {
        char esc[4096];
        json_escape(esc, sizeof(esc), msg);
        n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"%s\",\"msg\":\"%s\"}\n", when,
                     level_names[level], module, esc);
    } else {
        n = snprintf(line, sizeof(line), "%s %-5s [%s] %s\n", when, level_names[level], module, msg);
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    ssize_t w;
    do {
        w = write(atomic_load(&g_log.fd), line, (size_t)n);
    } while (w < 0 && errno == EINTR);
}

void log_write(log_level_t level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, module, fmt, ap);
    va_end(ap);
}
