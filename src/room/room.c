/*
 * room.c — the room registry (see room.h): rooms in a hash by app + channel,
 * peers in join order, streams and subscriptions indexed by id in one open-
 * addressing map, the publisher limit, and the events each change produces.
 * Control thread only.
 *
 * It does not serialize events or know about sockets (src/signal does), and
 * it does not move media: it asks the SFU (src/sfu/sfu.h) to publish,
 * subscribe, mute and close, and learns from the SFU's events.
 *
 * Lifetimes: a room exists while it has a peer; a stream while its owner
 * publishes it; a subscription while both its subscriber and its stream
 * exist.  Every removal path goes through peer_remove, stream_close and
 * sub_close, so the SFU is told exactly once per stream and subscription.
 */
#include "room/room.h"
#include "core/common.h"
#include "core/clock.h"
#include "core/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOM_ID_MAX 64

struct room_sub {
    uint64_t id;
    int layer; /* last SUB_LAYER told (-1 paused, -2 none yet) */
    room_peer_t *peer;
    room_stream_t *stream;
    bool audio, video;
    struct room_sub *next_of_peer, *next_of_stream;
};
typedef struct room_sub room_sub_t;

/* id → stream or subscription.  Linear probing with backward-shift deletion;
 * id 0 marks an empty slot (ids start at 1). */
typedef struct {
    uint64_t id;
    void *obj;
    uint8_t kind; /* ID_* */
} idslot_t;

enum { ID_SUB = 0, ID_STREAM = 1, ID_CONN = 2 }; /* a connection's slot points at its peer (protocol v2) */

typedef struct {
    idslot_t *slots;
    size_t cap, count; /* cap is a power of two */
} idmap_t;

struct room_registry {
    const cfg_t *cfg;
    unsigned worker_count;
    sfu_t *sfu;
    room_t **buckets; /* chained by room->hnext */
    size_t nbuckets;
    idmap_t ids;
    uint64_t last_id;
    room_stats_t stats;
    room_observer_fn observer;
    void *observer_ctx;
};

struct room {
    room_registry_t *reg;
    room_t *hnext;
    uint64_t hash;
    char app_id[ROOM_ID_MAX + 1];
    char channel_id[ROOM_ID_MAX + 1];
    unsigned worker;
    room_peer_t *peers, *peers_tail;
    size_t peer_count;
    room_stream_t *streams;
    room_stream_t *speaker; /* the last ROOM_EV_ACTIVE_SPEAKER's stream, NULL if none or gone */
    uint64_t speaker_ms;    /* when it was chosen */
};

struct room_peer {
    room_t *room;
    room_peer_t *next;
    char user_id[ROOM_ID_MAX + 1];
    int role;
    bool audio_muted, video_muted; /* main media */
    room_stream_t *streams[2];     /* by room_stream_type_t */
    room_sub_t *subs;
    room_sink_fn sink;
    void *sink_ctx;
    /* protocol v2: one sending and one receiving connection (0: none yet) */
    bool bundled;
    uint64_t send_conn, recv_conn;
};

static const char *const reason_texts[] = {
    "user left",         "server error",      "SFU failure",   "service unavailable", "internal error", "kicked",
    "signature expired", "reconnect timeout", "network probe", "user removed",        "room dissolved",
};

const char *room_reason_text(int reason)
{
    return reason >= 0 && (size_t)reason < IRTC_ARRAY_SIZE(reason_texts) ? reason_texts[reason] : "unknown";
}

const char *room_stream_type_name(room_stream_type_t t)
{
    return t == ROOM_STREAM_AUXILIARY ? "auxiliary" : "main";
}

/* ---- id map ---- */

static size_t id_slot(uint64_t id, size_t cap)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static idslot_t *idmap_find(const idmap_t *m, uint64_t id)
{
    if (m->cap == 0 || id == 0)
        return NULL;
    for (size_t i = id_slot(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].id == id)
            return &m->slots[i];
        if (m->slots[i].id == 0)
            return NULL;
    }
}

static void idmap_put(idmap_t *m, uint64_t id, void *obj, uint8_t kind)
{
    if ((m->count + 1) * 2 > m->cap) {
        idmap_t bigger = {xcalloc(m->cap ? m->cap * 2 : 64, sizeof(idslot_t)), m->cap ? m->cap * 2 : 64, 0};
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].id != 0)
                idmap_put(&bigger, m->slots[i].id, m->slots[i].obj, m->slots[i].kind);
        free(m->slots);
        *m = bigger;
    }
    size_t i = id_slot(id, m->cap);
    while (m->slots[i].id != 0)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (idslot_t){id, obj, kind};
    m->count++;
}

