/*
 * test_client.c — the client core's pieces without a server:
 *  - offer.c: the offers it writes are accepted by irtcd's own SDP code
 *    (sdp_parse + sdp_negotiate, as sfu.c calls them), simulcast rids
 *    included; the answers irtcd writes are read back; an answer to a
 *    Janus-shaped offer mirrors its m-lines;
 *  - source.c: bitrate, frame rate, keyframes (periodic and on request),
 *    simulcast layers, Opus frames;
 *  - source.c with encoded_frames: a VP8 frame cut behind RFC 7741
 *    descriptors (S on the first, marker on the last, picture id counting,
 *    timestamps from the capture time), Opus one packet per frame, bad
 *    frames refused; an H.264 access unit as STAP-A (SPS, PPS) and FU-A (a
 *    large IDR slice), and the SDP offers for it;
 *  - transport.c: two transports on one loop over real UDP on 127.0.0.1,
 *    one offering (controlling, DTLS client) and one answering (controlled,
 *    DTLS server): ICE both ways, DTLS-SRTP with each profile, media
 *    counted, transport-cc feedback flowing, an encoded VP8 frame and an
 *    Opus packet handed whole, byte for byte, to the receiver's on_frame;
 *    an H.264 access unit reassembled into the same Annex B bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "client/loop.h"
#include "client/offer.h"
#include "client/pace.h"
#include "client/source.h"
#include "client/transport.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/common.h"
#include "sdp/sdp.h"
#include "media/srtp_session.h"
#include "unit/tap.h"

static const char FP[] = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
                         "67:89";

static void offer_defaults(ic_offer_t *o)
{
    memset(o, 0, sizeof(*o));
    o->ufrag = "abcd1234";
    o->pwd = "0123456789abcdefghijklmn";
    o->fingerprint = FP;
    o->cname = "cname1";
    o->cand_ip = "127.0.0.1";
    o->cand_port = 40000;
    o->session_id = 42;
}

/* What sfu.c does with an offer: parse, negotiate as ICE-lite DTLS server. */
static int server_answer(const char *offer, bool publish, buf_t *answer, sdp_answer_t *ans, const char **why)
{
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    sdp_policy_t p;
    memset(&p, 0, sizeof(p));
    p.ice_ufrag = "srvufrag12345678";
    p.ice_pwd = "srvpwd0123456789abcdefghijklmnop";
    p.fingerprint = FP;
    p.session_id = 7;
    p.n_candidates = 1;
    p.candidates[0].ip = "127.0.0.1";
    p.candidates[0].port = 20000;
    p.sendrecv_as = publish ? SDP_DIR_RECVONLY : SDP_DIR_SENDONLY;
    if (!publish) {
        p.audio_send = (sdp_send_t){.ssrc = 1111, .cname = "srv"};
        p.video_send = (sdp_send_t){.ssrc = 2222, .cname = "srv"};
    }
    int rc = sdp_parse(offer, strlen(offer), s, why);
    if (rc == IRTC_OK)
        rc = sdp_negotiate(s, &p, ans, why);
    if (rc == IRTC_OK)
        sdp_write_answer(answer, ans);
    free(s);
    return rc;
}

