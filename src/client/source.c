/*
 * source.c — synthetic and replayed media for client publications.
 *
 * One owner; no I/O once an rtpdump file is loaded.  Video frames go out as
 * a burst of packets at the frame's time (as an encoder hands them to an
 * unpaced sender); sizes vary ±25 % around the target so the server's
 * buffers see realistic spread.  Does not: pace or adapt to feedback.
 */
#include "client/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "media/rtp.h"

#define AUDIO_INTERVAL_US 20000
#define KEYFRAME_FACTOR 6 /* a keyframe is about six delta frames */

typedef struct {
    uint32_t bitrate_bps;
    uint16_t width, height;
    uint16_t picture_id;
    bool want_key;
} layer_t;

typedef struct {
    uint64_t offset_us;
    uint32_t ts; /* relative to the first packet */
    bool marker;
    uint32_t off, len; /* payload in dump->data */
} dump_pkt_t;

struct ic_source {
    bool audio, video;
    bool external; /* encoded_frames: nothing generated */
    bool h264;     /* the owner's video is H.264 */
    bool have_pts[2];
    uint64_t pts0[2]; /* [video]: the first frame's capture time */
    uint32_t ts0[2];
    unsigned n_layers;
    layer_t layer[3];
    unsigned fps, keyframe_every; /* frames */
    unsigned frame_no;
    uint64_t next_frame_us, next_audio_us;
    uint32_t video_ts, audio_ts;
    unsigned audio_len;
    uint32_t rng;
    /* rtpdump replay */
    uint8_t *dump;
    dump_pkt_t *pkts;
    size_t n_pkts, next_pkt;
    uint64_t dump_start_us;
    uint32_t dump_ts_base;
};

static uint32_t rnd(ic_source_t *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 17;
    s->rng ^= s->rng << 5;
    return s->rng;
}

/* ---- rtpdump (rtptools: "#!rtpplay1.0 address/port\n", a 16-byte file
 * header, then records of {u16 length incl. this 8-byte header, u16 RTP
 * length or 0 for RTCP, u32 ms since start} and the packet) ---- */

static int load_rtpdump(ic_source_t *s, const char *path, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = "cannot open the rtpdump file";
        return IRTC_EIO;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size <= 0 || size > (256L << 20)) {
        fclose(f);
        *why = "rtpdump file empty or over 256 MiB";
        return IRTC_EINVAL;
    }
    s->dump = xmalloc((size_t)size);
    size_t got = fread(s->dump, 1, (size_t)size, f);
    fclose(f);
    const uint8_t *p = s->dump, *end = s->dump + got;
    const uint8_t *nl = memchr(p, '\n', got);
    if (got < 12 || memcmp(p, "#!rtpplay1.0", 12) != 0 || nl == NULL || end - nl < 17) {
        *why = "not an rtpdump file (#!rtpplay1.0)";
        return IRTC_EINVAL;
    }
    p = nl + 1 + 16;
    size_t cap = 0;
    bool first = true;
    uint32_t ts0 = 0;
    while (end - p >= 8) {
        size_t rec = (size_t)p[0] << 8 | p[1], plen = (size_t)p[2] << 8 | p[3];
        uint32_t ms = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
        if (rec < 8 || rec > (size_t)(end - p))
            break;
        rtp_hdr_t h;
        if (plen > 0 && plen <= rec - 8 && rtp_parse(p + 8, plen, &h, NULL) == IRTC_OK && h.payload_len > 0 &&
            h.payload_len <= IC_MAX_PAYLOAD) {
            if (s->n_pkts == cap) {
                cap = cap ? cap * 2 : 1024;
                s->pkts = xrealloc(s->pkts, cap * sizeof(*s->pkts));
            }
            if (first)
                ts0 = h.ts, first = false;
            s->pkts[s->n_pkts++] = (dump_pkt_t){(uint64_t)ms * 1000, h.ts - ts0, h.marker,
                                                (uint32_t)(p + 8 + h.header_len - s->dump), h.payload_len};
        }
        p += rec;
    }
    if (s->n_pkts == 0) {
        *why = "the rtpdump file holds no RTP packet";
        return IRTC_EINVAL;
    }
    return IRTC_OK;
}

