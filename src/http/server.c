/*
 * server.c — h2o configuration, listeners, route dispatch, access log, and
 * the front door's defences (guard.h's verdicts applied to h2o 2.2.5).
 * Control thread only.  Routes map to h2o pathconfs; h2o matches by prefix,
 * so exact routes re-check the path and answer 404 for longer ones.
 *
 * Connections are accepted here rather than by h2o_accept, so that each is
 * counted against the caps before its TLS handshake and gets a conn_t (found
 * again through the socket's on_close slot, which h2o leaves to server
 * sockets' owners).  After the handshake the ALPN choice hands the socket to
 * h2o's HTTP/1.1 or HTTP/2 code; an HTTP/2 socket's read callback is wrapped
 * so guard_h2_feed sees every decrypted byte before h2o parses it.  h2o 2.2.5
 * keeps the HTTP/2 connection struct private (h2o/http2_internal.h includes a
 * khash.h that Debian does not ship) and its GOAWAY and close functions
 * static, so an abusive HTTP/2 connection cannot be sent a GOAWAY from here:
 * its pending input is dropped and h2o is told the socket failed, which is
 * h2o's own path for a dead peer (streams torn down, socket closed).
 *
 * Does not: parse HTTP (h2o does) or decide budgets (guard.c does).
 */
#include "http/server.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "http/guard.h"
#include "core/common.h"
#include "core/log.h"

#include <h2o/http1.h>
#include <h2o/http2.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* File descriptors kept for everything but HTTP connections (UDP sockets,
 * SQLite, recordings, callbacks, the log) when capping connections to what
 * RLIMIT_NOFILE allows. */
#define FD_RESERVE 256

typedef struct {
    h2o_handler_t super;
    char *path;
    bool prefix;
    unsigned methods;
    const char *name;
    http_handler_fn fn;
    void *ctx;
    http_method_error_fn bad_method;
} route_handler_t;

typedef struct {
    h2o_logger_t super;
    const char *name;
} route_logger_t;

typedef struct {
    http_server_t *server;
    h2o_socket_t *sock;
    uint16_t port;
} listener_t;

/* One accepted connection, from accept to close (through an HTTP/1.1
 * keep-alive, an HTTP/2 connection, or a WebSocket after the upgrade). */
typedef struct conn {
    http_server_t *server;
    h2o_socket_t *sock;
    guard_source_t *src;
    struct timeval connected_at;
    char peer[64];
    h2o_timeout_entry_t handshake;  /* the TLS handshake's deadline */
    h2o_timeout_entry_t abuse_kill; /* after an abusive HTTP/2 connection was cut */
    h2o_socket_cb h2_read;          /* h2o's HTTP/2 read callback, when wrapped */
    size_t h2_seen;                 /* bytes at the head of sock->input already fed to the guard */
    guard_h2_t h2;
    tbucket_t log;
    uint64_t log_suppressed;
    bool in_read, closed, abusive;
} conn_t;

enum { REFUSED_TOTAL, REFUSED_SOURCE, REFUSED_PENALIZED, REFUSED_KINDS };

struct http_server {
    const cfg_t *cfg;
    h2o_globalconf_t config;
    h2o_hostconf_t *host;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    bool started;
    listener_t listeners[CFG_MAX_LISTEN];
    size_t listener_count;
    route_handler_t **routes;
    size_t route_count;
    char web_root[1024];
    guard_t *guard;
    unsigned max_connections; /* after the file descriptor limit */
    uint64_t refused[REFUSED_KINDS];
    uint64_t abusive[GUARD_H2_CONTROL + 1];
    uint64_t handshake_timeouts, framing_refused, log_suppressed;
};

/* ---- access log and metrics ---- */

static void conn_closed(void *data);
static void collect_metrics(buf_t *out, void *ctx);

/* The conn_t of a request's socket (NULL for a socket not accepted here). */
static conn_t *conn_of(h2o_req_t *req)
{
    if (req->conn->callbacks->get_socket == NULL)
        return NULL;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    return sock != NULL && sock->on_close.cb == conn_closed ? sock->on_close.data : NULL;
}