static void test_offers(void)
{
    ic_offer_t o;
    buf_t b, a;
    const char *why = NULL;
    sdp_answer_t *sa = xcalloc(1, sizeof(*sa));
    ic_answer_t ans;

    offer_defaults(&o);
    o.audio = o.video = o.send = true;
    o.audio_ssrc = 11;
    o.n_layers = 1;
    o.video_ssrc[0] = 22;
    buf_init(&b);
    buf_init(&a);
    ic_offer_write(&b, &o);
    is_int(server_answer(b.base, true, &a, sa, &why), IRTC_OK, "irtcd's SDP code accepts our publish offer (%s)",
           why ? why : "");
    ok(sa->n_media == 2 && sa->media[0].dir == SDP_DIR_RECVONLY && strcmp(sa->media[1].name, "VP8") == 0 &&
           sa->media[1].rtx_pt == 97,
       "it receives Opus and VP8 with rtx");
    is_int(ic_answer_parse(a.base, a.len, &ans, &why), IRTC_OK, "we read irtcd's answer back");
    ok(ans.setup == IC_SETUP_PASSIVE && ans.n_cand == 1 && ans.cand[0].port == 20000 &&
           strcmp(ans.ufrag, "srvufrag12345678") == 0 && strcmp(ans.fp, FP) == 0,
       "credentials, candidate, fingerprint and the server's DTLS role");
    ok(ans.audio.pt == IC_PT_OPUS && ans.video.pt == IC_PT_VP8 && ans.video.ext_twcc == IC_EXT_TWCC &&
           ans.video.ext_mid == IC_EXT_MID && ans.video.nack && ans.video.pli,
       "payload types, extension ids and feedback");

    /* Simulcast: rids and a=simulcast, no a=ssrc. */
    o.n_layers = 3;
    buf_reset(&b);
    buf_reset(&a);
    ic_offer_write(&b, &o);
    ok(strstr(b.base, "a=simulcast:send q;h;f") != NULL && strstr(b.base, "a=ssrc:22") == NULL,
       "a simulcast offer lists three rids and no video SSRC");
    is_int(server_answer(b.base, true, &a, sa, &why), IRTC_OK, "irtcd accepts it");
    ok(sa->media[1].n_rid == 3 && strstr(a.base, "a=simulcast:recv q;h;f") != NULL, "and answers the three layers");
    is_str(ic_layer_rid(0, 2), "h", "two layers are h and f");

    /* A subscription: recvonly, the server's SSRCs in the answer. */
    o.send = false;
    o.n_layers = 1;
    buf_reset(&b);
    buf_reset(&a);
    ic_offer_write(&b, &o);
    ok(strstr(b.base, "a=recvonly") != NULL && strstr(b.base, "a=ssrc:") == NULL, "a subscription offer is recvonly");
    is_int(server_answer(b.base, false, &a, sa, &why), IRTC_OK, "irtcd accepts it");
    is_int(ic_answer_parse(a.base, a.len, &ans, &why), IRTC_OK, "its answer parses");
    ok(ans.audio.ssrc == 1111 && ans.video.ssrc == 2222, "with the SSRCs the server sends");

    /* Refusals. */
    is_int(ic_answer_parse("v=0\r\n", 5, &ans, &why), IRTC_EINVAL, "an SDP without media is refused (%s)", why);
    char *actpass = strdup(a.base);
    char *p = strstr(actpass, "a=setup:passive");
    memcpy(p, "a=setup:actpass", 15);
    is_int(ic_answer_parse(actpass, strlen(actpass), &ans, &why), IRTC_EINVAL, "an answer with actpass is refused");
    is_int(ic_offer_parse(actpass, strlen(actpass), &ans, &why), IRTC_OK, "but an offer with actpass is taken");
    ok(ans.setup == IC_SETUP_PASSIVE, "and makes us the DTLS client");

    /* Our answer to that offer (the Janus shape): same m-lines, active, recvonly. */
    offer_defaults(&o);
    buf_reset(&b);
    ic_answer_write(&b, &ans, &o);
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    why = NULL;
    is_int(sdp_parse(b.base, b.len, s, &why), IRTC_OK, "our answer parses");
    ok(s->n_media == 2 && s->media[0].dir == SDP_DIR_RECVONLY && s->media[1].tr.setup == SDP_SETUP_ACTIVE &&
           s->media[1].n_pt >= 1 && s->media[1].pt[0].pt == ans.video.pt && strcmp(s->media[1].mid, ans.video.mid) == 0,
       "it mirrors the offer: recvonly, setup active, the offered codec and mid");
    free(s);
    free(actpass);
    free(sa);
    buf_dispose(&a);
    buf_dispose(&b);
}

/* ---- source ---- */

typedef struct {
    uint64_t bytes[4], packets[4], keyframes[4];
    unsigned audio;
} sink_t;

static void sink(void *u, int layer, uint32_t ts, bool marker, const uint8_t *p, size_t len)
{
    sink_t *s = u;
    int i = layer < 0 ? 3 : layer;
    s->bytes[i] += len;
    s->packets[i]++;
    if (layer >= 0 && ic_vp8_is_keyframe(p, len))
        s->keyframes[i]++;
    if (layer < 0 && p[0] == 0xF8)
        s->audio++;
}

