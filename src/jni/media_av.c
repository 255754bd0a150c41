/*
 * media_av.c — FFmpeg encoders and decoders for the desktop engine.
 *
 * libvpx is asked for real-time VP8 without lookahead (deadline realtime,
 * lag-in-frames 0), libx264 for H.264 the same way (ultrafast, zerolatency,
 * constrained baseline as browsers decode it), one thread each, so that an
 * engine encodes its frame within its 5 ms tick and several engines share a
 * machine; keyframes only every 3 s or on request.  Decoders are FFmpeg's
 * native vp8, h264 and opus.
 */
#include "jni/media_av.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>

#include "core/common.h"

#define AUDIO_RATE 48000
#define AUDIO_FRAME 960 /* 20 ms */
#define TONE_HZ 440.0
#define TONE_AMPLITUDE 8000 /* of 32767: about -12 dBFS */

struct irtc_av_source {
    AVCodecContext *venc, *aenc;
    AVFrame *vframe, *aframe;
    AVPacket *pkt;
    unsigned fps, frame_no;
    uint64_t next_video_us, next_audio_us;
    uint64_t samples; /* tone phase */
    bool want_key;
};

struct irtc_av_decoder {
    AVCodecContext *vdec, *adec;
    bool vdec_h264; /* vdec's codec */
    AVFrame *frame;
    AVPacket *pkt;
    bool got_key, vfailed, afailed;
    irtc_av_decoded_t st;
};

static AVCodecContext *open_encoder(const char *name, char *err, size_t errcap)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    if (codec == NULL) {
        snprintf(err, errcap, "FFmpeg has no %s encoder", name);
        return NULL;
    }
    return avcodec_alloc_context3(codec);
}

irtc_av_source_t *irtc_av_source_new(bool h264, unsigned width, unsigned height, unsigned fps, unsigned bitrate_bps,
                                     uint64_t now_us, char *err, size_t errcap)
{
    width &= ~1u, height &= ~1u; /* 4:2:0 wants even sizes: an odd one loses a column or row */
    if (width < 16 || height < 16 || width > 1920 || height > 1080 || fps == 0 || fps > 60) {
        snprintf(err, errcap, "video size or rate out of range");
        return NULL;
    }
    irtc_av_source_t *s = xcalloc(1, sizeof(*s));
    s->fps = fps;
    s->next_video_us = s->next_audio_us = now_us;
    s->want_key = true;
    s->pkt = av_packet_alloc();
    s->venc = open_encoder(h264 ? "libx264" : "libvpx", err, errcap);
    s->aenc = s->venc ? open_encoder("libopus", err, errcap) : NULL;
    if (s->aenc == NULL)
        goto fail;
    AVCodecContext *v = s->venc;
    v->width = (int)width;
    v->height = (int)height;
    v->pix_fmt = AV_PIX_FMT_YUV420P;
    v->time_base = (AVRational){1, (int)fps};
    v->framerate = (AVRational){(int)fps, 1};
    v->bit_rate = bitrate_bps;
    v->gop_size = (int)fps * 3;
    v->max_b_frames = 0;
    v->thread_count = 1;
    if (h264) {
        v->profile = FF_PROFILE_H264_CONSTRAINED_BASELINE;
        v->level = 31;
        av_opt_set(v->priv_data, "preset", "ultrafast", 0);
        av_opt_set(v->priv_data, "tune", "zerolatency", 0);
        av_opt_set(v->priv_data, "profile", "baseline", 0);
        av_opt_set_int(v->priv_data, "forced-idr", 1, 0); /* a requested keyframe is an IDR */
    } else {
        av_opt_set(v->priv_data, "deadline", "realtime", 0);
        av_opt_set_int(v->priv_data, "cpu-used", 8, 0);
        av_opt_set_int(v->priv_data, "lag-in-frames", 0, 0);
    }
    if (avcodec_open2(v, NULL, NULL) < 0) {
        snprintf(err, errcap, "%s encoder refused %ux%u@%u", h264 ? "libx264 H.264" : "libvpx VP8", width, height, fps);
        goto fail;
    }
    AVCodecContext *a = s->aenc;
    a->sample_rate = AUDIO_RATE;
    a->sample_fmt = AV_SAMPLE_FMT_S16;
    av_channel_layout_default(&a->ch_layout, 1);
    a->bit_rate = 32000;
    a->frame_size = AUDIO_FRAME;
    if (avcodec_open2(a, NULL, NULL) < 0 || a->frame_size != AUDIO_FRAME) {
        snprintf(err, errcap, "libopus encoder refused 48 kHz mono 20 ms");
        goto fail;
    }
    s->vframe = av_frame_alloc();
    s->vframe->format = AV_PIX_FMT_YUV420P;
    s->vframe->width = (int)width;
    s->vframe->height = (int)height;
    s->aframe = av_frame_alloc();
    s->aframe->format = AV_SAMPLE_FMT_S16;
    s->aframe->nb_samples = AUDIO_FRAME;
    s->aframe->sample_rate = AUDIO_RATE;
    av_channel_layout_default(&s->aframe->ch_layout, 1);
    if (av_frame_get_buffer(s->vframe, 0) < 0 || av_frame_get_buffer(s->aframe, 0) < 0) {
        snprintf(err, errcap, "out of memory for frames");
        goto fail;
    }
    return s;
fail:
    irtc_av_source_free(s);
    return NULL;
}

