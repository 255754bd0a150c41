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
#include "core/spsc_ring.h"
#include "media/dtls.h"
#include "media/engine.h"
#include "sdp/sdp.h"
#include "media/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t id;
    unsigned worker;
    bool is_publisher;
    uint64_t stream_id; /* subscriptions: what they receive */
    sfu_stream_info_t info;
    /* publishers: the negotiated video codec, so subscribers get the same */
    sdp_video_codec_t video_codec;
    mx_track_desc_t tracks[2]; /* audio, video as received (for recorders) */
    bool has_track[2];
} sfu_entry_t;

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

static void on_engine_event(void *ctx, const mx_event_t *mev)
{
    sfu_t *s = ctx;
    if (find(s, mev->id) == NULL)
        return; /* already closed on the control side */
    sfu_event_t ev = {.type = mev->type == MX_EV_CONNECTED ? SFU_EVENT_CONNECTED : SFU_EVENT_FAILED,
                      .transport_id = mev->id,
                      .is_publisher = mev->is_publisher,
                      .reason = mev->reason};
    if (ev.type == SFU_EVENT_FAILED)
        log_info("sfu", "transport %llu failed: %s", (unsigned long long)mev->id, mev->reason ? mev->reason : "");
    if (s->fn != NULL)
        s->fn(s->ctx, &ev);
}

sfu_t *sfu_new(const cfg_t *cfg, struct worker_pool *workers, const char *fingerprint, sfu_event_fn fn, void *ctx)
{
    sfu_t *s = xcalloc(1, sizeof(*s));
    s->cfg = cfg;
    s->workers = workers;
    snprintf(s->fingerprint, sizeof(s->fingerprint), "%s", fingerprint);
    s->fn = fn;
    s->ctx = ctx;
    mx_engine_set_event_sink(on_engine_event, s);
    return s;
}

