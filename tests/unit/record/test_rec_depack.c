/*
 * test_rec_depack.c — record/rec_depack on hand-made RTP: VP8, VP9, H.264
 * and Opus payload formats, reordering, loss (partial frames dropped, video
 * waiting for a keyframe and asking for one once), SSRC changes, padding
 * packets, duplicates and truncated descriptors.
 */
#include "record/rec_depack.h"
#include "media/codecs/vp8.h"
#include "media/codecs/vp9.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "media/codecs/codec.h"
#include "unit/tap.h"

#define SSRC 0x11223344u

static size_t mkpkt(uint8_t *b, uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker, const uint8_t *pl, size_t n)
{
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | 96);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[4] = (uint8_t)(ts >> 24);
    b[5] = (uint8_t)(ts >> 16);
    b[6] = (uint8_t)(ts >> 8);
    b[7] = (uint8_t)ts;
    b[8] = (uint8_t)(ssrc >> 24);
    b[9] = (uint8_t)(ssrc >> 16);
    b[10] = (uint8_t)(ssrc >> 8);
    b[11] = (uint8_t)ssrc;
    memcpy(b + 12, pl, n);
    return 12 + n;
}

static void push(rec_depack_t *d, uint16_t seq, uint32_t ts, bool marker, const uint8_t *pl, size_t n, uint64_t at)
{
    uint8_t b[1600];
    rec_depack_push(d, b, mkpkt(b, seq, ts, SSRC, marker, pl, n), at);
}

/* VP8: descriptor byte (S, PID 0), then payload; a start carries a frame
 * tag (bit 0 = P, show_frame) whose first partition size is 0 */
static size_t vp8(uint8_t *out, bool start, bool key, uint8_t fill, size_t n)
{
    out[0] = start ? 0x10 : 0x00;
    memset(out + 1, fill, n);
    if (start) {
        out[1] = key ? 0x10 : 0x11;
        out[2] = out[3] = 0;
    }
    return n + 1;
}

