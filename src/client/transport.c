/*
 * transport.c — ICE, DTLS-SRTP and RTP/RTCP of one client PeerConnection.
 *
 * Runs on the loop's thread: its socket's events and its ticker.  A
 * received datagram is demultiplexed (RFC 7983), STUN answered or matched
 * to our check, DTLS fed to dtls.c, SRTP opened (or, for 1 in N packets
 * when the owner asked, only its clear header read) and counted.  Sending
 * writes the RTP header and extensions into one stack buffer, keeps a
 * plaintext copy for NACKs (video), protects in place and sends.
 *
 * Does not: allocate per packet, pace, or interpret payloads.
 */
#include "client/transport.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "media/dtls.h"
#include "media/nack.h"
#include "media/rtp.h"
#include "media/rtp_stats.h"
#include "media/srtp_session.h"
#include "media/codecs/h264.h"
#include "media/codecs/vp8.h"
#include "media/stun.h"
#include "media/twcc.h"

#define PKT_CAP 1600
#define RX_BATCH 16
/* UDP GRO (Linux 5.0): a run of datagrams of one flow the sender sent as
 * one GSO message arrives as one buffer of up to 64 KiB, cut here; one trip
 * through the kernel's receive path instead of one per datagram. */
#define RX_CAP 65536
#ifndef UDP_GRO
#define UDP_GRO 104 /* linux/udp.h */
#endif
#define CHECK_INTERVAL_US 50000     /* until the first answer (Chromium: ~20-50 ms) */
#define CONSENT_INTERVAL_US 2000000 /* RFC 7675: well inside the server's 30 s */
#define CONNECT_TIMEOUT_US 20000000 /* ICE + DTLS */
#define CONSENT_TIMEOUT_US 30000000
#define RR_INTERVAL_US 1000000
#define PLI_MIN_INTERVAL_US 1000000
#define HIST_SLOTS 512 /* ~0.5 s of 720p video for NACK answers */
#define HIST_SLOT_SIZE 1300

enum { T_NEW, T_CHECKING, T_DTLS, T_CONNECTED, T_FAILED, T_CLOSED };

typedef struct {
    bool video;
    uint32_t ssrc;
    uint8_t pt;
    uint32_t clock;
    char rid[4];
    uint16_t seq;
    uint32_t packets, octets, last_ts;
    uint64_t last_ts_us;
    rtx_buf_t hist;
    uint8_t *hist_storage;
} send_track_t;

typedef struct {
    uint32_t ssrc;
    bool video;
    rtp_stats_t st;
    uint32_t lsr;
    uint64_t lsr_us;
    nack_gen_t *nack; /* video with nack negotiated */
    uint64_t last_pli_us;
    /* The video frame being reassembled for on_frame: broken once a packet
     * is missing or out of order (a reassembler that waits for
     * retransmissions is the jitter buffer's job, not this one's). */
    bool in_frame, frame_broken;
    uint16_t frame_next_seq;
    ic_frame_t frame;
    uint8_t *frame_buf; /* the frame's bytes; grown (to IC_MAX_FRAME) as frames need, not per packet */
    size_t frame_cap;
} recv_stream_t;

struct ic_transport {
    ic_loop_t *loop;
    ic_io_t io;
    ic_tick_t tick;
    ic_transport_callbacks_t cb;
    void *user;
    int state;
    unsigned verify_every, verify_count;
    /* ICE */
    char lufrag[9], lpwd[25];
    char username[300]; /* remoteUfrag:localUfrag */
    char rpwd[257];
    struct sockaddr_storage local, remote;
    socklen_t remote_len;
    bool controlling;
    uint64_t tie_breaker;
    uint8_t txid[STUN_TXID_LEN];
    uint64_t started_us, next_check_us, last_answer_us;
    /* DTLS-SRTP */
    dtls_conn_t *dtls;
    bool dtls_client;
    char fp_alg[16], fp[192];
    sec_session_t srtp_in, srtp_out;
    bool srtp_ready;
    size_t tag_len;
    /* RTP */
    uint8_t ext_mid, ext_rid, ext_twcc;
    char mid_audio[33], mid_video[33];
    uint8_t pt_audio, pt_video;
    int pt_rtx;              /* the answer's video RTX payload type, -1: none */
    uint32_t rtx_ssrc, ssrc_video; /* the answerer's RTX and video SSRCs (FID group), 0: not given */
    bool video_h264; /* the answer chose H.264 for video */
    uint32_t rtcp_ssrc;
    send_track_t send[IC_MAX_SEND];
    unsigned n_send;
    uint16_t twcc_seq;
    recv_stream_t recv[IC_MAX_RECV];
    unsigned n_recv;
    bool nack_enabled, pli_enabled;
    twcc_recv_t *twcc;
    uint64_t last_rr_us;
    bool got_rtp;
    ic_recv_stats_t rx;
    ic_send_stats_t tx;
};

static uint64_t now_us(ic_transport_t *t)
{
    return ic_loop_now_us(t->loop);
}

static void fail(ic_transport_t *t, const char *why)
{
    if (t->state == T_FAILED || t->state == T_CLOSED)
        return;
    t->state = T_FAILED;
    if (t->cb.on_failed != NULL)
        t->cb.on_failed(t->user, why);
}

