/*
 * test_twcc_send.c — media/twcc_send: the send history and the feedback
 * decoder.  Hand-built feedback packets (bytes computed here from the text of
 * draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) pin the decoding;
 * a round trip through the receiver (media/twcc.c builds feedback from the
 * arrivals we feed it) checks every packet's fate and arrival time under
 * loss, reordering, the 16-bit wrap, lost, duplicated and reordered feedback;
 * malformed and random feedback must be rejected or decoded without harm.
 */
#include "media/twcc_send.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "media/twcc.h"
#include "media/rtp.h"
#include "unit/tap.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static twcc_send_t T, SAVED;
static twcc_result_t R[70000];

/* Parses one RTCP datagram holding a single feedback packet and decodes all
 * of it into R; returns the number of results or a negative error. */
static long feed(twcc_send_t *t, const uint8_t *buf, size_t len, uint64_t now_us)
{
    rtcp_iter_t itr;
    rtcp_pkt_t pkt;
    rtcp_twcc_t fb;
    const char *why = NULL;
    rtcp_iter_init(&itr, buf, len);
    if (rtcp_iter_next(&itr, &pkt, &why) != 1 || rtcp_parse_twcc(&pkt, &fb) != IRTC_OK)
        return -100;
    twcc_fb_iter_t it;
    int rc = twcc_send_feedback_begin(t, &fb, now_us, &it);
    if (rc != IRTC_OK)
        return rc;
    size_t n = 0, k;
    /* Small batches, so the iterator's resumption is exercised too. */
    while ((k = twcc_send_feedback_next(&it, R + n, 1 + rnd() % 7)) > 0)
        n += k;
    return (long)n;
}

/* ---- hand-built packets -------------------------------------------------- */

/* Seqs 0..6; ref time 1 (64 ms), fb count 0.  One 2-bit vector:
 *   S L N S N N S  = 11 01 10 00 01 00 00 01 = D8 41
 * deltas: 04 (+1 ms), FF F8 (-2 ms), 28 (+10 ms), FF (+63.75 ms)
 * 20 + 2 + 5 = 27 bytes, one stray zero byte to 28 (tolerated). */
static const uint8_t HAND_VEC2[] = {
    0x8F, 205,  0x00, 0x06, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00, 0x00,
    0x00, 0x07, 0x00, 0x00, 0x01, 0x00, 0xD8, 0x41, 0x04, 0xFF, 0xF8, 0x28, 0xFF, 0x00,
};

static void test_hand_vec2(void)
{
    twcc_send_init(&T);
    for (int i = 0; i < 7; i++)
        is_int(
            twcc_send_add(&T, 1000 + 100 * (uint64_t)i, 1000 + (size_t)i, i == 2 ? TWCC_SEND_AUDIO : 0, i == 3 ? 9 : 0),
            i, "sequence numbers count from 0 (%d)", i);
    is_int(twcc_send_inflight(&T), 7021, "in flight: all seven");
    long n = feed(&T, HAND_VEC2, sizeof HAND_VEC2, 5000);
    is_int(n, 7, "2-bit vector: seven results");
    static const bool rx[] = {1, 1, 0, 1, 0, 0, 1};
    static const int64_t at[] = {65000, 63000, 0, 73000, 0, 0, 136750};
    bool good = n == 7;
    for (int i = 0; good && i < 7; i++)
        good = R[i].seq == i && R[i].received == rx[i] && (!rx[i] || R[i].arrival_us == at[i]) &&
               R[i].send_us == 1000 + 100 * (uint64_t)i && R[i].size == 1000 + i;
    ok(good, "2-bit vector: statuses, arrival times, send times and sizes");
    ok(R[2].flags == TWCC_SEND_AUDIO && R[3].probe_id == 9, "flags and probe cluster come back");
    is_int(twcc_send_inflight(&T), 0, "in flight: none after the feedback");
    is_int(T.n_lost, 3, "three lost");

    n = feed(&T, HAND_VEC2, sizeof HAND_VEC2, 6000);
    is_int(n, 0, "the same feedback again: nothing new");
    is_int(T.n_duplicate, 7, "seven duplicate statuses counted");
    is_int(T.n_fb_reordered, 1, "repeated feedback count noticed");
}

