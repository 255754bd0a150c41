/*
 * test_sdp.c — src/sdp against offers as Chromium (M114-era, unified plan)
 * and aiortc 1.4 write them: every parsed field, the negotiated choices, the
 * written answer (exact lines, CRLF, and a round trip through our own
 * parser), every refusal, every parse error, and truncated / mutated /
 * random input.  Inputs are copied into exact-size heap blocks so ASan sees
 * any read past len.
 */
#include "sdp/sdp.h"

#include <stdlib.h>

#include "core/buf.h"
#include "core/common.h"
#include "unit/tap.h"

/* ---- offers ---------------------------------------------------------------- */

/* One SDP line per source line reads better than packed literals. */
/* clang-format off */

#define FP_CHROME                                                                                                      \
    "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"
#define CHROME_UFRAG "Wd6c"
#define CHROME_PWD "0Cn6mVKfg0mj3VbB/GEfwa1S"
#define STREAM "3e9a1d5c-2f6b-4f43-9d2a-8f0c6a1b7e55"
#define AUDIO_TRACK "b1c0f1e6-8a43-4d8e-9f55-0f6b1b2d3c4e"
#define VIDEO_TRACK "5d6a2c7e-1b9f-4e3a-8c2d-7f0e9a1b4c6d"

#define CHROME_SESSION                                                                                                 \
    "v=0\r\n"                                                                                                          \
    "o=- 4215775240449105457 2 IN IP4 127.0.0.1\r\n"                                                                   \
    "s=-\r\n"                                                                                                          \
    "t=0 0\r\n"

/* Chrome writes these per m= section, right after the m= line. */
#define CHROME_TRANSPORT(mid)                                                                                          \
    "c=IN IP4 0.0.0.0\r\n"                                                                                             \
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"                                                                                      \
    "a=ice-ufrag:" CHROME_UFRAG "\r\n"                                                                                 \
    "a=ice-pwd:" CHROME_PWD "\r\n"                                                                                     \
    "a=ice-options:trickle\r\n"                                                                                        \
    "a=fingerprint:sha-256 " FP_CHROME "\r\n"                                                                          \
    "a=setup:actpass\r\n"                                                                                              \
    "a=mid:" mid "\r\n"

#define CHROME_AUDIO_M "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
#define CHROME_AUDIO_EXT                                                                                               \
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"                                                       \
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"                                        \
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"                         \
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
#define CHROME_AUDIO_CODECS                                                                                            \
    "a=rtpmap:111 opus/48000/2\r\n"                                                                                    \
    "a=rtcp-fb:111 transport-cc\r\n"                                                                                   \
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"                                                                        \
    "a=rtpmap:63 red/48000/2\r\n"                                                                                      \
    "a=fmtp:63 111/111\r\n"                                                                                            \
    "a=rtpmap:9 G722/8000\r\n"                                                                                         \
    "a=rtpmap:0 PCMU/8000\r\n"                                                                                         \
    "a=rtpmap:8 PCMA/8000\r\n"                                                                                         \
    "a=rtpmap:13 CN/8000\r\n"                                                                                          \
    "a=rtpmap:110 telephone-event/48000\r\n"                                                                           \
    "a=rtpmap:126 telephone-event/8000\r\n"

#define CHROME_VIDEO_M                                                                                                 \
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 112 113 37 38 45 46 98 99 100 " \
    "101 114 115 116\r\n"
#define CHROME_VIDEO_EXT                                                                                               \
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n"                                                               \
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"                                        \
    "a=extmap:13 urn:3gpp:video-orientation\r\n"                                                                       \
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"                         \
    "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n"                                        \
    "a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type\r\n"                                   \
    "a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing\r\n"                                         \
    "a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space\r\n"                                          \
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"                                                               \
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"                                                    \
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"
#define FB5(pt)                                                                                                        \
    "a=rtcp-fb:" #pt " goog-remb\r\n"                                                                                  \
    "a=rtcp-fb:" #pt " transport-cc\r\n"                                                                               \
    "a=rtcp-fb:" #pt " ccm fir\r\n"                                                                                    \
    "a=rtcp-fb:" #pt " nack\r\n"                                                                                       \
    "a=rtcp-fb:" #pt " nack pli\r\n"
#define RTX(pt, apt) "a=rtpmap:" #pt " rtx/90000\r\na=fmtp:" #pt " apt=" #apt "\r\n"
#define H264(pt, pm, plid)                                                                                             \
    "a=rtpmap:" #pt " H264/90000\r\n" FB5(pt)                                                                          \
    "a=fmtp:" #pt " level-asymmetry-allowed=1;packetization-mode=" #pm ";profile-level-id=" plid "\r\n"
#define CHROME_VIDEO_CODECS                                                                                            \
    "a=rtpmap:96 VP8/90000\r\n" FB5(96)                                                                                 \
    RTX(97, 96)                                                                                                        \
    H264(102, 1, "42001f") RTX(103, 102)                                                                               \
    H264(104, 0, "42001f") RTX(105, 104)                                                                               \
    H264(106, 1, "42e01f") RTX(107, 106)                                                                               \
    H264(108, 0, "42e01f") RTX(109, 108)                                                                               \
    H264(127, 1, "4d001f") RTX(125, 127)                                                                               \
    H264(39, 0, "4d001f") RTX(40, 39)                                                                                  \
    H264(112, 1, "64001f") RTX(113, 112)                                                                               \
    H264(37, 0, "64001f") RTX(38, 37)                                                                                  \
    "a=rtpmap:45 AV1/90000\r\n" FB5(45) "a=fmtp:45 level-idx=5;profile=0;tier=0\r\n"                                  \
    RTX(46, 45)                                                                                                        \
    "a=rtpmap:98 VP9/90000\r\n" FB5(98) "a=fmtp:98 profile-id=0\r\n"                                                  \
    RTX(99, 98)                                                                                                        \
    "a=rtpmap:100 VP9/90000\r\n" FB5(100) "a=fmtp:100 profile-id=2\r\n"                                               \
    RTX(101, 100)                                                                                                      \
    "a=rtpmap:114 red/90000\r\n"                                                                                       \
    RTX(115, 114)                                                                                                      \
    "a=rtpmap:116 ulpfec/90000\r\n"

/* getUserMedia + addTransceiver(track, {direction: 'sendonly'}) for both. */
#define CHROME_AUDIO_SEND                                                                                              \
    "a=sendonly\r\n"                                                                                                   \
    "a=msid:" STREAM " " AUDIO_TRACK "\r\n"                                                                            \
    "a=rtcp-mux\r\n"                                                                                                   \
    CHROME_AUDIO_CODECS                                                                                                \
    "a=ssrc:1393937212 cname:Hx2h0jnhUVSZkzD6\r\n"                                                                     \
    "a=ssrc:1393937212 msid:" STREAM " " AUDIO_TRACK "\r\n"
#define CHROME_VIDEO_SEND_HEAD                                                                                         \
    "a=sendonly\r\n"                                                                                                   \
    "a=msid:" STREAM " " VIDEO_TRACK "\r\n"                                                                            \
    "a=rtcp-mux\r\n"                                                                                                   \
    "a=rtcp-rsize\r\n"                                                                                                 \
    CHROME_VIDEO_CODECS
#define CHROME_VIDEO_SSRCS                                                                                             \
    "a=ssrc-group:FID 2873445410 1120398811\r\n"                                                                       \
    "a=ssrc:2873445410 cname:Hx2h0jnhUVSZkzD6\r\n"                                                                     \
    "a=ssrc:2873445410 msid:" STREAM " " VIDEO_TRACK "\r\n"                                                            \
    "a=ssrc:1120398811 cname:Hx2h0jnhUVSZkzD6\r\n"                                                                     \
    "a=ssrc:1120398811 msid:" STREAM " " VIDEO_TRACK "\r\n"

static const char CHROME_PUBLISH[] =
    CHROME_SESSION
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS " STREAM "\r\n"
    CHROME_AUDIO_M
    CHROME_TRANSPORT("0")
    CHROME_AUDIO_EXT
    CHROME_AUDIO_SEND
    CHROME_VIDEO_M
    CHROME_TRANSPORT("1")
    CHROME_VIDEO_EXT
    CHROME_VIDEO_SEND_HEAD
    CHROME_VIDEO_SSRCS;

/* addTransceiver('audio'|'video', {direction: 'recvonly'}): no msid, no ssrc. */
static const char CHROME_SUBSCRIBE[] =
    CHROME_SESSION
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    CHROME_AUDIO_M
    CHROME_TRANSPORT("0")
    CHROME_AUDIO_EXT
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    CHROME_AUDIO_CODECS
    CHROME_VIDEO_M
    CHROME_TRANSPORT("1")
    CHROME_VIDEO_EXT
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    CHROME_VIDEO_CODECS;

/* sendEncodings [{rid:'q', scaleResolutionDownBy:4}, {rid:'h', ...:2}, {rid:'f'}]:
 * rids instead of SSRCs. */
static const char CHROME_SIMULCAST[] =
    CHROME_SESSION
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS " STREAM "\r\n"
    CHROME_AUDIO_M
    CHROME_TRANSPORT("0")
    CHROME_AUDIO_EXT
    CHROME_AUDIO_SEND
    CHROME_VIDEO_M
    CHROME_TRANSPORT("1")
    CHROME_VIDEO_EXT
    CHROME_VIDEO_SEND_HEAD
    "a=rid:q send\r\n"
    "a=rid:h send\r\n"
    "a=rid:f send\r\n"
    "a=simulcast:send q;h;f\r\n";

/* Gathered local description (non-trickle) with createDataChannel('chat'):
 * the default address and the candidate appear in every m= section. */
#define CHROME_GATHERED(mid)                                                                                           \
    "c=IN IP4 127.0.0.1\r\n"                                                                                           \
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"                                                                                      \
    "a=candidate:1467250027 1 udp 2122260223 127.0.0.1 54400 typ host generation 0 network-id 1\r\n"                  \
    "a=ice-ufrag:" CHROME_UFRAG "\r\n"                                                                                 \
    "a=ice-pwd:" CHROME_PWD "\r\n"                                                                                     \
    "a=ice-options:trickle\r\n"                                                                                        \
    "a=fingerprint:sha-256 " FP_CHROME "\r\n"                                                                          \
    "a=setup:actpass\r\n"                                                                                              \
    "a=mid:" mid "\r\n"
static const char CHROME_DATA[] =
    CHROME_SESSION
    "a=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS " STREAM "\r\n"
    "m=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    CHROME_GATHERED("0")
    CHROME_AUDIO_EXT
    CHROME_AUDIO_SEND
    "m=video 54400 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 112 113 37 38 45 46 98 99 "
    "100 101 114 115 116\r\n"
    CHROME_GATHERED("1")
    CHROME_VIDEO_EXT
    CHROME_VIDEO_SEND_HEAD
    CHROME_VIDEO_SSRCS
    "m=application 54400 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    CHROME_GATHERED("2")
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

/* aiortc 1.4: sendrecv transceivers, transport attributes last, candidates
 * and end-of-candidates inline, three fingerprints. */
#define AIORTC_TRANSPORT                                                                                               \
    "a=candidate:6d6b0fe3c6a5a2ba1c0f4f3e1b1d9e53 1 udp 2130706431 127.0.0.1 44561 typ host\r\n"                       \
    "a=end-of-candidates\r\n"                                                                                          \
    "a=ice-ufrag:tV3h\r\n"                                                                                             \
    "a=ice-pwd:GmPZcXVyXnBfXNYSQ5ERbW\r\n"                                                                             \
    "a=fingerprint:sha-256 "                                                                                           \
    "0E:34:1B:9D:C1:07:5F:7C:62:2A:7B:E1:4A:41:13:4F:9C:70:16:1F:5E:47:E3:0C:9D:89:31:AF:7F:D4:6B:2E\r\n"              \
    "a=fingerprint:sha-384 "                                                                                           \
    "5A:11:C4:B8:0D:6F:22:93:AE:70:3C:E8:19:44:B2:61:0F:DA:87:3B:C5:12:6E:99:F0:4D:2B:A8:73:1C:E6:05:B7:48:9E:21:6C:" \
    "D3:80:5F:1A:C9:62:34:EF:07:9B:58\r\n"                                                                             \
    "a=fingerprint:sha-512 "                                                                                           \
    "C1:9E:2A:47:B0:5D:83:16:F4:6C:39:E2:0B:A5:71:D8:4E:93:2F:C6:18:7A:B3:5E:01:DC:68:94:27:F1:AB:3C:"                 \
    "E0:5B:72:19:8D:C4:36:AF:01:E7:5C:92:4B:28:D3:6F:B1:0A:87:E5:3D:49:F2:16:7C:AE:58:03:9B:D1:24:6E\r\n"              \
    "a=setup:actpass\r\n"
