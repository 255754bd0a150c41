/*
 * test_rtp.c — media/rtp on hand-made packets: demux ranges, RTP headers with
 * CSRCs, RFC 8285 one- and two-byte extensions, padding, in-place rewriting,
 * truncation at every length, compound RTCP and each RTCP parser/builder.
 * Every buffer under test is copied into an exact-size heap block so that,
 * built with -fsanitize=address, any read past the end aborts the test.
 */
#include "media/rtp.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "unit/tap.h"

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = xmalloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

static int parse_copy(const uint8_t *p, size_t n, rtp_hdr_t *h, const char **why)
{
    uint8_t *d = dup_exact(p, n);
    int rc = rtp_parse(d, n, h, why);
    free(d);
    return rc;
}

static rtp_kind_t classify2(uint8_t b0, uint8_t b1, size_t len)
{
    uint8_t buf[64] = {b0, b1};
    return rtp_classify(buf, len);
}

static void test_classify(void)
{
    is_int(rtp_classify(NULL, 0), RTP_KIND_UNKNOWN, "empty: unknown");
    is_int(classify2(0x00, 0x01, 20), RTP_KIND_STUN, "0x00: STUN");
    is_int(classify2(0x03, 0x01, 20), RTP_KIND_STUN, "0x03: STUN");
    is_int(classify2(0x00, 0x01, 19), RTP_KIND_UNKNOWN, "STUN shorter than a header: unknown");
    is_int(classify2(19, 0, 40), RTP_KIND_UNKNOWN, "19 (ZRTP): unknown");
    is_int(classify2(20, 0xfe, 13), RTP_KIND_DTLS, "20: DTLS");
    is_int(classify2(22, 0xfe, 13), RTP_KIND_DTLS, "22 (handshake): DTLS");
    is_int(classify2(63, 0xfe, 13), RTP_KIND_DTLS, "63: DTLS");
    is_int(classify2(22, 0xfe, 12), RTP_KIND_UNKNOWN, "DTLS shorter than a record header: unknown");
    is_int(classify2(64, 0, 40), RTP_KIND_UNKNOWN, "64 (TURN channel): unknown");
    is_int(classify2(127, 0, 40), RTP_KIND_UNKNOWN, "127: unknown");
    is_int(classify2(0x80, 96, 12), RTP_KIND_RTP, "PT 96: RTP");
    is_int(classify2(0x80, 0x80 | 96, 12), RTP_KIND_RTP, "PT 96 with marker: RTP");
    is_int(classify2(0x80, 0x80 | 63, 12), RTP_KIND_RTP, "byte 191 (marker + PT 63): RTP");
    is_int(classify2(0x80, 0x80 | 96, 11), RTP_KIND_UNKNOWN, "RTP of 11 bytes: unknown");
    is_int(classify2(0x80, 200, 8), RTP_KIND_RTCP, "PT 200 (SR): RTCP");
    is_int(classify2(0x81, 205, 8), RTP_KIND_RTCP, "PT 205 (RTPFB): RTCP");
    is_int(classify2(0x80, 192, 8), RTP_KIND_RTCP, "byte 192: RTCP");
    is_int(classify2(0x80, 223, 8), RTP_KIND_RTCP, "byte 223: RTCP");
    is_int(classify2(0x80, 224, 12), RTP_KIND_RTP, "byte 224 (marker + PT 96): RTP");
    is_int(classify2(0x80, 72, 8), RTP_KIND_RTCP, "PT 72 unmarked collides with RTCP (RFC 5761 §4)");
    is_int(classify2(0x80, 200, 7), RTP_KIND_UNKNOWN, "RTCP of 7 bytes: unknown");
    is_int(classify2(0xBF, 200, 8), RTP_KIND_RTCP, "first byte 191: RTCP");
    is_int(classify2(0xC0, 96, 12), RTP_KIND_UNKNOWN, "first byte 192: unknown");
    uint8_t one = 0x80;
    is_int(rtp_classify(&one, 1), RTP_KIND_UNKNOWN, "RTP range, 1 byte: unknown");
}

/* V=2 P=0 X=0 CC=0 M=1 PT=111 seq=0x1234 ts=0xdeadbeef ssrc=0x01020304, 4 bytes payload */
static const uint8_t PLAIN[] = {0x80, 0xef, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
                                0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};

static void test_rtp_basic(void)
{
    rtp_hdr_t h;
    const char *why = NULL;
    is_int(parse_copy(PLAIN, sizeof(PLAIN), &h, &why), IRTC_OK, "plain RTP parses");
    ok(h.marker && h.pt == 111 && !h.padding && !h.extension && h.csrc_count == 0, "  M=1 PT=111, no P/X/CC");
    ok(h.seq == 0x1234 && h.ts == 0xdeadbeefu && h.ssrc == 0x01020304u, "  seq, timestamp, SSRC");
    ok(h.header_len == 12 && h.payload_len == 4 && h.padding_len == 0, "  header 12, payload 4");
    ok(h.ext_profile == 0 && h.n_ext == 0, "  no extension");

    uint8_t d[sizeof(PLAIN)];
    memcpy(d, PLAIN, sizeof(d));
    d[0] = 0x40;
    is_int(parse_copy(d, sizeof(d), &h, &why), IRTC_EINVAL, "version 1: EINVAL (%s)", why);
    d[0] = 0xC0;
    is_int(parse_copy(d, sizeof(d), &h, NULL), IRTC_EINVAL, "version 3: EINVAL");
    is_int(parse_copy(PLAIN, 11, &h, &why), IRTC_EINVAL, "11 bytes: EINVAL (%s)", why);
    is_int(parse_copy(PLAIN, 12, &h, NULL), IRTC_OK, "header only (empty payload) parses");
    is_int(h.payload_len, 0, "  payload 0");

    uint8_t *big = xcalloc(1, 65536);
    memcpy(big, PLAIN, sizeof(PLAIN));
    is_int(rtp_parse(big, 65536, &h, &why), IRTC_EINVAL, "65536 bytes: EINVAL (%s)", why);
    is_int(rtp_parse(big, 65535, &h, NULL), IRTC_OK, "65535 bytes parses");
    is_int(h.payload_len, 65535 - 12, "  payload 65523");
    free(big);
}

