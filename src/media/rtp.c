/*
 * rtp.c — demultiplexing, RTP header parsing and rewriting, RTCP compound
 * walking, parsing and building (RFC 3550, 3551, 4585, 5104, 5761, 7983,
 * 8285, REMB, transport-wide CC).
 *
 * Runs on the media worker threads, per packet: pure functions over caller
 * buffers, no allocation, no locks, no logging.  Every read is bounds-checked
 * against the length the caller gave; the fuzzer in tests/fuzz holds us to it.
 *
 * Does not: decrypt, keep per-stream state, or decode TWCC status chunks.
 */
#include "media/rtp.h"

#include "core/bytes.h"
#include "core/common.h"

static inline int32_t sign24(uint32_t v)
{
    return (v & 0x800000u) ? (int32_t)(v | 0xFF000000u) : (int32_t)v;
}

rtp_kind_t rtp_classify(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return RTP_KIND_UNKNOWN;
    uint8_t b = buf[0];
    if (b <= 3)
        return len >= 20 ? RTP_KIND_STUN : RTP_KIND_UNKNOWN;
    if (b >= 20 && b <= 63)
        return len >= 13 ? RTP_KIND_DTLS : RTP_KIND_UNKNOWN; /* one DTLS record header */
    if (b >= 128 && b <= 191 && len >= 2) {
        uint8_t pt = buf[1] & 0x7f;
        if (pt >= 64 && pt <= 95)
            return len >= 8 ? RTP_KIND_RTCP : RTP_KIND_UNKNOWN;
        return len >= RTP_HEADER_LEN ? RTP_KIND_RTP : RTP_KIND_UNKNOWN;
    }
    /* 16..19 ZRTP and 64..79 TURN channels are not spoken here. */
    return RTP_KIND_UNKNOWN;
}

static void ext_add(rtp_hdr_t *h, uint8_t id, uint8_t len, size_t off)
{
    if (h->n_ext < RTP_MAX_EXT)
        h->ext[h->n_ext++] = (rtp_ext_t){.id = id, .len = len, .off = (uint16_t)off};
}

/* RFC 8285 §4.2.  A zero byte is padding whatever its length nibble (as
 * libwebrtc reads it); id 15 ends processing of the block. */
static const char *parse_one_byte(const uint8_t *buf, size_t off, size_t end, rtp_hdr_t *h)
{
    while (off < end) {
        uint8_t id = buf[off] >> 4, n = (uint8_t)((buf[off] & 0x0f) + 1);
        if (id == 0) {
            off++;
            continue;
        }
        if (id == 15)
            break;
        off++;
        if (n > end - off)
            return "one-byte extension element overruns block";
        ext_add(h, id, n, off);
        off += n;
    }
    return NULL;
}

/* RFC 8285 §4.3: id byte, length byte (0..255), data; id 0 is padding. */
static const char *parse_two_byte(const uint8_t *buf, size_t off, size_t end, rtp_hdr_t *h)
{
    while (off < end) {
        uint8_t id = buf[off];
        if (id == 0) {
            off++;
            continue;
        }
        if (end - off < 2)
            return "two-byte extension element header truncated";
        uint8_t n = buf[off + 1];
        off += 2;
        if (n > end - off)
            return "two-byte extension element overruns block";
        ext_add(h, id, n, off);
        off += n;
    }
    return NULL;
}

/* Extension block at off (its 4-byte header); returns NULL or a reason and
 * advances *off past the block. */
static const char *parse_ext_block(const uint8_t *buf, size_t len, size_t *off, rtp_hdr_t *h)
{
    if (len - *off < 4)
        return "extension header truncated";
    uint16_t profile = rd16(buf + *off);
    size_t bytes = (size_t)rd16(buf + *off + 2) * 4;
    *off += 4;
    if (bytes > len - *off)
        return "extension block overruns packet";
    h->ext_profile = profile;
    h->ext_off = (uint16_t)*off;
    h->ext_len = (uint16_t)bytes;
    const char *err = NULL;
    if (profile == RTP_EXT_PROFILE_ONE_BYTE)
        err = parse_one_byte(buf, *off, *off + bytes, h);
    else if ((profile & 0xFFF0) == RTP_EXT_PROFILE_TWO_BYTE)
        err = parse_two_byte(buf, *off, *off + bytes, h);
    *off += bytes;
    return err;
}

