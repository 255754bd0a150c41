/*
 * twcc_send.h — send side of transport-wide congestion control
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01) for one subscriber
 * transport: assigns the transport-wide sequence number of every packet sent
 * (the caller writes it into the header extension with rtp_ext_write_be),
 * keeps a send history (sequence → send time, size, kind, probe cluster), and
 * decodes the subscriber's RTCP transport-cc feedback (packet status chunks
 * and receive deltas, §3.1) into one result per packet: when it was sent and
 * when it arrived, or that it was lost.  gcc.h consumes the results.
 *
 * One twcc_send_t per subscriber transport, owned by the media worker that
 * owns the transport: fixed size (about 64 KiB), no allocation, no locks, no
 * logging.  Everything in a feedback packet comes from the network: the
 * decoder validates the whole packet before it changes any state, never
 * reads outside it, and its work is bounded by the packet's length and the
 * history size.
 *
 * Does not: parse the RTCP header (rtp.h's rtcp_parse_twcc gives the fixed
 * part), build feedback (twcc.h is the receiver side), or estimate anything.
 */
#ifndef IRTC_MEDIA_TWCC_SEND_H
#define IRTC_MEDIA_TWCC_SEND_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "media/rtp.h"

/* Packets remembered (power of two, divides 65536).  Feedback comes every
 * 50-100 ms; 4096 packets are 1.6 s at 2,500 packets/s (~25 Mbps), so only
 * feedback later than that is ignored (counted in n_unknown). */
#define TWCC_SEND_HISTORY 4096

/* Packet kinds (flags, combinable). */
enum {
    TWCC_SEND_AUDIO = 1,
    TWCC_SEND_RTX = 2,     /* a retransmission (RFC 4588) */
    TWCC_SEND_PADDING = 4, /* padding-only, or RTX sent as padding for a probe */
};

/* No probe cluster. */
#define TWCC_NO_PROBE 0

typedef struct {
    uint64_t send_us;
    uint16_t seq; /* 16-bit sequence number, tells the laps of a slot apart */
    uint16_t size;
    uint16_t probe_id;
    uint8_t flags;
    uint8_t state; /* empty, sent, reported lost, reported received */
} twcc_send_slot_t;

typedef struct {
    int64_t next_seq;        /* unwrapped sequence number of the next packet */
    int64_t covered_seq;     /* packets below this were covered by feedback */
    uint64_t inflight_bytes; /* sent and not yet covered by any feedback */
    bool have_fb;
    uint8_t last_fb_count;
    int64_t ref_time; /* unwrapped 24-bit reference time of the newest feedback, 64 ms units */
    uint64_t last_fb_us;

    /* counters, for /metrics */
    uint64_t n_feedback;     /* feedback packets accepted */
    uint64_t n_malformed;    /* feedback packets rejected whole */
    uint64_t n_fb_lost;      /* gaps in the feedback packet count */
    uint64_t n_fb_reordered; /* feedback older than one already seen */
    uint64_t n_unknown;      /* statuses for packets not in the history */
    uint64_t n_duplicate;    /* statuses repeating what was already reported */
    uint64_t n_unreported;   /* packets that left the history without any report */
    uint64_t n_received, n_lost, n_recovered;

    twcc_send_slot_t slot[TWCC_SEND_HISTORY];
} twcc_send_t;

/* One packet's fate, as the feedback tells it. */
typedef struct {
    int64_t seq;        /* unwrapped transport-wide sequence number */
    uint64_t send_us;   /* our clock */
    int64_t arrival_us; /* the receiver's clock (only differences mean anything); valid if received */
    uint16_t size;
    uint16_t probe_id;
    uint8_t flags;
    bool received;
    bool recovered; /* received after an earlier feedback reported it lost */
} twcc_result_t;

/* Walks one validated feedback packet (see twcc_send_feedback_begin). */
typedef struct {
    twcc_send_t *t;
    const uint8_t *chunks; /* packet status chunks, then receive deltas */
    size_t chunks_len;
    size_t chunk_off; /* offset of the chunk being read */
    size_t delta_off; /* offset of the next receive delta */
    unsigned sym_in_chunk;
    int64_t seq;   /* unwrapped sequence number of the next status */
    uint32_t left; /* statuses still to read */
    int64_t at_us; /* running arrival time */
} twcc_fb_iter_t;

void twcc_send_init(twcc_send_t *t);

/* Records a packet leaving now (size: bytes on the wire as counted against
 * the estimate; kind: TWCC_SEND_* flags; probe_id: the pacer's cluster or
 * TWCC_NO_PROBE) and returns the 16-bit transport-wide sequence number to
 * write into it.  Call it when the packet really goes out (after the pacer),
 * so sequence order is send order. */
uint16_t twcc_send_add(twcc_send_t *t, uint64_t now_us, size_t size, uint8_t flags, uint16_t probe_id);

/* Where the send time of the packet twcc_send_add last recorded lives: the
 * caller may overwrite it with when the packet really left (a worker sends
 * a whole turn's datagrams after building them, milliseconds after the
 * turn's clock read; GCC's delay gradient needs the real time). */
static inline uint64_t *twcc_send_last_time(twcc_send_t *t)
{
    return &t->slot[(t->next_seq - 1) & (TWCC_SEND_HISTORY - 1)].send_us;
}

/* Validates one feedback packet (from rtcp_parse_twcc) and prepares *it.
 * IRTC_OK, or IRTC_EINVAL with nothing changed when the chunks are malformed
 * (reserved symbol, truncated chunks or deltas).  On success the in-flight
 * count and the feedback counters are updated; read the results with
 * twcc_send_feedback_next. */
int twcc_send_feedback_begin(twcc_send_t *t, const rtcp_twcc_t *fb, uint64_t now_us, twcc_fb_iter_t *it);

/* Writes up to cap results, in sequence order, and returns how many; 0 when
 * the packet is exhausted.  Packets already reported received, not in the
 * history, or reported lost again are skipped (and counted). */
size_t twcc_send_feedback_next(twcc_fb_iter_t *it, twcc_result_t *out, size_t cap);

/* Bytes sent that no feedback covered yet. */
static inline uint64_t twcc_send_inflight(const twcc_send_t *t)
{
    return t->inflight_bytes;
}

#endif
