/*
 * nack.c — NACK generator, NACK packet splitting and the retransmission
 * buffer (RFC 4585 §6.2.1).
 *
 * Runs on the media worker owning the stream, per packet and per timer tick;
 * touches only the structures passed in.
 *
 * Does not: send, protect or parse anything; rtp.c builds the NACK bytes.
 */
#include "media/nack.h"

#include <string.h>

#include "core/common.h"
#include "media/rtp.h"

/* ---- NACK generator ------------------------------------------------------ */

void nack_gen_init(nack_gen_t *g)
{
    memset(g, 0, offsetof(nack_gen_t, items));
    g->n_requested = g->n_recovered = g->n_given_up = g->n_keyframe = 0;
}

/* Index of the first item with seq >= s. */
static size_t find(const nack_gen_t *g, int64_t s)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->items[mid].seq < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int restart(nack_gen_t *g, int64_t s, int flags)
{
    g->n = 0;
    g->highest = s;
    if (flags & NACK_PKT_KEYFRAME)
        g->n_keyframe++;
    return flags;
}

static int on_late(nack_gen_t *g, int64_t s)
{
    size_t i = find(g, s);
    if (i < g->n && g->items[i].seq == s) {
        memmove(&g->items[i], &g->items[i + 1], (g->n - i - 1) * sizeof g->items[0]);
        g->n--;
        g->n_recovered++;
        return NACK_PKT_RECOVERED;
    }
    if (g->highest - s > NACK_RESET_AGE)
        return restart(g, s, 0);
    return NACK_PKT_OLD;
}

int nack_gen_packet(nack_gen_t *g, uint16_t seq, uint64_t now_ms)
{
    if (!g->started) {
        g->started = true;
        g->highest = seq;
        return 0;
    }
    int64_t s = g->highest + (int16_t)(uint16_t)(seq - (uint16_t)g->highest);
    if (s == g->highest)
        return NACK_PKT_OLD;
    if (s < g->highest)
        return on_late(g, s);
    int64_t gap = s - g->highest - 1;
    /* A loss this large cannot be repaired before the decoder gives up;
     * a keyframe is cheaper than hundreds of retransmissions. */
    if (gap > (int64_t)(NACK_MAX_MISSING - g->n))
        return restart(g, s, NACK_PKT_KEYFRAME);
    for (int64_t x = g->highest + 1; x < s; x++)
        g->items[g->n++] = (nack_item_t){.seq = x, .due_ms = now_ms + NACK_REORDER_MS, .tries = 0};
    g->highest = s;
    return 0;
}

size_t nack_gen_collect(nack_gen_t *g, uint64_t now_ms, uint64_t rtt_ms, uint16_t *seqs, size_t cap)
{
    uint64_t interval = IRTC_MAX(rtt_ms, (uint64_t)NACK_MIN_RETRY_MS);
    size_t k = 0, w = 0;
    for (size_t i = 0; i < g->n; i++) {
        nack_item_t it = g->items[i];
        if (now_ms >= it.due_ms) {
            /* The last request had a full interval to be answered. */
            if (it.tries >= NACK_MAX_TRIES) {
                g->n_given_up++;
                continue;
            }
            if (k < cap) {
                seqs[k++] = (uint16_t)it.seq;
                it.tries++;
                it.due_ms = now_ms + interval;
                g->n_requested++;
            }
        }
        g->items[w++] = it;
    }
    g->n = w;
    return k;
}

/* ---- NACK packets ---------------------------------------------------------- */

/* How many leading seqs fit in max_pairs PID/BLP pairs, grouping exactly as
 * rtcp_build_nack does: a pair covers its PID and the 16 numbers after it. */
static size_t prefix_fitting(const uint16_t *seqs, size_t n, size_t max_pairs)
{
    size_t pairs = 1;
    uint16_t pid = seqs[0];
    for (size_t i = 1; i < n; i++) {
        uint16_t d = (uint16_t)(seqs[i] - pid);
        if (d <= 16)
            continue;
        if (++pairs > max_pairs)
            return i;
        pid = seqs[i];
    }
    return n;
}

size_t nack_build_rtcp(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, const uint16_t *seqs,
                       size_t n, size_t *consumed)
{
    *consumed = 0;
    if (n == 0 || cap < 16)
        return 0;
    size_t take = prefix_fitting(seqs, n, IRTC_MIN((cap - 12) / 4, (size_t)0xFFFF));
    size_t len = rtcp_build_nack(out, cap, sender_ssrc, media_ssrc, seqs, take);
    if (len > 0)
        *consumed = take;
    return len;
}

/* ---- retransmission buffer -------------------------------------------------- */

int rtx_buf_init(rtx_buf_t *b, void *storage, size_t slots, size_t slot_size)
{
    if (storage == NULL || ((uintptr_t)storage & 7) != 0 || slots == 0 || (slots & (slots - 1)) != 0 ||
        slot_size < RTP_HEADER_LEN || slot_size > 0xFFFF)
        return IRTC_EINVAL;
    b->storage = storage;
    b->slots = slots;
    b->slot_size = slot_size;
    b->stride = sizeof(rtx_slot_t) + ((slot_size + 7) & ~(size_t)7);
    b->max_age_ms = RTX_BUF_MAX_AGE_MS;
    for (size_t i = 0; i < slots; i++)
        memset(b->storage + i * b->stride, 0, sizeof(rtx_slot_t));
    return IRTC_OK;
}

static inline rtx_slot_t *slot_of(const rtx_buf_t *b, uint16_t seq)
{
    return (rtx_slot_t *)(void *)(b->storage + (seq & (b->slots - 1)) * b->stride);
}

int rtx_buf_put(rtx_buf_t *b, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
    if (len < RTP_HEADER_LEN || len > b->slot_size)
        return IRTC_EINVAL;
    uint16_t seq = rtp_get_seq(pkt);
    rtx_slot_t *s = slot_of(b, seq);
    *s = (rtx_slot_t){.stored_ms = now_ms, .seq = seq, .len = (uint16_t)len};
    memcpy(s + 1, pkt, len);
    return IRTC_OK;
}

static rtx_slot_t *lookup(const rtx_buf_t *b, uint16_t seq, uint64_t now_ms)
{
    rtx_slot_t *s = slot_of(b, seq);
    if (s->len == 0 || s->seq != seq || now_ms - s->stored_ms > b->max_age_ms)
        return NULL;
    return s;
}

const uint8_t *rtx_buf_get(const rtx_buf_t *b, uint16_t seq, uint64_t now_ms, size_t *len)
{
    rtx_slot_t *s = lookup(b, seq, now_ms);
    if (s == NULL)
        return NULL;
    *len = s->len;
    return (const uint8_t *)(s + 1);
}

const uint8_t *rtx_buf_get_resend(rtx_buf_t *b, uint16_t seq, uint64_t now_ms, uint64_t min_interval_ms, size_t *len)
{
    rtx_slot_t *s = lookup(b, seq, now_ms);
    if (s == NULL || (s->resends > 0 && now_ms - s->resent_ms < min_interval_ms))
        return NULL;
    s->resent_ms = now_ms;
    if (s->resends < UINT16_MAX)
        s->resends++;
    *len = s->len;
    return (const uint8_t *)(s + 1);
}
