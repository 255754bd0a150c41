/*
 * ws.c — WebSocket connections on h2o 2.2.5: the upgrade, each connection's
 * send queue and close handshake, the flush and sweep timers, parking and
 * shutdown; see ws.h.  Control thread.
 *
 * It does not read or write protocol messages (its owner does, through the
 * callbacks) and never frees a connection from inside a callback of its own:
 * a connection is destroyed only from h2o's close callback, the flush timer
 * (for a doomed connection) or the sweep timer, where nothing up the stack
 * still uses it.
 *
 * h2o facts this relies on: the message callback gets arg == NULL once the
 * socket is finished, and must then call h2o_websocket_close; messages queued
 * outside wslay's callback go out only after h2o_websocket_proceed, which is
 * deferred here to a 0 ms timer so it never re-enters a connection's handler;
 * ws->sock stays NULL until the 101 response is written, and such a
 * connection cannot be closed by us (h2o still owns the socket).
 */
#include "signal/ws.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "http/server.h"

#include <h2o/websocket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_SWEEP_MS 250

struct ws_server {
    ws_config_t cfg;
    h2o_linklist_t open; /* connections with a socket (or waiting for their 101) */
    h2o_linklist_t parked;
    ws_stats_t stats;
    h2o_timeout_t flush_timeout; /* 0 ms: flushes queued messages at the end of the loop turn */
    h2o_timeout_t sweep_timeout; /* silence, close grace, parking windows, owners' ticks */
    h2o_timeout_entry_t sweep_entry;
    bool shutting_down;
};

struct ws_conn {
    ws_server_t *srv;
    void *user;
    h2o_linklist_t link;
    h2o_websocket_conn_t *ws; /* ws->sock is NULL until the 101 response is written; ws NULL while parked */
    h2o_timeout_entry_t flush_entry;
    uint64_t last_rx_ms; /* monotonic: any frame, including a WebSocket ping */
    uint64_t close_deadline_ms;
    bool closing;      /* closing: nothing more is sent or handled */
    bool close_queued; /* the close frame is in wslay's queue */
    uint16_t close_code;
    char close_reason[64];
    bool doomed;              /* to be dropped at the next flush (send queue overflow) */
    bool orphaned;            /* the server was freed while h2o still owned the socket */
    uint64_t parked_until_ms; /* monotonic; nonzero while parked (ws == NULL) */
    buf_t parked_out;         /* messages sent while parked, each followed by a NUL */
    bool parked_overflow;     /* ... more than max_queued_bytes: dropped */
};

static void schedule_flush(ws_conn_t *c)
{
    if (!h2o_timeout_is_linked(&c->flush_entry))
        h2o_timeout_link(c->srv->cfg.loop, &c->srv->flush_timeout, &c->flush_entry);
}

static void conn_free(ws_conn_t *c)
{
    if (c->user != NULL)
        c->srv->cfg.cb.on_free(c->user);
    buf_dispose(&c->parked_out);
    free(c);
}

static void free_parked(ws_conn_t *c)
{
    h2o_linklist_unlink(&c->link);
    c->srv->stats.parked--;
    conn_free(c);
}

/* The end of a connection's socket: its owner hears why, and the connection
 * is freed or parked for as long as the owner asks. */
static void conn_destroy(ws_conn_t *c, ws_gone_t why)
{
    ws_server_t *srv = c->srv;
    uint64_t park_ms = srv->cfg.cb.on_gone(c->user, why, !srv->shutting_down);
    if (h2o_timeout_is_linked(&c->flush_entry))
        h2o_timeout_unlink(&c->flush_entry);
    h2o_linklist_unlink(&c->link);
    srv->stats.open--;
    h2o_websocket_close(c->ws);
    if (park_ms == 0 || srv->shutting_down) {
        conn_free(c);
        return;
    }
    c->ws = NULL;
    c->closing = c->close_queued = c->doomed = false;
    c->parked_until_ms = clock_mono_ms() + park_ms;
    h2o_linklist_insert(&srv->parked, &c->link);
    srv->stats.parked++;
}

ws_conn_t *ws_server_find(ws_server_t *srv, bool (*match)(const ws_conn_t *conn, const void *arg), const void *arg)
{
    h2o_linklist_t *lists[] = {&srv->open, &srv->parked};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(lists); i++)
        for (h2o_linklist_t *l = lists[i]->next; l != lists[i]; l = l->next) {
            ws_conn_t *c = H2O_STRUCT_FROM_MEMBER(ws_conn_t, link, l);
            if (match(c, arg))
                return c;
        }
    return NULL;
}

void *ws_conn_user(const ws_conn_t *conn)
{
    return conn->user;
}

bool ws_conn_parked(const ws_conn_t *conn)
{
    return conn->ws == NULL;
}

void ws_replay_parked(ws_conn_t *to, const ws_conn_t *from)
{
    size_t off = 0;
    while (off < from->parked_out.len) {
        size_t n = strlen(from->parked_out.base + off);
        buf_t m = {.base = from->parked_out.base + off, .len = n, .cap = n + 1};
        ws_send(to, &m);
        off += n + 1;
    }
}

