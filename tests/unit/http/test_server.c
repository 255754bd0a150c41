/*
 * test_server.c — src/http/server.c with a real h2o loop in this thread and
 * clients on socketpairs (http_server_serve_plain: plain HTTP/1.1, the same
 * routes, caps and checks as a TLS connection): routing, 404/405, static
 * files, the request-smuggling refusals (duplicate Content-Length,
 * Transfer-Encoding with Content-Length), HTTP/2 prior knowledge refused on
 * HTTP/1.1, the connection caps and the access-log budget.  The HTTP/2
 * frame budgets need TLS with ALPN: tests/integration/test_abuse_http.py.
 */
#include "http/guard.h"
#include "core/metrics.h"
#include "http/server.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/config.h"
#include "core/log.h"
#include "unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static h2o_evloop_t *loop;
static http_server_t *srv;
static cfg_t cfg;
static int handled;
static char dir[] = "/tmp/irtc-test-server-XXXXXX";

static int on_hello(void *ctx, h2o_req_t *req)
{
    handled++;
    char body[64];
    int n = snprintf(body, sizeof(body), "hello %zu", req->entity.len);
    http_send(req, 200, "text/plain", body, (size_t)n);
    return 0;
}

static void server_up(unsigned max_total, unsigned max_per_source)
{
    cfg_defaults(&cfg);
    cfg.listen_count = 0; /* no listener: clients come in through serve_plain */
    cfg.max_connections = max_total;
    cfg.max_connections_per_source = max_per_source;
    snprintf(cfg.web_root, sizeof(cfg.web_root), "%s", dir);
    char err[256];
    http_server_new(&cfg, &srv);
    http_server_route(srv, "/hello", false, HTTP_METHOD_GET | HTTP_METHOD_POST, "hello", on_hello, NULL);
    if (http_server_start(srv, loop, NULL, err, sizeof(err)) != IRTC_OK)
        abort();
}

static void server_down(void)
{
    http_server_begin_shutdown(srv);
    for (int i = 0; i < 200 && !http_server_idle(srv); i++)
        h2o_evloop_run(loop, 10);
    http_server_free(srv);
    metrics_reset(); /* the server's collector points at it */
    srv = NULL;
}

/* A client end; the other end is served.  -1 when the server refused it. */
static int client(int *rc)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    *rc = http_server_serve_plain(srv, sv[1]);
    if (*rc != IRTC_OK) {
        close(sv[0]);
        return -1;
    }
    return sv[0];
}

typedef struct {
    char text[65536];
    size_t len;
    bool closed; /* the server closed its end */
    int status;
} reply_t;

/* Bytes of the first complete response in r, 0 while incomplete. */
static size_t response_len(const reply_t *r)
{
    const char *end = memmem(r->text, r->len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - r->text) + 4;
    const char *cl = strcasestr(r->text, "\ncontent-length:");
    if (cl == NULL || cl > end)
        return head;
    size_t body = strtoul(cl + 16, NULL, 10);
    return r->len >= head + body ? head + body : 0;
}

/* Sends req, runs the loop until a whole response (or, with want_close, the
 * server's close) arrived; bounded by 3 s. */
static reply_t *exchange(int fd, const char *req, size_t len, bool want_close)
{
    static reply_t r;
    memset(&r, 0, sizeof(r));
    if (len > 0 && write(fd, req, len) != (ssize_t)len)
        abort();
    uint64_t deadline = clock_mono_ms() + 3000;
    while (clock_mono_ms() < deadline) {
        h2o_evloop_run(loop, 5);
        ssize_t n = recv(fd, r.text + r.len, sizeof(r.text) - 1 - r.len, 0);
        if (n > 0)
            r.len += (size_t)n;
        else if (n == 0)
            r.closed = true;
        r.text[r.len] = '\0';
        if (r.closed || (!want_close && response_len(&r) > 0))
            break;
    }
    if (r.len > 12 && strncmp(r.text, "HTTP/1.", 7) == 0)
        r.status = atoi(r.text + 9);
    return &r;
}

static reply_t *send_str(int fd, const char *req, bool want_close)
{
    return exchange(fd, req, strlen(req), want_close);
}

static void test_routes(void)
{
    int rc, fd = client(&rc);
    handled = 0;
    reply_t *r = send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", false);
    ok(r->status == 200 && strstr(r->text, "\r\n\r\nhello 0") != NULL && handled == 1, "GET /hello answered");
    r = send_str(fd, "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde", false);
    ok(r->status == 200 && strstr(r->text, "hello 5") != NULL, "POST with one Content-Length: the body arrives");
    r = send_str(fd, "POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                 false);
    ok(r->status == 200 && strstr(r->text, "hello 3") != NULL, "POST chunked: the body arrives");
    r = send_str(fd, "GET /hello/more HTTP/1.1\r\nHost: x\r\n\r\n", false);
    is_int(r->status, 404, "a longer path under an exact route: 404");
    r = send_str(fd, "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n", false);
    ok(r->status == 405 && strcasestr(r->text, "\nallow: POST") != NULL, "a method outside the mask: 405 with Allow");
    r = send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false);
    ok(r->status == 200 && strstr(r->text, "<p>index</p>") != NULL, "static index.html at /");
    r = send_str(fd, "GET /nope.txt HTTP/1.1\r\nHost: x\r\n\r\n", false);
    is_int(r->status, 404, "a missing static file: 404");
    close(fd);
}

