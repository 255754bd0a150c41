/*
 * test_engine.c — the media engine driven in memory, no sockets and no
 * worker: two test peers (a publisher and a subscriber) with their own ICE
 * checks, DTLS client and SRTP keys connect to an engine_t whose I/O
 * callbacks queue datagrams.  The publisher sends three simulcast encodings
 * of VP8; the test checks what the subscriber really receives: the highest
 * encoding, a switch to the lowest on request only at its keyframe with the
 * sequence numbers, timestamps and picture ids continuous, NACK answered as
 * RTX only for what was sent, mute, sender-report translation, ICE-lite's
 * answers (none for an unknown ufrag, 401 for a bad integrity), no address
 * takeover, and the per-transport SSRC cap.
 */
#include "core/common.h"
#include "media/consumer.h"
#include "media/dtls.h"
#include "media/engine.h"
#include "media/producer.h"
#include "media/rtp.h"
#include "media/srtp_session.h"
#include "media/stun.h"
#include "media/transport.h"
#include "media/twcc.h"
#include "unit/tap.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

/* ---- the engine's fake world ---- */

#define MAXQ 4096

typedef struct {
    struct sockaddr_in to;
    uint32_t conn; /* the path's TCP connection, 0 = UDP */
    size_t len;
    uint8_t data[ENGINE_TX_CAP];
} dgram_t;

static dgram_t *txq; /* engine → peers */
static size_t n_txq;
static uint8_t tx_slot[ENGINE_TX_CAP];
static uint64_t clock_us = 1000000000;
static engine_event_t events[256];
static size_t n_events;

static uint8_t *io_reserve(void *ctx)
{
    (void)ctx;
    return tx_slot;
}

/* Send times to write when the "batch" leaves (pump or tx_flush), as the
 * worker does after its sendmmsg: under the sanitizer a place freed before
 * that is caught. */
static uint64_t *stamps[MAXQ];
static size_t n_stamps;
static unsigned n_stamped, n_flushes;

static void send_stamps(void)
{
    for (size_t i = 0; i < n_stamps; i++)
        *stamps[i] = clock_us;
    n_stamped += (unsigned)n_stamps;
    n_stamps = 0;
}

static void io_flush(void *ctx)
{
    (void)ctx;
    n_flushes++;
    send_stamps();
}

static void io_commit(void *ctx, const mx_tuple_t *to, size_t len, uint64_t *sent_us)
{
    (void)ctx;
    if (sent_us != NULL && n_stamps < MAXQ)
        stamps[n_stamps++] = sent_us;
    if (n_txq == MAXQ)
        return;
    dgram_t *d = &txq[n_txq++];
    memcpy(&d->to, &to->addr, sizeof(d->to));
    d->conn = to->conn;
    d->len = len;
    memcpy(d->data, tx_slot, len);
}

static unsigned verified_tcp; /* io.verified calls for a TCP path */

static void io_verified(void *ctx, const mx_tuple_t *from)
{
    (void)ctx;
    verified_tcp += from->conn != 0;
}

/* Datagrams queued for p's address on connection conn. */
static size_t queued_to(const struct sockaddr_in *a, uint32_t conn)
{
    size_t n = 0;
    for (size_t i = 0; i < n_txq; i++)
        n += txq[i].to.sin_port == a->sin_port && txq[i].conn == conn;
    return n;
}

static void io_emit(void *ctx, const engine_event_t *ev)
{
    (void)ctx;
    if (n_events < IRTC_ARRAY_SIZE(events))
        events[n_events++] = *ev;
}

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return clock_us;
}

static engine_t *eng;
static engine_stats_t st;

/* ---- a test peer: ICE controlling, DTLS client, SRTP ---- */

typedef struct {
    const char *name;
    struct sockaddr_in addr;
    uint32_t conn; /* sends over this ICE-TCP connection id (0: UDP) */
    char srv_ufrag[32], srv_pwd[48];
    dtls_cert_t *cert;
    dtls_ctx_t *ctx;
    dtls_conn_t *dtls;
    bool connected;
    sec_session_t in, out;
    int stun_success, stun_401;
    /* what arrived */
    struct rx {
        uint32_t ssrc, ts;
        uint16_t seq;
        uint8_t pt, padding;
        size_t len;
        uint8_t payload[1500];
    } rx[2048], rtx[4096];
    size_t n_rx, n_rtx; /* media, and RTX (NACK answers and probe padding) apart */
    int rtcp_pt[256];
    uint32_t rtcp_ssrc[256];
    rtcp_report_t last_sr;
    size_t n_rtcp;
    dgram_t *out_q; /* peer → engine */
    size_t n_out;
    twcc_recv_t twcc; /* a browser's transport-cc feedback on what it receives */
} peer_t;

static peer_t pub, sub, bad; /* bad: a client whose certificate is not the one its offer named */
static const char *server_fp;

static void peer_send_cb(void *user, const uint8_t *data, size_t len)
{
    peer_t *p = user;
    dgram_t *d = &p->out_q[p->n_out++];
    d->len = len;
    memcpy(d->data, data, len);
}

static void peer_connected_cb(void *user, const dtls_srtp_keys_t *k)
{
    peer_t *p = user;
    p->connected =
        sec_session_init(&p->out, k->profile, k->local_key, k->key_len, k->local_salt, k->salt_len, false) == IRTC_OK &&
        sec_session_init(&p->in, k->profile, k->remote_key, k->key_len, k->remote_salt, k->salt_len, true) == IRTC_OK;
}

static void peer_failed_cb(void *user, const char *reason)
{
    peer_t *p = user;
    printf("# %s: DTLS failed: %s\n", p->name, reason);
}

static const dtls_callbacks_t peer_cbs = {peer_send_cb, peer_connected_cb, NULL, peer_failed_cb};

