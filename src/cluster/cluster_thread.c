/*
 * cluster_thread.c — the cluster thread (cluster.h, cluster_internal.h): its
 * two hiredis connections (commands with 2 s timeouts; pub/sub, read when
 * poll says so) and its own SQLite connection.  Heartbeat and registry scan
 * every second, placements, REST calls forwarded to the node hosting a room
 * and their answers, the shared tables' log (sent and applied), and the
 * clean-up after a dead node.  Everything here runs on the cluster thread;
 * it talks to the control thread only through jobs (cluster.c).
 *
 * Does not: run REST handlers or touch rooms (the control thread does, when
 * the jobs it gets back say so); never blocks anything but itself.
 */
#include "cluster/cluster_internal.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "sfu/sfu.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CL_REDIS_TIMEOUT_S 2

/* ---- jobs (here, not in cluster.c, so that cluster.c depends on this file
 * and never the other way round) ---- */

job_t *cluster_job_new(int kind)
{
    job_t *j = xcalloc(1, sizeof(*j));
    j->kind = kind;
    buf_init(&j->res_msg);
    buf_init(&j->res_data);
    return j;
}

void cluster_job_free(job_t *j)
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

void cluster_push_up(cluster_t *cl, job_t *j)
{
    h2o_multithread_send_message(&cl->receiver, &j->super);
}

job_t *cluster_take_down(cluster_t *cl, bool *stopping)
{
    pthread_mutex_lock(&cl->mu);
    job_t *j = cl->head;
    cl->head = cl->tail = NULL;
    *stopping = cl->stopping;
    pthread_mutex_unlock(&cl->mu);
    return j;
}

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
    cl->nmirrored = 0; /* a restarted Redis has lost the mirror: set every row again */
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
        cluster_job_free(j);
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

/* ---- cluster thread: the callback outbox, mirrored for takeover ---- */

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool id_in(const int64_t *ids, size_t n, int64_t id)
{
    return n > 0 && bsearch(&id, ids, n, sizeof(*ids), cmp_id) != NULL;
}

/* This node's callbacks still to deliver are mirrored in irtc:outbox:<me>
 * (rows added since the last heartbeat set, rows delivered or given up
 * removed), so that whoever reaps this node can send them. */
