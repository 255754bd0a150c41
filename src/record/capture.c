/*
 * capture.c — what is being recorded (see capture.h): one cap_rec_t per
 * recorder session, with the SFU taps feeding it; one cap_room_t per room
 * that has had a publisher, remembering which auto-record rules already
 * recorded it.  Control thread only.
 *
 * Three inputs drive it, all on the control thread:
 *   the REST hooks      cap_capture / cap_stop / cap_auto_changed
 *   the room registry   on_room: a stream published (tap it into every
 *                       session of its room that wants it; auto-record),
 *                       a stream gone (untap it), a room closed (stop)
 *   the recorder        on_rec_event: keyframe requests, snapshots, DONE
 *                       (untap what is left, queue the callback, forget)
 *
 * Which tracks a session takes (docs/RECORDING.md): mode 0 the main user's
 * main-stream video and every audio; mode 1 every video and every audio;
 * images the main user's main-stream video only.
 *
 * Does not: touch files, decode media, write the recordings rows (the pool
 * does), sign or deliver callbacks (callback.h: it only queues them).
 */
#include "record/capture.h"
#include "core/common.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "callback/callback.h"
#include "callback/cb_sender.h"
#include "record/recorder.h"
#include "room/room.h"
#include "sfu/sfu.h"
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CAP_LOG "record"
#define CAP_ID_SIZE 65             /* ids are 1..64 characters (room.h, api_fields.h) */
#define CAP_HEALTH_SILENCE_MS 2000 /* a recorder thread silent longer is "not answering" */
#define CAP_RING_VIDEO 1024        /* ~5 s of 720p at 2 Mbit/s: rides out a slow disk */
#define CAP_RING_AUDIO 256         /* ~5 s of Opus */

typedef struct {
    uint64_t stream_id;
    bool audio;
    bool tapped;       /* the SFU still copies packets into ring */
    spsc_ring_t *ring; /* our own reference, so the pointer names this ring until we let go */
} cap_track_t;

typedef struct cap_rec {
    struct cap_rec *next;
    cap_t *cap;
    rec_session_t *s; /* valid until its REC_EV_DONE, when this is freed */
    bool stopping;    /* rec_session_stop called: takes no new tracks */
    char recording_id[32];
    char app_id[CAP_ID_SIZE], channel_id[CAP_ID_SIZE], user_id[CAP_ID_SIZE];
    rec_kind_t kind;
    rec_mode_t mode;
    rec_storage_t storage;
    int64_t rule_id;
    char *callback_url; /* "" = no callback */
    char *extra_data;
    cap_track_t *tracks;
    size_t n_tracks, cap_tracks;
} cap_rec_t;

typedef struct cap_room {
    struct cap_room *next;
    char app_id[CAP_ID_SIZE], channel_id[CAP_ID_SIZE];
    int64_t *auto_rules; /* rules that started a recording here (once per rule per room life) */
    size_t n_auto;
} cap_room_t;

struct cap {
    const cfg_t *cfg;
    store_t *store;
    room_registry_t *rooms;
    sfu_t *sfu;
    cb_sender_t *callbacks; /* kicked when a callback is queued */
    rec_pool_t *pool;
    cap_rec_t *recs;
    unsigned n_recs;
    cap_room_t *seen;
    char why[320]; /* a detailed *why for the REST layer, valid until the next hook call */
};

/* ---- callbacks ---- */

/*
 * The one place a recording's callback is queued (guide §8.5.4 video,
 * §8.5.5 images; CONTRACT.md §4; docs/CALLBACKS.md): only when the request
 * or the rule gave a callbackUrl; a video when it is complete (a failed one
 * has its reason in its row), each snapshot as it is taken.  cb_notify signs
 * it with the app's accessKey and writes it to the outbox, from which the
 * sender thread delivers it; nothing here touches the network.  Fields: the
 * main user as userId; a video's fileId (ISDP: the recordingId) or filePath
 * + fileName (NAS); a snapshot's filePath (NAS) or imageData (ISDP: the
 * JPEG, Base64).
 */
