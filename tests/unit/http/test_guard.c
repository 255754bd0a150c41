/*
 * test_guard.c — src/http/guard.c on its own (pure bookkeeping, time passed
 * in): connection caps per source and in total, penalties, the table's
 * growth and sweeping; HTTP/2 frame budgets against rapid reset, SETTINGS,
 * PING and control-frame floods, fed in every possible cut; the HTTP/1.x
 * framing check (RFC 9112 §6.3).
 */
#include "http/guard.h"
#include "core/common.h"
#include "core/tbucket.h"
#include "unit/tap.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t A[4] = {192, 0, 2, 1}, B[4] = {192, 0, 2, 2};
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

static void test_tbucket(void)
{
    tbucket_t t;
    tbucket_init(&t, 3, 1000);
    int n = 0;
    while (tbucket_take(&t, 10, 3, 1000))
        n++;
    is_int(n, 3, "a bucket of 3 gives 3 at once");
    ok(!tbucket_take(&t, 10, 3, 1099), "nothing after 99 ms at 10/s");
    ok(tbucket_take(&t, 10, 3, 1100), "one after 100 ms at 10/s");
    ok(!tbucket_take(&t, 10, 3, 1100), "and only one");
    n = 0;
    while (tbucket_take(&t, 10, 3, 1000000000000ull))
        n++;
    is_int(n, 3, "a long idle time refills to the burst, not beyond (no overflow)");
    ok(!tbucket_take(&t, 10, 3, 5), "time going back earns nothing");
}

static void test_caps(void)
{
    guard_t *g = guard_new(5, 2);
    guard_source_t *s1, *s2, *s3, *x;
    is_int(guard_admit(g, A, 4, 0, &s1), GUARD_ADMIT, "first from A");
    is_int(guard_admit(g, A, 4, 0, &s2), GUARD_ADMIT, "second from A");
    is_int(guard_admit(g, A, 4, 0, &x), GUARD_SOURCE_FULL, "third from A: per-source cap");
    ok(x == NULL, "no entry handed out when refused");
    is_int(guard_open_from(g, A, 4), 2, "two open from A");
    is_int(guard_admit(g, B, 4, 0, &s3), GUARD_ADMIT, "B is another source");
    guard_source_t *b2, *v6, *v6b;
    is_int(guard_admit(g, B, 4, 0, &b2), GUARD_ADMIT, "second from B");
    is_int(guard_admit(g, A6, 16, 0, &v6), GUARD_ADMIT, "an IPv6 source");
    is_int(guard_admit(g, A6, 16, 0, &v6b), GUARD_FULL, "sixth connection: total cap");
    is_int(guard_open(g), 5, "five open");
    guard_release(g, s1, 0);
    is_int(guard_admit(g, A, 4, 0, &s1), GUARD_ADMIT, "a released slot is free again");
    guard_release(g, s1, 0);
    guard_release(g, s2, 0);
    guard_release(g, s3, 0);
    guard_release(g, b2, 0);
    guard_release(g, v6, 0);
    guard_release(g, NULL, 0);
    is_int(guard_open(g), 0, "all released (NULL ignored)");

    is_int(guard_admit(g, A, 4, 1000, &s1), GUARD_ADMIT, "A again");
    guard_penalize(g, s1, 1000);
    guard_release(g, s1, 1000);
    is_int(guard_admit(g, A, 4, 1000 + GUARD_PENALTY_MS - 1, &x), GUARD_PENALIZED, "A penalized");
    is_int(guard_admit(g, B, 4, 1001, &s3), GUARD_ADMIT, "B unaffected");
    guard_release(g, s3, 1001);
    is_int(guard_admit(g, A, 4, 1000 + GUARD_PENALTY_MS, &s1), GUARD_ADMIT, "A admitted once the penalty is over");
    guard_release(g, s1, 1000 + GUARD_PENALTY_MS);
    guard_free(g);

    /* Many sources: the table grows, and sources long gone are swept. */
    g = guard_new(100000, 1);
    uint8_t ip[4] = {10, 0, 0, 0};
    guard_source_t **kept = calloc(5000, sizeof(*kept));
    int bad = 0;
    for (int i = 0; i < 5000; i++) {
        ip[2] = (uint8_t)(i >> 8), ip[3] = (uint8_t)i;
        bad += guard_admit(g, ip, 4, 0, &kept[i]) != GUARD_ADMIT;
    }
    is_int(bad, 0, "5000 sources admitted");
    for (int i = 0; i < 5000; i++) {
        ip[2] = (uint8_t)(i >> 8), ip[3] = (uint8_t)i;
        bad += guard_open_from(g, ip, 4) != 1;
    }
    is_int(bad, 0, "each found again after the table grew");
    for (int i = 0; i < 5000; i++)
        guard_release(g, kept[i], 0);
    uint8_t other[4] = {172, 16, 0, 0};
    for (int i = 0; i < 5000; i++) {
        other[2] = (uint8_t)(i >> 8), other[3] = (uint8_t)i;
        guard_source_t *s;
        bad += guard_admit(g, other, 4, 1, &s) != GUARD_ADMIT;
        guard_release(g, s, 1);
    }
    is_int(bad, 0, "5000 more short-lived sources");
    ok(guard_sources(g) <= 8192, "idle sources are swept, not kept forever (%zu held)", guard_sources(g));
    free(kept);
    guard_free(g);
}

