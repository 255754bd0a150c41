/*
 * test_twcc.c — media/twcc feedback checked by a decoder written here from
 * the text of draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1 (it
 * shares no code with twcc.c).  Scenarios feed arrivals into the receiver,
 * build feedback on a timer, decode every packet and compare each reported
 * sequence number's status and arrival time with what was fed: in order,
 * loss, reordering past a feedback, 16-bit wrap, gaps longer than a 16-bit
 * delta, 1000-packet bursts, negative deltas, 24-bit reference wrap, small
 * caps and a seeded random mix.  Hand-computed packets pin the exact bytes.
 */
#include "media/twcc.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "media/rtp.h"
#include "unit/tap.h"

#define SENDER 0x11223344u
#define MEDIA 0x55667788u
#define REF_US 64000
#define WRAP_US (((int64_t)1 << 24) * REF_US)
#define NONE UINT64_MAX

/* ---- independent decoder ------------------------------------------------- */

typedef struct {
    bool p_bit;
    uint32_t sender, media;
    uint16_t base, count;
    uint32_t ref;
    uint8_t fbc;
    size_t n_run, n_vec1, n_vec2;
    uint8_t st[65536];    /* 0 not received, 1 small delta, 2 large delta */
    int64_t at_us[65536]; /* ref * 64 ms + running sum of deltas */
} dec_t;

static dec_t D;

