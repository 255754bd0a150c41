/*
 * engine.c — one worker's SFU: transports, ICE-lite, DTLS-SRTP, receiving
 * publishers' RTP and forwarding it to subscribers, RTCP both ways.
 *
 * Worker thread only (see engine.h).  The packet path is
 *   on_packet → transport by source address (or STUN ufrag) →
 *   STUN: answer, learn the address | DTLS: feed the handshake |
 *   SRTP: unprotect once → parse → per consumer: rewrite SSRC/seq/pt, copy,
 *   protect into the worker's send batch.
 * Allocation happens only when commands create transports and tracks.
 */
#include "media/engine.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/log.h"
#include "media/dtls.h"
#include "media/nack.h"
#include "media/rtp.h"
#include "media/srtp_session.h"
#include "media/stun.h"
#include "media/stun_limit.h"
#include "media/ufrag_index.h"
#include "media/twcc.h"
#include "record/ring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MX_CONSENT_TIMEOUT_MS 30000   /* RFC 7675 §5.1 */
#define MX_CONNECT_TIMEOUT_MS 30000   /* no ICE+DTLS within this: failed */
#define MX_RR_INTERVAL_MS 1000
#define MX_TWCC_INTERVAL_MS 50
#define MX_PLI_MIN_INTERVAL_MS 1000
#define MX_RTX_SLOTS 1024             /* ~1 s of 720p video at 1 Mbps+ */
#define MX_RTX_SLOT_SIZE 1500
#define MX_PKT_CAP 2048

typedef struct mx_transport mx_transport_t;
typedef struct mx_track_in mx_track_in_t;
typedef struct mx_consumer mx_consumer_t;

enum { T_NEW = 0, T_DTLS, T_CONNECTED, T_FAILED };

struct mx_track_in {
    mx_transport_t *t;
    mx_track_desc_t d;
    bool muted;
    /* receive statistics (RFC 3550 A.1, A.3, A.8) */
    bool seen;
    uint16_t max_seq;
    uint32_t cycles, base_seq, received, expected_prior, received_prior;
    double jitter;
    int64_t last_transit;
    uint32_t last_sr_mid;
    uint64_t last_sr_ms;
    /* last SR from the publisher, translated for subscribers */
    rtcp_report_t sr;
    bool have_sr;
    /* loss recovery */
    nack_gen_t nack;
    rtx_buf_t rtx;
    uint8_t *rtx_storage;
    uint64_t last_pli_ms;
    bool keyframe_wanted;
    /* subscribers */
    mx_consumer_t **consumers;
    unsigned n_consumers;
    /* recorders: each ring holds one reference for us */
    rec_ring_t **taps;
    unsigned n_taps;
};

struct mx_consumer {
    mx_transport_t *t; /* subscriber transport */
    mx_track_desc_t d;
    mx_track_in_t *src; /* NULL until the source exists / after it is closed */
    bool waiting_keyframe;
    bool started;
    uint16_t seq_delta; /* out = src + delta */
    uint16_t last_out_seq;
    uint32_t packets, octets, last_ts;
};

struct mx_transport {
    mx_engine_t *e;
    mx_transport_desc_t d;
    int state;
    struct sockaddr_storage remote;
    socklen_t remote_len;
    bool has_remote;
    uint64_t created_ms, last_consent_ms;
    dtls_conn_t *dtls;
    sec_session_t srtp_in, srtp_out;
    bool srtp_ready;
    uint32_t rtcp_ssrc;
    twcc_recv_t twcc;
    uint64_t last_twcc_ms, last_rr_ms;
    mx_track_in_t *in[MX_MAX_TRACKS];
    unsigned n_in;
    mx_consumer_t *out[MX_MAX_TRACKS];
    unsigned n_out;
    mx_transport_t *next;
    mx_transport_t *addr_next; /* bucket chain in the engine's address table */
};

#define MX_ADDR_BUCKETS 4096 /* power of two; chains stay short up to thousands of transports */

struct mx_engine {
    worker_t *w;
    dtls_ctx_t *dtls;
    mx_transport_t *head;
    mx_transport_t *by_addr[MX_ADDR_BUCKETS];
    ufrag_index_t by_ufrag;
    stun_limit_t stun_401; /* answers to checks that fail authentication */
    uint8_t pkt[MX_PKT_CAP];
};

static struct {
    mx_event_fn fn;
    void *ctx;
} g_sink;

/* ---- small helpers ---- */

static worker_stats_t *stats(mx_engine_t *e)
{
    return worker_stats_mut(e->w);
}

#define COUNT(e, field) atomic_fetch_add_explicit(&stats(e)->field, 1, memory_order_relaxed)

static bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (b->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
    }
    return false;
}

