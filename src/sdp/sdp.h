/*
 * sdp.h — SDP offer/answer for the SFU (RFC 8866, RFC 3264, JSEP RFC 8829,
 * unified plan): parse a client's offer into fixed-size structs, choose what
 * the SFU accepts (codec, rtx, feedback, header extensions, direction,
 * simulcast, data channel) and write the answer.
 *
 * The SFU is always the answerer, ICE-lite, DTLS server (a=setup:passive),
 * with BUNDLE and rtcp-mux required.  A client PeerConnection carries at most
 * one audio and one video m-line (publish: sendonly; subscription: recvonly)
 * and optionally one data channel m-line; anything else is rejected with
 * port 0 in the answer, as RFC 3264 §6 requires.
 *
 * Control thread only; pure functions over caller-owned structs: no locks, no
 * logging, no heap allocation except the answer text's buf_t.
 *
 * Does not: offer, renegotiate with state, gather candidates, trickle ICE,
 * verify DTLS fingerprints or keep any per-peer state.
 *
 * Its own folder, below src/sfu and depending on src/core only, so that any
 * control-side user (the SFU, a C client library) can share it.  Parser in
 * sdp_parse.c, negotiator in sdp_negotiate.c, writer in sdp_write.c.
 */
#ifndef IRTC_SDP_H
#define IRTC_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/*
 * Limits.  An offer exceeding any of them fails with IRTC_EINVAL and a *why
 * naming the limit.  The numbers cover what Chromium (≈30 video payload
 * types, 11 extensions, 3 simulcast layers), Firefox and aiortc offer, with
 * room to spare.  sdp_session_t is large (a few hundred KB): allocate it with
 * xcalloc or make it static, never put it on a worker's stack.
 */
#define SDP_MAX_MEDIA 48      /* m= lines: one receiving PeerConnection carries every subscription of a room */
#define SDP_MAX_PT 64         /* payload types on one m= line */
#define SDP_MAX_EXT 16        /* a=extmap lines per m= line (and at session level) */
#define SDP_MAX_SSRC 12       /* distinct SSRCs in a=ssrc lines per m= line */
#define SDP_MAX_SSRC_GROUP 6  /* a=ssrc-group lines per m= line */
#define SDP_MAX_GROUP_SSRC 8  /* SSRCs in one a=ssrc-group */
#define SDP_MAX_RID 8         /* a=rid lines per m= line; also simulcast streams per direction */
#define SDP_MAX_FINGERPRINT 4 /* a=fingerprint lines per level */
#define SDP_MAX_CANDIDATES 4  /* server host candidates written into an answer */
#define SDP_MID_MAX 32        /* RFC 8843 mid token */
#define SDP_RID_MAX 16        /* RFC 8851 rid-id; 16 fits a one-byte RTP header extension */
#define SDP_ICE_UFRAG_MAX 256 /* RFC 8839 §5.4: ufrag 4..256, pwd 22..256 ice-chars */
#define SDP_ICE_PWD_MAX 256
#define SDP_ICE_OPTIONS_MAX 128
#define SDP_FP_ALG_MAX 15     /* "sha-256" ... */
#define SDP_FP_VALUE_MAX 191  /* 64 bytes (sha-512) as "AB:CD:..." */
#define SDP_PROTO_MAX 31      /* "UDP/TLS/RTP/SAVPF" */
#define SDP_TOKEN_MAX 31      /* media kind name, codec name, non-RTP fmt, ssrc-group semantics */
#define SDP_FMTP_MAX 255      /* raw a=fmtp parameters */
#define SDP_URI_MAX 255       /* a=extmap URI */
#define SDP_CNAME_MAX 255     /* RFC 3550 §6.5: an SDES item is at most 255 octets */
#define SDP_MSID_MAX 64       /* RFC 8830: msid-id and msid-appdata are 1*64 token-char */
#define SDP_SESSION_ID_MAX 31 /* o= sess-id: decimal digits */
#define SDP_ADDR_MAX 45       /* INET6_ADDRSTRLEN - 1 */

