/*
 * sfu.c — the control-thread half of the media plane: keeps every client
 * connection (PeerConnection) and what each of its m-lines carries, turns an
 * offer into an answer (src/sdp, with one rule per m-line so a connection can
 * be renegotiated), and sends the room's media worker the commands that
 * follow (transport, producers, consumers); places subscribers of a stream
 * too big for its room's worker on other workers and opens the pipes that
 * feed them (media/pipe.h).  Relays engine events as stream,
 * subscription and connection events.  Control thread only; no packet ever
 * passes through here.
 */
#include "sfu/sfu.h"
#include "core/common.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/spsc_ring.h"
#include "media/dtls.h"
#include "media/engine.h"
#include "media/pipe.h"
#include "media/worker.h"
#include "sdp/sdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What one m-line of a connection carries. */
typedef struct {
    char mid[SDP_MID_MAX + 1];
    int kind;       /* CODEC_KIND_* */
    bool send;      /* the server sends on it: a subscription's track */
    bool dead;      /* what it carried ended: answered with port 0 from now on */
    uint64_t owner; /* stream or subscription id */
    int pt;         /* as answered, kept across renegotiations */
    sdp_video_codec_t vcodec;
    uint32_t ssrc, rtx_ssrc;
    char cname[17], msid_stream[40], msid_track[48];
} mline_t;

typedef struct {
    uint64_t id;
    unsigned worker;
    bool single; /* protocol v1: closed with the one stream or subscription it carries */
    bool opened; /* the worker has its transport */
    bool data;   /* an answer accepted its m=application: data channels (protocol v2) */
    char ufrag[17], pwd[33];
    char remote_ufrag[SDP_ICE_UFRAG_MAX + 1];
    mline_t *ml;
    int n_ml;
} conn_t;

typedef struct {
    uint64_t id, conn;
    unsigned worker;
    sfu_stream_info_t info;
    sdp_video_codec_t vcodec;
    engine_producer_desc_t tracks[2]; /* by kind, as negotiated (recorders read them) */
    bool has[2];
    unsigned ready; /* kinds whose producer the engine reported installed on a connected transport */
    bool ready_sent;
    /* By worker: its subscriptions to this stream, and (not on the home
     * worker) the pipes by kind that feed them while there are any; we hold
     * a reference to each so no other pipe takes its address meanwhile. */
    unsigned *subs_on;
    mx_pipe_t **pipes; /* [worker * 2 + kind] */
} stream_t;

typedef struct {
    uint64_t id, conn, stream_id;
    unsigned worker; /* its connection's: the stream's, or another one fed by a pipe */
    bool has[2];
    unsigned ready;
    bool ready_sent;
} sub_t;

struct sfu {
    const cfg_t *cfg;
    worker_pool_t *workers;
    char fingerprint[DTLS_FINGERPRINT_LEN + 1];
    sfu_event_fn fn;
    void *ctx;
    conn_t **conns;
    size_t n_conns;
    stream_t **streams;
    size_t n_streams;
    sub_t **subs;
    size_t n_subs;
};

/* Engine ids: a transport is its connection's id; a producer or consumer is
 * its stream's or subscription's id with its kind. */
static uint64_t track_id(uint64_t id, int kind)
{
    return id << 1 | (uint64_t)kind;
}

/* ---- tables (small: linear) ---- */

#define FIND(arr, n, want)                                                                                             \
    for (size_t i_ = 0; i_ < (n); i_++)                                                                                \
        if ((arr)[i_]->id == (want))                                                                                   \
            return (arr)[i_];                                                                                          \
    return NULL

static conn_t *find_conn(const sfu_t *s, uint64_t id)
{
    FIND(s->conns, s->n_conns, id);
}

static stream_t *find_stream(const sfu_t *s, uint64_t id)
{
    FIND(s->streams, s->n_streams, id);
}

static sub_t *find_sub(const sfu_t *s, uint64_t id)
{
    FIND(s->subs, s->n_subs, id);
}

static void *push(void ***arr, size_t *n, void *obj)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[(*n)++] = obj;
    return obj;
}

static void pop(void **arr, size_t *n, const void *obj)
{
    for (size_t i = 0; i < *n; i++) {
        if (arr[i] == obj) {
            arr[i] = arr[--*n];
            return;
        }
    }
}

static void post(sfu_t *s, unsigned worker, const engine_cmd_t *cmd)
{
    worker_post_cmd(worker_pool_get(s->workers, worker), cmd);
}

static void post_simple(sfu_t *s, unsigned worker, engine_cmd_type_t type, uint64_t id)
{
    engine_cmd_t cmd = {.type = type, .id = id};
    post(s, worker, &cmd);
}

/* ---- events from the workers ---- */

static void emit(sfu_t *s, sfu_event_type_t type, uint64_t id)
{
    sfu_event_t ev = {.type = type, .id = id};
    if (s->fn != NULL)
        s->fn(s->ctx, &ev);
}