static void send_raw(ic_transport_t *t, const uint8_t *p, size_t n)
{
    if (t->remote_len == 0)
        return;
    /* A full socket buffer drops the datagram, as a network would. */
    (void)sendto(t->io.fd, p, n, MSG_DONTWAIT, (const struct sockaddr *)&t->remote, t->remote_len);
}

/* ---- RTCP out ---- */

static void send_rtcp(ic_transport_t *t, uint8_t *buf, size_t len)
{
    if (!t->srtp_ready || len == 0)
        return;
    if (sec_protect_rtcp(&t->srtp_out, buf, &len, PKT_CAP) == IRTC_OK)
        send_raw(t, buf, len);
}

static void send_pli(ic_transport_t *t, recv_stream_t *r)
{
    uint64_t now = now_us(t);
    if (!t->pli_enabled || now - r->last_pli_us < PLI_MIN_INTERVAL_US)
        return;
    r->last_pli_us = now;
    uint8_t buf[PKT_CAP];
    send_rtcp(t, buf, rtcp_build_pli(buf, 128, t->rtcp_ssrc, r->ssrc));
    t->rx.plis_sent++;
}

void ic_transport_request_keyframe(ic_transport_t *t)
{
    for (unsigned i = 0; i < t->n_recv; i++)
        if (t->recv[i].video)
            send_pli(t, &t->recv[i]);
}

static void fill_rb(recv_stream_t *r, rtcp_rb_t *rb, uint64_t now)
{
    uint32_t dlsr = r->lsr_us ? (uint32_t)((now - r->lsr_us) * 65536 / 1000000) : 0;
    rtp_stats_report(&r->st, r->ssrc, r->lsr_us ? r->lsr : 0, dlsr, rb);
}

