/*
 * mx.h — what the media engine's parts share, below all of them, so that
 * the engine (top), its transports, producers and consumers (in that order
 * downward) call each other only downward:
 *
 *   mx_tuple_t   where a packet comes from or goes: UDP address or TCP connection;
 *   mx_ctx_t     the engine as its parts see it: its I/O callbacks (send a
 *                datagram, emit an event, the clock), its counters, its DTLS
 *                context, the time of the event being handled, and the two
 *                table updates a transport asks of it;
 *   mx_port_t    a transport as its producers and consumers see it: where
 *                they build and send packets, queue them for the pacer, and
 *                what they read of it (RTCP SSRC, RTT, extension ids);
 *   mx_source_t  a producer as its consumers see it: its encodings (the
 *                packet stores they build from) and whether it is muted.
 *
 * Also the types the engine's commands carry and the I/O callbacks it is
 * given (engine.h is its owner-facing API).  Worker thread only, like
 * everything of one engine.
 */
#ifndef IRTC_MEDIA_MX_H
#define IRTC_MEDIA_MX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "media/codecs/codec.h"
#include "media/recv_stream.h"

#define ENGINE_UFRAG_MAX 256
#define ENGINE_PWD_MAX 256
#define ENGINE_MID_MAX 32
#define ENGINE_RID_MAX 16
#define ENGINE_MAX_ENCODINGS 3 /* simulcast encodings of one producer, lowest first */
#define ENGINE_TX_CAP 2048     /* bytes of one outgoing datagram buffer */

/* Header extension ids negotiated on a transport (0 = not negotiated).  With
 * BUNDLE one id means one URI on every m-line of the transport (RFC 8843 §9.2). */
typedef struct {
    uint8_t mid, abs_send_time, twcc, audio_level, rid, rrid;
} engine_ext_ids_t;

/* ---- what the engine's commands describe ---- */

/* One client PeerConnection. */
typedef struct {
    char ufrag[ENGINE_UFRAG_MAX + 1]; /* ours: checks must carry it */
    char pwd[ENGINE_PWD_MAX + 1];
    char remote_fp_alg[16]; /* the client's DTLS certificate fingerprint */
    char remote_fp[192];
    engine_ext_ids_t ext;
    bool twcc_fb; /* transport-cc feedback negotiated (both directions) */
    bool remb_fb; /* goog-remb negotiated */
    /* Data channels (an accepted m=application): the client's a=sctp-port
     * and a=max-message-size (0: not said), and the largest message we take. */
    bool data;
    uint16_t sctp_port;
    uint32_t remote_max_message, max_message;
} engine_transport_desc_t;

typedef struct {
    char rid[ENGINE_RID_MAX + 1]; /* "" without simulcast */
    uint32_t ssrc;                /* 0 = learn from mid/rid header extensions */
    uint32_t rtx_ssrc;            /* 0 = none or learn from rrid */
} engine_encoding_desc_t;

/* One track a client sends. */
typedef struct {
    codec_kind_t kind;
    codec_id_t codec;
    uint8_t pt, rtx_pt; /* rtx_pt 0 = no RTX */
    uint32_t clock_rate;
    char mid[ENGINE_MID_MAX + 1];
    bool nack, pli; /* rtcp-fb negotiated: we may ask for them */
    unsigned n_encodings;
    engine_encoding_desc_t enc[ENGINE_MAX_ENCODINGS]; /* lowest resolution first */
} engine_producer_desc_t;

/* One track forwarded to a subscriber. */
typedef struct {
    codec_kind_t kind;
    uint64_t producer_id;
    uint8_t pt, rtx_pt; /* the subscriber's payload types; rtx_pt 0 = no RTX */
    uint32_t ssrc, rtx_ssrc;
    char mid[ENGINE_MID_MAX + 1];
    bool nack, pli; /* the subscriber may send them */
    int max_layer;  /* preferred highest encoding (0-based); -1 = the highest */
    int priority;   /* larger first when bandwidth is short: main 2, auxiliary 1 */
} engine_consumer_desc_t;

typedef enum {
    ENGINE_EV_TRANSPORT_CONNECTED = 1, /* id: ICE + DTLS up */
    ENGINE_EV_TRANSPORT_FAILED,        /* id, reason: no ICE/DTLS in time, liveness lost, DTLS failure */
    ENGINE_EV_CONSUMER_LAYER,          /* id, layer (-1 = paused for bandwidth), layers (published) */
    ENGINE_EV_PRODUCER_READY,          /* id: installed on a connected transport (media can flow) */
    ENGINE_EV_CONSUMER_READY,          /* id: likewise */
    ENGINE_EV_TRANSPORT_STATS,         /* id, send_side, rtt_ms, loss_permille, avail_kbps: every 2 s while connected */
    ENGINE_EV_PRODUCER_AUDIO,          /* id, level, active: an audio producer's loudness, every window while it
                                          is active and once when it stops being so */
    ENGINE_EV_DATA,                    /* id (transport), data/data_len, binary, reliable: a data channel message */
} engine_event_type_t;

