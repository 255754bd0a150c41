/*
 * test_metrics.c — core/metrics.c: the Prometheus text (version 0.0.4) that
 * GET /metrics serves: HELP/TYPE headers, samples with and without labels,
 * HTTP request counters by route and status, collectors in registration
 * order, and a reset that forgets them.
 */
#include "core/buf.h"
#include "core/metrics.h"
#include "unit/tap.h"

#include <stdio.h>
#include <string.h>

static int calls[2];

static void collect_a(buf_t *out, void *ctx)
{
    calls[0]++;
    metrics_header(out, "irtc_test_a", "gauge", "First collector.");
    metrics_sample(out, "irtc_test_a", NULL, *(double *)ctx);
}

static void collect_b(buf_t *out, void *ctx)
{
    calls[1]++;
    metrics_sample(out, "irtc_test_b_total", "kind=\"x\"", 7);
}

/* The value of the sample line that starts with prefix, or -1. */
static double sample(const buf_t *page, const char *prefix)
{
    char pat[200];
    snprintf(pat, sizeof(pat), "\n%s ", prefix);
    const char *p = strstr(page->base, pat);
    double v = -1;
    if (p != NULL)
        sscanf(p + strlen(pat), "%lf", &v);
    return v;
}

int main(void)
{
    buf_t b;
    double a_value = 2.5;
    metrics_reset();
    metrics_init();

    buf_init(&b);
    metrics_header(&b, "irtc_x", "counter", "What x counts.");
    metrics_sample(&b, "irtc_x", NULL, 3);
    metrics_sample(&b, "irtc_x", "route=\"r\"", 0.25);
    is_str(b.base, "# HELP irtc_x What x counts.\n# TYPE irtc_x counter\nirtc_x 3\nirtc_x{route=\"r\"} 0.25\n",
           "header, a plain sample and a labelled one");
    buf_dispose(&b);

    metrics_http_request("healthz", 200);
    metrics_http_request("healthz", 200);
    metrics_http_request("healthz", 503);
    char route[] = "signal"; /* a route name compared by content, not only by pointer */
    metrics_http_request(route, 101);
    metrics_register_collector(collect_a, &a_value);
    metrics_register_collector(collect_b, NULL);

    buf_init(&b);
    metrics_render(&b);
    ok(strncmp(b.base, "# HELP irtc_uptime_seconds ", 27) == 0 && sample(&b, "irtc_uptime_seconds") >= 0,
       "the page starts with the uptime");
    is_int(sample(&b, "irtc_http_requests_total{route=\"healthz\",status=\"200\"}"), 2, "healthz 200 counted twice");
    is_int(sample(&b, "irtc_http_requests_total{route=\"healthz\",status=\"503\"}"), 1, "healthz 503 apart");
    is_int(sample(&b, "irtc_http_requests_total{route=\"signal\",status=\"101\"}"), 1, "signal 101");
    ok(sample(&b, "irtc_test_a") == 2.5 && sample(&b, "irtc_test_b_total{kind=\"x\"}") == 7,
       "both collectors' lines are on the page");
    const char *pa = strstr(b.base, "irtc_test_a 2.5"), *pb = strstr(b.base, "irtc_test_b_total");
    ok(pa != NULL && pb != NULL && pa < pb, "collectors run in registration order");
    ok(calls[0] == 1 && calls[1] == 1, "each collector runs once per page");
    ok(b.len > 0 && b.base[b.len - 1] == '\n', "every line ends with a newline");
    buf_dispose(&b);

    metrics_reset();
    buf_init(&b);
    metrics_render(&b);
    ok(strstr(b.base, "irtc_test_a") == NULL && strstr(b.base, "route=\"healthz\"") == NULL,
       "after a reset: no collector and no request counter");
    ok(calls[0] == 1, "a forgotten collector is not called");
    buf_dispose(&b);
    return done_testing();
}
