/*
 * api_auth.c — POST /oauth2/oauth/rest_token and the bearer-token check every
 * other REST call goes through.  Control thread.
 *
 * Tokens are derived, not random: token = hex(HMAC-SHA256(server secret,
 * appId ":" issued_at_ms)), with the 32-byte secret kept in the settings
 * table.  The store keeps only SHA-256(token), yet the same token can be
 * answered again while it is valid, after a restart too, by recomputing it
 * from the stored issue time.  Verification hashes the presented token and
 * looks the hash up: no cache, so a token deleted or expired in the database
 * stops working at once.
 *
 * Does not check the appId of request bodies (api.c does).
 */
#include "http/api_auth.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/log.h"
#include "http/server.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUTH_SECRET_KEY "rest_token_secret"
#define AUTH_CLIENT "isdp-saas-openapi"
#define AUTH_TOKEN_HEX 64
/* A token closer than this to its expiry is not handed out again: the caller
 * would get expires_in 0 and fail on its next call. */
#define AUTH_REUSE_MARGIN_MS 2000

struct api_auth {
    const api_ctx_t *ctx;
    unsigned char token_secret[32]; /* HMAC key deriving REST tokens (settings table) */
    /* The appToken hash an unknown appId is checked against, so that it costs
     * the same PBKDF2 as a known one (made once, at start). */
    char decoy_hash[CRYPTO_SECRET_HASH_LEN];
};

static int auth_load_secret(api_auth_t *auth)
{
    store_t *st = auth->ctx->env.store;
    char *hex = NULL, fresh[2 * sizeof(auth->token_secret) + 1];
    size_t n = sizeof(auth->token_secret);
    int rc = store_setting_get(st, AUTH_SECRET_KEY, &hex);
    if (rc == IRTC_ENOTFOUND) {
        crypto_random(auth->token_secret, n);
        crypto_hex(auth->token_secret, n, fresh);
        rc = store_setting_set(st, AUTH_SECRET_KEY, fresh);
        if (rc == IRTC_OK)
            log_info("api", "created the REST token secret");
        return rc;
    }
    for (size_t i = 0; rc == IRTC_OK && i < n; i++) {
        unsigned b;
        if (hex == NULL || strlen(hex) != 2 * n || sscanf(hex + 2 * i, "%2x", &b) != 1)
            rc = IRTC_EINVAL;
        else
            auth->token_secret[i] = (unsigned char)b;
    }
    if (rc != IRTC_OK)
        log_error("api", "settings.%s is unreadable or damaged", AUTH_SECRET_KEY);
    free(hex);
    return rc;
}

static void auth_derive(const api_auth_t *auth, const char *app_id, int64_t issued_at_ms,
                        char token[AUTH_TOKEN_HEX + 1])
{
    char msg[80];
    unsigned char mac[32];
    int n = snprintf(msg, sizeof(msg), "%s:%lld", app_id, (long long)issued_at_ms);
    crypto_hmac_sha256(auth->token_secret, sizeof(auth->token_secret), msg, (size_t)n, mac);
    crypto_hex(mac, sizeof(mac), token);
}

static void auth_hash(const char *token, size_t len, char hash[65])
{
    unsigned char d[32];
    crypto_sha256(token, len, d);
    crypto_hex(d, sizeof(d), hash);
}

int api_auth_verify(api_auth_t *auth, const char *token, size_t len, char app_id[33])
{
    char hash[65];
    store_rest_token_t t;
    store_app_t app;
    if (len != AUTH_TOKEN_HEX)
        return IRTC_ENOTFOUND;
    auth_hash(token, len, hash);
    int rc = store_rest_token_find(auth->ctx->env.store, hash, &t);
    if (rc != IRTC_OK || t.expires_at_ms <= (int64_t)clock_wall_ms())
        return IRTC_ENOTFOUND;
    /* Deleting an app cascades to its tokens; this also covers a race with it. */
    rc = store_app_get(auth->ctx->env.store, t.app_id, &app);
    store_app_dispose(&app);
    if (rc != IRTC_OK)
        return IRTC_ENOTFOUND;
    memcpy(app_id, t.app_id, sizeof(t.app_id));
    return IRTC_OK;
}

