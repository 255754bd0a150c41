/*
 * rec_mux.h — the fragmented MP4 writer of one recording: H.264 video (Annex-B
 * access units, SPS/PPS in band on keyframes) and one audio stream (AAC or
 * Opus) into an fd the caller opened, with libavformat's mov muxer in
 * fragmented mode (empty moov, a fragment at every keyframe and at least
 * every second) so a crash or a full disk leaves a file that plays up to its
 * last complete fragment.
 *
 * Thread: one recorder thread per writer.  Writes go straight to the fd with
 * write(2) through a custom AVIOContext, so the first failing write is
 * caught with its errno (ENOSPC, EROFS, EIO …) and turned into a reason.
 *
 * Does not: choose or rename files (rec_path), encode, or order packets
 * across streams (the fragmented muxer keeps each track's samples apart).
 */
#ifndef IRTC_REC_MUX_H
#define IRTC_REC_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct AVCodecContext;
struct AVPacket;

typedef struct rec_mux rec_mux_t;

typedef struct {
    /* video: Annex-B SPS+PPS (start codes included) as extradata; 0 = no video */
    const uint8_t *video_extradata;
    size_t video_extradata_len;
    int width, height;
    /* audio: the opened encoder whose packets rec_mux_audio gets; NULL = none */
    const struct AVCodecContext *audio_enc;
} rec_mux_params_t;

/* Writes the header (ftyp + empty moov) to fd; takes ownership of fd (closed
 * by rec_mux_free).  IRTC_EIO with a reason in why. */
int rec_mux_open(int fd, const rec_mux_params_t *p, rec_mux_t **out, char *why, size_t whycap);
/* One access unit (Annex-B); pts in µs from the start of the file, strictly
 * increasing (a non-increasing one is nudged forward).  It is written when
 * the next one comes (or at rec_mux_finish), which gives it its duration. */
int rec_mux_video(rec_mux_t *m, const uint8_t *au, size_t len, int64_t pts_us, bool keyframe);
/* One encoded audio packet, timestamps in the encoder's time base. */
int rec_mux_audio(rec_mux_t *m, struct AVPacket *pkt);
/* Flushes the last fragment and the trailer, fsyncs.  IRTC_EIO with why. */
int rec_mux_finish(rec_mux_t *m, char *why, size_t whycap);
/* Closes the fd; without rec_mux_finish the file ends at its last fragment.
 * After a failed write the file is first cut back to the last whole fragment. */
void rec_mux_free(rec_mux_t *m);

uint64_t rec_mux_bytes(const rec_mux_t *m);
int64_t rec_mux_duration_ms(const rec_mux_t *m);
/* The first write error as text, or NULL. */
const char *rec_mux_error(const rec_mux_t *m);

#endif
