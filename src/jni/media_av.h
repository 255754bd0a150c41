/*
 * media_av.h — the desktop build's media for the Android SDK's native
 * engine, with FFmpeg's libraries: a local source (a moving YUV test
 * pattern encoded to VP8 by libvpx or to H.264 by libx264, a 440 Hz tone
 * encoded to Opus by libopus) and, per remote user, decoders (VP8 and H.264
 * to YUV, Opus to PCM) that measure what they decode: frames, size, errors,
 * audio level.
 *
 * On Android the app's MediaCodec does this work in Java (docs/ANDROID.md)
 * and this module is not compiled (packaging/android/build-native.sh builds
 * irtc_jni.c, engine.c and the client core only).
 *
 * Threads: an object belongs to the thread that made it (the engine
 * thread).  Does not: capture, render, play, resample or scale.
 */
#ifndef IRTC_JNI_MEDIA_AV_H
#define IRTC_JNI_MEDIA_AV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct irtc_av_source irtc_av_source_t;
typedef struct irtc_av_decoder irtc_av_decoder_t;

/* One encoded frame: a VP8 frame or an H.264 access unit (Annex B), or an Opus packet, captured at pts_us. */
typedef void (*irtc_av_out_fn)(void *user, bool video, uint64_t pts_us, const uint8_t *data, size_t len);

/* width x height (16..1920 x 16..1080, odd sizes rounded down to even) at fps (1..60), about bitrate_bps,
 * VP8 or (h264) H.264 constrained baseline with SPS/PPS before each IDR;
 * NULL with err when an encoder cannot be opened. */
irtc_av_source_t *irtc_av_source_new(bool h264, unsigned width, unsigned height, unsigned fps, unsigned bitrate_bps,
                                     uint64_t now_us, char *err, size_t errcap);
void irtc_av_source_free(irtc_av_source_t *s);
/* Encodes every video frame and 20 ms of audio due at now_us (after a stall
 * of over a second it skips ahead, as a capturer drops).  Kinds off are not
 * encoded: their time passes. */
void irtc_av_source_run(irtc_av_source_t *s, uint64_t now_us, bool video, bool audio, irtc_av_out_fn out,
                        void *user);
/* The next video frame is a keyframe (a receiver's PLI, or video unmuted). */
void irtc_av_source_keyframe(irtc_av_source_t *s);

/* What one remote user's decoders have produced. */
typedef struct {
    uint64_t video_frames, video_errors;
    uint16_t width, height; /* of the last decoded picture */
    uint64_t audio_frames, audio_errors;
    unsigned level; /* 0..255, the last 20 ms of decoded audio's RMS, linear (as AudioVolumeInfo.volume) */
} irtc_av_decoded_t;

/* Decoders are opened on first use; NULL when FFmpeg has none. */
irtc_av_decoder_t *irtc_av_decoder_new(void);
void irtc_av_decoder_free(irtc_av_decoder_t *d);
/* One whole VP8 frame or (h264) H.264 access unit.  Returns the number of
 * pictures it produced (0 before the first keyframe, which is waited for)
 * or -1 when the decoder refused it (counted).  A change of codec starts a
 * new decoder. */
int irtc_av_decode_video(irtc_av_decoder_t *d, bool h264, bool keyframe, const uint8_t *data, size_t len);
/* One Opus packet: 0 decoded (level updated), -1 refused (counted). */
int irtc_av_decode_audio(irtc_av_decoder_t *d, const uint8_t *data, size_t len);
void irtc_av_decoded(const irtc_av_decoder_t *d, irtc_av_decoded_t *out);

#endif
