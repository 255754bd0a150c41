/*
 * metrics.c — Prometheus text rendering, collectors and the HTTP request counters.
 * Control thread only (h2o handlers and the access logger run there).
 */
#include "core/metrics.h"
#include "core/clock.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *route; /* static string owned by the route table */
    int status;
    unsigned long long count;
} http_counter_t;

typedef struct {
    metrics_collector_fn fn;
    void *ctx;
} collector_t;

static struct {
    http_counter_t *http;
    size_t http_len, http_cap;
    collector_t *collectors;
    size_t collectors_len;
    uint64_t started_ms;
} g_metrics;

void metrics_init(void)
{
    g_metrics.started_ms = clock_mono_ms();
}

void metrics_http_request(const char *route, int status)
{
    for (size_t i = 0; i < g_metrics.http_len; i++) {
        http_counter_t *c = &g_metrics.http[i];
        if (c->status == status && (c->route == route || strcmp(c->route, route) == 0)) {
            c->count++;
            return;
        }
    }
    if (g_metrics.http_len == g_metrics.http_cap) {
        g_metrics.http_cap = g_metrics.http_cap ? g_metrics.http_cap * 2 : 32;
        g_metrics.http = xrealloc(g_metrics.http, g_metrics.http_cap * sizeof(*g_metrics.http));
    }
    g_metrics.http[g_metrics.http_len++] = (http_counter_t){route, status, 1};
}

void metrics_register_collector(metrics_collector_fn fn, void *ctx)
{
    g_metrics.collectors = xrealloc(g_metrics.collectors, (g_metrics.collectors_len + 1) * sizeof(collector_t));
    g_metrics.collectors[g_metrics.collectors_len++] = (collector_t){fn, ctx};
}

void metrics_header(buf_t *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(buf_t *out, const char *name, const char *labels, double value)
{
    if (labels && labels[0])
        buf_printf(out, "%s{%s} %.17g\n", name, labels, value);
    else
        buf_printf(out, "%s %.17g\n", name, value);
}

void metrics_render(buf_t *out)
{
    if (g_metrics.started_ms == 0)
        g_metrics.started_ms = clock_mono_ms();
    metrics_header(out, "irtc_uptime_seconds", "gauge", "Seconds since irtcd started.");
    metrics_sample(out, "irtc_uptime_seconds", NULL, (double)(clock_mono_ms() - g_metrics.started_ms) / 1000.0);
    metrics_header(out, "irtc_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (size_t i = 0; i < g_metrics.http_len; i++) {
        char labels[160];
        snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%d\"", g_metrics.http[i].route,
                 g_metrics.http[i].status);
        metrics_sample(out, "irtc_http_requests_total", labels, (double)g_metrics.http[i].count);
    }
    for (size_t i = 0; i < g_metrics.collectors_len; i++)
        g_metrics.collectors[i].fn(out, g_metrics.collectors[i].ctx);
}

void metrics_reset(void)
{
    free(g_metrics.http);
    free(g_metrics.collectors);
    memset(&g_metrics, 0, sizeof(g_metrics));
}
