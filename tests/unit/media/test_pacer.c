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
#include "unit/tap.h"

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
    int64_t allowed; /* bit·µs the pacer's announced rates allowed up to `at` */
} sent_t;

static sent_t SENT[200000];
static size_t n_sent;
static uint64_t ENQ[400000]; /* enqueue time per handle */

/* The integral of rate_bps over time, as the pacer announced it after each
 * call (constant until the next one). */
static int64_t allowed;
static uint64_t allowed_t, allowed_rate, max_rate;

static void track(uint64_t now)
{
    allowed += (int64_t)(allowed_rate * (now - allowed_t));
    allowed_t = now;
}

static void tracked(void)
{
    allowed_rate = P.rate_bps;
    max_rate = IRTC_MAX(max_rate, P.rate_bps);
}

static void track_reset(uint64_t now)
{
    allowed = 0;
    allowed_t = now;
    max_rate = 0;
    tracked();
}

static int push(uint32_t h, size_t size, pacer_class_t cls, uint64_t now)
{
    uint32_t evicted;
    track(now);
    int rc = pacer_push(&P, h, size, cls, now, &evicted);
    tracked();
    if (h < IRTC_ARRAY_SIZE(ENQ))
        ENQ[h] = now;
    return rc;
}

/* Polls until idle, recording what was sent; padding requests are answered
 * with pad bytes (0: none available). */
static void drain(uint64_t now, size_t pad)
{
    pacer_out_t o;
    pacer_action_t a;
    track(now);
    while ((a = pacer_poll(&P, now, &o)) != PACER_IDLE) {
        if (a == PACER_SEND) {
            SENT[n_sent++] = (sent_t){now, o.handle, o.size, o.cls, o.probe_id, allowed};
        } else if (a == PACER_PAD) {
            size_t bytes = IRTC_MIN(pad, (size_t)o.size);
            if (bytes > 0)
                SENT[n_sent++] = (sent_t){now, UINT32_MAX, (uint16_t)bytes, 9, o.probe_id, allowed};
            pacer_padding_sent(&P, bytes, now);
        }
    }
    tracked();
}

/* max over i < j of (bits sent in [i, j)) - (bits allowed in [t_i, t_j]), in
 * bit·µs: the budget argument in pacer.c says it never exceeds the credit. */
static int64_t worst_excess(const sent_t *s, size_t n)
{
    int64_t prefix = 0, min_base = INT64_MAX, worst = INT64_MIN;
    for (size_t j = 0; j < n; j++) {
        int64_t base = prefix - s[j].allowed;
        if (base < min_base)
            min_base = base;
        if (j > 0)
            worst = IRTC_MAX(worst, base - min_base);
        prefix += (int64_t)s[j].size * 8 * 1000000;
    }
    return worst;
}

typedef struct {
    double sent_bps, offered_bps;
    int64_t excess;
    uint64_t max_wait_us, audio_wait_us;
    size_t dropped_full;
} load_t;

/* 60 s of random traffic offered at about `load` x the pacing rate: video
 * and RTX packets of 200-1200 bytes for 0.75 of it, keyframe bursts for 0.2
 * (one every 2 s on average), audio every 20 ms; polls 0.1-6 ms apart. */
static load_t run_load(double load, uint64_t target)
{
    uint64_t now = 1000000;
    pacer_init(&P, target, now);
    track_reset(now);
    n_sent = 0;
    uint32_t h = 0;
    load_t r = {0};
    double pacing = (double)P.pacing_bps, tokens = 0;
    uint64_t offered = 0, t0 = now, dt = 0;
    for (uint64_t end = now + 60000000, next_audio = now; now < end; now += dt) {
        if (now >= next_audio) {
            r.dropped_full += push(h++, 120, PACER_AUDIO, now) != IRTC_OK;
            offered += 120;
            next_audio += 20000;
        }
        tokens += 0.75 * load * pacing * (double)dt / 8e6;
        if (rnd() % 2000000 < dt) /* a keyframe: 2 s worth of 0.2 x load */
            tokens += 0.2 * load * pacing * 2 / 8;
        while (tokens > 0) {
            size_t size = 200 + rnd() % 1000;
            r.dropped_full += push(h++, size, rnd() % 10 ? PACER_VIDEO : PACER_RTX, now) != IRTC_OK;
            offered += size;
            tokens -= (double)size;
        }
        drain(now, 0);
        dt = 100 + rnd() % 5900;
    }
    for (size_t i = 0; i < n_sent; i++) {
        uint64_t wait = SENT[i].at - ENQ[SENT[i].handle];
        r.max_wait_us = IRTC_MAX(r.max_wait_us, wait);
        if (SENT[i].cls == PACER_AUDIO)
            r.audio_wait_us = IRTC_MAX(r.audio_wait_us, wait);
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < n_sent; i++)
        bytes += SENT[i].size;
    r.sent_bps = (double)bytes * 8 / ((double)(now - t0) / 1e6);
    r.offered_bps = (double)offered * 8 / ((double)(now - t0) / 1e6);
    r.excess = worst_excess(SENT, n_sent);
    return r;
}

