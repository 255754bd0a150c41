/*
 * store_rec.c — rows of the recordings and outbox tables: what was recorded
 * and where, and the callbacks still to deliver.  Runs on the thread that owns
 * the store_t (recorder and callback-sender threads open their own).  Does not
 * touch files, sign bodies or send anything.
 */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "store/store_internal.h"

/* ---- recordings ---- */

#define REC_COLS                                                                                                       \
    "recording_id, app_id, channel_id, user_id, kind, mode, rule_id, storage_type, path, callback_url,"                \
    " extra_data, status, failure_reason, bytes, duration_ms, dropped_packets, started_at_ms, ended_at_ms"

void store_recording_dispose(store_recording_t *r)
{
    if (r == NULL)
        return;
    free(r->channel_id);
    free(r->user_id);
    free(r->storage_type);
    free(r->path);
    free(r->callback_url);
    free(r->extra_data);
    free(r->failure_reason);
    memset(r, 0, sizeof(*r));
}

void store_recording_list_free(store_recording_t *r, size_t count)
{
    for (size_t i = 0; i < count; i++)
        store_recording_dispose(&r[i]);
    free(r);
}

static void rec_from_row(sqlite3_stmt *s, store_recording_t *r)
{
    store_col_copy(s, 0, r->recording_id, sizeof(r->recording_id));
    store_col_copy(s, 1, r->app_id, sizeof(r->app_id));
    r->channel_id = store_col_strdup(s, 2);
    r->user_id = store_col_strdup(s, 3);
    r->kind = sqlite3_column_int(s, 4);
    r->mode = sqlite3_column_int(s, 5);
    r->rule_id = sqlite3_column_int64(s, 6);
    r->storage_type = store_col_strdup(s, 7);
    r->path = store_col_strdup(s, 8);
    r->callback_url = store_col_strdup(s, 9);
    r->extra_data = store_col_strdup(s, 10);
    r->status = (store_rec_status_t)sqlite3_column_int(s, 11);
    r->failure_reason = store_col_strdup(s, 12);
    r->bytes = sqlite3_column_int64(s, 13);
    r->duration_ms = sqlite3_column_int64(s, 14);
    r->dropped_packets = sqlite3_column_int64(s, 15);
    r->started_at_ms = sqlite3_column_int64(s, 16);
    r->ended_at_ms = sqlite3_column_int64(s, 17);
}

/* Binds what a recording's progress changes, as parameters 2..11. */
static void rec_bind_progress(sqlite3_stmt *s, const store_recording_t *r)
{
    store_bind_text(s, 2, r->storage_type);
    store_bind_text(s, 3, r->path);
    store_bind_text(s, 4, r->callback_url);
    store_bind_text(s, 5, r->extra_data);
    store_bind_int64(s, 6, r->status);
    store_bind_text(s, 7, r->failure_reason);
    store_bind_int64(s, 8, r->bytes);
    store_bind_int64(s, 9, r->duration_ms);
    store_bind_int64(s, 10, r->dropped_packets);
    store_bind_int64(s, 11, r->ended_at_ms);
}

int store_recording_insert(store_t *st, const store_recording_t *r)
{
    static const char sql[] =
        "INSERT INTO recordings (recording_id, storage_type, path, callback_url, extra_data, status,"
        " failure_reason, bytes, duration_ms, dropped_packets, ended_at_ms, app_id, channel_id, user_id, kind, mode,"
        " rule_id, started_at_ms, node_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, r->recording_id);
    rec_bind_progress(s, r);
    store_bind_text(s, 12, r->app_id);
    store_bind_text(s, 13, r->channel_id);
    store_bind_text(s, 14, r->user_id);
    store_bind_int64(s, 15, r->kind);
    store_bind_int64(s, 16, r->mode);
    store_bind_int64(s, 17, r->rule_id);
    store_bind_int64(s, 18, r->started_at_ms ? r->started_at_ms : store_now_ms());
    store_bind_text(s, 19, st->node_id);
    return store_run(st, s, "recording insert");
}

