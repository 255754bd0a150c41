/*
 * ws.c — the signaling sockets: GET /v1/signal upgraded with h2o 2.2.5's
 * WebSocket API (wslay underneath), each socket's send queue and close
 * handshake, the idle and close timers, shutdown, and the /metrics figures
 * of signaling and rooms.  Control thread.
 *
 * It does not read or write protocol messages (session.c does) and never
 * frees a session from inside a room sink or a message handler: a session is
 * destroyed only from h2o's close callback, the flush timer (for a doomed
 * session) or the sweep timer, where nothing up the stack still uses it.
 *
 * h2o facts this relies on: the message callback gets arg == NULL once the
 * socket is finished, and must then call h2o_websocket_close; messages queued
 * outside wslay's callback go out only after h2o_websocket_proceed, which is
 * deferred here to a 0 ms timer so it never re-enters a session's handler;
 * ws->sock stays NULL until the 101 response is written, and such a session
 * cannot be closed by us (h2o still owns the socket).
 */
#include "signal/session.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_SWEEP_MS 250

static void schedule_flush(sig_session_t *s)
{
    if (!h2o_timeout_is_linked(&s->flush_entry))
        h2o_timeout_link(s->srv->loop, &s->srv->flush_timeout, &s->flush_entry);
}

/* A resumable session whose socket was lost, not closed on purpose, is
 * parked rather than leaving its room. */
static bool should_park(const sig_session_t *s, int reason)
{
    return s->peer != NULL && s->resumable && !s->srv->shutting_down && s->srv->cfg->signal_resume_window_ms > 0 &&
           (reason == ROOM_REASON_TIMEOUT || s->park_on_close);
}

static void free_parked(sig_session_t *s)
{
    h2o_linklist_unlink(&s->link);
    s->srv->parked_count--;
    buf_dispose(&s->parked_out);
    free(s);
}

/* The end of a session's socket: it leaves its room (others told with
 * reason) and is freed, or it is parked for `resume` (session.h). */
static void session_destroy(sig_session_t *s, int reason)
{
    sig_server_t *srv = s->srv;
    bool park = should_park(s, reason);
    if (!park)
        sess_on_gone(s, reason);
    if (h2o_timeout_is_linked(&s->flush_entry))
        h2o_timeout_unlink(&s->flush_entry);
    h2o_linklist_unlink(&s->link);
    srv->session_count--;
    h2o_websocket_close(s->ws);
    if (!park) {
        buf_dispose(&s->parked_out);
        free(s);
        return;
    }
    s->ws = NULL;
    s->closing = s->close_queued = s->doomed = s->park_on_close = false;
    s->parked_until_ms = clock_mono_ms() + srv->cfg->signal_resume_window_ms;
    h2o_linklist_insert(&srv->parked, &s->link);
    srv->parked_count++;
    log_info("signal", "%s lost its socket in %s/%s: kept %llu ms for resume", s->token.user_id, s->token.app_id,
             s->token.channel_id, (unsigned long long)srv->cfg->signal_resume_window_ms);
}

sig_session_t *sig_find_resumable(sig_server_t *srv, const char *token, const sig_session_t *except)
{
    size_t len = strlen(token);
    for (h2o_linklist_t *l = srv->sessions.next; l != &srv->sessions; l = l->next) {
        sig_session_t *s = H2O_STRUCT_FROM_MEMBER(sig_session_t, link, l);
        if (s != except && s->resumable && s->peer != NULL &&
            crypto_equal(s->resume_token, strlen(s->resume_token), token, len))
            return s;
    }
    for (h2o_linklist_t *l = srv->parked.next; l != &srv->parked; l = l->next) {
        sig_session_t *s = H2O_STRUCT_FROM_MEMBER(sig_session_t, link, l);
        if (crypto_equal(s->resume_token, strlen(s->resume_token), token, len))
            return s;
    }
    return NULL;
}

void sig_retire(sig_session_t *s)
{
    if (s->ws == NULL) {
        free_parked(s);
        return;
    }
    s->park_on_close = false;
    sig_close(s, SIG_CLOSE_RESUMED, "resumed on another socket");
}

static void on_ws_message(h2o_websocket_conn_t *ws, const struct wslay_event_on_msg_recv_arg *arg)
{
    sig_session_t *s = ws->data;
    if (s->orphaned) {
        if (arg == NULL) {
            h2o_websocket_close(ws);
            free(s);
        }
        return;
    }
    if (arg == NULL) {
        /* A close frame from the client means it hung up on purpose. */
        session_destroy(s, wslay_event_get_close_received(ws->ws_ctx) ? ROOM_REASON_LEFT : ROOM_REASON_TIMEOUT);
        return;
    }
    s->last_rx_ms = clock_mono_ms();
    if (s->closing)
        return;
    if (arg->opcode == WSLAY_TEXT_FRAME)
        sess_on_text(s, (const char *)arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_BINARY_FRAME)
        sess_on_binary(s);
    /* wslay answers pings and close frames itself. */
}

