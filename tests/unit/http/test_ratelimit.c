/*
 * test_ratelimit.c — the REST API's token buckets: burst, steady refill,
 * Retry-After arithmetic, independence of keys, and that idle keys are
 * forgotten so the table stays small.  Time is passed in, never slept.
 */
#include <stdio.h>

#include "http/ratelimit.h"
#include "unit/tap.h"

static void test_burst_then_refuse(void)
{
    ratelimit_t *rl = ratelimit_new(3);
    uint64_t retry = 0;
    ok(ratelimit_take(rl, "app/api", 1000, &retry), "call 1 of 3 allowed");
    ok(ratelimit_take(rl, "app/api", 1000, &retry), "call 2 of 3 allowed");
    ok(ratelimit_take(rl, "app/api", 1000, &retry), "call 3 of 3 allowed");
    ok(!ratelimit_take(rl, "app/api", 1000, &retry), "call 4 in the same minute refused");
    is_int(retry, 20000, "retry after 60 s / 3 = 20 s");
    ok(!ratelimit_take(rl, "app/api", 1000 + 19999, &retry), "still refused 1 ms early");
    is_int(retry, 1, "retry after the last millisecond");
    ok(ratelimit_take(rl, "app/api", 1000 + 20000, &retry), "one call earned back after 20 s");
    ok(!ratelimit_take(rl, "app/api", 1000 + 20000, &retry), "and only one");
    ratelimit_free(rl);
}

static void test_refill_caps_at_capacity(void)
{
    ratelimit_t *rl = ratelimit_new(2);
    ok(ratelimit_take(rl, "k", 0, NULL) && ratelimit_take(rl, "k", 0, NULL), "burst of 2");
    /* An hour idle refills the bucket, but not beyond its size. */
    ok(ratelimit_take(rl, "k", 3600000, NULL), "after an hour: 1");
    ok(ratelimit_take(rl, "k", 3600000, NULL), "after an hour: 2");
    ok(!ratelimit_take(rl, "k", 3600000, NULL), "after an hour: no third (capacity is 2)");
    ratelimit_free(rl);
}

static void test_keys_are_independent(void)
{
    ratelimit_t *rl = ratelimit_new(1);
    ok(ratelimit_take(rl, "appA/addRule", 0, NULL), "appA addRule");
    ok(!ratelimit_take(rl, "appA/addRule", 0, NULL), "appA addRule again: refused");
    ok(ratelimit_take(rl, "appA/deleteRule", 0, NULL), "another API of the same app is allowed");
    ok(ratelimit_take(rl, "appB/addRule", 0, NULL), "the same API of another app is allowed");
    is_int(ratelimit_size(rl), 3, "three keys remembered");
    ratelimit_free(rl);
}

static void test_steady_rate(void)
{
    /* 60/min at one call per second never trips; at two per second it does. */
    ratelimit_t *rl = ratelimit_new(60);
    int refused = 0;
    for (uint64_t t = 0; t < 300000; t += 1000)
        refused += !ratelimit_take(rl, "k", t, NULL);
    is_int(refused, 0, "one call per second for 5 minutes: none refused");
    /* Flooding for 10 minutes gets the burst plus what is earned: 60 + 600. */
    int allowed = 0;
    for (uint64_t t = 300000; t < 900000; t += 250)
        allowed += ratelimit_take(rl, "k", t, NULL);
    ok(allowed >= 659 && allowed <= 661, "four per second for 10 minutes: 60 + 600 allowed (%d)", allowed);
    ratelimit_free(rl);
}

static void test_idle_keys_forgotten(void)
{
    ratelimit_t *rl = ratelimit_new(5);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "app%d/x", i);
        ratelimit_take(rl, key, (uint64_t)i * 61000, NULL); /* each key idle once the next comes */
    }
    ok(ratelimit_size(rl) < 200, "keys idle for a minute are dropped (%zu left of 1000)", ratelimit_size(rl));
    ok(ratelimit_take(rl, "app999/x", 999 * 61000, NULL), "a remembered key still counts");
    ratelimit_free(rl);

    rl = ratelimit_new(1);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "busy%d", i);
        ratelimit_take(rl, key, 5, NULL);
    }
    is_int(ratelimit_size(rl), 1000, "active keys are all kept (the table grows)");
    ok(!ratelimit_take(rl, "busy0", 5, NULL) && !ratelimit_take(rl, "busy999", 5, NULL),
       "and each still has its own empty bucket");
    ratelimit_free(rl);
}

static void test_zero_means_one(void)
{
    ratelimit_t *rl = ratelimit_new(0);
    uint64_t retry = 0;
    ok(ratelimit_take(rl, "k", 0, &retry), "per_minute 0 is taken as 1: first call allowed");
    ok(!ratelimit_take(rl, "k", 0, &retry) && retry == 60000, "second refused for 60 s");
    ratelimit_free(rl);
}

int main(void)
{
    test_burst_then_refuse();
    test_refill_caps_at_capacity();
    test_keys_are_independent();
    test_steady_rate();
    test_idle_keys_forgotten();
    test_zero_means_one();
    return done_testing();
}