int store_recording_update(store_t *st, const store_recording_t *r)
{
    static const char sql[] = "UPDATE recordings SET storage_type = ?2, path = ?3, callback_url = ?4, extra_data = ?5,"
                              " status = ?6, failure_reason = ?7, bytes = ?8, duration_ms = ?9,"
                              " dropped_packets = ?10, ended_at_ms = ?11 WHERE recording_id = ?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, r->recording_id);
    rec_bind_progress(s, r);
    return store_run_changed(st, s, "recording update");
}

int store_recording_get(store_t *st, const char *recording_id, store_recording_t *out)
{
    static const char sql[] = "SELECT " REC_COLS " FROM recordings WHERE recording_id = ?1";
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, recording_id);
    int rc = store_step_row(st, s, "recording get");
    if (rc == 1)
        rec_from_row(s, out);
    store_stmt_done(s);
    return rc == 1 ? IRTC_OK : rc == 0 ? IRTC_ENOTFOUND : rc;
}

static int rec_collect(store_t *st, sqlite3_stmt *s, store_recording_t **out, size_t *count)
{
    store_recording_t *recs = NULL;
    size_t n = 0;
    int rc;
    while ((rc = store_step_row(st, s, "recording list")) == 1) {
        recs = store_array_grow(recs, n, sizeof(*recs));
        rec_from_row(s, &recs[n++]);
    }
    store_stmt_done(s);
    if (rc < 0) {
        store_recording_list_free(recs, n);
        return rc;
    }
    *out = recs;
    *count = n;
    return IRTC_OK;
}

/* Two statement pairs rather than "(?2 IS NULL OR channel_id = ?2)" so each
 * lookup can use its own index. */
static const char rec_count_app[] = "SELECT count(*) FROM recordings WHERE app_id = ?1";
static const char rec_page_app[] = "SELECT " REC_COLS " FROM recordings WHERE app_id = ?1"
                                   " ORDER BY started_at_ms DESC, recording_id DESC LIMIT ?3 OFFSET ?4";
static const char rec_count_chan[] = "SELECT count(*) FROM recordings WHERE app_id = ?1 AND channel_id = ?2";
static const char rec_page_chan[] = "SELECT " REC_COLS " FROM recordings WHERE app_id = ?1 AND channel_id = ?2"
                                    " ORDER BY started_at_ms DESC, recording_id DESC LIMIT ?3 OFFSET ?4";

static int rec_list_in_txn(store_t *st, const char *app_id, const char *channel_id, int page_size, int64_t offset,
                           store_recording_t **out, size_t *count, int64_t *total)
{
    sqlite3_stmt *s = store_stmt(st, channel_id ? rec_count_chan : rec_count_app);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    if (channel_id)
        store_bind_text(s, 2, channel_id);
    int rc = store_run_int64(st, s, "recording count", total);
    if (rc != IRTC_OK)
        return rc;
    if ((s = store_stmt(st, channel_id ? rec_page_chan : rec_page_app)) == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    if (channel_id)
        store_bind_text(s, 2, channel_id);
    store_bind_int64(s, 3, page_size);
    store_bind_int64(s, 4, offset);
    return rec_collect(st, s, out, count);
}

int store_recording_list(store_t *st, const char *app_id, const char *channel_id, int page_size, int page_no,
                         store_recording_t **out, size_t *count, int64_t *total)
{
    int64_t offset = 0;
    *out = NULL;
    *count = 0;
    *total = 0;
    if (app_id == NULL || store_page_offset(page_size, page_no, &offset) != IRTC_OK)
        return IRTC_EINVAL;
    int rc = store_begin(st, false);
    if (rc != IRTC_OK)
        return rc;
    rc = rec_list_in_txn(st, app_id, channel_id, page_size, offset, out, count, total);
    if (rc == IRTC_OK)
        rc = store_commit(st);
    else
        store_rollback(st);
    if (rc != IRTC_OK) {
        store_recording_list_free(*out, *count);
        *out = NULL;
        *count = 0;
        *total = 0;
    }
    return rc;
}

int store_recording_fail_unfinished(store_t *st, const char *reason)
{
    static const char sql[] = "UPDATE recordings SET status = 2, failure_reason = ?1,"
                              " ended_at_ms = CASE WHEN ended_at_ms = 0 THEN ?2 ELSE ended_at_ms END"
                              " WHERE status = 0 AND node_id = ?3";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, reason);
    store_bind_int64(s, 2, store_now_ms());
    store_bind_text(s, 3, st->node_id);
    int rc = store_run(st, s, "recording fail unfinished");
    return rc == IRTC_OK ? sqlite3_changes(st->db) : rc;
}

