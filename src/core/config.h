/*
 * config.h — the daemon's configuration: one YAML file read with libyaml, every
 * key with a default so that no file at all also works.  Loaded once on the
 * control thread at start-up and then read-only (shared by every thread).
 * Errors are reported as "file:line:column: key.path: what is wrong".
 * Relative paths in the file (storage.*, recording.*, server.tls.*, web_root,
 * log.file) are kept as written, i.e. relative to irtcd's working directory,
 * not to the configuration file; the packaged etc/irtc.yaml uses absolute ones.
 */
#ifndef IRTC_CONFIG_H
#define IRTC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "core/log.h"

#define CFG_MAX_LISTEN 8
#define CFG_MAX_MEDIA_IPS 8
#define CFG_MAX_TURN_URLS 8

typedef struct {
    char host[256]; /* literal address without brackets; "0.0.0.0" = any IPv4, "::" = any IPv6
                       (cfg_load turns ":8443" into "0.0.0.0") */
    uint16_t port;
} cfg_listen_t;

typedef struct {
    /* server */
    cfg_listen_t listen[CFG_MAX_LISTEN];
    size_t listen_count; /* default: one entry 0.0.0.0:8443 */
    char domain[256];    /* default "localhost"; host[:port] browsers use */
    char tls_cert[1024]; /* "" = self-signed, generated into data_dir */
    char tls_key[1024];
    char web_root[1024];     /* static files; "" (default) = the build-time path main picks */
    bool demo_token_enabled; /* POST /demo/token; default true when no file, false in etc/irtc.yaml */

    /* media */
    char media_ips[CFG_MAX_MEDIA_IPS][64]; /* announced in ICE candidates; never 0.0.0.0 or :: */
    size_t media_ip_count;                 /* default: one entry "127.0.0.1" */
    uint16_t media_port;                   /* first UDP port; default 20000 */
    unsigned media_workers;                /* 0 = auto (one per core); 1..256; worker i binds media_port + i */
    /* A stream's subscribers on its room's worker past which new ones go to
     * the least loaded worker, fed through a pipe (default 250; 0 = never). */
    unsigned media_room_spread_at;
    uint16_t media_tcp_port;               /* first ICE-TCP port, worker i listens on + i; default media_port; 0 = off */
    /* TURN servers handed to clients with ephemeral credentials (the TURN
     * REST API scheme: apps/turn_cred.h); no URL = none. */
    char turn_urls[CFG_MAX_TURN_URLS][256]; /* "turn:host[:port][?transport=udp|tcp]", "turns:host[:port][?transport=tcp]" */
    size_t turn_url_count;
    char turn_secret[256];   /* coturn's static-auth-secret; required with turn_urls */
    uint64_t turn_ttl_ms;    /* credential lifetime; 0 (default) = the join token's */

    /* storage */
    char db_path[1024];  /* default "./var/irtc.db" */
    char data_dir[1024]; /* default "./var" */

    /* recording */
    char nas_base_path[1024];    /* default "./var/recordings" */
    char callback_ca_file[1024]; /* extra CA for HTTPS callbacks; "" = system store only */
    unsigned rec_threads;        /* recorder threads, default 2, 1..8 */
    char rec_audio_codec[8];     /* "aac" (default) or "opus": the recordings' audio */
    unsigned rec_max_sessions;   /* recordings and snapshot captures at once, default 32, 1..1000 */

    /* recording callbacks (callback/callback.h) */
    uint64_t callback_timeout_ms;   /* one attempt, connect to response headers; default 10s, 1s..60s */
    uint64_t callback_retry_min_ms; /* wait after the first failure; default 5s, 100ms..1h */
    uint64_t callback_retry_max_ms; /* the doubling stops here; default 1h, 100ms..24h, >= retry_min */
    uint64_t callback_give_up_ms;   /* no attempt later than this after the event; default 24h, 1s..30d */

    /* limits */
    unsigned max_publishers_per_room; /* default 8, 1..64 */
    unsigned api_calls_per_minute;    /* default 60, 1..100000 */
    uint64_t token_ttl_ms;            /* join-token validity; default 24h */
    uint64_t signal_idle_timeout_ms;  /* a signaling WebSocket silent this long is closed; default 20s, 2s..10m */
    uint64_t signal_resume_window_ms; /* a lost socket's user stays this long for `resume`; default 15s, 0..5m */
    unsigned data_max_message_size;   /* data channels: a=max-message-size answered; default 262144, 1024..524288 */

    /* limits of the HTTPS front door (http/guard.h) */
    unsigned max_connections;            /* connections open at once; default 4096, 16..1000000 */
    unsigned max_connections_per_source; /* ... from one IP address; default 256, 1..1000000 */

    /* cluster (src/cluster/cluster.h): several irtcd nodes coordinated
     * through Redis.  cluster_redis_url "" (default: no `cluster:` section)
     * = one node alone; then nothing opens a connection to Redis. */
    char cluster_redis_url[512];      /* redis://[:password@]host[:port][/db] */
    char cluster_redis_password[256]; /* AUTH password; overrides the URL's; "" = the URL's or none */
    char cluster_node_id[33];         /* [A-Za-z0-9_-]{1,32}, unique in the cluster */
    char cluster_advertise[256];      /* host:port of this node's HTTPS as browsers and peers reach it */
    uint64_t cluster_node_ttl_ms;     /* a node silent this long is dead; default 3s, 2s..60s */

    /* log */
    log_level_t log_level;   /* default info */
    log_format_t log_format; /* default text */
    char log_file[1024];     /* "" = stderr */

    /* where it came from */
    char source[1024]; /* the file path, or "(built-in defaults)" */
} cfg_t;

