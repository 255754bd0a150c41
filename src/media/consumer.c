/*
 * consumer.c — forwarding one producer track to one subscriber: encoding
 * choice and switching, sequence/timestamp/picture-id continuity, the send
 * history and retransmissions.  See consumer.h.
 */
#include "media/consumer.h"
#include "core/common.h"
#include "media/rtp.h"
#include "media/srtp_session.h"

#include <stdlib.h>
#include <string.h>

/* ---- seqman ---- */

static bool bm_get(const uint64_t *bm, unsigned k)
{
    return (bm[k / 64] >> (k % 64)) & 1;
}

static void bm_set(uint64_t *bm, unsigned k)
{
    bm[k / 64] |= (uint64_t)1 << (k % 64);
}

/* Ages the bitmap by `by` inputs: bit k moves to k + by. */
static void bm_shift(uint64_t *bm, unsigned by)
{
    const unsigned words = SEQMAN_WINDOW / 64;
    if (by >= SEQMAN_WINDOW) {
        memset(bm, 0, words * sizeof(*bm));
        return;
    }
    unsigned w = by / 64, b = by % 64;
    for (int i = (int)words - 1; i >= 0; i--) {
        uint64_t v = 0;
        if (i - (int)w >= 0) {
            v = bm[i - w] << b;
            if (b && i - (int)w - 1 >= 0)
                v |= bm[i - w - 1] >> (64 - b);
        }
        bm[i] = v;
    }
}

/* Bits 0 .. k-1 set: inputs newer than max_in - k that were dropped. */
static unsigned bm_count_below(const uint64_t *bm, unsigned k)
{
    unsigned n = 0, i = 0;
    for (; i + 64 <= k; i += 64)
        n += (unsigned)__builtin_popcountll(bm[i / 64]);
    if (i < k)
        n += (unsigned)__builtin_popcountll(bm[i / 64] & (((uint64_t)1 << (k - i)) - 1));
    return n;
}

void seqman_restart(seqman_t *m, uint16_t in, uint16_t out)
{
    memset(m, 0, sizeof(*m));
    m->started = true;
    m->max_in = (uint16_t)(in - 1);
    m->offset = (uint16_t)(out - in);
}

bool seqman_input(seqman_t *m, uint16_t in, bool drop, uint16_t *out)
{
    if (!m->started)
        seqman_restart(m, in, in);
    int16_t d = (int16_t)(uint16_t)(in - m->max_in);
    if (d > 0) {
        bm_shift(m->dropped, (unsigned)d);
        m->max_in = in;
        if (drop) {
            bm_set(m->dropped, 0);
            m->offset--; /* what follows moves down by one: no hole */
            return false;
        }
        *out = (uint16_t)(in + m->offset);
        return true;
    }
    unsigned k = (uint16_t)(m->max_in - in);
    if (k >= SEQMAN_WINDOW || bm_get(m->dropped, k) || drop)
        return false; /* a late packet cannot be dropped without a hole: it is simply not sent */
    /* offset already counts every drop up to max_in; this older packet was
     * numbered before the drops newer than it. */
    *out = (uint16_t)(in + m->offset + bm_count_below(m->dropped, k));
    return true;
}

/* ---- building and sending ---- */

/* Writes the one-byte-header extension block holding only the transport-wide
 * sequence number at *pos (when the transport negotiated it) and returns
 * where the number goes, 0 for none: it is known only once the packet's
 * size is (send_built). */
static size_t put_twcc_ext(const mx_port_t *t, uint8_t *o, size_t *pos)
{
    if (!t->twcc_ext_id) {
        o[0] &= (uint8_t)~0x10;
        return 0;
    }
    o[0] |= 0x10;
    const uint8_t ext[8] = {0xbe, 0xde, 0x00, 0x01, (uint8_t)(t->twcc_ext_id << 4 | 1), 0, 0, 0};
    memcpy(o + *pos, ext, sizeof(ext));
    size_t at = *pos + 5;
    *pos += sizeof(ext);
    return at;
}

/* Tells congestion control about a packet built in the transport's send slot,
 * stamps the transport-wide sequence number it hands out and sends. */
static size_t send_built(mx_port_t *t, uint8_t *o, size_t len, size_t ext_at, uint8_t flags, uint16_t probe_id)
{
    uint16_t tseq = t->ops->on_sending(t, len, flags, probe_id);
    if (ext_at) {
        o[ext_at] = (uint8_t)(tseq >> 8);
        o[ext_at + 1] = (uint8_t)tseq;
    }
    t->ops->send_rtp(t, o, len);
    return len;
}

