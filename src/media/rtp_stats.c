/*
 * rtp_stats.c — RFC 3550 receive statistics (see rtp_stats.h).
 *
 * Pure; the caller's thread.  Does not: allocate, or probe new sources.
 */
#include "media/rtp_stats.h"

#include <string.h>

#include "core/common.h"

void rtp_stats_init(rtp_stats_t *s, uint32_t clock_rate)
{
    memset(s, 0, sizeof(*s));
    s->clock_rate = clock_rate ? clock_rate : 90000;
}

void rtp_stats_packet(rtp_stats_t *s, uint16_t seq, uint32_t ts, uint64_t arrival_us)
{
    if (s->received == 0) {
        s->max_seq = seq;
        s->base_seq = seq;
    } else {
        uint16_t d = (uint16_t)(seq - s->max_seq);
        if (d < 0x8000) { /* in order, possibly with a gap (A.1) */
            if (seq < s->max_seq)
                s->cycles += 65536;
            s->max_seq = seq;
        }
    }
    s->received++;
    /* A.8: the difference of relative transit times, in timestamp units. */
    int64_t arrival = (int64_t)(arrival_us * s->clock_rate / 1000000), transit = arrival - (int64_t)ts;
    if (s->received > 1) {
        int64_t d = transit - s->last_transit;
        s->jitter += ((double)(d < 0 ? -d : d) - s->jitter) / 16.0;
    }
    s->last_transit = transit;
}

void rtp_stats_recovered(rtp_stats_t *s)
{
    s->received++;
}

uint64_t rtp_stats_lost(const rtp_stats_t *s)
{
    int64_t expected = (int64_t)(s->cycles + s->max_seq) - s->base_seq + 1;
    return s->received > 0 && expected > (int64_t)s->received ? (uint64_t)(expected - s->received) : 0;
}

double rtp_stats_jitter_ms(const rtp_stats_t *s)
{
    return s->jitter * 1000.0 / s->clock_rate;
}

void rtp_stats_report(rtp_stats_t *s, uint32_t ssrc, uint32_t lsr, uint32_t dlsr_65536, rtcp_rb_t *rb)
{
    uint32_t ext_max = s->cycles + s->max_seq, expected = ext_max - s->base_seq + 1;
    uint32_t exp_int = expected - s->expected_prior, rec_int = s->received - s->received_prior;
    s->expected_prior = expected;
    s->received_prior = s->received;
    int64_t lost_int = (int64_t)exp_int - rec_int, lost = (int64_t)expected - s->received;
    memset(rb, 0, sizeof(*rb));
    rb->ssrc = ssrc;
    rb->fraction_lost = (exp_int == 0 || lost_int <= 0) ? 0 : (uint8_t)IRTC_MIN(255, (lost_int << 8) / exp_int);
    rb->cumulative_lost = (int32_t)IRTC_MAX(IRTC_MIN(lost, 0x7fffff), -0x800000); /* 24-bit signed */
    rb->ext_highest_seq = ext_max;
    rb->jitter = (uint32_t)s->jitter;
    rb->lsr = lsr;
    rb->dlsr = lsr ? dlsr_65536 : 0;
}
