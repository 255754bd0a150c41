/*
 * client.c — one user in one room: the signaling session (protocol v1 of
 * docs/API.md over ws.c), its PeerConnections (transport.c + offer.c) and
 * the media its publications send (source.c).
 *
 * Runs on the loop's thread.  Which PeerConnection carries what is decided
 * in exactly two functions, pc_for_publish and pc_for_subscription: in
 * protocol v1 each publication and each subscription is a PeerConnection of
 * its own; protocol v2 (one sending and one receiving PeerConnection per
 * client, renegotiated) changes those two and the offer they write, not the
 * rest.
 *
 * Does not: reconnect or resume.
 */
#include "client/client.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/loop.h"
#include "client/offer.h"
#include "client/pace.h"
#include "client/source.h"
#include "client/transport.h"
#include "client/ws.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/json.h"

#define PING_INTERVAL_US 5000000 /* docs/API.md: ping every 5 s, idle limit 20 s */
#define LEAVE_TIMEOUT_US 2000000

enum { C_IDLE, C_JOINING, C_JOINED, C_LEAVING, C_LEFT };
typedef enum { PC_PUBLISH, PC_SUBSCRIBE } pc_role_t;

typedef struct pc pc_t;
struct pc {
    ic_client_t *c;
    pc_role_t role;
    ic_transport_t *t;
    ic_source_t *src;
    int track_audio;
    int track_video[IC_MAX_LAYERS];
    char stream_id[24]; /* publish: ours once answered; subscribe: the one we receive */
    char sub_id[24];
    bool answered, connected;
    bool encoded; /* publishes the owner's frames (ic_client_send_frame) */
    ic_pace_t *pace; /* NULL: video leaves as it is made */
    pc_t *next;
};

typedef struct pending pending_t;
struct pending {
    uint64_t id;
    char type[16];
    pc_t *pc;
    pending_t *next;
};

struct ic_client {
    ic_loop_t *loop;
    ic_config_t cfg;
    char host[64];
    char bind_ip[64];
    ic_callbacks_t cb;
    void *user;
    int state;
    ic_ws_t *ws;
    uint64_t next_id;
    pending_t *pending;
    pc_t *pcs;
    ic_tick_t tick;
    uint64_t last_ping_us, leave_deadline_us;
    char user_id[65];
    ic_recv_stats_t rx_closed; /* from transports already freed */
    ic_send_stats_t tx_closed;
};

/* ---- helpers ---- */

static void send_request(ic_client_t *c, const char *type, pc_t *pc, buf_t *fields)
{
    buf_t b;
    buf_init(&b);
    uint64_t id = ++c->next_id;
    buf_printf(&b, "{\"v\":1,\"id\":%llu,\"type\":\"%s\"%s%s}", (unsigned long long)id, type,
               fields && fields->len ? "," : "", fields && fields->len ? fields->base : "");
    pending_t *p = xcalloc(1, sizeof(*p));
    p->id = id;
    snprintf(p->type, sizeof(p->type), "%s", type);
    p->pc = pc;
    p->next = c->pending;
    c->pending = p;
    if (c->ws != NULL)
        ic_ws_send_text(c->ws, b.base, b.len);
    buf_dispose(&b);
}

static pending_t *take_pending(ic_client_t *c, uint64_t id)
{
    for (pending_t **pp = &c->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            pending_t *p = *pp;
            *pp = p->next;
            return p;
        }
    }
    return NULL;
}

static void forget_pc_requests(ic_client_t *c, pc_t *pc)
{
    for (pending_t *p = c->pending; p; p = p->next)
        if (p->pc == pc)
            p->pc = NULL;
}

static void pc_free(ic_client_t *c, pc_t *pc)
{
    for (pc_t **pp = &c->pcs; *pp; pp = &(*pp)->next) {
        if (*pp == pc) {
            *pp = pc->next;
            break;
        }
    }
    forget_pc_requests(c, pc);
    if (pc->t != NULL) {
        ic_transport_add_stats(pc->t, &c->rx_closed, &c->tx_closed);
        ic_transport_free(pc->t);
    }
    ic_source_free(pc->src);
    ic_pace_free(pc->pace);
    free(pc);
}

