/*
 * test_config.c — unit test of src/core/config.c: defaults, a full valid file,
 * every class of error with its exact "file:line:column: key.path:" prefix,
 * durations, and the packaged etc/irtc.yaml.  Single-threaded; writes its
 * inputs to mkstemp files and removes them.
 */
#include "core/config.h"
#include "core/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit/tap.h"

static char g_path[512]; /* the file the last load_text() read */

/* Writes len bytes to a new temporary file and returns its path (static). */
static const char *write_tmp(const char *text, size_t len)
{
    static char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/irtc-cfg-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        perror("write_tmp");
        exit(2);
    }
    close(fd);
    return path;
}

static int load_text_n(cfg_t *cfg, const char *yaml, size_t len, char *err, size_t errcap)
{
    snprintf(g_path, sizeof(g_path), "%s", write_tmp(yaml, len));
    int rc = cfg_load(cfg, g_path, err, errcap);
    unlink(g_path);
    return rc;
}

static int load_text(cfg_t *cfg, const char *yaml, char *err, size_t errcap)
{
    return load_text_n(cfg, yaml, strlen(yaml), err, errcap);
}

/* Asserts that yaml is refused with "<file>:line:col: <want>..." and that the
 * caller's cfg is left untouched. */
static void expect_err_n(const char *yaml, size_t len, int line, int col, const char *want)
{
    cfg_t cfg;
    char err[1024] = "", prefix[1200];
    cfg_defaults(&cfg);
    cfg.media_port = 4242; /* sentinel: a refused load must not write */
    int rc = load_text_n(&cfg, yaml, len, err, sizeof(err));
    snprintf(prefix, sizeof(prefix), "%s:%d:%d: %s", g_path, line, col, want);
    if (!ok(rc == IRTC_EINVAL && strncmp(err, prefix, strlen(prefix)) == 0 && cfg.media_port == 4242,
            "refused at %d:%d: %s", line, col, want))
        printf("#   rc %d, got \"%s\"\n#   want prefix \"%s\"\n", rc, err, prefix);
}

static void expect_err(const char *yaml, int line, int col, const char *want)
{
    expect_err_n(yaml, strlen(yaml), line, col, want);
}

static void test_defaults(void)
{
    cfg_t cfg;
    cfg_defaults(&cfg);
    is_int(cfg.listen_count, 1, "defaults: one listener");
    is_str(cfg.listen[0].host, "0.0.0.0", "defaults: listen host");
    is_int(cfg.listen[0].port, 8443, "defaults: listen port");
    is_str(cfg.domain, "localhost", "defaults: domain");
    is_str(cfg.tls_cert, "", "defaults: no tls cert (self-signed)");
    is_str(cfg.tls_key, "", "defaults: no tls key");
    is_str(cfg.web_root, "", "defaults: built-in web root");
    ok(cfg.demo_token_enabled, "defaults: demo token on");
    is_int(cfg.media_ip_count, 1, "defaults: one media ip");
    is_str(cfg.media_ips[0], "127.0.0.1", "defaults: media ip");
    is_int(cfg.media_port, 20000, "defaults: media port");
    is_int(cfg.media_workers, 0, "defaults: workers auto");
    is_str(cfg.db_path, "./var/irtc.db", "defaults: db");
    is_str(cfg.data_dir, "./var", "defaults: data dir");
    is_str(cfg.nas_base_path, "./var/recordings", "defaults: nas base");
    is_str(cfg.callback_ca_file, "", "defaults: no callback ca");
    is_int(cfg.rec_threads, 2, "defaults: 2 recorder threads");
    is_str(cfg.rec_audio_codec, "aac", "defaults: AAC audio in recordings");
    is_int(cfg.rec_max_sessions, 32, "defaults: 32 recordings at once");
    is_int(cfg.callback_timeout_ms, 10000, "defaults: callback timeout 10s");
    is_int(cfg.callback_retry_min_ms, 5000, "defaults: callback retry from 5s");
    is_int(cfg.callback_retry_max_ms, 3600000, "defaults: callback retry up to 1h");
    is_int(cfg.callback_give_up_ms, 86400000, "defaults: callbacks given up after 24h");
    is_int(cfg.max_publishers_per_room, 8, "defaults: 8 publishers");
    is_int(cfg.data_max_message_size, 262144, "defaults: data channel messages up to 256 KiB");
    is_int(cfg.api_calls_per_minute, 60, "defaults: 60 calls/min");
    is_int(cfg.token_ttl_ms, 86400000, "defaults: token ttl 24h");
    is_int(cfg.signal_idle_timeout_ms, 20000, "defaults: signaling idle timeout 20s");
    is_int(cfg.signal_resume_window_ms, 15000, "defaults: signaling resume window 15s");
    is_int(cfg.max_connections, 4096, "defaults: 4096 connections");
    is_int(cfg.max_connections_per_source, 256, "defaults: 256 connections per address");
    is_int(cfg.log_level, LOG_LEVEL_INFO, "defaults: log info");
    is_int(cfg.log_format, LOG_FORMAT_TEXT, "defaults: log text");
    is_str(cfg.log_file, "", "defaults: log to stderr");
    is_str(cfg.source, "(built-in defaults)", "defaults: source");

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    is_int(cfg_worker_count(&cfg), ncpu < 1 ? 1 : ncpu > 256 ? 256 : ncpu, "auto workers = online CPUs");
    cfg.media_workers = 3;
    is_int(cfg_worker_count(&cfg), 3, "explicit workers kept");
}

