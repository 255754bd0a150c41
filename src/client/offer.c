/*
 * offer.c — SDP offers written like Chromium's (the shapes irtcd and aiortc
 * are tested with) and answers read through src/media/sdp.
 *
 * Pure, any thread.  Does not: negotiate codecs beyond Opus, VP8 and H.264 (the
 * load generator's payload shapes).
 */
#include "client/offer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/common.h"
#include "sdp/sdp.h"

static const char *const URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid";
static const char *const URI_ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
static const char *const URI_TWCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
static const char *const URI_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
static const char *const URI_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
static const char *const URI_RRID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

const char *ic_layer_rid(unsigned i, unsigned n)
{
    static const char *const rids[IC_MAX_LAYERS] = {"q", "h", "f"};
    if (n > IC_MAX_LAYERS)
        n = IC_MAX_LAYERS;
    return rids[IC_MAX_LAYERS - n + IRTC_MIN(i, n - 1)];
}

static void media_head(buf_t *b, const ic_offer_t *o, const char *kind, const char *fmts, const char *mid)
{
    buf_printf(b, "m=%s 9 UDP/TLS/RTP/SAVPF %s\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n", kind, fmts);
    if (o->cand_ip != NULL)
        buf_printf(b, "a=candidate:1 1 udp 2122260223 %s %u typ host generation 0\r\n", o->cand_ip, o->cand_port);
    buf_printf(b,
               "a=end-of-candidates\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
               "a=setup:actpass\r\na=mid:%s\r\n",
               o->ufrag, o->pwd, o->fingerprint, mid);
}

/* One video codec's lines: rtpmap, feedback, fmtp, and its rtx. */
static void video_codec(buf_t *b, int pt, int rtx, const char *name, const char *fmtp)
{
    buf_printf(b, "a=rtpmap:%d %s/90000\r\na=rtcp-fb:%d goog-remb\r\na=rtcp-fb:%d transport-cc\r\n"
                  "a=rtcp-fb:%d ccm fir\r\na=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n",
               pt, name, pt, pt, pt, pt, pt);
    if (fmtp != NULL)
        buf_printf(b, "a=fmtp:%d %s\r\n", pt, fmtp);
    buf_printf(b, "a=rtpmap:%d rtx/90000\r\na=fmtp:%d apt=%d\r\n", rtx, rtx, pt);
}

