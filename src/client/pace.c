/*
 * pace.c — a leaky bucket in front of a publication's video.  See pace.h.
 */
#include "client/pace.h"

#include <stdlib.h>
#include <string.h>

#include "client/loop.h"
#include "client/source.h"
#include "core/common.h"

typedef struct {
    unsigned track;
    uint32_t ts;
    bool marker;
    uint16_t len;
    uint8_t data[IC_MAX_PAYLOAD];
} paced_t;

struct ic_pace {
    paced_t q[IC_PACE_QUEUE];
    unsigned head, n;
    double bytes_per_us, budget; /* bytes; < 0 is debt */
    uint64_t last_us;
};

ic_pace_t *ic_pace_new(const ic_publish_opts_t *o, unsigned layers, uint64_t now_us)
{
    if (!o->video || o->unpaced || o->encoded_frames || o->rtpdump_video != NULL)
        return NULL;
    /* simulcast: the lower encodings add a quarter and a sixteenth */
    double bps = (o->video_bitrate_bps ? o->video_bitrate_bps : 2500000) * (layers > 1 ? 1.3125 : 1.0);
    ic_pace_t *p = xcalloc(1, sizeof(*p));
    p->bytes_per_us = IC_PACE_FACTOR * bps / 8e6;
    p->last_us = now_us;
    return p;
}

void ic_pace_free(ic_pace_t *p)
{
    free(p);
}

void ic_pace_to_transport(void *ctx, unsigned track, uint32_t ts, bool marker, const uint8_t *payload, size_t len)
{
    ic_transport_send_media(ctx, track, ts, marker, payload, len);
}

static void send_head(ic_pace_t *p, ic_pace_send_fn send, void *ctx)
{
    paced_t *q = &p->q[p->head];
    p->head = (p->head + 1) % IC_PACE_QUEUE;
    p->n--;
    p->budget -= q->len;
    send(ctx, q->track, q->ts, q->marker, q->data, q->len);
}

/* The budget earned since the last call; an idle pacer keeps one tick's. */
static void accrue(ic_pace_t *p, uint64_t now_us)
{
    if (now_us > p->last_us)
        p->budget += (double)(now_us - p->last_us) * p->bytes_per_us;
    p->last_us = IRTC_MAX(p->last_us, now_us);
    double cap = p->bytes_per_us * IC_TICK_US;
    if (p->n == 0 && p->budget > cap)
        p->budget = cap;
}

static void release(ic_pace_t *p, ic_pace_send_fn send, void *ctx)
{
    while (p->n > 0 && p->budget > 0)
        send_head(p, send, ctx);
}

void ic_pace_run(ic_pace_t *p, uint64_t now_us, ic_pace_send_fn send, void *ctx)
{
    accrue(p, now_us);
    release(p, send, ctx);
}

void ic_pace_video(ic_pace_t *p, unsigned track, uint32_t ts, bool marker, const uint8_t *payload, size_t len,
                   uint64_t now_us, ic_pace_send_fn send, void *ctx)
{
    if (len > IC_MAX_PAYLOAD) {
        send(ctx, track, ts, marker, payload, len);
        return;
    }
    accrue(p, now_us); /* before queueing: an idle pacer's credit is capped first */
    if (p->n == IC_PACE_QUEUE)
        send_head(p, send, ctx);
    paced_t *q = &p->q[(p->head + p->n++) % IC_PACE_QUEUE];
    *q = (paced_t){.track = track, .ts = ts, .marker = marker, .len = (uint16_t)len};
    memcpy(q->data, payload, len);
    release(p, send, ctx);
}
