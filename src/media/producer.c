/*
 * producer.c — one published track: RTX unwrapping, the encodings' receive
 * state, fan-out to consumers and recording taps, keyframe and NACK
 * requests to the publisher.  See producer.h.
 */
#include "media/producer.h"
#include "core/common.h"
#include "core/spsc_ring.h"
#include "media/consumer.h"
#include "media/pipe.h"
#include "media/srtp_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCER_VIDEO_SLOTS 512 /* ~2 s of a 2.5 Mbps layer: NACKs come within an RTT or two */
#define PRODUCER_AUDIO_SLOTS 64
#define PRODUCER_FORCED_PLI_MIN_MS 100 /* even a consumer with nothing to show waits this long between asks */

producer_t *producer_new(mx_port_t *port, uint64_t id, const engine_producer_desc_t *d)
{
    producer_t *p = xcalloc(1, sizeof(*p));
    p->id = id;
    p->port = port;
    p->d = *d;
    p->src.n_enc = d->n_encodings ? IRTC_MIN(d->n_encodings, (unsigned)ENGINE_MAX_ENCODINGS) : 1;
    for (unsigned i = 0; i < p->src.n_enc; i++) {
        recv_stream_t *s = &p->src.enc[i];
        rs_init(s, d->kind, d->codec, d->clock_rate, d->nack && d->kind == CODEC_KIND_VIDEO,
                d->kind == CODEC_KIND_VIDEO ? PRODUCER_VIDEO_SLOTS : PRODUCER_AUDIO_SLOTS);
        snprintf(s->rid, sizeof(s->rid), "%s", d->enc[i].rid);
        s->ssrc = d->enc[i].ssrc;
        s->rtx_ssrc = d->enc[i].rtx_ssrc;
    }
    p->tap_enc = -1;
    return p;
}

void producer_free(producer_t *p)
{
    for (unsigned i = 0; i < p->n_consumers; i++)
        consumer_on_producer_closed(p->consumers[i]);
    free(p->consumers);
    for (unsigned i = 0; i < p->n_taps; i++)
        spsc_ring_unref(p->taps[i]);
    free(p->taps);
    for (unsigned i = 0; i < p->n_pipes; i++)
        pipe_unref(p->pipes[i]);
    free(p->pipes);
    pipe_unref(p->pipe_in);
    for (unsigned i = 0; i < p->src.n_enc; i++)
        rs_dispose(&p->src.enc[i]);
    free(p);
}

int producer_encoding_of_ssrc(const producer_t *p, uint32_t ssrc, bool *is_rtx)
{
    for (unsigned i = 0; i < p->src.n_enc; i++) {
        if (p->src.enc[i].ssrc == ssrc && ssrc != 0) {
            *is_rtx = false;
            return (int)i;
        }
        if (p->src.enc[i].rtx_ssrc == ssrc && ssrc != 0) {
            *is_rtx = true;
            return (int)i;
        }
    }
    return -1;
}

int producer_highest_active(const producer_t *p, uint64_t now_ms)
{
    for (int i = (int)p->src.n_enc - 1; i >= 0; i--)
        if (rs_active(&p->src.enc[i], now_ms))
            return i;
    return -1;
}

void producer_request_keyframe(producer_t *p, unsigned ei, bool force, uint64_t now_ms)
{
    if (ei >= p->src.n_enc)
        return;
    recv_stream_t *s = &p->src.enc[ei];
    if (p->d.kind != CODEC_KIND_VIDEO) { /* every audio packet decodes alone */
        s->keyframe_wanted = s->keyframe_forced = false;
        return;
    }
    if (p->pipe_in != NULL) { /* the publisher is on the home worker: its rate limit decides */
        if (pipe_push_keyframe(p->pipe_in, ei, force))
            s->keyframe_wanted = s->keyframe_forced = false;
        return;
    }
    uint64_t gap = now_ms - s->last_pli_ms;
    if (s->ssrc == 0 || gap < (force ? PRODUCER_FORCED_PLI_MIN_MS : PRODUCER_PLI_MIN_INTERVAL_MS))
        return;
    s->last_pli_ms = now_ms;
    s->keyframe_wanted = s->keyframe_forced = false;
    uint8_t *buf = p->port->ops->tx_buffer(p->port);
    if (buf == NULL)
        return;
    size_t n = rtcp_build_pli(buf, ENGINE_TX_CAP - SEC_MAX_TRAILER, p->port->rtcp_ssrc, s->ssrc);
    p->port->ops->send_rtcp(p->port, buf, n);
    MX_COUNT(p->port->ctx, keyframe_requests, 1);
}

