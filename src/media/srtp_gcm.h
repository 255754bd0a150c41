/*
 * srtp_gcm.h — SRTP and SRTCP with AEAD_AES_128_GCM (RFC 7714) on OpenSSL's
 * EVP interface, without libsrtp: the profile WebRTC peers prefer, on the
 * AES-NI code OpenSSL already has.  Debian's libsrtp2 is built against NSS
 * and costs ~1.0 µs per 1200-byte packet here and ~0.8 ms per srtp_create;
 * this module keys a direction in a few µs and protects a packet in about
 * half the time (docs/BENCHMARKS.md has the figures).
 *
 * One sec_gcm_t is one direction of one transport (like a libsrtp session
 * with ssrc_any): the session keys are derived once (RFC 3711 §4.3 KDF with
 * the 96-bit salt zero-padded, RFC 7714 §11), and each of the two EVP
 * contexts (SRTP, SRTCP) is keyed once, so a packet only sets its IV.  The
 * contexts run on a copy of OpenSSL's built-in AES-GCM method, which EVP
 * calls directly instead of through its provider layer (srtp_gcm.c says
 * why; IRTC_SRTP_GCM=provider in the environment restores the provider).
 * Per-SSRC state (rollover counter, replay windows, SRTCP index) lives in a
 * table that grows by doubling up to SEC_GCM_MAX_STREAMS when an
 * authenticated packet brings a new SSRC; an SSRC beyond that is refused.
 *
 * Output is bit for bit what libsrtp 2.5 produces for the same keys and
 * packets (tests/unit/test_srtp_gcm.c checks it against libsrtp itself),
 * including its choices where RFC 3711 leaves room: the first packet of an
 * SSRC has rollover counter 0, SRTCP indices start at 1.
 *
 * Thread: the owner of the transport; per packet no allocation, no lock, no
 * logging.  Does not: do MKI, encrypted header extensions (RFC 6904), key
 * rollover, or AES-CM (srtp_session.c keeps libsrtp for that).
 */
#ifndef IRTC_MEDIA_SRTP_GCM_H
#define IRTC_MEDIA_SRTP_GCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEC_GCM_TAG_LEN 16
#define SEC_GCM_MAX_STREAMS 256 /* SSRCs per direction of one transport */

typedef struct sec_gcm sec_gcm_t;

/* Keys one direction from the DTLS-SRTP master key (16 bytes) and salt (12
 * bytes).  inbound: unprotect with replay protection; outbound: protect,
 * where re-sending a packet index already used is allowed (retransmissions).
 * Returns NULL if OpenSSL fails. */
sec_gcm_t *sec_gcm_new(const uint8_t key[16], const uint8_t salt[12], bool inbound);
void sec_gcm_free(sec_gcm_t *g);

/* In place.  Protect needs cap >= *len + SEC_GCM_TAG_LEN (RTP) or
 * + SEC_GCM_TAG_LEN + 4 (RTCP).  Return IRTC_OK, IRTC_EINVAL (malformed,
 * too short, no room, wrong direction), IRTC_ECRYPTO (authentication,
 * replay, or an SSRC over the table's limit). */
int sec_gcm_protect_rtp(sec_gcm_t *g, uint8_t *buf, size_t *len, size_t cap);
int sec_gcm_unprotect_rtp(sec_gcm_t *g, uint8_t *buf, size_t *len);
int sec_gcm_protect_rtcp(sec_gcm_t *g, uint8_t *buf, size_t *len, size_t cap);
int sec_gcm_unprotect_rtcp(sec_gcm_t *g, uint8_t *buf, size_t *len);

#endif
