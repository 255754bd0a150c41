/*
 * ws.h — a WebSocket client (RFC 6455) over TLS for the signaling socket:
 * non-blocking TCP connect, TLS handshake (OpenSSL, certificate not
 * verified), HTTP/1.1 upgrade with the Sec-WebSocket-Accept check, then
 * wslay for framing (masking, pings answered, fragmentation).
 *
 * Runs on its loop's thread.  Does not: reconnect, follow redirects, resolve
 * names (host is an IP literal), or speak HTTP/2.
 */
#ifndef IRTC_CLIENT_WS_H
#define IRTC_CLIENT_WS_H

#include <stddef.h>
#include <stdint.h>

#include "client/loop.h"

typedef struct ic_ws ic_ws_t;

typedef struct {
    void (*on_open)(void *user);
    void (*on_text)(void *user, const char *msg, size_t len);
    /* Once, when the socket ends for any reason after ic_ws_connect (not after
     * ic_ws_close): code is the peer's close code, or 1006 for a failure,
     * why a static string. */
    void (*on_close)(void *user, int code, const char *why);
} ic_ws_callbacks_t;

/* Starts connecting; NULL if the address is invalid or no socket can be made. */
ic_ws_t *ic_ws_connect(ic_loop_t *l, const char *host, uint16_t port, const char *path, const ic_ws_callbacks_t *cb,
                       void *user);
/* Queues one text message (sent when the socket is open).  IRTC_OK or
 * IRTC_ECONFLICT when closed. */
int ic_ws_send_text(ic_ws_t *ws, const char *msg, size_t len);
/* Closes at once (no close handshake, no callback) and frees (deferred). */
void ic_ws_close(ic_ws_t *ws);

#endif
