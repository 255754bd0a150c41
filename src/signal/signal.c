/*
 * signal.c — the signaling server: a WebSocket server (ws.h) whose
 * connections each carry a session (session.h), and the /metrics figures of
 * signaling and rooms.  Control thread.
 *
 * The only file that knows both halves: ws.c gets the sessions' handlers as
 * callbacks, the sessions reach their sockets through ws.h.  Does not:
 * handle a message or touch a socket itself.
 */
#include "signal/signal.h"
#include "core/common.h"
#include "core/metrics.h"
#include "signal/session.h"
#include "signal/ws.h"

#include <stdlib.h>

struct signal_server {
    session_env_t env;
    ws_server_t *ws;
};

/* ---- ws.h callbacks: each connection's user data is its session ---- */

static void *on_open(void *ctx, ws_conn_t *conn)
{
    return session_new(ctx, conn);
}

static void on_text(void *user, const char *text, size_t len)
{
    session_on_text(user, text, len);
}

static void on_binary(void *user)
{
    session_on_binary(user);
}

static void on_idle(void *user)
{
    session_on_idle(user);
}

static void on_tick(void *user, int64_t now_wall_ms)
{
    session_tick(user, now_wall_ms);
}

static uint64_t on_gone(void *user, ws_gone_t why, bool may_park)
{
    return session_on_gone(user, why, may_park);
}

static void on_parked_end(void *user, bool expired)
{
    session_on_parked_end(user, expired);
}

static void on_free(void *user)
{
    session_free(user);
}

/* ---- metrics ---- */

static void collect(buf_t *out, void *ctx)
{
    signal_server_t *srv = ctx;
    room_stats_t st;
    ws_stats_t ws;
    room_registry_stats(srv->env.rooms, &st);
    ws_server_stats(srv->ws, &ws);
    const struct {
        const char *name, *type, *help;
        double value;
    } m[] = {
        {"irtc_signal_websockets", "gauge", "Open signaling WebSockets.", (double)ws.open},
        {"irtc_signal_messages_total", "counter", "Signaling messages received.", (double)srv->env.messages_total},
        {"irtc_signal_errors_total", "counter", "Signaling error responses and error events sent.",
         (double)srv->env.errors_total},
        {"irtc_signal_timeouts_total", "counter", "Signaling sockets closed for silence.",
         (double)(ws.idle_timeouts + srv->env.parked_expired_total)},
        {"irtc_signal_dropped_slow_total", "counter", "Signaling sockets dropped for reading too slowly.",
         (double)ws.dropped_slow},
        {"irtc_signal_parked", "gauge", "Users whose signaling socket was lost, kept in their room for resume.",
         (double)ws.parked},
        {"irtc_signal_resumed_total", "counter", "Sessions resumed on a new signaling socket.",
         (double)srv->env.resumed_total},
        {"irtc_signal_redirects_total", "counter",
         "Joins told to go to the node that serves their room (cluster mode).", (double)srv->env.redirects_total},
        {"irtc_rooms", "gauge", "Rooms with at least one user.", (double)st.rooms},
        {"irtc_room_peers", "gauge", "Users in rooms.", (double)st.peers},
        {"irtc_room_streams", "gauge", "Published streams.", (double)st.streams},
        {"irtc_room_subscriptions", "gauge", "Subscriptions to streams.", (double)st.subscriptions},
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(m); i++) {
        metrics_header(out, m[i].name, m[i].type, m[i].help);
        metrics_sample(out, m[i].name, NULL, m[i].value);
    }
}

/* ---- life cycle ---- */

signal_server_t *signal_server_new(const cfg_t *cfg, h2o_evloop_t *loop, struct store *store, room_registry_t *rooms)
{
    signal_server_t *srv = xcalloc(1, sizeof(*srv));
    srv->env = (session_env_t){.cfg = cfg, .store = store, .rooms = rooms};
    ws_config_t wc = {
        .loop = loop,
        .idle_timeout_ms = cfg->signal_idle_timeout_ms,
        .max_message_bytes = SIG_MAX_MESSAGE_BYTES,
        .max_queued_bytes = SIG_MAX_QUEUED_BYTES,
        .close_grace_ms = SIG_CLOSE_GRACE_MS,
        .cb = {on_open, on_text, on_binary, on_idle, on_tick, on_gone, on_parked_end, on_free},
        .ctx = &srv->env,
    };
    srv->ws = ws_server_new(&wc);
    srv->env.ws = srv->ws;
    return srv;
}

void signal_server_register(signal_server_t *srv, struct http_server *http)
{
    ws_server_register(srv->ws, http, "/v1/signal", "signal");
    metrics_register_collector(collect, srv);
}

void signal_server_set_locator(signal_server_t *srv, session_locate_fn fn, void *ctx)
{
    srv->env.locate = fn;
    srv->env.locate_ctx = ctx;
}

void signal_server_begin_shutdown(signal_server_t *srv)
{
    ws_server_begin_shutdown(srv->ws);
}

bool signal_server_idle(const signal_server_t *srv)
{
    return ws_server_idle(srv->ws);
}

void signal_server_free(signal_server_t *srv)
{
    if (srv == NULL)
        return;
    ws_server_free(srv->ws);
    free(srv);
}
