/*
 * ratelimit.h — token buckets keyed by a string (the REST API uses
 * "appId/apiName"): each key may spend `per_minute` calls in a burst and earns
 * them back evenly over one minute.  Pure bookkeeping: the caller passes the
 * (monotonic) time, so it is unit-testable without sleeping.
 *
 * Threading: one limiter belongs to one thread (the control thread); no locks.
 * Memory: one small entry per key seen; entries idle long enough to be full
 * again are forgotten, so the table holds only recently active keys.
 */
#ifndef IRTC_HTTP_RATELIMIT_H
#define IRTC_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit ratelimit_t;

/* per_minute >= 1 (0 is taken as 1). */
ratelimit_t *ratelimit_new(unsigned per_minute);
void ratelimit_free(ratelimit_t *rl);

/* Spends one call of key's bucket at now_ms.  Returns true when allowed;
 * false when the bucket is empty, with *retry_after_ms (may be NULL) set to
 * how long until one call is earned back (>= 1). now_ms must not go back. */
bool ratelimit_take(ratelimit_t *rl, const char *key, uint64_t now_ms, uint64_t *retry_after_ms);

/* Keys currently remembered (for tests and /metrics). */
size_t ratelimit_size(const ratelimit_t *rl);

#endif