/* Field by field, since padding bytes of a copied struct are unspecified. */
static bool cfg_equal(const cfg_t *a, const cfg_t *b)
{
    bool eq = a->listen_count == b->listen_count && a->media_ip_count == b->media_ip_count;
    for (size_t i = 0; eq && i < a->listen_count; i++)
        eq = strcmp(a->listen[i].host, b->listen[i].host) == 0 && a->listen[i].port == b->listen[i].port;
    for (size_t i = 0; eq && i < a->media_ip_count; i++)
        eq = strcmp(a->media_ips[i], b->media_ips[i]) == 0;
    return eq && strcmp(a->domain, b->domain) == 0 && strcmp(a->tls_cert, b->tls_cert) == 0 &&
           strcmp(a->tls_key, b->tls_key) == 0 && strcmp(a->web_root, b->web_root) == 0 &&
           a->demo_token_enabled == b->demo_token_enabled && a->media_port == b->media_port &&
           a->media_workers == b->media_workers && a->media_tcp_port == b->media_tcp_port &&
           a->turn_url_count == b->turn_url_count && strcmp(a->turn_secret, b->turn_secret) == 0 &&
           a->turn_ttl_ms == b->turn_ttl_ms && strcmp(a->db_path, b->db_path) == 0 &&
           strcmp(a->data_dir, b->data_dir) == 0 && strcmp(a->nas_base_path, b->nas_base_path) == 0 &&
           strcmp(a->callback_ca_file, b->callback_ca_file) == 0 && a->rec_threads == b->rec_threads &&
           strcmp(a->rec_audio_codec, b->rec_audio_codec) == 0 && a->rec_max_sessions == b->rec_max_sessions &&
           strcmp(a->callback_ca_file, b->callback_ca_file) == 0 && a->callback_timeout_ms == b->callback_timeout_ms &&
           a->callback_retry_min_ms == b->callback_retry_min_ms &&
           a->callback_retry_max_ms == b->callback_retry_max_ms && a->callback_give_up_ms == b->callback_give_up_ms &&
           a->max_publishers_per_room == b->max_publishers_per_room &&
           a->api_calls_per_minute == b->api_calls_per_minute && a->token_ttl_ms == b->token_ttl_ms &&
           a->signal_idle_timeout_ms == b->signal_idle_timeout_ms && a->log_level == b->log_level &&
           a->log_format == b->log_format && strcmp(a->log_file, b->log_file) == 0 && strcmp(a->source, b->source) == 0;
}

/* Loads text that must be all defaults apart from source. */
static void expect_all_defaults(const char *yaml, const char *name)
{
    cfg_t cfg, def;
    char err[512] = "";
    memset(&cfg, 0x5a, sizeof(cfg));
    int rc = load_text(&cfg, yaml, err, sizeof(err));
    is_int(rc, IRTC_OK, "%s: loads (%s)", name, err);
    is_str(cfg.source, g_path, "%s: source is the file", name);
    cfg_defaults(&def);
    snprintf(def.source, sizeof(def.source), "%s", g_path);
    ok(cfg_equal(&cfg, &def), "%s: every field is the default", name);
}

static void test_empty_files(void)
{
    expect_all_defaults("", "empty file");
    expect_all_defaults("# only a comment\n\n   # and another\n", "comments only");
    expect_all_defaults("---\n...\n", "empty document");
    expect_all_defaults("~\n", "null document");
    expect_all_defaults("server:\nmedia:\nlog: ~\n", "empty sections");
}

