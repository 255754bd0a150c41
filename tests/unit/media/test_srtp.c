/*
 * test_srtp.c — sec_* sessions: libsrtp's published known-answer packets for
 * both DTLS-SRTP profiles, round trips, tampering, replay, retransmission on
 * the outbound side, in-place sizes and every argument check.
 */
#include <string.h>

#include "media/srtp_session.h"
#include "core/common.h"
#include "unit/tap.h"

/* libsrtp test/srtp_driver.c srtp_validate(): AES_CM_128_HMAC_SHA1_80. */
static const uint8_t cm_key[16] = {0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                   0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39};
static const uint8_t cm_salt[14] = {0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};
static const uint8_t rtp_plain[28] = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe,
                                      0xba, 0xbe, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
                                      0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};
static const uint8_t rtcp_plain[24] = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab, 0xab,
                                       0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};
static const uint8_t cm_srtp[38] = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0x4e,
                                    0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d,
                                    0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb};
static const uint8_t cm_srtcp[38] = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0x71, 0x28, 0x03, 0x5b, 0xe4,
                                     0x87, 0xb9, 0xbd, 0xbe, 0xf8, 0x90, 0x41, 0xf9, 0x77, 0xa5, 0xa8, 0x80, 0x00,
                                     0x00, 0x01, 0x99, 0x3e, 0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98};

/* libsrtp srtp_validate_gcm(): AEAD_AES_128_GCM (RFC 7714). */
static const uint8_t gcm_key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t gcm_salt[12] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};
static const uint8_t gcm_srtp[44] = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba,
                                     0xbe, 0xc5, 0x00, 0x2e, 0xde, 0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11,
                                     0x59, 0xe0, 0x88, 0x0a, 0xa0, 0x6e, 0xd2, 0x97, 0x68, 0x26, 0xf7,
                                     0x96, 0xb2, 0x01, 0xdf, 0x31, 0x31, 0xa1, 0x27, 0xe8, 0xa3, 0x92};
static const uint8_t gcm_srtcp[44] = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xc9, 0x8b, 0x8b,
                                      0x5d, 0xf0, 0x39, 0x2a, 0x55, 0x85, 0x2b, 0x6c, 0x21, 0xac, 0x8e,
                                      0x70, 0x25, 0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3, 0xb4, 0x46, 0xea,
                                      0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e, 0x80, 0x00, 0x00, 0x01};

typedef struct {
    const char *name;
    int profile;
    const uint8_t *key, *salt;
    size_t salt_len;
    const uint8_t *srtp, *srtcp;
    size_t srtp_len, srtcp_len;
} vector_t;

static const vector_t vectors[] = {
    {"AES_CM_128_HMAC_SHA1_80", SEC_PROFILE_AES128_CM_SHA1_80, cm_key, cm_salt, 14, cm_srtp, cm_srtcp, 38, 38},
    {"AEAD_AES_128_GCM", SEC_PROFILE_AEAD_AES_128_GCM, gcm_key, gcm_salt, 12, gcm_srtp, gcm_srtcp, 44, 44},
};

#define BUF_CAP (1200 + SEC_MAX_TRAILER)

static void pair_init(const vector_t *v, sec_session_t *out, sec_session_t *in)
{
    is_int(sec_session_init(out, v->profile, v->key, 16, v->salt, v->salt_len, false), IRTC_OK, "%s: outbound init",
           v->name);
    is_int(sec_session_init(in, v->profile, v->key, 16, v->salt, v->salt_len, true), IRTC_OK, "%s: inbound init",
           v->name);
}

