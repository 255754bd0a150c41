/*
 * test_srtp_gcm.c — srtp_gcm.c (AEAD_AES_128_GCM on OpenSSL EVP) against
 * libsrtp2 itself, bit for bit: the same keys and packets give the same
 * bytes in both directions, for RTP with CSRCs, header extensions, padding,
 * empty payloads, several SSRCs, sequence-number rollover (from below and
 * above 2^15) and reordering, and for SRTCP; then replay, too-old and
 * tampered packets, the SSRC limit, argument checks, and sec_session_t
 * choosing this implementation for GCM.  The byte-for-byte checks run on
 * both of srtp_gcm.c's paths into OpenSSL (its AES-GCM method called
 * directly, and the provider layer).
 */
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "core/common.h"
#include "media/srtp_gcm.h"
#include "media/srtp_session.h"
#include "unit/tap.h"

#define CAP 2048

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static srtp_t lib_session(const uint8_t key[16], const uint8_t salt[12], bool inbound)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof(p));
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    uint8_t master[30] = {0};
    memcpy(master, key, 16);
    memcpy(master + 16, salt, 12);
    p.key = master;
    p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    p.window_size = 1024;
    p.allow_repeat_tx = inbound ? 0 : 1;
    srtp_t s = NULL;
    if (srtp_create(&s, &p) != srtp_err_status_ok)
        return NULL;
    return s;
}

/* A random RTP packet: CSRCs, a one- or two-byte-form extension block,
 * padding, payload 0..1200 bytes. */
static size_t make_rtp(uint8_t *p, uint32_t ssrc, uint16_t seq)
{
    unsigned cc = rnd() % 4, ext = rnd() % 3, pad = rnd() % 4 == 0 ? 1 + rnd() % 20 : 0;
    size_t payload = rnd() % 8 == 0 ? 0 : rnd() % 1201;
    size_t n = 0;
    p[n++] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | (pad ? 0x20 : 0) | cc);
    p[n++] = (uint8_t)((rnd() & 0x80) | 96);
    p[n++] = (uint8_t)(seq >> 8), p[n++] = (uint8_t)seq;
    uint32_t ts = rnd();
    for (int i = 3; i >= 0; i--)
        p[n++] = (uint8_t)(ts >> (8 * i));
    for (int i = 3; i >= 0; i--)
        p[n++] = (uint8_t)(ssrc >> (8 * i));
    for (unsigned i = 0; i < cc * 4; i++)
        p[n++] = (uint8_t)rnd();
    if (ext) {
        unsigned words = 1 + rnd() % 3;
        p[n++] = ext == 1 ? 0xbe : 0x10, p[n++] = ext == 1 ? 0xde : 0x00;
        p[n++] = 0, p[n++] = (uint8_t)words;
        for (unsigned i = 0; i < words * 4; i++)
            p[n++] = (uint8_t)rnd();
    }
    for (size_t i = 0; i < payload; i++)
        p[n++] = (uint8_t)rnd();
    if (pad) {
        for (unsigned i = 1; i < pad; i++)
            p[n++] = 0;
        p[n++] = (uint8_t)pad;
    }
    return n;
}

static size_t make_rtcp(uint8_t *p, uint32_t ssrc)
{
    size_t words = 1 + rnd() % 40, n = 4 + 4 * words;
    p[0] = 0x80 | (uint8_t)(rnd() % 32);
    p[1] = (uint8_t)(200 + rnd() % 7);
    p[2] = (uint8_t)(words >> 8), p[3] = (uint8_t)words;
    for (int i = 3; i >= 0; i--)
        p[4 + 3 - i] = (uint8_t)(ssrc >> (8 * i));
    for (size_t i = 8; i < n; i++)
        p[i] = (uint8_t)rnd();
    return n;
}