static void test_vp8(void)
{
    rec_depack_t *d = rec_depack_new(CODEC_VP8, 0);
    rec_frame_t f;
    uint8_t pl[64];
    /* a keyframe with its header: 640x360 */
    uint8_t key[] = {0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xaa, 0xbb};
    push(d, 100, 1000, true, key, sizeof(key), 1000);
    is_int(rec_depack_next(d, 1000, &f), 1, "vp8: single-packet keyframe");
    ok(f.keyframe && f.discont, "vp8: keyframe, first frame is a discontinuity");
    is_int(f.width, 640, "vp8: width from the keyframe header");
    is_int(f.height, 360, "vp8: height");
    is_int(f.len, sizeof(key) - 1, "vp8: descriptor stripped");
    ok(memcmp(f.data, key + 1, f.len) == 0, "vp8: payload kept");
    is_int(rec_depack_next(d, 1000, &f), 0, "vp8: nothing more");

    /* three packets out of order, with an extended descriptor on the first */
    uint8_t p1[] = {0x90, 0x80, 0x81, 0x23, 0x11, 1, 2};
    uint8_t p2[] = {0x00, 3, 4};
    uint8_t p3[] = {0x00, 5};
    push(d, 102, 4000, false, p2, sizeof(p2), 2001);
    push(d, 101, 4000, false, p1, sizeof(p1), 2002);
    is_int(rec_depack_next(d, 2002, &f), 0, "vp8: no frame before its marker");
    push(d, 103, 4000, true, p3, sizeof(p3), 2003);
    is_int(rec_depack_next(d, 2003, &f), 1, "vp8: reordered frame assembled");
    uint8_t want[] = {0x11, 1, 2, 3, 4, 5};
    ok(f.len == sizeof(want) && memcmp(f.data, want, sizeof(want)) == 0,
       "vp8: 15-bit picture id skipped, order restored");
    ok(!f.keyframe && !f.discont, "vp8: delta frame");

    /* loss inside a frame: dropped once given up on, then keyframes only */
    push(d, 104, 7000, false, pl, vp8(pl, true, false, 7, 10), 3000);
    push(d, 106, 7000, true, pl, vp8(pl, false, false, 7, 10), 3001);
    is_int(rec_depack_next(d, 3001, &f), 0, "vp8: waits for the missing packet");
    ok(!rec_depack_want_keyframe(d), "vp8: no keyframe request while waiting");
    is_int(rec_depack_next(d, 3001 + 100000, &f), 0, "vp8: partial frame dropped after the wait");
    ok(rec_depack_want_keyframe(d), "vp8: keyframe wanted after loss");
    ok(!rec_depack_want_keyframe(d), "vp8: asked only once");
    ok(rec_depack_waiting_keyframe(d), "vp8: waiting for a keyframe");
    push(d, 107, 10000, true, pl, vp8(pl, true, false, 8, 10), 200000);
    is_int(rec_depack_next(d, 200000, &f), 0, "vp8: delta frame skipped while waiting");
    push(d, 108, 13000, true, pl, vp8(pl, true, true, 9, 10), 200100);
    is_int(rec_depack_next(d, 200100, &f), 1, "vp8: keyframe ends the wait");
    ok(f.keyframe, "vp8: it is the keyframe");
    push(d, 105, 7000, false, pl, vp8(pl, false, false, 7, 10), 200200);
    is_int(rec_depack_stats(d)->late, 1, "vp8: a packet after its slot was given up on is late");
    is_int(rec_depack_stats(d)->lost, 1, "vp8: one sequence number lost");

    /* padding-only packets take sequence numbers without breaking frames */
    push(d, 109, 16000, false, pl, vp8(pl, true, false, 1, 10), 300000);
    push(d, 110, 13000, false, pl, 0, 300001);
    push(d, 111, 16000, true, pl, vp8(pl, false, false, 2, 10), 300002);
    is_int(rec_depack_next(d, 300002, &f), 1, "vp8: frame across a padding packet");
    is_int(f.len, 20, "vp8: padding adds nothing");

    /* duplicates */
    push(d, 112, 19000, true, pl, vp8(pl, true, false, 3, 4), 300100);
    push(d, 112, 19000, true, pl, vp8(pl, true, false, 3, 4), 300101);
    is_int(rec_depack_next(d, 300101, &f), 1, "vp8: duplicate: one frame");
    is_int(rec_depack_next(d, 300101, &f), 0, "vp8: only one");
    is_int(rec_depack_stats(d)->late, 2, "vp8: duplicate counted");

    /* a frame whose marker never comes ends when the timestamp changes */
    push(d, 113, 22000, false, pl, vp8(pl, true, false, 4, 4), 300200);
    push(d, 114, 25000, true, pl, vp8(pl, true, false, 5, 4), 300201);
    is_int(rec_depack_next(d, 300201, &f), 1, "vp8: frame ended by a new timestamp");
    is_int(f.rtp_ts, 22000, "vp8: the older frame first");
    is_int(rec_depack_next(d, 300201, &f), 1, "vp8: then the next");
    is_int(f.rtp_ts, 25000, "vp8: the newer frame");

    /* a new SSRC restarts: discontinuity, wait for a keyframe */
    uint8_t b[64];
    size_t n = mkpkt(b, 5000, 90, SSRC + 1, true, pl, vp8(pl, true, false, 6, 4));
    rec_depack_push(d, b, n, 400000);
    is_int(rec_depack_next(d, 400000, &f), 0, "vp8: new SSRC starts on a keyframe");
    n = mkpkt(b, 5001, 3090, SSRC + 1, true, pl, vp8(pl, true, true, 6, 4));
    rec_depack_push(d, b, n, 400100);
    is_int(rec_depack_next(d, 400100, &f), 1, "vp8: keyframe of the new SSRC");
    ok(f.discont && f.ssrc == SSRC + 1, "vp8: flagged as a discontinuity");
    is_int(rec_depack_stats(d)->resets, 1, "vp8: one reset");

    /* flushing at the end hands out a marker-less last frame */
    n = mkpkt(b, 5002, 6090, SSRC + 1, false, pl, vp8(pl, true, false, 6, 4));
    rec_depack_push(d, b, n, 400200);
    is_int(rec_depack_next(d, 400200, &f), 0, "vp8: no marker yet");
    is_int(rec_depack_next(d, UINT64_MAX, &f), 1, "vp8: flush hands it out");

    /* ... unless its first partition is visibly cut short */
    n = mkpkt(b, 5003, 9090, SSRC + 1, true, pl, vp8(pl, true, false, 6, 4));
    rec_depack_push(d, b, n, 400300);
    is_int(rec_depack_next(d, 400300, &f), 1, "vp8: a delta frame");
    n = vp8(pl, true, false, 6, 8);
    pl[2] = 0x20; /* first partition of 0x20 << 3 = 256 bytes, 5 here */
    n = mkpkt(b, 5004, 12090, SSRC + 1, false, pl, n);
    rec_depack_push(d, b, n, 400400);
    is_int(rec_depack_next(d, UINT64_MAX, &f), 0, "vp8: a marker-less frame shorter than its first partition dropped");
    ok(rec_depack_waiting_keyframe(d), "vp8: then waits for a keyframe");
    rec_depack_free(d);

    /* A gap between frames may have held a whole frame: the delta frame after
     * it would refer to it, so only a keyframe may follow. */
    d = rec_depack_new(CODEC_VP8, 0);
    push(d, 1, 0, true, pl, vp8(pl, true, true, 1, 12), 0);
    push(d, 2, 3000, true, pl, vp8(pl, true, false, 2, 12), 1);
    is_int(rec_depack_next(d, 1, &f), 1, "vp8 gap: keyframe");
    is_int(rec_depack_next(d, 1, &f), 1, "vp8 gap: delta frame");
    push(d, 4, 9000, true, pl, vp8(pl, true, false, 4, 12), 2); /* 3 (ts 6000) lost whole */
    is_int(rec_depack_next(d, 2 + 200000, &f), 0, "vp8 gap: the delta frame after a lost frame dropped");
    ok(rec_depack_want_keyframe(d), "vp8 gap: asks for a keyframe");
    push(d, 5, 12000, true, pl, vp8(pl, true, false, 5, 12), 300000);
    is_int(rec_depack_next(d, 300000, &f), 0, "vp8 gap: later delta frames skipped");
    push(d, 7, 18000, true, pl, vp8(pl, true, true, 7, 12), 300001); /* 6 lost too: a keyframe after it is fine */
    is_int(rec_depack_next(d, 300001 + 200000, &f), 1, "vp8 gap: a keyframe after a gap is written");
    ok(f.keyframe && f.rtp_ts == 18000, "vp8 gap: it is that keyframe");
    rec_depack_free(d);

    /* The depacketizer reads descriptors with the forwarder's parser (media/codecs). */
    vp8_desc_t v8;
    uint8_t t1[] = {0x80};
    uint8_t t2[] = {0x80, 0x80, 0x81};
    uint8_t t3[] = {0x90, 0x80, 0x81, 0x23};
    is_int(vp8_parse(t1, sizeof(t1), &v8), -1, "vp8 descriptor: X without its byte");
    is_int(vp8_parse(t2, sizeof(t2), &v8), -1, "vp8 descriptor: picture id runs off");
    is_int(vp8_parse(t3, sizeof(t3), &v8), -1, "vp8 descriptor: no payload");
    ok(rec_depack_new(CODEC_OTHER, 0) == NULL, "unknown codec: no depacketizer");
}

