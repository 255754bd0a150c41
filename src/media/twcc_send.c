/*
 * twcc_send.c — transport-wide CC send side: the send history indexed by
 * unwrapped sequence number and the feedback decoder
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
 *
 * Runs on the media worker that owns the transport; touches only the
 * twcc_send_t and the feedback bytes it is given.
 *
 * Does not: send, build feedback, or estimate bandwidth.
 *
 * The decoder reads a packet twice.  twcc_send_feedback_begin walks the
 * status chunks to the status count and checks that the receive deltas they
 * call for are all there; only then does anything change.  The iterator then
 * reads chunks and deltas side by side (the deltas follow all the chunks, so
 * their start is only known after the first walk).
 */
#include "media/twcc_send.h"

#include <string.h>

#include "core/bytes.h"
#include "core/common.h"

#define TICK_US 250       /* receive delta unit, §3.1.5 */
#define REF_UNIT_US 64000 /* reference time unit, §3.1 */
#define MASK (TWCC_SEND_HISTORY - 1)

enum { SYM_NONE = 0, SYM_SMALL = 1, SYM_LARGE = 2, SYM_RESERVED = 3 };
enum { SLOT_EMPTY = 0, SLOT_SENT, SLOT_LOST, SLOT_RECEIVED };

_Static_assert((TWCC_SEND_HISTORY & MASK) == 0 && 65536 % TWCC_SEND_HISTORY == 0,
               "history must be a power of two dividing 65536");

void twcc_send_init(twcc_send_t *t)
{
    memset(t, 0, sizeof *t);
}

uint16_t twcc_send_add(twcc_send_t *t, uint64_t now_us, size_t size, uint8_t flags, uint16_t probe_id)
{
    int64_t seq = t->next_seq++;
    twcc_send_slot_t *s = &t->slot[seq & MASK];
    /* The slot's previous packet leaves the history: if no feedback covered
     * it, it stops counting as in flight (its feedback was lost). */
    int64_t old = seq - TWCC_SEND_HISTORY;
    if (s->state != SLOT_EMPTY && old >= t->covered_seq) {
        t->inflight_bytes -= s->size;
        t->covered_seq = old + 1;
    }
    if (s->state == SLOT_SENT)
        t->n_unreported++;
    uint16_t sz = size > UINT16_MAX ? UINT16_MAX : (uint16_t)size;
    *s = (twcc_send_slot_t){
        .send_us = now_us, .seq = (uint16_t)seq, .size = sz, .probe_id = probe_id, .flags = flags, .state = SLOT_SENT};
    t->inflight_bytes += sz;
    return (uint16_t)seq;
}

/* ---- packet status chunks (§3.1.3, §3.1.4) ------------------------------ */

/* Symbols a chunk carries: a run's length, or 14 one-bit / 7 two-bit symbols. */
static unsigned chunk_symbols(uint16_t c)
{
    if (!(c & 0x8000))
        return c & 0x1FFF;
    return c & 0x4000 ? 7 : 14;
}

static unsigned chunk_symbol(uint16_t c, unsigned i)
{
    if (!(c & 0x8000))
        return c >> 13 & 3;
    if (c & 0x4000)
        return c >> (12 - 2 * i) & 3;
    return c >> (13 - i) & 1;
}

/* Walks the chunks of count statuses: *chunks_end gets where the deltas
 * start, *delta_bytes how many bytes of deltas they announce. */
static int walk_chunks(const uint8_t *p, size_t len, uint32_t count, size_t *chunks_end, size_t *delta_bytes)
{
    size_t off = 0, deltas = 0;
    while (count > 0) {
        if (off + 2 > len)
            return IRTC_EINVAL;
        uint16_t c = rd16(p + off);
        off += 2;
        unsigned take = IRTC_MIN(chunk_symbols(c), count);
        if (!(c & 0x8000)) {
            unsigned s = chunk_symbol(c, 0);
            if (s == SYM_RESERVED && take > 0)
                return IRTC_EINVAL;
            deltas += (size_t)take * s;
        } else {
            for (unsigned i = 0; i < take; i++) {
                unsigned s = chunk_symbol(c, i);
                if (s == SYM_RESERVED)
                    return IRTC_EINVAL;
                deltas += s;
            }
        }
        count -= take;
    }
    if (deltas > len - off)
        return IRTC_EINVAL;
    *chunks_end = off;
    *delta_bytes = deltas;
    return IRTC_OK;
}

/* ---- feedback ------------------------------------------------------------ */

static void note_fb_count(twcc_send_t *t, uint8_t fb_count)
{
    if (t->have_fb) {
        int8_t d = (int8_t)(uint8_t)(fb_count - t->last_fb_count);
        if (d <= 0) {
            t->n_fb_reordered++;
            return;
        }
        t->n_fb_lost += (uint64_t)(d - 1);
    }
    t->last_fb_count = fb_count;
}

