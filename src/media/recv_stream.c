/*
 * recv_stream.c — one received encoding: statistics, NACK generator, sender
 * report, bitrate and the packet store.  See recv_stream.h.
 */
#include "media/recv_stream.h"
#include "core/common.h"
#include "media/codecs/h264.h"
#include "media/codecs/vp9.h"
#include "media/codecs/codec.h"

#include <stdlib.h>
#include <string.h>

void rs_init(recv_stream_t *s, int kind, int codec, uint32_t clock_rate, bool nack, size_t slots)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->codec = codec;
    s->clock_rate = clock_rate ? clock_rate : 90000;
    s->nack_enabled = nack;
    rtp_stats_init(&s->stats, s->clock_rate);
    nack_gen_init(&s->nack);
    s->slots = xcalloc(slots, sizeof(rs_slot_t));
    s->mask = slots - 1;
}

void rs_dispose(recv_stream_t *s)
{
    free(s->slots);
    s->slots = NULL;
}

static void count_bitrate(recv_stream_t *s, size_t len, uint64_t now_ms)
{
    uint64_t id = now_ms / RS_BITRATE_BIN_MS + 1;
    size_t i = id % RS_BITRATE_BINS;
    if (s->bin_id[i] != id) {
        s->bin_id[i] = id;
        s->bin_bytes[i] = 0;
    }
    s->bin_bytes[i] += len;
}

uint64_t rs_bitrate_bps(const recv_stream_t *s, uint64_t now_ms)
{
    uint64_t now_id = now_ms / RS_BITRATE_BIN_MS + 1, bytes = 0;
    for (size_t i = 0; i < RS_BITRATE_BINS; i++)
        if (s->bin_id[i] != 0 && now_id - s->bin_id[i] < RS_BITRATE_BINS)
            bytes += s->bin_bytes[i];
    /* Over the whole window, or since the first packet when younger: a new
     * layer must not look ten times cheaper than it is. */
    uint64_t span_ms = RS_BITRATE_BINS * RS_BITRATE_BIN_MS;
    if (s->seen && now_ms - s->first_ms < span_ms)
        span_ms = IRTC_MAX(now_ms - s->first_ms, (uint64_t)RS_BITRATE_BIN_MS);
    return bytes * 8 * 1000 / span_ms;
}

bool rs_active(const recv_stream_t *s, uint64_t now_ms)
{
    return s->seen && now_ms - s->last_ms < RS_INACTIVE_MS;
}

int rs_on_packet(recv_stream_t *s, const rtp_hdr_t *h, size_t len, uint64_t now_ms)
{
    if (!s->seen) {
        s->seen = true;
        s->first_ms = now_ms;
    }
    s->last_ms = now_ms;
    rtp_stats_packet(&s->stats, h->seq, h->ts, now_ms * 1000);
    int flags = s->nack_enabled ? nack_gen_packet(&s->nack, h->seq, now_ms) : 0;
    /* The layer's bitrate is what it carries for the consumers: not the
     * sender's bandwidth probes, which are padding or retransmissions of
     * packets that already came (Chromium probes on the RTX stream of its
     * lowest layer, which then measured ten times its real rate and crowded
     * every other stream out of a subscriber's allocation). */
    if (!(flags & NACK_PKT_OLD) && h->payload_len > 0)
        count_bitrate(s, len, now_ms);
    if (flags & NACK_PKT_KEYFRAME)
        rs_want_keyframe(s, true); /* too much is missing to repair */
    return flags;
}

/* What the payload says about frames; false when it does not parse. */
static bool inspect(recv_stream_t *s, rs_slot_t *slot)
{
    const uint8_t *p = slot->data + slot->header_len;
    size_t n = slot->payload_len;
    slot->tid = 0;
    switch (s->codec) {
    case CODEC_VP8:
        if (vp8_parse(p, n, &slot->vp8) != 0)
            return false;
        slot->flags |= RS_SLOT_VP8;
        slot->tid = slot->vp8.tid;
        if (slot->vp8.start)
            slot->flags |= RS_SLOT_START;
        if (slot->vp8.keyframe) {
            slot->flags |= RS_SLOT_KEYFRAME;
            if (slot->vp8.width)
                s->width = slot->vp8.width, s->height = slot->vp8.height;
        }
        return true;
    case CODEC_VP9: {
        vp9_desc_t d;
        if (vp9_parse(p, n, &d) != 0)
            return false;
        slot->tid = d.tid;
        if (d.begin && d.sid == 0)
            slot->flags |= RS_SLOT_START;
        if (d.keyframe) {
            slot->flags |= RS_SLOT_KEYFRAME;
            if (d.width)
                s->width = d.width, s->height = d.height;
        }
        return true;
    }
    case CODEC_H264: {
        h264_desc_t d;
        if (h264_parse(p, n, &d) != 0)
            return false;
        if (d.start)
            slot->flags |= RS_SLOT_START;
        if (d.keyframe)
            slot->flags |= RS_SLOT_KEYFRAME;
        if (d.width)
            s->width = d.width, s->height = d.height;
        return true;
    }
    default: /* audio: every packet is a frame that decodes alone */
        slot->flags |= RS_SLOT_START | RS_SLOT_KEYFRAME;
        return true;
    }
}

rs_slot_t *rs_store(recv_stream_t *s, const uint8_t *pkt, size_t len, const rtp_hdr_t *h, uint64_t now_ms)
{
    if (len > RS_SLOT_DATA)
        return NULL;
    rs_slot_t *slot = &s->slots[h->seq & s->mask];
    memcpy(slot->data, pkt, len);
    slot->len = (uint16_t)len;
    slot->stored_ms = now_ms;
    slot->seq = h->seq;
    slot->ts = h->ts;
    slot->header_len = h->header_len;
    slot->payload_len = h->payload_len;
    slot->padding_len = h->padding_len;
    slot->flags = h->marker ? RS_SLOT_MARKER : 0;
    if (h->payload_len > 0 && !inspect(s, slot)) {
        slot->len = 0;
        return NULL;
    }
    if (slot->flags & RS_SLOT_KEYFRAME && s->kind == CODEC_KIND_VIDEO)
        s->last_keyframe_ms = now_ms;
    return slot;
}

const rs_slot_t *rs_get(const recv_stream_t *s, uint16_t seq, uint64_t now_ms)
{
    const rs_slot_t *slot = &s->slots[seq & s->mask];
    if (slot->len == 0 || slot->seq != seq || now_ms - slot->stored_ms > RS_MAX_AGE_MS)
        return NULL;
    return slot;
}

void rs_on_sender_report(recv_stream_t *s, uint32_t ntp_sec, uint32_t ntp_frac, uint32_t rtp_ts, uint64_t now_ms)
{
    s->have_sr = true;
    s->sr_ntp_sec = ntp_sec;
    s->sr_ntp_frac = ntp_frac;
    s->sr_rtp_ts = rtp_ts;
    s->last_sr_mid = rtcp_ntp_mid32(ntp_sec, ntp_frac);
    s->last_sr_ms = now_ms;
}

void rs_fill_report_block(recv_stream_t *s, rtcp_rb_t *rb, uint64_t now_ms)
{
    uint32_t dlsr = s->have_sr ? (uint32_t)((now_ms - s->last_sr_ms) * 65536 / 1000) : 0;
    rtp_stats_report(&s->stats, s->ssrc, s->have_sr ? s->last_sr_mid : 0, dlsr, rb);
}