static const char AIORTC[] = "v=0\r\n"
                             "o=- 3885744440 3885744440 IN IP4 0.0.0.0\r\n"
                             "s=-\r\n"
                             "t=0 0\r\n"
                             "a=group:BUNDLE 0 1\r\n"
                             "a=msid-semantic:WMS *\r\n"
                             "m=audio 44561 UDP/TLS/RTP/SAVPF 96 0 8\r\n"
                             "c=IN IP4 127.0.0.1\r\n"
                             "a=sendrecv\r\n"
                             "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                             "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
                             "a=mid:0\r\n"
                             "a=msid:8c1e3f61-3cb4-4d5f-9a43-24e2d8f0c0b1 0b1d6f2e-7a5c-4b3e-8d9f-1c2a3b4c5d6e\r\n"
                             "a=rtcp:9 IN IP4 0.0.0.0\r\n"
                             "a=rtcp-mux\r\n"
                             "a=ssrc:2463345614 cname:e1d0c7a5-30b4-4c2b-9bb9-2f3dc8f1a0d7\r\n"
                             "a=rtpmap:96 opus/48000/2\r\n"
                             "a=rtpmap:0 PCMU/8000\r\n"
                             "a=rtpmap:8 PCMA/8000\r\n" AIORTC_TRANSPORT
                             "m=video 44561 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102\r\n"
                             "c=IN IP4 127.0.0.1\r\n"
                             "a=sendrecv\r\n"
                             "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                             "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
                             "a=mid:1\r\n"
                             "a=msid:8c1e3f61-3cb4-4d5f-9a43-24e2d8f0c0b1 4f5e6d7c-8b9a-4c1d-a2e3-f4a5b6c7d8e9\r\n"
                             "a=rtcp:9 IN IP4 0.0.0.0\r\n"
                             "a=rtcp-mux\r\n"
                             "a=ssrc-group:FID 1684331870 3506432457\r\n"
                             "a=ssrc:1684331870 cname:e1d0c7a5-30b4-4c2b-9bb9-2f3dc8f1a0d7\r\n"
                             "a=ssrc:3506432457 cname:e1d0c7a5-30b4-4c2b-9bb9-2f3dc8f1a0d7\r\n"
                             "a=rtpmap:97 VP8/90000\r\n"
                             "a=rtcp-fb:97 nack\r\n"
                             "a=rtcp-fb:97 nack pli\r\n"
                             "a=rtcp-fb:97 goog-remb\r\n"
                             "a=rtpmap:98 rtx/90000\r\n"
                             "a=fmtp:98 apt=97\r\n"
                             "a=rtpmap:99 H264/90000\r\n"
                             "a=rtcp-fb:99 nack\r\n"
                             "a=rtcp-fb:99 nack pli\r\n"
                             "a=rtcp-fb:99 goog-remb\r\n"
                             "a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
                             "a=rtpmap:100 rtx/90000\r\n"
                             "a=fmtp:100 apt=99\r\n"
                             "a=rtpmap:101 H264/90000\r\n"
                             "a=rtcp-fb:101 nack\r\n"
                             "a=rtcp-fb:101 nack pli\r\n"
                             "a=rtcp-fb:101 goog-remb\r\n"
                             "a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
                             "a=rtpmap:102 rtx/90000\r\n"
                             "a=fmtp:102 apt=101\r\n" AIORTC_TRANSPORT;


/* GStreamer 1.22 webrtcbin (Debian 12), audiotestsrc ! opusenc and
 * videotestsrc ! vp8enc, bundle-policy max-bundle: msid source attributes
 * carrying its cname ("user…@host-…"), the second m= line bundle-only on
 * port 0, no a=msid, sendrecv transceivers. */
static const char WEBRTCBIN[] =
    "v=0\r\n"
    "o=- 1023223724718293045 0 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=ice-options:trickle\r\n"
    "a=group:BUNDLE video0 audio1\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=ice-ufrag:EhdjtM5xFrl8ZQpr9KMoihU6AYR4VUy1\r\n"
    "a=ice-pwd:PzBPH/Bs6Ym1VHU6aQyp6j4yC/MN2e5o\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=sendrecv\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=framerate:30\r\n"
    "a=ssrc:3840682694 msid:user4230328522@host-d6d0cfd2 webrtctransceiver0\r\n"
    "a=ssrc:3840682694 cname:user4230328522@host-d6d0cfd2\r\n"
    "a=mid:video0\r\n"
    "a=fingerprint:sha-256 "
    "84:8F:06:F0:46:84:07:5D:E1:BA:F6:56:D6:F4:2F:A2:02:6E:23:6D:90:3C:33:16:E6:83:0B:27:65:37:F2:92\r\n"
    "a=rtcp-mux-only\r\n"
    "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=ice-ufrag:EhdjtM5xFrl8ZQpr9KMoihU6AYR4VUy1\r\n"
    "a=ice-pwd:PzBPH/Bs6Ym1VHU6aQyp6j4yC/MN2e5o\r\n"
    "a=bundle-only\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=sendrecv\r\n"
    "a=rtpmap:111 OPUS/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 sprop-stereo=0;sprop-maxcapturerate=48000\r\n"
    "a=ssrc:2836116602 msid:user4230328522@host-d6d0cfd2 webrtctransceiver1\r\n"
    "a=ssrc:2836116602 cname:user4230328522@host-d6d0cfd2\r\n"
    "a=mid:audio1\r\n"
    "a=fingerprint:sha-256 "
    "84:8F:06:F0:46:84:07:5D:E1:BA:F6:56:D6:F4:2F:A2:02:6E:23:6D:90:3C:33:16:E6:83:0B:27:65:37:F2:92\r\n"
    "a=rtcp-mux-only\r\n";

/* clang-format on */

/* ---- helpers ---------------------------------------------------------------- */

static const char SERVER_FP[] =
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

static int parse_n(const char *text, size_t n, sdp_session_t *s, const char **why)
{
    char *d = xmalloc(n ? n : 1);
    memcpy(d, text, n);
    int rc = sdp_parse(d, n, s, why);
    free(d);
    return rc;
}

static int parse(const char *text, sdp_session_t *s, const char **why)
{
    return parse_n(text, strlen(text), s, why);
}

/* s with occurrence nth (0-based; -1: all) of from replaced by to; aborts
 * when from is absent, so a stale edit cannot make a test pass vacuously. */
static char *subst(const char *s, const char *from, const char *to, int nth)
{
    buf_t b;
    buf_init(&b);
    const char *p = s, *hit;
    int k = 0;
    while ((hit = strstr(p, from)) != NULL) {
        buf_append(&b, p, (size_t)(hit - p));
        buf_puts(&b, nth < 0 || k == nth ? to : from);
        k++;
        p = hit + strlen(from);
    }
    if (k == 0 || (nth >= 0 && nth >= k)) {
        fprintf(stderr, "test bug: \"%s\" not found (%d times)\n", from, k);
        abort();
    }
    buf_puts(&b, p);
    return buf_steal(&b);
}

static bool contains(const char *hay, const char *needle)
{
    return hay && needle && strstr(hay, needle) != NULL;
}

/* A whole line of an SDP written with CRLF. */
static bool has_line(const char *sdp, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = sdp; (p = strstr(p, line)) != NULL; p++)
        if ((p == sdp || p[-1] == '\n') && strncmp(p + n, "\r\n", 2) == 0)
            return true;
    return false;
}

static bool all_crlf(const char *s, size_t n)
{
    if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return false;
        if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
            return false;
    }
    return true;
}

static void base_policy(sdp_policy_t *p)
{
    memset(p, 0, sizeof(*p));
    p->session_id = 42;
    p->ice_ufrag = "srvU";
    p->ice_pwd = "abcdefghijklmnopqrstuvwx";
    p->fingerprint = SERVER_FP;
    p->n_candidates = 2;
    p->candidates[0] = (sdp_candidate_t){"127.0.0.1", 40000, 40000}; /* and ICE-TCP on the same number */
    p->candidates[1] = (sdp_candidate_t){"::1", 40000, 40000};
    p->audio_send = (sdp_send_t){11111111, 44444444, "srvcname", "srvstream", "srvaudio"};
    p->video_send = (sdp_send_t){22222222, 33333333, "srvcname", "srvstream", "srvvideo"};
}

static const sdp_codec_t *pt_of(const sdp_media_t *m, int pt)
{
    static const sdp_codec_t none = {.pt = -1};
    const sdp_codec_t *c = sdp_media_find_pt(m, pt);
    return c ? c : &none;
}

static const sdp_extmap_t *ext_of(const sdp_media_t *m, int id)
{
    static const sdp_extmap_t none = {.id = -1, .uri = ""};
    for (int i = 0; i < m->n_ext; i++)
        if (m->ext[i].id == id)
            return &m->ext[i];
    return &none;
}

static int answer_ext_id(const sdp_answer_media_t *am, const char *uri)
{
    for (int i = 0; i < am->n_ext; i++)
        if (strcmp(am->ext[i].uri, uri) == 0)
            return am->ext[i].id;
    return -1;
}

/* Negotiates text under p and writes the answer into *out (caller frees). */
static int negotiate_text(const char *text, const sdp_policy_t *p, sdp_answer_t *a, char **out, const char **why)
{
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    int rc = parse(text, s, why);
    if (rc == IRTC_OK)
        rc = sdp_negotiate(s, p, a, why);
    if (rc == IRTC_OK && out) {
        buf_t b;
        buf_init(&b);
        sdp_write_answer(&b, a);
        *out = buf_steal(&b);
    }
    free(s);
    return rc;
}

/* The written answer, read back by our own parser, says what the struct says. */
static void check_roundtrip(const sdp_answer_t *a, const char *text, const char *label)
{
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    const char *why = NULL;
    char sid[32];
    int rc = parse(text, s, &why);
    is_int(rc, IRTC_OK, "%s: answer re-parses (%s)", label, why ? why : "ok");
    ok(all_crlf(text, strlen(text)), "%s: every answer line ends with CRLF", label);
    if (rc != IRTC_OK)
        goto out;
    snprintf(sid, sizeof(sid), "%llu", (unsigned long long)a->session_id);
    ok(s->ice_lite && strcmp(s->session_id, sid) == 0, "%s: ice-lite, o= session id", label);
    is_int(s->n_bundle, a->n_bundle, "%s: BUNDLE size", label);
    for (int i = 0; i < a->n_bundle && i < s->n_bundle; i++)
        is_str(s->bundle[i], a->bundle[i], "%s: BUNDLE mid %d", label, i);
    is_int(s->n_media, a->n_media, "%s: one answer m= line per offered one", label);
    for (int i = 0; i < a->n_media && i < s->n_media; i++) {
        const sdp_media_t *m = &s->media[i];
        const sdp_answer_media_t *am = &a->media[i];
        ok(strcmp(m->mid, am->mid) == 0 && strcmp(m->proto, am->proto) == 0 && m->kind == am->kind,
           "%s m%d: mid, proto, kind", label, i);
        is_int(m->port, am->rejected ? 0 : 9, "%s m%d: port", label, i);
        if (am->rejected)
            continue;
        ok(strcmp(m->tr.ice_ufrag, a->ice_ufrag) == 0 && strcmp(m->tr.ice_pwd, a->ice_pwd) == 0,
           "%s m%d: server ICE credentials", label, i);
        ok(m->tr.n_fingerprint == 1 && strcmp(m->tr.fingerprint[0].alg, "sha-256") == 0 &&
               strcmp(m->tr.fingerprint[0].value, a->fingerprint) == 0,
           "%s m%d: server fingerprint", label, i);
        is_int(m->tr.setup, SDP_SETUP_PASSIVE, "%s m%d: a=setup:passive", label, i);
        int n_tcp = 0;
        for (int k = 0; k < a->n_candidates; k++)
            n_tcp += a->candidates[k].tcp_port != 0;
        ok(m->n_candidates == a->n_candidates + n_tcp && m->end_of_candidates, "%s m%d: candidates", label, i);
        if (am->kind == SDP_KIND_APPLICATION) {
            ok(m->sctp_port == 5000 && m->max_message_size == 262144 && strcmp(m->fmt, "webrtc-datachannel") == 0,
               "%s m%d: sctp-port, max-message-size", label, i);
            continue;
        }
        ok(m->dir == am->dir && m->rtcp_mux && m->rtcp_rsize == am->rtcp_rsize, "%s m%d: direction %s, rtcp", label, i,
           sdp_dir_name(am->dir));
        is_int(m->n_pt, am->rtx_pt >= 0 ? 2 : 1, "%s m%d: payload types", label, i);
        const sdp_codec_t *c = pt_of(m, am->pt);
        ok(c->pt == am->pt && strcmp(c->name, am->name) == 0 && c->clock == am->clock && c->channels == am->channels &&
               strcmp(c->fmtp, am->fmtp) == 0 && c->fb == am->fb,
           "%s m%d: codec %s pt %d (rtpmap, fmtp, rtcp-fb)", label, i, am->name, am->pt);
        if (am->rtx_pt >= 0) {
            const sdp_codec_t *r = pt_of(m, am->rtx_pt);
            ok(strcmp(r->name, "rtx") == 0 && r->clock == am->clock && r->apt == am->pt, "%s m%d: rtx %d", label, i,
               am->rtx_pt);
        }
        is_int(m->n_ext, am->n_ext, "%s m%d: extmaps", label, i);
        for (int k = 0; k < am->n_ext; k++)
            is_str(ext_of(m, am->ext[k].id)->uri, am->ext[k].uri, "%s m%d: extmap %d", label, i, am->ext[k].id);
        bool sends = am->dir == SDP_DIR_SENDONLY || am->dir == SDP_DIR_SENDRECV;
        if (sends && am->ssrc) {
            is_int(m->n_ssrc, am->rtx_ssrc ? 2 : 1, "%s m%d: ssrcs", label, i);
            ok(m->ssrc[0].ssrc == am->ssrc && strcmp(m->ssrc[0].cname, am->cname) == 0 &&
                   strcmp(m->ssrc[0].msid_stream, am->msid_stream) == 0 && strcmp(m->msid_track, am->msid_track) == 0,
               "%s m%d: ssrc, cname, msid", label, i);
            if (am->rtx_ssrc)
                ok(m->n_ssrc_group == 1 && m->ssrc_group[0].ssrc[1] == am->rtx_ssrc, "%s m%d: FID group", label, i);
        }
        is_int(m->n_sim_recv, am->n_rid, "%s m%d: simulcast recv streams", label, i);
        for (int k = 0; k < am->n_rid && k < m->n_sim_recv; k++)
            ok(strcmp(m->sim_recv[k].rid, am->rid[k]) == 0 && m->rid[k].dir == SDP_DIR_RECVONLY, "%s m%d: rid %s recv",
               label, i, am->rid[k]);
    }
out:
    free(s);
}

