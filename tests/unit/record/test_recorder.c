/*
 * test_recorder.c — the recorder end to end on real media: ffmpeg encodes
 * test patterns and tones (VP8, H.264 constrained baseline, VP9, Opus),
 * libavformat's RTP muxer packetizes them in process (the same packetizers
 * `ffmpeg -f rtp` uses), and the packets go into spsc_ring_t rings with
 * arrival times paced by their RTP timestamps, as a media worker would push
 * them.  Sessions run on a real recorder pool with an h2o control loop;
 * every file is checked with ffprobe (streams, codecs, size, duration) and
 * decoded with `ffmpeg -v error -f null` (no errors).
 *
 * Faults: a SIGKILLed recording (the .part must play), a read-only and a
 * full file system (tmpfs in a private mount namespace, so the test needs
 * root or CAP_SYS_ADMIN: skipped otherwise), a missing NAS base, and a ring
 * too small for a burst (dropped packets counted, file still plays), and
 * H.264 with a lost FU-A fragment and a lost frame (decodes without errors).
 *
 * CPU per session (recorder-thread CPU time, getrusage for the process)
 * is printed as TAP comments for the benchmarks in docs/RECORDING.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "media/codecs/codec.h"
#include "media/rtp.h"
#include "record/recorder.h"
#include "store/store.h"
#include "unit/tap.h"

#define MEDIA_S 5

static char work[64];

/* ---- media and RTP packets ---- */

typedef struct {
    uint8_t *data;
    uint16_t len;
    uint64_t at_us; /* arrival offset from the start of the feed */
} pkt_t;

typedef struct {
    pkt_t *p;
    size_t n, cap;
    int kind, codec;
    uint32_t clock_rate;
    uint8_t pt;
    uint32_t ts0;
    bool have_ts0;
    unsigned same_ts; /* packets so far with the current timestamp: they leave the sender back to back */
    uint32_t last_ts;
} track_pkts_t;

static int collect(void *opaque, uint8_t *buf, int size)
{
    track_pkts_t *t = opaque;
    if (size < 12 || rtp_classify(buf, (size_t)size) != RTP_KIND_RTP)
        return size;
    uint32_t ts = rtp_get_ts(buf);
    if (!t->have_ts0) {
        t->have_ts0 = true;
        t->ts0 = ts;
        t->last_ts = ts;
    }
    t->same_ts = ts == t->last_ts ? t->same_ts + 1 : 0;
    t->last_ts = ts;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->p = xrealloc(t->p, t->cap * sizeof(*t->p));
    }
    pkt_t *p = &t->p[t->n++];
    p->data = xmalloc((size_t)size);
    memcpy(p->data, buf, (size_t)size);
    p->len = (uint16_t)size;
    p->at_us = (uint64_t)(uint32_t)(ts - t->ts0) * 1000000 / t->clock_rate + t->same_ts * 40;
    return size;
}

/* Packetizes the first stream of file with libavformat's RTP muxer. */
static bool packetize(const char *file, int kind, int codec, track_pkts_t *t)
{
    AVFormatContext *in = NULL, *out = NULL;
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->codec = codec;
    t->clock_rate = kind == 0 ? 48000 : 90000;
    t->pt = kind == 0 ? 111 : 96;
    if (avformat_open_input(&in, file, NULL, NULL) < 0 || avformat_find_stream_info(in, NULL) < 0)
        return false;
    AVStream *ist = in->streams[0];
    avformat_alloc_output_context2(&out, NULL, "rtp", NULL);
    out->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL; /* the VP9 packetizer follows a draft */
    AVStream *ost = avformat_new_stream(out, NULL);
    avcodec_parameters_copy(ost->codecpar, ist->codecpar);
    ost->codecpar->codec_tag = 0;
    ost->time_base = ist->time_base;
    uint8_t *buf = av_malloc(4096);
    out->pb = avio_alloc_context(buf, 4096, 1, t, NULL, collect, NULL);
    out->pb->max_packet_size = 1200;
    out->flags |= AVFMT_FLAG_CUSTOM_IO;
    AVDictionary *o = NULL;
    av_dict_set(&o, "rtpflags", "skip_rtcp", 0);
    av_dict_set_int(&o, "payload_type", t->pt, 0);
    av_dict_set_int(&o, "ssrc", kind == 0 ? 0x1234 + codec : 0x5678 + codec, 0);
    bool good = avformat_write_header(out, &o) >= 0;
    av_dict_free(&o);
    AVPacket *pkt = av_packet_alloc();
    while (good && av_read_frame(in, pkt) >= 0) {
        if (pkt->stream_index == 0) {
            av_packet_rescale_ts(pkt, ist->time_base, ost->time_base);
            pkt->stream_index = 0;
            av_write_frame(out, pkt);
        }
        av_packet_unref(pkt);
    }
    av_write_trailer(out);
    av_packet_free(&pkt);
    av_freep(&out->pb->buffer);
    avio_context_free(&out->pb);
    avformat_free_context(out);
    avformat_close_input(&in);
    return good && t->n > 0;
}

static void pkts_free(track_pkts_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->p[i].data);
    free(t->p);
}

/* ---- feeding rings ---- */

typedef struct {
    track_pkts_t *src;
    spsc_ring_t *ring;
    size_t next;
    uint64_t offset_us; /* when this track's first packet arrives, from the feed's base */
} feed_t;

