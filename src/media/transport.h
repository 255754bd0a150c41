/*
 * transport.h — one client PeerConnection on a media worker: ICE-lite
 * (answers the client's checks, adopts the nominated address), DTLS (as
 * server, fingerprint checked) and the SRTP keys it exports, liveness, and
 * the producers and consumers carried over it.  Every packet in or out of a
 * client passes here: RTP is demultiplexed to producers by SSRC (or by
 * mid/rid header extensions the first time), RTCP to producers (sender
 * reports) and consumers (NACK, PLI/FIR, receiver reports), and consumers
 * send through the transport's mx_port_t, which paces them, writes the transport-wide sequence
 * number and protects the packet straight into the outgoing datagram.
 * DTLS application data goes to the transport's SCTP association (data
 * channels, sctp.h) when the answer accepted them; its messages go up as
 * ENGINE_EV_DATA events and come down as ENGINE_CMD_DATA_SEND.
 *
 * Worker thread only (the engine's).  No allocation on the packet path.
 *
 * Does not: find a transport for a datagram (engine.c keeps the maps), know
 * which subscriber gets what (producer.c / consumer.c).
 */
#ifndef IRTC_MEDIA_TRANSPORT_H
#define IRTC_MEDIA_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media/consumer.h"
#include "media/dtls.h"
#include "media/mx.h"
#include "media/producer.h"
#include "media/rtp.h"
#include "media/sctp.h"
#include "media/srtp_session.h"
#include "media/stun.h"
#include "media/twcc.h"
#include "media/twcc_send.h"

typedef struct transport transport_t;

/* No ICE + DTLS this long after creation: failed. */
#define TRANSPORT_CONNECT_TIMEOUT_MS 30000
/* Nothing authenticated from the client this long: failed (RFC 7675's 30 s;
 * for an ICE-lite server, media, RTCP, checks and indications all count). */
#define TRANSPORT_LIVENESS_TIMEOUT_MS 30000
#define TRANSPORT_RR_INTERVAL_MS 1000
#define TRANSPORT_SR_INTERVAL_MS 1000
#define TRANSPORT_TWCC_INTERVAL_MS 50
/* SSRCs one transport may bind: bounds the demultiplexing table and libsrtp's
 * per-SSRC streams that a client could otherwise grow without limit. */
#define TRANSPORT_MAX_SSRCS 32
/* Sender reports remembered to compute RTT from the receiver reports echoing them. */
#define TRANSPORT_SR_SENT_KEPT 16

typedef enum {
    TRANSPORT_NEW = 0,
    TRANSPORT_DTLS,
    TRANSPORT_CONNECTED,
    TRANSPORT_FAILED,
    TRANSPORT_CLOSED
} transport_state_t;

/* The send side of a transport that has consumers: transport-wide sequence
 * and feedback (twcc_send), the estimate (gcc), the send queue (pacer) and
 * the split of the estimate over the consumers (alloc).  transport.c. */
typedef struct transport_cc transport_cc_t;

typedef struct {
    uint32_t ssrc;
    producer_t *p;
    uint8_t enc;
    bool rtx;
} transport_ssrc_t;

struct transport {
    mx_port_t port; /* what its producers and consumers see (first: they hold a pointer to it) */
    mx_ctx_t *ctx;  /* the engine */
    uint64_t id;
    engine_transport_desc_t d;
    transport_state_t state;
    mx_tuple_t remote; /* the nominated path: UDP address or TCP connection */
    bool has_remote;
    uint64_t created_ms, last_alive_ms;
    dtls_conn_t *dtls;
    /* After an ICE restart the client may also start a new DTLS association
     * (Chromium does when the m-line that tagged its BUNDLE group was
     * recycled: a new transport under the same PeerConnection).  Its
     * handshake runs here beside the old one, which keeps the media going,
     * and replaces it with new SRTP keys when it completes. */
    dtls_conn_t *dtls_next;
    bool restarted; /* an ICE restart happened: a new ClientHello is welcome */
    sec_session_t srtp_in, srtp_out;
    bool srtp_ready;
    uint32_t rtcp_ssrc;           /* ours, for RTCP we originate */
    unsigned n_checks, n_dtls_in; /* for the failure log */