static void test_cross_check(void)
{
    uint8_t key[16], salt[12];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)rnd();
    for (int i = 0; i < 12; i++)
        salt[i] = (uint8_t)rnd();
    srtp_t lib_out = lib_session(key, salt, false), lib_in = lib_session(key, salt, true);
    sec_gcm_t *out = sec_gcm_new(key, salt, false), *in = sec_gcm_new(key, salt, true);
    ok(lib_out && lib_in && out && in, "sessions keyed (libsrtp and EVP)");

    /* Three SSRCs: one starting low, one just below the 2^16 wrap, one
     * starting above 2^15 (libsrtp's "no guess yet" rule). */
    uint32_t ssrcs[3] = {0x11111111, 0x22222222, 0x33333333};
    uint16_t seqs[3] = {1, 65000, 40000};
    int rtp_same = 0, rtp_total = 0, lib_opens_ours = 0, ours_opens_lib = 0, plain_back = 0;
    for (int i = 0; i < 6000; i++) {
        int k = (int)(rnd() % 3);
        uint16_t seq = seqs[k]++;
        /* Now and then send an older sequence number again (a NACK answer)
         * or jump ahead (loss). */
        if (rnd() % 50 == 0)
            seq = (uint16_t)(seq - 1 - rnd() % 100);
        if (rnd() % 100 == 0)
            seqs[k] += (uint16_t)(rnd() % 300);
        uint8_t a[CAP], b[CAP], plain[CAP];
        size_t n = make_rtp(plain, ssrcs[k], seq);
        memcpy(a, plain, n);
        memcpy(b, plain, n);
        size_t alen = n;
        int blen = (int)n;
        int rc_a = sec_gcm_protect_rtp(out, a, &alen, CAP);
        srtp_err_status_t rc_b = srtp_protect(lib_out, b, &blen);
        rtp_total++;
        if (rc_a == IRTC_OK && rc_b == srtp_err_status_ok && alen == (size_t)blen && memcmp(a, b, alen) == 0)
            rtp_same++;
        else if (rtp_total - rtp_same < 3)
            printf("# rtp %d: ours %d len %zu, libsrtp %d len %d (seq %u)\n", i, rc_a, alen, rc_b, blen, seq);
        /* Replayed indices are refused by either receiver: only open new ones. */
        uint8_t c[CAP];
        memcpy(c, a, alen);
        int clen = (int)alen;
        srtp_err_status_t st = srtp_unprotect(lib_in, c, &clen);
        size_t dlen = alen;
        int rc_d = sec_gcm_unprotect_rtp(in, a, &dlen);
        if (st == srtp_err_status_ok)
            lib_opens_ours++;
        if (rc_d == IRTC_OK)
            ours_opens_lib++;
        if (rc_d == IRTC_OK && dlen == n && memcmp(a, plain, n) == 0 && st == srtp_err_status_ok)
            plain_back++;
        if ((st == srtp_err_status_ok) != (rc_d == IRTC_OK) && rtp_total < 10000)
            printf("# rtp %d: libsrtp unprotect %d, ours %d (seq %u)\n", i, st, rc_d, seq);
    }
    is_int(rtp_same, rtp_total, "SRTP: every packet protected to the same bytes as libsrtp (%d)", rtp_total);
    is_int(lib_opens_ours, ours_opens_lib, "SRTP: both receivers accept the same packets (%d)", lib_opens_ours);
    ok(lib_opens_ours > 5500, "SRTP: most packets were new (the rest are repeats) (%d)", lib_opens_ours);
    is_int(plain_back, lib_opens_ours, "SRTP: what was accepted decrypts to the original");
    ok(seqs[1] < 65000, "the sequence numbers really wrapped around (now %u)", seqs[1]);

    int rtcp_same = 0, rtcp_opened = 0;
    for (int i = 0; i < 500; i++) {
        uint8_t a[CAP], b[CAP], plain[CAP];
        size_t n = make_rtcp(plain, ssrcs[i % 3]);
        memcpy(a, plain, n);
        memcpy(b, plain, n);
        size_t alen = n;
        int blen = (int)n;
        if (sec_gcm_protect_rtcp(out, a, &alen, CAP) == IRTC_OK &&
            srtp_protect_rtcp(lib_out, b, &blen) == srtp_err_status_ok && alen == (size_t)blen &&
            memcmp(a, b, alen) == 0)
            rtcp_same++;
        size_t dlen = alen;
        if (sec_gcm_unprotect_rtcp(in, b, &dlen) == IRTC_OK && dlen == n && memcmp(b, plain, n) == 0)
            rtcp_opened++;
    }
    is_int(rtcp_same, 500, "SRTCP: every packet protected to the same bytes as libsrtp");
    is_int(rtcp_opened, 500, "SRTCP: libsrtp's packets open with ours");

    srtp_dealloc(lib_out);
    srtp_dealloc(lib_in);
    sec_gcm_free(out);
    sec_gcm_free(in);
}