/* rec_session_add_track for a fed track, with its codec as an SFU tap tells it. */
static int add_track(rec_session_t *s, const feed_t *f, uint64_t stream_id, const char *user_id, bool is_main)
{
    const codec_params_t params = {
        .kind = f->src->kind, .codec = f->src->codec, .pt = f->src->pt, .clock_rate = f->src->clock_rate};
    return rec_session_add_track(s, f->ring, &params, stream_id, user_id, is_main);
}

/* Pushes every packet in arrival order, from base_us on, up to until_us of
 * media.  With backpressure the feed waits while a ring is 3/4 full (a real
 * worker pushes at wire speed, the recorder keeps up); without it, packets
 * that do not fit are dropped and counted as the worker would. */
static void feed(feed_t *f, size_t n, uint64_t base_us, uint64_t until_us, bool backpressure)
{
    for (;;) {
        feed_t *best = NULL;
        for (size_t i = 0; i < n; i++)
            if (f[i].next < f[i].src->n && (best == NULL || f[i].src->p[f[i].next].at_us + f[i].offset_us <
                                                                best->src->p[best->next].at_us + best->offset_us))
                best = &f[i];
        if (best == NULL || best->src->p[best->next].at_us + best->offset_us >= until_us)
            return;
        const pkt_t *p = &best->src->p[best->next++];
        spsc_ring_t *r = best->ring;
        /* (a ring only the feed still holds has no reader: its session ended) */
        while (backpressure && atomic_load(&r->refs) > 1 &&
               atomic_load(&r->head) - atomic_load(&r->tail) > (r->mask + 1) * 3 / 4)
            usleep(500);
        spsc_ring_push(r, p->data, p->len, base_us + best->offset_us + p->at_us);
    }
}

/* ---- sessions ---- */

typedef struct {
    char id[32];
    bool done, started;
    rec_state_t state;
    char reason[512], path[1024], snap_path[4][1024];
    uint64_t bytes, dropped;
    int64_t duration_ms;
    int snaps, snap_w, snap_h, keyframe_requests;
    uint8_t *jpeg;
    size_t jpeg_len;
    rec_status_t status; /* as of the DONE event */
} result_t;

static void on_event(rec_session_t *s, const rec_event_t *ev, void *ud)
{
    result_t *r = ud;
    switch (ev->type) {
    case REC_EV_KEYFRAME_NEEDED:
        r->keyframe_requests++;
        break;
    case REC_EV_STARTED:
        r->started = true;
        break;
    case REC_EV_SNAPSHOT:
        if (ev->path && r->snaps < 4)
            snprintf(r->snap_path[r->snaps], sizeof(r->snap_path[0]), "%s", ev->path);
        if (ev->jpeg && r->jpeg == NULL) {
            r->jpeg = xmalloc(ev->jpeg_len);
            memcpy(r->jpeg, ev->jpeg, ev->jpeg_len);
            r->jpeg_len = ev->jpeg_len;
        }
        r->snap_w = ev->width;
        r->snap_h = ev->height;
        r->snaps++;
        break;
    case REC_EV_DONE:
        rec_session_status(s, &r->status);
        snprintf(r->id, sizeof(r->id), "%s", ev->recording_id);
        r->done = true;
        r->state = ev->state;
        snprintf(r->reason, sizeof(r->reason), "%s", ev->reason ? ev->reason : "");
        snprintf(r->path, sizeof(r->path), "%s", ev->path ? ev->path : "");
        r->bytes = ev->bytes;
        r->dropped = ev->dropped_packets;
        r->duration_ms = ev->duration_ms;
        break;
    }
}

static bool wait_done(h2o_evloop_t *loop, result_t *r, int timeout_ms)
{
    uint64_t end = clock_mono_ms() + (uint64_t)timeout_ms;
    while (!r->done && clock_mono_ms() < end)
        h2o_evloop_run(loop, 10);
    return r->done;
}

static rec_session_t *start(rec_pool_t *p, rec_kind_t kind, rec_mode_t mode, const char *name, result_t *r)
{
    rec_params_t pr = {.app_id = "app1",
                       .channel_id = "chan-1",
                       .user_id = "alice",
                       .kind = kind,
                       .mode = mode,
                       .storage = REC_STORAGE_NAS,
                       .record_path = "/rec/{app_id}/{date_time}",
                       .file_name = name,
                       .capture_interval_s = 1,
                       .capture_nums = 2,
                       .on_event = on_event,
                       .ud = r};
    rec_session_t *s = NULL;
    char err[256];
    memset(r, 0, sizeof(*r));
    if (rec_session_new(p, &pr, &s, err, sizeof(err)) != IRTC_OK) {
        printf("# rec_session_new: %s\n", err);
        return NULL;
    }
    return s;
}

static store_t *db; /* the control thread's connection: recordings rows */

static rec_pool_t *pool_new(h2o_evloop_t *loop, const char *base, rec_audio_codec_t ac)
{
    rec_pool_config_t cfg = {.threads = 2,
                             .nas_base_path = base,
                             .isdp_base_path = base,
                             .audio_codec = ac,
                             .control_loop = loop,
                             .store = db};
    rec_pool_t *p = NULL;
    char err[256];
    if (rec_pool_new(&cfg, &p, err, sizeof(err)) != IRTC_OK)
        printf("# rec_pool_new: %s\n", err);
    return p;
}

/* ---- ffprobe ---- */

typedef struct {
    char vcodec[32], acodec[32], profile[64];
    int width, height, streams;
    double duration, vstart, astart;
} probe_t;