static void idmap_del(idmap_t *m, uint64_t id)
{
    idslot_t *hole = idmap_find(m, id);
    if (hole == NULL)
        return;
    size_t i = (size_t)(hole - m->slots), mask = m->cap - 1;
    /* Move later entries of the run back so that no lookup stops early. */
    for (size_t j = (i + 1) & mask; m->slots[j].id != 0; j = (j + 1) & mask) {
        size_t home = id_slot(m->slots[j].id, m->cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].id = 0;
    m->count--;
}

/* ---- registry and rooms ---- */

room_registry_t *room_registry_new(const cfg_t *cfg, unsigned worker_count)
{
    room_registry_t *reg = xcalloc(1, sizeof(*reg));
    reg->cfg = cfg;
    reg->worker_count = worker_count ? worker_count : 1;
    reg->nbuckets = 64;
    reg->buckets = xcalloc(reg->nbuckets, sizeof(*reg->buckets));
    return reg;
}

void room_registry_set_sfu(room_registry_t *reg, sfu_t *sfu)
{
    reg->sfu = sfu;
}

void room_registry_set_observer(room_registry_t *reg, room_observer_fn fn, void *ctx)
{
    reg->observer = fn;
    reg->observer_ctx = fn != NULL ? ctx : NULL;
}

static void observe(room_registry_t *reg, room_obs_type_t type, const room_t *room, const room_stream_t *stream)
{
    if (reg->observer == NULL)
        return;
    room_obs_event_t ev = {.type = type, .room = room, .stream = stream};
    reg->observer(reg->observer_ctx, &ev);
}

void room_registry_stats(const room_registry_t *reg, room_stats_t *out)
{
    *out = reg->stats;
}

void room_registry_each(const room_registry_t *reg, void (*fn)(void *ctx, const room_t *room), void *ctx)
{
    for (size_t i = 0; i < reg->nbuckets; i++)
        for (const room_t *r = reg->buckets[i]; r != NULL; r = r->hnext)
            fn(ctx, r);
}

/* App, its NUL, channel: "ab"+"c" and "a"+"bc" differ (as sfu_worker_for_channel). */
static uint64_t room_hash(const char *app_id, const char *channel_id)
{
    return hash_fnv1a(hash_fnv1a(HASH_FNV1A_INIT, app_id, strlen(app_id) + 1), channel_id, strlen(channel_id));
}

room_t *room_find(room_registry_t *reg, const char *app_id, const char *channel_id)
{
    uint64_t h = room_hash(app_id, channel_id);
    for (room_t *r = reg->buckets[h & (reg->nbuckets - 1)]; r != NULL; r = r->hnext)
        if (r->hash == h && strcmp(r->app_id, app_id) == 0 && strcmp(r->channel_id, channel_id) == 0)
            return r;
    return NULL;
}

static void bucket_insert(room_registry_t *reg, room_t *room)
{
    room_t **b = &reg->buckets[room->hash & (reg->nbuckets - 1)];
    room->hnext = *b;
    *b = room;
}

static room_t *room_create(room_registry_t *reg, const char *app_id, const char *channel_id)
{
    if (reg->stats.rooms + 1 > reg->nbuckets) {
        room_t **old = reg->buckets;
        size_t n = reg->nbuckets;
        reg->nbuckets *= 2;
        reg->buckets = xcalloc(reg->nbuckets, sizeof(*reg->buckets));
        for (size_t i = 0; i < n; i++) {
            for (room_t *r = old[i], *next; r != NULL; r = next) {
                next = r->hnext;
                bucket_insert(reg, r);
            }
        }
        free(old);
    }
    room_t *room = xcalloc(1, sizeof(*room));
    room->reg = reg;
    snprintf(room->app_id, sizeof(room->app_id), "%s", app_id);
    snprintf(room->channel_id, sizeof(room->channel_id), "%s", channel_id);
    room->hash = room_hash(app_id, channel_id);
    room->worker = sfu_worker_for_channel(app_id, channel_id, reg->worker_count);
    bucket_insert(reg, room);
    reg->stats.rooms++;
    return room;
}

/* Frees an empty room. */
static void room_free(room_t *room)
{
    room_registry_t *reg = room->reg;
    observe(reg, ROOM_OBS_ROOM_CLOSED, room, NULL);
    room_t **pp = &reg->buckets[room->hash & (reg->nbuckets - 1)];
    while (*pp != room)
        pp = &(*pp)->hnext;
    *pp = room->hnext;
    reg->stats.rooms--;
    free(room);
}

const char *room_app_id(const room_t *room)
{
    return room->app_id;
}

const char *room_channel_id(const room_t *room)
{
    return room->channel_id;
}

unsigned room_worker(const room_t *room)
{
    return room->worker;
}

size_t room_peer_count(const room_t *room)
{
    return room->peer_count;
}

static bool peer_is_publisher(const room_peer_t *p)
{
    return p->role == ROOM_ROLE_PUBLISHER || p->streams[0] != NULL || p->streams[1] != NULL;
}

unsigned room_publisher_count(const room_t *room)
{
    unsigned n = 0;
    for (const room_peer_t *p = room->peers; p != NULL; p = p->next)
        n += peer_is_publisher(p);
    return n;
}

static bool room_full(const room_t *room)
{
    return room_publisher_count(room) >= room->reg->cfg->max_publishers_per_room;
}

const room_peer_t *room_first_peer(const room_t *room)
{
    return room->peers;
}

const room_peer_t *room_next_peer(const room_peer_t *peer)
{
    return peer->next;
}

const room_stream_t *room_first_stream(const room_t *room)
{
    return room->streams;
}

const room_stream_t *room_next_stream(const room_stream_t *stream)
{
    return stream->next;
}

const room_stream_t *room_find_stream(const room_t *room, uint64_t stream_id)
{
    idslot_t *slot = idmap_find(&room->reg->ids, stream_id);
    if (slot == NULL || slot->kind != ID_STREAM)
        return NULL;
    room_stream_t *s = slot->obj;
    return s->owner->room == room ? s : NULL;
}

const char *room_peer_user_id(const room_peer_t *peer)
{
    return peer->user_id;
}

int room_peer_role(const room_peer_t *peer)
{
    return peer->role;
}

room_t *room_peer_room(const room_peer_t *peer)
{
    return peer->room;
}

bool room_peer_muted(const room_peer_t *peer, bool audio)
{
    return audio ? peer->audio_muted : peer->video_muted;
}

void room_peer_set_sink(room_peer_t *peer, room_sink_fn sink, void *sink_ctx)
{
    peer->sink = sink;
    peer->sink_ctx = sink_ctx;
}

/* ---- events ---- */

static void tell(room_peer_t *p, const room_event_t *ev)
{
    p->sink(p->sink_ctx, ev);
}

static void tell_others(room_t *room, const room_peer_t *except, const room_event_t *ev)
{
    for (room_peer_t *p = room->peers; p != NULL; p = p->next)
        if (p != except)
            tell(p, ev);
}

static void peer_conn_drop(room_peer_t *p, bool recv);
static void peer_conn_gc(room_peer_t *p, bool recv);

/* ---- subscriptions and streams ---- */

/* Unlinks and frees sub; tell_sfu is false when the SFU already closed it
 * (sfu_unpublish ends every subscription to the stream). */
static void sub_close(room_sub_t *sub, bool tell_sfu)
{
    room_registry_t *reg = sub->peer->room->reg;
    if (tell_sfu)
        sfu_unsubscribe(reg->sfu, sub->id);
    room_sub_t **pp = &sub->peer->subs;
    while (*pp != sub)
        pp = &(*pp)->next_of_peer;
    *pp = sub->next_of_peer;
    for (pp = &sub->stream->subs; *pp != sub;)
        pp = &(*pp)->next_of_stream;
    *pp = sub->next_of_stream;
    idmap_del(&reg->ids, sub->id);
    reg->stats.subscriptions--;
    free(sub);
}

/* Closes a stream and the subscriptions to it; notify: the other peers get
 * STREAM_REMOVED (not during releaseRoom, where everyone is leaving). */
static void stream_close(room_stream_t *s, bool notify)
{
    room_peer_t *owner = s->owner;
    room_t *room = owner->room;
    room_registry_t *reg = room->reg;
    observe(reg, ROOM_OBS_STREAM_REMOVED, room, s); /* while the SFU still has it: taps come off first */
    sfu_unpublish(reg->sfu, s->id);
    while (s->subs != NULL) {
        room_peer_t *subscriber = s->subs->peer;
        sub_close(s->subs, false);
        peer_conn_gc(subscriber, true);
    }
    room_stream_t **pp = &room->streams;
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    owner->streams[s->type] = NULL;
    if (room->speaker == s)
        room->speaker = NULL;
    idmap_del(&reg->ids, s->id);
    reg->stats.streams--;
    if (notify) {
        room_event_t ev = {.type = ROOM_EV_STREAM_REMOVED, .room = room, .user_id = owner->user_id, .stream = s};
        tell_others(room, owner, &ev);
    }
    free(s);
}

/* Removes a peer: tell_self sends it ROOM_EV_REMOVED first; tell_rest sends
 * the others STREAM_REMOVED per stream and PEER_LEAVE.  Leaves the room in
 * place even when empty (callers run room_gc). */
static void peer_remove(room_peer_t *p, int reason, bool tell_self, bool tell_rest)
{
    room_t *room = p->room;
    if (tell_self) {
        room_event_t ev = {.type = ROOM_EV_REMOVED, .room = room, .user_id = p->user_id, .reason = reason};
        tell(p, &ev);
    }
    while (p->subs != NULL)
        sub_close(p->subs, true);
    for (size_t t = 0; t < IRTC_ARRAY_SIZE(p->streams); t++)
        if (p->streams[t] != NULL)
            stream_close(p->streams[t], tell_rest);
    peer_conn_drop(p, false);
    peer_conn_drop(p, true);
    room_peer_t **pp = &room->peers, *prev = NULL;
    while (*pp != p) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = p->next;
    if (room->peers_tail == p)
        room->peers_tail = prev;
    room->peer_count--;
    room->reg->stats.peers--;
    if (tell_rest) {
        room_event_t ev = {.type = ROOM_EV_PEER_LEAVE, .room = room, .user_id = p->user_id, .reason = reason};
        tell_others(room, p, &ev);
    }
    free(p);
}

static void room_gc(room_t *room)
{
    if (room->peer_count == 0)
        room_free(room);
}

void room_registry_free(room_registry_t *reg)
{
    if (reg == NULL)
        return;
    reg->observer = NULL; /* shutdown: nobody is told */
    for (size_t i = 0; i < reg->nbuckets; i++) {
        while (reg->buckets[i] != NULL) {
            room_t *room = reg->buckets[i];
            while (room->peers != NULL)
                peer_remove(room->peers, ROOM_REASON_SERVER_ERROR, false, false);
            room_free(room);
        }
    }
    free(reg->buckets);
    free(reg->ids.slots);
    free(reg);
}

/* ---- peers ---- */

static bool id_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return n >= 1 && n <= ROOM_ID_MAX;
}

