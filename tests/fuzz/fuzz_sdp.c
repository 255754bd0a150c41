/*
 * fuzz_sdp.c — libFuzzer target for src/sdp.  For every input: parse it
 * and check the result's invariants (counts within limits, strings
 * terminated, payload types and extmap ids in range); negotiate it under
 * three policies; write each answer and require it to be CRLF-only, to parse
 * again with our own parser into the same structure, and to be refused as an
 * offer (it is ICE-lite).  Single-threaded; any failed check aborts.
 * Built and run by `make check-fuzz` (tests/fuzz/local.mk).
 */
#include "sdp/sdp.h"
#include "core/buf.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TERMINATED(arr) CHECK(memchr((arr), '\0', sizeof(arr)) != NULL)

/* Large: static, not on the stack. */
static sdp_session_t offer, back;
static sdp_answer_t answer;

static void check_transport(const sdp_transport_t *tr)
{
    TERMINATED(tr->ice_ufrag);
    TERMINATED(tr->ice_pwd);
    TERMINATED(tr->ice_options);
    CHECK(tr->n_fingerprint >= 0 && tr->n_fingerprint <= SDP_MAX_FINGERPRINT);
    for (int i = 0; i < tr->n_fingerprint; i++) {
        TERMINATED(tr->fingerprint[i].alg);
        TERMINATED(tr->fingerprint[i].value);
        CHECK(tr->fingerprint[i].value[0] != '\0');
    }
    CHECK(tr->setup >= SDP_SETUP_NONE && tr->setup <= SDP_SETUP_HOLDCONN);
}

static void check_media(const sdp_media_t *m)
{
    TERMINATED(m->kind_name);
    TERMINATED(m->proto);
    TERMINATED(m->fmt);
    TERMINATED(m->mid);
    TERMINATED(m->msid_stream);
    TERMINATED(m->msid_track);
    CHECK(m->port >= 0 && m->port <= 65535);
    CHECK(m->dir >= SDP_DIR_SENDRECV && m->dir <= SDP_DIR_INACTIVE);
    check_transport(&m->tr);
    CHECK(m->n_pt >= 0 && m->n_pt <= SDP_MAX_PT && (m->is_rtp ? m->n_pt > 0 : m->fmt[0] != '\0'));
    for (int i = 0; i < m->n_pt; i++) {
        const sdp_codec_t *c = &m->pt[i];
        CHECK(c->pt >= 0 && c->pt <= 127 && sdp_media_find_pt(m, c->pt) == c);
        TERMINATED(c->name);
        TERMINATED(c->fmtp);
        CHECK(!c->has_rtpmap || (c->clock > 0 && c->name[0] && c->channels >= 0 && c->channels <= 255));
        CHECK(c->apt >= -1 && c->apt <= 127 && c->packetization_mode >= -1 && c->packetization_mode <= 2);
        CHECK(c->profile_level_id <= 0xFFFFFF);
    }
    CHECK(m->n_ext >= 0 && m->n_ext <= SDP_MAX_EXT);
    for (int i = 0; i < m->n_ext; i++) {
        CHECK(m->ext[i].id >= 1 && m->ext[i].id <= 255);
        TERMINATED(m->ext[i].uri);
        for (int j = 0; j < i; j++)
            CHECK(m->ext[j].id != m->ext[i].id);
    }
    CHECK(m->n_ssrc >= 0 && m->n_ssrc <= SDP_MAX_SSRC);
    for (int i = 0; i < m->n_ssrc; i++) {
        TERMINATED(m->ssrc[i].cname);
        TERMINATED(m->ssrc[i].msid_stream);
        TERMINATED(m->ssrc[i].msid_track);
    }
    CHECK(m->n_ssrc_group >= 0 && m->n_ssrc_group <= SDP_MAX_SSRC_GROUP);
    for (int i = 0; i < m->n_ssrc_group; i++)
        CHECK(m->ssrc_group[i].n_ssrc >= 1 && m->ssrc_group[i].n_ssrc <= SDP_MAX_GROUP_SSRC);
    CHECK(m->n_rid >= 0 && m->n_rid <= SDP_MAX_RID);
    CHECK(m->n_sim_send >= 0 && m->n_sim_send <= SDP_MAX_RID && m->n_sim_recv >= 0 && m->n_sim_recv <= SDP_MAX_RID);
    for (int i = 0; i < m->n_rid; i++)
        TERMINATED(m->rid[i].id);
    CHECK(m->sctp_port >= 0 && m->sctp_port <= 65535 && m->n_candidates >= 0);
}

static void check_session(const sdp_session_t *s)
{
    TERMINATED(s->session_id);
    check_transport(&s->tr);
    CHECK(s->n_media >= 0 && s->n_media <= SDP_MAX_MEDIA);
    CHECK(s->n_bundle >= 0 && s->n_bundle <= SDP_MAX_MEDIA && s->n_bundle_groups >= (s->n_bundle > 0));
    for (int i = 0; i < s->n_media; i++) {
        check_media(&s->media[i]);
        for (int j = 0; j < i; j++)
            CHECK(s->media[i].mid[0] == '\0' || strcmp(s->media[i].mid, s->media[j].mid) != 0);
    }
}

