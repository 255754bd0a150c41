/*
 * test_gcc.c — media/gcc, the downlink estimator.
 *
 * Part one drives gcc with synthetic packet results: the delay-gradient
 * detector (growing, steady, draining queues), AIMD's cut to 0.85 × the
 * acknowledged rate, the loss-based thresholds, REMB and receiver-report
 * fallbacks, probe clusters (initial, the result a cluster's timing implies,
 * probing for the allocator with back-off).
 *
 * Part two closes the loop over a simulated bottleneck (netsim.h: drop-tail
 * queue, propagation delay, random loss, seeded) with the pacer, the
 * transport-cc round trip and a sender that encodes at whatever the target
 * is, and checks what a subscriber would feel: the estimate falls within 2 s
 * of a 2 Mbps → 500 kbps + 3 % loss drop, returns within 10 s of recovery,
 * tracks the capacity in steady state, and does not collapse on 3 % random
 * loss.  The figures are printed as TAP comments (docs/ARCHITECTURE.md
 * quotes them); GCC_TRACE=1 adds probes and a per-second trace.
 */
#include "media/gcc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "unit/netsim.h"
#include "unit/tap.h"

static gcc_t G;
static twcc_result_t RES[4096];

static const gcc_config_t CFG = {.min_bps = 50000, .start_bps = 1000000, .max_bps = 10000000, .transport_cc = true};

/* Feeds one feedback's worth of results: packets of size bytes sent every
 * send_gap_us from *t_send, arriving every recv_gap_us from *t_recv; the
 * feedback is read at the last arrival + 10 ms. */
static void feed_train(gcc_t *g, int n, size_t size, uint64_t *t_send, int64_t *t_recv, uint64_t send_gap_us,
                       uint64_t recv_gap_us, unsigned loss_every, uint64_t *now)
{
    static int64_t seq;
    for (int i = 0; i < n; i++) {
        bool lost = loss_every && seq % loss_every == 0;
        RES[i] = (twcc_result_t){.seq = seq++,
                                 .send_us = *t_send,
                                 .arrival_us = lost ? 0 : *t_recv,
                                 .size = (uint16_t)size,
                                 .received = !lost};
        *t_send += send_gap_us;
        *t_recv += (int64_t)recv_gap_us;
    }
    *now = (uint64_t)*t_recv + 10000;
    gcc_on_packet_results(g, RES, (size_t)n, *now);
    gcc_on_feedback_done(g, *now);
}

static void drain_probes(gcc_t *g)
{
    gcc_probe_t p;
    while (gcc_next_probe(g, &p))
        ;
}

/* ---- delay gradient ------------------------------------------------------- */

