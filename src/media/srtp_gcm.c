/*
 * srtp_gcm.c — AEAD_AES_128_GCM SRTP/SRTCP (RFC 7714) on OpenSSL EVP.
 *
 * Runs on the thread that owns the transport; per packet: one IV set on a
 * pre-keyed EVP context, one AAD update, one in-place cipher update, the
 * tag.  No allocation except when an authenticated packet brings an SSRC
 * the table has no room for (doubling, bounded by SEC_GCM_MAX_STREAMS).
 *
 * The contexts use OpenSSL's built-in AES-GCM method directly (see
 * direct_gcm): the same AES-NI/PCLMUL code as its default provider, without
 * the provider layer's per-call parameter lookups.
 *
 * Where RFC 3711 leaves a choice, libsrtp 2.5's is followed so that both
 * produce the same bytes: a new SSRC starts at rollover counter 0 with the
 * packet's own sequence number (rdbx.c treats an index <= 2^15 as "no
 * guess yet"), SRTCP indices start at 1, a sender may repeat an index
 * inside the replay window (NACK answers) but not older than it.
 *
 * Does not: parse more of RTP than the header length, log, or handle MKI.
 */
#include "media/srtp_gcm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* EVP_CIPHER_meth_dup is deprecated in OpenSSL 3 (with the rest of the
 * method API); direct_gcm says why it is used all the same. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>

#include "core/common.h"

#define RTP_WIN_BITS 1024 /* as srtp_session.c asks of libsrtp */
#define RTCP_WIN_BITS 128 /* libsrtp's fixed SRTCP window */
#define SRTCP_E 0x80000000u
#define SRTCP_INDEX_MAX 0x7fffffffu

typedef struct {
    uint32_t ssrc;
    uint64_t rtp_hi; /* highest 48-bit packet index (ROC << 16 | SEQ) */
    uint64_t rtp_win[RTP_WIN_BITS / 64];
    uint32_t rtcp_hi; /* inbound: highest SRTCP index; outbound: last one used */
    uint64_t rtcp_win[RTCP_WIN_BITS / 64];
} stream_t;

struct sec_gcm {
    bool inbound;
    EVP_CIPHER_CTX *rtp, *rtcp; /* keyed once with the session keys */
    uint8_t rtp_salt[12], rtcp_salt[12];
    stream_t *streams;
    unsigned n_streams, cap_streams;
    unsigned last; /* index of the last stream used: most packets repeat it */
};

/* ---- key derivation (RFC 3711 §4.3.1 with the AES-CM PRF, §4.3.3) ---- */

/* key_id = label || r with r = 0 (no key derivation rate), XORed into the
 * master salt, which RFC 7714 §11 pads with two zero bytes to the 112 bits
 * the PRF expects; the counter is that value times 2^16. */
static int kdf(const uint8_t key[16], const uint8_t salt[12], uint8_t label, uint8_t *out, size_t n)
{
    uint8_t iv[16] = {0}, zero[16] = {0};
    memcpy(iv, salt, 12);
    iv[7] ^= label;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, ok = c != NULL && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
                       EVP_EncryptUpdate(c, out, &outl, zero, (int)n) == 1 && (size_t)outl == n;
    EVP_CIPHER_CTX_free(c);
    return ok ? IRTC_OK : IRTC_ECRYPTO;
}

/* OpenSSL 3 sends a context keyed with EVP_aes_128_gcm() through its
 * provider layer, where every IV set asks the IV length and every tag read
 * goes through OSSL_PARAM lookups (a dozen strcmp per packet): ~40 % of a
 * small packet's protect, 130-150 ns of a 1200-byte one's here
 * (docs/BENCHMARKS.md).  A copy of the built-in method (EVP_CIPHER_meth_dup)
 * is a "legacy" method to EVP, which calls its functions directly: the same
 * AES-NI/PCLMUL assembly, the same bytes (test_srtp_gcm checks them against
 * libsrtp2), no parameter dispatch.  It bypasses providers, so a FIPS
 * configuration would want IRTC_SRTP_GCM=provider, which also restores the
 * provider path for before/after measurements.  NULL when the copy is
 * refused (an OpenSSL without the method API): the provider's, as before.
 * Made once per process and kept for its lifetime. */
