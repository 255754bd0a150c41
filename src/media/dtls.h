/*
 * dtls.h — DTLS-SRTP (RFC 5763, RFC 5764) for the media transports, over
 * OpenSSL 3: the process's self-signed certificate and its SDP fingerprint,
 * a per-worker DTLS context, and one DTLS 1.2 connection per transport that
 * verifies the peer's certificate against the SDP fingerprint and hands
 * over the negotiated SRTP profile and keys.
 *
 * Threads:
 *  - dtls_cert_t is created once at start and never changes; any thread may
 *    read its fingerprint or build a dtls_ctx_t from it.
 *  - dtls_ctx_t is created at start (any thread) and then used by exactly
 *    one media worker: each worker gets its own, so OpenSSL's per-SSL_CTX
 *    locks are never contended on the packet path.
 *  - dtls_conn_t belongs to the worker owning its transport; every
 *    dtls_conn_* call and every callback happens on that thread.
 * OpenSSL's error queue is drained inside this module: callers never see it.
 *
 * Does not: demultiplex the UDP port (rtp_classify), run ICE, own timers
 * (the caller arms one from dtls_conn_next_timeout_ms), encrypt SRTP
 * (srtp_session.h) or speak SCTP (it only carries its bytes).
 */
#ifndef IRTC_MEDIA_DTLS_H
#define IRTC_MEDIA_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/srtp_session.h"

/* Largest datagram we send (and the MTU OpenSSL fragments handshake
 * messages to): fits any path with IPv6 + UDP + TURN overhead. */
#define DTLS_MTU 1200
/* Overall handshake deadline counted from dtls_conn_start (covers ICE too). */
#define DTLS_HANDSHAKE_TIMEOUT_MS 30000
/* First handshake retransmission (RFC 6347 §4.2.4.1); doubles up to max. */
#define DTLS_INITIAL_RTO_MS 1000
#define DTLS_MAX_RTO_MS 8000
/* OpenSSL counts a timer with under 15 ms left as expired (d1_lib.c,
 * dtls1_get_timeout) and retransmits at the next read: a shorter first RTO
 * would send every first flight twice. */
#define DTLS_MIN_RTO_MS 30
/* "AB:CD:..." for SHA-256, plus NUL. */
#define DTLS_FINGERPRINT_LEN 95

typedef struct dtls_cert dtls_cert_t;
typedef struct dtls_ctx dtls_ctx_t;
typedef struct dtls_conn dtls_conn_t;

typedef enum {
    DTLS_SERVER = 0, /* the SFU: a=setup:passive in its answers */
    DTLS_CLIENT = 1, /* tests and future outgoing connections */
} dtls_role_t;

typedef enum {
    DTLS_STATE_NEW = 0,     /* created, not started */
    DTLS_STATE_HANDSHAKING, /* started, no keys yet */
    DTLS_STATE_CONNECTED,   /* keys delivered; application data flows */
    DTLS_STATE_CLOSED,      /* close_notify sent or received */
    DTLS_STATE_FAILED,      /* on_failed was called */
} dtls_state_t;

/* The SRTP keying material of one connection (RFC 5764 §4.2), already split
 * by direction: "local" protects what we send, "remote" unprotects what we
 * receive, whichever DTLS role we had. */
typedef struct {
    int profile; /* SEC_PROFILE_* */
    size_t key_len, salt_len;
    uint8_t local_key[SEC_KEY_LEN], local_salt[SEC_MAX_SALT_LEN];
    uint8_t remote_key[SEC_KEY_LEN], remote_salt[SEC_MAX_SALT_LEN];
} dtls_srtp_keys_t;

/*
 * Calls a connection makes, on its worker, from inside dtls_conn_* calls.
 * send must not call back into the connection; the others may call
 * dtls_conn_send_app, dtls_conn_close or dtls_conn_free (the free is
 * deferred until the outer call returns).  keys is valid during the call
 * only (copy what you keep); reason is a static string.  on_app_data may be
 * NULL (data is then discarded).
 */
typedef struct {
    void (*send)(void *user, const uint8_t *data, size_t len); /* one datagram, <= DTLS_MTU */
    void (*on_connected)(void *user, const dtls_srtp_keys_t *keys);
    void (*on_app_data)(void *user, const uint8_t *data, size_t len);
    void (*on_failed)(void *user, const char *reason); /* also when the peer closes: state is then
                                                          DTLS_STATE_CLOSED during the call */
} dtls_callbacks_t;

/* Keys the two SRTP sessions of a transport from a connection's keys: out
 * protects what we send (local keys), in unprotects what we receive.  Both
 * are left disposed on failure.  IRTC_OK or the sec_session_init error. */