/* A connection writes at most GUARD_LOG_BURST access-log lines at once and
 * GUARD_LOG_RATE a second after that (a flood of requests must not fill the
 * disk); how many it skipped is said on its next line and when it closes. */
static bool log_budget(conn_t *c, uint64_t *skipped)
{
    *skipped = 0;
    if (c == NULL)
        return true;
    if (!tbucket_take(&c->log, GUARD_LOG_RATE, GUARD_LOG_BURST, clock_mono_ms())) {
        c->log_suppressed++;
        c->server->log_suppressed++;
        return false;
    }
    *skipped = c->log_suppressed;
    c->log_suppressed = 0;
    return true;
}

static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    route_logger_t *lg = (route_logger_t *)self;
    int status = req->res.status;
    metrics_http_request(lg->name, status);
    uint64_t skipped;
    if (!log_enabled(LOG_LEVEL_INFO) || !log_budget(conn_of(req), &skipped))
        return;
    char peer[64] = "-";
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sl > 0)
        h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, peer);
    /* Only the path: query strings may carry tokens, and they never reach the log. */
    size_t plen = req->path.len;
    if (req->query_at != SIZE_MAX && req->query_at < plen)
        plen = req->query_at;
    double ms = 0;
    if (req->timestamps.request_begin_at.tv_sec != 0) {
        struct timeval now;
        gettimeofday(&now, NULL);
        ms = (double)(now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000.0 +
             (double)(now.tv_usec - req->timestamps.request_begin_at.tv_usec) / 1000.0;
    }
    char more[64] = "";
    if (skipped > 0)
        snprintf(more, sizeof(more), " (%llu lines of this connection skipped)", (unsigned long long)skipped);
    log_info("access", "%s %.*s %.*s HTTP/%d%s %d %zu %.1fms route=%s%s", peer, (int)req->method.len, req->method.base,
             (int)IRTC_MIN(plen, 512), req->path.base, req->version >> 8, req->version >= 0x200 ? "" : ".1", status,
             (size_t)req->bytes_sent, ms, lg->name, more);
}

static void add_logger(h2o_pathconf_t *pc, const char *name)
{
    route_logger_t *lg = (route_logger_t *)h2o_create_logger(pc, sizeof(*lg));
    lg->super.log_access = on_log_access;
    lg->name = name;
}

/* ---- dispatch ---- */

unsigned http_req_method(h2o_req_t *req)
{
    static const struct {
        const char *name;
        unsigned bit;
    } methods[] = {{"GET", HTTP_METHOD_GET}, {"HEAD", HTTP_METHOD_HEAD},     {"POST", HTTP_METHOD_POST},
                   {"PUT", HTTP_METHOD_PUT}, {"DELETE", HTTP_METHOD_DELETE}, {"OPTIONS", HTTP_METHOD_OPTIONS}};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(methods); i++)
        if (h2o_memis(req->method.base, req->method.len, methods[i].name, strlen(methods[i].name)))
            return methods[i].bit;
    return 0;
}

/* HTTP/1.x only (RFC 9112 §6.3): framing headers a proxy in front could
 * read differently from h2o (which takes the first Content-Length, or
 * Transfer-Encoding over it) are refused, and the connection closed after
 * the answer, so bytes smuggled behind the body are never read as a
 * request.  h2o consumes those headers itself; the raw request is still at
 * the head of the socket's input while the request is being handled. */
static bool framing_refused(h2o_req_t *req)
{
    conn_t *c = conn_of(req);
    const char *why = NULL;
    if (c == NULL || req->version >= 0x200 || c->sock->input == NULL ||
        guard_http1_framing(c->sock->input->bytes, c->sock->input->size, &why) == IRTC_OK)
        return false;
    c->server->framing_refused++;
    req->http1_is_persistent = 0;
    h2o_send_error_400(req, "Bad Request", why, H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION);
    return true;
}

