/*
 * test_api_handlers.c — the REST handlers called directly, with a real store
 * in a temporary directory and a real one-worker media pool: the hooks into
 * rooms and the recorder (NULL → 1001028; what they receive; how their
 * results map to errorCodes), and checkRtcHeath's real health (1001026 when the worker
 * stops answering pings, 1001027 when the recorder hook says so).  The HTTP
 * layer around the handlers is covered by tests/integration/test_rest_api.py.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/config.h"
#include "http/api_media.h"
#include "http/api_record.h"
#include "http/api_reply.h"
#include "http/api_rules.h"
#include "media/worker.h"
#include "store/store.h"
#include "unit/tap.h"

#define APP_ID "AppAppAppAppAppAppAppAppAppApp01"

/* What the daemon gives the REST API, built here by hand. */
static cfg_t g_cfg;
static h2o_evloop_t *g_loop;
static api_env_t g_env = {.cfg = &g_cfg};
static char g_dir[] = "/tmp/irtc-test-api-XXXXXX";
static api_call_t g_call;
static int64_t g_rule_id;

/* ---- fake hooks: remember what they were given, answer what the test says ---- */

static struct {
    int calls;
    int rc;
    const char *why;
    char app_id[64], channel_id[128], user_id[128], recording_id[64];
    api_capture_req_t capture;
    char record_path[128], callback_url[128], file_name[128];
    bool recorder_ok;
} hk;

static void hook_reset(int rc, const char *why)
{
    memset(&hk, 0, sizeof(hk));
    hk.rc = rc;
    hk.why = why;
}

static void copy(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "(null)");
}

static int fake_release(void *ctx, const char *app_id, const char *channel_id, const char **why)
{
    hk.calls++;
    copy(hk.app_id, sizeof(hk.app_id), app_id);
    copy(hk.channel_id, sizeof(hk.channel_id), channel_id);
    *why = hk.why;
    return hk.rc;
}

static int fake_release_user(void *ctx, const char *app_id, const char *channel_id, const char *user_id,
                             const char **why)
{
    copy(hk.user_id, sizeof(hk.user_id), user_id);
    return fake_release(ctx, app_id, channel_id, why);
}

static int fake_capture(void *ctx, const api_capture_req_t *req, char recording_id[32], const char **why)
{
    hk.calls++;
    hk.capture = *req;
    copy(hk.channel_id, sizeof(hk.channel_id), req->channel_id);
    copy(hk.user_id, sizeof(hk.user_id), req->user_id);
    copy(hk.record_path, sizeof(hk.record_path), req->record_path);
    copy(hk.callback_url, sizeof(hk.callback_url), req->callback_url);
    copy(hk.file_name, sizeof(hk.file_name), req->file_name);
    snprintf(recording_id, 32, "202212311431169569");
    *why = hk.why;
    return hk.rc;
}

static int fake_stop(void *ctx, const char *app_id, const char *channel_id, const char *recording_id,
                     const char **why)
{
    copy(hk.recording_id, sizeof(hk.recording_id), recording_id);
    return fake_release(ctx, app_id, channel_id, why);
}

static bool fake_recorder_healthy(void *ctx)
{
    return hk.recorder_ok;
}

/* ---- calling a handler as api.c would ---- */

static int call(api_fn fn, const char *name, const char *body)
{
    json_free(g_call.body);
    buf_dispose(&g_call.data);
    memset(&g_call, 0, sizeof(g_call));
    g_call.env = &g_env;
    g_call.name = name;
    snprintf(g_call.app_id, sizeof(g_call.app_id), "%s", APP_ID);
    buf_init(&g_call.data);
    g_call.body = json_parse(body, strlen(body), NULL, NULL);
    if (g_call.body == NULL)
        printf("# bad test JSON: %s\n", body);
    af_init(&g_call.f, g_call.body);
    return fn(&g_call);
}

