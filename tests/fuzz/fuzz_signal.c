/*
 * fuzz_signal.c — libFuzzer target for the signaling entry: the bytes a
 * browser sends on /v1/signal after the upgrade, through the real HTTP
 * server, h2o, wslay, src/signal/ws.c and the protocol (session.c,
 * events.c) with a real store and room registry, in this thread's loop.
 * The first input byte picks the mode: raw frame bytes as they are, or the
 * rest as one text message in a well-formed masked frame (so the JSON
 * protocol sees every input).  Each input gets a fresh socketpair client;
 * when it hangs up, the session and the connection must be freed within a
 * bounded number of loop turns.  Single-threaded; a failed check aborts.
 */
#include "http/server.h"
#include "room/room.h"
#include "signal/signal.h"
#include "store/store.h"
#include "core/common.h"
#include "core/config.h"
#include "core/log.h"
#include "fuzz/fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static h2o_evloop_t *loop;
static http_server_t *http;
static sig_server_t *sig;
static cfg_t cfg;

static const char UPGRADE[] = "GET /v1/signal HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

static void setup(void)
{
    static char dir[] = "/tmp/irtc-fuzz-signal-XXXXXX";
    char db[300], err[256];
    store_t *store;
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
    CHECK(mkdtemp(dir) != NULL);
    cfg_defaults(&cfg);
    cfg.listen_count = 0;
    cfg.max_connections_per_source = 1000000;
    snprintf(cfg.web_root, sizeof(cfg.web_root), "%s", dir);
    snprintf(db, sizeof(db), "%s/irtc.db", dir);
    CHECK(store_open(db, &store, err, sizeof(err)) == IRTC_OK);
    loop = h2o_evloop_create();
    sig = sig_server_new(&cfg, loop, store, room_registry_new(&cfg, 1));
    http_server_new(&cfg, &http);
    sig_server_register(sig, http);
    CHECK(http_server_start(http, loop, NULL, err, sizeof(err)) == IRTC_OK);
}

/* Writes all of p (the server reads as the loop turns); stops if the server
 * hung up. */
static void put(int fd, const uint8_t *p, size_t n)
{
    for (int turns = 0; n > 0 && turns < 10000; turns++) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (errno != EAGAIN) {
            return;
        }
        h2o_evloop_run(loop, 0);
    }
}

static void drain(int fd, int turns)
{
    uint8_t junk[65536];
    for (int i = 0; i < turns; i++) {
        h2o_evloop_run(loop, 0);
        while (recv(fd, junk, sizeof(junk), 0) > 0)
            ;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (loop == NULL)
        setup();
    if (size == 0)
        return 0;
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    CHECK(http_server_serve_plain(http, sv[1]) == IRTC_OK);
    put(sv[0], (const uint8_t *)UPGRADE, sizeof(UPGRADE) - 1);
    drain(sv[0], 3);
    if (data[0] & 1) {
        put(sv[0], data + 1, size - 1);
    } else {
        /* One masked text frame holding the rest. */
        size_t n = size - 1, h = 0;
        uint8_t *f = malloc(n + 14);
        CHECK(f != NULL);
        f[h++] = 0x81;
        if (n < 126) {
            f[h++] = (uint8_t)(0x80 | n);
        } else if (n < 65536) {
            f[h++] = 0x80 | 126, f[h++] = (uint8_t)(n >> 8), f[h++] = (uint8_t)n;
        } else {
            f[h++] = 0x80 | 127;
            for (int i = 7; i >= 0; i--)
                f[h++] = (uint8_t)((uint64_t)n >> (8 * i));
        }
        static const uint8_t mask[4] = {1, 2, 3, 4};
        memcpy(f + h, mask, 4);
        h += 4;
        for (size_t i = 0; i < n; i++)
            f[h + i] = data[1 + i] ^ mask[i & 3];
        put(sv[0], f, h + n);
        free(f);
    }
    drain(sv[0], 5);
    close(sv[0]);
    /* The hang-up reaches the server and its session is freed. */
    http_server_stats_t st;
    for (int i = 0; i < 200; i++) {
        h2o_evloop_run(loop, 1);
        http_server_stats(http, &st);
        if (st.open == 0 && sig_server_idle(sig))
            break;
    }
    CHECK(st.open == 0);
    CHECK(sig_server_idle(sig));
    return 0;
}
