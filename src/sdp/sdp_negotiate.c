/*
 * sdp_negotiate.c — what the SFU answers to a parsed offer: codec, rtx,
 * feedback, header extensions, direction, simulcast, data channel, BUNDLE
 * and rtcp-mux checks, under the server's policy; see sdp.h.
 *
 * Runs on the control thread; pure over caller-owned structs.
 * Does not: parse text (sdp_parse.c) or write it (sdp_write.c).
 */
#include "sdp/sdp.h"
#include "core/common.h"
#include "sdp/sdp_span.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- negotiation ---------------------------------------------------------- */

/* The header extensions the SFU reads or rewrites; the answer keeps these
 * only, under the offer's ids (RFC 8285 §6: the answerer must use them). */
static const char *const EXT_KEEP[SDP_ANSWER_MAX_EXT] = {
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
};

#define SDP_FB_KEPT (SDP_FB_NACK | SDP_FB_NACK_PLI | SDP_FB_CCM_FIR | SDP_FB_TRANSPORT_CC | SDP_FB_GOOG_REMB)
#define SDP_ANSWER_SCTP_PORT 5000
#define SDP_ANSWER_MAX_MESSAGE_SIZE 262144

typedef struct {
    const sdp_policy_t *pol;
    /* RFC 8843 §9.2: under BUNDLE an id means one extension in every m= line. */
    const char *ext_by_id[256];
    int id_by_ext[SDP_ANSWER_MAX_EXT];
    bool have_audio, have_video, have_data;
    const char *why;
} nego_t;

static bool valid_ip(const char *ip)
{
    unsigned char addr[16];
    return ip && strlen(ip) <= SDP_ADDR_MAX &&
           (inet_pton(AF_INET, ip, addr) == 1 || inet_pton(AF_INET6, ip, addr) == 1);
}

/* Checks the server side of the policy and copies its identity into a. */
static int check_policy(const sdp_policy_t *p, sdp_answer_t *a, const char **why)
{
    *why = "bad policy: ICE credentials";
    if (!p->ice_ufrag || !p->ice_pwd || !sdp_span_is_ice(sdp_span_cstr(p->ice_ufrag), 4, SDP_ICE_UFRAG_MAX) ||
        !sdp_span_is_ice(sdp_span_cstr(p->ice_pwd), 22, SDP_ICE_PWD_MAX))
        return -1;
    *why = "bad policy: fingerprint (sha-256, AB:CD:...)";
    if (!p->fingerprint || sdp_span_fingerprint_bytes(sdp_span_cstr(p->fingerprint)) != 32)
        return -1;
    *why = "bad policy: candidates";
    if (p->n_candidates < 1 || p->n_candidates > SDP_MAX_CANDIDATES)
        return -1;
    for (int i = 0; i < p->n_candidates; i++)
        if (!valid_ip(p->candidates[i].ip) || p->candidates[i].port == 0)
            return -1;
    *why = "bad policy: video_order / sendrecv_as";
    if (p->n_video_order < 0 || p->n_video_order > SDP_VIDEO_CODEC_COUNT || (unsigned)p->sendrecv_as > SDP_DIR_INACTIVE)
        return -1;
    unsigned seen = 0;
    for (int i = 0; i < p->n_video_order; i++) {
        unsigned c = (unsigned)p->video_order[i];
        if (c >= SDP_VIDEO_CODEC_COUNT || (seen & 1u << c))
            return -1;
        seen |= 1u << c;
    }
    a->session_id = p->session_id;
    strcpy(a->ice_ufrag, p->ice_ufrag);
    strcpy(a->ice_pwd, p->ice_pwd);
    strcpy(a->fingerprint, p->fingerprint);
    a->n_candidates = p->n_candidates;
    for (int i = 0; i < p->n_candidates; i++) {
        strcpy(a->candidates[i].ip, p->candidates[i].ip);
        a->candidates[i].port = p->candidates[i].port;
        a->candidates[i].tcp_port = p->candidates[i].tcp_port;
    }
    *why = NULL;
    return 0;
}

