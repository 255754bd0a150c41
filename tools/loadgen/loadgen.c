/*
 * loadgen.c — irtc-loadgen: drives a running irtcd (or Janus, janus.c) with
 * thousands of C clients (src/client) on one epoll loop and prints what one
 * media worker core carries.  Scenarios (docs/BENCHMARKS.md):
 *   live     one 720p publisher → N subscribers, N stepped up
 *   meeting  rooms of 8 publishers, each subscribing to the 7 others
 *   audio    audio-only rooms of 8
 *   storm    joins at a fixed rate into rooms with a running publisher:
 *            time to first packet, server CPU, effect on running rooms
 *   churn    joins and leaves at a steady rate: RSS and fd counts over time
 * Each step prints subscribers, forwarded packets/s, CPU per media worker
 * thread (/proc/PID/task), µs per forwarded packet, loss seen by the
 * receivers, dwell p50/p99 (/metrics) and the capacity figure (the last
 * step under 0.5 % loss).
 *
 * One thread; the server's numbers are read between windows (probe.c).
 * Bounded: every step has a time limit and the whole run a client limit.
 * Traffic goes only to the address given (loopback or a namespace).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "client/client.h"
#include "sfu/sfu.h"
#include "core/clock.h"
#include "core/common.h"
#include "janus.h"
#include "loadgen.h"
#include "probe.h"
#include "apps/jointoken.h"

#define MAX_USERS 6000
#define LOSS_LIMIT 0.005
/* A subscriber that received less than this fraction of the best-served
 * one's packets in a window was not served the stream (its video paused or
 * thinned by the server's congestion control): forwarded packets per second
 * only count as capacity when every subscriber got what the others got. */
#define LG_SHORT_FRACTION 0.9

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    g_stop = 1;
}

/* ---- users ---- */

static void u_joined(void *ud, ic_client_t *c, int err, const char *msg)
{
    lg_user_t *u = ud;
    if (err != 0) {
        u->failed = true;
        u->lg->join_failures++;
        if (u->lg->join_failures <= 3)
            fprintf(stderr, "loadgen: %s: join refused: %d %s\n", u->user_id, err, msg ? msg : "");
        return;
    }
    u->joined = true;
    u->joined_us = ic_loop_now_us(u->lg->loop);
    if (u->publish) {
        ic_publish_opts_t o = u->lg->pub_opts;
        o.video = o.video && !u->lg->audio_only;
        ic_client_publish(c, &o);
    }
}

static void u_stream_added(void *ud, ic_client_t *c, const ic_stream_t *s)
{
    lg_user_t *u = ud;
    if (u->subscribe && u->n_subs < LG_MAX_SUBS) {
        if (ic_client_subscribe(c, s->stream_id, true, !u->lg->audio_only) == IRTC_OK)
            u->n_subs++;
    }
}

static void u_published(void *ud, ic_client_t *c, const char *id, int err, const char *msg)
{
    lg_user_t *u = ud;
    if (err == 0)
        u->published = true;
    else {
        u->failed = true;
        fprintf(stderr, "loadgen: %s: publish failed: %d %s\n", u->user_id, err, msg ? msg : "");
    }
}

static void u_subscribed(void *ud, ic_client_t *c, const char *id, int err, const char *msg)
{
    lg_user_t *u = ud;
    if (err == 0) {
        u->subs_up++;
        if (u->sub_up_us == 0)
            u->sub_up_us = ic_loop_now_us(u->lg->loop);
    } else {
        u->lg->sub_failures++;
        if (u->lg->sub_failures <= 3)
            fprintf(stderr, "loadgen: %s: subscription to %s failed: %d %s\n", u->user_id, id, err, msg ? msg : "");
    }
}

static void u_first_media(void *ud, ic_client_t *c, const char *id)
{
    lg_user_t *u = ud;
    if (u->first_media_us == 0)
        u->first_media_us = ic_loop_now_us(u->lg->loop);
}

static void u_left(void *ud, ic_client_t *c, int reason, const char *msg)
{
    lg_user_t *u = ud;
    u->left = true;
    if (!u->leaving) {
        u->lg->unexpected_leaves++;
        if (u->lg->unexpected_leaves <= 3)
            fprintf(stderr, "loadgen: %s removed by the server: reason %d %s\n", u->user_id, reason, msg ? msg : "");
    }
}

static const ic_callbacks_t user_cbs = {u_joined,     u_stream_added, NULL,  u_published,
                                        u_subscribed, u_first_media,  u_left};

