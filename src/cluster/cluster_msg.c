/*
 * cluster_msg.c — cluster mode's key names, heartbeat records, node-to-node
 * messages and the placement choice (cluster_msg.h).  Pure; any thread.
 * Messages are JSON written and read with core/json, so a value another
 * program left under our keys is refused, never trusted.
 */
#include "cluster/cluster_msg.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmsg_key_node(buf_t *b, const char *node_id)
{
    buf_printf(b, "irtc:node:%s", node_id);
}

void cmsg_key_rooms(buf_t *b, const char *node_id)
{
    buf_printf(b, "irtc:rooms:%s", node_id);
}

void cmsg_key_room(buf_t *b, const char *app_id, const char *channel_id)
{
    buf_printf(b, "irtc:room:%s:%s", app_id, channel_id);
}

void cmsg_key_rpc(buf_t *b, const char *node_id)
{
    buf_printf(b, "irtc:rpc:%s", node_id);
}

void cmsg_key_outbox(buf_t *b, const char *node_id)
{
    buf_printf(b, "irtc:outbox:%s", node_id);
}

void cmsg_node_write(buf_t *b, const cluster_node_t *n)
{
    buf_puts(b, "{\"id\":");
    json_write_string(b, n->id);
    buf_puts(b, ",\"advertise\":");
    json_write_string(b, n->advertise);
    buf_puts(b, ",\"mediaIp\":");
    json_write_string(b, n->media_ip);
    buf_printf(b, ",\"mediaPort\":%u,\"workers\":%u,\"rooms\":%u,\"peers\":%u,\"pktsPerS\":%llu,\"cpuPct\":%u}",
               n->media_port, n->workers, n->rooms, n->peers, (unsigned long long)n->pkts_per_s, n->cpu_pct);
}

static bool get_str(const json_value_t *o, const char *k, char *dst, size_t cap)
{
    const char *s = json_string(json_get(o, k));
    if (s == NULL || strlen(s) >= cap || (cap > 1 && s[0] == '\0'))
        return false;
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static bool get_uint(const json_value_t *o, const char *k, uint64_t max, uint64_t *out)
{
    int64_t v;
    const json_value_t *x = json_get(o, k);
    if (x == NULL || json_int64(x, &v) != IRTC_OK || v < 0 || (uint64_t)v > max)
        return false;
    *out = (uint64_t)v;
    return true;
}

bool cmsg_node_parse(const char *text, size_t len, cluster_node_t *out)
{
    const char *err;
    size_t pos;
    json_value_t *o = json_parse(text, len, &err, &pos);
    uint64_t port = 0, workers = 0, rooms = 0, peers = 0, pps = 0, cpu = 0;
    memset(out, 0, sizeof(*out));
    bool ok = o != NULL && json_type(o) == JSON_OBJECT && get_str(o, "id", out->id, sizeof(out->id)) &&
              get_str(o, "advertise", out->advertise, sizeof(out->advertise)) &&
              get_str(o, "mediaIp", out->media_ip, sizeof(out->media_ip)) && get_uint(o, "mediaPort", 65535, &port) &&
              get_uint(o, "workers", 256, &workers) && workers >= 1 && get_uint(o, "rooms", UINT32_MAX, &rooms) &&
              get_uint(o, "peers", UINT32_MAX, &peers) && get_uint(o, "pktsPerS", UINT64_MAX >> 1, &pps) &&
              get_uint(o, "cpuPct", 100000, &cpu);
    json_free(o);
    out->media_port = (unsigned)port;
    out->workers = (unsigned)workers;
    out->rooms = (unsigned)rooms;
    out->peers = (unsigned)peers;
    out->pkts_per_s = pps;
    out->cpu_pct = (unsigned)cpu;
    return ok;
}

int cmsg_least_loaded(const cluster_node_t *nodes, const unsigned *extra, size_t n)
{
    int best = -1;
    uint64_t best_score = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t score = (uint64_t)nodes[i].rooms * 4 + nodes[i].peers + (uint64_t)(extra ? extra[i] : 0) * 4;
        if (best < 0 || score < best_score || (score == best_score && strcmp(nodes[i].id, nodes[best].id) < 0)) {
            best = (int)i;
            best_score = score;
        }
    }
    return best;
}

