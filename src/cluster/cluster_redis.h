/*
 * cluster_redis.h — what cluster.c (the cluster thread) and cluster_cli.c
 * (the command line) share: opening an authenticated hiredis connection, and
 * the log's size.  Internal to src/cluster/.  Blocking; never on the control
 * thread.
 */
#ifndef IRTC_CLUSTER_REDIS_H
#define IRTC_CLUSTER_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "core/config.h"

#define CL_LOG_MAXLEN 100000 /* log entries kept (approximately): XADD MAXLEN ~ */

/* Connects to u (2 s timeouts for connect and each command), AUTH with
 * cluster.redis_password or the URL's password, SELECT its db.  NULL with
 * err ("redis host:port: why") when any step fails. */
redisContext *cluster_redis_open(const cfg_t *cfg, const cfg_redis_url_t *u, char *err, size_t errcap);

#endif