static char *make_token(lg_t *lg, const char *channel, const char *user)
{
    jt_payload_t p;
    memset(&p, 0, sizeof(p));
    snprintf(p.user_id, sizeof(p.user_id), "%s", user);
    snprintf(p.channel_id, sizeof(p.channel_id), "%s", channel);
    snprintf(p.app_id, sizeof(p.app_id), "%s", lg->app_id);
    snprintf(p.host, sizeof(p.host), "%s", lg->host);
    /* The room's media endpoint, as getMediaEndpoint answers it (the server checks). */
    snprintf(p.port, sizeof(p.port), "%u",
             lg->media_port + sfu_worker_for_channel(lg->app_id, channel, lg->media_workers ? lg->media_workers : 1));
    snprintf(p.role, sizeof(p.role), "1");
    snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", lg->tenant);
    p.timestamp_ms = (int64_t)clock_wall_ms();
    char *t = NULL;
    jt_make(&p, lg->access_key, &t);
    return t;
}

lg_user_t *lg_add_user(lg_t *lg, int room, bool publish, bool subscribe)
{
    if (lg->n_users == MAX_USERS)
        return NULL;
    lg_user_t *u = xcalloc(1, sizeof(*u));
    u->lg = lg;
    u->room = room;
    u->publish = publish;
    u->subscribe = subscribe;
    snprintf(u->user_id, sizeof(u->user_id), "u%d", lg->next_user_no++);
    snprintf(u->channel, sizeof(u->channel), "%s-%d", lg->scenario, room);
    lg->users[lg->n_users++] = u;
    if (lg->janus != NULL) {
        janus_user_start(lg->janus, u);
        return u;
    }
    ic_config_t cfg = {.host = lg->host, .port = (uint16_t)lg->https_port, .srtp_verify_every = lg->verify_every};
    u->c = ic_client_new(lg->loop, &cfg, &user_cbs, u);
    char *t = make_token(lg, u->channel, u->user_id);
    u->join_sent_us = ic_loop_now_us(lg->loop);
    if (t == NULL || ic_client_join(u->c, lg->app_id, u->channel, u->user_id, t, 1) != IRTC_OK)
        u->failed = true;
    free(t);
    return u;
}

void lg_remove_user(lg_t *lg, lg_user_t *u)
{
    for (int i = 0; i < lg->n_users; i++) {
        if (lg->users[i] == u) {
            lg->users[i] = lg->users[--lg->n_users];
            break;
        }
    }
    if (u->c != NULL) {
        ic_recv_stats_t rx;
        ic_client_recv_stats(u->c, &rx);
        lg->rx_gone.packets += rx.packets;
        lg->rx_gone.lost += rx.lost;
        u->leaving = true;
        ic_client_leave(u->c);
        ic_client_free(u->c);
    }
    if (lg->janus != NULL)
        janus_user_stop(lg->janus, u);
    free(u);
}

void lg_run_ms(lg_t *lg, unsigned ms)
{
    uint64_t end = clock_mono_us() + (uint64_t)ms * 1000;
    while (!g_stop && clock_mono_us() < end) {
        ic_loop_run(lg->loop, 5);
        if (lg->janus != NULL)
            janus_poll(lg->janus);
    }
}

/* Waits (bounded) until every user is set up: joined, published, and its
 * subscriptions connected and receiving. */
static bool users_ready(lg_t *lg, int *pending)
{
    int n = 0;
    for (int i = 0; i < lg->n_users; i++) {
        lg_user_t *u = lg->users[i];
        if (u->failed)
            continue;
        bool ready = u->joined && (!u->publish || u->published) && u->subs_up >= u->subs_expected;
        if (!ready)
            n++;
    }
    *pending = n;
    return n == 0;
}

int lg_wait_ready(lg_t *lg, unsigned max_ms)
{
    uint64_t end = clock_mono_us() + (uint64_t)max_ms * 1000;
    int pending = 0;
    while (!g_stop && !users_ready(lg, &pending) && clock_mono_us() < end)
        lg_run_ms(lg, 50);
    return pending;
}

/* ---- measuring ---- */

static void sum_rx(lg_t *lg, ic_recv_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->packets = lg->rx_gone.packets;
    out->lost = lg->rx_gone.lost;
    for (int i = 0; i < lg->n_users; i++) {
        lg_user_t *u = lg->users[i];
        ic_recv_stats_t rx;
        if (u->c != NULL)
            ic_client_recv_stats(u->c, &rx);
        else if (lg->janus != NULL)
            janus_user_stats(lg->janus, u, &rx);
        else
            continue;
        u->rx_window = rx.packets - u->rx_at_mark;
        u->rx_at_mark = rx.packets;
        out->packets += rx.packets;
        out->bytes += rx.bytes;
        out->lost += rx.lost;
        out->srtp_failed += rx.srtp_failed;
        out->srtp_gcm += rx.srtp_gcm;
        out->srtp_cm += rx.srtp_cm;
        if (rx.jitter_ms > out->jitter_ms)
            out->jitter_ms = rx.jitter_ms;
    }
}