/* wslay sends control frames ahead of queued messages, so the close frame
 * is queued only once every message has been handed to the socket. */
static void queue_close_when_drained(sig_session_t *s)
{
    wslay_event_context_ptr ctx = s->ws->ws_ctx;
    if (!s->closing || s->close_queued || wslay_event_get_queued_msg_count(ctx) != 0)
        return;
    s->close_queued = true;
    wslay_event_queue_close(ctx, s->close_code, (const uint8_t *)s->close_reason, strlen(s->close_reason));
}

static void on_flush(h2o_timeout_entry_t *entry)
{
    sig_session_t *s = H2O_STRUCT_FROM_MEMBER(sig_session_t, flush_entry, entry);
    if (s->doomed) {
        session_destroy(s, ROOM_REASON_TIMEOUT);
        return;
    }
    /* Before the 101 is written h2o proceeds by itself once it is. */
    if (s->ws->sock != NULL) {
        queue_close_when_drained(s);
        h2o_websocket_proceed(s->ws); /* may destroy s */
    }
}

void sig_send(sig_session_t *s, const buf_t *msg)
{
    if (s->closing || s->doomed)
        return;
    if (s->ws == NULL) {
        /* Parked: kept for the socket that resumes it (bounded like a send queue). */
        if (s->parked_overflow || s->parked_out.len + msg->len + 1 > SIG_MAX_QUEUED_BYTES) {
            s->parked_overflow = true;
            return;
        }
        buf_append(&s->parked_out, msg->base, msg->len);
        buf_putc(&s->parked_out, '\0');
        return;
    }
    wslay_event_context_ptr ctx = s->ws->ws_ctx;
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)msg->base, msg->len};
    if (wslay_event_get_queued_msg_length(ctx) + msg->len > SIG_MAX_QUEUED_BYTES ||
        wslay_event_queue_msg(ctx, &m) != 0) {
        log_ratelimited(LOG_LEVEL_WARN, "signal", 1000, "a client reads too slowly (over %d bytes queued): dropped",
                        SIG_MAX_QUEUED_BYTES);
        s->srv->dropped_slow_total++;
        s->doomed = true;
    }
    schedule_flush(s);
}

void sig_close(sig_session_t *s, uint16_t code, const char *reason)
{
    if (s->closing || s->doomed)
        return;
    s->closing = true;
    if (s->ws == NULL)
        return; /* parked: there is no socket; nothing more is queued */
    s->close_deadline_ms = clock_mono_ms() + SIG_CLOSE_GRACE_MS;
    s->close_code = code;
    snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason); /* RFC 6455 allows 123 bytes */
    schedule_flush(s);
}

static int on_signal_request(void *ctx, h2o_req_t *req)
{
    sig_server_t *srv = ctx;
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
    sig_session_t *s = xcalloc(1, sizeof(*s));
    s->srv = srv;
    s->last_rx_ms = clock_mono_ms();
    s->flush_entry.cb = on_flush;
    h2o_linklist_insert(&srv->sessions, &s->link);
    srv->session_count++;
    s->ws = h2o_upgrade_to_websocket(req, key, s, on_ws_message);
    /* Larger messages make wslay close the socket with 1009. */
    wslay_event_config_set_max_recv_msg_length(s->ws->ws_ctx, SIG_MAX_MESSAGE_BYTES);
    return 0;
}

static void on_sweep(h2o_timeout_entry_t *entry)
{
    sig_server_t *srv = H2O_STRUCT_FROM_MEMBER(sig_server_t, sweep_entry, entry);
    uint64_t now = clock_mono_ms();
    int64_t wall = (int64_t)clock_wall_ms();
    h2o_linklist_t *next;
    for (h2o_linklist_t *l = srv->sessions.next; l != &srv->sessions; l = next) {
        /* Handling one session only queues messages to others, never frees them. */
        next = l->next;
        sig_session_t *s = H2O_STRUCT_FROM_MEMBER(sig_session_t, link, l);
        if (s->ws->sock == NULL || s->doomed)
            continue;
        if (s->closing) {
            if (now >= s->close_deadline_ms) {
                session_destroy(s, srv->shutting_down ? ROOM_REASON_SERVER_ERROR : ROOM_REASON_TIMEOUT);
            } else if (!s->close_queued && wslay_event_get_queued_msg_count(s->ws->ws_ctx) == 0) {
                schedule_flush(s);
            }
        } else if (now - s->last_rx_ms >= srv->cfg->signal_idle_timeout_ms) {
            srv->timeouts_total++;
            sess_on_idle(s);
        } else {
            sess_tick(s, wall);
        }
    }
    for (h2o_linklist_t *l = srv->parked.next; l != &srv->parked; l = next) {
        next = l->next;
        sig_session_t *s = H2O_STRUCT_FROM_MEMBER(sig_session_t, link, l);
        if (s->peer != NULL)
            sess_tick(s, wall); /* the token may expire meanwhile (reason 6) */
        if (now < s->parked_until_ms)
            continue;
        if (s->peer != NULL) {
            srv->timeouts_total++;
            sess_on_gone(s, ROOM_REASON_TIMEOUT);
        }
        free_parked(s);
    }
    h2o_timeout_link(srv->loop, &srv->sweep_timeout, &srv->sweep_entry);
}

