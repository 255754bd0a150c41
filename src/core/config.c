/*
 * config.c — reads the daemon's YAML configuration over the built-in defaults
 * and checks it whole before handing it back.  libyaml's document API is used
 * because its nodes keep the line and column that every error points at.
 * Runs once on the control thread at start-up.  It does not create directories,
 * bind listeners, open the log or generate the self-signed certificate: it only
 * checks that the files the configuration names can be read.
 */
#include "core/config.h"
#include "core/buf.h"
#include "core/common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* A configuration file is a few KiB; anything bigger is a wrong path (or /dev/zero). */
#define CFG_MAX_FILE_BYTES (1024 * 1024)
#define CFG_MAX_WORKERS 256
#define TTL_MIN_MS ((uint64_t)60 * 1000)
#define TTL_MAX_MS ((uint64_t)30 * 24 * 3600 * 1000)
#define SIGNAL_IDLE_MIN_MS ((uint64_t)2 * 1000)
#define SIGNAL_IDLE_MAX_MS ((uint64_t)10 * 60 * 1000)
#define SIGNAL_RESUME_MAX_MS ((uint64_t)5 * 60 * 1000)
#define SECOND_MS ((uint64_t)1000)
#define HOUR_MS ((uint64_t)3600 * 1000)

void cfg_defaults(cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen[0].host, sizeof(cfg->listen[0].host), "0.0.0.0");
    cfg->listen[0].port = 8443;
    cfg->listen_count = 1;
    snprintf(cfg->domain, sizeof(cfg->domain), "localhost");
    cfg->demo_token_enabled = true;
    snprintf(cfg->media_ips[0], sizeof(cfg->media_ips[0]), "127.0.0.1");
    cfg->media_ip_count = 1;
    cfg->media_port = 20000;
    cfg->media_tcp_port = 20000;
    cfg->media_workers = 0;
    cfg->media_room_spread_at = 250;
    snprintf(cfg->db_path, sizeof(cfg->db_path), "./var/irtc.db");
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "./var");
    snprintf(cfg->nas_base_path, sizeof(cfg->nas_base_path), "./var/recordings");
    cfg->rec_threads = 2;
    snprintf(cfg->rec_audio_codec, sizeof(cfg->rec_audio_codec), "aac");
    cfg->rec_max_sessions = 32;
    cfg->callback_timeout_ms = 10 * SECOND_MS;
    cfg->callback_retry_min_ms = 5 * SECOND_MS;
    cfg->callback_retry_max_ms = HOUR_MS;
    cfg->callback_give_up_ms = 24 * HOUR_MS;
    cfg->max_publishers_per_room = 8;
    cfg->api_calls_per_minute = 60;
    cfg->token_ttl_ms = (uint64_t)24 * 3600 * 1000;
    cfg->signal_idle_timeout_ms = 20 * 1000;
    cfg->signal_resume_window_ms = 15 * 1000;
    cfg->data_max_message_size = 262144;
    cfg->max_connections = 4096;
    cfg->max_connections_per_source = 256;
    cfg->cluster_node_ttl_ms = 3 * SECOND_MS;
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->log_format = LOG_FORMAT_TEXT;
    snprintf(cfg->source, sizeof(cfg->source), "(built-in defaults)");
}

void cfg_isdp_dir(const cfg_t *cfg, char *out, size_t cap)
{
    snprintf(out, cap, "%s/isdp", cfg->data_dir);
}

static int parse_u64(const char *s, uint64_t *out);

bool cfg_cluster_enabled(const cfg_t *cfg)
{
    return cfg->cluster_redis_url[0] != '\0';
}

/* redis://[:password@]host[:port][/db]; an IPv6 host in brackets. */
int cfg_parse_redis_url(const char *url, cfg_redis_url_t *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (strncmp(url, "redis://", 8) != 0) {
        *why = strncmp(url, "rediss://", 9) == 0
                   ? "rediss:// (TLS) is not supported by Debian 12's hiredis: tunnel it (docs/ADMIN.md, Cluster)"
                   : "expected redis://[:password@]host[:port][/db]";
        return IRTC_EINVAL;
    }
    const char *p = url + 8, *at = strrchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL || (size_t)(at - colon - 1) >= sizeof(out->password)) {
            *why = "the password goes as redis://:password@host (no user name), at most 255 characters";
            return IRTC_EINVAL;
        }
        memcpy(out->password, colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
    }
    const char *end = p;
    if (*p == '[') {
        end = strchr(p, ']');
        if (end == NULL) {
            *why = "unclosed [ in the host";
            return IRTC_EINVAL;
        }
        p++;
    } else {
        end = p + strcspn(p, ":/");
    }
    if (end == p || (size_t)(end - p) >= sizeof(out->host)) {
        *why = "the host is missing or too long";
        return IRTC_EINVAL;
    }
    memcpy(out->host, p, (size_t)(end - p));
    p = *end == ']' ? end + 1 : end;
    uint64_t n;
    char num[16];
    if (*p == ':') {
        size_t len = strcspn(p + 1, "/");
        if (len == 0 || len >= sizeof(num) || (memcpy(num, p + 1, len), num[len] = '\0', parse_u64(num, &n)) != 0 ||
            n < 1 || n > 65535) {
            *why = "the port must be 1..65535";
            return IRTC_EINVAL;
        }
        out->port = (uint16_t)n;
        p += 1 + len;
    }
    if (*p == '/' && p[1] != '\0') {
        if (parse_u64(p + 1, &n) != IRTC_OK || n > 15) {
            *why = "the database must be a number 0..15";
            return IRTC_EINVAL;
        }
        out->db = (unsigned)n;
    } else if (*p != '\0' && strcmp(p, "/") != 0) {
        *why = "unexpected text after the host";
        return IRTC_EINVAL;
    }
    return IRTC_OK;
}

