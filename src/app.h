/*
 * app.h — the running daemon: what start-up builds and shutdown tears down,
 * and the one context every control-thread module is handed.  Owned by the
 * control thread; worker threads never see it.
 */
#ifndef IRTC_APP_H
#define IRTC_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <h2o.h>

#include "core/config.h"

struct store;
struct worker_pool;
struct http_server;
struct room_registry;
struct sfu;
struct sig_server;

typedef struct irtc_app {
    cfg_t cfg;
    h2o_evloop_t *loop;
    struct store *store;          /* the control thread's connection */
    struct worker_pool *workers;
    struct http_server *http;
    struct room_registry *rooms; /* releaseRoom/releaseUser: room_release_room/_user (room/room.h) */
    struct sfu *sfu;
    struct sig_server *signal;   /* WebSocket signaling at /v1/signal */
    char cert_path[1024], key_path[1024];
    uint64_t started_ms;
    bool stopping;
} irtc_app_t;

/* Runs the daemon until SIGTERM/SIGINT; returns the process exit code. */
int app_run(const cfg_t *cfg);

/* Makes sure the built-in demo app exists (server.demo_token); logs its
 * credentials when it is created. */
int app_ensure_demo(struct store *st);

/* /healthz and /metrics (src/http/health.c). */
void health_register(irtc_app_t *app);

#endif
