/*
 * crypto.h — small wrappers over OpenSSL 3 used across modules: Base64,
 * HMAC-SHA256, allocation-free HMAC-SHA1, SHA-256, random bytes and ids, constant-time compare, and
 * salted password hashing for stored secrets.  Thread-safe.
 */
#ifndef IRTC_CRYPTO_H
#define IRTC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Standard Base64 with padding.  out must hold crypto_b64_enc_len(n) bytes
 * including the NUL; returns the text length. */
size_t crypto_b64_enc_len(size_t n);
size_t crypto_b64_encode(const void *in, size_t n, char *out);
/* Decodes standard Base64 (padding optional, whitespace rejected).  out must
 * hold n*3/4+3 bytes; returns IRTC_OK and *out_len, or IRTC_EINVAL. */
int crypto_b64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len);

void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen, unsigned char out[32]);
/* Only where a peer's protocol fixes SHA-1 (STUN MESSAGE-INTEGRITY, the TURN
 * REST API's credentials).  The message is msg followed by msg2 (msg2 may be
 * NULL with msg2len 0): STUN authenticates a rewritten header and the rest
 * in place.  Allocation-free, so the media workers may call it per packet. */
#define CRYPTO_SHA1_LEN 20
void crypto_hmac_sha1(const void *key, size_t keylen, const void *msg, size_t msglen, const void *msg2, size_t msg2len,
                      unsigned char out[CRYPTO_SHA1_LEN]);
void crypto_sha256(const void *msg, size_t len, unsigned char out[32]);
void crypto_hex(const unsigned char *in, size_t n, char *out); /* out: 2n+1 */

/* RAND_bytes; aborts if the CSPRNG fails (nothing safe can continue). */
void crypto_random(void *out, size_t n);
/* n random characters of [A-Za-z0-9] plus NUL (unbiased). */
void crypto_random_alnum(char *out, size_t n);

/* Constant-time equality of two byte strings (different lengths → 0). */
int crypto_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Salted hash for stored secrets (appToken, REST tokens): "s1$<salt hex>$<hex>"
 * with PBKDF2-HMAC-SHA256.  out must hold CRYPTO_SECRET_HASH_LEN bytes. */
#define CRYPTO_SECRET_HASH_LEN 120
void crypto_secret_hash(const char *secret, char *out);
int crypto_secret_verify(const char *secret, const char *stored); /* 1 match, 0 not */

#endif
