/*
 * api.c — the REST API's plumbing: the route table of /openapi/v1/rtcLive/...,
 * and for every call the same steps before a handler runs (exact path, bearer
 * token, rate limit per app × API, Content-Type, JSON body, appId of the
 * token's own app), then the envelope.  HTTP statuses and errorCodes are
 * chosen here and nowhere else.  Control thread.
 *
 * Does not validate fields of any endpoint (the handlers in api_*.c do, with
 * api_fields.h), and issues no tokens (api_auth.c).
 */
#include "http/api.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "http/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_LOG "api"
#define API_ALL_METHODS                                                                                       \
    (HTTP_METHOD_GET | HTTP_METHOD_HEAD | HTTP_METHOD_POST | HTTP_METHOD_PUT | HTTP_METHOD_DELETE |           \
     HTTP_METHOD_OPTIONS)

/* Every northbound path (docs/openapi.yaml lists each; a test compares). */
static const api_route_t api_routes[] = {
    {"/openapi/v1/rtcLive/getMediaEndpoint", "getMediaEndpoint", API_APP_NONE, api_get_media_endpoint},
    {"/openapi/v1/rtcLive/captureVideo", "captureVideo", API_APP_REQUIRED, api_capture_video},
    {"/openapi/v1/rtcLive/captureImage", "captureImage", API_APP_REQUIRED, api_capture_image},
    {"/openapi/v1/rtcLive/stopCapture", "stopCapture", API_APP_REQUIRED, api_stop_capture},
    {"/openapi/v1/rtcLive/startAutoRecord", "startAutoRecord", API_APP_REQUIRED, api_start_auto_record},
    {"/openapi/v1/rtcLive/stopAutoRecord", "stopAutoRecord", API_APP_REQUIRED, api_stop_auto_record},
    {"/openapi/v1/rtcLive/queryRecordingList", "queryRecordingList", API_APP_REQUIRED, api_query_recordings},
    {"/openapi/v1/rtcLive/addRule", "addRule", API_APP_REQUIRED, api_add_rule},
    {"/openapi/v1/rtcLive/updateRule", "updateRule", API_APP_REQUIRED, api_update_rule},
    {"/openapi/v1/rtcLive/deleteRule", "deleteRule", API_APP_OPTIONAL, api_delete_rule},
    {"/openapi/v1/rtcLive/queryRuleList", "queryRuleList", API_APP_REQUIRED, api_query_rules},
    {"/openapi/v1/rtcLive/releaseRoom", "releaseRoom", API_APP_REQUIRED, api_release_room},
    {"/openapi/v1/rtcLive/releaseUser", "releaseUser", API_APP_REQUIRED, api_release_user},
    {"/openapi/v1/rtcLive/checkRtcHeath", "checkRtcHeath", API_APP_NONE, api_check_health},
};

/* What an unknown path below these prefixes answers (rather than static files). */
static const char *const api_prefixes[] = {"/openapi", "/oauth2"};

/* Internal outcome of the steps before a handler: not an errorCode. */
#define API_UNAUTHORIZED (-1)

/* ---- codes and replies ---- */

const char *api_code_message(int code)
{
    switch (code) {
    case API_OK: return "SUCCESS";
    case API_PARAM_INVALID: return "PARAM_IS_INVALID";
    case API_BAD_JSON: return "BODY_IS_NOT_JSON";
    case API_BAD_CONTENT_TYPE: return "UNSUPPORTED_CONTENT_TYPE";
    case API_NO_SUCH_API: return "API_NOT_FOUND";
    case API_BAD_METHOD: return "METHOD_NOT_ALLOWED";
    case API_APP_MISMATCH: return "APP_ID_NOT_ALLOWED";
    case API_RULE_NOT_FOUND: return "RULE_NOT_FOUND";
    case API_RECORDING_NOT_FOUND: return "RECORDING_NOT_FOUND";
    case API_ROOM_NOT_FOUND: return "ROOM_NOT_FOUND";
    case API_USER_NOT_FOUND: return "USER_NOT_FOUND";
    case API_LIMIT_REACHED: return "LIMIT_REACHED";
    case API_CONFLICT: return "CONFLICT";
    case API_WEBRTC_ERROR: return "live webrtc server is error";
    case API_RECORD_ERROR: return "live record server is error";
    case API_NOT_AVAILABLE: return "NOT_AVAILABLE";
    case API_TOO_MANY_REQUESTS: return "TOO_MANY_REQUESTS";
    case API_BODY_TOO_LARGE: return "BODY_TOO_LARGE";
    case API_INTERNAL_ERROR: return "INTERNAL_ERROR";
    default: return "INTERNAL_ERROR"; /* a code missing above: ours to fix */
    }
}

