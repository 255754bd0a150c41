/*
 * sfu_unavailable.c — the sfu.h seam with no media plane behind it, so the
 * signaling protocol and the room registry can be built and tested before
 * src/sfu/sfu.c lands.  Control thread, like every sfu.h function.
 *
 * It pretends nothing: publish and subscribe fail with IRTC_EINVAL and say
 * why; the calls that only stop or adjust media are no-ops (there is nothing
 * to stop), and no event is ever delivered.  sfu.c replaces this file in
 * Makefile.am; the two are never linked together.
 */
#include "sfu/sfu.h"
#include "core/common.h"

#include <stdlib.h>

#define SFU_UNAVAILABLE_WHY "media plane not available yet"

struct sfu {
    sfu_event_fn fn;
    void *ctx;
};

sfu_t *sfu_new(const void *cfg, struct worker_pool *workers, sfu_event_fn fn, void *ctx)
{
    sfu_t *sfu = xcalloc(1, sizeof(*sfu));
    sfu->fn = fn;
    sfu->ctx = ctx;
    return sfu;
}

void sfu_free(sfu_t *sfu)
{
    free(sfu);
}

int sfu_publish(sfu_t *sfu, unsigned worker, uint64_t stream_id, const char *offer, size_t len, char **answer_out,
                sfu_stream_info_t *info, const char **why)
{
    *answer_out = NULL;
    if (why != NULL)
        *why = SFU_UNAVAILABLE_WHY;
    return IRTC_EINVAL;
}

void sfu_unpublish(sfu_t *sfu, uint64_t stream_id) {}

int sfu_subscribe(sfu_t *sfu, uint64_t sub_id, uint64_t stream_id, bool audio, bool video, const char *offer,
                  size_t len, char **answer_out, const char **why)
{
    *answer_out = NULL;
    if (why != NULL)
        *why = SFU_UNAVAILABLE_WHY;
    return IRTC_EINVAL;
}

void sfu_unsubscribe(sfu_t *sfu, uint64_t sub_id) {}

void sfu_set_muted(sfu_t *sfu, uint64_t stream_id, bool audio, bool muted) {}

void sfu_request_keyframe(sfu_t *sfu, uint64_t stream_id) {}
