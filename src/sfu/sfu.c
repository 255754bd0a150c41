/*
 * sfu.c — the control-thread half of the media plane: turns a client's SDP
 * offer into an answer (src/media/sdp) and a transport description, and sends
 * it to the room's media worker (src/media/engine) as a command.  Keeps which
 * streams and subscriptions exist and on which worker; relays engine events.
 * Control thread only.  No packet ever passes through here.
 */
#include "sfu/sfu.h"
#include "core/common.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "media/dtls.h"
#include "core/spsc_ring.h"
#include "media/engine.h"
#include "media/worker.h"
#include "sdp/sdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    uint64_t id;
    unsigned worker;
    bool is_publisher;
    uint64_t stream_id; /* subscriptions: what they receive */
    sfu_stream_info_t info;
    /* publishers: the negotiated video codec, so subscribers get the same */
    sdp_video_codec_t video_codec;
    engine_producer_desc_t tracks[2]; /* audio, video as received (for recorders) */
    bool has_track[2];
} sfu_entry_t;

/* Engine object ids: a transport takes the stream's or subscription's id;
 * its producers and consumers take that id and their kind. */
static uint64_t track_id(uint64_t id, int kind)
{
    return id << 1 | (uint64_t)kind;
}

struct sfu {
    const cfg_t *cfg;
    worker_pool_t *workers;
    char fingerprint[DTLS_FINGERPRINT_LEN + 1];
    sfu_event_fn fn;
    void *ctx;
    sfu_entry_t *entries;
    size_t n_entries, cap_entries;
};

static sfu_entry_t *find(sfu_t *s, uint64_t id)
{
    for (size_t i = 0; i < s->n_entries; i++)
        if (s->entries[i].id == id)
            return &s->entries[i];
    return NULL;
}

static sfu_entry_t *add(sfu_t *s, uint64_t id)
{
    if (s->n_entries == s->cap_entries) {
        s->cap_entries = s->cap_entries ? s->cap_entries * 2 : 16;
        s->entries = xrealloc(s->entries, s->cap_entries * sizeof(*s->entries));
    }
    sfu_entry_t *e = &s->entries[s->n_entries++];
    memset(e, 0, sizeof(*e));
    e->id = id;
    return e;
}

static void drop(sfu_t *s, sfu_entry_t *e)
{
    *e = s->entries[--s->n_entries];
}

static void on_engine_event(void *ctx, unsigned worker, const engine_event_t *ev)
{
    sfu_t *s = ctx;
    (void)worker;
    if (ev->type != ENGINE_EV_TRANSPORT_CONNECTED && ev->type != ENGINE_EV_TRANSPORT_FAILED)
        return;
    sfu_entry_t *e = find(s, ev->id);
    if (e == NULL)
        return; /* already closed on the control side */
    sfu_event_t out = {.type = ev->type == ENGINE_EV_TRANSPORT_CONNECTED ? SFU_EVENT_CONNECTED : SFU_EVENT_FAILED,
                       .transport_id = ev->id,
                       .is_publisher = e->is_publisher,
                       .reason = ev->reason};
    if (out.type == SFU_EVENT_FAILED)
        log_info("sfu", "transport %llu failed: %s", (unsigned long long)ev->id, ev->reason ? ev->reason : "");
    if (s->fn != NULL)
        s->fn(s->ctx, &out);
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

void sfu_free(sfu_t *s)
{
    if (s == NULL)
        return;
    worker_pool_set_event_sink(s->workers, NULL, NULL);
    free(s->entries);
    free(s);
}

/* ---- offer → answer ---- */

static void fill_policy(sfu_t *s, unsigned worker, sdp_policy_t *p, char *ufrag, char *pwd)
{
    memset(p, 0, sizeof(*p));
    crypto_random_alnum(ufrag, 16);
    crypto_random_alnum(pwd, 32);
    crypto_random(&p->session_id, sizeof(p->session_id));
    p->session_id &= 0x7fffffffffffffffULL;
    p->ice_ufrag = ufrag;
    p->ice_pwd = pwd;
    p->fingerprint = s->fingerprint;
    uint16_t port = worker_port(worker_pool_get(s->workers, worker));
    for (size_t i = 0; i < s->cfg->media_ip_count && i < SDP_MAX_CANDIDATES; i++) {
        p->candidates[i].ip = s->cfg->media_ips[i];
        p->candidates[i].port = port;
        p->n_candidates++;
    }
}

static codec_id_t codec_of(const char *name)
{
    if (strcasecmp(name, "opus") == 0)
        return CODEC_OPUS;
    if (strcasecmp(name, "VP8") == 0)
        return CODEC_VP8;
    if (strcasecmp(name, "VP9") == 0)
        return CODEC_VP9;
    if (strcasecmp(name, "H264") == 0)
        return CODEC_H264;
    return CODEC_OTHER;
}

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

/* What the engine needs of a negotiated transport. */
static void describe_transport(const sdp_answer_t *a, engine_transport_desc_t *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->ufrag, sizeof(d->ufrag), "%s", a->ice_ufrag);
    snprintf(d->pwd, sizeof(d->pwd), "%s", a->ice_pwd);
    snprintf(d->remote_fp_alg, sizeof(d->remote_fp_alg), "%s", a->remote_fingerprint.alg);
    snprintf(d->remote_fp, sizeof(d->remote_fp), "%s", a->remote_fingerprint.value);
    for (int i = 0; i < a->n_media; i++) {
        const sdp_answer_media_t *am = &a->media[i];
        if (am->rejected || (am->kind != SDP_KIND_AUDIO && am->kind != SDP_KIND_VIDEO))
            continue;
        ext_ids(am, &d->ext);
        if (am->fb & SDP_FB_TRANSPORT_CC)
            d->twcc_fb = true;
        if (am->fb & SDP_FB_GOOG_REMB)
            d->remb_fb = true;
    }
}

