/*
 * test_consumer.c — the consumer's sequence manager: output numbers without
 * holes when inputs are dropped, late packets placed where they belong,
 * dropped inputs never sent, wrap-around, restarts at layer switches.
 */
#include "media/consumer.h"
#include "unit/tap.h"

static void test_identity(void)
{
    seqman_t m = {0};
    uint16_t out;
    ok(seqman_input(&m, 100, false, &out) && out == 100, "first input maps to itself");
    ok(seqman_input(&m, 101, false, &out) && out == 101, "next input next output");
    ok(seqman_input(&m, 103, false, &out) && out == 103, "a gap in the input stays a gap (a loss the receiver NACKs)");
    ok(seqman_input(&m, 102, false, &out) && out == 102, "the late packet fills it");
}

static void test_drops(void)
{
    seqman_t m = {0};
    uint16_t out;
    seqman_restart(&m, 1000, 5);
    ok(seqman_input(&m, 1000, false, &out) && out == 5, "restart: input 1000 → 5");
    ok(!seqman_input(&m, 1001, true, &out), "a dropped input is not sent");
    ok(seqman_input(&m, 1002, false, &out) && out == 6, "the next one takes the dropped one's number: no hole");
    ok(!seqman_input(&m, 1003, true, &out), "drop");
    ok(!seqman_input(&m, 1004, true, &out), "drop");
    ok(seqman_input(&m, 1005, false, &out) && out == 7, "two drops, still no hole");
    ok(!seqman_input(&m, 1001, false, &out), "a retransmission of a dropped input is not sent either");
    ok(seqman_input(&m, 1002, false, &out) && out == 6, "a retransmission of a sent input gets its number again");
    /* a gap, then drops after it, then the late packet of the gap */
    ok(seqman_input(&m, 1008, false, &out) && out == 10, "1006, 1007 missing: 1008 → 10");
    ok(!seqman_input(&m, 1009, true, &out), "1009 dropped");
    ok(seqman_input(&m, 1010, false, &out) && out == 11, "1010 → 11");
    ok(seqman_input(&m, 1007, false, &out) && out == 9, "late 1007 → 9 (numbered as before the later drop)");
    ok(seqman_input(&m, 1006, false, &out) && out == 8, "late 1006 → 8");
    ok(!seqman_input(&m, 1006 - SEQMAN_WINDOW, false, &out), "older than the window: not placed");
    ok(!seqman_input(&m, 1007, true, &out), "a late packet cannot be dropped without a hole: refused");
}

static void test_wrap(void)
{
    seqman_t m = {0};
    uint16_t out;
    seqman_restart(&m, 65534, 65533);
    ok(seqman_input(&m, 65534, false, &out) && out == 65533, "near the wrap");
    ok(!seqman_input(&m, 65535, true, &out), "drop across");
    ok(seqman_input(&m, 0, false, &out) && out == 65534, "input wraps: 0 → 65534");
    ok(seqman_input(&m, 1, false, &out) && out == 65535, "1 → 65535");
    ok(seqman_input(&m, 2, false, &out) && out == 0, "output wraps: 2 → 0");
    /* a big jump clears the memory of drops */
    ok(seqman_input(&m, 2 + 2 * SEQMAN_WINDOW, false, &out) && out == (uint16_t)(2 * SEQMAN_WINDOW),
       "a jump larger than the window keeps the offset");
    /* many drops in a row, beyond one bitmap word */
    seqman_restart(&m, 10, 10);
    for (uint16_t i = 10; i < 10 + 200; i++)
        seqman_input(&m, i, i % 2 == 1, &out);
    ok(seqman_input(&m, 210, false, &out) && out == 110, "100 of 200 dropped: 210 → 110");
    ok(seqman_input(&m, 12, false, &out) && out == 11, "a late even one far back is placed exactly (12 → 11)");
}

int main(void)
{
    test_identity();
    test_drops();
    test_wrap();
    return done_testing();
}
