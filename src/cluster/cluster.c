/*
 * cluster.c — cluster mode (cluster.h): the cluster thread and its two
 * hiredis connections, and the control-thread side that queues work to it
 * and runs its answers.
 *
 * Threads.  cluster_* entry points and on_up() run on the control thread;
 * everything named th_* runs on the cluster thread, which alone touches the
 * Redis connections and its own SQLite connection.  Jobs go down on a
 * mutex-protected list with an eventfd wake-up; answers come up as
 * h2o_multithread messages (the job itself, filled in).  A job belongs to
 * whichever side holds it.
 *
 * Does not: run REST handlers, touch rooms, or block the control thread.
 */
#include "cluster/cluster.h"
#include "cluster/cluster_redis.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "core/metrics.h"
#include "sfu/sfu.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CL_LOG "cluster"
#define CL_TICK_MS 20          /* changesets of the control store leave this often */
#define CL_HEARTBEAT_MS 1000   /* heartbeat, placements refresh, registry scan */
#define CL_RPC_TIMEOUT_MS 5000 /* a forwarded REST call's answer */
#define CL_RESERVE_MS 60000    /* a placement nobody joined yet */
#define CL_LOG_BATCH 256
#define CL_REDIS_TIMEOUT_S 2

/* Placement: a dead owner (no heartbeat key) loses the room to the chosen node. */
static const char lua_place[] = "local v = redis.call('GET', KEYS[1]) "
                                "if v and redis.call('EXISTS', 'irtc:node:' .. v) == 1 then return v end "
                                "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return ARGV[1]";
/* A hosted room's placement, refreshed each heartbeat; answers the owner when it is another node's. */
static const char lua_claim[] = "local v = redis.call('GET', KEYS[1]) "
                                "if (not v) or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
                                "return '' end return v";
static const char lua_release[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
                                  "end return 0";

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

    /* cluster thread only */
    store_t *store;
    redisContext *cmd, *sub;
    uint64_t next_connect_ms, next_hb_ms, next_extra_reset_ms, rpc_seq;
    job_t *waiting;              /* forwards waiting for their answer */
    job_t *unsent, *unsent_tail; /* log entries not in Redis yet */
    job_t *load;                 /* the latest load */
    buf_t hosted;                /* rooms text of the last heartbeat */
    cluster_node_t *live;
    unsigned *extra;
    size_t nlive;
    char log_id[64];
    bool log_dirty;

    _Atomic uint64_t up, rpc_out, rpc_in, placed, conflicts, log_out, log_in, reaped, redis_errors;
};

/* ---- jobs ---- */

static job_t *job_new(int kind)
{
    job_t *j = xcalloc(1, sizeof(*j));
    j->kind = kind;
    buf_init(&j->res_msg);
    buf_init(&j->res_data);
    return j;
}

static void job_free(job_t *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->nchans; i++)
        free(j->chans[i]);
    free(j->chans);
    free(j->body);
    free(j->msg);
    free(j->nodes);
    buf_dispose(&j->res_msg);
    buf_dispose(&j->res_data);
    free(j);
}

static void push_down(cluster_t *cl, job_t *j)
{
    uint64_t one = 1;
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

static void push_up(cluster_t *cl, job_t *j)
{
    h2o_multithread_send_message(&cl->receiver, &j->super);
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
    job_free(j);
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
    job_t *j = job_new(J_LOG);
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
        job_t *j = job_new(J_LOAD);
        buf_t rooms;
        buf_init(&rooms);
        cl->hooks.load(cl->hooks.ctx, &j->load, &rooms);
        j->body = rooms.base; /* owned by the job now */
        j->len = rooms.len;
        push_down(cl, j);
    }
    h2o_timeout_link(cl->loop, &cl->tick_timeout, &cl->tick_entry);
}

/* ---- cluster thread: connections ---- */

