/*
 * crypto.c — Base64, HMAC-SHA256, HMAC-SHA1, SHA-256, randomness, constant-time compare
 * and salted secret hashing over OpenSSL 3; see crypto.h.
 *
 * Thread-safe: no state of its own (OpenSSL 3 needs no locking setup).
 * Does not do TLS/DTLS or SRTP keying: those belong to the media modules.
 *
 * Base64 is written by hand because EVP_DecodeBlock neither reports the real
 * length behind padding nor rejects non-canonical input, and a strict decoder
 * is what the join token and REST inputs need.
 */
#include "core/crypto.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_Init & co.: see crypto_hmac_sha1 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Nothing sensible can continue if the digest or CSPRNG primitives fail. */
static void crypto_fatal(const char *what)
{
    fprintf(stderr, "irtcd: OpenSSL %s failed\n", what);
    abort();
}

size_t crypto_b64_enc_len(size_t n)
{
    return (n + 2) / 3 * 4 + 1;
}

size_t crypto_b64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict RFC 4648 §4: padding, when present, must complete the last quantum,
 * and the unused low bits of the last symbol must be zero (§3.5), so every
 * byte string has exactly one accepted encoding. */
int crypto_b64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
    size_t pads = 0, d, i, o = 0;
    uint32_t acc = 0;

    while (pads < n && pads < 2 && in[n - 1 - pads] == '=')
        pads++;
    d = n - pads;
    if (d % 4 == 1 || (pads > 0 && (n % 4 != 0 || d % 4 == 0)))
        return IRTC_EINVAL;
    for (i = 0; i < d; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return IRTC_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    if (d % 4 == 2) {
        if (acc & 0xf)
            return IRTC_EINVAL;
        out[o++] = (unsigned char)(acc >> 4);
    } else if (d % 4 == 3) {
        if (acc & 0x3)
            return IRTC_EINVAL;
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    }
    *out_len = o;
    return IRTC_OK;
}

static void hmac(const EVP_MD *md, unsigned want, const char *name, const void *key, size_t keylen, const void *msg,
                 size_t msglen, unsigned char *out)
{
    static const unsigned char empty = 0;
    unsigned int len = 0;

    /* OpenSSL treats a NULL key as "reuse the previous key"; an empty key
     * must still be a real (zero-length) key. */
    if (HMAC(md, keylen ? key : &empty, (int)keylen, msglen ? msg : &empty, msglen, out, &len) == NULL || len != want)
        crypto_fatal(name);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen, unsigned char out[32])
{
    hmac(EVP_sha256(), 32, "HMAC-SHA256", key, keylen, msg, msglen, out);
}

/* On OpenSSL's SHA-1 block function with a stack context, not HMAC() or
 * EVP_MAC: OpenSSL 3 allocates on every HMAC (re)keying and reset (~10
 * mallocs per call, measured by tests/integration/test_alloc_flat.sh), and
 * an ICE consent check verifies one on the packet path of every transport.
 * The low-level SHA-1 calls are deprecated in OpenSSL 3 but are the same
 * assembly. */
void crypto_hmac_sha1(const void *key, size_t keylen, const void *msg, size_t msglen, const void *msg2, size_t msg2len,
                      unsigned char out[CRYPTO_SHA1_LEN])
{
    enum { BLOCK = 64 };
    static const unsigned char empty = 0;
    unsigned char k[BLOCK] = {0}, pad[BLOCK], inner[SHA_DIGEST_LENGTH];
    SHA_CTX c;

    if (keylen > BLOCK)
        SHA1(key, keylen, k);
    else if (keylen > 0)
        memcpy(k, key, keylen);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    int ok = SHA1_Init(&c) && SHA1_Update(&c, pad, BLOCK) && SHA1_Update(&c, msglen ? msg : &empty, msglen) &&
             SHA1_Update(&c, msg2len ? msg2 : &empty, msg2len) && SHA1_Final(inner, &c);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && SHA1_Init(&c) && SHA1_Update(&c, pad, BLOCK) && SHA1_Update(&c, inner, sizeof(inner)) &&
         SHA1_Final(out, &c);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(&c, sizeof(c));
    if (!ok)
        crypto_fatal("HMAC-SHA1");
}

