/*
 * stun.c — STUN message parsing, verification and the two responses an
 * ICE-lite server sends (RFC 5389 / 8489, RFC 8445 §2.5, RFC 7675).
 *
 * Runs on the media worker threads, once per STUN datagram: no locks, no
 * logging (callers count drops), no allocation (crypto_hmac_sha1 is
 * allocation-free).
 *
 * Does not: hold ICE state, choose error codes, or do long-term credentials.
 */
#include "media/stun.h"

#include <string.h>
#include <netinet/in.h>
#include <openssl/crypto.h>

#include "core/bytes.h"
#include "core/common.h"
#include "core/crypto.h"

#define FINGERPRINT_XOR 0x5354554eu
#define MI_ATTR_LEN (4 + STUN_HMAC_LEN)
#define FP_ATTR_LEN 8

/* Reflected CRC-32, polynomial 0xEDB88320 (ISO 3309, as zlib); the table is
 * a literal so no thread ever races to build it. */
/* clang-format off */
static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu, 0xe963a535u, 0x9e6495a3u,
    0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u, 0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u,
    0x1db71064u, 0x6ab020f2u, 0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u, 0xfa0f3d63u, 0x8d080df5u,
    0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u, 0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu,
    0x35b5a8fau, 0x42b2986cu, 0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u, 0xcfba9599u, 0xb8bda50fu,
    0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u, 0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du,
    0x76dc4190u, 0x01db7106u, 0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du, 0x91646c97u, 0xe6635c01u,
    0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu, 0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u,
    0x65b0d9c6u, 0x12b7e950u, 0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u, 0xa4d1c46du, 0xd3d6f4fbu,
    0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u, 0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u,
    0x5005713cu, 0x270241aau, 0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u, 0xb7bd5c3bu, 0xc0ba6cadu,
    0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au, 0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u,
    0xe3630b12u, 0x94643b84u, 0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu, 0x196c3671u, 0x6e6b06e7u,
    0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu, 0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u,
    0xd6d6a3e8u, 0xa1d1937eu, 0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u, 0x316e8eefu, 0x4669be79u,
    0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u, 0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu,
    0xc5ba3bbeu, 0xb2bd0b28u, 0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu, 0x72076785u, 0x05005713u,
    0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u, 0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u,
    0x86d3d2d4u, 0xf1d4e242u, 0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u, 0x616bffd3u, 0x166ccf45u,
    0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u, 0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu,
    0xaed16a4au, 0xd9d65adcu, 0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u, 0x54de5729u, 0x23d967bfu,
    0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u, 0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};
/* clang-format on */

uint32_t stun_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

bool stun_is_stun(const uint8_t *buf, size_t len)
{
    if (len < STUN_HEADER_LEN || buf[0] > 3)
        return false;
    uint16_t body = rd16(buf + 2);
    return (body & 3) == 0 && (size_t)body + STUN_HEADER_LEN == len && rd32(buf + 4) == STUN_MAGIC_COOKIE;
}

static bool is_known_required(uint16_t type)
{
    switch (type) {
    case STUN_ATTR_MAPPED_ADDRESS:
    case STUN_ATTR_USERNAME:
    case STUN_ATTR_MESSAGE_INTEGRITY:
    case STUN_ATTR_ERROR_CODE:
    case STUN_ATTR_UNKNOWN_ATTRIBUTES:
    case STUN_ATTR_REALM:
    case STUN_ATTR_NONCE:
    case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
    case STUN_ATTR_PASSWORD_ALGORITHM:
    case STUN_ATTR_USERHASH:
    case STUN_ATTR_XOR_MAPPED_ADDRESS:
    case STUN_ATTR_PRIORITY:
    case STUN_ATTR_USE_CANDIDATE:
        return true;
    }
    return false;
}

/* Checks one attribute's fixed size and records it; off is the attribute
 * header's offset.  Returns NULL or a reason. */
