/*
 * codec.h — the codecs this server forwards and records, by one set of ids
 * shared by the control side (src/sfu), the media workers (src/media) and
 * the recorder (src/record): ids and kinds, their names as SDP writes them,
 * and what a stream of one codec is (payload type, clock rate).
 *
 * A leaf: pure, any thread, no state.  Payload formats (descriptors,
 * keyframes) belong beside it in src/media/codecs/, one file per codec.
 */
#ifndef IRTC_CODEC_H
#define IRTC_CODEC_H

#include <stdint.h>
#include <strings.h>

/* The values index per-kind arrays (audio 0, video 1). */
typedef enum { CODEC_KIND_AUDIO = 0, CODEC_KIND_VIDEO = 1 } codec_kind_t;

typedef enum { CODEC_OPUS = 1, CODEC_VP8, CODEC_VP9, CODEC_H264, CODEC_OTHER } codec_id_t;

/* One RTP stream's codec as negotiated: what a consumer of its packets needs. */
typedef struct {
    codec_kind_t kind;
    codec_id_t codec;
    uint8_t pt;
    uint32_t clock_rate; /* 0 = the codec's usual rate */
} codec_params_t;

/* The id of an SDP encoding name ("opus", "VP8", ...; any case), or CODEC_OTHER. */
static inline codec_id_t codec_from_name(const char *name)
{
    if (strcasecmp(name, "opus") == 0)
        return CODEC_OPUS;
    if (strcasecmp(name, "VP8") == 0)
        return CODEC_VP8;
    if (strcasecmp(name, "VP9") == 0)
        return CODEC_VP9;
    if (strcasecmp(name, "H264") == 0)
        return CODEC_H264;
    return CODEC_OTHER;
}

/* The SDP encoding name of id ("" for CODEC_OTHER). */
static inline const char *codec_name(codec_id_t id)
{
    switch (id) {
    case CODEC_OPUS:
        return "opus";
    case CODEC_VP8:
        return "VP8";
    case CODEC_VP9:
        return "VP9";
    case CODEC_H264:
        return "H264";
    default:
        return "";
    }
}

#endif
