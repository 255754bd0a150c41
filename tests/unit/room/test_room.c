/*
 * test_room.c — the room registry (src/room/room.c): rooms, peers, limits,
 * streams, subscriptions, mute, releases, SFU events, the registry observer,
 * worker pinning and freeing on the last leave.  Single-threaded, like the control thread.
 *
 * The SFU is faked (unit/fake_sfu.h): it records the calls and answers what
 * the test sets.
 */
#include "room/room.h"
#include "core/common.h"
#include "media/worker.h"
#include "unit/fake_sfu.h"
#include "unit/tap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- peers that record what they are told ---- */

typedef struct {
    room_event_type_t type;
    char user_id[65];
    int reason;
    uint64_t stream_id, sub_id;
    bool audio, muted, stream_audio_muted;
} rec_event_t;

typedef struct {
    const char *name;
    room_peer_t *peer;
    rec_event_t ev[64];
    int n;
} client_t;

static void on_event(void *ctx, const room_event_t *ev)
{
    client_t *c = ctx;
    if (c->n >= (int)IRTC_ARRAY_SIZE(c->ev))
        return;
    rec_event_t *r = &c->ev[c->n++];
    r->type = ev->type;
    snprintf(r->user_id, sizeof(r->user_id), "%s", ev->user_id ? ev->user_id : "");
    r->reason = ev->reason;
    r->stream_id = ev->stream ? ev->stream->id : 0;
    r->stream_audio_muted = ev->stream ? ev->stream->audio_muted : false;
    r->sub_id = ev->sub_id;
    r->audio = ev->audio;
    r->muted = ev->muted;
    if (ev->type == ROOM_EV_REMOVED)
        c->peer = NULL; /* freed once the sink returns */
}

static int count(const client_t *c, room_event_type_t type)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        n += c->ev[i].type == type;
    return n;
}

static const rec_event_t *last(const client_t *c, room_event_type_t type)
{
    for (int i = c->n - 1; i >= 0; i--)
        if (c->ev[i].type == type)
            return &c->ev[i];
    return NULL;
}

static int join(room_registry_t *reg, const char *chan, client_t *c, const char *user, int role)
{
    const char *why = NULL;
    memset(c, 0, sizeof(*c));
    c->name = user;
    return room_join(reg, "app1", chan, user, role, on_event, c, &c->peer, &why);
}

static const room_stream_t *publish(client_t *c, room_stream_type_t type, int *rc_out)
{
    char *answer = NULL;
    const room_stream_t *s = NULL;
    const char *why = NULL;
    int rc =
        room_publish(c->peer, type, fake.info.has_audio, fake.info.has_video, "v=0 offer", 9, NULL, &answer, &s, &why);
    if (rc_out != NULL)
        *rc_out = rc;
    free(answer);
    return s;
}

static int subscribe(client_t *c, uint64_t stream_id, bool audio, bool video, uint64_t *sub_id)
{
    char *answer = NULL;
    const room_stream_t *s = NULL;
    const char *why = NULL;
    uint64_t id = 0;
    int rc = room_subscribe(c->peer, stream_id, audio, video, -1, "v=0 recvonly", 12, NULL, &answer, &id, &s, &why);
    free(answer);
    if (sub_id != NULL)
        *sub_id = id;
    return rc;
}

static room_stats_t stats(room_registry_t *reg)
{
    room_stats_t st;
    room_registry_stats(reg, &st);
    return st;
}

static cfg_t cfg;

static room_registry_t *new_registry(unsigned max_publishers)
{
    cfg_defaults(&cfg);
    cfg.max_publishers_per_room = max_publishers;
    room_registry_t *reg = room_registry_new(&cfg, 4);
    room_registry_set_sfu(reg, (sfu_t *)&fake); /* never dereferenced by the fakes */
    return reg;
}

/* ---- tests ---- */

