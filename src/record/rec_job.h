/*
 * rec_job.h — the recorder-thread side of one session (internal to
 * src/record): created on the control thread, then handed whole to one
 * recorder thread, which alone touches it until rec_job_free.  The only
 * state both sides see is rec_shared_t (atomics: written by the recorder
 * thread, read by rec_session_status on the control thread); events go out
 * through the emit function, which the pool turns into messages.
 *
 * Does not: know threads, queues or SQLite (rec_pool.c does).
 */
#ifndef IRTC_REC_JOB_H
#define IRTC_REC_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "record/rec_path.h"
#include "record/recorder.h"

typedef struct {
    _Atomic int state; /* rec_state_t */
    _Atomic uint64_t bytes, dropped, lost, cpu_us;
    _Atomic int64_t duration_ms;
    _Atomic bool remux;
    _Atomic unsigned tracks;
} rec_shared_t;

typedef struct {
    char recording_id[32];
    char app_id[64], channel_id[128], user_id[128];
    rec_kind_t kind;
    rec_mode_t mode;
    rec_storage_t storage;
    char base[REC_BASE_MAX];
    char rel[REC_PATH_MAX + 1];
    char name[REC_NAME_MAX + 1];
    int capture_interval_s, capture_nums;
    rec_audio_codec_t audio_codec;
    int mixed_w, mixed_h, mixed_fps, video_kbps;
} rec_job_config_t;

typedef struct rec_job rec_job_t;
typedef void (*rec_job_emit_fn)(void *ud, const rec_event_t *ev);

rec_job_t *rec_job_new(const rec_job_config_t *cfg, rec_shared_t *shared, rec_job_emit_fn emit, void *ud);
void rec_job_free(rec_job_t *j);
/* Takes over the caller's reference to ring. */
void rec_job_add_track(rec_job_t *j, rec_ring_t *ring, uint64_t stream_id, const char *user_id, bool is_main);
void rec_job_remove_track(rec_job_t *j, rec_ring_t *ring);
/* Finishes at the next poll with the media up to at_us (monotonic µs, the
 * arrival clock; 0 = whatever has arrived): a thread that has fallen behind
 * does not pad the file up to the moment it catches up. */
void rec_job_stop(rec_job_t *j, uint64_t at_us);
/* One turn at monotonic time now_us: drains rings, writes what is due.
 * Returns true once the job emitted REC_EV_DONE; then rec_job_free it. */
bool rec_job_poll(rec_job_t *j, uint64_t now_us);

#endif
