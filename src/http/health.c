/*
 * health.c — GET /healthz (is every thread answering?) and GET /metrics.
 * Control thread.  Worker liveness comes from the pool's ping/pong (a worker
 * that has not answered within 1 s is down); the store is probed with a read.
 */
#include "http/health.h"
#include "config.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/json.h"
#include "core/metrics.h"
#include "http/server.h"
#include "media/worker.h"
#include "store/store.h"

#include <stdio.h>

#define HEALTH_MAX_AGE_MS 1000

static int on_healthz(void *ctx, h2o_req_t *req)
{
    const health_env_t *env = ctx;
    buf_t parts, out;
    buf_init(&parts);
    buf_init(&out);
    bool store_ok = store_schema_version(env->store) >= 0;
    bool ok = store_ok;
    buf_printf(&parts, "\"control\":{\"status\":\"ok\"},\"store\":{\"status\":\"%s\"}", store_ok ? "ok" : "down");
    unsigned n = worker_pool_size(env->workers);
    for (unsigned i = 0; i < n; i++) {
        uint64_t age = worker_pong_age_ms(env->workers, i);
        bool wok = age <= HEALTH_MAX_AGE_MS;
        ok = ok && wok;
        buf_printf(&parts, ",\"media-%u\":{\"status\":\"%s\",\"port\":%u,\"pongAgeMs\":%lld}", i, wok ? "ok" : "down",
                   worker_port(worker_pool_get(env->workers, i)), age == UINT64_MAX ? -1LL : (long long)age);
    }
    buf_printf(&out, "{\"status\":\"%s\",\"version\":\"%s\",\"uptimeSeconds\":%llu,\"parts\":{%s}}", ok ? "ok" : "down",
               PACKAGE_VERSION, (unsigned long long)((clock_mono_ms() - env->started_ms) / 1000), parts.base);
    http_send_json(req, ok ? 200 : 503, &out);
    buf_dispose(&out);
    buf_dispose(&parts);
    return 0;
}

static int on_metrics(void *ctx, h2o_req_t *req)
{
    buf_t b;
    buf_init(&b);
    metrics_render(&b);
    http_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.base, b.len);
    buf_dispose(&b);
    return 0;
}

/* One sample per worker of the value at offset in worker_stats_t, labelled worker="i". */
static void sample_each(buf_t *out, const health_env_t *env, const char *metric, const char *type, const char *help,
                        size_t offset)
{
    metrics_header(out, metric, type, help);
    unsigned n = worker_pool_size(env->workers);
    for (unsigned i = 0; i < n; i++) {
        const char *st = (const char *)worker_stats(worker_pool_get(env->workers, i));
        char labels[32];
        snprintf(labels, sizeof(labels), "worker=\"%u\"", i);
        metrics_sample(out, metric, labels,
                       (double)atomic_load_explicit((const _Atomic uint64_t *)(st + offset), memory_order_relaxed));
    }
}

/* One sample per worker and name of a per-worker counter array at offset
 * in worker_stats_t, labelled worker="i",label="names[k]". */
static void sample_array(buf_t *out, const health_env_t *env, const char *metric, const char *label,
                         const char *const *names, size_t n_names, size_t offset)
{
    unsigned n = worker_pool_size(env->workers);
    for (unsigned i = 0; i < n; i++) {
        const char *st = (const char *)worker_stats(worker_pool_get(env->workers, i));
        const _Atomic uint64_t *v = (const _Atomic uint64_t *)(st + offset);
        for (size_t k = 0; k < n_names; k++) {
            char labels[64];
            snprintf(labels, sizeof(labels), "worker=\"%u\",%s=\"%s\"", i, label, names[k]);
            metrics_sample(out, metric, labels, (double)atomic_load_explicit(&v[k], memory_order_relaxed));
        }
    }
}

