/*
 * test_alloc.c — media/alloc: audio first, lowest layers for all before any
 * climbs, priority and tile order, the per-subscription maximum, pause and
 * resume with their margin and hold, no flapping on a wobbling estimate,
 * layers that are not arriving, and what the transport wants next.
 *
 * Then the whole downlink as the engine will run it, over the simulated
 * bottleneck of netsim.h: a subscriber with audio and one 3-layer simulcast
 * video (150 kbps / 500 kbps / 1.7 Mbps), the allocator choosing layers from
 * gcc's estimate and asking it to probe before each step up.  The link goes
 * 2 Mbps → 500 kbps + 3 % loss → 2 Mbps.
 */
#include "media/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "unit/netsim.h"
#include "unit/tap.h"

static alloc_t A;
static const uint32_t SIMULCAST[] = {150000, 500000, 1700000};
static const uint32_t OPUS[] = {40000};

static void test_audio_first(void)
{
    alloc_init(&A);
    int v = alloc_add(&A, false, 1, 1280 * 720);
    int au = alloc_add(&A, true, 0, 0);
    alloc_set_layers(&A, v, SIMULCAST, 3);
    alloc_set_layers(&A, au, OPUS, 1);
    alloc_run(&A, 30000, 0);
    ok(alloc_layer(&A, au) == 0 && !alloc_paused(&A, au), "30 kbps: audio still gets its 40 kbps");
    ok(alloc_layer(&A, v) == ALLOC_NO_LAYER && alloc_paused(&A, v), "30 kbps: video paused");
    is_int(A.allocated_bps, 40000, "allocated: the audio");
    is_int(alloc_want_bps(&A), (uint64_t)(190000 * 1.05), "wants audio + lowest layer + 5 %%");
    alloc_run(&A, 30000, 100000);
    is_int(alloc_want_bps(&A), (uint64_t)(190000 * 1.05), "while the resume waits its hold: still wanted");
    alloc_run(&A, 10000000, 3000000);
    ok(alloc_layer(&A, v) == 2 && !alloc_paused(&A, v) && A.c[v].changed, "10 Mbps: top layer, resumed");
    is_int(alloc_want_bps(&A), 1740000, "nothing more to want: want = allocated");
    is_int(A.max_bps, 1740000, "max: everything at its top");
}

static void test_order(void)
{
    alloc_init(&A);
    int aux = alloc_add(&A, false, 0, 1280 * 720);
    int small = alloc_add(&A, false, 1, 320 * 180);
    int big = alloc_add(&A, false, 1, 1280 * 720);
    int au = alloc_add(&A, true, 0, 0);
    alloc_set_layers(&A, aux, SIMULCAST, 3);
    alloc_set_layers(&A, small, SIMULCAST, 3);
    alloc_set_layers(&A, big, SIMULCAST, 3);
    alloc_set_layers(&A, au, OPUS, 1);
    /* 40 + 3 x 150 = 490 kbps of baseline; 1.1 Mbps lets the big main tile
     * climb to 500 kbps (total 840), not the small one (1190). */
    alloc_run(&A, 1100000, 0);
    alloc_run(&A, 1100000, 500000);
    ok(alloc_layer(&A, big) == 1 && alloc_layer(&A, small) == 0 && alloc_layer(&A, aux) == 0,
       "main before auxiliary, larger tile first: %d %d %d", alloc_layer(&A, big), alloc_layer(&A, small),
       alloc_layer(&A, aux));
    is_int(alloc_want_bps(&A), (uint64_t)((840000 + 1200000) * 1.05), "wants the big tile's next step, + 5 %%");
    alloc_run(&A, 400000, 1000000);
    ok(alloc_layer(&A, big) == 0 && alloc_layer(&A, small) == 0 && alloc_paused(&A, aux),
       "400 kbps: lowest layers in priority order, auxiliary paused");
    alloc_run(&A, 300000, 2000000);
    ok(alloc_layer(&A, big) == 0 && alloc_layer(&A, small) == 0 && !A.c[small].changed,
       "300 of the 340 kbps in use: a shallow dip, nothing switches");
    is_int(alloc_want_bps(&A), (uint64_t)(690000 * 1.05), "riding it out: what was wanted before the dip still is");
    alloc_run(&A, 300000, 4100000);
    ok(alloc_layer(&A, big) == 0 && alloc_paused(&A, small) && alloc_paused(&A, aux),
       "the dip lasted 2 s: only the main big tile and audio");
    alloc_set_priority(&A, aux, 2, 1280 * 720);
    alloc_run(&A, 300000, 4200000);
    ok(alloc_layer(&A, aux) == 0 && alloc_paused(&A, big),
       "a raised priority, its hold over: it takes the bandwidth, the other pauses");
    alloc_run(&A, 300000, 6000000);
    ok(alloc_layer(&A, aux) == 0 && alloc_paused(&A, big) && alloc_paused(&A, small), "and it stays that way");
}

