/*
 * rec_job.c — one recording on its recorder thread: drains the session's
 * rings, depacketizes, maps RTP timestamps onto the arrival clock, mixes
 * audio, writes mode 0 video (H.264 copied as is, anything else transcoded
 * by libx264), and finishes or fails the file.  Mode 1 composition is in
 * rec_compose.c, snapshots in rec_snap.c.
 *
 * Time: every track's frames get a time in µs on the media workers' arrival
 * clock: the arrival of the track's first frame plus RTP timestamp deltas
 * (unwrapped), re-anchored to arrival when the stream restarts (new SSRC,
 * sequence jump) or drifts more than 2 s from arrival (a sender that paused
 * its clock).  The job's own clock is the newest arrival seen, advanced by
 * the monotonic clock while rings are quiet; audio and composite video are
 * produced REC_DELAY_US behind it so late packets still make it.
 *
 * Thread: the recorder thread that polls the job; see rec_job.h.
 * Does not: talk to the control thread except through emit.
 */
#include "record/rec_job.h"
#include "record/rec_compose.h"
#include "record/rec_job_state.h"
#include "record/rec_out.h"
#include "record/rec_snap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>

#include "core/common.h"
#include "core/log.h"
#include "media/codecs/codec.h"

rec_job_t *rec_job_new(const rec_job_config_t *cfg, rec_shared_t *shared, rec_job_emit_fn emit, void *ud)
{
    rec_job_t *j = xcalloc(1, sizeof(*j));
    j->cfg = *cfg;
    j->sh = shared;
    j->emit = emit;
    j->emit_ud = ud;
    j->dirfd = j->fd = -1;
    return j;
}

static void track_free(rec_track_t *t)
{
    rec_compose_drop_track(t);
    rec_depack_free(t->dp);
    rec_adec_free(t->adec);
    rec_vdec_free(t->vdec);
    spsc_ring_unref(t->ring);
    free(t);
}

void rec_job_free(rec_job_t *j)
{
    if (j == NULL)
        return;
    for (unsigned i = 0; i < j->n_tracks; i++)
        track_free(j->tracks[i]);
    free(j->tracks);
    rec_mux_free(j->mux);
    if (j->fd >= 0)
        close(j->fd);
    if (j->dirfd >= 0)
        close(j->dirfd);
    rec_mixer_free(j->mixer);
    rec_venc_free(j->venc);
    av_frame_free(&j->vframe);
    free(j);
}

void rec_job_add_track(rec_job_t *j, spsc_ring_t *ring, const codec_params_t *params, uint64_t stream_id,
                       const char *user_id, bool is_main)
{
    rec_track_t *t = xcalloc(1, sizeof(*t));
    t->ring = ring;
    t->stream_id = stream_id;
    snprintf(t->user_id, sizeof(t->user_id), "%s", user_id ? user_id : "");
    t->is_main = is_main;
    t->kind = params->kind;
    t->codec = params->codec;
    t->clock_rate = params->clock_rate ? params->clock_rate : (params->kind == CODEC_KIND_AUDIO ? 48000 : 90000);
    t->dropped0 = 0; /* the ring is this session's alone: every drop since sfu_tap_add counts */
    bool video = t->kind == 1;
    if (j->cfg.kind == REC_KIND_IMAGE)
        t->ignored = !video || !is_main;
    else if (j->cfg.mode == REC_MODE_SINGLE)
        t->ignored = video && !is_main;
    t->dp = rec_depack_new(t->codec, 0);
    if (t->dp == NULL)
        t->ignored = true;
    j->tracks = xrealloc(j->tracks, (j->n_tracks + 1) * sizeof(*j->tracks));
    j->tracks[j->n_tracks++] = t;
    atomic_store(&j->sh->tracks, j->n_tracks);
}

void rec_job_remove_track(rec_job_t *j, spsc_ring_t *ring)
{
    for (unsigned i = 0; i < j->n_tracks; i++)
        if (j->tracks[i]->ring == ring)
            j->tracks[i]->removing = true;
}

static uint64_t thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Charges the recorder-thread CPU since the poll began to the session. */
static void account_cpu(rec_job_t *j)
{
    uint64_t now = thread_cpu_us();
    atomic_fetch_add(&j->sh->cpu_us, now - j->cpu_mark_us);
    j->cpu_mark_us = now;
}

void rec_job_stop(rec_job_t *j, uint64_t at_us)
{
    j->stop_requested = true;
    j->stop_at_us = at_us;
}

/* ---- start ---- */

