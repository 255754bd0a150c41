/*
 * test_ice_tcp.c — a worker's ICE-TCP side (media/ice_tcp.c) on a real h2o
 * loop and real loopback sockets: frames reach the callback with the
 * connection's tuple, whatever the cuts; a client that does not read makes
 * its queue drop (counted) while every send and flush returns; what it
 * finally reads is whole frames, in order; an oversize prefix closes the
 * connection and tells the owner; the per-source cap refuses at once;
 * teardown closes everything.  No timing is asserted (benchmarks do that).
 */
#include "media/ice_tcp.h"
#include "core/common.h"
#include "media/tcpframe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit/tap.h"

static h2o_evloop_t *loop;
static mx_tuple_t last_from, gone;
static unsigned frames_in, gone_count;
static uint8_t last_frame[2048];
static size_t last_len;

static void on_frame(void *ctx, uint8_t *buf, size_t len, const mx_tuple_t *from)
{
    (void)ctx;
    last_from = *from;
    memcpy(last_frame, buf, len);
    last_len = len;
    frames_in++;
}

static void on_gone(void *ctx, const mx_tuple_t *tuple)
{
    (void)ctx;
    gone = *tuple;
    gone_count++;
}

/* Runs the loop in 10 ms steps until *counter reaches want (at most 3 s). */
static bool spin_until(const unsigned *counter, unsigned want)
{
    for (int i = 0; i < 300 && *counter < want; i++)
        h2o_evloop_run(loop, 10);
    return *counter >= want;
}

static int client(uint16_t port, const char *src, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &me.sin_addr);
    bind(fd, (struct sockaddr *)&me, sizeof(me));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* True when the server closed fd (EOF or reset) within ~1 s of loop time. */
static bool closed_by_server(int fd)
{
    uint8_t b[4096];
    for (int i = 0; i < 100; i++) {
        ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
        h2o_evloop_run(loop, 10);
    }
    return false;
}

int main(void)
{
    loop = h2o_evloop_create();
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t sl = sizeof(sa);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        printf("Bail out! listener: %s\n", strerror(errno));
        return 1;
    }
    uint16_t port = ntohs(sa.sin_port);
    cfg_t cfg;
    cfg_defaults(&cfg);
    cfg.max_connections_per_source = 3;
    ice_tcp_stats_t st;
    memset(&st, 0, sizeof(st));
    ice_tcp_cbs_t cbs = {.on_frame = on_frame, .on_gone = on_gone};
    ice_tcp_t *it = ice_tcp_new(loop, lfd, &cfg, &cbs, &st);

    /* a frame cut in three writes */
    int c1 = client(port, "127.0.0.1", 4096);
    uint8_t hello[] = {0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0x00, 0x01};
    send(c1, hello, 1, 0);
    h2o_evloop_run(loop, 10);
    send(c1, hello + 1, 4, 0);
    h2o_evloop_run(loop, 10);
    send(c1, hello + 5, 4, 0);
    ok(spin_until(&frames_in, 1) && last_len == 5 && memcmp(last_frame, "hello", 5) == 0,
       "a frame cut across three writes arrives whole");
    ok(last_from.conn != 0 && last_from.addr.ss_family == AF_INET, "with the connection's tuple (conn %u)",
       last_from.conn);
    ok(atomic_load(&st.accepted) == 1 && atomic_load(&st.open) == 1, "accepted and open counted");
    uint32_t conn = last_from.conn;
    ice_tcp_verified(it, conn);

    /* the client does not read: the queue drops, nothing blocks */
    uint8_t payload[1200];
    const unsigned total = 4000;
    for (unsigned i = 0; i < total; i++) {
        memset(payload, (int)(i & 0xFF), sizeof(payload));
        ice_tcp_send(it, conn, payload, sizeof(payload));
        if (i % 32 == 31)
            ice_tcp_flush(it);
    }
    ice_tcp_flush(it);
    uint64_t dropped = atomic_load(&st.tx_dropped);
    ok(dropped > 0 && atomic_load(&st.tx_frames) == total,
       "4.8 MB to a client that does not read: every send returned, %llu frames dropped oldest-first",
       (unsigned long long)dropped);
    ice_tcp_send(it, 0x7FFF0000u, payload, 10); /* no such connection */
    ok(atomic_load(&st.tx_frames) == total, "a send to a connection that does not exist is ignored");

    /* now it reads: whole frames, tags rising, written + dropped = sent */
    size_t cap = 8u << 20, have = 0;
    uint8_t *wire = malloc(cap);
    for (int idle = 0; idle < 30 && have < cap;) {
        ssize_t n = recv(c1, wire + have, cap - have, MSG_DONTWAIT);
        if (n > 0) {
            have += (size_t)n;
            idle = 0;
        } else {
            idle++;
        }
        ice_tcp_flush(it);
        h2o_evloop_run(loop, 5);
    }
    size_t pos = 0, len;
    unsigned got = 0, bad = 0;
    int prev = -1;
    while (tcpframe_next(wire + pos, have - pos, 65535, &len) == 1) {
        const uint8_t *p = wire + pos + TCPFRAME_HDR;
        if (len != sizeof(payload))
            bad++;
        for (size_t k = 1; k < len; k++)
            bad += p[k] != p[0];
        if (prev >= 0 && (uint8_t)(p[0] - prev) == 0)
            bad++;
        prev = p[0];
        pos += TCPFRAME_HDR + len;
        got++;
    }
    ok(bad == 0 && pos == have, "what the client reads is whole frames in order (%u frames, %zu bytes)", got, have);
    ok(got + dropped == total, "read + dropped = sent (%u + %llu = %u)", got, (unsigned long long)dropped, total);
    free(wire);

    /* an oversize prefix closes the connection and tells the owner */
    int c2 = client(port, "127.0.0.1", 0);
    uint8_t big[] = {0xFF, 0xFF, 1, 2, 3};
    send(c2, big, sizeof(big), 0);
    ok(spin_until(&gone_count, 1) && gone.conn != 0 && gone.conn != conn && atomic_load(&st.closed[ICE_TCP_CLOSED_BAD_FRAME]) == 1,
       "a 65535 prefix closes that connection, on_gone names it");
    ok(closed_by_server(c2), "the client sees the close");
    close(c2);

    /* per source: 3 */
    int c3 = client(port, "127.0.0.1", 0), c4 = client(port, "127.0.0.1", 0), c5 = client(port, "127.0.0.1", 0);
    for (int i = 0; i < 10; i++)
        h2o_evloop_run(loop, 10);
    ok(closed_by_server(c5) && !closed_by_server(c4) && atomic_load(&st.refused) == 1,
       "the 4th connection from one address is refused at once");
    int c6 = client(port, "127.0.0.2", 0);
    ok(c6 >= 0 && !closed_by_server(c6), "another address is let in");

    /* the peer closes: on_gone */
    unsigned before = gone_count;
    close(c1);
    ok(spin_until(&gone_count, before + 1) && gone.conn == conn, "a connection the peer closes is reported gone");

    ice_tcp_free(it);
    h2o_evloop_run(loop, 0);
    ok(closed_by_server(c3) && closed_by_server(c6), "teardown closes the remaining connections");
    close(c3);
    close(c4);
    close(c5);
    close(c6);
    h2o_evloop_destroy(loop);
    return done_testing();
}
