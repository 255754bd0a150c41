/*
 * buf.h — a growable byte buffer (always NUL-terminated) used to build JSON,
 * HTTP bodies and SQL-free text.  Not thread-safe: one owner at a time.
 */
#ifndef IRTC_BUF_H
#define IRTC_BUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct {
    char *base;
    size_t len;
    size_t cap;
} buf_t;

void buf_init(buf_t *b);
void buf_dispose(buf_t *b);
void buf_reset(buf_t *b);
void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *p, size_t n);
void buf_puts(buf_t *b, const char *s);
void buf_putc(buf_t *b, char c);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/* Hands the storage to the caller (free() it); the buffer is left empty. */
char *buf_steal(buf_t *b);

#endif