void crypto_sha256(const void *msg, size_t len, unsigned char out[32])
{
    static const unsigned char empty = 0;
    unsigned int olen = 0;

    if (!EVP_Digest(len ? msg : &empty, len, out, &olen, EVP_sha256(), NULL) || olen != 32)
        crypto_fatal("SHA-256");
}

void crypto_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void crypto_random(void *out, size_t n)
{
    unsigned char *p = out;

    /* RAND_bytes takes an int; large requests are split. */
    while (n > 0) {
        int chunk = n > 1 << 20 ? 1 << 20 : (int)n;
        if (RAND_bytes(p, chunk) != 1)
            crypto_fatal("RAND_bytes");
        p += chunk;
        n -= (size_t)chunk;
    }
}

void crypto_random_alnum(char *out, size_t n)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char pool[64];
    size_t have = 0, used = 0, o = 0;

    /* Rejection sampling: 248 = 4 * 62, so bytes >= 248 are dropped and the
     * remaining ones map onto the 62 symbols without modulo bias. */
    while (o < n) {
        if (used == have) {
            crypto_random(pool, sizeof(pool));
            have = sizeof(pool);
            used = 0;
        }
        unsigned char b = pool[used++];
        if (b < 248)
            out[o++] = set[b % 62];
    }
    out[n] = '\0';
    OPENSSL_cleanse(pool, sizeof(pool));
}

int crypto_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return 0;
    if (alen == 0)
        return 1;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

/* ---- salted secret hashing ---- */

#define SECRET_PREFIX "s1$"
#define SECRET_SALT_LEN 16
#define SECRET_DK_LEN 32
/* Enough to make offline guessing of a leaked database slow, cheap enough
 * for an appToken check per REST token request. */
#define SECRET_ITERATIONS 10000
#define SECRET_TEXT_LEN (sizeof(SECRET_PREFIX) - 1 + 2 * SECRET_SALT_LEN + 1 + 2 * SECRET_DK_LEN)

_Static_assert(SECRET_TEXT_LEN + 1 <= CRYPTO_SECRET_HASH_LEN, "CRYPTO_SECRET_HASH_LEN too small");

static void secret_format(const char *secret, const unsigned char salt[SECRET_SALT_LEN], char *out)
{
    unsigned char dk[SECRET_DK_LEN];
    char *p = out;

    if (PKCS5_PBKDF2_HMAC(secret, (int)strlen(secret), salt, SECRET_SALT_LEN, SECRET_ITERATIONS, EVP_sha256(),
                          SECRET_DK_LEN, dk) != 1)
        crypto_fatal("PBKDF2");
    memcpy(p, SECRET_PREFIX, sizeof(SECRET_PREFIX) - 1);
    p += sizeof(SECRET_PREFIX) - 1;
    crypto_hex(salt, SECRET_SALT_LEN, p);
    p += 2 * SECRET_SALT_LEN;
    *p++ = '$';
    crypto_hex(dk, SECRET_DK_LEN, p);
    OPENSSL_cleanse(dk, sizeof(dk));
}

void crypto_secret_hash(const char *secret, char *out)
{
    unsigned char salt[SECRET_SALT_LEN];

    crypto_random(salt, sizeof(salt));
    secret_format(secret, salt, out);
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int crypto_secret_verify(const char *secret, const char *stored)
{
    unsigned char salt[SECRET_SALT_LEN];
    char expect[SECRET_TEXT_LEN + 1];
    const char *hex;
    size_t i;
    int match;

    if (stored == NULL || strlen(stored) != SECRET_TEXT_LEN ||
        memcmp(stored, SECRET_PREFIX, sizeof(SECRET_PREFIX) - 1) != 0)
        return 0;
    hex = stored + sizeof(SECRET_PREFIX) - 1;
    for (i = 0; i < SECRET_SALT_LEN; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        salt[i] = (unsigned char)(hi << 4 | lo);
    }
    secret_format(secret, salt, expect);
    match = crypto_equal(expect, SECRET_TEXT_LEN, stored, SECRET_TEXT_LEN);
    OPENSSL_cleanse(expect, sizeof(expect));
    return match;
}
