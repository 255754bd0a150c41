/*
 * test_tcpframe.c — RFC 4571 framing (media/tcpframe.h): frames found in
 * any cut of the byte stream, oversize prefixes refused before their body,
 * and the send queue: exact bytes on the wire, partial writes, drop-oldest
 * that never drops the frame being written, bounds, and a random workload
 * whose written stream always re-parses into whole frames in order.
 */
#include "media/tcpframe.h"
#include "unit/tap.h"

#include <stdlib.h>
#include <string.h>

/* Parses every frame of s[0..n); returns how many, checking each payload
 * is a run of its own first byte (how the tests build them). */
static int parse_all(const uint8_t *s, size_t n, int *bad, uint8_t *last_tag)
{
    size_t pos = 0, len;
    int frames = 0;
    while (tcpframe_next(s + pos, n - pos, 65535, &len) == 1) {
        const uint8_t *p = s + pos + TCPFRAME_HDR;
        for (size_t i = 1; i < len; i++)
            if (p[i] != p[0])
                (*bad)++;
        if (len > 0) {
            if (last_tag && (uint8_t)(p[0] - *last_tag) > 128)
                (*bad)++; /* went backwards: order broken */
            if (last_tag)
                *last_tag = p[0];
        }
        pos += TCPFRAME_HDR + len;
        frames++;
    }
    if (pos != n)
        (*bad)++;
    return frames;
}

