/*
 * gcc.h — the downlink bandwidth estimate of one subscriber transport:
 * Google Congestion Control as libwebrtc runs it and draft-ietf-rmcat-gcc-02
 * describes it, on the send side.
 *
 *   delay-based  packets grouped in 5 ms bursts (§5.2), a trendline over the
 *                one-way delay gradient, an overuse detector with an adaptive
 *                threshold (§5.4), AIMD rate control (§5.5) cutting to 0.85 ×
 *                what arrived over the last 200 ms (the draft's R_hat);
 *                probe packets stay out of the gradient (they are meant to
 *                queue; their result says what the link carries);
 *   acked rate   what the receiver got, smoothed (libwebrtc's Bayesian
 *                estimator over 150 ms windows): caps increases at 1.5× it;
 *   loss-based   < 2 % loss: may grow 8 %/s, 2-10 %: hold, > 10 %: cut by
 *                half the loss (§6), from transport-cc feedback, or from
 *                receiver reports when the subscriber sends no transport-cc;
 *   REMB         a cap, for subscribers that send REMB;
 *   probing      initial probes (3× and 6× the start rate), further probes
 *                while results keep coming back high, and probes when the
 *                allocator wants more than the estimate: before a step up to
 *                a higher layer, backing off while they fail.
 *
 * The target is min(delay-based, loss-based, REMB) within [min, max].
 *
 * One gcc_t per subscriber transport, owned by the media worker that owns
 * the transport: fixed size, no allocation, no locks, no logging.  Time is
 * the caller's monotonic clock in µs; arrival times (twcc_result_t) are the
 * receiver's clock and only their differences are used.
 *
 * Use: after each packet sent, gcc_on_packet_sent; for each transport-cc
 * feedback, gcc_on_packet_results (any number of batches) then
 * gcc_on_feedback_done; REMB, RR loss and RTT as they come; gcc_process on a
 * timer (every 25-100 ms); the allocator's wish through gcc_set_desired.
 * Then read gcc_target_bps and pop probe clusters with gcc_next_probe for the
 * pacer (pacer_start_probe); the probe's packets carry its id
 * (twcc_send_add), which is how their results come back here.
 *
 * Does not: parse feedback (twcc_send.h), pace (pacer.h), or split the
 * estimate between streams (alloc.h).
 */
#ifndef IRTC_MEDIA_GCC_H
#define IRTC_MEDIA_GCC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "media/twcc_send.h"

#define GCC_DEFAULT_MIN_BPS 50000 /* audio and RTCP must keep flowing */
#define GCC_DEFAULT_START_BPS 1000000
#define GCC_DEFAULT_MAX_BPS 10000000
#define GCC_TREND_WINDOW 20 /* trendline points (libwebrtc's default) */
#define GCC_MAX_PROBES 4    /* probe clusters waiting for the pacer */
#define GCC_CLUSTERS 8      /* probe clusters being measured */

typedef struct {
    uint64_t min_bps, start_bps, max_bps; /* 0: the defaults above */
    /* The subscriber negotiated transport-cc: delay-based estimate and
     * probing.  Without it only REMB and receiver-report loss count. */
    bool transport_cc;
} gcc_config_t;

/* A probe cluster for the pacer: send at rate_bps until min_bytes and
 * min_packets went out, each packet tagged with id. */
typedef struct {
    uint16_t id;
    uint64_t rate_bps;
    uint32_t min_bytes, min_packets;
} gcc_probe_t;

typedef enum { GCC_NORMAL = 0, GCC_OVERUSING, GCC_UNDERUSING } gcc_usage_t;

/* ---- internal state, public for embedding and for /metrics --------------- */

typedef struct {
    bool valid;
    uint64_t first_send, last_send;
    int64_t first_arrival, last_arrival;
} gcc_group_t;

typedef struct {
    gcc_group_t cur, prev;
    unsigned reordered; /* consecutive groups that arrived before their predecessor */
    /* trendline */
    bool have_first;
    int64_t first_arrival;
    double acc_delay_ms, smoothed_ms;
    double x[GCC_TREND_WINDOW], y[GCC_TREND_WINDOW];
    unsigned n_pts, next_pt;
    unsigned num_deltas;
    double trend, prev_trend;
    /* overuse detector */
    double threshold_ms;
    double time_over_ms; /* < 0: not over */
    unsigned overuse_count;
    bool have_thresh_update;
    int64_t last_thresh_update;
    gcc_usage_t usage;
} gcc_delay_t;

