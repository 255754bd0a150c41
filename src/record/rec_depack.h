/*
 * rec_depack.h — from plaintext RTP packets to whole encoded frames: a small
 * reorder buffer (NACK retransmissions arrive late and out of order), then
 * the payload formats of VP8 (RFC 7741), VP9 (draft-ietf-payload-vp9-16),
 * H.264 (RFC 6184, packetization modes 0 and 1) and Opus (RFC 7587), and
 * frame assembly by timestamp and marker bit.
 *
 * Thread: one recorder thread owns a rec_depack_t.  Buffers are allocated by
 * rec_depack_new; pushing a packet copies it into a preallocated slot and
 * assembling a frame appends to a buffer that only grows for a frame larger
 * than any before, so the steady state allocates nothing.
 *
 * Loss: a sequence gap that the reorder buffer gave up on drops the frame it
 * fell into, or the delta frame right after it (the hole may have held a
 * whole frame it refers to).  So does an H.264 frame with an unfinished FU-A
 * or without its first fragment, and a VP8 frame without its first packet
 * or, ended without its marker bit, shorter than its first partition: a
 * recording never holds a frame a decoder would report as broken.  Video
 * then waits for the next keyframe, and
 * rec_depack_want_keyframe says so once per gap so the caller can ask the
 * publisher for one.  An Opus packet is a frame, so audio just loses it.
 *
 * Does not: decode, time frames on a clock (rtp_ts and arrival_us are handed
 * on), or talk to rings (the caller copies packets in).
 */
#ifndef IRTC_REC_DEPACK_H
#define IRTC_REC_DEPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rec_depack rec_depack_t;

typedef struct {
    const uint8_t *data; /* valid until the next rec_depack_* call */
    size_t len;
    uint32_t rtp_ts;
    uint32_t ssrc;
    uint64_t arrival_us;    /* arrival of the frame's first packet */
    bool keyframe;          /* always true for audio */
    bool discont;           /* first frame after a new SSRC or a sequence jump: re-anchor timing */
    uint16_t width, height; /* from a VP8 keyframe header or a VP9 scalability structure; 0 = unknown */
} rec_frame_t;

typedef struct {
    uint64_t packets;        /* accepted into the reorder buffer */
    uint64_t lost;           /* sequence numbers given up on */
    uint64_t late;           /* arrived after their slot was given up on, or duplicates */
    uint64_t malformed;      /* payloads that do not parse, unsupported packetization */
    uint64_t frames;         /* frames handed out */
    uint64_t frames_dropped; /* partial frames and frames skipped while waiting for a keyframe */
    uint64_t resets;         /* SSRC changes and sequence jumps */
} rec_depack_stats_t;

/* codec is a codec_id_t (media/codecs/codec.h).  wait_us is how long a missing
 * packet is waited for, counted on packet arrival times (0 = 100 ms video,
 * 40 ms audio).  NULL for a codec we cannot depacketize. */
rec_depack_t *rec_depack_new(int codec, uint64_t wait_us);
void rec_depack_free(rec_depack_t *d);

/* Copies one RTP packet in.  Returns 0, or IRTC_EINVAL for a packet that is
 * not RTP (counted as malformed). */
int rec_depack_push(rec_depack_t *d, const uint8_t *pkt, size_t len, uint64_t arrival_us);

/* The next complete frame: 1 and *out filled, or 0 when none is ready.  A
 * missing packet is given up on once a packet arrived wait_us after the
 * oldest buffered one, or now_us is past that (pass UINT64_MAX to flush
 * everything at the end of a stream; then the last frame is handed out even
 * without its marker bit). */
int rec_depack_next(rec_depack_t *d, uint64_t now_us, rec_frame_t *out);

/* True once after video lost data and is waiting for a keyframe. */
bool rec_depack_want_keyframe(rec_depack_t *d);
/* True while video frames are skipped until a keyframe. */
bool rec_depack_waiting_keyframe(const rec_depack_t *d);

const rec_depack_stats_t *rec_depack_stats(const rec_depack_t *d);

/* H.264 only: the last SPS and PPS seen, Annex-B (start codes included);
 * 0 length until both were seen. */
size_t rec_depack_h264_params(const rec_depack_t *d, const uint8_t **out);

#endif