static void test_join_leave(void)
{
    room_registry_t *reg = new_registry(8);
    client_t a, b, c, x;
    const char *why = NULL;
    room_peer_t *p;
    fake_reset(true, true);

    is_int(join(reg, "chan-1", &a, "alice", 1), IRTC_OK, "join creates the room");
    room_t *room = room_find(reg, "app1", "chan-1");
    ok(room != NULL && room_peer_room(a.peer) == room, "room found by app + channel");
    is_int(room_worker(room), sfu_worker_for_channel("app1", "chan-1", 4), "room pinned to sfu_worker_for_channel");
    is_str(room_app_id(room), "app1", "room app id");
    is_str(room_channel_id(room), "chan-1", "room channel id");
    is_int(join(reg, "chan-1", &b, "bob", 1), IRTC_OK, "second user joins");
    is_int(a.n, 1, "first user told once");
    ok(a.ev[0].type == ROOM_EV_PEER_JOIN && strcmp(a.ev[0].user_id, "bob") == 0, "peer-join names bob");
    is_int(b.n, 0, "the joiner is not told about itself");
    is_int(room_peer_count(room), 2, "two peers");
    ok(room_first_peer(room) == a.peer && room_next_peer(room_first_peer(room)) == b.peer, "peers in join order");

    is_int(join(reg, "chan-1", &x, "alice", 1), IRTC_ECONFLICT, "same userId twice in a room: ECONFLICT");
    ok(x.peer == NULL && a.n == 1, "refused join changes nothing and tells nobody");
    is_int(join(reg, "chan-2", &c, "alice", 1), IRTC_OK, "same userId in another room is fine");
    is_int(room_join(reg, "app2", "chan-1", "alice", 1, on_event, &x, &p, &why), IRTC_OK,
           "same channel of another app is another room");
    ok(room_find(reg, "app2", "chan-1") != room, "rooms keyed by app + channel");
    room_leave(p, ROOM_REASON_LEFT);

    is_int(room_join(reg, "app1", "", "u", 1, on_event, &x, &p, &why), IRTC_EINVAL, "empty channel refused");
    is_int(room_join(reg, "app1", "c", "u65xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1,
                     on_event, &x, &p, &why),
           IRTC_EINVAL, "65-char userId refused");
    is_int(room_join(reg, "app1", "c", "u", 2, on_event, &x, &p, &why), IRTC_EINVAL, "role 2 refused (%s)", why);
    ok(room_find(reg, "app1", "c") == NULL, "a refused join creates no room");

    room_stats_t st = stats(reg);
    ok(st.rooms == 2 && st.peers == 3, "stats: 2 rooms, 3 peers (%zu, %zu)", st.rooms, st.peers);

    room_leave(b.peer, ROOM_REASON_LEFT);
    const rec_event_t *e = last(&a, ROOM_EV_PEER_LEAVE);
    ok(e != NULL && strcmp(e->user_id, "bob") == 0 && e->reason == 0, "leave: peer-leave reason 0 to the others");
    is_int(room_peer_count(room), 1, "one peer left");
    room_leave(a.peer, ROOM_REASON_LEFT);
    ok(room_find(reg, "app1", "chan-1") == NULL, "room freed when its last peer leaves");
    room_leave(c.peer, ROOM_REASON_LEFT);
    st = stats(reg);
    ok(st.rooms == 0 && st.peers == 0, "stats back to zero");
    room_registry_free(reg);
}

static void test_publish_limit(void)
{
    room_registry_t *reg = new_registry(2);
    client_t a, b, c, d;
    int rc;
    fake_reset(true, true);
    join(reg, "r", &a, "a", 1);
    join(reg, "r", &b, "b", 1);
    join(reg, "r", &c, "c", 1);
    room_t *room = room_find(reg, "app1", "r");
    is_int(room_publisher_count(room), 0, "role 1 peers are not publishers until they publish");

    const room_stream_t *sa = publish(&a, ROOM_STREAM_MAIN, &rc);
    ok(rc == IRTC_OK && sa != NULL, "a publishes");
    is_int(fake.last_worker, room_worker(room), "SFU asked to publish on the room's worker");
    is_int(fake.last_stream_id, sa->id, "stream id handed to the SFU");
    ok(sa->has_audio && sa->has_video && strcmp(sa->video_codec, "VP8") == 0 && strcmp(sa->user_id, "a") == 0 &&
           sa->type == ROOM_STREAM_MAIN,
       "stream descriptor from the SFU's info");
    ok(count(&b, ROOM_EV_STREAM_ADDED) == 1 && count(&c, ROOM_EV_STREAM_ADDED) == 1 &&
           count(&a, ROOM_EV_STREAM_ADDED) == 0,
       "stream-added to the others only");
    is_int(last(&b, ROOM_EV_STREAM_ADDED)->stream_id, sa->id, "stream-added carries the stream");

    publish(&a, ROOM_STREAM_MAIN, &rc);
    is_int(rc, IRTC_ECONFLICT, "second main stream of one peer: ECONFLICT");
    const room_stream_t *sa2 = publish(&a, ROOM_STREAM_AUXILIARY, &rc);
    ok(rc == IRTC_OK && sa2->id > sa->id, "auxiliary stream beside the main one, with a new id");
    is_int(room_publisher_count(room), 1, "one publisher with two streams");

    publish(&b, ROOM_STREAM_MAIN, &rc);
    is_int(rc, IRTC_OK, "b publishes: 2 publishers");
    int before = fake.published;
    publish(&c, ROOM_STREAM_MAIN, &rc);
    is_int(rc, IRTC_ELIMIT, "a third publisher over max_publishers_per_room=2: ELIMIT");
    is_int(fake.published, before, "the SFU is not asked when the limit refuses");
    is_int(join(reg, "r", &d, "d", 0), IRTC_ELIMIT, "role 0 join into a full room: ELIMIT");

    room_unpublish(b.peer, room_first_stream(room)->next->next->id, NULL, 0, NULL, NULL);
    is_int(room_publisher_count(room), 1, "unpublishing its only stream makes b a non-publisher");
    is_int(join(reg, "r", &d, "d", 0), IRTC_OK, "role 0 joins when a slot is free");
    is_int(room_publisher_count(room), 2, "a role 0 peer counts as a publisher at once");
    publish(&c, ROOM_STREAM_MAIN, &rc);
    is_int(rc, IRTC_ELIMIT, "so the role 1 peer cannot take the slot");
    publish(&d, ROOM_STREAM_MAIN, &rc);
    is_int(rc, IRTC_OK, "the role 0 peer publishes into its reserved slot");
    room_registry_free(reg);
}

