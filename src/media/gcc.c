/*
 * gcc.c — Google Congestion Control on the send side of one subscriber
 * transport (draft-ietf-rmcat-gcc-02, with the constants libwebrtc ships).
 *
 * Runs on the media worker that owns the transport, once per feedback packet
 * and on a timer; per packet result only a few floating-point operations.
 *
 * Does not: parse feedback, pace packets, or split the estimate.
 *
 * Reading order: inter-arrival grouping and the trendline (delay gradient),
 * the overuse detector, AIMD, the acknowledged bitrate, the loss-based
 * estimate, probing, ALR, then the API that ties them together.
 */
#include "media/gcc.h"

#include <math.h>
#include <string.h>

#include "core/common.h"

/* Inter-arrival (§5.2): packets sent within 5 ms form one group; a group
 * arriving faster than it was sent (a burst released by a queue) is merged
 * into the previous one as long as it stays under 100 ms. */
#define BURST_US 5000
#define MAX_BURST_US 100000
#define REORDER_RESET 3 /* groups arriving before their predecessor in a row: start over */
#define CLOCK_JUMP_US 3000000

/* Trendline filter: exponential smoothing of the accumulated delay, linear
 * regression over 20 points; the slope is scaled by min(deltas, 60) × 4 so it
 * compares with a threshold in ms. */
#define SMOOTHING 0.9
#define TREND_GAIN 4.0
#define MAX_DELTAS 60

/* Adaptive threshold (§5.4): moves towards |trend| at k_up when the trend
 * exceeds it and k_down below it, per ms, clamped to [6, 600] ms; outliers
 * more than 15 ms beyond it do not move it.  Overuse must last 10 ms and two
 * groups, with a non-decreasing trend. */
#define THRESH_INIT_MS 12.5
#define THRESH_MIN_MS 6.0
#define THRESH_MAX_MS 600.0
#define K_UP 0.0087
#define K_DOWN 0.039
#define MAX_ADAPT_OFFSET_MS 15.0
#define OVERUSE_TIME_MS 10.0

/* AIMD (§5.5): decrease to 0.85 × the acknowledged rate; increase 8 %/s far
 * from the last congestion point, about one packet per response time near it
 * (the link capacity estimate, an average of the rates where overuse was
 * seen, ± 3 standard deviations); never above 1.5 × acknowledged + 10 kbps. */
#define BETA 0.85
#define MULT_PER_S 1.08
#define MIN_ADDITIVE_BPS 4000.0
#define DEFAULT_RTT_US 200000
#define LINK_ALPHA 0.05
#define THROUGHPUT_LIMIT(a) (1.5 * (double)(a) + 10000.0)

/* Acknowledged bitrate: 500 ms for the first sample, then 150 ms windows;
 * each sample weighed by how far it is from the estimate (uncertainty scale
 * 10, 20 in ALR where samples say less about the link). */
#define ACKED_FIRST_WINDOW_US 500000
#define ACKED_WINDOW_US 150000
#define ACKED_SCALE 10.0
#define ACKED_SCALE_ALR 20.0
#define ACKED_VAR_GROWTH 5.0

/* Loss-based (§6), evaluated over at least 20 packets and 500 ms: at a few
 * hundred packets a second, shorter windows see 0 % or 5 % where the link
 * loses 3 %. */
#define LOSS_LOW 0.02
#define LOSS_HIGH 0.10
#define LOSS_MIN_PACKETS 20
#define LOSS_MIN_WINDOW_US 500000
#define LOSS_DECREASE_GAP_US 300000 /* plus one RTT: let the previous cut show */
#define TWCC_STALE_US 2000000       /* receiver reports count when feedback stopped this long */
/* No feedback for this long while sending: the link may be gone; cut 20 % a second. */
#define FEEDBACK_TIMEOUT_US 1000000

/* ALR: a budget filling at 65 % of the target; in ALR above 80 % full, out
 * below 50 % (libwebrtc's alr_detector). */
#define ALR_USAGE 0.65
#define ALR_START 0.80
#define ALR_STOP 0.50
#define ALR_WINDOW_US 500000

/* Probing: 15 ms and 10 packets per cluster (libwebrtc: 5; the rates leave
 * out the first and last packet, and at 1 Mbps 5 packets of mixed sizes
 * measured 30 % low in the simulation); initial 3× and 6× start;
 * continue at 2× while a result beats 70 % of what was probed; results need
 * 80 % of the packets and bytes, send and receive spans under 1 s; a receive
 * rate under 90 % of the send rate means the link is found: use 95 % of it. */
