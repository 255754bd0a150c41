/*
 * probe.c — /proc readings and irtcd's /metrics for irtc-loadgen.
 *
 * Blocking; runs between measurement windows on the load generator's
 * thread.  The HTTPS GET is the simplest that works against irtcd (one
 * request, Connection: close, certificate not verified).
 */
#include "probe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/buf.h"
#include "core/clock.h"

static bool read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n > 0;
}

static void read_thread(pid_t pid, int tid, probe_thread_t *t)
{
    char path[96], buf[1024];
    t->tid = tid;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, tid);
    if (read_file(path, buf, sizeof(buf))) {
        buf[strcspn(buf, "\n")] = 0;
        buf[sizeof(t->name) - 1] = 0; /* comm is at most 15 characters */
        memcpy(t->name, buf, strlen(buf) + 1);
    }
    snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, tid);
    if (read_file(path, buf, sizeof(buf))) {
        char *end;
        t->run_ns = strtoull(buf, &end, 10);
        t->wait_ns = strtoull(end, NULL, 10);
    }
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, tid);
    if (read_file(path, buf, sizeof(buf))) {
        /* Fields after the parenthesised name: state is 3, utime 14, stime 15. */
        char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0;
        if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
            t->user_ticks = ut;
            t->sys_ticks = st;
        }
    }
}

/* ---- /metrics ---- */

static bool https_get(const char *host, unsigned port, const char *path, buf_t *out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    static SSL_CTX *ctx;
    if (ctx == NULL)
        ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || ctx == NULL || (ssl = SSL_new(ctx)) == NULL ||
        SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1)
        goto done;
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n\r\n", path, host, port);
    if (SSL_write(ssl, req, n) != n)
        goto done;
    char chunk[16384];
    while ((n = SSL_read(ssl, chunk, sizeof(chunk))) > 0)
        buf_append(out, chunk, (size_t)n);
    ok = out->len > 12 && strncmp(out->base, "HTTP/1.1 200", 12) == 0;
done:
    if (ssl != NULL)
        SSL_free(ssl);
    close(fd);
    return ok;
}

/* irtc_media_dwell_seconds_bucket{worker="0",le="2.56e-07"} 12 */
static void parse_metrics(const char *text, probe_snap_t *s)
{
    uint64_t prev = 0; /* the dwell buckets come in order per worker and are cumulative */
    unsigned k = 0;
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (*p == '#')
            continue;
        const char *sp = strchr(p, ' ');
        if (sp == NULL)
            break;
        uint64_t v = (uint64_t)strtod(sp + 1, NULL);
        if (strncmp(p, "irtc_media_tx_packets_total{", 28) == 0)
            s->tx_packets += v;
        else if (strncmp(p, "irtc_media_rx_packets_total{", 28) == 0)
            s->rx_packets += v;
        else if (strncmp(p, "irtc_media_tx_errors_total{", 27) == 0)
            s->tx_errors += v;
        else if (strncmp(p, "irtc_media_dwell_seconds_bucket{", 32) == 0) {
            const char *le = strstr(p, "le=\"");
            if (le == NULL || le > sp)
                continue;
            double bound = strncmp(le + 4, "+Inf", 4) == 0 ? -1 : strtod(le + 4, NULL);
            if (bound >= 0 && bound * 1e9 <= 256.5)
                k = 0, prev = 0;
            if (k < DWELL_BUCKETS)
                s->dwell[k++] += v - prev;
            prev = v;
        }
    }
}

bool probe_take(pid_t pid, const char *host, unsigned port, probe_snap_t *s)
{
    memset(s, 0, sizeof(*s));
    s->at_us = clock_mono_us();
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && s->n_threads < PROBE_MAX_THREADS) {
        int tid = atoi(e->d_name);
        if (tid > 0)
            read_thread(pid, tid, &s->th[s->n_threads++]);
    }
    closedir(d);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (read_file(path, buf, sizeof(buf))) {
        const char *r = strstr(buf, "VmRSS:");
        if (r != NULL)
            s->rss_kb = strtoull(r + 6, NULL, 10);
    }
    probe_udp_errors(pid, &s->udp_rcvbuf_errors, &s->udp_sndbuf_errors);
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    if ((d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                s->fds++;
        closedir(d);
    }
    if (port != 0) {
        buf_t b;
        buf_init(&b);
        if (https_get(host, port, "/metrics", &b)) {
            s->have_metrics = true;
            parse_metrics(b.base, s);
        }
        buf_dispose(&b);
    }
    return true;
}