static void ntp_now(uint32_t *sec, uint32_t *frac)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *sec = (uint32_t)(ts.tv_sec + 2208988800u);
    *frac = (uint32_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

static void send_reports(ic_transport_t *t, uint64_t now)
{
    uint8_t buf[PKT_CAP];
    for (unsigned i = 0; i < t->n_send; i++) {
        send_track_t *s = &t->send[i];
        if (s->packets == 0)
            continue;
        rtcp_report_t r;
        memset(&r, 0, sizeof(r));
        r.ssrc = s->ssrc;
        r.is_sr = true;
        ntp_now(&r.ntp_sec, &r.ntp_frac);
        r.rtp_ts = s->last_ts + (uint32_t)((now - s->last_ts_us) * s->clock / 1000000);
        r.packet_count = s->packets;
        r.octet_count = s->octets;
        send_rtcp(t, buf, rtcp_build_sr(buf, 256, &r));
    }
    if (t->n_recv > 0) {
        rtcp_rb_t rbs[IC_MAX_RECV];
        for (unsigned i = 0; i < t->n_recv; i++)
            fill_rb(&t->recv[i], &rbs[i], now);
        send_rtcp(t, buf, rtcp_build_rr(buf, 512, t->rtcp_ssrc, rbs, t->n_recv));
    }
}

static void send_nacks(ic_transport_t *t, uint64_t now)
{
    uint8_t buf[PKT_CAP];
    for (unsigned i = 0; i < t->n_recv; i++) {
        recv_stream_t *r = &t->recv[i];
        if (r->nack == NULL || nack_gen_missing(r->nack) == 0)
            continue;
        uint16_t seqs[64];
        size_t n = nack_gen_collect(r->nack, now / 1000, 20, seqs, IRTC_ARRAY_SIZE(seqs));
        for (size_t off = 0, used = 0; off < n; off += used) {
            size_t len = nack_build_rtcp(buf, 1000, t->rtcp_ssrc, r->ssrc, seqs + off, n - off, &used);
            if (len == 0 || used == 0)
                break;
            send_rtcp(t, buf, len);
            t->rx.nacks_sent++;
        }
    }
}

static void send_twcc(ic_transport_t *t, uint64_t now)
{
    if (t->twcc == NULL || !twcc_recv_due(t->twcc, now))
        return;
    uint8_t buf[PKT_CAP];
    size_t n;
    while ((n = twcc_recv_build_feedback(t->twcc, buf, TWCC_FEEDBACK_MAX_LEN, now)) > 0) {
        send_rtcp(t, buf, n);
        t->rx.twcc_sent++;
    }
}

/* ---- RTP in ---- */

static recv_stream_t *recv_stream(ic_transport_t *t, uint32_t ssrc, uint8_t pt)
{
    for (unsigned i = 0; i < t->n_recv; i++)
        if (t->recv[i].ssrc == ssrc)
            return &t->recv[i];
    if (t->n_recv == IC_MAX_RECV)
        return NULL;
    bool video = pt == t->pt_video;
    if (!video && pt != t->pt_audio)
        return NULL; /* RTX or an unnegotiated type: not a stream of its own here */
    recv_stream_t *r = &t->recv[t->n_recv++];
    memset(r, 0, sizeof(*r));
    r->ssrc = ssrc;
    r->video = video;
    rtp_stats_init(&r->st, video ? 90000 : 48000);
    if (video && t->nack_enabled) {
        r->nack = xmalloc(sizeof(*r->nack)); /* once per stream, not per packet */
        nack_gen_init(r->nack);
    }
    return r;
}

static void count_rtp(ic_transport_t *t, recv_stream_t *r, const rtp_hdr_t *h, uint64_t now)
{
    rtp_stats_packet(&r->st, h->seq, h->ts, now);
    if (r->nack != NULL) {
        int f = nack_gen_packet(r->nack, h->seq, now / 1000);
        if (f & NACK_PKT_RECOVERED)
            t->rx.recovered++;
        if (f & NACK_PKT_KEYFRAME)
            send_pli(t, r);
    }
}

/* Appends n bytes (after a start code when sc) to r's frame, growing its
 * buffer as frames need it; the frame breaks when it would exceed IC_MAX_FRAME. */
static void frame_append(recv_stream_t *r, bool sc, const uint8_t *p, size_t n)
{
    static const uint8_t start_code[4] = {0, 0, 0, 1};
    size_t need = r->frame.bytes + n + (sc ? 4 : 0);
    if (r->frame_broken)
        return;
    if (need > r->frame_cap) {
        if (need > IC_MAX_FRAME) {
            r->frame_broken = true; /* no decoder takes a frame this large from us */
            return;
        }
        r->frame_cap = IRTC_MIN(IRTC_MAX(need * 2, (size_t)65536), (size_t)IC_MAX_FRAME);
        r->frame_buf = xrealloc(r->frame_buf, r->frame_cap);
    }
    if (sc) {
        memcpy(r->frame_buf + r->frame.bytes, start_code, 4);
        r->frame.bytes += 4;
    }
    memcpy(r->frame_buf + r->frame.bytes, p, n);
    r->frame.bytes += n;
}

/* H.264 (RFC 6184, mode 1) into an Annex B access unit: a frame is the
 * packets of one timestamp up to the marker; single NAL units and STAP-A
 * units each behind a start code, FU-A fragments joined under their NAL
 * header.  Broken by a gap in sequence numbers or an FU-A without its start. */
static void frame_h264(ic_transport_t *t, recv_stream_t *r, const rtp_hdr_t *h, const uint8_t *p, size_t n)
{
    h264_desc_t d;
    if (!r->in_frame) {
        r->in_frame = true;
        r->frame_broken = false;
        r->frame = (ic_frame_t){.video = true, .h264 = true, .rtp_ts = h->ts};
    } else if (h->seq != r->frame_next_seq || h->ts != r->frame.rtp_ts) {
        r->frame_broken = true;
    }
    r->frame_next_seq = (uint16_t)(h->seq + 1);
    if (h264_parse(p, n, &d) != 0) {
        r->frame_broken = true;
    } else {
        r->frame.keyframe |= d.keyframe;
        if (d.width > 0)
            r->frame.width = d.width, r->frame.height = d.height;
        uint8_t type = p[0] & 0x1f;
        if (type == 24) { /* STAP-A: sizes checked by h264_parse */
            for (size_t off = 1; off + 2 <= n;) {
                size_t m = (size_t)p[off] << 8 | p[off + 1];
                frame_append(r, true, p + off + 2, IRTC_MIN(m, n - off - 2));
                off += 2 + m;
            }
        } else if (type == 28 && n >= 2) { /* FU-A */
            if (p[1] & 0x80) {
                uint8_t hdr = (uint8_t)((p[0] & 0xe0) | (p[1] & 0x1f));
                frame_append(r, true, &hdr, 1);
            } else if (r->frame.bytes == 0) {
                r->frame_broken = true; /* its start was lost */
            }
            frame_append(r, false, p + 2, n - 2);
        } else {
            frame_append(r, true, p, n);
        }
    }
    if (h->marker) {
        r->in_frame = false;
        r->frame.data = r->frame_buf;
        if (!r->frame_broken && r->frame.bytes > 0)
            t->cb.on_frame(t->user, &r->frame);
    }
}

/* Frame boundaries: a VP8 frame starts at the descriptor's S bit (PID 0)
 * and ends at the RTP marker; H.264 in frame_h264; an audio packet is a frame. */
static void frame_packet(ic_transport_t *t, recv_stream_t *r, const rtp_hdr_t *h, const uint8_t *payload, size_t n)
{
    if (!r->video) {
        ic_frame_t f = {.video = false, .rtp_ts = h->ts, .bytes = n, .data = payload};
        t->cb.on_frame(t->user, &f);
        return;
    }
    if (t->video_h264) {
        frame_h264(t, r, h, payload, n);
        return;
    }
    vp8_desc_t d;
    if (vp8_parse(payload, n, &d) != 0) {
        r->frame_broken = true;
        return;
    }
    if (d.start) {
        r->in_frame = true;
        r->frame_broken = false;
        r->frame = (ic_frame_t){.video = true, .keyframe = d.keyframe, .width = d.width, .height = d.height,
                                .rtp_ts = h->ts};
    } else if (!r->in_frame || h->seq != r->frame_next_seq || h->ts != r->frame.rtp_ts) {
        r->frame_broken = true;
    }
    r->frame_next_seq = (uint16_t)(h->seq + 1);
    frame_append(r, false, payload + d.header_len, n - d.header_len);
    if (h->marker && r->in_frame) {
        r->in_frame = false;
        r->frame.data = r->frame_buf;
        if (!r->frame_broken)
            t->cb.on_frame(t->user, &r->frame);
    }
}

/* A retransmission (RFC 4588): its original sequence number leads the
 * payload.  One that fills a gap the NACK generator holds repairs the video
 * stream's accounting (a NACKed packet that came back is not lost); any
 * other — a server's probe padding resending what arrived, a second answer
 * to one NACK — is a duplicate and counts nowhere, or it would hide loss.
 * Padding-only RTX carries no sequence number.  Frames are not rebuilt from
 * it: the client has no jitter buffer, and a frame broken by a loss has
 * already asked for a keyframe. */
static void on_rtx(ic_transport_t *t, const uint8_t *buf, size_t len, const rtp_hdr_t *h, uint64_t now)
{
    if (h->payload_len < 2)
        return;
    recv_stream_t *r = NULL;
    for (unsigned i = 0; i < t->n_recv && r == NULL; i++)
        if (t->recv[i].video && (t->ssrc_video == 0 || t->recv[i].ssrc == t->ssrc_video) &&
            (t->rtx_ssrc == 0 || h->ssrc == t->rtx_ssrc))
            r = &t->recv[i];
    if (r == NULL || r->nack == NULL)
        return;
    uint16_t seq = (uint16_t)(buf[h->header_len] << 8 | buf[h->header_len + 1]);
    if (!(nack_gen_packet(r->nack, seq, now / 1000) & NACK_PKT_RECOVERED))
        return;
    t->rx.packets++;
    t->rx.bytes += len;
    t->rx.recovered++;
    rtp_stats_recovered(&r->st);
}

/* arrival_us: when the kernel received it (the loop's clock), which is
 * what transport-cc feedback and jitter describe: a loop serving thousands
 * of transports reads a socket milliseconds later, and that lag would read
 * as queueing on the path to the server's congestion control. */
static void on_rtp(ic_transport_t *t, uint8_t *buf, size_t len, uint64_t arrival_us)
{
    if (!t->srtp_ready)
        return;
    /* RTX is always decrypted: its original sequence number is in the payload. */
    bool rtx = len > 1 && t->pt_rtx >= 0 && (buf[1] & 0x7f) == t->pt_rtx;
    bool verify = rtx || t->verify_every <= 1 || t->verify_count++ % t->verify_every == 0;
    if (verify) {
        if (sec_unprotect_rtp(&t->srtp_in, buf, &len) != IRTC_OK) {
            t->rx.srtp_failed++;
            return;
        }
    } else {
        if (len < RTP_HEADER_LEN + t->tag_len)
            return;
        len -= t->tag_len;
        buf[0] &= (uint8_t)~0x20; /* the padding count is encrypted: ignore it */
    }
    rtp_hdr_t h;
    if (rtp_parse(buf, len, &h, NULL) != IRTC_OK)
        return;
    uint64_t now = arrival_us;
    if (t->ext_twcc != 0) {
        uint32_t seq;
        if (rtp_ext_read_be(buf, &h, t->ext_twcc, &seq) == IRTC_OK) {
            if (t->twcc == NULL) {
                t->twcc = xmalloc(sizeof(*t->twcc)); /* once, when the server first sends the extension */
                twcc_recv_init(t->twcc, t->rtcp_ssrc, h.ssrc);
            }
            twcc_recv_packet(t->twcc, (uint16_t)seq, now);
        }
    }
    if (rtx) {
        on_rtx(t, buf, len, &h, now);
        return;
    }
    recv_stream_t *r = recv_stream(t, h.ssrc, h.pt);
    if (r == NULL)
        return;
    t->rx.packets++;
    t->rx.bytes += len;
    count_rtp(t, r, &h, now);
    if (t->cb.on_frame != NULL && t->verify_every <= 1 && h.payload_len > 0)
        frame_packet(t, r, &h, buf + h.header_len, h.payload_len);
    if (!t->got_rtp) {
        t->got_rtp = true;
        if (t->cb.on_first_rtp != NULL)
            t->cb.on_first_rtp(t->user);
    }
}

/* ---- RTCP in ---- */

static send_track_t *send_track(ic_transport_t *t, uint32_t ssrc)
{
    for (unsigned i = 0; i < t->n_send; i++)
        if (t->send[i].ssrc == ssrc)
            return &t->send[i];
    return NULL;
}

static void protect_and_send(ic_transport_t *t, uint8_t *pkt, size_t len)
{
    if (sec_protect_rtp(&t->srtp_out, pkt, &len, PKT_CAP) == IRTC_OK)
        send_raw(t, pkt, len);
}

static void on_nack(ic_transport_t *t, const rtcp_pkt_t *pkt, uint32_t media_ssrc)
{
    send_track_t *s = send_track(t, media_ssrc);
    t->tx.nacks_received++;
    if (s == NULL || s->hist_storage == NULL)
        return;
    uint16_t seqs[128];
    size_t n = 0;
    rtcp_nack_expand(pkt, seqs, IRTC_ARRAY_SIZE(seqs), &n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *p = rtx_buf_get_resend(&s->hist, seqs[i], now_us(t) / 1000, 20, &len);
        if (p == NULL)
            continue;
        uint8_t out[PKT_CAP];
        memcpy(out, p, len);
        protect_and_send(t, out, len);
        t->tx.retransmitted++;
    }
}

static void on_rtcp(ic_transport_t *t, uint8_t *buf, size_t len)
{
    if (!t->srtp_ready || sec_unprotect_rtcp(&t->srtp_in, buf, &len) != IRTC_OK)
        return;
    rtcp_iter_t it;
    rtcp_pkt_t pkt;
    rtcp_iter_init(&it, buf, len);
    while (rtcp_iter_next(&it, &pkt, NULL) == 1) {
        rtcp_fb_t fb;
        if (pkt.pt == RTCP_PT_SR) {
            rtcp_report_t r;
            if (rtcp_parse_report(&pkt, &r) != IRTC_OK)
                continue;
            for (unsigned i = 0; i < t->n_recv; i++) {
                if (t->recv[i].ssrc == r.ssrc) {
                    t->recv[i].lsr = rtcp_ntp_mid32(r.ntp_sec, r.ntp_frac);
                    t->recv[i].lsr_us = now_us(t);
                }
            }
        } else if (pkt.pt == RTCP_PT_RTPFB && pkt.fmt == RTCP_RTPFB_NACK && rtcp_parse_fb(&pkt, &fb) == IRTC_OK) {
            on_nack(t, &pkt, fb.media_ssrc);
        } else if (pkt.pt == RTCP_PT_PSFB && (pkt.fmt == RTCP_PSFB_PLI || pkt.fmt == RTCP_PSFB_FIR)) {
            t->tx.plis_received++;
            if (t->cb.on_keyframe_request != NULL)
                t->cb.on_keyframe_request(t->user);
        }
    }
}

/* ---- ICE ---- */

static void send_check(ic_transport_t *t)
{
    uint8_t out[STUN_BINDING_REQUEST_MAX];
    crypto_random(t->txid, sizeof(t->txid));
    /* Host candidate priority (RFC 8445 §5.1.2.1): type 126, local 65535, component 1. */
    uint32_t prio = (126u << 24) | (65535u << 8) | 255u;
    size_t n = stun_build_binding_request(out, sizeof(out), t->txid, t->username, prio, t->controlling, t->tie_breaker,
                                          t->controlling, t->rpwd, strlen(t->rpwd));
    if (n > 0)
        send_raw(t, out, n);
}

static void dtls_send_cb(void *user, const uint8_t *data, size_t len)
{
    send_raw(user, data, len);
}

static void dtls_connected_cb(void *user, const dtls_srtp_keys_t *k)
{
    ic_transport_t *t = user;
    if (dtls_srtp_sessions(k, &t->srtp_out, &t->srtp_in) != IRTC_OK) {
        fail(t, "SRTP keying failed");
        return;
    }
    t->tag_len = sec_rtp_overhead(k->profile);
    t->srtp_ready = true;
    t->state = T_CONNECTED;
    if (t->cb.on_connected != NULL)
        t->cb.on_connected(t->user);
}

static void dtls_failed_cb(void *user, const char *reason)
{
    ic_transport_t *t = user;
    t->srtp_ready = false;
    fail(t, reason);
}

static const dtls_callbacks_t dtls_cbs = {dtls_send_cb, dtls_connected_cb, NULL, dtls_failed_cb};

static void begin_dtls(ic_transport_t *t)
{
    const char *why = NULL;
    t->state = T_DTLS;
    if (dtls_conn_new(ic_loop_dtls(t->loop), t->dtls_client ? DTLS_CLIENT : DTLS_SERVER, t->fp_alg, t->fp, &dtls_cbs, t,
                      &t->dtls, &why) != IRTC_OK) {
        fail(t, why ? why : "bad DTLS fingerprint");
        return;
    }
    dtls_conn_start(t->dtls, now_us(t) / 1000);
}

static void on_stun(ic_transport_t *t, const uint8_t *buf, size_t len, const struct sockaddr *from, socklen_t fromlen)
{
    stun_msg_t m;
    if (stun_parse(buf, len, &m, NULL) != IRTC_OK || m.method != STUN_METHOD_BINDING)
        return;
    if (m.cls == STUN_CLASS_SUCCESS) {
        if (memcmp(m.txid, t->txid, STUN_TXID_LEN) != 0 ||
            stun_check_integrity(buf, len, &m, t->rpwd, strlen(t->rpwd)) != IRTC_OK)
            return;
        t->last_answer_us = now_us(t);
        if (t->state == T_CHECKING)
            begin_dtls(t);
        return;
    }
    if (m.cls != STUN_CLASS_REQUEST || m.username == NULL)
        return;
    /* A full ICE peer checks us too (RFC 8445 §7.3): USERNAME "ours:theirs". */
    size_t ul = strlen(t->lufrag);
    if (m.username_len <= ul || memcmp(m.username, t->lufrag, ul) != 0 || m.username[ul] != ':' ||
        stun_check_integrity(buf, len, &m, t->lpwd, strlen(t->lpwd)) != IRTC_OK)
        return;
    uint8_t out[STUN_BINDING_SUCCESS_MAX];
    size_t n = stun_build_binding_success(out, sizeof(out), m.txid, from, t->lpwd, strlen(t->lpwd));
    if (n > 0)
        (void)sendto(t->io.fd, out, n, MSG_DONTWAIT, from, fromlen);
}

/* ---- socket and timers ---- */

static void on_datagram(ic_transport_t *t, uint8_t *buf, size_t len, const struct sockaddr *from, socklen_t fromlen,
                        uint64_t arrival_us)
{
    switch (rtp_classify(buf, len)) {
    case RTP_KIND_STUN:
        on_stun(t, buf, len, from, fromlen);
        break;
    case RTP_KIND_DTLS:
        if (t->dtls != NULL)
            dtls_conn_input(t->dtls, buf, len);
        break;
    case RTP_KIND_RTP:
        on_rtp(t, buf, len, arrival_us);
        break;
    case RTP_KIND_RTCP:
        on_rtcp(t, buf, len);
        break;
    default:
        break;
    }
}

static void on_io(ic_io_t *io, uint32_t events)
{
    ic_transport_t *t = io->obj;
    static _Thread_local uint8_t bufs[RX_BATCH][RX_CAP];
    struct mmsghdr msgs[RX_BATCH];
    struct iovec iov[RX_BATCH];
    struct sockaddr_storage from[RX_BATCH];
    union {
        struct cmsghdr align;
        uint8_t b[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(int))];
    } ctrl[RX_BATCH];
    for (int round = 0; round < 8 && t->io.fd >= 0; round++) {
        for (int i = 0; i < RX_BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], RX_CAP};
            msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                              .msg_namelen = sizeof(from[i]),
                                              .msg_iov = &iov[i],
                                              .msg_iovlen = 1,
                                              .msg_control = ctrl[i].b,
                                              .msg_controllen = sizeof(ctrl[i].b)};
        }
        int n = recvmmsg(t->io.fd, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        /* The kernel stamps with the wall clock; the loop runs on the
         * monotonic one: one offset per batch. */
        struct timespec mono, wall;
        clock_gettime(CLOCK_MONOTONIC, &mono);
        clock_gettime(CLOCK_REALTIME, &wall);
        int64_t wall_to_mono = ((int64_t)mono.tv_sec - wall.tv_sec) * 1000000 + (mono.tv_nsec - wall.tv_nsec) / 1000;
        uint64_t now = now_us(t);
        for (int i = 0; i < n && t->state != T_CLOSED; i++) {
            uint64_t arrival = now;
            size_t len = msgs[i].msg_len, seg = len;
            uint64_t rx_ns = clock_rx_stamp_ns(&msgs[i].msg_hdr);
            if (rx_ns != 0) {
                int64_t us = (int64_t)(rx_ns / 1000) + wall_to_mono;
                if (us > 0 && (uint64_t)us <= now + 1000000) /* a wall clock step: the loop's time */
                    arrival = (uint64_t)us;
            }
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != NULL;
                 c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
                if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
                    int v;
                    memcpy(&v, CMSG_DATA(c), sizeof(v));
                    if (v > 0)
                        seg = (size_t)v;
                }
            }
            if (seg > PKT_CAP)
                continue; /* datagrams larger than any we accept */
            for (size_t off = 0; off < len && t->state != T_CLOSED; off += seg)
                on_datagram(t, bufs[i] + off, IRTC_MIN(seg, len - off), (struct sockaddr *)&from[i],
                            msgs[i].msg_hdr.msg_namelen, arrival);
        }
        if (n < RX_BATCH)
            return;
    }
}

