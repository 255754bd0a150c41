/*
 * fuzz_jointoken.c — libFuzzer target for signal/jointoken: the join token a
 * browser presents (Base64 of a JSON body, "@#@" and a signature).  A token
 * that parses must satisfy every rule of jointoken.h, make a token that
 * parses back to the same payload and verifies under its key, and verify
 * under no other key; one that does not parse must be refused by jt_verify
 * too.  Single-threaded; a failed check aborts.
 */
#include "apps/jointoken.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <string.h>

static const char KEY[] = "fuzz-access-key-0123456789";

static bool id_chars(const char *s, size_t max, bool dash)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (dash && (c == '_' || c == '-'))))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jt_payload_t p, q;
    char sig[JT_SIG_B64_SIZE];
    const char *why = NULL;
    memset(&p, 0, sizeof(p));
    char *tok = fuzz_dup(data, size, false);
    int rc = jt_parse(tok, size, &p, sig, sizeof(sig), &why);
    int vrc = jt_verify(tok, size, KEY, p.timestamp_ms, 1000, 0, NULL, &why);
    free(tok);
    if (rc != IRTC_OK) {
        CHECK(rc == IRTC_EINVAL && why != NULL);
        CHECK(vrc != IRTC_OK);
        return 0;
    }
    CHECK(jt_validate(&p, &why) == IRTC_OK);
    CHECK(id_chars(p.user_id, 64, true) && id_chars(p.channel_id, 64, true) && id_chars(p.app_id, 64, false));
    CHECK(strcmp(p.role, "0") == 0 || strcmp(p.role, "1") == 0);
    CHECK(p.timestamp_ms >= 0 && strlen(sig) == JT_SIG_B64_SIZE - 1);
    CHECK(strlen(p.host) >= 1 && strlen(p.tenant_id) <= 128);
    /* Its signature under our key is what verification accepts, and nothing else. */
    char good[JT_SIG_B64_SIZE];
    jt_sign(&p, KEY, good);
    CHECK((vrc == IRTC_OK) == (strcmp(good, sig) == 0));
    CHECK(jt_check(&p, good, KEY, p.timestamp_ms, 1000, 0, &why) == IRTC_OK);
    CHECK(jt_check(&p, good, "another-key", p.timestamp_ms, 1000, 0, &why) == IRTC_ECRYPTO);
    if (p.timestamp_ms < INT64_MAX - 2000)
        CHECK(jt_check(&p, good, KEY, p.timestamp_ms + 1001, 1000, 0, &why) == JT_EXPIRED);

    char *made = NULL;
    CHECK(jt_make(&p, KEY, &made) == IRTC_OK && made != NULL);
    CHECK(jt_verify(made, strlen(made), KEY, p.timestamp_ms, 1000, 0, &q, &why) == IRTC_OK);
    CHECK(memcmp(&p, &q, sizeof(p)) == 0 ||
          (strcmp(p.user_id, q.user_id) == 0 && strcmp(p.channel_id, q.channel_id) == 0 &&
           strcmp(p.app_id, q.app_id) == 0 && strcmp(p.host, q.host) == 0 && strcmp(p.port, q.port) == 0 &&
           strcmp(p.role, q.role) == 0 && strcmp(p.tenant_id, q.tenant_id) == 0 && p.timestamp_ms == q.timestamp_ms));
    free(made);
    return 0;
}
