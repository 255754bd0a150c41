/*
 * store_rule.c — rows of the rules table: recording rules, their paging query
 * and the auto-record flag.  Runs on the thread that owns the store_t.  Does
 * not validate field values against the contract (http/ does) nor start
 * recordings.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/common.h"
#include "store/store_internal.h"

#define RULE_COLS                                                                                                      \
    "rule_id, app_id, storage_type, record_path, file_name, capture_interval, capture_nums, recording_type,"           \
    " callback_url, extra_data, recording_model, mixing_enabled, status, auto_record_active, created_at_ms,"           \
    " updated_at_ms"

/* A clash of yyyymmddHHMMSS + 4 random digits needs two rules created in the
 * same second drawing the same digits; a few retries make it vanishingly rare. */
#define RULE_ID_ATTEMPTS 16

void store_rule_dispose(store_rule_t *r)
{
    if (r == NULL)
        return;
    free(r->storage_type);
    free(r->record_path);
    free(r->file_name);
    free(r->callback_url);
    free(r->extra_data);
    memset(r, 0, sizeof(*r));
}

void store_rule_list_free(store_rule_t *rules, size_t count)
{
    for (size_t i = 0; i < count; i++)
        store_rule_dispose(&rules[i]);
    free(rules);
}

static void rule_from_row(sqlite3_stmt *s, store_rule_t *r)
{
    r->rule_id = sqlite3_column_int64(s, 0);
    store_col_copy(s, 1, r->app_id, sizeof(r->app_id));
    r->storage_type = store_col_strdup(s, 2);
    r->record_path = store_col_strdup(s, 3);
    r->file_name = store_col_strdup(s, 4);
    r->capture_interval = sqlite3_column_int(s, 5);
    r->capture_nums = sqlite3_column_int(s, 6);
    r->recording_type = sqlite3_column_int(s, 7);
    r->callback_url = store_col_strdup(s, 8);
    r->extra_data = store_col_strdup(s, 9);
    r->recording_model = sqlite3_column_int(s, 10);
    r->mixing_enabled = sqlite3_column_int(s, 11);
    r->status = sqlite3_column_int(s, 12);
    r->auto_record_active = sqlite3_column_int(s, 13) != 0;
    r->created_at_ms = sqlite3_column_int64(s, 14);
    r->updated_at_ms = sqlite3_column_int64(s, 15);
}

/* Reads every row of s (parameters already bound) into a new array. */
static int rule_collect(store_t *st, sqlite3_stmt *s, store_rule_t **out, size_t *count)
{
    store_rule_t *rules = NULL;
    size_t n = 0;
    int rc;
    while ((rc = store_step_row(st, s, "rule list")) == 1) {
        rules = store_array_grow(rules, n, sizeof(*rules));
        rule_from_row(s, &rules[n++]);
    }
    store_stmt_done(s);
    if (rc < 0) {
        store_rule_list_free(rules, n);
        return rc;
    }
    *out = rules;
    *count = n;
    return IRTC_OK;
}

static int64_t rule_id_generate(int64_t wall_ms)
{
    char when[32];
    uint16_t rnd = 0;
    clock_format_datetime((uint64_t)wall_ms, when, sizeof(when));
    /* Uniqueness, not secrecy: fall back to the clock if getrandom fails. */
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        rnd = (uint16_t)clock_mono_us();
    return strtoll(when, NULL, 10) * 10000 + rnd % 10000;
}

/* Binds the fields an update may change, as parameters 3..13. */
static void rule_bind_fields(sqlite3_stmt *s, const store_rule_t *r)
{
    store_bind_text(s, 3, r->storage_type);
    store_bind_text(s, 4, r->record_path);
    store_bind_text(s, 5, r->file_name);
    store_bind_int64(s, 6, r->capture_interval);
    store_bind_int64(s, 7, r->capture_nums);
    store_bind_int64(s, 8, r->recording_type);
    store_bind_text(s, 9, r->callback_url);
    store_bind_text(s, 10, r->extra_data);
    store_bind_int64(s, 11, r->recording_model);
    store_bind_int64(s, 12, r->mixing_enabled);
    store_bind_int64(s, 13, r->status);
}

int store_rule_insert(store_t *st, store_rule_t *r)
{
    static const char sql[] = "INSERT INTO rules (" RULE_COLS ")"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
    int64_t now = store_now_ms();
    int64_t created = r->created_at_ms ? r->created_at_ms : now;
    int64_t updated = r->updated_at_ms ? r->updated_at_ms : created;
    int rc = IRTC_ECONFLICT;
    for (int i = 0; i < RULE_ID_ATTEMPTS && rc == IRTC_ECONFLICT; i++) {
        sqlite3_stmt *s = store_stmt(st, sql);
        if (s == NULL)
            return IRTC_EIO;
        int64_t id = rule_id_generate(now);
        store_bind_int64(s, 1, id);
        store_bind_text(s, 2, r->app_id);
        rule_bind_fields(s, r);
        store_bind_int64(s, 14, r->auto_record_active ? 1 : 0);
        store_bind_int64(s, 15, created);
        store_bind_int64(s, 16, updated);
        rc = store_run(st, s, "rule insert");
        if (rc == IRTC_OK) {
            r->rule_id = id;
            r->created_at_ms = created;
            r->updated_at_ms = updated;
        }
    }
    return rc;
}

