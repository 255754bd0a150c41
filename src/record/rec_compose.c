/*
 * rec_compose.c — mode 1 (mixed) video: every recorded video track decoded,
 * laid out on one canvas (default 1280x720) at a fixed rate (default 15 fps)
 * and encoded with libx264.
 *
 * Layout (docs/RECORDING.md): the main user fills the canvas, aspect kept
 * (black bars); up to eight others are thumbnails of a quarter of the
 * canvas width, 16:9, along the bottom edge from the right, a second row
 * above the first.  When the main user has no picture (not publishing,
 * muted, or no frame for 2 s) the first other user with a picture takes the
 * big place, so the canvas is never black while someone shows video.
 *
 * Thread: the job's recorder thread.  Does not: mix audio or write files.
 */
#include "record/rec_compose.h"
#include "record/rec_out.h"

#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>

#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#define MARGIN 8
#define THUMBS_PER_ROW 4
#define THUMB_ROWS 2

void rec_compose_drop_track(rec_track_t *t)
{
    for (int i = 0; i < REC_FRAMEQ; i++)
        free(t->q[i].data);
    memset(t->q, 0, sizeof(t->q));
    t->qn = t->qhead = 0;
    av_frame_free(&t->cur);
    sws_freeContext(t->sws);
    t->sws = NULL;
}

/* Decodes the oldest queued frame; the picture becomes the track's current one. */
static void decode_oldest(rec_track_t *t)
{
    rec_qframe_t *q = &t->q[t->qhead];
    AVFrame *pic = rec_vdec_decode(t->vdec, q->data, q->len, q->pts_us);
    t->qhead = (t->qhead + 1) % REC_FRAMEQ;
    t->qn--;
    if (pic == NULL)
        return;
    if (t->cur == NULL)
        t->cur = av_frame_alloc();
    av_frame_unref(t->cur);
    av_frame_ref(t->cur, pic);
}

void rec_compose_frame(rec_job_t *j, rec_track_t *t, const rec_frame_t *f, int64_t pts_us)
{
    if (t->vdec == NULL && (t->vdec = rec_vdec_new(t->codec)) == NULL)
        return;
    if (t->qn == REC_FRAMEQ) /* the composite fell far behind: keep the decoder in step */
        decode_oldest(t);
    rec_qframe_t *q = &t->q[(t->qhead + t->qn) % REC_FRAMEQ];
    if (f->len > q->cap) {
        q->cap = f->len * 2;
        q->data = xrealloc(q->data, q->cap);
    }
    memcpy(q->data, f->data, f->len);
    q->len = f->len;
    q->pts_us = pts_us - j->t0_us;
    t->qn++;
}

static bool fresh(const rec_track_t *t, int64_t tick)
{
    return t->kind == 1 && !t->ignored && t->cur != NULL && tick - t->cur->pts <= REC_STALE_US;
}

static void layout(rec_job_t *j, int64_t tick)
{
    int W = j->vo_w, H = j->vo_h;
    rec_track_t *main = NULL;
    for (unsigned i = 0; i < j->n_tracks && main == NULL; i++)
        if (j->tracks[i]->is_main && fresh(j->tracks[i], tick))
            main = j->tracks[i];
    for (unsigned i = 0; i < j->n_tracks && main == NULL; i++)
        if (fresh(j->tracks[i], tick))
            main = j->tracks[i];
    rec_frame_fill_black(j->vframe, 0, 0, W, H);
    if (main != NULL)
        rec_blit(&main->sws, j->vframe, 0, 0, W, H, main->cur);
    int tw = ((W - (THUMBS_PER_ROW + 1) * MARGIN) / THUMBS_PER_ROW) & ~1;
    int th = (tw * 9 / 16) & ~1;
    int k = 0;
    for (unsigned i = 0; i < j->n_tracks && k < THUMBS_PER_ROW * THUMB_ROWS; i++) {
        rec_track_t *t = j->tracks[i];
        if (t == main || !fresh(t, tick))
            continue;
        int row = k / THUMBS_PER_ROW, col = k % THUMBS_PER_ROW;
        int x = (W - MARGIN - (col + 1) * tw - col * MARGIN) & ~1;
        int y = (H - MARGIN - (row + 1) * th - row * MARGIN) & ~1;
        rec_blit(&t->sws, j->vframe, x, y, tw, th, t->cur);
        k++;
    }
}

void rec_compose_run(rec_job_t *j, int64_t upto_rel_us)
{
    char why[256];
    if (j->venc == NULL) {
        j->vo = VO_TRANSCODE;
        j->vo_w = j->cfg.mixed_w;
        j->vo_h = j->cfg.mixed_h;
        j->venc = rec_venc_new(j->vo_w, j->vo_h, j->cfg.mixed_fps, j->cfg.video_kbps, why, sizeof(why));
        if (j->venc == NULL) {
            rec_out_fail(j, "%s", why);
            return;
        }
        j->vframe = rec_frame_new_black(j->vo_w, j->vo_h);
    }
    int64_t interval = 1000000 / j->cfg.mixed_fps;
    while (j->next_tick_us <= upto_rel_us && !j->mux_failed) {
        int64_t tick = j->next_tick_us;
        for (unsigned i = 0; i < j->n_tracks; i++) {
            rec_track_t *t = j->tracks[i];
            while (t->qn > 0 && t->q[t->qhead].pts_us <= tick)
                decode_oldest(t);
        }
        layout(j, tick);
        rec_venc_encode(j->venc, j->vframe, tick, false, rec_out_write_video, j);
        j->next_tick_us += interval;
    }
}