static bool is_codec(const sdp_codec_t *c, const char *name, uint32_t clock)
{
    return c->has_rtpmap && strcasecmp(c->name, name) == 0 && c->clock == clock;
}

static bool video_ok(const sdp_codec_t *c, sdp_video_codec_t want)
{
    switch (want) {
    case SDP_VIDEO_VP8:
        return is_codec(c, "VP8", 90000);
    case SDP_VIDEO_H264:
        /* Constrained baseline, non-interleaved: what every browser decodes
         * and what the recorder's depacketizer handles. */
        return is_codec(c, "H264", 90000) && c->packetization_mode == 1 && c->has_profile_level_id &&
               (c->profile_level_id == 0x42e01f || c->profile_level_id == 0x42001f);
    case SDP_VIDEO_VP9:
        return is_codec(c, "VP9", 90000) && c->profile_id <= 0; /* absent means profile 0 */
    default:
        return false;
    }
}

/* Video codec ids in the order a choice tries them: the m-line's own rule,
 * else the policy's, else VP8, H.264, VP9. */
static int video_order(const nego_t *g, const sdp_media_policy_t *mp, const sdp_video_codec_t **order)
{
    static const sdp_video_codec_t dflt[] = {SDP_VIDEO_VP8, SDP_VIDEO_H264, SDP_VIDEO_VP9};
    if (mp != NULL && mp->n_video_order > 0) {
        *order = mp->video_order;
        return IRTC_MIN(mp->n_video_order, SDP_VIDEO_CODEC_COUNT);
    }
    if (g->pol->n_video_order) {
        *order = g->pol->video_order;
        return g->pol->n_video_order;
    }
    *order = dflt;
    return (int)IRTC_ARRAY_SIZE(dflt);
}

static bool audio_ok(const sdp_codec_t *c)
{
    return is_codec(c, "opus", 48000) && c->channels == 2;
}

static const sdp_codec_t *choose_codec(const nego_t *g, const sdp_media_t *m, const sdp_media_policy_t *mp)
{
    const sdp_video_codec_t *order;
    int n = m->kind == SDP_KIND_AUDIO ? 0 : video_order(g, mp, &order);
    if (mp != NULL && mp->pt >= 0) { /* keep what this m-line had, if it is still offered and still acceptable */
        const sdp_codec_t *c = sdp_media_find_pt(m, mp->pt);
        if (c == NULL)
            return NULL;
        if (m->kind == SDP_KIND_AUDIO)
            return audio_ok(c) ? c : NULL;
        for (int k = 0; k < n; k++)
            if (video_ok(c, order[k]))
                return c;
        return NULL;
    }
    if (m->kind == SDP_KIND_AUDIO) {
        for (int i = 0; i < m->n_pt; i++)
            if (audio_ok(&m->pt[i]))
                return &m->pt[i];
        return NULL;
    }
    for (int k = 0; k < n; k++)
        for (int i = 0; i < m->n_pt; i++)
            if (video_ok(&m->pt[i], order[k]))
                return &m->pt[i];
    return NULL;
}

static void keep_exts(nego_t *g, const sdp_media_t *m, sdp_answer_media_t *am)
{
    for (int i = 0; i < m->n_ext; i++) {
        const sdp_extmap_t *e = &m->ext[i];
        int k = 0;
        while (k < SDP_ANSWER_MAX_EXT && strcmp(e->uri, EXT_KEEP[k]) != 0)
            k++;
        if (k == SDP_ANSWER_MAX_EXT || e->dir == SDP_DIR_INACTIVE)
            continue;
        bool dup = false;
        for (int j = 0; j < am->n_ext; j++)
            dup |= am->ext[j].uri == EXT_KEEP[k];
        if (dup || (g->ext_by_id[e->id] && g->ext_by_id[e->id] != EXT_KEEP[k]) ||
            (g->id_by_ext[k] && g->id_by_ext[k] != e->id))
            continue;
        g->ext_by_id[e->id] = EXT_KEEP[k];
        g->id_by_ext[k] = e->id;
        am->ext[am->n_ext++] = (sdp_answer_ext_t){e->id, EXT_KEEP[k]};
    }
}