static int on_route_req(h2o_handler_t *self, h2o_req_t *req)
{
    route_handler_t *r = (route_handler_t *)self;
    if (framing_refused(req))
        return 0;
    if (!r->prefix && !h2o_memis(req->path_normalized.base, req->path_normalized.len, r->path, strlen(r->path))) {
        h2o_send_error_404(req, "Not Found", "not found", 0);
        return 0;
    }
    if ((http_req_method(req) & r->methods) == 0) {
        if (r->bad_method != NULL) {
            r->bad_method(req);
        } else {
            /* http_send, not h2o_send_error_generic: that one drops the
             * headers set before it, and a 405 must say Allow (RFC 9110 §15.5.6). */
            http_add_header(req, "allow", r->methods & HTTP_METHOD_POST ? "POST" : "GET, HEAD");
            http_send(req, 405, "text/plain; charset=utf-8", "method not allowed\n", 19);
        }
        return 0;
    }
    return r->fn(r->ctx, req);
}

/* Raises the soft RLIMIT_NOFILE to the hard one and keeps max_connections
 * FD_RESERVE under it, so a full house of connections never starves the
 * rest of the daemon of descriptors. */
static unsigned cap_to_fd_limit(unsigned wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return wanted;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t cur = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = cur;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)wanted + FD_RESERVE)
        return wanted;
    unsigned capped = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : (unsigned)rl.rlim_cur / 2;
    log_warn("http", "limits.max_connections %u lowered to %u: only %llu file descriptors (RLIMIT_NOFILE)", wanted,
             capped, (unsigned long long)rl.rlim_cur);
    return capped;
}

int http_server_new(const cfg_t *cfg, http_server_t **out)
{
    http_server_t *s = xcalloc(1, sizeof(*s));
    s->cfg = cfg;
    h2o_config_init(&s->config);
    s->config.server_name = h2o_iovec_init(H2O_STRLIT("irtcd"));
    s->config.max_request_entity_size = HTTP_MAX_REQUEST_BODY;
    /* HTTP/2 only through ALPN: h2o would otherwise take an HTTP/1.1
     * connection that starts with "PRI * HTTP/2" as HTTP/2 (even over TLS),
     * past the frame budgets below. */
    s->config.http1.upgrade_to_http2 = 0;
    s->host = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    s->max_connections = cap_to_fd_limit(cfg->max_connections);
    s->guard = guard_new(s->max_connections, cfg->max_connections_per_source);
    *out = s;
    return IRTC_OK;
}

void http_server_route(http_server_t *s, const char *path, bool prefix, unsigned methods, const char *name,
                       http_handler_fn fn, void *ctx)
{
    h2o_pathconf_t *pc = h2o_config_register_path(s->host, path, 0);
    route_handler_t *r = (route_handler_t *)h2o_create_handler(pc, sizeof(*r));
    r->super.on_req = on_route_req;
    r->path = xstrdup(path);
    r->prefix = prefix;
    r->methods = methods;
    r->name = name;
    r->fn = fn;
    r->ctx = ctx;
    add_logger(pc, name);
    s->routes = xrealloc(s->routes, (s->route_count + 1) * sizeof(*s->routes));
    s->routes[s->route_count++] = r;
}

void http_server_on_bad_method(http_server_t *s, const char *path, http_method_error_fn fn)
{
    for (size_t i = 0; i < s->route_count; i++)
        if (strcmp(s->routes[i]->path, path) == 0)
            s->routes[i]->bad_method = fn;
}

/* ---- static files ---- */

/* A binary run from its build tree serves the source web/; an installed one the packaged copy. */
static void resolve_web_root(http_server_t *s)
{
    if (s->cfg->web_root[0]) {
        snprintf(s->web_root, sizeof(s->web_root), "%s", s->cfg->web_root);
        return;
    }
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    size_t blen = strlen(IRTC_BUILDDIR);
    if (n > 0 && strncmp(exe, IRTC_BUILDDIR "/", blen + 1) == 0)
        snprintf(s->web_root, sizeof(s->web_root), "%s", IRTC_SRC_WEB_ROOT);
    else
        snprintf(s->web_root, sizeof(s->web_root), "%s", IRTC_WEB_ROOT);
}

/* Runs before h2o's file handler: the same framing check as the routes. */
static int on_static_req(h2o_handler_t *self, h2o_req_t *req)
{
    return framing_refused(req) ? 0 : -1;
}

