/*
 * test_callback.c — callback/callback.c, cb_http.c and cb_sender.c: bodies
 * and X-HW-SIGN against vectors computed by tests/vectors/callback_vectors.py
 * (independent of this C code), strict URL parsing, the retry schedule, the
 * outbox insert, the HTTP(S) client against a scripted server on a thread
 * (every failure it must name, the deadline, stopping mid-request), and the
 * sender thread end to end on a temporary database.
 * Reads $top_srcdir/tests/vectors/callback_vectors.txt; writes under /tmp.
 */
#include "core/clock.h"
#include "core/common.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/json.h"
#include "callback/callback.h"
#include "callback/cb_http.h"
#include "callback/cb_sender.h"
#include "store/store.h"
#include "tlscert.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit/tap.h"

static char g_dir[] = "/tmp/irtc-test-callback-XXXXXX";

static char *tpath(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof(bufs[0]), "%s/%s", g_dir, name);
    return p;
}

static void sleep_ms(int ms)
{
    poll(NULL, 0, ms);
}

/* ---- vectors ---- */

static const char *vstr(const json_value_t *v, const char *key)
{
    return json_string(json_get(v, key));
}

static void test_vector(const json_value_t *v)
{
    const char *name = vstr(v, "name");
    int64_t ts = 0;
    char sig[CB_SIGN_LEN];
    unsigned char image[256];
    size_t image_len = 0;
    const char *hex = vstr(v, "imageHex");

    json_int64(json_get(v, "authTimestamp"), &ts);
    for (size_t i = 0; hex != NULL && hex[2 * i] && i < sizeof(image); i++) {
        unsigned x;
        sscanf(hex + 2 * i, "%2x", &x);
        image[image_len++] = (unsigned char)x;
    }
    cb_event_t ev = {.kind = strcmp(vstr(v, "kind"), "image") == 0 ? CB_IMAGE : CB_VIDEO,
                     .app_id = vstr(v, "appId"),
                     .channel_id = vstr(v, "channelId"),
                     .recording_id = vstr(v, "recordingId"),
                     .user_id = vstr(v, "userId"),
                     .extra_data = vstr(v, "extraData"),
                     .auth_ts = ts,
                     .file_id = vstr(v, "fileId"),
                     .file_path = vstr(v, "filePath"),
                     .file_name = vstr(v, "fileName"),
                     .image = image_len ? image : NULL,
                     .image_len = image_len};
    cb_sign(vstr(v, "accessKey"), ev.app_id, ev.channel_id, ev.user_id, ev.extra_data, ev.auth_ts, sig);
    is_str(sig, vstr(v, "signature"), "vector %s: X-HW-SIGN", name);
    buf_t b;
    buf_init(&b);
    if (ev.kind == CB_IMAGE)
        cb_body_image(&b, &ev);
    else
        cb_body_video(&b, &ev);
    is_str(b.base, vstr(v, "body"), "vector %s: body byte for byte", name);
    buf_dispose(&b);
}

static void test_vectors(void)
{
    const char *top = getenv("top_srcdir");
    char path[1024], line[16384];
    snprintf(path, sizeof(path), "%s/tests/vectors/callback_vectors.txt", top && top[0] ? top : ".");
    FILE *f = fopen(path, "r");
    ok(f != NULL, "open %s", path);
    int n = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        json_value_t *v = json_parse(line, strlen(line), NULL, NULL);
        ok(v != NULL, "vector line %d parses", n + 1);
        if (v != NULL)
            test_vector(v);
        json_free(v);
        n++;
    }
    if (f != NULL)
        fclose(f);
    ok(n >= 9, "%d vectors read", n);
}

/* NULL fields are "", the image fields of a video are absent, and the
 * signature of NULLs equals the signature of empty strings. */
static void test_bodies_nulls(void)
{
    buf_t b;
    char s1[CB_SIGN_LEN], s2[CB_SIGN_LEN];
    cb_event_t ev = {.kind = CB_VIDEO, .app_id = "a", .auth_ts = 7};
    buf_init(&b);
    cb_body_video(&b, &ev);
    is_str(b.base,
           "{\"channelId\":\"\",\"appId\":\"a\",\"recordingId\":\"\",\"userId\":\"\",\"extraData\":\"\","
           "\"authTimestamp\":\"7\",\"fileId\":\"\",\"filePath\":\"\",\"fileName\":\"\"}",
           "video body with NULL fields");
    buf_reset(&b);
    ev.kind = CB_IMAGE;
    cb_body_image(&b, &ev);
    is_str(b.base,
           "{\"channelId\":\"\",\"appId\":\"a\",\"recordingId\":\"\",\"userId\":\"\",\"extraData\":\"\","
           "\"imageData\":\"\",\"authTimestamp\":\"7\",\"filePath\":\"\"}",
           "image body without picture: imageData empty");
    buf_reset(&b);
    ev.auth_ts = INT64_MAX;
    cb_body_video(&b, &ev);
    ok(strstr(b.base, "\"authTimestamp\":\"9223372036854775807\"") != NULL, "authTimestamp at int64 max");
    buf_dispose(&b);
    cb_sign(NULL, "a", NULL, NULL, NULL, 7, s1);
    cb_sign("", "a", "", "", "", 7, s2);
    is_str(s1, s2, "NULL strings sign as empty strings");
    is_int(strlen(s1), CB_SIGN_LEN - 1, "signature is 44 Base64 characters");
}