static void th_outbox_mirror(cluster_t *cl)
{
    store_outbox_t *rows = NULL;
    size_t n = 0;
    if (store_outbox_due(cl->store, INT64_MAX - 1, CL_OUTBOX_MIRROR_MAX, &rows, &n) != IRTC_OK)
        return;
    buf_t key, v;
    buf_init(&key);
    buf_init(&v);
    cmsg_key_outbox(&key, cl->cfg->cluster_node_id);
    int64_t *ids = xcalloc(n + 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = rows[i].id;
    qsort(ids, n, sizeof(*ids), cmp_id);
    for (size_t i = 0; i < n && cl->cmd != NULL; i++) {
        if (id_in(cl->mirrored, cl->nmirrored, rows[i].id))
            continue;
        buf_reset(&v);
        cmsg_outbox_write(&v, rows[i].app_id, rows[i].url, rows[i].body, rows[i].signature, rows[i].created_at_ms);
        freeReplyObject(th_cmd(cl, "HSET %s %lld %b", key.base, (long long)rows[i].id, v.base, v.len));
    }
    for (size_t i = 0; i < cl->nmirrored && cl->cmd != NULL; i++) {
        if (!id_in(ids, n, cl->mirrored[i]))
            freeReplyObject(th_cmd(cl, "HDEL %s %lld", key.base, (long long)cl->mirrored[i]));
    }
    free(cl->mirrored);
    cl->mirrored = ids;
    cl->nmirrored = cl->cmd != NULL ? n : 0; /* after a lost connection, everything again */
    store_outbox_list_free(rows, n);
    buf_dispose(&key);
    buf_dispose(&v);
}

/* A dead node's callbacks go into this node's outbox, due now; its sender
 * finds them at its next look. */
static void th_outbox_take(cluster_t *cl, const char *dead)
{
    buf_t key;
    buf_init(&key);
    cmsg_key_outbox(&key, dead);
    redisReply *r = th_cmd(cl, "HGETALL %s", key.base);
    size_t taken = 0;
    for (size_t i = 1; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements; i += 2) {
        const redisReply *e = r->element[i];
        cmsg_outbox_t m;
        json_value_t *root = NULL;
        if (e->type == REDIS_REPLY_STRING && cmsg_outbox_parse(e->str, e->len, &m, &root)) {
            store_outbox_t o = {.url = (char *)m.url,
                                .body = (char *)m.body,
                                .signature = m.signature[0] ? (char *)m.signature : NULL,
                                .next_attempt_ms = (int64_t)clock_wall_ms(),
                                .created_at_ms = m.created_at_ms};
            snprintf(o.app_id, sizeof(o.app_id), "%s", m.app_id);
            if (store_outbox_insert(cl->store, &o) == IRTC_OK)
                taken++;
        }
        json_free(root);
    }
    freeReplyObject(r);
    if (r != NULL)
        freeReplyObject(th_cmd(cl, "DEL %s", key.base));
    buf_dispose(&key);
    if (taken > 0) {
        atomic_fetch_add(&cl->callbacks_taken, taken);
        log_warn(CL_LOG, "took over %zu undelivered callback(s) of node %s", taken, dead);
    }
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
    th_outbox_take(cl, dead);
    buf_dispose(&key);
    log_warn(CL_LOG, "node %s stopped sending heartbeats: its rooms are released", dead);
    atomic_fetch_add(&cl->reaped, 1);
    job_t *j = cluster_job_new(J_DEAD);
    snprintf(j->node, sizeof(j->node), "%s", dead);
    cluster_push_up(cl, j);
}

static void th_scan(cluster_t *cl)
{
    cl->scanned_ms = clock_mono_ms();
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
    job_t *v = cluster_job_new(J_VIEW);
    v->nodes = xcalloc(n + 1, sizeof(*v->nodes));
    memcpy(v->nodes, live, n * sizeof(*live));
    v->nnodes = n;
    cluster_push_up(cl, v);
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
    th_outbox_mirror(cl);
}

/* ---- cluster thread: jobs ---- */

static void th_answer(cluster_t *cl, job_t *j, int outcome, int code, const char *msg)
{
    j->outcome = outcome;
    j->res_code = code;
    if (msg != NULL)
        buf_puts(&j->res_msg, msg);
    cluster_push_up(cl, j);
}

static void th_place(cluster_t *cl, job_t *j)
{
    /* A node that registered since the last heartbeat is a candidate too: a
     * view up to a second old placed every room of a fresh cluster on the
     * nodes that happened to be seen first. */
    if (clock_mono_ms() - cl->scanned_ms >= CL_VIEW_FRESH_MS)
        th_scan(cl); /* nothing without Redis */
    if (cl->cmd == NULL) { /* no Redis, or the scan lost it */
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

/* The channel of j->rec, from the shared recordings once this node has
 * caught up with the log (the recording may have started on another node
 * moments ago).  False when it is not there or not j->app's. */
static bool th_recording_channel(cluster_t *cl, job_t *j)
{
    store_recording_t r;
    th_log_read(cl);
    bool found = j->rec[0] != '\0' && store_recording_get(cl->store, j->rec, &r) == IRTC_OK &&
                 strcmp(r.app_id, j->app) == 0 && r.channel_id != NULL && strlen(r.channel_id) < sizeof(j->chan);
    if (found)
        snprintf(j->chan, sizeof(j->chan), "%s", r.channel_id);
    store_recording_dispose(&r);
    return found;
}

static void th_forward(cluster_t *cl, job_t *j)
{
    buf_t key, m;
    if (cl->cmd == NULL) {
        th_answer(cl, j, CLUSTER_LOCAL, 0, NULL);
        return;
    }
    if (j->chan[0] == '\0' && !th_recording_channel(cl, j)) {
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
    cluster_job_free(j);
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
        cluster_job_free(cl->load);
        cl->load = j;
        break;
    default:
        cluster_job_free(j);
    }
}

/* A message on our pub/sub connection: an answer, a call, or log news. */
static void th_message(cluster_t *cl, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "message") != 0 || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING)
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
            cluster_push_up(cl, j);
            break;
        }
    } else {
        job_t *j = cluster_job_new(J_RPC_IN);
        j->rpc_id = m.id;
        snprintf(j->node, sizeof(j->node), "%s", m.from);
        snprintf(j->route, sizeof(j->route), "%s", m.route);
        snprintf(j->app, sizeof(j->app), "%s", m.app_id);
        j->body = xmalloc(m.body_len + 1);
        memcpy(j->body, m.body, m.body_len);
        j->body[m.body_len] = '\0';
        j->len = m.body_len;
        atomic_fetch_add(&cl->rpc_in, 1);
        cluster_push_up(cl, j);
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
    /* Undelivered callbacks stay in this node's outbox: sent when it is back. */
    buf_reset(&key);
    cmsg_key_outbox(&key, cl->cfg->cluster_node_id);
    freeReplyObject(th_cmd(cl, "DEL %s", key.base));
    freeReplyObject(th_cmd(cl, "SREM %s %s", CMSG_KEY_NODES, cl->cfg->cluster_node_id));
    buf_dispose(&key);
}

void *cluster_thread_main(void *arg)
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
        for (job_t *j = cluster_take_down(cl, &stopping), *next; j != NULL; j = next) {
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
                if (cl->extra != NULL)
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
