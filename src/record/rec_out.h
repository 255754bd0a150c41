/*
 * rec_out.h — one job's output file, failure and simple events (rec_out.c).
 * Internal to a recorder-thread job; recorder thread only.
 */
#ifndef IRTC_REC_OUT_H
#define IRTC_REC_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/rec_job_state.h"

struct AVPacket;

/* Opens the job's directory and, for videos, its .part file; a failure is
 * recorded with rec_out_fail. */
void rec_out_open(rec_job_t *j);
/* Records the job's failure; only the first cause is kept. */
void rec_out_fail(rec_job_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Emits an event with only the job's id (STARTED adds the path and size). */
void rec_out_emit(rec_job_t *j, rec_event_type_t type);
/* Writes one H.264 access unit (ud is the job), opening the muxer with the
 * first one; IRTC_EIO once the file failed.  A rec_venc_encode sink. */
int rec_out_write_video(void *ud, const uint8_t *au, size_t len, int64_t pts_us, bool keyframe);
/* Writes one encoded audio packet (ud is the job); dropped until the muxer
 * is open.  A rec_mixer sink. */
int rec_out_write_audio(void *ud, struct AVPacket *pkt);

#endif
