/*
 * test_bwe.c — media/bwe: incoming bitrate over a sliding second, the
 * estimate at low / medium / high loss, the clamps, REMB cadence, and the
 * REMB carrying the estimate (rtp.c's builder) against hand-computed bytes.
 */
#include "media/bwe.h"

#include <string.h>

#include "core/common.h"
#include "media/rtp.h"
#include "unit/tap.h"

static bool near(uint64_t got, uint64_t want, unsigned pct)
{
    uint64_t d = got > want ? got - want : want - got;
    bool ok_ = d * 100 <= want * pct;
    if (!ok_)
        printf("# got %llu, want %llu +- %u%%\n", (unsigned long long)got, (unsigned long long)want, pct);
    return ok_;
}

/* bps over [from, to) ms, one packet per ms. */
static void feed(bwe_t *b, uint64_t bps, uint64_t from, uint64_t to)
{
    for (uint64_t t = from; t < to; t++)
        bwe_on_packet(b, (size_t)(bps / 8000), t);
}

static void test_rate(void)
{
    bwe_t b;
    bwe_init(&b, 0);
    is_int(b.max_bps, BWE_DEFAULT_MAX_BPS, "max 0: default");
    is_int(bwe_incoming_bps(&b, 1000), 0, "no packets: 0 bps");

    feed(&b, 1000000, 10000, 10300);
    ok(near(bwe_incoming_bps(&b, 10300), 1000000, 2), "first 300 ms: measured since the first packet");
    feed(&b, 1000000, 10300, 13000);
    ok(near(bwe_incoming_bps(&b, 13000), 1000000, 2), "steady 1 Mbps");
    ok(near(bwe_incoming_bps(&b, 13050), 1000000 * 950 / 1000, 2), "50 ms silence: window slides");
    feed(&b, 4000000, 13000, 13500);
    /* Window 12600..13500: 400 ms at 1 Mbps and 500 ms at 4 Mbps. */
    ok(near(bwe_incoming_bps(&b, 13500), (400 * 1000000ull + 500 * 4000000ull) / 900, 1),
       "rate change: averaged over the window");
    is_int(bwe_incoming_bps(&b, 14600), 0, "over a second of silence: 0 bps");
}

static void test_estimate(void)
{
    bwe_t b;
    uint64_t bps;
    bwe_init(&b, 0);
    feed(&b, 1000000, 0, 3000);
    bwe_update(&b, 3000, 0, &bps);
    ok(near(bps, 1500000, 2), "no loss: 1.5 x incoming");
    bwe_update(&b, 3000, 5, &bps); /* 1.95 % */
    ok(near(bps, 1500000, 2), "under 2 %% loss: still 1.5 x");
    bwe_update(&b, 3000, 13, &bps); /* 5 % */
    ok(near(bps, 1000000, 2), "5 %% loss: held at the incoming rate");
    bwe_update(&b, 3000, 25, &bps); /* 9.8 % */
    ok(near(bps, 1000000, 2), "9.8 %% loss: held");
    bwe_update(&b, 3000, 51, &bps); /* 20 % */
    ok(near(bps, 900000, 2), "20 %% loss: cut by 10 %%");
    bwe_update(&b, 3000, 255, &bps);
    ok(near(bps, 502000, 2), "~100 %% loss: halved");
    is_int(b.estimate_bps, bps, "estimate kept for /metrics");

    bwe_init(&b, 0);
    feed(&b, 100000, 0, 2000);
    bwe_update(&b, 2000, 0, &bps);
    is_int(bps, BWE_MIN_BPS, "low rate: floored at 300 kbps");
    bwe_update(&b, 9000, 0, &bps);
    is_int(bps, BWE_MIN_BPS, "silence: floored at 300 kbps");

    bwe_init(&b, 0);
    feed(&b, 10000000, 0, 2000);
    bwe_update(&b, 2000, 0, &bps);
    is_int(bps, BWE_DEFAULT_MAX_BPS, "high rate: capped at the default max");
    bwe_init(&b, 2000000);
    feed(&b, 10000000, 0, 2000);
    bwe_update(&b, 2000, 0, &bps);
    is_int(bps, 2000000, "configured max");
    bwe_init(&b, 1000);
    is_int(b.max_bps, BWE_MIN_BPS, "max under the minimum is raised to it");
}

static void test_cadence(void)
{
    bwe_t b;
    uint64_t bps;
    bwe_init(&b, 0);
    feed(&b, 1000000, 0, 1000);
    ok(bwe_update(&b, 1000, 0, &bps), "first estimate: send");
    feed(&b, 1000000, 1000, 1500);
    ok(!bwe_update(&b, 1500, 0, &bps), "500 ms later, steady: wait");
    feed(&b, 1000000, 1500, 2000);
    ok(bwe_update(&b, 2000, 0, &bps), "1 s later: send");
    ok(!bwe_update(&b, 2001, 3, &bps), "tiny change: wait");
    ok(bwe_update(&b, 2002, 13, &bps), "drop to the hold rate (-33 %%): send at once");
    ok(!bwe_update(&b, 2003, 0, &bps), "increase: waits for the interval");
}

static void test_remb_bytes(void)
{
    bwe_t b;
    uint64_t bps;
    uint8_t buf[64];
    bwe_init(&b, 0);
    feed(&b, 1000000, 0, 1000);
    bwe_update(&b, 1000, 0, &bps);
    is_int(bps, 1500000, "1 Mbps for exactly one second: 1.5 Mbps");
    /* 1,500,000 = 187,500 << 3 (187,500 < 2^18): exp 3, mantissa 0x2DC6C;
     * byte 17 = 3 << 2 | 0x2 = 0x0E, then 0xDC 0x6C.  Length 24/4 - 1 = 5. */
    static const uint8_t want[] = {0x8F, 0xCE, 0x00, 0x05, 0x0A, 0x0B, 0x0C, 0x0D, 0x00, 0x00, 0x00, 0x00,
                                   0x52, 0x45, 0x4D, 0x42, 0x01, 0x0E, 0xDC, 0x6C, 0x11, 0x22, 0x33, 0x44};
    size_t len = rtcp_build_remb(buf, sizeof buf, 0x0A0B0C0D, bps, (uint32_t[]){0x11223344}, 1);
    ok(len == sizeof want && memcmp(buf, want, len) == 0, "REMB for the estimate: bytes as computed by hand");
}

int main(void)
{
    test_rate();
    test_estimate();
    test_cadence();
    test_remb_bytes();
    return done_testing();
}
