/*
 * fuzz_rtp.c — libFuzzer target for media/rtp.  Every input is classified,
 * parsed as RTP and walked as compound RTCP (whatever it classifies as, so
 * both parsers see everything).  Accepted RTP must account for every byte and
 * survive in-place rewriting of each extension element; accepted RTCP
 * sub-packets go through every parser, and those we also build (SR, RR, NACK,
 * REMB, PLI, FIR) are rebuilt and re-parsed to the same meaning.
 * Single-threaded; any failed check aborts.
 * Built and run by `make check-fuzz` (tests/fuzz/local.mk).
 */
#include "media/rtp.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t scratch[65536];

static void fuzz_rtp_packet(const uint8_t *data, size_t size)
{
    rtp_hdr_t h;
    const char *why = NULL;
    if (rtp_parse(data, size, &h, &why) != IRTC_OK) {
        CHECK(why != NULL);
        return;
    }
    CHECK((size_t)h.header_len + h.payload_len + h.padding_len == size);
    CHECK(h.header_len >= RTP_HEADER_LEN + 4 * h.csrc_count);
    CHECK(h.n_ext <= RTP_MAX_EXT);
    CHECK(h.ext_profile == 0 || (size_t)h.ext_off + h.ext_len == h.header_len);
    CHECK(rtp_get_seq(data) == h.seq && rtp_get_ts(data) == h.ts && rtp_get_ssrc(data) == h.ssrc);

    /* Rewriting an element with the value it holds changes nothing; with its
     * complement it changes exactly that element. */
    memcpy(scratch, data, size);
    for (unsigned i = 0; i < h.n_ext; i++) {
        const rtp_ext_t *e = &h.ext[i];
        CHECK(e->off >= h.ext_off && (size_t)e->off + e->len <= (size_t)h.ext_off + h.ext_len);
        uint32_t v;
        if (rtp_ext_read_be(scratch, &h, e->id, &v) != IRTC_OK)
            continue;
        CHECK(rtp_ext_write_be(scratch, &h, e->id, v) == IRTC_OK);
        CHECK(memcmp(scratch, data, size) == 0);
        const rtp_ext_t *first = rtp_ext_find(&h, e->id);
        uint32_t mask = first->len == 4 ? 0xFFFFFFFFu : (1u << (8 * first->len)) - 1;
        CHECK(rtp_ext_write_be(scratch, &h, e->id, ~v & mask) == IRTC_OK);
        for (size_t b = 0; b < size; b++)
            CHECK((scratch[b] != data[b]) == (b >= first->off && b < (size_t)first->off + first->len));
        memcpy(scratch, data, size);
    }
    uint16_t nseq = (uint16_t)~h.seq;
    rtp_set_seq(scratch, nseq);
    rtp_set_ts(scratch, ~h.ts);
    rtp_set_ssrc(scratch, ~h.ssrc);
    rtp_set_pt(scratch, (uint8_t)(h.pt ^ 1));
    rtp_hdr_t h2;
    CHECK(rtp_parse(scratch, size, &h2, NULL) == IRTC_OK);
    CHECK(h2.seq == nseq && h2.ts == ~h.ts && h2.ssrc == ~h.ssrc && h2.pt == (h.pt ^ 1) && h2.marker == h.marker &&
          h2.header_len == h.header_len && h2.n_ext == h.n_ext);
}

static void mark(uint8_t *bits, const uint16_t *seqs, size_t n)
{
    memset(bits, 0, 8192);
    for (size_t i = 0; i < n; i++)
        bits[seqs[i] >> 3] |= (uint8_t)(1u << (seqs[i] & 7));
}

static void fuzz_nack(const rtcp_pkt_t *pkt)
{
    static uint16_t seqs[4096], again[4096];
    static uint8_t a[8192], b[8192];
    size_t n = 0, m = 0;
    int rc = rtcp_nack_expand(pkt, seqs, IRTC_ARRAY_SIZE(seqs), &n);
    if (rc != IRTC_OK)
        return;
    size_t len = rtcp_build_nack(scratch, sizeof(scratch), 1, 2, seqs, n);
    CHECK(len >= 16);
    rtcp_iter_t it;
    rtcp_pkt_t p2;
    rtcp_iter_init(&it, scratch, len);
    CHECK(rtcp_iter_next(&it, &p2, NULL) == 1 && p2.len == len);
    CHECK(rtcp_nack_expand(&p2, again, IRTC_ARRAY_SIZE(again), &m) == IRTC_OK);
    mark(a, seqs, n);
    mark(b, again, m);
    CHECK(memcmp(a, b, sizeof(a)) == 0);
}

