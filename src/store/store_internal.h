/*
 * store_internal.h — what the store_*.c files share: the connection struct,
 * the per-connection prepared-statement cache and the small helpers that bind
 * values, read columns and turn SQLite result codes into IRTC_* codes.
 * Implemented in store.c.  Runs on whichever thread owns the store_t.
 * Not for use outside src/store/: no other module sees sqlite3.
 */
#ifndef IRTC_STORE_INTERNAL_H
#define IRTC_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

#define STORE_LOG "store"

typedef struct {
    const char *sql; /* identity of the statement: a static string, compared by pointer */
    sqlite3_stmt *stmt;
} store_cached_stmt_t;

struct store {
    sqlite3 *db;
    store_cached_stmt_t *stmts;
    size_t nstmts;
    size_t capstmts;
    void *session;    /* sqlite3_session * while store_changes_start is in force */
    char node_id[33]; /* store_set_node */
};

/* The cached statement for sql (prepared on first use), ready for binding;
 * NULL after logging when it cannot be prepared.  sql must be a static string.
 * Every use ends with store_stmt_done (store_run does it), otherwise the
 * connection keeps a read snapshot open and WAL checkpoints stall. */
sqlite3_stmt *store_stmt(store_t *st, const char *sql);
void store_stmt_done(sqlite3_stmt *s);

/* Maps an SQLite result code to IRTC_*: unique/primary key → ECONFLICT,
 * foreign key → ENOTFOUND (the parent row is missing), other constraints →
 * EINVAL, anything else → EIO with a log_error line naming sqlite3_errmsg. */
int store_error(store_t *st, int rc, const char *what);

/* Steps s once: 1 when a row is ready, 0 when done, < 0 on error (mapped). */
int store_step_row(store_t *st, sqlite3_stmt *s, const char *what);
/* Runs s to completion and releases it: IRTC_OK or a mapped error. */
int store_run(store_t *st, sqlite3_stmt *s, const char *what);
/* As store_run, but IRTC_ENOTFOUND when the statement changed no row. */
int store_run_changed(store_t *st, sqlite3_stmt *s, const char *what);
/* Runs a single-row "SELECT count(*)" style statement into *out and releases it. */
int store_run_int64(store_t *st, sqlite3_stmt *s, const char *what, int64_t *out);

/* Short explicit transactions for functions that run several statements.
 * write=true takes the write lock at once (BEGIN IMMEDIATE), so a read never
 * has to be upgraded under contention. */
int store_begin(store_t *st, bool write);
int store_commit(store_t *st);
void store_rollback(store_t *st);

/* Binding: NULL text binds SQL NULL.  Text is bound without a copy; it must
 * stay valid until store_stmt_done (which clears the bindings). */
void store_bind_text(sqlite3_stmt *s, int idx, const char *text);
void store_bind_int64(sqlite3_stmt *s, int idx, int64_t v);

/* Column readers: store_col_strdup returns NULL for SQL NULL; store_col_copy
 * copies into a fixed array (truncating, always NUL-terminated). */
char *store_col_strdup(sqlite3_stmt *s, int col);
void store_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap);

/* Validates paging (1 <= page_size <= STORE_PAGE_SIZE_MAX, page_no >= 1) and
 * computes the row offset; IRTC_EINVAL otherwise. */
int store_page_offset(int page_size, int page_no, int64_t *offset);

/* Returns arr (maybe moved) with room for element [count], which is zeroed;
 * capacity doubles at powers of two so appending n rows copies O(n). */
void *store_array_grow(void *arr, size_t count, size_t elem_size);

int64_t store_now_ms(void);

#endif