static void test_detector(void)
{
    uint64_t now = 1000000, ts = now;
    int64_t tr = (int64_t)ts + 20000;
    gcc_init(&G, &CFG, now);
    /* 1 Mbps of 1250-byte packets (10 ms apart) arriving as sent: normal. */
    for (int k = 0; k < 40; k++)
        feed_train(&G, 5, 1250, &ts, &tr, 10000, 10000, 0, &now);
    is_int(G.delay.usage, GCC_NORMAL, "steady delay: normal");
    is_int(G.n_overuse, 0, "steady delay: no overuse");
    ok(gcc_target_bps(&G) > 1000000, "steady delay, 2 s: the estimate grew (%.0f kbps)", gcc_target_bps(&G) / 1000.0);

    /* Arrivals 12 ms apart for 10 ms sends: a queue grows 2 ms per packet. */
    uint64_t before = gcc_target_bps(&G);
    int k = 0;
    while (G.delay.usage != GCC_OVERUSING && k++ < 50)
        feed_train(&G, 5, 1250, &ts, &tr, 10000, 12000, 0, &now);
    ok(k <= 6, "growing queue: overuse detected after %d feedbacks (%d ms of sending)", k, k * 50);
    /* The cut comes once an RTT passed since the last change. */
    int j = 0;
    while (G.n_overuse == 0 && j++ < 10)
        feed_train(&G, 5, 1250, &ts, &tr, 10000, 12000, 0, &now);
    double acked = G.acked.kbps * 1000;
    ok(j <= 2, "overuse acted on within %d more feedbacks", j);
    ok(acked > 833000 && acked < 1000000, "acknowledged rate moving towards what arrives (%.0f kbps of 833)",
       acked / 1000);
    ok(gcc_target_bps(&G) < before && fabs((double)gcc_target_bps(&G) - 0.85 * acked) < 0.01 * acked,
       "overuse: estimate cut to 0.85 x acknowledged (%.0f -> %.0f kbps)", before / 1000.0,
       gcc_target_bps(&G) / 1000.0);

    /* The queue drains (arrivals 8 ms apart): underuse, the estimate holds. */
    uint64_t cut = gcc_target_bps(&G);
    k = 0;
    while (G.delay.usage != GCC_UNDERUSING && k++ < 50)
        feed_train(&G, 5, 1250, &ts, &tr, 10000, 8000, 0, &now);
    ok(k < 50 && gcc_target_bps(&G) <= cut, "draining queue: underuse, estimate held (%.0f kbps)",
       gcc_target_bps(&G) / 1000.0);
}

static void test_threshold_adapts(void)
{
    uint64_t now = 1000000, ts = now;
    int64_t tr = (int64_t)ts + 20000;
    gcc_init(&G, &CFG, now);
    /* Jitter of +-4 ms on every packet, no trend: the threshold settles and
     * no overuse is reported. */
    for (int k = 0; k < 200; k++) {
        for (int i = 0; i < 5; i++) {
            RES[i] = (twcc_result_t){.seq = k * 5 + i,
                                     .send_us = ts,
                                     .arrival_us = tr + (i % 2 ? 4000 : -4000),
                                     .size = 1000,
                                     .received = true};
            ts += 10000;
            tr += 10000;
        }
        now = (uint64_t)tr;
        gcc_on_packet_results(&G, RES, 5, now);
        gcc_on_feedback_done(&G, now);
    }
    ok(G.n_overuse == 0, "zero-mean jitter of 4 ms: no overuse in 10 s");
    ok(G.delay.threshold_ms >= 6 && G.delay.threshold_ms <= 600, "threshold within [6, 600] ms (%.1f)",
       G.delay.threshold_ms);
}

/* ---- loss-based ------------------------------------------------------------ */

static void test_loss(void)
{
    struct {
        unsigned every;
        const char *name;
        int dir; /* -1 falls, 0 holds, 1 may grow */
    } cases[] = {{0, "no loss", 1}, {33, "3 % loss", 0}, {5, "20 % loss", -1}};
    for (size_t c = 0; c < IRTC_ARRAY_SIZE(cases); c++) {
        uint64_t now = 1000000, ts = now;
        int64_t tr = (int64_t)ts + 20000;
        gcc_config_t cfg = CFG;
        gcc_init(&G, &cfg, now);
        G.aimd.bps = 5000000;         /* delay-based out of the way */
        for (int k = 0; k < 100; k++) /* 5 s */
            feed_train(&G, 5, 1250, &ts, &tr, 10000, 10000, cases[c].every, &now);
        double ratio = (double)G.loss.bps / 1000000;
        if (cases[c].dir > 0)
            ok(ratio > 1.3, "%s for 5 s: loss-based estimate grows (x%.2f)", cases[c].name, ratio);
        else if (cases[c].dir == 0)
            ok(ratio == 1.0, "%s for 5 s: loss-based estimate holds (x%.2f)", cases[c].name, ratio);
        else
            ok(ratio < 0.5, "%s for 5 s: loss-based estimate falls (x%.2f)", cases[c].name, ratio);
    }
}

/* ---- REMB and receiver reports: subscribers without transport-cc ---------- */