static void job_start(rec_job_t *j, int64_t t0_us)
{
    j->started = true;
    j->t0_us = IRTC_MAX(t0_us, j->origin_us);
    j->audio_offset = (j->t0_us - j->origin_us) * REC_AUDIO_RATE / 1000000;
    if (j->mixer != NULL)
        rec_mixer_skip_to(j->mixer, j->audio_offset);
}

/* No keyframe from the main user in time (no camera, muted, or a lost
 * request): the file starts with audio and a black picture at the canvas
 * size; the user's video joins, transcoded, when its keyframe comes. */
static void start_without_video(rec_job_t *j)
{
    char why[256];
    job_start(j, j->origin_us);
    j->vo = VO_TRANSCODE;
    j->vo_w = j->cfg.mixed_w;
    j->vo_h = j->cfg.mixed_h;
    j->venc = rec_venc_new(j->vo_w, j->vo_h, 30, j->cfg.video_kbps, why, sizeof(why));
    if (j->venc == NULL) {
        rec_out_fail(j, "%s", why);
        return;
    }
    j->vframe = rec_frame_new_black(j->vo_w, j->vo_h);
    rec_venc_encode(j->venc, j->vframe, 0, true, rec_out_write_video, j);
}

/* ---- mode 0 video ---- */

static void transcode(rec_job_t *j, rec_track_t *t, const rec_frame_t *f, int64_t rel_us)
{
    char why[256];
    if (t->vdec == NULL && (t->vdec = rec_vdec_new(t->codec)) == NULL) {
        rec_out_fail(j, "no decoder for the user's video codec");
        return;
    }
    AVFrame *pic = rec_vdec_decode(t->vdec, f->data, f->len, rel_us);
    if (pic == NULL)
        return;
    if (j->venc == NULL) {
        if (j->vo_w == 0) {
            j->vo_w = pic->width & ~1;
            j->vo_h = pic->height & ~1;
        }
        j->venc = rec_venc_new(j->vo_w, j->vo_h, 30, j->cfg.video_kbps, why, sizeof(why));
        if (j->venc == NULL) {
            rec_out_fail(j, "%s", why);
            return;
        }
    }
    const AVFrame *in = pic;
    if (pic->width != j->vo_w || pic->height != j->vo_h || pic->format != AV_PIX_FMT_YUV420P) {
        if (j->vframe == NULL)
            j->vframe = rec_frame_new_black(j->vo_w, j->vo_h);
        rec_blit(&t->sws, j->vframe, 0, 0, j->vo_w, j->vo_h, pic);
        in = j->vframe;
    }
    bool force_key = j->vo_src != t; /* a new source: the decoder must not lean on the old one */
    j->vo_src = t;
    rec_venc_encode(j->venc, in, rel_us, force_key, rec_out_write_video, j);
}

static void single_video(rec_job_t *j, rec_track_t *t, const rec_frame_t *f, int64_t pts_us)
{
    if (!j->started) {
        if (!f->keyframe)
            return;
        job_start(j, pts_us);
    }
    int64_t rel = pts_us - j->t0_us;
    if (rel < 0)
        return;
    if (j->vo == VO_NONE) {
        int w = 0, h = 0;
        if (t->codec == CODEC_H264 && rec_h264_dimensions(f->data, f->len, &w, &h)) {
            j->vo = VO_REMUX;
            j->vo_w = w;
            j->vo_h = h;
            atomic_store(&j->sh->remux, true);
        } else {
            j->vo = VO_TRANSCODE; /* MP4 cannot carry VP8/VP9 */
        }
    }
    if (j->vo == VO_REMUX && t->codec == CODEC_H264) {
        j->vo_src = t;
        rec_out_write_video(j, f->data, f->len, rel, f->keyframe);
    } else {
        transcode(j, t, f, rel);
    }
}

/* ---- frames ---- */

static void anchor(rec_track_t *t, const rec_frame_t *f)
{
    t->anchored = true;
    t->last_ts = f->rtp_ts;
    t->ts64 = t->anchor_ts64 = 0;
    t->anchor_us = IRTC_MAX((int64_t)f->arrival_us, t->last_pts_us + 1);
}

static int64_t frame_time(rec_track_t *t, const rec_frame_t *f)
{
    if (!t->anchored || f->discont) {
        anchor(t, f);
    } else {
        t->ts64 += (int32_t)(f->rtp_ts - t->last_ts);
        t->last_ts = f->rtp_ts;
    }
    int64_t pts = t->anchor_us + (t->ts64 - t->anchor_ts64) * 1000000 / (int64_t)t->clock_rate;
    if (llabs(pts - (int64_t)f->arrival_us) > 2000000) {
        anchor(t, f);
        pts = t->anchor_us;
        t->pos_valid = false;
    }
    if (pts <= t->last_pts_us)
        pts = t->last_pts_us + 1;
    t->last_pts_us = pts;
    return pts;
}