/* ---- parsing real offers --------------------------------------------------- */

static void test_parse_publish(void)
{
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    const char *why = NULL;
    is_int(parse(CHROME_PUBLISH, s, &why), IRTC_OK, "Chrome publish offer parses");
    is_str(s->session_id, "4215775240449105457", "o= session id");
    ok(s->extmap_allow_mixed && !s->ice_lite, "a=extmap-allow-mixed; not ice-lite");
    ok(s->n_bundle_groups == 1 && s->n_bundle == 2 && strcmp(s->bundle[0], "0") == 0 && strcmp(s->bundle[1], "1") == 0,
       "a=group:BUNDLE 0 1");
    is_int(s->n_media, 2, "two m= lines");

    const sdp_media_t *a = &s->media[0];
    ok(a->kind == SDP_KIND_AUDIO && a->port == 9 && strcmp(a->proto, "UDP/TLS/RTP/SAVPF") == 0 && a->is_rtp,
       "audio m= line");
    ok(strcmp(a->mid, "0") == 0 && a->dir == SDP_DIR_SENDONLY && a->rtcp_mux && !a->rtcp_rsize,
       "audio mid, sendonly, rtcp-mux, no rtcp-rsize");
    is_str(a->tr.ice_ufrag, CHROME_UFRAG, "audio ice-ufrag");
    is_str(a->tr.ice_pwd, CHROME_PWD, "audio ice-pwd");
    is_str(a->tr.ice_options, "trickle", "audio ice-options");
    ok(a->tr.n_fingerprint == 1 && strcmp(a->tr.fingerprint[0].alg, "sha-256") == 0 &&
           strcmp(a->tr.fingerprint[0].value, FP_CHROME) == 0,
       "audio fingerprint");
    is_int(a->tr.setup, SDP_SETUP_ACTPASS, "audio setup actpass");
    is_int(a->n_pt, 8, "audio payload types");
    int order[] = {111, 63, 9, 0, 8, 13, 110, 126};
    bool same = true;
    for (int i = 0; i < 8; i++)
        same &= a->pt[i].pt == order[i];
    ok(same, "audio payload types keep m= order");
    const sdp_codec_t *opus = pt_of(a, 111);
    ok(strcmp(opus->name, "opus") == 0 && opus->clock == 48000 && opus->channels == 2, "opus/48000/2");
    is_str(opus->fmtp, "minptime=10;useinbandfec=1", "opus fmtp raw");
    ok(opus->useinbandfec == 1 && opus->stereo == -1 && opus->apt == -1, "opus fmtp parsed");
    is_int(opus->fb, SDP_FB_TRANSPORT_CC, "opus rtcp-fb transport-cc");
    const sdp_codec_t *red = pt_of(a, 63);
    ok(strcmp(red->name, "red") == 0 && strcmp(red->fmtp, "111/111") == 0 && red->apt == -1, "audio red");
    ok(strcmp(pt_of(a, 0)->name, "PCMU") == 0 && pt_of(a, 0)->clock == 8000 && pt_of(a, 0)->channels == 0, "PCMU/8000");
    ok(strcmp(pt_of(a, 110)->name, "telephone-event") == 0 && pt_of(a, 110)->clock == 48000, "telephone-event");
    is_int(a->n_ext, 4, "audio extmaps");
    is_str(ext_of(a, 1)->uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "audio extmap 1");
    is_str(ext_of(a, 4)->uri, "urn:ietf:params:rtp-hdrext:sdes:mid", "audio extmap 4");
    ok(a->n_ssrc == 1 && a->ssrc[0].ssrc == 1393937212u && strcmp(a->ssrc[0].cname, "Hx2h0jnhUVSZkzD6") == 0 &&
           strcmp(a->ssrc[0].msid_stream, STREAM) == 0 && strcmp(a->ssrc[0].msid_track, AUDIO_TRACK) == 0,
       "audio a=ssrc cname + msid");
    ok(strcmp(a->msid_stream, STREAM) == 0 && strcmp(a->msid_track, AUDIO_TRACK) == 0, "audio a=msid");
    is_int(a->n_candidates, 0, "no candidates (trickle)");

    const sdp_media_t *v = &s->media[1];
    ok(v->kind == SDP_KIND_VIDEO && strcmp(v->mid, "1") == 0 && v->dir == SDP_DIR_SENDONLY && v->rtcp_rsize,
       "video m= line, sendonly, rtcp-rsize");
    is_int(v->n_pt, 27, "video payload types");
    const sdp_codec_t *vp8 = pt_of(v, 96);
    ok(strcmp(vp8->name, "VP8") == 0 && vp8->clock == 90000 && !vp8->has_fmtp, "VP8/90000");
    is_int(vp8->fb, SDP_FB_NACK | SDP_FB_NACK_PLI | SDP_FB_CCM_FIR | SDP_FB_TRANSPORT_CC | SDP_FB_GOOG_REMB,
           "VP8 rtcp-fb: all five");
    ok(strcmp(pt_of(v, 97)->name, "rtx") == 0 && pt_of(v, 97)->apt == 96 && pt_of(v, 97)->fb == 0, "rtx 97 apt=96");
    const sdp_codec_t *h = pt_of(v, 102);
    ok(h->has_profile_level_id && h->profile_level_id == 0x42001f && h->packetization_mode == 1 &&
           h->level_asymmetry_allowed == 1,
       "H264 102: 42001f pm1 level-asymmetry-allowed");
    ok(pt_of(v, 104)->packetization_mode == 0 && pt_of(v, 106)->profile_level_id == 0x42e01f &&
           pt_of(v, 127)->profile_level_id == 0x4d001f && pt_of(v, 37)->profile_level_id == 0x64001f,
       "H264 variants");
    ok(pt_of(v, 98)->profile_id == 0 && pt_of(v, 100)->profile_id == 2 && pt_of(v, 101)->apt == 100,
       "VP9 profiles 0 and 2 with rtx");
    ok(strcmp(pt_of(v, 45)->name, "AV1") == 0 && strcmp(pt_of(v, 45)->fmtp, "level-idx=5;profile=0;tier=0") == 0,
       "AV1 fmtp raw");
    ok(strcmp(pt_of(v, 116)->name, "ulpfec") == 0 && pt_of(v, 115)->apt == 114, "ulpfec, red rtx");
    is_int(v->n_ext, 11, "video extmaps");
    is_str(ext_of(v, 14)->uri, "urn:ietf:params:rtp-hdrext:toffset", "video extmap 14");
    is_str(ext_of(v, 11)->uri, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", "video extmap 11");
    ok(v->n_ssrc_group == 1 && strcmp(v->ssrc_group[0].semantics, "FID") == 0 && v->ssrc_group[0].n_ssrc == 2 &&
           v->ssrc_group[0].ssrc[0] == 2873445410u && v->ssrc_group[0].ssrc[1] == 1120398811u,
       "a=ssrc-group:FID");
    ok(v->n_ssrc == 2 && strcmp(v->ssrc[1].msid_track, VIDEO_TRACK) == 0, "video ssrcs");
    ok(v->n_rid == 0 && v->n_sim_send == 0, "no simulcast");
    free(s);
}

static void test_parse_others(void)
{
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    const char *why = NULL;

    is_int(parse(CHROME_SUBSCRIBE, s, &why), IRTC_OK, "Chrome subscribe offer parses");
    ok(s->media[0].dir == SDP_DIR_RECVONLY && s->media[1].dir == SDP_DIR_RECVONLY, "both recvonly");
    ok(s->media[0].n_ssrc == 0 && !s->media[1].msid_stream[0], "recvonly: no ssrc, no msid");

    is_int(parse(CHROME_SIMULCAST, s, &why), IRTC_OK, "Chrome simulcast offer parses");
    const sdp_media_t *v = &s->media[1];
    ok(v->n_rid == 3 && strcmp(v->rid[0].id, "q") == 0 && strcmp(v->rid[2].id, "f") == 0 &&
           v->rid[1].dir == SDP_DIR_SENDONLY,
       "a=rid q h f send");
    ok(v->n_sim_send == 3 && v->n_sim_recv == 0 && strcmp(v->sim_send[1].rid, "h") == 0 && !v->sim_send[1].paused,
       "a=simulcast:send q;h;f");
    is_int(v->n_ssrc, 0, "simulcast offer has no ssrc lines");

    is_int(parse(CHROME_DATA, s, &why), IRTC_OK, "Chrome data-channel offer parses");
    const sdp_media_t *d = &s->media[2];
    ok(d->kind == SDP_KIND_APPLICATION && d->port == 54400 && !d->is_rtp && strcmp(d->proto, "UDP/DTLS/SCTP") == 0 &&
           strcmp(d->fmt, "webrtc-datachannel") == 0,
       "m=application UDP/DTLS/SCTP webrtc-datachannel");
    ok(d->sctp_port == 5000 && d->max_message_size == 262144 && strcmp(d->mid, "2") == 0,
       "sctp-port, max-message-size");
    ok(s->media[0].n_candidates == 1 && d->n_candidates == 1 && !d->end_of_candidates, "candidates counted");
    ok(s->n_bundle == 3 && strcmp(s->bundle[2], "2") == 0, "BUNDLE 0 1 2");

    is_int(parse(AIORTC, s, &why), IRTC_OK, "aiortc 1.4 offer parses");
    const sdp_media_t *a = &s->media[0];
    ok(a->dir == SDP_DIR_SENDRECV && s->media[1].dir == SDP_DIR_SENDRECV, "aiortc: sendrecv");
    ok(a->tr.n_fingerprint == 3 && strcmp(a->tr.fingerprint[1].alg, "sha-384") == 0 &&
           strcmp(a->tr.fingerprint[2].alg, "sha-512") == 0,
       "aiortc: three fingerprints");
    ok(strcmp(a->tr.ice_ufrag, "tV3h") == 0 && a->tr.setup == SDP_SETUP_ACTPASS && !a->tr.ice_options[0],
       "aiortc: transport after the codecs");
    ok(a->n_candidates == 1 && a->end_of_candidates, "aiortc: candidate + end-of-candidates");
    ok(a->n_pt == 3 && pt_of(a, 96)->channels == 2 && !pt_of(a, 96)->has_fmtp, "aiortc: opus without fmtp");
    ok(s->media[1].n_pt == 6 && pt_of(&s->media[1], 101)->profile_level_id == 0x42e01f &&
           pt_of(&s->media[1], 97)->fb == (SDP_FB_NACK | SDP_FB_NACK_PLI | SDP_FB_GOOG_REMB),
       "aiortc: video codecs and feedback");
    ok(s->media[1].n_ssrc == 2 && s->media[1].n_ssrc_group == 1 && !s->media[1].ssrc[0].msid_stream[0],
       "aiortc: FID without msid ssrc attributes");

    /* '@' is no RFC 8866 token-char, but the value of an RFC 5576 source
     * attribute is a byte-string: webrtcbin's msid source attributes parse. */
    is_int(parse(WEBRTCBIN, s, &why), IRTC_OK, "webrtcbin 1.22 offer parses (%s)", why);
    const sdp_media_t *wv = &s->media[0], *wa = &s->media[1];
    ok(wv->n_ssrc == 1 && wv->ssrc[0].ssrc == 3840682694u &&
           strcmp(wv->ssrc[0].msid_stream, "user4230328522@host-d6d0cfd2") == 0 &&
           strcmp(wv->ssrc[0].msid_track, "webrtctransceiver0") == 0 &&
           strcmp(wv->ssrc[0].cname, "user4230328522@host-d6d0cfd2") == 0,
       "webrtcbin: video a=ssrc msid:user…@host-… and cname");
    ok(wa->n_ssrc == 1 && strcmp(wa->ssrc[0].msid_track, "webrtctransceiver1") == 0 && wa->port == 0 &&
           strcmp(wa->mid, "audio1") == 0,
       "webrtcbin: bundle-only audio on port 0 with its msid");
    ok(!wv->msid_stream[0] && !wa->msid_stream[0], "webrtcbin: no a=msid lines");

    /* LF-only line ends give the same result. */
    char *lf = subst(CHROME_PUBLISH, "\r\n", "\n", -1);
    is_int(parse(lf, s, &why), IRTC_OK, "LF line ends parse");
    ok(s->n_media == 2 && s->media[1].n_pt == 27 && strcmp(s->media[0].tr.ice_pwd, CHROME_PWD) == 0 &&
           strcmp(pt_of(&s->media[0], 111)->fmtp, "minptime=10;useinbandfec=1") == 0,
       "LF: same fields");
    free(lf);
    free(s);
}

/* ---- negotiation and the written answer ------------------------------------- */

#define URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_AST "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define URI_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define URI_RID "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define URI_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define ALL_FB (SDP_FB_NACK | SDP_FB_NACK_PLI | SDP_FB_CCM_FIR | SDP_FB_TRANSPORT_CC | SDP_FB_GOOG_REMB)

static void test_negotiate_publish(void)
{
    sdp_policy_t p;
    sdp_answer_t *a = xcalloc(1, sizeof(*a));
    const char *why = NULL;
    char *text = NULL;
    base_policy(&p);
    is_int(negotiate_text(CHROME_PUBLISH, &p, a, &text, &why), IRTC_OK, "publish: negotiates (%s)", why);
    const sdp_answer_media_t *au = &a->media[0], *v = &a->media[1];
    ok(a->n_media == 2 && !au->rejected && !v->rejected, "publish: both accepted");
    ok(au->pt == 111 && strcmp(au->name, "opus") == 0 && au->clock == 48000 && au->channels == 2 && au->rtx_pt == -1,
       "audio: opus/48000/2, no rtx");
    is_str(au->fmtp, "minptime=10;useinbandfec=1", "audio: fmtp keeps useinbandfec");
    is_int(au->fb, SDP_FB_TRANSPORT_CC, "audio: transport-cc kept");
    is_int(au->dir, SDP_DIR_RECVONLY, "audio: sendonly offer -> recvonly");
    ok(answer_ext_id(au, URI_LEVEL) == 1 && answer_ext_id(au, URI_AST) == 2 && answer_ext_id(au, URI_TWCC) == 3 &&
           answer_ext_id(au, URI_MID) == 4 && au->n_ext == 4,
       "audio: offered extmap ids reused");
    ok(v->pt == 96 && strcmp(v->name, "VP8") == 0 && v->rtx_pt == 97 && !v->fmtp[0], "video: VP8 96 + rtx 97");
    is_int(v->fb, ALL_FB, "video: all five rtcp-fb kept");
    ok(v->dir == SDP_DIR_RECVONLY && v->rtcp_rsize && v->ssrc == 0 && v->n_rid == 0, "video: recvonly, rtcp-rsize");
    ok(v->n_ext == 5 && answer_ext_id(v, URI_AST) == 2 && answer_ext_id(v, URI_TWCC) == 3 &&
           answer_ext_id(v, URI_MID) == 4 && answer_ext_id(v, URI_RID) == 10 && answer_ext_id(v, URI_RRID) == 11,
       "video: the five supported extmaps with offered ids");
    ok(answer_ext_id(v, "urn:ietf:params:rtp-hdrext:toffset") == -1, "video: toffset dropped");
    ok(a->n_bundle == 2 && strcmp(a->bundle[0], "0") == 0 && strcmp(a->bundle[1], "1") == 0, "BUNDLE 0 1");
    ok(strcmp(a->remote_ufrag, CHROME_UFRAG) == 0 && strcmp(a->remote_pwd, CHROME_PWD) == 0 &&
           strcmp(a->remote_fingerprint.value, FP_CHROME) == 0,
       "client transport exported");

    static const char head[] = "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n";
    ok(text && strncmp(text, head, strlen(head)) == 0, "answer session header");
    static const char *const want[] = {
        "a=ice-lite",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=mid:1",
        "a=ice-ufrag:srvU",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=fingerprint:sha-256 "
        "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
        "a=setup:passive",
        "a=recvonly",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 goog-remb",
        "a=rtcp-fb:96 ccm fir",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=extmap:1 " URI_LEVEL,
        "a=extmap:4 " URI_MID,
        "a=extmap:10 " URI_RID,
        "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
        "a=candidate:2 1 udp 2130706175 ::1 40000 typ host",
        /* RFC 6544 §4.2: local preference 2^13 x 4 (passive) + 8191 - i, below every UDP one */
        "a=candidate:5 1 tcp 2124414975 127.0.0.1 40000 typ host tcptype passive",
        "a=candidate:6 1 tcp 2124414719 ::1 40000 typ host tcptype passive",
        "a=end-of-candidates",
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(want); i++)
        ok(has_line(text, want[i]), "answer has \"%s\"", want[i]);
    static const char *const unwanted[] = {"a=ice-options",      "toffset", "a=ssrc:",   "a=msid:",    "a=sendonly",
                                           "a=rtcp-fb:111 nack", "H264",    "a=actpass", "a=simulcast"};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(unwanted); i++)
        ok(!contains(text, unwanted[i]), "answer lacks \"%s\"", unwanted[i]);
    check_roundtrip(a, text, "publish");
    free(text);

    /* media.tcp_port 0: UDP candidates only. */
    p.candidates[0].tcp_port = p.candidates[1].tcp_port = 0;
    is_int(negotiate_text(CHROME_PUBLISH, &p, a, &text, &why), IRTC_OK, "publish without ICE-TCP negotiates");
    ok(!contains(text, " tcp ") && !contains(text, "tcptype") && has_line(text, "a=candidate:2 1 udp 2130706175 ::1 40000 typ host"),
       "without ICE-TCP: no tcp candidate");
    check_roundtrip(a, text, "publish-udp-only");
    free(text);
    p.candidates[0].tcp_port = p.candidates[1].tcp_port = 40000;

    /* Server preference H264 first: constrained baseline pm1 with its rtx. */
    p.n_video_order = 2;
    p.video_order[0] = SDP_VIDEO_H264;
    p.video_order[1] = SDP_VIDEO_VP8;
    is_int(negotiate_text(CHROME_PUBLISH, &p, a, &text, &why), IRTC_OK, "publish H264-first negotiates");
    ok(a->media[1].pt == 102 && a->media[1].rtx_pt == 103 && strcmp(a->media[1].name, "H264") == 0,
       "H264 first: 102 (42001f pm1) + rtx 103");
    is_str(a->media[1].fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
           "H264 first: offered fmtp kept");
    ok(has_line(text, "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f") &&
           has_line(text, "a=fmtp:103 apt=102") && has_line(text, "m=video 9 UDP/TLS/RTP/SAVPF 102 103"),
       "H264 first: written");
    check_roundtrip(a, text, "publish-h264");
    free(text);

    /* Only 42e01f pm1 left acceptable: pt 106 / rtx 107. */
    char *no42001f = subst(CHROME_PUBLISH, "packetization-mode=1;profile-level-id=42001f",
                           "packetization-mode=1;profile-level-id=42c01f", -1);
    is_int(negotiate_text(no42001f, &p, a, NULL, &why), IRTC_OK, "42e01f-only negotiates");
    ok(a->media[1].pt == 106 && a->media[1].rtx_pt == 107, "H264 42e01f pm1: 106 + rtx 107");
    free(no42001f);

    /* No acceptable H264 (main/high profile, or mode 0 only): next preference. */
    char *main_only = subst(CHROME_PUBLISH, "packetization-mode=1", "packetization-mode=0", -1);
    is_int(negotiate_text(main_only, &p, a, NULL, &why), IRTC_OK, "mode-0-only negotiates");
    ok(a->media[1].pt == 96 && a->media[1].rtx_pt == 97, "no packetization-mode=1: falls back to VP8");
    free(main_only);

    /* VP9 preference picks profile 0, not 2. */
    p.n_video_order = 1;
    p.video_order[0] = SDP_VIDEO_VP9;
    is_int(negotiate_text(CHROME_PUBLISH, &p, a, &text, &why), IRTC_OK, "VP9-only negotiates");
    ok(a->media[1].pt == 98 && a->media[1].rtx_pt == 99 && strcmp(a->media[1].fmtp, "profile-id=0") == 0,
       "VP9 profile-id=0 (98) + rtx 99");
    check_roundtrip(a, text, "publish-vp9");
    free(text);

    /* Opus parameters: stereo mirrored, inband FEC only when the client asks. */
    p.n_video_order = 0;
    char *stereo = subst(CHROME_PUBLISH, "minptime=10;useinbandfec=1", "stereo=1;minptime=10;useinbandfec=1", 0);
    is_int(negotiate_text(stereo, &p, a, &text, &why), IRTC_OK, "stereo offer negotiates");
    is_str(a->media[0].fmtp, "minptime=10;useinbandfec=1;stereo=1", "stereo=1 answered");
    ok(has_line(text, "a=fmtp:111 minptime=10;useinbandfec=1;stereo=1"), "stereo fmtp written");
    free(text);
    free(stereo);
    char *nofec = subst(CHROME_PUBLISH, "minptime=10;useinbandfec=1", "minptime=10;useinbandfec=0;stereo=0", 0);
    is_int(negotiate_text(nofec, &p, a, NULL, &why), IRTC_OK, "useinbandfec=0 offer negotiates");
    is_str(a->media[0].fmtp, "minptime=10", "no inband FEC, no stereo answered");
    free(nofec);

    /* An extension the offer marks inactive is not answered. */
    char *inactive = subst(CHROME_PUBLISH, "a=extmap:4 " URI_MID, "a=extmap:4/inactive " URI_MID, 0);
    is_int(negotiate_text(inactive, &p, a, NULL, &why), IRTC_OK, "inactive extmap negotiates");
    ok(answer_ext_id(&a->media[0], URI_MID) == -1 && answer_ext_id(&a->media[1], URI_MID) == 4,
       "inactive extmap dropped, the video one kept");
    free(inactive);
    p.n_video_order = 1;

    /* VP9 profile 2 listed first: profile 0 is still the one chosen. */
    p.n_video_order = 1;
    p.video_order[0] = SDP_VIDEO_VP9;
    char *vp9 = subst(CHROME_PUBLISH, " 98 99 100 101 ", " 100 101 98 99 ", 0);
    is_int(negotiate_text(vp9, &p, a, NULL, &why), IRTC_OK, "VP9 profile 2 first negotiates");
    ok(a->media[1].pt == 98 && a->media[1].rtx_pt == 99, "VP9: profile 2 skipped");
    free(vp9);

    /* A policy allowing only H264 against an offer without it: video rejected. */
    p.video_order[0] = SDP_VIDEO_H264;
    is_int(negotiate_text(AIORTC, &p, a, NULL, &why), IRTC_EINVAL, "aiortc sendrecv refused by default policy");
    ok(contains(why, "sendrecv"), "why names sendrecv: %s", why);
    char *sendonly = subst(AIORTC, "a=sendrecv", "a=sendonly", -1);
    char *vp8only = subst(sendonly, " 97 98 99 100 101 102", " 97 98", 0);
    free(sendonly);
    is_int(negotiate_text(vp8only, &p, a, &text, &why), IRTC_OK, "H264-only policy vs VP8-only offer");
    ok(!a->media[0].rejected && a->media[1].rejected && a->n_bundle == 1, "video rejected, audio kept");
    ok(has_line(text, "m=video 0 UDP/TLS/RTP/SAVPF 97") && has_line(text, "a=group:BUNDLE 0"), "rejected m= line");
    check_roundtrip(a, text, "h264-vs-vp8");
    free(text);
    free(vp8only);
    free(a);
}