/* What the server sends on a subscription m-line. */
static int copy_send(const sdp_send_t *s, sdp_answer_media_t *am, const char **why)
{
    *why = "bad policy: send parameters (cname, msid)";
    if ((s->cname && !sdp_span_is_visible(sdp_span_cstr(s->cname), SDP_CNAME_MAX)) ||
        (s->msid_stream && !sdp_span_is_token(sdp_span_cstr(s->msid_stream), SDP_MSID_MAX)) ||
        (s->msid_track && !sdp_span_is_token(sdp_span_cstr(s->msid_track), SDP_MSID_MAX)) ||
        (s->msid_track && !s->msid_stream))
        return -1;
    am->ssrc = s->ssrc;
    am->rtx_ssrc = am->rtx_pt >= 0 && s->ssrc ? s->rtx_ssrc : 0;
    strcpy(am->cname, s->cname ? s->cname : "");
    strcpy(am->msid_stream, s->msid_stream ? s->msid_stream : "");
    strcpy(am->msid_track, s->msid_track ? s->msid_track : "");
    *why = NULL;
    return 0;
}

static int answer_dir(nego_t *g, sdp_dir_t offered, sdp_dir_t *out)
{
    switch (offered) {
    case SDP_DIR_SENDONLY:
        *out = SDP_DIR_RECVONLY;
        return 0;
    case SDP_DIR_RECVONLY:
        *out = SDP_DIR_SENDONLY;
        return 0;
    case SDP_DIR_INACTIVE:
        *out = SDP_DIR_INACTIVE;
        return 0;
    default:
        *out = g->pol->sendrecv_as;
        g->why = "sendrecv m= line refused by policy";
        return *out == SDP_DIR_NONE ? -1 : 0;
    }
}

static void fill_codec(sdp_answer_media_t *am, const sdp_media_t *m, const sdp_codec_t *c)
{
    am->pt = c->pt;
    strcpy(am->name, c->name);
    am->clock = c->clock;
    am->channels = c->channels;
    am->fb = c->fb & SDP_FB_KEPT;
    am->rtcp_rsize = m->rtcp_rsize;
    if (m->kind == SDP_KIND_AUDIO) /* RFC 7587 §7: minptime=10 is what browsers use */
        snprintf(am->fmtp, sizeof(am->fmtp), "minptime=10%s%s", c->useinbandfec == 1 ? ";useinbandfec=1" : "",
                 c->stereo == 1 ? ";stereo=1" : "");
    else
        strcpy(am->fmtp, c->fmtp); /* H.264: the offered parameters are what we accept */
    for (int i = 0; i < m->n_pt; i++)
        if (is_codec(&m->pt[i], "rtx", c->clock) && m->pt[i].apt == c->pt) {
            am->rtx_pt = m->pt[i].pt;
            break;
        }
}

/* The answer's direction for an m-line with a per-line rule; false when
 * the offered direction does not fit it (the m-line is then rejected). */
static bool ml_dir(sdp_ml_mode_t mode, sdp_dir_t offered, sdp_dir_t *out)
{
    if (offered == SDP_DIR_INACTIVE) {
        *out = SDP_DIR_INACTIVE;
        return true;
    }
    if (mode == SDP_ML_RECV && (offered == SDP_DIR_SENDONLY || offered == SDP_DIR_SENDRECV)) {
        *out = SDP_DIR_RECVONLY;
        return true;
    }
    if (mode == SDP_ML_SEND && (offered == SDP_DIR_RECVONLY || offered == SDP_DIR_SENDRECV)) {
        *out = SDP_DIR_SENDONLY;
        return true;
    }
    return false;
}

