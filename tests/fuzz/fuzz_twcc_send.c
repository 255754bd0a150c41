/*
 * fuzz_twcc_send.c — libFuzzer target for media/twcc_send's feedback decoder
 * (what a subscriber sends us) and media/gcc behind it.
 *
 * The first 4 bytes of an input set up the sender: how many packets were
 * sent before (18 bits, so the base sequence number lands anywhere: across
 * the 16-bit wrap, outside the history) and their size.  The rest is read
 * twice: as an RTCP compound (every transport-cc sub-packet goes through
 * rtcp_parse_twcc), and as the FCI of one feedback packet whose base and
 * count come from its first bytes (so the chunk and delta bytes are fuzzed
 * without an RTCP header to get right).
 *
 * Checks: a rejected packet changes nothing but the malformed counter;
 * results are in ascending sequence order inside [base, base + count), only
 * for packets sent, no more than the status count; the iterator never reads
 * past the packet; in-flight bytes never exceed what the history holds;
 * feeding the same packet again yields nothing (everything was reported);
 * gcc fed the results keeps its target within [min, max].
 * Single-threaded; any failed check aborts.
 *
 *   clang -std=gnu11 -g -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_twcc_send.c \
 *       src/media/twcc_send.c src/media/gcc.c src/media/rtp.c src/core/common.c -lm -o fuzz_twcc_send
 *   ./fuzz_twcc_send -max_total_time=60 tests/fuzz/corpus/twcc_send
 */
#include "media/gcc.h"
#include "media/rtp.h"
#include "media/twcc_send.h"
#include "core/bytes.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "fuzz_twcc_send: check failed at line %d: %s\n", __LINE__, #cond);                         \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static twcc_send_t T, SAVED;
static gcc_t G;
static twcc_result_t R[256];

static uint64_t history_bytes(const twcc_send_t *t)
{
    uint64_t sum = 0;
    for (int i = 0; i < TWCC_SEND_HISTORY; i++)
        sum += t->slot[i].size;
    return sum;
}

/* Decodes one feedback packet with every check; returns the results. */
static size_t decode(const rtcp_twcc_t *fb, uint64_t now)
{
    memcpy(&SAVED, &T, sizeof T);
    twcc_fb_iter_t it;
    if (twcc_send_feedback_begin(&T, fb, now, &it) != IRTC_OK) {
        SAVED.n_malformed++;
        CHECK(memcmp(&SAVED, &T, sizeof T) == 0);
        return 0;
    }
    int64_t lo = it.seq, prev = INT64_MIN;
    size_t total = 0, n;
    while ((n = twcc_send_feedback_next(&it, R, 1 + (size_t)(now % IRTC_ARRAY_SIZE(R)))) > 0) {
        for (size_t i = 0; i < n; i++) {
            CHECK(R[i].seq > prev && R[i].seq >= lo && R[i].seq < lo + fb->status_count);
            CHECK(R[i].seq < T.next_seq && R[i].seq >= T.next_seq - TWCC_SEND_HISTORY);
            CHECK(!R[i].recovered || R[i].received);
            prev = R[i].seq;
        }
        total += n;
        CHECK(it.delta_off <= fb->chunks_len && it.chunk_off <= fb->chunks_len);
        gcc_on_packet_results(&G, R, n, now);
    }
    CHECK(total <= fb->status_count);
    CHECK(twcc_send_inflight(&T) <= history_bytes(&T));
    gcc_on_feedback_done(&G, now);
    gcc_process(&G, now);
    CHECK(gcc_target_bps(&G) >= G.cfg.min_bps && gcc_target_bps(&G) <= G.cfg.max_bps);
    gcc_probe_t p;
    while (gcc_next_probe(&G, &p))
        CHECK(p.id != 0 && p.rate_bps > 0 && p.rate_bps <= G.cfg.max_bps);

    /* Everything the packet said is now known: saying it again is news to
     * no one. */
    if (twcc_send_feedback_begin(&T, fb, now + 1, &it) == IRTC_OK)
        CHECK(twcc_send_feedback_next(&it, R, IRTC_ARRAY_SIZE(R)) == 0);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    static const gcc_config_t cfg = {.transport_cc = true};
    twcc_send_init(&T);
    gcc_init(&G, &cfg, 1000000);
    /* The history as after `sent` packets: the last TWCC_SEND_HISTORY of
     * them (sent 500 us apart), so any base, wrapped or not, is cheap. */
    int64_t sent = (int64_t)rd16(data) | (int64_t)(data[2] & 3) << 16;
    int64_t kept = IRTC_MIN(sent, (int64_t)TWCC_SEND_HISTORY);
    size_t psize = 100 + (size_t)data[3] * 5;
    T.next_seq = T.covered_seq = sent - kept;
    for (int64_t s = sent - kept; s < sent; s++) {
        uint64_t at = 1000000 + (uint64_t)s * 500;
        twcc_send_add(&T, at, psize, (uint8_t)(s & 7), (uint16_t)((s >> 4) & 3));
        gcc_on_packet_sent(&G, psize, at);
    }
    data += 4;
    size -= 4;
    uint64_t now = 1000000 + (uint64_t)sent * 500 + 30000;

    rtcp_iter_t it;
    rtcp_pkt_t pkt;
    rtcp_twcc_t fb;
    const char *why = NULL;
    rtcp_iter_init(&it, data, size);
    while (rtcp_iter_next(&it, &pkt, &why) > 0)
        if (rtcp_parse_twcc(&pkt, &fb) == IRTC_OK)
            decode(&fb, now += 50000);

    if (size >= 8) {
        fb = (rtcp_twcc_t){.base_seq = rd16(data),
                           .status_count = rd16(data + 2),
                           .ref_time = (int32_t)rd24(data + 4),
                           .fb_count = data[7],
                           .chunks = data + 8,
                           .chunks_len = size - 8};
        decode(&fb, now += 50000);
    }
    return 0;
}
