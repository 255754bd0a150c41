/*
 * jointoken.h — the vendor's join token (CONTRACT.md §2, guide §7.4):
 * Base64( body + "@#@" + Base64(HMAC-SHA256(accessKey + timeStamp, sorted
 * params)) ).  Parses, validates, signs, makes and verifies tokens.
 *
 * Thread-safe: pure functions, no state.  Does not look up apps or their
 * accessKey (the caller does, by the payload's appId), does not compare the
 * payload with the join request, and does not pick the contract's error codes
 * (signal/ and http/ map the return codes below).
 */
#ifndef IRTC_APPS_JOINTOKEN_H
#define IRTC_APPS_JOINTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

/* Expired is a failure like any other, so it stays negative; it is the
 * configured token lifetime that was exceeded, hence IRTC_ELIMIT.  Callers
 * map it to `signature-expired` / 200010, and IRTC_ECRYPTO to 200009. */
#define JT_EXPIRED IRTC_ELIMIT

/* Bytes for the signature text: Base64 of 32 bytes (44 chars) plus NUL. */
#define JT_SIG_B64_SIZE 45
/* Longest token text accepted (Base64 chars); real tokens are ~400. */
#define JT_TOKEN_MAX 4096

/* The payload.  Every string is NUL-terminated ASCII and, once jt_parse or
 * jt_validate accepted it, satisfies:
 *   user_id, channel_id  [A-Za-z0-9_-]{1,64}   (Web SDK join() rules)
 *   app_id               [A-Za-z0-9]{1,64}
 *   role                 "0" publisher (send only) or "1" joiner
 *   port                 decimal 1..65535
 *   host                 1..255 chars, tenant_id 0..128 chars, both printable
 *                        ASCII without space, '"', '\\', '&' or '='
 * Those last exclusions keep the body valid JSON without escaping (the
 * vendor's Java builds it by concatenation) and keep the signed
 * "k=v&k=v" message unambiguous. */
typedef struct {
    char user_id[65];
    char channel_id[65];
    char app_id[65];
    char host[256];
    char port[8];
    char role[2];
    char tenant_id[129];
    int64_t timestamp_ms; /* UTC milliseconds, >= 0 */
} jt_payload_t;

/* Checks every field against the rules above.  IRTC_OK or IRTC_EINVAL with
 * *why naming the field. */
int jt_validate(const jt_payload_t *p, const char **why);

/* Decodes the token text (len chars, not NUL-terminated necessarily), splits
 * it at the last "@#@", parses the JSON body strictly (string fields must be
 * strings, timeStamp a non-negative integer, every field present exactly
 * once, unknown members ignored) and validates it.  Copies the signature text
 * (44 Base64 chars) into sig_b64_out, which holds sig_cap >= JT_SIG_B64_SIZE
 * bytes.  Does not check the signature.  IRTC_OK or IRTC_EINVAL with *why. */
int jt_parse(const char *token, size_t len, jt_payload_t *out, char *sig_b64_out, size_t sig_cap, const char **why);

/* Signature text of p under access_key (not NULL), exactly as the guide's
 * Java does.  Does not validate p. */
void jt_sign(const jt_payload_t *p, const char *access_key, char sig_b64_out[JT_SIG_B64_SIZE]);

/* Builds a token for p (body fields in the guide's order, no spaces).  On
 * IRTC_OK *token_out is malloc'd NUL-terminated text the caller frees; on
 * IRTC_EINVAL (access_key NULL, or p fails jt_validate: call it for the
 * reason) *token_out is NULL. */
int jt_make(const jt_payload_t *p, const char *access_key, char **token_out);

/* Second step for callers that parsed first to find the app: compares the
 * signature in constant time, then the time window.  Returns IRTC_OK;
 * IRTC_ECRYPTO when the signature does not match; JT_EXPIRED when
 * now_ms > timestamp_ms + ttl_ms; IRTC_EINVAL when timestamp_ms is more than
 * skew_ms ahead of now_ms, p is invalid, access_key is NULL or a time
 * argument is negative. */
int jt_check(const jt_payload_t *p, const char *sig_b64, const char *access_key, int64_t now_ms, int64_t ttl_ms,
             int64_t skew_ms, const char **why);

/* jt_parse then jt_check, for callers that already know the app's key.  out
 * is filled whenever parsing succeeded, even if the check then fails, so the
 * caller can log who it was; unless the result is IRTC_OK or JT_EXPIRED its
 * contents are unauthenticated.  out may be NULL. */
int jt_verify(const char *token, size_t len, const char *access_key_of_app, int64_t now_ms, int64_t ttl_ms,
              int64_t skew_ms, jt_payload_t *out, const char **why);

#endif
