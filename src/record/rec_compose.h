/*
 * rec_compose.h — mode 1 (mixed) video of a job (rec_compose.c).  Internal
 * to a recorder-thread job; recorder thread only.
 */
#ifndef IRTC_REC_COMPOSE_H
#define IRTC_REC_COMPOSE_H

#include <stdint.h>

#include "record/rec_job_state.h"

/* Queues one encoded frame of t for the composite tick at pts_us. */
void rec_compose_frame(rec_job_t *j, rec_track_t *t, const rec_frame_t *f, int64_t pts_us);
/* Composes and encodes every canvas due up to upto_us (µs from t0). */
void rec_compose_run(rec_job_t *j, int64_t upto_us);
/* Frees what the composite holds for t (its queue, picture and scaler). */
void rec_compose_drop_track(rec_track_t *t);

#endif
