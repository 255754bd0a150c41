/*
 * apps.c — tenant app credentials: generation, key rotation, the demo app,
 * join tokens and the JSON the command line prints.  No SQL here (store/
 * owns it); no I/O but the store and the log.
 */
#include "apps/apps.h"
#include "apps/jointoken.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "sfu/sfu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void new_access_key(char *out /* >= 45 */)
{
    unsigned char raw[32];
    crypto_random(raw, sizeof(raw));
    crypto_b64_encode(raw, sizeof(raw), out);
}

/* A number, as the guide's tenant ids are (886, 50222): 1 to 2^48 - 1, so
 * rest_token sends it exactly as a JSON number. */
static void new_tenant_id(char *out, size_t cap)
{
    unsigned char raw[6];
    unsigned long long v = 0;
    crypto_random(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++)
        v = v << 8 | raw[i];
    snprintf(out, cap, "%llu", v ? v : 1);
}

int apps_create(store_t *st, const char *name, bool keep_plain, store_app_t *out, char token_out[APPS_TOKEN_LEN + 1])
{
    char access_key[64], tenant[33], hash[CRYPTO_SECRET_HASH_LEN];
    memset(out, 0, sizeof(*out));
    crypto_random_alnum(out->app_id, 32);
    new_tenant_id(tenant, sizeof(tenant));
    crypto_random_alnum(token_out, APPS_TOKEN_LEN);
    new_access_key(access_key);
    crypto_secret_hash(token_out, hash);
    out->name = xstrdup(name);
    out->tenant_id = xstrdup(tenant);
    out->access_key = xstrdup(access_key);
    out->app_token_hash = xstrdup(hash);
    out->app_token_plain = keep_plain ? xstrdup(token_out) : NULL;
    out->created_at_ms = (int64_t)clock_wall_ms();
    int rc = store_app_insert(st, out);
    if (rc != IRTC_OK)
        store_app_dispose(out);
    return rc;
}

int apps_rotate_key(store_t *st, const char *app_id, char *out, size_t cap)
{
    char key[64];
    new_access_key(key);
    int rc = store_app_set_access_key(st, app_id, key);
    if (rc == IRTC_OK)
        snprintf(out, cap, "%s", key);
    return rc;
}

void apps_write_json(buf_t *b, const store_app_t *app, bool show_secrets, const char *app_token)
{
    char when[40];
    clock_format_contract((uint64_t)app->created_at_ms, when, sizeof(when));
    buf_puts(b, "{\"appId\":");
    json_write_string(b, app->app_id);
    buf_puts(b, ",\"name\":");
    json_write_string(b, app->name);
    buf_puts(b, ",\"tenantId\":");
    json_write_string(b, app->tenant_id);
    buf_puts(b, ",\"createdAt\":");
    json_write_string(b, when);
    if (app_token == NULL && show_secrets)
        app_token = app->app_token_plain;
    if (app_token != NULL) {
        buf_puts(b, ",\"appToken\":");
        json_write_string(b, app_token);
    }
    if (show_secrets || app_token != NULL) {
        buf_puts(b, ",\"accessKey\":");
        json_write_string(b, app->access_key);
    }
    buf_putc(b, '}');
}

/* Copies src into dst[cap]; false when it does not fit (never truncate an id). */
static bool copy_field(char *dst, size_t cap, const char *src)
{
    return (size_t)snprintf(dst, cap, "%s", src) < cap;
}

int apps_join_token(const cfg_t *cfg, const store_app_t *app, const char *channel_id, const char *user_id,
                    const char *role, int64_t now_ms, buf_t *out, const char **why)
{
    jt_payload_t p;
    memset(&p, 0, sizeof(p));
    unsigned w = sfu_worker_for_channel(app->app_id, channel_id, cfg_worker_count(cfg));
    snprintf(p.port, sizeof(p.port), "%u", cfg->media_port + w);
    p.timestamp_ms = now_ms;
    bool fits = copy_field(p.app_id, sizeof(p.app_id), app->app_id) &&
                copy_field(p.channel_id, sizeof(p.channel_id), channel_id) &&
                copy_field(p.user_id, sizeof(p.user_id), user_id) && copy_field(p.role, sizeof(p.role), role) &&
                copy_field(p.tenant_id, sizeof(p.tenant_id), app->tenant_id ? app->tenant_id : "") &&
                copy_field(p.host, sizeof(p.host), cfg->media_ips[0]);
    if (!fits) {
        *why = "channelId and userId must be 1-64 characters of [A-Za-z0-9_-], role \"0\" or \"1\"";
        return IRTC_EINVAL;
    }
    char *token = NULL;
    if (jt_make(&p, app->access_key, &token) != IRTC_OK) {
        *why = "invalid";
        jt_validate(&p, why);
        return IRTC_EINVAL;
    }
    buf_puts(out, "{\"appId\":");
    json_write_string(out, p.app_id);
    buf_puts(out, ",\"channelId\":");
    json_write_string(out, p.channel_id);
    buf_puts(out, ",\"userId\":");
    json_write_string(out, p.user_id);
    buf_printf(out, ",\"role\":%s,\"host\":", p.role);
    json_write_string(out, p.host);
    buf_printf(out, ",\"port\":%s,\"ctime\":%lld,\"signature\":", p.port, (long long)(p.timestamp_ms / 1000));
    json_write_string(out, token);
    buf_putc(out, '}');
    free(token);
    return IRTC_OK;
}

int apps_ensure_demo(store_t *st)
{
    store_app_t app;
    if (store_app_get_by_name(st, "demo", &app) == IRTC_OK) {
        store_app_dispose(&app);
        return IRTC_OK;
    }
    char token[APPS_TOKEN_LEN + 1];
    int rc = apps_create(st, "demo", true, &app, token);
    if (rc != IRTC_OK)
        return rc;
    /* The demo app exists for trying the product: its credentials are shown
     * once here and by `irtcd app list --show-secrets`. */
    log_info("apps", "created demo app: appId=%s appToken=%s accessKey=%s", app.app_id, token, app.access_key);
    store_app_dispose(&app);
    return IRTC_OK;
}
