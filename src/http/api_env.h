/*
 * api_env.h — what the REST API is given by the daemon: the parts it reads
 * (configuration, the control thread's store, the media workers, the HTTP
 * server it registers on) and the hooks through which it reaches the
 * subsystems that sit above src/http (the room registry, the recorder).
 *
 * Types only.  Control thread: hooks are called there and must not block.
 */
#ifndef IRTC_HTTP_API_ENV_H
#define IRTC_HTTP_API_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"

struct store;
struct worker_pool;
struct http_server;

/* What captureVideo / captureImage ask of the recorder, validated by the REST
 * API (docs/API.md).  Strings belong to the request and die when the hook
 * returns; NULL means "not given" (use the rule's value or generate one). */
typedef struct api_capture_req {
    bool image; /* captureImage (true) or captureVideo */
    const char *app_id;
    const char *channel_id;
    const char *user_id;
    int64_t rule_id;          /* an existing rule of app_id */
    const char *record_path;  /* NULL = the rule's recordPath */
    const char *callback_url; /* NULL = the rule's callbackUrl */
    const char *extra_data;   /* NULL = none */
    const char *file_name;    /* NULL = generated */
} api_capture_req_t;

/* Cluster mode (src/cluster/): how a call handed to another node ended. */
enum {
    API_REMOTE_LOCAL = 0,    /* run it here after all */
    API_REMOTE_ANSWERED = 1, /* code, msg and data are the answer */
    API_REMOTE_FAILED = 2,   /* no answer (msg says why): 1001026 */
};
typedef void (*api_remote_done_fn)(void *ud, int outcome, int code, const char *msg, const char *data, size_t data_len);

/*
 * Hooks into the subsystems above src/http, set before the API starts.  A
 * NULL hook means the subsystem is absent (a test, a cut-down build): its
 * calls answer 1001028 NOT_AVAILABLE, never a fake success.  They return
 * IRTC_OK; IRTC_ENOTFOUND (no such room / user / recording), IRTC_ELIMIT (a
 * limit refuses it), IRTC_ECONFLICT (state forbids it), or another negative
 * code for an internal failure.  *why may be set to a static string naming
 * the cause (it reaches the errorMessage).
 */
typedef struct api_hooks {
    /* releaseRoom: everyone leaves with reason 10.  releaseUser: the user gets
     * client-banned, the others peer-leave. */
    int (*room_release)(void *ctx, const char *app_id, const char *channel_id, const char **why);
    int (*room_release_user)(void *ctx, const char *app_id, const char *channel_id, const char *user_id,
                             const char **why);
    void *room_ctx;
    /* captureVideo / captureImage: starts a recording or snapshot and writes
     * its recordingId (decimal digits) into recording_id. */
    int (*rec_capture)(void *ctx, const api_capture_req_t *req, char recording_id[32], const char **why);
    /* stopCapture: recording_id "" means every recording of channel_id. */
    int (*rec_stop)(void *ctx, const char *app_id, const char *channel_id, const char *recording_id, const char **why);
    /* startAutoRecord / stopAutoRecord, called after the rule's state is
     * stored (the store is what the recorder reads at each publish): lets the
     * recorder start on rooms already running.  NULL: the state is only stored. */
    void (*rec_auto)(void *ctx, const char *app_id, int64_t rule_id, bool active);
    void *rec_ctx;
    /* checkRtcHeath: true when every recorder thread answers.  NULL means no
     * recorder threads exist, so there is nothing to be down (answers "OK"). */
    bool (*recorder_healthy)(void *ctx);
    void *recorder_ctx;
    /* Cluster mode; NULL for one node alone.  getMediaEndpoint places its
     * channels (data: the answer's {"list": [...]}); the room-bound calls
     * (releaseRoom, releaseUser, captureVideo/Image, stopCapture) run on the
     * node hosting channel_id (or, when channel_id is "", recording_id's
     * channel: stopCapture by recordingId alone).  done is called later, on
     * the control thread, exactly once. */
    void (*cluster_place)(void *ctx, const char *app_id, const char *const *channels, size_t n, api_remote_done_fn done,
                          void *ud);
    void (*cluster_forward)(void *ctx, const char *route, const char *app_id, const char *channel_id,
                            const char *recording_id, const char *body, size_t len, api_remote_done_fn done, void *ud);
    /* The shared tables' changes made by a call go to the other nodes now,
     * before its answer (not at the next 20 ms tick). */
    void (*cluster_flush)(void *ctx);
    void *cluster_ctx;
} api_hooks_t;

/* Everything here must outlive the API (api_free). */
typedef struct api_env {
    const cfg_t *cfg;
    struct store *store; /* the control thread's connection */
    struct worker_pool *workers;
    struct http_server *http;
    api_hooks_t hooks;
} api_env_t;

#endif
