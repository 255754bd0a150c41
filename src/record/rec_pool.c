/*
 * rec_pool.c — the recorder threads and the session API of recorder.h.
 *
 * Control thread → recorder thread: commands (new job, add/remove track,
 * stop) on a mutex-protected list per thread, with a condition variable to
 * wake it; the lock is held only to link or unlink a command, never on the
 * packet path.  Each recorder thread polls its jobs every 10 ms (or at once
 * when a command arrives); a job is found by its serial, so a late command
 * for a finished job is simply dropped.
 *
 * Recorder thread → control thread: events as messages on an
 * h2o_multithread queue registered on the control loop; the control thread
 * writes the recordings row (only src/store has SQL, and the control
 * thread's connection is the one used), calls the session's callback, and
 * frees the handle after REC_EV_DONE, the last message a job sends.
 *
 * Does not: decode or write media (rec_job.c and friends).
 */
#include "record/recorder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <h2o/multithread.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "media/codecs/codec.h"
#include "record/rec_job.h"
#include "store/store.h"

#define POLL_MS 10
#define MAX_THREADS 8

typedef enum { CMD_NEW, CMD_ADD, CMD_REMOVE, CMD_STOP } rec_cmd_type_t;

typedef struct rec_cmd {
    struct rec_cmd *next;
    rec_cmd_type_t type;
    uint64_t serial;
    rec_job_t *job; /* CMD_NEW */
    spsc_ring_t *ring;
    codec_params_t params; /* CMD_ADD */
    uint64_t stream_id;
    char user_id[128];
    bool is_main;
    uint64_t at_us; /* CMD_STOP: when it was asked for */
} rec_cmd_t;

typedef struct {
    uint64_t serial;
    rec_job_t *job;
    rec_shared_t *shared;
} rec_slot_job_t;

typedef struct {
    rec_pool_t *pool;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rec_cmd_t *head, *tail;   /* under mu */
    bool quit;                /* under mu */
    unsigned load;            /* control thread only: sessions handed to it */
    _Atomic uint64_t beat_ms; /* written by the thread at every turn (rec_pool_healthy) */
    /* recorder thread only */
    rec_slot_job_t *jobs;
    unsigned n_jobs;
} rec_thread_t;

struct rec_session {
    rec_pool_t *pool; /* immutable: read by the recorder thread when it emits */
    rec_session_t *prev, *next;
    rec_kind_t kind; /* for rec_pool_stats */
    rec_mode_t mode;
    uint64_t serial;
    rec_thread_t *thread;
    char recording_id[32];
    char app_id[64], channel_id[128];
    bool stopped;
    rec_event_cb on_event;
    void *ud;
    rec_shared_t shared;
};

typedef struct {
    h2o_multithread_message_t super;
    rec_session_t *s;
    rec_event_t ev;
    char *reason, *path;
    uint8_t *jpeg;
} rec_msg_t;

struct rec_pool {
    rec_pool_config_t cfg;
    char nas_base[1024], isdp_base[1024];
    rec_thread_t threads[MAX_THREADS];
    unsigned n_threads;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    rec_session_t *sessions; /* control thread only */
    uint64_t next_serial;
    rec_pool_stats_t done; /* control thread only: what finished sessions added */
};

/* ---- recorder thread ---- */

