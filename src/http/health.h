/*
 * health.h — GET /healthz (is every thread answering?) and GET /metrics (the
 * page core/metrics.h renders, with the media workers' counters added).
 * Control thread.
 */
#ifndef IRTC_HTTP_HEALTH_H
#define IRTC_HTTP_HEALTH_H

#include <stdint.h>

struct http_server;
struct store;
struct worker_pool;

/* What the two pages read; must outlive the HTTP server. */
typedef struct {
    struct store *store; /* probed with a read */
    struct worker_pool *workers;
    uint64_t started_ms; /* monotonic: uptime counts from here */
} health_env_t;

/* Routes /healthz and /metrics and adds the workers' collector to /metrics.
 * Call between http_server_new and http_server_start. */
void health_register(struct http_server *http, const health_env_t *env);

#endif