static void test_rtp_inplace(void)
{
    uint8_t d[sizeof(PLAIN)];
    memcpy(d, PLAIN, sizeof(d));
    ok(rtp_get_seq(d) == 0x1234 && rtp_get_ts(d) == 0xdeadbeefu && rtp_get_ssrc(d) == 0x01020304u &&
           rtp_get_pt(d) == 111,
       "in-place getters");
    rtp_set_seq(d, 0xfffe);
    rtp_set_ts(d, 0x11223344u);
    rtp_set_ssrc(d, 0xa0b0c0d0u);
    rtp_set_pt(d, 96);
    const uint8_t want[12] = {0x80, 0x80 | 96, 0xff, 0xfe, 0x11, 0x22, 0x33, 0x44, 0xa0, 0xb0, 0xc0, 0xd0};
    ok(memcmp(d, want, 12) == 0, "setters write big-endian in place and keep the marker");
    ok(memcmp(d + 12, PLAIN + 12, 4) == 0, "  payload untouched");
    rtp_hdr_t h;
    rtp_parse(d, sizeof(d), &h, NULL);
    ok(h.seq == 0xfffe && h.ts == 0x11223344u && h.ssrc == 0xa0b0c0d0u && h.pt == 96 && h.marker,
       "  parse sees the rewritten fields");
}

static void test_rtp_csrc(void)
{
    /* clang-format off */
    const uint8_t p[] = {0x82, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xca, 0xfe, 0xba, 0xbe, 0x0b, 0xad, 0xf0, 0x0d, 0x55};
    /* clang-format on */
    rtp_hdr_t h;
    is_int(parse_copy(p, sizeof(p), &h, NULL), IRTC_OK, "two CSRCs parse");
    ok(h.csrc_count == 2 && h.csrc[0] == 0xcafebabeu && h.csrc[1] == 0x0badf00du, "  CSRC values");
    ok(h.header_len == 20 && h.payload_len == 1, "  payload after the CSRC list");
    const char *why = NULL;
    is_int(parse_copy(p, 19, &h, &why), IRTC_EINVAL, "CSRC list cut: EINVAL (%s)", why);
    is_int(parse_copy(p, 20, &h, NULL), IRTC_OK, "CSRC list exactly filling the packet parses");
}

/* One-byte extensions: id 1 (2 bytes, transport-wide seq), a padding byte,
 * id 3 (3 bytes, abs-send-time), id 5 (1 byte), padding to 12 bytes. */
/* clang-format off */
static const uint8_t ONE_BYTE[] = {
    0x90, 0x60, 0x00, 0x07, 0, 0, 0, 9, 0x11, 0x22, 0x33, 0x44, /* header, X=1 */
    0xbe, 0xde, 0x00, 0x03,                                     /* 3 words */
    0x11, 0xab, 0xcd, 0x00, 0x32, 0x01, 0x02, 0x03, 0x50, 0x77, 0x00, 0x00, /* elements */
    0x99, 0x98,                                                 /* payload */
};
/* clang-format on */