#define PROBE_DURATION_US 15000
#define PROBE_MIN_PACKETS 10
#define PROBE_INIT_1 3.0
#define PROBE_INIT_2 6.0
#define PROBE_FURTHER 0.7
#define PROBE_STEP 2.0
#define PROBE_WAIT_US 1000000
#define PROBE_RX_RATIO 0.8
#define PROBE_MAX_SPAN_US 1000000
#define PROBE_UNSATURATED 0.9
#define PROBE_UTILISATION 0.95
#define PROBE_MAX_RATIO 2.0
/* Probing for the allocator: at 1.25 × its wish (a success clears the step
 * with margin), at most 2 × the estimate per cluster; retried after 1 s,
 * doubling to 5 s while they fail, so a recovered link is found within
 * seconds and a weak one is not hammered. */
#define WANT_MARGIN 1.25
#define WANT_BACKOFF_MIN_US 1000000
#define WANT_BACKOFF_MAX_US 5000000

enum { AIMD_HOLD = 0, AIMD_INCREASE, AIMD_DECREASE };
enum { PROBE_INIT = 0, PROBE_WAITING, PROBE_COMPLETE };

static uint64_t clamp_bps(const gcc_t *g, double bps)
{
    if (bps < (double)g->cfg.min_bps)
        return g->cfg.min_bps;
    if (bps > (double)g->cfg.max_bps)
        return g->cfg.max_bps;
    return (uint64_t)bps;
}

/* ---- overuse detector (§5.4) --------------------------------------------- */

static void update_threshold(gcc_delay_t *d, double modified, int64_t now_arrival)
{
    if (!d->have_thresh_update) {
        d->have_thresh_update = true;
        d->last_thresh_update = now_arrival;
    }
    if (fabs(modified) > d->threshold_ms + MAX_ADAPT_OFFSET_MS) {
        d->last_thresh_update = now_arrival;
        return;
    }
    double k = fabs(modified) < d->threshold_ms ? K_DOWN : K_UP;
    double dt_ms = IRTC_MIN((double)(now_arrival - d->last_thresh_update) / 1000.0, 100.0);
    if (dt_ms < 0)
        dt_ms = 0;
    d->threshold_ms += k * (fabs(modified) - d->threshold_ms) * dt_ms;
    d->threshold_ms = fmin(fmax(d->threshold_ms, THRESH_MIN_MS), THRESH_MAX_MS);
    d->last_thresh_update = now_arrival;
}

static void detect(gcc_delay_t *d, double send_delta_ms, int64_t now_arrival)
{
    if (d->num_deltas < 2) {
        d->usage = GCC_NORMAL;
        return;
    }
    double modified = IRTC_MIN(d->num_deltas, MAX_DELTAS) * d->trend * TREND_GAIN;
    if (modified > d->threshold_ms) {
        if (d->time_over_ms < 0)
            d->time_over_ms = send_delta_ms / 2; /* assume it began half a group ago */
        else
            d->time_over_ms += send_delta_ms;
        d->overuse_count++;
        if (d->time_over_ms > OVERUSE_TIME_MS && d->overuse_count > 1 && d->trend >= d->prev_trend) {
            d->time_over_ms = 0;
            d->overuse_count = 0;
            d->usage = GCC_OVERUSING;
        }
    } else if (modified < -d->threshold_ms) {
        d->time_over_ms = -1;
        d->overuse_count = 0;
        d->usage = GCC_UNDERUSING;
    } else {
        d->time_over_ms = -1;
        d->overuse_count = 0;
        d->usage = GCC_NORMAL;
    }
    d->prev_trend = d->trend;
    update_threshold(d, modified, now_arrival);
}

/* ---- trendline ------------------------------------------------------------ */

static double regression_slope(const gcc_delay_t *d, double fallback)
{
    double sx = 0, sy = 0;
    for (unsigned i = 0; i < d->n_pts; i++) {
        sx += d->x[i];
        sy += d->y[i];
    }
    double mx = sx / d->n_pts, my = sy / d->n_pts, num = 0, den = 0;
    for (unsigned i = 0; i < d->n_pts; i++) {
        num += (d->x[i] - mx) * (d->y[i] - my);
        den += (d->x[i] - mx) * (d->x[i] - mx);
    }
    return den != 0 ? num / den : fallback;
}