typedef struct {
    engine_event_type_t type;
    uint64_t id;
    const char *reason; /* static text */
    int layer, layers;
    /* TRANSPORT_STATS: the client's view of the connection as we measure it.
     * send_side: the transport carries what the client sends (producers):
     * loss is what we miss of it; otherwise loss and the estimate are of our
     * sending to the client.  0 in rtt_ms / avail_kbps: not known. */
    bool send_side;
    uint32_t rtt_ms, avail_kbps;
    uint16_t loss_permille;
    /* PRODUCER_AUDIO: mean level over the window, in -dBov (RFC 6464: 0
     * loudest, 127 silence), and whether that is speech-loud. */
    uint8_t level;
    bool active;
    /* DATA: the message (valid during emit; the receiver copies it), its
     * PPID kind, and whether its channel is reliable and ordered. */
    const uint8_t *data;
    size_t data_len;
    bool binary, reliable;
} engine_event_t;

/* Where a packet comes from or goes (RFC 6544 makes it more than an
 * address): a UDP source address, or one of the worker's ICE-TCP
 * connections (conn, never 0) with its peer's address.  Two tuples are the
 * same path only when both agree, so a TCP connection and a UDP flow from
 * the same address and port never mix. */
typedef struct {
    struct sockaddr_storage addr;
    socklen_t len;
    uint32_t conn; /* 0: UDP; else the worker's TCP connection id */
} mx_tuple_t;

/* What the engine needs from its owner (all on the worker thread). */
typedef struct {
    void *ctx;
    /* A buffer of ENGINE_TX_CAP bytes for one outgoing datagram; the engine
     * writes it and calls commit with the length (or never, to abandon it).
     * The buffer stays valid until commit or the next reserve. */
    uint8_t *(*tx_reserve)(void *ctx);
    /* sent_us, when not NULL, receives the monotonic time (µs) the datagram
     * was handed to the kernel: written when the batch holding it is sent,
     * later in the same loop turn, so what it points to must live until
     * then or until tx_flush. */
    void (*tx_commit)(void *ctx, const mx_tuple_t *to, size_t len, uint64_t *sent_us);
    /* Sends every datagram committed so far now (before memory a sent_us
     * points into is freed). */
    void (*tx_flush)(void *ctx);
    /* A connectivity check from this tuple passed MESSAGE-INTEGRITY (the
     * worker keeps a TCP connection only once one has); may be NULL. */
    void (*verified)(void *ctx, const mx_tuple_t *from);
    /* An event for the control thread (copied; the engine keeps nothing). */
    void (*emit)(void *ctx, const engine_event_t *ev);
    /* Monotonic clock (µs); tests give their own. */
    uint64_t (*now_us)(void *ctx);
} engine_io_t;

/* Counters, written by the engine's thread, read by anyone (/metrics). */
typedef struct engine_stats {
    _Atomic uint64_t drop_unknown_source;     /* RTP/RTCP/DTLS from an address no transport owns */
    _Atomic uint64_t drop_malformed;          /* not STUN/DTLS/RTP/RTCP, or does not parse */
    _Atomic uint64_t drop_stun_auth;          /* STUN with a known ufrag but bad MESSAGE-INTEGRITY */
    _Atomic uint64_t drop_stun_unknown;       /* STUN for a ufrag no transport has (not answered) */
    _Atomic uint64_t drop_srtp;               /* SRTP/SRTCP authentication or replay failure */
    _Atomic uint64_t drop_dtls;               /* DTLS records that failed */
    _Atomic uint64_t drop_unknown_ssrc;       /* authenticated RTP of an SSRC no producer has */
    _Atomic uint64_t nack_received;           /* sequence numbers subscribers asked for */
    _Atomic uint64_t rtx_sent;                /* retransmissions sent to subscribers */
    _Atomic uint64_t nack_gone;               /* NACKed packets we sent but no longer hold: a keyframe is asked for */
    _Atomic uint64_t keyframe_requests;       /* PLIs sent to publishers */
    _Atomic uint64_t layer_switches;          /* simulcast consumers that changed encoding */
    _Atomic uint64_t dtls_handshake_failures; /* transports whose DTLS handshake failed or never finished */
    /* Data channels (sctp.h): messages received and sent; messages refused
     * because the client's send buffer was full, larger than the client's
     * max-message-size or ours, or over the worker's relay backlog; SCTP
     * packets dropped waiting for their worker; bad DCEP/PPIDs. */
    _Atomic uint64_t data_in, data_out;
    _Atomic uint64_t data_drop_buffer, data_drop_too_big, data_drop_backlog;
    _Atomic uint64_t data_drop_packets, data_malformed;
    /* Transports alive now by state (transport_state_t: new, dtls, connected,
     * failed, closed), moved on each state change, never per packet. */
    _Atomic uint64_t transports[5];
    /* A room spanning workers (pipe.h): pipes this worker feeds and pipe
     * producers fed here (gauges); packets and sender reports taken from
     * pipes here, and packets this worker could not pipe (ring full). */
    _Atomic uint64_t pipes_out, pipes_in;
    _Atomic uint64_t pipe_rx, pipe_dropped;
} engine_stats_t;