static void on_tick(ic_tick_t *tick, uint64_t now)
{
    ic_transport_t *t = (ic_transport_t *)((char *)tick - offsetof(ic_transport_t, tick));
    if (t->state == T_NEW || t->state == T_FAILED || t->state == T_CLOSED)
        return;
    if (now >= t->next_check_us) {
        send_check(t);
        t->next_check_us = now + (t->last_answer_us ? CONSENT_INTERVAL_US : CHECK_INTERVAL_US);
    }
    if (t->state != T_CONNECTED && now - t->started_us > CONNECT_TIMEOUT_US) {
        fail(t, t->state == T_CHECKING ? "ICE: no answer to our checks" : "DTLS handshake did not complete");
        return;
    }
    if (t->last_answer_us && now - t->last_answer_us > CONSENT_TIMEOUT_US) {
        fail(t, "ICE consent lost (no answer for 30 s)");
        return;
    }
    if (t->dtls != NULL && t->state == T_DTLS && dtls_conn_next_timeout_ms(t->dtls, now / 1000) <= now / 1000)
        dtls_conn_handle_timeout(t->dtls, now / 1000);
    if (t->state != T_CONNECTED)
        return;
    send_nacks(t, now);
    send_twcc(t, now);
    if (now - t->last_rr_us >= RR_INTERVAL_US) {
        t->last_rr_us = now;
        send_reports(t, now);
    }
}

