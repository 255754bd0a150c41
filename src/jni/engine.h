/*
 * engine.h — the Android SDK's native engine (docs/ANDROID.md): one
 * RtcEngine's call on top of the C client core (src/client).  It owns a
 * thread that runs an ic_loop with one ic_client per joinChannel, publishes
 * the local audio and video, subscribes to every remote stream with the
 * kinds the app has not muted, keeps the in-memory frame sink (frames,
 * bytes, keyframes and size per remote user, and what was decoded) and
 * reports what
 * happens as events carrying the guide's codes (ISDPRtcErrorCode).  When
 * the signaling connection is lost (leave reason 7) it joins again with the
 * same token for up to 30 s (RECONNECTING, then REJOINED or FAILED with
 * 200015) and publishes again.
 *
 * Threads: every irtc_engine_* call may come from any thread (the Java
 * side's); calls are queued and run on the engine thread, which also runs
 * the event callback.  irtc_engine_frames reads the sink under a mutex.
 * irtc_engine_free joins the thread; it must not be called from the event
 * callback.
 *
 * Media, one of two ways:
 *  - built in (the desktop build, IRTC_HAVE_AV: media_av.h): a VP8 or H.264
 *    test pattern and an Opus tone encoded with FFmpeg, and every received
 *    frame decoded into the sink's counts, size and audio level;
 *  - external (irtc_engine_set_external: the Android app's MediaCodec):
 *    the app hands encoded frames to irtc_engine_send_frame, gets the
 *    received ones through cb.on_frame and keyframe requests as
 *    IRTC_EV_KEYFRAME_REQUEST.
 * Built without FFmpeg and not external, it publishes the client core's
 * synthetic VP8-/Opus-shaped packets and counts what it receives.
 *
 * Does not: know JNI (irtc_jni.c does), capture or render.
 */
#ifndef IRTC_JNI_ENGINE_H
#define IRTC_JNI_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/types.h"

typedef struct irtc_engine irtc_engine_t;

/* What the engine reports; str and v[] as listed. */
typedef enum {
    IRTC_EV_CONN_STATE = 1,  /* v0 state (IRTC_CONN_*), v1 reason (a leave reason of docs/API.md, 0 none) */
    IRTC_EV_JOINED,          /* str channel, v0 ms since joinChannel */
    IRTC_EV_ERROR,           /* v0 guide error code (2000xx), str message or NULL; v1 1 when a join failed */
    IRTC_EV_PEER_JOINED,     /* str userId, v0 ms since joinChannel */
    IRTC_EV_PEER_LEFT,       /* str userId, v0 reason (docs/API.md "Leaving") */
    IRTC_EV_PUBLISHED,       /* str streamId, v0 width, v1 height, v2 has audio, v3 ms since joinChannel */
    IRTC_EV_FIRST_VIDEO,     /* str userId, v0 width, v1 height, v2 ms since the stream appeared */
    IRTC_EV_FIRST_AUDIO,     /* str userId, v0 ms since the stream appeared */
    IRTC_EV_PEER_MUTE,       /* str userId, v0 1 video / 0 audio, v1 1 muted / 0 unmuted */
    IRTC_EV_LEFT,            /* v0 reason (0 we left), v1 seconds in the room, v2..v7 as IRTC_EV_STATS */
    IRTC_EV_TOKEN_EXPIRING,  /* v0 expiry, UTC ms */
    IRTC_EV_STATS,           /* every 2 s: v0 seconds in the room, v1 tx bytes, v2 rx bytes, v3 tx packets,
                                v4 rx packets, v5 lost packets, v6 remote users, v7 jitter ms */
    IRTC_EV_REJOINED,        /* str channel, v0 ms since the connection was lost */
    IRTC_EV_KEYFRAME_REQUEST, /* external media: a receiver asked for a keyframe */
} irtc_event_type_t;

