/*
 * client_pipe.c — a room spanning media workers, with the C client core
 * against a real irtcd on 127.0.0.1 (driven by test_pipe.sh, which starts
 * the daemon with two workers and media.room_spread_at SPREAD): TAP output.
 * One publisher (synthetic audio + VP8-shaped video, keyframes only when
 * asked) and N subscribers: the first SPREAD stay on the room's worker, the
 * rest are spread; every one must receive with under 0.5 % loss; a PLI
 * from a subscriber on the other worker must bring a keyframe (the
 * publisher sends none unasked); the remote subscribers leave (the pipes
 * close) while the local ones keep receiving, a new subscriber reopens
 * them, and everyone leaves.  At named points it runs $PIPE_SNAPSHOT with
 * the point's name (the script saves /metrics there and checks it).
 * Every wait is bounded.
 *
 * With SIMULCAST 2 or 3 the publisher sends that many encodings: each
 * subscriber gets the one its link allows, the pipe carries them all.
 *
 *   client_pipe HOST HTTPS-PORT APP-ID ACCESS-KEY TENANT MEDIA-PORT WORKERS SPREAD N [SIMULCAST]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "core/clock.h"
#include "core/common.h"
#include "unit/tap.h"
#include "client_token.h"

#define MAX_SUBS 32
#define CHANNEL "pipe-room"


typedef struct {
    int joined, published, subscribed, first_media, left;
    char stream_seen[24], published_id[24], why[256];
    unsigned keyframes, video_frames;
} peer_t;

static const char *g_host, *g_app, *g_key, *g_tenant, *g_media_port;
static unsigned g_https, g_workers;

static char *token(const char *user)
{
    test_token_env_t env = {g_host, g_app, g_key, g_tenant, (unsigned)atoi(g_media_port), g_workers};
    return test_client_token(&env, CHANNEL, user);
}

static void on_joined(void *u, ic_client_t *c, int err, const char *msg)
{
    peer_t *p = u;
    (void)c;
    p->joined = err == 0 ? 1 : -1;
    snprintf(p->why, sizeof(p->why), "%s", msg ? msg : "");
}

static void on_stream_added(void *u, ic_client_t *c, const ic_stream_t *s)
{
    (void)c;
    snprintf(((peer_t *)u)->stream_seen, sizeof(((peer_t *)u)->stream_seen), "%s", s->stream_id);
}

static void on_published(void *u, ic_client_t *c, const char *id, int err, const char *msg)
{
    peer_t *p = u;
    (void)c;
    p->published = err == 0 ? 1 : -1;
    snprintf(p->published_id, sizeof(p->published_id), "%s", id);
    if (err)
        snprintf(p->why, sizeof(p->why), "%s", msg ? msg : "");
}

static void on_subscribed(void *u, ic_client_t *c, const char *id, int err, const char *msg)
{
    peer_t *p = u;
    (void)c, (void)id;
    p->subscribed = err == 0 ? 1 : -1;
    if (err)
        snprintf(p->why, sizeof(p->why), "%d %s", err, msg ? msg : "");
}

static void on_first_media(void *u, ic_client_t *c, const char *id)
{
    (void)c, (void)id;
    ((peer_t *)u)->first_media = 1;
}

static void on_left(void *u, ic_client_t *c, int reason, const char *msg)
{
    (void)c, (void)reason, (void)msg;
    ((peer_t *)u)->left = 1;
}

static void on_frame(void *u, ic_client_t *c, const ic_frame_t *f)
{
    peer_t *p = u;
    (void)c;
    if (!f->video)
        return;
    p->video_frames++;
    p->keyframes += f->keyframe;
}

static const ic_callbacks_t cbs = {.on_joined = on_joined,
                                   .on_stream_added = on_stream_added,
                                   .on_published = on_published,
                                   .on_subscribed = on_subscribed,
                                   .on_first_media = on_first_media,
                                   .on_left = on_left,
                                   .on_frame = on_frame};

static void run_for(ic_loop_t *l, unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    while (clock_mono_ms() < end)
        ic_loop_run(l, 10);
}

/* Runs the loop until every flag[i * stride] is set or ms pass; true if all were. */
static bool wait_all(ic_loop_t *l, peer_t *p, int n, size_t field, unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += *(int *)((char *)&p[i] + field) != 0;
        if (done == n)
            return true;
        if (clock_mono_ms() >= end)
            return false;
        ic_loop_run(l, 10);
    }
}

