/*
 * alloc.c — the per-transport layer allocator: order the consumers, give
 * audio its share, every video its lowest layer, then climb.
 *
 * Runs on the media worker that owns the transport, on estimate changes and
 * a timer; a few dozen consumers at most, so plain loops and an insertion
 * sort.
 *
 * Does not: touch packets or keyframes.
 */
#include "media/alloc.h"

#include <string.h>

#include "core/common.h"

void alloc_init(alloc_t *a)
{
    memset(a, 0, sizeof *a);
}

int alloc_add(alloc_t *a, bool audio, uint8_t priority, uint32_t tile_area)
{
    for (int i = 0; i < ALLOC_MAX_CONSUMERS; i++) {
        alloc_consumer_t *c = &a->c[i];
        if (c->used)
            continue;
        *c = (alloc_consumer_t){.used = true,
                                .audio = audio,
                                .priority = priority,
                                .tile_area = tile_area,
                                .max_layer = ALLOC_NO_LAYER,
                                .layer = ALLOC_NO_LAYER,
                                .hold_us = ALLOC_UP_HOLD_US};
        return i;
    }
    return IRTC_ELIMIT;
}

void alloc_remove(alloc_t *a, int id)
{
    memset(&a->c[id], 0, sizeof a->c[id]);
}

void alloc_set_priority(alloc_t *a, int id, uint8_t priority, uint32_t tile_area)
{
    a->c[id].priority = priority;
    a->c[id].tile_area = tile_area;
}

void alloc_set_max_layer(alloc_t *a, int id, int max_layer)
{
    a->c[id].max_layer = (int8_t)(max_layer < 0 ? ALLOC_NO_LAYER : IRTC_MIN(max_layer, ALLOC_MAX_LAYERS - 1));
}

void alloc_set_layers(alloc_t *a, int id, const uint32_t *bps, size_t n)
{
    alloc_consumer_t *c = &a->c[id];
    c->n_layers = (uint8_t)IRTC_MIN(n, (size_t)ALLOC_MAX_LAYERS);
    if (c->n_layers > 0) /* bps may be NULL with n 0 (a muted publisher), and memcpy wants a pointer */
        memcpy(c->layer_bps, bps, c->n_layers * sizeof *bps);
}

/* ---- the run ------------------------------------------------------------- */

static bool goes_before(const alloc_t *a, int x, int y)
{
    const alloc_consumer_t *p = &a->c[x], *q = &a->c[y];
    if (p->audio != q->audio)
        return p->audio;
    if (p->priority != q->priority)
        return p->priority > q->priority;
    if (p->tile_area != q->tile_area)
        return p->tile_area > q->tile_area;
    return x < y;
}

static int lowest_layer(const alloc_consumer_t *c)
{
    for (int l = 0; l < c->n_layers; l++)
        if (c->layer_bps[l] > 0)
            return l;
    return ALLOC_NO_LAYER;
}

/* The preference is a ceiling, but never below what is arriving at all. */
static int top_layer(const alloc_consumer_t *c)
{
    int top = c->n_layers - 1;
    if (c->max_layer >= 0 && c->max_layer < top)
        top = c->max_layer;
    return IRTC_MAX(top, lowest_layer(c));
}

typedef struct {
    alloc_t *a;
    uint64_t now;
    int64_t budget; /* of the estimate, still to give */
    int8_t next[ALLOC_MAX_CONSUMERS];
    bool want_set;
    int n_video; /* video consumers given their lowest layer so far */
} run_t;

static bool may_go_up(const run_t *r, const alloc_consumer_t *c)
{
    return !c->went_down || r->now - c->last_down_us >= c->hold_us;
}

/* Can the transport take extra bps on top of what is given?  Keeping what a
 * consumer already has only needs it to fit; anything new needs the margin
 * (a consumer's very first layer excepted: nothing to flap from). */
static bool fits(run_t *r, const alloc_consumer_t *c, int64_t extra, bool keep)
{
    if (keep)
        return extra <= r->budget;
    int64_t total = (int64_t)r->a->available_bps - r->budget + extra;
    double with_margin = (double)total * (1 + ALLOC_UP_MARGIN);
    bool bandwidth = (c->started ? with_margin : (double)total) <= (double)r->a->available_bps;
    if (!bandwidth && !r->want_set) {
        /* The first step refused for bandwidth, in priority order: what
         * the transport should probe for (even while the consumer waits out
         * its hold, so the estimate is there when the hold ends). */
        r->a->want_bps = (uint64_t)with_margin;
        r->want_set = true;
    }
    return bandwidth && may_go_up(r, c);
}

static void give_lowest(run_t *r, int id)
{
    alloc_consumer_t *c = &r->a->c[id];
    int lo = lowest_layer(c);
    r->next[id] = ALLOC_NO_LAYER;
    if (lo < 0)
        return;
    /* Keeping a layer, or taking one again when nothing had been arriving (a
     * muted publisher): it only has to fit.  A new consumer, or one resuming
     * from a pause for bandwidth, needs the margin and its hold over. */
    bool keep = c->started && !c->paused;
    bool ok = fits(r, c, c->layer_bps[lo], keep);
    /* Video that plays keeps its lowest layer through a shortfall of up to
     * half that layer for ALLOC_PAUSE_GRACE_US (what it then needs is
     * wanted, so gcc probes for it): on a lossy link an application-limited
     * sender's estimate falls to 0.85 x the little it sends after one
     * overuse, just under audio + the lowest layer, and a pause there is a
     * 4-5 s freeze on a link that carries the layer (measured: 500 kbit/s,
     * 3 % loss, 180p).  A deeper shortfall pauses at once: audio first;
     * so does video behind another that has its layer (that one plays). */
    if (ok)
        c->short_since_us = 0;
    else if (keep && r->n_video == 0 && r->budget >= (int64_t)(ALLOC_PAUSE_FLOOR * c->layer_bps[lo]) &&
             (c->short_since_us == 0 || r->now - c->short_since_us < ALLOC_PAUSE_GRACE_US)) {
        if (c->short_since_us == 0)
            c->short_since_us = r->now;
        ok = true;
    }
    if (ok) {
        r->next[id] = (int8_t)lo;
        r->budget -= c->layer_bps[lo];
        r->n_video++;
    }
}