/* Recorders follow the highest encoding that is sending.  A change waits for
 * a keyframe of the new one, so the recording never gets a stream it cannot
 * decode (the recorder sees the SSRC change and restarts its frame assembly). */
static void feed_taps(producer_t *p, unsigned ei, const rs_slot_t *slot, uint64_t now_ms)
{
    if (p->n_taps == 0)
        return;
    if ((int)ei != p->tap_enc) {
        int best = producer_highest_active(p, now_ms);
        bool better = p->tap_enc < 0 || !rs_active(&p->src.enc[p->tap_enc], now_ms) || (int)ei > p->tap_enc;
        if ((int)ei != best || !better || !(slot->flags & RS_SLOT_KEYFRAME))
            return;
        p->tap_enc = (int)ei;
    }
    uint64_t now_us = now_ms * 1000;
    for (unsigned i = 0; i < p->n_taps; i++)
        if (!spsc_ring_push(p->taps[i], slot->data, slot->len, now_us))
            rs_want_keyframe(&p->src.enc[ei], true); /* the recorder lost data: it restarts on a keyframe */
}

void producer_on_rtp(producer_t *p, unsigned ei, bool is_rtx, uint8_t *pkt, size_t len, const rtp_hdr_t *hin,
                     uint64_t now_ms)
{
    recv_stream_t *s = &p->src.enc[ei];
    rtp_hdr_t hh;
    const rtp_hdr_t *h = hin;
    if (is_rtx) {
        /* RFC 4588 §4: the original sequence number leads the payload. */
        if (h->payload_len < 2)
            return; /* padding-only RTX: bandwidth probing, nothing to forward */
        uint16_t osn = (uint16_t)(pkt[h->header_len] << 8 | pkt[h->header_len + 1]);
        memmove(pkt + h->header_len, pkt + h->header_len + 2, (size_t)h->payload_len - 2 + h->padding_len);
        len -= 2;
        rtp_set_seq(pkt, osn);
        rtp_set_ssrc(pkt, s->ssrc);
        rtp_set_pt(pkt, p->d.pt);
        if (rtp_parse(pkt, len, &hh, NULL) != IRTC_OK)
            return;
        h = &hh;
    } else if (h->pt != p->d.pt) {
        return; /* RED/FEC or an unnegotiated type: not forwarded */
    }
    int flags = rs_on_packet(s, h, len, now_ms);
    if (flags & NACK_PKT_OLD)
        return; /* a duplicate: the consumers have it */
    if (p->port->level_ext_id && !p->src.muted && p->d.kind == CODEC_KIND_AUDIO) {
        const rtp_ext_t *x = rtp_ext_find(h, p->port->level_ext_id);
        if (x != NULL && x->len >= 1) {
            p->level.sum += pkt[x->off] & 0x7f;
            p->level.n++;
        }
    }
    rs_slot_t *slot = rs_store(s, pkt, len, h, now_ms);
    if (slot == NULL) {
        MX_COUNT(p->port->ctx, drop_malformed, 1);
        return;
    }
    feed_taps(p, ei, slot, now_ms);
    for (unsigned i = 0; i < p->n_pipes; i++)
        if (!pipe_push_rtp(p->pipes[i], ei, slot->data, slot->len, now_ms * 1000))
            MX_COUNT(p->port->ctx, pipe_dropped, 1);
    if (p->src.muted)
        return;
    mx_ctx_t *x = p->port->ctx;
    if (!x->defer_fanout) {
        for (unsigned i = 0; i < p->n_consumers; i++)
            consumer_on_packet(p->consumers[i], ei, slot, now_ms);
        return;
    }
    if (p->n_consumers == 0)
        return;
    if (p->n_fanout == PRODUCER_FANOUT_MAX)
        producer_fanout(p);
    if (!p->fanout_listed) {
        p->fanout_listed = true;
        x->fanout_queued(x->engine, p);
    }
    p->fanout[p->n_fanout++] = (producer_held_t){.slot = slot, .now_ms = now_ms, .seq = slot->seq, .ei = (uint8_t)ei};
}

void producer_fanout(producer_t *p)
{
    unsigned n = p->n_fanout;
    p->n_fanout = 0;
    for (unsigned i = 0; i < p->n_consumers; i++)
        for (unsigned k = 0; k < n; k++) {
            const rs_slot_t *slot = p->fanout[k].slot;
            if (slot->len != 0 && slot->seq == p->fanout[k].seq)
                consumer_on_packet(p->consumers[i], p->fanout[k].ei, slot, p->fanout[k].now_ms);
        }
}

