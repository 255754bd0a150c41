/*
 * h264.c — H.264 RTP payload inspection (RFC 6184) and SPS picture size
 * (ITU-T H.264 §7.3.2.1.1).  See h264.h.
 */
#include "media/codecs/h264.h"

#include <string.h>

/* ---- an Exp-Golomb bit reader over an RBSP with emulation prevention ---- */

typedef struct {
    const uint8_t *p;
    size_t n, byte;
    unsigned bit; /* next bit in p[byte], 7 = most significant */
    unsigned zeros;
    bool err;
} bits_t;

static int read_bit(bits_t *b)
{
    if (b->byte >= b->n) {
        b->err = true;
        return 0;
    }
    /* §7.4.1: 00 00 03 — the 03 is emulation prevention, not data. */
    if (b->bit == 7 && b->zeros >= 2 && b->p[b->byte] == 0x03) {
        b->zeros = 0;
        if (++b->byte >= b->n) {
            b->err = true;
            return 0;
        }
    }
    int v = (b->p[b->byte] >> b->bit) & 1;
    if (b->bit == 0) {
        b->zeros = b->p[b->byte] == 0 ? b->zeros + 1 : 0;
        b->bit = 7;
        b->byte++;
    } else {
        b->bit--;
    }
    return v;
}

static uint32_t read_bits(bits_t *b, unsigned n)
{
    uint32_t v = 0;
    while (n-- > 0)
        v = v << 1 | (uint32_t)read_bit(b);
    return v;
}

static uint32_t read_ue(bits_t *b)
{
    unsigned lz = 0;
    while (read_bit(b) == 0) {
        if (b->err || ++lz > 31) {
            b->err = true;
            return 0;
        }
    }
    return lz ? ((1u << lz) - 1 + read_bits(b, lz)) : 0;
}

static int32_t read_se(bits_t *b)
{
    uint32_t k = read_ue(b);
    return (k & 1) ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

static void skip_scaling_list(bits_t *b, unsigned size)
{
    int32_t last = 8, next = 8;
    for (unsigned j = 0; j < size && !b->err; j++) {
        if (next != 0)
            next = (last + read_se(b) + 256) % 256;
        last = next == 0 ? last : next;
    }
}

int h264_sps_size(const uint8_t *nal, size_t n, uint16_t *width, uint16_t *height)
{
    if (n < 4 || (nal[0] & 0x1f) != 7)
        return -1;
    bits_t b = {.p = nal + 1, .n = n - 1, .bit = 7};
    unsigned profile = read_bits(&b, 8);
    read_bits(&b, 16); /* constraint flags, level */
    read_ue(&b);       /* seq_parameter_set_id */
    unsigned chroma = 1;
    bool separate_planes = false;
    if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 || profile == 83 ||
        profile == 86 || profile == 118 || profile == 128 || profile == 138 || profile == 139 || profile == 134 ||
        profile == 135) {
        chroma = read_ue(&b);
        if (chroma == 3)
            separate_planes = read_bit(&b);
        read_ue(&b);      /* bit_depth_luma_minus8 */
        read_ue(&b);      /* bit_depth_chroma_minus8 */
        read_bit(&b);     /* qpprime_y_zero_transform_bypass_flag */
        if (read_bit(&b)) /* seq_scaling_matrix_present_flag */
            for (unsigned i = 0; i < (chroma != 3 ? 8u : 12u) && !b.err; i++)
                if (read_bit(&b))
                    skip_scaling_list(&b, i < 6 ? 16 : 64);
    }
    read_ue(&b); /* log2_max_frame_num_minus4 */
    uint32_t poc_type = read_ue(&b);
    if (poc_type == 0) {
        read_ue(&b);
    } else if (poc_type == 1) {
        read_bit(&b);
        read_se(&b);
        read_se(&b);
        uint32_t cycle = read_ue(&b);
        if (cycle > 255)
            return -1;
        for (uint32_t i = 0; i < cycle && !b.err; i++)
            read_se(&b);
    }
    read_ue(&b);  /* max_num_ref_frames */
    read_bit(&b); /* gaps_in_frame_num_value_allowed_flag */
    uint32_t w_mbs = read_ue(&b) + 1, h_units = read_ue(&b) + 1;
    bool frame_mbs_only = read_bit(&b);
    if (!frame_mbs_only)
        read_bit(&b);
    read_bit(&b); /* direct_8x8_inference_flag */
    uint32_t crop[4] = {0, 0, 0, 0};
    if (read_bit(&b))
        for (int i = 0; i < 4; i++)
            crop[i] = read_ue(&b);
    if (b.err || w_mbs > 1024 || h_units > 1024)
        return -1;
    unsigned fm = frame_mbs_only ? 1 : 2;
    unsigned cx = 1, cy = fm;
    if (!separate_planes && chroma == 1) {
        cx = 2;
        cy = 2 * fm;
    } else if (!separate_planes && chroma == 2) {
        cx = 2;
    }
    int64_t w = (int64_t)w_mbs * 16 - (int64_t)cx * (crop[0] + crop[1]);
    int64_t h = (int64_t)fm * h_units * 16 - (int64_t)cy * (crop[2] + crop[3]);
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
        return -1;
    *width = (uint16_t)w;
    *height = (uint16_t)h;
    return 0;
}

/* One NAL unit that starts in this packet (whole, or its first fragment). */
static void on_nal(h264_desc_t *d, const uint8_t *nal, size_t n, bool whole)
{
    uint8_t type = nal[0] & 0x1f;
    d->start = true;
    if (type == 5 || type == 7)
        d->keyframe = true;
    if (type == 7 && whole) {
        d->has_sps = true;
        if (h264_sps_size(nal, n, &d->width, &d->height) != 0)
            d->width = d->height = 0;
    }
}

int h264_parse(const uint8_t *p, size_t n, h264_desc_t *out)
{
    memset(out, 0, sizeof(*out));
    if (n < 1)
        return -1;
    uint8_t type = p[0] & 0x1f;
    if (type >= 1 && type <= 23) { /* a single NAL unit (§5.6) */
        on_nal(out, p, n, true);
        return 0;
    }
    if (type == 24) { /* STAP-A (§5.7.1): 16-bit sizes, then NAL units */
        size_t i = 1;
        if (i >= n)
            return -1;
        while (i < n) {
            if (i + 2 > n)
                return -1;
            size_t sz = (size_t)p[i] << 8 | p[i + 1];
            i += 2;
            if (sz == 0 || i + sz > n)
                return -1;
            on_nal(out, p + i, sz, true);
            i += sz;
        }
        return 0;
    }
    if (type == 28) { /* FU-A (§5.8): S bit and the original type */
        if (n < 2)
            return -1;
        if (p[1] & 0x80) {
            uint8_t hdr = (uint8_t)((p[0] & 0xe0) | (p[1] & 0x1f));
            on_nal(out, &hdr, 1, false);
        }
        return 0;
    }
    return -1;
}