/* The app's valid token if it has one with time left, else a new one. */
static int auth_issue(api_auth_t *auth, const char *app_id, int64_t now, char token[AUTH_TOKEN_HEX + 1],
                      int64_t *expires_at)
{
    store_t *st = auth->ctx->env.store;
    store_rest_token_t t;
    char hash[65];
    if (store_rest_token_current(st, app_id, now + AUTH_REUSE_MARGIN_MS, &t) == IRTC_OK) {
        auth_derive(auth, app_id, t.issued_at_ms, token);
        auth_hash(token, AUTH_TOKEN_HEX, hash);
        /* A mismatch means the secret changed since: issue a new one. */
        if (strcmp(hash, t.token_hash) == 0) {
            *expires_at = t.expires_at_ms;
            return IRTC_OK;
        }
    }
    store_rest_token_purge_expired(st, now);
    memset(&t, 0, sizeof(t));
    snprintf(t.app_id, sizeof(t.app_id), "%s", app_id);
    auth_derive(auth, app_id, now, token);
    auth_hash(token, AUTH_TOKEN_HEX, t.token_hash);
    t.issued_at_ms = now;
    t.expires_at_ms = now + API_TOKEN_TTL_MS;
    int rc = store_rest_token_insert(st, &t);
    *expires_at = t.expires_at_ms;
    /* Same app, same millisecond: the same token is already stored. */
    return rc == IRTC_ECONFLICT ? IRTC_OK : rc;
}

/* plat_user's userId and tenantId are numbers in the vendor's answer (guide
 * §8.3.2: tenantId 886, 50222): a tenant id made of digits is sent as it is;
 * any other (apps created before tenant ids were numeric), like the userId,
 * as a stable 48-bit number from its text, exact in every JSON parser. */
static unsigned long long auth_number(const char *text)
{
    size_t n = strlen(text);
    if (n > 0 && n <= 15 && strspn(text, "0123456789") == n)
        return strtoull(text, NULL, 10);
    unsigned char d[32];
    unsigned long long v = 0;
    crypto_sha256(text, n, d);
    for (int i = 0; i < 6; i++)
        v = v << 8 | d[i];
    return v;
}

static void auth_write_answer(buf_t *b, const char *token, int64_t expires_in_s, const store_app_t *app)
{
    char when[96]; /* generous: the compiler cannot bound tm_year */
    struct tm tm;
    time_t t = (time_t)(app->created_at_ms / 1000);
    gmtime_r(&t, &tm);
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(app->created_at_ms % 1000));
    buf_printf(b, "{\"access_token\":\"%s\",\"token_type\":\"bearer\",\"expires_in\":%lld,\"scope\":\"all\"", token,
               (long long)expires_in_s);
    buf_printf(b, ",\"plat_user\":{\"userId\":%llu,\"userNo\":", auth_number(app->app_id));
    json_write_string(b, app->app_id);
    buf_puts(b, ",\"userName\":");
    json_write_string(b, app->name);
    buf_printf(b, ",\"userType\":\"API\",\"phone\":null,\"tenantId\":%llu",
               auth_number(app->tenant_id ? app->tenant_id : ""));
    buf_printf(b, ",\"status\":\"0\",\"deleteFlag\":0,\"pwdUpdateDate\":\"%s\"", when);
    buf_puts(b, ",\"userExtendMap\":{\"clientId\":\"" AUTH_CLIENT "\",\"userPrivacyAgreement\":{"
                "\"privacyAgreementAction\":\"0\",\"privacyPolicyAction\":\"0\",\"privacyAgreementVX\":null,"
                "\"privacyAgreementVXAction\":\"1\",\"serviceAgreement\":\"V5\",\"privacyPolicy\":\"V2\","
                "\"privacyAgreement\":\"V4\",\"serviceAgreementAction\":\"0\"},\"versionMap\":{}}"
                ",\"password\":null,\"salt\":null,\"currentLoginType\":\"password\"}}");
}

/* The body as a JSON object, from JSON or a form; NULL after answering. */
static json_value_t *auth_read_body(h2o_req_t *req)
{
    size_t len = 0;
    char err[160];
    const char *ct = http_req_header(req, "content-type", &len);
    const char *body = req->entity.base ? req->entity.base : "";
    json_value_t *v = NULL;
    if (req->entity.len > API_MAX_BODY) {
        api_send_oauth_error(req, 413, "invalid_request", "the body is over 64 KiB");
        return NULL;
    } else if (af_content_type_is(ct, len, "application/x-www-form-urlencoded")) {
        buf_t j;
        const char *why = "bad form body";
        buf_init(&j);
        if (af_form_to_json(body, req->entity.len, &j, &why) == IRTC_OK)
            v = af_parse_object(j.base, j.len, err, sizeof(err));
        else
            snprintf(err, sizeof(err), "%s", why);
        buf_dispose(&j);
    } else if (af_content_type_is(ct, len, "application/json")) {
        v = af_parse_object(body, req->entity.len, err, sizeof(err));
    } else {
        api_send_oauth_error(req, 415, "invalid_request",
                             "Content-Type must be application/json or application/x-www-form-urlencoded");
        return NULL;
    }
    if (v == NULL)
        api_send_oauth_error(req, 400, "invalid_request", err);
    return v;
}

