/*
 * test_capture.c — the capture layer (src/record/capture.c) between the REST
 * hooks, the room registry and the recorder: which streams each kind of
 * session taps, that taps follow publishers coming and going and come off
 * before the SFU closes a stream, stops by id and by channel, the room
 * closing, auto-record rules, the session limit, and health.
 *
 * Real room registry, real store (a scratch SQLite file), real recorder pool
 * and threads; the SFU is faked (unit/fake_sfu.h) and no media flows, so the
 * sessions end without pictures — what is recorded from real media is
 * tests/integration/test_record.py and tests/e2e/test_record.js.
 */
#include "record/capture.h"
#include "core/clock.h"
#include "core/common.h"
#include "room/room.h"
#include "store/store.h"
#include "unit/fake_sfu.h"
#include "unit/tap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[] = "/tmp/irtc-test-capture-XXXXXX";
static h2o_evloop_t *g_loop;
static room_registry_t *g_reg;
static store_t *g_st;
static cap_t *g_cap;
static cfg_t g_cfg;

/* ---- fixtures ---- */

static void sink(void *ctx, const room_event_t *ev)
{
    (void)ctx;
    (void)ev;
}

static room_peer_t *join(const char *app, const char *chan, const char *user)
{
    room_peer_t *p = NULL;
    const char *why = NULL;
    room_join(g_reg, app, chan, user, ROOM_ROLE_JOINER, sink, NULL, &p, &why);
    return p;
}

static uint64_t publish(room_peer_t *p, room_stream_type_t type, bool audio, bool video)
{
    char *answer = NULL;
    const room_stream_t *s = NULL;
    const char *why = NULL;
    fake.info.has_audio = audio;
    fake.info.has_video = video;
    snprintf(fake.info.video_codec, sizeof(fake.info.video_codec), "%s", video ? "VP8" : "");
    int rc = room_publish(p, type, audio, video, "v=0", 3, NULL, &answer, &s, &why);
    free(answer);
    return rc == IRTC_OK ? s->id : 0;
}

static int64_t add_rule(const char *app, const char *storage, int type, int model, bool status)
{
    store_rule_t r = {0};
    snprintf(r.app_id, sizeof(r.app_id), "%s", app);
    r.storage_type = (char *)storage;
    r.record_path = "/t/{channel_id}";
    r.file_name = "{channel_id}_{file_start_time}";
    r.capture_interval = 1;
    r.capture_nums = 2;
    r.recording_type = type;
    r.recording_model = model;
    r.callback_url = "http://127.0.0.1:9/cb";
    r.extra_data = "rule-extra";
    r.status = status;
    return store_rule_insert(g_st, &r) == IRTC_OK ? r.rule_id : 0;
}

static int capture(const char *app, const char *chan, const char *user, int64_t rule, bool image, char id[32],
                   const char **why)
{
    api_capture_req_t q = {.image = image, .app_id = app, .channel_id = chan, .user_id = user, .rule_id = rule};
    id[0] = '\0';
    *why = NULL;
    return cap_capture(g_cap, &q, id, why);
}

static unsigned sessions(void)
{
    cap_stats_t s;
    cap_stats(g_cap, &s);
    return s.sessions;
}

/* Runs the control loop (recorder events) until cond() or timeout_ms. */
static bool run_until(bool (*cond)(void), int timeout_ms)
{
    uint64_t end = clock_mono_ms() + (uint64_t)timeout_ms;
    while (!cond() && clock_mono_ms() < end)
        h2o_evloop_run(g_loop, 10);
    return cond();
}

static bool no_sessions(void)
{
    return sessions() == 0;
}

static int row_status(const char *id)
{
    store_recording_t r;
    int rc = store_recording_get(g_st, id, &r);
    int status = rc == IRTC_OK ? (int)r.status : -1;
    store_recording_dispose(&r);
    return status;
}

static int count_rows(const char *app, const char *chan)
{
    store_recording_t *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    store_recording_list(g_st, app, chan, 1, 1, &rows, &n, &total);
    store_recording_list_free(rows, n);
    return (int)total;
}

/* ---- tests ---- */