static void test_ride_out(void)
{
    alloc_init(&A);
    int v = alloc_add(&A, false, 1, 1), au = alloc_add(&A, true, 0, 0);
    alloc_set_layers(&A, v, SIMULCAST, 3);
    alloc_set_layers(&A, au, OPUS, 1);
    alloc_run(&A, 1900000, 0);
    is_int(alloc_layer(&A, v), 2, "1.9 Mbps: top layer (1.74 Mbps with audio)");
    alloc_run(&A, 1480000, 100000); /* a 15 % cut after a keyframe */
    ok(alloc_layer(&A, v) == 2 && A.allocated_bps == 1740000 && alloc_want_bps(&A) == 1740000,
       "cut to 85 %%: layer kept, 1.74 Mbps still wanted (gcc probes for it)");
    alloc_run(&A, 1900000, 1500000);
    alloc_run(&A, 1480000, 1600000);
    alloc_run(&A, 1480000, 3500000);
    is_int(alloc_layer(&A, v), 2, "a new dip starts its own 2 s");
    alloc_run(&A, 1480000, 3700000);
    is_int(alloc_layer(&A, v), 1, "a dip longer than 2 s: step down");
    alloc_run(&A, 10000000, 5000000);
    alloc_run(&A, 10000000, 5700000);
    is_int(alloc_layer(&A, v), 2, "back up after the hold");
    alloc_run(&A, 1200000, 5800000);
    is_int(alloc_layer(&A, v), 1, "a drop under 75 %% of the need: at once");
    uint32_t gone[] = {150000, 500000, 0};
    alloc_set_layers(&A, v, gone, 3);
    alloc_run(&A, 10000000, 20000000);
    alloc_run(&A, 1700000, 21000000);
    is_int(alloc_layer(&A, v), 1, "top layer no longer arriving: nothing to ride out for");
}

static void test_max_layer(void)
{
    alloc_init(&A);
    int thumb = alloc_add(&A, false, 1, 1280 * 720);
    int main_ = alloc_add(&A, false, 1, 640 * 360);
    alloc_set_layers(&A, thumb, SIMULCAST, 3);
    alloc_set_layers(&A, main_, SIMULCAST, 3);
    alloc_set_max_layer(&A, thumb, 0);
    alloc_run(&A, 10000000, 0);
    ok(alloc_layer(&A, thumb) == 0 && alloc_layer(&A, main_) == 2, "preference: the thumbnail stays at layer 0");
    is_int(A.max_bps, 1850000, "max counts the preference");
    uint32_t top_only[] = {0, 0, 1700000};
    alloc_set_layers(&A, thumb, top_only, 3);
    alloc_run(&A, 10000000, 1000000);
    is_int(alloc_layer(&A, thumb), 2, "preference below every arriving layer: the lowest arriving one");
    uint32_t none[] = {0, 0, 0};
    alloc_set_layers(&A, thumb, none, 3);
    alloc_run(&A, 10000000, 2000000);
    ok(alloc_layer(&A, thumb) == ALLOC_NO_LAYER && !alloc_paused(&A, thumb),
       "nothing arriving: no layer, but not paused (no bandwidth decision)");
    uint32_t mid_missing[] = {150000, 0, 1700000};
    alloc_set_layers(&A, main_, mid_missing, 3);
    alloc_run(&A, 1000000, 3000000);
    is_int(alloc_layer(&A, main_), 0, "layer 1 not arriving and layer 2 too big: layer 0");
    alloc_run(&A, 10000000, 6000000);
    is_int(alloc_layer(&A, main_), 2, "a missing layer is stepped over");
}

