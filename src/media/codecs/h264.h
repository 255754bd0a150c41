/*
 * h264.h — what an SFU needs from H.264 RTP payloads (RFC 6184, packetization
 * modes 0 and 1): the NAL unit types a packet carries, whether it starts a
 * frame and whether that frame is a keyframe (an IDR slice, or SPS that
 * precedes one), and the picture size from an SPS (ITU-T H.264 §7.3.2.1.1).
 *
 * Pure functions; any thread; no allocation; bounds-checked.
 */
#ifndef IRTC_MEDIA_CODECS_H264_H
#define IRTC_MEDIA_CODECS_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    bool start;             /* the packet starts a NAL unit (single NAL, STAP-A, FU-A with S=1) */
    bool keyframe;          /* an IDR slice or an SPS starts in this packet */
    bool has_sps;           /* an SPS is in this packet (whole) */
    uint16_t width, height; /* from that SPS, 0 when absent or unparsable */
} h264_desc_t;

/* Parses the RTP payload p[0..n): 0, or -1 when it is empty, truncated
 * (STAP-A sizes past the end) or of an unsupported type (STAP-B, MTAP, FU-B). */
int h264_parse(const uint8_t *p, size_t n, h264_desc_t *out);

/* Picture size of an SPS NAL unit (its header byte included): 0 and
 * the width and height, or -1. */
int h264_sps_size(const uint8_t *nal, size_t n, uint16_t *width, uint16_t *height);

#endif
