/*
 * client.h — the irtc C client core (libirtcclient.a): joins an irtcd room
 * over the signaling protocol (docs/API.md, "Signaling protocol", v1),
 * publishes synthetic or recorded media, or the owner's encoded frames
 * (ic_client_send_frame: VP8, Opus), and subscribes to other streams,
 * with its own ICE (controlling), DTLS, SRTP and RTCP.  It never encodes or decodes:
 * a receiver counts packets, bytes, sequence gaps and arrival jitter, and
 * answers with the RTCP a real receiver sends (RR, NACK, PLI, transport-cc
 * feedback), so the server works as it would for a browser.
 *
 * It is the engine of irtc-loadgen (thousands of clients on one loop) and,
 * later, of the Android SDK.  The API is this header only; docs/CLIENT.md
 * describes it with an example.
 *
 * Threads: a loop and everything created on it belong to the thread that
 * runs ic_loop_run; callbacks run there, from inside ic_loop_run.  Loops on
 * different threads share nothing.  No globals.
 *
 * A received frame can be handed whole to on_frame (VP8 frames cut at the
 * RTP marker, with keyframe and size from the VP8 frame header and the
 * frame's bytes for a decoder; one Opus packet per audio frame): the
 * Android engine's decoders and frame sink.
 *
 * Does not: decode or render media, trickle ICE, use TURN, or verify the
 * server's TLS certificate (it targets an appliance with a self-signed one;
 * DTLS fingerprints are verified).
 */
#ifndef IRTC_CLIENT_H
#define IRTC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/loop.h"
#include "client/types.h"

typedef struct ic_client ic_client_t;

/* ---- a client: one user in one room -------------------------------------- */

typedef struct {
    const char *host; /* irtcd's HTTPS address (an IP literal) */
    uint16_t port;
    const char *media_bind_ip;  /* local address of the media sockets; NULL: any */
    unsigned srtp_verify_every; /* unprotect 1 in N received RTP packets (0 or 1: all); the rest are counted
                                   from their clear RTP header, for load tests where the generator must be
                                   much cheaper than the server */
    bool signal_v2;             /* reserved for protocol v2 (one send + one receive transport); false today */
} ic_config_t;

/* A stream in the room, as the server describes it (docs/API.md STREAM). */
typedef struct {
    char stream_id[24];
    char user_id[65];
    bool auxiliary;
    bool has_audio, has_video;
    char video_codec[8];
} ic_stream_t;

typedef struct {
    /* join answered: err 0, or the server's errorCode with its message. */
    void (*on_joined)(void *user, ic_client_t *c, int err, const char *msg);
    /* A stream published by someone else: at join (from the join response) and later. */
    void (*on_stream_added)(void *user, ic_client_t *c, const ic_stream_t *s);
    void (*on_stream_removed)(void *user, ic_client_t *c, const ic_stream_t *s);
    /* Our publication: err != 0 when refused or its transport failed; err 0
     * once ICE + DTLS are up (stream_id is the server's id). */
    void (*on_published)(void *user, ic_client_t *c, const char *stream_id, int err, const char *msg);
    /* A subscription: the same, err 0 once its transport is up. */
    void (*on_subscribed)(void *user, ic_client_t *c, const char *stream_id, int err, const char *msg);
    /* The first RTP packet of a subscription arrived. */
    void (*on_first_media)(void *user, ic_client_t *c, const char *stream_id);
    /* We are out of the room: reason as in docs/API.md (0 we left, 5
     * kicked, 6 token expired, 7 connection lost, 10 room dissolved). */
    void (*on_left)(void *user, ic_client_t *c, int reason, const char *msg);
    /* Another user is in the room (joined = true: already there at our join,
     * or peer-join) or left it (reason as in on_left). */
    void (*on_peer)(void *user, ic_client_t *c, const char *user_id, bool joined, int reason);
    /* Another user muted or unmuted its audio or video (mute-* events). */
    void (*on_peer_mute)(void *user, ic_client_t *c, const char *user_id, bool video, bool muted);
    /* signature-expired: our token expires at expires_at_ms (UTC); answer with ic_client_renew. */
    void (*on_token_expiring)(void *user, ic_client_t *c, int64_t expires_at_ms);
    /* A whole frame of a subscription; only when every packet is unprotected
     * (srtp_verify_every 0 or 1).  A frame with a packet missing is dropped. */
    void (*on_frame)(void *user, ic_client_t *c, const ic_frame_t *f);
    /* A renew answered: err 0, or the server's errorCode. */
    void (*on_renewed)(void *user, ic_client_t *c, int err, const char *msg);
    /* A receiver of our encoded_frames publication asked for a keyframe
     * (PLI or FIR): the owner's encoder should make its next frame one. */
    void (*on_keyframe_request)(void *user, ic_client_t *c);
} ic_callbacks_t;

ic_client_t *ic_client_new(ic_loop_t *l, const ic_config_t *cfg, const ic_callbacks_t *cb, void *user);
/* Opens the signaling socket and joins; the answer comes through on_joined.
 * role 1 joiner, 0 publisher (must match the token).  IRTC_OK or
 * IRTC_EINVAL (arguments) / IRTC_ECONFLICT (already joining or joined). */
int ic_client_join(ic_client_t *c, const char *app_id, const char *channel_id, const char *user_id,
                   const char *signature, int role);
/* Publishes a stream (one PeerConnection in protocol v1).  The outcome
 * comes through on_published. */
int ic_client_publish(ic_client_t *c, const ic_publish_opts_t *o);
/* Subscribes to a stream of the room; the outcome through on_subscribed. */
int ic_client_subscribe(ic_client_t *c, const char *stream_id, bool audio, bool video);
/* One frame of the owner's encoder for its encoded_frames publication (see
 * ic_source_send_frame): a whole VP8 frame, an H.264 access unit (Annex B;
 * with opts.h264) or one Opus packet captured at
 * pts_us.  IRTC_ENOTFOUND without such a publication, IRTC_ECONFLICT before
 * its transport is up (the frame is dropped), IRTC_EINVAL for a bad frame. */
int ic_client_send_frame(ic_client_t *c, bool video, uint64_t pts_us, const uint8_t *data, size_t len);
int ic_client_unsubscribe(ic_client_t *c, const char *stream_id);
/* mute / unmute our main audio (video false) or video; the others get mute-*. */
int ic_client_mute(ic_client_t *c, bool video, bool muted);
/* Asks the publishers of our video subscriptions for a keyframe now (PLI;
 * at most one per stream per second), as a decoder that lost its picture does. */
void ic_client_request_keyframe(ic_client_t *c);
/* Replaces the session's join token (renew); the answer comes to on_renewed. */
int ic_client_renew(ic_client_t *c, const char *signature);
/* Sends leave, closes every transport and the socket; on_left(0) follows. */
void ic_client_leave(ic_client_t *c);
/* Frees at once (no callbacks after); safe from inside a callback. */
void ic_client_free(ic_client_t *c);

void ic_client_recv_stats(const ic_client_t *c, ic_recv_stats_t *out);
void ic_client_send_stats(const ic_client_t *c, ic_send_stats_t *out);
/* Joined and not yet left. */
bool ic_client_in_room(const ic_client_t *c);

#endif