unsigned cfg_worker_count(const cfg_t *cfg)
{
    if (cfg->media_workers > 0)
        return cfg->media_workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > CFG_MAX_WORKERS)
        n = CFG_MAX_WORKERS;
    return (unsigned)n;
}

/* Digits only: no sign, no spaces, no hex, so "08" is 8 and "-1" is refused. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return IRTC_EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return IRTC_EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return *s == '\0' ? IRTC_OK : IRTC_EINVAL;
}

/* Compound values ("1h30m") are summed, as Go's time.ParseDuration does. */
int cfg_parse_duration_ms(const char *s, uint64_t *out_ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    uint64_t total = 0, n;

    if (s == NULL || *s == '\0')
        return IRTC_EINVAL;
    if (parse_u64(s, &n) == IRTC_OK) {
        if (n > UINT64_MAX / 1000)
            return IRTC_EINVAL;
        *out_ms = n * 1000;
        return IRTC_OK;
    }
    while (*s != '\0') {
        if (*s < '0' || *s > '9')
            return IRTC_EINVAL;
        for (n = 0; *s >= '0' && *s <= '9'; s++) {
            if (n > (UINT64_MAX - 9) / 10)
                return IRTC_EINVAL;
            n = n * 10 + (uint64_t)(*s - '0');
        }
        size_t i, len = 0;
        for (i = 0; i < IRTC_ARRAY_SIZE(units); i++) {
            len = strlen(units[i].unit);
            /* "ms" is listed before "m" and must not be followed by a letter. */
            if (strncmp(s, units[i].unit, len) == 0 && !(s[len] >= 'a' && s[len] <= 'z'))
                break;
        }
        if (i == IRTC_ARRAY_SIZE(units) || n > (UINT64_MAX - total) / units[i].ms)
            return IRTC_EINVAL;
        total += n * units[i].ms;
        s += len;
    }
    *out_ms = total;
    return IRTC_OK;
}

/* ---- the loader ------------------------------------------------------- */

typedef struct loader loader_t;
typedef struct cfg_key cfg_key_t;
typedef int (*cfg_set_fn)(loader_t *ld, const cfg_key_t *key, yaml_node_t *val);

/* One leaf key.  off/cap/min/max serve the generic setters only. */
struct cfg_key {
    const char *path;
    cfg_set_fn set;
    size_t off;
    size_t cap;
    uint64_t min, max; /* for strings: min 1 = must not be empty */
};

enum {
    K_LISTEN,
    K_DOMAIN,
    K_TLS_CERT,
    K_TLS_KEY,
    K_WEB_ROOT,
    K_DEMO_TOKEN,
    K_MEDIA_IPS,
    K_MEDIA_PORT,
    K_MEDIA_WORKERS,
    K_MEDIA_TCP_PORT,
    K_MEDIA_SPREAD_AT,
    K_TURN_URLS,
    K_TURN_SECRET,
    K_TURN_TTL,
    K_DB,
    K_DATA_DIR,
    K_NAS,
    K_CALLBACK_CA,
    K_REC_THREADS,
    K_REC_AUDIO_CODEC,
    K_REC_MAX_SESSIONS,
    K_CALLBACK_TIMEOUT,
    K_CALLBACK_RETRY_MIN,
    K_CALLBACK_RETRY_MAX,
    K_CALLBACK_GIVE_UP,
    K_MAX_PUBLISHERS,
    K_API_CALLS,
    K_TOKEN_TTL,
    K_SIGNAL_IDLE,
    K_SIGNAL_RESUME,
    K_DATA_MAX_MESSAGE,
    K_MAX_CONNECTIONS,
    K_MAX_CONNECTIONS_PER_SOURCE,
    K_CLUSTER_REDIS_URL,
    K_CLUSTER_REDIS_PASSWORD,
    K_CLUSTER_NODE_ID,
    K_CLUSTER_ADVERTISE,
    K_CLUSTER_NODE_TTL,
    K_LOG_LEVEL,
    K_LOG_FORMAT,
    K_LOG_FILE,
    K_COUNT
};

struct loader {
    const char *file;
    yaml_document_t *doc;
    cfg_t cfg;                  /* built here, copied out only when all is well */
    yaml_node_t *seen[K_COUNT]; /* value node per key, for checks after the walk */
    char *err;
    size_t errcap;
};

