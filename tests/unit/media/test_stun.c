/*
 * test_stun.c — media/stun against the RFC 5769 test vectors, an independent
 * HMAC computed with OpenSSL's one-shot HMAC(), and hand-made malformed
 * messages for every parse error.  Buffers under test are copied into
 * exact-size heap blocks so ASan sees any read past the end.
 */
#include "media/stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/common.h"
#include "unit/tap.h"

static const char PWD[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 §2.1 Sample Request (short-term credentials). */
static const uint8_t REQ[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87,
    0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f,
    0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e,
    0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* §2.2 Sample IPv4 Response: 192.0.2.1 port 32853. */
static const uint8_t RESP4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* §2.3 Sample IPv6 Response: 2001:db8:1234:5678:11:2233:4455:6677 port 32853. */
static const uint8_t RESP6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf,
    0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20,
    0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe,
    0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c,
    0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const uint8_t TXID[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = xmalloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

/* Parses a copy in an exact-size block; returns stun_parse's result. */
static int parse_copy(const uint8_t *p, size_t n, stun_msg_t *m, const char **why)
{
    uint8_t *d = dup_exact(p, n);
    int rc = stun_parse(d, n, m, why);
    free(d);
    return rc;
}

/* ---- a tiny message writer for hand-made cases -------------------------- */

typedef struct {
    uint8_t b[2048];
    size_t len;
} msg_t;

static void m_start(msg_t *m, uint16_t type)
{
    memset(m, 0, sizeof(*m));
    m->b[0] = (uint8_t)(type >> 8);
    m->b[1] = (uint8_t)type;
    m->b[4] = 0x21, m->b[5] = 0x12, m->b[6] = 0xa4, m->b[7] = 0x42;
    memcpy(m->b + 8, TXID, 12);
    m->len = 20;
}

static void m_setlen(msg_t *m)
{
    m->b[2] = (uint8_t)((m->len - 20) >> 8);
    m->b[3] = (uint8_t)(m->len - 20);
}

static void m_attr(msg_t *m, uint16_t type, const void *v, uint16_t vlen)
{
    uint8_t *a = m->b + m->len;
    a[0] = (uint8_t)(type >> 8), a[1] = (uint8_t)type, a[2] = (uint8_t)(vlen >> 8), a[3] = (uint8_t)vlen;
    if (vlen)
        memcpy(a + 4, v, vlen);
    m->len += 4 + ((vlen + 3u) & ~3u);
    m_setlen(m);
}

/* MESSAGE-INTEGRITY computed independently with OpenSSL's one-shot HMAC(). */
static void m_integrity(msg_t *m, const char *pwd)
{
    uint8_t zero[20] = {0};
    m_attr(m, STUN_ATTR_MESSAGE_INTEGRITY, zero, 20);
    unsigned int outlen = 0;
    HMAC(EVP_sha1(), pwd, (int)strlen(pwd), m->b, m->len - 24, m->b + m->len - 20, &outlen);
}

static void m_fingerprint(msg_t *m)
{
    uint8_t zero[4] = {0};
    m_attr(m, STUN_ATTR_FINGERPRINT, zero, 4);
    uint32_t crc = stun_crc32(0, m->b, m->len - 8) ^ 0x5354554eu;
    uint8_t *v = m->b + m->len - 4;
    v[0] = (uint8_t)(crc >> 24), v[1] = (uint8_t)(crc >> 16), v[2] = (uint8_t)(crc >> 8), v[3] = (uint8_t)crc;
}

static int m_parse(const msg_t *m, stun_msg_t *out, const char **why)
{
    return parse_copy(m->b, m->len, out, why);
}

/* ---- tests --------------------------------------------------------------- */

static void test_crc32(void)
{
    is_int(stun_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u, "CRC-32 check value of \"123456789\"");
    uint32_t part = stun_crc32(0, (const uint8_t *)"1234", 4);
    is_int(stun_crc32(part, (const uint8_t *)"56789", 5), 0xCBF43926u, "CRC-32 continues across calls");
}

static void test_rfc5769_request(void)
{
    stun_msg_t m;
    const char *why = NULL;
    uint8_t *d = dup_exact(REQ, sizeof(REQ));
    ok(stun_is_stun(d, sizeof(REQ)), "RFC 5769 2.1: is STUN");
    is_int(stun_parse(d, sizeof(REQ), &m, &why), IRTC_OK, "RFC 5769 2.1: parses");
    is_int(m.method, STUN_METHOD_BINDING, "2.1: method Binding");
    is_int(m.cls, STUN_CLASS_REQUEST, "2.1: class request");
    ok(memcmp(m.txid, TXID, 12) == 0, "2.1: transaction id");
    ok(m.username_len == 9 && memcmp(m.username, "evtj:h6vY", 9) == 0, "2.1: USERNAME evtj:h6vY");
    ok(m.has_priority && m.priority == 0x6e0001ffu, "2.1: PRIORITY");
    ok(m.has_ice_controlled && !m.has_ice_controlling, "2.1: ICE-CONTROLLED only");
    ok(m.tie_breaker == 0x932ff9b151263b36ull, "2.1: tie-breaker");
    ok(!m.use_candidate, "2.1: no USE-CANDIDATE");
    is_int(m.integrity_off, 76, "2.1: MESSAGE-INTEGRITY offset");
    is_int(m.fingerprint_off, 100, "2.1: FINGERPRINT offset");
    is_int(m.fingerprint, 0xe57a3bcfu, "2.1: FINGERPRINT value");
    is_int(m.n_unknown, 0, "2.1: SOFTWARE is comprehension-optional, nothing unknown");

    is_int(stun_check_integrity(d, sizeof(REQ), &m, PWD, strlen(PWD)), IRTC_OK, "2.1: integrity with the password");
    is_int(stun_check_integrity(d, sizeof(REQ), &m, "VOkJxbRl1RmTxUk/WvJxBT", strlen(PWD)), IRTC_ECRYPTO,
           "2.1: integrity fails with a wrong password");
    /* A NULL-key EVP_MAC_init would silently reuse the previous key. */
    is_int(stun_check_integrity(d, sizeof(REQ), &m, "", 0), IRTC_ECRYPTO,
           "2.1: empty password does not reuse the previous key");
    is_int(stun_check_integrity(d, sizeof(REQ), &m, NULL, 0), IRTC_EINVAL, "NULL password is EINVAL");
    is_int(stun_check_fingerprint(d, sizeof(REQ), &m), IRTC_OK, "2.1: fingerprint");
    is_int(stun_check_integrity(d, 90, &m, PWD, strlen(PWD)), IRTC_EINVAL, "integrity offset past len is EINVAL");
    is_int(stun_check_fingerprint(d, 104, &m), IRTC_EINVAL, "fingerprint offset past len is EINVAL");

    const uint8_t *s, *c;
    size_t sl, cl;
    is_int(stun_username_split(m.username, m.username_len, &s, &sl, &c, &cl), IRTC_OK, "2.1: username splits");
    ok(sl == 4 && memcmp(s, "evtj", 4) == 0 && cl == 4 && memcmp(c, "h6vY", 4) == 0, "2.1: evtj / h6vY");
    free(d);
}

static void test_rfc5769_responses(void)
{
    stun_msg_t m;
    struct sockaddr_storage ss;
    uint8_t *d = dup_exact(RESP4, sizeof(RESP4));
    is_int(stun_parse(d, sizeof(RESP4), &m, NULL), IRTC_OK, "RFC 5769 2.2: parses");
    ok(m.cls == STUN_CLASS_SUCCESS && m.method == STUN_METHOD_BINDING, "2.2: Binding success");
    is_int(stun_check_integrity(d, sizeof(RESP4), &m, PWD, strlen(PWD)), IRTC_OK, "2.2: integrity");
    is_int(stun_check_fingerprint(d, sizeof(RESP4), &m), IRTC_OK, "2.2: fingerprint");
    is_int(stun_get_xor_mapped(d, sizeof(RESP4), &m, &ss), IRTC_OK, "2.2: XOR-MAPPED-ADDRESS decodes");
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    ok(sin->sin_family == AF_INET && ntohs(sin->sin_port) == 32853 && ntohl(sin->sin_addr.s_addr) == 0xC0000201u,
       "2.2: 192.0.2.1:32853");
    free(d);

    d = dup_exact(RESP6, sizeof(RESP6));
    is_int(stun_parse(d, sizeof(RESP6), &m, NULL), IRTC_OK, "RFC 5769 2.3: parses");
    is_int(stun_check_integrity(d, sizeof(RESP6), &m, PWD, strlen(PWD)), IRTC_OK, "2.3: integrity");
    is_int(stun_check_fingerprint(d, sizeof(RESP6), &m), IRTC_OK, "2.3: fingerprint");
    is_int(stun_get_xor_mapped(d, sizeof(RESP6), &m, &ss), IRTC_OK, "2.3: XOR-MAPPED-ADDRESS decodes");
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
    struct in6_addr want;
    inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &want);
    ok(sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == 32853 && memcmp(&sin6->sin6_addr, &want, 16) == 0,
       "2.3: [2001:db8:1234:5678:11:2233:4455:6677]:32853");
    free(d);

    msg_t mm;
    uint8_t fam2[8] = {0, 0x02, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
    m_start(&mm, 0x0101);
    m_attr(&mm, STUN_ATTR_XOR_MAPPED_ADDRESS, fam2, 8);
    d = dup_exact(mm.b, mm.len);
    stun_parse(d, mm.len, &m, NULL);
    is_int(stun_get_xor_mapped(d, mm.len, &m, &ss), IRTC_EINVAL, "IPv6 family with an IPv4-sized value: EINVAL");
    d[21 + 4] = 0x03;
    is_int(stun_get_xor_mapped(d, mm.len, &m, &ss), IRTC_EINVAL, "family 3: EINVAL");
    free(d);

    stun_msg_t none;
    stun_parse(REQ, sizeof(REQ), &none, NULL);
    is_int(stun_get_xor_mapped(REQ, sizeof(REQ), &none, &ss), IRTC_ENOTFOUND, "no XOR-MAPPED-ADDRESS: ENOTFOUND");
}

/* Every single-bit flip of the request is caught by parse, integrity or the
 * fingerprint; flips inside the body before MI keep parsing and fail HMAC. */
static void test_bit_flips(void)
{
    int missed = 0, hmac_caught = 0;
    for (size_t i = 0; i < sizeof(REQ) * 8; i++) {
        uint8_t *d = dup_exact(REQ, sizeof(REQ));
        d[i / 8] ^= (uint8_t)(1u << (i % 8));
        stun_msg_t m;
        if (stun_parse(d, sizeof(REQ), &m, NULL) == IRTC_OK) {
            int ri = stun_check_integrity(d, sizeof(REQ), &m, PWD, strlen(PWD));
            int rf = stun_check_fingerprint(d, sizeof(REQ), &m);
            if (ri == IRTC_OK && rf == IRTC_OK)
                missed++;
            if (i / 8 >= 20 && i / 8 < 76 && ri == IRTC_ECRYPTO)
                hmac_caught++;
        }
        free(d);
    }
    is_int(missed, 0, "no single-bit flip of the request passes parse+integrity+fingerprint");
    ok(hmac_caught > 300, "flips in the attributes before MI are caught by HMAC (%d)", hmac_caught);

    uint8_t *d = dup_exact(REQ, sizeof(REQ));
    stun_msg_t m;
    d[44] ^= 1; /* PRIORITY value */
    is_int(stun_parse(d, sizeof(REQ), &m, NULL), IRTC_OK, "flipped PRIORITY still parses");
    is_int(stun_check_integrity(d, sizeof(REQ), &m, PWD, strlen(PWD)), IRTC_ECRYPTO, "flipped PRIORITY: HMAC fails");
    d[44] ^= 1;
    d[99] ^= 0x01; /* last byte of the HMAC: the whole 20 bytes are compared */
    is_int(stun_check_integrity(d, sizeof(REQ), &m, PWD, strlen(PWD)), IRTC_ECRYPTO, "flipped last HMAC byte fails");
    d[99] ^= 0x01;
    d[104] ^= 0x80; /* FINGERPRINT value only */
    stun_parse(d, sizeof(REQ), &m, NULL);
    is_int(stun_check_integrity(d, sizeof(REQ), &m, PWD, strlen(PWD)), IRTC_OK, "flipped FINGERPRINT: HMAC still ok");
    is_int(stun_check_fingerprint(d, sizeof(REQ), &m), IRTC_ECRYPTO, "flipped FINGERPRINT: CRC check fails");
    free(d);
}

static void test_truncation(void)
{
    stun_msg_t m;
    int bad = 0;
    for (size_t n = 0; n < sizeof(REQ); n++)
        if (parse_copy(REQ, n, &m, NULL) != IRTC_EINVAL)
            bad++;
    is_int(bad, 0, "every truncation of the request is EINVAL");
    is_int(parse_copy(REQ, 0, &m, NULL), IRTC_EINVAL, "empty datagram is EINVAL");
    ok(!stun_is_stun(REQ, 19), "19 bytes is not STUN");

    /* Truncated at an attribute boundary with the length patched to match:
     * parses, but the removed trailer is gone. */
    uint8_t cut[76];
    memcpy(cut, REQ, 76);
    cut[3] = 76 - 20;
    is_int(parse_copy(cut, 76, &m, NULL), IRTC_OK, "cut before MESSAGE-INTEGRITY parses");
    is_int(stun_check_integrity(cut, 76, &m, PWD, strlen(PWD)), IRTC_ENOTFOUND, "  and integrity reports ENOTFOUND");
    is_int(stun_check_fingerprint(cut, 76, &m), IRTC_ENOTFOUND, "  and fingerprint reports ENOTFOUND");
}

static void test_header_errors(void)
{
    stun_msg_t m;
    const char *why = NULL;
    uint8_t d[sizeof(REQ)];

    memcpy(d, REQ, sizeof(d));
    d[0] = 0x40;
    ok(!stun_is_stun(d, sizeof(d)), "first byte 0x40 is not STUN");
    is_int(parse_copy(d, sizeof(d), &m, &why), IRTC_EINVAL, "first two bits set: EINVAL (%s)", why);

    memcpy(d, REQ, sizeof(d));
    d[7] ^= 1;
    ok(!stun_is_stun(d, sizeof(d)), "bad magic cookie is not STUN (RFC 3489 style)");
    is_int(parse_copy(d, sizeof(d), &m, &why), IRTC_EINVAL, "bad magic cookie: EINVAL (%s)", why);

    memcpy(d, REQ, sizeof(d));
    d[3] = 0x57;
    ok(!stun_is_stun(d, sizeof(d)), "length not a multiple of 4 is not STUN");

    memcpy(d, REQ, sizeof(d));
    d[3] = 0x54;
    ok(!stun_is_stun(d, sizeof(d)), "length field shorter than the datagram is not STUN");
    is_int(parse_copy(d, sizeof(d), &m, &why), IRTC_EINVAL, "length mismatch: EINVAL (%s)", why);

    /* Method/class decoding of every class bit pattern. */
    msg_t mm;
    m_start(&mm, 0x0111);
    is_int(m_parse(&mm, &m, NULL), IRTC_OK, "empty error response parses");
    ok(m.cls == STUN_CLASS_ERROR && m.method == STUN_METHOD_BINDING, "0x0111 is a Binding error response");
    m_start(&mm, 0x0011);
    m_parse(&mm, &m, NULL);
    ok(m.cls == STUN_CLASS_INDICATION && m.method == 1, "0x0011 is a Binding indication");
    m_start(&mm, 0x03EF);
    m_parse(&mm, &m, NULL);
    ok(m.cls == STUN_CLASS_SUCCESS && m.method == 0xFF, "0x03EF is a method 0xFF success response");
    m_start(&mm, 0x0401);
    ok(!stun_is_stun(mm.b, mm.len), "first byte 4 is outside RFC 7983's STUN range");
}

static void test_attribute_errors(void)
{
    msg_t mm;
    stun_msg_t m;
    const char *why = NULL;
    uint8_t v[600] = {0};

    m_start(&mm, 0x0001);
    m_attr(&mm, STUN_ATTR_USERNAME, "ab:cd", 5);
    mm.b[20 + 3] = 0x40; /* value length 64 runs past the body */
    is_int(m_parse(&mm, &m, &why), IRTC_EINVAL, "attribute overrunning the message: EINVAL (%s)", why);

    m_start(&mm, 0x0001);
    m_attr(&mm, STUN_ATTR_USERNAME, "ab:c", 4);
    mm.b[20 + 3] = 5; /* 5 needs 8 padded bytes; only 4 are there */
    is_int(m_parse(&mm, &m, NULL), IRTC_EINVAL, "padding of the last attribute missing: EINVAL");

    struct {
        uint16_t type, len;
        const char *name;
    } bad[] = {
        {STUN_ATTR_PRIORITY, 3, "PRIORITY of 3 bytes"},
        {STUN_ATTR_USE_CANDIDATE, 4, "USE-CANDIDATE with a value"},
        {STUN_ATTR_ICE_CONTROLLING, 4, "ICE-CONTROLLING of 4 bytes"},
        {STUN_ATTR_ICE_CONTROLLED, 12, "ICE-CONTROLLED of 12 bytes"},
        {STUN_ATTR_MESSAGE_INTEGRITY, 32, "MESSAGE-INTEGRITY of 32 bytes"},
        {STUN_ATTR_FINGERPRINT, 8, "FINGERPRINT of 8 bytes"},
        {STUN_ATTR_XOR_MAPPED_ADDRESS, 12, "XOR-MAPPED-ADDRESS of 12 bytes"},
        {STUN_ATTR_ERROR_CODE, 2, "ERROR-CODE of 2 bytes"},
        {STUN_ATTR_USERNAME, 514, "USERNAME of 514 bytes"},
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        m_start(&mm, 0x0001);
        m_attr(&mm, bad[i].type, v, bad[i].len);
        is_int(m_parse(&mm, &m, &why), IRTC_EINVAL, "%s: EINVAL (%s)", bad[i].name, why);
    }

    m_start(&mm, 0x0001);
    memset(v, 'u', 513);
    m_attr(&mm, STUN_ATTR_USERNAME, v, 513);
    is_int(m_parse(&mm, &m, NULL), IRTC_OK, "USERNAME of 513 bytes is accepted");
    is_int(m.username_len, 513, "  with its full length");

    uint8_t ec[4] = {0, 0, 7, 0};
    m_start(&mm, 0x0111);
    m_attr(&mm, STUN_ATTR_ERROR_CODE, ec, 4);
    is_int(m_parse(&mm, &m, NULL), IRTC_EINVAL, "ERROR-CODE class 7: EINVAL");
    ec[2] = 4, ec[3] = 100;
    m_start(&mm, 0x0111);
    m_attr(&mm, STUN_ATTR_ERROR_CODE, ec, 4);
    is_int(m_parse(&mm, &m, NULL), IRTC_EINVAL, "ERROR-CODE number 100: EINVAL");
    ec[3] = 87;
    m_start(&mm, 0x0111);
    m_attr(&mm, STUN_ATTR_ERROR_CODE, ec, 4);
    is_int(m_parse(&mm, &m, NULL), IRTC_OK, "ERROR-CODE 487 parses");
    ok(m.has_error_code && m.error_code == 487, "  as 487");
}

static void test_attribute_rules(void)
{
    msg_t mm;
    stun_msg_t m;
    const char *why = NULL;
    uint8_t p1[4] = {0, 0, 0, 1}, p2[4] = {0, 0, 0, 2}, tb[8] = {1, 2, 3, 4, 5, 6, 7, 8}, sha[32] = {0};

    m_start(&mm, 0x0001);
    m_attr(&mm, STUN_ATTR_PRIORITY, p1, 4);
    m_attr(&mm, STUN_ATTR_PRIORITY, p2, 4);
    m_attr(&mm, STUN_ATTR_ICE_CONTROLLING, tb, 8);
    m_attr(&mm, STUN_ATTR_USE_CANDIDATE, NULL, 0);
    m_attr(&mm, 0x0030, NULL, 0); /* unknown, comprehension-required */
    m_attr(&mm, 0x8030, NULL, 0); /* unknown, optional */
    m_attr(&mm, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, sha, 32);
    is_int(m_parse(&mm, &m, NULL), IRTC_OK, "hand-made request parses");
    is_int(m.priority, 1, "the first PRIORITY wins");
    ok(m.has_ice_controlling && !m.has_ice_controlled && m.tie_breaker == 0x0102030405060708ull,
       "ICE-CONTROLLING and its tie-breaker");
    ok(m.use_candidate, "USE-CANDIDATE");
    ok(m.n_unknown == 1 && m.unknown[0] == 0x0030, "only the comprehension-required unknown is reported");

    m_start(&mm, 0x0001);
    for (uint16_t t = 0x0040; t < 0x0046; t++)
        m_attr(&mm, t, NULL, 0);
    m_parse(&mm, &m, NULL);
    ok(m.n_unknown == STUN_MAX_UNKNOWN && m.unknown[3] == 0x0043, "unknown list keeps the first few");

    /* Attributes after MESSAGE-INTEGRITY are ignored (RFC 5389 §15.4)... */
    m_start(&mm, 0x0001);
    m_attr(&mm, STUN_ATTR_USERNAME, "ab:cd", 5);
    m_integrity(&mm, "secret");
    m_attr(&mm, STUN_ATTR_PRIORITY, p1, 4);
    m_attr(&mm, STUN_ATTR_USE_CANDIDATE, NULL, 0);
    m_attr(&mm, 0x0031, NULL, 0);
    m_fingerprint(&mm);
    is_int(m_parse(&mm, &m, NULL), IRTC_OK, "attributes after MI parse");
    ok(!m.has_priority && !m.use_candidate && m.n_unknown == 0, "  but are ignored");
    uint8_t *d = dup_exact(mm.b, mm.len);
    is_int(stun_check_integrity(d, mm.len, &m, "secret", 6), IRTC_OK,
           "  integrity uses the length up to MI, not the whole message");
    is_int(stun_check_fingerprint(d, mm.len, &m), IRTC_OK, "  and the fingerprint still checks");
    free(d);

    /* An empty password is a key like any other (HMAC pads it to the block). */
    m_start(&mm, 0x0001);
    m_attr(&mm, STUN_ATTR_USERNAME, "ab:cd", 5);
    m_attr(&mm, STUN_ATTR_USERNAME, "zz:yy", 5);
    m_integrity(&mm, "");
    d = dup_exact(mm.b, mm.len);
    is_int(stun_parse(d, mm.len, &m, NULL), IRTC_OK, "two USERNAMEs parse");
    ok(m.username_len == 5 && memcmp(m.username, "ab:cd", 5) == 0, "  the first USERNAME wins");
    is_int(stun_check_integrity(d, mm.len, &m, PWD, strlen(PWD)), IRTC_ECRYPTO, "keyed with \"\": PWD fails");
    is_int(stun_check_integrity(d, mm.len, &m, "", 0), IRTC_OK, "keyed with \"\": empty password passes");
    free(d);

    /* ...but nothing may follow FINGERPRINT. */
    m_start(&mm, 0x0001);
    m_fingerprint(&mm);
    m_attr(&mm, STUN_ATTR_SOFTWARE, "x", 1);
    is_int(m_parse(&mm, &m, &why), IRTC_EINVAL, "attribute after FINGERPRINT: EINVAL (%s)", why);
}

static void test_build_success(void)
{
    uint8_t out[STUN_BINDING_SUCCESS_MAX];
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(32853)};
    sin.sin_addr.s_addr = htonl(0xC0000201u);
    size_t n = stun_build_binding_success(out, sizeof(out), TXID, (struct sockaddr *)&sin, PWD, strlen(PWD));
    is_int(n, 20 + 12 + 24 + 8, "IPv4 Binding success is 64 bytes");
    ok(memcmp(out + 20, RESP4 + 36, 12) == 0, "XOR-MAPPED-ADDRESS bytes equal RFC 5769 2.2's");
    ok(stun_is_stun(out, n), "the response is STUN");
    stun_msg_t m;
    is_int(parse_copy(out, n, &m, NULL), IRTC_OK, "the response parses");
    ok(m.cls == STUN_CLASS_SUCCESS && m.method == STUN_METHOD_BINDING && memcmp(m.txid, TXID, 12) == 0,
       "  Binding success with the request's transaction id");
    is_int(stun_check_integrity(out, n, &m, PWD, strlen(PWD)), IRTC_OK, "  our integrity check accepts it");
    is_int(stun_check_fingerprint(out, n, &m), IRTC_OK, "  our fingerprint check accepts it");

    /* Independent HMAC: the message up to MI with its length covering MI. */
    uint8_t tmp[64], mac[20];
    unsigned int maclen = 0;
    memcpy(tmp, out, m.integrity_off);
    tmp[2] = 0, tmp[3] = (uint8_t)(m.integrity_off - 20 + 24);
    HMAC(EVP_sha1(), PWD, (int)strlen(PWD), tmp, m.integrity_off, mac, &maclen);
    ok(memcmp(mac, out + m.integrity_off + 4, 20) == 0, "  OpenSSL HMAC() agrees with MESSAGE-INTEGRITY");

    struct sockaddr_storage ss;
    stun_get_xor_mapped(out, n, &m, &ss);
    ok(memcmp(&((struct sockaddr_in *)&ss)->sin_addr, &sin.sin_addr, 4) == 0 &&
           ((struct sockaddr_in *)&ss)->sin_port == sin.sin_port,
       "  mapped address round-trips");

    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(32853)};
    inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &sin6.sin6_addr);
    n = stun_build_binding_success(out, sizeof(out), TXID, (struct sockaddr *)&sin6, PWD, strlen(PWD));
    is_int(n, STUN_BINDING_SUCCESS_MAX, "IPv6 Binding success is 76 bytes");
    ok(memcmp(out + 20, RESP6 + 36, 24) == 0, "XOR-MAPPED-ADDRESS bytes equal RFC 5769 2.3's");
    parse_copy(out, n, &m, NULL);
    ok(stun_check_integrity(out, n, &m, PWD, strlen(PWD)) == IRTC_OK && stun_check_fingerprint(out, n, &m) == IRTC_OK,
       "  IPv6 response passes both checks");

    is_int(stun_build_binding_success(out, 75, TXID, (struct sockaddr *)&sin6, PWD, strlen(PWD)), 0,
           "one byte short of room: 0");
    is_int(stun_build_binding_success(out, 64, TXID, (struct sockaddr *)&sin, PWD, strlen(PWD)), 64,
           "exactly enough room: written");
    struct sockaddr bad = {.sa_family = AF_UNIX};
    is_int(stun_build_binding_success(out, sizeof(out), TXID, &bad, PWD, strlen(PWD)), 0, "AF_UNIX: 0");

    n = stun_build_binding_success(out, sizeof(out), TXID, (struct sockaddr *)&sin, NULL, 0);
    is_int(n, 40, "without a password: no MESSAGE-INTEGRITY");
    parse_copy(out, n, &m, NULL);
    ok(m.integrity_off == 0 && stun_check_fingerprint(out, n, &m) == IRTC_OK, "  fingerprint only");
}

