/*
 * ws.c — the signaling socket of the client core: TCP → TLS → HTTP upgrade
 * → wslay, all non-blocking on the loop.
 *
 * Runs on the loop's thread.  Messages queued before the socket is open are
 * kept and sent once it is.  Does not: verify certificates or reconnect.
 */
#include "client/ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <wslay/wslay.h>

#include "core/buf.h"
#include "core/common.h"
#include "core/crypto.h"

enum { WS_TCP, WS_TLS, WS_HTTP, WS_OPEN, WS_DEAD };

#define HTTP_MAX 4096

struct ic_ws {
    ic_loop_t *loop;
    ic_io_t io;
    int state;
    SSL *ssl;
    wslay_event_context_ptr ctx;
    ic_ws_callbacks_t cb;
    void *user;
    char host[64];
    uint16_t port;
    char path[128];
    char key[32];
    buf_t out_http; /* the upgrade request, until sent */
    size_t http_sent;
    char http_in[HTTP_MAX];
    size_t http_len;
    uint8_t *extra; /* bytes after the HTTP response: the first frames */
    size_t extra_len, extra_off;
    buf_t pending; /* messages queued before open: length-prefixed */
};

static void ws_fail(ic_ws_t *ws, int code, const char *why);

static void free_ws(void *arg)
{
    ic_ws_t *ws = arg;
    if (ws->ctx != NULL)
        wslay_event_context_free(ws->ctx);
    if (ws->ssl != NULL)
        SSL_free(ws->ssl);
    buf_dispose(&ws->out_http);
    buf_dispose(&ws->pending);
    free(ws->extra);
    free(ws);
}

static void teardown(ic_ws_t *ws)
{
    if (ws->state == WS_DEAD)
        return;
    ws->state = WS_DEAD;
    int fd = ws->io.fd;
    ic_io_del(ws->loop, &ws->io);
    if (fd >= 0)
        close(fd);
}

void ic_ws_close(ic_ws_t *ws)
{
    if (ws == NULL)
        return;
    teardown(ws);
    ic_loop_defer(ws->loop, free_ws, ws);
}

static void ws_fail(ic_ws_t *ws, int code, const char *why)
{
    if (ws->state == WS_DEAD)
        return;
    teardown(ws);
    if (ws->cb.on_close != NULL)
        ws->cb.on_close(ws->user, code, why);
}

/* Runs before the deferred free of an ic_ws_close in the same turn (the
 * loop keeps the order), which makes it a no-op then. */
static void fail_later(void *arg)
{
    ws_fail(arg, 1006, "send failed");
}

/* ---- wslay over SSL ---- */

/* An SSL_read/SSL_write result as wslay wants it: bytes, or -1 with
 * WOULDBLOCK (try again on the next event) or a failure. */
static ssize_t ssl_result(ic_ws_t *ws, wslay_event_context_ptr ctx, int n)
{
    if (n > 0)
        return n;
    int e = n == 0 && ws->state == WS_DEAD ? SSL_ERROR_SSL : SSL_get_error(ws->ssl, n);
    wslay_event_set_error(ctx, e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? WSLAY_ERR_WOULDBLOCK
                                                                                     : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user_data)
{
    ic_ws_t *ws = user_data;
    if (ws->state == WS_DEAD) /* closed from a callback: the fd may already be another socket's */
        return ssl_result(ws, ctx, 0);
    if (ws->extra_off < ws->extra_len) {
        size_t n = IRTC_MIN(len, ws->extra_len - ws->extra_off);
        memcpy(buf, ws->extra + ws->extra_off, n);
        ws->extra_off += n;
        return (ssize_t)n;
    }
    ERR_clear_error();
    return ssl_result(ws, ctx, SSL_read(ws->ssl, buf, (int)IRTC_MIN(len, (size_t)1 << 20)));
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user_data)
{
    ic_ws_t *ws = user_data;
    if (ws->state == WS_DEAD)
        return ssl_result(ws, ctx, 0);
    ERR_clear_error();
    return ssl_result(ws, ctx, SSL_write(ws->ssl, data, (int)IRTC_MIN(len, (size_t)1 << 20)));
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user_data)
{
    crypto_random(buf, len);
    return 0;
}

static void on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user_data)
{
    ic_ws_t *ws = user_data;
    if (arg->opcode == WSLAY_TEXT_FRAME && ws->cb.on_text != NULL && ws->state == WS_OPEN)
        ws->cb.on_text(ws->user, (const char *)arg->msg, arg->msg_length);
}

