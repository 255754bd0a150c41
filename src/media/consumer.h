/*
 * consumer.h — one track forwarded from a producer to a subscriber's
 * transport.  A consumer of a simulcast producer forwards one encoding at a
 * time and switches only on a keyframe of the encoding it switches to; the
 * subscriber sees one continuous stream: its own SSRC, a sequence space
 * without gaps (seqman_t drops packets without leaving holes), RTP
 * timestamps re-based at each switch, and VP8 picture ids / TL0PICIDX kept
 * continuous.  What the consumer sent is remembered by its own sequence
 * numbers (a history of references into the producer's packet store), so a
 * NACK gets exactly the packet that was sent under that number — never
 * anything it did not send, nor anything muted or paused — as RTX on its own
 * SSRC when the subscriber negotiated it.
 *
 * Which encoding: the highest active one up to min(the subscriber's
 * preference, the allocator's limit); the allocator may also pause video.
 *
 * Worker thread only; no allocation on the packet path.
 *
 * Does not: estimate bandwidth (the transport's congestion controller and
 * allocator decide the limit), decrypt or encrypt (transport.c).
 */
#ifndef IRTC_MEDIA_CONSUMER_H
#define IRTC_MEDIA_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "media/mx.h"
#include "media/recv_stream.h"

typedef struct consumer consumer_t;

/* ---- sequence manager: out = in + offset, dropping without gaps ---- */

#define SEQMAN_WINDOW 512 /* input sequence numbers remembered behind the newest */

typedef struct {
    bool started;
    uint16_t max_in;                      /* newest input seen (sent or dropped) */
    uint16_t offset;                      /* out = in + offset for the newest input, mod 2^16 */
    uint64_t dropped[SEQMAN_WINDOW / 64]; /* bit k: input max_in - k was dropped */
} seqman_t;

/* The next input in maps to out (a layer switch, a resume after a pause). */
void seqman_restart(seqman_t *m, uint16_t in, uint16_t out);
/* Feeds input in; drop says the caller will not send it.  Returns true with
 * *out when the packet is to be sent under *out; false when it is dropped,
 * was dropped before, or is too old to place. */
bool seqman_input(seqman_t *m, uint16_t in, bool drop, uint16_t *out);

/* ---- the consumer ---- */

#define CONSUMER_HISTORY 1024 /* sent packets remembered for NACK (power of two) */
/* A retransmission of one packet at most this often (browsers repeat NACKs
 * before the first retransmission could arrive). */
#define CONSUMER_RESEND_MIN_MS 20
/* Packets resent for one NACK message at most, so one message cannot make
 * us send a burst. */
#define CONSUMER_NACK_BURST 64
/* Layer decisions are revisited this often (and on every change). */
#define CONSUMER_LAYER_CHECK_MS 250
/* A switch down waits at most this long for a keyframe of the lower
 * encoding before asking again. */
#define CONSUMER_SWITCH_RETRY_MS 500

enum { CONSUMER_LIMIT_NONE = -1, CONSUMER_LIMIT_PAUSED = -2 };

typedef struct {
    uint64_t sent_ms, resent_ms;
    uint32_t ts;      /* as sent */
    uint16_t out_seq; /* as sent */
    uint16_t in_seq;  /* the producer's */
    uint16_t picture_id;
    uint8_t tl0picidx;
    uint8_t enc; /* producer encoding */
    bool valid;
    bool marker;
} consumer_hist_t;

struct consumer {
    uint64_t id;
    mx_port_t *port;  /* the subscriber's transport */
    mx_source_t *src; /* the producer's encodings; NULL once the producer closed */
    engine_consumer_desc_t d;

    int cur;       /* encoding being forwarded, -1 = none yet */
    int target;    /* encoding wanted, -1 = none (paused, nothing active) */
    int pref_max;  /* the subscriber's preference, -1 = highest */
    int alloc_max; /* the allocator's limit: CONSUMER_LIMIT_NONE / _PAUSED / an encoding */
    bool waiting_keyframe;
    uint64_t last_switch_req_ms, last_layer_check_ms;
    int reported_layer; /* last ENGINE_EV_CONSUMER_LAYER sent (-3 = none) */

    seqman_t seq;
    uint32_t ts_offset;
    uint16_t picid_offset;
    uint8_t tl0_offset;
    bool sent_any;
    uint16_t last_seq;
    uint32_t last_ts;
    uint16_t last_picid;
    uint8_t last_tl0;
    uint64_t last_sent_ms;

    uint32_t packets, octets; /* for sender reports */
    int slot;                 /* in the transport's allocator, -1 = none (sent unpaced) */
    uint16_t rtx_seq;
    consumer_hist_t hist[CONSUMER_HISTORY];

    consumer_t *id_next; /* engine's id map */
};

/* src may be NULL (no such producer on this worker: nothing flows). */
consumer_t *consumer_new(mx_port_t *port, uint64_t id, const engine_consumer_desc_t *d, mx_source_t *src);
void consumer_free(consumer_t *c);

/* A packet of encoding ei of the producer, stored in slot.  Decides, rewrites
 * into the subscriber's transport and sends. */
void consumer_on_packet(consumer_t *c, unsigned ei, const rs_slot_t *slot, uint64_t now_ms);
/* Builds the packet sent under seq from the history (as RTX when rtx and
 * negotiated; probe_id tags a probe's packets) and sends it now.  Returns
 * its size, 0 when it cannot be made any more (the store moved on). */
size_t consumer_send(consumer_t *c, uint16_t seq, bool rtx, uint16_t probe_id);
/* The newest packet sent that can be resent as RTX (for probing padding),
 * -1 when none. */
int consumer_newest_resendable(const consumer_t *c);
/* When no packet can be resent (a video consumer paused longer than the
 * store keeps packets): one padding-only packet on the RTX stream, as
 * libwebrtc sends for probes (RFC 3550 §5.1 padding, no payload; receivers
 * count its bytes for the estimate and drop it).  Returns its size, 0
 * without a negotiated RTX stream. */
size_t consumer_send_padding_only(consumer_t *c, uint16_t probe_id);
/* The subscriber's generic NACK (sequence numbers in its space). */
void consumer_on_nack(consumer_t *c, const uint16_t *seqs, size_t n, uint64_t now_ms);
/* The subscriber's PLI or FIR. */
void consumer_on_keyframe_request(consumer_t *c, uint64_t now_ms);
/* The producer's sender report for encoding ei: relayed when it is ours. */
void consumer_on_sender_report(consumer_t *c, unsigned ei, uint64_t now_ms);
/* Re-evaluates the encoding to forward (preference, allocator, what is
 * active); asks for a keyframe when it changes.  Cheap; the transport's
 * timer calls it every CONSUMER_LAYER_CHECK_MS. */
void consumer_update_layer(consumer_t *c, uint64_t now_ms);
/* The subscriber's transport is up: ask for a keyframe of the target now. */
void consumer_on_connected(consumer_t *c, uint64_t now_ms);
void consumer_set_preferred_layer(consumer_t *c, int max_layer, uint64_t now_ms);
void consumer_set_allocated_layer(consumer_t *c, int limit, uint64_t now_ms);
/* The producer went away (closed, or muted: wait for a keyframe after). */
void consumer_on_producer_closed(consumer_t *c);
void consumer_on_producer_muted(consumer_t *c, bool muted);
/* The encoding being forwarded (-1 none) and its bitrate now, for the allocator. */
int consumer_current_layer(const consumer_t *c);

#endif
