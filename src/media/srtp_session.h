/*
 * srtp_session.h — one direction of SRTP/SRTCP keyed from DTLS-SRTP
 * (RFC 5764).  A transport embeds two: an outbound session (its DTLS "local"
 * keys) and an inbound one (the "remote" keys).  AEAD_AES_128_GCM runs on
 * OpenSSL EVP (srtp_gcm.h: about twice as fast as Debian's NSS-backed
 * libsrtp2, and keyed in µs instead of ~0.8 ms); AES_CM_128_HMAC_SHA1_80 on
 * libsrtp2.  IRTC_SRTP_GCM=libsrtp in the environment puts GCM back on
 * libsrtp2 too, to measure the difference (docs/BENCHMARKS.md);
 * IRTC_SRTP_GCM=provider keeps it on EVP but through OpenSSL's provider
 * layer (srtp_gcm.c, direct_gcm).
 *
 * Threads: sec_init_library is safe from any thread (pthread_once).  A
 * session belongs to the media worker that owns its transport; the protect
 * and unprotect calls run there per packet, in place, with no allocation, no
 * locks and no logging: they return a code and the caller counts drops.
 * sec_session_init allocates (for AES-CM, srtp_create: ~0.8 ms with Debian's
 * NSS-backed libsrtp2, see docs/ARCHITECTURE.md), so call it once per
 * transport.
 *
 * Does not: parse RTP/RTCP (rtp.h), negotiate keys (dtls.h), handle MKI,
 * encrypted header extensions or key rollover.
 */
#ifndef IRTC_MEDIA_SRTP_SESSION_H
#define IRTC_MEDIA_SRTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DTLS-SRTP protection profile ids (IANA registry, RFC 5764 §4.1.2 and
 * RFC 7714 §14.2); dtls.h reports the negotiated one with these values. */
#define SEC_PROFILE_AES128_CM_SHA1_80 0x0001
#define SEC_PROFILE_AEAD_AES_128_GCM 0x0007

/* Master key and salt sizes per profile (RFC 5764 §4.1.2, RFC 7714 §12). */
#define SEC_KEY_LEN 16
#define SEC_SALT_LEN_CM 14
#define SEC_SALT_LEN_GCM 12
#define SEC_MAX_SALT_LEN 14

/*
 * Room a buffer must keep after the packet for sec_protect_rtp/_rtcp:
 * libsrtp assumes it may write SRTP_MAX_TRAILER_LEN (16-byte tag + 128-byte
 * MKI) after RTP, plus 4 for the SRTCP index after RTCP; we require the
 * larger of the two for both so one buffer size fits either.  srtp_session.c
 * checks it equals SRTP_MAX_TRAILER_LEN + 4.  What protect really adds is
 * sec_rtp_overhead / sec_rtcp_overhead (at most 20 bytes).
 */
#define SEC_MAX_TRAILER 148

struct srtp_ctx_t_;
struct sec_gcm;

/* Embedded in the transport; all-zero is "not initialised".  Exactly one of
 * srtp and gcm is set once initialised. */
typedef struct {
    struct srtp_ctx_t_ *srtp;
    struct sec_gcm *gcm;
    int profile;
    bool inbound;
} sec_session_t;

/* Initialises libsrtp once per process; IRTC_OK or IRTC_ECRYPTO. */
int sec_init_library(void);

/*
 * Keys one direction.  profile is SEC_PROFILE_*; keylen must be SEC_KEY_LEN
 * and saltlen the profile's salt length.  inbound selects ssrc_any_inbound
 * (unprotect) or ssrc_any_outbound (protect, with repeated sequence numbers
 * allowed for retransmissions).  Replay window 1024 packets.  Returns
 * IRTC_OK, IRTC_EINVAL (unknown profile, wrong lengths) or IRTC_ECRYPTO.
 * Calls sec_init_library itself.
 */
int sec_session_init(sec_session_t *s, int profile, const uint8_t *key, size_t keylen, const uint8_t *salt,
                     size_t saltlen, bool inbound);
/* Frees the libsrtp context; safe on a zeroed or disposed session. */
void sec_session_dispose(sec_session_t *s);

/* Bytes protect adds to an RTP / RTCP packet for a profile (0 if unknown). */
size_t sec_rtp_overhead(int profile);
size_t sec_rtcp_overhead(int profile);

/*
 * In place: buf holds *len bytes and has cap bytes of room; on IRTC_OK *len
 * is the new length.  Protect needs cap >= *len + SEC_MAX_TRAILER.
 * Returns IRTC_OK; IRTC_ECRYPTO when authentication fails or the packet is a
 * replay (count it as a drop); IRTC_EINVAL for a packet too short or too big,
 * a wrong-direction or uninitialised session (buf is left untouched).
 */
int sec_protect_rtp(sec_session_t *s, uint8_t *buf, size_t *len, size_t cap);
int sec_unprotect_rtp(sec_session_t *s, uint8_t *buf, size_t *len);
int sec_protect_rtcp(sec_session_t *s, uint8_t *buf, size_t *len, size_t cap);
int sec_unprotect_rtcp(sec_session_t *s, uint8_t *buf, size_t *len);

#endif
