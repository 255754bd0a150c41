/*
 * api.c — the REST API's router: the route table of /openapi/v1/rtcLive/...,
 * and for every call the same steps before a handler runs (exact path, bearer
 * token, rate limit per app × API, Content-Type, JSON body, appId of the
 * token's own app), then the reply.  Control thread.
 *
 * Does not validate fields of any endpoint (the handlers in api_*.c do, with
 * api_fields.h), issue tokens (api_auth.c) or choose errorCodes and statuses
 * (api_reply.c).
 */
#include "http/api.h"
#include "core/common.h"
#include "core/log.h"
#include "http/api_auth.h"
#include "http/api_files.h"
#include "http/api_media.h"
#include "http/api_record.h"
#include "http/api_reply.h"
#include "http/api_rules.h"
#include "http/demo_token.h"
#include "http/server.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_LOG "api"
#define API_ALL_METHODS                                                                                                \
    (HTTP_METHOD_GET | HTTP_METHOD_HEAD | HTTP_METHOD_POST | HTTP_METHOD_PUT | HTTP_METHOD_DELETE | HTTP_METHOD_OPTIONS)

typedef enum {
    API_APP_NONE,     /* no appId in the body: the token's app is meant */
    API_APP_OPTIONAL, /* appId may be given; if so it must be the token's */
    API_APP_REQUIRED,
} api_app_field_t;

/* Cluster mode: what a route needs of the other nodes. */
typedef enum {
    API_ANY_NODE, /* answered here: shared tables or this node's state */
    API_PLACE,    /* getMediaEndpoint: the channels are placed on nodes */
    API_ROOM,     /* about channelId's room: runs on the node hosting it */
} api_cluster_t;

typedef struct {
    const char *path; /* exact path */
    const char *name; /* route name: rate-limit key, metrics, access log */
    api_app_field_t app_field;
    api_fn fn;
    api_cluster_t cluster;
} api_route_t;

/* Every northbound path (docs/openapi.yaml lists each; a test compares). */
static const api_route_t api_routes[] = {
    {"/openapi/v1/rtcLive/getMediaEndpoint", "getMediaEndpoint", API_APP_NONE, api_get_media_endpoint, API_PLACE},
    {"/openapi/v1/rtcLive/captureVideo", "captureVideo", API_APP_REQUIRED, api_capture_video, API_ROOM},
    {"/openapi/v1/rtcLive/captureImage", "captureImage", API_APP_REQUIRED, api_capture_image, API_ROOM},
    {"/openapi/v1/rtcLive/stopCapture", "stopCapture", API_APP_REQUIRED, api_stop_capture, API_ROOM},
    {"/openapi/v1/rtcLive/startAutoRecord", "startAutoRecord", API_APP_REQUIRED, api_start_auto_record},
    {"/openapi/v1/rtcLive/stopAutoRecord", "stopAutoRecord", API_APP_REQUIRED, api_stop_auto_record},
    {"/openapi/v1/rtcLive/queryRecordingList", "queryRecordingList", API_APP_REQUIRED, api_query_recordings},
    {"/openapi/v1/rtcLive/addRule", "addRule", API_APP_REQUIRED, api_add_rule},
    {"/openapi/v1/rtcLive/updateRule", "updateRule", API_APP_REQUIRED, api_update_rule},
    {"/openapi/v1/rtcLive/deleteRule", "deleteRule", API_APP_OPTIONAL, api_delete_rule},
    {"/openapi/v1/rtcLive/queryRuleList", "queryRuleList", API_APP_REQUIRED, api_query_rules},
    {"/openapi/v1/rtcLive/releaseRoom", "releaseRoom", API_APP_REQUIRED, api_release_room, API_ROOM},
    {"/openapi/v1/rtcLive/releaseUser", "releaseUser", API_APP_REQUIRED, api_release_user, API_ROOM},
    {"/openapi/v1/rtcLive/checkRtcHeath", "checkRtcHeath", API_APP_NONE, api_check_health},
};

/* What an unknown path below these prefixes answers (rather than static files). */
static const char *const api_prefixes[] = {"/openapi", "/oauth2"};

/* Internal outcome of the steps before a handler: not an errorCode. */
#define API_UNAUTHORIZED (-1)

typedef struct api_binding {
    api_t *api;
    const api_route_t *route;
} api_binding_t;

struct api {
    api_ctx_t ctx; /* what every route's handler is given */
    api_auth_t *auth;
    api_binding_t *bindings; /* one per route: what h2o hands on_api */
};

