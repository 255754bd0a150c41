/*
 * janus.c — irtc-loadgen's users against Janus's videoroom plugin (HTTP
 * transport): the reference SFU of the side-by-side run.
 *
 * One Janus session; each user is one plugin handle and one PeerConnection
 * (src/client/transport.c).  A publisher sends "joinandconfigure" with our
 * offer and gets the answer as an event; a subscriber sends "join" (ptype
 * subscriber) and answers Janus's offer with "start".  Commands go one at a
 * time on a keep-alive connection; events come on a second one by long poll.
 * The first user of a room creates it.  Runs on the loop's thread,
 * non-blocking.  Does not: the meeting or audio scenarios (their
 * subscriptions follow Janus's publisher lists, not needed for the
 * side-by-side live run), reconnect after Janus restarts.
 */
#include "janus.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/loop.h"
#include "client/offer.h"
#include "client/pace.h"
#include "client/source.h"
#include "client/transport.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/crypto.h"
#include "core/json.h"

#define MAX_ROOMS 256

typedef struct req req_t;
typedef void (*req_done_fn)(janus_t *j, void *ctx, const json_value_t *resp);
struct req {
    char path[96];
    buf_t body; /* empty: GET */
    req_done_fn done;
    void *ctx;
    req_t *next;
};

typedef struct {
    janus_t *j;
    ic_io_t io;
    bool connected;
    req_t *cur;
    buf_t out, in;
    size_t sent;
} conn_t;

typedef struct juser juser_t;
struct juser {
    janus_t *j;
    lg_user_t *u;
    uint64_t handle;
    ic_transport_t *t;
    ic_source_t *src;
    ic_pace_t *pace; /* the publisher's paced video (client/pace.h) */
    int track_audio, track_video;
    juser_t *next;
};

typedef struct {
    bool creating, created;
    uint64_t feed; /* the publisher's id, once joined */
} jroom_t;

struct janus {
    lg_t *lg;
    char ip[46];
    uint16_t port;
    uint64_t session;
    conn_t cmd, poll;
    req_t *queue, **qtail;
    jroom_t rooms[MAX_ROOMS];
    juser_t *users;
    ic_tick_t tick;
    uint64_t txn;
    bool failed;
};

/* ---- HTTP/1.1 on the loop ---- */

static void conn_close(conn_t *c)
{
    if (c->io.fd >= 0) {
        int fd = c->io.fd;
        ic_io_del(c->j->lg->loop, &c->io);
        close(fd);
    }
    c->connected = false;
}

static void conn_io(ic_io_t *io, uint32_t events);

static bool conn_open(conn_t *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->j->port)};
    inet_pton(AF_INET, c->j->ip, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
        close(fd);
        return false;
    }
    if (ic_io_add(c->j->lg->loop, &c->io, fd, EPOLLOUT | EPOLLIN, conn_io, c) != IRTC_OK) {
        close(fd);
        return false;
    }
    c->connected = true;
    return true;
}