static int answer_rtp(nego_t *g, const sdp_media_t *m, const sdp_media_policy_t *mp, sdp_answer_media_t *am)
{
    bool audio = m->kind == SDP_KIND_AUDIO;
    if (strcmp(m->proto, "UDP/TLS/RTP/SAVPF") != 0)
        return 0;
    bool *have = audio ? &g->have_audio : &g->have_video;
    if (mp == NULL && ((audio ? g->pol->reject_audio : g->pol->reject_video) || *have))
        return 0;
    if (mp != NULL && mp->mode == SDP_ML_REJECT)
        return 0;
    const sdp_codec_t *c = choose_codec(g, m, mp);
    if (!c)
        return 0;
    if (mp != NULL) {
        if (!ml_dir(mp->mode, m->dir, &am->dir))
            return 0;
    } else if (answer_dir(g, m->dir, &am->dir) < 0) {
        return -1;
    }
    *have = true;
    am->rejected = false;
    fill_codec(am, m, c);
    keep_exts(g, m, am);
    const sdp_send_t *send = mp != NULL ? &mp->send : audio ? &g->pol->audio_send : &g->pol->video_send;
    if ((am->dir == SDP_DIR_SENDONLY || am->dir == SDP_DIR_SENDRECV) && copy_send(send, am, &g->why) < 0)
        return -1;
    if (am->dir == SDP_DIR_RECVONLY || am->dir == SDP_DIR_SENDRECV) {
        am->n_rid = m->n_sim_send; /* RFC 8853 §5.3: mirror the offered layers */
        for (int i = 0; i < m->n_sim_send; i++)
            strcpy(am->rid[i], m->sim_send[i].rid);
    }
    return 0;
}

static void answer_data(nego_t *g, const sdp_media_t *m, sdp_answer_media_t *am)
{
    /* RFC 8841 §4.1; aiortc still writes the older "DTLS/SCTP" proto. */
    bool proto = strcmp(m->proto, "UDP/DTLS/SCTP") == 0 || strcmp(m->proto, "DTLS/SCTP") == 0;
    bool dc = strcmp(m->fmt, "webrtc-datachannel") == 0 || m->sctpmap_dc;
    if (!g->pol->accept_data || g->have_data || !proto || !dc || !m->sctp_port)
        return;
    g->have_data = true;
    am->rejected = false;
    am->sctp_port = SDP_ANSWER_SCTP_PORT;
    am->max_message_size = g->pol->max_message_size ? g->pol->max_message_size : SDP_ANSWER_MAX_MESSAGE_SIZE;
}

static int answer_media(nego_t *g, int idx, const sdp_media_t *m, sdp_answer_media_t *am)
{
    const sdp_media_policy_t *mp = NULL;
    if (g->pol->media != NULL) {
        static const sdp_media_policy_t reject = {.mode = SDP_ML_REJECT, .pt = -1};
        mp = idx < g->pol->n_media ? &g->pol->media[idx] : &reject;
    }
    am->kind = m->kind;
    strcpy(am->kind_name, m->kind_name);
    strcpy(am->proto, m->proto);
    strcpy(am->mid, m->mid);
    am->rejected = true;
    am->pt = am->rtx_pt = -1;
    if (m->is_rtp)
        snprintf(am->reject_fmt, sizeof(am->reject_fmt), "%d", m->pt[0].pt);
    else
        strcpy(am->reject_fmt, m->fmt);
    if (m->port == 0 && !m->bundle_only) /* the offerer disabled it (RFC 3264 §8.2) */
        return 0;
    if ((m->kind == SDP_KIND_AUDIO || m->kind == SDP_KIND_VIDEO) && m->is_rtp)
        return answer_rtp(g, m, mp, am);
    if (m->kind == SDP_KIND_APPLICATION)
        answer_data(g, m, am);
    return 0;
}

