/*
 * daemon.c — the daemon's life: start-up in dependency order, the control
 * thread's event loop, signals (TERM/INT stop, HUP reopens logs and reloads
 * the certificate) and a graceful shutdown bounded to 5 s.  Control thread.
 *
 * The glue above every subsystem: it builds them, hands each the others it
 * needs (the REST API's hooks into rooms and the recorder), and tears them
 * down in reverse.  Does not: serve requests or move media itself.
 */
#include "daemon.h"
#include "apps/apps.h"
#include "callback/cb_sender.h"
#include "cluster/cluster.h"
#include "config.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/api.h"
#include "http/health.h"
#include "http/server.h"
#include "media/dtls.h"
#include "media/worker.h"
#include "record/capture.h"
#include "room/room.h"
#include "sfu/sfu.h"
#include "signal/signal.h"
#include "store/store.h"
#include "tlscert.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 4000

/* What start-up builds and shutdown tears down; one per process, static
 * (signal and h2o callbacks hold pointers into it). */
typedef struct {
    cfg_t cfg;
    h2o_evloop_t *loop;
    store_t *store; /* the control thread's connection */
    cb_sender_t *callbacks;
    worker_pool_t *workers;
    http_server_t *http;
    dtls_cert_t *dtls_cert; /* media transports' certificate */
    health_env_t health;
    room_registry_t *rooms;
    sfu_t *sfu;
    signal_server_t *signal;                        /* WebSocket signaling at /v1/signal */
    cap_t *capture;                                 /* recordings */
    api_t *api;                                     /* REST */
    cluster_t *cluster;                             /* NULL without `cluster:` */
    uint64_t load_ms, load_tx_packets, load_cpu_us; /* the last load report */
    char cert_path[1024], key_path[1024];
    uint64_t started_ms;
    bool stopping;
} irtc_daemon_t;

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

static int load_tls(irtc_daemon_t *d, SSL_CTX **out)
{
    char err[512];
    const cfg_t *cfg = &d->cfg;
    if (cfg->tls_cert[0]) {
        snprintf(d->cert_path, sizeof(d->cert_path), "%s", cfg->tls_cert);
        snprintf(d->key_path, sizeof(d->key_path), "%s", cfg->tls_key);
    } else if (tlscert_ensure_selfsigned(cfg->data_dir, cfg->domain, d->cert_path, sizeof(d->cert_path), d->key_path,
                                         sizeof(d->key_path), err, sizeof(err)) != IRTC_OK) {
        log_error("tls", "%s", err);
        return IRTC_EIO;
    }
    *out = tlscert_server_ctx(d->cert_path, d->key_path, err, sizeof(err));
    if (*out == NULL) {
        log_error("tls", "%s", err);
        return IRTC_EIO;
    }
    return IRTC_OK;
}

static void on_sighup(irtc_daemon_t *d)
{
    if (log_reopen() != IRTC_OK)
        log_error("main", "SIGHUP: cannot reopen log file");
    SSL_CTX *ctx;
    if (load_tls(d, &ctx) == IRTC_OK) {
        http_server_set_tls(d->http, ctx);
        log_info("main", "SIGHUP: log reopened, TLS certificate %s reloaded", d->cert_path);
    } else {
        log_error("main", "SIGHUP: keeping the previous TLS certificate");
    }
}

static void on_signal_readable(h2o_socket_t *sock, const char *err)
{
    irtc_daemon_t *d = sock->data;
    struct signalfd_siginfo si;
    while (read(h2o_socket_get_fd(sock), &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            on_sighup(d);
        } else if (!d->stopping) {
            log_info("main", "signal %u: shutting down", si.ssi_signo);
            d->stopping = true;
        }
    }
}

