/*
 * rec_depack.c — reorder buffer, payload formats and frame assembly for the
 * recorder; see rec_depack.h.  Owned by one recorder thread; no locks, no
 * logging, no allocation per packet.
 */
#include "record/rec_depack.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "media/codecs/codec.h"
#include "media/codecs/vp8.h"
#include "media/codecs/vp9.h"
#include "media/rtp.h"

#define SLOT_DATA 1500
#define H264_PARAM_MAX 256
#define VP9_MAX_LAYERS 8
/* A sequence number this far from the expected one is a new stream segment
 * (a restarted sender), not loss. */
#define SEQ_JUMP 1000

typedef struct {
    uint64_t arrival_us;
    uint16_t seq;
    uint16_t len;
    bool used;
    uint8_t data[SLOT_DATA];
} slot_t;

struct rec_depack {
    int codec;
    bool video;
    uint64_t wait_us;
    rec_depack_stats_t st;

    /* reorder buffer */
    slot_t *slots;
    size_t n_slots;
    size_t count;
    bool started;
    uint32_t ssrc;
    uint16_t next_seq;
    uint64_t newest_arrival_us;
    bool gap_pending; /* packets were given up on just before next_seq */
    bool discont_pending;

    /* the frame being assembled */
    uint8_t *fbuf;
    size_t flen, fcap;
    bool f_has_data, f_corrupt, f_keyframe, f_handed_out;
    bool f_after_gap; /* packets were given up on just before this frame's first one */
    bool f_marker;    /* it ended on its marker bit (not on a new timestamp or a flush) */
    uint32_t f_ts, f_ssrc;
    uint64_t f_arrival_us;
    uint16_t f_width, f_height;
    bool fua_open;                     /* H.264: inside a fragmented NAL */
    bool f_sps, f_pps, f_idr;          /* H.264: seen in this frame */
    bool f_slice_seen, f_first_slice_late; /* H.264: a slice seen; the first did not start at macroblock 0 */
    size_t vp9_starts[VP9_MAX_LAYERS]; /* VP9: offsets of layer frames */
    unsigned vp9_layers;

    bool waiting_keyframe, want_keyframe;

    /* H.264 parameter sets, kept for keyframes that arrive without them */
    uint8_t sps[H264_PARAM_MAX], pps[H264_PARAM_MAX];
    size_t sps_len, pps_len;
    uint8_t params[2 * H264_PARAM_MAX + 8];
    size_t params_len;
};

static const uint8_t start_code[4] = {0, 0, 0, 1};

rec_depack_t *rec_depack_new(int codec, uint64_t wait_us)
{
    if (codec != CODEC_OPUS && codec != CODEC_VP8 && codec != CODEC_VP9 && codec != CODEC_H264)
        return NULL;
    rec_depack_t *d = xcalloc(1, sizeof(*d));
    d->codec = codec;
    d->video = codec != CODEC_OPUS;
    d->wait_us = wait_us ? wait_us : d->video ? 100000 : 40000;
    d->n_slots = d->video ? 512 : 64;
    d->slots = xcalloc(d->n_slots, sizeof(slot_t));
    d->fcap = d->video ? 256 * 1024 : 4096;
    d->fbuf = xmalloc(d->fcap);
    d->waiting_keyframe = d->video; /* a recording starts on a keyframe */
    return d;
}

void rec_depack_free(rec_depack_t *d)
{
    if (d == NULL)
        return;
    free(d->slots);
    free(d->fbuf);
    free(d);
}

const rec_depack_stats_t *rec_depack_stats(const rec_depack_t *d)
{
    return &d->st;
}

bool rec_depack_want_keyframe(rec_depack_t *d)
{
    bool w = d->want_keyframe;
    d->want_keyframe = false;
    return w;
}

bool rec_depack_waiting_keyframe(const rec_depack_t *d)
{
    return d->waiting_keyframe;
}

size_t rec_depack_h264_params(const rec_depack_t *d, const uint8_t **out)
{
    *out = d->params;
    return d->params_len;
}