static void test_build_error(void)
{
    uint8_t out[STUN_ERROR_MAX];
    stun_msg_t m;
    size_t n = stun_build_error(out, sizeof(out), TXID, STUN_METHOD_BINDING, 401, PWD, strlen(PWD));
    ok(n > 0 && n <= STUN_ERROR_MAX, "401 built");
    is_int(parse_copy(out, n, &m, NULL), IRTC_OK, "401 parses");
    ok(m.cls == STUN_CLASS_ERROR && m.method == STUN_METHOD_BINDING && m.error_code == 401, "  Binding error 401");
    ok(m.integrity_off == 0, "  401 carries no MESSAGE-INTEGRITY even given a password");
    is_int(stun_check_fingerprint(out, n, &m), IRTC_OK, "  fingerprint ok");
    ok(memcmp(out + 28, "Unauthorized", 12) == 0, "  reason phrase");

    n = stun_build_error(out, sizeof(out), TXID, STUN_METHOD_BINDING, 400, PWD, strlen(PWD));
    parse_copy(out, n, &m, NULL);
    ok(m.error_code == 400 && m.integrity_off == 0, "400: no MESSAGE-INTEGRITY");

    n = stun_build_error(out, sizeof(out), TXID, STUN_METHOD_BINDING, 487, PWD, strlen(PWD));
    is_int(parse_copy(out, n, &m, NULL), IRTC_OK, "487 parses");
    ok(m.error_code == 487 && m.integrity_off != 0, "  487 carries MESSAGE-INTEGRITY");
    is_int(stun_check_integrity(out, n, &m, PWD, strlen(PWD)), IRTC_OK, "  integrity ok");
    is_int(stun_check_fingerprint(out, n, &m), IRTC_OK, "  fingerprint ok");
    size_t need = n;
    is_int(stun_build_error(out, need - 1, TXID, STUN_METHOD_BINDING, 487, PWD, strlen(PWD)), 0,
           "487 one byte short: 0");
    is_int(stun_build_error(out, sizeof(out), TXID, STUN_METHOD_BINDING, 420, NULL, 0), 0, "420 unsupported: 0");
    is_int(stun_build_error(out, sizeof(out), TXID, 0x100, 400, NULL, 0), 0, "method over 0xFF (first byte > 3): 0");
    n = stun_build_error(out, sizeof(out), TXID, 0xFF, 400, NULL, 0);
    ok(parse_copy(out, n, &m, NULL) == IRTC_OK && m.method == 0xFF && m.cls == STUN_CLASS_ERROR,
       "method 0xFF error response round-trips");
    n = stun_build_error(out, sizeof(out), TXID, STUN_METHOD_BINDING, 500, NULL, 0);
    parse_copy(out, n, &m, NULL);
    ok(m.error_code == 500 && m.integrity_off == 0, "500 without password: no MESSAGE-INTEGRITY");
}