int rtp_parse(const uint8_t *buf, size_t len, rtp_hdr_t *h, const char **why)
{
    const char *err;
    if (len < RTP_HEADER_LEN) {
        err = "shorter than an RTP header";
        goto fail;
    }
    if (len > 0xFFFF) {
        err = "longer than 65535 bytes";
        goto fail;
    }
    if (buf[0] >> 6 != 2) {
        err = "not RTP version 2";
        goto fail;
    }
    h->padding = buf[0] & 0x20;
    h->extension = buf[0] & 0x10;
    h->csrc_count = buf[0] & 0x0f;
    h->marker = buf[1] & 0x80;
    h->pt = buf[1] & 0x7f;
    h->seq = rd16(buf + 2);
    h->ts = rd32(buf + 4);
    h->ssrc = rd32(buf + 8);
    h->ext_profile = h->ext_off = h->ext_len = 0;
    h->n_ext = 0;

    size_t off = RTP_HEADER_LEN + (size_t)h->csrc_count * 4;
    if (off > len) {
        err = "CSRC list truncated";
        goto fail;
    }
    for (unsigned i = 0; i < h->csrc_count; i++)
        h->csrc[i] = rd32(buf + RTP_HEADER_LEN + 4 * i);
    if (h->extension && (err = parse_ext_block(buf, len, &off, h)) != NULL)
        goto fail;

    size_t end = len;
    if (h->padding) {
        /* RFC 3550 §5.1: the last byte counts the padding, itself included. */
        uint8_t pad = off < len ? buf[len - 1] : 0;
        if (pad == 0 || pad > len - off) {
            err = "bad padding length";
            goto fail;
        }
        end = len - pad;
    }
    h->header_len = (uint16_t)off;
    h->payload_len = (uint16_t)(end - off);
    h->padding_len = (uint8_t)(len - end);
    return IRTC_OK;
fail:
    if (why != NULL)
        *why = err;
    return IRTC_EINVAL;
}

const rtp_ext_t *rtp_ext_find(const rtp_hdr_t *h, uint8_t id)
{
    for (unsigned i = 0; i < h->n_ext; i++)
        if (h->ext[i].id == id)
            return &h->ext[i];
    return NULL;
}

int rtp_ext_write_be(uint8_t *buf, const rtp_hdr_t *h, uint8_t id, uint32_t value)
{
    const rtp_ext_t *e = rtp_ext_find(h, id);
    if (e == NULL)
        return IRTC_ENOTFOUND;
    if (e->len == 0 || e->len > 4 || (e->len < 4 && value >> (8 * e->len) != 0))
        return IRTC_EINVAL;
    for (int i = e->len - 1; i >= 0; i--, value >>= 8)
        buf[e->off + i] = (uint8_t)value;
    return IRTC_OK;
}

int rtp_ext_read_be(const uint8_t *buf, const rtp_hdr_t *h, uint8_t id, uint32_t *value)
{
    const rtp_ext_t *e = rtp_ext_find(h, id);
    if (e == NULL)
        return IRTC_ENOTFOUND;
    if (e->len == 0 || e->len > 4)
        return IRTC_EINVAL;
    uint32_t v = 0;
    for (unsigned i = 0; i < e->len; i++)
        v = v << 8 | buf[e->off + i];
    *value = v;
    return IRTC_OK;
}

/* ---- RTCP compound walking ---------------------------------------------- */

void rtcp_iter_init(rtcp_iter_t *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = len;
    it->off = 0;
    it->err = len == 0 ? "empty RTCP packet" : NULL;
}

static const char *check_sub(const uint8_t *p, size_t rem, rtcp_pkt_t *out)
{
    if (rem < 4)
        return "RTCP header truncated";
    if (p[0] >> 6 != 2)
        return "not RTCP version 2";
    if (p[1] < 192 || p[1] > 223)
        return "packet type outside RTCP range (RFC 5761)";
    size_t plen = ((size_t)rd16(p + 2) + 1) * 4;
    if (plen > rem)
        return "RTCP length runs past the datagram";
    size_t body = plen - 4;
    bool padding = p[0] & 0x20;
    if (padding) {
        /* RFC 3550 §6.4.1: only the last sub-packet may be padded. */
        if (plen != rem)
            return "padding on a sub-packet that is not the last";
        uint8_t pad = p[plen - 1];
        if (pad == 0 || pad > body)
            return "bad RTCP padding length";
        body -= pad;
    }
    *out = (rtcp_pkt_t){.fmt = p[0] & 0x1f, .pt = p[1], .padding = padding, .p = p, .len = plen, .body_len = body};
    return NULL;
}

