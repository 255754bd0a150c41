/*
 * cluster.c — cluster mode's control-thread side (cluster.h): the jobs it
 * queues to the cluster thread (a mutex-protected list and an eventfd), the
 * answers it runs when they come back (h2o_multithread messages: the job
 * itself, filled in), the 20 ms tick that sends the control store's changes
 * and, every second, this node's load and rooms; start and stop.
 *
 * Threads.  Everything here runs on the control thread.  The thread itself,
 * which alone touches Redis, and the job helpers both sides use are in
 * cluster_thread.c.
 * Does not: run REST handlers, touch rooms, or block the control thread.
 */
#include "cluster/cluster_internal.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "core/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ---- jobs ---- */

static void push_down(cluster_t *cl, job_t *j)
{
    uint64_t one = 1;
    if (cl->joined) { /* during cluster_stop's last loop turn: nobody would take it */
        if (j->kind == J_PLACE || j->kind == J_FORWARD)
            j->done(j->ud, CLUSTER_FAILED, 0, "the node is shutting down", "", 0);
        cluster_job_free(j);
        return;
    }
    pthread_mutex_lock(&cl->mu);
    if (cl->tail)
        cl->tail->next = j;
    else
        cl->head = j;
    cl->tail = j;
    pthread_mutex_unlock(&cl->mu);
    if (write(cl->wake_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero, the thread will look */
    }
}

/* ---- control thread: answers from the cluster thread ---- */

static void on_up_job(cluster_t *cl, job_t *j)
{
    switch (j->kind) {
    case J_PLACE:
    case J_FORWARD:
        j->done(j->ud, j->outcome, j->res_code, j->res_msg.base ? j->res_msg.base : "",
                j->res_data.base ? j->res_data.base : "", j->res_data.len);
        break;
    case J_RPC_IN:
        cl->hooks.on_rpc(cl->hooks.ctx, j->rpc_id, j->node, j->route, j->app, j->body ? j->body : "", j->len);
        break;
    case J_DEAD:
        cl->hooks.on_node_dead(cl->hooks.ctx, j->node);
        break;
    case J_VIEW:
        free(cl->view);
        cl->view = j->nodes;
        cl->nview = j->nnodes;
        j->nodes = NULL;
        break;
    }
    cluster_job_free(j);
}

static void on_up(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    cluster_t *cl = H2O_STRUCT_FROM_MEMBER(cluster_t, receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        job_t *j = H2O_STRUCT_FROM_MEMBER(job_t, super.link, messages->next);
        h2o_linklist_unlink(&j->super.link);
        on_up_job(cl, j);
    }
}

/* The control store's changes since the last call go to the log. */
static void send_changes(cluster_t *cl)
{
    void *cs = NULL;
    size_t len = 0;
    if (store_changes_take(cl->control_store, &cs, &len) != IRTC_OK || len == 0) {
        free(cs);
        return;
    }
    job_t *j = cluster_job_new(J_LOG);
    j->body = cs;
    j->len = len;
    push_down(cl, j);
}

/* Every CL_TICK_MS: the control store's changes go to the log; every
 * second the load and the rooms hosted here. */
static void on_tick(h2o_timeout_entry_t *entry)
{
    cluster_t *cl = H2O_STRUCT_FROM_MEMBER(cluster_t, tick_entry, entry);
    send_changes(cl);
    if (++cl->ticks * CL_TICK_MS >= CL_HEARTBEAT_MS) {
        cl->ticks = 0;
        job_t *j = cluster_job_new(J_LOAD);
        buf_t rooms;
        buf_init(&rooms);
        cl->hooks.load(cl->hooks.ctx, &j->load, &rooms);
        j->body = rooms.base; /* owned by the job now */
        j->len = rooms.len;
        push_down(cl, j);
    }
    h2o_timeout_link(cl->loop, &cl->tick_timeout, &cl->tick_entry);
}

/* ---- control thread: API ---- */

int cluster_start(const cfg_t *cfg, h2o_evloop_t *loop, store_t *control_store, const char *db_path,
                  const cluster_hooks_t *hooks, cluster_t **out, char *err, size_t errcap)
{
    const char *why = NULL;
    cluster_t *cl = xcalloc(1, sizeof(*cl));
    *out = NULL;
    cl->cfg = cfg;
    cl->loop = loop;
    cl->control_store = control_store;
    cl->hooks = *hooks;
    cl->wake_fd = -1;
    buf_init(&cl->hosted);
    snprintf(cl->log_id, sizeof(cl->log_id), "0-0");
    pthread_mutex_init(&cl->mu, NULL);
    if (cfg_parse_redis_url(cfg->cluster_redis_url, &cl->url, &why) != IRTC_OK) {
        snprintf(err, errcap, "cluster.redis_url: %s", why);
        goto fail;
    }
    if (store_open(db_path, &cl->store, err, errcap) != IRTC_OK)
        goto fail;
    char *pos = NULL;
    if (store_setting_get(cl->store, "cluster.log_id", &pos) == IRTC_OK && pos != NULL)
        snprintf(cl->log_id, sizeof(cl->log_id), "%s", pos);
    free(pos);
    if (store_changes_start(control_store) != IRTC_OK) {
        snprintf(err, errcap, "cannot record the store's changes (SQLite session extension)");
        goto fail;
    }
    cl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cl->wake_fd < 0) {
        snprintf(err, errcap, "eventfd: %s", strerror(errno));
        goto fail;
    }
    cl->queue = h2o_multithread_create_queue(loop);
    h2o_multithread_register_receiver(cl->queue, &cl->receiver, on_up);
    h2o_timeout_init(loop, &cl->tick_timeout, CL_TICK_MS);
    cl->tick_entry.cb = on_tick;
    h2o_timeout_link(loop, &cl->tick_timeout, &cl->tick_entry);
    if (pthread_create(&cl->tid, NULL, cluster_thread_main, cl) != 0) {
        snprintf(err, errcap, "cannot start the cluster thread");
        h2o_timeout_unlink(&cl->tick_entry);
        h2o_timeout_dispose(loop, &cl->tick_timeout);
        h2o_multithread_unregister_receiver(cl->queue, &cl->receiver);
        h2o_multithread_destroy_queue(cl->queue);
        cl->queue = NULL;
        goto fail;
    }
    log_info(CL_LOG, "node %s (advertised as %s), Redis %s:%u", cfg->cluster_node_id, cfg->cluster_advertise,
             cl->url.host, cl->url.port);
    *out = cl;
    return IRTC_OK;
fail:
    store_changes_stop(control_store);
    store_close(cl->store);
    if (cl->wake_fd >= 0)
        close(cl->wake_fd);
    pthread_mutex_destroy(&cl->mu);
    buf_dispose(&cl->hosted);
    free(cl);
    return IRTC_EIO;
}

