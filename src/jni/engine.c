/*
 * engine.c — the Android SDK's native engine over the client core: a
 * command queue filled by any thread and drained by the engine thread
 * between turns of its ic_loop (whose 5 ms ticks bound the latency), the
 * remote streams and what the app wants of them, the frame sink, and the
 * mapping of the core's outcomes to the guide's codes.
 */
#include "jni/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "core/common.h"
#ifdef IRTC_HAVE_AV
#include "jni/media_av.h"
#endif

#define MAX_REMOTES 16
#define JOIN_TIMEOUT_US 10000000 /* ERR_SERVER_NO_RESPONSE after this */
#define STATS_EVERY_US 2000000
#define RECONNECT_FOR_US 30000000 /* then ERR_SOCKET_RECONNECT_FAIL */
#define RECONNECT_EVERY_US 1000000
#define MAX_PEERS 64
#define VIDEO_BITRATE 1000000

/* Guide §7.2.4.3 codes the engine itself produces. */
enum {
    ERR_INVALID_CONNECT_PARAMETER = 200006,
    ERR_CONNECT_PARAMETER_NOT_EMPTY = 200007,
    ERR_USER_ALREADY_LEAVED = 200012,
    ERR_SOCKET_CONNECT_FAIL = 200013,
    ERR_SOCKET_RECONNECT_FAIL = 200015,
    ERR_SERVER_NO_RESPONSE = 200017,
    ERR_JOIN_CHANNEL_FAIL = 200018,
    ERR_SDK_NOT_SUPPORTED = 200002,
    ERR_PUBLISH_AUDIO_STREAM_FAIL = 200025,
    ERR_PUBLISH_VIDEO_STREAM_FAIL = 200026,
};

typedef enum { CMD_JOIN, CMD_LEAVE, CMD_LOCAL, CMD_RESOLUTION, CMD_REMOTE, CMD_RENEW, CMD_FRAME, CMD_EXTERNAL, CMD_CODEC, CMD_STOP } cmd_type_t;

typedef struct cmd cmd_t;
struct cmd {
    cmd_type_t type;
    char *s[6]; /* join: host, app, channel, user, token; remote: user; renew: token */
    int i[4];
    uint64_t pts_us;  /* frame */
    uint8_t *data;    /* frame: its bytes */
    size_t len;
    cmd_t *next;
};

typedef struct {
    bool used;
    char user_id[65];
    char stream_id[24];
    bool has_audio, has_video;
    bool subscribed, sub_audio, sub_video;
    bool sub_up; /* the subscription's transport came up */
    bool first_video, first_audio;
    uint64_t added_us;
    irtc_frames_t frames;
#ifdef IRTC_HAVE_AV
    irtc_av_decoder_t *dec; /* engine thread */
#endif
} remote_t;

/* What the app wants of one user's media (set before or after the stream exists). */
typedef struct {
    char user_id[65];
    bool no_audio, no_video;
} pref_t;

struct irtc_engine {
    irtc_engine_callbacks_t cb;
    void *user;
    pthread_t thread;
    pthread_mutex_t mu; /* queue and frames */
    cmd_t *head, *tail;
    /* engine thread only: */
    ic_loop_t *loop;
    ic_client_t *client;
    bool joined;
    uint64_t join_start_us, joined_us, last_stats_us;
    bool send_audio, send_video;
    unsigned width, height, fps;
    bool external; /* the app encodes and decodes (irtc_engine_send_frame, cb.on_frame) */
    bool h264;     /* our video: H.264 (else VP8) */
    bool published;
#ifdef IRTC_HAVE_AV
    irtc_av_source_t *av_src; /* the built-in source of our publication */
#endif
    bool all_no_audio, all_no_video;
    pref_t prefs[MAX_REMOTES];
    remote_t remotes[MAX_REMOTES]; /* frames read under mu */
    char channel[65];
    /* The join, kept to join again after a lost connection (token renewed in place). */
    irtc_join_t last;
    char *last_str[5];
    bool reconnecting;
    uint64_t lost_us, next_attempt_us;
    /* Users reported joined, so that a rejoin does not report them twice. */
    char peers[MAX_PEERS][65];
};