size_t consumer_send(consumer_t *c, uint16_t seq, bool rtx, uint16_t probe_id)
{
    if (c->src == NULL)
        return 0;
    const consumer_hist_t *h = &c->hist[seq & (CONSUMER_HISTORY - 1)];
    if (!h->valid || h->out_seq != seq || h->enc >= c->src->n_enc)
        return 0;
    uint64_t now_ms = mx_now_ms(c->port->ctx);
    const rs_slot_t *slot = rs_get(&c->src->enc[h->enc], h->in_seq, now_ms);
    if (slot == NULL)
        return 0; /* the store moved on: the subscriber will ask again or for a keyframe */
    rtx = rtx && c->d.rtx_pt != 0 && c->d.rtx_ssrc != 0;
    mx_port_t *t = c->port;
    const uint8_t *in = slot->data;
    size_t fixed = RTP_HEADER_LEN + 4u * (in[0] & 0x0f);
    size_t body = (size_t)slot->payload_len + slot->padding_len;
    uint8_t *o = t->ops->tx_buffer(t);
    if (o == NULL || fixed + 8 + 2 + body + SEC_MAX_TRAILER > ENGINE_TX_CAP)
        return 0;
    memcpy(o, in, fixed);
    size_t pos = fixed;
    size_t ext_at = put_twcc_ext(t, o, &pos);
    if (rtx) {
        o[pos++] = (uint8_t)(seq >> 8); /* RFC 4588 §4: the original sequence number first */
        o[pos++] = (uint8_t)seq;
    }
    memcpy(o + pos, in + slot->header_len, body);
    if (slot->flags & RS_SLOT_VP8)
        vp8_rewrite(o + pos, &slot->vp8, h->picture_id, h->tl0picidx);
    if (rtx) {
        rtp_set_seq(o, c->rtx_seq++);
        rtp_set_ssrc(o, c->d.rtx_ssrc);
        rtp_set_pt(o, c->d.rtx_pt);
    } else {
        rtp_set_seq(o, seq);
        rtp_set_ssrc(o, c->d.ssrc);
        rtp_set_pt(o, c->d.pt);
    }
    rtp_set_ts(o, h->ts);
    size_t len = pos + body;
    uint8_t flags = (c->d.kind == CODEC_KIND_AUDIO ? MX_SENT_AUDIO : 0) | (rtx ? MX_SENT_RTX : 0) |
                    (probe_id && rtx ? MX_SENT_PADDING : 0);
    return send_built(t, o, len, ext_at, flags, probe_id);
}

static void report_layer(consumer_t *c)
{
    if (c->d.kind != CODEC_KIND_VIDEO)
        return;
    int layer = c->target < 0 && c->alloc_max == CONSUMER_LIMIT_PAUSED ? -1 : c->cur;
    if (layer == c->reported_layer || (layer == -1 && c->reported_layer == -3 && !c->sent_any))
        return;
    c->reported_layer = layer;
    engine_event_t ev = {
        .type = ENGINE_EV_CONSUMER_LAYER, .id = c->id, .layer = layer, .layers = c->src ? (int)c->src->n_enc : 0};
    mx_emit(c->port->ctx, &ev);
}

/* NTP (seconds.fraction as a 64-bit fixed point) of an RTP timestamp of
 * encoding s, from its last sender report. */
static int64_t rtp_to_ntp64(const recv_stream_t *s, uint32_t ts)
{
    /* Unsigned, then modulo 2^64: NTP seconds pass 2^31 (since 1968), and a
     * signed shift of them, or of a negative offset, is undefined (UBSan
     * found it); callers only compare and subtract these values. */
    uint64_t ntp = (uint64_t)s->sr_ntp_sec << 32 | s->sr_ntp_frac;
    int32_t dts = (int32_t)(ts - s->sr_rtp_ts);
    int64_t delta = (int64_t)dts * INT64_C(4294967296) / (int64_t)s->clock_rate;
    return (int64_t)(ntp + (uint64_t)delta);
}

/* Starts forwarding encoding ei at slot (a keyframe): the subscriber's
 * sequence, timestamps and picture ids go on from where they were. */
