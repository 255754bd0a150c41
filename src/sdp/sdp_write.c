/*
 * sdp_write.c — the answer's text from a negotiated sdp_answer_t; see sdp.h.
 *
 * Runs on the control thread.  Everything echoed from the offer was checked
 * by the parser (no CR or LF can reach the answer).
 * Does not: decide anything (sdp_negotiate.c does).
 */
#include "sdp/sdp.h"
#include "core/common.h"

#include <stdio.h>
#include <string.h>

/* ---- answer writer -------------------------------------------------------- */

uint32_t sdp_candidate_priority(unsigned type_pref, unsigned local_pref, unsigned component)
{
    return (uint32_t)(type_pref & 0x7Fu) << 24 | (uint32_t)(local_pref & 0xFFFFu) << 8 |
           (uint32_t)((256u - component) & 0xFFu);
}

static void write_transport(buf_t *out, const sdp_answer_t *a, const sdp_answer_media_t *am)
{
    buf_printf(out, "c=IN IP4 0.0.0.0\r\na=mid:%s\r\n", am->mid);
    buf_printf(out, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", a->ice_ufrag, a->ice_pwd);
    buf_printf(out, "a=fingerprint:sha-256 %s\r\na=setup:passive\r\n", a->fingerprint);
}

/* Host candidates, local preference falling with the list so each differs
 * (RFC 8445 §5.1.2.1); one foundation per address and transport
 * (§5.1.1.3).  ICE-TCP passive ones (RFC 6544 §4.2: local preference
 * 2^13 × direction preference 4 + other) rank below every UDP one, so a
 * client uses TCP only when UDP does not get through. */
static void write_candidates(buf_t *out, const sdp_answer_t *a)
{
    for (int i = 0; i < a->n_candidates; i++)
        buf_printf(out, "a=candidate:%d 1 udp %u %s %u typ host\r\n", i + 1,
                   (unsigned)sdp_candidate_priority(126, 65535u - (unsigned)i, 1), a->candidates[i].ip,
                   (unsigned)a->candidates[i].port);
    for (int i = 0; i < a->n_candidates; i++)
        if (a->candidates[i].tcp_port != 0)
            buf_printf(out, "a=candidate:%d 1 tcp %u %s %u typ host tcptype passive\r\n", SDP_MAX_CANDIDATES + i + 1,
                       (unsigned)sdp_candidate_priority(126, (4u << 13) + 8191u - (unsigned)i, 1),
                       a->candidates[i].ip, (unsigned)a->candidates[i].tcp_port);
    buf_puts(out, "a=end-of-candidates\r\n");
}

static void write_codec(buf_t *out, const sdp_answer_media_t *am)
{
    static const struct {
        unsigned bit;
        const char *text;
    } fbs[] = {{SDP_FB_GOOG_REMB, "goog-remb"},
               {SDP_FB_TRANSPORT_CC, "transport-cc"},
               {SDP_FB_CCM_FIR, "ccm fir"},
               {SDP_FB_NACK, "nack"},
               {SDP_FB_NACK_PLI, "nack pli"}};
    buf_printf(out, "a=rtpmap:%d %s/%u", am->pt, am->name, (unsigned)am->clock);
    if (am->channels)
        buf_printf(out, "/%d", am->channels);
    buf_puts(out, "\r\n");
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(fbs); i++)
        if (am->fb & fbs[i].bit)
            buf_printf(out, "a=rtcp-fb:%d %s\r\n", am->pt, fbs[i].text);
    if (am->fmtp[0])
        buf_printf(out, "a=fmtp:%d %s\r\n", am->pt, am->fmtp);
    if (am->rtx_pt >= 0)
        buf_printf(out, "a=rtpmap:%d rtx/%u\r\na=fmtp:%d apt=%d\r\n", am->rtx_pt, (unsigned)am->clock, am->rtx_pt,
                   am->pt);
}

static void write_ssrc(buf_t *out, const sdp_answer_media_t *am, uint32_t ssrc)
{
    if (am->cname[0])
        buf_printf(out, "a=ssrc:%u cname:%s\r\n", (unsigned)ssrc, am->cname);
    if (am->msid_stream[0])
        buf_printf(out, "a=ssrc:%u msid:%s%s%s\r\n", (unsigned)ssrc, am->msid_stream, am->msid_track[0] ? " " : "",
                   am->msid_track);
}