static void audio_frame(rec_job_t *j, rec_track_t *t, const rec_frame_t *f, int64_t pts_us)
{
    if (j->mixer == NULL)
        return;
    if (t->adec == NULL && (t->adec = rec_adec_new()) == NULL)
        return;
    const float *pcm;
    int n = rec_adec_decode(t->adec, f->data, f->len, &pcm);
    if (n <= 0)
        return;
    int64_t pos = (pts_us - j->origin_us) * REC_AUDIO_RATE / 1000000;
    /* RTP timestamps are exact; the µs rounding is not: stay sample-contiguous */
    if (t->pos_valid && llabs(pos - t->next_pos) < REC_AUDIO_RATE / 50)
        pos = t->next_pos;
    t->next_pos = pos + n;
    t->pos_valid = true;
    rec_mixer_add(j->mixer, pos, pcm, n);
}

static void handle_frame(rec_job_t *j, rec_track_t *t, const rec_frame_t *f)
{
    int64_t pts = frame_time(t, f);
    if (!j->have_origin) {
        j->have_origin = true;
        j->origin_us = pts;
    }
    if (t->kind == 0) {
        audio_frame(j, t, f, pts);
    } else if (j->cfg.kind == REC_KIND_IMAGE) {
        rec_snap_frame(j, t, f, pts);
    } else if (j->cfg.mode == REC_MODE_MIXED) {
        if (!j->started)
            job_start(j, j->origin_us);
        rec_compose_frame(j, t, f, pts);
    } else {
        single_video(j, t, f, pts);
    }
}

static void keyframe_requests(rec_job_t *j, rec_track_t *t)
{
    if (t->kind != 1)
        return;
    bool want = rec_depack_want_keyframe(t->dp);
    if (!want && t->got_packets && rec_depack_waiting_keyframe(t->dp) &&
        j->clock_us >= t->last_kf_req_us + REC_KEYFRAME_RETRY_US)
        want = true;
    if (want && j->clock_us >= t->last_kf_req_us + REC_KEYFRAME_RETRY_US / 2) {
        t->last_kf_req_us = j->clock_us;
        rec_event_t ev = {
            .type = REC_EV_KEYFRAME_NEEDED, .recording_id = j->cfg.recording_id, .stream_id = t->stream_id};
        j->emit(j->emit_ud, &ev);
    }
}

/* Moves packets that arrived up to horizon_us from the ring into the
 * depacketizer; ignored tracks are only drained so the worker's pushes keep
 * succeeding. */
static void drain_ring(rec_job_t *j, rec_track_t *t, uint64_t horizon_us)
{
    const spsc_slot_t *s;
    while ((s = spsc_ring_peek(t->ring)) != NULL) {
        if (!t->ignored && s->arrival_us > horizon_us)
            break;
        if (!t->ignored) {
            rec_depack_push(t->dp, s->data, s->len, s->arrival_us);
            t->got_packets = true;
            if (s->arrival_us > j->max_arrival_us)
                j->max_arrival_us = s->arrival_us;
        }
        spsc_ring_pop(t->ring);
    }
    atomic_store_explicit(&t->ring->overflowed, false,
                          memory_order_relaxed); /* the gap shows as lost sequence numbers */
}

static void process_frames(rec_job_t *j, rec_track_t *t, uint64_t now_us)
{
    rec_frame_t f;
    if (t->ignored)
        return;
    while (rec_depack_next(t->dp, now_us, &f) == 1 && !j->mux_failed)
        handle_frame(j, t, &f);
    keyframe_requests(j, t);
}

static void publish_counters(rec_job_t *j)
{
    uint64_t dropped = j->dropped_gone, lost = j->lost_gone;
    for (unsigned i = 0; i < j->n_tracks; i++) {
        rec_track_t *t = j->tracks[i];
        dropped += atomic_load_explicit(&t->ring->dropped, memory_order_relaxed) - t->dropped0;
        lost += rec_depack_stats(t->dp)->lost;
    }
    atomic_store(&j->sh->dropped, dropped);
    atomic_store(&j->sh->lost, lost);
    if (j->mux != NULL) {
        atomic_store(&j->sh->bytes, rec_mux_bytes(j->mux));
        atomic_store(&j->sh->duration_ms, rec_mux_duration_ms(j->mux));
    }
}