/* ---- metrics ---- */

static void collect(buf_t *out, void *ctx)
{
    sig_server_t *srv = ctx;
    room_stats_t st;
    room_registry_stats(srv->rooms, &st);
    const struct {
        const char *name, *type, *help;
        double value;
    } m[] = {
        {"irtc_signal_websockets", "gauge", "Open signaling WebSockets.", (double)srv->session_count},
        {"irtc_signal_messages_total", "counter", "Signaling messages received.", (double)srv->messages_total},
        {"irtc_signal_errors_total", "counter", "Signaling error responses and error events sent.",
         (double)srv->errors_total},
        {"irtc_signal_timeouts_total", "counter", "Signaling sockets closed for silence.", (double)srv->timeouts_total},
        {"irtc_signal_dropped_slow_total", "counter", "Signaling sockets dropped for reading too slowly.",
         (double)srv->dropped_slow_total},
        {"irtc_signal_parked", "gauge", "Users whose signaling socket was lost, kept in their room for resume.",
         (double)srv->parked_count},
        {"irtc_signal_resumed_total", "counter", "Sessions resumed on a new signaling socket.",
         (double)srv->resumed_total},
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

sig_server_t *sig_server_new(const cfg_t *cfg, h2o_evloop_t *loop, struct store *store, room_registry_t *rooms)
{
    sig_server_t *srv = xcalloc(1, sizeof(*srv));
    srv->cfg = cfg;
    srv->loop = loop;
    srv->store = store;
    srv->rooms = rooms;
    h2o_linklist_init_anchor(&srv->sessions);
    h2o_linklist_init_anchor(&srv->parked);
    h2o_timeout_init(loop, &srv->flush_timeout, 0);
    h2o_timeout_init(loop, &srv->sweep_timeout, SIG_SWEEP_MS);
    srv->sweep_entry.cb = on_sweep;
    h2o_timeout_link(loop, &srv->sweep_timeout, &srv->sweep_entry);
    return srv;
}

void sig_server_register(sig_server_t *srv, struct http_server *http)
{
    http_server_route(http, "/v1/signal", false, HTTP_METHOD_GET, "signal", on_signal_request, srv);
    metrics_register_collector(collect, srv);
}

void sig_server_begin_shutdown(sig_server_t *srv)
{
    srv->shutting_down = true;
    for (h2o_linklist_t *l = srv->sessions.next; l != &srv->sessions; l = l->next) {
        sig_session_t *s = H2O_STRUCT_FROM_MEMBER(sig_session_t, link, l);
        if (s->ws->sock != NULL)
            sig_close(s, 1001, "server shutting down");
    }
}

bool sig_server_idle(const sig_server_t *srv)
{
    return srv->session_count == 0;
}

void sig_server_free(sig_server_t *srv)
{
    if (srv == NULL)
        return;
    while (!h2o_linklist_is_empty(&srv->sessions)) {
        sig_session_t *s = H2O_STRUCT_FROM_MEMBER(sig_session_t, link, srv->sessions.next);
        if (s->ws->sock != NULL) {
            session_destroy(s, ROOM_REASON_SERVER_ERROR);
        } else {
            /* h2o still writes its 101 and will call back; the session is
             * then freed alone (on_ws_message). */
            h2o_linklist_unlink(&s->link);
            srv->session_count--;
            if (h2o_timeout_is_linked(&s->flush_entry))
                h2o_timeout_unlink(&s->flush_entry);
            s->orphaned = true;
        }
    }
    while (!h2o_linklist_is_empty(&srv->parked)) {
        sig_session_t *s = H2O_STRUCT_FROM_MEMBER(sig_session_t, link, srv->parked.next);
        sess_on_gone(s, ROOM_REASON_SERVER_ERROR);
        free_parked(s);
    }
    h2o_timeout_unlink(&srv->sweep_entry);
    h2o_timeout_dispose(srv->loop, &srv->flush_timeout);
    h2o_timeout_dispose(srv->loop, &srv->sweep_timeout);
    free(srv);
}