static void cap_notify_done(cap_t *cap, const cap_rec_t *r, const rec_event_t *ev)
{
    if (r->callback_url[0] == '\0')
        return;
    bool nas = r->storage == REC_STORAGE_NAS;
    const char *path = ev->path != NULL ? ev->path : "";
    const char *slash = strrchr(path, '/');
    cb_event_t e = {
        .kind = r->kind == REC_KIND_IMAGE ? CB_IMAGE : CB_VIDEO,
        .app_id = r->app_id,
        .channel_id = r->channel_id,
        .recording_id = r->recording_id,
        .user_id = r->user_id,
        .extra_data = r->extra_data,
        .file_id = nas || r->kind == REC_KIND_IMAGE ? NULL : r->recording_id,
        .file_path = nas ? path : NULL,
        .file_name = nas && r->kind == REC_KIND_VIDEO ? (slash != NULL ? slash + 1 : path) : NULL,
        .image = nas ? NULL : ev->jpeg,
        .image_len = nas ? 0 : ev->jpeg_len,
    };
    int64_t id = 0;
    int rc = cb_notify(cap->store, r->callback_url, &e, &id);
    if (rc == IRTC_OK)
        cb_sender_kick(cap->callbacks);
    if (rc != IRTC_OK)
        log_warn(CAP_LOG, "recording %s: callback to %s not queued: %s", r->recording_id, r->callback_url,
                 rc == IRTC_ENOTFOUND ? "the app was deleted" : irtc_strerror(rc));
    else if (r->kind == REC_KIND_IMAGE)
        log_info(CAP_LOG, "recording %s: snapshot %d callback queued (outbox %lld)", r->recording_id, ev->index,
                 (long long)id);
    else
        log_info(CAP_LOG, "recording %s: callback queued (outbox %lld)", r->recording_id, (long long)id);
}

/* ---- tracks ---- */

static bool in_room(const cap_rec_t *r, const char *app_id, const char *channel_id)
{
    return strcmp(r->app_id, app_id) == 0 && strcmp(r->channel_id, channel_id) == 0;
}

static bool has_track(const cap_rec_t *r, uint64_t stream_id, bool audio)
{
    for (size_t i = 0; i < r->n_tracks; i++)
        if (r->tracks[i].stream_id == stream_id && r->tracks[i].audio == audio)
            return true;
    return false;
}

/* Taps one kind of a stream into the session: the SFU and the session each
 * hold the ring, and so do we (cap_track_t). */
static void track_add(cap_t *cap, cap_rec_t *r, const room_stream_t *st, bool audio, bool is_main)
{
    if (has_track(r, st->id, audio))
        return;
    spsc_ring_t *ring = spsc_ring_new(audio ? CAP_RING_AUDIO : CAP_RING_VIDEO);
    codec_params_t params;
    if (sfu_tap_add(cap->sfu, st->id, audio, ring, &params) != IRTC_OK) {
        spsc_ring_unref(ring);
        return;
    }
    if (rec_session_add_track(r->s, ring, &params, st->id, st->user_id, is_main) != IRTC_OK) {
        log_warn(CAP_LOG, "recording %s: %s's %s (%s) cannot be recorded", r->recording_id, st->user_id,
                 audio ? "audio" : "video", audio ? "not Opus" : st->video_codec);
        sfu_tap_del(cap->sfu, st->id, ring);
        spsc_ring_unref(ring);
        return;
    }
    if (r->n_tracks == r->cap_tracks) {
        r->cap_tracks = r->cap_tracks ? r->cap_tracks * 2 : 4;
        r->tracks = xrealloc(r->tracks, r->cap_tracks * sizeof(*r->tracks));
    }
    r->tracks[r->n_tracks++] = (cap_track_t){st->id, audio, true, ring};
}

/* What of a newly seen stream the session records (see the top of the file). */
static void take_stream(cap_t *cap, cap_rec_t *r, const room_stream_t *st)
{
    if (r->stopping)
        return;
    bool mine = strcmp(st->user_id, r->user_id) == 0;
    bool main_video = mine && st->type == ROOM_STREAM_MAIN;
    bool all_video = r->kind == REC_KIND_VIDEO && r->mode == REC_MODE_MIXED;
    if (st->has_video && (main_video || all_video))
        track_add(cap, r, st, false, main_video);
    if (st->has_audio && r->kind == REC_KIND_VIDEO)
        track_add(cap, r, st, true, mine);
}