static void test_refusals(void)
{
    char id[32];
    const char *why;
    int64_t rule = add_rule("app1", "NAS", 0, 0, true), off = add_rule("app1", "NAS", 0, 0, false);
    room_peer_t *a = join("app1", "ref", "alice");

    is_int(capture("app1", "nobody", "alice", rule, false, id, &why), IRTC_ENOTFOUND, "no such room: ENOTFOUND");
    ok(why && strstr(why, "channelId"), "  naming channelId (%s)", why);
    is_int(capture("app1", "ref", "bob", rule, false, id, &why), IRTC_ENOTFOUND, "user not in the room: ENOTFOUND");
    ok(why && strstr(why, "userId"), "  naming userId (%s)", why);
    is_int(capture("app2", "ref", "alice", add_rule("app2", "NAS", 0, 0, true), false, id, &why), IRTC_ENOTFOUND,
           "another app's room of that name does not exist");
    is_int(capture("app1", "ref", "alice", off, false, id, &why), IRTC_ECONFLICT, "a disabled rule: ECONFLICT");
    ok(why && strstr(why, "disabled"), "  saying it is disabled (%s)", why);
    is_int(sessions(), 0, "no session was started");
    is_int(count_rows("app1", "ref"), 0, "and no row written");

    is_int(cap_stop(g_cap, "app1", "ref", "", &why), IRTC_ENOTFOUND, "stop a channel with nothing running: ENOTFOUND");
    is_int(cap_stop(g_cap, "app1", "", "2026112500000000", &why), IRTC_ENOTFOUND, "stop an unknown id: ENOTFOUND");
    ok(cap_healthy(g_cap), "the recorder threads answer");
    room_leave(a, 0);
}