static bool probe(const char *file, probe_t *pr)
{
    char cmd[1400], line[256];
    memset(pr, 0, sizeof(*pr));
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -show_entries stream=codec_type,codec_name,width,height,profile,start_time:"
             "format=duration -of default=nw=1 '%s' 2>&1",
             file);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return false;
    char type[16] = "", name[32] = "";
    double st = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "codec_name=%31s", name) == 1)
            continue;
        if (sscanf(line, "start_time=%lf", &st) == 1) {
            *(strcmp(type, "video") == 0 ? &pr->vstart : &pr->astart) = st;
            continue;
        }
        if (strncmp(line, "profile=", 8) == 0) {
            if (pr->profile[0] == '\0') /* the video stream comes first */
                snprintf(pr->profile, sizeof(pr->profile), "%.63s", line + 8);
        } else if (sscanf(line, "codec_type=%15s", type) == 1) {
            pr->streams++;
            snprintf(strcmp(type, "video") == 0 ? pr->vcodec : pr->acodec, 32, "%s", name);
        } else if (sscanf(line, "width=%d", &pr->width) == 1 || sscanf(line, "height=%d", &pr->height) == 1) {
            continue;
        } else if (strncmp(line, "duration=", 9) == 0) {
            pr->duration = atof(line + 9);
        } else if (line[0]) {
            printf("# ffprobe: %s\n", line);
        }
    }
    return pclose(f) == 0 && pr->streams > 0;
}

/* `ffmpeg -v error -i file -f null -` prints nothing for a clean file. */
static bool decodes_clean(const char *file)
{
    char cmd[1200], line[256];
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -i '%s' -f null - 2>&1", file);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return false;
    int lines = 0;
    while (fgets(line, sizeof(line), f))
        if (lines++ < 3)
            printf("# ffmpeg: %s", line);
    return pclose(f) == 0 && lines == 0;
}

static double rusage_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static bool first_video_frame_is_key(const char *file)
{
    char cmd[1200], line[64] = "";
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v -read_intervals %%+#1 -show_entries frame=key_frame -of csv=p=0 "
             "'%s' 2>&1",
             file);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return false;
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    pclose(f);
    return strncmp(line, "1", 1) == 0;
}

/* The checks every finished recording must pass. */
static void check_file(const char *what, const result_t *r, const char *acodec, int w, int h, double want_s)
{
    probe_t pr;
    ok(r->done && r->state == REC_STATE_COMPLETE, "%s: complete (%s)", what, r->reason);
    ok(r->started, "%s: STARTED event", what);
    ok(probe(r->path, &pr), "%s: ffprobe reads %s", what, r->path);
    is_str(pr.vcodec, "h264", "%s: video is H.264", what);
    is_str(pr.acodec, acodec, "%s: audio is %s", what, acodec);
    ok(pr.width == w && pr.height == h, "%s: %dx%d (got %dx%d)", what, w, h, pr.width, pr.height);
    ok(pr.duration > want_s - 1 && pr.duration < want_s + 1, "%s: duration %.2f s within 1 s of %.0f", what,
       pr.duration, want_s);
    ok(pr.vstart - pr.astart < 0.2 && pr.astart - pr.vstart < 0.2, "%s: audio and video start together (%.3f/%.3f)",
       what, pr.vstart, pr.astart);
    ok(decodes_clean(r->path), "%s: decodes without errors", what);
    ok(first_video_frame_is_key(r->path), "%s: starts with a keyframe", what);
    struct stat sb;
    ok(stat(r->path, &sb) == 0 && (uint64_t)sb.st_size == r->bytes, "%s: bytes reported = file size", what);
    ok(strstr(r->path, "/rec/app1/") != NULL && strstr(r->path, ".mp4") != NULL, "%s: path from the template", what);
}

static void report_cpu(const char *what, double cpu_s, const result_t *r, double media_s)
{
    printf("# cpu %s: process %.2f s, recorder thread %.2f s for %.0f s of media = %.1f%% of a core\n", what, cpu_s,
           r->status.cpu_us / 1e6, media_s, 100.0 * r->status.cpu_us / 1e6 / media_s);
}

static track_pkts_t vp8, h264, vp9, a1, a2;

static void run_single(h2o_evloop_t *loop, rec_pool_t *pool, const char *what, track_pkts_t *video, int w, int h,
                       bool want_remux, const char *acodec)
{
    result_t r;
    double cpu0 = rusage_cpu_s();
    rec_session_t *s = start(pool, REC_KIND_VIDEO, REC_MODE_SINGLE, what, &r);
    feed_t f[3] = {{video, spsc_ring_new(1024), 0}, {&a1, spsc_ring_new(256), 0}, {&a2, spsc_ring_new(256), 0}};
    ok(s != NULL, "%s: session", what);
    if (s == NULL)
        return;
    add_track(s, &f[0], 1, "alice", true);
    add_track(s, &f[1], 1, "alice", true);
    add_track(s, &f[2], 2, "bob", false);
    feed(f, 3, clock_mono_us(), UINT64_MAX, true);
    rec_session_stop(s); /* the handle lives until DONE, which only this thread delivers */
    ok(wait_done(loop, &r, 30000), "%s: done", what);
    check_file(what, &r, acodec, w, h, MEDIA_S); /* the audio tracks last MEDIA_S */
    ok(r.status.remux == want_remux, "%s: %s", what, want_remux ? "remuxed, not transcoded" : "transcoded to H.264");
    store_recording_t row;
    ok(store_recording_get(db, r.id, &row) == IRTC_OK && row.status == STORE_REC_COMPLETE &&
           strcmp(row.path, r.path) == 0 && row.bytes == (int64_t)r.bytes && row.duration_ms == r.duration_ms &&
           row.ended_at_ms > 0 && row.kind == 0 && row.mode == 0 && strcmp(row.user_id, "alice") == 0,
       "%s: recordings row complete with path, bytes, duration", what);
    store_recording_dispose(&row);
    is_int(r.dropped, 0, "%s: nothing dropped", what);
    report_cpu(what, rusage_cpu_s() - cpu0, &r, MEDIA_S);
    if (want_remux) {
        probe_t pr;
        probe(r.path, &pr);
        is_str(pr.profile, "Constrained Baseline", "%s: the publisher's own H.264 (x264 would be High)", what);
    }
    for (int i = 0; i < 3; i++)
        spsc_ring_unref(f[i].ring);
}

