/*
 * dwell.h — server dwell time: how long a datagram stays inside a media
 * worker, from the kernel's receive timestamp (SO_TIMESTAMPNS) to the
 * sendmmsg that hands its last forwarded copy back to the kernel.  Sampled
 * (1 datagram in DWELL_SAMPLE_EVERY that produced output, one in flight at a
 * time), so the cost is one clock read per sample; the kernel's timestamp is
 * taken for every datagram anyway once the option is on (~20 ns).  Media is
 * fanned out at the end of its receive batch (engine_fanout): that output is
 * charged to the batch's first datagram without output of its own, the
 * earliest it can belong to, so a batch's figure is its longest.
 *
 * The histogram has four buckets per power of two from 256 ns to ~4 s
 * (precision ±9 %), exported by /metrics as irtc_media_dwell_seconds and
 * read by irtc-loadgen for p50/p99.  Pure inline functions: any thread.
 */
#ifndef IRTC_MEDIA_DWELL_H
#define IRTC_MEDIA_DWELL_H

#include <stdint.h>

#define DWELL_BUCKETS 96
#define DWELL_SAMPLE_EVERY 64

/* Bucket of a dwell of ns nanoseconds: 0 below 256 ns, then four per octave. */
static inline unsigned dwell_bucket(uint64_t ns)
{
    if (ns < 256)
        return 0;
    unsigned l = 63u - (unsigned)__builtin_clzll(ns);
    unsigned k = (l - 8) * 4 + (unsigned)((ns >> (l - 2)) & 3) + 1;
    return k < DWELL_BUCKETS ? k : DWELL_BUCKETS - 1;
}

/* Upper bound (exclusive) of bucket k in nanoseconds; the last is open. */
static inline uint64_t dwell_bucket_le_ns(unsigned k)
{
    if (k == 0)
        return 256;
    unsigned l = 8 + (k - 1) / 4, f = (k - 1) % 4;
    return ((uint64_t)1 << l) * (5 + f) / 4;
}

#endif
