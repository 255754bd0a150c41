/*
 * rtp_stats.h — receive statistics of one RTP stream (RFC 3550): extended
 * highest sequence number and cycles (A.1), expected and lost packets
 * (A.3), interarrival jitter (A.8), and the report block an RR or SR
 * carries for it (§6.4.1).  Used by the client core's receivers; the SFU's
 * producer can use the same.
 *
 * Pure and fixed-size: no allocation, no locks; one owner.  Does not: keep
 * the sender report it echoes (the caller passes LSR and its arrival), or
 * detect SSRC collisions and probation (A.1's MIN_SEQUENTIAL).
 */
#ifndef IRTC_MEDIA_RTP_STATS_H
#define IRTC_MEDIA_RTP_STATS_H

#include <stdint.h>

#include "media/rtp.h"

typedef struct {
    uint32_t clock_rate; /* Hz, for jitter */
    uint16_t max_seq;
    uint32_t cycles, base_seq, received, expected_prior, received_prior;
    double jitter; /* timestamp units */
    int64_t last_transit;
} rtp_stats_t;

void rtp_stats_init(rtp_stats_t *s, uint32_t clock_rate);
/* One packet: its sequence number, RTP timestamp and arrival time (µs). */
void rtp_stats_packet(rtp_stats_t *s, uint16_t seq, uint32_t ts, uint64_t arrival_us);
/* A packet that arrived late by retransmission (RFC 4588) and filled a gap:
 * it counts as received; no sequence state moves and it is no jitter sample. */
void rtp_stats_recovered(rtp_stats_t *s);
/* Packets expected and never received so far (0 when more arrived, e.g. duplicates). */
uint64_t rtp_stats_lost(const rtp_stats_t *s);
/* Jitter in milliseconds. */
double rtp_stats_jitter_ms(const rtp_stats_t *s);
/* The report block for ssrc, and starts the next interval for the fraction
 * lost.  lsr is the middle 32 bits of the last SR's NTP time and
 * dlsr_65536 the delay since it in 1/65536 s (both 0 without an SR). */
void rtp_stats_report(rtp_stats_t *s, uint32_t ssrc, uint32_t lsr, uint32_t dlsr_65536, rtcp_rb_t *rb);

#endif