static void peer_init(peer_t *p, const char *name, int port)
{
    memset(p, 0, sizeof(*p));
    p->name = name;
    p->addr.sin_family = AF_INET;
    p->addr.sin_port = htons((uint16_t)port);
    p->addr.sin_addr.s_addr = htonl(0x7f000001);
    snprintf(p->srv_ufrag, sizeof(p->srv_ufrag), "srv%s", name);
    snprintf(p->srv_pwd, sizeof(p->srv_pwd), "password-of-%s-0123456789", name);
    char err[128];
    p->cert = dtls_cert_new(err, sizeof(err));
    p->ctx = dtls_ctx_new(p->cert, NULL, err, sizeof(err));
    p->out_q = xcalloc(MAXQ, sizeof(dgram_t));
    twcc_recv_init(&p->twcc, 0x1234, 0x5555);
}

/* The subscriber's feedback, as a browser sends it every 50 ms. */
static void peer_feedback(peer_t *p)
{
    if (!p->connected || !twcc_recv_due(&p->twcc, clock_us))
        return;
    uint8_t b[1500];
    size_t n;
    while ((n = twcc_recv_build_feedback(&p->twcc, b, 1200, clock_us)) > 0) {
        dgram_t *d = &p->out_q[p->n_out++];
        if (sec_protect_rtcp(&p->out, b, &n, sizeof(b)) != IRTC_OK) {
            p->n_out--;
            continue;
        }
        d->len = n;
        memcpy(d->data, b, n);
    }
}

/* A binding request as a controlling agent sends it (RFC 8445 §7.1.2). */
static size_t stun_request(uint8_t *b, const char *srv_ufrag, const char *pwd, bool use_candidate)
{
    char user[96];
    snprintf(user, sizeof(user), "%s:cli", srv_ufrag);
    size_t ul = strlen(user), n = STUN_HEADER_LEN;
    b[0] = 0x00;
    b[1] = 0x01;
    uint32_t cookie = htonl(STUN_MAGIC_COOKIE);
    memcpy(b + 4, &cookie, 4);
    for (int i = 0; i < STUN_TXID_LEN; i++)
        b[8 + i] = (uint8_t)rand();
    b[n] = 0x00, b[n + 1] = 0x06, b[n + 2] = 0, b[n + 3] = (uint8_t)ul;
    memcpy(b + n + 4, user, ul);
    n += 4 + ((ul + 3) & ~3u);
    b[n] = 0x00, b[n + 1] = 0x24, b[n + 2] = 0, b[n + 3] = 4;
    memset(b + n + 4, 0x6e, 4);
    n += 8;
    if (use_candidate) {
        b[n] = 0x00, b[n + 1] = 0x25, b[n + 2] = 0, b[n + 3] = 0;
        n += 4;
    }
    /* MESSAGE-INTEGRITY over the message with the length counting it. */
    b[2] = (uint8_t)((n - STUN_HEADER_LEN + 24) >> 8);
    b[3] = (uint8_t)(n - STUN_HEADER_LEN + 24);
    unsigned mlen = 0;
    b[n] = 0x00, b[n + 1] = 0x08, b[n + 2] = 0, b[n + 3] = 20;
    HMAC(EVP_sha1(), pwd, (int)strlen(pwd), b, n, b + n + 4, &mlen);
    return n + 24;
}

static void to_engine(peer_t *p, uint8_t *data, size_t len)
{
    mx_tuple_t from = {.len = sizeof(p->addr), .conn = p->conn};
    memcpy(&from.addr, &p->addr, sizeof(p->addr));
    engine_on_packet(eng, data, len, &from, clock_us);
}

static peer_t *peer_of(const struct sockaddr_in *a)
{
    if (a->sin_port == pub.addr.sin_port)
        return &pub;
    if (a->sin_port == sub.addr.sin_port)
        return &sub;
    if (a->sin_port == bad.addr.sin_port)
        return &bad;
    return NULL;
}

static void deliver(peer_t *p, dgram_t *d)
{
    uint8_t *b = d->data;
    size_t len = d->len;
    switch (rtp_classify(b, len)) {
    case RTP_KIND_STUN: {
        stun_msg_t m;
        if (stun_parse(b, len, &m, NULL) == IRTC_OK)
            *(m.cls == STUN_CLASS_SUCCESS ? &p->stun_success : &p->stun_401) += 1;
        break;
    }
    case RTP_KIND_DTLS:
        if (p->dtls)
            dtls_conn_input(p->dtls, b, len);
        break;
    case RTP_KIND_RTP: {
        rtp_hdr_t h;
        if (!p->connected || sec_unprotect_rtp(&p->in, b, &len) != IRTC_OK || rtp_parse(b, len, &h, NULL) != IRTC_OK)
            break;
        uint32_t tseq;
        if (rtp_ext_read_be(b, &h, 4, &tseq) == IRTC_OK)
            twcc_recv_packet(&p->twcc, (uint16_t)tseq, clock_us);
        bool is_rtx = h.ssrc == 0x6666;
        if ((is_rtx ? p->n_rtx : p->n_rx) == (is_rtx ? IRTC_ARRAY_SIZE(p->rtx) : IRTC_ARRAY_SIZE(p->rx)))
            break;
        struct rx *r = is_rtx ? &p->rtx[p->n_rtx++] : &p->rx[p->n_rx++];
        r->ssrc = h.ssrc;
        r->ts = h.ts;
        r->seq = h.seq;
        r->pt = h.pt;
        r->padding = h.padding_len;
        r->len = h.payload_len;
        memcpy(r->payload, b + h.header_len, h.payload_len);
        break;
    }
    case RTP_KIND_RTCP: {
        if (!p->connected || sec_unprotect_rtcp(&p->in, b, &len) != IRTC_OK)
            break;
        rtcp_iter_t it;
        rtcp_pkt_t pkt;
        rtcp_iter_init(&it, b, len);
        while (rtcp_iter_next(&it, &pkt, NULL) == 1 && p->n_rtcp < IRTC_ARRAY_SIZE(p->rtcp_pt)) {
            rtcp_fb_t fb;
            p->rtcp_pt[p->n_rtcp] = pkt.pt == 206 ? 206 + pkt.fmt * 100 : pkt.pt; /* 306 = PLI */
            p->rtcp_ssrc[p->n_rtcp] = 0;
            if ((pkt.pt == 205 || pkt.pt == 206) && rtcp_parse_fb(&pkt, &fb) == IRTC_OK)
                p->rtcp_ssrc[p->n_rtcp] = fb.media_ssrc;
            if (pkt.pt == 200 && rtcp_parse_report(&pkt, &p->last_sr) == IRTC_OK)
                p->rtcp_ssrc[p->n_rtcp] = p->last_sr.ssrc;
            p->n_rtcp++;
        }
        break;
    }
    default:
        break;
    }
}