static void emit(irtc_engine_t *e, irtc_event_type_t type, const char *str, const int64_t *v, size_t n)
{
    irtc_event_t ev = {.type = type, .str = str};
    for (size_t k = 0; k < n && k < IRTC_ARRAY_SIZE(ev.v); k++)
        ev.v[k] = v[k];
    e->cb.on_event(e->user, &ev);
}
#define EMIT(e, type, str, ...) emit(e, type, str, (const int64_t[]){__VA_ARGS__}, sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static int64_t ms_since(const irtc_engine_t *e, uint64_t t0)
{
    return (int64_t)((ic_loop_now_us(e->loop) - t0) / 1000);
}

/* ---- remote streams and what the app wants of them ---- */

static pref_t *pref_for(irtc_engine_t *e, const char *user_id, bool create)
{
    pref_t *free_slot = NULL;
    for (size_t k = 0; k < MAX_REMOTES; k++) {
        if (e->prefs[k].user_id[0] && strcmp(e->prefs[k].user_id, user_id) == 0)
            return &e->prefs[k];
        if (!e->prefs[k].user_id[0] && free_slot == NULL)
            free_slot = &e->prefs[k];
    }
    if (!create || free_slot == NULL)
        return NULL;
    snprintf(free_slot->user_id, sizeof(free_slot->user_id), "%s", user_id);
    free_slot->no_audio = e->all_no_audio;
    free_slot->no_video = e->all_no_video;
    return free_slot;
}

static remote_t *remote_by_stream(irtc_engine_t *e, const char *stream_id)
{
    for (size_t k = 0; k < MAX_REMOTES; k++)
        if (e->remotes[k].used && strcmp(e->remotes[k].stream_id, stream_id) == 0)
            return &e->remotes[k];
    return NULL;
}

/* (Re)subscribes r with the kinds wanted now: one subscription per stream,
 * so a change of kinds is an unsubscribe and a new subscribe. */
static void apply_prefs(irtc_engine_t *e, remote_t *r)
{
    const pref_t *p = pref_for(e, r->user_id, false);
    bool no_a = p ? p->no_audio : e->all_no_audio, no_v = p ? p->no_video : e->all_no_video;
    bool want_a = r->has_audio && !no_a, want_v = r->has_video && !no_v;
    if (r->subscribed && (want_a != r->sub_audio || want_v != r->sub_video)) {
        ic_client_unsubscribe(e->client, r->stream_id);
        r->subscribed = r->sub_up = false;
    }
    if (!r->subscribed && (want_a || want_v) && ic_client_subscribe(e->client, r->stream_id, want_a, want_v) == IRTC_OK) {
        r->subscribed = true;
        r->sub_audio = want_a;
        r->sub_video = want_v;
    }
}

/* Engine thread; the caller holds mu. */
static void remote_drop(remote_t *r)
{
    r->used = false;
#ifdef IRTC_HAVE_AV
    irtc_av_decoder_free(r->dec);
    r->dec = NULL;
#endif
}

static void stop_source(irtc_engine_t *e)
{
    e->published = false;
#ifdef IRTC_HAVE_AV
    irtc_av_source_free(e->av_src);
    e->av_src = NULL;
#endif
}

static void forget_remotes(irtc_engine_t *e)
{
    pthread_mutex_lock(&e->mu);
    for (size_t k = 0; k < MAX_REMOTES; k++)
        remote_drop(&e->remotes[k]);
    pthread_mutex_unlock(&e->mu);
}

/* ---- the client core's callbacks ---- */

static void publish(irtc_engine_t *e)
{
    if (!e->send_audio && !e->send_video)
        return;
    ic_publish_opts_t o = {.audio = true, .video = true, .fps = e->fps, .width = (uint16_t)e->width,
                           .height = (uint16_t)e->height, .video_bitrate_bps = VIDEO_BITRATE};
    /* Real frames from the app's encoders or the built-in one; the
     * synthetic packets only where neither exists. */
#ifdef IRTC_HAVE_AV
    o.encoded_frames = true;
#else
    o.encoded_frames = e->external;
#endif
    o.h264 = o.encoded_frames && e->h264;
    if (ic_client_publish(e->client, &o) != IRTC_OK)
        EMIT(e, IRTC_EV_ERROR, "publish refused by the client core", ERR_PUBLISH_VIDEO_STREAM_FAIL, 0);
    /* A kind disabled before the join is published muted, so enabling it
     * later is an unmute (one PeerConnection per stream in protocol v1). */
    if (!e->send_audio)
        ic_client_mute(e->client, false, true);
    if (!e->send_video)
        ic_client_mute(e->client, true, true);
}

static void drop_client(void *arg)
{
    ic_client_free(arg);
}