/* Seqs 65530..65545 cross the wrap.  Base 65530, 16 statuses, ref 0x123456,
 * fb count 7:
 *   run of 5 "not received" (65530..65534)                     00 05
 *   1-bit vector over 65535, 0..9 and 3 filler symbols:
 *     1 0 1 1 0 0 0 0 0 0 1 (0 0 0) = 1010 1100 0000 1000      AC 08
 * deltas: 65535 +2 ms (08), 1 +0.25 ms (01), 2 +0 (00), 9 +1 ms (04).
 * 20 + 4 + 4 = 28 bytes; length 6. */
static const uint8_t HAND_WRAP[] = {
    0x8F, 205,  0x00, 0x06, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xFF, 0xFA,
    0x00, 0x10, 0x12, 0x34, 0x56, 0x07, 0x00, 0x05, 0xAC, 0x08, 0x08, 0x01, 0x00, 0x04,
};

static void test_hand_wrap(void)
{
    twcc_send_init(&T);
    for (int i = 0; i < 65546; i++)
        twcc_send_add(&T, (uint64_t)i, 100, 0, 0);
    long n = feed(&T, HAND_WRAP, sizeof HAND_WRAP, 0);
    is_int(n, 16, "run + 1-bit vector across the wrap: 16 results");
    int64_t base = (int64_t)0x123456 * 64000;
    bool good = n == 16;
    for (int i = 0; good && i < 16; i++) {
        int64_t s = 65530 + i;
        bool want_rx = s == 65535 || s == 65537 || s == 65538 || s == 65545;
        good = R[i].seq == s && R[i].received == want_rx && R[i].send_us == (uint64_t)s;
    }
    ok(good, "wrap: sequence numbers unwrapped past 65535, statuses of the run and the vector");
    ok(n == 16 && R[5].arrival_us == base + 2000 && R[7].arrival_us == base + 2250 && R[8].arrival_us == base + 2250 &&
           R[15].arrival_us == base + 3250,
       "wrap: arrival times from the 24-bit reference");
    is_int(T.n_unreported, 65546 - TWCC_SEND_HISTORY, "packets that left the history unreported are counted");
    is_int(twcc_send_inflight(&T), 0, "in flight: feedback up to the newest packet covers all before it");
}

/* ---- malformed feedback -------------------------------------------------- */

static rtcp_twcc_t mk(uint16_t base, uint16_t count, const uint8_t *chunks, size_t len)
{
    return (rtcp_twcc_t){.base_seq = base, .status_count = count, .chunks = chunks, .chunks_len = len};
}

static void test_malformed(void)
{
    twcc_send_init(&T);
    for (int i = 0; i < 100; i++)
        twcc_send_add(&T, (uint64_t)i * 1000, 500, 0, 0);
    memcpy(&SAVED, &T, sizeof T);
    twcc_fb_iter_t it;
    static const struct {
        const char *name;
        uint16_t count;
        uint8_t bytes[8];
        size_t len;
    } bad[] = {
        {"reserved symbol in a 2-bit vector", 2, {0xF0, 0x00, 1, 1}, 4},
        {"reserved symbol in a run", 3, {0x60, 0x03, 0, 0}, 4},
        {"chunks end before the status count", 20, {0x20, 0x0A, 1, 1}, 4},
        {"run of large deltas, deltas truncated", 2, {0x40, 0x02, 0, 1, 0}, 5},
        {"small deltas truncated", 3, {0x20, 0x03, 1, 1}, 4},
        {"status count 65535, four bytes", 65535, {0x20, 0x01, 1, 0}, 4},
        {"no chunks at all", 1, {0}, 0},
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        rtcp_twcc_t fb = mk(10, bad[i].count, bad[i].bytes, bad[i].len);
        is_int(twcc_send_feedback_begin(&T, &fb, 1, &it), IRTC_EINVAL, "rejected: %s", bad[i].name);
    }
    T.n_malformed -= IRTC_ARRAY_SIZE(bad);
    ok(memcmp(&T, &SAVED, sizeof T) == 0, "rejected feedback changed nothing but the counter");

    /* Accepted oddities: a zero-length run is a no-op, bytes after the
     * deltas are ignored, a status count of 0 yields nothing. */
    static const uint8_t zero_run[] = {0x00, 0x00, 0x20, 0x02, 4, 4, 0xAA, 0xBB};
    rtcp_twcc_t fb = mk(10, 2, zero_run, sizeof zero_run);
    ok(twcc_send_feedback_begin(&T, &fb, 1, &it) == IRTC_OK && twcc_send_feedback_next(&it, R, 10) == 2 &&
           R[0].seq == 10 && R[1].seq == 11,
       "zero-length run skipped, trailing bytes ignored");
    fb = mk(50, 0, zero_run, 0);
    ok(twcc_send_feedback_begin(&T, &fb, 1, &it) == IRTC_OK && twcc_send_feedback_next(&it, R, 10) == 0,
       "status count 0: valid, no results");
    is_int(twcc_send_inflight(&T), 500 * 50, "in flight: what no feedback has reached yet (50 packets)");

    /* Packets never sent (ahead of us, or behind the history) give nothing. */
    static const uint8_t run_rx[] = {0x20, 0x05, 1, 1, 1, 1, 1, 0};
    fb = mk(98, 5, run_rx, sizeof run_rx);
    uint64_t unknown = T.n_unknown;
    ok(twcc_send_feedback_begin(&T, &fb, 1, &it) == IRTC_OK && twcc_send_feedback_next(&it, R, 10) == 2 &&
           R[0].seq == 98 && R[1].seq == 99 && T.n_unknown == unknown + 3,
       "statuses past the newest packet sent are counted as unknown");
    fb = mk((uint16_t)(100 - 40000), 5, run_rx, sizeof run_rx);
    ok(twcc_send_feedback_begin(&T, &fb, 1, &it) == IRTC_OK && twcc_send_feedback_next(&it, R, 10) == 0 &&
           T.n_unknown == unknown + 8,
       "statuses for packets never sent are unknown");
    is_int(twcc_send_inflight(&T), 0, "in flight: none once the newest packet was reported");
}