int dtls_srtp_sessions(const dtls_srtp_keys_t *k, sec_session_t *out, sec_session_t *in);

/* ---- certificate -------------------------------------------------------- */

/* A fresh ECDSA P-256 key and self-signed certificate (CN irtc, 30 days, random
 * serial).  NULL with err set if OpenSSL fails. */
dtls_cert_t *dtls_cert_new(char *err, size_t cap);
/* "AB:CD:..." uppercase SHA-256 of the DER certificate, for a=fingerprint:sha-256. */
const char *dtls_cert_fingerprint(const dtls_cert_t *cert);
void dtls_cert_free(dtls_cert_t *cert);

/* ---- per-worker context --------------------------------------------------- */

/*
 * A DTLS 1.2 context using cert (which may be freed afterwards: the context
 * keeps its own references).  srtp_profiles is an OpenSSL list of the two
 * profiles srtp_session.h can key, in preference order; NULL means
 * "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80".  NULL with err set.
 */
dtls_ctx_t *dtls_ctx_new(const dtls_cert_t *cert, const char *srtp_profiles, char *err, size_t cap);
/* Frees the context; connections made from it may outlive it. */
void dtls_ctx_free(dtls_ctx_t *ctx);

/* ---- connection ----------------------------------------------------------- */

/*
 * A connection expecting the peer's certificate to hash to remote_fp_hex
 * ("AB:CD:..", any case) under remote_fp_alg ("sha-256", also sha-1,
 * sha-224, sha-384, sha-512; RFC 8122 names).  cb is copied.  Returns
 * IRTC_OK with *out, or IRTC_EINVAL with *why (unknown algorithm, malformed
 * fingerprint).
 */
int dtls_conn_new(dtls_ctx_t *ctx, dtls_role_t role, const char *remote_fp_alg, const char *remote_fp_hex,
                  const dtls_callbacks_t *cb, void *user, dtls_conn_t **out, const char **why);
/* Sets the first retransmission timeout (before dtls_conn_start), e.g. from
 * an ICE round-trip estimate; clamped to DTLS_MIN_RTO_MS..DTLS_MAX_RTO_MS. */
void dtls_conn_set_initial_rto_ms(dtls_conn_t *c, unsigned rto_ms);
/* Arms the handshake deadline; a client sends its ClientHello.  IRTC_OK, or
 * IRTC_ECONFLICT if already started. */
int dtls_conn_start(dtls_conn_t *c, uint64_t now_ms);
/*
 * Feeds one received datagram.  Returns IRTC_OK (consumed, including records
 * DTLS silently discards), IRTC_EINVAL (not a DTLS record: dropped, state
 * unchanged), IRTC_ECONFLICT (not started, failed or closed), or
 * IRTC_ECRYPTO / IRTC_EPROTO when this datagram made the connection fail
 * (on_failed has been called).
 */
int dtls_conn_input(dtls_conn_t *c, const uint8_t *d, size_t len);
/* Sends one record of application data (SCTP).  IRTC_OK, IRTC_ECONFLICT if
 * not connected, IRTC_EINVAL if len is 0 or > dtls_conn_max_app_len,
 * IRTC_EAGAIN (not sent, retry later) or IRTC_EPROTO (connection failed). */
int dtls_conn_send_app(dtls_conn_t *c, const uint8_t *data, size_t len);
/* Largest application payload that fits one DTLS_MTU datagram (0 before connected). */
size_t dtls_conn_max_app_len(const dtls_conn_t *c);
/* Absolute time (the caller's clock) when dtls_conn_handle_timeout must run
 * next, or UINT64_MAX if nothing is pending. */
uint64_t dtls_conn_next_timeout_ms(dtls_conn_t *c, uint64_t now_ms);
/* Retransmits a lost flight when due; fails the connection when the
 * handshake deadline passed or retransmissions are exhausted. */
void dtls_conn_handle_timeout(dtls_conn_t *c, uint64_t now_ms);
/* Sends close_notify (when connected) and moves to CLOSED; no callback. */
void dtls_conn_close(dtls_conn_t *c);
/* Frees the connection (deferred when called from one of its callbacks). */
void dtls_conn_free(dtls_conn_t *c);
dtls_state_t dtls_conn_state(const dtls_conn_t *c);
/* Replaces the callbacks (also from within one of c's callbacks): an
 * association set up beside another one takes over its role once up. */
void dtls_conn_set_callbacks(dtls_conn_t *c, const dtls_callbacks_t *cb);

#endif
