/*
 * capture.h — what is being recorded, and why: the REST capture calls
 * (captureVideo, captureImage, stopCapture), the auto-record rules and the
 * rooms' lives, turned into recorder sessions (recorder.h) fed by SFU taps
 * (sfu_tap_add).  It owns the recorder pool.
 *
 * Thread: control thread only; the recorder's events arrive there too.
 *
 * Layering: this is glue above the room registry (it is the registry's
 * observer, room_registry_set_observer) and beside the REST API (it provides
 * the rec_* hooks of api_env.h); the recorder core below it (recorder.h) knows
 * nothing of rooms, rules or REST.  docs/RECORDING.md ("From REST calls to
 * sessions") describes the behaviour.
 *
 * Does not: validate REST fields (src/http does), write files (the recorder
 * threads do), sign or deliver callbacks (it queues them with cb_notify,
 * callback.h; the sender thread delivers them).
 */
#ifndef IRTC_CAPTURE_H
#define IRTC_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "core/buf.h"
#include "core/config.h"
#include "http/api_env.h"

struct store;
struct room_registry;
struct sfu;
struct cb_sender;

typedef struct cap cap_t;

typedef struct {
    const cfg_t *cfg;            /* recording.*: threads, audio_codec, max_sessions, nas_base_path */
    h2o_evloop_t *loop;          /* the control loop: recorder events are delivered here */
    struct store *store;         /* the control thread's connection: rules, recordings rows */
    struct room_registry *rooms; /* followed through its observer */
    struct sfu *sfu;             /* taps and keyframe requests */
    struct cb_sender *callbacks; /* kicked after a callback is queued; NULL: found at its next look */
    const char *isdp_base_path;  /* storage "ISDP" video files; created (0750) if missing */
} cap_config_t;

/* Marks recordings left unfinished by a previous run as failed ("irtcd
 * restarted"), creates the ISDP directory, starts the recorder threads and
 * becomes the registry's observer.  IRTC_EINVAL / IRTC_EIO with err. */
int cap_new(const cap_config_t *cfg, cap_t **out, char *err, size_t errcap);
/* Stops every recording (each file is finalized; their rows are written) and
 * the recorder threads, then lets go of the registry.  Call before the SFU
 * and the registry are freed: the taps come off through the SFU. */
void cap_free(cap_t *cap);
/* A metrics collector (core/metrics.h), ctx the cap_t: recordings by mode
 * and outcome, bytes written, ring drops.  Control thread. */
void cap_collect(buf_t *out, void *ctx);

/* ---- the REST hooks (api_env.h), ctx is the cap_t ---- */

/* captureVideo / captureImage: user_id must be in the room.  The rule gives
 * the mode (recordingModel), storage, capture interval and count; the request
 * may override recordPath, fileName, callbackUrl and extraData.  IRTC_OK with
 * recording_id; IRTC_ENOTFOUND (no room, user not in it), IRTC_ECONFLICT (rule
 * disabled), IRTC_ELIMIT (recording.max_sessions), else a recorder failure. */
int cap_capture(void *cap, const api_capture_req_t *req, char recording_id[32], const char **why);
/* stopCapture: recording_id "" stops every recording of the channel (IRTC_ENOTFOUND
 * when none is running); otherwise that recording of app_id (IRTC_OK when it
 * has already ended, IRTC_ENOTFOUND when it is not the app's). */
int cap_stop(void *cap, const char *app_id, const char *channel_id, const char *recording_id, const char **why);
/* startAutoRecord / stopAutoRecord, after the rule's state was stored:
 * starting also records the app's rooms that already have a publisher;
 * stopping starts no new ones, and running ones go on until their room empties. */
void cap_auto_changed(void *cap, const char *app_id, int64_t rule_id, bool active);
/* Cluster mode: node_id died with recordings running.  Each of its
 * unfinished rows (replicated here) is marked failed with reason and its
 * callback is queued in this node's outbox, naming the path the row holds
 * (the file the dead node was writing, as far as it got).
 * Returns how many, or a negative code. */
int cap_fail_node(cap_t *cap, const char *node_id, const char *reason);
/* checkRtcHeath: every recorder thread came round its loop within 2 s. */
bool cap_healthy(void *cap);

/* ---- observation (tests, /metrics) ---- */

typedef struct {
    unsigned sessions; /* live: started and not yet DONE */
    unsigned taps;     /* rings tapped into them */
} cap_stats_t;
void cap_stats(const cap_t *cap, cap_stats_t *out);

#endif