static const char *take_attr(stun_msg_t *m, uint16_t type, const uint8_t *v, uint16_t vlen, size_t off)
{
    switch (type) {
    case STUN_ATTR_USERNAME:
        if (vlen > STUN_MAX_USERNAME)
            return "USERNAME too long";
        if (m->username == NULL) {
            m->username = v;
            m->username_len = vlen;
        }
        return NULL;
    case STUN_ATTR_PRIORITY:
        if (vlen != 4)
            return "bad PRIORITY length";
        if (!m->has_priority) {
            m->has_priority = true;
            m->priority = rd32(v);
        }
        return NULL;
    case STUN_ATTR_USE_CANDIDATE:
        if (vlen != 0)
            return "bad USE-CANDIDATE length";
        m->use_candidate = true;
        return NULL;
    case STUN_ATTR_ICE_CONTROLLING:
    case STUN_ATTR_ICE_CONTROLLED:
        if (vlen != 8)
            return "bad ICE-CONTROLLING/CONTROLLED length";
        if (!m->has_ice_controlling && !m->has_ice_controlled)
            m->tie_breaker = (uint64_t)rd32(v) << 32 | rd32(v + 4);
        if (type == STUN_ATTR_ICE_CONTROLLING)
            m->has_ice_controlling = true;
        else
            m->has_ice_controlled = true;
        return NULL;
    case STUN_ATTR_ERROR_CODE:
        /* RFC 5389 §15.6: class 3..6, number 0..99. */
        if (vlen < 4 || (v[2] & 7) < 3 || (v[2] & 7) > 6 || v[3] > 99)
            return "bad ERROR-CODE";
        if (!m->has_error_code) {
            m->has_error_code = true;
            m->error_code = (uint16_t)((v[2] & 7) * 100 + v[3]);
        }
        return NULL;
    case STUN_ATTR_XOR_MAPPED_ADDRESS:
        if (vlen != 8 && vlen != 20)
            return "bad XOR-MAPPED-ADDRESS length";
        if (m->xor_mapped_off == 0)
            m->xor_mapped_off = off;
        return NULL;
    case STUN_ATTR_MESSAGE_INTEGRITY:
        if (vlen != STUN_HMAC_LEN)
            return "bad MESSAGE-INTEGRITY length";
        m->integrity_off = off;
        return NULL;
    case STUN_ATTR_FINGERPRINT:
        if (vlen != 4)
            return "bad FINGERPRINT length";
        m->fingerprint_off = off;
        m->fingerprint = rd32(v);
        return NULL;
    }
    if (type < 0x8000 && !is_known_required(type) && m->n_unknown < STUN_MAX_UNKNOWN)
        m->unknown[m->n_unknown++] = type;
    return NULL;
}

int stun_parse(const uint8_t *buf, size_t len, stun_msg_t *out, const char **why)
{
    const char *err = NULL;
    memset(out, 0, sizeof(*out));
    if (len < STUN_HEADER_LEN) {
        err = "shorter than a STUN header";
        goto fail;
    }
    if (!stun_is_stun(buf, len)) {
        if (buf[0] > 3)
            err = "first byte outside 0..3";
        else if (rd32(buf + 4) != STUN_MAGIC_COOKIE)
            err = "no magic cookie";
        else
            err = "length field does not match the datagram";
        goto fail;
    }
    out->type = rd16(buf);
    out->method = (uint16_t)((out->type & 0x000F) | ((out->type & 0x00E0) >> 1) | ((out->type & 0x3E00) >> 2));
    out->cls = (stun_class_t)(((out->type >> 4) & 1) | ((out->type >> 7) & 2));
    out->length = rd16(buf + 2);
    memcpy(out->txid, buf + 8, STUN_TXID_LEN);

    for (size_t off = STUN_HEADER_LEN; off < len;) {
        if (out->fingerprint_off != 0) {
            err = "attribute after FINGERPRINT";
            goto fail;
        }
        /* len and off are both multiples of 4 here, so a header fits. */
        uint16_t type = rd16(buf + off), vlen = rd16(buf + off + 2);
        size_t padded = ((size_t)vlen + 3) & ~(size_t)3;
        if (padded > len - off - 4) {
            err = "attribute overruns message";
            goto fail;
        }
        /* §15.4: after MESSAGE-INTEGRITY only FINGERPRINT is looked at. */
        if (out->integrity_off == 0 || type == STUN_ATTR_FINGERPRINT) {
            if ((err = take_attr(out, type, buf + off + 4, vlen, off)) != NULL)
                goto fail;
        }
        off += 4 + padded;
    }
    return IRTC_OK;
fail:
    if (why != NULL)
        *why = err;
    return IRTC_EINVAL;
}

int stun_check_integrity(const uint8_t *buf, size_t len, const stun_msg_t *m, const char *pwd, size_t pwdlen)
{
    if (m->integrity_off == 0)
        return IRTC_ENOTFOUND;
    if (pwd == NULL || m->integrity_off < STUN_HEADER_LEN || m->integrity_off + MI_ATTR_LEN > len)
        return IRTC_EINVAL;
    /* The length field must cover the message up to and including
     * MESSAGE-INTEGRITY, whatever follows it (§15.4). */
    uint8_t hdr[4];
    memcpy(hdr, buf, 2);
    wr16(hdr + 2, (uint16_t)(m->integrity_off - STUN_HEADER_LEN + MI_ATTR_LEN));
    uint8_t mac[STUN_HMAC_LEN];
    crypto_hmac_sha1(pwd, pwdlen, hdr, 4, buf + 4, m->integrity_off - 4, mac);
    return CRYPTO_memcmp(mac, buf + m->integrity_off + 4, STUN_HMAC_LEN) == 0 ? IRTC_OK : IRTC_ECRYPTO;
}