static void write_rtp_media(buf_t *out, const sdp_answer_t *a, const sdp_answer_media_t *am)
{
    bool sends = am->dir == SDP_DIR_SENDONLY || am->dir == SDP_DIR_SENDRECV;
    buf_printf(out, "m=%s 9 %s %d", am->kind_name, am->proto, am->pt);
    if (am->rtx_pt >= 0)
        buf_printf(out, " %d", am->rtx_pt);
    buf_puts(out, "\r\n");
    write_transport(out, a, am);
    for (int i = 0; i < am->n_ext; i++)
        buf_printf(out, "a=extmap:%d %s\r\n", am->ext[i].id, am->ext[i].uri);
    buf_printf(out, "a=%s\r\n", sdp_dir_name(am->dir));
    if (sends && am->msid_stream[0])
        buf_printf(out, "a=msid:%s%s%s\r\n", am->msid_stream, am->msid_track[0] ? " " : "", am->msid_track);
    buf_puts(out, am->rtcp_rsize ? "a=rtcp-mux\r\na=rtcp-rsize\r\n" : "a=rtcp-mux\r\n");
    write_codec(out, am);
    for (int i = 0; i < am->n_rid; i++)
        buf_printf(out, "a=rid:%s recv\r\n", am->rid[i]);
    for (int i = 0; i < am->n_rid; i++)
        buf_printf(out, "%s%s", i ? ";" : "a=simulcast:recv ", am->rid[i]);
    if (am->n_rid)
        buf_puts(out, "\r\n");
    if (sends && am->ssrc) {
        if (am->rtx_ssrc)
            buf_printf(out, "a=ssrc-group:FID %u %u\r\n", (unsigned)am->ssrc, (unsigned)am->rtx_ssrc);
        write_ssrc(out, am, am->ssrc);
        if (am->rtx_ssrc)
            write_ssrc(out, am, am->rtx_ssrc);
    }
    write_candidates(out, a);
}

static void write_media(buf_t *out, const sdp_answer_t *a, const sdp_answer_media_t *am)
{
    if (am->rejected) { /* RFC 3264 §6: same position, port 0 */
        buf_printf(out, "m=%s 0 %s %s\r\n", am->kind_name, am->proto, am->reject_fmt);
        if (am->mid[0]) {
            /* The transport attributes are not needed in a rejected section
             * (RFC 8839 §5.1), but some stacks (aiortc 1.4) refuse an answer
             * with any m-line lacking ICE credentials, a=setup or rtcp-mux. */
            write_transport(out, a, am);
            if (am->kind == SDP_KIND_AUDIO || am->kind == SDP_KIND_VIDEO)
                buf_puts(out, "a=rtcp-mux\r\n");
        } else {
            buf_puts(out, "c=IN IP4 0.0.0.0\r\n");
        }
        return;
    }
    if (am->kind != SDP_KIND_APPLICATION) {
        write_rtp_media(out, a, am);
        return;
    }
    if (strcmp(am->proto, "DTLS/SCTP") == 0) { /* the offer's pre-RFC 8841 form: the port as fmt, a=sctpmap */
        buf_printf(out, "m=application 9 %s %d\r\n", am->proto, am->sctp_port);
        write_transport(out, a, am);
        buf_printf(out, "a=sctpmap:%d webrtc-datachannel 1024\r\n", am->sctp_port);
    } else {
        buf_printf(out, "m=application 9 %s webrtc-datachannel\r\n", am->proto);
        write_transport(out, a, am);
        buf_printf(out, "a=sctp-port:%d\r\n", am->sctp_port);
    }
    buf_printf(out, "a=max-message-size:%llu\r\n", (unsigned long long)am->max_message_size);
    write_candidates(out, a);
}

void sdp_write_answer(buf_t *out, const sdp_answer_t *a)
{
    buf_printf(out, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE",
               (unsigned long long)a->session_id);
    for (int i = 0; i < a->n_bundle; i++)
        buf_printf(out, " %s", a->bundle[i]);
    buf_puts(out, "\r\na=ice-lite\r\na=msid-semantic: WMS\r\n");
    for (int i = 0; i < a->n_media; i++)
        write_media(out, a, &a->media[i]);
}