/* ---- callback outbox ---- */

#define OUTBOX_COLS                                                                                                    \
    "id, app_id, url, body, signature, attempts, next_attempt_ms, created_at_ms, delivered_at_ms, last_error"

void store_outbox_dispose(store_outbox_t *o)
{
    if (o == NULL)
        return;
    free(o->url);
    free(o->body);
    free(o->signature);
    free(o->last_error);
    memset(o, 0, sizeof(*o));
}

void store_outbox_list_free(store_outbox_t *o, size_t count)
{
    for (size_t i = 0; i < count; i++)
        store_outbox_dispose(&o[i]);
    free(o);
}

static void outbox_from_row(sqlite3_stmt *s, store_outbox_t *o)
{
    o->id = sqlite3_column_int64(s, 0);
    store_col_copy(s, 1, o->app_id, sizeof(o->app_id));
    o->url = store_col_strdup(s, 2);
    o->body = store_col_strdup(s, 3);
    o->signature = store_col_strdup(s, 4);
    o->attempts = sqlite3_column_int(s, 5);
    o->next_attempt_ms = sqlite3_column_int64(s, 6);
    o->created_at_ms = sqlite3_column_int64(s, 7);
    o->delivered_at_ms = sqlite3_column_int64(s, 8);
    o->last_error = store_col_strdup(s, 9);
}

int store_outbox_insert(store_t *st, store_outbox_t *o)
{
    static const char sql[] = "INSERT INTO outbox (app_id, url, body, signature, attempts, next_attempt_ms,"
                              " created_at_ms, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    int64_t created = o->created_at_ms ? o->created_at_ms : store_now_ms();
    store_bind_text(s, 1, o->app_id);
    store_bind_text(s, 2, o->url);
    store_bind_text(s, 3, o->body);
    store_bind_text(s, 4, o->signature);
    store_bind_int64(s, 5, o->attempts);
    store_bind_int64(s, 6, o->next_attempt_ms);
    store_bind_int64(s, 7, created);
    store_bind_text(s, 8, o->last_error);
    int rc = store_run(st, s, "outbox insert");
    if (rc == IRTC_OK) {
        o->id = sqlite3_last_insert_rowid(st->db);
        o->created_at_ms = created;
        o->delivered_at_ms = 0;
    }
    return rc;
}

/* Runs a bound outbox SELECT and collects its rows (one loop for every listing). */
static int collect_outbox(store_t *st, sqlite3_stmt *s, const char *what, store_outbox_t **out, size_t *count)
{
    store_outbox_t *rows = NULL;
    size_t n = 0;
    int rc;
    while ((rc = store_step_row(st, s, what)) == 1) {
        rows = store_array_grow(rows, n, sizeof(*rows));
        outbox_from_row(s, &rows[n++]);
    }
    store_stmt_done(s);
    if (rc < 0) {
        store_outbox_list_free(rows, n);
        return rc;
    }
    *out = rows;
    *count = n;
    return IRTC_OK;
}