static int find_mid(const sdp_session_t *o, const char *mid)
{
    for (int j = 0; j < o->n_media; j++)
        if (strcmp(o->media[j].mid, mid) == 0)
            return j;
    return -1;
}

static const char *check_media_transport(const sdp_media_t *m, const sdp_media_t *tag)
{
    if (m->is_rtp && !m->rtcp_mux)
        return "offer lacks a=rtcp-mux";
    if (!m->tr.ice_ufrag[0] || !m->tr.ice_pwd[0])
        return "offer lacks a=ice-ufrag / a=ice-pwd";
    if (m->tr.n_fingerprint == 0)
        return "offer lacks a=fingerprint";
    /* We are DTLS server; no a=setup means active (RFC 4145 §4). */
    if (m->tr.setup != SDP_SETUP_ACTPASS && m->tr.setup != SDP_SETUP_ACTIVE && m->tr.setup != SDP_SETUP_NONE)
        return "offer's a=setup must be actpass or active";
    /* An initial offer may give each bundled m= line its own transport (RFC
     * 8843 §7.2.1; aiortc does): the tagged one is what will be used, so the
     * others' credentials and fingerprints are not compared. */
    (void)tag;
    return NULL;
}

/* BUNDLE must cover every accepted m= line, which then share one transport:
 * the offer's tagged one (RFC 8843 §7.3). */
static int check_transport(const sdp_session_t *o, sdp_answer_t *a, const char **why)
{
    const sdp_media_t *tag = NULL;
    bool in_bundle[SDP_MAX_MEDIA] = {false};
    for (int i = 0; i < o->n_bundle; i++) {
        int j = find_mid(o, o->bundle[i]);
        if (j < 0 || a->media[j].rejected)
            continue;
        in_bundle[j] = true;
        strcpy(a->bundle[a->n_bundle++], o->bundle[i]);
        if (!tag)
            tag = &o->media[j];
    }
    for (int j = 0; j < o->n_media; j++) {
        if (a->media[j].rejected)
            continue;
        if (!in_bundle[j]) {
            *why = "offer has no a=group:BUNDLE covering every accepted m= line";
            return -1;
        }
        if ((*why = check_media_transport(&o->media[j], tag)) != NULL)
            return -1;
    }
    strcpy(a->remote_ufrag, tag->tr.ice_ufrag);
    strcpy(a->remote_pwd, tag->tr.ice_pwd);
    a->remote_fingerprint = tag->tr.fingerprint[0];
    for (int i = 0; i < tag->tr.n_fingerprint; i++)
        if (strcmp(tag->tr.fingerprint[i].alg, "sha-256") == 0) {
            a->remote_fingerprint = tag->tr.fingerprint[i];
            break;
        }
    return 0;
}

int sdp_negotiate(const sdp_session_t *offer, const sdp_policy_t *policy, sdp_answer_t *answer, const char **why)
{
    nego_t g = {.pol = policy};
    const char *w = NULL;
    int accepted = 0;
    memset(answer, 0, sizeof(*answer));
    if (check_policy(policy, answer, &w) < 0)
        goto fail;
    w = "offerer is ICE-lite too (RFC 8445 needs one full agent)";
    if (offer->ice_lite)
        goto fail;
    w = "offer has no m= line";
    if (offer->n_media == 0)
        goto fail;
    answer->n_media = offer->n_media;
    for (int i = 0; i < offer->n_media; i++) {
        if (answer_media(&g, i, &offer->media[i], &answer->media[i]) < 0) {
            w = g.why;
            goto fail;
        }
        accepted += !answer->media[i].rejected;
    }
    w = "no acceptable m= line (kind, proto or codec)";
    if (accepted == 0)
        goto fail;
    if (check_transport(offer, answer, &w) < 0)
        goto fail;
    return IRTC_OK;
fail:
    if (why)
        *why = w;
    return IRTC_EINVAL;
}