/* Moves datagrams both ways until nothing is left. */
static void pump(void)
{
    for (int round = 0; round < 64; round++) {
        bool moved = false;
        send_stamps();
        for (size_t i = 0; i < n_txq; i++) {
            peer_t *p = peer_of(&txq[i].to);
            if (p)
                deliver(p, &txq[i]);
            moved = true;
        }
        n_txq = 0;
        peer_t *ps[3] = {&pub, &sub, &bad};
        for (int k = 0; k < 3; k++) {
            for (size_t i = 0; i < ps[k]->n_out; i++)
                to_engine(ps[k], ps[k]->out_q[i].data, ps[k]->out_q[i].len);
            moved |= ps[k]->n_out > 0;
            ps[k]->n_out = 0;
        }
        if (!moved)
            return;
    }
}

static bool sub_silent; /* the liveness test: the subscriber stops sending anything */

static void advance_ms(uint64_t ms)
{
    for (uint64_t i = 0; i < ms; i += 5) {
        clock_us += 5000;
        engine_on_timer(eng, clock_us);
        if (!sub_silent)
            peer_feedback(&sub);
        pump();
    }
}

static void open_transport(uint64_t id, peer_t *p)
{
    engine_cmd_t c = {.type = ENGINE_CMD_TRANSPORT_OPEN, .id = id};
    snprintf(c.u.transport.ufrag, sizeof(c.u.transport.ufrag), "%s", p->srv_ufrag);
    snprintf(c.u.transport.pwd, sizeof(c.u.transport.pwd), "%s", p->srv_pwd);
    snprintf(c.u.transport.remote_fp_alg, sizeof(c.u.transport.remote_fp_alg), "sha-256");
    snprintf(c.u.transport.remote_fp, sizeof(c.u.transport.remote_fp), "%s", dtls_cert_fingerprint(p->cert));
    c.u.transport.ext = (engine_ext_ids_t){.mid = 1, .rid = 2, .rrid = 3, .twcc = 4, .audio_level = 5};
    c.u.transport.twcc_fb = true;
    engine_on_command(eng, &c);
}

static bool connect_peer(peer_t *p)
{
    uint8_t b[256];
    size_t n = stun_request(b, p->srv_ufrag, p->srv_pwd, true);
    to_engine(p, b, n);
    pump();
    const char *why;
    if (dtls_conn_new(p->ctx, DTLS_CLIENT, "sha-256", server_fp, &peer_cbs, p, &p->dtls, &why) != IRTC_OK)
        return false;
    dtls_conn_start(p->dtls, clock_us / 1000);
    pump();
    return p->connected;
}

/* ---- media the publisher sends ---- */

static const uint32_t ENC_SSRC[3] = {1000, 2000, 3000};
static uint16_t enc_seq[3] = {100, 30000, 65500};
static uint32_t enc_ts[3] = {5000, 900000, 4000000000u};
static uint16_t enc_picid[3] = {10, 2000, 32760};

/* One VP8 packet of encoding e with mid "v" and its rid; a keyframe header
 * when key (the start of a frame), else a delta frame start. */
static void send_vp8(int e, bool key, bool new_frame)
{
    static const char *rids[3] = {"q", "h", "f"};
    uint8_t b[1600];
    size_t n = 0;
    b[n++] = 0x90; /* V=2, X=1 */
    b[n++] = 96;
    b[n++] = (uint8_t)(enc_seq[e] >> 8), b[n++] = (uint8_t)enc_seq[e];
    if (new_frame) {
        enc_ts[e] += 3000;
        enc_picid[e] = (uint16_t)((enc_picid[e] + 1) & 0x7fff);
    }
    for (int i = 3; i >= 0; i--)
        b[n++] = (uint8_t)(enc_ts[e] >> (8 * i));
    for (int i = 3; i >= 0; i--)
        b[n++] = (uint8_t)(ENC_SSRC[e] >> (8 * i));
    /* one-byte header extensions: mid=1 "v", rid=2, twcc=4 */
    b[n++] = 0xbe, b[n++] = 0xde, b[n++] = 0, b[n++] = 2;
    b[n++] = 0x10, b[n++] = 'v';
    b[n++] = 0x20, b[n++] = (uint8_t)rids[e][0];
    b[n++] = 0x41, b[n++] = 0, b[n++] = (uint8_t)enc_seq[e];
    b[n++] = 0; /* pad to 8 bytes */
    /* VP8 descriptor: X S, I (15-bit) L */
    b[n++] = 0x90;
    b[n++] = 0xc0;
    b[n++] = (uint8_t)(0x80 | (enc_picid[e] >> 8)), b[n++] = (uint8_t)enc_picid[e];
    b[n++] = 7; /* TL0PICIDX */
    if (key) {
        const uint8_t kf[10] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00};
        memcpy(b + n, kf, sizeof(kf));
        n += sizeof(kf);
    } else {
        b[n++] = 0x31, b[n++] = 0x42, b[n++] = 0x00;
    }
    memset(b + n, e, 200), n += 200;
    enc_seq[e]++;
    if (sec_protect_rtp(&pub.out, b, &n, sizeof(b)) == IRTC_OK)
        to_engine(&pub, b, n);
}

/* One Opus packet of the audio producer (SSRC 7000) carrying the
 * client-to-mixer audio level (RFC 6464, extension id 5) in -dBov. */
static uint16_t opus_seq = 500;

static void send_opus(uint8_t level)
{
    uint16_t seq = opus_seq++;
    static uint32_t ts = 48000;
    uint8_t b[256] = {0x90,
                      111,
                      (uint8_t)(seq >> 8),
                      (uint8_t)seq,
                      (uint8_t)(ts >> 24),
                      (uint8_t)(ts >> 16),
                      (uint8_t)(ts >> 8),
                      (uint8_t)ts,
                      0,
                      0,
                      0x1b,
                      0x58, /* SSRC 7000 */
                      0xbe,
                      0xde,
                      0,
                      1,
                      0x50,
                      level,
                      0,
                      0};
    size_t n = 20;
    memset(b + n, 0x5a, 60), n += 60;
    ts += 960;
    if (sec_protect_rtp(&pub.out, b, &n, sizeof(b)) == IRTC_OK)
        to_engine(&pub, b, n);
}