static void test_publish_errors(void)
{
    room_registry_t *reg = new_registry(8);
    client_t a, b;
    char *answer = (char *)"untouched";
    const room_stream_t *s = NULL;
    const char *why = NULL;
    fake_reset(true, false);
    join(reg, "r", &a, "a", 1);
    join(reg, "r", &b, "b", 1);

    is_int(room_publish(a.peer, ROOM_STREAM_MAIN, false, false, "x", 1, NULL, &answer, &s, &why), IRTC_EINVAL,
           "audio and video both false: EINVAL (%s)", why);
    ok(answer == NULL && s == NULL, "no answer and no stream on error");
    is_int(room_publish(a.peer, (room_stream_type_t)7, true, false, "x", 1, NULL, &answer, &s, &why), IRTC_EINVAL,
           "unknown stream type: EINVAL");

    fake.publish_rc = IRTC_EINVAL;
    fake.why = "unparseable SDP";
    is_int(room_publish(a.peer, ROOM_STREAM_MAIN, true, false, "x", 1, NULL, &answer, &s, &why), IRTC_EINVAL,
           "SFU refusal passed through");
    is_str(why, "unparseable SDP", "with the SFU's reason");
    is_int(stats(reg).streams, 0, "no stream recorded");
    fake.publish_rc = IRTC_OK;

    int unpub = fake.unpublished;
    is_int(room_publish(a.peer, ROOM_STREAM_MAIN, true, true, "x", 1, NULL, &answer, &s, &why), IRTC_EINVAL,
           "client says video, offer has none: EINVAL");
    is_str(why, "video: the offer sends no video", "reason names the kind");
    is_int(fake.unpublished, unpub + 1, "the SFU stream is closed again");
    ok(answer == NULL && count(&b, ROOM_EV_STREAM_ADDED) == 0 && stats(reg).streams == 0,
       "nothing announced, nothing kept");
    fake.info.has_video = true;
    is_int(room_publish(a.peer, ROOM_STREAM_MAIN, true, false, "x", 1, NULL, &answer, &s, &why), IRTC_EINVAL,
           "offer sends video the client did not declare: EINVAL (%s)", why);
    is_int(room_publisher_count(room_peer_room(a.peer)), 0, "failed publishes leave a non-publisher");
    room_registry_free(reg);
}