static void register_static(http_server_t *s)
{
    static const char *index_files[] = {"index.html", NULL};
    h2o_pathconf_t *pc = h2o_config_register_path(s->host, "/", 0);
    h2o_handler_t *check = h2o_create_handler(pc, sizeof(*check));
    check->on_req = on_static_req;
    /* The Web SDK's source maps and TypeScript declarations (web/sdk) get their types. */
    h2o_mimemap_t *mimemap = h2o_mimemap_create();
    h2o_mimemap_define_mimetype(mimemap, "map", "application/json", NULL);
    h2o_mimemap_define_mimetype(mimemap, "ts", "application/typescript", NULL);
    h2o_file_register(pc, s->web_root, index_files, mimemap, H2O_FILE_FLAG_SEND_COMPRESSED);
    h2o_mem_release_shared(mimemap); /* the file handler holds its own reference */
    h2o_compress_args_t args = {.min_size = 256, .gzip = {.quality = 6}, .brotli = {.quality = -1}};
    h2o_compress_register(pc, &args);
    add_logger(pc, "static");
}

/* ---- listeners ---- */

static void conn_free(conn_t *c)
{
    if (h2o_timeout_is_linked(&c->handshake))
        h2o_timeout_unlink(&c->handshake);
    if (h2o_timeout_is_linked(&c->abuse_kill))
        h2o_timeout_unlink(&c->abuse_kill);
    if (c->log_suppressed > 0)
        log_info("access", "%s: %llu more lines of this connection skipped", c->peer,
                 (unsigned long long)c->log_suppressed);
    guard_release(c->server->guard, c->src, clock_mono_ms());
    free(c);
}

/* h2o_socket_close calls this, from wherever the socket was closed; inside
 * our own read wrapper the conn_t is freed once the wrapper is done with it. */
static void conn_closed(void *data)
{
    conn_t *c = data;
    c->closed = true;
    if (!c->in_read)
        conn_free(c);
}

/* Still open a second after it was cut: h2o waits for a write the peer does
 * not read.  Shutting the socket down makes that write fail, and h2o then
 * frees the connection on its own error path. */
static void on_abuse_kill(h2o_timeout_entry_t *entry)
{
    conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, abuse_kill, entry);
    int fd = h2o_socket_get_fd(c->sock);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    c->in_read = true;
    c->h2_read(c->sock, "abusive connection");
    c->in_read = false;
    if (c->closed)
        conn_free(c);
}

/* Drops what the abusive connection sent and tells h2o its socket failed. */
static void cut_abusive(conn_t *c, guard_h2_verdict_t v)
{
    http_server_t *s = c->server;
    c->abusive = true;
    s->abusive[v]++;
    guard_penalize(s->guard, c->src, clock_mono_ms());
    log_ratelimited(LOG_LEVEL_WARN, "http", 10000,
                    "%s: HTTP/2 %s flood after %llu frames: connection closed, address refused for %d s", c->peer,
                    guard_h2_name(v), (unsigned long long)c->h2.frames, GUARD_PENALTY_MS / 1000);
    h2o_timeout_link(s->ctx.loop, &s->ctx.one_sec_timeout, &c->abuse_kill);
}

/* Every read of an HTTP/2 connection passes here first. */
static void on_h2_read(h2o_socket_t *sock, const char *err)
{
    conn_t *c = sock->on_close.data;
    if (err == NULL && !c->abusive && sock->input->size > c->h2_seen) {
        guard_h2_verdict_t v = guard_h2_feed(&c->h2, (const uint8_t *)sock->input->bytes + c->h2_seen,
                                             sock->input->size - c->h2_seen, clock_mono_ms());
        if (v != GUARD_H2_OK)
            cut_abusive(c, v);
    }
    if (c->abusive) {
        h2o_buffer_consume(&sock->input, sock->input->size);
        if (err == NULL)
            err = "abusive connection";
    }
    c->in_read = true;
    c->h2_read(sock, err);
    c->in_read = false;
    if (c->closed) {
        conn_free(c);
        return;
    }
    /* What h2o left is a frame cut by the read, already fed. */
    c->h2_seen = sock->input->size;
}