/* A peer walking the 24-bit reference time forward by 2^23 - 1 per packet
 * must not push arrival times towards int64 overflow. */
static void test_ref_walk(void)
{
    twcc_send_init(&T);
    twcc_send_add(&T, 0, 100, 0, 0);
    static const uint8_t one_rx[] = {0x20, 0x01, 0x00, 0x00};
    rtcp_twcc_t fb = mk(0, 1, one_rx, sizeof one_rx);
    int64_t worst = 0;
    for (uint32_t i = 0; i < 200000; i++) {
        fb.ref_time = (int32_t)((i * 0x7FFFFFu) & 0xFFFFFFu);
        fb.fb_count = (uint8_t)i;
        twcc_fb_iter_t it;
        twcc_send_feedback_begin(&T, &fb, i, &it);
        int64_t at = it.at_us < 0 ? -it.at_us : it.at_us;
        worst = IRTC_MAX(worst, at);
    }
    ok(worst <= ((int64_t)1 << 40) * 64000, "reference time walked by a peer stays bounded (|%lld| us)",
       (long long)worst);
}

/* ---- random bytes: bounded, consistent, never outside the input --------- */

static void test_random_bytes(void)
{
    static uint8_t buf[256];
    bool sane = true;
    size_t accepted = 0, results = 0;
    for (int round = 0; round < 20000 && sane; round++) {
        if (round % 1000 == 0) {
            twcc_send_init(&T);
            for (int i = 0, n = (int)(rnd() % 9000); i < n; i++)
                twcc_send_add(&T, (uint64_t)i * 400, 200 + rnd() % 1000, (uint8_t)(rnd() % 8), (uint16_t)(rnd() % 4));
        }
        size_t len = rnd() % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
        if (rnd() % 2) /* bias towards plausible chunks */
            for (size_t i = 0; i + 1 < len && i < 8; i += 2)
                buf[i] &= 0xBF;
        uint16_t count = (uint16_t)(rnd() % 3 ? rnd() % 300 : rnd());
        uint16_t base = (uint16_t)(T.next_seq - (int64_t)(rnd() % 6000));
        rtcp_twcc_t fb = {.base_seq = base,
                          .status_count = count,
                          .ref_time = (int32_t)(rnd() % 0x1000000),
                          .fb_count = (uint8_t)rnd(),
                          .chunks = buf,
                          .chunks_len = len};
        twcc_fb_iter_t it;
        uint64_t sent_bytes = 0;
        for (int i = 0; i < TWCC_SEND_HISTORY; i++)
            sent_bytes += T.slot[i].size;
        if (twcc_send_feedback_begin(&T, &fb, (uint64_t)round, &it) != IRTC_OK)
            continue;
        accepted++;
        size_t n = 0, k;
        while ((k = twcc_send_feedback_next(&it, R + n, 64)) > 0)
            n += k;
        results += n;
        int64_t lo = it.seq - count;
        for (size_t i = 0; i < n; i++)
            sane &=
                R[i].seq >= lo && R[i].seq < lo + count && (i == 0 || R[i].seq > R[i - 1].seq) && R[i].seq < T.next_seq;
        sane &= n <= count && twcc_send_inflight(&T) <= sent_bytes && it.delta_off <= len;
    }
    ok(sane, "20,000 random feedback packets: results inside the status range, ascending, in-flight bounded");
    ok(accepted > 1000 && results > 1000, "random feedback: %zu accepted, %zu results", accepted, results);
}

