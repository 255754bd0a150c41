/*
 * worker.c — the media worker threads and their message queues.
 *
 * Each worker runs its own h2o evloop on its own thread and owns its UDP
 * socket; the control thread talks to it only through h2o_multithread queues.
 * The packet loop reads batches with recvmmsg until EAGAIN and hands each
 * datagram to the worker's engine (engine.h), which writes what it sends
 * straight into the outgoing batch (tx_reserve / tx_commit below,
 * media/txbatch.h); everything one loop turn produced (input, commands,
 * timers) leaves at the turn's end, grouped by destination into UDP GSO
 * messages, in as few sendmmsg calls as the batch allows.
 */
#include "media/worker.h"
#include "media/engine.h"
#include "media/ice_tcp.h"
#include "media/stun.h"
#include "media/txbatch.h"
#include <stdlib.h>
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WORKER_BATCH 32
#define WORKER_MTU 2048
#define WORKER_PING_INTERVAL_MS 250
#define WORKER_DATA_BACKLOG (8u << 20) /* bytes: see worker_t.data_backlog */
#define WORKER_TICK_MS 5 /* the engine's timers (pacing, NACK, feedback) run at this granularity */

typedef struct event_msg event_msg_t;

struct worker {
    worker_pool_t *pool;
    unsigned index;
    uint16_t port, tcp_port; /* tcp_port 0: no ICE-TCP */
    int fd, tcp_fd;
    pthread_t tid;
    bool thread_started;
    sem_t ready; /* posted by the worker once its queue can take messages */
    h2o_evloop_t *loop;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    h2o_socket_t *udp;
    /* Pipes from other workers (a room spanning workers, media/pipe.h)
     * wake this one here, once per their loop turn.  The eventfd stays open
     * until every worker has stopped (another may still write it); the
     * loop watches a duplicate of it. */
    int pipe_fd;
    h2o_socket_t *pipe_sock;
    ice_tcp_t *tcp; /* NULL without ICE-TCP */
    worker_stats_t stats;
    bool stop; /* worker thread only */
    /* Data-channel bytes on their way through the control thread (a message
     * received here and not yet relayed, or relayed and not yet sent): the
     * relay's backlog, capped at WORKER_DATA_BACKLOG (control and worker). */
    _Atomic size_t data_backlog;

    /* recycled event messages (event_take): the worker's own list, and the
     * stack the control thread returns them on */
    event_msg_t *ev_free;
    _Atomic(event_msg_t *) ev_returned;

    /* ping state: control thread only */
    worker_msg_t ping;
    bool ping_in_flight;
    uint64_t last_pong_ms;

    engine_t *engine; /* created and freed on the worker thread */
    const struct dtls_cert *cert;
    const cfg_t *cfg;
    h2o_timeout_t tick_timeout;
    h2o_timeout_entry_t tick_entry;

    /* outgoing datagrams, sent at the end of each loop turn (or when full) */
    txbatch_t tx;
    bool gso; /* UDP GSO: on until the kernel refuses it once (or IRTC_UDP_GSO=off) */

    struct mmsghdr msgs[WORKER_BATCH];
    struct iovec iov[WORKER_BATCH];
    mx_tuple_t from[WORKER_BATCH]; /* UDP: conn 0 */
    uint8_t bufs[WORKER_BATCH][WORKER_MTU];
    uint8_t ctrl[WORKER_BATCH][CMSG_SPACE(sizeof(struct timespec))];

    /* dwell sampling (media/dwell.h): datagrams queued/sent so far, and the
     * receive time of the sampled datagram whose last copy is queue mark */
    uint64_t tx_queued, tx_done, dwell_mark, dwell_rx_ns;
    unsigned dwell_skip;
};

struct worker_pool {
    worker_t **workers;
    unsigned count;
    h2o_evloop_t *control_loop;
    h2o_multithread_queue_t *control_queue;
    h2o_multithread_receiver_t control_receiver;
    h2o_timeout_t ping_timeout;
    h2o_timeout_entry_t ping_entry;
    worker_event_fn event_fn;
    void *event_ctx;
};