static void test_tracks(void)
{
    char id0[32], id1[32], idi[32], ignored[32];
    const char *why;
    int64_t single = add_rule("app1", "NAS", 0, 0, true), mixed = add_rule("app1", "NAS", 0, 1, true),
            image = add_rule("app1", "ISDP", 1, 0, true);
    room_peer_t *a = join("app1", "tr", "alice"), *b = join("app1", "tr", "bob"), *c = join("app1", "tr", "carol");
    uint64_t sa = publish(a, ROOM_STREAM_MAIN, true, true);
    uint64_t sa_aux = publish(a, ROOM_STREAM_AUXILIARY, false, true); /* alice's screen */
    uint64_t sb = publish(b, ROOM_STREAM_MAIN, true, true);
    (void)c;

    is_int(capture("app1", "tr", "alice", single, false, id0, &why), IRTC_OK, "mode 0 of alice starts (%s)", id0);
    is_int(fake_taps_of(sa, false) + fake_taps_of(sa, true) + fake_taps_of(sb, true), 3,
           "mode 0: alice's main video, alice's and bob's audio");
    is_int(fake_taps_of(sb, false) + fake_taps_of(sa_aux, false), 0, "mode 0: not bob's video, not alice's screen");
    is_int(row_status(id0), STORE_REC_RECORDING, "its row says recording");

    is_int(capture("app1", "tr", "alice", mixed, false, id1, &why), IRTC_OK, "mode 1 with alice as main screen");
    is_int(fake_taps_of(sb, false), 1, "mode 1: bob's video too");
    is_int(fake_taps_of(sa_aux, false), 1, "mode 1: alice's screen too");
    is_int(fake.n_taps, 3 + 5, "mode 1: five taps (three videos, two audios)");

    is_int(capture("app1", "tr", "bob", image, true, idi, &why), IRTC_OK, "snapshots of bob");
    is_int(fake_taps_of(sb, false), 2, "images: bob's main video (mixed + snapshots)");
    is_int(fake.n_taps, 3 + 5 + 1, "one tap for the snapshots");
    is_int(sessions(), 3, "three sessions");

    /* carol publishes later: taken by the sessions that want her */
    uint64_t sc = publish(c, ROOM_STREAM_MAIN, true, true);
    is_int(fake_taps_of(sc, true), 2, "a later publisher's audio joins both video recordings");
    is_int(fake_taps_of(sc, false), 1, "its video only the mixed one");

    /* bob unpublishes: his taps come off before the SFU closes the stream */
    int at_unpublish = fake.taps_at_unpublish;
    room_unpublish(b, sb, NULL, 0, NULL, NULL);
    is_int(fake_taps_of(sb, false) + fake_taps_of(sb, true), 0, "bob unpublishes: every tap of his comes off");
    is_int(fake.taps_at_unpublish, at_unpublish, "before the SFU closed his stream");
    is_int(sessions(), 3, "the recordings go on (snapshots too, waiting for a picture)");
    sb = publish(b, ROOM_STREAM_MAIN, true, true);
    is_int(fake_taps_of(sb, true), 2, "bob publishes again: his audio is back in both video recordings");
    is_int(fake_taps_of(sb, false), 2, "his video in the mixed one and the snapshots (he is their user)");

    /* alice leaves: mode 0 keeps recording the others' audio */
    room_leave(a, 0);
    is_int(fake_taps_of(sa, false) + fake_taps_of(sa, true) + fake_taps_of(sa_aux, false), 0,
           "alice leaves: her taps come off");
    is_int(sessions(), 3, "the room is not empty: nothing stops");

    is_int(cap_stop(g_cap, "app2", "", id0, &why), IRTC_ENOTFOUND, "another app cannot stop it");
    is_int(cap_stop(g_cap, "app1", "", id0, &why), IRTC_OK, "stop mode 0 by id");
    is_int(capture("app1", "tr", "bob", single, false, ignored, &why), IRTC_OK, "another recording of bob");
    is_int(cap_stop(g_cap, "app1", "tr", "", &why), IRTC_OK, "stop the whole channel");
    ok(run_until(no_sessions, 10000), "every session delivers DONE");
    is_int(fake.n_taps, 0, "every tap came off at DONE");
    is_int(fake.taps_added, fake.taps_deleted, "as many taps removed as added (%d)", fake.taps_added);
    ok(row_status(id0) != STORE_REC_RECORDING && row_status(id1) != STORE_REC_RECORDING &&
           row_status(idi) != STORE_REC_RECORDING,
       "their rows are final");
    is_int(cap_stop(g_cap, "app1", "", id0, &why), IRTC_OK, "stopping an ended recording: OK");
    is_int(cap_stop(g_cap, "app2", "", id0, &why), IRTC_ENOTFOUND, "unless it is another app's");
    room_leave(b, 0);
    room_leave(c, 0);
    ok(room_find(g_reg, "app1", "tr") == NULL, "room gone");
}

static void test_room_closes(void)
{
    char id[32], id2[32];
    const char *why;
    int64_t rule = add_rule("app1", "NAS", 0, 0, true);
    room_peer_t *a = join("app1", "cl", "alice"), *b = join("app1", "cl", "bob");
    publish(a, ROOM_STREAM_MAIN, true, true);
    is_int(capture("app1", "cl", "bob", rule, false, id, &why), IRTC_OK, "mode 0 of bob, who does not publish yet");
    is_int(fake.n_taps, 1, "alice's audio only");
    room_leave(a, 0);
    room_leave(b, 0);
    ok(run_until(no_sessions, 10000), "the room empties: the recording ends");
    is_int(fake.n_taps, 0, "no tap left");
    ok(row_status(id) == STORE_REC_COMPLETE || row_status(id) == STORE_REC_FAILED, "its row is final");

    a = join("app1", "rel", "alice");
    publish(a, ROOM_STREAM_MAIN, true, true);
    is_int(capture("app1", "rel", "alice", rule, false, id2, &why), IRTC_OK, "a recording in another room");
    room_release_room(g_reg, "app1", "rel");
    ok(run_until(no_sessions, 10000), "releaseRoom ends it");
    is_int(fake.taps_at_unpublish, 0, "no tap was ever left on a stream the SFU closed");
}

static bool two_sessions(void)
{
    return sessions() == 2;
}

