/*
 * test_rtp_stats.c — RFC 3550 receive statistics: counting across the
 * sequence-number wrap, losses and late packets, the fraction lost per
 * report interval, and jitter for steady and jittery arrivals.
 */
#include "media/rtp_stats.h"
#include "unit/tap.h"

int main(void)
{
    rtp_stats_t s;
    rtcp_rb_t rb;
    rtp_stats_init(&s, 90000);
    /* 100 packets from 65500, through the wrap, one every 10 ms, timestamps in step. */
    for (unsigned i = 0; i < 100; i++)
        rtp_stats_packet(&s, (uint16_t)(65500 + i), 900 * i, 10000ull * i);
    is_int(rtp_stats_lost(&s), 0, "no loss across the wrap");
    ok(rtp_stats_jitter_ms(&s) < 0.01, "steady arrivals: no jitter (%.3f ms)", rtp_stats_jitter_ms(&s));
    rtp_stats_report(&s, 7, 0, 0, &rb);
    is_int(rb.ext_highest_seq, 65536 + (uint16_t)(65500 + 99), "the extended highest sequence number counts a cycle");
    is_int(rb.fraction_lost, 0, "fraction lost 0");
    /* 10 more with two missing, then one of them late. */
    for (unsigned i = 100; i < 110; i++)
        if (i != 103 && i != 105)
            rtp_stats_packet(&s, (uint16_t)(65500 + i), 900 * i, 10000ull * i);
    is_int(rtp_stats_lost(&s), 2, "two missing");
    rtp_stats_packet(&s, (uint16_t)(65500 + 103), 900 * 103, 10000ull * 111);
    is_int(rtp_stats_lost(&s), 1, "a late packet is no longer lost");
    rtp_stats_report(&s, 7, 0x12345678, 65536, &rb);
    is_int(rb.fraction_lost, 256 * 1 / 10, "fraction lost over the interval: 1 of 10");
    is_int(rb.cumulative_lost, 1, "cumulative lost");
    ok(rb.lsr == 0x12345678 && rb.dlsr == 65536, "LSR and DLSR are echoed");
    ok(rb.jitter > 0, "the late packet shows as jitter (%u)", rb.jitter);
    /* A duplicate does not make the loss negative. */
    rtp_stats_t d;
    rtp_stats_init(&d, 48000);
    rtp_stats_packet(&d, 5, 0, 0);
    rtp_stats_packet(&d, 5, 0, 0);
    is_int(rtp_stats_lost(&d), 0, "duplicates count no loss");
    rtp_stats_report(&d, 1, 0, 0, &rb);
    ok(rb.cumulative_lost == -1 && rb.lsr == 0 && rb.dlsr == 0, "and a report shows them as -1 lost (RFC 3550 A.3)");
    return done_testing();
}
