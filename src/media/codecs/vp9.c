/*
 * vp9.c — VP9 payload descriptor parsing (draft-ietf-payload-vp9-16).  See vp9.h.
 */
#include "media/codecs/vp9.h"

#include <string.h>

int vp9_parse(const uint8_t *p, size_t n, vp9_desc_t *out)
{
    memset(out, 0, sizeof(*out));
    if (n < 1)
        return -1;
    uint8_t b = p[0];
    bool I = b & 0x80, P = b & 0x40, L = b & 0x20, F = b & 0x10, V = b & 0x02;
    out->begin = b & 0x08;
    out->end = b & 0x04;
    out->flexible = F;
    size_t i = 1;
    if (I) {
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
    if (L) {
        if (i >= n)
            return -1;
        out->tid = p[i] >> 5;
        out->sid = (p[i] >> 1) & 0x07;
        i += F ? 1 : 2; /* non-flexible mode adds TL0PICIDX */
    }
    if (F && P) { /* up to 3 reference indices, N bit chains them */
        for (int k = 0; k < 3; k++) {
            if (i >= n)
                return -1;
            bool more = p[i++] & 0x01;
            if (!more)
                break;
        }
    }
    if (V) { /* scalability structure, §4.2.1 */
        if (i >= n)
            return -1;
        unsigned ns = (p[i] >> 5) + 1;
        bool y = p[i] & 0x10, g = p[i] & 0x08;
        i++;
        if (y) {
            if (i + 4 * ns > n)
                return -1;
            out->width = (uint16_t)(p[i] << 8 | p[i + 1]);
            out->height = (uint16_t)(p[i + 2] << 8 | p[i + 3]);
            i += 4 * ns;
        }
        if (g) {
            if (i >= n)
                return -1;
            unsigned ng = p[i++];
            for (unsigned k = 0; k < ng; k++) {
                if (i >= n)
                    return -1;
                i += 1 + ((p[i] >> 2) & 0x03);
            }
        }
        out->has_ss = true;
    }
    if (i >= n)
        return -1;
    out->header_len = (uint16_t)i;
    out->keyframe = !P && out->begin && out->sid == 0;
    return 0;
}
