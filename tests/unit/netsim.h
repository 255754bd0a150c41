/*
 * netsim.h — a simulated downlink for the congestion-control tests: a
 * bottleneck link (capacity in bps, a drop-tail queue, propagation delay,
 * random loss after the queue, a seeded PRNG), the subscriber at its far end
 * (media/twcc.c records arrivals and builds feedback every 50 ms), and the
 * SFU side as the engine will run it: media/pacer.h releasing packets,
 * media/twcc_send.h numbering them and decoding the feedback, media/gcc.h
 * estimating, probe clusters handed from gcc to the pacer and padded.
 *
 * Time advances in 1 ms steps (the engine's pacer timer is 5 ms; arrivals
 * and departures inside a step keep µs precision).  What is sent is up to
 * the test: it queues packets with ns_push; ns_step runs one millisecond.
 * Header-only, for tests only.
 */
#ifndef IRTC_TESTS_NETSIM_H
#define IRTC_TESTS_NETSIM_H

#include <stdlib.h>
#include <string.h>

#include "media/gcc.h"
#include "media/pacer.h"
#include "media/rtp.h"
#include "media/twcc.h"
#include "media/twcc_send.h"

#define NS_LINKQ 8192
#define NS_SLOTS 8192 /* engine packet slots (pacer handles) */
#define NS_FBQ 256
#define NS_STEP_US 1000
#define NS_FB_INTERVAL_US 50000
#define NS_GCC_TIMER_US 25000

typedef struct {
    uint16_t seq;
    uint16_t size;
    double rem_bits; /* still to be transmitted at the bottleneck */
} ns_lpkt_t;

typedef struct {
    uint16_t size;
    uint8_t flags; /* TWCC_SEND_* */
} ns_slot_t;

typedef struct {
    uint64_t at;
    size_t len;
    uint8_t bytes[TWCC_FEEDBACK_MAX_LEN];
} ns_fb_t;

typedef struct {
    uint64_t rng;
    uint64_t now;
    /* link */
    uint64_t cap_bps, prop_us, limit_bytes;
    unsigned loss_pct;
    ns_lpkt_t q[NS_LINKQ];
    size_t q_head, q_n;
    uint64_t q_bytes;
    /* in flight past the bottleneck (FIFO, arrival times ascending) */
    struct {
        uint64_t at;
        uint16_t seq;
        uint16_t size;
    } air[NS_LINKQ];
    size_t air_head, air_n;
    /* receiver */
    twcc_recv_t rx;
    uint64_t next_fb;
    ns_fb_t fbq[NS_FBQ];
    size_t fb_head, fb_n;
    /* sender */
    twcc_send_t tx;
    gcc_t gcc;
    pacer_t pacer;
    ns_slot_t slot[NS_SLOTS];
    uint32_t next_handle;
    uint64_t next_gcc;
    uint64_t last_target;
    /* counters */
    uint64_t sent_bytes, sent_media_bytes, padding_bytes, delivered_bytes;
    uint64_t dropped_queue, dropped_random, dropped_pacer;
    uint64_t probes;
} netsim_t;

static inline uint32_t ns_rand(netsim_t *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (uint32_t)(s->rng >> 16);
}

/* A link like `tc tbf rate cap burst 20kb latency 100ms`: the queue holds
 * 100 ms at the capacity plus 20 KB. */
static inline void ns_set_link(netsim_t *s, uint64_t cap_bps, unsigned loss_pct)
{
    s->cap_bps = cap_bps;
    s->loss_pct = loss_pct;
    s->limit_bytes = cap_bps / 8 / 10 + 20000;
}

/* A link schedule: from at_s (seconds of simulated time) on, this capacity
 * and random loss. */
typedef struct {
    double at_s;
    uint64_t cap_bps;
    unsigned loss_pct;
} ns_phase_t;