/* Hands a connection whose TLS handshake is done (or a plain one) to h2o.
 * Input that came with the handshake is held back while h2o sets the
 * connection up, so nothing closes the socket under this function. */
static void dispatch(conn_t *c, bool http2)
{
    http_server_t *s = c->server;
    h2o_socket_t *sock = c->sock;
    h2o_buffer_t *pending = sock->input;
    h2o_buffer_init(&sock->input, &h2o_socket_buffer_prototype);
    if (http2) {
        guard_h2_init(&c->h2, clock_mono_ms());
        h2o_http2_accept(&s->accept_ctx, sock, c->connected_at);
        c->h2_read = sock->_cb.read;
        sock->_cb.read = on_h2_read;
    } else {
        h2o_http1_accept(&s->accept_ctx, sock, c->connected_at);
    }
    h2o_buffer_t *empty = sock->input;
    sock->input = pending;
    h2o_buffer_dispose(&empty);
    if (sock->input->size != 0 && sock->_cb.read != NULL)
        sock->_cb.read(sock, NULL);
}

static void on_handshake_done(h2o_socket_t *sock, const char *err)
{
    conn_t *c = sock->on_close.data;
    h2o_timeout_unlink(&c->handshake);
    if (err != NULL) {
        h2o_socket_close(sock);
        return;
    }
    h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);
    bool http2 = false;
    for (const h2o_iovec_t *id = h2o_http2_alpn_protocols; id->len != 0; id++)
        http2 = http2 || h2o_memis(proto.base, proto.len, id->base, id->len);
    dispatch(c, http2);
}

static void on_handshake_timeout(h2o_timeout_entry_t *entry)
{
    conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, handshake, entry);
    c->server->handshake_timeouts++;
    h2o_socket_close(c->sock);
}

/* Counts the connection against the caps, or closes it at once. */
static conn_t *admit(http_server_t *s, h2o_socket_t *sock)
{
    struct sockaddr_storage ss;
    socklen_t sl = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);
    const uint8_t *addr = (const uint8_t *)"";
    size_t alen = 0;
    if (sl > 0 && ss.ss_family == AF_INET)
        addr = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr, alen = 4;
    else if (sl > 0 && ss.ss_family == AF_INET6)
        addr = (const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr, alen = 16;
    guard_source_t *src = NULL;
    guard_admit_t v = guard_admit(s->guard, addr, alen, clock_mono_ms(), &src);
    if (v != GUARD_ADMIT) {
        s->refused[v == GUARD_FULL ? REFUSED_TOTAL : v == GUARD_SOURCE_FULL ? REFUSED_SOURCE : REFUSED_PENALIZED]++;
        char peer[64] = "-";
        if (sl > 0)
            h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, peer);
        log_ratelimited(LOG_LEVEL_WARN, "http", 10000, "connection from %s refused (%s limit)", peer,
                        guard_admit_name(v));
        h2o_socket_close(sock);
        return NULL;
    }
    conn_t *c = xcalloc(1, sizeof(*c));
    c->server = s;
    c->sock = sock;
    c->src = src;
    c->connected_at = *h2o_get_timestamp(&s->ctx, NULL, NULL);
    snprintf(c->peer, sizeof(c->peer), "-");
    if (sl > 0)
        h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, c->peer);
    tbucket_init(&c->log, GUARD_LOG_BURST, clock_mono_ms());
    c->handshake.cb = on_handshake_timeout;
    c->abuse_kill.cb = on_abuse_kill;
    sock->on_close.cb = conn_closed;
    sock->on_close.data = c;
    return c;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    listener_t *l = listener->data;
    http_server_t *s = l->server;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL)
        return;
    conn_t *c = admit(s, sock);
    if (c == NULL)
        return;
    h2o_timeout_link(s->ctx.loop, &s->ctx.handshake_timeout, &c->handshake);
    h2o_socket_ssl_handshake(sock, s->accept_ctx.ssl_ctx, NULL, on_handshake_done);
}

int http_server_serve_plain(http_server_t *s, int fd)
{
    if (!s->started)
        return IRTC_EINVAL;
    h2o_socket_t *sock = h2o_evloop_socket_create(s->ctx.loop, fd, 0);
    conn_t *c = admit(s, sock);
    if (c == NULL)
        return IRTC_ELIMIT;
    dispatch(c, false);
    return IRTC_OK;
}