static void trendline_update(gcc_delay_t *d, double recv_delta_ms, double send_delta_ms, int64_t arrival)
{
    if (!d->have_first) {
        d->have_first = true;
        d->first_arrival = arrival;
    }
    d->num_deltas = IRTC_MIN(d->num_deltas + 1, 1000u);
    d->acc_delay_ms += recv_delta_ms - send_delta_ms;
    d->smoothed_ms = SMOOTHING * d->smoothed_ms + (1 - SMOOTHING) * d->acc_delay_ms;
    d->x[d->next_pt] = (double)(arrival - d->first_arrival) / 1000.0;
    d->y[d->next_pt] = d->smoothed_ms;
    d->next_pt = (d->next_pt + 1) % GCC_TREND_WINDOW;
    if (d->n_pts < GCC_TREND_WINDOW)
        d->n_pts++;
    if (d->n_pts == GCC_TREND_WINDOW)
        d->trend = regression_slope(d, d->trend);
    detect(d, send_delta_ms, arrival);
}

static void delay_reset(gcc_delay_t *d)
{
    double threshold = d->threshold_ms;
    memset(d, 0, sizeof *d);
    d->threshold_ms = threshold > 0 ? threshold : THRESH_INIT_MS;
    d->time_over_ms = -1;
}

/* ---- inter-arrival (§5.2) -------------------------------------------------- */

/* A packet that arrived no later than 5 ms after the group's last one while
 * its send gap was larger than its arrival gap was queued behind it: same
 * burst. */
static bool in_burst(const gcc_group_t *g, uint64_t send, int64_t arrival)
{
    int64_t arrival_delta = arrival - g->last_arrival;
    int64_t send_delta = (int64_t)(send - g->last_send);
    if (send_delta == 0)
        return true;
    return arrival_delta - send_delta < 0 && arrival_delta <= BURST_US && arrival - g->first_arrival < MAX_BURST_US;
}

static void group_done(gcc_delay_t *d)
{
    gcc_group_t *c = &d->cur, *p = &d->prev;
    if (!p->valid)
        return;
    int64_t recv_delta = c->last_arrival - p->last_arrival;
    int64_t send_delta = (int64_t)(c->last_send - p->last_send);
    if (recv_delta < 0) {
        if (++d->reordered >= REORDER_RESET)
            delay_reset(d);
        return;
    }
    if (recv_delta - send_delta > CLOCK_JUMP_US) {
        delay_reset(d);
        return;
    }
    d->reordered = 0;
    trendline_update(d, (double)recv_delta / 1000.0, (double)send_delta / 1000.0, c->last_arrival);
}

static void delay_on_packet(gcc_delay_t *d, uint64_t send, int64_t arrival)
{
    gcc_group_t *c = &d->cur;
    if (!c->valid) {
        *c = (gcc_group_t){true, send, send, arrival, arrival};
        return;
    }
    if (send < c->first_send)
        return; /* reordered into an older group: its timing says nothing */
    if (send - c->first_send > BURST_US && !in_burst(c, send, arrival)) {
        group_done(d);
        d->prev = d->cur;
        d->cur = (gcc_group_t){true, send, send, arrival, arrival};
        return;
    }
    if (send > c->last_send)
        c->last_send = send;
    if (arrival > c->last_arrival)
        c->last_arrival = arrival;
}

/* ---- AIMD rate control (§5.5) ---------------------------------------------- */

static double link_dev_kbps(const gcc_aimd_t *a)
{
    return sqrt(a->link_var * a->link_kbps);
}

static void link_on_overuse(gcc_aimd_t *a, double kbps)
{
    if (!a->link_valid) {
        a->link_valid = true;
        a->link_kbps = kbps;
        a->link_var = 0.4;
        return;
    }
    a->link_kbps = (1 - LINK_ALPHA) * a->link_kbps + LINK_ALPHA * kbps;
    double norm = fmax(a->link_kbps, 1.0), err = a->link_kbps - kbps;
    a->link_var = (1 - LINK_ALPHA) * a->link_var + LINK_ALPHA * err * err / norm;
    a->link_var = fmin(fmax(a->link_var, 0.4), 2.5);
}

static double additive_increase(const gcc_t *g, double bps, double dt_s)
{
    double bits_per_frame = bps / 30.0;
    double packets = ceil(bits_per_frame / (1200 * 8.0));
    double packet_bits = bits_per_frame / fmax(packets, 1.0);
    double response_ms = (double)g->rtt_us / 1000.0 + 100.0;
    return fmax(MIN_ADDITIVE_BPS, packet_bits * 1000.0 / response_ms) * dt_s;
}