/* ---- URLs ---- */

static void url_ok(const char *url, bool tls, const char *host, unsigned port, const char *target, bool ip)
{
    cb_url_t u;
    const char *why = NULL;
    int rc = cb_url_parse(url, &u, &why);
    ok(rc == IRTC_OK && u.tls == tls && strcmp(u.host, host) == 0 && u.port == port && strcmp(u.target, target) == 0 &&
           u.host_is_ip == ip,
       "URL %s -> %s %s %u %s%s", url, tls ? "https" : "http", host, port, target, ip ? " (address)" : "");
    if (rc != IRTC_OK)
        printf("#   refused: %s\n", why);
}

static void url_bad(const char *url, const char *sub)
{
    cb_url_t u;
    const char *why = NULL;
    int rc = cb_url_parse(url, &u, &why);
    ok(rc == IRTC_EINVAL && why != NULL && strstr(why, sub) != NULL, "URL \"%s\" refused: %s", url,
       why ? why : "(accepted)");
}

static void test_urls(void)
{
    url_ok("http://example.com", false, "example.com", 80, "/", false);
    url_ok("HTTPS://Example.COM/cb", true, "Example.COM", 443, "/cb", false);
    url_ok("https://cb.example.com:8443/a/b?x=1&y=%20#frag", true, "cb.example.com", 8443, "/a/b?x=1&y=%20", false);
    url_ok("http://10.0.0.7:8080?q", false, "10.0.0.7", 8080, "/?q", true);
    url_ok("http://[::1]:9000/x", false, "::1", 9000, "/x", true);
    url_ok("https://[2001:db8::10]/", true, "2001:db8::10", 443, "/", true);
    url_ok("http://my_host-1.lan:1/", false, "my_host-1.lan", 1, "/", false);
    url_ok("http://h:65535#only-fragment", false, "h", 65535, "/", false);
    url_bad("", "empty");
    url_bad("ftp://example.com/", "http:// or https://");
    url_bad("example.com/cb", "http:// or https://");
    url_bad("http://", "no host");
    url_bad("http:///path", "no host");
    url_bad("http://:80/", "no host");
    url_bad("http://user:pw@example.com/", "user:password");
    url_bad("http://exa mple.com/", "space");
    url_bad("http://example.com/a b", "space");
    url_bad("http://ex\xc3\xa4mple.com/", "non-ASCII");
    url_bad("http://example.com:/", "no port");
    url_bad("http://example.com:0/", "1..65535");
    url_bad("http://example.com:65536/", "1..65535");
    url_bad("http://example.com:123456/", "1..65535");
    url_bad("http://example.com:8a/", "digits");
    url_bad("http://example..com/", "empty label");
    url_bad("http://.example.com/", "empty label");
    url_bad("http://example.com./", "empty label");
    url_bad("http://-example.com/", "starts with '-'");
    url_bad("http://exa$mple.com/", "letters, digits");
    url_bad("http://1.2.3/", "IPv4");
    url_bad("http://010.0.0.1/", "IPv4");
    url_bad("http://256.1.1.1/", "IPv4");
    url_bad("http://::1/", "brackets");
    url_bad("http://[::1/", "closing");
    url_bad("http://[]/", "IPv6");
    url_bad("http://[fe80::1%25eth0]/", "IPv6");
    url_bad("http://[zz::1]/", "IPv6");
    url_bad("http://[::1]x/", "after the IPv6");
    char long_host[300], long_path[2100];
    snprintf(long_host, sizeof(long_host), "http://%0254d/", 0);
    memset(long_host + 7, 'a', 254);
    url_bad(long_host, "253");
    snprintf(long_path, sizeof(long_path), "http://h/%02060d", 0);
    url_bad(long_path, "too long");
}

/* ---- retries ---- */

static void test_retry_schedule(void)
{
    const int64_t S = 1000, H = 3600 * S;
    cb_retry_policy_t p = {5 * S, H, 24 * H};
    int64_t c = 1700000000000LL;
    is_int(cb_retry_next(&p, 1, c, c), c + 5 * S, "first failure: 5 s");
    is_int(cb_retry_next(&p, 2, c, c + 5 * S), c + 15 * S, "second: 10 s later");
    is_int(cb_retry_next(&p, 3, c, c + 15 * S), c + 35 * S, "third: 20 s later");
    is_int(cb_retry_next(&p, 10, c, c + H), c + H + 2560 * S, "tenth: 5 s * 2^9");
    is_int(cb_retry_next(&p, 11, c, c + 2 * H), c + 3 * H, "eleventh: capped at 1 h");
    is_int(cb_retry_next(&p, 1000000, c, c + 2 * H), c + 3 * H, "huge attempt counts stay capped (no overflow)");
    is_int(cb_retry_next(&p, 0, c, c), c + 5 * S, "attempts 0 counts as the first");
    is_int(cb_retry_next(&p, 30, c, c + 24 * H - 10 * S), c + 24 * H, "last attempt exactly at the deadline");
    is_int(cb_retry_next(&p, 30, c, c + 24 * H), INT64_MAX, "at the deadline: give up");
    is_int(cb_retry_next(&p, 1, c, c + 25 * H), INT64_MAX, "past the deadline on the first failure: give up");
    cb_retry_policy_t q = {100, 400, 1000};
    is_int(cb_retry_next(&q, 3, 0, 100), 500, "small policy: 100, 200, 400 ms");
    is_int(cb_retry_next(&q, 9, 0, 700), 1000, "small policy: the window's end");
}