ic_source_t *ic_source_new(const ic_publish_opts_t *o, uint64_t now_us, const char **why)
{
    ic_source_t *s = xcalloc(1, sizeof(*s));
    s->audio = o->audio;
    s->video = o->video;
    s->external = o->encoded_frames;
    s->h264 = o->encoded_frames && o->h264;
    s->rng = (uint32_t)now_us | 1;
    s->fps = o->fps ? o->fps : 30;
    unsigned kf_ms = o->keyframe_interval_ms ? o->keyframe_interval_ms : 3000;
    s->keyframe_every = IRTC_MAX(1u, kf_ms * s->fps / 1000);
    s->audio_len = IRTC_MIN(IRTC_MAX(o->audio_payload_len ? o->audio_payload_len : 80, 3u), (unsigned)IC_MAX_PAYLOAD);
    uint32_t top = o->video_bitrate_bps ? o->video_bitrate_bps : 2500000;
    s->n_layers = !o->video ? 0 : o->simulcast >= 3 && !s->external ? 3 : o->simulcast == 2 && !s->external ? 2 : 1;
    /* Largest last; each smaller encoding has half the size and a quarter of the bits. */
    for (unsigned i = 0; i < s->n_layers; i++) {
        unsigned down = s->n_layers - 1 - i;
        s->layer[i].bitrate_bps = top >> (2 * down);
        s->layer[i].width = (uint16_t)((o->width ? o->width : 1280) >> down);
        s->layer[i].height = (uint16_t)((o->height ? o->height : 720) >> down);
        s->layer[i].picture_id = (uint16_t)(rnd(s) & 0x7fff);
        s->layer[i].want_key = true;
    }
    s->video_ts = rnd(s);
    s->audio_ts = rnd(s);
    s->next_frame_us = s->next_audio_us = now_us;
    if (o->video && o->rtpdump_video != NULL) {
        if (load_rtpdump(s, o->rtpdump_video, why) != IRTC_OK) {
            ic_source_free(s);
            return NULL;
        }
        s->n_layers = 1;
        s->dump_start_us = now_us;
        s->dump_ts_base = s->video_ts;
    }
    return s;
}

void ic_source_free(ic_source_t *s)
{
    if (s == NULL)
        return;
    free(s->dump);
    free(s->pkts);
    free(s);
}

unsigned ic_source_layers(const ic_source_t *s)
{
    return s->n_layers;
}

void ic_source_keyframe(ic_source_t *s)
{
    for (unsigned i = 0; i < s->n_layers; i++)
        s->layer[i].want_key = true;
}

bool ic_vp8_is_keyframe(const uint8_t *p, size_t len)
{
    /* Our descriptor is always 4 bytes: X, I, 15-bit picture id (RFC 7741 §4.2). */
    return len > 4 && (p[0] & 0x10) && (p[4] & 0x01) == 0;
}

/* One VP8 frame of one encoding, cut into packets of at most IC_MAX_PAYLOAD. */
static void emit_frame(ic_source_t *s, unsigned li, bool key, ic_emit_fn emit, void *user)
{
    layer_t *L = &s->layer[li];
    uint32_t per_frame = L->bitrate_bps / 8 / s->fps;
    /* Average over a keyframe period stays at the bitrate: d * (K + F - 1) = avg * K. */
    uint32_t delta = (uint32_t)((uint64_t)per_frame * s->keyframe_every / (s->keyframe_every + KEYFRAME_FACTOR - 1));
    uint32_t size = key ? delta * KEYFRAME_FACTOR : delta;
    size = size * (75 + rnd(s) % 51) / 100;
    if (size < 20)
        size = 20;
    uint8_t pkt[IC_MAX_PAYLOAD];
    uint32_t left = size;
    bool first = true;
    while (left > 0) {
        size_t n = IRTC_MIN(left, (uint32_t)IC_MAX_PAYLOAD - 4);
        pkt[0] = (uint8_t)(0x80 | (first ? 0x10 : 0)); /* X, S; partition 0 */
        pkt[1] = 0x80;                                 /* I: picture id follows */
        pkt[2] = (uint8_t)(0x80 | (L->picture_id >> 8));
        pkt[3] = (uint8_t)L->picture_id;
        for (size_t i = 4; i < 4 + n; i++)
            pkt[i] = (uint8_t)rnd(s);
        if (first) {
            /* VP8 frame tag (RFC 6386 §9.1): bit 0 clear on keyframes, show_frame set;
             * a keyframe carries the start code and its size. */
            pkt[4] = (uint8_t)((key ? 0x00 : 0x01) | 0x10);
            if (key && n >= 10) {
                pkt[7] = 0x9d, pkt[8] = 0x01, pkt[9] = 0x2a;
                pkt[10] = (uint8_t)L->width, pkt[11] = (uint8_t)(L->width >> 8);
                if (n >= 12)
                    pkt[12] = (uint8_t)L->height, pkt[13] = (uint8_t)(L->height >> 8);
            }
        }
        left -= (uint32_t)n;
        emit(user, (int)li, s->video_ts, left == 0, pkt, 4 + n);
        first = false;
    }
    L->picture_id = (uint16_t)((L->picture_id + 1) & 0x7fff);
}