/* A client preface, then frames: type, flags, stream, payload length. */
typedef struct {
    uint8_t b[1 << 20];
    size_t n;
} stream_t;

static void preface(stream_t *s)
{
    memcpy(s->b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    s->n = 24;
}

static void frame(stream_t *s, uint8_t type, uint8_t flags, uint32_t id, uint32_t len)
{
    if (s->n + 9 + len > sizeof(s->b))
        abort(); /* a test that wants more must say so */
    uint8_t *p = s->b + s->n;
    p[0] = (uint8_t)(len >> 16), p[1] = (uint8_t)(len >> 8), p[2] = (uint8_t)len;
    p[3] = type, p[4] = flags;
    p[5] = (uint8_t)(id >> 24), p[6] = (uint8_t)(id >> 16), p[7] = (uint8_t)(id >> 8), p[8] = (uint8_t)id;
    memset(p + 9, 0x5a, len);
    s->n += 9 + len;
}

/* Feeds s in pieces of `cut` bytes; returns the verdict and how many frames
 * were counted when it came. */
static guard_h2_verdict_t feed(const stream_t *s, size_t cut, uint64_t now_ms, uint64_t *frames)
{
    guard_h2_t h;
    guard_h2_init(&h, now_ms);
    guard_h2_verdict_t v = GUARD_H2_OK;
    for (size_t i = 0; i < s->n && v == GUARD_H2_OK; i += cut)
        v = guard_h2_feed(&h, s->b + i, IRTC_MIN(cut, s->n - i), now_ms);
    *frames = h.frames;
    return v;
}

static stream_t S;

static void test_h2(void)
{
    uint64_t frames;
    /* A browser-like session: SETTINGS, WINDOW_UPDATE, 100 requests with a
     * body, a few cancelled, pings and acks. */
    preface(&S);
    frame(&S, 4, 0, 0, 18);
    frame(&S, 8, 0, 0, 4);
    for (uint32_t i = 0; i < 100; i++) {
        frame(&S, 1, 0x4, 1 + 2 * i, 40);
        frame(&S, 0, 0x1, 1 + 2 * i, 300);
    }
    for (uint32_t i = 0; i < 10; i++)
        frame(&S, 3, 0, 1 + 2 * i, 4);
    frame(&S, 4, 0x1, 0, 0);
    frame(&S, 6, 0, 0, 8);
    frame(&S, 6, 0x1, 0, 8);
    int bad = 0;
    size_t cuts[] = {1, 2, 7, 9, 10, 23, 24, 25, 333, 1 << 20};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(cuts); i++) {
        bad += feed(&S, cuts[i], 0, &frames) != GUARD_H2_OK;
        bad += frames != 215;
    }
    is_int(bad, 0, "a browser-like session passes, every frame counted, in any cut");

    /* CVE-2023-44487: HEADERS + RST_STREAM pairs. */
    guard_h2_verdict_t v;
    preface(&S);
    frame(&S, 4, 0, 0, 0);
    for (uint32_t i = 0; i < 5000; i++) {
        frame(&S, 1, 0x5, 1 + 2 * i, 20);
        frame(&S, 3, 0, 1 + 2 * i, 4);
    }
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(cuts); i++) {
        v = feed(&S, cuts[i], 0, &frames);
        if (v != GUARD_H2_RESETS || frames != 1 + 2 * (GUARD_H2_RESETS_BURST + 1)) {
            printf("#   cut %zu: %s after %llu frames\n", cuts[i], guard_h2_name(v), (unsigned long long)frames);
            bad++;
        }
    }
    is_int(bad, 0, "rapid reset: refused at the %dth RST_STREAM, in any cut", GUARD_H2_RESETS_BURST + 1);

    /* The same pairs spread over time stay within the rate. */
    guard_h2_t h;
    guard_h2_init(&h, 0);
    preface(&S);
    v = guard_h2_feed(&h, S.b, S.n, 0);
    for (uint32_t i = 0; i < 3000 && v == GUARD_H2_OK; i++) {
        S.n = 0;
        frame(&S, 1, 0x5, 1 + 2 * i, 20);
        frame(&S, 3, 0, 1 + 2 * i, 4);
        v = guard_h2_feed(&h, S.b, S.n, (uint64_t)i * 1000 / GUARD_H2_RESETS_RATE);
    }
    is_int(v, GUARD_H2_OK, "resets at the sustained rate are allowed (3000 over %d s)", 3000 / GUARD_H2_RESETS_RATE);

    struct {
        uint8_t type, flags;
        uint32_t len;
        guard_h2_verdict_t want;
        const char *name;
    } floods[] = {
        {4, 0, 6, GUARD_H2_SETTINGS, "SETTINGS"},  {6, 0, 8, GUARD_H2_PINGS, "PING"},
        {2, 0, 5, GUARD_H2_CONTROL, "PRIORITY"},   {8, 0, 4, GUARD_H2_CONTROL, "WINDOW_UPDATE"},
        {0, 0, 0, GUARD_H2_CONTROL, "empty DATA"}, {0xfa, 0, 3, GUARD_H2_CONTROL, "unknown type"},
        {1, 0x4, 10, GUARD_H2_STREAMS, "HEADERS"},
    };
    for (size_t k = 0; k < IRTC_ARRAY_SIZE(floods); k++) {
        preface(&S);
        for (uint32_t i = 0; i < 3000; i++)
            frame(&S, floods[k].type, floods[k].flags, floods[k].type == 1 ? 1 + 2 * i : 0, floods[k].len);
        is_int(feed(&S, 4096, 0, &frames), floods[k].want, "%s flood refused (%s after %llu frames)", floods[k].name,
               guard_h2_name(floods[k].want), (unsigned long long)frames);
    }
    preface(&S);
    for (uint32_t i = 0; i < 3000; i++)
        frame(&S, 6, 0x1, 0, 8);
    for (uint32_t i = 0; i < 3000; i++)
        frame(&S, 4, 0x1, 0, 0);
    for (uint32_t i = 0; i < 500; i++)
        frame(&S, 0, 0, 1, 1000);
    is_int(feed(&S, 4096, 0, &frames), GUARD_H2_OK, "acknowledgements and DATA with payload cost nothing");
    /* A huge declared length is just skipped over, never buffered. */
    preface(&S);
    frame(&S, 0, 0, 1, 0);
    S.b[24] = 0xff, S.b[25] = 0xff, S.b[26] = 0xff;
    S.n = 24 + 9;
    is_int(feed(&S, 1, 0, &frames), GUARD_H2_OK, "a 16 MB frame header alone is fine");
}