typedef enum {
    SDP_KIND_OTHER = 0, /* "text", "message", ... (always rejected) */
    SDP_KIND_AUDIO,
    SDP_KIND_VIDEO,
    SDP_KIND_APPLICATION,
} sdp_kind_t;

/* Media direction (RFC 3264 §5.1). SDP_DIR_NONE only means "not given". */
typedef enum {
    SDP_DIR_NONE = 0,
    SDP_DIR_SENDRECV,
    SDP_DIR_SENDONLY,
    SDP_DIR_RECVONLY,
    SDP_DIR_INACTIVE,
} sdp_dir_t;

/* a=setup (RFC 4145 §4). Absent means active (RFC 4145's default). */
typedef enum {
    SDP_SETUP_NONE = 0,
    SDP_SETUP_ACTPASS,
    SDP_SETUP_ACTIVE,
    SDP_SETUP_PASSIVE,
    SDP_SETUP_HOLDCONN,
} sdp_setup_t;

/* The RTCP feedback types the SFU understands (a=rtcp-fb, RFC 4585 §4.2),
 * as a bit mask; any other type is parsed and ignored. */
enum {
    SDP_FB_NACK = 1u << 0,         /* nack */
    SDP_FB_NACK_PLI = 1u << 1,     /* nack pli */
    SDP_FB_CCM_FIR = 1u << 2,      /* ccm fir */
    SDP_FB_TRANSPORT_CC = 1u << 3, /* transport-cc */
    SDP_FB_GOOG_REMB = 1u << 4,    /* goog-remb */
};

/* One payload type of an m= line with what a=rtpmap / a=fmtp / a=rtcp-fb say
 * about it.  Integer fmtp fields are -1 when the parameter is absent. */
typedef struct {
    int pt; /* 0..127 */
    bool has_rtpmap;
    char name[SDP_TOKEN_MAX + 1]; /* encoding name as offered ("opus", "VP8") */
    uint32_t clock;               /* Hz */
    int channels;                 /* 0 when not given */
    bool has_fmtp;
    char fmtp[SDP_FMTP_MAX + 1]; /* raw parameters after "a=fmtp:<pt> " */
    int apt;                     /* rtx (RFC 4588): associated payload type */
    bool has_profile_level_id;
    uint32_t profile_level_id;   /* H.264 (RFC 6184): 3 bytes, e.g. 0x42e01f */
    int packetization_mode;      /* H.264: 0..2 */
    int level_asymmetry_allowed; /* H.264: 0/1 */
    int useinbandfec;            /* Opus (RFC 7587): 0/1 */
    int stereo;                  /* Opus: 0/1 */
    int profile_id;              /* VP9: 0..3 */
    unsigned fb;                 /* SDP_FB_* */
} sdp_codec_t;

typedef struct {
    int id;        /* 1..255 (RFC 8285 §5) */
    sdp_dir_t dir; /* SDP_DIR_NONE when not given */
    char uri[SDP_URI_MAX + 1];
} sdp_extmap_t;

typedef struct {
    uint32_t ssrc;
    char cname[SDP_CNAME_MAX + 1];      /* "" when absent */
    char msid_stream[SDP_MSID_MAX + 1]; /* from "a=ssrc:<n> msid:<stream> [<track>]" */
    char msid_track[SDP_MSID_MAX + 1];
} sdp_ssrc_t;

typedef struct {
    char semantics[SDP_TOKEN_MAX + 1]; /* "FID", "SIM", "FEC-FR", ... */
    int n_ssrc;
    uint32_t ssrc[SDP_MAX_GROUP_SSRC];
} sdp_ssrc_group_t;

typedef struct {
    char id[SDP_RID_MAX + 1];
    sdp_dir_t dir; /* SDP_DIR_SENDONLY for "send", SDP_DIR_RECVONLY for "recv" */
} sdp_rid_t;

