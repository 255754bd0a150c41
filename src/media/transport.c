/*
 * transport.c — one client PeerConnection: ICE-lite, DTLS-SRTP, liveness,
 * demultiplexing RTP/RTCP to producers and consumers, protecting what they
 * send.  See transport.h.
 */
#include "media/transport.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/log.h"
#include "media/alloc.h"
#include "media/consumer.h"
#include "media/gcc.h"
#include "media/pacer.h"
#include "media/producer.h"
#include "media/stun_limit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRANSPORT_PRODUCER_TICK_MS 20 /* NACKs for gaps: every 20 ms while publishing */
#define TRANSPORT_IDLE_TICK_MS 100
#define TRANSPORT_SCTP_TICK_MS 5 /* packets usrsctp queued on another worker's timer leave within this */
#define TRANSPORT_STATS_MS 2000 /* ENGINE_EV_TRANSPORT_STATS */
#define TRANSPORT_LOSSY 0.02    /* loss at which layers stop going up (gcc's own "hold" band) */
#define TRANSPORT_LOSSY_US 5000000
#define TRANSPORT_GCC_TICK_MS 25    /* gcc_process: probes, feedback timeout */
#define TRANSPORT_ALLOC_TICK_MS 250 /* layers follow measured bitrates and the estimate */
#define TRANSPORT_ALLOC_CHANGE 0.1  /* an estimate this much different re-runs the allocator at once */

struct transport_cc {
    twcc_send_t ts;
    gcc_t gcc;
    pacer_t pacer;
    alloc_t alloc;
    consumer_t *by_slot[ALLOC_MAX_CONSUMERS];
    uint64_t last_gcc_ms, last_alloc_ms, alloc_target_bps;
    uint64_t lossy_until_us;          /* a loss measurement at TRANSPORT_LOSSY or more holds the layers until then */
    uint64_t created_ms, first_fb_ms; /* the estimate counts as measured a while after feedback began */
};

/* Until the estimate has been measured (a probe result, or 1.5 s of
 * feedback; 3 s without transport-cc), it is only gcc's starting guess:
 * every consumer then gets at least its lowest layer (a single-encoding
 * stream: its only one) instead of being paused on a guess. */
#define TRANSPORT_MEASURED_FB_MS 1500
#define TRANSPORT_MEASURED_NOFB_MS 3000

static engine_stats_t *stats(transport_t *t)
{
    return t->ctx->stats;
}

static uint8_t *tx_reserve(transport_t *t)
{
    return t->ctx->io.tx_reserve(t->ctx->io.ctx);
}

static void tx_commit(transport_t *t, const mx_tuple_t *to, size_t len)
{
    t->ctx->io.tx_commit(t->ctx->io.ctx, to, len, NULL);
}

static uint8_t *port_tx_buffer(mx_port_t *p);
static void port_send_rtp(mx_port_t *p, uint8_t *buf, size_t len);
static void port_send_rtcp(mx_port_t *p, uint8_t *buf, size_t len);

static transport_t *of_port(mx_port_t *p)
{
    return (transport_t *)p; /* the port is the transport's first member */
}

/* Media can be sent: DTLS up, keys, an address. */
static void update_ready(transport_t *t)
{
    t->port.ready = t->srtp_ready && t->has_remote && t->state == TRANSPORT_CONNECTED;
}

#define COUNT(t, field) atomic_fetch_add_explicit(&stats(t)->field, 1, memory_order_relaxed)

_Static_assert(TRANSPORT_CLOSED + 1 == IRTC_ARRAY_SIZE(((engine_stats_t *)0)->transports),
               "engine_stats_t.transports has one slot per transport state");

/* Every state change goes through here: /metrics shows transports by state. */
static void set_state(transport_t *t, transport_state_t to)
{
    atomic_fetch_sub_explicit(&stats(t)->transports[t->state], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&stats(t)->transports[to], 1, memory_order_relaxed);
    t->state = to;
}

/* ---- life and events ---- */

static void emit(transport_t *t, engine_event_type_t type, const char *reason)
{
    engine_event_t ev = {.type = type, .id = t->id, .reason = reason};
    mx_emit(t->ctx, &ev);
}

static void emit_id(transport_t *t, engine_event_type_t type, uint64_t id)
{
    engine_event_t ev = {.type = type, .id = id};
    mx_emit(t->ctx, &ev);
}

void transport_announce(transport_t *t, engine_event_type_t type, uint64_t id)
{
    if (t->state == TRANSPORT_CONNECTED)
        emit_id(t, type, id);
}

static void fail(transport_t *t, const char *reason)
{
    if (t->state == TRANSPORT_FAILED || t->state == TRANSPORT_CLOSED)
        return;
    /* What the operator needs to tell a blocked port from a silent client. */
    log_info("media", "transport %llu failed: %s (state %d, %u ICE checks answered, %u DTLS records, %s address)",
             (unsigned long long)t->id, reason, (int)t->state, t->n_checks, t->n_dtls_in, t->has_remote ? "an" : "no");
    if (t->state == TRANSPORT_DTLS)
        COUNT(t, dtls_handshake_failures); /* ICE worked; DTLS failed or never finished */
    set_state(t, TRANSPORT_FAILED);
    t->srtp_ready = false;
    update_ready(t);
    emit(t, ENGINE_EV_TRANSPORT_FAILED, reason);
}

static void send_raw(transport_t *t, const uint8_t *data, size_t len)
{
    if (!t->has_remote || len > ENGINE_TX_CAP)
        return;
    uint8_t *buf = tx_reserve(t);
    if (buf == NULL)
        return;
    memcpy(buf, data, len);
    tx_commit(t, &t->remote, len);
}

static void dtls_send_cb(void *user, const uint8_t *data, size_t len)
{
    send_raw(user, data, len);
}

/* An association is up (the first, or the one after an ICE restart): its
 * keys replace any earlier ones, since the client protects with them now.
 * False if keying failed (the transport has failed). */
static bool take_keys(transport_t *t, const dtls_srtp_keys_t *k)
{
    sec_session_t out, in;
    if (dtls_srtp_sessions(k, &out, &in) != IRTC_OK) {
        fail(t, "SRTP keying failed");
        return false;
    }
    sec_session_dispose(&t->srtp_in);
    sec_session_dispose(&t->srtp_out);
    t->srtp_in = in;
    t->srtp_out = out;
    t->srtp_ready = true;
    set_state(t, TRANSPORT_CONNECTED);
    update_ready(t);
    return true;
}