static void on_engine_event(void *ctx, unsigned worker, const engine_event_t *ev)
{
    sfu_t *s = ctx;
    (void)worker;
    uint64_t owner = ev->id >> 1;
    unsigned kind_bit = 1u << (ev->id & 1);
    switch (ev->type) {
    case ENGINE_EV_TRANSPORT_FAILED: {
        if (find_conn(s, ev->id) == NULL)
            return; /* closed meanwhile */
        log_info("sfu", "connection %llu failed: %s", (unsigned long long)ev->id, ev->reason ? ev->reason : "");
        sfu_event_t out = {.type = SFU_EVENT_CONN_FAILED, .id = ev->id, .reason = ev->reason};
        if (s->fn != NULL)
            s->fn(s->ctx, &out);
        return;
    }
    case ENGINE_EV_DATA: {
        if (find_conn(s, ev->id) == NULL)
            return;
        sfu_event_t out = {.type = SFU_EVENT_DATA, .id = ev->id, .data = ev->data, .data_len = ev->data_len,
                           .binary = ev->binary, .reliable = ev->reliable};
        if (s->fn != NULL)
            s->fn(s->ctx, &out);
        return;
    }
    case ENGINE_EV_PRODUCER_READY: {
        stream_t *st = find_stream(s, owner);
        if (st == NULL || st->ready_sent)
            return;
        st->ready |= kind_bit;
        if ((!st->has[0] || (st->ready & 1)) && (!st->has[1] || (st->ready & 2))) {
            st->ready_sent = true;
            emit(s, SFU_EVENT_STREAM_READY, st->id);
        }
        return;
    }
    case ENGINE_EV_CONSUMER_READY: {
        sub_t *sb = find_sub(s, owner);
        if (sb == NULL || sb->ready_sent)
            return;
        sb->ready |= kind_bit;
        if ((!sb->has[0] || (sb->ready & 1)) && (!sb->has[1] || (sb->ready & 2))) {
            sb->ready_sent = true;
            emit(s, SFU_EVENT_SUB_READY, sb->id);
        }
        return;
    }
    case ENGINE_EV_CONSUMER_LAYER: {
        if (find_sub(s, owner) == NULL)
            return;
        sfu_event_t out = {.type = SFU_EVENT_SUB_LAYER, .id = owner, .layer = ev->layer, .layers = ev->layers};
        if (s->fn != NULL)
            s->fn(s->ctx, &out);
        return;
    }
    case ENGINE_EV_TRANSPORT_STATS: {
        if (find_conn(s, ev->id) == NULL)
            return;
        sfu_event_t out = {.type = SFU_EVENT_CONN_STATS,
                           .id = ev->id,
                           .rtt_ms = ev->rtt_ms,
                           .avail_kbps = ev->avail_kbps,
                           .loss_permille = ev->loss_permille};
        if (s->fn != NULL)
            s->fn(s->ctx, &out);
        return;
    }
    case ENGINE_EV_PRODUCER_AUDIO: {
        if (find_stream(s, owner) == NULL)
            return;
        sfu_event_t out = {.type = SFU_EVENT_STREAM_AUDIO, .id = owner, .level = ev->level, .active = ev->active};
        if (s->fn != NULL)
            s->fn(s->ctx, &out);
        return;
    }
    default:
        return;
    }
}

sfu_t *sfu_new(const cfg_t *cfgp, struct worker_pool *workers, const char *fingerprint, sfu_event_fn fn, void *ctx)
{
    sfu_t *s = xcalloc(1, sizeof(*s));
    s->cfg = cfgp;
    s->workers = workers;
    snprintf(s->fingerprint, sizeof(s->fingerprint), "%s", fingerprint);
    s->fn = fn;
    s->ctx = ctx;
    worker_pool_set_event_sink(workers, on_engine_event, s);
    return s;
}

static void conn_free(conn_t *c)
{
    free(c->ml);
    free(c);
}

static void stream_free(sfu_t *s, stream_t *st)
{
    for (unsigned i = 0; i < 2 * worker_pool_size(s->workers); i++)
        pipe_unref(st->pipes[i]);
    free(st->pipes);
    free(st->subs_on);
    free(st);
}

void sfu_free(sfu_t *s)
{
    if (s == NULL)
        return;
    worker_pool_set_event_sink(s->workers, NULL, NULL);
    for (size_t i = 0; i < s->n_conns; i++)
        conn_free(s->conns[i]);
    for (size_t i = 0; i < s->n_streams; i++)
        stream_free(s, s->streams[i]);
    for (size_t i = 0; i < s->n_subs; i++)
        free(s->subs[i]);
    free(s->conns);
    free(s->streams);
    free(s->subs);
    free(s);
}

/* ---- what the answer says, for the engine ---- */