static void test_budget(void)
{
    uint64_t target = 800000, pacing = (uint64_t)(target * PACER_FACTOR);
    int64_t credit = (int64_t)(pacing * PACER_MAX_CREDIT_US);

    load_t r = run_load(0.6, target);
    ok(r.excess <= credit && max_rate <= PACER_MAX_BOOST * pacing,
       "60 %% load (%.0f kbps): bytes in any interval within the announced rates + %d ms credit (peak rate %.1fx)",
       r.offered_bps / 1000, PACER_MAX_CREDIT_US / 1000, (double)max_rate / (double)pacing);
    ok(r.max_wait_us < PACER_MAX_QUEUE_DELAY_US && r.audio_wait_us < 20000,
       "60 %% load: waits at most %.0f ms, audio %.1f ms", r.max_wait_us / 1000.0, r.audio_wait_us / 1000.0);

    r = run_load(1.15, target);
    uint64_t old = P.dropped_old[PACER_VIDEO] + P.dropped_old[PACER_RTX];
    ok(r.excess <= credit, "115 %% load: bytes in any interval within the announced rates + credit (worst %.2f ms)",
       (double)r.excess / (double)pacing / 1000);
    ok(max_rate > pacing && max_rate <= PACER_MAX_BOOST * pacing && r.sent_bps > 0.99 * r.offered_bps,
       "115 %% load: sped up to at most %.1fx the pacing rate, sent %.0f of %.0f kbps offered",
       (double)max_rate / (double)pacing, r.sent_bps / 1000, r.offered_bps / 1000);
    /* The speed-up aims at the oldest packet's deadline; newer audio and
     * retransmissions overtaking it can make it a little late. */
    ok(old == 0 && r.dropped_full == 0 && r.audio_wait_us < 20000,
       "115 %% load: nothing dropped; longest wait %.0f ms (aim %d), audio %.1f ms", r.max_wait_us / 1000.0,
       PACER_MAX_QUEUE_DELAY_US / 1000, r.audio_wait_us / 1000.0);

    r = run_load(5, target);
    old = P.dropped_old[PACER_VIDEO] + P.dropped_old[PACER_RTX];
    ok(r.excess <= credit && r.sent_bps <= PACER_MAX_BOOST * pacing * 1.01,
       "5x overload: never over %dx the pacing rate (%.0f kbps)", PACER_MAX_BOOST, r.sent_bps / 1000);
    ok(old > 0 && P.dropped_old[PACER_AUDIO] == 0 && P.dropped_full[PACER_AUDIO] == 0 && r.audio_wait_us < 20000,
       "5x overload: %llu stale video/RTX shed, no audio lost, audio waited under %.1f ms", (unsigned long long)old,
       r.audio_wait_us / 1000.0);
}

/* A keyframe of `bytes` queued at once, target 1 Mbps: sent in what span,
 * with at most how many bytes in any 10 ms, and how many dropped. */
static void keyframe(size_t bytes, uint64_t *span, size_t *worst10, size_t *dropped)
{
    uint64_t t0 = 5000000;
    pacer_init(&P, 1000000, t0);
    track_reset(t0);
    n_sent = 0;
    for (uint32_t i = 0; i * 1200 < bytes; i++)
        push(i, 1200, PACER_VIDEO, t0);
    for (uint64_t now = t0; P.n > 0; now += 1000)
        drain(now, 0);
    *span = SENT[n_sent - 1].at - SENT[0].at;
    *worst10 = 0;
    for (size_t i = 0, j = 0; j < n_sent; j++) { /* bytes in any 10 ms */
        while (SENT[j].at - SENT[i].at >= 10000)
            i++;
        size_t b = 0;
        for (size_t k = i; k <= j; k++)
            b += SENT[k].size;
        *worst10 = IRTC_MAX(*worst10, b);
    }
    *dropped = P.dropped_old[PACER_VIDEO];
}

