/*
 * transport.h — one PeerConnection's transport in the client core: a UDP
 * socket, ICE (the controlling agent's checks with USE-CANDIDATE, consent
 * checks every 2 s, and answers to the peer's own checks for full-ICE peers
 * such as aiortc), DTLS-SRTP (client or server, as the answer's a=setup
 * says), and RTP/RTCP both ways:
 *   sending: RTP headers with the mid, rid and transport-wide sequence
 *   extensions, a history per video SSRC to answer NACKs, SR every second,
 *   keyframe requests handed to the owner;
 *   receiving: per-SSRC statistics (RFC 3550 A.1/A.8), NACKs (nack.h), PLI
 *   when a loss cannot be repaired, RR every second, transport-cc feedback
 *   (twcc.h) when the answer negotiated it.
 *
 * Runs on its loop's thread; a ticker drives its timers.  Nothing is
 * allocated per packet.  Does not: know signaling or what the streams mean
 * (the client decides), decode, pace, or estimate bandwidth.
 */
#ifndef IRTC_CLIENT_TRANSPORT_H
#define IRTC_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/types.h"
#include "client/loop.h"
#include "client/offer.h"

#define IC_MAX_SEND 4 /* audio + three video encodings */
#define IC_MAX_RECV 8

typedef struct ic_transport ic_transport_t;

typedef struct {
    void (*on_connected)(void *user);
    void (*on_failed)(void *user, const char *why);
    void (*on_first_rtp)(void *user);
    void (*on_keyframe_request)(void *user); /* PLI or FIR for one of our video SSRCs */
    /* A received frame, whole (stream_id left NULL for the owner to fill);
     * only when every packet is unprotected (verify_every 0 or 1). */
    void (*on_frame)(void *user, ic_frame_t *f);
} ic_transport_callbacks_t;

/* A socket bound to bind_ip (NULL: any) on an ephemeral port, fresh ICE
 * credentials.  verify_every as ic_config_t.srtp_verify_every.  NULL if no
 * socket can be made. */
ic_transport_t *ic_transport_new(ic_loop_t *l, const char *bind_ip, unsigned verify_every,
                                 const ic_transport_callbacks_t *cb, void *user);
/* Closes (DTLS close_notify when connected) and frees (deferred). */
void ic_transport_free(ic_transport_t *t);

const char *ic_transport_ufrag(const ic_transport_t *t);
const char *ic_transport_pwd(const ic_transport_t *t);
/* Our address as the offer's host candidate (bind_ip, or 127.0.0.1 when bound to any). */
void ic_transport_local(const ic_transport_t *t, char ip[46], uint16_t *port);

/* Declares an SSRC we send, before ic_transport_start: returns its index. */
int ic_transport_add_send(ic_transport_t *t, bool video, uint32_t ssrc, const char *rid);

/* Starts ICE towards the remote description's first candidate of our
 * address family, then DTLS (client when the remote side is passive).
 * controlling: we offered (RFC 8445 §6.1.1); an answerer is controlled and
 * leaves nomination to the peer. */
int ic_transport_start(ic_transport_t *t, const ic_answer_t *a, bool controlling);
/* The negotiated SRTP profile (SEC_PROFILE_*), 0 before DTLS completed. */
int ic_transport_srtp_profile(const ic_transport_t *t);

bool ic_transport_connected(const ic_transport_t *t);

/* Sends one RTP packet on send track i (once connected; dropped before). */
void ic_transport_send_media(ic_transport_t *t, unsigned i, uint32_t ts, bool marker, const uint8_t *payload,
                             size_t len);

/* Sends a PLI for every video stream received (at most one per stream per second). */
void ic_transport_request_keyframe(ic_transport_t *t);

/* Adds this transport's counters to *rx and *tx (either may be NULL). */
void ic_transport_add_stats(const ic_transport_t *t, ic_recv_stats_t *rx, ic_send_stats_t *tx);

#endif