static bool all_crlf(const char *s, size_t n)
{
    if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) || (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
            return false;
    return true;
}

/* The answer we wrote says, through our own parser, what the struct says. */
static void check_answer(const sdp_answer_t *a, const char *text, size_t len)
{
    const char *why = NULL;
    CHECK(all_crlf(text, len));
    CHECK(sdp_parse(text, len, &back, &why) == IRTC_OK);
    check_session(&back);
    CHECK(back.ice_lite && back.n_media == a->n_media && back.n_bundle == a->n_bundle);
    for (int i = 0; i < a->n_media; i++) {
        const sdp_media_t *m = &back.media[i];
        const sdp_answer_media_t *am = &a->media[i];
        CHECK(strcmp(m->mid, am->mid) == 0 && strcmp(m->proto, am->proto) == 0 && m->kind == am->kind);
        CHECK(m->port == (am->rejected ? 0 : 9));
        if (am->rejected)
            continue;
        CHECK(m->tr.setup == SDP_SETUP_PASSIVE && strcmp(m->tr.ice_ufrag, a->ice_ufrag) == 0);
        CHECK(m->n_candidates == a->n_candidates && m->end_of_candidates);
        if (am->kind == SDP_KIND_APPLICATION) {
            CHECK(m->sctp_port == am->sctp_port && m->max_message_size == am->max_message_size);
            continue;
        }
        CHECK(m->dir == am->dir && m->rtcp_mux && m->n_pt == (am->rtx_pt >= 0 ? 2 : 1));
        const sdp_codec_t *c = sdp_media_find_pt(m, am->pt);
        CHECK(c && strcmp(c->name, am->name) == 0 && c->clock == am->clock && strcmp(c->fmtp, am->fmtp) == 0);
        CHECK(c->fb == am->fb);
        if (am->rtx_pt >= 0) {
            const sdp_codec_t *r = sdp_media_find_pt(m, am->rtx_pt);
            CHECK(r && r->apt == am->pt);
        }
        CHECK(m->n_ext == am->n_ext && m->n_sim_recv == am->n_rid);
    }
}

static void negotiate(const sdp_policy_t *p)
{
    const char *why = NULL;
    int rc = sdp_negotiate(&offer, p, &answer, &why);
    if (rc != IRTC_OK) {
        CHECK(rc == IRTC_EINVAL && why != NULL && why[0] != '\0');
        return;
    }
    int accepted = 0;
    for (int i = 0; i < answer.n_media; i++)
        accepted += !answer.media[i].rejected;
    CHECK(answer.n_media == offer.n_media && accepted > 0 && answer.n_bundle == accepted);
    buf_t b;
    buf_init(&b);
    sdp_write_answer(&b, &answer);
    check_answer(&answer, b.base, b.len);
    /* An ICE-lite answer is never acceptable as an offer (reuses offer: no
     * longer needed). */
    why = NULL;
    CHECK(sdp_parse(b.base, b.len, &offer, &why) == IRTC_OK);
    CHECK(sdp_negotiate(&offer, p, &answer, &why) == IRTC_EINVAL && why != NULL);
    buf_dispose(&b);
}

static void policy(sdp_policy_t *p, int variant)
{
    static const char fp[] =
        "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";
    memset(p, 0, sizeof(*p));
    p->session_id = 7;
    p->ice_ufrag = "srvU";
    p->ice_pwd = "abcdefghijklmnopqrstuvwx";
    p->fingerprint = fp;
    p->n_candidates = 1;
    p->candidates[0] = (sdp_candidate_t){"127.0.0.1", 40000};
    p->audio_send = (sdp_send_t){1, 2, "cn", "st", "au"};
    p->video_send = (sdp_send_t){3, 4, "cn", "st", "vi"};
    if (variant == 1) {
        p->n_video_order = 2;
        p->video_order[0] = SDP_VIDEO_H264;
        p->video_order[1] = SDP_VIDEO_VP9;
        p->accept_data = true;
        p->sendrecv_as = SDP_DIR_SENDRECV;
    } else if (variant == 2) {
        p->n_video_order = 1;
        p->video_order[0] = SDP_VIDEO_VP9;
        p->reject_audio = true;
        p->sendrecv_as = SDP_DIR_RECVONLY;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    for (int variant = 0; variant < 3; variant++) {
        int rc = sdp_parse((const char *)data, size, &offer, &why);
        if (rc != IRTC_OK) {
            CHECK(rc == IRTC_EINVAL && why != NULL && why[0] != '\0');
            return 0;
        }
        check_session(&offer);
        sdp_policy_t p;
        policy(&p, variant);
        negotiate(&p);
    }
    return 0;
}
