/* test_common.c — core helpers: errors, buffers, clocks, log formatting. */
#include "core/buf.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "unit/tap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void test_buf(void)
{
    buf_t b;
    buf_init(&b);
    buf_puts(&b, "abc");
    buf_putc(&b, '-');
    buf_printf(&b, "%d:%s", 42, "x");
    is_str(b.base, "abc-42:x", "buf appends and formats");
    is_int(b.len, 8, "buf length tracks content");
    for (int i = 0; i < 1000; i++)
        buf_puts(&b, "0123456789");
    is_int(b.len, 10008, "buf grows past its first capacity");
    buf_reset(&b);
    is_int(b.len, 0, "reset empties");
    is_str(b.base, "", "reset leaves a valid empty string");
    buf_append(&b, "a\0b", 3);
    is_int(b.len, 3, "binary append keeps NUL bytes");
    char *s = buf_steal(&b);
    ok(s[0] == 'a' && s[1] == '\0' && s[2] == 'b', "steal hands over the bytes");
    ok(b.base == NULL && b.len == 0, "steal empties the buffer");
    free(s);
    buf_dispose(&b);
}

static void test_clock(void)
{
    uint64_t a = clock_mono_ms();
    usleep(20000);
    uint64_t b = clock_mono_ms();
    ok(b >= a + 15 && b < a + 2000, "monotonic clock advances (%llu ms)", (unsigned long long)(b - a));
    ok(clock_wall_ms() > 1700000000000ULL, "wall clock is in ms since epoch");
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    char ts[40];
    /* 2021-12-06T07:55:26.552Z is 15:55:26.552 in +0800: the contract's own example. */
    clock_format_contract(1638777326552ULL, ts, sizeof(ts));
    is_str(ts, "2021-12-06T15:55:26.552+0800", "contract timestamp format with local offset");
    clock_format_date(1638777326552ULL, ts, sizeof(ts));
    is_str(ts, "20211206", "date format YYYYMMDD");
    clock_format_datetime(1638777326552ULL, ts, sizeof(ts));
    is_str(ts, "20211206155526", "datetime format YYYYMMDDHHMMSS");
    setenv("TZ", "UTC", 1);
    tzset();
    clock_format_contract(1638777326005ULL, ts, sizeof(ts));
    is_str(ts, "2021-12-06T07:55:26.005+0000", "UTC offset and zero-padded milliseconds");
}

static void test_errors_and_log(void)
{
    is_str(irtc_strerror(IRTC_ENOTFOUND), "not found", "error strings");
    is_str(irtc_strerror(12345), "unknown error", "unknown error code has a string");
    log_level_t lv;
    ok(log_level_parse("warn", &lv) == IRTC_OK && lv == LOG_LEVEL_WARN, "log level parses");
    ok(log_level_parse("loud", &lv) == IRTC_EINVAL, "bad log level refused");
    log_format_t lf;
    ok(log_format_parse("json", &lf) == IRTC_OK && lf == LOG_FORMAT_JSON, "log format parses");
    ok(log_format_parse("xml", &lf) == IRTC_EINVAL, "bad log format refused");

    char path[] = "/tmp/irtc-log-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ok(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON, path) == IRTC_OK, "log to a file");
    log_debug("t", "hidden");
    log_info("t", "say \"hi\"\n");
    FILE *fp = fopen(path, "r");
    char line[512] = "";
    ok(fgets(line, sizeof(line), fp) != NULL, "one line written");
    ok(strstr(line, "\"msg\":\"say \\\"hi\\\"\\u000a\"") != NULL, "json log escapes quotes and newlines: %s", line);
    ok(strstr(line, "hidden") == NULL && fgets(line, sizeof(line), fp) == NULL, "debug below level not written");
    fclose(fp);
    _Atomic uint64_t last = 0;
    ok(log_ratelimit_pass(&last, 1000) == 1, "rate limit lets the first line through");
    ok(log_ratelimit_pass(&last, 1000) == 0, "rate limit holds the second line within the interval");
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, NULL);
    unlink(path);
}

int main(void)
{
    test_buf();
    test_clock();
    test_errors_and_log();
    return done_testing();
}