static void test_subscribe(void)
{
    room_registry_t *reg = new_registry(8);
    client_t a, b, p0, other;
    uint64_t sub1 = 0, sub2 = 0;
    int rc;
    const char *why = NULL;
    fake_reset(true, true);
    join(reg, "r", &a, "a", 1);
    join(reg, "r", &b, "b", 1);
    join(reg, "r", &p0, "p0", 0);
    join(reg, "elsewhere", &other, "o", 1);
    const room_stream_t *sa = publish(&a, ROOM_STREAM_MAIN, &rc);
    const room_stream_t *so = publish(&other, ROOM_STREAM_MAIN, &rc);

    is_int(subscribe(&p0, sa->id, true, true, NULL), IRTC_ECONFLICT, "role 0 may not subscribe");
    is_int(subscribe(&b, 999999, true, true, NULL), IRTC_ENOTFOUND, "unknown stream id: ENOTFOUND");
    is_int(subscribe(&b, so->id, true, true, NULL), IRTC_ENOTFOUND, "stream of another room: ENOTFOUND");
    is_int(subscribe(&a, sa->id, true, true, NULL), IRTC_EINVAL, "own stream: EINVAL");
    is_int(subscribe(&b, sa->id, false, false, NULL), IRTC_EINVAL, "no kind wanted: EINVAL");

    is_int(subscribe(&b, sa->id, true, false, &sub1), IRTC_OK, "b subscribes to a's audio");
    ok(sub1 > sa->id && sub1 == fake.last_sub_id && fake.last_audio && !fake.last_video,
       "subscription id from the same counter, kinds passed to the SFU");
    is_int(subscribe(&b, sa->id, true, true, NULL), IRTC_ECONFLICT, "subscribing twice: ECONFLICT");
    is_int(stats(reg).subscriptions, 1, "one subscription");
    is_int(room_unsubscribe(b.peer, sa->id, NULL, 0, NULL, NULL), IRTC_OK, "unsubscribe by stream id");
    is_int(fake.unsubscribed, 1, "SFU told to unsubscribe");
    is_int(room_unsubscribe(b.peer, sa->id, NULL, 0, NULL, NULL), IRTC_ENOTFOUND, "again: ENOTFOUND");
    is_int(subscribe(&b, sa->id, true, true, &sub2), IRTC_OK, "subscribe again");
    ok(sub2 != sub1, "subscription ids are never reused");
    is_int(room_unsubscribe(b.peer, sub2, NULL, 0, NULL, NULL), IRTC_OK, "unsubscribe by subscription id");

    fake.subscribe_rc = IRTC_EINVAL;
    fake.why = "bad offer";
    is_int(subscribe(&b, sa->id, true, true, NULL), IRTC_EINVAL, "SFU refusal passed through");
    is_int(stats(reg).subscriptions, 0, "nothing kept after a refusal");
    fake.subscribe_rc = IRTC_OK;

    /* Unpublishing ends the subscriptions to the stream, in the registry too. */
    subscribe(&b, sa->id, true, true, &sub1);
    int unsub = fake.unsubscribed;
    is_int(room_unpublish(b.peer, sa->id, NULL, 0, NULL, NULL), IRTC_ENOTFOUND,
           "cannot unpublish someone else's stream");
    uint64_t sa_id = sa->id;
    is_int(room_unpublish(a.peer, sa_id, NULL, 0, NULL, NULL), IRTC_OK, "a unpublishes");
    ok(fake.unpublished == 1 && fake.unpublished_ids[0] == sa_id, "SFU told once");
    is_int(fake.unsubscribed, unsub, "its subscriptions are not closed twice in the SFU");
    is_int(stats(reg).subscriptions, 0, "subscription gone with the stream");
    ok(count(&b, ROOM_EV_STREAM_REMOVED) == 1 && count(&p0, ROOM_EV_STREAM_REMOVED) == 1 &&
           count(&a, ROOM_EV_STREAM_REMOVED) == 0,
       "stream-removed to the others");
    is_int(room_unsubscribe(b.peer, sub1, NULL, 0, NULL, NULL), IRTC_ENOTFOUND, "the ended subscription is gone");

    /* Switching to role 0 closes subscriptions; the limit applies. */
    sa = publish(&a, ROOM_STREAM_MAIN, &rc);
    subscribe(&b, sa->id, true, true, NULL);
    is_int(room_switch_role(b.peer, 0, &why), IRTC_OK, "b switches to role 0");
    ok(stats(reg).subscriptions == 0 && room_peer_role(b.peer) == 0, "its subscription is closed");
    is_int(subscribe(&b, sa->id, true, true, NULL), IRTC_ECONFLICT, "and it may no longer subscribe");
    is_int(room_switch_role(b.peer, 1, &why), IRTC_OK, "back to role 1");
    is_int(subscribe(&b, sa->id, true, true, NULL), IRTC_OK, "subscribes again");
    is_int(room_switch_role(b.peer, 3, &why), IRTC_EINVAL, "role 3 refused");
    room_registry_free(reg);

    reg = new_registry(1);
    join(reg, "r", &a, "a", 0);
    join(reg, "r", &b, "b", 1);
    is_int(room_switch_role(b.peer, 0, &why), IRTC_ELIMIT, "switch to role 0 over the limit: ELIMIT");
    is_int(room_peer_role(b.peer), 1, "role unchanged");
    room_registry_free(reg);
}

