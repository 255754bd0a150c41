/*
 * test_dwell.c — the dwell-time histogram's buckets (media/dwell.h): every
 * value falls in the bucket whose bounds hold it, bounds grow by at most
 * 25 %, and the ends are clamped.
 */
#include "media/dwell.h"
#include "unit/tap.h"

int main(void)
{
    ok(dwell_bucket(0) == 0 && dwell_bucket(255) == 0, "below 256 ns: bucket 0");
    ok(dwell_bucket(256) == 1, "256 ns opens bucket 1");
    int inside = 0, total = 0, growth_ok = 1;
    for (unsigned k = 1; k < DWELL_BUCKETS - 1; k++) {
        uint64_t lo = dwell_bucket_le_ns(k - 1), hi = dwell_bucket_le_ns(k);
        total += 3;
        inside += dwell_bucket(lo) == k;
        inside += dwell_bucket(hi - 1) == k;
        inside += dwell_bucket((lo + hi) / 2) == k;
        if (hi <= lo || (double)hi / (double)lo > 1.26)
            growth_ok = 0;
    }
    ok(inside == total, "each bucket holds [previous bound, its bound) (%d/%d)", inside, total);
    ok(growth_ok, "bounds grow by at most 25 %% per bucket");
    ok(dwell_bucket(1000) == dwell_bucket(999) || dwell_bucket_le_ns(dwell_bucket(1000)) > 1000, "1 us lands right");
    ok(dwell_bucket(UINT64_MAX) == DWELL_BUCKETS - 1, "huge values clamp to the last bucket");
    ok(dwell_bucket_le_ns(DWELL_BUCKETS - 2) > 3000000000ull, "the histogram reaches past 3 s");
    return done_testing();
}