/* ---- the outbox ---- */

static store_t *g_st;
static store_app_t g_app;

static void make_app(void)
{
    char err[256];
    ok(store_open(tpath("cb.db"), &g_st, err, sizeof(err)) == IRTC_OK, "open %s (%s)", tpath("cb.db"), err);
    memset(&g_app, 0, sizeof(g_app));
    snprintf(g_app.app_id, sizeof(g_app.app_id), "CbApp0123456789abcdefABCDEF0123");
    g_app.name = "cb";
    g_app.tenant_id = "t";
    g_app.access_key = "S2V5Rm9yQ2FsbGJhY2tUZXN0c09ubHlOb3RBU2VjcmV0IQ==";
    g_app.app_token_hash = "x";
    is_int(store_app_insert(g_st, &g_app), IRTC_OK, "test app inserted");
}

static store_outbox_t newest_row(void)
{
    store_outbox_t *rows, r;
    size_t n = 0;
    memset(&r, 0, sizeof(r));
    if (store_outbox_recent(g_st, 1, &rows, &n) == IRTC_OK && n == 1) {
        r = rows[0];
        free(rows);
    } else if (n > 0) {
        store_outbox_list_free(rows, n);
    }
    return r;
}

static void test_enqueue(void)
{
    int64_t id = 0, before = (int64_t)clock_wall_ms();
    is_int(cb_enqueue(g_st, g_app.app_id, "http://h/x", "{\"a\":1}", "c2ln", &id), IRTC_OK, "enqueue");
    store_outbox_t r = newest_row();
    ok(id > 0 && r.id == id, "enqueue returns the row id (%" PRId64 ")", id);
    ok(strcmp(r.url, "http://h/x") == 0 && strcmp(r.body, "{\"a\":1}") == 0 && strcmp(r.signature, "c2ln") == 0 &&
           strcmp(r.app_id, g_app.app_id) == 0,
       "row keeps app, URL, body and signature");
    ok(r.attempts == 0 && r.delivered_at_ms == 0 && r.next_attempt_ms >= before &&
           r.next_attempt_ms <= (int64_t)clock_wall_ms(),
       "row is due now, no attempts yet");
    store_outbox_dispose(&r);
    is_int(cb_enqueue(g_st, NULL, "http://h/", "{}", NULL, NULL), IRTC_EINVAL, "no app id: EINVAL");
    is_int(cb_enqueue(g_st, "", "http://h/", "{}", NULL, NULL), IRTC_EINVAL, "empty app id: EINVAL");
    is_int(cb_enqueue(g_st, "a", "", "{}", NULL, NULL), IRTC_EINVAL, "empty URL: EINVAL");
    is_int(cb_enqueue(g_st, "a", "http://h/", "", NULL, NULL), IRTC_EINVAL, "empty body: EINVAL");
    is_int(cb_enqueue(g_st, "a", "http://h/", NULL, NULL, NULL), IRTC_EINVAL, "no body: EINVAL");
    is_int(cb_enqueue(g_st, "0123456789012345678901234567890123", "http://h/", "{}", NULL, NULL), IRTC_EINVAL,
           "app id too long: EINVAL");

    /* cb_notify: the body parses back, and the signature is the app's. */
    cb_event_t ev = {.kind = CB_VIDEO,
                     .app_id = g_app.app_id,
                     .channel_id = "ch",
                     .recording_id = "42",
                     .user_id = "u",
                     .extra_data = "xd",
                     .file_path = "/f.mp4",
                     .file_name = "f.mp4"};
    int64_t now_s = (int64_t)(clock_wall_ms() / 1000);
    is_int(cb_notify(g_st, "https://cb.example/r", &ev, &id), IRTC_OK, "notify (video)");
    r = newest_row();
    json_value_t *b = json_parse(r.body, strlen(r.body), NULL, NULL);
    int64_t ts = strtoll(json_string(json_get(b, "authTimestamp")) ?: "0", NULL, 10);
    ok(ts >= now_s && ts <= now_s + 2, "notify: authTimestamp 0 means now (%" PRId64 ")", ts);
    char want[CB_SIGN_LEN];
    cb_sign(g_app.access_key, g_app.app_id, "ch", "u", "xd", ts, want);
    is_str(r.signature, want, "notify: signed with the app's accessKey");
    is_str(json_string(json_get(b, "filePath")), "/f.mp4", "notify: filePath in the body");
    json_free(b);
    store_outbox_dispose(&r);

    ev.kind = CB_IMAGE;
    ev.auth_ts = 1234;
    ev.image = (const uint8_t *)"\xff\xd8\xff\xd9";
    ev.image_len = 4;
    is_int(cb_notify(g_st, "https://cb.example/r", &ev, NULL), IRTC_OK, "notify (image)");
    r = newest_row();
    ok(strstr(r.body, "\"imageData\":\"/9j/2Q==\"") != NULL && strstr(r.body, "\"authTimestamp\":\"1234\"") != NULL,
       "notify: image body carries the picture and the given authTimestamp");
    store_outbox_dispose(&r);
    ev.app_id = "NoSuchApp";
    is_int(cb_notify(g_st, "https://cb.example/r", &ev, NULL), IRTC_ENOTFOUND, "notify for a deleted app: ENOTFOUND");

    int64_t pending = 0, next = 0;
    is_int(store_outbox_pending(g_st, &pending, &next), IRTC_OK, "pending count");
    ok(pending == 3 && next <= (int64_t)clock_wall_ms(), "three rows pending, due now (%" PRId64 ")", pending);

    /* Out of the sender's way: they point at hosts that do not exist. */
    store_outbox_t *rows;
    size_t n;
    store_outbox_due(g_st, INT64_MAX - 1, 100, &rows, &n);
    for (size_t i = 0; i < n; i++)
        store_outbox_mark_delivered(g_st, rows[i].id, 1);
    store_outbox_list_free(rows, n);
    store_outbox_pending(g_st, &pending, &next);
    ok(pending == 0 && next == INT64_MAX, "nothing pending once delivered");
}