int room_join(room_registry_t *reg, const char *app_id, const char *channel_id, const char *user_id, int role,
              room_sink_fn sink, void *sink_ctx, room_peer_t **out, const char **why)
{
    *out = NULL;
    if (!id_ok(app_id) || !id_ok(channel_id) || !id_ok(user_id)) {
        *why = "appId, channelId and userId must be 1..64 characters";
        return IRTC_EINVAL;
    }
    if (role != ROOM_ROLE_PUBLISHER && role != ROOM_ROLE_JOINER) {
        *why = "role must be 0 (publisher) or 1 (joiner)";
        return IRTC_EINVAL;
    }
    room_t *room = room_find(reg, app_id, channel_id);
    if (room != NULL) {
        for (const room_peer_t *p = room->peers; p != NULL; p = p->next) {
            if (strcmp(p->user_id, user_id) == 0) {
                *why = "userId is already in the room";
                return IRTC_ECONFLICT;
            }
        }
        if (role == ROOM_ROLE_PUBLISHER && room_full(room)) {
            *why = "the room has reached its publisher limit (limits.max_publishers_per_room)";
            return IRTC_ELIMIT;
        }
    } else {
        room = room_create(reg, app_id, channel_id);
    }
    room_peer_t *p = xcalloc(1, sizeof(*p));
    p->room = room;
    snprintf(p->user_id, sizeof(p->user_id), "%s", user_id);
    p->role = role;
    p->sink = sink;
    p->sink_ctx = sink_ctx;
    room_event_t ev = {.type = ROOM_EV_PEER_JOIN, .room = room, .user_id = p->user_id};
    tell_others(room, NULL, &ev);
    if (room->peers_tail != NULL)
        room->peers_tail->next = p;
    else
        room->peers = p;
    room->peers_tail = p;
    room->peer_count++;
    reg->stats.peers++;
    *out = p;
    return IRTC_OK;
}