void ic_offer_write(buf_t *b, const ic_offer_t *o)
{
    const char *dir = o->send ? "sendonly" : "recvonly";
    buf_printf(b, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE",
               (unsigned long long)o->session_id);
    if (o->audio)
        buf_puts(b, " 0");
    if (o->video)
        buf_puts(b, o->audio ? " 1" : " 0");
    buf_puts(b, "\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS irtc\r\n");
    if (o->audio) {
        media_head(b, o, "audio", "111", "0");
        buf_printf(b, "a=extmap:%d %s\r\na=extmap:%d %s\r\na=extmap:%d %s\r\na=extmap:%d %s\r\n", IC_EXT_MID, URI_MID,
                   IC_EXT_ABS_SEND_TIME, URI_ABS, IC_EXT_TWCC, URI_TWCC, IC_EXT_AUDIO_LEVEL, URI_LEVEL);
        buf_printf(b, "a=%s\r\n", dir);
        if (o->send)
            buf_puts(b, "a=msid:irtc irtc-audio\r\n");
        buf_puts(b, "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
                    "a=fmtp:111 minptime=10;useinbandfec=1\r\n");
        if (o->send)
            buf_printf(b, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:irtc irtc-audio\r\n", o->audio_ssrc, o->cname,
                       o->audio_ssrc);
    }
    if (o->video) {
        const char *mid = o->audio ? "1" : "0";
        media_head(b, o, "video", !o->send ? "96 97 102 103" : o->h264 ? "102 103" : "96 97", mid);
        buf_printf(b, "a=extmap:%d %s\r\na=extmap:%d %s\r\na=extmap:%d %s\r\n", IC_EXT_MID, URI_MID,
                   IC_EXT_ABS_SEND_TIME, URI_ABS, IC_EXT_TWCC, URI_TWCC);
        if (o->send && o->n_layers > 1)
            buf_printf(b, "a=extmap:%d %s\r\na=extmap:%d %s\r\n", IC_EXT_RID, URI_RID, IC_EXT_RRID, URI_RRID);
        buf_printf(b, "a=%s\r\n", dir);
        if (o->send)
            buf_puts(b, "a=msid:irtc irtc-video\r\n");
        buf_puts(b, "a=rtcp-mux\r\na=rtcp-rsize\r\n");
        if (!o->send || !o->h264)
            video_codec(b, IC_PT_VP8, IC_PT_VP8_RTX, "VP8", NULL);
        if (!o->send || o->h264)
            video_codec(b, IC_PT_H264, IC_PT_H264_RTX, "H264",
                        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
        if (o->send && o->n_layers > 1) {
            for (unsigned i = 0; i < o->n_layers; i++)
                buf_printf(b, "a=rid:%s send\r\n", ic_layer_rid(i, o->n_layers));
            buf_puts(b, "a=simulcast:send ");
            for (unsigned i = 0; i < o->n_layers; i++)
                buf_printf(b, "%s%s", i ? ";" : "", ic_layer_rid(i, o->n_layers));
            buf_puts(b, "\r\n");
        } else if (o->send) {
            buf_printf(b, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:irtc irtc-video\r\n", o->video_ssrc[0], o->cname,
                       o->video_ssrc[0]);
        }
    }
}

/* ---- answers ---- */

static void read_media(const sdp_media_t *m, ic_answer_media_t *am)
{
    am->present = true;
    am->rejected = m->port == 0;
    am->pt = am->rtx_pt = -1;
    snprintf(am->mid, sizeof(am->mid), "%s", m->mid);
    for (int i = 0; i < m->n_pt; i++) {
        const sdp_codec_t *c = &m->pt[i];
        if (strcasecmp(c->name, "rtx") == 0) {
            if (am->rtx_pt < 0)
                am->rtx_pt = c->pt;
        } else if (am->pt < 0) {
            am->pt = c->pt;
            am->clock = c->clock;
            snprintf(am->codec, sizeof(am->codec), "%s", c->name);
            am->nack = (c->fb & SDP_FB_NACK) != 0;
            am->pli = (c->fb & SDP_FB_NACK_PLI) != 0;
            am->transport_cc = (c->fb & SDP_FB_TRANSPORT_CC) != 0;
        }
    }
    for (int i = 0; i < m->n_ext; i++) {
        const char *u = m->ext[i].uri;
        uint8_t id = (uint8_t)m->ext[i].id;
        if (strcmp(u, URI_MID) == 0)
            am->ext_mid = id;
        else if (strcmp(u, URI_TWCC) == 0)
            am->ext_twcc = id;
        else if (strcmp(u, URI_RID) == 0)
            am->ext_rid = id;
        else if (strcmp(u, URI_ABS) == 0)
            am->ext_abs_send_time = id;
    }
    if (m->n_ssrc > 0)
        am->ssrc = m->ssrc[0].ssrc;
    for (int g = 0; g < m->n_ssrc_group; g++) {
        if (strcmp(m->ssrc_group[g].semantics, "FID") == 0 && m->ssrc_group[g].n_ssrc >= 2) {
            am->ssrc = m->ssrc_group[g].ssrc[0];
            am->rtx_ssrc = m->ssrc_group[g].ssrc[1];
        }
    }
}

static bool have_candidate(const ic_answer_t *a, const char *ip, unsigned port)
{
    for (int i = 0; i < a->n_cand; i++)
        if (a->cand[i].port == port && strcmp(a->cand[i].ip, ip) == 0)
            return true;
    return false;
}

/* sdp.c counts a=candidate lines without reading them: take the first UDP
 * host candidates here ("a=candidate:F C udp PRIO IP PORT typ host"). */
static void read_candidates(const char *sdp, size_t len, ic_answer_t *out)
{
    const char *p = sdp, *end = sdp + len;
    while (p < end && out->n_cand < (int)IRTC_ARRAY_SIZE(out->cand)) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (n > 12 && n < 512 && strncmp(p, "a=candidate:", 12) == 0) {
            char line[512], found[40], proto[8], ip[64], typ[8], type[16];
            unsigned comp, port;
            unsigned long prio;
            memcpy(line, p, n);
            line[n] = 0;
            if (sscanf(line + 12, "%39s %u %7s %lu %63s %u %7s %15s", found, &comp, proto, &prio, ip, &port, typ,
                       type) == 8 &&
                strcasecmp(proto, "udp") == 0 && comp == 1 && port > 0 && port < 65536 && strlen(ip) < 46 &&
                !have_candidate(out, ip, port)) { /* under BUNDLE each m-line repeats them */
                /* strlen(ip) < 46 is checked above; the precision tells gcc -O1 too */
                snprintf(out->cand[out->n_cand].ip, sizeof(out->cand[0].ip), "%.45s", ip);
                out->cand[out->n_cand].port = (uint16_t)port;
                out->n_cand++;
            }
        }
        p = eol ? eol + 1 : end;
    }
}

