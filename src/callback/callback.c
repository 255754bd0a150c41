/*
 * callback.c — what a recording callback says and how it is queued: the
 * contract's JSON bodies, the X-HW-SIGN signature, strict URL parsing, the
 * retry schedule, and the outbox insert.  Pure functions plus one store
 * write; runs on the control thread (or a CLI command).  Sending is
 * cb_sender.c's job, the wire client cb_http.c's.
 */
#include "callback/callback.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/json.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- bodies ---- */

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* ,"name":"value" (every field but the first). */
static void put_field(buf_t *b, const char *name, const char *value)
{
    buf_printf(b, ",\"%s\":", name);
    json_write_string(b, or_empty(value));
}

/* The guide's tables type authTimestamp as String: decimal digits, quoted. */
static void put_auth_ts(buf_t *b, int64_t auth_ts)
{
    buf_printf(b, ",\"authTimestamp\":\"%" PRId64 "\"", auth_ts);
}

/* Field order follows the guide's request examples (8.5.4, 8.5.5). */
static void put_common(buf_t *b, const cb_event_t *ev)
{
    buf_puts(b, "{\"channelId\":");
    json_write_string(b, or_empty(ev->channel_id));
    put_field(b, "appId", ev->app_id);
    put_field(b, "recordingId", ev->recording_id);
    put_field(b, "userId", ev->user_id);
    put_field(b, "extraData", ev->extra_data);
}

void cb_body_video(buf_t *out, const cb_event_t *ev)
{
    put_common(out, ev);
    put_auth_ts(out, ev->auth_ts);
    put_field(out, "fileId", ev->file_id);
    put_field(out, "filePath", ev->file_path);
    put_field(out, "fileName", ev->file_name);
    buf_putc(out, '}');
}

void cb_body_image(buf_t *out, const cb_event_t *ev)
{
    put_common(out, ev);
    /* Base64 straight into the buffer: a snapshot is a few hundred KiB. */
    size_t n = ev->image != NULL ? ev->image_len : 0;
    buf_puts(out, ",\"imageData\":\"");
    buf_reserve(out, crypto_b64_enc_len(n));
    out->len += crypto_b64_encode(ev->image, n, out->base + out->len);
    buf_putc(out, '"');
    put_auth_ts(out, ev->auth_ts);
    put_field(out, "filePath", ev->file_path);
    buf_putc(out, '}');
}

/* ---- signature ---- */

void cb_sign(const char *access_key, const char *app_id, const char *channel_id, const char *user_id,
             const char *extra_data, int64_t auth_ts, char out[CB_SIGN_LEN])
{
    unsigned char mac[32];
    buf_t msg;
    const char *key = or_empty(access_key);

    /* Contract decision: appKey in the message is the accessKey, which is
     * also the HMAC key. */
    buf_init(&msg);
    buf_printf(&msg, "%s%s%s%s%s%" PRId64, or_empty(app_id), key, or_empty(channel_id), or_empty(user_id),
               or_empty(extra_data), auth_ts);
    crypto_hmac_sha256(key, strlen(key), msg.base, msg.len, mac);
    crypto_b64_encode(mac, sizeof(mac), out);
    buf_dispose(&msg);
}

/* ---- URLs ---- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

/* A registered name: labels of [A-Za-z0-9-_] separated by single dots, or a
 * dotted-decimal IPv4 address (anything all digits and dots must be one, so
 * "1.2.3" or "010.0.0.1" never reaches the resolver's legacy forms). */
static const char *check_host_name(const char *h, cb_url_t *out)
{
    size_t n = strlen(h);
    bool digits_dots = true;
    if (n == 0)
        return "the URL has no host";
    for (size_t i = 0; i < n; i++) {
        if (!is_name_char(h[i]))
            return "the host may only contain letters, digits, '-', '_' and '.' (IPv6 goes in brackets)";
        if (h[i] == '.' && (i == 0 || h[i - 1] == '.' || i + 1 == n))
            return "the host has an empty label";
        digits_dots = digits_dots && ((h[i] >= '0' && h[i] <= '9') || h[i] == '.');
    }
    if (h[0] == '-')
        return "the host starts with '-'";
    if (digits_dots) {
        struct in_addr a;
        char canon[INET_ADDRSTRLEN];
        if (inet_pton(AF_INET, h, &a) != 1 || inet_ntop(AF_INET, &a, canon, sizeof(canon)) == NULL ||
            strcmp(canon, h) != 0)
            return "the host is not a valid IPv4 address";
        out->host_is_ip = true;
    }
    return NULL;
}

static const char *parse_port(const char *p, size_t n, uint16_t *out)
{
    unsigned v = 0;
    if (n == 0)
        return "the URL has ':' but no port";
    if (n > 5)
        return "the port must be 1..65535";
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return "the port must be digits";
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return "the port must be 1..65535";
    *out = (uint16_t)v;
    return NULL;
}

