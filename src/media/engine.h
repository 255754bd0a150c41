/*
 * engine.h — one media worker's SFU engine: its transports (one per client
 * PeerConnection), the tracks they receive and the copies they forward.
 *
 * Threading: an mx_engine_t belongs to exactly one worker thread.  The
 * control thread never touches it: it sends mx_cmd_t messages (worker_post)
 * and receives mx_event_t messages (worker_pool_post_control).  The packet
 * path (mx_engine_on_packet) takes no lock and allocates nothing; transports
 * and tracks are allocated when a command creates them.
 *
 * Does not: parse SDP or decide codecs (src/sfu does that on the control
 * thread and sends the result here), know rooms or users.
 */
#ifndef IRTC_MEDIA_ENGINE_H
#define IRTC_MEDIA_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media/codecs/codec.h"
#include "media/worker.h"

typedef struct mx_engine mx_engine_t;
struct dtls_cert;

#define MX_MAX_TRACKS 4
#define MX_UFRAG_MAX 256
#define MX_PWD_MAX 256

/* One RTP stream a transport receives (publisher) or sends (subscriber). */
typedef struct {
    codec_kind_t kind;
    codec_id_t codec;
    uint32_t ssrc;     /* 0 = learn from the first packet with this mid */
    uint32_t rtx_ssrc; /* 0 = none */
    uint8_t pt, rtx_pt; /* rtx_pt 0 = no RTX */
    uint32_t clock_rate;
    char mid[33];
    bool nack, pli; /* rtcp-fb negotiated */
    /* subscriber tracks only: what to forward */
    uint64_t source_stream; /* publisher transport id */
} mx_track_desc_t;

/* Header extension ids negotiated on a transport (0 = not negotiated). */
typedef struct {
    uint8_t mid, abs_send_time, twcc, audio_level, rid, rrid;
} mx_ext_ids_t;

typedef struct {
    uint64_t id;
    bool is_publisher;
    char ufrag[MX_UFRAG_MAX + 1]; /* ours */
    char pwd[MX_PWD_MAX + 1];
    char remote_fp_alg[16];
    char remote_fp[192];
    mx_ext_ids_t ext;
    bool twcc_fb;  /* publisher negotiated transport-cc feedback */
    bool remb_fb;  /* publisher negotiated goog-remb */
    mx_track_desc_t tracks[MX_MAX_TRACKS];
    unsigned track_count;
} mx_transport_desc_t;

typedef enum {
    MX_CMD_OPEN = 1,   /* desc */
    MX_CMD_CLOSE,      /* id */
    MX_CMD_MUTE,       /* id (publisher), kind, flag */
    MX_CMD_KEYFRAME,   /* id (publisher) */
    MX_CMD_TAP_ADD,    /* id (publisher), kind, ring: copy that track's plaintext RTP into ring */
    MX_CMD_TAP_DEL,    /* id (publisher), ring */
} mx_cmd_type_t;

struct spsc_ring;

typedef struct {
    worker_msg_t super;
    mx_cmd_type_t type;
    uint64_t id;
    codec_kind_t kind;
    bool flag;
    struct spsc_ring *ring; /* TAP_ADD: the command's reference moves to the engine */
    mx_transport_desc_t desc;
} mx_cmd_t;

typedef enum { MX_EV_CONNECTED = 1, MX_EV_FAILED } mx_event_type_t;

typedef struct {
    worker_msg_t super;
    mx_event_type_t type;
    uint64_t id;
    bool is_publisher;
    const char *reason;
} mx_event_t;

/* Sink on the control thread for engine events (set once before workers start). */
typedef void (*mx_event_fn)(void *ctx, const mx_event_t *ev);

mx_engine_t *mx_engine_new(worker_t *w, const struct dtls_cert *cert);
void mx_engine_free(mx_engine_t *e);
/* One datagram from the socket (worker thread). */
void mx_engine_on_packet(mx_engine_t *e, uint8_t *buf, size_t len, const struct sockaddr *from, socklen_t fromlen);
/* Runs a command (worker thread); called by the worker message dispatcher. */
void mx_engine_on_command(mx_engine_t *e, mx_cmd_t *cmd);
/* Timers: consent, DTLS retransmit, RTCP, TWCC feedback, NACK (worker thread). */
void mx_engine_on_tick(mx_engine_t *e, uint64_t now_ms);

/* Control thread: where events go.  Call before the pool starts. */
void mx_engine_set_event_sink(mx_event_fn fn, void *ctx);
/* Control thread: allocate a command for worker w (run on w's thread). */
mx_cmd_t *mx_cmd_new(mx_cmd_type_t type, uint64_t id);
void mx_cmd_post(worker_t *w, mx_cmd_t *cmd);

#endif
