/*
 * api_media.c — the REST calls about the media plane: getMediaEndpoint,
 * releaseRoom, releaseUser and checkRtcHeath.  Control thread.
 *
 * getMediaEndpoint answers from the same hash the room registry and join
 * tokens use (sfu_worker_for_channel), so the three agree without shared state.
 * releaseRoom / releaseUser only validate and hand over to the room
 * registry's hooks (api_env.h); without them they answer 1001028
 * NOT_AVAILABLE.
 */
#include "http/api_media.h"
#include "core/common.h"
#include "media/worker.h"
#include "sfu/sfu.h"

#include <stdlib.h>

/* More channels than this in one getMediaEndpoint call is refused. */
#define MEDIA_MAX_CHANNELS 100
/* A worker that has not answered a ping for this long is down (the contract's
 * "live webrtc server is error"). */
#define MEDIA_PING_MAX_AGE_MS 1000

int api_get_media_endpoint(api_call_t *c)
{
    af_id_t *ids = NULL;
    size_t n = 0;
    if (!af_id_array(&c->f, "channelIds", AF_REQUIRED, MEDIA_MAX_CHANNELS, &ids, &n))
        return API_PARAM_INVALID;
    unsigned workers = worker_pool_size(c->env->workers);
    buf_puts(&c->data, "{\"list\":[");
    for (size_t i = 0; i < n; i++) {
        unsigned w = sfu_worker_for_channel(c->app_id, ids[i], workers);
        buf_puts(&c->data, i ? ",{\"ip\":" : "{\"ip\":");
        json_write_string(&c->data, c->env->cfg->media_ips[0]);
        /* The guide's answer carries the port as a string. */
        buf_printf(&c->data, ",\"port\":\"%u\",\"channelId\":", worker_port(worker_pool_get(c->env->workers, w)));
        json_write_string(&c->data, ids[i]);
        buf_putc(&c->data, '}');
    }
    buf_puts(&c->data, "]}");
    free(ids);
    return API_OK;
}

int api_release_room(api_call_t *c)
{
    af_id_t channel;
    const char *why = NULL;
    af_id(&c->f, "channelId", AF_REQUIRED, channel);
    if (c->f.failed)
        return API_PARAM_INVALID;
    if (c->env->hooks.room_release == NULL)
        return api_fail(c, API_NOT_AVAILABLE, "releaseRoom: the room module is not attached");
    int rc = c->env->hooks.room_release(c->env->hooks.room_ctx, c->app_id, channel, &why);
    return api_result(c, rc, why, API_ROOM_NOT_FOUND, API_WEBRTC_ERROR);
}

int api_release_user(api_call_t *c)
{
    af_id_t channel, user;
    const char *why = NULL;
    af_id(&c->f, "channelId", AF_REQUIRED, channel);
    af_id(&c->f, "userId", AF_REQUIRED, user);
    if (c->f.failed)
        return API_PARAM_INVALID;
    if (c->env->hooks.room_release_user == NULL)
        return api_fail(c, API_NOT_AVAILABLE, "releaseUser: the room module is not attached");
    int rc = c->env->hooks.room_release_user(c->env->hooks.room_ctx, c->app_id, channel, user, &why);
    return api_result(c, rc, why, API_USER_NOT_FOUND, API_WEBRTC_ERROR);
}

int api_check_health(api_call_t *c)
{
    static const char *const versions[] = {"V1", "v1", NULL};
    const char *version = NULL;
    if (!af_choice(&c->f, "version", AF_REQUIRED, versions, &version))
        return API_PARAM_INVALID;
    if (!worker_pool_healthy(c->env->workers, MEDIA_PING_MAX_AGE_MS))
        return API_WEBRTC_ERROR;
    if (c->env->hooks.recorder_healthy != NULL && !c->env->hooks.recorder_healthy(c->env->hooks.recorder_ctx))
        return API_RECORD_ERROR;
    buf_puts(&c->data, "\"OK\"");
    return API_OK;
}