static void test_mute(void)
{
    room_registry_t *reg = new_registry(8);
    client_t a, b;
    int rc;
    bool changed;
    const char *why = NULL;
    fake_reset(true, true);
    join(reg, "r", &a, "a", 1);
    join(reg, "r", &b, "b", 1);

    is_int(room_set_muted(a.peer, 0, true, true, &changed, &why), IRTC_OK, "mute audio before publishing");
    ok(changed && room_peer_muted(a.peer, true) && !room_peer_muted(a.peer, false), "peer state: audio muted");
    const rec_event_t *e = last(&b, ROOM_EV_MUTE);
    ok(e != NULL && e->audio && e->muted && strcmp(e->user_id, "a") == 0 && e->stream_id == 0,
       "mute-audio relayed without a stream");
    is_int(count(&b, ROOM_EV_STREAM_UPDATED), 0, "no stream-updated without a stream");
    is_int(count(&a, ROOM_EV_MUTE), 0, "the muter is not told");
    room_set_muted(a.peer, 0, true, true, &changed, &why);
    ok(!changed && count(&b, ROOM_EV_MUTE) == 1, "muting again changes nothing and tells nobody");

    const room_stream_t *s = publish(&a, ROOM_STREAM_MAIN, &rc);
    ok(s->audio_muted && !s->video_muted && fake.mute_calls == 1, "main stream starts muted, SFU told");
    is_int(room_set_muted(a.peer, s->id, false, true, &changed, &why), IRTC_OK, "mute video by stream id");
    e = last(&b, ROOM_EV_MUTE);
    ok(changed && e->muted && !e->audio && e->stream_id == s->id && s->video_muted, "mute-video with the stream");
    is_int(count(&b, ROOM_EV_STREAM_UPDATED), 1, "stream-updated follows");
    ok(room_peer_muted(a.peer, false), "main stream state is the peer's state");
    is_int(room_set_muted(a.peer, 0, true, false, &changed, &why), IRTC_OK, "unmute audio (main media)");
    ok(changed && !s->audio_muted && last(&b, ROOM_EV_STREAM_UPDATED)->stream_audio_muted == false,
       "applies to the main stream");

    fake_reset(false, true);
    const room_stream_t *screen = publish(&a, ROOM_STREAM_AUXILIARY, &rc);
    is_int(room_set_muted(a.peer, screen->id, true, true, &changed, &why), IRTC_EINVAL,
           "muting audio of a video-only stream: EINVAL (%s)", why);
    is_int(room_set_muted(b.peer, s->id, true, true, &changed, &why), IRTC_ENOTFOUND,
           "muting someone else's stream: ENOTFOUND");
    is_int(room_set_muted(a.peer, screen->id, false, true, &changed, &why), IRTC_OK, "mute the screen share");
    ok(screen->video_muted && !room_peer_muted(a.peer, true), "auxiliary mute does not touch the main media");
    room_registry_free(reg);
}

static void test_release(void)
{
    room_registry_t *reg = new_registry(8);
    client_t a, b, c;
    int rc;
    fake_reset(true, true);
    join(reg, "r", &a, "a", 1);
    join(reg, "r", &b, "b", 1);
    join(reg, "r", &c, "c", 1);
    const room_stream_t *sb = publish(&b, ROOM_STREAM_MAIN, &rc);
    uint64_t sb_id = sb->id;
    subscribe(&a, sb_id, true, true, NULL);

    is_int(room_release_user(reg, "app1", "r", "nobody"), IRTC_ENOTFOUND, "releaseUser of an absent user");
    is_int(room_release_user(reg, "app1", "nowhere", "b"), IRTC_ENOTFOUND, "releaseUser in an absent room");
    is_int(room_release_user(reg, "app1", "r", "b"), IRTC_OK, "releaseUser b");
    const rec_event_t *e = last(&b, ROOM_EV_REMOVED);
    ok(b.peer == NULL && e != NULL && e->reason == ROOM_REASON_KICKED, "b told it was removed, reason 5");
    e = last(&a, ROOM_EV_PEER_LEAVE);
    ok(e != NULL && strcmp(e->user_id, "b") == 0 && e->reason == 5, "the others get peer-leave reason 5");
    ok(a.ev[a.n - 2].type == ROOM_EV_STREAM_REMOVED && a.ev[a.n - 2].stream_id == sb_id,
       "stream-removed comes before peer-leave");
    ok(fake.unpublished == 1 && stats(reg).subscriptions == 0 && stats(reg).streams == 0,
       "b's stream and a's subscription to it are closed");
    is_int(room_peer_count(room_find(reg, "app1", "r")), 2, "two peers remain");

    publish(&a, ROOM_STREAM_MAIN, &rc);
    int a_events = a.n, c_events = c.n;
    is_int(room_release_room(reg, "app1", "r"), IRTC_OK, "releaseRoom");
    ok(a.peer == NULL && c.peer == NULL, "everyone removed");
    ok(a.n == a_events + 1 && a.ev[a.n - 1].type == ROOM_EV_REMOVED && a.ev[a.n - 1].reason == 10,
       "each member gets exactly one event: removed, reason 10");
    ok(c.n == c_events + 1 && c.ev[c.n - 1].reason == 10, "including members without streams");
    ok(room_find(reg, "app1", "r") == NULL && stats(reg).rooms == 0 && stats(reg).peers == 0, "room freed");
    is_int(fake.unpublished, 2, "the last stream was closed in the SFU");
    is_int(room_release_room(reg, "app1", "r"), IRTC_ENOTFOUND, "releasing it again: ENOTFOUND");

    join(reg, "solo", &a, "a", 1);
    is_int(room_release_user(reg, "app1", "solo", "a"), IRTC_OK, "releasing the only user");
    ok(room_find(reg, "app1", "solo") == NULL, "frees the room");
    room_registry_free(reg);
}

