/*
 * rec_out.c — one job's output: the .part file and its muxer (opened once
 * the first video access unit gives the parameter sets), what is written to
 * it, the job's first failure (kept, the rest ignored) and its simple
 * events.  Shared by rec_job.c, rec_compose.c and rec_snap.c.
 *
 * Thread: the job's recorder thread.  Does not: decide when the file starts
 * or ends (rec_job.c), or rename it into place.
 */
#include "record/rec_out.h"
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>

#include <libavcodec/avcodec.h>

void rec_out_emit(rec_job_t *j, rec_event_type_t type)
{
    rec_event_t ev = {.type = type, .recording_id = j->cfg.recording_id};
    if (type == REC_EV_STARTED) {
        ev.path = j->final_path;
        ev.width = j->vo_w;
        ev.height = j->vo_h;
    }
    j->emit(j->emit_ud, &ev);
}

void rec_out_fail(rec_job_t *j, const char *fmt, ...)
{
    if (j->reason[0] && j->mux_failed)
        return; /* keep the first cause */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->reason, sizeof(j->reason), fmt, ap);
    va_end(ap);
    j->mux_failed = true;
}

/* ---- the output file ---- */

void rec_out_open(rec_job_t *j)
{
    char why[512];
    j->opened = true;
    if (j->cfg.kind == REC_KIND_IMAGE && j->cfg.storage == REC_STORAGE_ISDP)
        return; /* pictures go back as bytes */
    if (rec_path_open_dir(j->cfg.base, j->cfg.rel, &j->dirfd, why, sizeof(why)) != IRTC_OK) {
        rec_out_fail(j, "%s", why);
        return;
    }
    if (j->cfg.kind == REC_KIND_IMAGE)
        return; /* snapshots create their files one by one */
    if (rec_path_create(j->dirfd, j->cfg.name, ".mp4", j->final_name, j->part_name, sizeof(j->part_name), &j->fd, why,
                        sizeof(why)) != IRTC_OK) {
        rec_out_fail(j, "%s", why);
        return;
    }
    rec_path_join(j->final_path, sizeof(j->final_path), j->cfg.base, j->cfg.rel, j->final_name);
}

static bool ensure_mux(rec_job_t *j, const uint8_t *au, size_t len)
{
    if (j->mux != NULL)
        return true;
    if (j->mux_failed || j->fd < 0)
        return false;
    uint8_t params[1024];
    rec_mux_params_t p = {.audio_enc = rec_mixer_encoder(j->mixer), .width = j->vo_w, .height = j->vo_h};
    p.video_extradata_len = rec_h264_extract_params(au, len, params, sizeof(params));
    p.video_extradata = params;
    if (p.video_extradata_len == 0) {
        rec_out_fail(j, "the first video access unit has no SPS/PPS");
        return false;
    }
    char why[256];
    int fd = j->fd;
    j->fd = -1; /* the muxer owns it now */
    if (rec_mux_open(fd, &p, &j->mux, why, sizeof(why)) != IRTC_OK) {
        rec_out_fail(j, "%s", why);
        return false;
    }
    atomic_store(&j->sh->state, REC_STATE_RECORDING);
    rec_out_emit(j, REC_EV_STARTED);
    return true;
}

int rec_out_write_video(void *ud, const uint8_t *au, size_t len, int64_t pts_us, bool keyframe)
{
    rec_job_t *j = ud;
    if (!ensure_mux(j, au, len))
        return IRTC_EIO;
    if (rec_mux_video(j->mux, au, len, pts_us, keyframe) != IRTC_OK) {
        rec_out_fail(j, "%s", rec_mux_error(j->mux) ? rec_mux_error(j->mux) : "video write failed");
        return IRTC_EIO;
    }
    j->last_video_us = pts_us;
    return IRTC_OK;
}

int rec_out_write_audio(void *ud, AVPacket *pkt)
{
    rec_job_t *j = ud;
    if (j->mux == NULL) /* no video yet: audio waits for the header */
        return IRTC_OK;
    pkt->pts -= j->audio_offset;
    pkt->dts -= j->audio_offset;
    if (rec_mux_audio(j->mux, pkt) != IRTC_OK) {
        rec_out_fail(j, "%s", rec_mux_error(j->mux) ? rec_mux_error(j->mux) : "audio write failed");
        return IRTC_EIO;
    }
    return IRTC_OK;
}
