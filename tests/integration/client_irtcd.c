/*
 * client_irtcd.c — the C client core against a real irtcd on 127.0.0.1
 * (driven by test_client_irtcd.sh, which starts the daemon and creates the
 * app): TAP output.  Alice joins and publishes synthetic audio + VP8-shaped
 * video; Bob joins, sees the stream (join response), subscribes, and
 * receives it: both transports connect (ICE, DTLS, SRTP), Bob's packets and
 * bytes match what Alice sent within loss bounds, no SRTP failure, his RTCP
 * (RR, transport-cc) goes out, and a PLI he sends reaches Alice as a
 * keyframe request.  Then a simulcast publisher, a bad token, a
 * subscription to a stream that does not exist, and leave.  Every wait is
 * bounded.
 *
 *   client_irtcd HOST HTTPS-PORT APP-ID ACCESS-KEY TENANT MEDIA-PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "core/clock.h"
#include "core/common.h"
#include "unit/tap.h"
#include "client_token.h"

typedef struct {
    const char *name;
    int joined; /* 0 waiting, 1 ok, -1 refused */
    int join_err;
    char stream_seen[24];
    char published_id[24];
    int published, subscribed; /* 0 waiting, 1 ok, -1 failed */
    int first_media;
    int left, left_reason;
    char why[256];
    int peer_joined;                            /* on_peer: another user is (or came) in */
    unsigned video_frames, keyframes, audio_frames; /* on_frame */
    unsigned key_w, key_h;
} peer_t;

static const char *g_host, *g_app, *g_key, *g_tenant, *g_media_port;
static unsigned g_workers = 1;
static unsigned g_https;

static char *token(const char *channel, const char *user)
{
    test_token_env_t env = {g_host, g_app, g_key, g_tenant, (unsigned)atoi(g_media_port), g_workers};
    return test_client_token(&env, channel, user);
}

static void on_joined(void *u, ic_client_t *c, int err, const char *msg)
{
    peer_t *p = u;
    p->joined = err == 0 ? 1 : -1;
    p->join_err = err;
    snprintf(p->why, sizeof(p->why), "%s", msg ? msg : "");
}

static void on_stream_added(void *u, ic_client_t *c, const ic_stream_t *s)
{
    peer_t *p = u;
    snprintf(p->stream_seen, sizeof(p->stream_seen), "%s", s->stream_id);
}

static void on_published(void *u, ic_client_t *c, const char *id, int err, const char *msg)
{
    peer_t *p = u;
    p->published = err == 0 ? 1 : -1;
    snprintf(p->published_id, sizeof(p->published_id), "%s", id);
    if (err)
        snprintf(p->why, sizeof(p->why), "%s", msg ? msg : "");
}

static void on_subscribed(void *u, ic_client_t *c, const char *id, int err, const char *msg)
{
    peer_t *p = u;
    p->subscribed = err == 0 ? 1 : -1;
    if (err)
        snprintf(p->why, sizeof(p->why), "%d %s", err, msg ? msg : "");
}

static void on_first_media(void *u, ic_client_t *c, const char *id)
{
    ((peer_t *)u)->first_media = 1;
}

static void on_left(void *u, ic_client_t *c, int reason, const char *msg)
{
    peer_t *p = u;
    p->left = 1;
    p->left_reason = reason;
}

static void on_peer(void *u, ic_client_t *c, const char *user_id, bool joined, int reason)
{
    if (joined)
        ((peer_t *)u)->peer_joined = 1;
}

static void on_frame(void *u, ic_client_t *c, const ic_frame_t *f)
{
    peer_t *p = u;
    if (!f->video) {
        p->audio_frames++;
        return;
    }
    p->video_frames++;
    if (f->keyframe) {
        p->keyframes++;
        p->key_w = f->width, p->key_h = f->height;
    }
}

static const ic_callbacks_t cbs = {on_joined,     on_stream_added, NULL,    on_published, on_subscribed,
                                   on_first_media, on_left,        on_peer, NULL,         NULL,
                                   on_frame};

/* Runs the loop until *flag != 0 or ms pass; true if the flag was set. */
static bool wait_for(ic_loop_t *l, const int *flag, unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    while (*flag == 0 && clock_mono_ms() < end)
        ic_loop_run(l, 10);
    return *flag != 0;
}

static void run_for(ic_loop_t *l, unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    while (clock_mono_ms() < end)
        ic_loop_run(l, 10);
}

static ic_client_t *join(ic_loop_t *l, peer_t *p, const char *channel, const char *user, const ic_config_t *cfg)
{
    ic_client_t *c = ic_client_new(l, cfg, &cbs, p);
    char *t = token(channel, user);
    ok(ic_client_join(c, g_app, channel, user, t, 1) == IRTC_OK, "%s: join sent", user);
    free(t);
    wait_for(l, &p->joined, 5000);
    ok(p->joined == 1, "%s: joined (%d %s)", user, p->join_err, p->why);
    return c;
}