static void test_h264(void)
{
    rec_depack_t *d = rec_depack_new(CODEC_H264, 0);
    rec_frame_t f;
    uint8_t sps[] = {0x67, 0x42, 0xc0, 0x1f, 0xaa};
    uint8_t pps[] = {0x68, 0xce, 0x3c, 0x80};
    uint8_t stap[32], fu[16];
    size_t n = 0;
    stap[n++] = 0x18;
    stap[n++] = 0;
    stap[n++] = sizeof(sps);
    memcpy(stap + n, sps, sizeof(sps));
    n += sizeof(sps);
    stap[n++] = 0;
    stap[n++] = sizeof(pps);
    memcpy(stap + n, pps, sizeof(pps));
    n += sizeof(pps);
    push(d, 1, 900, false, stap, n, 10);
    uint8_t fa[] = {0x7c, 0x85, 1, 2, 3}; /* FU indicator NRI 3, FU header S + type 5 */
    uint8_t fb[] = {0x7c, 0x05, 4, 5};
    uint8_t fc[] = {0x7c, 0x45, 6};
    push(d, 2, 900, false, fa, sizeof(fa), 11);
    push(d, 4, 900, true, fc, sizeof(fc), 12);
    push(d, 3, 900, false, fb, sizeof(fb), 13);
    is_int(rec_depack_next(d, 13, &f), 1, "h264: STAP-A + FU-A keyframe");
    uint8_t want[] = {0,    0,    0,    1, 0x67, 0x42, 0xc0, 0x1f, 0xaa, 0, 0, 0, 1, 0x68,
                      0xce, 0x3c, 0x80, 0, 0,    0,    1,    0x65, 1,    2, 3, 4, 5, 6};
    ok(f.len == sizeof(want) && memcmp(f.data, want, sizeof(want)) == 0, "h264: Annex-B access unit");
    ok(f.keyframe, "h264: IDR is a keyframe");
    const uint8_t *params;
    is_int(rec_depack_h264_params(d, &params), 17, "h264: SPS and PPS kept");

    uint8_t slice[] = {0x41, 9, 9, 9};
    push(d, 5, 3900, true, slice, sizeof(slice), 20);
    is_int(rec_depack_next(d, 20, &f), 1, "h264: single NAL delta frame");
    ok(!f.keyframe && f.len == 8, "h264: start code + NAL");

    /* IDR alone: the kept parameter sets go in front */
    uint8_t idr[] = {0x65, 7, 7};
    push(d, 6, 6900, true, idr, sizeof(idr), 30);
    is_int(rec_depack_next(d, 30, &f), 1, "h264: IDR without parameter sets");
    ok(f.len == 17 + 7 && memcmp(f.data, params, 17) == 0 && f.data[21] == 0x65, "h264: SPS/PPS prepended");

    /* FU-A whose start was lost */
    push(d, 8, 9900, true, fc, sizeof(fc), 40);
    is_int(rec_depack_next(d, 40 + 200000, &f), 0, "h264: FU-A without its start dropped");
    ok(rec_depack_want_keyframe(d), "h264: asks for a keyframe");
    memcpy(fu, fa, sizeof(fa));
    push(d, 9, 12900, false, fa, sizeof(fa), 300000);
    push(d, 10, 12900, true, fc, sizeof(fc), 300001);
    is_int(rec_depack_next(d, 300001, &f), 1, "h264: next IDR recovers");

    /* a lost middle fragment: the IDR is dropped, and so is what follows
     * until the next IDR */
    push(d, 11, 15900, false, fa, sizeof(fa), 300010);
    push(d, 13, 15900, true, fc, sizeof(fc), 300011); /* 12, fb, lost */
    push(d, 14, 18900, true, slice, sizeof(slice), 300012);
    is_int(rec_depack_next(d, 300012 + 200000, &f), 0, "h264: an IDR with a lost FU-A fragment dropped");
    ok(rec_depack_want_keyframe(d) && rec_depack_stats(d)->lost == 2, "h264: lost counted, keyframe asked for");
    push(d, 15, 21900, false, fa, sizeof(fa), 600000);
    push(d, 16, 21900, false, fb, sizeof(fb), 600001);
    push(d, 17, 21900, true, fc, sizeof(fc), 600002);
    is_int(rec_depack_next(d, 600002, &f), 1, "h264: the next whole IDR is written");
    ok(f.keyframe && f.rtp_ts == 21900, "h264: it is that IDR");

    /* a delta frame after a wholly lost one refers to it: dropped */
    push(d, 19, 27900, true, slice, sizeof(slice), 600100); /* 18 (ts 24900) lost */
    is_int(rec_depack_next(d, 600100 + 200000, &f), 0, "h264: the delta frame after a lost frame dropped");
    ok(rec_depack_want_keyframe(d), "h264: asks for a keyframe");
    push(d, 20, 30900, true, idr, sizeof(idr), 900000);
    is_int(rec_depack_next(d, 900000, &f), 1, "h264: an IDR ends the wait");

    /* the stream ends inside a fragmented NAL: nothing truncated is written */
    push(d, 21, 33900, true, slice, sizeof(slice), 900100);
    is_int(rec_depack_next(d, 900100, &f), 1, "h264: delta frame");
    uint8_t fd[] = {0x5c, 0x81, 1, 2}; /* FU-A start of a non-IDR slice */
    push(d, 22, 36900, false, fd, sizeof(fd), 900200);
    is_int(rec_depack_next(d, UINT64_MAX, &f), 0, "h264: a frame ending in an open FU-A dropped at the flush");

    /* An IDR of two slices (first_mb_in_slice 0, then 40: ue(v) 0000 0101 001)
     * whose first slice went with a gap: the rest would decode as a picture
     * with its top missing.  Dropped, and a keyframe asked for. */
    uint8_t idr_s1[] = {0x65, 0x88, 1, 2}, idr_s2[] = {0x65, 0x05, 0x20, 3};
    uint8_t fu_s2[] = {0x7c, 0x85, 0x05, 0x20, 3}; /* the second slice as an FU-A start */
    push(d, 30, 60900, false, idr_s1, sizeof(idr_s1), 2000000);
    push(d, 31, 60900, true, idr_s2, sizeof(idr_s2), 2000001);
    is_int(rec_depack_next(d, 2000001 + 200000, &f), 1, "h264: a two-slice IDR is written whole");
    ok(f.keyframe && f.len == 17 + 2 * 8, "h264: both slices, behind the kept SPS and PPS");
    push(d, 33, 63900, true, idr_s2, sizeof(idr_s2), 2200100); /* 32, the first slice, lost */
    is_int(rec_depack_next(d, 2200100 + 200000, &f), 0, "h264: an IDR that lost its first slice with a gap dropped");
    ok(rec_depack_want_keyframe(d), "h264: asks for a keyframe");
    uint8_t fu_end[] = {0x7c, 0x45, 4};
    push(d, 35, 66900, false, fu_s2, sizeof(fu_s2), 2500000); /* 34 lost again */
    push(d, 36, 66900, true, fu_end, sizeof(fu_end), 2500001);
    is_int(rec_depack_next(d, 2500001 + 200000, &f), 0, "h264: the same in FU-A fragments dropped");
    push(d, 38, 69900, false, idr_s1, sizeof(idr_s1), 2800000); /* 37 lost: a whole frame before this IDR */
    push(d, 39, 69900, true, idr_s2, sizeof(idr_s2), 2800001);
    is_int(rec_depack_next(d, 2800001 + 200000, &f), 1, "h264: a whole IDR after a gap is written");
    ok(f.keyframe && f.rtp_ts == 69900, "h264: it is that IDR");

    uint8_t mtap[] = {0x1a, 0, 0, 0};
    push(d, 40, 72900, true, mtap, sizeof(mtap), 3100300);
    is_int(rec_depack_next(d, 3100300, &f), 0, "h264: MTAP (interleaved mode) refused");
    ok(rec_depack_stats(d)->malformed >= 1, "h264: counted as malformed");
    uint8_t badstap[] = {0x18, 0, 9, 0x41};
    push(d, 41, 75900, true, badstap, sizeof(badstap), 3100400);
    is_int(rec_depack_next(d, 3100400, &f), 0, "h264: STAP-A size past the end refused");
    rec_depack_free(d);
}

