/*
 * rec_mix.c — Opus decoding and the audio mixer of a recording: every audio
 * track decoded to 48 kHz stereo float, summed at its position on the file's
 * sample clock, clipped, and encoded once (AAC by default, or Opus); see
 * rec_av.h.  One recorder thread owns each object.
 *
 * The mix is an accumulator window of 4 s ahead of the encoder: tracks add
 * into it as their packets are decoded, the encoder takes whole frames off
 * its front once the session's clock says no more audio can arrive for them.
 * Silence costs nothing to add: unwritten positions are already zero.
 */
#include "record/rec_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include "core/common.h"

#define WINDOW (4 * REC_AUDIO_RATE)

/* ---- Opus decoding ---- */

struct rec_adec {
    AVCodecContext *ctx;
    AVPacket *pkt;
    AVFrame *frame;
    float *pcm;
    size_t cap; /* samples (stereo pairs) */
    uint8_t *buf;
    size_t bufcap;
};

rec_adec_t *rec_adec_new(void)
{
    const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_OPUS);
    if (c == NULL)
        return NULL;
    rec_adec_t *d = xcalloc(1, sizeof(*d));
    d->ctx = avcodec_alloc_context3(c);
    d->ctx->sample_rate = REC_AUDIO_RATE;
    av_channel_layout_default(&d->ctx->ch_layout, 2);
    if (avcodec_open2(d->ctx, c, NULL) < 0) {
        avcodec_free_context(&d->ctx);
        free(d);
        return NULL;
    }
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    return d;
}

void rec_adec_free(rec_adec_t *d)
{
    if (d == NULL)
        return;
    avcodec_free_context(&d->ctx);
    av_packet_free(&d->pkt);
    av_frame_free(&d->frame);
    free(d->pcm);
    free(d->buf);
    free(d);
}

/* Appends a decoded frame to d->pcm as interleaved stereo; returns samples added. */
static int to_stereo(rec_adec_t *d, const AVFrame *f, int have)
{
    int n = f->nb_samples, ch = f->ch_layout.nb_channels;
    if (n <= 0 || ch <= 0)
        return 0;
    if ((size_t)(have + n) > d->cap) {
        d->cap = (size_t)(have + n) * 2;
        d->pcm = xrealloc(d->pcm, d->cap * 2 * sizeof(float));
    }
    float *o = d->pcm + (size_t)have * 2;
    bool planar = f->format == AV_SAMPLE_FMT_FLTP;
    if (f->format != AV_SAMPLE_FMT_FLTP && f->format != AV_SAMPLE_FMT_FLT)
        return 0; /* the native Opus decoder gives float */
    for (int i = 0; i < n; i++) {
        float l, r;
        if (planar) {
            l = ((const float *)f->extended_data[0])[i];
            r = ch > 1 ? ((const float *)f->extended_data[1])[i] : l;
        } else {
            l = ((const float *)f->data[0])[i * ch];
            r = ch > 1 ? ((const float *)f->data[0])[i * ch + 1] : l;
        }
        o[2 * i] = l;
        o[2 * i + 1] = r;
    }
    return n;
}

