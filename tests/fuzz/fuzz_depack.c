/*
 * fuzz_depack.c — libFuzzer target for record/rec_depack: RTP packets a
 * publisher sends, as the recorder reassembles them into frames for every
 * codec it records (VP8, VP9, H.264, Opus).  The input is a list of packets
 * (2-byte length, then the bytes) with small arrival steps; frames handed
 * out must lie inside the depacketizer's buffer (ASan checks the reads) and
 * the counters must add up.  Codec ids are walked rather than named, so the
 * target follows rec_depack_new's list.  Single-threaded; a failed check
 * aborts.
 */
#include "record/rec_depack.h"
#include "core/common.h"
#include "media/codecs/vp8.h"
#include "media/codecs/vp9.h"
#include "fuzz/fuzz.h"

#include <string.h>

static void drain(rec_depack_t *d, uint64_t now_us, uint64_t *frames)
{
    rec_frame_t f;
    for (int guard = 0; guard < 100000; guard++) {
        int rc = rec_depack_next(d, now_us, &f);
        if (rc == 0)
            return;
        CHECK(rc == 1 && f.len > 0 && f.data != NULL);
        /* Touch every byte: ASan sees a frame that points outside its buffer. */
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < f.len; i++)
            sum ^= f.data[i];
        (void)sum;
        (*frames)++;
    }
    CHECK(!"rec_depack_next never ran dry");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int codec = 0; codec < 32; codec++) {
        rec_depack_t *d = rec_depack_new(codec, 0);
        if (d == NULL)
            continue;
        fuzz_in_t in = fuzz_in(data, size);
        uint64_t now_us = 1000000, frames = 0;
        const uint8_t *p;
        size_t n;
        while (fuzz_piece(&in, &p, &n)) {
            /* An exact-size copy, as the ring hands packets over. */
            uint8_t *pkt = (uint8_t *)fuzz_dup(p, n, false);
            now_us += 1000 + (n & 0xFF) * 100;
            int rc = rec_depack_push(d, pkt, n, now_us);
            CHECK(rc == 0 || rc == IRTC_EINVAL);
            free(pkt);
            drain(d, now_us, &frames);
            (void)rec_depack_want_keyframe(d);
            const uint8_t *params;
            size_t plen = rec_depack_h264_params(d, &params);
            if (plen > 0)
                CHECK(params[0] == 0 && params[1] == 0);
        }
        drain(d, UINT64_MAX, &frames);
        const rec_depack_stats_t *st = rec_depack_stats(d);
        CHECK(st->frames == frames);
        rec_depack_free(d);
    }
    /* The descriptors alone. */
    vp8_desc_t v8;
    CHECK(vp8_parse(data, size, &v8) != 0 || (v8.header_len >= 1 && v8.header_len < size));
    vp9_desc_t v9;
    CHECK(vp9_parse(data, size, &v9) != 0 || (v9.header_len >= 1 && v9.header_len < size));
    return 0;
}
