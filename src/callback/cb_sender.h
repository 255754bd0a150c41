/*
 * cb_sender.h — the callback sender: one thread with its own SQLite
 * connection and HTTP(S) client that delivers the outbox rows callback.h
 * enqueues (docs/CALLBACKS.md).  Start, stop, kick and stats run on the
 * control thread (stats on any thread).
 *
 * An object, not a process-wide singleton: whoever starts it keeps it,
 * kicks it after enqueueing, registers cb_sender_collect for /metrics and
 * stops it before closing the store.  Run one per database: two senders on
 * the same outbox would deliver its rows twice.
 */
#ifndef IRTC_CB_SENDER_H
#define IRTC_CB_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"

typedef struct cb_sender cb_sender_t;

typedef struct {
    uint64_t delivered;       /* rows answered with 2xx */
    uint64_t failed_attempts; /* attempts that did not get a 2xx */
    uint64_t given_up;        /* rows abandoned (window passed, or a bad URL) */
    uint64_t queue_depth;     /* rows still to deliver (not given up), as last counted */
} cb_stats_t;

/* Opens its own connection to db_path, prepares the TLS client context (the
 * system's CA store plus cfg->callback_ca_file) and starts the thread.
 * IRTC_EIO with err for a database or CA file that cannot be used. */
int cb_sender_start(const cfg_t *cfg, const char *db_path, cb_sender_t **out, char *err, size_t errcap);
/* Stops the thread (an attempt in progress is abandoned and stays due),
 * returns within about a second and frees the sender; NULL is a no-op. */
void cb_sender_stop(cb_sender_t *s);
/* Wakes the sender to look for due rows now (cheap; NULL is a no-op). */
void cb_sender_kick(cb_sender_t *s);
/* Counters since start (any thread). */
void cb_sender_stats(const cb_sender_t *s, cb_stats_t *out);
/* A metrics_collector_fn (core/metrics.h) for sender, a cb_sender_t. */
void cb_sender_collect(buf_t *out, void *sender);

#endif