void lg_mark(lg_t *lg, lg_mark_t *m)
{
    struct rusage ru;
    probe_take(lg->server_pid, lg->host, lg->janus ? 0 : lg->https_port, &m->srv);
    sum_rx(lg, &m->rx);
    uint64_t snd;
    probe_udp_errors(0, &m->self_rcvbuf_errors, &snd);
    getrusage(RUSAGE_SELF, &ru);
    m->self_cpu_s =
        (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    m->at_us = clock_mono_us();
}

void lg_header(lg_t *lg)
{
    static const char *const top[] = {"step",    "subs",    "fwd pkt/s", "rcv pkt/s", "worker%", "user%",
                                      "sys%",    "wait%",   "us/pkt",    "proc%",     "us/pkt",  "loss%",
                                      "short",   "dwell50", "dwell99", "lg%",       "drops"};
    static const char *const sub[] = {"",       "",       "",     "",     "(media",    "worker", "threads)",  "(preempt)",
                                      "worker", "(all",   "all)", "",     "(<90%)",    "(us)",   "(us)",      "(loadgen)",
                                      "srv/lg"};
    for (int row = 0; row < 2; row++) {
        const char *const *h = row ? sub : top;
        printf("%-10s %6s %9s %9s %7s %6s %6s %6s %7s %6s %7s %7s %6s %8s %8s %6s %s\n", h[0], h[1], h[2], h[3], h[4],
               h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15], h[16]);
    }
}

/* Subscribers whose last window (sum_rx) holds < LG_SHORT_FRACTION of the
 * best-served subscriber's packets. */
static int count_short(const lg_t *lg)
{
    uint64_t best = 0;
    for (int i = 0; i < lg->n_users; i++)
        if (lg->users[i]->subscribe && lg->users[i]->rx_window > best)
            best = lg->users[i]->rx_window;
    int n = 0;
    for (int i = 0; i < lg->n_users; i++) {
        const lg_user_t *u = lg->users[i];
        if (u->subscribe && !u->left && !u->failed && (double)u->rx_window < LG_SHORT_FRACTION * (double)best)
            n++;
    }
    return n;
}

lg_row_t lg_row(lg_t *lg, const char *label, int subs, const lg_mark_t *a, const lg_mark_t *b)
{
    lg_row_t r;
    memset(&r, 0, sizeof(r));
    double secs = (double)(b->at_us - a->at_us) / 1e6;
    probe_cpu_t cpu = probe_cpu(&a->srv, &b->srv, lg->worker_prefix);
    r.subs = subs;
    r.rcv_pps = (double)(b->rx.packets - a->rx.packets) / secs;
    uint64_t lost = b->rx.lost > a->rx.lost ? b->rx.lost - a->rx.lost : 0;
    uint64_t got = b->rx.packets - a->rx.packets;
    /* Nothing received at all (the publisher's transport failed) is total loss, not none. */
    r.loss = got + lost ? (double)lost / (double)(got + lost) : subs > 0 ? 1 : 0;
    /* Both scrapes must have answered: one that failed reads as 0 and
     * would turn the difference into nonsense (seen once: 1.8e18 pkt/s). */
    if (a->srv.have_metrics && b->srv.have_metrics && b->srv.tx_packets >= a->srv.tx_packets)
        r.fwd_pps = (double)(b->srv.tx_packets - a->srv.tx_packets) / secs;
    else
        r.fwd_pps = r.rcv_pps; /* Janus: what the receivers got is what it forwarded */
    r.worker_pct = cpu.cpu_s / secs * 100;
    r.user_pct = cpu.user_s / secs * 100;
    r.sys_pct = cpu.sys_s / secs * 100;
    r.us_per_pkt = r.fwd_pps > 0 ? cpu.cpu_s * 1e6 / (r.fwd_pps * secs) : 0;
    r.dwell50 = probe_dwell_us(&a->srv, &b->srv, 0.50, NULL);
    r.dwell99 = probe_dwell_us(&a->srv, &b->srv, 0.99, NULL);
    r.lg_pct = (b->self_cpu_s - a->self_cpu_s) / secs * 100;
    probe_cpu_t all = probe_cpu(&a->srv, &b->srv, "");
    r.proc_pct = all.cpu_s / secs * 100;
    r.wait_pct = cpu.wait_s / secs * 100;
    r.srv_drops =
        (b->srv.udp_rcvbuf_errors - a->srv.udp_rcvbuf_errors) + (b->srv.udp_sndbuf_errors - a->srv.udp_sndbuf_errors);
    r.lg_drops = b->self_rcvbuf_errors - a->self_rcvbuf_errors;
    r.us_per_pkt_proc = r.fwd_pps > 0 ? all.cpu_s * 1e6 / (r.fwd_pps * secs) : 0;
    r.shortchanged = count_short(lg);
    char d50[16] = "-", d99[16] = "-";
    if (r.dwell50 >= 0)
        snprintf(d50, sizeof(d50), "%.0f", r.dwell50);
    if (r.dwell99 >= 0)
        snprintf(d99, sizeof(d99), "%.0f", r.dwell99);
    printf("%-10s %6d %9.0f %9.0f %7.1f %6.1f %6.1f %6.1f %7.2f %6.1f %7.2f %7.3f %6d %8s %8s %6.1f %llu/%llu%s\n",
           label, subs, r.fwd_pps, r.rcv_pps, r.worker_pct, r.user_pct, r.sys_pct, r.wait_pct, r.us_per_pkt, r.proc_pct,
           r.us_per_pkt_proc, r.loss * 100, r.shortchanged, d50, d99, r.lg_pct, (unsigned long long)r.srv_drops,
           (unsigned long long)r.lg_drops,
           r.lg_pct > 90 ? "  (load generator saturated: figures are a lower bound)" : "");
    fflush(stdout);
    return r;
}

