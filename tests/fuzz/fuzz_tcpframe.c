/*
 * fuzz_tcpframe.c — libFuzzer target for media/tcpframe: what an ICE-TCP
 * peer's bytes go through (RFC 4571 frames found in any cut of the stream)
 * and the send queue's bookkeeping under any sequence of pushes and partial
 * writes.
 *
 * The input is read twice.  As a byte stream, cut where its own bytes say:
 * every frame found lies inside what was read, oversize prefixes stop the
 * parse as the worker stops the connection, and the frames found are the
 * same whatever the cuts.  As a program for a small queue (1 KiB): each
 * byte pushes a frame of its size or writes some of the queue; the written
 * bytes must parse into whole frames, the queue never holds
 * more than its capacity, and written + dropped + left = pushed.
 * Single-threaded; any failed check aborts.
 *
 *   clang -std=gnu11 -g -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_tcpframe.c \
 *       src/media/tcpframe.c src/core/common.c -o fuzz_tcpframe
 *   ./fuzz_tcpframe -max_total_time=60 tests/fuzz/corpus/tcpframe
 */
#include "media/tcpframe.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "fuzz_tcpframe: check failed at line %d: %s\n", __LINE__, #cond);                          \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#define MAX_PAYLOAD 700

/* Frames of data[0..len) as the worker takes them: count and end offset. */
static size_t parse(const uint8_t *data, size_t len, size_t *end, int *too_long)
{
    size_t pos = 0, n, frames = 0;
    *too_long = 0;
    for (;;) {
        int r = tcpframe_next(data + pos, len - pos, MAX_PAYLOAD, &n);
        if (r == TCPFRAME_TOO_LONG) {
            *too_long = 1;
            break;
        }
        if (r == TCPFRAME_MORE)
            break;
        CHECK(n <= MAX_PAYLOAD && TCPFRAME_HDR + n <= len - pos);
        pos += TCPFRAME_HDR + n;
        frames++;
    }
    *end = pos;
    return frames;
}

static void stream(const uint8_t *data, size_t size)
{
    size_t whole_end;
    int whole_long;
    size_t whole = parse(data, size, &whole_end, &whole_long);
    /* The same bytes arriving in pieces (cut lengths from the bytes): the
     * reader keeps the unparsed tail, as h2o's input buffer does. */
    uint8_t *buf = malloc(size + 1);
    size_t have = 0, fed = 0, frames = 0, consumed = 0;
    int stopped = 0;
    while (fed < size && !stopped) {
        size_t cut = 1 + data[fed] % 97;
        if (cut > size - fed)
            cut = size - fed;
        memcpy(buf + have, data + fed, cut);
        have += cut;
        fed += cut;
        size_t end;
        int too_long;
        frames += parse(buf, have, &end, &too_long);
        consumed += end;
        memmove(buf, buf + end, have - end);
        have -= end;
        stopped = too_long;
    }
    free(buf);
    CHECK(frames == whole && consumed == whole_end && stopped == whole_long);
}

static void queue(const uint8_t *data, size_t size)
{
    tcpframe_out_t q;
    tcpframe_out_init(&q, 1024);
    uint8_t wire[1 << 16], payload[300];
    size_t wl = 0;
    unsigned pushed = 0, dropped = 0;
    uint8_t tag = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] & 1) {
            size_t plen = data[i] % 300;
            memset(payload, ++tag, plen);
            dropped += tcpframe_out_push(&q, payload, plen);
            pushed++;
        } else {
            size_t len;
            const uint8_t *p = tcpframe_out_peek(&q, &len);
            size_t take = len ? (size_t)data[i] * 4 % (len + 1) : 0;
            if (wl + take > sizeof(wire))
                break;
            if (take)
                memcpy(wire + wl, p, take);
            wl += take;
            tcpframe_out_consume(&q, take);
        }
        CHECK(q.head_sent + q.len <= q.cap);
    }
    size_t len;
    const uint8_t *p = tcpframe_out_peek(&q, &len);
    if (wl + len <= sizeof(wire)) {
        if (len)
            memcpy(wire + wl, p, len);
        wl += len;
        tcpframe_out_consume(&q, len);
        /* Whole frames, each a run of one tag. */
        size_t pos = 0, n, frames = 0;
        while (tcpframe_next(wire + pos, wl - pos, 65535, &n) == 1) {
            for (size_t k = 1; k < n; k++)
                CHECK(wire[pos + TCPFRAME_HDR + k] == wire[pos + TCPFRAME_HDR]);
            pos += TCPFRAME_HDR + n;
            frames++;
        }
        CHECK(pos == wl);
        CHECK(frames + dropped == pushed);
    }
    tcpframe_out_dispose(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stream(data, size);
    queue(data, size);
    return 0;
}