static void run_dump(ic_source_t *s, uint64_t now_us, ic_emit_fn emit, void *user)
{
    for (int guard = 0; guard < 10000; guard++) {
        if (s->next_pkt == s->n_pkts) { /* loop the file, timestamps continuing */
            const dump_pkt_t *last = &s->pkts[s->n_pkts - 1];
            s->dump_start_us += last->offset_us + 33000;
            s->dump_ts_base += last->ts + 3000;
            s->next_pkt = 0;
        }
        const dump_pkt_t *p = &s->pkts[s->next_pkt];
        if (s->dump_start_us + p->offset_us > now_us)
            return;
        emit(user, 0, s->dump_ts_base + p->ts, p->marker, s->dump + p->off, p->len);
        s->next_pkt++;
    }
}

/* ---- H.264 (RFC 6184, packetization mode 1) ---- */

#define MAX_NALS 64

/* The NAL units of an Annex B access unit (start codes of 3 or 4 bytes):
 * their count, or -1 when there is none or more than MAX_NALS. */
static int split_nals(const uint8_t *p, size_t len, const uint8_t **nal, size_t *nal_len)
{
    int n = 0;
    size_t i = 0, start = SIZE_MAX;
    while (i + 3 <= len) {
        if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
            if (start != SIZE_MAX) {
                size_t end = i;
                while (end > start && p[end - 1] == 0) /* a 4-byte start code's zero, or trailing zeros */
                    end--;
                if (end > start) {
                    if (n == MAX_NALS)
                        return -1;
                    nal[n] = p + start, nal_len[n++] = end - start;
                }
            }
            i += 3;
            start = i;
        } else {
            i++;
        }
    }
    if (start != SIZE_MAX && len > start) {
        if (n == MAX_NALS)
            return -1;
        nal[n] = p + start, nal_len[n++] = len - start;
    }
    return n > 0 ? n : -1;
}

/* Small NAL units together in STAP-A packets (SPS, PPS, SEI before a
 * slice), one that fits alone as a single NAL unit packet, a larger one
 * cut into FU-A fragments of nearly equal size; the marker on the last. */
static int send_h264(uint32_t ts, const uint8_t *data, size_t len, ic_emit_fn emit, void *user)
{
    const uint8_t *nal[MAX_NALS];
    size_t nal_len[MAX_NALS];
    int n = split_nals(data, len, nal, nal_len);
    if (n < 0)
        return IRTC_EINVAL;
    uint8_t pkt[IC_MAX_PAYLOAD];
    for (int i = 0; i < n;) {
        /* How many of the next units fit one STAP-A (1 header byte, 2 size bytes each). */
        int k = 0;
        size_t stap = 1;
        while (i + k < n && stap + 2 + nal_len[i + k] <= IC_MAX_PAYLOAD)
            stap += 2 + nal_len[i + k++];
        if (k >= 2) {
            uint8_t nri = 0;
            size_t off = 1;
            for (int j = i; j < i + k; j++) {
                nri = (uint8_t)IRTC_MAX(nri, nal[j][0] & 0x60);
                pkt[off++] = (uint8_t)(nal_len[j] >> 8), pkt[off++] = (uint8_t)nal_len[j];
                memcpy(pkt + off, nal[j], nal_len[j]);
                off += nal_len[j];
            }
            pkt[0] = (uint8_t)(nri | 24);
            i += k;
            emit(user, 0, ts, i == n, pkt, off);
        } else if (k == 1) {
            emit(user, 0, ts, i + 1 == n, nal[i], nal_len[i]);
            i++;
        } else {
            const uint8_t *p = nal[i] + 1;
            size_t left = nal_len[i] - 1, room = IC_MAX_PAYLOAD - 2, frags = (left + room - 1) / room;
            for (size_t f = 0; f < frags; f++) {
                size_t m = left / (frags - f);
                pkt[0] = (uint8_t)((nal[i][0] & 0xe0) | 28);
                pkt[1] = (uint8_t)((f == 0 ? 0x80 : 0) | (f + 1 == frags ? 0x40 : 0) | (nal[i][0] & 0x1f));
                memcpy(pkt + 2, p, m);
                p += m, left -= m;
                emit(user, 0, ts, f + 1 == frags && i + 1 == n, pkt, 2 + m);
            }
            i++;
        }
    }
    return IRTC_OK;
}