int cmsg_node_for_media(const cluster_node_t *nodes, size_t n, const char *host, unsigned port)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(nodes[i].media_ip, host) == 0 && port >= nodes[i].media_port &&
            port < nodes[i].media_port + nodes[i].workers)
            return (int)i;
    }
    return -1;
}

void cmsg_rpc_write(buf_t *b, const cmsg_rpc_t *m)
{
    buf_printf(b, "{\"t\":\"%s\",\"id\":\"%llu\",\"from\":", m->reply ? "rep" : "req", (unsigned long long)m->id);
    json_write_string(b, m->from);
    if (m->reply) {
        buf_printf(b, ",\"code\":%d,\"msg\":", m->code);
        json_write_string_n(b, m->msg ? m->msg : "", m->msg ? m->msg_len : 0);
        buf_puts(b, ",\"data\":");
    } else {
        buf_puts(b, ",\"route\":");
        json_write_string(b, m->route);
        buf_puts(b, ",\"app\":");
        json_write_string(b, m->app_id);
        buf_puts(b, ",\"body\":");
    }
    json_write_string_n(b, m->body ? m->body : "", m->body ? m->body_len : 0);
    buf_putc(b, '}');
}

bool cmsg_rpc_parse(const char *text, size_t len, cmsg_rpc_t *m, json_value_t **root)
{
    const char *err;
    size_t pos;
    memset(m, 0, sizeof(*m));
    json_value_t *o = json_parse(text, len, &err, &pos);
    *root = o;
    if (o == NULL || json_type(o) != JSON_OBJECT)
        return false;
    const char *t = json_string(json_get(o, "t"));
    const char *id = json_string(json_get(o, "id"));
    if (t == NULL || id == NULL || !get_str(o, "from", m->from, sizeof(m->from)))
        return false;
    char *end;
    m->id = strtoull(id, &end, 10);
    if (*id == '\0' || *end != '\0')
        return false;
    const json_value_t *payload;
    if (strcmp(t, "rep") == 0) {
        int64_t code;
        const json_value_t *msg = json_get(o, "msg");
        m->reply = true;
        if (json_int64(json_get(o, "code"), &code) != IRTC_OK || code < 0 || code > INT32_MAX ||
            json_string(msg) == NULL)
            return false;
        m->code = (int)code;
        m->msg = json_string(msg);
        m->msg_len = json_string_len(msg);
        payload = json_get(o, "data");
    } else if (strcmp(t, "req") == 0) {
        if (!get_str(o, "route", m->route, sizeof(m->route)) || !get_str(o, "app", m->app_id, sizeof(m->app_id)))
            return false;
        payload = json_get(o, "body");
    } else {
        return false;
    }
    if (json_string(payload) == NULL)
        return false;
    m->body = json_string(payload);
    m->body_len = json_string_len(payload);
    return true;
}

void cmsg_outbox_write(buf_t *b, const char *app_id, const char *url, const char *body, const char *signature,
                       int64_t created_at_ms)
{
    buf_puts(b, "{\"app\":");
    json_write_string(b, app_id);
    buf_puts(b, ",\"url\":");
    json_write_string(b, url);
    buf_puts(b, ",\"body\":");
    json_write_string(b, body);
    buf_puts(b, ",\"sig\":");
    json_write_string(b, signature ? signature : "");
    buf_printf(b, ",\"created\":%lld}", (long long)created_at_ms);
}

bool cmsg_outbox_parse(const char *text, size_t len, cmsg_outbox_t *m, json_value_t **root)
{
    const char *err;
    size_t pos;
    int64_t created;
    memset(m, 0, sizeof(*m));
    json_value_t *o = json_parse(text, len, &err, &pos);
    *root = o;
    if (o == NULL || json_type(o) != JSON_OBJECT || !get_str(o, "app", m->app_id, sizeof(m->app_id)) ||
        json_int64(json_get(o, "created"), &created) != IRTC_OK || created < 0)
        return false;
    m->url = json_string(json_get(o, "url"));
    m->body = json_string(json_get(o, "body"));
    m->signature = json_string(json_get(o, "sig"));
    m->created_at_ms = created;
    return m->url != NULL && m->url[0] != '\0' && m->body != NULL && m->signature != NULL;
}