/* ---- frame buffer ---- */

static void fappend(rec_depack_t *d, const uint8_t *p, size_t n)
{
    if (d->flen + n > d->fcap) {
        while (d->flen + n > d->fcap)
            d->fcap *= 2;
        d->fbuf = xrealloc(d->fbuf, d->fcap);
    }
    memcpy(d->fbuf + d->flen, p, n);
    d->flen += n;
}

static void frame_reset(rec_depack_t *d)
{
    d->flen = 0;
    d->f_has_data = d->f_corrupt = d->f_keyframe = d->f_handed_out = false;
    d->f_after_gap = d->f_marker = false;
    d->f_width = d->f_height = 0;
    d->fua_open = d->f_sps = d->f_pps = d->f_idr = false;
    d->f_slice_seen = d->f_first_slice_late = false;
    d->vp9_layers = 0;
}

static void keep_param(uint8_t *dst, size_t *dst_len, const uint8_t *nal, size_t n)
{
    if (n <= H264_PARAM_MAX) {
        memcpy(dst, nal, n);
        *dst_len = n;
    }
}

/* A coded slice (types 1 and 5) opens with first_mb_in_slice, ue(v): 0 is
 * the single bit 1, so the picture's first slice has the top bit of the
 * byte after the NAL header set.  body: those bytes, the header excluded. */
static void h264_slice_start(rec_depack_t *d, uint8_t type, const uint8_t *body, size_t n)
{
    if ((type != 1 && type != 5) || d->f_slice_seen)
        return;
    d->f_slice_seen = true;
    d->f_first_slice_late = n == 0 || !(body[0] & 0x80);
}

static void h264_nal(rec_depack_t *d, const uint8_t *nal, size_t n)
{
    uint8_t t = nal[0] & 0x1f;
    h264_slice_start(d, t, nal + 1, n - 1);
    if (t == 7) {
        d->f_sps = true;
        keep_param(d->sps, &d->sps_len, nal, n);
    } else if (t == 8) {
        d->f_pps = true;
        keep_param(d->pps, &d->pps_len, nal, n);
    } else if (t == 5) {
        d->f_idr = true;
    }
    fappend(d, start_code, 4);
    fappend(d, nal, n);
}

/* RFC 6184 §5.6-5.8: single NAL unit, STAP-A and FU-A.  Returns false when
 * the payload is malformed or uses the interleaved mode. */
static bool h264_payload(rec_depack_t *d, const uint8_t *p, size_t n)
{
    uint8_t t = p[0] & 0x1f;
    if (t >= 1 && t <= 23) {
        h264_nal(d, p, n);
        return true;
    }
    if (t == 24) {
        size_t i = 1;
        while (i + 2 <= n) {
            size_t sz = (size_t)p[i] << 8 | p[i + 1];
            i += 2;
            if (sz == 0 || i + sz > n)
                return false;
            h264_nal(d, p + i, sz);
            i += sz;
        }
        return i == n;
    }
    if (t == 28) {
        if (n < 3)
            return false;
        uint8_t fu = p[1];
        if (fu & 0x80) {
            uint8_t hdr = (uint8_t)((p[0] & 0xe0) | (fu & 0x1f));
            uint8_t ft = fu & 0x1f;
            if (ft == 5)
                d->f_idr = true;
            h264_slice_start(d, ft, p + 2, n - 2);
            fappend(d, start_code, 4);
            fappend(d, &hdr, 1);
            d->fua_open = true;
        } else if (!d->fua_open) {
            d->f_corrupt = true; /* the start of this NAL was lost */
            return true;
        }
        fappend(d, p + 2, n - 2);
        if (fu & 0x40)
            d->fua_open = false;
        return true;
    }
    return false; /* STAP-B, MTAP, FU-B: interleaved mode, not negotiated */
}