/* ---- round trip through the receiver --------------------------------------- */

#define RT_N 20000
#define RT_FB 1024

typedef struct {
    uint64_t send;
    int64_t arrival; /* -1: lost on the way */
    uint16_t seq;
    bool arrived;
} truth_t;

static truth_t TR[RT_N];
static uint8_t FB[RT_FB][1200];
static size_t FB_LEN[RT_FB];
static uint64_t FB_AT[RT_FB]; /* when it reaches the sender; 0 once delivered */

typedef struct {
    const char *name;
    int64_t start_seq;    /* packets sent (and never seen) before the scenario */
    unsigned jitter_us;   /* uniform extra delay; under 500 keeps packets in order */
    unsigned loss_pct;    /* packets lost on the way */
    unsigned reorder_pct; /* packets delayed by 30-130 ms more */
    unsigned fb_loss_pct; /* feedback packets lost */
    bool fb_dup, fb_shuffle;
} scenario_t;

typedef struct {
    int64_t first;
    bool arrivals_ok, order_ok, all_parsed;
    size_t n_results, n_recovered;
    int8_t fate[RT_N]; /* 0 none, 1 lost, 2 received */
} rt_state_t;

static rt_state_t S;

static void rt_deliver(const uint8_t *buf, size_t len)
{
    long n = feed(&T, buf, len, 0);
    S.all_parsed &= n >= 0;
    for (long j = 0; j < n; j++) {
        twcc_result_t *r = &R[j];
        int64_t i = r->seq - S.first;
        if (i < 0 || i >= RT_N) {
            S.order_ok = false;
            continue;
        }
        S.order_ok &= j == 0 || r->seq > R[j - 1].seq;
        S.n_results++;
        if (r->received) {
            /* The receiver rounds each delta against its running cursor:
             * every arrival is within half a tick. */
            int64_t err = r->arrival_us - TR[i].arrival;
            S.arrivals_ok &= TR[i].arrival >= 0 && err >= -125 && err <= 125;
            S.arrivals_ok &= S.fate[i] != 2 && r->recovered == (S.fate[i] == 1);
            S.n_recovered += r->recovered;
            S.fate[i] = 2;
        } else {
            S.arrivals_ok &= S.fate[i] == 0;
            S.fate[i] = 1;
        }
    }
}

/* One packet per 500 us, 20 ms one way plus the scenario's jitter; the
 * receiver builds feedback every 50 ms; feedback takes 20 ms back (up to
 * 50 ms when shuffled).  Time advances in 250 us steps. */
