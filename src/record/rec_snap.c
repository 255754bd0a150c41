/*
 * rec_snap.c — captureImage: JPEG pictures of one user's video, decoded
 * from its first keyframe on, at the publisher's resolution, capture_nums of
 * them capture_interval seconds apart (on the video's own timeline).  NAS
 * storage writes each picture as name.jpg (then name-1.jpg …, never
 * overwriting) through a .part file; ISDP storage hands the bytes to the
 * control thread in REC_EV_SNAPSHOT and writes nothing.
 *
 * Thread: the job's recorder thread.  Does not: Base64 (the callback sender
 * does), or keep pictures after handing them over.
 */
#include "record/rec_snap.h"
#include "record/rec_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>

#include "core/common.h"

#define SNAP_FIRST_TIMEOUT_US 10000000 /* no picture this long after the request: fail */
#define SNAP_STALL_US 10000000         /* video stopped between pictures: finish with what we have */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : ENOSPC;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void save_nas(rec_job_t *j, const uint8_t *jpg, size_t len, rec_event_t *ev)
{
    char final_name[REC_NAME_MAX + 32], part[REC_NAME_MAX + 40], why[512];
    int fd;
    if (rec_path_create(j->dirfd, j->cfg.name, ".jpg", final_name, part, sizeof(part), &fd, why, sizeof(why)) !=
        IRTC_OK) {
        rec_out_fail(j, "%s", why);
        return;
    }
    int err = write_all(fd, jpg, len);
    if (err == 0 && fsync(fd) != 0 && errno != EINVAL)
        err = errno;
    close(fd);
    if (err != 0) {
        unlinkat(j->dirfd, part, 0);
        rec_out_fail(j, "writing %s: %s%s", part, strerror(err), err == ENOSPC ? " (disk full)" : "");
        return;
    }
    if (rec_path_commit(j->dirfd, part, j->cfg.name, ".jpg", final_name, sizeof(final_name), why, sizeof(why)) !=
        IRTC_OK) {
        rec_out_fail(j, "%s", why);
        return;
    }
    rec_path_join(j->final_path, sizeof(j->final_path), j->cfg.base, j->cfg.rel, final_name);
    ev->path = j->final_path;
}

static void take(rec_job_t *j, const AVFrame *pic)
{
    uint8_t *jpg;
    size_t len;
    if (rec_jpeg_encode(pic, &jpg, &len) != IRTC_OK) {
        rec_out_fail(j, "JPEG encoding failed");
        return;
    }
    rec_event_t ev = {.type = REC_EV_SNAPSHOT,
                      .recording_id = j->cfg.recording_id,
                      .index = j->snaps + 1,
                      .width = pic->width & ~1,
                      .height = pic->height & ~1};
    if (j->cfg.storage == REC_STORAGE_NAS) {
        save_nas(j, jpg, len, &ev);
    } else {
        ev.jpeg = jpg;
        ev.jpeg_len = len;
    }
    if (!j->mux_failed) {
        j->snaps++;
        j->snap_bytes += len;
        j->last_snap_clock_us = j->clock_us;
        atomic_store(&j->sh->bytes, j->snap_bytes);
        j->emit(j->emit_ud, &ev);
    }
    free(jpg);
}

void rec_snap_frame(rec_job_t *j, rec_track_t *t, const rec_frame_t *f, int64_t pts_us)
{
    if (j->snaps >= j->cfg.capture_nums)
        return;
    if (t->vdec == NULL && (t->vdec = rec_vdec_new(t->codec)) == NULL) {
        rec_out_fail(j, "no decoder for the user's video codec");
        return;
    }
    AVFrame *pic = rec_vdec_decode(t->vdec, f->data, f->len, pts_us);
    if (pic == NULL)
        return;
    if (!j->started) {
        j->started = true;
        j->next_snap_us = pts_us;
        atomic_store(&j->sh->state, REC_STATE_RECORDING);
    }
    if (pts_us < j->next_snap_us)
        return;
    take(j, pic);
    int64_t interval = (int64_t)j->cfg.capture_interval_s * 1000000;
    j->next_snap_us += interval;
    if (j->next_snap_us < pts_us) /* video paused: keep the cadence from now */
        j->next_snap_us = pts_us + interval;
}

void rec_snap_check(rec_job_t *j)
{
    if (j->snaps == 0 && j->clock_us >= j->created_us + SNAP_FIRST_TIMEOUT_US)
        rec_out_fail(j, "no picture: no decodable video from the user within 10 s");
    else if (j->snaps > 0 && j->snaps < j->cfg.capture_nums &&
             j->clock_us >= j->last_snap_clock_us + (uint64_t)j->cfg.capture_interval_s * 1000000 + SNAP_STALL_US)
        j->stop_requested = true; /* the video stopped: keep what was taken */
}