/* ---- a scripted HTTP server on a thread ---- */

typedef enum { SRV_REPLY, SRV_HANG, SRV_CLOSE } srv_mode_t;

typedef struct {
    srv_mode_t mode;
    const char *reply;
    int delay_ms;
} srv_step_t;

typedef struct {
    int lfd;
    uint16_t port;
    SSL_CTX *tls;
    pthread_t tid;
    pthread_mutex_t mu;
    srv_step_t steps[8];
    size_t nsteps; /* connection i gets steps[min(i, nsteps - 1)] */
    int conns;     /* connections whose request was read */
    char req[65536];
    size_t req_len;
    _Atomic bool quit;
} srv_t;

static srv_t g_srv;

/* Reads one request (headers and Content-Length body) within 2 s. */
static size_t srv_read(int fd, SSL *ssl, char *buf, size_t cap)
{
    size_t len = 0, need = SIZE_MAX;
    uint64_t deadline = clock_mono_ms() + 2000;
    while (len < cap - 1 && len < need && clock_mono_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if ((ssl == NULL || SSL_pending(ssl) == 0) && poll(&p, 1, 50) <= 0)
            continue;
        int n = ssl != NULL ? SSL_read(ssl, buf + len, (int)(cap - 1 - len)) : (int)read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (end != NULL && need == SIZE_MAX)
            need = (size_t)(end + 4 - buf) + (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
    }
    buf[len] = '\0';
    return len;
}

static void *srv_main(void *arg)
{
    srv_t *s = arg;
    while (!atomic_load(&s->quit)) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        SSL *ssl = NULL;
        if (s->tls != NULL) {
            ssl = SSL_new(s->tls);
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) != 1) { /* the client refused our certificate */
                SSL_free(ssl);
                close(fd);
                continue;
            }
        }
        char *buf = malloc(sizeof(s->req));
        size_t len = srv_read(fd, ssl, buf, sizeof(s->req));
        pthread_mutex_lock(&s->mu);
        memcpy(s->req, buf, len + 1);
        s->req_len = len;
        srv_step_t st = s->steps[s->conns < (int)s->nsteps ? s->conns : (int)s->nsteps - 1];
        s->conns++;
        pthread_mutex_unlock(&s->mu);
        free(buf);
        if (st.delay_ms > 0)
            sleep_ms(st.delay_ms);
        if (st.mode == SRV_REPLY) {
            if (ssl != NULL)
                SSL_write(ssl, st.reply, (int)strlen(st.reply));
            else if (write(fd, st.reply, strlen(st.reply)) < 0)
                perror("server write");
        } else if (st.mode == SRV_HANG) {
            char junk[256];
            struct pollfd q = {.fd = fd, .events = POLLIN};
            /* until the client goes away or the test ends */
            while (!atomic_load(&s->quit) && !(poll(&q, 1, 50) > 0 && read(fd, junk, sizeof(junk)) <= 0)) {
            }
        }
        if (ssl != NULL) {
            SSL_shutdown(ssl);
            SSL_free(ssl);
        }
        close(fd);
    }
    return NULL;
}

static void srv_start(SSL_CTX *tls, const char *bind_ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    memset(&g_srv, 0, sizeof(g_srv));
    pthread_mutex_init(&g_srv.mu, NULL);
    g_srv.tls = tls;
    inet_pton(AF_INET, bind_ip, &a.sin_addr);
    g_srv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(g_srv.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(g_srv.lfd, 8) != 0)
        perror("server bind");
    getsockname(g_srv.lfd, (struct sockaddr *)&a, &al);
    g_srv.port = ntohs(a.sin_port);
    pthread_create(&g_srv.tid, NULL, srv_main, &g_srv);
}

