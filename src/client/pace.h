/*
 * pace.h — the client core's paced sender for a publication's synthetic
 * video, as libwebrtc's paced sender sends a browser's in its periodic mode:
 * PACE_FACTOR x the video bitrate, released every loop tick (IC_TICK_US,
 * libwebrtc's 5 ms), audio unpaced ahead of it.  A frame then reaches the
 * server spread over ~15 ms instead of as one burst, which is what a server
 * sees from browsers (and what its per-core figures should be measured
 * with).  A full queue sends its oldest packet at once.
 *
 * One per publication, owned by its client (or irtc-loadgen's Janus user)
 * on the loop's thread; allocates once, at creation.
 */
#ifndef IRTC_CLIENT_PACE_H
#define IRTC_CLIENT_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/transport.h"
#include "client/types.h"

#define IC_PACE_FACTOR 2.5
#define IC_PACE_QUEUE 128

typedef struct ic_pace ic_pace_t;

/* Where a released packet goes; ic_pace_to_transport sends it on the
 * ic_transport_t that ctx is (ic_transport_send_media). */
typedef void (*ic_pace_send_fn)(void *ctx, unsigned track, uint32_t ts, bool marker, const uint8_t *payload,
                                size_t len);
void ic_pace_to_transport(void *ctx, unsigned track, uint32_t ts, bool marker, const uint8_t *payload, size_t len);

/* A pacer for o's video sent in layers encodings, or NULL when o's video
 * is not paced (o->unpaced, no video, the owner's encoded frames or an
 * rtpdump replay, whose timing is their own). */
ic_pace_t *ic_pace_new(const ic_publish_opts_t *o, unsigned layers, uint64_t now_us);
void ic_pace_free(ic_pace_t *p);
/* One video packet for track: queued, then what the budget allows leaves
 * now through send(ctx, ...). */
void ic_pace_video(ic_pace_t *p, unsigned track, uint32_t ts, bool marker, const uint8_t *payload, size_t len,
                   uint64_t now_us, ic_pace_send_fn send, void *ctx);
/* Every tick: what the budget allows leaves. */
void ic_pace_run(ic_pace_t *p, uint64_t now_us, ic_pace_send_fn send, void *ctx);

#endif