static void update_interest(ic_ws_t *ws)
{
    if (ws->state != WS_OPEN)
        return;
    uint32_t ev = EPOLLIN;
    if (wslay_event_want_write(ws->ctx))
        ev |= EPOLLOUT;
    ic_io_mod(ws->loop, &ws->io, ev);
}

static void drive_open(ic_ws_t *ws, uint32_t events)
{
    /* SSL may hold decrypted bytes the socket no longer signals: read while
     * wslay wants to, it stops at WOULDBLOCK. */
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && wslay_event_recv(ws->ctx) != 0) {
        ws_fail(ws, 1006, "connection lost");
        return;
    }
    if (ws->state != WS_OPEN)
        return; /* a callback closed it */
    if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) != 0) {
        ws_fail(ws, 1006, "send failed");
        return;
    }
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)) {
        uint16_t code = wslay_event_get_status_code_received(ws->ctx);
        ws_fail(ws, code == WSLAY_CODE_NO_STATUS_RCVD ? 1005 : code, "closed by the server");
        return;
    }
    update_interest(ws);
}

/* ---- upgrade ---- */

static void make_key(ic_ws_t *ws)
{
    uint8_t raw[16];
    crypto_random(raw, sizeof(raw));
    crypto_b64_encode(raw, sizeof(raw), ws->key);
}

static bool accept_ok(const ic_ws_t *ws, const char *value, size_t len)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char in[96];
    uint8_t sha[SHA_DIGEST_LENGTH];
    char want[40];
    int n = snprintf(in, sizeof(in), "%s%s", ws->key, guid);
    SHA1((const uint8_t *)in, (size_t)n, sha);
    crypto_b64_encode(sha, sizeof(sha), want);
    return strlen(want) == len && memcmp(want, value, len) == 0;
}

/* The response head: "HTTP/1.1 101", and the right Sec-WebSocket-Accept. */
static bool response_ok(ic_ws_t *ws, size_t head_len)
{
    const char *p = ws->http_in, *end = ws->http_in + head_len;
    if (head_len < 12 || strncmp(p, "HTTP/1.1 101", 12) != 0)
        return false;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            break;
        static const char name[] = "sec-websocket-accept:";
        if ((size_t)(eol - p) > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
            const char *v = p + sizeof(name) - 1, *ve = eol;
            while (v < ve && *v == ' ')
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            return accept_ok(ws, v, (size_t)(ve - v));
        }
        p = eol + 1;
    }
    return false;
}

static void open_ws(ic_ws_t *ws)
{
    struct wslay_event_callbacks cbs = {recv_cb, send_cb, genmask_cb, NULL, NULL, NULL, on_msg_cb};
    if (wslay_event_context_client_init(&ws->ctx, &cbs, ws) != 0) {
        ws_fail(ws, 1006, "wslay init failed");
        return;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, 1 << 20);
    ws->state = WS_OPEN;
    for (size_t off = 0; off + 4 <= ws->pending.len;) {
        uint32_t n;
        memcpy(&n, ws->pending.base + off, 4);
        struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)ws->pending.base + off + 4, n};
        wslay_event_queue_msg(ws->ctx, &m);
        off += 4 + n;
    }
    buf_dispose(&ws->pending);
    if (ws->cb.on_open != NULL)
        ws->cb.on_open(ws->user);
    if (ws->state == WS_OPEN)
        drive_open(ws, EPOLLIN);
}