static void switch_to(consumer_t *c, unsigned ei, const rs_slot_t *slot, uint64_t now_ms)
{
    const recv_stream_t *to = &c->src->enc[ei];
    if (!c->sent_any) {
        seqman_restart(&c->seq, slot->seq, slot->seq);
        c->ts_offset = 0;
        c->picid_offset = 0;
        c->tl0_offset = 0;
    } else {
        seqman_restart(&c->seq, slot->seq, (uint16_t)(c->last_seq + 1));
        uint32_t out_ts;
        const recv_stream_t *from = c->cur >= 0 ? &c->src->enc[c->cur] : NULL;
        if (from != NULL && from != to && from->have_sr && to->have_sr) {
            /* Both encodings' sender reports place the keyframe in the old
             * encoding's timeline: capture time stays exact across layers. */
            int64_t ntp = rtp_to_ntp64(to, slot->ts);
            uint64_t old_ntp = (uint64_t)from->sr_ntp_sec << 32 | from->sr_ntp_frac;
            int64_t dts = ((int64_t)((uint64_t)ntp - old_ntp) * (int64_t)from->clock_rate) >> 32;
            out_ts = from->sr_rtp_ts + (uint32_t)dts + c->ts_offset;
        } else {
            uint64_t elapsed = now_ms - c->last_sent_ms;
            out_ts = c->last_ts + (uint32_t)IRTC_MAX(1, elapsed * to->clock_rate / 1000);
        }
        if ((int32_t)(out_ts - c->last_ts) <= 0)
            out_ts = c->last_ts + 1;
        c->ts_offset = out_ts - slot->ts;
        if (slot->flags & RS_SLOT_VP8) {
            uint16_t mod = vp8_picture_id_mod(&slot->vp8);
            c->picid_offset = (uint16_t)((c->last_picid + 1u - slot->vp8.picture_id) & (mod - 1));
            c->tl0_offset = (uint8_t)(c->last_tl0 + 1u - slot->vp8.tl0picidx);
        }
        if (c->cur >= 0 && (unsigned)c->cur != ei)
            MX_COUNT(c->port->ctx, layer_switches, 1);
    }
    c->cur = (int)ei;
    c->waiting_keyframe = false;
    report_layer(c);
}

static void record(consumer_t *c, unsigned ei, const rs_slot_t *slot, uint16_t seq, uint32_t ts, uint16_t picid,
                   uint8_t tl0, uint64_t now_ms)
{
    consumer_hist_t *h = &c->hist[seq & (CONSUMER_HISTORY - 1)];
    *h = (consumer_hist_t){.sent_ms = now_ms,
                           .ts = ts,
                           .out_seq = seq,
                           .in_seq = slot->seq,
                           .picture_id = picid,
                           .tl0picidx = tl0,
                           .enc = (uint8_t)ei,
                           .valid = true,
                           .marker = (slot->flags & RS_SLOT_MARKER) != 0};
}

void consumer_on_packet(consumer_t *c, unsigned ei, const rs_slot_t *slot, uint64_t now_ms)
{
    if (c->target < 0 || !c->port->ready)
        return;
    bool key = (slot->flags & RS_SLOT_KEYFRAME) != 0;
    if ((int)ei != c->cur || c->waiting_keyframe) {
        if ((int)ei != c->target || !key)
            return; /* keep the current encoding until the target has a keyframe */
        switch_to(c, ei, slot, now_ms);
    }
    uint16_t seq;
    if (!seqman_input(&c->seq, slot->seq, slot->payload_len == 0, &seq))
        return; /* padding-only probes are for the publisher's link, not the subscriber's */
    uint32_t ts = slot->ts + c->ts_offset;
    uint16_t picid = 0;
    uint8_t tl0 = 0;
    if (slot->flags & RS_SLOT_VP8) {
        picid = (uint16_t)((slot->vp8.picture_id + c->picid_offset) & (vp8_picture_id_mod(&slot->vp8) - 1));
        tl0 = (uint8_t)(slot->vp8.tl0picidx + c->tl0_offset);
    }
    record(c, ei, slot, seq, ts, picid, tl0, now_ms);
    c->port->ops->queue(c->port, c, seq, false, slot->len);
    /* Only forward progress moves "last": a late packet must not pull it back. */
    if (!c->sent_any || (int16_t)(uint16_t)(seq - c->last_seq) > 0) {
        c->last_seq = seq;
        c->last_ts = ts;
        c->last_picid = picid;
        c->last_tl0 = tl0;
    }
    c->sent_any = true;
    c->last_sent_ms = now_ms;
    c->packets++;
    c->octets += slot->payload_len;
}

