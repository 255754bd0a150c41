/*
 * room.h — the room registry: rooms keyed by app + channel, the peers in
 * them, the streams they publish and the subscriptions they hold, the
 * per-room publisher limit, and what each peer must be told when any of that
 * changes.  It drives the media plane through src/sfu/sfu.h (publish,
 * subscribe, mute, teardown), turns the SFU's events into room changes and
 * relays data-channel messages to the room or one user (docs/API.md "Data
 * channels").
 *
 * Threading: control thread only; every object here belongs to it.
 *
 * It does not speak any wire protocol, check join tokens or touch sockets:
 * each peer has a sink (a function pointer) that receives typed events, and
 * src/signal turns them into messages.  A sink must not call back into this
 * module (it runs while the registry walks its lists); it queues and returns.
 *
 * Ids: stream ids and subscription ids come from one process-wide counter
 * (1, 2, 3 ...), so an id names exactly one stream or subscription.
 */
#ifndef IRTC_ROOM_H
#define IRTC_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "sfu/sfu.h"

typedef struct room_registry room_registry_t;
typedef struct room room_t;
typedef struct room_peer room_peer_t;
typedef struct room_stream room_stream_t;

/* Why a peer left: the Web SDK's peer-leave reason codes (CONTRACT.md §3). */
enum {
    ROOM_REASON_LEFT = 0, /* the user left */
    ROOM_REASON_SERVER_ERROR = 1,
    ROOM_REASON_SFU_FAILURE = 2,
    ROOM_REASON_UNAVAILABLE = 3,
    ROOM_REASON_INTERNAL = 4,
    ROOM_REASON_KICKED = 5,  /* releaseUser */
    ROOM_REASON_EXPIRED = 6, /* join token expired */
    ROOM_REASON_TIMEOUT = 7, /* signaling silent, socket lost or media transport failed */
    ROOM_REASON_PROBE = 8,
    ROOM_REASON_REMOVED = 9,
    ROOM_REASON_DISSOLVED = 10, /* releaseRoom */
};
/* The reason's English text ("user left", ...); "unknown" outside 0..10. */
const char *room_reason_text(int reason);

/* Roles of the join token: 0 publisher (send only), 1 joiner (send + receive). */
enum { ROOM_ROLE_PUBLISHER = 0, ROOM_ROLE_JOINER = 1 };

typedef enum { ROOM_STREAM_MAIN = 0, ROOM_STREAM_AUXILIARY = 1 } room_stream_type_t;
const char *room_stream_type_name(room_stream_type_t t); /* "main" | "auxiliary" */

/* A published stream.  Read-only outside room.c. */
struct room_stream {
    uint64_t id;
    const char *user_id; /* the publisher's */
    room_stream_type_t type;
    bool has_audio, has_video;
    bool audio_muted, video_muted;
    bool connected;       /* the SFU reported its transport up */
    char video_codec[16]; /* "VP8", "H264", "VP9" or "" */
    int simulcast_layers; /* video encodings published (1 without simulcast) */
    /* private */
    room_peer_t *owner;
    uint8_t audio_level;   /* last SFU_EVENT_STREAM_AUDIO: -dBov, 0 loudest */
    bool audio_active;     /* and whether it was speech-loud */
    uint64_t audio_at_ms;  /* when it came (monotonic) */
    room_stream_t *next;   /* in the room, in publication order */
    struct room_sub *subs; /* subscriptions to this stream */
};

typedef enum {
    ROOM_EV_PEER_JOIN,         /* user_id joined */
    ROOM_EV_PEER_LEAVE,        /* user_id left for reason */
    ROOM_EV_STREAM_ADDED,      /* stream published by another peer */
    ROOM_EV_STREAM_REMOVED,    /* stream gone (unpublished or its publisher left) */
    ROOM_EV_STREAM_UPDATED,    /* stream's descriptor changed (mute state) */
    ROOM_EV_MUTE,              /* user_id (un)muted: audio or video, muted; stream may be NULL */
    ROOM_EV_STREAM_PUBLISHED,  /* to the publisher: the SFU connected its stream */
    ROOM_EV_STREAM_SUBSCRIBED, /* to the subscriber: the SFU connected subscription sub_id */
    ROOM_EV_REMOVED,           /* to the peer itself: the server removed it for reason; after the
                                  sink returns the peer is freed and must not be used again */
    ROOM_EV_SUB_LAYER,         /* to the subscriber: subscription sub_id now gets video layer (of layers);
                                  -1: paused, its link cannot carry even the lowest */
    ROOM_EV_TRANSPORT_STATS,   /* to the peer: one of its connections as the server measures it (every 2 s) */
    ROOM_EV_ACTIVE_SPEAKER,    /* to every peer: user_id's stream is now the loudest of the room */
} room_event_type_t;

