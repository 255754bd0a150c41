/*
 * test_store.c — the store against real database files in a mkdtemp
 * directory: open/migrate/refuse, every table's functions and their error
 * paths, integrity check, backup, and two connections on one file.
 * Uses raw sqlite3 only to inspect or damage files behind the store's back.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/common.h"
#include "store/store.h"
#include "unit/tap.h"

static char g_dir[] = "/tmp/irtc-test-store-XXXXXX";

static char *tpath(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof(bufs[0]), "%s/%s", g_dir, name);
    return p;
}

/* ---- raw access to a database file, behind the store's back ---- */

static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* First column of the first row of sql as text, into out ("" if none). */
static void raw_text(const char *path, const char *sql, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static long long raw_int(const char *path, const char *sql)
{
    char t[64];
    raw_text(path, sql, t, sizeof(t));
    return t[0] ? atoll(t) : -1;
}

/* ---- fixtures ---- */

static int add_app(store_t *st, const char *id, const char *name, int64_t created)
{
    store_app_t a = {0};
    snprintf(a.app_id, sizeof(a.app_id), "%s", id);
    a.name = (char *)name;
    a.tenant_id = "tenant";
    a.access_key = "YWNjZXNzLWtleQ==";
    a.app_token_hash = "hash";
    a.created_at_ms = created;
    return store_app_insert(st, &a);
}

static int add_rule(store_t *st, const char *app_id, int type, int model, int64_t *id)
{
    store_rule_t r = {0};
    snprintf(r.app_id, sizeof(r.app_id), "%s", app_id);
    r.storage_type = "NAS";
    r.record_path = "/rec/{app_id}/{date_time}";
    r.file_name = "{channel_id}";
    r.capture_interval = 1;
    r.capture_nums = 1;
    r.recording_type = type;
    r.recording_model = model;
    r.callback_url = "https://cb.example/x";
    r.extra_data = "extra";
    int rc = store_rule_insert(st, &r);
    *id = r.rule_id;
    return rc;
}

static int add_token(store_t *st, const char *app_id, const char *hash, int64_t issued, int64_t expires)
{
    store_rest_token_t t = {0};
    snprintf(t.app_id, sizeof(t.app_id), "%s", app_id);
    snprintf(t.token_hash, sizeof(t.token_hash), "%s", hash);
    t.issued_at_ms = issued;
    t.expires_at_ms = expires;
    return store_rest_token_insert(st, &t);
}

static int add_recording(store_t *st, const char *id, const char *app, const char *chan, int64_t started)
{
    store_recording_t r = {0};
    snprintf(r.recording_id, sizeof(r.recording_id), "%s", id);
    snprintf(r.app_id, sizeof(r.app_id), "%s", app);
    r.channel_id = (char *)chan;
    r.user_id = "user1";
    r.storage_type = "NAS";
    r.path = "/rec/a.mp4.part";
    r.status = STORE_REC_RECORDING;
    r.started_at_ms = started;
    return store_recording_insert(st, &r);
}

/* ---- open / migrate / refuse ---- */

static void test_open(void)
{
    char err[256], mode[32];
    store_t *st = NULL;
    const char *path = tpath("a/b/irtc.db");
    struct stat sb;

    umask(022);
    is_int(store_open(path, &st, err, sizeof(err)), IRTC_OK, "open creates missing parent directories");
    if (!ok(st != NULL, "store returned"))
        return;
    ok(stat(tpath("a/b"), &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0750, "parent dir mode 0750");
    is_int(store_schema_version(st), STORE_SCHEMA_VERSION_LATEST, "schema at latest version");
    is_int(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION_LATEST, "user_version on disk");
    raw_text(path, "PRAGMA journal_mode", mode, sizeof(mode));
    is_str(mode, "wal", "WAL mode active");
    is_int(store_setting_set(st, "marker", "1"), IRTC_OK, "write before reopen");
    store_close(st);

    is_int(store_open(path, &st, err, sizeof(err)), IRTC_OK, "reopen");
    if (st == NULL)
        return;
    char *v = NULL;
    is_int(store_setting_get(st, "marker", &v), IRTC_OK, "reopen keeps data");
    is_str(v, "1", "value kept");
    free(v);
    is_int(store_schema_version(st), STORE_SCHEMA_VERSION_LATEST, "reopen does not re-migrate");
    store_close(st);

    st = (store_t *)1;
    is_int(store_open("", &st, err, sizeof(err)), IRTC_EIO, "empty path refused");
    ok(st == NULL, "out cleared on failure");
    is_int(store_open(tpath("a/b/irtc.db/x/y.db"), &st, err, sizeof(err)), IRTC_EIO, "parent is a file: refused");
    ok(strstr(err, "not a directory") != NULL, "reason names the problem: %s", err);
    is_int(store_open(tpath("a/b/irtc.db/x/y.db"), &st, NULL, 0), IRTC_EIO, "NULL err buffer tolerated");
}

static void test_refuse(void)
{
    char err[256];
    store_t *st = (store_t *)1;
    FILE *f = fopen(tpath("garbage.db"), "w");
    fputs("this is not an sqlite database, not even close; padding padding padding padding padding\n", f);
    fclose(f);
    is_int(store_open(tpath("garbage.db"), &st, err, sizeof(err)), IRTC_EIO, "non-database file refused");
    ok(st == NULL, "no store");
    ok(strstr(err, "not a database") != NULL, "reason from SQLite: %s", err);

    ok(raw_exec(tpath("future.db"), "PRAGMA user_version=999") == SQLITE_OK, "made a v999 file");
    is_int(store_open(tpath("future.db"), &st, err, sizeof(err)), IRTC_EIO, "newer schema refused");
    ok(strstr(err, "999") != NULL && strstr(err, "newer") != NULL, "clear error: %s", err);
    is_int(raw_int(tpath("future.db"), "PRAGMA user_version"), 999, "refused file untouched");

    /* A migration that fails must leave nothing behind: one transaction. */
    ok(raw_exec(tpath("clash.db"), "CREATE TABLE apps (x)") == SQLITE_OK, "made a clashing v0 file");
    is_int(store_open(tpath("clash.db"), &st, err, sizeof(err)), IRTC_EIO, "failing migration refused");
    ok(strstr(err, "apps") != NULL, "reason names the clash: %s", err);
    is_int(raw_int(tpath("clash.db"), "PRAGMA user_version"), 0, "version not bumped");
    is_int(raw_int(tpath("clash.db"), "SELECT count(*) FROM sqlite_schema WHERE name = 'settings'"), 0,
           "migration rolled back as a whole");
}

static void test_settings(store_t *st)
{
    char *v = (char *)1;
    is_int(store_setting_get(st, "nope", &v), IRTC_ENOTFOUND, "missing setting");
    ok(v == NULL, "out NULL when missing");
    is_int(store_setting_set(st, "k", "v1"), IRTC_OK, "set");
    is_int(store_setting_set(st, "k", "v2"), IRTC_OK, "overwrite");
    is_int(store_setting_get(st, "k", &v), IRTC_OK, "get");
    is_str(v, "v2", "latest value");
    free(v);
    is_int(store_setting_set(st, "k2", NULL), IRTC_EINVAL, "NULL value refused");
}

/* ---- apps and tokens ---- */

static void test_apps(store_t *st)
{
    store_app_t a;
    is_int(add_app(st, "app1", "first", 1000), IRTC_OK, "insert app1");
    is_int(add_app(st, "app2", "second", 500), IRTC_OK, "insert app2 (older)");
    is_int(add_app(st, "app1", "other", 0), IRTC_ECONFLICT, "duplicate id conflicts");
    is_int(add_app(st, "app3", "first", 0), IRTC_ECONFLICT, "duplicate name conflicts");
    is_int(add_app(st, "", "empty", 0), IRTC_EINVAL, "empty app_id refused");
    is_int(add_app(st, "app4", NULL, 0), IRTC_EINVAL, "NULL name refused");

    is_int(store_app_get(st, "app1", &a), IRTC_OK, "get");
    is_str(a.app_id, "app1", "app_id");
    is_str(a.name, "first", "name");
    is_str(a.tenant_id, "tenant", "tenant");
    is_str(a.access_key, "YWNjZXNzLWtleQ==", "access key");
    is_str(a.app_token_hash, "hash", "token hash");
    ok(a.app_token_plain == NULL, "plain token NULL unless demo");
    is_int(a.created_at_ms, 1000, "created_at");
    store_app_dispose(&a);

    is_int(store_app_get_by_name(st, "second", &a), IRTC_OK, "get by name");
    is_str(a.app_id, "app2", "right app");
    store_app_dispose(&a);
    is_int(store_app_get(st, "nope", &a), IRTC_ENOTFOUND, "missing id");
    ok(a.name == NULL, "out zeroed");
    is_int(store_app_get_by_name(st, "nope", &a), IRTC_ENOTFOUND, "missing name");

    store_app_t *list;
    size_t n;
    is_int(store_app_list(st, &list, &n), IRTC_OK, "list");
    is_int(n, 2, "two apps");
    if (n == 2) {
        is_str(list[0].app_id, "app2", "ordered by created_at");
        is_str(list[1].app_id, "app1", "then the newer");
    }
    store_app_list_free(list, n);

    is_int(store_app_set_access_key(st, "app1", "bmV3"), IRTC_OK, "set access key");
    store_app_get(st, "app1", &a);
    is_str(a.access_key, "bmV3", "access key changed");
    store_app_dispose(&a);
    is_int(store_app_set_access_key(st, "nope", "x"), IRTC_ENOTFOUND, "set access key: missing app");
    is_int(store_app_delete(st, "nope"), IRTC_ENOTFOUND, "delete missing app");
}

static void test_tokens(store_t *st)
{
    store_rest_token_t t;
    is_int(add_token(st, "app1", "h-old", 100, 10000), IRTC_OK, "insert token");
    is_int(add_token(st, "app1", "h-new", 200, 10000), IRTC_OK, "insert newer token");
    is_int(add_token(st, "app1", "h-dead", 300, 150), IRTC_OK, "insert newest but expired token");
    is_int(add_token(st, "app2", "h-app2", 400, 10000), IRTC_OK, "token of another app");
    is_int(add_token(st, "app1", "h-old", 500, 600), IRTC_ECONFLICT, "duplicate hash conflicts");
    is_int(add_token(st, "ghost", "h-ghost", 1, 2), IRTC_ENOTFOUND, "token for missing app");

    is_int(store_rest_token_current(st, "app1", 1000, &t), IRTC_OK, "current");
    is_str(t.token_hash, "h-new", "newest still-valid token");
    is_int(t.issued_at_ms, 200, "issued_at");
    is_int(t.expires_at_ms, 10000, "expires_at");
    is_int(store_rest_token_current(st, "app1", 10000, &t), IRTC_ENOTFOUND, "none valid at expiry");
    is_int(store_rest_token_current(st, "ghost", 0, &t), IRTC_ENOTFOUND, "none for missing app");

    is_int(store_rest_token_find(st, "h-app2", &t), IRTC_OK, "find by hash");
    is_str(t.app_id, "app2", "owner");
    is_int(store_rest_token_find(st, "h-dead", &t), IRTC_OK, "find returns expired rows too");
    is_int(store_rest_token_find(st, "nope", &t), IRTC_ENOTFOUND, "find missing");
    ok(t.token_hash[0] == '\0', "out zeroed");

    is_int(store_rest_token_purge_expired(st, 1000), 1, "purge removes one expired token");
    is_int(store_rest_token_find(st, "h-dead", &t), IRTC_ENOTFOUND, "expired token gone");
    is_int(store_rest_token_find(st, "h-new", &t), IRTC_OK, "valid token kept");
    is_int(store_rest_token_purge_expired(st, 1000), 0, "purge again: nothing");
}

/* ---- rules ---- */

static void test_rule_crud(store_t *st)
{
    char before[32], after[32];
    store_rule_t r = {0}, g;
    int64_t id = 0;

    clock_format_datetime(clock_wall_ms(), before, sizeof(before));
    is_int(add_rule(st, "app1", 0, 0, &id), IRTC_OK, "insert rule");
    clock_format_datetime(clock_wall_ms(), after, sizeof(after));
    ok(id >= 100000000000000000LL && id < INT64_MAX, "rule id has 18 digits: %lld", (long long)id);
    ok(id / 10000 >= atoll(before) && id / 10000 <= atoll(after), "rule id starts with yyyymmddHHMMSS");
    is_int(add_rule(st, "ghost", 0, 0, &id), IRTC_ENOTFOUND, "rule for missing app");
    snprintf(r.app_id, sizeof(r.app_id), "app1");
    is_int(store_rule_insert(st, &r), IRTC_EINVAL, "NULL storage_type refused");

    add_rule(st, "app1", 1, 1, &id);
    is_int(store_rule_get(st, "app1", id, &g), IRTC_OK, "get");
    is_int(g.rule_id, id, "rule_id");
    is_str(g.storage_type, "NAS", "storage_type");
    is_str(g.record_path, "/rec/{app_id}/{date_time}", "record_path");
    is_int(g.recording_type, 1, "recording_type");
    is_int(g.recording_model, 1, "recording_model");
    ok(!g.auto_record_active, "auto off by default");
    ok(g.created_at_ms > 0 && g.updated_at_ms == g.created_at_ms, "timestamps set");

    free(g.file_name);
    g.file_name = xstrdup("renamed");
    g.capture_nums = 7;
    g.updated_at_ms = g.created_at_ms + 5;
    g.auto_record_active = false; /* a stale copy: update must not write it */
    is_int(store_rule_set_auto(st, "app1", id, true), IRTC_OK, "auto on before update");
    is_int(store_rule_update(st, &g), IRTC_OK, "update");
    store_rule_t u;
    store_rule_get(st, "app1", id, &u);
    is_str(u.file_name, "renamed", "field updated");
    is_int(u.capture_nums, 7, "int field updated");
    is_int(u.updated_at_ms, g.created_at_ms + 5, "updated_at");
    is_int(u.created_at_ms, g.created_at_ms, "created_at unchanged");
    ok(u.auto_record_active, "update leaves the auto flag alone");
    store_rule_dispose(&u);

    snprintf(g.app_id, sizeof(g.app_id), "app2");
    is_int(store_rule_update(st, &g), IRTC_ENOTFOUND, "update through another app");
    is_int(store_rule_get(st, "app2", id, &u), IRTC_ENOTFOUND, "get through another app");
    is_int(store_rule_delete(st, "app2", id), IRTC_ENOTFOUND, "delete through another app");
    store_rule_dispose(&g);
    is_int(store_rule_delete(st, "app1", id), IRTC_OK, "delete");
    is_int(store_rule_get(st, "app1", id, &u), IRTC_ENOTFOUND, "gone");
    is_int(store_rule_delete(st, "app1", id), IRTC_ENOTFOUND, "delete twice");
}

static void test_rule_query(store_t *st)
{
    store_rule_t *list;
    size_t n;
    int64_t total, ids[7], other;
    store_rule_query_t q = {"app2", 0, -1, -1, 3, 1};

    for (int i = 0; i < 7; i++)
        add_rule(st, "app2", i % 2, i < 3 ? 1 : 0, &ids[i]);
    add_rule(st, "app1", 0, 0, &other);

    is_int(store_rule_query(st, &q, &list, &n, &total), IRTC_OK, "query page 1");
    is_int(total, 7, "total counts every match");
    is_int(n, 3, "page holds page_size rows");
    for (size_t i = 1; i < n; i++)
        ok(list[i - 1].rule_id < list[i].rule_id, "ordered by rule_id");
    store_rule_list_free(list, n);
    q.page_no = 3;
    is_int(store_rule_query(st, &q, &list, &n, &total), IRTC_OK, "query last page");
    is_int(n, 1, "last page has the remainder");
    store_rule_list_free(list, n);
    q.page_no = 4;
    is_int(store_rule_query(st, &q, &list, &n, &total), IRTC_OK, "query past the end");
    ok(n == 0 && list == NULL && total == 7, "empty page, total still 7");

    q = (store_rule_query_t){"app2", 0, 1, -1, 100, 1};
    store_rule_query(st, &q, &list, &n, &total);
    is_int(total, 3, "filter recording_type=1");
    for (size_t i = 0; i < n; i++)
        is_int(list[i].recording_type, 1, "only type 1");
    store_rule_list_free(list, n);
    q = (store_rule_query_t){"app2", 0, 0, 1, 100, 1};
    store_rule_query(st, &q, &list, &n, &total);
    is_int(total, 2, "filter type 0 and model 1");
    store_rule_list_free(list, n);
    q = (store_rule_query_t){"app2", ids[4], -1, -1, 10, 1};
    store_rule_query(st, &q, &list, &n, &total);
    ok(total == 1 && n == 1 && list[0].rule_id == ids[4], "filter by rule_id");
    store_rule_list_free(list, n);
    q = (store_rule_query_t){"app2", other, -1, -1, 10, 1};
    store_rule_query(st, &q, &list, &n, &total);
    ok(total == 0 && n == 0, "another app's rule is invisible");
    store_rule_list_free(list, n);

    q = (store_rule_query_t){"app2", 0, -1, -1, 0, 1};
    is_int(store_rule_query(st, &q, &list, &n, &total), IRTC_EINVAL, "page_size 0 refused");
    q.page_size = STORE_PAGE_SIZE_MAX + 1;
    is_int(store_rule_query(st, &q, &list, &n, &total), IRTC_EINVAL, "page_size too large refused");
    q.page_size = 10;
    q.page_no = 0;
    is_int(store_rule_query(st, &q, &list, &n, &total), IRTC_EINVAL, "page_no 0 refused");
    q = (store_rule_query_t){NULL, 0, -1, -1, 10, 1};
    is_int(store_rule_query(st, &q, &list, &n, &total), IRTC_EINVAL, "NULL app refused");
}

static void test_rule_auto(store_t *st)
{
    store_rule_t *list, g;
    size_t n;
    int64_t a1, a2, b1;
    add_rule(st, "app1", 0, 0, &a1);
    add_rule(st, "app1", 0, 0, &a2);
    add_rule(st, "app2", 0, 0, &b1);

    is_int(store_rule_list_auto(st, NULL, &list, &n), IRTC_OK, "list auto (none yet)");
    is_int(n, 0, "no active rules");
    is_int(store_rule_set_auto(st, "app1", a1, true), IRTC_OK, "start auto a1");
    is_int(store_rule_set_auto(st, "app1", a2, true), IRTC_OK, "start auto a2");
    is_int(store_rule_set_auto(st, "app2", b1, true), IRTC_OK, "start auto b1");
    is_int(store_rule_set_auto(st, "app2", a1, true), IRTC_ENOTFOUND, "another app's rule");
    is_int(store_rule_set_auto(st, "app1", 42, true), IRTC_ENOTFOUND, "missing rule");
    store_rule_get(st, "app1", a1, &g);
    ok(g.auto_record_active, "flag visible through get");
    store_rule_dispose(&g);

    store_rule_list_auto(st, "app1", &list, &n);
    ok(n == 2 && list[0].auto_record_active && list[1].auto_record_active, "two active in app1");
    store_rule_list_free(list, n);
    store_rule_list_auto(st, NULL, &list, &n);
    is_int(n, 3, "three active across apps");
    store_rule_list_free(list, n);
    is_int(store_rule_set_auto(st, "app1", a1, false), IRTC_OK, "stop auto a1");
    store_rule_list_auto(st, "app1", &list, &n);
    ok(n == 1 && list[0].rule_id == a2, "only a2 left");
    store_rule_list_free(list, n);
}

static void test_app_cascade(store_t *st, const char *path)
{
    store_rest_token_t t;
    store_rule_t *list;
    size_t n;
    int64_t total;
    store_rule_query_t q = {"app1", 0, -1, -1, 100, 1};

    store_rule_query(st, &q, &list, &n, &total);
    store_rule_list_free(list, n);
    ok(total > 0, "app1 has rules before delete");
    is_int(store_app_delete(st, "app1"), IRTC_OK, "delete app1");
    is_int(store_rest_token_find(st, "h-new", &t), IRTC_ENOTFOUND, "its tokens are gone");
    store_rule_query(st, &q, &list, &n, &total);
    is_int(total, 0, "its rules are gone");
    is_int(raw_int(path, "SELECT count(*) FROM rules WHERE app_id = 'app1'"), 0, "no orphan rule rows");
    is_int(store_rest_token_find(st, "h-app2", &t), IRTC_OK, "other app's token kept");
    store_rule_list_auto(st, NULL, &list, &n);
    is_int(n, 1, "other app's active rule kept");
    store_rule_list_free(list, n);
}

/* ---- recordings ---- */

static void test_recordings(store_t *st)
{
    store_recording_t r, *list;
    size_t n;
    int64_t total;

    is_int(add_recording(st, "100", "app2", "chanA", 1000), IRTC_OK, "insert recording");
    is_int(add_recording(st, "101", "app2", "chanA", 3000), IRTC_OK, "insert newer");
    is_int(add_recording(st, "102", "app2", "chanB", 2000), IRTC_OK, "other channel");
    is_int(add_recording(st, "103", "app9", "chanA", 4000), IRTC_OK, "other app (no FK: rows outlive apps)");
    is_int(add_recording(st, "100", "app2", "chanA", 1), IRTC_ECONFLICT, "duplicate id conflicts");
    is_int(add_recording(st, "", "app2", "chanA", 1), IRTC_EINVAL, "empty id refused");
    is_int(add_recording(st, "104", "app2", NULL, 1), IRTC_EINVAL, "NULL channel refused");

    is_int(store_recording_get(st, "100", &r), IRTC_OK, "get");
    is_str(r.channel_id, "chanA", "channel");
    is_str(r.user_id, "user1", "user");
    is_int(r.status, STORE_REC_RECORDING, "recording");
    is_int(r.ended_at_ms, 0, "not ended");
    r.status = STORE_REC_COMPLETE;
    free(r.path);
    r.path = xstrdup("/rec/a.mp4");
    r.bytes = 12345;
    r.duration_ms = 6000;
    r.dropped_packets = 3;
    r.ended_at_ms = 7000;
    is_int(store_recording_update(st, &r), IRTC_OK, "update");
    store_recording_dispose(&r);
    store_recording_get(st, "100", &r);
    ok(r.status == STORE_REC_COMPLETE && r.bytes == 12345 && r.duration_ms == 6000 && r.dropped_packets == 3 &&
           r.ended_at_ms == 7000,
       "progress fields updated");
    is_str(r.path, "/rec/a.mp4", "final path");
    snprintf(r.recording_id, sizeof(r.recording_id), "999");
    is_int(store_recording_update(st, &r), IRTC_ENOTFOUND, "update missing");
    store_recording_dispose(&r);
    is_int(store_recording_get(st, "999", &r), IRTC_ENOTFOUND, "get missing");

    is_int(store_recording_list(st, "app2", NULL, 2, 1, &list, &n, &total), IRTC_OK, "list app");
    is_int(total, 3, "total of app2");
    ok(n == 2 && strcmp(list[0].recording_id, "101") == 0 && strcmp(list[1].recording_id, "102") == 0, "newest first");
    store_recording_list_free(list, n);
    store_recording_list(st, "app2", NULL, 2, 2, &list, &n, &total);
    ok(n == 1 && strcmp(list[0].recording_id, "100") == 0, "page 2");
    store_recording_list_free(list, n);
    store_recording_list(st, "app2", "chanA", 10, 1, &list, &n, &total);
    ok(total == 2 && n == 2 && strcmp(list[0].recording_id, "101") == 0, "channel filter");
    store_recording_list_free(list, n);
    is_int(store_recording_list(st, "app2", NULL, 0, 1, &list, &n, &total), IRTC_EINVAL, "bad page_size");
    is_int(store_recording_list(st, "app2", NULL, 10, 0, &list, &n, &total), IRTC_EINVAL, "bad page_no");
    is_int(store_recording_list(st, NULL, NULL, 10, 1, &list, &n, &total), IRTC_EINVAL, "NULL app");

    is_int(store_recording_fail_unfinished(st, "daemon restarted"), 3, "three unfinished marked failed");
    store_recording_get(st, "101", &r);
    ok(r.status == STORE_REC_FAILED && r.ended_at_ms > 0, "failed with an end time");
    is_str(r.failure_reason, "daemon restarted", "reason");
    store_recording_dispose(&r);
    store_recording_get(st, "100", &r);
    ok(r.status == STORE_REC_COMPLETE && r.failure_reason == NULL, "complete one untouched");
    store_recording_dispose(&r);
    is_int(store_recording_fail_unfinished(st, "again"), 0, "nothing left unfinished");
}

/* ---- outbox ---- */

static int64_t add_outbox(store_t *st, int64_t next)
{
    store_outbox_t o = {0};
    snprintf(o.app_id, sizeof(o.app_id), "app2");
    o.url = "https://cb.example/hook";
    o.body = "{\"a\":1}";
    o.signature = "sig";
    o.next_attempt_ms = next;
    return store_outbox_insert(st, &o) == IRTC_OK ? o.id : -1;
}

static void test_outbox(store_t *st)
{
    store_outbox_t *due;
    size_t n;
    int64_t late = add_outbox(st, 500), early = add_outbox(st, 100), future = add_outbox(st, 5000);
    store_outbox_t bad = {0};

    ok(late > 0 && early > late && future > early, "ids assigned in order");
    is_int(store_outbox_insert(st, &bad), IRTC_EINVAL, "row without url/body refused");
    is_int(store_outbox_due(st, 1000, 10, &due, &n), IRTC_OK, "due at 1000");
    ok(n == 2 && due[0].id == early && due[1].id == late, "due rows, earliest first");
    if (n == 2) {
        is_str(due[0].body, "{\"a\":1}", "body");
        is_str(due[0].signature, "sig", "signature");
        ok(due[0].created_at_ms > 0 && due[0].delivered_at_ms == 0, "created, undelivered");
    }
    store_outbox_list_free(due, n);
    store_outbox_due(st, 1000, 1, &due, &n);
    ok(n == 1 && due[0].id == early, "limit honoured");
    store_outbox_list_free(due, n);

    is_int(store_outbox_mark_delivered(st, early, 1100), IRTC_OK, "mark delivered");
    is_int(store_outbox_mark_failed(st, late, 1, 2000, "HTTP 503"), IRTC_OK, "mark failed");
    store_outbox_due(st, 1500, 10, &due, &n);
    is_int(n, 0, "delivered and backed-off rows not due");
    store_outbox_list_free(due, n);
    store_outbox_due(st, INT64_MAX, 10, &due, &n);
    ok(n == 2 && due[0].id == late && due[1].id == future, "delivered row never due again");
    if (n == 2) {
        is_int(due[0].attempts, 1, "attempts recorded");
        is_str(due[0].last_error, "HTTP 503", "last error recorded");
    }
    store_outbox_list_free(due, n);

    is_int(store_outbox_mark_failed(st, early, 2, 0, "late report"), IRTC_ENOTFOUND, "failed after delivered");
    is_int(store_outbox_mark_delivered(st, 9999, 1), IRTC_ENOTFOUND, "deliver missing row");
    is_int(store_outbox_mark_failed(st, 9999, 1, 1, "x"), IRTC_ENOTFOUND, "fail missing row");
    is_int(store_outbox_mark_delivered(st, late, 0), IRTC_EINVAL, "delivered at 0 refused");

    is_int(store_outbox_purge_delivered(st, 1100), 0, "purge before delivery time: nothing");
    is_int(store_outbox_purge_delivered(st, 1101), 1, "purge the delivered row");
    int64_t next = add_outbox(st, 0);
    ok(next > future, "ids never reused");
    store_outbox_due(st, 0, 10, &due, &n);
    ok(n == 1 && due[0].id == next, "next_attempt 0 is due at once");
    store_outbox_list_free(due, n);

    /* Pending = undelivered and not given up (INT64_MAX). */
    int64_t count = -1, first = -1;
    is_int(store_outbox_pending(st, &count, &first), IRTC_OK, "pending");
    ok(count == 3 && first == 0, "pending: late, future, next; earliest due 0");
    store_outbox_mark_failed(st, next, 1, INT64_MAX, "given up");
    store_outbox_pending(st, &count, &first);
    ok(count == 2 && first == 2000, "a given-up row is not pending");
    is_int(store_outbox_recent(st, 2, &due, &n), IRTC_OK, "recent");
    ok(n == 2 && due[0].id == next && due[1].id == future, "recent: newest first, limit honoured");
    store_outbox_list_free(due, n);
}

/* ---- maintenance ---- */

static void test_check_backup(store_t *st)
{
    char report[256], err[256];
    const char *bak = tpath("bak/copy.db");
    store_t *b = NULL;
    store_app_t a;

    is_int(store_check(st, report, sizeof(report)), IRTC_OK, "integrity check passes");
    is_str(report, "ok", "report says ok");
    is_int(store_backup(st, bak), IRTC_OK, "backup into a new directory");
    ok(access(tpath("bak/copy.db.part"), F_OK) != 0, "no temporary file left");
    is_int(store_backup(st, bak), IRTC_ECONFLICT, "backup refuses to overwrite");
    is_int(store_open(bak, &b, err, sizeof(err)), IRTC_OK, "backup opens as a store");
    if (b == NULL)
        return;
    is_int(store_app_get(b, "app2", &a), IRTC_OK, "backup holds the data");
    store_app_dispose(&a);
    is_int(store_check(b, report, sizeof(report)), IRTC_OK, "backup passes the check");
    store_close(b);
    is_int(store_backup(st, tpath("bak/copy.db/nested.db")), IRTC_EIO, "backup under a file fails");

    /* Make an index disagree with its table: integrity_check must notice. */
    ok(raw_exec(bak, "PRAGMA writable_schema=ON;"
                     "UPDATE sqlite_schema SET sql = 'CREATE INDEX rules_by_app ON rules(storage_type, rule_id)'"
                     " WHERE name = 'rules_by_app';") == SQLITE_OK,
       "damaged the backup");
    is_int(store_open(bak, &b, err, sizeof(err)), IRTC_OK, "damaged file still opens");
    if (b == NULL)
        return;
    is_int(store_check(b, report, sizeof(report)), IRTC_EIO, "check reports damage");
    ok(strcmp(report, "ok") != 0 && strstr(report, "rules_by_app") != NULL, "report names the problem: %.*s",
       (int)strcspn(report, "\n"), report);
    store_close(b);

    /* A broken schema surfaces as IRTC_EIO, not a crash or a false "empty". */
    ok(raw_exec(bak, "DROP TABLE outbox") == SQLITE_OK, "dropped a table");
    is_int(store_open(bak, &b, err, sizeof(err)), IRTC_OK, "opens (version unchanged)");
    if (b == NULL)
        return;
    store_outbox_t *due = (store_outbox_t *)1;
    size_t n = 1;
    is_int(store_outbox_due(b, 0, 10, &due, &n), IRTC_EIO, "missing table is an i/o error");
    ok(due == NULL && n == 0, "outputs cleared");
    store_close(b);
}

static void test_two_connections(const char *path)
{
    char err[256];
    store_t *a = NULL, *b = NULL;
    store_app_t app;
    store_rule_t r;
    int64_t id;

    is_int(store_open(path, &a, err, sizeof(err)), IRTC_OK, "connection A");
    is_int(store_open(path, &b, err, sizeof(err)), IRTC_OK, "connection B");
    if (a == NULL || b == NULL) {
        store_close(a);
        store_close(b);
        return;
    }
    is_int(store_app_get(b, "app5", &app), IRTC_ENOTFOUND, "B: app5 not there yet");
    is_int(add_app(a, "app5", "fifth", 0), IRTC_OK, "A writes app5");
    is_int(store_app_get(b, "app5", &app), IRTC_OK, "B sees A's write");
    store_app_dispose(&app);
    is_int(add_rule(b, "app5", 0, 0, &id), IRTC_OK, "B writes a rule");
    is_int(store_rule_get(a, "app5", id, &r), IRTC_OK, "A sees B's write");
    store_rule_dispose(&r);
    is_int(add_app(b, "app6", "fifth", 0), IRTC_ECONFLICT, "constraint holds across connections");
    is_int(store_app_delete(a, "app5"), IRTC_OK, "A deletes");
    is_int(store_rule_get(b, "app5", id, &r), IRTC_ENOTFOUND, "B sees the cascade");
    store_close(a);
    store_close(b);
}

/* Cluster mode: changes made on one node's database replayed on another's,
 * and recordings scoped to the node that runs them. */
static void test_changesets(void)
{
    char err[256];
    store_t *a = NULL, *b = NULL;
    void *cs = NULL;
    size_t len = 0;
    store_app_t app;

    if (store_open(tpath("node-a.db"), &a, err, sizeof(err)) != IRTC_OK ||
        store_open(tpath("node-b.db"), &b, err, sizeof(err)) != IRTC_OK) {
        ok(0, "open two nodes' databases: %s", err);
        store_close(a);
        return;
    }
    is_int(store_changes_take(a, &cs, &len), IRTC_OK, "take before start: nothing");
    ok(cs == NULL && len == 0, "no changeset before start");
    is_int(store_changes_start(a), IRTC_OK, "start recording changes");
    is_int(store_changes_take(a, &cs, &len), IRTC_OK, "take with no change");
    ok(cs == NULL && len == 0, "an empty record gives no changeset");
    store_set_node(a, "node-a");
    is_int(add_app(a, "appc", "clustered", 1), IRTC_OK, "app on A");
    is_int(add_recording(a, "900", "appc", "c1", 10), IRTC_OK, "recording on A");
    is_int(store_setting_set(a, "cluster.log_id", "5-0"), IRTC_OK, "a per-node setting on A");
    is_int(store_changes_take(a, &cs, &len), IRTC_OK, "take");
    ok(cs != NULL && len > 0, "a changeset (%zu bytes)", len);
    is_int(store_changes_apply(b, cs, len), IRTC_OK, "applied on B");
    is_int(store_app_get(b, "appc", &app), IRTC_OK, "B has A's app");
    is_str(app.name, "clustered", "with its name");
    store_app_dispose(&app);
    char *v = NULL;
    ok(store_setting_get(b, "cluster.log_id", &v) != IRTC_OK || v == NULL, "settings stay per node");
    free(v);
    is_int(store_changes_apply(b, cs, len), IRTC_OK, "applying twice converges");
    free(cs);

    /* A later change replaces the row on B; a change to a row B lacks is skipped. */
    is_int(store_app_set_access_key(a, "appc", "bmV3LWtleQ=="), IRTC_OK, "key rotated on A");
    is_int(store_changes_take(a, &cs, &len), IRTC_OK, "take the update");
    is_int(store_changes_apply(b, cs, len), IRTC_OK, "update applied on B");
    is_int(store_app_get(b, "appc", &app), IRTC_OK, "B still has the app");
    is_str(app.access_key, "bmV3LWtleQ==", "with A's new key");
    store_app_dispose(&app);
    free(cs);
    is_int(store_changes_apply(b, "garbage", 7), IRTC_EINVAL, "not a changeset: refused");

    /* Recordings: A's row failed only by A; listed as A's on B. */
    store_recording_t *list = NULL;
    size_t n = 0;
    store_set_node(b, "node-b");
    is_int(store_recording_fail_unfinished(b, "restart of B"), 0, "B's restart fails none of A's recordings");
    is_int(store_recording_list_unfinished(b, "node-a", &list, &n), IRTC_OK, "B lists A's unfinished recordings");
    ok(n == 1 && strcmp(list[0].recording_id, "900") == 0, "recording 900 of node-a (%zu)", n);
    store_recording_list_free(list, n);
    is_int(store_recording_fail_unfinished(a, "restart of A"), 1, "A's restart fails its own");
    store_changes_stop(a);
    store_close(a);
    store_close(b);
}

int main(void)
{
    char err[256];
    store_t *st = NULL;

    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_open();
    test_refuse();

    const char *path = tpath("main.db");
    if (store_open(path, &st, err, sizeof(err)) != IRTC_OK) {
        ok(0, "open main.db: %s", err);
        return done_testing();
    }
    test_settings(st);
    test_apps(st);
    test_tokens(st);
    test_rule_crud(st);
    test_rule_query(st);
    test_rule_auto(st);
    test_app_cascade(st, path);
    test_recordings(st);
    test_outbox(st);
    test_check_backup(st);
    store_close(st);
    test_two_connections(path);
    test_changesets();

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", g_dir);
    return done_testing();
}