static void run_mixed(h2o_evloop_t *loop, rec_pool_t *pool)
{
    result_t r;
    double cpu0 = rusage_cpu_s();
    rec_session_t *s = start(pool, REC_KIND_VIDEO, REC_MODE_MIXED, "mixed", &r);
    feed_t f[4] = {{&vp8, spsc_ring_new(1024), 0},
                   {&h264, spsc_ring_new(1024), 0},
                   {&a1, spsc_ring_new(256), 0},
                   {&a2, spsc_ring_new(256), 0}};
    ok(s != NULL, "mixed: session");
    if (s == NULL)
        return;
    add_track(s, &f[0], 1, "alice", true);
    add_track(s, &f[1], 2, "bob", false);
    add_track(s, &f[2], 1, "alice", true);
    add_track(s, &f[3], 2, "bob", false);
    feed(f, 4, clock_mono_us(), UINT64_MAX, true);
    ok(rec_pool_find(pool, rec_session_id(s)) == s, "mixed: found by recording id");
    is_int(rec_pool_stop_channel(pool, "app1", "chan-1"), 1, "mixed: stopCapture without an id stops the channel");
    is_int(rec_pool_stop_channel(pool, "app1", "chan-1"), 0, "mixed: already stopping");
    ok(wait_done(loop, &r, 30000), "mixed: done");
    ok(rec_pool_find(pool, r.id) == NULL, "mixed: gone after DONE");
    check_file("mixed", &r, "aac", 1280, 720, MEDIA_S);
    ok(!r.status.remux, "mixed: composite is encoded");
    report_cpu("mixed (2 video + 2 audio)", rusage_cpu_s() - cpu0, &r, MEDIA_S);
    for (int i = 0; i < 4; i++)
        spsc_ring_unref(f[i].ring);
}

static void run_overflow(h2o_evloop_t *loop, rec_pool_t *pool)
{
    result_t r;
    rec_session_t *s = start(pool, REC_KIND_VIDEO, REC_MODE_SINGLE, "overflow", &r);
    feed_t f[2] = {{&h264, spsc_ring_new(64), 0}, {&a1, spsc_ring_new(256), 0}};
    if (s == NULL)
        return;
    add_track(s, &f[0], 1, "alice", true);
    add_track(s, &f[1], 1, "alice", true);
    uint64_t base = clock_mono_us();
    feed(f, 2, base, 1500000, false); /* a burst the recorder cannot take: the worker drops */
    feed(f, 2, base, UINT64_MAX, true);
    rec_session_stop(s);
    ok(wait_done(loop, &r, 30000), "overflow: done");
    ok(r.state == REC_STATE_COMPLETE, "overflow: still complete");
    ok(r.dropped > 0, "overflow: dropped packets counted (%llu)", (unsigned long long)r.dropped);
    ok(strstr(r.reason, "dropped") != NULL, "overflow: the status says so (%s)", r.reason);
    probe_t pr;
    ok(probe(r.path, &pr) && strcmp(pr.vcodec, "h264") == 0 && pr.duration > 2, "overflow: file plays (%.2f s)",
       pr.duration);
    ok(decodes_clean(r.path), "overflow: decodes without errors (restarted on a keyframe)");
    ok(r.keyframe_requests > 0, "overflow: asked for a keyframe (%d)", r.keyframe_requests);
    for (int i = 0; i < 2; i++)
        spsc_ring_unref(f[i].ring);
}

/* Packet i's RTP timestamp and marker bit. */
static uint32_t pkt_ts(const pkt_t *p)
{
    return (uint32_t)p->data[4] << 24 | (uint32_t)p->data[5] << 16 | (uint32_t)p->data[6] << 8 | p->data[7];
}

/* H.264 with losses the depacketizer must not let through: a middle FU-A
 * fragment of a frame after 1 s, and a whole delta frame after 3 s.  The
 * file must still decode without one error (each loss costs the video up
 * to the next keyframe, 2 s later). */