/* One simulcast stream of a=simulcast (RFC 8853): its first alternative. */
typedef struct {
    char rid[SDP_RID_MAX + 1];
    bool paused; /* "~" prefix */
} sdp_sim_stream_t;

typedef struct {
    char alg[SDP_FP_ALG_MAX + 1];     /* lower case: "sha-256" */
    char value[SDP_FP_VALUE_MAX + 1]; /* as offered: "7B:8B:..." */
} sdp_fingerprint_t;

/* Transport attributes; media level inherits what it lacks from session level. */
typedef struct {
    char ice_ufrag[SDP_ICE_UFRAG_MAX + 1]; /* "" when absent */
    char ice_pwd[SDP_ICE_PWD_MAX + 1];
    char ice_options[SDP_ICE_OPTIONS_MAX + 1];
    int n_fingerprint;
    sdp_fingerprint_t fingerprint[SDP_MAX_FINGERPRINT];
    sdp_setup_t setup;
} sdp_transport_t;

typedef struct {
    sdp_kind_t kind;
    char kind_name[SDP_TOKEN_MAX + 1]; /* as written on the m= line */
    int port;                          /* 0 = rejected / disabled by the offerer */
    char proto[SDP_PROTO_MAX + 1];
    bool is_rtp;                 /* proto carries RTP: fmt list is payload types */
    char fmt[SDP_TOKEN_MAX + 1]; /* non-RTP: the first fmt ("webrtc-datachannel") */
    char mid[SDP_MID_MAX + 1];   /* "" when absent */
    sdp_dir_t dir;               /* after inheritance; SENDRECV when nothing says */
    bool rtcp_mux, rtcp_mux_only, rtcp_rsize, bundle_only;
    sdp_transport_t tr; /* after inheritance from session level */

    int n_pt;
    sdp_codec_t pt[SDP_MAX_PT]; /* in m= line order (the offerer's preference) */
    int n_ext;
    sdp_extmap_t ext[SDP_MAX_EXT];
    int n_ssrc;
    sdp_ssrc_t ssrc[SDP_MAX_SSRC];
    int n_ssrc_group;
    sdp_ssrc_group_t ssrc_group[SDP_MAX_SSRC_GROUP];
    int n_rid;
    sdp_rid_t rid[SDP_MAX_RID];
    int n_sim_send, n_sim_recv; /* a=simulcast streams per direction */
    sdp_sim_stream_t sim_send[SDP_MAX_RID];
    sdp_sim_stream_t sim_recv[SDP_MAX_RID];
    char msid_stream[SDP_MSID_MAX + 1]; /* a=msid (RFC 8830) */
    char msid_track[SDP_MSID_MAX + 1];
    int n_candidates; /* a=candidate lines (content not interpreted) */
    bool end_of_candidates;
    int sctp_port;             /* a=sctp-port (or a=sctpmap's port), 0 when absent */
    bool sctpmap_dc;           /* a=sctpmap:<port> webrtc-datachannel (the pre-RFC 8841 form aiortc 1.4 writes) */
    uint64_t max_message_size; /* a=max-message-size, 0 when absent */
} sdp_media_t;

typedef struct {
    char session_id[SDP_SESSION_ID_MAX + 1];
    bool ice_lite, extmap_allow_mixed;
    sdp_transport_t tr; /* session-level attributes only */
    sdp_dir_t dir;      /* session-level direction, NONE when absent */
    int n_ext;          /* session-level a=extmap (apply to every m= line) */
    sdp_extmap_t ext[SDP_MAX_EXT];
    int n_bundle_groups; /* a=group:BUNDLE lines; only the first is kept */
    int n_bundle;
    char bundle[SDP_MAX_MEDIA][SDP_MID_MAX + 1];
    int n_media;
    sdp_media_t media[SDP_MAX_MEDIA];
} sdp_session_t;

/*
 * Parses an SDP of len bytes (need not be NUL-terminated; CRLF or LF line
 * ends) into *out, which it overwrites.  Returns IRTC_OK, or IRTC_EINVAL with
 * *why (if why is non-NULL) a static string naming the offending line type or
 * limit.  Unknown line types and attributes are ignored (RFC 8866 §5).
 */
