/*
 * test_codecs.c — src/media/codecs: VP8, VP9 and H.264 payload inspection
 * on hand-built packets and SPS written by libx264; truncations refused.
 */
#include "media/codecs/h264.h"
#include "media/codecs/vp8.h"
#include "media/codecs/vp9.h"
#include "unit/tap.h"

#include <stdlib.h>
#include <string.h>

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2)
        out[n++] = (uint8_t)strtoul((char[3]){s[0], s[1], 0}, NULL, 16);
    return n;
}

static void test_vp8(void)
{
    /* X=1 S=1 PID=0; I L T; 15-bit picture id 0x1234; TL0PICIDX 9; TID 2 Y=1; keyframe header 1280x720 */
    uint8_t kf[] = {0x90, 0xe0, 0x80 | 0x12, 0x34, 0x09, 0xa0, 0x50, 0x42, 0x00,
                    0x9d, 0x01, 0x2a,        0x00, 0x05, 0xd0, 0x02, 0xaa};
    vp8_desc_t d;
    ok(vp8_parse(kf, sizeof(kf), &d) == 0, "vp8: keyframe descriptor parses");
    ok(d.start && d.keyframe, "vp8: start of a keyframe");
    is_int(d.header_len, 6, "vp8: descriptor length");
    ok(d.has_picture_id && d.picture_id_15, "vp8: 15-bit picture id");
    is_int(d.picture_id, 0x1234, "vp8: picture id value");
    ok(d.has_tl0picidx, "vp8: has tl0picidx");
    is_int(d.tl0picidx, 9, "vp8: tl0picidx value");
    ok(d.has_tid && d.layer_sync, "vp8: TID with layer sync");
    is_int(d.tid, 2, "vp8: tid value");
    is_int(d.width, 1280, "vp8: keyframe width");
    is_int(d.height, 720, "vp8: keyframe height");
    is_int(vp8_picture_id_mod(&d), 0x8000, "vp8: 15-bit id space");

    vp8_rewrite(kf, &d, 0x7ffe, 200);
    vp8_desc_t d2;
    ok(vp8_parse(kf, sizeof(kf), &d2) == 0 && d2.picture_id == 0x7ffe && d2.tl0picidx == 200,
       "vp8: rewrite changes picture id and tl0picidx");
    ok(d2.keyframe && d2.width == 1280 && d2.tid == 2, "vp8: rewrite leaves the rest alone");

    /* 7-bit picture id, not a frame start, interframe */
    uint8_t inter[] = {0x80, 0x80, 0x05, 0x01, 0x02};
    ok(vp8_parse(inter, sizeof(inter), &d) == 0 && !d.start && !d.keyframe && !d.picture_id_15 && d.picture_id == 5,
       "vp8: 7-bit picture id on a continuation packet");
    is_int(vp8_picture_id_mod(&d), 0x80, "vp8: 7-bit id space");
    vp8_rewrite(inter, &d, 0x1ff, 0);
    ok(vp8_parse(inter, sizeof(inter), &d) == 0 && d.picture_id == 0x7f, "vp8: a 7-bit id is written modulo 128");
    /* start of a delta frame: P bit 1 */
    uint8_t delta[] = {0x10, 0x01, 0x00, 0x00};
    ok(vp8_parse(delta, sizeof(delta), &d) == 0 && d.start && !d.keyframe && !d.has_picture_id,
       "vp8: no extension, delta frame start");
    /* truncations */
    for (size_t n = 0; n < 7; n++)
        ok(vp8_parse(kf, n, &d) == -1, "vp8: %zu bytes of a 6-byte descriptor refused", n);
    uint8_t only_x[] = {0x80};
    ok(vp8_parse(only_x, 1, &d) == -1, "vp8: X without its byte refused");
}

