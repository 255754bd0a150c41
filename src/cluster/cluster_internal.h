/*
 * cluster_internal.h — what the two halves of cluster mode share: the job
 * that crosses between the control thread (cluster.c) and the cluster thread
 * (cluster_thread.c), the cluster object, and the thread's entry point.
 * Internal to src/cluster/.  Which thread may touch which field is said at
 * each field; a job belongs to whichever side holds it.
 */
#ifndef IRTC_CLUSTER_INTERNAL_H
#define IRTC_CLUSTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "cluster/cluster.h"
#include "cluster/cluster_redis.h"

#define CL_LOG "cluster"
#define CL_TICK_MS 20              /* changesets of the control store leave this often */
#define CL_HEARTBEAT_MS 1000       /* heartbeat, placements refresh, registry scan */
#define CL_RPC_TIMEOUT_MS 5000     /* a forwarded REST call's answer */
#define CL_VIEW_FRESH_MS 200       /* a placement rescans a registry view older than this */
#define CL_RESERVE_MS 60000        /* a placement nobody joined yet */
#define CL_LOG_BATCH 256           /* log entries read per XREAD */
#define CL_OUTBOX_MIRROR_MAX 10000 /* undelivered callbacks mirrored in Redis (the oldest due first) */

enum {
    J_PLACE,   /* down: getMediaEndpoint; up: its answer */
    J_FORWARD, /* down: a room-bound REST call; up: its answer */
    J_REPLY,   /* down: our answer to another node's call */
    J_LOG,     /* down: a changeset of the control store */
    J_LOAD,    /* down: the load and rooms of the last second */
    J_RPC_IN,  /* up: another node's call to run here */
    J_DEAD,    /* up: a dead node to clean up after */
    J_VIEW,    /* up: the live nodes */
};

typedef struct job job_t;
struct job {
    h2o_multithread_message_t super; /* must be first: up messages */
    job_t *next;                     /* down list, waiting list, unsent log */
    int kind;
    char app[65], chan[65], route[32], node[CLUSTER_ID_MAX];
    char rec[32]; /* FORWARD without a channel: the recording it is about */
    char **chans;
    size_t nchans;
    char *body; /* FORWARD/RPC_IN body, REPLY data, LOG changeset, LOAD rooms text */
    size_t len;
    uint64_t rpc_id;
    int code;
    char *msg;
    cluster_load_t load;
    cluster_done_fn done;
    void *ud;
    uint64_t deadline_ms;
    /* answer */
    int outcome, res_code;
    buf_t res_msg, res_data;
    cluster_node_t *nodes; /* VIEW */
    size_t nnodes;
};

/* The cluster object.  Control thread: the fields up to nview; the cluster
 * thread: the fields after "cluster thread only"; both: the down list under
 * mu, and the atomics. */
struct cluster {
    const cfg_t *cfg;
    cfg_redis_url_t url;
    h2o_evloop_t *loop;
    store_t *control_store;
    cluster_hooks_t hooks;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    h2o_timeout_t tick_timeout;
    h2o_timeout_entry_t tick_entry;
    unsigned ticks;
    cluster_node_t *view; /* control thread: live nodes as last seen */
    size_t nview;

    pthread_t tid;
    int wake_fd;
    pthread_mutex_t mu;
    job_t *head, *tail; /* down */
    bool stopping;
    bool joined; /* control thread: the thread has ended; jobs are no longer queued */

    /* cluster thread only */
    store_t *store;
    redisContext *cmd, *sub;
    uint64_t next_connect_ms, next_hb_ms, next_extra_reset_ms, rpc_seq;
    uint64_t scanned_ms; /* when th_scan last read the registry */
    job_t *waiting;              /* forwards waiting for their answer */
    job_t *unsent, *unsent_tail; /* log entries not in Redis yet */
    job_t *load;                 /* the latest load */
    buf_t hosted;                /* rooms text of the last heartbeat */
    cluster_node_t *live;
    unsigned *extra;
    size_t nlive;
    char log_id[64];
    bool log_dirty;
    int64_t *mirrored; /* outbox row ids mirrored in irtc:outbox:<me>, sorted */
    size_t nmirrored;

    _Atomic uint64_t callbacks_taken; /* outbox rows taken over from dead nodes */
    _Atomic uint64_t up, rpc_out, rpc_in, placed, conflicts, log_out, log_in, reaped, redis_errors;
};

/* Jobs: new/free on either thread; push_up from the cluster thread (the
 * control loop runs it); take_down from either (the cluster thread, or
 * cluster_stop once the thread is gone). */
job_t *cluster_job_new(int kind);
void cluster_job_free(job_t *j);
void cluster_push_up(cluster_t *cl, job_t *j);
job_t *cluster_take_down(cluster_t *cl, bool *stopping);
/* The cluster thread (cluster_thread.c). */
void *cluster_thread_main(void *arg);

#endif
