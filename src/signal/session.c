/*
 * session.c — the signaling protocol's requests: parse and check each
 * message (envelope, version, type, fields), verify join tokens, call the
 * room registry, answer with the guide's error codes, keep the join token's
 * deadlines (signature-expired, then leaving with reason 6), turn room
 * events into server events, and decide what a lost socket means (leave,
 * or park for resume).  Control thread.
 *
 * It does not touch sockets (ws.c does, through ws.h) or choose the wire
 * format (events.c), and never crashes on input: every malformed message
 * gets an error response, or an `error` event when it has no usable
 * request id.
 */
#include "signal/session.h"
#include "apps/turncred.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "sfu/sfu.h"
#include "signal/events.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what goes out ---- */

static void send_and_dispose(session_t *s, buf_t *b)
{
    ws_send(s->conn, b);
    buf_dispose(b);
}

/* The version a message to s carries: the request's, else the session's. */
static int version_of(const session_t *s)
{
    return s->reply_v ? s->reply_v : s->proto ? s->proto : EVENTS_PROTOCOL_VERSION;
}

static void reply_ok(session_t *s, int64_t id, const buf_t *data)
{
    buf_t b;
    buf_init(&b);
    events_write_ok(&b, version_of(s), id, data);
    send_and_dispose(s, &b);
}

