/*
 * ws.h — a WebSocket server of text messages on h2o 2.2.5 (wslay underneath):
 * the upgrade at one path, each connection's bounded send queue, the close
 * handshake and its grace, silence detection, a sweep timer, and parking (a
 * connection whose socket is lost may be kept, without a socket, for a
 * window: what is sent to it meanwhile is queued for the socket that takes
 * it over).  Control thread.
 *
 * It knows nothing of what the messages mean: each connection carries the
 * user data its owner returned from on_open, and every event goes to the
 * owner's callbacks (src/signal/signal.c wires them to the sessions).
 *
 * Lifetimes: a connection is freed only from h2o's close callback, the flush
 * timer (a doomed connection) or the sweep timer, never from inside a
 * callback of its own, so a callback may send to or close any connection.
 * on_free is the last call for a connection's user data.
 */
#ifndef IRTC_SIGNAL_WS_H
#define IRTC_SIGNAL_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "core/buf.h"

struct http_server;

typedef struct ws_server ws_server_t;
typedef struct ws_conn ws_conn_t;

/* Why a connection's socket went away. */
typedef enum {
    WS_GONE_CLOSED,   /* the client sent a close frame: it hung up on purpose */
    WS_GONE_LOST,     /* no close frame, a reader too slow, or the close grace passed */
    WS_GONE_SHUTDOWN, /* the server is stopping */
} ws_gone_t;

typedef struct {
    /* A socket asks for the upgrade: returns the connection's user data. */
    void *(*on_open)(void *ctx, ws_conn_t *conn);
    void (*on_text)(void *user, const char *text, size_t len);
    void (*on_binary)(void *user);
    /* Nothing received (not even a ping) for idle_timeout_ms. */
    void (*on_idle)(void *user);
    /* Every sweep, for each open connection not closing and each parked one. */
    void (*on_tick)(void *user, int64_t now_wall_ms);
    /* The socket is gone.  Returns how long to park the connection (ms), or
     * 0 to end it; may_park is false while the server stops. */
    uint64_t (*on_gone)(void *user, ws_gone_t why, bool may_park);
    /* A parked connection ends unclaimed: its window passed (expired) or the
     * server stops. */
    void (*on_parked_end)(void *user, bool expired);
    /* The last call for user: the connection is freed. */
    void (*on_free)(void *user);
} ws_callbacks_t;

typedef struct {
    h2o_evloop_t *loop;
    uint64_t idle_timeout_ms;
    size_t max_message_bytes; /* larger messages close the socket with 1009 */
    size_t max_queued_bytes;  /* a connection with more queued out is dropped (or, parked, stops queueing) */
    uint64_t close_grace_ms;  /* after our close frame, how long the client has to answer */
    ws_callbacks_t cb;
    void *ctx; /* on_open's */
} ws_config_t;

typedef struct {
    size_t open, parked;
    uint64_t idle_timeouts; /* connections found silent */
    uint64_t dropped_slow;  /* connections dropped for reading too slowly */
} ws_stats_t;

ws_server_t *ws_server_new(const ws_config_t *cfg);
/* Routes GET path (WebSocket upgrade over HTTP/1.1 only). */
void ws_server_register(ws_server_t *srv, struct http_server *http, const char *path, const char *route_name);
/* Refuses new sockets (503) and sends every open one a close frame (1001). */
void ws_server_begin_shutdown(ws_server_t *srv);
/* True when no socket is open (parked connections do not count). */
bool ws_server_idle(const ws_server_t *srv);
/* Drops the open sockets (on_gone with WS_GONE_SHUTDOWN) and the parked
 * connections (on_parked_end), then frees the server. */
void ws_server_free(ws_server_t *srv);
void ws_server_stats(const ws_server_t *srv, ws_stats_t *out);
/* The first connection, open then parked, for which match returns true; NULL if none. */
ws_conn_t *ws_server_find(ws_server_t *srv, bool (*match)(const ws_conn_t *conn, const void *arg), const void *arg);

void *ws_conn_user(const ws_conn_t *conn);
bool ws_conn_parked(const ws_conn_t *conn);
/* Queues one text message (copied).  Dropped once closing; a queue over
 * max_queued_bytes dooms the connection. */
void ws_send(ws_conn_t *conn, const buf_t *msg);
/* Sends a close frame once what is queued has gone out (wslay would send it
 * first); the socket is dropped when the client answers or close_grace_ms
 * later.  A parked connection only stops queueing. */
void ws_close(ws_conn_t *conn, uint16_t code, const char *reason);
/* Sends to `to`, in order, what was queued while `from` was parked. */
void ws_replay_parked(ws_conn_t *to, const ws_conn_t *from);
/* Ends a connection another took over: a parked one is freed (on_free, not
 * on_parked_end), an open one closed with code and reason. */
void ws_retire(ws_conn_t *conn, uint16_t code, const char *reason);

#endif
