/*
 * test_session.c — the signaling protocol (src/signal/session.c, events.c)
 * without sockets: requests go in through session_on_text, and what the server
 * would send is captured by this file's ws_send / ws_close (which stand in
 * for ws.c).  With a real store, real join tokens, the real room registry and
 * a fake SFU (unit/fake_sfu.h), it covers what the daemon-level test cannot
 * reach before the media plane exists: publish and subscribe that succeed,
 * stream events, SFU events, releaseRoom / releaseUser as the clients see
 * them, token expiry, and random input.  Single-threaded, like the control
 * thread.
 */
#include "apps/apps.h"
#include "apps/turncred.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/json.h"
#include "sfu/sfu.h"
#include "signal/session.h"
#include "store/store.h"
#include "unit/fake_sfu.h"
#include "unit/tap.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the socket side, captured ---- */

/* A client is this test's own ws_conn_t (ws.h keeps the type opaque, and
 * ws.c is not linked): what the server would send is captured here. */
struct ws_conn {
    session_t *s;
    char *msgs[256];
    int n, next_read;
    bool closing;
    int close_code;
};
typedef struct ws_conn client_t;

void ws_send(ws_conn_t *c, const buf_t *msg)
{
    if (c->closing || c->n >= (int)IRTC_ARRAY_SIZE(c->msgs))
        return;
    c->msgs[c->n++] = xstrndup(msg->base, msg->len);
}

void ws_close(ws_conn_t *c, uint16_t code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_code = code;
}

/* The resume lookup over the clients a test registers (no parking here:
 * that needs sockets, tests/integration/test_signal_resume.py). */
static client_t *resumable[4];

ws_conn_t *ws_server_find(ws_server_t *srv, bool (*match)(const ws_conn_t *conn, const void *arg), const void *arg)
{
    (void)srv;
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(resumable); i++)
        if (resumable[i] != NULL && match(resumable[i], arg))
            return resumable[i];
    return NULL;
}

void *ws_conn_user(const ws_conn_t *c)
{
    return c->s;
}

bool ws_conn_parked(const ws_conn_t *c)
{
    (void)c;
    return false;
}

void ws_replay_parked(ws_conn_t *to, const ws_conn_t *from)
{
    (void)to;
    (void)from; /* nothing is parked without sockets */
}

void ws_retire(ws_conn_t *c, uint16_t code, const char *reason)
{
    ws_close(c, code, reason);
}

/* ---- fixture ---- */

static cfg_t cfg;
static session_env_t env;
static store_app_t app;
static char dir[] = "/tmp/irtc-test-session-XXXXXX";

static void client_init(client_t *c)
{
    memset(c, 0, sizeof(*c));
    c->s = session_new(&env, c);
}

static void client_free(client_t *c)
{
    session_on_gone(c->s, WS_GONE_CLOSED, false); /* leaves its room, if in one */
    session_free(c->s);
    for (int i = 0; i < c->n; i++)
        free(c->msgs[i]);
}

/* A token naming host:port as the media endpoint (port 0: the room's). */
static char *token_at(const char *chan, const char *user, int role, int64_t ts_ms, const char *host, unsigned port)
{
    if (port == 0)
        port = cfg.media_port + sfu_worker_for_channel(app.app_id, chan, cfg_worker_count(&cfg));
    jt_payload_t p;
    memset(&p, 0, sizeof(p));
    snprintf(p.app_id, sizeof(p.app_id), "%s", app.app_id);
    snprintf(p.channel_id, sizeof(p.channel_id), "%s", chan);
    snprintf(p.user_id, sizeof(p.user_id), "%s", user);
    snprintf(p.role, sizeof(p.role), "%d", role);
    snprintf(p.host, sizeof(p.host), "%s", host);
    snprintf(p.port, sizeof(p.port), "%u", port);
    snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", app.tenant_id);
    p.timestamp_ms = ts_ms;
    char *tok = NULL;
    jt_make(&p, app.access_key, &tok);
    return tok;
}

static char *token_for(const char *chan, const char *user, int role, int64_t ts_ms)
{
    return token_at(chan, user, role, ts_ms, "127.0.0.1", 0);
}