int rtcp_iter_next(rtcp_iter_t *it, rtcp_pkt_t *out, const char **why)
{
    if (it->err == NULL && it->off >= it->len)
        return 0;
    if (it->err == NULL)
        it->err = check_sub(it->buf + it->off, it->len - it->off, out);
    if (it->err != NULL) {
        if (why != NULL)
            *why = it->err;
        return IRTC_EINVAL;
    }
    it->off += out->len;
    return 1;
}

int rtcp_validate(const uint8_t *buf, size_t len, const char **why)
{
    rtcp_iter_t it;
    rtcp_pkt_t pkt;
    int rc;
    rtcp_iter_init(&it, buf, len);
    while ((rc = rtcp_iter_next(&it, &pkt, why)) > 0)
        ;
    return rc;
}

/* ---- RTCP parsers -------------------------------------------------------- */

static void read_rb(const uint8_t *p, rtcp_rb_t *rb)
{
    rb->ssrc = rd32(p);
    rb->fraction_lost = p[4];
    rb->cumulative_lost = sign24(rd24(p + 5));
    rb->ext_highest_seq = rd32(p + 8);
    rb->jitter = rd32(p + 12);
    rb->lsr = rd32(p + 16);
    rb->dlsr = rd32(p + 20);
}

int rtcp_parse_report(const rtcp_pkt_t *pkt, rtcp_report_t *out)
{
    size_t fixed;
    if (pkt->pt == RTCP_PT_SR)
        fixed = 24;
    else if (pkt->pt == RTCP_PT_RR)
        fixed = 4;
    else
        return IRTC_EINVAL;
    /* Profile-specific extensions may follow the blocks; they are ignored. */
    if (pkt->body_len < fixed + (size_t)pkt->fmt * 24)
        return IRTC_EINVAL;
    const uint8_t *b = pkt->p + 4;
    out->ssrc = rd32(b);
    out->is_sr = pkt->pt == RTCP_PT_SR;
    if (out->is_sr) {
        out->ntp_sec = rd32(b + 4);
        out->ntp_frac = rd32(b + 8);
        out->rtp_ts = rd32(b + 12);
        out->packet_count = rd32(b + 16);
        out->octet_count = rd32(b + 20);
    } else {
        out->ntp_sec = out->ntp_frac = out->rtp_ts = out->packet_count = out->octet_count = 0;
    }
    out->rb_count = pkt->fmt;
    for (unsigned i = 0; i < pkt->fmt; i++)
        read_rb(b + fixed + 24 * i, &out->rb[i]);
    return IRTC_OK;
}

int rtcp_parse_bye(const rtcp_pkt_t *pkt, rtcp_bye_t *out)
{
    size_t ids = (size_t)pkt->fmt * 4;
    if (pkt->pt != RTCP_PT_BYE || pkt->body_len < ids)
        return IRTC_EINVAL;
    const uint8_t *b = pkt->p + 4;
    out->count = pkt->fmt;
    for (unsigned i = 0; i < pkt->fmt; i++)
        out->ssrc[i] = rd32(b + 4 * i);
    out->reason = NULL;
    out->reason_len = 0;
    if (pkt->body_len > ids) {
        uint8_t rlen = b[ids];
        if ((size_t)rlen + 1 > pkt->body_len - ids)
            return IRTC_EINVAL;
        out->reason = b + ids + 1;
        out->reason_len = rlen;
    }
    return IRTC_OK;
}

int rtcp_parse_fb(const rtcp_pkt_t *pkt, rtcp_fb_t *out)
{
    if ((pkt->pt != RTCP_PT_RTPFB && pkt->pt != RTCP_PT_PSFB) || pkt->body_len < 8)
        return IRTC_EINVAL;
    out->sender_ssrc = rd32(pkt->p + 4);
    out->media_ssrc = rd32(pkt->p + 8);
    out->fci = pkt->p + 12;
    out->fci_len = pkt->body_len - 8;
    return IRTC_OK;
}

int rtcp_nack_expand(const rtcp_pkt_t *pkt, uint16_t *seqs, size_t cap, size_t *n)
{
    rtcp_fb_t fb;
    *n = 0;
    if (pkt->pt != RTCP_PT_RTPFB || pkt->fmt != RTCP_RTPFB_NACK || rtcp_parse_fb(pkt, &fb) != IRTC_OK ||
        fb.fci_len == 0 || fb.fci_len % 4 != 0)
        return IRTC_EINVAL;
    for (size_t off = 0; off < fb.fci_len; off += 4) {
        uint16_t pid = rd16(fb.fci + off), blp = rd16(fb.fci + off + 2);
        for (int bit = -1; bit < 16; bit++) {
            if (bit >= 0 && !(blp & (1u << bit)))
                continue;
            if (*n == cap)
                return IRTC_ELIMIT;
            seqs[(*n)++] = (uint16_t)(pid + bit + 1);
        }
    }
    return IRTC_OK;
}