static void worker_flush(worker_t *w);

/* ---- messages ---- */

static void drain(h2o_linklist_t *messages, void *thread_ctx)
{
    while (!h2o_linklist_is_empty(messages)) {
        worker_msg_t *m = H2O_STRUCT_FROM_MEMBER(worker_msg_t, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        m->run(m, thread_ctx);
    }
}

static void on_worker_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, receiver, receiver);
    drain(messages, w);
}

static void on_control_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    worker_pool_t *wp = H2O_STRUCT_FROM_MEMBER(worker_pool_t, control_receiver, receiver);
    drain(messages, wp);
}

void worker_post(worker_t *w, worker_msg_t *msg)
{
    h2o_multithread_send_message(&w->receiver, &msg->super);
}

void worker_pool_post_control(worker_pool_t *wp, worker_msg_t *msg)
{
    h2o_multithread_send_message(&wp->control_receiver, &msg->super);
}

/* ---- health pings: control → worker → control ---- */

static void on_pong(worker_msg_t *msg, void *thread_ctx)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, ping, msg);
    w->last_pong_ms = clock_mono_ms();
    w->ping_in_flight = false;
}

static void on_ping(worker_msg_t *msg, void *thread_ctx)
{
    worker_t *w = thread_ctx;
    msg->run = on_pong;
    worker_pool_post_control(w->pool, msg);
}

static void on_ping_timer(h2o_timeout_entry_t *entry)
{
    worker_pool_t *wp = H2O_STRUCT_FROM_MEMBER(worker_pool_t, ping_entry, entry);
    for (unsigned i = 0; i < wp->count; i++) {
        worker_t *w = wp->workers[i];
        if (w->ping_in_flight)
            continue; /* a stuck worker keeps its old pong time and turns unhealthy */
        w->ping_in_flight = true;
        w->ping.run = on_ping;
        worker_post(w, &w->ping);
    }
    h2o_timeout_link(wp->control_loop, &wp->ping_timeout, &wp->ping_entry);
}

uint64_t worker_pong_age_ms(const worker_pool_t *wp, unsigned i)
{
    const worker_t *w = wp->workers[i];
    if (w->last_pong_ms == 0)
        return UINT64_MAX;
    return clock_mono_ms() - w->last_pong_ms;
}

bool worker_pool_healthy(const worker_pool_t *wp, uint64_t max_age_ms)
{
    for (unsigned i = 0; i < wp->count; i++)
        if (worker_pong_age_ms(wp, i) > max_age_ms)
            return false;
    return true;
}

/* ---- dwell time (media/dwell.h) ---- */

/* Remembers the sampled datagram's kernel receive time until its last copy is sent. */
static void dwell_sample(worker_t *w, const struct msghdr *mh)
{
    uint64_t rx = clock_rx_stamp_ns(mh);
    if (rx == 0)
        return;
    w->dwell_rx_ns = rx;
    w->dwell_mark = w->tx_queued;
    w->dwell_skip = 0;
}