static void test_one_byte_ext(void)
{
    rtp_hdr_t h;
    uint8_t *d = dup_exact(ONE_BYTE, sizeof(ONE_BYTE));
    is_int(rtp_parse(d, sizeof(ONE_BYTE), &h, NULL), IRTC_OK, "one-byte extensions parse");
    ok(h.ext_profile == 0xBEDE && h.ext_off == 16 && h.ext_len == 12, "  block at 16, 12 bytes");
    is_int(h.n_ext, 3, "  three elements (padding skipped)");
    const rtp_ext_t *e1 = rtp_ext_find(&h, 1), *e3 = rtp_ext_find(&h, 3), *e5 = rtp_ext_find(&h, 5);
    ok(e1 && e1->len == 2 && e1->off == 17, "  id 1: 2 bytes at 17");
    ok(e3 && e3->len == 3 && e3->off == 21, "  id 3: 3 bytes at 21");
    ok(e5 && e5->len == 1 && e5->off == 25, "  id 5: 1 byte at 25");
    ok(rtp_ext_find(&h, 2) == NULL, "  id 2 absent");
    ok(h.header_len == 28 && h.payload_len == 2, "  payload after the block");

    uint32_t v = 0;
    ok(rtp_ext_read_be(d, &h, 1, &v) == IRTC_OK && v == 0xabcd, "read transport-wide seq 0xabcd");
    is_int(rtp_ext_write_be(d, &h, 1, 0x1234), IRTC_OK, "rewrite transport-wide seq");
    is_int(rtp_ext_write_be(d, &h, 3, 0xfedcba), IRTC_OK, "rewrite abs-send-time");
    ok(d[17] == 0x12 && d[18] == 0x34 && d[21] == 0xfe && d[22] == 0xdc && d[23] == 0xba, "  bytes in place");
    ok(d[19] == 0x00 && d[20] == 0x32 && d[24] == 0x50, "  neighbours untouched");
    is_int(rtp_ext_write_be(d, &h, 1, 0x10000), IRTC_EINVAL, "value wider than the element: EINVAL");
    is_int(rtp_ext_write_be(d, &h, 5, 0x100), IRTC_EINVAL, "0x100 into a 1-byte element: EINVAL");
    is_int(rtp_ext_write_be(d, &h, 5, 0xff), IRTC_OK, "0xff into a 1-byte element");
    is_int(rtp_ext_write_be(d, &h, 7, 1), IRTC_ENOTFOUND, "unknown id: ENOTFOUND");
    is_int(rtp_ext_read_be(d, &h, 7, &v), IRTC_ENOTFOUND, "read unknown id: ENOTFOUND");
    rtp_parse(d, sizeof(ONE_BYTE), &h, NULL);
    ok(rtp_ext_read_be(d, &h, 3, &v) == IRTC_OK && v == 0xfedcba, "re-parse reads the new abs-send-time");
    free(d);

    /* id 15 stops processing of the block (RFC 8285 §4.2). */
    uint8_t p[sizeof(ONE_BYTE)];
    memcpy(p, ONE_BYTE, sizeof(p));
    p[20] = 0xF2;
    is_int(parse_copy(p, sizeof(p), &h, NULL), IRTC_OK, "id 15 parses");
    ok(h.n_ext == 1 && rtp_ext_find(&h, 5) == NULL, "  elements after id 15 are not seen");

    /* An element longer than the block. */
    memcpy(p, ONE_BYTE, sizeof(p));
    p[24] = 0x5F; /* id 5, 16 bytes */
    const char *why = NULL;
    is_int(parse_copy(p, sizeof(p), &h, &why), IRTC_EINVAL, "element overrunning the block: EINVAL (%s)", why);

    /* Block longer than the packet. */
    memcpy(p, ONE_BYTE, sizeof(p));
    p[15] = 0x04;
    is_int(parse_copy(p, sizeof(p), &h, &why), IRTC_EINVAL, "block overrunning the packet: EINVAL (%s)", why);
    is_int(parse_copy(ONE_BYTE, 15, &h, &why), IRTC_EINVAL, "extension header cut: EINVAL (%s)", why);
}

static void test_two_byte_ext(void)
{
    /* clang-format off */
    uint8_t p[] = {
        0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x03, 0x00, 0x03, /* profile 0x1003 (appbits 3) */
        0xc8, 0x00,                                                   /* id 200, len 0 */
        0x00,                                                         /* padding */
        0x05, 0x03, 0x0a, 0x0b, 0x0c,                                 /* id 5, 3 bytes */
        0x10, 0x01, 0x42,                                             /* id 16, 1 byte */
        0x00,                                                         /* padding */
        0x77,                                                         /* payload */
    };
    /* clang-format on */
    rtp_hdr_t h;
    is_int(parse_copy(p, sizeof(p), &h, NULL), IRTC_OK, "two-byte extensions parse");
    ok(h.ext_profile == 0x1003 && h.n_ext == 3, "  profile with appbits, three elements");
    const rtp_ext_t *e200 = rtp_ext_find(&h, 200), *e5 = rtp_ext_find(&h, 5), *e16 = rtp_ext_find(&h, 16);
    ok(e200 && e200->len == 0 && e200->off == 18, "  id 200: empty element");
    ok(e5 && e5->len == 3 && e5->off == 21, "  id 5: 3 bytes at 21");
    ok(e16 && e16->len == 1 && e16->off == 26, "  id 16 (beyond one-byte range): 1 byte at 26");
    ok(h.payload_len == 1, "  payload 1");
    uint8_t *d = dup_exact(p, sizeof(p));
    rtp_parse(d, sizeof(p), &h, NULL);
    uint32_t v;
    is_int(rtp_ext_read_be(d, &h, 200, &v), IRTC_EINVAL, "read of an empty element: EINVAL");
    is_int(rtp_ext_write_be(d, &h, 200, 0), IRTC_EINVAL, "write of an empty element: EINVAL");
    free(d);

    const char *why = NULL;
    uint8_t q[sizeof(p)];
    memcpy(q, p, sizeof(q));
    q[20] = 0x09; /* id 5 claims 9 bytes */
    is_int(parse_copy(q, sizeof(q), &h, &why), IRTC_EINVAL, "two-byte element overrunning: EINVAL (%s)", why);
    memcpy(q, p, sizeof(q));
    q[27] = 0x07; /* last byte of the block becomes an id with no length byte */
    is_int(parse_copy(q, sizeof(q), &h, &why), IRTC_EINVAL, "two-byte element header cut: EINVAL (%s)", why);

    /* A profile outside RFC 8285: block recorded, no elements. */
    memcpy(q, p, sizeof(q));
    q[12] = 0xab, q[13] = 0xcd;
    is_int(parse_copy(q, sizeof(q), &h, NULL), IRTC_OK, "unknown extension profile parses");
    ok(h.ext_profile == 0xabcd && h.n_ext == 0 && h.ext_len == 12 && h.header_len == 28, "  block skipped whole");
}