static void aimd_update(gcc_t *g, gcc_usage_t usage, uint64_t acked_bps, uint64_t now_us)
{
    gcc_aimd_t *a = &g->aimd;
    if (acked_bps > 0)
        a->last_throughput_bps = acked_bps;
    double thr = (double)a->last_throughput_bps, bps = (double)a->bps;
    if (usage == GCC_OVERUSING) {
        a->state = AIMD_DECREASE;
    } else if (usage == GCC_UNDERUSING) {
        a->state = AIMD_HOLD;
    } else if (a->state == AIMD_HOLD) {
        a->state = AIMD_INCREASE;
        a->last_change_us = now_us;
    }
    if (a->state == AIMD_INCREASE) {
        if (a->link_valid && thr / 1000 > a->link_kbps + 3 * link_dev_kbps(a))
            a->link_valid = false; /* the link got faster: climb quickly again */
        double limit = THROUGHPUT_LIMIT(thr);
        if (bps < limit) {
            double dt_s = fmin((double)(now_us - a->last_change_us) / 1e6, 1.0);
            double inc = a->link_valid ? additive_increase(g, bps, dt_s)
                                       : fmax(bps * (pow(MULT_PER_S, dt_s) - 1), 1000.0 * dt_s);
            bps = fmin(bps + inc, limit);
        }
        a->last_change_us = now_us;
    } else if (a->state == AIMD_DECREASE) {
        double dec = BETA * thr;
        if (dec > bps && a->link_valid)
            dec = BETA * a->link_kbps * 1000;
        if (dec < bps)
            bps = dec;
        if (a->link_valid && thr / 1000 < a->link_kbps - 3 * link_dev_kbps(a))
            a->link_valid = false; /* far below what congested before: a new link */
        link_on_overuse(a, thr / 1000);
        a->state = AIMD_HOLD;
        a->last_change_us = now_us;
        g->n_overuse++;
    }
    a->bps = clamp_bps(g, bps);
}

/* Once overuse was acted on, act again only after an RTT (10-200 ms), or at
 * once if the acknowledged rate fell under half the estimate. */
static bool time_to_reduce(const gcc_t *g, uint64_t acked_bps, uint64_t now_us)
{
    uint64_t interval = IRTC_MIN(IRTC_MAX(g->rtt_us, (uint64_t)10000), (uint64_t)200000);
    if (now_us - g->aimd.last_change_us >= interval)
        return true;
    return acked_bps > 0 && acked_bps < g->aimd.bps / 2;
}

/* ---- acknowledged bitrate ---------------------------------------------------- */

static void acked_on_packet(gcc_acked_t *a, int64_t arrival, size_t bytes, bool in_alr)
{
    int64_t window = a->kbps < 0 ? ACKED_FIRST_WINDOW_US : ACKED_WINDOW_US;
    if (a->have_prev) {
        int64_t d = IRTC_MAX(arrival - a->prev_arrival, (int64_t)0);
        a->window_us += d;
        if (d > window) { /* a pause: the bytes before it say nothing about now */
            a->window_bytes = 0;
            a->window_us = d % window;
        }
    }
    a->have_prev = true;
    a->prev_arrival = IRTC_MAX(arrival, a->prev_arrival);
    double sample = -1;
    if (a->window_us >= window) {
        sample = (double)a->window_bytes * 8 * 1000 / (double)window; /* kbps */
        a->window_us -= window;
        a->window_bytes = 0;
    }
    a->window_bytes += bytes;
    if (sample < 0)
        return;
    if (a->kbps < 0) {
        a->kbps = sample;
        a->var = 50;
        return;
    }
    double u = (in_alr ? ACKED_SCALE_ALR : ACKED_SCALE) * fabs(a->kbps - sample) / fmax(a->kbps, 1.0);
    double sample_var = u * u, pred_var = a->var + ACKED_VAR_GROWTH;
    a->kbps = (sample * pred_var + a->kbps * sample_var) / (pred_var + sample_var);
    a->var = sample_var * pred_var / (sample_var + pred_var);
}

static uint64_t acked_bps(const gcc_t *g)
{
    return g->acked.kbps < 0 ? 0 : (uint64_t)(g->acked.kbps * 1000);
}

/* ---- received rate over the last 200 ms -------------------------------------- */

/* The draft's R_hat (§5.5): what arrived lately, the base of a cut.  While a
 * queue grows the bottleneck is saturated and this is its rate.  libwebrtc
 * cuts from the acknowledged rate instead, whose smoother treats a jump as
 * an outlier for a while: after a step up to a higher layer it still says
 * the old rate (simulated: 0.85 x 530 kbps = 450 kbps just after a 1.74 Mbps
 * layer was allowed on a 2 Mbps link), after a capacity drop the old,
 * higher one (the cut to 500 kbps took 3 s instead of 1). */
