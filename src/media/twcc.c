/*
 * twcc.c — transport-wide CC receiver: arrival history indexed by unwrapped
 * sequence number, and the feedback encoder (draft-holmer-rmcat-transport-
 * wide-cc-extensions-01 §3.1).
 *
 * Runs on the media worker that owns the transport; per packet and per
 * feedback it only touches the twcc_recv_t and the caller's buffer.
 *
 * Does not: send anything, decode feedback, or estimate bandwidth.
 *
 * The encoder works in two passes over the same history: the first decides
 * where the packet must end (size limit, a delta that does not fit 16 bits)
 * and how many chunks that takes, the second writes chunks and deltas in one
 * go, since the deltas follow all chunks.  Both passes run the same
 * deterministic code, so they agree.
 */
#include "media/twcc.h"

#include <string.h>

#include "core/bytes.h"
#include "core/common.h"
#include "media/rtp.h"

#define HDR_LEN 20        /* RTCP header, two SSRCs, base, count, ref time, fb count */
#define TICK_US 250       /* recv delta unit */
#define REF_UNIT_US 64000 /* reference time unit */
#define MAX_RUN 0x1FFF    /* 13-bit run length */
#define ONE_BIT_CAP 14
#define TWO_BIT_CAP 7
#define MAX_STATUS 0xFFFF

enum { SYM_NONE = 0, SYM_SMALL = 1, SYM_LARGE = 2, SYM_OVERFLOW = 3 };

/* The chunk being filled: a run of one symbol, or up to 14 mixed symbols
 * (1-bit vector) when none needs a large delta, or 7 (2-bit vector). */
typedef struct {
    uint8_t sym[ONE_BIT_CAP];
    unsigned n;
    bool all_same, has_large;
} chunker_t;

typedef struct {
    chunker_t ck;
    size_t n_chunks; /* closed chunks */
    size_t delta_bytes;
    int64_t cursor_us; /* quantized arrival of the previous packet reported */
    uint8_t *chunks;   /* NULL while planning */
    uint8_t *deltas;
} writer_t;

static inline uint64_t *slot(twcc_recv_t *r, int64_t seq)
{
    return &r->arrival_us[(uint64_t)seq & (TWCC_HISTORY - 1)];
}

static inline uint64_t arrival(const twcc_recv_t *r, int64_t seq)
{
    return r->arrival_us[(uint64_t)seq & (TWCC_HISTORY - 1)];
}

void twcc_recv_init(twcc_recv_t *r, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    memset(r, 0, offsetof(twcc_recv_t, arrival_us));
    r->sender_ssrc = sender_ssrc;
    r->media_ssrc = media_ssrc;
    for (size_t i = 0; i < TWCC_HISTORY; i++)
        r->arrival_us[i] = TWCC_NOT_RECEIVED;
}

void twcc_recv_packet(twcc_recv_t *r, uint16_t transport_seq, uint64_t arrival_us)
{
    if (arrival_us == TWCC_NOT_RECEIVED)
        arrival_us--;
    if (!r->started) {
        r->started = true;
        r->max_seq = r->next_seq = transport_seq;
        *slot(r, transport_seq) = arrival_us;
        return;
    }
    int64_t s = r->max_seq + (int16_t)(uint16_t)(transport_seq - (uint16_t)r->max_seq);
    if (s > r->max_seq) {
        /* Slots entering the window still hold the previous lap's values. */
        int64_t floor = s - TWCC_HISTORY + 1;
        for (int64_t x = IRTC_MAX(r->max_seq + 1, floor); x < s; x++)
            *slot(r, x) = TWCC_NOT_RECEIVED;
        r->max_seq = s;
        if (r->next_seq < floor)
            r->next_seq = floor;
    } else if (s <= r->max_seq - TWCC_HISTORY) {
        r->n_too_old++;
        return;
    } else if (*slot(r, s) != TWCC_NOT_RECEIVED) {
        r->n_duplicate++;
        return;
    }
    *slot(r, s) = arrival_us;
    /* Already reported as lost: report again from here.  The sender drops
     * the repeated "received" entries and corrects the lost one. */
    if (s < r->next_seq)
        r->next_seq = s;
}