static void on_joined(void *u, ic_client_t *c, int err, const char *msg)
{
    irtc_engine_t *e = u;
    if (err != 0) {
        e->client = NULL;
        ic_loop_defer(e->loop, drop_client, c);
        if (e->reconnecting)
            return; /* the next attempt follows (the server may still hold us: 200011) */
        /* -1: the socket could not be opened or closed before an answer. */
        EMIT(e, IRTC_EV_ERROR, msg, err > 0 ? err : ERR_SOCKET_CONNECT_FAIL, 1);
        EMIT(e, IRTC_EV_CONN_STATE, NULL, IRTC_CONN_FAILED, 0);
        return;
    }
    e->joined = true;
    e->joined_us = e->last_stats_us = ic_loop_now_us(e->loop);
    EMIT(e, IRTC_EV_CONN_STATE, NULL, IRTC_CONN_CONNECTED, 0);
    if (e->reconnecting) {
        e->reconnecting = false;
        EMIT(e, IRTC_EV_REJOINED, e->channel, ms_since(e, e->lost_us));
    } else {
        EMIT(e, IRTC_EV_JOINED, e->channel, ms_since(e, e->join_start_us));
    }
    publish(e);
}

/* Marks user_id known (joined) or not; true when that changed it. */
static bool peer_mark(irtc_engine_t *e, const char *user_id, bool joined)
{
    char (*slot)[65] = NULL;
    for (size_t k = 0; k < MAX_PEERS; k++) {
        if (strcmp(e->peers[k], user_id) == 0) {
            if (!joined)
                e->peers[k][0] = 0;
            return !joined;
        }
        if (slot == NULL && e->peers[k][0] == 0)
            slot = &e->peers[k];
    }
    if (joined && slot != NULL)
        snprintf(*slot, sizeof(*slot), "%s", user_id);
    return joined;
}

static void on_peer(void *u, ic_client_t *c, const char *user_id, bool joined, int reason)
{
    (void)c;
    irtc_engine_t *e = u;
    if (!peer_mark(e, user_id, joined))
        return;
    if (joined)
        EMIT(e, IRTC_EV_PEER_JOINED, user_id, ms_since(e, e->join_start_us));
    else
        EMIT(e, IRTC_EV_PEER_LEFT, user_id, reason);
}

static void on_stream_added(void *u, ic_client_t *c, const ic_stream_t *s)
{
    (void)c;
    irtc_engine_t *e = u;
    if (s->auxiliary)
        return; /* the Android API has no view for a screen share */
    remote_t *r = NULL;
    for (size_t k = 0; k < MAX_REMOTES && r == NULL; k++)
        if (!e->remotes[k].used)
            r = &e->remotes[k];
    if (r == NULL)
        return;
    pthread_mutex_lock(&e->mu);
    memset(r, 0, sizeof(*r));
    remote_drop(r);
    r->used = true;
    snprintf(r->user_id, sizeof(r->user_id), "%s", s->user_id);
    snprintf(r->stream_id, sizeof(r->stream_id), "%s", s->stream_id);
    r->has_audio = s->has_audio;
    r->has_video = s->has_video;
    r->added_us = ic_loop_now_us(e->loop);
    pthread_mutex_unlock(&e->mu);
    apply_prefs(e, r);
}

static void on_stream_removed(void *u, ic_client_t *c, const ic_stream_t *s)
{
    (void)c;
    irtc_engine_t *e = u;
    remote_t *r = remote_by_stream(e, s->stream_id);
    if (r != NULL) {
        pthread_mutex_lock(&e->mu);
        remote_drop(r);
        pthread_mutex_unlock(&e->mu);
    }
}

static void on_published(void *u, ic_client_t *c, const char *stream_id, int err, const char *msg)
{
    (void)c;
    irtc_engine_t *e = u;
    if (err != 0) {
        EMIT(e, IRTC_EV_ERROR, msg, err > 0 ? err : ERR_PUBLISH_VIDEO_STREAM_FAIL, 0);
        return;
    }
    e->published = true;
#ifdef IRTC_HAVE_AV
    if (!e->external && e->av_src == NULL) {
        char why[128];
        e->av_src = irtc_av_source_new(e->h264, e->width, e->height, e->fps, VIDEO_BITRATE, ic_loop_now_us(e->loop),
                                       why, sizeof(why));
        if (e->av_src == NULL)
            EMIT(e, IRTC_EV_ERROR, why, ERR_PUBLISH_VIDEO_STREAM_FAIL, 0);
    }
#endif
    EMIT(e, IRTC_EV_PUBLISHED, stream_id, e->width, e->height, 1, ms_since(e, e->join_start_us));
}

