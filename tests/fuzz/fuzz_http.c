/*
 * fuzz_http.c — libFuzzer target for the HTTPS front door's own parsers and
 * its HTTP/1.x path: guard_h2_feed (the HTTP/2 frame headers of a
 * connection) must give the same verdict and frame count whatever cut the
 * bytes arrive in; guard_http1_framing must agree with a second, naive
 * count of Content-Length / Transfer-Encoding lines; and the same bytes,
 * sent raw to the real HTTP server (routes, static files, the smuggling
 * check, h2o's HTTP/1.1 parser) on a fresh socketpair connection, must
 * leave no connection behind once the client hangs up.
 * Single-threaded; a failed check aborts.
 */
#include "http/guard.h"
#include "http/server.h"
#include "core/common.h"
#include "core/config.h"
#include "core/log.h"
#include "fuzz/fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static h2o_evloop_t *loop;
static http_server_t *http;
static cfg_t cfg;

static int on_echo(void *ctx, h2o_req_t *req)
{
    http_send(req, 200, "text/plain", req->entity.base ? req->entity.base : "", req->entity.len);
    return 0;
}

static void setup(void)
{
    static char dir[] = "/tmp/irtc-fuzz-http-XXXXXX";
    char err[256];
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
    CHECK(mkdtemp(dir) != NULL);
    cfg_defaults(&cfg);
    cfg.listen_count = 0;
    cfg.max_connections_per_source = 1000000;
    snprintf(cfg.web_root, sizeof(cfg.web_root), "%s", dir);
    loop = h2o_evloop_create();
    http_server_new(&cfg, &http);
    http_server_route(http, "/echo", false, HTTP_METHOD_GET | HTTP_METHOD_POST, "echo", on_echo, NULL);
    CHECK(http_server_start(http, loop, NULL, err, sizeof(err)) == IRTC_OK);
}

static void check_h2(const uint8_t *data, size_t size)
{
    guard_h2_t whole, cut;
    guard_h2_init(&whole, 0);
    guard_h2_init(&cut, 0);
    guard_h2_verdict_t v = guard_h2_feed(&whole, data, size, 0), w = GUARD_H2_OK;
    size_t step = size > 0 ? 1 + data[0] % 17 : 1;
    for (size_t i = 0; i < size && w == GUARD_H2_OK; i += step)
        w = guard_h2_feed(&cut, data + i, IRTC_MIN(step, size - i), 0);
    CHECK(v == w && whole.frames == cut.frames);
}

/* A second reading of the header block, naive and only where it cannot be
 * wrong (LF line ends only, no NUL): count the lines naming each header. */
static void check_framing(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    char *s = fuzz_dup(data, size, true);
    int rc = guard_http1_framing(s, size, &why);
    CHECK(rc == IRTC_OK || (rc == IRTC_EINVAL && why != NULL));
    char *stop = strstr(s, "\n\n");
    if (stop != NULL && memchr(data, '\0', size) == NULL && memchr(data, '\r', size) == NULL && s[0] != '\n') {
        int cl = 0, te = 0;
        *stop = '\0';
        char *save = NULL;
        size_t seen = 0;
        for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save), seen++) {
            if (seen == 0 || line[0] == ' ' || line[0] == '\t')
                continue;
            cl += strncasecmp(line, "content-length:", 15) == 0;
            te += strncasecmp(line, "transfer-encoding:", 18) == 0;
        }
        CHECK((rc == IRTC_EINVAL) == (cl > 1 || te > 1 || (cl > 0 && te > 0)));
    }
    free(s);
}

static void check_server(const uint8_t *data, size_t size)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    CHECK(http_server_serve_plain(http, sv[1]) == IRTC_OK);
    uint8_t junk[65536];
    const uint8_t *p = data;
    size_t n = size;
    for (int turns = 0; turns < 5000 && n > 0; turns++) {
        ssize_t w = write(sv[0], p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (errno != EAGAIN) {
            break;
        }
        h2o_evloop_run(loop, 0);
        while (recv(sv[0], junk, sizeof(junk), 0) > 0)
            ;
    }
    for (int i = 0; i < 5; i++) {
        h2o_evloop_run(loop, 0);
        while (recv(sv[0], junk, sizeof(junk), 0) > 0)
            ;
    }
    close(sv[0]);
    http_server_stats_t st;
    for (int i = 0; i < 200; i++) {
        h2o_evloop_run(loop, 1);
        http_server_stats(http, &st);
        if (st.open == 0)
            break;
    }
    CHECK(st.open == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (loop == NULL)
        setup();
    check_h2(data, size);
    check_framing(data, size);
    check_server(data, size);
    return 0;
}