void cluster_stop(cluster_t *cl)
{
    if (cl == NULL)
        return;
    /* The last changes, then the thread leaves the cluster and ends. */
    send_changes(cl);
    pthread_mutex_lock(&cl->mu);
    cl->stopping = true;
    pthread_mutex_unlock(&cl->mu);
    uint64_t one = 1;
    (void)!write(cl->wake_fd, &one, sizeof(one));
    pthread_join(cl->tid, NULL);
    cl->joined = true;
    /* The thread is gone: what it held is ours.  Calls still waiting end here. */
    for (job_t *j = cl->waiting, *next; j != NULL; j = next) {
        next = j->next;
        j->done(j->ud, CLUSTER_FAILED, 0, "the node is shutting down", "", 0);
        cluster_job_free(j);
    }
    for (job_t *j = cluster_take_down(cl, &(bool){false}), *next; j != NULL; j = next) {
        next = j->next;
        if (j->kind == J_PLACE || j->kind == J_FORWARD)
            j->done(j->ud, CLUSTER_FAILED, 0, "the node is shutting down", "", 0);
        cluster_job_free(j);
    }
    for (job_t *j = cl->unsent, *next; j != NULL; j = next) {
        next = j->next;
        log_warn(CL_LOG, "a change of the shared tables did not reach Redis (%zu bytes)", j->len);
        cluster_job_free(j);
    }
    h2o_timeout_unlink(&cl->tick_entry);
    h2o_timeout_dispose(cl->loop, &cl->tick_timeout);
    /* Answers already posted (done callbacks) run once more before the queue goes. */
    h2o_evloop_run(cl->loop, 0);
    h2o_multithread_unregister_receiver(cl->queue, &cl->receiver);
    h2o_multithread_destroy_queue(cl->queue);
    store_changes_stop(cl->control_store);
    if (cl->cmd)
        redisFree(cl->cmd);
    if (cl->sub)
        redisFree(cl->sub);
    cluster_job_free(cl->load);
    store_close(cl->store);
    close(cl->wake_fd);
    pthread_mutex_destroy(&cl->mu);
    buf_dispose(&cl->hosted);
    free(cl->live);
    free(cl->extra);
    free(cl->view);
    free(cl->mirrored);
    free(cl);
}

void cluster_place(cluster_t *cl, const char *app_id, const char *const *channels, size_t n, cluster_done_fn done,
                   void *ud)
{
    job_t *j = cluster_job_new(J_PLACE);
    snprintf(j->app, sizeof(j->app), "%s", app_id);
    j->chans = xcalloc(n + 1, sizeof(*j->chans));
    for (size_t i = 0; i < n; i++)
        j->chans[i] = xstrdup(channels[i]);
    j->nchans = n;
    j->done = done;
    j->ud = ud;
    push_down(cl, j);
}

