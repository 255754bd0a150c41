/*
 * demo_token.c — POST /demo/token: join tokens for the built-in "demo" app,
 * so the demo page works without a back end.  Registered only when
 * server.demo_token is on (the route does not exist otherwise: 404).
 * Control thread.
 *
 * Builds the token with apps_join_token, the same code as `irtcd token`.  Ids
 * are checked as the Web SDK's join() does; the calls are rate-limited like
 * the REST API (per demo app).  Not part of the vendor's contract.
 */
#include "http/demo_token.h"
#include "apps/apps.h"
#include "core/clock.h"
#include "core/common.h"
#include "http/server.h"
#include "store/store.h"

#include <stdio.h>

#define DEMO_APP_NAME "demo"
#define DEMO_ROUTE "demoToken"

/* Errors use the envelope with a real HTTP status: a browser page checks
 * response.ok, and this endpoint has no contract to follow. */
static void demo_fail(h2o_req_t *req, int code, const char *detail)
{
    int status = code == API_PARAM_INVALID ? 400 : code == API_NOT_AVAILABLE ? 503 : api_http_status(code);
    api_send_envelope(req, status, code, detail, NULL);
}

static void demo_answer(const api_ctx_t *ctx, h2o_req_t *req, const store_app_t *app)
{
    json_value_t *body = NULL;
    char msg[200];
    int code = api_read_json(req, &body, msg, sizeof(msg));
    if (code != API_OK) {
        demo_fail(req, code, msg);
        return;
    }
    af_t f;
    af_id_t channel, user;
    int role = 1;
    af_init(&f, body);
    af_id(&f, "channelId", AF_REQUIRED, channel);
    af_id(&f, "userId", AF_REQUIRED, user);
    af_int(&f, "role", AF_OPTIONAL, 0, 1, &role);
    buf_t b;
    const char *why = NULL;
    buf_init(&b);
    if (f.failed)
        demo_fail(req, API_PARAM_INVALID, f.err);
    else if (apps_join_token(ctx->env.cfg, app, channel, user, role ? "1" : "0", (int64_t)clock_wall_ms(), &b, &why) !=
             IRTC_OK)
        demo_fail(req, API_PARAM_INVALID, why);
    else
        http_send_json(req, 200, &b);
    buf_dispose(&b);
    json_free(body);
}

static int on_demo_token(void *ctx, h2o_req_t *req)
{
    const api_ctx_t *api = ctx;
    store_app_t app;
    uint64_t retry_s = 0;
    char msg[160];
    if (store_app_get_by_name(api->env.store, DEMO_APP_NAME, &app) != IRTC_OK) {
        demo_fail(req, API_NOT_AVAILABLE, "the demo app does not exist (irtcd creates it at start)");
    } else if (!api_rate_take(api, req, app.app_id, DEMO_ROUTE, &retry_s)) {
        snprintf(msg, sizeof(msg), "at most %u demo tokens per minute; retry after %llu s",
                 api->env.cfg->api_calls_per_minute, (unsigned long long)retry_s);
        demo_fail(req, API_TOO_MANY_REQUESTS, msg);
    } else {
        demo_answer(api, req, &app);
    }
    store_app_dispose(&app);
    return 0;
}

static void on_demo_token_bad_method(h2o_req_t *req)
{
    http_add_header(req, "allow", "POST");
    api_send_envelope(req, 405, API_BAD_METHOD, "only POST is allowed", NULL);
}

void demo_token_register(const api_ctx_t *ctx)
{
    static const char path[] = "/demo/token";
    /* h2o hands the route's data back as void *; on_demo_token only reads it. */
    http_server_route(ctx->env.http, path, false, HTTP_METHOD_POST, DEMO_ROUTE, on_demo_token, (void *)ctx);
    http_server_on_bad_method(ctx->env.http, path, on_demo_token_bad_method);
}
