/*
 * app.c — the daemon's life: start-up in dependency order, the control
 * thread's event loop, signals (TERM/INT stop, HUP reopens logs and reloads
 * the certificate) and a graceful shutdown bounded to 5 s.  Control thread.
 */
#include "app.h"
#include "apps.h"
#include "config.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/server.h"
#include "media/dtls.h"
#include "media/worker.h"
#include "record/capture.h"
#include "record/callback.h"
#include "room/room.h"
#include "sfu/sfu.h"
#include "signal/signal.h"
#include "store/store.h"
#include "tlscert.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 4000

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, mode) != 0 && errno != EEXIST ? -1 : 0;
}

int app_ensure_demo(store_t *st)
{
    store_app_t app;
    if (store_app_get_by_name(st, "demo", &app) == IRTC_OK) {
        store_app_dispose(&app);
        return IRTC_OK;
    }
    char token[APPS_TOKEN_LEN + 1];
    int rc = apps_create(st, "demo", true, &app, token);
    if (rc != IRTC_OK)
        return rc;
    /* The demo app exists for trying the product: its credentials are shown
     * once here and by `irtcd app list --show-secrets`. */
    log_info("apps", "created demo app: appId=%s appToken=%s accessKey=%s", app.app_id, token, app.access_key);
    store_app_dispose(&app);
    return IRTC_OK;
}

static int load_tls(irtc_app_t *app, SSL_CTX **out)
{
    char err[512];
    const cfg_t *cfg = &app->cfg;
    if (cfg->tls_cert[0]) {
        snprintf(app->cert_path, sizeof(app->cert_path), "%s", cfg->tls_cert);
        snprintf(app->key_path, sizeof(app->key_path), "%s", cfg->tls_key);
    } else if (tlscert_ensure_selfsigned(cfg->data_dir, cfg->domain, app->cert_path, sizeof(app->cert_path),
                                         app->key_path, sizeof(app->key_path), err, sizeof(err)) != IRTC_OK) {
        log_error("tls", "%s", err);
        return IRTC_EIO;
    }
    *out = tlscert_server_ctx(app->cert_path, app->key_path, err, sizeof(err));
    if (*out == NULL) {
        log_error("tls", "%s", err);
        return IRTC_EIO;
    }
    return IRTC_OK;
}

static void on_sighup(irtc_app_t *app)
{
    if (log_reopen() != IRTC_OK)
        log_error("main", "SIGHUP: cannot reopen log file");
    SSL_CTX *ctx;
    if (load_tls(app, &ctx) == IRTC_OK) {
        http_server_set_tls(app->http, ctx);
        log_info("main", "SIGHUP: log reopened, TLS certificate %s reloaded", app->cert_path);
    } else {
        log_error("main", "SIGHUP: keeping the previous TLS certificate");
    }
}

static void on_signal_readable(h2o_socket_t *sock, const char *err)
{
    irtc_app_t *app = sock->data;
    struct signalfd_siginfo si;
    while (read(h2o_socket_get_fd(sock), &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            on_sighup(app);
        } else if (!app->stopping) {
            log_info("main", "signal %u: shutting down", si.ssi_signo);
            app->stopping = true;
        }
    }
}

static h2o_socket_t *watch_signals(irtc_app_t *app)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked before any thread starts, so every thread inherits the mask. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    h2o_socket_t *sock = h2o_evloop_socket_create(app->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = app;
    h2o_socket_read_start(sock, on_signal_readable);
    return sock;
}

/* REST releaseRoom / releaseUser → the room registry (docs/API.md). */
static int hook_release_room(void *ctx, const char *app_id, const char *channel_id, const char **why)
{
    int rc = room_release_room(ctx, app_id, channel_id);
    if (rc == IRTC_ENOTFOUND)
        *why = "no such room: nobody is in channelId";
    return rc;
}

static int hook_release_user(void *ctx, const char *app_id, const char *channel_id, const char *user_id,
                             const char **why)
{
    int rc = room_release_user(ctx, app_id, channel_id, user_id);
    if (rc == IRTC_ENOTFOUND)
        *why = "no such user in that room";
    return rc;
}

/* The recorder: its threads, the REST hooks, and the registry's observer. */
static int start_recorder(irtc_app_t *app)
{
    char err[512], isdp[1100];
    /* Not data_dir/recordings: that is where the packaged config mounts the NAS. */
    snprintf(isdp, sizeof(isdp), "%s/isdp", app->cfg.data_dir);
    cap_config_t cc = {.cfg = &app->cfg,
                       .loop = app->loop,
                       .store = app->store,
                       .rooms = app->rooms,
                       .sfu = app->sfu,
                       .isdp_base_path = isdp};
    if (cap_new(&cc, &app->capture, err, sizeof(err)) != IRTC_OK) {
        log_error("record", "%s", err);
        return IRTC_EIO;
    }
    app->rec_capture = cap_capture;
    app->rec_stop = cap_stop;
    app->rec_auto = cap_auto_changed;
    app->rec_ctx = app->capture;
    app->recorder_healthy = cap_healthy;
    app->recorder_ctx = app->capture;
    return IRTC_OK;
}

