/*
 * client_p2p.c — the client core's transport against a peer that is not
 * irtcd (driven by test_client_aiortc.py): two PeerConnections offered
 * directly to the peer, one receiving (audio + video) and one sending
 * (Opus-shaped audio).  Line protocol on stdin/stdout, one JSON object per
 * line:
 *   out: {"recv":OFFER,"send":OFFER}
 *   in:  {"recv":ANSWER,"send":ANSWER}
 *   out: {"recv_connected":b,"send_connected":b,"packets":n,"lost":n,
 *         "srtp_failed":n,"rr_twcc":n,"nacks":n,"sent":n,"profile":n}  after SECONDS
 * Every wait is bounded.   client_p2p SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/loop.h"
#include "client/offer.h"
#include "client/source.h"
#include "client/transport.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/json.h"

typedef struct {
    int connected, failed;
} st_t;

static void on_connected(void *u)
{
    ((st_t *)u)->connected = 1;
}
static void on_failed(void *u, const char *why)
{
    ((st_t *)u)->failed = 1;
    fprintf(stderr, "client_p2p: transport failed: %s\n", why);
}
static const ic_transport_callbacks_t cbs = {on_connected, on_failed, NULL, NULL};

static void offer(ic_loop_t *l, ic_transport_t *t, bool send, uint32_t audio_ssrc, buf_t *out)
{
    ic_offer_t o;
    memset(&o, 0, sizeof(o));
    char ip[46];
    uint16_t port;
    ic_transport_local(t, ip, &port);
    o.audio = true;
    o.video = !send;
    o.send = send;
    o.audio_ssrc = audio_ssrc;
    o.n_layers = 1;
    o.ufrag = ic_transport_ufrag(t);
    o.pwd = ic_transport_pwd(t);
    o.fingerprint = ic_loop_fingerprint(l);
    o.cname = "p2pcname";
    o.cand_ip = ip;
    o.cand_port = port;
    o.session_id = 4242;
    ic_offer_write(out, &o);
}

typedef struct {
    ic_transport_t *t;
    int track;
} emit_ctx_t;

static void emit(void *u, int layer, uint32_t ts, bool marker, const uint8_t *p, size_t len)
{
    emit_ctx_t *e = u;
    if (layer < 0)
        ic_transport_send_media(e->t, (unsigned)e->track, ts, marker, p, len);
}

int main(int argc, char **argv)
{
    unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 4;
    char err[256];
    ic_loop_t *l = ic_loop_new(NULL, err, sizeof(err));
    if (l == NULL) {
        fprintf(stderr, "client_p2p: %s\n", err);
        return 1;
    }
    st_t srecv = {0}, ssend = {0};
    ic_transport_t *tr = ic_transport_new(l, "127.0.0.1", 1, &cbs, &srecv);
    ic_transport_t *ts = ic_transport_new(l, "127.0.0.1", 1, &cbs, &ssend);
    uint32_t ssrc;
    crypto_random(&ssrc, sizeof(ssrc));
    int track = ic_transport_add_send(ts, false, ssrc, NULL);
    buf_t a, b, line;
    buf_init(&a);
    buf_init(&b);
    buf_init(&line);
    offer(l, tr, false, 0, &a);
    offer(l, ts, true, ssrc, &b);
    buf_puts(&line, "{\"recv\":");
    json_write_string(&line, a.base);
    buf_puts(&line, ",\"send\":");
    json_write_string(&line, b.base);
    buf_puts(&line, "}\n");
    fputs(line.base, stdout);
    fflush(stdout);

    static char in[256 * 1024];
    if (fgets(in, sizeof(in), stdin) == NULL)
        return 1;
    json_value_t *v = json_parse(in, strlen(in), NULL, NULL);
    const char *ra = json_string(json_get(v, "recv")), *sa = json_string(json_get(v, "send")), *why = "no answer";
    ic_answer_t ar, as;
    if (ra == NULL || sa == NULL || ic_answer_parse(ra, strlen(ra), &ar, &why) != IRTC_OK ||
        ic_answer_parse(sa, strlen(sa), &as, &why) != IRTC_OK) {
        fprintf(stderr, "client_p2p: bad answer: %s\n", why);
        return 1;
    }
    ic_transport_start(tr, &ar, true);
    ic_transport_start(ts, &as, true);
    ic_publish_opts_t po = {.audio = true};
    ic_source_t *src = ic_source_new(&po, clock_mono_us(), &why);
    emit_ctx_t ec = {ts, track};
    uint64_t end = clock_mono_ms() + seconds * 1000u;
    while (clock_mono_ms() < end) {
        ic_loop_run(l, 5);
        if (ic_transport_connected(ts))
            ic_source_run(src, ic_loop_now_us(l), emit, &ec);
    }
    ic_recv_stats_t rx = {0};
    ic_send_stats_t tx = {0};
    ic_transport_add_stats(tr, &rx, NULL);
    ic_transport_add_stats(ts, NULL, &tx);
    printf("{\"recv_connected\":%s,\"send_connected\":%s,\"packets\":%llu,\"lost\":%llu,\"srtp_failed\":%llu,"
           "\"twcc\":%llu,\"nacks\":%llu,\"sent\":%llu,\"profile\":%d}\n",
           srecv.connected ? "true" : "false", ssend.connected ? "true" : "false", (unsigned long long)rx.packets,
           (unsigned long long)rx.lost, (unsigned long long)rx.srtp_failed, (unsigned long long)rx.twcc_sent,
           (unsigned long long)rx.nacks_sent, (unsigned long long)tx.packets, ic_transport_srtp_profile(tr));
    fflush(stdout);
    json_free(v);
    ic_source_free(src);
    ic_transport_free(tr);
    ic_transport_free(ts);
    ic_loop_run(l, 0);
    ic_loop_free(l);
    buf_dispose(&a);
    buf_dispose(&b);
    buf_dispose(&line);
    return 0;
}