static void test_source(void)
{
    ic_publish_opts_t o = {
        .audio = true, .video = true, .video_bitrate_bps = 2000000, .fps = 25, .keyframe_interval_ms = 2000};
    const char *why;
    ic_source_t *s = ic_source_new(&o, 0, &why);
    sink_t k = {0};
    for (uint64_t t = 0; t < 10000000; t += 5000) /* 10 s in 5 ms steps */
        ic_source_run(s, t, sink, &k);
    double kbps = k.bytes[0] * 8.0 / 10 / 1000;
    ok(kbps > 1800 && kbps < 2200, "video at the bitrate asked (%.0f kbps for 2000)", kbps);
    ok(k.keyframes[0] >= 5 && k.keyframes[0] <= 6, "a keyframe every 2 s (%llu in 10 s)",
       (unsigned long long)k.keyframes[0]);
    ok(k.audio >= 499 && k.audio <= 501, "50 Opus packets per second (%u)", k.audio);
    ic_source_keyframe(s);
    uint64_t before = k.keyframes[0];
    ic_source_run(s, 10040000, sink, &k);
    is_int(k.keyframes[0], before + 1, "a keyframe request makes the next frame a keyframe");
    ic_source_free(s);

    o.simulcast = 3;
    s = ic_source_new(&o, 0, &why);
    is_int(ic_source_layers(s), 3, "three simulcast encodings");
    memset(&k, 0, sizeof(k));
    for (uint64_t t = 0; t < 4000000; t += 5000)
        ic_source_run(s, t, sink, &k);
    ok(k.bytes[2] > k.bytes[1] * 3 && k.bytes[1] > k.bytes[0] * 3, "each about four times the one below");
    ic_source_free(s);

    /* An rtpdump file (rtptools' format) of three RTP packets 0, 40 and 80 ms in. */
    char path[] = "/tmp/test_client_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "wb");
    fputs("#!rtpplay1.0 127.0.0.1/5004\n", f);
    uint8_t hdr[16] = {0};
    fwrite(hdr, 1, sizeof(hdr), f);
    for (int i = 0; i < 3; i++) {
        uint8_t rec[8 + 12 + 100] = {0};
        rec[1] = sizeof(rec), rec[3] = 12 + 100;          /* record length, RTP length */
        rec[7] = (uint8_t)(40 * i);                       /* ms since the start */
        rec[8] = 0x80, rec[9] = (uint8_t)(0x80 | 100);    /* V=2, M, PT 100 */
        rec[11] = (uint8_t)i, rec[15] = (uint8_t)(i * 3); /* seq, timestamp */
        memset(rec + 20, 0x40 + i, 100);
        fwrite(rec, 1, sizeof(rec), f);
    }
    fclose(f);
    ic_publish_opts_t d = {.video = true, .rtpdump_video = path};
    s = ic_source_new(&d, 0, &why);
    ok(s != NULL, "an rtpdump file loads");
    memset(&k, 0, sizeof(k));
    if (s != NULL) {
        ic_source_run(s, 50000, sink, &k);
        is_int(k.packets[0], 2, "its packets come at their recorded times (2 by 50 ms)");
        ic_source_run(s, 130000, sink, &k);
        ok(k.packets[0] >= 4 && k.bytes[0] == k.packets[0] * 100, "then the rest, and the file loops (%llu)",
           (unsigned long long)k.packets[0]);
        ic_source_free(s);
    }
    unlink(path);

    o.rtpdump_video = "/nonexistent.rtpdump";
    why = NULL;
    s = ic_source_new(&o, 0, &why);
    ok(s == NULL && why != NULL, "a missing rtpdump file is refused");
}

/* ---- encoded frames: the owner's encoder output packetized ---- */

typedef struct {
    uint8_t data[8192];
    size_t len;
    unsigned packets, starts, markers, audio;
    uint32_t ts[2];
    uint16_t pid[4];
    unsigned frames;
} cut_t;

