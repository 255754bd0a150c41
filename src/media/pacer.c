/*
 * pacer.c — a leaky bucket over three FIFO queues of packet handles.
 *
 * Runs on the media worker that owns the transport, from its event loop.
 *
 * Does not: touch packet bytes or sockets.
 *
 * The budget is a debt in bit·µs (bits × 1e6): sending a packet adds its
 * bits × 1e6, each elapsed µs pays off rate_bps, so the arithmetic is exact
 * integers at any rate.  A packet may go when the debt is paid; so over any
 * interval the bytes sent never exceed what the rate allowed plus the idle
 * credit (PACER_MAX_CREDIT_US at the pacing rate) plus one packet.  rate_bps
 * is the pacing rate, or more while the queue would not drain within
 * PACER_MAX_QUEUE_DELAY_US; it is recomputed after every push and poll and
 * constant in between.  A probe cluster runs on its own clock (start time and
 * bytes sent at the probe rate) and leaves the media budget alone.
 */
#include "media/pacer.h"

#include <string.h>

#include "core/common.h"

#define NIL 0xFFFF
#define MIN_PACING_BPS 10000 /* never stall completely on a zero target */
#define MAX_STEP_US 1000000  /* longer idle gaps earn no more than the credit cap anyway */

_Static_assert(PACER_QUEUE_MAX < NIL, "handles index with 16 bits");

static int64_t bits_us(size_t bytes)
{
    return (int64_t)bytes * 8 * 1000000;
}

static void advance(pacer_t *p, uint64_t now_us)
{
    if (now_us <= p->last_us)
        return;
    uint64_t dt = IRTC_MIN(now_us - p->last_us, (uint64_t)MAX_STEP_US);
    int64_t floor = -(int64_t)(p->pacing_bps * PACER_MAX_CREDIT_US);
    p->debt -= (int64_t)(p->rate_bps * dt);
    if (p->debt < floor)
        p->debt = floor;
    p->last_us = now_us;
}

static uint64_t oldest_enq(const pacer_t *p)
{
    uint64_t t = UINT64_MAX;
    for (int c = 0; c < PACER_CLASSES; c++)
        if (p->count[c] > 0)
            t = IRTC_MIN(t, p->e[p->head[c]].enq_us);
    return t;
}

/* The rate that empties the queue by the time its oldest packet has waited
 * PACER_MAX_QUEUE_DELAY_US, within [pacing, PACER_MAX_BOOST × pacing]. */
static void update_rate(pacer_t *p, uint64_t now_us)
{
    p->rate_bps = p->pacing_bps;
    if (p->n == 0)
        return;
    uint64_t age = now_us - IRTC_MIN(oldest_enq(p), now_us);
    uint64_t left = age < PACER_MAX_QUEUE_DELAY_US ? PACER_MAX_QUEUE_DELAY_US - age : 0;
    uint64_t needed = p->queued_bytes * 8 * 1000000 / IRTC_MAX(left, (uint64_t)1000);
    p->rate_bps = IRTC_MIN(IRTC_MAX(needed, p->pacing_bps), p->pacing_bps * PACER_MAX_BOOST);
}

void pacer_set_target(pacer_t *p, uint64_t target_bps, uint64_t now_us)
{
    advance(p, now_us);
    p->pacing_bps = IRTC_MAX((uint64_t)((double)target_bps * PACER_FACTOR), (uint64_t)MIN_PACING_BPS);
    int64_t floor = -(int64_t)(p->pacing_bps * PACER_MAX_CREDIT_US);
    if (p->debt < floor)
        p->debt = floor;
    update_rate(p, now_us);
}

void pacer_init(pacer_t *p, uint64_t target_bps, uint64_t now_us)
{
    memset(p, 0, offsetof(pacer_t, e));
    for (int c = 0; c < PACER_CLASSES; c++)
        p->head[c] = p->tail[c] = NIL;
    for (uint16_t i = 0; i < PACER_QUEUE_MAX; i++)
        p->e[i].next = i + 1 < PACER_QUEUE_MAX ? i + 1 : NIL;
    p->free_head = 0;
    p->last_us = now_us;
    pacer_set_target(p, target_bps, now_us);
    memset(p->sent_bytes, 0, sizeof *p - offsetof(pacer_t, sent_bytes));
}

/* ---- the queues ---------------------------------------------------------- */

static void enqueue(pacer_t *p, uint32_t handle, size_t size, int cls, uint64_t now_us)
{
    uint16_t i = p->free_head;
    p->free_head = p->e[i].next;
    p->e[i] = (pacer_entry_t){.enq_us = now_us, .handle = handle, .size = (uint16_t)size, .next = NIL};
    if (p->tail[cls] == NIL)
        p->head[cls] = i;
    else
        p->e[p->tail[cls]].next = i;
    p->tail[cls] = i;
    p->count[cls]++;
    p->n++;
    p->queued_bytes += size;
}

static pacer_entry_t dequeue(pacer_t *p, int cls)
{
    uint16_t i = p->head[cls];
    pacer_entry_t e = p->e[i];
    p->head[cls] = e.next;
    if (e.next == NIL)
        p->tail[cls] = NIL;
    p->e[i].next = p->free_head;
    p->free_head = i;
    p->count[cls]--;
    p->n--;
    p->queued_bytes -= e.size;
    return e;
}