static void test_sfu_events(void)
{
    room_registry_t *reg = new_registry(8);
    client_t a, b, c;
    uint64_t sub = 0;
    int rc;
    fake_reset(true, true);
    join(reg, "r", &a, "a", 1);
    join(reg, "r", &b, "b", 1);
    join(reg, "r", &c, "c", 1);
    const room_stream_t *sa = publish(&a, ROOM_STREAM_MAIN, &rc);
    subscribe(&b, sa->id, true, true, &sub);

    sfu_event_t ev = {.type = SFU_EVENT_STREAM_READY, .id = sa->id};
    room_registry_sfu_event(reg, &ev);
    const rec_event_t *e = last(&a, ROOM_EV_STREAM_PUBLISHED);
    ok(e != NULL && e->stream_id == sa->id && sa->connected, "STREAM_READY: stream-published to its owner");
    is_int(count(&b, ROOM_EV_STREAM_PUBLISHED), 0, "only to the owner");
    ev = (sfu_event_t){.type = SFU_EVENT_SUB_READY, .id = sub};
    room_registry_sfu_event(reg, &ev);
    e = last(&b, ROOM_EV_STREAM_SUBSCRIBED);
    ok(e != NULL && e->sub_id == sub && e->stream_id == sa->id, "SUB_READY: stream-subscribed");

    int before = a.n + b.n + c.n;
    ev = (sfu_event_t){.type = SFU_EVENT_CONN_FAILED, .id = 424242, .reason = "x"};
    room_registry_sfu_event(reg, &ev);
    is_int(a.n + b.n + c.n, before, "events for unknown ids are ignored");

    ev = (sfu_event_t){.type = SFU_EVENT_CONN_FAILED, .id = sub, .reason = "ICE consent lost"};
    room_registry_sfu_event(reg, &ev);
    e = last(&b, ROOM_EV_REMOVED);
    ok(b.peer == NULL && e != NULL && e->reason == ROOM_REASON_TIMEOUT,
       "CONN_FAILED: the subscriber is removed, reason 7");
    ok(last(&a, ROOM_EV_PEER_LEAVE)->reason == 7 && last(&c, ROOM_EV_PEER_LEAVE)->reason == 7,
       "the others get peer-leave reason 7");
    ev = (sfu_event_t){.type = SFU_EVENT_CONN_FAILED, .id = sa->id};
    room_registry_sfu_event(reg, &ev);
    ok(a.peer == NULL && last(&c, ROOM_EV_STREAM_REMOVED) != NULL && last(&c, ROOM_EV_PEER_LEAVE)->reason == 7,
       "CONN_FAILED on a publisher: it leaves, its stream is removed");
    is_int(stats(reg).streams, 0, "no stream left");
    room_leave(c.peer, 0);
    is_int(stats(reg).rooms, 0, "room freed");
    room_registry_free(reg);
}

/* Active speaker from the SFU's audio levels (-dBov, 0 loudest). */
static void audio(room_registry_t *reg, const room_stream_t *s, uint8_t level, bool active)
{
    sfu_event_t ev = {.type = SFU_EVENT_STREAM_AUDIO, .id = s->id, .level = level, .active = active};
    room_registry_sfu_event(reg, &ev);
}

