/*
 * sfu.h — the seam between the room registry / signaling (control thread)
 * and the media plane (worker threads).  Control thread only: every function
 * here is called on the control thread and every callback is delivered there.
 *
 * Model (documented in docs/API.md, "Signaling protocol"): a connection is
 * one client PeerConnection; it carries published streams (the client sends)
 * and subscriptions (the server sends), each bound to its m-lines by mid.
 * The client always offers and the server answers, ICE-lite and DTLS
 * server; a renegotiation adds m-lines, stops them, or restarts ICE.
 * Protocol v1 gives every stream and every subscription a connection of its
 * own; protocol v2 one sending and one receiving connection per client.  A
 * stream lives on the media worker of its room (sfu_worker_for_channel), so
 * all its subscribers do too.
 *
 * Ids (connections, streams, subscriptions) are opaque 64-bit numbers chosen
 * by the caller, unique per process.
 */
#ifndef IRTC_SFU_H
#define IRTC_SFU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/config.h"
#include "core/hash.h"
#include "media/codecs/codec.h"

struct worker_pool;

typedef struct sfu sfu_t;

typedef enum {
    SFU_EVENT_STREAM_READY = 1, /* id: a stream's tracks are installed and its connection is up */
    SFU_EVENT_SUB_READY,        /* id: a subscription's tracks are installed and its connection is up */
    SFU_EVENT_CONN_FAILED,      /* id: a connection lost (no ICE/DTLS in time, 30 s silent, DTLS failure) */
    SFU_EVENT_SUB_LAYER,        /* id: the video encoding a subscription now gets (layer, layers; -1 = paused) */
    SFU_EVENT_CONN_STATS,       /* id: a connection's rtt_ms, loss_permille, avail_kbps (every 2 s) */
    SFU_EVENT_STREAM_AUDIO,     /* id: a stream's audio level (-dBov) and whether it is speech-loud */
    SFU_EVENT_DATA,             /* id: a connection's data channel message (data, data_len, binary, reliable) */
} sfu_event_type_t;

typedef struct {
    sfu_event_type_t type;
    uint64_t id;                 /* stream, subscription or connection */
    const char *reason;          /* CONN_FAILED: static text */
    int layer, layers;           /* SUB_LAYER */
    uint32_t rtt_ms, avail_kbps; /* CONN_STATS; 0 = not known */
    uint16_t loss_permille;      /* CONN_STATS */
    uint8_t level;               /* STREAM_AUDIO */
    bool active;                 /* STREAM_AUDIO */
    const uint8_t *data;         /* DATA: valid during the callback */
    size_t data_len;             /* DATA */
    bool binary, reliable;       /* DATA: string or binary; from a reliable ordered channel */
} sfu_event_t;

typedef void (*sfu_event_fn)(void *ctx, const sfu_event_t *ev);

/* Which new m-lines of an offer a request binds (the mids of the
 * transceivers the client added); NULL or "" for a kind: the first m-line
 * of that kind that nothing is bound to. */
typedef struct {
    const char *audio, *video;
} sfu_mids_t;

/* What a published stream carries, learned from the offer. */
typedef struct {
    bool has_audio;
    bool has_video;
    char video_codec[16]; /* "VP8", "H264", "VP9" or "" */
    int simulcast_layers; /* 0 or 1 = none */
} sfu_stream_info_t;

/* The priority of a subscription's video when bandwidth is short. */
enum { SFU_PRIORITY_AUXILIARY = 1, SFU_PRIORITY_MAIN = 2 };

/* The worker index that hosts (or will host) a channel's room: a stable hash
 * of app and channel, so getMediaEndpoint, join tokens and the room registry
 * agree without shared state.  Pure; any thread. */
static inline unsigned sfu_worker_for_channel(const char *app_id, const char *channel_id, unsigned worker_count)
{
    /* app, its NUL, channel: "ab"+"c" and "a"+"bc" differ */
    uint64_t h = hash_fnv1a(hash_fnv1a(HASH_FNV1A_INIT, app_id, strlen(app_id) + 1), channel_id, strlen(channel_id));
    return worker_count ? (unsigned)(h % worker_count) : 0;
}