int ic_source_send_frame(ic_source_t *s, bool video, uint64_t pts_us, const uint8_t *data, size_t len, ic_emit_fn emit,
                         void *user)
{
    if (!s->external || !(video ? s->video : s->audio) || len == 0 || data == NULL ||
        len > (video ? IC_MAX_FRAME : IC_MAX_PAYLOAD))
        return IRTC_EINVAL;
    int k = video;
    if (!s->have_pts[k]) {
        s->have_pts[k] = true;
        s->pts0[k] = pts_us;
        s->ts0[k] = video ? s->video_ts : s->audio_ts;
    }
    /* Signed: a capture clock stepping back a little must not jump the timestamp by hours. */
    int64_t dt = (int64_t)(pts_us - s->pts0[k]);
    uint32_t ts = s->ts0[k] + (uint32_t)(dt * (video ? 90 : 48) / 1000);
    if (!video) {
        emit(user, -1, ts, false, data, len);
        return IRTC_OK;
    }
    if (s->h264)
        return send_h264(ts, data, len, emit, user);
    /* Packets of nearly equal size (as libwebrtc cuts them), each behind a
     * 4-byte descriptor: X, S on the first, I with M (15-bit picture id). */
    layer_t *L = &s->layer[0];
    size_t room = IC_MAX_PAYLOAD - 4, n_pkts = (len + room - 1) / room, off = 0;
    uint8_t pkt[IC_MAX_PAYLOAD];
    for (size_t i = 0; i < n_pkts; i++) {
        size_t n = (len - off) / (n_pkts - i);
        pkt[0] = (uint8_t)(0x80 | (i == 0 ? 0x10 : 0));
        pkt[1] = 0x80;
        pkt[2] = (uint8_t)(0x80 | (L->picture_id >> 8));
        pkt[3] = (uint8_t)L->picture_id;
        memcpy(pkt + 4, data + off, n);
        off += n;
        emit(user, 0, ts, i + 1 == n_pkts, pkt, 4 + n);
    }
    L->picture_id = (uint16_t)((L->picture_id + 1) & 0x7fff);
    return IRTC_OK;
}

void ic_source_run(ic_source_t *s, uint64_t now_us, ic_emit_fn emit, void *user)
{
    if (s->external)
        return;
    /* At most a second of backlog after a stall: a real encoder drops frames. */
    if (s->audio && now_us > s->next_audio_us + 1000000)
        s->next_audio_us = now_us;
    while (s->audio && s->next_audio_us <= now_us) {
        uint8_t a[IC_MAX_PAYLOAD] = {0xF8, 0xFF, 0xFE}; /* CELT fullband 20 ms, silence */
        emit(user, -1, s->audio_ts, false, a, s->audio_len);
        s->audio_ts += 960;
        s->next_audio_us += AUDIO_INTERVAL_US;
    }
    if (!s->video)
        return;
    if (s->pkts != NULL) {
        run_dump(s, now_us, emit, user);
        return;
    }
    uint64_t interval = 1000000 / s->fps;
    if (now_us > s->next_frame_us + 1000000)
        s->next_frame_us = now_us;
    while (s->next_frame_us <= now_us) {
        bool periodic = s->frame_no % s->keyframe_every == 0;
        for (unsigned i = 0; i < s->n_layers; i++) {
            bool key = periodic || s->layer[i].want_key;
            s->layer[i].want_key = false;
            emit_frame(s, i, key, emit, user);
        }
        s->frame_no++;
        s->video_ts += 90000 / s->fps;
        s->next_frame_us += interval;
    }
}
