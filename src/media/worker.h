/*
 * worker.h — media worker threads: one per core, each with its own h2o evloop,
 * its own UDP socket on media.port + i (and ICE-TCP listener on
 * media.tcp_port + i, ice_tcp.h), and the transports of the rooms pinned
 * to it.  Nothing here is shared between threads except the message queues and
 * the atomic counters read by /metrics.
 *
 * Thread rules: worker_pool_* functions run on the control thread.  Work for a
 * worker is sent as a worker_msg_t whose run() executes on that worker's
 * thread; replies go back the same way with worker_pool_post_control, whose
 * run() executes on the control thread.  A message is owned by whoever
 * receives it until run() returns; run() may free it or re-post it.
 */
#ifndef IRTC_WORKER_H
#define IRTC_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <h2o.h>
#include <h2o/multithread.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/config.h"
#include "media/dwell.h"
#include "media/engine.h"
#include "media/ice_tcp.h"

typedef struct worker worker_t;
typedef struct worker_pool worker_pool_t;
typedef struct worker_msg worker_msg_t;

struct worker_msg {
    h2o_multithread_message_t super; /* must be first */
    void (*run)(worker_msg_t *msg, void *thread_ctx);
};

/* Per-worker counters, written by the worker, read by anyone. */
typedef struct {
    _Atomic uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    _Atomic uint64_t tx_errors;
    _Atomic uint64_t tx_calls;         /* sendmmsg calls */
    _Atomic uint64_t tx_gso_segments;  /* datagrams sent inside UDP GSO messages */
    _Atomic uint64_t tx_gso_fallbacks; /* the kernel refused GSO: the worker sends without it from then on */
    _Atomic uint64_t loop_turns;
    /* Sampled dwell time, receive timestamp → sendmmsg (media/dwell.h). */
    _Atomic uint64_t dwell_hist[DWELL_BUCKETS];
    _Atomic uint64_t dwell_sum_ns;
    engine_stats_t engine; /* the engine's drops and retransmissions */
    ice_tcp_stats_t tcp;   /* ICE-TCP connections (rx_/tx_ above count their frames too) */
} worker_stats_t;

struct dtls_cert;
/* Starts cfg_worker_count(cfg) workers sharing the DTLS certificate cert;
 * control_loop receives their replies. */
int worker_pool_start(const cfg_t *cfg, const struct dtls_cert *cert, h2o_evloop_t *control_loop, worker_pool_t **out,
                      char *err, size_t errcap);
/* Asks every worker to stop, joins the threads, frees the pool. */
void worker_pool_stop(worker_pool_t *wp);
unsigned worker_pool_size(const worker_pool_t *wp);
worker_t *worker_pool_get(worker_pool_t *wp, unsigned i);
uint16_t worker_port(const worker_t *w);
uint16_t worker_tcp_port(const worker_t *w); /* 0: no ICE-TCP */
unsigned worker_index(const worker_t *w);
/* The eventfd that wakes w for pipes into it (media/pipe.h); open until the
 * pool stops. */
int worker_pipe_fd(const worker_t *w);
const worker_stats_t *worker_stats(const worker_t *w);
h2o_evloop_t *worker_loop(worker_t *w); /* only for code running on w */

/* Sends msg to run on worker w's thread (takes ownership). */
void worker_post(worker_t *w, worker_msg_t *msg);
/* Sends msg to run on the control thread (takes ownership); any thread. */
void worker_pool_post_control(worker_pool_t *wp, worker_msg_t *msg);

/* Runs an engine command on worker w (copied; any ring reference or data in
 * it moves with it).  A DATA_SEND over the worker's data-channel backlog is
 * dropped (freed, counted in data_drop_backlog).  Control thread. */
void worker_post_cmd(worker_t *w, const engine_cmd_t *cmd);
/* Where the workers' engine events go, on the control thread.  Set before
 * the first command; NULL drops them. */
typedef void (*worker_event_fn)(void *ctx, unsigned worker, const engine_event_t *ev);
void worker_pool_set_event_sink(worker_pool_t *wp, worker_event_fn fn, void *ctx);

/* Milliseconds since worker i last answered a ping (UINT64_MAX if never). */
uint64_t worker_pong_age_ms(const worker_pool_t *wp, unsigned i);
/* True when every worker answered a ping within max_age_ms. */
bool worker_pool_healthy(const worker_pool_t *wp, uint64_t max_age_ms);

#endif