probe_cpu_t probe_cpu(const probe_snap_t *a, const probe_snap_t *b, const char *prefix)
{
    probe_cpu_t c = {0};
    double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
    size_t pl = strlen(prefix);
    for (int i = 0; i < b->n_threads; i++) {
        const probe_thread_t *tb = &b->th[i];
        if (strncmp(tb->name, prefix, pl) != 0)
            continue;
        const probe_thread_t *ta = NULL;
        for (int j = 0; j < a->n_threads; j++)
            if (a->th[j].tid == tb->tid)
                ta = &a->th[j];
        c.threads++;
        c.cpu_s += (double)(tb->run_ns - (ta ? ta->run_ns : 0)) / 1e9;
        c.user_s += (double)(tb->user_ticks - (ta ? ta->user_ticks : 0)) * tick;
        c.sys_s += (double)(tb->sys_ticks - (ta ? ta->sys_ticks : 0)) * tick;
        c.wait_s += (double)(tb->wait_ns - (ta ? ta->wait_ns : 0)) / 1e9;
    }
    return c;
}

double probe_dwell_us(const probe_snap_t *a, const probe_snap_t *b, double q, uint64_t *samples)
{
    uint64_t d[DWELL_BUCKETS], total = 0;
    for (unsigned k = 0; k < DWELL_BUCKETS; k++) {
        d[k] = b->dwell[k] >= a->dwell[k] ? b->dwell[k] - a->dwell[k] : 0;
        total += d[k];
    }
    if (samples != NULL)
        *samples = total;
    if (total == 0)
        return -1;
    double want = q * (double)total, cum = 0;
    for (unsigned k = 0; k < DWELL_BUCKETS; k++) {
        if (cum + (double)d[k] >= want && d[k] > 0) {
            double lo = k ? (double)dwell_bucket_le_ns(k - 1) : 0, hi = (double)dwell_bucket_le_ns(k);
            return (lo + (hi - lo) * (want - cum) / (double)d[k]) / 1000.0;
        }
        cum += (double)d[k];
    }
    return (double)dwell_bucket_le_ns(DWELL_BUCKETS - 1) / 1000.0;
}

void probe_udp_errors(pid_t pid, uint64_t *rcvbuf, uint64_t *sndbuf)
{
    char path[64], buf[4096];
    *rcvbuf = *sndbuf = 0;
    snprintf(path, sizeof(path), pid ? "/proc/%d/net/snmp" : "/proc/self/net/snmp", (int)pid);
    if (!read_file(path, buf, sizeof(buf)))
        return;
    /* "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors ..." then the values. */
    const char *h = strstr(buf, "\nUdp: ");
    const char *v = h ? strstr(h + 1, "\nUdp: ") : NULL;
    unsigned long long x[6];
    if (v != NULL && sscanf(v + 6, "%llu %llu %llu %llu %llu %llu", &x[0], &x[1], &x[2], &x[3], &x[4], &x[5]) == 6) {
        *rcvbuf = x[4];
        *sndbuf = x[5];
    }
}

void probe_affinity(pid_t pid, char *out, size_t cap)
{
    cpu_set_t set;
    out[0] = 0;
    if (sched_getaffinity(pid, sizeof(set), &set) != 0) {
        snprintf(out, cap, "?");
        return;
    }
    size_t len = 0;
    for (int i = 0; i < CPU_SETSIZE && len + 8 < cap; i++)
        if (CPU_ISSET(i, &set))
            len += (size_t)snprintf(out + len, cap - len, "%s%d", len ? "," : "", i);
}
