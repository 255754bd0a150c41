/*
 * probe.h — what irtc-loadgen reads about the server under test: CPU time
 * of each thread (/proc/PID/task/TID/schedstat for the total, stat for the
 * user/system split), RSS and open descriptors, and irtcd's /metrics
 * (datagrams sent and received by the media workers, the dwell-time
 * histogram).  Janus has no /metrics: only the /proc part applies to it.
 *
 * Blocking calls, made between measurement windows, never inside one.
 */
#ifndef IRTC_LOADGEN_PROBE_H
#define IRTC_LOADGEN_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "media/dwell.h"

#define PROBE_MAX_THREADS 64

typedef struct {
    int tid;
    char name[32];
    uint64_t run_ns;                /* schedstat: time on a CPU */
    uint64_t wait_ns;               /* schedstat: time runnable but waiting for a CPU */
    uint64_t user_ticks, sys_ticks; /* stat: clock ticks */
} probe_thread_t;

typedef struct {
    uint64_t at_us;
    int n_threads;
    probe_thread_t th[PROBE_MAX_THREADS];
    uint64_t rss_kb;
    int fds;
    /* the process's network namespace (/proc/PID/net/snmp): datagrams the
     * kernel dropped because a socket's receive or send buffer was full */
    uint64_t udp_rcvbuf_errors, udp_sndbuf_errors;
    /* irtcd /metrics, summed over workers (0 when not available) */
    bool have_metrics;
    uint64_t tx_packets, rx_packets, tx_errors;
    uint64_t dwell[DWELL_BUCKETS];
} probe_snap_t;

/* Fills *s for process pid; metrics from https://host:port/metrics when
 * port != 0.  false if the process is gone. */
bool probe_take(pid_t pid, const char *host, unsigned port, probe_snap_t *s);

/* CPU of the threads whose name starts with prefix between two snapshots:
 * seconds on CPU, and the user / system share from the tick counters. */
typedef struct {
    double cpu_s, user_s, sys_s;
    double wait_s; /* runnable, waiting for a CPU: another process had it */
    int threads;
} probe_cpu_t;
probe_cpu_t probe_cpu(const probe_snap_t *a, const probe_snap_t *b, const char *prefix);

/* Percentile (0..1) of the dwell histogram delta b - a, in µs (bucket upper
 * bound, linear inside the bucket); -1 without samples. */
double probe_dwell_us(const probe_snap_t *a, const probe_snap_t *b, double q, uint64_t *samples);

/* UDP buffer drops in the namespace of pid (0: this process's). */
void probe_udp_errors(pid_t pid, uint64_t *rcvbuf, uint64_t *sndbuf);

/* The CPUs pid may run on, as "0" or "0-1" (sched_getaffinity). */
void probe_affinity(pid_t pid, char *out, size_t cap);

#endif