static void test_known_answers(const vector_t *v)
{
    sec_session_t out, in;
    pair_init(v, &out, &in);
    uint8_t buf[BUF_CAP];
    size_t len = sizeof(rtp_plain);
    memcpy(buf, rtp_plain, len);
    is_int(sec_protect_rtp(&out, buf, &len, sizeof(buf)), IRTC_OK, "%s: protect RTP", v->name);
    is_int(len, v->srtp_len, "%s: SRTP length", v->name);
    is_int(len - sizeof(rtp_plain), sec_rtp_overhead(v->profile), "%s: sec_rtp_overhead is what was added", v->name);
    ok(memcmp(buf, v->srtp, v->srtp_len) == 0, "%s: SRTP bytes match libsrtp's reference", v->name);

    len = sizeof(rtcp_plain);
    memcpy(buf, rtcp_plain, len);
    is_int(sec_protect_rtcp(&out, buf, &len, sizeof(buf)), IRTC_OK, "%s: protect RTCP", v->name);
    is_int(len, v->srtcp_len, "%s: SRTCP length", v->name);
    is_int(len - sizeof(rtcp_plain), sec_rtcp_overhead(v->profile), "%s: sec_rtcp_overhead", v->name);
    ok(memcmp(buf, v->srtcp, v->srtcp_len) == 0, "%s: SRTCP bytes match the reference", v->name);

    len = v->srtp_len;
    memcpy(buf, v->srtp, len);
    is_int(sec_unprotect_rtp(&in, buf, &len), IRTC_OK, "%s: unprotect reference SRTP", v->name);
    ok(len == sizeof(rtp_plain) && memcmp(buf, rtp_plain, len) == 0, "%s: plaintext RTP recovered", v->name);
    len = v->srtcp_len;
    memcpy(buf, v->srtcp, len);
    is_int(sec_unprotect_rtcp(&in, buf, &len), IRTC_OK, "%s: unprotect reference SRTCP", v->name);
    ok(len == sizeof(rtcp_plain) && memcmp(buf, rtcp_plain, len) == 0, "%s: plaintext RTCP recovered", v->name);
    sec_session_dispose(&out);
    sec_session_dispose(&in);
}

static size_t make_rtp(uint8_t *buf, uint16_t seq, size_t payload)
{
    buf[0] = 0x80;
    buf[1] = 96;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    memset(buf + 4, 0x11, 4);                          /* timestamp */
    memcpy(buf + 8, (const uint8_t[]){1, 2, 3, 4}, 4); /* SSRC */
    for (size_t i = 0; i < payload; i++)
        buf[12 + i] = (uint8_t)(i * 7 + seq);
    return 12 + payload;
}