static int start(irtc_app_t *app)
{
    char err[512];
    const cfg_t *cfg = &app->cfg;
    if (mkdir_p(cfg->data_dir, 0750) != 0) {
        log_error("main", "data directory %s: %s", cfg->data_dir, strerror(errno));
        return IRTC_EIO;
    }
    if (store_open(cfg->db_path, &app->store, err, sizeof(err)) != IRTC_OK) {
        log_error("store", "%s", err);
        return IRTC_EIO;
    }
    if (cfg->demo_token_enabled && app_ensure_demo(app->store) != IRTC_OK) {
        log_error("apps", "cannot create the demo app");
        return IRTC_EIO;
    }
    /* Recording callbacks: its own connection and thread (record/callback.h). */
    if (cb_sender_start(cfg, cfg->db_path, err, sizeof(err)) != IRTC_OK) {
        log_error("callback", "%s", err);
        return IRTC_EIO;
    }
    SSL_CTX *ssl_ctx;
    if (load_tls(app, &ssl_ctx) != IRTC_OK)
        return IRTC_EIO;
    /* One DTLS certificate for every media transport, new at each start
     * (browsers pin it per session through the SDP fingerprint). */
    if (sec_init_library() != IRTC_OK) { /* ~20 ms: here, not on a worker's first transport */
        SSL_CTX_free(ssl_ctx);
        log_error("media", "libsrtp initialisation failed");
        return IRTC_EIO;
    }
    app->dtls_cert = dtls_cert_new(err, sizeof(err));
    if (app->dtls_cert == NULL) {
        SSL_CTX_free(ssl_ctx);
        log_error("media", "DTLS certificate: %s", err);
        return IRTC_EIO;
    }
    if (worker_pool_start(cfg, app->dtls_cert, app->loop, &app->workers, err, sizeof(err)) != IRTC_OK) {
        SSL_CTX_free(ssl_ctx);
        log_error("media", "%s", err);
        return IRTC_EIO;
    }
    http_server_new(cfg, &app->http);
    health_register(app);
    app->rooms = room_registry_new(cfg, worker_pool_size(app->workers));
    app->sfu = sfu_new(cfg, app->workers, dtls_cert_fingerprint(app->dtls_cert), room_registry_sfu_event, app->rooms);
    room_registry_set_sfu(app->rooms, app->sfu);
    app->signal = sig_server_new(cfg, app->loop, app->store, app->rooms);
    sig_server_register(app->signal, app->http);
    app->room_release = hook_release_room;
    app->room_release_user = hook_release_user;
    app->room_ctx = app->rooms;
    if (start_recorder(app) != IRTC_OK) {
        SSL_CTX_free(ssl_ctx);
        return IRTC_EIO;
    }
    if (api_register(app) != IRTC_OK) {
        SSL_CTX_free(ssl_ctx);
        log_error("api", "cannot set up the REST API");
        return IRTC_EIO;
    }
    if (http_server_start(app->http, app->loop, ssl_ctx, err, sizeof(err)) != IRTC_OK) {
        log_error("http", "%s", err);
        return IRTC_EIO;
    }
    return IRTC_OK;
}

static void stop(irtc_app_t *app)
{
    if (app->http != NULL) {
        http_server_begin_shutdown(app->http);
        if (app->signal != NULL)
            sig_server_begin_shutdown(app->signal);
        uint64_t deadline = clock_mono_ms() + SHUTDOWN_GRACE_MS;
        while ((!http_server_idle(app->http) || (app->signal != NULL && !sig_server_idle(app->signal))) &&
               clock_mono_ms() < deadline)
            h2o_evloop_run(app->loop, 50);
    }
    /* Sockets first (their users leave their rooms, which ends their
     * recordings), then the recorder (files finalized; taps come off through
     * the SFU), then rooms, then media. */
    sig_server_free(app->signal);
    cap_free(app->capture);
    room_registry_free(app->rooms);
    sfu_free(app->sfu);
    worker_pool_stop(app->workers);
    dtls_cert_free(app->dtls_cert);
    http_server_free(app->http);
    api_unregister(app);
    cb_sender_stop();
    store_close(app->store);
}

int app_run(const cfg_t *cfg)
{
    static irtc_app_t app; /* static: signal and h2o callbacks hold pointers into it */
    app.cfg = *cfg;
    app.started_ms = clock_mono_ms();
    metrics_init();
    app.loop = h2o_evloop_create();
    h2o_socket_t *sig = watch_signals(&app);
    if (sig == NULL) {
        log_error("main", "signalfd: %s", strerror(errno));
        return 1;
    }
    log_info("main", "irtcd %s starting (config: %s)", PACKAGE_VERSION, cfg->source);
    int rc = start(&app);
    if (rc == IRTC_OK) {
        log_info("main", "irtcd ready");
        while (!app.stopping)
            h2o_evloop_run(app.loop, INT32_MAX);
    }
    stop(&app);
    h2o_socket_read_stop(sig);
    h2o_socket_close(sig);
    log_info("main", "irtcd stopped");
    return rc == IRTC_OK ? 0 : 1;
}