int rtcp_parse_pli(const rtcp_pkt_t *pkt, uint32_t *sender_ssrc, uint32_t *media_ssrc)
{
    rtcp_fb_t fb;
    if (pkt->pt != RTCP_PT_PSFB || pkt->fmt != RTCP_PSFB_PLI || rtcp_parse_fb(pkt, &fb) != IRTC_OK)
        return IRTC_EINVAL;
    *sender_ssrc = fb.sender_ssrc;
    *media_ssrc = fb.media_ssrc;
    return IRTC_OK;
}

int rtcp_parse_fir(const rtcp_pkt_t *pkt, uint32_t *sender_ssrc, rtcp_fir_entry_t *entries, size_t cap, size_t *n)
{
    rtcp_fb_t fb;
    *n = 0;
    if (pkt->pt != RTCP_PT_PSFB || pkt->fmt != RTCP_PSFB_FIR || rtcp_parse_fb(pkt, &fb) != IRTC_OK || fb.fci_len == 0 ||
        fb.fci_len % 8 != 0)
        return IRTC_EINVAL;
    *sender_ssrc = fb.sender_ssrc;
    for (size_t off = 0; off < fb.fci_len; off += 8) {
        if (*n == cap)
            return IRTC_ELIMIT;
        entries[*n].ssrc = rd32(fb.fci + off);
        entries[*n].seq_nr = fb.fci[off + 4];
        (*n)++;
    }
    return IRTC_OK;
}

int rtcp_parse_remb(const rtcp_pkt_t *pkt, rtcp_remb_t *out)
{
    rtcp_fb_t fb;
    if (pkt->pt != RTCP_PT_PSFB || pkt->fmt != RTCP_PSFB_AFB || rtcp_parse_fb(pkt, &fb) != IRTC_OK || fb.fci_len < 8 ||
        rd32(fb.fci) != 0x52454D42u /* "REMB" */)
        return IRTC_EINVAL;
    uint8_t num = fb.fci[4], exp = fb.fci[5] >> 2;
    uint64_t mantissa = (uint64_t)(fb.fci[5] & 3) << 16 | rd16(fb.fci + 6);
    if (fb.fci_len < 8 + (size_t)num * 4)
        return IRTC_EINVAL;
    out->sender_ssrc = fb.sender_ssrc;
    out->bitrate_bps = mantissa > (UINT64_MAX >> exp) ? UINT64_MAX : mantissa << exp;
    out->n_ssrc = num;
    for (unsigned i = 0; i < num && i < RTCP_MAX_REMB_SSRC; i++)
        out->ssrc[i] = rd32(fb.fci + 8 + 4 * i);
    return IRTC_OK;
}

int rtcp_parse_twcc(const rtcp_pkt_t *pkt, rtcp_twcc_t *out)
{
    rtcp_fb_t fb;
    if (pkt->pt != RTCP_PT_RTPFB || pkt->fmt != RTCP_RTPFB_TWCC || rtcp_parse_fb(pkt, &fb) != IRTC_OK || fb.fci_len < 8)
        return IRTC_EINVAL;
    out->sender_ssrc = fb.sender_ssrc;
    out->media_ssrc = fb.media_ssrc;
    out->base_seq = rd16(fb.fci);
    out->status_count = rd16(fb.fci + 2);
    out->ref_time = sign24(rd24(fb.fci + 4));
    out->fb_count = fb.fci[7];
    out->chunks = fb.fci + 8;
    out->chunks_len = fb.fci_len - 8;
    return IRTC_OK;
}

/* ---- RTCP builders ------------------------------------------------------- */

static void put_header(uint8_t *out, uint8_t fmt, uint8_t pt, size_t len)
{
    out[0] = (uint8_t)(0x80 | fmt);
    out[1] = pt;
    wr16(out + 2, (uint16_t)(len / 4 - 1));
}