static void test_keyframe(void)
{
    uint64_t pacing = (uint64_t)(1000000 * PACER_FACTOR), span;
    size_t worst, dropped, cap = pacing / 8 / 100 + 1200;
    keyframe(48000, &span, &worst, &dropped);
    double want = 48000.0 * 8 / (double)pacing * 1e6;
    ok(worst <= cap && dropped == 0, "48 KB keyframe, 1 Mbps target: at most %zu bytes in any 10 ms (%.1f Mbps pacing)",
       worst, (double)pacing / 1e6);
    ok(span >= 0.97 * want && span <= 1.01 * want, "48 KB keyframe: spread over %.0f ms (%.0f at the pacing rate)",
       (double)span / 1000, want / 1000);
    keyframe(150000, &span, &worst, &dropped);
    ok(dropped == 0 && span <= PACER_MAX_QUEUE_DELAY_US,
       "150 KB keyframe: sped up to leave within %d ms (%.0f ms), none of it dropped", PACER_MAX_QUEUE_DELAY_US / 1000,
       (double)span / 1000);
    ok(worst <= 2400000 / 8 / 100 + 1200 + pacing / 8 * PACER_MAX_CREDIT_US / 1000000,
       "150 KB keyframe: still no burst, at most %zu bytes in any 10 ms (2.4 Mbps)", worst);
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
    pacer_init(&P, 20000, t0); /* 30 kbps pacing, 90 kbps at most: 100 x 1000 bytes cannot leave in time */
    track_reset(t0);
    n_sent = 0;
    for (uint32_t i = 0; i < 100; i++)
        push(i, 1000, PACER_VIDEO, t0);
    for (uint64_t now = t0, i = 0; now < t0 + 2000000; now += 5000) {
        if (i < 30 && now >= t0 + 10000 * i)
            push(1000 + (uint32_t)i++, 100, PACER_AUDIO, now);
        drain(now, 0);
    }
    size_t audio = 0, video = 0;
    uint64_t worst = 0;
    for (size_t i = 0; i < n_sent; i++) {
        audio += SENT[i].cls == PACER_AUDIO;
        video += SENT[i].cls == PACER_VIDEO;
        if (SENT[i].cls == PACER_VIDEO)
            worst = IRTC_MAX(worst, SENT[i].at - ENQ[SENT[i].handle]);
    }
    is_int(audio, 30, "hopeless backlog: all audio sent, none dropped");
    ok(max_rate == PACER_MAX_BOOST * P.pacing_bps, "hopeless backlog: sped up to %dx, no more", PACER_MAX_BOOST);
    ok(video + P.dropped_old[PACER_VIDEO] == 100 && P.dropped_old[PACER_VIDEO] > 80 && worst <= PACER_DROP_AGE_US,
       "hopeless backlog: %zu video sent within %d ms, %llu dropped once stale", video, PACER_DROP_AGE_US / 1000,
       (unsigned long long)P.dropped_old[PACER_VIDEO]);
    ok(P.n == 0 && pacer_queue_delay_us(&P) == 0, "queue empty: zero delay");
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
    uint64_t t0 = 3000000, pacing = (uint64_t)(400000 * PACER_FACTOR);
    uint64_t gap = (8000ull * 1000000 + pacing - 1) / pacing; /* 1000 bytes */
    uint32_t evicted;
    pacer_init(&P, 400000, t0);
    ok(pacer_next_us(&P, t0) == UINT64_MAX, "empty: never");
    pacer_push(&P, 1, 1000, PACER_VIDEO, t0, &evicted);
    pacer_push(&P, 2, 1000, PACER_VIDEO, t0, &evicted);
    is_int(pacer_next_us(&P, t0), t0, "fresh budget: now");
    pacer_out_t o;
    is_int(pacer_poll(&P, t0, &o), PACER_SEND, "first packet at once");
    uint64_t next = pacer_next_us(&P, t0);
    is_int(next, t0 + gap, "second packet due after 1000 bytes at the pacing rate");
    is_int(pacer_poll(&P, next - 1, &o), PACER_IDLE, "1 us early: idle");
    is_int(pacer_poll(&P, next, &o), PACER_SEND, "on time: sent");
    pacer_set_target(&P, 800000, next);
    pacer_push(&P, 3, 1000, PACER_VIDEO, next, &evicted);
    is_int(pacer_next_us(&P, next), next + (8000ull * 1000000 + 2 * pacing - 1) / (2 * pacing),
           "after the target doubled: due twice as soon");
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
