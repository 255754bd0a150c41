/*
 * test_crypto.c — core/crypto.c against published vectors (RFC 4648 Base64,
 * RFC 4231 HMAC-SHA256, FIPS 180-2 SHA-256) plus the properties callers rely
 * on: strict Base64 decoding, unbiased random ids, constant-time equality and
 * salted secret hashes.
 */
#include "core/crypto.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

#include "unit/tap.h"

static void test_b64_vectors(void)
{
    static const struct {
        const char *plain, *b64, *unpadded;
    } v[] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"fooba", "Zm9vYmE=", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    };
    size_t i;

    for (i = 0; i < IRTC_ARRAY_SIZE(v); i++) {
        char enc[32];
        unsigned char dec[32];
        size_t n = strlen(v[i].plain), dlen = 99;

        is_int(crypto_b64_enc_len(n), strlen(v[i].b64) + 1, "enc_len(%zu) counts the NUL", n);
        is_int(crypto_b64_encode(v[i].plain, n, enc), strlen(v[i].b64), "encode \"%s\" length", v[i].plain);
        is_str(enc, v[i].b64, "encode \"%s\"", v[i].plain);

        is_int(crypto_b64_decode(v[i].b64, strlen(v[i].b64), dec, &dlen), IRTC_OK, "decode %s", v[i].b64);
        ok(dlen == n && memcmp(dec, v[i].plain, n) == 0, "decode %s gives \"%s\"", v[i].b64, v[i].plain);

        dlen = 99;
        is_int(crypto_b64_decode(v[i].unpadded, strlen(v[i].unpadded), dec, &dlen), IRTC_OK, "decode unpadded %s",
               v[i].unpadded);
        ok(dlen == n && memcmp(dec, v[i].plain, n) == 0, "unpadded %s gives \"%s\"", v[i].unpadded, v[i].plain);
    }
}