/* ---- scenarios ---- */

static int parse_steps(const char *s, int *out, int cap)
{
    int n = 0;
    while (s && *s && n < cap) {
        out[n++] = atoi(s);
        s = strchr(s, ',');
        if (s)
            s++;
    }
    return n;
}

/* The measured capacity (last step under 0.5 % loss), and what the CPU time
 * of the largest step projects for a whole core: on a machine whose cores
 * are shared, loss can come from the server being preempted long before its
 * own CPU runs out, and the projection says how far apart the two are. */
static void capacity_line(lg_t *lg, const char *what, int last_ok, double pps_ok, double us_ok, const lg_row_t *big)
{
    if (last_ok > 0)
        printf("capacity (%s): %d subscribers per media worker core under %.1f %% loss (%.0f forwarded pkt/s, "
               "%.2f us per packet)\n",
               what, last_ok, LOSS_LIMIT * 100, pps_ok, us_ok);
    else
        printf("capacity (%s): no step stayed under %.1f %% loss\n", what, LOSS_LIMIT * 100);
    if (big != NULL && big->us_per_pkt > 0 && big->subs > 0 && big->fwd_pps > 0) {
        double per_core = 1e6 / big->us_per_pkt, per_sub = big->fwd_pps / big->subs;
        printf("projection (%s): at %.2f us of worker CPU per forwarded packet (step of %d), one core forwards "
               "%.0f pkt/s = %.0f subscribers\n",
               what, big->us_per_pkt, big->subs, per_core, per_core / per_sub);
    }
}

/* One step's measurement: settle, the window, its row; false when the step
 * failed — loss over 0.5 %, more than 0.5 % of the subscribers short of the
 * stream, or viewers not served (loss among those set up says nothing when
 * others never connected or were dropped). */
static bool measure_step(lg_t *lg, const char *label, int subs, int pending, int leaves_before, lg_row_t *r)
{
    lg_run_ms(lg, lg->settle_ms);
    lg_mark_t a, b;
    lg_mark(lg, &a);
    lg_run_ms(lg, lg->window_ms);
    lg_mark(lg, &b);
    *r = lg_row(lg, label, subs, &a, &b);
    lg_record(lg, r);
    if (r->loss > LOSS_LIMIT)
        return false;
    if ((double)r->shortchanged > LOSS_LIMIT * subs) {
        printf("# step failed: %d of %d subscribers got under %.0f %% of what the best-served one got\n",
               r->shortchanged, subs, LG_SHORT_FRACTION * 100);
        return false;
    }
    if (pending > 0 || lg->unexpected_leaves > leaves_before) {
        printf("# step failed: %d not set up, %d removed by the server\n", pending,
               lg->unexpected_leaves - leaves_before);
        return false;
    }
    return true;
}

/* Subscribers step up; the step whose loss passes 0.5 % ends the run. */
static void scenario_live(lg_t *lg)
{
    int steps[32], n = parse_steps(lg->steps ? lg->steps : "10,25,50,100,150,200,300,400,600,800", steps, 32);
    printf("# live: 1 publisher (%.1f Mbps video at %u fps + audio, %s) -> N subscribers in one room\n",
           lg->pub_opts.video_bitrate_bps / 1e6, lg->pub_opts.fps,
           lg->pub_opts.unpaced ? "each frame in one burst" : "paced as a browser sends it: 2.5x, every 5 ms");
    lg_user_t *pub = lg_add_user(lg, 0, true, false);
    if (lg_wait_ready(lg, 15000) != 0 || pub->failed) {
        printf("live: the publisher did not come up\n");
        return;
    }
    lg_header(lg);
    int subs = 0, last_ok = 0;
    double pps_ok = 0, us_ok = 0;
    lg_row_t big;
    bool have_big = false;
    for (int s = 0; s < n && !g_stop; s++) {
        int leaves_before = lg->unexpected_leaves;
        while (subs < steps[s] && lg->n_users < MAX_USERS) {
            lg_user_t *u = lg_add_user(lg, 0, false, true);
            u->subs_expected = 1;
            subs++;
            if (subs % lg->join_batch == 0)
                lg_run_ms(lg, 1000 * lg->join_batch / lg->join_rate);
        }
        int pending = lg_wait_ready(lg, 30000);
        if (pending > 0)
            printf("# %d of %d subscribers not set up after 30 s\n", pending, subs);
        if (pub->failed) {
            printf("# the publisher's transport failed: the server stopped answering it\n");
            break;
        }
        char label[24]; /* "live-" and any int */
        snprintf(label, sizeof(label), "live-%d", s + 1);
        lg_row_t r;
        bool good = measure_step(lg, label, subs, pending, leaves_before, &r);
        big = r, have_big = true;
        if (!good)
            break;
        last_ok = subs, pps_ok = r.fwd_pps, us_ok = r.us_per_pkt;
    }
    capacity_line(lg, "live 720p", last_ok, pps_ok, us_ok, have_big ? &big : NULL);
}

