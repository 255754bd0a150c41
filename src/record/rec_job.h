/*
 * rec_job.h — the recorder-thread side of one session (internal to
 * src/record): created on the control thread, then handed whole to one
 * recorder thread, which alone touches it until rec_job_free.  The only
 * state both sides see is rec_shared_t (atomics: written by the recorder
 * thread, read by rec_session_status on the control thread); events go out
 * through the emit function, which the pool turns into messages.
 *
 * Does not: know threads, queues or SQLite (rec_pool.c does).  Its state
 * (rec_job_state.h) belongs to the job's files alone; the pool reads only
 * rec_shared_t.
 */
#ifndef IRTC_REC_JOB_H
#define IRTC_REC_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/spsc_ring.h"
#include "media/codecs/codec.h"
#include "record/rec_job_state.h"

rec_job_t *rec_job_new(const rec_job_config_t *cfg, rec_shared_t *shared, rec_job_emit_fn emit, void *ud);
void rec_job_free(rec_job_t *j);
/* Takes over the caller's reference to ring. */
void rec_job_add_track(rec_job_t *j, spsc_ring_t *ring, const codec_params_t *params, uint64_t stream_id,
                       const char *user_id, bool is_main);
void rec_job_remove_track(rec_job_t *j, spsc_ring_t *ring);
/* Finishes at the next poll with the media up to at_us (monotonic µs, the
 * arrival clock; 0 = whatever has arrived): a thread that has fallen behind
 * does not pad the file up to the moment it catches up. */
void rec_job_stop(rec_job_t *j, uint64_t at_us);
/* One turn at monotonic time now_us: drains rings, writes what is due.
 * Returns true once the job emitted REC_EV_DONE; then rec_job_free it. */
bool rec_job_poll(rec_job_t *j, uint64_t now_us);

#endif