static void post(rec_thread_t *t, rec_cmd_t *c)
{
    pthread_mutex_lock(&t->mu);
    if (t->tail)
        t->tail->next = c;
    else
        t->head = c;
    t->tail = c;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static rec_job_t *find_job(rec_thread_t *t, uint64_t serial)
{
    for (unsigned i = 0; i < t->n_jobs; i++)
        if (t->jobs[i].serial == serial)
            return t->jobs[i].job;
    return NULL;
}

static void apply(rec_thread_t *t, rec_cmd_t *c)
{
    if (c->type == CMD_NEW) {
        t->jobs = xrealloc(t->jobs, (t->n_jobs + 1) * sizeof(*t->jobs));
        t->jobs[t->n_jobs++] = (rec_slot_job_t){c->serial, c->job, NULL};
        return;
    }
    rec_job_t *j = find_job(t, c->serial);
    if (j == NULL) { /* finished meanwhile */
        if (c->type == CMD_ADD)
            spsc_ring_unref(c->ring);
        return;
    }
    if (c->type == CMD_ADD)
        rec_job_add_track(j, c->ring, &c->params, c->stream_id, c->user_id, c->is_main);
    else if (c->type == CMD_REMOVE)
        rec_job_remove_track(j, c->ring);
    else
        rec_job_stop(j, c->at_us);
}

static void *thread_main(void *arg)
{
    rec_thread_t *t = arg;
    for (;;) {
        atomic_store_explicit(&t->beat_ms, clock_mono_ms(), memory_order_relaxed);
        pthread_mutex_lock(&t->mu);
        rec_cmd_t *cmds = t->head;
        t->head = t->tail = NULL;
        bool quit = t->quit;
        pthread_mutex_unlock(&t->mu);
        while (cmds != NULL) {
            rec_cmd_t *next = cmds->next;
            apply(t, cmds);
            free(cmds);
            cmds = next;
        }
        uint64_t now = clock_mono_us();
        for (unsigned i = 0; i < t->n_jobs;) {
            rec_job_t *j = t->jobs[i].job;
            if (rec_job_poll(j, now)) { /* DONE sent: the session may be gone, touch nothing of it */
                rec_job_free(j);
                t->jobs[i] = t->jobs[--t->n_jobs];
            } else {
                i++;
            }
        }
        if (quit && t->n_jobs == 0)
            break;
        pthread_mutex_lock(&t->mu);
        if (t->head == NULL && !t->quit) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += POLL_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        }
        pthread_mutex_unlock(&t->mu);
    }
    free(t->jobs);
    return NULL;
}

/* Runs on the recorder thread: copies the event into a message for the control thread. */
static void emit(void *ud, const rec_event_t *ev)
{
    rec_session_t *s = ud;
    rec_msg_t *m = xcalloc(1, sizeof(*m));
    m->s = s;
    m->ev = *ev;
    m->ev.recording_id = s->recording_id; /* the job's copy dies with the job, right after DONE */
    if (ev->reason)
        m->ev.reason = m->reason = xstrdup(ev->reason);
    if (ev->path)
        m->ev.path = m->path = xstrdup(ev->path);
    if (ev->jpeg) {
        m->jpeg = xmalloc(ev->jpeg_len);
        memcpy(m->jpeg, ev->jpeg, ev->jpeg_len);
        m->ev.jpeg = m->jpeg;
    }
    h2o_multithread_send_message(&s->pool->receiver, &m->super);
}

/* ---- control thread: events ---- */

static void unlink_session(rec_pool_t *p, rec_session_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        p->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->thread->load--;
}

static void store_event(rec_pool_t *p, rec_session_t *s, const rec_event_t *ev)
{
    if (p->cfg.store == NULL || (ev->type != REC_EV_STARTED && ev->type != REC_EV_DONE))
        return;
    store_recording_t r;
    if (store_recording_get(p->cfg.store, s->recording_id, &r) != IRTC_OK)
        return;
    if (ev->path != NULL) {
        free(r.path);
        r.path = xstrdup(ev->path);
    }
    if (ev->type == REC_EV_DONE) {
        r.status = ev->state == REC_STATE_COMPLETE ? STORE_REC_COMPLETE : STORE_REC_FAILED;
        free(r.failure_reason);
        r.failure_reason = ev->state == REC_STATE_FAILED && ev->reason ? xstrdup(ev->reason) : NULL;
        r.bytes = (int64_t)ev->bytes;
        r.duration_ms = ev->duration_ms;
        r.dropped_packets = (int64_t)ev->dropped_packets;
        r.ended_at_ms = (int64_t)clock_wall_ms();
    }
    if (store_recording_update(p->cfg.store, &r) != IRTC_OK)
        log_warn("record", "recording %s: row update failed", s->recording_id);
    store_recording_dispose(&r);
}

/* A failure's cause, from its reason, in the few classes /metrics labels:
 * the reasons are sentences written where each failure happens. */