static const char *data(void)
{
    return g_call.data.base ? g_call.data.base : "";
}

/* ---- room hooks ---- */

static void test_room_hooks(void)
{
    const char *room = "{\"appId\":\"" APP_ID "\",\"channelId\":\"room1\"}";
    const char *user = "{\"appId\":\"" APP_ID "\",\"channelId\":\"room1\",\"userId\":\"alice\"}";
    hook_reset(IRTC_OK, NULL);
    is_int(call(api_release_room, "releaseRoom", room), API_NOT_AVAILABLE, "releaseRoom, no room module: 1001028");
    is_int(call(api_release_user, "releaseUser", user), API_NOT_AVAILABLE, "releaseUser, no room module: 1001028");
    ok(strstr(g_call.msg, "room module") != NULL, "the message says what is missing (%s)", g_call.msg);

    g_env.hooks.room_release = fake_release;
    g_env.hooks.room_release_user = fake_release_user;
    is_int(call(api_release_room, "releaseRoom", room), API_OK, "releaseRoom with a hook: success");
    ok(hk.calls == 1 && strcmp(hk.app_id, APP_ID) == 0 && strcmp(hk.channel_id, "room1") == 0,
       "the hook got the token's app and the channel");
    is_str(data(), "", "data null");
    hook_reset(IRTC_ENOTFOUND, "no room room1");
    is_int(call(api_release_room, "releaseRoom", room), API_ROOM_NOT_FOUND, "ENOTFOUND → 1001009");
    is_str(g_call.msg, "no room room1", "the hook's why becomes the message");
    hook_reset(IRTC_EIO, NULL);
    is_int(call(api_release_room, "releaseRoom", room), API_WEBRTC_ERROR, "EIO → 1001026");
    hook_reset(IRTC_ELIMIT, NULL);
    is_int(call(api_release_room, "releaseRoom", room), API_LIMIT_REACHED, "ELIMIT → 1001011");
    hook_reset(IRTC_ECONFLICT, NULL);
    is_int(call(api_release_room, "releaseRoom", room), API_CONFLICT, "ECONFLICT → 1001012");
    hook_reset(IRTC_OK, NULL);
    is_int(call(api_release_room, "releaseRoom", "{\"channelId\":\"bad id\"}"), API_PARAM_INVALID,
           "invalid channelId: 1001001");
    is_int(hk.calls, 0, "and the hook is not called");

    hook_reset(IRTC_OK, NULL);
    is_int(call(api_release_user, "releaseUser", user), API_OK, "releaseUser with a hook: success");
    is_str(hk.user_id, "alice", "the hook got the user");
    hook_reset(IRTC_ENOTFOUND, NULL);
    is_int(call(api_release_user, "releaseUser", user), API_USER_NOT_FOUND, "releaseUser ENOTFOUND → 1001010");
    g_env.hooks.room_release = NULL;
    g_env.hooks.room_release_user = NULL;
}

/* ---- recorder hooks ---- */