/* The stream is going: its taps come off; what the session buffered is written. */
static void drop_stream(cap_t *cap, cap_rec_t *r, uint64_t stream_id)
{
    for (size_t i = 0; i < r->n_tracks;) {
        cap_track_t *t = &r->tracks[i];
        if (t->stream_id != stream_id) {
            i++;
            continue;
        }
        if (t->tapped)
            sfu_tap_del(cap->sfu, t->stream_id, t->ring);
        rec_session_remove_track(r->s, t->ring);
        spsc_ring_unref(t->ring);
        *t = r->tracks[--r->n_tracks];
    }
}

/* ---- sessions ---- */

/* The taps come off at once, so the recording ends with what arrived until
 * now: a recorder thread that has fallen behind (a busy CPU) works through
 * what its rings hold and finishes, instead of chasing packets that keep
 * coming. */
static void rec_stop(cap_t *cap, cap_rec_t *r, const char *why)
{
    if (r->stopping)
        return;
    r->stopping = true;
    for (size_t i = 0; i < r->n_tracks; i++) {
        sfu_tap_del(cap->sfu, r->tracks[i].stream_id, r->tracks[i].ring);
        r->tracks[i].tapped = false;
    }
    log_info(CAP_LOG, "recording %s: stopping (%s)", r->recording_id, why);
    rec_session_stop(r->s);
}

static void rec_forget(cap_t *cap, cap_rec_t *r)
{
    cap_rec_t **pp = &cap->recs;
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    cap->n_recs--;
    for (size_t i = 0; i < r->n_tracks; i++) {
        if (r->tracks[i].tapped)
            sfu_tap_del(cap->sfu, r->tracks[i].stream_id, r->tracks[i].ring);
        spsc_ring_unref(r->tracks[i].ring);
    }
    free(r->tracks);
    free(r->callback_url);
    free(r->extra_data);
    free(r);
}

static void on_rec_event(rec_session_t *s, const rec_event_t *ev, void *ud)
{
    cap_rec_t *r = ud;
    cap_t *cap = r->cap;
    (void)s;
    switch (ev->type) {
    case REC_EV_KEYFRAME_NEEDED:
        sfu_request_keyframe(cap->sfu, ev->stream_id);
        break;
    case REC_EV_STARTED:
        log_info(CAP_LOG, "recording %s: writing %s (%dx%d)", r->recording_id, ev->path ? ev->path : "(memory)",
                 ev->width, ev->height);
        break;
    case REC_EV_SNAPSHOT:
        cap_notify_done(cap, r, ev);
        break;
    case REC_EV_DONE:
        if (ev->state == REC_STATE_COMPLETE && r->kind == REC_KIND_VIDEO)
            cap_notify_done(cap, r, ev);
        rec_forget(cap, r); /* the session handle dies when this callback returns */
        break;
    }
}

/* Starts a session of rule in room for user_id, with the tracks the room has
 * now.  req (manual captures) may override paths, callback and extraData. */