/* Rooms of `size` users, each publishing and subscribing to all others. */
static void scenario_rooms(lg_t *lg, bool audio)
{
    const int size = 8;
    int steps[32], n = parse_steps(lg->steps ? lg->steps : (audio ? "5,10,20,40,60,80" : "1,2,3,4,6,8"), steps, 32);
    lg->audio_only = audio;
    printf("# %s: rooms of %d, each publishing %s and subscribing to the %d others\n", audio ? "audio" : "meeting",
           size, audio ? "audio" : "video + audio", size - 1);
    lg_header(lg);
    int rooms = 0, last_ok = 0;
    double pps_ok = 0, us_ok = 0;
    lg_row_t big;
    bool have_big = false;
    for (int s = 0; s < n && !g_stop; s++) {
        int leaves_before = lg->unexpected_leaves;
        while (rooms < steps[s] && lg->n_users + size <= MAX_USERS) {
            for (int i = 0; i < size; i++) {
                lg_user_t *u = lg_add_user(lg, rooms, true, true);
                u->subs_expected = size - 1;
                if (lg->n_users % lg->join_batch == 0)
                    lg_run_ms(lg, 1000 * lg->join_batch / lg->join_rate);
            }
            rooms++;
        }
        int pending = lg_wait_ready(lg, 60000);
        if (pending > 0)
            printf("# %d users not fully set up after 60 s\n", pending);
        char label[24];
        snprintf(label, sizeof(label), "%s-%d", audio ? "audio" : "meet", rooms);
        int subs = rooms * size * (size - 1);
        lg_row_t r;
        bool good = measure_step(lg, label, subs, pending, leaves_before, &r);
        big = r, have_big = true;
        if (!good)
            break;
        last_ok = subs, pps_ok = r.fwd_pps, us_ok = r.us_per_pkt;
    }
    capacity_line(lg, audio ? "audio rooms of 8, subscriptions" : "meeting rooms of 8, subscriptions", last_ok, pps_ok,
                  us_ok, have_big ? &big : NULL);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* `count` joins at a fixed rate, each subscribing to a room's publisher,
 * while earlier rooms keep running: time to first packet, and what the
 * storm did to the rooms already there. */
static void scenario_storm(lg_t *lg)
{
    int rooms = 10, count = lg->storm_count;
    printf("# storm: %d joins in %.1f s into %d rooms with a running publisher each; 5 viewers per room before\n",
           count, (double)count / lg->storm_rate, rooms);
    for (int r = 0; r < rooms; r++)
        lg_add_user(lg, r, true, false);
    for (int r = 0; r < rooms; r++)
        for (int i = 0; i < 5; i++)
            lg_add_user(lg, r, false, true)->subs_expected = 1;
    lg_wait_ready(lg, 30000);
    lg_run_ms(lg, lg->settle_ms);
    lg_header(lg);
    lg_mark_t a, b, c;
    lg_mark(lg, &a);
    lg_run_ms(lg, 5000);
    lg_mark(lg, &b);
    lg_row(lg, "before", rooms * 5, &a, &b);
    int first = lg->n_users;
    uint64_t t0 = clock_mono_us();
    for (int i = 0; i < count && !g_stop; i++) {
        lg_add_user(lg, i % rooms, false, true)->subs_expected = 1;
        uint64_t due = t0 + (uint64_t)(i + 1) * 1000000 / lg->storm_rate;
        while (clock_mono_us() < due && !g_stop) {
            ic_loop_run(lg->loop, 2);
            if (lg->janus != NULL)
                janus_poll(lg->janus);
        }
    }
    lg_mark(lg, &c);
    double storm_s = (double)(clock_mono_us() - t0) / 1e6;
    lg_row(lg, "storm", rooms * 5 + count, &b, &c);
    int pending = lg_wait_ready(lg, 30000);
    lg_mark_t d;
    lg_mark(lg, &d);
    probe_cpu_t ctl = probe_cpu(&b.srv, &d.srv, lg->control_prefix);
    probe_cpu_t wk = probe_cpu(&b.srv, &d.srv, lg->worker_prefix);
    /* Where the time goes: join -> joined (TLS, WebSocket, join), -> subscription
     * transport up (subscribe, offer/answer, ICE, DTLS), -> first RTP packet
     * (the subscriber waits for a keyframe). */
    uint64_t *ph[4];
    int n = 0;
    for (int k = 0; k < 4; k++)
        ph[k] = xcalloc((size_t)count + 1, sizeof(uint64_t));
    for (int i = first; i < lg->n_users; i++) {
        lg_user_t *u = lg->users[i];
        if (u->first_media_us <= u->join_sent_us || u->joined_us == 0 || u->sub_up_us == 0)
            continue;
        ph[0][n] = u->first_media_us - u->join_sent_us;
        ph[1][n] = u->joined_us - u->join_sent_us;
        ph[2][n] = u->sub_up_us > u->joined_us ? u->sub_up_us - u->joined_us : 0;
        ph[3][n] = u->first_media_us > u->sub_up_us ? u->first_media_us - u->sub_up_us : 0;
        n++;
    }
    static const char *const names[4] = {"join -> first packet", "join -> joined", "joined -> transport up",
                                         "transport up -> first packet"};
    printf("storm: %d joins in %.1f s; %d received media, %d not set up after 30 s\n", count, storm_s, n, pending);
    for (int k = 0; k < 4; k++) {
        qsort(ph[k], (size_t)n, sizeof(uint64_t), cmp_u64);
        printf("storm:   %-29s p50 %6.0f ms  p95 %6.0f ms  max %6.0f ms\n", names[k], n ? ph[k][n / 2] / 1e3 : -1.0,
               n ? ph[k][n * 95 / 100] / 1e3 : -1.0, n ? ph[k][n - 1] / 1e3 : -1.0);
        free(ph[k]);
    }
    printf("storm: server CPU from the first join until all were set up: control thread %.2f s, media worker %.2f s "
           "(%.2f ms per join, both)\n",
           ctl.cpu_s, wk.cpu_s, count ? (ctl.cpu_s + wk.cpu_s) * 1000 / count : 0);
    lg_run_ms(lg, lg->settle_ms);
    lg_mark(lg, &a);
    lg_run_ms(lg, 5000);
    lg_mark(lg, &b);
    lg_row(lg, "after", rooms * 5 + count, &a, &b);
}

/* Users come and go: each lives 5..20 s; `target` stay in the rooms. */
static void scenario_churn(lg_t *lg)
{
    int target = lg->churn_users, rooms = IRTC_MAX(1, target / 10);
    printf("# churn: %d users in %d rooms (1 publisher + 9 viewers each), each living 5-20 s, for %u s\n", target,
           rooms, lg->churn_seconds);
    for (int r = 0; r < rooms; r++)
        lg_add_user(lg, r, true, false)->lifetime_us = UINT64_MAX;
    uint64_t start = clock_mono_us(), end = start + (uint64_t)lg->churn_seconds * 1000000, next_print = start;
    unsigned joins = 0;
    uint32_t rng = 1234567;
    printf("%8s %8s %8s %10s %6s %9s\n", "t(s)", "users", "joins", "rss(kB)", "fds", "leaves!");
    probe_snap_t first_snap, snap;
    bool have_first = false;
    while (!g_stop && clock_mono_us() < end) {
        uint64_t now = clock_mono_us();
        for (int i = 0; i < lg->n_users; i++) {
            lg_user_t *u = lg->users[i];
            if (u->lifetime_us != UINT64_MAX && now - u->join_sent_us > u->lifetime_us) {
                lg_remove_user(lg, u);
                i--;
            }
        }
        while (lg->n_users < target + rooms) {
            lg_user_t *u = lg_add_user(lg, (int)(joins % (unsigned)rooms), false, true);
            rng = rng * 1103515245u + 12345u;
            u->lifetime_us = 5000000 + (uint64_t)(rng >> 8) % 15000000;
            u->subs_expected = 1;
            joins++;
        }
        if (now >= next_print) {
            probe_take(lg->server_pid, lg->host, 0, &snap);
            if (!have_first && now - start > 30000000) { /* the baseline once the population is steady */
                first_snap = snap;
                have_first = true;
            }
            printf("%8.0f %8d %8u %10llu %6d %9d\n", (double)(now - start) / 1e6, lg->n_users, joins,
                   (unsigned long long)snap.rss_kb, snap.fds, lg->unexpected_leaves);
            fflush(stdout);
            next_print = now + 10000000;
        }
        lg_run_ms(lg, 100);
    }
    probe_take(lg->server_pid, lg->host, 0, &snap);
    if (have_first)
        printf("churn: %u joins; from t=30 s to the end RSS %llu -> %llu kB (%+.1f %%), fds %d -> %d; "
               "%d users removed by the server\n",
               joins, (unsigned long long)first_snap.rss_kb, (unsigned long long)snap.rss_kb,
               first_snap.rss_kb ? ((double)snap.rss_kb - (double)first_snap.rss_kb) * 100 / first_snap.rss_kb : 0,
               first_snap.fds, snap.fds, lg->unexpected_leaves);
    else
        printf("churn: %u joins; too short for a steady baseline (needs > 30 s)\n", joins);
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: irtc-loadgen --scenario live|meeting|audio|storm|churn --pid SERVER-PID\n"
            "         (--host IP --port HTTPS --app ID --key ACCESS-KEY --tenant T --media-port P [--media-workers N]\n"
            "          | --janus URL)\n"
            "         [--steps N,N,...] [--window S] [--settle S] [--video-kbps K] [--fps F] [--simulcast 1..3]\n"
            "         [--verify N] [--srtp gcm|cm] [--join-rate R] [--storm N] [--storm-rate R]\n"
            "         [--churn-users N] [--churn-seconds S] [--bind IP] [--csv FILE --label NAME]\n"
            "         [--burst-publisher]  (each video frame in one burst instead of paced as a browser sends it)\n");
}

