/*
 * store.h — the only module with SQL.  One SQLite database (WAL mode,
 * busy_timeout) with a schema versioned by PRAGMA user_version and
 * forward-only migrations applied by store_open.
 *
 * Threading: a store_t is one connection and belongs to one thread; a thread
 * that needs the database opens its own store_t on the same file (WAL lets
 * readers and one writer proceed together).  Every function is one short
 * transaction.  Nothing on the media packet path calls into the store.
 *
 * Strings in the structs below are owned by the struct; free with the
 * matching _dispose / _list_free.  Getters zero *out first, so disposing it
 * is safe whatever they return.
 *
 * Errors: IRTC_ECONFLICT for a duplicate key, IRTC_ENOTFOUND for a missing
 * row (or a missing parent app on insert), IRTC_EINVAL for a value the schema
 * forbids (NULL where required, empty id, bad paging), IRTC_EIO for anything
 * else (logged with SQLite's message).
 */
#ifndef IRTC_STORE_H
#define IRTC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct store store_t;

#define STORE_SCHEMA_VERSION_LATEST 2
/* Largest page_size accepted by store_rule_query and store_recording_list. */
#define STORE_PAGE_SIZE_MAX 100

/* Opens the database file (creating it, and its parent directories with mode
 * 0750, if missing), enables WAL, and applies pending migrations.  A file whose
 * schema is newer than this build is refused.  On failure returns IRTC_EIO and
 * writes a reason into err (err may be NULL). */
int store_open(const char *path, store_t **out, char *err, size_t errcap);
void store_close(store_t *st);
int store_schema_version(store_t *st);
/* PRAGMA integrity_check; writes "ok" or the first problems into report.
 * Returns IRTC_OK when the database is sound, IRTC_EIO otherwise. */
int store_check(store_t *st, char *report, size_t cap);
/* Online backup of the whole database to the new file dest_path
 * (sqlite3_backup, written as dest_path.part then renamed); IRTC_ECONFLICT if
 * dest_path exists. */
int store_backup(store_t *st, const char *dest_path);

/* ---- key/value settings (server secrets, first-start markers) ---- */
/* Returns IRTC_OK, or IRTC_ENOTFOUND; *out is malloc'd. */
int store_setting_get(store_t *st, const char *key, char **out);
int store_setting_set(store_t *st, const char *key, const char *value);

/* ---- apps ---- */
typedef struct {
    char app_id[33]; /* 32 chars [A-Za-z0-9] */
    char *name;
    char *tenant_id;
    char *access_key;      /* Base64 of 32 random bytes: join-token HMAC key */
    char *app_token_hash;  /* crypto_secret_hash of appToken */
    char *app_token_plain; /* only for the built-in demo app (NULL otherwise) */
    int64_t created_at_ms;
} store_app_t;

void store_app_dispose(store_app_t *app);
/* Inserts (created_at_ms 0 = now); IRTC_ECONFLICT if the app_id or name exists. */
int store_app_insert(store_t *st, const store_app_t *app);
int store_app_get(store_t *st, const char *app_id, store_app_t *out);       /* ENOTFOUND */
int store_app_get_by_name(store_t *st, const char *name, store_app_t *out); /* ENOTFOUND */
/* All apps, ordered by created_at; *out is an array of *count apps. */
int store_app_list(store_t *st, store_app_t **out, size_t *count);
void store_app_list_free(store_app_t *apps, size_t count);
/* Deletes the app and everything that belongs to it (tokens, rules). */
int store_app_delete(store_t *st, const char *app_id);                                 /* ENOTFOUND */
int store_app_set_access_key(store_t *st, const char *app_id, const char *access_key); /* ENOTFOUND */

/* ---- REST access tokens (stored hashed: SHA-256 hex of the token) ---- */
typedef struct {
    char app_id[33];
    char token_hash[65];
    int64_t issued_at_ms;
    int64_t expires_at_ms;
} store_rest_token_t;