static void copy_stream(const json_value_t *st, ic_stream_t *out)
{
    memset(out, 0, sizeof(*out));
    const json_value_t *id = json_get(st, "streamId");
    if (json_string(id) != NULL)
        snprintf(out->stream_id, sizeof(out->stream_id), "%s", json_string(id));
    else if (json_number_text(id) != NULL)
        snprintf(out->stream_id, sizeof(out->stream_id), "%s", json_number_text(id));
    const char *u = json_string(json_get(st, "userId")), *ty = json_string(json_get(st, "type")),
               *vc = json_string(json_get(st, "videoCodec"));
    snprintf(out->user_id, sizeof(out->user_id), "%s", u ? u : "");
    out->auxiliary = ty != NULL && strcmp(ty, "auxiliary") == 0;
    out->has_audio = json_bool(json_get(st, "hasAudio"));
    out->has_video = json_bool(json_get(st, "hasVideo"));
    snprintf(out->video_codec, sizeof(out->video_codec), "%s", vc ? vc : "");
}

static void end_session(ic_client_t *c, int reason, const char *msg)
{
    if (c->state == C_LEFT)
        return;
    c->state = C_LEFT;
    while (c->pcs != NULL)
        pc_free(c, c->pcs);
    while (c->pending != NULL) {
        pending_t *p = c->pending;
        c->pending = p->next;
        free(p);
    }
    if (c->ws != NULL) {
        ic_ws_close(c->ws);
        c->ws = NULL;
    }
    ic_tick_del(c->loop, &c->tick);
    if (c->cb.on_left != NULL)
        c->cb.on_left(c->user, c, reason, msg);
}

/* ---- which PeerConnection carries what (protocol v1: one per stream) ---- */

static void pc_on_connected(void *user)
{
    pc_t *pc = user;
    ic_client_t *c = pc->c;
    pc->connected = true;
    if (pc->role == PC_PUBLISH && c->cb.on_published != NULL)
        c->cb.on_published(c->user, c, pc->stream_id, 0, NULL);
    else if (pc->role == PC_SUBSCRIBE && c->cb.on_subscribed != NULL)
        c->cb.on_subscribed(c->user, c, pc->stream_id, 0, NULL);
}

static void pc_on_failed(void *user, const char *why)
{
    pc_t *pc = user;
    ic_client_t *c = pc->c;
    if (pc->role == PC_PUBLISH && c->cb.on_published != NULL)
        c->cb.on_published(c->user, c, pc->stream_id, -1, why);
    else if (pc->role == PC_SUBSCRIBE && c->cb.on_subscribed != NULL)
        c->cb.on_subscribed(c->user, c, pc->stream_id, -1, why);
}

static void pc_on_first_rtp(void *user)
{
    pc_t *pc = user;
    if (pc->c->cb.on_first_media != NULL)
        pc->c->cb.on_first_media(pc->c->user, pc->c, pc->stream_id);
}

static void pc_on_keyframe_request(void *user)
{
    pc_t *pc = user;
    if (pc->src == NULL)
        return;
    ic_source_keyframe(pc->src);
    if (pc->encoded && pc->c->cb.on_keyframe_request != NULL)
        pc->c->cb.on_keyframe_request(pc->c->user, pc->c);
}

static void pc_on_frame(void *user, ic_frame_t *f)
{
    pc_t *pc = user;
    if (pc->role != PC_SUBSCRIBE || pc->c->cb.on_frame == NULL)
        return;
    f->stream_id = pc->stream_id;
    pc->c->cb.on_frame(pc->c->user, pc->c, f);
}

static const ic_transport_callbacks_t pc_callbacks = {pc_on_connected, pc_on_failed, pc_on_first_rtp,
                                                      pc_on_keyframe_request, pc_on_frame};