    /* receiving: producers */
    producer_t **producers;
    unsigned n_producers;
    transport_ssrc_t ssrcs[TRANSPORT_MAX_SSRCS];
    unsigned n_ssrcs;
    twcc_recv_t *twcc_rx; /* when twcc was negotiated and a producer exists */
    uint64_t last_rr_ms;

    /* sending: consumers */
    consumer_t **consumers;
    unsigned n_consumers;
    uint16_t twcc_seq;  /* transport-wide sequence of the next packet sent (without cc) */
    transport_cc_t *cc; /* with the first consumer */
    uint64_t *sent_us;  /* the send time of the RTP packet being built (twcc_send_last_time), for tx_commit */
    uint32_t rtt_ms;    /* from receiver reports of our sender reports, 0 = unknown */
    struct {
        uint32_t mid32; /* the NTP middle 32 bits a receiver echoes as LSR */
        uint64_t ms;    /* when we sent that SR */
    } sr_sent[TRANSPORT_SR_SENT_KEPT];
    unsigned sr_sent_next;

    /* ENGINE_EV_TRANSPORT_STATS: when last sent, and the producers' packet
     * counts then (loss of the last period) */
    uint64_t last_stats_ms, stats_lost, stats_received;

    /* data channels: the association, from the client's first SCTP packet */
    sctp_link_t *sctp;

    /* the engine's bookkeeping */
    transport_t *id_next, *addr_next, *ufrag_next, *list_next, *list_prev;
    size_t heap_idx;
    uint64_t due_ms;
};

/* Creates the transport and starts its DTLS server; NULL never (a transport
 * that cannot start fails at once, reported by an event). */
transport_t *transport_new(mx_ctx_t *ctx, uint64_t id, const engine_transport_desc_t *d, uint64_t now_ms);
/* Sends close_notify if DTLS is up, closes every producer and consumer, frees. */
void transport_free(transport_t *t);

/* A STUN binding request or indication whose USERNAME names this transport. */
void transport_on_stun(transport_t *t, const uint8_t *buf, size_t len, const stun_msg_t *m, const mx_tuple_t *from,
                       uint64_t now_ms);
/* Its path is gone (the TCP connection closed; the engine unlinked it). */
void transport_lost_remote(transport_t *t);
void transport_on_dtls(transport_t *t, const uint8_t *buf, size_t len, uint64_t now_ms);
void transport_on_rtp(transport_t *t, uint8_t *buf, size_t len, uint64_t now_ms);
void transport_on_rtcp(transport_t *t, uint8_t *buf, size_t len, uint64_t now_ms);
/* Runs what is due; returns the absolute ms time it wants to run again. */
uint64_t transport_on_timer(transport_t *t, uint64_t now_ms);
/* New ICE credentials (an ICE restart): checks with the old ones are refused from now on. */
void transport_set_ice(transport_t *t, const char *ufrag, const char *pwd);

/* Emits a READY event for a producer or consumer id when the transport is
 * connected (it does so itself for all of them when it connects). */
void transport_announce(transport_t *t, engine_event_type_t type, uint64_t id);
void transport_add_producer(transport_t *t, producer_t *p);
void transport_remove_producer(transport_t *t, producer_t *p);
void transport_add_consumer(transport_t *t, consumer_t *c);
void transport_remove_consumer(transport_t *t, consumer_t *c);

/* Data channels accepted (a renegotiation added m=application): takes d's
 * data, sctp_port and max-message sizes. */
void transport_enable_data(transport_t *t, const engine_transport_desc_t *d);
/* One message to the client's channels (sctp_assoc_send); refusals counted. */
void transport_send_data(transport_t *t, bool reliable, bool binary, const uint8_t *data, size_t len);

/* The estimate of the subscriber's downlink (0 without consumers). */
uint64_t transport_estimate_bps(const transport_t *t);

#endif
