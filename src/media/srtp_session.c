/*
 * srtp_session.c — SRTP/SRTCP sessions keyed by DTLS-SRTP: AES-GCM on
 * srtp_gcm.c (OpenSSL EVP), AES-CM on libsrtp2.
 *
 * Runs on the media worker that owns the session; protect/unprotect are per
 * packet: no allocation, no locks, no logging.  The only shared state is
 * libsrtp's crypto kernel, initialised once under pthread_once and read-only
 * afterwards.
 *
 * Does not: parse RTP, log drops (callers count them) or rekey.
 */
#include "media/srtp_session.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "core/common.h"
#include "media/srtp_gcm.h"

_Static_assert(SEC_MAX_TRAILER == SRTP_MAX_TRAILER_LEN + 4, "SEC_MAX_TRAILER must cover SRTCP's index");
_Static_assert(SEC_KEY_LEN == SRTP_AES_128_KEY_LEN, "AES-128 master key");
_Static_assert(SEC_SALT_LEN_CM == SRTP_SALT_LEN && SEC_SALT_LEN_GCM == SRTP_AEAD_SALT_LEN, "salt lengths");

/* RFC 3711 §9.2 recommends at least 64; 1024 tolerates the reordering of
 * simulcast bursts and NACK retransmissions arriving late. */
#define REPLAY_WINDOW 1024
#define RTP_MIN_LEN 12
#define RTCP_MIN_LEN 8
/* SRTCP adds the E flag + 31-bit index word before the tag (RFC 3711 §3.4). */
#define SRTCP_INDEX_LEN 4

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_init_fail;

/* IRTC_SRTP_GCM=libsrtp: GCM on libsrtp2 as before srtp_gcm.c, read once,
 * so that a benchmark can measure both on the same build. */
static bool gcm_on_libsrtp;

static void init_library(void)
{
    const char *e = getenv("IRTC_SRTP_GCM");
    gcm_on_libsrtp = e != NULL && strcmp(e, "libsrtp") == 0;
    init_status = srtp_init();
    /* OpenSSL loads and fetches its AES-GCM implementation on first use
     * (~2.5 ms here): pay it now rather than on a worker's first join. */
    static const uint8_t zero[16];
    sec_gcm_free(sec_gcm_new(zero, zero, false));
}

int sec_init_library(void)
{
    pthread_once(&init_once, init_library);
    return init_status == srtp_err_status_ok ? IRTC_OK : IRTC_ECRYPTO;
}

static size_t tag_len(int profile)
{
    switch (profile) {
    case SEC_PROFILE_AES128_CM_SHA1_80:
        return 10; /* HMAC-SHA1 truncated to 80 bits */
    case SEC_PROFILE_AEAD_AES_128_GCM:
        return 16;
    default:
        return 0;
    }
}

size_t sec_rtp_overhead(int profile)
{
    return tag_len(profile);
}

size_t sec_rtcp_overhead(int profile)
{
    size_t t = tag_len(profile);
    return t ? t + SRTCP_INDEX_LEN : 0;
}

static size_t salt_len(int profile)
{
    return profile == SEC_PROFILE_AEAD_AES_128_GCM ? SEC_SALT_LEN_GCM : SEC_SALT_LEN_CM;
}

int sec_session_init(sec_session_t *s, int profile, const uint8_t *key, size_t keylen, const uint8_t *salt,
                     size_t saltlen, bool inbound)
{
    memset(s, 0, sizeof(*s));
    if (tag_len(profile) == 0 || keylen != SEC_KEY_LEN || saltlen != salt_len(profile))
        return IRTC_EINVAL;
    if (sec_init_library() != IRTC_OK)
        return IRTC_ECRYPTO;
    if (profile == SEC_PROFILE_AEAD_AES_128_GCM && !gcm_on_libsrtp) {
        s->gcm = sec_gcm_new(key, salt, inbound);
        if (s->gcm == NULL)
            return IRTC_ECRYPTO;
        s->profile = profile;
        s->inbound = inbound;
        return IRTC_OK;
    }

    srtp_policy_t policy;
    memset(&policy, 0, sizeof(policy));
    if (profile == SEC_PROFILE_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    }
    /* libsrtp wants key || salt in one buffer (RFC 5764 §4.2 hands them over
     * separately); SRTP_AES_ICM_128_KEY_LEN_WSALT is the larger of the two. */
    uint8_t master[SRTP_AES_ICM_128_KEY_LEN_WSALT];
    memcpy(master, key, keylen);
    memcpy(master + keylen, salt, saltlen);
    policy.key = master;
    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.window_size = REPLAY_WINDOW;
    /* An answer to a NACK may re-send a packet with its original sequence
     * number and payload, which libsrtp would otherwise refuse as a replay. */
    policy.allow_repeat_tx = inbound ? 0 : 1;

    srtp_t ctx = NULL;
    srtp_err_status_t st = srtp_create(&ctx, &policy);
    memset(master, 0, sizeof(master)); /* best effort: libsrtp holds its own copy */
    if (st != srtp_err_status_ok)
        return st == srtp_err_status_bad_param ? IRTC_EINVAL : IRTC_ECRYPTO;
    s->srtp = ctx;
    s->profile = profile;
    s->inbound = inbound;
    return IRTC_OK;
}

