/*
 * fuzz_config.c — libFuzzer target for core/config: the YAML file an
 * operator writes, through cfg_load exactly as irtcd reads it (a memfd
 * stands in for the file).  A refused file must leave the configuration as
 * it was and say "file:line:column: key: why"; an accepted one must hold
 * every value inside the range config.h documents.  Single-threaded; a
 * failed check aborts.
 */
#include "core/config.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void check_ranges(const cfg_t *c)
{
    CHECK(c->listen_count >= 1 && c->listen_count <= CFG_MAX_LISTEN);
    for (size_t i = 0; i < c->listen_count; i++)
        CHECK(memchr(c->listen[i].host, '\0', sizeof(c->listen[i].host)) != NULL);
    CHECK(c->media_ip_count >= 1 && c->media_ip_count <= CFG_MAX_MEDIA_IPS);
    for (size_t i = 0; i < c->media_ip_count; i++)
        CHECK(strcmp(c->media_ips[i], "0.0.0.0") != 0 && strcmp(c->media_ips[i], "::") != 0);
    CHECK(c->media_port >= 1024 && c->media_workers <= 256);
    CHECK((unsigned)c->media_port + (c->media_workers ? c->media_workers : 1) - 1 <= 65535);
    CHECK(c->rec_threads >= 1 && c->rec_threads <= 8);
    CHECK(c->rec_max_sessions >= 1 && c->rec_max_sessions <= 1000);
    CHECK(c->callback_retry_min_ms <= c->callback_retry_max_ms);
    CHECK(c->max_publishers_per_room >= 1 && c->max_publishers_per_room <= 64);
    CHECK(c->api_calls_per_minute >= 1 && c->api_calls_per_minute <= 100000);
    CHECK(c->signal_idle_timeout_ms >= 2000 && c->signal_idle_timeout_ms <= 600000);
    CHECK(c->signal_resume_window_ms <= 300000);
    CHECK(c->max_connections >= 16 && c->max_connections <= 1000000);
    CHECK(c->max_connections_per_source >= 1 && c->max_connections_per_source <= 1000000);
    CHECK(memchr(c->nas_base_path, '\0', sizeof(c->nas_base_path)) != NULL);
    CHECK(memchr(c->db_path, '\0', sizeof(c->db_path)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cfg_t before, cfg;
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-config", 0);
        CHECK(fd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size);
    cfg_defaults(&cfg);
    before = cfg;
    char err[512] = "";
    int rc = cfg_load(&cfg, path, err, sizeof(err));
    if (rc == IRTC_OK) {
        check_ranges(&cfg);
        /* Durations the file may spell: what parses round-trips as seconds. */
        uint64_t ms;
        char text[32];
        snprintf(text, sizeof(text), "%llus", (unsigned long long)(cfg.token_ttl_ms / 1000));
        CHECK(cfg_parse_duration_ms(text, &ms) == IRTC_OK && ms == cfg.token_ttl_ms / 1000 * 1000);
    } else {
        CHECK(rc == IRTC_EINVAL || rc == IRTC_EIO);
        CHECK(strncmp(err, path, strlen(path)) == 0 && strlen(err) > strlen(path) + 2);
        CHECK(memcmp(&before, &cfg, sizeof(cfg)) == 0);
    }
    /* The duration parser alone, on the raw bytes. */
    char *s = fuzz_dup(data, size < 64 ? size : 64, true);
    uint64_t ms = 0;
    int drc = cfg_parse_duration_ms(s, &ms);
    CHECK(drc == IRTC_OK || drc == IRTC_EINVAL);
    free(s);
    return 0;
}
