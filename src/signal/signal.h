/*
 * signal.h — the signaling server: JSON messages over WebSocket at
 * /v1/signal (docs/API.md, "Signaling protocol"), one session per socket,
 * each joined to at most one room of the room registry.
 *
 * Threading: control thread only (its h2o evloop runs the sockets and
 * timers).  It does not own the room registry, the store or the HTTP server;
 * it borrows them, and they must outlive it.
 */
#ifndef IRTC_SIGNAL_H
#define IRTC_SIGNAL_H

#include <stdbool.h>

#include <h2o.h>

#include "core/config.h"
#include "room/room.h"
#include "signal/session.h"

struct store;
struct http_server;

typedef struct signal_server signal_server_t;

signal_server_t *signal_server_new(const cfg_t *cfg, h2o_evloop_t *loop, struct store *store, room_registry_t *rooms);
/* Routes GET /v1/signal and adds the signaling and room figures to /metrics.
 * Call between http_server_new and http_server_start. */
void signal_server_register(signal_server_t *srv, struct http_server *http);
/* Cluster mode: joins whose token names another node's media endpoint are
 * answered with a redirect to it (session.h, session_locate_fn). */
void signal_server_set_locator(signal_server_t *srv, session_locate_fn fn, void *ctx);
/* Refuses new sockets and sends every open one a close frame (1001). */
void signal_server_begin_shutdown(signal_server_t *srv);
/* True when no signaling socket is open. */
bool signal_server_idle(const signal_server_t *srv);
/* Drops the sockets still open (their users leave their rooms with reason 1)
 * and frees the server.  Before room_registry_free. */
void signal_server_free(signal_server_t *srv);

#endif
