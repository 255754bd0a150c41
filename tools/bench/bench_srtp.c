/*
 * bench_srtp.c — micro-benchmark of the SRTP packet path (not a test): ns
 * per 1200-byte RTP packet for protect and unprotect with each DTLS-SRTP
 * profile, and the cost of keying a session (srtp_create), on one thread.
 * Numbers depend on the libsrtp2 build (Debian's uses NSS; see
 * docs/ARCHITECTURE.md), so run it on the target machine; with
 * IRTC_SRTP_GCM=libsrtp the GCM line measures libsrtp2 instead of srtp_gcm.c,
 * with IRTC_SRTP_GCM=provider srtp_gcm.c through OpenSSL's provider layer:
 *
 *   cc -std=gnu11 -O2 -Isrc -o bench_srtp tools/bench/bench_srtp.c \
 *      src/media/srtp_session.c src/media/srtp_gcm.c src/core/common.c \
 *      $(pkg-config --cflags --libs openssl libsrtp2) -pthread
 *   ./bench_srtp [packets]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "media/srtp_session.h"
#include "core/common.h"

#define PKT_LEN 1200
#define SLOT (PKT_LEN + SEC_MAX_TRAILER)

/* This thread's CPU time, not the wall clock: on a shared machine a
 * preempted loop would otherwise count other processes' time. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void make_rtp(uint8_t *p, uint32_t i)
{
    p[0] = 0x80;
    p[1] = 96;
    p[2] = (uint8_t)(i >> 8);
    p[3] = (uint8_t)i;
    p[4] = (uint8_t)(i >> 24); /* timestamp */
    p[5] = (uint8_t)(i >> 16);
    p[6] = (uint8_t)(i >> 8);
    p[7] = (uint8_t)i;
    memcpy(p + 8, "\x12\x34\x56\x78", 4);
    for (int k = 12; k < PKT_LEN; k++)
        p[k] = (uint8_t)(k * 7);
}

static int bench(const char *name, int profile, size_t salt_len, uint32_t n, uint8_t *slots)
{
    static const uint8_t key[16] = "0123456789abcdef", salt[14] = "saltsaltsalt12";
    sec_session_t out, in;
    /* The first session of a process pays one-time costs (OpenSSL fetches
     * its cipher implementations): report it apart from the steady state,
     * which is what every later join pays. */
    uint64_t t0 = now_ns();
    if (sec_session_init(&out, profile, key, 16, salt, salt_len, false) != IRTC_OK)
        return -1;
    uint64_t t_first = now_ns() - t0;
    sec_session_dispose(&out);
    enum { CREATES = 50 };
    t0 = now_ns();
    for (int i = 0; i < CREATES; i++) {
        if (sec_session_init(&out, profile, key, 16, salt, salt_len, i % 2 == 1) != IRTC_OK)
            return -1;
        sec_session_dispose(&out);
    }
    uint64_t t_create = (now_ns() - t0) / CREATES;
    if (sec_session_init(&out, profile, key, 16, salt, salt_len, false) != IRTC_OK)
        return -1;
    if (sec_session_init(&in, profile, key, 16, salt, salt_len, true) != IRTC_OK)
        return -1;

    size_t *lens = xmalloc(n * sizeof(*lens));
    for (uint32_t i = 0; i < n; i++)
        make_rtp(slots + (size_t)i * SLOT, i);
    t0 = now_ns();
    for (uint32_t i = 0; i < n; i++) {
        lens[i] = PKT_LEN;
        if (sec_protect_rtp(&out, slots + (size_t)i * SLOT, &lens[i], SLOT) != IRTC_OK)
            return -1;
    }
    uint64_t t_protect = now_ns() - t0;
    t0 = now_ns();
    for (uint32_t i = 0; i < n; i++)
        if (sec_unprotect_rtp(&in, slots + (size_t)i * SLOT, &lens[i]) != IRTC_OK)
            return -1;
    uint64_t t_unprotect = now_ns() - t0;
    /* The numbers above stream n distinct packets through memory; a media
     * worker fans one packet out into a few hundred send slots that stay in
     * the cache, copying the payload in and protecting it there: that is
     * this one (copy included), where per-call overhead shows most. */
    uint8_t *hot = slots + (size_t)n * SLOT;
    make_rtp(slots, 7);
    t0 = now_ns();
    for (uint32_t i = 0; i < n; i++) {
        size_t len = PKT_LEN;
        memcpy(hot, slots, PKT_LEN);
        uint32_t seq = n + i; /* after the packets above, as a stream goes on */
        hot[2] = (uint8_t)(seq >> 8), hot[3] = (uint8_t)seq;
        if (sec_protect_rtp(&out, hot, &len, SLOT) != IRTC_OK)
            return -1;
    }
    uint64_t t_hot = now_ns() - t0;

    printf("%-24s protect %5.0f ns/pkt  unprotect %5.0f ns/pkt  session create %7.1f us (first %.0f us)\n", name,
           (double)t_protect / n, (double)t_unprotect / n, t_create / 1000.0, t_first / 1000.0);
    printf("%-24s copy + protect in one cached slot %5.0f ns/pkt\n", name, (double)t_hot / n);
    free(lens);
    sec_session_dispose(&out);
    sec_session_dispose(&in);
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 50000;
    if (n == 0 || n > 65000) /* one sequence-number cycle, no rollover in the numbers */
        n = 50000;
    uint8_t *slots = xmalloc((size_t)(n + 1) * SLOT);
    uint64_t t0 = now_ns();
    if (sec_init_library() != IRTC_OK)
        return 1;
    /* Once per process (srtp_init runs the crypto self-tests), so kept out of
     * the per-session number below. */
    const char *e = getenv("IRTC_SRTP_GCM");
    printf("%u RTP packets of %d bytes, one thread; library init %.0f us; GCM on %s\n", n, PKT_LEN,
           (now_ns() - t0) / 1000.0, e != NULL && strcmp(e, "libsrtp") == 0    ? "libsrtp2"
           : e != NULL && strcmp(e, "provider") == 0 ? "OpenSSL EVP through its provider layer (srtp_gcm.c)"
                                                     : "OpenSSL's AES-GCM method, called directly (srtp_gcm.c)");
    int rc = bench("AEAD_AES_128_GCM", SEC_PROFILE_AEAD_AES_128_GCM, SEC_SALT_LEN_GCM, n, slots);
    rc |= bench("AES_CM_128_HMAC_SHA1_80", SEC_PROFILE_AES128_CM_SHA1_80, SEC_SALT_LEN_CM, n, slots);
    free(slots);
    if (rc != 0)
        fprintf(stderr, "bench_srtp: an SRTP call failed\n");
    return rc != 0;
}
