/*
 * test_nack.c — media/nack: when the generator asks for which packets
 * (reordering allowance, retries every max(rtt, 20 ms), give-up after 10,
 * recovery, 16-bit wrap, keyframe on too many missing, sequence restart);
 * NACK packets against hand-computed bytes and an unpacker written here
 * from RFC 4585 §6.2.1; the retransmission buffer on exact-size storage so
 * ASan catches any overrun.
 */
#include "media/nack.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "media/rtp.h"
#include "unit/tap.h"

static nack_gen_t G;

static bool collect_is(uint64_t now, uint64_t rtt, const uint16_t *want, size_t n_want)
{
    uint16_t got[NACK_MAX_MISSING];
    size_t n = nack_gen_collect(&G, now, rtt, got, NACK_MAX_MISSING);
    bool same = n == n_want && (n == 0 || memcmp(got, want, n * sizeof got[0]) == 0);
    if (!same) {
        printf("# at %llu got", (unsigned long long)now);
        for (size_t i = 0; i < n; i++)
            printf(" %u", got[i]);
        printf("\n");
    }
    return same;
}

static void test_gap_timing(void)
{
    nack_gen_init(&G);
    int flags = 0;
    for (uint16_t s = 0; s < 100; s++)
        flags |= nack_gen_packet(&G, s, 1000 + s);
    is_int(flags, 0, "in order: every packet new");
    ok(collect_is(2000, 50, NULL, 0), "in order: nothing to request");

    is_int(nack_gen_packet(&G, 103, 2000), 0, "gap: new packet");
    is_int(nack_gen_missing(&G), 3, "gap: three missing");
    ok(collect_is(2000 + NACK_REORDER_MS - 1, 50, NULL, 0), "within the reordering allowance: no NACK");
    ok(collect_is(2000 + NACK_REORDER_MS, 50, (uint16_t[]){100, 101, 102}, 3), "after the allowance: all three");
    ok(collect_is(2000 + NACK_REORDER_MS + 49, 50, NULL, 0), "before one RTT: no repeat");
    is_int(nack_gen_packet(&G, 101, 2040), NACK_PKT_RECOVERED, "retransmission recovers 101");
    ok(collect_is(2000 + NACK_REORDER_MS + 50, 50, (uint16_t[]){100, 102}, 2), "after one RTT: the two still missing");
    is_int(nack_gen_packet(&G, 101, 2070), NACK_PKT_OLD, "second copy of 101 is old");
    is_int(nack_gen_packet(&G, 103, 2070), NACK_PKT_OLD, "duplicate of the newest is old");
    is_int(nack_gen_packet(&G, 50, 2070), NACK_PKT_OLD, "packet behind, not missing, is old");
    is_int(G.n_requested, 5, "five requests counted");
    is_int(G.n_recovered, 1, "one recovery counted");

    /* A short RTT is floored to 20 ms. */
    nack_gen_init(&G);
    nack_gen_packet(&G, 10, 0);
    nack_gen_packet(&G, 12, 0);
    ok(collect_is(NACK_REORDER_MS, 1, (uint16_t[]){11}, 1), "first request");
    ok(collect_is(NACK_REORDER_MS + 19, 1, NULL, 0), "rtt 1 ms: not again before 20 ms");
    ok(collect_is(NACK_REORDER_MS + 20, 1, (uint16_t[]){11}, 1), "rtt 1 ms: again at 20 ms");
}

static void test_reorder_allowance(void)
{
    nack_gen_init(&G);
    nack_gen_packet(&G, 0, 100);
    nack_gen_packet(&G, 2, 100);
    nack_gen_packet(&G, 3, 101);
    is_int(nack_gen_packet(&G, 1, 105), NACK_PKT_RECOVERED, "reordered packet fills the gap");
    ok(collect_is(1000, 30, NULL, 0), "reordered within the allowance: never requested");
    is_int(G.n_requested, 0, "no request counted");
    is_int(nack_gen_missing(&G), 0, "nothing missing");
}