/* host[:port] or [v6][:port]. */
static const char *parse_authority(const char *a, size_t n, cb_url_t *out)
{
    const char *port = NULL;
    size_t hlen;
    if (memchr(a, '@', n) != NULL)
        return "user:password@ in the URL is not supported";
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        struct in6_addr a6;
        if (close == NULL)
            return "the IPv6 address has no closing ']'";
        hlen = (size_t)(close - a - 1);
        if (hlen == 0 || hlen >= INET6_ADDRSTRLEN)
            return "the host is not a valid IPv6 address";
        memcpy(out->host, a + 1, hlen);
        out->host[hlen] = '\0';
        if (inet_pton(AF_INET6, out->host, &a6) != 1)
            return "the host is not a valid IPv6 address (zone ids are not supported)";
        out->host_is_ip = out->host_is_ipv6 = true;
        if (close + 1 < a + n) {
            if (close[1] != ':')
                return "unexpected text after the IPv6 address";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', n);
        hlen = colon != NULL ? (size_t)(colon - a) : n;
        if (colon != NULL && memchr(colon + 1, ':', n - hlen - 1) != NULL)
            return "an IPv6 address must be in brackets";
        if (hlen >= sizeof(out->host) || hlen > 253)
            return "the host is longer than 253 characters";
        memcpy(out->host, a, hlen);
        out->host[hlen] = '\0';
        const char *why = check_host_name(out->host, out);
        if (why != NULL)
            return why;
        if (colon != NULL)
            port = colon + 1;
    }
    if (port != NULL)
        return parse_port(port, (size_t)(a + n - port), &out->port);
    return NULL;
}

int cb_url_parse(const char *url, cb_url_t *out, const char **why)
{
    const char *w = NULL;
    size_t skip = 0;

    memset(out, 0, sizeof(*out));
    if (url == NULL || url[0] == '\0') {
        w = "the URL is empty";
        goto out;
    }
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
            w = "the URL contains a space, a control character or a non-ASCII byte";
            goto out;
        }
    }
    if (strncasecmp(url, "http://", 7) == 0) {
        skip = 7;
        out->port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        skip = 8;
        out->tls = true;
        out->port = 443;
    } else {
        w = "the URL must start with http:// or https://";
        goto out;
    }
    const char *auth = url + skip;
    size_t alen = strcspn(auth, "/?#");
    if ((w = parse_authority(auth, alen, out)) != NULL)
        goto out;
    const char *target = auth + alen;
    size_t tlen = strcspn(target, "#");
    const char *prefix = target[0] == '/' ? "" : "/";
    if (tlen + 1 >= sizeof(out->target)) {
        w = "the URL's path and query are too long";
        goto out;
    }
    snprintf(out->target, sizeof(out->target), "%s%.*s", prefix, (int)tlen, target);
out:
    if (w != NULL) {
        memset(out, 0, sizeof(*out));
        if (why != NULL)
            *why = w;
        return IRTC_EINVAL;
    }
    return IRTC_OK;
}

/* ---- retries ---- */

int64_t cb_retry_next(const cb_retry_policy_t *p, int attempts, int64_t created_ms, int64_t now_ms)
{
    int64_t deadline = created_ms + (int64_t)p->give_up_ms;
    uint64_t delay = p->retry_min_ms;

    if (now_ms >= deadline)
        return INT64_MAX;
    for (int i = 1; i < attempts && delay < p->retry_max_ms; i++)
        delay = delay > p->retry_max_ms / 2 ? p->retry_max_ms : delay * 2;
    if (delay > p->retry_max_ms)
        delay = p->retry_max_ms;
    /* One last attempt exactly at the deadline rather than none after the
     * last doubling overshot it. */
    if (delay >= (uint64_t)(deadline - now_ms))
        return deadline;
    return now_ms + (int64_t)delay;
}

/* ---- the outbox ---- */

int cb_enqueue(store_t *st, const char *app_id, const char *url, const char *body, const char *signature, int64_t *id)
{
    store_outbox_t o;
    memset(&o, 0, sizeof(o));
    if (app_id == NULL || app_id[0] == '\0' || strlen(app_id) >= sizeof(o.app_id) || url == NULL || url[0] == '\0' ||
        body == NULL || body[0] == '\0')
        return IRTC_EINVAL;
    memcpy(o.app_id, app_id, strlen(app_id) + 1);
    /* The struct's strings are only read by the insert: no copies needed. */
    o.url = (char *)url;
    o.body = (char *)body;
    o.signature = (char *)signature;
    o.next_attempt_ms = (int64_t)clock_wall_ms();
    int rc = store_outbox_insert(st, &o);
    if (rc != IRTC_OK)
        return rc;
    if (id != NULL)
        *id = o.id;
    return IRTC_OK;
}

int cb_notify(store_t *st, const char *url, const cb_event_t *ev, int64_t *id)
{
    store_app_t app;
    cb_event_t e = *ev;
    char sig[CB_SIGN_LEN];
    buf_t body;

    if (ev->app_id == NULL)
        return IRTC_EINVAL;
    int rc = store_app_get(st, ev->app_id, &app);
    if (rc != IRTC_OK)
        return rc;
    if (e.auth_ts == 0)
        e.auth_ts = (int64_t)(clock_wall_ms() / 1000);
    buf_init(&body);
    if (e.kind == CB_IMAGE)
        cb_body_image(&body, &e);
    else
        cb_body_video(&body, &e);
    cb_sign(app.access_key, e.app_id, e.channel_id, e.user_id, e.extra_data, e.auth_ts, sig);
    rc = cb_enqueue(st, e.app_id, url, body.base, sig, id);
    buf_dispose(&body);
    store_app_dispose(&app);
    return rc;
}