static void test_pause_resume(void)
{
    alloc_init(&A);
    int v = alloc_add(&A, false, 1, 1);
    int au = alloc_add(&A, true, 0, 0);
    alloc_set_layers(&A, v, SIMULCAST, 3);
    alloc_set_layers(&A, au, OPUS, 1);
    alloc_run(&A, 1000000, 0);
    is_int(alloc_layer(&A, v), 1, "1 Mbps: 500 kbps layer");
    /* 140 kbps: 50 kbps short of audio + lowest, under the 75 % a shallow dip is ridden out at */
    alloc_run(&A, 140000, 1000000);
    ok(!alloc_paused(&A, v) && alloc_layer(&A, v) == 0, "140 kbps (50 kbps short of audio + lowest): lowest layer kept");
    is_int(alloc_want_bps(&A), 190000, "... and what it needs wanted (probed for)");
    alloc_run(&A, 140000, 4900000);
    ok(!alloc_paused(&A, v) && alloc_layer(&A, v) == 0, "still short 3.9 s later: kept");
    alloc_run(&A, 140000, 5000000);
    ok(alloc_paused(&A, v) && A.c[v].changed, "short for 4 s: video paused, change flagged");
    ok(!alloc_paused(&A, au) && alloc_layer(&A, au) == 0, "audio continues");
    alloc_run(&A, 200000, 8000000);
    ok(!alloc_paused(&A, v) && alloc_layer(&A, v) == 0, "resumed with margin after its hold");
    alloc_run(&A, 100000, 8100000);
    ok(alloc_paused(&A, v) && A.c[v].changed, "100 kbps (more than half the layer short): paused at once");
    alloc_run(&A, 1000000, 20000000);
    is_int(alloc_layer(&A, v), 1, "1 Mbps again: 500 kbps layer");
    alloc_run(&A, 100000, 21000000);
    ok(alloc_paused(&A, v) && A.c[v].changed, "100 kbps: video paused, change flagged");
    ok(!alloc_paused(&A, au) && alloc_layer(&A, au) == 0, "audio continues");
    alloc_run(&A, 190000, 21500000);
    ok(alloc_paused(&A, v) && !A.c[v].changed, "exactly audio + lowest: still paused (no margin)");
    alloc_run(&A, 200000, 22000000);
    ok(alloc_paused(&A, v), "with margin but 1 s after the pause: still paused");
    alloc_run(&A, 200000, 30000000);
    ok(!alloc_paused(&A, v) && alloc_layer(&A, v) == 0 && A.c[v].changed, "with margin, after its (doubled: it flapped) hold: resumed");
    alloc_run(&A, 190000, 30100000);
    ok(!alloc_paused(&A, v) && alloc_layer(&A, v) == 0, "resumed: keeps going while the layer fits");
}

static uint64_t rng = 42;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void test_no_flapping(void)
{
    alloc_init(&A);
    int v = alloc_add(&A, false, 1, 1);
    int au = alloc_add(&A, true, 0, 0);
    alloc_set_layers(&A, v, SIMULCAST, 3);
    alloc_set_layers(&A, au, OPUS, 1);
    /* The estimate wobbles +-4 % around the 1.74 Mbps boundary every 100 ms
     * for a minute. */
    int changes = 0;
    for (int i = 0; i < 600; i++) {
        double est = 1740000 * (0.96 + (rnd() % 800) / 10000.0);
        alloc_run(&A, (uint64_t)est, 100000 * (uint64_t)i);
        changes += A.c[v].changed;
    }
    ok(changes <= 2, "estimate wobbling +-4 %% around a layer boundary for 60 s: %d switches", changes);
    /* And a slow sawtooth (0.85x drop, 8 %/s climb) over the boundary. */
    changes = 0;
    double est = 2000000;
    for (int i = 0; i < 600; i++) {
        est = est > 2000000 ? est * 0.85 : est * 1.008;
        alloc_run(&A, (uint64_t)est, 60000000 + 100000 * (uint64_t)i);
        changes += A.c[v].changed;
    }
    ok(changes <= 12, "AIMD sawtooth 1.71-2.0 Mbps every 2 s for 60 s: %d switches (flaps damped)", changes);
}

static void test_slots(void)
{
    alloc_init(&A);
    int ids[ALLOC_MAX_CONSUMERS];
    for (int i = 0; i < ALLOC_MAX_CONSUMERS; i++)
        ids[i] = alloc_add(&A, i % 2, 0, 0);
    is_int(alloc_add(&A, false, 0, 0), IRTC_ELIMIT, "full: IRTC_ELIMIT");
    alloc_remove(&A, ids[5]);
    is_int(alloc_add(&A, false, 0, 0), 5, "a removed slot is reused");
    alloc_run(&A, 1000000, 0);
    ok(A.allocated_bps == 0 && !alloc_paused(&A, 5), "consumers without layers: nothing allocated, nothing paused");
}

/* ---- the downlink end to end ------------------------------------------------ */

/* Forwarded media: Opus every 20 ms; video frames at 30 fps of the chosen
 * layer's size (a keyframe 5 frames big at each layer switch and every 10 s). */