static void dtls_connected_cb(void *user, const dtls_srtp_keys_t *k)
{
    transport_t *t = user;
    if (!take_keys(t, k))
        return;
    emit(t, ENGINE_EV_TRANSPORT_CONNECTED, NULL);
    for (unsigned i = 0; i < t->n_producers; i++)
        transport_announce(t, ENGINE_EV_PRODUCER_READY, t->producers[i]->id);
    uint64_t now_ms = mx_now_ms(t->ctx);
    for (unsigned i = 0; i < t->n_consumers; i++) {
        consumer_on_connected(t->consumers[i], now_ms);
        transport_announce(t, ENGINE_EV_CONSUMER_READY, t->consumers[i]->id);
    }
}

static void dtls_failed_cb(void *user, const char *reason)
{
    transport_t *t = user;
    if (t->dtls != NULL && dtls_conn_state(t->dtls) == DTLS_STATE_CLOSED && t->restarted) {
        /* close_notify of the association a client replaces after an ICE
         * restart: its new one is being (or will be) set up. */
        t->srtp_ready = false;
        update_ready(t);
        return;
    }
    if (t->dtls != NULL && dtls_conn_state(t->dtls) == DTLS_STATE_CLOSED) {
        /* close_notify: the browser closed this PeerConnection on purpose
         * (unpublish, a page re-creating its connection).  That is not a lost
         * network: stop using the transport and let signaling say what the
         * user does next, instead of removing the user.  A ClientHello after
         * a valid check still brings it back (transport_on_dtls). */
        set_state(t, TRANSPORT_CLOSED);
        t->srtp_ready = false;
        update_ready(t);
        return;
    }
    fail(t, reason);
}

/* ---- data channels (sctp.h) ---- */

static void sctp_send_cb(void *user, const uint8_t *pkt, size_t len)
{
    transport_t *t = user;
    if (t->dtls == NULL || dtls_conn_send_app(t->dtls, pkt, len) != IRTC_OK)
        COUNT(t, data_drop_packets); /* SCTP retransmits what it misses */
}

static void sctp_message_cb(void *user, bool reliable, bool binary, const uint8_t *data, size_t len)
{
    transport_t *t = user;
    COUNT(t, data_in);
    engine_event_t ev = {
        .type = ENGINE_EV_DATA, .id = t->id, .data = data, .data_len = len, .binary = binary, .reliable = reliable};
    mx_emit(t->ctx, &ev);
}

static const sctp_callbacks_t sctp_cbs = {sctp_send_cb, sctp_message_cb};

static void dtls_app_cb(void *user, const uint8_t *data, size_t len)
{
    transport_t *t = user;
    if (!t->d.data) {
        COUNT(t, data_malformed); /* SCTP on a connection whose answer accepted no data channel */
        return;
    }
    if (t->sctp == NULL) { /* the client's INIT: it opens the association */
        engine_stats_t *st = stats(t);
        sctp_counters_t n = {&st->data_drop_packets, &st->data_drop_too_big, &st->data_malformed};
        t->sctp = sctp_assoc_new(&sctp_cbs, t, t->d.sctp_port, t->d.max_message, &n);
        sctp_assoc_set_remote_max(t->sctp, t->d.remote_max_message);
    }
    sctp_assoc_input(t->sctp, data, len);
}

void transport_enable_data(transport_t *t, const engine_transport_desc_t *d)
{
    t->d.data = d->data;
    t->d.sctp_port = d->sctp_port;
    t->d.remote_max_message = d->remote_max_message;
    t->d.max_message = d->max_message;
    if (t->sctp != NULL)
        sctp_assoc_set_remote_max(t->sctp, d->remote_max_message);
}

void transport_send_data(transport_t *t, bool reliable, bool binary, const uint8_t *data, size_t len)
{
    int rc = t->sctp != NULL && t->state == TRANSPORT_CONNECTED
                 ? sctp_assoc_send(t->sctp, reliable, binary, data, len)
                 : IRTC_ENOTFOUND;
    if (rc == IRTC_OK)
        COUNT(t, data_out);
    else if (rc == IRTC_EAGAIN)
        COUNT(t, data_drop_buffer);
    else if (rc == IRTC_EINVAL)
        COUNT(t, data_drop_too_big);
}

static const dtls_callbacks_t dtls_cbs = {dtls_send_cb, dtls_connected_cb, dtls_app_cb, dtls_failed_cb};

/* The new association after an ICE restart is up: the old one goes. */
static void dtls_next_connected_cb(void *user, const dtls_srtp_keys_t *k)
{
    transport_t *t = user;
    if (!take_keys(t, k))
        return;
    dtls_conn_t *old = t->dtls;
    t->dtls = t->dtls_next;
    t->dtls_next = NULL;
    /* It is the transport's association now: its close_notify must close the
     * transport (dtls_failed_cb), so that the client's next ClientHello starts
     * another one.  Left with these callbacks, a close was logged as a failed
     * restart and the transport kept a closed association for good: every
     * later ClientHello went to it and was dropped (a browser's receiving
     * connection stuck in "connecting" after renegotiations). */
    dtls_conn_set_callbacks(t->dtls, &dtls_cbs);
    t->restarted = false;
    if (old != NULL)
        dtls_conn_free(old); /* no close_notify: the client already left that association */
    sctp_assoc_free(t->sctp); /* SCTP ran over the old association; the client's next INIT starts anew */
    t->sctp = NULL;
    log_info("media", "transport %llu: new DTLS association after an ICE restart", (unsigned long long)t->id);
    uint64_t now_ms = mx_now_ms(t->ctx);
    for (unsigned i = 0; i < t->n_consumers; i++)
        consumer_on_connected(t->consumers[i], now_ms); /* keyframes: the client's decoders may have restarted */
}

static void dtls_next_failed_cb(void *user, const char *reason)
{
    transport_t *t = user;
    /* The old association (if still up) carries on; a later ClientHello may try again. */
    log_info("media", "transport %llu: DTLS after an ICE restart failed: %s", (unsigned long long)t->id, reason);
}

static const dtls_callbacks_t dtls_next_cbs = {dtls_send_cb, dtls_next_connected_cb, dtls_app_cb, dtls_next_failed_cb};

static const mx_port_ops_t port_ops;

