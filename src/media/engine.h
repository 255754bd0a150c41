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

typedef struct engine engine_t;
struct dtls_cert;

typedef enum { MX_KIND_AUDIO = 0, MX_KIND_VIDEO = 1 } mx_kind_t;
typedef enum { MX_CODEC_OPUS = 1, MX_CODEC_VP8, MX_CODEC_VP9, MX_CODEC_H264, MX_CODEC_OTHER } mx_codec_t;

#define ENGINE_UFRAG_MAX 256
#define ENGINE_PWD_MAX 256
#define ENGINE_MID_MAX 32
#define ENGINE_RID_MAX 16
#define ENGINE_MAX_ENCODINGS 3 /* simulcast encodings of one producer, lowest first */

/* Header extension ids negotiated on a transport (0 = not negotiated).  With
 * BUNDLE one id means one URI on every m-line of the transport (RFC 8843 §9.2). */
typedef struct {
    uint8_t mid, abs_send_time, twcc, audio_level, rid, rrid;
} engine_ext_ids_t;

/* One client PeerConnection. */
typedef struct {
    char ufrag[ENGINE_UFRAG_MAX + 1]; /* ours: checks must carry it */
    char pwd[ENGINE_PWD_MAX + 1];
    char remote_fp_alg[16]; /* the client's DTLS certificate fingerprint */
    char remote_fp[192];
    engine_ext_ids_t ext;
    bool twcc_fb; /* transport-cc feedback negotiated (both directions) */
    bool remb_fb; /* goog-remb negotiated */
} engine_transport_desc_t;

typedef struct {
    char rid[ENGINE_RID_MAX + 1]; /* "" without simulcast */
    uint32_t ssrc;                /* 0 = learn from mid/rid header extensions */
    uint32_t rtx_ssrc;            /* 0 = none or learn from rrid */
} engine_encoding_desc_t;

/* One track a client sends. */
typedef struct {
    mx_kind_t kind;
    mx_codec_t codec;
    uint8_t pt, rtx_pt; /* rtx_pt 0 = no RTX */
    uint32_t clock_rate;
    char mid[ENGINE_MID_MAX + 1];
    bool nack, pli; /* rtcp-fb negotiated: we may ask for them */
    unsigned n_encodings;
    engine_encoding_desc_t enc[ENGINE_MAX_ENCODINGS]; /* lowest resolution first */
} engine_producer_desc_t;

/* One track forwarded to a subscriber. */
typedef struct {
    mx_kind_t kind;
    uint64_t producer_id;
    uint8_t pt, rtx_pt; /* the subscriber's payload types; rtx_pt 0 = no RTX */
    uint32_t ssrc, rtx_ssrc;
    char mid[ENGINE_MID_MAX + 1];
    bool nack, pli; /* the subscriber may send them */
    int max_layer;  /* preferred highest encoding (0-based); -1 = the highest */
    int priority;   /* larger first when bandwidth is short: main 2, auxiliary 1 */
} engine_consumer_desc_t;

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
} engine_cmd_type_t;

struct rec_ring;

typedef struct {
    engine_cmd_type_t type;
    uint64_t id;
    uint64_t transport_id;
    bool flag;
    int layer;
    struct rec_ring *ring; /* TAP_ADD: the command's reference moves to the engine */
    union {
        engine_transport_desc_t transport;
        engine_producer_desc_t producer;
        engine_consumer_desc_t consumer;
    } u;
} engine_cmd_t;

typedef enum {
    ENGINE_EV_TRANSPORT_CONNECTED = 1, /* id: ICE + DTLS up */
    ENGINE_EV_TRANSPORT_FAILED,        /* id, reason: no ICE/DTLS in time, liveness lost, DTLS failure */
    ENGINE_EV_CONSUMER_LAYER,          /* id, layer (-1 = paused for bandwidth), layers (published) */
} engine_event_type_t;

typedef struct {
    engine_event_type_t type;
    uint64_t id;
    const char *reason; /* static text */
    int layer, layers;
} engine_event_t;

/* What the engine needs from its worker (all on the worker thread). */
typedef struct {
    void *ctx;
    /* A buffer of ENGINE_TX_CAP bytes for one outgoing datagram; the engine
     * writes it and calls commit with the length (or never, to abandon it).
     * The buffer stays valid until commit or the next reserve. */
    uint8_t *(*tx_reserve)(void *ctx);
    void (*tx_commit)(void *ctx, const struct sockaddr *to, socklen_t tolen, size_t len);
    /* An event for the control thread (copied; the engine keeps nothing). */
    void (*emit)(void *ctx, const engine_event_t *ev);
    /* Monotonic clock (µs); tests give their own. */
    uint64_t (*now_us)(void *ctx);
} engine_io_t;

#define ENGINE_TX_CAP 2048

/* Counters, written by the engine's thread, read by anyone (/metrics). */
typedef struct engine_stats {
    _Atomic uint64_t drop_unknown_source; /* RTP/RTCP/DTLS from an address no transport owns */
    _Atomic uint64_t drop_malformed;      /* not STUN/DTLS/RTP/RTCP, or does not parse */
    _Atomic uint64_t drop_stun_auth;      /* STUN with a known ufrag but bad MESSAGE-INTEGRITY */
    _Atomic uint64_t drop_stun_unknown;   /* STUN for a ufrag no transport has (not answered) */
    _Atomic uint64_t drop_srtp;           /* SRTP/SRTCP authentication or replay failure */
    _Atomic uint64_t drop_dtls;           /* DTLS records that failed */
    _Atomic uint64_t drop_unknown_ssrc;   /* authenticated RTP of an SSRC no producer has */
    _Atomic uint64_t nack_received;       /* sequence numbers subscribers asked for */
    _Atomic uint64_t rtx_sent;            /* retransmissions sent to subscribers */
    _Atomic uint64_t keyframe_requests;   /* PLIs sent to publishers */
    _Atomic uint64_t layer_switches;      /* simulcast consumers that changed encoding */
} engine_stats_t;

engine_t *engine_new(const engine_io_t *io, const struct dtls_cert *cert, engine_stats_t *stats);
void engine_free(engine_t *e); /* closes every transport (DTLS close_notify goes out) */
/* One datagram from the socket, received at now_us (one clock read serves a
 * whole receive batch); buf may be modified in place. */
void engine_on_packet(engine_t *e, uint8_t *buf, size_t len, const struct sockaddr *from, socklen_t fromlen,
                      uint64_t now_us);
void engine_on_command(engine_t *e, engine_cmd_t *cmd);
/* Runs what is due (DTLS retransmits, RTCP, NACK, liveness, feedback); returns
 * the absolute µs time of the next deadline, so the worker can sleep until it. */
uint64_t engine_on_timer(engine_t *e, uint64_t now_us);

/* Objects alive (tests, /metrics). */
size_t engine_transport_count(const engine_t *e);

#endif
