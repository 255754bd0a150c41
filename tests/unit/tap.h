/*
 * tap.h — a minimal TAP producer for the C unit tests (Automake's tap-driver
 * reads it).  Header-only so each test is one .c file.
 */
#ifndef IRTC_TAP_H
#define IRTC_TAP_H

#include <stdio.h>
#include <string.h>
#include <stdarg.h>

static int tap_n_, tap_failed_;

static inline int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_n_++;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_n_);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        tap_failed_++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                                                \
    do {                                                                                                      \
        long long g_ = (long long)(got), w_ = (long long)(want);                                              \
        if (!ok(g_ == w_, __VA_ARGS__))                                                                       \
            printf("#   got %lld, want %lld\n", g_, w_);                                                      \
    } while (0)
#define is_str(got, want, ...)                                                                                \
    do {                                                                                                      \
        const char *g_ = (got), *w_ = (want);                                                                 \
        if (!ok(g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0, __VA_ARGS__))                                \
            printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)");                  \
    } while (0)

static inline int done_testing(void)
{
    printf("1..%d\n", tap_n_);
    return tap_failed_ ? 1 : 0;
}

#endif
