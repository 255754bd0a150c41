/*
 * producer.h — one track a client sends on a transport: audio, or video as
 * one to ENGINE_MAX_ENCODINGS simulcast encodings (each a recv_stream_t,
 * lowest first).  It receives the transport's authenticated RTP for its
 * SSRCs, unwraps RTX, stores each packet once and hands it to its consumers
 * and recording taps; it asks the publisher for keyframes (PLI, at most one
 * per second per encoding unless a consumer that cannot decode anything yet
 * needs one) and for lost packets (NACK), and relays the publisher's sender
 * reports to its consumers.
 *
 * Worker thread only; allocation only in producer_new and when consumers or
 * taps are added.
 *
 * Does not: pick which encoding a consumer gets (consumer.c), own the
 * transport's keys or address (transport.c).
 */
#ifndef IRTC_MEDIA_PRODUCER_H
#define IRTC_MEDIA_PRODUCER_H

#include <stdbool.h>
#include <stdint.h>

#include "media/consumer.h"
#include "media/mx.h"
#include "media/recv_stream.h"

typedef struct producer producer_t;
struct spsc_ring;
struct mx_pipe;

#define PRODUCER_PLI_MIN_INTERVAL_MS 1000
/* Audio level (RFC 6464) is averaged over windows of this length; a mean
 * at or above PRODUCER_SPEECH_DBOV (in -dBov: at most 55 below full scale)
 * counts as speaking.  Speech sits at -20..-45 dBov, room noise below -60. */
#define PRODUCER_LEVEL_WINDOW_MS 300
#define PRODUCER_SPEECH_DBOV 55
/* Packets a producer holds for a deferred fan-out (engine_fanout) before it
 * fans out on its own. */
#define PRODUCER_FANOUT_MAX 64

typedef struct {
    const rs_slot_t *slot;
    uint64_t now_ms;
    uint16_t seq;
    uint8_t ei;
} producer_held_t;

struct producer {
    uint64_t id;
    mx_port_t *port; /* the publisher's transport */
    engine_producer_desc_t d;
    mx_source_t src; /* encodings and mute, what consumers read */
    /* consumers of this producer, any encoding */
    consumer_t **consumers;
    unsigned n_consumers, cap_consumers;
    /* recorders: each ring holds one reference for us */
    struct spsc_ring **taps;
    unsigned n_taps;
    int tap_enc; /* the encoding the taps follow (the highest active) */
    /* Home side of a room spanning workers (media/pipe.h): each pipe takes
     * a copy of every stored packet for a remote worker's subscribers; one
     * reference held for each. */
    struct mx_pipe **pipes;
    unsigned n_pipes;
    /* Remote side: this producer is fed by pipe_in instead of a transport
     * (port is the engine's portless stand-in); its keyframe requests go
     * back to the home worker.  NULL for a publisher's own producer. */
    struct mx_pipe *pipe_in;
    struct {
        uint32_t sum, n; /* levels (-dBov) of this window's packets */
        uint64_t start_ms;
        bool active; /* the last window was speech-loud */
    } level;
    producer_t *id_next; /* engine's id map */
    /* Deferred fan-out (mx_ctx_t.defer_fanout): packets stored and not yet
     * given to the consumers, and the engine's list of producers holding
     * some.  A slot that was overwritten meanwhile (seq no longer matches)
     * is skipped. */
    producer_held_t fanout[PRODUCER_FANOUT_MAX];
    unsigned n_fanout;
    bool fanout_listed;
    producer_t *fanout_next;
};

producer_t *producer_new(mx_port_t *port, uint64_t id, const engine_producer_desc_t *d);
/* Unlinks every consumer (they wait for a producer no more) and frees. */
void producer_free(producer_t *p);

/* Authenticated RTP for encoding ei (RTX when is_rtx: unwrapped here).  pkt
 * may be modified in place. */
void producer_on_rtp(producer_t *p, unsigned ei, bool is_rtx, uint8_t *pkt, size_t len, const rtp_hdr_t *h,
                     uint64_t now_ms);
void producer_on_sender_report(producer_t *p, const rtcp_report_t *r, uint64_t now_ms);
/* Gives the packets held for a deferred fan-out to the consumers:
 * consumer by consumer, each getting all of them in order, so one
 * subscriber's state is touched once per batch and its datagrams sit
 * together in the send batch (one UDP GSO message). */
void producer_fanout(producer_t *p);
/* Asks for a keyframe on encoding ei.  force skips the 1 s rate limit once
 * (a consumer or recorder that has nothing to show). */
void producer_request_keyframe(producer_t *p, unsigned ei, bool force, uint64_t now_ms);
/* NACKs and keyframe requests (rs_want_keyframe) due now, and the audio
 * level event at the end of each window: the transport's timer, every 20 ms. */
void producer_on_timer(producer_t *p, uint64_t now_ms);
void producer_set_muted(producer_t *p, bool muted, uint64_t now_ms);

void producer_add_consumer(producer_t *p, consumer_t *c);
void producer_remove_consumer(producer_t *p, consumer_t *c);
/* Takes the ring's reference.  Recording starts on a keyframe. */
void producer_add_tap(producer_t *p, struct spsc_ring *ring, uint64_t now_ms);
void producer_remove_tap(producer_t *p, struct spsc_ring *ring);

/* Home: takes the pipe's reference; remove drops it (the pipe is only
 * compared; false when p had no such pipe). */
void producer_add_pipe(producer_t *p, struct mx_pipe *pipe);
bool producer_remove_pipe(producer_t *p, struct mx_pipe *pipe);
/* Remote: feeds what the home worker piped since the last call to the
 * consumers, as if it had come from a transport. */
void producer_pipe_drain(producer_t *p, uint64_t now_ms);

/* The encoding with this SSRC (or RTX SSRC), -1 if none. */
int producer_encoding_of_ssrc(const producer_t *p, uint32_t ssrc, bool *is_rtx);
/* The highest encoding that is active now, -1 when none is. */
int producer_highest_active(const producer_t *p, uint64_t now_ms);

#endif