typedef struct {
    room_event_type_t type;
    const room_t *room;
    const char *user_id;         /* who the event is about */
    const room_stream_t *stream; /* stream events, MUTE (may be NULL) */
    uint64_t sub_id;             /* STREAM_SUBSCRIBED */
    int reason;                  /* PEER_LEAVE, REMOVED */
    bool audio, muted;           /* MUTE */
    int layer, layers;           /* SUB_LAYER */
    bool resumed;                /* SUB_LAYER: the subscription was paused until now */
    bool recv_pc;                /* TRANSPORT_STATS: the receiving connection (else the sending one) */
    uint32_t rtt_ms, avail_kbps; /* TRANSPORT_STATS; 0 = not known */
    uint16_t loss_permille;      /* TRANSPORT_STATS */
} room_event_t;

typedef void (*room_sink_fn)(void *ctx, const room_event_t *ev);

typedef struct {
    size_t rooms, peers, streams, subscriptions;
} room_stats_t;

/* Creates an empty registry.  worker_count (>= 1) is the media worker pool's
 * size, for sfu_worker_for_channel; the publisher limit is
 * cfg->max_publishers_per_room.  cfg must outlive the registry. */
room_registry_t *room_registry_new(const cfg_t *cfg, unsigned worker_count);
/*
 * The registry's observer: one module that follows every room of every app
 * without being a peer in any (the recorder's capture layer, which taps
 * streams into recordings and ends them with their room).  Events, on the
 * control thread:
 *   ROOM_OBS_STREAM_ADDED    a stream was published: the SFU already knows it
 *                            (sfu_tap_add works); after the peers were told.
 *   ROOM_OBS_STREAM_REMOVED  a stream is about to close, whatever the cause
 *                            (unpublish, leave, kick, transport failure,
 *                            releaseRoom): still in the SFU (sfu_tap_del works).
 *   ROOM_OBS_ROOM_CLOSED     the room is about to be freed (its last peer left,
 *                            or releaseRoom); its streams were reported removed
 *                            first.
 * The observer may read the registry (room_first_stream, room_find, ...) but
 * must not change it.  room_registry_free tells it nothing.
 */
typedef enum { ROOM_OBS_STREAM_ADDED, ROOM_OBS_STREAM_REMOVED, ROOM_OBS_ROOM_CLOSED } room_obs_type_t;

typedef struct {
    room_obs_type_t type;
    const room_t *room;
    const room_stream_t *stream; /* STREAM_ADDED, STREAM_REMOVED */
} room_obs_event_t;

typedef void (*room_observer_fn)(void *ctx, const room_obs_event_t *ev);

/* Sets (or with fn NULL, clears) the one observer. */
void room_registry_set_observer(room_registry_t *reg, room_observer_fn fn, void *ctx);

/* The SFU the registry drives (created with room_registry_sfu_event and the
 * registry as its event callback and context).  Set once, before any join. */
void room_registry_set_sfu(room_registry_t *reg, sfu_t *sfu);
/* Frees every room, peer, stream and subscription without telling anyone
 * (shutdown); streams and subscriptions are closed in the SFU first. */
void room_registry_free(room_registry_t *reg);
/* The sfu_event_fn: STREAM_READY / SUB_READY → STREAM_PUBLISHED /
 * STREAM_SUBSCRIBED to the owner; SUB_LAYER → SUB_LAYER to the subscriber;
 * CONN_FAILED → the owner leaves with reason 7 (told with ROOM_EV_REMOVED,
 * the others with PEER_LEAVE), unless the connection carried nothing.
 * Events for unknown ids are ignored.  Must not be called from inside an
 * sfu_* call made by this module. */