void sfu_free(sfu_t *s)
{
    if (s == NULL)
        return;
    mx_engine_set_event_sink(NULL, NULL);
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

static void ext_ids(const sdp_answer_media_t *am, mx_ext_ids_t *x)
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

/* Fills the transport description from a negotiated answer. */
static void describe(const sdp_session_t *offer, const sdp_answer_t *a, uint64_t id, bool publisher,
                     mx_transport_desc_t *d)
{
    memset(d, 0, sizeof(*d));
    d->id = id;
    d->is_publisher = publisher;
    snprintf(d->ufrag, sizeof(d->ufrag), "%s", a->ice_ufrag);
    snprintf(d->pwd, sizeof(d->pwd), "%s", a->ice_pwd);
    snprintf(d->remote_fp_alg, sizeof(d->remote_fp_alg), "%s", a->remote_fingerprint.alg);
    snprintf(d->remote_fp, sizeof(d->remote_fp), "%s", a->remote_fingerprint.value);
    for (int i = 0; i < a->n_media && d->track_count < MX_MAX_TRACKS; i++) {
        const sdp_answer_media_t *am = &a->media[i];
        if (am->rejected || (am->kind != SDP_KIND_AUDIO && am->kind != SDP_KIND_VIDEO))
            continue;
        mx_track_desc_t *t = &d->tracks[d->track_count++];
        t->kind = am->kind == SDP_KIND_AUDIO ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
        t->codec = codec_from_name(am->name);
        t->pt = (uint8_t)am->pt;
        t->rtx_pt = am->rtx_pt > 0 ? (uint8_t)am->rtx_pt : 0;
        t->clock_rate = am->clock;
        t->nack = (am->fb & SDP_FB_NACK) != 0;
        t->pli = (am->fb & SDP_FB_NACK_PLI) != 0;
        snprintf(t->mid, sizeof(t->mid), "%s", am->mid);
        if (publisher) {
            offered_ssrcs(&offer->media[i], &t->ssrc, &t->rtx_ssrc);
        } else {
            t->ssrc = am->ssrc;
            t->rtx_ssrc = 0;
        }
        ext_ids(am, &d->ext);
        if (am->fb & SDP_FB_TRANSPORT_CC)
            d->twcc_fb = true;
        if (am->fb & SDP_FB_GOOG_REMB)
            d->remb_fb = true;
    }
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

/* The OPEN command for a negotiated offer; NULL (offer and answer freed) when
 * no audio or video track was accepted. */
static mx_cmd_t *open_cmd(sdp_session_t *offer, sdp_answer_t *ans, uint64_t id, bool publisher, uint64_t source)
{
    mx_cmd_t *cmd = mx_cmd_new(MX_CMD_OPEN, id);
    describe(offer, ans, id, publisher, &cmd->desc);
    for (unsigned i = 0; i < cmd->desc.track_count; i++)
        cmd->desc.tracks[i].source_stream = source;
    if (cmd->desc.track_count > 0)
        return cmd;
    free(cmd);
    free(offer);
    free(ans);
    return NULL;
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
    mx_cmd_t *cmd = open_cmd(offer, ans, stream_id, true, 0);
    if (cmd == NULL) {
        *why = "the offer has no audio or video this server can receive";
        return IRTC_EINVAL;
    }
    sfu_entry_t *e = add(s, stream_id);
    e->worker = worker;
    e->is_publisher = true;
    for (unsigned i = 0; i < cmd->desc.track_count; i++) {
        const mx_track_desc_t *t = &cmd->desc.tracks[i];
        e->tracks[t->kind] = *t;
        e->has_track[t->kind] = true;
        if (t->kind == CODEC_KIND_AUDIO) {
            e->info.has_audio = true;
        } else {
            e->info.has_video = true;
            e->video_codec = t->codec == CODEC_H264  ? SDP_VIDEO_H264
                             : t->codec == CODEC_VP9 ? SDP_VIDEO_VP9
                                                     : SDP_VIDEO_VP8;
            snprintf(e->info.video_codec, sizeof(e->info.video_codec), "%s",
                     codec_name(t->codec == CODEC_H264 || t->codec == CODEC_VP9 ? t->codec : CODEC_VP8));
        }
    }
    *info = e->info;
    *answer_out = write_answer(ans);
    mx_cmd_post(worker_pool_get(s->workers, worker), cmd);
    free(offer);
    free(ans);
    return IRTC_OK;
}

static void close_entry(sfu_t *s, sfu_entry_t *e)
{
    mx_cmd_post(worker_pool_get(s->workers, e->worker), mx_cmd_new(MX_CMD_CLOSE, e->id));
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
    p.audio_send.ssrc |= 1; /* never 0 */
    p.video_send.ssrc |= 1;
    p.audio_send.cname = p.video_send.cname = cname;
    p.audio_send.msid_stream = p.video_send.msid_stream = msid;
    p.audio_send.msid_track = atrack;
    p.video_send.msid_track = vtrack;
    sdp_session_t *offer;
    sdp_answer_t *ans;
    if (negotiate(offer_text, len, &p, &offer, &ans, why) != IRTC_OK)
        return IRTC_EINVAL;
    mx_cmd_t *cmd = open_cmd(offer, ans, sub_id, false, stream_id);
    if (cmd == NULL) {
        *why = "nothing to subscribe to: the offer lacks the stream's media kinds";
        return IRTC_EINVAL;
    }
    sfu_entry_t *e = add(s, sub_id);
    e->worker = worker;
    e->stream_id = stream_id;
    *answer_out = write_answer(ans);
    mx_cmd_post(worker_pool_get(s->workers, worker), cmd);
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
    if (e == NULL || !e->is_publisher)
        return;
    mx_cmd_t *cmd = mx_cmd_new(MX_CMD_MUTE, stream_id);
    cmd->kind = audio ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
    cmd->flag = muted;
    mx_cmd_post(worker_pool_get(s->workers, e->worker), cmd);
}

void sfu_request_keyframe(sfu_t *s, uint64_t stream_id)
{
    sfu_entry_t *e = find(s, stream_id);
    if (e != NULL && e->is_publisher)
        mx_cmd_post(worker_pool_get(s->workers, e->worker), mx_cmd_new(MX_CMD_KEYFRAME, stream_id));
}

int sfu_tap_add(sfu_t *s, uint64_t stream_id, bool audio, spsc_ring_t *ring, codec_params_t *params)
{
    sfu_entry_t *e = find(s, stream_id);
    int kind = audio ? CODEC_KIND_AUDIO : CODEC_KIND_VIDEO;
    if (e == NULL || !e->is_publisher || !e->has_track[kind])
        return IRTC_ENOTFOUND;
    *params = (codec_params_t){.kind = kind,
                               .codec = e->tracks[kind].codec,
                               .pt = e->tracks[kind].pt,
                               .clock_rate = e->tracks[kind].clock_rate};
    spsc_ring_ref(ring);
    mx_cmd_t *cmd = mx_cmd_new(MX_CMD_TAP_ADD, stream_id);
    cmd->kind = kind;
    cmd->ring = ring;
    mx_cmd_post(worker_pool_get(s->workers, e->worker), cmd);
    return IRTC_OK;
}

void sfu_tap_del(sfu_t *s, uint64_t stream_id, spsc_ring_t *ring)
{
    sfu_entry_t *e = find(s, stream_id);
    if (e == NULL || !e->is_publisher)
        return;
    mx_cmd_t *cmd = mx_cmd_new(MX_CMD_TAP_DEL, stream_id);
    cmd->ring = ring; /* only compared: the engine drops its own reference */
    mx_cmd_post(worker_pool_get(s->workers, e->worker), cmd);
}