static void dwell_record(worker_t *w)
{
    uint64_t now = clock_wall_ns(), d = now > w->dwell_rx_ns ? now - w->dwell_rx_ns : 0;
    atomic_fetch_add_explicit(&w->stats.dwell_hist[dwell_bucket(d)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->stats.dwell_sum_ns, d, memory_order_relaxed);
    w->dwell_mark = 0;
}

/* ---- the packet loop ---- */

static void on_udp_readable(h2o_socket_t *sock, const char *err)
{
    worker_t *w = sock->data;
    if (err != NULL)
        return;
    for (int rounds = 0; rounds < 64; rounds++) { /* bounded so timers and messages still run */
        for (int i = 0; i < WORKER_BATCH; i++) {
            w->iov[i].iov_base = w->bufs[i];
            w->iov[i].iov_len = WORKER_MTU;
            w->msgs[i].msg_hdr = (struct msghdr){.msg_name = &w->from[i].addr,
                                                 .msg_namelen = sizeof(w->from[i].addr),
                                                 .msg_iov = &w->iov[i],
                                                 .msg_iovlen = 1,
                                                 .msg_control = w->ctrl[i],
                                                 .msg_controllen = sizeof(w->ctrl[i])};
        }
        int n = recvmmsg(w->fd, w->msgs, WORKER_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            break;
        uint64_t bytes = 0, now_us = clock_mono_us(); /* one clock read per batch */
        int quiet = -1; /* the first datagram with no output of its own: its output may be the fan-out's */
        for (int i = 0; i < n; i++) {
            bytes += w->msgs[i].msg_len;
            uint64_t queued = w->tx_queued;
            w->from[i].len = w->msgs[i].msg_hdr.msg_namelen;
            engine_on_packet(w->engine, w->bufs[i], w->msgs[i].msg_len, &w->from[i], now_us);
            if (w->tx_queued != queued && w->dwell_mark == 0 && ++w->dwell_skip >= DWELL_SAMPLE_EVERY)
                dwell_sample(w, &w->msgs[i].msg_hdr);
            else if (w->tx_queued == queued && quiet < 0)
                quiet = i;
        }
        uint64_t queued = w->tx_queued;
        engine_fanout(w->engine); /* the batch's media, subscriber by subscriber */
        if (quiet >= 0 && w->tx_queued != queued && w->dwell_mark == 0 && ++w->dwell_skip >= DWELL_SAMPLE_EVERY)
            dwell_sample(w, &w->msgs[quiet].msg_hdr);
        atomic_fetch_add_explicit(&w->stats.rx_packets, (uint64_t)n, memory_order_relaxed);
        atomic_fetch_add_explicit(&w->stats.rx_bytes, bytes, memory_order_relaxed);
        if (n < WORKER_BATCH)
            break;
    }
}

static void on_pipe_readable(h2o_socket_t *sock, const char *err)
{
    worker_t *w = sock->data;
    uint64_t n;
    if (err != NULL || read(h2o_socket_get_fd(sock), &n, sizeof(n)) != (ssize_t)sizeof(n))
        return;
    engine_drain_pipes(w->engine, clock_mono_us());
}

/* ---- the engine's I/O (worker thread) ---- */

static void worker_flush(worker_t *w)
{
    if (w->tcp != NULL)
        ice_tcp_flush(w->tcp);
    txbatch_t *b = &w->tx;
    if (b->count == 0)
        return;
    bool gso = w->gso, probing = false;
    txb_group(b, gso);
    unsigned nmsg = txb_build(b, 0, gso), off = 0;
    while (off < nmsg) {
        uint64_t t0 = clock_mono_us();
        int n = sendmmsg(w->fd, b->msgs + off, nmsg - off, MSG_DONTWAIT);
        atomic_fetch_add_explicit(&w->stats.tx_calls, 1, memory_order_relaxed);
        if (n > 0) {
            txb_stamp(b, off, (unsigned)n, t0, clock_mono_us()); /* congestion control's send times */
            uint64_t bytes = 0, segs = 0, gso_segs = 0;
            for (unsigned m = off; m < off + (unsigned)n; m++) {
                bytes += txb_msg_bytes(b, m);
                segs += b->segs[m];
                gso_segs += b->segs[m] > 1 ? b->segs[m] : 0;
            }
            atomic_fetch_add_explicit(&w->stats.tx_packets, segs, memory_order_relaxed);
            atomic_fetch_add_explicit(&w->stats.tx_bytes, bytes, memory_order_relaxed);
            atomic_fetch_add_explicit(&w->stats.tx_gso_segments, gso_segs, memory_order_relaxed);
            if (probing) { /* the refused run's first datagram went out alone: GSO was the problem */
                probing = w->gso = false;
                atomic_fetch_add_explicit(&w->stats.tx_gso_fallbacks, 1, memory_order_relaxed);
            }
            off += (unsigned)n;
            continue;
        }
        int err = n < 0 ? errno : 0;
        if (gso && b->segs[off] > 1 && (err == EIO || err == EINVAL || err == EMSGSIZE)) {
            /* The kernel refused a GSO message (EIO: no checksum offload;
             * EMSGSIZE, EINVAL on older kernels: an MTU below the segment
             * size; or an address it would refuse anyway): the rest of
             * this flush goes one by one.
             * If the first of those is sent, GSO was the cause and stays
             * off from now on; if not, the address was (a peer cannot turn
             * GSO off for everyone). */
            gso = false;
            probing = true;
            nmsg = txb_build(b, b->first[off], false);
            off = 0;
            continue;
        }
        probing = false;
        /* EAGAIN: the socket buffer is full and the rest would fail too;
         * dropping is what a router does.  Any other error belongs to the
         * first message alone (its address, its size): skip just it. */
        bool full = err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
        unsigned upto = full ? nmsg : off + 1, dropped = 0;
        for (; off < upto; off++)
            dropped += b->segs[off];
        atomic_fetch_add_explicit(&w->stats.tx_errors, dropped, memory_order_relaxed);
    }
    w->tx_done += b->count;
    txb_reset(b);
    if (w->dwell_mark != 0 && w->tx_done >= w->dwell_mark)
        dwell_record(w);
}

static uint8_t *io_tx_reserve(void *ctx)
{
    worker_t *w = ctx;
    if (txb_full(&w->tx))
        worker_flush(w);
    return txb_slot(&w->tx);
}

/* A TCP path's packet is framed into its connection's queue at once (the
 * buffer is reused by the next reserve); a UDP one joins the sendmmsg batch. */
static void io_tx_commit(void *ctx, const mx_tuple_t *to, size_t len, uint64_t *sent_us)
{
    worker_t *w = ctx;
    if (len > TXB_MTU || to->len > sizeof(to->addr))
        return;
    if (to->conn != 0) {
        if (w->tcp != NULL)
            ice_tcp_send(w->tcp, to->conn, txb_slot(&w->tx), len);
        if (sent_us != NULL)
            *sent_us = clock_mono_us(); /* in its connection's queue now: the kernel's and TCP's business */
        return;
    }
    w->tx_queued++;
    txb_commit(&w->tx, to, len, sent_us);
}

static void io_tx_flush(void *ctx)
{
    worker_flush(ctx);
}

static void io_verified(void *ctx, const mx_tuple_t *from)
{
    worker_t *w = ctx;
    if (from->conn != 0 && w->tcp != NULL)
        ice_tcp_verified(w->tcp, from->conn);
}

static void tcp_on_frame(void *ctx, uint8_t *buf, size_t len, const mx_tuple_t *from)
{
    worker_t *w = ctx;
    atomic_fetch_add_explicit(&w->stats.rx_packets, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->stats.rx_bytes, len, memory_order_relaxed);
    engine_on_packet(w->engine, buf, len, from, clock_mono_us());
    engine_fanout(w->engine);
}

static void tcp_on_gone(void *ctx, const mx_tuple_t *tuple)
{
    worker_t *w = ctx;
    engine_on_tuple_gone(w->engine, tuple);
}

struct event_msg {
    worker_msg_t super;
    unsigned worker;
    bool pooled;            /* no data: goes back to the worker's pool, not free() */
    event_msg_t *next_free; /* in a pool */
    engine_event_t ev;
    uint8_t data[]; /* ENGINE_EV_DATA's message */
};

/* Events without data (stats every 2 s per transport, layers, audio levels)
 * are recycled so that a steady room allocates nothing: the control thread
 * pushes each one it has run onto the worker's returned stack (lock-free; the
 * worker only ever takes the whole stack, so no ABA), and the worker refills
 * its private free list from it when that runs dry. */
static event_msg_t *event_take(worker_t *w)
{
    if (w->ev_free == NULL)
        w->ev_free = atomic_exchange_explicit(&w->ev_returned, NULL, memory_order_acquire);
    event_msg_t *m = w->ev_free;
    if (m == NULL) {
        m = xcalloc(1, sizeof(*m)); /* the pool grows to the events in flight */
        m->pooled = true;
        return m;
    }
    w->ev_free = m->next_free;
    memset(&m->super, 0, sizeof(m->super)); /* h2o asserts the link is unlinked (zeroed) */
    return m;
}

static void event_give_back(worker_t *w, event_msg_t *m)
{
    event_msg_t *top = atomic_load_explicit(&w->ev_returned, memory_order_relaxed);
    do
        m->next_free = top;
    while (!atomic_compare_exchange_weak_explicit(&w->ev_returned, &top, m, memory_order_release,
                                                  memory_order_relaxed));
}

static void event_pool_free(worker_t *w)
{
    event_msg_t *lists[2] = {w->ev_free, atomic_exchange(&w->ev_returned, NULL)};
    for (int i = 0; i < 2; i++)
        for (event_msg_t *m = lists[i], *next; m != NULL; m = next) {
            next = m->next_free;
            free(m);
        }
    w->ev_free = NULL;
}

static void run_event(worker_msg_t *msg, void *thread_ctx)
{
    worker_pool_t *wp = thread_ctx;
    event_msg_t *m = (event_msg_t *)msg;
    if (wp->event_fn != NULL)
        wp->event_fn(wp->event_ctx, m->worker, &m->ev);
    if (m->ev.type == ENGINE_EV_DATA)
        atomic_fetch_sub(&wp->workers[m->worker]->data_backlog, m->ev.data_len);
    if (m->pooled)
        event_give_back(wp->workers[m->worker], m);
    else
        free(m);
}

static void io_emit(void *ctx, const engine_event_t *ev)
{
    worker_t *w = ctx;
    size_t extra = ev->type == ENGINE_EV_DATA ? ev->data_len : 0;
    if (extra > 0 || ev->type == ENGINE_EV_DATA) {
        if (atomic_load(&w->data_backlog) + extra > WORKER_DATA_BACKLOG) {
            atomic_fetch_add_explicit(&w->stats.engine.data_drop_backlog, 1, memory_order_relaxed);
            return;
        }
        atomic_fetch_add(&w->data_backlog, extra);
    }
    event_msg_t *m = ev->type == ENGINE_EV_DATA ? xcalloc(1, sizeof(*m) + extra) : event_take(w);
    m->super.run = run_event;
    m->worker = w->index;
    m->ev = *ev;
    if (extra > 0) {
        memcpy(m->data, ev->data, extra);
        m->ev.data = m->data;
    }
    worker_pool_post_control(w->pool, &m->super);
}

static uint64_t io_now_us(void *ctx)
{
    (void)ctx;
    return clock_mono_us();
}

typedef struct {
    worker_msg_t super;
    engine_cmd_t cmd;
} cmd_msg_t;

static void run_cmd(worker_msg_t *msg, void *thread_ctx)
{
    worker_t *w = thread_ctx;
    cmd_msg_t *m = (cmd_msg_t *)msg;
    size_t data_len = m->cmd.type == ENGINE_CMD_DATA_SEND ? m->cmd.data_len : 0;
    engine_on_command(w->engine, &m->cmd);
    atomic_fetch_sub(&w->data_backlog, data_len);
    free(m);
}

void worker_post_cmd(worker_t *w, const engine_cmd_t *cmd)
{
    if (cmd->type == ENGINE_CMD_DATA_SEND) {
        if (atomic_load(&w->data_backlog) + cmd->data_len > WORKER_DATA_BACKLOG) {
            atomic_fetch_add_explicit(&w->stats.engine.data_drop_backlog, 1, memory_order_relaxed);
            free(cmd->data);
            return;
        }
        atomic_fetch_add(&w->data_backlog, cmd->data_len);
    }
    cmd_msg_t *m = xcalloc(1, sizeof(*m)); /* h2o asserts the link is unlinked (zeroed) */
    m->super.run = run_cmd;
    m->cmd = *cmd;
    worker_post(w, &m->super);
}

void worker_pool_set_event_sink(worker_pool_t *wp, worker_event_fn fn, void *ctx)
{
    wp->event_fn = fn;
    wp->event_ctx = ctx;
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, tick_entry, entry);
    engine_on_timer(w->engine, clock_mono_us());
    h2o_timeout_link(w->loop, &w->tick_timeout, &w->tick_entry);
}

static void on_stop(worker_msg_t *msg, void *thread_ctx)
{
    worker_t *w = thread_ctx;
    w->stop = true;
    free(msg);
}

/*
 * The loop, the message queue and the UDP socket are created and destroyed
 * on the worker's own thread.  h2o 2.2 recycles socket read buffers through a
 * __thread allocator chosen when the socket is created: a queue created on
 * the control thread would make the worker allocate and free ping buffers in
 * the control thread's free list, racing with every TLS connection there
 * (heap corruption under load).
 */
static void worker_open(worker_t *w)
{
    w->loop = h2o_evloop_create();
    w->queue = h2o_multithread_create_queue(w->loop);
    h2o_multithread_register_receiver(w->queue, &w->receiver, on_worker_messages);
    w->udp = h2o_evloop_socket_create(w->loop, w->fd, H2O_SOCKET_FLAG_DONT_READ);
    w->udp->data = w;
    h2o_socket_read_start(w->udp, on_udp_readable);
    w->pipe_sock = h2o_evloop_socket_create(w->loop, dup(w->pipe_fd), H2O_SOCKET_FLAG_DONT_READ);
    w->pipe_sock->data = w;
    h2o_socket_read_start(w->pipe_sock, on_pipe_readable);
    engine_io_t io = {.ctx = w,
                      .tx_reserve = io_tx_reserve,
                      .tx_commit = io_tx_commit,
                      .tx_flush = io_tx_flush,
                      .verified = io_verified,
                      .emit = io_emit,
                      .now_us = io_now_us};
    w->engine = engine_new(&io, w->cert, &w->stats.engine);
    const char *fanout = getenv("IRTC_FANOUT"); /* "packet": for before/after measurements (docs/BENCHMARKS.md) */
    engine_set_deferred_fanout(w->engine, fanout == NULL || strcmp(fanout, "packet") != 0);
    if (w->tcp_fd >= 0) {
        ice_tcp_cbs_t cbs = {.ctx = w, .on_frame = tcp_on_frame, .on_gone = tcp_on_gone};
        w->tcp = ice_tcp_new(w->loop, w->tcp_fd, w->cfg, &cbs, &w->stats.tcp);
    }
    h2o_timeout_init(w->loop, &w->tick_timeout, WORKER_TICK_MS);
    w->tick_entry.cb = on_tick;
    h2o_timeout_link(w->loop, &w->tick_timeout, &w->tick_entry);
}

/* h2o 2.2 keeps freed socket buffers in that per-thread list and never
 * releases it: hand them back before the thread (and its list) ends. */
static void worker_release_thread_buffers(void)
{
    h2o_mem_recycle_t *a = &h2o_socket_buffer_prototype.allocator;
    while (a->cnt > 0)
        free(h2o_mem_alloc_recycle(a, 0));
}

static void worker_close(worker_t *w)
{
    if (h2o_timeout_is_linked(&w->tick_entry))
        h2o_timeout_unlink(&w->tick_entry);
    h2o_timeout_dispose(w->loop, &w->tick_timeout);
    engine_free(w->engine); /* closes transports: DTLS close_notify goes out now */
    w->engine = NULL;
    worker_flush(w);
    ice_tcp_free(w->tcp);
    h2o_multithread_unregister_receiver(w->queue, &w->receiver);
    h2o_multithread_destroy_queue(w->queue);
    h2o_socket_read_stop(w->udp);
    h2o_socket_close(w->udp);
    h2o_socket_read_stop(w->pipe_sock);
    h2o_socket_close(w->pipe_sock);
    h2o_evloop_run(w->loop, 0); /* lets the socket close complete */
    h2o_evloop_destroy(w->loop);
    free(w->queue); /* h2o 2.2.5's evloop destroy_queue closes it but does not free it */
    worker_release_thread_buffers();
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "irtc-media-%u", w->index);
    pthread_setname_np(pthread_self(), name);
    worker_open(w);
    sem_post(&w->ready);
    while (!w->stop) {
        h2o_evloop_run(w->loop, INT32_MAX); /* one turn: epoll, its callbacks, due timers */
        worker_flush(w);                     /* all of the turn's datagrams: one sendmmsg (or a few, if full) */
        engine_flush_pipes(w->engine);       /* one wake per turn for each worker this one piped packets to */
        atomic_fetch_add_explicit(&w->stats.loop_turns, 1, memory_order_relaxed);
    }
    worker_close(w);
    return NULL;
}