void ws_retire(ws_conn_t *conn, uint16_t code, const char *reason)
{
    if (conn->ws == NULL) {
        free_parked(conn);
        return;
    }
    ws_close(conn, code, reason);
}

static void on_ws_message(h2o_websocket_conn_t *ws, const struct wslay_event_on_msg_recv_arg *arg)
{
    ws_conn_t *c = ws->data;
    if (c->orphaned) {
        if (arg == NULL) {
            h2o_websocket_close(ws);
            free(c);
        }
        return;
    }
    if (arg == NULL) {
        /* A close frame from the client means it hung up on purpose. */
        conn_destroy(c, wslay_event_get_close_received(ws->ws_ctx) ? WS_GONE_CLOSED : WS_GONE_LOST);
        return;
    }
    c->last_rx_ms = clock_mono_ms();
    if (c->closing)
        return;
    if (arg->opcode == WSLAY_TEXT_FRAME)
        c->srv->cfg.cb.on_text(c->user, (const char *)arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_BINARY_FRAME)
        c->srv->cfg.cb.on_binary(c->user);
    /* wslay answers pings and close frames itself. */
}

/* wslay sends control frames ahead of queued messages, so the close frame
 * is queued only once every message has been handed to the socket. */
static void queue_close_when_drained(ws_conn_t *c)
{
    wslay_event_context_ptr ctx = c->ws->ws_ctx;
    if (!c->closing || c->close_queued || wslay_event_get_queued_msg_count(ctx) != 0)
        return;
    c->close_queued = true;
    wslay_event_queue_close(ctx, c->close_code, (const uint8_t *)c->close_reason, strlen(c->close_reason));
}

static void on_flush(h2o_timeout_entry_t *entry)
{
    ws_conn_t *c = H2O_STRUCT_FROM_MEMBER(ws_conn_t, flush_entry, entry);
    if (c->doomed) {
        conn_destroy(c, WS_GONE_LOST);
        return;
    }
    /* Before the 101 is written h2o proceeds by itself once it is. */
    if (c->ws->sock != NULL) {
        queue_close_when_drained(c);
        h2o_websocket_proceed(c->ws); /* may destroy c */
    }
}

void ws_send(ws_conn_t *c, const buf_t *msg)
{
    size_t max = c->srv->cfg.max_queued_bytes;
    if (c->closing || c->doomed)
        return;
    if (c->ws == NULL) {
        /* Parked: kept for the socket that takes it over (bounded like a send queue). */
        if (c->parked_overflow || c->parked_out.len + msg->len + 1 > max) {
            c->parked_overflow = true;
            return;
        }
        buf_append(&c->parked_out, msg->base, msg->len);
        buf_putc(&c->parked_out, '\0');
        return;
    }
    wslay_event_context_ptr ctx = c->ws->ws_ctx;
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)msg->base, msg->len};
    if (wslay_event_get_queued_msg_length(ctx) + msg->len > max || wslay_event_queue_msg(ctx, &m) != 0) {
        log_ratelimited(LOG_LEVEL_WARN, "signal", 1000, "a client reads too slowly (over %zu bytes queued): dropped",
                        max);
        c->srv->stats.dropped_slow++;
        c->doomed = true;
    }
    schedule_flush(c);
}

void ws_close(ws_conn_t *c, uint16_t code, const char *reason)
{
    if (c->closing || c->doomed)
        return;
    c->closing = true;
    if (c->ws == NULL)
        return; /* parked: there is no socket; nothing more is queued */
    c->close_deadline_ms = clock_mono_ms() + c->srv->cfg.close_grace_ms;
    c->close_code = code;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason); /* RFC 6455 allows 123 bytes */
    schedule_flush(c);
}