/* ---- sending media ---- */

/* One-byte header extension element (RFC 8285 §4.2). */
static size_t put_ext(uint8_t *p, uint8_t id, const void *data, size_t len)
{
    p[0] = (uint8_t)(id << 4 | (len - 1));
    memcpy(p + 1, data, len);
    return 1 + len;
}

void ic_transport_send_media(ic_transport_t *t, unsigned i, uint32_t ts, bool marker, const uint8_t *payload,
                             size_t len)
{
    if (i >= t->n_send || t->state != T_CONNECTED)
        return;
    send_track_t *s = &t->send[i];
    uint8_t pkt[PKT_CAP];
    uint8_t *p = pkt;
    p[0] = 0x90; /* V=2, X=1 */
    p[1] = (uint8_t)((marker ? 0x80 : 0) | s->pt);
    rtp_set_seq(p, s->seq);
    rtp_set_ts(p, ts);
    rtp_set_ssrc(p, s->ssrc);
    size_t off = 16;
    const char *mid = s->video ? t->mid_video : t->mid_audio;
    if (t->ext_mid && mid[0])
        off += put_ext(pkt + off, t->ext_mid, mid, strlen(mid));
    if (t->ext_rid && s->rid[0])
        off += put_ext(pkt + off, t->ext_rid, s->rid, strlen(s->rid));
    if (t->ext_twcc) {
        uint8_t v[2] = {(uint8_t)(t->twcc_seq >> 8), (uint8_t)t->twcc_seq};
        t->twcc_seq++;
        off += put_ext(pkt + off, t->ext_twcc, v, 2);
    }
    while ((off - 16) % 4)
        pkt[off++] = 0;
    if (off == 16) {
        p[0] = 0x80;
        off = 12;
    } else {
        pkt[12] = 0xBE, pkt[13] = 0xDE;
        pkt[14] = (uint8_t)((off - 16) / 4 >> 8), pkt[15] = (uint8_t)((off - 16) / 4);
    }
    if (off + len + SEC_MAX_TRAILER > PKT_CAP)
        return;
    memcpy(pkt + off, payload, len);
    size_t n = off + len;
    if (s->hist_storage != NULL)
        rtx_buf_put(&s->hist, pkt, n, now_us(t) / 1000);
    s->seq++;
    s->packets++;
    s->octets += (uint32_t)len;
    s->last_ts = ts;
    s->last_ts_us = now_us(t);
    t->tx.packets++;
    t->tx.bytes += n;
    protect_and_send(t, pkt, n);
}