int sdp_parse(const char *text, size_t len, sdp_session_t *out, const char **why);

/* The payload type pt of m, or NULL. */
const sdp_codec_t *sdp_media_find_pt(const sdp_media_t *m, int pt);
/* "sendrecv", "sendonly", "recvonly", "inactive" or "" for SDP_DIR_NONE. */
const char *sdp_dir_name(sdp_dir_t dir);

/* ---- negotiation ---------------------------------------------------------- */

typedef enum {
    SDP_VIDEO_VP8 = 0,
    SDP_VIDEO_H264, /* packetization-mode=1, constrained baseline 42e01f / 42001f */
    SDP_VIDEO_VP9,  /* profile-id=0 (or absent) */
    SDP_VIDEO_CODEC_COUNT,
} sdp_video_codec_t;

/* What the server sends on a sendonly/sendrecv m-line (subscription). */
typedef struct {
    uint32_t ssrc;           /* 0: write no a=ssrc lines */
    uint32_t rtx_ssrc;       /* 0: no rtx stream (used only if rtx was negotiated) */
    const char *cname;       /* NULL: no cname line */
    const char *msid_stream; /* NULL: no a=msid / msid: lines */
    const char *msid_track;
} sdp_send_t;

typedef struct {
    const char *ip; /* IPv4 or IPv6 literal */
    uint16_t port;
    uint16_t tcp_port; /* ICE-TCP passive (RFC 6544) on this address too; 0 = none */
} sdp_candidate_t;

typedef struct {
    /* Video codecs in server preference; n_video_order 0 means VP8, H264, VP9.
     * A codec not listed is never chosen. */
    int n_video_order;
    sdp_video_codec_t video_order[SDP_VIDEO_CODEC_COUNT];
    /* Answer direction for a sendrecv m-line; SDP_DIR_NONE refuses the offer. */
    sdp_dir_t sendrecv_as;
    bool reject_audio, reject_video; /* answer port 0 for that kind */
    bool accept_data;                /* accept one webrtc-datachannel m-line */
    uint64_t max_message_size;       /* its a=max-message-size (0: 262144) */
    /* The server's identity, copied into the answer. */
    uint64_t session_id;
    const char *ice_ufrag, *ice_pwd; /* 4..256 / 22..256 ice-chars */
    const char *fingerprint;         /* sha-256 of the DTLS certificate, "AB:CD:..." (32 bytes) */
    int n_candidates;
    sdp_candidate_t candidates[SDP_MAX_CANDIDATES];
    sdp_send_t audio_send, video_send;
    /* Per m-line rules, for a PeerConnection that carries many tracks and is
     * renegotiated (media[i] for the offer's m-line i; m-lines past n_media
     * are rejected).  NULL: the rules above (at most one audio and one
     * video m-line, reject_audio / reject_video, audio_send / video_send). */
    const struct sdp_media_policy *media;
    int n_media;
} sdp_policy_t;

typedef enum {
    SDP_ML_REJECT = 0, /* answered with port 0 */
    SDP_ML_RECV,       /* the client sends on it: answered recvonly (sendonly or sendrecv offered) */
    SDP_ML_SEND,       /* the server sends on it: answered sendonly (recvonly or sendrecv offered) */
} sdp_ml_mode_t;

typedef struct sdp_media_policy {
    sdp_ml_mode_t mode;
    int pt;            /* >= 0: answer with exactly this payload type of the offer (a renegotiated
                          m-line keeps its codec), rejected if the offer lacks it; -1: choose */
    int n_video_order; /* 0: the policy's */
    sdp_video_codec_t video_order[SDP_VIDEO_CODEC_COUNT];
    sdp_send_t send; /* SDP_ML_SEND */
} sdp_media_policy_t;

typedef struct {
    int id;
    const char *uri; /* one of the SFU's static URI strings */
} sdp_answer_ext_t;

