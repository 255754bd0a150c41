/*
 * offer.h — the client core's side of SDP: writes the offer of one
 * PeerConnection (audio and/or video, send or receive, optional simulcast
 * with rids) the way a browser writes it (unified plan, BUNDLE, rtcp-mux,
 * DTLS actpass, one host candidate), and reads an answer into what the
 * transport needs (ICE credentials and candidates, fingerprint, DTLS role,
 * per m-line the chosen payload types, SSRCs and header extension ids) with
 * src/media/sdp's parser.
 *
 * Video is VP8 or H.264 (packetization mode 1): a sender offers the one it
 * sends, a receiver both.
 *
 * Pure functions, any thread.  Does not: renegotiate, trickle, or accept
 * offers (the client always offers; irtcd always answers).
 */
#ifndef IRTC_CLIENT_OFFER_H
#define IRTC_CLIENT_OFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define IC_MAX_LAYERS 3
#define IC_PT_OPUS 111
#define IC_PT_VP8 96
#define IC_PT_VP8_RTX 97
#define IC_PT_H264 102 /* packetization-mode 1, constrained baseline 3.1 (as Chromium's 102) */
#define IC_PT_H264_RTX 103

/* Header extension ids the client offers (and expects echoed). */
enum {
    IC_EXT_MID = 1,
    IC_EXT_ABS_SEND_TIME = 2,
    IC_EXT_TWCC = 3,
    IC_EXT_AUDIO_LEVEL = 4,
    IC_EXT_RID = 5,
    IC_EXT_RRID = 6,
};

typedef struct {
    bool audio, video;
    bool send; /* sendonly; else recvonly */
    uint32_t audio_ssrc;
    bool h264;         /* send: H.264 instead of VP8 (a receiver offers both, VP8 first) */
    unsigned n_layers; /* video encodings; > 1 writes a=rid/a=simulcast and no a=ssrc */
    uint32_t video_ssrc[IC_MAX_LAYERS];
    const char *ufrag, *pwd;
    const char *fingerprint; /* sha-256, "AB:CD:..." */
    const char *cname;
    const char *cand_ip; /* our host candidate; NULL: none */
    uint16_t cand_port;
    uint64_t session_id;
} ic_offer_t;

/* The rid of layer i of n (the smallest first): "q", "h", "f". */
const char *ic_layer_rid(unsigned i, unsigned n);

/* Appends the offer (CRLF line ends). */
void ic_offer_write(buf_t *out, const ic_offer_t *o);

typedef enum { IC_SETUP_ACTIVE, IC_SETUP_PASSIVE } ic_setup_t;

typedef struct {
    bool present, rejected;
    int pt, rtx_pt; /* -1: none */
    uint32_t clock;
    uint32_t ssrc, rtx_ssrc; /* what the answerer sends (a=ssrc, FID group); 0: not given */
    uint8_t ext_mid, ext_twcc, ext_rid, ext_abs_send_time;
    bool nack, pli, transport_cc;
    char mid[33];
    char codec[32];
} ic_answer_media_t;

typedef struct {
    char ufrag[257], pwd[257];
    char fp_alg[16], fp[192];
    ic_setup_t setup; /* the answerer's role: passive (irtcd) makes us the DTLS client */
    bool ice_lite;
    int n_cand;
    struct {
        char ip[46];
        uint16_t port;
    } cand[4];
    ic_answer_media_t audio, video;
    /* Every m-line in order, for writing an answer to this description:
     * which is 0 (the audio above), 1 (the video above) or -1 (refused). */
    int n_m;
    struct {
        int which;
        char kind[16], proto[32], fmt[32], mid[33];
    } m[8];
    int opus_channels;
} ic_answer_t;

/* Parses an answer.  IRTC_OK, or IRTC_EINVAL with *why (not SDP, no ICE
 * credentials, no fingerprint, no usable candidate, setup actpass). */
int ic_answer_parse(const char *sdp, size_t len, ic_answer_t *out, const char **why);
/* The same for a peer's offer (Janus offers to its subscribers): a=setup
 * actpass is accepted and makes us the DTLS client (setup is then PASSIVE,
 * the role the peer takes). */
int ic_offer_parse(const char *sdp, size_t len, ic_answer_t *out, const char **why);

/* Our recvonly answer to a parsed offer: its first audio and video m-lines
 * with their chosen codec (rtx and the mid and transport-cc extensions kept
 * with the offer's ids), everything else refused with port 0; a=setup:active,
 * our credentials and host candidate as in ic_offer_t (media fields unused). */
void ic_answer_write(buf_t *out, const ic_answer_t *offer, const ic_offer_t *ours);

#endif