size_t twcc_recv_pending(const twcc_recv_t *r)
{
    if (!r->started || r->next_seq > r->max_seq)
        return 0;
    return (size_t)(r->max_seq - r->next_seq + 1);
}

bool twcc_recv_due(const twcc_recv_t *r, uint64_t now_us)
{
    size_t n = twcc_recv_pending(r);
    return n > 0 && (n >= TWCC_FEEDBACK_PACKETS || now_us - r->last_fb_us >= TWCC_FEEDBACK_INTERVAL_US);
}

/* ---- packet status chunks (§3.1.3, §3.1.4) ------------------------------ */

static bool ck_fits(const chunker_t *c, uint8_t s)
{
    if (c->n < TWO_BIT_CAP)
        return true;
    if (c->n < ONE_BIT_CAP && !c->has_large && s != SYM_LARGE)
        return true;
    return c->n < MAX_RUN && c->all_same && s == c->sym[0];
}

static void ck_push(chunker_t *c, uint8_t s)
{
    if (c->n < ONE_BIT_CAP)
        c->sym[c->n] = s;
    c->all_same = c->n == 0 || (c->all_same && s == c->sym[0]);
    c->has_large = (c->n > 0 && c->has_large) || s == SYM_LARGE;
    c->n++;
}

static uint16_t ck_run(const chunker_t *c)
{
    return (uint16_t)(c->sym[0] << 13 | c->n);
}

/* Symbols beyond n are "not received" filler; the status count ends them. */
static uint16_t ck_vector(const chunker_t *c, unsigned n, bool two_bit)
{
    uint16_t v = two_bit ? 0xC000 : 0x8000;
    for (unsigned i = 0; i < n; i++)
        v |= two_bit ? (uint16_t)(c->sym[i] << (12 - 2 * i)) : (uint16_t)(c->sym[i] << (13 - i));
    return v;
}

/* Closes a chunk because the next symbol does not fit; a 2-bit vector takes
 * the first 7 symbols and leaves the rest open. */
static uint16_t ck_close(chunker_t *c)
{
    uint16_t chunk;
    if (c->all_same) {
        chunk = ck_run(c);
        c->n = 0;
    } else if (c->n == ONE_BIT_CAP) {
        chunk = ck_vector(c, ONE_BIT_CAP, false);
        c->n = 0;
    } else {
        chunk = ck_vector(c, TWO_BIT_CAP, true);
        unsigned rest = c->n - TWO_BIT_CAP;
        uint8_t tmp[ONE_BIT_CAP];
        memcpy(tmp, c->sym + TWO_BIT_CAP, rest);
        c->n = 0;
        for (unsigned i = 0; i < rest; i++)
            ck_push(c, tmp[i]);
    }
    return chunk;
}

static uint16_t ck_last(const chunker_t *c)
{
    if (c->all_same)
        return ck_run(c);
    if (c->n <= TWO_BIT_CAP)
        return ck_vector(c, c->n, true);
    return ck_vector(c, c->n, false);
}

/* ---- feedback writer ---------------------------------------------------- */

/* Quantizes to 250 µs against the previous reported time, not the previous
 * real one, so rounding errors never accumulate over a packet. */
static uint8_t classify(writer_t *w, uint64_t at, int32_t *ticks)
{
    if (at == TWCC_NOT_RECEIVED)
        return SYM_NONE;
    int64_t d = (int64_t)at - w->cursor_us;
    int64_t t = d >= 0 ? (d + TICK_US / 2) / TICK_US : -((-d + TICK_US / 2) / TICK_US);
    if (t < INT16_MIN || t > INT16_MAX)
        return SYM_OVERFLOW;
    w->cursor_us += t * TICK_US;
    *ticks = (int32_t)t;
    return t >= 0 && t <= 255 ? SYM_SMALL : SYM_LARGE;
}

static void writer_push(writer_t *w, uint8_t sym, int32_t ticks)
{
    if (!ck_fits(&w->ck, sym)) {
        uint16_t chunk = ck_close(&w->ck);
        if (w->chunks != NULL)
            wr16(w->chunks + 2 * w->n_chunks, chunk);
        w->n_chunks++;
    }
    ck_push(&w->ck, sym);
    if (sym == SYM_NONE)
        return;
    if (w->deltas != NULL) {
        if (sym == SYM_SMALL)
            w->deltas[w->delta_bytes] = (uint8_t)ticks;
        else
            wr16(w->deltas + w->delta_bytes, (uint16_t)(int16_t)ticks);
    }
    w->delta_bytes += sym == SYM_SMALL ? 1 : 2;
}