static void test_vp9(void)
{
    vp9_desc_t v;
    /* I (15-bit id), L (non-flexible: + TL0PICIDX), B, E, V: SS with one 1280x720 layer */
    uint8_t ss[] = {0xae, 0x80, 0x05, 0x00, 0x07, 0x10, 0x05, 0x00, 0x02, 0xd0, 0xee};
    ok(vp9_parse(ss, sizeof(ss), &v) == 0 && v.header_len == 10, "vp9: descriptor with SS parsed (10 bytes)");
    ok(v.begin && v.end && v.keyframe && v.has_ss, "vp9: B, E, keyframe, SS");
    is_int(v.width, 1280, "vp9: SS width");
    is_int(v.height, 720, "vp9: SS height");
    uint8_t flex[] = {0xd8, 0x12, 0x03, 0x04, 0xee}; /* I P F B, id 0x12, P_DIFF with N then without */
    ok(vp9_parse(flex, sizeof(flex), &v) == 0 && v.header_len == 4, "vp9: flexible mode reference indices skipped");
    ok(!v.keyframe, "vp9: P set: not a keyframe");
    uint8_t trunc[] = {0x82};
    is_int(vp9_parse(trunc, sizeof(trunc), &v), -1, "vp9: truncated picture id");
    uint8_t ss_trunc[] = {0x02, 0x10, 0x05};
    is_int(vp9_parse(ss_trunc, sizeof(ss_trunc), &v), -1, "vp9: truncated SS");
    /* V, an SS with G and 255 one-byte picture groups, one payload byte: 258 bytes of descriptor */
    uint8_t big[259] = {0x02, 0x08, 0xff};
    big[258] = 0xee;
    ok(vp9_parse(big, sizeof(big), &v) == 0 && v.header_len == 258,
       "vp9: a descriptor longer than 255 bytes keeps its length (%u)", (unsigned)v.header_len);

    rec_depack_t *d = rec_depack_new(CODEC_VP9, 0);
    rec_frame_t f;
    push(d, 1, 100, false, ss, sizeof(ss), 1);
    /* second spatial layer of the same picture: L with SID 1, B and E, not intra-predicted from the past */
    uint8_t l1[] = {0x2c, 0x02, 0x00, 0xa1, 0xa2};
    push(d, 2, 100, true, l1, sizeof(l1), 2);
    is_int(rec_depack_next(d, 2, &f), 1, "vp9: two-layer picture assembled");
    ok(f.keyframe && f.width == 1280, "vp9: keyframe with SS size");
    /* layer sizes 1 and 2: superframe index 0xc1 01 02 0xc1 */
    uint8_t want[] = {0xee, 0xa1, 0xa2, 0xc1, 0x01, 0x02, 0xc1};
    ok(f.len == sizeof(want) && memcmp(f.data, want, sizeof(want)) == 0, "vp9: superframe index appended");
    uint8_t mid[] = {0x40, 0x33}; /* P, neither B nor E: continuation of a picture we never saw start */
    push(d, 3, 200, true, mid, sizeof(mid), 3);
    is_int(rec_depack_next(d, 3, &f), 0, "vp9: picture without its beginning dropped");
    rec_depack_free(d);
}