static void srv_script(const srv_step_t *steps, size_t n)
{
    pthread_mutex_lock(&g_srv.mu);
    memcpy(g_srv.steps, steps, n * sizeof(*steps));
    g_srv.nsteps = n;
    g_srv.conns = 0;
    g_srv.req[0] = '\0';
    g_srv.req_len = 0;
    pthread_mutex_unlock(&g_srv.mu);
}

static int srv_conns(void)
{
    pthread_mutex_lock(&g_srv.mu);
    int n = g_srv.conns;
    pthread_mutex_unlock(&g_srv.mu);
    return n;
}

static void srv_stop(void)
{
    atomic_store(&g_srv.quit, true);
    pthread_join(g_srv.tid, NULL);
    close(g_srv.lfd);
    pthread_mutex_destroy(&g_srv.mu);
}

#define REPLY(text)                                                                                                    \
    {                                                                                                                  \
        SRV_REPLY, text, 0                                                                                             \
    }
#define OK_200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

static int post_url(const char *url, const char *ca, uint64_t timeout_ms, const cb_http_cancel_t *cancel,
                    cb_http_result_t *res)
{
    cb_url_t u;
    char err[512] = "";
    const char *why;
    if (cb_url_parse(url, &u, &why) != IRTC_OK) {
        snprintf(res->error, sizeof(res->error), "bad test URL %s: %s", url, why);
        return IRTC_EINVAL;
    }
    cb_http_t *h = cb_http_new(ca, err, sizeof(err));
    if (h == NULL) {
        snprintf(res->error, sizeof(res->error), "%s", err);
        return IRTC_EINVAL;
    }
    int rc = cb_http_post(h, &u, "{\"k\":\"v\"}", 9, "U0lH", timeout_ms, cancel, res);
    cb_http_free(h);
    return rc;
}

static int post(const char *path, uint64_t timeout_ms, cb_http_result_t *res)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", g_srv.port, path);
    return post_url(url, NULL, timeout_ms, NULL, res);
}

static void expect_fail(int rc, int want_rc, const cb_http_result_t *res, int status, const char *sub, const char *desc)
{
    is_int(rc, want_rc, "%s: return code", desc);
    ok(res->status == status && strstr(res->error, sub) != NULL, "%s: status %d, error \"%s\" mentions \"%s\"", desc,
       res->status, res->error, sub);
}

