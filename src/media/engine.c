/*
 * engine.c — one worker's SFU engine: finds the transport a datagram belongs
 * to (by 5-tuple, or by ICE ufrag for a connectivity check), runs the control
 * thread's commands, and runs each transport's timers when they are due
 * (a binary heap of deadlines, so an idle transport costs nothing per tick).
 * See engine.h.
 */
#include "media/engine.h"
#include "core/common.h"
#include "core/log.h"
#include "media/consumer.h"
#include "media/dtls.h"
#include "media/pipe.h"
#include "media/producer.h"
#include "media/rtp.h"
#include "media/stun.h"
#include "media/stun_limit.h"
#include "media/sctp.h"
#include "media/transport.h"
#include "core/spsc_ring.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define ENGINE_BUCKETS 4096 /* power of two; chains stay short up to thousands of objects */

struct engine {
    mx_ctx_t ctx; /* what transports, producers and consumers see of the engine */
    size_t n_transports;
    transport_t *by_id[ENGINE_BUCKETS];
    transport_t *by_addr[ENGINE_BUCKETS];
    transport_t *by_ufrag[ENGINE_BUCKETS];
    producer_t *producers[ENGINE_BUCKETS];
    consumer_t *consumers[ENGINE_BUCKETS];
    stun_limit_t stun_401;
    transport_t **heap; /* by due_ms */
    size_t heap_len, heap_cap;
    bool has_sctp; /* a transport accepted data channels: this worker drives usrsctp's clock too */
    /* A room spanning workers: the pipes this worker feeds (home side, to
     * wake their remote workers at the end of a turn) and the producers
     * pipes feed here (remote side, portless: pipe_port stands in). */
    mx_pipe_t **out_pipes;
    size_t n_out_pipes, cap_out_pipes;
    producer_t **pipe_producers;
    size_t n_pipe_producers, cap_pipe_producers;
    uint64_t pipe_timer_ms;
    mx_port_t pipe_port;
    producer_t *fanout_head; /* producers holding packets for a deferred fan-out */
};

#define ENGINE_PIPE_TIMER_MS 20 /* a pipe producer's keyframe requests go home this often, as a transport's timer */

size_t engine_transport_count(const engine_t *e)
{
    return e->n_transports;
}

static uint32_t fnv(const uint8_t *p, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t id_bucket(uint64_t id)
{
    return fnv((const uint8_t *)&id, sizeof(id), 2166136261u) & (ENGINE_BUCKETS - 1);
}

static uint32_t addr_bucket(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
        return fnv((const uint8_t *)&s->sin6_port, 2, fnv(s->sin6_addr.s6_addr, 16, 2166136261u)) &
               (ENGINE_BUCKETS - 1);
    }
    const struct sockaddr_in *s = (const struct sockaddr_in *)a;
    return fnv((const uint8_t *)&s->sin_port, 2, fnv((const uint8_t *)&s->sin_addr.s_addr, 4, 2166136261u)) &
           (ENGINE_BUCKETS - 1);
}

static uint32_t ufrag_bucket(const uint8_t *u, size_t n)
{
    return fnv(u, n, 2166136261u) & (ENGINE_BUCKETS - 1);
}

/* ---- lookup tables ---- */

static transport_t *find_transport(engine_t *e, uint64_t id)
{
    for (transport_t *t = e->by_id[id_bucket(id)]; t; t = t->id_next)
        if (t->id == id)
            return t;
    return NULL;
}

static producer_t *find_producer(engine_t *e, uint64_t id)
{
    for (producer_t *p = e->producers[id_bucket(id)]; p; p = p->id_next)
        if (p->id == id)
            return p;
    return NULL;
}

static consumer_t *find_consumer(engine_t *e, uint64_t id)
{
    for (consumer_t *c = e->consumers[id_bucket(id)]; c; c = c->id_next)
        if (c->id == id)
            return c;
    return NULL;
}

static transport_t *find_by_addr(engine_t *e, const mx_tuple_t *a)
{
    for (transport_t *t = e->by_addr[addr_bucket((const struct sockaddr *)&a->addr)]; t; t = t->addr_next)
        if (mx_tuple_equal(&t->remote, a))
            return t;
    return NULL;
}