static rec_fail_cause_t fail_cause(const char *why)
{
    if (why == NULL)
        return REC_FAIL_OTHER;
    if (strncmp(why, "no media", 8) == 0 || strncmp(why, "no picture", 10) == 0)
        return REC_FAIL_NO_MEDIA;
    if (strstr(why, "decoder") || strstr(why, "SPS/PPS") || strstr(why, "encod") || strstr(why, "codec"))
        return REC_FAIL_CODEC;
    if (strstr(why, "disk") || strstr(why, "writ") || strstr(why, "open") || strstr(why, "mkdir") ||
        strstr(why, "rename") || strstr(why, "director"))
        return REC_FAIL_STORAGE;
    return REC_FAIL_OTHER;
}

static void count_done(rec_pool_t *p, const rec_session_t *s, const rec_event_t *ev)
{
    p->done.bytes += ev->bytes;
    p->done.ring_drops += ev->dropped_packets;
    if (ev->state == REC_STATE_FAILED)
        p->done.failures[fail_cause(ev->reason)]++;
    else
        p->done.completed[s->kind == REC_KIND_IMAGE ? REC_STATS_IMAGE : (int)s->mode]++;
}

void rec_pool_stats(const rec_pool_t *p, rec_pool_stats_t *out)
{
    *out = p->done;
    for (const rec_session_t *s = p->sessions; s; s = s->next) {
        out->active[s->kind == REC_KIND_IMAGE ? REC_STATS_IMAGE : (int)s->mode]++;
        out->bytes += atomic_load_explicit(&s->shared.bytes, memory_order_relaxed);
        out->ring_drops += atomic_load_explicit(&s->shared.dropped, memory_order_relaxed);
    }
}

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    rec_pool_t *p = H2O_STRUCT_FROM_MEMBER(rec_pool_t, receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        rec_msg_t *m = H2O_STRUCT_FROM_MEMBER(rec_msg_t, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        rec_session_t *s = m->s;
        store_event(p, s, &m->ev);
        if (m->ev.type == REC_EV_DONE) {
            log_info("record", "recording %s %s%s%s (%llu bytes, %lld ms, %llu dropped)", s->recording_id,
                     m->ev.state == REC_STATE_COMPLETE ? "complete" : "failed", m->ev.reason ? ": " : "",
                     m->ev.reason ? m->ev.reason : "", (unsigned long long)m->ev.bytes, (long long)m->ev.duration_ms,
                     (unsigned long long)m->ev.dropped_packets);
            unlink_session(p, s);
            count_done(p, s, &m->ev);
        }
        if (s->on_event)
            s->on_event(s, &m->ev, s->ud);
        if (m->ev.type == REC_EV_DONE)
            free(s);
        free(m->reason);
        free(m->path);
        free(m->jpeg);
        free(m);
    }
}

/* ---- control thread: pool ---- */

int rec_pool_new(const rec_pool_config_t *cfg, rec_pool_t **out, char *err, size_t errcap)
{
    if (cfg->control_loop == NULL || cfg->nas_base_path == NULL || cfg->threads > MAX_THREADS) {
        snprintf(err, errcap, "recorder: control_loop and nas_base_path are required, threads 1..%d", MAX_THREADS);
        return IRTC_EINVAL;
    }
    if ((cfg->mixed_fps != 0 && (cfg->mixed_fps < 10 || cfg->mixed_fps > 30)) || cfg->mixed_width % 2 ||
        cfg->mixed_height % 2 || cfg->mixed_width < 0 || cfg->mixed_height < 0) {
        snprintf(err, errcap, "recorder: mixed_fps 10..30, canvas size even");
        return IRTC_EINVAL;
    }
    rec_pool_t *p = xcalloc(1, sizeof(*p));
    p->cfg = *cfg;
    snprintf(p->nas_base, sizeof(p->nas_base), "%s", cfg->nas_base_path);
    snprintf(p->isdp_base, sizeof(p->isdp_base), "%s", cfg->isdp_base_path ? cfg->isdp_base_path : cfg->nas_base_path);
    p->cfg.threads = cfg->threads ? cfg->threads : 1;
    p->cfg.mixed_width = cfg->mixed_width ? cfg->mixed_width : 1280;
    p->cfg.mixed_height = cfg->mixed_height ? cfg->mixed_height : 720;
    p->cfg.mixed_fps = cfg->mixed_fps ? cfg->mixed_fps : 15;
    p->cfg.video_kbps = cfg->video_kbps ? cfg->video_kbps : 2000;
    p->queue = h2o_multithread_create_queue(cfg->control_loop);
    h2o_multithread_register_receiver(p->queue, &p->receiver, on_messages);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (unsigned i = 0; i < p->cfg.threads; i++) {
        rec_thread_t *t = &p->threads[i];
        t->pool = p;
        atomic_store(&t->beat_ms, clock_mono_ms());
        pthread_mutex_init(&t->mu, NULL);
        pthread_cond_init(&t->cv, &ca);
        if (pthread_create(&t->tid, NULL, thread_main, t) != 0)
            abort(); /* no thread at start-up: nothing sensible to continue with */
        p->n_threads++;
    }
    pthread_condattr_destroy(&ca);
    *out = p;
    return IRTC_OK;
}

