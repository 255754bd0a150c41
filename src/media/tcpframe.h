/*
 * tcpframe.h — RFC 4571 framing for ICE-TCP (RFC 6544): every STUN, DTLS,
 * SRTP or SRTCP packet on a TCP connection is a 16-bit big-endian length
 * followed by that many bytes.  Owns the two halves a connection needs:
 * finding frames in what was read, and the bounded queue of what is still
 * to be written, which drops its oldest frames rather than grow or block
 * when the peer reads slower than media arrives (a late video packet is
 * worth nothing; the next keyframe request repairs the picture).
 *
 * Pure: no sockets, no clock, no logging; a queue's memory grows with its
 * backlog up to its capacity.  Any thread, one queue per thread at a time.
 */
#ifndef IRTC_MEDIA_TCPFRAME_H
#define IRTC_MEDIA_TCPFRAME_H

#include <stddef.h>
#include <stdint.h>

#define TCPFRAME_HDR 2
#define TCPFRAME_MORE 0      /* tcpframe_next: no complete frame yet */
#define TCPFRAME_TOO_LONG -1 /* tcpframe_next: the length prefix exceeds the caller's maximum */

/* Looks for one frame at the head of buf[0..len): TCPFRAME_MORE, TCPFRAME_TOO_LONG
 * (known from the prefix alone, before the body arrives), or 1 with the
 * payload at buf + TCPFRAME_HDR and *payload_len bytes (the frame takes
 * TCPFRAME_HDR + *payload_len). */
int tcpframe_next(const uint8_t *buf, size_t len, size_t max_payload, size_t *payload_len);

/* Queued frames, ready-framed: buf[off .. off + len) is still to write;
 * the first frame started head_sent bytes before off (those are written
 * and kept only so its length prefix stays readable).  A started frame is
 * never dropped: its rest must follow or the stream is corrupt. */
typedef struct {
    uint8_t *buf;
    size_t cap, alloc; /* bytes allowed, bytes allocated (grows with the backlog) */
    size_t off, len, head_sent;
} tcpframe_out_t;

void tcpframe_out_init(tcpframe_out_t *q, size_t cap);
void tcpframe_out_dispose(tcpframe_out_t *q);
/* Frames payload[0..len) (len <= 65535) and queues it.  When it does not
 * fit, the oldest frames not yet started are dropped: enough for it and at
 * least a quarter of the capacity, so a slow reader costs one move per
 * many packets, not one per packet.  Returns how many frames were dropped
 * (the new one included when even an emptied queue cannot take it). */
unsigned tcpframe_out_push(tcpframe_out_t *q, const uint8_t *payload, size_t len);
/* The bytes to write next (NULL, 0 when empty). */
const uint8_t *tcpframe_out_peek(const tcpframe_out_t *q, size_t *len);
/* n bytes of what peek gave were written. */
void tcpframe_out_consume(tcpframe_out_t *q, size_t n);

#endif