static void vp9_superframe_index(rec_depack_t *d)
{
    if (d->vp9_layers < 2)
        return;
    size_t sizes[VP9_MAX_LAYERS], maxsz = 0;
    for (unsigned k = 0; k < d->vp9_layers; k++) {
        size_t end = k + 1 < d->vp9_layers ? d->vp9_starts[k + 1] : d->flen;
        sizes[k] = end - d->vp9_starts[k];
        maxsz = IRTC_MAX(maxsz, sizes[k]);
    }
    unsigned mag = maxsz <= 0xff ? 1 : maxsz <= 0xffff ? 2 : maxsz <= 0xffffff ? 3 : 4;
    uint8_t marker = (uint8_t)(0xc0 | (mag - 1) << 3 | (d->vp9_layers - 1));
    fappend(d, &marker, 1);
    for (unsigned k = 0; k < d->vp9_layers; k++)
        for (unsigned b = 0; b < mag; b++) {
            uint8_t v = (uint8_t)(sizes[k] >> (8 * b));
            fappend(d, &v, 1);
        }
    fappend(d, &marker, 1);
}

/* Appends one packet's payload to the frame; sets f_corrupt on anything
 * that makes the frame undecodable. */
static void frame_add(rec_depack_t *d, const uint8_t *pl, size_t n)
{
    bool first = !d->f_has_data;
    switch (d->codec) {
    case CODEC_OPUS:
        fappend(d, pl, n);
        d->f_keyframe = true;
        break;
    case CODEC_VP8: {
        vp8_desc_t v;
        if (vp8_parse(pl, n, &v) != 0) {
            d->st.malformed++;
            d->f_corrupt = true;
            break;
        }
        if (first) {
            if (!v.start)
                d->f_corrupt = true; /* the frame's first packet is missing */
            d->f_keyframe = v.keyframe;
            if (v.width) {
                d->f_width = v.width;
                d->f_height = v.height;
            }
        }
        fappend(d, pl + v.header_len, n - v.header_len);
        break;
    }
    case CODEC_VP9: {
        vp9_desc_t v;
        if (vp9_parse(pl, n, &v) != 0) {
            d->st.malformed++;
            d->f_corrupt = true;
            break;
        }
        if (first) {
            if (!v.begin)
                d->f_corrupt = true;
            d->f_keyframe = v.keyframe;
        }
        if (v.has_ss && v.width) {
            d->f_width = v.width;
            d->f_height = v.height;
        }
        if (v.begin && d->vp9_layers < VP9_MAX_LAYERS)
            d->vp9_starts[d->vp9_layers++] = d->flen;
        fappend(d, pl + v.header_len, n - v.header_len);
        break;
    }
    case CODEC_H264:
        if (first)
            d->fua_open = false;
        if (!h264_payload(d, pl, n)) {
            d->st.malformed++;
            d->f_corrupt = true;
        }
        break;
    }
    d->f_has_data = true;
}

/* VP8 (RFC 6386 §9.1): the frame tag's first partition size against what
 * was assembled.  Only a frame that ended without its marker bit needs it:
 * with the marker and no gap, every packet is there. */
static bool vp8_whole_first_partition(const rec_depack_t *d)
{
    if (d->flen < 3)
        return false;
    uint32_t tag = (uint32_t)d->fbuf[0] | (uint32_t)d->fbuf[1] << 8 | (uint32_t)d->fbuf[2] << 16;
    size_t header = (tag & 1) ? 3 : 10; /* a keyframe adds start code, width and height */
    return d->flen >= header + (tag >> 5);
}