/* Audio at one level for ms milliseconds, a packet every 20 ms. */
static void talk(uint8_t level, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        send_opus(level);
        advance_ms(20);
    }
}

static size_t count_events(engine_event_type_t type, uint64_t id, size_t from)
{
    size_t k = 0;
    for (size_t i = from; i < n_events; i++)
        k += events[i].type == type && events[i].id == id;
    return k;
}

static const engine_event_t *last_event(engine_event_type_t type, uint64_t id)
{
    for (size_t i = n_events; i-- > 0;)
        if (events[i].type == type && events[i].id == id)
            return &events[i];
    return NULL;
}

static void advance_ms(uint64_t ms);

/* Frames 33 ms apart, as a camera sends them: the subscriber's pacer
 * releases what the estimate allows as time passes. */
static void send_frames(int frames, bool key_first, int only)
{
    for (int f = 0; f < frames; f++) {
        for (int e = 0; e < 3; e++)
            if (only < 0 || only == e)
                send_vp8(e, key_first && f == 0, true);
        advance_ms(35);
    }
}

/* One packet of q from the publisher and 40 ms of timers, with what the
 * engine sends left in txq (not delivered) for the test to look at. */
static void send_q_unpumped(void)
{
    pump();
    send_vp8(0, false, true);
    for (int i = 0; i < 8; i++) {
        clock_us += 5000;
        engine_on_timer(eng, clock_us);
    }
}

static uint16_t rx_picid(const struct rx *r)
{
    return (uint16_t)((r->payload[2] & 0x7f) << 8 | r->payload[3]);
}

static int count_pli(peer_t *p, uint32_t ssrc)
{
    int n = 0;
    for (size_t i = 0; i < p->n_rtcp; i++)
        n += p->rtcp_pt[i] == 306 && p->rtcp_ssrc[i] == ssrc;
    return n;
}

static uint16_t osn(const struct rx *r)
{
    return (uint16_t)(r->payload[0] << 8 | r->payload[1]);
}

/* RTX packets since index from that carry seq, not counting probe padding
 * (which repeats the newest packet). */
static size_t rtx_count(const peer_t *p, size_t from, uint16_t seq)
{
    size_t n = 0;
    for (size_t i = from; i < p->n_rtx; i++)
        n += osn(&p->rtx[i]) == seq;
    return n;
}

static const struct rx *rtx_find(const peer_t *p, size_t from, uint16_t seq)
{
    for (size_t i = from; i < p->n_rtx; i++)
        if (osn(&p->rtx[i]) == seq)
            return &p->rtx[i];
    return NULL;
}

static void send_rtcp_from(peer_t *p, uint8_t *b, size_t n)
{
    if (sec_protect_rtcp(&p->out, b, &n, 1500) == IRTC_OK)
        to_engine(p, b, n);
    advance_ms(5);
}