/* ---- the steps before a handler ---- */

static int api_authenticate(api_t *api, api_call_t *c)
{
    size_t len = 0, tlen = 0;
    const char *tok = NULL;
    const char *h = http_req_header(c->req, "authorization", &len);
    if (h == NULL || !af_bearer(h, len, &tok, &tlen))
        return API_UNAUTHORIZED;
    return api_auth_verify(api->auth, tok, tlen, c->app_id) == IRTC_OK ? API_OK : API_UNAUTHORIZED;
}

/* The body's appId, when the route has one, must name the token's app. */
static int api_check_app_id(api_call_t *c, api_app_field_t want)
{
    af_id_t app_id;
    if (want == API_APP_NONE)
        return API_OK;
    if (!af_id(&c->f, "appId", want == API_APP_REQUIRED ? AF_REQUIRED : AF_OPTIONAL, app_id))
        return c->f.failed ? API_PARAM_INVALID : API_OK;
    if (strcmp(app_id, c->app_id) != 0)
        return api_fail(c, API_APP_MISMATCH, "appId %s is not the app of this access token", app_id);
    return API_OK;
}

static int api_prepare(api_t *api, api_call_t *c, const api_route_t *route, uint64_t *retry_s)
{
    int rc = api_authenticate(api, c);
    if (rc != API_OK)
        return rc;
    if (!api_rate_take(&api->ctx, c->req, c->app_id, route->name, retry_s))
        return api_fail(c, API_TOO_MANY_REQUESTS, "at most %u %s calls per minute per app; retry after %llu s",
                        api->ctx.env.cfg->api_calls_per_minute, route->name, (unsigned long long)*retry_s);
    rc = api_read_json(c->req, &c->body, c->msg, sizeof(c->msg));
    if (rc != API_OK)
        return rc;
    af_init(&c->f, c->body);
    return api_check_app_id(c, route->app_field);
}

static void api_reply(api_call_t *c, int code)
{
    if (code == API_UNAUTHORIZED) {
        api_send_oauth_error(c->req, 401, "invalid_token", "check_token error");
        return;
    }
    if (code == API_PARAM_INVALID && c->msg[0] == '\0')
        snprintf(c->msg, sizeof(c->msg), "%s", c->f.failed ? c->f.err : "invalid parameter");
    if (code == API_INTERNAL_ERROR || code == API_WEBRTC_ERROR || code == API_RECORD_ERROR)
        log_warn(API_LOG, "%s for app %s: %d %s", c->name, c->app_id, code, c->msg);
    api_send_envelope(c->req, api_http_status(code), code, c->msg, &c->data);
}

/* ---- cluster mode: calls answered by (or with the help of) other nodes ---- */

/* A call waiting for the cluster.  Its own allocation: the request may be
 * gone when the answer comes (the client left), which the guard, living in
 * the request's pool, tells it. */
typedef struct api_guard api_guard_t;
typedef struct {
    api_t *api;
    const api_route_t *route;
    h2o_req_t *req; /* NULL once the request is gone */
    api_guard_t *guard;
    char app_id[33];
    char *body;
    size_t len;
} api_pending_t;

struct api_guard {
    api_pending_t *p;
};

static void on_guard_dispose(void *g)
{
    api_guard_t *guard = g;
    if (guard->p != NULL)
        guard->p->req = NULL;
}

/* Runs route on body for app_id in c (req may be NULL): parse, fields, handler. */
static int api_run(api_t *api, const api_route_t *route, api_call_t *c, const char *app_id, const char *body,
                   size_t len)
{
    const char *err;
    size_t pos;
    c->env = &api->ctx.env;
    c->name = route->name;
    snprintf(c->app_id, sizeof(c->app_id), "%s", app_id);
    c->body = json_parse(body, len, &err, &pos);
    if (c->body == NULL || json_type(c->body) != JSON_OBJECT)
        return api_fail(c, API_BAD_JSON, "the body is not one JSON object");
    af_init(&c->f, c->body);
    int code = route->fn(c);
    if (code == API_PARAM_INVALID && c->msg[0] == '\0')
        snprintf(c->msg, sizeof(c->msg), "%s", c->f.failed ? c->f.err : "invalid parameter");
    return code;
}