static EVP_CIPHER *direct_gcm;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void make_method(void)
{
    direct_gcm = EVP_CIPHER_meth_dup(EVP_aes_128_gcm());
}

/* Read at each keying (µs, not per packet), so that a test can key both. */
static const EVP_CIPHER *gcm_method(void)
{
    const char *e = getenv("IRTC_SRTP_GCM");
    if (e != NULL && strcmp(e, "provider") == 0)
        return NULL;
    pthread_once(&method_once, make_method);
    return direct_gcm;
}

static EVP_CIPHER_CTX *keyed_ctx(const uint8_t key[16], bool encrypt)
{
    const EVP_CIPHER *direct = gcm_method();
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return NULL;
    if (direct != NULL && EVP_CipherInit_ex(c, direct, NULL, key, NULL, encrypt ? 1 : 0) == 1)
        return c;
    if (EVP_CIPHER_CTX_reset(c) != 1 || EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, key, NULL, encrypt ? 1 : 0) != 1) {
        EVP_CIPHER_CTX_free(c);
        return NULL;
    }
    return c;
}

sec_gcm_t *sec_gcm_new(const uint8_t key[16], const uint8_t salt[12], bool inbound)
{
    uint8_t rtp_key[16], rtcp_key[16];
    sec_gcm_t *g = xcalloc(1, sizeof(*g));
    g->inbound = inbound;
    if (kdf(key, salt, 0x00, rtp_key, 16) != IRTC_OK || kdf(key, salt, 0x02, g->rtp_salt, 12) != IRTC_OK ||
        kdf(key, salt, 0x03, rtcp_key, 16) != IRTC_OK || kdf(key, salt, 0x05, g->rtcp_salt, 12) != IRTC_OK)
        goto fail;
    g->rtp = keyed_ctx(rtp_key, !inbound);
    g->rtcp = keyed_ctx(rtcp_key, !inbound);
    if (g->rtp == NULL || g->rtcp == NULL)
        goto fail;
    memset(rtp_key, 0, sizeof(rtp_key));
    memset(rtcp_key, 0, sizeof(rtcp_key));
    g->cap_streams = 4;
    g->streams = xcalloc(g->cap_streams, sizeof(*g->streams));
    return g;
fail:
    memset(rtp_key, 0, sizeof(rtp_key));
    memset(rtcp_key, 0, sizeof(rtcp_key));
    sec_gcm_free(g);
    return NULL;
}

void sec_gcm_free(sec_gcm_t *g)
{
    if (g == NULL)
        return;
    EVP_CIPHER_CTX_free(g->rtp);
    EVP_CIPHER_CTX_free(g->rtcp);
    free(g->streams);
    memset(g, 0, sizeof(*g));
    free(g);
}

/* ---- per-SSRC state ---- */

static stream_t *stream_find(sec_gcm_t *g, uint32_t ssrc)
{
    if (g->n_streams > 0 && g->streams[g->last].ssrc == ssrc)
        return &g->streams[g->last];
    for (unsigned i = 0; i < g->n_streams; i++) {
        if (g->streams[i].ssrc == ssrc) {
            g->last = i;
            return &g->streams[i];
        }
    }
    return NULL;
}

/* Only after a packet authenticated (inbound) or when we send (outbound). */
static stream_t *stream_add(sec_gcm_t *g, uint32_t ssrc)
{
    if (g->n_streams == g->cap_streams) {
        if (g->cap_streams >= SEC_GCM_MAX_STREAMS)
            return NULL;
        g->cap_streams *= 2;
        g->streams = xrealloc(g->streams, g->cap_streams * sizeof(*g->streams));
    }
    stream_t *s = &g->streams[g->n_streams];
    memset(s, 0, sizeof(*s));
    s->ssrc = ssrc;
    g->last = g->n_streams++;
    return s;
}

