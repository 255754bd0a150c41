/*
 * rec_mux.c — fragmented MP4 through libavformat into a caller's fd; see
 * rec_mux.h.  One recorder thread per writer.
 */
#include "record/rec_mux.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "core/common.h"

#define AVIO_BUF 65536

struct rec_mux {
    int fd;
    AVFormatContext *fmt;
    AVIOContext *pb;
    AVStream *vst, *ast;
    AVPacket *pkt;    /* the video packet held back until the next one gives its duration */
    bool pkt_pending; /* pkt holds a video packet not yet written */
    bool pkt_discont; /* ... which starts after a gap: write it with frag_discont */
    int64_t vdur;     /* the last frame duration (90 kHz), for the last frame and frames before a gap */
    uint64_t bytes;
    uint64_t good_bytes; /* the file up to here is whole fragments: where to cut after a failed write */
    int64_t last_vpts, end_us;
    int err_no;
    char err[160];
    bool header_written, audio_started;
};

static int write_fd(void *opaque, uint8_t *buf, int size)
{
    rec_mux_t *m = opaque;
    if (m->err_no)
        return AVERROR(m->err_no);
    for (int off = 0; off < size;) {
        ssize_t n = write(m->fd, buf + off, (size_t)(size - off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            m->err_no = n < 0 ? errno : ENOSPC;
            snprintf(m->err, sizeof(m->err), "write failed after %llu bytes: %s%s", (unsigned long long)m->bytes,
                     strerror(m->err_no), m->err_no == ENOSPC || m->err_no == EDQUOT ? " (disk full)" : "");
            return AVERROR(m->err_no);
        }
        off += (int)n;
        m->bytes += (uint64_t)n;
    }
    return size;
}

static void set_why(char *why, size_t whycap, const char *what, int averr, const rec_mux_t *m)
{
    char e[AV_ERROR_MAX_STRING_SIZE];
    if (m->err[0]) {
        snprintf(why, whycap, "%s", m->err);
        return;
    }
    av_strerror(averr, e, sizeof(e));
    snprintf(why, whycap, "%s: %s", what, e);
}

int rec_mux_open(int fd, const rec_mux_params_t *p, rec_mux_t **out, char *why, size_t whycap)
{
    rec_mux_t *m = xcalloc(1, sizeof(*m));
    m->fd = fd;
    m->last_vpts = -1;
    m->pkt = av_packet_alloc();
    int rc = avformat_alloc_output_context2(&m->fmt, NULL, "mp4", NULL);
    if (rc < 0) {
        set_why(why, whycap, "mp4 muxer", rc, m);
        goto fail;
    }
    uint8_t *buf = av_malloc(AVIO_BUF);
    m->pb = avio_alloc_context(buf, AVIO_BUF, 1, m, NULL, write_fd, NULL);
    m->pb->seekable = 0;
    m->fmt->pb = m->pb;
    m->fmt->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
    if (p->video_extradata_len > 0) {
        m->vst = avformat_new_stream(m->fmt, NULL);
        AVCodecParameters *cp = m->vst->codecpar;
        cp->codec_type = AVMEDIA_TYPE_VIDEO;
        cp->codec_id = AV_CODEC_ID_H264;
        cp->width = p->width;
        cp->height = p->height;
        cp->format = AV_PIX_FMT_YUV420P;
        cp->extradata = av_mallocz(p->video_extradata_len + AV_INPUT_BUFFER_PADDING_SIZE);
        memcpy(cp->extradata, p->video_extradata, p->video_extradata_len);
        cp->extradata_size = (int)p->video_extradata_len;
        m->vst->time_base = (AVRational){1, 90000};
    }
    if (p->audio_enc != NULL) {
        m->ast = avformat_new_stream(m->fmt, NULL);
        avcodec_parameters_from_context(m->ast->codecpar, p->audio_enc);
        m->ast->time_base = p->audio_enc->time_base;
    }
    AVDictionary *opts = NULL;
    /* a fragment per keyframe, and per second when keyframes are rarer or
     * video is gone; default_base_moof makes fragments self-contained */
    av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    av_dict_set(&opts, "frag_duration", "1000000", 0);
    rc = avformat_write_header(m->fmt, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        set_why(why, whycap, "mp4 header", rc, m);
        goto fail;
    }
    m->header_written = true;
    avio_flush(m->pb);
    if (m->err_no) {
        set_why(why, whycap, "mp4 header", 0, m);
        goto fail;
    }
    m->good_bytes = m->bytes;
    *out = m;
    return IRTC_OK;
fail:
    rec_mux_free(m);
    return IRTC_EIO;
}

/* Writes the held-back video packet with its duration (90 kHz).  Every
 * sample gets a real duration: left at 0, the mov muxer guesses the last
 * sample of a fragment from the one before, and when frames then come closer
 * together (an encoder ramping from 15 to 30 fps) the next fragment starts
 * before that guess ends, which it "repairs" by moving the frame and
 * dropping its pts. */
static int write_pending_video(rec_mux_t *m, int64_t duration)
{
    if (!m->pkt_pending)
        return IRTC_OK;
    m->pkt_pending = false;
    /* After a gap (the publisher left, muted, or lost packets until a
     * keyframe) the fragment starting here must keep its real time: without
     * frag_discont the mov muxer makes a fragment continue where the last
     * one ended, which would pull the rest of the video ahead of the audio. */
    if (m->pkt_discont)
        av_opt_set(m->fmt->priv_data, "movflags", "+frag_discont", 0);
    AVPacket *pkt = m->pkt;
    pkt->duration = duration;
    av_packet_rescale_ts(pkt, (AVRational){1, 90000}, m->vst->time_base);
    int rc = av_write_frame(m->fmt, pkt);
    if (rc < 0 || m->err_no)
        return IRTC_EIO;
    m->good_bytes = m->bytes; /* flushed after every packet (AVFMT_FLAG_FLUSH_PACKETS) */
    return IRTC_OK;
}

int rec_mux_video(rec_mux_t *m, const uint8_t *au, size_t len, int64_t pts_us, bool keyframe)
{
    if (m->vst == NULL || m->err_no)
        return IRTC_EIO;
    int64_t pts = av_rescale(pts_us, 90000, 1000000);
    if (pts <= m->last_vpts)
        pts = m->last_vpts + 1;
    bool gap = m->last_vpts >= 0 && pts - m->last_vpts > 45000;
    if (m->last_vpts >= 0 && !gap)
        m->vdur = pts - m->last_vpts;
    /* the frame before a gap lasts one frame, not the whole gap */
    if (write_pending_video(m, gap || m->last_vpts < 0 ? (m->vdur > 0 ? m->vdur : 3000) : pts - m->last_vpts) !=
        IRTC_OK)
        return IRTC_EIO;
    m->pkt_discont = gap && (m->ast == NULL || m->audio_started);
    m->last_vpts = pts;
    AVPacket *pkt = m->pkt;
    av_packet_unref(pkt);
    if (av_new_packet(pkt, (int)len) < 0)
        return IRTC_EIO;
    memcpy(pkt->data, au, len);
    pkt->pts = pkt->dts = pts;
    pkt->stream_index = m->vst->index;
    pkt->flags = keyframe ? AV_PKT_FLAG_KEY : 0;
    m->pkt_pending = true;
    if (pts_us > m->end_us)
        m->end_us = pts_us;
    return IRTC_OK;
}

int rec_mux_audio(rec_mux_t *m, AVPacket *pkt)
{
    if (m->ast == NULL || m->err_no)
        return IRTC_EIO;
    AVRational tb = m->ast->time_base;
    int64_t end = av_rescale_q(pkt->pts + pkt->duration, tb, (AVRational){1, 1000000});
    pkt->stream_index = m->ast->index;
    m->audio_started = true;
    int rc = av_write_frame(m->fmt, pkt);
    if (end > m->end_us)
        m->end_us = end;
    if (rc < 0 || m->err_no)
        return IRTC_EIO;
    m->good_bytes = m->bytes;
    return IRTC_OK;
}

int rec_mux_finish(rec_mux_t *m, char *why, size_t whycap)
{
    if (write_pending_video(m, m->vdur > 0 ? m->vdur : 3000) != IRTC_OK) {
        set_why(why, whycap, "mp4 last video frame", 0, m);
        return IRTC_EIO;
    }
    int rc = av_write_trailer(m->fmt);
    m->header_written = false;
    avio_flush(m->pb);
    if (rc < 0 || m->err_no) {
        set_why(why, whycap, "mp4 trailer", rc, m);
        return IRTC_EIO;
    }
    if (fsync(m->fd) != 0 && errno != EINVAL && errno != EROFS) {
        snprintf(why, whycap, "fsync failed: %s", strerror(errno));
        return IRTC_EIO;
    }
    return IRTC_OK;
}

void rec_mux_free(rec_mux_t *m)
{
    if (m == NULL)
        return;
    if (m->fmt != NULL) {
        m->fmt->pb = NULL;
        avformat_free_context(m->fmt);
    }
    if (m->pb != NULL) {
        av_freep(&m->pb->buffer);
        avio_context_free(&m->pb);
    }
    av_packet_free(&m->pkt);
    if (m->err_no && m->fd >= 0 && ftruncate(m->fd, (off_t)m->good_bytes) == 0)
        m->bytes = m->good_bytes; /* a half-written fragment would only make players complain */
    if (m->fd >= 0)
        close(m->fd);
    free(m);
}

uint64_t rec_mux_bytes(const rec_mux_t *m)
{
    return m->err_no ? m->good_bytes : m->bytes;
}

int64_t rec_mux_duration_ms(const rec_mux_t *m)
{
    return m->end_us / 1000;
}

const char *rec_mux_error(const rec_mux_t *m)
{
    return m->err_no ? m->err : NULL;
}