static void conn_send(conn_t *c, req_t *r)
{
    c->cur = r;
    buf_reset(&c->out);
    buf_reset(&c->in);
    c->sent = 0;
    if (r->body.len > 0)
        buf_printf(&c->out,
                   "POST %s HTTP/1.1\r\nHost: %s:%u\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   r->path, c->j->ip, c->j->port, r->body.len, r->body.base);
    else
        buf_printf(&c->out, "GET %s HTTP/1.1\r\nHost: %s:%u\r\n\r\n", r->path, c->j->ip, c->j->port);
    if (!c->connected && !conn_open(c)) {
        c->j->failed = true;
        return;
    }
    ic_io_mod(c->j->lg->loop, &c->io, EPOLLIN | EPOLLOUT);
}

/* A whole response in c->in: its body (Content-Length or chunked), or NULL. */
static char *response_body(conn_t *c, size_t *len, bool *ok)
{
    if (c->in.len == 0)
        return NULL;
    char *head_end = strstr(c->in.base, "\r\n\r\n");
    if (head_end == NULL)
        return NULL;
    *ok = strncmp(c->in.base, "HTTP/1.1 200", 12) == 0 || strncmp(c->in.base, "HTTP/1.0 200", 12) == 0;
    char *body = head_end + 4;
    size_t have = c->in.len - (size_t)(body - c->in.base);
    const char *cl = strcasestr(c->in.base, "\r\ncontent-length:");
    if (cl != NULL && cl < head_end) {
        size_t n = strtoul(cl + 17, NULL, 10);
        if (have < n)
            return NULL;
        *len = n;
        return body;
    }
    /* chunked: decode in place once the terminating chunk is there */
    if (strstr(body, "\r\n0\r\n\r\n") == NULL && strncmp(body, "0\r\n\r\n", 5) != 0)
        return NULL;
    char *w = body, *p = body;
    for (;;) {
        size_t n = strtoul(p, &p, 16);
        p = strstr(p, "\r\n");
        if (p == NULL || n == 0)
            break;
        p += 2;
        memmove(w, p, n);
        w += n;
        p += n + 2;
    }
    *len = (size_t)(w - body);
    return body;
}

static void conn_next(conn_t *c);

static void conn_io(ic_io_t *io, uint32_t events)
{
    conn_t *c = io->obj;
    if (c->cur == NULL) {
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            conn_close(c); /* the server closed an idle keep-alive connection */
        return;
    }
    while (c->sent < c->out.len) {
        ssize_t n = send(io->fd, c->out.base + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINPROGRESS))
            return;
        if (n <= 0)
            goto broken;
        c->sent += (size_t)n;
    }
    ic_io_mod(c->j->lg->loop, &c->io, EPOLLIN);
    for (;;) {
        char tmp[16384];
        ssize_t n = recv(io->fd, tmp, sizeof(tmp), 0);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0)
            goto broken;
        buf_append(&c->in, tmp, (size_t)n);
    }
    size_t len;
    bool ok;
    char *body = response_body(c, &len, &ok);
    if (body == NULL)
        return;
    req_t *r = c->cur;
    c->cur = NULL;
    json_value_t *v = ok ? json_parse(body, len, NULL, NULL) : NULL;
    if (r->done != NULL)
        r->done(c->j, r->ctx, v);
    json_free(v);
    buf_dispose(&r->body);
    free(r);
    if (strcasestr(c->in.base, "connection: close") != NULL)
        conn_close(c);
    conn_next(c);
    return;
broken:
    conn_close(c);
    /* Retry the request once on a fresh connection (keep-alive races). */
    c->sent = 0;
    buf_reset(&c->in);
    if (!conn_open(c)) {
        req_t *r2 = c->cur;
        c->cur = NULL;
        if (r2->done != NULL)
            r2->done(c->j, r2->ctx, NULL);
        buf_dispose(&r2->body);
        free(r2);
        c->j->failed = true;
    }
}

static void conn_next(conn_t *c)
{
    janus_t *j = c->j;
    if (c == &j->cmd && c->cur == NULL && j->queue != NULL) {
        req_t *r = j->queue;
        j->queue = r->next;
        if (j->queue == NULL)
            j->qtail = &j->queue;
        conn_send(c, r);
    }
}

/* Queues a command: body "{...}" gets "transaction"; NULL body is a GET. */
static void command(janus_t *j, const char *path, const char *body, req_done_fn done, void *ctx)
{
    req_t *r = xcalloc(1, sizeof(*r));
    snprintf(r->path, sizeof(r->path), "%s", path);
    buf_init(&r->body);
    if (body != NULL)
        buf_printf(&r->body, "{\"transaction\":\"t%llu\",%s", (unsigned long long)++j->txn, body + 1);
    r->done = done;
    r->ctx = ctx;
    *j->qtail = r;
    j->qtail = &r->next;
    conn_next(&j->cmd);
}