int main(void)
{
    size_t len = 99;
    uint8_t s[] = {0x00, 0x03, 'a', 'b', 'c', 0x00, 0x00, 0x00, 0x01, 'z'};
    ok(tcpframe_next(s, 0, 100, &len) == TCPFRAME_MORE && tcpframe_next(s, 1, 100, &len) == TCPFRAME_MORE,
       "no header yet: more");
    ok(tcpframe_next(s, 4, 100, &len) == TCPFRAME_MORE, "header but partial body: more");
    ok(tcpframe_next(s, 5, 100, &len) == 1 && len == 3 && memcmp(s + 2, "abc", 3) == 0, "a whole frame");
    ok(tcpframe_next(s + 5, 2, 100, &len) == 1 && len == 0, "an empty frame is a frame");
    ok(tcpframe_next(s + 7, 3, 100, &len) == 1 && len == 1, "the next one");
    uint8_t big[2] = {0xFF, 0xFF};
    ok(tcpframe_next(big, 2, 2048, &len) == TCPFRAME_TOO_LONG, "a 65535 prefix over the limit is refused at once");
    ok(tcpframe_next(s, 5, 2, &len) == TCPFRAME_TOO_LONG, "limit is on the payload");

    /* every cut of a stream of frames gives the same frames */
    uint8_t stream[64];
    size_t sl = 0;
    for (int f = 0; f < 6; f++) {
        stream[sl++] = 0;
        stream[sl++] = (uint8_t)f;
        memset(stream + sl, 'A' + f, (size_t)f);
        sl += (size_t)f;
    }
    int cuts_ok = 1;
    for (size_t cut = 0; cut <= sl; cut++) {
        size_t pos = 0;
        int found = 0;
        while (tcpframe_next(stream + pos, cut - pos, 100, &len) == 1)
            pos += TCPFRAME_HDR + len, found++;
        size_t pos2 = pos;
        while (tcpframe_next(stream + pos2, sl - pos2, 100, &len) == 1)
            pos2 += TCPFRAME_HDR + len, found++;
        if (found != 6 || pos2 != sl)
            cuts_ok = 0;
    }
    ok(cuts_ok, "a stream cut anywhere yields the same 6 frames");

    /* the queue */
    tcpframe_out_t q;
    tcpframe_out_init(&q, 100);
    size_t n;
    ok(tcpframe_out_peek(&q, &n) == NULL && n == 0, "empty queue: nothing to write");
    uint8_t p[200];
    memset(p, 1, sizeof(p));
    ok(tcpframe_out_push(&q, p, 10) == 0, "a frame fits");
    const uint8_t *w = tcpframe_out_peek(&q, &n);
    ok(n == 12 && w[0] == 0 && w[1] == 10 && w[2] == 1, "length prefix then payload");
    tcpframe_out_consume(&q, 5);
    ok(q.head_sent == 5 && q.len == 7, "a partial write leaves the head started");
    memset(p, 2, sizeof(p));
    ok(tcpframe_out_push(&q, p, 40) == 0, "second fits");
    memset(p, 3, sizeof(p));
    ok(tcpframe_out_push(&q, p, 40) == 0, "third fits (7 + 42 + 42 <= 100)");
    memset(p, 4, sizeof(p));
    unsigned d = tcpframe_out_push(&q, p, 40);
    ok(d == 1, "fourth drops the oldest not-started frame (%u)", d);
    w = tcpframe_out_peek(&q, &n);
    ok(n == 7 + 42 + 42 && w[0] == 1 && w[7 + 2] == 3 && w[7 + 44] == 4,
       "the started head's rest stays, the second went, third and fourth follow");
    tcpframe_out_consume(&q, 7);
    ok(q.head_sent == 0 && q.len == 84, "head finished exactly at its end");
    tcpframe_out_consume(&q, 43);
    ok(q.head_sent == 1, "consume across a boundary keeps the offset in the new head");
    ok(tcpframe_out_push(&q, p, 99) == 1 && q.len == 41, "a frame larger than the queue is dropped alone");
    tcpframe_out_consume(&q, 1000);
    ok(q.len == 0 && q.head_sent == 0 && tcpframe_out_peek(&q, &n) == NULL, "over-consume empties");
    tcpframe_out_dispose(&q);

    /* memory follows the backlog */
    tcpframe_out_init(&q, 256 * 1024);
    ok(q.alloc == 0, "nothing allocated before the first frame");
    tcpframe_out_push(&q, p, 100);
    ok(q.alloc == 4096, "a check's answer takes 4 KiB, not the capacity (%zu)", q.alloc);
    uint8_t big_payload[1200];
    memset(big_payload, 9, sizeof(big_payload));
    unsigned drops = 0;
    for (int i = 0; i < 1000; i++)
        drops += tcpframe_out_push(&q, big_payload, sizeof(big_payload));
    ok(q.alloc == 256 * 1024 && drops > 0 && q.head_sent + q.len <= q.cap,
       "a backlog grows it to the capacity and no further (%zu, %u dropped)", q.alloc, drops);
    tcpframe_out_dispose(&q);

    /* random workload: pushes of random sizes, random partial writes; the
     * written stream is whole frames in push order (some missing), memory bounded */
    srand(7);
    tcpframe_out_init(&q, 4096);
    /* room for everything pushed (20000 frames of at most 1301 bytes + 2):
     * the last copy below must fit too */
    const size_t wire_cap = (size_t)20000 * 1303;
    uint8_t *wire = malloc(wire_cap);
    size_t wl = 0;
    unsigned pushed = 0, dropped = 0, max_len = 0;
    uint8_t tag = 0;
    for (int it = 0; it < 20000; it++) {
        size_t plen = (size_t)(rand() % 1300);
        memset(p, 0, 0);
        uint8_t buf[1300];
        memset(buf, ++tag, plen);
        dropped += tcpframe_out_push(&q, buf, plen);
        pushed++;
        if (q.len > max_len)
            max_len = (unsigned)q.len;
        if (rand() % 3 == 0) {
            const uint8_t *o = tcpframe_out_peek(&q, &n);
            size_t take = n ? (size_t)(rand() % (int)(n + 1)) : 0;
            if (wl + take <= wire_cap) {
                memcpy(wire + wl, o, take);
                wl += take;
                tcpframe_out_consume(&q, take);
            }
        }
    }
    const uint8_t *o = tcpframe_out_peek(&q, &n);
    ok(wl + n <= wire_cap, "what is left fits the test's buffer (%zu + %zu)", wl, n);
    if (wl + n <= wire_cap) {
        memcpy(wire + wl, o, n);
        wl += n;
    }
    tcpframe_out_consume(&q, n);
    int bad = 0;
    uint8_t last = 0;
    int frames = parse_all(wire, wl, &bad, &last);
    ok(bad == 0, "the written stream parses into whole, ordered frames (bad %d)", bad);
    ok(frames + (int)dropped == (int)pushed, "written + dropped = pushed (%d + %u = %u)", frames, dropped, pushed);
    ok(dropped > 0 && max_len <= 4096, "drops happened and the queue never passed its cap (max %u)", max_len);
    free(wire);
    tcpframe_out_dispose(&q);
    return done_testing();
}