void room_registry_sfu_event(void *reg, const sfu_event_t *ev);
void room_registry_stats(const room_registry_t *reg, room_stats_t *out);

/* The room of app + channel, or NULL. */
room_t *room_find(room_registry_t *reg, const char *app_id, const char *channel_id);
/* Calls fn for every room (cluster mode's heartbeat lists them); fn must
 * not change the registry. */
void room_registry_each(const room_registry_t *reg, void (*fn)(void *ctx, const room_t *room), void *ctx);
const char *room_app_id(const room_t *room);
const char *room_channel_id(const room_t *room);
unsigned room_worker(const room_t *room); /* media worker index, fixed at creation */
size_t room_peer_count(const room_t *room);
/* Peers with role 0 or at least one published stream (what the limit counts). */
unsigned room_publisher_count(const room_t *room);
/* Peers in join order, streams in publication order. */
const room_peer_t *room_first_peer(const room_t *room);
const room_peer_t *room_next_peer(const room_peer_t *peer);
const room_stream_t *room_first_stream(const room_t *room);
const room_stream_t *room_next_stream(const room_stream_t *stream);
const room_stream_t *room_find_stream(const room_t *room, uint64_t stream_id);

const char *room_peer_user_id(const room_peer_t *peer);
int room_peer_role(const room_peer_t *peer);
room_t *room_peer_room(const room_peer_t *peer);
/* The peer's own mute state of its main media (applies to its main stream). */
bool room_peer_muted(const room_peer_t *peer, bool audio);
/* Protocol v2: the peer uses one sending and one receiving connection
 * (PeerConnection) for all its streams and subscriptions, renegotiated by
 * each publish/subscribe/unpublish/unsubscribe; v1 (false, the default): a
 * connection per stream and per subscription. */
void room_peer_set_bundled(room_peer_t *peer, bool bundled);
bool room_peer_bundled(const room_peer_t *peer);
/* Hands the peer's events to another sink (a signaling session resumed on a
 * new socket).  Not from inside a sink. */
void room_peer_set_sink(room_peer_t *peer, room_sink_fn sink, void *sink_ctx);

/*
 * Joins user_id (role 0 or 1) to the room of app + channel, creating the room
 * (pinned to sfu_worker_for_channel) if needed; the other peers get PEER_JOIN.
 * sink receives this peer's events from now on.  Returns IRTC_OK with *out;
 * IRTC_EINVAL (an id empty or over 64 chars, a bad role), IRTC_ECONFLICT
 * (user_id already in the room) or IRTC_ELIMIT (role 0 and the room already
 * has max_publishers_per_room publishers), each with *why.
 */
int room_join(room_registry_t *reg, const char *app_id, const char *channel_id, const char *user_id, int role,
              room_sink_fn sink, void *sink_ctx, room_peer_t **out, const char **why);
/* The peer leaves for reason: its subscriptions and streams are closed (the
 * others get STREAM_REMOVED for each stream, then PEER_LEAVE), the peer is
 * freed (its own sink is not told), and so is the room if it is now empty. */
void room_leave(room_peer_t *peer, int reason);

/*
 * Publishes a stream of type (one per type per peer) from the client's SDP
 * offer; audio/video say which kinds the client sends and must match the
 * offer's m-lines.  The peer becomes a publisher if it was not one.  On
 * IRTC_OK, *answer_out is the malloc'd SDP answer and *out the stream; the
 * others get STREAM_ADDED.  Errors, each with *why: IRTC_ECONFLICT (a stream
 * of that type is already published), IRTC_ELIMIT (the room is at its
 * publisher limit), IRTC_EINVAL (both kinds false, the SFU refused the offer,
 * or the offer's kinds differ from audio/video).
 */
int room_publish(room_peer_t *peer, room_stream_type_t type, bool audio, bool video, const char *offer, size_t len,
                 const sfu_mids_t *mids, char **answer_out, const room_stream_t **out, const char **why);