/* ---- life ---- */

ic_transport_t *ic_transport_new(ic_loop_t *l, const char *bind_ip, unsigned verify_every,
                                 const ic_transport_callbacks_t *cb, void *user)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sl = sizeof(struct sockaddr_in);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s4->sin_family = AF_INET;
    if (bind_ip != NULL && inet_pton(AF_INET, bind_ip, &s4->sin_addr) != 1) {
        memset(&ss, 0, sizeof(ss));
        if (inet_pton(AF_INET6, bind_ip, &s6->sin6_addr) != 1)
            return NULL;
        s6->sin6_family = AF_INET6;
        sl = sizeof(*s6);
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    /* A keyframe arrives as a burst of dozens of datagrams; with thousands of
     * transports on one loop a turn can take a while: room for 1 MiB, so a
     * load generator's own buffers are not what loses packets. */
    int size = 1 << 20, on = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)); /* arrival times (on_rtp) */
    setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on));      /* on_io cuts coalesced runs; older kernels: ignored */
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        close(fd);
        return NULL;
    }
    ic_transport_t *t = xcalloc(1, sizeof(*t));
    t->pt_rtx = -1;
    t->loop = l;
    t->cb = *cb;
    t->user = user;
    t->verify_every = verify_every;
    t->local = ss;
    crypto_random_alnum(t->lufrag, 8);
    crypto_random_alnum(t->lpwd, 24);
    crypto_random(&t->tie_breaker, sizeof(t->tie_breaker));
    crypto_random(&t->rtcp_ssrc, sizeof(t->rtcp_ssrc));
    t->tick.fn = on_tick;
    if (ic_io_add(l, &t->io, fd, EPOLLIN, on_io, t) != IRTC_OK) {
        close(fd);
        free(t);
        return NULL;
    }
    ic_tick_add(l, &t->tick);
    return t;
}