static void test_framing(void)
{
    const char *why = NULL;
    struct {
        const char *req;
        int want;
        const char *name;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", IRTC_OK, "no body"},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", IRTC_OK, "one Content-Length"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", IRTC_OK, "chunked"},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc", IRTC_EINVAL, "two Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc", IRTC_EINVAL,
         "two different Content-Length"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", IRTC_EINVAL, "TE and CL"},
        {"POST / HTTP/1.1\nCONTENT-LENGTH: 3\ntransfer-encoding: chunked\n\n", IRTC_EINVAL, "TE and CL, LF only"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", IRTC_EINVAL,
         "two Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nX-Content-Length: 3\r\nContent-Length: 3\r\n\r\n", IRTC_OK,
         "a longer name is another header"},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nContent-Length: 9\r\n", IRTC_OK, "the body is not headers"},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\n Content-Length: 9\r\n\r\n", IRTC_OK, "a folded line names nothing"},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3", IRTC_OK, "no end of headers: nothing to judge"},
        {"", IRTC_OK, "empty"},
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(cases); i++) {
        why = NULL;
        int rc = guard_http1_framing(cases[i].req, strlen(cases[i].req), &why);
        ok(rc == cases[i].want && (rc == IRTC_OK || (why != NULL && why[0] != '\0')), "framing: %s%s%s", cases[i].name,
           why ? " — " : "", why ? why : "");
    }
}

int main(void)
{
    test_tbucket();
    test_caps();
    test_h2();
    test_framing();
    return done_testing();
}