static void cut_sink(void *user, int layer, uint32_t ts, bool marker, const uint8_t *p, size_t len)
{
    cut_t *c = user;
    if (layer < 0) {
        c->audio++;
        c->ts[0] = ts;
        return;
    }
    c->packets++;
    c->ts[1] = ts;
    ok(len <= IC_MAX_PAYLOAD && len > 4 && (p[0] & 0x80) && p[1] == 0x80 && (p[2] & 0x80),
       "packet %u: X, I and a 15-bit picture id (%zu bytes)", c->packets, len);
    if (p[0] & 0x10) {
        c->starts++;
        if (c->frames < 4)
            c->pid[c->frames++] = (uint16_t)((p[2] & 0x7f) << 8 | p[3]);
    }
    c->markers += marker;
    if (c->len + len - 4 <= sizeof(c->data)) {
        memcpy(c->data + c->len, p + 4, len - 4);
        c->len += len - 4;
    }
}

/* A VP8 keyframe's first bytes (RFC 6386 §9.1) for w x h, then filler. */
static void fake_vp8_key(uint8_t *f, size_t n, unsigned w, unsigned h)
{
    for (size_t i = 0; i < n; i++)
        f[i] = (uint8_t)(i * 7);
    f[0] = 0x10, f[1] = f[2] = 0;
    f[3] = 0x9d, f[4] = 0x01, f[5] = 0x2a;
    f[6] = (uint8_t)w, f[7] = (uint8_t)(w >> 8), f[8] = (uint8_t)h, f[9] = (uint8_t)(h >> 8);
}

static void test_encoded_frames(void)
{
    ic_publish_opts_t o = {.audio = true, .video = true, .encoded_frames = true, .simulcast = 3};
    const char *why;
    ic_source_t *s = ic_source_new(&o, 0, &why);
    is_int(ic_source_layers(s), 1, "encoded frames: one encoding, whatever simulcast says");
    cut_t c = {0};
    for (uint64_t t = 0; t < 1000000; t += 5000)
        ic_source_run(s, t, cut_sink, &c);
    ok(c.packets == 0 && c.audio == 0, "nothing is generated");
    uint8_t frame[3000];
    fake_vp8_key(frame, sizeof(frame), 320, 240);
    is_int(ic_source_send_frame(s, true, 1000000, frame, sizeof(frame), cut_sink, &c), IRTC_OK, "a 3000-byte frame");
    ok(c.packets == 3 && c.starts == 1 && c.markers == 1, "in three packets, S on the first, marker on the last");
    ok(c.len == sizeof(frame) && memcmp(c.data, frame, sizeof(frame)) == 0, "carrying the frame byte for byte");
    uint32_t ts0 = c.ts[1];
    frame[0] = 0x11; /* a delta frame */
    ic_source_send_frame(s, true, 1000000 + 66666, frame, 500, cut_sink, &c);
    is_int(c.packets, 4, "a small frame is one packet");
    is_int((uint32_t)(c.ts[1] - ts0), 5999, "its timestamp 66.666 ms later at 90 kHz");
    is_int(c.pid[1], (c.pid[0] + 1) & 0x7fff, "the picture id counts frames");
    uint8_t opus[60] = {0xfc};
    is_int(ic_source_send_frame(s, false, 5000, opus, sizeof(opus), cut_sink, &c), IRTC_OK, "an Opus packet");
    uint32_t a0 = c.ts[0];
    ic_source_send_frame(s, false, 25000, opus, sizeof(opus), cut_sink, &c);
    ok(c.audio == 2 && c.ts[0] - a0 == 960, "one packet per frame, 960 ticks per 20 ms");
    is_int(ic_source_send_frame(s, false, 0, opus, IC_MAX_PAYLOAD + 1, cut_sink, &c), IRTC_EINVAL,
           "an Opus packet over the payload size is refused");
    is_int(ic_source_send_frame(s, true, 0, frame, 0, cut_sink, &c), IRTC_EINVAL, "an empty frame is refused");
    ic_source_free(s);
    o.encoded_frames = false;
    s = ic_source_new(&o, 0, &why);
    is_int(ic_source_send_frame(s, true, 0, frame, 100, cut_sink, &c), IRTC_EINVAL,
           "a synthetic publication takes no encoded frame");
    ic_source_free(s);
}