static void test_fallbacks(void)
{
    gcc_config_t cfg = CFG;
    cfg.transport_cc = false;
    uint64_t now = 1000000;
    gcc_init(&G, &cfg, now);
    gcc_process(&G, now);
    gcc_probe_t p;
    ok(!gcc_next_probe(&G, &p), "no transport-cc: no probes");
    for (int i = 0; i < 5; i++)
        gcc_on_receiver_report(&G, 0, now += 1000000);
    ok(gcc_target_bps(&G) > 1330000 && gcc_target_bps(&G) < 1400000,
       "RR without loss, 4 s between 5 reports: grows 8 %%/s (%.0f kbps)", gcc_target_bps(&G) / 1000.0);
    uint64_t before = gcc_target_bps(&G);
    gcc_on_receiver_report(&G, 64, now += 1000000); /* 25 % */
    is_int(gcc_target_bps(&G), (uint64_t)(before * 0.875), "RR with 25 %% loss: cut by 12.5 %%");
    gcc_on_receiver_report(&G, 13, now += 1000000); /* 5 % */
    is_int(gcc_target_bps(&G), (uint64_t)(before * 0.875), "RR with 5 %% loss: held");
    gcc_on_remb(&G, 300000, now);
    is_int(gcc_target_bps(&G), 300000, "REMB caps the target");
    gcc_on_remb(&G, 10, now);
    is_int(gcc_target_bps(&G), 50000, "REMB under the minimum: the minimum");

    /* With transport-cc feedback flowing, receiver reports do not count twice. */
    uint64_t ts = now;
    int64_t tr = (int64_t)ts + 20000;
    gcc_init(&G, &CFG, now);
    feed_train(&G, 5, 1250, &ts, &tr, 10000, 10000, 0, &now);
    before = G.loss.bps;
    gcc_on_receiver_report(&G, 128, now);
    is_int(G.loss.bps, before, "transport-cc active: receiver-report loss ignored");
}

/* ---- probes ----------------------------------------------------------------- */

/* Feeds a probe cluster's results: n packets of 1200 bytes sent send_gap_us
 * apart from *now, arriving recv_gap_us apart 20 ms later; the feedback is
 * read 80 ms on. */
static void feed_cluster(gcc_t *g, uint16_t id, int64_t first_seq, int n, uint64_t send_gap_us, int64_t recv_gap_us,
                         uint64_t *now)
{
    for (int i = 0; i < n; i++)
        RES[i] = (twcc_result_t){.seq = first_seq + i,
                                 .send_us = *now + send_gap_us * (uint64_t)i,
                                 .arrival_us = (int64_t)*now + 20000 + recv_gap_us * i,
                                 .size = 1200,
                                 .probe_id = id,
                                 .received = true};
    *now += 80000;
    gcc_on_packet_results(g, RES, (size_t)n, *now);
    gcc_on_feedback_done(g, *now);
}

