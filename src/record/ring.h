/*
 * ring.h — the lock-free single-producer single-consumer ring that carries
 * plaintext RTP from a media worker (producer) to a recorder thread
 * (consumer), so that a slow disk or NAS never stalls forwarding: when the
 * ring is full the worker drops the packet, counts it and marks the ring so
 * the recorder can ask for a keyframe.
 *
 * Threads: rec_ring_push only on the one producer thread, rec_ring_peek /
 * rec_ring_pop only on the one consumer thread; the refcount may be touched
 * anywhere.  Slots are preallocated: no allocation per packet.
 */
#ifndef IRTC_REC_RING_H
#define IRTC_REC_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define REC_RING_SLOT_DATA 1500

typedef struct {
    uint64_t arrival_us; /* worker's monotonic clock */
    uint16_t len;        /* bytes of data: the whole RTP packet, plaintext, RTX unwrapped */
    uint8_t data[REC_RING_SLOT_DATA];
} rec_slot_t;

typedef struct rec_ring {
    _Atomic uint64_t head; /* next slot to write (producer) */
    _Atomic uint64_t tail; /* next slot to read (consumer) */
    _Atomic uint64_t dropped;      /* packets lost because the ring was full */
    _Atomic bool overflowed;       /* set by the producer, cleared by the consumer */
    _Atomic int refs;
    size_t mask;                   /* slots - 1 (power of two) */
    /* what the stream is, set before the ring is shared */
    int kind;                      /* 0 audio, 1 video (MX_KIND_*) */
    int codec;                     /* MX_CODEC_* */
    uint32_t clock_rate;
    uint8_t pt;
    rec_slot_t *slots;
} rec_ring_t;

/* A ring of slots (power of two) with one reference held by the caller. */
rec_ring_t *rec_ring_new(size_t slots);
void rec_ring_ref(rec_ring_t *r);
void rec_ring_unref(rec_ring_t *r); /* frees on the last reference */

/* Producer: copies the packet in; false (and counts a drop) when full or too big. */
static inline bool rec_ring_push(rec_ring_t *r, const uint8_t *pkt, size_t len, uint64_t arrival_us)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail > r->mask || len > REC_RING_SLOT_DATA) {
        atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
        atomic_store_explicit(&r->overflowed, true, memory_order_relaxed);
        return false;
    }
    rec_slot_t *s = &r->slots[head & r->mask];
    s->arrival_us = arrival_us;
    s->len = (uint16_t)len;
    memcpy(s->data, pkt, len);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

/* Consumer: the oldest slot, or NULL when empty; valid until rec_ring_pop. */
static inline const rec_slot_t *rec_ring_peek(rec_ring_t *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    return tail == head ? NULL : &r->slots[tail & r->mask];
}

static inline void rec_ring_pop(rec_ring_t *r)
{
    atomic_store_explicit(&r->tail, atomic_load_explicit(&r->tail, memory_order_relaxed) + 1, memory_order_release);
}

#endif
