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
struct dtls_cert;
struct api;

/* What captureVideo / captureImage ask of the recorder, validated by the REST
 * API (docs/API.md).  Strings belong to the request and die when the hook
 * returns; NULL means "not given" (use the rule's value or generate one). */
typedef struct irtc_capture_req {
    bool image;               /* captureImage (true) or captureVideo */
    const char *app_id;
    const char *channel_id;
    const char *user_id;
    int64_t rule_id;          /* an existing rule of app_id */
    const char *record_path;  /* NULL = the rule's recordPath */
    const char *callback_url; /* NULL = the rule's callbackUrl */
    const char *extra_data;   /* NULL = none */
    const char *file_name;    /* NULL = generated */
} irtc_capture_req_t;
struct room_registry;
struct sfu;
struct sig_server;
struct cap;

typedef struct irtc_app {
    cfg_t cfg;
    h2o_evloop_t *loop;
    struct store *store;          /* the control thread's connection */
    struct worker_pool *workers;
    struct http_server *http;
    struct dtls_cert *dtls_cert;   /* media transports' certificate */
    struct room_registry *rooms; /* releaseRoom/releaseUser: room_release_room/_user (room/room.h) */
    struct sfu *sfu;
    struct sig_server *signal;   /* WebSocket signaling at /v1/signal */
    struct cap *capture;         /* recordings: the rec_* hooks below (record/capture.h) */
    char cert_path[1024], key_path[1024];
    uint64_t started_ms;
    bool stopping;

    /*
     * Hooks through which the REST API (src/http/api_*.c) reaches subsystems
     * that later modules add; each module sets its hooks and ctx at start-up,
     * before the HTTP server starts.  NULL means the subsystem does not exist
     * in this build: the call then answers 1001028 NOT_AVAILABLE, never a
     * fake success.  They run on the control thread and must not block.
     * Return IRTC_OK; IRTC_ENOTFOUND (no such room / user / recording),
     * IRTC_ELIMIT (a limit refuses it), IRTC_ECONFLICT (state forbids it), or
     * another negative code for an internal failure.  *why may be set to a
     * static string naming the cause (it reaches the errorMessage).
     */
    /* releaseRoom: everyone leaves with reason 10.  releaseUser: the user gets
     * client-banned, the others peer-leave. */
    int (*room_release)(void *ctx, const char *app_id, const char *channel_id, const char **why);
    int (*room_release_user)(void *ctx, const char *app_id, const char *channel_id, const char *user_id,
                             const char **why);
    void *room_ctx;
    /* captureVideo / captureImage: starts a recording or snapshot and writes
     * its recordingId (decimal digits) into recording_id. */
    int (*rec_capture)(void *ctx, const irtc_capture_req_t *req, char recording_id[32], const char **why);
    /* stopCapture: recording_id "" means every recording of channel_id. */
    int (*rec_stop)(void *ctx, const char *app_id, const char *channel_id, const char *recording_id,
                    const char **why);
    /* startAutoRecord / stopAutoRecord, called after the rule's state is
     * stored (the store is what the recorder reads at each publish): lets the
     * recorder start on rooms already running.  NULL: the state is only stored. */
    void (*rec_auto)(void *ctx, const char *app_id, int64_t rule_id, bool active);
    void *rec_ctx;
    /* checkRtcHeath: true when every recorder thread answers.  NULL means no
     * recorder threads exist, so there is nothing to be down (answers "OK"). */
    bool (*recorder_healthy)(void *ctx);
    void *recorder_ctx;

    struct api *api; /* REST API state (src/http/api.c) */
} irtc_app_t;

/* Runs the daemon until SIGTERM/SIGINT; returns the process exit code. */
int app_run(const cfg_t *cfg);

/* Makes sure the built-in demo app exists (server.demo_token); logs its
 * credentials when it is created. */
int app_ensure_demo(struct store *st);

/* /healthz and /metrics (src/http/health.c). */
void health_register(irtc_app_t *app);

/* The REST API, /oauth2/oauth/rest_token and /demo/token (src/http/api.c);
 * api_unregister frees its state after the HTTP server is gone. */
int api_register(irtc_app_t *app);
void api_unregister(irtc_app_t *app);

#endif