static int push(pacer_t *p, uint32_t handle, size_t size, pacer_class_t cls, uint64_t now_us, uint32_t *evicted)
{
    if (p->n < PACER_QUEUE_MAX) {
        enqueue(p, handle, size, cls, now_us);
        return IRTC_OK;
    }
    int victim = PACER_CLASSES - 1;
    while (p->count[victim] == 0)
        victim--;
    if ((int)cls > victim) {
        p->dropped_full[cls]++;
        *evicted = handle;
        return IRTC_ELIMIT;
    }
    *evicted = dequeue(p, victim).handle;
    p->dropped_full[victim]++;
    enqueue(p, handle, size, cls, now_us);
    return IRTC_ELIMIT;
}

int pacer_push(pacer_t *p, uint32_t handle, size_t size, pacer_class_t cls, uint64_t now_us, uint32_t *evicted)
{
    advance(p, now_us);
    int rc = push(p, handle, IRTC_MIN(size, (size_t)UINT16_MAX), cls, now_us, evicted);
    update_rate(p, now_us);
    return rc;
}

static int first_class(const pacer_t *p)
{
    for (int c = 0; c < PACER_CLASSES; c++)
        if (p->count[c] > 0)
            return c;
    return -1;
}

/* ---- probes ---------------------------------------------------------------- */

void pacer_start_probe(pacer_t *p, uint16_t id, uint64_t rate_bps, uint32_t min_bytes, uint32_t min_packets,
                       uint64_t now_us)
{
    advance(p, now_us);
    if (p->probe.active)
        p->probes_abandoned++;
    p->probe = (pacer_probe_t){.active = rate_bps > 0,
                               .id = id,
                               .rate_bps = rate_bps,
                               .min_bytes = min_bytes,
                               .min_packets = IRTC_MAX(min_packets, 1u),
                               .start_us = now_us};
    p->probes_started += rate_bps > 0;
}

static void probe_sent(pacer_t *p, size_t bytes)
{
    pacer_probe_t *pr = &p->probe;
    pr->sent_bytes += bytes;
    pr->sent_packets++;
    if (pr->sent_bytes >= pr->min_bytes && pr->sent_packets >= pr->min_packets) {
        pr->active = false;
        p->probes_done++;
    }
}

/* When the probe may send its next packet: bytes sent so far at its rate. */
static uint64_t probe_due(const pacer_probe_t *pr)
{
    return pr->start_us + pr->sent_bytes * 8 * 1000000 / pr->rate_bps;
}

void pacer_padding_sent(pacer_t *p, size_t bytes, uint64_t now_us)
{
    advance(p, now_us);
    if (bytes == 0) {
        if (p->probe.active) {
            p->probe.active = false;
            p->probes_abandoned++;
        }
        return;
    }
    p->padding_bytes += bytes;
    p->padding_packets++;
    if (p->probe.active)
        probe_sent(p, bytes);
    else
        p->debt += bits_us(bytes);
}

/* ---- polling ----------------------------------------------------------------- */

static pacer_action_t emit(pacer_t *p, int cls, uint16_t probe_id, pacer_out_t *out)
{
    pacer_entry_t e = dequeue(p, cls);
    *out = (pacer_out_t){.handle = e.handle, .size = e.size, .cls = (uint8_t)cls, .probe_id = probe_id};
    p->sent_bytes[cls] += e.size;
    p->sent_packets[cls]++;
    return PACER_SEND;
}

static pacer_action_t poll(pacer_t *p, uint64_t now_us, pacer_out_t *out)
{
    for (int c = PACER_RTX; c <= PACER_VIDEO; c++) {
        if (p->count[c] > 0 && now_us > p->e[p->head[c]].enq_us + PACER_DROP_AGE_US) {
            pacer_entry_t e = dequeue(p, c);
            *out = (pacer_out_t){.handle = e.handle, .size = e.size, .cls = (uint8_t)c};
            p->dropped_old[c]++;
            return PACER_DROP;
        }
    }
    int cls = first_class(p);
    pacer_probe_t *pr = &p->probe;
    if (pr->active && now_us - pr->start_us > PACER_PROBE_TIMEOUT_US) {
        pr->active = false;
        p->probes_abandoned++;
    }
    if (pr->active) {
        if (probe_due(pr) > now_us)
            return PACER_IDLE;
        if (cls < 0) {
            /* Full-size padding even for the last bytes: the probe's rate is
             * measured leaving out one packet at each end, and packets of one
             * size keep that from skewing it. */
            *out = (pacer_out_t){.size = PACER_PAD_MAX, .probe_id = pr->id};
            return PACER_PAD;
        }
        uint16_t id = pr->id;
        probe_sent(p, p->e[p->head[cls]].size);
        return emit(p, cls, id, out);
    }
    if (cls < 0 || p->debt > 0)
        return PACER_IDLE;
    p->debt += bits_us(p->e[p->head[cls]].size);
    return emit(p, cls, 0, out);
}

pacer_action_t pacer_poll(pacer_t *p, uint64_t now_us, pacer_out_t *out)
{
    advance(p, now_us);
    pacer_action_t a = poll(p, now_us, out);
    update_rate(p, now_us);
    return a;
}

uint64_t pacer_next_us(const pacer_t *p, uint64_t now_us)
{
    if (p->probe.active)
        return IRTC_MAX(probe_due(&p->probe), now_us);
    if (p->n == 0)
        return UINT64_MAX;
    if (p->debt <= 0)
        return now_us;
    uint64_t t = p->last_us + ((uint64_t)p->debt + p->rate_bps - 1) / p->rate_bps;
    return IRTC_MAX(t, now_us);
}

uint64_t pacer_queue_delay_us(const pacer_t *p)
{
    return p->queued_bytes * 8 * 1000000 / p->rate_bps;
}