static pc_t *pc_new(ic_client_t *c, pc_role_t role)
{
    pc_t *pc = xcalloc(1, sizeof(*pc));
    pc->c = c;
    pc->role = role;
    pc->track_audio = -1;
    for (int i = 0; i < IC_MAX_LAYERS; i++)
        pc->track_video[i] = -1;
    pc->t = ic_transport_new(c->loop, c->bind_ip[0] ? c->bind_ip : NULL, c->cfg.srtp_verify_every, &pc_callbacks, pc);
    if (pc->t == NULL) {
        free(pc);
        return NULL;
    }
    pc->next = c->pcs;
    c->pcs = pc;
    return pc;
}

static pc_t *pc_for_publish(ic_client_t *c)
{
    return pc_new(c, PC_PUBLISH);
}

static pc_t *pc_for_subscription(ic_client_t *c, const char *stream_id)
{
    pc_t *pc = pc_new(c, PC_SUBSCRIBE);
    if (pc != NULL)
        snprintf(pc->stream_id, sizeof(pc->stream_id), "%s", stream_id);
    return pc;
}

static void write_offer(pc_t *pc, bool send, bool audio, bool video, bool h264, unsigned layers, const uint32_t *ssrcs,
                        buf_t *sdp)
{
    ic_offer_t o;
    memset(&o, 0, sizeof(o));
    char ip[46], cname[17];
    uint16_t port;
    ic_transport_local(pc->t, ip, &port);
    crypto_random_alnum(cname, 16);
    o.audio = audio;
    o.video = video;
    o.send = send;
    o.h264 = h264;
    o.audio_ssrc = ssrcs ? ssrcs[0] : 0;
    o.n_layers = layers;
    for (unsigned i = 0; ssrcs && i < layers; i++)
        o.video_ssrc[i] = ssrcs[1 + i];
    o.ufrag = ic_transport_ufrag(pc->t);
    o.pwd = ic_transport_pwd(pc->t);
    o.fingerprint = ic_loop_fingerprint(pc->c->loop);
    o.cname = cname;
    o.cand_ip = ip;
    o.cand_port = port;
    crypto_random(&o.session_id, sizeof(o.session_id));
    o.session_id &= 0x3fffffffffffffffULL;
    ic_offer_write(sdp, &o);
}

/* ---- publications' media ---- */

static void emit_cb(void *user, int layer, uint32_t ts, bool marker, const uint8_t *payload, size_t len)
{
    pc_t *pc = user;
    int track = layer < 0 ? pc->track_audio : pc->track_video[layer];
    if (track < 0)
        return;
    if (layer >= 0 && pc->pace != NULL)
        ic_pace_video(pc->pace, (unsigned)track, ts, marker, payload, len, ic_loop_now_us(pc->c->loop),
                      ic_pace_to_transport, pc->t);
    else
        ic_transport_send_media(pc->t, (unsigned)track, ts, marker, payload, len);
}

static void on_tick(ic_tick_t *tick, uint64_t now)
{
    ic_client_t *c = (ic_client_t *)((char *)tick - offsetof(ic_client_t, tick));
    if (c->state == C_JOINED && now - c->last_ping_us >= PING_INTERVAL_US) {
        c->last_ping_us = now;
        send_request(c, "ping", NULL, NULL);
    }
    if (c->state == C_LEAVING && now >= c->leave_deadline_us) {
        end_session(c, 0, "user left (no answer to leave)");
        return;
    }
    for (pc_t *pc = c->pcs; pc; pc = pc->next)
        if (pc->src != NULL && pc->connected) {
            ic_source_run(pc->src, now, emit_cb, pc);
            if (pc->pace != NULL)
                ic_pace_run(pc->pace, now, ic_pace_to_transport, pc->t);
        }
}

/* ---- responses and events ---- */