static int open_listener(const cfg_listen_t *ls, uint16_t *bound_port, char *err, size_t errcap)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    const char *host = ls->host[0] ? ls->host : "0.0.0.0";
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(ls->port);
        sl = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(ls->port);
        sl = sizeof(*sin6);
    } else {
        snprintf(err, errcap, "listen %s: not an IP address", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0)
        goto fail;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *bound_port = (uint16_t)h2o_socket_getport((struct sockaddr *)&ss);
    return fd;
fail:
    snprintf(err, errcap, "listen %s:%u: %s", host, ls->port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int http_server_start(http_server_t *s, h2o_evloop_t *loop, SSL_CTX *ssl_ctx, char *err, size_t errcap)
{
    resolve_web_root(s);
    struct stat st;
    if (stat(s->web_root, &st) != 0 || !S_ISDIR(st.st_mode))
        log_warn("http", "web root %s is not a directory: static files will answer 404", s->web_root);
    register_static(s);
    h2o_context_init(&s->ctx, loop, &s->config);
    metrics_register_collector(collect_metrics, s);
    s->accept_ctx.ctx = &s->ctx;
    s->accept_ctx.hosts = s->config.hosts;
    s->accept_ctx.ssl_ctx = ssl_ctx;
    s->started = true;
    for (size_t i = 0; i < s->cfg->listen_count; i++) {
        listener_t *l = &s->listeners[i];
        int fd = open_listener(&s->cfg->listen[i], &l->port, err, errcap);
        if (fd < 0)
            return IRTC_EIO;
        l->server = s;
        l->sock = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
        l->sock->data = l;
        h2o_socket_read_start(l->sock, on_accept);
        s->listener_count++;
        log_info("http", "listening on https://%s:%u/ (static files from %s)",
                 s->cfg->listen[i].host[0] ? s->cfg->listen[i].host : "0.0.0.0", l->port, s->web_root);
    }
    return IRTC_OK;
}

h2o_context_t *http_server_context(http_server_t *s)
{
    return &s->ctx;
}

uint16_t http_server_port(http_server_t *s, size_t i)
{
    return i < s->listener_count ? s->listeners[i].port : 0;
}

void http_server_set_tls(http_server_t *s, SSL_CTX *ssl_ctx)
{
    /* Connections already accepted hold their own reference to the old context. */
    SSL_CTX *old = s->accept_ctx.ssl_ctx;
    s->accept_ctx.ssl_ctx = ssl_ctx;
    SSL_CTX_free(old);
}

void http_server_begin_shutdown(http_server_t *s)
{
    for (size_t i = 0; i < s->listener_count; i++) {
        if (s->listeners[i].sock != NULL) {
            h2o_socket_read_stop(s->listeners[i].sock);
            h2o_socket_close(s->listeners[i].sock);
            s->listeners[i].sock = NULL;
        }
    }
    if (s->started)
        h2o_context_request_shutdown(&s->ctx);
}

bool http_server_idle(http_server_t *s)
{
    return h2o_linklist_is_empty(&s->ctx.http1._conns) && h2o_linklist_is_empty(&s->ctx.http2._conns);
}

void http_server_stats(const http_server_t *s, http_server_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->open = guard_open(s->guard);
    out->max_connections = s->max_connections;
    out->refused_total = s->refused[REFUSED_TOTAL];
    out->refused_source = s->refused[REFUSED_SOURCE];
    out->refused_penalized = s->refused[REFUSED_PENALIZED];
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(s->abusive); i++)
        out->abusive_closed += s->abusive[i];
    out->handshake_timeouts = s->handshake_timeouts;
    out->framing_refused = s->framing_refused;
    out->log_lines_skipped = s->log_suppressed;
}

static void collect_metrics(buf_t *out, void *ctx)
{
    const http_server_t *s = ctx;
    static const char *refused_kind[REFUSED_KINDS] = {"total", "source", "penalized"};
    metrics_header(out, "irtc_http_connections", "gauge", "HTTPS connections open.");
    metrics_sample(out, "irtc_http_connections", NULL, (double)guard_open(s->guard));
    metrics_header(out, "irtc_http_connections_max", "gauge",
                   "limits.max_connections in effect (after the file descriptor limit).");
    metrics_sample(out, "irtc_http_connections_max", NULL, (double)s->max_connections);
    metrics_header(out, "irtc_http_connections_refused_total", "counter",
                   "Connections closed at accept, by the limit that refused them.");
    for (int i = 0; i < REFUSED_KINDS; i++) {
        char l[32];
        snprintf(l, sizeof(l), "limit=\"%s\"", refused_kind[i]);
        metrics_sample(out, "irtc_http_connections_refused_total", l, (double)s->refused[i]);
    }
    metrics_header(out, "irtc_http2_abusive_closed_total", "counter",
                   "HTTP/2 connections closed for a frame flood, by frame kind.");
    for (int v = GUARD_H2_RESETS; v <= GUARD_H2_CONTROL; v++) {
        char l[32];
        snprintf(l, sizeof(l), "frame=\"%s\"", guard_h2_name((guard_h2_verdict_t)v));
        metrics_sample(out, "irtc_http2_abusive_closed_total", l, (double)s->abusive[v]);
    }
    metrics_header(out, "irtc_http_tls_handshake_timeouts_total", "counter",
                   "Connections closed before their TLS handshake ended.");
    metrics_sample(out, "irtc_http_tls_handshake_timeouts_total", NULL, (double)s->handshake_timeouts);
    metrics_header(out, "irtc_http_framing_refused_total", "counter",
                   "HTTP/1.x requests refused for duplicate or conflicting Content-Length / Transfer-Encoding.");
    metrics_sample(out, "irtc_http_framing_refused_total", NULL, (double)s->framing_refused);
    metrics_header(out, "irtc_http_access_log_skipped_total", "counter",
                   "Access-log lines not written (per-connection budget).");
    metrics_sample(out, "irtc_http_access_log_skipped_total", NULL, (double)s->log_suppressed);
}

void http_server_free(http_server_t *s)
{
    if (s == NULL)
        return;
    if (s->started && !http_server_idle(s)) {
        /* h2o 2.2 has no way to close idle HTTP/1.1 keep-alive connections on
         * shutdown, and disposing a context with connections (and their
         * timers) still linked aborts.  The process is exiting: leave the
         * context to the kernel rather than crash. */
        log_warn("http", "shutdown: connections still open after the grace period; not waiting for them");
        return;
    }
    if (s->started) {
        /* request_shutdown arms HTTP/2's graceful-shutdown timer even with no
         * connection left; h2o 2.2 asserts that no timer is armed at dispose. */
        if (h2o_timeout_is_linked(&s->ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&s->ctx.http2._graceful_shutdown_timeout);
        h2o_context_dispose(&s->ctx);
        SSL_CTX_free(s->accept_ctx.ssl_ctx);
    }
    /* The route handlers belong to their pathconfs: read them before
     * h2o_config_dispose frees them. */
    for (size_t i = 0; i < s->route_count; i++)
        free(s->routes[i]->path);
    h2o_config_dispose(&s->config);
    free(s->routes);
    guard_free(s->guard);
    free(s);
}

/* ---- response helpers ---- */

void http_add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_iovec_t n = h2o_strdup(&req->pool, name, SIZE_MAX);
    h2o_iovec_t v = h2o_strdup(&req->pool, value, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

void http_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_iovec_t b = h2o_strdup(&req->pool, body, len);
    req->res.content_length = len;
    h2o_start_response(req, &generator);
    h2o_send(req, &b, 1, 1);
}

void http_send_json(h2o_req_t *req, int status, const buf_t *body)
{
    http_send(req, status, "application/json; charset=utf-8", body->base ? body->base : "", body->len);
}

const char *http_req_header(h2o_req_t *req, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < req->headers.size; i++) {
        h2o_header_t *h = req->headers.entries + i;
        if (h2o_lcstris(h->name->base, h->name->len, name, nlen)) {
            *len = h->value.len;
            return h->value.base;
        }
    }
    *len = 0;
    return NULL;
}