static void drive_http(ic_ws_t *ws)
{
    while (ws->http_sent < ws->out_http.len) {
        ERR_clear_error();
        int n = SSL_write(ws->ssl, ws->out_http.base + ws->http_sent, (int)(ws->out_http.len - ws->http_sent));
        if (n <= 0) {
            int e = SSL_get_error(ws->ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                ic_io_mod(ws->loop, &ws->io, EPOLLIN | EPOLLOUT);
                return;
            }
            ws_fail(ws, 1006, "TLS write failed");
            return;
        }
        ws->http_sent += (size_t)n;
    }
    ic_io_mod(ws->loop, &ws->io, EPOLLIN);
    for (;;) {
        if (ws->http_len >= sizeof(ws->http_in) - 1) {
            ws_fail(ws, 1006, "HTTP response too large");
            return;
        }
        ERR_clear_error();
        int n = SSL_read(ws->ssl, ws->http_in + ws->http_len, (int)(sizeof(ws->http_in) - 1 - ws->http_len));
        if (n <= 0) {
            int e = SSL_get_error(ws->ssl, n);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                ws_fail(ws, 1006, "connection lost during the upgrade");
            return;
        }
        ws->http_len += (size_t)n;
        ws->http_in[ws->http_len] = 0;
        char *end = strstr(ws->http_in, "\r\n\r\n");
        if (end == NULL)
            continue;
        size_t head = (size_t)(end + 4 - ws->http_in);
        if (!response_ok(ws, head)) {
            ws_fail(ws, 1006, "the server refused the WebSocket upgrade");
            return;
        }
        ws->extra_len = ws->http_len - head;
        if (ws->extra_len > 0) {
            ws->extra = xmalloc(ws->extra_len);
            memcpy(ws->extra, ws->http_in + head, ws->extra_len);
        }
        open_ws(ws);
        return;
    }
}

static void drive_tls(ic_ws_t *ws)
{
    ERR_clear_error();
    int rc = SSL_connect(ws->ssl);
    if (rc == 1) {
        ws->state = WS_HTTP;
        make_key(ws);
        buf_printf(&ws->out_http,
                   "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: irtc-client\r\n\r\n",
                   ws->path, ws->host, ws->port, ws->key);
        drive_http(ws);
        return;
    }
    int e = SSL_get_error(ws->ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        ic_io_mod(ws->loop, &ws->io, EPOLLIN);
    else if (e == SSL_ERROR_WANT_WRITE)
        ic_io_mod(ws->loop, &ws->io, EPOLLIN | EPOLLOUT);
    else
        ws_fail(ws, 1006, "TLS handshake failed");
}

static void on_io(ic_io_t *io, uint32_t events)
{
    ic_ws_t *ws = io->obj;
    switch (ws->state) {
    case WS_TCP: {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            ws_fail(ws, 1006, "TCP connect failed");
            return;
        }
        ws->ssl = SSL_new(ic_loop_tls(ws->loop));
        if (ws->ssl == NULL || SSL_set_fd(ws->ssl, io->fd) != 1) {
            ws_fail(ws, 1006, "SSL_new failed");
            return;
        }
        ws->state = WS_TLS;
        drive_tls(ws);
        return;
    }
    case WS_TLS:
        drive_tls(ws);
        return;
    case WS_HTTP:
        drive_http(ws);
        return;
    case WS_OPEN:
        drive_open(ws, events);
        return;
    default:
        return;
    }
}

ic_ws_t *ic_ws_connect(ic_loop_t *l, const char *host, uint16_t port, const char *path, const ic_ws_callbacks_t *cb,
                       void *user)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        sl = sizeof(*s6);
    } else {
        return NULL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
        close(fd);
        return NULL;
    }
    ic_ws_t *ws = xcalloc(1, sizeof(*ws));
    ws->loop = l;
    ws->cb = *cb;
    ws->user = user;
    snprintf(ws->host, sizeof(ws->host), "%s", host);
    ws->port = port;
    snprintf(ws->path, sizeof(ws->path), "%s", path);
    buf_init(&ws->out_http);
    buf_init(&ws->pending);
    ws->state = WS_TCP;
    if (ic_io_add(l, &ws->io, fd, EPOLLOUT, on_io, ws) != IRTC_OK) {
        close(fd);
        free_ws(ws);
        return NULL;
    }
    return ws;
}

int ic_ws_send_text(ic_ws_t *ws, const char *msg, size_t len)
{
    if (ws->state == WS_DEAD)
        return IRTC_ECONFLICT;
    if (ws->state != WS_OPEN) {
        uint32_t n = (uint32_t)len;
        buf_append(&ws->pending, &n, 4);
        buf_append(&ws->pending, msg, len);
        return IRTC_OK;
    }
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)msg, len};
    if (wslay_event_queue_msg(ws->ctx, &m) != 0)
        return IRTC_ECONFLICT;
    /* Write now: one turn less of latency, and most messages fit at once.  A
     * failure is reported after this turn, not from inside the caller's call. */
    if (wslay_event_send(ws->ctx) != 0) {
        ic_loop_defer(ws->loop, fail_later, ws);
        return IRTC_OK;
    }
    update_interest(ws);
    return IRTC_OK;
}