static void on_join_response(ic_client_t *c, bool ok, const json_value_t *msg)
{
    if (!ok) {
        int64_t code = 0;
        json_int64(json_get(msg, "errorCode"), &code);
        c->state = C_LEFT;
        ic_tick_del(c->loop, &c->tick);
        ic_ws_close(c->ws);
        c->ws = NULL;
        if (c->cb.on_joined != NULL)
            c->cb.on_joined(c->user, c, code ? (int)code : -1, json_string(json_get(msg, "errorMsg")));
        return;
    }
    c->state = C_JOINED;
    if (c->cb.on_joined != NULL)
        c->cb.on_joined(c->user, c, 0, NULL);
    const json_value_t *peers = json_get(json_get(msg, "data"), "peers");
    for (size_t i = 0; i < json_size(peers) && c->state == C_JOINED; i++) {
        const char *u = json_string(json_get(json_at(peers, i), "userId"));
        if (u != NULL && c->cb.on_peer != NULL)
            c->cb.on_peer(c->user, c, u, true, 0);
    }
    const json_value_t *streams = json_get(json_get(msg, "data"), "streams");
    for (size_t i = 0; i < json_size(streams) && c->state == C_JOINED; i++) {
        ic_stream_t s;
        copy_stream(json_at(streams, i), &s);
        if (strcmp(s.user_id, c->user_id) != 0 && c->cb.on_stream_added != NULL)
            c->cb.on_stream_added(c->user, c, &s);
    }
}

static void on_media_response(ic_client_t *c, pending_t *p, bool ok, const json_value_t *msg)
{
    pc_t *pc = p->pc;
    if (pc == NULL)
        return; /* unsubscribed or left meanwhile */
    const json_value_t *data = json_get(msg, "data");
    const char *err = NULL;
    int code = -1;
    if (ok) {
        const char *id = json_string(json_get(data, pc->role == PC_PUBLISH ? "streamId" : "subscriptionId"));
        snprintf(pc->role == PC_PUBLISH ? pc->stream_id : pc->sub_id, sizeof(pc->stream_id), "%s", id ? id : "");
        const char *sdp = json_string(json_get(data, "sdp"));
        ic_answer_t ans;
        if (sdp == NULL)
            err = "no sdp in the answer";
        else if (ic_answer_parse(sdp, json_string_len(json_get(data, "sdp")), &ans, &err) == IRTC_OK &&
                 ic_transport_start(pc->t, &ans, true) != IRTC_OK)
            err = "no candidate of our address family";
        pc->answered = true;
        if (err == NULL)
            return;
    } else {
        int64_t v = 0;
        if (json_int64(json_get(msg, "errorCode"), &v) == IRTC_OK)
            code = (int)v;
        err = json_string(json_get(msg, "errorMsg"));
    }
    char id[24];
    snprintf(id, sizeof(id), "%s", pc->stream_id);
    pc_role_t role = pc->role;
    pc_free(c, pc);
    if (role == PC_PUBLISH && c->cb.on_published != NULL)
        c->cb.on_published(c->user, c, id, code, err);
    else if (role == PC_SUBSCRIBE && c->cb.on_subscribed != NULL)
        c->cb.on_subscribed(c->user, c, id, code, err);
}

static void on_event(ic_client_t *c, const char *ev, const json_value_t *data)
{
    if (strcmp(ev, "stream-added") == 0 || strcmp(ev, "stream-removed") == 0) {
        ic_stream_t s;
        copy_stream(json_get(data, "stream"), &s);
        if (strcmp(s.user_id, c->user_id) == 0)
            return;
        if (ev[7] == 'a') {
            if (c->cb.on_stream_added != NULL)
                c->cb.on_stream_added(c->user, c, &s);
            return;
        }
        /* The server ended our subscriptions to it: their transports go too. */
        for (pc_t *pc = c->pcs, *next; pc; pc = next) {
            next = pc->next;
            if (pc->role == PC_SUBSCRIBE && strcmp(pc->stream_id, s.stream_id) == 0)
                pc_free(c, pc);
        }
        if (c->cb.on_stream_removed != NULL)
            c->cb.on_stream_removed(c->user, c, &s);
    } else if (strcmp(ev, "client-banned") == 0 ||
               (strcmp(ev, "peer-leave") == 0 && json_string(json_get(data, "userId")) != NULL &&
                strcmp(json_string(json_get(data, "userId")), c->user_id) == 0)) {
        int64_t code = 7;
        const json_value_t *r = json_get(data, "reason");
        json_int64(json_get(r, "code"), &code);
        end_session(c, (int)code, json_string(json_get(r, "msg")));
    } else if (strcmp(ev, "peer-join") == 0 || strcmp(ev, "peer-leave") == 0) {
        const char *u = json_string(json_get(data, "userId"));
        int64_t code = 0;
        json_int64(json_get(json_get(data, "reason"), "code"), &code);
        if (u != NULL && c->cb.on_peer != NULL)
            c->cb.on_peer(c->user, c, u, ev[5] == 'j', (int)code);
    } else if (strcmp(ev, "mute-audio") == 0 || strcmp(ev, "unmute-audio") == 0 || strcmp(ev, "mute-video") == 0 ||
               strcmp(ev, "unmute-video") == 0) {
        const char *u = json_string(json_get(data, "userId"));
        if (u != NULL && c->cb.on_peer_mute != NULL)
            c->cb.on_peer_mute(c->user, c, u, strstr(ev, "video") != NULL, ev[0] == 'm');
    } else if (strcmp(ev, "signature-expired") == 0) {
        int64_t at = 0;
        json_int64(json_get(data, "expiresAt"), &at);
        if (c->cb.on_token_expiring != NULL)
            c->cb.on_token_expiring(c->user, c, at);
    }
}

