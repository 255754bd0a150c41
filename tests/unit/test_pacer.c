/*
 * test_pacer.c — media/pacer: the budget is never exceeded (checked over
 * every interval of a long random run), a keyframe leaves at the pacing rate
 * and not as a burst, strict priorities, the full-queue and queue-delay
 * policies, probe clusters (rate, tagging, padding requests, abandonment) and
 * pacer_next_us agreeing with pacer_poll to the microsecond.
 */
#include "media/pacer.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "tap.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static pacer_t P;

typedef struct {
    uint64_t at;
    uint32_t handle;
    uint16_t size;
    uint8_t cls;
    uint16_t probe_id;
} sent_t;

static sent_t SENT[200000];
static size_t n_sent;

/* Polls until idle, recording what was sent; padding requests are answered
 * with pad bytes (0: none available). */
static void drain(uint64_t now, size_t pad)
{
    pacer_out_t o;
    pacer_action_t a;
    while ((a = pacer_poll(&P, now, &o)) != PACER_IDLE) {
        if (a == PACER_SEND) {
            SENT[n_sent++] = (sent_t){now, o.handle, o.size, o.cls, o.probe_id};
        } else if (a == PACER_PAD) {
            size_t bytes = IRTC_MIN(pad, (size_t)o.size);
            if (bytes > 0)
                SENT[n_sent++] = (sent_t){now, UINT32_MAX, (uint16_t)bytes, 9, o.probe_id};
            pacer_padding_sent(&P, bytes, now);
        }
    }
}

/* max over i < j of (bits sent in [i, j)) - rate × (t_j - t_i), in bit·µs:
 * the budget argument in pacer.c says it never exceeds the idle credit. */
static int64_t worst_excess(const sent_t *s, size_t n, uint64_t pacing_bps)
{
    int64_t prefix = 0, min_base = INT64_MAX, worst = INT64_MIN;
    for (size_t j = 0; j < n; j++) {
        int64_t base = prefix - (int64_t)(pacing_bps * s[j].at);
        if (base < min_base)
            min_base = base;
        if (j > 0)
            worst = IRTC_MAX(worst, base - min_base);
        prefix += (int64_t)s[j].size * 8 * 1000000;
    }
    return worst;
}

static void test_budget(void)
{
    uint64_t now = 1000000, target = 800000, pacing = (uint64_t)(target * PACER_FACTOR);
    pacer_init(&P, target, now);
    n_sent = 0;
    uint32_t h = 0, evicted;
    size_t dropped = 0;
    /* 60 s of random traffic offered at ~115 % of the pacing rate, keyframes
     * of 30-150 packets, audio every 20 ms, polls 0.1-6 ms apart. */
    for (uint64_t end = now + 60000000, next_audio = now; now < end;) {
        if (now >= next_audio) {
            dropped += pacer_push(&P, h++, 120, PACER_AUDIO, now, &evicted) != IRTC_OK;
            next_audio += 20000;
        }
        uint32_t x = rnd() % 1000;
        int burst = x < 3 ? 30 + (int)(rnd() % 120) : x < 400 ? 1 + (int)(rnd() % 4) : 0;
        for (int k = 0; k < burst; k++)
            dropped +=
                pacer_push(&P, h++, 200 + rnd() % 1000, rnd() % 10 ? PACER_VIDEO : PACER_RTX, now, &evicted) != IRTC_OK;
        drain(now, 0);
        now += 100 + rnd() % 5900;
    }
    int64_t excess = worst_excess(SENT, n_sent, pacing);
    int64_t credit = (int64_t)(pacing * PACER_MAX_CREDIT_US);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n_sent; i++)
        bytes += SENT[i].size;
    double rate = (double)bytes * 8 / ((double)(SENT[n_sent - 1].at - SENT[0].at) / 1e6);
    ok(excess <= credit, "60 s random run: bytes in any interval <= rate x time + %d ms credit (worst %.2f ms)",
       PACER_MAX_CREDIT_US / 1000, (double)excess / (double)pacing / 1000);
    ok(rate > 0.98 * (double)pacing && rate <= 1.0 * (double)pacing,
       "60 s random run, backlogged: average %.0f kbps of %.0f kbps pacing", rate / 1000, (double)pacing / 1000);
    uint64_t old = P.dropped_old[PACER_VIDEO] + P.dropped_old[PACER_RTX];
    ok(dropped == 0 && old > 0 && P.dropped_old[PACER_AUDIO] == 0,
       "60 s random run: overload shed as %llu stale video/RTX packets, no audio, queue never full",
       (unsigned long long)old);
}