static void test_ext_overflow(void)
{
    /* 20 one-byte elements of 1 byte each: 40 bytes = 10 words. */
    uint8_t p[16 + 40];
    memset(p, 0, sizeof(p));
    p[0] = 0x90, p[1] = 0x60, p[12] = 0xbe, p[13] = 0xde, p[15] = 10;
    for (int i = 0; i < 20; i++)
        p[16 + 2 * i] = (uint8_t)(((i % 14) + 1) << 4), p[17 + 2 * i] = (uint8_t)i;
    rtp_hdr_t h;
    is_int(parse_copy(p, sizeof(p), &h, NULL), IRTC_OK, "20 elements parse");
    is_int(h.n_ext, RTP_MAX_EXT, "  the first RTP_MAX_EXT are kept");
    ok(rtp_ext_find(&h, 1)->off == 17, "  duplicate ids: find returns the first");
}

static void test_padding(void)
{
    /* payload 0xff 0xff, then 4 padding bytes ending in the count. */
    const uint8_t p[] = {0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0x00, 0x00, 0x00, 0x04};
    rtp_hdr_t h;
    const char *why = NULL;
    is_int(parse_copy(p, sizeof(p), &h, NULL), IRTC_OK, "padded packet parses");
    ok(h.padding && h.padding_len == 4 && h.payload_len == 2 && h.header_len == 12, "  payload 2, padding 4");

    uint8_t q[sizeof(p)];
    memcpy(q, p, sizeof(q));
    q[17] = 0;
    is_int(parse_copy(q, sizeof(q), &h, &why), IRTC_EINVAL, "padding count 0: EINVAL (%s)", why);
    q[17] = 7;
    is_int(parse_copy(q, sizeof(q), &h, NULL), IRTC_EINVAL, "padding count past the payload: EINVAL");
    q[17] = 6;
    is_int(parse_copy(q, sizeof(q), &h, NULL), IRTC_OK, "padding covering the whole payload parses");
    ok(h.payload_len == 0 && h.padding_len == 6, "  payload 0");
    is_int(parse_copy(p, 12, &h, NULL), IRTC_EINVAL, "P bit with no byte after the header: EINVAL");
}

/* Every truncation of a packet using every feature is an error, and no
 * truncation of any packet reads past its end (ASan checks the latter). */
static void test_truncation_sweep(void)
{
    /* CSRC + one-byte ext + 0xff payload + padding: every cut is detectable. */
    uint8_t full[12 + 4 + 4 + 8 + 6 + 4];
    memset(full, 0xff, sizeof(full));
    /* clang-format off */
    const uint8_t head[] = {0xb1, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x0a, 0x0b, 0x0c, 0x0d,
                            0xbe, 0xde, 0x00, 0x02, 0x11, 0xab, 0xcd, 0x32, 0x01, 0x02, 0x03, 0x00};
    /* clang-format on */
    memcpy(full, head, sizeof(head));
    memcpy(full + sizeof(full) - 4, "\0\0\0\x04", 4);
    rtp_hdr_t h;
    is_int(parse_copy(full, sizeof(full), &h, NULL), IRTC_OK, "full-featured packet parses");
    ok(h.csrc_count == 1 && h.n_ext == 2 && h.payload_len == 6 && h.padding_len == 4, "  all parts seen");
    int accepted = 0;
    for (size_t n = 0; n < sizeof(full); n++)
        if (parse_copy(full, n, &h, NULL) != IRTC_EINVAL)
            accepted++;
    is_int(accepted, 0, "every truncation (0..%zu bytes) is EINVAL", sizeof(full) - 1);

    /* Without padding, cuts inside the payload are valid shorter packets. */
    full[0] = 0x91;
    int inconsistent = 0, header_cuts_ok = 0;
    for (size_t n = 0; n < sizeof(full); n++) {
        int rc = parse_copy(full, n, &h, NULL);
        if (n < 28 && rc == IRTC_OK)
            header_cuts_ok++;
        if (n >= 28 && (rc != IRTC_OK || h.header_len + h.payload_len != n))
            inconsistent++;
    }
    is_int(header_cuts_ok, 0, "unpadded: cuts inside the header are EINVAL");
    is_int(inconsistent, 0, "unpadded: cuts inside the payload parse with payload = rest");
}

/* ---- RTCP ----------------------------------------------------------------- */

/* SR from 0x11111111 with one report block, SDES (skipped), BYE with reason. */
/* clang-format off */
static const uint8_t COMPOUND[] = {
    /* SR, RC=1, length 12 words */
    0x81, 200, 0x00, 0x0c, 0x11, 0x11, 0x11, 0x11,
    0xe8, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, /* NTP */
    0x00, 0x01, 0x00, 0x00,                         /* RTP ts */
    0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x04, 0x00, /* packets 10, octets 1024 */
    0x22, 0x22, 0x22, 0x22, 0x40, 0xff, 0xff, 0xfb, /* rb: ssrc, fraction 64, lost -5 */
    0x00, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, /* ext seq 65552, jitter 32 */
    0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0x00, 0x00, /* lsr, dlsr */
    /* SDES, SC=1, length 3 words */
    0x81, 202, 0x00, 0x03, 0x11, 0x11, 0x11, 0x11, 0x01, 0x02, 'a', 'b', 0x00, 0x00, 0x00, 0x00,
    /* BYE, SC=1, reason "bye", length 2 words */
    0x81, 203, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x03, 'b', 'y', 'e',
};
/* clang-format on */

