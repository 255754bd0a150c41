/*
 * recv_stream.h — one RTP stream a publisher sends: one encoding of a
 * producer (one simulcast layer, or the only one).  It owns what the SFU
 * knows of that stream: its SSRC and RTX SSRC, the receive statistics its
 * receiver reports carry (RFC 3550 A.1, A.3, A.8), the NACK generator, the
 * last sender report (for translating it to subscribers), the bitrate it
 * arrives at, and a store of its last packets.
 *
 * The store is the single copy of a received packet: every consumer builds
 * its own packet from a slot when it sends (and again for a retransmission),
 * so fan-out costs no copy per subscriber, and a consumer's send history
 * holds references (sequence numbers) into it, never packets.
 *
 * Worker thread only; no allocation after rs_init, no locks, no logging.
 *
 * Does not: decide which consumers get a packet (producer.c), send RTCP
 * (the caller builds it from what this returns), or decrypt.
 */
#ifndef IRTC_MEDIA_RECV_STREAM_H
#define IRTC_MEDIA_RECV_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/codecs/vp8.h"
#include "media/nack.h"
#include "media/rtp.h"
#include "media/rtp_stats.h"

#define RS_SLOT_DATA 1504
#define RS_MAX_AGE_MS 2000 /* a stored packet older than this is not handed out */
#define RS_BITRATE_BINS 10
#define RS_BITRATE_BIN_MS 100
/* An encoding that sent nothing for this long is not offered to consumers
 * (the publisher's encoder dropped it: uplink, CPU, or a paused layer). */
#define RS_INACTIVE_MS 1500

enum {
    RS_SLOT_KEYFRAME = 1, /* the first packet of a keyframe */
    RS_SLOT_START = 2,    /* the first packet of a frame */
    RS_SLOT_MARKER = 4,   /* RTP marker bit */
    RS_SLOT_VP8 = 8,      /* vp8 holds a parsed descriptor */
};

typedef struct {
    uint64_t stored_ms;
    uint32_t ts;
    uint16_t seq;
    uint16_t len;         /* bytes in data; 0 = empty */
    uint16_t header_len;  /* offset of the payload */
    uint16_t payload_len; /* without padding */
    uint8_t padding_len;
    uint8_t flags; /* RS_SLOT_* */
    uint8_t tid;   /* temporal layer id (VP8/VP9), 0 when none */
    vp8_desc_t vp8;
    uint8_t data[RS_SLOT_DATA];
} rs_slot_t;

typedef struct {
    int kind;  /* MX_KIND_* */
    int codec; /* MX_CODEC_* */
    uint32_t clock_rate;
    char rid[17];
    uint32_t ssrc, rtx_ssrc; /* 0 until known */

    /* receive statistics */
    bool seen;
    rtp_stats_t stats;
    uint64_t first_ms, last_ms; /* first and latest packet */

    /* the publisher's last sender report */
    bool have_sr;
    uint32_t sr_ntp_sec, sr_ntp_frac, sr_rtp_ts;
    uint32_t last_sr_mid;
    uint64_t last_sr_ms;

    /* loss recovery */
    bool nack_enabled;
    nack_gen_t nack;
    uint64_t last_pli_ms;
    bool keyframe_wanted, keyframe_forced; /* the producer sends the PLI on its next timer run */
    uint64_t last_keyframe_ms;
    uint16_t width, height; /* from the last keyframe, 0 = unknown */

    /* bitrate over the last second */
    uint64_t bin_bytes[RS_BITRATE_BINS];
    uint64_t bin_id[RS_BITRATE_BINS];

    /* packet store, indexed by seq & mask */
    rs_slot_t *slots;
    size_t mask;
} recv_stream_t;

/* slots must be a power of two.  Allocates the store. */
void rs_init(recv_stream_t *s, int kind, int codec, uint32_t clock_rate, bool nack, size_t slots);
void rs_dispose(recv_stream_t *s);

/* Counts a packet in the statistics, the bitrate and the NACK generator;
 * returns the NACK_PKT_* flags (0 without NACK). */
int rs_on_packet(recv_stream_t *s, const rtp_hdr_t *h, size_t len, uint64_t now_ms);
/* Copies a plaintext packet into the store and inspects its payload
 * (keyframe, frame start, VP8 descriptor).  NULL when it does not fit a slot
 * or its payload does not parse (it is then not forwarded). */
rs_slot_t *rs_store(recv_stream_t *s, const uint8_t *pkt, size_t len, const rtp_hdr_t *h, uint64_t now_ms);
/* The stored packet seq if it is still there and fresh, else NULL. */
const rs_slot_t *rs_get(const recv_stream_t *s, uint16_t seq, uint64_t now_ms);

/* A report block for this stream (and moves the "prior" counters). */
void rs_fill_report_block(recv_stream_t *s, rtcp_rb_t *rb, uint64_t now_ms);
/* Records the publisher's SR for this stream. */
void rs_on_sender_report(recv_stream_t *s, uint32_t ntp_sec, uint32_t ntp_frac, uint32_t rtp_ts, uint64_t now_ms);
/* Bits per second over the last second (or since the first packet). */
uint64_t rs_bitrate_bps(const recv_stream_t *s, uint64_t now_ms);
/* Packets arrived within RS_INACTIVE_MS. */
bool rs_active(const recv_stream_t *s, uint64_t now_ms);
/* Asks the publisher for a keyframe of this encoding: the producer sends the
 * PLI on its next timer run (≤ 20 ms), at most one per second, or one per
 * 100 ms when forced (a consumer or recorder with nothing to show). */
static inline void rs_want_keyframe(recv_stream_t *s, bool force)
{
    s->keyframe_wanted = true;
    s->keyframe_forced = s->keyframe_forced || force;
}

#endif