static h2o_socket_t *watch_signals(irtc_daemon_t *d)
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
    h2o_socket_t *sock = h2o_evloop_socket_create(d->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = d;
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

/* ---- cluster mode (src/cluster/cluster.h) ---- */

static void room_line(void *ctx, const room_t *room)
{
    buf_printf(ctx, "%s\t%s\n", room_app_id(room), room_channel_id(room));
}

/* Every second: rooms, peers, packets forwarded and CPU since the last report. */
static void cluster_load(void *ctx, cluster_load_t *out, buf_t *rooms)
{
    irtc_daemon_t *d = ctx;
    room_stats_t st = {0};
    struct rusage ru;
    uint64_t tx = 0, now = clock_mono_ms(), cpu_us = 0;
    if (d->rooms == NULL || d->workers == NULL)
        return;
    room_registry_stats(d->rooms, &st);
    out->rooms = (unsigned)st.rooms;
    out->peers = (unsigned)st.peers;
    for (unsigned i = 0; i < worker_pool_size(d->workers); i++)
        tx += atomic_load(&worker_stats(worker_pool_get(d->workers, i))->tx_packets);
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                 (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    if (d->load_ms != 0 && now > d->load_ms) {
        out->pkts_per_s = (tx - d->load_tx_packets) * 1000 / (now - d->load_ms);
        out->cpu_pct = (unsigned)((cpu_us - d->load_cpu_us) / 10 / (now - d->load_ms));
    }
    d->load_ms = now;
    d->load_tx_packets = tx;
    d->load_cpu_us = cpu_us;
    room_registry_each(d->rooms, room_line, rooms);
}

static void cluster_rpc(void *ctx, uint64_t rpc_id, const char *from, const char *route, const char *app_id,
                        const char *body, size_t len)
{
    irtc_daemon_t *d = ctx;
    char msg[320] = "";
    buf_t data;
    buf_init(&data);
    int code = d->api != NULL ? api_execute(d->api, route, app_id, body, len, &data, msg, sizeof(msg)) : 1001028;
    cluster_reply(d->cluster, rpc_id, from, code, msg, data.base ? data.base : "", data.len);
    buf_dispose(&data);
}

static void cluster_node_dead(void *ctx, const char *node_id)
{
    irtc_daemon_t *d = ctx;
    char reason[96];
    snprintf(reason, sizeof(reason), "node %s stopped (its heartbeat expired)", node_id);
    if (d->capture != NULL)
        cap_fail_node(d->capture, node_id, reason);
}

static void hook_cluster_place(void *ctx, const char *app_id, const char *const *channels, size_t n,
                               api_remote_done_fn done, void *ud)
{
    cluster_place(ctx, app_id, channels, n, done, ud);
}

static void hook_cluster_forward(void *ctx, const char *route, const char *app_id, const char *channel_id,
                                 const char *recording_id, const char *body, size_t len, api_remote_done_fn done,
                                 void *ud)
{
    cluster_forward(ctx, route, app_id, channel_id, recording_id, body, len, done, ud);
}

static void hook_cluster_flush(void *ctx)
{
    cluster_flush(ctx);
}

static int locate(void *ctx, const char *host, unsigned port, char node_id[33], char domain[256])
{
    return cluster_locate(ctx, host, port, node_id, domain);
}

_Static_assert((int)CLUSTER_LOCAL == (int)API_REMOTE_LOCAL && (int)CLUSTER_ANSWERED == (int)API_REMOTE_ANSWERED &&
                   (int)CLUSTER_FAILED == (int)API_REMOTE_FAILED,
               "the REST API and the cluster agree on outcomes");

static int start_cluster(irtc_daemon_t *d)
{
    char err[512];
    if (!cfg_cluster_enabled(&d->cfg))
        return IRTC_OK;
    cluster_hooks_t hooks = {.load = cluster_load, .on_rpc = cluster_rpc, .on_node_dead = cluster_node_dead, .ctx = d};
    if (cluster_start(&d->cfg, d->loop, d->store, d->cfg.db_path, &hooks, &d->cluster, err, sizeof(err)) != IRTC_OK) {
        log_error("cluster", "%s", err);
        return IRTC_EIO;
    }
    metrics_register_collector(cluster_collect, d->cluster);
    return IRTC_OK;
}

/* The recorder: its threads, its REST hooks, and the registry's observer. */
static int start_recorder(irtc_daemon_t *d, api_hooks_t *hooks)
{
    char err[512], isdp[1100];
    cfg_isdp_dir(&d->cfg, isdp, sizeof(isdp));
    cap_config_t cc = {.cfg = &d->cfg,
                       .loop = d->loop,
                       .store = d->store,
                       .rooms = d->rooms,
                       .sfu = d->sfu,
                       .callbacks = d->callbacks,
                       .isdp_base_path = isdp};
    if (cap_new(&cc, &d->capture, err, sizeof(err)) != IRTC_OK) {
        log_error("record", "%s", err);
        return IRTC_EIO;
    }
    metrics_register_collector(cap_collect, d->capture);
    hooks->rec_capture = cap_capture;
    hooks->rec_stop = cap_stop;
    hooks->rec_auto = cap_auto_changed;
    hooks->rec_ctx = d->capture;
    hooks->recorder_healthy = cap_healthy;
    hooks->recorder_ctx = d->capture;
    return IRTC_OK;
}

static int start(irtc_daemon_t *d)
{
    char err[512];
    const cfg_t *cfg = &d->cfg;
    if (mkdir_p(cfg->data_dir, 0750) != 0) {
        log_error("main", "data directory %s: %s", cfg->data_dir, strerror(errno));
        return IRTC_EIO;
    }
    if (store_open(cfg->db_path, &d->store, err, sizeof(err)) != IRTC_OK) {
        log_error("store", "%s", err);
        return IRTC_EIO;
    }
    /* Before the demo app and the recorder: their rows are shared (the log),
     * and recordings carry the node that runs them. */
    store_set_node(d->store, cfg_cluster_enabled(cfg) ? cfg->cluster_node_id : "");
    if (start_cluster(d) != IRTC_OK)
        return IRTC_EIO;
    if (cfg->demo_token_enabled && apps_ensure_demo(d->store) != IRTC_OK) {
        log_error("apps", "cannot create the demo app");
        return IRTC_EIO;
    }
    /* Recording callbacks: their own connection and thread (callback/cb_sender.h). */
    if (cb_sender_start(cfg, cfg->db_path, &d->callbacks, err, sizeof(err)) != IRTC_OK) {
        log_error("callback", "%s", err);
        return IRTC_EIO;
    }
    metrics_register_collector(cb_sender_collect, d->callbacks);
    SSL_CTX *ssl_ctx;
    if (load_tls(d, &ssl_ctx) != IRTC_OK)
        return IRTC_EIO;
    /* One DTLS certificate for every media transport, new at each start
     * (browsers pin it per session through the SDP fingerprint). */
    if (sec_init_library() != IRTC_OK) { /* ~20 ms: here, not on a worker's first transport */
        SSL_CTX_free(ssl_ctx);
        log_error("media", "libsrtp initialisation failed");
        return IRTC_EIO;
    }
    d->dtls_cert = dtls_cert_new(err, sizeof(err));
    if (d->dtls_cert == NULL) {
        SSL_CTX_free(ssl_ctx);
        log_error("media", "DTLS certificate: %s", err);
        return IRTC_EIO;
    }
    if (worker_pool_start(cfg, d->dtls_cert, d->loop, &d->workers, err, sizeof(err)) != IRTC_OK) {
        SSL_CTX_free(ssl_ctx);
        log_error("media", "%s", err);
        return IRTC_EIO;
    }
    http_server_new(cfg, &d->http);
    d->health = (health_env_t){.store = d->store, .workers = d->workers, .started_ms = d->started_ms};
    health_register(d->http, &d->health);
    d->rooms = room_registry_new(cfg, worker_pool_size(d->workers));
    d->sfu = sfu_new(cfg, d->workers, dtls_cert_fingerprint(d->dtls_cert), room_registry_sfu_event, d->rooms);
    room_registry_set_sfu(d->rooms, d->sfu);
    d->signal = signal_server_new(cfg, d->loop, d->store, d->rooms);
    signal_server_register(d->signal, d->http);
    api_env_t api = {.cfg = cfg, .store = d->store, .workers = d->workers, .http = d->http};
    api.hooks.room_release = hook_release_room;
    api.hooks.room_release_user = hook_release_user;
    api.hooks.room_ctx = d->rooms;
    if (d->cluster != NULL) {
        api.hooks.cluster_place = hook_cluster_place;
        api.hooks.cluster_forward = hook_cluster_forward;
        api.hooks.cluster_flush = hook_cluster_flush;
        api.hooks.cluster_ctx = d->cluster;
        signal_server_set_locator(d->signal, locate, d->cluster);
    }
    if (start_recorder(d, &api.hooks) != IRTC_OK) {
        SSL_CTX_free(ssl_ctx);
        return IRTC_EIO;
    }
    if (api_new(&api, &d->api) != IRTC_OK) {
        SSL_CTX_free(ssl_ctx);
        log_error("api", "cannot set up the REST API");
        return IRTC_EIO;
    }
    if (http_server_start(d->http, d->loop, ssl_ctx, err, sizeof(err)) != IRTC_OK) {
        log_error("http", "%s", err);
        return IRTC_EIO;
    }
    return IRTC_OK;
}

static void stop(irtc_daemon_t *d)
{
    if (d->http != NULL) {
        http_server_begin_shutdown(d->http);
        if (d->signal != NULL)
            signal_server_begin_shutdown(d->signal);
        uint64_t deadline = clock_mono_ms() + SHUTDOWN_GRACE_MS;
        while ((!http_server_idle(d->http) || (d->signal != NULL && !signal_server_idle(d->signal))) &&
               clock_mono_ms() < deadline)
            h2o_evloop_run(d->loop, 50);
    }
    /* The cluster first (its pending calls are answered while the HTTP
     * server is still there; its rooms' placements go), then sockets (their
     * users leave their rooms, which ends their recordings), then the
     * recorder (files finalized; taps come off through the SFU), then rooms,
     * then media. */
    cluster_stop(d->cluster);
    d->cluster = NULL;
    signal_server_free(d->signal);
    cap_free(d->capture);
    room_registry_free(d->rooms);
    sfu_free(d->sfu);
    worker_pool_stop(d->workers);
    dtls_cert_free(d->dtls_cert);
    http_server_free(d->http);
    api_free(d->api);
    cb_sender_stop(d->callbacks);
    store_close(d->store);
}

int daemon_run(const cfg_t *cfg)
{
    static irtc_daemon_t d; /* static: signal and h2o callbacks hold pointers into it */
    d.cfg = *cfg;
    d.started_ms = clock_mono_ms();
    metrics_init();
    d.loop = h2o_evloop_create();
    h2o_socket_t *sig = watch_signals(&d);
    if (sig == NULL) {
        log_error("main", "signalfd: %s", strerror(errno));
        return 1;
    }
    log_info("main", "irtcd %s starting (config: %s)", PACKAGE_VERSION, cfg->source);
    int rc = start(&d);
    if (rc == IRTC_OK) {
        log_info("main", "irtcd ready");
        while (!d.stopping)
            h2o_evloop_run(d.loop, INT32_MAX);
    }
    stop(&d);
    h2o_socket_read_stop(sig);
    h2o_socket_close(sig);
    log_info("main", "irtcd stopped");
    return rc == IRTC_OK ? 0 : 1;
}
