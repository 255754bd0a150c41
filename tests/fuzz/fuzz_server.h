/*
 * fuzz_server.h — for the fuzzers that drive the real HTTP server in their
 * own h2o loop (fuzz_http, fuzz_signal): the server without listeners, a
 * client per input on a socketpair (http_server_serve_plain), writing and
 * draining while the loop turns, and the check that the server lets go of
 * the connection once the client hangs up.  Header-only; single-threaded.
 */
#ifndef IRTC_FUZZ_SERVER_H
#define IRTC_FUZZ_SERVER_H

#include "fuzz/fuzz.h"
#include "http/server.h"
#include "core/common.h"
#include "core/config.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static h2o_evloop_t *fz_loop;
static http_server_t *fz_http;
static cfg_t fz_cfg;
static char fz_dir[64];

/* The scratch directory goes when libFuzzer exits (its time is up); a
 * crash leaves it, beside the crash input. */
static void fuzz_server_cleanup(void)
{
    static const char *files[] = {"irtc.db", "irtc.db-wal", "irtc.db-shm"};
    char path[128];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", fz_dir, files[i]);
        unlink(path);
    }
    rmdir(fz_dir);
}

/* A server with no listener and a scratch web root (and directory for a
 * database, irtc.db); routes are added by the caller between this and
 * fuzz_server_start. */
static inline void fuzz_server_new(const char *name)
{
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
    snprintf(fz_dir, sizeof(fz_dir), "/tmp/irtc-fuzz-%s-XXXXXX", name);
    CHECK(mkdtemp(fz_dir) != NULL);
    atexit(fuzz_server_cleanup);
    cfg_defaults(&fz_cfg);
    fz_cfg.listen_count = 0;
    fz_cfg.max_connections_per_source = 1000000;
    snprintf(fz_cfg.web_root, sizeof(fz_cfg.web_root), "%s", fz_dir);
    fz_loop = h2o_evloop_create();
    http_server_new(&fz_cfg, &fz_http);
}

static inline void fuzz_server_start(void)
{
    char err[256];
    CHECK(http_server_start(fz_http, fz_loop, NULL, err, sizeof(err)) == IRTC_OK);
}

/* A new client connection; returns the client's non-blocking end. */
static inline int fuzz_server_client(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    CHECK(http_server_serve_plain(fz_http, sv[1]) == IRTC_OK);
    return sv[0];
}

/* Turns the loop and throws away what the server sent. */
static inline void fuzz_server_drain(int fd, int turns)
{
    uint8_t junk[65536];
    for (int i = 0; i < turns; i++) {
        h2o_evloop_run(fz_loop, 0);
        while (recv(fd, junk, sizeof(junk), 0) > 0)
            ;
    }
}

/* Writes all of p while the loop turns; stops if the server hung up. */
static inline void fuzz_server_put(int fd, const uint8_t *p, size_t n)
{
    for (int turns = 0; n > 0 && turns < 10000; turns++) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (errno != EAGAIN) {
            return;
        }
        fuzz_server_drain(fd, 1);
    }
}

/* Hangs up; the server must let the connection go (and idle(), when given,
 * must say so too) within a bounded number of loop turns. */
static inline void fuzz_server_hangup(int fd, bool (*idle)(void))
{
    fuzz_server_drain(fd, 5);
    close(fd);
    http_server_stats_t st;
    for (int i = 0; i < 200; i++) {
        h2o_evloop_run(fz_loop, 1);
        http_server_stats(fz_http, &st);
        if (st.open == 0 && (idle == NULL || idle()))
            break;
    }
    CHECK(st.open == 0);
    CHECK(idle == NULL || idle());
}

#endif