/* An H.264 access unit: SPS (type 7), PPS (8), a 3000-byte IDR slice (5). */
static size_t fake_h264_idr(uint8_t *au)
{
    size_t n = 0;
    static const uint8_t sc[4] = {0, 0, 0, 1};
    memcpy(au + n, sc, 4), n += 4;
    au[n++] = 0x67;
    for (int i = 0; i < 15; i++)
        au[n++] = (uint8_t)(0x42 + i);
    memcpy(au + n, sc, 4), n += 4;
    au[n++] = 0x68, au[n++] = 0xce, au[n++] = 0x3c, au[n++] = 0x80;
    memcpy(au + n, sc, 4), n += 4;
    au[n++] = 0x65;
    for (int i = 0; i < 2999; i++)
        au[n++] = (uint8_t)(i % 251 + 1); /* no zero: no start-code emulation */
    return n;
}

typedef struct {
    uint8_t type[8];
    bool marker[8];
    unsigned n;
} h264_cut_t;

static void h264_sink(void *user, int layer, uint32_t ts, bool marker, const uint8_t *p, size_t len)
{
    (void)ts, (void)layer;
    h264_cut_t *c = user;
    ok(len <= IC_MAX_PAYLOAD, "H.264 packet %u fits (%zu bytes)", c->n + 1, len);
    if (c->n < 8) {
        c->type[c->n] = p[0] & 0x1f;
        c->marker[c->n++] = marker;
    }
}

static void test_h264_packetizer(void)
{
    ic_publish_opts_t o = {.video = true, .encoded_frames = true, .h264 = true};
    const char *why;
    ic_source_t *s = ic_source_new(&o, 0, &why);
    uint8_t au[4096];
    size_t n = fake_h264_idr(au);
    h264_cut_t c = {0};
    is_int(ic_source_send_frame(s, true, 0, au, n, h264_sink, &c), IRTC_OK, "an H.264 access unit");
    ok(c.n == 4 && c.type[0] == 24 && c.type[1] == 28 && c.type[3] == 28, "STAP-A (SPS + PPS), then three FU-A");
    ok(!c.marker[0] && !c.marker[2] && c.marker[3], "the marker on the last packet only");
    uint8_t junk[16] = {1, 2, 3};
    is_int(ic_source_send_frame(s, true, 0, junk, sizeof(junk), h264_sink, &c), IRTC_EINVAL,
           "bytes without a start code are refused");
    ic_source_free(s);

    buf_t b;
    buf_init(&b);
    ic_offer_t off;
    offer_defaults(&off);
    off.video = off.send = off.h264 = true;
    off.n_layers = 1;
    off.video_ssrc[0] = 5;
    ic_offer_write(&b, &off);
    ok(strstr(b.base, "m=video 9 UDP/TLS/RTP/SAVPF 102 103") && strstr(b.base, "packetization-mode=1") &&
           !strstr(b.base, "VP8"),
       "an H.264 sender offers H.264 only");
    buf_dispose(&b);
    buf_init(&b);
    off.send = off.h264 = false;
    ic_offer_write(&b, &off);
    ok(strstr(b.base, "SAVPF 96 97 102 103") && strstr(b.base, "H264/90000"), "a receiver offers VP8 and H.264");
    buf_dispose(&b);
}

/* ---- two transports back to back ---- */

typedef struct {
    int connected, failed, first, keyframe_requests;
    int big_frames, audio_frames, key_w, key_h;
    int h264_frames, h264_keys;
} tstate_t;