static void test_active_speaker(void)
{
    room_registry_t *reg = new_registry(8);
    client_t a, b, c;
    int rc;
    fake_reset(true, true);
    join(reg, "spk", &a, "a", 1);
    join(reg, "spk", &b, "b", 1);
    join(reg, "spk", &c, "c", 1);
    const room_stream_t *sa = publish(&a, ROOM_STREAM_MAIN, &rc), *sb = publish(&b, ROOM_STREAM_MAIN, &rc);
    audio(reg, sa, 100, false);
    is_int(count(&c, ROOM_EV_ACTIVE_SPEAKER), 0, "room noise makes nobody the speaker");
    audio(reg, sa, 35, true);
    const rec_event_t *e = last(&c, ROOM_EV_ACTIVE_SPEAKER);
    ok(e && e->stream_id == sa->id && !strcmp(e->user_id, "a") && count(&a, ROOM_EV_ACTIVE_SPEAKER) == 1 &&
           count(&b, ROOM_EV_ACTIVE_SPEAKER) == 1,
       "a speaks: everyone (a too) is told a's stream is the active speaker");
    audio(reg, sa, 30, true);
    is_int(count(&c, ROOM_EV_ACTIVE_SPEAKER), 1, "a keeps speaking: no new event");
    audio(reg, sb, 33, true);
    is_int(count(&c, ROOM_EV_ACTIVE_SPEAKER), 1, "b talks over a, not 6 dB louder: a stays");
    usleep(550 * 1000); /* past the 500 ms between changes */
    audio(reg, sa, 30, true);
    audio(reg, sb, 20, true);
    e = last(&c, ROOM_EV_ACTIVE_SPEAKER);
    ok(count(&c, ROOM_EV_ACTIVE_SPEAKER) == 2 && e->stream_id == sb->id, "b 10 dB louder than a: b takes over");
    audio(reg, sb, 90, false);
    audio(reg, sa, 40, true);
    is_int(count(&c, ROOM_EV_ACTIVE_SPEAKER), 2, "b falls silent and a speaks within 500 ms: no change yet");
    usleep(550 * 1000);
    audio(reg, sa, 40, true);
    e = last(&c, ROOM_EV_ACTIVE_SPEAKER);
    ok(count(&c, ROOM_EV_ACTIVE_SPEAKER) == 3 && e->stream_id == sa->id, "then a (speaking, b silent) takes over");
    room_leave(a.peer, 0);
    room_leave(b.peer, 0);
    room_leave(c.peer, 0);
    room_registry_free(reg);
}

/* ---- the registry observer ---- */

typedef struct {
    room_obs_type_t type[64];
    uint64_t stream_id[64];
    char channel[64][65];
    int n;
    int unpublished_at_removal[64]; /* fake.unpublished when told: the SFU still had the stream */
} observer_log_t;

static void on_observe(void *ctx, const room_obs_event_t *ev)
{
    observer_log_t *o = ctx;
    if (o->n >= 64)
        return;
    o->type[o->n] = ev->type;
    o->stream_id[o->n] = ev->stream ? ev->stream->id : 0;
    snprintf(o->channel[o->n], sizeof(o->channel[0]), "%s", room_channel_id(ev->room));
    o->unpublished_at_removal[o->n] = fake.unpublished;
    o->n++;
}

static void test_observer(void)
{
    room_registry_t *reg = new_registry(8);
    static observer_log_t o;
    client_t a, b, c;
    int rc;
    memset(&o, 0, sizeof(o));
    fake_reset(true, true);
    room_registry_set_observer(reg, on_observe, &o);

    join(reg, "obs", &a, "a", 1);
    join(reg, "obs", &b, "b", 1);
    is_int(o.n, 0, "observer: joins are not stream events");
    const room_stream_t *sa = publish(&a, ROOM_STREAM_MAIN, &rc);
    uint64_t sa_id = sa->id;
    ok(o.n == 1 && o.type[0] == ROOM_OBS_STREAM_ADDED && o.stream_id[0] == sa_id && strcmp(o.channel[0], "obs") == 0,
       "publish: STREAM_ADDED with the stream and its room");
    fake.publish_rc = IRTC_EINVAL;
    fake.why = "no codec";
    publish(&b, ROOM_STREAM_MAIN, &rc);
    fake.publish_rc = IRTC_OK;
    is_int(o.n, 1, "a refused publish is not observed");

    const room_stream_t *sb = publish(&b, ROOM_STREAM_MAIN, &rc);
    uint64_t sb_id = sb->id;
    int unpub = fake.unpublished;
    room_unpublish(a.peer, sa_id, NULL, 0, NULL, NULL);
    ok(o.n == 3 && o.type[2] == ROOM_OBS_STREAM_REMOVED && o.stream_id[2] == sa_id,
       "unpublish: STREAM_REMOVED for that stream");
    is_int(o.unpublished_at_removal[2], unpub, "told before the SFU closes the stream (taps can come off)");

    sa = publish(&a, ROOM_STREAM_MAIN, &rc);
    sa_id = sa->id;
    room_leave(a.peer, ROOM_REASON_LEFT);
    ok(o.n == 5 && o.type[4] == ROOM_OBS_STREAM_REMOVED && o.stream_id[4] == sa_id,
       "a publisher leaving: its stream removed");
    ok(room_find(reg, "app1", "obs") != NULL, "room still there (b is in it)");

    join(reg, "obs", &c, "c", 1);
    sfu_event_t ev = {.type = SFU_EVENT_CONN_FAILED, .id = sb_id};
    room_registry_sfu_event(reg, &ev);
    ok(o.n == 6 && o.type[5] == ROOM_OBS_STREAM_REMOVED && o.stream_id[5] == sb_id,
       "a failed transport: its stream removed");
    room_leave(c.peer, ROOM_REASON_LEFT);
    ok(o.n == 7 && o.type[6] == ROOM_OBS_ROOM_CLOSED && strcmp(o.channel[6], "obs") == 0,
       "the last peer leaves: ROOM_CLOSED");

    join(reg, "rel", &a, "a", 1);
    join(reg, "rel", &b, "b", 1);
    sa = publish(&a, ROOM_STREAM_MAIN, &rc);
    const room_stream_t *aux = publish(&a, ROOM_STREAM_AUXILIARY, &rc);
    uint64_t aux_id = aux->id;
    sa_id = sa->id;
    o.n = 0;
    room_release_room(reg, "app1", "rel");
    ok(o.n == 3 && o.type[0] == ROOM_OBS_STREAM_REMOVED && o.type[1] == ROOM_OBS_STREAM_REMOVED &&
           o.type[2] == ROOM_OBS_ROOM_CLOSED,
       "releaseRoom: every stream removed, then ROOM_CLOSED");
    ok((o.stream_id[0] == sa_id && o.stream_id[1] == aux_id) || (o.stream_id[0] == aux_id && o.stream_id[1] == sa_id),
       "both of a's streams reported");

    join(reg, "kick", &a, "a", 1);
    publish(&a, ROOM_STREAM_MAIN, &rc);
    o.n = 0;
    room_release_user(reg, "app1", "kick", "a");
    ok(o.n == 2 && o.type[0] == ROOM_OBS_STREAM_REMOVED && o.type[1] == ROOM_OBS_ROOM_CLOSED,
       "releaseUser of the only user: stream removed, room closed");

    join(reg, "off", &a, "a", 1);
    room_registry_set_observer(reg, NULL, &o);
    o.n = 0;
    publish(&a, ROOM_STREAM_MAIN, &rc);
    room_leave(a.peer, 0);
    is_int(o.n, 0, "a cleared observer is not called");

    room_registry_set_observer(reg, on_observe, &o);
    join(reg, "end", &a, "a", 1);
    publish(&a, ROOM_STREAM_MAIN, &rc);
    o.n = 0;
    room_registry_free(reg);
    is_int(o.n, 0, "room_registry_free tells the observer nothing (shutdown)");
}