void room_leave(room_peer_t *peer, int reason)
{
    room_t *room = peer->room;
    peer_remove(peer, reason, false, true);
    room_gc(room);
}

int room_switch_role(room_peer_t *peer, int role, const char **why)
{
    if (role != ROOM_ROLE_PUBLISHER && role != ROOM_ROLE_JOINER) {
        *why = "role must be 0 (publisher) or 1 (joiner)";
        return IRTC_EINVAL;
    }
    if (role == peer->role)
        return IRTC_OK;
    if (role == ROOM_ROLE_PUBLISHER && !peer_is_publisher(peer) && room_full(peer->room)) {
        *why = "the room has reached its publisher limit (limits.max_publishers_per_room)";
        return IRTC_ELIMIT;
    }
    peer->role = role;
    if (role == ROOM_ROLE_PUBLISHER) {
        while (peer->subs != NULL)
            sub_close(peer->subs, true);
        peer_conn_gc(peer, true); /* as after stream-removed: the client closes its empty receiving connection */
    }
    return IRTC_OK;
}

/* ---- a peer's connections (protocol v2) ---- */

/* The peer's sending or receiving connection, made (its id registered) when
 * it has none; 0 for a protocol v1 peer: the SFU then makes one per stream
 * and per subscription.  *made says a new id was taken. */
static uint64_t peer_conn(room_peer_t *p, bool recv, bool *made)
{
    *made = false;
    if (!p->bundled)
        return 0;
    uint64_t *c = recv ? &p->recv_conn : &p->send_conn;
    if (*c == 0) {
        room_registry_t *reg = p->room->reg;
        *c = ++reg->last_id;
        idmap_put(&reg->ids, *c, p, ID_CONN);
        *made = true;
    }
    return *c;
}

static void peer_conn_drop(room_peer_t *p, bool recv)
{
    uint64_t *c = recv ? &p->recv_conn : &p->send_conn;
    if (*c == 0)
        return;
    room_registry_t *reg = p->room->reg;
    sfu_close_conn(reg->sfu, *c);
    idmap_del(&reg->ids, *c);
    *c = 0;
}

/* A connection that carries nothing any more is closed (the client closes
 * its PeerConnection too: a BUNDLE offer with every m-line stopped cannot be
 * made). */
