/*
 * pipe.h — one published track carried from the worker that receives it
 * (its room's home worker) to a second worker whose subscribers it feeds:
 * a room too big for one core (docs/ARCHITECTURE.md, "A room spanning
 * workers").  Two single-producer/single-consumer rings (core/spsc_ring.h):
 *
 *   fwd   home → remote: every stored plaintext RTP packet of the track
 *         (slot tag = its encoding) and the publisher's sender reports
 *         (tag PIPE_TAG_SR | encoding, 12 bytes: NTP seconds, fraction, RTP
 *         timestamp);
 *   back  remote → home: keyframe requests of the remote subscribers (tag =
 *         encoding, one byte of data: forced or not), so the home worker's
 *         PLI rate limit sees every subscriber.
 *
 * The home worker pushes into fwd as it stores packets and marks the pipe
 * pending; at the end of its loop turn (pipe_wake) it writes the remote
 * worker's eventfd once, so the remote worker wakes once per turn, never
 * per packet.  A full ring drops the packet (counted): the remote
 * subscribers' NACKs are answered from the remote store, what it never got
 * costs them a keyframe.
 *
 * Threads: the home worker pushes fwd, pops back and owns `pending`; the
 * remote worker pops fwd and pushes back; the reference count is atomic
 * (the control thread makes the pipe and hands a reference to each side).
 * Nothing here allocates after pipe_new.
 */
#ifndef IRTC_MEDIA_PIPE_H
#define IRTC_MEDIA_PIPE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/spsc_ring.h"

#define PIPE_TAG_SR 0x80
#define PIPE_FWD_SLOTS 2048 /* ~1.5 s of a 2.5 Mbit/s layer plus audio */
#define PIPE_BACK_SLOTS 64

typedef struct mx_pipe {
    spsc_ring_t *fwd, *back;
    int wake_fd;    /* the remote worker's eventfd (stays open while any worker runs) */
    _Atomic int refs;
    bool pending;   /* home worker: pushed this turn, the remote is not woken yet */
} mx_pipe_t;

/* A pipe with one reference held by the caller. */
mx_pipe_t *pipe_new(int wake_fd);
void pipe_ref(mx_pipe_t *p);
void pipe_unref(mx_pipe_t *p); /* frees on the last reference */

/* Home worker: one stored packet of encoding ei; false when the ring is full. */
static inline bool pipe_push_rtp(mx_pipe_t *p, unsigned ei, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    p->pending = true;
    return spsc_ring_push_tag(p->fwd, (uint8_t)ei, pkt, len, now_us);
}

void pipe_push_sr(mx_pipe_t *p, unsigned ei, uint32_t ntp_sec, uint32_t ntp_frac, uint32_t rtp_ts, uint64_t now_us);
/* Home worker, at the end of a loop turn: wakes the remote once if anything was pushed. */
void pipe_wake(mx_pipe_t *p);
/* Remote worker: a keyframe request for encoding ei (false when the ring is full). */
bool pipe_push_keyframe(mx_pipe_t *p, unsigned ei, bool force);

#endif
