/*
 * cb_http.h — the callback sender's HTTP/1.1 client: one POST per
 * connection (Connection: close), over TCP or TLS, with one deadline for the
 * whole exchange (resolving, connecting, the handshake, the request and the
 * response headers) and a wake descriptor that aborts it at shutdown.
 * Written in blocking style over non-blocking sockets and poll(), for the
 * sender thread (and unit tests); internal to src/record.
 */
#ifndef IRTC_CB_HTTP_H
#define IRTC_CB_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callback/callback.h"

typedef struct cb_http cb_http_t;

/* The TLS client context: peers are verified against the system's CA store
 * plus ca_file when it is non-empty; NULL with err when ca_file holds no
 * usable certificate.  A cb_http_t serves one thread at a time. */
cb_http_t *cb_http_new(const char *ca_file, char *err, size_t errcap);
void cb_http_free(cb_http_t *h);

typedef struct {
    int status;      /* the final HTTP status; 0 when none arrived */
    char error[512]; /* "" after a 2xx, otherwise what went wrong */
} cb_http_result_t;

/* How the caller aborts a request: when wake_fd (an eventfd, or -1 for none)
 * becomes readable the client reads it and gives up if *stop is set; a wake
 * without stop is consumed and the request goes on. */
typedef struct {
    int wake_fd;
    const _Atomic bool *stop;
} cb_http_cancel_t;

/* POSTs body (len bytes) to url as application/json with an X-HW-SIGN header
 * (left out when signature is NULL).  Returns IRTC_OK when a 2xx arrived;
 * IRTC_EAGAIN when stopped (whether the server got it is unknown);
 * IRTC_EIO, IRTC_EPROTO, IRTC_ECRYPTO (TLS) or IRTC_ELIMIT (timed out) with
 * res->error saying why; a non-2xx answer is IRTC_EPROTO with res->status. */
int cb_http_post(cb_http_t *h, const cb_url_t *url, const char *body, size_t len, const char *signature,
                 uint64_t timeout_ms, const cb_http_cancel_t *cancel, cb_http_result_t *res);

#endif
