/*
 * store.c — the SQLite connection: open (directory, pragmas), the schema and
 * its forward-only migrations, integrity check, online backup, key/value
 * settings, and the statement/error helpers the other store_*.c files share
 * (declared in store_internal.h), and cluster mode's changesets of the
 * shared tables (the session extension, which Debian 12's libsqlite3 is
 * built with).  Runs on the thread that owns the store_t.
 * Does not know about apps, rules or recordings beyond the schema text and
 * the list of shared tables; does not talk to Redis (src/cluster/ does).
 */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "store/store_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"

/* ---- schema ---- */

/* Forward-only: entry i upgrades user_version i to i + 1.  Never edit an entry
 * that has shipped; append a new one and bump STORE_SCHEMA_VERSION_LATEST. */
static const char *const migrations[] = {
    /* 0 → 1: initial schema */
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"

    "CREATE TABLE apps ("
    "  app_id TEXT PRIMARY KEY NOT NULL CHECK (length(app_id) BETWEEN 1 AND 32),"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) >= 1),"
    "  tenant_id TEXT,"
    "  access_key TEXT NOT NULL,"
    "  app_token_hash TEXT NOT NULL,"
    "  app_token_plain TEXT,"
    "  created_at_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX apps_by_created ON apps(created_at_ms);"

    "CREATE TABLE rest_tokens ("
    "  token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) BETWEEN 1 AND 64),"
    "  app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,"
    "  issued_at_ms INTEGER NOT NULL,"
    "  expires_at_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX rest_tokens_by_app ON rest_tokens(app_id, issued_at_ms);"
    "CREATE INDEX rest_tokens_by_expiry ON rest_tokens(expires_at_ms);"

    "CREATE TABLE rules ("
    "  rule_id INTEGER PRIMARY KEY,"
    "  app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,"
    "  storage_type TEXT NOT NULL,"
    "  record_path TEXT,"
    "  file_name TEXT,"
    "  capture_interval INTEGER NOT NULL,"
    "  capture_nums INTEGER NOT NULL,"
    "  recording_type INTEGER NOT NULL,"
    "  callback_url TEXT,"
    "  extra_data TEXT,"
    "  recording_model INTEGER NOT NULL,"
    "  mixing_enabled INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  auto_record_active INTEGER NOT NULL DEFAULT 0 CHECK (auto_record_active IN (0, 1)),"
    "  created_at_ms INTEGER NOT NULL,"
    "  updated_at_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX rules_by_app ON rules(app_id, rule_id);"
    "CREATE INDEX rules_auto ON rules(app_id) WHERE auto_record_active = 1;"

    /* No foreign key to apps: a recording's row (and its callback) outlives
     * the app, as its files do. */
    "CREATE TABLE recordings ("
    "  recording_id TEXT PRIMARY KEY NOT NULL CHECK (length(recording_id) BETWEEN 1 AND 31),"
    "  app_id TEXT NOT NULL CHECK (length(app_id) BETWEEN 1 AND 32),"
    "  channel_id TEXT NOT NULL,"
    "  user_id TEXT,"
    "  kind INTEGER NOT NULL,"
    "  mode INTEGER NOT NULL,"
    "  rule_id INTEGER NOT NULL DEFAULT 0,"
    "  storage_type TEXT,"
    "  path TEXT,"
    "  callback_url TEXT,"
    "  extra_data TEXT,"
    "  status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),"
    "  failure_reason TEXT,"
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  duration_ms INTEGER NOT NULL DEFAULT 0,"
    "  dropped_packets INTEGER NOT NULL DEFAULT 0,"
    "  started_at_ms INTEGER NOT NULL,"
    "  ended_at_ms INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX recordings_by_app ON recordings(app_id, started_at_ms);"
    "CREATE INDEX recordings_by_channel ON recordings(app_id, channel_id, started_at_ms);"

    /* AUTOINCREMENT so an id the sender still holds is never reused. */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  app_id TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  signature TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_ms INTEGER NOT NULL,"
    "  created_at_ms INTEGER NOT NULL,"
    "  delivered_at_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT"
    ");"
    "CREATE INDEX outbox_due ON outbox(next_attempt_ms) WHERE delivered_at_ms = 0;",

    /* 1 → 2: cluster mode — the node that runs a recording, so a node that
     * restarts fails only its own unfinished rows and a dead node's rows can
     * be found ('' = this node alone, as before). */
    "ALTER TABLE recordings ADD COLUMN node_id TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX recordings_unfinished ON recordings(node_id) WHERE status = 0;",
};