static uint32_t addr_hash(const struct sockaddr *a)
{
    uint32_t h = 2166136261u;
    const uint8_t *p;
    size_t n;
    uint16_t port;
    if (a->sa_family == AF_INET6) {
        p = ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr;
        n = 16;
        port = ((const struct sockaddr_in6 *)a)->sin6_port;
    } else {
        p = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr.s_addr;
        n = 4;
        port = ((const struct sockaddr_in *)a)->sin_port;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    h = (h ^ (port & 0xff)) * 16777619u;
    h = (h ^ (port >> 8)) * 16777619u;
    return h & (MX_ADDR_BUCKETS - 1);
}

/* The packet path's lookup: one hash and a short chain per datagram. */
static mx_transport_t *find_by_addr(mx_engine_t *e, const struct sockaddr *from)
{
    for (mx_transport_t *t = e->by_addr[addr_hash(from)]; t; t = t->addr_next)
        if (addr_equal(&t->remote, from))
            return t;
    return NULL;
}

static void addr_unlink(mx_transport_t *t)
{
    if (!t->has_remote)
        return;
    mx_transport_t **pp = &t->e->by_addr[addr_hash((const struct sockaddr *)&t->remote)];
    while (*pp && *pp != t)
        pp = &(*pp)->addr_next;
    if (*pp)
        *pp = t->addr_next;
    t->addr_next = NULL;
}

static void addr_set(mx_transport_t *t, const struct sockaddr *a, socklen_t len)
{
    addr_unlink(t);
    memcpy(&t->remote, a, len);
    t->remote_len = len;
    t->has_remote = true;
    uint32_t b = addr_hash(a);
    t->addr_next = t->e->by_addr[b];
    t->e->by_addr[b] = t;
}

static mx_transport_t *find_by_ufrag(mx_engine_t *e, const uint8_t *ufrag, size_t len)
{
    return ufrag_index_get(&e->by_ufrag, ufrag, len);
}

static mx_transport_t *find_by_id(mx_engine_t *e, uint64_t id)
{
    for (mx_transport_t *t = e->head; t; t = t->next)
        if (t->d.id == id)
            return t;
    return NULL;
}

static void send_to_remote(mx_transport_t *t, const uint8_t *data, size_t len)
{
    if (t->has_remote)
        worker_send(t->e->w, (const struct sockaddr *)&t->remote, t->remote_len, data, len);
}

static void run_event(worker_msg_t *msg, void *thread_ctx)
{
    mx_event_t *ev = (mx_event_t *)msg;
    if (g_sink.fn != NULL)
        g_sink.fn(g_sink.ctx, ev);
    free(ev);
}

static void emit(mx_transport_t *t, mx_event_type_t type, const char *reason)
{
    mx_event_t *ev = xcalloc(1, sizeof(*ev));
    ev->super.run = run_event;
    ev->type = type;
    ev->id = t->d.id;
    ev->is_publisher = t->d.is_publisher;
    ev->reason = reason;
    worker_pool_post_control(worker_pool_of(t->e->w), &ev->super);
}

static void fail(mx_transport_t *t, const char *reason)
{
    if (t->state == T_FAILED)
        return;
    t->state = T_FAILED;
    emit(t, MX_EV_FAILED, reason);
}

/* ---- ICE-lite (RFC 8445 §2.5): answer checks, learn the address ---- */

static void on_stun(mx_engine_t *e, mx_transport_t *t, const uint8_t *buf, size_t len, const struct sockaddr *from,
                    socklen_t fromlen)
{
    stun_msg_t m;
    if (stun_parse(buf, len, &m, NULL) != IRTC_OK || m.method != STUN_METHOD_BINDING) {
        COUNT(e, drop_malformed);
        return;
    }
    if (m.cls != STUN_CLASS_REQUEST)
        return; /* ICE-lite sends no checks, so expects no responses; indications keep NATs open */
    const uint8_t *su, *cu;
    size_t sl, cl;
    if (m.username == NULL || stun_username_split(m.username, m.username_len, &su, &sl, &cu, &cl) != IRTC_OK) {
        COUNT(e, drop_stun_auth);
        return;
    }
    if (t == NULL || strlen(t->d.ufrag) != sl || memcmp(t->d.ufrag, su, sl) != 0)
        t = find_by_ufrag(e, su, sl);
    if (t == NULL || t->state == T_FAILED ||
        stun_check_integrity(buf, len, &m, t->d.pwd, strlen(t->d.pwd)) != IRTC_OK ||
        (m.fingerprint_off && stun_check_fingerprint(buf, len, &m) != IRTC_OK)) {
        /* RFC 8445 §7.3: a check that fails authentication gets 401, no state change. */
        uint8_t out[STUN_ERROR_MAX];
        size_t n = stun_build_error(out, sizeof(out), m.txid, STUN_METHOD_BINDING, STUN_ERR_UNAUTHORIZED, NULL, 0);
        if (n && stun_limit_allow(&e->stun_401, from, clock_mono_ms()))
            worker_send(e->w, from, fromlen, out, n);
        COUNT(e, drop_stun_auth);
        return;
    }
    uint8_t out[STUN_BINDING_SUCCESS_MAX];
    size_t n = stun_build_binding_success(out, sizeof(out), m.txid, from, t->d.pwd, strlen(t->d.pwd));
    if (n)
        worker_send(e->w, from, fromlen, out, n);
    t->last_consent_ms = clock_mono_ms();
    /* A new 5-tuple is adopted only after a valid check; the controlling
     * agent's nomination (USE-CANDIDATE) moves media to that pair. */
    if (!t->has_remote || (m.use_candidate && !addr_equal(&t->remote, from)))
        addr_set(t, from, fromlen);
    if (t->state == T_NEW && t->has_remote)
        t->state = T_DTLS;
}

/* ---- keyframes: consumers start (and resume) on one ---- */

static bool is_keyframe(mx_codec_t codec, const uint8_t *p, size_t n)
{
    if (n < 1)
        return false;
    switch (codec) {
    case MX_CODEC_VP8: { /* RFC 7741 §4.2-4.3 */
        size_t i = 1;
        bool start = (p[0] & 0x10) && (p[0] & 0x07) == 0;
        if (p[0] & 0x80) {
            if (n < 2)
                return false;
            uint8_t x = p[1];
            i = 2;
            if (x & 0x80)
                i += (i < n && (p[i] & 0x80)) ? 2 : 1;
            if (x & 0x40)
                i++;
            if (x & 0x30)
                i++;
        }
        return start && i < n && (p[i] & 0x01) == 0;
    }
    case MX_CODEC_VP9: /* draft-ietf-payload-vp9 §4.2: P=0 and B=1 */
        return (p[0] & 0x40) == 0 && (p[0] & 0x08) != 0;
    case MX_CODEC_H264: { /* RFC 6184 §5.3, 5.7.1, 5.8 */
        uint8_t type = p[0] & 0x1f;
        if (type == 5 || type == 7)
            return true;
        if (type == 28 && n >= 2)
            return (p[1] & 0x80) && ((p[1] & 0x1f) == 5 || (p[1] & 0x1f) == 7);
        if (type == 24) {
            for (size_t i = 1; i + 2 < n;) {
                size_t sz = (size_t)p[i] << 8 | p[i + 1];
                uint8_t t2 = p[i + 2] & 0x1f;
                if (t2 == 5 || t2 == 7)
                    return true;
                i += 2 + sz;
            }
        }
        return false;
    }
    default:
        return true; /* audio: every packet decodes */
    }
}

/* ---- RTCP out ---- */

static void send_rtcp(mx_transport_t *t, uint8_t *buf, size_t len)
{
    if (!t->srtp_ready || !t->has_remote || len == 0)
        return;
    if (sec_protect_rtcp(&t->srtp_out, buf, &len, MX_PKT_CAP) != IRTC_OK)
        return;
    send_to_remote(t, buf, len);
}

static void request_keyframe(mx_track_in_t *tr, uint64_t now_ms)
{
    if (tr->d.kind != MX_KIND_VIDEO || now_ms - tr->last_pli_ms < MX_PLI_MIN_INTERVAL_MS)
        return;
    tr->last_pli_ms = now_ms;
    uint8_t buf[MX_PKT_CAP];
    size_t n = rtcp_build_pli(buf, sizeof(buf) - SEC_MAX_TRAILER, tr->t->rtcp_ssrc, tr->d.ssrc);
    send_rtcp(tr->t, buf, n);
}

/* ---- RTP in: publisher → consumers ---- */

static void update_recv_stats(mx_track_in_t *tr, uint16_t seq, uint32_t ts, uint64_t now_ms)
{
    if (!tr->seen) {
        tr->seen = true;
        tr->max_seq = seq;
        tr->base_seq = seq;
        tr->cycles = 0;
    } else {
        uint16_t udelta = (uint16_t)(seq - tr->max_seq);
        if (udelta < 0x8000) {
            if (seq < tr->max_seq)
                tr->cycles += 65536;
            tr->max_seq = seq;
        }
    }
    tr->received++;
    /* Interarrival jitter in timestamp units (RFC 3550 A.8). */
    int64_t arrival = (int64_t)(now_ms * tr->d.clock_rate / 1000);
    int64_t transit = arrival - (int64_t)ts;
    if (tr->received > 1) {
        int64_t d = transit - tr->last_transit;
        if (d < 0)
            d = -d;
        tr->jitter += ((double)d - tr->jitter) / 16.0;
    }
    tr->last_transit = transit;
}

/* Writes one source packet to a consumer: fixed header and CSRCs, no
 * extensions (the subscriber negotiated its own ids), payload and padding,
 * with the consumer's SSRC, sequence space and payload type. */
static void consumer_write(mx_engine_t *e, mx_consumer_t *c, const uint8_t *pkt, const rtp_hdr_t *h)
{
    mx_transport_t *st = c->t;
    uint8_t *o = e->pkt;
    size_t hl = RTP_HEADER_LEN + 4u * h->csrc_count;
    size_t body = (size_t)h->payload_len + h->padding_len;
    if (hl + body + SEC_MAX_TRAILER > MX_PKT_CAP)
        return;
    memcpy(o, pkt, hl);
    o[0] &= ~0x10; /* X = 0 */
    memcpy(o + hl, pkt + h->header_len, body);
    uint16_t out_seq = (uint16_t)(h->seq + c->seq_delta);
    rtp_set_seq(o, out_seq);
    rtp_set_ssrc(o, c->d.ssrc);
    rtp_set_pt(o, c->d.pt);
    size_t n = hl + body;
    if (sec_protect_rtp(&st->srtp_out, o, &n, MX_PKT_CAP) != IRTC_OK)
        return;
    send_to_remote(st, o, n);
}

static void forward(mx_engine_t *e, mx_track_in_t *tr, const uint8_t *pkt, const rtp_hdr_t *h, bool keyframe,
                    uint64_t now_ms)
{
    if (tr->muted || h->payload_len == 0)
        return; /* padding-only probes are for the publisher's link, not the subscribers' */
    for (unsigned i = 0; i < tr->n_consumers; i++) {
        mx_consumer_t *c = tr->consumers[i];
        if (!c->t->srtp_ready || !c->t->has_remote)
            continue;
        if (c->waiting_keyframe) {
            if (!keyframe) {
                request_keyframe(tr, now_ms);
                continue;
            }
            c->waiting_keyframe = false;
            /* Continue the consumer's own sequence space across pauses. */
            c->seq_delta = c->started ? (uint16_t)(c->last_out_seq + 1 - h->seq) : (uint16_t)(1000 - h->seq);
            c->started = true;
        }
        uint16_t out_seq = (uint16_t)(h->seq + c->seq_delta);
        if ((uint16_t)(out_seq - c->last_out_seq) < 0x8000 || c->packets == 0)
            c->last_out_seq = out_seq;
        c->packets++;
        c->octets += h->payload_len;
        c->last_ts = h->ts;
        consumer_write(e, c, pkt, h);
    }
}

static mx_track_in_t *track_for_ssrc(mx_transport_t *t, uint32_t ssrc, const uint8_t *pkt, const rtp_hdr_t *h,
                                     bool *is_rtx)
{
    *is_rtx = false;
    for (unsigned i = 0; i < t->n_in; i++) {
        if (t->in[i]->d.ssrc == ssrc)
            return t->in[i];
        if (t->in[i]->d.rtx_ssrc && t->in[i]->d.rtx_ssrc == ssrc) {
            *is_rtx = true;
            return t->in[i];
        }
    }
    /* Offers without a=ssrc (simulcast, some clients): bind by MID on first sight. */
    const rtp_ext_t *x = t->d.ext.mid ? rtp_ext_find(h, t->d.ext.mid) : NULL;
    if (x == NULL)
        return NULL;
    for (unsigned i = 0; i < t->n_in; i++) {
        mx_track_in_t *tr = t->in[i];
        if (strlen(tr->d.mid) != x->len || memcmp(tr->d.mid, pkt + x->off, x->len) != 0)
            continue;
        if (h->pt == tr->d.pt && tr->d.ssrc == 0) {
            tr->d.ssrc = ssrc;
            return tr;
        }
        if (tr->d.rtx_pt && h->pt == tr->d.rtx_pt && tr->d.rtx_ssrc == 0) {
            tr->d.rtx_ssrc = ssrc;
            *is_rtx = true;
            return tr;
        }
    }
    return NULL;
}

static void on_rtp(mx_engine_t *e, mx_transport_t *t, uint8_t *pkt, size_t len)
{
    rtp_hdr_t h;
    if (rtp_parse(pkt, len, &h, NULL) != IRTC_OK) {
        COUNT(e, drop_malformed);
        return;
    }
    uint64_t now_ms = clock_mono_ms();
    if (t->d.ext.twcc) {
        uint32_t tseq;
        if (rtp_ext_read_be(pkt, &h, t->d.ext.twcc, &tseq) == IRTC_OK)
            twcc_recv_packet(&t->twcc, (uint16_t)tseq, clock_mono_us());
    }
    if (!t->d.is_publisher)
        return;
    bool is_rtx;
    mx_track_in_t *tr = track_for_ssrc(t, h.ssrc, pkt, &h, &is_rtx);
    if (tr == NULL) {
        COUNT(e, drop_unknown_source);
        return;
    }
    if (is_rtx) {
        /* RFC 4588 §4: the original sequence number leads the payload. */
        if (h.payload_len < 2)
            return;
        uint16_t osn = (uint16_t)(pkt[h.header_len] << 8 | pkt[h.header_len + 1]);
        memmove(pkt + h.header_len, pkt + h.header_len + 2, (size_t)h.payload_len - 2 + h.padding_len);
        len -= 2;
        rtp_set_seq(pkt, osn);
        rtp_set_ssrc(pkt, tr->d.ssrc);
        rtp_set_pt(pkt, tr->d.pt);
        if (rtp_parse(pkt, len, &h, NULL) != IRTC_OK)
            return;
    } else if (h.pt != tr->d.pt) {
        return; /* RED/FEC or an unnegotiated type: not forwarded */
    }
    /* libwebrtc hands transport feedback to its congestion controller only
     * when the media SSRC is one it sends (rtcp_receiver.cc): name one. */
    if (t->twcc.media_ssrc == 0)
        t->twcc.media_ssrc = tr->d.ssrc;
    update_recv_stats(tr, h.seq, h.ts, now_ms);
    if (tr->d.nack && tr->d.kind == MX_KIND_VIDEO) {
        int flags = nack_gen_packet(&tr->nack, h.seq, now_ms);
        if (flags & NACK_PKT_KEYFRAME)
            tr->keyframe_wanted = true;
        if (flags & NACK_PKT_OLD)
            return; /* a duplicate: subscribers already have it */
    }
    rtx_buf_put(&tr->rtx, pkt, len, now_ms);
    for (unsigned i = 0; i < tr->n_taps; i++)
        if (!rec_ring_push(tr->taps[i], pkt, len, clock_mono_us()))
            tr->keyframe_wanted = true; /* the recorder lost data: it restarts on a keyframe */
    bool kf = tr->d.kind == MX_KIND_AUDIO || is_keyframe(tr->d.codec, pkt + h.header_len, h.payload_len);
    forward(e, tr, pkt, &h, kf, now_ms);
}

/* ---- RTCP in ---- */

static mx_consumer_t *consumer_for_ssrc(mx_transport_t *t, uint32_t ssrc)
{
    for (unsigned i = 0; i < t->n_out; i++)
        if (t->out[i]->d.ssrc == ssrc)
            return t->out[i];
    return NULL;
}

static void on_subscriber_nack(mx_engine_t *e, mx_consumer_t *c, const rtcp_pkt_t *pkt, uint64_t now_ms)
{
    uint16_t seqs[256];
    size_t n = 0;
    rtcp_nack_expand(pkt, seqs, IRTC_ARRAY_SIZE(seqs), &n);
    if (c->src == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint16_t src_seq = (uint16_t)(seqs[i] - c->seq_delta);
        const uint8_t *p = rtx_buf_get_resend(&c->src->rtx, src_seq, now_ms, 20, &len);
        rtp_hdr_t h;
        if (p != NULL && rtp_parse(p, len, &h, NULL) == IRTC_OK)
            consumer_write(e, c, p, &h);
    }
}

/* A publisher's SR is translated for each subscriber so they can sync lips. */
static void relay_sender_report(mx_track_in_t *tr)
{
    uint8_t buf[MX_PKT_CAP];
    for (unsigned i = 0; i < tr->n_consumers; i++) {
        mx_consumer_t *c = tr->consumers[i];
        if (!c->started)
            continue;
        rtcp_report_t r = tr->sr;
        r.ssrc = c->d.ssrc;
        r.packet_count = c->packets;
        r.octet_count = c->octets;
        r.rb_count = 0;
        size_t n = rtcp_build_sr(buf, sizeof(buf) - SEC_MAX_TRAILER, &r);
        send_rtcp(c->t, buf, n);
    }
}

static void on_rtcp(mx_engine_t *e, mx_transport_t *t, const uint8_t *buf, size_t len)
{
    rtcp_iter_t it;
    rtcp_pkt_t pkt;
    uint64_t now_ms = clock_mono_ms();
    rtcp_iter_init(&it, buf, len);
    int rc;
    while ((rc = rtcp_iter_next(&it, &pkt, NULL)) == 1) {
        if (pkt.pt == 200 && t->d.is_publisher) { /* SR */
            rtcp_report_t r;
            if (rtcp_parse_report(&pkt, &r) != IRTC_OK)
                continue;
            for (unsigned i = 0; i < t->n_in; i++) {
                mx_track_in_t *tr = t->in[i];
                if (tr->d.ssrc != r.ssrc)
                    continue;
                tr->sr = r;
                tr->have_sr = true;
                tr->last_sr_mid = rtcp_ntp_mid32(r.ntp_sec, r.ntp_frac);
                tr->last_sr_ms = now_ms;
                relay_sender_report(tr);
            }
        } else if (pkt.pt == 205 && pkt.fmt == 1 && !t->d.is_publisher) { /* generic NACK */
            rtcp_fb_t fb;
            mx_consumer_t *c;
            if (rtcp_parse_fb(&pkt, &fb) == IRTC_OK && (c = consumer_for_ssrc(t, fb.media_ssrc)) != NULL)
                on_subscriber_nack(e, c, &pkt, now_ms);
        } else if (pkt.pt == 206 && (pkt.fmt == 1 || pkt.fmt == 4) && !t->d.is_publisher) { /* PLI, FIR */
            rtcp_fb_t fb;
            if (rtcp_parse_fb(&pkt, &fb) != IRTC_OK)
                continue;
            uint32_t target = fb.media_ssrc;
            if (pkt.fmt == 4 && fb.fci_len >= 4)
                target = (uint32_t)fb.fci[0] << 24 | (uint32_t)fb.fci[1] << 16 | (uint32_t)fb.fci[2] << 8 | fb.fci[3];
            mx_consumer_t *c = consumer_for_ssrc(t, target);
            if (c != NULL && c->src != NULL)
                request_keyframe(c->src, now_ms);
        }
    }
    if (rc < 0)
        COUNT(e, drop_malformed);
}

/* ---- DTLS-SRTP ---- */

static void dtls_send_cb(void *user, const uint8_t *data, size_t len)
{
    send_to_remote(user, data, len);
}

static void dtls_connected_cb(void *user, const dtls_srtp_keys_t *k)
{
    mx_transport_t *t = user;
    if (sec_session_init(&t->srtp_out, k->profile, k->local_key, k->key_len, k->local_salt, k->salt_len, false) !=
            IRTC_OK ||
        sec_session_init(&t->srtp_in, k->profile, k->remote_key, k->key_len, k->remote_salt, k->salt_len, true) !=
            IRTC_OK) {
        fail(t, "SRTP keying failed");
        return;
    }
    t->srtp_ready = true;
    t->state = T_CONNECTED;
    emit(t, MX_EV_CONNECTED, NULL);
    /* New subscribers need a picture now, not at the next natural keyframe. */
    for (unsigned i = 0; i < t->n_out; i++)
        if (t->out[i]->src != NULL)
            request_keyframe(t->out[i]->src, clock_mono_ms());
}

static void dtls_failed_cb(void *user, const char *reason)
{
    mx_transport_t *t = user;
    if (t->dtls != NULL && dtls_conn_state(t->dtls) == DTLS_STATE_CLOSED) {
        /* close_notify: the browser closed this PeerConnection on purpose
         * (unpublish, unsubscribe, a page re-creating its connection).  That
         * is not a lost network: stop using the transport and let signaling
         * say what the user does next, instead of removing the user. */
        t->state = T_FAILED;
        t->srtp_ready = false;
        return;
    }
    fail(t, reason);
}

static const dtls_callbacks_t dtls_cbs = {dtls_send_cb, dtls_connected_cb, NULL, dtls_failed_cb};

/* ---- the packet entry point ---- */

void mx_engine_on_packet(mx_engine_t *e, uint8_t *buf, size_t len, const struct sockaddr *from, socklen_t fromlen)
{
    rtp_kind_t kind = rtp_classify(buf, len);
    mx_transport_t *t = find_by_addr(e, from);
    if (kind == RTP_KIND_STUN) {
        on_stun(e, t, buf, len, from, fromlen);
        return;
    }
    if (t == NULL) {
        COUNT(e, drop_unknown_source);
        return;
    }
    switch (kind) {
    case RTP_KIND_DTLS:
        if (t->dtls == NULL || dtls_conn_input(t->dtls, buf, len) != IRTC_OK)
            COUNT(e, drop_dtls);
        break;
    case RTP_KIND_RTP:
        if (!t->srtp_ready || sec_unprotect_rtp(&t->srtp_in, buf, &len) != IRTC_OK) {
            COUNT(e, drop_srtp);
            return;
        }
        on_rtp(e, t, buf, len);
        break;
    case RTP_KIND_RTCP:
        if (!t->srtp_ready || sec_unprotect_rtcp(&t->srtp_in, buf, &len) != IRTC_OK) {
            COUNT(e, drop_srtp);
            return;
        }
        on_rtcp(e, t, buf, len);
        break;
    default:
        COUNT(e, drop_malformed);
    }
}

/* ---- periodic work (every WORKER_TICK_MS) ---- */

static void fill_report_block(mx_track_in_t *tr, rtcp_rb_t *rb, uint64_t now_ms)
{
    uint32_t ext_max = tr->cycles + tr->max_seq;
    uint32_t expected = ext_max - tr->base_seq + 1;
    uint32_t exp_int = expected - tr->expected_prior, rec_int = tr->received - tr->received_prior;
    tr->expected_prior = expected;
    tr->received_prior = tr->received;
    int64_t lost_int = (int64_t)exp_int - rec_int;
    int64_t lost = (int64_t)expected - tr->received;
    memset(rb, 0, sizeof(*rb));
    rb->ssrc = tr->d.ssrc;
    rb->fraction_lost = (exp_int == 0 || lost_int <= 0) ? 0 : (uint8_t)IRTC_MIN(255, (lost_int << 8) / exp_int);
    rb->cumulative_lost = (int32_t)IRTC_MAX(IRTC_MIN(lost, 0x7fffff), -0x800000);
    rb->ext_highest_seq = ext_max;
    rb->jitter = (uint32_t)tr->jitter;
    if (tr->have_sr) {
        rb->lsr = tr->last_sr_mid;
        rb->dlsr = (uint32_t)((now_ms - tr->last_sr_ms) * 65536 / 1000);
    }
}

static void tick_publisher(mx_transport_t *t, uint64_t now_ms)
{
    uint8_t buf[MX_PKT_CAP];
    uint64_t now_us = clock_mono_us();
    if (t->d.ext.twcc && twcc_recv_due(&t->twcc, now_us)) {
        size_t n;
        while ((n = twcc_recv_build_feedback(&t->twcc, buf, sizeof(buf) - SEC_MAX_TRAILER, now_us)) > 0)
            send_rtcp(t, buf, n);
    }
    for (unsigned i = 0; i < t->n_in; i++) {
        mx_track_in_t *tr = t->in[i];
        if (tr->d.nack && tr->seen) {
            uint16_t seqs[64];
            size_t n = nack_gen_collect(&tr->nack, now_ms, 20, seqs, IRTC_ARRAY_SIZE(seqs));
            for (size_t off = 0, used = 0; off < n; off += used) {
                size_t len = nack_build_rtcp(buf, sizeof(buf) - SEC_MAX_TRAILER, t->rtcp_ssrc, tr->d.ssrc, seqs + off,
                                             n - off, &used);
                if (len == 0 || used == 0)
                    break;
                send_rtcp(t, buf, len);
            }
        }
        if (tr->keyframe_wanted) {
            tr->keyframe_wanted = false;
            request_keyframe(tr, now_ms);
        }
    }
    if (now_ms - t->last_rr_ms >= MX_RR_INTERVAL_MS) {
        t->last_rr_ms = now_ms;
        rtcp_rb_t rbs[MX_MAX_TRACKS];
        size_t nrb = 0;
        for (unsigned i = 0; i < t->n_in; i++)
            if (t->in[i]->seen)
                fill_report_block(t->in[i], &rbs[nrb++], now_ms);
        if (nrb > 0)
            send_rtcp(t, buf, rtcp_build_rr(buf, sizeof(buf) - SEC_MAX_TRAILER, t->rtcp_ssrc, rbs, nrb));
    }
}

void mx_engine_on_tick(mx_engine_t *e, uint64_t now_ms)
{
    for (mx_transport_t *t = e->head; t; t = t->next) {
        if (t->state == T_FAILED)
            continue;
        if (t->dtls != NULL && dtls_conn_next_timeout_ms(t->dtls, now_ms) <= now_ms)
            dtls_conn_handle_timeout(t->dtls, now_ms);
        if (t->state != T_CONNECTED) {
            if (now_ms - t->created_ms > MX_CONNECT_TIMEOUT_MS)
                fail(t, "ICE/DTLS did not connect within 30 s");
            continue;
        }
        if (now_ms - t->last_consent_ms > MX_CONSENT_TIMEOUT_MS) {
            fail(t, "ICE consent expired (no binding request for 30 s)");
            continue;
        }
        if (t->d.is_publisher)
            tick_publisher(t, now_ms);
    }
}

/* ---- commands from the control thread ---- */

static void link_consumer(mx_engine_t *e, mx_consumer_t *c)
{
    mx_transport_t *src_t = find_by_id(e, c->d.source_stream);
    if (src_t == NULL || !src_t->d.is_publisher)
        return;
    for (unsigned i = 0; i < src_t->n_in; i++) {
        mx_track_in_t *tr = src_t->in[i];
        if (tr->d.kind != c->d.kind)
            continue;
        tr->consumers = xrealloc(tr->consumers, (tr->n_consumers + 1) * sizeof(*tr->consumers));
        tr->consumers[tr->n_consumers++] = c;
        c->src = tr;
        return;
    }
}

static void unlink_consumer(mx_consumer_t *c)
{
    mx_track_in_t *tr = c->src;
    if (tr == NULL)
        return;
    for (unsigned i = 0; i < tr->n_consumers; i++) {
        if (tr->consumers[i] == c) {
            tr->consumers[i] = tr->consumers[--tr->n_consumers];
            break;
        }
    }
    c->src = NULL;
}

static void open_transport(mx_engine_t *e, const mx_transport_desc_t *d)
{
    if (find_by_id(e, d->id) != NULL)
        return;
    mx_transport_t *t = xcalloc(1, sizeof(*t));
    t->e = e;
    t->d = *d;
    t->created_ms = clock_mono_ms();
    crypto_random(&t->rtcp_ssrc, sizeof(t->rtcp_ssrc));
    const char *why = NULL;
    if (e->dtls == NULL) {
        why = "no DTLS context on this worker";
        t->state = T_FAILED;
    } else if (dtls_conn_new(e->dtls, DTLS_SERVER, d->remote_fp_alg, d->remote_fp, &dtls_cbs, t, &t->dtls, &why) !=
               IRTC_OK)
        t->state = T_FAILED; /* the control thread validated the fingerprint; reported below */
    else
        dtls_conn_start(t->dtls, t->created_ms);
    twcc_recv_init(&t->twcc, t->rtcp_ssrc, 0);
    for (unsigned i = 0; i < d->track_count; i++) {
        if (d->is_publisher) {
            mx_track_in_t *tr = xcalloc(1, sizeof(*tr));
            tr->t = t;
            tr->d = d->tracks[i];
            nack_gen_init(&tr->nack);
            tr->rtx_storage = xmalloc(RTX_BUF_STORAGE_SIZE(MX_RTX_SLOTS, MX_RTX_SLOT_SIZE));
            rtx_buf_init(&tr->rtx, tr->rtx_storage, MX_RTX_SLOTS, MX_RTX_SLOT_SIZE);
            t->in[t->n_in++] = tr;
        } else {
            mx_consumer_t *c = xcalloc(1, sizeof(*c));
            c->t = t;
            c->d = d->tracks[i];
            c->waiting_keyframe = true;
            t->out[t->n_out++] = c;
            link_consumer(e, c);
        }
    }
    t->next = e->head;
    e->head = t;
    if (t->state != T_FAILED && ufrag_index_put(&e->by_ufrag, t->d.ufrag, t) != IRTC_OK) {
        t->state = T_FAILED;
        why = "ICE ufrag already in use on this worker";
    }
    if (t->state == T_FAILED) {
        t->state = T_NEW;
        fail(t, why ? why : "bad DTLS fingerprint");
    }
}

static void close_transport(mx_engine_t *e, uint64_t id)
{
    mx_transport_t **pp = &e->head, *t;
    while ((t = *pp) != NULL && t->d.id != id)
        pp = &t->next;
    if (t == NULL)
        return;
    *pp = t->next;
    addr_unlink(t);
    ufrag_index_del(&e->by_ufrag, t->d.ufrag, t);
    for (unsigned i = 0; i < t->n_out; i++) {
        unlink_consumer(t->out[i]);
        free(t->out[i]);
    }
    for (unsigned i = 0; i < t->n_in; i++) {
        mx_track_in_t *tr = t->in[i];
        for (unsigned j = 0; j < tr->n_consumers; j++)
            tr->consumers[j]->src = NULL;
        free(tr->consumers);
        for (unsigned j = 0; j < tr->n_taps; j++)
            rec_ring_unref(tr->taps[j]);
        free(tr->taps);
        free(tr->rtx_storage);
        free(tr);
    }
    if (t->dtls != NULL) {
        dtls_conn_close(t->dtls); /* close_notify, so the browser learns at once */
        dtls_conn_free(t->dtls);
    }
    sec_session_dispose(&t->srtp_in);
    sec_session_dispose(&t->srtp_out);
    free(t);
}

static void set_muted(mx_engine_t *e, uint64_t id, mx_kind_t kind, bool muted)
{
    mx_transport_t *t = find_by_id(e, id);
    if (t == NULL)
        return;
    for (unsigned i = 0; i < t->n_in; i++) {
        mx_track_in_t *tr = t->in[i];
        if (tr->d.kind != kind || tr->muted == muted)
            continue;
        tr->muted = muted;
        if (!muted && kind == MX_KIND_VIDEO) {
            for (unsigned j = 0; j < tr->n_consumers; j++)
                tr->consumers[j]->waiting_keyframe = true;
            tr->last_pli_ms = 0;
            request_keyframe(tr, clock_mono_ms());
        }
    }
}

static void tap(mx_engine_t *e, mx_cmd_t *cmd, bool add)
{
    mx_transport_t *t = find_by_id(e, cmd->id);
    for (unsigned i = 0; t != NULL && i < t->n_in; i++) {
        mx_track_in_t *tr = t->in[i];
        if (add && tr->d.kind == cmd->kind) {
            tr->taps = xrealloc(tr->taps, (tr->n_taps + 1) * sizeof(*tr->taps));
            tr->taps[tr->n_taps++] = cmd->ring;
            cmd->ring = NULL;
            tr->last_pli_ms = 0; /* a recording starts with a keyframe */
            request_keyframe(tr, clock_mono_ms());
            break;
        }
        for (unsigned j = 0; !add && j < tr->n_taps; j++) {
            if (tr->taps[j] == cmd->ring) {
                rec_ring_unref(tr->taps[j]);
                tr->taps[j] = tr->taps[--tr->n_taps];
                break;
            }
        }
    }
    if (add && cmd->ring != NULL) { /* no such track: the recorder sees no data and says so */
        rec_ring_unref(cmd->ring);
        cmd->ring = NULL;
    }
}

void mx_engine_on_command(mx_engine_t *e, mx_cmd_t *cmd)
{
    switch (cmd->type) {
    case MX_CMD_OPEN:
        open_transport(e, &cmd->desc);
        break;
    case MX_CMD_CLOSE:
        close_transport(e, cmd->id);
        break;
    case MX_CMD_MUTE:
        set_muted(e, cmd->id, cmd->kind, cmd->flag);
        break;
    case MX_CMD_TAP_ADD:
        tap(e, cmd, true);
        break;
    case MX_CMD_TAP_DEL:
        tap(e, cmd, false);
        break;
    case MX_CMD_KEYFRAME: {
        mx_transport_t *t = find_by_id(e, cmd->id);
        for (unsigned i = 0; t != NULL && i < t->n_in; i++) {
            t->in[i]->last_pli_ms = 0;
            request_keyframe(t->in[i], clock_mono_ms());
        }
        break;
    }
    }
}

static void run_cmd(worker_msg_t *msg, void *thread_ctx)
{
    worker_t *w = thread_ctx;
    mx_engine_on_command(worker_engine(w), (mx_cmd_t *)msg);
    free(msg);
}

mx_cmd_t *mx_cmd_new(mx_cmd_type_t type, uint64_t id)
{
    mx_cmd_t *cmd = xcalloc(1, sizeof(*cmd));
    cmd->super.run = run_cmd;
    cmd->type = type;
    cmd->id = id;
    return cmd;
}

void mx_cmd_post(worker_t *w, mx_cmd_t *cmd)
{
    worker_post(w, &cmd->super);
}

void mx_engine_set_event_sink(mx_event_fn fn, void *ctx)
{
    g_sink.fn = fn;
    g_sink.ctx = ctx;
}

/* ---- life ---- */

mx_engine_t *mx_engine_new(worker_t *w, const dtls_cert_t *cert)
{
    mx_engine_t *e = xcalloc(1, sizeof(*e));
    e->w = w;
    ufrag_index_init(&e->by_ufrag);
    stun_limit_init(&e->stun_401, clock_mono_ms());
    char err[256];
    e->dtls = cert ? dtls_ctx_new(cert, NULL, err, sizeof(err)) : NULL;
    if (cert != NULL && e->dtls == NULL)
        log_error("media", "DTLS context: %s", err);
    return e;
}

void mx_engine_free(mx_engine_t *e)
{
    if (e == NULL)
        return;
    while (e->head != NULL)
        close_transport(e, e->head->d.id);
    dtls_ctx_free(e->dtls);
    ufrag_index_dispose(&e->by_ufrag);
    free(e);
}