#define SDP_ANSWER_MAX_EXT 6 /* the header extensions the SFU keeps */

typedef struct {
    sdp_kind_t kind;
    char kind_name[SDP_TOKEN_MAX + 1];
    char proto[SDP_PROTO_MAX + 1];
    char mid[SDP_MID_MAX + 1];
    bool rejected;                      /* written with port 0 */
    char reject_fmt[SDP_TOKEN_MAX + 1]; /* the fmt a rejected m= line carries */
    sdp_dir_t dir;                      /* RTP only */
    bool rtcp_rsize;
    /* The chosen codec (RTP, accepted). */
    int pt;
    char name[SDP_TOKEN_MAX + 1];
    uint32_t clock;
    int channels;
    char fmtp[SDP_FMTP_MAX + 1]; /* "" = no a=fmtp line */
    int rtx_pt;                  /* -1 = none */
    unsigned fb;                 /* SDP_FB_* kept for pt */
    int n_ext;
    sdp_answer_ext_t ext[SDP_ANSWER_MAX_EXT]; /* with the offer's ids */
    /* Sending side (dir SENDONLY or SENDRECV). */
    uint32_t ssrc, rtx_ssrc;
    char cname[SDP_CNAME_MAX + 1];
    char msid_stream[SDP_MSID_MAX + 1];
    char msid_track[SDP_MSID_MAX + 1];
    /* Simulcast the server receives: a=rid:<id> recv + a=simulcast:recv. */
    int n_rid;
    char rid[SDP_MAX_RID][SDP_RID_MAX + 1];
    /* Data channel (application, accepted). */
    int sctp_port;
    uint64_t max_message_size;
} sdp_answer_media_t;

typedef struct {
    uint64_t session_id;
    char ice_ufrag[SDP_ICE_UFRAG_MAX + 1];
    char ice_pwd[SDP_ICE_PWD_MAX + 1];
    char fingerprint[SDP_FP_VALUE_MAX + 1]; /* sha-256 */
    int n_candidates;
    struct {
        char ip[SDP_ADDR_MAX + 1];
        uint16_t port, tcp_port; /* tcp_port 0: no ICE-TCP candidate */
    } candidates[SDP_MAX_CANDIDATES];
    int n_bundle; /* accepted mids, in the offer's BUNDLE order */
    char bundle[SDP_MAX_MEDIA][SDP_MID_MAX + 1];
    /* The client's transport, for the ICE and DTLS layers. */
    char remote_ufrag[SDP_ICE_UFRAG_MAX + 1];
    char remote_pwd[SDP_ICE_PWD_MAX + 1];
    sdp_fingerprint_t remote_fingerprint; /* sha-256 when offered, else the first */
    int n_media;                          /* == the offer's n_media */
    sdp_answer_media_t media[SDP_MAX_MEDIA];
} sdp_answer_t;

/*
 * Builds the answer to offer under policy: per m-line the first codec the
 * policy accepts in the server's preference order (audio: opus/48000/2;
 * video: policy.video_order), its rtx, the supported rtcp-fb and header
 * extensions (with the offer's ids), the mirrored direction and simulcast.
 * Returns IRTC_OK, or IRTC_EINVAL with *why: bad policy, nothing acceptable,
 * no BUNDLE group covering every accepted m-line, no rtcp-mux, missing ICE
 * credentials or fingerprint, setup other than actpass/active, a refused
 * sendrecv, or an ICE-lite offerer.
 */
int sdp_negotiate(const sdp_session_t *offer, const sdp_policy_t *policy, sdp_answer_t *answer, const char **why);

/* Appends the complete answer SDP (CRLF line ends) to out. */
void sdp_write_answer(buf_t *out, const sdp_answer_t *a);

/* ICE candidate priority (RFC 8445 §5.1.2.1): type_pref 0..126 (host 126),
 * local_pref 0..65535, component 1..256. */
uint32_t sdp_candidate_priority(unsigned type_pref, unsigned local_pref, unsigned component);

#endif