#define MX_COUNT(ctx, field, n) atomic_fetch_add_explicit(&(ctx)->stats->field, (n), memory_order_relaxed)

struct transport;
struct consumer;
struct producer;

/* ---- the engine, for its parts ---- */

typedef struct mx_ctx {
    engine_io_t io;
    engine_stats_t *stats;
    struct dtls_ctx *dtls;
    struct stun_limit *stun_401; /* budget for answers to checks that fail authentication */
    uint64_t now_us;             /* the event being handled: one clock read per batch, command or timer run */
    void *engine;
    /* Makes tuple t's path in the engine's table; false (nothing changed)
     * when another transport owns it: a valid check cannot take over someone
     * else's 5-tuple. */
    bool (*bind_addr)(void *engine, struct transport *t, const mx_tuple_t *tuple);
    /* Re-indexes t under its new local ufrag (an ICE restart). */
    void (*reindex_ufrag)(void *engine, struct transport *t, const char *old_ufrag);
    /* Fan-out deferred to the end of a receive batch (engine_fanout): a
     * producer that holds packets for its consumers asks to be visited. */
    bool defer_fanout;
    void (*fanout_queued)(void *engine, struct producer *p);
} mx_ctx_t;

static inline uint64_t mx_now_ms(const mx_ctx_t *x)
{
    return x->now_us / 1000;
}

static inline void mx_emit(mx_ctx_t *x, const engine_event_t *ev)
{
    if (x->io.emit != NULL)
        x->io.emit(x->io.ctx, ev);
}

/* Same family, address and port (IPv4 or IPv6). */
static inline bool mx_addr_equal(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (b->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
    }
    return false;
}

static inline bool mx_tuple_equal(const mx_tuple_t *a, const mx_tuple_t *b)
{
    return a->conn == b->conn && mx_addr_equal(&a->addr, (const struct sockaddr *)&b->addr);
}

/* ---- a transport, for its producers and consumers ---- */

/* What a packet sent to the subscriber is, for the congestion controller
 * (the values of twcc_send.h's TWCC_SEND_*). */
enum { MX_SENT_AUDIO = 1, MX_SENT_RTX = 2, MX_SENT_PADDING = 4 };

typedef struct mx_port mx_port_t;
typedef struct {
    /* The buffer to build the next packet in (ENGINE_TX_CAP bytes), NULL
     * when the transport cannot send. */
    uint8_t *(*tx_buffer)(mx_port_t *p);
    /* Protects the RTP / RTCP packet built in that buffer and sends it. */
    void (*send_rtp)(mx_port_t *p, uint8_t *buf, size_t len);
    void (*send_rtcp)(mx_port_t *p, uint8_t *buf, size_t len);
    /* A consumer's packet (seq in its own space; rtx: as a retransmission)
     * of about size bytes into the pacer; what it allows leaves at once. */
    void (*queue)(mx_port_t *p, struct consumer *c, uint16_t seq, bool rtx, size_t size);
    /* Just before a packet is protected: the transport-wide sequence number
     * to write; counts the packet (MX_SENT_* flags, probe cluster). */
    uint16_t (*on_sending)(mx_port_t *p, size_t len, uint8_t flags, uint16_t probe_id);
    /* A sender report with this NTP (middle 32 bits) went out now. */
    void (*note_sr_sent)(mx_port_t *p, uint32_t ntp_mid32, uint64_t now_ms);
} mx_port_ops_t;

struct mx_port {
    const mx_port_ops_t *ops;
    mx_ctx_t *ctx;
    bool ready;           /* DTLS up, keys, an address: media can be sent */
    uint32_t rtcp_ssrc;   /* ours, for RTCP we originate */
    uint32_t rtt_ms;      /* from receiver reports of our sender reports, 0 = unknown */
    uint8_t twcc_ext_id;  /* the transport-wide sequence number's extension id, 0 = none */
    uint8_t level_ext_id; /* the client-to-mixer audio level's (RFC 6464), 0 = none */
};

/* ---- a producer, for its consumers ---- */

typedef struct mx_source {
    unsigned n_enc;
    recv_stream_t enc[ENGINE_MAX_ENCODINGS]; /* lowest first */
    bool muted;
} mx_source_t;

#endif