static void test_http_plain(void)
{
    cb_http_result_t res;
    srv_start(NULL, "127.0.0.1");

    srv_step_t ok200[] = {REPLY(OK_200)};
    srv_script(ok200, 1);
    int rc = post("/cb/path?x=1", 2000, &res);
    ok(rc == IRTC_OK && res.status == 200 && res.error[0] == '\0', "200: delivered (%s)", res.error);
    char host[64];
    snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", g_srv.port);
    ok(strncmp(g_srv.req, "POST /cb/path?x=1 HTTP/1.1\r\n", 28) == 0, "request line: POST, target, HTTP/1.1");
    ok(strstr(g_srv.req, host) != NULL, "Host header with the port");
    ok(strstr(g_srv.req, "\r\nContent-Type: application/json\r\n") != NULL, "Content-Type: application/json");
    ok(strstr(g_srv.req, "\r\nContent-Length: 9\r\n") != NULL, "Content-Length");
    ok(strstr(g_srv.req, "\r\nX-HW-SIGN: U0lH\r\n") != NULL, "X-HW-SIGN header");
    ok(strstr(g_srv.req, "\r\nConnection: close\r\n") != NULL, "Connection: close");
    ok(g_srv.req_len > 9 && strcmp(g_srv.req + g_srv.req_len - 9, "{\"k\":\"v\"}") == 0, "body sent as given");

    srv_step_t cont[] = {REPLY("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")};
    srv_script(cont, 1);
    rc = post("/", 2000, &res);
    ok(rc == IRTC_OK && res.status == 204, "100 Continue then 204: delivered (%d)", res.status);

    srv_step_t lf_only[] = {REPLY("HTTP/1.0 202 Accepted\n\n")};
    srv_script(lf_only, 1);
    rc = post("/", 2000, &res);
    ok(rc == IRTC_OK && res.status == 202, "HTTP/1.0 202 with bare LF line ends: delivered");

    srv_step_t e500[] = {REPLY("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 24\r\n\r\n"
                               "{\"errorCode\":\"1001001\"}\n")};
    srv_script(e500, 1);
    rc = post("/", 2000, &res);
    expect_fail(rc, IRTC_EPROTO, &res, 500, "HTTP 500 Internal Server Error: {\"errorCode\":\"1001001\"}", "500");

    srv_step_t e302[] = {REPLY("HTTP/1.1 302 Found\r\nLocation: https://elsewhere/cb\r\n\r\n")};
    srv_script(e302, 1);
    rc = post("/", 2000, &res);
    expect_fail(rc, IRTC_EPROTO, &res, 302, "redirects are not followed; Location: https://elsewhere/cb", "302");

    srv_step_t e404[] = {REPLY("HTTP/1.1 404\r\n\r\n")};
    srv_script(e404, 1);
    rc = post("/", 2000, &res);
    expect_fail(rc, IRTC_EPROTO, &res, 404, "HTTP 404", "404 without a reason phrase");

    srv_step_t junk[] = {REPLY("SSH-2.0-OpenSSH_9.2\r\n\r\n")};
    srv_script(junk, 1);
    rc = post("/", 2000, &res);
    expect_fail(rc, IRTC_EPROTO, &res, 0, "not an HTTP/1.x response", "not HTTP");

    srv_step_t half[] = {REPLY("HTTP/1.1 200 OK\r\nContent-")};
    srv_script(half, 1);
    rc = post("/", 2000, &res);
    expect_fail(rc, IRTC_EPROTO, &res, 0, "in the middle of the response headers", "truncated headers");

    srv_step_t closed[] = {{SRV_CLOSE, NULL, 0}};
    srv_script(closed, 1);
    rc = post("/", 2000, &res);
    expect_fail(rc, IRTC_EPROTO, &res, 0, "without answering", "closed without answering");

    static char huge[20000];
    snprintf(huge, sizeof(huge), "HTTP/1.1 200 OK\r\nX: %0*d", 17000, 0);
    srv_step_t big[] = {REPLY(huge)};
    srv_script(big, 1);
    rc = post("/", 2000, &res);
    expect_fail(rc, IRTC_EPROTO, &res, 0, "larger than", "response headers over 16 KiB");

    srv_step_t hang[] = {{SRV_HANG, NULL, 0}};
    srv_script(hang, 1);
    uint64_t t0 = clock_mono_ms();
    rc = post("/", 300, &res);
    uint64_t dt = clock_mono_ms() - t0;
    expect_fail(rc, IRTC_ELIMIT, &res, 0, "timed out after 300 ms waiting for the response", "silent server");
    ok(dt >= 290 && dt < 5000, "the deadline holds (%llu ms for 300)", (unsigned long long)dt);

    /* A kick during a request is consumed; a stop ends it at once. */
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    _Atomic bool stop = false;
    cb_http_cancel_t cancel = {efd, &stop};
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", g_srv.port);
    srv_step_t slow[] = {{SRV_REPLY, OK_200, 300}};
    srv_script(slow, 1);
    uint64_t one = 1;
    if (write(efd, &one, sizeof(one)) < 0)
        perror("eventfd");
    rc = post_url(url, NULL, 3000, &cancel, &res);
    ok(rc == IRTC_OK && res.status == 200, "a wake without stop does not abort the request (%s)", res.error);

    srv_script(hang, 1);
    atomic_store(&stop, true);
    if (write(efd, &one, sizeof(one)) < 0)
        perror("eventfd");
    t0 = clock_mono_ms();
    rc = post_url(url, NULL, 10000, &cancel, &res);
    dt = clock_mono_ms() - t0;
    ok(rc == IRTC_EAGAIN && strstr(res.error, "stopped") != NULL, "stop: IRTC_EAGAIN (%s)", res.error);
    /* Far under the 10 s timeout: the stop, not the deadline, ended it (a
     * loaded CI machine may take a few hundred ms to schedule us). */
    ok(dt < 5000, "stop ends the request before its 10 s deadline (%llu ms)", (unsigned long long)dt);
    close(efd);

    /* Names go through the resolver thread. */
    srv_script(ok200, 1);
    snprintf(url, sizeof(url), "http://localhost:%u/by-name", g_srv.port);
    rc = post_url(url, NULL, 3000, NULL, &res);
    ok(rc == IRTC_OK && res.status == 200, "http://localhost: resolved and delivered (%s)", res.error);
    snprintf(host, sizeof(host), "\r\nHost: localhost:%u\r\n", g_srv.port);
    ok(strstr(g_srv.req, host) != NULL, "Host header carries the name");

    srv_stop();

    /* Nothing listens on the port any more. */
    rc = post("/", 2000, &res);
    expect_fail(rc, IRTC_EIO, &res, 0, "Connection refused", "refused");
    rc = post_url("http://no-such-host.invalid/", NULL, 3000, NULL, &res);
    ok((rc == IRTC_EIO || rc == IRTC_ELIMIT) && strstr(res.error, "no-such-host.invalid") != NULL,
       "unresolvable name fails naming the host (%s)", res.error);
}