static void free_transport(void *arg)
{
    ic_transport_t *t = arg;
    if (t->dtls != NULL)
        dtls_conn_free(t->dtls);
    sec_session_dispose(&t->srtp_in);
    sec_session_dispose(&t->srtp_out);
    for (unsigned i = 0; i < t->n_send; i++)
        free(t->send[i].hist_storage);
    for (unsigned i = 0; i < t->n_recv; i++) {
        free(t->recv[i].nack);
        free(t->recv[i].frame_buf);
    }
    free(t->twcc);
    free(t);
}

void ic_transport_free(ic_transport_t *t)
{
    if (t == NULL)
        return;
    if (t->dtls != NULL && dtls_conn_state(t->dtls) == DTLS_STATE_CONNECTED)
        dtls_conn_close(t->dtls); /* close_notify: the server frees its side at once */
    t->state = T_CLOSED;
    t->srtp_ready = false;
    ic_tick_del(t->loop, &t->tick);
    int fd = t->io.fd;
    ic_io_del(t->loop, &t->io);
    if (fd >= 0)
        close(fd);
    ic_loop_defer(t->loop, free_transport, t);
}

const char *ic_transport_ufrag(const ic_transport_t *t)
{
    return t->lufrag;
}

const char *ic_transport_pwd(const ic_transport_t *t)
{
    return t->lpwd;
}

void ic_transport_local(const ic_transport_t *t, char ip[46], uint16_t *port)
{
    if (t->local.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&t->local;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, 46);
        *port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&t->local;
        if (a->sin_addr.s_addr == htonl(INADDR_ANY))
            snprintf(ip, 46, "127.0.0.1");
        else
            inet_ntop(AF_INET, &a->sin_addr, ip, 46);
        *port = ntohs(a->sin_port);
    }
}

