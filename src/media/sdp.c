/*
 * sdp.c — SDP parser, answer negotiation and answer writer; see sdp.h.
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
#include "media/sdp.h"
#include "core/common.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- spans: a (pointer, length) view into the offer ---------------------- */

typedef struct {
    const char *p;
    size_t n;
} span_t;

static span_t span_cstr(const char *s)
{
    return (span_t){s, strlen(s)};
}

static bool span_eq(span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_ieq(span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static void span_trim(span_t *s)
{
    while (s->n && (s->p[0] == ' ' || s->p[0] == '\t'))
        s->p++, s->n--;
    while (s->n && (s->p[s->n - 1] == ' ' || s->p[s->n - 1] == '\t'))
        s->n--;
}

/* Cuts s at the first sep: returns what precedes it, leaves the rest in s. */
static span_t span_cut(span_t *s, char sep)
{
    const char *e = s->n ? memchr(s->p, sep, s->n) : NULL;
    span_t head = {s->p, e ? (size_t)(e - s->p) : s->n};
    s->p += e ? head.n + 1 : head.n;
    s->n -= e ? head.n + 1 : head.n;
    return head;
}

/* Splits s at its first sep into *a and *b; false (a = s) when there is none. */
static bool span_split(span_t s, char sep, span_t *a, span_t *b)
{
    const char *e = s.n ? memchr(s.p, sep, s.n) : NULL;
    *a = (span_t){s.p, e ? (size_t)(e - s.p) : s.n};
    *b = e ? (span_t){e + 1, s.n - a->n - 1} : (span_t){s.p + s.n, 0};
    return e != NULL;
}

/* Next space-separated word (RFC 8866 says one SP; browsers agree, but a
 * doubled space costs nothing to tolerate). */
static span_t span_word(span_t *s)
{
    span_trim(s);
    span_t w = span_cut(s, ' ');
    span_trim(&w);
    return w;
}

static bool span_uint(span_t s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.n == 0 || s.n > 20)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool span_int(span_t s, int lo, int hi, int *out)
{
    uint64_t v;
    if (!span_uint(s, (uint64_t)hi, &v) || v < (uint64_t)lo)
        return false;
    *out = (int)v;
    return true;
}

/* Copies s into dst[cap] (cap counts the NUL); false if it does not fit. */
static bool span_copy(char *dst, size_t cap, span_t s)
{
    if (s.n >= cap)
        return false;
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return true;
}

/* RFC 8866 §9 token-char. */
static bool is_token_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D || c == 0x2E ||
           (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x5E && c <= 0x7E);
}

static bool span_is_token(span_t s, size_t max)
{
    if (s.n == 0 || s.n > max)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!is_token_char((unsigned char)s.p[i]))
            return false;
    return true;
}

/* Token that also may contain '/' (protos such as UDP/TLS/RTP/SAVPF). */
static bool span_is_proto(span_t s)
{
    if (s.n == 0 || s.n > SDP_PROTO_MAX)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] != '/' && !is_token_char((unsigned char)s.p[i]))
            return false;
    return true;
}

/* RFC 8839 §5.4 ice-char. */
static bool span_is_ice(span_t s, size_t lo, size_t hi)
{
    if (s.n < lo || s.n > hi)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return false;
    }
    return true;
}

/* Visible ASCII without spaces: URIs and CNAMEs. */
static bool span_is_visible(span_t s, size_t max)
{
    if (s.n == 0 || s.n > max)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] <= 0x20 || (unsigned char)s.p[i] >= 0x7F)
            return false;
    return true;
}

