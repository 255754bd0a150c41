/*
 * api_media.c — the REST calls about the media plane: getMediaEndpoint,
 * releaseRoom, releaseUser and checkRtcHeath.  Control thread.
 *
 * getMediaEndpoint answers from the same hash the room registry and join
 * tokens use (sfu_worker_for_channel), so the three agree without shared state.
 * releaseRoom / releaseUser only validate and hand over to the room module's
 * hooks (app.h); until it exists they answer 1001028 NOT_AVAILABLE.
 */
#include "http/api.h"
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
    unsigned workers = worker_pool_size(c->app->workers);
    buf_puts(&c->data, "{\"list\":[");
    for (size_t i = 0; i < n; i++) {
        unsigned w = sfu_worker_for_channel(c->app_id, ids[i], workers);
        buf_puts(&c->data, i ? ",{\"ip\":" : "{\"ip\":");
        json_write_string(&c->data, c->app->cfg.media_ips[0]);
        /* The guide's answer carries the port as a string. */
        buf_printf(&c->data, ",\"port\":\"%u\",\"channelId\":", worker_port(worker_pool_get(c->app->workers, w)));
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
    if (c->app->room_release == NULL)
        return api_fail(c, API_NOT_AVAILABLE, "releaseRoom needs the room module, which this build does not have yet");
    int rc = c->app->room_release(c->app->room_ctx, c->app_id, channel, &why);
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
    if (c->app->room_release_user == NULL)
        return api_fail(c, API_NOT_AVAILABLE, "releaseUser needs the room module, which this build does not have yet");
    int rc = c->app->room_release_user(c->app->room_ctx, c->app_id, channel, user, &why);
    return api_result(c, rc, why, API_USER_NOT_FOUND, API_WEBRTC_ERROR);
}

int api_check_health(api_call_t *c)
{
    static const char *const versions[] = {"V1", "v1", NULL};
    const char *version = NULL;
    if (!af_choice(&c->f, "version", AF_REQUIRED, versions, &version))
        return API_PARAM_INVALID;
    if (!worker_pool_healthy(c->app->workers, MEDIA_PING_MAX_AGE_MS))
        return API_WEBRTC_ERROR;
    if (c->app->recorder_healthy != NULL && !c->app->recorder_healthy(c->app->recorder_ctx))
        return API_RECORD_ERROR;
    buf_puts(&c->data, "\"OK\"");
    return API_OK;
}