static void test_probes(void)
{
    uint64_t now = 1000000;
    gcc_init(&G, &CFG, now);
    gcc_process(&G, now);
    gcc_probe_t a, b, c;
    ok(gcc_next_probe(&G, &a) && gcc_next_probe(&G, &b) && !gcc_next_probe(&G, &c), "initial probing: two clusters");
    ok(a.rate_bps == 3000000 && b.rate_bps == 6000000 && a.id != b.id && a.id != 0,
       "initial probes at 3x and 6x the 1 Mbps start");
    ok(a.min_bytes == 3000000 / 8 * 15 / 1000 && a.min_packets == 10, "a cluster lasts 15 ms and 10 packets");

    /* Cluster a arrives as fast as it was sent: 3 Mbps, under the 4.2 Mbps
     * (70 % of 6) needed to probe further. */
    feed_cluster(&G, a.id, 0, 10, 3200, 3200, &now);
    ok(gcc_target_bps(&G) == 3000000, "probe received at its rate: estimate 3 Mbps (%.0f kbps)",
       gcc_target_bps(&G) / 1000.0);
    ok(!gcc_next_probe(&G, &c), "3 Mbps is under 70 %% of the 6 Mbps probe: no further probe yet");

    /* Cluster b gets through at 6 Mbps: probe on at 2x, capped at the maximum. */
    feed_cluster(&G, b.id, 10, 10, 1600, 1600, &now);
    ok(gcc_target_bps(&G) == 6000000, "second probe: estimate 6 Mbps (%.0f kbps)", gcc_target_bps(&G) / 1000.0);
    bool further = gcc_next_probe(&G, &c);
    ok(further && c.rate_bps == 10000000, "and a further probe, capped at the 10 Mbps maximum");

    /* Too few packets, or spans of 0, say nothing. */
    uint64_t t = gcc_target_bps(&G);
    feed_cluster(&G, c.id, 20, 3, 100, 10, &now);
    ok(gcc_target_bps(&G) <= t, "3 of 10 probe packets: no result");

    /* A probe sent at 3 Mbps arriving at 2 Mbps (4.8 ms apart): the link is
     * found, the estimate is 95 % of it. */
    gcc_init(&G, &CFG, now);
    gcc_process(&G, now);
    gcc_next_probe(&G, &a);
    drain_probes(&G);
    feed_cluster(&G, a.id, 0, 10, 3200, 4800, &now);
    ok(gcc_target_bps(&G) > 1890000 && gcc_target_bps(&G) < 1910000, "saturated probe: 0.95 x 2 Mbps = %.0f kbps",
       gcc_target_bps(&G) / 1000.0);
}

static void test_want_probes(void)
{
    uint64_t now = 1000000, ts = now;
    int64_t tr = (int64_t)ts + 20000;
    gcc_config_t cfg = CFG;
    gcc_init(&G, &cfg, now);
    gcc_process(&G, now);
    drain_probes(&G); /* the initial ones are lost: no result */
    now += 1100000;
    gcc_process(&G, now);
    gcc_probe_t p;
    ok(!gcc_next_probe(&G, &p), "nothing wanted: no probe");
    gcc_set_desired(&G, 1500000, now);
    gcc_process(&G, now);
    bool got = gcc_next_probe(&G, &p);
    ok(got && p.rate_bps == 1875000, "allocator wants 1.5 Mbps over 1 Mbps: probe at 1.25x (%.0f kbps)",
       p.rate_bps / 1000.0);
    /* The probes keep failing (no results): retries back off 1, 2, 4, 5, 5 s. */
    uint64_t last = now, gaps[6] = {0};
    int n = 0;
    for (uint64_t end = now + 20000000; now < end && n < 6; now += 25000) {
        if (now - last > 2000000 && n < 6) /* keep feedback flowing, loss-free, steady */
            feed_train(&G, 1, 1250, &ts, &tr, 10000, 10000, 0, &(uint64_t){0});
        G.aimd.bps = G.loss.bps = 1000000; /* hold the estimate still */
        gcc_process(&G, now);
        if (gcc_next_probe(&G, &p)) {
            gaps[n++] = now - last;
            last = now;
        }
    }
    ok(n == 5 && gaps[0] >= 1000000 && gaps[0] < 1100000 && gaps[1] >= 2000000 && gaps[1] < 2100000 &&
           gaps[2] >= 4000000 && gaps[2] < 4100000 && gaps[3] >= 5000000 && gaps[4] >= 5000000,
       "failed probes back off: %.1f %.1f %.1f %.1f %.1f s", gaps[0] / 1e6, gaps[1] / 1e6, gaps[2] / 1e6, gaps[3] / 1e6,
       gaps[4] / 1e6);
    gcc_set_desired(&G, 2500000, now);
    gcc_process(&G, now);
    got = gcc_next_probe(&G, &p);
    ok(got && p.rate_bps == 2000000, "a larger wish probes at once, at most 2x the estimate");
}

