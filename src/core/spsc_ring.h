/*
 * spsc_ring.h — a lock-free single-producer single-consumer ring of packets
 * (up to 1500 bytes each, with their arrival time), so a thread that must
 * never wait (a media worker) can hand copies to one that may be slow (a
 * recorder writing to a NAS): when the ring is full the producer drops the
 * packet, counts it and marks the ring, and the consumer learns it lost some.
 *
 * Threads: spsc_ring_push only on the one producer thread, spsc_ring_peek /
 * spsc_ring_pop only on the one consumer thread; the refcount may be touched
 * anywhere.  Slots are preallocated: no allocation per packet.
 *
 * Does not: know what the packets are (RTP, which codec): whoever shares a
 * ring tells its consumer that separately.
 */
#ifndef IRTC_SPSC_RING_H
#define IRTC_SPSC_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SPSC_RING_SLOT_DATA 1500

typedef struct {
    uint64_t arrival_us; /* the producer's monotonic clock */
    uint16_t len;        /* bytes of data */
    uint8_t tag;         /* the producer's label (media/pipe.h: encoding, kind); 0 from spsc_ring_push */
    uint8_t data[SPSC_RING_SLOT_DATA];
} spsc_slot_t;

typedef struct spsc_ring {
    _Atomic uint64_t head;    /* next slot to write (producer) */
    _Atomic uint64_t tail;    /* next slot to read (consumer) */
    _Atomic uint64_t dropped; /* packets lost because the ring was full */
    _Atomic bool overflowed;  /* set by the producer, cleared by the consumer */
    _Atomic int refs;
    size_t mask; /* slots - 1 (power of two) */
    spsc_slot_t *slots;
} spsc_ring_t;

/* A ring of at least slots slots (rounded up to a power of two) with one
 * reference held by the caller. */
spsc_ring_t *spsc_ring_new(size_t slots);
void spsc_ring_ref(spsc_ring_t *r);
void spsc_ring_unref(spsc_ring_t *r); /* frees on the last reference */

/* Producer: copies the packet in with a label for its consumer; false (and
 * counts a drop) when full or too big. */
static inline bool spsc_ring_push_tag(spsc_ring_t *r, uint8_t tag, const uint8_t *pkt, size_t len, uint64_t arrival_us)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail > r->mask || len > SPSC_RING_SLOT_DATA) {
        atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
        atomic_store_explicit(&r->overflowed, true, memory_order_relaxed);
        return false;
    }
    spsc_slot_t *s = &r->slots[head & r->mask];
    s->arrival_us = arrival_us;
    s->len = (uint16_t)len;
    s->tag = tag;
    memcpy(s->data, pkt, len);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

/* Producer: copies the packet in; false (and counts a drop) when full or too big. */
static inline bool spsc_ring_push(spsc_ring_t *r, const uint8_t *pkt, size_t len, uint64_t arrival_us)
{
    return spsc_ring_push_tag(r, 0, pkt, len, arrival_us);
}

/* Consumer: the oldest slot, or NULL when empty; valid until spsc_ring_pop. */
static inline const spsc_slot_t *spsc_ring_peek(spsc_ring_t *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    return tail == head ? NULL : &r->slots[tail & r->mask];
}

static inline void spsc_ring_pop(spsc_ring_t *r)
{
    atomic_store_explicit(&r->tail, atomic_load_explicit(&r->tail, memory_order_relaxed) + 1, memory_order_release);
}

#endif