static void peer_conn_gc(room_peer_t *p, bool recv)
{
    uint64_t c = recv ? p->recv_conn : p->send_conn;
    if (c != 0 && sfu_conn_empty(p->room->reg->sfu, c))
        peer_conn_drop(p, recv);
}

/* After a stream or subscription of a v2 peer ended: the client's offer
 * with its m-lines stopped is answered (when the connection still carries
 * something), and an empty connection closes. */
static int peer_conn_after_end(room_peer_t *p, bool recv, const char *offer, size_t len, char **answer_out,
                               const char **why)
{
    uint64_t c = recv ? p->recv_conn : p->send_conn;
    int rc = IRTC_OK;
    if (c != 0 && offer != NULL && !sfu_conn_empty(p->room->reg->sfu, c))
        rc = sfu_negotiate(p->room->reg->sfu, c, offer, len, answer_out, why);
    peer_conn_gc(p, recv);
    return rc;
}

void room_peer_set_bundled(room_peer_t *peer, bool bundled)
{
    peer->bundled = bundled;
}

bool room_peer_bundled(const room_peer_t *peer)
{
    return peer->bundled;
}

int room_negotiate(room_peer_t *peer, bool recv, const char *offer, size_t len, char **answer_out, const char **why)
{
    *answer_out = NULL;
    uint64_t c = recv ? peer->recv_conn : peer->send_conn;
    if (c == 0) {
        *why = recv ? "pc: no receiving connection (subscribe first)" : "pc: no sending connection (publish first)";
        return IRTC_ENOTFOUND;
    }
    return sfu_negotiate(peer->room->reg->sfu, c, offer, len, answer_out, why);
}

/* ---- publish and subscribe ---- */

/* Why the offer's kinds differ from what the client said it sends, or NULL. */
static const char *kinds_mismatch(const sfu_stream_info_t *info, bool audio, bool video)
{
    if (info->has_audio != audio)
        return audio ? "audio: the offer sends no audio" : "audio: the offer sends audio but audio is false";
    if (info->has_video != video)
        return video ? "video: the offer sends no video" : "video: the offer sends video but video is false";
    return NULL;
}

int room_publish(room_peer_t *peer, room_stream_type_t type, bool audio, bool video, const char *offer, size_t len,
                 const sfu_mids_t *mids, char **answer_out, const room_stream_t **out, const char **why)
{
    room_t *room = peer->room;
    room_registry_t *reg = room->reg;
    sfu_stream_info_t info;
    memset(&info, 0, sizeof(info));
    *answer_out = NULL;
    *out = NULL;
    if (type != ROOM_STREAM_MAIN && type != ROOM_STREAM_AUXILIARY) {
        *why = "streamType must be \"main\" or \"auxiliary\"";
        return IRTC_EINVAL;
    }
    if (!audio && !video) {
        *why = "audio and video cannot both be false";
        return IRTC_EINVAL;
    }
    if (peer->streams[type] != NULL) {
        *why = type == ROOM_STREAM_MAIN ? "a main stream is already published: unpublish it first"
                                        : "an auxiliary stream is already published: unpublish it first";
        return IRTC_ECONFLICT;
    }
    if (!peer_is_publisher(peer) && room_full(room)) {
        *why = "the room has reached its publisher limit (limits.max_publishers_per_room)";
        return IRTC_ELIMIT;
    }
    bool made;
    uint64_t conn = peer_conn(peer, false, &made);
    uint64_t id = ++reg->last_id;
    int rc = sfu_publish(reg->sfu, conn, room->worker, id, offer, len, mids, answer_out, &info, why);
    const char *mismatch = rc == IRTC_OK ? kinds_mismatch(&info, audio, video) : NULL;
    if (mismatch != NULL) {
        sfu_unpublish(reg->sfu, id);
        if (conn == 0)
            sfu_close_conn(reg->sfu, id);
        *why = mismatch;
        rc = IRTC_EINVAL;
    }
    if (rc != IRTC_OK) {
        free(*answer_out);
        *answer_out = NULL;
        if (made)
            peer_conn_gc(peer, false);
        return rc;
    }
    room_stream_t *s = xcalloc(1, sizeof(*s));
    s->id = id;
    s->user_id = peer->user_id;
    s->type = type;
    s->has_audio = info.has_audio;
    s->has_video = info.has_video;
    snprintf(s->video_codec, sizeof(s->video_codec), "%s", info.video_codec);
    s->simulcast_layers = info.simulcast_layers;
    s->owner = peer;
    if (type == ROOM_STREAM_MAIN) {
        /* The user muted before publishing: the stream starts muted. */
        s->audio_muted = s->has_audio && peer->audio_muted;
        s->video_muted = s->has_video && peer->video_muted;
        if (s->audio_muted)
            sfu_set_muted(reg->sfu, id, true, true);
        if (s->video_muted)
            sfu_set_muted(reg->sfu, id, false, true);
    }
    room_stream_t **pp = &room->streams;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = s;
    peer->streams[type] = s;
    idmap_put(&reg->ids, id, s, ID_STREAM);
    reg->stats.streams++;
    room_event_t ev = {.type = ROOM_EV_STREAM_ADDED, .room = room, .user_id = peer->user_id, .stream = s};
    tell_others(room, peer, &ev);
    observe(reg, ROOM_OBS_STREAM_ADDED, room, s);
    *out = s;
    return IRTC_OK;
}