/* Our sender, libsrtp's receiver, for SRTCP the other way round. */
static void test_lib_receives(void)
{
    uint8_t key[16] = {1, 2, 3}, salt[12] = {9, 8, 7};
    srtp_t lib_in = lib_session(key, salt, true), lib_out = lib_session(key, salt, false);
    sec_gcm_t *out = sec_gcm_new(key, salt, false), *in = sec_gcm_new(key, salt, true);
    int good = 0;
    for (int i = 0; i < 200; i++) {
        uint8_t p[CAP], q[CAP];
        size_t n = make_rtcp(p, 0xabcdef01);
        memcpy(q, p, n);
        int qn = (int)n;
        size_t pn = n;
        if (srtp_protect_rtcp(lib_out, q, &qn) != srtp_err_status_ok ||
            sec_gcm_protect_rtcp(out, p, &pn, CAP) != IRTC_OK)
            continue;
        int pn2 = (int)pn;
        size_t qn2 = (size_t)qn;
        if (srtp_unprotect_rtcp(lib_in, p, &pn2) == srtp_err_status_ok && (size_t)pn2 == n &&
            sec_gcm_unprotect_rtcp(in, q, &qn2) == IRTC_OK && qn2 == n)
            good++;
    }
    is_int(good, 200, "SRTCP both ways between libsrtp and ours");
    srtp_dealloc(lib_in);
    srtp_dealloc(lib_out);
    sec_gcm_free(out);
    sec_gcm_free(in);
}

static void test_replay_and_tamper(void)
{
    uint8_t key[16] = {7}, salt[12] = {3};
    sec_gcm_t *out = sec_gcm_new(key, salt, false), *in = sec_gcm_new(key, salt, true);
    uint8_t p[CAP], q[CAP];
    size_t n = make_rtp(p, 0x5555, 100), len = n;
    is_int(sec_gcm_protect_rtp(out, p, &len, CAP), IRTC_OK, "protect");
    is_int(len, n + SEC_GCM_TAG_LEN, "the tag adds 16 bytes");
    memcpy(q, p, len);
    size_t l2 = len;
    is_int(sec_gcm_unprotect_rtp(in, q, &l2), IRTC_OK, "unprotect");
    memcpy(q, p, len);
    l2 = len;
    is_int(sec_gcm_unprotect_rtp(in, q, &l2), IRTC_ECRYPTO, "the same packet again is a replay");

    /* A tampered byte anywhere (header = AAD, payload, tag) fails. */
    size_t spots[3] = {5, n - 1, len - 1};
    for (int i = 0; i < 3; i++) {
        uint8_t r[CAP];
        size_t m = make_rtp(r, 0x5555, (uint16_t)(200 + i)), ml = m;
        sec_gcm_protect_rtp(out, r, &ml, CAP);
        r[spots[i] < ml ? spots[i] : ml - 1] ^= 0x01;
        is_int(sec_gcm_unprotect_rtp(in, r, &ml), IRTC_ECRYPTO, "a flipped bit fails authentication (%d)", i);
    }

    /* 1100 packets later, seq 100 is too old for the 1024-packet window;
     * the sender also refuses to re-protect it. */
    for (uint16_t s = 300; s < 1400; s++) {
        size_t m = make_rtp(q, 0x5555, s);
        sec_gcm_protect_rtp(out, q, &m, CAP);
        sec_gcm_unprotect_rtp(in, q, &m);
    }
    memcpy(q, p, len);
    l2 = len;
    is_int(sec_gcm_unprotect_rtp(in, q, &l2), IRTC_ECRYPTO, "a packet older than the window is refused");
    n = make_rtp(q, 0x5555, 100);
    is_int(sec_gcm_protect_rtp(out, q, &n, CAP), IRTC_ECRYPTO, "the sender will not reuse an index that old");
    n = make_rtp(q, 0x5555, 1000);
    is_int(sec_gcm_protect_rtp(out, q, &n, CAP), IRTC_OK, "but resends one inside the window (a NACK answer)");

    /* Arguments. */
    n = make_rtp(q, 1, 1);
    size_t small = n;
    is_int(sec_gcm_protect_rtp(out, q, &small, n + 15), IRTC_EINVAL, "no room for the tag");
    is_int(sec_gcm_unprotect_rtp(out, q, &small), IRTC_EINVAL, "unprotect on an outbound session");
    is_int(sec_gcm_protect_rtp(in, q, &small, CAP), IRTC_EINVAL, "protect on an inbound session");
    q[0] = 0x40;
    small = n;
    is_int(sec_gcm_protect_rtp(out, q, &small, CAP), IRTC_EINVAL, "not RTP version 2");
    q[0] = 0x9f; /* 15 CSRCs: longer than the packet */
    small = 20;
    is_int(sec_gcm_protect_rtp(out, q, &small, CAP), IRTC_EINVAL, "header longer than the packet");
    small = 20;
    is_int(sec_gcm_unprotect_rtp(in, q, &small), IRTC_EINVAL, "unprotect: header longer than the packet");
    small = 27;
    q[0] = 0x80;
    is_int(sec_gcm_unprotect_rtp(in, q, &small), IRTC_EINVAL, "shorter than header + tag");
    small = 8 + 16 + 3;
    is_int(sec_gcm_unprotect_rtcp(in, q, &small), IRTC_EINVAL, "SRTCP shorter than header + tag + index");
    sec_gcm_free(out);
    sec_gcm_free(in);
}

