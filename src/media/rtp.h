/*
 * rtp.h — RTP and RTCP wire formats for the SFU: demultiplexing one UDP port
 * (RFC 7983, RFC 5761), RTP header parsing with RFC 8285 header extensions,
 * in-place rewriting of the fields a forwarder touches, and the RTCP packets
 * an SFU reads and writes (RFC 3550, RFC 4585, RFC 5104, REMB, transport-wide
 * congestion control feedback header).
 *
 * Runs on the media worker threads, per packet: pure functions, no
 * allocation, no locks, no logging.  Parsed structs point into (or give
 * offsets into) the caller's buffer and are valid as long as it is.
 *
 * Does not: decrypt (SRTP), keep stream statistics, generate NACKs, estimate
 * bandwidth or decode TWCC packet status chunks.
 */
#ifndef IRTC_MEDIA_RTP_H
#define IRTC_MEDIA_RTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* ---- demultiplexing ---------------------------------------------------- */

typedef enum {
    RTP_KIND_UNKNOWN = 0,
    RTP_KIND_STUN,
    RTP_KIND_DTLS,
    RTP_KIND_RTP,
    RTP_KIND_RTCP,
} rtp_kind_t;

/* What a datagram on the shared port is, from its first two bytes (RFC 7983
 * §7; RTCP when the second byte with the marker bit masked is 64..95, i.e.
 * packet types 192..223, RFC 5761 §4) and a minimum length per kind. */
rtp_kind_t rtp_classify(const uint8_t *buf, size_t len);

/* ---- RTP ---------------------------------------------------------------- */

#define RTP_HEADER_LEN 12
#define RTP_MAX_CSRC 15
/* Elements kept per packet; further elements are bounds-checked but dropped
 * (browsers send fewer than ten). */
#define RTP_MAX_EXT 16
#define RTP_EXT_PROFILE_ONE_BYTE 0xBEDE
#define RTP_EXT_PROFILE_TWO_BYTE 0x1000 /* low 4 bits are "appbits" */

typedef struct {
    uint8_t id;
    uint8_t len;  /* data bytes (1..16 one-byte form, 0..255 two-byte form) */
    uint16_t off; /* offset of the data from the start of the packet */
} rtp_ext_t;

typedef struct {
    bool padding, extension, marker;
    uint8_t pt;
    uint8_t csrc_count;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint32_t csrc[RTP_MAX_CSRC];

    uint16_t ext_profile; /* 0 when no extension */
    uint16_t ext_off;     /* offset of the extension data (after its 4-byte header) */
    uint16_t ext_len;     /* bytes of extension data */
    uint8_t n_ext;        /* RFC 8285 elements found (one-/two-byte forms only) */
    rtp_ext_t ext[RTP_MAX_EXT];

    uint16_t header_len;  /* offset of the payload */
    uint16_t payload_len; /* without padding */
    uint8_t padding_len;
} rtp_hdr_t;

/* Validates and parses a plaintext RTP packet (after srtp_unprotect: the
 * padding count is the last plaintext byte): version 2, CSRCs, extension
 * block and its RFC 8285 elements, padding.  Every truncation is IRTC_EINVAL;
 * *why, if not NULL, gets a static reason.  Packets over 65535 bytes are
 * rejected.  Only csrc[0..csrc_count) and ext[0..n_ext) are written. */
int rtp_parse(const uint8_t *buf, size_t len, rtp_hdr_t *out, const char **why);

/* The element with this id, or NULL. */
const rtp_ext_t *rtp_ext_find(const rtp_hdr_t *h, uint8_t id);

/* Overwrites an element's data in place with value, big-endian, in exactly the
 * element's length (1..4 bytes: transport-wide seq is 2, abs-send-time 3).
 * Returns IRTC_OK, IRTC_ENOTFOUND (no such id) or IRTC_EINVAL (length 0 or
 * over 4, or value does not fit). */
int rtp_ext_write_be(uint8_t *buf, const rtp_hdr_t *h, uint8_t id, uint32_t value);
/* Reads an element of 1..4 bytes as a big-endian integer. */
int rtp_ext_read_be(const uint8_t *buf, const rtp_hdr_t *h, uint8_t id, uint32_t *value);

/* In-place field access on a packet rtp_parse accepted (or any buffer of at
 * least RTP_HEADER_LEN bytes). */