int api_http_status(int code)
{
    switch (code) {
    case API_BAD_JSON: return 400;
    case API_BAD_CONTENT_TYPE: return 415;
    case API_NO_SUCH_API: return 404;
    case API_BAD_METHOD: return 405;
    case API_TOO_MANY_REQUESTS: return 429;
    case API_INTERNAL_ERROR: return 500;
    case API_BODY_TOO_LARGE: return 413;
    default: return 200; /* the contract's business errors travel with 200 */
    }
}

int api_fail(api_call_t *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
    return code;
}

int api_result(api_call_t *c, int rc, const char *why, int not_found, int failure)
{
    int code = rc == IRTC_OK            ? API_OK
               : rc == IRTC_ENOTFOUND   ? not_found
               : rc == IRTC_ELIMIT      ? API_LIMIT_REACHED
               : rc == IRTC_ECONFLICT   ? API_CONFLICT
                                        : failure;
    if (code != API_OK)
        snprintf(c->msg, sizeof(c->msg), "%s", why ? why : irtc_strerror(rc));
    return code;
}

void api_send_envelope(h2o_req_t *req, int status, int code, const char *detail, const buf_t *data)
{
    char ts[48];
    buf_t b;
    clock_format_contract(clock_wall_ms(), ts, sizeof(ts));
    buf_init(&b);
    if (code == API_OK) {
        buf_puts(&b, "{\"errorCode\":\"0\",\"errorMessage\":null,\"data\":");
    } else {
        /* The contract's two server codes carry its exact text; ours add the cause. */
        const char *name = api_code_message(code);
        bool exact = code == API_WEBRTC_ERROR || code == API_RECORD_ERROR || detail == NULL || !detail[0];
        buf_printf(&b, "{\"errorCode\":%d,\"errorMessage\":", code);
        if (exact) {
            json_write_string(&b, name);
        } else {
            buf_t m;
            buf_init(&m);
            buf_printf(&m, "%s: %s", name, detail);
            json_write_string(&b, m.base);
            buf_dispose(&m);
        }
        buf_puts(&b, ",\"data\":");
    }
    buf_puts(&b, code == API_OK && data != NULL && data->len ? data->base : "null");
    buf_puts(&b, ",\"timestamp\":");
    json_write_string(&b, ts);
    buf_putc(&b, '}');
    http_send_json(req, status, &b);
    buf_dispose(&b);
}

void api_send_oauth_error(h2o_req_t *req, int status, const char *error, const char *description)
{
    buf_t b;
    buf_init(&b);
    buf_puts(&b, "{\"error\":");
    json_write_string(&b, error);
    buf_puts(&b, ",\"error_description\":");
    json_write_string(&b, description);
    buf_putc(&b, '}');
    if (status == 401)
        http_add_header(req, "www-authenticate", "Bearer error=\"invalid_token\"");
    http_send_json(req, status, &b);
    buf_dispose(&b);
}

bool api_rate_take(api_t *api, h2o_req_t *req, const char *app_id, const char *name, uint64_t *retry_s)
{
    char key[128];
    uint64_t retry_ms = 0;
    snprintf(key, sizeof(key), "%s/%s", app_id, name);
    if (ratelimit_take(api->limits, key, clock_mono_ms(), &retry_ms))
        return true;
    char v[24];
    *retry_s = (retry_ms + 999) / 1000;
    snprintf(v, sizeof(v), "%llu", (unsigned long long)*retry_s);
    http_add_header(req, "retry-after", v);
    return false;
}

int api_read_json(h2o_req_t *req, json_value_t **out, char *msg, size_t cap)
{
    size_t len = 0;
    const char *ct = http_req_header(req, "content-type", &len);
    *out = NULL;
    if (req->entity.len > API_MAX_BODY) {
        snprintf(msg, cap, "the body is %zu bytes; at most %d are accepted", req->entity.len, API_MAX_BODY);
        return API_BODY_TOO_LARGE;
    }
    if (!af_content_type_is(ct, len, "application/json")) {
        snprintf(msg, cap, "Content-Type must be application/json (got \"%.*s\")", (int)IRTC_MIN(len, 80),
                 ct ? ct : "");
        return API_BAD_CONTENT_TYPE;
    }
    *out = af_parse_object(req->entity.base ? req->entity.base : "", req->entity.len, msg, cap);
    return *out ? API_OK : API_BAD_JSON;
}

/* ---- the steps before a handler ---- */

static int api_authenticate(api_t *api, api_call_t *c)
{
    size_t len = 0, tlen = 0;
    const char *tok = NULL;
    const char *h = http_req_header(c->req, "authorization", &len);
    if (h == NULL || !af_bearer(h, len, &tok, &tlen))
        return API_UNAUTHORIZED;
    return api_auth_verify(api, tok, tlen, c->app_id) == IRTC_OK ? API_OK : API_UNAUTHORIZED;
}