/* ECONFLICT if the hash exists, ENOTFOUND if the app does not. */
int store_rest_token_insert(store_t *st, const store_rest_token_t *tok);
/* The newest token of app that is still valid at now_ms; ENOTFOUND if none. */
int store_rest_token_current(store_t *st, const char *app_id, int64_t now_ms, store_rest_token_t *out);
/* By hash, expired or not (the caller checks expires_at_ms); ENOTFOUND. */
int store_rest_token_find(store_t *st, const char *token_hash, store_rest_token_t *out);
/* Deletes tokens with expires_at_ms <= now_ms; returns how many (>= 0) or an error. */
int store_rest_token_purge_expired(store_t *st, int64_t now_ms);

/* ---- recording rules ---- */
typedef struct {
    int64_t rule_id;
    char app_id[33];
    char *storage_type; /* "NAS" | "ISDP" */
    char *record_path;
    char *file_name;
    int capture_interval; /* seconds, snapshots */
    int capture_nums;
    int recording_type; /* contract: 0 video, 1 image (see docs/API.md) */
    char *callback_url;
    char *extra_data;
    int recording_model; /* 0 single stream, 1 mixed */
    int mixing_enabled;
    int status;
    bool auto_record_active; /* startAutoRecord / stopAutoRecord */
    int64_t created_at_ms;
    int64_t updated_at_ms;
} store_rule_t;

void store_rule_dispose(store_rule_t *r);
/* Inserts and sets r->rule_id (and created/updated_at_ms when they were 0:
 * now).  Rule ids are yyyymmddHHMMSS (local time) followed by 4 random digits,
 * 18 decimal digits like the contract's (202212311431169569), below 2^63;
 * a clash is retried with new digits.  ENOTFOUND if the app does not exist. */
int store_rule_insert(store_t *st, store_rule_t *r);
/* Updates every field but app_id/rule_id/created and auto_record_active (owned
 * by store_rule_set_auto); updated_at_ms 0 = now.  ENOTFOUND if no such rule in app. */
int store_rule_update(store_t *st, const store_rule_t *r);
int store_rule_delete(store_t *st, const char *app_id, int64_t rule_id);                 /* ENOTFOUND */
int store_rule_get(store_t *st, const char *app_id, int64_t rule_id, store_rule_t *out); /* ENOTFOUND */

typedef struct {
    const char *app_id;
    int64_t rule_id;     /* 0 = any */
    int recording_type;  /* -1 = any */
    int recording_model; /* -1 = any */
    int page_size;       /* 1..STORE_PAGE_SIZE_MAX */
    int page_no;         /* >= 1 */
} store_rule_query_t;

/* One page of the app's rules matching the filters, ordered by rule_id, and the
 * total number matching; IRTC_EINVAL for bad paging or a NULL app_id. */
int store_rule_query(store_t *st, const store_rule_query_t *q, store_rule_t **out, size_t *count, int64_t *total);
void store_rule_list_free(store_rule_t *rules, size_t count);
int store_rule_set_auto(store_t *st, const char *app_id, int64_t rule_id, bool active); /* ENOTFOUND */
/* Active auto-record rules of an app (all apps when app_id is NULL). */
int store_rule_list_auto(store_t *st, const char *app_id, store_rule_t **out, size_t *count);

/* ---- recordings ---- */
typedef enum { STORE_REC_RECORDING = 0, STORE_REC_COMPLETE, STORE_REC_FAILED } store_rec_status_t;

typedef struct {
    char recording_id[32]; /* decimal digits, e.g. 202212311431169569 */
    char app_id[33];
    char *channel_id;
    char *user_id;
    int kind;        /* 0 video, 1 image */
    int mode;        /* 0 single, 1 mixed */
    int64_t rule_id; /* 0 = none */
    char *storage_type;
    char *path; /* final path (after rename) or intended path */
    char *callback_url;
    char *extra_data;
    store_rec_status_t status;
    char *failure_reason; /* NULL unless failed */
    int64_t bytes;
    int64_t duration_ms;
    int64_t dropped_packets;
    int64_t started_at_ms;
    int64_t ended_at_ms; /* 0 while recording */
} store_recording_t;

void store_recording_dispose(store_recording_t *r);
/* started_at_ms 0 = now; ECONFLICT if the recording_id exists.  Recordings
 * have no foreign key to apps: their rows outlive a deleted app, as files do. */
int store_recording_insert(store_t *st, const store_recording_t *r);
/* By recording_id; changes storage_type, path, callback_url, extra_data,
 * status, failure_reason, bytes, duration_ms, dropped_packets, ended_at_ms
 * (what is recorded, by whom and when it started never change).  ENOTFOUND. */