static void test_http_tls(void)
{
    char cert[512], key[512], err[512] = "";
    cb_http_result_t res;
    int rc = tlscert_ensure_selfsigned(g_dir, "cb.test", cert, sizeof(cert), key, sizeof(key), err, sizeof(err));
    is_int(rc, IRTC_OK, "self-signed certificate for the test server (%s)", err);
    SSL_CTX *ctx = tlscert_server_ctx(cert, key, err, sizeof(err));
    ok(ctx != NULL, "server TLS context (%s)", err);
    srv_start(ctx, "127.0.0.1");
    srv_step_t ok200[] = {REPLY(OK_200)};
    srv_script(ok200, 1);
    char url[128];

    snprintf(url, sizeof(url), "https://127.0.0.1:%u/tls", g_srv.port);
    rc = post_url(url, NULL, 3000, NULL, &res);
    expect_fail(rc, IRTC_ECRYPTO, &res, 0, "certificate verify failed", "https without the CA: refused");
    is_int(srv_conns(), 0, "nothing was sent to the unverified server");

    rc = post_url(url, cert, 3000, NULL, &res);
    ok(rc == IRTC_OK && res.status == 200, "https to 127.0.0.1 with the CA file: delivered (%s)", res.error);
    ok(strstr(g_srv.req, "X-HW-SIGN: U0lH\r\n") != NULL, "the request arrived over TLS");

    snprintf(url, sizeof(url), "https://localhost:%u/tls", g_srv.port);
    rc = post_url(url, cert, 3000, NULL, &res);
    ok(rc == IRTC_OK && res.status == 200, "https to localhost (SNI, name check): delivered (%s)", res.error);
    srv_stop();

    /* The certificate names cb.test, localhost, 127.0.0.1 and ::1, not 127.0.0.2. */
    srv_start(ctx, "127.0.0.2");
    srv_script(ok200, 1);
    snprintf(url, sizeof(url), "https://127.0.0.2:%u/tls", g_srv.port);
    rc = post_url(url, cert, 3000, NULL, &res);
    expect_fail(rc, IRTC_ECRYPTO, &res, 0, "mismatch", "https to an address the certificate does not name");
    srv_stop();
    SSL_CTX_free(ctx);

    cb_http_t *h = cb_http_new(tpath("cb.db"), err, sizeof(err));
    ok(h == NULL && strstr(err, "callback_ca_file") != NULL, "a CA file without certificates is refused (%s)", err);
}

/* ---- the sender thread ---- */

static store_outbox_t row_by_id(int64_t id)
{
    store_outbox_t *rows, r;
    size_t n = 0;
    memset(&r, 0, sizeof(r));
    if (store_outbox_recent(g_st, 1000, &rows, &n) != IRTC_OK)
        return r;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].id == id) {
            r = rows[i];
            memset(&rows[i], 0, sizeof(rows[i]));
        }
    }
    store_outbox_list_free(rows, n);
    return r;
}

/* Waits up to ms for the row to be delivered (want 1) or given up (want 2). */
static store_outbox_t wait_row(int64_t id, int want, int ms)
{
    uint64_t deadline = clock_mono_ms() + (uint64_t)ms;
    for (;;) {
        store_outbox_t r = row_by_id(id);
        bool done = want == 1 ? r.delivered_at_ms > 0 : r.next_attempt_ms == INT64_MAX;
        if (done || clock_mono_ms() >= deadline)
            return r;
        store_outbox_dispose(&r);
        sleep_ms(20);
    }
}

static void sender_cfg(cfg_t *cfg, uint64_t give_up_ms)
{
    cfg_defaults(cfg);
    cfg->callback_retry_min_ms = 100;
    cfg->callback_retry_max_ms = 200;
    cfg->callback_give_up_ms = give_up_ms;
    cfg->callback_timeout_ms = 2000;
}