static int set_string(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_domain(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_uint(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_bool(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_listen(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_media_ips(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_media_port(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_workers(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_turn_urls(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_duration(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_log_level(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_log_format(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);
static int set_audio_codec(loader_t *ld, const cfg_key_t *key, yaml_node_t *n);

#define FIELD(f) offsetof(cfg_t, f), sizeof(((cfg_t *)0)->f)

/* Siblings must stay adjacent: list_children() relies on it. */
static const cfg_key_t cfg_keys[K_COUNT] = {
    [K_LISTEN] = {"server.listen", set_listen},
    [K_DOMAIN] = {"server.domain", set_domain, FIELD(domain), 1},
    [K_TLS_CERT] = {"server.tls.cert", set_string, FIELD(tls_cert)},
    [K_TLS_KEY] = {"server.tls.key", set_string, FIELD(tls_key)},
    [K_WEB_ROOT] = {"server.web_root", set_string, FIELD(web_root)},
    [K_DEMO_TOKEN] = {"server.demo_token", set_bool, FIELD(demo_token_enabled)},
    [K_MEDIA_IPS] = {"media.ips", set_media_ips},
    [K_MEDIA_PORT] = {"media.port", set_media_port, 0, 0, 1024, 65535},
    [K_MEDIA_WORKERS] = {"media.workers", set_workers, 0, 0, 1, CFG_MAX_WORKERS},
    [K_MEDIA_TCP_PORT] = {"media.tcp_port", set_media_port, 0, 0, 0, 65535},
    [K_MEDIA_SPREAD_AT] = {"media.room_spread_at", set_uint, FIELD(media_room_spread_at), 0, 1000000},
    [K_TURN_URLS] = {"media.turn.urls", set_turn_urls},
    [K_TURN_SECRET] = {"media.turn.secret", set_string, FIELD(turn_secret)},
    [K_TURN_TTL] = {"media.turn.ttl", set_duration, FIELD(turn_ttl_ms), 60 * SECOND_MS, 30 * 24 * HOUR_MS},
    [K_DB] = {"storage.db", set_string, FIELD(db_path), 1},
    [K_DATA_DIR] = {"storage.data_dir", set_string, FIELD(data_dir), 1},
    [K_NAS] = {"recording.nas_base_path", set_string, FIELD(nas_base_path), 1},
    [K_CALLBACK_CA] = {"recording.callback_ca_file", set_string, FIELD(callback_ca_file)},
    [K_REC_THREADS] = {"recording.threads", set_uint, FIELD(rec_threads), 1, 8},
    [K_REC_AUDIO_CODEC] = {"recording.audio_codec", set_audio_codec},
    [K_REC_MAX_SESSIONS] = {"recording.max_sessions", set_uint, FIELD(rec_max_sessions), 1, 1000},
    [K_CALLBACK_TIMEOUT] = {"recording.callback_timeout", set_duration, FIELD(callback_timeout_ms), SECOND_MS,
                            60 * SECOND_MS},
    [K_CALLBACK_RETRY_MIN] = {"recording.callback_retry_min", set_duration, FIELD(callback_retry_min_ms), 100, HOUR_MS},
    [K_CALLBACK_RETRY_MAX] = {"recording.callback_retry_max", set_duration, FIELD(callback_retry_max_ms), 100,
                              24 * HOUR_MS},
    [K_CALLBACK_GIVE_UP] = {"recording.callback_give_up", set_duration, FIELD(callback_give_up_ms), SECOND_MS,
                            30 * 24 * HOUR_MS},
    [K_MAX_PUBLISHERS] = {"limits.max_publishers_per_room", set_uint, FIELD(max_publishers_per_room), 1, 64},
    [K_API_CALLS] = {"limits.api_calls_per_minute", set_uint, FIELD(api_calls_per_minute), 1, 100000},
    [K_TOKEN_TTL] = {"limits.token_ttl", set_duration, FIELD(token_ttl_ms), TTL_MIN_MS, TTL_MAX_MS},
    [K_SIGNAL_IDLE] = {"limits.signal_idle_timeout", set_duration, FIELD(signal_idle_timeout_ms), SIGNAL_IDLE_MIN_MS,
                       SIGNAL_IDLE_MAX_MS},
    [K_SIGNAL_RESUME] = {"limits.signal_resume_window", set_duration, FIELD(signal_resume_window_ms), 0,
                         SIGNAL_RESUME_MAX_MS},
    /* at most half the 1 MiB SCTP send buffer (media/sctp.h): a message always fits behind another */
    [K_DATA_MAX_MESSAGE] = {"limits.data_max_message_size", set_uint, FIELD(data_max_message_size), 1024, 524288},
    [K_MAX_CONNECTIONS] = {"limits.max_connections", set_uint, FIELD(max_connections), 16, 1000000},
    [K_MAX_CONNECTIONS_PER_SOURCE] = {"limits.max_connections_per_source", set_uint, FIELD(max_connections_per_source),
                                      1, 1000000},
    [K_CLUSTER_REDIS_URL] = {"cluster.redis_url", set_string, FIELD(cluster_redis_url)},
    [K_CLUSTER_REDIS_PASSWORD] = {"cluster.redis_password", set_string, FIELD(cluster_redis_password)},
    [K_CLUSTER_NODE_ID] = {"cluster.node_id", set_string, FIELD(cluster_node_id)},
    [K_CLUSTER_ADVERTISE] = {"cluster.advertise", set_domain, FIELD(cluster_advertise)},
    [K_CLUSTER_NODE_TTL] = {"cluster.node_ttl", set_duration, FIELD(cluster_node_ttl_ms), 2 * SECOND_MS,
                            60 * SECOND_MS},
    [K_LOG_LEVEL] = {"log.level", set_log_level},
    [K_LOG_FORMAT] = {"log.format", set_log_format},
    [K_LOG_FILE] = {"log.file", set_string, FIELD(log_file)},
};

static void put_err(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put_err(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errcap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

/* Writes "file:line:column: kp: message" (1-based) and returns IRTC_EINVAL. */
static int fail(loader_t *ld, yaml_mark_t at, const char *kp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(loader_t *ld, yaml_mark_t at, const char *kp, const char *fmt, ...)
{
    va_list ap;
    if (ld->err == NULL || ld->errcap == 0)
        return IRTC_EINVAL;
    int n = snprintf(ld->err, ld->errcap, "%s:%zu:%zu: %s: ", ld->file, at.line + 1, at.column + 1, kp);
    if (n >= 0 && (size_t)n < ld->errcap) {
        va_start(ap, fmt);
        vsnprintf(ld->err + n, ld->errcap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return IRTC_EINVAL;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    default:
        return "a scalar";
    }
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* YAML's null: an empty value, "~" or "null" written plainly (quoted is a string). */
static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = sval(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static int expect_scalar(loader_t *ld, const cfg_key_t *key, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(ld, n->start_mark, key->path, "expected %s, got %s", what, node_kind(n));
    if (memchr(sval(n), '\0', n->data.scalar.length) != NULL)
        return fail(ld, n->start_mark, key->path, "contains a NUL character");
    return IRTC_OK;
}

static int set_string(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    int rc = expect_scalar(ld, key, n, "a string");
    if (rc != IRTC_OK)
        return rc;
    const char *s = is_null(n) ? "" : sval(n);
    size_t len = strlen(s);
    if (len >= key->cap)
        return fail(ld, n->start_mark, key->path, "longer than %zu characters", key->cap - 1);
    if (len == 0 && key->min > 0)
        return fail(ld, n->start_mark, key->path, "must not be empty");
    memcpy((char *)&ld->cfg + key->off, s, len + 1);
    return IRTC_OK;
}

static int set_domain(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    int rc = set_string(ld, key, n);
    const char *v = (const char *)&ld->cfg + key->off;
    if (rc == IRTC_OK && strpbrk(v, "/ \t@?#") != NULL)
        rc = fail(ld, n->start_mark, key->path, "expected a host name with an optional :port (not a URL), got \"%s\"",
                  v);
    return rc;
}

/* Parses an integer scalar and checks it against key->min..key->max. */
static int get_uint(loader_t *ld, const cfg_key_t *key, yaml_node_t *n, uint64_t *out)
{
    int rc = expect_scalar(ld, key, n, "an integer");
    if (rc != IRTC_OK)
        return rc;
    if (parse_u64(sval(n), out) != IRTC_OK)
        return fail(ld, n->start_mark, key->path, "expected an integer between %llu and %llu, got \"%s\"",
                    (unsigned long long)key->min, (unsigned long long)key->max, sval(n));
    if (*out < key->min || *out > key->max)
        return fail(ld, n->start_mark, key->path, "%s is out of range (%llu..%llu)", sval(n),
                    (unsigned long long)key->min, (unsigned long long)key->max);
    return IRTC_OK;
}

static int set_uint(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    uint64_t v;
    int rc = get_uint(ld, key, n, &v);
    if (rc == IRTC_OK)
        *(unsigned *)((char *)&ld->cfg + key->off) = (unsigned)v;
    return rc;
}

static int set_media_port(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    uint64_t v;
    int rc = get_uint(ld, key, n, &v);
    if (rc == IRTC_OK)
        *(key == &cfg_keys[K_MEDIA_TCP_PORT] ? &ld->cfg.media_tcp_port : &ld->cfg.media_port) = (uint16_t)v;
    return rc;
}

static int set_workers(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    uint64_t v;
    if (n->type == YAML_SCALAR_NODE && strcmp(sval(n), "auto") == 0) {
        ld->cfg.media_workers = 0;
        return IRTC_OK;
    }
    if (n->type == YAML_SCALAR_NODE && parse_u64(sval(n), &v) != IRTC_OK)
        return fail(ld, n->start_mark, key->path, "expected \"auto\" or an integer between 1 and %d, got \"%s\"",
                    CFG_MAX_WORKERS, sval(n));
    int rc = get_uint(ld, key, n, &v);
    if (rc == IRTC_OK)
        ld->cfg.media_workers = (unsigned)v;
    return rc;
}

/* YAML 1.1's spellings, since that is what operators copy from other configs. */
static int set_bool(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    static const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    int rc = expect_scalar(ld, key, n, "true or false");
    if (rc != IRTC_OK)
        return rc;
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(yes); i++) {
        if (strcmp(sval(n), yes[i]) == 0 || strcmp(sval(n), no[i]) == 0) {
            *(bool *)((char *)&ld->cfg + key->off) = strcmp(sval(n), yes[i]) == 0;
            return IRTC_OK;
        }
    }
    return fail(ld, n->start_mark, key->path, "expected true or false, got \"%s\"", sval(n));
}

/* ms in the largest unit that divides it exactly ("1m", "30d", "1500ms"). */
static void format_duration(uint64_t ms, char *out, size_t cap)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = ms == 0 ? IRTC_ARRAY_SIZE(units) - 1 : 0; i < IRTC_ARRAY_SIZE(units); i++) {
        if (ms % units[i].ms == 0) {
            snprintf(out, cap, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(out, cap, "%llums", (unsigned long long)ms);
}

/* A duration in milliseconds (uint64_t field) within key->min..key->max. */
static int set_duration(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    uint64_t ms;
    char lo[32], hi[32];
    int rc = expect_scalar(ld, key, n, "a duration");
    if (rc != IRTC_OK)
        return rc;
    if (cfg_parse_duration_ms(sval(n), &ms) != IRTC_OK)
        return fail(ld, n->start_mark, key->path,
                    "expected a duration such as 24h, 30m, 90s, 2d, 1500ms or a number of seconds, got \"%s\"",
                    sval(n));
    if (ms < key->min || ms > key->max) {
        format_duration(key->min, lo, sizeof(lo));
        format_duration(key->max, hi, sizeof(hi));
        return fail(ld, n->start_mark, key->path, "%s is out of range (%s..%s)", sval(n), lo, hi);
    }
    *(uint64_t *)((char *)&ld->cfg + key->off) = ms;
    return IRTC_OK;
}

static int set_log_level(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    int rc = expect_scalar(ld, key, n, "a log level");
    if (rc == IRTC_OK && log_level_parse(sval(n), &ld->cfg.log_level) != IRTC_OK)
        rc = fail(ld, n->start_mark, key->path, "\"%s\" is not one of debug, info, warn, error", sval(n));
    return rc;
}

static int set_log_format(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    int rc = expect_scalar(ld, key, n, "a log format");
    if (rc == IRTC_OK && log_format_parse(sval(n), &ld->cfg.log_format) != IRTC_OK)
        rc = fail(ld, n->start_mark, key->path, "\"%s\" is not one of text, json", sval(n));
    return rc;
}

static int set_audio_codec(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    int rc = expect_scalar(ld, key, n, "an audio codec");
    if (rc == IRTC_OK && strcmp(sval(n), "aac") != 0 && strcmp(sval(n), "opus") != 0)
        rc = fail(ld, n->start_mark, key->path, "\"%s\" is not one of aac, opus", sval(n));
    if (rc == IRTC_OK)
        snprintf(ld->cfg.rec_audio_codec, sizeof(ld->cfg.rec_audio_codec), "%s", sval(n));
    return rc;
}

/* ---- address lists ------------------------------------------------------ */

static yaml_node_t *item_at(loader_t *ld, yaml_node_t *seq, size_t i)
{
    return yaml_document_get_node(ld->doc, seq->data.sequence.items.start[i]);
}

static size_t item_count(const yaml_node_t *seq)
{
    return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

/* A non-empty sequence of at most max scalars, described by what. */
static int check_list(loader_t *ld, const cfg_key_t *key, yaml_node_t *n, size_t max, const char *what)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(ld, n->start_mark, key->path, "expected a sequence of %s, got %s", what, node_kind(n));
    if (item_count(n) == 0)
        return fail(ld, n->start_mark, key->path, "must list at least one %s", what);
    if (item_count(n) > max)
        return fail(ld, item_at(ld, n, max)->start_mark, key->path, "at most %zu entries are allowed", max);
    for (size_t i = 0; i < item_count(n); i++) {
        int rc = expect_scalar(ld, key, item_at(ld, n, i), what);
        if (rc != IRTC_OK)
            return rc;
    }
    return IRTC_OK;
}

/* "host:port", "[v6]:port" or ":port".  Literal addresses only: binding to a
 * name would depend on the resolver at start-up. */
static const char *parse_listen(const char *s, cfg_listen_t *out)
{
    const char *hs = s, *he, *ps;
    unsigned char addr[sizeof(struct in6_addr)];
    uint64_t port;
    int af = AF_INET;

    if (s[0] == '[') {
        he = strchr(s, ']');
        if (he == NULL || he[1] != ':')
            return "expected \"[IPv6]:port\", e.g. \"[::]:8443\"";
        hs = s + 1;
        ps = he + 2;
        af = AF_INET6;
    } else {
        he = strrchr(s, ':');
        if (he == NULL)
            return "expected \"host:port\", e.g. \"0.0.0.0:8443\"";
        if (memchr(s, ':', (size_t)(he - s)) != NULL)
            return "an IPv6 address must be in brackets, e.g. \"[::]:8443\"";
        ps = he + 1;
    }
    if ((size_t)(he - hs) >= sizeof(out->host) || (size_t)(he - hs) >= 64)
        return "host is too long";
    memcpy(out->host, hs, (size_t)(he - hs));
    out->host[he - hs] = '\0';
    if (out->host[0] == '\0' && af == AF_INET)
        snprintf(out->host, sizeof(out->host), "0.0.0.0");
    if (inet_pton(af, out->host, addr) != 1)
        return af == AF_INET ? "host must be an IPv4 address or a bracketed IPv6 address" : "not a valid IPv6 address";
    if (parse_u64(ps, &port) != IRTC_OK || port < 1 || port > 65535)
        return "port must be an integer between 1 and 65535";
    out->port = (uint16_t)port;
    return NULL;
}

static int set_listen(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    cfg_t *cfg = &ld->cfg;
    int rc = check_list(ld, key, n, CFG_MAX_LISTEN, "\"host:port\" strings");
    if (rc != IRTC_OK)
        return rc;
    for (size_t i = 0; i < item_count(n); i++) {
        yaml_node_t *it = item_at(ld, n, i);
        const char *why = parse_listen(sval(it), &cfg->listen[i]);
        if (why != NULL)
            return fail(ld, it->start_mark, key->path, "bad address \"%s\": %s", sval(it), why);
        for (size_t j = 0; j < i; j++) {
            if (cfg->listen[j].port == cfg->listen[i].port && strcmp(cfg->listen[j].host, cfg->listen[i].host) == 0)
                return fail(ld, it->start_mark, key->path, "\"%s\" is listed twice", sval(it));
        }
    }
    cfg->listen_count = item_count(n);
    return IRTC_OK;
}

/* The addresses go into ICE candidates, so the wildcard means nothing to a browser. */
static const char *check_media_ip(const char *s)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (strlen(s) >= sizeof(((cfg_t *)0)->media_ips[0]))
        return "not an IPv4 or IPv6 address";
    if (inet_pton(AF_INET, s, &v4) == 1)
        return v4.s_addr == htonl(INADDR_ANY) ? "0.0.0.0 cannot be announced to browsers; give a real address" : NULL;
    if (inet_pton(AF_INET6, s, &v6) == 1)
        return IN6_IS_ADDR_UNSPECIFIED(&v6) ? ":: cannot be announced to browsers; give a real address" : NULL;
    return "not an IPv4 or IPv6 address (no brackets, no port)";
}

static int set_media_ips(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    cfg_t *cfg = &ld->cfg;
    int rc = check_list(ld, key, n, CFG_MAX_MEDIA_IPS, "IP address strings");
    if (rc != IRTC_OK)
        return rc;
    for (size_t i = 0; i < item_count(n); i++) {
        yaml_node_t *it = item_at(ld, n, i);
        const char *why = check_media_ip(sval(it));
        if (why != NULL)
            return fail(ld, it->start_mark, key->path, "bad address \"%s\": %s", sval(it), why);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->media_ips[j], sval(it)) == 0)
                return fail(ld, it->start_mark, key->path, "\"%s\" is listed twice", sval(it));
        }
        snprintf(cfg->media_ips[i], sizeof(cfg->media_ips[i]), "%s", sval(it));
    }
    cfg->media_ip_count = item_count(n);
    return IRTC_OK;
}

/* RFC 7065's turn:/turns: URIs as browsers take them in iceServers; a name
 * is fine here (the browser resolves it).  NULL when acceptable. */
const char *cfg_check_turn_url(const char *s)
{
    bool tls = strncmp(s, "turns:", 6) == 0;
    if (!tls && strncmp(s, "turn:", 5) != 0)
        return "expected turn:host[:port][?transport=udp|tcp] or turns:host[:port][?transport=tcp]";
    const char *h = s + (tls ? 6 : 5), *q = strchr(h, '?');
    size_t hl = q ? (size_t)(q - h) : strlen(h);
    if (hl == 0 || h[0] == '/')
        return "no host (write turn:host, not turn://host)";
    for (size_t i = 0; i < hl; i++)
        if (!(isalnum((unsigned char)h[i]) || strchr(".-:[]", h[i]) != NULL))
            return "the host[:port] part has a character that is not allowed";
    if (q != NULL && strcmp(q, "?transport=tcp") != 0 && (tls || strcmp(q, "?transport=udp") != 0))
        return tls ? "turns: takes only ?transport=tcp" : "the only query is ?transport=udp or ?transport=tcp";
    return NULL;
}

static int set_turn_urls(loader_t *ld, const cfg_key_t *key, yaml_node_t *n)
{
    cfg_t *cfg = &ld->cfg;
    int rc = check_list(ld, key, n, CFG_MAX_TURN_URLS, "TURN URI strings");
    if (rc != IRTC_OK)
        return rc;
    for (size_t i = 0; i < item_count(n); i++) {
        yaml_node_t *it = item_at(ld, n, i);
        const char *why = strlen(sval(it)) >= sizeof(cfg->turn_urls[i]) ? "too long" : cfg_check_turn_url(sval(it));
        if (why != NULL)
            return fail(ld, it->start_mark, key->path, "bad URI \"%s\": %s", sval(it), why);
        snprintf(cfg->turn_urls[i], sizeof(cfg->turn_urls[i]), "%s", sval(it));
    }
    cfg->turn_url_count = item_count(n);
    return IRTC_OK;
}

/* ---- walking the tree --------------------------------------------------- */

/* Appends the names one level below prefix ("" = the sections). */
static void list_children(buf_t *b, const char *prefix)
{
    size_t plen = strlen(prefix), lastlen = 0;
    const char *last = NULL;
    for (size_t i = 0; i < K_COUNT; i++) {
        const char *p = cfg_keys[i].path;
        if (plen > 0) {
            if (strncmp(p, prefix, plen) != 0 || p[plen] != '.')
                continue;
            p += plen + 1;
        }
        size_t len = strcspn(p, ".");
        if (last != NULL && len == lastlen && memcmp(p, last, len) == 0)
            continue;
        buf_printf(b, "%s%.*s", last ? ", " : "", (int)len, p);
        last = p;
        lastlen = len;
    }
}

static int fail_unknown(loader_t *ld, yaml_node_t *k, const char *prefix, const char *kp)
{
    buf_t names;
    buf_init(&names);
    list_children(&names, prefix);
    fail(ld, k->start_mark, kp, "unknown key (expected one of: %s)", names.base);
    buf_dispose(&names);
    return IRTC_EINVAL;
}

static bool is_section(const char *kp)
{
    size_t len = strlen(kp);
    for (size_t i = 0; i < K_COUNT; i++) {
        if (strncmp(cfg_keys[i].path, kp, len) == 0 && cfg_keys[i].path[len] == '.')
            return true;
    }
    return false;
}

static int load_mapping(loader_t *ld, yaml_node_t *map, const char *prefix);

static int load_entry(loader_t *ld, const char *prefix, const char *kp, yaml_node_t *k, yaml_node_t *v)
{
    /* Real keys have no dots; refusing them keeps "server.listen:" at the top
     * level from silently meaning server: {listen: ...}. */
    if (strchr(sval(k), '.') == NULL) {
        for (size_t i = 0; i < K_COUNT; i++) {
            if (strcmp(cfg_keys[i].path, kp) == 0) {
                ld->seen[i] = v;
                return cfg_keys[i].set(ld, &cfg_keys[i], v);
            }
        }
        if (is_section(kp)) {
            if (v->type == YAML_MAPPING_NODE)
                return load_mapping(ld, v, kp);
            if (is_null(v))
                return IRTC_OK;
            return fail(ld, v->start_mark, kp, "expected a mapping of settings, got %s", node_kind(v));
        }
    }
    return fail_unknown(ld, k, prefix, kp);
}

static int check_duplicate(loader_t *ld, yaml_node_t *map, yaml_node_pair_t *pair, const char *kp)
{
    yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
        yaml_node_t *o = yaml_document_get_node(ld->doc, p->key);
        if (o->type == YAML_SCALAR_NODE && o->data.scalar.length == k->data.scalar.length &&
            memcmp(sval(o), sval(k), k->data.scalar.length) == 0)
            return fail(ld, k->start_mark, kp, "duplicate key (first given at line %zu)", o->start_mark.line + 1);
    }
    return IRTC_OK;
}

static int load_mapping(loader_t *ld, yaml_node_t *map, const char *prefix)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
        char kp[256];
        if (k->type != YAML_SCALAR_NODE || memchr(sval(k), '\0', k->data.scalar.length) != NULL)
            return fail(ld, k->start_mark, prefix[0] ? prefix : "(top level)", "keys must be plain names, got %s",
                        node_kind(k));
        snprintf(kp, sizeof(kp), "%s%s%.100s", prefix, prefix[0] ? "." : "", sval(k));
        int rc = check_duplicate(ld, map, p, kp);
        if (rc == IRTC_OK)
            rc = load_entry(ld, prefix, kp, k, v);
        if (rc != IRTC_OK)
            return rc;
    }
    return IRTC_OK;
}

/* ---- checks across keys ------------------------------------------------- */

static int check_readable(loader_t *ld, int k, const char *path)
{
    struct stat st;
    int rc = IRTC_OK, fd;
    if (path[0] == '\0' || ld->seen[k] == NULL)
        return IRTC_OK;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(ld, ld->seen[k]->start_mark, cfg_keys[k].path, "cannot read \"%s\": %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = fail(ld, ld->seen[k]->start_mark, cfg_keys[k].path, "\"%s\" is not a regular file", path);
    close(fd);
    return rc;
}

/* A `cluster:` section needs all three of redis_url, node_id and advertise:
 * a node that guessed its id or address would collide or send browsers to
 * the wrong place. */
static int validate_cluster(loader_t *ld)
{
    const cfg_t *cfg = &ld->cfg;
    static const int keys[] = {K_CLUSTER_REDIS_URL, K_CLUSTER_NODE_ID, K_CLUSTER_ADVERTISE};
    const char *vals[] = {cfg->cluster_redis_url, cfg->cluster_node_id, cfg->cluster_advertise};
    int given = -1;
    for (size_t i = K_CLUSTER_REDIS_URL; i <= K_CLUSTER_NODE_TTL; i++) {
        if (ld->seen[i] != NULL)
            given = (int)i;
    }
    if (given < 0)
        return IRTC_OK;
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(keys); i++) {
        if (vals[i][0] == '\0')
            return fail(ld, ld->seen[given]->start_mark, cfg_keys[keys[i]].path,
                        "must be set in a cluster (cluster.redis_url, cluster.node_id and cluster.advertise)");
    }
    const char *why = NULL;
    cfg_redis_url_t u;
    if (cfg_parse_redis_url(cfg->cluster_redis_url, &u, &why) != IRTC_OK)
        return fail(ld, ld->seen[K_CLUSTER_REDIS_URL]->start_mark, cfg_keys[K_CLUSTER_REDIS_URL].path, "%s", why);
    for (const char *p = cfg->cluster_node_id; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return fail(ld, ld->seen[K_CLUSTER_NODE_ID]->start_mark, cfg_keys[K_CLUSTER_NODE_ID].path,
                        "1-32 characters of [A-Za-z0-9_-], got \"%s\"", cfg->cluster_node_id);
    }
    return IRTC_OK;
}

static int validate(loader_t *ld)
{
    cfg_t *cfg = &ld->cfg;
    int rc;
    if ((cfg->tls_cert[0] != '\0') != (cfg->tls_key[0] != '\0')) {
        int k = cfg->tls_cert[0] != '\0' ? K_TLS_CERT : K_TLS_KEY;
        return fail(ld, ld->seen[k]->start_mark, cfg_keys[k].path, "set without %s: give both or neither",
                    cfg_keys[k == K_TLS_CERT ? K_TLS_KEY : K_TLS_CERT].path);
    }
    if ((rc = check_readable(ld, K_TLS_CERT, cfg->tls_cert)) != IRTC_OK ||
        (rc = check_readable(ld, K_TLS_KEY, cfg->tls_key)) != IRTC_OK ||
        (rc = check_readable(ld, K_CALLBACK_CA, cfg->callback_ca_file)) != IRTC_OK)
        return rc;
    if (cfg->callback_retry_max_ms < cfg->callback_retry_min_ms) {
        int k = ld->seen[K_CALLBACK_RETRY_MAX] != NULL ? K_CALLBACK_RETRY_MAX : K_CALLBACK_RETRY_MIN;
        return fail(ld, ld->seen[k]->start_mark, cfg_keys[k].path, "must not be %s than %s",
                    k == K_CALLBACK_RETRY_MAX ? "shorter" : "longer",
                    cfg_keys[k == K_CALLBACK_RETRY_MAX ? K_CALLBACK_RETRY_MIN : K_CALLBACK_RETRY_MAX].path);
    }
    if ((rc = validate_cluster(ld)) != IRTC_OK)
        return rc;
    if ((cfg->turn_url_count > 0) != (cfg->turn_secret[0] != '\0')) {
        int k = cfg->turn_url_count > 0 ? K_TURN_URLS : K_TURN_SECRET;
        return fail(ld, ld->seen[k]->start_mark, cfg_keys[k].path, "set without %s: give both or neither",
                    cfg_keys[k == K_TURN_URLS ? K_TURN_SECRET : K_TURN_URLS].path);
    }
    /* Each worker binds one UDP port: media.port, media.port + 1, ... */
    unsigned workers = cfg_worker_count(cfg);
    if ((unsigned)cfg->media_port + workers - 1 > 65535) {
        int k = ld->seen[K_MEDIA_PORT] != NULL ? K_MEDIA_PORT : K_MEDIA_WORKERS;
        return fail(ld, ld->seen[k]->start_mark, cfg_keys[k].path,
                    "%u + %u workers - 1 exceeds 65535 (each worker uses one UDP port)", (unsigned)cfg->media_port,
                    workers);
    }
    /* ICE-TCP follows media.port unless set on its own (then the check
     * above covers it too). */
    if (ld->seen[K_MEDIA_TCP_PORT] == NULL)
        cfg->media_tcp_port = cfg->media_port;
    else if (cfg->media_tcp_port != 0 && (unsigned)cfg->media_tcp_port + workers - 1 > 65535)
        return fail(ld, ld->seen[K_MEDIA_TCP_PORT]->start_mark, cfg_keys[K_MEDIA_TCP_PORT].path,
                    "%u + %u workers - 1 exceeds 65535 (each worker listens on one TCP port)",
                    (unsigned)cfg->media_tcp_port, workers);
    return IRTC_OK;
}

/* ---- reading and parsing the file ---------------------------------------- */

static int read_file(const char *path, buf_t *out, char *err, size_t errcap)
{
    struct stat st;
    int rc = IRTC_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = IRTC_EIO;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        rc = IRTC_EIO;
        goto out;
    }
    for (;;) {
        buf_reserve(out, 4096);
        ssize_t n = read(fd, out->base + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = IRTC_EIO;
            goto out;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->base[out->len] = '\0';
        if (out->len > CFG_MAX_FILE_BYTES) {
            put_err(err, errcap, "%s: larger than %d bytes, not a configuration file", path, CFG_MAX_FILE_BYTES);
            rc = IRTC_EINVAL;
            goto out;
        }
    }
out:
    if (rc == IRTC_EIO)
        put_err(err, errcap, "%s: cannot read: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The reader reports a byte offset rather than a mark (bad UTF-8, say). */
static yaml_mark_t mark_at_offset(const char *text, size_t len, size_t off)
{
    yaml_mark_t m = {0, 0, 0};
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else {
            m.column++;
        }
    }
    return m;
}

static int syntax_error(loader_t *ld, const yaml_parser_t *p, const char *text, size_t len)
{
    yaml_mark_t at = p->error == YAML_READER_ERROR ? mark_at_offset(text, len, p->problem_offset) : p->problem_mark;
    const char *problem = p->problem != NULL ? p->problem : "cannot parse";
    if (p->context != NULL)
        return fail(ld, at, "syntax error", "%s (%s at line %zu column %zu)", problem, p->context,
                    p->context_mark.line + 1, p->context_mark.column + 1);
    return fail(ld, at, "syntax error", "%s", problem);
}

/* Loads the first document into doc and refuses a second one. */
static int parse_document(loader_t *ld, const buf_t *text, yaml_document_t *doc)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    int rc = IRTC_OK;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text->base, text->len);
    if (!yaml_parser_load(&parser, doc)) {
        rc = syntax_error(ld, &parser, text->base, text->len);
        goto out;
    }
    if (!yaml_parser_load(&parser, &extra)) {
        rc = syntax_error(ld, &parser, text->base, text->len);
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&extra);
        if (root != NULL)
            rc = fail(ld, extra.start_mark, "(top level)", "only one YAML document is allowed");
        yaml_document_delete(&extra);
    }
    if (rc != IRTC_OK)
        yaml_document_delete(doc);
out:
    yaml_parser_delete(&parser);
    return rc;
}

int cfg_load(cfg_t *cfg, const char *path, char *err, size_t errcap)
{
    loader_t *ld = xcalloc(1, sizeof(*ld));
    yaml_document_t doc;
    buf_t text;
    int rc;

    buf_init(&text);
    buf_reserve(&text, 0);
    ld->file = path;
    ld->err = err;
    ld->errcap = errcap;
    rc = read_file(path, &text, err, errcap);
    if (rc != IRTC_OK)
        goto out;
    rc = parse_document(ld, &text, &doc);
    if (rc != IRTC_OK)
        goto out;
    ld->doc = &doc;
    cfg_defaults(&ld->cfg);
    snprintf(ld->cfg.source, sizeof(ld->cfg.source), "%s", path);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root != NULL && !is_null(root) && root->type != YAML_MAPPING_NODE)
        rc = fail(ld, root->start_mark, "(top level)", "expected a mapping of sections (server, media, ...), got %s",
                  node_kind(root));
    else if (root != NULL && root->type == YAML_MAPPING_NODE)
        rc = load_mapping(ld, root, "");
    if (rc == IRTC_OK)
        rc = validate(ld);
    if (rc == IRTC_OK)
        *cfg = ld->cfg;
    yaml_document_delete(&doc);
out:
    buf_dispose(&text);
    free(ld);
    return rc;
}