static void test_vp9(void)
{
    /* I (15-bit 0x0102) L (tid 1 sid 0) non-flexible TL0PICIDX, B=1 E=0, V with SS 1 layer 640x360 */
    uint8_t kf[] = {0x80 | 0x20 | 0x08 | 0x02, 0x81, 0x02, 0x20, 0x07, 0x10, 0x02, 0x80, 0x01, 0x68, 0xff};
    vp9_desc_t d;
    ok(vp9_parse(kf, sizeof(kf), &d) == 0, "vp9: keyframe descriptor parses");
    ok(d.keyframe && d.begin && !d.end && d.has_ss, "vp9: keyframe flags");
    is_int(d.picture_id, 0x0102, "vp9: picture id");
    is_int(d.tid, 1, "vp9: tid");
    is_int(d.width, 640, "vp9: SS width");
    is_int(d.height, 360, "vp9: SS height");
    is_int(d.header_len, 10, "vp9: descriptor length");
    uint8_t inter[] = {0x40 | 0x08, 0x55};
    ok(vp9_parse(inter, sizeof(inter), &d) == 0 && !d.keyframe && d.begin, "vp9: P=1 is not a keyframe");
    for (size_t n = 0; n < sizeof(kf) - 1; n++)
        ok(vp9_parse(kf, n, &d) == -1, "vp9: %zu bytes refused", n);
}

static void test_h264(void)
{
    static const struct {
        const char *hex;
        int w, h;
    } sps[] = {
        {"6742c01fd9005005bb0110000003001000000303c0f1832480", 1280, 720},
        {"6742c01ed900a02ff970110000030001000003003c0f162e48", 640, 360},
        {"6742c00dd901419f9f0110000003001000000303c0f142a480", 320, 180},
        {"6764001facd9405005bb0110000003001000000303c0f1831960", 1280, 720}, /* High profile */
    };
    uint8_t nal[64];
    for (size_t i = 0; i < sizeof(sps) / sizeof(sps[0]); i++) {
        size_t n = unhex(sps[i].hex, nal);
        uint16_t w = 0, h = 0;
        ok(h264_sps_size(nal, n, &w, &h) == 0 && w == sps[i].w && h == sps[i].h, "h264: SPS %zu is %dx%d (got %ux%u)",
           i, sps[i].w, sps[i].h, w, h);
        ok(h264_sps_size(nal, 6, &w, &h) == -1, "h264: a truncated SPS %zu is refused", i);
    }
    /* STAP-A: SPS + PPS + IDR start */
    uint8_t stap[80];
    size_t sn = unhex(sps[0].hex, nal);
    size_t i = 0;
    stap[i++] = 24;
    stap[i++] = 0;
    stap[i++] = (uint8_t)sn;
    memcpy(stap + i, nal, sn);
    i += sn;
    stap[i++] = 0;
    stap[i++] = 2;
    stap[i++] = 0x68;
    stap[i++] = 0xce;
    size_t full = i;
    h264_desc_t d;
    ok(h264_parse(stap, full, &d) == 0 && d.keyframe && d.has_sps && d.width == 1280 && d.height == 720,
       "h264: STAP-A with an SPS is a keyframe and says its size");
    stap[full - 3] = 9; /* a size past the end */
    ok(h264_parse(stap, full, &d) == -1, "h264: STAP-A with a size past the end is refused");
    uint8_t fu_idr_start[] = {0x7c, 0x85, 0x00}, fu_idr_mid[] = {0x7c, 0x05, 0x00}, fu_p[] = {0x7c, 0x81, 0x00};
    ok(h264_parse(fu_idr_start, 3, &d) == 0 && d.start && d.keyframe, "h264: FU-A start of an IDR");
    ok(h264_parse(fu_idr_mid, 3, &d) == 0 && !d.start && !d.keyframe, "h264: FU-A middle is not a start");
    ok(h264_parse(fu_p, 3, &d) == 0 && d.start && !d.keyframe, "h264: FU-A start of a P slice");
    uint8_t single_p[] = {0x41, 0x9a}, single_idr[] = {0x65, 0x88};
    ok(h264_parse(single_p, 2, &d) == 0 && !d.keyframe, "h264: single P slice");
    ok(h264_parse(single_idr, 2, &d) == 0 && d.keyframe, "h264: single IDR slice");
    uint8_t fu_b[] = {29, 0x85}, empty[1];
    ok(h264_parse(fu_b, 2, &d) == -1, "h264: FU-B is refused");
    ok(h264_parse(empty, 0, &d) == -1, "h264: empty payload refused");
    ok(h264_parse(fu_idr_start, 1, &d) == -1, "h264: FU-A without its header refused");
}

int main(void)
{
    test_vp8();
    test_vp9();
    test_h264();
    return done_testing();
}