static void test_negotiate_subscribe(void)
{
    sdp_policy_t p;
    sdp_answer_t *a = xcalloc(1, sizeof(*a));
    const char *why = NULL;
    char *text = NULL;
    base_policy(&p);
    is_int(negotiate_text(CHROME_SUBSCRIBE, &p, a, &text, &why), IRTC_OK, "subscribe: negotiates (%s)", why);
    const sdp_answer_media_t *au = &a->media[0], *v = &a->media[1];
    ok(au->dir == SDP_DIR_SENDONLY && v->dir == SDP_DIR_SENDONLY, "recvonly offer -> sendonly");
    ok(au->ssrc == 11111111 && au->rtx_ssrc == 0 && strcmp(au->cname, "srvcname") == 0 &&
           strcmp(au->msid_track, "srvaudio") == 0,
       "audio: server ssrc/cname/msid, no rtx ssrc without rtx");
    ok(v->ssrc == 22222222 && v->rtx_ssrc == 33333333 && v->rtx_pt == 97, "video: ssrc + rtx ssrc");
    static const char *const want[] = {
        "a=sendonly",
        "a=msid:srvstream srvaudio",
        "a=msid:srvstream srvvideo",
        "a=ssrc:11111111 cname:srvcname",
        "a=ssrc:11111111 msid:srvstream srvaudio",
        "a=ssrc-group:FID 22222222 33333333",
        "a=ssrc:22222222 cname:srvcname",
        "a=ssrc:33333333 msid:srvstream srvvideo",
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(want); i++)
        ok(has_line(text, want[i]), "subscribe answer has \"%s\"", want[i]);
    ok(!contains(text, "a=recvonly") && !contains(text, "a=ssrc-group:FID 11111111"), "no recvonly, no audio FID");
    check_roundtrip(a, text, "subscribe");
    free(text);

    /* No send identity: the answer simply carries no ssrc/msid lines. */
    memset(&p.audio_send, 0, sizeof(p.audio_send));
    memset(&p.video_send, 0, sizeof(p.video_send));
    is_int(negotiate_text(CHROME_SUBSCRIBE, &p, a, &text, &why), IRTC_OK, "subscribe without send ids");
    ok(!contains(text, "a=ssrc") && !contains(text, "a=msid:"), "no ssrc / msid lines");
    check_roundtrip(a, text, "subscribe-anon");
    free(text);
    free(a);
}