int ic_transport_add_send(ic_transport_t *t, bool video, uint32_t ssrc, const char *rid)
{
    if (t->n_send == IC_MAX_SEND || t->state != T_NEW)
        return IRTC_ELIMIT;
    send_track_t *s = &t->send[t->n_send];
    memset(s, 0, sizeof(*s));
    s->video = video;
    s->ssrc = ssrc;
    s->clock = video ? 90000 : 48000;
    s->pt = video ? IC_PT_VP8 : IC_PT_OPUS;
    snprintf(s->rid, sizeof(s->rid), "%s", rid ? rid : "");
    crypto_random(&s->seq, sizeof(s->seq));
    if (video) {
        s->hist_storage = xmalloc(RTX_BUF_STORAGE_SIZE(HIST_SLOTS, HIST_SLOT_SIZE));
        rtx_buf_init(&s->hist, s->hist_storage, HIST_SLOTS, HIST_SLOT_SIZE);
    }
    return (int)t->n_send++;
}

int ic_transport_srtp_profile(const ic_transport_t *t)
{
    return t->srtp_ready ? t->srtp_out.profile : 0;
}

int ic_transport_start(ic_transport_t *t, const ic_answer_t *a, bool controlling)
{
    if (t->state != T_NEW)
        return IRTC_ECONFLICT;
    /* The first candidate of our address family. */
    int c = -1;
    for (int i = 0; i < a->n_cand && c < 0; i++) {
        struct in6_addr a6;
        struct in_addr a4;
        bool v4 = inet_pton(AF_INET, a->cand[i].ip, &a4) == 1, v6 = !v4 && inet_pton(AF_INET6, a->cand[i].ip, &a6) == 1;
        if (v4 && t->local.ss_family == AF_INET) {
            struct sockaddr_in *r = (struct sockaddr_in *)&t->remote;
            r->sin_family = AF_INET;
            r->sin_addr = a4;
            r->sin_port = htons(a->cand[i].port);
            t->remote_len = sizeof(*r);
            c = i;
        } else if (v6 && t->local.ss_family == AF_INET6) {
            struct sockaddr_in6 *r = (struct sockaddr_in6 *)&t->remote;
            r->sin6_family = AF_INET6;
            r->sin6_addr = a6;
            r->sin6_port = htons(a->cand[i].port);
            t->remote_len = sizeof(*r);
            c = i;
        }
    }
    if (c < 0)
        return IRTC_EINVAL;
    snprintf(t->username, sizeof(t->username), "%s:%s", a->ufrag, t->lufrag);
    snprintf(t->rpwd, sizeof(t->rpwd), "%s", a->pwd);
    snprintf(t->fp_alg, sizeof(t->fp_alg), "%s", a->fp_alg);
    snprintf(t->fp, sizeof(t->fp), "%s", a->fp);
    t->dtls_client = a->setup == IC_SETUP_PASSIVE;
    t->controlling = controlling;
    const ic_answer_media_t *m = a->video.present && !a->video.rejected ? &a->video : &a->audio;
    t->ext_mid = m->ext_mid;
    t->ext_rid = a->video.present ? a->video.ext_rid : 0;
    t->ext_twcc = m->ext_twcc;
    snprintf(t->mid_audio, sizeof(t->mid_audio), "%s", a->audio.mid);
    snprintf(t->mid_video, sizeof(t->mid_video), "%s", a->video.mid);
    t->pt_audio = a->audio.pt > 0 ? (uint8_t)a->audio.pt : IC_PT_OPUS;
    t->pt_video = a->video.pt > 0 ? (uint8_t)a->video.pt : IC_PT_VP8;
    t->pt_rtx = a->video.present && !a->video.rejected ? a->video.rtx_pt : -1;
    t->rtx_ssrc = a->video.rtx_ssrc;
    t->ssrc_video = a->video.ssrc;
    t->video_h264 = strcasecmp(a->video.codec, "H264") == 0;
    t->nack_enabled = a->video.nack;
    t->pli_enabled = a->video.pli;
    for (unsigned i = 0; i < t->n_send; i++)
        t->send[i].pt = t->send[i].video ? t->pt_video : t->pt_audio;
    t->state = T_CHECKING;
    t->started_us = now_us(t);
    t->next_check_us = t->started_us;
    send_check(t);
    t->next_check_us = t->started_us + CHECK_INTERVAL_US;
    return IRTC_OK;
}

bool ic_transport_connected(const ic_transport_t *t)
{
    return t->state == T_CONNECTED;
}

void ic_transport_add_stats(const ic_transport_t *t, ic_recv_stats_t *rx, ic_send_stats_t *tx)
{
    if (rx != NULL) {
        rx->packets += t->rx.packets;
        rx->bytes += t->rx.bytes;
        rx->recovered += t->rx.recovered;
        rx->srtp_failed += t->rx.srtp_failed;
        rx->nacks_sent += t->rx.nacks_sent;
        rx->plis_sent += t->rx.plis_sent;
        rx->twcc_sent += t->rx.twcc_sent;
        if (t->srtp_ready && t->srtp_out.profile == SEC_PROFILE_AEAD_AES_128_GCM)
            rx->srtp_gcm++;
        else if (t->srtp_ready)
            rx->srtp_cm++;
        for (unsigned i = 0; i < t->n_recv; i++) {
            const recv_stream_t *r = &t->recv[i];
            rx->lost += rtp_stats_lost(&r->st);
            double j = rtp_stats_jitter_ms(&r->st);
            if (j > rx->jitter_ms)
                rx->jitter_ms = j;
        }
    }
    if (tx != NULL) {
        tx->packets += t->tx.packets;
        tx->bytes += t->tx.bytes;
        tx->nacks_received += t->tx.nacks_received;
        tx->plis_received += t->tx.plis_received;
        tx->retransmitted += t->tx.retransmitted;
    }
}