static int parse_description(const char *sdp, size_t len, ic_answer_t *out, bool is_offer, const char **why)
{
    memset(out, 0, sizeof(*out));
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    int rc = sdp_parse(sdp, len, s, why);
    if (rc != IRTC_OK)
        goto done;
    rc = IRTC_EINVAL;
    out->ice_lite = s->ice_lite;
    for (int i = 0; i < s->n_media; i++) {
        const sdp_media_t *m = &s->media[i];
        int which = -1;
        if (m->kind == SDP_KIND_AUDIO && !out->audio.present && m->port != 0)
            read_media(m, &out->audio), which = 0;
        else if (m->kind == SDP_KIND_VIDEO && !out->video.present && m->port != 0)
            read_media(m, &out->video), which = 1;
        if (out->n_m < (int)IRTC_ARRAY_SIZE(out->m)) {
            out->m[out->n_m].which = which;
            snprintf(out->m[out->n_m].kind, sizeof(out->m[0].kind), "%s", m->kind_name);
            snprintf(out->m[out->n_m].proto, sizeof(out->m[0].proto), "%s", m->proto);
            snprintf(out->m[out->n_m].fmt, sizeof(out->m[0].fmt), "%s", m->is_rtp && m->n_pt > 0 ? "0" : m->fmt);
            snprintf(out->m[out->n_m].mid, sizeof(out->m[0].mid), "%s", m->mid);
            out->n_m++;
        }
        if (which == 0)
            for (int k = 0; k < m->n_pt; k++)
                if (m->pt[k].pt == out->audio.pt)
                    out->opus_channels = m->pt[k].channels;
        if (which < 0)
            continue;
        /* Under BUNDLE every accepted m-line shares the transport of the first. */
        if (out->ufrag[0] == 0 && m->port != 0) {
            snprintf(out->ufrag, sizeof(out->ufrag), "%s", m->tr.ice_ufrag);
            snprintf(out->pwd, sizeof(out->pwd), "%s", m->tr.ice_pwd);
            if (m->tr.n_fingerprint > 0) {
                snprintf(out->fp_alg, sizeof(out->fp_alg), "%s", m->tr.fingerprint[0].alg);
                snprintf(out->fp, sizeof(out->fp), "%s", m->tr.fingerprint[0].value);
            }
            if (m->tr.setup == SDP_SETUP_ACTIVE)
                out->setup = IC_SETUP_ACTIVE;
            else if (m->tr.setup == SDP_SETUP_PASSIVE || (is_offer && m->tr.setup == SDP_SETUP_ACTPASS))
                out->setup = IC_SETUP_PASSIVE;
            else {
                *why = "the answer's a=setup must be active or passive";
                goto done;
            }
        }
    }
    read_candidates(sdp, len, out);
    if (out->ufrag[0] == 0 || out->pwd[0] == 0)
        *why = "no ICE credentials in the answer (or every m-line rejected)";
    else if (out->fp[0] == 0)
        *why = "no DTLS fingerprint in the answer";
    else if (out->n_cand == 0)
        *why = "no UDP host candidate in the answer";
    else
        rc = IRTC_OK;
done:
    free(s);
    return rc;
}