static void on_renew_response(ic_client_t *c, bool ok, const json_value_t *msg)
{
    int64_t code = 0;
    if (!ok)
        json_int64(json_get(msg, "errorCode"), &code);
    if (c->cb.on_renewed != NULL)
        c->cb.on_renewed(c->user, c, ok ? 0 : code ? (int)code : -1, ok ? NULL : json_string(json_get(msg, "errorMsg")));
}

static void on_text(void *user, const char *text, size_t len)
{
    ic_client_t *c = user;
    json_value_t *msg = json_parse(text, len, NULL, NULL);
    if (msg == NULL)
        return;
    const char *type = json_string(json_get(msg, "type"));
    if (type != NULL && strcmp(type, "response") == 0) {
        int64_t id;
        pending_t *p = json_int64(json_get(msg, "id"), &id) == IRTC_OK ? take_pending(c, (uint64_t)id) : NULL;
        if (p != NULL) {
            bool ok = json_bool(json_get(msg, "ok"));
            if (strcmp(p->type, "join") == 0)
                on_join_response(c, ok, msg);
            else if (strcmp(p->type, "publish") == 0 || strcmp(p->type, "subscribe") == 0)
                on_media_response(c, p, ok, msg);
            else if (strcmp(p->type, "leave") == 0)
                end_session(c, 0, "user left");
            else if (strcmp(p->type, "renew") == 0)
                on_renew_response(c, ok, msg);
            free(p);
        }
    } else if (type != NULL && strcmp(type, "event") == 0) {
        const char *ev = json_string(json_get(msg, "event"));
        if (ev != NULL)
            on_event(c, ev, json_get(msg, "data"));
    }
    json_free(msg);
}

static void on_ws_close(void *user, int code, const char *why)
{
    ic_client_t *c = user;
    ic_ws_close(c->ws); /* already down: this only frees it, after this turn */
    c->ws = NULL;
    int state = c->state;
    int reason = code >= 4000 && code < 4100 ? code - 4000 : 7;
    if (state == C_JOINING) {
        c->state = C_LEFT;
        ic_tick_del(c->loop, &c->tick);
        if (c->cb.on_joined != NULL)
            c->cb.on_joined(c->user, c, -1, why);
        return;
    }
    end_session(c, state == C_LEAVING ? 0 : reason, why);
}

/* ---- API ---- */

ic_client_t *ic_client_new(ic_loop_t *l, const ic_config_t *cfg, const ic_callbacks_t *cb, void *user)
{
    ic_client_t *c = xcalloc(1, sizeof(*c));
    c->loop = l;
    c->cfg = *cfg;
    snprintf(c->host, sizeof(c->host), "%s", cfg->host ? cfg->host : "127.0.0.1");
    snprintf(c->bind_ip, sizeof(c->bind_ip), "%s", cfg->media_bind_ip ? cfg->media_bind_ip : "");
    c->cfg.host = c->host;
    c->cfg.media_bind_ip = NULL;
    c->cb = *cb;
    c->user = user;
    c->tick.fn = on_tick;
    return c;
}