/* One sender report of encoding ei, from the publisher or through a pipe. */
static void apply_sender_report(producer_t *p, unsigned ei, uint32_t ntp_sec, uint32_t ntp_frac, uint32_t rtp_ts,
                                uint64_t now_ms)
{
    producer_fanout(p); /* consumers map the report onto what they sent: the packets before it first */
    rs_on_sender_report(&p->src.enc[ei], ntp_sec, ntp_frac, rtp_ts, now_ms);
    for (unsigned i = 0; i < p->n_pipes; i++)
        pipe_push_sr(p->pipes[i], ei, ntp_sec, ntp_frac, rtp_ts, now_ms * 1000);
    for (unsigned i = 0; i < p->n_consumers; i++)
        consumer_on_sender_report(p->consumers[i], ei, now_ms);
}

void producer_on_sender_report(producer_t *p, const rtcp_report_t *r, uint64_t now_ms)
{
    bool rtx;
    int ei = producer_encoding_of_ssrc(p, r->ssrc, &rtx);
    if (ei < 0 || rtx)
        return;
    apply_sender_report(p, (unsigned)ei, r->ntp_sec, r->ntp_frac, r->rtp_ts, now_ms);
}

/* Once per window: the mean level, reported while speech-loud and once
 * when it stops being so, so a silent room costs no events. */
static void level_window(producer_t *p, uint64_t now_ms)
{
    if (now_ms - p->level.start_ms < PRODUCER_LEVEL_WINDOW_MS)
        return;
    uint8_t level = p->level.n ? (uint8_t)(p->level.sum / p->level.n) : 127;
    bool active = p->level.n > 0 && level <= PRODUCER_SPEECH_DBOV;
    if (active || p->level.active) {
        engine_event_t ev = {.type = ENGINE_EV_PRODUCER_AUDIO, .id = p->id, .level = level, .active = active};
        mx_emit(p->port->ctx, &ev);
    }
    p->level.active = active;
    p->level.sum = p->level.n = 0;
    p->level.start_ms = now_ms;
}

/* Keyframe requests of remote subscribers join the local ones. */
static void drain_pipe_feedback(producer_t *p)
{
    for (unsigned i = 0; i < p->n_pipes; i++) {
        spsc_ring_t *back = p->pipes[i]->back;
        for (const spsc_slot_t *sl; (sl = spsc_ring_peek(back)) != NULL; spsc_ring_pop(back))
            if (sl->tag < p->src.n_enc && sl->len == 1)
                rs_want_keyframe(&p->src.enc[sl->tag], sl->data[0] != 0);
    }
}

void producer_on_timer(producer_t *p, uint64_t now_ms)
{
    drain_pipe_feedback(p);
    if (p->d.kind == CODEC_KIND_AUDIO && p->port->level_ext_id)
        level_window(p, now_ms);
    for (unsigned i = 0; i < p->src.n_enc; i++) {
        recv_stream_t *s = &p->src.enc[i];
        if (s->nack_enabled && s->seen && s->ssrc != 0) {
            uint16_t seqs[64];
            size_t n = nack_gen_collect(&s->nack, now_ms, IRTC_MAX(20u, p->port->rtt_ms), seqs, IRTC_ARRAY_SIZE(seqs));
            for (size_t off = 0, used = 0; off < n; off += used) {
                uint8_t *buf = p->port->ops->tx_buffer(p->port);
                if (buf == NULL)
                    break;
                size_t len = nack_build_rtcp(buf, ENGINE_TX_CAP - SEC_MAX_TRAILER, p->port->rtcp_ssrc, s->ssrc,
                                             seqs + off, n - off, &used);
                if (len == 0 || used == 0)
                    break;
                p->port->ops->send_rtcp(p->port, buf, len);
            }
        }
        if (s->keyframe_wanted) /* asked by consumers, taps or the NACK generator; rate-limited there */
            producer_request_keyframe(p, i, s->keyframe_forced, now_ms);
    }
    if (p->n_taps > 0 && p->tap_enc >= 0 && !rs_active(&p->src.enc[p->tap_enc], now_ms)) {
        int best = producer_highest_active(p, now_ms);
        if (best >= 0)
            producer_request_keyframe(p, (unsigned)best, false, now_ms); /* feed_taps moves on its keyframe */
    }
}