/* RFC 8851 rid-id: alpha-numeric, "-" and "_". */
static bool span_is_rid(span_t s)
{
    if (s.n == 0 || s.n > SDP_RID_MAX)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "AB:CD:..." (RFC 8122 §5): returns the byte count, or -1. */
static int fingerprint_bytes(span_t v)
{
    if (v.n < 2 || v.n > SDP_FP_VALUE_MAX || (v.n + 1) % 3 != 0)
        return -1;
    for (size_t i = 0; i < v.n; i++) {
        bool colon = i % 3 == 2;
        if (colon ? v.p[i] != ':' : hexval((unsigned char)v.p[i]) < 0)
            return -1;
    }
    return (int)((v.n + 1) / 3);
}

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

static sdp_dir_t dir_parse(span_t s)
{
    for (unsigned i = 1; i < IRTC_ARRAY_SIZE(DIR_NAMES); i++)
        if (span_eq(s, DIR_NAMES[i]))
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
static int pt_lookup(parser_t *ps, span_t s, sdp_codec_t **c)
{
    int pt;
    if (!span_int(s, 0, 127, &pt))
        return -1;
    *c = (sdp_codec_t *)sdp_media_find_pt(ps->m, pt);
    return 0;
}

static sdp_transport_t *cur_tr(parser_t *ps)
{
    return ps->m ? &ps->m->tr : &ps->s->tr;
}

/* ---- session or media level attributes ----------------------------------- */

static int a_ice_ufrag(parser_t *ps, span_t v)
{
    sdp_transport_t *tr = cur_tr(ps);
    if (tr->ice_ufrag[0] || !span_is_ice(v, 4, SDP_ICE_UFRAG_MAX))
        return -1;
    return span_copy(tr->ice_ufrag, sizeof(tr->ice_ufrag), v) ? 0 : -1;
}

static int a_ice_pwd(parser_t *ps, span_t v)
{
    sdp_transport_t *tr = cur_tr(ps);
    if (tr->ice_pwd[0] || !span_is_ice(v, 22, SDP_ICE_PWD_MAX))
        return -1;
    return span_copy(tr->ice_pwd, sizeof(tr->ice_pwd), v) ? 0 : -1;
}

static int a_ice_options(parser_t *ps, span_t v)
{
    sdp_transport_t *tr = cur_tr(ps);
    span_trim(&v);
    span_t rest = v;
    while (rest.n) {
        span_t w = span_word(&rest);
        if (!span_is_token(w, SDP_ICE_OPTIONS_MAX))
            return -1;
    }
    return v.n && span_copy(tr->ice_options, sizeof(tr->ice_options), v) ? 0 : -1;
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

static int a_fingerprint(parser_t *ps, span_t v)
{
    sdp_transport_t *tr = cur_tr(ps);
    span_t alg = span_word(&v), val = span_word(&v);
    if (!span_is_token(alg, SDP_FP_ALG_MAX) || v.n)
        return -1;
    int bytes = fingerprint_bytes(val);
    if (bytes < 0)
        return -1;
    if (tr->n_fingerprint == SDP_MAX_FINGERPRINT) {
        ps->why = "too many a=fingerprint lines";
        return -1;
    }
    sdp_fingerprint_t *fp = &tr->fingerprint[tr->n_fingerprint];
    span_copy(fp->alg, sizeof(fp->alg), alg);
    for (char *c = fp->alg; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    int want = fingerprint_alg_bytes(fp->alg);
    if (want && want != bytes)
        return -1;
    span_copy(fp->value, sizeof(fp->value), val);
    tr->n_fingerprint++;
    return 0;
}

static int a_setup(parser_t *ps, span_t v)
{
    static const char *const names[] = {"", "actpass", "active", "passive", "holdconn"};
    sdp_transport_t *tr = cur_tr(ps);
    if (tr->setup != SDP_SETUP_NONE)
        return -1;
    for (unsigned i = 1; i < IRTC_ARRAY_SIZE(names); i++)
        if (span_eq(v, names[i])) {
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
static int a_extmap(parser_t *ps, span_t v)
{
    int *n = ps->m ? &ps->m->n_ext : &ps->s->n_ext;
    sdp_extmap_t *list = ps->m ? ps->m->ext : ps->s->ext;
    span_t idv = span_word(&v), uri = span_word(&v), id, dir;
    bool has_dir = span_split(idv, '/', &id, &dir);
    sdp_extmap_t e = {0};
    if (!span_int(id, 1, 255, &e.id) || !span_is_visible(uri, SDP_URI_MAX))
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
    span_copy(e.uri, sizeof(e.uri), uri);
    list[(*n)++] = e;
    return 0;
}

/* ---- session-level attributes ------------------------------------------- */

/* "a=group:BUNDLE <mid> ..." (RFC 8843 §7); other semantics are ignored. */
static int a_group(parser_t *ps, span_t v)
{
    sdp_session_t *s = ps->s;
    span_t sem = span_word(&v);
    if (!span_is_token(sem, SDP_TOKEN_MAX))
        return -1;
    if (!span_eq(sem, "BUNDLE"))
        return 0;
    bool first = s->n_bundle_groups++ == 0;
    int n = 0;
    while (v.n) {
        span_t mid = span_word(&v);
        if (mid.n == 0)
            break;
        if (!span_is_token(mid, SDP_MID_MAX))
            return -1;
        if (!first)
            continue;
        if (n == SDP_MAX_MEDIA) {
            ps->why = "too many mids in a=group:BUNDLE";
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (span_eq(mid, s->bundle[i]))
                return -1;
        span_copy(s->bundle[n++], sizeof(s->bundle[0]), mid);
    }
    if (first)
        s->n_bundle = n;
    return 0;
}

/* ---- media-level attributes ---------------------------------------------- */

static int a_mid(parser_t *ps, span_t v)
{
    if (ps->m->mid[0] || !span_is_token(v, SDP_MID_MAX))
        return -1;
    for (int i = 0; i < ps->s->n_media - 1; i++)
        if (span_eq(v, ps->s->media[i].mid)) {
            ps->why = "duplicate a=mid";
            return -1;
        }
    return span_copy(ps->m->mid, sizeof(ps->m->mid), v) ? 0 : -1;
}

/* "a=rtpmap:<pt> <name>/<clock>[/<channels>]" (RFC 8866 §6.6). */
static int a_rtpmap(parser_t *ps, span_t v)
{
    sdp_codec_t *c;
    if (pt_lookup(ps, span_word(&v), &c) < 0)
        return -1;
    span_trim(&v);
    span_t name, clock, chans;
    uint64_t hz;
    int ch = 0;
    span_split(v, '/', &name, &v);
    bool has_ch = span_split(v, '/', &clock, &chans);
    if (!span_is_token(name, SDP_TOKEN_MAX) || !span_uint(clock, UINT32_MAX, &hz) || hz == 0)
        return -1;
    if (has_ch && !span_int(chans, 1, 255, &ch))
        return -1;
    if (!c)
        return 0;
    if (c->has_rtpmap) {
        ps->why = "duplicate a=rtpmap";
        return -1;
    }
    c->has_rtpmap = true;
    span_copy(c->name, sizeof(c->name), name);
    c->clock = (uint32_t)hz;
    c->channels = ch;
    return 0;
}

/* One "key=value" of an a=fmtp line; unknown keys are kept only in the raw text. */
static int fmtp_param(sdp_codec_t *c, span_t kv)
{
    span_t key, val;
    if (!span_split(kv, '=', &key, &val))
        return 0; /* no '=': red's "111/111", telephone-event's "0-15" */
    span_trim(&key);
    span_trim(&val);
    if (span_ieq(key, "apt"))
        return span_int(val, 0, 127, &c->apt) ? 0 : -1;
    if (span_ieq(key, "packetization-mode"))
        return span_int(val, 0, 2, &c->packetization_mode) ? 0 : -1;
    if (span_ieq(key, "level-asymmetry-allowed"))
        return span_int(val, 0, 1, &c->level_asymmetry_allowed) ? 0 : -1;
    if (span_ieq(key, "useinbandfec"))
        return span_int(val, 0, 1, &c->useinbandfec) ? 0 : -1;
    if (span_ieq(key, "stereo"))
        return span_int(val, 0, 1, &c->stereo) ? 0 : -1;
    if (span_ieq(key, "profile-id"))
        return span_int(val, 0, 255, &c->profile_id) ? 0 : -1;
    if (span_ieq(key, "profile-level-id")) {
        uint32_t plid = 0;
        if (val.n != 6)
            return -1;
        for (size_t i = 0; i < 6; i++) {
            int h = hexval((unsigned char)val.p[i]);
            if (h < 0)
                return -1;
            plid = plid << 4 | (uint32_t)h;
        }
        c->has_profile_level_id = true;
        c->profile_level_id = plid;
    }
    return 0;
}

static int a_fmtp(parser_t *ps, span_t v)
{
    sdp_codec_t *c;
    if (pt_lookup(ps, span_word(&v), &c) < 0)
        return -1;
    span_trim(&v);
    if (v.n == 0 || v.n > SDP_FMTP_MAX)
        return -1;
    if (!c)
        return 0;
    if (c->has_fmtp) {
        ps->why = "duplicate a=fmtp";
        return -1;
    }
    c->has_fmtp = true;
    span_copy(c->fmtp, sizeof(c->fmtp), v);
    span_t rest = v;
    while (rest.n) {
        span_t kv = span_cut(&rest, ';');
        if (fmtp_param(c, kv) < 0)
            return -1;
    }
    return 0;
}

/* "a=rtcp-fb:<pt|*> <type> [<param>]" (RFC 4585 §4.2). */
static int a_rtcp_fb(parser_t *ps, span_t v)
{
    span_t pt = span_word(&v), type = span_word(&v), param = span_word(&v);
    sdp_codec_t *c = NULL;
    bool wild = span_eq(pt, "*");
    if ((!wild && pt_lookup(ps, pt, &c) < 0) || !span_is_token(type, SDP_TOKEN_MAX))
        return -1;
    unsigned bit = 0;
    if (span_eq(type, "nack") && param.n == 0)
        bit = SDP_FB_NACK;
    else if (span_eq(type, "nack") && span_eq(param, "pli"))
        bit = SDP_FB_NACK_PLI;
    else if (span_eq(type, "ccm") && span_eq(param, "fir"))
        bit = SDP_FB_CCM_FIR;
    else if (span_eq(type, "transport-cc") && param.n == 0)
        bit = SDP_FB_TRANSPORT_CC;
    else if (span_eq(type, "goog-remb") && param.n == 0)
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
static int msid_parse(span_t v, char *stream, char *track, bool source_level)
{
    bool (*word_ok)(span_t, size_t) = source_level ? span_is_visible : span_is_token;
    span_t st = span_word(&v), tr = span_word(&v);
    if (!word_ok(st, SDP_MSID_MAX) || (tr.n && !word_ok(tr, SDP_MSID_MAX)) || v.n)
        return -1;
    span_copy(stream, SDP_MSID_MAX + 1, st);
    span_copy(track, SDP_MSID_MAX + 1, tr);
    return 0;
}

/* "a=ssrc:<ssrc> <attribute>[:<value>]" (RFC 5576 §4.1). */
static int a_ssrc(parser_t *ps, span_t v)
{
    uint64_t id;
    if (!span_uint(span_word(&v), UINT32_MAX, &id))
        return -1;
    span_trim(&v);
    span_t attr = span_cut(&v, ':');
    if (!span_is_token(attr, SDP_TOKEN_MAX))
        return -1;
    sdp_ssrc_t *s = ssrc_get(ps->m, (uint32_t)id, true);
    if (!s) {
        ps->why = "too many SSRCs in a=ssrc lines";
        return -1;
    }
    if (span_eq(attr, "cname")) {
        if (s->cname[0] || !span_is_visible(v, SDP_CNAME_MAX))
            return -1;
        span_copy(s->cname, sizeof(s->cname), v);
    } else if (span_eq(attr, "msid")) {
        if (s->msid_stream[0] || msid_parse(v, s->msid_stream, s->msid_track, true) < 0)
            return -1;
    }
    return 0;
}

/* "a=ssrc-group:<semantics> <ssrc> ..." (RFC 5576 §4.2). */
static int a_ssrc_group(parser_t *ps, span_t v)
{
    sdp_media_t *m = ps->m;
    span_t sem = span_word(&v);
    if (!span_is_token(sem, SDP_TOKEN_MAX))
        return -1;
    if (m->n_ssrc_group == SDP_MAX_SSRC_GROUP) {
        ps->why = "too many a=ssrc-group lines";
        return -1;
    }
    sdp_ssrc_group_t *g = &m->ssrc_group[m->n_ssrc_group];
    memset(g, 0, sizeof(*g));
    span_copy(g->semantics, sizeof(g->semantics), sem);
    while (v.n) {
        span_t w = span_word(&v);
        uint64_t id;
        if (w.n == 0)
            break;
        if (g->n_ssrc == SDP_MAX_GROUP_SSRC || !span_uint(w, UINT32_MAX, &id))
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
static int a_rid(parser_t *ps, span_t v)
{
    sdp_media_t *m = ps->m;
    span_t id = span_word(&v), dir = span_word(&v);
    if (!span_is_rid(id) || !(span_eq(dir, "send") || span_eq(dir, "recv")))
        return -1;
    for (int i = 0; i < m->n_rid; i++)
        if (span_eq(id, m->rid[i].id)) {
            ps->why = "duplicate a=rid";
            return -1;
        }
    if (m->n_rid == SDP_MAX_RID) {
        ps->why = "too many a=rid lines";
        return -1;
    }
    span_copy(m->rid[m->n_rid].id, SDP_RID_MAX + 1, id);
    m->rid[m->n_rid++].dir = span_eq(dir, "send") ? SDP_DIR_SENDONLY : SDP_DIR_RECVONLY;
    return 0;
}

/* One direction's stream list: "q;h;f", alternatives "1,2;3", paused "~h". */
static int sim_list(span_t list, sdp_sim_stream_t *out, int *n)
{
    if (list.n > 4 && strncmp(list.p, "rid=", 4) == 0) /* pre-RFC drafts, old Firefox */
        list.p += 4, list.n -= 4;
    if (list.n == 0 || *n)
        return -1;
    while (list.n) {
        span_t stream = span_cut(&list, ';');
        span_t alt = span_cut(&stream, ','), rest = stream;
        while (rest.n) { /* the other alternatives are checked, not kept */
            span_t a2 = span_cut(&rest, ',');
            if (a2.n && a2.p[0] == '~')
                a2.p++, a2.n--;
            if (!span_is_rid(a2))
                return -1;
        }
        bool paused = alt.n && alt.p[0] == '~';
        if (paused)
            alt.p++, alt.n--;
        if (!span_is_rid(alt) || *n == SDP_MAX_RID)
            return -1;
        span_copy(out[*n].rid, SDP_RID_MAX + 1, alt);
        out[(*n)++].paused = paused;
    }
    return 0;
}

/* "a=simulcast:send <list> [recv <list>]" or the reverse (RFC 8853 §5.1). */
static int a_simulcast(parser_t *ps, span_t v)
{
    sdp_media_t *m = ps->m;
    if (ps->seen_simulcast)
        return -1;
    ps->seen_simulcast = true;
    for (int i = 0; i < 2; i++) {
        span_t dir = span_word(&v), list = span_word(&v);
        if (dir.n == 0 && i == 1)
            break;
        if (span_eq(dir, "send")) {
            if (sim_list(list, m->sim_send, &m->n_sim_send) < 0)
                return -1;
        } else if (span_eq(dir, "recv")) {
            if (sim_list(list, m->sim_recv, &m->n_sim_recv) < 0)
                return -1;
        } else {
            return -1;
        }
    }
    span_trim(&v);
    return v.n ? -1 : 0;
}

static int a_msid(parser_t *ps, span_t v)
{
    if (ps->m->msid_stream[0])
        return -1;
    return msid_parse(v, ps->m->msid_stream, ps->m->msid_track, false);
}

static int a_candidate(parser_t *ps, span_t v)
{
    span_trim(&v);
    if (v.n == 0)
        return -1;
    if (++ps->n_candidates_total > SDP_MAX_CANDIDATE_LINES) {
        ps->why = "too many a=candidate lines";
        return -1;
    }
    ps->m->n_candidates++;
    return 0;
}

static int a_sctp_port(parser_t *ps, span_t v)
{
    return !ps->m->sctp_port && span_int(v, 1, 65535, &ps->m->sctp_port) ? 0 : -1;
}

static int a_max_message_size(parser_t *ps, span_t v)
{
    return span_uint(v, UINT64_MAX, &ps->m->max_message_size) ? 0 : -1;
}

/* ---- attribute dispatch -------------------------------------------------- */

enum { AT_SESSION = 1, AT_MEDIA = 2, AT_BOTH = 3 };

typedef int (*attr_fn)(parser_t *ps, span_t value);

static int a_ice_lite(parser_t *ps, span_t v)
{
    ps->s->ice_lite = true;
    return 0;
}

static int a_allow_mixed(parser_t *ps, span_t v)
{
    ps->s->extmap_allow_mixed = true;
    return 0;
}

static int a_rtcp_mux(parser_t *ps, span_t v)
{
    ps->m->rtcp_mux = true;
    return 0;
}

static int a_rtcp_mux_only(parser_t *ps, span_t v)
{
    ps->m->rtcp_mux_only = true;
    return 0;
}

static int a_rtcp_rsize(parser_t *ps, span_t v)
{
    ps->m->rtcp_rsize = true;
    return 0;
}

static int a_bundle_only(parser_t *ps, span_t v)
{
    ps->m->bundle_only = true;
    return 0;
}

static int a_end_of_candidates(parser_t *ps, span_t v)
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
    {"max-message-size", a_max_message_size, AT_MEDIA, "bad a=max-message-size line"},
};

/* "a=<name>[:<value>]".  Attributes at a level they do not belong to, and
 * unknown ones, are ignored (RFC 8866 §5.13). */
static int parse_attribute(parser_t *ps, span_t line)
{
    span_t name, value;
    bool has_value = span_split(line, ':', &name, &value);
    if (!span_is_token(name, 64)) {
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
        if (!span_eq(name, ATTRS[i].name))
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
static int parse_m_line(parser_t *ps, span_t v)
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

    span_t kind = span_word(&v), portv = span_word(&v), proto = span_word(&v), port, count;
    uint64_t ignored;
    bool has_count = span_split(portv, '/', &port, &count);
    if (!span_is_token(kind, SDP_TOKEN_MAX) || !span_is_proto(proto) || !span_int(port, 0, 65535, &m->port))
        return -1;
    if (has_count && !span_uint(count, 65535, &ignored))
        return -1;
    span_copy(m->kind_name, sizeof(m->kind_name), kind);
    m->kind = span_eq(kind, "audio")         ? SDP_KIND_AUDIO
              : span_eq(kind, "video")       ? SDP_KIND_VIDEO
              : span_eq(kind, "application") ? SDP_KIND_APPLICATION
                                             : SDP_KIND_OTHER;
    span_copy(m->proto, sizeof(m->proto), proto);
    m->is_rtp = strstr(m->proto, "RTP/") != NULL;
    while (v.n) {
        span_t f = span_word(&v);
        if (f.n == 0)
            break;
        if (!m->is_rtp) {
            if (!span_is_token(f, SDP_TOKEN_MAX))
                return -1;
            if (!m->fmt[0])
                span_copy(m->fmt, sizeof(m->fmt), f);
            continue;
        }
        int pt;
        if (!span_int(f, 0, 127, &pt) || sdp_media_find_pt(m, pt))
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
static int parse_o_line(parser_t *ps, span_t v)
{
    span_t user = span_word(&v), id = span_word(&v), ver = span_word(&v);
    span_t net = span_word(&v), at = span_word(&v), addr = span_word(&v);
    uint64_t n;
    ps->why = "bad o= line";
    if (ps->seen_o || ps->m || !span_is_visible(user, 255) || !span_is_visible(addr, 255) || v.n)
        return -1;
    if (id.n == 0 || id.n > SDP_SESSION_ID_MAX)
        return -1;
    for (size_t i = 0; i < id.n; i++)
        if (id.p[i] < '0' || id.p[i] > '9')
            return -1;
    if (!span_uint(ver, UINT64_MAX, &n) || !span_eq(net, "IN") || !(span_eq(at, "IP4") || span_eq(at, "IP6")))
        return -1;
    span_copy(ps->s->session_id, sizeof(ps->s->session_id), id);
    ps->seen_o = true;
    ps->why = NULL;
    return 0;
}

static int parse_line(parser_t *ps, char type, span_t v)
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
        span_t v = {line + 2, n - 2};
        if (first) {
            if (line[0] != 'v' || !span_eq(v, "0")) {
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
    if (!p->ice_ufrag || !p->ice_pwd || !span_is_ice(span_cstr(p->ice_ufrag), 4, SDP_ICE_UFRAG_MAX) ||
        !span_is_ice(span_cstr(p->ice_pwd), 22, SDP_ICE_PWD_MAX))
        return -1;
    *why = "bad policy: fingerprint (sha-256, AB:CD:...)";
    if (!p->fingerprint || fingerprint_bytes(span_cstr(p->fingerprint)) != 32)
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

static const sdp_codec_t *choose_codec(const nego_t *g, const sdp_media_t *m)
{
    static const sdp_video_codec_t dflt[] = {SDP_VIDEO_VP8, SDP_VIDEO_H264, SDP_VIDEO_VP9};
    if (m->kind == SDP_KIND_AUDIO) {
        for (int i = 0; i < m->n_pt; i++)
            if (is_codec(&m->pt[i], "opus", 48000) && m->pt[i].channels == 2)
                return &m->pt[i];
        return NULL;
    }
    int n = g->pol->n_video_order ? g->pol->n_video_order : (int)IRTC_ARRAY_SIZE(dflt);
    const sdp_video_codec_t *order = g->pol->n_video_order ? g->pol->video_order : dflt;
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
    if ((s->cname && !span_is_visible(span_cstr(s->cname), SDP_CNAME_MAX)) ||
        (s->msid_stream && !span_is_token(span_cstr(s->msid_stream), SDP_MSID_MAX)) ||
        (s->msid_track && !span_is_token(span_cstr(s->msid_track), SDP_MSID_MAX)) || (s->msid_track && !s->msid_stream))
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

static int answer_rtp(nego_t *g, const sdp_media_t *m, sdp_answer_media_t *am)
{
    bool audio = m->kind == SDP_KIND_AUDIO;
    bool *have = audio ? &g->have_audio : &g->have_video;
    if ((audio ? g->pol->reject_audio : g->pol->reject_video) || *have || strcmp(m->proto, "UDP/TLS/RTP/SAVPF") != 0)
        return 0;
    const sdp_codec_t *c = choose_codec(g, m);
    if (!c)
        return 0;
    if (answer_dir(g, m->dir, &am->dir) < 0)
        return -1;
    *have = true;
    am->rejected = false;
    fill_codec(am, m, c);
    keep_exts(g, m, am);
    if ((am->dir == SDP_DIR_SENDONLY || am->dir == SDP_DIR_SENDRECV) &&
        copy_send(audio ? &g->pol->audio_send : &g->pol->video_send, am, &g->why) < 0)
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
    if (!g->pol->accept_data || g->have_data || !proto || strcmp(m->fmt, "webrtc-datachannel") != 0 || !m->sctp_port)
        return;
    g->have_data = true;
    am->rejected = false;
    am->sctp_port = SDP_ANSWER_SCTP_PORT;
    am->max_message_size = SDP_ANSWER_MAX_MESSAGE_SIZE;
}

static int answer_media(nego_t *g, const sdp_media_t *m, sdp_answer_media_t *am)
{
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
        return answer_rtp(g, m, am);
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
        if (answer_media(&g, &offer->media[i], &answer->media[i]) < 0) {
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
 * (RFC 8445 §5.1.2.1); one foundation per address (§5.1.1.3). */
static void write_candidates(buf_t *out, const sdp_answer_t *a)
{
    for (int i = 0; i < a->n_candidates; i++)
        buf_printf(out, "a=candidate:%d 1 udp %u %s %u typ host\r\n", i + 1,
                   (unsigned)sdp_candidate_priority(126, 65535u - (unsigned)i, 1), a->candidates[i].ip,
                   (unsigned)a->candidates[i].port);
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
        buf_printf(out, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", am->kind_name, am->proto, am->reject_fmt);
        if (am->mid[0])
            buf_printf(out, "a=mid:%s\r\n", am->mid);
        return;
    }
    if (am->kind != SDP_KIND_APPLICATION) {
        write_rtp_media(out, a, am);
        return;
    }
    buf_printf(out, "m=application 9 %s webrtc-datachannel\r\n", am->proto);
    write_transport(out, a, am);
    buf_printf(out, "a=sctp-port:%d\r\na=max-message-size:%llu\r\n", am->sctp_port,
               (unsigned long long)am->max_message_size);
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