static void test_full_file(void)
{
    char cert[512], key[512], ca[512], yaml[4096], err[512] = "";
    cfg_t cfg;
    snprintf(cert, sizeof(cert), "%s", write_tmp("CERT", 4));
    snprintf(key, sizeof(key), "%s", write_tmp("KEY", 3));
    snprintf(ca, sizeof(ca), "%s", write_tmp("CA", 2));
    snprintf(yaml, sizeof(yaml),
             "# a full configuration\n"
             "server:\n"
             "  listen: [\"10.1.2.3:443\", \"[::]:8443\", \":9000\"]\n"
             "  domain: rtc.example.com:443\n"
             "  tls:\n"
             "    cert: %s\n"
             "    key: '%s'\n"
             "  web_root: rel/web\n"
             "  demo_token: \"false\"\n"
             "media:\n"
             "  ips:\n"
             "    - 192.0.2.10\n"
             "    - \"2001:db8::10\"\n"
             "  port: 30000\n"
             "  workers: 4\n"
             "storage: {db: data/x.db, data_dir: data}\n"
             "recording:\n"
             "  nas_base_path: /mnt/nas\n"
             "  callback_ca_file: %s\n"
             "  threads: 8\n"
             "  audio_codec: opus\n"
             "  max_sessions: 1000\n"
             "  callback_timeout: 3s\n"
             "  callback_retry_min: 250ms\n"
             "  callback_retry_max: 2m\n"
             "  callback_give_up: 2d\n"
             "limits:\n"
             "  max_publishers_per_room: 64\n"
             "  api_calls_per_minute: 100000\n"
             "  token_ttl: 1h30m\n"
             "log:\n"
             "  level: debug\n"
             "  format: json\n"
             "  file: /tmp/irtc-test.log\n",
             cert, key, ca);
    int rc = load_text(&cfg, yaml, err, sizeof(err));
    is_int(rc, IRTC_OK, "full file loads (%s)", err);
    is_int(cfg.listen_count, 3, "full: three listeners");
    is_str(cfg.listen[0].host, "10.1.2.3", "full: ipv4 host");
    is_int(cfg.listen[0].port, 443, "full: ipv4 port");
    is_str(cfg.listen[1].host, "::", "full: ipv6 host without brackets");
    is_int(cfg.listen[1].port, 8443, "full: ipv6 port");
    is_str(cfg.listen[2].host, "0.0.0.0", "full: empty host means 0.0.0.0");
    is_int(cfg.listen[2].port, 9000, "full: third port");
    is_str(cfg.domain, "rtc.example.com:443", "full: domain");
    is_str(cfg.tls_cert, cert, "full: cert path");
    is_str(cfg.tls_key, key, "full: key path");
    is_str(cfg.web_root, "rel/web", "full: relative web root kept as given");
    ok(!cfg.demo_token_enabled, "full: demo token off");
    is_int(cfg.media_ip_count, 2, "full: two media ips");
    is_str(cfg.media_ips[0], "192.0.2.10", "full: media ipv4");
    is_str(cfg.media_ips[1], "2001:db8::10", "full: media ipv6");
    is_int(cfg.media_port, 30000, "full: media port");
    is_int(cfg.media_workers, 4, "full: workers");
    is_int(cfg_worker_count(&cfg), 4, "full: worker count");
    is_str(cfg.db_path, "data/x.db", "full: relative db kept as given");
    is_str(cfg.data_dir, "data", "full: data dir");
    is_str(cfg.nas_base_path, "/mnt/nas", "full: nas base");
    is_str(cfg.callback_ca_file, ca, "full: callback ca");
    is_int(cfg.rec_threads, 8, "full: recorder threads at the maximum");
    is_str(cfg.rec_audio_codec, "opus", "full: opus audio");
    is_int(cfg.rec_max_sessions, 1000, "full: sessions at the maximum");
    ok(cfg.callback_timeout_ms == 3000 && cfg.callback_retry_min_ms == 250 && cfg.callback_retry_max_ms == 120000 &&
           cfg.callback_give_up_ms == 172800000,
       "full: callback timeout, retry and give-up durations");
    is_int(cfg.max_publishers_per_room, 64, "full: publishers at the maximum");
    is_int(cfg.api_calls_per_minute, 100000, "full: calls at the maximum");
    is_int(cfg.token_ttl_ms, 5400000, "full: ttl 1h30m");
    is_int(cfg.log_level, LOG_LEVEL_DEBUG, "full: log debug");
    is_int(cfg.log_format, LOG_FORMAT_JSON, "full: log json");
    is_str(cfg.log_file, "/tmp/irtc-test.log", "full: log file");
    is_str(cfg.source, g_path, "full: source");

    unlink(cert);
    unlink(key);
    unlink(ca);
}