static room_stream_t *own_stream(room_peer_t *peer, uint64_t stream_id)
{
    for (size_t t = 0; t < IRTC_ARRAY_SIZE(peer->streams); t++)
        if (peer->streams[t] != NULL && peer->streams[t]->id == stream_id)
            return peer->streams[t];
    return NULL;
}

int room_unpublish(room_peer_t *peer, uint64_t stream_id, const char *offer, size_t len, char **answer_out,
                   const char **why)
{
    if (answer_out != NULL)
        *answer_out = NULL;
    room_stream_t *s = own_stream(peer, stream_id);
    if (s == NULL)
        return IRTC_ENOTFOUND;
    stream_close(s, true);
    if (answer_out == NULL)
        offer = NULL;
    return peer_conn_after_end(peer, false, offer, len, answer_out, why);
}

int room_subscribe(room_peer_t *peer, uint64_t stream_id, bool audio, bool video, int max_layer, const char *offer,
                   size_t len, const sfu_mids_t *mids, char **answer_out, uint64_t *sub_id_out,
                   const room_stream_t **stream_out, const char **why)
{
    room_registry_t *reg = peer->room->reg;
    *answer_out = NULL;
    *sub_id_out = 0;
    *stream_out = NULL;
    if (peer->role == ROOM_ROLE_PUBLISHER) {
        *why = "role 0 (publisher) may not subscribe: switch to role 1 first";
        return IRTC_ECONFLICT;
    }
    room_stream_t *s = (room_stream_t *)room_find_stream(peer->room, stream_id);
    if (s == NULL) {
        *why = "streamId: no such stream in this room";
        return IRTC_ENOTFOUND;
    }
    if (s->owner == peer) {
        *why = "streamId: cannot subscribe to your own stream";
        return IRTC_EINVAL;
    }
    for (const room_sub_t *sub = peer->subs; sub != NULL; sub = sub->next_of_peer) {
        if (sub->stream == s) {
            *why = "streamId: already subscribed: unsubscribe first";
            return IRTC_ECONFLICT;
        }
    }
    audio = audio && s->has_audio;
    video = video && s->has_video;
    if (!audio && !video) {
        *why = "the stream has none of the requested kinds";
        return IRTC_EINVAL;
    }
    bool made;
    uint64_t conn = peer_conn(peer, true, &made);
    uint64_t id = ++reg->last_id;
    int prio = s->type == ROOM_STREAM_MAIN ? SFU_PRIORITY_MAIN : SFU_PRIORITY_AUXILIARY;
    int rc = sfu_subscribe(reg->sfu, conn, id, s->id, audio, video, max_layer, prio, offer, len, mids, answer_out, why);
    if (rc != IRTC_OK) {
        free(*answer_out);
        *answer_out = NULL;
        if (made)
            peer_conn_gc(peer, true);
        return rc;
    }
    room_sub_t *sub = xcalloc(1, sizeof(*sub));
    sub->id = id;
    sub->layer = -2;
    sub->peer = peer;
    sub->stream = s;
    sub->audio = audio;
    sub->video = video;
    sub->next_of_peer = peer->subs;
    peer->subs = sub;
    sub->next_of_stream = s->subs;
    s->subs = sub;
    idmap_put(&reg->ids, id, sub, ID_SUB);
    reg->stats.subscriptions++;
    *sub_id_out = id;
    *stream_out = s;
    return IRTC_OK;
}

static room_sub_t *own_sub(room_peer_t *peer, uint64_t id)
{
    for (room_sub_t *sub = peer->subs; sub != NULL; sub = sub->next_of_peer)
        if (sub->id == id || sub->stream->id == id)
            return sub;
    return NULL;
}

int room_unsubscribe(room_peer_t *peer, uint64_t id, const char *offer, size_t len, char **answer_out, const char **why)
{
    if (answer_out != NULL)
        *answer_out = NULL;
    room_sub_t *sub = own_sub(peer, id);
    if (sub != NULL)
        sub_close(sub, true);
    else if (offer == NULL || answer_out == NULL || peer->recv_conn == 0)
        return IRTC_ENOTFOUND;
    /* Ended by the server already (the stream went): the offer that stops its
     * m-lines is still answered. */
    if (answer_out == NULL)
        offer = NULL;
    return peer_conn_after_end(peer, true, offer, len, answer_out, why);
}

int room_set_layer(room_peer_t *peer, uint64_t id, int max_layer)
{
    room_sub_t *sub = own_sub(peer, id);
    if (sub == NULL)
        return IRTC_ENOTFOUND;
    sfu_set_layer(peer->room->reg->sfu, sub->id, max_layer);
    return IRTC_OK;
}