static void test_retries_give_up(void)
{
    nack_gen_init(&G);
    nack_gen_packet(&G, 500, 0);
    nack_gen_packet(&G, 502, 0);
    int sent = 0;
    uint64_t t = 0, last = 0;
    for (; t <= 5000; t++) {
        uint16_t s[4];
        size_t n = nack_gen_collect(&G, t, 100, s, 4);
        if (n == 1 && s[0] == 501) {
            if (sent > 0 && t - last != 100)
                break;
            sent++;
            last = t;
        }
    }
    is_int(sent, NACK_MAX_TRIES, "requested exactly NACK_MAX_TRIES times, 100 ms (rtt) apart");
    is_int(last, NACK_REORDER_MS + 100 * (NACK_MAX_TRIES - 1), "last request at allowance + 9 RTTs");
    is_int(nack_gen_missing(&G), 0, "given up afterwards");
    is_int(G.n_given_up, 1, "give-up counted");
    is_int(nack_gen_packet(&G, 501, 5000), NACK_PKT_OLD, "packet given up on: old when it comes");

    /* Still tracked between the last request and the give-up. */
    nack_gen_init(&G);
    nack_gen_packet(&G, 0, 0);
    nack_gen_packet(&G, 2, 0);
    for (int i = 0; i < NACK_MAX_TRIES; i++)
        nack_gen_collect(&G, NACK_REORDER_MS + 20 * (uint64_t)i, 0, (uint16_t[1]){0}, 1);
    is_int(nack_gen_missing(&G), 1, "after the 10th request it waits one more interval");
    is_int(nack_gen_packet(&G, 1, 200), NACK_PKT_RECOVERED, "answer to the 10th request still counts");
}

static void test_wrap_and_limits(void)
{
    nack_gen_init(&G);
    nack_gen_packet(&G, 65533, 0);
    nack_gen_packet(&G, 65534, 0);
    is_int(nack_gen_packet(&G, 2, 0), 0, "wrap: 2 after 65534 is new");
    ok(collect_is(NACK_REORDER_MS, 0, (uint16_t[]){65535, 0, 1}, 3), "wrap: 65535, 0, 1 in order");
    is_int(nack_gen_packet(&G, 65535, 5), NACK_PKT_RECOVERED, "wrap: 65535 recovered");
    is_int(nack_gen_packet(&G, 65534, 5), NACK_PKT_OLD, "wrap: 65534 old");

    nack_gen_init(&G);
    nack_gen_packet(&G, 1000, 0);
    is_int(nack_gen_packet(&G, 1000 + NACK_MAX_MISSING + 1, 0), 0, "exactly NACK_MAX_MISSING missing: tracked");
    is_int(nack_gen_missing(&G), NACK_MAX_MISSING, "list full");
    is_int(nack_gen_packet(&G, 1000 + NACK_MAX_MISSING + 3, 0), NACK_PKT_KEYFRAME, "one more missing: keyframe");
    is_int(nack_gen_missing(&G), 0, "list cleared");
    is_int(G.n_keyframe, 1, "keyframe counted");
    is_int(nack_gen_packet(&G, 1000 + NACK_MAX_MISSING + 4, 0), 0, "continues from the new packet");
    is_int(nack_gen_missing(&G), 0, "nothing missing after the restart");

    nack_gen_init(&G);
    nack_gen_packet(&G, 0, 0);
    nack_gen_packet(&G, 300, 0);
    is_int(nack_gen_packet(&G, 600, 0), NACK_PKT_KEYFRAME, "two gaps adding up past the limit: keyframe");

    nack_gen_init(&G);
    nack_gen_packet(&G, 5000, 0);
    nack_gen_packet(&G, 5002, 0);
    is_int(nack_gen_packet(&G, 5002 - NACK_RESET_AGE, 0), NACK_PKT_OLD, "NACK_RESET_AGE behind: still old");
    is_int(nack_gen_packet(&G, 5002 - NACK_RESET_AGE - 1, 0), 0, "further behind: sender restarted");
    is_int(nack_gen_missing(&G), 0, "restart drops the missing list");
    is_int(nack_gen_packet(&G, 5002 - NACK_RESET_AGE, 0), 0, "next packet after the restart is new");

    /* cap: the rest stay due for the next call. */
    nack_gen_init(&G);
    nack_gen_packet(&G, 0, 0);
    nack_gen_packet(&G, 31, 0);
    uint16_t s[8];
    size_t n1 = nack_gen_collect(&G, 100, 50, s, 8);
    ok(n1 == 8 && s[0] == 1 && s[7] == 8, "cap 8: the oldest eight");
    size_t n2 = nack_gen_collect(&G, 100, 50, s, 8);
    ok(n2 == 8 && s[0] == 9 && s[7] == 16, "next call: the following eight");
}

/* ---- NACK packets ---------------------------------------------------------- */

/* RFC 4585 §6.2.1, read here without rtp.c: each FCI is PID then BLP, bit i
 * of BLP meaning PID + i + 1 is lost too. */
static size_t unpack(const uint8_t *p, size_t len, uint32_t *sender, uint32_t *media, uint16_t *seqs)
{
    if (len < 16 || len % 4 || (p[0] & 0xC0) != 0x80 || (p[0] & 0x1F) != 1 || p[1] != 205 ||
        ((size_t)(p[2] << 8 | p[3]) + 1) * 4 != len)
        return 0;
    *sender = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    *media = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
    size_t n = 0;
    for (size_t off = 12; off < len; off += 4) {
        uint16_t pid = (uint16_t)(p[off] << 8 | p[off + 1]), blp = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
        seqs[n++] = pid;
        for (int i = 0; i < 16; i++)
            if (blp >> i & 1)
                seqs[n++] = (uint16_t)(pid + i + 1);
    }
    return n;
}

