/*
 * source.h — what a client publication sends, without an encoder:
 * synthetic VP8-shaped video (payload descriptor with picture id, a real
 * keyframe header, frame sizes from the bitrate, frame rate and keyframe
 * interval, one to three simulcast encodings), Opus-shaped audio (one 20 ms
 * frame per packet, a valid CELT silence frame padded to the size asked),
 * or the RTP payloads of an rtpdump file replayed with their timing; or,
 * for an owner with its own encoders (encoded_frames), their frames cut
 * into packets: VP8 behind an RFC 7741 descriptor with a 15-bit picture id,
 * Opus one packet per frame.
 *
 * Pure generator, no I/O after loading: the owner asks for what is due at
 * a time and gets packets through a callback.  Any thread (one owner).
 * Does not: encode, packetize VP9, or send H.264 in packetization mode 0.
 */
#ifndef IRTC_CLIENT_SOURCE_H
#define IRTC_CLIENT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/types.h"

#define IC_MAX_PAYLOAD 1100 /* per packet, as browsers keep RTP under ~1200 bytes */

typedef struct ic_source ic_source_t;

/* One packet for encoding `layer` (0..n_layers-1, the largest last) or for
 * audio (layer -1).  ts is in the stream's clock (90 kHz video, 48 kHz). */
typedef void (*ic_emit_fn)(void *user, int layer, uint32_t ts, bool marker, const uint8_t *payload, size_t len);

/* NULL with *why when the rtpdump file cannot be read or has no RTP. */
ic_source_t *ic_source_new(const ic_publish_opts_t *o, uint64_t now_us, const char **why);
void ic_source_free(ic_source_t *s);
unsigned ic_source_layers(const ic_source_t *s); /* video encodings (0 when no video) */
/* Emits every packet due at or before now_us. */
void ic_source_run(ic_source_t *s, uint64_t now_us, ic_emit_fn emit, void *user);
/* The next video frame of every encoding is a keyframe (a PLI arrived). */
void ic_source_keyframe(ic_source_t *s);

/* One frame of the owner's encoder (a publication with encoded_frames):
 * a whole VP8 frame, an H.264 access unit in Annex B form (opts.h264: cut
 * per RFC 6184 mode 1 into STAP-A, single NAL unit and FU-A packets) or one
 * Opus packet, captured at pts_us (any monotonic clock; it sets the RTP
 * timestamp).  IRTC_EINVAL when the kind is not published, the frame is
 * empty, an Opus packet exceeds IC_MAX_PAYLOAD, a video frame IC_MAX_FRAME,
 * or an H.264 access unit has no start code or over 64 NAL units. */
int ic_source_send_frame(ic_source_t *s, bool video, uint64_t pts_us, const uint8_t *data, size_t len, ic_emit_fn emit,
                         void *user);

/* For tests: whether a VP8 payload written by this module starts a keyframe. */
bool ic_vp8_is_keyframe(const uint8_t *payload, size_t len);

#endif