/* The reference time is 24 bits of 64 ms (about 12 days): unwrapped against
 * the previous feedback's.  A peer can walk it by 2^23 per packet; past
 * 2^40 units (2,000 years) it starts over from the raw value, so arrival
 * times and their differences never come near int64 overflow. */
#define REF_LIMIT ((int64_t)1 << 40)

static int64_t unwrap_ref(twcc_send_t *t, int32_t ref_time)
{
    uint32_t r = (uint32_t)ref_time & 0xFFFFFFu;
    if (!t->have_fb)
        return r;
    int32_t d = (int32_t)((r - (uint32_t)t->ref_time) & 0xFFFFFFu);
    if (d >= 0x800000)
        d -= 0x1000000;
    int64_t u = t->ref_time + d;
    return u > REF_LIMIT || u < -REF_LIMIT ? r : u;
}

/* Everything below end was answered (received or lost) or never will be. */
static void cover(twcc_send_t *t, int64_t end)
{
    end = IRTC_MIN(end, t->next_seq);
    int64_t s = IRTC_MAX(t->covered_seq, t->next_seq - TWCC_SEND_HISTORY);
    for (; s < end; s++)
        t->inflight_bytes -= t->slot[s & MASK].size;
    if (end > t->covered_seq)
        t->covered_seq = end;
}

int twcc_send_feedback_begin(twcc_send_t *t, const rtcp_twcc_t *fb, uint64_t now_us, twcc_fb_iter_t *it)
{
    size_t chunks_end, delta_bytes;
    if (walk_chunks(fb->chunks, fb->chunks_len, fb->status_count, &chunks_end, &delta_bytes) != IRTC_OK) {
        t->n_malformed++;
        return IRTC_EINVAL;
    }
    /* The base is unwrapped against the newest packet sent: feedback can only
     * be about packets already sent, at most 65535 of them back. */
    int64_t highest = t->next_seq - 1;
    int64_t base = highest + (int16_t)(uint16_t)(fb->base_seq - (uint16_t)highest);
    int64_t ref = unwrap_ref(t, fb->ref_time);

    note_fb_count(t, fb->fb_count);
    t->have_fb = true;
    t->ref_time = ref;
    t->last_fb_us = now_us;
    t->n_feedback++;
    cover(t, base + fb->status_count);

    *it = (twcc_fb_iter_t){
        .t = t,
        .chunks = fb->chunks,
        .chunks_len = fb->chunks_len,
        .delta_off = chunks_end,
        .seq = base,
        .left = fb->status_count,
        .at_us = ref * REF_UNIT_US,
    };
    return IRTC_OK;
}

/* The slot of seq if it is in the history, else NULL. */
static twcc_send_slot_t *lookup(twcc_send_t *t, int64_t seq)
{
    if (seq >= t->next_seq || seq < t->next_seq - TWCC_SEND_HISTORY)
        return NULL;
    twcc_send_slot_t *s = &t->slot[seq & MASK];
    return s->state != SLOT_EMPTY && s->seq == (uint16_t)seq ? s : NULL;
}

/* Applies one status to the history; true if it is news worth a result. */
static bool apply(twcc_send_t *t, int64_t seq, bool received, int64_t at_us, twcc_result_t *r)
{
    twcc_send_slot_t *s = lookup(t, seq);
    if (s == NULL) {
        t->n_unknown++;
        return false;
    }
    bool was_lost = s->state == SLOT_LOST;
    if (s->state == SLOT_RECEIVED || (!received && was_lost)) {
        t->n_duplicate++;
        return false;
    }
    s->state = received ? SLOT_RECEIVED : SLOT_LOST;
    if (received) {
        t->n_received++;
        t->n_recovered += was_lost;
    } else {
        t->n_lost++;
    }
    *r = (twcc_result_t){.seq = seq,
                         .send_us = s->send_us,
                         .arrival_us = received ? at_us : 0,
                         .size = s->size,
                         .probe_id = s->probe_id,
                         .flags = s->flags,
                         .received = received,
                         .recovered = received && was_lost};
    return true;
}

size_t twcc_send_feedback_next(twcc_fb_iter_t *it, twcc_result_t *out, size_t cap)
{
    size_t n = 0;
    while (it->left > 0 && n < cap) {
        /* Bounds were checked by walk_chunks for exactly these reads. */
        uint16_t c = rd16(it->chunks + it->chunk_off);
        if (it->sym_in_chunk >= chunk_symbols(c)) {
            it->chunk_off += 2;
            it->sym_in_chunk = 0;
            continue;
        }
        unsigned sym = chunk_symbol(c, it->sym_in_chunk++);
        if (sym == SYM_SMALL) {
            it->at_us += TICK_US * (int64_t)it->chunks[it->delta_off];
            it->delta_off += 1;
        } else if (sym == SYM_LARGE) {
            it->at_us += TICK_US * (int64_t)(int16_t)rd16(it->chunks + it->delta_off);
            it->delta_off += 2;
        }
        int64_t seq = it->seq++;
        it->left--;
        if (apply(it->t, seq, sym != SYM_NONE, it->at_us, &out[n]))
            n++;
    }
    return n;
}
