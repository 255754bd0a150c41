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
#include "fuzz/fuzz_server.h"

#include <string.h>
#include <strings.h>

static int on_echo(void *ctx, h2o_req_t *req)
{
    http_send(req, 200, "text/plain", req->entity.base ? req->entity.base : "", req->entity.len);
    return 0;
}

static void setup(void)
{
    fuzz_server_new("http");
    http_server_route(fz_http, "/echo", false, HTTP_METHOD_GET | HTTP_METHOD_POST, "echo", on_echo, NULL);
    fuzz_server_start();
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
    int fd = fuzz_server_client();
    fuzz_server_put(fd, data, size);
    fuzz_server_hangup(fd, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_loop == NULL)
        setup();
    check_h2(data, size);
    check_framing(data, size);
    check_server(data, size);
    return 0;
}
