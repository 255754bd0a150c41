/*
 * api_record.c — the REST calls about recording: captureVideo, captureImage,
 * stopCapture (manual recording) and startAutoRecord / stopAutoRecord.
 * Control thread.
 *
 * Auto-record is state: which rules are active per app, kept in the store for
 * the recorder to act on.  Manual capture validates everything here (the rule
 * must exist in the token's app), then hands a validated request to the
 * recorder's hooks (app.h); until the recorder exists they answer 1001028
 * NOT_AVAILABLE.  Does not write files or send callbacks.
 */
#include "http/api.h"
#include "core/common.h"
#include "store/store.h"

#include <string.h>

/* Recording ids are decimal digits (202212311431169569 in the guide). */
#define RECORD_ID_SIZE 32

static int record_capture(api_call_t *c, bool image)
{
    af_id_t channel, user;
    irtc_capture_req_t q = {.image = image, .app_id = c->app_id, .channel_id = channel, .user_id = user};
    af_id(&c->f, "channelId", AF_REQUIRED, channel);
    af_id(&c->f, "userId", AF_REQUIRED, user);
    af_int64_id(&c->f, "recordRuleId", AF_REQUIRED, &q.rule_id);
    af_path(&c->f, "recordPath", AF_OPTIONAL, &q.record_path);
    af_url(&c->f, "callbackUrl|callBackUrl", AF_OPTIONAL, &q.callback_url);
    af_text(&c->f, "extraData", AF_OPTIONAL, AF_EXTRA_DATA_MAX, &q.extra_data);
    af_file_name(&c->f, "fileName", AF_OPTIONAL, &q.file_name);
    if (c->f.failed)
        return API_PARAM_INVALID;
    store_rule_t rule;
    int rc = store_rule_get(c->app->store, c->app_id, q.rule_id, &rule);
    store_rule_dispose(&rule);
    if (rc != IRTC_OK)
        return api_result(c, rc, "recordRuleId: no such rule in this app", API_RULE_NOT_FOUND, API_INTERNAL_ERROR);
    if (c->app->rec_capture == NULL)
        return api_fail(c, API_NOT_AVAILABLE, "%s needs the recorder, which this build does not have yet",
                        c->route->name);
    char recording_id[RECORD_ID_SIZE] = "";
    const char *why = NULL;
    rc = c->app->rec_capture(c->app->rec_ctx, &q, recording_id, &why);
    if (rc != IRTC_OK)
        return api_result(c, rc, why, API_ROOM_NOT_FOUND, API_RECORD_ERROR);
    buf_puts(&c->data, "{\"recordingId\":");
    json_write_string(&c->data, recording_id);
    buf_putc(&c->data, '}');
    return API_OK;
}

int api_capture_video(api_call_t *c)
{
    return record_capture(c, false);
}

int api_capture_image(api_call_t *c)
{
    return record_capture(c, true);
}

int api_stop_capture(api_call_t *c)
{
    af_id_t channel = "";
    char recording_id[RECORD_ID_SIZE] = "";
    const char *why = NULL;
    /* The guide's own example sends a numeric recordingId with channelId "". */
    af_digits(&c->f, "recordingId", AF_ALLOW_EMPTY, recording_id, sizeof(recording_id));
    af_id(&c->f, "channelId", AF_ALLOW_EMPTY, channel);
    if (!c->f.failed && recording_id[0] == '\0' && channel[0] == '\0')
        af_fail(&c->f, "channelId is required when recordingId is empty");
    if (c->f.failed)
        return API_PARAM_INVALID;
    if (c->app->rec_stop == NULL)
        return api_fail(c, API_NOT_AVAILABLE, "stopCapture needs the recorder, which this build does not have yet");
    int rc = c->app->rec_stop(c->app->rec_ctx, c->app_id, channel, recording_id, &why);
    return api_result(c, rc, why, API_RECORDING_NOT_FOUND, API_RECORD_ERROR);
}

static int record_set_auto(api_call_t *c, bool active)
{
    int64_t rule_id = 0;
    if (!af_int64_id(&c->f, "recordRuleId", AF_REQUIRED, &rule_id))
        return API_PARAM_INVALID;
    int rc = store_rule_set_auto(c->app->store, c->app_id, rule_id, active);
    return api_result(c, rc, "recordRuleId: no such rule in this app", API_RULE_NOT_FOUND, API_INTERNAL_ERROR);
}

int api_start_auto_record(api_call_t *c)
{
    return record_set_auto(c, true);
}

int api_stop_auto_record(api_call_t *c)
{
    return record_set_auto(c, false);
}
