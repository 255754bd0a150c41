/*
 * server.c — h2o configuration, listeners, route dispatch, access log.
 * Control thread only.  Routes map to h2o pathconfs; h2o matches by prefix,
 * so exact routes re-check the path and answer 404 for longer ones.
 */
#include "http/server.h"
#include "core/metrics.h"
#include "core/common.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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
};

/* ---- access log and metrics ---- */

static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    route_logger_t *lg = (route_logger_t *)self;
    int status = req->res.status;
    metrics_http_request(lg->name, status);
    if (!log_enabled(LOG_LEVEL_INFO))
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
    log_info("access", "%s %.*s %.*s HTTP/%d%s %d %zu %.1fms route=%s", peer, (int)req->method.len, req->method.base,
             (int)IRTC_MIN(plen, 512), req->path.base, req->version >> 8, req->version >= 0x200 ? "" : ".1", status,
             (size_t)req->bytes_sent, ms, lg->name);
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
    } methods[] = {{"GET", HTTP_METHOD_GET},       {"HEAD", HTTP_METHOD_HEAD},     {"POST", HTTP_METHOD_POST},
                   {"PUT", HTTP_METHOD_PUT},       {"DELETE", HTTP_METHOD_DELETE}, {"OPTIONS", HTTP_METHOD_OPTIONS}};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(methods); i++)
        if (h2o_memis(req->method.base, req->method.len, methods[i].name, strlen(methods[i].name)))
            return methods[i].bit;
    return 0;
}

static int on_route_req(h2o_handler_t *self, h2o_req_t *req)
{
    route_handler_t *r = (route_handler_t *)self;
    if (!r->prefix && !h2o_memis(req->path_normalized.base, req->path_normalized.len, r->path, strlen(r->path))) {
        h2o_send_error_404(req, "Not Found", "not found", 0);
        return 0;
    }
    if ((http_req_method(req) & r->methods) == 0) {
        if (r->bad_method != NULL) {
            r->bad_method(req);
        } else {
            http_add_header(req, "allow", r->methods & HTTP_METHOD_POST ? "POST" : "GET, HEAD");
            h2o_send_error_generic(req, 405, "Method Not Allowed", "method not allowed", 0);
        }
        return 0;
    }
    return r->fn(r->ctx, req);
}

int http_server_new(const cfg_t *cfg, http_server_t **out)
{
    http_server_t *s = xcalloc(1, sizeof(*s));
    s->cfg = cfg;
    h2o_config_init(&s->config);
    s->config.server_name = h2o_iovec_init(H2O_STRLIT("irtcd"));
    s->config.max_request_entity_size = HTTP_MAX_REQUEST_BODY;
    s->host = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
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

static void register_static(http_server_t *s)
{
    static const char *index_files[] = {"index.html", NULL};
    h2o_pathconf_t *pc = h2o_config_register_path(s->host, "/", 0);
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

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    listener_t *l = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL)
        h2o_accept(&l->server->accept_ctx, sock);
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
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
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