/* ---- packet index and replay windows ---- */

/* RFC 3711 Appendix A, with libsrtp's rule that an index at or below 2^15
 * means no rollover can have happened yet. */
static uint64_t estimate_index(uint64_t hi, uint16_t seq)
{
    if (hi <= 32768)
        return seq;
    uint32_t roc = (uint32_t)(hi >> 16), guess = roc;
    int l = (uint16_t)hi;
    if (l < 32768) {
        if ((int)seq - l > 32768)
            guess = roc - 1;
    } else if (l - 32768 > (int)seq) {
        guess = roc + 1;
    }
    return (uint64_t)guess << 16 | seq;
}

/* Bit k of win means index hi - k was accepted. */
static int win_check(const uint64_t *win, unsigned bits, uint64_t hi, uint64_t idx)
{
    if (idx > hi)
        return IRTC_OK;
    uint64_t d = hi - idx;
    if (d >= bits || (win[d / 64] >> (d % 64) & 1))
        return IRTC_ECRYPTO; /* too old, or a replay */
    return IRTC_OK;
}

static void win_add(uint64_t *win, unsigned bits, uint64_t *hi, uint64_t idx)
{
    unsigned words = bits / 64;
    if (idx > *hi) {
        uint64_t shift = idx - *hi;
        if (shift >= bits) {
            memset(win, 0, words * sizeof(*win));
        } else {
            unsigned ws = (unsigned)(shift / 64), bs = (unsigned)(shift % 64);
            for (unsigned i = words; i-- > 0;) {
                uint64_t v = i >= ws ? win[i - ws] << bs : 0;
                if (bs && i > ws)
                    v |= win[i - ws - 1] >> (64 - bs);
                win[i] = v;
            }
        }
        *hi = idx;
    }
    uint64_t d = *hi - idx;
    win[d / 64] |= 1ull << (d % 64);
}

/* ---- AEAD ---- */

static size_t rtp_header_len(const uint8_t *p, size_t len)
{
    if (len < 12 || (p[0] >> 6) != 2)
        return 0;
    size_t hl = 12 + 4u * (p[0] & 0x0f);
    if (p[0] & 0x10) {
        if (hl + 4 > len)
            return 0;
        hl += 4 + 4u * ((size_t)p[hl + 2] << 8 | p[hl + 3]);
    }
    return hl <= len ? hl : 0;
}

static void make_iv(uint8_t iv[12], const uint8_t salt[12], uint32_t ssrc, uint32_t hi32, uint16_t lo16)
{
    /* RFC 7714 §8.1 (SRTP: ROC, SEQ) and §9.1 (SRTCP: 0, index). */
    iv[0] = iv[1] = 0;
    iv[2] = (uint8_t)(ssrc >> 24), iv[3] = (uint8_t)(ssrc >> 16), iv[4] = (uint8_t)(ssrc >> 8), iv[5] = (uint8_t)ssrc;
    iv[6] = (uint8_t)(hi32 >> 24), iv[7] = (uint8_t)(hi32 >> 16), iv[8] = (uint8_t)(hi32 >> 8), iv[9] = (uint8_t)hi32;
    iv[10] = (uint8_t)(lo16 >> 8), iv[11] = (uint8_t)lo16;
    for (int i = 0; i < 12; i++)
        iv[i] ^= salt[i];
}

/* Encrypts [p, p + n) in place after authenticating aad; writes the tag at
 * p + n. */
static int seal(EVP_CIPHER_CTX *c, const uint8_t iv[12], const uint8_t *aad, size_t aad_len, uint8_t *p, size_t n)
{
    int outl;
    if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aad_len) != 1)
        return IRTC_ECRYPTO;
    if (n > 0 && EVP_EncryptUpdate(c, p, &outl, p, (int)n) != 1)
        return IRTC_ECRYPTO;
    if (EVP_EncryptFinal_ex(c, p + n, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEC_GCM_TAG_LEN, p + n) != 1)
        return IRTC_ECRYPTO;
    return IRTC_OK;
}