_Static_assert(IRTC_ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION_LATEST, "one migration per schema version");

/* ---- helpers shared by the store files (store_internal.h) ---- */

sqlite3_stmt *store_stmt(store_t *st, const char *sql)
{
    for (size_t i = 0; i < st->nstmts; i++) {
        if (st->stmts[i].sql == sql)
            return st->stmts[i].stmt;
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        log_error(STORE_LOG, "prepare failed: %s (%.60s...)", sqlite3_errmsg(st->db), sql);
        return NULL;
    }
    if (st->nstmts == st->capstmts) {
        st->capstmts = st->capstmts ? st->capstmts * 2 : 32;
        st->stmts = xrealloc(st->stmts, st->capstmts * sizeof(*st->stmts));
    }
    st->stmts[st->nstmts++] = (store_cached_stmt_t){sql, s};
    return s;
}

void store_stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int store_error(store_t *st, int rc, const char *what)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return IRTC_ECONFLICT;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return IRTC_ENOTFOUND;
    default:
        break;
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        /* NOT NULL / CHECK: a caller passed a value the schema forbids. */
        log_warn(STORE_LOG, "%s: %s", what, sqlite3_errmsg(st->db));
        return IRTC_EINVAL;
    }
    log_error(STORE_LOG, "%s: %s (sqlite %d)", what, sqlite3_errmsg(st->db), rc);
    return IRTC_EIO;
}

int store_step_row(store_t *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_error(st, rc, what);
}

int store_run(store_t *st, sqlite3_stmt *s, const char *what)
{
    if (s == NULL)
        return IRTC_EIO;
    int rc;
    while ((rc = store_step_row(st, s, what)) == 1)
        ;
    store_stmt_done(s);
    return rc;
}

int store_run_changed(store_t *st, sqlite3_stmt *s, const char *what)
{
    int rc = store_run(st, s, what);
    if (rc == IRTC_OK && sqlite3_changes(st->db) == 0)
        return IRTC_ENOTFOUND;
    return rc;
}

int store_run_int64(store_t *st, sqlite3_stmt *s, const char *what, int64_t *out)
{
    if (s == NULL)
        return IRTC_EIO;
    int rc = store_step_row(st, s, what);
    if (rc == 1) {
        *out = sqlite3_column_int64(s, 0);
        rc = IRTC_OK;
    } else if (rc == 0) {
        rc = IRTC_ENOTFOUND;
    }
    store_stmt_done(s);
    return rc;
}

int store_begin(store_t *st, bool write)
{
    static const char begin_read[] = "BEGIN";
    static const char begin_write[] = "BEGIN IMMEDIATE";
    return store_run(st, store_stmt(st, write ? begin_write : begin_read), "begin");
}

int store_commit(store_t *st)
{
    static const char commit[] = "COMMIT";
    int rc = store_run(st, store_stmt(st, commit), "commit");
    if (rc != IRTC_OK)
        store_rollback(st);
    return rc;
}

void store_rollback(store_t *st)
{
    static const char rollback[] = "ROLLBACK";
    /* SQLite may already have rolled back (e.g. after SQLITE_FULL). */
    if (!sqlite3_get_autocommit(st->db))
        store_run(st, store_stmt(st, rollback), "rollback");
}

void store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
    int rc = text ? sqlite3_bind_text(s, idx, text, -1, SQLITE_STATIC) : sqlite3_bind_null(s, idx);
    /* Only a wrong index or an over-long string fail here; the step that
     * follows then hits a constraint, so logging is enough. */
    if (rc != SQLITE_OK)
        log_error(STORE_LOG, "bind %d: %s", idx, sqlite3_errstr(rc));
}

void store_bind_int64(sqlite3_stmt *s, int idx, int64_t v)
{
    int rc = sqlite3_bind_int64(s, idx, v);
    if (rc != SQLITE_OK)
        log_error(STORE_LOG, "bind %d: %s", idx, sqlite3_errstr(rc));
}

char *store_col_strdup(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? xstrndup((const char *)t, (size_t)sqlite3_column_bytes(s, col)) : NULL;
}