static int on_upgrade_request(void *ctx, h2o_req_t *req)
{
    ws_server_t *srv = ctx;
    const char *key = NULL;
    if (srv->shutting_down) {
        http_send(req, 503, "text/plain; charset=utf-8", H2O_STRLIT("shutting down\n"));
        return 0;
    }
    /* h2o upgrades HTTP/1.1 only; a browser falls back to it for WebSockets. */
    if (req->version >= 0x200 || h2o_is_websocket_handshake(req, &key) != 0 || key == NULL) {
        static const char msg[] = "a WebSocket upgrade over HTTP/1.1 is required here (docs/API.md)\n";
        http_send(req, 400, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
        return 0;
    }
    ws_conn_t *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->last_rx_ms = clock_mono_ms();
    c->flush_entry.cb = on_flush;
    h2o_linklist_insert(&srv->open, &c->link);
    srv->stats.open++;
    c->user = srv->cfg.cb.on_open(srv->cfg.ctx, c);
    c->ws = h2o_upgrade_to_websocket(req, key, c, on_ws_message);
    /* Larger messages make wslay close the socket with 1009. */
    wslay_event_config_set_max_recv_msg_length(c->ws->ws_ctx, srv->cfg.max_message_bytes);
    return 0;
}

static void on_sweep(h2o_timeout_entry_t *entry)
{
    ws_server_t *srv = H2O_STRUCT_FROM_MEMBER(ws_server_t, sweep_entry, entry);
    const ws_callbacks_t *cb = &srv->cfg.cb;
    uint64_t now = clock_mono_ms();
    int64_t wall = (int64_t)clock_wall_ms();
    h2o_linklist_t *next;
    for (h2o_linklist_t *l = srv->open.next; l != &srv->open; l = next) {
        /* Handling one connection only queues messages to others, never frees them. */
        next = l->next;
        ws_conn_t *c = H2O_STRUCT_FROM_MEMBER(ws_conn_t, link, l);
        if (c->ws->sock == NULL || c->doomed)
            continue;
        if (c->closing) {
            if (now >= c->close_deadline_ms) {
                conn_destroy(c, srv->shutting_down ? WS_GONE_SHUTDOWN : WS_GONE_LOST);
            } else if (!c->close_queued && wslay_event_get_queued_msg_count(c->ws->ws_ctx) == 0) {
                schedule_flush(c);
            }
        } else if (now - c->last_rx_ms >= srv->cfg.idle_timeout_ms) {
            srv->stats.idle_timeouts++;
            cb->on_idle(c->user);
        } else {
            cb->on_tick(c->user, wall);
        }
    }
    for (h2o_linklist_t *l = srv->parked.next; l != &srv->parked; l = next) {
        next = l->next;
        ws_conn_t *c = H2O_STRUCT_FROM_MEMBER(ws_conn_t, link, l);
        cb->on_tick(c->user, wall); /* the owner's deadlines run while parked too */
        if (now < c->parked_until_ms)
            continue;
        cb->on_parked_end(c->user, true);
        free_parked(c);
    }
    h2o_timeout_link(srv->cfg.loop, &srv->sweep_timeout, &srv->sweep_entry);
}

/* ---- life cycle ---- */

ws_server_t *ws_server_new(const ws_config_t *cfg)
{
    ws_server_t *srv = xcalloc(1, sizeof(*srv));
    srv->cfg = *cfg;
    h2o_linklist_init_anchor(&srv->open);
    h2o_linklist_init_anchor(&srv->parked);
    h2o_timeout_init(cfg->loop, &srv->flush_timeout, 0);
    h2o_timeout_init(cfg->loop, &srv->sweep_timeout, WS_SWEEP_MS);
    srv->sweep_entry.cb = on_sweep;
    h2o_timeout_link(cfg->loop, &srv->sweep_timeout, &srv->sweep_entry);
    return srv;
}

void ws_server_register(ws_server_t *srv, struct http_server *http, const char *path, const char *route_name)
{
    http_server_route(http, path, false, HTTP_METHOD_GET, route_name, on_upgrade_request, srv);
}

void ws_server_stats(const ws_server_t *srv, ws_stats_t *out)
{
    *out = srv->stats;
}

void ws_server_begin_shutdown(ws_server_t *srv)
{
    srv->shutting_down = true;
    for (h2o_linklist_t *l = srv->open.next; l != &srv->open; l = l->next) {
        ws_conn_t *c = H2O_STRUCT_FROM_MEMBER(ws_conn_t, link, l);
        if (c->ws->sock != NULL)
            ws_close(c, 1001, "server shutting down");
    }
}

bool ws_server_idle(const ws_server_t *srv)
{
    return srv->stats.open == 0;
}

void ws_server_free(ws_server_t *srv)
{
    if (srv == NULL)
        return;
    srv->shutting_down = true; /* nothing is parked from here on */
    while (!h2o_linklist_is_empty(&srv->open)) {
        ws_conn_t *c = H2O_STRUCT_FROM_MEMBER(ws_conn_t, link, srv->open.next);
        if (c->ws->sock != NULL) {
            conn_destroy(c, WS_GONE_SHUTDOWN);
        } else {
            /* h2o still writes its 101 and will call back; the connection is
             * then freed alone (on_ws_message).  Its owner is done now. */
            h2o_linklist_unlink(&c->link);
            srv->stats.open--;
            if (h2o_timeout_is_linked(&c->flush_entry))
                h2o_timeout_unlink(&c->flush_entry);
            srv->cfg.cb.on_gone(c->user, WS_GONE_SHUTDOWN, false);
            srv->cfg.cb.on_free(c->user);
            c->user = NULL;
            buf_dispose(&c->parked_out);
            c->orphaned = true;
        }
    }
    while (!h2o_linklist_is_empty(&srv->parked)) {
        ws_conn_t *c = H2O_STRUCT_FROM_MEMBER(ws_conn_t, link, srv->parked.next);
        srv->cfg.cb.on_parked_end(c->user, false);
        free_parked(c);
    }
    h2o_timeout_unlink(&srv->sweep_entry);
    h2o_timeout_dispose(srv->cfg.loop, &srv->flush_timeout);
    h2o_timeout_dispose(srv->cfg.loop, &srv->sweep_timeout);
    free(srv);
}
