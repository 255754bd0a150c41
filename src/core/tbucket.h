/*
 * tbucket.h — one token bucket: at most `burst` events at once, earned back
 * at `rate` per second.  Integer arithmetic on the caller's monotonic
 * milliseconds (an event costs 1000 units, each millisecond earns `rate`),
 * so it is exact, allocation-free and unit-testable without sleeping.
 *
 * Header-only; no locks: a bucket belongs to whoever holds it (a connection
 * on the control thread, a source address on a media worker).  Rate and
 * burst are passed on every call so a table of buckets stores 16 bytes each.
 */
#ifndef IRTC_CORE_TBUCKET_H
#define IRTC_CORE_TBUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t credit;  /* 0 .. burst * 1000 */
    uint64_t last_ms; /* when credit was last brought up to date */
} tbucket_t;

/* A full bucket at now_ms. */
static inline void tbucket_init(tbucket_t *t, unsigned burst, uint64_t now_ms)
{
    t->credit = (uint64_t)burst * 1000u;
    t->last_ms = now_ms;
}

/* Earns what elapsed since the last call (time never goes back here: an
 * earlier now_ms earns nothing). */
static inline void tbucket_refill(tbucket_t *t, unsigned rate, unsigned burst, uint64_t now_ms)
{
    uint64_t cap = (uint64_t)burst * 1000u;
    if (now_ms <= t->last_ms)
        return;
    uint64_t dt = now_ms - t->last_ms;
    t->last_ms = now_ms;
    /* dt * rate cannot overflow once dt alone would fill the bucket. */
    if (rate == 0 || dt >= cap) {
        if (rate != 0)
            t->credit = cap;
        return;
    }
    uint64_t c = t->credit + dt * rate;
    t->credit = c < cap ? c : cap;
}

/* Spends one event; false (nothing spent) when the bucket is empty. */
static inline bool tbucket_take(tbucket_t *t, unsigned rate, unsigned burst, uint64_t now_ms)
{
    tbucket_refill(t, rate, burst, now_ms);
    if (t->credit < 1000u)
        return false;
    t->credit -= 1000u;
    return true;
}

#endif