redisContext *cluster_redis_open(const cfg_t *cfg, const cfg_redis_url_t *u, char *err, size_t errcap)
{
    struct timeval tv = {CL_REDIS_TIMEOUT_S, 0};
    const char *password = cfg->cluster_redis_password[0] ? cfg->cluster_redis_password : u->password;
    redisContext *c = redisConnectWithTimeout(u->host, u->port, tv);
    if (c == NULL || c->err) {
        snprintf(err, errcap, "redis %s:%u: %s", u->host, u->port, c ? c->errstr : "cannot allocate");
        goto fail;
    }
    redisSetTimeout(c, tv);
    redisReply *r = NULL;
    if (password[0] != '\0') {
        r = redisCommand(c, "AUTH %s", password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errcap, "redis %s:%u: AUTH: %s", u->host, u->port, r ? r->str : c->errstr);
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (u->db != 0) {
        r = redisCommand(c, "SELECT %u", u->db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errcap, "redis %s:%u: SELECT %u: %s", u->host, u->port, u->db, r ? r->str : c->errstr);
            freeReplyObject(r);
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    if (c != NULL)
        redisFree(c);
    return NULL;
}

static void th_disconnect(cluster_t *cl, const char *why)
{
    if (cl->cmd == NULL)
        return;
    log_warn(CL_LOG, "lost Redis (%s): working alone, retrying every second", why);
    atomic_fetch_add(&cl->redis_errors, 1);
    redisFree(cl->cmd);
    redisFree(cl->sub);
    cl->cmd = cl->sub = NULL;
    atomic_store(&cl->up, 0);
    cl->next_connect_ms = clock_mono_ms() + 1000;
}

/* A command's reply, or NULL after dropping the connections. */
static redisReply *th_cmd(cluster_t *cl, const char *fmt, ...)
{
    va_list ap;
    if (cl->cmd == NULL)
        return NULL;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(cl->cmd, fmt, ap);
    va_end(ap);
    if (r == NULL) {
        th_disconnect(cl, cl->cmd->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR)
        log_warn(CL_LOG, "redis: %s", r->str);
    return r;
}

static void th_connect(cluster_t *cl)
{
    char err[512];
    static bool warned;
    cl->next_connect_ms = clock_mono_ms() + 1000;
    cl->cmd = cluster_redis_open(cl->cfg, &cl->url, err, sizeof(err));
    if (cl->cmd != NULL)
        cl->sub = cluster_redis_open(cl->cfg, &cl->url, err, sizeof(err));
    if (cl->sub == NULL) {
        if (cl->cmd)
            redisFree(cl->cmd);
        cl->cmd = NULL;
        if (!warned)
            log_warn(CL_LOG, "%s (retrying every second)", err);
        warned = true;
        return;
    }
    buf_t ch;
    buf_init(&ch);
    cmsg_key_rpc(&ch, cl->cfg->cluster_node_id);
    redisReply *r = redisCommand(cl->sub, "SUBSCRIBE %s %s", ch.base, CMSG_CHAN_LOG);
    buf_dispose(&ch);
    /* SUBSCRIBE answers once per channel; the first answer is here, the second is read with the messages. */
    if (r == NULL) {
        redisFree(cl->cmd);
        redisFree(cl->sub);
        cl->cmd = cl->sub = NULL;
        return;
    }
    freeReplyObject(r);
    warned = false;
    atomic_store(&cl->up, 1);
    cl->next_hb_ms = 0;
    log_info(CL_LOG, "connected to Redis %s:%u as node %s", cl->url.host, cl->url.port, cl->cfg->cluster_node_id);
}

/* ---- cluster thread: the log of shared-table changes ---- */

static void th_log_send(cluster_t *cl)
{
    while (cl->unsent != NULL && cl->cmd != NULL) {
        job_t *j = cl->unsent;
        redisReply *r = th_cmd(cl, "XADD %s MAXLEN ~ %d * node %s cs %b", CMSG_KEY_LOG, CL_LOG_MAXLEN,
                               cl->cfg->cluster_node_id, j->body, j->len);
        if (r == NULL)
            return; /* kept: sent after reconnecting */
        bool ok = r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
        if (!ok)
            return;
        cl->unsent = j->next;
        if (cl->unsent == NULL)
            cl->unsent_tail = NULL;
        job_free(j);
        atomic_fetch_add(&cl->log_out, 1);
        freeReplyObject(th_cmd(cl, "PUBLISH %s %s", CMSG_CHAN_LOG, cl->cfg->cluster_node_id));
    }
}

/* Applies one XREAD entry [id, [field, value, ...]] unless it is ours. */
static void th_log_entry(cluster_t *cl, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *f = e->element[1];
    const char *node = NULL;
    const redisReply *cs = NULL;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type != REDIS_REPLY_STRING || f->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(f->element[i]->str, "node") == 0)
            node = f->element[i + 1]->str;
        else if (strcmp(f->element[i]->str, "cs") == 0)
            cs = f->element[i + 1];
    }
    snprintf(cl->log_id, sizeof(cl->log_id), "%s", e->element[0]->str);
    cl->log_dirty = true;
    if (node == NULL || cs == NULL || strcmp(node, cl->cfg->cluster_node_id) == 0)
        return;
    int rc = store_changes_apply(cl->store, cs->str, cs->len);
    if (rc != IRTC_OK)
        log_warn(CL_LOG, "log entry %s from %s not applied: %s", cl->log_id, node, irtc_strerror(rc));
    else
        atomic_fetch_add(&cl->log_in, 1);
}

static void th_log_read(cluster_t *cl)
{
    for (int rounds = 0; rounds < 64 && cl->cmd != NULL; rounds++) {
        redisReply *r = th_cmd(cl, "XREAD COUNT %d STREAMS %s %s", CL_LOG_BATCH, CMSG_KEY_LOG, cl->log_id);
        if (r == NULL)
            return;
        size_t n = 0;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == 2 && r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *entries = r->element[0]->element[1];
            n = entries->elements;
            for (size_t i = 0; i < n; i++)
                th_log_entry(cl, entries->element[i]);
        }
        freeReplyObject(r);
        if (n < CL_LOG_BATCH)
            break;
    }
    if (cl->log_dirty) {
        store_setting_set(cl->store, "cluster.log_id", cl->log_id);
        cl->log_dirty = false;
    }
}