void producer_set_muted(producer_t *p, bool muted, uint64_t now_ms)
{
    if (p->src.muted == muted)
        return;
    p->src.muted = muted;
    for (unsigned i = 0; i < p->n_consumers; i++) {
        consumer_on_producer_muted(p->consumers[i], muted);
        consumer_update_layer(p->consumers[i], now_ms);
    }
}

void producer_add_consumer(producer_t *p, consumer_t *c)
{
    if (p->n_consumers == p->cap_consumers) {
        p->cap_consumers = p->cap_consumers ? p->cap_consumers * 2 : 8;
        p->consumers = xrealloc(p->consumers, p->cap_consumers * sizeof(*p->consumers));
    }
    p->consumers[p->n_consumers++] = c;
}

void producer_remove_consumer(producer_t *p, consumer_t *c)
{
    for (unsigned i = 0; i < p->n_consumers; i++) {
        if (p->consumers[i] == c) {
            p->consumers[i] = p->consumers[--p->n_consumers];
            return;
        }
    }
}

void producer_add_tap(producer_t *p, spsc_ring_t *ring, uint64_t now_ms)
{
    /* The first tap takes the best encoding from its next keyframe.  Taps
     * already fed keep theirs (feed_taps moves them up at a better
     * encoding's keyframe): starting over would cut a running recording
     * until the next keyframe each time a snapshot or a second recording of
     * this publisher began.  The new tap's recorder waits for the keyframe
     * asked for below. */
    if (p->n_taps == 0)
        p->tap_enc = -1;
    p->taps = xrealloc(p->taps, (p->n_taps + 1) * sizeof(*p->taps));
    p->taps[p->n_taps++] = ring;
    int best = producer_highest_active(p, now_ms);
    producer_request_keyframe(p, best >= 0 ? (unsigned)best : p->src.n_enc - 1, true, now_ms);
}

void producer_remove_tap(producer_t *p, spsc_ring_t *ring)
{
    for (unsigned i = 0; i < p->n_taps; i++) {
        if (p->taps[i] == ring) {
            spsc_ring_unref(ring);
            p->taps[i] = p->taps[--p->n_taps];
            return;
        }
    }
}

/* The remote consumers ask for their keyframe through the pipe. */
void producer_add_pipe(producer_t *p, mx_pipe_t *pipe)
{
    p->pipes = xrealloc(p->pipes, (p->n_pipes + 1) * sizeof(*p->pipes));
    p->pipes[p->n_pipes++] = pipe;
}

bool producer_remove_pipe(producer_t *p, mx_pipe_t *pipe)
{
    for (unsigned i = 0; i < p->n_pipes; i++) {
        if (p->pipes[i] == pipe) {
            pipe_unref(pipe);
            p->pipes[i] = p->pipes[--p->n_pipes];
            return true;
        }
    }
    return false;
}

void producer_pipe_drain(producer_t *p, uint64_t now_ms)
{
    spsc_ring_t *fwd = p->pipe_in->fwd;
    /* bounded: what is there now, so a busy home worker cannot hold this one */
    unsigned n = 0;
    for (; n < PIPE_FWD_SLOTS; n++) {
        const spsc_slot_t *sl = spsc_ring_peek(fwd);
        if (sl == NULL)
            break;
        unsigned ei = sl->tag & ~(unsigned)PIPE_TAG_SR;
        if (ei >= p->src.n_enc) {
            /* not of this producer's encodings: skipped */
        } else if (sl->tag & PIPE_TAG_SR) {
            uint32_t v[3] = {0, 0, 0}; /* pipe_push_sr writes 12 bytes */
            memcpy(v, sl->data, IRTC_MIN(sizeof(v), (size_t)sl->len));
            apply_sender_report(p, ei, v[0], v[1], v[2], now_ms);
        } else {
            rtp_hdr_t h;
            /* the slot is ours until the pop; producer_on_rtp writes only RTX in place */
            uint8_t *pkt = (uint8_t *)sl->data;
            if (rtp_parse(pkt, sl->len, &h, NULL) == IRTC_OK) {
                if (p->src.enc[ei].ssrc == 0)
                    p->src.enc[ei].ssrc = h.ssrc;
                producer_on_rtp(p, ei, false, pkt, sl->len, &h, now_ms);
            }
        }
        spsc_ring_pop(fwd);
    }
    if (n > 0)
        MX_COUNT(p->port->ctx, pipe_rx, n);
}
