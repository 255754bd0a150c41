/*
 * test_stun_limit.c — src/media/stun_limit.c (per-source and per-worker
 * budgets for STUN 401 answers), on its own with the time passed in.
 */
#include "media/stun_limit.h"
#include "core/clock.h"
#include "core/common.h"
#include "unit/tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sockaddr_in v4(uint32_t ip, uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
    return a;
}

static int allowed(stun_limit_t *l, const struct sockaddr_in *a, int tries, uint64_t now_ms)
{
    int n = 0;
    for (int i = 0; i < tries; i++)
        n += stun_limit_allow(l, (const struct sockaddr *)a, now_ms);
    return n;
}

static void test_limit(void)
{
    static stun_limit_t l;
    stun_limit_init(&l, 0);
    struct sockaddr_in a = v4(0xC0000201, 5000), a2 = v4(0xC0000201, 6000), b = v4(0xC0000202, 5000);
    is_int(allowed(&l, &a, 100, 0), STUN_LIMIT_BURST, "one source: a burst of %d answers", STUN_LIMIT_BURST);
    is_int(allowed(&l, &a2, 10, 0), 0, "another port of the same address shares its budget");
    is_int(allowed(&l, &b, 100, 0), STUN_LIMIT_BURST, "another address has its own");
    is_int(allowed(&l, &a, 100, 1000), STUN_LIMIT_RATE, "then %d a second", STUN_LIMIT_RATE);
    ok(l.refused > 0 && l.allowed == 2 * STUN_LIMIT_BURST + STUN_LIMIT_RATE, "answers and refusals counted");

    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
    inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
    int n6 = 0;
    for (int i = 0; i < 100; i++)
        n6 += stun_limit_allow(&l, (const struct sockaddr *)&s6, 2000);
    is_int(n6, STUN_LIMIT_BURST, "IPv6 sources too");

    /* Spoofed from many addresses: the worker's total bounds the answers. */
    stun_limit_init(&l, 0);
    int total = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        struct sockaddr_in x = v4(0x0A000000 + i, 9);
        total += stun_limit_allow(&l, (const struct sockaddr *)&x, 0);
    }
    is_int(total, STUN_LIMIT_TOTAL_BURST, "100000 spoofed sources at once: %d answers in all", STUN_LIMIT_TOTAL_BURST);
    total = 0;
    for (uint64_t t = 0; t < 10000; t += 10) {
        struct sockaddr_in x = v4(0x0B000000 + (uint32_t)t, 9);
        total += stun_limit_allow(&l, (const struct sockaddr *)&x, 1000 + t);
    }
    ok(total <= STUN_LIMIT_TOTAL_RATE * 10 + STUN_LIMIT_TOTAL_BURST,
       "spread over 10 s: at most the total rate (%d answers)", total);

    /* A source that keeps checking while the table churns keeps its budget
     * only while it is remembered; then it starts again from a full one. */
    stun_limit_init(&l, 0);
    int got = allowed(&l, &a, STUN_LIMIT_BURST, 0);
    for (uint32_t i = 0; i < 4 * STUN_LIMIT_SLOTS; i++) {
        struct sockaddr_in x = v4(0x0C000000 + i, 9);
        stun_limit_allow(&l, (const struct sockaddr *)&x, 1 + i / 100000);
    }
    got += allowed(&l, &a, 1, 100000);
    ok(got <= STUN_LIMIT_BURST + 1, "eviction never grants more than a fresh burst (%d)", got);
}

int main(void)
{
    test_limit();
    return done_testing();
}