static void t_connected(void *u)
{
    ((tstate_t *)u)->connected = 1;
}
static void t_failed(void *u, const char *why)
{
    ((tstate_t *)u)->failed = 1;
    printf("# transport failed: %s\n", why);
}
static void t_first(void *u)
{
    ((tstate_t *)u)->first = 1;
}
static void t_keyframe(void *u)
{
    ((tstate_t *)u)->keyframe_requests++;
}
static uint8_t big_frame[5000];
static uint8_t h264_au[4096];
static size_t h264_au_len;
static void t_frame(void *u, ic_frame_t *f)
{
    tstate_t *st = u;
    if (f->h264) {
        st->h264_frames += f->bytes == h264_au_len && memcmp(f->data, h264_au, h264_au_len) == 0;
        st->h264_keys += f->keyframe;
        return;
    }
    if (f->video && f->bytes == sizeof(big_frame) && memcmp(f->data, big_frame, sizeof(big_frame)) == 0) {
        st->big_frames++;
        st->key_w = f->keyframe ? f->width : 0;
        st->key_h = f->height;
    } else if (!f->video && f->bytes == 61 && f->data[0] == 0xfc && f->data[60] == 0x5a) {
        st->audio_frames++;
    }
}
static const ic_transport_callbacks_t tcb = {t_connected, t_failed, t_first, t_keyframe, t_frame};

typedef struct {
    ic_transport_t *t;
    int ta, tv;
} pair_out_t;
static void pair_emit(void *user, int layer, uint32_t ts, bool marker, const uint8_t *p, size_t len)
{
    pair_out_t *o = user;
    ic_transport_send_media(o->t, (unsigned)(layer < 0 ? o->ta : o->tv), ts, marker, p, len);
}

/* The description `peer` would have written for transport t. */
static void describe(ic_loop_t *l, ic_transport_t *t, ic_setup_t setup, ic_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->ufrag, sizeof(a->ufrag), "%s", ic_transport_ufrag(t));
    snprintf(a->pwd, sizeof(a->pwd), "%s", ic_transport_pwd(t));
    snprintf(a->fp_alg, sizeof(a->fp_alg), "sha-256");
    snprintf(a->fp, sizeof(a->fp), "%s", ic_loop_fingerprint(l));
    a->setup = setup;
    a->n_cand = 1;
    ic_transport_local(t, a->cand[0].ip, &a->cand[0].port);
    ic_answer_media_t m = {.present = true,
                           .pt = 0,
                           .rtx_pt = -1,
                           .ext_mid = IC_EXT_MID,
                           .ext_twcc = IC_EXT_TWCC,
                           .nack = true,
                           .pli = true};
    a->audio = m;
    a->audio.pt = IC_PT_OPUS;
    snprintf(a->audio.mid, sizeof(a->audio.mid), "0");
    a->video = m;
    a->video.pt = IC_PT_VP8;
    snprintf(a->video.mid, sizeof(a->video.mid), "1");
}

static bool run_until(ic_loop_t *l, const int *a, const int *b, unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    while ((!*a || (b && !*b)) && clock_mono_ms() < end)
        ic_loop_run(l, 5);
    return *a && (!b || *b);
}

/* b receives a's H.264 (the answer chose it): access units come out as sent. */
static void test_h264_pair(void)
{
    char err[256];
    ic_loop_t *l = ic_loop_new(NULL, err, sizeof(err));
    tstate_t sa = {0}, sb = {0};
    ic_transport_t *a = ic_transport_new(l, "127.0.0.1", 1, &tcb, &sa);
    ic_transport_t *b = ic_transport_new(l, "127.0.0.1", 1, &tcb, &sb);
    int tv = ic_transport_add_send(a, true, 0xC0C0C0C0, NULL);
    ic_answer_t da, db;
    describe(l, b, IC_SETUP_PASSIVE, &db);
    describe(l, a, IC_SETUP_ACTIVE, &da);
    db.video.pt = da.video.pt = IC_PT_H264;
    snprintf(db.video.codec, sizeof(db.video.codec), "H264");
    snprintf(da.video.codec, sizeof(da.video.codec), "H264");
    ic_transport_start(a, &db, true);
    ic_transport_start(b, &da, false);
    ok(run_until(l, &sa.connected, &sb.connected, 5000), "H.264 pair connected");
    h264_au_len = fake_h264_idr(h264_au);
    ic_publish_opts_t o = {.video = true, .encoded_frames = true, .h264 = true};
    const char *why;
    ic_source_t *src = ic_source_new(&o, 0, &why);
    pair_out_t po = {a, -1, tv};
    for (int i = 0; i < 3; i++) {
        ic_source_send_frame(src, true, (uint64_t)i * 33333, h264_au, h264_au_len, pair_emit, &po);
        ic_loop_run(l, 0);
    }
    uint64_t end = clock_mono_ms() + 1000;
    while (sb.h264_frames < 3 && clock_mono_ms() < end)
        ic_loop_run(l, 5);
    is_int(sb.h264_frames, 3, "three H.264 access units arrive as the same Annex B bytes");
    is_int(sb.h264_keys, 3, "flagged as keyframes (IDR)");
    ic_source_free(src);
    ic_transport_free(b);
    ic_transport_free(a);
    ic_loop_run(l, 0);
    ic_loop_free(l);
}