/* Applies the phases due at t_s; *next is the first not yet applied. */
static inline void ns_follow(netsim_t *s, const ns_phase_t *ph, size_t n, size_t *next, double t_s)
{
    for (; *next < n && ph[*next].at_s <= t_s; (*next)++)
        ns_set_link(s, ph[*next].cap_bps, ph[*next].loss_pct);
}

static inline void ns_init(netsim_t *s, uint64_t seed, uint64_t cap_bps, uint64_t prop_us, const gcc_config_t *cfg)
{
    memset(s, 0, sizeof *s);
    s->rng = seed;
    s->now = 1000000;
    s->prop_us = prop_us;
    ns_set_link(s, cap_bps, 0);
    twcc_recv_init(&s->rx, 1, 2);
    s->next_fb = s->now + NS_FB_INTERVAL_US;
    twcc_send_init(&s->tx);
    gcc_init(&s->gcc, cfg, s->now);
    pacer_init(&s->pacer, gcc_target_bps(&s->gcc), s->now);
    s->last_target = gcc_target_bps(&s->gcc);
    s->next_gcc = s->now;
}

/* Into the bottleneck queue at time t, or dropped when it is full. */
static inline void ns_link_enqueue(netsim_t *s, uint16_t seq, size_t size)
{
    if (s->q_bytes + size > s->limit_bytes || s->q_n == NS_LINKQ) {
        s->dropped_queue++;
        return;
    }
    s->q[(s->q_head + s->q_n++) % NS_LINKQ] = (ns_lpkt_t){seq, (uint16_t)size, (double)size * 8};
    s->q_bytes += size;
}

/* Transmits one step's worth of bits; each packet leaves at the µs its last
 * bit does, and arrives prop_us later unless randomly lost. */
static inline void ns_link_run(netsim_t *s, uint64_t from, uint64_t dt)
{
    double budget = (double)s->cap_bps * (double)dt / 1e6, used = 0;
    while (s->q_n > 0) {
        ns_lpkt_t *p = &s->q[s->q_head];
        if (p->rem_bits > budget - used) {
            p->rem_bits -= budget - used;
            break;
        }
        used += p->rem_bits;
        uint64_t depart = from + (uint64_t)(used * 1e6 / (double)s->cap_bps);
        s->q_head = (s->q_head + 1) % NS_LINKQ;
        s->q_n--;
        s->q_bytes -= p->size;
        if (ns_rand(s) % 1000 < s->loss_pct * 10u) {
            s->dropped_random++;
            continue;
        }
        s->air[(s->air_head + s->air_n++) % NS_LINKQ].at = depart + s->prop_us;
        s->air[(s->air_head + s->air_n - 1) % NS_LINKQ].seq = p->seq;
        s->air[(s->air_head + s->air_n - 1) % NS_LINKQ].size = p->size;
    }
}

static inline void ns_receiver(netsim_t *s, uint64_t until)
{
    while (s->air_n > 0 && s->air[s->air_head].at <= until) {
        twcc_recv_packet(&s->rx, s->air[s->air_head].seq, s->air[s->air_head].at);
        s->delivered_bytes += s->air[s->air_head].size;
        s->air_head = (s->air_head + 1) % NS_LINKQ;
        s->air_n--;
    }
    if (until >= s->next_fb) {
        size_t len;
        uint8_t buf[TWCC_FEEDBACK_MAX_LEN];
        while ((len = twcc_recv_build_feedback(&s->rx, buf, sizeof buf, until)) > 0 && s->fb_n < NS_FBQ) {
            ns_fb_t *f = &s->fbq[(s->fb_head + s->fb_n++) % NS_FBQ];
            f->at = until + s->prop_us;
            f->len = len;
            memcpy(f->bytes, buf, len);
        }
        s->next_fb += NS_FB_INTERVAL_US;
    }
}

