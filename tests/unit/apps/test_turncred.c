/*
 * test_turncred.c — apps/turncred.c against the openssl command line (an
 * implementation independent of ours, as coturn's is): a fixed vector
 * computed once with `openssl dgst -sha1 -hmac`, then random secrets and
 * user ids recomputed by openssl at test time; and the bounds.
 */
#include "apps/turncred.h"
#include "core/common.h"
#include "core/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/tap.h"

/* printf %s "$user" | openssl dgst -sha1 -hmac "$secret" -binary | base64
 * (secret and user are alphanumeric here, so no shell quoting issue). */
static int openssl_pass(const char *secret, const char *user, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "printf %%s '%s' | openssl dgst -sha1 -hmac '%s' -binary | base64", user, secret);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return pclose(f) == 0 && n > 0 ? 0 : -1;
}

int main(void)
{
    char user[TURNCRED_USER_MAX], pass[TURNCRED_PASS_SIZE];
    ok(turncred_make("north-wing-secret", "alice", 1700000000, user, pass) == IRTC_OK, "makes a credential");
    ok(strcmp(user, "1700000000:alice") == 0, "username is expiry:userId (%s)", user);
    /* computed with openssl 3.0 when this test was written */
    ok(strcmp(pass, "Ow2Il17lAifXrf2O8bPinjGWpWQ=") == 0, "password is Base64(HMAC-SHA1(secret, username)) (%s)", pass);

    int agree = 0, runs = 0;
    char want[64], why[256] = "";
    for (int i = 0; i < 8; i++) {
        char secret[33], uid[65];
        crypto_random_alnum(secret, 1 + (size_t)(i * 4));
        crypto_random_alnum(uid, 1 + (size_t)(i * 9));
        int64_t exp = 1700000000 + i * 86400;
        if (turncred_make(secret, uid, exp, user, pass) != IRTC_OK || openssl_pass(secret, user, want, sizeof(want)) != 0)
            break;
        runs++;
        if (strcmp(want, pass) == 0)
            agree++;
        else
            snprintf(why, sizeof(why), "%s: openssl %s, ours %s", user, want, pass);
    }
    ok(runs == 8 && agree == 8, "random secrets and user ids: openssl agrees (%d/%d) %s", agree, runs, why);

    char uid64[65];
    memset(uid64, 'u', 64);
    uid64[64] = '\0';
    ok(turncred_make("s", uid64, 99999999999LL, user, pass) == IRTC_OK && strlen(user) == 11 + 1 + 64,
       "the longest userId with an 11-digit expiry fits");
    char uid100[101];
    memset(uid100, 'u', 100);
    uid100[100] = '\0';
    ok(turncred_make("s", uid100, 1, user, pass) == IRTC_EINVAL, "an over-long userId is refused, not truncated");
    return done_testing();
}
