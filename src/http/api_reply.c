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

/* One row per code: its name (the guide's where it has one) and its HTTP
 * status.  The only place a code meets its name; tests/integration/
 * test_api_docs.py reads these rows. */
typedef struct api_code_row {
    int code;
    const char *name;
    int status; /* the contract's business errors travel with 200 */
} api_code_row_t;

/* clang-format off */
static const api_code_row_t api_codes[] = {
    {API_OK, "SUCCESS", 200},
    {API_PARAM_INVALID, "PARAM_IS_INVALID", 200},
    {API_BAD_JSON, "BODY_IS_NOT_JSON", 400},
    {API_BAD_CONTENT_TYPE, "UNSUPPORTED_CONTENT_TYPE", 415},
    {API_NO_SUCH_API, "API_NOT_FOUND", 404},
    {API_BAD_METHOD, "METHOD_NOT_ALLOWED", 405},
    {API_APP_MISMATCH, "APP_ID_NOT_ALLOWED", 200},
    {API_RULE_NOT_FOUND, "RULE_NOT_FOUND", 200},
    {API_RECORDING_NOT_FOUND, "RECORDING_NOT_FOUND", 200},
    {API_ROOM_NOT_FOUND, "ROOM_NOT_FOUND", 200},
    {API_USER_NOT_FOUND, "USER_NOT_FOUND", 200},
    {API_LIMIT_REACHED, "LIMIT_REACHED", 200},
    {API_CONFLICT, "CONFLICT", 200},
    {API_WEBRTC_ERROR, "live webrtc server is error", 200},
    {API_RECORD_ERROR, "live record server is error", 200},
    {API_NOT_AVAILABLE, "NOT_AVAILABLE", 200},
    {API_TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", 429},
    {API_INTERNAL_ERROR, "INTERNAL_ERROR", 500},
    {API_BODY_TOO_LARGE, "BODY_TOO_LARGE", 413},
    {API_FILE_NOT_FOUND, "FILE_NOT_FOUND", 404},
    {API_RANGE_NOT_SATISFIABLE, "RANGE_NOT_SATISFIABLE", 416},
};
/* clang-format on */

static const api_code_row_t *api_code_row(int code)
{
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(api_codes); i++)
        if (api_codes[i].code == code)
            return &api_codes[i];
    return NULL;
}

const char *api_code_message(int code)
{
    const api_code_row_t *r = api_code_row(code);
    return r ? r->name : "INTERNAL_ERROR"; /* a code missing above: ours to fix */
}

int api_http_status(int code)
{
    const api_code_row_t *r = api_code_row(code);
    return r ? r->status : 500;
}

const char *api_gateway_error(int status)
{
    /* RFC 6749 §5.2 / §4.1.2.1 names where OAuth2 has one, as the gateway's
     * 401 "invalid_token" does; plain names for the rest. */
    switch (status) {
    case 400:
    case 413:
    case 415:
        return "invalid_request";
    case 401:
        return "invalid_token";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 416:
        return "range_not_satisfiable";
    case 429:
        return "too_many_requests";
    case 503:
        return "temporarily_unavailable";
    default:
        return "server_error";
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
    bool has_detail = code != API_OK && detail != NULL && detail[0];
    clock_format_contract(clock_wall_ms(), ts, sizeof(ts));
    buf_init(&b);
    buf_putc(&b, '{');
    if (status != 200) {
        /* Guide §8.3.3: any status but 200 is a gateway error with these two
         * fields; the envelope's stand beside them for envelope parsers. */
        buf_puts(&b, "\"error\":");
        json_write_string(&b, api_gateway_error(status));
        buf_puts(&b, ",\"error_description\":");
        json_write_string(&b, has_detail ? detail : api_code_message(code));
        buf_putc(&b, ',');
    }
    /* errorCode a string and errorMessage exactly the code's name (guide
     * §8.3.3); the cause, naming the field, in errorDetail. */
    buf_printf(&b, "\"errorCode\":\"%d\",\"errorMessage\":", code);
    if (code == API_OK)
        buf_puts(&b, "null");
    else
        json_write_string(&b, api_code_message(code));
    if (has_detail) {
        buf_puts(&b, ",\"errorDetail\":");
        json_write_string(&b, detail);
    }
    buf_puts(&b, ",\"data\":");
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