int store_recording_update(store_t *st, const store_recording_t *r);
int store_recording_get(store_t *st, const char *recording_id, store_recording_t *out); /* ENOTFOUND */
/* Newest first (started_at_ms); app_id required; channel_id NULL = any;
 * page_size 1..STORE_PAGE_SIZE_MAX, page_no >= 1 (IRTC_EINVAL otherwise). */
int store_recording_list(store_t *st, const char *app_id, const char *channel_id, int page_size, int page_no,
                         store_recording_t **out, size_t *count, int64_t *total);
void store_recording_list_free(store_recording_t *r, size_t count);
/* Marks this node's rows (store_set_node) still 'recording' as failed with
 * reason (used at start after a crash), setting ended_at_ms to now; returns
 * how many (>= 0) or an error. */
int store_recording_fail_unfinished(store_t *st, const char *reason);
/* Rows still 'recording' that node_id runs (cluster mode: a dead node's). */
int store_recording_list_unfinished(store_t *st, const char *node_id, store_recording_t **out, size_t *count);

/* ---- cluster mode (store.c, store_rec.c) ---- */

/* The node this connection's recordings are run by: recordings inserted
 * carry it, and fail_unfinished touches only its rows.  Default "". */
void store_set_node(store_t *st, const char *node_id);
/* Starts recording every change made through this connection to the shared
 * tables (apps, rest_tokens, rules, recordings) as an SQLite changeset
 * (the session extension).  IRTC_OK or IRTC_EIO. */
int store_changes_start(store_t *st);
/* Hands over the changes recorded since the last call (malloc'd, caller
 * frees; *len 0 and *out NULL when there were none) and starts afresh. */
int store_changes_take(store_t *st, void **out, size_t *len);
/* Stops recording (no-op when not started). */
void store_changes_stop(store_t *st);
/* Applies another node's changeset: a row that exists is replaced, a row
 * already gone or refused by a constraint is skipped, so applying the same
 * log twice, or out of date, converges on the log's last word.  IRTC_OK,
 * IRTC_EINVAL (not a changeset) or IRTC_EIO. */
int store_changes_apply(store_t *st, const void *changeset, size_t len);

/* ---- callback outbox ---- */
typedef struct {
    int64_t id;
    char app_id[33];
    char *url;
    char *body;      /* JSON */
    char *signature; /* X-HW-SIGN value */
    int attempts;
    int64_t next_attempt_ms;
    int64_t created_at_ms;
    int64_t delivered_at_ms; /* 0 = not yet */
    char *last_error;
} store_outbox_t;

void store_outbox_dispose(store_outbox_t *o);
/* Sets o->id (never reused) and created_at_ms when 0 (now); the row starts
 * undelivered and is due at o->next_attempt_ms. */
int store_outbox_insert(store_t *st, store_outbox_t *o);
/* Undelivered rows due at now_ms, earliest next_attempt_ms first, at most limit. */
int store_outbox_due(store_t *st, int64_t now_ms, size_t limit, store_outbox_t **out, size_t *count);
void store_outbox_list_free(store_outbox_t *o, size_t count);
/* The row is never due again; now_ms must be > 0 (EINVAL).  ENOTFOUND. */
int store_outbox_mark_delivered(store_t *st, int64_t id, int64_t now_ms);
/* Records a failed attempt and when to retry (INT64_MAX: give up, keep the
 * row for inspection).  ENOTFOUND if no such row or it was already delivered. */
int store_outbox_mark_failed(store_t *st, int64_t id, int attempts, int64_t next_attempt_ms, const char *error);
/* Deletes rows delivered before before_ms; returns how many (>= 0) or an error. */
int store_outbox_purge_delivered(store_t *st, int64_t before_ms);
/* Rows still to deliver (undelivered and not given up) and the earliest
 * next_attempt_ms among them (INT64_MAX when there are none). */
int store_outbox_pending(store_t *st, int64_t *count, int64_t *next_attempt_ms);
/* The newest limit rows, delivered or not, newest first (for inspection). */
int store_outbox_recent(store_t *st, size_t limit, store_outbox_t **out, size_t *count);

#endif