transport_t *transport_new(mx_ctx_t *ctx, uint64_t id, const engine_transport_desc_t *d, uint64_t now_ms)
{
    transport_t *t = xcalloc(1, sizeof(*t));
    t->port.ops = &port_ops;
    t->port.ctx = ctx;
    t->port.twcc_ext_id = d->ext.twcc;
    t->port.level_ext_id = d->ext.audio_level;
    t->ctx = ctx;
    t->id = id;
    t->d = *d;
    t->created_ms = t->last_stats_ms = now_ms;
    t->last_alive_ms = now_ms;
    atomic_fetch_add_explicit(&stats(t)->transports[TRANSPORT_NEW], 1, memory_order_relaxed);
    crypto_random(&t->port.rtcp_ssrc, sizeof(t->port.rtcp_ssrc));
    t->twcc_seq = (uint16_t)t->port.rtcp_ssrc;
    const char *why = NULL;
    if (ctx->dtls == NULL)
        why = "no DTLS context on this worker";
    else if (dtls_conn_new(ctx->dtls, DTLS_SERVER, d->remote_fp_alg, d->remote_fp, &dtls_cbs, t, &t->dtls, &why) ==
             IRTC_OK)
        dtls_conn_start(t->dtls, now_ms);
    else if (why == NULL)
        why = "bad DTLS fingerprint"; /* the control thread validated it: should not happen */
    if (why != NULL && t->dtls == NULL)
        fail(t, why);
    return t;
}

void transport_free(transport_t *t)
{
    atomic_fetch_sub_explicit(&stats(t)->transports[t->state], 1, memory_order_relaxed);
    sctp_assoc_free(t->sctp); /* its ABORT goes out before close_notify */
    t->sctp = NULL;
    if (t->dtls != NULL) {
        dtls_conn_close(t->dtls); /* close_notify, so the browser learns at once */
        dtls_conn_free(t->dtls);
    }
    if (t->dtls_next != NULL)
        dtls_conn_free(t->dtls_next);
    sec_session_dispose(&t->srtp_in);
    sec_session_dispose(&t->srtp_out);
    free(t->twcc_rx);
    if (t->cc != NULL && t->ctx->io.tx_flush != NULL)
        t->ctx->io.tx_flush(t->ctx->io.ctx); /* datagrams waiting to be sent point into t->cc (tx_commit) */
    free(t->cc);
    free(t->producers);
    free(t->consumers);
    free(t);
}

void transport_set_ice(transport_t *t, const char *ufrag, const char *pwd)
{
    char old[ENGINE_UFRAG_MAX + 1];
    snprintf(old, sizeof(old), "%s", t->d.ufrag);
    snprintf(t->d.ufrag, sizeof(t->d.ufrag), "%s", ufrag);
    snprintf(t->d.pwd, sizeof(t->d.pwd), "%s", pwd);
    t->ctx->reindex_ufrag(t->ctx->engine, t, old);
    t->restarted = true;
}

/* ---- ICE-lite (RFC 8445 §2.5) ---- */

static bool same_addr(const transport_t *t, const mx_tuple_t *a)
{
    return t->has_remote && mx_tuple_equal(&t->remote, a);
}

void transport_lost_remote(transport_t *t)
{
    t->has_remote = false;
    update_ready(t);
}

void transport_on_stun(transport_t *t, const uint8_t *buf, size_t len, const stun_msg_t *m, const mx_tuple_t *from,
                       uint64_t now_ms)
{
    const struct sockaddr *from_addr = (const struct sockaddr *)&from->addr;
    if (m->cls == STUN_CLASS_INDICATION) {
        /* libnice keeps its pair alive with indications, not requests. */
        if (same_addr(t, from))
            t->last_alive_ms = now_ms;
        return;
    }
    if (m->cls != STUN_CLASS_REQUEST || t->state == TRANSPORT_FAILED)
        return; /* ICE-lite sends no checks, so expects no responses */
    if (stun_check_integrity(buf, len, m, t->d.pwd, strlen(t->d.pwd)) != IRTC_OK ||
        (m->fingerprint_off && stun_check_fingerprint(buf, len, m) != IRTC_OK)) {
        /* RFC 8445 §7.3: a check that fails authentication gets 401, no state change. */
        uint8_t out[STUN_ERROR_MAX];
        size_t n = stun_build_error(out, sizeof(out), m->txid, STUN_METHOD_BINDING, STUN_ERR_UNAUTHORIZED, NULL, 0);
        uint8_t *tx = n && stun_limit_allow(t->ctx->stun_401, from_addr, mx_now_ms(t->ctx)) ? tx_reserve(t) : NULL;
        if (tx != NULL) {
            memcpy(tx, out, n);
            tx_commit(t, from, n);
        }
        COUNT(t, drop_stun_auth);
        return;
    }
    t->n_checks++;
    if (t->ctx->io.verified != NULL)
        t->ctx->io.verified(t->ctx->io.ctx, from);
    uint8_t *tx = tx_reserve(t);
    size_t n = tx ? stun_build_binding_success(tx, ENGINE_TX_CAP, m->txid, from_addr, t->d.pwd, strlen(t->d.pwd)) : 0;
    if (n)
        tx_commit(t, from, n);
    /* A new 5-tuple is adopted only after a valid check; the controlling
     * agent's nomination (USE-CANDIDATE) moves media to that pair. */
    if (same_addr(t, from))
        t->last_alive_ms = now_ms;
    else if ((!t->has_remote || m->use_candidate) && t->ctx->bind_addr(t->ctx->engine, t, from))
        t->last_alive_ms = now_ms;
    if (t->state == TRANSPORT_NEW && t->has_remote)
        set_state(t, TRANSPORT_DTLS);
    update_ready(t);
}

/* A DTLS ClientHello record (handshake, epoch 0, first message type 1). */
static bool is_client_hello(const uint8_t *buf, size_t len)
{
    return len > 25 && buf[0] == 22 && buf[3] == 0 && buf[4] == 0 && buf[13] == 1;
}

void transport_on_dtls(transport_t *t, const uint8_t *buf, size_t len, uint64_t now_ms)
{
    t->n_dtls_in++;
    /* A new association: after an ICE restart, or after the client closed
     * the old one (Chromium closes it as soon as it applies the offer that
     * recycles its BUNDLE tag, before the restart reaches us). */
    if ((t->restarted || t->state == TRANSPORT_CLOSED) && t->dtls != NULL &&
        dtls_conn_state(t->dtls) != DTLS_STATE_HANDSHAKING && (t->dtls_next != NULL || is_client_hello(buf, len))) {
        const char *why = NULL;
        if (t->dtls_next == NULL && dtls_conn_new(t->ctx->dtls, DTLS_SERVER, t->d.remote_fp_alg, t->d.remote_fp,
                                                  &dtls_next_cbs, t, &t->dtls_next, &why) == IRTC_OK)
            dtls_conn_start(t->dtls_next, now_ms);
        if (t->dtls_next != NULL && dtls_conn_input(t->dtls_next, buf, len) == IRTC_OK) {
            t->last_alive_ms = now_ms;
            return;
        }
        COUNT(t, drop_dtls);
        return;
    }
    if (t->dtls == NULL || dtls_conn_input(t->dtls, buf, len) != IRTC_OK)
        COUNT(t, drop_dtls);
    else
        t->last_alive_ms = now_ms;
}