/* ---- cluster thread: registry, heartbeat, dead nodes ---- */

static int live_index(const cluster_t *cl, const char *id)
{
    for (size_t i = 0; i < cl->nlive; i++) {
        if (strcmp(cl->live[i].id, id) == 0)
            return (int)i;
    }
    return -1;
}

static bool has_line(const buf_t *text, const char *line, size_t len)
{
    for (const char *p = text->base; p != NULL && p < text->base + text->len;) {
        const char *nl = memchr(p, '\n', (size_t)(text->base + text->len - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(text->base + text->len - p);
        if (l == len && memcmp(p, line, len) == 0)
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

/* Calls fn for each "app\tchannel" line of text. */
static void each_room(cluster_t *cl, const char *text, size_t len, const char *owner,
                      void (*fn)(cluster_t *, const char *app, const char *chan, const char *owner, void *), void *arg)
{
    const char *end = text + len;
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *tab = memchr(p, '\t', (size_t)(le - p));
        if (tab != NULL && tab - p < 65 && le - tab - 1 < 65 && tab > p && le > tab + 1) {
            char app[65], chan[65];
            memcpy(app, p, (size_t)(tab - p));
            app[tab - p] = '\0';
            memcpy(chan, tab + 1, (size_t)(le - tab - 1));
            chan[le - tab - 1] = '\0';
            fn(cl, app, chan, owner, arg);
        }
        p = le + 1;
    }
}

static void room_release(cluster_t *cl, const char *app, const char *chan, const char *owner, void *arg)
{
    buf_t key;
    (void)arg;
    buf_init(&key);
    cmsg_key_room(&key, app, chan);
    freeReplyObject(th_cmd(cl, "EVAL %s 1 %s %s", lua_release, key.base, owner));
    buf_dispose(&key);
}

static void room_claim(cluster_t *cl, const char *app, const char *chan, const char *owner, void *arg)
{
    buf_t key;
    (void)arg;
    buf_init(&key);
    cmsg_key_room(&key, app, chan);
    redisReply *r = th_cmd(cl, "EVAL %s 1 %s %s %llu", lua_claim, key.base, owner,
                           (unsigned long long)(3 * cl->cfg->cluster_node_ttl_ms));
    if (r != NULL && r->type == REDIS_REPLY_STRING && r->len > 0) {
        /* Two nodes host the same room (a join raced a placement, or a
         * client came back to a node other than the one it was placed on). */
        if (atomic_fetch_add(&cl->conflicts, 1) % 100 == 0)
            log_warn(CL_LOG, "room %s/%s is hosted here but placed on node %s", app, chan, r->str);
    }
    freeReplyObject(r);
    buf_dispose(&key);
}

/* Lines of the previous heartbeat no longer hosted: their placements go. */
static void room_if_gone(cluster_t *cl, const char *app, const char *chan, const char *owner, void *arg)
{
    const job_t *now = arg;
    char line[140];
    int n = snprintf(line, sizeof(line), "%s\t%s", app, chan);
    buf_t cur = {.base = now ? now->body : NULL, .len = now ? now->len : 0};
    if (!has_line(&cur, line, (size_t)n))
        room_release(cl, app, chan, owner, NULL);
}

static void th_reap(cluster_t *cl, const char *dead)
{
    buf_t key;
    buf_init(&key);
    buf_printf(&key, "irtc:reap:%s", dead);
    redisReply *r = th_cmd(cl, "SET %s %s NX PX 30000", key.base, cl->cfg->cluster_node_id);
    bool won = r != NULL && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!won) {
        buf_dispose(&key);
        return;
    }
    buf_reset(&key);
    cmsg_key_rooms(&key, dead);
    r = th_cmd(cl, "GET %s", key.base);
    if (r != NULL && r->type == REDIS_REPLY_STRING)
        each_room(cl, r->str, r->len, dead, room_release, NULL);
    freeReplyObject(r);
    freeReplyObject(th_cmd(cl, "DEL %s", key.base));
    /* Placements its last heartbeat did not list (made in its last second,
     * or reserved by getMediaEndpoint and never joined) go too. */
    char cursor[32] = "0";
    do {
        r = th_cmd(cl, "SCAN %s MATCH irtc:room:* COUNT 1000", cursor);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const redisReply *k = r->element[1]->element[i];
            if (k->type == REDIS_REPLY_STRING)
                freeReplyObject(th_cmd(cl, "EVAL %s 1 %s %s", lua_release, k->str, dead));
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0 && cl->cmd != NULL);
    freeReplyObject(th_cmd(cl, "SREM %s %s", CMSG_KEY_NODES, dead));
    buf_dispose(&key);
    log_warn(CL_LOG, "node %s stopped sending heartbeats: its rooms are released", dead);
    atomic_fetch_add(&cl->reaped, 1);
    job_t *j = job_new(J_DEAD);
    snprintf(j->node, sizeof(j->node), "%s", dead);
    push_up(cl, j);
}

static void th_scan(cluster_t *cl)
{
    redisReply *ids = th_cmd(cl, "SMEMBERS %s", CMSG_KEY_NODES);
    if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(ids);
        return;
    }
    cluster_node_t *live = xcalloc(ids->elements + 1, sizeof(*live));
    size_t n = 0;
    for (size_t i = 0; i < ids->elements && cl->cmd != NULL; i++) {
        const redisReply *id = ids->element[i];
        if (id->type != REDIS_REPLY_STRING || id->len >= CLUSTER_ID_MAX)
            continue;
        buf_t key;
        buf_init(&key);
        cmsg_key_node(&key, id->str);
        redisReply *r = th_cmd(cl, "GET %s", key.base);
        buf_dispose(&key);
        if (r != NULL && r->type == REDIS_REPLY_STRING && cmsg_node_parse(r->str, r->len, &live[n]))
            n++;
        else if (r != NULL && r->type == REDIS_REPLY_NIL)
            th_reap(cl, id->str);
        freeReplyObject(r);
    }
    freeReplyObject(ids);
    unsigned *extra = xcalloc(n + 1, sizeof(*extra));
    for (size_t i = 0; i < n; i++) { /* carry the recent placements over */
        int k = live_index(cl, live[i].id);
        extra[i] = k >= 0 ? cl->extra[k] : 0;
    }
    free(cl->live);
    free(cl->extra);
    cl->live = live;
    cl->extra = extra;
    cl->nlive = n;
    job_t *v = job_new(J_VIEW);
    v->nodes = xcalloc(n + 1, sizeof(*v->nodes));
    memcpy(v->nodes, live, n * sizeof(*live));
    v->nnodes = n;
    push_up(cl, v);
}

static void th_heartbeat(cluster_t *cl)
{
    const cfg_t *cfg = cl->cfg;
    cluster_node_t me = {0};
    snprintf(me.id, sizeof(me.id), "%s", cfg->cluster_node_id);
    snprintf(me.advertise, sizeof(me.advertise), "%s", cfg->cluster_advertise);
    snprintf(me.media_ip, sizeof(me.media_ip), "%s", cfg->media_ips[0]);
    me.media_port = cfg->media_port;
    me.workers = cfg_worker_count(cfg);
    if (cl->load != NULL) {
        me.rooms = cl->load->load.rooms;
        me.peers = cl->load->load.peers;
        me.pkts_per_s = cl->load->load.pkts_per_s;
        me.cpu_pct = cl->load->load.cpu_pct;
    }
    buf_t b, key;
    buf_init(&b);
    buf_init(&key);
    cmsg_node_write(&b, &me);
    cmsg_key_node(&key, me.id);
    freeReplyObject(
        th_cmd(cl, "SET %s %b PX %llu", key.base, b.base, b.len, (unsigned long long)cfg->cluster_node_ttl_ms));
    freeReplyObject(th_cmd(cl, "SADD %s %s", CMSG_KEY_NODES, me.id));
    /* This node's rooms: refreshed placements, and the list a reaper reads. */
    const char *rooms = cl->load && cl->load->body ? cl->load->body : "";
    size_t rooms_len = cl->load ? cl->load->len : 0;
    buf_reset(&key);
    cmsg_key_rooms(&key, me.id);
    freeReplyObject(th_cmd(cl, "SET %s %b", key.base, rooms, rooms_len));
    each_room(cl, rooms, rooms_len, me.id, room_claim, NULL);
    each_room(cl, cl->hosted.base ? cl->hosted.base : "", cl->hosted.len, me.id, room_if_gone, cl->load);
    buf_reset(&cl->hosted);
    buf_append(&cl->hosted, rooms, rooms_len);
    buf_dispose(&b);
    buf_dispose(&key);
    th_scan(cl);
    th_log_read(cl);
}

/* ---- cluster thread: jobs ---- */

static void th_answer(cluster_t *cl, job_t *j, int outcome, int code, const char *msg)
{
    j->outcome = outcome;
    j->res_code = code;
    if (msg != NULL)
        buf_puts(&j->res_msg, msg);
    push_up(cl, j);
}

static void th_place(cluster_t *cl, job_t *j)
{
    if (cl->cmd == NULL) {
        th_answer(cl, j, CLUSTER_LOCAL, 0, NULL);
        return;
    }
    buf_puts(&j->res_data, "{\"list\":[");
    for (size_t i = 0; i < j->nchans; i++) {
        int best = cmsg_least_loaded(cl->live, cl->extra, cl->nlive);
        const char *chosen = best >= 0 ? cl->live[best].id : cl->cfg->cluster_node_id;
        buf_t key;
        buf_init(&key);
        cmsg_key_room(&key, j->app, j->chans[i]);
        redisReply *r = th_cmd(cl, "EVAL %s 1 %s %s %d", lua_place, key.base, chosen, CL_RESERVE_MS);
        buf_dispose(&key);
        int k = r != NULL && r->type == REDIS_REPLY_STRING ? live_index(cl, r->str) : -1;
        if (k < 0) { /* Redis failed, or a node we have not seen yet: answer from here */
            freeReplyObject(r);
            buf_reset(&j->res_data);
            {
                th_answer(cl, j, CLUSTER_LOCAL, 0, NULL);
                return;
            }
        }
        if (strcmp(r->str, chosen) == 0) {
            cl->extra[k]++;
            atomic_fetch_add(&cl->placed, 1);
        }
        freeReplyObject(r);
        const cluster_node_t *n = &cl->live[k];
        unsigned port = n->media_port + sfu_worker_for_channel(j->app, j->chans[i], n->workers);
        buf_puts(&j->res_data, i ? ",{\"ip\":" : "{\"ip\":");
        json_write_string(&j->res_data, n->media_ip);
        /* The guide's answer carries the port as a string. */
        buf_printf(&j->res_data, ",\"port\":\"%u\",\"channelId\":", port);
        json_write_string(&j->res_data, j->chans[i]);
        buf_putc(&j->res_data, '}');
    }
    buf_puts(&j->res_data, "]}");
    th_answer(cl, j, CLUSTER_ANSWERED, 0, NULL);
}

static void th_forward(cluster_t *cl, job_t *j)
{
    buf_t key, m;
    if (cl->cmd == NULL) {
        th_answer(cl, j, CLUSTER_LOCAL, 0, NULL);
        return;
    }
    buf_init(&key);
    cmsg_key_room(&key, j->app, j->chan);
    redisReply *r = th_cmd(cl, "GET %s", key.base);
    buf_dispose(&key);
    if (r == NULL || r->type != REDIS_REPLY_STRING || strcmp(r->str, cl->cfg->cluster_node_id) == 0 ||
        live_index(cl, r->str) < 0) {
        freeReplyObject(r);
        {
            th_answer(cl, j, CLUSTER_LOCAL, 0, NULL);
            return;
        }
    }
    snprintf(j->node, sizeof(j->node), "%s", r->str);
    freeReplyObject(r);
    j->rpc_id = ++cl->rpc_seq;
    cmsg_rpc_t q = {.id = j->rpc_id, .body = j->body, .body_len = j->len};
    snprintf(q.from, sizeof(q.from), "%s", cl->cfg->cluster_node_id);
    snprintf(q.route, sizeof(q.route), "%s", j->route);
    snprintf(q.app_id, sizeof(q.app_id), "%s", j->app);
    buf_init(&m);
    buf_init(&key);
    cmsg_rpc_write(&m, &q);
    cmsg_key_rpc(&key, j->node);
    r = th_cmd(cl, "PUBLISH %s %b", key.base, m.base, m.len);
    buf_dispose(&m);
    buf_dispose(&key);
    bool heard = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    if (!heard) /* nobody listens on the owner's channel: it is gone, the room with it */
    {
        th_answer(cl, j, CLUSTER_LOCAL, 0, NULL);
        return;
    }
    atomic_fetch_add(&cl->rpc_out, 1);
    j->deadline_ms = clock_mono_ms() + CL_RPC_TIMEOUT_MS;
    j->next = cl->waiting;
    cl->waiting = j;
}

static void th_reply(cluster_t *cl, job_t *j)
{
    cmsg_rpc_t a = {.reply = true,
                    .id = j->rpc_id,
                    .code = j->code,
                    .msg = j->msg,
                    .msg_len = j->msg ? strlen(j->msg) : 0,
                    .body = j->body,
                    .body_len = j->len};
    snprintf(a.from, sizeof(a.from), "%s", cl->cfg->cluster_node_id);
    buf_t m, key;
    buf_init(&m);
    buf_init(&key);
    cmsg_rpc_write(&m, &a);
    cmsg_key_rpc(&key, j->node);
    freeReplyObject(th_cmd(cl, "PUBLISH %s %b", key.base, m.base, m.len));
    buf_dispose(&m);
    buf_dispose(&key);
    job_free(j);
}

static void th_job(cluster_t *cl, job_t *j)
{
    switch (j->kind) {
    case J_PLACE:
        th_place(cl, j);
        break;
    case J_FORWARD:
        th_forward(cl, j);
        break;
    case J_REPLY:
        th_reply(cl, j);
        break;
    case J_LOG:
        if (cl->unsent_tail)
            cl->unsent_tail->next = j;
        else
            cl->unsent = j;
        cl->unsent_tail = j;
        th_log_send(cl);
        break;
    case J_LOAD:
        job_free(cl->load);
        cl->load = j;
        break;
    default:
        job_free(j);
    }
}

/* A message on our pub/sub connection: an answer, a call, or log news. */
static void th_message(cluster_t *cl, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(r->element[1]->str, CMSG_CHAN_LOG) == 0) {
        if (strcmp(r->element[2]->str, cl->cfg->cluster_node_id) != 0)
            th_log_read(cl);
        return;
    }
    cmsg_rpc_t m;
    json_value_t *root = NULL;
    if (!cmsg_rpc_parse(r->element[2]->str, r->element[2]->len, &m, &root)) {
        log_warn(CL_LOG, "malformed node-to-node message ignored");
        json_free(root);
        return;
    }
    if (m.reply) {
        for (job_t **pp = &cl->waiting; *pp != NULL; pp = &(*pp)->next) {
            job_t *j = *pp;
            if (j->rpc_id != m.id || strcmp(j->node, m.from) != 0)
                continue;
            *pp = j->next;
            j->next = NULL;
            j->outcome = CLUSTER_ANSWERED;
            j->res_code = m.code;
            buf_append(&j->res_msg, m.msg, m.msg_len);
            buf_append(&j->res_data, m.body, m.body_len);
            push_up(cl, j);
            break;
        }
    } else {
        job_t *j = job_new(J_RPC_IN);
        j->rpc_id = m.id;
        snprintf(j->node, sizeof(j->node), "%s", m.from);
        snprintf(j->route, sizeof(j->route), "%s", m.route);
        snprintf(j->app, sizeof(j->app), "%s", m.app_id);
        j->body = xmalloc(m.body_len + 1);
        memcpy(j->body, m.body, m.body_len);
        j->body[m.body_len] = '\0';
        j->len = m.body_len;
        atomic_fetch_add(&cl->rpc_in, 1);
        push_up(cl, j);
    }
    json_free(root);
}

