/*
 * nack.h — loss recovery for the SFU (RFC 4585 §6.2.1 Generic NACK):
 *   nack_gen_t   per incoming SSRC: which sequence numbers are missing and
 *                when to (re)request them from the publisher;
 *   nack_build_rtcp  packs requests into NACK packets that fit a datagram;
 *   rtx_buf_t    per forwarded stream: the last N packets sent, to answer a
 *                subscriber's NACK.
 *
 * Owned by the media worker that owns the stream: no locks, no logging, no
 * allocation (rtx_buf_t runs on storage the caller allocates once).
 *
 * The retransmission buffer holds plaintext RTP (before srtp_protect): the
 * SFU protects every retransmission again for the subscriber it goes to,
 * with that subscriber's keys and its own SRTP index.
 *
 * Does not: parse RTCP NACKs (rtp.h's rtcp_nack_expand), wrap packets in the
 * RTX payload format (RFC 4588), or decide about keyframes beyond flagging
 * that one is needed.
 */
#ifndef IRTC_MEDIA_NACK_H
#define IRTC_MEDIA_NACK_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* ---- NACK generator ------------------------------------------------------ */

/* Missing packets tracked at once; a loss larger than this cannot be repaired
 * in time and asks for a keyframe instead. */
#define NACK_MAX_MISSING 512
/* Wait this long after detecting a gap before the first request, so that
 * ordinary reordering does not cause retransmissions. */
#define NACK_REORDER_MS 10
/* Retries come every max(rtt, NACK_MIN_RETRY_MS)... */
#define NACK_MIN_RETRY_MS 20
/* ...up to this many requests per packet; then it is given up. */
#define NACK_MAX_TRIES 10
/* A packet this far behind the newest, and not one we are waiting for, means
 * the sender restarted its sequence numbers: start over from it. */
#define NACK_RESET_AGE 1000

/* nack_gen_packet() result flags (0: a new packet). */
enum {
    NACK_PKT_RECOVERED = 1, /* filled a gap (retransmission or late packet) */
    NACK_PKT_KEYFRAME = 2,  /* too many missing: list cleared, send a PLI */
    NACK_PKT_OLD = 4,       /* duplicate, or behind the newest and not missing */
};

typedef struct {
    int64_t seq;     /* unwrapped */
    uint64_t due_ms; /* next request */
    uint8_t tries;   /* requests sent */
} nack_item_t;

typedef struct {
    bool started;
    int64_t highest; /* newest unwrapped sequence number */
    size_t n;
    nack_item_t items[NACK_MAX_MISSING];                       /* ascending by seq */
    uint64_t n_requested, n_recovered, n_given_up, n_keyframe; /* for /metrics */
} nack_gen_t;

void nack_gen_init(nack_gen_t *g);

/* Feeds the sequence number of every packet received on the SSRC (after
 * SRTP, RTX already unwrapped to the original sequence number).  Returns
 * NACK_PKT_* flags. */
int nack_gen_packet(nack_gen_t *g, uint16_t seq, uint64_t now_ms);

/* Writes up to cap sequence numbers due for a request now, ascending, and
 * counts each as one try; packets past NACK_MAX_TRIES are dropped.  Call it
 * on the worker's timer (every 10-20 ms) and after a packet opened a gap. */
size_t nack_gen_collect(nack_gen_t *g, uint64_t now_ms, uint64_t rtt_ms, uint16_t *seqs, size_t cap);

/* Missing packets being tracked. */
static inline size_t nack_gen_missing(const nack_gen_t *g)
{
    return g->n;
}

/* ---- NACK packets --------------------------------------------------------- */

/* Writes one RTPFB NACK packet (rtcp_build_nack) holding as many of seqs (in
 * order; ascending packs best) as fit in cap, and sets *consumed to how many
 * it took; call again with the rest.  Returns the length, or 0 if n is 0 or
 * cap is under 16 bytes. */
size_t nack_build_rtcp(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, const uint16_t *seqs,
                       size_t n, size_t *consumed);

/* ---- retransmission buffer ---------------------------------------------- */

#define RTX_BUF_MAX_AGE_MS 1000

typedef struct {
    uint64_t stored_ms;
    uint64_t resent_ms;
    uint16_t seq;
    uint16_t len;     /* 0: empty */
    uint16_t resends; /* times handed out by rtx_buf_get_resend */
    uint16_t pad_;
} rtx_slot_t;

/* Bytes of storage rtx_buf_init needs (8-byte aligned, e.g. from xmalloc). */
#define RTX_BUF_STORAGE_SIZE(slots, slot_size)                                                                         \
    ((size_t)(slots) * (sizeof(rtx_slot_t) + (((size_t)(slot_size) + 7) & ~(size_t)7)))

typedef struct {
    uint8_t *storage;
    size_t slots, slot_size, stride;
    uint64_t max_age_ms; /* RTX_BUF_MAX_AGE_MS; the caller may change it */
} rtx_buf_t;

/* Sets the buffer up on storage of RTX_BUF_STORAGE_SIZE(slots, slot_size)
 * bytes, which the caller owns and frees.  IRTC_EINVAL unless slots is a
 * power of two, slot_size is 12..65535 and storage is 8-byte aligned. */
int rtx_buf_init(rtx_buf_t *b, void *storage, size_t slots, size_t slot_size);

/* Copies a plaintext RTP packet in under its sequence number, replacing the
 * packet slots sequence numbers older.  IRTC_EINVAL if len is under the RTP
 * header or over slot_size. */
int rtx_buf_put(rtx_buf_t *b, const uint8_t *pkt, size_t len, uint64_t now_ms);

/* The stored packet with this sequence number, or NULL if it was never
 * stored, was overwritten, or is older than max_age_ms.  Valid until the
 * next rtx_buf_put. */
const uint8_t *rtx_buf_get(const rtx_buf_t *b, uint16_t seq, uint64_t now_ms, size_t *len);

/* rtx_buf_get for answering a NACK: also NULL if the packet was already
 * resent less than min_interval_ms ago (pass the RTT: browsers repeat NACKs
 * before the first retransmission can arrive); otherwise marks it resent. */
const uint8_t *rtx_buf_get_resend(rtx_buf_t *b, uint16_t seq, uint64_t now_ms, uint64_t min_interval_ms, size_t *len);

#endif
