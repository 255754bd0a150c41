/*
 * guard.h — what the HTTPS front door refuses, as pure bookkeeping (no h2o,
 * no sockets, the caller passes the monotonic time): the connection caps per
 * source address and in total, the penalty a source gets for an abusive
 * connection, per-connection HTTP/2 frame budgets (rapid reset, SETTINGS,
 * PING and control-frame floods) read from the decrypted byte stream, the
 * HTTP/1.x framing headers that make request smuggling possible, and the
 * access-log budget of a connection.  server.c applies the verdicts to h2o.
 *
 * Threading: a guard_t and its connections belong to the control thread.
 * Does not: close anything, log, or count metrics (server.c does).
 */
#ifndef IRTC_HTTP_GUARD_H
#define IRTC_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tbucket.h"

/* A source whose connection was closed for abuse is refused this long. */
#define GUARD_PENALTY_MS 10000

/* HTTP/2 budgets per connection: burst, then per second.  A browser opens a
 * page with ~100 requests and cancels a few; the CVE-2023-44487 rapid reset
 * sends hundreds of thousands of HEADERS + RST_STREAM a second. */
#define GUARD_H2_RESETS_BURST 200
#define GUARD_H2_RESETS_RATE 20
#define GUARD_H2_STREAMS_BURST 1000
#define GUARD_H2_STREAMS_RATE 200
#define GUARD_H2_SETTINGS_BURST 20
#define GUARD_H2_SETTINGS_RATE 2
#define GUARD_H2_PINGS_BURST 20
#define GUARD_H2_PINGS_RATE 5
/* PRIORITY, WINDOW_UPDATE, CONTINUATION, empty DATA, unknown types. */
#define GUARD_H2_CONTROL_BURST 1000
#define GUARD_H2_CONTROL_RATE 500

/* Access-log lines per connection: a burst, then per second. */
#define GUARD_LOG_BURST 50
#define GUARD_LOG_RATE 5

/* ---- connection caps ---- */

typedef struct guard guard_t;
typedef struct guard_source guard_source_t;

typedef enum {
    GUARD_ADMIT = 0,
    GUARD_FULL,        /* max_total connections open */
    GUARD_SOURCE_FULL, /* max_per_source open from this address */
    GUARD_PENALIZED,   /* the address was caught abusing a connection */
} guard_admit_t;

guard_t *guard_new(unsigned max_total, unsigned max_per_source);
void guard_free(guard_t *g);

/* Counts a new connection from addr (4 bytes IPv4 or 16 bytes IPv6, network
 * order) unless a cap or a penalty refuses it.  On GUARD_ADMIT *src is the
 * source's entry, to hand back to guard_release when the connection closes. */
guard_admit_t guard_admit(guard_t *g, const uint8_t *addr, size_t alen, uint64_t now_ms, guard_source_t **src);
void guard_release(guard_t *g, guard_source_t *src, uint64_t now_ms);
/* Refuses new connections from src's address for GUARD_PENALTY_MS. */
void guard_penalize(guard_t *g, guard_source_t *src, uint64_t now_ms);
/* Connections open, in total and from addr. */
size_t guard_open(const guard_t *g);
size_t guard_open_from(const guard_t *g, const uint8_t *addr, size_t alen);
/* Source entries held (open connections or a penalty running). */
size_t guard_sources(const guard_t *g);
const char *guard_admit_name(guard_admit_t v);

/* ---- HTTP/2 frame budgets ---- */

typedef enum {
    GUARD_H2_OK = 0,
    GUARD_H2_RESETS,   /* RST_STREAM flood (rapid reset) */
    GUARD_H2_STREAMS,  /* HEADERS flood */
    GUARD_H2_SETTINGS, /* SETTINGS flood (each one is acknowledged) */
    GUARD_H2_PINGS,    /* PING flood (each one is answered) */
    GUARD_H2_CONTROL,  /* empty or control frames flood */
} guard_h2_verdict_t;

/* The frame headers of one connection's byte stream after the client
 * preface, and what is left of its budgets. */
typedef struct {
    uint32_t skip;  /* bytes of the preface or of a frame payload still to pass over */
    uint8_t hdr[9]; /* a frame header cut by a read */
    uint8_t hdr_len;
    uint64_t frames;
    tbucket_t resets, streams, settings, pings, control;
} guard_h2_t;

void guard_h2_init(guard_h2_t *h, uint64_t now_ms);
/* Reads n more bytes of the connection (any cut: a frame may span calls)
 * and spends the budgets of the frames they start.  Returns the first budget
 * found empty (the connection is abusive from then on), else GUARD_H2_OK. */
guard_h2_verdict_t guard_h2_feed(guard_h2_t *h, const uint8_t *p, size_t n, uint64_t now_ms);
const char *guard_h2_name(guard_h2_verdict_t v);

/* ---- HTTP/1.x framing ---- */

/* Checks the header block at the start of req (the raw request as received,
 * len bytes; lines end in CRLF or LF) for what a proxy and this server could
 * read differently (RFC 9112 §6.3): more than one Content-Length or
 * Transfer-Encoding line, or both.  IRTC_OK, or IRTC_EINVAL with a static
 * *why.  A block without its end within len is IRTC_OK (nothing to judge). */
int guard_http1_framing(const char *req, size_t len, const char **why);

#endif
