/*
 * session.h — one client's signaling session: the protocol state of one
 * WebSocket connection (its room peer, join token, deadlines, resume
 * secret) and the handlers the connection's events go to.  signal.c wires
 * them to ws.h's callbacks; tests call them directly.
 *
 * Control thread only.  A session reaches its connection only through ws.h
 * (send, close, resume lookups), so nothing here frees a connection; the
 * session itself is freed by session_free, the connection's on_free.
 */
#ifndef IRTC_SIGNAL_SESSION_H
#define IRTC_SIGNAL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apps/jointoken.h"
#include "core/config.h"
#include "room/room.h"
#include "signal/ws.h"

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
    SIG_ERR_REDIRECT = 200030,      /* cluster mode: the room is served by another node (join's "redirect") */
};

/* Cluster mode: 1 with the node's id and host:port when the media endpoint
 * host:port of a join token belongs to another live node, else 0. */
typedef int (*session_locate_fn)(void *ctx, const char *host, unsigned port, char node_id[33], char domain[256]);

/* What every session shares: the daemon's parts it borrows and the
 * protocol's counters (/metrics).  Owned by signal.c. */
typedef struct session_env {
    const cfg_t *cfg;
    struct store *store;
    room_registry_t *rooms;
    ws_server_t *ws;          /* resume looks up other sessions here */
    session_locate_fn locate; /* NULL: one node alone */
    void *locate_ctx;
    uint64_t redirects_total;
    uint64_t messages_total, errors_total, resumed_total;
    uint64_t parked_expired_total; /* parked sessions whose window passed (a timeout too) */
} session_env_t;

typedef struct session {
    session_env_t *env;
    ws_conn_t *conn;
    room_peer_t *peer; /* NULL unless in a room */
    jt_payload_t token;
    int64_t token_expires_ms; /* wall clock */
    bool expiry_warned;
    /* resume (joined with "resume": true; docs/API.md) */
    bool resumable;
    char resume_token[SIG_RESUME_TOKEN_LEN + 1];
    bool park_on_close; /* closed by the server for silence: park, do not leave */
    bool removed;       /* removed by the server (removed_reason) */
    int removed_reason;
    int proto;   /* the protocol version it joined with: 1, or 2 (one connection per direction) */
    int reply_v; /* while a request is handled: its version, for the response */
} session_t;

/* A session for a connection that has just been upgraded. */
session_t *session_new(session_env_t *env, ws_conn_t *conn);
/* Frees s; it must have left its room (session_on_gone / session_on_parked_end). */
void session_free(session_t *s);

void session_on_text(session_t *s, const char *text, size_t len);
void session_on_binary(session_t *s);
/* The socket has been silent for limits.signal_idle_timeout. */
void session_on_idle(session_t *s);
/* Token deadlines: signature-expired, then leaving with reason 6. */
void session_tick(session_t *s, int64_t now_wall_ms);
/* The socket is gone (why): leaves the room for the matching reason, or,
 * for a resumable session whose socket was lost, keeps it and returns the
 * resume window to park it for (only when may_park). */
uint64_t session_on_gone(session_t *s, ws_gone_t why, bool may_park);
/* A parked session ends unclaimed: leaves with reason 7 (expired) or 1. */
void session_on_parked_end(session_t *s, bool expired);

#endif