static void test_round_trip_and_attacks(const vector_t *v)
{
    sec_session_t out, in;
    pair_init(v, &out, &in);
    uint8_t plain[BUF_CAP], buf[BUF_CAP], copy[BUF_CAP];
    size_t plen = make_rtp(plain, 1000, 1188);
    size_t len = plen;
    memcpy(buf, plain, plen);
    is_int(sec_protect_rtp(&out, buf, &len, sizeof(buf)), IRTC_OK, "%s: protect 1200-byte RTP", v->name);
    is_int(len, plen + sec_rtp_overhead(v->profile), "%s: grown by the tag only", v->name);
    ok(memcmp(buf, plain, 12) == 0 && memcmp(buf + 12, plain + 12, plen - 12) != 0,
       "%s: header clear, payload encrypted", v->name);
    size_t clen = len;
    memcpy(copy, buf, clen);

    /* Retransmission with the same sequence number and payload. */
    uint8_t again[BUF_CAP];
    size_t alen = plen;
    memcpy(again, plain, plen);
    is_int(sec_protect_rtp(&out, again, &alen, sizeof(again)), IRTC_OK, "%s: outbound re-protect of same seq allowed",
           v->name);
    ok(alen == clen && memcmp(again, copy, clen) == 0, "%s: retransmission is byte-identical", v->name);

    is_int(sec_unprotect_rtp(&in, buf, &len), IRTC_OK, "%s: unprotect", v->name);
    ok(len == plen && memcmp(buf, plain, plen) == 0, "%s: round trip restores the packet", v->name);

    len = clen;
    memcpy(buf, copy, clen);
    is_int(sec_unprotect_rtp(&in, buf, &len), IRTC_ECRYPTO, "%s: replayed SRTP rejected", v->name);

    /* Tampering: next packet, one payload bit flipped, then the tag. */
    plen = make_rtp(plain, 1001, 200);
    len = plen;
    memcpy(buf, plain, plen);
    sec_protect_rtp(&out, buf, &len, sizeof(buf));
    clen = len;
    memcpy(copy, buf, clen);
    buf[40] ^= 0x01;
    is_int(sec_unprotect_rtp(&in, buf, &len), IRTC_ECRYPTO, "%s: flipped payload bit rejected", v->name);
    len = clen;
    memcpy(buf, copy, clen);
    buf[clen - 1] ^= 0x80;
    is_int(sec_unprotect_rtp(&in, buf, &len), IRTC_ECRYPTO, "%s: flipped tag bit rejected", v->name);
    len = clen;
    memcpy(buf, copy, clen);
    is_int(sec_unprotect_rtp(&in, buf, &len), IRTC_OK, "%s: the untouched packet still passes after failures", v->name);

    /* RTCP round trip, tamper, replay. */
    len = sizeof(rtcp_plain);
    memcpy(buf, rtcp_plain, len);
    is_int(sec_protect_rtcp(&out, buf, &len, sizeof(buf)), IRTC_OK, "%s: protect RTCP", v->name);
    clen = len;
    memcpy(copy, buf, clen);
    buf[10] ^= 0x04;
    is_int(sec_unprotect_rtcp(&in, buf, &len), IRTC_ECRYPTO, "%s: tampered SRTCP rejected", v->name);
    len = clen;
    memcpy(buf, copy, clen);
    is_int(sec_unprotect_rtcp(&in, buf, &len), IRTC_OK, "%s: SRTCP unprotect", v->name);
    ok(len == sizeof(rtcp_plain) && memcmp(buf, rtcp_plain, len) == 0, "%s: RTCP round trip", v->name);
    len = clen;
    memcpy(buf, copy, clen);
    is_int(sec_unprotect_rtcp(&in, buf, &len), IRTC_ECRYPTO, "%s: replayed SRTCP rejected", v->name);

    sec_session_dispose(&out);
    sec_session_dispose(&in);
}

static void test_wrong_key(void)
{
    sec_session_t out, in;
    uint8_t other[16];
    memcpy(other, cm_key, 16);
    other[0] ^= 1;
    sec_session_init(&out, SEC_PROFILE_AES128_CM_SHA1_80, cm_key, 16, cm_salt, 14, false);
    is_int(sec_session_init(&in, SEC_PROFILE_AES128_CM_SHA1_80, other, 16, cm_salt, 14, true), IRTC_OK,
           "inbound with another key");
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 5, 100);
    sec_protect_rtp(&out, buf, &len, sizeof(buf));
    is_int(sec_unprotect_rtp(&in, buf, &len), IRTC_ECRYPTO, "packet under another key is rejected");
    sec_session_dispose(&out);
    sec_session_dispose(&in);
}