static void test_opus(void)
{
    rec_depack_t *d = rec_depack_new(CODEC_OPUS, 0);
    rec_frame_t f;
    uint8_t pl[] = {0xfc, 1, 2, 3};
    push(d, 10, 0, true, pl, sizeof(pl), 0);
    push(d, 12, 1920, false, pl, sizeof(pl), 40000);
    is_int(rec_depack_next(d, 40000, &f), 1, "opus: packet is a frame");
    ok(f.keyframe && f.len == 4 && f.rtp_ts == 0, "opus: payload as is");
    is_int(rec_depack_next(d, 40000, &f), 0, "opus: waits for the missing one");
    is_int(rec_depack_next(d, 80001, &f), 1, "opus: gives up after 40 ms, next packet comes");
    is_int(f.rtp_ts, 1920, "opus: the one after the hole");
    ok(!rec_depack_want_keyframe(d) && !rec_depack_waiting_keyframe(d), "opus: loss needs no keyframe");
    is_int(rec_depack_stats(d)->lost, 1, "opus: one lost");
    is_int(rec_depack_push(d, pl, 3, 1), IRTC_EINVAL, "opus: not RTP refused");
    rec_depack_free(d);
}

static void test_burst_gap(void)
{
    /* a sequence jump beyond the buffer is a restart, not a wait for hundreds of packets */
    rec_depack_t *d = rec_depack_new(CODEC_VP8, 0);
    rec_frame_t f;
    uint8_t pl[16];
    push(d, 1, 0, true, pl, vp8(pl, true, true, 1, 4), 0);
    is_int(rec_depack_next(d, 0, &f), 1, "jump: first keyframe");
    push(d, 3001, 90000, true, pl, vp8(pl, true, true, 2, 4), 1000);
    is_int(rec_depack_next(d, 1000, &f), 1, "jump: frame after a big jump comes at once");
    ok(f.discont, "jump: flagged as a discontinuity");
    rec_depack_free(d);
}

int main(void)
{
    test_vp8();
    test_h264();
    test_vp9();
    test_opus();
    test_burst_gap();
    return done_testing();
}
