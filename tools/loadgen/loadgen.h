/*
 * loadgen.h — irtc-loadgen's shared state: the users it drives (one client
 * each, or a Janus handle set), the scenario parameters, measurement marks
 * and rows.  One thread.
 */
#ifndef IRTC_LOADGEN_H
#define IRTC_LOADGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "client/client.h"
#include "probe.h"

#define LG_MAX_SUBS 16

typedef struct lg lg_t;
typedef struct janus janus_t;

typedef struct {
    lg_t *lg;
    ic_client_t *c; /* irtcd */
    void *janus;    /* Janus: janus.c's per-user state */
    int room;
    bool publish, subscribe;
    char user_id[24], channel[48];
    bool joined, published, failed, left, leaving;
    int n_subs, subs_up, subs_expected;
    uint64_t join_sent_us, joined_us, sub_up_us, first_media_us, lifetime_us;
    uint64_t rx_at_mark, rx_window; /* packets received at the last lg_mark, and between the last two */
} lg_user_t;

typedef struct {
    probe_snap_t srv;
    ic_recv_stats_t rx;
    double self_cpu_s;
    uint64_t self_rcvbuf_errors; /* the load generator's namespace */
    uint64_t at_us;
} lg_mark_t;

typedef struct {
    int subs;
    double fwd_pps, rcv_pps, worker_pct, user_pct, sys_pct, us_per_pkt, loss, dwell50, dwell99, lg_pct;
    double proc_pct, us_per_pkt_proc; /* the whole server process */
    double wait_pct;                  /* media worker runnable but not running */
    uint64_t srv_drops, lg_drops;     /* UDP buffer drops: server's namespace, ours */
    int shortchanged;                 /* subscribers that got < LG_SHORT_FRACTION of the best one's packets */
} lg_row_t;

struct lg {
    const char *scenario, *steps;
    pid_t server_pid;
    const char *host, *bind_ip;
    unsigned https_port, media_port;
    unsigned media_workers; /* irtcd's media.workers: a room's port is media_port + its worker (0: 1) */
    const char *app_id, *access_key, *tenant;
    unsigned window_ms, settle_ms, verify_every;
    int join_rate, join_batch, storm_count, storm_rate, churn_users;
    unsigned churn_seconds;
    const char *worker_prefix, *control_prefix;
    ic_publish_opts_t pub_opts;
    bool audio_only;
    ic_loop_t *loop;
    janus_t *janus;
    lg_user_t **users;
    int n_users, next_user_no;
    int join_failures, sub_failures, unexpected_leaves;
    ic_recv_stats_t rx_gone; /* receive counters of users already removed */
    FILE *csv;
    const char *label; /* first CSV column */
};

lg_user_t *lg_add_user(lg_t *lg, int room, bool publish, bool subscribe);
void lg_remove_user(lg_t *lg, lg_user_t *u);
void lg_run_ms(lg_t *lg, unsigned ms);
int lg_wait_ready(lg_t *lg, unsigned max_ms);
void lg_mark(lg_t *lg, lg_mark_t *m);
void lg_header(lg_t *lg);
lg_row_t lg_row(lg_t *lg, const char *label, int subs, const lg_mark_t *a, const lg_mark_t *b);
/* Appends the row to --csv (scenario, server, figures), for the side-by-side table. */
void lg_record(lg_t *lg, const lg_row_t *r);

#endif