/* Checks the OAuth fields; answers and returns false when they are wrong. */
static bool auth_check_client(h2o_req_t *req, af_t *f, af_id_t username, const char **password)
{
    const char *client_id = NULL, *client_secret = NULL, *grant_type = NULL;
    af_text(f, "client_id", AF_REQUIRED, 256, &client_id);
    af_text(f, "client_secret", AF_REQUIRED, 256, &client_secret);
    af_text(f, "grant_type", AF_REQUIRED, 64, &grant_type);
    af_id(f, "username", AF_REQUIRED, username);
    af_text(f, "password", AF_REQUIRED, 256, password);
    if (f->failed) {
        api_send_oauth_error(req, 400, "invalid_request", f->err);
        return false;
    }
    if (strcmp(client_id, AUTH_CLIENT) != 0 || strcmp(client_secret, AUTH_CLIENT) != 0) {
        api_send_oauth_error(req, 401, "invalid_client", "Bad client credentials");
        return false;
    }
    if (strcmp(grant_type, "password") != 0) {
        api_send_oauth_error(req, 400, "unsupported_grant_type", "Unsupported grant type: only \"password\"");
        return false;
    }
    return true;
}

/* Verifies username/password and answers the token; the rate limit is spent
 * before the (deliberately slow) appToken check.  An unknown appId goes
 * through the same steps as a known one with a wrong appToken (its own
 * rate-limit bucket, a PBKDF2 against a decoy hash, the same answer), so
 * neither the time nor a 429 tells which appIds exist. */
static void auth_grant(api_auth_t *auth, h2o_req_t *req, const char *username, const char *password)
{
    store_app_t app;
    uint64_t retry_s = 0;
    char token[AUTH_TOKEN_HEX + 1], msg[128];
    int64_t expires_at = 0, now = (int64_t)clock_wall_ms();
    bool known = store_app_get(auth->ctx->env.store, username, &app) == IRTC_OK;
    if (!api_rate_take(auth->ctx, req, known ? app.app_id : username, "rest_token", &retry_s)) {
        snprintf(msg, sizeof(msg), "at most %u rest_token calls per minute per app; retry after %llu s",
                 auth->ctx->env.cfg->api_calls_per_minute, (unsigned long long)retry_s);
        api_send_oauth_error(req, 429, "too_many_requests", msg);
    } else if (crypto_secret_verify(password, known ? app.app_token_hash : auth->decoy_hash) != 1 || !known) {
        api_send_oauth_error(req, 400, "invalid_grant", "Bad credentials");
    } else if (auth_issue(auth, app.app_id, now, token, &expires_at) != IRTC_OK) {
        api_send_oauth_error(req, 500, "server_error", "cannot store the token");
    } else {
        buf_t b;
        buf_init(&b);
        auth_write_answer(&b, token, (expires_at - now - 1) / 1000, &app);
        http_send_json(req, 200, &b);
        buf_dispose(&b);
    }
    store_app_dispose(&app);
}

#define AUTH_PATH "/oauth2/oauth/rest_token"

static int on_rest_token(void *ctx, h2o_req_t *req)
{
    api_auth_t *auth = ctx;
    af_t f;
    af_id_t username;
    const char *password = NULL;
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT(AUTH_PATH))) {
        api_send_no_such_api(req);
        return 0;
    }
    json_value_t *body = auth_read_body(req);
    if (body == NULL)
        return 0;
    af_init(&f, body);
    if (auth_check_client(req, &f, username, &password))
        auth_grant(auth, req, username, password);
    /* Cluster mode: the new token reaches the other nodes at once. */
    if (auth->ctx->env.hooks.cluster_flush != NULL)
        auth->ctx->env.hooks.cluster_flush(auth->ctx->env.hooks.cluster_ctx);
    json_free(body);
    return 0;
}

static void on_rest_token_bad_method(h2o_req_t *req)
{
    http_add_header(req, "allow", "POST");
    api_send_oauth_error(req, 405, "method_not_allowed", "only POST is allowed");
}

int api_auth_new(const api_ctx_t *ctx, api_auth_t **out)
{
    api_auth_t *auth = xcalloc(1, sizeof(*auth));
    auth->ctx = ctx;
    int rc = auth_load_secret(auth);
    if (rc != IRTC_OK) {
        free(auth);
        *out = NULL;
        return rc;
    }
    char decoy[33];
    crypto_random_alnum(decoy, sizeof(decoy) - 1);
    crypto_secret_hash(decoy, auth->decoy_hash);
    /* prefix=true so a longer path reaches on_rest_token and gets the envelope 404. */
    http_server_route(ctx->env.http, AUTH_PATH, true, HTTP_METHOD_POST, "rest_token", on_rest_token, auth);
    http_server_on_bad_method(ctx->env.http, AUTH_PATH, on_rest_token_bad_method);
    *out = auth;
    return IRTC_OK;
}

void api_auth_free(api_auth_t *auth)
{
    free(auth);
}