static void test_keyframe(void)
{
    uint64_t t0 = 5000000, target = 1000000, pacing = (uint64_t)(target * PACER_FACTOR);
    pacer_init(&P, target, t0);
    n_sent = 0;
    uint32_t evicted;
    for (uint32_t i = 0; i < 125; i++) /* a 150 KB keyframe, all at once */
        pacer_push(&P, i, 1200, PACER_VIDEO, t0, &evicted);
    for (uint64_t now = t0; P.n > 0; now += 1000)
        drain(now, 0);
    uint64_t span = SENT[n_sent - 1].at - SENT[0].at;
    size_t worst = 0;
    for (size_t i = 0, j = 0; j < n_sent; j++) { /* bytes in any 10 ms */
        while (SENT[j].at - SENT[i].at >= 10000)
            i++;
        size_t b = 0;
        for (size_t k = i; k <= j; k++)
            b += SENT[k].size;
        worst = IRTC_MAX(worst, b);
    }
    size_t cap = pacing / 8 / 100 + 1200;
    ok(worst <= cap, "150 KB keyframe: at most %zu bytes in any 10 ms (pacing %.1f Mbps allows %zu)", worst,
       (double)pacing / 1e6, cap);
    ok(span >= 470000 && span <= 490000, "150 KB keyframe: spread over %.0f ms (150 KB at 2.5 Mbps: 480 ms)",
       (double)span / 1000);
}

static void test_priorities(void)
{
    uint64_t now = 1000;
    pacer_init(&P, 100000, now);
    n_sent = 0;
    uint32_t evicted;
    for (uint32_t i = 0; i < 5; i++)
        pacer_push(&P, 100 + i, 1000, PACER_VIDEO, now, &evicted);
    for (uint32_t i = 0; i < 3; i++)
        pacer_push(&P, 200 + i, 1000, PACER_RTX, now, &evicted);
    for (uint32_t i = 0; i < 2; i++)
        pacer_push(&P, 300 + i, 100, PACER_AUDIO, now, &evicted);
    for (; P.n > 0; now += 1000)
        drain(now, 0);
    static const uint32_t want[] = {300, 301, 200, 201, 202, 100, 101, 102, 103, 104};
    bool same = n_sent == 10;
    for (size_t i = 0; same && i < 10; i++)
        same = SENT[i].handle == want[i];
    ok(same, "audio, then retransmissions, then video, each in order");

    /* Audio pushed while video waits for budget still goes first. */
    pacer_init(&P, 100000, now);
    n_sent = 0;
    for (uint32_t i = 0; i < 4; i++)
        pacer_push(&P, 400 + i, 1200, PACER_VIDEO, now, &evicted);
    drain(now, 0);
    pacer_push(&P, 500, 100, PACER_AUDIO, now + 1, &evicted);
    for (now += 1000; P.n > 0; now += 1000)
        drain(now, 0);
    ok(n_sent == 5 && SENT[0].handle == 400 && SENT[1].handle == 500, "late audio overtakes queued video");
}