/* ---- closed loop over a simulated bottleneck --------------------------------- */

#define SIM_MAX_S 80

typedef struct {
    double target[SIM_MAX_S * 10]; /* every 100 ms */
    double queue_ms[SIM_MAX_S * 10];
    uint64_t delivered[SIM_MAX_S];   /* bytes per second */
    uint64_t queue_drops[SIM_MAX_S]; /* bottleneck drops, cumulative, at each second */
    uint64_t cap[SIM_MAX_S * 10];
    bool verbose; /* GCC_TRACE set: print probes and a per-second trace */
    netsim_t ns;
} run_t;

static run_t RUN;

/* A sender that encodes at the target up to 2.5 Mbps (a 720p encoder's
 * ceiling, which it tells gcc it wants): audio 20 ms x 160 bytes, video at
 * 30 fps sized (target - audio) / 30 in <= 1200-byte packets, a keyframe
 * three frames big every 5 s. */
#define ENCODER_MAX_BPS 2500000
static void run_sim(run_t *r, const ns_phase_t *ph, size_t n_ph, double seconds, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->verbose = getenv("GCC_TRACE") != NULL;
    netsim_t *s = &r->ns;
    ns_init(s, seed, ph[0].cap_bps, 25000, &CFG);
    gcc_set_desired(&s->gcc, ENCODER_MAX_BPS, s->now);
    uint64_t t0 = s->now, next_audio = t0, next_frame = t0, frames = 0;
    size_t p = 0;
    for (int step = 0; step < (int)(seconds * 1000); step++) {
        double t = (double)(s->now - t0) / 1e6;
        ns_follow(s, ph, n_ph, &p, t);
        if (s->now >= next_audio) {
            ns_push(s, 160, PACER_AUDIO);
            next_audio += 20000;
        }
        if (s->now >= next_frame) {
            double video = fmax(fmin((double)gcc_target_bps(&s->gcc), ENCODER_MAX_BPS) - 64000, 30000);
            size_t bytes = (size_t)(video / 8 / 30) * (frames % 150 == 0 ? 3 : 1);
            for (; bytes > 0; bytes -= IRTC_MIN(bytes, (size_t)1200))
                ns_push(s, IRTC_MIN(bytes, (size_t)1200), PACER_VIDEO);
            frames++;
            next_frame += 33333;
        }
        uint64_t before = s->delivered_bytes, np = s->probes, nr = s->gcc.n_probe_results;
        ns_step(s);
        if (r->verbose && s->probes != np)
            printf("# %6.3f s probe at %.0f kbps (target %.0f)\n", t, s->pacer.probe.rate_bps / 1e3,
                   gcc_target_bps(&s->gcc) / 1e3);
        if (r->verbose && s->gcc.n_probe_results != nr)
            printf("# %6.3f s probe result %.0f kbps (target %.0f)\n", t, s->gcc.last_probe_bps / 1e3,
                   gcc_target_bps(&s->gcc) / 1e3);
        r->delivered[step / 1000] += s->delivered_bytes - before;
        r->queue_drops[step / 1000] = s->dropped_queue;
        if (step % 100 == 0) {
            r->target[step / 100] = (double)gcc_target_bps(&s->gcc);
            r->queue_ms[step / 100] = ns_queue_ms(s);
            r->cap[step / 100] = s->cap_bps;
        }
    }
}

static double mean_target(const run_t *r, double from_s, double to_s)
{
    double sum = 0;
    int n = 0;
    for (int i = (int)(from_s * 10); i < (int)(to_s * 10); i++, n++)
        sum += r->target[i];
    return sum / n;
}

static double min_target(const run_t *r, double from_s, double to_s)
{
    double m = INFINITY;
    for (int i = (int)(from_s * 10); i < (int)(to_s * 10); i++)
        m = fmin(m, r->target[i]);
    return m;
}