static void test_transport_pair(const char *profiles, int want_profile)
{
    char err[256];
    ic_loop_t *l = ic_loop_new(profiles, err, sizeof(err));
    if (!ok(l != NULL, "loop (%s)", profiles))
        return;
    tstate_t sa = {0}, sb = {0};
    ic_transport_t *a = ic_transport_new(l, "127.0.0.1", 1, &tcb, &sa);
    ic_transport_t *b = ic_transport_new(l, "127.0.0.1", 1, &tcb, &sb);
    ok(a && b, "two transports on 127.0.0.1");
    int ta = ic_transport_add_send(a, false, 0xA0A0A0A0, NULL), tv = ic_transport_add_send(a, true, 0xB0B0B0B0, NULL);
    ok(ta == 0 && tv == 1, "a sends audio and video");
    ic_answer_t da, db;
    describe(l, b, IC_SETUP_PASSIVE, &db); /* b answered passive: a is the DTLS client */
    describe(l, a, IC_SETUP_ACTIVE, &da);
    is_int(ic_transport_start(a, &db, true), IRTC_OK, "a starts, controlling");
    is_int(ic_transport_start(b, &da, false), IRTC_OK, "b starts, controlled");
    ok(run_until(l, &sa.connected, &sb.connected, 5000) && !sa.failed && !sb.failed,
       "ICE and DTLS complete on both sides");
    is_int(ic_transport_srtp_profile(a), want_profile, "the SRTP profile offered is used");
    uint8_t payload[1000];
    memset(payload, 0x11, sizeof(payload));
    payload[0] = 0x90;
    for (int i = 0; i < 200; i++) {
        ic_transport_send_media(a, (unsigned)tv, 3000u * (unsigned)i, true, payload, sizeof(payload));
        if (i % 4 == 0)
            ic_transport_send_media(a, (unsigned)ta, 960u * (unsigned)i, false, payload, 80);
        ic_loop_run(l, 0);
    }
    ok(run_until(l, &sb.first, NULL, 2000), "b receives RTP");
    uint64_t end = clock_mono_ms() + 1500; /* RR and transport-cc feedback are periodic */
    while (clock_mono_ms() < end)
        ic_loop_run(l, 5);
    ic_recv_stats_t rx = {0};
    ic_send_stats_t tx = {0};
    ic_transport_add_stats(b, &rx, NULL);
    ic_transport_add_stats(a, NULL, &tx);
    is_int(rx.packets, 250, "every packet arrived and was counted");
    is_int(rx.srtp_failed, 0, "none failed SRTP");
    is_int(rx.lost, 0, "no sequence gap");
    ok(rx.twcc_sent > 0, "b sends transport-cc feedback (%llu)", (unsigned long long)rx.twcc_sent);
    is_int(tx.packets, 250, "a counted what it sent");
    ok(sa.keyframe_requests == 0, "no keyframe request yet");

    ic_publish_opts_t eo = {.audio = true, .video = true, .encoded_frames = true};
    const char *why;
    ic_source_t *src = ic_source_new(&eo, 0, &why);
    pair_out_t po = {a, ta, tv};
    fake_vp8_key(big_frame, sizeof(big_frame), 640, 360);
    uint8_t opus[61];
    memset(opus, 0x5a, sizeof(opus));
    opus[0] = 0xfc;
    for (int i = 0; i < 3; i++) {
        ic_source_send_frame(src, true, (uint64_t)i * 33333, big_frame, sizeof(big_frame), pair_emit, &po);
        ic_source_send_frame(src, false, (uint64_t)i * 20000, opus, sizeof(opus), pair_emit, &po);
        ic_loop_run(l, 0);
    }
    end = clock_mono_ms() + 1000;
    while ((sb.big_frames < 3 || sb.audio_frames < 3) && clock_mono_ms() < end)
        ic_loop_run(l, 5);
    is_int(sb.big_frames, 3, "three encoded 5000-byte VP8 frames arrive whole, byte for byte");
    ok(sb.key_w == 640 && sb.key_h == 360, "as keyframes of 640x360 (%dx%d)", sb.key_w, sb.key_h);
    is_int(sb.audio_frames, 3, "and the Opus packets");
    ic_source_free(src);
    ic_transport_free(b);
    ic_transport_free(a);
    ic_loop_run(l, 0);
    ic_loop_free(l);
}