/* ---- mute ---- */

/* Sets one kind of s; true when it changed. */
static bool stream_set_muted(room_registry_t *reg, room_stream_t *s, bool audio, bool muted)
{
    bool *state = audio ? &s->audio_muted : &s->video_muted;
    if (!(audio ? s->has_audio : s->has_video) || *state == muted)
        return false;
    *state = muted;
    sfu_set_muted(reg->sfu, s->id, audio, muted);
    return true;
}

int room_set_muted(room_peer_t *peer, uint64_t stream_id, bool audio, bool muted, bool *changed, const char **why)
{
    room_t *room = peer->room;
    room_stream_t *s = stream_id == 0 ? peer->streams[ROOM_STREAM_MAIN] : own_stream(peer, stream_id);
    bool peer_changed = false, stream_changed;
    if (changed != NULL)
        *changed = false;
    if (stream_id != 0 && s == NULL) {
        *why = "streamId: not one of your streams";
        return IRTC_ENOTFOUND;
    }
    if (stream_id != 0 && !(audio ? s->has_audio : s->has_video)) {
        *why = audio ? "the stream has no audio" : "the stream has no video";
        return IRTC_EINVAL;
    }
    if (s == NULL || s->type == ROOM_STREAM_MAIN) {
        bool *state = audio ? &peer->audio_muted : &peer->video_muted;
        peer_changed = *state != muted;
        *state = muted;
    }
    stream_changed = s != NULL && stream_set_muted(room->reg, s, audio, muted);
    if (!peer_changed && !stream_changed)
        return IRTC_OK;
    room_event_t ev = {
        .type = ROOM_EV_MUTE, .room = room, .user_id = peer->user_id, .stream = s, .audio = audio, .muted = muted};
    tell_others(room, peer, &ev);
    if (stream_changed) {
        room_event_t up = {.type = ROOM_EV_STREAM_UPDATED, .room = room, .user_id = peer->user_id, .stream = s};
        tell_others(room, peer, &up);
    }
    if (changed != NULL)
        *changed = true;
    return IRTC_OK;
}

/* ---- REST releases and SFU events ---- */

int room_release_room(room_registry_t *reg, const char *app_id, const char *channel_id)
{
    room_t *room = room_find(reg, app_id, channel_id);
    if (room == NULL)
        return IRTC_ENOTFOUND;
    while (room->peers != NULL)
        peer_remove(room->peers, ROOM_REASON_DISSOLVED, true, false);
    room_free(room);
    return IRTC_OK;
}

int room_release_user(room_registry_t *reg, const char *app_id, const char *channel_id, const char *user_id)
{
    room_t *room = room_find(reg, app_id, channel_id);
    if (room == NULL)
        return IRTC_ENOTFOUND;
    for (room_peer_t *p = room->peers; p != NULL; p = p->next) {
        if (strcmp(p->user_id, user_id) == 0) {
            peer_remove(p, ROOM_REASON_KICKED, true, true);
            room_gc(room);
            return IRTC_OK;
        }
    }
    return IRTC_ENOTFOUND;
}

/* Active speaker: the loudest stream whose audio is speech-loud now; a new
 * one takes over from a speaker still talking only when louder by
 * ROOM_SPEAKER_MARGIN_DB, and at most every ROOM_SPEAKER_MIN_MS, so a
 * conversation does not flicker between two voices.  A speaker who falls
 * silent stays the speaker until someone else talks. */
#define ROOM_SPEAKER_MIN_MS 500
#define ROOM_SPEAKER_MARGIN_DB 6
#define ROOM_SPEAKER_FRESH_MS 1000 /* an audio event older than this no longer counts */

static bool speaking(const room_stream_t *s, uint64_t now_ms)
{
    return s != NULL && s->audio_active && now_ms - s->audio_at_ms <= ROOM_SPEAKER_FRESH_MS;
}

static void pick_speaker(room_t *room, uint64_t now_ms)
{
    room_stream_t *best = NULL;
    for (room_stream_t *s = room->streams; s != NULL; s = s->next)
        if (speaking(s, now_ms) && (best == NULL || s->audio_level < best->audio_level))
            best = s;
    room_stream_t *cur = room->speaker;
    if (best == NULL || best == cur || now_ms - room->speaker_ms < ROOM_SPEAKER_MIN_MS)
        return;
    if (speaking(cur, now_ms) && best->audio_level + ROOM_SPEAKER_MARGIN_DB > cur->audio_level)
        return;
    room->speaker = best;
    room->speaker_ms = now_ms;
    room_event_t out = {.type = ROOM_EV_ACTIVE_SPEAKER, .room = room, .user_id = best->user_id, .stream = best};
    tell_others(room, NULL, &out);
}

/* ---- data channel messages (protocol v2) ---- */

/* The connection of p that carries its data channels (0: none). */
static uint64_t peer_data_conn(const room_peer_t *p)
{
    const sfu_t *sfu = p->room->reg->sfu;
    if (p->send_conn != 0 && sfu_conn_has_data(sfu, p->send_conn))
        return p->send_conn;
    if (p->recv_conn != 0 && sfu_conn_has_data(sfu, p->recv_conn))
        return p->recv_conn;
    return 0;
}

