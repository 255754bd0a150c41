/*
 * twcc.h — receiver side of transport-wide congestion control
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01): records when each
 * transport-wide sequence number arrived and builds the RTCP RTPFB FMT=15
 * feedback that the sending browser's delay-based estimator (GCC) runs on.
 * Without timely, exact feedback Chrome never ramps above a few hundred kbps.
 *
 * One twcc_recv_t per publishing transport (the sequence number is shared by
 * every stream on it).  Owned by the media worker that owns the transport:
 * no locks, no allocation, no logging.  The structure is fixed-size (about
 * 32 KiB of arrival history) so it can live inside the transport.
 *
 * Cadence: call twcc_recv_due() after each packet or on the worker's timer;
 * when it says so, loop twcc_recv_build_feedback() until it returns 0 and
 * send each packet.  That yields feedback every TWCC_FEEDBACK_INTERVAL_US
 * (50 ms) while media flows, sooner once TWCC_FEEDBACK_PACKETS are pending.
 *
 * Each feedback packet has the P bit set when it needs alignment padding
 * (as libwebrtc writes it), so it must be the last RTCP packet of its
 * datagram (RFC 3550 §6.4.1): send it alone or at the end of a compound.
 *
 * Does not: parse the extension (rtp.h does), decode feedback from others, or
 * estimate bandwidth.
 */
#ifndef IRTC_MEDIA_TWCC_H
#define IRTC_MEDIA_TWCC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Sequence numbers kept (power of two).  At 2,000 packets/s that is two
 * seconds, far more than one feedback interval plus reordering. */
#define TWCC_HISTORY 4096
/* Largest feedback packet written: a 1200-byte datagram budget minus the
 * SRTCP trailer (4-byte index + 10-byte tag) and some slack. */
#define TWCC_FEEDBACK_MAX_LEN 1180
/* Smallest cap that always makes progress: header, a run-length chunk of
 * lost packets, the chunk of the first received one and its 2-byte delta
 * (26 bytes, padded to 28).  After 14 losses, or 7 and a first delta above
 * 63.75 ms, that is what one reported packet takes. */
#define TWCC_FEEDBACK_MIN_LEN 28
#define TWCC_FEEDBACK_INTERVAL_US 50000
#define TWCC_FEEDBACK_PACKETS 100
#define TWCC_NOT_RECEIVED UINT64_MAX

typedef struct {
    uint32_t sender_ssrc, media_ssrc;
    bool started;
    uint8_t fb_count;                  /* feedback packet count of the next packet */
    int64_t max_seq;                   /* highest unwrapped sequence number seen */
    int64_t next_seq;                  /* first sequence number not yet reported */
    uint64_t last_fb_us;               /* when the last feedback was built */
    uint64_t n_duplicate;              /* packets already recorded */
    uint64_t n_too_old;                /* packets behind the history window */
    uint64_t arrival_us[TWCC_HISTORY]; /* TWCC_NOT_RECEIVED when absent */
} twcc_recv_t;

/* sender_ssrc is ours (the RTCP sender); media_ssrc is the publisher's
 * stream the feedback nominally refers to (senders ignore it). */
void twcc_recv_init(twcc_recv_t *r, uint32_t sender_ssrc, uint32_t media_ssrc);

/* Records a packet's transport-wide sequence number and arrival time (the
 * worker's monotonic clock, µs).  Reordered packets are placed where they
 * belong (if already reported as lost, the next feedback reports again from
 * there, as libwebrtc does); duplicates and packets older than TWCC_HISTORY
 * sequence numbers are counted and ignored. */
void twcc_recv_packet(twcc_recv_t *r, uint16_t transport_seq, uint64_t arrival_us);

/* Sequence numbers waiting to be reported (received or not). */
size_t twcc_recv_pending(const twcc_recv_t *r);

/* True when feedback should be sent now: something is pending and either
 * TWCC_FEEDBACK_PACKETS are waiting or TWCC_FEEDBACK_INTERVAL_US passed
 * since the last feedback. */
bool twcc_recv_due(const twcc_recv_t *r, uint64_t now_us);

/* Writes one feedback packet covering the oldest pending sequence numbers
 * and returns its length (a multiple of 4, at most min(cap,
 * TWCC_FEEDBACK_MAX_LEN)); 0 when nothing is pending or cap is under
 * TWCC_FEEDBACK_MIN_LEN.  A packet ends early when full or when the next
 * arrival delta does not fit 16 bits, so call it in a loop until it returns
 * 0.  now_us is recorded for twcc_recv_due(). */
size_t twcc_recv_build_feedback(twcc_recv_t *r, uint8_t *out, size_t cap, uint64_t now_us);

#endif