static size_t writer_size(const writer_t *w)
{
    size_t n = HDR_LEN + 2 * (w->n_chunks + (w->ck.n > 0)) + w->delta_bytes;
    return (n + 3) & ~(size_t)3;
}

/* The first received packet sets the reference time (§3.1: the first recv
 * delta is relative to it); it is floored to 64 ms. */
static void writer_start(writer_t *w, const twcc_recv_t *r, int64_t end, uint32_t *ref)
{
    for (int64_t s = r->next_seq; s < end; s++) {
        uint64_t at = arrival(r, s);
        if (at != TWCC_NOT_RECEIVED) {
            w->cursor_us = (int64_t)(at / REF_UNIT_US * REF_UNIT_US);
            *ref = (uint32_t)(at / REF_UNIT_US) & 0xFFFFFFu;
            return;
        }
    }
}

/* Where this packet ends (exclusive): after the last received packet that
 * fits in limit and whose delta fits 16 bits.  *n_chunks gets the chunks
 * needed up to there. */
static int64_t plan(const twcc_recv_t *r, size_t limit, size_t *n_chunks)
{
    writer_t w = {0};
    uint32_t ref;
    int64_t end = r->next_seq;
    int64_t stop = IRTC_MIN(r->max_seq + 1, r->next_seq + MAX_STATUS);
    writer_start(&w, r, stop, &ref);
    for (int64_t s = r->next_seq; s < stop; s++) {
        int32_t ticks = 0;
        uint8_t sym = classify(&w, arrival(r, s), &ticks);
        if (sym == SYM_OVERFLOW)
            break;
        writer_push(&w, sym, ticks);
        if (writer_size(&w) > limit)
            break;
        if (sym != SYM_NONE) {
            end = s + 1;
            *n_chunks = w.n_chunks + (w.ck.n > 0);
        }
    }
    return end;
}

size_t twcc_recv_build_feedback(twcc_recv_t *r, uint8_t *out, size_t cap, uint64_t now_us)
{
    size_t limit = IRTC_MIN(cap, (size_t)TWCC_FEEDBACK_MAX_LEN), n_chunks = 0;
    if (twcc_recv_pending(r) == 0 || limit < TWCC_FEEDBACK_MIN_LEN)
        return 0;
    int64_t end = plan(r, limit, &n_chunks);
    if (end == r->next_seq)
        return 0; /* unreachable with limit >= TWCC_FEEDBACK_MIN_LEN */

    writer_t w = {.chunks = out + HDR_LEN, .deltas = out + HDR_LEN + 2 * n_chunks};
    uint32_t ref = 0;
    writer_start(&w, r, end, &ref);
    for (int64_t s = r->next_seq; s < end; s++) {
        int32_t ticks = 0;
        uint8_t sym = classify(&w, arrival(r, s), &ticks);
        writer_push(&w, sym, ticks);
    }
    wr16(w.chunks + 2 * w.n_chunks, ck_last(&w.ck));

    size_t body = HDR_LEN + 2 * n_chunks + w.delta_bytes, len = writer_size(&w);
    /* RFC 3550 §6.4.1 padding: zeros, then the count in the last byte. */
    if (len > body) {
        memset(out + body, 0, len - body - 1);
        out[len - 1] = (uint8_t)(len - body);
    }
    out[0] = (uint8_t)(0x80 | (len > body ? 0x20 : 0) | RTCP_RTPFB_TWCC);
    out[1] = RTCP_PT_RTPFB;
    wr16(out + 2, (uint16_t)(len / 4 - 1));
    wr32(out + 4, r->sender_ssrc);
    wr32(out + 8, r->media_ssrc);
    wr16(out + 12, (uint16_t)r->next_seq);
    wr16(out + 14, (uint16_t)(end - r->next_seq));
    wr32(out + 16, ref << 8 | r->fb_count);

    r->next_seq = end;
    r->fb_count++;
    r->last_fb_us = now_us;
    return len;
}