static void test_full_queue(void)
{
    uint64_t now = 1000;
    uint32_t evicted = 0;
    pacer_init(&P, 100000, now);
    for (uint32_t i = 0; i < PACER_QUEUE_MAX - 1; i++)
        pacer_push(&P, i, 1000, PACER_VIDEO, now, &evicted);
    is_int(pacer_push(&P, 5000, 100, PACER_AUDIO, now, &evicted), IRTC_OK, "last free slot taken by audio");
    is_int(pacer_push(&P, 5001, 100, PACER_AUDIO, now, &evicted), IRTC_ELIMIT, "full: audio still accepted");
    is_int(evicted, 0, "full: the oldest video packet made room");
    is_int(pacer_push(&P, 5002, 1000, PACER_RTX, now, &evicted), IRTC_ELIMIT, "full: retransmission accepted");
    is_int(evicted, 1, "full: the next oldest video made room");
    is_int(pacer_push(&P, 5003, 1000, PACER_VIDEO, now, &evicted), IRTC_ELIMIT, "full: new video accepted");
    is_int(evicted, 2, "full: for new video, the oldest video goes");

    pacer_init(&P, 100000, now);
    for (uint32_t i = 0; i < PACER_QUEUE_MAX - 1; i++)
        pacer_push(&P, i, 100, PACER_AUDIO, now, &evicted);
    pacer_push(&P, 7000, 1000, PACER_RTX, now, &evicted);
    is_int(pacer_push(&P, 7001, 1000, PACER_VIDEO, now, &evicted), IRTC_ELIMIT, "all audio + RTX: video refused");
    is_int(evicted, 7001, "all audio + RTX: the new video itself is given up");
    pacer_push(&P, 7002, 100, PACER_AUDIO, now, &evicted);
    is_int(evicted, 7000, "audio evicts the retransmission before any audio");
    pacer_push(&P, 7003, 100, PACER_AUDIO, now, &evicted);
    is_int(evicted, 0, "only audio left: the oldest audio goes");
    ok(P.dropped_full[PACER_AUDIO] == 1 && P.dropped_full[PACER_VIDEO] == 1 && P.dropped_full[PACER_RTX] == 1,
       "drops counted per class");
}

static void test_queue_delay(void)
{
    uint64_t t0 = 1000000;
    uint32_t evicted;
    pacer_init(&P, 20000, t0); /* 50 kbps pacing: 100 packets of 1000 take 16 s */
    n_sent = 0;
    for (uint32_t i = 0; i < 100; i++)
        pacer_push(&P, i, 1000, PACER_VIDEO, t0, &evicted);
    for (uint32_t i = 0; i < 30; i++)
        pacer_push(&P, 1000 + i, 100, PACER_AUDIO, t0 + 10000 * i, &evicted);
    size_t drops = 0, audio = 0;
    uint64_t last_video = 0;
    pacer_out_t o;
    pacer_action_t a;
    for (uint64_t now = t0; now < t0 + 2000000; now += 5000) {
        while ((a = pacer_poll(&P, now, &o)) != PACER_IDLE) {
            if (a == PACER_DROP) {
                drops++;
                ok(o.cls == PACER_VIDEO && now > t0 + PACER_MAX_QUEUE_DELAY_US, "dropped video after %llu ms",
                   (unsigned long long)(now - t0) / 1000);
                break;
            }
            audio += o.cls == PACER_AUDIO;
            if (o.cls == PACER_VIDEO)
                last_video = now;
        }
        if (drops)
            break;
    }
    while ((a = pacer_poll(&P, t0 + 2000000, &o)) == PACER_DROP)
        drops++;
    is_int(audio, 30, "queue delay: all audio sent, none dropped");
    ok(drops == 100 - P.sent_packets[PACER_VIDEO] && P.n == 0 && last_video < t0 + PACER_MAX_QUEUE_DELAY_US + 5000,
       "queue delay: the video that waited %d ms was dropped (%zu), not sent", PACER_MAX_QUEUE_DELAY_US / 1000, drops);
    ok(pacer_queue_delay_us(&P) == 0, "queue delay: empty queue, zero delay");
}