/* Creates the SFU over the running worker pool; fn receives events. */
/* fingerprint: the DTLS certificate's SHA-256 (dtls_cert_fingerprint). */
sfu_t *sfu_new(const cfg_t *cfg, struct worker_pool *workers, const char *fingerprint, sfu_event_fn fn, void *ctx);
void sfu_free(sfu_t *sfu);

/*
 * Publish: offer is the client's SDP for connection conn_id (created on the
 * worker at its first offer); its new send m-lines (mids) become stream_id's
 * audio and video, every other m-line is answered as the connection had it.
 * On success *answer_out is a malloc'd SDP answer and info describes the
 * stream.  IRTC_OK, or IRTC_EINVAL with *why (unparseable SDP, no usable
 * codec, no BUNDLE/rtcp-mux, a named mid not in the offer), IRTC_ECONFLICT
 * (stream id in use, a connection on another worker).
 */
int sfu_publish(sfu_t *sfu, uint64_t conn_id, unsigned worker, uint64_t stream_id, const char *offer, size_t len,
                const sfu_mids_t *mids, char **answer_out, sfu_stream_info_t *info, const char **why);
/* Stops the stream: its tracks and every subscription to them end (their
 * m-lines are answered with port 0 from now on).  The connection stays. */
void sfu_unpublish(sfu_t *sfu, uint64_t stream_id);

/*
 * Subscribe: offer is conn_id's offer with new recvonly m-lines (mids) for
 * stream_id's audio and/or video; max_layer -1 for the highest the link
 * allows, else the preferred highest encoding; priority SFU_PRIORITY_*.
 * IRTC_OK with *answer_out, IRTC_ENOTFOUND (no such stream) or IRTC_EINVAL
 * with *why.
 */
int sfu_subscribe(sfu_t *sfu, uint64_t conn_id, uint64_t sub_id, uint64_t stream_id, bool audio, bool video,
                  int max_layer, int priority, const char *offer, size_t len, const sfu_mids_t *mids, char **answer_out,
                  const char **why);
void sfu_unsubscribe(sfu_t *sfu, uint64_t sub_id);
/* The preferred highest encoding of a subscription's video (-1: the highest). */
void sfu_set_layer(sfu_t *sfu, uint64_t sub_id, int max_layer);

/* Answers an offer of an existing connection that binds nothing new (ICE
 * restart, stopped m-lines).  IRTC_ENOTFOUND (no such connection) or
 * IRTC_EINVAL with *why. */
int sfu_negotiate(sfu_t *sfu, uint64_t conn_id, const char *offer, size_t len, char **answer_out, const char **why);
/* Closes a connection and whatever it still carries. */
void sfu_close_conn(sfu_t *sfu, uint64_t conn_id);
/* Data channels (protocol v2): whether an answer accepted the connection's
 * m=application, and one message to the client's channels on it (reliable:
 * its reliable ordered channel, else its unreliable one; copied; dropped
 * when the worker's relay backlog is full or the client's buffer is). */
bool sfu_conn_has_data(const sfu_t *sfu, uint64_t conn_id);
void sfu_send_data(sfu_t *sfu, uint64_t conn_id, bool reliable, bool binary, const uint8_t *data, size_t len);
/* True when no live stream or subscription is bound to the connection. */
bool sfu_conn_empty(const sfu_t *sfu, uint64_t conn_id);

/* Mute pauses forwarding of that kind (the publisher keeps sending or not). */
void sfu_set_muted(sfu_t *sfu, uint64_t stream_id, bool audio, bool muted);
/* Asks the publisher of stream_id for a keyframe (PLI, rate-limited to 1/s). */
void sfu_request_keyframe(sfu_t *sfu, uint64_t stream_id);

struct spsc_ring;
/*
 * Recording taps: a copy of every plaintext RTP packet (RTX unwrapped) of
 * stream_id's audio or video track goes into ring (core/spsc_ring.h),
 * starting with a keyframe request; *params says what they are.  The SFU
 * takes its own reference.  IRTC_OK, or IRTC_ENOTFOUND when the stream has
 * no such track.
 */
int sfu_tap_add(sfu_t *sfu, uint64_t stream_id, bool audio, struct spsc_ring *ring, codec_params_t *params);
void sfu_tap_del(sfu_t *sfu, uint64_t stream_id, struct spsc_ring *ring);

#endif