void irtc_av_source_free(irtc_av_source_t *s)
{
    if (s == NULL)
        return;
    avcodec_free_context(&s->venc);
    avcodec_free_context(&s->aenc);
    av_frame_free(&s->vframe);
    av_frame_free(&s->aframe);
    av_packet_free(&s->pkt);
    free(s);
}

void irtc_av_source_keyframe(irtc_av_source_t *s)
{
    s->want_key = true;
}

/* Diagonal luma bands that move 4 pixels a frame, a white square crossing
 * the picture once every 4 s, and chroma that drifts: every frame differs
 * from the last, so the encoder keeps producing real delta frames. */
static void draw_pattern(AVFrame *f, unsigned n, unsigned fps)
{
    int w = f->width, h = f->height;
    for (int y = 0; y < h; y++) {
        uint8_t *row = f->data[0] + (ptrdiff_t)y * f->linesize[0];
        for (int x = 0; x < w; x++)
            row[x] = (uint8_t)(16 + ((x + y + (int)n * 4) & 0xff) * 219 / 255);
    }
    int side = h / 4, span = w - side;
    int bx = span > 0 ? (int)((n * (unsigned)span / (4 * fps)) % (unsigned)span) : 0, by = (h - side) / 2;
    for (int y = by; y < by + side; y++)
        memset(f->data[0] + (ptrdiff_t)y * f->linesize[0] + bx, 235, (size_t)side);
    for (int p = 1; p <= 2; p++)
        for (int y = 0; y < h / 2; y++)
            memset(f->data[p] + (ptrdiff_t)y * f->linesize[p], (int)((128 + (p == 1 ? 1 : -1) * (int)(n % 64)) & 0xff),
                   (size_t)(w / 2));
}

static void drain(AVCodecContext *ctx, AVPacket *pkt, bool video, uint64_t pts_us, irtc_av_out_fn out, void *user)
{
    /* Without lookahead each frame in gives at most one packet out, at once;
     * the loop is bounded anyway. */
    for (int k = 0; k < 4 && avcodec_receive_packet(ctx, pkt) == 0; k++) {
        out(user, video, pts_us, pkt->data, (size_t)pkt->size);
        av_packet_unref(pkt);
    }
}

void irtc_av_source_run(irtc_av_source_t *s, uint64_t now_us, bool video, bool audio, irtc_av_out_fn out,
                        void *user)
{
    if (now_us > s->next_audio_us + 1000000)
        s->next_audio_us = now_us;
    while (s->next_audio_us <= now_us) {
        if (audio && av_frame_make_writable(s->aframe) == 0) {
            int16_t *pcm = (int16_t *)s->aframe->data[0];
            for (int i = 0; i < AUDIO_FRAME; i++)
                pcm[i] = (int16_t)(TONE_AMPLITUDE * sin(2 * M_PI * TONE_HZ * (double)(s->samples + (uint64_t)i) / AUDIO_RATE));
            s->aframe->pts = (int64_t)s->samples;
            if (avcodec_send_frame(s->aenc, s->aframe) == 0)
                drain(s->aenc, s->pkt, false, s->next_audio_us, out, user);
        }
        s->samples += AUDIO_FRAME;
        s->next_audio_us += 20000;
    }
    uint64_t interval = 1000000 / s->fps;
    if (now_us > s->next_video_us + 1000000)
        s->next_video_us = now_us;
    while (s->next_video_us <= now_us) {
        if (video && av_frame_make_writable(s->vframe) == 0) {
            draw_pattern(s->vframe, s->frame_no, s->fps);
            s->vframe->pts = s->frame_no;
            s->vframe->pict_type = s->want_key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
            s->want_key = false;
            if (avcodec_send_frame(s->venc, s->vframe) == 0)
                drain(s->venc, s->pkt, true, s->next_video_us, out, user);
        }
        s->frame_no++;
        s->next_video_us += interval;
    }
}

/* ---- decoding ---- */