int store_outbox_due(store_t *st, int64_t now_ms, size_t limit, store_outbox_t **out, size_t *count)
{
    /* "delivered_at_ms = 0" literally, so the partial index outbox_due applies. */
    static const char sql[] = "SELECT " OUTBOX_COLS " FROM outbox WHERE delivered_at_ms = 0 AND next_attempt_ms <= ?1"
                              " ORDER BY next_attempt_ms, id LIMIT ?2";
    *out = NULL;
    *count = 0;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_int64(s, 1, now_ms);
    store_bind_int64(s, 2, limit > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)limit);
    return collect_outbox(st, s, "outbox due", out, count);
}

int store_outbox_mark_delivered(store_t *st, int64_t id, int64_t now_ms)
{
    static const char sql[] = "UPDATE outbox SET delivered_at_ms = ?2 WHERE id = ?1";
    /* 0 is the "undelivered" marker; a delivered row must never be due again. */
    if (now_ms <= 0)
        return IRTC_EINVAL;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_int64(s, 1, id);
    store_bind_int64(s, 2, now_ms);
    return store_run_changed(st, s, "outbox mark delivered");
}

int store_outbox_mark_failed(store_t *st, int64_t id, int attempts, int64_t next_attempt_ms, const char *error)
{
    /* A late failure report for a row already delivered must not revive it. */
    static const char sql[] = "UPDATE outbox SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4"
                              " WHERE id = ?1 AND delivered_at_ms = 0";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_int64(s, 1, id);
    store_bind_int64(s, 2, attempts);
    store_bind_int64(s, 3, next_attempt_ms);
    store_bind_text(s, 4, error);
    return store_run_changed(st, s, "outbox mark failed");
}

int store_outbox_purge_delivered(store_t *st, int64_t before_ms)
{
    static const char sql[] = "DELETE FROM outbox WHERE delivered_at_ms > 0 AND delivered_at_ms < ?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_int64(s, 1, before_ms);
    int rc = store_run(st, s, "outbox purge");
    return rc == IRTC_OK ? sqlite3_changes(st->db) : rc;
}

int store_outbox_pending(store_t *st, int64_t *count, int64_t *next_attempt_ms)
{
    /* Given-up rows wait at INT64_MAX for ever; they are not pending. */
    static const char sql[] = "SELECT count(*), min(next_attempt_ms) FROM outbox WHERE delivered_at_ms = 0"
                              " AND next_attempt_ms < 9223372036854775807";
    *count = 0;
    *next_attempt_ms = INT64_MAX;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    int rc = store_step_row(st, s, "outbox pending");
    if (rc == 1) {
        *count = sqlite3_column_int64(s, 0);
        if (sqlite3_column_type(s, 1) != SQLITE_NULL)
            *next_attempt_ms = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    return rc < 0 ? rc : IRTC_OK;
}

int store_outbox_recent(store_t *st, size_t limit, store_outbox_t **out, size_t *count)
{
    static const char sql[] = "SELECT " OUTBOX_COLS " FROM outbox ORDER BY id DESC LIMIT ?1";
    *out = NULL;
    *count = 0;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_int64(s, 1, limit > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)limit);
    return collect_outbox(st, s, "outbox recent", out, count);
}

int store_recording_list_unfinished(store_t *st, const char *node_id, store_recording_t **out, size_t *count)
{
    static const char sql[] = "SELECT recording_id FROM recordings WHERE status = 0 AND node_id = ?1";
    *out = NULL;
    *count = 0;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, node_id);
    char(*ids)[32] = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ids = xrealloc(ids, (n + 1) * sizeof(*ids));
        store_col_copy(s, 0, ids[n], sizeof(ids[n]));
        n++;
    }
    store_stmt_done(s);
    int result = rc == SQLITE_DONE ? IRTC_OK : store_error(st, rc, "recording list unfinished");
    if (result == IRTC_OK && n > 0) {
        *out = xcalloc(n, sizeof(**out));
        for (size_t i = 0; i < n && result == IRTC_OK; i++) {
            result = store_recording_get(st, ids[i], &(*out)[i]);
            *count = i + 1;
        }
        if (result != IRTC_OK) {
            store_recording_list_free(*out, *count);
            *out = NULL;
            *count = 0;
        }
    }
    free(ids);
    return result;
}