/* RFC 9112 §6.3 (issue 10): what a proxy in front could frame differently. */
static void test_smuggling(void)
{
    static const struct {
        const char *req, *name;
    } bad[] = {
        {"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 35\r\n\r\n"
         "GET /hello HTTP/1.1\r\nHost: y\r\n\r\n",
         "two Content-Length, a request smuggled behind the first"},
        {"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nabcde",
         "two equal Content-Length"},
        {"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 35\r\n\r\n0\r\n\r\n"
         "GET /hello HTTP/1.1\r\nHost: y\r\n\r\n",
         "Transfer-Encoding and Content-Length"},
        {"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "Content-Length then Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", "static files too"},
    };
    http_server_stats_t st0, st1;
    http_server_stats(srv, &st0);
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        int rc, fd = client(&rc);
        handled = 0;
        reply_t *r = send_str(fd, bad[i].req, true);
        ok(r->status == 400 && r->closed && handled == 0 && strstr(r->text, "HTTP/1.1 200") == NULL,
           "%s: 400, connection closed, no handler ran (%d)", bad[i].name, r->status);
        close(fd);
    }
    http_server_stats(srv, &st1);
    is_int(st1.framing_refused - st0.framing_refused, IRTC_ARRAY_SIZE(bad), "each counted in /metrics");

    /* h2o would take "PRI * HTTP/2" on HTTP/1.1 as HTTP/2, past the frame
     * budgets: refused. */
    int rc, fd = client(&rc);
    reply_t *r = send_str(fd, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", true);
    ok(r->status == 400 && r->closed, "HTTP/2 prior knowledge on an HTTP/1.1 connection: 400 (%d)", r->status);
    close(fd);
}

static void drain_closed(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
    for (int i = 0; i < 100; i++)
        h2o_evloop_run(loop, 5);
}

static void test_caps(void)
{
    /* Socketpairs have no address: they count as one source. */
    server_up(100, 3);
    int fds[4], rc;
    for (int i = 0; i < 3; i++)
        fds[i] = client(&rc);
    http_server_stats_t st;
    http_server_stats(srv, &st);
    is_int(st.open, 3, "three connections open");
    fds[3] = client(&rc);
    ok(fds[3] < 0 && rc == IRTC_ELIMIT, "a fourth from the same source: refused at once");
    http_server_stats(srv, &st);
    is_int(st.refused_source, 1, "counted as refused by the per-source limit");
    reply_t *r = send_str(fds[0], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", false);
    is_int(r->status, 200, "the admitted ones are served");
    close(fds[2]);
    for (int i = 0; i < 100 && (http_server_stats(srv, &st), st.open) != 2; i++)
        h2o_evloop_run(loop, 5);
    is_int(st.open, 2, "a closed client frees its slot");
    fds[2] = client(&rc);
    ok(fds[2] >= 0, "and the next one is admitted");
    drain_closed(fds, 3);
    http_server_stats(srv, &st);
    is_int(st.open, 0, "every slot released once all closed");
    server_down();

    server_up(16, 100);
    int many[17];
    for (int i = 0; i < 16; i++)
        many[i] = client(&rc);
    int extra = client(&rc);
    ok(extra < 0 && rc == IRTC_ELIMIT, "over limits.max_connections: refused");
    http_server_stats(srv, &st);
    ok(st.refused_total == 1 && st.max_connections == 16, "counted as refused by the total limit");
    drain_closed(many, 16);
    server_down();
}

static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int n = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return n;
}

static void test_log_budget(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/access.log", dir);
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, path);
    server_up(100, 100);
    int rc, fd = client(&rc);
    enum { N = 300 };
    int good = 0;
    uint64_t t0 = clock_mono_ms();
    for (int i = 0; i < N; i++)
        good += send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", false)->status == 200;
    uint64_t took = clock_mono_ms() - t0;
    is_int(good, N, "%d requests on one connection answered", N);
    int lines = count_lines(path, "[access]");
    /* The burst, plus what the rate earned over the time the loop took. */
    int allowed = GUARD_LOG_BURST + (int)(took * GUARD_LOG_RATE / 1000) + 1;
    ok(lines >= GUARD_LOG_BURST && lines <= allowed, "access log: %d lines for %d requests (at most %d in %llu ms)",
       lines, N, allowed, (unsigned long long)took);
    http_server_stats_t st;
    http_server_stats(srv, &st);
    is_int(st.log_lines_skipped, N - lines, "the rest counted as skipped");
    close(fd);
    for (int i = 0; i < 100; i++)
        h2o_evloop_run(loop, 5);
    ok(count_lines(path, "more lines of this connection skipped") == 1, "the close says how many were skipped");
    buf_t m;
    buf_init(&m);
    metrics_render(&m);
    ok(strstr(m.base, "irtc_http_access_log_skipped_total ") != NULL &&
           strstr(m.base, "irtc_http_connections_refused_total{limit=\"source\"}") != NULL,
       "the figures are in /metrics");
    buf_dispose(&m);
    server_down();
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
    unlink(path);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
    if (mkdtemp(dir) == NULL)
        abort();
    char index[300];
    snprintf(index, sizeof(index), "%s/index.html", dir);
    FILE *f = fopen(index, "w");
    fputs("<p>index</p>\n", f);
    fclose(f);
    loop = h2o_evloop_create();

    server_up(100, 100);
    test_routes();
    test_smuggling();
    server_down();
    test_caps();
    test_log_budget();

    unlink(index);
    rmdir(dir);
    return done_testing();
}