static void test_negotiate_simulcast_data(void)
{
    sdp_policy_t p;
    sdp_answer_t *a = xcalloc(1, sizeof(*a));
    const char *why = NULL;
    char *text = NULL;
    base_policy(&p);
    is_int(negotiate_text(CHROME_SIMULCAST, &p, a, &text, &why), IRTC_OK, "simulcast: negotiates (%s)", why);
    const sdp_answer_media_t *v = &a->media[1];
    ok(v->n_rid == 3 && strcmp(v->rid[0], "q") == 0 && strcmp(v->rid[1], "h") == 0 && strcmp(v->rid[2], "f") == 0,
       "simulcast: rids mirrored");
    ok(has_line(text, "a=rid:q recv") && has_line(text, "a=rid:h recv") && has_line(text, "a=rid:f recv") &&
           has_line(text, "a=simulcast:recv q;h;f"),
       "simulcast: a=rid recv + a=simulcast:recv written");
    ok(answer_ext_id(v, URI_RID) == 10 && answer_ext_id(v, URI_RRID) == 11, "simulcast: rid extensions kept");
    check_roundtrip(a, text, "simulcast");
    free(text);

    is_int(negotiate_text(CHROME_DATA, &p, a, &text, &why), IRTC_OK, "data: negotiates without accept_data");
    ok(a->media[2].rejected && a->n_bundle == 2, "data: application rejected unless the policy accepts it");
    ok(has_line(text, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel") && has_line(text, "a=mid:2"),
       "data: rejected application m= line");
    check_roundtrip(a, text, "data-rejected");
    free(text);

    p.accept_data = true;
    is_int(negotiate_text(CHROME_DATA, &p, a, &text, &why), IRTC_OK, "data: negotiates with accept_data");
    ok(!a->media[2].rejected && a->media[2].sctp_port == 5000 && a->media[2].max_message_size == 262144,
       "data: accepted");
    ok(a->n_bundle == 3 && strcmp(a->bundle[2], "2") == 0, "data: in BUNDLE");
    ok(has_line(text, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel") && has_line(text, "a=sctp-port:5000") &&
           has_line(text, "a=max-message-size:262144") && has_line(text, "a=group:BUNDLE 0 1 2"),
       "data: application m= line written");
    check_roundtrip(a, text, "data");
    free(text);

    /* The legacy "DTLS/SCTP 5000" + a=sctpmap form is rejected, not refused. */
    char *legacy = subst(CHROME_DATA, "m=application 54400 UDP/DTLS/SCTP webrtc-datachannel",
                         "m=application 54400 DTLS/SCTP 5000", 0);
    is_int(negotiate_text(legacy, &p, a, &text, &why), IRTC_OK, "legacy data m= line negotiates");
    ok(a->media[2].rejected && has_line(text, "m=application 0 DTLS/SCTP 5000"), "legacy data m= line rejected");
    free(text);
    free(legacy);
    /* ... unless a=sctpmap says webrtc-datachannel (aiortc 1.4): answered in the same form. */
    legacy = subst(CHROME_DATA, "m=application 54400 UDP/DTLS/SCTP webrtc-datachannel",
                   "m=application 54400 DTLS/SCTP 5000\r\na=sctpmap:5000 webrtc-datachannel 65535", 0);
    char *legacy2 = subst(legacy, "a=sctp-port:5000\r\n", "", 0);
    is_int(negotiate_text(legacy2, &p, a, &text, &why), IRTC_OK, "sctpmap data m= line negotiates (%s)", why);
    ok(!a->media[2].rejected && has_line(text, "m=application 9 DTLS/SCTP 5000") &&
           has_line(text, "a=sctpmap:5000 webrtc-datachannel 1024") && has_line(text, "a=max-message-size:262144") &&
           !has_line(text, "a=sctp-port:5000"),
       "sctpmap data m= line accepted, answered with the port as fmt and a=sctpmap");
    free(text);
    free(legacy2);
    free(legacy);
    free(a);
}

/* aiortc and webrtcbin, the non-browser publishers. */
static void test_negotiate_aiortc(void)
{
    sdp_policy_t p;
    sdp_answer_t *a = xcalloc(1, sizeof(*a));
    const char *why = NULL;
    char *text = NULL;
    base_policy(&p);
    p.sendrecv_as = SDP_DIR_RECVONLY;
    is_int(negotiate_text(AIORTC, &p, a, &text, &why), IRTC_OK, "aiortc as publisher (%s)", why);
    const sdp_answer_media_t *au = &a->media[0], *v = &a->media[1];
    ok(au->pt == 96 && strcmp(au->fmtp, "minptime=10") == 0 && au->fb == 0, "aiortc audio: opus 96, no inband FEC");
    ok(v->pt == 97 && v->rtx_pt == 98 && v->fb == (SDP_FB_NACK | SDP_FB_NACK_PLI | SDP_FB_GOOG_REMB),
       "aiortc video: VP8 97 + rtx 98, its three rtcp-fb");
    ok(au->n_ext == 2 && answer_ext_id(au, URI_MID) == 1 && answer_ext_id(au, URI_LEVEL) == 2, "aiortc audio extmaps");
    ok(v->n_ext == 2 && answer_ext_id(v, URI_MID) == 1 && answer_ext_id(v, URI_AST) == 3, "aiortc video extmaps");
    ok(au->dir == SDP_DIR_RECVONLY && v->dir == SDP_DIR_RECVONLY, "sendrecv answered recvonly per policy");
    is_str(a->remote_fingerprint.alg, "sha-256", "sha-256 chosen among three fingerprints");
    is_str(a->remote_ufrag, "tV3h", "aiortc ufrag");
    check_roundtrip(a, text, "aiortc");
    free(text);

    /* webrtcbin publishes from sendrecv transceivers too. */
    is_int(negotiate_text(WEBRTCBIN, &p, a, &text, &why), IRTC_OK, "webrtcbin as publisher (%s)", why);
    ok(a->n_media == 2 && !a->media[0].rejected && !a->media[1].rejected && a->media[0].pt == 96 &&
           a->media[1].pt == 111 && a->media[0].dir == SDP_DIR_RECVONLY && a->media[1].dir == SDP_DIR_RECVONLY,
       "webrtcbin: VP8 96 and bundle-only OPUS 111 accepted, answered recvonly");
    check_roundtrip(a, text, "webrtcbin");
    free(text);

    p.n_video_order = 1;
    p.video_order[0] = SDP_VIDEO_H264;
    p.sendrecv_as = SDP_DIR_SENDRECV;
    is_int(negotiate_text(AIORTC, &p, a, &text, &why), IRTC_OK, "aiortc sendrecv + H264");
    ok(a->media[1].pt == 99 && a->media[1].rtx_pt == 100, "aiortc H264: 99 + rtx 100");
    ok(has_line(text, "a=sendrecv") && has_line(text, "a=ssrc-group:FID 22222222 33333333") &&
           has_line(text, "a=msid:srvstream srvvideo"),
       "sendrecv answer carries the server's ssrcs");
    check_roundtrip(a, text, "aiortc-sendrecv");
    free(text);

    /* sha-256 listed last among the fingerprints is still the one exported. */
#define FP256                                                                                                          \
    "a=fingerprint:sha-256 "                                                                                           \
    "0E:34:1B:9D:C1:07:5F:7C:62:2A:7B:E1:4A:41:13:4F:9C:70:16:1F:5E:47:E3:0C:9D:89:31:AF:7F:D4:6B:2E\r\n"
    char *no256 = subst(AIORTC, FP256, "", -1);
    char *last256 = subst(no256, "a=setup:actpass", "a=fingerprint:sha-256 00:11\r\na=setup:actpass", -1);
    is_int(negotiate_text(last256, &p, a, NULL, &why), IRTC_EINVAL, "a 2-byte sha-256 fingerprint is malformed");
    free(last256);
    last256 = subst(no256, "a=setup:actpass", FP256 "a=setup:actpass", -1);
    is_int(negotiate_text(last256, &p, a, NULL, &why), IRTC_OK, "sha-256 last negotiates");
    ok(strcmp(a->remote_fingerprint.alg, "sha-256") == 0 && strncmp(a->remote_fingerprint.value, "0E:34", 5) == 0,
       "sha-256 preferred over the first-listed sha-384");
    free(no256);
    free(last256);
#undef FP256

    /* The aiortc BUNDLE bug: one id for two extensions across m= lines.  The
     * answer keeps the first meaning and drops the clash. */
    char *clash = subst(AIORTC, "a=extmap:3 " URI_AST, "a=extmap:2 " URI_AST, 0);
    p.video_order[0] = SDP_VIDEO_VP8;
    is_int(negotiate_text(clash, &p, a, &text, &why), IRTC_OK, "extmap id clash negotiates");
    ok(answer_ext_id(&a->media[0], URI_LEVEL) == 2 && answer_ext_id(&a->media[1], URI_AST) == -1 &&
           answer_ext_id(&a->media[1], URI_MID) == 1,
       "clashing id 2 dropped from video");
    free(text);
    free(clash);

    /* Same URI under two ids across m= lines: the second is dropped too. */
    char *moved = subst(AIORTC, "a=extmap:1 " URI_MID, "a=extmap:5 " URI_MID, 1);
    is_int(negotiate_text(moved, &p, a, NULL, &why), IRTC_OK, "mid under two ids negotiates");
    ok(answer_ext_id(&a->media[0], URI_MID) == 1 && answer_ext_id(&a->media[1], URI_MID) == -1,
       "second id for the same URI dropped");
    free(moved);
    free(a);
}

/* Extra m= lines: a second video, a text line and an offerer-disabled audio
 * are rejected in place; policy can reject a kind. */
static void test_extra_mlines(void)
{
    static const char extra[] = "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n" CHROME_TRANSPORT(
        "2") "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 "
             "VP8/90000\r\n" RTX(97, 96) "m=text 9 "
                                         "UDP/TLS/RTP/SAVPF "
                                         "98\r"
                                         "\n" CHROME_TRANSPORT("3") "a=rtcp-"
                                                                    "mux\r\na="
                                                                    "rtpmap:98 "
                                                                    "t140/"
                                                                    "1000\r\n"
                                                                    "m=audio 0 "
                                                                    "UDP/TLS/"
                                                                    "RTP/SAVPF "
                                                                    "111\r"
                                                                    "\n" CHROME_TRANSPORT("4") "a="
                                                                                               "rt"
                                                                                               "cp"
                                                                                               "-m"
                                                                                               "ux"
                                                                                               "\r"
                                                                                               "\n"
                                                                                               "a="
                                                                                               "rt"
                                                                                               "pm"
                                                                                               "ap"
                                                                                               ":1"
                                                                                               "11"
                                                                                               " o"
                                                                                               "pu"
                                                                                               "s/"
                                                                                               "48"
                                                                                               "00"
                                                                                               "0/"
                                                                                               "2"
                                                                                               "\r"
                                                                                               "\n";
    sdp_policy_t p;
    sdp_answer_t *a = xcalloc(1, sizeof(*a));
    const char *why = NULL;
    char *text = NULL;
    base_policy(&p);
    buf_t b;
    buf_init(&b);
    char *grouped = subst(CHROME_PUBLISH, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2 3 4", 0);
    buf_puts(&b, grouped);
    buf_puts(&b, extra);
    free(grouped);
    is_int(negotiate_text(b.base, &p, a, &text, &why), IRTC_OK, "five m= lines negotiate (%s)", why);
    ok(a->n_media == 5 && !a->media[0].rejected && !a->media[1].rejected, "first audio and video accepted");
    ok(a->media[2].rejected && a->media[3].rejected && a->media[4].rejected, "extra video, text, port-0 rejected");
    ok(has_line(text, "m=video 0 UDP/TLS/RTP/SAVPF 96") && has_line(text, "m=text 0 UDP/TLS/RTP/SAVPF 98") &&
           has_line(text, "m=audio 0 UDP/TLS/RTP/SAVPF 111") && has_line(text, "a=mid:3"),
       "rejected lines written in place with port 0");
    ok(a->n_bundle == 2 && has_line(text, "a=group:BUNDLE 0 1"), "only accepted mids bundled");
    check_roundtrip(a, text, "extra");
    free(text);

    p.reject_audio = true;
    is_int(negotiate_text(b.base, &p, a, &text, &why), IRTC_OK, "reject_audio negotiates");
    ok(a->media[0].rejected && !a->media[1].rejected && a->media[4].rejected, "audio rejected by policy");
    ok(a->n_bundle == 1 && strcmp(a->bundle[0], "1") == 0 && strcmp(a->remote_ufrag, CHROME_UFRAG) == 0,
       "BUNDLE 1 only");
    check_roundtrip(a, text, "reject-audio");
    free(text);

    p.reject_video = true;
    is_int(negotiate_text(b.base, &p, a, NULL, &why), IRTC_EINVAL, "everything rejected: refused");
    ok(contains(why, "no acceptable"), "why: %s", why);

    /* Plain RTP/AVP (no DTLS-SRTP) is rejected in place. */
    p.reject_audio = p.reject_video = false;
    char *avp = subst(CHROME_PUBLISH, "m=audio 9 UDP/TLS/RTP/SAVPF", "m=audio 9 RTP/AVP", 0);
    is_int(negotiate_text(avp, &p, a, &text, &why), IRTC_OK, "RTP/AVP audio negotiates");
    ok(a->media[0].rejected && !a->media[1].rejected && has_line(text, "m=audio 0 RTP/AVP 111"),
       "RTP/AVP m= line rejected");
    free(text);
    free(avp);

    /* a=bundle-only with port 0 (JSEP §5.2.1 "max-bundle") is live. */
    char *bo = subst(CHROME_PUBLISH, CHROME_VIDEO_M,
                     "m=video 0 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 112 113 37 38 "
                     "45 46 98 99 100 101 114 115 116\r\na=bundle-only\r\n",
                     0);
    p.reject_audio = p.reject_video = false;
    is_int(negotiate_text(bo, &p, a, NULL, &why), IRTC_OK, "bundle-only negotiates");
    ok(!a->media[1].rejected && a->media[1].pt == 96, "bundle-only port 0 accepted");
    free(bo);
    buf_dispose(&b);
    free(a);
}

/* ---- refusals ----------------------------------------------------------------- */

static void expect_refusal(const char *offer, const sdp_policy_t *p, const char *why_part, const char *label)
{
    sdp_answer_t *a = xcalloc(1, sizeof(*a));
    const char *why = NULL;
    int rc = negotiate_text(offer, p, a, NULL, &why);
    is_int(rc, IRTC_EINVAL, "refused: %s", label);
    ok(contains(why, why_part), "  why names \"%s\": %s", why_part, why ? why : "(null)");
    free(a);
}

static void refuse_edit(const char *from, const char *to, const char *why_part, const char *label)
{
    sdp_policy_t p;
    base_policy(&p);
    char *o = subst(CHROME_PUBLISH, from, to, -1);
    expect_refusal(o, &p, why_part, label);
    free(o);
}

static void test_refusals(void)
{
    refuse_edit("a=group:BUNDLE 0 1\r\n", "", "BUNDLE", "no BUNDLE group");
    refuse_edit("a=group:BUNDLE 0 1\r\n", "a=group:BUNDLE 0\r\n", "BUNDLE", "BUNDLE misses mid 1");
    refuse_edit("a=group:BUNDLE 0 1\r\n", "a=group:LS 0 1\r\n", "BUNDLE", "only an LS group");
    refuse_edit("a=group:BUNDLE 0 1\r\n", "a=group:BUNDLE 0\r\na=group:BUNDLE 1\r\n", "BUNDLE",
                "two BUNDLE groups (one transport only)");
    refuse_edit("a=rtcp-mux\r\n", "", "rtcp-mux", "no rtcp-mux");
    refuse_edit("a=ice-ufrag:" CHROME_UFRAG "\r\n", "", "ice-ufrag", "no ice-ufrag");
    refuse_edit("a=ice-pwd:" CHROME_PWD "\r\n", "", "ice-pwd", "no ice-pwd");
    refuse_edit("a=fingerprint:sha-256 " FP_CHROME "\r\n", "", "fingerprint", "no fingerprint");
    refuse_edit("a=setup:actpass", "a=setup:passive", "setup", "setup passive");
    refuse_edit("a=setup:actpass", "a=setup:holdconn", "setup", "setup holdconn");
    refuse_edit("t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n", "ICE-lite", "ice-lite offerer");
    refuse_edit("a=sendonly", "a=sendrecv", "sendrecv", "sendrecv under the default policy");

    sdp_policy_t p;
    base_policy(&p);
    /* RFC 8843 §7.2.1: an initial offer may give each bundled line its own
     * transport (aiortc does); the BUNDLE tag's (the first mid) is used. */
    char *o = subst(CHROME_PUBLISH, "a=ice-ufrag:" CHROME_UFRAG, "a=ice-ufrag:Xy7z", 1);
    {
        sdp_session_t *off = xcalloc(1, sizeof(*off));
        sdp_answer_t *ans = xcalloc(1, sizeof(*ans));
        const char *why = NULL;
        ok(sdp_parse(o, strlen(o), off, &why) == IRTC_OK && sdp_negotiate(off, &p, ans, &why) == IRTC_OK,
           "bundled lines with different ufrags are accepted (%s)", why ? why : "ok");
        /* subst(..., 1) edits the second m= line: the tag keeps Chrome's. */
        is_str(ans->remote_ufrag, CHROME_UFRAG, "the BUNDLE tag's ufrag is the transport's");
        free(o);
        o = subst(CHROME_PUBLISH, "a=fingerprint:sha-256 7B:", "a=fingerprint:sha-256 7C:", 1);
        ok(sdp_parse(o, strlen(o), off, &why) == IRTC_OK && sdp_negotiate(off, &p, ans, &why) == IRTC_OK,
           "bundled lines with different fingerprints are accepted");
        ok(strncmp(ans->remote_fingerprint.value, "7B:", 3) == 0, "the BUNDLE tag's fingerprint is the transport's");
        free(off);
        free(ans);
    }
    free(o);
    o = subst(CHROME_PUBLISH, "a=mid:1\r\n", "", 0);
    char *o2 = subst(o, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0", 0);
    expect_refusal(o2, &p, "BUNDLE", "accepted m= line without a=mid");
    free(o);
    free(o2);
    expect_refusal("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", &p, "no m= line", "offer without media");
    o = subst(CHROME_PUBLISH, "opus/48000/2", "opus/48000/1", 0);
    o2 = subst(o, "VP8/90000", "VP7/90000", 0);
    char *o3 = subst(o2, "m=video 9", "m=video 0", 0);
    expect_refusal(o3, &p, "no acceptable", "mono opus, no VP8 and video disabled");
    free(o);
    free(o2);
    free(o3);

    /* Accepted cases that look close to the refused ones. */
    sdp_answer_t *a = xcalloc(1, sizeof(*a));
    const char *why = NULL;
    o = subst(CHROME_PUBLISH, "a=setup:actpass", "a=setup:active", -1);
    is_int(negotiate_text(o, &p, a, NULL, &why), IRTC_OK, "setup active accepted");
    free(o);
    o = subst(CHROME_PUBLISH, "a=setup:actpass\r\n", "", -1);
    is_int(negotiate_text(o, &p, a, NULL, &why), IRTC_OK, "no a=setup accepted (RFC 4145 default active)");
    free(o);
    o = subst(CHROME_PUBLISH, "a=sendonly", "a=inactive", -1);
    is_int(negotiate_text(o, &p, a, NULL, &why), IRTC_OK, "inactive accepted");
    ok(a->media[0].dir == SDP_DIR_INACTIVE && a->media[1].dir == SDP_DIR_INACTIVE, "inactive -> inactive");
    free(o);
    /* Session-level transport (RFC 8839 allows it) is inherited. */
    o = subst(CHROME_PUBLISH, "a=ice-ufrag:" CHROME_UFRAG "\r\na=ice-pwd:" CHROME_PWD "\r\n", "", -1);
    o2 = subst(o, "t=0 0\r\n", "t=0 0\r\na=ice-ufrag:" CHROME_UFRAG "\r\na=ice-pwd:" CHROME_PWD "\r\n", 0);
    is_int(negotiate_text(o2, &p, a, NULL, &why), IRTC_OK, "session-level ICE credentials accepted");
    is_str(a->remote_pwd, CHROME_PWD, "inherited pwd");
    free(o);
    free(o2);
    free(a);
}

static void test_policy_errors(void)
{
    sdp_policy_t p;
#define POLICY_CASE(stmt, why_part, label)                                                                             \
    do {                                                                                                               \
        base_policy(&p);                                                                                               \
        stmt;                                                                                                          \
        expect_refusal(CHROME_SUBSCRIBE, &p, why_part, label);                                                         \
    } while (0)
    POLICY_CASE(p.ice_ufrag = NULL, "ICE credentials", "policy without ufrag");
    POLICY_CASE(p.ice_ufrag = "abc", "ICE credentials", "policy ufrag of 3 chars");
    POLICY_CASE(p.ice_pwd = "short", "ICE credentials", "policy pwd too short");
    POLICY_CASE(p.ice_pwd = "abcdefghijklmnopqrstu\r\n", "ICE credentials", "policy pwd with CRLF");
    POLICY_CASE(p.fingerprint = NULL, "fingerprint", "policy without fingerprint");
    POLICY_CASE(p.fingerprint = FP_CHROME ":00", "fingerprint", "policy fingerprint of 33 bytes");
    POLICY_CASE(p.n_candidates = 0, "candidates", "policy without candidates");
    POLICY_CASE(p.n_candidates = SDP_MAX_CANDIDATES + 1, "candidates", "too many candidates");
    POLICY_CASE(p.candidates[1].ip = "localhost", "candidates", "candidate not an IP literal");
    POLICY_CASE(p.candidates[1].ip = NULL, "candidates", "candidate without IP");
    POLICY_CASE(p.candidates[0].port = 0, "candidates", "candidate port 0");
    POLICY_CASE((p.n_video_order = 2, p.video_order[0] = p.video_order[1] = SDP_VIDEO_VP8), "video_order",
                "duplicate video codec");
    POLICY_CASE((p.n_video_order = 1, p.video_order[0] = SDP_VIDEO_CODEC_COUNT), "video_order", "unknown codec");
    POLICY_CASE(p.n_video_order = 4, "video_order", "video_order too long");
    POLICY_CASE(p.sendrecv_as = (sdp_dir_t)9, "sendrecv_as", "bad sendrecv_as");
    POLICY_CASE(p.video_send.cname = "a b", "send parameters", "cname with a space");
    POLICY_CASE(p.audio_send.msid_stream = "st:ream", "send parameters", "msid with ':'");
    POLICY_CASE(p.audio_send.msid_stream = NULL, "send parameters", "msid track without stream");
#undef POLICY_CASE
}

/* ---- parse errors and edge cases ---------------------------------------------- */

static char *mk(const char *session_extra, const char *media_extra)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b,
               "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n%s"
               "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
               "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n%s",
               session_extra, media_extra);
    return buf_steal(&b);
}

static char *repeat(const char *fmt, int n)
{
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < n; i++)
        buf_printf(&b, fmt, i + 1, i + 1);
    return buf_steal(&b);
}

static void expect_parse_error(const char *text, const char *why_part, const char *label)
{
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    const char *why = NULL;
    int rc = parse(text, s, &why);
    is_int(rc, IRTC_EINVAL, "parse error: %s", label);
    ok(contains(why, why_part), "  why names \"%s\": %s", why_part, why ? why : "(null)");
    free(s);
}

static void bad(const char *session_extra, const char *media_extra, const char *why_part)
{
    char *t = mk(session_extra, media_extra);
    char label[160];
    snprintf(label, sizeof(label), "%.70s%.70s", session_extra, media_extra);
    for (char *c = label; *c; c++)
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    expect_parse_error(t, why_part, label);
    free(t);
}

static void test_parse_errors(void)
{
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    const char *why = NULL;
    char *base = mk("", "");
    is_int(parse(base, s, &why), IRTC_OK, "the minimal base parses");
    free(base);

    expect_parse_error("", "empty", "empty input");
    expect_parse_error("\r\n\n", "empty", "blank lines only");
    expect_parse_error("v=1\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\n", "v=0", "v=1");
    expect_parse_error("o=- 1 2 IN IP4 0.0.0.0\r\nv=0\r\ns=-\r\n", "v=0", "v= not first");
    expect_parse_error("v=0\r\ns=-\r\nt=0 0\r\n", "o=", "no o= line");
    expect_parse_error("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\nt=0 0\r\n", "s=", "no s= line");
    expect_parse_error("v=0\r\no=- x1 2 IN IP4 0.0.0.0\r\ns=-\r\n", "o=", "o= sess-id not numeric");
    expect_parse_error("v=0\r\no=- 1 2 IN IP4\r\ns=-\r\n", "o=", "o= with five fields");
    expect_parse_error("v=0\r\no=- 1 2 XX IP4 0.0.0.0\r\ns=-\r\n", "o=", "o= nettype");
    expect_parse_error("v=0\r\no=- 12345678901234567890123456789012 2 IN IP4 0.0.0.0\r\ns=-\r\n",
                       "o=", "o= sess-id of 32 digits");

    bad("o=- 2 2 IN IP4 127.0.0.1\r\n", "", "o=");
    bad("s=again\r\n", "", "s=");
    bad("v=0\r\n", "", "v=");
    bad("", "s=-\r\n", "s=");
    bad("a=:x\r\n", "", "a= line");
    bad("junk\r\n", "", "malformed");
    bad("A=x\r\n", "", "malformed");
    bad("a\r\n", "", "malformed");
    bad("", "a=x\ry\r\n", "malformed");
    bad("a=group:BUNDLE 0 7\r\n", "", "unknown mid");
    bad("a=group:BUNDLE 0 0\r\n", "", "a=group");
    {
        char *many_mids = repeat("%d ", SDP_MAX_MEDIA + 1), line[512];
        snprintf(line, sizeof(line), "a=group:BUNDLE %s\r\n", many_mids);
        bad(line, "", "too many mids");
        free(many_mids);
    }
    bad("a=group:BUNDLE 0 x:y\r\n", "", "a=group");
    bad("a=ice-ufrag:abc\r\n", "", "a=ice-ufrag");
    bad("a=ice-ufrag:ab!d\r\n", "", "a=ice-ufrag");
    bad("a=ice-ufrag:abcd\r\na=ice-ufrag:efgh\r\n", "", "a=ice-ufrag");
    bad("", "a=ice-pwd:abcdefghijklmnopqrstu\r\n", "a=ice-pwd");
    bad("", "a=ice-options:\r\n", "a=ice-options");
    bad("", "a=fingerprint:sha-256 " FP_CHROME ":00\r\n", "a=fingerprint");
    bad("", "a=fingerprint:sha-1 " FP_CHROME "\r\n", "a=fingerprint");
    bad("", "a=fingerprint:sha-256 7B:8G\r\n", "a=fingerprint");
    bad("", "a=fingerprint:sha-256 7B8B\r\n", "a=fingerprint");
    bad("", "a=fingerprint:sha-256 7B:8B:\r\n", "a=fingerprint");
    bad("", "a=fingerprint:sha-256\r\n", "a=fingerprint");
    bad("", "a=fingerprint:sha-256 " FP_CHROME " extra\r\n", "a=fingerprint");
    bad("", "a=setup:bogus\r\n", "a=setup");
    bad("", "a=setup:active\r\na=setup:passive\r\n", "a=setup");
    bad("", "a=sendonly:yes\r\n", "direction");
    bad("", "a=sendonly\r\na=recvonly\r\n", "direction");
    bad("a=inactive\r\na=sendrecv\r\n", "", "direction");
    bad("", "a=extmap:0 urn:x\r\n", "a=extmap");
    bad("", "a=extmap:256 urn:x\r\n", "a=extmap");
    bad("", "a=extmap:1/sideways urn:x\r\n", "a=extmap");
    bad("", "a=extmap:1\r\n", "a=extmap");
    bad("", "a=extmap:x urn:x\r\n", "a=extmap");
    bad("", "a=extmap:1 urn:a\r\na=extmap:1 urn:b\r\n", "duplicate a=extmap");
    bad("a=extmap:1 urn:a\r\na=extmap:1 urn:b\r\n", "", "duplicate a=extmap");
    bad("", "a=mid:1\r\n", "a=mid");
    bad("", "a=rtpmap:96 VP8/90000\r\n", "duplicate a=rtpmap");
    bad("", "a=rtpmap:98 VP9\r\n", "a=rtpmap");
    bad("", "a=rtpmap:98 VP9/0\r\n", "a=rtpmap");
    bad("", "a=rtpmap:98 VP9/4294967296\r\n", "a=rtpmap");
    bad("", "a=rtpmap:128 VP9/90000\r\n", "a=rtpmap");
    bad("", "a=rtpmap:98 opus/48000/0\r\n", "a=rtpmap");
    bad("", "a=rtpmap:98 opus/48000/\r\n", "a=rtpmap");
    bad("", "a=rtpmap:98 op us/48000\r\n", "a=rtpmap");
    bad("", "a=rtpmap:96\r\n", "a=rtpmap");
    bad("", "a=fmtp:96 apt=128\r\n", "a=fmtp");
    bad("", "a=fmtp:96 profile-level-id=42e01\r\n", "a=fmtp");
    bad("", "a=fmtp:96 profile-level-id=42e0zf\r\n", "a=fmtp");
    bad("", "a=fmtp:96 packetization-mode=3\r\n", "a=fmtp");
    bad("", "a=fmtp:96 useinbandfec=2\r\n", "a=fmtp");
    bad("", "a=fmtp:96 stereo=\r\n", "a=fmtp");
    bad("", "a=fmtp:96 level-asymmetry-allowed=-1\r\n", "a=fmtp");
    bad("", "a=fmtp:96\r\n", "a=fmtp");
    bad("", "a=fmtp:97 apt=96\r\n", "duplicate a=fmtp");
    bad("", "a=rtcp-fb:x nack\r\n", "a=rtcp-fb");
    bad("", "a=rtcp-fb:96\r\n", "a=rtcp-fb");
    bad("", "a=ssrc:abc cname:x\r\n", "a=ssrc");
    bad("", "a=ssrc:4294967296 cname:x\r\n", "a=ssrc");
    bad("", "a=ssrc:1 cname:\r\n", "a=ssrc");
    bad("", "a=ssrc:1 cname:a\r\na=ssrc:1 cname:b\r\n", "a=ssrc");
    bad("", "a=ssrc:1 msid:\r\n", "a=ssrc");
    bad("", "a=ssrc:1 msid:a@b c d\r\n", "a=ssrc");
    bad("", "a=ssrc:1 msid:a\x01b c\r\n", "a=ssrc");
    bad("", "a=ssrc:1 msid:a@b c\x7f\r\n", "a=ssrc");
    bad("", "a=ssrc:1 msid:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b t\r\n", "a=ssrc");
    bad("", "a=msid:user1@host-1 t\r\n", "a=msid"); /* RFC 8830: msid-id is token-char only */
    bad("", "a=ssrc:1\r\n", "a=ssrc");
    bad("", "a=ssrc-group:FID 1\r\na=ssrc:1 cname:x\r\n", "a=ssrc-group");
    bad("", "a=ssrc-group:FID 1 x\r\n", "a=ssrc-group");
    bad("", "a=ssrc-group:SIM\r\n", "a=ssrc-group");
    bad("", "a=ssrc-group:FID 1 2\r\na=ssrc:1 cname:x\r\n", "without a=ssrc");
    bad("", "a=rid:q sideways\r\n", "a=rid");
    bad("", "a=rid:abcdefghijklmnopq send\r\n", "a=rid");
    bad("", "a=rid:q.x send\r\n", "a=rid");
    bad("", "a=rid:q send\r\na=rid:q recv\r\n", "duplicate a=rid");
    bad("", "a=rid:q send\r\na=simulcast:send q;h\r\n", "a=simulcast names a rid");
    bad("", "a=rid:q send\r\na=simulcast:recv q\r\n", "a=simulcast names a rid");
    bad("", "a=simulcast:send\r\n", "a=simulcast");
    bad("", "a=simulcast:sideways q\r\n", "a=simulcast");
    bad("", "a=rid:q send\r\na=rid:h recv\r\na=simulcast:send q\r\na=simulcast:recv h\r\n", "a=simulcast");
    bad("", "a=rid:q send\r\na=rid:h send\r\na=simulcast:send q;;h\r\n", "a=simulcast");
    bad("", "a=rid:q send\r\na=simulcast:send q recv\r\n", "a=simulcast");
    bad("", "a=rid:q send\r\na=simulcast:send q send q\r\n", "a=simulcast");
    bad("", "a=rid:q send\r\na=simulcast:send q,x.y\r\n", "a=simulcast");
    bad("", "a=msid:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa t\r\n", "a=msid");
    bad("", "a=msid:a b c\r\n", "a=msid");
    bad("", "a=msid:a b\r\na=msid:c d\r\n", "a=msid");
    bad("", "a=candidate:\r\n", "a=candidate");
    bad("", "a=mid:abcdefghijklmnopqrstuvwxyz0123456\r\n", "a=mid"); /* 33 > SDP_MID_MAX */
    bad("a=ice-options:trickle trickle trickle trickle trickle trickle trickle trickle trickle trickle trickle "
        "trickle trickle trickle trickle trickle x\r\n",
        "", "a=ice-options"); /* 129 > SDP_ICE_OPTIONS_MAX */
    bad("", "a=sctp-port:0\r\n", "a=sctp-port");
    bad("", "a=sctp-port:70000\r\n", "a=sctp-port");
    bad("", "a=max-message-size:abc\r\n", "a=max-message-size");
    bad("", "a=max-message-size:99999999999999999999999\r\n", "a=max-message-size");
    bad("", "m=video 70000 UDP/TLS/RTP/SAVPF 96\r\n", "m=");
    bad("", "m=video 9 UDP/TLS/RTP/SAVPF\r\n", "m=");
    bad("", "m=video 9 UDP/TLS/RTP/SAVPF 96 96\r\n", "m=");
    bad("", "m=video 9 UDP/TLS/RTP/SAVPF 128\r\n", "m=");
    bad("", "m=video 9/x UDP/TLS/RTP/SAVPF 96\r\n", "m=");
    bad("", "m=video 9/ UDP/TLS/RTP/SAVPF 96\r\n", "m=");
    bad("", "m=video 9 UDP/TLS/RTP/SAVPF x\r\n", "m=");
    bad("", "m=video 9 UDP/TLS/RTP:SAVPF 96\r\n", "m=");
    bad("", "m=application 9 UDP/DTLS/SCTP\r\n", "m=");
    bad("", "m=video 9\r\n", "m=");
    bad("", "m=\r\n", "m=");
    bad("", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n", "duplicate a=mid");
    bad("", "a=rid:q send\r\na=simulcast:send h\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", "a=simulcast names a rid");

    /* Limits: one past each fails, the limit itself passes. */
    char *many = repeat("a=fingerprint:sha-256 " FP_CHROME "\r\n", SDP_MAX_FINGERPRINT + 1);
    bad("", many, "too many a=fingerprint");
    free(many);
    many = repeat("a=extmap:%d urn:x%d\r\n", SDP_MAX_EXT + 1);
    bad("", many, "too many a=extmap");
    free(many);
    many = repeat("a=extmap:%d urn:x%d\r\n", SDP_MAX_EXT);
    bad("a=extmap:20 urn:session\r\n", many, "too many a=extmap");
    free(many);
    many = repeat("a=ssrc:%d cname:c%d\r\n", SDP_MAX_SSRC + 1);
    bad("", many, "too many SSRCs");
    free(many);
    many = repeat("a=ssrc:%d cname:c%d\r\n", SDP_MAX_SSRC);
    char *t = mk("", many);
    is_int(parse(t, s, &why), IRTC_OK, "SDP_MAX_SSRC ssrcs parse");
    free(t);
    free(many);
    many = repeat("a=rid:r%d send\r\n", SDP_MAX_RID + 1);
    bad("", many, "too many a=rid");
    free(many);
    many = repeat("a=ssrc-group:SIM %d %d\r\n", SDP_MAX_SSRC_GROUP + 1);
    bad("", many, "too many a=ssrc-group");
    free(many);
    bad("", "a=ssrc:1 cname:a\r\na=ssrc-group:SIM 1 1 1 1 1 1 1 1 1\r\n", "a=ssrc-group");
    many = repeat("a=candidate:%d 1 udp 1 127.0.0.1 %d typ host\r\n", 1025);
    bad("", many, "too many a=candidate");
    free(many);
    many = repeat("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:m%d\r\n", SDP_MAX_MEDIA);
    bad("", many, "too many m= lines");
    free(many);
    buf_t b;
    buf_init(&b);
    buf_puts(&b, "m=video 9 UDP/TLS/RTP/SAVPF");
    for (int i = 0; i <= SDP_MAX_PT; i++)
        buf_printf(&b, " %d", i);
    buf_puts(&b, "\r\n");
    bad("", b.base, "too many payload types");
    buf_reset(&b);
    buf_puts(&b, "a=fmtp:96 x=");
    for (int i = 0; i < SDP_FMTP_MAX - 1; i++)
        buf_putc(&b, 'y');
    buf_puts(&b, "\r\n");
    bad("", b.base, "a=fmtp");
    buf_reset(&b);
    buf_puts(&b, "a=extmap:1 urn:");
    for (int i = 0; i < SDP_URI_MAX - 4; i++)
        buf_putc(&b, 'u');
    buf_puts(&b, "\r\n");
    t = mk("", b.base);
    is_int(parse(t, s, &why), IRTC_OK, "extmap URI of SDP_URI_MAX chars parses");
    free(t);
    b.base[b.len - 2] = 'u', b.base[b.len - 1] = '\r';
    buf_puts(&b, "\n");
    bad("", b.base, "a=extmap");
    buf_reset(&b);
    buf_puts(&b, "a=ice-ufrag:");
    for (int i = 0; i <= SDP_ICE_UFRAG_MAX; i++)
        buf_putc(&b, 'u');
    buf_puts(&b, "\r\n");
    bad(b.base, "", "a=ice-ufrag");
    buf_dispose(&b);

    /* A NUL byte inside a line (explicit length). */
    static const char nul[] = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\na=mid\0x\r\n";
    is_int(parse_n(nul, sizeof(nul) - 1, s, &why), IRTC_EINVAL, "NUL byte refused");
    ok(contains(why, "malformed"), "NUL: why %s", why);
    is_int(parse_n(nul, 0, s, NULL), IRTC_EINVAL, "zero length with why NULL");
    free(s);
}

static void test_parse_edges(void)
{
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    const char *why = NULL;
    char *t = mk("a=extmap:5 urn:session-wide\r\na=inactive\r\na=ice-ufrag:sEsS\r\na=setup:active\r\n"
                 "a=fingerprint:SHA-256 " FP_CHROME "\r\n",
                 "a=extmap:3/recvonly urn:x ext-attr\r\na=rtcp-fb:* nack\r\na=rtcp-fb:96 nack pli\r\n"
                 "a=rtcp-fb:96 ccm tmmbr\r\na=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=2\r\n"
                 "a=fmtp:96 max-fr=30;max-fs=12288\r\na=x-google-flag:conference\r\n\r\n"
                 "a=ice-ufrag:mEdI\r\n"
                 "m=video 9/2 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=setup:actpass\r\n"
                 "a=rid:1 send\r\na=rid:2 send\r\na=rid:3 send\r\na=rid:4 recv\r\n"
                 "a=simulcast:send 1,2;~3 recv 4\r\n"
                 "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\na=sctpmap:5000 x 1\r\n");
    is_int(parse(t, s, &why), IRTC_OK, "edge-case SDP parses (%s)", why);
    const sdp_media_t *m = &s->media[0], *m1 = &s->media[1];
    ok(m->dir == SDP_DIR_INACTIVE && m->tr.setup == SDP_SETUP_ACTIVE, "session direction and setup inherited");
    is_str(m->tr.ice_ufrag, "mEdI", "media ufrag overrides the session's");
    is_str(m1->tr.ice_ufrag, "sEsS", "session ufrag inherited");
    is_str(m1->tr.fingerprint[0].alg, "sha-256", "hash name lower-cased");
    ok(m1->tr.setup == SDP_SETUP_ACTPASS, "media setup overrides the session's");
    ok(m->n_ext == 2 && ext_of(m, 3)->dir == SDP_DIR_RECVONLY && strcmp(ext_of(m, 5)->uri, "urn:session-wide") == 0,
       "extmap direction and session-level extmap");
    is_int(pt_of(m, 96)->fb, SDP_FB_NACK | SDP_FB_NACK_PLI, "rtcp-fb:* applies; ccm tmmbr ignored");
    is_int(pt_of(m, 97)->fb, SDP_FB_NACK, "rtcp-fb:* reaches rtx too");
    ok(m->n_pt == 2 && sdp_media_find_pt(m, 98) == NULL, "rtpmap/fmtp of an unlisted pt ignored");
    is_str(pt_of(m, 96)->fmtp, "max-fr=30;max-fs=12288", "unknown fmtp keys kept raw");
    ok(m1->n_sim_send == 2 && strcmp(m1->sim_send[0].rid, "1") == 0 && m1->sim_send[1].paused &&
           strcmp(m1->sim_send[1].rid, "3") == 0,
       "simulcast alternatives and paused streams");
    ok(m1->n_sim_recv == 1 && strcmp(m1->sim_recv[0].rid, "4") == 0, "simulcast recv list");
    ok(m1->port == 9 && s->media[2].kind == SDP_KIND_APPLICATION, "m= port/count");
    ok(s->media[2].sctp_port == 5000 && !s->media[2].sctpmap_dc, "a=sctpmap gives the port; not a data channel map");
    free(t);

    t = mk("a=group:BUNDLE 0  \r\na=group:BUNDLE 1\r\na=extmap:3 urn:session\r\n",
           "a=extmap:3 urn:media\r\na=rtcp-mux-only\r\na=fingerprint:sha3-256 " FP_CHROME "\r\n"
           "m=audio 9 UDP/TLS/RTP/SAVPF 0  \r\na=mid:1\r\n"
           "a=rid:1 send\r\na=rid:2 send\r\na=rid:3 send\r\na=simulcast:send 1,~2;~3\r\n");
    is_int(parse(t, s, &why), IRTC_OK, "second BUNDLE group, extmap override, unknown hash parse (%s)", why);
    ok(s->n_bundle_groups == 2 && s->n_bundle == 1 && strcmp(s->bundle[0], "0") == 0, "only the first BUNDLE kept");
    ok(s->media[0].n_ext == 1 && strcmp(s->media[0].ext[0].uri, "urn:media") == 0,
       "media extmap wins over the session's with the same id");
    ok(s->media[0].rtcp_mux_only && !s->media[0].rtcp_mux, "rtcp-mux-only flag");
    ok(strcmp(s->media[0].tr.fingerprint[0].alg, "sha3-256") == 0, "unknown hash name kept");
    ok(s->media[1].n_pt == 1 && s->media[1].n_sim_send == 2 && s->media[1].sim_send[1].paused,
       "trailing spaces, paused alternatives");
    free(t);

    t = mk("", "a=rid:q send\r\na=rid:h send\r\na=simulcast:send rid=q;h\r\n");
    is_int(parse(t, s, &why), IRTC_OK, "pre-RFC simulcast syntax parses");
    is_int(s->media[0].n_sim_send, 2, "pre-RFC simulcast streams");
    free(t);

    t = mk("", "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:abcdefghijklmnopqrstuvwxyz012345\r\n");
    is_int(parse(t, s, &why), IRTC_OK, "mid of SDP_MID_MAX chars parses");
    is_str(s->media[1].mid, "abcdefghijklmnopqrstuvwxyz012345", "long mid kept");
    free(t);
    t = mk("a=ice-options:trickle trickle trickle trickle trickle trickle trickle trickle trickle trickle trickle "
           "trickle trickle trickle trickle trickle\r\n",
           "");
    is_int(parse(t, s, &why), IRTC_OK, "ice-options of 127 chars parse");
    free(t);

    t = mk("", "a=ssrc:1 msid:stream\r\na=ssrc:1 mslabel:x\r\na=msid:- track\r\n");
    is_int(parse(t, s, &why), IRTC_OK, "msid without track, '-' stream");
    ok(strcmp(s->media[0].ssrc[0].msid_stream, "stream") == 0 && !s->media[0].ssrc[0].msid_track[0] &&
           strcmp(s->media[0].msid_stream, "-") == 0,
       "msid parts");
    free(t);

    is_str(sdp_dir_name(SDP_DIR_RECVONLY), "recvonly", "dir name");
    is_str(sdp_dir_name((sdp_dir_t)42), "", "dir name out of range");
    is_int(sdp_candidate_priority(126, 65535, 1), 2130706431u, "host priority (RFC 8445 §5.1.2.1)");
    is_int(sdp_candidate_priority(0, 0, 2), 254, "priority components");
    free(s);
}

/* ---- truncation, mutation, garbage --------------------------------------------- */

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Parses (and, if that works, negotiates and re-parses the answer); returns
 * false on anything but a clean result. */
static bool clean(const char *text, size_t n, int *rc_out)
{
    static sdp_session_t s, back;
    static sdp_answer_t a;
    sdp_policy_t p;
    const char *why = NULL;
    int rc = parse_n(text, n, &s, &why);
    *rc_out = rc;
    if (rc != IRTC_OK)
        return rc == IRTC_EINVAL && why != NULL;
    base_policy(&p);
    p.accept_data = true;
    p.sendrecv_as = SDP_DIR_SENDRECV;
    why = NULL;
    rc = sdp_negotiate(&s, &p, &a, &why);
    if (rc != IRTC_OK)
        return rc == IRTC_EINVAL && why != NULL;
    buf_t b;
    buf_init(&b);
    sdp_write_answer(&b, &a);
    rc = parse_n(b.base, b.len, &back, &why);
    bool good = rc == IRTC_OK && back.n_media == a.n_media && all_crlf(b.base, b.len);
    buf_dispose(&b);
    return good;
}

static void test_truncation(void)
{
    const struct {
        const char *name, *text;
        size_t step;
    } offers[] = {{"publish", CHROME_PUBLISH, 1},
                  {"subscribe", CHROME_SUBSCRIBE, 5},
                  {"simulcast", CHROME_SIMULCAST, 3},
                  {"data", CHROME_DATA, 3},
                  {"aiortc", AIORTC, 1},
                  {"webrtcbin", WEBRTCBIN, 1}};
    for (size_t k = 0; k < IRTC_ARRAY_SIZE(offers); k++) {
        size_t len = strlen(offers[k].text), n_ok = 0, n_err = 0, unclean = 0;
        for (size_t n = 0; n <= len; n += offers[k].step) {
            int rc;
            unclean += !clean(offers[k].text, n, &rc);
            rc == IRTC_OK ? n_ok++ : n_err++;
        }
        is_int(unclean, 0, "%s: every truncation fails cleanly or round-trips", offers[k].name);
        ok(n_ok > 0 && n_err > 0, "%s: truncations both pass (%zu) and fail (%zu)", offers[k].name, n_ok, n_err);
    }
    sdp_session_t *s = xcalloc(1, sizeof(*s));
    const char *why = NULL;
    const char *cut = strstr(CHROME_PUBLISH, FP_CHROME) + 20;
    is_int(parse_n(CHROME_PUBLISH, (size_t)(cut - CHROME_PUBLISH), s, &why), IRTC_EINVAL, "cut in a fingerprint");
    ok(contains(why, "a=fingerprint"), "  why: %s", why);
    cut = strstr(CHROME_PUBLISH, "a=rtpmap:111 op") + 15;
    is_int(parse_n(CHROME_PUBLISH, (size_t)(cut - CHROME_PUBLISH), s, &why), IRTC_EINVAL, "cut in an rtpmap");
    ok(contains(why, "a=rtpmap"), "  why: %s", why);
    cut = strstr(CHROME_PUBLISH, "a=ssrc-group:FID 2873445410 ") + 28;
    is_int(parse_n(CHROME_PUBLISH, (size_t)(cut - CHROME_PUBLISH), s, &why), IRTC_EINVAL, "cut in an ssrc-group");
    ok(contains(why, "a=ssrc-group"), "  why: %s", why);
    free(s);
}

static void test_garbage(void)
{
    size_t len = strlen(CHROME_PUBLISH), unclean = 0, n_ok = 0;
    char *m = xmalloc(len);
    for (int i = 0; i < 600; i++) {
        memcpy(m, CHROME_PUBLISH, len);
        for (int j = 1 + (int)(rng() % 4); j > 0; j--) {
            static const char alphabet[] = "\r\n\0 :;/=,~*-09aAzZ\x80\xff";
            m[rng() % len] = alphabet[rng() % (sizeof(alphabet) - 1)];
        }
        int rc;
        unclean += !clean(m, len, &rc);
        n_ok += rc == IRTC_OK;
    }
    is_int(unclean, 0, "mutated offers: clean results");
    ok(n_ok > 0 && n_ok < 600, "mutated offers: some survive (%zu), some fail", n_ok);
    free(m);

    char buf[512];
    unclean = 0;
    for (int i = 0; i < 2000; i++) {
        size_t n = rng() % sizeof(buf);
        for (size_t j = 0; j < n; j++)
            buf[j] = i % 2 ? (char)rng() : "v=0\r\nam \t:/"[rng() % 11];
        if (i % 3 == 0 && n > 5)
            memcpy(buf, "v=0\r\n", 5);
        int rc;
        unclean += !clean(buf, n, &rc);
    }
    is_int(unclean, 0, "random bytes: clean results");
}

/* One PeerConnection carrying a publication and a subscription, with one
 * rule per m-line (protocol v2's renegotiation): each m-line answered as its
 * rule says, however many audio and video m-lines there are. */
static const char CHROME_FOUR[] = CHROME_SESSION
    "a=group:BUNDLE 0 1 2 3\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS " STREAM "\r\n" CHROME_AUDIO_M CHROME_TRANSPORT("0")
        CHROME_AUDIO_EXT CHROME_AUDIO_SEND CHROME_VIDEO_M CHROME_TRANSPORT("1") CHROME_VIDEO_EXT CHROME_VIDEO_SEND_HEAD
    "a=rid:q send\r\n"
    "a=rid:h send\r\n"
    "a=rid:f send\r\n"
    "a=simulcast:send q;h;f\r\n" CHROME_AUDIO_M CHROME_TRANSPORT("2") CHROME_AUDIO_EXT
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n" CHROME_AUDIO_CODECS CHROME_VIDEO_M CHROME_TRANSPORT("3") CHROME_VIDEO_EXT
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n" CHROME_VIDEO_CODECS;

static void test_media_policies(void)
{
    sdp_policy_t p;
    base_policy(&p);
    sdp_media_policy_t mp[4] = {
        {.mode = SDP_ML_RECV, .pt = -1},
        {.mode = SDP_ML_RECV, .pt = -1},
        {.mode = SDP_ML_SEND, .pt = -1, .send = {555, 0, "c", "s", "a"}},
        {.mode = SDP_ML_SEND,
         .pt = -1,
         .n_video_order = 1,
         .video_order = {SDP_VIDEO_H264},
         .send = {666, 777, "c", "s", "v"}},
    };
    p.media = mp;
    p.n_media = 4;
    sdp_answer_t *a = xcalloc(1, sizeof(*a));
    char *text = NULL;
    const char *why = NULL;
    ok(negotiate_text(CHROME_FOUR, &p, a, &text, &why) == IRTC_OK, "four m-lines under four rules (%s)",
       why ? why : "");
    ok(!a->media[0].rejected && a->media[0].dir == SDP_DIR_RECVONLY && a->media[0].pt == 111,
       "m0: the client's audio, answered recvonly, opus");
    ok(!a->media[1].rejected && a->media[1].dir == SDP_DIR_RECVONLY && a->media[1].n_rid == 3,
       "m1: the client's simulcast video, its three rids mirrored");
    ok(!a->media[2].rejected && a->media[2].dir == SDP_DIR_SENDONLY && a->media[2].ssrc == 555,
       "m2: audio the server sends, with its SSRC");
    ok(!a->media[3].rejected && a->media[3].dir == SDP_DIR_SENDONLY && strcmp(a->media[3].name, "H264") == 0 &&
           a->media[3].ssrc == 666 && a->media[3].rtx_ssrc == 777,
       "m3: video the server sends in the codec its rule names (H264), with SSRC and RTX SSRC");
    ok(text && has_line(text, "a=ssrc-group:FID 666 777") && has_line(text, "a=group:BUNDLE 0 1 2 3"),
       "the written answer has the FID group and every m-line in BUNDLE");
    int video_pt = a->media[3].pt;
    free(text);

    /* The renegotiation keeps m3's payload type; m1 is now rejected; an
     * m-line past the rules is rejected; a rule whose direction does not fit
     * rejects its m-line rather than the offer. */
    mp[1] = (sdp_media_policy_t){.mode = SDP_ML_REJECT, .pt = -1};
    mp[3].pt = video_pt;
    mp[3].n_video_order = 0;
    mp[2].mode = SDP_ML_RECV; /* m2 is offered recvonly */
    p.n_media = 4;
    ok(negotiate_text(CHROME_FOUR, &p, a, NULL, &why) == IRTC_OK, "renegotiated");
    ok(a->media[1].rejected && a->media[2].rejected,
       "a rejected rule, and a rule against the offered direction: port 0");
    ok(!a->media[3].rejected && a->media[3].pt == video_pt, "a kept payload type (%d)", a->media[3].pt);
    mp[3].pt = 126; /* an audio payload type: not a video codec */
    ok(negotiate_text(CHROME_FOUR, &p, a, NULL, &why) == IRTC_OK && a->media[3].rejected,
       "a kept payload type that no longer fits: that m-line is rejected");
    p.n_media = 1;
    ok(negotiate_text(CHROME_FOUR, &p, a, NULL, &why) == IRTC_OK && !a->media[0].rejected && a->media[1].rejected &&
           a->media[3].rejected && a->n_bundle == 1,
       "m-lines past the rules: rejected, and out of the BUNDLE group");
    free(a);
}

int main(void)
{
    test_media_policies();
    test_parse_publish();
    test_parse_others();
    test_negotiate_publish();
    test_negotiate_subscribe();
    test_negotiate_simulcast_data();
    test_negotiate_aiortc();
    test_extra_mlines();
    test_refusals();
    test_policy_errors();
    test_parse_errors();
    test_parse_edges();
    test_truncation();
    test_garbage();
    return done_testing();
}
