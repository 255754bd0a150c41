/*
 * vp8.h — the VP8 RTP payload descriptor (RFC 7741 §4.2) and payload header
 * (§4.3): what an SFU needs to forward VP8 without decoding it — where a
 * frame starts, whether it is a keyframe and its size, the temporal layer,
 * and the picture ids it must keep continuous when it switches between
 * simulcast encodings.
 *
 * Pure functions over caller-owned bytes; any thread; no allocation.
 * Anything a peer sends is bounds-checked: a descriptor that does not fit
 * its packet is refused, never read past.
 *
 * Does not: depacketize frames (src/record does) or decode.
 */
#ifndef IRTC_MEDIA_CODECS_VP8_H
#define IRTC_MEDIA_CODECS_VP8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t header_len;  /* descriptor bytes before the VP8 payload */
    bool start;          /* S=1 and PID=0: the first packet of a frame */
    bool keyframe;       /* start and the payload header's P bit is 0 */
    bool has_picture_id; /* I */
    bool picture_id_15;  /* M: 15-bit picture id (else 7-bit) */
    bool has_tl0picidx;  /* L */
    bool has_tid;        /* T */
    bool layer_sync;     /* Y */
    uint8_t tid;         /* 0 when absent */
    uint8_t tl0picidx;
    uint16_t picture_id;
    uint16_t width, height; /* keyframes only (from the frame header), else 0 */
} vp8_desc_t;

/* Parses the descriptor (and, on a frame start, the payload header) of the
 * RTP payload p[0..n).  Returns 0, or -1 when the descriptor is truncated
 * or leaves no payload. */
int vp8_parse(const uint8_t *p, size_t n, vp8_desc_t *out);

/* Writes picture_id and tl0picidx into a descriptor already parsed into d
 * (in place; only the fields it has, the picture id in its own width). */
void vp8_rewrite(uint8_t *p, const vp8_desc_t *d, uint16_t picture_id, uint8_t tl0picidx);

/* The picture-id space of d: 0x80 or 0x8000. */
static inline uint16_t vp8_picture_id_mod(const vp8_desc_t *d)
{
    return d->picture_id_15 ? 0x8000 : 0x80;
}

#endif