static transport_t *find_by_ufrag(engine_t *e, const uint8_t *u, size_t n)
{
    for (transport_t *t = e->by_ufrag[ufrag_bucket(u, n)]; t; t = t->ufrag_next)
        if (strlen(t->d.ufrag) == n && memcmp(t->d.ufrag, u, n) == 0)
            return t;
    return NULL;
}

#define UNLINK(head, obj, next_field)                                                                                  \
    do {                                                                                                               \
        __typeof__(obj) *pp_ = &(head);                                                                                \
        while (*pp_ && *pp_ != (obj))                                                                                  \
            pp_ = &(*pp_)->next_field;                                                                                 \
        if (*pp_)                                                                                                      \
            *pp_ = (obj)->next_field;                                                                                  \
        (obj)->next_field = NULL;                                                                                      \
    } while (0)

static void addr_unlink(engine_t *e, transport_t *t)
{
    if (t->has_remote)
        UNLINK(e->by_addr[addr_bucket((const struct sockaddr *)&t->remote.addr)], t, addr_next);
}

static bool bind_addr(void *engine, transport_t *t, const mx_tuple_t *a)
{
    engine_t *e = engine;
    transport_t *owner = find_by_addr(e, a);
    if (owner == t)
        return true;
    if (owner != NULL || a->len > sizeof(t->remote.addr))
        return false;
    addr_unlink(e, t);
    t->remote = *a;
    t->has_remote = true;
    uint32_t b = addr_bucket((const struct sockaddr *)&a->addr);
    t->addr_next = e->by_addr[b];
    e->by_addr[b] = t;
    return true;
}

static void ufrag_link(engine_t *e, transport_t *t)
{
    uint32_t b = ufrag_bucket((const uint8_t *)t->d.ufrag, strlen(t->d.ufrag));
    t->ufrag_next = e->by_ufrag[b];
    e->by_ufrag[b] = t;
}

static void reindex_ufrag(void *engine, transport_t *t, const char *old)
{
    engine_t *e = engine;
    UNLINK(e->by_ufrag[ufrag_bucket((const uint8_t *)old, strlen(old))], t, ufrag_next);
    ufrag_link(e, t);
}

/* ---- the timer heap ---- */

static void heap_swap(engine_t *e, size_t i, size_t j)
{
    transport_t *a = e->heap[i];
    e->heap[i] = e->heap[j];
    e->heap[j] = a;
    e->heap[i]->heap_idx = i;
    e->heap[j]->heap_idx = j;
}

