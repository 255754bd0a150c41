/*
 * metrics.h — the process's figures in Prometheus text format (version
 * 0.0.4): HTTP request counts by route and status are kept here; every other
 * module exports its own figures through a collector callback that appends
 * lines when the page is rendered.  Control thread only: collectors that
 * report numbers owned by other threads must read them atomically.
 *
 * Does not: serve the page (src/http/health.c answers GET /metrics).
 */
#ifndef IRTC_METRICS_H
#define IRTC_METRICS_H

#include "core/buf.h"

typedef void (*metrics_collector_fn)(buf_t *out, void *ctx);

/* Marks process start (uptime counts from here). */
void metrics_init(void);
/* Counts one finished HTTP request (route is a static name, e.g. "healthz"). */
void metrics_http_request(const char *route, int status);
/* Adds a collector; called in registration order when /metrics is rendered. */
void metrics_register_collector(metrics_collector_fn fn, void *ctx);
/* Writes the whole page. */
void metrics_render(buf_t *out);
/* Helpers for collectors: one "# HELP/# TYPE" header and one sample line. */
void metrics_header(buf_t *out, const char *name, const char *type, const char *help);
void metrics_sample(buf_t *out, const char *name, const char *labels, double value);
/* Releases every collector and counter (shutdown, tests). */
void metrics_reset(void);

#endif