static void on_subscribed(void *u, ic_client_t *c, const char *stream_id, int err, const char *msg)
{
    (void)c;
    irtc_engine_t *e = u;
    remote_t *r = remote_by_stream(e, stream_id);
    if (err == 0) {
        if (r != NULL)
            r->sub_up = true;
        return;
    }
    bool was_up = r != NULL && r->sub_up;
    if (r != NULL)
        r->subscribed = r->sub_up = false;
    /* A subscription that was up and fails has been ended by the server
     * (its DTLS close_notify as the publisher leaves, which may arrive
     * before stream-removed): not the app's error. */
    if (err < 0 && was_up)
        return;
    EMIT(e, IRTC_EV_ERROR, msg, err > 0 ? err : ERR_JOIN_CHANNEL_FAIL, 0);
}

/* Decodes f with the built-in decoders into r's sink: the pictures it
 * produced, or -1 when nothing here decodes (the app does, or no FFmpeg). */
static int decode_frame(irtc_engine_t *e, remote_t *r, const ic_frame_t *f)
{
#ifdef IRTC_HAVE_AV
    if (e->external)
        return -1;
    if (r->dec == NULL)
        r->dec = irtc_av_decoder_new();
    int n = f->video ? irtc_av_decode_video(r->dec, f->h264, f->keyframe, f->data, f->bytes)
                     : irtc_av_decode_audio(r->dec, f->data, f->bytes);
    irtc_av_decoded_t d;
    irtc_av_decoded(r->dec, &d);
    pthread_mutex_lock(&e->mu);
    r->frames.decoded_frames = d.video_frames;
    r->frames.decode_errors = d.video_errors + d.audio_errors;
    r->frames.decoded_width = d.width;
    r->frames.decoded_height = d.height;
    r->frames.audio_decoded = d.audio_frames;
    r->frames.audio_level = d.level;
    pthread_mutex_unlock(&e->mu);
    return n < 0 ? 0 : n;
#else
    (void)e, (void)r, (void)f;
    return -1;
#endif
}

static void on_frame(void *u, ic_client_t *c, const ic_frame_t *f)
{
    (void)c;
    irtc_engine_t *e = u;
    remote_t *r = remote_by_stream(e, f->stream_id);
    if (r == NULL)
        return;
    if (e->external && e->cb.on_frame != NULL)
        e->cb.on_frame(e->user, r->user_id, f);
    int decoded = decode_frame(e, r, f);
    pthread_mutex_lock(&e->mu);
    if (f->video) {
        r->frames.video_frames++;
        r->frames.video_bytes += f->bytes;
        if (f->keyframe) {
            r->frames.keyframes++;
            r->frames.width = f->width;
            r->frames.height = f->height;
        }
    } else {
        r->frames.audio_frames++;
    }
    pthread_mutex_unlock(&e->mu);
    /* The first frame shown: the first decoded picture, or without a
     * decoder here, the first whole keyframe (the first one a decoder could show). */
    if (f->video && !r->first_video && (decoded > 0 || (decoded < 0 && f->keyframe && f->width > 0))) {
        r->first_video = true;
        uint16_t w = decoded > 0 ? r->frames.decoded_width : f->width, h = decoded > 0 ? r->frames.decoded_height : f->height;
        EMIT(e, IRTC_EV_FIRST_VIDEO, r->user_id, w, h, ms_since(e, r->added_us));
    } else if (!f->video && !r->first_audio) {
        r->first_audio = true;
        EMIT(e, IRTC_EV_FIRST_AUDIO, r->user_id, ms_since(e, r->added_us));
    }
}

static void on_peer_mute(void *u, ic_client_t *c, const char *user_id, bool video, bool muted)
{
    (void)c;
    EMIT((irtc_engine_t *)u, IRTC_EV_PEER_MUTE, user_id, video, muted);
}

static void on_token_expiring(void *u, ic_client_t *c, int64_t at)
{
    (void)c;
    EMIT((irtc_engine_t *)u, IRTC_EV_TOKEN_EXPIRING, NULL, at);
}