typedef struct {
    uint64_t bps;
    int state; /* hold, increase, decrease */
    uint64_t last_change_us;
    uint64_t last_throughput_bps;
    bool link_valid;
    double link_kbps, link_var;
} gcc_aimd_t;

typedef struct {
    bool have_prev;
    int64_t prev_arrival;
    int64_t window_us;
    uint64_t window_bytes;
    double kbps; /* < 0: no estimate yet */
    double var;
} gcc_acked_t;

/* Bytes received per 10 ms of the receiver's clock, over the last 200 ms. */
#define GCC_RX_BINS 20
typedef struct {
    int64_t bin[GCC_RX_BINS]; /* arrival_us / 10 ms of the bytes held, or -1 */
    uint64_t bytes[GCC_RX_BINS];
    int64_t newest;
} gcc_rxrate_t;

typedef struct {
    uint64_t bps;
    uint32_t lost, total; /* since the last update */
    double fraction;      /* of the last update */
    uint64_t last_update_us, last_decrease_us;
} gcc_loss_t;

typedef struct {
    uint16_t id; /* 0: free */
    uint64_t rate_bps;
    uint32_t min_bytes, min_packets;
    uint64_t created_us;
    uint32_t n_rx;
    uint64_t bytes_rx;
    uint64_t first_send, last_send;
    uint16_t last_send_size, first_arrival_size;
    int64_t first_arrival, last_arrival;
    bool updated;
} gcc_cluster_t;

typedef struct {
    int state; /* init, waiting for a result, complete */
    uint16_t next_id;
    gcc_probe_t pending[GCC_MAX_PROBES];
    unsigned n_pending;
    gcc_cluster_t cl[GCC_CLUSTERS];
    uint64_t min_further_bps, further_cap_bps, wait_since_us;
    uint64_t want_bps, next_want_probe_us, backoff_us;
    uint64_t result_bps; /* best probe result of the feedback being read */
} gcc_prober_t;

typedef struct {
    gcc_config_t cfg;
    gcc_delay_t delay;
    gcc_aimd_t aimd;
    gcc_acked_t acked;
    gcc_rxrate_t rx;
    gcc_loss_t loss;
    gcc_prober_t prober;

    uint64_t target_bps;
    uint64_t rtt_us;
    bool have_rr_rtt;
    uint64_t remb_bps;    /* 0: none */
    uint64_t max_send_us; /* newest send time acknowledged by this feedback */
    uint64_t last_fb_us, last_sent_us, last_timeout_cut_us;
    bool have_fb;
    /* application-limited region: a budget at 65 % of the target */
    double alr_budget_bytes;
    uint64_t alr_last_us;
    bool in_alr;

    /* counters, for /metrics */
    uint64_t n_overuse, n_probe_results, n_feedback_timeouts;
    uint64_t last_probe_bps;
} gcc_t;

/* ---- API ------------------------------------------------------------------- */

void gcc_init(gcc_t *g, const gcc_config_t *cfg, uint64_t now_us);

/* Every packet sent on the transport (bytes as counted in twcc_send_add). */
void gcc_on_packet_sent(gcc_t *g, size_t bytes, uint64_t now_us);

/* Results of one transport-cc feedback packet (twcc_send_feedback_next), in
 * as many batches as convenient; then gcc_on_feedback_done once. */
void gcc_on_packet_results(gcc_t *g, const twcc_result_t *r, size_t n, uint64_t now_us);
void gcc_on_feedback_done(gcc_t *g, uint64_t now_us);

/* A REMB from the subscriber (caps the target). */
void gcc_on_remb(gcc_t *g, uint64_t bitrate_bps, uint64_t now_us);

/* A receiver report block about one of our streams: its 8-bit fraction lost
 * drives the loss-based estimate while no transport-cc feedback comes. */
void gcc_on_receiver_report(gcc_t *g, uint8_t fraction_lost, uint64_t now_us);

/* Round-trip time from a receiver report (LSR/DLSR). */
void gcc_on_rtt(gcc_t *g, uint64_t rtt_us, uint64_t now_us);

/* The allocator's wish: what the transport would send at its next step up
 * (alloc_want_bps).  Above the target, it is probed for before the step. */
void gcc_set_desired(gcc_t *g, uint64_t want_bps, uint64_t now_us);

/* Timers: probe timeouts, probes for the allocator, feedback timeout. */
void gcc_process(gcc_t *g, uint64_t now_us);

/* The next probe cluster to hand to the pacer; false when none. */
bool gcc_next_probe(gcc_t *g, gcc_probe_t *out);

static inline uint64_t gcc_target_bps(const gcc_t *g)
{
    return g->target_bps;
}

#endif
