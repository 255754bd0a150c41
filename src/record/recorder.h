/*
 * recorder.h — the recording API the control thread uses: a pool of
 * recorder threads, and sessions (one captureVideo or captureImage each) fed
 * by the SPSC rings the SFU taps fill (core/spsc_ring.h, sfu_tap_add).
 *
 * Threads: every function here runs on the control thread, and every event
 * callback is invoked on the control thread (delivered through an
 * h2o_multithread queue on the control loop).  The recorder threads own the
 * sessions' decoders, encoders and files; they never block a media worker
 * (a stalled disk only makes rings overflow, which is counted) and never
 * call back into the control thread except through that queue.
 *
 * Wiring (record/capture.c does it), for each track to record:
 *     spsc_ring_t *r = spsc_ring_new(video ? 1024 : 256);
 *     codec_params_t p;
 *     sfu_tap_add(sfu, stream_id, !video, r, &p);    (p: what the packets are)
 *     rec_session_add_track(s, r, &p, stream_id, user_id, is_main);
 *     spsc_ring_unref(r);                             (the session and SFU hold theirs)
 * and on a track leaving: sfu_tap_del + rec_session_remove_track.  On
 * REC_EV_DONE call sfu_tap_del for the session's rings (the session has
 * already dropped them).  On REC_EV_KEYFRAME_NEEDED call
 * sfu_request_keyframe(sfu, ev->stream_id).
 *
 * Does not: parse REST bodies, sign or send callbacks, pick rules or choose
 * which users to record (the caller adds the tracks), touch the SFU.
 * docs/RECORDING.md describes modes, layout, paths and failure behaviour.
 */
#ifndef IRTC_RECORDER_H
#define IRTC_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "core/spsc_ring.h"
#include "media/codecs/codec.h"
#include "record/rec_av.h"

struct store;

typedef struct rec_pool rec_pool_t;
typedef struct rec_session rec_session_t;

typedef struct {
    unsigned threads;              /* recorder threads, 1..8 (0 = 1) */
    const char *nas_base_path;     /* storage "NAS": base + recordPath; must exist (the share's mount point) */
    const char *isdp_base_path;    /* storage "ISDP" video files (e.g. data_dir/recordings); must exist */
    rec_audio_codec_t audio_codec; /* REC_AUDIO_AAC (default) or REC_AUDIO_OPUS */
    int mixed_width, mixed_height; /* mode 1 canvas (0 = 1280x720) */
    int mixed_fps;                 /* mode 1 frame rate, 10..30 (0 = 15) */
    int video_kbps;                /* transcoded / composite H.264 bitrate (0 = 2000) */
    struct store *store;           /* control thread's connection: the recordings rows; NULL = none kept */
    h2o_evloop_t *control_loop;    /* where events are delivered */
} rec_pool_config_t;

/* Starts the threads.  IRTC_EINVAL with err for a bad config. */
int rec_pool_new(const rec_pool_config_t *cfg, rec_pool_t **out, char *err, size_t errcap);
/* Stops every session (finalizing its file), delivers their REC_EV_DONE,
 * joins the threads and frees the pool. */
void rec_pool_free(rec_pool_t *p);

typedef enum { REC_KIND_VIDEO = 0, REC_KIND_IMAGE = 1 } rec_kind_t;
typedef enum { REC_MODE_SINGLE = 0, REC_MODE_MIXED = 1 } rec_mode_t;
typedef enum { REC_STORAGE_NAS = 0, REC_STORAGE_ISDP = 1 } rec_storage_t;
typedef enum {
    REC_STATE_STARTING = 0, /* waiting for the first keyframe */
    REC_STATE_RECORDING,    /* the file has media */
    REC_STATE_COMPLETE,     /* finished, final name in place */
    REC_STATE_FAILED,       /* see reason; what was written stays playable */
} rec_state_t;

typedef enum {
    REC_EV_KEYFRAME_NEEDED, /* lost video: ask stream_id's publisher for a keyframe */
    REC_EV_STARTED,         /* first media written; path is the final path */
    REC_EV_SNAPSHOT,        /* one snapshot taken (index 1..capture_nums) */
    REC_EV_DONE,            /* last event: the session handle is freed when the callback returns */
} rec_event_type_t;

typedef struct {
    rec_event_type_t type;
    const char *recording_id;
    uint64_t stream_id;  /* KEYFRAME_NEEDED */
    rec_state_t state;   /* DONE: COMPLETE or FAILED */
    const char *reason;  /* DONE: why it failed, or a note (dropped packets); NULL otherwise */
    const char *path;    /* STARTED/DONE: the file; SNAPSHOT: the .jpg (NAS) or NULL (ISDP) */
    const uint8_t *jpeg; /* SNAPSHOT with storage ISDP: the JPEG bytes, valid during the callback */
    size_t jpeg_len;
    int index;                /* SNAPSHOT: 1-based */
    int width, height;        /* SNAPSHOT: picture size; STARTED: video size (0 = audio only) */
    uint64_t bytes;           /* DONE: file size (NAS/ISDP video), or JPEG bytes in total */
    int64_t duration_ms;      /* DONE */
    uint64_t dropped_packets; /* DONE: lost to ring overflow (disk or CPU too slow) */
    uint64_t lost_packets;    /* DONE: sequence gaps (network loss not repaired by NACK) */
} rec_event_t;

typedef void (*rec_event_cb)(rec_session_t *s, const rec_event_t *ev, void *ud);