void consumer_on_nack(consumer_t *c, const uint16_t *seqs, size_t n, uint64_t now_ms)
{
    if (c->src == NULL || !c->port->ready)
        return;
    uint64_t min_gap = IRTC_MAX((uint64_t)CONSUMER_RESEND_MIN_MS, (uint64_t)c->port->rtt_ms);
    size_t sent = 0, gone = 0;
    MX_COUNT(c->port->ctx, nack_received, n);
    for (size_t i = 0; i < n && sent < CONSUMER_NACK_BURST; i++) {
        consumer_hist_t *h = &c->hist[seqs[i] & (CONSUMER_HISTORY - 1)];
        if (!h->valid || h->out_seq != seqs[i] || h->enc >= c->src->n_enc)
            continue; /* never sent by us: nothing to give */
        if (h->resent_ms && now_ms - h->resent_ms < min_gap)
            continue;
        const rs_slot_t *slot =
            now_ms - h->sent_ms > RS_MAX_AGE_MS ? NULL : rs_get(&c->src->enc[h->enc], h->in_seq, now_ms);
        if (slot == NULL) {
            gone++;
            continue;
        }
        h->resent_ms = now_ms;
        c->port->ops->queue(c->port, c, h->out_seq, true, slot->len);
        sent++;
    }
    MX_COUNT(c->port->ctx, rtx_sent, sent);
    /* A packet we sent and can no longer resend leaves the subscriber's
     * decoder stuck until a keyframe; Chrome asks for one only after its
     * NACKs time out (measured: 2.8 s without a frame on a 500 kbit/s link
     * with 3 % loss).  Ask now (the producer sends at most one PLI a second). */
    if (gone > 0 && c->d.kind == CODEC_KIND_VIDEO && c->cur >= 0 && (unsigned)c->cur < c->src->n_enc) {
        MX_COUNT(c->port->ctx, nack_gone, gone);
        rs_want_keyframe(&c->src->enc[c->cur], false);
    }
}

void consumer_on_keyframe_request(consumer_t *c, uint64_t now_ms)
{
    (void)now_ms;
    if (c->src == NULL)
        return;
    int ei = c->cur >= 0 ? c->cur : c->target;
    if (ei >= 0)
        rs_want_keyframe(&c->src->enc[ei], false);
}

void consumer_on_sender_report(consumer_t *c, unsigned ei, uint64_t now_ms)
{
    if (c->src == NULL || (int)ei != c->cur || !c->sent_any || !c->port->ready)
        return;
    const recv_stream_t *s = &c->src->enc[ei];
    rtcp_report_t r = {.ssrc = c->d.ssrc,
                       .is_sr = true,
                       .ntp_sec = s->sr_ntp_sec,
                       .ntp_frac = s->sr_ntp_frac,
                       .rtp_ts = s->sr_rtp_ts + c->ts_offset,
                       .packet_count = c->packets,
                       .octet_count = c->octets};
    uint8_t *buf = c->port->ops->tx_buffer(c->port);
    if (buf == NULL)
        return;
    size_t n = rtcp_build_sr(buf, ENGINE_TX_CAP - SEC_MAX_TRAILER, &r);
    c->port->ops->note_sr_sent(c->port, rtcp_ntp_mid32(r.ntp_sec, r.ntp_frac), now_ms);
    c->port->ops->send_rtcp(c->port, buf, n);
}

/* ---- which encoding ---- */

static int choose(const consumer_t *c, uint64_t now_ms)
{
    const mx_source_t *p = c->src;
    if (p == NULL || p->muted)
        return -1;
    if (c->d.kind == CODEC_KIND_AUDIO || p->n_enc == 1)
        return c->alloc_max == CONSUMER_LIMIT_PAUSED ? -1 : 0;
    if (c->alloc_max == CONSUMER_LIMIT_PAUSED)
        return -1;
    int max = (int)p->n_enc - 1;
    if (c->pref_max >= 0 && c->pref_max < max)
        max = c->pref_max;
    if (c->alloc_max >= 0 && c->alloc_max < max)
        max = c->alloc_max;
    for (int i = max; i >= 0; i--)
        if (rs_active(&p->enc[i], now_ms))
            return i;
    /* Nothing active at or below the limit: the lowest one that is (a
     * publisher sending only its top layer still reaches a thumbnail). */
    for (unsigned i = 0; i < p->n_enc; i++)
        if (rs_active(&p->enc[i], now_ms))
            return (int)i;
    /* Nothing flows yet (a subscription made as the publisher starts): wait
     * for the best wanted one; the next check follows what really arrives. */
    return max;
}