static void write_rb(uint8_t *p, const rtcp_rb_t *rb)
{
    int32_t lost = IRTC_MAX(IRTC_MIN(rb->cumulative_lost, 0x7FFFFF), -0x800000);
    wr32(p, rb->ssrc);
    wr32(p + 4, (uint32_t)lost & 0xFFFFFFu);
    p[4] = rb->fraction_lost;
    wr32(p + 8, rb->ext_highest_seq);
    wr32(p + 12, rb->jitter);
    wr32(p + 16, rb->lsr);
    wr32(p + 20, rb->dlsr);
}

size_t rtcp_build_rr(uint8_t *out, size_t cap, uint32_t ssrc, const rtcp_rb_t *rb, size_t n_rb)
{
    size_t len = 8 + 24 * n_rb;
    if (n_rb > RTCP_MAX_RB || cap < len)
        return 0;
    put_header(out, (uint8_t)n_rb, RTCP_PT_RR, len);
    wr32(out + 4, ssrc);
    for (size_t i = 0; i < n_rb; i++)
        write_rb(out + 8 + 24 * i, &rb[i]);
    return len;
}

size_t rtcp_build_sr(uint8_t *out, size_t cap, const rtcp_report_t *r)
{
    size_t len = 28 + 24 * (size_t)r->rb_count;
    if (r->rb_count > RTCP_MAX_RB || cap < len)
        return 0;
    put_header(out, r->rb_count, RTCP_PT_SR, len);
    wr32(out + 4, r->ssrc);
    wr32(out + 8, r->ntp_sec);
    wr32(out + 12, r->ntp_frac);
    wr32(out + 16, r->rtp_ts);
    wr32(out + 20, r->packet_count);
    wr32(out + 24, r->octet_count);
    for (unsigned i = 0; i < r->rb_count; i++)
        write_rb(out + 28 + 24 * i, &r->rb[i]);
    return len;
}

size_t rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    if (cap < 12)
        return 0;
    put_header(out, RTCP_PSFB_PLI, RTCP_PT_PSFB, 12);
    wr32(out + 4, sender_ssrc);
    wr32(out + 8, media_ssrc);
    return 12;
}

size_t rtcp_build_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t seq_nr)
{
    if (cap < 20)
        return 0;
    put_header(out, RTCP_PSFB_FIR, RTCP_PT_PSFB, 20);
    wr32(out + 4, sender_ssrc);
    wr32(out + 8, 0);
    wr32(out + 12, media_ssrc);
    wr32(out + 16, 0);
    out[16] = seq_nr;
    return 20;
}

size_t rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, const uint16_t *seqs,
                       size_t n)
{
    if (n == 0 || cap < 16)
        return 0;
    size_t off = 12;
    uint16_t pid = seqs[0], blp = 0;
    for (size_t i = 1; i <= n; i++) {
        uint16_t d = i < n ? (uint16_t)(seqs[i] - pid) : 0xFFFF;
        if (i < n && d == 0)
            continue;
        if (i < n && d <= 16) {
            blp |= (uint16_t)(1u << (d - 1));
            continue;
        }
        /* The length field counts 32-bit words minus one in 16 bits. */
        if (cap - off < 4 || off / 4 > 0xFFFF)
            return 0;
        wr16(out + off, pid);
        wr16(out + off + 2, blp);
        off += 4;
        if (i < n) {
            pid = seqs[i];
            blp = 0;
        }
    }
    put_header(out, RTCP_RTPFB_NACK, RTCP_PT_RTPFB, off);
    wr32(out + 4, sender_ssrc);
    wr32(out + 8, media_ssrc);
    return off;
}

size_t rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps, const uint32_t *ssrcs,
                       size_t n_ssrc)
{
    size_t len = 20 + 4 * n_ssrc;
    if (n_ssrc > 255 || cap < len)
        return 0;
    unsigned exp = 0;
    while ((bitrate_bps >> exp) > 0x3FFFFu)
        exp++;
    uint32_t mantissa = (uint32_t)(bitrate_bps >> exp);
    put_header(out, RTCP_PSFB_AFB, RTCP_PT_PSFB, len);
    wr32(out + 4, sender_ssrc);
    wr32(out + 8, 0); /* media SSRC is unused in REMB */
    wr32(out + 12, 0x52454D42u);
    out[16] = (uint8_t)n_ssrc;
    out[17] = (uint8_t)(exp << 2 | mantissa >> 16);
    wr16(out + 18, (uint16_t)mantissa);
    for (size_t i = 0; i < n_ssrc; i++)
        wr32(out + 20 + 4 * i, ssrcs[i]);
    return len;
}