static void on_renewed(void *u, ic_client_t *c, int err, const char *msg)
{
    (void)c;
    if (err != 0)
        EMIT((irtc_engine_t *)u, IRTC_EV_ERROR, msg, err > 0 ? err : ERR_SDK_NOT_SUPPORTED, 0);
}

static void on_keyframe_request(void *u, ic_client_t *c)
{
    (void)c;
    irtc_engine_t *e = u;
#ifdef IRTC_HAVE_AV
    if (e->av_src != NULL)
        irtc_av_source_keyframe(e->av_src);
#endif
    if (e->external)
        EMIT(e, IRTC_EV_KEYFRAME_REQUEST, NULL, 0);
}

static void stats_values(irtc_engine_t *e, int64_t v[8])
{
    ic_recv_stats_t rx;
    ic_send_stats_t tx;
    ic_client_recv_stats(e->client, &rx);
    ic_client_send_stats(e->client, &tx);
    int64_t users = 0;
    for (size_t k = 0; k < MAX_REMOTES; k++)
        users += e->remotes[k].used;
    v[0] = (int64_t)((ic_loop_now_us(e->loop) - e->joined_us) / 1000000);
    v[1] = (int64_t)tx.bytes, v[2] = (int64_t)rx.bytes, v[3] = (int64_t)tx.packets, v[4] = (int64_t)rx.packets;
    v[5] = (int64_t)rx.lost, v[6] = users, v[7] = (int64_t)rx.jitter_ms;
}