/* ---- RTP in ---- */

static transport_ssrc_t *find_ssrc(transport_t *t, uint32_t ssrc)
{
    for (unsigned i = 0; i < t->n_ssrcs; i++)
        if (t->ssrcs[i].ssrc == ssrc)
            return &t->ssrcs[i];
    return NULL;
}

static transport_ssrc_t *add_ssrc(transport_t *t, uint32_t ssrc, producer_t *p, unsigned enc, bool rtx)
{
    transport_ssrc_t *x = find_ssrc(t, ssrc);
    if (x == NULL) {
        if (t->n_ssrcs == TRANSPORT_MAX_SSRCS)
            return NULL;
        x = &t->ssrcs[t->n_ssrcs++];
    }
    *x = (transport_ssrc_t){.ssrc = ssrc, .p = p, .enc = (uint8_t)enc, .rtx = rtx};
    return x;
}

static bool ext_equals(const uint8_t *pkt, const rtp_ext_t *x, const char *s)
{
    return x != NULL && strlen(s) == x->len && memcmp(pkt + x->off, s, x->len) == 0;
}

/* Offers without a=ssrc (simulcast, some clients): bind an SSRC on first
 * sight by its mid and rid / repaired rid header extensions (RFC 8843 §9.2,
 * RFC 8852), or, lacking them, by payload type. */
static transport_ssrc_t *bind_ssrc(transport_t *t, const uint8_t *pkt, const rtp_hdr_t *h)
{
    const rtp_ext_t *mid = t->d.ext.mid ? rtp_ext_find(h, t->d.ext.mid) : NULL;
    const rtp_ext_t *rid = t->d.ext.rid ? rtp_ext_find(h, t->d.ext.rid) : NULL;
    const rtp_ext_t *rrid = t->d.ext.rrid ? rtp_ext_find(h, t->d.ext.rrid) : NULL;
    for (unsigned i = 0; i < t->n_producers; i++) {
        producer_t *p = t->producers[i];
        if (mid != NULL ? !ext_equals(pkt, mid, p->d.mid) : (h->pt != p->d.pt && h->pt != p->d.rtx_pt))
            continue;
        for (unsigned e = 0; e < p->src.n_enc; e++) {
            recv_stream_t *s = &p->src.enc[e];
            bool named = s->rid[0] != '\0';
            if (rrid != NULL || (h->pt == p->d.rtx_pt && p->d.rtx_pt != 0)) { /* a repair stream */
                if (s->rtx_ssrc != 0 || (named && !ext_equals(pkt, rrid, s->rid)) || (!named && p->src.n_enc > 1))
                    continue;
                s->rtx_ssrc = h->ssrc;
                return add_ssrc(t, h->ssrc, p, e, true);
            }
            if (h->pt != p->d.pt || s->ssrc != 0 || (named && !ext_equals(pkt, rid, s->rid)) ||
                (!named && p->src.n_enc > 1))
                continue;
            s->ssrc = h->ssrc;
            return add_ssrc(t, h->ssrc, p, e, false);
        }
    }
    return NULL;
}

void transport_on_rtp(transport_t *t, uint8_t *buf, size_t len, uint64_t now_ms)
{
    if (!t->srtp_ready || len < RTP_HEADER_LEN) {
        COUNT(t, drop_srtp);
        return;
    }
    /* The SSRC is in clear: an SSRC beyond what this transport may bind is
     * dropped before libsrtp would create a stream for it. */
    uint32_t ssrc = rtp_get_ssrc(buf);
    transport_ssrc_t *x = find_ssrc(t, ssrc);
    if (x == NULL && t->n_ssrcs == TRANSPORT_MAX_SSRCS) {
        COUNT(t, drop_unknown_ssrc);
        return;
    }
    if (sec_unprotect_rtp(&t->srtp_in, buf, &len) != IRTC_OK) {
        COUNT(t, drop_srtp);
        return;
    }
    t->last_alive_ms = now_ms;
    rtp_hdr_t h;
    if (rtp_parse(buf, len, &h, NULL) != IRTC_OK) {
        COUNT(t, drop_malformed);
        return;
    }
    if (t->twcc_rx != NULL) {
        uint32_t tseq;
        if (rtp_ext_read_be(buf, &h, t->d.ext.twcc, &tseq) == IRTC_OK)
            twcc_recv_packet(t->twcc_rx, (uint16_t)tseq, t->ctx->now_us);
    }
    if (x == NULL || x->p == NULL) {
        transport_ssrc_t *b = bind_ssrc(t, buf, &h);
        if (b == NULL) {
            if (x == NULL)
                add_ssrc(t, ssrc, NULL, 0, false); /* remembered (libsrtp has a stream for it), never bound */
            COUNT(t, drop_unknown_ssrc);
            return;
        }
        x = b;
    }
    producer_t *p = x->p;
    /* libwebrtc hands transport feedback to its congestion controller only
     * when the media SSRC is one it sends (rtcp_receiver.cc): name one. */
    if (t->twcc_rx != NULL && t->twcc_rx->media_ssrc == 0 && !x->rtx)
        t->twcc_rx->media_ssrc = ssrc;
    producer_on_rtp(p, x->enc, x->rtx, buf, len, &h, now_ms);
}

/* ---- RTCP in ---- */

static consumer_t *consumer_of_ssrc(transport_t *t, uint32_t ssrc)
{
    for (unsigned i = 0; i < t->n_consumers; i++)
        if (t->consumers[i]->d.ssrc == ssrc)
            return t->consumers[i];
    return NULL;
}

static void port_note_sr_sent(mx_port_t *p, uint32_t ntp_mid32, uint64_t now_ms)
{
    transport_t *t = of_port(p);
    t->sr_sent[t->sr_sent_next].mid32 = ntp_mid32;
    t->sr_sent[t->sr_sent_next].ms = now_ms;
    t->sr_sent_next = (t->sr_sent_next + 1) % TRANSPORT_SR_SENT_KEPT;
}

