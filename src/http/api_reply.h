/*
 * api_reply.h — what the REST handler files (api_*.c, demo_token.c) share:
 * the contract's error codes and their HTTP statuses, the per-request call
 * context, the envelope and error writers, the request body reader and the
 * rate limit per app × API.  Internal to src/http.
 *
 * Threading: control thread only, like every h2o handler.
 * Every code below is documented in docs/API.md (a test checks it).
 * Does not: route requests or check tokens (api.c, api_auth.c).
 */
#ifndef IRTC_HTTP_API_REPLY_H
#define IRTC_HTTP_API_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "core/buf.h"
#include "core/json.h"
#include "http/api_env.h"
#include "http/api_fields.h"
#include "http/ratelimit.h"

/* errorCode values (sent as JSON strings).  Name and HTTP status per code:
 * api_code_message(), api_http_status(), from one table in api_reply.c. */
enum {
    API_OK = 0,
    API_PARAM_INVALID = 1001001,    /* contract: PARAM_IS_INVALID (a field) */
    API_BAD_JSON = 1001002,         /* body is not one JSON object */
    API_BAD_CONTENT_TYPE = 1001003, /* Content-Type is not application/json */
    API_NO_SUCH_API = 1001004,      /* unknown path */
    API_BAD_METHOD = 1001005,       /* not POST */
    API_APP_MISMATCH = 1001006,     /* body appId is not the token's app */
    API_RULE_NOT_FOUND = 1001007,
    API_RECORDING_NOT_FOUND = 1001008,
    API_ROOM_NOT_FOUND = 1001009,
    API_USER_NOT_FOUND = 1001010,
    API_LIMIT_REACHED = 1001011,
    API_CONFLICT = 1001012,
    API_WEBRTC_ERROR = 1001026, /* contract: live webrtc server is error */
    API_RECORD_ERROR = 1001027, /* contract: live record server is error */
    API_NOT_AVAILABLE = 1001028,
    API_TOO_MANY_REQUESTS = 1001029,
    API_INTERNAL_ERROR = 1001030,
    API_BODY_TOO_LARGE = 1001031,        /* body over API_MAX_BODY */
    API_FILE_NOT_FOUND = 1001032,        /* files/{fileId}: none of the token's app to download */
    API_RANGE_NOT_SATISFIABLE = 1001033, /* files/{fileId}: the Range starts past the end */
};

#define API_MAX_BODY (64 * 1024) /* bytes of request body the API reads */

#define API_TOKEN_TTL_MS (1200 * 1000) /* REST access tokens: 20 minutes (guide §8.3.2) */

/* What every REST route's handler is given: the daemon's parts and the rate
 * limits all routes share.  Owned by the API (api.c); lives until api_free. */
typedef struct api_ctx {
    api_env_t env;
    ratelimit_t *limits;
} api_ctx_t;

/* One call to a /openapi route, filled by api.c before the handler runs. */
typedef struct api_call {
    const api_env_t *env;
    h2o_req_t *req;
    const char *name; /* the route's name: rate-limit key, metrics, access log */
    json_value_t *body;
    af_t f;          /* the body's fields */
    char app_id[33]; /* the app the bearer token belongs to */
    buf_t data;      /* envelope "data" as JSON text; empty = null */
    char msg[320];   /* errorDetail: the cause, naming the field */
} api_call_t;

/* A handler: reads c->f, writes c->data on success; returns API_OK or a
 * code (with c->msg set by api_fail, or c->f.err for API_PARAM_INVALID). */
typedef int (*api_fn)(api_call_t *c);

/* Sets c->msg from fmt and returns code. */
int api_fail(api_call_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a hook's or the store's result: IRTC_OK → API_OK, ENOTFOUND →
 * not_found, ELIMIT → API_LIMIT_REACHED, ECONFLICT → API_CONFLICT, else
 * failure; why (may be NULL) becomes the message. */
int api_result(api_call_t *c, int rc, const char *why, int not_found, int failure);
int api_http_status(int code);
/* The contract's name for a code ("PARAM_IS_INVALID", ...). */
const char *api_code_message(int code);
/* The gateway's "error" for a non-200 status ("invalid_request", ...). */
const char *api_gateway_error(int status);
/* {"errorCode","errorMessage","errorDetail","data","timestamp"}, preceded by
 * {"error","error_description"} when status is not 200; errorCode as a
 * string, errorMessage the code's name, detail (NULL or "" = none) in
 * errorDetail and error_description; data NULL or empty = null. */
void api_send_envelope(h2o_req_t *req, int status, int code, const char *detail, const buf_t *data);
/* 404 with the envelope and API_NO_SUCH_API (any path the API does not have). */
void api_send_no_such_api(h2o_req_t *req);
/* The gateway's shape: {"error": error, "error_description": description}. */
void api_send_oauth_error(h2o_req_t *req, int status, const char *error, const char *description);
/* Spends one call of app_id × name; false when over the limit, after
 * setting Retry-After on req and *retry_s. */
bool api_rate_take(const api_ctx_t *ctx, h2o_req_t *req, const char *app_id, const char *name, uint64_t *retry_s);
/* Reads a JSON object body (checks Content-Type): API_OK with *out, or
 * API_BAD_CONTENT_TYPE / API_BAD_JSON with msg set. */
int api_read_json(h2o_req_t *req, json_value_t **out, char *msg, size_t cap);

#endif