static void on_left(void *u, ic_client_t *c, int reason, const char *msg)
{
    (void)msg;
    irtc_engine_t *e = u;
    int64_t v[8];
    stats_values(e, v);
    bool was_joined = e->joined;
    e->joined = false;
    stop_source(e);
    e->client = NULL;
    ic_loop_defer(e->loop, drop_client, c);
    forget_remotes(e);
    if (!was_joined)
        return;
    if (reason == 7 && e->last.host != NULL) {
        /* The connection, not the server, ended the call: join again. */
        e->reconnecting = true;
        e->lost_us = ic_loop_now_us(e->loop);
        e->next_attempt_us = e->lost_us + RECONNECT_EVERY_US / 2;
        EMIT(e, IRTC_EV_CONN_STATE, NULL, IRTC_CONN_RECONNECTING, reason);
        return;
    }
    memset(e->peers, 0, sizeof(e->peers));
    if (reason != 0)
        EMIT(e, IRTC_EV_CONN_STATE, NULL, reason == 7 ? IRTC_CONN_FAILED : IRTC_CONN_DISCONNECTED, reason);
    EMIT(e, IRTC_EV_LEFT, NULL, reason, v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
}

static const ic_callbacks_t client_cbs = {
    .on_joined = on_joined,
    .on_stream_added = on_stream_added,
    .on_stream_removed = on_stream_removed,
    .on_published = on_published,
    .on_subscribed = on_subscribed,
    .on_left = on_left,
    .on_peer = on_peer,
    .on_peer_mute = on_peer_mute,
    .on_token_expiring = on_token_expiring,
    .on_frame = on_frame,
    .on_renewed = on_renewed,
    .on_keyframe_request = on_keyframe_request,
};

/* ---- commands, on the engine thread ---- */

/* Joins with e->last (a first join, or again after a lost connection). */
static void start_join(irtc_engine_t *e)
{
    const irtc_join_t *j = &e->last;
    ic_config_t cfg = {.host = j->host, .port = j->port};
    e->client = ic_client_new(e->loop, &cfg, &client_cbs, e);
    e->join_start_us = ic_loop_now_us(e->loop);
    if (ic_client_join(e->client, j->app_id, j->channel_id, j->user_id, j->token, j->role) != IRTC_OK) {
        ic_client_free(e->client);
        e->client = NULL;
        if (e->reconnecting)
            return;
        EMIT(e, IRTC_EV_ERROR, "cannot open the signaling socket", ERR_SOCKET_CONNECT_FAIL, 1);
        EMIT(e, IRTC_EV_CONN_STATE, NULL, IRTC_CONN_FAILED, 0);
    }
}

static void forget_join(irtc_engine_t *e)
{
    for (size_t n = 0; n < IRTC_ARRAY_SIZE(e->last_str); n++) {
        free(e->last_str[n]);
        e->last_str[n] = NULL;
    }
    memset(&e->last, 0, sizeof(e->last));
}

static void do_join(irtc_engine_t *e, cmd_t *k)
{
    if (e->client != NULL || e->reconnecting) {
        EMIT(e, IRTC_EV_ERROR, "already in a room: leaveChannel first", ERR_SDK_NOT_SUPPORTED, 1);
        return;
    }
    forget_join(e);
    memset(e->peers, 0, sizeof(e->peers));
    for (size_t n = 0; n < IRTC_ARRAY_SIZE(e->last_str); n++) {
        e->last_str[n] = k->s[n]; /* taken over from the command */
        k->s[n] = NULL;
    }
    e->last = (irtc_join_t){.host = e->last_str[0], .port = (uint16_t)k->i[0], .app_id = e->last_str[1],
                            .channel_id = e->last_str[2], .user_id = e->last_str[3], .token = e->last_str[4],
                            .role = k->i[1]};
    snprintf(e->channel, sizeof(e->channel), "%s", e->last.channel_id);
    EMIT(e, IRTC_EV_CONN_STATE, NULL, IRTC_CONN_CONNECTING, 0);
    start_join(e);
}

static void do_remote(irtc_engine_t *e, const char *user_id, bool video, bool receive)
{
    if (user_id == NULL) {
        if (video)
            e->all_no_video = !receive;
        else
            e->all_no_audio = !receive;
    }
    for (size_t k = 0; k < MAX_REMOTES; k++) {
        pref_t *p = &e->prefs[k];
        if (user_id != NULL ? strcmp(p->user_id, user_id) != 0 : !p->user_id[0])
            continue;
        if (video)
            p->no_video = !receive;
        else
            p->no_audio = !receive;
    }
    if (user_id != NULL && pref_for(e, user_id, false) == NULL) {
        pref_t *p = pref_for(e, user_id, true);
        if (p != NULL && video)
            p->no_video = !receive;
        else if (p != NULL)
            p->no_audio = !receive;
    }
    if (e->client == NULL || !e->joined)
        return;
    for (size_t k = 0; k < MAX_REMOTES; k++)
        if (e->remotes[k].used && (user_id == NULL || strcmp(e->remotes[k].user_id, user_id) == 0))
            apply_prefs(e, &e->remotes[k]);
}

static bool run_cmd(irtc_engine_t *e, cmd_t *k)
{
    switch (k->type) {
    case CMD_JOIN:
        do_join(e, k);
        break;
    case CMD_LEAVE:
        forget_join(e); /* no reconnection after this */
        if (e->client != NULL && e->joined) {
            ic_client_leave(e->client); /* on_left(0) follows */
        } else {
            if (e->client != NULL) {
                ic_client_free(e->client);
                e->client = NULL;
            }
            if (e->reconnecting) {
                e->reconnecting = false;
                memset(e->peers, 0, sizeof(e->peers));
                EMIT(e, IRTC_EV_LEFT, NULL, 0);
            }
        }
        break;
    case CMD_LOCAL: {
        bool video = k->i[0], on = k->i[1];
        bool *flag = video ? &e->send_video : &e->send_audio;
        if (*flag != on && e->client != NULL && e->joined)
            ic_client_mute(e->client, video, !on);
        *flag = on;
#ifdef IRTC_HAVE_AV
        if (video && on && e->av_src != NULL)
            irtc_av_source_keyframe(e->av_src); /* receivers start again from a keyframe */
#endif
        break;
    }
    case CMD_RESOLUTION:
        e->width = (unsigned)k->i[0], e->height = (unsigned)k->i[1], e->fps = (unsigned)k->i[2];
        break;
    case CMD_REMOTE:
        do_remote(e, k->s[0], k->i[0], k->i[1]);
        break;
    case CMD_RENEW:
        if (e->client == NULL || !e->joined || ic_client_renew(e->client, k->s[0]) != IRTC_OK) {
            EMIT(e, IRTC_EV_ERROR, "renewToken: not in a room", ERR_USER_ALREADY_LEAVED, 0);
        } else if (e->last.token != NULL) {
            /* A refused token is reported as an error; a rejoin would be refused too. */
            free(e->last_str[4]);
            e->last_str[4] = k->s[0];
            e->last.token = k->s[0];
            k->s[0] = NULL;
        }
        break;
    case CMD_EXTERNAL:
        e->external = k->i[0]; /* the next publication's source and the next frames' decoding */
        break;
    case CMD_CODEC:
        e->h264 = k->i[0]; /* the next publication's */
        break;
    case CMD_FRAME:
        if (e->external && e->client != NULL && e->published)
            ic_client_send_frame(e->client, k->i[0], k->pts_us, k->data, k->len);
        break;
    case CMD_STOP:
        return false;
    }
    return true;
}

static void cmd_free(cmd_t *k)
{
    free(k->data);
    for (size_t n = 0; n < IRTC_ARRAY_SIZE(k->s); n++)
        free(k->s[n]);
    free(k);
}

#ifdef IRTC_HAVE_AV
static void send_encoded(void *user, bool video, uint64_t pts_us, const uint8_t *data, size_t len)
{
    irtc_engine_t *e = user;
    ic_client_send_frame(e->client, video, pts_us, data, len);
}
#endif

static void *engine_main(void *arg)
{
    irtc_engine_t *e = arg;
    bool running = true;
    while (running) {
        pthread_mutex_lock(&e->mu);
        cmd_t *k = e->head;
        e->head = e->tail = NULL;
        pthread_mutex_unlock(&e->mu);
        while (k != NULL) {
            cmd_t *next = k->next;
            if (running)
                running = run_cmd(e, k);
            cmd_free(k);
            k = next;
        }
        if (!running)
            break;
        ic_loop_run(e->loop, 20);
        uint64_t now = ic_loop_now_us(e->loop);
#ifdef IRTC_HAVE_AV
        if (e->av_src != NULL && e->client != NULL && e->published)
            irtc_av_source_run(e->av_src, now, e->send_video, e->send_audio, send_encoded, e);
#endif
        if (e->reconnecting && e->client == NULL && now >= e->next_attempt_us) {
            if (now - e->lost_us > RECONNECT_FOR_US) {
                e->reconnecting = false;
                forget_join(e);
                memset(e->peers, 0, sizeof(e->peers));
                EMIT(e, IRTC_EV_ERROR, "could not join again", ERR_SOCKET_RECONNECT_FAIL, 0);
                EMIT(e, IRTC_EV_CONN_STATE, NULL, IRTC_CONN_FAILED, 7);
                EMIT(e, IRTC_EV_LEFT, NULL, 7);
            } else {
                e->next_attempt_us = now + RECONNECT_EVERY_US;
                start_join(e);
            }
        }
        if (e->client != NULL && !e->joined && now - e->join_start_us > JOIN_TIMEOUT_US) {
            ic_client_free(e->client);
            e->client = NULL;
            if (!e->reconnecting) {
                EMIT(e, IRTC_EV_ERROR, "no answer to join", ERR_SERVER_NO_RESPONSE, 1);
                EMIT(e, IRTC_EV_CONN_STATE, NULL, IRTC_CONN_FAILED, 0);
            }
        }
        if (e->client != NULL && e->joined && now - e->last_stats_us >= STATS_EVERY_US) {
            e->last_stats_us = now;
            int64_t v[8];
            stats_values(e, v);
            emit(e, IRTC_EV_STATS, NULL, v, 8);
        }
    }
    /* Stopping: leave without waiting for the answer, and let the loop
     * flush the close (bounded). */
    if (e->client != NULL) {
        ic_client_t *c = e->client;
        e->client = NULL;
        ic_client_free(c);
    }
    forget_join(e);
    stop_source(e);
    forget_remotes(e);
    for (int n = 0; n < 5; n++)
        ic_loop_run(e->loop, 1);
    if (e->cb.on_thread_exit != NULL)
        e->cb.on_thread_exit(e->user);
    return NULL;
}

/* ---- API (any thread) ---- */

static void push(irtc_engine_t *e, cmd_t *k)
{
    pthread_mutex_lock(&e->mu);
    if (e->tail != NULL)
        e->tail->next = k;
    else
        e->head = k;
    e->tail = k;
    pthread_mutex_unlock(&e->mu);
}

static cmd_t *cmd_new(cmd_type_t type)
{
    cmd_t *k = xcalloc(1, sizeof(*k));
    k->type = type;
    return k;
}

irtc_engine_t *irtc_engine_new(const irtc_engine_callbacks_t *cb, void *user, char *err, size_t errcap)
{
    irtc_engine_t *e = xcalloc(1, sizeof(*e));
    e->cb = *cb;
    e->user = user;
    e->send_audio = e->send_video = true;
    e->width = 640, e->height = 360, e->fps = 15;
    e->loop = ic_loop_new(NULL, err, errcap);
    if (e->loop == NULL) {
        free(e);
        return NULL;
    }
    pthread_mutex_init(&e->mu, NULL);
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        snprintf(err, errcap, "cannot start the engine thread");
        ic_loop_free(e->loop);
        pthread_mutex_destroy(&e->mu);
        free(e);
        return NULL;
    }
    return e;
}