/* Flushes and drops tracks the control thread removed. */
static void reap_tracks(rec_job_t *j)
{
    for (unsigned i = 0; i < j->n_tracks;) {
        rec_track_t *t = j->tracks[i];
        if (!t->removing) {
            i++;
            continue;
        }
        drain_ring(j, t, UINT64_MAX);
        process_frames(j, t, UINT64_MAX);
        j->dropped_gone += atomic_load(&t->ring->dropped) - t->dropped0;
        j->lost_gone += rec_depack_stats(t->dp)->lost;
        track_free(t);
        j->tracks[i] = j->tracks[--j->n_tracks];
        atomic_store(&j->sh->tracks, j->n_tracks);
    }
}

/* Everything due up to the clock minus the delay: composite frames, then audio. */
static void produce(rec_job_t *j, bool final)
{
    if (!j->started || j->mux_failed)
        return;
    int64_t upto = (int64_t)j->clock_us - REC_DELAY_US;
    if (final) {
        upto = j->origin_us;
        for (unsigned i = 0; i < j->n_tracks; i++)
            upto = IRTC_MAX(upto, j->tracks[i]->last_pts_us);
        upto += 20000; /* the last frame's own duration */
    }
    if (j->cfg.mode == REC_MODE_MIXED && j->cfg.kind == REC_KIND_VIDEO)
        rec_compose_run(j, upto - j->t0_us);
    if (j->mixer != NULL && j->mux != NULL && !j->mux_failed) {
        int64_t samples = (upto - j->origin_us) * REC_AUDIO_RATE / 1000000;
        if (final)
            rec_mixer_finish(j->mixer, samples, rec_out_write_audio, j);
        else
            rec_mixer_run(j->mixer, samples, rec_out_write_audio, j);
    }
}

/* ---- finishing ---- */

static void flush_encoders(rec_job_t *j)
{
    if (j->venc != NULL && !j->mux_failed)
        rec_venc_encode(j->venc, NULL, 0, false, rec_out_write_video, j);
}

/* Gives the file its final name, or removes it when nothing was recorded. */
static void settle_file(rec_job_t *j, bool have_media)
{
    char why[512];
    if (j->part_name[0] == '\0' || j->dirfd < 0)
        return;
    if (!have_media) {
        unlinkat(j->dirfd, j->part_name, 0);
        j->final_path[0] = '\0';
        return;
    }
    if (rec_path_commit(j->dirfd, j->part_name, j->cfg.name, ".mp4", j->final_name, sizeof(j->final_name), why,
                        sizeof(why)) != IRTC_OK) {
        rec_out_fail(j, "%s", why);
        rec_path_join(j->final_path, sizeof(j->final_path), j->cfg.base, j->cfg.rel, j->part_name);
        return;
    }
    rec_path_join(j->final_path, sizeof(j->final_path), j->cfg.base, j->cfg.rel, j->final_name);
}

static void finish(rec_job_t *j)
{
    char why[256];
    bool failed_before = j->mux_failed;
    if (!failed_before && j->cfg.kind == REC_KIND_VIDEO) {
        for (unsigned i = 0; i < j->n_tracks; i++) {
            drain_ring(j, j->tracks[i], UINT64_MAX);
            process_frames(j, j->tracks[i], UINT64_MAX);
        }
        if (!j->started && j->have_origin && j->cfg.mode == REC_MODE_SINGLE)
            start_without_video(j); /* stopped before the main video came: keep the audio */
        produce(j, true);
        flush_encoders(j);
        if (j->mux != NULL && !j->mux_failed && rec_mux_finish(j->mux, why, sizeof(why)) != IRTC_OK)
            rec_out_fail(j, "%s", why);
    }
    publish_counters(j);
    rec_event_t ev = {.type = REC_EV_DONE, .recording_id = j->cfg.recording_id};
    if (j->cfg.kind == REC_KIND_VIDEO) {
        bool have_media = j->mux != NULL && rec_mux_bytes(j->mux) > 0;
        if (j->mux != NULL) {
            ev.bytes = rec_mux_bytes(j->mux);
            ev.duration_ms = rec_mux_duration_ms(j->mux);
            rec_mux_free(j->mux); /* closes the fd: the file ends at its last fragment */
            j->mux = NULL;
        }
        settle_file(j, have_media);
        if (!have_media && !j->mux_failed)
            rec_out_fail(j, "no media received: the user published no keyframe before the stop");
    } else {
        ev.bytes = j->snap_bytes;
        if (j->snaps == 0 && !j->mux_failed)
            rec_out_fail(j, "no picture: no decodable video from the user");
    }
    ev.dropped_packets = atomic_load(&j->sh->dropped);
    ev.lost_packets = atomic_load(&j->sh->lost);
    ev.path = j->final_path[0] ? j->final_path : NULL;
    char note[160];
    if (j->mux_failed) {
        ev.state = REC_STATE_FAILED;
        ev.reason = j->reason;
    } else {
        ev.state = REC_STATE_COMPLETE;
        if (ev.dropped_packets > 0) {
            snprintf(note, sizeof(note), "%llu packets dropped: the recorder fell behind (ring overflow)",
                     (unsigned long long)ev.dropped_packets);
            ev.reason = note;
        }
    }
    atomic_store(&j->sh->state, ev.state);
    atomic_store(&j->sh->bytes, ev.bytes);
    atomic_store(&j->sh->duration_ms, ev.duration_ms);
    account_cpu(j);
    j->done = true;
    j->emit(j->emit_ud, &ev); /* the last touch of the session: it may be freed from here on */
}

