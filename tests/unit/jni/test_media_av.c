/*
 * test_media_av.c — the desktop engine's FFmpeg media (src/jni/media_av.c)
 * without a network: the test pattern encoded to VP8 and to H.264 at the
 * size asked, a keyframe first and on request, the tone as 20 ms Opus
 * packets; the decoders give back every picture at that size without an
 * error, the tone's level (a -12 dBFS sine: RMS 0.177, about 44 of 255),
 * wait for a keyframe, and count what they refuse.
 */
#include <stdlib.h>
#include <string.h>

#include "jni/media_av.h"
#include "unit/tap.h"

typedef struct {
    unsigned video, audio, keys;
    bool first_key;
    bool h264;
    irtc_av_decoder_t *dec;
    int pictures;
} out_t;

/* A VP8 keyframe has bit 0 of its first byte clear; an H.264 one an IDR (type 5) NAL unit. */
static bool is_key(bool h264, const uint8_t *p, size_t n)
{
    if (!h264)
        return n > 0 && (p[0] & 1) == 0;
    for (size_t i = 0; i + 3 < n; i++)
        if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1 && (p[i + 3] & 0x1f) == 5)
            return true;
    return false;
}

static void collect(void *user, bool video, uint64_t pts_us, const uint8_t *data, size_t len)
{
    (void)pts_us;
    out_t *o = user;
    if (!video) {
        o->audio++;
        irtc_av_decode_audio(o->dec, data, len);
        return;
    }
    bool key = is_key(o->h264, data, len);
    if (o->video++ == 0)
        o->first_key = key;
    o->keys += key;
    int n = irtc_av_decode_video(o->dec, o->h264, key, data, len);
    if (n > 0)
        o->pictures += n;
}

static void codec_round_trip(bool h264)
{
    const char *name = h264 ? "H.264" : "VP8";
    char err[128];
    irtc_av_source_t *s = irtc_av_source_new(h264, 320, 240, 15, 500000, 0, err, sizeof(err));
    if (!ok(s != NULL, "%s source opens (%s)", name, s ? "" : err))
        return;
    out_t o = {.h264 = h264, .dec = irtc_av_decoder_new()};
    for (uint64_t t = 0; t < 2000000; t += 5000) /* 2 s in 5 ms turns, as the engine thread runs it */
        irtc_av_source_run(s, t, true, true, collect, &o);
    ok(o.video >= 29 && o.video <= 31, "%s: 15 frames a second (%u in 2 s)", name, o.video);
    ok(o.first_key && o.keys == 1, "%s: a keyframe first, then none for 3 s (%u)", name, o.keys);
    ok(o.audio >= 99 && o.audio <= 101, "Opus: 50 packets a second (%u in 2 s)", o.audio);
    irtc_av_decoded_t d;
    irtc_av_decoded(o.dec, &d);
    ok(d.video_frames >= o.video - 1 && o.pictures == (int)d.video_frames,
       "%s: every frame decoded (%llu of %u; a decoder may hold one back)", name, (unsigned long long)d.video_frames,
       o.video);
    ok(d.width == 320 && d.height == 240, "%s: at 320x240 (%ux%u)", name, d.width, d.height);
    is_int(d.video_errors + d.audio_errors, 0, "%s: no decode error", name);
    ok(d.audio_frames >= 99 && d.level >= 35 && d.level <= 55, "the tone decoded, level %u (about 44)", d.level);

    irtc_av_source_keyframe(s);
    unsigned keys = o.keys;
    irtc_av_source_run(s, 2000000 + 66667, true, true, collect, &o);
    is_int(o.keys, keys + 1, "%s: a keyframe on request", name);
    irtc_av_source_run(s, 2000000 + 66667 + 5000000, false, false, collect, &o);
    is_int(o.keys, keys + 1, "%s: nothing encoded for kinds off (a stall skipped, not caught up)", name);
    irtc_av_decoder_free(o.dec);
    irtc_av_source_free(s);
}

int main(void)
{
    codec_round_trip(false);
    codec_round_trip(true);

    char err[128];
    ok(irtc_av_source_new(false, 8, 8, 15, 500000, 0, err, sizeof(err)) == NULL && err[0], "8x8 refused (%s)", err);
    ok(irtc_av_source_new(false, 4000, 2000, 15, 500000, 0, err, sizeof(err)) == NULL, "4000x2000 refused");
    irtc_av_source_t *odd = irtc_av_source_new(false, 321, 241, 15, 500000, 0, err, sizeof(err));
    ok(odd != NULL, "321x241 opens (rounded down to even)");
    irtc_av_source_free(odd);

    /* The decoder waits for a keyframe, and counts what it refuses. */
    irtc_av_decoder_t *d = irtc_av_decoder_new();
    uint8_t junk[64];
    memset(junk, 0xa5, sizeof(junk));
    is_int(irtc_av_decode_video(d, false, false, junk, sizeof(junk)), 0, "a delta frame before any keyframe is skipped");
    junk[0] = 0x00; /* a "keyframe" tag without the start code */
    int rc = irtc_av_decode_video(d, false, true, junk, sizeof(junk));
    irtc_av_decoded_t st;
    irtc_av_decoded(d, &st);
    ok(rc < 0 && st.video_errors == 1, "a broken keyframe is refused and counted (rc %d)", rc);
    is_int(irtc_av_decode_audio(d, junk, 0), -1, "an empty Opus packet is refused (not taken as end of stream)");
    irtc_av_decoded(d, &st);
    is_int(st.audio_errors, 1, "and counted");
    irtc_av_decoder_free(d);
    return done_testing();
}