static void snapshot(const char *name)
{
    const char *cmd = getenv("PIPE_SNAPSHOT");
    if (cmd == NULL)
        return;
    char line[1024];
    snprintf(line, sizeof(line), "%s %s", cmd, name);
    if (system(line) != 0)
        printf("# snapshot %s failed\n", name);
}

static ic_client_t *join(ic_loop_t *l, peer_t *p, const char *user)
{
    ic_config_t cfg = {.host = g_host, .port = (uint16_t)g_https};
    ic_client_t *c = ic_client_new(l, &cfg, &cbs, p);
    char *t = token(user);
    ic_client_join(c, g_app, CHANNEL, user, t, 1);
    free(t);
    return c;
}

/* Subscribers [from, to) join and subscribe to the publisher's stream. */
static bool subscribe_range(ic_loop_t *l, ic_client_t **c, peer_t *p, int from, int to, const char *pub_id)
{
    for (int i = from; i < to; i++) {
        char user[24]; /* "viewer" and any int: -O1 builds check the bound */
        snprintf(user, sizeof(user), "viewer%d", i);
        memset(&p[i], 0, sizeof(p[i]));
        c[i] = join(l, &p[i], user);
        if (!wait_all(l, &p[i], 1, offsetof(peer_t, joined), 5000) || p[i].joined != 1)
            return false;
        /* one at a time: placement counts the subscriptions made so far */
        ic_client_subscribe(c[i], pub_id, true, true);
        if (!wait_all(l, &p[i], 1, offsetof(peer_t, subscribed), 8000) || p[i].subscribed != 1)
            return false;
    }
    return wait_all(l, p + from, to - from, offsetof(peer_t, first_media), 5000);
}

/* Loss of one subscriber over [a, b]. */
static double loss_of(const ic_recv_stats_t *a, const ic_recv_stats_t *b)
{
    uint64_t got = b->packets - a->packets, lost = b->lost > a->lost ? b->lost - a->lost : 0;
    return got + lost ? (double)lost / (double)(got + lost) : 1;
}

static void leave_range(ic_loop_t *l, ic_client_t **c, peer_t *p, int from, int to)
{
    for (int i = from; i < to; i++)
        ic_client_leave(c[i]);
    wait_all(l, p + from, to - from, offsetof(peer_t, left), 5000);
    for (int i = from; i < to; i++) {
        ic_client_free(c[i]);
        c[i] = NULL;
    }
    ic_loop_run(l, 0);
}

