/*
 * pacer.h — the send queue of one subscriber transport: releases packets at
 * the pacing rate (a multiple of the congestion controller's target) so a
 * keyframe never leaves as a multi-megabit burst, in strict priority order
 * audio > retransmissions > video, runs probe clusters at the probe rate and
 * asks for padding when a probe needs bytes the media does not supply.
 *
 * It queues references, not packets: a handle into the engine's own packet
 * slots, with the size and class.  The engine pushes what it wants to send,
 * then calls pacer_poll in a loop (every loop turn and on a ~5 ms timer)
 * until it says PACER_IDLE, doing what each answer says; pacer_next_us says
 * when to poll again.
 *
 * One pacer_t per subscriber transport, owned by the media worker that owns
 * the transport: fixed size (about 16 KiB), no allocation, no locks, no
 * logging.  Time is the caller's monotonic clock in µs.
 *
 * Does not: hold packet bytes, choose what padding to send (RTX of a recent
 * packet, or padding-only packets: the engine's choice), assign
 * transport-wide sequence numbers (twcc_send.h, when a packet is sent), or
 * decide the rates (gcc.h).
 */
#ifndef IRTC_MEDIA_PACER_H
#define IRTC_MEDIA_PACER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Packets queued at most: ~4 s of a 2.5 Mbps layer in 1200-byte packets, so
 * the largest keyframes fit with room to spare. */
#define PACER_QUEUE_MAX 1024
/* Pacing rate = target × this.  Not 1: frames come in bursts and a
 * keyframe is several frames' worth, and pacing at the target would hold
 * each for its whole size.  Not libwebrtc's 2.5 either: what leaves faster
 * than the link waits in the bottleneck's queue, where audio cannot
 * overtake it and GCC reads it as overuse.  Simulated on a 2 Mbps link
 * (test_gcc), p95 queueing delay 44 / 67 / 80 / 102 ms at 1.1 / 1.2 / 1.5 /
 * 2.5, same utilisation (95 %); the simulcast scenario (test_alloc) the
 * same at all four. */
#define PACER_FACTOR 1.5
/* Unused budget kept while idle: one engine timer period, so a late timer
 * does not lower the rate, and no more, so an idle pacer cannot burst. */
#define PACER_MAX_CREDIT_US 5000
/* What is queued should leave within this: when it would not at the pacing
 * rate (a keyframe far over the target), the pacer speeds up, to at most
 * PACER_MAX_BOOST × the pacing rate, as libwebrtc's queue-time limit does.
 * Dropping the tail of a keyframe instead would only make the receiver ask
 * for another. */
#define PACER_MAX_QUEUE_DELAY_US 500000
#define PACER_MAX_BOOST 3
/* Video and retransmissions that still waited this long are dropped, not
 * sent: the receiver's jitter buffer gave up on them (audio never ages out). */
#define PACER_DROP_AGE_US 1000000
/* Largest padding asked for at once (one packet). */
#define PACER_PAD_MAX 1200
/* A probe that could not finish in this time is abandoned. */
#define PACER_PROBE_TIMEOUT_US 250000

typedef enum {
    PACER_AUDIO = 0, /* highest priority, never dropped before the others */
    PACER_RTX = 1,   /* retransmissions: repair beats new video */
    PACER_VIDEO = 2,
    PACER_CLASSES = 3,
} pacer_class_t;

typedef enum {
    PACER_IDLE = 0, /* nothing to do before pacer_next_us() */
    PACER_SEND,     /* send out->handle now, tagged with out->probe_id */
    PACER_DROP,     /* out->handle waited too long: release it unsent */
    PACER_PAD,      /* send one padding packet of at most out->size bytes for probe out->probe_id,
                       then call pacer_padding_sent() with its size (0 if none could be made) */
} pacer_action_t;

typedef struct {
    uint32_t handle;
    uint16_t size;
    uint8_t cls;       /* pacer_class_t */
    uint16_t probe_id; /* 0 outside a probe */
} pacer_out_t;

typedef struct {
    uint64_t enq_us;
    uint32_t handle;
    uint16_t size;
    uint16_t next;
} pacer_entry_t;

typedef struct {
    bool active;
    uint16_t id;
    uint64_t rate_bps;
    uint32_t min_bytes, min_packets;
    uint64_t sent_bytes, sent_packets;
    uint64_t start_us;
} pacer_probe_t;

typedef struct {
    uint64_t pacing_bps; /* PACER_FACTOR × target */
    uint64_t rate_bps;   /* what the budget drains at now: pacing_bps, or faster to meet the queue delay */
    int64_t debt;        /* bits × 1e6 still to be paid off at rate_bps (negative: credit) */
    uint64_t last_us;    /* when debt was last brought up to date */
    pacer_probe_t probe;

    uint32_t n;
    uint64_t queued_bytes;
    uint16_t head[PACER_CLASSES], tail[PACER_CLASSES], free_head;
    uint32_t count[PACER_CLASSES];
    pacer_entry_t e[PACER_QUEUE_MAX];

    /* counters, for /metrics */
    uint64_t sent_bytes[PACER_CLASSES], sent_packets[PACER_CLASSES];
    uint64_t dropped_full[PACER_CLASSES], dropped_old[PACER_CLASSES];
    uint64_t padding_bytes, padding_packets;
    uint64_t probes_started, probes_done, probes_abandoned;
} pacer_t;

/* An empty pacer pacing at PACER_FACTOR × target_bps. */
void pacer_init(pacer_t *p, uint64_t target_bps, uint64_t now_us);

/* New target from the congestion controller; the pacing rate follows. */
void pacer_set_target(pacer_t *p, uint64_t target_bps, uint64_t now_us);

/* Queues a packet.  IRTC_OK, or IRTC_ELIMIT when the queue was full and
 * *evicted gets the handle given up to make room (maybe this very one): the
 * oldest packet of the lowest class present (video, then RTX, then audio);
 * the new packet is refused instead if its class is lower still. */
int pacer_push(pacer_t *p, uint32_t handle, size_t size, pacer_class_t cls, uint64_t now_us, uint32_t *evicted);

/* What to do now; see pacer_action_t.  Call until PACER_IDLE. */
pacer_action_t pacer_poll(pacer_t *p, uint64_t now_us, pacer_out_t *out);

/* After PACER_PAD: the padding packet's size, 0 if none could be sent (the
 * probe is then abandoned). */
void pacer_padding_sent(pacer_t *p, size_t bytes, uint64_t now_us);

/* Starts a probe cluster (gcc.h's gcc_probe_t): from now every packet goes
 * out at rate_bps and carries id, padded when the queue runs dry, until
 * min_bytes and min_packets were sent.  Replaces a probe still running. */
void pacer_start_probe(pacer_t *p, uint16_t id, uint64_t rate_bps, uint32_t min_bytes, uint32_t min_packets,
                       uint64_t now_us);

/* When pacer_poll next has something to do: now_us or earlier if due,
 * UINT64_MAX when idle with an empty queue and no probe. */
uint64_t pacer_next_us(const pacer_t *p, uint64_t now_us);

/* Time the queued bytes take at the current rate. */
uint64_t pacer_queue_delay_us(const pacer_t *p);

static inline uint32_t pacer_queued(const pacer_t *p)
{
    return p->n;
}

#endif