/* 100 PID; 101 -> bit 0, 105 -> bit 4, 116 -> bit 15: BLP 0x8011.
 * 117 is 17 past 100: new PID, BLP 0.  200: new PID.  Length (12+12)/4-1 = 5. */
static const uint8_t HAND_NACK[] = {
    0x81, 0xCD, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, 0x0A, 0x0B, 0x0C, 0x0D,
    0x00, 0x64, 0x80, 0x11, 0x00, 0x75, 0x00, 0x00, 0x00, 0xC8, 0x00, 0x00,
};

static void test_nack_packets(void)
{
    uint8_t buf[1500];
    size_t used;
    uint32_t snd, med;
    uint16_t back[8192];

    size_t len =
        nack_build_rtcp(buf, sizeof buf, 0x01020304, 0x0A0B0C0D, (uint16_t[]){100, 101, 105, 116, 117, 200}, 6, &used);
    ok(len == sizeof HAND_NACK && memcmp(buf, HAND_NACK, len) == 0 && used == 6, "NACK bytes as computed by hand");

    len = nack_build_rtcp(buf, sizeof buf, 1, 2, (uint16_t[]){65535, 0, 3}, 3, &used);
    static const uint8_t wrap[] = {0xFF, 0xFF, 0x00, 0x09};
    ok(len == 16 && memcmp(buf + 12, wrap, 4) == 0, "NACK across the wrap: PID 65535, BLP bits 0 and 3");

    is_int(nack_build_rtcp(buf, sizeof buf, 1, 2, (uint16_t[]){1}, 0, &used), 0, "no seqs: nothing");
    is_int(nack_build_rtcp(buf, 15, 1, 2, (uint16_t[]){1}, 1, &used), 0, "cap 15: nothing");
    is_int(used, 0, "nothing consumed");

    /* Round trip of what the generator produces, through the local unpacker. */
    nack_gen_init(&G);
    nack_gen_packet(&G, 65000, 0);
    for (uint32_t s = 65001; s < 65000 + 400; s++)
        if ((s * 2654435761u) % 5 == 0)
            nack_gen_packet(&G, (uint16_t)s, 0);
    uint16_t due[NACK_MAX_MISSING];
    size_t n = nack_gen_collect(&G, 1000, 0, due, NACK_MAX_MISSING);
    len = nack_build_rtcp(buf, sizeof buf, 7, 8, due, n, &used);
    size_t m = unpack(buf, len, &snd, &med, back);
    ok(n > 100 && used == n && m == n && memcmp(back, due, n * sizeof due[0]) == 0 && snd == 7 && med == 8,
       "generator output round-trips through one packet (%zu seqs, %zu bytes)", n, len);

    /* Sparse seqs need one FCI each; a small cap spreads them over packets. */
    uint16_t sparse[300];
    for (int i = 0; i < 300; i++)
        sparse[i] = (uint16_t)(65000 + 20 * i);
    size_t off = 0, packets = 0, total = 0;
    bool sizes_ok = true, all_same = true;
    while (off < 300 && packets < 1000) {
        len = nack_build_rtcp(buf, 100, 7, 8, sparse + off, 300 - off, &used);
        sizes_ok &= len > 0 && len <= 100 && used > 0;
        m = unpack(buf, len, &snd, &med, back);
        all_same &= m == used && memcmp(back, sparse + off, used * sizeof back[0]) == 0;
        off += used;
        total += m;
        packets++;
    }
    ok(sizes_ok && all_same && total == 300, "cap 100: split into %zu packets, every seq once", packets);
    is_int(packets, (300 + 21) / 22, "cap 100: 22 FCIs per packet");

    /* PID + 16 is the last one a pair covers: 40 seqs 16 apart take 20 FCIs. */
    uint16_t pairs[40];
    for (int i = 0; i < 40; i++)
        pairs[i] = (uint16_t)(16 * i);
    len = nack_build_rtcp(buf, 12 + 4 * 20, 7, 8, pairs, 40, &used);
    m = unpack(buf, len, &snd, &med, back);
    ok(len == 92 && used == 40 && m == 40 && memcmp(back, pairs, sizeof pairs) == 0,
       "cap of exactly 20 FCIs holds 40 seqs 16 apart");
    len = nack_build_rtcp(buf, 12 + 4 * 20 - 1, 7, 8, pairs, 40, &used);
    ok(len == 88 && used == 38, "one byte less: 19 FCIs, 38 seqs");
}

/* ---- retransmission buffer -------------------------------------------------- */