static void test_probe(void)
{
    uint64_t t0 = 2000000, rate = 4000000;
    pacer_init(&P, 300000, t0);
    n_sent = 0;
    pacer_start_probe(&P, 7, rate, 7500, 5, t0); /* 15 ms at 4 Mbps */
    uint64_t now = t0;
    for (; now < t0 + 40000; now += 100)
        drain(now, 1000);
    uint64_t bytes = 0;
    bool tagged = true, paced = true;
    for (size_t i = 0; i < n_sent; i++) {
        paced &= bytes * 8 * 1000000 <= rate * (SENT[i].at - t0) + 100 * rate / 1000000 * 8; /* 100 us polls */
        bytes += SENT[i].size;
        tagged &= SENT[i].probe_id == 7 && SENT[i].cls == 9;
    }
    ok(n_sent == 8 && bytes == 8000, "empty queue: probe padded with 8 x 1000 bytes (%zu packets)", n_sent);
    ok(SENT[7].size == 1000, "padding asked for in full packets, even for the last bytes");
    ok(tagged && paced, "probe: padding tagged with the cluster id, sent at 4 Mbps");
    is_int(P.probes_done, 1, "probe completed");
    double span = (double)(SENT[n_sent - 1].at - SENT[0].at);
    ok(span >= 12500 && span <= 14500, "probe: 7 gaps of 2 ms (%.1f ms)", span / 1000);

    /* Media in the queue goes first, at the probe rate, tagged. */
    uint32_t evicted;
    pacer_init(&P, 300000, t0);
    n_sent = 0;
    for (uint32_t i = 0; i < 20; i++)
        pacer_push(&P, i, 1200, PACER_VIDEO, t0, &evicted);
    pacer_start_probe(&P, 8, rate, 7500, 5, t0);
    for (now = t0; now < t0 + 20000; now += 100)
        drain(now, 1000);
    size_t probe_pkts = 0;
    for (size_t i = 0; i < n_sent; i++)
        probe_pkts += SENT[i].probe_id == 8;
    ok(probe_pkts == 7 && SENT[0].probe_id == 8 && SENT[0].handle == 0 && SENT[6].handle == 6 && SENT[7].probe_id == 0,
       "queued video carries the probe (7 packets, 8400 bytes), then pacing resumes untagged");

    /* No padding available: the probe is abandoned, nothing loops. */
    pacer_init(&P, 300000, t0);
    n_sent = 0;
    pacer_start_probe(&P, 9, rate, 7500, 5, t0);
    drain(t0, 0);
    ok(n_sent == 0 && !P.probe.active && P.probes_abandoned == 1, "no padding: probe abandoned");
    pacer_start_probe(&P, 10, rate, 7500, 5, t0);
    pacer_out_t o;
    is_int(pacer_poll(&P, t0, &o), PACER_PAD, "probe asks for padding");
    is_int(pacer_poll(&P, t0 + PACER_PROBE_TIMEOUT_US + 1, &o), PACER_IDLE, "unanswered probe times out");
    is_int(P.probes_abandoned, 2, "timeout counted as abandoned");
}

static void test_next_us(void)
{
    uint64_t t0 = 3000000;
    uint32_t evicted;
    pacer_init(&P, 400000, t0); /* 1 Mbps pacing: 1000 bytes every 8 ms */
    ok(pacer_next_us(&P, t0) == UINT64_MAX, "empty: never");
    pacer_push(&P, 1, 1000, PACER_VIDEO, t0, &evicted);
    pacer_push(&P, 2, 1000, PACER_VIDEO, t0, &evicted);
    is_int(pacer_next_us(&P, t0), t0, "fresh budget: now");
    pacer_out_t o;
    is_int(pacer_poll(&P, t0, &o), PACER_SEND, "first packet at once");
    uint64_t next = pacer_next_us(&P, t0);
    is_int(next, t0 + 8000, "second packet due after 8 ms");
    is_int(pacer_poll(&P, next - 1, &o), PACER_IDLE, "1 us early: idle");
    is_int(pacer_poll(&P, next, &o), PACER_SEND, "on time: sent");
    pacer_set_target(&P, 800000, next);
    pacer_push(&P, 3, 1000, PACER_VIDEO, next, &evicted);
    is_int(pacer_next_us(&P, next), next + 4000, "after a rate increase: due sooner (4 ms)");
}

int main(void)
{
    test_budget();
    test_keyframe();
    test_priorities();
    test_full_queue();
    test_queue_delay();
    test_probe();
    test_next_us();
    return done_testing();
}