/* Closes the peer's own stream_id: its subscriptions end and everyone else
 * gets STREAM_REMOVED.  A v2 peer may give its sending connection's new
 * offer (the stream's m-lines stopped): *answer_out gets the answer, or NULL
 * when the connection carried nothing else and was closed.  answer_out NULL:
 * no offer.  IRTC_OK, IRTC_ENOTFOUND, or IRTC_EINVAL with *why (a bad offer;
 * the stream is closed all the same). */
int room_unpublish(room_peer_t *peer, uint64_t stream_id, const char *offer, size_t len, char **answer_out,
                   const char **why);

/*
 * Subscribes the peer to stream_id of its room with the client's recvonly
 * offer; audio/video choose the kinds to receive (at least one the stream
 * has).  On IRTC_OK, *answer_out is the malloc'd answer, *sub_id_out the new
 * subscription id and *stream_out the stream.  Errors with *why:
 * IRTC_ECONFLICT (role 0 may not subscribe; already subscribed to it),
 * IRTC_ENOTFOUND (no such stream in this room), IRTC_EINVAL (own stream, no
 * wanted kind in the stream, the SFU refused the offer).
 */
int room_subscribe(room_peer_t *peer, uint64_t stream_id, bool audio, bool video, int max_layer, const char *offer,
                   size_t len, const sfu_mids_t *mids, char **answer_out, uint64_t *sub_id_out,
                   const room_stream_t **stream_out, const char **why);
/* Ends the peer's subscription named by its subscription id or by the
 * subscribed stream's id; a v2 peer's offer is answered as for
 * room_unpublish (also when the server had ended the subscription already).
 * IRTC_OK, IRTC_ENOTFOUND, or IRTC_EINVAL with *why. */
int room_unsubscribe(room_peer_t *peer, uint64_t id, const char *offer, size_t len, char **answer_out,
                     const char **why);
/* The preferred highest video layer of a subscription (id: its own or its
 * stream's; -1: the highest the link allows).  IRTC_OK or IRTC_ENOTFOUND. */
int room_set_layer(room_peer_t *peer, uint64_t id, int max_layer);
/* Answers any other offer of a v2 peer's sending (recv false) or receiving
 * connection (ICE restart, stopped m-lines).  IRTC_ENOTFOUND (no such
 * connection) or the SFU's IRTC_EINVAL with *why. */
int room_negotiate(room_peer_t *peer, bool recv, const char *offer, size_t len, char **answer_out, const char **why);

/*
 * Mutes or unmutes audio or video.  stream_id 0 means the peer's main media:
 * its own state, applied to its main stream if it has one (so a client may
 * mute before publishing); otherwise one of the peer's own streams.  When the
 * state changes, the others get MUTE and, if a stream changed, STREAM_UPDATED,
 * and the SFU stops or resumes forwarding.  *changed (may be NULL) tells
 * whether it did.  IRTC_OK, IRTC_ENOTFOUND (not the peer's stream) or
 * IRTC_EINVAL (that stream has no such kind), with *why.
 */
int room_set_muted(room_peer_t *peer, uint64_t stream_id, bool audio, bool muted, bool *changed, const char **why);

/*
 * Switches the peer's role.  To 0: refused with IRTC_ELIMIT if that would
 * exceed the publisher limit; the peer's subscriptions are closed (a
 * publisher receives nothing).  IRTC_OK, IRTC_EINVAL (bad role), IRTC_ELIMIT.
 */
int room_switch_role(room_peer_t *peer, int role, const char **why);

/* releaseRoom: every peer gets ROOM_EV_REMOVED with reason 10 and is
 * removed, then the room is freed.  IRTC_OK or IRTC_ENOTFOUND. */
int room_release_room(room_registry_t *reg, const char *app_id, const char *channel_id);
/* releaseUser: the user gets ROOM_EV_REMOVED with reason 5, the others
 * PEER_LEAVE with reason 5.  IRTC_OK or IRTC_ENOTFOUND (no room, no user). */
int room_release_user(room_registry_t *reg, const char *app_id, const char *channel_id, const char *user_id);

#endif
