/*
 * types.h — the plain data of the client core's API (client.h) that its
 * parts (source, transport) share: what a publication sends, the
 * receive and send counters, a received frame.  No functions; any thread.
 */
#ifndef IRTC_CLIENT_TYPES_H
#define IRTC_CLIENT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IC_MAX_FRAME (4u << 20) /* the largest encoded video frame sent or received */

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
    uint16_t width, height;        /* the largest encoding's size in its keyframe headers; 0: 1280x720 */
    const char *rtpdump_video;     /* NULL: synthetic */
    bool encoded_frames;           /* no generator: the owner hands its encoders' output to
                                      ic_client_send_frame (one VP8 or H.264 encoding, Opus) */
    bool h264;                     /* with encoded_frames: the video is H.264 (Annex B access units) */
    /* Synthetic video leaves paced, as libwebrtc's paced sender sends a
     * browser's: 2.5x its bitrate, released every 5 ms.  unpaced: each frame
     * leaves in one burst as it is made (irtc-loadgen --burst-publisher). */
    bool unpaced;
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

/* One received frame, reassembled from its RTP packets without decoding:
 * data is what a decoder takes (a VP8 frame without its RTP descriptors, an
 * H.264 access unit with start codes, an Opus packet), valid during the
 * callback only. */
typedef struct {
    const char *stream_id; /* the subscription's stream */
    bool video;
    bool h264;              /* video: an H.264 access unit in Annex B form (start codes), else VP8 */
    bool keyframe;          /* video: VP8 keyframe, or H.264 IDR (or SPS) */
    uint16_t width, height; /* video keyframes: from the VP8 frame header or the SPS; else 0 */
    uint32_t rtp_ts;
    size_t bytes; /* codec payload bytes (VP8 descriptors left out) */
    const uint8_t *data; /* bytes of them */
} ic_frame_t;

#endif