/* ---- users ---- */

static juser_t *by_handle(janus_t *j, uint64_t h)
{
    for (juser_t *x = j->users; x; x = x->next)
        if (x->handle == h)
            return x;
    return NULL;
}

static uint64_t json_u64(const json_value_t *v)
{
    int64_t x = 0;
    json_int64(v, &x);
    return (uint64_t)x;
}

static void ju_connected(void *ud)
{
    juser_t *x = ud;
    if (x->u->publish)
        x->u->published = true;
    else
        x->u->subs_up++;
}

static void ju_failed(void *ud, const char *why)
{
    juser_t *x = ud;
    x->u->failed = true;
    fprintf(stderr, "loadgen: Janus %s: %s\n", x->u->user_id, why);
}

static void ju_first(void *ud)
{
    juser_t *x = ud;
    if (x->u->first_media_us == 0)
        x->u->first_media_us = ic_loop_now_us(x->j->lg->loop);
}

static void ju_keyframe(void *ud)
{
    juser_t *x = ud;
    if (x->src != NULL)
        ic_source_keyframe(x->src);
}

static const ic_transport_callbacks_t ju_cbs = {ju_connected, ju_failed, ju_first, ju_keyframe};

static void fill_ours(juser_t *x, ic_offer_t *o, char ip[46], uint16_t *port, char cname[17])
{
    memset(o, 0, sizeof(*o));
    ic_transport_local(x->t, ip, port);
    crypto_random_alnum(cname, 16);
    o->ufrag = ic_transport_ufrag(x->t);
    o->pwd = ic_transport_pwd(x->t);
    o->fingerprint = ic_loop_fingerprint(x->j->lg->loop);
    o->cname = cname;
    o->cand_ip = ip;
    o->cand_port = *port;
    crypto_random(&o->session_id, sizeof(o->session_id));
    o->session_id &= 0x3fffffffffffffffULL;
}

static void handle_path(janus_t *j, juser_t *x, char *path, size_t cap)
{
    snprintf(path, cap, "/janus/%llu/%llu", (unsigned long long)j->session, (unsigned long long)x->handle);
}

static void on_ack(janus_t *j, void *ctx, const json_value_t *resp)
{
    juser_t *x = ctx;
    const char *r = json_string(json_get(resp, "janus"));
    if (r == NULL || (strcmp(r, "ack") != 0 && strcmp(r, "success") != 0)) {
        x->u->failed = true;
        fprintf(stderr, "loadgen: Janus refused a request of %s\n", x->u->user_id);
    }
}

static void publish(janus_t *j, juser_t *x)
{
    ic_publish_opts_t o = j->lg->pub_opts;
    o.simulcast = 0;
    const char *why;
    x->src = ic_source_new(&o, ic_loop_now_us(j->lg->loop), &why);
    x->pace = x->src ? ic_pace_new(&o, 1, ic_loop_now_us(j->lg->loop)) : NULL;
    uint32_t ssrc[2];
    crypto_random(ssrc, sizeof(ssrc));
    x->track_audio = ic_transport_add_send(x->t, false, ssrc[0], NULL);
    x->track_video = ic_transport_add_send(x->t, true, ssrc[1], NULL);
    ic_offer_t off;
    char ip[46], cname[17];
    uint16_t port;
    fill_ours(x, &off, ip, &port, cname);
    off.audio = off.video = off.send = true;
    off.audio_ssrc = ssrc[0];
    off.n_layers = 1;
    off.video_ssrc[0] = ssrc[1];
    buf_t sdp, body;
    buf_init(&sdp);
    buf_init(&body);
    ic_offer_write(&sdp, &off);
    buf_printf(&body,
               "{\"janus\":\"message\",\"body\":{\"request\":\"joinandconfigure\",\"room\":%d,\"ptype\":\"publisher\","
               "\"display\":\"%s\",\"audio\":true,\"video\":true},\"jsep\":{\"type\":\"offer\",\"sdp\":",
               1000 + x->u->room, x->u->user_id);
    json_write_string(&body, sdp.base);
    buf_puts(&body, "}}");
    char path[96];
    handle_path(j, x, path, sizeof(path));
    command(j, path, body.base, on_ack, x);
    buf_dispose(&sdp);
    buf_dispose(&body);
}