static void test_capture_hooks(void)
{
    char body[512], unknown[512];
    snprintf(body, sizeof(body),
             "{\"appId\":\"" APP_ID "\",\"channelId\":23198805,\"userId\":\"444444\",\"recordRuleId\":%lld,"
             "\"callBackUrl\":\"http://localhost:8900/cb\",\"extraData\":\"\"}",
             (long long)g_rule_id);
    snprintf(unknown, sizeof(unknown), "{\"channelId\":\"c\",\"userId\":\"u\",\"recordRuleId\":\"%lld\"}",
             (long long)g_rule_id + 1);

    hook_reset(IRTC_OK, NULL);
    is_int(call(api_capture_video, "captureVideo", body), API_NOT_AVAILABLE, "captureVideo, no recorder: 1001028");
    is_int(call(api_capture_video, "captureVideo", unknown), API_RULE_NOT_FOUND,
           "an unknown rule is found out before the recorder is asked: 1001007");

    g_env.hooks.rec_capture = fake_capture;
    g_env.hooks.rec_stop = fake_stop;
    hook_reset(IRTC_OK, NULL);
    is_int(call(api_capture_video, "captureVideo", body), API_OK, "captureVideo with a hook: success");
    is_str(data(), "{\"recordingId\":\"202212311431169569\"}", "data.recordingId from the hook");
    ok(!hk.capture.image && hk.capture.rule_id == g_rule_id, "video, with the rule id");
    ok(strcmp(hk.channel_id, "23198805") == 0 && strcmp(hk.user_id, "444444") == 0,
       "channel (sent as a number) and user");
    is_str(hk.callback_url, "http://localhost:8900/cb", "callBackUrl spelling reaches the hook");
    ok(strcmp(hk.record_path, "(null)") == 0 && strcmp(hk.file_name, "(null)") == 0,
       "absent recordPath and fileName are NULL (use the rule's / generate)");
    ok(hk.capture.extra_data != NULL && hk.capture.extra_data[0] == '\0', "an empty extraData is \"\", not NULL");

    hook_reset(IRTC_OK, NULL);
    is_int(call(api_capture_image, "captureImage", body), API_OK, "captureImage with a hook: success");
    ok(hk.capture.image, "image flag set");
    hook_reset(IRTC_ENOTFOUND, "user 444444 is not in 23198805");
    is_int(call(api_capture_video, "captureVideo", body), API_ROOM_NOT_FOUND, "capture ENOTFOUND → 1001009");
    hook_reset(IRTC_EIO, NULL);
    is_int(call(api_capture_video, "captureVideo", body), API_RECORD_ERROR, "capture EIO → 1001027");
    is_str(data(), "", "no data on failure");
    hook_reset(IRTC_OK, NULL);
    is_int(call(api_capture_video, "captureVideo", unknown), API_RULE_NOT_FOUND, "unknown rule with a hook: 1001007");
    is_int(hk.calls, 0, "and the recorder is not asked");

    hook_reset(IRTC_OK, NULL);
    is_int(call(api_stop_capture, "stopCapture", "{\"recordingId\":202212311431169569,\"channelId\":\"\"}"), API_OK,
           "stopCapture with a hook: success");
    ok(strcmp(hk.recording_id, "202212311431169569") == 0 && strcmp(hk.channel_id, "") == 0,
       "the hook got the big recordingId exactly and channel \"\"");
    hook_reset(IRTC_OK, NULL);
    is_int(call(api_stop_capture, "stopCapture", "{\"channelId\":\"room9\"}"), API_OK, "stop a whole channel");
    ok(strcmp(hk.recording_id, "") == 0 && strcmp(hk.channel_id, "room9") == 0, "recordingId \"\" = every recording");
    hook_reset(IRTC_ENOTFOUND, NULL);
    is_int(call(api_stop_capture, "stopCapture", "{\"recordingId\":\"7\"}"), API_RECORDING_NOT_FOUND,
           "stopCapture ENOTFOUND → 1001008");
    g_env.hooks.rec_capture = NULL;
    g_env.hooks.rec_stop = NULL;
    is_int(call(api_stop_capture, "stopCapture", "{\"recordingId\":\"7\"}"), API_NOT_AVAILABLE,
           "stopCapture, no recorder: 1001028");
}

/* ---- health and media endpoints, with a real worker ---- */

static uint16_t free_udp_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Runs the control loop until every worker has answered a ping (<= 3 s). */
static bool wait_healthy(void)
{
    uint64_t deadline = clock_mono_ms() + 3000;
    while (clock_mono_ms() < deadline) {
        h2o_evloop_run(g_loop, 50);
        if (worker_pool_healthy(g_env.workers, 1000))
            return true;
    }
    return false;
}