int rec_adec_decode(rec_adec_t *d, const uint8_t *data, size_t len, const float **pcm)
{
    if (len + AV_INPUT_BUFFER_PADDING_SIZE > d->bufcap) {
        d->bufcap = (len + AV_INPUT_BUFFER_PADDING_SIZE) * 2;
        d->buf = xrealloc(d->buf, d->bufcap);
    }
    memcpy(d->buf, data, len);
    memset(d->buf + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    d->pkt->data = d->buf;
    d->pkt->size = (int)len;
    if (avcodec_send_packet(d->ctx, d->pkt) < 0)
        return 0;
    int n = 0;
    while (avcodec_receive_frame(d->ctx, d->frame) == 0) {
        n += to_stereo(d, d->frame, n);
        av_frame_unref(d->frame);
    }
    *pcm = d->pcm;
    return n;
}

/* ---- mixer ---- */

struct rec_mixer {
    AVCodecContext *enc;
    AVFrame *frame;
    AVPacket *pkt;
    float *acc;  /* WINDOW stereo samples, indexed by position % WINDOW */
    int64_t pos; /* next sample to encode */
    uint64_t dropped;
};

rec_mixer_t *rec_mixer_new(rec_audio_codec_t codec, char *why, size_t whycap)
{
    const AVCodec *c =
        codec == REC_AUDIO_OPUS ? avcodec_find_encoder_by_name("libopus") : avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (c == NULL) {
        snprintf(why, whycap, "libavcodec has no %s encoder", codec == REC_AUDIO_OPUS ? "libopus" : "aac");
        return NULL;
    }
    rec_mixer_t *m = xcalloc(1, sizeof(*m));
    AVCodecContext *e = m->enc = avcodec_alloc_context3(c);
    e->sample_rate = REC_AUDIO_RATE;
    av_channel_layout_default(&e->ch_layout, 2);
    e->sample_fmt = codec == REC_AUDIO_OPUS ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
    e->bit_rate = codec == REC_AUDIO_OPUS ? 64000 : 128000;
    e->time_base = (AVRational){1, REC_AUDIO_RATE};
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER; /* MP4 keeps the decoder config in the sample entry */
    e->thread_count = 1;
    int rc = avcodec_open2(e, c, NULL);
    if (rc < 0) {
        char e2[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(rc, e2, sizeof(e2));
        snprintf(why, whycap, "audio encoder: %s", e2);
        rec_mixer_free(m);
        return NULL;
    }
    m->frame = av_frame_alloc();
    m->frame->format = e->sample_fmt;
    m->frame->nb_samples = e->frame_size;
    av_channel_layout_copy(&m->frame->ch_layout, &e->ch_layout);
    m->frame->sample_rate = REC_AUDIO_RATE;
    if (av_frame_get_buffer(m->frame, 0) < 0)
        abort();
    m->pkt = av_packet_alloc();
    m->acc = xcalloc((size_t)WINDOW * 2, sizeof(float));
    return m;
}

void rec_mixer_free(rec_mixer_t *m)
{
    if (m == NULL)
        return;
    avcodec_free_context(&m->enc);
    av_frame_free(&m->frame);
    av_packet_free(&m->pkt);
    free(m->acc);
    free(m);
}

const AVCodecContext *rec_mixer_encoder(const rec_mixer_t *m)
{
    return m->enc;
}

void rec_mixer_skip_to(rec_mixer_t *m, int64_t pos)
{
    for (; m->pos < pos; m->pos++) {
        float *a = m->acc + (size_t)(m->pos % WINDOW) * 2;
        a[0] = a[1] = 0.0f;
    }
}

int64_t rec_mixer_position(const rec_mixer_t *m)
{
    return m->pos;
}

uint64_t rec_mixer_dropped(const rec_mixer_t *m)
{
    return m->dropped;
}

void rec_mixer_add(rec_mixer_t *m, int64_t pos, const float *pcm, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t p = pos + i;
        if (p < m->pos || p >= m->pos + WINDOW) {
            m->dropped++;
            continue;
        }
        float *a = m->acc + (size_t)(p % WINDOW) * 2;
        a[0] += pcm[2 * i];
        a[1] += pcm[2 * i + 1];
    }
}

static float clip(float v)
{
    return v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
}

static int drain(rec_mixer_t *m, rec_apkt_sink sink, void *ud)
{
    while (avcodec_receive_packet(m->enc, m->pkt) == 0) {
        int rc = sink(ud, m->pkt);
        av_packet_unref(m->pkt);
        if (rc != IRTC_OK)
            return rc;
    }
    return IRTC_OK;
}

static int encode_frame(rec_mixer_t *m, rec_apkt_sink sink, void *ud)
{
    int fs = m->frame->nb_samples;
    if (av_frame_make_writable(m->frame) < 0)
        return IRTC_EIO;
    for (int i = 0; i < fs; i++) {
        float *a = m->acc + (size_t)((m->pos + i) % WINDOW) * 2;
        if (m->enc->sample_fmt == AV_SAMPLE_FMT_FLTP) {
            ((float *)m->frame->extended_data[0])[i] = clip(a[0]);
            ((float *)m->frame->extended_data[1])[i] = clip(a[1]);
        } else {
            ((float *)m->frame->data[0])[2 * i] = clip(a[0]);
            ((float *)m->frame->data[0])[2 * i + 1] = clip(a[1]);
        }
        a[0] = a[1] = 0.0f;
    }
    m->frame->pts = m->pos;
    m->pos += fs;
    if (avcodec_send_frame(m->enc, m->frame) < 0)
        return IRTC_EIO;
    return drain(m, sink, ud);
}

int rec_mixer_run(rec_mixer_t *m, int64_t upto, rec_apkt_sink sink, void *ud)
{
    while (m->pos + m->frame->nb_samples <= upto) {
        int rc = encode_frame(m, sink, ud);
        if (rc != IRTC_OK)
            return rc;
    }
    return IRTC_OK;
}

int rec_mixer_finish(rec_mixer_t *m, int64_t upto, rec_apkt_sink sink, void *ud)
{
    while (m->pos < upto) {
        int rc = encode_frame(m, sink, ud);
        if (rc != IRTC_OK)
            return rc;
    }
    if (avcodec_send_frame(m->enc, NULL) < 0)
        return IRTC_EIO;
    return drain(m, sink, ud);
}