/* Fills cfg with the defaults (the embedded configuration). */
void cfg_defaults(cfg_t *cfg);

/*
 * Fills cfg with the defaults, then the keys set in path (keys left out keep
 * their defaults; an empty file is all defaults).  On error cfg is left as it
 * was, and err (may be NULL) gets "file:line:column: key.path: what is wrong",
 * line and column 1-based and pointing at the offending node; YAML syntax
 * errors use "syntax error" as the key path.  Returns IRTC_EIO with
 * "file: cannot read: reason" for a file that cannot be read, IRTC_EINVAL for
 * anything else.  Also checks that server.tls.cert/key and
 * recording.callback_ca_file, when set, are readable regular files.
 */
int cfg_load(cfg_t *cfg, const char *path, char *err, size_t errcap);

/* NULL when s is a TURN URI media.turn.urls accepts, else why not. */
const char *cfg_check_turn_url(const char *s);

/* True when the `cluster:` section names a Redis server. */
bool cfg_cluster_enabled(const cfg_t *cfg);

/* A parsed cluster.redis_url.  host without brackets; port default 6379,
 * db default 0; password "" = none. */
typedef struct {
    char host[256];
    uint16_t port;
    unsigned db;
    char password[256];
} cfg_redis_url_t;

/* Parses "redis://[:password@]host[:port][/db]" (no TLS: Debian 12's
 * hiredis 0.14 has none, see docs/ADMIN.md "Cluster").  IRTC_OK or
 * IRTC_EINVAL with *why. */
int cfg_parse_redis_url(const char *url, cfg_redis_url_t *out, const char **why);

/* Resolved worker count (auto → number of online CPUs, at least 1). */
unsigned cfg_worker_count(const cfg_t *cfg);

/* Where recordings of storage type ISDP go: data_dir/isdp (not
 * data_dir/recordings, where the packaged configuration mounts the NAS). */
void cfg_isdp_dir(const cfg_t *cfg, char *out, size_t cap);

/* Parses "24h", "90m", "30s", "1500ms", "2d", sums like "1h30m", or a bare
 * number of seconds.  Units are lower case.  Returns IRTC_OK or IRTC_EINVAL
 * (empty, unknown unit, overflow). */
int cfg_parse_duration_ms(const char *s, uint64_t *out_ms);

#endif
