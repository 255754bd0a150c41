/*
 * vp9.h — the VP9 RTP payload descriptor (draft-ietf-payload-vp9-16 §4.2):
 * frame boundaries, keyframes, layer ids, picture ids and the scalability
 * structure's resolution, for forwarding and recording without decoding.
 *
 * Pure functions; any thread; no allocation; bounds-checked against
 * anything a peer sends.
 */
#ifndef IRTC_MEDIA_CODECS_VP9_H
#define IRTC_MEDIA_CODECS_VP9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint16_t header_len; /* descriptor bytes before the VP9 payload (a scalability structure may pass 255) */
    bool begin, end;     /* B, E: first / last packet of a layer frame */
    bool keyframe;       /* P=0, B=1, spatial layer 0 */
    bool has_ss;         /* V: a scalability structure was present */
    bool has_picture_id; /* I */
    bool picture_id_15;  /* M */
    bool flexible;       /* F */
    uint8_t sid, tid;    /* 0 when L is absent */
    uint16_t picture_id;
    uint16_t width, height; /* first spatial layer's, from the SS when present */
} vp9_desc_t;

/* Parses the descriptor of the RTP payload p[0..n): 0, or -1 when it is
 * truncated or leaves no payload. */
int vp9_parse(const uint8_t *p, size_t n, vp9_desc_t *out);

#endif