static void subscribe(janus_t *j, juser_t *x)
{
    jroom_t *room = &j->rooms[x->u->room % MAX_ROOMS];
    char body[256], path[96];
    snprintf(body, sizeof(body),
             "{\"janus\":\"message\",\"body\":{\"request\":\"join\",\"ptype\":\"subscriber\",\"room\":%d,"
             "\"streams\":[{\"feed\":%llu}]}}",
             1000 + x->u->room, (unsigned long long)room->feed);
    handle_path(j, x, path, sizeof(path));
    command(j, path, body, on_ack, x);
}

static void on_room_created(janus_t *j, void *ctx, const json_value_t *resp)
{
    juser_t *x = ctx;
    jroom_t *room = &j->rooms[x->u->room % MAX_ROOMS];
    room->created = true; /* "created", or it already existed: either way it is there */
    publish(j, x);
}

static void on_attached(janus_t *j, void *ctx, const json_value_t *resp)
{
    juser_t *x = ctx;
    x->handle = json_u64(json_get(json_get(resp, "data"), "id"));
    if (x->handle == 0) {
        x->u->failed = true;
        return;
    }
    x->u->joined = true;
    jroom_t *room = &j->rooms[x->u->room % MAX_ROOMS];
    if (!x->u->publish) {
        subscribe(j, x);
        return;
    }
    if (room->created) {
        publish(j, x);
        return;
    }
    room->creating = true;
    char body[512], path[96];
    /* Like irtcd's rooms: up to 8 publishers, no bitrate cap, no periodic FIR. */
    snprintf(body, sizeof(body),
             "{\"janus\":\"message\",\"body\":{\"request\":\"create\",\"room\":%d,\"publishers\":8,\"bitrate\":0,"
             "\"fir_freq\":0,\"audiocodec\":\"opus\",\"videocodec\":\"vp8\",\"notify_joining\":false}}",
             1000 + x->u->room);
    handle_path(j, x, path, sizeof(path));
    command(j, path, body, on_room_created, x);
}

void janus_user_start(janus_t *j, lg_user_t *u)
{
    juser_t *x = xcalloc(1, sizeof(*x));
    x->j = j;
    x->u = u;
    x->track_audio = x->track_video = -1;
    u->janus = x;
    u->join_sent_us = ic_loop_now_us(j->lg->loop);
    x->t = ic_transport_new(j->lg->loop, j->lg->bind_ip, j->lg->verify_every, &ju_cbs, x);
    if (x->t == NULL) {
        u->failed = true;
        free(x);
        u->janus = NULL;
        return;
    }
    x->next = j->users;
    j->users = x;
    char path[64];
    snprintf(path, sizeof(path), "/janus/%llu", (unsigned long long)j->session);
    command(j, path, "{\"janus\":\"attach\",\"plugin\":\"janus.plugin.videoroom\"}", on_attached, x);
}