static void test_ssrc_limit(void)
{
    uint8_t key[16] = {4}, salt[12] = {4};
    sec_gcm_t *out = sec_gcm_new(key, salt, false), *in = sec_gcm_new(key, salt, true);
    int accepted = 0;
    for (uint32_t ssrc = 1; ssrc <= SEC_GCM_MAX_STREAMS + 10; ssrc++) {
        uint8_t p[CAP];
        size_t n = make_rtp(p, ssrc, 1);
        if (sec_gcm_protect_rtp(out, p, &n, CAP) == IRTC_OK && sec_gcm_unprotect_rtp(in, p, &n) == IRTC_OK)
            accepted++;
    }
    is_int(accepted, SEC_GCM_MAX_STREAMS, "at most %d SSRCs per direction; more are refused", SEC_GCM_MAX_STREAMS);
    /* A forged packet with a new SSRC does not take a slot: the table stays
     * usable for a known SSRC. */
    uint8_t p[CAP];
    size_t n = make_rtp(p, 7, 2);
    is_int(sec_gcm_protect_rtp(out, p, &n, CAP), IRTC_OK, "a known SSRC still works at the limit");
    is_int(sec_gcm_unprotect_rtp(in, p, &n), IRTC_OK, "and is received");
    sec_gcm_free(out);
    sec_gcm_free(in);
}

static void test_session_uses_it(void)
{
    uint8_t key[16] = {5}, salt[12] = {6};
    sec_session_t s;
    is_int(sec_session_init(&s, SEC_PROFILE_AEAD_AES_128_GCM, key, 16, salt, 12, false), IRTC_OK, "GCM session");
    ok(s.gcm != NULL && s.srtp == NULL, "a GCM sec_session_t runs on srtp_gcm.c");
    sec_session_dispose(&s);
    uint8_t salt14[14] = {6};
    is_int(sec_session_init(&s, SEC_PROFILE_AES128_CM_SHA1_80, key, 16, salt14, 14, false), IRTC_OK, "CM session");
    ok(s.gcm == NULL && s.srtp != NULL, "an AES-CM session stays on libsrtp");
    sec_session_dispose(&s);
}

int main(void)
{
    unsetenv("IRTC_SRTP_GCM");
    if (sec_init_library() != IRTC_OK) /* srtp_init, once for the process */
        return 1;
    test_cross_check();
    test_lib_receives();
    test_replay_and_tamper();
    test_ssrc_limit();
    test_session_uses_it();
    /* The same checks on OpenSSL's provider path, which IRTC_SRTP_GCM=provider
     * selects instead of the direct method (srtp_gcm.c, direct_gcm). */
    setenv("IRTC_SRTP_GCM", "provider", 1);
    printf("# again through OpenSSL's provider layer (IRTC_SRTP_GCM=provider)\n");
    test_cross_check();
    test_lib_receives();
    test_replay_and_tamper();
    return done_testing();
}