/* A socket of the given type bound to every address on port: IPv6 dual
 * stack when any media address is IPv6.  UDP gets its buffers and receive
 * timestamps; TCP listens (ICE-TCP, ice_tcp.h). */
static int open_media_socket(const cfg_t *cfg, int type, uint16_t port, char *err, size_t errcap)
{
    bool v6 = false;
    for (size_t i = 0; i < cfg->media_ip_count; i++)
        if (strchr(cfg->media_ips[i], ':') != NULL)
            v6 = true;
    int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    int size = 4 << 20, off = 0, on = 1;
    if (type == SOCK_DGRAM) {
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)); /* dwell sampling */
        /* 4 MiB holds ~80 ms of a busy worker's input: a worker descheduled
         * for a moment must not drop media.  The kernel caps SO_RCVBUF at
         * net.core.rmem_max (208 KiB by default, docs/ADMIN.md); with
         * CAP_NET_ADMIN the *FORCE options go past it. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    } else {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)); /* a restart finds its port despite TIME_WAIT */
    }
    int rc;
    if (v6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)); /* dual stack */
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
        rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY};
        rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    }
    if (rc != 0 || (type == SOCK_STREAM && listen(fd, 128) != 0))
        goto fail;
    return fd;
fail:
    snprintf(err, errcap, "media %s port %u: %s", type == SOCK_DGRAM ? "UDP" : "TCP", port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static worker_t *worker_new(worker_pool_t *wp, const cfg_t *cfg, const struct dtls_cert *cert, unsigned index,
                            char *err, size_t errcap)
{
    uint16_t port = (uint16_t)(cfg->media_port + index);
    uint16_t tcp_port = cfg->media_tcp_port ? (uint16_t)(cfg->media_tcp_port + index) : 0;
    int fd = open_media_socket(cfg, SOCK_DGRAM, port, err, errcap), tcp_fd = -1;
    if (fd < 0)
        return NULL;
    if (tcp_port != 0 && (tcp_fd = open_media_socket(cfg, SOCK_STREAM, tcp_port, err, errcap)) < 0) {
        close(fd);
        return NULL;
    }
    int pipe_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pipe_fd < 0) {
        snprintf(err, errcap, "eventfd: %s", strerror(errno));
        close(fd);
        if (tcp_fd >= 0)
            close(tcp_fd);
        return NULL;
    }
    worker_t *w = xcalloc(1, sizeof(*w));
    w->pool = wp;
    w->pipe_fd = pipe_fd;
    w->cfg = cfg;
    w->index = index;
    w->port = port;
    w->tcp_port = tcp_port;
    w->fd = fd;
    w->tcp_fd = tcp_fd;
    w->cert = cert;
    const char *gso = getenv("IRTC_UDP_GSO"); /* "off": for before/after measurements (docs/BENCHMARKS.md) */
    w->gso = gso == NULL || strcmp(gso, "off") != 0;
    sem_init(&w->ready, 0, 0);
    return w;
}

