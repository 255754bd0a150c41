/*
 * sfu.h — the seam between the room registry / signaling (control thread)
 * and the media plane (worker threads).  Control thread only: every function
 * here is called on the control thread and every callback is delivered there.
 *
 * Model (documented in docs/API.md): every published stream is one
 * PeerConnection offered by the client (sendonly), every subscription is one
 * PeerConnection offered by the client (recvonly).  The server is always the
 * answerer, ICE-lite and DTLS server.  A stream lives on the media worker of
 * its room (sfu_worker_for_channel), so all its subscribers do too.
 *
 * Ids are opaque 64-bit numbers chosen by the caller, unique per process.
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
    SFU_EVENT_CONNECTED = 1, /* ICE + DTLS up: media can flow */
    SFU_EVENT_FAILED,        /* ICE consent lost (30 s) or DTLS failure: the peer's network is gone */
    SFU_EVENT_KEYFRAME_SENT, /* reserved */
} sfu_event_type_t;

typedef struct {
    sfu_event_type_t type;
    uint64_t transport_id; /* the stream id (publish) or subscription id */
    bool is_publisher;
    const char *reason; /* static text for FAILED */
} sfu_event_t;

typedef void (*sfu_event_fn)(void *ctx, const sfu_event_t *ev);

/* What a published stream carries, learned from the offer. */
typedef struct {
    bool has_audio;
    bool has_video;
    char video_codec[16]; /* "VP8", "H264", "VP9" or "" */
    int simulcast_layers; /* 0 or 1 = none */
} sfu_stream_info_t;

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
 * Publish: offer is the client's SDP (sendonly audio and/or video).  On
 * success *answer_out is a malloc'd SDP answer and info describes the stream.
 * worker is the index of the room's media worker.  Returns IRTC_OK, or
 * IRTC_EINVAL with *why (unparseable SDP, no usable codec, no BUNDLE/rtcp-mux).
 */
int sfu_publish(sfu_t *sfu, unsigned worker, uint64_t stream_id, const char *offer, size_t len, char **answer_out,
                sfu_stream_info_t *info, const char **why);
/* Stops forwarding a stream and closes its transport and every subscription to it. */
void sfu_unpublish(sfu_t *sfu, uint64_t stream_id);

/*
 * Subscribe: offer is the subscriber's recvonly SDP; audio/video select what
 * of stream_id to forward (a kind the offer lacks is simply not sent).
 * Returns IRTC_OK with *answer_out, IRTC_ENOTFOUND (no such stream) or
 * IRTC_EINVAL with *why.
 */
int sfu_subscribe(sfu_t *sfu, uint64_t sub_id, uint64_t stream_id, bool audio, bool video, const char *offer,
                  size_t len, char **answer_out, const char **why);
void sfu_unsubscribe(sfu_t *sfu, uint64_t sub_id);

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