#define RX_BIN_US 10000

static void rx_init(gcc_rxrate_t *x)
{
    for (int i = 0; i < GCC_RX_BINS; i++)
        x->bin[i] = -1;
    x->newest = -1;
}

static void rx_on_packet(gcc_rxrate_t *x, int64_t arrival, size_t bytes)
{
    int64_t b = arrival >= 0 ? arrival / RX_BIN_US : -1;
    if (b < 0 || b <= x->newest - GCC_RX_BINS)
        return;
    int i = (int)(b % GCC_RX_BINS);
    if (x->bin[i] != b) {
        x->bin[i] = b;
        x->bytes[i] = 0;
    }
    x->bytes[i] += bytes;
    if (b > x->newest)
        x->newest = b;
}

static uint64_t rx_bps(const gcc_rxrate_t *x)
{
    uint64_t sum = 0;
    for (int i = 0; i < GCC_RX_BINS; i++)
        if (x->bin[i] > x->newest - GCC_RX_BINS && x->bin[i] >= 0)
            sum += x->bytes[i];
    return sum * 8 * 1000000 / (GCC_RX_BINS * RX_BIN_US);
}

/* ---- loss-based (§6) ------------------------------------------------------- */

static void loss_update(gcc_t *g, double fraction, uint64_t now_us)
{
    gcc_loss_t *l = &g->loss;
    double dt_s = l->last_update_us ? fmin((double)(now_us - l->last_update_us) / 1e6, 1.0) : 0;
    l->last_update_us = now_us;
    l->fraction = fraction;
    if (fraction < LOSS_LOW) {
        /* Low loss lets the target grow 8 %/s (the cap stays where a probe
         * may have put it); cuts start from the target either way. */
        uint64_t grown = clamp_bps(g, (double)g->target_bps * pow(MULT_PER_S, dt_s) + 1000 * dt_s);
        l->bps = IRTC_MAX(l->bps, grown);
    } else if (fraction > LOSS_HIGH && now_us - l->last_decrease_us >= LOSS_DECREASE_GAP_US + g->rtt_us) {
        double base = (double)IRTC_MIN(l->bps, g->target_bps);
        l->bps = clamp_bps(g, base * (1 - 0.5 * fraction));
        l->last_decrease_us = now_us;
    }
}

static bool twcc_active(const gcc_t *g, uint64_t now_us)
{
    return g->cfg.transport_cc && g->have_fb && now_us - g->last_fb_us < TWCC_STALE_US;
}

/* ---- probing ------------------------------------------------------------------ */

static void probe_schedule(gcc_t *g, uint64_t rate_bps, uint64_t now_us)
{
    gcc_prober_t *p = &g->prober;
    if (p->n_pending >= GCC_MAX_PROBES || rate_bps == 0)
        return;
    uint16_t id = p->next_id++;
    if (p->next_id == 0)
        p->next_id = 1;
    uint32_t bytes = (uint32_t)(rate_bps * PROBE_DURATION_US / 8000000);
    p->pending[p->n_pending++] =
        (gcc_probe_t){.id = id, .rate_bps = rate_bps, .min_bytes = bytes, .min_packets = PROBE_MIN_PACKETS};
    p->cl[id % GCC_CLUSTERS] = (gcc_cluster_t){
        .id = id, .rate_bps = rate_bps, .min_bytes = bytes, .min_packets = PROBE_MIN_PACKETS, .created_us = now_us};
    p->state = PROBE_WAITING;
    p->min_further_bps = (uint64_t)(PROBE_FURTHER * (double)rate_bps);
    p->wait_since_us = now_us;
}

static void probe_on_packet(gcc_prober_t *p, const twcc_result_t *r)
{
    gcc_cluster_t *c = &p->cl[r->probe_id % GCC_CLUSTERS];
    if (c->id != r->probe_id || r->probe_id == TWCC_NO_PROBE)
        return;
    if (c->n_rx == 0 || r->send_us < c->first_send)
        c->first_send = r->send_us;
    if (c->n_rx == 0 || r->send_us > c->last_send) {
        c->last_send = r->send_us;
        c->last_send_size = r->size;
    }
    if (c->n_rx == 0 || r->arrival_us < c->first_arrival) {
        c->first_arrival = r->arrival_us;
        c->first_arrival_size = r->size;
    }
    if (c->n_rx == 0 || r->arrival_us > c->last_arrival)
        c->last_arrival = r->arrival_us;
    c->n_rx++;
    c->bytes_rx += r->size;
    c->updated = true;
}