static AVCodecContext *open_decoder(enum AVCodecID id, bool audio)
{
    const AVCodec *codec = avcodec_find_decoder(id);
    AVCodecContext *ctx = codec ? avcodec_alloc_context3(codec) : NULL;
    if (ctx == NULL)
        return NULL;
    ctx->thread_count = 1;
    if (audio) {
        /* RTP's Opus is 48 kHz; a mono packet decodes into both channels. */
        ctx->sample_rate = AUDIO_RATE;
        av_channel_layout_default(&ctx->ch_layout, 2);
    }
    if (avcodec_open2(ctx, codec, NULL) < 0)
        avcodec_free_context(&ctx);
    return ctx;
}

irtc_av_decoder_t *irtc_av_decoder_new(void)
{
    irtc_av_decoder_t *d = xcalloc(1, sizeof(*d));
    d->frame = av_frame_alloc();
    d->pkt = av_packet_alloc();
    return d;
}

void irtc_av_decoder_free(irtc_av_decoder_t *d)
{
    if (d == NULL)
        return;
    avcodec_free_context(&d->vdec);
    avcodec_free_context(&d->adec);
    av_frame_free(&d->frame);
    av_packet_free(&d->pkt);
    free(d);
}

/* Sends data[0..len) to ctx; pictures or sample blocks received, or -1. */
static int decode(irtc_av_decoder_t *d, AVCodecContext *ctx, const uint8_t *data, size_t len, bool audio)
{
    if (len == 0 || len > INT32_MAX || av_new_packet(d->pkt, (int)len) < 0) /* empty: FFmpeg's end of stream */
        return -1;
    memcpy(d->pkt->data, data, len);
    int rc = avcodec_send_packet(ctx, d->pkt);
    av_packet_unref(d->pkt);
    if (rc < 0)
        return -1;
    int n = 0;
    for (int k = 0; k < 4 && avcodec_receive_frame(ctx, d->frame) == 0; k++) {
        n++;
        if (!audio) {
            d->st.width = (uint16_t)d->frame->width;
            d->st.height = (uint16_t)d->frame->height;
        } else {
            double sum = 0;
            int count = 0;
            int ch = d->frame->ch_layout.nb_channels > 0 ? d->frame->ch_layout.nb_channels : 1;
            if (d->frame->format == AV_SAMPLE_FMT_FLTP || d->frame->format == AV_SAMPLE_FMT_FLT) {
                /* The first channel (planar) or every sample (packed). */
                int total = d->frame->nb_samples * (d->frame->format == AV_SAMPLE_FMT_FLT ? ch : 1);
                const float *pcm = (const float *)d->frame->data[0];
                for (int i = 0; i < total; i++)
                    sum += (double)pcm[i] * pcm[i];
                count = total;
            } else if (d->frame->format == AV_SAMPLE_FMT_S16) {
                int total = d->frame->nb_samples * ch;
                const int16_t *pcm = (const int16_t *)d->frame->data[0];
                for (int i = 0; i < total; i++)
                    sum += (pcm[i] / 32768.0) * (pcm[i] / 32768.0);
                count = total;
            }
            double rms = count ? sqrt(sum / count) : 0;
            d->st.level = (unsigned)IRTC_MIN(255.0, rms * 255.0 + 0.5);
        }
        av_frame_unref(d->frame);
    }
    return n;
}

int irtc_av_decode_video(irtc_av_decoder_t *d, bool h264, bool keyframe, const uint8_t *data, size_t len)
{
    if (d->vdec != NULL && d->vdec_h264 != h264) {
        avcodec_free_context(&d->vdec); /* the publisher changed codec */
        d->got_key = false;
    }
    if (!d->got_key && !keyframe)
        return 0;
    if (d->vdec == NULL && !d->vfailed) {
        d->vdec = open_decoder(h264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP8, false);
        d->vdec_h264 = h264;
        d->vfailed = d->vdec == NULL;
    }
    if (d->vdec == NULL)
        return -1;
    d->got_key = true;
    int n = decode(d, d->vdec, data, len, false);
    if (n < 0)
        d->st.video_errors++;
    else
        d->st.video_frames += (uint64_t)n;
    return n;
}

int irtc_av_decode_audio(irtc_av_decoder_t *d, const uint8_t *data, size_t len)
{
    if (d->adec == NULL && !d->afailed) {
        d->adec = open_decoder(AV_CODEC_ID_OPUS, true);
        d->afailed = d->adec == NULL;
    }
    int n = d->adec ? decode(d, d->adec, data, len, true) : -1;
    if (n < 0)
        d->st.audio_errors++;
    else
        d->st.audio_frames += (uint64_t)n;
    return n < 0 ? -1 : 0;
}

void irtc_av_decoded(const irtc_av_decoder_t *d, irtc_av_decoded_t *out)
{
    *out = d->st;
}
