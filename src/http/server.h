/*
 * server.h — the HTTPS front door: h2o (HTTP/1.1 and HTTP/2 over TLS with
 * ALPN), a route table, static files, the access log and response helpers.
 *
 * Threading: everything here runs on the control thread's h2o evloop.  Routes
 * are registered between http_server_new and http_server_start (h2o builds its
 * per-path handler table at context init); static files at "/" are registered
 * last by http_server_start.  Handlers answer with the helpers below.
 *
 * Defences (guard.h): limits.max_connections and
 * limits.max_connections_per_source are checked at accept, before the TLS
 * handshake, and a refused connection is closed at once; HTTP/2 only through
 * ALPN, each connection within frame budgets (closed past them, its address
 * refused for a while); HTTP/1.x requests with ambiguous framing answered 400
 * and their connection closed; access-log lines budgeted per connection.
 */
#ifndef IRTC_HTTP_SERVER_H
#define IRTC_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <openssl/ssl.h>

#include "core/buf.h"
#include "core/config.h"

typedef struct http_server http_server_t;

/* Request bodies above this are refused by h2o itself (HTTP/1.1: 413 text;
 * HTTP/2: stream reset).  Handlers enforce their own, smaller limits so they
 * can answer in their own format (the REST API: 64 KiB, docs/API.md). */
#define HTTP_MAX_REQUEST_BODY (1024 * 1024)

enum {
    HTTP_METHOD_GET = 1 << 0,
    HTTP_METHOD_HEAD = 1 << 1,
    HTTP_METHOD_POST = 1 << 2,
    HTTP_METHOD_PUT = 1 << 3,
    HTTP_METHOD_DELETE = 1 << 4,
    HTTP_METHOD_OPTIONS = 1 << 5,
};

/* A route handler; returns 0 once it has started a response (always should). */
typedef int (*http_handler_fn)(void *ctx, h2o_req_t *req);

/* What a handler answers when the method is not in the route's mask. */
typedef void (*http_method_error_fn)(h2o_req_t *req);

int http_server_new(const cfg_t *cfg, http_server_t **out);
void http_server_free(http_server_t *s);

/*
 * Routes an exact path (prefix=false) or everything below path (prefix=true).
 * name labels the route in /metrics and the access log (static string).
 * A request with a method outside methods gets 405 (or on_bad_method).
 */
void http_server_route(http_server_t *s, const char *path, bool prefix, unsigned methods, const char *name,
                       http_handler_fn fn, void *ctx);
void http_server_on_bad_method(http_server_t *s, const char *path, http_method_error_fn fn);

/* Registers static files (web_root at "/"), creates the h2o context on loop and
 * binds every listener.  Returns IRTC_OK or IRTC_EIO with err set. */
int http_server_start(http_server_t *s, h2o_evloop_t *loop, SSL_CTX *ssl_ctx, char *err, size_t errcap);
h2o_context_t *http_server_context(http_server_t *s);
/* The port listener i actually bound (useful with port 0). */
uint16_t http_server_port(http_server_t *s, size_t i);
/* Swaps the certificate for new connections (SIGHUP); takes ownership of ssl_ctx. */
void http_server_set_tls(http_server_t *s, SSL_CTX *ssl_ctx);
/* Stops accepting and asks open connections to finish. */
void http_server_begin_shutdown(http_server_t *s);
/* True when no HTTP connection is open any more. */
bool http_server_idle(http_server_t *s);

/* Serves fd, an already connected stream socket, as plain HTTP/1.1 (no TLS)
 * with the same routes, caps and checks as an accepted connection: for unit
 * tests and fuzzers, which talk to the server over a socketpair.  Takes
 * ownership of fd.  IRTC_EINVAL before http_server_start; IRTC_ELIMIT when a
 * cap refused it (fd is closed). */
int http_server_serve_plain(http_server_t *s, int fd);

/* The front door's figures (also in /metrics). */
typedef struct {
    size_t open;              /* connections open */
    unsigned max_connections; /* limits.max_connections, after the descriptor limit */
    uint64_t refused_total, refused_source, refused_penalized;
    uint64_t abusive_closed; /* HTTP/2 connections cut for a frame flood */
    uint64_t handshake_timeouts, framing_refused, log_lines_skipped;
} http_server_stats_t;
void http_server_stats(const http_server_t *s, http_server_stats_t *out);

/* ---- response helpers ---- */
/* Sends body (copied into the request pool) with status and content type. */
void http_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);
void http_send_json(h2o_req_t *req, int status, const buf_t *body);
/* Adds a response header (name must be lower case; value copied). */
void http_add_header(h2o_req_t *req, const char *name, const char *value);
/* The request header value (case-insensitive name), or NULL; *len set. */
const char *http_req_header(h2o_req_t *req, const char *name, size_t *len);
/* Request method as one of HTTP_METHOD_*; 0 if none of them. */
unsigned http_req_method(h2o_req_t *req);

#endif