static void test_auto(void)
{
    const char *why;
    int64_t rule = add_rule("app3", "NAS", 0, 0, true), disabled = add_rule("app3", "NAS", 0, 1, false);
    store_rule_set_auto(g_st, "app3", rule, true);
    store_rule_set_auto(g_st, "app3", disabled, true);
    room_peer_t *a = join("app3", "au", "alice"), *b = join("app3", "au", "bob");
    is_int(sessions(), 0, "joining starts nothing");
    uint64_t sb = publish(b, ROOM_STREAM_MAIN, true, true);
    is_int(sessions(), 1, "the room's first publish starts one recording (the disabled rule none)");
    is_int(fake_taps_of(sb, false) + fake_taps_of(sb, true), 2, "of bob, the first publisher: his video and audio");
    store_recording_t *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    store_recording_list(g_st, "app3", "au", 10, 1, &rows, &n, &total);
    ok(n == 1 && strcmp(rows[0].user_id, "bob") == 0 && rows[0].rule_id == rule && rows[0].mode == 0 &&
           strcmp(rows[0].extra_data, "rule-extra") == 0,
       "the row: bob, the rule, its mode and extraData");
    char rid[32];
    snprintf(rid, sizeof(rid), "%s", n ? rows[0].recording_id : "");
    store_recording_list_free(rows, n);
    uint64_t sa = publish(a, ROOM_STREAM_MAIN, true, true);
    is_int(sessions(), 1, "a second publisher starts no second recording");
    is_int(fake_taps_of(sa, true), 1, "its audio joins the recording");

    is_int(cap_stop(g_cap, "app3", "", rid, &why), IRTC_OK, "stopCapture stops an automatic recording");
    ok(run_until(no_sessions, 10000), "it ends");
    room_unpublish(a, sa, NULL, 0, NULL, NULL);
    publish(a, ROOM_STREAM_MAIN, true, true);
    is_int(sessions(), 0, "re-publishing in the same room does not restart it");
    store_rule_set_auto(g_st, "app3", rule, false);

    /* a room already publishing when a rule becomes active */
    room_peer_t *c = join("app3", "late", "carol");
    publish(c, ROOM_STREAM_MAIN, true, true);
    int64_t late = add_rule("app3", "NAS", 1, 0, true);
    store_rule_set_auto(g_st, "app3", late, true);
    cap_auto_changed(g_cap, "app3", late, true);
    ok(sessions() == 2, "startAutoRecord records rooms already publishing: au and late (%u)", sessions());
    is_int(count_rows("app3", "late"), 1, "one row in late");

    /* stopAutoRecord: running ones go on, new rooms are not recorded */
    store_rule_set_auto(g_st, "app3", late, false);
    cap_auto_changed(g_cap, "app3", late, false);
    room_peer_t *d = join("app3", "after", "dave");
    publish(d, ROOM_STREAM_MAIN, true, true);
    ok(run_until(two_sessions, 100) && count_rows("app3", "after") == 0,
       "after stopAutoRecord a new room is not recorded, the running ones go on");
    room_leave(c, 0);
    room_leave(d, 0);
    room_leave(a, 0);
    room_leave(b, 0);
    ok(run_until(no_sessions, 10000), "they end when their rooms empty");

    /* the same room, emptied and joined again, is a new room */
    store_rule_set_auto(g_st, "app3", rule, true);
    a = join("app3", "au", "alice");
    publish(a, ROOM_STREAM_MAIN, true, true);
    is_int(sessions(), 1, "a room emptied and joined again is recorded again");
    room_leave(a, 0);
    ok(run_until(no_sessions, 10000), "and ends with it");
    store_rule_set_auto(g_st, "app3", rule, false);
}

