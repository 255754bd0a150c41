/*
 * sdp_parse.c — the SDP parser: an offer's text into sdp_session_t; see sdp.h.
 *
 * Runs on the control thread.  The parser walks the text once, line by line,
 * never reading past len and never allocating: every value lands in a fixed
 * array of sdp_session_t after its syntax and length are checked, so the
 * writer can echo offered tokens (mids, protos, fmtp, cname) without risking
 * a CRLF injected into the answer.
 *
 * Does not: interpret candidates (ICE-lite learns addresses from STUN),
 * support Plan B, or keep state between offers.
 */
#include "sdp/sdp.h"
#include "core/common.h"
#include "sdp/sdp_span.h"

#include <stdio.h>
#include <string.h>

/* ---- parser state -------------------------------------------------------- */

typedef struct {
    sdp_session_t *s;
    sdp_media_t *m;   /* current m= section, NULL at session level */
    sdp_dir_t *dir;   /* the direction slot of the current level */
    unsigned fb_wild; /* "a=rtcp-fb:* ..." of the current m= section */
    bool seen_o, seen_s, seen_simulcast;
    int n_candidates_total;
    const char *why; /* set by a handler to override the line's default */
} parser_t;

#define SDP_MAX_CANDIDATE_LINES 1024 /* a=candidate lines per SDP */

static const char *const DIR_NAMES[] = {"", "sendrecv", "sendonly", "recvonly", "inactive"};

const char *sdp_dir_name(sdp_dir_t dir)
{
    return (unsigned)dir < IRTC_ARRAY_SIZE(DIR_NAMES) ? DIR_NAMES[dir] : "";
}

static sdp_dir_t dir_parse(sdp_span_t s)
{
    for (unsigned i = 1; i < IRTC_ARRAY_SIZE(DIR_NAMES); i++)
        if (sdp_span_eq(s, DIR_NAMES[i]))
            return (sdp_dir_t)i;
    return SDP_DIR_NONE;
}

const sdp_codec_t *sdp_media_find_pt(const sdp_media_t *m, int pt)
{
    for (int i = 0; i < m->n_pt; i++)
        if (m->pt[i].pt == pt)
            return &m->pt[i];
    return NULL;
}

/* The codec an a=rtpmap/fmtp/rtcp-fb line names.  A payload type that is not
 * on the m= line is ignored (RFC 8866 §6.6 ties attributes to listed formats),
 * so *c is NULL with success. */
static int pt_lookup(parser_t *ps, sdp_span_t s, sdp_codec_t **c)
{
    int pt;
    if (!sdp_span_int(s, 0, 127, &pt))
        return -1;
    *c = (sdp_codec_t *)sdp_media_find_pt(ps->m, pt);
    return 0;
}

static sdp_transport_t *cur_tr(parser_t *ps)
{
    return ps->m ? &ps->m->tr : &ps->s->tr;
}

/* ---- session or media level attributes ----------------------------------- */

static int a_ice_ufrag(parser_t *ps, sdp_span_t v)
{
    sdp_transport_t *tr = cur_tr(ps);
    if (tr->ice_ufrag[0] || !sdp_span_is_ice(v, 4, SDP_ICE_UFRAG_MAX))
        return -1;
    return sdp_span_copy(tr->ice_ufrag, sizeof(tr->ice_ufrag), v) ? 0 : -1;
}

static int a_ice_pwd(parser_t *ps, sdp_span_t v)
{
    sdp_transport_t *tr = cur_tr(ps);
    if (tr->ice_pwd[0] || !sdp_span_is_ice(v, 22, SDP_ICE_PWD_MAX))
        return -1;
    return sdp_span_copy(tr->ice_pwd, sizeof(tr->ice_pwd), v) ? 0 : -1;
}

static int a_ice_options(parser_t *ps, sdp_span_t v)
{
    sdp_transport_t *tr = cur_tr(ps);
    sdp_span_trim(&v);
    sdp_span_t rest = v;
    while (rest.n) {
        sdp_span_t w = sdp_span_word(&rest);
        if (!sdp_span_is_token(w, SDP_ICE_OPTIONS_MAX))
            return -1;
    }
    return v.n && sdp_span_copy(tr->ice_options, sizeof(tr->ice_options), v) ? 0 : -1;
}

/* Digest sizes of the hash names RFC 8122 §5 lists; others are kept as long
 * as the value is well formed. */
static int fingerprint_alg_bytes(const char *alg)
{
    static const struct {
        const char *name;
        int bytes;
    } algs[] = {{"sha-1", 20},   {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48},
                {"sha-512", 64}, {"md5", 16},     {"md2", 16}};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(algs); i++)
        if (strcmp(alg, algs[i].name) == 0)
            return algs[i].bytes;
    return 0;
}

