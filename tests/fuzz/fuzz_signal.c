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
#include "fuzz/fuzz_server.h"
#include "room/room.h"
#include "signal/signal.h"
#include "store/store.h"

#include <string.h>

static signal_server_t *sig;

static const char UPGRADE[] = "GET /v1/signal HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

static void setup(void)
{
    char db[300], err[256];
    store_t *store;
    fuzz_server_new("signal");
    snprintf(db, sizeof(db), "%s/irtc.db", fz_dir);
    CHECK(store_open(db, &store, err, sizeof(err)) == IRTC_OK);
    sig = signal_server_new(&fz_cfg, fz_loop, store, room_registry_new(&fz_cfg, 1));
    signal_server_register(sig, fz_http);
    fuzz_server_start();
}

static bool signal_idle(void)
{
    return signal_server_idle(sig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_loop == NULL)
        setup();
    if (size == 0)
        return 0;
    int fd = fuzz_server_client();
    fuzz_server_put(fd, (const uint8_t *)UPGRADE, sizeof(UPGRADE) - 1);
    fuzz_server_drain(fd, 3);
    if (data[0] & 1) {
        fuzz_server_put(fd, data + 1, size - 1);
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
        fuzz_server_put(fd, f, h + n);
        free(f);
    }
    /* The hang-up reaches the server and its session is freed. */
    fuzz_server_hangup(fd, signal_idle);
    return 0;
}