/* A producer for an accepted m-line the client sends on: its codec, and its
 * encodings — the a=simulcast rids in the offer's order (lowest first, as
 * the Web SDK lists them), or one encoding with the offered SSRCs. */
static void describe_producer(const sdp_media_t *om, const sdp_answer_media_t *am, engine_producer_desc_t *d)
{
    memset(d, 0, sizeof(*d));
    d->kind = am->kind == SDP_KIND_AUDIO ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
    d->codec = codec_of(am->name);
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

static void post_transport_open(sfu_t *s, unsigned worker, uint64_t id, const sdp_answer_t *a)
{
    engine_cmd_t cmd = {.type = ENGINE_CMD_TRANSPORT_OPEN, .id = id};
    describe_transport(a, &cmd.u.transport);
    worker_post_cmd(worker_pool_get(s->workers, worker), &cmd);
}

static void post_simple(sfu_t *s, unsigned worker, engine_cmd_type_t type, uint64_t id)
{
    engine_cmd_t cmd = {.type = type, .id = id};
    worker_post_cmd(worker_pool_get(s->workers, worker), &cmd);
}

static int negotiate(const char *text, size_t len, const sdp_policy_t *p, sdp_session_t **offer_out,
                     sdp_answer_t **ans_out, const char **why)
{
    sdp_session_t *offer = xcalloc(1, sizeof(*offer));
    sdp_answer_t *ans = xcalloc(1, sizeof(*ans));
    int rc = sdp_parse(text, len, offer, why);
    if (rc == IRTC_OK)
        rc = sdp_negotiate(offer, p, ans, why);
    if (rc != IRTC_OK) {
        free(offer);
        free(ans);
        return IRTC_EINVAL;
    }
    *offer_out = offer;
    *ans_out = ans;
    return IRTC_OK;
}

static bool accepted_media(const sdp_answer_media_t *am)
{
    return !am->rejected && (am->kind == SDP_KIND_AUDIO || am->kind == SDP_KIND_VIDEO);
}

static char *write_answer(const sdp_answer_t *a)
{
    buf_t b;
    buf_init(&b);
    sdp_write_answer(&b, a);
    return buf_steal(&b);
}

int sfu_publish(sfu_t *s, unsigned worker, uint64_t stream_id, const char *offer_text, size_t len, char **answer_out,
                sfu_stream_info_t *info, const char **why)
{
    if (find(s, stream_id) != NULL || worker >= worker_pool_size(s->workers)) {
        *why = "stream id in use";
        return IRTC_ECONFLICT;
    }
    char ufrag[17], pwd[33];
    sdp_policy_t p;
    fill_policy(s, worker, &p, ufrag, pwd);
    p.sendrecv_as = SDP_DIR_RECVONLY; /* a sendrecv publisher (aiortc) is answered recvonly */
    sdp_session_t *offer;
    sdp_answer_t *ans;
    if (negotiate(offer_text, len, &p, &offer, &ans, why) != IRTC_OK)
        return IRTC_EINVAL;
    engine_producer_desc_t tracks[2];
    bool has[2] = {false, false};
    for (int i = 0; i < ans->n_media; i++) {
        if (!accepted_media(&ans->media[i]))
            continue;
        engine_producer_desc_t d;
        describe_producer(&offer->media[i], &ans->media[i], &d);
        if (has[d.kind])
            continue; /* one track of each kind per stream */
        tracks[d.kind] = d;
        has[d.kind] = true;
    }
    if (!has[CODEC_KIND_AUDIO] && !has[CODEC_KIND_VIDEO]) {
        free(offer);
        free(ans);
        *why = "the offer has no audio or video this server can receive";
        return IRTC_EINVAL;
    }
    sfu_entry_t *e = add(s, stream_id);
    e->worker = worker;
    e->is_publisher = true;
    post_transport_open(s, worker, stream_id, ans);
    for (int k = 0; k < 2; k++) {
        if (!has[k])
            continue;
        e->tracks[k] = tracks[k];
        e->has_track[k] = true;
        engine_cmd_t cmd = {.type = ENGINE_CMD_PRODUCER_ADD, .id = track_id(stream_id, k), .transport_id = stream_id};
        cmd.u.producer = tracks[k];
        worker_post_cmd(worker_pool_get(s->workers, worker), &cmd);
        if (k == CODEC_KIND_AUDIO) {
            e->info.has_audio = true;
        } else {
            codec_id_t c = tracks[k].codec;
            e->info.has_video = true;
            e->info.simulcast_layers = (int)tracks[k].n_encodings;
            e->video_codec = c == CODEC_H264 ? SDP_VIDEO_H264 : c == CODEC_VP9 ? SDP_VIDEO_VP9 : SDP_VIDEO_VP8;
            snprintf(e->info.video_codec, sizeof(e->info.video_codec), "%s",
                     c == CODEC_H264  ? "H264"
                     : c == CODEC_VP9 ? "VP9"
                                         : "VP8");
        }
    }
    *info = e->info;
    *answer_out = write_answer(ans);
    free(offer);
    free(ans);
    return IRTC_OK;
}

static void close_entry(sfu_t *s, sfu_entry_t *e)
{
    post_simple(s, e->worker, ENGINE_CMD_TRANSPORT_CLOSE, e->id);
    drop(s, e);
}

void sfu_unpublish(sfu_t *s, uint64_t stream_id)
{
    sfu_entry_t *e = find(s, stream_id);
    if (e == NULL || !e->is_publisher)
        return;
    for (size_t i = 0; i < s->n_entries;) {
        sfu_entry_t *sub = &s->entries[i];
        if (!sub->is_publisher && sub->stream_id == stream_id)
            close_entry(s, sub); /* swaps the last entry in: look at i again */
        else
            i++;
    }
    close_entry(s, find(s, stream_id));
}

int sfu_subscribe(sfu_t *s, uint64_t sub_id, uint64_t stream_id, bool audio, bool video, const char *offer_text,
                  size_t len, char **answer_out, const char **why)
{
    sfu_entry_t *src = find(s, stream_id);
    if (src == NULL || !src->is_publisher) {
        *why = "no such stream";
        return IRTC_ENOTFOUND;
    }
    if (find(s, sub_id) != NULL) {
        *why = "subscription id in use";
        return IRTC_ECONFLICT;
    }
    unsigned worker = src->worker;
    char ufrag[17], pwd[33], cname[17], msid[40], atrack[48], vtrack[48];
    sdp_policy_t p;
    fill_policy(s, worker, &p, ufrag, pwd);
    p.sendrecv_as = SDP_DIR_SENDONLY;
    p.n_video_order = 1; /* forwarding, not transcoding: the publisher's codec or nothing */
    p.video_order[0] = src->video_codec;
    p.reject_audio = !audio || !src->info.has_audio;
    p.reject_video = !video || !src->info.has_video;
    crypto_random_alnum(cname, 16);
    snprintf(msid, sizeof(msid), "irtc-%llu", (unsigned long long)stream_id);
    snprintf(atrack, sizeof(atrack), "audio-%llu", (unsigned long long)stream_id);
    snprintf(vtrack, sizeof(vtrack), "video-%llu", (unsigned long long)stream_id);
    crypto_random(&p.audio_send.ssrc, sizeof(uint32_t));
    crypto_random(&p.video_send.ssrc, sizeof(uint32_t));
    crypto_random(&p.video_send.rtx_ssrc, sizeof(uint32_t));
    p.audio_send.ssrc |= 1; /* never 0 */
    p.video_send.ssrc |= 1;
    p.video_send.rtx_ssrc |= 1;
    p.audio_send.cname = p.video_send.cname = cname;
    p.audio_send.msid_stream = p.video_send.msid_stream = msid;
    p.audio_send.msid_track = atrack;
    p.video_send.msid_track = vtrack;
    sdp_session_t *offer;
    sdp_answer_t *ans;
    if (negotiate(offer_text, len, &p, &offer, &ans, why) != IRTC_OK)
        return IRTC_EINVAL;
    engine_consumer_desc_t cons[2];
    bool has[2] = {false, false};
    for (int i = 0; i < ans->n_media; i++) {
        const sdp_answer_media_t *am = &ans->media[i];
        if (!accepted_media(am))
            continue;
        int k = am->kind == SDP_KIND_AUDIO ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
        if (has[k])
            continue;
        has[k] = true;
        engine_consumer_desc_t *d = &cons[k];
        memset(d, 0, sizeof(*d));
        d->kind = (codec_kind_t)k;
        d->producer_id = track_id(stream_id, k);
        d->pt = (uint8_t)am->pt;
        d->rtx_pt = am->rtx_pt > 0 && am->rtx_ssrc ? (uint8_t)am->rtx_pt : 0;
        d->ssrc = am->ssrc;
        d->rtx_ssrc = d->rtx_pt ? am->rtx_ssrc : 0;
        d->nack = (am->fb & SDP_FB_NACK) != 0;
        d->pli = (am->fb & SDP_FB_NACK_PLI) != 0;
        d->max_layer = -1;
        d->priority = 2;
        snprintf(d->mid, sizeof(d->mid), "%s", am->mid);
    }
    if (!has[0] && !has[1]) {
        free(offer);
        free(ans);
        *why = "nothing to subscribe to: the offer lacks the stream's media kinds";
        return IRTC_EINVAL;
    }
    sfu_entry_t *e = add(s, sub_id);
    e->worker = worker;
    e->stream_id = stream_id;
    post_transport_open(s, worker, sub_id, ans);
    for (int k = 0; k < 2; k++) {
        if (!has[k])
            continue;
        engine_cmd_t cmd = {.type = ENGINE_CMD_CONSUMER_ADD, .id = track_id(sub_id, k), .transport_id = sub_id};
        cmd.u.consumer = cons[k];
        worker_post_cmd(worker_pool_get(s->workers, worker), &cmd);
    }
    *answer_out = write_answer(ans);
    free(offer);
    free(ans);
    return IRTC_OK;
}

void sfu_unsubscribe(sfu_t *s, uint64_t sub_id)
{
    sfu_entry_t *e = find(s, sub_id);
    if (e != NULL && !e->is_publisher)
        close_entry(s, e);
}

void sfu_set_muted(sfu_t *s, uint64_t stream_id, bool audio, bool muted)
{
    sfu_entry_t *e = find(s, stream_id);
    int kind = audio ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
    if (e == NULL || !e->is_publisher || !e->has_track[kind])
        return;
    engine_cmd_t cmd = {.type = ENGINE_CMD_PRODUCER_MUTE, .id = track_id(stream_id, kind), .flag = muted};
    worker_post_cmd(worker_pool_get(s->workers, e->worker), &cmd);
}

void sfu_request_keyframe(sfu_t *s, uint64_t stream_id)
{
    sfu_entry_t *e = find(s, stream_id);
    if (e != NULL && e->is_publisher && e->has_track[CODEC_KIND_VIDEO])
        post_simple(s, e->worker, ENGINE_CMD_PRODUCER_KEYFRAME, track_id(stream_id, CODEC_KIND_VIDEO));
}

int sfu_tap_add(sfu_t *s, uint64_t stream_id, bool audio, spsc_ring_t *ring, codec_params_t *params)
{
    sfu_entry_t *e = find(s, stream_id);
    int kind = audio ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
    if (e == NULL || !e->is_publisher || !e->has_track[kind])
        return IRTC_ENOTFOUND;
    *params = (codec_params_t){.kind = (codec_kind_t)kind,
                               .codec = e->tracks[kind].codec,
                               .pt = e->tracks[kind].pt,
                               .clock_rate = e->tracks[kind].clock_rate};
    spsc_ring_ref(ring);
    engine_cmd_t cmd = {.type = ENGINE_CMD_TAP_ADD, .id = track_id(stream_id, kind), .ring = ring};
    worker_post_cmd(worker_pool_get(s->workers, e->worker), &cmd);
    return IRTC_OK;
}

void sfu_tap_del(sfu_t *s, uint64_t stream_id, spsc_ring_t *ring)
{
    sfu_entry_t *e = find(s, stream_id);
    if (e == NULL || !e->is_publisher)
        return;
    for (int kind = 0; kind < 2; kind++) { /* the ring is only compared: each producer drops its own reference */
        if (!e->has_track[kind])
            continue;
        engine_cmd_t cmd = {.type = ENGINE_CMD_TAP_DEL, .id = track_id(stream_id, kind), .ring = ring};
        worker_post_cmd(worker_pool_get(s->workers, e->worker), &cmd);
    }
}
