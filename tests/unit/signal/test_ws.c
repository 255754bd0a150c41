/*
 * test_ws.c — src/signal/ws.c, the signaling WebSocket glue, driven through
 * the real HTTP server and h2o/wslay in this thread: clients are socketpairs
 * served by http_server_serve_plain (plain HTTP/1.1, same routes), writing
 * masked frames by hand.  Covers the upgrade (and its refusals), a request
 * and its response, fragmented messages, WebSocket pings, binary messages,
 * the message size limit (1009), the close handshake, a dropped socket,
 * frames that break RFC 6455 (unmasked, reserved bits, bad opcodes), and
 * that every session is freed.  The protocol itself is test_session's.
 */
#include "core/metrics.h"
#include "http/server.h"
#include "room/room.h"
#include "signal/session.h"
#include "signal/signal.h"
#include "store/store.h"
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
#include <unistd.h>

static h2o_evloop_t *loop;
static http_server_t *http;
static signal_server_t *sig;
static room_registry_t *rooms;
static store_t *store;
static cfg_t cfg;
static char dir[] = "/tmp/irtc-test-ws-XXXXXX";

typedef struct {
    int fd;
    uint8_t in[1 << 20];
    size_t len;
    bool eof;
} client_t;

static void run_ms(int ms)
{
    uint64_t end = clock_mono_ms() + (uint64_t)ms;
    while (clock_mono_ms() < end)
        h2o_evloop_run(loop, 5);
}

/* Runs the loop and reads until pred(c) or 3 s. */
static bool pump(client_t *c, bool (*pred)(const client_t *))
{
    uint64_t end = clock_mono_ms() + 3000;
    while (clock_mono_ms() < end) {
        h2o_evloop_run(loop, 5);
        ssize_t n = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len, 0);
        if (n > 0)
            c->len += (size_t)n;
        else if (n == 0)
            c->eof = true;
        if (pred(c))
            return true;
        if (c->eof)
            return false;
    }
    return false;
}

static bool have_head(const client_t *c)
{
    return memmem(c->in, c->len, "\r\n\r\n", 4) != NULL;
}

static client_t *open_client(const char *request)
{
    client_t *c = calloc(1, sizeof(*c));
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    c->fd = sv[0];
    if (http_server_serve_plain(http, sv[1]) != IRTC_OK)
        abort();
    if (write(c->fd, request, strlen(request)) != (ssize_t)strlen(request))
        abort();
    pump(c, have_head);
    return c;
}

static const char UPGRADE[] = "GET /v1/signal HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/* Opens a WebSocket; the 101 head is consumed. */
static client_t *ws_open(void)
{
    client_t *c = open_client(UPGRADE);
    const uint8_t *end = memmem(c->in, c->len, "\r\n\r\n", 4);
    if (end == NULL)
        return c;
    size_t head = (size_t)(end - c->in) + 4;
    memmove(c->in, c->in + head, c->len - head);
    c->len -= head;
    return c;
}