int stun_check_fingerprint(const uint8_t *buf, size_t len, const stun_msg_t *m)
{
    if (m->fingerprint_off == 0)
        return IRTC_ENOTFOUND;
    if (m->fingerprint_off < STUN_HEADER_LEN || m->fingerprint_off + FP_ATTR_LEN > len)
        return IRTC_EINVAL;
    uint8_t hdr[4];
    memcpy(hdr, buf, 2);
    wr16(hdr + 2, (uint16_t)(m->fingerprint_off - STUN_HEADER_LEN + FP_ATTR_LEN));
    uint32_t crc = stun_crc32(stun_crc32(0, hdr, 4), buf + 4, m->fingerprint_off - 4);
    return (crc ^ FINGERPRINT_XOR) == rd32(buf + m->fingerprint_off + 4) ? IRTC_OK : IRTC_ECRYPTO;
}

int stun_get_xor_mapped(const uint8_t *buf, size_t len, const stun_msg_t *m, struct sockaddr_storage *out)
{
    size_t off = m->xor_mapped_off;
    if (off == 0)
        return IRTC_ENOTFOUND;
    if (off < STUN_HEADER_LEN || off + 12 > len)
        return IRTC_EINVAL;
    uint16_t vlen = rd16(buf + off + 2);
    const uint8_t *v = buf + off + 4;
    uint16_t port = rd16(v + 2) ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16);
    memset(out, 0, sizeof(*out));
    if (v[1] == 0x01 && vlen == 8) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr.s_addr = htonl(rd32(v + 4) ^ STUN_MAGIC_COOKIE);
        return IRTC_OK;
    }
    if (v[1] == 0x02 && vlen == 20 && off + 24 <= len) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        /* XOR key: magic cookie then transaction id, i.e. header bytes 4..19. */
        for (int i = 0; i < 16; i++)
            sin6->sin6_addr.s6_addr[i] = v[4 + i] ^ buf[4 + i];
        return IRTC_OK;
    }
    return IRTC_EINVAL;
}

static uint16_t msg_type(uint16_t method, stun_class_t cls)
{
    return (uint16_t)(((method & 0x0F80) << 2) | ((method & 0x0070) << 1) | (method & 0x000F) | ((cls & 2) << 7) |
                      ((cls & 1) << 4));
}

static void put_header(uint8_t *out, uint16_t type, const uint8_t txid[STUN_TXID_LEN])
{
    wr16(out, type);
    wr16(out + 2, 0);
    wr32(out + 4, STUN_MAGIC_COOKIE);
    memcpy(out + 8, txid, STUN_TXID_LEN);
}

/* Appends MESSAGE-INTEGRITY (when pwd) and FINGERPRINT to a message whose
 * body ends at off; the caller has checked the room.  Returns the total. */
static size_t put_trailer(uint8_t *out, size_t off, const char *pwd, size_t pwdlen)
{
    if (pwd != NULL) {
        wr16(out + 2, (uint16_t)(off - STUN_HEADER_LEN + MI_ATTR_LEN));
        wr16(out + off, STUN_ATTR_MESSAGE_INTEGRITY);
        wr16(out + off + 2, STUN_HMAC_LEN);
        crypto_hmac_sha1(pwd, pwdlen, out, 4, out + 4, off - 4, out + off + 4);
        off += MI_ATTR_LEN;
    }
    wr16(out + 2, (uint16_t)(off - STUN_HEADER_LEN + FP_ATTR_LEN));
    wr16(out + off, STUN_ATTR_FINGERPRINT);
    wr16(out + off + 2, 4);
    wr32(out + off + 4, stun_crc32(0, out, off) ^ FINGERPRINT_XOR);
    return off + FP_ATTR_LEN;
}

size_t stun_build_binding_success(uint8_t *out, size_t cap, const uint8_t txid[STUN_TXID_LEN],
                                  const struct sockaddr *mapped, const char *pwd, size_t pwdlen)
{
    size_t vlen;
    if (mapped->sa_family == AF_INET)
        vlen = 8;
    else if (mapped->sa_family == AF_INET6)
        vlen = 20;
    else
        return 0;
    size_t need = STUN_HEADER_LEN + 4 + vlen + (pwd != NULL ? MI_ATTR_LEN : 0) + FP_ATTR_LEN;
    if (cap < need)
        return 0;
    put_header(out, msg_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS), txid);
    uint8_t *a = out + STUN_HEADER_LEN;
    wr16(a, STUN_ATTR_XOR_MAPPED_ADDRESS);
    wr16(a + 2, (uint16_t)vlen);
    a[4] = 0;
    if (mapped->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)mapped;
        a[5] = 0x01;
        wr16(a + 6, ntohs(sin->sin_port) ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16));
        wr32(a + 8, ntohl(sin->sin_addr.s_addr) ^ STUN_MAGIC_COOKIE);
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)mapped;
        a[5] = 0x02;
        wr16(a + 6, ntohs(sin6->sin6_port) ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16));
        for (int i = 0; i < 16; i++)
            a[8 + i] = sin6->sin6_addr.s6_addr[i] ^ out[4 + i];
    }
    return put_trailer(out, STUN_HEADER_LEN + 4 + vlen, pwd, pwdlen);
}