static void mkpkt(uint8_t *p, size_t len, uint16_t seq)
{
    memset(p, 0, len);
    p[0] = 0x80;
    p[1] = 96;
    rtp_set_seq(p, seq);
    for (size_t i = RTP_HEADER_LEN; i < len; i++)
        p[i] = (uint8_t)(seq + i);
}

static void test_rtx_buf(void)
{
    rtx_buf_t b;
    size_t size = RTX_BUF_STORAGE_SIZE(8, 1500);
    uint8_t *mem = xmalloc(size);
    uint8_t pkt[1500];
    size_t len = 0;

    is_int(rtx_buf_init(&b, NULL, 8, 1500), IRTC_EINVAL, "init: NULL storage");
    is_int(rtx_buf_init(&b, mem, 0, 1500), IRTC_EINVAL, "init: zero slots");
    is_int(rtx_buf_init(&b, mem, 6, 1500), IRTC_EINVAL, "init: slots not a power of two");
    is_int(rtx_buf_init(&b, mem, 8, 11), IRTC_EINVAL, "init: slot under an RTP header");
    is_int(rtx_buf_init(&b, mem, 8, 65536), IRTC_EINVAL, "init: slot over 65535");
    is_int(rtx_buf_init(&b, mem + 4, 8, 1500), IRTC_EINVAL, "init: misaligned storage");
    is_int(rtx_buf_init(&b, mem, 8, 1500), IRTC_OK, "init");
    ok(rtx_buf_get(&b, 0, 0, &len) == NULL, "empty buffer: seq 0 not held");

    mkpkt(pkt, 1500, 10);
    is_int(rtx_buf_put(&b, pkt, 1500, 1000), IRTC_OK, "put a full-size packet");
    is_int(rtx_buf_put(&b, pkt, 1501, 1000), IRTC_EINVAL, "put over the slot size");
    is_int(rtx_buf_put(&b, pkt, 11, 1000), IRTC_EINVAL, "put under an RTP header");
    const uint8_t *got = rtx_buf_get(&b, 10, 1500, &len);
    ok(got != NULL && len == 1500 && memcmp(got, pkt, 1500) == 0, "get returns the bytes put");
    ok(rtx_buf_get(&b, 10, 1000 + RTX_BUF_MAX_AGE_MS, &len) != NULL, "still held at the max age");
    ok(rtx_buf_get(&b, 10, 1001 + RTX_BUF_MAX_AGE_MS, &len) == NULL, "gone past the max age");
    ok(rtx_buf_get(&b, 11, 1500, &len) == NULL, "never stored: NULL");
    ok(rtx_buf_get(&b, 18, 1500, &len) == NULL, "same slot, other seq: NULL");
    b.max_age_ms = 5000;
    ok(rtx_buf_get(&b, 10, 4000, &len) != NULL, "max age is adjustable");

    bool all = true;
    for (uint32_t s = 65530; s < 65530 + 16; s++) {
        mkpkt(pkt, 100 + s % 7, (uint16_t)s);
        all &= rtx_buf_put(&b, pkt, 100 + s % 7, 2000) == IRTC_OK;
    }
    int held = 0, right = 0;
    for (uint32_t s = 65530; s < 65530 + 16; s++) {
        got = rtx_buf_get(&b, (uint16_t)s, 2000, &len);
        held += got != NULL;
        mkpkt(pkt, 100 + s % 7, (uint16_t)s);
        right += got != NULL && s >= 65530 + 8 && len == 100 + s % 7 && memcmp(got, pkt, len) == 0;
    }
    ok(all && held == 8 && right == 8, "across the wrap: the newest 8 of 16 held, older overwritten");

    ok(rtx_buf_get_resend(&b, 5, 2000, 100, &len) != NULL, "resend: first time");
    ok(rtx_buf_get_resend(&b, 5, 2099, 100, &len) == NULL, "resend: not again within the interval");
    ok(rtx_buf_get(&b, 5, 2099, &len) != NULL, "plain get ignores the resend mark");
    ok(rtx_buf_get_resend(&b, 5, 2100, 100, &len) != NULL && len == 100 + 65541u % 7, "resend: again after it");
    mkpkt(pkt, 50, 5);
    rtx_buf_put(&b, pkt, 50, 2200);
    ok(rtx_buf_get_resend(&b, 5, 2201, 100, &len) != NULL && len == 50, "a new packet in the slot resets the mark");
    ok(rtx_buf_get_resend(&b, 6, 9000, 100, &len) == NULL, "resend of an expired packet: NULL");
    free(mem);
}

int main(void)
{
    test_gap_timing();
    test_reorder_allowance();
    test_retries_give_up();
    test_wrap_and_limits();
    test_nack_packets();
    test_rtx_buf();
    return done_testing();
}