void janus_user_stop(janus_t *j, lg_user_t *u)
{
    juser_t *x = u->janus;
    if (x == NULL)
        return;
    for (juser_t **pp = &j->users; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    for (req_t *r = j->queue; r; r = r->next)
        if (r->ctx == x)
            r->done = NULL; /* the queued request goes out, its answer is dropped */
    if (j->cmd.cur != NULL && j->cmd.cur->ctx == x)
        j->cmd.cur->done = NULL;
    if (x->handle != 0) {
        char path[96];
        handle_path(j, x, path, sizeof(path));
        command(j, path, "{\"janus\":\"detach\"}", NULL, NULL);
    }
    ic_transport_free(x->t);
    ic_source_free(x->src);
    ic_pace_free(x->pace);
    free(x);
    u->janus = NULL;
}

void janus_user_stats(janus_t *j, lg_user_t *u, ic_recv_stats_t *rx)
{
    memset(rx, 0, sizeof(*rx));
    juser_t *x = u->janus;
    if (x != NULL)
        ic_transport_add_stats(x->t, rx, NULL);
}

/* ---- events ---- */

static void on_plugin_event(janus_t *j, juser_t *x, const json_value_t *data, const json_value_t *jsep)
{
    const char *what = json_string(json_get(data, "videoroom"));
    const char *type = json_string(json_get(jsep, "type"));
    const char *sdp = json_string(json_get(jsep, "sdp"));
    if (what == NULL)
        return;
    if (strcmp(what, "joined") == 0 && x->u->publish) {
        j->rooms[x->u->room % MAX_ROOMS].feed = json_u64(json_get(data, "id"));
        ic_answer_t a;
        const char *why = "no answer";
        if (sdp == NULL || type == NULL || strcmp(type, "answer") != 0 ||
            ic_answer_parse(sdp, strlen(sdp), &a, &why) != IRTC_OK || ic_transport_start(x->t, &a, true) != IRTC_OK) {
            fprintf(stderr, "loadgen: Janus publisher %s: %s\n", x->u->user_id, why);
            x->u->failed = true;
        }
    } else if (strcmp(what, "attached") == 0 && !x->u->publish) {
        ic_answer_t offer;
        const char *why = "no offer";
        if (sdp == NULL || type == NULL || strcmp(type, "offer") != 0 ||
            ic_offer_parse(sdp, strlen(sdp), &offer, &why) != IRTC_OK) {
            fprintf(stderr, "loadgen: Janus subscriber %s: %s\n", x->u->user_id, why);
            x->u->failed = true;
            return;
        }
        ic_offer_t ours;
        char ip[46], cname[17];
        uint16_t port;
        fill_ours(x, &ours, ip, &port, cname);
        buf_t ans, body;
        buf_init(&ans);
        buf_init(&body);
        ic_answer_write(&ans, &offer, &ours);
        buf_printf(&body,
                   "{\"janus\":\"message\",\"body\":{\"request\":\"start\",\"room\":%d},"
                   "\"jsep\":{\"type\":\"answer\",\"sdp\":",
                   1000 + x->u->room);
        json_write_string(&body, ans.base);
        buf_puts(&body, "}}");
        char path[96];
        handle_path(j, x, path, sizeof(path));
        command(j, path, body.base, on_ack, x);
        buf_dispose(&ans);
        buf_dispose(&body);
        if (ic_transport_start(x->t, &offer, false) != IRTC_OK)
            x->u->failed = true;
    } else if (strcmp(what, "event") == 0 && json_get(data, "error") != NULL) {
        fprintf(stderr, "loadgen: Janus error for %s: %s\n", x->u->user_id, json_string(json_get(data, "error")));
        x->u->failed = true;
    }
}

static void on_event(janus_t *j, const json_value_t *ev)
{
    const char *kind = json_string(json_get(ev, "janus"));
    juser_t *x = by_handle(j, json_u64(json_get(ev, "sender")));
    if (kind == NULL || x == NULL)
        return;
    if (strcmp(kind, "event") == 0)
        on_plugin_event(j, x, json_get(json_get(ev, "plugindata"), "data"), json_get(ev, "jsep"));
    else if (strcmp(kind, "hangup") == 0 && !x->u->leaving)
        j->lg->unexpected_leaves++;
}

static void poll_events(janus_t *j);

static void on_poll(janus_t *j, void *ctx, const json_value_t *resp)
{
    if (json_type(resp) == JSON_ARRAY)
        for (size_t i = 0; i < json_size(resp); i++)
            on_event(j, json_at(resp, i));
    else if (resp != NULL)
        on_event(j, resp);
    poll_events(j);
}

static void poll_events(janus_t *j)
{
    req_t *r = xcalloc(1, sizeof(*r));
    snprintf(r->path, sizeof(r->path), "/janus/%llu?maxev=64", (unsigned long long)j->session);
    buf_init(&r->body);
    r->done = on_poll;
    conn_send(&j->poll, r);
}

/* ---- media ---- */

static void emit(void *ud, int layer, uint32_t ts, bool marker, const uint8_t *payload, size_t len)
{
    juser_t *x = ud;
    int track = layer < 0 ? x->track_audio : x->track_video;
    if (track < 0)
        return;
    if (layer >= 0 && x->pace != NULL)
        ic_pace_video(x->pace, (unsigned)track, ts, marker, payload, len, ic_loop_now_us(x->j->lg->loop),
                      ic_pace_to_transport, x->t);
    else
        ic_transport_send_media(x->t, (unsigned)track, ts, marker, payload, len);
}

static void on_tick(ic_tick_t *t, uint64_t now)
{
    janus_t *j = (janus_t *)((char *)t - offsetof(janus_t, tick));
    for (juser_t *x = j->users; x; x = x->next)
        if (x->src != NULL && ic_transport_connected(x->t)) {
            ic_source_run(x->src, now, emit, x);
            if (x->pace != NULL)
                ic_pace_run(x->pace, now, ic_pace_to_transport, x->t);
        }
}

/* ---- life ---- */

static void on_session(janus_t *j, void *ctx, const json_value_t *resp)
{
    j->session = json_u64(json_get(json_get(resp, "data"), "id"));
}

janus_t *janus_new(lg_t *lg, const char *url, char *err, size_t errcap)
{
    janus_t *j = xcalloc(1, sizeof(*j));
    j->lg = lg;
    j->qtail = &j->queue;
    j->cmd = (conn_t){.j = j, .io.fd = -1};
    j->poll = (conn_t){.j = j, .io.fd = -1};
    buf_init(&j->cmd.out), buf_init(&j->cmd.in), buf_init(&j->poll.out), buf_init(&j->poll.in);
    unsigned port = 0;
    if (sscanf(url, "http://%45[0-9.]:%u", j->ip, &port) != 2 || port == 0 || port > 65535) {
        snprintf(err, errcap, "URL must be http://IPv4:PORT/janus");
        free(j);
        return NULL;
    }
    j->port = (uint16_t)port;
    command(j, "/janus", "{\"janus\":\"create\"}", on_session, NULL);
    uint64_t end = clock_mono_ms() + 5000;
    while (j->session == 0 && !j->failed && clock_mono_ms() < end)
        ic_loop_run(lg->loop, 10);
    if (j->session == 0) {
        snprintf(err, errcap, "no session from %s", url);
        janus_free(j);
        return NULL;
    }
    poll_events(j);
    j->tick.fn = on_tick;
    ic_tick_add(lg->loop, &j->tick);
    return j;
}

void janus_poll(janus_t *j)
{
    IRTC_UNUSED(j); /* everything runs from the loop's callbacks */
}

void janus_free(janus_t *j)
{
    if (j == NULL)
        return;
    ic_tick_del(j->lg->loop, &j->tick);
    conn_close(&j->cmd);
    conn_close(&j->poll);
    for (req_t *r = j->queue, *n; r; r = n) {
        n = r->next;
        buf_dispose(&r->body);
        free(r);
    }
    for (conn_t *c = &j->cmd; c; c = c == &j->cmd ? &j->poll : NULL) {
        if (c->cur != NULL) {
            buf_dispose(&c->cur->body);
            free(c->cur);
        }
        buf_dispose(&c->out);
        buf_dispose(&c->in);
    }
    free(j);
}