static double utilisation(const run_t *r, int from_s, int to_s, double cap_bps)
{
    uint64_t b = 0;
    for (int i = from_s; i < to_s; i++)
        b += r->delivered[i];
    return (double)b * 8 / (cap_bps * (to_s - from_s));
}

/* The q-quantile (0..1) of the queueing delay samples in [from_s, to_s). */
static double queue_ms_quantile(const run_t *r, double from_s, double to_s, double q)
{
    static double v[SIM_MAX_S * 10];
    int n = 0;
    for (int i = (int)(from_s * 10); i < (int)(to_s * 10); i++)
        v[n++] = r->queue_ms[i];
    for (int i = 1; i < n; i++) /* insertion sort, a few hundred values */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return v[(int)(n * q)];
}

/* First time at or after from_s when the target satisfies below/above bps. */
static double first_time(const run_t *r, double from_s, double to_s, double bps, bool below)
{
    for (int i = (int)(from_s * 10); i < (int)(to_s * 10); i++)
        if (below ? r->target[i] <= bps : r->target[i] >= bps)
            return i / 10.0 - from_s;
    return INFINITY;
}

static void trace(const run_t *r, const char *name, double seconds)
{
    printf("# %s: t(s) capacity(kbps) target(kbps) delivered(kbps) queue(ms)\n", name);
    for (int sec = 0; sec < (int)seconds; sec++)
        printf("#   %2d %5.0f %6.0f %6.0f %5.0f\n", sec, r->cap[sec * 10] / 1000.0, mean_target(r, sec, sec + 1) / 1000,
               r->delivered[sec] * 8 / 1000.0, r->queue_ms[sec * 10 + 5]);
}

static void test_sim_steady(void)
{
    const ns_phase_t ph[] = {{0, 2000000, 0}};
    run_sim(&RUN, ph, 1, 40, 1);
    if (getenv("GCC_TRACE"))
        trace(&RUN, "2 Mbps", 40);
    double mean = mean_target(&RUN, 10, 40) / 2e6, lo = min_target(&RUN, 10, 40) / 2e6;
    double util = utilisation(&RUN, 10, 40, 2e6);
    double q50 = queue_ms_quantile(&RUN, 10, 40, 0.5), q95 = queue_ms_quantile(&RUN, 10, 40, 0.95);
    uint64_t drops = RUN.queue_drops[39] - RUN.queue_drops[9];
    printf("# 2 Mbps steady (10-40 s): target mean %.2f, min %.2f of capacity; utilisation %.0f %%; queueing delay "
           "median %.0f ms, p95 %.0f ms; %llu bottleneck drops; %llu probes\n",
           mean, lo, util * 100, q50, q95, (unsigned long long)drops, (unsigned long long)RUN.ns.probes);
    ok(mean > 0.75 && mean < 1.05, "2 Mbps steady: mean target %.0f %% of capacity", mean * 100);
    ok(lo > 0.5, "2 Mbps steady: never under half the capacity (min %.0f %%)", lo * 100);
    ok(util > 0.75, "2 Mbps steady: link %.0f %% used", util * 100);
    ok(q50 < 30 && drops == 0, "2 Mbps steady: short standing queue (median %.0f ms), no drops at the bottleneck", q50);
}

