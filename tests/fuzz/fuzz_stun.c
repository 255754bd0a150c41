/*
 * fuzz_stun.c — libFuzzer target for media/stun.  For every input: parse it;
 * if it parses, run both checks and every accessor, then answer it the way
 * the ICE-lite server would (Binding success to the address it carries, or a
 * 487) and require our own parser and checkers to accept the answer and the
 * mapped address to round-trip.  Each input is also replayed with its header
 * made consistent so the attribute walk gets fuzzed too.  Single-threaded;
 * any failed check aborts.
 * Built and run by `make check-fuzz` (tests/fuzz/local.mk).
 */
#include "media/stun.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char PWD[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* A message we built must come back whole through our own parser. */
static void check_own(const uint8_t *out, size_t n, const uint8_t txid[12], bool keyed, stun_msg_t *m)
{
    CHECK(n > 0);
    CHECK(stun_is_stun(out, n));
    CHECK(stun_parse(out, n, m, NULL) == IRTC_OK);
    CHECK(memcmp(m->txid, txid, 12) == 0);
    CHECK(stun_check_fingerprint(out, n, m) == IRTC_OK);
    if (keyed)
        CHECK(stun_check_integrity(out, n, m, PWD, strlen(PWD)) == IRTC_OK);
    else
        CHECK(m->integrity_off == 0);
}

static void answer(const stun_msg_t *in, const struct sockaddr_storage *mapped)
{
    uint8_t out[STUN_BINDING_SUCCESS_MAX];
    stun_msg_t m;
    size_t n =
        stun_build_binding_success(out, sizeof(out), in->txid, (const struct sockaddr *)mapped, PWD, strlen(PWD));
    check_own(out, n, in->txid, true, &m);
    CHECK(m.cls == STUN_CLASS_SUCCESS && m.method == STUN_METHOD_BINDING);
    struct sockaddr_storage back;
    CHECK(stun_get_xor_mapped(out, n, &m, &back) == IRTC_OK);
    if (mapped->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)mapped, *b = (const struct sockaddr_in *)&back;
        CHECK(b->sin_family == AF_INET && a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr);
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)mapped, *b = (const struct sockaddr_in6 *)&back;
        CHECK(b->sin6_family == AF_INET6 && a->sin6_port == b->sin6_port &&
              memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0);
    }
}

static void fuzz_one(const uint8_t *data, size_t size)
{
    stun_msg_t m;
    const char *why = NULL;
    bool is = stun_is_stun(data, size);
    int rc = stun_parse(data, size, &m, &why);
    if (rc != IRTC_OK) {
        CHECK(rc == IRTC_EINVAL && why != NULL);
        return;
    }
    CHECK(is);
    CHECK(m.integrity_off == 0 || m.integrity_off + 24 <= size);
    CHECK(m.fingerprint_off == 0 || m.fingerprint_off + 8 == size);
    CHECK(m.username == NULL || (m.username >= data && m.username + m.username_len <= data + size));
    CHECK(m.n_unknown <= STUN_MAX_UNKNOWN);

    rc = stun_check_integrity(data, size, &m, PWD, strlen(PWD));
    CHECK(rc == IRTC_OK || rc == IRTC_ECRYPTO || rc == IRTC_ENOTFOUND);
    rc = stun_check_fingerprint(data, size, &m);
    CHECK(rc == IRTC_OK || rc == IRTC_ECRYPTO || rc == IRTC_ENOTFOUND);

    if (m.username != NULL) {
        const uint8_t *s, *c;
        size_t sl, cl;
        if (stun_username_split(m.username, m.username_len, &s, &sl, &c, &cl) == IRTC_OK)
            CHECK(sl > 0 && cl > 0 && sl + 1 + cl == m.username_len && memchr(c, ':', cl) == NULL);
    }

    struct sockaddr_storage ss;
    rc = stun_get_xor_mapped(data, size, &m, &ss);
    CHECK(rc == IRTC_OK || rc == IRTC_EINVAL || rc == IRTC_ENOTFOUND);
    if (rc == IRTC_OK)
        answer(&m, &ss);

    uint8_t out[STUN_ERROR_MAX];
    stun_msg_t e;
    size_t n = stun_build_error(out, sizeof(out), m.txid, m.method & 0xFF, STUN_ERR_ROLE_CONFLICT, PWD, strlen(PWD));
    check_own(out, n, m.txid, true, &e);
    CHECK(e.cls == STUN_CLASS_ERROR && e.error_code == 487 && e.method == (m.method & 0xFF));
    n = stun_build_error(out, sizeof(out), m.txid, STUN_METHOD_BINDING, STUN_ERR_UNAUTHORIZED, PWD, strlen(PWD));
    check_own(out, n, m.txid, false, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    /* Random bytes rarely carry a cookie and a matching length, so also walk
     * the attributes of a copy with a consistent header (exact-size heap
     * block, so ASan still sees over-reads). */
    if (size >= STUN_HEADER_LEN && size <= 4096) {
        size_t n = size & ~(size_t)3;
        uint8_t *fix = malloc(n);
        CHECK(fix != NULL);
        memcpy(fix, data, n);
        fix[0] &= 3;
        fix[2] = (uint8_t)((n - STUN_HEADER_LEN) >> 8);
        fix[3] = (uint8_t)(n - STUN_HEADER_LEN);
        fix[4] = 0x21, fix[5] = 0x12, fix[6] = 0xa4, fix[7] = 0x42;
        fuzz_one(fix, n);
        free(fix);
    }
    return 0;
}