static void worker_join(worker_t *w)
{
    if (!w->thread_started)
        return;
    worker_msg_t *stop = xcalloc(1, sizeof(*stop));
    stop->run = on_stop;
    worker_post(w, stop);
    pthread_join(w->tid, NULL);
    w->thread_started = false;
}

/* The thread has closed its sockets (worker_close); a worker whose thread
 * never started still owns its bare UDP descriptor. */
static void worker_free(worker_t *w)
{
    if (w->udp == NULL) {
        close(w->fd);
        if (w->tcp_fd >= 0)
            close(w->tcp_fd);
    }
    close(w->pipe_fd);
    event_pool_free(w);
    sem_destroy(&w->ready);
    free(w);
}

int worker_pool_start(const cfg_t *cfg, const struct dtls_cert *cert, h2o_evloop_t *control_loop, worker_pool_t **out,
                      char *err, size_t errcap)
{
    worker_pool_t *wp = xcalloc(1, sizeof(*wp));
    wp->control_loop = control_loop;
    wp->control_queue = h2o_multithread_create_queue(control_loop);
    h2o_multithread_register_receiver(wp->control_queue, &wp->control_receiver, on_control_messages);
    unsigned n = cfg_worker_count(cfg);
    wp->workers = xcalloc(n, sizeof(*wp->workers));
    for (unsigned i = 0; i < n; i++) {
        worker_t *w = worker_new(wp, cfg, cert, i, err, errcap);
        if (w == NULL) {
            worker_pool_stop(wp);
            return IRTC_EIO;
        }
        wp->workers[wp->count++] = w;
        h2o_multithread_create_thread(&w->tid, NULL, worker_main, w);
        w->thread_started = true;
        while (sem_wait(&w->ready) != 0) /* EINTR: retry */
            ;
    }
    h2o_timeout_init(control_loop, &wp->ping_timeout, WORKER_PING_INTERVAL_MS);
    wp->ping_entry.cb = on_ping_timer;
    on_ping_timer(&wp->ping_entry);
    if (cfg->media_tcp_port != 0)
        log_info("media", "%u media worker(s) on UDP ports %u-%u, ICE-TCP ports %u-%u", n, cfg->media_port,
                 cfg->media_port + n - 1, cfg->media_tcp_port, cfg->media_tcp_port + n - 1);
    else
        log_info("media", "%u media worker(s) on UDP ports %u-%u", n, cfg->media_port, cfg->media_port + n - 1);
    *out = wp;
    return IRTC_OK;
}

