/*
 * udp_flood.c — a bounded UDP load generator for the abuse tests
 * (tests/integration/test_abuse_media.py), on loopback only.  Sends from
 * one socket per source address (any 127.0.0.0/8 address) to every port
 * of 127.0.0.1:PORT .. PORT+NPORTS-1, at RATE datagrams a second in
 * batches (sendmmsg) for SECONDS, and counts the answers each source gets.
 *
 *   udp_flood MODE PORT NPORTS RATE SECONDS SOURCE...
 *
 * MODE garbage: random and truncated datagrams of every kind the media
 * port demultiplexes (RFC 7983 first bytes: STUN, DTLS, RTP/RTCP) and none;
 * MODE stun: well-formed Binding requests with unknown USERNAMEs (what a
 * spoofed reflection attack sends).  Prints one line per source:
 * "source A sent N answers M answer_bytes B" and a total line.
 * Exits 2 on bad arguments.  Single-threaded; loops bounded by SECONDS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SOURCES 64
#define MAX_PORTS 16
#define DGRAM_MAX 1200

typedef struct {
    int fd;
    char name[32];
    unsigned long long sent, answers, answer_bytes;
} source_t;

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A STUN Binding request (RFC 8489) with USERNAME "<unknown>:<x>", no
 * integrity: 20-byte header + 4 + 8 = 32 bytes. */
static size_t stun_request(uint8_t *p)
{
    memset(p, 0, 32);
    p[0] = 0x00, p[1] = 0x01; /* Binding request */
    p[2] = 0, p[3] = 12;      /* attributes: 12 bytes */
    p[4] = 0x21, p[5] = 0x12, p[6] = 0xa4, p[7] = 0x42;
    for (int i = 8; i < 20; i++)
        p[i] = (uint8_t)rnd();
    p[20] = 0x00, p[21] = 0x06; /* USERNAME */
    p[22] = 0, p[23] = 7;
    snprintf((char *)p + 24, 8, "%04x:ab", rnd() & 0xffff);
    return 32;
}

/* One datagram of the garbage mix. */
static size_t garbage(uint8_t *p)
{
    size_t n = 1 + rnd() % DGRAM_MAX;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
    switch (rnd() % 6) {
    case 0: /* STUN-looking, lengths that lie */
        p[0] &= 0x03;
        if (n >= 8)
            p[4] = 0x21, p[5] = 0x12, p[6] = 0xa4, p[7] = 0x42;
        break;
    case 1: /* a DTLS record header, truncated or with a wrong length */
        p[0] = (uint8_t)(20 + rnd() % 4);
        if (n >= 3)
            p[1] = 0xfe, p[2] = 0xfd;
        break;
    case 2: /* RTP: version 2, any payload type */
        p[0] = 0x80 | (p[0] & 0x3f);
        break;
    case 3: /* RTCP */
        p[0] = 0x80;
        if (n >= 2)
            p[1] = (uint8_t)(200 + rnd() % 8);
        break;
    case 4: /* very short */
        n = 1 + rnd() % 12;
        break;
    default: /* anything */
        break;
    }
    return n;
}

static void drain(source_t *s)
{
    uint8_t buf[2048];
    for (;;) {
        ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r < 0)
            return;
        s->answers++;
        s->answer_bytes += (unsigned long long)r;
    }
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: udp_flood garbage|stun PORT NPORTS RATE SECONDS SOURCE...\n");
        return 2;
    }
    int stun = strcmp(argv[1], "stun") == 0;
    int port = atoi(argv[2]), nports = atoi(argv[3]);
    double rate = atof(argv[4]), seconds = atof(argv[5]);
    int nsrc = argc - 6;
    if ((!stun && strcmp(argv[1], "garbage") != 0) || port <= 0 || port > 65535 || nports < 1 ||
        nports > MAX_PORTS || rate <= 0 || rate > 1e6 || seconds <= 0 || seconds > 600 || nsrc > MAX_SOURCES)
        return 2;
    static source_t src[MAX_SOURCES];
    for (int i = 0; i < nsrc; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, argv[6 + i], &a.sin_addr) != 1 || (ntohl(a.sin_addr.s_addr) >> 24) != 127)
            return 2; /* loopback only */
        src[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
        int big = 4 << 20;
        setsockopt(src[i].fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
        if (src[i].fd < 0 || bind(src[i].fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            perror("bind");
            return 1;
        }
        snprintf(src[i].name, sizeof(src[i].name), "%s", argv[6 + i]);
    }
    static uint8_t bufs[BATCH][DGRAM_MAX];
    static struct sockaddr_in to[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    double start = now_s(), next = start;
    unsigned long long total = 0;
    int k = 0;
    while (now_s() - start < seconds) {
        source_t *s = &src[k++ % nsrc];
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = stun ? stun_request(bufs[i]) : garbage(bufs[i]);
            to[i] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)(port + rnd() % nports))};
            to[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            msgs[i].msg_hdr = (struct msghdr){.msg_name = &to[i], .msg_namelen = sizeof(to[i]), .msg_iov = &iov[i],
                                              .msg_iovlen = 1};
        }
        int n = sendmmsg(s->fd, msgs, BATCH, 0);
        if (n > 0) {
            s->sent += (unsigned long long)n;
            total += (unsigned long long)n;
        }
        drain(s);
        next += BATCH / rate;
        double wait = next - now_s();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    usleep(300 * 1000); /* late answers */
    unsigned long long answers = 0, bytes = 0, sent_bytes = 0;
    for (int i = 0; i < nsrc; i++) {
        drain(&src[i]);
        printf("source %s sent %llu answers %llu answer_bytes %llu\n", src[i].name, src[i].sent, src[i].answers,
               src[i].answer_bytes);
        answers += src[i].answers;
        bytes += src[i].answer_bytes;
        close(src[i].fd);
    }
    sent_bytes = stun ? total * 32 : 0;
    printf("total sent %llu in %.1f s (%.0f/s) answers %llu answer_bytes %llu request_bytes %llu\n", total,
           now_s() - start, (double)total / (now_s() - start), answers, bytes, sent_bytes);
    return 0;
}
