/*
 * fuzz_twcc.c — libFuzzer target for the sequence numbers a publisher's
 * packets carry, as media/twcc (transport-wide CC feedback) and media/nack
 * (the NACK generator) see them.  The input is a list of (sequence step,
 * arrival step, cap) triples; every few packets feedback is built with the
 * input's cap and must keep twcc.h's promises: within the cap, a multiple of
 * 4, never nothing while packets are pending and the cap is at least
 * TWCC_FEEDBACK_MIN_LEN, valid RTCP our own parser reads back with the base
 * and count that cover exactly what was pending.  NACK requests must be
 * sequence numbers not received, packed into valid RTCP.
 * Single-threaded; a failed check aborts.
 */
#include "media/nack.h"
#include "media/rtp.h"
#include "media/twcc.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <string.h>

static twcc_recv_t tw;
static nack_gen_t ng;
/* Received sequence numbers of the last 2^16, unwrapped as nack.c does:
 * slots ahead of the newest are cleared as it moves. */
static uint8_t seen[65536 / 8];
static int64_t newest;

static void mark_seen(uint16_t seq, bool first)
{
    int64_t s = first ? seq : newest + (int16_t)(uint16_t)(seq - (uint16_t)newest);
    if (first || s > newest) {
        for (int64_t x = first ? s : newest + 1; x < s && x <= newest + 65536; x++)
            seen[(x & 0xFFFF) >> 3] &= (uint8_t) ~(1u << (x & 7));
        newest = s;
    }
    seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
}

static void check_feedback(size_t cap, uint64_t now_us)
{
    uint8_t buf[TWCC_FEEDBACK_MAX_LEN + 64];
    for (int guard = 0; guard < 10000; guard++) {
        size_t pending = twcc_recv_pending(&tw);
        uint16_t base = (uint16_t)tw.next_seq;
        size_t len = twcc_recv_build_feedback(&tw, buf, cap, now_us);
        if (len == 0) {
            CHECK(pending == 0 || cap < TWCC_FEEDBACK_MIN_LEN);
            return;
        }
        CHECK(len <= IRTC_MIN(cap, (size_t)TWCC_FEEDBACK_MAX_LEN) && len % 4 == 0);
        CHECK(rtcp_validate(buf, len, NULL) == IRTC_OK);
        rtcp_iter_t it;
        rtcp_pkt_t pkt;
        rtcp_twcc_t fb;
        rtcp_iter_init(&it, buf, len);
        CHECK(rtcp_iter_next(&it, &pkt, NULL) == 1 && pkt.len == len);
        CHECK(rtcp_parse_twcc(&pkt, &fb) == IRTC_OK);
        CHECK(fb.base_seq == base && fb.status_count >= 1 && fb.status_count <= pending);
        CHECK(twcc_recv_pending(&tw) == pending - fb.status_count);
    }
    CHECK(!"feedback never drained");
}

static void check_nack(uint64_t now_ms)
{
    uint16_t seqs[512];
    size_t n = nack_gen_collect(&ng, now_ms, 20, seqs, IRTC_ARRAY_SIZE(seqs));
    CHECK(n <= IRTC_ARRAY_SIZE(seqs));
    for (size_t i = 0; i < n; i++)
        CHECK(!(seen[seqs[i] >> 3] & (1u << (seqs[i] & 7))));
    size_t done = 0;
    while (done < n) {
        uint8_t out[1200];
        size_t used = 0, len = nack_build_rtcp(out, sizeof(out), 1, 2, seqs + done, n - done, &used);
        CHECK(len >= 16 && used > 0 && used <= n - done && rtcp_validate(out, len, NULL) == IRTC_OK);
        done += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in(data, size);
    twcc_recv_init(&tw, 1, 2);
    nack_gen_init(&ng);
    memset(seen, 0, sizeof(seen));
    uint16_t seq = fuzz_u16(&in);
    uint64_t now_us = 1000000;
    for (int k = 0; in.left > 0; k++) {
        /* Mostly small forward steps, sometimes reordering or a jump. */
        int8_t step = (int8_t)fuzz_u8(&in);
        uint8_t dt = fuzz_u8(&in), capsel = fuzz_u8(&in);
        seq = (uint16_t)(seq + (step == -128 ? 20000 : step));
        now_us += (uint64_t)dt * (capsel & 0x80 ? 4000 : 100);
        twcc_recv_packet(&tw, seq, now_us);
        int64_t before = ng.highest;
        nack_gen_packet(&ng, seq, now_us / 1000);
        /* A jump back past NACK_RESET_AGE restarts the generator on the new
         * numbering: what came before is another stream to it. */
        bool restarted = k > 0 && ng.highest < before;
        if (restarted)
            memset(seen, 0, sizeof(seen));
        mark_seen(seq, k == 0 || restarted);
        if (k % 8 == 7 || twcc_recv_due(&tw, now_us)) {
            /* Small caps take one packet per call: keep them rarer, or long
             * losses make an input slow (each call walks the lost run). */
            size_t cap = (capsel & 0x60) == 0x60 ? TWCC_FEEDBACK_MIN_LEN + (capsel & 0x1F) : 1 + (size_t)capsel * 5;
            check_feedback(cap, now_us);
            check_nack(now_us / 1000);
        }
    }
    check_feedback(TWCC_FEEDBACK_MIN_LEN, now_us);
    CHECK(twcc_recv_pending(&tw) == 0);
    return 0;
}
