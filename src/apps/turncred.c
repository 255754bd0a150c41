/*
 * turncred.c — the TURN REST API's credentials; see turncred.h.
 */
#include "apps/turncred.h"
#include "core/common.h"
#include "core/crypto.h"

#include <stdio.h>
#include <string.h>

int turncred_make(const char *secret, const char *user_id, int64_t expiry_s, char user[TURNCRED_USER_MAX],
                  char pass[TURNCRED_PASS_SIZE])
{
    int n = snprintf(user, TURNCRED_USER_MAX, "%lld:%s", (long long)expiry_s, user_id);
    if (n < 0 || n >= TURNCRED_USER_MAX)
        return IRTC_EINVAL;
    unsigned char mac[CRYPTO_SHA1_LEN];
    crypto_hmac_sha1(secret, strlen(secret), user, (size_t)n, NULL, 0, mac);
    crypto_b64_encode(mac, sizeof(mac), pass);
    return IRTC_OK;
}
