/*
 * test_producer.c — a producer's recording taps: the first tap starts at a
 * keyframe, a tap added later does not cut the ones already fed, every tap
 * gets each packet once, and a keyframe is asked for when a tap is added.
 * The producer runs with a port of our own that records the RTCP it sends.
 */
#include "core/common.h"
#include "core/spsc_ring.h"
#include "media/producer.h"
#include "media/rtp.h"
#include "unit/tap.h"
#include <string.h>

static engine_stats_t stats;
static mx_ctx_t ctx = {.stats = &stats};
static uint8_t txbuf[ENGINE_TX_CAP];
static unsigned plis;

static uint8_t *port_tx_buffer(mx_port_t *p)
{
    (void)p;
    return txbuf;
}

static void port_send_rtcp(mx_port_t *p, uint8_t *buf, size_t len)
{
    (void)p;
    if (len >= 2 && buf[1] == 206 && (buf[0] & 0x1f) == 1) /* PSFB, FMT 1: PLI */
        plis++;
}

static const mx_port_ops_t ops = {.tx_buffer = port_tx_buffer, .send_rtcp = port_send_rtcp};
static mx_port_t port = {.ops = &ops, .ctx = &ctx, .ready = true, .rtcp_ssrc = 1};

#define SSRC 0x1234u
#define PT 96

/* One VP8 packet (RFC 7741 descriptor, S bit, a frame header): a keyframe
 * carries the 3-byte start code and a 640x360 size. */
static void send_vp8(producer_t *p, uint16_t seq, bool key, uint64_t now_ms)
{
    uint8_t pkt[64] = {0x80, PT};
    pkt[2] = (uint8_t)(seq >> 8);
    pkt[3] = (uint8_t)seq;
    uint32_t ts = (uint32_t)seq * 3000;
    pkt[4] = (uint8_t)(ts >> 24), pkt[5] = (uint8_t)(ts >> 16), pkt[6] = (uint8_t)(ts >> 8), pkt[7] = (uint8_t)ts;
    pkt[8] = SSRC >> 24, pkt[9] = (SSRC >> 16) & 0xff, pkt[10] = (SSRC >> 8) & 0xff, pkt[11] = SSRC & 0xff;
    pkt[1] |= 0x80; /* marker: one packet per frame */
    uint8_t *pl = pkt + 12;
    pl[0] = 0x10;                  /* S=1, partition 0 */
    pl[1] = key ? 0x00 : 0x01;     /* frame tag: P bit clear on a keyframe */
    pl[2] = 0x00, pl[3] = 0x00;
    if (key) {
        pl[4] = 0x9d, pl[5] = 0x01, pl[6] = 0x2a;
        pl[7] = 640 & 0xff, pl[8] = 640 >> 8, pl[9] = 360 & 0xff, pl[10] = 360 >> 8;
    }
    size_t len = 12 + 32;
    rtp_hdr_t h;
    if (rtp_parse(pkt, len, &h, NULL) != IRTC_OK) {
        ok(false, "test packet %u does not parse", seq);
        return;
    }
    producer_on_rtp(p, 0, false, pkt, len, &h, now_ms);
}

static unsigned drain(spsc_ring_t *r)
{
    unsigned n = 0;
    while (spsc_ring_peek(r) != NULL) {
        spsc_ring_pop(r);
        n++;
    }
    return n;
}

int main(void)
{
    engine_producer_desc_t d = {.kind = CODEC_KIND_VIDEO, .codec = CODEC_VP8, .pt = PT, .clock_rate = 90000,
                                .nack = true, .pli = true, .n_encodings = 1};
    d.enc[0].ssrc = SSRC;
    producer_t *p = producer_new(&port, 7, &d);
    uint64_t now = 1000000;
    uint16_t seq = 100;
    send_vp8(p, seq++, true, now++);
    send_vp8(p, seq++, false, now++);

    spsc_ring_t *rec = spsc_ring_new(256), *snap = spsc_ring_new(256);
    spsc_ring_ref(rec);
    spsc_ring_ref(snap);

    unsigned plis0 = plis;
    producer_add_tap(p, rec, now);
    ok(plis == plis0 + 1, "adding a tap asks the publisher for a keyframe (%u PLI)", plis - plis0);
    send_vp8(p, seq++, false, now++);
    ok(drain(rec) == 0, "the first tap gets nothing before a keyframe");
    send_vp8(p, seq++, true, now++);
    send_vp8(p, seq++, false, now++);
    ok(drain(rec) == 2, "from the keyframe on it gets every packet");

    /* A snapshot of the same publisher starts while the recording runs. */
    now += 200; /* past the forced-PLI spacing */
    plis0 = plis;
    producer_add_tap(p, snap, now);
    ok(plis == plis0 + 1, "a second tap asks for a keyframe too");
    unsigned before = 0;
    for (int i = 0; i < 10; i++)
        send_vp8(p, seq++, false, now++);
    before = drain(rec);
    ok(before == 10, "the running recording keeps getting every packet after a second tap is added (%u of 10)", before);
    ok(drain(snap) == 10, "the new tap gets them too (its recorder waits for the keyframe itself)");
    send_vp8(p, seq++, true, now++);
    ok(drain(rec) == 1 && drain(snap) == 1, "and the keyframe reaches both");

    producer_remove_tap(p, snap);
    send_vp8(p, seq++, false, now++);
    ok(drain(rec) == 1 && drain(snap) == 0, "a removed tap gets nothing more; the other goes on");

    /* All taps gone, then a new first tap: it starts over at a keyframe. */
    producer_remove_tap(p, rec);
    spsc_ring_t *again = spsc_ring_new(256);
    spsc_ring_ref(again);
    now += 200;
    producer_add_tap(p, again, now);
    send_vp8(p, seq++, false, now++);
    ok(drain(again) == 0, "a first tap after all were removed waits for a keyframe again");
    send_vp8(p, seq++, true, now++);
    ok(drain(again) == 1, "and starts with it");

    producer_free(p);
    spsc_ring_unref(rec);
    spsc_ring_unref(snap);
    spsc_ring_unref(again);
    return done_testing();
}
