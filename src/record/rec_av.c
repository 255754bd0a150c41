/*
 * rec_av.c — video decoding, H.264 encoding, scaling and JPEG for the
 * recorder; see rec_av.h.  One recorder thread owns each object.
 */
#include "record/rec_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "core/common.h"
#include "media/codecs/codec.h"

/* ---- video decoding ---- */

struct rec_vdec {
    AVCodecContext *ctx;
    AVPacket *pkt;
    AVFrame *frame, *out;
    uint8_t *buf; /* input copied here: libavcodec wants zeroed padding after it */
    size_t cap;
    uint64_t errors;
};

rec_vdec_t *rec_vdec_new(int codec)
{
    enum AVCodecID id = codec == CODEC_VP8    ? AV_CODEC_ID_VP8
                        : codec == CODEC_VP9  ? AV_CODEC_ID_VP9
                        : codec == CODEC_H264 ? AV_CODEC_ID_H264
                                              : AV_CODEC_ID_NONE;
    const AVCodec *c = avcodec_find_decoder(id);
    if (c == NULL)
        return NULL;
    rec_vdec_t *d = xcalloc(1, sizeof(*d));
    d->ctx = avcodec_alloc_context3(c);
    d->ctx->thread_count = 1;
    d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
    if (avcodec_open2(d->ctx, c, NULL) < 0) {
        avcodec_free_context(&d->ctx);
        free(d);
        return NULL;
    }
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    d->out = av_frame_alloc();
    return d;
}

void rec_vdec_free(rec_vdec_t *d)
{
    if (d == NULL)
        return;
    avcodec_free_context(&d->ctx);
    av_packet_free(&d->pkt);
    av_frame_free(&d->frame);
    av_frame_free(&d->out);
    free(d->buf);
    free(d);
}