int ic_client_join(ic_client_t *c, const char *app_id, const char *channel_id, const char *user_id,
                   const char *signature, int role)
{
    if (c->state != C_IDLE && c->state != C_LEFT)
        return IRTC_ECONFLICT;
    if (!app_id || !channel_id || !user_id || !signature || strlen(user_id) >= sizeof(c->user_id))
        return IRTC_EINVAL;
    static const ic_ws_callbacks_t wcb = {NULL, on_text, on_ws_close};
    c->ws = ic_ws_connect(c->loop, c->host, c->cfg.port, "/v1/signal", &wcb, c);
    if (c->ws == NULL)
        return IRTC_EINVAL;
    snprintf(c->user_id, sizeof(c->user_id), "%s", user_id);
    c->state = C_JOINING;
    c->last_ping_us = ic_loop_now_us(c->loop);
    ic_tick_add(c->loop, &c->tick);
    buf_t f;
    buf_init(&f);
    buf_puts(&f, "\"appId\":");
    json_write_string(&f, app_id);
    buf_puts(&f, ",\"channelId\":");
    json_write_string(&f, channel_id);
    buf_puts(&f, ",\"userId\":");
    json_write_string(&f, user_id);
    buf_puts(&f, ",\"signature\":");
    json_write_string(&f, signature);
    buf_printf(&f, ",\"role\":%d", role);
    send_request(c, "join", NULL, &f);
    buf_dispose(&f);
    return IRTC_OK;
}

int ic_client_publish(ic_client_t *c, const ic_publish_opts_t *o)
{
    if (c->state != C_JOINED)
        return IRTC_ECONFLICT;
    if (!o->audio && !o->video)
        return IRTC_EINVAL;
    const char *why = NULL;
    ic_source_t *src = ic_source_new(o, ic_loop_now_us(c->loop), &why);
    if (src == NULL)
        return IRTC_EINVAL;
    pc_t *pc = pc_for_publish(c);
    if (pc == NULL) {
        ic_source_free(src);
        return IRTC_EIO;
    }
    pc->src = src;
    pc->encoded = o->encoded_frames;
    unsigned layers = ic_source_layers(src);
    pc->pace = ic_pace_new(o, layers, ic_loop_now_us(c->loop));
    uint32_t ssrcs[1 + IC_MAX_LAYERS];
    crypto_random(ssrcs, sizeof(ssrcs));
    if (o->audio)
        pc->track_audio = ic_transport_add_send(pc->t, false, ssrcs[0], NULL);
    for (unsigned i = 0; i < layers; i++)
        pc->track_video[i] =
            ic_transport_add_send(pc->t, true, ssrcs[1 + i], layers > 1 ? ic_layer_rid(i, layers) : NULL);
    buf_t sdp, f;
    buf_init(&sdp);
    buf_init(&f);
    write_offer(pc, true, o->audio, o->video, o->encoded_frames && o->h264, layers, ssrcs, &sdp);
    buf_printf(&f, "\"streamType\":\"%s\",\"audio\":%s,\"video\":%s,\"sdp\":", o->auxiliary ? "auxiliary" : "main",
               o->audio ? "true" : "false", o->video ? "true" : "false");
    json_write_string(&f, sdp.base);
    send_request(c, "publish", pc, &f);
    buf_dispose(&sdp);
    buf_dispose(&f);
    return IRTC_OK;
}

int ic_client_send_frame(ic_client_t *c, bool video, uint64_t pts_us, const uint8_t *data, size_t len)
{
    for (pc_t *pc = c->pcs; pc; pc = pc->next) {
        if (pc->role != PC_PUBLISH || !pc->encoded)
            continue;
        if (!pc->connected)
            return IRTC_ECONFLICT;
        return ic_source_send_frame(pc->src, video, pts_us, data, len, emit_cb, pc);
    }
    return IRTC_ENOTFOUND;
}

