/*
 * alloc.h — spreads one subscriber transport's bandwidth estimate over its
 * consumers: audio always first, then every video consumer's lowest layer
 * in priority order (main before auxiliary, larger tile first), then layers
 * up, highest priority first, up to each subscription's preferred maximum.
 * Video that cannot have even its lowest layer is paused (audio never is;
 * playing video only after a grace period unless far short) and resumes
 * when that layer fits again.
 *
 * Hysteresis, so layers do not flap with an estimate that moves by a few
 * per cent: keeping a layer needs it to fit, stepping up or resuming needs
 * the transport's new total to fit with ALLOC_UP_MARGIN to spare, a layer
 * is kept through a short, shallow dip (ALLOC_GRACE_US), and a consumer that stepped down or paused waits
 * ALLOC_UP_HOLD_US (longer if it keeps flapping) before it goes up again.
 *
 * What the allocator could not grant becomes alloc_want_bps: the total the
 * transport would need for the next step up, for gcc_set_desired to probe
 * before the step is taken.
 *
 * One alloc_t per subscriber transport, owned by the media worker that owns
 * the transport: fixed size, no allocation, no locks, no logging.  The engine
 * runs it when the estimate or a layer's measured bitrate changes, or on a
 * timer (every 100-500 ms), and switches each consumer to alloc_layer() on
 * the next keyframe of that layer.
 *
 * Does not: measure bitrates (the producer's streams do), switch layers
 * (consumers do, on keyframes), or estimate bandwidth (gcc.h).
 */
#ifndef IRTC_MEDIA_ALLOC_H
#define IRTC_MEDIA_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ALLOC_MAX_CONSUMERS 64 /* a v2 receive transport: 8 publishers × main + auxiliary × audio + video, with room \
                                */
#define ALLOC_MAX_LAYERS 8     /* spatial × temporal layers, in ascending bitrate */
/* Headroom to step up or resume: probe results are already 95 % of what the
 * link delivered, so 5 % more lets a 1.7 Mbps layer onto a 2 Mbps link
 * (1.74 Mbps with audio × 1.05 < 1.9 Mbps) while an estimate wobbling by a
 * few per cent around a boundary does not switch back and forth. */
#define ALLOC_UP_MARGIN 0.05
/* After a step down or a pause, no step up for this long: each switch costs
 * a keyframe, and an estimate that just fell is not yet to be trusted.  A
 * consumer that falls again within ALLOC_STABLE_US of going up waits twice
 * as long next time, up to ALLOC_MAX_HOLD_US (an AIMD sawtooth across a
 * layer boundary would otherwise switch every 2 s). */
#define ALLOC_UP_HOLD_US 2000000
#define ALLOC_STABLE_US 10000000
#define ALLOC_MAX_HOLD_US 16000000
/* When the estimate dips under what the transport's current layers need
 * but stays above ALLOC_GRACE_FLOOR of it, nothing switches for up to
 * ALLOC_GRACE_US and the current total stays wanted (so gcc probes for it):
 * a keyframe (several frames at once) at high utilisation queues at the
 * bottleneck and GCC cuts 15 % for it (simulated: 1.74 Mbps on a 2 Mbps
 * link, estimate 1.89 -> 1.48 Mbps, back within 1.5 s).  A real drop falls
 * below the floor and is acted on at once. */
#define ALLOC_GRACE_US 2000000
#define ALLOC_GRACE_FLOOR 0.75
/* Playing video whose lowest layer stops fitting by at most half of it is
 * paused only if that lasts ALLOC_PAUSE_GRACE_US (alloc.c give_lowest). */
#define ALLOC_PAUSE_GRACE_US 4000000
#define ALLOC_PAUSE_FLOOR 0.5
#define ALLOC_NO_LAYER (-1)

typedef struct {
    bool used, audio;
    uint8_t priority;   /* higher first: main 1, auxiliary 0 */
    uint32_t tile_area; /* pixels of the tile showing it; larger first */
    int8_t max_layer;   /* the subscription's preference; ALLOC_NO_LAYER: none */
    uint8_t n_layers;
    uint32_t layer_bps[ALLOC_MAX_LAYERS]; /* measured; 0: the layer is not arriving now */

    /* results of alloc_run */
    int8_t layer; /* target layer, or ALLOC_NO_LAYER (paused, or nothing arriving) */
    bool paused;  /* video held back for want of bandwidth: the app is told */
    bool changed; /* layer or paused changed in the last run */
    bool started, went_down;
    uint64_t last_down_us, last_up_us;
    uint64_t hold_us; /* current wait after a step down */
    uint64_t short_since_us; /* its lowest layer has not fitted since; 0: it fits */
} alloc_consumer_t;

typedef struct {
    alloc_consumer_t c[ALLOC_MAX_CONSUMERS];
    uint64_t available_bps; /* of the last run */
    uint64_t allocated_bps;
    uint64_t want_bps;     /* allocated plus the first step up that did not fit; allocated if none */
    uint64_t max_bps;      /* every consumer at its preferred top layer */
    uint64_t dip_since_us; /* start of a shallow dip being ridden out; 0: none */
} alloc_t;

void alloc_init(alloc_t *a);

/* A consumer; returns its id (0..ALLOC_MAX_CONSUMERS-1) or IRTC_ELIMIT. */
int alloc_add(alloc_t *a, bool audio, uint8_t priority, uint32_t tile_area);
void alloc_remove(alloc_t *a, int id);
void alloc_set_priority(alloc_t *a, int id, uint8_t priority, uint32_t tile_area);
/* The highest layer the subscription wants (ALLOC_NO_LAYER: no limit). */
void alloc_set_max_layer(alloc_t *a, int id, int max_layer);
/* Measured bitrate of each layer, lowest first (audio: one "layer"). */
void alloc_set_layers(alloc_t *a, int id, const uint32_t *bps, size_t n);

/* Distributes available_bps (gcc_target_bps) over the consumers. */
void alloc_run(alloc_t *a, uint64_t available_bps, uint64_t now_us);

static inline int alloc_layer(const alloc_t *a, int id)
{
    return a->c[id].layer;
}

static inline bool alloc_paused(const alloc_t *a, int id)
{
    return a->c[id].paused;
}

/* What the transport would send after its next step up (gcc_set_desired). */
static inline uint64_t alloc_want_bps(const alloc_t *a)
{
    return a->want_bps;
}

#endif
