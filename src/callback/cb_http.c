/*
 * cb_http.c — one HTTP(S) POST with a deadline, for the callback sender.
 *
 * The sender thread runs one request at a time, so the client is written
 * top to bottom: resolve, connect, TLS handshake, write the request, read
 * the response headers, close.  Sockets are non-blocking and every wait is a
 * poll() on the socket and the caller's wake descriptor, bounded by one
 * deadline, so a silent server costs at most the timeout and shutdown never
 * waits for the network.  getaddrinfo() cannot be interrupted, so names are
 * resolved on a short-lived detached thread that the client can walk away
 * from.  Only the status line and headers are read; the body of a 2xx is
 * ignored, a little of any other is kept for the error text.
 *
 * Does not: keep connections alive, follow redirects, send chunked bodies,
 * read OpenSSL errors of other threads (the error queue is per thread).
 */
#include "config.h"
#include "callback/cb_http.h"
#include "core/clock.h"
#include "core/common.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define CB_HTTP_MAX_HEAD 16384 /* response status line and headers */
#define CB_HTTP_SNIPPET 160    /* characters of a non-2xx body kept in the error */

struct cb_http {
    SSL_CTX *ctx;
};

typedef struct {
    cb_http_t *h;
    const cb_url_t *u;
    const cb_http_cancel_t *cancel;
    uint64_t deadline_ms, timeout_ms;
    int fd;
    SSL *ssl;
    char peer[272]; /* the host, then the address being talked to, for messages */
    cb_http_result_t *res;
} conn_t;