static int a_fingerprint(parser_t *ps, sdp_span_t v)
{
    sdp_transport_t *tr = cur_tr(ps);
    sdp_span_t alg = sdp_span_word(&v), val = sdp_span_word(&v);
    if (!sdp_span_is_token(alg, SDP_FP_ALG_MAX) || v.n)
        return -1;
    int bytes = sdp_span_fingerprint_bytes(val);
    if (bytes < 0)
        return -1;
    if (tr->n_fingerprint == SDP_MAX_FINGERPRINT) {
        ps->why = "too many a=fingerprint lines";
        return -1;
    }
    sdp_fingerprint_t *fp = &tr->fingerprint[tr->n_fingerprint];
    sdp_span_copy(fp->alg, sizeof(fp->alg), alg);
    for (char *c = fp->alg; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    int want = fingerprint_alg_bytes(fp->alg);
    if (want && want != bytes)
        return -1;
    sdp_span_copy(fp->value, sizeof(fp->value), val);
    tr->n_fingerprint++;
    return 0;
}

static int a_setup(parser_t *ps, sdp_span_t v)
{
    static const char *const names[] = {"", "actpass", "active", "passive", "holdconn"};
    sdp_transport_t *tr = cur_tr(ps);
    if (tr->setup != SDP_SETUP_NONE)
        return -1;
    for (unsigned i = 1; i < IRTC_ARRAY_SIZE(names); i++)
        if (sdp_span_eq(v, names[i])) {
            tr->setup = (sdp_setup_t)i;
            return 0;
        }
    return -1;
}

/* a=sendrecv / sendonly / recvonly / inactive; handled by name, not value. */
static int set_direction(parser_t *ps, sdp_dir_t d)
{
    if (*ps->dir != SDP_DIR_NONE) {
        ps->why = "more than one direction attribute";
        return -1;
    }
    *ps->dir = d;
    return 0;
}

/* "a=extmap:<id>[/<direction>] <uri> [<extension attributes>]" (RFC 8285 §5). */
static int a_extmap(parser_t *ps, sdp_span_t v)
{
    int *n = ps->m ? &ps->m->n_ext : &ps->s->n_ext;
    sdp_extmap_t *list = ps->m ? ps->m->ext : ps->s->ext;
    sdp_span_t idv = sdp_span_word(&v), uri = sdp_span_word(&v), id, dir;
    bool has_dir = sdp_span_split(idv, '/', &id, &dir);
    sdp_extmap_t e = {0};
    if (!sdp_span_int(id, 1, 255, &e.id) || !sdp_span_is_visible(uri, SDP_URI_MAX))
        return -1;
    if (has_dir && (e.dir = dir_parse(dir)) == SDP_DIR_NONE)
        return -1;
    for (int i = 0; i < *n; i++)
        if (list[i].id == e.id) {
            ps->why = "duplicate a=extmap id";
            return -1;
        }
    if (*n == SDP_MAX_EXT) {
        ps->why = "too many a=extmap lines";
        return -1;
    }
    sdp_span_copy(e.uri, sizeof(e.uri), uri);
    list[(*n)++] = e;
    return 0;
}

/* ---- session-level attributes ------------------------------------------- */

/* "a=group:BUNDLE <mid> ..." (RFC 8843 §7); other semantics are ignored. */
static int a_group(parser_t *ps, sdp_span_t v)
{
    sdp_session_t *s = ps->s;
    sdp_span_t sem = sdp_span_word(&v);
    if (!sdp_span_is_token(sem, SDP_TOKEN_MAX))
        return -1;
    if (!sdp_span_eq(sem, "BUNDLE"))
        return 0;
    bool first = s->n_bundle_groups++ == 0;
    int n = 0;
    while (v.n) {
        sdp_span_t mid = sdp_span_word(&v);
        if (mid.n == 0)
            break;
        if (!sdp_span_is_token(mid, SDP_MID_MAX))
            return -1;
        if (!first)
            continue;
        if (n == SDP_MAX_MEDIA) {
            ps->why = "too many mids in a=group:BUNDLE";
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (sdp_span_eq(mid, s->bundle[i]))
                return -1;
        sdp_span_copy(s->bundle[n++], sizeof(s->bundle[0]), mid);
    }
    if (first)
        s->n_bundle = n;
    return 0;
}

/* ---- media-level attributes ---------------------------------------------- */

static int a_mid(parser_t *ps, sdp_span_t v)
{
    if (ps->m->mid[0] || !sdp_span_is_token(v, SDP_MID_MAX))
        return -1;
    for (int i = 0; i < ps->s->n_media - 1; i++)
        if (sdp_span_eq(v, ps->s->media[i].mid)) {
            ps->why = "duplicate a=mid";
            return -1;
        }
    return sdp_span_copy(ps->m->mid, sizeof(ps->m->mid), v) ? 0 : -1;
}

/* "a=rtpmap:<pt> <name>/<clock>[/<channels>]" (RFC 8866 §6.6). */
static int a_rtpmap(parser_t *ps, sdp_span_t v)
{
    sdp_codec_t *c;
    if (pt_lookup(ps, sdp_span_word(&v), &c) < 0)
        return -1;
    sdp_span_trim(&v);
    sdp_span_t name, clock, chans;
    uint64_t hz;
    int ch = 0;
    sdp_span_split(v, '/', &name, &v);
    bool has_ch = sdp_span_split(v, '/', &clock, &chans);
    if (!sdp_span_is_token(name, SDP_TOKEN_MAX) || !sdp_span_uint(clock, UINT32_MAX, &hz) || hz == 0)
        return -1;
    if (has_ch && !sdp_span_int(chans, 1, 255, &ch))
        return -1;
    if (!c)
        return 0;
    if (c->has_rtpmap) {
        ps->why = "duplicate a=rtpmap";
        return -1;
    }
    c->has_rtpmap = true;
    sdp_span_copy(c->name, sizeof(c->name), name);
    c->clock = (uint32_t)hz;
    c->channels = ch;
    return 0;
}

/* One "key=value" of an a=fmtp line; unknown keys are kept only in the raw text. */
static int fmtp_param(sdp_codec_t *c, sdp_span_t kv)
{
    sdp_span_t key, val;
    if (!sdp_span_split(kv, '=', &key, &val))
        return 0; /* no '=': red's "111/111", telephone-event's "0-15" */
    sdp_span_trim(&key);
    sdp_span_trim(&val);
    if (sdp_span_ieq(key, "apt"))
        return sdp_span_int(val, 0, 127, &c->apt) ? 0 : -1;
    if (sdp_span_ieq(key, "packetization-mode"))
        return sdp_span_int(val, 0, 2, &c->packetization_mode) ? 0 : -1;
    if (sdp_span_ieq(key, "level-asymmetry-allowed"))
        return sdp_span_int(val, 0, 1, &c->level_asymmetry_allowed) ? 0 : -1;
    if (sdp_span_ieq(key, "useinbandfec"))
        return sdp_span_int(val, 0, 1, &c->useinbandfec) ? 0 : -1;
    if (sdp_span_ieq(key, "stereo"))
        return sdp_span_int(val, 0, 1, &c->stereo) ? 0 : -1;
    if (sdp_span_ieq(key, "profile-id"))
        return sdp_span_int(val, 0, 255, &c->profile_id) ? 0 : -1;
    if (sdp_span_ieq(key, "profile-level-id")) {
        uint32_t plid = 0;
        if (val.n != 6)
            return -1;
        for (size_t i = 0; i < 6; i++) {
            int h = sdp_span_hexval((unsigned char)val.p[i]);
            if (h < 0)
                return -1;
            plid = plid << 4 | (uint32_t)h;
        }
        c->has_profile_level_id = true;
        c->profile_level_id = plid;
    }
    return 0;
}

static int a_fmtp(parser_t *ps, sdp_span_t v)
{
    sdp_codec_t *c;
    if (pt_lookup(ps, sdp_span_word(&v), &c) < 0)
        return -1;
    sdp_span_trim(&v);
    if (v.n == 0 || v.n > SDP_FMTP_MAX)
        return -1;
    if (!c)
        return 0;
    if (c->has_fmtp) {
        ps->why = "duplicate a=fmtp";
        return -1;
    }
    c->has_fmtp = true;
    sdp_span_copy(c->fmtp, sizeof(c->fmtp), v);
    sdp_span_t rest = v;
    while (rest.n) {
        sdp_span_t kv = sdp_span_cut(&rest, ';');
        if (fmtp_param(c, kv) < 0)
            return -1;
    }
    return 0;
}

/* "a=rtcp-fb:<pt|*> <type> [<param>]" (RFC 4585 §4.2). */
static int a_rtcp_fb(parser_t *ps, sdp_span_t v)
{
    sdp_span_t pt = sdp_span_word(&v), type = sdp_span_word(&v), param = sdp_span_word(&v);
    sdp_codec_t *c = NULL;
    bool wild = sdp_span_eq(pt, "*");
    if ((!wild && pt_lookup(ps, pt, &c) < 0) || !sdp_span_is_token(type, SDP_TOKEN_MAX))
        return -1;
    unsigned bit = 0;
    if (sdp_span_eq(type, "nack") && param.n == 0)
        bit = SDP_FB_NACK;
    else if (sdp_span_eq(type, "nack") && sdp_span_eq(param, "pli"))
        bit = SDP_FB_NACK_PLI;
    else if (sdp_span_eq(type, "ccm") && sdp_span_eq(param, "fir"))
        bit = SDP_FB_CCM_FIR;
    else if (sdp_span_eq(type, "transport-cc") && param.n == 0)
        bit = SDP_FB_TRANSPORT_CC;
    else if (sdp_span_eq(type, "goog-remb") && param.n == 0)
        bit = SDP_FB_GOOG_REMB;
    if (wild)
        ps->fb_wild |= bit;
    else if (c)
        c->fb |= bit;
    return 0;
}

static sdp_ssrc_t *ssrc_get(sdp_media_t *m, uint32_t ssrc, bool add)
{
    for (int i = 0; i < m->n_ssrc; i++)
        if (m->ssrc[i].ssrc == ssrc)
            return &m->ssrc[i];
    if (!add || m->n_ssrc == SDP_MAX_SSRC)
        return NULL;
    sdp_ssrc_t *s = &m->ssrc[m->n_ssrc++];
    memset(s, 0, sizeof(*s));
    s->ssrc = ssrc;
    return s;
}

/* "<stream> [<track>]" of a=msid and a=ssrc:<n> msid:.  a=msid is RFC 8830 §2:
 * 1*64 token-char each.  The source-level form is older than RFC 8830 and is
 * an RFC 5576 §4.1 attribute whose value is an RFC 4566 byte-string, so only
 * its words' visibility is checked (as for cname): GStreamer's webrtcbin
 * writes "msid:user123@host-ab12cd34 webrtctransceiver0", '@' being no
 * token-char. */
static int msid_parse(sdp_span_t v, char *stream, char *track, bool source_level)
{
    bool (*word_ok)(sdp_span_t, size_t) = source_level ? sdp_span_is_visible : sdp_span_is_token;
    sdp_span_t st = sdp_span_word(&v), tr = sdp_span_word(&v);
    if (!word_ok(st, SDP_MSID_MAX) || (tr.n && !word_ok(tr, SDP_MSID_MAX)) || v.n)
        return -1;
    sdp_span_copy(stream, SDP_MSID_MAX + 1, st);
    sdp_span_copy(track, SDP_MSID_MAX + 1, tr);
    return 0;
}

/* "a=ssrc:<ssrc> <attribute>[:<value>]" (RFC 5576 §4.1). */
static int a_ssrc(parser_t *ps, sdp_span_t v)
{
    uint64_t id;
    if (!sdp_span_uint(sdp_span_word(&v), UINT32_MAX, &id))
        return -1;
    sdp_span_trim(&v);
    sdp_span_t attr = sdp_span_cut(&v, ':');
    if (!sdp_span_is_token(attr, SDP_TOKEN_MAX))
        return -1;
    sdp_ssrc_t *s = ssrc_get(ps->m, (uint32_t)id, true);
    if (!s) {
        ps->why = "too many SSRCs in a=ssrc lines";
        return -1;
    }
    if (sdp_span_eq(attr, "cname")) {
        if (s->cname[0] || !sdp_span_is_visible(v, SDP_CNAME_MAX))
            return -1;
        sdp_span_copy(s->cname, sizeof(s->cname), v);
    } else if (sdp_span_eq(attr, "msid")) {
        if (s->msid_stream[0] || msid_parse(v, s->msid_stream, s->msid_track, true) < 0)
            return -1;
    }
    return 0;
}

/* "a=ssrc-group:<semantics> <ssrc> ..." (RFC 5576 §4.2). */
static int a_ssrc_group(parser_t *ps, sdp_span_t v)
{
    sdp_media_t *m = ps->m;
    sdp_span_t sem = sdp_span_word(&v);
    if (!sdp_span_is_token(sem, SDP_TOKEN_MAX))
        return -1;
    if (m->n_ssrc_group == SDP_MAX_SSRC_GROUP) {
        ps->why = "too many a=ssrc-group lines";
        return -1;
    }
    sdp_ssrc_group_t *g = &m->ssrc_group[m->n_ssrc_group];
    memset(g, 0, sizeof(*g));
    sdp_span_copy(g->semantics, sizeof(g->semantics), sem);
    while (v.n) {
        sdp_span_t w = sdp_span_word(&v);
        uint64_t id;
        if (w.n == 0)
            break;
        if (g->n_ssrc == SDP_MAX_GROUP_SSRC || !sdp_span_uint(w, UINT32_MAX, &id))
            return -1;
        g->ssrc[g->n_ssrc++] = (uint32_t)id;
    }
    /* RFC 4588 §8.1: FID pairs one media SSRC with its retransmission SSRC. */
    if (g->n_ssrc == 0 || (strcmp(g->semantics, "FID") == 0 && g->n_ssrc != 2))
        return -1;
    m->n_ssrc_group++;
    return 0;
}

/* "a=rid:<id> send|recv [<params>]" (RFC 8851 §10); params are not needed. */
static int a_rid(parser_t *ps, sdp_span_t v)
{
    sdp_media_t *m = ps->m;
    sdp_span_t id = sdp_span_word(&v), dir = sdp_span_word(&v);
    if (!sdp_span_is_rid(id) || !(sdp_span_eq(dir, "send") || sdp_span_eq(dir, "recv")))
        return -1;
    for (int i = 0; i < m->n_rid; i++)
        if (sdp_span_eq(id, m->rid[i].id)) {
            ps->why = "duplicate a=rid";
            return -1;
        }
    if (m->n_rid == SDP_MAX_RID) {
        ps->why = "too many a=rid lines";
        return -1;
    }
    sdp_span_copy(m->rid[m->n_rid].id, SDP_RID_MAX + 1, id);
    m->rid[m->n_rid++].dir = sdp_span_eq(dir, "send") ? SDP_DIR_SENDONLY : SDP_DIR_RECVONLY;
    return 0;
}

/* One direction's stream list: "q;h;f", alternatives "1,2;3", paused "~h". */
static int sim_list(sdp_span_t list, sdp_sim_stream_t *out, int *n)
{
    if (list.n > 4 && strncmp(list.p, "rid=", 4) == 0) /* pre-RFC drafts, old Firefox */
        list.p += 4, list.n -= 4;
    if (list.n == 0 || *n)
        return -1;
    while (list.n) {
        sdp_span_t stream = sdp_span_cut(&list, ';');
        sdp_span_t alt = sdp_span_cut(&stream, ','), rest = stream;
        while (rest.n) { /* the other alternatives are checked, not kept */
            sdp_span_t a2 = sdp_span_cut(&rest, ',');
            if (a2.n && a2.p[0] == '~')
                a2.p++, a2.n--;
            if (!sdp_span_is_rid(a2))
                return -1;
        }
        bool paused = alt.n && alt.p[0] == '~';
        if (paused)
            alt.p++, alt.n--;
        if (!sdp_span_is_rid(alt) || *n == SDP_MAX_RID)
            return -1;
        sdp_span_copy(out[*n].rid, SDP_RID_MAX + 1, alt);
        out[(*n)++].paused = paused;
    }
    return 0;
}

/* "a=simulcast:send <list> [recv <list>]" or the reverse (RFC 8853 §5.1). */
static int a_simulcast(parser_t *ps, sdp_span_t v)
{
    sdp_media_t *m = ps->m;
    if (ps->seen_simulcast)
        return -1;
    ps->seen_simulcast = true;
    for (int i = 0; i < 2; i++) {
        sdp_span_t dir = sdp_span_word(&v), list = sdp_span_word(&v);
        if (dir.n == 0 && i == 1)
            break;
        if (sdp_span_eq(dir, "send")) {
            if (sim_list(list, m->sim_send, &m->n_sim_send) < 0)
                return -1;
        } else if (sdp_span_eq(dir, "recv")) {
            if (sim_list(list, m->sim_recv, &m->n_sim_recv) < 0)
                return -1;
        } else {
            return -1;
        }
    }
    sdp_span_trim(&v);
    return v.n ? -1 : 0;
}

static int a_msid(parser_t *ps, sdp_span_t v)
{
    if (ps->m->msid_stream[0])
        return -1;
    return msid_parse(v, ps->m->msid_stream, ps->m->msid_track, false);
}

static int a_candidate(parser_t *ps, sdp_span_t v)
{
    sdp_span_trim(&v);
    if (v.n == 0)
        return -1;
    if (++ps->n_candidates_total > SDP_MAX_CANDIDATE_LINES) {
        ps->why = "too many a=candidate lines";
        return -1;
    }
    ps->m->n_candidates++;
    return 0;
}

static int a_sctp_port(parser_t *ps, sdp_span_t v)
{
    return !ps->m->sctp_port && sdp_span_int(v, 1, 65535, &ps->m->sctp_port) ? 0 : -1;
}

/* draft-ietf-mmusic-sctp-sdp-05's "a=sctpmap:5000 webrtc-datachannel 1024",
 * the m-line's fmt being the port. */
static int a_sctpmap(parser_t *ps, sdp_span_t v)
{
    int port;
    if (ps->m->sctp_port || !sdp_span_int(sdp_span_word(&v), 1, 65535, &port))
        return -1;
    ps->m->sctp_port = port;
    ps->m->sctpmap_dc = sdp_span_eq(sdp_span_word(&v), "webrtc-datachannel");
    return 0;
}

static int a_max_message_size(parser_t *ps, sdp_span_t v)
{
    return sdp_span_uint(v, UINT64_MAX, &ps->m->max_message_size) ? 0 : -1;
}

/* ---- attribute dispatch -------------------------------------------------- */

enum { AT_SESSION = 1, AT_MEDIA = 2, AT_BOTH = 3 };

typedef int (*attr_fn)(parser_t *ps, sdp_span_t value);

static int a_ice_lite(parser_t *ps, sdp_span_t v)
{
    ps->s->ice_lite = true;
    return 0;
}

static int a_allow_mixed(parser_t *ps, sdp_span_t v)
{
    ps->s->extmap_allow_mixed = true;
    return 0;
}

static int a_rtcp_mux(parser_t *ps, sdp_span_t v)
{
    ps->m->rtcp_mux = true;
    return 0;
}

static int a_rtcp_mux_only(parser_t *ps, sdp_span_t v)
{
    ps->m->rtcp_mux_only = true;
    return 0;
}

static int a_rtcp_rsize(parser_t *ps, sdp_span_t v)
{
    ps->m->rtcp_rsize = true;
    return 0;
}

static int a_bundle_only(parser_t *ps, sdp_span_t v)
{
    ps->m->bundle_only = true;
    return 0;
}

static int a_end_of_candidates(parser_t *ps, sdp_span_t v)
{
    ps->m->end_of_candidates = true;
    return 0;
}

static const struct {
    const char *name;
    attr_fn fn;
    unsigned where;
    const char *why; /* default error for a malformed line */
} ATTRS[] = {
    {"ice-ufrag", a_ice_ufrag, AT_BOTH, "bad a=ice-ufrag line"},
    {"ice-pwd", a_ice_pwd, AT_BOTH, "bad a=ice-pwd line"},
    {"ice-options", a_ice_options, AT_BOTH, "bad a=ice-options line"},
    {"fingerprint", a_fingerprint, AT_BOTH, "bad a=fingerprint line"},
    {"setup", a_setup, AT_BOTH, "bad a=setup line"},
    {"extmap", a_extmap, AT_BOTH, "bad a=extmap line"},
    {"group", a_group, AT_SESSION, "bad a=group line"},
    {"ice-lite", a_ice_lite, AT_SESSION, "bad a=ice-lite line"},
    {"extmap-allow-mixed", a_allow_mixed, AT_SESSION, "bad a=extmap-allow-mixed line"},
    {"mid", a_mid, AT_MEDIA, "bad a=mid line"},
    {"rtpmap", a_rtpmap, AT_MEDIA, "bad a=rtpmap line"},
    {"fmtp", a_fmtp, AT_MEDIA, "bad a=fmtp line"},
    {"rtcp-fb", a_rtcp_fb, AT_MEDIA, "bad a=rtcp-fb line"},
    {"rtcp-mux", a_rtcp_mux, AT_MEDIA, "bad a=rtcp-mux line"},
    {"rtcp-mux-only", a_rtcp_mux_only, AT_MEDIA, "bad a=rtcp-mux-only line"},
    {"rtcp-rsize", a_rtcp_rsize, AT_MEDIA, "bad a=rtcp-rsize line"},
    {"bundle-only", a_bundle_only, AT_MEDIA, "bad a=bundle-only line"},
    {"ssrc", a_ssrc, AT_MEDIA, "bad a=ssrc line"},
    {"ssrc-group", a_ssrc_group, AT_MEDIA, "bad a=ssrc-group line"},
    {"rid", a_rid, AT_MEDIA, "bad a=rid line"},
    {"simulcast", a_simulcast, AT_MEDIA, "bad a=simulcast line"},
    {"msid", a_msid, AT_MEDIA, "bad a=msid line"},
    {"candidate", a_candidate, AT_MEDIA, "bad a=candidate line"},
    {"end-of-candidates", a_end_of_candidates, AT_MEDIA, "bad a=end-of-candidates line"},
    {"sctp-port", a_sctp_port, AT_MEDIA, "bad a=sctp-port line"},
    {"sctpmap", a_sctpmap, AT_MEDIA, "bad a=sctpmap line"},
    {"max-message-size", a_max_message_size, AT_MEDIA, "bad a=max-message-size line"},
};

/* "a=<name>[:<value>]".  Attributes at a level they do not belong to, and
 * unknown ones, are ignored (RFC 8866 §5.13). */
static int parse_attribute(parser_t *ps, sdp_span_t line)
{
    sdp_span_t name, value;
    bool has_value = sdp_span_split(line, ':', &name, &value);
    if (!sdp_span_is_token(name, 64)) {
        ps->why = "bad a= line";
        return -1;
    }
    sdp_dir_t d = dir_parse(name);
    if (d != SDP_DIR_NONE) {
        if (has_value) {
            ps->why = "bad direction attribute";
            return -1;
        }
        return set_direction(ps, d);
    }
    unsigned here = ps->m ? AT_MEDIA : AT_SESSION;
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(ATTRS); i++) {
        if (!sdp_span_eq(name, ATTRS[i].name))
            continue;
        if (!(ATTRS[i].where & here))
            return 0;
        if (ATTRS[i].fn(ps, value) < 0) {
            if (!ps->why)
                ps->why = ATTRS[i].why;
            return -1;
        }
        return 0;
    }
    return 0;
}

/* ---- m= sections --------------------------------------------------------- */

/* "m=<media> <port>[/<count>] <proto> <fmt> ..." (RFC 8866 §5.14). */
static int parse_m_line(parser_t *ps, sdp_span_t v)
{
    sdp_session_t *s = ps->s;
    if (s->n_media == SDP_MAX_MEDIA) {
        ps->why = "too many m= lines";
        return -1;
    }
    sdp_media_t *m = &s->media[s->n_media++];
    memset(m, 0, sizeof(*m));
    ps->m = m;
    ps->dir = &m->dir;
    ps->fb_wild = 0;
    ps->seen_simulcast = false;
    ps->why = "bad m= line";

    sdp_span_t kind = sdp_span_word(&v), portv = sdp_span_word(&v), proto = sdp_span_word(&v), port, count;
    uint64_t ignored;
    bool has_count = sdp_span_split(portv, '/', &port, &count);
    if (!sdp_span_is_token(kind, SDP_TOKEN_MAX) || !sdp_span_is_proto(proto) || !sdp_span_int(port, 0, 65535, &m->port))
        return -1;
    if (has_count && !sdp_span_uint(count, 65535, &ignored))
        return -1;
    sdp_span_copy(m->kind_name, sizeof(m->kind_name), kind);
    m->kind = sdp_span_eq(kind, "audio")         ? SDP_KIND_AUDIO
              : sdp_span_eq(kind, "video")       ? SDP_KIND_VIDEO
              : sdp_span_eq(kind, "application") ? SDP_KIND_APPLICATION
                                                 : SDP_KIND_OTHER;
    sdp_span_copy(m->proto, sizeof(m->proto), proto);
    m->is_rtp = strstr(m->proto, "RTP/") != NULL;
    while (v.n) {
        sdp_span_t f = sdp_span_word(&v);
        if (f.n == 0)
            break;
        if (!m->is_rtp) {
            if (!sdp_span_is_token(f, SDP_TOKEN_MAX))
                return -1;
            if (!m->fmt[0])
                sdp_span_copy(m->fmt, sizeof(m->fmt), f);
            continue;
        }
        int pt;
        if (!sdp_span_int(f, 0, 127, &pt) || sdp_media_find_pt(m, pt))
            return -1;
        if (m->n_pt == SDP_MAX_PT) {
            ps->why = "too many payload types on an m= line";
            return -1;
        }
        sdp_codec_t *c = &m->pt[m->n_pt++];
        memset(c, 0, sizeof(*c));
        c->pt = pt;
        c->apt = c->packetization_mode = c->level_asymmetry_allowed = -1;
        c->useinbandfec = c->stereo = c->profile_id = -1;
    }
    if (m->is_rtp ? m->n_pt == 0 : !m->fmt[0])
        return -1;
    ps->why = NULL;
    return 0;
}

static void inherit_transport(sdp_transport_t *m, const sdp_transport_t *s)
{
    if (!m->ice_ufrag[0])
        memcpy(m->ice_ufrag, s->ice_ufrag, sizeof(m->ice_ufrag));
    if (!m->ice_pwd[0])
        memcpy(m->ice_pwd, s->ice_pwd, sizeof(m->ice_pwd));
    if (!m->ice_options[0])
        memcpy(m->ice_options, s->ice_options, sizeof(m->ice_options));
    if (m->n_fingerprint == 0) {
        m->n_fingerprint = s->n_fingerprint;
        memcpy(m->fingerprint, s->fingerprint, sizeof(m->fingerprint));
    }
    if (m->setup == SDP_SETUP_NONE)
        m->setup = s->setup;
}

static bool has_rid(const sdp_media_t *m, const char *id, sdp_dir_t dir)
{
    for (int i = 0; i < m->n_rid; i++)
        if (strcmp(m->rid[i].id, id) == 0 && m->rid[i].dir == dir)
            return true;
    return false;
}

/* Applies session-level defaults and checks what needs the whole section. */
static int finish_media(parser_t *ps)
{
    sdp_media_t *m = ps->m;
    const sdp_session_t *s = ps->s;
    if (m->dir == SDP_DIR_NONE)
        m->dir = s->dir != SDP_DIR_NONE ? s->dir : SDP_DIR_SENDRECV;
    inherit_transport(&m->tr, &s->tr);
    for (int i = 0; i < s->n_ext; i++) { /* RFC 8285 §5: session level applies to every m= line */
        bool dup = false;
        for (int j = 0; j < m->n_ext; j++)
            dup |= m->ext[j].id == s->ext[i].id;
        if (dup)
            continue;
        if (m->n_ext == SDP_MAX_EXT) {
            ps->why = "too many a=extmap lines";
            return -1;
        }
        m->ext[m->n_ext++] = s->ext[i];
    }
    for (int i = 0; i < m->n_pt; i++)
        m->pt[i].fb |= ps->fb_wild;
    for (int i = 0; i < m->n_sim_send; i++)
        if (!has_rid(m, m->sim_send[i].rid, SDP_DIR_SENDONLY))
            goto undeclared;
    for (int i = 0; i < m->n_sim_recv; i++)
        if (!has_rid(m, m->sim_recv[i].rid, SDP_DIR_RECVONLY))
            goto undeclared;
    for (int i = 0; i < m->n_ssrc_group; i++)
        for (int j = 0; j < m->ssrc_group[i].n_ssrc; j++)
            if (!ssrc_get(m, m->ssrc_group[i].ssrc[j], false)) {
                ps->why = "a=ssrc-group names an SSRC without a=ssrc line";
                return -1;
            }
    return 0;
undeclared:
    ps->why = "a=simulcast names a rid without a matching a=rid line";
    return -1;
}

/* ---- lines --------------------------------------------------------------- */

/* "o=<username> <sess-id> <sess-version> IN <addrtype> <address>". */
static int parse_o_line(parser_t *ps, sdp_span_t v)
{
    sdp_span_t user = sdp_span_word(&v), id = sdp_span_word(&v), ver = sdp_span_word(&v);
    sdp_span_t net = sdp_span_word(&v), at = sdp_span_word(&v), addr = sdp_span_word(&v);
    uint64_t n;
    ps->why = "bad o= line";
    if (ps->seen_o || ps->m || !sdp_span_is_visible(user, 255) || !sdp_span_is_visible(addr, 255) || v.n)
        return -1;
    if (id.n == 0 || id.n > SDP_SESSION_ID_MAX)
        return -1;
    for (size_t i = 0; i < id.n; i++)
        if (id.p[i] < '0' || id.p[i] > '9')
            return -1;
    if (!sdp_span_uint(ver, UINT64_MAX, &n) || !sdp_span_eq(net, "IN") ||
        !(sdp_span_eq(at, "IP4") || sdp_span_eq(at, "IP6")))
        return -1;
    sdp_span_copy(ps->s->session_id, sizeof(ps->s->session_id), id);
    ps->seen_o = true;
    ps->why = NULL;
    return 0;
}

static int parse_line(parser_t *ps, char type, sdp_span_t v)
{
    switch (type) {
    case 'v':
        ps->why = "v= must be the first line";
        return -1;
    case 'o':
        return parse_o_line(ps, v);
    case 's':
        if (ps->seen_s || ps->m) {
            ps->why = "bad s= line";
            return -1;
        }
        ps->seen_s = true;
        return 0;
    case 'm':
        if (ps->m && finish_media(ps) < 0)
            return -1;
        return parse_m_line(ps, v);
    case 'a':
        return parse_attribute(ps, v);
    default: /* c=, b=, t=, i=, ...: the SFU needs none of them */
        return 0;
    }
}

/* A line's bytes: RFC 8866 §9 text excludes NUL, CR and LF. */
static bool line_ok(const char *p, size_t n)
{
    return memchr(p, '\0', n) == NULL && memchr(p, '\r', n) == NULL;
}

static int finish_session(parser_t *ps)
{
    sdp_session_t *s = ps->s;
    if (ps->m && finish_media(ps) < 0)
        return -1;
    if (!ps->seen_o || !ps->seen_s) {
        ps->why = ps->seen_o ? "missing s= line" : "missing o= line";
        return -1;
    }
    for (int i = 0; i < s->n_bundle; i++) {
        bool found = false;
        for (int j = 0; j < s->n_media && !found; j++)
            found = strcmp(s->bundle[i], s->media[j].mid) == 0;
        if (!found) {
            ps->why = "a=group:BUNDLE names an unknown mid";
            return -1;
        }
    }
    return 0;
}

int sdp_parse(const char *text, size_t len, sdp_session_t *out, const char **why)
{
    parser_t ps = {.s = out};
    memset(out, 0, sizeof(*out));
    ps.dir = &out->dir;
    size_t pos = 0;
    bool first = true;
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0)
            continue; /* a trailing blank line is common enough to forgive */
        if (!line_ok(line, n) || n < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
            ps.why = "malformed line (not <type>=<value>)";
            goto fail;
        }
        sdp_span_t v = {line + 2, n - 2};
        if (first) {
            if (line[0] != 'v' || !sdp_span_eq(v, "0")) {
                ps.why = "SDP must start with v=0";
                goto fail;
            }
            first = false;
            continue;
        }
        ps.why = NULL;
        if (parse_line(&ps, line[0], v) < 0)
            goto fail;
    }
    if (first) {
        ps.why = "empty SDP";
        goto fail;
    }
    if (finish_session(&ps) < 0)
        goto fail;
    return IRTC_OK;
fail:
    if (why)
        *why = ps.why ? ps.why : "malformed SDP";
    return IRTC_EINVAL;
}