/* RTT from a report block about a stream we send (RFC 3550 §6.4.1): the LSR
 * it echoes names one of our sender reports; now − sent − DLSR. */
static void rtt_from_report(transport_t *t, const rtcp_rb_t *rb, uint64_t now_ms)
{
    if (rb->lsr == 0)
        return;
    for (unsigned i = 0; i < TRANSPORT_SR_SENT_KEPT; i++) {
        if (t->sr_sent[i].mid32 != rb->lsr || t->sr_sent[i].ms == 0)
            continue;
        uint64_t dlsr_ms = (uint64_t)rb->dlsr * 1000 / 65536;
        uint64_t elapsed = now_ms - t->sr_sent[i].ms;
        if (elapsed < dlsr_ms)
            return;
        uint32_t rtt = (uint32_t)IRTC_MAX(elapsed - dlsr_ms, (uint64_t)1);
        t->port.rtt_ms = t->port.rtt_ms ? (t->port.rtt_ms * 7 + rtt) / 8 : rtt;
        if (t->cc != NULL)
            gcc_on_rtt(&t->cc->gcc, (uint64_t)rtt * 1000, t->ctx->now_us);
        return;
    }
}

static void on_twcc_feedback(transport_t *t, const rtcp_pkt_t *pkt)
{
    transport_cc_t *cc = t->cc;
    uint64_t now_us = t->ctx->now_us;
    rtcp_twcc_t fb;
    twcc_fb_iter_t it;
    if (rtcp_parse_twcc(pkt, &fb) != IRTC_OK || twcc_send_feedback_begin(&cc->ts, &fb, now_us, &it) != IRTC_OK) {
        COUNT(t, drop_malformed);
        return;
    }
    if (cc->first_fb_ms == 0)
        cc->first_fb_ms = mx_now_ms(t->ctx);
    twcc_result_t res[64];
    size_t n;
    while ((n = twcc_send_feedback_next(&it, res, IRTC_ARRAY_SIZE(res))) > 0)
        gcc_on_packet_results(&cc->gcc, res, n, now_us);
    gcc_on_feedback_done(&cc->gcc, now_us);
    pacer_set_target(&cc->pacer, gcc_target_bps(&cc->gcc), now_us);
}

void transport_on_rtcp(transport_t *t, uint8_t *buf, size_t len, uint64_t now_ms)
{
    if (!t->srtp_ready || len < 8) {
        COUNT(t, drop_srtp);
        return;
    }
    uint32_t sender = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
    if (find_ssrc(t, sender) == NULL) {
        if (t->n_ssrcs == TRANSPORT_MAX_SSRCS) {
            COUNT(t, drop_unknown_ssrc);
            return;
        }
    }
    if (sec_unprotect_rtcp(&t->srtp_in, buf, &len) != IRTC_OK) {
        COUNT(t, drop_srtp);
        return;
    }
    if (find_ssrc(t, sender) == NULL)
        add_ssrc(t, sender, NULL, 0, false); /* its libsrtp stream exists now: count it against the cap */
    t->last_alive_ms = now_ms;
    rtcp_iter_t it;
    rtcp_pkt_t pkt;
    int rc;
    rtcp_iter_init(&it, buf, len);
    while ((rc = rtcp_iter_next(&it, &pkt, NULL)) == 1) {
        if (pkt.pt == 200 || pkt.pt == 201) { /* SR, RR */
            rtcp_report_t r;
            if (rtcp_parse_report(&pkt, &r) != IRTC_OK)
                continue;
            if (r.is_sr) {
                for (unsigned i = 0; i < t->n_producers; i++)
                    producer_on_sender_report(t->producers[i], &r, now_ms);
            }
            for (unsigned i = 0; i < r.rb_count; i++) {
                if (consumer_of_ssrc(t, r.rb[i].ssrc) == NULL)
                    continue;
                rtt_from_report(t, &r.rb[i], now_ms);
                if (t->cc != NULL)
                    gcc_on_receiver_report(&t->cc->gcc, r.rb[i].fraction_lost, t->ctx->now_us);
            }
        } else if (pkt.pt == 205 && pkt.fmt == 1) { /* generic NACK */
            rtcp_fb_t fb;
            consumer_t *c;
            uint16_t seqs[256];
            size_t n = 0;
            if (rtcp_parse_fb(&pkt, &fb) == IRTC_OK && (c = consumer_of_ssrc(t, fb.media_ssrc)) != NULL &&
                rtcp_nack_expand(&pkt, seqs, IRTC_ARRAY_SIZE(seqs), &n) == IRTC_OK)
                consumer_on_nack(c, seqs, n, now_ms);
        } else if (pkt.pt == 205 && pkt.fmt == 15 && t->cc != NULL) { /* transport-wide CC feedback */
            on_twcc_feedback(t, &pkt);
        } else if (pkt.pt == 206 && pkt.fmt == 15 && t->cc != NULL) { /* REMB */
            rtcp_remb_t remb;
            if (rtcp_parse_remb(&pkt, &remb) == IRTC_OK)
                gcc_on_remb(&t->cc->gcc, remb.bitrate_bps, t->ctx->now_us);
        } else if (pkt.pt == 206 && (pkt.fmt == 1 || pkt.fmt == 4)) { /* PLI, FIR */
            rtcp_fb_t fb;
            if (rtcp_parse_fb(&pkt, &fb) != IRTC_OK)
                continue;
            uint32_t target = fb.media_ssrc;
            if (pkt.fmt == 4 && fb.fci_len >= 4)
                target = (uint32_t)fb.fci[0] << 24 | (uint32_t)fb.fci[1] << 16 | (uint32_t)fb.fci[2] << 8 | fb.fci[3];
            consumer_t *c = consumer_of_ssrc(t, target);
            if (c != NULL)
                consumer_on_keyframe_request(c, now_ms);
        }
    }
    if (rc < 0)
        COUNT(t, drop_malformed);
}

/* ---- sending ---- */

static uint8_t *port_tx_buffer(mx_port_t *p)
{
    return p->ready ? tx_reserve(of_port(p)) : NULL;
}

static uint16_t port_on_sending(mx_port_t *p, size_t len, uint8_t flags, uint16_t probe_id)
{
    transport_t *t = of_port(p);
    transport_cc_t *cc = t->cc;
    if (cc == NULL)
        return t->twcc_seq++;
    uint64_t now_us = t->ctx->now_us;
    gcc_on_packet_sent(&cc->gcc, len, now_us);
    uint16_t seq = twcc_send_add(&cc->ts, now_us, len, flags, probe_id);
    t->sent_us = twcc_send_last_time(&cc->ts); /* port_send_rtp hands it to the worker with the packet */
    return seq;
}