/* The rate a cluster's feedback shows, or 0 while it says nothing yet;
 * *saturated when it arrived slower than sent: the link's rate was found. */
static uint64_t cluster_estimate(const gcc_cluster_t *c, bool *saturated)
{
    if (c->n_rx < PROBE_RX_RATIO * c->min_packets || (double)c->bytes_rx < PROBE_RX_RATIO * c->min_bytes)
        return 0;
    int64_t send_span = (int64_t)(c->last_send - c->first_send);
    int64_t recv_span = c->last_arrival - c->first_arrival;
    if (send_span <= 0 || send_span > PROBE_MAX_SPAN_US || recv_span <= 0 || recv_span > PROBE_MAX_SPAN_US)
        return 0;
    /* The spans leave out how long the last packet took to send and the
     * first to arrive: leave their bytes out too. */
    double send_rate = (double)(c->bytes_rx - c->last_send_size) * 8e6 / (double)send_span;
    double recv_rate = (double)(c->bytes_rx - c->first_arrival_size) * 8e6 / (double)recv_span;
    if (recv_rate > PROBE_MAX_RATIO * send_rate)
        return 0;
    *saturated = recv_rate < PROBE_UNSATURATED * send_rate;
    if (*saturated)
        return (uint64_t)(PROBE_UTILISATION * recv_rate);
    return (uint64_t)fmin(send_rate, recv_rate);
}

static uint64_t probe_results(gcc_prober_t *p, bool *saturated)
{
    uint64_t best = 0;
    for (int i = 0; i < GCC_CLUSTERS; i++) {
        gcc_cluster_t *c = &p->cl[i];
        bool sat = false;
        uint64_t r = c->id != 0 && c->updated ? cluster_estimate(c, &sat) : 0;
        if (r > best) {
            best = r;
            *saturated = sat;
        }
        c->updated = false;
    }
    return best;
}

/* After a probe result: probe further while probes pass at their rate. */
static void probe_on_estimate(gcc_t *g, uint64_t estimate_bps, bool saturated, uint64_t now_us)
{
    gcc_prober_t *p = &g->prober;
    if (p->state != PROBE_WAITING || estimate_bps == 0)
        return;
    if (saturated) {
        p->state = PROBE_COMPLETE; /* the link's rate was found */
        return;
    }
    if (estimate_bps <= p->min_further_bps)
        return;
    double next = fmin(PROBE_STEP * (double)estimate_bps, (double)p->further_cap_bps);
    if (next > 1.1 * (double)estimate_bps)
        probe_schedule(g, (uint64_t)next, now_us);
    else
        p->state = PROBE_COMPLETE;
}

static void probe_process(gcc_t *g, uint64_t now_us)
{
    gcc_prober_t *p = &g->prober;
    if (!g->cfg.transport_cc)
        return;
    if (p->state == PROBE_INIT) {
        double start = (double)g->cfg.start_bps, max = (double)g->cfg.max_bps;
        p->further_cap_bps = g->cfg.max_bps;
        probe_schedule(g, (uint64_t)fmin(PROBE_INIT_1 * start, max), now_us);
        if (PROBE_INIT_2 * start <= max)
            probe_schedule(g, (uint64_t)(PROBE_INIT_2 * start), now_us);
        p->min_further_bps = (uint64_t)(PROBE_FURTHER * fmin(PROBE_INIT_2 * start, max));
        return;
    }
    if (p->state == PROBE_WAITING && now_us - p->wait_since_us > PROBE_WAIT_US)
        p->state = PROBE_COMPLETE;
    /* The allocator wants more than the estimate: probe before it steps up. */
    double want = (double)IRTC_MIN(p->want_bps, g->cfg.max_bps), target = (double)g->target_bps;
    if (p->state != PROBE_COMPLETE || p->n_pending > 0 || want <= target || now_us < p->next_want_probe_us)
        return;
    double rate = fmin(fmin(WANT_MARGIN * want, PROBE_STEP * target), (double)g->cfg.max_bps);
    if (rate <= 1.05 * target)
        return;
    p->further_cap_bps = (uint64_t)fmin(WANT_MARGIN * want, (double)g->cfg.max_bps);
    probe_schedule(g, (uint64_t)rate, now_us);
    p->next_want_probe_us = now_us + p->backoff_us;
    p->backoff_us = IRTC_MIN(p->backoff_us * 2, (uint64_t)WANT_BACKOFF_MAX_US);
}

/* ---- ALR ----------------------------------------------------------------------- */

