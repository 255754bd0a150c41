/*
 * cluster.h — cluster mode: several irtcd nodes behind one API, coordinated
 * through Redis (docs/ARCHITECTURE.md "Cluster", docs/ADMIN.md "Cluster").
 * Owns this node's heartbeat, the room placements, REST calls forwarded
 * between nodes, the log that carries the shared tables' changes to every
 * node, and noticing dead nodes.
 *
 * Threading.  One cluster thread with two synchronous hiredis connections
 * (commands; pub/sub) and its own SQLite connection (to apply other nodes'
 * changes).  The control thread never waits on Redis: every call below
 * queues a job (a mutex-protected list and an eventfd) and returns; answers
 * come back as h2o_multithread messages run on the control loop, where the
 * done callbacks and hooks are called.  Nothing here runs on media workers.
 * When Redis is unreachable the thread retries every second and the node
 * keeps working alone (calls answer CLUSTER_LOCAL); log entries wait.
 *
 * Does not: run REST handlers, touch rooms or recordings (the daemon does,
 * through cluster_hooks_t), or exist at all without `cluster:` in YAML.
 */
#ifndef IRTC_CLUSTER_H
#define IRTC_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "cluster/cluster_msg.h"
#include "core/buf.h"
#include "core/config.h"
#include "store/store.h"

typedef struct cluster cluster_t;

/* This node's load, reported every second. */
typedef struct {
    unsigned rooms, peers;
    uint64_t pkts_per_s;
    unsigned cpu_pct;
} cluster_load_t;

/* What the cluster asks of the daemon; all on the control thread. */
typedef struct {
    /* Fill the load and append "appId\tchannelId\n" per room hosted here. */
    void (*load)(void *ctx, cluster_load_t *out, buf_t *rooms);
    /* A room-bound REST call another node forwarded: run it here and answer
     * with cluster_reply(rpc_id, from, ...). */
    void (*on_rpc)(void *ctx, uint64_t rpc_id, const char *from, const char *route, const char *app_id,
                   const char *body, size_t len);
    /* node_id's heartbeat expired and this node won the right to clean up
     * after it (one live node per death): fail its unfinished recordings. */
    void (*on_node_dead)(void *ctx, const char *node_id);
    void *ctx;
} cluster_hooks_t;

/* How an asynchronous call ended. */
enum {
    CLUSTER_LOCAL = 0,    /* run it here: the room is ours, nobody's, or Redis is unreachable */
    CLUSTER_ANSWERED = 1, /* code/msg/data are the answer (remote node, or placement) */
    CLUSTER_FAILED = 2,   /* the owner did not answer in time, or shutdown: msg says which */
};
typedef void (*cluster_done_fn)(void *ud, int outcome, int code, const char *msg, const char *data, size_t data_len);

/* Starts the thread (it connects in the background).  control_store is the
 * control thread's connection: its changes to the shared tables are sent to
 * the log from now on.  IRTC_EIO with err (the cluster thread's own
 * connection to db_path, threads). */
int cluster_start(const cfg_t *cfg, h2o_evloop_t *loop, store_t *control_store, const char *db_path,
                  const cluster_hooks_t *hooks, cluster_t **out, char *err, size_t errcap);
/* Sends what is queued (best effort, 1 s), stops the thread; pending calls
 * end CLUSTER_FAILED.  NULL is a no-op. */
void cluster_stop(cluster_t *cl);

/* getMediaEndpoint: places each channel not yet placed on the least-loaded
 * live node (SET NX: two nodes never both take it) and answers with data =
 * {"list":[{"ip","port","channelId"}...]} naming each owner's media worker. */
void cluster_place(cluster_t *cl, const char *app_id, const char *const *channels, size_t n, cluster_done_fn done,
                   void *ud);
/* A room-bound REST call about channel_id or, when it is "", about the
 * channel of recording_id (found in the shared recordings after catching up
 * with the log): CLUSTER_LOCAL when the room is here or nowhere;
 * otherwise runs on the owner and answers with its errorCode, message and
 * data (5 s, then CLUSTER_FAILED). */
void cluster_forward(cluster_t *cl, const char *route, const char *app_id, const char *channel_id,
                     const char *recording_id, const char *body, size_t len, cluster_done_fn done, void *ud);
/* The control store's changes since the last tick go to the log now (a
 * REST call's, before its answer). */
void cluster_flush(cluster_t *cl);
/* The answer to an on_rpc call. */
void cluster_reply(cluster_t *cl, uint64_t rpc_id, const char *to, int code, const char *msg, const char *data,
                   size_t data_len);

/* Where a join for app/channel with a token naming media host:port belongs,
 * from the registry as last seen (at most a second old): 1 with the node's
 * id and advertise address when another live node serves that endpoint, 0
 * when it is this node (or no live node: it is taken here). */
int cluster_locate(cluster_t *cl, const char *host, unsigned port, char node_id[CLUSTER_ID_MAX], char advertise[256]);
/* Live nodes as last seen (at most a second old), this one included. */
size_t cluster_nodes(cluster_t *cl, const cluster_node_t **out);
/* A metrics_collector_fn (core/metrics.h) for cl. */
void cluster_collect(buf_t *out, void *cl);

/* ---- one-shot, for the command line (blocking; never on the daemon) ---- */

/* `irtcd cluster status`: the nodes and their load as a table. */
int cluster_status(const cfg_t *cfg, buf_t *out, char *err, size_t errcap);
/* Sends a changeset made by a command-line write to the log. */
int cluster_log_push(const cfg_t *cfg, const void *changeset, size_t len, char *err, size_t errcap);

#endif
