/*
 * engine.h — one media worker's SFU engine, as its owner sees it: the
 * commands the control thread sends (open a transport, add a producer or a
 * consumer to it, mute, tap for recording …), the events it sends back, and
 * the three calls its worker makes (a datagram arrived, a command arrived,
 * time passed).
 *
 * Model (mediasoup's, with our names):
 *   transport — one client PeerConnection: ICE-lite, DTLS, SRTP, its 5-tuple
 *               (transport.h);
 *   producer  — one track a client sends on a transport (audio, or video
 *               with 1..3 simulcast encodings) (producer.h);
 *   consumer  — one track forwarded to a subscriber's transport from a
 *               producer, choosing the encoding (consumer.h).
 * A transport may hold producers and consumers at once; a client using one
 * PeerConnection per direction has one transport of each kind.
 *
 * Threading: an engine_t belongs to exactly one worker thread and is driven
 * only by it.  The control thread builds engine_cmd_t values and hands them
 * to the worker (engine_cmd_post), never touching the engine itself; events
 * go back through the io.emit callback given at creation.  The packet path
 * takes no lock and allocates nothing; transports, producers and consumers
 * are allocated by the commands that create them.
 *
 * Does not: parse SDP or choose codecs (src/sfu does, on the control thread),
 * know rooms or users, own sockets (io.send does the I/O).
 */
#ifndef IRTC_MEDIA_ENGINE_H
#define IRTC_MEDIA_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media/mx.h"

typedef struct engine engine_t;
struct dtls_cert;

typedef enum {
    ENGINE_CMD_TRANSPORT_OPEN = 1, /* id, transport */
    ENGINE_CMD_TRANSPORT_ICE,      /* id, transport.ufrag/pwd: ICE restart */
    ENGINE_CMD_TRANSPORT_CLOSE,    /* id: closes its producers and consumers too */
    ENGINE_CMD_PRODUCER_ADD,       /* id, transport_id, producer */
    ENGINE_CMD_PRODUCER_CLOSE,     /* id */
    ENGINE_CMD_PRODUCER_MUTE,      /* id, flag */
    ENGINE_CMD_PRODUCER_KEYFRAME,  /* id */
    ENGINE_CMD_CONSUMER_ADD,       /* id, transport_id, consumer */
    ENGINE_CMD_CONSUMER_CLOSE,     /* id */
    ENGINE_CMD_CONSUMER_LAYER,     /* id, layer: the preferred highest encoding (-1: highest) */
    ENGINE_CMD_TAP_ADD,            /* id (producer), ring: its plaintext RTP (highest encoding) into ring */
    ENGINE_CMD_TAP_DEL,            /* id (producer), ring */
    ENGINE_CMD_TRANSPORT_DATA,     /* id, transport.data/sctp_port/…max_message: data channels accepted */
    ENGINE_CMD_DATA_SEND,          /* id (transport), data/data_len, binary, flag (reliable): one message */
    /* A room spanning workers (media/pipe.h).  The remote worker's pipe
     * producer has the home producer's id, so CONSUMER_ADD, PRODUCER_MUTE
     * and PRODUCER_CLOSE name it on either worker. */
    ENGINE_CMD_PIPE_IN,  /* id, producer (as published), pipe: a producer fed by the pipe (remote worker) */
    ENGINE_CMD_PIPE_OUT, /* id (producer), pipe: copy its packets into the pipe (home worker) */
    ENGINE_CMD_PIPE_DEL, /* id (producer), pipe: stop that copy (home worker; the pipe is only compared) */
} engine_cmd_type_t;

struct spsc_ring;
struct mx_pipe;

typedef struct {
    engine_cmd_type_t type;
    uint64_t id;
    uint64_t transport_id;
    bool flag;
    int layer;
    struct spsc_ring *ring; /* TAP_ADD: the command's reference moves to the engine */
    struct mx_pipe *pipe;   /* PIPE_IN / PIPE_OUT: likewise; PIPE_DEL: only compared */
    uint8_t *data;          /* DATA_SEND: malloc'd, moves with the command (engine_on_command frees it) */
    size_t data_len;
    bool binary;
    union {
        engine_transport_desc_t transport;
        engine_producer_desc_t producer;
        engine_consumer_desc_t consumer;
    } u;
} engine_cmd_t;

engine_t *engine_new(const engine_io_t *io, const struct dtls_cert *cert, engine_stats_t *stats);
void engine_free(engine_t *e); /* closes every transport (DTLS close_notify goes out) */
/* One datagram from the UDP socket or one RFC 4571 frame from a TCP
 * connection, received at now_us (one clock read serves a whole receive
 * batch); buf may be modified in place. */
void engine_on_packet(engine_t *e, uint8_t *buf, size_t len, const mx_tuple_t *from, uint64_t now_us);
/* A TCP connection closed: the transport that used it has no path until
 * the client's next valid check on another (its liveness timer runs on). */
void engine_on_tuple_gone(engine_t *e, const mx_tuple_t *tuple);
void engine_on_command(engine_t *e, engine_cmd_t *cmd);
/* Runs what is due (DTLS retransmits, RTCP, NACK, liveness, feedback); returns
 * the absolute µs time of the next deadline, so the worker can sleep until it. */
uint64_t engine_on_timer(engine_t *e, uint64_t now_us);

/* End of the worker's loop turn: wakes each remote worker this one piped
 * packets to, once. */
void engine_flush_pipes(engine_t *e);
/* The worker's pipe eventfd fired: feeds what the home workers piped. */
void engine_drain_pipes(engine_t *e, uint64_t now_us);

/* Deferred fan-out: with it on, a publisher's RTP is stored at once but
 * handed to its consumers only at engine_fanout, which the owner calls at
 * the end of each receive batch (commands, timers and pipe drains call it
 * first themselves).  A batch holding several packets of one stream (a
 * frame arriving while the worker was busy) then goes out subscriber by
 * subscriber: each one's transport, pacer and SRTP state is touched once
 * per batch instead of once per packet, and its packets sit together in
 * the send batch, one UDP GSO message.  Off: each packet is fanned out as
 * it arrives (tests that look at the output per packet; IRTC_FANOUT=packet
 * for before/after measurements). */
void engine_set_deferred_fanout(engine_t *e, bool on);
void engine_fanout(engine_t *e);

/* Objects alive (tests, /metrics). */
size_t engine_transport_count(const engine_t *e);

#endif
