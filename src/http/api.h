/*
 * api.h — what the REST handler files (api_*.c, demo_token.c) share: the
 * contract's error codes, the per-request call context, the envelope and
 * error writers, and the handler functions api.c routes to.  Internal to
 * src/http/; the daemon sees only api_register / api_unregister (app.h).
 *
 * Threading: control thread only, like every h2o handler.
 * Every code below is documented in docs/API.md (a test checks it).
 */
#ifndef IRTC_HTTP_API_H
#define IRTC_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "app.h"
#include "core/buf.h"
#include "core/json.h"
#include "http/api_fields.h"
#include "http/ratelimit.h"

/* errorCode values.  HTTP status per code: api_http_status(). */
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
    API_BODY_TOO_LARGE = 1001031, /* body over API_MAX_BODY */
};

#define API_MAX_BODY (64 * 1024) /* bytes of request body the API reads */

#define API_TOKEN_TTL_MS (1200 * 1000) /* REST access tokens: 20 minutes (guide §8.3.2) */

typedef struct api_call api_call_t;
/* A handler: reads c->f, writes c->data on success; returns API_OK or a
 * code (with c->msg set by api_fail, or c->f.err for API_PARAM_INVALID). */
typedef int (*api_fn)(api_call_t *c);

typedef enum {
    API_APP_NONE,     /* no appId in the body: the token's app is meant */
    API_APP_OPTIONAL, /* appId may be given; if so it must be the token's */
    API_APP_REQUIRED,
} api_app_field_t;

typedef struct {
    const char *path; /* exact path */
    const char *name; /* route name: rate-limit key, metrics, access log */
    api_app_field_t app_field;
    api_fn fn;
} api_route_t;

struct api_call {
    irtc_app_t *app;
    h2o_req_t *req;
    const api_route_t *route;
    json_value_t *body;
    af_t f;                 /* the body's fields */
    char app_id[33];        /* the app the bearer token belongs to */
    buf_t data;             /* envelope "data" as JSON text; empty = null */
    char msg[320];          /* errorMessage detail */
};

typedef struct api {
    irtc_app_t *app;
    ratelimit_t *limits;
    unsigned char token_secret[32]; /* HMAC key deriving REST tokens (settings table) */
    struct api_binding *bindings;   /* one per route: what h2o hands on_api */
} api_t;

/* ---- replies (api.c) ---- */
/* Sets c->msg from fmt and returns code. */
int api_fail(api_call_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a hook's or the store's result: IRTC_OK → API_OK, ENOTFOUND →
 * not_found, ELIMIT → API_LIMIT_REACHED, ECONFLICT → API_CONFLICT, else
 * failure; why (may be NULL) becomes the message. */
int api_result(api_call_t *c, int rc, const char *why, int not_found, int failure);
int api_http_status(int code);
/* The contract's name for a code ("PARAM_IS_INVALID", ...). */
const char *api_code_message(int code);
/* {"errorCode","errorMessage","data","timestamp"}; data NULL or empty = null. */
void api_send_envelope(h2o_req_t *req, int status, int code, const char *detail, const buf_t *data);
/* 404 with the envelope and API_NO_SUCH_API (any path the API does not have). */
void api_send_no_such_api(h2o_req_t *req);
/* The gateway's shape: {"error": error, "error_description": description}. */
void api_send_oauth_error(h2o_req_t *req, int status, const char *error, const char *description);
/* Spends one call of app_id × name; false when over the limit, after
 * setting Retry-After on req and *retry_s. */
bool api_rate_take(api_t *api, h2o_req_t *req, const char *app_id, const char *name, uint64_t *retry_s);
/* Reads a JSON object body (checks Content-Type): API_OK with *out, or
 * API_BAD_CONTENT_TYPE / API_BAD_JSON with msg set. */
int api_read_json(h2o_req_t *req, json_value_t **out, char *msg, size_t cap);

/* ---- REST tokens (api_auth.c) ---- */
int api_auth_init(api_t *api);
void api_auth_register(api_t *api);
/* Checks an access token: IRTC_OK with the app's id, else IRTC_ENOTFOUND
 * (unknown, expired, or its app is gone). */
int api_auth_verify(api_t *api, const char *token, size_t len, char app_id[33]);

/* ---- /demo/token (demo_token.c) ---- */
void demo_token_register(api_t *api);

/* ---- handlers ---- */
int api_get_media_endpoint(api_call_t *c); /* api_media.c */
int api_release_room(api_call_t *c);
int api_release_user(api_call_t *c);
int api_check_health(api_call_t *c);
int api_add_rule(api_call_t *c); /* api_rules.c */
int api_update_rule(api_call_t *c);
int api_delete_rule(api_call_t *c);
int api_query_rules(api_call_t *c);
int api_capture_video(api_call_t *c); /* api_record.c */
int api_capture_image(api_call_t *c);
int api_stop_capture(api_call_t *c);
int api_start_auto_record(api_call_t *c);
int api_stop_auto_record(api_call_t *c);
int api_query_recordings(api_call_t *c); /* ours */

#endif