int main(void)
{
    char err[128];
    txq = xcalloc(MAXQ, sizeof(dgram_t));
    dtls_cert_t *cert = dtls_cert_new(err, sizeof(err));
    server_fp = dtls_cert_fingerprint(cert);
    engine_io_t io = {
        .tx_reserve = io_reserve, .tx_commit = io_commit, .tx_flush = io_flush, .verified = io_verified,
        .emit = io_emit,       .now_us = io_now};
    eng = engine_new(&io, cert, &st);
    peer_init(&pub, "pub", 40001);
    peer_init(&sub, "sub", 40002);

    /* ICE-lite: unknown ufrag → silence; a known one with a bad password → 401 */
    uint8_t b[1500];
    size_t n = stun_request(b, "nobody", "whatever-password-12345", true);
    to_engine(&pub, b, n);
    pump();
    ok(pub.stun_success == 0 && pub.stun_401 == 0 && st.drop_stun_unknown == 1,
       "a check for an unknown ufrag gets no answer");

    open_transport(1, &pub);
    open_transport(2, &sub);
    n = stun_request(b, pub.srv_ufrag, "not-the-password-0000000", true);
    to_engine(&pub, b, n);
    pump();
    ok(pub.stun_401 == 1 && pub.stun_success == 0, "a check with a bad MESSAGE-INTEGRITY gets 401");

    engine_cmd_t c = {.type = ENGINE_CMD_PRODUCER_ADD, .id = 10, .transport_id = 1};
    c.u.producer = (engine_producer_desc_t){.kind = CODEC_KIND_VIDEO,
                                            .codec = CODEC_VP8,
                                            .pt = 96,
                                            .rtx_pt = 97,
                                            .clock_rate = 90000,
                                            .mid = "v",
                                            .nack = true,
                                            .pli = true,
                                            .n_encodings = 3};
    snprintf(c.u.producer.enc[0].rid, 17, "q");
    snprintf(c.u.producer.enc[1].rid, 17, "h");
    snprintf(c.u.producer.enc[2].rid, 17, "f");
    engine_on_command(eng, &c);
    memset(&c, 0, sizeof(c));
    c.type = ENGINE_CMD_CONSUMER_ADD, c.id = 20, c.transport_id = 2;
    c.u.consumer = (engine_consumer_desc_t){.kind = CODEC_KIND_VIDEO,
                                            .producer_id = 10,
                                            .pt = 100,
                                            .rtx_pt = 101,
                                            .ssrc = 0x5555,
                                            .rtx_ssrc = 0x6666,
                                            .mid = "0",
                                            .nack = true,
                                            .pli = true,
                                            .max_layer = -1,
                                            .priority = 2};
    engine_on_command(eng, &c);

    ok(st.transports[TRANSPORT_NEW] == 2 && st.transports[TRANSPORT_CONNECTED] == 0,
       "two new transports counted by state (/metrics irtc_media_transports)");
    ok(connect_peer(&pub), "publisher: ICE check answered, DTLS-SRTP up");
    ok(connect_peer(&sub), "subscriber: ICE check answered, DTLS-SRTP up");
    ok(st.transports[TRANSPORT_NEW] == 0 && st.transports[TRANSPORT_DTLS] == 0 &&
           st.transports[TRANSPORT_CONNECTED] == 2,
       "both counted connected (%llu new, %llu dtls, %llu connected)", (unsigned long long)st.transports[TRANSPORT_NEW],
       (unsigned long long)st.transports[TRANSPORT_DTLS], (unsigned long long)st.transports[TRANSPORT_CONNECTED]);
    int connected = 0;
    for (size_t i = 0; i < n_events; i++)
        connected += events[i].type == ENGINE_EV_TRANSPORT_CONNECTED;
    is_int(connected, 2, "two TRANSPORT_CONNECTED events");

    /* Before any video the first probes have nothing to resend: they are
     * padding-only RTX packets (before, the probe was abandoned — and video
     * paused longer than the store keeps packets could never be probed back). */
    advance_ms(100);
    size_t pad_only = 0;
    for (size_t i = 0; i < sub.n_rtx; i++)
        pad_only += sub.rtx[i].len == 0 && sub.rtx[i].padding == 255 && sub.rtx[i].pt == 101;
    ok(pad_only >= 10 && pad_only == sub.n_rtx,
       "with nothing to resend, a probe sends padding-only RTX packets (%zu of %zu RTX)", pad_only, sub.n_rtx);
    ok(sub.n_rx == 0, "and no media packet before the publisher sends any");

    /* The publisher sends all three encodings; the subscriber gets the top one. */
    send_frames(1, true, -1);
    send_frames(20, false, -1);
    advance_ms(50);
    size_t got = sub.n_rx;
    ok(got >= 20, "the subscriber receives video (%zu packets)", got);
    bool all_top = got > 0;
    for (size_t i = 0; i < got; i++)
        all_top &= sub.rx[i].ssrc == 0x5555 && sub.rx[i].pt == 100 && sub.rx[i].payload[30] == 2;
    ok(all_top, "all of it the top encoding (f), under the subscriber's SSRC and payload type");
    bool seq_ok = true, pic_ok = true;
    for (size_t i = 1; i < got; i++) {
        seq_ok &= (uint16_t)(sub.rx[i].seq - sub.rx[i - 1].seq) == 1;
        pic_ok &= (uint16_t)((rx_picid(&sub.rx[i]) - rx_picid(&sub.rx[i - 1])) & 0x7fff) == 1;
    }
    ok(seq_ok && pic_ok, "sequence numbers and picture ids advance by one");

    /* Ask for the lowest layer: a PLI for q goes out; f keeps flowing until q's keyframe. */
    int pli_q = count_pli(&pub, ENC_SSRC[0]);
    c = (engine_cmd_t){.type = ENGINE_CMD_CONSUMER_LAYER, .id = 20, .layer = 0};
    engine_on_command(eng, &c);
    advance_ms(25); /* the publisher's transport sends the PLI on its next 20 ms timer run */
    ok(count_pli(&pub, ENC_SSRC[0]) == pli_q + 1, "preferring layer 0 asks the publisher for a keyframe of q");
    size_t before = sub.n_rx;
    send_frames(5, false, -1);
    bool still_top = sub.n_rx == before + 5;
    for (size_t i = before; i < sub.n_rx; i++)
        still_top &= sub.rx[i].payload[30] == 2;
    ok(still_top, "until q sends a keyframe the subscriber keeps getting f (%zu)", sub.n_rx - before);
    struct rx last = sub.rx[sub.n_rx - 1];
    before = sub.n_rx;
    send_frames(1, true, 0); /* q's keyframe */
    send_frames(5, false, -1);
    bool low = sub.n_rx == before + 6;
    for (size_t i = before; i < sub.n_rx; i++)
        low &= sub.rx[i].payload[30] == 0;
    ok(low, "from q's keyframe on, only q (%zu packets)", sub.n_rx - before);
    struct rx first = sub.rx[before];
    ok((uint16_t)(first.seq - last.seq) == 1, "the switch continues the sequence (%u → %u)", last.seq, first.seq);
    ok((uint16_t)((rx_picid(&first) - rx_picid(&last)) & 0x7fff) == 1, "and the picture id (%u → %u)", rx_picid(&last),
       rx_picid(&first));
    ok((int32_t)(first.ts - last.ts) > 0 && (int32_t)(first.ts - last.ts) < 90000,
       "and the timestamp moves forward by less than a second (%d)", (int32_t)(first.ts - last.ts));
    ok(st.layer_switches == 1, "one layer switch counted");

    /* NACK: a sent packet comes back as RTX; an unsent one does not. */
    size_t orig = sub.n_rx - 2;
    uint16_t nack_seq = sub.rx[orig].seq;
    n = rtcp_build_nack(b, sizeof(b), 0x1234, 0x5555, (uint16_t[]){nack_seq, (uint16_t)(nack_seq + 500)}, 2);
    before = sub.n_rx;
    size_t rtx_before = sub.n_rtx;
    send_rtcp_from(&sub, b, n);
    ok(sub.n_rx == before && rtx_count(&sub, rtx_before, nack_seq) == 1 &&
           rtx_count(&sub, rtx_before, (uint16_t)(nack_seq + 500)) == 0,
       "a NACK is answered once, as RTX, and only for what was sent");
    const struct rx *rr = rtx_find(&sub, rtx_before, nack_seq);
    ok(rr != NULL && memcmp(rr->payload + 2, sub.rx[orig].payload, sub.rx[orig].len) == 0 &&
           rr->len == sub.rx[orig].len + 2,
       "the RTX carries the original sequence number and the payload as sent");
    rtx_before = sub.n_rtx;
    send_rtcp_from(&sub, b, n);
    ok(rtx_count(&sub, rtx_before, nack_seq) == 0, "the same NACK again within the resend interval gets nothing");

    /* Sender report for q, translated for the subscriber. */
    rtcp_report_t sr = {.ssrc = ENC_SSRC[0], .is_sr = true, .ntp_sec = 3900000000u, .ntp_frac = 0, .rtp_ts = enc_ts[0]};
    n = rtcp_build_sr(b, sizeof(b), &sr);
    size_t rtcp_before = sub.n_rtcp;
    send_rtcp_from(&pub, b, n);
    ok(sub.n_rtcp > rtcp_before && sub.last_sr.ssrc == 0x5555 && sub.last_sr.ntp_sec == 3900000000u,
       "the publisher's SR of q reaches the subscriber under its SSRC");
    size_t last_media = sub.n_rx - 1;
    while (last_media > 0 && sub.rx[last_media].ssrc != 0x5555) /* skip the RTX */
        last_media--;
    ok(sub.last_sr.rtp_ts == sub.rx[last_media].ts, "with the timestamp in the subscriber's timeline (%u vs %u)",
       sub.last_sr.rtp_ts, sub.rx[last_media].ts);

    /* Mute: nothing; unmute: from the next keyframe. */
    c = (engine_cmd_t){.type = ENGINE_CMD_PRODUCER_MUTE, .id = 10, .flag = true};
    engine_on_command(eng, &c);
    before = sub.n_rx;
    send_frames(5, false, -1);
    ok(sub.n_rx == before, "a muted producer forwards nothing");
    c.flag = false;
    engine_on_command(eng, &c);
    send_frames(3, false, -1);
    ok(sub.n_rx == before, "after unmute, nothing until a keyframe");
    send_frames(1, true, 0);
    ok(sub.n_rx == before + 1, "the keyframe resumes it");
    uint16_t resumed = sub.rx[before].seq;
    n = rtcp_build_nack(b, sizeof(b), 0x1234, 0x5555,
                        (uint16_t[]){(uint16_t)(resumed - 1), (uint16_t)(resumed + 1), (uint16_t)(resumed + 2)}, 3);
    advance_ms(100);
    rtx_before = sub.n_rtx;
    send_rtcp_from(&sub, b, n);
    ok(rtx_count(&sub, rtx_before, (uint16_t)(resumed - 1)) == 1 &&
           rtx_count(&sub, rtx_before, (uint16_t)(resumed + 1)) == 0 &&
           rtx_count(&sub, rtx_before, (uint16_t)(resumed + 2)) == 0,
       "a NACK around the muted span gets only packets that were sent");
    /* A NACK for a packet we sent but no longer hold: a keyframe is asked
     * for at once (the subscriber's decoder is stuck until one comes); a
     * NACK for one we never sent asks for nothing. */
    uint16_t never[] = {(uint16_t)(resumed + 500)};
    n = rtcp_build_nack(b, sizeof(b), 0x1234, 0x5555, never, 1);
    advance_ms(1950); /* with the 2 x 25 ms and RS_MAX_AGE_MS below: 4 s, the 2 s stats phase kept */
    int pli_before = count_pli(&pub, ENC_SSRC[0]);
    send_rtcp_from(&sub, b, n);
    advance_ms(25);
    ok(count_pli(&pub, ENC_SSRC[0]) == pli_before, "a NACK for a packet never sent asks for no keyframe");
    advance_ms(RS_MAX_AGE_MS);
    n = rtcp_build_nack(b, sizeof(b), 0x1234, 0x5555, (uint16_t[]){resumed}, 1);
    rtx_before = sub.n_rtx;
    pli_before = count_pli(&pub, ENC_SSRC[0]);
    uint64_t gone_before = st.nack_gone;
    send_rtcp_from(&sub, b, n);
    advance_ms(25);
    ok(rtx_count(&sub, rtx_before, resumed) == 0 && count_pli(&pub, ENC_SSRC[0]) == pli_before + 1 &&
           st.nack_gone == gone_before + 1,
       "a NACK for a packet sent %d ms ago (no longer held): no RTX, a PLI for q at once, counted", RS_MAX_AGE_MS);

    /* A valid check for the subscriber's ufrag from the publisher's address
     * does not move the publisher's address to the subscriber. */
    n = stun_request(b, sub.srv_ufrag, sub.srv_pwd, true);
    to_engine(&pub, b, n);
    pump();
    before = sub.n_rx;
    send_frames(1, false, 0);
    ok(sub.n_rx == before + 1,
       "the publisher's media still reaches its producer after a check naming another transport (%zu)",
       sub.n_rx - before);

    /* ICE-TCP (RFC 6544): the same address and port over a TCP connection
     * is another path.  Media follows the nominated one; a closed
     * connection leaves the transport without a path (nothing is sent, no
     * UDP fallback guessed) until the client's next valid check. */
    sub.conn = 7;
    uint8_t rtp_probe[64];
    n = stun_request(b, sub.srv_ufrag, sub.srv_pwd, false);
    to_engine(&sub, b, n);
    ok(queued_to(&sub.addr, 7) == 1 && verified_tcp == 1, "a check over TCP is answered on its connection and reported verified");
    send_q_unpumped();
    ok(queued_to(&sub.addr, 7) == 0 && queued_to(&sub.addr, 0) > 0, "without nomination media stays on the UDP path");
    n = stun_request(b, sub.srv_ufrag, sub.srv_pwd, true);
    to_engine(&sub, b, n);
    pump();
    send_q_unpumped();
    ok(queued_to(&sub.addr, 7) > 0 && queued_to(&sub.addr, 0) == 0,
       "nominated over TCP: the subscriber's media goes to the connection only (%zu)", queued_to(&sub.addr, 7));
    pump();
    mx_tuple_t gone = {.len = sizeof(sub.addr), .conn = 7};
    memcpy(&gone.addr, &sub.addr, sizeof(sub.addr));
    engine_on_tuple_gone(eng, &gone);
    send_q_unpumped();
    ok(queued_to(&sub.addr, 7) == 0 && queued_to(&sub.addr, 0) == 0, "its connection closed: nothing is sent to it");
    memset(rtp_probe, 0x80, sizeof(rtp_probe));
    to_engine(&sub, rtp_probe, sizeof(rtp_probe));
    ok(st.drop_unknown_source > 0, "and what still comes from that tuple has no transport");
    pump();
    sub.conn = 0;
    n = stun_request(b, sub.srv_ufrag, sub.srv_pwd, true);
    to_engine(&sub, b, n);
    pump();
    before = sub.n_rx;
    send_frames(1, false, 0);
    ok(sub.n_rx == before + 1, "a valid check on UDP brings media back (%zu)", sub.n_rx - before);

    /* Audio level (RFC 6464) → PRODUCER_AUDIO events while speech-loud, one when it stops. */
    c = (engine_cmd_t){.type = ENGINE_CMD_PRODUCER_ADD, .id = 12, .transport_id = 1};
    c.u.producer = (engine_producer_desc_t){
        .kind = CODEC_KIND_AUDIO, .codec = CODEC_OPUS, .pt = 111, .clock_rate = 48000, .mid = "a", .n_encodings = 1};
    c.u.producer.enc[0].ssrc = 7000;
    engine_on_command(eng, &c);
    n_events = 0;
    talk(30, 1000);
    const engine_event_t *lv = last_event(ENGINE_EV_PRODUCER_AUDIO, 12);
    size_t loud = count_events(ENGINE_EV_PRODUCER_AUDIO, 12, 0);
    ok(loud >= 2 && loud <= 4 && lv && lv->active && lv->level == 30,
       "a second of speech at -30 dBov: an active level event per 300 ms window (%zu, level %d)", loud,
       lv ? lv->level : -1);
    size_t mark = n_events;
    talk(90, 1000);
    lv = last_event(ENGINE_EV_PRODUCER_AUDIO, 12);
    size_t quiet = count_events(ENGINE_EV_PRODUCER_AUDIO, 12, mark);
    /* The window the level fell in may still average speech-loud. */
    ok(quiet >= 1 && quiet <= 2 && lv && !lv->active && lv->level > PRODUCER_SPEECH_DBOV,
       "falling to -90 dBov (room noise): one inactive event, then none (%zu, level %d)", quiet, lv ? lv->level : -1);
    mark = n_events;
    advance_ms(1000);
    ok(count_events(ENGINE_EV_PRODUCER_AUDIO, 12, mark) == 0, "no packets: no events");

    /* TRANSPORT_STATS every 2 s: loss of what the publisher sends, the subscriber's estimate. */
    mark = n_events;
    talk(90, 2100);
    const engine_event_t *ps = last_event(ENGINE_EV_TRANSPORT_STATS, 1), *ss = last_event(ENGINE_EV_TRANSPORT_STATS, 2);
    ok(count_events(ENGINE_EV_TRANSPORT_STATS, 1, mark) == 1 && count_events(ENGINE_EV_TRANSPORT_STATS, 2, mark) == 1,
       "one TRANSPORT_STATS per transport in 2.1 s");
    ok(ps && ps->send_side && ps->loss_permille == 0 && ps->avail_kbps == 0,
       "the publisher's: its sending side, nothing lost (%d permille)", ps ? ps->loss_permille : -1);
    ok(ss && !ss->send_side && ss->avail_kbps > 0, "the subscriber's: our sending to it, with the estimate (%u kbps)",
       ss ? ss->avail_kbps : 0);
    mark = n_events;
    opus_seq += 10; /* ten audio packets lost on the way, 100 arrive */
    talk(90, 2000);
    ps = last_event(ENGINE_EV_TRANSPORT_STATS, 1);
    ok(count_events(ENGINE_EV_TRANSPORT_STATS, 1, mark) == 1 && ps && ps->loss_permille >= 80 &&
           ps->loss_permille <= 100,
       "10 of 110 audio packets lost: the next report says %d permille", ps ? ps->loss_permille : -1);
    /* A subscriber re-subscribing with a cap: the consumer is replaced by
     * one preferring layer 0 on the same transport; it gets q from q's next
     * keyframe. */
    c = (engine_cmd_t){.type = ENGINE_CMD_CONSUMER_CLOSE, .id = 20};
    engine_on_command(eng, &c);
    memset(&c, 0, sizeof(c));
    c.type = ENGINE_CMD_CONSUMER_ADD, c.id = 21, c.transport_id = 2;
    c.u.consumer = (engine_consumer_desc_t){.kind = CODEC_KIND_VIDEO,
                                            .producer_id = 10,
                                            .pt = 100,
                                            .rtx_pt = 101,
                                            .ssrc = 0x7777,
                                            .rtx_ssrc = 0x8888,
                                            .mid = "5",
                                            .nack = true,
                                            .pli = true,
                                            .max_layer = 0,
                                            .priority = 2};
    engine_on_command(eng, &c);
    before = sub.n_rx;
    send_frames(1, true, -1);
    send_frames(30, false, -1);
    size_t capped = 0, wrong = 0;
    for (size_t i = before; i < sub.n_rx; i++) {
        capped += sub.rx[i].ssrc == 0x7777 && sub.rx[i].payload[30] == 0;
        wrong += sub.rx[i].ssrc != 0x7777 || sub.rx[i].payload[30] != 0;
    }
    ok(capped >= 30 && wrong == 0, "a consumer replaced by one capped at layer 0 gets q (%zu packets, %zu others)",
       capped, wrong);

    /* ICE restart with a new DTLS association (Chromium, when the m-line
     * that tagged its BUNDLE group is recycled): the client closes the old
     * association as it applies its offer (before the restart reaches the
     * worker), checks with the new credentials from a new port and
     * handshakes again; the media continues under the new keys. */
    dtls_conn_close(sub.dtls); /* close_notify of the old association, before the restart reaches us */
    pump();
    c = (engine_cmd_t){.type = ENGINE_CMD_TRANSPORT_ICE, .id = 2};
    snprintf(sub.srv_ufrag, sizeof(sub.srv_ufrag), "srvsub2");
    snprintf(sub.srv_pwd, sizeof(sub.srv_pwd), "password-of-sub-restarted-01");
    snprintf(c.u.transport.ufrag, sizeof(c.u.transport.ufrag), "%s", sub.srv_ufrag);
    snprintf(c.u.transport.pwd, sizeof(c.u.transport.pwd), "%s", sub.srv_pwd);
    engine_on_command(eng, &c);
    dtls_conn_free(sub.dtls);
    sub.dtls = NULL;
    sec_session_dispose(&sub.in);
    sec_session_dispose(&sub.out);
    sub.connected = false;
    sub.addr.sin_port = htons(40012);
    ok(connect_peer(&sub), "after an ICE restart the subscriber connects a new DTLS association from a new port");
    before = sub.n_rx;
    send_frames(1, true, -1);
    send_frames(10, false, -1);
    ok(sub.n_rx >= before + 10, "and receives the video under the new keys (%zu packets)", sub.n_rx - before);

    /* Chromium may close that association too (another renegotiation) and
     * start a third with no ICE restart: the close_notify must close the
     * transport's association so that the next ClientHello is taken.  (The
     * association that came up beside the old one used to keep the
     * restart's callbacks: its close was logged as a failed restart, and
     * every later ClientHello went to the closed association.) */
    uint64_t dtls_drops0 = st.drop_dtls;
    dtls_conn_close(sub.dtls);
    pump();
    dtls_conn_free(sub.dtls);
    sub.dtls = NULL;
    sec_session_dispose(&sub.in);
    sec_session_dispose(&sub.out);
    sub.connected = false;
    ok(connect_peer(&sub), "after it closes the new association too, a third one connects (%llu DTLS records dropped)",
       (unsigned long long)(st.drop_dtls - dtls_drops0));
    before = sub.n_rx;
    send_frames(1, true, -1);
    send_frames(10, false, -1);
    ok(sub.n_rx >= before + 10, "and the video goes on under its keys (%zu packets)", sub.n_rx - before);

    /* SSRC cap: a flood of new SSRCs stops being unprotected at the cap. */
    uint64_t unknown0 = st.drop_unknown_ssrc;
    for (uint32_t s = 0; s < 60; s++) {
        uint8_t p[256] = {0x80, 96, 0, 1, 0, 0, 0, 1};
        uint32_t ssrc = 777000 + s;
        p[8] = (uint8_t)(ssrc >> 24), p[9] = (uint8_t)(ssrc >> 16), p[10] = (uint8_t)(ssrc >> 8), p[11] = (uint8_t)ssrc;
        size_t pn = 20;
        if (sec_protect_rtp(&pub.out, p, &pn, sizeof(p)) == IRTC_OK)
            to_engine(&pub, p, pn);
    }
    ok(st.drop_unknown_ssrc - unknown0 == 60, "60 unbindable SSRCs are all dropped (%llu)",
       (unsigned long long)(st.drop_unknown_ssrc - unknown0));
    before = sub.n_rx;
    send_frames(1, false, 0);
    ok(sub.n_rx == before + 1, "the known SSRCs keep working at the cap (%zu)", sub.n_rx - before);

    /* A DTLS handshake that fails after ICE (the client's certificate is not
     * the fingerprint its offer named) is counted. */
    peer_init(&bad, "bad", 40003);
    open_transport(3, &bad);
    dtls_cert_t *other = dtls_cert_new(err, sizeof(err));
    dtls_ctx_free(bad.ctx);
    bad.ctx = dtls_ctx_new(other, NULL, err, sizeof(err));
    bool bad_connected = connect_peer(&bad);
    dtls_cert_free(other); /* bad.ctx's SSL_CTX keeps its own reference */
    ok(!bad_connected && st.dtls_handshake_failures == 1 && st.transports[TRANSPORT_FAILED] == 1,
       "a DTLS handshake failure is counted (%llu) and its transport counted failed (%llu)",
       (unsigned long long)st.dtls_handshake_failures, (unsigned long long)st.transports[TRANSPORT_FAILED]);
    c = (engine_cmd_t){.type = ENGINE_CMD_TRANSPORT_CLOSE, .id = 3};
    engine_on_command(eng, &c);
    ok(st.transports[TRANSPORT_FAILED] == 0, "a closed transport is no longer counted");

    /* Deferred fan-out (the worker's mode): the publisher's packets are
     * stored at once and reach the subscriber at engine_fanout, in order. */
    pump();
    engine_set_deferred_fanout(eng, true);
    size_t held_before = sub.n_rx;
    for (int f = 0; f < 3; f++)
        for (int e = 0; e < 3; e++)
            send_vp8(e, false, true);
    pump();
    ok(sub.n_rx == held_before, "deferred fan-out: nothing reaches the subscriber before engine_fanout (%zu)",
       sub.n_rx - held_before);
    engine_fanout(eng);
    pump();
    bool held_order = sub.n_rx == held_before + 3;
    for (size_t i = held_before + 1; held_order && i < sub.n_rx; i++)
        held_order = (uint16_t)(sub.rx[i].seq - sub.rx[i - 1].seq) == 1;
    ok(held_order, "at engine_fanout the three packets go out, in order (%zu)", sub.n_rx - held_before);
    engine_set_deferred_fanout(eng, false);

    /* Liveness: 31 s of silence from the subscriber fails it. */
    n_events = 0;
    sub_silent = true;
    for (int i = 0; i < 31; i++) {
        send_frames(1, false, 0); /* the publisher stays alive */
        advance_ms(1000);
    }
    bool sub_failed = false, pub_failed = false;
    for (size_t i = 0; i < n_events; i++) {
        sub_failed |= events[i].type == ENGINE_EV_TRANSPORT_FAILED && events[i].id == 2;
        pub_failed |= events[i].type == ENGINE_EV_TRANSPORT_FAILED && events[i].id == 1;
    }
    ok(sub_failed && !pub_failed, "30 s of silence fails the silent transport only");

    ok(n_stamped > 0, "RTP sent to a subscriber leaves a place for its real send time (%u written)", n_stamped);
    c = (engine_cmd_t){.type = ENGINE_CMD_TRANSPORT_CLOSE, .id = 1};
    engine_on_command(eng, &c);
    unsigned flushes = n_flushes;
    c.id = 2;
    engine_on_command(eng, &c);
    ok(n_flushes > flushes && n_stamps == 0,
       "closing a subscriber transport sends the batch first: no send time can be written into freed memory");
    ok(engine_transport_count(eng) == 0, "transports close");
    uint64_t counted = 0;
    for (size_t k = 0; k < IRTC_ARRAY_SIZE(st.transports); k++)
        counted += st.transports[k];
    ok(counted == 0, "no transport counted in any state once all are closed");
    engine_free(eng);
    dtls_cert_free(cert);
    return done_testing();
}
