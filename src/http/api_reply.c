/*
 * api_reply.c — the REST API's replies: the contract's errorCodes, their
 * HTTP statuses and names, the envelope and the OAuth error shape, the JSON
 * body reader and the rate limit per app × API, shared by every REST handler.
 * HTTP statuses and errorCodes are chosen here and nowhere else.  Control
 * thread.
 *
 * Does not: route, authenticate, or validate an endpoint's fields.
 */
#include "http/api_reply.h"
#include "core/clock.h"
#include "core/common.h"
#include "http/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One line per code: tests/integration/test_api_docs.py reads this table. */
/* clang-format off */
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
/* clang-format on */

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
    int code = rc == IRTC_OK          ? API_OK
               : rc == IRTC_ENOTFOUND ? not_found
               : rc == IRTC_ELIMIT    ? API_LIMIT_REACHED
               : rc == IRTC_ECONFLICT ? API_CONFLICT
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

bool api_rate_take(const api_ctx_t *ctx, h2o_req_t *req, const char *app_id, const char *name, uint64_t *retry_s)
{
    char key[128];
    uint64_t retry_ms = 0;
    snprintf(key, sizeof(key), "%s/%s", app_id, name);
    if (ratelimit_take(ctx->limits, key, clock_mono_ms(), &retry_ms))
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

void api_send_no_such_api(h2o_req_t *req)
{
    api_send_envelope(req, 404, API_NO_SUCH_API, "no API at this path", NULL);
}
