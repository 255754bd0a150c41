/* common.c — allocation wrappers and error strings; see common.h. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "irtcd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t n)
{
    void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);
    if (p == NULL)
        oom(nmemb * n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

const char *irtc_strerror(int err)
{
    switch (err) {
    case IRTC_OK: return "ok";
    case IRTC_EAGAIN: return "try again";
    case IRTC_EINVAL: return "invalid argument";
    case IRTC_ENOTFOUND: return "not found";
    case IRTC_ECONFLICT: return "conflict";
    case IRTC_EIO: return "i/o error";
    case IRTC_EPROTO: return "protocol error";
    case IRTC_ECRYPTO: return "crypto error";
    case IRTC_ELIMIT: return "limit reached";
    default: return "unknown error";
    }
}