static void heap_up(engine_t *e, size_t i)
{
    while (i > 0 && e->heap[(i - 1) / 2]->due_ms > e->heap[i]->due_ms) {
        heap_swap(e, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(engine_t *e, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->heap_len && e->heap[l]->due_ms < e->heap[m]->due_ms)
            m = l;
        if (r < e->heap_len && e->heap[r]->due_ms < e->heap[m]->due_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(e, i, m);
        i = m;
    }
}

static void heap_push(engine_t *e, transport_t *t)
{
    if (e->heap_len == e->heap_cap) {
        e->heap_cap = e->heap_cap ? e->heap_cap * 2 : 64;
        e->heap = xrealloc(e->heap, e->heap_cap * sizeof(*e->heap));
    }
    t->heap_idx = e->heap_len;
    e->heap[e->heap_len++] = t;
    heap_up(e, t->heap_idx);
}

static void heap_remove(engine_t *e, transport_t *t)
{
    size_t i = t->heap_idx;
    if (i >= e->heap_len || e->heap[i] != t)
        return;
    heap_swap(e, i, e->heap_len - 1);
    e->heap_len--;
    if (i < e->heap_len) {
        heap_up(e, i);
        heap_down(e, i);
    }
}

static void fanout_queued(void *engine, producer_t *p)
{
    engine_t *e = engine;
    p->fanout_next = e->fanout_head;
    e->fanout_head = p;
}

void engine_fanout(engine_t *e)
{
    while (e->fanout_head != NULL) {
        producer_t *p = e->fanout_head;
        e->fanout_head = p->fanout_next;
        p->fanout_listed = false;
        producer_fanout(p);
    }
}

void engine_set_deferred_fanout(engine_t *e, bool on)
{
    engine_fanout(e);
    e->ctx.defer_fanout = on;
}

uint64_t engine_on_timer(engine_t *e, uint64_t now_us)
{
    engine_fanout(e);
    e->ctx.now_us = now_us;
    uint64_t now_ms = now_us / 1000;
    if (e->has_sctp)
        sctp_clock(now_ms);
    if (e->n_pipe_producers > 0) {
        engine_drain_pipes(e, now_us); /* a wake-up lost to a full eventfd counter costs at most one tick */
        if (now_ms - e->pipe_timer_ms >= ENGINE_PIPE_TIMER_MS) {
            e->pipe_timer_ms = now_ms;
            for (size_t i = 0; i < e->n_pipe_producers; i++)
                producer_on_timer(e->pipe_producers[i], now_ms);
        }
    }
    while (e->heap_len > 0 && e->heap[0]->due_ms <= now_ms) {
        transport_t *t = e->heap[0];
        t->due_ms = transport_on_timer(t, now_ms);
        if (t->due_ms <= now_ms)
            t->due_ms = now_ms + 1;
        heap_down(e, 0);
    }
    return e->heap_len ? e->heap[0]->due_ms * 1000 : now_us + 1000000;
}

/* ---- datagrams ---- */

static void on_stun(engine_t *e, uint8_t *buf, size_t len, const mx_tuple_t *from)
{
    stun_msg_t m;
    if (stun_parse(buf, len, &m, NULL) != IRTC_OK || m.method != STUN_METHOD_BINDING) {
        atomic_fetch_add_explicit(&e->ctx.stats->drop_malformed, 1, memory_order_relaxed);
        return;
    }
    transport_t *t = NULL;
    if (m.cls == STUN_CLASS_INDICATION) {
        t = find_by_addr(e, from); /* keepalives carry no USERNAME */
    } else if (m.cls == STUN_CLASS_REQUEST) {
        const uint8_t *su, *cu;
        size_t sl, cl;
        if (m.username != NULL && stun_username_split(m.username, m.username_len, &su, &sl, &cu, &cl) == IRTC_OK)
            t = find_by_ufrag(e, su, sl);
    }
    if (t == NULL) {
        /* No answer for a ufrag we do not have: a 401 would reflect 1.7× the
         * bytes to a forged source, and a client whose transport is still
         * being installed (the answer can overtake the command) simply
         * retransmits its check — libnice takes a 401 as final. */
        atomic_fetch_add_explicit(&e->ctx.stats->drop_stun_unknown, 1, memory_order_relaxed);
        return;
    }
    transport_on_stun(t, buf, len, &m, from, e->ctx.now_us / 1000);
}

void engine_on_packet(engine_t *e, uint8_t *buf, size_t len, const mx_tuple_t *from, uint64_t now_us)
{
    e->ctx.now_us = now_us;
    rtp_kind_t kind = rtp_classify(buf, len);
    if (kind == RTP_KIND_STUN) {
        on_stun(e, buf, len, from);
        return;
    }
    transport_t *t = find_by_addr(e, from);
    if (t == NULL) {
        atomic_fetch_add_explicit(&e->ctx.stats->drop_unknown_source, 1, memory_order_relaxed);
        return;
    }
    uint64_t now_ms = now_us / 1000;
    switch (kind) {
    case RTP_KIND_DTLS:
        transport_on_dtls(t, buf, len, now_ms);
        break;
    case RTP_KIND_RTP:
        transport_on_rtp(t, buf, len, now_ms);
        break;
    case RTP_KIND_RTCP:
        transport_on_rtcp(t, buf, len, now_ms);
        break;
    default:
        atomic_fetch_add_explicit(&e->ctx.stats->drop_malformed, 1, memory_order_relaxed);
    }
}

void engine_on_tuple_gone(engine_t *e, const mx_tuple_t *tuple)
{
    transport_t *t = find_by_addr(e, tuple);
    if (t == NULL)
        return;
    addr_unlink(e, t);
    transport_lost_remote(t);
}

/* ---- commands ---- */

static void ptr_remove(void **arr, size_t *n, const void *x)
{
    for (size_t i = 0; i < *n; i++) {
        if (arr[i] == x) {
            arr[i] = arr[--*n];
            return;
        }
    }
}

static void ptr_add(void ***arr, size_t *n, size_t *cap, void *x)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *arr = xrealloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[(*n)++] = x;
}

static void close_producer(engine_t *e, producer_t *p)
{
    if (p->fanout_listed)
        UNLINK(e->fanout_head, p, fanout_next);
    UNLINK(e->producers[id_bucket(p->id)], p, id_next);
    for (unsigned i = 0; i < p->n_pipes; i++)
        ptr_remove((void **)e->out_pipes, &e->n_out_pipes, p->pipes[i]);
    MX_COUNT(&e->ctx, pipes_out, -(uint64_t)p->n_pipes);
    if (p->pipe_in != NULL) {
        ptr_remove((void **)e->pipe_producers, &e->n_pipe_producers, p);
        MX_COUNT(&e->ctx, pipes_in, -(uint64_t)1);
    } else
        transport_remove_producer((transport_t *)p->port, p);
    producer_free(p);
}

static void close_consumer(engine_t *e, consumer_t *c)
{
    UNLINK(e->consumers[id_bucket(c->id)], c, id_next);
    producer_t *p = c->src != NULL ? find_producer(e, c->d.producer_id) : NULL;
    if (p != NULL)
        producer_remove_consumer(p, c);
    transport_remove_consumer((transport_t *)c->port, c);
    consumer_free(c);
}

static void open_transport(engine_t *e, uint64_t id, const engine_transport_desc_t *d)
{
    if (find_transport(e, id) != NULL)
        return;
    transport_t *t = transport_new(&e->ctx, id, d, e->ctx.now_us / 1000);
    e->has_sctp |= d->data;
    uint32_t b = id_bucket(id);
    t->id_next = e->by_id[b];
    e->by_id[b] = t;
    ufrag_link(e, t);
    t->due_ms = e->ctx.now_us / 1000;
    heap_push(e, t);
    e->n_transports++;
}

static void close_transport(engine_t *e, transport_t *t)
{
    while (t->n_consumers > 0)
        close_consumer(e, t->consumers[0]);
    while (t->n_producers > 0)
        close_producer(e, t->producers[0]);
    UNLINK(e->by_id[id_bucket(t->id)], t, id_next);
    UNLINK(e->by_ufrag[ufrag_bucket((const uint8_t *)t->d.ufrag, strlen(t->d.ufrag))], t, ufrag_next);
    addr_unlink(e, t);
    heap_remove(e, t);
    e->n_transports--;
    transport_free(t);
}

static void add_producer(engine_t *e, engine_cmd_t *cmd)
{
    transport_t *t = find_transport(e, cmd->transport_id);
    if (t == NULL || find_producer(e, cmd->id) != NULL)
        return;
    producer_t *p = producer_new(&t->port, cmd->id, &cmd->u.producer);
    transport_add_producer(t, p);
    uint32_t b = id_bucket(p->id);
    p->id_next = e->producers[b];
    e->producers[b] = p;
    transport_announce(t, ENGINE_EV_PRODUCER_READY, p->id);
}

/* The pipe producer's stand-in transport: it sends nothing (its keyframe
 * requests take the pipe back, producer.c; it never NACKs). */
static uint8_t *pipe_port_tx_buffer(mx_port_t *p)
{
    (void)p;
    return NULL;
}

static void pipe_port_send(mx_port_t *p, uint8_t *buf, size_t len)
{
    (void)p, (void)buf, (void)len;
}

static const mx_port_ops_t pipe_port_ops = {.tx_buffer = pipe_port_tx_buffer,
                                            .send_rtp = pipe_port_send,
                                            .send_rtcp = pipe_port_send};

static void add_pipe_producer(engine_t *e, engine_cmd_t *cmd)
{
    if (cmd->pipe == NULL || find_producer(e, cmd->id) != NULL)
        return;
    engine_producer_desc_t d = cmd->u.producer;
    d.nack = false; /* losses upstream are the home worker's to recover */
    producer_t *p = producer_new(&e->pipe_port, cmd->id, &d);
    p->pipe_in = cmd->pipe;
    cmd->pipe = NULL;
    ptr_add((void ***)&e->pipe_producers, &e->n_pipe_producers, &e->cap_pipe_producers, p);
    MX_COUNT(&e->ctx, pipes_in, 1);
    uint32_t b = id_bucket(p->id);
    p->id_next = e->producers[b];
    e->producers[b] = p;
}

static void add_pipe_out(engine_t *e, engine_cmd_t *cmd)
{
    producer_t *p = find_producer(e, cmd->id);
    if (cmd->pipe == NULL || p == NULL || p->pipe_in != NULL)
        return;
    ptr_add((void ***)&e->out_pipes, &e->n_out_pipes, &e->cap_out_pipes, cmd->pipe);
    producer_add_pipe(p, cmd->pipe);
    cmd->pipe = NULL;
    MX_COUNT(&e->ctx, pipes_out, 1);
}

void engine_flush_pipes(engine_t *e)
{
    for (size_t i = 0; i < e->n_out_pipes; i++)
        pipe_wake(e->out_pipes[i]);
}

void engine_drain_pipes(engine_t *e, uint64_t now_us)
{
    e->ctx.now_us = now_us;
    for (size_t i = 0; i < e->n_pipe_producers; i++)
        producer_pipe_drain(e->pipe_producers[i], now_us / 1000);
    engine_fanout(e);
}

static void add_consumer(engine_t *e, engine_cmd_t *cmd)
{
    transport_t *t = find_transport(e, cmd->transport_id);
    if (t == NULL || find_consumer(e, cmd->id) != NULL)
        return;
    producer_t *p = find_producer(e, cmd->u.consumer.producer_id);
    consumer_t *c = consumer_new(&t->port, cmd->id, &cmd->u.consumer, p ? &p->src : NULL);
    transport_add_consumer(t, c);
    if (p != NULL)
        producer_add_consumer(p, c);
    uint32_t b = id_bucket(c->id);
    c->id_next = e->consumers[b];
    e->consumers[b] = c;
    consumer_update_layer(c, e->ctx.now_us / 1000);
    transport_announce(t, ENGINE_EV_CONSUMER_READY, c->id);
}

void engine_on_command(engine_t *e, engine_cmd_t *cmd)
{
    engine_fanout(e); /* what arrived before the command goes out under the state before it */
    e->ctx.now_us = e->ctx.io.now_us(e->ctx.io.ctx);
    uint64_t now_ms = e->ctx.now_us / 1000;
    transport_t *t;
    producer_t *p;
    consumer_t *c;
    switch (cmd->type) {
    case ENGINE_CMD_TRANSPORT_OPEN:
        open_transport(e, cmd->id, &cmd->u.transport);
        break;
    case ENGINE_CMD_TRANSPORT_ICE:
        if ((t = find_transport(e, cmd->id)) != NULL)
            transport_set_ice(t, cmd->u.transport.ufrag, cmd->u.transport.pwd);
        break;
    case ENGINE_CMD_TRANSPORT_CLOSE:
        if ((t = find_transport(e, cmd->id)) != NULL)
            close_transport(e, t);
        break;
    case ENGINE_CMD_PRODUCER_ADD:
        add_producer(e, cmd);
        break;
    case ENGINE_CMD_PRODUCER_CLOSE:
        if ((p = find_producer(e, cmd->id)) != NULL)
            close_producer(e, p);
        break;
    case ENGINE_CMD_PRODUCER_MUTE:
        if ((p = find_producer(e, cmd->id)) != NULL)
            producer_set_muted(p, cmd->flag, now_ms);
        break;
    case ENGINE_CMD_PRODUCER_KEYFRAME:
        if ((p = find_producer(e, cmd->id)) != NULL)
            for (unsigned i = 0; i < p->src.n_enc; i++)
                producer_request_keyframe(p, i, true, now_ms);
        break;
    case ENGINE_CMD_CONSUMER_ADD:
        add_consumer(e, cmd);
        break;
    case ENGINE_CMD_CONSUMER_CLOSE:
        if ((c = find_consumer(e, cmd->id)) != NULL)
            close_consumer(e, c);
        break;
    case ENGINE_CMD_CONSUMER_LAYER:
        if ((c = find_consumer(e, cmd->id)) != NULL)
            consumer_set_preferred_layer(c, cmd->layer, now_ms);
        break;
    case ENGINE_CMD_TAP_ADD:
        if ((p = find_producer(e, cmd->id)) != NULL) {
            producer_add_tap(p, cmd->ring, now_ms);
            cmd->ring = NULL;
        }
        break;
    case ENGINE_CMD_TAP_DEL:
        if ((p = find_producer(e, cmd->id)) != NULL)
            producer_remove_tap(p, cmd->ring);
        cmd->ring = NULL; /* only compared: the producer dropped its own reference */
        break;
    case ENGINE_CMD_TRANSPORT_DATA:
        if ((t = find_transport(e, cmd->id)) != NULL)
            transport_enable_data(t, &cmd->u.transport);
        e->has_sctp |= cmd->u.transport.data;
        break;
    case ENGINE_CMD_DATA_SEND:
        if ((t = find_transport(e, cmd->id)) != NULL)
            transport_send_data(t, cmd->flag, cmd->binary, cmd->data, cmd->data_len);
        break;
    case ENGINE_CMD_PIPE_IN:
        add_pipe_producer(e, cmd);
        break;
    case ENGINE_CMD_PIPE_OUT:
        add_pipe_out(e, cmd);
        break;
    case ENGINE_CMD_PIPE_DEL:
        if ((p = find_producer(e, cmd->id)) != NULL && producer_remove_pipe(p, cmd->pipe)) {
            ptr_remove((void **)e->out_pipes, &e->n_out_pipes, cmd->pipe);
            MX_COUNT(&e->ctx, pipes_out, -(uint64_t)1);
        }
        cmd->pipe = NULL; /* only compared: the producer dropped its own reference */
        break;
    }
    if (cmd->pipe != NULL) { /* PIPE_IN / PIPE_OUT that found no place: nothing flows */
        pipe_unref(cmd->pipe);
        cmd->pipe = NULL;
    }
    free(cmd->data);
    cmd->data = NULL;
    if (cmd->type == ENGINE_CMD_TAP_ADD && cmd->ring != NULL) { /* no such producer: the recorder sees no data */
        spsc_ring_unref(cmd->ring);
        cmd->ring = NULL;
    }
}

/* ---- life ---- */

engine_t *engine_new(const engine_io_t *io, const struct dtls_cert *cert, engine_stats_t *stats)
{
    engine_t *e = xcalloc(1, sizeof(*e));
    e->ctx.io = *io;
    e->ctx.stats = stats;
    e->ctx.now_us = io->now_us(io->ctx);
    e->ctx.engine = e;
    e->ctx.bind_addr = bind_addr;
    e->ctx.reindex_ufrag = reindex_ufrag;
    e->ctx.fanout_queued = fanout_queued;
    e->pipe_port.ops = &pipe_port_ops;
    e->pipe_port.ctx = &e->ctx;
    stun_limit_init(&e->stun_401, mx_now_ms(&e->ctx));
    e->ctx.stun_401 = &e->stun_401;
    char err[256];
    e->ctx.dtls = cert ? dtls_ctx_new(cert, NULL, err, sizeof(err)) : NULL;
    if (cert != NULL && e->ctx.dtls == NULL)
        log_error("media", "DTLS context: %s", err);
    return e;
}

void engine_free(engine_t *e)
{
    if (e == NULL)
        return;
    e->ctx.now_us = e->ctx.io.now_us(e->ctx.io.ctx);
    e->fanout_head = NULL; /* closing: what was held is not sent */
    while (e->heap_len > 0)
        close_transport(e, e->heap[0]);
    while (e->n_pipe_producers > 0)
        close_producer(e, e->pipe_producers[0]);
    free(e->pipe_producers);
    free(e->out_pipes);
    dtls_ctx_free(e->ctx.dtls);
    free(e->heap);
    free(e);
}