uint64_t transport_estimate_bps(const transport_t *t)
{
    return t->cc ? gcc_target_bps(&t->cc->gcc) : 0;
}

/* Handles in the pacer: the consumer's allocator slot, RTX or not, its seq. */
static uint32_t handle_of(const consumer_t *c, uint16_t seq, bool rtx)
{
    return (uint32_t)c->slot << 17 | (uint32_t)rtx << 16 | seq;
}

/* One padding packet for a probe: the newest video a consumer sent, again,
 * as RTX (the receiver drops it as a duplicate; the bytes count for the
 * estimate), or when none can be resent — video paused for longer than the
 * store keeps packets, exactly when a probe must show the link is back — a
 * padding-only RTX packet.  Returns its size, 0 when no consumer can make
 * one (no video with RTX). */
static size_t send_padding(transport_t *t, uint16_t probe_id)
{
    for (unsigned i = 0; i < t->n_consumers; i++) {
        consumer_t *c = t->consumers[(i + probe_id) % t->n_consumers]; /* spread over consumers */
        int seq = consumer_newest_resendable(c);
        if (seq >= 0) {
            size_t n = consumer_send(c, (uint16_t)seq, true, probe_id);
            if (n > 0)
                return n;
        }
    }
    for (unsigned i = 0; i < t->n_consumers; i++) {
        size_t n = consumer_send_padding_only(t->consumers[(i + probe_id) % t->n_consumers], probe_id);
        if (n > 0)
            return n;
    }
    return 0;
}

/* Sends what the pacer releases now. */
static void pace(transport_t *t)
{
    transport_cc_t *cc = t->cc;
    uint64_t now_us = t->ctx->now_us;
    pacer_out_t out;
    for (int guard = 0; guard < 4 * PACER_QUEUE_MAX; guard++) {
        pacer_action_t a = pacer_poll(&cc->pacer, now_us, &out);
        if (a == PACER_IDLE)
            return;
        if (a == PACER_SEND) {
            consumer_t *c = cc->by_slot[out.handle >> 17];
            if (c != NULL)
                consumer_send(c, (uint16_t)out.handle, (out.handle >> 16) & 1, out.probe_id);
        } else if (a == PACER_PAD) {
            pacer_padding_sent(&cc->pacer, send_padding(t, out.probe_id), now_us);
        } /* PACER_DROP: the packet waited too long; a NACK may still fetch it */
    }
}

static void port_queue(mx_port_t *p, consumer_t *c, uint16_t seq, bool rtx, size_t size)
{
    transport_t *t = of_port(p);
    if (!p->ready)
        return;
    transport_cc_t *cc = t->cc;
    if (cc == NULL || c->slot < 0) {
        consumer_send(c, seq, rtx, 0); /* unpaced: a consumer beyond what the allocator holds */
        return;
    }
    pacer_class_t cls = rtx ? PACER_RTX : c->d.kind == CODEC_KIND_AUDIO ? PACER_AUDIO : PACER_VIDEO;
    uint32_t evicted;
    pacer_push(&cc->pacer, handle_of(c, seq, rtx), size + 30, cls, t->ctx->now_us, &evicted);
    pace(t);
}

static void port_send_rtp(mx_port_t *p, uint8_t *buf, size_t len)
{
    transport_t *t = of_port(p);
    uint64_t *sent_us = t->sent_us;
    t->sent_us = NULL;
    if (!p->ready || sec_protect_rtp(&t->srtp_out, buf, &len, ENGINE_TX_CAP) != IRTC_OK)
        return;
    t->ctx->io.tx_commit(t->ctx->io.ctx, &t->remote, len, sent_us);
}

static void port_send_rtcp(mx_port_t *p, uint8_t *buf, size_t len)
{
    transport_t *t = of_port(p);
    if (len == 0 || !p->ready || sec_protect_rtcp(&t->srtp_out, buf, &len, ENGINE_TX_CAP) != IRTC_OK)
        return;
    tx_commit(t, &t->remote, len);
}

static const mx_port_ops_t port_ops = {
    .tx_buffer = port_tx_buffer,
    .send_rtp = port_send_rtp,
    .send_rtcp = port_send_rtcp,
    .queue = port_queue,
    .on_sending = port_on_sending,
    .note_sr_sent = port_note_sr_sent,
};

/* ---- timers ---- */

static void send_feedback(transport_t *t, uint64_t now_ms)
{
    uint64_t now_us = t->ctx->now_us;
    if (t->twcc_rx != NULL && twcc_recv_due(t->twcc_rx, now_us)) {
        for (;;) {
            uint8_t *buf = port_tx_buffer(&t->port);
            size_t n = buf ? twcc_recv_build_feedback(t->twcc_rx, buf, ENGINE_TX_CAP - SEC_MAX_TRAILER, now_us) : 0;
            if (n == 0)
                break;
            port_send_rtcp(&t->port, buf, n);
        }
    }
    if (now_ms - t->last_rr_ms >= TRANSPORT_RR_INTERVAL_MS) {
        t->last_rr_ms = now_ms;
        rtcp_rb_t rbs[RTCP_MAX_RB];
        size_t nrb = 0;
        for (unsigned i = 0; i < t->n_producers; i++)
            for (unsigned e = 0; e < t->producers[i]->src.n_enc && nrb < RTCP_MAX_RB; e++)
                if (t->producers[i]->src.enc[e].seen)
                    rs_fill_report_block(&t->producers[i]->src.enc[e], &rbs[nrb++], now_ms);
        uint8_t *buf = nrb ? port_tx_buffer(&t->port) : NULL;
        if (buf != NULL)
            port_send_rtcp(&t->port, buf,
                           rtcp_build_rr(buf, ENGINE_TX_CAP - SEC_MAX_TRAILER, t->port.rtcp_ssrc, rbs, nrb));
    }
}

/* Gives each consumer the layers its measured encodings allow within the
 * estimate (the allocator), and tells gcc what to probe for. */