void rec_pool_free(rec_pool_t *p)
{
    if (p == NULL)
        return;
    for (rec_session_t *s = p->sessions; s != NULL; s = s->next)
        rec_session_stop(s);
    for (unsigned i = 0; i < p->n_threads; i++) {
        rec_thread_t *t = &p->threads[i];
        pthread_mutex_lock(&t->mu);
        t->quit = true;
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
    for (unsigned i = 0; i < p->n_threads; i++) {
        pthread_join(p->threads[i].tid, NULL);
        pthread_mutex_destroy(&p->threads[i].mu);
        pthread_cond_destroy(&p->threads[i].cv);
    }
    /* every job sent DONE before its thread exited: deliver them */
    for (int i = 0; i < 1000 && p->sessions != NULL; i++)
        h2o_evloop_run(p->cfg.control_loop, 0);
    h2o_multithread_unregister_receiver(p->queue, &p->receiver);
    h2o_multithread_destroy_queue(p->queue);
    free(p->queue); /* h2o 2.2.5's evloop build closes the queue's socket but never frees the queue */
    free(p);
}

bool rec_pool_healthy(rec_pool_t *p, uint64_t max_silence_ms)
{
    uint64_t now = clock_mono_ms();
    for (unsigned i = 0; i < p->n_threads; i++) {
        uint64_t beat = atomic_load_explicit(&p->threads[i].beat_ms, memory_order_relaxed);
        if (now > beat && now - beat > max_silence_ms)
            return false;
    }
    return true;
}

rec_session_t *rec_pool_find(rec_pool_t *p, const char *recording_id)
{
    for (rec_session_t *s = p->sessions; s != NULL; s = s->next)
        if (strcmp(s->recording_id, recording_id) == 0)
            return s;
    return NULL;
}

unsigned rec_pool_stop_channel(rec_pool_t *p, const char *app_id, const char *channel_id)
{
    unsigned n = 0;
    for (rec_session_t *s = p->sessions; s != NULL; s = s->next)
        if (!s->stopped && strcmp(s->app_id, app_id) == 0 && strcmp(s->channel_id, channel_id) == 0) {
            rec_session_stop(s);
            n++;
        }
    return n;
}

/* ---- control thread: sessions ---- */

/* yyyymmddHHMMSS + 4 random digits, like the contract's 202212311431169569. */
static void generate_id(char *out, size_t cap)
{
    char dt[24];
    uint32_t rnd = 0;
    clock_format_datetime(clock_wall_ms(), dt, sizeof(dt));
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        rnd = (uint32_t)clock_mono_us();
    snprintf(out, cap, "%s%04u", dt, rnd % 10000);
}

static bool valid_params(const rec_params_t *pr, const char **field)
{
    *field = NULL;
    if (pr->app_id == NULL || pr->app_id[0] == '\0' || strlen(pr->app_id) >= 64)
        *field = "appId";
    else if (pr->channel_id == NULL || pr->channel_id[0] == '\0' || strlen(pr->channel_id) >= 128)
        *field = "channelId";
    else if (pr->user_id == NULL || strlen(pr->user_id) >= 128)
        *field = "userId";
    else if (pr->recording_id != NULL && strlen(pr->recording_id) >= 32)
        *field = "recordingId";
    else if (pr->kind != REC_KIND_VIDEO && pr->kind != REC_KIND_IMAGE)
        *field = "recordingType";
    else if (pr->mode != REC_MODE_SINGLE && pr->mode != REC_MODE_MIXED)
        *field = "recordingModel";
    else if (pr->storage != REC_STORAGE_NAS && pr->storage != REC_STORAGE_ISDP)
        *field = "storageType";
    else if (pr->capture_interval_s < 0 || pr->capture_interval_s > 3600)
        *field = "captureInterval";
    else if (pr->capture_nums < 0 || pr->capture_nums > REC_CAPTURE_NUMS_MAX)
        *field = "captureNums";
    return *field == NULL;
}

static int insert_row(rec_pool_t *p, const rec_params_t *pr, rec_session_t *s, const char *path, uint64_t start_ms)
{
    store_recording_t r = {0};
    r.channel_id = (char *)pr->channel_id;
    r.user_id = (char *)pr->user_id;
    r.kind = pr->kind;
    r.mode = pr->mode;
    r.rule_id = pr->rule_id;
    r.storage_type = (char *)(pr->storage == REC_STORAGE_NAS ? "NAS" : "ISDP");
    r.path = (char *)path;
    r.callback_url = (char *)(pr->callback_url ? pr->callback_url : "");
    r.extra_data = (char *)(pr->extra_data ? pr->extra_data : "");
    r.status = STORE_REC_RECORDING;
    r.started_at_ms = (int64_t)start_ms;
    snprintf(r.app_id, sizeof(r.app_id), "%s", pr->app_id);
    for (int attempt = 0;; attempt++) {
        snprintf(r.recording_id, sizeof(r.recording_id), "%s", s->recording_id);
        int rc = store_recording_insert(p->cfg.store, &r);
        if (rc != IRTC_ECONFLICT || attempt == 5 || (pr->recording_id && pr->recording_id[0]))
            return rc;
        generate_id(s->recording_id, sizeof(s->recording_id));
    }
}

int rec_session_new(rec_pool_t *p, const rec_params_t *pr, rec_session_t **out, char *err, size_t errcap)
{
    const char *field, *why;
    if (!valid_params(pr, &field)) {
        snprintf(err, errcap, "%s is missing or out of range", field);
        return IRTC_EINVAL;
    }
    rec_job_config_t *c = xcalloc(1, sizeof(*c));
    uint64_t start_ms = clock_wall_ms();
    rec_path_vars_t vars = {.app_id = pr->app_id, .channel_id = pr->channel_id, .start_wall_ms = start_ms};
    const char *rp = pr->record_path ? pr->record_path : "", *fn = pr->file_name ? pr->file_name : "";
    if (rec_path_dir(rp, strlen(rp), &vars, c->rel, sizeof(c->rel), &why) != IRTC_OK) {
        snprintf(err, errcap, "recordPath %s", why);
        free(c);
        return IRTC_EINVAL;
    }
    if (rec_path_name(fn, strlen(fn), "{channel_id}_{file_start_time}", &vars, c->name, sizeof(c->name), &why) !=
        IRTC_OK) {
        snprintf(err, errcap, "fileName %s", why);
        free(c);
        return IRTC_EINVAL;
    }
    rec_session_t *s = xcalloc(1, sizeof(*s));
    s->pool = p;
    s->serial = ++p->next_serial;
    s->on_event = pr->on_event;
    s->ud = pr->ud;
    s->kind = pr->kind;
    s->mode = pr->mode;
    snprintf(s->app_id, sizeof(s->app_id), "%s", pr->app_id);
    snprintf(s->channel_id, sizeof(s->channel_id), "%s", pr->channel_id);
    if (pr->recording_id && pr->recording_id[0])
        snprintf(s->recording_id, sizeof(s->recording_id), "%s", pr->recording_id);
    else
        generate_id(s->recording_id, sizeof(s->recording_id));
    snprintf(c->base, sizeof(c->base), "%s", pr->storage == REC_STORAGE_NAS ? p->nas_base : p->isdp_base);
    if (p->cfg.store != NULL) {
        char intended[REC_FULL_PATH_MAX], file[REC_NAME_MAX + 8];
        snprintf(file, sizeof(file), "%s%s", c->name, pr->kind == REC_KIND_VIDEO ? ".mp4" : ".jpg");
        rec_path_join(intended, sizeof(intended), c->base, c->rel, file);
        int rc = insert_row(p, pr, s, pr->kind == REC_KIND_IMAGE && pr->storage == REC_STORAGE_ISDP ? "" : intended,
                            start_ms);
        if (rc != IRTC_OK) {
            snprintf(err, errcap, rc == IRTC_ECONFLICT ? "recordingId already exists" : "recordings table: %s",
                     irtc_strerror(rc));
            free(c);
            free(s);
            return rc;
        }
    }
    snprintf(c->recording_id, sizeof(c->recording_id), "%s", s->recording_id);
    snprintf(c->app_id, sizeof(c->app_id), "%s", pr->app_id);
    snprintf(c->channel_id, sizeof(c->channel_id), "%s", pr->channel_id);
    snprintf(c->user_id, sizeof(c->user_id), "%s", pr->user_id);
    c->kind = pr->kind;
    c->mode = pr->mode;
    c->storage = pr->storage;
    c->capture_interval_s = pr->capture_interval_s ? pr->capture_interval_s : 1;
    c->capture_nums = pr->capture_nums ? pr->capture_nums : 1;
    c->audio_codec = p->cfg.audio_codec;
    c->mixed_w = p->cfg.mixed_width;
    c->mixed_h = p->cfg.mixed_height;
    c->mixed_fps = p->cfg.mixed_fps;
    c->video_kbps = p->cfg.video_kbps;
    atomic_store(&s->shared.state, REC_STATE_STARTING);
    /* the least loaded thread */
    s->thread = &p->threads[0];
    for (unsigned i = 1; i < p->n_threads; i++)
        if (p->threads[i].load < s->thread->load)
            s->thread = &p->threads[i];
    s->thread->load++;
    s->next = p->sessions;
    if (p->sessions)
        p->sessions->prev = s;
    p->sessions = s;
    rec_cmd_t *cmd = xcalloc(1, sizeof(*cmd));
    cmd->type = CMD_NEW;
    cmd->serial = s->serial;
    cmd->job = rec_job_new(c, &s->shared, emit, s);
    free(c);
    post(s->thread, cmd);
    *out = s;
    return IRTC_OK;
}

const char *rec_session_id(const rec_session_t *s)
{
    return s->recording_id;
}

int rec_session_add_track(rec_session_t *s, spsc_ring_t *ring, const codec_params_t *params, uint64_t stream_id,
                          const char *user_id, bool is_main)
{
    if (s->stopped)
        return IRTC_ECONFLICT;
    if (params->codec != CODEC_OPUS && params->codec != CODEC_VP8 && params->codec != CODEC_VP9 &&
        params->codec != CODEC_H264)
        return IRTC_EINVAL;
    spsc_ring_ref(ring);
    rec_cmd_t *cmd = xcalloc(1, sizeof(*cmd));
    cmd->type = CMD_ADD;
    cmd->serial = s->serial;
    cmd->ring = ring;
    cmd->params = *params;
    cmd->stream_id = stream_id;
    snprintf(cmd->user_id, sizeof(cmd->user_id), "%s", user_id ? user_id : "");
    cmd->is_main = is_main;
    post(s->thread, cmd);
    return IRTC_OK;
}

int rec_session_remove_track(rec_session_t *s, spsc_ring_t *ring)
{
    rec_cmd_t *cmd = xcalloc(1, sizeof(*cmd));
    cmd->type = CMD_REMOVE;
    cmd->serial = s->serial;
    cmd->ring = ring; /* compared only */
    post(s->thread, cmd);
    return IRTC_OK;
}

void rec_session_stop(rec_session_t *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    rec_cmd_t *cmd = xcalloc(1, sizeof(*cmd));
    cmd->type = CMD_STOP;
    cmd->serial = s->serial;
    cmd->at_us = clock_mono_us(); /* the workers' arrival clock */
    post(s->thread, cmd);
}

void rec_session_status(const rec_session_t *s, rec_status_t *out)
{
    rec_shared_t *sh = (rec_shared_t *)&s->shared;
    out->state = (rec_state_t)atomic_load(&sh->state);
    out->bytes = atomic_load(&sh->bytes);
    out->duration_ms = atomic_load(&sh->duration_ms);
    out->dropped_packets = atomic_load(&sh->dropped);
    out->lost_packets = atomic_load(&sh->lost);
    out->cpu_us = atomic_load(&sh->cpu_us);
    out->remux = atomic_load(&sh->remux);
    out->tracks = atomic_load(&sh->tracks);
}
