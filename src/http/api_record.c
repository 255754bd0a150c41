/*
 * api_record.c — the REST calls about recording: captureVideo, captureImage,
 * stopCapture (manual recording), startAutoRecord / stopAutoRecord, and our
 * own queryRecordingList (the recordings table).  Control thread.
 *
 * Auto-record is state: which rules are active per app, kept in the store for
 * the recorder to act on (and the rec_auto hook tells it at once).  Manual
 * capture validates everything here (the rule must exist in the token's app),
 * then hands a validated request to the recorder's hooks (api_env.h); without a
 * recorder they answer 1001028 NOT_AVAILABLE.  Does not write files or send
 * callbacks.
 */
#include "http/api_record.h"
#include "core/clock.h"
#include "core/common.h"
#include "store/store.h"

#include <string.h>

/* Recording ids are decimal digits (202212311431169569 in the guide). */
#define RECORD_ID_SIZE 32

static int record_capture(api_call_t *c, bool image)
{
    af_id_t channel, user;
    api_capture_req_t q = {.image = image, .app_id = c->app_id, .channel_id = channel, .user_id = user};
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
    int rc = store_rule_get(c->env->store, c->app_id, q.rule_id, &rule);
    store_rule_dispose(&rule);
    if (rc != IRTC_OK)
        return api_result(c, rc, "recordRuleId: no such rule in this app", API_RULE_NOT_FOUND, API_INTERNAL_ERROR);
    if (c->env->hooks.rec_capture == NULL)
        return api_fail(c, API_NOT_AVAILABLE, "%s: no recorder is attached", c->name);
    char recording_id[RECORD_ID_SIZE] = "";
    const char *why = NULL;
    rc = c->env->hooks.rec_capture(c->env->hooks.rec_ctx, &q, recording_id, &why);
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
    if (c->env->hooks.rec_stop == NULL)
        return api_fail(c, API_NOT_AVAILABLE, "stopCapture: no recorder is attached");
    int rc = c->env->hooks.rec_stop(c->env->hooks.rec_ctx, c->app_id, channel, recording_id, &why);
    return api_result(c, rc, why, API_RECORDING_NOT_FOUND, API_RECORD_ERROR);
}

static int record_set_auto(api_call_t *c, bool active)
{
    int64_t rule_id = 0;
    if (!af_int64_id(&c->f, "recordRuleId", AF_REQUIRED, &rule_id))
        return API_PARAM_INVALID;
    int rc = store_rule_set_auto(c->env->store, c->app_id, rule_id, active);
    if (rc == IRTC_OK && c->env->hooks.rec_auto != NULL)
        c->env->hooks.rec_auto(c->env->hooks.rec_ctx, c->app_id, rule_id, active);
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

/* ---- queryRecordingList (ours): the recordings table, newest first ---- */

#define RECORDINGS_PAGE_SIZE_DEFAULT 10

static void write_opt_string(buf_t *b, const char *s)
{
    if (s != NULL && s[0] != '\0')
        json_write_string(b, s);
    else
        buf_puts(b, "null");
}

static void write_time(buf_t *b, int64_t ms)
{
    char ts[48];
    if (ms <= 0) {
        buf_puts(b, "null");
        return;
    }
    clock_format_contract((uint64_t)ms, ts, sizeof(ts));
    json_write_string(b, ts);
}

static void write_recording(buf_t *b, const store_recording_t *r)
{
    static const char *const status[] = {"recording", "complete", "failed"};
    buf_puts(b, "{\"recordingId\":");
    json_write_string(b, r->recording_id);
    buf_puts(b, ",\"channelId\":");
    json_write_string(b, r->channel_id);
    buf_puts(b, ",\"userId\":");
    json_write_string(b, r->user_id);
    buf_printf(b, ",\"recordingType\":%d,\"recordingModel\":%d,\"recordRuleId\":", r->kind, r->mode);
    if (r->rule_id > 0)
        buf_printf(b, "%lld", (long long)r->rule_id);
    else
        buf_puts(b, "null");
    buf_puts(b, ",\"storageType\":");
    write_opt_string(b, r->storage_type);
    buf_printf(
        b, ",\"status\":\"%s\",\"failureReason\":", r->status <= STORE_REC_FAILED ? status[r->status] : "recording");
    write_opt_string(b, r->failure_reason);
    buf_puts(b, ",\"path\":");
    write_opt_string(b, r->path);
    buf_printf(b, ",\"bytes\":%lld,\"durationMs\":%lld,\"droppedPackets\":%lld,\"startedAt\":", (long long)r->bytes,
               (long long)r->duration_ms, (long long)r->dropped_packets);
    write_time(b, r->started_at_ms);
    buf_puts(b, ",\"endedAt\":");
    write_time(b, r->ended_at_ms);
    buf_puts(b, ",\"extraData\":");
    write_opt_string(b, r->extra_data);
    buf_putc(b, '}');
}

int api_query_recordings(api_call_t *c)
{
    af_id_t channel = "";
    int page_size = RECORDINGS_PAGE_SIZE_DEFAULT, page_no = 1;
    af_id(&c->f, "channelId", AF_OPTIONAL | AF_ALLOW_EMPTY, channel);
    af_int(&c->f, "pageSize", AF_OPTIONAL, 1, STORE_PAGE_SIZE_MAX, &page_size);
    af_int(&c->f, "pageNo", AF_OPTIONAL, 1, 1000000, &page_no);
    if (c->f.failed)
        return API_PARAM_INVALID;
    store_recording_t *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = store_recording_list(c->env->store, c->app_id, channel[0] ? channel : NULL, page_size, page_no, &rows, &n,
                                  &total);
    if (rc != IRTC_OK)
        return api_result(c, rc, "cannot read the recordings", API_INTERNAL_ERROR, API_INTERNAL_ERROR);
    buf_puts(&c->data, "{\"list\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(&c->data, ',');
        write_recording(&c->data, &rows[i]);
    }
    buf_printf(&c->data, "],\"pos\":%d,\"totalCount\":%lld}", page_no, (long long)total);
    store_recording_list_free(rows, n);
    return API_OK;
}