int store_rule_update(store_t *st, const store_rule_t *r)
{
    static const char sql[] = "UPDATE rules SET storage_type = ?3, record_path = ?4, file_name = ?5,"
                              " capture_interval = ?6, capture_nums = ?7, recording_type = ?8, callback_url = ?9,"
                              " extra_data = ?10, recording_model = ?11, mixing_enabled = ?12, status = ?13,"
                              " updated_at_ms = ?14 WHERE app_id = ?1 AND rule_id = ?2";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, r->app_id);
    store_bind_int64(s, 2, r->rule_id);
    rule_bind_fields(s, r);
    store_bind_int64(s, 14, r->updated_at_ms ? r->updated_at_ms : store_now_ms());
    return store_run_changed(st, s, "rule update");
}

int store_rule_delete(store_t *st, const char *app_id, int64_t rule_id)
{
    static const char sql[] = "DELETE FROM rules WHERE app_id = ?1 AND rule_id = ?2";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    store_bind_int64(s, 2, rule_id);
    return store_run_changed(st, s, "rule delete");
}

int store_rule_get(store_t *st, const char *app_id, int64_t rule_id, store_rule_t *out)
{
    static const char sql[] = "SELECT " RULE_COLS " FROM rules WHERE app_id = ?1 AND rule_id = ?2";
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    store_bind_int64(s, 2, rule_id);
    int rc = store_step_row(st, s, "rule get");
    if (rc == 1)
        rule_from_row(s, out);
    store_stmt_done(s);
    return rc == 1 ? IRTC_OK : rc == 0 ? IRTC_ENOTFOUND : rc;
}

/* The filters of store_rule_query as parameters 1..4; 0 / -1 mean "any" so
 * one statement serves every combination. */
#define RULE_FILTER                                                                                                    \
    " WHERE app_id = ?1 AND (?2 = 0 OR rule_id = ?2) AND (?3 = -1 OR recording_type = ?3)"                             \
    " AND (?4 = -1 OR recording_model = ?4)"

static void rule_bind_filter(sqlite3_stmt *s, const store_rule_query_t *q)
{
    store_bind_text(s, 1, q->app_id);
    store_bind_int64(s, 2, q->rule_id);
    store_bind_int64(s, 3, q->recording_type);
    store_bind_int64(s, 4, q->recording_model);
}

int store_rule_query(store_t *st, const store_rule_query_t *q, store_rule_t **out, size_t *count, int64_t *total)
{
    static const char count_sql[] = "SELECT count(*) FROM rules" RULE_FILTER;
    static const char page_sql[] = "SELECT " RULE_COLS " FROM rules" RULE_FILTER " ORDER BY rule_id LIMIT ?5 OFFSET ?6";
    int64_t offset = 0;
    *out = NULL;
    *count = 0;
    *total = 0;
    if (q->app_id == NULL || store_page_offset(q->page_size, q->page_no, &offset) != IRTC_OK)
        return IRTC_EINVAL;
    /* One read transaction so the total and the page describe the same data. */
    int rc = store_begin(st, false);
    if (rc != IRTC_OK)
        return rc;
    sqlite3_stmt *s = store_stmt(st, count_sql);
    if (s != NULL)
        rule_bind_filter(s, q);
    rc = store_run_int64(st, s, "rule count", total);
    if (rc == IRTC_OK) {
        rc = IRTC_EIO;
        if ((s = store_stmt(st, page_sql)) != NULL) {
            rule_bind_filter(s, q);
            store_bind_int64(s, 5, q->page_size);
            store_bind_int64(s, 6, offset);
            rc = rule_collect(st, s, out, count);
        }
    }
    if (rc == IRTC_OK)
        rc = store_commit(st);
    else
        store_rollback(st);
    if (rc != IRTC_OK) {
        store_rule_list_free(*out, *count);
        *out = NULL;
        *count = 0;
        *total = 0;
    }
    return rc;
}

int store_rule_set_auto(store_t *st, const char *app_id, int64_t rule_id, bool active)
{
    static const char sql[] = "UPDATE rules SET auto_record_active = ?3 WHERE app_id = ?1 AND rule_id = ?2";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    store_bind_int64(s, 2, rule_id);
    store_bind_int64(s, 3, active ? 1 : 0);
    return store_run_changed(st, s, "rule set auto");
}

int store_rule_list_auto(store_t *st, const char *app_id, store_rule_t **out, size_t *count)
{
    static const char sql[] = "SELECT " RULE_COLS " FROM rules WHERE auto_record_active = 1"
                              " AND (?1 IS NULL OR app_id = ?1) ORDER BY app_id, rule_id";
    *out = NULL;
    *count = 0;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL)
        return IRTC_EIO;
    store_bind_text(s, 1, app_id);
    return rule_collect(st, s, out, count);
}