void consumer_update_layer(consumer_t *c, uint64_t now_ms)
{
    c->last_layer_check_ms = now_ms;
    int t = choose(c, now_ms);
    if (!c->port->ready) {
        c->target = t; /* the keyframe is asked for when the subscriber connects */
        return;
    }
    if (t != c->target) {
        c->target = t;
        if (t < 0) {
            c->waiting_keyframe = true; /* a resume starts on a keyframe */
        } else if (t != c->cur || c->waiting_keyframe) {
            rs_want_keyframe(&c->src->enc[t], c->cur < 0 || c->waiting_keyframe);
            c->last_switch_req_ms = now_ms;
        }
        report_layer(c);
    } else if (t >= 0 && (t != c->cur || c->waiting_keyframe) &&
               now_ms - c->last_switch_req_ms >= CONSUMER_SWITCH_RETRY_MS) {
        rs_want_keyframe(&c->src->enc[t], false);
        c->last_switch_req_ms = now_ms;
    }
}

void consumer_on_connected(consumer_t *c, uint64_t now_ms)
{
    c->target = choose(c, now_ms);
    if (c->target >= 0) { /* a new subscriber needs a picture now, not at the next natural keyframe */
        rs_want_keyframe(&c->src->enc[c->target], true);
        c->last_switch_req_ms = now_ms;
    }
}

void consumer_set_preferred_layer(consumer_t *c, int max_layer, uint64_t now_ms)
{
    c->pref_max = max_layer < 0 ? -1 : max_layer;
    consumer_update_layer(c, now_ms);
}

void consumer_set_allocated_layer(consumer_t *c, int limit, uint64_t now_ms)
{
    if (limit == c->alloc_max)
        return;
    c->alloc_max = limit;
    consumer_update_layer(c, now_ms);
}

void consumer_on_producer_closed(consumer_t *c)
{
    c->src = NULL;
    c->target = -1;
    c->waiting_keyframe = true;
}

void consumer_on_producer_muted(consumer_t *c, bool muted)
{
    c->waiting_keyframe = true; /* after unmute, start on a keyframe */
    if (muted)
        c->target = -1;
}

int consumer_newest_resendable(const consumer_t *c)
{
    if (c->d.kind != CODEC_KIND_VIDEO || !c->sent_any || c->d.rtx_pt == 0 || c->d.rtx_ssrc == 0)
        return -1;
    return c->last_seq;
}

/* RTP padding is counted in one byte, the last: 255 at most. */
#define PADDING_ONLY_BYTES 255

size_t consumer_send_padding_only(consumer_t *c, uint16_t probe_id)
{
    if (c->d.kind != CODEC_KIND_VIDEO || c->d.rtx_pt == 0 || c->d.rtx_ssrc == 0)
        return 0;
    mx_port_t *t = c->port;
    uint8_t *o = t->ops->tx_buffer(t);
    if (o == NULL)
        return 0;
    size_t pos = RTP_HEADER_LEN;
    o[0] = 0x80 | 0x20; /* V=2, P */
    o[1] = 0;
    rtp_set_seq(o, c->rtx_seq++);
    rtp_set_ts(o, c->last_ts);
    rtp_set_ssrc(o, c->d.rtx_ssrc);
    rtp_set_pt(o, c->d.rtx_pt);
    size_t ext_at = put_twcc_ext(t, o, &pos);
    memset(o + pos, 0, PADDING_ONLY_BYTES - 1);
    o[pos + PADDING_ONLY_BYTES - 1] = PADDING_ONLY_BYTES;
    size_t len = pos + PADDING_ONLY_BYTES;
    return send_built(t, o, len, ext_at, MX_SENT_RTX | MX_SENT_PADDING, probe_id);
}

int consumer_current_layer(const consumer_t *c)
{
    return c->target < 0 ? -1 : c->cur;
}

/* ---- life ---- */

consumer_t *consumer_new(mx_port_t *port, uint64_t id, const engine_consumer_desc_t *d, mx_source_t *src)
{
    consumer_t *c = xcalloc(1, sizeof(*c));
    c->id = id;
    c->port = port;
    c->d = *d;
    c->cur = -1;
    c->target = -1;
    c->pref_max = d->max_layer;
    c->alloc_max = CONSUMER_LIMIT_NONE;
    c->waiting_keyframe = true;
    c->reported_layer = -3;
    c->slot = -1;
    c->rtx_seq = (uint16_t)(id * 7919u); /* any start: RFC 3550 wants it unpredictable, not secret */
    c->src = src;
    return c;
}

void consumer_free(consumer_t *c)
{
    free(c);
}