int main(int argc, char **argv)
{
    if (argc != 10 && argc != 11) {
        fprintf(stderr,
                "usage: client_pipe HOST HTTPS-PORT APP-ID ACCESS-KEY TENANT MEDIA-PORT WORKERS SPREAD N [SIMULCAST]\n");
        return 2;
    }
    g_host = argv[1];
    g_https = (unsigned)atoi(argv[2]);
    g_app = argv[3];
    g_key = argv[4];
    g_tenant = argv[5];
    g_media_port = argv[6];
    g_workers = (unsigned)atoi(argv[7]);
    int spread = atoi(argv[8]), n = atoi(argv[9]);
    unsigned simulcast = argc == 11 ? (unsigned)atoi(argv[10]) : 1;
    if (n > MAX_SUBS || spread < 1 || spread >= n) {
        fprintf(stderr, "need 1 <= SPREAD < N <= %d\n", MAX_SUBS);
        return 2;
    }
    char err[256];
    ic_loop_t *l = ic_loop_new(NULL, err, sizeof(err));
    if (!ok(l != NULL, "loop created (%s)", l ? "" : err))
        return done_testing();

    peer_t a = {0};
    ic_client_t *alice = join(l, &a, "alice");
    wait_all(l, &a, 1, offsetof(peer_t, joined), 5000);
    /* keyframes only when asked: a keyframe after a PLI is the PLI's */
    ic_publish_opts_t po = {.audio = true,
                            .video = true,
                            .video_bitrate_bps = 1000000,
                            .keyframe_interval_ms = 600000,
                            .simulcast = simulcast};
    ic_client_publish(alice, &po);
    wait_all(l, &a, 1, offsetof(peer_t, published), 5000);
    if (!ok(a.published == 1, "the publisher is up (%s)", a.why))
        return done_testing();

    static peer_t p[MAX_SUBS];
    static ic_client_t *c[MAX_SUBS];
    ok(subscribe_range(l, c, p, 0, n, a.published_id), "%d subscribers set up and receiving", n);
    run_for(l, 1500); /* past the start's keyframe requests and the home worker's 1 s PLI limit */

    ic_recv_stats_t s0[MAX_SUBS], s1[MAX_SUBS];
    for (int i = 0; i < n; i++)
        ic_client_recv_stats(c[i], &s0[i]);
    run_for(l, 4000);
    snapshot("flowing");
    for (int i = 0; i < n; i++)
        ic_client_recv_stats(c[i], &s1[i]);
    int under = 0;
    double worst = 0;
    uint64_t fewest = UINT64_MAX;
    for (int i = 0; i < n; i++) {
        double loss = loss_of(&s0[i], &s1[i]);
        under += loss < 0.005;
        worst = loss > worst ? loss : worst;
        fewest = IRTC_MIN(fewest, s1[i].packets - s0[i].packets);
    }
    /* 1 Mbit/s at 30 fps and 50 audio packets/s: ~150 packets/s, ~600 in 4 s
     * (one simulcast encoding: a share of the megabit, 30 fps all the same) */
    ok(under == n && fewest >= (simulcast > 1 ? 250u : 400u), "every subscriber received with < 0.5 %% loss (%d of %d; worst %.3f %%, "
       "fewest packets %llu)", under, n, worst * 100, (unsigned long long)fewest);

    /* viewer SPREAD is the first placed on the other worker */
    ic_send_stats_t tx0, tx1;
    ic_client_send_stats(alice, &tx0);
    unsigned k0 = p[spread].keyframes, local0 = p[0].keyframes;
    ic_client_request_keyframe(c[spread]);
    uint64_t t0 = clock_mono_ms();
    while (p[spread].keyframes == k0 && clock_mono_ms() - t0 < 3000)
        ic_loop_run(l, 10);
    ic_client_send_stats(alice, &tx1);
    ok(p[spread].keyframes > k0, "a PLI from a subscriber on the other worker brings a keyframe (%u -> %u, %llu ms; "
       "publisher PLIs %llu -> %llu)", k0, p[spread].keyframes, (unsigned long long)(clock_mono_ms() - t0),
       (unsigned long long)tx0.plis_received, (unsigned long long)tx1.plis_received);
    ok(tx1.plis_received > tx0.plis_received, "the request reached the publisher through the room's worker");
    run_for(l, 300);
    if (simulcast <= 1) /* with simulcast the local one may take another encoding */
        ok(p[0].keyframes > local0, "the keyframe reached the room's own worker's subscribers too");

    /* The spread subscribers leave: the pipes close, the local ones go on. */
    leave_range(l, c, p, spread, n);
    run_for(l, 500);
    snapshot("remote-gone");
    for (int i = 0; i < spread; i++)
        ic_client_recv_stats(c[i], &s0[i]);
    run_for(l, 2000);
    int still = 0;
    for (int i = 0; i < spread; i++) {
        ic_client_recv_stats(c[i], &s1[i]);
        still += s1[i].packets - s0[i].packets >= 150;
    }
    ok(still == spread, "the room's worker's subscribers keep receiving after the pipes close (%d of %d)", still,
       spread);

    /* A new subscriber past the threshold reopens them. */
    ok(subscribe_range(l, c, p, spread, spread + 1, a.published_id), "a new spread subscriber is set up");
    ic_client_recv_stats(c[spread], &s0[spread]);
    run_for(l, 2000);
    ic_client_recv_stats(c[spread], &s1[spread]);
    ok(s1[spread].packets - s0[spread].packets >= 150 && p[spread].keyframes >= 1,
       "it receives through a new pipe (%llu packets, %u keyframes)",
       (unsigned long long)(s1[spread].packets - s0[spread].packets), p[spread].keyframes);
    snapshot("reopened");

    leave_range(l, c, p, 0, spread + 1);
    ic_client_leave(alice);
    wait_all(l, &a, 1, offsetof(peer_t, left), 5000);
    ic_client_free(alice);
    ic_loop_run(l, 0);
    run_for(l, 1000);
    snapshot("empty");
    ic_loop_free(l);
    return done_testing();
}
