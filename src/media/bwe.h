/*
 * bwe.h — receive-side bandwidth estimate for publishers that did not
 * negotiate transport-cc, sent back as REMB (draft-alvestrand-rmcat-remb-03).
 * Deliberately simple, not GCC: the incoming bitrate over the last second
 * times 1.5 while loss is low (so the sender may keep ramping up), held at
 * the incoming rate at 2-10 % loss, cut by half the loss fraction above
 * 10 %, clamped to [BWE_MIN_BPS, max_bps].  With transport-cc, Chrome's own
 * sender-side estimator does better and no REMB should be sent.
 *
 * One bwe_t per publisher (all its SSRCs), owned by the media worker that
 * owns the publisher: no locks, no allocation, no logging.
 *
 * Does not: build the REMB bytes (rtp.h's rtcp_build_remb, given the
 * publisher's SSRCs and the bitrate bwe_update returns), or measure loss:
 * fraction_lost is the RFC 3550 8-bit fraction the receive statistics
 * compute for receiver reports.
 */
#ifndef IRTC_MEDIA_BWE_H
#define IRTC_MEDIA_BWE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define BWE_MIN_BPS 300000
#define BWE_DEFAULT_MAX_BPS 8000000
#define BWE_BIN_MS 100
#define BWE_BINS 10 /* window: BWE_BINS * BWE_BIN_MS = 1 s */
#define BWE_REMB_INTERVAL_MS 1000
/* A REMB goes out at once when the estimate falls by this many percent. */
#define BWE_REMB_DROP_PCT 3

typedef struct {
    uint64_t bytes[BWE_BINS];
    uint64_t bin[BWE_BINS]; /* now_ms / BWE_BIN_MS + 1 of the bytes held; 0: empty */
    bool started;
    uint64_t first_ms;
    uint64_t max_bps;
    uint64_t estimate_bps; /* last computed */
    bool remb_sent;
    uint64_t remb_ms, remb_bps;
} bwe_t;

/* max_bps 0 means BWE_DEFAULT_MAX_BPS; a max under BWE_MIN_BPS is raised to it. */
void bwe_init(bwe_t *b, uint64_t max_bps);

/* Counts one received RTP packet of any of the publisher's SSRCs (bytes as
 * received, headers included). */
void bwe_on_packet(bwe_t *b, size_t bytes, uint64_t now_ms);

/* Incoming bitrate over the last second (or since the first packet). */
uint64_t bwe_incoming_bps(const bwe_t *b, uint64_t now_ms);

/* Computes the estimate into *bitrate_bps and returns true when a REMB
 * carrying it should be sent now: the first time, every
 * BWE_REMB_INTERVAL_MS, or at once when it fell by BWE_REMB_DROP_PCT. */
bool bwe_update(bwe_t *b, uint64_t now_ms, uint8_t fraction_lost, uint64_t *bitrate_bps);

#endif
