/*
 * rec_av.h — the libavcodec/libswscale pieces a recording is built from:
 * video decoders (VP8, VP9, H.264), the libx264 encoder used for transcoding
 * and the composite, aspect-preserving scaling into a rectangle, JPEG
 * snapshots, Opus decoding and the 48 kHz audio mixer with its AAC or Opus
 * encoder.
 *
 * Thread: everything here belongs to one recorder thread; nothing is shared.
 * Codec contexts are single-threaded (thread_count 1) so a recorder thread's
 * CPU is what its sessions cost, and the pool size bounds the total.
 *
 * Does not: know about RTP, sessions, files or clocks: timestamps go in and
 * come out as given (µs for video, 48 kHz samples for audio).
 */
#ifndef IRTC_REC_AV_H
#define IRTC_REC_AV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct AVFrame;
struct AVPacket;
struct AVCodecContext;
struct SwsContext;

#define REC_AUDIO_RATE 48000

/* ---- video decoding ---- */
typedef struct rec_vdec rec_vdec_t;
/* codec is CODEC_VP8/VP9/H264; NULL if libavcodec lacks the decoder. */
rec_vdec_t *rec_vdec_new(int codec);
void rec_vdec_free(rec_vdec_t *d);
/* Decodes one frame; returns the newest decoded picture (owned by d, valid
 * until the next call; its pts is pts_us) or NULL (none yet, or an error,
 * counted in *errors when given). */
struct AVFrame *rec_vdec_decode(rec_vdec_t *d, const uint8_t *data, size_t len, int64_t pts_us);
uint64_t rec_vdec_errors(const rec_vdec_t *d);

/* ---- H.264 encoding (libx264) ---- */
typedef struct rec_venc rec_venc_t;
/* width/height even; fps a rate hint and the keyframe interval (2 s). */
rec_venc_t *rec_venc_new(int width, int height, int fps, int bitrate_kbps, char *why, size_t whycap);
void rec_venc_free(rec_venc_t *e);
/* Encodes frame (YUV420P, the encoder's size) at pts_us, as a keyframe when
 * force_key, or flushes with NULL; sink gets each Annex-B access unit
 * (SPS/PPS in band on keyframes). */
typedef int (*rec_au_sink)(void *ud, const uint8_t *au, size_t len, int64_t pts_us, bool keyframe);
int rec_venc_encode(rec_venc_t *e, const struct AVFrame *frame, int64_t pts_us, bool force_key, rec_au_sink sink,
                    void *ud);
uint64_t rec_venc_frames(const rec_venc_t *e);

/* ---- pictures ---- */
/* A YUV420P frame of w x h, black. */
struct AVFrame *rec_frame_new_black(int width, int height);
void rec_frame_fill_black(struct AVFrame *f, int x, int y, int w, int h);
/* Scales src into the w x h rectangle at (x, y) of dst, keeping the aspect
 * ratio (black bars); *cache is reused while sizes do not change. */
void rec_blit(struct SwsContext **cache, struct AVFrame *dst, int x, int y, int w, int h, const struct AVFrame *src);

/* Annex-B SPS and PPS found in au (start codes kept), into out; 0 if absent. */
size_t rec_h264_extract_params(const uint8_t *au, size_t len, uint8_t *out, size_t cap);
/* Width and height from the SPS in an Annex-B access unit (libavcodec's parser). */
bool rec_h264_dimensions(const uint8_t *au, size_t len, int *width, int *height);

/* JPEG of frame at its own size (quality ~ qscale 3); *out malloc'd. */
int rec_jpeg_encode(const struct AVFrame *frame, uint8_t **out, size_t *len);

/* ---- audio ---- */
typedef struct rec_adec rec_adec_t;
rec_adec_t *rec_adec_new(void); /* Opus, 48 kHz stereo out */
void rec_adec_free(rec_adec_t *d);
/* Decodes one Opus packet into interleaved stereo float samples, owned by d
 * and valid until the next call; returns the sample count (0 on error). */
int rec_adec_decode(rec_adec_t *d, const uint8_t *data, size_t len, const float **pcm);

typedef enum { REC_AUDIO_AAC = 0, REC_AUDIO_OPUS = 1 } rec_audio_codec_t;
typedef struct rec_mixer rec_mixer_t;
typedef int (*rec_apkt_sink)(void *ud, struct AVPacket *pkt);
rec_mixer_t *rec_mixer_new(rec_audio_codec_t codec, char *why, size_t whycap);
void rec_mixer_free(rec_mixer_t *m);
const struct AVCodecContext *rec_mixer_encoder(const rec_mixer_t *m);
/* Adds n stereo samples at sample position pos (48 kHz from the start of the
 * file).  Samples before what was already encoded, or more than 4 s ahead,
 * are dropped and counted. */
void rec_mixer_add(rec_mixer_t *m, int64_t pos, const float *pcm, int n);
/* Encodes the mix up to position upto (whole encoder frames; silence where
 * nothing was added), handing packets to sink.  Returns 0 or the sink's error. */
int rec_mixer_run(rec_mixer_t *m, int64_t upto, rec_apkt_sink sink, void *ud);
/* Encodes up to upto (rounded up to a frame) and drains the encoder. */
int rec_mixer_finish(rec_mixer_t *m, int64_t upto, rec_apkt_sink sink, void *ud);
/* Discards everything before pos (the file starts there). */
void rec_mixer_skip_to(rec_mixer_t *m, int64_t pos);
int64_t rec_mixer_position(const rec_mixer_t *m);
uint64_t rec_mixer_dropped(const rec_mixer_t *m);

#endif