static void test_sim_drop(void)
{
    const ns_phase_t ph[] = {{0, 2000000, 0}, {20, 500000, 3}, {40, 2000000, 0}};
    run_sim(&RUN, ph, 3, 60, 2);
    if (getenv("GCC_TRACE"))
        trace(&RUN, "2 Mbps -> 500 kbps + 3 % loss -> 2 Mbps", 60);
    double down = first_time(&RUN, 20, 40, 500000, true), up = first_time(&RUN, 40, 60, 1500000, false);
    double mean_low = mean_target(&RUN, 25, 40) / 5e5, min_low = min_target(&RUN, 25, 40) / 5e5;
    double util_low = utilisation(&RUN, 25, 40, 5e5 * 0.97), util_back = utilisation(&RUN, 50, 60, 2e6);
    printf("# drop 2 Mbps -> 500 kbps + 3%% loss at 20 s: under 500 kbps after %.1f s; 25-40 s target mean %.2f, min "
           "%.2f of capacity, goodput %.0f %% of the lossy link; queue p95 %.0f ms\n",
           down, mean_low, min_low, util_low * 100, queue_ms_quantile(&RUN, 25, 40, 0.95));
    printf("# recovery to 2 Mbps at 40 s: 1.5 Mbps reached after %.1f s; 50-60 s utilisation %.0f %%\n", up,
           util_back * 100);
    ok(down <= 2.0, "capacity drop: estimate under 500 kbps within 2 s (%.1f s)", down);
    ok(mean_low > 0.5 && mean_low < 1.1 && min_low > 0.3,
       "500 kbps + 3 %% loss: target %.0f %% of capacity (min %.0f %%)", mean_low * 100, min_low * 100);
    ok(up <= 10.0, "recovery: estimate back over 1.5 Mbps within 10 s (%.1f s)", up);
}

static void test_sim_random_loss(void)
{
    const ns_phase_t ph[] = {{0, 2000000, 3}};
    run_sim(&RUN, ph, 1, 40, 3);
    if (getenv("GCC_TRACE"))
        trace(&RUN, "2 Mbps + 3 % loss", 40);
    double mean = mean_target(&RUN, 10, 40) / 2e6, lo = min_target(&RUN, 10, 40) / 2e6;
    printf("# 2 Mbps + 3%% random loss (10-40 s): target mean %.2f, min %.2f of capacity; utilisation %.0f %%\n", mean,
           lo, utilisation(&RUN, 10, 40, 2e6) * 100);
    ok(mean > 0.6 && lo > 0.4, "3 %% random loss alone: no collapse (mean %.0f %%, min %.0f %%)", mean * 100, lo * 100);
}

/* A probe is sent faster than the link and queues: with its packets in the
 * delay gradient that is overuse; left out, only its result counts.  The
 * same burst as plain media (the control) must be seen as overuse. */
static void probe_vs_media(bool as_probe, uint64_t *overuses, uint64_t *target)
{
    uint64_t now = 1000000, ts = now;
    int64_t tr = (int64_t)ts + 20000;
    gcc_init(&G, &CFG, now);
    gcc_process(&G, now);
    gcc_probe_t p;
    gcc_next_probe(&G, &p);
    drain_probes(&G);
    for (int k = 0; k < 20; k++) /* 1 s of 1 Mbps arriving as sent */
        feed_train(&G, 5, 1250, &ts, &tr, 10000, 10000, 0, &now);
    for (int burst = 0; burst < 3; burst++) {
        /* 20 x 1200 bytes sent at 4 Mbps (2.4 ms apart), through 2 Mbps (4.8 ms). */
        for (int i = 0; i < 20; i++)
            RES[i] = (twcc_result_t){.seq = 100000 + burst * 20 + i,
                                     .send_us = ts + 2400 * (uint64_t)i,
                                     .arrival_us = tr + 4800 * i,
                                     .size = 1200,
                                     .probe_id = as_probe ? p.id : 0,
                                     .received = true};
        now = (uint64_t)tr + 20 * 4800 + 10000;
        gcc_on_packet_results(&G, RES, 20, now);
        gcc_on_feedback_done(&G, now);
        /* Media resumes 100 ms later, once the queue has drained. */
        ts += 20 * 2400 + 100000;
        tr = (int64_t)ts + 20000;
        for (int k = 0; k < 10; k++)
            feed_train(&G, 5, 1250, &ts, &tr, 10000, 10000, 0, &now);
    }
    *overuses = G.n_overuse;
    *target = gcc_target_bps(&G);
}