static void test_downlink(void)
{
    static netsim_t S;
    static const gcc_config_t cfg = {.start_bps = 1000000, .max_bps = 10000000, .transport_cc = true};
    const ns_phase_t ph[] = {{0, 2000000, 0}, {20, 500000, 3}, {40, 2000000, 0}};
    ns_init(&S, 7, ph[0].cap_bps, 25000, &cfg);
    alloc_init(&A);
    int v = alloc_add(&A, false, 1, 1280 * 720), au = alloc_add(&A, true, 0, 0);
    alloc_set_layers(&A, v, SIMULCAST, 3);
    alloc_set_layers(&A, au, OPUS, 1);
    uint64_t t0 = S.now, next_audio = t0, next_frame = t0, next_alloc = t0, frames = 0;
    int layer = ALLOC_NO_LAYER, switches = 0;
    size_t p = 0;
    double t_low = -1, t_top = -1, paused_s = 0;
    int layer_at[61] = {0};
    for (int step = 0; step < 60000; step++) {
        double t = (double)(S.now - t0) / 1e6;
        ns_follow(&S, ph, IRTC_ARRAY_SIZE(ph), &p, t);
        if (S.now >= next_alloc) {
            alloc_run(&A, gcc_target_bps(&S.gcc), S.now);
            gcc_set_desired(&S.gcc, alloc_want_bps(&A), S.now);
            next_alloc += 100000;
        }
        if (S.now >= next_audio) {
            ns_push(&S, 40000 / 8 / 50, PACER_AUDIO);
            next_audio += 20000;
        }
        if (S.now >= next_frame) {
            int want = alloc_layer(&A, v);
            bool key = want != layer || frames % 300 == 0;
            if (want != layer && want >= 0 && layer >= 0)
                switches++;
            layer = want;
            if (layer >= 0) {
                size_t bytes = SIMULCAST[layer] / 8 / 30 * (key ? 5 : 1);
                for (; bytes > 0; bytes -= IRTC_MIN(bytes, (size_t)1200))
                    ns_push(&S, IRTC_MIN(bytes, (size_t)1200), PACER_VIDEO);
            } else {
                paused_s += 1.0 / 30;
            }
            frames++;
            next_frame += 33333;
        }
        ns_step(&S);
        if (t >= 20 && t < 40 && t_low < 0 && layer == 0)
            t_low = t - 20;
        if (t >= 40 && t_top < 0 && layer == 2)
            t_top = t - 40;
        if (step % 1000 == 0)
            layer_at[step / 1000] = layer;
    }
    if (getenv("GCC_TRACE"))
        for (int s = 0; s < 60; s++)
            printf("#   %2d layer %d\n", s, layer_at[s]);
    printf("# simulcast subscriber, 2 Mbps -> 500 kbps + 3%% loss at 20 s -> 2 Mbps at 40 s: layer 0 after %.1f s, "
           "top layer again after %.1f s, %d switches, video paused %.1f s, %llu pacer drops, %llu probes, "
           "%.0f kB of padding\n",
           t_low, t_top, switches, paused_s, (unsigned long long)S.dropped_pacer, (unsigned long long)S.probes,
           S.padding_bytes / 1000.0);
    ok(layer_at[19] == 2, "2 Mbps: the 1.7 Mbps layer (layer %d at 19 s)", layer_at[19]);
    ok(t_low >= 0 && t_low <= 5, "drop: down to the 150 kbps layer within 5 s (%.1f s)", t_low);
    bool low_held = true;
    for (int s = 25; s < 40; s++)
        low_held &= layer_at[s] == 0;
    ok(low_held, "500 kbps + 3 %% loss: stays on the 150 kbps layer, never paused");
    ok(t_top >= 0 && t_top <= 10, "recovery: top layer again within 10 s (%.1f s)", t_top);
    ok(switches <= 6, "%d layer switches in 60 s", switches);
    ok(paused_s == 0, "video never paused");
}

/* Neither a smaller preference nor a publisher that stopped sending is a
 * step down for bandwidth: what follows must not wait out a hold. */
static void test_not_bandwidth(void)
{
    alloc_init(&A);
    int v = alloc_add(&A, false, 1, 1280 * 720);
    alloc_set_layers(&A, v, SIMULCAST, 3);
    alloc_run(&A, 10000000, 0);
    ok(alloc_layer(&A, v) == 2, "plenty: top layer");
    alloc_set_max_layer(&A, v, 0);
    alloc_run(&A, 10000000, 100000);
    ok(alloc_layer(&A, v) == 0 && !A.c[v].went_down, "preference 0 (a thumbnail): layer 0, not counted as a step down");
    alloc_set_layers(&A, v, NULL, 0);
    alloc_run(&A, 10000000, 200000);
    ok(alloc_layer(&A, v) == ALLOC_NO_LAYER && !alloc_paused(&A, v), "the publisher mutes: no layer, not paused");
    alloc_set_layers(&A, v, SIMULCAST, 3);
    alloc_run(&A, 10000000, 300000);
    ok(alloc_layer(&A, v) == 0 && !alloc_paused(&A, v), "it unmutes 100 ms later: layer 0 at once, no hold");
    alloc_set_max_layer(&A, v, ALLOC_NO_LAYER);
    alloc_run(&A, 10000000, 400000);
    ok(alloc_layer(&A, v) == 2, "preference lifted: straight back to the top");
}

int main(void)
{
    test_audio_first();
    test_order();
    test_max_layer();
    test_pause_resume();
    test_ride_out();
    test_no_flapping();
    test_slots();
    test_downlink();
    test_not_bandwidth();
    return done_testing();
}