static void run_lossy(h2o_evloop_t *loop, rec_pool_t *pool)
{
    track_pkts_t lossy = h264;
    lossy.p = xcalloc(h264.n, sizeof(pkt_t));
    lossy.n = 0;
    int cut_fragment = 0, cut_frame = 0;
    uint32_t cut_ts = 0;
    for (size_t i = 0; i < h264.n; i++) {
        const pkt_t *p = &h264.p[i];
        bool mid = i > 0 && i + 1 < h264.n && pkt_ts(&h264.p[i - 1]) == pkt_ts(p) && pkt_ts(&h264.p[i + 1]) == pkt_ts(p);
        if (!cut_fragment && p->at_us > 1000000 && mid && (p->data[12] & 0x1f) == 28) {
            cut_fragment = 1;
            continue;
        }
        if (!cut_frame && p->at_us > 3000000 && !mid && !(p->data[1] & 0x80) && (p->data[12] & 0x1f) != 5 &&
            !(i > 0 && pkt_ts(&h264.p[i - 1]) == pkt_ts(p)))
            cut_ts = pkt_ts(p), cut_frame = 1; /* the first packet of a frame: it all goes */
        if (cut_frame == 1 && pkt_ts(p) == cut_ts)
            continue;
        if (cut_frame == 1)
            cut_frame = 2;
        lossy.p[lossy.n++] = *p;
    }
    ok(cut_fragment && cut_frame, "lossy: one FU-A fragment and one whole frame cut (%zu of %zu packets left)",
       lossy.n, h264.n);
    result_t r;
    rec_session_t *s = start(pool, REC_KIND_VIDEO, REC_MODE_SINGLE, "lossy", &r);
    feed_t f[2] = {{&lossy, spsc_ring_new(1024), 0}, {&a1, spsc_ring_new(256), 0}};
    if (s != NULL) {
        add_track(s, &f[0], 1, "alice", true);
        add_track(s, &f[1], 1, "alice", true);
        feed(f, 2, clock_mono_us(), UINT64_MAX, true);
        rec_session_stop(s);
        ok(wait_done(loop, &r, 30000), "lossy: done");
        ok(r.state == REC_STATE_COMPLETE, "lossy: complete");
        probe_t pr;
        ok(probe(r.path, &pr) && strcmp(pr.vcodec, "h264") == 0 && pr.duration > MEDIA_S - 1, "lossy: file plays (%.2f s)",
           pr.duration);
        ok(decodes_clean(r.path), "lossy: decodes without errors (no damaged frame written)");
        ok(r.keyframe_requests >= 2, "lossy: asked for a keyframe after each loss (%d)", r.keyframe_requests);
    }
    for (int i = 0; i < 2; i++)
        spsc_ring_unref(f[i].ring);
    free(lossy.p);
}

/* Mode 0 for a user who publishes no video: the file starts after 2 s
 * without a keyframe, with the audio from the start and a black picture. */
static void run_audio_only(h2o_evloop_t *loop, rec_pool_t *pool)
{
    result_t r;
    rec_session_t *s = start(pool, REC_KIND_VIDEO, REC_MODE_SINGLE, "audio_only", &r);
    feed_t f[2] = {{&a1, spsc_ring_new(256), 0, 0}, {&a2, spsc_ring_new(256), 0, 0}};
    if (s == NULL)
        return;
    add_track(s, &f[0], 1, "alice", true);
    add_track(s, &f[1], 2, "bob", false);
    feed(f, 2, clock_mono_us(), UINT64_MAX, true);
    rec_session_stop(s);
    ok(wait_done(loop, &r, 30000) && r.state == REC_STATE_COMPLETE, "audio only: complete (%s)", r.reason);
    probe_t pr;
    ok(probe(r.path, &pr) && strcmp(pr.acodec, "aac") == 0 && strcmp(pr.vcodec, "h264") == 0,
       "audio only: AAC plus a (black) H.264 stream a later camera could join");
    ok(pr.duration > MEDIA_S - 1 && pr.duration < MEDIA_S + 1, "audio only: all the audio (%.2f s)", pr.duration);
    ok(decodes_clean(r.path), "audio only: decodes without errors");
    spsc_ring_unref(f[0].ring);
    spsc_ring_unref(f[1].ring);
}

static int count_video_frames(const char *file)
{
    char cmd[1200], line[64] = "";
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v -count_frames -show_entries stream=nb_read_frames -of csv=p=0 '%s'",
             file);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    pclose(f);
    return atoi(line);
}

/* The longest step between consecutive video timestamps, in seconds. */
static double max_video_step(const char *file, double *at)
{
    char cmd[1200], line[64];
    snprintf(cmd, sizeof(cmd), "ffprobe -v error -select_streams v -show_entries packet=pts_time -of csv=p=0 '%s'",
             file);
    FILE *f = popen(cmd, "r");
    double prev = -1, best = 0;
    while (f && fgets(line, sizeof(line), f)) {
        double t = atof(line);
        if (prev >= 0 && t - prev > best) {
            best = t - prev;
            *at = t;
        }
        prev = t;
    }
    if (f)
        pclose(f);
    return best;
}

/* The publisher leaves after 2 s (audio goes on alone for a second), then
 * comes back publishing VP8 instead of H.264: the file keeps one H.264
 * stream (copied, then transcoded from the new track's keyframe), with
 * monotonic timestamps and no decode error. */
