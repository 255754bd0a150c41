/*
 * ice_tcp.c — a worker's ICE-TCP listener and connections; see ice_tcp.h.
 *
 * Reading goes through h2o (it fills sock->input, frames are taken from it
 * in place); writing does not: h2o's writes queue without bound, so each
 * connection writes its own bounded queue with send(MSG_DONTWAIT) at every
 * flush of the worker until it is empty.  A connection is
 * closed only from its own read callback's end, the sweep timer or the
 * listener's teardown, never from inside the engine's call chain (a send
 * that fails just marks it dead), so no frame handler runs on a freed one.
 */
#include "media/ice_tcp.h"
#include "core/clock.h"
#include "core/common.h"
#include "media/tcpframe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ICE_TCP_MAX_FRAME ENGINE_TX_CAP /* no WebRTC packet is larger; a larger prefix is not a peer of ours */
#define ICE_TCP_ACCEPTS_PER_WAKE 64
#define ICE_TCP_SWEEP_MS 1000

typedef struct {
    struct ice_tcp *owner;
    uint32_t id;
    h2o_socket_t *sock;
    int fd;
    mx_tuple_t tuple;
    tcpframe_out_t out;
    uint64_t opened_ms, last_rx_ms;
    bool verified, dead, dirty; /* dirty: on the flush list (frames queued) */
} conn_t;

struct ice_tcp {
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
    conn_t **slots; /* by id & 0xFFFF */
    unsigned cap, n_open, max_per_source;
    uint16_t gen;
    uint32_t *dirty; /* connections with frames queued since the last flush */
    unsigned n_dirty;
    h2o_timeout_t sweep_timeout;
    h2o_timeout_entry_t sweep_entry;
    ice_tcp_cbs_t cbs;
    ice_tcp_stats_t *stats;
};

#define COUNT(it, field, n) atomic_fetch_add_explicit(&(it)->stats->field, (n), memory_order_relaxed)

static conn_t *lookup(ice_tcp_t *it, uint32_t id)
{
    unsigned slot = id & 0xFFFFu;
    conn_t *c = slot < it->cap ? it->slots[slot] : NULL;
    return c != NULL && c->id == id ? c : NULL;
}

static void close_conn(ice_tcp_t *it, conn_t *c, bool tell)
{
    if (tell && it->cbs.on_gone != NULL)
        it->cbs.on_gone(it->cbs.ctx, &c->tuple);
    if (c->dirty)
        for (unsigned i = 0; i < it->n_dirty; i++)
            if (it->dirty[i] == c->id) {
                it->dirty[i] = it->dirty[--it->n_dirty];
                break;
            }
    it->slots[c->id & 0xFFFFu] = NULL;
    it->n_open--;
    atomic_fetch_sub_explicit(&it->stats->open, 1, memory_order_relaxed);
    h2o_socket_read_stop(c->sock);
    h2o_socket_close(c->sock);
    tcpframe_out_dispose(&c->out);
    free(c);
}

/* ---- writing ---- */

/* Writes as much of c's queue as its socket takes now. */
static void write_out(conn_t *c)
{
    for (;;) {
        size_t len;
        const uint8_t *p = tcpframe_out_peek(&c->out, &len);
        if (p == NULL)
            return;
        ssize_t n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            tcpframe_out_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
            c->dead = true; /* reset by the peer: closed by the sweep or its read callback */
        return;
    }
}

void ice_tcp_send(ice_tcp_t *it, uint32_t id, const uint8_t *buf, size_t len)
{
    conn_t *c = lookup(it, id);
    if (c == NULL || c->dead)
        return;
    unsigned dropped = tcpframe_out_push(&c->out, buf, len);
    if (dropped)
        COUNT(it, tx_dropped, dropped);
    COUNT(it, tx_frames, 1);
    if (!c->dirty) {
        c->dirty = true;
        it->dirty[it->n_dirty++] = id;
    }
}

/* A connection whose socket is full stays on the list and is tried again
 * at the next flush (the worker flushes at least every tick, 5 ms), which
 * is simpler and no slower than waiting for h2o's write notification. */
void ice_tcp_flush(ice_tcp_t *it)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < it->n_dirty; i++) {
        conn_t *c = lookup(it, it->dirty[i]);
        if (c == NULL)
            continue;
        if (!c->dead)
            write_out(c);
        size_t left;
        if (!c->dead && tcpframe_out_peek(&c->out, &left) != NULL)
            it->dirty[kept++] = c->id;
        else
            c->dirty = false;
    }
    it->n_dirty = kept;
}

void ice_tcp_verified(ice_tcp_t *it, uint32_t id)
{
    conn_t *c = lookup(it, id);
    if (c != NULL)
        c->verified = true;
}

/* ---- reading ---- */

static void on_read(h2o_socket_t *sock, const char *err)
{
    conn_t *c = sock->data;
    ice_tcp_t *it = c->owner;
    if (err != NULL) {
        COUNT(it, closed[ICE_TCP_CLOSED_PEER], 1);
        close_conn(it, c, true);
        return;
    }
    c->last_rx_ms = clock_mono_ms();
    h2o_buffer_t *in = sock->input;
    size_t pos = 0, n;
    while (!c->dead) {
        int r = tcpframe_next((const uint8_t *)in->bytes + pos, in->size - pos, ICE_TCP_MAX_FRAME, &n);
        if (r == TCPFRAME_MORE)
            break;
        if (r == TCPFRAME_TOO_LONG) {
            COUNT(it, closed[ICE_TCP_CLOSED_BAD_FRAME], 1);
            close_conn(it, c, true);
            return;
        }
        COUNT(it, rx_frames, 1);
        it->cbs.on_frame(it->cbs.ctx, (uint8_t *)in->bytes + pos + TCPFRAME_HDR, n, &c->tuple);
        pos += TCPFRAME_HDR + n;
    }
    if (c->dead) {
        COUNT(it, closed[ICE_TCP_CLOSED_PEER], 1);
        close_conn(it, c, true);
        return;
    }
    h2o_buffer_consume(&sock->input, pos);
}

