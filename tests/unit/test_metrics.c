/*
 * test_metrics.c — src/http/metrics.c: the HTTP request counters and the
 * Prometheus text page (format 0.0.4) with collectors, on their own.
 */
#include "http/metrics.h"
#include "core/common.h"
#include "unit/tap.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

static int calls[2];

static void collect_a(buf_t *out, void *ctx)
{
    calls[0]++;
    metrics_header(out, "irtc_test_a", "gauge", "A test gauge.");
    metrics_sample(out, "irtc_test_a", NULL, 1.5);
    metrics_sample(out, "irtc_test_a", "kind=\"x\"", 12345678901234.0);
}

static void collect_b(buf_t *out, void *ctx)
{
    calls[1] += calls[0]; /* called after a: sees a's count */
    metrics_header(out, "irtc_test_b_total", "counter", "A test counter.");
    metrics_sample(out, "irtc_test_b_total", NULL, *(const double *)ctx);
}

/* Every line is a comment (# HELP / # TYPE) or "name{labels} value". */
static int bad_lines(const char *page)
{
    regex_t sample, comment;
    regcomp(&sample, "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? [-+0-9.eE]+$",
            REG_EXTENDED | REG_NOSUB);
    regcomp(&comment, "^# (HELP|TYPE) [a-z_]+ .+$", REG_EXTENDED | REG_NOSUB);
    int bad = 0;
    char *copy = xstrdup(page), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (regexec(&sample, line, 0, NULL, 0) != 0 && regexec(&comment, line, 0, NULL, 0) != 0) {
            printf("#   bad line: %s\n", line);
            bad++;
        }
    free(copy);
    regfree(&sample);
    regfree(&comment);
    return bad;
}

static int count(const char *page, const char *needle)
{
    int n = 0;
    for (const char *p = page; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

int main(void)
{
    metrics_init();
    static const char route_a[] = "healthz";
    char route_b[] = "healthz"; /* same name, another pointer: one counter */
    for (int i = 0; i < 3; i++)
        metrics_http_request(route_a, 200);
    metrics_http_request(route_b, 200);
    metrics_http_request(route_a, 503);
    for (int i = 0; i < 100; i++)
        metrics_http_request("api", 200 + i); /* the table grows */
    double b = 42;
    metrics_register_collector(collect_a, NULL);
    metrics_register_collector(collect_b, &b);

    buf_t out;
    buf_init(&out);
    metrics_render(&out);
    const char *page = out.base;
    is_int(bad_lines(page), 0, "every line is a comment or a sample");
    ok(strstr(page, "irtc_http_requests_total{route=\"healthz\",status=\"200\"} 4\n") != NULL,
       "requests counted by route name and status (two pointers to one name: one counter)");
    ok(strstr(page, "irtc_http_requests_total{route=\"healthz\",status=\"503\"} 1\n") != NULL, "another status");
    is_int(count(page, "irtc_http_requests_total{route=\"api\""), 100, "100 statuses of one route after growth");
    is_int(count(page, "# TYPE irtc_http_requests_total counter"), 1, "one TYPE line per metric");
    ok(strstr(page, "irtc_uptime_seconds ") != NULL, "uptime");
    ok(strstr(page, "irtc_test_a 1.5\n") != NULL && strstr(page, "irtc_test_a{kind=\"x\"} 12345678901234\n") != NULL,
       "collector samples, large values exact");
    ok(calls[0] == 1 && calls[1] == 1, "collectors called once each, in registration order");
    ok(strstr(page, "irtc_test_a") < strstr(page, "irtc_test_b_total"), "and written in that order");
    ok(strstr(page, "irtc_test_b_total 42\n") != NULL, "a collector gets its context");
    buf_dispose(&out);

    metrics_reset();
    buf_init(&out);
    metrics_render(&out);
    ok(strstr(out.base, "irtc_http_requests_total{") == NULL && strstr(out.base, "irtc_test_a") == NULL,
       "reset forgets counters and collectors");
    ok(calls[0] == 1, "a reset collector is not called");
    buf_dispose(&out);
    metrics_reset();
    return done_testing();
}