/* The engine's RTCP path: feedback → twcc_send → gcc. */
static inline void ns_sender_feedback(netsim_t *s)
{
    while (s->fb_n > 0 && s->fbq[s->fb_head].at <= s->now) {
        ns_fb_t *f = &s->fbq[s->fb_head];
        rtcp_iter_t it;
        rtcp_pkt_t pkt;
        rtcp_twcc_t fb;
        twcc_fb_iter_t fi;
        const char *why;
        rtcp_iter_init(&it, f->bytes, f->len);
        if (rtcp_iter_next(&it, &pkt, &why) == 1 && rtcp_parse_twcc(&pkt, &fb) == 0 &&
            twcc_send_feedback_begin(&s->tx, &fb, s->now, &fi) == 0) {
            twcc_result_t r[64];
            size_t n;
            while ((n = twcc_send_feedback_next(&fi, r, 64)) > 0)
                gcc_on_packet_results(&s->gcc, r, n, s->now);
            gcc_on_feedback_done(&s->gcc, s->now);
        }
        s->fb_head = (s->fb_head + 1) % NS_FBQ;
        s->fb_n--;
    }
}

static inline void ns_send(netsim_t *s, size_t size, uint8_t flags, uint16_t probe_id)
{
    uint16_t seq = twcc_send_add(&s->tx, s->now, size, flags, probe_id);
    gcc_on_packet_sent(&s->gcc, size, s->now);
    s->sent_bytes += size;
    ns_link_enqueue(s, seq, size);
}

/* The test's media: a packet of this size and class, queued in the pacer. */
static inline void ns_push(netsim_t *s, size_t size, pacer_class_t cls)
{
    uint32_t h = s->next_handle++ % NS_SLOTS, evicted;
    s->slot[h] = (ns_slot_t){(uint16_t)size, cls == PACER_AUDIO ? TWCC_SEND_AUDIO
                                             : cls == PACER_RTX ? TWCC_SEND_RTX
                                                                : 0};
    if (pacer_push(&s->pacer, h, size, cls, s->now, &evicted) != 0)
        s->dropped_pacer++;
}

/* The engine's send loop: probes from gcc to the pacer, the pacer drained. */
static inline void ns_pace(netsim_t *s)
{
    gcc_probe_t pr;
    while (gcc_next_probe(&s->gcc, &pr)) {
        pacer_start_probe(&s->pacer, pr.id, pr.rate_bps, pr.min_bytes, pr.min_packets, s->now);
        s->probes++;
    }
    uint64_t t = gcc_target_bps(&s->gcc);
    if (t != s->last_target) {
        pacer_set_target(&s->pacer, t, s->now);
        s->last_target = t;
    }
    pacer_out_t o;
    pacer_action_t a;
    while ((a = pacer_poll(&s->pacer, s->now, &o)) != PACER_IDLE) {
        if (a == PACER_SEND) {
            ns_send(s, o.size, s->slot[o.handle].flags, o.probe_id);
            s->sent_media_bytes += o.size;
        } else if (a == PACER_PAD) {
            /* The engine would resend a recent packet as RTX, or padding. */
            ns_send(s, o.size, TWCC_SEND_PADDING, o.probe_id);
            s->padding_bytes += o.size;
            pacer_padding_sent(&s->pacer, o.size, s->now);
        } else {
            s->dropped_pacer++;
        }
    }
}

/* One millisecond: link, receiver, feedback, timers, pacer. */
static inline void ns_step(netsim_t *s)
{
    ns_link_run(s, s->now, NS_STEP_US);
    s->now += NS_STEP_US;
    ns_receiver(s, s->now);
    ns_sender_feedback(s);
    if (s->now >= s->next_gcc) {
        gcc_process(&s->gcc, s->now);
        s->next_gcc += NS_GCC_TIMER_US;
    }
    ns_pace(s);
}

/* Queueing delay at the bottleneck now. */
static inline double ns_queue_ms(const netsim_t *s)
{
    return (double)s->q_bytes * 8 * 1000 / (double)s->cap_bps;
}

#endif
