/*
 * client.h — the irtc C client core (libirtcclient.a): joins an irtcd room
 * over the signaling protocol (docs/API.md, "Signaling protocol", v1),
 * publishes synthetic or recorded media and subscribes to other streams,
 * with its own ICE (controlling), DTLS, SRTP and RTCP.  It never decodes:
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
 * Does not: decode or render media, trickle ICE, use TURN, or verify the
 * server's TLS certificate (it targets an appliance with a self-signed one;
 * DTLS fingerprints are verified).
 */
#ifndef IRTC_CLIENT_H
#define IRTC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ic_loop ic_loop_t;
typedef struct ic_client ic_client_t;

/* ---- the loop ------------------------------------------------------------ */

/* A loop with its own DTLS certificate (ECDSA P-256, made now, ~1 ms).
 * srtp_profiles: OpenSSL's list for DTLS-SRTP, NULL for
 * "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80".  NULL with err set. */
ic_loop_t *ic_loop_new(const char *srtp_profiles, char *err, size_t errcap);
/* Frees the loop; free its clients first. */
void ic_loop_free(ic_loop_t *l);
/* One turn: waits at most max_wait_ms for sockets, then runs what is due
 * (events, ticks, deferred frees).  Returns IRTC_OK or IRTC_EIO. */
int ic_loop_run(ic_loop_t *l, int max_wait_ms);
/* The loop's clock: CLOCK_MONOTONIC µs, read once per turn. */
uint64_t ic_loop_now_us(const ic_loop_t *l);

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
} ic_callbacks_t;

/* Media a publication sends.  Synthetic video has VP8's payload shape
 * (descriptor, keyframes every keyframe_interval_ms about 6x a delta frame)
 * at video_bitrate_bps and fps; synthetic audio is 20 ms Opus frames
 * (payload_len bytes).  With simulcast >= 2 the video goes out as that many
 * encodings (rid "q", "h", "f": 1/16, 1/4 and all of the bitrate) with the
 * rid header extension. rtpdump_video replays a file in rtpdump format
 * (rtptools' "#!rtpplay1.0"): its packets' payloads keep their timing, with
 * our SSRC and sequence numbers. */
typedef struct {
    bool audio, video;
    bool auxiliary;
    uint32_t video_bitrate_bps;    /* 0: 2,500,000 */
    unsigned fps;                  /* 0: 30 */
    unsigned keyframe_interval_ms; /* 0: 3000 */
    unsigned audio_payload_len;    /* 0: 80 bytes (32 kbps) */
    unsigned simulcast;            /* 0 or 1: one encoding; 2..3 */
    const char *rtpdump_video;     /* NULL: synthetic */
} ic_publish_opts_t;

/* What a client received, summed over its subscriptions. */
typedef struct {
    uint64_t packets, bytes;
    uint64_t lost;        /* sequence numbers never received (after NACK recovery) */
    uint64_t recovered;   /* gaps filled later (retransmissions, reordering) */
    uint64_t srtp_failed; /* packets refused by SRTP: forged, corrupted, or replayed (a retransmission of a
                             packet that had arrived after all counts here) */
    double jitter_ms;     /* RFC 3550 interarrival jitter, the largest over the streams */
    uint64_t nacks_sent, plis_sent, twcc_sent;
    uint32_t srtp_gcm, srtp_cm; /* connected transports by SRTP profile */
} ic_recv_stats_t;

typedef struct {
    uint64_t packets, bytes;
    uint64_t nacks_received, plis_received, retransmitted;
} ic_send_stats_t;

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
int ic_client_unsubscribe(ic_client_t *c, const char *stream_id);
/* Sends leave, closes every transport and the socket; on_left(0) follows. */
void ic_client_leave(ic_client_t *c);
/* Frees at once (no callbacks after); safe from inside a callback. */
void ic_client_free(ic_client_t *c);

void ic_client_recv_stats(const ic_client_t *c, ic_recv_stats_t *out);
void ic_client_send_stats(const ic_client_t *c, ic_send_stats_t *out);
/* Joined and not yet left. */
bool ic_client_in_room(const ic_client_t *c);

#endif