static void collect_workers(buf_t *out, void *ctx)
{
    const health_env_t *env = ctx;
    static const struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"irtc_media_rx_packets_total", "UDP datagrams and ICE-TCP frames received by media workers.",
         offsetof(worker_stats_t, rx_packets)},
        {"irtc_media_rx_bytes_total", "UDP and ICE-TCP payload bytes received by media workers.", offsetof(worker_stats_t, rx_bytes)},
        {"irtc_media_tx_packets_total", "UDP datagrams sent by media workers.", offsetof(worker_stats_t, tx_packets)},
        {"irtc_media_tx_bytes_total", "UDP bytes sent by media workers.", offsetof(worker_stats_t, tx_bytes)},
        {"irtc_media_drop_unknown_source_total", "Datagrams dropped: no transport for the source address.",
         offsetof(worker_stats_t, engine.drop_unknown_source)},
        {"irtc_media_drop_malformed_total", "Datagrams dropped: malformed.",
         offsetof(worker_stats_t, engine.drop_malformed)},
        {"irtc_media_drop_stun_auth_total", "STUN checks answered 401: a known ufrag with a bad MESSAGE-INTEGRITY.",
         offsetof(worker_stats_t, engine.drop_stun_auth)},
        {"irtc_media_drop_stun_unknown_total", "STUN checks for a ufrag no transport has (not answered).",
         offsetof(worker_stats_t, engine.drop_stun_unknown)},
        {"irtc_media_drop_unknown_ssrc_total",
         "Authenticated RTP/RTCP of an SSRC no producer has, or over the per-transport cap.",
         offsetof(worker_stats_t, engine.drop_unknown_ssrc)},
        {"irtc_media_nack_received_total", "Sequence numbers subscribers asked to be resent.",
         offsetof(worker_stats_t, engine.nack_received)},
        {"irtc_media_rtx_sent_total", "Retransmissions sent to subscribers.",
         offsetof(worker_stats_t, engine.rtx_sent)},
        {"irtc_media_nack_gone_total",
         "NACKed packets sent to a subscriber but no longer held (a keyframe is asked for instead).",
         offsetof(worker_stats_t, engine.nack_gone)},
        {"irtc_media_keyframe_requests_total", "Keyframe requests (PLI) sent to publishers.",
         offsetof(worker_stats_t, engine.keyframe_requests)},
        {"irtc_media_layer_switches_total", "Simulcast encoding switches made by consumers.",
         offsetof(worker_stats_t, engine.layer_switches)},
        {"irtc_media_drop_srtp_total", "SRTP/SRTCP packets dropped: authentication failure or replay.",
         offsetof(worker_stats_t, engine.drop_srtp)},
        {"irtc_media_drop_dtls_total", "DTLS datagrams that failed.", offsetof(worker_stats_t, engine.drop_dtls)},
        {"irtc_media_tx_errors_total", "Datagrams not sent: socket buffer full.", offsetof(worker_stats_t, tx_errors)},
        {"irtc_media_tx_syscalls_total", "sendmmsg calls (each sends a flush's datagrams).",
         offsetof(worker_stats_t, tx_calls)},
        {"irtc_media_tx_gso_segments_total", "Datagrams sent inside UDP GSO messages (one per destination run).",
         offsetof(worker_stats_t, tx_gso_segments)},
        {"irtc_media_tx_gso_fallbacks_total",
         "Times the kernel refused UDP GSO (EIO/EINVAL): the worker resent without it and stopped using it.",
         offsetof(worker_stats_t, tx_gso_fallbacks)},
        {"irtc_media_dtls_handshake_failures_total",
         "Transports whose DTLS handshake failed or never finished after ICE connected.",
         offsetof(worker_stats_t, engine.dtls_handshake_failures)},
        {"irtc_media_data_messages_received_total", "Data channel messages received from clients.",
         offsetof(worker_stats_t, engine.data_in)},
        {"irtc_media_data_messages_sent_total", "Data channel messages sent to clients.",
         offsetof(worker_stats_t, engine.data_out)},
        {"irtc_media_data_drop_buffer_total", "Data channel messages refused: the client's SCTP send buffer was full.",
         offsetof(worker_stats_t, engine.data_drop_buffer)},
        {"irtc_media_data_drop_too_big_total",
         "Data channel messages refused: over the receiver's or our max-message-size.",
         offsetof(worker_stats_t, engine.data_drop_too_big)},
        {"irtc_media_data_drop_backlog_total", "Data channel messages dropped: the worker's relay backlog was full.",
         offsetof(worker_stats_t, engine.data_drop_backlog)},
        {"irtc_media_data_drop_packets_total", "SCTP packets dropped before DTLS (queue for the worker full).",
         offsetof(worker_stats_t, engine.data_drop_packets)},
        {"irtc_media_data_malformed_total", "Bad DCEP messages, PPIDs or SCTP on a connection without data channels.",
         offsetof(worker_stats_t, engine.data_malformed)},
        {"irtc_media_pipe_rx_total",
         "Packets and sender reports this worker took from pipes (a room spanning workers: its room's worker sent "
         "them).",
         offsetof(worker_stats_t, engine.pipe_rx)},
        {"irtc_media_pipe_dropped_total", "Packets this worker could not pipe to another worker (its ring was full).",
         offsetof(worker_stats_t, engine.pipe_dropped)},
        {"irtc_media_tcp_accepted_total", "ICE-TCP connections accepted.", offsetof(worker_stats_t, tcp.accepted)},
        {"irtc_media_tcp_refused_total",
         "ICE-TCP connections refused at once: limits.max_connections_per_source or the worker's cap.",
         offsetof(worker_stats_t, tcp.refused)},
        {"irtc_media_tcp_rx_frames_total", "RFC 4571 frames received on ICE-TCP connections.",
         offsetof(worker_stats_t, tcp.rx_frames)},
        {"irtc_media_tcp_tx_frames_total", "RFC 4571 frames queued to ICE-TCP connections.",
         offsetof(worker_stats_t, tcp.tx_frames)},
        {"irtc_media_tcp_tx_dropped_total",
         "Frames dropped from ICE-TCP send queues (oldest first) because the client read too slowly.",
         offsetof(worker_stats_t, tcp.tx_dropped)},
    };
    static const char *const states[] = {"new", "dtls", "connected", "failed", "closed"};
    static const char *const tcp_closed[ICE_TCP_CLOSED_REASONS] = {
        [ICE_TCP_CLOSED_UNVERIFIED] = "unverified",
        [ICE_TCP_CLOSED_IDLE] = "idle",
        [ICE_TCP_CLOSED_BAD_FRAME] = "bad_frame",
        [ICE_TCP_CLOSED_PEER] = "peer",
    };
    unsigned n = worker_pool_size(env->workers);
    for (size_t c = 0; c < IRTC_ARRAY_SIZE(counters); c++)
        sample_each(out, env, counters[c].name, "counter", counters[c].help, counters[c].offset);
    metrics_header(out, "irtc_media_transports", "gauge",
                   "Client transports by state (new: waiting for ICE, dtls: handshaking, connected, failed and "
                   "closed: not yet removed).");
    sample_array(out, env, "irtc_media_transports", "state", states, IRTC_ARRAY_SIZE(states),
                 offsetof(worker_stats_t, engine.transports));
    metrics_header(out, "irtc_media_tcp_closed_total", "counter",
                   "ICE-TCP connections closed, by reason (unverified: no valid STUN check within 5 s; idle: "
                   "silent 30 s; bad_frame: a length prefix over the largest packet; peer: closed or reset).");
    sample_array(out, env, "irtc_media_tcp_closed_total", "reason", tcp_closed, IRTC_ARRAY_SIZE(tcp_closed),
                 offsetof(worker_stats_t, tcp.closed));
    sample_each(out, env, "irtc_media_tcp_connections", "gauge", "ICE-TCP connections open.",
                offsetof(worker_stats_t, tcp.open));
    sample_each(out, env, "irtc_media_pipes_out", "gauge",
                "Pipes this worker feeds: a track of its room copied to another worker's subscribers.",
                offsetof(worker_stats_t, engine.pipes_out));
    sample_each(out, env, "irtc_media_pipes_in", "gauge",
                "Pipe producers on this worker: a track of another worker's room fed to subscribers here.",
                offsetof(worker_stats_t, engine.pipes_in));
    /* Sampled dwell time (media/dwell.h) as a Prometheus histogram. */
    metrics_header(out, "irtc_media_dwell_seconds", "histogram",
                   "Sampled time from a datagram's kernel receive timestamp to the sendmmsg of its last copy.");
    for (unsigned i = 0; i < n; i++) {
        const worker_stats_t *st = worker_stats(worker_pool_get(env->workers, i));
        uint64_t cum = 0;
        char labels[64];
        for (unsigned k = 0; k < DWELL_BUCKETS; k++) {
            cum += atomic_load_explicit(&st->dwell_hist[k], memory_order_relaxed);
            if (k == DWELL_BUCKETS - 1)
                snprintf(labels, sizeof(labels), "worker=\"%u\",le=\"+Inf\"", i);
            else
                snprintf(labels, sizeof(labels), "worker=\"%u\",le=\"%.9g\"", i, dwell_bucket_le_ns(k) / 1e9);
            metrics_sample(out, "irtc_media_dwell_seconds_bucket", labels, (double)cum);
        }
        snprintf(labels, sizeof(labels), "worker=\"%u\"", i);
        metrics_sample(out, "irtc_media_dwell_seconds_sum", labels,
                       (double)atomic_load_explicit(&st->dwell_sum_ns, memory_order_relaxed) / 1e9);
        metrics_sample(out, "irtc_media_dwell_seconds_count", labels, (double)cum);
    }
    metrics_header(out, "irtc_media_workers", "gauge", "Media worker threads.");
    metrics_sample(out, "irtc_media_workers", NULL, n);
}

void health_register(struct http_server *http, const health_env_t *env)
{
    /* h2o and the collector hand their data back as void *; both only read it. */
    void *data = (void *)env;
    http_server_route(http, "/healthz", false, HTTP_METHOD_GET | HTTP_METHOD_HEAD, "healthz", on_healthz, data);
    http_server_route(http, "/metrics", false, HTTP_METHOD_GET | HTTP_METHOD_HEAD, "metrics", on_metrics, data);
    metrics_register_collector(collect_workers, data);
}