static uint32_t be(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

#define FAIL(msg)                                                                                                      \
    do {                                                                                                               \
        *why = msg;                                                                                                    \
        return -1;                                                                                                     \
    } while (0)

static int decode_chunks(const uint8_t *p, size_t end, size_t *pos, dec_t *d, const char **why)
{
    size_t got = 0;
    while (got < d->count) {
        if (*pos + 2 > end)
            FAIL("chunks truncated");
        uint16_t c = (uint16_t)be(p + *pos, 2);
        *pos += 2;
        if (!(c & 0x8000)) { /* run length: T=0, S (2 bits), 13-bit length */
            unsigned sym = c >> 13 & 3, run = c & 0x1FFF;
            if (run == 0 || sym == 3 || run > d->count - got)
                FAIL("bad run");
            while (run--)
                d->st[got++] = (uint8_t)sym;
            d->n_run++;
        } else if (!(c & 0x4000)) { /* status vector, S=0: 14 one-bit symbols */
            for (int i = 0; i < 14 && got < d->count; i++)
                d->st[got++] = c >> (13 - i) & 1;
            d->n_vec1++;
        } else { /* status vector, S=1: 7 two-bit symbols */
            for (int i = 0; i < 7 && got < d->count; i++) {
                unsigned sym = c >> (12 - 2 * i) & 3;
                if (sym == 3)
                    FAIL("reserved symbol");
                d->st[got++] = (uint8_t)sym;
            }
            d->n_vec2++;
        }
    }
    return 0;
}

static int decode(const uint8_t *p, size_t len, dec_t *d, const char **why)
{
    if (len < 20 || len % 4 != 0)
        FAIL("length");
    if (p[0] >> 6 != 2 || (p[0] & 0x1F) != 15 || p[1] != 205)
        FAIL("not RTPFB FMT=15");
    if ((be(p + 2, 2) + 1) * 4 != len)
        FAIL("length field");
    size_t end = len;
    d->p_bit = p[0] >> 5 & 1;
    if (d->p_bit) {
        uint8_t pad = p[len - 1];
        if (pad == 0 || pad > 3)
            FAIL("padding count");
        for (size_t i = len - pad; i < len - 1; i++)
            if (p[i] != 0)
                FAIL("padding not zero");
        end = len - pad;
    }
    d->sender = be(p + 4, 4);
    d->media = be(p + 8, 4);
    d->base = (uint16_t)be(p + 12, 2);
    d->count = (uint16_t)be(p + 14, 2);
    d->ref = be(p + 16, 3);
    d->fbc = p[19];
    d->n_run = d->n_vec1 = d->n_vec2 = 0;
    if (d->count == 0)
        FAIL("empty");
    size_t pos = 20;
    if (decode_chunks(p, end, &pos, d, why) < 0)
        return -1;
    int64_t t = (int64_t)d->ref * REF_US;
    for (size_t i = 0; i < d->count; i++) {
        if (d->st[i] == 1) {
            if (pos + 1 > end)
                FAIL("deltas truncated");
            t += 250 * (int64_t)p[pos++];
        } else if (d->st[i] == 2) {
            if (pos + 2 > end)
                FAIL("deltas truncated");
            t += 250 * (int64_t)(int16_t)be(p + pos, 2);
            pos += 2;
        }
        d->at_us[i] = t;
    }
    if (pos != end)
        FAIL("bytes after the deltas");
    return 0;
}

/* ---- scenario harness ---------------------------------------------------- */

typedef struct {
    int64_t seq;
    uint64_t at;
} ev_t;

typedef struct {
    twcc_recv_t r;
    int64_t lo; /* unwrapped seq of truth[0] */
    size_t n;
    uint64_t *truth; /* first arrival fed, or NONE */
    uint8_t *rep;    /* 0 never reported, 1 reported lost, 2 reported received */
    int64_t hi;      /* highest seq fed, to unwrap reported ones */
    bool fed;
    size_t cap;
    unsigned fbc;
    int n_fb, bad_decode, bad_hdr, bad_ref, bad_time, false_recv, false_lost, bad_size, rewinds;
    int64_t prev_end;
    size_t max_len, max_chunks, vec1, vec2, run;
    int64_t bases[64];
    unsigned refs[64];
} harness_t;

static harness_t H;

static void h_init(harness_t *h, int64_t lo, size_t n, size_t cap)
{
    free(h->truth);
    free(h->rep);
    memset(h, 0, sizeof *h);
    twcc_recv_init(&h->r, SENDER, MEDIA);
    h->lo = lo;
    h->n = n;
    h->cap = cap;
    h->truth = xmalloc(n * sizeof *h->truth);
    h->rep = xcalloc(n, 1);
    for (size_t i = 0; i < n; i++)
        h->truth[i] = NONE;
    h->prev_end = INT64_MIN;
}

static void h_feed(harness_t *h, int64_t seq, uint64_t at)
{
    twcc_recv_packet(&h->r, (uint16_t)seq, at);
    if (seq >= h->lo && seq < h->lo + (int64_t)h->n && h->truth[seq - h->lo] == NONE)
        h->truth[seq - h->lo] = at;
    if (!h->fed || seq > h->hi)
        h->hi = seq;
    h->fed = true;
}

static int64_t mod_diff(int64_t a, int64_t b)
{
    int64_t d = ((a - b) % WRAP_US + WRAP_US) % WRAP_US;
    return d > WRAP_US / 2 ? d - WRAP_US : d;
}

static void h_check_status(harness_t *h, size_t i, bool *first_rx)
{
    int64_t u = h->hi + (int16_t)(uint16_t)((uint16_t)(D.base + i) - (uint16_t)h->hi);
    if (u < h->lo || u >= h->lo + (int64_t)h->n) {
        h->false_recv++;
        return;
    }
    uint64_t truth = h->truth[u - h->lo];
    if (D.st[i] == 0) {
        if (truth != NONE)
            h->false_lost++;
        else if (h->rep[u - h->lo] == 0)
            h->rep[u - h->lo] = 1;
        return;
    }
    if (truth == NONE) {
        h->false_recv++;
        return;
    }
    if (*first_rx) {
        *first_rx = false;
        if (D.ref != ((truth / REF_US) & 0xFFFFFF))
            h->bad_ref++;
    }
    int64_t err = mod_diff(D.at_us[i], (int64_t)(truth % (uint64_t)WRAP_US));
    if (err > 125 || err < -125)
        h->bad_time++;
    h->rep[u - h->lo] = 2;
}

static void h_check(harness_t *h, const uint8_t *pkt, size_t len)
{
    const char *why = NULL;
    rtcp_iter_t it;
    rtcp_pkt_t rp;
    rtcp_twcc_t tw;
    if (len % 4 != 0 || len > IRTC_MIN(h->cap, (size_t)TWCC_FEEDBACK_MAX_LEN))
        h->bad_size++;
    if (decode(pkt, len, &D, &why) < 0) {
        h->bad_decode++;
        printf("# decode: %s\n", why);
        return;
    }
    /* rtp.h's parser must agree on the fixed part. */
    rtcp_iter_init(&it, pkt, len);
    if (rtcp_iter_next(&it, &rp, &why) != 1 || rtcp_parse_twcc(&rp, &tw) != IRTC_OK || tw.base_seq != D.base ||
        tw.status_count != D.count || tw.fb_count != D.fbc || rtcp_iter_next(&it, &rp, &why) != 0)
        h->bad_hdr++;
    if (D.sender != SENDER || D.media != MEDIA || D.fbc != (h->fbc & 0xFF))
        h->bad_hdr++;
    h->fbc++;
    int64_t base = h->hi + (int16_t)(uint16_t)(D.base - (uint16_t)h->hi);
    if (h->prev_end != INT64_MIN && base != h->prev_end)
        h->rewinds++;
    h->prev_end = base + D.count;
    if (h->n_fb < (int)IRTC_ARRAY_SIZE(h->bases)) {
        h->bases[h->n_fb] = base;
        h->refs[h->n_fb] = D.ref;
    }
    h->n_fb++;
    h->max_len = IRTC_MAX(h->max_len, len);
    h->max_chunks = IRTC_MAX(h->max_chunks, D.n_run + D.n_vec1 + D.n_vec2);
    h->run += D.n_run;
    h->vec1 += D.n_vec1;
    h->vec2 += D.n_vec2;
    bool first_rx = true;
    for (size_t i = 0; i < D.count; i++)
        h_check_status(h, i, &first_rx);
}

static void h_flush(harness_t *h, uint64_t now)
{
    uint8_t buf[1500];
    size_t len;
    for (int guard = 0; guard < 100000; guard++) {
        if ((len = twcc_recv_build_feedback(&h->r, buf, h->cap, now)) == 0)
            return;
        h_check(h, buf, len);
    }
    h->bad_size++; /* never stopped */
}

static void h_run(harness_t *h, const ev_t *ev, size_t n, uint64_t interval_us)
{
    uint64_t next = n ? ev[0].at + interval_us : 0;
    for (size_t i = 0; i < n; i++) {
        while (interval_us && ev[i].at >= next) {
            h_flush(h, next);
            next += interval_us;
        }
        h_feed(h, ev[i].seq, ev[i].at);
    }
    h_flush(h, next);
}

/* Everything fed in [lo, lo+n) was reported received, every seq between the
 * first and the last fed was reported, and nothing was misreported. */
static void h_report(harness_t *h, const char *name)
{
    int unreported = 0, uncovered = 0;
    int64_t first = -1, last = -1;
    for (size_t i = 0; i < h->n; i++)
        if (h->truth[i] != NONE) {
            first = first < 0 ? (int64_t)i : first;
            last = (int64_t)i;
        }
    for (int64_t i = first; i >= 0 && i <= last; i++) {
        unreported += h->truth[i] != NONE && h->rep[i] != 2;
        uncovered += h->rep[i] == 0;
    }
    ok(h->bad_decode == 0 && h->bad_hdr == 0 && h->bad_size == 0, "%s: %d packets decode, headers and sizes right",
       name, h->n_fb);
    is_int(h->bad_ref, 0, "%s: reference time is the first received packet's, in 64 ms", name);
    is_int(h->bad_time, 0, "%s: every arrival within 125 us", name);
    is_int(h->false_recv + h->false_lost, 0, "%s: no status misreported", name);
    is_int(unreported + uncovered, 0, "%s: every packet reported, no sequence number skipped", name);
}

/* ---- scenarios ----------------------------------------------------------- */

static ev_t EV[70000];

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static int ev_cmp(const void *a, const void *b)
{
    const ev_t *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void test_in_order(void)
{
    for (int k = 0; k < 500; k++)
        EV[k] = (ev_t){100 + k, 1000000 + 1000 * (uint64_t)k};
    h_init(&H, 100, 500, 1500);
    h_run(&H, EV, 500, 50000);
    h_report(&H, "in order");
    is_int(H.n_fb, 10, "in order: one feedback per 50 ms");
    /* 50 small deltas: 20-byte header + one run-length chunk + 50 bytes, padded. */
    is_int(H.max_len, 72, "in order: 50 packets take 72 bytes");
    is_int(H.max_chunks, 1, "in order: one run-length chunk each");
    is_int(H.rewinds, 0, "in order: feedback packets are contiguous");
    is_int(H.fbc, 10, "in order: feedback count advanced once per packet");
}

static void test_loss(size_t cap, const char *name)
{
    size_t n = 0;
    for (int k = 0; k < 2000; k++) {
        bool lost = k % 7 == 3 || ((k / 100) % 5 == 2 && k % 100 < 20);
        if (!lost)
            EV[n++] = (ev_t){k, 3000000 + 500 * (uint64_t)k};
    }
    h_init(&H, 0, 2000, cap);
    h_run(&H, EV, n, 50000);
    h_report(&H, name);
    ok(H.vec1 > 0 && H.run > 0, "%s: uses 1-bit vectors and runs (%zu, %zu)", name, H.vec1, H.run);
}

static void test_reorder(void)
{
    for (int k = 0; k < 3000; k++) {
        uint64_t at = 5000000 + 1000 * (uint64_t)k;
        uint32_t x = rnd() % 100;
        if (x < 5)
            at += 5000 + rnd() % 80000; /* late past one or more feedbacks */
        else if (x < 20)
            at += rnd() % 3000;
        EV[k] = (ev_t){k, at};
    }
    qsort(EV, 3000, sizeof EV[0], ev_cmp);
    h_init(&H, 0, 3000, 1500);
    h_run(&H, EV, 3000, 50000);
    h_report(&H, "reorder");
    ok(H.rewinds > 0, "reorder: late packets re-opened reported ranges (%d times)", H.rewinds);
    ok(H.vec2 > 0, "reorder: negative deltas use 2-bit vectors");
}

static void test_wrap(void)
{
    size_t n = 0;
    for (int64_t s = 64000; s < 68000; s++)
        if (s % 11 != 0 && s != 65535 && s != 65536)
            EV[n++] = (ev_t){s, 9000000 + 700 * (uint64_t)(s - 64000)};
    h_init(&H, 64000, 4000, 1500);
    h_run(&H, EV, n, 100000);
    h_report(&H, "wrap at 65535");
}

/* Deltas are 16-bit signed in 250 us: +32767 and -32768 ticks fit, one more
 * does not and starts a new packet with its own reference time. */
static void test_delta_limits(void)
{
    uint64_t t0 = 100 * REF_US;
    uint64_t t1 = t0 + 32767 * 250, t2 = t1 + 32768 * 250, t3 = t2 - 32768 * 250, t4 = t3 - 32769 * 250;
    h_init(&H, 0, 5, 1500);
    h_feed(&H, 0, t0);
    h_feed(&H, 1, t1);
    h_feed(&H, 2, t2);
    h_feed(&H, 3, t3);
    h_feed(&H, 4, t4);
    uint8_t buf[1500];
    size_t len = twcc_recv_build_feedback(&H.r, buf, sizeof buf, t2);
    const char *why = NULL;
    ok(len > 0 && decode(buf, len, &D, &why) == 0 && D.count == 2 && D.st[1] == 2 && D.at_us[1] == (int64_t)t1,
       "delta of +32767 ticks fits, the next one splits");
    h_check(&H, buf, len);
    h_flush(&H, t2);
    h_report(&H, "16-bit delta limits");
    is_int(H.n_fb, 3, "delta limits: three packets");
    ok(H.bases[1] == 2 && H.bases[2] == 4, "delta limits: split at seq 2 and 4 (-32768 fits, -32769 does not)");
}

static void test_long_gaps(void)
{
    size_t n = 0;
    for (int k = 0; k < 10; k++)
        EV[n++] = (ev_t){k, 500000 + 1000 * (uint64_t)k};
    for (int k = 10; k < 20; k++)
        EV[n++] = (ev_t){k, 9600000 + 1000 * (uint64_t)k};
    EV[n++] = (ev_t){20, 30000000};
    EV[n++] = (ev_t){21, 30000100};
    EV[n++] = (ev_t){22, 21000000}; /* 9 s before its predecessor */
    h_init(&H, 0, 23, 1500);
    h_run(&H, EV, n, 0); /* one flush at the end spans all gaps */
    h_report(&H, "gaps over 8 s");
    is_int(H.n_fb, 4, "gaps over 8 s: split into four packets");
    ok(H.bases[0] == 0 && H.bases[1] == 10 && H.bases[2] == 20 && H.bases[3] == 22, "gaps over 8 s: bases 0/10/20/22");
    is_int(H.refs[1], 9610000 / REF_US, "gaps over 8 s: new reference time after the gap");
}

static void test_bursts(void)
{
    for (int k = 0; k < 1000; k++)
        EV[k] = (ev_t){500 + k, 2000000};
    h_init(&H, 500, 1000, 1500);
    h_run(&H, EV, 1000, 0);
    h_report(&H, "burst of 1000");
    is_int(H.n_fb, 1, "burst of 1000: one packet");
    is_int(H.max_len, 1024, "burst of 1000: 20 + 2 + 1000 bytes, padded");

    for (int k = 0; k < 3000; k++)
        EV[k] = (ev_t){k, 1000000 + 70000 * (uint64_t)k}; /* 280 ticks: all large */
    h_init(&H, 0, 3000, 1500);
    h_run(&H, EV, 3000, 0);
    h_report(&H, "3000 large deltas");
    ok(H.n_fb >= 6 && H.max_len <= TWCC_FEEDBACK_MAX_LEN, "3000 large deltas: spilled into %d packets of <= %d bytes",
       H.n_fb, TWCC_FEEDBACK_MAX_LEN);

    for (int k = 0; k < 1000; k++)
        EV[k] = (ev_t){k, 4000000 + 10 * (uint64_t)k};
    size_t n = 0;
    for (int k = 0; k < 1000; k++)
        if (rnd() % 3)
            EV[n++] = EV[k];
    h_init(&H, 0, 1000, 1500);
    h_run(&H, EV, n, 0);
    h_report(&H, "lossy burst of 1000");
}

static void test_negative(void)
{
    for (int k = 0; k < 400; k++) /* odd seqs arrive 3 ms before their even predecessor */
        EV[k] = (ev_t){k, 7000000 + 10000 * (uint64_t)(k / 2) + (k % 2 ? 0 : 3000)};
    qsort(EV, 400, sizeof EV[0], ev_cmp);
    h_init(&H, 0, 400, 1500);
    h_run(&H, EV, 400, 100000);
    h_report(&H, "negative deltas");
    ok(H.vec2 > 0, "negative deltas: 2-bit vectors carry them");
}

static void test_ref_wrap(void)
{
    uint64_t start = (uint64_t)WRAP_US - 200000;
    for (int k = 0; k < 500; k++)
        EV[k] = (ev_t){k, start + 1000 * (uint64_t)k};
    h_init(&H, 0, 500, 1500);
    h_run(&H, EV, 500, 50000);
    h_report(&H, "24-bit reference wrap");
    bool hi = false, lo = false;
    for (int i = 0; i < H.n_fb && i < 64; i++) {
        hi |= H.refs[i] == 0xFFFFFD || H.refs[i] == 0xFFFFFE || H.refs[i] == 0xFFFFFF;
        lo |= H.refs[i] < 8;
    }
    ok(hi && lo, "24-bit reference wrap: references on both sides of the wrap");
}

static void test_random(void)
{
    for (int round = 0; round < 30; round++) {
        size_t n = 0, count = 200 + rnd() % 4000;
        int64_t lo = rnd() % 65536;
        uint64_t t = 1000000 + (uint64_t)rnd() * 64;
        for (size_t k = 0; k < count; k++) {
            uint32_t x = rnd() % 1000;
            t += x < 5 ? rnd() % 3000000 : rnd() % 2000; /* rare long pauses */
            if (x % 10 == 1)
                continue; /* lost */
            uint64_t at = t + (x % 17 == 0 ? rnd() % 200000 : 0);
            EV[n++] = (ev_t){lo + (int64_t)k, at};
            if (x % 97 == 0)
                EV[n++] = (ev_t){lo + (int64_t)k, at + 1000}; /* duplicate */
        }
        qsort(EV, n, sizeof EV[0], ev_cmp);
        h_init(&H, lo, count, 24 + rnd() % 1200);
        h_run(&H, EV, n, 20000 + rnd() % 200000);
        char name[32];
        snprintf(name, sizeof name, "random %d", round);
        h_report(&H, name);
    }
}

/* ---- hand-computed packets ------------------------------------------------ */

static bool build_is(twcc_recv_t *r, const uint8_t *want, size_t want_len, const char *name)
{
    uint8_t buf[1500];
    size_t len = twcc_recv_build_feedback(r, buf, sizeof buf, 0);
    bool same = len == want_len && memcmp(buf, want, len) == 0;
    ok(same, "%s: bytes as computed by hand", name);
    if (!same) {
        printf("# got");
        for (size_t i = 0; i < len; i++)
            printf(" %02x", buf[i]);
        printf("\n");
    }
    return same;
}

/* Seqs 65534, 65535 (lost), 0, 1, 2, 3, 4; seq 1 arrives first.
 *   ref  = floor(1,000,000 / 64,000) = 15 -> 960,000 us
 *   65534 @1,000,000: +40,000 us = 160 ticks   small  A0
 *   0     @1,000,250: +250 = 1                  small  01
 *   1     @  999,000: -1,250 = -5               large  FF FB
 *   2     @1,100,000: +101,000 = 404            large  01 94
 *   3     @1,100,100: +100 -> round(0.4) = 0    small  00   (cursor stays 1,100,000)
 *   4     @1,100,200: +200 -> round(0.8) = 1    small  01
 * Symbols S N S L L S S fit one 2-bit vector: 11 01 00 01 10 10 01 01 = D1 A5.
 * 20 + 2 + 8 = 30 bytes, padded to 32 with P set and "00 02"; length 7. */
static const uint8_t HAND1[] = {
    0xAF, 0xCD, 0x00, 0x07, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xFF, 0xFE, 0x00, 0x07,
    0x00, 0x00, 0x0F, 0x00, 0xD1, 0xA5, 0xA0, 0x01, 0xFF, 0xFB, 0x01, 0x94, 0x00, 0x01, 0x00, 0x02,
};

/* The draft's §3.1.4 1-bit example: N S S S S S N N N S S S N N, then one S.
 * Seq 10 @128,000 is reported first (fb 0).  Then base 11, 15 statuses, ref 2
 * (128,000 us), fb count 1:
 *   12 @130,000 +2,000 = 8; 13..16 +250 each = 1; 20 @132,000 +1,000 = 4;
 *   21, 22 +250 = 1; 25 @133,000 +500 = 2.
 * Chunks: 1 0 01111100011100 = 9F 1C, then a run of one S = 20 01.
 * 20 + 4 + 9 = 33 bytes, padded to 36 with "00 00 03"; length 8. */
static const uint8_t HAND2[] = {
    0xAF, 0xCD, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00, 0x0B, 0x00, 0x0F, 0x00, 0x00,
    0x02, 0x01, 0x9F, 0x1C, 0x20, 0x01, 0x08, 0x01, 0x01, 0x01, 0x01, 0x04, 0x01, 0x01, 0x02, 0x00, 0x00, 0x03,
};

/* The draft's §3.1.3 run-length example: 221 "not received" (00 DD).  Seqs
 * 26..246 lost, 247 @200,000: ref 3 (192,000), delta 8,000 us = 32 ticks.
 * Base 26, count 222, fb count 2; 20 + 4 + 1 = 25, padded to 28; length 6. */
static const uint8_t HAND3[] = {
    0xAF, 0xCD, 0x00, 0x06, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00, 0x1A,
    0x00, 0xDE, 0x00, 0x00, 0x03, 0x02, 0x00, 0xDD, 0x20, 0x01, 0x20, 0x00, 0x00, 0x03,
};

static void test_hand_vectors(void)
{
    twcc_recv_t *r = xmalloc(sizeof *r);
    twcc_recv_init(r, SENDER, MEDIA);
    twcc_recv_packet(r, 1, 999000);
    twcc_recv_packet(r, 65534, 1000000);
    twcc_recv_packet(r, 0, 1000250);
    twcc_recv_packet(r, 2, 1100000);
    twcc_recv_packet(r, 3, 1100100);
    twcc_recv_packet(r, 4, 1100200);
    build_is(r, HAND1, sizeof HAND1, "2-bit vector across the wrap, negative and large deltas");
    is_int(twcc_recv_build_feedback(r, (uint8_t[64]){0}, 64, 0), 0, "nothing pending afterwards");

    twcc_recv_init(r, SENDER, MEDIA);
    twcc_recv_packet(r, 10, 128000);
    uint8_t buf[64];
    size_t len = twcc_recv_build_feedback(r, buf, sizeof buf, 0);
    static const uint8_t first[] = {0x80 | 0x20 | 15,
                                    205,
                                    0,
                                    5,
                                    0x11,
                                    0x22,
                                    0x33,
                                    0x44,
                                    0x55,
                                    0x66,
                                    0x77,
                                    0x88,
                                    0,
                                    10,
                                    0,
                                    1,
                                    0,
                                    0,
                                    2,
                                    0,
                                    0x20,
                                    0x01,
                                    0x00,
                                    0x01};
    ok(len == 24 && memcmp(buf, first, 24) == 0, "single packet: run of one, delta 0, padding 00 01");
    static const uint16_t rx[] = {12, 13, 14, 15, 16, 20, 21, 22, 25};
    static const uint32_t at[] = {130000, 130250, 130500, 130750, 131000, 132000, 132250, 132500, 133000};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(rx); i++)
        twcc_recv_packet(r, rx[i], at[i]);
    build_is(r, HAND2, sizeof HAND2, "draft 1-bit vector example");
    twcc_recv_packet(r, 247, 200000);
    build_is(r, HAND3, sizeof HAND3, "draft run-length example");
    free(r);
}

/* ---- API edges ------------------------------------------------------------ */

static void test_edges(void)
{
    twcc_recv_t *r = xmalloc(sizeof *r);
    uint8_t buf[1500];
    twcc_recv_init(r, SENDER, MEDIA);
    is_int(twcc_recv_build_feedback(r, buf, sizeof buf, 0), 0, "fresh receiver: no feedback");
    ok(!twcc_recv_due(r, 1000000), "fresh receiver: not due");

    twcc_recv_packet(r, 5, 1000);
    twcc_recv_packet(r, 5, 9000);
    is_int(r->n_duplicate, 1, "duplicate counted");
    ok(!twcc_recv_due(r, 40000), "one packet, 40 ms since start: not due");
    ok(twcc_recv_due(r, 50000), "one packet, 50 ms: due");
    is_int(twcc_recv_build_feedback(r, buf, TWCC_FEEDBACK_MIN_LEN - 1, 50000), 0, "cap under the minimum: nothing");
    is_int(twcc_recv_pending(r), 1, "cap under the minimum consumes nothing");
    size_t len = twcc_recv_build_feedback(r, buf, TWCC_FEEDBACK_MIN_LEN, 50000);
    const char *why = NULL;
    ok(len == 24 && decode(buf, len, &D, &why) == 0 && D.at_us[0] == 1000, "duplicate: first arrival reported");
    ok(!twcc_recv_due(r, 200000), "nothing pending: not due");
    for (int k = 6; k < 6 + TWCC_FEEDBACK_PACKETS; k++)
        twcc_recv_packet(r, (uint16_t)k, 60000);
    ok(twcc_recv_due(r, 60000), "100 pending: due at once");

    twcc_recv_init(r, SENDER, MEDIA);
    for (int k = 0; k < 10001; k++)
        twcc_recv_packet(r, (uint16_t)k, 1000 + (uint64_t)k);
    twcc_recv_packet(r, 10000 - TWCC_HISTORY, 20000);
    is_int(r->n_too_old, 1, "packet behind the window counted as too old");
    twcc_recv_packet(r, 10001 - TWCC_HISTORY, 20000);
    is_int(r->n_duplicate, 1, "oldest packet in the window is still tracked");
    is_int(twcc_recv_pending(r), TWCC_HISTORY, "unreported history capped at TWCC_HISTORY");
    len = twcc_recv_build_feedback(r, buf, sizeof buf, 0);
    ok(len > 0 && decode(buf, len, &D, &why) == 0 && D.base == 10001 - TWCC_HISTORY,
       "overflowed history: feedback starts at the oldest kept");

    /* Small caps: every packet respects the cap and the union is complete. */
    for (int k = 0; k < 300; k++)
        EV[k] = (ev_t){k, 1000000 + 300 * (uint64_t)k * (k % 3 ? 1 : 300)};
    qsort(EV, 300, sizeof EV[0], ev_cmp);
    h_init(&H, 0, 300, TWCC_FEEDBACK_MIN_LEN);
    h_run(&H, EV, 300, 0);
    h_report(&H, "minimum cap");
    ok(H.n_fb >= 100, "minimum cap: one or few packets per feedback (%d)", H.n_fb);
    free(r);
}

/* The promise of twcc_recv_build_feedback: with packets pending and a cap of
 * TWCC_FEEDBACK_MIN_LEN, a packet is always written.  The worst first packet
 * follows a run of losses that needs a chunk of its own, and has a 2-byte
 * delta (arrival more than 63.75 ms past the 64 ms reference floor). */
static void test_min_cap_progress(void)
{
    static const int lost[] = {0, 1, 6, 7, 8, 13, 14, 15, 100, 4000};
    static const uint64_t offset_us[] = {1000, 63800, 63900};
    twcc_recv_t *r = xmalloc(sizeof *r);
    uint8_t buf[TWCC_FEEDBACK_MAX_LEN];
    int stuck = 0, bad = 0, cases = 0;
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(lost); i++) {
        for (size_t j = 0; j < IRTC_ARRAY_SIZE(offset_us); j++) {
            twcc_recv_init(r, SENDER, MEDIA);
            twcc_recv_packet(r, 10, 640000);
            twcc_recv_build_feedback(r, buf, sizeof buf, 640000);
            twcc_recv_packet(r, (uint16_t)(11 + lost[i]), 64000 * 20 + offset_us[j]);
            cases++;
            size_t len = twcc_recv_build_feedback(r, buf, TWCC_FEEDBACK_MIN_LEN, 64000 * 21);
            const char *why = NULL;
            if (len == 0) {
                stuck++;
                printf("#   %d lost, offset %llu us: nothing written with %zu pending\n", lost[i],
                       (unsigned long long)offset_us[j], twcc_recv_pending(r));
            } else if (len > TWCC_FEEDBACK_MIN_LEN || decode(buf, len, &D, &why) != 0 || D.st[D.count - 1] == 0 ||
                       twcc_recv_pending(r) != 0 ||
                       llabs(D.at_us[D.count - 1] - (int64_t)(64000 * 20 + offset_us[j])) > 125) {
                bad++;
            }
        }
    }
    is_int(stuck, 0, "minimum cap: a packet is written after any run of losses (%d cases)", cases);
    is_int(bad, 0, "minimum cap: within the cap, decodes, reports the received packet");
    free(r);
}

int main(void)
{
    test_min_cap_progress();
    test_hand_vectors();
    test_edges();
    test_in_order();
    test_loss(1500, "loss");
    test_loss(64, "loss, cap 64");
    test_reorder();
    test_wrap();
    test_delta_limits();
    test_long_gaps();
    test_bursts();
    test_negative();
    test_ref_wrap();
    test_random();
    free(H.truth);
    free(H.rep);
    return done_testing();
}