void worker_pool_stop(worker_pool_t *wp)
{
    if (wp == NULL)
        return;
    if (h2o_timeout_is_linked(&wp->ping_entry))
        h2o_timeout_unlink(&wp->ping_entry);
    for (unsigned i = 0; i < wp->count; i++)
        worker_join(wp->workers[i]);
    /* Replies already queued for the control thread (pongs) still point at the
     * workers: run them while the workers exist, then free. */
    h2o_evloop_run(wp->control_loop, 0);
    for (unsigned i = 0; i < wp->count; i++)
        worker_free(wp->workers[i]);
    h2o_multithread_unregister_receiver(wp->control_queue, &wp->control_receiver);
    h2o_multithread_destroy_queue(wp->control_queue);
    free(wp->control_queue);
    if (wp->ping_entry.cb != NULL)
        h2o_timeout_dispose(wp->control_loop, &wp->ping_timeout);
    free(wp->workers);
    free(wp);
}

unsigned worker_pool_size(const worker_pool_t *wp)
{
    return wp->count;
}

worker_t *worker_pool_get(worker_pool_t *wp, unsigned i)
{
    return i < wp->count ? wp->workers[i] : NULL;
}

uint16_t worker_port(const worker_t *w)
{
    return w->port;
}

uint16_t worker_tcp_port(const worker_t *w)
{
    return w->tcp_port;
}

int worker_pipe_fd(const worker_t *w)
{
    return w->pipe_fd;
}

unsigned worker_index(const worker_t *w)
{
    return w->index;
}

const worker_stats_t *worker_stats(const worker_t *w)
{
    return &w->stats;
}

h2o_evloop_t *worker_loop(worker_t *w)
{
    return w->loop;
}