enum { IRTC_CONN_DISCONNECTED = 1, IRTC_CONN_CONNECTING, IRTC_CONN_CONNECTED, IRTC_CONN_RECONNECTING, IRTC_CONN_FAILED };

typedef struct {
    irtc_event_type_t type;
    const char *str;
    int64_t v[8];
} irtc_event_t;

typedef struct {
    /* On the engine thread, in order. */
    void (*on_event)(void *user, const irtc_event_t *ev);
    /* Last thing the engine thread does (JNI detaches it here). */
    void (*on_thread_exit)(void *user);
    /* External media: every whole received frame of user_id (f->data valid
     * during the call), on the engine thread; NULL to leave them. */
    void (*on_frame)(void *user, const char *user_id, const ic_frame_t *f);
} irtc_engine_callbacks_t;

typedef struct {
    const char *host; /* irtcd's HTTPS address, an IP literal */
    uint16_t port;
    const char *app_id, *channel_id, *user_id, *token;
    int role; /* 1 joiner, 0 publisher */
} irtc_join_t;

/* The in-memory frame sink of one remote user (its main stream). */
typedef struct {
    uint64_t video_frames, video_bytes, keyframes, audio_frames; /* whole frames received */
    uint16_t width, height;                                      /* of the last keyframe's header */
    /* Built-in media only (else 0): */
    uint64_t decoded_frames, audio_decoded, decode_errors;
    uint16_t decoded_width, decoded_height; /* of the last decoded picture */
    unsigned audio_level;                   /* 0..255, the last decoded 20 ms */
} irtc_frames_t;

/* NULL with err set when the loop or thread cannot be made. */
irtc_engine_t *irtc_engine_new(const irtc_engine_callbacks_t *cb, void *user, char *err, size_t errcap);
/* Leaves if in a room, stops and joins the thread, frees. */
void irtc_engine_free(irtc_engine_t *e);

/* 0, or a guide error code for arguments refused at once (200006/200007);
 * the outcome comes as IRTC_EV_JOINED or IRTC_EV_ERROR. */
int irtc_engine_join(irtc_engine_t *e, const irtc_join_t *j);
/* 0; IRTC_EV_LEFT(0) follows when in a room or reconnecting. */
int irtc_engine_leave(irtc_engine_t *e);
/* Local media: whether to send audio / video (before the join: what is
 * published; in the room: mute / unmute on the server). */
void irtc_engine_set_local(irtc_engine_t *e, bool video, bool enabled);
/* The built-in (or synthetic) video's size and frame rate (applies to the next publication). */
void irtc_engine_set_resolution(irtc_engine_t *e, unsigned width, unsigned height, unsigned fps);
/* Receive or stop receiving a kind from one remote user (user_id) or from
 * everyone, now and later (user_id NULL). */
void irtc_engine_set_remote(irtc_engine_t *e, const char *user_id, bool video, bool receive);
/* 0, 200006 (empty), 200012 (not in a room); a refusal comes as IRTC_EV_ERROR. */
int irtc_engine_renew(irtc_engine_t *e, const char *token);
/* External media (true) or built-in (false, the default); applies to the
 * next publication and the frames received after it. */
void irtc_engine_set_external(irtc_engine_t *e, bool external);
/* The next publication's video codec: H.264 (true) or VP8 (false, the
 * default).  External media then pushes H.264 access units (Annex B). */
void irtc_engine_set_h264(irtc_engine_t *e, bool h264);
/* External media: one encoded frame (a VP8 frame, an H.264 access unit, or an Opus packet, as
 * ic_client_send_frame) captured at pts_us; copied, sent from the engine
 * thread once published (dropped before).  0 or 200006 (empty, too large). */
int irtc_engine_send_frame(irtc_engine_t *e, bool video, uint64_t pts_us, const uint8_t *data, size_t len);
/* The sink of user_id: true when that user's main stream is or was received. */
bool irtc_engine_frames(irtc_engine_t *e, const char *user_id, irtc_frames_t *out);

#endif