/* Decrypts [p, p + n) in place and checks the tag at p + n. */
static int open_(EVP_CIPHER_CTX *c, const uint8_t iv[12], const uint8_t *aad, size_t aad_len, uint8_t *p, size_t n)
{
    int outl;
    if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1 || EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aad_len) != 1)
        return IRTC_ECRYPTO;
    if (n > 0 && EVP_DecryptUpdate(c, p, &outl, p, (int)n) != 1)
        return IRTC_ECRYPTO;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEC_GCM_TAG_LEN, p + n) != 1 ||
        EVP_DecryptFinal_ex(c, p + n, &outl) != 1)
        return IRTC_ECRYPTO;
    return IRTC_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

int sec_gcm_protect_rtp(sec_gcm_t *g, uint8_t *buf, size_t *len, size_t cap)
{
    size_t hl = rtp_header_len(buf, *len);
    if (g->inbound || hl == 0 || *len > 0xffff || cap < *len + SEC_GCM_TAG_LEN)
        return IRTC_EINVAL;
    uint32_t ssrc = be32(buf + 8);
    uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
    stream_t *s = stream_find(g, ssrc);
    if (s == NULL && (s = stream_add(g, ssrc)) == NULL)
        return IRTC_ECRYPTO;
    uint64_t idx = estimate_index(s->rtp_hi, seq);
    /* A repeated index is a retransmission (allowed); one older than the
     * window is refused, as libsrtp does. */
    if (s->rtp_hi >= idx && s->rtp_hi - idx >= RTP_WIN_BITS)
        return IRTC_ECRYPTO;
    uint8_t iv[12];
    make_iv(iv, g->rtp_salt, ssrc, (uint32_t)(idx >> 16), seq);
    int rc = seal(g->rtp, iv, buf, hl, buf + hl, *len - hl);
    if (rc != IRTC_OK)
        return rc;
    /* A sender needs only the highest index (for the rollover guess and the
     * window's lower edge), not which indices it used: resends are allowed. */
    if (idx > s->rtp_hi)
        s->rtp_hi = idx;
    *len += SEC_GCM_TAG_LEN;
    return IRTC_OK;
}

int sec_gcm_unprotect_rtp(sec_gcm_t *g, uint8_t *buf, size_t *len)
{
    size_t hl = rtp_header_len(buf, *len);
    if (!g->inbound || hl == 0 || *len < hl + SEC_GCM_TAG_LEN || *len > 0xffff)
        return IRTC_EINVAL;
    uint32_t ssrc = be32(buf + 8);
    uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
    stream_t *s = stream_find(g, ssrc);
    uint64_t idx = s != NULL ? estimate_index(s->rtp_hi, seq) : seq;
    if (s != NULL && win_check(s->rtp_win, RTP_WIN_BITS, s->rtp_hi, idx) != IRTC_OK)
        return IRTC_ECRYPTO;
    uint8_t iv[12];
    make_iv(iv, g->rtp_salt, ssrc, (uint32_t)(idx >> 16), seq);
    size_t n = *len - hl - SEC_GCM_TAG_LEN;
    if (open_(g->rtp, iv, buf, hl, buf + hl, n) != IRTC_OK)
        return IRTC_ECRYPTO;
    if (s == NULL && (s = stream_add(g, ssrc)) == NULL)
        return IRTC_ECRYPTO;
    win_add(s->rtp_win, RTP_WIN_BITS, &s->rtp_hi, idx);
    *len -= SEC_GCM_TAG_LEN;
    return IRTC_OK;
}

#define RTCP_HDR 8

