/*
 * fake_sfu.h — the sfu.h functions that src/room calls, faked for unit tests
 * (header-only, included by one .c per test program).  Defined in the test,
 * they keep the linker from taking the real ones from libirtc.a.  Each call
 * is counted; publish and subscribe answer what the test put in fake;
 * recording taps hold their rings like the engine does.
 */
#ifndef IRTC_FAKE_SFU_H
#define IRTC_FAKE_SFU_H

#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "media/codecs/codec.h"
#include "core/spsc_ring.h"
#include "sfu/sfu.h"

static struct {
    int publish_rc, subscribe_rc;
    const char *why;
    sfu_stream_info_t info;
    unsigned last_worker;
    uint64_t last_stream_id, last_sub_id, last_conn;
    int last_max_layer, closed_conns, negotiated, layers_set;
    bool last_audio, last_video;
    int published, unpublished, subscribed, unsubscribed, mute_calls;
    uint64_t unpublished_ids[64];
    /* recording taps: the rings the "engine" holds, as the real one does */
    int taps_added, taps_deleted, keyframes;
    int taps_at_unpublish; /* taps still on a stream when it was unpublished (dropped then, as the engine does) */
    struct {
        uint64_t stream_id;
        bool audio;
        spsc_ring_t *ring;
    } taps[64];
    int n_taps;
} fake;

/* Publishes will report these kinds (video as VP8); calls and counters reset. */
static inline void fake_reset(bool audio, bool video)
{
    memset(&fake, 0, sizeof(fake));
    fake.info.has_audio = audio;
    fake.info.has_video = video;
    snprintf(fake.info.video_codec, sizeof(fake.info.video_codec), "%s", video ? "VP8" : "");
}

int sfu_publish(sfu_t *sfu, uint64_t conn_id, unsigned worker, uint64_t stream_id, const char *offer, size_t len,
                const sfu_mids_t *mids, char **answer_out, sfu_stream_info_t *info, const char **why)
{
    fake.last_conn = conn_id;
    fake.last_worker = worker;
    fake.last_stream_id = stream_id;
    if (fake.publish_rc != IRTC_OK) {
        *answer_out = NULL;
        *why = fake.why;
        return fake.publish_rc;
    }
    fake.published++;
    *info = fake.info;
    *answer_out = xstrdup("v=0 answer");
    return IRTC_OK;
}

void sfu_unpublish(sfu_t *sfu, uint64_t stream_id)
{
    if (fake.unpublished < (int)IRTC_ARRAY_SIZE(fake.unpublished_ids))
        fake.unpublished_ids[fake.unpublished] = stream_id;
    fake.unpublished++;
    for (int i = 0; i < fake.n_taps;) {
        if (fake.taps[i].stream_id == stream_id) {
            fake.taps_at_unpublish++;
            spsc_ring_unref(fake.taps[i].ring);
            fake.taps[i] = fake.taps[--fake.n_taps];
        } else {
            i++;
        }
    }
}

int sfu_subscribe(sfu_t *sfu, uint64_t conn_id, uint64_t sub_id, uint64_t stream_id, bool audio, bool video,
                  int max_layer, int priority, const char *offer, size_t len, const sfu_mids_t *mids, char **answer_out,
                  const char **why)
{
    fake.last_conn = conn_id;
    fake.last_max_layer = max_layer;
    fake.last_sub_id = sub_id;
    fake.last_audio = audio;
    fake.last_video = video;
    if (fake.subscribe_rc != IRTC_OK) {
        *answer_out = NULL;
        *why = fake.why;
        return fake.subscribe_rc;
    }
    fake.subscribed++;
    *answer_out = xstrdup("v=0 sub answer");
    return IRTC_OK;
}

void sfu_unsubscribe(sfu_t *sfu, uint64_t sub_id)
{
    fake.unsubscribed++;
}

void sfu_set_layer(sfu_t *sfu, uint64_t sub_id, int max_layer)
{
    fake.layers_set++;
    fake.last_max_layer = max_layer;
}

int sfu_negotiate(sfu_t *sfu, uint64_t conn_id, const char *offer, size_t len, char **answer_out, const char **why)
{
    fake.negotiated++;
    *answer_out = xstrdup("v=0 renegotiated");
    return IRTC_OK;
}

void sfu_close_conn(sfu_t *sfu, uint64_t conn_id)
{
    fake.closed_conns++;
}

/* Data channels: no connection of the fake carries any. */
bool sfu_conn_has_data(const sfu_t *sfu, uint64_t conn_id)
{
    return false;
}

void sfu_send_data(sfu_t *sfu, uint64_t conn_id, bool reliable, bool binary, const uint8_t *data, size_t len)
{
}

/* The fake keeps no m-lines: a connection is empty once nothing it knows is live. */
bool sfu_conn_empty(const sfu_t *sfu, uint64_t conn_id)
{
    return fake.published - fake.unpublished <= 0 && fake.subscribed - fake.unsubscribed <= 0;
}

void sfu_set_muted(sfu_t *sfu, uint64_t stream_id, bool audio, bool muted)
{
    fake.mute_calls++;
}

void sfu_request_keyframe(sfu_t *sfu, uint64_t stream_id)
{
    fake.keyframes++;
}

/* Taps any kind of any stream (the callers only ask for kinds a stream has):
 * Opus audio, VP8 video; holds a reference until sfu_tap_del. */
int sfu_tap_add(sfu_t *sfu, uint64_t stream_id, bool audio, struct spsc_ring *ring, codec_params_t *params)
{
    if (fake.n_taps == (int)IRTC_ARRAY_SIZE(fake.taps))
        return IRTC_ENOTFOUND;
    *params = (codec_params_t){.kind = audio ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO,
                               .codec = audio ? CODEC_OPUS : CODEC_VP8,
                               .pt = audio ? 111 : 96,
                               .clock_rate = audio ? 48000 : 90000};
    spsc_ring_ref(ring);
    fake.taps[fake.n_taps].stream_id = stream_id;
    fake.taps[fake.n_taps].audio = audio;
    fake.taps[fake.n_taps].ring = ring;
    fake.n_taps++;
    fake.taps_added++;
    return IRTC_OK;
}

void sfu_tap_del(sfu_t *sfu, uint64_t stream_id, struct spsc_ring *ring)
{
    for (int i = 0; i < fake.n_taps; i++) {
        if (fake.taps[i].stream_id == stream_id && fake.taps[i].ring == ring) {
            spsc_ring_unref(ring);
            fake.taps[i] = fake.taps[--fake.n_taps];
            fake.taps_deleted++;
            return;
        }
    }
}

/* How many taps of stream_id (audio or video) are in place. */
static inline int fake_taps_of(uint64_t stream_id, bool audio)
{
    int n = 0;
    for (int i = 0; i < fake.n_taps; i++)
        n += fake.taps[i].stream_id == stream_id && fake.taps[i].audio == audio;
    return n;
}

#endif
