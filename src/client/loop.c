/*
 * loop.c — the client core's epoll loop, tickers and deferred calls; also
 * owns what every client on the loop shares: the DTLS certificate and
 * context, and the TLS context of the signaling sockets.
 *
 * Runs on the thread that calls ic_loop_run.  Does not: know any protocol.
 */
#include "client/loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/clock.h"
#include "core/common.h"
#include "media/dtls.h"
#include "media/srtp_session.h"

#define MAX_EVENTS 256

typedef struct deferred {
    void (*fn)(void *);
    void *arg;
    struct deferred *next;
} deferred_t;

struct ic_loop {
    int ep;
    uint64_t now_us, next_tick_us;
    ic_tick_t *ticks;
    ic_tick_t *tick_next; /* the ticker after the one running (ic_tick_del keeps it valid) */
    deferred_t *deferred, **deferred_tail;
    dtls_cert_t *cert;
    dtls_ctx_t *dtls;
    SSL_CTX *tls;
};

ic_loop_t *ic_loop_new(const char *srtp_profiles, char *err, size_t errcap)
{
    if (sec_init_library() != IRTC_OK) {
        snprintf(err, errcap, "SRTP library init failed");
        return NULL;
    }
    ic_loop_t *l = xcalloc(1, sizeof(*l));
    l->deferred_tail = &l->deferred;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0) {
        snprintf(err, errcap, "epoll_create1: %s", strerror(errno));
        goto fail;
    }
    l->cert = dtls_cert_new(err, errcap);
    if (l->cert == NULL)
        goto fail;
    l->dtls = dtls_ctx_new(l->cert, srtp_profiles, err, errcap);
    if (l->dtls == NULL)
        goto fail;
    l->tls = SSL_CTX_new(TLS_client_method());
    if (l->tls == NULL) {
        snprintf(err, errcap, "SSL_CTX_new failed");
        goto fail;
    }
    /* The appliance's certificate is usually self-signed: not verified. */
    SSL_CTX_set_verify(l->tls, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(l->tls, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    l->now_us = clock_mono_us();
    l->next_tick_us = l->now_us + IC_TICK_US;
    return l;
fail:
    ic_loop_free(l);
    return NULL;
}

void ic_loop_free(ic_loop_t *l)
{
    if (l == NULL)
        return;
    while (l->deferred != NULL) {
        deferred_t *d = l->deferred;
        l->deferred = d->next;
        d->fn(d->arg);
        free(d);
    }
    if (l->ep >= 0)
        close(l->ep);
    dtls_ctx_free(l->dtls);
    dtls_cert_free(l->cert);
    SSL_CTX_free(l->tls);
    free(l);
}

uint64_t ic_loop_now_us(const ic_loop_t *l)
{
    return l->now_us;
}

struct dtls_ctx *ic_loop_dtls(ic_loop_t *l)
{
    return l->dtls;
}

const char *ic_loop_fingerprint(ic_loop_t *l)
{
    return dtls_cert_fingerprint(l->cert);
}

struct ssl_ctx_st *ic_loop_tls(ic_loop_t *l)
{
    return l->tls;
}

int ic_io_add(ic_loop_t *l, ic_io_t *io, int fd, uint32_t events, ic_io_fn fn, void *obj)
{
    io->fd = fd;
    io->fn = fn;
    io->obj = obj;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        io->fd = -1;
        return IRTC_EIO;
    }
    return IRTC_OK;
}

int ic_io_mod(ic_loop_t *l, ic_io_t *io, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    return io->fd >= 0 && epoll_ctl(l->ep, EPOLL_CTL_MOD, io->fd, &ev) == 0 ? IRTC_OK : IRTC_EIO;
}

void ic_io_del(ic_loop_t *l, ic_io_t *io)
{
    if (io->fd >= 0)
        epoll_ctl(l->ep, EPOLL_CTL_DEL, io->fd, NULL);
    io->fd = -1;
}

void ic_tick_add(ic_loop_t *l, ic_tick_t *t)
{
    if (t->linked)
        return;
    t->prev = NULL;
    t->next = l->ticks;
    if (l->ticks != NULL)
        l->ticks->prev = t;
    l->ticks = t;
    t->linked = true;
}

void ic_tick_del(ic_loop_t *l, ic_tick_t *t)
{
    if (!t->linked)
        return;
    if (l->tick_next == t)
        l->tick_next = t->next;
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        l->ticks = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    t->linked = false;
}

void ic_loop_defer(ic_loop_t *l, void (*fn)(void *), void *arg)
{
    deferred_t *d = xcalloc(1, sizeof(*d));
    d->fn = fn;
    d->arg = arg;
    *l->deferred_tail = d;
    l->deferred_tail = &d->next;
}

static void run_deferred(ic_loop_t *l)
{
    while (l->deferred != NULL) {
        deferred_t *d = l->deferred;
        l->deferred = d->next;
        if (l->deferred == NULL)
            l->deferred_tail = &l->deferred;
        d->fn(d->arg);
        free(d);
    }
}

int ic_loop_run(ic_loop_t *l, int max_wait_ms)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t now = clock_mono_us();
    int wait_ms = 0;
    if (l->next_tick_us > now)
        wait_ms = (int)((l->next_tick_us - now + 999) / 1000);
    if (wait_ms > max_wait_ms)
        wait_ms = max_wait_ms;
    int n = epoll_wait(l->ep, evs, MAX_EVENTS, wait_ms < 0 ? 0 : wait_ms);
    if (n < 0 && errno != EINTR)
        return IRTC_EIO;
    l->now_us = clock_mono_us();
    for (int i = 0; i < n; i++) {
        ic_io_t *io = evs[i].data.ptr;
        if (io->fd >= 0)
            io->fn(io, evs[i].events);
    }
    run_deferred(l);
    if (l->now_us >= l->next_tick_us) {
        /* Catch up without bursts: the next tick is one period from now. */
        l->next_tick_us = l->now_us + IC_TICK_US;
        for (ic_tick_t *t = l->ticks; t != NULL; t = l->tick_next) {
            l->tick_next = t->next;
            t->fn(t, l->now_us);
        }
        l->tick_next = NULL;
        run_deferred(l);
    }
    return IRTC_OK;
}