static int rec_start(cap_t *cap, const room_t *room, const store_rule_t *rule, rec_kind_t kind, const char *user_id,
                     const api_capture_req_t *req, cap_rec_t **out, const char **why)
{
    if (cap->n_recs >= cap->cfg->rec_max_sessions) {
        snprintf(cap->why, sizeof(cap->why), "%u recordings are running: the limit (recording.max_sessions)",
                 cap->n_recs);
        *why = cap->why;
        return IRTC_ELIMIT;
    }
    const char *callback = req != NULL && req->callback_url != NULL ? req->callback_url : rule->callback_url;
    const char *extra = req != NULL && req->extra_data != NULL ? req->extra_data : rule->extra_data;
    cap_rec_t *r = xcalloc(1, sizeof(*r));
    r->cap = cap;
    r->kind = kind;
    r->mode = rule->recording_model == 1 ? REC_MODE_MIXED : REC_MODE_SINGLE;
    r->storage = strcmp(rule->storage_type, "NAS") == 0 ? REC_STORAGE_NAS : REC_STORAGE_ISDP;
    r->rule_id = rule->rule_id;
    r->callback_url = xstrdup(callback != NULL ? callback : "");
    r->extra_data = xstrdup(extra != NULL ? extra : "");
    snprintf(r->app_id, sizeof(r->app_id), "%s", room_app_id(room));
    snprintf(r->channel_id, sizeof(r->channel_id), "%s", room_channel_id(room));
    snprintf(r->user_id, sizeof(r->user_id), "%s", user_id);
    rec_params_t p = {
        .app_id = r->app_id,
        .channel_id = r->channel_id,
        .user_id = r->user_id,
        .kind = kind,
        .mode = r->mode,
        .storage = r->storage,
        .record_path = req != NULL && req->record_path != NULL ? req->record_path : rule->record_path,
        .file_name = req != NULL && req->file_name != NULL ? req->file_name : rule->file_name,
        .capture_interval_s = rule->capture_interval,
        .capture_nums = rule->capture_nums,
        .rule_id = rule->rule_id,
        .callback_url = r->callback_url,
        .extra_data = r->extra_data,
        .on_event = on_rec_event,
        .ud = r,
    };
    char err[256] = "";
    int rc = rec_session_new(cap->pool, &p, &r->s, err, sizeof(err));
    if (rc != IRTC_OK) {
        snprintf(cap->why, sizeof(cap->why), "%s", err);
        *why = cap->why;
        free(r->callback_url);
        free(r->extra_data);
        free(r);
        return rc;
    }
    snprintf(r->recording_id, sizeof(r->recording_id), "%s", rec_session_id(r->s));
    r->next = cap->recs;
    cap->recs = r;
    cap->n_recs++;
    for (const room_stream_t *st = room_first_stream(room); st != NULL; st = room_next_stream(st))
        take_stream(cap, r, st);
    log_info(CAP_LOG, "recording %s started: %s of %s in %s/%s, rule %lld, %s, %zu track(s)", r->recording_id,
             kind == REC_KIND_IMAGE      ? "snapshots"
             : r->mode == REC_MODE_MIXED ? "mixed video"
                                         : "video",
             r->user_id, r->app_id, r->channel_id, (long long)r->rule_id,
             r->storage == REC_STORAGE_NAS ? "NAS" : "ISDP", r->n_tracks);
    *out = r;
    return IRTC_OK;
}

/* ---- rooms and auto-record ---- */

static cap_room_t *room_entry(cap_t *cap, const char *app_id, const char *channel_id, bool create)
{
    for (cap_room_t *cr = cap->seen; cr != NULL; cr = cr->next)
        if (strcmp(cr->app_id, app_id) == 0 && strcmp(cr->channel_id, channel_id) == 0)
            return cr;
    if (!create)
        return NULL;
    cap_room_t *cr = xcalloc(1, sizeof(*cr));
    snprintf(cr->app_id, sizeof(cr->app_id), "%s", app_id);
    snprintf(cr->channel_id, sizeof(cr->channel_id), "%s", channel_id);
    cr->next = cap->seen;
    cap->seen = cr;
    return cr;
}

static void room_forget(cap_t *cap, const char *app_id, const char *channel_id)
{
    for (cap_room_t **pp = &cap->seen; *pp != NULL; pp = &(*pp)->next) {
        cap_room_t *cr = *pp;
        if (strcmp(cr->app_id, app_id) == 0 && strcmp(cr->channel_id, channel_id) == 0) {
            *pp = cr->next;
            free(cr->auto_rules);
            free(cr);
            return;
        }
    }
}

static bool auto_done(const cap_room_t *cr, int64_t rule_id)
{
    for (size_t i = 0; i < cr->n_auto; i++)
        if (cr->auto_rules[i] == rule_id)
            return true;
    return false;
}

/* Every active, enabled auto-record rule of the room's app that has not
 * recorded this room yet starts now; the main user is the earliest publisher
 * still publishing (on a room's first publish: that publisher). */