static void alr_update(gcc_t *g, size_t bytes, uint64_t now_us)
{
    double cap = (double)g->target_bps * ALR_USAGE * ALR_WINDOW_US / 8e6;
    double dt = (double)(now_us - g->alr_last_us);
    g->alr_last_us = now_us;
    g->alr_budget_bytes += (double)g->target_bps * ALR_USAGE * dt / 8e6 - (double)bytes;
    g->alr_budget_bytes = fmin(fmax(g->alr_budget_bytes, -cap), cap);
    double level = cap > 0 ? g->alr_budget_bytes / cap : 0;
    if (!g->in_alr && level > ALR_START)
        g->in_alr = true;
    else if (g->in_alr && level < ALR_STOP)
        g->in_alr = false;
}

/* ---- API ------------------------------------------------------------------------- */

static void update_target(gcc_t *g, uint64_t now_us)
{
    uint64_t t = g->loss.bps;
    if (g->cfg.transport_cc)
        t = IRTC_MIN(t, g->aimd.bps);
    if (g->remb_bps > 0)
        t = IRTC_MIN(t, g->remb_bps);
    t = clamp_bps(g, (double)t);
    if (t >= g->prober.want_bps)
        g->prober.backoff_us = WANT_BACKOFF_MIN_US; /* wish granted: probe promptly next time */
    g->target_bps = t;
    IRTC_UNUSED(now_us);
}

void gcc_init(gcc_t *g, const gcc_config_t *cfg, uint64_t now_us)
{
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    if (g->cfg.min_bps == 0)
        g->cfg.min_bps = GCC_DEFAULT_MIN_BPS;
    if (g->cfg.max_bps == 0)
        g->cfg.max_bps = GCC_DEFAULT_MAX_BPS;
    if (g->cfg.max_bps < g->cfg.min_bps)
        g->cfg.max_bps = g->cfg.min_bps;
    if (g->cfg.start_bps == 0)
        g->cfg.start_bps = GCC_DEFAULT_START_BPS;
    g->cfg.start_bps = IRTC_MIN(IRTC_MAX(g->cfg.start_bps, g->cfg.min_bps), g->cfg.max_bps);
    delay_reset(&g->delay);
    rx_init(&g->rx);
    g->aimd.bps = g->aimd.last_throughput_bps = g->cfg.start_bps;
    g->aimd.last_change_us = now_us;
    g->acked.kbps = -1;
    g->loss.bps = g->cfg.start_bps;
    g->target_bps = g->cfg.start_bps;
    g->rtt_us = DEFAULT_RTT_US;
    g->prober.next_id = 1;
    g->prober.backoff_us = WANT_BACKOFF_MIN_US;
    g->alr_last_us = now_us;
}

void gcc_on_packet_sent(gcc_t *g, size_t bytes, uint64_t now_us)
{
    g->last_sent_us = now_us;
    alr_update(g, bytes, now_us);
}

void gcc_on_packet_results(gcc_t *g, const twcc_result_t *r, size_t n, uint64_t now_us)
{
    IRTC_UNUSED(now_us);
    for (size_t i = 0; i < n; i++, r++) {
        if (!r->received) {
            g->loss.lost++;
            g->loss.total++;
            continue;
        }
        if (r->recovered) {
            if (g->loss.lost > 0) /* counted lost before, and in total */
                g->loss.lost--;
        } else {
            g->loss.total++;
        }
        if (r->send_us > g->max_send_us)
            g->max_send_us = r->send_us;
        /* A probe is meant to exceed the estimate and queue for a moment;
         * its result (cluster_estimate) says what the link carries.  Fed to
         * the delay gradient it reads as overuse, and when the subscriber is
         * application-limited the cut goes to 0.85 x the little that is
         * used (simulated: 500 kbps link, 190 kbps sent, estimate 156). */
        if (r->probe_id == TWCC_NO_PROBE)
            delay_on_packet(&g->delay, r->send_us, r->arrival_us);
        acked_on_packet(&g->acked, r->arrival_us, r->size, g->in_alr);
        rx_on_packet(&g->rx, r->arrival_us, r->size);
        if (r->probe_id != TWCC_NO_PROBE)
            probe_on_packet(&g->prober, r);
    }
}