static void ext_ids(const sdp_answer_media_t *am, engine_ext_ids_t *x)
{
    for (int i = 0; i < am->n_ext; i++) {
        const char *u = am->ext[i].uri;
        uint8_t id = (uint8_t)am->ext[i].id;
        if (strcmp(u, "urn:ietf:params:rtp-hdrext:sdes:mid") == 0)
            x->mid = id;
        else if (strcmp(u, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time") == 0)
            x->abs_send_time = id;
        else if (strcmp(u, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01") == 0)
            x->twcc = id;
        else if (strcmp(u, "urn:ietf:params:rtp-hdrext:ssrc-audio-level") == 0)
            x->audio_level = id;
        else if (strcmp(u, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id") == 0)
            x->rid = id;
        else if (strcmp(u, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id") == 0)
            x->rrid = id;
    }
}

static bool accepted_media(const sdp_answer_media_t *am)
{
    return !am->rejected && (am->kind == SDP_KIND_AUDIO || am->kind == SDP_KIND_VIDEO);
}

static void describe_transport(const conn_t *c, const sdp_answer_t *a, engine_transport_desc_t *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->ufrag, sizeof(d->ufrag), "%s", c->ufrag);
    snprintf(d->pwd, sizeof(d->pwd), "%s", c->pwd);
    snprintf(d->remote_fp_alg, sizeof(d->remote_fp_alg), "%s", a->remote_fingerprint.alg);
    snprintf(d->remote_fp, sizeof(d->remote_fp), "%s", a->remote_fingerprint.value);
    for (int i = 0; i < a->n_media; i++) {
        const sdp_answer_media_t *am = &a->media[i];
        if (!accepted_media(am))
            continue;
        ext_ids(am, &d->ext);
        d->twcc_fb |= (am->fb & SDP_FB_TRANSPORT_CC) != 0;
        d->remb_fb |= (am->fb & SDP_FB_GOOG_REMB) != 0;
    }
}

/* The offerer's media SSRC and its RTX SSRC (a=ssrc-group:FID primary rtx). */
static void offered_ssrcs(const sdp_media_t *m, uint32_t *ssrc, uint32_t *rtx)
{
    *ssrc = m->n_ssrc > 0 ? m->ssrc[0].ssrc : 0;
    *rtx = 0;
    for (int g = 0; g < m->n_ssrc_group; g++) {
        if (strcmp(m->ssrc_group[g].semantics, "FID") == 0 && m->ssrc_group[g].n_ssrc >= 2) {
            *ssrc = m->ssrc_group[g].ssrc[0];
            *rtx = m->ssrc_group[g].ssrc[1];
            return;
        }
    }
}

/* A producer for an m-line the client sends on: its codec, and its
 * encodings — the a=simulcast rids in the offer's order (lowest first, as
 * the Web SDK lists them), or one encoding with the offered SSRCs. */
static void describe_producer(const sdp_media_t *om, const sdp_answer_media_t *am, engine_producer_desc_t *d)
{
    memset(d, 0, sizeof(*d));
    d->kind = am->kind == SDP_KIND_AUDIO ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
    d->codec = codec_from_name(am->name);
    d->pt = (uint8_t)am->pt;
    d->rtx_pt = am->rtx_pt > 0 ? (uint8_t)am->rtx_pt : 0;
    d->clock_rate = am->clock;
    d->nack = (am->fb & SDP_FB_NACK) != 0;
    d->pli = (am->fb & SDP_FB_NACK_PLI) != 0;
    snprintf(d->mid, sizeof(d->mid), "%s", am->mid);
    if (am->n_rid > 1 && d->kind == CODEC_KIND_VIDEO) {
        d->n_encodings = (unsigned)IRTC_MIN(am->n_rid, ENGINE_MAX_ENCODINGS);
        for (unsigned i = 0; i < d->n_encodings; i++)
            snprintf(d->enc[i].rid, sizeof(d->enc[i].rid), "%s", am->rid[i]);
    } else {
        d->n_encodings = 1;
        offered_ssrcs(om, &d->enc[0].ssrc, &d->enc[0].rtx_ssrc);
        if (am->n_rid == 1)
            snprintf(d->enc[0].rid, sizeof(d->enc[0].rid), "%s", am->rid[0]);
    }
}

static sdp_video_codec_t sdp_vcodec_of(codec_id_t c)
{
    return c == CODEC_H264 ? SDP_VIDEO_H264 : c == CODEC_VP9 ? SDP_VIDEO_VP9 : SDP_VIDEO_VP8;
}

/* ---- offers ---- */

enum { BIND_NONE = 0, BIND_PUBLISH, BIND_SUBSCRIBE };

/* What an offer binds: the new m-lines of a request. */
typedef struct {
    int type;
    uint64_t id;         /* stream or subscription */
    bool want[2];        /* kinds */
    const char *mid[2];  /* named mids, NULL or "" for the first unbound one */
    const stream_t *src; /* BIND_SUBSCRIBE: the stream */
    int max_layer, priority;
} bind_t;

static mline_t *find_ml(conn_t *c, const char *mid)
{
    for (int i = 0; i < c->n_ml; i++)
        if (strcmp(c->ml[i].mid, mid) == 0)
            return &c->ml[i];
    return NULL;
}

static bool offered_sending(sdp_dir_t d)
{
    return d == SDP_DIR_SENDONLY || d == SDP_DIR_SENDRECV;
}

static bool offered_receiving(sdp_dir_t d)
{
    return d == SDP_DIR_RECVONLY || d == SDP_DIR_SENDRECV;
}

/* A subscription m-line's identity in the answer. */
static void new_send_ml(mline_t *ml, const bind_t *b, int kind)
{
    crypto_random(&ml->ssrc, sizeof(ml->ssrc));
    crypto_random(&ml->rtx_ssrc, sizeof(ml->rtx_ssrc));
    ml->ssrc |= 1; /* never 0 */
    ml->rtx_ssrc |= 1;
    crypto_random_alnum(ml->cname, 16);
    snprintf(ml->msid_stream, sizeof(ml->msid_stream), "irtc-%llu", (unsigned long long)b->src->id);
    snprintf(ml->msid_track, sizeof(ml->msid_track), "%s-%llu", kind == CODEC_KIND_AUDIO ? "audio" : "video",
             (unsigned long long)b->src->id);
    ml->vcodec = b->src->vcodec;
}

/* The ICE ufrag of the offer's transport (the first m-line in use). */
static const char *offered_ufrag(const sdp_session_t *o)
{
    for (int i = 0; i < o->n_media; i++)
        if (o->media[i].port != 0 || o->media[i].bundle_only)
            return o->media[i].tr.ice_ufrag;
    return "";
}

static void fill_identity(sfu_t *s, const conn_t *c, sdp_policy_t *p)
{
    memset(p, 0, sizeof(*p));
    crypto_random(&p->session_id, sizeof(p->session_id));
    p->session_id &= 0x7fffffffffffffffULL;
    p->ice_ufrag = c->ufrag;
    p->ice_pwd = c->pwd;
    p->fingerprint = s->fingerprint;
    const worker_t *w = worker_pool_get(s->workers, c->worker);
    uint16_t port = worker_port(w), tcp_port = worker_tcp_port(w);
    for (size_t i = 0; i < s->cfg->media_ip_count && i < SDP_MAX_CANDIDATES; i++) {
        p->candidates[i].ip = s->cfg->media_ips[i];
        p->candidates[i].port = port;
        p->candidates[i].tcp_port = tcp_port;
        p->n_candidates++;
    }
}

static void end_ml(sfu_t *s, conn_t *c, mline_t *ml)
{
    if (ml->dead)
        return;
    ml->dead = true;
    if (c->opened)
        post_simple(s, c->worker, ml->send ? ENGINE_CMD_CONSUMER_CLOSE : ENGINE_CMD_PRODUCER_CLOSE,
                    track_id(ml->owner, ml->kind));
}

static char *write_answer(const sdp_answer_t *a)
{
    buf_t b;
    buf_init(&b);
    sdp_write_answer(&b, a);
    return buf_steal(&b);
}

/*
 * Answers an offer of connection c, binding the new m-lines b asks for.  On
 * success the connection's m-lines, the worker and bound[kind] follow the
 * answer; on failure nothing has changed.
 */
static int apply_offer(sfu_t *s, conn_t *c, const char *text, size_t len, const bind_t *b, char **answer_out,
                       bool bound[2], engine_producer_desc_t prod[2], const char **why)
{
    sdp_session_t *offer = xcalloc(1, sizeof(*offer));
    sdp_answer_t *ans = xcalloc(1, sizeof(*ans));
    sdp_media_policy_t *mp = NULL;
    mline_t *claims = NULL; /* new m-lines, by offer index */
    bool *ending = NULL;
    int rc = IRTC_EINVAL;
    bound[0] = bound[1] = false;
    if (sdp_parse(text, len, offer, why) != IRTC_OK)
        goto done;
    int n = offer->n_media;
    mp = xcalloc((size_t)n, sizeof(*mp));
    claims = xcalloc((size_t)n, sizeof(*claims));
    ending = xcalloc((size_t)n, sizeof(*ending));
    bool claimed[2] = {false, false};
    for (int i = 0; i < n; i++) {
        const sdp_media_t *m = &offer->media[i];
        mp[i] = (sdp_media_policy_t){.mode = SDP_ML_REJECT, .pt = -1};
        claims[i].kind = -1;
        int kind = m->kind == SDP_KIND_AUDIO ? CODEC_KIND_AUDIO : m->kind == SDP_KIND_VIDEO ? CODEC_KIND_VIDEO : -1;
        mline_t *ml = m->mid[0] ? find_ml(c, m->mid) : NULL;
        if (kind < 0 || !m->mid[0])
            continue;
        if (m->port == 0 && !m->bundle_only) { /* the client stopped it */
            ending[i] = ml != NULL && !ml->dead;
            continue;
        }
        if (ml != NULL) {
            if (ml->dead || ml->kind != kind)
                continue;
            mp[i].mode = ml->send ? SDP_ML_SEND : SDP_ML_RECV;
            mp[i].pt = ml->pt;
            if (ml->send)
                mp[i].send = (sdp_send_t){ml->ssrc, ml->rtx_ssrc, ml->cname, ml->msid_stream, ml->msid_track};
            continue;
        }
        bool name_ok = b->mid[kind] && b->mid[kind][0] ? strcmp(b->mid[kind], m->mid) == 0 : true;
        bool dir_ok = b->type == BIND_PUBLISH ? offered_sending(m->dir) : offered_receiving(m->dir);
        if (b->type == BIND_NONE || !b->want[kind] || claimed[kind] || !name_ok || !dir_ok)
            continue;
        if (b->type == BIND_SUBSCRIBE && !b->src->has[kind])
            continue;
        claimed[kind] = true;
        mline_t *cl = &claims[i];
        snprintf(cl->mid, sizeof(cl->mid), "%s", m->mid);
        cl->kind = kind;
        cl->owner = b->id;
        cl->send = b->type == BIND_SUBSCRIBE;
        if (cl->send) {
            new_send_ml(cl, b, kind);
            mp[i] = (sdp_media_policy_t){.mode = SDP_ML_SEND,
                                         .pt = -1,
                                         .send = {cl->ssrc, cl->rtx_ssrc, cl->cname, cl->msid_stream, cl->msid_track}};
            if (kind == CODEC_KIND_VIDEO) { /* forwarding, not transcoding: the publisher's codec or nothing */
                mp[i].n_video_order = 1;
                mp[i].video_order[0] = b->src->vcodec;
            }
        } else {
            mp[i].mode = SDP_ML_RECV;
        }
    }
    for (int k = 0; k < 2; k++) {
        if (b->type != BIND_NONE && b->want[k] && b->mid[k] && b->mid[k][0] && !claimed[k]) {
            *why = k == CODEC_KIND_AUDIO ? "mids.audio: no new m-line with that mid and direction in the offer"
                                         : "mids.video: no new m-line with that mid and direction in the offer";
            goto done;
        }
    }
    /* ICE: a first offer, or a new client ufrag (an ICE restart), gets new
     * credentials of ours; the DTLS association and the keys stay. */
    const char *ufrag = offered_ufrag(offer);
    bool restart = c->opened && strcmp(ufrag, c->remote_ufrag) != 0;
    char old_ufrag[sizeof(c->ufrag)], old_pwd[sizeof(c->pwd)];
    memcpy(old_ufrag, c->ufrag, sizeof(old_ufrag));
    memcpy(old_pwd, c->pwd, sizeof(old_pwd));
    if (!c->opened || restart) {
        crypto_random_alnum(c->ufrag, 16);
        crypto_random_alnum(c->pwd, 32);
    }
    sdp_policy_t p;
    fill_identity(s, c, &p);
    p.media = mp;
    p.n_media = n;
    p.accept_data = !c->single; /* protocol v2's connections carry the client's data channels */
    p.max_message_size = s->cfg->data_max_message_size;
    if (sdp_negotiate(offer, &p, ans, why) != IRTC_OK) {
        memcpy(c->ufrag, old_ufrag, sizeof(old_ufrag)); /* nothing changed */
        memcpy(c->pwd, old_pwd, sizeof(old_pwd));
        goto done;
    }

    /* ---- commit ---- */
    if (!c->opened) {
        engine_cmd_t cmd = {.type = ENGINE_CMD_TRANSPORT_OPEN, .id = c->id};
        describe_transport(c, ans, &cmd.u.transport);
        post(s, c->worker, &cmd);
        c->opened = true;
    } else if (restart) {
        engine_cmd_t cmd = {.type = ENGINE_CMD_TRANSPORT_ICE, .id = c->id};
        snprintf(cmd.u.transport.ufrag, sizeof(cmd.u.transport.ufrag), "%s", c->ufrag);
        snprintf(cmd.u.transport.pwd, sizeof(cmd.u.transport.pwd), "%s", c->pwd);
        post(s, c->worker, &cmd);
        log_info("sfu", "connection %llu: ICE restart", (unsigned long long)c->id);
    }
    for (int i = 0; i < n && !c->data; i++) {
        if (ans->media[i].kind != SDP_KIND_APPLICATION || ans->media[i].rejected)
            continue;
        engine_cmd_t cmd = {.type = ENGINE_CMD_TRANSPORT_DATA, .id = c->id};
        cmd.u.transport.data = c->data = true;
        cmd.u.transport.sctp_port = (uint16_t)offer->media[i].sctp_port;
        cmd.u.transport.remote_max_message = (uint32_t)IRTC_MIN(offer->media[i].max_message_size, UINT32_MAX);
        cmd.u.transport.max_message = (uint32_t)ans->media[i].max_message_size;
        post(s, c->worker, &cmd);
    }
    snprintf(c->remote_ufrag, sizeof(c->remote_ufrag), "%s", ans->remote_ufrag);
    for (int i = 0; i < n; i++) {
        mline_t *ml = offer->media[i].mid[0] ? find_ml(c, offer->media[i].mid) : NULL;
        if (ending[i])
            end_ml(s, c, ml);
        else if (ml != NULL && !ml->dead && ans->media[i].rejected)
            end_ml(s, c, ml); /* its codec is gone from the offer */
    }
    for (int i = 0; i < n; i++) {
        mline_t *cl = &claims[i];
        const sdp_answer_media_t *am = &ans->media[i];
        if (cl->kind < 0 || !accepted_media(am))
            continue;
        cl->pt = am->pt;
        c->ml = xrealloc(c->ml, (size_t)(c->n_ml + 1) * sizeof(*c->ml));
        c->ml[c->n_ml++] = *cl;
        bound[cl->kind] = true;
        if (!cl->send) {
            describe_producer(&offer->media[i], am, &prod[cl->kind]);
            continue;
        }
        engine_cmd_t cmd = {.type = ENGINE_CMD_CONSUMER_ADD, .id = track_id(b->id, cl->kind), .transport_id = c->id};
        engine_consumer_desc_t *d = &cmd.u.consumer;
        d->kind = (codec_kind_t)cl->kind;
        d->producer_id = track_id(b->src->id, cl->kind);
        d->pt = (uint8_t)am->pt;
        d->rtx_pt = am->rtx_pt > 0 && am->rtx_ssrc ? (uint8_t)am->rtx_pt : 0;
        d->ssrc = am->ssrc;
        d->rtx_ssrc = d->rtx_pt ? am->rtx_ssrc : 0;
        d->nack = (am->fb & SDP_FB_NACK) != 0;
        d->pli = (am->fb & SDP_FB_NACK_PLI) != 0;
        d->max_layer = b->max_layer;
        d->priority = b->priority;
        snprintf(d->mid, sizeof(d->mid), "%s", am->mid);
        post(s, c->worker, &cmd);
    }
    *answer_out = write_answer(ans);
    rc = IRTC_OK;
done:
    free(ending);
    free(claims);
    free(mp);
    free(offer);
    free(ans);
    return rc;
}

/* The connection for a request: conn_id 0 makes one of its own (protocol
 * v1: it goes with the stream or subscription own_id). */
static conn_t *get_conn(sfu_t *s, uint64_t conn_id, uint64_t own_id, unsigned worker, const char **why)
{
    uint64_t id = conn_id ? conn_id : own_id;
    conn_t *c = find_conn(s, id);
    if (c != NULL) {
        if (c->worker != worker || conn_id == 0) {
            *why = conn_id == 0 ? "connection id in use" : "that connection serves another room's worker";
            return NULL;
        }
        return c;
    }
    if (worker >= worker_pool_size(s->workers)) {
        *why = "no such media worker";
        return NULL;
    }
    c = xcalloc(1, sizeof(*c));
    c->id = id;
    c->worker = worker;
    c->single = conn_id == 0;
    return push((void ***)&s->conns, &s->n_conns, c);
}

/* Drops a connection the request created when its first offer failed. */
static void forget_new_conn(sfu_t *s, conn_t *c)
{
    if (c->opened || c->n_ml > 0)
        return;
    pop((void **)s->conns, &s->n_conns, c);
    conn_free(c);
}

static void close_conn(sfu_t *s, conn_t *c)
{
    if (c->opened)
        post_simple(s, c->worker, ENGINE_CMD_TRANSPORT_CLOSE, c->id); /* its producers and consumers with it */
    pop((void **)s->conns, &s->n_conns, c);
    conn_free(c);
}

int sfu_publish(sfu_t *s, uint64_t conn_id, unsigned worker, uint64_t stream_id, const char *offer_text, size_t len,
                const sfu_mids_t *mids, char **answer_out, sfu_stream_info_t *info, const char **why)
{
    *answer_out = NULL;
    if (find_stream(s, stream_id) != NULL) {
        *why = "stream id in use";
        return IRTC_ECONFLICT;
    }
    conn_t *c = get_conn(s, conn_id, stream_id, worker, why);
    if (c == NULL)
        return IRTC_ECONFLICT;
    bind_t b = {.type = BIND_PUBLISH,
                .id = stream_id,
                .want = {true, true},
                .mid = {mids ? mids->audio : NULL, mids ? mids->video : NULL}};
    bool bound[2];
    engine_producer_desc_t prod[2];
    int rc = apply_offer(s, c, offer_text, len, &b, answer_out, bound, prod, why);
    if (rc == IRTC_OK && !bound[0] && !bound[1]) {
        *why = "the offer has no audio or video this server can receive";
        rc = IRTC_EINVAL;
        free(*answer_out);
        *answer_out = NULL;
    }
    if (rc != IRTC_OK) {
        forget_new_conn(s, c);
        return rc;
    }
    stream_t *st = xcalloc(1, sizeof(*st));
    st->id = stream_id;
    st->conn = c->id;
    st->worker = worker;
    st->subs_on = xcalloc(worker_pool_size(s->workers), sizeof(*st->subs_on));
    st->pipes = xcalloc(2 * (size_t)worker_pool_size(s->workers), sizeof(*st->pipes));
    for (int k = 0; k < 2; k++) {
        if (!bound[k])
            continue;
        st->tracks[k] = prod[k];
        st->has[k] = true;
        engine_cmd_t cmd = {.type = ENGINE_CMD_PRODUCER_ADD, .id = track_id(stream_id, k), .transport_id = c->id};
        cmd.u.producer = prod[k];
        post(s, worker, &cmd);
        if (k == CODEC_KIND_AUDIO) {
            st->info.has_audio = true;
        } else {
            st->info.has_video = true;
            st->info.simulcast_layers = (int)prod[k].n_encodings;
            st->vcodec = sdp_vcodec_of(prod[k].codec);
            snprintf(st->info.video_codec, sizeof(st->info.video_codec), "%s",
                     codec_name(st->vcodec == SDP_VIDEO_H264  ? CODEC_H264
                                : st->vcodec == SDP_VIDEO_VP9 ? CODEC_VP9
                                                              : CODEC_VP8));
        }
    }
    push((void ***)&s->streams, &s->n_streams, st);
    *info = st->info;
    return IRTC_OK;
}

/* ---- a stream spanning workers ---- */

/* The worker for a new subscriber of st: its room's, until that has
 * media.room_spread_at subscribers of it; then the one with the fewest
 * subscriptions of any stream (the room's last on a tie: it also receives). */
static unsigned place(const sfu_t *s, const stream_t *st)
{
    unsigned n = worker_pool_size(s->workers), at = s->cfg->media_room_spread_at;
    if (at == 0 || n < 2 || st->subs_on[st->worker] < at)
        return st->worker;
    size_t *load = xcalloc(n, sizeof(*load));
    for (size_t i = 0; i < s->n_subs; i++)
        load[s->subs[i]->worker]++;
    unsigned best = st->worker;
    for (unsigned w = 0; w < n; w++)
        if (load[w] < load[best] || (best == st->worker && w != best && load[w] == load[best]))
            best = w;
    free(load);
    return best;
}

/* Worker w gets a pipe producer per track of st, fed by st's worker. */
static void pipes_open(sfu_t *s, stream_t *st, unsigned w)
{
    if (w == st->worker)
        return;
    bool opened = false;
    for (int k = 0; k < 2; k++) {
        mx_pipe_t **slot = &st->pipes[w * 2 + (unsigned)k];
        if (!st->has[k] || *slot != NULL)
            continue;
        opened = true;
        *slot = pipe_new(worker_pipe_fd(worker_pool_get(s->workers, w)));
        engine_cmd_t in = {.type = ENGINE_CMD_PIPE_IN, .id = track_id(st->id, k), .pipe = *slot};
        in.u.producer = st->tracks[k];
        pipe_ref(*slot);
        post(s, w, &in);
        engine_cmd_t out = {.type = ENGINE_CMD_PIPE_OUT, .id = track_id(st->id, k), .pipe = *slot};
        pipe_ref(*slot);
        post(s, st->worker, &out);
    }
    if (opened)
        log_info("sfu", "stream %llu spans worker %u (from %u)", (unsigned long long)st->id, w, st->worker);
}

/* Tears w's pipes of st down once it has no subscriber of st left. */
static void pipes_close_unused(sfu_t *s, stream_t *st, unsigned w)
{
    if (w == st->worker || st->subs_on[w] > 0)
        return;
    for (int k = 0; k < 2; k++) {
        mx_pipe_t **slot = &st->pipes[w * 2 + (unsigned)k];
        if (*slot == NULL)
            continue;
        engine_cmd_t del = {.type = ENGINE_CMD_PIPE_DEL, .id = track_id(st->id, k), .pipe = *slot};
        post(s, st->worker, &del);
        post_simple(s, w, ENGINE_CMD_PRODUCER_CLOSE, track_id(st->id, k));
        pipe_unref(*slot);
        *slot = NULL;
    }
}

/* Ends the m-lines an owner has on its connection; a connection of its own
 * (protocol v1) closes with it. */
static void end_owner(sfu_t *s, uint64_t conn_id, uint64_t owner)
{
    conn_t *c = find_conn(s, conn_id);
    if (c == NULL)
        return;
    if (c->single) {
        close_conn(s, c);
        return;
    }
    for (int i = 0; i < c->n_ml; i++)
        if (c->ml[i].owner == owner)
            end_ml(s, c, &c->ml[i]);
}

void sfu_unsubscribe(sfu_t *s, uint64_t sub_id)
{
    sub_t *sb = find_sub(s, sub_id);
    if (sb == NULL)
        return;
    end_owner(s, sb->conn, sb->id);
    stream_t *st = find_stream(s, sb->stream_id);
    if (st != NULL) {
        st->subs_on[sb->worker]--;
        pipes_close_unused(s, st, sb->worker); /* after its consumers' close, on the same queue */
    }
    pop((void **)s->subs, &s->n_subs, sb);
    free(sb);
}

void sfu_unpublish(sfu_t *s, uint64_t stream_id)
{
    stream_t *st = find_stream(s, stream_id);
    if (st == NULL)
        return;
    for (size_t i = 0; i < s->n_subs;) {
        if (s->subs[i]->stream_id == stream_id)
            sfu_unsubscribe(s, s->subs[i]->id); /* swaps the last one in: look at i again */
        else
            i++;
    }
    end_owner(s, st->conn, st->id);
    pop((void **)s->streams, &s->n_streams, st);
    stream_free(s, st);
}

int sfu_subscribe(sfu_t *s, uint64_t conn_id, uint64_t sub_id, uint64_t stream_id, bool audio, bool video,
                  int max_layer, int priority, const char *offer_text, size_t len, const sfu_mids_t *mids,
                  char **answer_out, const char **why)
{
    *answer_out = NULL;
    stream_t *src = find_stream(s, stream_id);
    if (src == NULL) {
        *why = "no such stream";
        return IRTC_ENOTFOUND;
    }
    if (find_sub(s, sub_id) != NULL) {
        *why = "subscription id in use";
        return IRTC_ECONFLICT;
    }
    const conn_t *known = conn_id != 0 ? find_conn(s, conn_id) : NULL;
    conn_t *c = get_conn(s, conn_id, sub_id, known != NULL ? known->worker : place(s, src), why);
    if (c == NULL)
        return IRTC_ECONFLICT;
    pipes_open(s, src, c->worker); /* before apply_offer posts the consumers that read them */
    bind_t b = {.type = BIND_SUBSCRIBE,
                .id = sub_id,
                .want = {audio && src->has[0], video && src->has[1]},
                .mid = {mids ? mids->audio : NULL, mids ? mids->video : NULL},
                .src = src,
                .max_layer = max_layer,
                .priority = priority};
    bool bound[2];
    engine_producer_desc_t unused[2];
    int rc = apply_offer(s, c, offer_text, len, &b, answer_out, bound, unused, why);
    if (rc == IRTC_OK && !bound[0] && !bound[1]) {
        *why = "nothing to subscribe to: the offer lacks the stream's media kinds";
        rc = IRTC_EINVAL;
        free(*answer_out);
        *answer_out = NULL;
    }
    if (rc != IRTC_OK) {
        pipes_close_unused(s, src, c->worker);
        forget_new_conn(s, c);
        return rc;
    }
    sub_t *sb = xcalloc(1, sizeof(*sb));
    sb->id = sub_id;
    sb->conn = c->id;
    sb->stream_id = stream_id;
    sb->worker = c->worker;
    src->subs_on[c->worker]++;
    sb->has[0] = bound[0];
    sb->has[1] = bound[1];
    push((void ***)&s->subs, &s->n_subs, sb);
    return IRTC_OK;
}

void sfu_set_layer(sfu_t *s, uint64_t sub_id, int max_layer)
{
    sub_t *sb = find_sub(s, sub_id);
    if (sb == NULL || !sb->has[CODEC_KIND_VIDEO])
        return;
    engine_cmd_t cmd = {.type = ENGINE_CMD_CONSUMER_LAYER,
                        .id = track_id(sub_id, CODEC_KIND_VIDEO),
                        .layer = max_layer < 0 ? -1 : max_layer};
    post(s, sb->worker, &cmd);
}

int sfu_negotiate(sfu_t *s, uint64_t conn_id, const char *offer_text, size_t len, char **answer_out, const char **why)
{
    *answer_out = NULL;
    conn_t *c = find_conn(s, conn_id);
    if (c == NULL) {
        *why = "no such connection";
        return IRTC_ENOTFOUND;
    }
    bind_t b = {.type = BIND_NONE};
    bool bound[2];
    engine_producer_desc_t unused[2];
    return apply_offer(s, c, offer_text, len, &b, answer_out, bound, unused, why);
}

void sfu_close_conn(sfu_t *s, uint64_t conn_id)
{
    conn_t *c = find_conn(s, conn_id);
    if (c != NULL)
        close_conn(s, c);
}

bool sfu_conn_has_data(const sfu_t *s, uint64_t conn_id)
{
    const conn_t *c = find_conn(s, conn_id);
    return c != NULL && c->data;
}

void sfu_send_data(sfu_t *s, uint64_t conn_id, bool reliable, bool binary, const uint8_t *data, size_t len)
{
    const conn_t *c = find_conn(s, conn_id);
    if (c == NULL || !c->data)
        return;
    engine_cmd_t cmd = {.type = ENGINE_CMD_DATA_SEND, .id = conn_id, .flag = reliable, .binary = binary,
                        .data_len = len};
    cmd.data = xmalloc(len ? len : 1);
    if (len)
        memcpy(cmd.data, data, len);
    post(s, c->worker, &cmd);
}

bool sfu_conn_empty(const sfu_t *s, uint64_t conn_id)
{
    const conn_t *c = find_conn(s, conn_id);
    if (c == NULL)
        return true;
    for (int i = 0; i < c->n_ml; i++)
        if (!c->ml[i].dead)
            return false;
    return true;
}

/* ---- mute, keyframes, recording ---- */

void sfu_set_muted(sfu_t *s, uint64_t stream_id, bool audio, bool muted)
{
    stream_t *st = find_stream(s, stream_id);
    int kind = audio ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
    if (st == NULL || !st->has[kind])
        return;
    engine_cmd_t cmd = {.type = ENGINE_CMD_PRODUCER_MUTE, .id = track_id(stream_id, kind), .flag = muted};
    post(s, st->worker, &cmd);
    for (unsigned w = 0; w < worker_pool_size(s->workers); w++) /* the pipe producers: resume on a keyframe */
        if (st->pipes[w * 2 + (unsigned)kind] != NULL)
            post(s, w, &cmd);
}

void sfu_request_keyframe(sfu_t *s, uint64_t stream_id)
{
    stream_t *st = find_stream(s, stream_id);
    if (st != NULL && st->has[CODEC_KIND_VIDEO])
        post_simple(s, st->worker, ENGINE_CMD_PRODUCER_KEYFRAME, track_id(stream_id, CODEC_KIND_VIDEO));
}

int sfu_tap_add(sfu_t *s, uint64_t stream_id, bool audio, spsc_ring_t *ring, codec_params_t *params)
{
    stream_t *st = find_stream(s, stream_id);
    int kind = audio ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
    if (st == NULL || !st->has[kind])
        return IRTC_ENOTFOUND;
    *params = (codec_params_t){.kind = (codec_kind_t)kind,
                               .codec = st->tracks[kind].codec,
                               .pt = st->tracks[kind].pt,
                               .clock_rate = st->tracks[kind].clock_rate};
    spsc_ring_ref(ring);
    engine_cmd_t cmd = {.type = ENGINE_CMD_TAP_ADD, .id = track_id(stream_id, kind), .ring = ring};
    post(s, st->worker, &cmd);
    return IRTC_OK;
}

void sfu_tap_del(sfu_t *s, uint64_t stream_id, spsc_ring_t *ring)
{
    stream_t *st = find_stream(s, stream_id);
    if (st == NULL)
        return;
    for (int kind = 0; kind < 2; kind++) { /* the ring is only compared: each producer drops its own reference */
        if (!st->has[kind])
            continue;
        engine_cmd_t cmd = {.type = ENGINE_CMD_TAP_DEL, .id = track_id(stream_id, kind), .ring = ring};
        post(s, st->worker, &cmd);
    }
}