static inline uint16_t rtp_get_seq(const uint8_t *p)
{
    return (uint16_t)(p[2] << 8 | p[3]);
}
static inline uint32_t rtp_get_ts(const uint8_t *p)
{
    return (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
}
static inline uint32_t rtp_get_ssrc(const uint8_t *p)
{
    return (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
}
static inline uint8_t rtp_get_pt(const uint8_t *p)
{
    return p[1] & 0x7f;
}
static inline void rtp_set_seq(uint8_t *p, uint16_t v)
{
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void rtp_set_ts(uint8_t *p, uint32_t v)
{
    p[4] = (uint8_t)(v >> 24);
    p[5] = (uint8_t)(v >> 16);
    p[6] = (uint8_t)(v >> 8);
    p[7] = (uint8_t)v;
}
static inline void rtp_set_ssrc(uint8_t *p, uint32_t v)
{
    p[8] = (uint8_t)(v >> 24);
    p[9] = (uint8_t)(v >> 16);
    p[10] = (uint8_t)(v >> 8);
    p[11] = (uint8_t)v;
}
/* Keeps the marker bit. */
static inline void rtp_set_pt(uint8_t *p, uint8_t pt)
{
    p[1] = (uint8_t)((p[1] & 0x80) | (pt & 0x7f));
}

/* ---- RTCP: walking a compound packet ------------------------------------ */

enum {
    RTCP_PT_SR = 200,
    RTCP_PT_RR = 201,
    RTCP_PT_SDES = 202,
    RTCP_PT_BYE = 203,
    RTCP_PT_APP = 204,
    RTCP_PT_RTPFB = 205, /* RFC 4585 transport-layer feedback */
    RTCP_PT_PSFB = 206,  /* RFC 4585 payload-specific feedback */
    RTCP_PT_XR = 207,
};
enum {
    RTCP_RTPFB_NACK = 1,
    RTCP_RTPFB_TWCC = 15,
    RTCP_PSFB_PLI = 1,
    RTCP_PSFB_FIR = 4,
    RTCP_PSFB_AFB = 15, /* application layer feedback: REMB */
};

#define RTCP_MAX_RB 31 /* report count is 5 bits */

/* One sub-packet of a compound packet. */
typedef struct {
    uint8_t fmt; /* RC / SC / FMT field */
    uint8_t pt;
    bool padding;
    const uint8_t *p; /* the whole sub-packet, header included */
    size_t len;       /* bytes, from the length field; padding included */
    size_t body_len;  /* bytes after the 4-byte header, padding removed */
} rtcp_pkt_t;

typedef struct {
    const uint8_t *buf;
    size_t len, off;
    const char *err; /* set once a sub-packet was malformed */
} rtcp_iter_t;

/* Validates nothing yet; a packet shorter than one header fails on next. */
void rtcp_iter_init(rtcp_iter_t *it, const uint8_t *buf, size_t len);
/* Next sub-packet: 1 and *out filled, 0 at the end, IRTC_EINVAL on a bad
 * version, a length running past the datagram, or padding that is not on the
 * last sub-packet or exceeds it (RFC 3550 §6.4.1, A.2); *why gets a reason.
 * After an error every later call returns the error again. */
int rtcp_iter_next(rtcp_iter_t *it, rtcp_pkt_t *out, const char **why);
/* Whole-packet validation as RFC 3550 A.2 wants before any sub-packet is
 * used: every sub-packet well formed.  Returns IRTC_OK or IRTC_EINVAL. */
int rtcp_validate(const uint8_t *buf, size_t len, const char **why);

/* ---- RTCP: sender and receiver reports ---------------------------------- */

typedef struct {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cumulative_lost; /* 24-bit signed */
    uint32_t ext_highest_seq;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
} rtcp_rb_t;

typedef struct {
    uint32_t ssrc;
    bool is_sr;
    uint32_t ntp_sec, ntp_frac;
    uint32_t rtp_ts;
    uint32_t packet_count, octet_count;
    uint8_t rb_count;
    rtcp_rb_t rb[RTCP_MAX_RB];
} rtcp_report_t;

/* Parses an SR (sender info + report blocks) or an RR.  Returns IRTC_OK or
 * IRTC_EINVAL (wrong type or report blocks past the end). */
int rtcp_parse_report(const rtcp_pkt_t *pkt, rtcp_report_t *out);

/* The middle 32 bits of the NTP timestamp, the LSR a receiver echoes back. */
static inline uint32_t rtcp_ntp_mid32(uint32_t ntp_sec, uint32_t ntp_frac)
{
    return ntp_sec << 16 | ntp_frac >> 16;
}

/* ---- RTCP: BYE ---------------------------------------------------------- */

typedef struct {
    uint8_t count;
    uint32_t ssrc[RTCP_MAX_RB];
    const uint8_t *reason; /* not NUL-terminated; NULL when absent */
    uint8_t reason_len;
} rtcp_bye_t;

int rtcp_parse_bye(const rtcp_pkt_t *pkt, rtcp_bye_t *out);

/* ---- RTCP: feedback (RFC 4585 §6.1 common header) ----------------------- */

typedef struct {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *fci; /* feedback control information */
    size_t fci_len;
} rtcp_fb_t;

/* Any RTPFB/PSFB sub-packet: the two SSRCs and the FCI.  IRTC_EINVAL if the
 * type is not feedback or the body is under 8 bytes. */
int rtcp_parse_fb(const rtcp_pkt_t *pkt, rtcp_fb_t *out);

/* Generic NACK (RFC 4585 §6.2.1): expands every PID/BLP pair into sequence
 * numbers, in packet order, up to cap of them; *n gets the count written.
 * Returns IRTC_OK, IRTC_EINVAL (not a NACK, FCI not a multiple of 4) or
 * IRTC_ELIMIT (more than cap; the first cap are written). */
int rtcp_nack_expand(const rtcp_pkt_t *pkt, uint16_t *seqs, size_t cap, size_t *n);

/* PLI (RFC 4585 §6.3.1): IRTC_OK if pkt is a PLI.  Stray FCI bytes are
 * tolerated: dropping a keyframe request over them costs more than it saves. */
int rtcp_parse_pli(const rtcp_pkt_t *pkt, uint32_t *sender_ssrc, uint32_t *media_ssrc);

/* FIR (RFC 5104 §4.3.1): entries are (ssrc, command seq nr). */
typedef struct {
    uint32_t ssrc;
    uint8_t seq_nr;
} rtcp_fir_entry_t;
int rtcp_parse_fir(const rtcp_pkt_t *pkt, uint32_t *sender_ssrc, rtcp_fir_entry_t *entries, size_t cap, size_t *n);

/* REMB (draft-alvestrand-rmcat-remb-03): bitrate = mantissa << exp, saturated
 * to UINT64_MAX; up to RTCP_MAX_REMB_SSRC SSRCs kept. */
#define RTCP_MAX_REMB_SSRC 16
typedef struct {
    uint32_t sender_ssrc;
    uint64_t bitrate_bps;
    uint8_t n_ssrc; /* as carried (may exceed the kept ones) */
    uint32_t ssrc[RTCP_MAX_REMB_SSRC];
} rtcp_remb_t;
int rtcp_parse_remb(const rtcp_pkt_t *pkt, rtcp_remb_t *out);

/* Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * §3.1): the fixed header only; packet status chunks are left to bwe. */
typedef struct {
    uint32_t sender_ssrc, media_ssrc;
    uint16_t base_seq;
    uint16_t status_count;
    int32_t ref_time; /* 24-bit signed, units of 64 ms */
    uint8_t fb_count;
    const uint8_t *chunks; /* packet status chunks and receive deltas */
    size_t chunks_len;
} rtcp_twcc_t;
int rtcp_parse_twcc(const rtcp_pkt_t *pkt, rtcp_twcc_t *out);

/* ---- RTCP builders ------------------------------------------------------ */
/* Each writes one sub-packet at out and returns its length in bytes, or 0 if
 * cap is too small or an argument is out of range.  Concatenate them for a
 * compound packet. */

size_t rtcp_build_rr(uint8_t *out, size_t cap, uint32_t ssrc, const rtcp_rb_t *rb, size_t n_rb);
/* Uses r->ssrc, the sender info and r->rb[0..r->rb_count). */
size_t rtcp_build_sr(uint8_t *out, size_t cap, const rtcp_report_t *r);
size_t rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
/* media_ssrc goes into the FCI; the header's media SSRC is 0 (RFC 5104 §4.3.1.2). */
size_t rtcp_build_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t seq_nr);
/* Packs seqs into PID/BLP pairs; runs of close sequence numbers (in the
 * order given) share a pair.  n must be at least 1. */
size_t rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, const uint16_t *seqs,
                       size_t n);
/* Rounds bitrate_bps down to 18 bits of mantissa; n_ssrc up to 255. */
size_t rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps, const uint32_t *ssrcs,
                       size_t n_ssrc);

#endif