void store_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int store_page_offset(int page_size, int page_no, int64_t *offset)
{
    if (page_size < 1 || page_size > STORE_PAGE_SIZE_MAX || page_no < 1)
        return IRTC_EINVAL;
    *offset = (int64_t)(page_no - 1) * page_size;
    return IRTC_OK;
}

void *store_array_grow(void *arr, size_t count, size_t elem_size)
{
    if (count == 0 || (count & (count - 1)) == 0)
        arr = xrealloc(arr, (count ? count * 2 : 1) * elem_size);
    memset((char *)arr + count * elem_size, 0, elem_size);
    return arr;
}

int64_t store_now_ms(void)
{
    return (int64_t)clock_wall_ms();
}

/* ---- open, pragmas, migrations ---- */

static void set_err(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
    if (err == NULL || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

/* mkdir -p of the directory holding file_path (mode 0750: the database holds
 * secrets). */
static int make_parent_dirs(const char *file_path, char *err, size_t errcap)
{
    char *dir = xstrdup(file_path);
    char *slash = strrchr(dir, '/');
    int rc = IRTC_OK;
    if (slash == NULL || slash == dir)
        goto done;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        struct stat sb;
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
            set_err(err, errcap, "cannot create directory %s: %s", dir, strerror(errno));
            rc = IRTC_EIO;
        } else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            set_err(err, errcap, "%s exists and is not a directory", dir);
            rc = IRTC_EIO;
        }
        *p = saved;
        if (rc != IRTC_OK || saved == '\0')
            break;
    }
done:
    free(dir);
    return rc;
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errcap)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return IRTC_OK;
    set_err(err, errcap, "%s: %s", sql[0] == 'P' ? sql : "schema", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return IRTC_EIO;
}

static int query_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? IRTC_OK : IRTC_EIO;
}

static int apply_pragmas(sqlite3 *db, char *err, size_t errcap)
{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    bool wal = mode != NULL && strcmp(mode, "wal") == 0;
    if (!wal)
        set_err(err, errcap, "cannot enable WAL: %s", mode ? mode : sqlite3_errmsg(db));
    sqlite3_finalize(s);
    if (!wal)
        return IRTC_EIO;
    if (exec_sql(db, "PRAGMA synchronous=NORMAL", err, errcap) != IRTC_OK ||
        exec_sql(db, "PRAGMA foreign_keys=ON", err, errcap) != IRTC_OK)
        return IRTC_EIO;
    return IRTC_OK;
}

/* Applies one pending migration under the write lock, re-reading the version
 * there so two processes opening a fresh file do not both migrate.  Sets
 * *version to the version found (before this step). */
static int migrate_step(sqlite3 *db, int *version, char *err, size_t errcap)
{
    if (exec_sql(db, "BEGIN IMMEDIATE", err, errcap) != IRTC_OK)
        return IRTC_EIO;
    int rc = IRTC_OK;
    if (query_int(db, "PRAGMA user_version", version) != IRTC_OK) {
        set_err(err, errcap, "cannot read schema version: %s", sqlite3_errmsg(db));
        rc = IRTC_EIO;
    } else if (*version > STORE_SCHEMA_VERSION_LATEST) {
        set_err(err, errcap, "database schema version %d is newer than this build supports (%d); upgrade irtcd",
                *version, STORE_SCHEMA_VERSION_LATEST);
        rc = IRTC_EIO;
    } else if (*version < STORE_SCHEMA_VERSION_LATEST) {
        /* PRAGMA takes no bound parameters; the number is ours, not input. */
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version=%d", *version + 1);
        rc = exec_sql(db, migrations[*version], err, errcap);
        if (rc == IRTC_OK)
            rc = exec_sql(db, bump, err, errcap);
    }
    if (rc == IRTC_OK)
        return exec_sql(db, "COMMIT", err, errcap);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int migrate(sqlite3 *db, char *err, size_t errcap)
{
    for (;;) {
        int found = 0;
        if (migrate_step(db, &found, err, errcap) != IRTC_OK)
            return IRTC_EIO;
        if (found == STORE_SCHEMA_VERSION_LATEST)
            return IRTC_OK;
        log_info(STORE_LOG, "schema migrated from version %d to %d", found, found + 1);
    }
}

int store_open(const char *path, store_t **out, char *err, size_t errcap)
{
    char why[512] = "";
    sqlite3 *db = NULL;
    *out = NULL;
    if (path == NULL || path[0] == '\0') {
        set_err(why, sizeof(why), "empty database path");
        goto fail;
    }
    if (make_parent_dirs(path, why, sizeof(why)) != IRTC_OK)
        goto fail;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        set_err(why, sizeof(why), "cannot open: %s", db ? sqlite3_errmsg(db) : "out of memory");
        goto fail;
    }
    if (apply_pragmas(db, why, sizeof(why)) != IRTC_OK || migrate(db, why, sizeof(why)) != IRTC_OK)
        goto fail;
    store_t *st = xcalloc(1, sizeof(*st));
    st->db = db;
    *out = st;
    set_err(err, errcap, "ok");
    return IRTC_OK;
fail:
    log_error(STORE_LOG, "open %s: %s", path ? path : "(null)", why);
    set_err(err, errcap, "%s: %s", path ? path : "(null)", why);
    sqlite3_close(db);
    return IRTC_EIO;
}