/* Finishes the frame: true when it is handed out, false when dropped. */
static bool frame_finish(rec_depack_t *d, rec_frame_t *out)
{
    if (d->codec == CODEC_H264) {
        d->f_keyframe = d->f_idr;
        if (d->f_sps && d->f_pps)
            d->params_len = 0; /* rebuilt below from the new sets */
        if (d->sps_len && d->pps_len && d->params_len == 0) {
            memcpy(d->params, start_code, 4);
            memcpy(d->params + 4, d->sps, d->sps_len);
            memcpy(d->params + 4 + d->sps_len, start_code, 4);
            memcpy(d->params + 8 + d->sps_len, d->pps, d->pps_len);
            d->params_len = 8 + d->sps_len + d->pps_len;
        }
        if (d->f_idr && !(d->f_sps && d->f_pps) && d->params_len) { /* make every keyframe self-contained */
            fappend(d, d->params, d->params_len);
            memmove(d->fbuf + d->params_len, d->fbuf, d->flen - d->params_len);
            memcpy(d->fbuf, d->params, d->params_len);
        }
        if (d->f_idr && d->params_len == 0)
            d->f_corrupt = true; /* an IDR nobody can decode */
        if (d->fua_open)
            d->f_corrupt = true; /* a NAL whose end fragment never came: a truncated slice */
        /* After a gap, an IDR whose first slice does not start the picture
         * lost its first slices with the gap: decoders show the missing
         * macroblocks as garbage until the next IDR.  (Only after a gap:
         * Baseline's arbitrary slice order may start elsewhere.) */
        if (d->f_after_gap && d->f_first_slice_late)
            d->f_corrupt = true;
    } else if (d->codec == CODEC_VP9) {
        vp9_superframe_index(d);
    } else if (d->codec == CODEC_VP8 && !d->f_marker && !vp8_whole_first_partition(d)) {
        d->f_corrupt = true; /* no marker, and the tail is visibly missing */
    }
    /* What a gap before the frame held is unknown: a frame this one refers
     * to, or its own first packets.  Only a keyframe is safe to write (its
     * start was checked); a delta frame would decode against the wrong
     * reference, or make the decoder report a missing one. */
    if (d->video && d->f_after_gap && !d->f_keyframe)
        d->f_corrupt = true;
    bool ok = d->f_has_data && !d->f_corrupt && d->flen > 0;
    if (d->video) {
        if (!ok) {
            if (!d->waiting_keyframe)
                d->want_keyframe = true;
            d->waiting_keyframe = true;
        } else if (d->waiting_keyframe) {
            if (d->f_keyframe)
                d->waiting_keyframe = false;
            else
                ok = false;
        }
    }
    if (!ok) {
        if (d->f_has_data)
            d->st.frames_dropped++;
        frame_reset(d);
        return false;
    }
    out->data = d->fbuf;
    out->len = d->flen;
    out->rtp_ts = d->f_ts;
    out->ssrc = d->f_ssrc;
    out->arrival_us = d->f_arrival_us;
    out->keyframe = d->f_keyframe;
    out->discont = d->discont_pending;
    out->width = d->f_width;
    out->height = d->f_height;
    d->discont_pending = false;
    d->f_handed_out = true;
    d->st.frames++;
    return true;
}

/* ---- reorder buffer ---- */

static void reorder_clear(rec_depack_t *d)
{
    for (size_t i = 0; i < d->n_slots && d->count > 0; i++)
        if (d->slots[i].used) {
            d->slots[i].used = false;
            d->count--;
            d->st.lost++; /* never reached the assembler */
        }
    d->count = 0;
}

/* A new SSRC or a jump: what is buffered is dropped, timing re-anchors. */
static void stream_reset(rec_depack_t *d, uint32_t ssrc, uint16_t seq)
{
    reorder_clear(d);
    if (d->f_has_data && !d->f_handed_out) {
        d->st.frames_dropped++;
        if (d->video && !d->waiting_keyframe)
            d->want_keyframe = true;
    }
    frame_reset(d);
    if (d->video)
        d->waiting_keyframe = true;
    d->ssrc = ssrc;
    d->next_seq = seq;
    d->gap_pending = false;
    d->discont_pending = true;
}

