/*
 * cluster_cli.c — cluster mode for the command line: `irtcd cluster status`
 * and the log entry of an app command's changes (cluster.h).  Blocking, one
 * short connection per call; runs in the irtcd command process, never in
 * the daemon.  Does not: keep state or touch the daemon's threads.
 */
#include "cluster/cluster.h"
#include "cluster/cluster_redis.h"
#include "core/common.h"

#include <stdio.h>
#include <string.h>

static redisContext *cli_open(const cfg_t *cfg, char *err, size_t errcap)
{
    cfg_redis_url_t u;
    const char *why = NULL;
    if (!cfg_cluster_enabled(cfg)) {
        snprintf(err, errcap, "%s: no cluster: section (cluster.redis_url)", cfg->source);
        return NULL;
    }
    if (cfg_parse_redis_url(cfg->cluster_redis_url, &u, &why) != IRTC_OK) {
        snprintf(err, errcap, "cluster.redis_url: %s", why);
        return NULL;
    }
    return cluster_redis_open(cfg, &u, err, errcap);
}

int cluster_status(const cfg_t *cfg, buf_t *out, char *err, size_t errcap)
{
    redisContext *c = cli_open(cfg, err, errcap);
    if (c == NULL)
        return IRTC_EIO;
    redisReply *ids = redisCommand(c, "SMEMBERS %s", CMSG_KEY_NODES);
    if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errcap, "SMEMBERS %s: %s", CMSG_KEY_NODES, ids ? ids->str : c->errstr);
        freeReplyObject(ids);
        redisFree(c);
        return IRTC_EIO;
    }
    buf_printf(out, "%-20s %-6s %-28s %-22s %6s %6s %9s %5s\n", "NODE", "STATE", "ADVERTISE", "MEDIA", "ROOMS", "PEERS",
               "PKT/S", "CPU%");
    for (size_t i = 0; i < ids->elements; i++) {
        if (ids->element[i]->type != REDIS_REPLY_STRING)
            continue;
        buf_t key;
        buf_init(&key);
        cmsg_key_node(&key, ids->element[i]->str);
        redisReply *r = redisCommand(c, "GET %s", key.base);
        buf_dispose(&key);
        cluster_node_t n;
        if (r != NULL && r->type == REDIS_REPLY_STRING && cmsg_node_parse(r->str, r->len, &n)) {
            char media[96];
            snprintf(media, sizeof(media), "%s:%u-%u", n.media_ip, n.media_port, n.media_port + n.workers - 1);
            buf_printf(out, "%-20s %-6s %-28s %-22s %6u %6u %9llu %5u\n", n.id, "live", n.advertise, media, n.rooms,
                       n.peers, (unsigned long long)n.pkts_per_s, n.cpu_pct);
        } else {
            buf_printf(out, "%-20s %-6s\n", ids->element[i]->str, "dead");
        }
        freeReplyObject(r);
    }
    freeReplyObject(ids);
    redisFree(c);
    return IRTC_OK;
}

int cluster_log_push(const cfg_t *cfg, const void *changeset, size_t len, char *err, size_t errcap)
{
    redisContext *c = cli_open(cfg, err, errcap);
    if (c == NULL)
        return IRTC_EIO;
    redisReply *r =
        redisCommand(c, "XADD %s MAXLEN ~ %d * node %s cs %b", CMSG_KEY_LOG, CL_LOG_MAXLEN, "cli", changeset, len);
    int rc = r != NULL && r->type == REDIS_REPLY_STRING ? IRTC_OK : IRTC_EIO;
    if (rc != IRTC_OK)
        snprintf(err, errcap, "XADD %s: %s", CMSG_KEY_LOG, r ? r->str : c->errstr);
    freeReplyObject(r);
    if (rc == IRTC_OK)
        freeReplyObject(redisCommand(c, "PUBLISH %s %s", CMSG_CHAN_LOG, "cli"));
    redisFree(c);
    return rc;
}
