/*
 * cli_callback.c — irtcd callback test|list: queue a signed test callback
 * for an app (operators checking their endpoint and signature code) and
 * show the outbox.  Writes through its own store connection; the running
 * daemon's sender finds the row within a second.  Single-threaded.
 */
#include "cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/json.h"
#include "callback/callback.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_CB_LIST_DEFAULT 20
#define CLI_CB_LIST_MAX 1000

/* irtcd callback test URL [--app APPID]: the demo app unless --app. */
static int cb_test(store_t *st, int argc, char **argv)
{
    const char *url = argv[2], *app_id = NULL, *why = NULL;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--app") == 0 && i + 1 < argc)
            app_id = argv[++i];
        else
            return CLI_USAGE;
    }
    cb_url_t u;
    if (cb_url_parse(url, &u, &why) != IRTC_OK) {
        fprintf(stderr, "irtcd: %s: %s\n", url, why);
        return 2;
    }
    store_app_t app;
    int rc = app_id != NULL ? store_app_get(st, app_id, &app) : store_app_get_by_name(st, "demo", &app);
    if (rc != IRTC_OK && app_id != NULL)
        fprintf(stderr, "irtcd: no app %s\n", app_id);
    else if (rc != IRTC_OK)
        fprintf(stderr, "irtcd: no demo app: give --app APPID\n");
    if (rc != IRTC_OK)
        return 1;
    /* A video callback that says what it is in every field a receiver logs. */
    char rec_id[32], sig[CB_SIGN_LEN];
    uint64_t now_ms = clock_wall_ms();
    clock_format_datetime(now_ms, rec_id, sizeof(rec_id));
    strcat(rec_id, "0000");
    cb_event_t ev = {.kind = CB_VIDEO,
                     .app_id = app.app_id,
                     .channel_id = "irtc-callback-test",
                     .recording_id = rec_id,
                     .user_id = "irtc-callback-test",
                     .extra_data = "irtc callback test",
                     .auth_ts = (int64_t)(now_ms / 1000),
                     .file_path = "/irtc-callback-test.mp4",
                     .file_name = "irtc-callback-test.mp4"};
    buf_t body, out;
    buf_init(&body);
    buf_init(&out);
    cb_body_video(&body, &ev);
    cb_sign(app.access_key, ev.app_id, ev.channel_id, ev.user_id, ev.extra_data, ev.auth_ts, sig);
    int64_t id = 0;
    rc = cb_enqueue(st, app.app_id, url, body.base, sig, &id);
    if (rc == IRTC_OK) {
        buf_printf(&out, "{\"id\":%" PRId64 ",\"appId\":", id);
        json_write_string(&out, app.app_id);
        buf_puts(&out, ",\"url\":");
        json_write_string(&out, url);
        buf_printf(&out, ",\"X-HW-SIGN\":\"%s\",\"body\":%s}\n", sig, body.base);
        fwrite(out.base, 1, out.len, stdout);
    } else {
        fprintf(stderr, "irtcd: cannot queue the callback: %s\n", irtc_strerror(rc));
    }
    buf_dispose(&out);
    buf_dispose(&body);
    store_app_dispose(&app);
    return rc == IRTC_OK ? 0 : 1;
}

static void put_time(buf_t *b, const char *name, int64_t ms)
{
    char ts[40];
    if (ms <= 0 || ms == INT64_MAX) {
        buf_printf(b, ",\"%s\":null", name);
        return;
    }
    clock_format_contract((uint64_t)ms, ts, sizeof(ts));
    buf_printf(b, ",\"%s\":\"%s\"", name, ts);
}

static void put_row(buf_t *b, const store_outbox_t *o)
{
    const char *status = o->delivered_at_ms > 0            ? "delivered"
                         : o->next_attempt_ms == INT64_MAX ? "given up"
                                                           : "pending";
    buf_printf(b, "{\"id\":%" PRId64 ",\"appId\":", o->id);
    json_write_string(b, o->app_id);
    buf_puts(b, ",\"url\":");
    json_write_string(b, o->url);
    buf_printf(b, ",\"status\":\"%s\",\"attempts\":%d", status, o->attempts);
    put_time(b, "createdAt", o->created_at_ms);
    put_time(b, "nextAttemptAt", o->delivered_at_ms > 0 ? 0 : o->next_attempt_ms);
    put_time(b, "deliveredAt", o->delivered_at_ms);
    buf_puts(b, ",\"lastError\":");
    if (o->last_error != NULL)
        json_write_string(b, o->last_error);
    else
        buf_puts(b, "null");
    buf_printf(b, ",\"bodyBytes\":%zu}", o->body != NULL ? strlen(o->body) : 0);
}

/* irtcd callback list [--limit N]: newest first. */
static int cb_list(store_t *st, int argc, char **argv)
{
    long limit = CLI_CB_LIST_DEFAULT;
    if (argc == 4 && strcmp(argv[2], "--limit") == 0) {
        char *end;
        limit = strtol(argv[3], &end, 10);
        if (*end != '\0' || limit < 1 || limit > CLI_CB_LIST_MAX) {
            fprintf(stderr, "irtcd: --limit must be 1..%d\n", CLI_CB_LIST_MAX);
            return 2;
        }
    } else if (argc != 2) {
        return CLI_USAGE;
    }
    store_outbox_t *rows;
    size_t n;
    if (store_outbox_recent(st, (size_t)limit, &rows, &n) != IRTC_OK) {
        fprintf(stderr, "irtcd: cannot read the outbox\n");
        return 1;
    }
    buf_t b;
    buf_init(&b);
    buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(&b, ',');
        put_row(&b, &rows[i]);
    }
    buf_puts(&b, "]\n");
    fwrite(b.base, 1, b.len, stdout);
    buf_dispose(&b);
    store_outbox_list_free(rows, n);
    return 0;
}

int cli_callback(store_t *st, int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "test") == 0)
        return cb_test(st, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return cb_list(st, argc, argv);
    return CLI_USAGE;
}
