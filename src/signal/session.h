/*
 * session.h — private to src/signal: the state of one signaling socket and
 * the calls between its two halves.  ws.c owns the socket (h2o/wslay glue,
 * send queue, close handshake, idle and close timers); session.c owns the
 * protocol (requests, replies, the room sink, join-token deadlines).
 *
 * Control thread only.  Nothing here is called from inside a room sink
 * except sig_send and sig_close, which only queue: a session is destroyed
 * solely by ws.c, from an h2o callback or a timer.
 */
#ifndef IRTC_SIGNAL_SESSION_H
#define IRTC_SIGNAL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <h2o/websocket.h>

#include "core/buf.h"
#include "core/config.h"
#include "room/room.h"
#include "apps/jointoken.h"
#include "signal/signal.h"

struct store;

/* Bounds (docs/API.md): a message in (an SDP offer is ~10 KB), the bytes
 * queued out before the client is deemed too slow and dropped. */
#define SIG_MAX_MESSAGE_BYTES (256 * 1024)
#define SIG_MAX_QUEUED_BYTES (1024 * 1024)
/* A close frame is followed by at most this long a wait for the client's. */
#define SIG_CLOSE_GRACE_MS 2000
/* signature-expired is sent this long before the join token expires. */
#define SIG_EXPIRY_WARNING_MS (60 * 1000)
/* Clock skew tolerated on a join token's timeStamp. */
#define SIG_TOKEN_SKEW_MS (5 * 60 * 1000)
/* Characters of the secret that a session joined with "resume" gets back. */
#define SIG_RESUME_TOKEN_LEN 32
/* Close code of a socket whose session was resumed on another socket. */
#define SIG_CLOSE_RESUMED 4100

/* The guide's error codes (§7.2.4.3) as this server uses them. */
enum {
    SIG_ERR_INTERNAL = 200001,      /* the server failed (store, unexpected) */
    SIG_ERR_STATE = 200002,         /* not allowed now: already joined, role 0 subscribing, ... */
    SIG_ERR_PARAM = 200006,         /* bad message: JSON, version, type, a field */
    SIG_ERR_TOKEN_INVALID = 200009, /* signature invalid or not matching the request */
    SIG_ERR_TOKEN_EXPIRED = 200010,
    SIG_ERR_USER_JOINED = 200011,   /* userId already in the room */
    SIG_ERR_NOT_JOINED = 200012,    /* the request needs a room: join first */
    SIG_ERR_REJECTED = 200019,      /* the publisher limit */
    SIG_ERR_MEDIA = 200021,         /* the media plane refused a subscription */
    SIG_ERR_PUBLISH_AUDIO = 200025, /* the media plane refused an audio-only publish */
    SIG_ERR_PUBLISH_VIDEO = 200026, /* ... a publish with video */
};

struct sig_server {
    const cfg_t *cfg;
    h2o_evloop_t *loop;
    struct store *store;
    room_registry_t *rooms;
    h2o_linklist_t sessions;
    size_t session_count;
    h2o_timeout_t flush_timeout; /* 0 ms: flushes queued messages at the end of the loop turn */
    h2o_timeout_t sweep_timeout; /* idle, close-grace and token deadlines */
    h2o_timeout_entry_t sweep_entry;
    bool shutting_down;
    uint64_t messages_total, errors_total, timeouts_total, dropped_slow_total;
    /* sessions whose socket was lost, kept for `resume` (ws.c) */
    h2o_linklist_t parked;
    size_t parked_count;
    uint64_t resumed_total;
};

typedef struct sig_session {
    sig_server_t *srv;
    h2o_linklist_t link;
    h2o_websocket_conn_t *ws; /* ws->sock is NULL until the 101 response is written; ws NULL while parked */
    h2o_timeout_entry_t flush_entry;
    uint64_t last_rx_ms; /* monotonic: any frame, including a WebSocket ping */
    uint64_t close_deadline_ms;
    bool closing;      /* closing: nothing more is sent or handled */
    bool close_queued; /* the close frame is in wslay's queue */
    uint16_t close_code;
    char close_reason[64];
    bool doomed;   /* to be dropped at the next flush (send queue overflow) */
    bool orphaned; /* the server was freed while h2o still owned the socket */
    /* protocol state (session.c) */
    room_peer_t *peer; /* NULL unless in a room */
    jt_payload_t token;
    int64_t token_expires_ms; /* wall clock */
    bool expiry_warned;
    /* resume (joined with "resume": true; docs/API.md) */
    bool resumable;
    char resume_token[SIG_RESUME_TOKEN_LEN + 1];
    bool park_on_close;        /* closed by the server for silence: park, do not leave */
    uint64_t parked_until_ms;  /* monotonic; nonzero while parked (ws == NULL) */
    bool removed;              /* removed by the server (removed_reason) while parked */
    int removed_reason;
    buf_t parked_out;          /* messages sent while parked, each followed by a NUL */
    bool parked_overflow;      /* ... more than SIG_MAX_QUEUED_BYTES: dropped */
} sig_session_t;

/* ---- ws.c, for session.c ---- */
/* Queues one text message (copied).  Dropped once closing; a queue over
 * SIG_MAX_QUEUED_BYTES dooms the session. */
void sig_send(sig_session_t *s, const buf_t *msg);
/* Sends a close frame once what is queued has gone out (wslay would send
 * it first); the socket is dropped when the client answers or
 * SIG_CLOSE_GRACE_MS later. */
void sig_close(sig_session_t *s, uint16_t code, const char *reason);
/* The session, open or parked, that holds resume token (never except), or NULL. */
sig_session_t *sig_find_resumable(sig_server_t *srv, const char *token, const sig_session_t *except);
/* Ends a session whose state another took over by `resume`: a parked one is
 * freed, an open one closed with SIG_CLOSE_RESUMED.  Its peer must be NULL. */
void sig_retire(sig_session_t *s);

/* ---- session.c, for ws.c ---- */
void sess_on_text(sig_session_t *s, const char *text, size_t len);
void sess_on_binary(sig_session_t *s);
/* The socket has been silent for limits.signal_idle_timeout. */
void sess_on_idle(sig_session_t *s);
/* Token deadlines: signature-expired, then leaving with reason 6. */
void sess_tick(sig_session_t *s, int64_t now_wall_ms);
/* The socket is gone: leave the room (if in one) for reason. */
void sess_on_gone(sig_session_t *s, int reason);

/* ---- events.c: the wire format ---- */
void sess_reply_ok(sig_session_t *s, int64_t id, const buf_t *data); /* data: a JSON object, or NULL for {} */
/* An error response to request id, or an `error` event when id < 0. */
void sess_reply_error(sig_session_t *s, int64_t id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sess_send_event(sig_session_t *s, const char *event, const buf_t *data);
void sess_write_stream(buf_t *b, const room_stream_t *st);
/* The room sink of every joined session. */
void sess_on_room_event(void *ctx, const room_event_t *ev);
/* Tells the client it left for reason (6 expired, 7 timeout, 5 / 10 banned)
 * and closes the socket; the peer has already left the room. */
void sess_removed(sig_session_t *s, int reason);

#endif