/* Values at the edges of their ranges, and the other spellings, are accepted. */
static void test_accepted_edges(void)
{
    char err[512] = "";
    cfg_t cfg;
    int rc = load_text(&cfg, "media:\n  port: 65528\n  workers: 8\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.media_port == 65528, "port + workers - 1 == 65535 is accepted (%s)", err);
    rc = load_text(&cfg, "media:\n  workers: auto\n  port: 1024\nserver:\n  demo_token: yes\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.media_workers == 0 && cfg.media_port == 1024 && cfg.demo_token_enabled,
       "workers auto, port 1024 and yes accepted (%s)", err);
    rc = load_text(&cfg, "limits:\n  token_ttl: 60\n  max_publishers_per_room: 1\n  api_calls_per_minute: 1\n", err,
                   sizeof(err));
    ok(rc == IRTC_OK && cfg.token_ttl_ms == 60000 && cfg.max_publishers_per_room == 1 && cfg.api_calls_per_minute == 1,
       "range minimums accepted, bare ttl is seconds (%s)", err);
    rc = load_text(&cfg, "limits:\n  token_ttl: 30d\nlog:\n  file: ''\n  level: ERROR\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.token_ttl_ms == 2592000000ull && cfg.log_level == LOG_LEVEL_ERROR,
       "ttl 30d and upper-case level accepted (%s)", err);
    rc = load_text(&cfg, "limits:\n  signal_idle_timeout: 2s\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.signal_idle_timeout_ms == 2000, "signaling idle timeout 2s accepted (%s)", err);
    rc = load_text(&cfg, "limits:\n  signal_idle_timeout: 10m\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.signal_idle_timeout_ms == 600000, "signaling idle timeout 10m accepted (%s)", err);
    rc = load_text(&cfg, "limits:\n  signal_resume_window: 0s\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.signal_resume_window_ms == 0, "signaling resume window 0s (off) accepted (%s)", err);
    expect_err("limits:\n  signal_resume_window: 6m\n", 2, 25,
               "limits.signal_resume_window: 6m is out of range (0s..5m)");
    rc = load_text(&cfg, "limits:\n  max_connections: 16\n  max_connections_per_source: 1\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.max_connections == 16 && cfg.max_connections_per_source == 1,
       "connection limits at their minimum accepted (%s)", err);
    expect_err("limits:\n  max_connections: 15\n", 2, 20, "limits.max_connections: 15 is out of range (16..1000000)");
    expect_err("limits:\n  max_connections_per_source: 0\n", 2, 31,
               "limits.max_connections_per_source: 0 is out of range (1..1000000)");
    rc = load_text(&cfg,
                   "recording:\n  callback_timeout: 1s\n  callback_retry_min: 100ms\n  callback_retry_max: 100ms\n"
                   "  callback_give_up: 1s\n",
                   err, sizeof(err));
    ok(rc == IRTC_OK && cfg.callback_timeout_ms == 1000 && cfg.callback_retry_min_ms == 100 &&
           cfg.callback_retry_max_ms == 100 && cfg.callback_give_up_ms == 1000,
       "callback minimums accepted, retry_max may equal retry_min (%s)", err);
    rc = load_text(&cfg,
                   "recording:\n  callback_timeout: 60s\n  callback_retry_min: 1h\n  callback_retry_max: 24h\n"
                   "  callback_give_up: 30d\n",
                   err, sizeof(err));
    ok(rc == IRTC_OK && cfg.callback_timeout_ms == 60000 && cfg.callback_give_up_ms == 2592000000ull,
       "callback maximums accepted (%s)", err);
}

static void test_key_errors(void)
{
    expect_err("server:\n  lisen: [\"0.0.0.0:1\"]\n", 2, 3,
               "server.lisen: unknown key (expected one of: listen, domain, tls, web_root, demo_token)");
    expect_err("srv:\n  x: 1\n", 1, 1,
               "srv: unknown key (expected one of: server, media, storage, recording, limits, cluster, log)");
    expect_err("server:\n  tls:\n    certificate: x\n", 3, 5,
               "server.tls.certificate: unknown key (expected one of: cert, key)");
    expect_err("log:\n  level: info\n  colour: true\n", 3, 3, "log.colour: unknown key");
    expect_err("server.listen: [\"0.0.0.0:1\"]\n", 1, 1, "server.listen: unknown key");
    expect_err("? [a, b]\n: c\n", 1, 3, "(top level): keys must be plain names, got a sequence");
    expect_err("log:\n  level: info\n  level: debug\n", 3, 3, "log.level: duplicate key (first given at line 2)");
    expect_err("log:\n  level: info\nlog:\n  format: json\n", 3, 1, "log: duplicate key (first given at line 1)");
    expect_err("log:\n  level: info\n---\nlog:\n  level: debug\n", 3, 1,
               "(top level): only one YAML document is allowed");
}

static void test_type_errors(void)
{
    expect_err("server:\n  domain:\n    a: b\n", 3, 5, "server.domain: expected a string, got a mapping");
    expect_err("media:\n  ips: 10.0.0.1\n", 2, 8, "media.ips: expected a sequence of IP address strings, got a scalar");
    expect_err("server:\n  listen: \"0.0.0.0:8443\"\n", 2, 11, "server.listen: expected a sequence of");
    expect_err("server:\n  listen:\n    - a: b\n", 3, 7,
               "server.listen: expected \"host:port\" strings, got a mapping");
    expect_err("server: 5\n", 1, 9, "server: expected a mapping of settings, got a scalar");
    expect_err("server:\n  tls: [a]\n", 2, 8, "server.tls: expected a mapping of settings, got a sequence");
    expect_err("hello\n", 1, 1, "(top level): expected a mapping of sections");
    expect_err("- a\n- b\n", 1, 1, "(top level): expected a mapping of sections (server, media, ...), got a sequence");
    expect_err("media:\n  port: [1]\n", 2, 9, "media.port: expected an integer, got a sequence");
    expect_err("media:\n  port: abc\n", 2, 9, "media.port: expected an integer between 1024 and 65535, got \"abc\"");
    expect_err("media:\n  port: -1\n", 2, 9, "media.port: expected an integer between 1024 and 65535, got \"-1\"");
    expect_err("server:\n  demo_token: maybe\n", 2, 15, "server.demo_token: expected true or false, got \"maybe\"");
    expect_err("server:\n  demo_token: {}\n", 2, 15, "server.demo_token: expected true or false, got a mapping");
    expect_err("storage:\n  db: \"\"\n", 2, 7, "storage.db: must not be empty");
    expect_err("storage:\n  data_dir:\n", 2, 12, "storage.data_dir: must not be empty");
    expect_err("server:\n  domain: \"a\\0b\"\n", 2, 11, "server.domain: contains a NUL character");
    expect_err("server:\n  domain: https://rtc.example.com\n", 2, 11,
               "server.domain: expected a host name with an optional :port (not a URL)");
    char yaml[600];
    snprintf(yaml, sizeof(yaml), "server:\n  domain: %0300d\n", 7);
    expect_err(yaml, 2, 11, "server.domain: longer than 255 characters");
}

static void test_range_errors(void)
{
    expect_err("limits:\n  max_publishers_per_room: 65\n", 2, 28,
               "limits.max_publishers_per_room: 65 is out of range (1..64)");
    expect_err("limits:\n  max_publishers_per_room: 0\n", 2, 28, "limits.max_publishers_per_room: 0 is out of range");
    expect_err("limits:\n  data_max_message_size: 524289\n", 2, 26,
               "limits.data_max_message_size: 524289 is out of range (1024..524288)");
    expect_err("limits:\n  api_calls_per_minute: 100001\n", 2, 25,
               "limits.api_calls_per_minute: 100001 is out of range (1..100000)");
    expect_err("limits:\n  api_calls_per_minute: 99999999999999999999999\n", 2, 25,
               "limits.api_calls_per_minute: expected an integer between 1 and 100000");
    expect_err("media:\n  port: 80\n", 2, 9, "media.port: 80 is out of range (1024..65535)");
    expect_err("media:\n  port: 65536\n", 2, 9, "media.port: 65536 is out of range (1024..65535)");
    expect_err("media:\n  workers: 0\n", 2, 12, "media.workers: 0 is out of range (1..256)");
    expect_err("media:\n  workers: 257\n", 2, 12, "media.workers: 257 is out of range (1..256)");
    expect_err("media:\n  workers: many\n", 2, 12,
               "media.workers: expected \"auto\" or an integer between 1 and 256, got \"many\"");
    expect_err("media:\n  port: 65530\n  workers: 8\n", 2, 9,
               "media.port: 65530 + 8 workers - 1 exceeds 65535 (each worker uses one UDP port)");
    expect_err("media:\n  workers: 8\n  port: 65530\n", 3, 9,
               "media.port: 65530 + 8 workers - 1 exceeds 65535 (each worker uses one UDP port)");
    expect_err("limits:\n  token_ttl: 59s\n", 2, 14, "limits.token_ttl: 59s is out of range (1m..30d)");
    expect_err("limits:\n  token_ttl: 31d\n", 2, 14, "limits.token_ttl: 31d is out of range (1m..30d)");
    expect_err("limits:\n  token_ttl: 1y\n", 2, 14, "limits.token_ttl: expected a duration such as 24h");
    expect_err("limits:\n  signal_idle_timeout: 1500ms\n", 2, 24,
               "limits.signal_idle_timeout: 1500ms is out of range (2s..10m)");
    expect_err("limits:\n  signal_idle_timeout: 11m\n", 2, 24,
               "limits.signal_idle_timeout: 11m is out of range (2s..10m)");
    expect_err("recording:\n  threads: 0\n", 2, 12, "recording.threads: 0 is out of range (1..8)");
    expect_err("recording:\n  threads: 9\n", 2, 12, "recording.threads: 9 is out of range (1..8)");
    expect_err("recording:\n  max_sessions: 1001\n", 2, 17, "recording.max_sessions: 1001 is out of range (1..1000)");
    expect_err("recording:\n  callback_timeout: 500ms\n", 2, 21,
               "recording.callback_timeout: 500ms is out of range (1s..1m)");
    expect_err("recording:\n  callback_timeout: 61s\n", 2, 21, "recording.callback_timeout: 61s is out of range");
    expect_err("recording:\n  callback_retry_min: 99ms\n", 2, 23,
               "recording.callback_retry_min: 99ms is out of range (100ms..1h)");
    expect_err("recording:\n  callback_retry_max: 25h\n", 2, 23,
               "recording.callback_retry_max: 25h is out of range (100ms..1d)");
    expect_err("recording:\n  callback_give_up: 31d\n", 2, 21,
               "recording.callback_give_up: 31d is out of range (1s..30d)");
    expect_err("recording:\n  callback_retry_min: 10s\n  callback_retry_max: 5s\n", 3, 23,
               "recording.callback_retry_max: must not be shorter than recording.callback_retry_min");
    expect_err("recording:\n  callback_retry_min: 2h\n", 2, 23, "recording.callback_retry_min: 2h is out of range");
    expect_err("recording:\n  callback_retry_max: 1s\n", 2, 23,
               "recording.callback_retry_max: must not be shorter than");
}

static void test_enum_errors(void)
{
    expect_err("log:\n  level: verbose\n", 2, 10, "log.level: \"verbose\" is not one of debug, info, warn, error");
    expect_err("log:\n  format: xml\n", 2, 11, "log.format: \"xml\" is not one of text, json");
    expect_err("log:\n  format: [text]\n", 2, 11, "log.format: expected a log format, got a sequence");
    expect_err("recording:\n  audio_codec: mp3\n", 2, 16, "recording.audio_codec: \"mp3\" is not one of aac, opus");
    expect_err("recording:\n  audio_codec: AAC\n", 2, 16, "recording.audio_codec: \"AAC\" is not one of aac, opus");
}

static void test_address_errors(void)
{
    expect_err("server:\n  listen: [\"0.0.0.0\"]\n", 2, 12,
               "server.listen: bad address \"0.0.0.0\": expected \"host:port\"");
    expect_err("server:\n  listen: [\"::8443\"]\n", 2, 12,
               "server.listen: bad address \"::8443\": an IPv6 address must be in brackets");
    expect_err("server:\n  listen: [\"[::1]8443\"]\n", 2, 12,
               "server.listen: bad address \"[::1]8443\": expected \"[IPv6]:port\"");
    expect_err("server:\n  listen:\n    - 1.2.3.4:443\n    - 1.2.3.4:0\n", 4, 7,
               "server.listen: bad address \"1.2.3.4:0\": port must be an integer between 1 and 65535");
    expect_err("server:\n  listen: [\"1.2.3.4:70000\"]\n", 2, 12,
               "server.listen: bad address \"1.2.3.4:70000\": port must");
    expect_err(
        "server:\n  listen: [\"example.com:443\"]\n", 2, 12,
        "server.listen: bad address \"example.com:443\": host must be an IPv4 address or a bracketed IPv6 address");
    expect_err("server:\n  listen: [\"1.2.3.256:443\"]\n", 2, 12, "server.listen: bad address \"1.2.3.256:443\"");
    expect_err("server:\n  listen: [\"[fe80::zz]:1\"]\n", 2, 12,
               "server.listen: bad address \"[fe80::zz]:1\": not a valid IPv6 address");
    expect_err("server:\n  listen: [\"0.0.0.0:1\", \":1\"]\n", 2, 25, "server.listen: \":1\" is listed twice");
    expect_err("server:\n  listen: []\n", 2, 11, "server.listen: must list at least one");
    expect_err("server:\n  listen: [':1', ':2', ':3', ':4', ':5', ':6', ':7', ':8', ':9']\n", 2, 60,
               "server.listen: at most 8 entries are allowed");
    expect_err("media:\n  ips: [10.0.0.300]\n", 2, 9,
               "media.ips: bad address \"10.0.0.300\": not an IPv4 or IPv6 address");
    expect_err("media:\n  ips: [\"[::1]\"]\n", 2, 9, "media.ips: bad address \"[::1]\": not an IPv4 or IPv6 address");
    expect_err("media:\n  ips: [10.0.0.1:20000]\n", 2, 9, "media.ips: bad address \"10.0.0.1:20000\"");
    expect_err("media:\n  ips: [0.0.0.0]\n", 2, 9, "media.ips: bad address \"0.0.0.0\": 0.0.0.0 cannot be announced");
    expect_err("media:\n  ips: [\"::\"]\n", 2, 9, "media.ips: bad address \"::\": :: cannot be announced");
    expect_err("media:\n  ips:\n    - 10.0.0.1\n    - 10.0.0.1\n", 4, 7, "media.ips: \"10.0.0.1\" is listed twice");
    expect_err("media:\n  ips: []\n", 2, 8, "media.ips: must list at least one IP address");
}

static void test_syntax_errors(void)
{
    expect_err("server:\n  domain: [a\n", 3, 1, "syntax error: did not find expected ',' or ']'");
    expect_err("server:\n\tdomain: x\n", 2, 1, "syntax error: found character that cannot start any token");
    expect_err("server:\n  domain: x\n bad: 1\n", 3, 2, "syntax error: did not find expected key");
    expect_err("log:\n  level: *nope\n", 2, 10, "syntax error: found undefined alias");
    expect_err_n("log:\n  level: \xff\n", 15, 2, 10, "syntax error: invalid leading UTF-8 octet");
}

static void test_file_errors(void)
{
    char cert[512], key[512], dir[512], yaml[2048];
    const char *tmp = getenv("TMPDIR");
    snprintf(cert, sizeof(cert), "%s", write_tmp("C", 1));
    snprintf(key, sizeof(key), "%s", write_tmp("K", 1));
    snprintf(dir, sizeof(dir), "%s/irtc-cfg-dir-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }

    snprintf(yaml, sizeof(yaml), "server:\n  tls:\n    cert: %s\n", cert);
    expect_err(yaml, 3, 11, "server.tls.cert: set without server.tls.key: give both or neither");
    snprintf(yaml, sizeof(yaml), "server:\n  tls:\n    cert: \"\"\n    key: %s\n", key);
    expect_err(yaml, 4, 10, "server.tls.key: set without server.tls.cert: give both or neither");
    snprintf(yaml, sizeof(yaml), "server:\n  tls:\n    cert: %s/missing.pem\n    key: %s\n", dir, key);
    char want[1024];
    snprintf(want, sizeof(want), "server.tls.cert: cannot read \"%s/missing.pem\": %s", dir, strerror(ENOENT));
    expect_err(yaml, 3, 11, want);
    snprintf(yaml, sizeof(yaml), "server:\n  tls:\n    cert: %s\n    key: %s/k.pem\n", cert, dir);
    snprintf(want, sizeof(want), "server.tls.key: cannot read \"%s/k.pem\": %s", dir, strerror(ENOENT));
    expect_err(yaml, 4, 10, want);
    snprintf(yaml, sizeof(yaml), "server:\n  tls:\n    cert: %s\n    key: %s\n", dir, key);
    snprintf(want, sizeof(want), "server.tls.cert: \"%s\" is not a regular file", dir);
    expect_err(yaml, 3, 11, want);
    snprintf(yaml, sizeof(yaml), "recording:\n  callback_ca_file: %s/ca.pem\n", dir);
    snprintf(want, sizeof(want), "recording.callback_ca_file: cannot read \"%s/ca.pem\"", dir);
    expect_err(yaml, 2, 21, want);

    /* The configuration file itself. */
    cfg_t cfg;
    char err[1024] = "", missing[600];
    cfg_defaults(&cfg);
    snprintf(missing, sizeof(missing), "%s/none.yaml", dir);
    is_int(cfg_load(&cfg, missing, err, sizeof(err)), IRTC_EIO, "missing config file is IRTC_EIO");
    snprintf(want, sizeof(want), "%s: cannot read: %s", missing, strerror(ENOENT));
    is_str(err, want, "missing config file message");
    is_int(cfg_load(&cfg, dir, err, sizeof(err)), IRTC_EIO, "directory as config file is IRTC_EIO");
    snprintf(want, sizeof(want), "%s: cannot read: %s", dir, strerror(EISDIR));
    is_str(err, want, "directory as config file message");
    is_str(cfg.source, "(built-in defaults)", "failed loads leave cfg alone");

    size_t big = 1024 * 1024 + 10;
    char *huge = xmalloc(big);
    memset(huge, '#', big);
    huge[big - 1] = '\n';
    is_int(load_text_n(&cfg, huge, big, err, sizeof(err)), IRTC_EINVAL, "file over 1 MiB refused");
    snprintf(want, sizeof(want), "%s: larger than", g_path);
    ok(strncmp(err, want, strlen(want)) == 0, "file over 1 MiB message (%s)", err);
    free(huge);

    /* err may be NULL, and a short buffer is truncated, not overrun. */
    is_int(load_text(&cfg, "bogus: 1\n", NULL, 0), IRTC_EINVAL, "NULL err buffer is allowed");
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    is_int(load_text(&cfg, "bogus: 1\n", tiny, sizeof(tiny)), IRTC_EINVAL, "tiny err buffer: refused");
    ok(memchr(tiny, '\0', sizeof(tiny)) != NULL && strncmp(tiny, g_path, 7) == 0, "tiny err buffer: truncated");

    unlink(cert);
    unlink(key);
    rmdir(dir);
}

static void test_durations(void)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } good[] = {{"24h", 86400000}, {"30m", 1800000}, {"90s", 90000},     {"2d", 172800000},     {"1500ms", 1500},
                {"120", 120000},   {"0", 0},         {"1h30m", 5400000}, {"1m30s500ms", 90500}, {"007s", 7000}};
    static const char *bad[] = {"",
                                "h",
                                "10x",
                                "-1",
                                "1.5h",
                                "10 s",
                                " 10s",
                                "5H",
                                "1m1",
                                "ms",
                                "10mss",
                                "1h-",
                                "99999999999999999999",
                                "18446744073709552h"};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(good); i++) {
        uint64_t ms = 12345;
        int rc = cfg_parse_duration_ms(good[i].s, &ms);
        ok(rc == IRTC_OK && ms == good[i].ms, "duration \"%s\" = %llu ms", good[i].s, (unsigned long long)good[i].ms);
    }
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        uint64_t ms = 12345;
        int rc = cfg_parse_duration_ms(bad[i], &ms);
        ok(rc == IRTC_EINVAL && ms == 12345, "duration \"%s\" refused", bad[i]);
    }
    uint64_t ms;
    is_int(cfg_parse_duration_ms(NULL, &ms), IRTC_EINVAL, "NULL duration refused");
}

static void test_packaged_file(void)
{
    const char *top = getenv("top_srcdir");
    char path[1024], err[1024] = "";
    cfg_t cfg;
    cfg_defaults(&cfg);
    snprintf(path, sizeof(path), "%s/etc/irtc.yaml", top && top[0] ? top : ".");
    int rc = cfg_load(&cfg, path, err, sizeof(err));
    is_int(rc, IRTC_OK, "etc/irtc.yaml loads (%s)", err);
    is_str(cfg.source, path, "etc/irtc.yaml: source");
    ok(cfg.listen_count == 1 && strcmp(cfg.listen[0].host, "0.0.0.0") == 0 && cfg.listen[0].port == 8443,
       "etc/irtc.yaml: listens on 0.0.0.0:8443");
    ok(!cfg.demo_token_enabled, "etc/irtc.yaml: demo token off in production");
    ok(cfg.tls_cert[0] == '\0' && cfg.tls_key[0] == '\0', "etc/irtc.yaml: self-signed until replaced");
    is_str(cfg.db_path, "/var/lib/irtc/irtc.db", "etc/irtc.yaml: db");
    is_str(cfg.data_dir, "/var/lib/irtc", "etc/irtc.yaml: data dir");
    is_str(cfg.nas_base_path, "/var/lib/irtc/recordings", "etc/irtc.yaml: nas base");
    is_str(cfg.log_file, "", "etc/irtc.yaml: logs to stderr");

    /* Apart from the production choices, the file states the built-in defaults. */
    cfg_t def;
    cfg_defaults(&def);
    def.demo_token_enabled = false;
    snprintf(def.db_path, sizeof(def.db_path), "/var/lib/irtc/irtc.db");
    snprintf(def.data_dir, sizeof(def.data_dir), "/var/lib/irtc");
    snprintf(def.nas_base_path, sizeof(def.nas_base_path), "/var/lib/irtc/recordings");
    snprintf(def.source, sizeof(def.source), "%s", path);
    ok(cfg_equal(&cfg, &def), "etc/irtc.yaml: every other key has its default value");
}

/* media.tcp_port (ICE-TCP) and media.turn. */
static void test_media_reach(void)
{
    cfg_t cfg;
    char err[1024] = "";
    cfg_defaults(&cfg);
    ok(cfg.media_tcp_port == cfg.media_port, "defaults: ICE-TCP on the media port numbers");
    int rc = load_text(&cfg, "media:\n  port: 30000\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.media_tcp_port == 30000, "tcp_port follows media.port when not set (%s)", err);
    rc = load_text(&cfg, "media:\n  port: 30000\n  tcp_port: 0\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.media_tcp_port == 0 && cfg.media_port == 30000, "tcp_port 0 turns ICE-TCP off (%s)", err);
    rc = load_text(&cfg, "media:\n  port: 30000\n  tcp_port: 443\n  workers: 1\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.media_tcp_port == 443, "tcp_port may be set on its own (%s)", err);
    expect_err("media:\n  tcp_port: 65535\n  workers: 2\n", 2, 13,
               "media.tcp_port: 65535 + 2 workers - 1 exceeds 65535 (each worker listens on one TCP port)");
    expect_err("media:\n  tcp_port: 70000\n", 2, 13, "media.tcp_port: 70000 is out of range (0..65535)");

    rc = load_text(&cfg,
                   "media:\n  turn:\n    urls: [\"turn:turn.example.com:3478?transport=udp\", "
                   "\"turn:192.0.2.1?transport=tcp\", \"turns:turn.example.com:443?transport=tcp\"]\n"
                   "    secret: s3cret\n    ttl: 2h\n",
                   err, sizeof(err));
    ok(rc == IRTC_OK && cfg.turn_url_count == 3 && strcmp(cfg.turn_urls[2], "turns:turn.example.com:443?transport=tcp") == 0 &&
           strcmp(cfg.turn_secret, "s3cret") == 0 && cfg.turn_ttl_ms == 2 * 3600 * 1000,
       "media.turn: urls, secret, ttl (%s)", err);
    rc = load_text(&cfg, "media:\n  turn:\n    urls: [\"turn:[2001:db8::1]:3478\"]\n    secret: x\n", err, sizeof(err));
    ok(rc == IRTC_OK && cfg.turn_ttl_ms == 0, "an IPv6 TURN host; ttl defaults to the token's lifetime (%s)", err);
    expect_err("media:\n  turn:\n    urls: [\"turn:a.example\"]\n", 3, 11,
               "media.turn.urls: set without media.turn.secret: give both or neither");
    expect_err("media:\n  turn:\n    secret: x\n", 3, 13,
               "media.turn.secret: set without media.turn.urls: give both or neither");
    expect_err("media:\n  turn:\n    urls: [\"stun:a.example\"]\n    secret: x\n", 3, 12,
               "media.turn.urls: bad URI \"stun:a.example\": expected turn:");
    expect_err("media:\n  turn:\n    urls: [\"turns:a.example?transport=udp\"]\n    secret: x\n", 3, 12,
               "media.turn.urls: bad URI \"turns:a.example?transport=udp\": turns: takes only ?transport=tcp");
    expect_err("media:\n  turn:\n    urls: [\"turn://a.example\"]\n    secret: x\n", 3, 12,
               "media.turn.urls: bad URI \"turn://a.example\": no host");
    expect_err("media:\n  turn:\n    urls: [\"turn:a b\"]\n    secret: x\n", 3, 12,
               "media.turn.urls: bad URI \"turn:a b\": the host[:port] part has a character that is not allowed");
    ok(cfg_check_turn_url("turn:h?transport=sctp") != NULL && cfg_check_turn_url("turn:h?transport=udp") == NULL,
       "transport is udp or tcp");
}

static void test_cluster(void)
{
    char err[512] = "";
    cfg_t cfg;
    cfg_redis_url_t u;
    const char *why = NULL;

    cfg_defaults(&cfg);
    ok(!cfg_cluster_enabled(&cfg), "no cluster by default");
    is_int(cfg.cluster_node_ttl_ms, 3000, "node_ttl default 3 s");
    is_int(load_text(&cfg,
                     "cluster:\n  redis_url: \"redis://:pw@10.0.0.5:6380/2\"\n  node_id: a-1\n"
                     "  advertise: \"rtc1.example:8443\"\n  node_ttl: 5s\n",
                     err, sizeof(err)),
           IRTC_OK, "a cluster section (%s)", err);
    ok(cfg_cluster_enabled(&cfg), "cluster enabled");
    is_str(cfg.cluster_node_id, "a-1", "node_id");
    is_str(cfg.cluster_advertise, "rtc1.example:8443", "advertise");
    is_int(cfg.cluster_node_ttl_ms, 5000, "node_ttl");
    is_int(cfg_parse_redis_url(cfg.cluster_redis_url, &u, &why), IRTC_OK, "URL parsed");
    ok(strcmp(u.host, "10.0.0.5") == 0 && u.port == 6380 && u.db == 2 && strcmp(u.password, "pw") == 0,
       "host, port, db and password from the URL");
    is_int(cfg_parse_redis_url("redis://[::1]", &u, &why), IRTC_OK, "IPv6 host, default port");
    ok(strcmp(u.host, "::1") == 0 && u.port == 6379 && u.db == 0 && u.password[0] == '\0', "::1:6379, db 0");
    is_int(cfg_parse_redis_url("rediss://h", &u, &why), IRTC_EINVAL, "rediss:// refused");
    ok(why != NULL && strstr(why, "tunnel") != NULL, "... saying to tunnel TLS (%s)", why);
    is_int(cfg_parse_redis_url("redis://h:0", &u, &why), IRTC_EINVAL, "port 0 refused");
    is_int(cfg_parse_redis_url("redis://user@h", &u, &why), IRTC_EINVAL, "a user name without :password refused");
    is_int(cfg_parse_redis_url("redis://h/16", &u, &why), IRTC_EINVAL, "db 16 refused");
    is_int(cfg_parse_redis_url("redis://", &u, &why), IRTC_EINVAL, "no host refused");
    expect_err("cluster:\n  redis_url: \"redis://h\"\n", 2, 14,
               "cluster.node_id: must be set in a cluster (cluster.redis_url, cluster.node_id and cluster.advertise)");
    expect_err("cluster:\n  redis_url: \"http://h\"\n  node_id: a\n  advertise: h\n", 2, 14,
               "cluster.redis_url: expected redis://[:password@]host[:port][/db]");
    expect_err("cluster:\n  redis_url: \"redis://h\"\n  node_id: \"a b\"\n  advertise: h\n", 3, 12,
               "cluster.node_id: 1-32 characters of [A-Za-z0-9_-], got \"a b\"");
    expect_err("cluster:\n  redis_url: \"redis://h\"\n  node_id: a\n  advertise: \"https://h\"\n", 4, 14,
               "cluster.advertise: expected a host name with an optional :port (not a URL), got \"https://h\"");
    expect_err("cluster:\n  node_ttl: 1s\n", 2, 13, "cluster.node_ttl: 1s is out of range (2s..1m)");
}

int main(void)
{
    test_cluster();
    test_media_reach();
    test_defaults();
    test_empty_files();
    test_full_file();
    test_accepted_edges();
    test_key_errors();
    test_type_errors();
    test_range_errors();
    test_enum_errors();
    test_address_errors();
    test_syntax_errors();
    test_file_errors();
    test_durations();
    test_packaged_file();
    return done_testing();
}