int ic_answer_parse(const char *sdp, size_t len, ic_answer_t *out, const char **why)
{
    return parse_description(sdp, len, out, false, why);
}

int ic_offer_parse(const char *sdp, size_t len, ic_answer_t *out, const char **why)
{
    return parse_description(sdp, len, out, true, why);
}

static void answer_media(buf_t *b, const ic_answer_media_t *am, bool audio, int channels)
{
    if (am->ext_mid)
        buf_printf(b, "a=extmap:%u %s\r\n", am->ext_mid, URI_MID);
    if (am->ext_twcc)
        buf_printf(b, "a=extmap:%u %s\r\n", am->ext_twcc, URI_TWCC);
    buf_puts(b, "a=recvonly\r\na=rtcp-mux\r\n");
    if (audio)
        buf_printf(b, "a=rtpmap:%d %s/%u/%d\r\n", am->pt, am->codec, am->clock, channels > 0 ? channels : 2);
    else
        buf_printf(b, "a=rtpmap:%d %s/%u\r\n", am->pt, am->codec, am->clock);
    if (am->transport_cc)
        buf_printf(b, "a=rtcp-fb:%d transport-cc\r\n", am->pt);
    if (am->nack)
        buf_printf(b, "a=rtcp-fb:%d nack\r\n", am->pt);
    if (am->pli)
        buf_printf(b, "a=rtcp-fb:%d nack pli\r\n", am->pt);
    if (am->rtx_pt >= 0)
        buf_printf(b, "a=rtpmap:%d rtx/%u\r\na=fmtp:%d apt=%d\r\n", am->rtx_pt, am->clock, am->rtx_pt, am->pt);
}

void ic_answer_write(buf_t *b, const ic_answer_t *offer, const ic_offer_t *o)
{
    buf_printf(b, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE",
               (unsigned long long)o->session_id);
    for (int i = 0; i < offer->n_m; i++)
        if (offer->m[i].which >= 0)
            buf_printf(b, " %s", offer->m[i].mid);
    buf_puts(b, "\r\na=msid-semantic: WMS\r\n");
    for (int i = 0; i < offer->n_m; i++) {
        int w = offer->m[i].which;
        if (w < 0) {
            buf_printf(b, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\n", offer->m[i].kind, offer->m[i].proto,
                       offer->m[i].fmt, offer->m[i].mid);
            continue;
        }
        const ic_answer_media_t *am = w == 0 ? &offer->audio : &offer->video;
        char fmts[16];
        if (am->rtx_pt >= 0)
            snprintf(fmts, sizeof(fmts), "%d %d", am->pt, am->rtx_pt);
        else
            snprintf(fmts, sizeof(fmts), "%d", am->pt);
        buf_printf(b, "m=%s 9 UDP/TLS/RTP/SAVPF %s\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n",
                   w == 0 ? "audio" : "video", fmts);
        if (o->cand_ip != NULL)
            buf_printf(b, "a=candidate:1 1 udp 2122260223 %s %u typ host generation 0\r\n", o->cand_ip, o->cand_port);
        buf_printf(b,
                   "a=end-of-candidates\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
                   "a=setup:active\r\na=mid:%s\r\n",
                   o->ufrag, o->pwd, o->fingerprint, am->mid);
        answer_media(b, am, w == 0, offer->opus_channels);
    }
}
