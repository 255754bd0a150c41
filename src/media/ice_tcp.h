/*
 * ice_tcp.h — one media worker's ICE-TCP side (RFC 6544, passive only):
 * its listening socket on media.tcp_port + i, the connections browsers open
 * to it, RFC 4571 frames in (handed to the worker, which gives them to the
 * engine like datagrams) and out (a bounded queue per connection).
 *
 * Each connection is a path of its own: the tuple {peer address, conn id}
 * (mx_tuple_t) that a transport may nominate.  What protects the worker:
 * - sockets are non-blocking and writes never wait: a peer that reads
 *   slower than its media arrives loses its oldest queued frames
 *   (tcpframe.h), counted in tx_dropped;
 * - a connection that has not carried a connectivity check passing
 *   MESSAGE-INTEGRITY within ICE_TCP_VERIFY_MS, or has been silent for
 *   ICE_TCP_IDLE_MS, is closed; so is one whose length prefix exceeds the
 *   largest packet the worker takes, or that sends garbage in place of
 *   STUN/DTLS/RTP (the engine counts it as it does for UDP);
 * - connections are capped per source address and in total.
 *
 * Thread rules: everything runs on the owning worker's thread; only the
 * counters are read by others (/metrics).  Does not: interpret packets.
 */
#ifndef IRTC_MEDIA_ICE_TCP_H
#define IRTC_MEDIA_ICE_TCP_H

#include <stdatomic.h>
#include <stdint.h>

#include <h2o.h>

#include "core/config.h"
#include "media/mx.h"

#define ICE_TCP_VERIFY_MS 5000
#define ICE_TCP_IDLE_MS 30000
#define ICE_TCP_OUT_CAP (256 * 1024) /* queued bytes per connection: ~0.8 s of 2.5 Mbps video */
#define ICE_TCP_MAX_CONNS 4096       /* per worker, whatever limits.max_connections says */

typedef struct ice_tcp ice_tcp_t;

/* Why a connection was closed (/metrics irtc_media_tcp_closed_total{reason}). */
enum {
    ICE_TCP_CLOSED_UNVERIFIED, /* no check passing MESSAGE-INTEGRITY within ICE_TCP_VERIFY_MS */
    ICE_TCP_CLOSED_IDLE,       /* silent for ICE_TCP_IDLE_MS */
    ICE_TCP_CLOSED_BAD_FRAME,  /* a length prefix over the largest packet */
    ICE_TCP_CLOSED_PEER,       /* closed or reset by the peer */
    ICE_TCP_CLOSED_REASONS
};

typedef struct {
    _Atomic uint64_t accepted, refused, open;
    _Atomic uint64_t closed[ICE_TCP_CLOSED_REASONS];
    _Atomic uint64_t rx_frames, tx_frames, tx_dropped;
} ice_tcp_stats_t;

typedef struct {
    void *ctx;
    /* One frame (may be modified in place) from a connection. */
    void (*on_frame)(void *ctx, uint8_t *buf, size_t len, const mx_tuple_t *from);
    /* A connection closed, whatever the reason. */
    void (*on_gone)(void *ctx, const mx_tuple_t *tuple);
} ice_tcp_cbs_t;

/* Takes listen_fd, a listening non-blocking TCP socket the worker opened
 * at start beside its UDP one (worker thread). */
ice_tcp_t *ice_tcp_new(h2o_evloop_t *loop, int listen_fd, const cfg_t *cfg, const ice_tcp_cbs_t *cbs,
                       ice_tcp_stats_t *stats);
/* Closes the listener and every connection without calling on_gone. */
void ice_tcp_free(ice_tcp_t *it);
/* Queues one packet for connection conn (dropped if it is gone). */
void ice_tcp_send(ice_tcp_t *it, uint32_t conn, const uint8_t *buf, size_t len);
/* Writes what the connections queued, as far as their sockets take it. */
void ice_tcp_flush(ice_tcp_t *it);
/* A check on conn passed MESSAGE-INTEGRITY: it may stay. */
void ice_tcp_verified(ice_tcp_t *it, uint32_t conn);

#endif