/* Sends one text message. */
static void say(client_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(client_t *c, const char *fmt, ...)
{
    buf_t b;
    va_list ap;
    buf_init(&b);
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    session_on_text(c->s, b.base, b.len);
    buf_dispose(&b);
}

/* The next message the client got of type "response" or event name (NULL:
 * any), parsed (json_free it), or NULL when none is left. */
static json_value_t *next(client_t *c, const char *what)
{
    while (c->next_read < c->n) {
        json_value_t *m = json_parse(c->msgs[c->next_read], strlen(c->msgs[c->next_read]), NULL, NULL);
        c->next_read++;
        const char *type = json_string(json_get(m, "type"));
        const char *ev = json_string(json_get(m, "event"));
        if (what == NULL || (type != NULL && strcmp(type, what) == 0) || (ev != NULL && strcmp(ev, what) == 0))
            return m;
        json_free(m);
    }
    return NULL;
}

/* Whether a message of that kind comes next-or-later (consumed). */
static bool has(client_t *c, const char *what)
{
    json_value_t *m = next(c, what);
    bool found = m != NULL;
    json_free(m);
    return found;
}

static void skip_all(client_t *c)
{
    c->next_read = c->n;
}

static json_value_t *last_response; /* the response next_code read last (its data, for a test to look at) */

/* errorCode of the next response (0 when ok, -1 when there is none). */
static long long next_code(client_t *c)
{
    json_value_t *r = next(c, "response");
    int64_t code = -1;
    if (r != NULL && json_bool(json_get(r, "ok")))
        code = 0;
    else if (r != NULL)
        json_int64(json_get(r, "errorCode"), &code);
    json_free(last_response);
    last_response = r;
    return code;
}

static long long join(client_t *c, const char *chan, const char *user, int role)
{
    char *tok = token_for(chan, user, role, (int64_t)clock_wall_ms());
    say(c,
        "{\"v\":1,\"id\":1,\"type\":\"join\",\"appId\":\"%s\",\"channelId\":\"%s\",\"userId\":\"%s\",\"signature\":\"%"
        "s\"}",
        app.app_id, chan, user, tok);
    free(tok);
    return next_code(c);
}

/* data.reason.code of an event, or -1. */
static long long reason_code(const json_value_t *ev)
{
    int64_t code = -1;
    json_int64(json_get(json_get(json_get(ev, "data"), "reason"), "code"), &code);
    return code;
}

static const char *str_at(const json_value_t *v, const char *a, const char *b)
{
    return json_string(json_get(b != NULL ? json_get(v, a) : v, b != NULL ? b : a));
}

/* ---- tests ---- */

static void test_publish_subscribe(void)
{
    client_t a, b, p0;
    client_init(&a);
    client_init(&b);
    client_init(&p0);
    fake_reset(true, true);
    is_int(join(&a, "r1", "alice", 1), 0, "alice joins");
    is_int(join(&b, "r1", "bob", 1), 0, "bob joins");
    is_int(join(&p0, "r1", "cam", 0), 0, "a role 0 camera joins");
    skip_all(&a);
    skip_all(&b);

    say(&a, "{\"v\":1,\"id\":2,\"type\":\"publish\",\"streamType\":\"main\",\"sdp\":\"v=0 offer\"}");
    json_value_t *r = next(&a, "response");
    const json_value_t *d = json_get(r, "data");
    ok(json_bool(json_get(r, "ok")) && str_at(d, "sdp", NULL) != NULL &&
           strcmp(str_at(d, "sdp", NULL), "v=0 answer") == 0,
       "publish answers the SFU's SDP");
    const char *sid = str_at(d, "streamId", NULL);
    char stream_id[32];
    snprintf(stream_id, sizeof(stream_id), "%s", sid ? sid : "");
    ok(stream_id[0] != '\0' && strspn(stream_id, "0123456789") == strlen(stream_id), "streamId is a digit string (%s)",
       stream_id);
    const json_value_t *st = json_get(d, "stream");
    ok(st != NULL && strcmp(str_at(st, "streamId", NULL), stream_id) == 0 &&
           strcmp(str_at(st, "userId", NULL), "alice") == 0 && strcmp(str_at(st, "type", NULL), "main") == 0 &&
           json_bool(json_get(st, "hasAudio")) && json_bool(json_get(st, "hasVideo")) &&
           !json_bool(json_get(st, "audioMuted")) && strcmp(str_at(st, "videoCodec", NULL), "VP8") == 0,
       "the stream descriptor");
    json_free(r);
    r = next(&b, "stream-added");
    ok(r != NULL && strcmp(str_at(json_get(r, "data"), "stream", "streamId"), stream_id) == 0,
       "stream-added {stream} to bob");
    json_free(r);
    ok(!has(&a, "stream-added"), "not to the publisher");

    say(&p0, "{\"v\":1,\"id\":3,\"type\":\"subscribe\",\"streamId\":\"%s\",\"sdp\":\"v=0\"}", stream_id);
    is_int(next_code(&p0), 200002, "role 0 subscribing: 200002");
    say(&a, "{\"v\":1,\"id\":3,\"type\":\"subscribe\",\"streamId\":\"%s\",\"sdp\":\"v=0\"}", stream_id);
    is_int(next_code(&a), 200006, "subscribing to one's own stream: 200006");
    say(&b, "{\"v\":1,\"id\":3,\"type\":\"subscribe\",\"streamId\":%s,\"audio\":true,\"sdp\":\"v=0 recvonly\"}",
        stream_id);
    r = next(&b, "response");
    d = json_get(r, "data");
    const char *sub = str_at(d, "subscriptionId", NULL);
    char sub_id[32];
    snprintf(sub_id, sizeof(sub_id), "%s", sub ? sub : "");
    ok(json_bool(json_get(r, "ok")) && sub_id[0] && strcmp(str_at(d, "sdp", NULL), "v=0 sub answer") == 0 &&
           fake.last_audio && !fake.last_video,
       "subscribe (streamId as a number, audio only): subscriptionId and answer");
    json_free(r);
    say(&b, "{\"v\":1,\"id\":4,\"type\":\"subscribe\",\"streamId\":\"%s\",\"sdp\":\"v=0\"}", stream_id);
    is_int(next_code(&b), 200002, "subscribing twice: 200002");
    fake.subscribe_rc = IRTC_EINVAL;
    fake.why = "no common codec";
    say(&b, "{\"v\":1,\"id\":5,\"type\":\"unsubscribe\",\"subscriptionId\":\"%s\"}", sub_id);
    is_int(next_code(&b), 0, "unsubscribe by subscriptionId");
    say(&b, "{\"v\":1,\"id\":6,\"type\":\"subscribe\",\"streamId\":\"%s\",\"sdp\":\"v=0\"}", stream_id);
    r = next(&b, "response");
    int64_t code = 0;
    json_int64(json_get(r, "errorCode"), &code);
    ok(code == 200021 && strstr(json_string(json_get(r, "errorMsg")), "no common codec") != NULL,
       "the media plane refusing a subscription: 200021 with its reason");
    json_free(r);
    fake.subscribe_rc = IRTC_OK;
    say(&b, "{\"v\":1,\"id\":7,\"type\":\"subscribe\",\"streamId\":\"%s\",\"sdp\":\"v=0\"}", stream_id);
    r = next(&b, "response");
    snprintf(sub_id, sizeof(sub_id), "%s", str_at(json_get(r, "data"), "subscriptionId", NULL));
    json_free(r);

    /* SFU events become stream-published / stream-subscribed. */
    sfu_event_t ev = {.type = SFU_EVENT_STREAM_READY, .id = strtoull(stream_id, NULL, 10)};
    room_registry_sfu_event(env.rooms, &ev);
    r = next(&a, "stream-published");
    ok(r != NULL && strcmp(str_at(json_get(r, "data"), "stream", "streamId"), stream_id) == 0,
       "SFU CONNECTED: stream-published to the publisher");
    json_free(r);
    ev = (sfu_event_t){.type = SFU_EVENT_SUB_READY, .id = strtoull(sub_id, NULL, 10)};
    room_registry_sfu_event(env.rooms, &ev);
    r = next(&b, "stream-subscribed");
    ok(r != NULL && strcmp(str_at(json_get(r, "data"), "subscriptionId", NULL), sub_id) == 0,
       "SFU CONNECTED: stream-subscribed {subscriptionId, stream} to the subscriber");
    json_free(r);

    /* Mute by stream id: the SDK event plus the new descriptor. */
    say(&a, "{\"v\":1,\"id\":8,\"type\":\"mute\",\"kind\":\"video\",\"streamId\":\"%s\"}", stream_id);
    is_int(next_code(&a), 0, "mute video of the stream");
    r = next(&b, "mute-video");
    ok(r != NULL && strcmp(str_at(json_get(r, "data"), "roomId", NULL), "r1") == 0 &&
           strcmp(str_at(json_get(r, "data"), "streamId", NULL), stream_id) == 0,
       "mute-video {roomId, userId, streamId}");
    json_free(r);
    r = next(&b, "stream-updated");
    ok(r != NULL && json_bool(json_get(json_get(json_get(r, "data"), "stream"), "videoMuted")),
       "stream-updated carries videoMuted");
    json_free(r);

    /* The publisher limit (2 in this fixture) counts the role 0 camera. */
    say(&b, "{\"v\":1,\"id\":9,\"type\":\"publish\",\"sdp\":\"v=0\"}");
    is_int(next_code(&b), 200019, "a third publisher: 200019");
    fake.publish_rc = IRTC_EINVAL;
    fake.why = "no BUNDLE";
    say(&p0, "{\"v\":1,\"id\":9,\"type\":\"publish\",\"audio\":true,\"video\":false,\"sdp\":\"v=0\"}");
    is_int(next_code(&p0), 200025, "the media plane refusing an audio-only publish: 200025");
    fake.publish_rc = IRTC_OK;

    say(&a, "{\"v\":1,\"id\":10,\"type\":\"unpublish\",\"streamId\":\"%s\"}", stream_id);
    is_int(next_code(&a), 0, "unpublish");
    r = next(&b, "stream-removed");
    ok(r != NULL && strcmp(str_at(json_get(r, "data"), "stream", "streamId"), stream_id) == 0,
       "stream-removed to the others");
    json_free(r);
    say(&b, "{\"v\":1,\"id\":11,\"type\":\"unsubscribe\",\"subscriptionId\":\"%s\"}", sub_id);
    is_int(next_code(&b), 200006, "the subscription ended with the stream");
    client_free(&a);
    client_free(&b);
    client_free(&p0);
    ok(room_find(env.rooms, app.app_id, "r1") == NULL, "room gone when every session is gone");
}

static void test_removals(void)
{
    client_t a, b, c;
    client_init(&a);
    client_init(&b);
    client_init(&c);
    fake_reset(true, true);
    join(&a, "r2", "alice", 1);
    join(&b, "r2", "bob", 1);
    join(&c, "r2", "carol", 1);
    skip_all(&a);
    skip_all(&b);
    skip_all(&c);

    is_int(room_release_user(env.rooms, app.app_id, "r2", "bob"), IRTC_OK, "releaseUser bob");
    json_value_t *r = next(&b, "client-banned");
    long long code = reason_code(r);
    ok(r != NULL && code == 5, "bob gets client-banned {reason {code 5}}");
    json_free(r);
    ok(b.s->peer == NULL && b.close_code == 4005, "and his socket is closed with 4005");
    r = next(&a, "peer-leave");
    code = reason_code(r);
    ok(r != NULL && code == 5 && strcmp(str_at(json_get(r, "data"), "userId", NULL), "bob") == 0,
       "the others get peer-leave bob reason 5");
    json_free(r);
    b.closing = false; /* pretend the close has not happened yet */
    say(&b, "{\"v\":1,\"id\":2,\"type\":\"mute\",\"kind\":\"audio\"}");
    is_int(next_code(&b), 200012, "bob's later requests: 200012");

    /* The media plane loses carol's transport. */
    say(&c, "{\"v\":1,\"id\":2,\"type\":\"publish\",\"sdp\":\"v=0\"}");
    r = next(&c, "response");
    uint64_t sid = strtoull(str_at(json_get(r, "data"), "streamId", NULL), NULL, 10);
    json_free(r);
    sfu_event_t ev = {.type = SFU_EVENT_CONN_FAILED, .id = sid, .reason = "DTLS"};
    room_registry_sfu_event(env.rooms, &ev);
    r = next(&c, "peer-leave");
    code = reason_code(r);
    ok(r != NULL && code == 7 && strcmp(str_at(json_get(r, "data"), "userId", NULL), "carol") == 0 &&
           c.close_code == 4007,
       "SFU FAILED: carol is told she left (reason 7), socket closed with 4007");
    json_free(r);
    ok(has(&a, "stream-removed") && has(&a, "peer-leave"), "alice sees the stream and carol go");

    client_t d;
    client_init(&d);
    join(&d, "r2", "dave", 1);
    skip_all(&a);
    is_int(room_release_room(env.rooms, app.app_id, "r2"), IRTC_OK, "releaseRoom");
    r = next(&a, "client-banned");
    code = reason_code(r);
    ok(r != NULL && code == 10 && a.close_code == 4010 && d.close_code == 4010,
       "every member gets client-banned reason 10, sockets closed with 4010");
    json_free(r);
    ok(!has(&a, "peer-leave"), "and no peer-leave storm");
    client_free(&a);
    client_free(&b);
    client_free(&c);
    client_free(&d);
}

static void test_expiry_and_renew(void)
{
    client_t a, w;
    client_init(&a);
    client_init(&w);
    join(&w, "r3", "watcher", 1);
    is_int(join(&a, "r3", "ann", 1), 0, "ann joins");
    int64_t exp = a.s->token_expires_ms;
    ok(exp > (int64_t)clock_wall_ms() + (int64_t)cfg.token_ttl_ms - 60000, "expiry = timeStamp + token_ttl");
    skip_all(&a);
    session_tick(a.s, exp - SIG_EXPIRY_WARNING_MS - 1);
    ok(!has(&a, "signature-expired"), "no warning before the last minute");
    session_tick(a.s, exp - SIG_EXPIRY_WARNING_MS);
    json_value_t *r = next(&a, "signature-expired");
    int64_t at = 0;
    json_int64(json_get(json_get(r, "data"), "expiresAt"), &at);
    ok(r != NULL && at == exp, "signature-expired {expiresAt} a minute before");
    json_free(r);
    session_tick(a.s, exp - 1000);
    ok(!has(&a, "signature-expired"), "sent once");

    char *tok = token_for("r3", "watcher", 1, (int64_t)clock_wall_ms());
    say(&a, "{\"v\":1,\"id\":5,\"type\":\"renew\",\"signature\":\"%s\"}", tok);
    free(tok);
    is_int(next_code(&a), 200009, "renew with another user's token: 200009");
    tok = token_for("r3", "ann", 1, (int64_t)clock_wall_ms() - 1000);
    say(&a, "{\"v\":1,\"id\":6,\"type\":\"renew\",\"signature\":\"%s\"}", tok);
    free(tok);
    is_int(next_code(&a), 0, "renew with a fresh token");
    int64_t renewed = a.s->token_expires_ms;
    session_tick(a.s, renewed - SIG_EXPIRY_WARNING_MS);
    ok(has(&a, "signature-expired"), "the warning comes again for the new token");

    skip_all(&w);
    session_tick(a.s, renewed);
    r = next(&a, "peer-leave");
    long long code = reason_code(r);
    ok(r != NULL && code == 6 && a.close_code == 4006 && a.s->peer == NULL, "at expiry: peer-leave reason 6, 4006");
    json_free(r);
    r = next(&w, "peer-leave");
    code = reason_code(r);
    ok(r != NULL && code == 6, "the others see reason 6");
    json_free(r);

    client_t x;
    client_init(&x);
    tok = token_for("r3", "old", 1, (int64_t)clock_wall_ms() - (int64_t)cfg.token_ttl_ms - 1000);
    say(&x,
        "{\"v\":1,\"id\":1,\"type\":\"join\",\"appId\":\"%s\",\"channelId\":\"r3\",\"userId\":\"old\",\"signature\":\"%"
        "s\"}",
        app.app_id, tok);
    free(tok);
    is_int(next_code(&x), 200010, "an expired token: 200010");
    session_on_idle(x.s);
    ok(x.close_code == 4007, "an idle socket outside any room is closed too (4007)");
    client_free(&a);
    client_free(&w);
    client_free(&x);
}

/* A stale token naming another media endpoint than the room's (issue 16):
 * refused with 200006 and both endpoints named; the room's own is admitted. */
static void test_stale_endpoint(void)
{
    client_t a;
    client_init(&a);
    unsigned w = sfu_worker_for_channel(app.app_id, "r5", cfg_worker_count(&cfg));
    unsigned other = cfg.media_port + (w + 1) % cfg_worker_count(&cfg);
    const struct {
        const char *host;
        unsigned port;
        const char *what;
    } bad[] = {{"127.0.0.1", other, "another worker's port"},
               {"127.0.0.1", 30000, "a port this server does not use"},
               {"10.9.8.7", 0, "another host"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *tok = token_at("r5", "sam", 1, (int64_t)clock_wall_ms(), bad[i].host, bad[i].port);
        say(&a,
            "{\"v\":1,\"id\":%zu,\"type\":\"join\",\"appId\":\"%s\",\"channelId\":\"r5\",\"userId\":\"sam\","
            "\"signature\":\"%s\"}",
            i + 1, app.app_id, tok);
        free(tok);
        json_value_t *r = next(&a, "response");
        const char *msg = json_string(json_get(r, "errorMsg"));
        int64_t code = -1;
        json_int64(json_get(r, "errorCode"), &code);
        char want[64];
        snprintf(want, sizeof(want), "this room's is 127.0.0.1:%u", cfg.media_port + w);
        ok(r != NULL && code == 200006 && msg != NULL && strstr(msg, want) != NULL && a.s->peer == NULL,
           "a token naming %s: 200006 naming the room's endpoint (%s)", bad[i].what, msg ? msg : "-");
        json_free(r);
    }
    is_int(join(&a, "r5", "sam", 1), 0, "the room's own endpoint: joins");
    client_free(&a);
}

/* Random and mutated messages: every one is answered and nothing breaks. */
/* media.turn: join and renew answers carry iceServers with the TURN REST
 * API credential for the user, valid until the token expires. */
static void test_turn(void)
{
    client_t a;
    client_init(&a);
    is_int(join(&a, "rt", "tina", 1), 0, "tina joins (no media.turn)");
    ok(json_get(json_get(last_response, "data"), "iceServers") == NULL, "no iceServers without media.turn");
    say(&a, "{\"v\":1,\"id\":2,\"type\":\"leave\"}");
    next_code(&a);

    cfg.turn_url_count = 2;
    snprintf(cfg.turn_urls[0], sizeof(cfg.turn_urls[0]), "turn:turn.example.com:3478?transport=udp");
    snprintf(cfg.turn_urls[1], sizeof(cfg.turn_urls[1]), "turns:turn.example.com:443?transport=tcp");
    snprintf(cfg.turn_secret, sizeof(cfg.turn_secret), "site-secret");
    is_int(join(&a, "rt", "tina", 1), 0, "tina joins again (media.turn)");
    const json_value_t *ice = json_at(json_get(json_get(last_response, "data"), "iceServers"), 0);
    const json_value_t *urls = json_get(ice, "urls");
    const char *user = json_string(json_get(ice, "username")), *cred = json_string(json_get(ice, "credential"));
    char want_user[TURNCRED_USER_MAX], want_pass[TURNCRED_PASS_SIZE];
    turncred_make("site-secret", "tina", a.s->token_expires_ms / 1000, want_user, want_pass);
    ok(urls != NULL && json_string(json_at(urls, 1)) != NULL &&
           strcmp(json_string(json_at(urls, 1)), "turns:turn.example.com:443?transport=tcp") == 0,
       "iceServers[0].urls: the configured URIs");
    ok(user != NULL && cred != NULL && strcmp(user, want_user) == 0 && strcmp(cred, want_pass) == 0,
       "username <token expiry>:tina and its HMAC-SHA1 credential (%s)", user ? user : "none");
    char *tok = token_for("rt", "tina", 1, (int64_t)clock_wall_ms() + 1000);
    say(&a, "{\"v\":1,\"id\":3,\"type\":\"renew\",\"signature\":\"%s\"}", tok);
    free(tok);
    is_int(next_code(&a), 0, "renew");
    user = json_string(json_get(json_at(json_get(json_get(last_response, "data"), "iceServers"), 0), "username"));
    turncred_make("site-secret", "tina", a.s->token_expires_ms / 1000, want_user, want_pass);
    ok(user != NULL && strcmp(user, want_user) == 0, "renew: a credential for the new lifetime (%s)", user ? user : "none");
    cfg.turn_url_count = 0;
    cfg.turn_secret[0] = '\0';
    client_free(&a);
    json_free(last_response);
    last_response = NULL;
}

static void test_resume(void)
{
    client_t a, a2, b;
    client_init(&a);
    client_init(&a2);
    client_init(&b);
    char *tok = token_for("r9", "alice", 1, (int64_t)clock_wall_ms());
    say(&a,
        "{\"v\":1,\"id\":1,\"type\":\"join\",\"appId\":\"%s\",\"channelId\":\"r9\",\"userId\":\"alice\","
        "\"signature\":\"%s\",\"resume\":true}",
        app.app_id, tok);
    free(tok);
    json_value_t *r = next(&a, "response");
    const json_value_t *d = json_get(r, "data");
    char token[64];
    snprintf(token, sizeof(token), "%s", str_at(d, "resumeToken", NULL) ? str_at(d, "resumeToken", NULL) : "");
    int64_t win = 0, idle = 0;
    json_int64(json_get(d, "resumeWindowMs"), &win);
    json_int64(json_get(d, "idleTimeoutMs"), &idle);
    ok(json_bool(json_get(r, "ok")) && strlen(token) == SIG_RESUME_TOKEN_LEN && win == 15000 && idle == 20000,
       "join with resume: true gets a resumeToken, resumeWindowMs and idleTimeoutMs");
    json_free(r);
    resumable[0] = &a;
    is_int(join(&b, "r9", "bob", 1), 0, "bob joins (without resume)");
    ok(b.msgs[b.n - 1] != NULL && strstr(b.msgs[b.n - 1], "resumeToken") == NULL, "and gets no resumeToken");
    skip_all(&a);

    say(&a2, "{\"v\":1,\"id\":1,\"type\":\"resume\",\"resumeToken\":\"nope\"}");
    is_int(next_code(&a2), 200012, "resume with an unknown token: 200012");
    say(&a2, "{\"v\":1,\"id\":2,\"type\":\"resume\"}");
    is_int(next_code(&a2), 200006, "resume without a token: 200006");
    say(&a2, "{\"v\":1,\"id\":3,\"type\":\"resume\",\"resumeToken\":\"%s\"}", token);
    r = next(&a2, "response");
    d = json_get(r, "data");
    const json_value_t *peers = json_get(d, "peers");
    ok(json_bool(json_get(r, "ok")) && strcmp(str_at(d, "userId", NULL), "alice") == 0 &&
           strcmp(str_at(d, "resumeToken", NULL), token) == 0 && json_size(peers) == 1 &&
           strcmp(str_at(json_at(peers, 0), "userId", NULL), "bob") == 0,
       "resume on a new socket: the room as join tells it, same resumeToken");
    json_free(r);
    ok(a.s->peer == NULL && a.closing && a.close_code == SIG_CLOSE_RESUMED && a2.s->peer != NULL,
       "the old socket is closed with 4100 and holds nothing");
    ok(!has(&b, "peer-leave") && !has(&b, "peer-join"), "bob is told nothing");
    say(&b, "{\"v\":1,\"id\":9,\"type\":\"mute\",\"kind\":\"audio\"}");
    is_int(next_code(&b), 0, "bob mutes");
    ok(has(&a2, "mute-audio") && !has(&a, "mute-audio"), "events go to the new socket");
    resumable[0] = &a2;
    say(&b, "{\"v\":1,\"id\":10,\"type\":\"resume\",\"resumeToken\":\"%s\"}", token);
    is_int(next_code(&b), 200002, "resume from a socket already in a room: 200002");
    say(&a2, "{\"v\":1,\"id\":4,\"type\":\"leave\"}");
    is_int(next_code(&a2), 0, "alice leaves from the resumed socket");
    r = next(&b, "peer-leave");
    ok(r != NULL && reason_code(r) == 0, "bob sees peer-leave reason 0");
    json_free(r);
    memset(resumable, 0, sizeof(resumable));
    client_free(&a);
    client_free(&a2);
    client_free(&b);
}

static void test_random_input(void)
{
    static const char *seeds[] = {
        "{\"v\":1,\"id\":1,\"type\":\"join\",\"appId\":\"a\",\"channelId\":\"c\",\"userId\":\"u\",\"signature\":\"x\"}",
        "{\"v\":1,\"id\":2,\"type\":\"publish\",\"sdp\":\"v=0\",\"audio\":true}",
        "{\"v\":1,\"id\":3,\"type\":\"subscribe\",\"streamId\":\"1\",\"video\":false}",
        "{\"v\":1,\"id\":4,\"type\":\"mute\",\"kind\":\"audio\",\"streamId\":\"99999999999999999999\"}",
        "{\"v\":1,\"id\":5,\"type\":\"switchRole\",\"role\":\"1\"}",
    };
    client_t c;
    client_init(&c);
    fake_reset(true, true);
    join(&c, "fuzz", "f", 1);
    unsigned seed = 12345;
    int unanswered = 0;
    char msg[256];
    for (int i = 0; i < 20000; i++) {
        const char *s = seeds[i % IRTC_ARRAY_SIZE(seeds)];
        size_t n = strlen(s);
        memcpy(msg, s, n);
        for (int k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            msg[(seed >> 8) % n] = (char)(seed >> 16);
        }
        int before = c.n;
        session_on_text(c.s, msg, n);
        unanswered += c.n == before;
        while (c.n > 200) { /* keep the capture small */
            free(c.msgs[--c.n]);
        }
        c.next_read = c.n;
    }
    is_int(unanswered, 0, "20000 mutated messages: each one answered (response or error event)");
    say(&c, "{\"v\":1,\"id\":9,\"type\":\"ping\"}");
    is_int(next_code(&c), 0, "the session still answers");
    client_free(&c);
}

int main(void)
{
    char path[256], err[256], tok[APPS_TOKEN_LEN + 1];
    store_t *st = NULL;
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/irtc.db", dir);
    cfg_defaults(&cfg);
    cfg.max_publishers_per_room = 2;
    cfg.media_workers = 2; /* as the registry below */
    ok(store_open(path, &st, err, sizeof(err)) == IRTC_OK && apps_create(st, "test", false, &app, tok) == IRTC_OK,
       "store and app ready (%s)", err);
    env.cfg = &cfg;
    env.store = st;
    env.rooms = room_registry_new(&cfg, 2);
    room_registry_set_sfu(env.rooms, (sfu_t *)&fake);

    test_publish_subscribe();
    test_removals();
    test_expiry_and_renew();
    test_turn();
    test_resume();
    test_stale_endpoint();
    test_random_input();

    room_stats_t rs;
    room_registry_stats(env.rooms, &rs);
    ok(rs.rooms == 0 && rs.peers == 0 && rs.streams == 0 && rs.subscriptions == 0, "nothing left in the registry");
    room_registry_free(env.rooms);
    store_app_dispose(&app);
    store_close(st);
    unlink(path);
    char wal[300];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    return done_testing();
}