/* The body's appId, when the route has one, must name the token's app. */
static int api_check_app_id(api_call_t *c)
{
    af_id_t app_id;
    api_app_field_t want = c->route->app_field;
    if (want == API_APP_NONE)
        return API_OK;
    if (!af_id(&c->f, "appId", want == API_APP_REQUIRED ? AF_REQUIRED : AF_OPTIONAL, app_id))
        return c->f.failed ? API_PARAM_INVALID : API_OK;
    if (strcmp(app_id, c->app_id) != 0)
        return api_fail(c, API_APP_MISMATCH, "appId %s is not the app of this access token", app_id);
    return API_OK;
}

static int api_prepare(api_t *api, api_call_t *c, uint64_t *retry_s)
{
    int rc = api_authenticate(api, c);
    if (rc != API_OK)
        return rc;
    if (!api_rate_take(api, c->req, c->app_id, c->route->name, retry_s))
        return api_fail(c, API_TOO_MANY_REQUESTS, "at most %u %s calls per minute per app; retry after %llu s",
                        api->app->cfg.api_calls_per_minute, c->route->name, (unsigned long long)*retry_s);
    rc = api_read_json(c->req, &c->body, c->msg, sizeof(c->msg));
    if (rc != API_OK)
        return rc;
    af_init(&c->f, c->body);
    return api_check_app_id(c);
}

typedef struct api_binding {
    api_t *api;
    const api_route_t *route;
} api_binding_t;

static void api_reply(api_call_t *c, int code)
{
    if (code == API_UNAUTHORIZED) {
        api_send_oauth_error(c->req, 401, "invalid_token", "check_token error");
        return;
    }
    if (code == API_PARAM_INVALID && c->msg[0] == '\0')
        snprintf(c->msg, sizeof(c->msg), "%s", c->f.failed ? c->f.err : "invalid parameter");
    if (code == API_INTERNAL_ERROR || code == API_WEBRTC_ERROR || code == API_RECORD_ERROR)
        log_warn(API_LOG, "%s for app %s: %d %s", c->route->name, c->app_id, code, c->msg);
    api_send_envelope(c->req, api_http_status(code), code, c->msg, &c->data);
}

static int on_api(void *ctx, h2o_req_t *req)
{
    const api_binding_t *b = ctx;
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, b->route->path, strlen(b->route->path))) {
        api_send_no_such_api(req);
        return 0;
    }
    api_call_t c;
    uint64_t retry_s = 0;
    memset(&c, 0, sizeof(c));
    c.app = b->api->app;
    c.req = req;
    c.route = b->route;
    buf_init(&c.data);
    int code = api_prepare(b->api, &c, &retry_s);
    if (code == API_OK)
        code = b->route->fn(&c);
    api_reply(&c, code);
    json_free(c.body);
    buf_dispose(&c.data);
    return 0;
}

static void on_api_bad_method(h2o_req_t *req)
{
    http_add_header(req, "allow", "POST");
    api_send_envelope(req, 405, API_BAD_METHOD, "only POST is allowed", NULL);
}

void api_send_no_such_api(h2o_req_t *req)
{
    api_send_envelope(req, 404, API_NO_SUCH_API, "no API at this path", NULL);
}

static int on_unknown_path(void *ctx, h2o_req_t *req)
{
    api_send_no_such_api(req);
    return 0;
}

/* ---- registration ---- */

int api_register(irtc_app_t *app)
{
    api_t *api = xcalloc(1, sizeof(*api));
    api->app = app;
    api->limits = ratelimit_new(app->cfg.api_calls_per_minute);
    api->bindings = xcalloc(IRTC_ARRAY_SIZE(api_routes), sizeof(*api->bindings));
    app->api = api;
    if (api_auth_init(api) != IRTC_OK)
        return IRTC_EIO;
    api_binding_t *bindings = api->bindings;
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(api_routes); i++) {
        bindings[i] = (api_binding_t){api, &api_routes[i]};
        /* prefix=true so a longer path reaches on_api and gets the envelope 404. */
        http_server_route(app->http, api_routes[i].path, true, HTTP_METHOD_POST, api_routes[i].name, on_api,
                          &bindings[i]);
        http_server_on_bad_method(app->http, api_routes[i].path, on_api_bad_method);
    }
    api_auth_register(api);
    if (app->cfg.demo_token_enabled)
        demo_token_register(api);
    /* Registered last: h2o takes the first matching path. */
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(api_prefixes); i++) {
        http_server_route(app->http, api_prefixes[i], true, API_ALL_METHODS, "api-unknown", on_unknown_path, NULL);
        http_server_on_bad_method(app->http, api_prefixes[i], api_send_no_such_api);
    }
    return IRTC_OK;
}

void api_unregister(irtc_app_t *app)
{
    if (app->api == NULL)
        return;
    ratelimit_free(app->api->limits);
    free(app->api->bindings);
    free(app->api);
    app->api = NULL;
}