static void run_republish(h2o_evloop_t *loop, rec_pool_t *pool)
{
    result_t r;
    rec_session_t *s = start(pool, REC_KIND_VIDEO, REC_MODE_SINGLE, "republish", &r);
    feed_t f[4] = {{&a1, spsc_ring_new(256), 0, 0},
                   {&a2, spsc_ring_new(256), 0, 0},
                   {&h264, spsc_ring_new(1024), 0, 0},
                   {&vp8, spsc_ring_new(1024), 0, 3000000}};
    if (s == NULL)
        return;
    add_track(s, &f[0], 1, "alice", true);
    add_track(s, &f[1], 2, "bob", false);
    add_track(s, &f[2], 1, "alice", true);
    uint64_t base = clock_mono_us();
    feed(f, 3, base, 2000000, true);
    rec_session_remove_track(s, f[2].ring); /* alice unpublished */
    feed(f, 2, base, 3000000, true);
    add_track(s, &f[3], 3, "alice", true); /* and published again, in VP8 */
    spsc_ring_t *h264_ring = f[2].ring;
    f[2] = f[3];
    feed(f, 3, base, MEDIA_S * 1000000, true);
    rec_session_stop(s);
    ok(wait_done(loop, &r, 30000) && r.state == REC_STATE_COMPLETE, "republish: complete (%s)", r.reason);
    probe_t pr;
    ok(probe(r.path, &pr) && strcmp(pr.vcodec, "h264") == 0 && pr.width == 1280, "republish: one H.264 stream");
    ok(pr.duration > MEDIA_S - 1 && pr.duration < MEDIA_S + 1, "republish: audio all along (%.2f s)", pr.duration);
    ok(decodes_clean(r.path), "republish: decodes without errors across the switch");
    int frames = count_video_frames(r.path);
    ok(frames >= 100 && frames <= 125, "republish: both publications' frames, none in the gap (%d)", frames);
    ok(r.status.remux, "republish: the H.264 part was copied");
    double at = 0, step = max_video_step(r.path, &at);
    ok(step > 0.9 && step < 1.2 && at > 2.9 && at < 3.2,
       "republish: the gap stays a gap, the new video at its own time (%.3f s gap ending at %.3f)", step, at);
    spsc_ring_unref(f[0].ring);
    spsc_ring_unref(f[1].ring);
    spsc_ring_unref(f[2].ring); /* the VP8 ring; the H.264 one was copied over */
    spsc_ring_unref(h264_ring);
}

static void run_snapshots(h2o_evloop_t *loop, rec_pool_t *pool)
{
    result_t r;
    rec_session_t *s = start(pool, REC_KIND_IMAGE, REC_MODE_SINGLE, "snap_{channel_id}", &r);
    feed_t f[1] = {{&h264, spsc_ring_new(1024), 0}};
    if (s == NULL)
        return;
    add_track(s, &f[0], 1, "alice", true);
    feed(f, 1, clock_mono_us(), UINT64_MAX, true);
    ok(wait_done(loop, &r, 30000), "snapshot: done without a stop after capture_nums pictures");
    ok(r.state == REC_STATE_COMPLETE, "snapshot: complete (%s)", r.reason);
    is_int(r.snaps, 2, "snapshot: two pictures");
    for (int i = 0; i < 2 && i < r.snaps; i++) {
        probe_t pr;
        ok(probe(r.snap_path[i], &pr) && strcmp(pr.vcodec, "mjpeg") == 0, "snapshot %d: ffprobe says mjpeg (%s)", i,
           r.snap_path[i]);
        ok(pr.width == 1280 && pr.height == 720, "snapshot %d: 1280x720 (%dx%d)", i, pr.width, pr.height);
    }
    ok(r.snaps == 2 && strcmp(r.snap_path[0], r.snap_path[1]) != 0 && strstr(r.snap_path[1], "snap_chan-1-1.jpg"),
       "snapshot: second picture gets -1, nothing overwritten");
    spsc_ring_unref(f[0].ring);

    /* ISDP: the JPEG comes back in the event, no file */
    rec_params_t pr = {.app_id = "app1",
                       .channel_id = "chan-1",
                       .user_id = "alice",
                       .kind = REC_KIND_IMAGE,
                       .storage = REC_STORAGE_ISDP,
                       .capture_nums = 1,
                       .on_event = on_event,
                       .ud = &r};
    char err[256];
    memset(&r, 0, sizeof(r));
    ok(rec_session_new(pool, &pr, &s, err, sizeof(err)) == IRTC_OK, "snapshot ISDP: session");
    f[0] = (feed_t){&vp8, spsc_ring_new(1024), 0};
    add_track(s, &f[0], 1, "alice", true);
    feed(f, 1, clock_mono_us(), UINT64_MAX, true);
    ok(wait_done(loop, &r, 30000) && r.state == REC_STATE_COMPLETE, "snapshot ISDP: complete");
    ok(r.jpeg_len > 1000 && r.jpeg[0] == 0xff && r.jpeg[1] == 0xd8, "snapshot ISDP: JPEG bytes in the event");
    char path[128];
    snprintf(path, sizeof(path), "%s/isdp.jpg", work);
    FILE *o = fopen(path, "wb");
    if (o) {
        fwrite(r.jpeg, 1, r.jpeg_len, o);
        fclose(o);
    }
    probe_t p2;
    ok(probe(path, &p2) && strcmp(p2.vcodec, "mjpeg") == 0 && p2.width == 1280 && p2.height == 720,
       "snapshot ISDP: mjpeg 1280x720 from a VP8 publisher");
    free(r.jpeg);
    spsc_ring_unref(f[0].ring);
}

static void run_missing_base(h2o_evloop_t *loop)
{
    result_t r;
    rec_pool_t *p = pool_new(loop, "/nonexistent/irtc-nas", REC_AUDIO_AAC);
    rec_session_t *s = start(p, REC_KIND_VIDEO, REC_MODE_SINGLE, "x", &r);
    ok(s != NULL, "missing base: session accepted (the share may come back)");
    uint64_t t0 = clock_mono_ms();
    ok(wait_done(loop, &r, 5000) && r.state == REC_STATE_FAILED, "missing base: failed without a stop");
    ok(clock_mono_ms() - t0 < 1000, "missing base: within a second");
    ok(strstr(r.reason, "not mounted") != NULL, "missing base: reason (%s)", r.reason);
    store_recording_t row;
    ok(store_recording_get(db, r.id, &row) == IRTC_OK && row.status == STORE_REC_FAILED && row.failure_reason &&
           strcmp(row.failure_reason, r.reason) == 0,
       "missing base: recordings row failed with the reason");
    store_recording_dispose(&row);
    rec_pool_free(p);
}