void gcc_on_feedback_done(gcc_t *g, uint64_t now_us)
{
    if (!g->cfg.transport_cc)
        return;
    g->have_fb = true;
    g->last_fb_us = now_us;
    /* Without receiver reports, RTT from feedback: an upper bound (the
     * receiver holds feedback up to its interval). */
    if (!g->have_rr_rtt && g->max_send_us > 0 && now_us > g->max_send_us)
        g->rtt_us = (7 * g->rtt_us + (now_us - g->max_send_us)) / 8;
    g->max_send_us = 0;

    bool saturated = false;
    uint64_t acked = acked_bps(g), probe = probe_results(&g->prober, &saturated);
    uint64_t rx = rx_bps(&g->rx), thr = rx > 0 ? rx : acked;
    if (probe > 0) {
        g->n_probe_results++;
        g->last_probe_bps = probe;
    }
    if (g->delay.usage == GCC_OVERUSING) {
        if (time_to_reduce(g, thr, now_us))
            aimd_update(g, GCC_OVERUSING, thr, now_us);
    } else if (probe > g->aimd.bps) {
        /* A probe got through at this rate: jump there (the loss cap too).
         * If it passed unhindered and the allocator wants still more, try
         * again soon; a saturated probe found the link, keep backing off. */
        if (!saturated && probe > g->aimd.bps + g->aimd.bps / 10) {
            g->prober.backoff_us = WANT_BACKOFF_MIN_US;
            g->prober.next_want_probe_us = IRTC_MIN(g->prober.next_want_probe_us, now_us + WANT_BACKOFF_MIN_US);
        }
        g->aimd.bps = clamp_bps(g, (double)probe);
        g->aimd.last_change_us = now_us;
        /* The probe measured what the link delivers; without this the next
         * overuse (often the probe's own queue) would cut from the old,
         * lagging acknowledged rate, undoing the probe (measured: 1.9 Mbps
         * back to 0.6 on a 2 Mbps link). */
        if (g->acked.kbps < (double)probe / 1000) {
            g->acked.kbps = (double)probe / 1000;
            g->acked.var = 50;
        }
        g->loss.bps = IRTC_MAX(g->loss.bps, g->aimd.bps);
    } else {
        aimd_update(g, g->delay.usage, acked, now_us);
    }
    if (g->loss.total >= LOSS_MIN_PACKETS && now_us - g->loss.last_update_us >= LOSS_MIN_WINDOW_US) {
        loss_update(g, (double)g->loss.lost / g->loss.total, now_us);
        g->loss.lost = g->loss.total = 0;
    }
    update_target(g, now_us);
    probe_on_estimate(g, probe > 0 ? g->target_bps : 0, saturated, now_us);
    probe_process(g, now_us);
}

void gcc_on_remb(gcc_t *g, uint64_t bitrate_bps, uint64_t now_us)
{
    g->remb_bps = IRTC_MAX(bitrate_bps, (uint64_t)1);
    update_target(g, now_us);
}

void gcc_on_receiver_report(gcc_t *g, uint8_t fraction_lost, uint64_t now_us)
{
    if (twcc_active(g, now_us))
        return; /* transport-cc feedback already counts every loss */
    loss_update(g, fraction_lost / 256.0, now_us);
    update_target(g, now_us);
}

void gcc_on_rtt(gcc_t *g, uint64_t rtt_us, uint64_t now_us)
{
    IRTC_UNUSED(now_us);
    g->have_rr_rtt = true;
    g->rtt_us = rtt_us;
}

void gcc_set_desired(gcc_t *g, uint64_t want_bps, uint64_t now_us)
{
    gcc_prober_t *p = &g->prober;
    if (want_bps > p->want_bps + p->want_bps / 20) {
        /* A new, larger wish is worth a prompt probe. */
        p->backoff_us = WANT_BACKOFF_MIN_US;
        p->next_want_probe_us = now_us;
    }
    p->want_bps = want_bps;
}

void gcc_process(gcc_t *g, uint64_t now_us)
{
    alr_update(g, 0, now_us);
    if (g->cfg.transport_cc && g->have_fb && now_us - g->last_fb_us > FEEDBACK_TIMEOUT_US &&
        now_us - g->last_sent_us < FEEDBACK_TIMEOUT_US / 2 && now_us - g->last_timeout_cut_us >= FEEDBACK_TIMEOUT_US) {
        g->loss.bps = clamp_bps(g, 0.8 * (double)g->target_bps);
        g->last_timeout_cut_us = now_us;
        g->n_feedback_timeouts++;
    }
    update_target(g, now_us);
    probe_process(g, now_us);
}

bool gcc_next_probe(gcc_t *g, gcc_probe_t *out)
{
    gcc_prober_t *p = &g->prober;
    if (p->n_pending == 0)
        return false;
    *out = p->pending[0];
    memmove(p->pending, p->pending + 1, --p->n_pending * sizeof p->pending[0]);
    return true;
}