/* ---- the poll ---- */

/* The oldest packet waiting in a ring that is not ignored, or UINT64_MAX. */
static uint64_t oldest_pending(rec_job_t *j)
{
    uint64_t oldest = UINT64_MAX;
    for (unsigned i = 0; i < j->n_tracks; i++) {
        const spsc_slot_t *s = spsc_ring_peek(j->tracks[i]->ring);
        if (s != NULL && !j->tracks[i]->ignored && s->arrival_us < oldest)
            oldest = s->arrival_us;
    }
    return oldest;
}

/* Frames of every track up to the clock (video first: in mode 0 it decides
 * where the file starts), then whatever is due. */
static void step(rec_job_t *j)
{
    for (int kind = 1; kind >= 0; kind--)
        for (unsigned i = 0; i < j->n_tracks; i++)
            if (j->tracks[i]->kind == kind)
                process_frames(j, j->tracks[i], j->clock_us);
    if (!j->started && j->have_origin && j->cfg.kind == REC_KIND_VIDEO && j->cfg.mode == REC_MODE_SINGLE &&
        (int64_t)j->clock_us >= j->origin_us + REC_START_WAIT_US)
        start_without_video(j);
    produce(j, false);
}

/* Works through what the rings hold in slices of SLICE_US of arrival time,
 * so a backlog (after a stalled write, or a burst) is mixed and composed in
 * time order instead of running past the mixer's window.  The clock follows
 * the data while there is a backlog and the monotonic clock once the rings
 * are empty (the workers stamp arrivals with the same clock). */
#define SLICE_US 40000
static void consume(rec_job_t *j, uint64_t now_us)
{
    for (unsigned i = 0; i < j->n_tracks; i++)
        if (j->tracks[i]->ignored)
            drain_ring(j, j->tracks[i], UINT64_MAX);
    uint64_t oldest = oldest_pending(j);
    for (int guard = 0; guard < 500 && oldest != UINT64_MAX && !j->mux_failed; guard++) {
        for (unsigned i = 0; i < j->n_tracks; i++)
            drain_ring(j, j->tracks[i], oldest + SLICE_US);
        if (j->max_arrival_us > j->clock_us)
            j->clock_us = j->max_arrival_us;
        step(j);
        oldest = oldest_pending(j);
    }
    /* Caught up: the clock is now, or the stop's time when that came first
     * (a backlog just worked through must not stretch the end of the file). */
    uint64_t until = j->stop_requested && j->stop_at_us != 0 && j->stop_at_us < now_us ? j->stop_at_us : now_us;
    if (oldest == UINT64_MAX && until > j->clock_us)
        j->clock_us = until;
    if (j->created_us == 0)
        j->created_us = j->clock_us;
    step(j);
}

bool rec_job_poll(rec_job_t *j, uint64_t now_us)
{
    if (j->done)
        return true;
    j->cpu_mark_us = thread_cpu_us();
    if (!j->opened) {
        char why[256];
        j->clock_us = j->created_us = now_us;
        rec_out_open(j);
        if (!j->mux_failed && j->cfg.kind == REC_KIND_VIDEO &&
            (j->mixer = rec_mixer_new(j->cfg.audio_codec, why, sizeof(why))) == NULL)
            rec_out_fail(j, "%s", why);
    }
    if (j->mux_failed) { /* nothing more can be written: report now */
        finish(j);
        return true;
    }
    reap_tracks(j);
    consume(j, now_us);
    if (j->cfg.kind == REC_KIND_IMAGE)
        rec_snap_check(j);
    publish_counters(j);
    if (j->stop_requested || j->mux_failed || (j->cfg.kind == REC_KIND_IMAGE && j->snaps >= j->cfg.capture_nums)) {
        finish(j);
        return true;
    }
    account_cpu(j);
    return false;
}