static void test_b64_binary(void)
{
    unsigned char in[256], dec[256 * 3 / 4 + 3 + 64];
    char enc[400];
    size_t i, n, dlen;

    for (i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(255 - i);
    n = crypto_b64_encode(in, sizeof(in), enc);
    is_int(n, 344, "256 bytes encode to 344 chars");
    ok(crypto_b64_decode(enc, n, dec, &dlen) == IRTC_OK && dlen == sizeof(in) && memcmp(dec, in, dlen) == 0,
       "all byte values round-trip");
    is_str(enc + n - 4, "AA==", "last quantum of 255..0 is AA==");
}

static void test_b64_errors(void)
{
    static const char *bad[] = {
        "Z",          /* one symbol cannot carry a byte */
        "Zm9vY",      /* 5 symbols: same */
        "Zg=",        /* padding does not complete the quantum */
        "Zm9v=",      /* padding after a complete quantum */
        "Zm9v====",   /* too much padding */
        "Zg==Zg==",   /* padding in the middle */
        "Z===",       /* padding after a single symbol */
        "====",       /* only padding */
        "Zh==",       /* non-zero unused bits (non-canonical for "f") */
        "Zm9=",       /* non-zero unused bits in a 3-symbol quantum */
        "Zm9v YmFy",  /* whitespace is rejected */
        "Zm9v\nYmFy", /* so are line breaks */
        "Zm-v",       /* base64url alphabet is not standard Base64 */
        "Zm_v",       "Zm9v\x80YmE",
    };
    unsigned char out[32];
    size_t i, len;

    for (i = 0; i < IRTC_ARRAY_SIZE(bad); i++)
        is_int(crypto_b64_decode(bad[i], strlen(bad[i]), out, &len), IRTC_EINVAL, "reject Base64 #%zu", i);
    is_int(crypto_b64_decode("Zm\0v", 4, out, &len), IRTC_EINVAL, "reject embedded NUL");
}

static void hmac_hex(const void *key, size_t klen, const void *msg, size_t mlen, char hex[65])
{
    unsigned char mac[32];
    crypto_hmac_sha256(key, klen, msg, mlen, mac);
    crypto_hex(mac, 32, hex);
}

static void test_hmac_rfc4231(void)
{
    unsigned char k[131], d[50];
    char hex[65];
    size_t i;

    memset(k, 0x0b, 20);
    hmac_hex(k, 20, "Hi There", 8, hex);
    is_str(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "RFC 4231 case 1");

    hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
    is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "RFC 4231 case 2");

    memset(k, 0xaa, 20);
    memset(d, 0xdd, 50);
    hmac_hex(k, 20, d, 50, hex);
    is_str(hex, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", "RFC 4231 case 3");

    for (i = 0; i < 25; i++)
        k[i] = (unsigned char)(i + 1);
    memset(d, 0xcd, 50);
    hmac_hex(k, 25, d, 50, hex);
    is_str(hex, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", "RFC 4231 case 4");

    memset(k, 0xaa, 131);
    hmac_hex(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, hex);
    is_str(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "RFC 4231 case 6");

    {
        const char *m = "This is a test using a larger than block-size key and a larger than block-size data. The "
                        "key needs to be hashed before being used by the HMAC algorithm.";
        hmac_hex(k, 131, m, strlen(m), hex);
        is_str(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", "RFC 4231 case 7");
    }

    /* An empty key is a valid key, not "reuse the last one". */
    hmac_hex("", 0, "", 0, hex);
    is_str(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", "HMAC with empty key and data");
}

static void sha1_hex(const void *key, size_t klen, const void *msg, size_t mlen, char hex[41])
{
    unsigned char mac[CRYPTO_SHA1_LEN];
    crypto_hmac_sha1(key, klen, msg, mlen, NULL, 0, mac);
    crypto_hex(mac, sizeof(mac), hex);
}

static void test_hmac_sha1_rfc2202(void)
{
    unsigned char k[80], d[50];
    char hex[41], split[41];
    size_t i;

    memset(k, 0x0b, 20);
    sha1_hex(k, 20, "Hi There", 8, hex);
    is_str(hex, "b617318655057264e28bc0b6fb378c8ef146be00", "RFC 2202 HMAC-SHA1 case 1");

    sha1_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
    is_str(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "RFC 2202 HMAC-SHA1 case 2");

    memset(k, 0xaa, 20);
    memset(d, 0xdd, 50);
    sha1_hex(k, 20, d, 50, hex);
    is_str(hex, "125d7342b9ac11cd91a39af48aa17b4f63f175d3", "RFC 2202 HMAC-SHA1 case 3");

    for (i = 0; i < 25; i++)
        k[i] = (unsigned char)(i + 1);
    memset(d, 0xcd, 50);
    sha1_hex(k, 25, d, 50, hex);
    is_str(hex, "4c9007f4026250c6bc8414f9bf50c86c2d7235da", "RFC 2202 HMAC-SHA1 case 4");

    memset(k, 0x0c, 20);
    sha1_hex(k, 20, "Test With Truncation", 20, hex);
    is_str(hex, "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04", "RFC 2202 HMAC-SHA1 case 5");

    memset(k, 0xaa, 80);
    sha1_hex(k, 80, "Test Using Larger Than Block-Size Key - Hash Key First", 54, hex);
    is_str(hex, "aa4ae5e15272d00e95705637ce8a3b55ed402112", "RFC 2202 HMAC-SHA1 case 6 (key hashed first)");

    {
        const char *m = "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
        unsigned char mac[CRYPTO_SHA1_LEN];
        sha1_hex(k, 80, m, strlen(m), hex);
        is_str(hex, "e8e99d0f45237d786d6bbaa7965c7808bbff1a91", "RFC 2202 HMAC-SHA1 case 7");
        /* STUN passes a rewritten header and the rest of the message apart. */
        crypto_hmac_sha1(k, 80, m, 4, m + 4, strlen(m) - 4, mac);
        crypto_hex(mac, sizeof(mac), split);
        is_str(split, hex, "HMAC-SHA1 of a message in two parts = of the whole");
    }

    sha1_hex("", 0, "", 0, hex);
    is_str(hex, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d", "HMAC-SHA1 with empty key and data");
}

static void test_sha256(void)
{
    unsigned char md[32];
    char hex[65];

    crypto_sha256("abc", 3, md);
    crypto_hex(md, 32, hex);
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256(\"abc\")");
    crypto_sha256("", 0, md);
    crypto_hex(md, 32, hex);
    is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA-256(\"\")");

    crypto_hex((const unsigned char *)"\x00\x0f\xa5\xff", 4, hex);
    is_str(hex, "000fa5ff", "hex is lowercase and zero-padded");
}

static int all_alnum(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static void test_random(void)
{
    static const char alnum_set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char a[32], b[32], zero[32] = {0};
    char s1[33], s2[33], big[62 * 200 + 1], one[2];
    int seen[256] = {0}, missing = 0;
    size_t i;

    crypto_random(a, sizeof(a));
    crypto_random(b, sizeof(b));
    ok(memcmp(a, b, 32) != 0 && memcmp(a, zero, 32) != 0, "random bytes differ between calls");

    memset(s1, 'x', sizeof(s1));
    crypto_random_alnum(s1, 32);
    crypto_random_alnum(s2, 32);
    is_int(strlen(s1), 32, "random_alnum writes n chars then NUL");
    ok(all_alnum(s1, 32) && all_alnum(s2, 32), "random_alnum uses [A-Za-z0-9]");
    ok(strcmp(s1, s2) != 0, "two random ids differ");

    crypto_random_alnum(one, 0);
    is_int(one[0], '\0', "random_alnum(0) writes only the NUL");
    crypto_random_alnum(one, 1);
    ok(one[1] == '\0' && all_alnum(one, 1), "random_alnum(1)");

    /* With 12400 draws, missing any of the 62 symbols has probability ~1e-84;
     * a biased or truncated alphabet fails here. */
    crypto_random_alnum(big, sizeof(big) - 1);
    ok(all_alnum(big, sizeof(big) - 1) && big[sizeof(big) - 1] == '\0', "12400 random chars are alnum");
    for (i = 0; i < sizeof(big) - 1; i++)
        seen[(unsigned char)big[i]]++;
    for (i = 0; alnum_set[i]; i++)
        if (seen[(unsigned char)alnum_set[i]] == 0)
            missing++;
    is_int(missing, 0, "every one of the 62 symbols occurs");
}

static void test_equal(void)
{
    ok(crypto_equal("abc", 3, "abc", 3), "equal strings");
    ok(!crypto_equal("abc", 3, "abd", 3), "last byte differs");
    ok(!crypto_equal("xbc", 3, "abc", 3), "first byte differs");
    ok(!crypto_equal("abc", 3, "abcd", 4), "prefix is not equal");
    ok(!crypto_equal("abcd", 4, "abc", 3), "longer is not equal");
    ok(crypto_equal("", 0, "", 0), "two empty strings are equal");
    ok(!crypto_equal("", 0, "a", 1), "empty vs non-empty");
}

static void test_secret(void)
{
    char h1[CRYPTO_SECRET_HASH_LEN], h2[CRYPTO_SECRET_HASH_LEN], t[CRYPTO_SECRET_HASH_LEN];

    crypto_secret_hash("s3cret-appToken", h1);
    crypto_secret_hash("s3cret-appToken", h2);
    ok(strncmp(h1, "s1$", 3) == 0 && strlen(h1) == 3 + 32 + 1 + 64 && h1[35] == '$', "hash format s1$salt$dk: %s", h1);
    ok(strcmp(h1, h2) != 0, "same secret hashed twice gives different salts");
    ok(strncmp(h1 + 3, h2 + 3, 32) != 0, "salts differ");
    is_int(crypto_secret_verify("s3cret-appToken", h1), 1, "verify correct secret (1)");
    is_int(crypto_secret_verify("s3cret-appToken", h2), 1, "verify correct secret (2)");
    is_int(crypto_secret_verify("s3cret-apptoken", h1), 0, "wrong case fails");
    is_int(crypto_secret_verify("s3cret-appToke", h1), 0, "prefix of secret fails");
    is_int(crypto_secret_verify("", h1), 0, "empty secret fails");

    crypto_secret_hash("", t);
    is_int(crypto_secret_verify("", t), 1, "empty secret can be hashed and verified");

    strcpy(t, h1);
    t[strlen(t) - 1] = t[strlen(t) - 1] == '0' ? '1' : '0';
    is_int(crypto_secret_verify("s3cret-appToken", t), 0, "tampered digest fails");
    strcpy(t, h1);
    t[3] = t[3] == '0' ? '1' : '0';
    is_int(crypto_secret_verify("s3cret-appToken", t), 0, "tampered salt fails");
    strcpy(t, h1);
    t[1] = '2';
    is_int(crypto_secret_verify("s3cret-appToken", t), 0, "unknown scheme fails");
    strcpy(t, h1);
    t[strlen(t) - 1] = '\0';
    is_int(crypto_secret_verify("s3cret-appToken", t), 0, "truncated hash fails");
    strcpy(t, h1);
    t[4] = 'G';
    is_int(crypto_secret_verify("s3cret-appToken", t), 0, "non-hex salt fails");
    is_int(crypto_secret_verify("s3cret-appToken", ""), 0, "empty stored hash fails");
    is_int(crypto_secret_verify("s3cret-appToken", NULL), 0, "NULL stored hash fails");
    is_int(crypto_secret_verify("s3cret-appToken", "s3cret-appToken"), 0, "plaintext stored value fails");
}

int main(void)
{
    test_b64_vectors();
    test_b64_binary();
    test_b64_errors();
    test_hmac_rfc4231();
    test_hmac_sha1_rfc2202();
    test_sha256();
    test_random();
    test_equal();
    test_secret();
    return done_testing();
}