static void test_limit_and_keyframes(void)
{
    char id[32];
    const char *why;
    int64_t rule = add_rule("app1", "NAS", 0, 0, true);
    room_peer_t *a = join("app1", "lim", "alice");
    publish(a, ROOM_STREAM_MAIN, true, true);
    int kf = fake.keyframes;
    for (unsigned i = 0; i < g_cfg.rec_max_sessions; i++)
        capture("app1", "lim", "alice", rule, false, id, &why);
    is_int(sessions(), g_cfg.rec_max_sessions, "recording.max_sessions sessions run");
    is_int(capture("app1", "lim", "alice", rule, false, id, &why), IRTC_ELIMIT, "one more: ELIMIT");
    ok(why && strstr(why, "max_sessions"), "  naming the setting (%s)", why);
    /* VP8 inter frames without a keyframe (the test plays the media worker,
     * the rings' producer): the sessions ask for a keyframe */
    for (uint16_t seq = 1; seq <= 5; seq++) {
        uint8_t pkt[32] = {0x80, 0x80 | 96, 0, (uint8_t)seq, 0, 0, (uint8_t)(seq * 3), 0, 1, 2, 3, 4, 0x10, 0x01};
        for (int i = 0; i < fake.n_taps; i++)
            if (!fake.taps[i].audio)
                spsc_ring_push(fake.taps[i].ring, pkt, sizeof(pkt), clock_mono_us());
    }
    run_until(no_sessions, 1500);
    ok(fake.keyframes > kf, "REC_EV_KEYFRAME_NEEDED reaches sfu_request_keyframe (%d)", fake.keyframes - kf);
    room_leave(a, 0);
    ok(run_until(no_sessions, 10000), "all end with the room");
}

int main(void)
{
    char err[512], path[512], nas[512], isdp[512];
    if (mkdtemp(g_dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/irtc.db", g_dir);
    snprintf(nas, sizeof(nas), "%s/nas", g_dir);
    snprintf(isdp, sizeof(isdp), "%s/isdp", g_dir);
    mkdir(nas, 0750);
    cfg_defaults(&g_cfg);
    snprintf(g_cfg.nas_base_path, sizeof(g_cfg.nas_base_path), "%s", nas);
    g_cfg.rec_threads = 1;
    g_cfg.rec_max_sessions = 4;
    g_loop = h2o_evloop_create();
    ok(store_open(path, &g_st, err, sizeof(err)) == IRTC_OK, "store opens (%s)", err);
    const char *apps[] = {"app1", "app2", "app3"};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(apps); i++) {
        store_app_t a = {.name = (char *)apps[i], .tenant_id = "t", .access_key = "a2V5", .app_token_hash = "h"};
        snprintf(a.app_id, sizeof(a.app_id), "%s", apps[i]);
        store_app_insert(g_st, &a);
    }
    /* a row left "recording" by a crash */
    store_recording_t crashed = {
        .recording_id = "1", .app_id = "app1", .channel_id = "x", .user_id = "u", .status = STORE_REC_RECORDING};
    store_recording_insert(g_st, &crashed);

    fake_reset(true, true);
    g_reg = room_registry_new(&g_cfg, 2);
    room_registry_set_sfu(g_reg, (sfu_t *)&fake);
    cap_config_t cc = {
        .cfg = &g_cfg, .loop = g_loop, .store = g_st, .rooms = g_reg, .sfu = (sfu_t *)&fake, .isdp_base_path = isdp};
    is_int(cap_new(&cc, &g_cap, err, sizeof(err)), IRTC_OK, "cap_new (%s)", err);
    struct stat sb;
    ok(stat(isdp, &sb) == 0 && S_ISDIR(sb.st_mode), "the ISDP directory is created");
    is_int(row_status("1"), STORE_REC_FAILED, "a row left recording by a crash is marked failed at start");

    test_refusals();
    test_tracks();
    test_room_closes();
    test_auto();
    test_limit_and_keyframes();

    /* shutdown with a recording running: cap_free finalizes it and removes its taps */
    char id[32];
    const char *why;
    room_peer_t *a = join("app1", "end", "alice");
    publish(a, ROOM_STREAM_MAIN, true, true);
    capture("app1", "end", "alice", add_rule("app1", "NAS", 0, 1, true), false, id, &why);
    cap_free(g_cap);
    is_int(fake.n_taps, 0, "cap_free: every tap removed");
    ok(row_status(id) != STORE_REC_RECORDING, "cap_free: the running recording's row is final");
    room_leave(a, 0); /* the observer is gone: nothing is called */
    room_registry_free(g_reg);
    store_close(g_st);
    h2o_evloop_destroy(g_loop);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        ok(0, "scratch directory removed");
    return done_testing();
}