static void test_rtcp_compound(void)
{
    uint8_t *d = dup_exact(COMPOUND, sizeof(COMPOUND));
    rtcp_iter_t it;
    rtcp_pkt_t pkt[4];
    rtcp_iter_init(&it, d, sizeof(COMPOUND));
    int n = 0, rc;
    while (n < 4 && (rc = rtcp_iter_next(&it, &pkt[n], NULL)) == 1)
        n++;
    is_int(n, 3, "compound has three sub-packets");
    ok(pkt[0].pt == RTCP_PT_SR && pkt[1].pt == RTCP_PT_SDES && pkt[2].pt == RTCP_PT_BYE, "  SR, SDES, BYE");
    ok(pkt[0].len == 52 && pkt[1].len == 16 && pkt[2].len == 12, "  lengths from the length fields");
    is_int(rtcp_iter_next(&it, &pkt[3], NULL), 0, "  then the end");
    is_int(rtcp_validate(d, sizeof(COMPOUND), NULL), IRTC_OK, "rtcp_validate accepts it");

    rtcp_report_t r;
    is_int(rtcp_parse_report(&pkt[0], &r), IRTC_OK, "SR parses");
    ok(r.is_sr && r.ssrc == 0x11111111u && r.ntp_sec == 0xe8000001u && r.ntp_frac == 0x80000000u &&
           r.rtp_ts == 0x10000 && r.packet_count == 10 && r.octet_count == 1024,
       "  sender info");
    ok(r.rb_count == 1 && r.rb[0].ssrc == 0x22222222u && r.rb[0].fraction_lost == 64 && r.rb[0].cumulative_lost == -5 &&
           r.rb[0].ext_highest_seq == 65552 && r.rb[0].jitter == 32 && r.rb[0].lsr == 0x12345678u &&
           r.rb[0].dlsr == 0x10000,
       "  report block (negative cumulative loss sign-extended)");
    is_int(rtcp_ntp_mid32(r.ntp_sec, r.ntp_frac), 0x00018000u, "LSR from the NTP timestamp");

    uint8_t out[64];
    size_t len = rtcp_build_sr(out, sizeof(out), &r);
    ok(len == 52 && memcmp(out, COMPOUND, 52) == 0, "rtcp_build_sr reproduces the SR byte for byte");
    is_int(rtcp_build_sr(out, 51, &r), 0, "SR builder, cap one short: 0");

    rtcp_bye_t bye;
    is_int(rtcp_parse_bye(&pkt[2], &bye), IRTC_OK, "BYE parses");
    ok(bye.count == 1 && bye.ssrc[0] == 0x11111111u && bye.reason_len == 3 && memcmp(bye.reason, "bye", 3) == 0,
       "  SSRC and reason");
    is_int(rtcp_parse_report(&pkt[1], &r), IRTC_EINVAL, "SDES is not a report: EINVAL");
    is_int(rtcp_parse_bye(&pkt[0], &bye), IRTC_EINVAL, "SR is not a BYE: EINVAL");
    free(d);
}

static int iter_error(const uint8_t *p, size_t n, const char **why)
{
    uint8_t *d = dup_exact(p, n);
    rtcp_iter_t it;
    rtcp_pkt_t pkt;
    int rc;
    rtcp_iter_init(&it, d, n);
    while ((rc = rtcp_iter_next(&it, &pkt, why)) == 1)
        ;
    int again = rtcp_iter_next(&it, &pkt, NULL);
    free(d);
    return rc == again ? rc : 99;
}

static void test_rtcp_iter_errors(void)
{
    const char *why = NULL;
    uint8_t p[sizeof(COMPOUND)];

    is_int(iter_error(COMPOUND, 0, &why), IRTC_EINVAL, "empty RTCP: EINVAL (%s)", why);
    is_int(iter_error(COMPOUND, 3, &why), IRTC_EINVAL, "3 bytes: EINVAL (%s)", why);
    is_int(iter_error(COMPOUND, 51, &why), IRTC_EINVAL, "SR cut: EINVAL (%s)", why);
    is_int(iter_error(COMPOUND, 60, &why), IRTC_EINVAL, "SDES cut: EINVAL (%s)", why);
    memcpy(p, COMPOUND, sizeof(p));
    p[52] = 0x41;
    is_int(iter_error(p, sizeof(p), &why), IRTC_EINVAL, "second sub-packet version 1: EINVAL (%s)", why);
    memcpy(p, COMPOUND, sizeof(p));
    p[69] = 0x60;
    is_int(iter_error(p, sizeof(p), &why), IRTC_EINVAL, "third sub-packet type 96: EINVAL (%s)", why);
    memcpy(p, COMPOUND, sizeof(p));
    p[0] |= 0x20;
    p[51] = 4; /* a plausible padding count, so only the position rule rejects it */
    is_int(iter_error(p, sizeof(p), &why), IRTC_EINVAL, "padding on the first sub-packet: EINVAL (%s)", why);

    /* Padding on the last: BYE with P, reason dropped to make room. */
    memcpy(p, COMPOUND, sizeof(p));
    p[68] = 0xa1, p[76] = 0, p[77] = 0, p[78] = 0, p[79] = 4;
    uint8_t *d = dup_exact(p, sizeof(p));
    rtcp_iter_t it;
    rtcp_pkt_t pkt;
    rtcp_iter_init(&it, d, sizeof(p));
    rtcp_iter_next(&it, &pkt, NULL);
    rtcp_iter_next(&it, &pkt, NULL);
    is_int(rtcp_iter_next(&it, &pkt, NULL), 1, "padding on the last sub-packet is accepted");
    ok(pkt.padding && pkt.len == 12 && pkt.body_len == 4, "  body excludes the padding");
    rtcp_bye_t bye;
    ok(rtcp_parse_bye(&pkt, &bye) == IRTC_OK && bye.reason == NULL, "  BYE without reason after padding");
    free(d);
    p[79] = 0;
    is_int(iter_error(p, sizeof(p), &why), IRTC_EINVAL, "padding count 0: EINVAL (%s)", why);
    p[79] = 9;
    is_int(iter_error(p, sizeof(p), &why), IRTC_EINVAL, "padding count past the body: EINVAL (%s)", why);
    is_int(rtcp_validate(p, sizeof(p), &why), IRTC_EINVAL, "rtcp_validate rejects it too");

    /* Trailing garbage after a valid sub-packet. */
    is_int(iter_error(COMPOUND, 52 + 2, &why), IRTC_EINVAL, "2 trailing bytes: EINVAL");
}