static void test_sender(void)
{
    cfg_t cfg;
    char err[512] = "", url[128];
    cb_stats_t s0, s;
    cb_sender_t *snd = NULL;
    int64_t id = 0;

    srv_start(NULL, "127.0.0.1");
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/recorded", g_srv.port);
    sender_cfg(&cfg, 60000);
    is_int(cb_sender_start(&cfg, tpath("cb.db"), &snd, err, sizeof(err)), IRTC_OK, "sender starts (%s)", err);
    cb_sender_stats(snd, &s0);

    /* The rows of test_enqueue are due and point nowhere: they fail, or
     * (the bad ones) are given up.  Only ours matters here. */
    srv_step_t flaky[] = {REPLY("HTTP/1.1 500 Oops\r\n\r\n"), REPLY("HTTP/1.1 503 Busy\r\n\r\n"), REPLY(OK_200)};
    srv_script(flaky, 3);
    cb_event_t ev = {.kind = CB_VIDEO,
                     .app_id = g_app.app_id,
                     .channel_id = "room",
                     .recording_id = "77",
                     .user_id = "alice",
                     .file_path = "/r.mp4",
                     .file_name = "r.mp4"};
    uint64_t t0 = clock_mono_ms();
    is_int(cb_notify(g_st, url, &ev, &id), IRTC_OK, "callback queued");
    cb_sender_kick(snd);
    store_outbox_t r = wait_row(id, 1, 5000);
    uint64_t dt = clock_mono_ms() - t0;
    ok(r.delivered_at_ms > 0, "delivered after the server recovered (%" PRId64 ", %s)", r.delivered_at_ms,
       r.last_error ? r.last_error : "no error");
    is_int(r.attempts, 2, "two failed attempts recorded before");
    ok(r.last_error != NULL && strstr(r.last_error, "HTTP 503 Busy") != NULL, "last_error keeps the last failure");
    ok(dt >= 280 && dt < 8000, "retried after 100 then 200 ms (%llu ms in all)", (unsigned long long)dt);
    is_int(srv_conns(), 3, "three requests in all");
    ok(g_srv.req_len > strlen(r.body) && strcmp(g_srv.req + g_srv.req_len - strlen(r.body), r.body) == 0,
       "the stored body was sent");
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "\r\nX-HW-SIGN: %s\r\n", r.signature);
    ok(strstr(g_srv.req, hdr) != NULL, "with the stored signature");
    store_outbox_dispose(&r);
    sleep_ms(400);
    is_int(srv_conns(), 3, "never sent again after the 2xx");
    cb_sender_stats(snd, &s);
    ok(s.delivered - s0.delivered == 1, "stats: one delivered");
    ok(s.failed_attempts - s0.failed_attempts >= 2, "stats: failed attempts counted (%" PRIu64 ")",
       s.failed_attempts - s0.failed_attempts);

    /* A bad URL is given up at once, not retried. */
    is_int(cb_enqueue(g_st, g_app.app_id, "gopher://x/", "{}", NULL, &id), IRTC_OK, "row with a bad URL");
    cb_sender_kick(snd);
    r = wait_row(id, 2, 3000);
    ok(r.next_attempt_ms == INT64_MAX && r.attempts == 1 && r.last_error != NULL &&
           strstr(r.last_error, "bad URL") != NULL && strstr(r.last_error, "given up") != NULL,
       "bad URL: given up after one attempt (%s)", r.last_error ? r.last_error : "");
    store_outbox_dispose(&r);

    /* Stopping in the middle of a request: bounded, and the row stays due. */
    srv_step_t hang[] = {{SRV_HANG, NULL, 0}};
    srv_script(hang, 1);
    is_int(cb_notify(g_st, url, &ev, &id), IRTC_OK, "callback to a server that never answers");
    cb_sender_kick(snd);
    uint64_t deadline = clock_mono_ms() + 3000;
    while (srv_conns() == 0 && clock_mono_ms() < deadline)
        sleep_ms(10);
    ok(srv_conns() == 1, "the request is in flight");
    t0 = clock_mono_ms();
    cb_sender_stop(snd);
    snd = NULL;
    dt = clock_mono_ms() - t0;
    /* Under the 2 s request timeout set above: the stop ended the request. */
    ok(dt < 1800, "cb_sender_stop returns before the request timeout, mid-request (%llu ms)", (unsigned long long)dt);
    r = row_by_id(id);
    ok(r.delivered_at_ms == 0 && r.attempts == 0 && r.next_attempt_ms < INT64_MAX,
       "the interrupted row is left pending, not counted as an attempt");
    store_outbox_dispose(&r);
    t0 = clock_mono_ms();
    cb_sender_stop(snd); /* NULL: stopped already */
    dt = clock_mono_ms() - t0;
    r = row_by_id(id);
    ok(dt < 500 && srv_conns() == 1 && r.attempts == 0 && r.delivered_at_ms == 0,
       "stopping no sender returns at once (%llu ms) and touches neither the server nor the row", (unsigned long long)dt);
    store_outbox_dispose(&r);

    /* Restarted with a 1 s window: a server that only fails gets the row given up. */
    srv_step_t e503[] = {REPLY("HTTP/1.1 503 Busy\r\n\r\n")};
    srv_script(e503, 1);
    sender_cfg(&cfg, 1000);
    is_int(cb_sender_start(&cfg, tpath("cb.db"), &snd, err, sizeof(err)), IRTC_OK, "sender restarts");
    cb_sender_stats(snd, &s0);
    r = wait_row(id, 2, 4000);
    ok(r.next_attempt_ms == INT64_MAX && r.attempts >= 1 && r.last_error != NULL &&
           strstr(r.last_error, "HTTP 503") != NULL && strstr(r.last_error, "given up after") != NULL,
       "failing past the window: given up (%d attempts: %s)", r.attempts, r.last_error ? r.last_error : "");
    store_outbox_dispose(&r);
    /* The sender counts after it has written the row: under load the test
     * can read the row first. */
    uint64_t until = clock_mono_ms() + 2000;
    do {
        cb_sender_stats(snd, &s);
        if (s.given_up > s0.given_up)
            break;
        usleep(10000);
    } while (clock_mono_ms() < until);
    ok(s.given_up - s0.given_up >= 1, "stats: given up counted (%" PRIu64 ")", s.given_up - s0.given_up);
    cb_sender_stop(snd);
    snd = NULL;
    srv_stop();

    cfg_defaults(&cfg);
    snprintf(cfg.callback_ca_file, sizeof(cfg.callback_ca_file), "%s", tpath("cb.db"));
    is_int(cb_sender_start(&cfg, tpath("cb.db"), &snd, err, sizeof(err)), IRTC_EIO, "a CA file that is no PEM: refused");
    ok(snd == NULL, "no sender after a failed start");
    ok(strstr(err, "callback_ca_file") != NULL, "the error names the key (%s)", err);
    r = row_by_id(id);
    int attempts = r.attempts;
    store_outbox_dispose(&r);
    cb_sender_kick(snd);
    sleep_ms(100);
    r = row_by_id(id);
    ok(r.attempts == attempts && r.delivered_at_ms == 0, "kick without a sender is a no-op (no attempt)");
    store_outbox_dispose(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as irtcd does: the test server hangs up on purpose */
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_vectors();
    test_bodies_nulls();
    test_urls();
    test_retry_schedule();
    make_app();
    test_enqueue();
    test_http_plain();
    test_http_tls();
    test_sender();
    store_close(g_st);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", g_dir);
    return done_testing();
}