int ic_client_subscribe(ic_client_t *c, const char *stream_id, bool audio, bool video)
{
    if (c->state != C_JOINED)
        return IRTC_ECONFLICT;
    if (stream_id == NULL || stream_id[0] == 0 || strlen(stream_id) >= 24 || (!audio && !video))
        return IRTC_EINVAL;
    pc_t *pc = pc_for_subscription(c, stream_id);
    if (pc == NULL)
        return IRTC_EIO;
    buf_t sdp, f;
    buf_init(&sdp);
    buf_init(&f);
    write_offer(pc, false, audio, video, false, 1, NULL, &sdp);
    buf_puts(&f, "\"streamId\":");
    json_write_string(&f, stream_id);
    buf_printf(&f, ",\"audio\":%s,\"video\":%s,\"sdp\":", audio ? "true" : "false", video ? "true" : "false");
    json_write_string(&f, sdp.base);
    send_request(c, "subscribe", pc, &f);
    buf_dispose(&sdp);
    buf_dispose(&f);
    return IRTC_OK;
}

int ic_client_unsubscribe(ic_client_t *c, const char *stream_id)
{
    for (pc_t *pc = c->pcs; pc; pc = pc->next) {
        if (pc->role != PC_SUBSCRIBE || strcmp(pc->stream_id, stream_id) != 0)
            continue;
        if (c->state == C_JOINED) {
            buf_t f;
            buf_init(&f);
            buf_puts(&f, "\"streamId\":");
            json_write_string(&f, stream_id);
            send_request(c, "unsubscribe", NULL, &f);
            buf_dispose(&f);
        }
        pc_free(c, pc);
        return IRTC_OK;
    }
    return IRTC_ENOTFOUND;
}

int ic_client_mute(ic_client_t *c, bool video, bool muted)
{
    if (c->state != C_JOINED)
        return IRTC_ECONFLICT;
    buf_t f;
    buf_init(&f);
    buf_printf(&f, "\"kind\":\"%s\"", video ? "video" : "audio");
    send_request(c, muted ? "mute" : "unmute", NULL, &f);
    buf_dispose(&f);
    return IRTC_OK;
}

int ic_client_renew(ic_client_t *c, const char *signature)
{
    if (c->state != C_JOINED)
        return IRTC_ECONFLICT;
    if (signature == NULL || signature[0] == 0)
        return IRTC_EINVAL;
    buf_t f;
    buf_init(&f);
    buf_puts(&f, "\"signature\":");
    json_write_string(&f, signature);
    send_request(c, "renew", NULL, &f);
    buf_dispose(&f);
    return IRTC_OK;
}

void ic_client_leave(ic_client_t *c)
{
    if (c->state == C_JOINED || c->state == C_JOINING) {
        while (c->pcs != NULL)
            pc_free(c, c->pcs);
        send_request(c, "leave", NULL, NULL);
        c->state = C_LEAVING;
        c->leave_deadline_us = ic_loop_now_us(c->loop) + LEAVE_TIMEOUT_US;
    }
}

static void free_client(void *arg)
{
    ic_client_t *c = arg;
    /* A request queued after the session ended (a join whose socket failed
     * at once ends the session before the join is queued). */
    while (c->pending != NULL) {
        pending_t *p = c->pending;
        c->pending = p->next;
        free(p);
    }
    free(c);
}

void ic_client_free(ic_client_t *c)
{
    if (c == NULL)
        return;
    c->cb = (ic_callbacks_t){0};
    end_session(c, 0, NULL);
    ic_loop_defer(c->loop, free_client, c);
}

void ic_client_recv_stats(const ic_client_t *c, ic_recv_stats_t *out)
{
    *out = c->rx_closed;
    for (const pc_t *pc = c->pcs; pc; pc = pc->next)
        ic_transport_add_stats(pc->t, out, NULL);
}

void ic_client_send_stats(const ic_client_t *c, ic_send_stats_t *out)
{
    *out = c->tx_closed;
    for (const pc_t *pc = c->pcs; pc; pc = pc->next)
        ic_transport_add_stats(pc->t, NULL, out);
}

void ic_client_request_keyframe(ic_client_t *c)
{
    for (pc_t *pc = c->pcs; pc; pc = pc->next)
        if (pc->role != PC_PUBLISH)
            ic_transport_request_keyframe(pc->t);
}

bool ic_client_in_room(const ic_client_t *c)
{
    return c->state == C_JOINED;
}
