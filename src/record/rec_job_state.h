/*
 * rec_job_state.h — the state of one recorder-thread job: what the pool
 * gives it (rec_job_config_t, rec_shared_t, the emit function) and what the
 * files that make up a job share: rec_job.c (tracks, timing, mode 0),
 * rec_out.c (the file, failure, events), rec_compose.c (mode 1 composite)
 * and rec_snap.c (snapshots).  Types only; recorder thread only, except
 * rec_shared_t (atomics the control thread reads).
 */
#ifndef IRTC_REC_JOB_STATE_H
#define IRTC_REC_JOB_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/spsc_ring.h"
#include "record/rec_av.h"
#include "record/rec_depack.h"
#include "record/rec_mux.h"
#include "record/rec_path.h"
#include "record/recorder.h"

struct AVFrame;
struct SwsContext;

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

#define REC_DELAY_US 300000       /* mixing and composing wait this long for late packets */
#define REC_START_WAIT_US 2000000 /* mode 0 waits this long for the main video's keyframe */
#define REC_STALE_US 2000000      /* a video without frames this long leaves the composite */
#define REC_KEYFRAME_RETRY_US 1000000
#define REC_FRAMEQ 32 /* encoded frames waiting for their composite tick: > 1 s at 30 fps */

typedef struct {
    uint8_t *data;
    size_t len, cap;
    int64_t pts_us;
} rec_qframe_t;

typedef struct {
    spsc_ring_t *ring;
    uint64_t stream_id;
    char user_id[128];
    bool is_main, ignored, removing;
    int kind, codec;
    uint32_t clock_rate;
    rec_depack_t *dp;
    uint64_t dropped0; /* ring->dropped when added */
    /* RTP timestamp → µs on the arrival clock */
    bool anchored;
    uint32_t last_ts;
    int64_t ts64, anchor_ts64;
    int64_t anchor_us, last_pts_us;
    bool got_packets;
    uint64_t last_kf_req_us;
    /* audio */
    rec_adec_t *adec;
    int64_t next_pos;
    bool pos_valid;
    /* video */
    rec_vdec_t *vdec;
    /* mode 1: frames are decoded when their tick comes, so only one picture
     * per track is held, however long the composite waits for late packets */
    rec_qframe_t q[REC_FRAMEQ];
    int qhead, qn;
    struct AVFrame *cur; /* the picture shown, pts in µs from t0 */
    struct SwsContext *sws;
} rec_track_t;

typedef enum { VO_NONE = 0, VO_REMUX, VO_TRANSCODE } rec_vo_t;

struct rec_job {
    rec_job_config_t cfg;
    rec_shared_t *sh;
    rec_job_emit_fn emit;
    void *emit_ud;

    rec_track_t **tracks;
    unsigned n_tracks;
    uint64_t dropped_gone, lost_gone; /* counters of removed tracks */

    bool stop_requested, done, opened;
    uint64_t stop_at_us; /* when the stop was asked for (monotonic, as arrivals): the media ends there */
    uint64_t clock_us, created_us, max_arrival_us, cpu_mark_us;
    bool have_origin, started;
    int64_t origin_us, t0_us;

    /* output file */
    int dirfd, fd;
    char final_name[REC_NAME_MAX + 32], part_name[REC_NAME_MAX + 40];
    char final_path[REC_FULL_PATH_MAX];
    rec_mux_t *mux;
    bool mux_failed;
    char reason[512];

    /* audio */
    rec_mixer_t *mixer;
    int64_t audio_offset; /* samples from origin to t0 */

    /* video out */
    rec_vo_t vo;
    int vo_w, vo_h;
    rec_venc_t *venc;
    struct AVFrame *vframe; /* canvas for scaled / composed pictures */
    const rec_track_t *vo_src;
    int64_t next_tick_us; /* mode 1: next composite frame, µs from t0 */
    int64_t last_video_us;

    /* snapshots */
    int snaps;
    int64_t next_snap_us;
    uint64_t snap_bytes, last_snap_clock_us;
};

#endif