static void test_publish_subscribe(ic_loop_t *l, unsigned simulcast)
{
    ic_config_t cfg = {.host = g_host, .port = (uint16_t)g_https};
    char channel[32];
    snprintf(channel, sizeof(channel), "c-room-%u", simulcast);
    peer_t a = {0}, b = {0};
    ic_client_t *alice = join(l, &a, channel, "alice", &cfg);
    ic_publish_opts_t po = {.audio = true, .video = true, .video_bitrate_bps = 1000000, .simulcast = simulcast};
    ok(ic_client_publish(alice, &po) == IRTC_OK, "publish sent (simulcast %u)", simulcast);
    wait_for(l, &a.published, 5000);
    ok(a.published == 1, "alice's transport is up (ICE + DTLS) (%s)", a.why);
    ic_client_t *bob = join(l, &b, channel, "bob", &cfg);
    ok(b.stream_seen[0] != 0 && strcmp(b.stream_seen, a.published_id) == 0,
       "bob learns alice's stream from the join response (%s)", b.stream_seen);
    ok(ic_client_subscribe(bob, b.stream_seen, true, true) == IRTC_OK, "subscribe sent");
    wait_for(l, &b.subscribed, 5000);
    ok(b.subscribed == 1, "bob's subscription transport is up (%s)", b.why);
    ok(wait_for(l, &b.first_media, 3000), "bob receives media");
    run_for(l, 3000);
    ic_recv_stats_t rx;
    ic_send_stats_t tx;
    ic_client_recv_stats(bob, &rx);
    ic_client_send_stats(alice, &tx);
    printf("# alice sent %llu packets (%llu B), bob received %llu (%llu B), lost %llu, jitter %.2f ms, "
           "twcc fb %llu, nacks %llu, plis %llu/%llu\n",
           (unsigned long long)tx.packets, (unsigned long long)tx.bytes, (unsigned long long)rx.packets,
           (unsigned long long)rx.bytes, (unsigned long long)rx.lost, rx.jitter_ms, (unsigned long long)rx.twcc_sent,
           (unsigned long long)rx.nacks_sent, (unsigned long long)rx.plis_sent, (unsigned long long)tx.plis_received);
    /* 1 Mbps at 30 fps plus 50 audio packets/s: ~150 packets/s for ~3 s. */
    /* Simulcast: the subscriber gets one encoding at a time (the highest its estimate allows). */
    ok(rx.packets > (simulcast > 1 ? 150u : 300u), "bob got hundreds of packets (%llu)",
       (unsigned long long)rx.packets);
    ok(rx.srtp_failed == 0, "every packet passed SRTP authentication");
    ok(rx.lost * 100 <= rx.packets, "loss under 1 %% on loopback (%llu)", (unsigned long long)rx.lost);
    if (simulcast <= 1)
        ok(rx.packets * 100 >= tx.packets * 80, "bob got what alice sent, less the packets before his keyframe");
    else
        ok(rx.packets < tx.packets, "a simulcast publisher's encodings are not all forwarded: one at a time");
    ok(tx.plis_received >= 1, "a keyframe request reached alice (subscriber start)");
    ok(b.peer_joined == 1, "bob learns alice is in the room (join response peers)");
    /* 30 fps for ~3 s, whole frames only; keyframes carry the source's size. */
    ok(b.video_frames >= 30 && b.keyframes >= 1 && b.audio_frames >= 50,
       "bob's frames reassembled: %u video (%u key), %u audio", b.video_frames, b.keyframes, b.audio_frames);
    if (simulcast <= 1)
        ok(b.key_w == 1280 && b.key_h == 720, "keyframe size from the VP8 header (%ux%u)", b.key_w, b.key_h);
    ic_client_leave(bob);
    wait_for(l, &b.left, 3000);
    ok(b.left && b.left_reason == 0, "bob leaves (reason %d)", b.left_reason);
    ic_client_leave(alice);
    ok(wait_for(l, &a.left, 3000), "alice leaves");
    ic_client_free(alice);
    ic_client_free(bob);
    ic_loop_run(l, 0);
}

static void test_errors(ic_loop_t *l)
{
    ic_config_t cfg = {.host = g_host, .port = (uint16_t)g_https};
    peer_t p = {0};
    ic_client_t *c = ic_client_new(l, &cfg, &cbs, &p);
    ok(ic_client_join(c, g_app, "c-err", "eve", "bm90IGEgdG9rZW4=", 1) == IRTC_OK, "join with a bad token sent");
    wait_for(l, &p.joined, 5000);
    ok(p.joined == -1 && p.join_err == 200009, "refused with 200009 (%d)", p.join_err);
    ic_client_free(c);
    peer_t q = {0};
    c = join(l, &q, "c-err", "eve", &cfg);
    ok(ic_client_subscribe(c, "999999", true, true) == IRTC_OK, "subscribe to a stream that does not exist");
    wait_for(l, &q.subscribed, 3000);
    ok(q.subscribed == -1 && strstr(q.why, "200006") != NULL, "refused with 200006 (%s)", q.why);
    ic_client_leave(c);
    wait_for(l, &q.left, 3000);
    ic_client_free(c);
    ic_loop_run(l, 0);
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: client_irtcd HOST HTTPS-PORT APP-ID ACCESS-KEY TENANT MEDIA-PORT [WORKERS]\n");
        return 2;
    }
    if (argc == 8)
        g_workers = (unsigned)atoi(argv[7]);
    g_host = argv[1];
    g_https = (unsigned)atoi(argv[2]);
    g_app = argv[3];
    g_key = argv[4];
    g_tenant = argv[5];
    g_media_port = argv[6];
    char err[256];
    ic_loop_t *l = ic_loop_new(NULL, err, sizeof(err));
    if (!ok(l != NULL, "loop created (%s)", l ? "" : err))
        return done_testing();
    test_publish_subscribe(l, 1);
    test_publish_subscribe(l, 3);
    test_errors(l);
    ic_loop_free(l);
    return done_testing();
}