static void th_read_sub(cluster_t *cl)
{
    if (redisBufferRead(cl->sub) != REDIS_OK) {
        th_disconnect(cl, cl->sub->errstr);
        return;
    }
    void *reply = NULL;
    while (cl->sub != NULL && redisGetReplyFromReader(cl->sub, &reply) == REDIS_OK && reply != NULL) {
        th_message(cl, reply);
        freeReplyObject(reply);
        reply = NULL;
    }
}

static void th_expire(cluster_t *cl, uint64_t now)
{
    for (job_t **pp = &cl->waiting; *pp != NULL;) {
        job_t *j = *pp;
        if (now < j->deadline_ms && cl->cmd != NULL) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        j->next = NULL;
        char msg[96];
        snprintf(msg, sizeof(msg), "node %s hosting the room did not answer", j->node);
        th_answer(cl, j, CLUSTER_FAILED, 0, msg);
    }
}

static job_t *take_down(cluster_t *cl, bool *stopping)
{
    pthread_mutex_lock(&cl->mu);
    job_t *j = cl->head;
    cl->head = cl->tail = NULL;
    *stopping = cl->stopping;
    pthread_mutex_unlock(&cl->mu);
    return j;
}

/* Graceful leave: our rooms and heartbeat go now rather than at expiry. */
static void th_leave(cluster_t *cl)
{
    if (cl->cmd == NULL)
        return;
    th_log_send(cl);
    each_room(cl, cl->hosted.base ? cl->hosted.base : "", cl->hosted.len, cl->cfg->cluster_node_id, room_release, NULL);
    buf_t key;
    buf_init(&key);
    cmsg_key_node(&key, cl->cfg->cluster_node_id);
    freeReplyObject(th_cmd(cl, "DEL %s", key.base));
    buf_reset(&key);
    cmsg_key_rooms(&key, cl->cfg->cluster_node_id);
    freeReplyObject(th_cmd(cl, "DEL %s", key.base));
    freeReplyObject(th_cmd(cl, "SREM %s %s", CMSG_KEY_NODES, cl->cfg->cluster_node_id));
    buf_dispose(&key);
}

