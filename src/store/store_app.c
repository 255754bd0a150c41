/*
 * store_app.c — rows of the apps and rest_tokens tables.  Runs on the thread
 * that owns the store_t.  Does not hash or verify tokens (the caller passes
 * hashes) and does not decide token lifetimes.
 */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "store/store_internal.h"

#define APP_COLS "app_id, name, tenant_id, access_key, app_token_hash, app_token_plain, created_at_ms"

void store_app_dispose(store_app_t *app)
{
    if (app == NULL)
        return;
    free(app->name);
    free(app->tenant_id);
    free(app->access_key);
    free(app->app_token_hash);
    free(app->app_token_plain);
    memset(app, 0, sizeof(*app));
}

void store_app_list_free(store_app_t *apps, size_t count)
{
    for (size_t i = 0; i < count; i++)
        store_app_dispose(&apps[i]);
    free(apps);
}

static void app_from_row(sqlite3_stmt *s, store_app_t *a)
{
    store_col_copy(s, 0, a->app_id, sizeof(a->app_id));
    a->name = store_col_strdup(s, 1);
    a->tenant_id = store_col_strdup(s, 2);
    a->access_key = store_col_strdup(s, 3);
    a->app_token_hash = store_col_strdup(s, 4);
    a->app_token_plain = store_col_strdup(s, 5);
    a->created_at_ms = sqlite3_column_int64(s, 6);
}

int store_app_insert(store_t *st, const store_app_t *app)
{
    static const char sql[] = "INSERT INTO apps (" APP_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app->app_id);
    store_bind_text(s, 2, app->name);
    store_bind_text(s, 3, app->tenant_id);
    store_bind_text(s, 4, app->access_key);
    store_bind_text(s, 5, app->app_token_hash);
    store_bind_text(s, 6, app->app_token_plain);
    store_bind_int64(s, 7, app->created_at_ms ? app->created_at_ms : store_now_ms());
    return store_run(st, s, "app insert");
}

/* Runs a one-app SELECT whose parameter 1 is already bound, and releases it. */
static int app_get_one(store_t *st, sqlite3_stmt *s, store_app_t *out)
{
    int rc = store_step_row(st, s, "app get");
    if (rc == 1)
        app_from_row(s, out);
    store_stmt_done(s);
    return rc == 1 ? IRTC_OK : rc == 0 ? IRTC_ENOTFOUND : rc;
}

int store_app_get(store_t *st, const char *app_id, store_app_t *out)
{
    static const char sql[] = "SELECT " APP_COLS " FROM apps WHERE app_id = ?1";
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    return app_get_one(st, s, out);
}

int store_app_get_by_name(store_t *st, const char *name, store_app_t *out)
{
    static const char sql[] = "SELECT " APP_COLS " FROM apps WHERE name = ?1";
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, name);
    return app_get_one(st, s, out);
}

int store_app_list(store_t *st, store_app_t **out, size_t *count)
{
    static const char sql[] = "SELECT " APP_COLS " FROM apps ORDER BY created_at_ms, app_id";
    store_app_t *apps = NULL;
    size_t n = 0;
    int rc;
    *out = NULL;
    *count = 0;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    while ((rc = store_step_row(st, s, "app list")) == 1) {
        apps = store_array_grow(apps, n, sizeof(*apps));
        app_from_row(s, &apps[n++]);
    }
    store_stmt_done(s);
    if (rc < 0) {
        store_app_list_free(apps, n);
        return rc;
    }
    *out = apps;
    *count = n;
    return IRTC_OK;
}

int store_app_delete(store_t *st, const char *app_id)
{
    /* Tokens and rules go with it through ON DELETE CASCADE, in the same
     * statement and therefore the same transaction. */
    static const char sql[] = "DELETE FROM apps WHERE app_id = ?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    return store_run_changed(st, s, "app delete");
}

int store_app_set_access_key(store_t *st, const char *app_id, const char *access_key)
{
    static const char sql[] = "UPDATE apps SET access_key = ?2 WHERE app_id = ?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    store_bind_text(s, 2, access_key);
    return store_run_changed(st, s, "app set access key");
}

/* ---- REST access tokens ---- */

#define TOKEN_COLS "app_id, token_hash, issued_at_ms, expires_at_ms"

static void token_from_row(sqlite3_stmt *s, store_rest_token_t *t)
{
    store_col_copy(s, 0, t->app_id, sizeof(t->app_id));
    store_col_copy(s, 1, t->token_hash, sizeof(t->token_hash));
    t->issued_at_ms = sqlite3_column_int64(s, 2);
    t->expires_at_ms = sqlite3_column_int64(s, 3);
}

static int token_get_one(store_t *st, sqlite3_stmt *s, store_rest_token_t *out)
{
    int rc = store_step_row(st, s, "token get");
    if (rc == 1)
        token_from_row(s, out);
    store_stmt_done(s);
    return rc == 1 ? IRTC_OK : rc == 0 ? IRTC_ENOTFOUND : rc;
}

int store_rest_token_insert(store_t *st, const store_rest_token_t *tok)
{
    static const char sql[] = "INSERT INTO rest_tokens (" TOKEN_COLS ") VALUES (?1, ?2, ?3, ?4)";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, tok->app_id);
    store_bind_text(s, 2, tok->token_hash);
    store_bind_int64(s, 3, tok->issued_at_ms);
    store_bind_int64(s, 4, tok->expires_at_ms);
    return store_run(st, s, "token insert");
}

int store_rest_token_current(store_t *st, const char *app_id, int64_t now_ms, store_rest_token_t *out)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM rest_tokens WHERE app_id = ?1 AND expires_at_ms > ?2"
                              " ORDER BY issued_at_ms DESC, expires_at_ms DESC LIMIT 1";
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    store_bind_int64(s, 2, now_ms);
    return token_get_one(st, s, out);
}

int store_rest_token_find(store_t *st, const char *token_hash, store_rest_token_t *out)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM rest_tokens WHERE token_hash = ?1";
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, token_hash);
    return token_get_one(st, s, out);
}

int store_rest_token_purge_expired(store_t *st, int64_t now_ms)
{
    static const char sql[] = "DELETE FROM rest_tokens WHERE expires_at_ms <= ?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_int64(s, 1, now_ms);
    int rc = store_run(st, s, "token purge");
    return rc == IRTC_OK ? sqlite3_changes(st->db) : rc;
}