void cluster_forward(cluster_t *cl, const char *route, const char *app_id, const char *channel_id,
                     const char *recording_id, const char *body, size_t len, cluster_done_fn done, void *ud)
{
    job_t *j = cluster_job_new(J_FORWARD);
    snprintf(j->rec, sizeof(j->rec), "%s", recording_id ? recording_id : "");
    snprintf(j->route, sizeof(j->route), "%s", route);
    snprintf(j->app, sizeof(j->app), "%s", app_id);
    snprintf(j->chan, sizeof(j->chan), "%s", channel_id);
    j->body = xmalloc(len + 1);
    memcpy(j->body, body, len);
    j->body[len] = '\0';
    j->len = len;
    j->done = done;
    j->ud = ud;
    push_down(cl, j);
}

void cluster_flush(cluster_t *cl)
{
    send_changes(cl);
}

void cluster_reply(cluster_t *cl, uint64_t rpc_id, const char *to, int code, const char *msg, const char *data,
                   size_t data_len)
{
    /* What the call changed is in the log before its answer leaves: the
     * asker's next call, to any node, finds it there. */
    send_changes(cl);
    job_t *j = cluster_job_new(J_REPLY);
    j->rpc_id = rpc_id;
    snprintf(j->node, sizeof(j->node), "%s", to);
    j->code = code;
    j->msg = xstrdup(msg ? msg : "");
    j->body = xmalloc(data_len + 1);
    memcpy(j->body, data, data_len);
    j->body[data_len] = '\0';
    j->len = data_len;
    push_down(cl, j);
}

int cluster_locate(cluster_t *cl, const char *host, unsigned port, char node_id[CLUSTER_ID_MAX], char advertise[256])
{
    int i = cmsg_node_for_media(cl->view, cl->nview, host, port);
    if (i < 0 || strcmp(cl->view[i].id, cl->cfg->cluster_node_id) == 0)
        return 0;
    snprintf(node_id, CLUSTER_ID_MAX, "%s", cl->view[i].id);
    snprintf(advertise, 256, "%s", cl->view[i].advertise);
    return 1;
}

size_t cluster_nodes(cluster_t *cl, const cluster_node_t **out)
{
    *out = cl->view;
    return cl->nview;
}

void cluster_collect(buf_t *out, void *ctx)
{
    cluster_t *cl = ctx;
    metrics_header(out, "irtc_cluster_redis_up", "gauge", "1 while this node is connected to Redis");
    metrics_sample(out, "irtc_cluster_redis_up", NULL, (double)atomic_load(&cl->up));
    metrics_header(out, "irtc_cluster_nodes", "gauge", "live nodes as last seen, this one included");
    metrics_sample(out, "irtc_cluster_nodes", NULL, (double)cl->nview);
    metrics_header(out, "irtc_cluster_rpc_total", "counter", "REST calls forwarded between nodes");
    metrics_sample(out, "irtc_cluster_rpc_total", "direction=\"out\"", (double)atomic_load(&cl->rpc_out));
    metrics_sample(out, "irtc_cluster_rpc_total", "direction=\"in\"", (double)atomic_load(&cl->rpc_in));
    metrics_header(out, "irtc_cluster_placements_total", "counter", "rooms this node placed");
    metrics_sample(out, "irtc_cluster_placements_total", NULL, (double)atomic_load(&cl->placed));
    metrics_header(out, "irtc_cluster_placement_conflicts_total", "counter",
                   "heartbeats that found a room hosted here placed on another node");
    metrics_sample(out, "irtc_cluster_placement_conflicts_total", NULL, (double)atomic_load(&cl->conflicts));
    metrics_header(out, "irtc_cluster_log_entries_total", "counter", "changesets of the shared tables");
    metrics_sample(out, "irtc_cluster_log_entries_total", "direction=\"out\"", (double)atomic_load(&cl->log_out));
    metrics_sample(out, "irtc_cluster_log_entries_total", "direction=\"in\"", (double)atomic_load(&cl->log_in));
    metrics_header(out, "irtc_cluster_nodes_reaped_total", "counter", "dead nodes this node cleaned up after");
    metrics_sample(out, "irtc_cluster_nodes_reaped_total", NULL, (double)atomic_load(&cl->reaped));
    metrics_header(out, "irtc_cluster_callbacks_taken_total", "counter",
                   "undelivered callbacks of dead nodes put in this node's outbox");
    metrics_sample(out, "irtc_cluster_callbacks_taken_total", NULL, (double)atomic_load(&cl->callbacks_taken));
    metrics_header(out, "irtc_cluster_redis_errors_total", "counter", "connections to Redis lost");
    metrics_sample(out, "irtc_cluster_redis_errors_total", NULL, (double)atomic_load(&cl->redis_errors));
}