void irtc_engine_free(irtc_engine_t *e)
{
    if (e == NULL)
        return;
    push(e, cmd_new(CMD_STOP));
    pthread_join(e->thread, NULL);
    for (cmd_t *k = e->head, *next; k; k = next) {
        next = k->next;
        cmd_free(k);
    }
    ic_loop_free(e->loop);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static bool is_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t k = 0; k < n; k++) {
        char ch = s[k];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

int irtc_engine_join(irtc_engine_t *e, const irtc_join_t *j)
{
    const char *req[] = {j->host, j->app_id, j->channel_id, j->user_id, j->token};
    for (size_t n = 0; n < IRTC_ARRAY_SIZE(req); n++)
        if (req[n] == NULL || req[n][0] == 0)
            return ERR_CONNECT_PARAMETER_NOT_EMPTY;
    if (!is_id(j->channel_id) || !is_id(j->user_id) || strlen(j->app_id) > 64 || strlen(j->token) > 4096 ||
        j->port == 0 || (j->role != 0 && j->role != 1))
        return ERR_INVALID_CONNECT_PARAMETER;
    cmd_t *k = cmd_new(CMD_JOIN);
    for (size_t n = 0; n < IRTC_ARRAY_SIZE(req); n++)
        k->s[n] = xstrdup(req[n]);
    k->i[0] = j->port;
    k->i[1] = j->role;
    push(e, k);
    return 0;
}

int irtc_engine_leave(irtc_engine_t *e)
{
    push(e, cmd_new(CMD_LEAVE));
    return 0;
}

void irtc_engine_set_local(irtc_engine_t *e, bool video, bool enabled)
{
    cmd_t *k = cmd_new(CMD_LOCAL);
    k->i[0] = video, k->i[1] = enabled;
    push(e, k);
}

void irtc_engine_set_resolution(irtc_engine_t *e, unsigned width, unsigned height, unsigned fps)
{
    cmd_t *k = cmd_new(CMD_RESOLUTION);
    k->i[0] = (int)width, k->i[1] = (int)height, k->i[2] = (int)fps;
    push(e, k);
}

void irtc_engine_set_remote(irtc_engine_t *e, const char *user_id, bool video, bool receive)
{
    cmd_t *k = cmd_new(CMD_REMOTE);
    k->s[0] = user_id ? xstrdup(user_id) : NULL;
    k->i[0] = video, k->i[1] = receive;
    push(e, k);
}

void irtc_engine_set_external(irtc_engine_t *e, bool external)
{
    cmd_t *k = cmd_new(CMD_EXTERNAL);
    k->i[0] = external;
    push(e, k);
}

void irtc_engine_set_h264(irtc_engine_t *e, bool h264)
{
    cmd_t *k = cmd_new(CMD_CODEC);
    k->i[0] = h264;
    push(e, k);
}

int irtc_engine_send_frame(irtc_engine_t *e, bool video, uint64_t pts_us, const uint8_t *data, size_t len)
{
    if (data == NULL || len == 0 || len > IC_MAX_FRAME)
        return ERR_INVALID_CONNECT_PARAMETER;
    cmd_t *k = cmd_new(CMD_FRAME);
    k->i[0] = video;
    k->pts_us = pts_us;
    k->data = xmalloc(len);
    memcpy(k->data, data, len);
    k->len = len;
    push(e, k);
    return 0;
}

int irtc_engine_renew(irtc_engine_t *e, const char *token)
{
    if (token == NULL || token[0] == 0 || strlen(token) > 4096)
        return ERR_INVALID_CONNECT_PARAMETER;
    cmd_t *k = cmd_new(CMD_RENEW);
    k->s[0] = xstrdup(token);
    push(e, k);
    return 0;
}

bool irtc_engine_frames(irtc_engine_t *e, const char *user_id, irtc_frames_t *out)
{
    bool found = false;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&e->mu);
    for (size_t k = 0; k < MAX_REMOTES && !found; k++) {
        if (e->remotes[k].used && strcmp(e->remotes[k].user_id, user_id) == 0) {
            *out = e->remotes[k].frames;
            found = true;
        }
    }
    pthread_mutex_unlock(&e->mu);
    return found;
}