static void *cluster_main(void *arg)
{
    cluster_t *cl = arg;
    bool stopping = false;
    while (!stopping) {
        uint64_t now = clock_mono_ms();
        if (cl->cmd == NULL && now >= cl->next_connect_ms)
            th_connect(cl);
        if (cl->cmd != NULL && cl->unsent != NULL)
            th_log_send(cl);
        int timeout = 1000;
        if (cl->cmd != NULL)
            timeout = cl->next_hb_ms > now ? (int)(cl->next_hb_ms - now) : 0;
        struct pollfd pfd[2] = {{.fd = cl->wake_fd, .events = POLLIN},
                                {.fd = cl->sub ? cl->sub->fd : -1, .events = POLLIN}};
        if (poll(pfd, 2, timeout > 1000 ? 1000 : timeout) < 0 && errno != EINTR)
            break;
        uint64_t v;
        if (pfd[0].revents & POLLIN)
            (void)!read(cl->wake_fd, &v, sizeof(v));
        for (job_t *j = take_down(cl, &stopping), *next; j != NULL; j = next) {
            next = j->next;
            j->next = NULL;
            th_job(cl, j);
        }
        if (cl->sub != NULL && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
            th_read_sub(cl);
        now = clock_mono_ms();
        if (cl->cmd != NULL && now >= cl->next_hb_ms) {
            cl->next_hb_ms = now + CL_HEARTBEAT_MS;
            if (now >= cl->next_extra_reset_ms) { /* recent placements show in heartbeats by now */
                memset(cl->extra, 0, cl->nlive * sizeof(*cl->extra));
                cl->next_extra_reset_ms = now + 5 * CL_HEARTBEAT_MS;
            }
            th_heartbeat(cl);
        }
        th_expire(cl, now);
    }
    th_leave(cl);
    return NULL;
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
    if (pthread_create(&cl->tid, NULL, cluster_main, cl) != 0) {
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
    /* The thread is gone: what it held is ours.  Calls still waiting end here. */
    for (job_t *j = cl->waiting, *next; j != NULL; j = next) {
        next = j->next;
        j->done(j->ud, CLUSTER_FAILED, 0, "the node is shutting down", "", 0);
        job_free(j);
    }
    for (job_t *j = take_down(cl, &(bool){false}), *next; j != NULL; j = next) {
        next = j->next;
        if (j->kind == J_PLACE || j->kind == J_FORWARD)
            j->done(j->ud, CLUSTER_FAILED, 0, "the node is shutting down", "", 0);
        job_free(j);
    }
    for (job_t *j = cl->unsent, *next; j != NULL; j = next) {
        next = j->next;
        log_warn(CL_LOG, "a change of the shared tables did not reach Redis (%zu bytes)", j->len);
        job_free(j);
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
    job_free(cl->load);
    store_close(cl->store);
    close(cl->wake_fd);
    pthread_mutex_destroy(&cl->mu);
    buf_dispose(&cl->hosted);
    free(cl->live);
    free(cl->extra);
    free(cl->view);
    free(cl);
}

void cluster_place(cluster_t *cl, const char *app_id, const char *const *channels, size_t n, cluster_done_fn done,
                   void *ud)
{
    job_t *j = job_new(J_PLACE);
    snprintf(j->app, sizeof(j->app), "%s", app_id);
    j->chans = xcalloc(n + 1, sizeof(*j->chans));
    for (size_t i = 0; i < n; i++)
        j->chans[i] = xstrdup(channels[i]);
    j->nchans = n;
    j->done = done;
    j->ud = ud;
    push_down(cl, j);
}

void cluster_forward(cluster_t *cl, const char *route, const char *app_id, const char *channel_id, const char *body,
                     size_t len, cluster_done_fn done, void *ud)
{
    job_t *j = job_new(J_FORWARD);
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

void cluster_reply(cluster_t *cl, uint64_t rpc_id, const char *to, int code, const char *msg, const char *data,
                   size_t data_len)
{
    job_t *j = job_new(J_REPLY);
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
    metrics_header(out, "irtc_cluster_redis_errors_total", "counter", "connections to Redis lost");
    metrics_sample(out, "irtc_cluster_redis_errors_total", NULL, (double)atomic_load(&cl->redis_errors));
}