static void test_username_split(void)
{
    const uint8_t *s, *c;
    size_t sl, cl;
    is_int(stun_username_split((const uint8_t *)"a:b", 3, &s, &sl, &c, &cl), IRTC_OK, "a:b splits");
    ok(sl == 1 && *s == 'a' && cl == 1 && *c == 'b', "  into a and b");
    is_int(stun_username_split((const uint8_t *)":b", 2, &s, &sl, &c, &cl), IRTC_EINVAL, "empty server ufrag");
    is_int(stun_username_split((const uint8_t *)"a:", 2, &s, &sl, &c, &cl), IRTC_EINVAL, "empty client ufrag");
    is_int(stun_username_split((const uint8_t *)"ab", 2, &s, &sl, &c, &cl), IRTC_EINVAL, "no colon");
    is_int(stun_username_split((const uint8_t *)"a:b:c", 5, &s, &sl, &c, &cl), IRTC_EINVAL, "two colons");
    is_int(stun_username_split(NULL, 0, &s, &sl, &c, &cl), IRTC_EINVAL, "NULL username");
}

static void *thread_check(void *arg)
{
    stun_msg_t m;
    stun_parse(REQ, sizeof(REQ), &m, NULL);
    int rc = stun_check_integrity(REQ, sizeof(REQ), &m, PWD, strlen(PWD));
    *(int *)arg = rc;
    return NULL;
}