AVFrame *rec_vdec_decode(rec_vdec_t *d, const uint8_t *data, size_t len, int64_t pts_us)
{
    if (len + AV_INPUT_BUFFER_PADDING_SIZE > d->cap) {
        d->cap = (len + AV_INPUT_BUFFER_PADDING_SIZE) * 2;
        d->buf = xrealloc(d->buf, d->cap);
    }
    memcpy(d->buf, data, len);
    memset(d->buf + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    d->pkt->data = d->buf;
    d->pkt->size = (int)len;
    d->pkt->pts = pts_us;
    if (avcodec_send_packet(d->ctx, d->pkt) < 0) {
        d->errors++;
        return NULL;
    }
    bool got = false;
    while (avcodec_receive_frame(d->ctx, d->frame) == 0) {
        av_frame_unref(d->out);
        av_frame_move_ref(d->out, d->frame);
        got = true;
    }
    if (!got)
        return NULL;
    d->out->pts = pts_us;
    return d->out;
}

uint64_t rec_vdec_errors(const rec_vdec_t *d)
{
    return d->errors;
}

/* ---- H.264 encoding ---- */

struct rec_venc {
    AVCodecContext *ctx;
    AVPacket *pkt;
    AVFrame *in;
    uint64_t frames;
};

rec_venc_t *rec_venc_new(int width, int height, int fps, int bitrate_kbps, char *why, size_t whycap)
{
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    if (c == NULL) {
        snprintf(why, whycap, "libavcodec has no libx264 encoder");
        return NULL;
    }
    rec_venc_t *e = xcalloc(1, sizeof(*e));
    AVCodecContext *ctx = e->ctx = avcodec_alloc_context3(c);
    ctx->width = width;
    ctx->height = height;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){1, 90000};
    ctx->framerate = (AVRational){fps, 1};
    ctx->gop_size = 2 * fps; /* a fragment and a seek point every 2 s */
    ctx->max_b_frames = 0;
    ctx->bit_rate = (int64_t)bitrate_kbps * 1000;
    ctx->rc_max_rate = ctx->bit_rate * 3 / 2;
    ctx->rc_buffer_size = (int)(ctx->bit_rate * 2);
    ctx->thread_count = 1;
    av_opt_set(ctx->priv_data, "preset", "veryfast", 0);
    av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
    int rc = avcodec_open2(ctx, c, NULL);
    if (rc < 0) {
        char e2[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(rc, e2, sizeof(e2));
        snprintf(why, whycap, "libx264 %dx%d: %s", width, height, e2);
        rec_venc_free(e);
        return NULL;
    }
    e->pkt = av_packet_alloc();
    e->in = av_frame_alloc();
    return e;
}

void rec_venc_free(rec_venc_t *e)
{
    if (e == NULL)
        return;
    avcodec_free_context(&e->ctx);
    av_packet_free(&e->pkt);
    av_frame_free(&e->in);
    free(e);
}

int rec_venc_encode(rec_venc_t *e, const AVFrame *frame, int64_t pts_us, bool force_key, rec_au_sink sink, void *ud)
{
    int rc;
    if (frame != NULL) {
        av_frame_unref(e->in);
        av_frame_ref(e->in, frame);
        e->in->pts = av_rescale(pts_us, 90000, 1000000);
        e->in->pict_type = force_key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
        rc = avcodec_send_frame(e->ctx, e->in);
        av_frame_unref(e->in); /* libx264 copied the picture: the caller may draw on it again */
        e->frames++;
    } else {
        rc = avcodec_send_frame(e->ctx, NULL);
    }
    if (rc < 0 && rc != AVERROR_EOF)
        return IRTC_EIO;
    while (avcodec_receive_packet(e->ctx, e->pkt) == 0) {
        int64_t us = av_rescale(e->pkt->pts, 1000000, 90000);
        rc = sink(ud, e->pkt->data, (size_t)e->pkt->size, us, e->pkt->flags & AV_PKT_FLAG_KEY);
        av_packet_unref(e->pkt);
        if (rc != IRTC_OK)
            return rc;
    }
    return IRTC_OK;
}

uint64_t rec_venc_frames(const rec_venc_t *e)
{
    return e->frames;
}

/* ---- pictures ---- */

AVFrame *rec_frame_new_black(int width, int height)
{
    AVFrame *f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = width;
    f->height = height;
    if (av_frame_get_buffer(f, 0) < 0)
        abort();
    rec_frame_fill_black(f, 0, 0, width, height);
    return f;
}

void rec_frame_fill_black(AVFrame *f, int x, int y, int w, int h)
{
    for (int r = 0; r < h; r++)
        memset(f->data[0] + (size_t)(y + r) * f->linesize[0] + x, 16, (size_t)w);
    for (int r = 0; r < h / 2; r++) {
        memset(f->data[1] + (size_t)(y / 2 + r) * f->linesize[1] + x / 2, 128, (size_t)w / 2);
        memset(f->data[2] + (size_t)(y / 2 + r) * f->linesize[2] + x / 2, 128, (size_t)w / 2);
    }
}

void rec_blit(struct SwsContext **cache, AVFrame *dst, int x, int y, int w, int h, const AVFrame *src)
{
    if (src->width <= 0 || src->height <= 0)
        return;
    int dw = w, dh = (int)((int64_t)src->height * w / src->width);
    if (dh > h) {
        dh = h;
        dw = (int)((int64_t)src->width * h / src->height);
    }
    dw &= ~1;
    dh &= ~1;
    if (dw < 2 || dh < 2)
        return;
    int dx = (x + (w - dw) / 2) & ~1, dy = (y + (h - dh) / 2) & ~1;
    if (dw != w || dh != h)
        rec_frame_fill_black(dst, x, y, w, h);
    *cache = sws_getCachedContext(*cache, src->width, src->height, src->format, dw, dh, AV_PIX_FMT_YUV420P,
                                  SWS_BILINEAR, NULL, NULL, NULL);
    if (*cache == NULL)
        return;
    uint8_t *planes[4] = {dst->data[0] + (size_t)dy * dst->linesize[0] + dx,
                          dst->data[1] + (size_t)(dy / 2) * dst->linesize[1] + dx / 2,
                          dst->data[2] + (size_t)(dy / 2) * dst->linesize[2] + dx / 2, NULL};
    sws_scale(*cache, (const uint8_t *const *)src->data, src->linesize, 0, src->height, planes, dst->linesize);
}

/* Next NAL after a start code at or after i: sets *start (payload) and returns
 * its end (the next start code or len). */
static size_t next_nal(const uint8_t *p, size_t len, size_t i, size_t *start)
{
    for (; i + 3 <= len; i++)
        if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
            break;
    if (i + 3 > len)
        return *start = len;
    *start = i + 3;
    size_t j = *start;
    for (; j + 3 <= len; j++)
        if (p[j] == 0 && p[j + 1] == 0 && (p[j + 2] == 1 || (p[j + 2] == 0 && j + 3 < len && p[j + 3] == 1)))
            return j;
    return len;
}

size_t rec_h264_extract_params(const uint8_t *au, size_t len, uint8_t *out, size_t cap)
{
    size_t o = 0, start;
    bool sps = false, pps = false;
    for (size_t i = 0; i < len;) {
        size_t end = next_nal(au, len, i, &start);
        if (start >= len)
            break;
        uint8_t t = au[start] & 0x1f;
        if ((t == 7 && !sps) || (t == 8 && !pps)) {
            if (o + 4 + (end - start) > cap)
                return 0;
            memcpy(out + o, "\0\0\0\1", 4);
            memcpy(out + o + 4, au + start, end - start);
            o += 4 + (end - start);
            sps |= t == 7;
            pps |= t == 8;
        }
        i = end;
    }
    return sps && pps ? o : 0;
}

bool rec_h264_dimensions(const uint8_t *au, size_t len, int *width, int *height)
{
    AVCodecParserContext *pc = av_parser_init(AV_CODEC_ID_H264);
    AVCodecContext *ctx = avcodec_alloc_context3(avcodec_find_decoder(AV_CODEC_ID_H264));
    if (pc == NULL || ctx == NULL) {
        av_parser_close(pc);
        avcodec_free_context(&ctx);
        return false;
    }
    pc->flags |= PARSER_FLAG_COMPLETE_FRAMES;
    uint8_t *buf = xcalloc(1, len + AV_INPUT_BUFFER_PADDING_SIZE), *o;
    memcpy(buf, au, len);
    int olen;
    av_parser_parse2(pc, ctx, &o, &olen, buf, (int)len, AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    *width = pc->width > 0 ? pc->width : ctx->width;
    *height = pc->height > 0 ? pc->height : ctx->height;
    free(buf);
    av_parser_close(pc);
    avcodec_free_context(&ctx);
    return *width > 0 && *height > 0;
}

int rec_jpeg_encode(const AVFrame *frame, uint8_t **out, size_t *len)
{
    const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (c == NULL)
        return IRTC_EIO;
    int w = frame->width & ~1, h = frame->height & ~1, rc = IRTC_EIO;
    AVCodecContext *ctx = avcodec_alloc_context3(c);
    AVFrame *j = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    ctx->width = w;
    ctx->height = h;
    ctx->pix_fmt = AV_PIX_FMT_YUVJ420P;
    ctx->time_base = (AVRational){1, 25};
    ctx->flags |= AV_CODEC_FLAG_QSCALE;
    ctx->global_quality = 3 * FF_QP2LAMBDA;
    ctx->thread_count = 1;
    if (avcodec_open2(ctx, c, NULL) < 0)
        goto out;
    j->format = AV_PIX_FMT_YUVJ420P;
    j->width = w;
    j->height = h;
    if (av_frame_get_buffer(j, 0) < 0)
        goto out;
    sws = sws_getContext(frame->width, frame->height, frame->format, w, h, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL,
                         NULL);
    if (sws == NULL)
        goto out;
    sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height, j->data, j->linesize);
    j->pts = 0;
    if (avcodec_send_frame(ctx, j) < 0 || avcodec_send_frame(ctx, NULL) < 0 || avcodec_receive_packet(ctx, pkt) < 0)
        goto out;
    *out = xmalloc((size_t)pkt->size);
    memcpy(*out, pkt->data, (size_t)pkt->size);
    *len = (size_t)pkt->size;
    rc = IRTC_OK;
out:
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&j);
    avcodec_free_context(&ctx);
    return rc;
}