/* ---- accepting ---- */

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* A free slot, or cap when full; NULL-free slots hold no connection. */
static unsigned admit(ice_tcp_t *it, const struct sockaddr_storage *from)
{
    unsigned free_slot = it->cap, same = 0;
    for (unsigned i = 0; i < it->cap; i++) {
        if (it->slots[i] == NULL) {
            if (free_slot == it->cap)
                free_slot = i;
        } else if (same_host(&it->slots[i]->tuple.addr, from) && ++same >= it->max_per_source) {
            return it->cap;
        }
    }
    return free_slot;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    ice_tcp_t *it = listener->data;
    if (err != NULL)
        return;
    int lfd = h2o_socket_get_fd(listener);
    for (int k = 0; k < ICE_TCP_ACCEPTS_PER_WAKE; k++) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        int fd = accept4(lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: the next wake retries */
        unsigned slot = admit(it, &sa);
        if (slot == it->cap) {
            COUNT(it, refused, 1);
            close(fd);
            continue;
        }
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)); /* media, not bulk data */
        conn_t *c = xcalloc(1, sizeof(*c));
        if (++it->gen == 0)
            it->gen = 1;
        c->owner = it;
        c->id = (uint32_t)it->gen << 16 | slot;
        c->fd = fd;
        memcpy(&c->tuple.addr, &sa, salen);
        c->tuple.len = salen;
        c->tuple.conn = c->id;
        c->opened_ms = c->last_rx_ms = clock_mono_ms();
        tcpframe_out_init(&c->out, ICE_TCP_OUT_CAP);
        c->sock = h2o_evloop_socket_create(it->loop, fd, 0);
        c->sock->data = c;
        it->slots[slot] = c;
        it->n_open++;
        COUNT(it, accepted, 1);
        COUNT(it, open, 1);
        h2o_socket_read_start(c->sock, on_read);
    }
}

/* ---- the sweep: handshake and idle deadlines, dead connections ---- */

static void on_sweep(h2o_timeout_entry_t *entry)
{
    ice_tcp_t *it = H2O_STRUCT_FROM_MEMBER(ice_tcp_t, sweep_entry, entry);
    uint64_t now = clock_mono_ms();
    for (unsigned i = 0; i < it->cap; i++) {
        conn_t *c = it->slots[i];
        if (c == NULL)
            continue;
        if (c->dead) {
            COUNT(it, closed[ICE_TCP_CLOSED_PEER], 1);
            close_conn(it, c, true);
        } else if (!c->verified && now - c->opened_ms >= ICE_TCP_VERIFY_MS) {
            COUNT(it, closed[ICE_TCP_CLOSED_UNVERIFIED], 1);
            close_conn(it, c, true);
        } else if (now - c->last_rx_ms >= ICE_TCP_IDLE_MS) {
            COUNT(it, closed[ICE_TCP_CLOSED_IDLE], 1);
            close_conn(it, c, true);
        }
    }
    h2o_timeout_link(it->loop, &it->sweep_timeout, &it->sweep_entry);
}

/* ---- life ---- */

ice_tcp_t *ice_tcp_new(h2o_evloop_t *loop, int listen_fd, const cfg_t *cfg, const ice_tcp_cbs_t *cbs,
                       ice_tcp_stats_t *stats)
{
    ice_tcp_t *it = xcalloc(1, sizeof(*it));
    it->loop = loop;
    it->cbs = *cbs;
    it->stats = stats;
    it->cap = cfg->max_connections < ICE_TCP_MAX_CONNS ? cfg->max_connections : ICE_TCP_MAX_CONNS;
    it->max_per_source = cfg->max_connections_per_source;
    it->slots = xcalloc(it->cap, sizeof(*it->slots));
    it->dirty = xcalloc(it->cap, sizeof(*it->dirty));
    it->listener = h2o_evloop_socket_create(loop, listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    it->listener->data = it;
    h2o_socket_read_start(it->listener, on_accept);
    h2o_timeout_init(loop, &it->sweep_timeout, ICE_TCP_SWEEP_MS);
    it->sweep_entry.cb = on_sweep;
    h2o_timeout_link(loop, &it->sweep_timeout, &it->sweep_entry);
    return it;
}

void ice_tcp_free(ice_tcp_t *it)
{
    if (it == NULL)
        return;
    ice_tcp_flush(it); /* what the engine's teardown queued (close_notify) */
    for (unsigned i = 0; i < it->cap; i++)
        if (it->slots[i] != NULL)
            close_conn(it, it->slots[i], false);
    if (h2o_timeout_is_linked(&it->sweep_entry))
        h2o_timeout_unlink(&it->sweep_entry);
    h2o_timeout_dispose(it->loop, &it->sweep_timeout);
    h2o_socket_read_stop(it->listener);
    h2o_socket_close(it->listener);
    free(it->slots);
    free(it->dirty);
    free(it);
}
