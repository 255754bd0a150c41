/*
 * common.h — what every module shares: the error enum, allocation wrappers
 * that abort on exhaustion (as h2o and redis do, so callers carry no NULL
 * checks), and a few small macros.  Thread-safe: holds no state.
 */
#ifndef IRTC_COMMON_H
#define IRTC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* One shared set of return codes: 0 ok, negative on failure. */
enum {
    IRTC_OK = 0,
    IRTC_EAGAIN = -1,    /* try again later / would block */
    IRTC_EINVAL = -2,    /* bad input from a caller or a peer */
    IRTC_ENOTFOUND = -3, /* no such object */
    IRTC_ECONFLICT = -4, /* already exists / state forbids it */
    IRTC_EIO = -5,       /* file, socket or database failure */
    IRTC_EPROTO = -6,    /* a peer broke a protocol */
    IRTC_ECRYPTO = -7,   /* signature, key or cipher failure */
    IRTC_ELIMIT = -8,    /* a configured limit was reached */
};

const char *irtc_strerror(int err);

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#define IRTC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define IRTC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define IRTC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define IRTC_UNUSED(x) ((void)(x))

#endif