/* ---- the paced sender ---- */

static struct {
    unsigned n;
    uint64_t at[256];
    uint32_t ts[256];
} paced_out;
static uint64_t pace_now;

static void pace_sink(void *ctx, unsigned track, uint32_t ts, bool marker, const uint8_t *payload, size_t len)
{
    (void)ctx, (void)track, (void)marker, (void)payload, (void)len;
    if (paced_out.n < 256) {
        paced_out.at[paced_out.n] = pace_now;
        paced_out.ts[paced_out.n] = ts;
    }
    paced_out.n++;
}

static void test_pace(void)
{
    ic_publish_opts_t o = {.video = true, .audio = true, .video_bitrate_bps = 2500000};
    ic_publish_opts_t burst = o, encoded = o;
    burst.unpaced = true;
    encoded.encoded_frames = true;
    ok(ic_pace_new(&burst, 1, 0) == NULL && ic_pace_new(&encoded, 1, 0) == NULL,
       "no pacer for an unpaced publication or the owner's encoded frames");
    ic_pace_t *p = ic_pace_new(&o, 1, 0);
    uint8_t pkt[IC_MAX_PAYLOAD] = {0};
    /* An 11-packet frame (12 KB) made at 33 ms, after an idle while: at 2.5 x
     * 2.5 Mbps (781 bytes/ms) with 5 ms of credit, 4 packets leave at once,
     * the rest over the next ticks. */
    pace_now = 33000;
    for (unsigned i = 0; i < 11; i++)
        ic_pace_video(p, 1, 7, i == 10, pkt, 1100, pace_now, pace_sink, NULL);
    unsigned at_once = paced_out.n;
    for (pace_now = 38000; pace_now <= 53000; pace_now += 5000)
        ic_pace_run(p, pace_now, pace_sink, NULL);
    ok(at_once == 4, "a frame after an idle while: one tick's credit leaves at once (%u packets)", at_once);
    ok(paced_out.n == 11 && paced_out.at[10] >= 43000 && paced_out.at[10] <= 53000,
       "the rest within 10-20 ms, not as one burst (last at %llu us)", (unsigned long long)paced_out.at[10]);
    /* A full queue sends its oldest at once rather than drop. */
    paced_out.n = 0;
    pace_now = 60000;
    for (unsigned i = 0; i < IC_PACE_QUEUE + 20; i++)
        ic_pace_video(p, 1, i, false, pkt, 1100, pace_now, pace_sink, NULL);
    ok(paced_out.n >= 20 && paced_out.ts[0] == 0 && paced_out.ts[paced_out.n - 1] == paced_out.n - 1,
       "past %d queued packets the oldest leave at once, in order (%u sent)", IC_PACE_QUEUE, paced_out.n);
    ic_pace_free(p);
}

int main(void)
{
    test_pace();
    test_offers();
    test_source();
    test_encoded_frames();
    test_h264_packetizer();
    test_transport_pair("SRTP_AEAD_AES_128_GCM", SEC_PROFILE_AEAD_AES_128_GCM);
    test_transport_pair("SRTP_AES128_CM_SHA1_80", SEC_PROFILE_AES128_CM_SHA1_80);
    test_h264_pair();
    return done_testing();
}