static void test_argument_checks(void)
{
    sec_session_t s;
    is_int(sec_init_library(), IRTC_OK, "sec_init_library");
    is_int(sec_init_library(), IRTC_OK, "sec_init_library twice");
    is_int(sec_session_init(&s, 0x0002 /* AES_CM_SHA1_32 */, cm_key, 16, cm_salt, 14, false), IRTC_EINVAL,
           "unsupported profile");
    ok(s.srtp == NULL, "failed init leaves the session empty");
    is_int(sec_session_init(&s, SEC_PROFILE_AES128_CM_SHA1_80, cm_key, 15, cm_salt, 14, false), IRTC_EINVAL,
           "short key");
    is_int(sec_session_init(&s, SEC_PROFILE_AEAD_AES_128_GCM, gcm_key, 16, cm_salt, 14, false), IRTC_EINVAL,
           "GCM with a 14-byte salt");
    is_int(sec_session_init(&s, SEC_PROFILE_AES128_CM_SHA1_80, cm_key, 16, gcm_salt, 12, false), IRTC_EINVAL,
           "AES-CM with a 12-byte salt");
    is_int(sec_rtp_overhead(99), 0, "overhead of an unknown profile");
    is_int(sec_rtcp_overhead(99), 0, "RTCP overhead of an unknown profile");

    uint8_t buf[BUF_CAP], before[BUF_CAP];
    size_t len = make_rtp(buf, 7, 100);
    memcpy(before, buf, sizeof(buf));
    is_int(sec_protect_rtp(&s, buf, &len, sizeof(buf)), IRTC_EINVAL, "protect on an uninitialised session");

    sec_session_t out, in;
    sec_session_init(&out, SEC_PROFILE_AEAD_AES_128_GCM, gcm_key, 16, gcm_salt, 12, false);
    sec_session_init(&in, SEC_PROFILE_AEAD_AES_128_GCM, gcm_key, 16, gcm_salt, 12, true);
    is_int(sec_protect_rtp(&out, buf, &len, len + SEC_MAX_TRAILER - 1), IRTC_EINVAL, "cap without trailer room");
    ok(len == 112 && memcmp(buf, before, sizeof(buf)) == 0, "refused protect leaves buffer and length untouched");
    is_int(sec_protect_rtp(&out, buf, &len, len + SEC_MAX_TRAILER), IRTC_OK, "cap of exactly len + SEC_MAX_TRAILER");
    size_t rlen = 20;
    is_int(sec_protect_rtcp(&out, buf, &rlen, rlen + SEC_MAX_TRAILER - 1), IRTC_EINVAL, "RTCP cap too small");
    is_int(sec_protect_rtp(&in, buf, &len, sizeof(buf)), IRTC_EINVAL, "protect on an inbound session");
    is_int(sec_unprotect_rtp(&out, buf, &len), IRTC_EINVAL, "unprotect on an outbound session");
    is_int(sec_protect_rtcp(&in, buf, &rlen, sizeof(buf)), IRTC_EINVAL, "protect RTCP on an inbound session");
    is_int(sec_unprotect_rtcp(&out, buf, &rlen), IRTC_EINVAL, "unprotect RTCP on an outbound session");
    size_t tiny = 11;
    is_int(sec_protect_rtp(&out, buf, &tiny, sizeof(buf)), IRTC_EINVAL, "RTP shorter than a header");
    is_int(sec_unprotect_rtp(&in, buf, &tiny), IRTC_EINVAL, "SRTP shorter than a header");
    tiny = 7;
    is_int(sec_protect_rtcp(&out, buf, &tiny, sizeof(buf)), IRTC_EINVAL, "RTCP shorter than a header");
    is_int(sec_unprotect_rtcp(&in, buf, &tiny), IRTC_EINVAL, "SRTCP shorter than a header");
    tiny = 20; /* a header and no room for a GCM tag: cannot authenticate */
    memcpy(buf, rtp_plain, 20);
    ok(sec_unprotect_rtp(&in, buf, &tiny) != IRTC_OK, "SRTP without a whole tag is dropped");

    sec_session_dispose(&out);
    sec_session_dispose(&in);
    ok(out.srtp == NULL, "dispose clears the session");
    sec_session_dispose(&out);
    sec_session_t zero;
    memset(&zero, 0, sizeof(zero));
    ok(memcmp(&out, &zero, sizeof(out)) == 0, "dispose twice leaves the session cleared (no double free)");
    len = 100;
    is_int(sec_protect_rtp(&out, buf, &len, sizeof(buf)), IRTC_EINVAL, "protect after dispose");
}

int main(void)
{
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(vectors); i++) {
        test_known_answers(&vectors[i]);
        test_round_trip_and_attacks(&vectors[i]);
    }
    test_wrong_key();
    test_argument_checks();
    return done_testing();
}
