/*
 * vp8.c — VP8 payload descriptor parsing and picture-id rewriting
 * (RFC 7741).  See vp8.h.
 */
#include "media/codecs/vp8.h"

#include <string.h>

int vp8_parse(const uint8_t *p, size_t n, vp8_desc_t *out)
{
    memset(out, 0, sizeof(*out));
    if (n < 1)
        return -1;
    size_t i = 1;
    if (p[0] & 0x80) { /* X: the extension byte follows */
        if (n < 2)
            return -1;
        uint8_t x = p[1];
        i = 2;
        if (x & 0x80) { /* I */
            if (i >= n)
                return -1;
            out->has_picture_id = true;
            if (p[i] & 0x80) {
                if (i + 1 >= n)
                    return -1;
                out->picture_id_15 = true;
                out->picture_id = (uint16_t)((p[i] & 0x7f) << 8 | p[i + 1]);
                i += 2;
            } else {
                out->picture_id = p[i] & 0x7f;
                i += 1;
            }
        }
        if (x & 0x40) { /* L */
            if (i >= n)
                return -1;
            out->has_tl0picidx = true;
            out->tl0picidx = p[i++];
        }
        if (x & 0x30) { /* T or K share one byte: TID(2) Y(1) KEYIDX(5) */
            if (i >= n)
                return -1;
            if (x & 0x20) {
                out->has_tid = true;
                out->tid = p[i] >> 6;
                out->layer_sync = (p[i] & 0x20) != 0;
            }
            i++;
        }
    }
    if (i >= n)
        return -1;
    out->header_len = (uint8_t)i;
    out->start = (p[0] & 0x10) && (p[0] & 0x07) == 0;
    if (out->start && (p[i] & 0x01) == 0) { /* §4.3: P bit of the frame tag */
        out->keyframe = true;
        /* A keyframe's frame header: 3-byte tag, start code 9d 01 2a, then
         * 14-bit width and height with 2-bit scales (RFC 6386 §9.1). */
        if (i + 10 <= n && p[i + 3] == 0x9d && p[i + 4] == 0x01 && p[i + 5] == 0x2a) {
            out->width = (uint16_t)((p[i + 6] | p[i + 7] << 8) & 0x3fff);
            out->height = (uint16_t)((p[i + 8] | p[i + 9] << 8) & 0x3fff);
        }
    }
    return 0;
}

void vp8_rewrite(uint8_t *p, const vp8_desc_t *d, uint16_t picture_id, uint8_t tl0picidx)
{
    size_t i = 2;
    if (d->has_picture_id) {
        if (d->picture_id_15) {
            p[i] = (uint8_t)(0x80 | ((picture_id >> 8) & 0x7f));
            p[i + 1] = (uint8_t)picture_id;
            i += 2;
        } else {
            p[i] = (uint8_t)(picture_id & 0x7f);
            i += 1;
        }
    }
    if (d->has_tl0picidx)
        p[i] = tl0picidx;
}