/* Many rooms and ids: the hash and the id map grow, and deletion keeps every
 * remaining entry reachable. */
static void test_scale(void)
{
    enum { N = 300 };
    room_registry_t *reg = new_registry(64);
    static client_t cl[N];
    char chan[32];
    int rc, bad = 0;
    fake_reset(true, true);
    for (int i = 0; i < N; i++) {
        snprintf(chan, sizeof(chan), "room-%d", i);
        if (join(reg, chan, &cl[i], "u", 1) != IRTC_OK)
            bad++;
    }
    is_int(bad, 0, "%d rooms created", N);
    for (int i = 0; i < N; i++) {
        snprintf(chan, sizeof(chan), "room-%d", i);
        room_t *r = room_find(reg, "app1", chan);
        bad +=
            r == NULL || room_peer_room(cl[i].peer) != r || room_worker(r) != sfu_worker_for_channel("app1", chan, 4);
    }
    is_int(bad, 0, "each found again after growth, pinned to its worker");

    static uint64_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = publish(&cl[i], ROOM_STREAM_MAIN, &rc)->id;
    for (int i = 0; i < N; i += 3)
        room_unpublish(cl[i].peer, ids[i], NULL, 0, NULL, NULL);
    for (int i = 0; i < N; i++) {
        const room_stream_t *s = room_find_stream(room_peer_room(cl[i].peer), ids[i]);
        bad += (i % 3 == 0) != (s == NULL);
    }
    is_int(bad, 0, "stream lookups right after deleting every third");
    for (int i = 1; i < N; i += 2)
        room_leave(cl[i].peer, 0);
    is_int(stats(reg).rooms, N / 2, "half the rooms freed");
    /* Freeing the registry with rooms in it releases their streams from the
     * SFU (the leak check of the sanitizer build sees the rest). */
    size_t live = stats(reg).streams;
    int unpublished_before = fake.unpublished;
    ok(live > 0, "streams still published before the registry is freed (%zu)", live);
    room_registry_free(reg);
    is_int(fake.unpublished - unpublished_before, live, "registry freed: every remaining stream unpublished");
}

int main(void)
{
    test_join_leave();
    test_publish_limit();
    test_publish_errors();
    test_subscribe();
    test_mute();
    test_release();
    test_sfu_events();
    test_active_speaker();
    test_observer();
    test_scale();
    is_str(room_reason_text(7), "reconnect timeout", "reason text");
    is_str(room_reason_text(11), "unknown", "reason text out of range");
    return done_testing();
}