static void allocate(transport_t *t, uint64_t now_ms)
{
    transport_cc_t *cc = t->cc;
    uint64_t now_us = t->ctx->now_us, lowest_total = 0;
    for (unsigned i = 0; i < t->n_consumers; i++) {
        consumer_t *c = t->consumers[i];
        if (c->slot < 0)
            continue;
        uint32_t bps[ENGINE_MAX_ENCODINGS] = {0};
        size_t n = 0;
        if (c->src != NULL && !c->src->muted) {
            n = c->src->n_enc;
            for (size_t e = 0; e < n; e++)
                if (rs_active(&c->src->enc[e], now_ms))
                    bps[e] = (uint32_t)IRTC_MIN(rs_bitrate_bps(&c->src->enc[e], now_ms), (uint64_t)UINT32_MAX);
        }
        for (size_t e = 0; e < n; e++)
            if (bps[e]) {
                lowest_total += (uint64_t)bps[e] * (1 + ALLOC_UP_MARGIN) + 1;
                break;
            }
        alloc_set_layers(&cc->alloc, c->slot, bps, n);
        alloc_set_max_layer(&cc->alloc, c->slot, c->pref_max < 0 ? ALLOC_NO_LAYER : c->pref_max);
    }
    uint64_t target = gcc_target_bps(&cc->gcc);
    bool measured =
        cc->gcc.n_probe_results > 0 || (cc->first_fb_ms ? now_ms - cc->first_fb_ms >= TRANSPORT_MEASURED_FB_MS
                                                        : now_ms - cc->created_ms >= TRANSPORT_MEASURED_NOFB_MS);
    uint64_t available = measured ? target : IRTC_MAX(target, lowest_total);
    /* A lossy link (a loss measurement at 2 % or more in the last 5 s: one
     * lucky window of a 3 % link reads 0 %) goes down but not up, except a
     * paused video back to its lowest layer (gcc probes for that): on a
     * policed or shaped link
     * a short probe passes at the shaper's burst rate and reads several
     * times the real capacity, and the step up it invites (a keyframe of
     * the next layer) freezes the picture (measured: 180p -> 720p on a
     * 500 kbit/s link with 3 % loss, then 5 s without a frame). */
    if (cc->gcc.loss.fraction >= TRANSPORT_LOSSY && cc->gcc.loss.last_update_us != 0)
        cc->lossy_until_us = IRTC_MAX(cc->lossy_until_us, cc->gcc.loss.last_update_us + TRANSPORT_LOSSY_US);
    bool lossy = now_us < cc->lossy_until_us;
    if (lossy)
        available = IRTC_MIN(available, IRTC_MAX(cc->alloc.allocated_bps, lowest_total));
    alloc_run(&cc->alloc, available, now_us);
    cc->alloc_target_bps = target;
    cc->last_alloc_ms = now_ms;
    for (unsigned i = 0; i < t->n_consumers; i++) {
        consumer_t *c = t->consumers[i];
        if (c->slot < 0)
            continue;
        int layer = alloc_layer(&cc->alloc, c->slot);
        int limit = alloc_paused(&cc->alloc, c->slot) ? CONSUMER_LIMIT_PAUSED
                    : layer == ALLOC_NO_LAYER         ? CONSUMER_LIMIT_NONE
                                                      : layer;
        consumer_set_allocated_layer(c, limit, now_ms);
    }
    /* While lossy, probe only for what a paused video needs to resume at its
     * lowest layer: a probe for a step up would be read at the shaper's
     * burst rate, and its padding adds loss to a link already losing
     * (measured: a 2.8 s freeze after a switch to a weak link). */
    uint64_t want = alloc_want_bps(&cc->alloc);
    if (lossy)
        want = IRTC_MIN(want, IRTC_MAX(cc->alloc.allocated_bps, lowest_total));
    gcc_set_desired(&cc->gcc, want, now_us);
}

/* The send side's periodic work; returns when it wants to run again (ms). */
static uint64_t cc_on_timer(transport_t *t, uint64_t now_ms)
{
    transport_cc_t *cc = t->cc;
    uint64_t now_us = t->ctx->now_us;
    if (now_ms - cc->last_gcc_ms >= TRANSPORT_GCC_TICK_MS) {
        cc->last_gcc_ms = now_ms;
        gcc_process(&cc->gcc, now_us);
        gcc_probe_t probe;
        while (gcc_next_probe(&cc->gcc, &probe))
            pacer_start_probe(&cc->pacer, probe.id, probe.rate_bps, probe.min_bytes, probe.min_packets, now_us);
        pacer_set_target(&cc->pacer, gcc_target_bps(&cc->gcc), now_us);
    }
    uint64_t target = gcc_target_bps(&cc->gcc);
    double change = cc->alloc_target_bps ? (double)target / (double)cc->alloc_target_bps : 0;
    if (now_ms - cc->last_alloc_ms >= TRANSPORT_ALLOC_TICK_MS || change < 1 - TRANSPORT_ALLOC_CHANGE ||
        change > 1 + TRANSPORT_ALLOC_CHANGE)
        allocate(t, now_ms);
    pace(t);
    uint64_t next_us = pacer_next_us(&cc->pacer, now_us);
    uint64_t next = next_us == UINT64_MAX ? now_ms + TRANSPORT_GCC_TICK_MS : next_us / 1000;
    return IRTC_MIN(IRTC_MAX(next, now_ms + 1), now_ms + TRANSPORT_GCC_TICK_MS);
}

/* The connection as the client would like to know it (network quality):
 * for a transport that receives, what we missed of the client's packets
 * since the last report; for one that sends, the loss and the estimate of
 * our congestion controller. */
static void emit_stats(transport_t *t, uint64_t now_ms)
{
    t->last_stats_ms = now_ms;
    engine_event_t ev = {.type = ENGINE_EV_TRANSPORT_STATS, .id = t->id, .rtt_ms = t->port.rtt_ms};
    if (t->n_consumers == 0) {
        uint64_t lost = 0, received = 0;
        for (unsigned i = 0; i < t->n_producers; i++)
            for (unsigned e = 0; e < t->producers[i]->src.n_enc; e++) {
                const rtp_stats_t *s = &t->producers[i]->src.enc[e].stats;
                lost += rtp_stats_lost(s);
                received += s->received;
            }
        uint64_t dl = lost > t->stats_lost ? lost - t->stats_lost : 0, dr = received - t->stats_received;
        t->stats_lost = lost;
        t->stats_received = received;
        ev.send_side = true;
        ev.loss_permille = dl + dr ? (uint16_t)(dl * 1000 / (dl + dr)) : 0;
    } else if (t->cc != NULL) {
        ev.loss_permille = (uint16_t)IRTC_MIN(1000.0, t->cc->gcc.loss.fraction * 1000.0 + 0.5);
        ev.avail_kbps = (uint32_t)(gcc_target_bps(&t->cc->gcc) / 1000);
    }
    mx_emit(t->ctx, &ev);
}