static const char *error_reason(int code)
{
    switch (code) {
    case STUN_ERR_BAD_REQUEST:
        return "Bad Request";
    case STUN_ERR_UNAUTHORIZED:
        return "Unauthorized";
    case STUN_ERR_ROLE_CONFLICT:
        return "Role Conflict";
    case STUN_ERR_SERVER_ERROR:
        return "Server Error";
    }
    return NULL;
}

size_t stun_build_error(uint8_t *out, size_t cap, const uint8_t txid[STUN_TXID_LEN], uint16_t method, int code,
                        const char *pwd, size_t pwdlen)
{
    const char *reason = error_reason(code);
    if (reason == NULL || method > 0x00FF) /* larger methods break the 0..3 first byte */
        return 0;
    if (code == STUN_ERR_BAD_REQUEST || code == STUN_ERR_UNAUTHORIZED)
        pwd = NULL;
    size_t rlen = strlen(reason), padded = (rlen + 3) & ~(size_t)3;
    size_t body_end = STUN_HEADER_LEN + 4 + 4 + padded;
    if (cap < body_end + (pwd != NULL ? MI_ATTR_LEN : 0) + FP_ATTR_LEN)
        return 0;
    put_header(out, msg_type(method, STUN_CLASS_ERROR), txid);
    uint8_t *a = out + STUN_HEADER_LEN;
    wr16(a, STUN_ATTR_ERROR_CODE);
    wr16(a + 2, (uint16_t)(4 + rlen));
    a[4] = 0;
    a[5] = 0;
    a[6] = (uint8_t)(code / 100);
    a[7] = (uint8_t)(code % 100);
    memcpy(a + 8, reason, rlen);
    memset(a + 8 + rlen, 0, padded - rlen);
    return put_trailer(out, body_end, pwd, pwdlen);
}

int stun_username_split(const uint8_t *user, size_t len, const uint8_t **server_ufrag, size_t *server_len,
                        const uint8_t **client_ufrag, size_t *client_len)
{
    const uint8_t *colon = user != NULL ? memchr(user, ':', len) : NULL;
    if (colon == NULL || colon == user || colon == user + len - 1)
        return IRTC_EINVAL;
    size_t slen = (size_t)(colon - user), clen = len - slen - 1;
    if (memchr(colon + 1, ':', clen) != NULL)
        return IRTC_EINVAL;
    *server_ufrag = user;
    *server_len = slen;
    *client_ufrag = colon + 1;
    *client_len = clen;
    return IRTC_OK;
}

size_t stun_build_binding_request(uint8_t *out, size_t cap, const uint8_t txid[STUN_TXID_LEN], const char *username,
                                  uint32_t priority, bool controlling, uint64_t tie_breaker, bool use_candidate,
                                  const char *pwd, size_t pwdlen)
{
    size_t ulen = strlen(username), upad = (ulen + 3) & ~(size_t)3;
    if (ulen == 0 || ulen >= STUN_MAX_USERNAME)
        return 0;
    size_t need = STUN_HEADER_LEN + 4 + upad + 8 + 12 + (use_candidate ? 4 : 0) + MI_ATTR_LEN + FP_ATTR_LEN;
    if (cap < need || pwd == NULL)
        return 0;
    put_header(out, msg_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), txid);
    size_t off = STUN_HEADER_LEN;
    wr16(out + off, STUN_ATTR_USERNAME);
    wr16(out + off + 2, (uint16_t)ulen);
    memcpy(out + off + 4, username, ulen);
    memset(out + off + 4 + ulen, 0, upad - ulen);
    off += 4 + upad;
    wr16(out + off, STUN_ATTR_PRIORITY);
    wr16(out + off + 2, 4);
    wr32(out + off + 4, priority);
    off += 8;
    wr16(out + off, controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED);
    wr16(out + off + 2, 8);
    wr32(out + off + 4, (uint32_t)(tie_breaker >> 32));
    wr32(out + off + 8, (uint32_t)tie_breaker);
    off += 12;
    if (use_candidate) {
        wr16(out + off, STUN_ATTR_USE_CANDIDATE);
        wr16(out + off + 2, 0);
        off += 4;
    }
    return put_trailer(out, off, pwd, pwdlen);
}