static void run_bad_params(rec_pool_t *pool)
{
    rec_params_t pr = {.app_id = "app1", .channel_id = "chan-1", .user_id = "alice", .record_path = "/a/../../etc"};
    rec_session_t *s;
    char err[256];
    is_int(rec_session_new(pool, &pr, &s, err, sizeof(err)), IRTC_EINVAL, "escaping recordPath refused");
    ok(strstr(err, "recordPath") && strstr(err, ".."), "reason names the field (%s)", err);
    pr.record_path = NULL;
    pr.file_name = "x/y";
    is_int(rec_session_new(pool, &pr, &s, err, sizeof(err)), IRTC_EINVAL, "fileName with '/' refused");
    pr.file_name = NULL;
    pr.channel_id = "";
    is_int(rec_session_new(pool, &pr, &s, err, sizeof(err)), IRTC_EINVAL, "empty channelId refused");
}

/* ---- faults that need a process of their own ---- */

typedef struct {
    int skipped, state, probe_ok, decode_ok, tried;
    char reason[512], vcodec[32];
    double duration;
} child_res_t;

static void date_dir(char *out, size_t cap, const char *base)
{
    char date[16];
    clock_format_date(clock_wall_ms(), date, sizeof(date));
    snprintf(out, cap, "%s/rec/app1/%s", base, date);
}

/* In the child: a private mount namespace with a tmpfs that is read-only or tiny. */
static void fs_fault_child(bool full, child_res_t *cr)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/ns", work);
    mkdir(dir, 0755);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, full ? "size=400k" : "size=1m") != 0 ||
        (!full && mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0)) {
        cr->skipped = 1;
        return;
    }
    h2o_evloop_t *loop = h2o_evloop_create();
    rec_pool_t *p = pool_new(loop, dir, REC_AUDIO_AAC);
    result_t r;
    rec_session_t *s = start(p, REC_KIND_VIDEO, REC_MODE_SINGLE, full ? "full" : "ro", &r);
    feed_t f[2] = {{&h264, spsc_ring_new(1024), 0}, {&a1, spsc_ring_new(256), 0}};
    add_track(s, &f[0], 1, "alice", true);
    add_track(s, &f[1], 1, "alice", true);
    feed(f, 2, clock_mono_us(), UINT64_MAX, true);
    h2o_evloop_run(loop, 0);
    if (!r.done)
        rec_session_stop(s);
    wait_done(loop, &r, 20000);
    cr->state = r.state;
    snprintf(cr->reason, sizeof(cr->reason), "%s", r.reason);
    if (full && r.path[0]) {
        probe_t pr;
        cr->tried = 1;
        cr->probe_ok = probe(r.path, &pr);
        cr->duration = pr.duration;
        snprintf(cr->vcodec, sizeof(cr->vcodec), "%s", pr.vcodec);
        cr->decode_ok = decodes_clean(r.path);
    }
    rec_pool_free(p);
}

static bool run_child(bool full, child_res_t *cr)
{
    int pfd[2];
    memset(cr, 0, sizeof(*cr));
    if (pipe(pfd) != 0)
        return false;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        child_res_t res = {0};
        fs_fault_child(full, &res);
        if (write(pfd[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
            _exit(1);
        _exit(0);
    }
    close(pfd[1]);
    bool got = read(pfd[0], cr, sizeof(*cr)) == (ssize_t)sizeof(*cr);
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    return got;
}

static void run_fs_faults(void)
{
    child_res_t cr;
    ok(run_child(false, &cr), "read-only: child ran");
    if (cr.skipped) {
        printf("ok - # SKIP read-only file system needs a mount namespace (root)\n");
    } else {
        is_int(cr.state, REC_STATE_FAILED, "read-only: failed, not crashed");
        ok(strstr(cr.reason, "Read-only") != NULL, "read-only: reason (%s)", cr.reason);
    }
    ok(run_child(true, &cr), "disk full: child ran");
    if (cr.skipped) {
        printf("ok - # SKIP full file system needs a mount namespace (root)\n");
        return;
    }
    is_int(cr.state, REC_STATE_FAILED, "disk full: failed, not crashed");
    ok(strstr(cr.reason, "disk full") != NULL, "disk full: reason (%s)", cr.reason);
    ok(cr.tried && cr.probe_ok && strcmp(cr.vcodec, "h264") == 0 && cr.duration > 0.5,
       "disk full: what was written plays (%.2f s of %s)", cr.duration, cr.vcodec);
    ok(cr.decode_ok, "disk full: cut at the last whole fragment, decodes without errors");
}

/* A recording whose process is SIGKILLed: the .part holds every fragment written. */
static void run_kill9(void)
{
    int pfd[2];
    char base[128];
    snprintf(base, sizeof(base), "%s/nas", work);
    if (pipe(pfd) != 0)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        h2o_evloop_t *loop = h2o_evloop_create();
        rec_pool_t *p = pool_new(loop, base, REC_AUDIO_AAC);
        result_t r;
        rec_session_t *s = start(p, REC_KIND_VIDEO, REC_MODE_SINGLE, "killed", &r);
        feed_t f[2] = {{&h264, spsc_ring_new(1024), 0}, {&a1, spsc_ring_new(256), 0}};
        add_track(s, &f[0], 1, "alice", true);
        add_track(s, &f[1], 1, "alice", true);
        feed(f, 2, clock_mono_us(), UINT64_MAX, true);
        rec_status_t st = {0};
        for (int i = 0; i < 1000 && st.duration_ms < 3500; i++) {
            h2o_evloop_run(loop, 10);
            rec_session_status(s, &st);
        }
        usleep(300000);
        if (write(pfd[1], "k", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(pfd[1]);
    char c;
    ok(read(pfd[0], &c, 1) == 1, "kill -9: recording under way");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pfd[0]);
    char dir[256], part[512] = "";
    date_dir(dir, sizeof(dir), base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, ".killed", 7) == 0 && strstr(e->d_name, ".part"))
            snprintf(part, sizeof(part), "%s/%s", dir, e->d_name);
    if (d)
        closedir(d);
    ok(part[0] != '\0', "kill -9: the .part file is there (%s)", part);
    probe_t pr;
    ok(probe(part, &pr) && strcmp(pr.vcodec, "h264") == 0 && strcmp(pr.acodec, "aac") == 0,
       "kill -9: ffprobe reads video and audio from the .part");
    ok(pr.duration > 2.0, "kill -9: fragments up to the kill are there (%.2f s)", pr.duration);
    ok(decodes_clean(part), "kill -9: decodes without errors");
}

/* ---- main ---- */

static bool make_media(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd %s && L='ffmpeg -nostdin -v error -y -f lavfi -i' && "
             "V=testsrc2=size=1280x720:rate=30 && "
             "($L $V -t %d -c:v libvpx -deadline realtime -cpu-used 8 -b:v 2M -g 60 -auto-alt-ref 0 "
             "-lag-in-frames 0 vp8.webm & "
             "$L $V -t %d -c:v libx264 -profile:v baseline -preset veryfast -tune zerolatency -g 60 -b:v 2M "
             "-pix_fmt yuv420p -f mpegts h264.ts & "
             "$L testsrc2=size=640x360:rate=30 -t 3 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 800k "
             "-g 60 -lag-in-frames 0 vp9.webm & "
             "$L sine=frequency=440:sample_rate=48000 -t %d -ac 2 -c:a libopus -b:a 48k -frame_duration 20 a1.ogg & "
             "$L sine=frequency=660:sample_rate=48000 -t %d -ac 2 -c:a libopus -b:a 48k -frame_duration 20 a2.ogg & "
             "wait)",
             work, MEDIA_S, MEDIA_S, MEDIA_S, MEDIA_S);
    return system(cmd) == 0;
}

static bool load(const char *name, int kind, int codec, track_pkts_t *t)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", work, name);
    return packetize(path, kind, codec, t);
}