/* Most snapshots one captureImage takes (the rules' captureNums limit too:
 * NAS names go name.jpg, name-1.jpg ... name-999.jpg). */
#define REC_CAPTURE_NUMS_MAX 1000

typedef struct {
    const char *recording_id; /* NULL or "" = generated (yyyymmddHHMMSS + 4 digits) */
    const char *app_id, *channel_id,
        *user_id; /* user_id: the main user (mode 0 video, mode 1 big picture, snapshots) */
    rec_kind_t kind;
    rec_mode_t mode;         /* video only */
    rec_storage_t storage;   /* images to ISDP are handed over as bytes, never written */
    const char *record_path; /* template, may be NULL/"" (the base itself) */
    const char *file_name;   /* template, NULL/"" = "{channel_id}_{file_start_time}" */
    int capture_interval_s;  /* images: 1..3600 (0 = 1) */
    int capture_nums;        /* images: 1..REC_CAPTURE_NUMS_MAX (0 = 1) */
    /* kept in the recordings row only */
    int64_t rule_id;
    const char *callback_url, *extra_data;
    rec_event_cb on_event;
    void *ud;
} rec_params_t;

/* Validates the parameters and templates (IRTC_EINVAL with err naming the
 * field and the cause: answer 1001001), inserts the recordings row (status
 * recording; IRTC_ECONFLICT for a given recording_id that exists, IRTC_EIO
 * for the database) and hands the session to a recorder thread, which
 * creates the directory and the .part file at once (a missing or read-only
 * NAS fails within milliseconds, as REC_EV_DONE).  Add tracks next.
 * The handle stays valid until the REC_EV_DONE callback returns (callbacks
 * run on this thread, so a flag set there is race-free); never use it after. */
int rec_session_new(rec_pool_t *p, const rec_params_t *params, rec_session_t **out, char *err, size_t errcap);
const char *rec_session_id(const rec_session_t *s);

/* Records ring (filled by an SFU tap with packets as params describes) as
 * user_id's track; the session takes its own reference.  Mode 0 uses the is_main video
 * and mixes every audio track; mode 1 composes every video track; images use
 * the is_main video.  IRTC_ECONFLICT after stop, IRTC_EINVAL for a codec we
 * cannot record. */
int rec_session_add_track(rec_session_t *s, spsc_ring_t *ring, const codec_params_t *params, uint64_t stream_id,
                          const char *user_id, bool is_main);
/* The track leaves (the publisher left or unpublished): what it buffered is
 * written, then the ring is released.  The recording goes on. */
int rec_session_remove_track(rec_session_t *s, spsc_ring_t *ring);
/* Finishes the recording: drains the rings, writes the last fragment and
 * the trailer, renames the file, then REC_EV_DONE.  The media ends at the
 * moment of this call, also when the recorder thread is behind (it works
 * through its backlog but pads nothing after it).  Idempotent. */
void rec_session_stop(rec_session_t *s);

typedef struct {
    rec_state_t state;
    uint64_t bytes;
    int64_t duration_ms;
    uint64_t dropped_packets; /* ring overflow: > 0 means the recording has holes */
    uint64_t lost_packets;
    uint64_t cpu_us; /* recorder-thread CPU spent on this session */
    bool remux;      /* mode 0: H.264 copied without transcoding */
    unsigned tracks;
} rec_status_t;
/* A snapshot of the counters the recorder thread publishes (atomics). */
void rec_session_status(const rec_session_t *s, rec_status_t *out);

/* checkRtcHeath: true when every recorder thread has come round its loop
 * (at least every 10 ms when idle) within max_silence_ms; a thread stuck in
 * a write to a hung NAS, or in a codec, does not. */
bool rec_pool_healthy(rec_pool_t *p, uint64_t max_silence_ms);

/* What /metrics shows of the recorder (capture.c's cap_collect).  Classes
 * of sessions: video mode 0, video mode 1, snapshots. */
enum { REC_STATS_SINGLE = 0, REC_STATS_MIXED = 1, REC_STATS_IMAGE = 2, REC_STATS_CLASSES = 3 };
typedef enum {
    REC_FAIL_NO_MEDIA = 0, /* nothing decodable came from the user */
    REC_FAIL_CODEC,        /* no decoder, bad parameter sets, encoder failure */
    REC_FAIL_STORAGE,      /* the file or directory could not be written */
    REC_FAIL_OTHER,
    REC_FAIL_CAUSES
} rec_fail_cause_t;
typedef struct {
    uint64_t active[REC_STATS_CLASSES];    /* sessions running now */
    uint64_t completed[REC_STATS_CLASSES]; /* sessions that ended complete */
    uint64_t failures[REC_FAIL_CAUSES];    /* sessions that ended failed, by cause */
    uint64_t bytes;                        /* written: finished sessions' files plus running ones' so far */
    uint64_t ring_drops;                   /* packets lost to ring overflow (recorder behind), finished + running */
} rec_pool_stats_t;
/* Control thread: a snapshot of the figures above. */
void rec_pool_stats(const rec_pool_t *p, rec_pool_stats_t *out);

/* The live session with this id, or NULL. */
rec_session_t *rec_pool_find(rec_pool_t *p, const char *recording_id);
/* stopCapture without recordingId: stops every session of app_id/channel_id;
 * returns how many. */
unsigned rec_pool_stop_channel(rec_pool_t *p, const char *app_id, const char *channel_id);

#endif
