/*
 * cluster_msg.h — cluster mode's formats, pure: the Redis key names, a
 * node's heartbeat record, the node-to-node request and reply messages and
 * the choice of the least-loaded node.  Any thread; no I/O, no state.
 *
 * Does not: talk to Redis (cluster.c does) or decide what a request does.
 */
#ifndef IRTC_CLUSTER_MSG_H
#define IRTC_CLUSTER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/json.h"

#define CLUSTER_ID_MAX 33

/* One node as its heartbeat describes it (key irtc:node:<id>). */
typedef struct {
    char id[CLUSTER_ID_MAX];
    char advertise[256]; /* host:port of its HTTPS */
    char media_ip[64];   /* media.ips[0] */
    unsigned media_port, workers;
    unsigned rooms, peers;
    uint64_t pkts_per_s; /* packets forwarded per second */
    unsigned cpu_pct;    /* process CPU over the last second; 100 = one core */
} cluster_node_t;

/* Key names: every key starts with "irtc:" (docs/ADMIN.md lists them). */
void cmsg_key_node(buf_t *b, const char *node_id);                        /* irtc:node:<id> */
void cmsg_key_rooms(buf_t *b, const char *node_id);                       /* irtc:rooms:<id> */
void cmsg_key_room(buf_t *b, const char *app_id, const char *channel_id); /* irtc:room:<app>:<chan> */
void cmsg_key_rpc(buf_t *b, const char *node_id);                         /* irtc:rpc:<id> (pub/sub) */
void cmsg_key_outbox(buf_t *b, const char *node_id);                      /* irtc:outbox:<id> */
#define CMSG_KEY_NODES "irtc:nodes"  /* set of node ids that have a heartbeat or rooms to reap */
#define CMSG_KEY_LOG "irtc:log"      /* stream of changesets of the shared tables */
#define CMSG_CHAN_LOG "irtc:logbump" /* pub/sub: the log has new entries */

/* Writes n as the heartbeat's JSON object. */
void cmsg_node_write(buf_t *b, const cluster_node_t *n);
/* Parses a heartbeat; false for anything malformed (a foreign key value). */
bool cmsg_node_parse(const char *text, size_t len, cluster_node_t *out);
/* The node a new room goes to: the lowest rooms*4 + peers + extra[i]*4 (the
 * placements this node made that have not shown up in heartbeats yet), ties
 * to the lower id; -1 when n is 0. */
int cmsg_least_loaded(const cluster_node_t *nodes, const unsigned *extra, size_t n);
/* Which node serves media on host:port (media_ip, media_port..+workers-1); -1 if none. */
int cmsg_node_for_media(const cluster_node_t *nodes, size_t n, const char *host, unsigned port);

/* A REST call forwarded to the room's node, and its answer. */
typedef struct {
    bool reply;  /* false: a request */
    uint64_t id; /* chosen by the requester, echoed */
    char from[CLUSTER_ID_MAX];
    char route[32];  /* request: the REST route name (releaseUser ...) */
    char app_id[65]; /* request */
    const char *body;
    size_t body_len; /* request: the JSON body; reply: the data JSON ("" = null) */
    int code;        /* reply: the errorCode (0 = success) */
    const char *msg;
    size_t msg_len; /* reply: errorMessage detail */
} cmsg_rpc_t;

void cmsg_rpc_write(buf_t *b, const cmsg_rpc_t *m);
/* Parses into m, whose strings point into *root (json_free it after use).
 * false for anything malformed. */
bool cmsg_rpc_parse(const char *text, size_t len, cmsg_rpc_t *m, json_value_t **root);

/* A callback outbox row a node still has to deliver, mirrored in Redis so
 * that a live node can take it over (store_outbox_t's fields). */
typedef struct {
    char app_id[33];
    const char *url, *body, *signature; /* signature may be "" */
    int64_t created_at_ms;
} cmsg_outbox_t;

void cmsg_outbox_write(buf_t *b, const char *app_id, const char *url, const char *body, const char *signature,
                       int64_t created_at_ms);
/* Parses into m, whose strings point into *root (json_free it after use).
 * false for anything malformed. */
bool cmsg_outbox_parse(const char *text, size_t len, cmsg_outbox_t *m, json_value_t **root);

#endif