static void test_probe_not_overuse(void)
{
    uint64_t over_probe, over_media, t_probe, t_media;
    probe_vs_media(true, &over_probe, &t_probe);
    probe_vs_media(false, &over_media, &t_media);
    ok(over_media > 0, "control: a 4 Mbps media burst through 2 Mbps is overuse (%llu)",
       (unsigned long long)over_media);
    ok(over_probe == 0, "the same burst as a probe cluster: no overuse");
    ok(t_probe > 1850000 && t_probe < 2100000, "the probe's result sets the estimate: %.0f kbps", t_probe / 1000.0);
}

/* Sending jumps from 500 kbps to 1.8 Mbps through a 1.6 Mbps bottleneck:
 * the cut must come from what arrives (~1.6 Mbps), not from the smoothed
 * acknowledged rate that still remembers 500 kbps. */
static void test_cut_from_received_rate(void)
{
    uint64_t now = 1000000, ts = now;
    int64_t tr = (int64_t)ts + 20000;
    gcc_init(&G, &CFG, now);
    G.aimd.bps = G.loss.bps = 2000000;
    for (int k = 0; k < 60; k++) /* 3 s at 500 kbps: 1250 bytes every 20 ms */
        feed_train(&G, 3, 1250, &ts, &tr, 20000, 20000, 0, &now);
    double acked_before = G.acked.kbps;
    int k = 0;
    while (G.n_overuse == 0 && k++ < 40) /* 1250 bytes every 5.56 ms sent, 6.25 ms arriving */
        feed_train(&G, 9, 1250, &ts, &tr, 5556, 6250, 0, &now);
    ok(G.n_overuse == 1, "rate jump into a bottleneck: overuse after %d feedbacks", k);
    double acked = G.acked.kbps * 1000, rx = (double)gcc_target_bps(&G) / 0.85;
    ok(acked < 1200000, "acknowledged rate still lags (%.0f kbps, was %.0f)", acked / 1000, acked_before);
    /* The 200 ms window still holds a little of the old rate. */
    ok(rx > 1300000 && rx <= 1600000 && gcc_target_bps(&G) > 2 * 0.85 * acked,
       "cut to 0.85 x the %.0f kbps received lately (%.0f kbps), not 0.85 x acknowledged", rx / 1000,
       gcc_target_bps(&G) / 1000.0);
}

static void test_feedback_timeout(void)
{
    uint64_t now = 1000000, ts = now;
    int64_t tr = (int64_t)ts + 20000;
    gcc_init(&G, &CFG, now);
    for (int k = 0; k < 20; k++)
        feed_train(&G, 5, 1250, &ts, &tr, 10000, 10000, 0, &now);
    uint64_t before = gcc_target_bps(&G);
    for (int i = 0; i < 100; i++) { /* 2.5 s of sending, no feedback */
        now += 25000;
        gcc_on_packet_sent(&G, 1250, now);
        gcc_process(&G, now);
    }
    ok(G.n_feedback_timeouts == 2 && gcc_target_bps(&G) < before * 0.8 * 0.8 + 1000,
       "feedback stopped for 2.5 s while sending: two 20 %% cuts (%.0f -> %.0f kbps)", before / 1000.0,
       gcc_target_bps(&G) / 1000.0);
    uint64_t held = gcc_target_bps(&G);
    for (int i = 0; i < 100; i++) {
        now += 25000;
        gcc_process(&G, now);
    }
    ok(gcc_target_bps(&G) >= held, "not sending: no further cuts");
}

int main(void)
{
    test_detector();
    test_threshold_adapts();
    test_loss();
    test_fallbacks();
    test_probes();
    test_want_probes();
    test_probe_not_overuse();
    test_cut_from_received_rate();
    test_feedback_timeout();
    test_sim_steady();
    test_sim_drop();
    test_sim_random_loss();
    return done_testing();
}