static void round_trip(const scenario_t *sc)
{
    static twcc_recv_t rx;
    twcc_send_init(&T);
    twcc_recv_init(&rx, 1, 2);
    for (int64_t i = 0; i < sc->start_seq; i++)
        twcc_send_add(&T, 0, 100, 0, 0);
    memset(&S, 0, sizeof S);
    S.first = T.next_seq;
    S.arrivals_ok = S.order_ok = S.all_parsed = true;
    size_t n_fb = 0, n_sent = 0, lo = 0;
    uint64_t t0 = 3000000, end = t0 + 500 * (uint64_t)RT_N + 1000000;
    for (uint64_t now = t0; now < end; now += 250) {
        for (; n_sent < RT_N && t0 + 500 * n_sent <= now; n_sent++) {
            truth_t *tr = &TR[n_sent];
            tr->send = now;
            tr->seq = twcc_send_add(&T, now, 300 + n_sent % 900, 0, 0);
            uint64_t delay = 20000 + (sc->jitter_us ? rnd() % sc->jitter_us : 0);
            if (rnd() % 100 < sc->reorder_pct)
                delay += 30000 + rnd() % 100000;
            /* The last packet arrives: a receiver cannot report a loss
             * that no later packet reveals. */
            bool lost = rnd() % 100 < sc->loss_pct && n_sent + 1 < RT_N;
            tr->arrival = lost ? -1 : (int64_t)(now + delay);
            tr->arrived = false;
        }
        for (size_t i = lo; i < n_sent; i++) {
            truth_t *tr = &TR[i];
            if (!tr->arrived && tr->arrival >= 0 && (uint64_t)tr->arrival <= now) {
                twcc_recv_packet(&rx, tr->seq, (uint64_t)tr->arrival);
                tr->arrived = true;
            }
            if (i == lo && (tr->arrived || tr->arrival < 0))
                lo++;
        }
        if ((now - t0) % 50000 == 0) {
            size_t len;
            uint8_t buf[1200];
            while ((len = twcc_recv_build_feedback(&rx, buf, sizeof buf, now)) > 0) {
                if (rnd() % 100 < sc->fb_loss_pct)
                    continue;
                for (int copy = 0; copy < (sc->fb_dup && rnd() % 4 == 0 ? 2 : 1) && n_fb < RT_FB; copy++) {
                    memcpy(FB[n_fb], buf, len);
                    FB_LEN[n_fb] = len;
                    FB_AT[n_fb++] = now + 20000 + (sc->fb_shuffle ? rnd() % 30000 : 0);
                }
            }
        }
        for (size_t f = 0; f < n_fb; f++)
            if (FB_AT[f] != 0 && FB_AT[f] <= now) {
                rt_deliver(FB[f], FB_LEN[f]);
                FB_AT[f] = 0;
            }
    }

    size_t n_rx = 0, n_lost = 0;
    bool fates_ok = true;
    for (int i = 0; i < RT_N; i++) {
        n_rx += S.fate[i] == 2;
        n_lost += S.fate[i] == 1;
        if (sc->fb_loss_pct == 0)
            fates_ok &= S.fate[i] == (TR[i].arrival >= 0 ? 2 : 1);
        else
            fates_ok &= S.fate[i] != 2 || TR[i].arrival >= 0;
    }
    ok(S.all_parsed && n_fb > 100 && n_fb < RT_FB, "%s: %zu feedback packets, all parsed", sc->name, n_fb);
    ok(S.order_ok, "%s: results ascend within each feedback and name packets we sent", sc->name);
    ok(S.arrivals_ok, "%s: each arrival within 125 us of the truth, reported received once", sc->name);
    ok(fates_ok, "%s: final fates match (%zu received, %zu lost, %zu recovered)", sc->name, n_rx, n_lost,
       S.n_recovered);
    if (sc->fb_loss_pct == 0)
        is_int(twcc_send_inflight(&T), 0, "%s: nothing in flight at the end", sc->name);
    else
        ok(T.n_fb_lost > 0 && twcc_send_inflight(&T) == 0, "%s: lost feedback counted (%llu), nothing left in flight",
           sc->name, (unsigned long long)T.n_fb_lost);
    if (sc->reorder_pct)
        ok(S.n_recovered > 0, "%s: late packets first reported lost, then received", sc->name);
    if (sc->jitter_us < 500 && sc->reorder_pct == 0)
        is_int(S.n_recovered, 0, "%s: no packet reported lost and then received", sc->name);
}

int main(void)
{
    test_hand_vec2();
    test_hand_wrap();
    test_malformed();
    test_ref_walk();
    test_random_bytes();
    round_trip(&(scenario_t){.name = "in order", .jitter_us = 400});
    round_trip(&(scenario_t){
        .name = "5% loss, reordering, wrap", .start_seq = 60000, .jitter_us = 20000, .loss_pct = 5, .reorder_pct = 3});
    round_trip(&(scenario_t){.name = "lost feedback", .jitter_us = 3000, .loss_pct = 2, .fb_loss_pct = 20});
    round_trip(&(scenario_t){.name = "duplicated, reordered feedback",
                             .start_seq = 65000,
                             .jitter_us = 5000,
                             .loss_pct = 3,
                             .reorder_pct = 2,
                             .fb_dup = true,
                             .fb_shuffle = true});
    return done_testing();
}
