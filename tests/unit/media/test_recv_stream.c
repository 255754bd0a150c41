/*
 * test_recv_stream.c — media/recv_stream: the per-layer bitrate the
 * allocator splits a subscriber's estimate with counts what the layer
 * carries, not the sender's bandwidth probes (retransmissions of packets
 * already received, padding-only packets); a gap repaired by a
 * retransmission does count.  Single-threaded.
 */
#include "media/recv_stream.h"

#include "core/common.h"
#include "media/codecs/codec.h"
#include "unit/tap.h"

static rtp_hdr_t hdr(uint16_t seq, size_t payload)
{
    return (rtp_hdr_t){.seq = seq, .ts = (uint32_t)seq * 3000u, .payload_len = (uint16_t)payload};
}

int main(void)
{
    recv_stream_t s;
    rs_init(&s, CODEC_KIND_VIDEO, CODEC_VP8, 90000, true, 64);
    /* 1 s of a 400 kbit/s layer: 50 packets of 1,000 bytes, 20 ms apart. */
    uint64_t t = 1000000;
    for (uint16_t i = 0; i < 50; i++, t += 20) {
        rtp_hdr_t h = hdr((uint16_t)(100 + i), 980);
        rs_on_packet(&s, &h, 1000, t);
    }
    uint64_t media = rs_bitrate_bps(&s, t);
    ok(media >= 340000 && media <= 420000,
       "50 packets of 1,000 bytes in 1 s: about 400 kbit/s, one 100 ms bin aside (%llu)", (unsigned long long)media);

    /* A probe as Chromium sends it: every packet of the last second again
     * (RTX of old packets, unwrapped), within the same second. */
    uint64_t p = t - 990;
    for (uint16_t i = 0; i < 50; i++, p += 19) {
        rtp_hdr_t dup = hdr((uint16_t)(100 + i), 980);
        rs_on_packet(&s, &dup, 1000, p);
    }
    uint64_t after = rs_bitrate_bps(&s, t);
    ok(after == media, "retransmitted copies of received packets do not count (%llu)", (unsigned long long)after);
    rtp_hdr_t pad = hdr(150, 0);
    rs_on_packet(&s, &pad, 1200, t);
    ok(rs_bitrate_bps(&s, t) == media, "a padding-only packet does not count");

    /* A gap repaired by retransmission: the repaired packet is media. */
    rtp_hdr_t next = hdr(152, 980);
    rs_on_packet(&s, &next, 1000, t + 20);
    uint64_t before_repair = rs_bitrate_bps(&s, t + 20);
    rtp_hdr_t repaired = hdr(151, 980);
    rs_on_packet(&s, &repaired, 1000, t + 30);
    ok(rs_bitrate_bps(&s, t + 30) > before_repair, "a retransmission that fills a gap counts");
    rs_dispose(&s);
    return done_testing();
}