void sec_session_dispose(sec_session_t *s)
{
    if (s->srtp != NULL)
        srtp_dealloc(s->srtp);
    sec_gcm_free(s->gcm);
    memset(s, 0, sizeof(*s));
}

static int map_status(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return IRTC_OK;
    case srtp_err_status_auth_fail:
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
    case srtp_err_status_cipher_fail:
        return IRTC_ECRYPTO;
    default:
        return IRTC_EINVAL;
    }
}

/* Shared guards: right direction, sane length, and room for the trailer. */
static int check(const sec_session_t *s, bool want_inbound, size_t len, size_t min_len, size_t room_needed, size_t cap)
{
    if ((s->srtp == NULL && s->gcm == NULL) || s->inbound != want_inbound || len < min_len)
        return IRTC_EINVAL;
    if (len > (size_t)INT_MAX - SEC_MAX_TRAILER || cap < len + room_needed)
        return IRTC_EINVAL;
    return IRTC_OK;
}

int sec_protect_rtp(sec_session_t *s, uint8_t *buf, size_t *len, size_t cap)
{
    int rc = check(s, false, *len, RTP_MIN_LEN, SEC_MAX_TRAILER, cap);
    if (rc != IRTC_OK)
        return rc;
    if (s->gcm != NULL)
        return sec_gcm_protect_rtp(s->gcm, buf, len, cap);
    int n = (int)*len;
    rc = map_status(srtp_protect(s->srtp, buf, &n));
    if (rc == IRTC_OK)
        *len = (size_t)n;
    return rc;
}

int sec_unprotect_rtp(sec_session_t *s, uint8_t *buf, size_t *len)
{
    int rc = check(s, true, *len, RTP_MIN_LEN, 0, *len);
    if (rc != IRTC_OK)
        return rc;
    if (s->gcm != NULL)
        return sec_gcm_unprotect_rtp(s->gcm, buf, len);
    int n = (int)*len;
    rc = map_status(srtp_unprotect(s->srtp, buf, &n));
    if (rc == IRTC_OK)
        *len = (size_t)n;
    return rc;
}

int sec_protect_rtcp(sec_session_t *s, uint8_t *buf, size_t *len, size_t cap)
{
    int rc = check(s, false, *len, RTCP_MIN_LEN, SEC_MAX_TRAILER, cap);
    if (rc != IRTC_OK)
        return rc;
    if (s->gcm != NULL)
        return sec_gcm_protect_rtcp(s->gcm, buf, len, cap);
    int n = (int)*len;
    rc = map_status(srtp_protect_rtcp(s->srtp, buf, &n));
    if (rc == IRTC_OK)
        *len = (size_t)n;
    return rc;
}

int sec_unprotect_rtcp(sec_session_t *s, uint8_t *buf, size_t *len)
{
    int rc = check(s, true, *len, RTCP_MIN_LEN, 0, *len);
    if (rc != IRTC_OK)
        return rc;
    if (s->gcm != NULL)
        return sec_gcm_unprotect_rtcp(s->gcm, buf, len);
    int n = (int)*len;
    rc = map_status(srtp_unprotect_rtcp(s->srtp, buf, &n));
    if (rc == IRTC_OK)
        *len = (size_t)n;
    return rc;
}