void store_close(store_t *st)
{
    if (st == NULL)
        return;
    store_changes_stop(st);
    for (size_t i = 0; i < st->nstmts; i++)
        sqlite3_finalize(st->stmts[i].stmt);
    free(st->stmts);
    if (sqlite3_close(st->db) != SQLITE_OK)
        log_error(STORE_LOG, "close: %s", sqlite3_errmsg(st->db));
    free(st);
}

int store_schema_version(store_t *st)
{
    static const char sql[] = "PRAGMA user_version";
    int64_t v = 0;
    int rc = store_run_int64(st, store_stmt(st, sql), "schema version", &v);
    return rc == IRTC_OK ? (int)v : rc;
}

/* ---- maintenance ---- */

int store_check(store_t *st, char *report, size_t cap)
{
    static const char sql[] = "PRAGMA integrity_check(20)";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    size_t len = 0;
    int rows = 0, rc;
    bool ok = false;
    if (cap > 0)
        report[0] = '\0';
    while ((rc = store_step_row(st, s, "integrity check")) == 1) {
        const char *line = (const char *)sqlite3_column_text(s, 0);
        line = line ? line : "";
        ok = rows++ == 0 && strcmp(line, "ok") == 0;
        if (len < cap)
            len += (size_t)snprintf(report + len, cap - len, "%s%s", len ? "\n" : "", line);
    }
    store_stmt_done(s);
    if (rc < 0)
        return rc;
    return ok && rows == 1 ? IRTC_OK : IRTC_EIO;
}

static int backup_copy(store_t *st, sqlite3 *dst)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", st->db, "main");
    if (b == NULL) {
        log_error(STORE_LOG, "backup init: %s", sqlite3_errmsg(dst));
        return IRTC_EIO;
    }
    int rc;
    /* Copy in chunks so a long backup lets the writer in between steps. */
    while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (rc != SQLITE_OK)
            sqlite3_sleep(20);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        log_error(STORE_LOG, "backup: %s", sqlite3_errstr(rc));
        return IRTC_EIO;
    }
    return IRTC_OK;
}

