/*
 * loop.h — the client core's event loop: one epoll set, a list of tickers
 * run every IC_TICK_US, and deferred calls that run after the current
 * dispatch (so an object can free itself, or another object, from inside a
 * callback without a later event of the same batch touching freed memory).
 *
 * Single-threaded: everything attached to a loop runs on the thread that
 * calls ic_loop_run.  Thousands of sockets and tickers per loop are the
 * intended load (irtc-loadgen); no timer heap, since every client object
 * has periodic work anyway (ICE consent, RTCP, pacing).
 *
 * Does not: own any socket, know the protocols, or block except in
 * epoll_wait.
 */
#ifndef IRTC_CLIENT_LOOP_H
#define IRTC_CLIENT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ic_loop ic_loop_t;

/* ---- the loop (part of the client API: client.h includes this) ---- */

/* A loop with its own DTLS certificate (ECDSA P-256, made now, ~1 ms).
 * srtp_profiles: OpenSSL's list for DTLS-SRTP, NULL for
 * "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80".  NULL with err set. */
ic_loop_t *ic_loop_new(const char *srtp_profiles, char *err, size_t errcap);
/* Frees the loop; free its clients first. */
void ic_loop_free(ic_loop_t *l);
/* One turn: waits at most max_wait_ms for sockets, then runs what is due
 * (events, ticks, deferred frees).  Returns IRTC_OK or IRTC_EIO. */
int ic_loop_run(ic_loop_t *l, int max_wait_ms);
/* The loop's clock: CLOCK_MONOTONIC µs, read once per turn. */
uint64_t ic_loop_now_us(const ic_loop_t *l);

/* ---- what the client core's objects attach to it ---- */

#define IC_TICK_US 5000

typedef struct ic_io ic_io_t;
typedef void (*ic_io_fn)(ic_io_t *io, uint32_t events);

/* Embedded in its owner; fd < 0 once removed (events still queued for it in
 * the current batch are then skipped). */
struct ic_io {
    int fd;
    ic_io_fn fn;
    void *obj;
};

typedef struct ic_tick ic_tick_t;
struct ic_tick {
    void (*fn)(ic_tick_t *t, uint64_t now_us);
    ic_tick_t *prev, *next;
    bool linked;
};

/* EPOLLIN / EPOLLOUT masks.  IRTC_OK or IRTC_EIO. */
int ic_io_add(ic_loop_t *l, ic_io_t *io, int fd, uint32_t events, ic_io_fn fn, void *obj);
int ic_io_mod(ic_loop_t *l, ic_io_t *io, uint32_t events);
/* Removes fd from the set (does not close it). */
void ic_io_del(ic_loop_t *l, ic_io_t *io);

void ic_tick_add(ic_loop_t *l, ic_tick_t *t);
void ic_tick_del(ic_loop_t *l, ic_tick_t *t);

/* Runs fn(arg) after the events of the current turn. */
void ic_loop_defer(ic_loop_t *l, void (*fn)(void *), void *arg);

/* The loop's shared DTLS client context and TLS (WebSocket) context. */
struct dtls_ctx *ic_loop_dtls(ic_loop_t *l);
const char *ic_loop_fingerprint(ic_loop_t *l);
struct ssl_ctx_st *ic_loop_tls(ic_loop_t *l);

#endif