int rec_depack_push(rec_depack_t *d, const uint8_t *pkt, size_t len, uint64_t arrival_us)
{
    rtp_hdr_t h;
    if (len > SLOT_DATA || rtp_parse(pkt, len, &h, NULL) != IRTC_OK) {
        d->st.malformed++;
        return IRTC_EINVAL;
    }
    if (!d->started) {
        d->started = true;
        stream_reset(d, h.ssrc, h.seq);
    } else if (h.ssrc != d->ssrc) {
        d->st.resets++;
        stream_reset(d, h.ssrc, h.seq);
    }
    int diff = (int16_t)(h.seq - d->next_seq);
    if (diff < -SEQ_JUMP || diff >= (int)d->n_slots) {
        d->st.resets++;
        stream_reset(d, h.ssrc, h.seq);
        diff = 0;
    }
    if (diff < 0) {
        d->st.late++;
        return IRTC_OK;
    }
    slot_t *s = &d->slots[h.seq % d->n_slots];
    if (s->used) {
        d->st.late++; /* duplicate */
        return IRTC_OK;
    }
    s->used = true;
    s->seq = h.seq;
    s->len = (uint16_t)len;
    s->arrival_us = arrival_us;
    memcpy(s->data, pkt, len);
    d->count++;
    d->st.packets++;
    if (arrival_us > d->newest_arrival_us)
        d->newest_arrival_us = arrival_us;
    return IRTC_OK;
}

/* Whether the packet at next_seq is given up on. */
static bool give_up(rec_depack_t *d, uint64_t now_us)
{
    if (d->count == 0)
        return false;
    if (now_us == UINT64_MAX || d->count >= d->n_slots * 3 / 4)
        return true;
    for (size_t k = 1; k < d->n_slots; k++) { /* the first packet buffered after the hole */
        const slot_t *s = &d->slots[(uint16_t)(d->next_seq + k) % d->n_slots];
        if (s->used) {
            uint64_t latest = IRTC_MAX(now_us, d->newest_arrival_us);
            return latest >= s->arrival_us + d->wait_us;
        }
    }
    return false;
}

int rec_depack_next(rec_depack_t *d, uint64_t now_us, rec_frame_t *out)
{
    if (d->f_handed_out)
        frame_reset(d);
    for (;;) {
        slot_t *s = &d->slots[d->next_seq % d->n_slots];
        if (!s->used || s->seq != d->next_seq) {
            if (give_up(d, now_us)) {
                d->st.lost++;
                d->next_seq++;
                d->gap_pending = true;
                if (d->f_has_data)
                    d->f_corrupt = true; /* the hole may hold this frame's tail */
                continue;
            }
            if (now_us == UINT64_MAX && d->count == 0 && d->f_has_data && frame_finish(d, out))
                return 1;
            return 0;
        }
        rtp_hdr_t h;
        if (rtp_parse(s->data, s->len, &h, NULL) != IRTC_OK) { /* cannot happen: parsed on push */
            s->used = false;
            d->count--;
            d->next_seq++;
            continue;
        }
        if (h.payload_len == 0) { /* padding-only (bandwidth probes) take sequence numbers, not frames */
            s->used = false;
            d->count--;
            d->next_seq++;
            continue;
        }
        if (d->f_has_data && h.ts != d->f_ts) {
            /* a new frame began before the old one saw its marker: the old
             * one ends here (its marker was lost with a gap, or never sent) */
            if (frame_finish(d, out))
                return 1; /* this packet stays for the next call */
            continue;
        }
        if (!d->f_has_data) {
            d->f_ts = h.ts;
            d->f_ssrc = h.ssrc;
            d->f_arrival_us = s->arrival_us;
        }
        bool after_gap = d->gap_pending;
        d->gap_pending = false;
        if (after_gap && d->f_has_data)
            d->f_corrupt = true; /* the hole was inside this frame */
        else if (after_gap)
            d->f_after_gap = true;
        frame_add(d, s->data + h.header_len, h.payload_len);
        s->used = false;
        d->count--;
        d->next_seq++;
        d->f_marker = h.marker;
        if ((h.marker || d->codec == CODEC_OPUS) && frame_finish(d, out))
            return 1;
    }
}