int main(void)
{
    if (system("ffmpeg -version >/dev/null 2>&1 && ffprobe -version >/dev/null 2>&1") != 0) {
        printf("1..0 # SKIP ffmpeg/ffprobe not installed\n");
        return 0;
    }
    log_setup(LOG_LEVEL_WARN, LOG_FORMAT_TEXT, NULL);
    av_log_set_level(AV_LOG_ERROR);
    snprintf(work, sizeof(work), "/tmp/test_recorder.XXXXXX");
    if (mkdtemp(work) == NULL)
        return 1;
    uint64_t t_media = clock_mono_ms();
    ok(make_media(), "ffmpeg made the test media");
    bool got = load("vp8.webm", 1, CODEC_VP8, &vp8);
    ok(got, "VP8 packetized (%zu packets)", vp8.n);
    got = load("h264.ts", 1, CODEC_H264, &h264);
    ok(got, "H.264 packetized (%zu packets)", h264.n);
    got = load("vp9.webm", 1, CODEC_VP9, &vp9);
    ok(got, "VP9 packetized (%zu packets)", vp9.n);
    got = load("a1.ogg", 0, CODEC_OPUS, &a1);
    ok(got, "Opus 1 packetized (%zu packets)", a1.n);
    got = load("a2.ogg", 0, CODEC_OPUS, &a2);
    ok(got, "Opus 2 packetized (%zu packets)", a2.n);
    printf("# media made in %llu ms\n", (unsigned long long)(clock_mono_ms() - t_media));

    char base[128];
    snprintf(base, sizeof(base), "%s/nas", work);
    mkdir(base, 0750);
    char dbpath[128], dberr[256];
    snprintf(dbpath, sizeof(dbpath), "%s/irtc.db", work);
    ok(store_open(dbpath, &db, dberr, sizeof(dberr)) == IRTC_OK, "store opened");
    h2o_evloop_t *loop = h2o_evloop_create();
    rec_pool_t *aac = pool_new(loop, base, REC_AUDIO_AAC), *opus = pool_new(loop, base, REC_AUDIO_OPUS);
    ok(aac && opus, "recorder pools");

    run_bad_params(aac);
    run_single(loop, aac, "vp8_single", &vp8, 1280, 720, false, "aac");
    run_single(loop, opus, "h264_single", &h264, 1280, 720, true, "opus");
    run_single(loop, opus, "vp9_single", &vp9, 640, 360, false, "opus");
    run_mixed(loop, aac);
    run_overflow(loop, aac);
    run_lossy(loop, opus);
    run_republish(loop, aac);
    run_audio_only(loop, aac);
    run_snapshots(loop, aac);
    run_missing_base(loop);
    rec_pool_free(aac);
    rec_pool_free(opus);
    h2o_evloop_run(loop, 0);
    h2o_evloop_destroy(loop);
    store_close(db);
    db = NULL; /* the forked children open no database */
    run_kill9();
    run_fs_faults();

    pkts_free(&vp8);
    pkts_free(&h264);
    pkts_free(&vp9);
    pkts_free(&a1);
    pkts_free(&a2);
    if (getenv("KEEP_TEST_FILES") == NULL) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", work);
    } else {
        printf("# files kept in %s\n", work);
    }
    return done_testing();
}