int main(int argc, char **argv)
{
    static lg_t lg;
    lg.host = "127.0.0.1";
    lg.window_ms = 10000;
    lg.settle_ms = 3000;
    lg.verify_every = 8;
    lg.join_rate = 100;
    lg.join_batch = 10;
    lg.storm_count = 500;
    lg.storm_rate = 50;
    lg.churn_users = 100;
    lg.churn_seconds = 600;
    lg.worker_prefix = "irtc-media";
    lg.control_prefix = "irtcd";
    lg.pub_opts = (ic_publish_opts_t){
        .audio = true, .video = true, .video_bitrate_bps = 2500000, .fps = 30, .keyframe_interval_ms = 3000};
    const char *srtp = NULL, *janus_url = NULL;
    static const struct option opts[] = {{"scenario", 1, 0, 's'},      {"pid", 1, 0, 'P'},
                                         {"host", 1, 0, 'h'},          {"port", 1, 0, 'p'},
                                         {"app", 1, 0, 'a'},           {"key", 1, 0, 'k'},
                                         {"tenant", 1, 0, 't'},        {"media-port", 1, 0, 'm'},
                                         {"media-workers", 1, 0, 'M'},
                                         {"steps", 1, 0, 'S'},         {"window", 1, 0, 'w'},
                                         {"settle", 1, 0, 'W'},        {"video-kbps", 1, 0, 'v'},
                                         {"fps", 1, 0, 'f'},           {"simulcast", 1, 0, 'L'},
                                         {"verify", 1, 0, 'V'},        {"srtp", 1, 0, 'c'},
                                         {"join-rate", 1, 0, 'r'},     {"storm", 1, 0, 'n'},
                                         {"storm-rate", 1, 0, 'R'},    {"churn-users", 1, 0, 'u'},
                                         {"churn-seconds", 1, 0, 'T'}, {"janus", 1, 0, 'J'},
                                         {"bind", 1, 0, 'b'},          {"csv", 1, 0, 'C'},
                                         {"label", 1, 0, 'l'},         {"burst-publisher", 0, 0, 'B'},
                                         {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            lg.scenario = optarg;
            break;
        case 'P':
            lg.server_pid = atoi(optarg);
            break;
        case 'h':
            lg.host = optarg;
            break;
        case 'p':
            lg.https_port = (unsigned)atoi(optarg);
            break;
        case 'a':
            lg.app_id = optarg;
            break;
        case 'k':
            lg.access_key = optarg;
            break;
        case 't':
            lg.tenant = optarg;
            break;
        case 'm':
            lg.media_port = (unsigned)atoi(optarg);
            break;
        case 'M':
            lg.media_workers = (unsigned)atoi(optarg);
            break;
        case 'S':
            lg.steps = optarg;
            break;
        case 'w':
            lg.window_ms = (unsigned)(atof(optarg) * 1000);
            break;
        case 'W':
            lg.settle_ms = (unsigned)(atof(optarg) * 1000);
            break;
        case 'v':
            lg.pub_opts.video_bitrate_bps = (uint32_t)atoi(optarg) * 1000;
            break;
        case 'f':
            lg.pub_opts.fps = (unsigned)atoi(optarg);
            break;
        case 'L':
            lg.pub_opts.simulcast = (unsigned)atoi(optarg);
            break;
        case 'V':
            lg.verify_every = (unsigned)atoi(optarg);
            break;
        case 'c':
            srtp = optarg;
            break;
        case 'r':
            lg.join_rate = IRTC_MAX(1, atoi(optarg));
            break;
        case 'n':
            lg.storm_count = IRTC_MAX(1, atoi(optarg));
            break;
        case 'R':
            lg.storm_rate = IRTC_MAX(1, atoi(optarg));
            break;
        case 'u':
            lg.churn_users = IRTC_MAX(1, atoi(optarg));
            break;
        case 'T':
            lg.churn_seconds = (unsigned)atoi(optarg);
            break;
        case 'J':
            janus_url = optarg;
            break;
        case 'b':
            lg.bind_ip = optarg;
            break;
        case 'C':
            lg.csv = fopen(optarg, "a");
            break;
        case 'l':
            lg.label = optarg;
            break;
        case 'B':
            lg.pub_opts.unpaced = true;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (lg.scenario == NULL || lg.server_pid <= 0 ||
        (janus_url == NULL && (!lg.app_id || !lg.access_key || !lg.tenant || !lg.https_port || !lg.media_port))) {
        usage();
        return 2;
    }
    if (lg.join_batch > lg.join_rate)
        lg.join_batch = lg.join_rate;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { /* one UDP socket per PeerConnection */
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    const char *profiles = srtp == NULL              ? NULL
                           : strcmp(srtp, "cm") == 0 ? "SRTP_AES128_CM_SHA1_80"
                                                     : "SRTP_AEAD_AES_128_GCM";
    char err[256];
    lg.loop = ic_loop_new(profiles, err, sizeof(err));
    if (lg.loop == NULL) {
        fprintf(stderr, "irtc-loadgen: %s\n", err);
        return 1;
    }
    lg.users = xcalloc(MAX_USERS, sizeof(*lg.users));
    if (janus_url != NULL) {
        lg.janus = janus_new(&lg, janus_url, err, sizeof(err));
        if (lg.janus == NULL) {
            fprintf(stderr, "irtc-loadgen: Janus: %s\n", err);
            return 1;
        }
        lg.worker_prefix = "hloop"; /* Janus names its media loop threads "hloop N" */
        lg.control_prefix = "janus";
    }
    if (lg.label == NULL)
        lg.label = lg.janus ? "janus" : "irtcd";
    char me[64], srv[64];
    probe_affinity(0, me, sizeof(me));
    probe_affinity(lg.server_pid, srv, sizeof(srv));
    printf("# irtc-loadgen %s against %s (pid %d, CPUs %s); load generator on CPUs %s; SRTP %s; "
           "1 in %u received packets SRTP-verified\n",
           lg.scenario, janus_url ? "Janus" : "irtcd", (int)lg.server_pid, srv, me, srtp ? srtp : "gcm|cm",
           lg.verify_every ? lg.verify_every : 1);
    if (strcmp(lg.scenario, "live") == 0)
        scenario_live(&lg);
    else if (strcmp(lg.scenario, "meeting") == 0)
        scenario_rooms(&lg, false);
    else if (strcmp(lg.scenario, "audio") == 0)
        scenario_rooms(&lg, true);
    else if (strcmp(lg.scenario, "storm") == 0)
        scenario_storm(&lg);
    else if (strcmp(lg.scenario, "churn") == 0)
        scenario_churn(&lg);
    else {
        usage();
        return 2;
    }
    ic_recv_stats_t rx;
    sum_rx(&lg, &rx);
    printf("# join failures %d, subscription failures %d, users removed by the server %d; SRTP: %u transports GCM, "
           "%u AES-CM; %llu packets failed SRTP\n",
           lg.join_failures, lg.sub_failures, lg.unexpected_leaves, rx.srtp_gcm, rx.srtp_cm,
           (unsigned long long)rx.srtp_failed);
    while (lg.n_users > 0)
        lg_remove_user(&lg, lg.users[lg.n_users - 1]);
    lg_run_ms(&lg, 300); /* leave requests and DTLS close_notify go out */
    if (lg.janus != NULL)
        janus_free(lg.janus);
    ic_loop_free(lg.loop);
    free(lg.users);
    if (lg.csv != NULL)
        fclose(lg.csv);
    return 0;
}

void lg_record(lg_t *lg, const lg_row_t *r)
{
    if (lg->csv == NULL)
        return;
    fprintf(lg->csv, "%s,%s,%d,%.0f,%.0f,%.1f,%.1f,%.1f,%.3f,%.1f,%.3f,%.4f,%.0f,%.0f,%d\n", lg->label, lg->scenario,
            r->subs, r->fwd_pps, r->rcv_pps, r->worker_pct, r->user_pct, r->sys_pct, r->us_per_pkt, r->proc_pct,
            r->us_per_pkt_proc, r->loss * 100, r->dwell50, r->dwell99, r->shortchanged);
    fflush(lg->csv);
}
