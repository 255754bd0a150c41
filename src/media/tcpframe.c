/*
 * tcpframe.c — RFC 4571 frames in and out; see tcpframe.h.
 */
#include "media/tcpframe.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

int tcpframe_next(const uint8_t *buf, size_t len, size_t max_payload, size_t *payload_len)
{
    if (len < TCPFRAME_HDR)
        return TCPFRAME_MORE;
    size_t n = (size_t)buf[0] << 8 | buf[1];
    if (n > max_payload)
        return TCPFRAME_TOO_LONG;
    if (len - TCPFRAME_HDR < n)
        return TCPFRAME_MORE;
    *payload_len = n;
    return 1;
}

void tcpframe_out_init(tcpframe_out_t *q, size_t cap)
{
    *q = (tcpframe_out_t){.cap = cap};
}

void tcpframe_out_dispose(tcpframe_out_t *q)
{
    free(q->buf);
    q->buf = NULL;
    q->alloc = q->off = q->len = q->head_sent = 0;
}

static size_t frame_size(const tcpframe_out_t *q, size_t at)
{
    return TCPFRAME_HDR + ((size_t)q->buf[at] << 8 | q->buf[at + 1]);
}

/* Bytes held: the started frame's written part stays in front of off
 * (its length prefix tells where the frame ends). */
static size_t used(const tcpframe_out_t *q)
{
    return q->head_sent + q->len;
}

/* Drops whole frames from the oldest one not yet started until at least
 * want bytes are free or nothing droppable is left; returns frames dropped. */
static unsigned drop_oldest(tcpframe_out_t *q, size_t want)
{
    size_t start = q->off, end = q->off + q->len;
    if (q->head_sent > 0)
        start = q->off - q->head_sent + frame_size(q, q->off - q->head_sent);
    size_t cut = start;
    unsigned dropped = 0;
    while (cut < end && q->cap - (used(q) - (cut - start)) < want) {
        cut += frame_size(q, cut);
        dropped++;
    }
    if (cut == start)
        return 0;
    if (start == q->off)
        q->off = cut; /* nothing started: the head simply moves */
    else
        memmove(q->buf + start, q->buf + cut, end - cut);
    q->len -= cut - start;
    return dropped;
}

/* Memory follows the backlog (doubling from 4 KiB up to cap): a connection
 * that only ever carries checks and their answers holds a few KiB, not cap. */
static void grow(tcpframe_out_t *q, size_t n)
{
    if (q->alloc >= n)
        return;
    size_t a = q->alloc ? q->alloc : 4096;
    while (a < n)
        a *= 2;
    if (a > q->cap)
        a = q->cap;
    q->buf = xrealloc(q->buf, a);
    q->alloc = a;
}

unsigned tcpframe_out_push(tcpframe_out_t *q, const uint8_t *payload, size_t len)
{
    size_t need = TCPFRAME_HDR + len;
    if (len > 0xFFFF || need > q->cap)
        return 1;
    unsigned dropped = 0;
    if (q->cap - used(q) < need) {
        size_t want = need > q->cap / 4 ? need : q->cap / 4;
        dropped = drop_oldest(q, want);
        if (q->cap - used(q) < need)
            return dropped + 1; /* only the started frame is left and it is too big to share */
    }
    grow(q, used(q) + need);
    if (q->off + q->len + need > q->alloc) {
        memmove(q->buf, q->buf + q->off - q->head_sent, used(q));
        q->off = q->head_sent;
    }
    uint8_t *p = q->buf + q->off + q->len;
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + TCPFRAME_HDR, payload, len);
    q->len += need;
    return dropped;
}

const uint8_t *tcpframe_out_peek(const tcpframe_out_t *q, size_t *len)
{
    *len = q->len;
    return q->len ? q->buf + q->off : NULL;
}

void tcpframe_out_consume(tcpframe_out_t *q, size_t n)
{
    if (n > q->len)
        n = q->len;
    /* Walk frame boundaries so head_sent stays the offset in the first frame. */
    size_t at = q->off - q->head_sent, pos = q->head_sent + n, end = q->off + q->len;
    while (at < end && pos >= frame_size(q, at)) {
        pos -= frame_size(q, at);
        at += frame_size(q, at);
    }
    q->len -= n;
    q->off += n;
    q->head_sent = q->len ? pos : 0;
    if (q->len == 0)
        q->off = 0;
}
