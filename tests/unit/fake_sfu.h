/*
 * fake_sfu.h — the sfu.h functions that src/room calls, faked for unit tests
 * (header-only, included by one .c per test program).  Defined in the test,
 * they keep the linker from taking the real ones from libirtc.a.  Each call
 * is counted; publish and subscribe answer what the test put in fake.
 */
#ifndef IRTC_FAKE_SFU_H
#define IRTC_FAKE_SFU_H

#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "sfu/sfu.h"

static struct {
    int publish_rc, subscribe_rc;
    const char *why;
    sfu_stream_info_t info;
    unsigned last_worker;
    uint64_t last_stream_id, last_sub_id;
    bool last_audio, last_video;
    int published, unpublished, subscribed, unsubscribed, mute_calls;
    uint64_t unpublished_ids[64];
} fake;

/* Publishes will report these kinds (video as VP8); calls and counters reset. */
static inline void fake_reset(bool audio, bool video)
{
    memset(&fake, 0, sizeof(fake));
    fake.info.has_audio = audio;
    fake.info.has_video = video;
    snprintf(fake.info.video_codec, sizeof(fake.info.video_codec), "%s", video ? "VP8" : "");
}

int sfu_publish(sfu_t *sfu, unsigned worker, uint64_t stream_id, const char *offer, size_t len, char **answer_out,
                sfu_stream_info_t *info, const char **why)
{
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
}

int sfu_subscribe(sfu_t *sfu, uint64_t sub_id, uint64_t stream_id, bool audio, bool video, const char *offer,
                  size_t len, char **answer_out, const char **why)
{
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

void sfu_set_muted(sfu_t *sfu, uint64_t stream_id, bool audio, bool muted)
{
    fake.mute_calls++;
}

#endif