cb_http_t *cb_http_new(const char *ca_file, char *err, size_t errcap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        snprintf(err, errcap, "cannot create the TLS client context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* A server that closes without close_notify after its answer is common
     * and harmless here: the status line is all we need. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_default_verify_paths(ctx);
    if (ca_file != NULL && ca_file[0] != '\0' && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        char why[256];
        ERR_error_string_n(ERR_get_error(), why, sizeof(why));
        ERR_clear_error();
        snprintf(err, errcap, "recording.callback_ca_file %s: no usable PEM certificate (%s)", ca_file, why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    cb_http_t *h = xcalloc(1, sizeof(*h));
    h->ctx = ctx;
    return h;
}

void cb_http_free(cb_http_t *h)
{
    if (h == NULL)
        return;
    SSL_CTX_free(h->ctx);
    free(h);
}

static int fail(conn_t *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(conn_t *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->res->error, sizeof(c->res->error), fmt, ap);
    va_end(ap);
    return rc;
}

/* Waits for events on fd.  IRTC_OK when ready, IRTC_EAGAIN when stopped,
 * IRTC_ELIMIT (with the error naming phase) when the deadline passed. */
static int wait_fd(conn_t *c, int fd, short events, const char *phase)
{
    const cb_http_cancel_t *k = c->cancel;
    for (;;) {
        if (k != NULL && k->stop != NULL && atomic_load(k->stop))
            return IRTC_EAGAIN;
        uint64_t now = clock_mono_ms();
        if (now >= c->deadline_ms)
            return fail(c, IRTC_ELIMIT, "timed out after %llu ms %s", (unsigned long long)c->timeout_ms, phase);
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = k != NULL ? k->wake_fd : -1, .events = POLLIN}};
        uint64_t left = c->deadline_ms - now;
        int n = poll(p, 2, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n < 0 && errno != EINTR)
            return fail(c, IRTC_EIO, "poll: %s", strerror(errno));
        if (n > 0 && (p[1].revents & POLLIN)) {
            uint64_t v;
            /* A wake without stop is a kick: consumed; the sender looks for
             * new rows after this request anyway. */
            if (read(k->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                return fail(c, IRTC_EIO, "wake descriptor: %s", strerror(errno));
        }
        if (n > 0 && p[0].revents != 0)
            return IRTC_OK;
    }
}

/* ---- resolving ---- */

typedef struct {
    pthread_mutex_t mu;
    int refs; /* the client and the resolver thread; the last one frees */
    int efd;  /* signalled when done */
    char host[256], port[8];
    struct addrinfo *res;
    int rc;
} resolve_job_t;

static void job_unref(resolve_job_t *j)
{
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left > 0)
        return;
    if (j->res != NULL)
        freeaddrinfo(j->res);
    close(j->efd);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

static void *resolve_main(void *arg)
{
    resolve_job_t *j = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(j->host, j->port, &hints, &res);
    pthread_mutex_lock(&j->mu);
    j->res = res;
    j->rc = rc;
    pthread_mutex_unlock(&j->mu);
    uint64_t one = 1;
    if (write(j->efd, &one, sizeof(one)) < 0) {
        /* an eventfd write only fails on overflow, which one write cannot cause */
    }
    job_unref(j);
    return NULL;
}

static int resolve(conn_t *c, struct addrinfo **out)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)c->u->port);
    if (c->u->host_is_ip) {
        struct addrinfo hints = {
            .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
        int rc = getaddrinfo(c->u->host, port, &hints, out);
        return rc == 0 ? IRTC_OK : fail(c, IRTC_EIO, "bad address %s: %s", c->u->host, gai_strerror(rc));
    }
    resolve_job_t *j = xcalloc(1, sizeof(*j));
    pthread_mutex_init(&j->mu, NULL);
    j->refs = 2;
    j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    snprintf(j->host, sizeof(j->host), "%s", c->u->host);
    snprintf(j->port, sizeof(j->port), "%s", port);
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int prc = j->efd < 0 ? EMFILE : pthread_create(&tid, &attr, resolve_main, j);
    pthread_attr_destroy(&attr);
    if (prc != 0) {
        if (j->efd >= 0)
            close(j->efd);
        pthread_mutex_destroy(&j->mu);
        free(j);
        return fail(c, IRTC_EIO, "cannot start a resolver thread: %s", strerror(prc));
    }
    char phase[300];
    snprintf(phase, sizeof(phase), "resolving %s", c->u->host);
    int rc = wait_fd(c, j->efd, POLLIN, phase);
    if (rc == IRTC_OK) {
        pthread_mutex_lock(&j->mu);
        *out = j->res;
        j->res = NULL;
        int grc = j->rc;
        pthread_mutex_unlock(&j->mu);
        if (grc != 0)
            rc = fail(c, IRTC_EIO, "cannot resolve %s: %s", c->u->host, gai_strerror(grc));
    }
    job_unref(j); /* on a stop or timeout the thread finishes alone */
    return rc;
}

/* ---- connecting ---- */

static void format_peer(const struct addrinfo *ai, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(out, cap, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* Tries each address in turn within the one deadline. */
static int connect_any(conn_t *c, const struct addrinfo *ai)
{
    int rc = fail(c, IRTC_EIO, "no address for %s", c->u->host);
    for (; ai != NULL; ai = ai->ai_next) {
        format_peer(ai, c->peer, sizeof(c->peer));
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            rc = fail(c, IRTC_EIO, "socket: %s", strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            rc = fail(c, IRTC_EIO, "connect to %s: %s", c->peer, strerror(errno));
            close(fd);
            continue;
        }
        char phase[300];
        snprintf(phase, sizeof(phase), "connecting to %s", c->peer);
        rc = wait_fd(c, fd, POLLOUT, phase);
        if (rc != IRTC_OK) {
            close(fd);
            return rc;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        if (soerr != 0) {
            rc = fail(c, IRTC_EIO, "connect to %s: %s", c->peer, strerror(soerr));
            close(fd);
            continue;
        }
        c->fd = fd;
        return IRTC_OK;
    }
    return rc;
}

/* ---- TLS ---- */

/* The most useful reason a TLS operation failed: the certificate check
 * first (what operators must fix), then OpenSSL's queue, then errno. */
static int tls_fail(conn_t *c, const char *what, int ssl_err)
{
    long v = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_get_error();
    int saved = errno;
    ERR_clear_error();
    if (v != X509_V_OK)
        return fail(c, IRTC_ECRYPTO, "%s %s: certificate verify failed: %s", what, c->peer,
                    X509_verify_cert_error_string(v));
    if (e != 0) {
        char why[256];
        ERR_error_string_n(e, why, sizeof(why));
        return fail(c, IRTC_ECRYPTO, "%s %s: %s", what, c->peer, why);
    }
    if (ssl_err == SSL_ERROR_SYSCALL && saved != 0)
        return fail(c, IRTC_EIO, "%s %s: %s", what, c->peer, strerror(saved));
    return fail(c, IRTC_EIO, "%s %s: connection closed by the server", what, c->peer);
}

/* After an SSL_* call that wants I/O: waits for it.  Other errors fail. */
static int tls_wait(conn_t *c, int r, const char *what, const char *phase)
{
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return wait_fd(c, c->fd, POLLIN, phase);
    if (e == SSL_ERROR_WANT_WRITE)
        return wait_fd(c, c->fd, POLLOUT, phase);
    return tls_fail(c, what, e);
}

static int tls_start(conn_t *c)
{
    c->ssl = SSL_new(c->h->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return fail(c, IRTC_ECRYPTO, "cannot create a TLS connection");
    /* RFC 6066 §3: no SNI for address literals; verify the address instead. */
    int ok = c->u->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->u->host)
                              : SSL_set_tlsext_host_name(c->ssl, c->u->host) == 1 && SSL_set1_host(c->ssl, c->u->host);
    if (ok != 1)
        return fail(c, IRTC_ECRYPTO, "cannot set up verification of %s", c->u->host);
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(c->ssl);
        if (r == 1)
            return IRTC_OK;
        int rc = tls_wait(c, r, "TLS handshake with", "in the TLS handshake");
        if (rc != IRTC_OK)
            return rc;
    }
}

/* ---- bytes ---- */

static int write_all(conn_t *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w;
        if (c->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
            if (r <= 0) {
                int rc = tls_wait(c, r, "writing to", "sending the request");
                if (rc != IRTC_OK)
                    return rc;
                continue;
            }
            w = r;
        } else {
            w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                int rc = wait_fd(c, c->fd, POLLOUT, "sending the request");
                if (rc != IRTC_OK)
                    return rc;
                continue;
            }
            if (w < 0)
                return fail(c, IRTC_EIO, "sending to %s: %s", c->peer, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return IRTC_OK;
}

/* Reads what is available: *got > 0 bytes, or 0 at the end of the stream. */
static int read_some(conn_t *c, char *p, size_t cap, size_t *got)
{
    for (;;) {
        if (c->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, p, cap > INT32_MAX ? INT32_MAX : (int)cap);
            if (r > 0) {
                *got = (size_t)r;
                return IRTC_OK;
            }
            if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN) {
                *got = 0;
                return IRTC_OK;
            }
            int rc = tls_wait(c, r, "reading from", "waiting for the response");
            if (rc != IRTC_OK)
                return rc;
            continue;
        }
        ssize_t r = recv(c->fd, p, cap, 0);
        if (r >= 0) {
            *got = (size_t)r;
            return IRTC_OK;
        }
        if (errno != EAGAIN && errno != EINTR)
            return fail(c, IRTC_EIO, "reading from %s: %s", c->peer, strerror(errno));
        int rc = wait_fd(c, c->fd, POLLIN, "waiting for the response");
        if (rc != IRTC_OK)
            return rc;
    }
}

/* ---- the exchange ---- */

static void send_request(conn_t *c, buf_t *req, const char *body, size_t len, const char *signature)
{
    const cb_url_t *u = c->u;
    bool default_port = u->port == (u->tls ? 443 : 80);
    buf_printf(req, "POST %s HTTP/1.1\r\nHost: %s%s%s", u->target, u->host_is_ipv6 ? "[" : "", u->host,
               u->host_is_ipv6 ? "]" : "");
    if (!default_port)
        buf_printf(req, ":%u", (unsigned)u->port);
    buf_printf(req,
               "\r\nUser-Agent: irtcd/%s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n",
               PACKAGE_VERSION, len);
    if (signature != NULL)
        buf_printf(req, "X-HW-SIGN: %s\r\n", signature);
    buf_puts(req, "\r\n");
    buf_append(req, body, len);
}

/* Printable ASCII of s (n bytes) into out, at most cap-1 characters. */
static void printable(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++)
        out[o++] = (s[i] >= ' ' && s[i] < 0x7f) ? s[i] : ' ';
    out[o] = '\0';
}

/* The value of header name in head (lines after the status line), or NULL. */
static const char *find_header(const char *head, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    for (const char *l = strchr(head, '\n'); l != NULL; l = strchr(l, '\n')) {
        l++;
        if (strncasecmp(l, name, nlen) == 0 && l[nlen] == ':') {
            const char *v = l + nlen + 1;
            v += strspn(v, " \t");
            *vlen = strcspn(v, "\r\n");
            return v;
        }
    }
    return NULL;
}

/* Parses "HTTP/1.x NNN reason"; -1 when it is not one. */
static int parse_status(const char *head, const char **reason, size_t *rlen)
{
    if (strncmp(head, "HTTP/1.", 7) != 0 || head[7] < '0' || head[7] > '9' || head[8] != ' ')
        return -1;
    const char *d = head + 9;
    if (d[0] < '1' || d[0] > '5' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9' ||
        (d[3] != ' ' && d[3] != '\r' && d[3] != '\n'))
        return -1;
    *reason = d[3] == ' ' ? d + 4 : d + 3;
    *rlen = strcspn(*reason, "\r\n");
    return (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
}

/* Where the header block ends (just past the blank line), or NULL. */
static char *head_end(char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return buf + i + 2;
        if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
            return buf + i + 3;
    }
    return NULL;
}

static int describe_failure(conn_t *c, int status, const char *head, const char *body, size_t blen)
{
    const char *reason;
    size_t rlen, vlen;
    char r[80], b[CB_HTTP_SNIPPET + 1], loc[240] = "";
    parse_status(head, &reason, &rlen);
    printable(reason, rlen, r, sizeof(r));
    printable(body, blen, b, sizeof(b));
    const char *v = status >= 300 && status < 400 ? find_header(head, "location", &vlen) : NULL;
    if (v != NULL) {
        char lv[160];
        printable(v, vlen, lv, sizeof(lv));
        snprintf(loc, sizeof(loc), " (redirects are not followed; Location: %s)", lv);
    }
    return fail(c, IRTC_EPROTO, "HTTP %d%s%s%s%s%s", status, r[0] ? " " : "", r, loc, b[0] ? ": " : "", b);
}

static int read_response(conn_t *c)
{
    char *buf = xmalloc(CB_HTTP_MAX_HEAD + 1);
    size_t len = 0, got = 0;
    int rc;
    for (;;) {
        buf[len] = '\0';
        char *end = head_end(buf, len);
        if (end != NULL) {
            const char *reason;
            size_t rlen;
            end[-1] = '\0';
            int status = parse_status(buf, &reason, &rlen);
            if (status < 0) {
                rc = fail(c, IRTC_EPROTO, "%s sent something that is not an HTTP/1.x response", c->peer);
                break;
            }
            size_t rest = len - (size_t)(end - buf);
            /* 100 Continue, 103 Early Hints: interim, the real answer follows. */
            if (status < 200) {
                memmove(buf, end, rest);
                len = rest;
                continue;
            }
            c->res->status = status;
            rc = status < 300 ? IRTC_OK : describe_failure(c, status, buf, end, rest);
            break;
        }
        if (len == CB_HTTP_MAX_HEAD) {
            rc = fail(c, IRTC_EPROTO, "%s sent response headers larger than %d bytes", c->peer, CB_HTTP_MAX_HEAD);
            break;
        }
        rc = read_some(c, buf + len, CB_HTTP_MAX_HEAD - len, &got);
        if (rc != IRTC_OK)
            break;
        if (got == 0) {
            rc = fail(c, IRTC_EPROTO, "%s closed the connection %s", c->peer,
                      len == 0 ? "without answering" : "in the middle of the response headers");
            break;
        }
        len += got;
    }
    free(buf);
    return rc;
}

int cb_http_post(cb_http_t *h, const cb_url_t *url, const char *body, size_t len, const char *signature,
                 uint64_t timeout_ms, const cb_http_cancel_t *cancel, cb_http_result_t *res)
{
    conn_t c = {.h = h, .u = url, .cancel = cancel, .timeout_ms = timeout_ms, .fd = -1, .res = res};
    struct addrinfo *ai = NULL;
    buf_t req;

    memset(res, 0, sizeof(*res));
    snprintf(c.peer, sizeof(c.peer), "%s", url->host);
    c.deadline_ms = clock_mono_ms() + timeout_ms;
    buf_init(&req);
    int rc = resolve(&c, &ai);
    if (rc == IRTC_OK)
        rc = connect_any(&c, ai);
    if (rc == IRTC_OK && url->tls)
        rc = tls_start(&c);
    if (rc == IRTC_OK) {
        send_request(&c, &req, body, len, signature);
        rc = write_all(&c, req.base, req.len);
    }
    if (rc == IRTC_OK)
        rc = read_response(&c);
    if (rc == IRTC_OK)
        res->error[0] = '\0'; /* a failed address before the one that worked */
    else if (rc == IRTC_EAGAIN)
        fail(&c, IRTC_EAGAIN, "stopped (irtcd is shutting down)");
    if (c.ssl != NULL) {
        /* After an answer only (never after a fatal TLS error): one
         * non-blocking try, a courtesy the server does not need. */
        if (rc == IRTC_OK || (rc == IRTC_EPROTO && c.res->status > 0))
            SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
        ERR_clear_error();
    }
    if (c.fd >= 0)
        close(c.fd);
    if (ai != NULL)
        freeaddrinfo(ai);
    buf_dispose(&req);
    return rc;
}