/*
 * A message from peer's data channel: [n][n bytes: the userId it is for, or
 * none for everyone else in the room][data].  Each recipient gets
 * [n][the sender's userId][data] on its own channel of the same kind
 * (reliable or not) — docs/API.md, "Data channels".  A header that does not
 * parse, or names a user not in the room, drops the message.
 */
static void relay_data(room_peer_t *peer, const sfu_event_t *ev)
{
    const uint8_t *d = ev->data;
    if (ev->data_len < 1 || d[0] > ROOM_ID_MAX || (size_t)1 + d[0] > ev->data_len)
        return;
    char to[ROOM_ID_MAX + 1];
    memcpy(to, d + 1, d[0]);
    to[d[0]] = '\0';
    const uint8_t *body = d + 1 + d[0];
    size_t body_len = ev->data_len - 1 - d[0], from_len = strlen(peer->user_id);
    uint8_t *out = xmalloc(1 + from_len + body_len);
    out[0] = (uint8_t)from_len;
    memcpy(out + 1, peer->user_id, from_len);
    memcpy(out + 1 + from_len, body, body_len);
    sfu_t *sfu = peer->room->reg->sfu;
    for (room_peer_t *q = peer->room->peers; q != NULL; q = q->next) {
        if (q == peer || (to[0] && strcmp(q->user_id, to) != 0))
            continue;
        uint64_t conn = peer_data_conn(q);
        if (conn != 0)
            sfu_send_data(sfu, conn, ev->reliable, ev->binary, out, 1 + from_len + body_len);
    }
    free(out);
}

void room_registry_sfu_event(void *ctx, const sfu_event_t *ev)
{
    room_registry_t *reg = ctx;
    idslot_t *slot = idmap_find(&reg->ids, ev->id);
    if (slot == NULL)
        return;
    room_peer_t *peer = slot->kind == ID_CONN     ? slot->obj
                        : slot->kind == ID_STREAM ? ((room_stream_t *)slot->obj)->owner
                                                  : ((room_sub_t *)slot->obj)->peer;
    room_t *room = peer->room;
    switch (ev->type) {
    case SFU_EVENT_STREAM_READY: {
        if (slot->kind != ID_STREAM)
            return;
        room_stream_t *s = slot->obj;
        s->connected = true;
        room_event_t out = {.type = ROOM_EV_STREAM_PUBLISHED, .room = room, .user_id = s->user_id, .stream = s};
        tell(peer, &out);
        return;
    }
    case SFU_EVENT_SUB_READY:
    case SFU_EVENT_SUB_LAYER: {
        if (slot->kind != ID_SUB)
            return;
        room_sub_t *sub = slot->obj;
        bool resumed = false;
        if (ev->type == SFU_EVENT_SUB_LAYER) {
            resumed = sub->layer == -1 && ev->layer >= 0;
            sub->layer = ev->layer;
        }
        room_event_t out = {.type = ev->type == SFU_EVENT_SUB_READY ? ROOM_EV_STREAM_SUBSCRIBED : ROOM_EV_SUB_LAYER,
                            .resumed = resumed,
                            .room = room,
                            .user_id = sub->stream->user_id,
                            .stream = sub->stream,
                            .sub_id = sub->id,
                            .layer = ev->layer,
                            .layers = ev->layers};
        tell(peer, &out);
        return;
    }
    case SFU_EVENT_CONN_STATS: {
        if (slot->kind != ID_CONN)
            return; /* protocol v1's connections: no such event */
        room_event_t out = {.type = ROOM_EV_TRANSPORT_STATS,
                            .room = room,
                            .user_id = peer->user_id,
                            .recv_pc = ev->id == peer->recv_conn,
                            .rtt_ms = ev->rtt_ms,
                            .avail_kbps = ev->avail_kbps,
                            .loss_permille = ev->loss_permille};
        tell(peer, &out);
        return;
    }
    case SFU_EVENT_STREAM_AUDIO: {
        if (slot->kind != ID_STREAM)
            return;
        room_stream_t *s = slot->obj;
        s->audio_level = ev->level;
        s->audio_active = ev->active;
        s->audio_at_ms = clock_mono_ms();
        pick_speaker(room, s->audio_at_ms);
        return;
    }
    case SFU_EVENT_DATA:
        if (slot->kind == ID_CONN)
            relay_data(peer, ev);
        return;
    case SFU_EVENT_CONN_FAILED:
        if (slot->kind == ID_CONN && sfu_conn_empty(reg->sfu, ev->id)) {
            /* A connection that carried nothing went quiet: just close it. */
            peer_conn_drop(peer, ev->id == peer->recv_conn);
            return;
        }
        /* ICE consent lost or DTLS failed: the peer's network is gone. */
        peer_remove(peer, ROOM_REASON_TIMEOUT, true, true);
        room_gc(room);
        return;
    }
}