uint64_t transport_on_timer(transport_t *t, uint64_t now_ms)
{
    uint64_t next = now_ms + TRANSPORT_IDLE_TICK_MS;
    if (t->dtls_next != NULL) { /* a second association being set up (before or after close_notify) */
        if (dtls_conn_next_timeout_ms(t->dtls_next, now_ms) <= now_ms)
            dtls_conn_handle_timeout(t->dtls_next, now_ms);
        if (t->dtls_next != NULL) {
            if (dtls_conn_state(t->dtls_next) == DTLS_STATE_FAILED || t->state == TRANSPORT_FAILED) {
                dtls_conn_free(t->dtls_next);
                t->dtls_next = NULL;
            } else {
                next = IRTC_MIN(next, dtls_conn_next_timeout_ms(t->dtls_next, now_ms));
            }
        }
    }
    if (t->state == TRANSPORT_FAILED || t->state == TRANSPORT_CLOSED)
        return IRTC_MIN(next, now_ms + 1000);
    if (t->dtls != NULL && t->state != TRANSPORT_CONNECTED) {
        if (dtls_conn_next_timeout_ms(t->dtls, now_ms) <= now_ms)
            dtls_conn_handle_timeout(t->dtls, now_ms);
        if (t->state == TRANSPORT_FAILED)
            return now_ms + 1000;
        next = IRTC_MIN(next, dtls_conn_next_timeout_ms(t->dtls, now_ms));
    }
    if (t->state != TRANSPORT_CONNECTED) {
        if (now_ms - t->created_ms > TRANSPORT_CONNECT_TIMEOUT_MS)
            fail(t, "ICE/DTLS did not connect within 30 s");
        return IRTC_MAX(next, now_ms + 1);
    }
    if (now_ms - t->last_alive_ms > TRANSPORT_LIVENESS_TIMEOUT_MS) {
        fail(t, "nothing from the client for 30 s (no media, RTCP or ICE check)");
        return now_ms + 1000;
    }
    if (t->sctp != NULL) {
        if (sctp_assoc_pending(t->sctp))
            sctp_assoc_poll(t->sctp);
        next = IRTC_MIN(next, now_ms + TRANSPORT_SCTP_TICK_MS);
    }
    if (t->n_producers > 0) {
        for (unsigned i = 0; i < t->n_producers; i++)
            producer_on_timer(t->producers[i], now_ms);
        send_feedback(t, now_ms);
        next = IRTC_MIN(next, now_ms + TRANSPORT_PRODUCER_TICK_MS);
    }
    if (t->cc != NULL)
        next = IRTC_MIN(next, cc_on_timer(t, now_ms));
    for (unsigned i = 0; i < t->n_consumers; i++) {
        consumer_t *c = t->consumers[i];
        if (now_ms - c->last_layer_check_ms >= CONSUMER_LAYER_CHECK_MS)
            consumer_update_layer(c, now_ms);
    }
    if (now_ms - t->last_stats_ms >= TRANSPORT_STATS_MS && t->n_producers + t->n_consumers > 0)
        emit_stats(t, now_ms);
    return next;
}

/* ---- membership ---- */

void transport_add_producer(transport_t *t, producer_t *p)
{
    t->producers = xrealloc(t->producers, (t->n_producers + 1) * sizeof(*t->producers));
    t->producers[t->n_producers++] = p;
    for (unsigned e = 0; e < p->src.n_enc; e++) {
        if (p->src.enc[e].ssrc)
            add_ssrc(t, p->src.enc[e].ssrc, p, e, false);
        if (p->src.enc[e].rtx_ssrc)
            add_ssrc(t, p->src.enc[e].rtx_ssrc, p, e, true);
    }
    if (t->d.ext.twcc && t->d.twcc_fb && t->twcc_rx == NULL) {
        t->twcc_rx = xmalloc(sizeof(*t->twcc_rx));
        twcc_recv_init(t->twcc_rx, t->port.rtcp_ssrc, 0);
    }
}

void transport_remove_producer(transport_t *t, producer_t *p)
{
    for (unsigned i = 0; i < t->n_producers; i++) {
        if (t->producers[i] == p) {
            t->producers[i] = t->producers[--t->n_producers];
            break;
        }
    }
    /* Its SSRCs stay counted (libsrtp keeps their streams) but bind nothing. */
    for (unsigned i = 0; i < t->n_ssrcs; i++)
        if (t->ssrcs[i].p == p)
            t->ssrcs[i].p = NULL;
    if (t->twcc_rx != NULL && t->n_producers == 0)
        t->twcc_rx->media_ssrc = 0;
}

void transport_add_consumer(transport_t *t, consumer_t *c)
{
    t->consumers = xrealloc(t->consumers, (t->n_consumers + 1) * sizeof(*t->consumers));
    t->consumers[t->n_consumers++] = c;
    uint64_t now_us = t->ctx->now_us;
    if (t->cc == NULL) {
        t->cc = xcalloc(1, sizeof(*t->cc));
        gcc_config_t cfg = {.transport_cc = t->d.ext.twcc != 0 && t->d.twcc_fb};
        gcc_init(&t->cc->gcc, &cfg, now_us);
        twcc_send_init(&t->cc->ts);
        pacer_init(&t->cc->pacer, gcc_target_bps(&t->cc->gcc), now_us);
        alloc_init(&t->cc->alloc);
        t->cc->created_ms = mx_now_ms(t->ctx);
    }
    /* Main before auxiliary; tile sizes are not known here (all equal). */
    int slot = alloc_add(&t->cc->alloc, c->d.kind == CODEC_KIND_AUDIO, (uint8_t)IRTC_MAX(c->d.priority - 1, 0), 1);
    if (slot >= 0) {
        c->slot = slot;
        t->cc->by_slot[slot] = c;
    }
}

void transport_remove_consumer(transport_t *t, consumer_t *c)
{
    if (t->cc != NULL && c->slot >= 0) {
        alloc_remove(&t->cc->alloc, c->slot);
        t->cc->by_slot[c->slot] = NULL; /* its handles still queued are skipped */
        c->slot = -1;
    }
    for (unsigned i = 0; i < t->n_consumers; i++) {
        if (t->consumers[i] == c) {
            t->consumers[i] = t->consumers[--t->n_consumers];
            return;
        }
    }
}