static void test_threads(void)
{
    int rc = -100;
    pthread_t t;
    pthread_create(&t, NULL, thread_check, &rc);
    pthread_join(t, NULL);
    is_int(rc, IRTC_OK, "integrity check works on another thread (no per-thread state)");
    /* A key longer than SHA-1's block is hashed first (RFC 2104 §2). */
    char long_pwd[100];
    memset(long_pwd, 'k', sizeof(long_pwd));
    uint8_t out[256];
    const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(4000), .sin_addr.s_addr = htonl(0x7f000001)};
    size_t n = stun_build_binding_success(out, sizeof(out), txid, (const struct sockaddr *)&sa, long_pwd,
                                          sizeof(long_pwd));
    stun_msg_t m;
    ok(n > 0 && stun_parse(out, n, &m, NULL) == IRTC_OK &&
           stun_check_integrity(out, n, &m, long_pwd, sizeof(long_pwd)) == IRTC_OK &&
           stun_check_integrity(out, n, &m, long_pwd, sizeof(long_pwd) - 1) != IRTC_OK,
       "a 100-byte key signs and verifies, and a different key does not");
}

int main(void)
{
    test_crc32();
    test_rfc5769_request();
    test_rfc5769_responses();
    test_bit_flips();
    test_truncation();
    test_header_errors();
    test_attribute_errors();
    test_attribute_rules();
    test_build_success();
    test_build_error();
    test_username_split();
    test_threads();
    return done_testing();
}