static void auto_record(cap_t *cap, const room_t *room)
{
    const room_stream_t *first = room_first_stream(room);
    if (first == NULL)
        return;
    const char *app_id = room_app_id(room), *channel_id = room_channel_id(room);
    cap_room_t *cr = room_entry(cap, app_id, channel_id, true);
    store_rule_t *rules = NULL;
    size_t n = 0;
    if (store_rule_list_auto(cap->store, app_id, &rules, &n) != IRTC_OK) {
        log_warn(CAP_LOG, "auto-record: cannot read the rules of app %s", app_id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const store_rule_t *rule = &rules[i];
        if (!rule->status || auto_done(cr, rule->rule_id))
            continue;
        cap_rec_t *r;
        const char *why = NULL;
        rec_kind_t kind = rule->recording_type == 1 ? REC_KIND_IMAGE : REC_KIND_VIDEO;
        int rc = rec_start(cap, room, rule, kind, first->user_id, NULL, &r, &why);
        if (rc != IRTC_OK) {
            log_warn(CAP_LOG, "auto-record: rule %lld cannot record %s/%s: %s", (long long)rule->rule_id, app_id,
                     channel_id, why ? why : irtc_strerror(rc));
            continue;
        }
        cr->auto_rules = xrealloc(cr->auto_rules, (cr->n_auto + 1) * sizeof(*cr->auto_rules));
        cr->auto_rules[cr->n_auto++] = rule->rule_id;
        log_info(CAP_LOG, "auto-record: rule %lld records %s/%s as %s", (long long)rule->rule_id, app_id, channel_id,
                 r->recording_id);
    }
    store_rule_list_free(rules, n);
}

static void on_room(void *ctx, const room_obs_event_t *ev)
{
    cap_t *cap = ctx;
    const char *app_id = room_app_id(ev->room), *channel_id = room_channel_id(ev->room);
    switch (ev->type) {
    case ROOM_OBS_STREAM_ADDED:
        for (cap_rec_t *r = cap->recs; r != NULL; r = r->next)
            if (in_room(r, app_id, channel_id))
                take_stream(cap, r, ev->stream);
        room_entry(cap, app_id, channel_id, true);
        auto_record(cap, ev->room);
        break;
    case ROOM_OBS_STREAM_REMOVED:
        for (cap_rec_t *r = cap->recs; r != NULL; r = r->next)
            if (in_room(r, app_id, channel_id))
                drop_stream(cap, r, ev->stream->id);
        break;
    case ROOM_OBS_ROOM_CLOSED:
        for (cap_rec_t *r = cap->recs; r != NULL; r = r->next)
            if (in_room(r, app_id, channel_id))
                rec_stop(cap, r, "the room emptied");
        room_forget(cap, app_id, channel_id);
        break;
    }
}

/* ---- REST hooks ---- */

static bool user_in_room(const room_t *room, const char *user_id)
{
    for (const room_peer_t *p = room_first_peer(room); p != NULL; p = room_next_peer(p))
        if (strcmp(room_peer_user_id(p), user_id) == 0)
            return true;
    return false;
}

int cap_capture(void *ctx, const api_capture_req_t *req, char recording_id[32], const char **why)
{
    cap_t *cap = ctx;
    store_rule_t rule;
    room_t *room = NULL;
    cap_rec_t *r = NULL;
    int rc = store_rule_get(cap->store, req->app_id, req->rule_id, &rule);
    if (rc != IRTC_OK) {
        *why = "recordRuleId: the rule cannot be read";
        rc = rc == IRTC_ENOTFOUND ? IRTC_ECONFLICT : rc; /* deleted since the REST layer looked */
        goto out;
    }
    if (!rule.status) {
        *why = "recordRuleId: the rule is disabled (status false); enable it with updateRule";
        rc = IRTC_ECONFLICT;
        goto out;
    }
    room = room_find(cap->rooms, req->app_id, req->channel_id);
    if (room == NULL) {
        *why = "channelId: no such room (nobody is in it)";
        rc = IRTC_ENOTFOUND;
        goto out;
    }
    if (!user_in_room(room, req->user_id)) {
        *why = "userId: not in that room";
        rc = IRTC_ENOTFOUND;
        goto out;
    }
    rc = rec_start(cap, room, &rule, req->image ? REC_KIND_IMAGE : REC_KIND_VIDEO, req->user_id, req, &r, why);
    if (rc == IRTC_OK)
        snprintf(recording_id, 32, "%s", r->recording_id);
out:
    store_rule_dispose(&rule);
    return rc;
}

int cap_stop(void *ctx, const char *app_id, const char *channel_id, const char *recording_id, const char **why)
{
    cap_t *cap = ctx;
    if (recording_id[0] == '\0') {
        unsigned n = 0;
        for (cap_rec_t *r = cap->recs; r != NULL; r = r->next) {
            if (in_room(r, app_id, channel_id) && !r->stopping) {
                rec_stop(cap, r, "stopCapture of the channel");
                n++;
            }
        }
        *why = "channelId: no recording is running in that channel";
        return n > 0 ? IRTC_OK : IRTC_ENOTFOUND;
    }
    *why = "recordingId: no such recording in this app";
    for (cap_rec_t *r = cap->recs; r != NULL; r = r->next) {
        if (strcmp(r->recording_id, recording_id) == 0) {
            if (strcmp(r->app_id, app_id) != 0)
                return IRTC_ENOTFOUND;
            rec_stop(cap, r, "stopCapture");
            return IRTC_OK;
        }
    }
    /* Not running: a recording of this app that has already ended is stopped. */
    store_recording_t row;
    int rc = store_recording_get(cap->store, recording_id, &row);
    if (rc == IRTC_OK && strcmp(row.app_id, app_id) != 0)
        rc = IRTC_ENOTFOUND;
    store_recording_dispose(&row);
    return rc == IRTC_OK || rc == IRTC_ENOTFOUND ? rc : IRTC_EIO;
}

void cap_auto_changed(void *ctx, const char *app_id, int64_t rule_id, bool active)
{
    cap_t *cap = ctx;
    log_info(CAP_LOG, "auto-record: rule %lld of app %s %s", (long long)rule_id, app_id,
             active ? "active" : "stopped (running recordings go on until their room empties)");
    if (!active)
        return;
    for (cap_room_t *cr = cap->seen, *next; cr != NULL; cr = next) {
        next = cr->next;
        room_t *room = strcmp(cr->app_id, app_id) == 0 ? room_find(cap->rooms, cr->app_id, cr->channel_id) : NULL;
        if (room != NULL)
            auto_record(cap, room);
    }
}

int cap_fail_node(cap_t *cap, const char *node_id, const char *reason)
{
    store_recording_t *recs = NULL;
    size_t n = 0;
    int rc = store_recording_list_unfinished(cap->store, node_id, &recs, &n);
    if (rc != IRTC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        store_recording_t *r = &recs[i];
        r->status = STORE_REC_FAILED;
        free(r->failure_reason);
        r->failure_reason = xstrdup(reason);
        r->ended_at_ms = (int64_t)clock_wall_ms();
        if (store_recording_update(cap->store, r) != IRTC_OK)
            continue;
        log_warn(CAP_LOG, "recording %s of %s/%s failed: %s", r->recording_id, r->app_id, r->channel_id, reason);
        if (r->callback_url == NULL || r->callback_url[0] == '\0')
            continue;
        bool nas = r->storage_type != NULL && strcmp(r->storage_type, "NAS") == 0;
        const char *path = r->path != NULL ? r->path : "";
        const char *slash = strrchr(path, '/');
        cb_event_t e = {
            .kind = r->kind == 1 ? CB_IMAGE : CB_VIDEO,
            .app_id = r->app_id,
            .channel_id = r->channel_id,
            .recording_id = r->recording_id,
            .user_id = r->user_id,
            .extra_data = r->extra_data,
            .file_id = nas ? NULL : r->recording_id,
            .file_path = nas ? path : NULL,
            .file_name = nas && r->kind == 0 ? (slash != NULL ? slash + 1 : path) : NULL,
        };
        int64_t id = 0;
        if (cb_notify(cap->store, r->callback_url, &e, &id) == IRTC_OK) {
            cb_sender_kick(cap->callbacks);
            log_info(CAP_LOG, "recording %s: failure callback queued (outbox %lld)", r->recording_id, (long long)id);
        }
    }
    store_recording_list_free(recs, n);
    return (int)n;
}

bool cap_healthy(void *ctx)
{
    cap_t *cap = ctx;
    return rec_pool_healthy(cap->pool, CAP_HEALTH_SILENCE_MS);
}

void cap_stats(const cap_t *cap, cap_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    for (const cap_rec_t *r = cap->recs; r != NULL; r = r->next) {
        out->sessions++;
        out->taps += (unsigned)r->n_tracks;
    }
}

/* ---- life ---- */

int cap_new(const cap_config_t *c, cap_t **out, char *err, size_t errcap)
{
    *out = NULL;
    int n = store_recording_fail_unfinished(c->store, "irtcd restarted");
    if (n > 0)
        log_warn(CAP_LOG,
                 "%d recording(s) left unfinished by the previous run marked failed; their files end at "
                 "their last fragment",
                 n);
    if (mkdir(c->isdp_base_path, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errcap, "recordings directory %s: %s", c->isdp_base_path, strerror(errno));
        return IRTC_EIO;
    }
    cap_t *cap = xcalloc(1, sizeof(*cap));
    cap->cfg = c->cfg;
    cap->store = c->store;
    cap->rooms = c->rooms;
    cap->sfu = c->sfu;
    cap->callbacks = c->callbacks;
    rec_pool_config_t pc = {
        .threads = c->cfg->rec_threads,
        .nas_base_path = c->cfg->nas_base_path,
        .isdp_base_path = c->isdp_base_path,
        .audio_codec = strcmp(c->cfg->rec_audio_codec, "opus") == 0 ? REC_AUDIO_OPUS : REC_AUDIO_AAC,
        .store = c->store,
        .control_loop = c->loop,
    };
    int rc = rec_pool_new(&pc, &cap->pool, err, errcap);
    if (rc != IRTC_OK) {
        free(cap);
        return rc;
    }
    room_registry_set_observer(cap->rooms, on_room, cap);
    *out = cap;
    return IRTC_OK;
}

void cap_free(cap_t *cap)
{
    if (cap == NULL)
        return;
    room_registry_set_observer(cap->rooms, NULL, NULL);
    rec_pool_free(cap->pool); /* every session's DONE comes through on_rec_event: recs empties */
    while (cap->recs != NULL)
        rec_forget(cap, cap->recs);
    while (cap->seen != NULL)
        room_forget(cap, cap->seen->app_id, cap->seen->channel_id);
    free(cap);
}

void cap_collect(buf_t *out, void *ctx)
{
    static const char *const classes[REC_STATS_CLASSES] = {"single", "mixed", "snapshot"};
    static const char *const causes[REC_FAIL_CAUSES] = {"no_media", "codec", "storage", "other"};
    const cap_t *cap = ctx;
    rec_pool_stats_t st;
    char labels[48];
    rec_pool_stats(cap->pool, &st);
    metrics_header(out, "irtc_recordings_active", "gauge",
                   "Recordings running, by mode (single: recordingModel 0, mixed: 1, snapshot: captureImage).");
    for (int i = 0; i < REC_STATS_CLASSES; i++) {
        snprintf(labels, sizeof(labels), "mode=\"%s\"", classes[i]);
        metrics_sample(out, "irtc_recordings_active", labels, (double)st.active[i]);
    }
    metrics_header(out, "irtc_recordings_completed_total", "counter", "Recordings that ended complete, by mode.");
    for (int i = 0; i < REC_STATS_CLASSES; i++) {
        snprintf(labels, sizeof(labels), "mode=\"%s\"", classes[i]);
        metrics_sample(out, "irtc_recordings_completed_total", labels, (double)st.completed[i]);
    }
    metrics_header(out, "irtc_recordings_failed_total", "counter",
                   "Recordings that ended failed, by cause (no_media, codec, storage, other; the row says why).");
    for (int i = 0; i < REC_FAIL_CAUSES; i++) {
        snprintf(labels, sizeof(labels), "cause=\"%s\"", causes[i]);
        metrics_sample(out, "irtc_recordings_failed_total", labels, (double)st.failures[i]);
    }
    metrics_header(out, "irtc_recording_bytes_total", "counter",
                   "Bytes of recordings written (video files and snapshots), running ones included.");
    metrics_sample(out, "irtc_recording_bytes_total", NULL, (double)st.bytes);
    metrics_header(out, "irtc_recording_ring_drops_total", "counter",
                   "RTP packets the recorder lost to a full ring (it fell behind: disk or CPU too slow).");
    metrics_sample(out, "irtc_recording_ring_drops_total", NULL, (double)st.ring_drops);
}