/* An error response to request id, or an `error` event when id < 0. */
static void reply_error(session_t *s, int64_t id, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply_error(session_t *s, int64_t id, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->env->errors_total++;
    buf_t b;
    buf_init(&b);
    events_write_error(&b, version_of(s), id, code, msg);
    send_and_dispose(s, &b);
}

static void send_event(session_t *s, const char *event, const buf_t *data)
{
    buf_t b;
    buf_init(&b);
    events_write_event(&b, s->proto ? s->proto : EVENTS_PROTOCOL_VERSION, event, data);
    send_and_dispose(s, &b);
}

/* Tells the client it left for reason (6 expired, 7 timeout, 5 / 10 banned)
 * and closes the socket; the peer has already left the room. */
static void session_removed(session_t *s, int reason)
{
    s->removed = true;
    s->removed_reason = reason;
    buf_t d;
    buf_init(&d);
    const char *name = events_write_removed(&d, s->token.user_id, reason);
    send_event(s, name, &d);
    buf_dispose(&d);
    char text[64];
    snprintf(text, sizeof(text), "left the room: %s", room_reason_text(reason));
    /* 4000 + the reason code: a native client reads why from the close frame too. */
    ws_close(s->conn, (uint16_t)(4000 + reason), text);
}

/* The room sink of every joined session: only writes and queues, as room.h
 * requires of sinks. */
static void on_room_event(void *ctx, const room_event_t *ev)
{
    session_t *s = ctx;
    if (ev->type == ROOM_EV_REMOVED) {
        /* The peer is freed when this returns. */
        s->peer = NULL;
        session_removed(s, ev->reason);
        return;
    }
    if (s->proto < EVENTS_PROTOCOL_V2 &&
        (ev->type == ROOM_EV_SUB_LAYER || ev->type == ROOM_EV_TRANSPORT_STATS || ev->type == ROOM_EV_ACTIVE_SPEAKER))
        return; /* protocol v2 additions: v1 clients never knew them */
    if (ev->type == ROOM_EV_SUB_LAYER) {
        if (ev->resumed) {
            buf_t r;
            buf_init(&r);
            buf_printf(&r, "{\"subscriptionId\":\"%llu\",\"streamId\":\"%llu\"}", (unsigned long long)ev->sub_id,
                       (unsigned long long)ev->stream->id);
            send_event(s, "subscription-resumed", &r);
            buf_dispose(&r);
        }
    }
    buf_t d;
    buf_init(&d);
    const char *name = events_write_room_event(&d, ev);
    if (name != NULL)
        send_event(s, name, &d);
    buf_dispose(&d);
}

/* ---- requests ---- */

/* Request ids must survive a JavaScript number. */
#define SIG_MAX_REQUEST_ID ((INT64_C(1) << 53) - 1)

/* One request being handled; after the first failed field an error has been
 * sent and failed is set, so handlers check it once after reading fields. */
typedef struct {
    session_t *s;
    int64_t id;
    int v; /* the request's protocol version */
    const json_value_t *msg;
    bool failed;
} req_t;

/* The error response to r (only the first one is sent). */
static void fail(req_t *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(req_t *r, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (r->failed)
        return;
    r->failed = true;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_error(r->s, r->id, code, "%s", msg);
}

/* Answers with data built from fmt (a JSON object). */
static void reply_fmt(req_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_fmt(req_t *r, const char *fmt, ...)
{
    va_list ap;
    buf_t d;
    buf_init(&d);
    va_start(ap, fmt);
    buf_vprintf(&d, fmt, ap);
    va_end(ap);
    reply_ok(r->s, r->id, &d);
    buf_dispose(&d);
}

/* Answers publish/subscribe: {"<id_key>": "<id>", "sdp": answer, "stream": st}; frees answer. */
static void reply_answer(req_t *r, const char *id_key, uint64_t id, char *answer, const room_stream_t *st)
{
    buf_t d;
    buf_init(&d);
    buf_printf(&d, "{\"%s\":\"%llu\",\"sdp\":", id_key, (unsigned long long)id);
    json_write_string(&d, answer);
    buf_puts(&d, ",\"stream\":");
    events_write_stream(&d, st);
    buf_putc(&d, '}');
    reply_ok(r->s, r->id, &d);
    buf_dispose(&d);
    free(answer);
}

/* A string field of at most max bytes; NULL when absent (and optional) or bad. */
static const char *req_string(req_t *r, const char *key, size_t max, bool required)
{
    const json_value_t *v = json_get(r->msg, key);
    if (v == NULL) {
        if (required)
            fail(r, SIG_ERR_PARAM, "%s: missing", key);
        return NULL;
    }
    if (json_type(v) != JSON_STRING || json_string_len(v) == 0 || json_string_len(v) > max) {
        fail(r, SIG_ERR_PARAM, "%s: must be a string of 1 to %zu bytes", key, max);
        return NULL;
    }
    return json_string(v);
}

/* A boolean field; *present says whether it was there. */
static bool req_bool(req_t *r, const char *key, bool dflt, bool *present)
{
    const json_value_t *v = json_get(r->msg, key);
    if (present != NULL)
        *present = v != NULL;
    if (v == NULL)
        return dflt;
    if (!json_is_bool(v))
        fail(r, SIG_ERR_PARAM, "%s: must be true or false", key);
    return json_bool(v);
}

/* A role: the number 0 or 1 (or "0"/"1", as the token writes it); -1 when absent. */
static int req_role(req_t *r, const char *key, bool required)
{
    const json_value_t *v = json_get(r->msg, key);
    int64_t n = -1;
    const char *str = json_string(v);
    if (v == NULL) {
        if (required)
            fail(r, SIG_ERR_PARAM, "%s: missing", key);
        return -1;
    }
    if (str != NULL && (strcmp(str, "0") == 0 || strcmp(str, "1") == 0))
        n = str[0] - '0';
    else if (json_int64(v, &n) != IRTC_OK)
        n = -1;
    if (n != 0 && n != 1) {
        fail(r, SIG_ERR_PARAM, "%s: must be 0 (publisher) or 1 (joiner)", key);
        return -1;
    }
    return (int)n;
}

/* A stream or subscription id: a string of decimal digits (as sent) or a
 * plain integer; 0 when absent and optional. */
static uint64_t req_object_id(req_t *r, const char *key, bool required)
{
    const json_value_t *v = json_get(r->msg, key);
    if (v == NULL) {
        if (required)
            fail(r, SIG_ERR_PARAM, "%s: missing", key);
        return 0;
    }
    const char *text = json_type(v) == JSON_STRING ? json_string(v) : json_number_text(v);
    uint64_t n = 0;
    size_t len = text != NULL ? strlen(text) : 0;
    bool ok = len >= 1 && len <= 19;
    for (size_t i = 0; ok && i < len; i++) {
        ok = text[i] >= '0' && text[i] <= '9';
        n = n * 10 + (uint64_t)(text[i] - '0');
    }
    if (!ok || n == 0) {
        fail(r, SIG_ERR_PARAM, "%s: must be an id as a string of digits", key);
        return 0;
    }
    return n;
}

/* "mids": {"audio": "<mid>", "video": "<mid>"} (protocol v2), each optional. */
static void req_mids(req_t *r, sfu_mids_t *m)
{
    m->audio = m->video = NULL;
    const json_value_t *v = json_get(r->msg, "mids");
    if (v == NULL)
        return;
    if (json_type(v) != JSON_OBJECT) {
        fail(r, SIG_ERR_PARAM, "%s: must be an object {\"audio\": mid, \"video\": mid}", "mids");
        return;
    }
    static const char *const kinds[2] = {"audio", "video"};
    const char **out[2] = {&m->audio, &m->video};
    for (int k = 0; k < 2; k++) {
        const json_value_t *x = json_get(v, kinds[k]);
        if (x == NULL)
            continue;
        if (json_type(x) != JSON_STRING || json_string_len(x) == 0 || json_string_len(x) > 32) {
            fail(r, SIG_ERR_PARAM, "mids.%s: must be a mid of 1 to 32 characters", kinds[k]);
            return;
        }
        *out[k] = json_string(x);
    }
}

/* "maxLayer": 0, 1, 2 (or "low", "medium", "high"); -1 when absent. */
static int req_layer(req_t *r, bool required)
{
    const json_value_t *v = json_get(r->msg, "maxLayer");
    if (v == NULL) {
        if (required)
            fail(r, SIG_ERR_PARAM, "%s: missing", "maxLayer");
        return -1;
    }
    static const char *const names[3] = {"low", "medium", "high"};
    const char *str = json_string(v);
    for (int i = 0; str != NULL && i < 3; i++)
        if (strcmp(str, names[i]) == 0)
            return i;
    int64_t n;
    if (json_type(v) != JSON_STRING && json_int64(v, &n) == IRTC_OK && n >= 0 && n <= 2)
        return (int)n;
    fail(r, SIG_ERR_PARAM, "%s: must be 0, 1, 2 (or \"low\", \"medium\", \"high\")", "maxLayer");
    return -1;
}

/* Answers with {"sdp": answer} when there is one (v2 renegotiations), {} otherwise; frees answer. */
static void reply_sdp(req_t *r, char *answer)
{
    buf_t d;
    buf_init(&d);
    if (answer != NULL) {
        buf_puts(&d, "{\"sdp\":");
        json_write_string(&d, answer);
        buf_putc(&d, '}');
    }
    reply_ok(r->s, r->id, &d);
    buf_dispose(&d);
    free(answer);
}

/* ---- join tokens ---- */

/* Verifies token text into *p; 0 or SIG_ERR_TOKEN_* / SIG_ERR_INTERNAL with *why. */
static int check_token(session_t *s, const char *text, jt_payload_t *p, const char **why)
{
    char sig_b64[JT_SIG_B64_SIZE];
    store_app_t app;
    if (jt_parse(text, strlen(text), p, sig_b64, sizeof(sig_b64), why) != IRTC_OK)
        return SIG_ERR_TOKEN_INVALID;
    int rc = store_app_get(s->env->store, p->app_id, &app);
    if (rc != IRTC_OK) {
        store_app_dispose(&app);
        *why = rc == IRTC_ENOTFOUND ? "no such appId" : "the application store failed";
        return rc == IRTC_ENOTFOUND ? SIG_ERR_TOKEN_INVALID : SIG_ERR_INTERNAL;
    }
    rc = jt_check(p, sig_b64, app.access_key, (int64_t)clock_wall_ms(), (int64_t)s->env->cfg->token_ttl_ms,
                  SIG_TOKEN_SKEW_MS, why);
    store_app_dispose(&app);
    if (rc == JT_EXPIRED)
        return SIG_ERR_TOKEN_EXPIRED;
    return rc == IRTC_OK ? 0 : SIG_ERR_TOKEN_INVALID;
}

/* The first of appId, channelId, userId that differs from the token, or NULL. */
static const char *token_mismatch(const jt_payload_t *p, const char *app, const char *chan, const char *user)
{
    if (strcmp(p->app_id, app) != 0)
        return "appId";
    if (strcmp(p->channel_id, chan) != 0)
        return "channelId";
    if (strcmp(p->user_id, user) != 0)
        return "userId";
    return NULL;
}

/* check_token, then the token must be for app, chan and user (the request's,
 * or the session's when renewing).  False once an error is sent. */
static bool token_ok(req_t *r, const char *token, const char *app, const char *chan, const char *user, bool renewing,
                     jt_payload_t *p)
{
    const char *why = "invalid";
    int code = check_token(r->s, token, p, &why);
    if (code != 0) {
        fail(r, code, "signature: %s", why);
        return false;
    }
    const char *field = token_mismatch(p, app, chan, user);
    if (field != NULL && renewing) {
        fail(r, SIG_ERR_TOKEN_INVALID, "signature: its %s is not this session's", field);
        return false;
    }
    if (field != NULL) {
        fail(r, SIG_ERR_TOKEN_INVALID, "%s: does not match the signature", field);
        return false;
    }
    return true;
}

static void accept_token(session_t *s, const jt_payload_t *p)
{
    s->token = *p;
    s->token_expires_ms = p->timestamp_ms + (int64_t)s->env->cfg->token_ttl_ms;
    s->expiry_warned = false;
}

/* ---- requests ---- */

/* "iceServers":[...], (with the comma) when media.turn is configured: the
 * TURN URIs with credentials valid until the join token expires (or for
 * media.turn.ttl), for the client's RTCPeerConnection configuration. */
static void write_ice_servers(buf_t *d, const session_t *s)
{
    const cfg_t *cfg = s->env->cfg;
    char user[TURNCRED_USER_MAX], pass[TURNCRED_PASS_SIZE];
    int64_t expiry_ms = cfg->turn_ttl_ms ? (int64_t)clock_wall_ms() + (int64_t)cfg->turn_ttl_ms : s->token_expires_ms;
    if (cfg->turn_url_count == 0 || turncred_make(cfg->turn_secret, s->token.user_id, expiry_ms / 1000, user, pass) != IRTC_OK)
        return;
    buf_puts(d, "\"iceServers\":[{\"urls\":[");
    for (size_t i = 0; i < cfg->turn_url_count; i++) {
        buf_puts(d, i ? "," : "");
        json_write_string(d, cfg->turn_urls[i]);
    }
    buf_puts(d, "],\"username\":");
    json_write_string(d, user);
    buf_puts(d, ",\"credential\":");
    json_write_string(d, pass);
    buf_puts(d, "}],");
}

static void write_join_data(buf_t *d, const session_t *s)
{
    const room_t *room = room_peer_room(s->peer);
    buf_puts(d, "{\"roomId\":");
    json_write_string(d, room_channel_id(room));
    buf_puts(d, ",\"userId\":");
    json_write_string(d, s->token.user_id);
    buf_printf(d, ",\"role\":%d,\"tokenExpiresAt\":%lld,", room_peer_role(s->peer), (long long)s->token_expires_ms);
    write_ice_servers(d, s);
    if (s->resumable)
        buf_printf(d, "\"resumeToken\":\"%s\",\"resumeWindowMs\":%llu,\"idleTimeoutMs\":%llu,", s->resume_token,
                   (unsigned long long)s->env->cfg->signal_resume_window_ms,
                   (unsigned long long)s->env->cfg->signal_idle_timeout_ms);
    buf_puts(d, "\"peers\":[");
    const char *sep = "";
    for (const room_peer_t *p = room_first_peer(room); p != NULL; p = room_next_peer(p)) {
        if (p == s->peer)
            continue;
        buf_printf(d, "%s{\"userId\":", sep);
        json_write_string(d, room_peer_user_id(p));
        buf_printf(d, ",\"role\":%d,\"audioMuted\":%s,\"videoMuted\":%s}", room_peer_role(p),
                   room_peer_muted(p, true) ? "true" : "false", room_peer_muted(p, false) ? "true" : "false");
        sep = ",";
    }
    buf_puts(d, "],\"streams\":[");
    sep = "";
    for (const room_stream_t *st = room_first_stream(room); st != NULL; st = room_next_stream(st)) {
        buf_puts(d, sep);
        events_write_stream(d, st);
        sep = ",";
    }
    buf_puts(d, "]}");
}

/* join's host/port (from the token: the SDK checks its own against it)
 * against the room's media endpoint here, as getMediaEndpoint answers it:
 * one of this node's announced IPs and the port of the room's worker.  In a
 * cluster a token naming another node's endpoint is accepted: a live node's
 * was redirected before this, a dead node's room is taken over here.  Fills
 * want_port; false when a stale token names another endpoint. */
static bool endpoint_ok(const session_env_t *env, const jt_payload_t *p, unsigned *want_port)
{
    const cfg_t *cfg = env->cfg;
    unsigned workers = cfg_worker_count(cfg);
    *want_port = cfg->media_port + sfu_worker_for_channel(p->app_id, p->channel_id, workers);
    char *end = NULL;
    unsigned long port = strtoul(p->port, &end, 10);
    bool port_ok = end != p->port && *end == '\0';
    bool ip_ours = false;
    for (size_t i = 0; i < cfg->media_ip_count && !ip_ours; i++)
        ip_ours = strcmp(p->host, cfg->media_ips[i]) == 0;
    bool ours = ip_ours && port_ok && port >= cfg->media_port && port < (unsigned long)cfg->media_port + workers;
    if (env->locate != NULL && !ours)
        return true;
    return ip_ours && port_ok && port == *want_port;
}

static void on_join(req_t *r)
{
    session_t *s = r->s;
    const char *app = req_string(r, "appId", 64, true);
    const char *chan = req_string(r, "channelId", 64, true);
    const char *user = req_string(r, "userId", 64, true);
    const char *token = req_string(r, "signature", JT_TOKEN_MAX, true);
    int role = req_role(r, "role", false);
    bool resume = req_bool(r, "resume", false, NULL);
    const json_value_t *ctime = json_get(r->msg, "ctime");
    if (ctime != NULL && json_type(ctime) != JSON_NUMBER && json_type(ctime) != JSON_STRING)
        fail(r, SIG_ERR_PARAM, "%s: must be UTC seconds as a number or a string", "ctime");
    if (r->failed)
        return;
    if (s->peer != NULL) {
        fail(r, SIG_ERR_STATE, "%s: already in a room: leave it first", "join");
        return;
    }
    jt_payload_t p;
    const char *why = "invalid";
    if (!token_ok(r, token, app, chan, user, false, &p))
        return;
    int token_role = p.role[0] - '0';
    if (role >= 0 && role != token_role) {
        fail(r, SIG_ERR_TOKEN_INVALID, "%s: does not match the signature", "role");
        return;
    }
    char node[33], domain[256];
    if (s->env->locate != NULL && s->env->locate(s->env->locate_ctx, p.host, (unsigned)atoi(p.port), node, domain)) {
        /* The token names another node's media endpoint: that node hosts the room. */
        char msg[512];
        snprintf(msg, sizeof(msg), "join: the room is served by node %s: connect to wss://%s/v1/signal", node, domain);
        buf_t b;
        buf_init(&b);
        events_write_redirect(&b, version_of(s), r->id, SIG_ERR_REDIRECT, msg, node, domain);
        send_and_dispose(s, &b);
        r->failed = true;
        s->env->redirects_total++;
        return;
    }
    unsigned want_port;
    if (!endpoint_ok(s->env, &p, &want_port)) {
        fail(r, SIG_ERR_PARAM,
             "join: the token names media endpoint %s:%s, but this room's is %s:%u (a stale token: "
             "ask getMediaEndpoint again)",
             p.host, p.port, s->env->cfg->media_ips[0], want_port);
        return;
    }
    int rc = room_join(s->env->rooms, p.app_id, p.channel_id, p.user_id, token_role, on_room_event, s, &s->peer, &why);
    if (rc == IRTC_OK) {
        s->proto = r->v;
        room_peer_set_bundled(s->peer, r->v == EVENTS_PROTOCOL_V2);
    }
    if (rc != IRTC_OK) {
        int code = rc == IRTC_ECONFLICT ? SIG_ERR_USER_JOINED : rc == IRTC_ELIMIT ? SIG_ERR_REJECTED : SIG_ERR_PARAM;
        fail(r, code, "join: %s", why);
        return;
    }
    accept_token(s, &p);
    if (resume && s->env->cfg->signal_resume_window_ms > 0) {
        s->resumable = true;
        crypto_random_alnum(s->resume_token, SIG_RESUME_TOKEN_LEN);
    }
    log_info("signal", "%s joined %s/%s as role %d", p.user_id, p.app_id, p.channel_id, token_role);
    buf_t d;
    buf_init(&d);
    write_join_data(&d, s);
    reply_ok(s, r->id, &d);
    buf_dispose(&d);
}

static void on_leave(req_t *r)
{
    session_t *s = r->s;
    log_info("signal", "%s left %s/%s", s->token.user_id, s->token.app_id, s->token.channel_id);
    room_leave(s->peer, ROOM_REASON_LEFT);
    s->peer = NULL;
    reply_ok(s, r->id, NULL);
}

static void on_renew(req_t *r)
{
    session_t *s = r->s;
    const char *token = req_string(r, "signature", JT_TOKEN_MAX, true);
    if (r->failed)
        return;
    jt_payload_t p;
    if (!token_ok(r, token, s->token.app_id, s->token.channel_id, s->token.user_id, true, &p))
        return;
    accept_token(s, &p);
    buf_t d;
    buf_init(&d);
    buf_printf(&d, "{");
    write_ice_servers(&d, s); /* fresh credentials for the new lifetime */
    buf_printf(&d, "\"tokenExpiresAt\":%lld}", (long long)s->token_expires_ms);
    reply_ok(s, r->id, &d);
    buf_dispose(&d);
}

typedef struct {
    const char *token;
    const session_t *except;
} resume_key_t;

/* An open session joined with resume and still in its room, or any parked
 * one (it may have been removed meanwhile: resume then tells why). */
static bool resume_match(const ws_conn_t *conn, const void *arg)
{
    const resume_key_t *k = arg;
    const session_t *s = ws_conn_user(conn);
    if (s == NULL || s == k->except)
        return false;
    if (!ws_conn_parked(conn) && !(s->resumable && s->peer != NULL))
        return false;
    return crypto_equal(s->resume_token, strlen(s->resume_token), k->token, strlen(k->token));
}

/* Ends a session whose state another took over: a parked one is freed, an
 * open one closed with SIG_CLOSE_RESUMED.  Its peer must be NULL. */
static void retire(session_t *old)
{
    old->park_on_close = false;
    ws_retire(old->conn, SIG_CLOSE_RESUMED, "resumed on another socket");
}

/* Takes over the session of a lost socket: the user stays in its room and
 * nobody else is told.  Events queued meanwhile come first, then the answer,
 * which carries the room as it is now (as join does). */
static void on_resume(req_t *r)
{
    session_t *s = r->s;
    const char *token = req_string(r, "resumeToken", 64, true);
    if (r->failed)
        return;
    if (s->peer != NULL) {
        fail(r, SIG_ERR_STATE, "%s: already in a room", "resume");
        return;
    }
    resume_key_t key = {token, s};
    ws_conn_t *found = ws_server_find(s->env->ws, resume_match, &key);
    session_t *old = found != NULL ? ws_conn_user(found) : NULL;
    if (old == NULL) {
        fail(r, SIG_ERR_NOT_JOINED, "%s: no such session (it left, or its window passed): join again", "resume");
        return;
    }
    ws_replay_parked(s->conn, old->conn);
    if (old->peer == NULL) {
        /* Removed while it was away: it has just been told why (replayed). */
        int reason = old->removed_reason;
        retire(old);
        fail(r, SIG_ERR_NOT_JOINED, "resume: the session ended while disconnected: %s", room_reason_text(reason));
        char text[64];
        snprintf(text, sizeof(text), "left the room: %s", room_reason_text(reason));
        ws_close(s->conn, (uint16_t)(4000 + reason), text);
        return;
    }
    s->peer = old->peer;
    old->peer = NULL;
    s->proto = old->proto;
    room_peer_set_sink(s->peer, on_room_event, s);
    s->token = old->token;
    s->token_expires_ms = old->token_expires_ms;
    s->expiry_warned = old->expiry_warned;
    s->resumable = true;
    memcpy(s->resume_token, old->resume_token, sizeof(s->resume_token));
    retire(old);
    s->env->resumed_total++;
    log_info("signal", "%s resumed its session in %s/%s", s->token.user_id, s->token.app_id, s->token.channel_id);
    buf_t d;
    buf_init(&d);
    write_join_data(&d, s);
    reply_ok(s, r->id, &d);
    buf_dispose(&d);
}

static void on_publish(req_t *r)
{
    session_t *s = r->s;
    const char *type = req_string(r, "streamType", 16, false);
    bool audio = req_bool(r, "audio", true, NULL);
    bool video = req_bool(r, "video", true, NULL);
    const char *sdp = req_string(r, "sdp", SIG_MAX_MESSAGE_BYTES, true);
    sfu_mids_t mids;
    req_mids(r, &mids);
    if (type != NULL && strcmp(type, "main") != 0 && strcmp(type, "auxiliary") != 0)
        fail(r, SIG_ERR_PARAM, "%s: must be \"main\" or \"auxiliary\"", "streamType");
    if (!r->failed && !audio && !video)
        fail(r, SIG_ERR_PARAM, "%s: audio and video cannot both be false", "publish");
    if (r->failed)
        return;
    room_stream_type_t st = type != NULL && strcmp(type, "auxiliary") == 0 ? ROOM_STREAM_AUXILIARY : ROOM_STREAM_MAIN;
    char *answer = NULL;
    const room_stream_t *stream = NULL;
    const char *why = "refused";
    int rc = room_publish(s->peer, st, audio, video, sdp, strlen(sdp), &mids, &answer, &stream, &why);
    if (rc != IRTC_OK) {
        int code = rc == IRTC_ECONFLICT ? SIG_ERR_STATE
                   : rc == IRTC_ELIMIT  ? SIG_ERR_REJECTED
                   : rc == IRTC_EINVAL  ? (video ? SIG_ERR_PUBLISH_VIDEO : SIG_ERR_PUBLISH_AUDIO)
                                        : SIG_ERR_INTERNAL;
        fail(r, code, "publish: %s", why);
        return;
    }
    reply_answer(r, "streamId", stream->id, answer, stream);
}

static void on_unpublish(req_t *r)
{
    uint64_t id = req_object_id(r, "streamId", true);
    const char *sdp = req_string(r, "sdp", SIG_MAX_MESSAGE_BYTES, false);
    if (r->failed)
        return;
    char *answer = NULL;
    const char *why = "refused";
    int rc = room_unpublish(r->s->peer, id, sdp, sdp ? strlen(sdp) : 0, &answer, &why);
    if (rc == IRTC_ENOTFOUND) {
        fail(r, SIG_ERR_PARAM, "%s: not one of your streams", "streamId");
        return;
    }
    if (rc != IRTC_OK) { /* the stream is gone all the same */
        fail(r, SIG_ERR_PARAM, "sdp: %s", why);
        return;
    }
    reply_sdp(r, answer);
}

static void on_subscribe(req_t *r)
{
    session_t *s = r->s;
    bool has_audio, has_video;
    uint64_t stream_id = req_object_id(r, "streamId", true);
    bool audio = req_bool(r, "audio", false, &has_audio);
    bool video = req_bool(r, "video", false, &has_video);
    const char *sdp = req_string(r, "sdp", SIG_MAX_MESSAGE_BYTES, true);
    sfu_mids_t mids;
    req_mids(r, &mids);
    int max_layer = req_layer(r, false);
    if (r->failed)
        return;
    if (!has_audio && !has_video)
        audio = video = true; /* the Web SDK's default: audio and the best video */
    if (!audio && !video) {
        fail(r, SIG_ERR_PARAM, "%s: audio and video cannot both be false", "subscribe");
        return;
    }
    /* Mistakes of the request are told apart from the media plane's refusals. */
    const room_stream_t *st = room_find_stream(room_peer_room(s->peer), stream_id);
    if (st != NULL && st->owner == s->peer) {
        fail(r, SIG_ERR_PARAM, "%s: cannot subscribe to your own stream", "streamId");
        return;
    }
    if (st != NULL && !(audio && st->has_audio) && !(video && st->has_video)) {
        fail(r, SIG_ERR_PARAM, "%s: the stream has none of the requested kinds", "streamId");
        return;
    }
    char *answer = NULL;
    uint64_t sub_id = 0;
    const char *why = "refused";
    int rc = room_subscribe(s->peer, stream_id, audio, video, max_layer, sdp, strlen(sdp), &mids, &answer, &sub_id, &st,
                            &why);
    if (rc != IRTC_OK) {
        int code = rc == IRTC_ECONFLICT   ? SIG_ERR_STATE
                   : rc == IRTC_ENOTFOUND ? SIG_ERR_PARAM
                   : rc == IRTC_EINVAL    ? SIG_ERR_MEDIA
                                          : SIG_ERR_INTERNAL;
        fail(r, code, "subscribe: %s", why);
        return;
    }
    reply_answer(r, "subscriptionId", sub_id, answer, st);
}

static void on_unsubscribe(req_t *r)
{
    uint64_t sub_id = req_object_id(r, "subscriptionId", false);
    uint64_t stream_id = req_object_id(r, "streamId", false);
    const char *sdp = req_string(r, "sdp", SIG_MAX_MESSAGE_BYTES, false);
    if (!r->failed && sub_id == 0 && stream_id == 0)
        fail(r, SIG_ERR_PARAM, "%s: give subscriptionId or streamId", "unsubscribe");
    if (r->failed)
        return;
    char *answer = NULL;
    const char *why = "refused";
    int rc = room_unsubscribe(r->s->peer, sub_id != 0 ? sub_id : stream_id, sdp, sdp ? strlen(sdp) : 0, &answer, &why);
    if (rc == IRTC_ENOTFOUND) {
        fail(r, SIG_ERR_PARAM, "%s: no such subscription of yours", sub_id != 0 ? "subscriptionId" : "streamId");
        return;
    }
    if (rc != IRTC_OK) {
        fail(r, SIG_ERR_PARAM, "sdp: %s", why);
        return;
    }
    reply_sdp(r, answer);
}

static void on_set_layer(req_t *r)
{
    uint64_t sub_id = req_object_id(r, "subscriptionId", false);
    uint64_t stream_id = req_object_id(r, "streamId", false);
    int layer = req_layer(r, true);
    if (!r->failed && sub_id == 0 && stream_id == 0)
        fail(r, SIG_ERR_PARAM, "%s: give subscriptionId or streamId", "setLayer");
    if (r->failed)
        return;
    if (room_set_layer(r->s->peer, sub_id != 0 ? sub_id : stream_id, layer) != IRTC_OK) {
        fail(r, SIG_ERR_PARAM, "%s: no such subscription of yours", sub_id != 0 ? "subscriptionId" : "streamId");
        return;
    }
    reply_ok(r->s, r->id, NULL);
}

static void on_negotiate(req_t *r)
{
    const char *pc = req_string(r, "pc", 8, true);
    const char *sdp = req_string(r, "sdp", SIG_MAX_MESSAGE_BYTES, true);
    if (pc != NULL && strcmp(pc, "send") != 0 && strcmp(pc, "recv") != 0)
        fail(r, SIG_ERR_PARAM, "%s: must be \"send\" or \"recv\"", "pc");
    if (r->failed)
        return;
    char *answer = NULL;
    const char *why = "refused";
    int rc = room_negotiate(r->s->peer, strcmp(pc, "recv") == 0, sdp, strlen(sdp), &answer, &why);
    if (rc != IRTC_OK) {
        fail(r, rc == IRTC_ENOTFOUND ? SIG_ERR_PARAM : SIG_ERR_MEDIA, "negotiate: %s", why);
        return;
    }
    reply_sdp(r, answer);
}

static void set_muted(req_t *r, bool muted)
{
    const char *kind = req_string(r, "kind", 8, true);
    uint64_t stream_id = req_object_id(r, "streamId", false);
    if (kind != NULL && strcmp(kind, "audio") != 0 && strcmp(kind, "video") != 0)
        fail(r, SIG_ERR_PARAM, "%s: must be \"audio\" or \"video\"", "kind");
    if (r->failed)
        return;
    bool changed = false;
    const char *why = "refused";
    if (room_set_muted(r->s->peer, stream_id, strcmp(kind, "audio") == 0, muted, &changed, &why) != IRTC_OK) {
        fail(r, SIG_ERR_PARAM, "%s", why);
        return;
    }
    reply_fmt(r, "{\"changed\":%s}", changed ? "true" : "false");
}

static void on_mute(req_t *r)
{
    set_muted(r, true);
}

static void on_unmute(req_t *r)
{
    set_muted(r, false);
}

static void on_switch_role(req_t *r)
{
    int role = req_role(r, "role", true);
    if (r->failed)
        return;
    const char *why = "refused";
    int rc = room_switch_role(r->s->peer, role, &why);
    if (rc != IRTC_OK) {
        fail(r, rc == IRTC_ELIMIT ? SIG_ERR_REJECTED : SIG_ERR_PARAM, "switchRole: %s", why);
        return;
    }
    reply_fmt(r, "{\"role\":%d}", role);
}

static void on_ping(req_t *r)
{
    reply_fmt(r, "{\"serverTime\":%llu}", (unsigned long long)clock_wall_ms());
}

static const struct {
    const char *type;
    void (*fn)(req_t *r);
    bool in_room; /* needs a joined room */
} handlers[] = {
    {"join", on_join, false},
    {"leave", on_leave, true},
    {"renew", on_renew, true},
    {"resume", on_resume, false},
    {"publish", on_publish, true},
    {"unpublish", on_unpublish, true},
    {"subscribe", on_subscribe, true},
    {"unsubscribe", on_unsubscribe, true},
    {"setLayer", on_set_layer, true},
    {"negotiate", on_negotiate, true},
    {"mute", on_mute, true},
    {"unmute", on_unmute, true},
    {"switchRole", on_switch_role, true},
    {"ping", on_ping, false},
};

/* The request id, or -1 with an error event sent. */
static int64_t envelope_id(session_t *s, const json_value_t *msg)
{
    const json_value_t *v = json_get(msg, "id");
    int64_t id;
    if (v == NULL) {
        reply_error(s, -1, SIG_ERR_PARAM, "id: missing (every request needs an integer id)");
        return -1;
    }
    if (json_int64(v, &id) != IRTC_OK || id < 0 || id > SIG_MAX_REQUEST_ID) {
        reply_error(s, -1, SIG_ERR_PARAM, "id: must be an integer from 0 to 2^53-1");
        return -1;
    }
    return id;
}

void session_on_text(session_t *s, const char *text, size_t len)
{
    const char *err = NULL;
    size_t pos = 0;
    s->env->messages_total++;
    json_value_t *msg = json_parse(text, len, &err, &pos);
    if (msg == NULL) {
        reply_error(s, -1, SIG_ERR_PARAM, "invalid JSON at byte %zu: %s", pos, err);
        return;
    }
    req_t r = {.s = s, .msg = msg};
    if (json_type(msg) != JSON_OBJECT) {
        reply_error(s, -1, SIG_ERR_PARAM, "a message must be a JSON object");
        goto done;
    }
    if ((r.id = envelope_id(s, msg)) < 0)
        goto done;
    int64_t v = 0;
    if (json_int64(json_get(msg, "v"), &v) != IRTC_OK || (v != EVENTS_PROTOCOL_VERSION && v != EVENTS_PROTOCOL_V2)) {
        fail(&r, SIG_ERR_PARAM, "%s: unsupported protocol version (this server speaks 1 and 2)", "v");
        goto done;
    }
    r.v = (int)v;
    s->reply_v = r.v; /* responses go back in the request's version */
    const char *type = json_string(json_get(msg, "type"));
    for (size_t i = 0; type != NULL && i < IRTC_ARRAY_SIZE(handlers); i++) {
        if (strcmp(handlers[i].type, type) != 0)
            continue;
        if (handlers[i].in_room && s->peer == NULL)
            fail(&r, SIG_ERR_NOT_JOINED, "%s: not in a room: join first", type);
        else
            handlers[i].fn(&r);
        goto done;
    }
    fail(&r, SIG_ERR_PARAM, "type: unknown request type \"%.64s\"", type != NULL ? type : "(missing)");
done:
    s->reply_v = 0;
    json_free(msg);
}

void session_on_binary(session_t *s)
{
    reply_error(s, -1, SIG_ERR_PARAM, "binary messages are not part of the protocol: send JSON text");
}

/* The server makes the peer leave for reason and tells the client. */
static void leave_and_close(session_t *s, int reason)
{
    if (s->peer != NULL) {
        log_info("signal", "%s leaves %s/%s: %s", s->token.user_id, s->token.app_id, s->token.channel_id,
                 room_reason_text(reason));
        room_leave(s->peer, reason);
        s->peer = NULL;
        session_removed(s, reason);
    } else {
        ws_close(s->conn, (uint16_t)(4000 + reason), room_reason_text(reason));
    }
}

void session_on_idle(session_t *s)
{
    if (s->peer != NULL && s->resumable && s->env->cfg->signal_resume_window_ms > 0) {
        /* Kept for `resume`: parked once the socket is gone (session_on_gone). */
        s->park_on_close = true;
        ws_close(s->conn, 4000 + ROOM_REASON_TIMEOUT, "silent: resume on a new socket");
        return;
    }
    leave_and_close(s, ROOM_REASON_TIMEOUT);
}

void session_tick(session_t *s, int64_t now_wall_ms)
{
    if (s->peer == NULL)
        return;
    if (now_wall_ms >= s->token_expires_ms) {
        leave_and_close(s, ROOM_REASON_EXPIRED);
    } else if (!s->expiry_warned && now_wall_ms >= s->token_expires_ms - SIG_EXPIRY_WARNING_MS) {
        s->expiry_warned = true;
        buf_t d;
        buf_init(&d);
        buf_printf(&d, "{\"expiresAt\":%lld}", (long long)s->token_expires_ms);
        send_event(s, "signature-expired", &d);
        buf_dispose(&d);
    }
}

/* The socket is gone for good: the peer leaves, the others told with reason. */
static void leave_gone(session_t *s, int reason)
{
    if (s->peer == NULL)
        return;
    log_info("signal", "%s leaves %s/%s: socket closed (%s)", s->token.user_id, s->token.app_id, s->token.channel_id,
             room_reason_text(reason));
    room_leave(s->peer, reason);
    s->peer = NULL;
}

uint64_t session_on_gone(session_t *s, ws_gone_t why, bool may_park)
{
    uint64_t window = s->env->cfg->signal_resume_window_ms;
    int reason = why == WS_GONE_CLOSED ? ROOM_REASON_LEFT
                 : why == WS_GONE_LOST ? ROOM_REASON_TIMEOUT
                                       : ROOM_REASON_SERVER_ERROR;
    /* A resumable session whose socket was lost, not closed on purpose, is
     * parked rather than leaving its room. */
    if (s->peer != NULL && s->resumable && may_park && window > 0 &&
        (reason == ROOM_REASON_TIMEOUT || s->park_on_close)) {
        s->park_on_close = false;
        log_info("signal", "%s lost its socket in %s/%s: kept %llu ms for resume", s->token.user_id, s->token.app_id,
                 s->token.channel_id, (unsigned long long)window);
        return window;
    }
    leave_gone(s, reason);
    return 0;
}

void session_on_parked_end(session_t *s, bool expired)
{
    if (s->peer != NULL && expired)
        s->env->parked_expired_total++;
    leave_gone(s, expired ? ROOM_REASON_TIMEOUT : ROOM_REASON_SERVER_ERROR);
}

session_t *session_new(session_env_t *env, ws_conn_t *conn)
{
    session_t *s = xcalloc(1, sizeof(*s));
    s->env = env;
    s->conn = conn;
    return s;
}

void session_free(session_t *s)
{
    free(s);
}