static void climb(run_t *r, int id)
{
    alloc_consumer_t *c = &r->a->c[id];
    int cur = r->next[id];
    if (cur < 0)
        return;
    for (int l = cur + 1, top = top_layer(c); l <= top; l++) {
        if (c->layer_bps[l] == 0)
            continue;
        int64_t delta = (int64_t)c->layer_bps[l] - (int64_t)c->layer_bps[cur];
        bool keep = !c->paused && c->layer >= l;
        if (!fits(r, c, delta, keep))
            break;
        r->budget -= delta;
        cur = l;
    }
    r->next[id] = (int8_t)cur;
}

static void commit(run_t *r, int id)
{
    alloc_consumer_t *c = &r->a->c[id];
    int8_t layer = r->next[id];
    bool arriving = lowest_layer(c) >= 0;
    bool paused = !c->audio && layer < 0 && arriving;
    /* Nothing arriving (a muted or stopped publisher) is no step down: its
     * return must not wait out a hold meant for a congested link. */
    /* Only what bandwidth took counts as a step down: a lower preference
     * (a smaller tile) is no reason to hold the consumer back later. */
    int could = IRTC_MIN((int)c->layer, top_layer(c));
    bool down = c->started && arriving && ((paused && !c->paused) || (!paused && layer < could));
    bool up = c->started && ((!paused && c->paused) || (!c->paused && layer > c->layer));
    if (down || (!c->started && paused))
        c->went_down = true;
    if (down) {
        bool flapped = c->last_up_us != 0 && r->now - c->last_up_us < ALLOC_STABLE_US;
        c->hold_us = flapped ? IRTC_MIN(2 * c->hold_us, (uint64_t)ALLOC_MAX_HOLD_US) : ALLOC_UP_HOLD_US;
        c->last_down_us = r->now;
    }
    if (up)
        c->last_up_us = r->now;
    if (!c->started && paused)
        c->last_down_us = r->now;
    c->changed = layer != c->layer || paused != c->paused;
    c->layer = layer;
    c->paused = paused;
    c->started = true;
}

/* What the current layers need now, or 0 if one of them stopped arriving
 * (then there is nothing to keep: run). */
static uint64_t current_need(const alloc_t *a)
{
    uint64_t need = 0;
    for (int i = 0; i < ALLOC_MAX_CONSUMERS; i++) {
        const alloc_consumer_t *c = &a->c[i];
        if (!c->used || c->layer < 0)
            continue;
        if (c->layer >= c->n_layers || c->layer_bps[c->layer] == 0)
            return 0;
        need += c->layer_bps[c->layer];
    }
    return need;
}

/* A shallow, short dip: keep every layer as it is. */
static bool ride_out(alloc_t *a, uint64_t available_bps, uint64_t now_us)
{
    uint64_t need = current_need(a);
    bool shallow = need > available_bps && (double)available_bps >= ALLOC_GRACE_FLOOR * (double)need;
    if (!shallow || (a->dip_since_us != 0 && now_us - a->dip_since_us >= ALLOC_GRACE_US)) {
        a->dip_since_us = 0;
        return false;
    }
    if (a->dip_since_us == 0)
        a->dip_since_us = now_us;
    for (int i = 0; i < ALLOC_MAX_CONSUMERS; i++)
        a->c[i].changed = false;
    a->available_bps = available_bps;
    a->allocated_bps = need;
    a->want_bps = IRTC_MAX(need, a->want_bps);
    return true;
}

void alloc_run(alloc_t *a, uint64_t available_bps, uint64_t now_us)
{
    if (ride_out(a, available_bps, now_us))
        return;
    int order[ALLOC_MAX_CONSUMERS], n = 0;
    for (int i = 0; i < ALLOC_MAX_CONSUMERS; i++) {
        if (!a->c[i].used)
            continue;
        int j = n++;
        for (; j > 0 && goes_before(a, i, order[j - 1]); j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    run_t r = {.a = a, .now = now_us, .budget = (int64_t)IRTC_MIN(available_bps, (uint64_t)INT64_MAX / 2)};
    a->available_bps = available_bps;
    a->max_bps = 0;
    for (int k = 0; k < n; k++) {
        alloc_consumer_t *c = &a->c[order[k]];
        int top = top_layer(c);
        a->max_bps += top >= 0 ? c->layer_bps[top] : 0;
        if (c->audio) { /* always on, even past the estimate */
            r.next[order[k]] = (int8_t)(c->n_layers > 0 ? 0 : ALLOC_NO_LAYER);
            r.budget -= c->n_layers > 0 ? c->layer_bps[0] : 0;
        }
    }
    for (int k = 0; k < n; k++)
        if (!a->c[order[k]].audio)
            give_lowest(&r, order[k]);
    for (int k = 0; k < n; k++)
        if (!a->c[order[k]].audio)
            climb(&r, order[k]);
    for (int k = 0; k < n; k++)
        commit(&r, order[k]);
    a->allocated_bps = (uint64_t)((int64_t)IRTC_MIN(available_bps, (uint64_t)INT64_MAX / 2) - r.budget);
    if (!r.want_set)
        a->want_bps = a->allocated_bps;
}
