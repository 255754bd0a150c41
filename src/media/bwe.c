/*
 * bwe.c — incoming bitrate in 100 ms bins over one second, and the REMB
 * estimate and cadence derived from it.
 *
 * Runs on the media worker owning the publisher, per packet and per RTCP
 * tick; touches only the bwe_t.
 *
 * Does not: write RTCP (rtp.c does) or measure loss.
 */
#include "media/bwe.h"

#include <string.h>

#include "core/common.h"

void bwe_init(bwe_t *b, uint64_t max_bps)
{
    memset(b, 0, sizeof *b);
    if (max_bps == 0)
        max_bps = BWE_DEFAULT_MAX_BPS;
    b->max_bps = IRTC_MAX(max_bps, (uint64_t)BWE_MIN_BPS);
}

void bwe_on_packet(bwe_t *b, size_t bytes, uint64_t now_ms)
{
    uint64_t id = now_ms / BWE_BIN_MS + 1;
    size_t i = (size_t)(id % BWE_BINS);
    if (!b->started) {
        b->started = true;
        b->first_ms = now_ms;
    }
    if (b->bin[i] != id) {
        b->bin[i] = id;
        b->bytes[i] = 0;
    }
    b->bytes[i] += bytes;
}

uint64_t bwe_incoming_bps(const bwe_t *b, uint64_t now_ms)
{
    if (!b->started)
        return 0;
    uint64_t id = now_ms / BWE_BIN_MS + 1, oldest = id > BWE_BINS ? id - BWE_BINS + 1 : 1, sum = 0;
    for (size_t i = 0; i < BWE_BINS; i++)
        if (b->bin[i] >= oldest && b->bin[i] <= id)
            sum += b->bytes[i];
    /* The window starts at the oldest bin kept, or at the first packet if
     * that is later, so the first second is not underestimated. */
    uint64_t start = IRTC_MAX((oldest - 1) * BWE_BIN_MS, b->first_ms);
    uint64_t span = now_ms > start ? now_ms - start : 0;
    span = IRTC_MAX(span, (uint64_t)BWE_BIN_MS);
    return sum * 8 * 1000 / span;
}

bool bwe_update(bwe_t *b, uint64_t now_ms, uint8_t fraction_lost, uint64_t *bitrate_bps)
{
    uint64_t in = bwe_incoming_bps(b, now_ms), est;
    unsigned loss_pct100 = fraction_lost * 100u; /* percent * 256 */
    if (loss_pct100 > 10 * 256)
        est = in * (512 - fraction_lost) / 512; /* in * (1 - loss / 2) */
    else if (loss_pct100 > 2 * 256)
        est = in;
    else
        est = in * 3 / 2;
    est = IRTC_MIN(IRTC_MAX(est, (uint64_t)BWE_MIN_BPS), b->max_bps);
    b->estimate_bps = est;
    *bitrate_bps = est;

    bool due = !b->remb_sent || now_ms - b->remb_ms >= BWE_REMB_INTERVAL_MS ||
               est * 100 <= b->remb_bps * (100 - BWE_REMB_DROP_PCT);
    if (due) {
        b->remb_sent = true;
        b->remb_ms = now_ms;
        b->remb_bps = est;
    }
    return due;
}
