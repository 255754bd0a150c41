/*
 * rec_snap.h — captureImage pictures of a job (rec_snap.c).  Internal to a
 * recorder-thread job; recorder thread only.
 */
#ifndef IRTC_REC_SNAP_H
#define IRTC_REC_SNAP_H

#include <stdint.h>

#include "record/rec_job_state.h"

/* Decodes one frame of t and takes a picture when one is due. */
void rec_snap_frame(rec_job_t *j, rec_track_t *t, const rec_frame_t *f, int64_t pts_us);
/* Fails or finishes the job when pictures stop coming (called every poll). */
void rec_snap_check(rec_job_t *j);

#endif