static void on_remote_done(void *ud, int outcome, int code, const char *msg, const char *data, size_t data_len)
{
    api_pending_t *p = ud;
    if (p->req != NULL) {
        p->guard->p = NULL;
        api_call_t c;
        memset(&c, 0, sizeof(c));
        buf_init(&c.data);
        c.req = p->req;
        if (outcome == API_REMOTE_LOCAL) {
            int here = api_run(p->api, p->route, &c, p->app_id, p->body, p->len);
            const api_hooks_t *h = &p->api->ctx.env.hooks;
            h->cluster_flush(h->cluster_ctx);
            api_reply(&c, here);
        } else if (outcome == API_REMOTE_ANSWERED) {
            buf_append(&c.data, data, data_len);
            api_send_envelope(p->req, api_http_status(code), code, msg, &c.data);
        } else {
            c.name = p->route->name;
            snprintf(c.app_id, sizeof(c.app_id), "%s", p->app_id);
            api_reply(&c, api_fail(&c, API_WEBRTC_ERROR, "%s", msg));
        }
        json_free(c.body);
        buf_dispose(&c.data);
    }
    free(p->body);
    free(p);
}

/* The channel a room-bound call is about: its channelId, or for stopCapture
 * by recordingId alone (the guide's example sends channelId "") the
 * recording's, from the shared recordings table here or, when it has not
 * reached this node yet, found by the cluster (channel "", recording_id
 * set).  False when there is neither: the handler, run here, says what is
 * wrong. */
static bool api_room_of(api_t *api, api_call_t *c, af_t *f, af_id_t channel, char recording_id[32])
{
    store_recording_t rec;
    recording_id[0] = '\0';
    if (!af_id(f, "channelId", AF_ALLOW_EMPTY, channel))
        return false;
    if (channel[0] != '\0')
        return true;
    if (!af_digits(f, "recordingId", AF_ALLOW_EMPTY, recording_id, 32) || recording_id[0] == '\0')
        return false;
    if (store_recording_get(api->ctx.env.store, recording_id, &rec) == IRTC_OK && strcmp(rec.app_id, c->app_id) == 0 &&
        rec.channel_id != NULL && strlen(rec.channel_id) < sizeof(af_id_t))
        snprintf(channel, sizeof(af_id_t), "%s", rec.channel_id);
    store_recording_dispose(&rec);
    return true;
}

/* True when the call went to the cluster (answered later by on_remote_done);
 * false to run it here now (one node alone, a route every node answers, or
 * fields the handler will refuse). */
static bool api_go_remote(api_t *api, const api_route_t *route, api_call_t *c)
{
    const api_hooks_t *h = &api->ctx.env.hooks;
    af_t f;
    af_id_t channel;
    char recording_id[32] = "";
    af_id_t *ids = NULL;
    size_t n = 0;
    if (route->cluster == API_ANY_NODE || h->cluster_forward == NULL || h->cluster_place == NULL)
        return false;
    af_init(&f, c->body);
    if (route->cluster == API_PLACE ? !af_id_array(&f, "channelIds", AF_REQUIRED, 100, &ids, &n)
                                    : !api_room_of(api, c, &f, channel, recording_id)) {
        free(ids);
        return false;
    }
    api_pending_t *p = xcalloc(1, sizeof(*p));
    p->api = api;
    p->route = route;
    p->req = c->req;
    snprintf(p->app_id, sizeof(p->app_id), "%s", c->app_id);
    p->len = c->req->entity.len;
    p->body = xmalloc(p->len + 1);
    memcpy(p->body, c->req->entity.base, p->len);
    p->body[p->len] = '\0';
    p->guard = h2o_mem_alloc_shared(&c->req->pool, sizeof(*p->guard), on_guard_dispose);
    p->guard->p = p;
    if (route->cluster == API_PLACE) {
        const char **chans = xcalloc(n + 1, sizeof(*chans));
        for (size_t i = 0; i < n; i++)
            chans[i] = ids[i];
        h->cluster_place(h->cluster_ctx, c->app_id, chans, n, on_remote_done, p);
        free(chans);
    } else {
        h->cluster_forward(h->cluster_ctx, route->name, c->app_id, channel, recording_id, p->body, p->len,
                           on_remote_done, p);
    }
    free(ids);
    return true;
}