static void send_frame(client_t *c, uint8_t first, const void *payload, size_t n, bool masked)
{
    uint8_t hdr[14], mask[4] = {0x11, 0x22, 0x33, 0x44};
    size_t h = 0;
    hdr[h++] = first;
    if (n < 126) {
        hdr[h++] = (uint8_t)((masked ? 0x80 : 0) | n);
    } else if (n < 65536) {
        hdr[h++] = (uint8_t)((masked ? 0x80 : 0) | 126);
        hdr[h++] = (uint8_t)(n >> 8), hdr[h++] = (uint8_t)n;
    } else {
        hdr[h++] = (uint8_t)((masked ? 0x80 : 0) | 127);
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    if (masked)
        memcpy(hdr + h, mask, 4), h += 4;
    uint8_t *buf = malloc(h + n + 1);
    memcpy(buf, hdr, h);
    for (size_t i = 0; i < n; i++)
        buf[h + i] = ((const uint8_t *)payload)[i] ^ (masked ? mask[i & 3] : 0);
    /* The socketpair's buffer may be smaller than a big frame; the server
     * may also hang up half-way (a frame over the limit). */
    size_t off = 0;
    uint64_t end = clock_mono_ms() + 3000;
    while (off < h + n && clock_mono_ms() < end) {
        ssize_t w = write(c->fd, buf + off, h + n - off);
        if (w > 0)
            off += (size_t)w;
        else if (errno != EAGAIN)
            break;
        h2o_evloop_run(loop, 1);
    }
    free(buf);
}

static void send_text(client_t *c, const char *s)
{
    send_frame(c, 0x81, s, strlen(s), true);
}

/* The first complete server frame: opcode, payload (NUL-terminated copy). */
typedef struct {
    int opcode;
    char payload[4096];
    size_t len;
} frame_t;

static bool frame_ready(const client_t *c)
{
    if (c->len < 2)
        return false;
    size_t n = c->in[1] & 0x7f, h = 2;
    if (n == 126)
        n = c->len >= 4 ? (size_t)c->in[2] << 8 | c->in[3] : SIZE_MAX, h = 4;
    return n != SIZE_MAX && n != 127 && c->len >= h + n;
}

static bool next_frame(client_t *c, frame_t *f)
{
    if (!frame_ready(c) && !pump(c, frame_ready))
        return false;
    size_t n = c->in[1] & 0x7f, h = 2;
    if (n == 126)
        n = (size_t)c->in[2] << 8 | c->in[3], h = 4;
    f->opcode = c->in[0] & 0x0f;
    f->len = IRTC_MIN(n, sizeof(f->payload) - 1);
    memcpy(f->payload, c->in + h, f->len);
    f->payload[f->len] = '\0';
    memmove(c->in, c->in + h + n, c->len - h - n);
    c->len -= h + n;
    return true;
}

static unsigned close_code(const frame_t *f)
{
    return f->opcode == 8 && f->len >= 2 ? (unsigned)(uint8_t)f->payload[0] << 8 | (uint8_t)f->payload[1] : 0;
}

/* Waits for the server to drop its end. */
static bool wait_eof(client_t *c)
{
    uint64_t end = clock_mono_ms() + 4000;
    while (!c->eof && clock_mono_ms() < end) {
        h2o_evloop_run(loop, 5);
        uint8_t junk[4096];
        ssize_t n = recv(c->fd, junk, sizeof(junk), 0);
        if (n == 0)
            c->eof = true;
    }
    return c->eof;
}

static void ws_free(client_t *c)
{
    close(c->fd);
    free(c);
}

static void test_upgrade(void)
{
    client_t *c = ws_open();
    frame_t f;
    ok(c->len == 0 && !c->eof, "upgrade: 101 and nothing else");
    send_text(c, "{\"v\":1,\"id\":7,\"type\":\"ping\"}");
    ok(next_frame(c, &f) && f.opcode == 1 && strstr(f.payload, "\"id\":7") && strstr(f.payload, "\"ok\":true"),
       "a ping request gets its response (%s)", f.payload);

    /* A message in three fragments, with a WebSocket ping in the middle. */
    const char *msg = "{\"v\":1,\"id\":8,\"type\":\"ping\"}";
    send_frame(c, 0x01, msg, 10, true);
    send_frame(c, 0x89, "hi", 2, true);
    send_frame(c, 0x00, msg + 10, 10, true);
    send_frame(c, 0x80, msg + 20, strlen(msg) - 20, true);
    bool pong = false, resp = false;
    for (int i = 0; i < 2 && next_frame(c, &f); i++) {
        pong = pong || (f.opcode == 0xA && f.len == 2 && memcmp(f.payload, "hi", 2) == 0);
        resp = resp || (f.opcode == 1 && strstr(f.payload, "\"id\":8") != NULL);
    }
    ok(pong && resp, "a ping frame between fragments is answered, the fragments make one request");

    send_frame(c, 0x82, "\x01\x02", 2, true);
    ok(next_frame(c, &f) && f.opcode == 1 && strstr(f.payload, "\"error\"") != NULL,
       "a binary message: an error event (%s)", f.payload);

    send_frame(c, 0x88, "\x03\xe8", 2, true);
    ok(next_frame(c, &f) && close_code(&f) == 1000, "a close frame is answered with 1000");
    ok(wait_eof(c), "then the socket is closed");
    ws_free(c);

    /* Refused upgrades stay HTTP. */
    c = open_client("GET /v1/signal HTTP/1.1\r\nHost: x\r\n\r\n");
    ok(strncmp((const char *)c->in, "HTTP/1.1 400", 12) == 0, "no Upgrade header: 400");
    ws_free(c);
    c = open_client("GET /v1/signal HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n");
    ok(strncmp((const char *)c->in, "HTTP/1.1 101", 12) != 0, "no Sec-WebSocket-Key: not upgraded");
    ws_free(c);
}

static void test_limits(void)
{
    /* Over SIG_MAX_MESSAGE_BYTES: wslay closes with 1009. */
    client_t *c = ws_open();
    size_t big = SIG_MAX_MESSAGE_BYTES + 10;
    char *s = malloc(big);
    memset(s, ' ', big);
    send_frame(c, 0x81, s, big, true);
    free(s);
    frame_t f;
    bool got = false;
    for (int i = 0; i < 3 && next_frame(c, &f); i++)
        got = got || close_code(&f) == 1009;
    ok(got, "a message over %d bytes: close 1009", SIG_MAX_MESSAGE_BYTES);
    ok(wait_eof(c), "and the socket is closed");
    ws_free(c);

    /* RFC 6455 §5.1-5.2: frames a client must never send. */
    static const struct {
        uint8_t first;
        bool masked;
        const char *name;
    } bad[] = {
        {0x81, false, "an unmasked frame"},
        {0xC1, true, "a reserved bit set"},
        {0x83, true, "a reserved opcode"},
        {0x00, true, "a continuation with nothing to continue"},
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        c = ws_open();
        send_frame(c, bad[i].first, "{}", 2, bad[i].masked);
        bool closed = false;
        for (int k = 0; k < 3 && next_frame(c, &f); k++)
            closed = closed || close_code(&f) == 1002;
        ok(closed && wait_eof(c), "%s: close 1002 and the socket dropped", bad[i].name);
        ws_free(c);
    }

    /* A client that drops the TCP connection without a close frame. */
    c = ws_open();
    send_text(c, "{\"v\":1,\"id\":1,\"type\":\"ping\"}");
    next_frame(c, &f);
    ws_free(c);
    run_ms(100);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
    if (mkdtemp(dir) == NULL)
        abort();
    cfg_defaults(&cfg);
    cfg.listen_count = 0;
    snprintf(cfg.web_root, sizeof(cfg.web_root), "%s", dir);
    char db[300], err[256];
    snprintf(db, sizeof(db), "%s/irtc.db", dir);
    if (store_open(db, &store, err, sizeof(err)) != IRTC_OK)
        abort();
    loop = h2o_evloop_create();
    rooms = room_registry_new(&cfg, 1);
    sig = signal_server_new(&cfg, loop, store, rooms);
    http_server_new(&cfg, &http);
    signal_server_register(sig, http);
    if (http_server_start(http, loop, NULL, err, sizeof(err)) != IRTC_OK)
        abort();

    test_upgrade();
    test_limits();
    run_ms(300);
    ok(signal_server_idle(sig), "every session freed (closed, refused, dropped)");
    http_server_stats_t st;
    http_server_stats(http, &st);
    is_int(st.open, 0, "every connection released");

    signal_server_begin_shutdown(sig);
    http_server_begin_shutdown(http);
    for (int i = 0; i < 100 && !(http_server_idle(http) && signal_server_idle(sig)); i++)
        h2o_evloop_run(loop, 10);
    signal_server_free(sig);
    http_server_free(http);
    room_registry_free(rooms);
    store_close(store);
    metrics_reset();
    unlink(db);
    char wal[320];
    snprintf(wal, sizeof(wal), "%s-wal", db);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", db);
    unlink(wal);
    rmdir(dir);
    return done_testing();
}