int sec_gcm_protect_rtcp(sec_gcm_t *g, uint8_t *buf, size_t *len, size_t cap)
{
    if (g->inbound || *len < RTCP_HDR || (buf[0] >> 6) != 2 || *len > 0xffff || cap < *len + SEC_GCM_TAG_LEN + 4)
        return IRTC_EINVAL;
    uint32_t ssrc = be32(buf + 4);
    stream_t *s = stream_find(g, ssrc);
    if (s == NULL && (s = stream_add(g, ssrc)) == NULL)
        return IRTC_ECRYPTO;
    if (s->rtcp_hi >= SRTCP_INDEX_MAX)
        return IRTC_ECRYPTO; /* the key is used up (RFC 3711 §9.2) */
    uint32_t index = ++s->rtcp_hi;
    uint8_t iv[12], aad[RTCP_HDR + 4];
    make_iv(iv, g->rtcp_salt, ssrc, 0, 0);
    iv[8] ^= (uint8_t)(index >> 24), iv[9] ^= (uint8_t)(index >> 16), iv[10] ^= (uint8_t)(index >> 8),
        iv[11] ^= (uint8_t)index;
    memcpy(aad, buf, RTCP_HDR);
    put_be32(aad + RTCP_HDR, SRTCP_E | index);
    int rc = seal(g->rtcp, iv, aad, sizeof(aad), buf + RTCP_HDR, *len - RTCP_HDR);
    if (rc != IRTC_OK)
        return rc;
    put_be32(buf + *len + SEC_GCM_TAG_LEN, SRTCP_E | index);
    *len += SEC_GCM_TAG_LEN + 4;
    return IRTC_OK;
}

int sec_gcm_unprotect_rtcp(sec_gcm_t *g, uint8_t *buf, size_t *len)
{
    if (!g->inbound || *len < RTCP_HDR + SEC_GCM_TAG_LEN + 4 || (buf[0] >> 6) != 2 || *len > 0xffff)
        return IRTC_EINVAL;
    uint32_t ssrc = be32(buf + 4), word = be32(buf + *len - 4), index = word & SRTCP_INDEX_MAX;
    bool encrypted = (word & SRTCP_E) != 0;
    stream_t *s = stream_find(g, ssrc);
    uint64_t hi = s != NULL ? s->rtcp_hi : 0;
    if (s != NULL && win_check(s->rtcp_win, RTCP_WIN_BITS, hi, index) != IRTC_OK)
        return IRTC_ECRYPTO;
    uint8_t iv[12];
    make_iv(iv, g->rtcp_salt, ssrc, 0, 0);
    iv[8] ^= (uint8_t)(index >> 24), iv[9] ^= (uint8_t)(index >> 16), iv[10] ^= (uint8_t)(index >> 8),
        iv[11] ^= (uint8_t)index;
    size_t body = *len - 4 - SEC_GCM_TAG_LEN; /* header + encrypted portion */
    int rc;
    if (encrypted) {
        uint8_t aad[RTCP_HDR + 4];
        memcpy(aad, buf, RTCP_HDR);
        put_be32(aad + RTCP_HDR, word);
        rc = open_(g->rtcp, iv, aad, sizeof(aad), buf + RTCP_HDR, body - RTCP_HDR);
    } else {
        /* RFC 7714 §9.3: unencrypted SRTCP authenticates the whole packet and
         * the E/index word.  The word sits after the tag on the wire, so move
         * it in front of the tag for the AAD, then back. */
        uint8_t tag[SEC_GCM_TAG_LEN];
        memcpy(tag, buf + body, SEC_GCM_TAG_LEN);
        put_be32(buf + body, word);
        memcpy(buf + body + 4, tag, SEC_GCM_TAG_LEN);
        rc = open_(g->rtcp, iv, buf, body + 4, buf + body + 4, 0);
    }
    if (rc != IRTC_OK)
        return IRTC_ECRYPTO;
    if (s == NULL && (s = stream_add(g, ssrc)) == NULL)
        return IRTC_ECRYPTO;
    uint64_t h = s->rtcp_hi;
    win_add(s->rtcp_win, RTCP_WIN_BITS, &h, index);
    s->rtcp_hi = (uint32_t)h;
    *len = body;
    return IRTC_OK;
}