int api_execute(api_t *api, const char *route_name, const char *app_id, const char *body, size_t len, buf_t *data,
                char *msg, size_t msgcap)
{
    const api_route_t *route = NULL;
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(api_routes); i++) {
        if (strcmp(api_routes[i].name, route_name) == 0 && api_routes[i].cluster == API_ROOM)
            route = &api_routes[i];
    }
    if (route == NULL) {
        snprintf(msg, msgcap, "%s is not a call another node may forward", route_name);
        return API_NO_SUCH_API;
    }
    api_call_t c;
    memset(&c, 0, sizeof(c));
    buf_init(&c.data);
    int code = api_run(api, route, &c, app_id, body, len);
    snprintf(msg, msgcap, "%s", c.msg);
    buf_append(data, c.data.base ? c.data.base : "", c.data.len);
    json_free(c.body);
    buf_dispose(&c.data);
    return code;
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
    c.env = &b->api->ctx.env;
    c.req = req;
    c.name = b->route->name;
    buf_init(&c.data);
    int code = api_prepare(b->api, &c, b->route, &retry_s);
    if (code == API_OK && api_go_remote(b->api, b->route, &c)) {
        json_free(c.body);
        buf_dispose(&c.data);
        return 0;
    }
    if (code == API_OK)
        code = b->route->fn(&c);
    if (b->api->ctx.env.hooks.cluster_flush != NULL)
        b->api->ctx.env.hooks.cluster_flush(b->api->ctx.env.hooks.cluster_ctx);
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

/* GET/HEAD files/{fileId}: the bearer token and the rate limit as for every
 * call, then api_files.c; errors with the gateway's shape (404 and so on). */
static int on_file(void *ctx, h2o_req_t *req)
{
    api_t *api = ctx;
    api_call_t c;
    uint64_t retry_s = 0;
    memset(&c, 0, sizeof(c));
    c.env = &api->ctx.env;
    c.req = req;
    c.name = "files";
    buf_init(&c.data);
    int code = api_authenticate(api, &c);
    if (code == API_OK && !api_rate_take(&api->ctx, req, c.app_id, c.name, &retry_s))
        code = api_fail(&c, API_TOO_MANY_REQUESTS, "at most %u file downloads per minute per app; retry after %llu s",
                        api->ctx.env.cfg->api_calls_per_minute, (unsigned long long)retry_s);
    if (code == API_OK)
        code = api_file_send(&c);
    if (code != API_OK)
        api_reply(&c, code);
    buf_dispose(&c.data);
    return 0;
}

static void on_file_bad_method(h2o_req_t *req)
{
    http_add_header(req, "allow", "GET, HEAD");
    api_send_envelope(req, 405, API_BAD_METHOD, "only GET and HEAD are allowed", NULL);
}

static int on_unknown_path(void *ctx, h2o_req_t *req)
{
    api_send_no_such_api(req);
    return 0;
}

/* ---- life cycle ---- */

int api_new(const api_env_t *env, api_t **out)
{
    api_t *api = xcalloc(1, sizeof(*api));
    api->ctx.env = *env;
    api->ctx.limits = ratelimit_new(env->cfg->api_calls_per_minute);
    api->bindings = xcalloc(IRTC_ARRAY_SIZE(api_routes), sizeof(*api->bindings));
    *out = api;
    if (api_auth_new(&api->ctx, &api->auth) != IRTC_OK)
        return IRTC_EIO;
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(api_routes); i++) {
        api->bindings[i] = (api_binding_t){api, &api_routes[i]};
        /* prefix=true so a longer path reaches on_api and gets the envelope 404. */
        http_server_route(env->http, api_routes[i].path, true, HTTP_METHOD_POST, api_routes[i].name, on_api,
                          &api->bindings[i]);
        http_server_on_bad_method(env->http, api_routes[i].path, on_api_bad_method);
    }
    http_server_route(env->http, API_FILES_PREFIX, true, HTTP_METHOD_GET | HTTP_METHOD_HEAD, "files", on_file, api);
    http_server_on_bad_method(env->http, API_FILES_PREFIX, on_file_bad_method);
    if (env->cfg->demo_token_enabled)
        demo_token_register(&api->ctx);
    /* Registered last: h2o takes the first matching path. */
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(api_prefixes); i++) {
        http_server_route(env->http, api_prefixes[i], true, API_ALL_METHODS, "api-unknown", on_unknown_path, NULL);
        http_server_on_bad_method(env->http, api_prefixes[i], api_send_no_such_api);
    }
    return IRTC_OK;
}

void api_free(api_t *api)
{
    if (api == NULL)
        return;
    api_auth_free(api->auth);
    ratelimit_free(api->ctx.limits);
    free(api->bindings);
    free(api);
}