static void test_health_and_endpoints(void)
{
    char err[256] = "";
    cfg_defaults(&g_cfg);
    g_cfg.media_workers = 1;
    g_loop = h2o_evloop_create();
    int rc = IRTC_EIO;
    for (int i = 0; i < 5 && rc != IRTC_OK; i++) {
        g_cfg.media_port = free_udp_port();
        rc = worker_pool_start(&g_cfg, NULL, g_loop, &g_env.workers, err, sizeof(err));
    }
    if (!ok(rc == IRTC_OK, "a one-worker media pool starts (%s)", err))
        return;
    ok(wait_healthy(), "the worker answers pings");
    const char *v1 = "{\"version\":\"V1\"}";
    is_int(call(api_check_health, "checkRtcHeath", v1), API_OK, "checkRtcHeath: OK");
    is_str(data(), "\"OK\"", "data is \"OK\"");
    is_int(call(api_check_health, "checkRtcHeath", "{\"version\":\"V2\"}"), API_PARAM_INVALID, "version V2: 1001001");

    g_env.hooks.recorder_healthy = fake_recorder_healthy;
    hk.recorder_ok = true;
    is_int(call(api_check_health, "checkRtcHeath", v1), API_OK, "recorder hook says healthy: OK");
    hk.recorder_ok = false;
    is_int(call(api_check_health, "checkRtcHeath", v1), API_RECORD_ERROR, "recorder hook says down: 1001027");
    is_str(api_code_message(API_RECORD_ERROR), "live record server is error", "with the contract's message");
    g_env.hooks.recorder_healthy = NULL;

    /* Not running the control loop means no pong is collected: after 1 s the
     * worker counts as not answering, exactly what a hung worker looks like. */
    usleep(1100 * 1000);
    is_int(call(api_check_health, "checkRtcHeath", v1), API_WEBRTC_ERROR, "no pong for over 1 s: 1001026");
    is_str(api_code_message(API_WEBRTC_ERROR), "live webrtc server is error", "with the contract's message");
    ok(wait_healthy(), "pongs again once the loop runs");
    is_int(call(api_check_health, "checkRtcHeath", v1), API_OK, "and checkRtcHeath is OK again");

    is_int(call(api_get_media_endpoint, "getMediaEndpoint", "{\"channelIds\":[\"r1\",42]}"), API_OK,
           "getMediaEndpoint");
    char want[256];
    snprintf(want, sizeof(want),
             "{\"list\":[{\"ip\":\"127.0.0.1\",\"port\":\"%u\",\"channelId\":\"r1\"},"
             "{\"ip\":\"127.0.0.1\",\"port\":\"%u\",\"channelId\":\"42\"}]}",
             g_cfg.media_port, g_cfg.media_port);
    is_str(data(), want, "the worker's port, as a string, for each channel");
    worker_pool_stop(g_env.workers);
    h2o_evloop_destroy(g_loop);
}

static void setup_store(void)
{
    char path[256], err[256];
    if (mkdtemp(g_dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/irtc.db", g_dir);
    if (store_open(path, &g_env.store, err, sizeof(err)) != IRTC_OK) {
        printf("# %s\n", err);
        abort();
    }
    store_app_t a = {.app_id = APP_ID, .name = "t", .tenant_id = "t", .access_key = "k", .app_token_hash = "h"};
    store_rule_t r = {.app_id = APP_ID, .storage_type = "NAS", .file_name = "f", .capture_interval = 1,
                      .capture_nums = 1, .callback_url = "http://h/"};
    ok(store_app_insert(g_env.store, &a) == IRTC_OK && store_rule_insert(g_env.store, &r) == IRTC_OK,
       "fixture: an app with one rule");
    g_rule_id = r.rule_id;
}

int main(void)
{
    setup_store();
    test_room_hooks();
    test_capture_hooks();
    test_health_and_endpoints();
    json_free(g_call.body);
    buf_dispose(&g_call.data);
    store_close(g_env.store);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", g_dir);
    return done_testing();
}
