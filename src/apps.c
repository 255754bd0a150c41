/*
 * apps.c — app credentials: generation, key rotation and the JSON the command
 * line prints.  No SQL here (store/ owns it); no I/O but the store.
 */
#include "apps.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

static void new_access_key(char *out /* >= 45 */)
{
    unsigned char raw[32];
    crypto_random(raw, sizeof(raw));
    crypto_b64_encode(raw, sizeof(raw), out);
}

int apps_create(store_t *st, const char *name, bool keep_plain, store_app_t *out, char token_out[APPS_TOKEN_LEN + 1])
{
    char access_key[64], tenant[33], hash[CRYPTO_SECRET_HASH_LEN];
    memset(out, 0, sizeof(*out));
    crypto_random_alnum(out->app_id, 32);
    crypto_random_alnum(tenant, 32);
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