int store_backup(store_t *st, const char *dest_path)
{
    char err[256];
    if (access(dest_path, F_OK) == 0)
        return IRTC_ECONFLICT;
    if (make_parent_dirs(dest_path, err, sizeof(err)) != IRTC_OK) {
        log_error(STORE_LOG, "backup: %s", err);
        return IRTC_EIO;
    }
    /* Written under a temporary name and renamed, so dest_path is either
     * absent or a complete database. */
    size_t n = strlen(dest_path) + 8;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.part", dest_path);
    sqlite3 *dst = NULL;
    int rc = IRTC_EIO;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        log_error(STORE_LOG, "backup open %s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
    } else {
        rc = backup_copy(st, dst);
    }
    if (sqlite3_close(dst) != SQLITE_OK && rc == IRTC_OK)
        rc = IRTC_EIO;
    if (rc == IRTC_OK && rename(tmp, dest_path) != 0) {
        log_error(STORE_LOG, "backup rename to %s: %s", dest_path, strerror(errno));
        rc = IRTC_EIO;
    }
    if (rc != IRTC_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* ---- settings ---- */

int store_setting_get(store_t *st, const char *key, char **out)
{
    static const char sql[] = "SELECT value FROM settings WHERE key = ?1";
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, key);
    int rc = store_step_row(st, s, "setting get");
    if (rc == 1)
        *out = store_col_strdup(s, 0);
    store_stmt_done(s);
    return rc == 1 ? IRTC_OK : rc == 0 ? IRTC_ENOTFOUND : rc;
}

int store_setting_set(store_t *st, const char *key, const char *value)
{
    static const char sql[] = "INSERT INTO settings (key, value) VALUES (?1, ?2)"
                              " ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, key);
    store_bind_text(s, 2, value);
    return store_run(st, s, "setting set");
}

/* ---- cluster mode: changesets of the shared tables ---- */

/* What every node must see: the outbox is a node's own (its sender delivers
 * it), settings hold per-node state (the log position). */
static const char *const repl_tables[] = {"apps", "rest_tokens", "rules", "recordings"};

void store_set_node(store_t *st, const char *node_id)
{
    snprintf(st->node_id, sizeof(st->node_id), "%s", node_id ? node_id : "");
}

static int session_new(store_t *st)
{
    sqlite3_session *s = NULL;
    if (sqlite3session_create(st->db, "main", &s) != SQLITE_OK) {
        log_error(STORE_LOG, "changes: cannot create a session: %s", sqlite3_errmsg(st->db));
        return IRTC_EIO;
    }
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(repl_tables); i++) {
        if (sqlite3session_attach(s, repl_tables[i]) != SQLITE_OK) {
            log_error(STORE_LOG, "changes: cannot attach %s", repl_tables[i]);
            sqlite3session_delete(s);
            return IRTC_EIO;
        }
    }
    st->session = s;
    return IRTC_OK;
}

int store_changes_start(store_t *st)
{
    if (st->session != NULL)
        return IRTC_OK;
    return session_new(st);
}

void store_changes_stop(store_t *st)
{
    if (st->session == NULL)
        return;
    sqlite3session_delete(st->session);
    st->session = NULL;
}

int store_changes_take(store_t *st, void **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (st->session == NULL || sqlite3session_isempty(st->session))
        return IRTC_OK;
    int n = 0;
    void *cs = NULL;
    int rc = sqlite3session_changeset(st->session, &n, &cs);
    /* A session has no reset in 3.40: a new one starts from an empty record. */
    store_changes_stop(st);
    int rc2 = session_new(st);
    if (rc != SQLITE_OK) {
        sqlite3_free(cs);
        log_error(STORE_LOG, "changes: changeset failed: %s", sqlite3_errstr(rc));
        return IRTC_EIO;
    }
    if (n > 0) {
        *out = xmalloc((size_t)n);
        memcpy(*out, cs, (size_t)n);
        *len = (size_t)n;
    }
    sqlite3_free(cs);
    return rc2;
}

/* Last writer wins: the log is applied in order on every node, so replacing
 * a row that differs converges; a row already deleted, or one a constraint
 * refuses (an app name taken by two nodes at once), is skipped and logged. */
static int on_conflict(void *ctx, int kind, sqlite3_changeset_iter *it)
{
    (void)ctx;
    (void)it;
    switch (kind) {
    case SQLITE_CHANGESET_DATA:
    case SQLITE_CHANGESET_CONFLICT:
        return SQLITE_CHANGESET_REPLACE;
    case SQLITE_CHANGESET_CONSTRAINT:
        log_warn(STORE_LOG, "changes: a replicated row breaks a constraint here: skipped");
        return SQLITE_CHANGESET_OMIT;
    default: /* NOTFOUND, FOREIGN_KEY */
        return SQLITE_CHANGESET_OMIT;
    }
}

int store_changes_apply(store_t *st, const void *changeset, size_t len)
{
    if (len == 0)
        return IRTC_OK;
    if (len > INT32_MAX)
        return IRTC_EINVAL;
    int rc = sqlite3changeset_apply(st->db, (int)len, (void *)changeset, NULL, on_conflict, NULL);
    if (rc == SQLITE_CORRUPT || rc == SQLITE_MISUSE)
        return IRTC_EINVAL;
    return rc == SQLITE_OK ? IRTC_OK : store_error(st, rc, "changeset apply");
}