static void fuzz_report(const rtcp_pkt_t *pkt)
{
    static rtcp_report_t r, r2;
    if (rtcp_parse_report(pkt, &r) != IRTC_OK)
        return;
    size_t len = r.is_sr ? rtcp_build_sr(scratch, sizeof(scratch), &r)
                         : rtcp_build_rr(scratch, sizeof(scratch), r.ssrc, r.rb, r.rb_count);
    CHECK(len > 0);
    /* Same bytes after the length field, up to the last report block. */
    CHECK(scratch[0] == (pkt->p[0] & ~0x20) && scratch[1] == pkt->p[1]);
    CHECK(memcmp(scratch + 4, pkt->p + 4, len - 4) == 0);
    rtcp_iter_t it;
    rtcp_pkt_t p2;
    rtcp_iter_init(&it, scratch, len);
    CHECK(rtcp_iter_next(&it, &p2, NULL) == 1);
    CHECK(rtcp_parse_report(&p2, &r2) == IRTC_OK && r2.rb_count == r.rb_count);
}

static void fuzz_feedback(const rtcp_pkt_t *pkt)
{
    rtcp_fb_t fb;
    if (rtcp_parse_fb(pkt, &fb) != IRTC_OK)
        return;
    CHECK(fb.fci == pkt->p + 12 && fb.fci_len + 12 <= pkt->len);
    fuzz_nack(pkt);

    uint32_t s, m;
    if (rtcp_parse_pli(pkt, &s, &m) == IRTC_OK)
        CHECK(rtcp_build_pli(scratch, sizeof(scratch), s, m) == 12);

    rtcp_fir_entry_t fir[8];
    size_t n = 0;
    int rc = rtcp_parse_fir(pkt, &s, fir, IRTC_ARRAY_SIZE(fir), &n);
    CHECK(n <= IRTC_ARRAY_SIZE(fir));
    if (rc == IRTC_OK || rc == IRTC_ELIMIT)
        CHECK(n > 0 && rtcp_build_fir(scratch, sizeof(scratch), s, fir[0].ssrc, fir[0].seq_nr) == 20);

    rtcp_remb_t remb, remb2;
    if (rtcp_parse_remb(pkt, &remb) == IRTC_OK && remb.bitrate_bps != UINT64_MAX) {
        size_t kept = IRTC_MIN(remb.n_ssrc, RTCP_MAX_REMB_SSRC);
        size_t len = rtcp_build_remb(scratch, sizeof(scratch), remb.sender_ssrc, remb.bitrate_bps, remb.ssrc, kept);
        rtcp_iter_t it;
        rtcp_pkt_t p2;
        rtcp_iter_init(&it, scratch, len);
        CHECK(rtcp_iter_next(&it, &p2, NULL) == 1);
        CHECK(rtcp_parse_remb(&p2, &remb2) == IRTC_OK);
        CHECK(remb2.bitrate_bps == remb.bitrate_bps && remb2.n_ssrc == kept);
        CHECK(memcmp(remb2.ssrc, remb.ssrc, kept * 4) == 0);
    }

    rtcp_twcc_t tw;
    if (rtcp_parse_twcc(pkt, &tw) == IRTC_OK)
        CHECK(tw.ref_time >= -0x800000 && tw.ref_time <= 0x7FFFFF && tw.chunks + tw.chunks_len <= pkt->p + pkt->len);
}

static void fuzz_rtcp(const uint8_t *data, size_t size)
{
    rtcp_iter_t it;
    rtcp_pkt_t pkt;
    const char *why = NULL;
    size_t total = 0;
    int rc;
    rtcp_iter_init(&it, data, size);
    while ((rc = rtcp_iter_next(&it, &pkt, &why)) == 1) {
        CHECK(pkt.p == data + total && pkt.len >= 4 && pkt.len % 4 == 0 && pkt.body_len + 4 <= pkt.len);
        total += pkt.len;
        fuzz_report(&pkt);
        rtcp_bye_t bye;
        if (rtcp_parse_bye(&pkt, &bye) == IRTC_OK && bye.reason != NULL)
            CHECK(bye.reason + bye.reason_len <= pkt.p + pkt.len);
        fuzz_feedback(&pkt);
    }
    CHECK(rc == 0 ? total == size : (rc == IRTC_EINVAL && why != NULL));
    CHECK(rtcp_validate(data, size, NULL) == (rc == 0 ? IRTC_OK : IRTC_EINVAL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtp_kind_t k = rtp_classify(data, size);
    CHECK(k >= RTP_KIND_UNKNOWN && k <= RTP_KIND_RTCP);
    if (size > sizeof(scratch))
        return 0;
    fuzz_rtp_packet(data, size);
    fuzz_rtcp(data, size);
    return 0;
}