static void test_rtcp_reports(void)
{
    rtcp_rb_t rb[2] = {
        {.ssrc = 1,
         .fraction_lost = 2,
         .cumulative_lost = -0x900000,
         .ext_highest_seq = 3,
         .jitter = 4,
         .lsr = 5,
         .dlsr = 6},
        {.ssrc = 7, .cumulative_lost = 0x900000},
    };
    uint8_t out[8 + 48];
    size_t n = rtcp_build_rr(out, sizeof(out), 0xabcdef01u, rb, 2);
    is_int(n, 56, "RR with two blocks is 56 bytes");
    ok(out[0] == 0x82 && out[1] == 201 && out[2] == 0 && out[3] == 13, "  header RC=2 length 13");
    rtcp_pkt_t pkt;
    rtcp_iter_t it;
    rtcp_iter_init(&it, out, n);
    is_int(rtcp_iter_next(&it, &pkt, NULL), 1, "  iterates");
    rtcp_report_t r;
    is_int(rtcp_parse_report(&pkt, &r), IRTC_OK, "  parses");
    ok(!r.is_sr && r.ssrc == 0xabcdef01u && r.rb_count == 2 && r.rb[0].ssrc == 1 && r.rb[0].fraction_lost == 2 &&
           r.rb[0].ext_highest_seq == 3 && r.rb[0].jitter == 4 && r.rb[0].lsr == 5 && r.rb[0].dlsr == 6 &&
           r.rb[1].ssrc == 7,
       "  round-trips");
    ok(r.rb[0].cumulative_lost == -0x800000 && r.rb[1].cumulative_lost == 0x7FFFFF,
       "  cumulative loss clamped to 24 bits signed");
    is_int(rtcp_build_rr(out, 55, 1, rb, 2), 0, "RR builder, cap one short: 0");
    is_int(rtcp_build_rr(out, sizeof(out), 1, rb, 32), 0, "RR builder, 32 blocks: 0");
    is_int(rtcp_build_rr(out, 8, 1, NULL, 0), 8, "empty RR is 8 bytes");

    /* RC claims more blocks than the length carries. */
    rtcp_build_rr(out, sizeof(out), 1, rb, 2);
    out[0] = 0x83;
    rtcp_iter_init(&it, out, 56);
    rtcp_iter_next(&it, &pkt, NULL);
    is_int(rtcp_parse_report(&pkt, &r), IRTC_EINVAL, "RR with RC=3 in 2 blocks of room: EINVAL");
    const uint8_t short_sr[] = {0x80, 200, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    rtcp_iter_init(&it, short_sr, sizeof(short_sr));
    rtcp_iter_next(&it, &pkt, NULL);
    is_int(rtcp_parse_report(&pkt, &r), IRTC_EINVAL, "SR without full sender info: EINVAL");
    const uint8_t bye_bad[] = {0x81, 203, 0, 2, 0, 0, 0, 1, 9, 'a', 'b', 'c'};
    rtcp_iter_init(&it, bye_bad, sizeof(bye_bad));
    rtcp_iter_next(&it, &pkt, NULL);
    rtcp_bye_t bye;
    is_int(rtcp_parse_bye(&pkt, &bye), IRTC_EINVAL, "BYE reason longer than the packet: EINVAL");
    const uint8_t bye_sc[] = {0x82, 203, 0, 1, 0, 0, 0, 1};
    rtcp_iter_init(&it, bye_sc, sizeof(bye_sc));
    rtcp_iter_next(&it, &pkt, NULL);
    is_int(rtcp_parse_bye(&pkt, &bye), IRTC_EINVAL, "BYE with SC=2 and one SSRC: EINVAL");
}

static int first_pkt(const uint8_t *p, size_t n, rtcp_pkt_t *pkt)
{
    rtcp_iter_t it;
    rtcp_iter_init(&it, p, n);
    return rtcp_iter_next(&it, pkt, NULL);
}

static void test_nack(void)
{
    /* pid 100 blp 0x8001 -> 100 101 116; pid 65535 blp 0x0001 -> 65535 0 */
    const uint8_t p[] = {0x81, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0x80, 0x01, 0xff, 0xff, 0x00, 0x01};
    rtcp_pkt_t pkt;
    uint16_t seqs[40];
    size_t n = 0;
    is_int(first_pkt(p, sizeof(p), &pkt), 1, "NACK iterates");
    rtcp_fb_t fb;
    ok(rtcp_parse_fb(&pkt, &fb) == IRTC_OK && fb.sender_ssrc == 1 && fb.media_ssrc == 2 && fb.fci_len == 8,
       "feedback header: SSRCs and FCI length");
    is_int(rtcp_nack_expand(&pkt, seqs, 40, &n), IRTC_OK, "NACK expands");
    ok(n == 5 && seqs[0] == 100 && seqs[1] == 101 && seqs[2] == 116 && seqs[3] == 65535 && seqs[4] == 0,
       "  100 101 116 65535 0 (wraps)");
    is_int(rtcp_nack_expand(&pkt, seqs, 3, &n), IRTC_ELIMIT, "cap 3: ELIMIT");
    ok(n == 3 && seqs[2] == 116, "  the first three written");

    uint8_t q[sizeof(p)];
    memcpy(q, p, sizeof(q));
    q[0] = 0x82;
    first_pkt(q, sizeof(q), &pkt);
    is_int(rtcp_nack_expand(&pkt, seqs, 40, &n), IRTC_EINVAL, "RTPFB FMT 2 is not a NACK: EINVAL");
    const uint8_t empty[] = {0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
    first_pkt(empty, sizeof(empty), &pkt);
    is_int(rtcp_nack_expand(&pkt, seqs, 40, &n), IRTC_EINVAL, "NACK without FCI: EINVAL");
    const uint8_t odd[] = {0xa1, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0, 0, 0, 0xaa, 0, 2};
    first_pkt(odd, sizeof(odd), &pkt);
    is_int(rtcp_nack_expand(&pkt, seqs, 40, &n), IRTC_EINVAL, "NACK FCI of 6 bytes (padding): EINVAL");
    const uint8_t tiny[] = {0x81, 205, 0, 1, 0, 0, 0, 1};
    first_pkt(tiny, sizeof(tiny), &pkt);
    is_int(rtcp_parse_fb(&pkt, &fb), IRTC_EINVAL, "feedback of 8 bytes (no media SSRC): EINVAL");

    const uint16_t lost[] = {100, 101, 101, 116, 117, 200, 65535, 0};
    uint8_t out[64];
    size_t len = rtcp_build_nack(out, sizeof(out), 1, 2, lost, IRTC_ARRAY_SIZE(lost));
    is_int(len, 12 + 4 * 4, "NACK builder packs 8 seqs into 4 pairs");
    const uint8_t want_fci[] = {0, 100, 0x80, 0x01, 0, 117, 0, 0, 0, 200, 0, 0, 0xff, 0xff, 0, 1};
    ok(memcmp(out + 12, want_fci, 16) == 0, "  PID/BLP bytes");
    first_pkt(out, len, &pkt);
    rtcp_nack_expand(&pkt, seqs, 40, &n);
    ok(n == 7 && seqs[0] == 100 && seqs[1] == 101 && seqs[2] == 116 && seqs[3] == 117 && seqs[4] == 200 &&
           seqs[5] == 65535 && seqs[6] == 0,
       "  round-trips (duplicate dropped)");
    is_int(rtcp_build_nack(out, 27, 1, 2, lost, IRTC_ARRAY_SIZE(lost)), 0, "NACK builder, cap one pair short: 0");
    is_int(rtcp_build_nack(out, sizeof(out), 1, 2, lost, 0), 0, "NACK builder, no seqs: 0");
}

static void test_pli_fir(void)
{
    uint8_t out[32];
    rtcp_pkt_t pkt;
    uint32_t s = 0, m = 0;
    size_t n = rtcp_build_pli(out, sizeof(out), 0xaaaa, 0xbbbb);
    is_int(n, 12, "PLI is 12 bytes");
    ok(out[0] == 0x81 && out[1] == 206 && out[3] == 2, "  PSFB FMT 1 length 2");
    first_pkt(out, n, &pkt);
    ok(rtcp_parse_pli(&pkt, &s, &m) == IRTC_OK && s == 0xaaaa && m == 0xbbbb, "  parses back");
    is_int(rtcp_build_pli(out, 11, 1, 2), 0, "PLI builder, cap 11: 0");

    n = rtcp_build_fir(out, sizeof(out), 0xaaaa, 0xbbbb, 7);
    is_int(n, 20, "FIR is 20 bytes");
    ok(out[0] == 0x84 && out[1] == 206 && out[3] == 4, "  PSFB FMT 4 length 4");
    ok(out[8] == 0 && out[9] == 0 && out[10] == 0 && out[11] == 0, "  header media SSRC 0 (RFC 5104)");
    first_pkt(out, n, &pkt);
    is_int(rtcp_parse_pli(&pkt, &s, &m), IRTC_EINVAL, "FIR is not a PLI: EINVAL");
    rtcp_fir_entry_t e[2];
    size_t ne = 0;
    ok(rtcp_parse_fir(&pkt, &s, e, 2, &ne) == IRTC_OK && s == 0xaaaa && ne == 1 && e[0].ssrc == 0xbbbb &&
           e[0].seq_nr == 7,
       "  parses back: target SSRC and seq nr");
    is_int(rtcp_parse_fir(&pkt, &s, e, 0, &ne), IRTC_ELIMIT, "FIR, no room for entries: ELIMIT");
    is_int(rtcp_build_fir(out, 19, 1, 2, 3), 0, "FIR builder, cap 19: 0");
    const uint8_t fir4[] = {0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2};
    first_pkt(fir4, sizeof(fir4), &pkt);
    is_int(rtcp_parse_fir(&pkt, &s, e, 2, &ne), IRTC_EINVAL, "FIR with a 4-byte FCI: EINVAL");
    first_pkt(COMPOUND, 52, &pkt);
    is_int(rtcp_parse_pli(&pkt, &s, &m), IRTC_EINVAL, "SR is not a PLI: EINVAL");
}

static void test_remb(void)
{
    uint8_t out[64];
    const uint32_t ssrcs[2] = {0x1234, 0x5678};
    size_t n = rtcp_build_remb(out, sizeof(out), 0xaaaa, 1000000, ssrcs, 2);
    is_int(n, 28, "REMB with two SSRCs is 28 bytes");
    /* 1,000,000 = 250000 << 2: exp 2, mantissa 0x3D090. */
    /* clang-format off */
    const uint8_t want[] = {0x8f, 206, 0, 6,    0, 0, 0xaa, 0xaa, 0, 0,    0, 0,    'R', 'E',
                            'M',  'B', 2, 0x0b, 0xd0, 0x90, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78};
    /* clang-format on */
    ok(memcmp(out, want, sizeof(want)) == 0, "  bytes as draft-alvestrand-rmcat-remb lays them out");
    rtcp_pkt_t pkt;
    rtcp_remb_t r;
    first_pkt(out, n, &pkt);
    is_int(rtcp_parse_remb(&pkt, &r), IRTC_OK, "  parses");
    ok(r.sender_ssrc == 0xaaaa && r.bitrate_bps == 1000000 && r.n_ssrc == 2 && r.ssrc[0] == 0x1234 &&
           r.ssrc[1] == 0x5678,
       "  round-trips 1 Mb/s and the SSRCs");

    uint64_t big = 123456789012ull;
    n = rtcp_build_remb(out, sizeof(out), 1, big, NULL, 0);
    first_pkt(out, n, &pkt);
    rtcp_parse_remb(&pkt, &r);
    ok(r.bitrate_bps <= big && r.bitrate_bps > big - (big >> 17), "large bitrate rounds down by < 2^-17");
    n = rtcp_build_remb(out, sizeof(out), 1, UINT64_MAX, NULL, 0);
    first_pkt(out, n, &pkt);
    rtcp_parse_remb(&pkt, &r);
    ok(r.bitrate_bps == (0x3FFFFull << 46), "UINT64_MAX encodes as 0x3FFFF << 46");

    uint8_t q[20] = {0x8f, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 0, 63 << 2 | 3, 0xff, 0xff};
    first_pkt(q, sizeof(q), &pkt);
    rtcp_parse_remb(&pkt, &r);
    ok(r.bitrate_bps == UINT64_MAX, "exponent 63 with a big mantissa saturates");
    q[17] = 63 << 2, q[18] = 0, q[19] = 1;
    rtcp_parse_remb(&pkt, &r);
    ok(r.bitrate_bps == 1ull << 63, "exponent 63, mantissa 1 is 2^63");
    q[16] = 1;
    is_int(rtcp_parse_remb(&pkt, &r), IRTC_EINVAL, "num SSRC past the end: EINVAL");
    q[16] = 0, q[15] = 'X';
    is_int(rtcp_parse_remb(&pkt, &r), IRTC_EINVAL, "not 'REMB': EINVAL");
    is_int(rtcp_build_remb(out, 27, 1, 1, ssrcs, 2), 0, "REMB builder, cap one short: 0");
    is_int(rtcp_build_remb(out, 4096, 1, 1, ssrcs, 256), 0, "REMB builder, 256 SSRCs: 0");
}

static void test_twcc(void)
{
    /* clang-format off */
    const uint8_t p[] = {0x8f, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0x01, 0x02, 0x00, 0x03,
                         0xff, 0xff, 0xfe, 0x07, 0x20, 0x03, 0x10, 0x00};
    /* clang-format on */
    rtcp_pkt_t pkt;
    rtcp_twcc_t t;
    first_pkt(p, sizeof(p), &pkt);
    is_int(rtcp_parse_twcc(&pkt, &t), IRTC_OK, "TWCC feedback header parses");
    ok(t.sender_ssrc == 1 && t.media_ssrc == 2 && t.base_seq == 0x0102 && t.status_count == 3 && t.ref_time == -2 &&
           t.fb_count == 7,
       "  base seq, status count, signed reference time, fb count");
    ok(t.chunks == pkt.p + 20 && t.chunks_len == 4, "  chunks follow");
    const uint8_t s[] = {0x8f, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0x01, 0x02, 0x00, 0x03};
    first_pkt(s, sizeof(s), &pkt);
    is_int(rtcp_parse_twcc(&pkt, &t), IRTC_EINVAL, "TWCC without reference time: EINVAL");
    first_pkt(p, sizeof(p), &pkt);
    pkt.fmt = 1;
    is_int(rtcp_parse_twcc(&pkt, &t), IRTC_EINVAL, "FMT 1 is not TWCC: EINVAL");
}

int main(void)
{
    test_classify();
    test_rtp_basic();
    test_rtp_inplace();
    test_rtp_csrc();
    test_one_byte_ext();
    test_two_byte_ext();
    test_ext_overflow();
    test_padding();
    test_truncation_sweep();
    test_rtcp_compound();
    test_rtcp_iter_errors();
    test_rtcp_reports();
    test_nack();
    test_pli_fir();
    test_remb();
    test_twcc();
    return done_testing();
}
