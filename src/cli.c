/*
 * cli.c — irtcd app create|list|delete|rotate-key, irtcd token, irtcd db
 * check|backup, irtcd cluster status.  Each command is one short function
 * over the store.  In cluster mode an app command's changes also go to the
 * cluster's log (cluster.h), so every node sees them.
 */
#include "cli.h"
#include "apps/apps.h"
#include "cluster/cluster.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/json.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static store_t *open_store(const cfg_t *cfg)
{
    char err[512];
    store_t *st;
    if (store_open(cfg->db_path, &st, err, sizeof(err)) != IRTC_OK) {
        fprintf(stderr, "irtcd: %s\n", err);
        return NULL;
    }
    return st;
}

static void print_buf(buf_t *b)
{
    buf_putc(b, '\n');
    fwrite(b->base, 1, b->len, stdout);
    buf_dispose(b);
}

static int app_create(store_t *st, const char *name)
{
    if (name[0] == '\0' || strlen(name) > 64) {
        fprintf(stderr, "irtcd: app name must be 1..64 characters\n");
        return 2;
    }
    store_app_t app;
    char token[APPS_TOKEN_LEN + 1];
    int rc = apps_create(st, name, false, &app, token);
    if (rc == IRTC_ECONFLICT) {
        fprintf(stderr, "irtcd: an app named \"%s\" already exists\n", name);
        return 1;
    }
    if (rc != IRTC_OK) {
        fprintf(stderr, "irtcd: cannot create app: %s\n", irtc_strerror(rc));
        return 1;
    }
    buf_t b;
    buf_init(&b);
    apps_write_json(&b, &app, true, token);
    print_buf(&b);
    store_app_dispose(&app);
    return 0;
}

static int app_list(store_t *st, bool show_secrets)
{
    store_app_t *apps;
    size_t n;
    if (store_app_list(st, &apps, &n) != IRTC_OK) {
        fprintf(stderr, "irtcd: cannot list apps\n");
        return 1;
    }
    buf_t b;
    buf_init(&b);
    buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(&b, ',');
        apps_write_json(&b, &apps[i], show_secrets, NULL);
    }
    buf_putc(&b, ']');
    print_buf(&b);
    store_app_list_free(apps, n);
    return 0;
}

static int app_delete(store_t *st, const char *app_id)
{
    int rc = store_app_delete(st, app_id);
    if (rc == IRTC_ENOTFOUND) {
        fprintf(stderr, "irtcd: no app %s\n", app_id);
        return 1;
    }
    if (rc != IRTC_OK)
        return 1;
    printf("{\"deleted\":\"%s\"}\n", app_id);
    return 0;
}

static int app_rotate(store_t *st, const char *app_id)
{
    char key[64];
    int rc = apps_rotate_key(st, app_id, key, sizeof(key));
    if (rc == IRTC_ENOTFOUND) {
        fprintf(stderr, "irtcd: no app %s\n", app_id);
        return 1;
    }
    if (rc != IRTC_OK)
        return 1;
    printf("{\"appId\":\"%s\",\"accessKey\":\"%s\"}\n", app_id, key);
    return 0;
}

static int cmd_app(store_t *st, int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "create") == 0 && argc == 3)
        return app_create(st, argv[2]);
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        bool secrets = argc == 3 && strcmp(argv[2], "--show-secrets") == 0;
        if (argc > 3 || (argc == 3 && !secrets))
            return CLI_USAGE;
        return app_list(st, secrets);
    }
    if (argc == 3 && strcmp(argv[1], "delete") == 0)
        return app_delete(st, argv[2]);
    if (argc == 3 && strcmp(argv[1], "rotate-key") == 0)
        return app_rotate(st, argv[2]);
    return CLI_USAGE;
}

/* irtcd token APPID CHANNEL USER [--role 0|1] */
static int cmd_token(const cfg_t *cfg, store_t *st, int argc, char **argv)
{
    if (argc < 4)
        return CLI_USAGE;
    const char *role = "1";
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else
            return CLI_USAGE;
    }
    store_app_t app;
    if (store_app_get(st, argv[1], &app) != IRTC_OK) {
        fprintf(stderr, "irtcd: no app %s\n", argv[1]);
        return 1;
    }
    buf_t b;
    const char *why = "invalid";
    buf_init(&b);
    int rc = apps_join_token(cfg, &app, argv[2], argv[3], role, (int64_t)clock_wall_ms(), &b, &why);
    store_app_dispose(&app);
    if (rc != IRTC_OK) {
        buf_dispose(&b);
        fprintf(stderr, "irtcd: cannot make a token: %s\n", why);
        return 2;
    }
    print_buf(&b);
    return 0;
}

static int cmd_db(store_t *st, int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "check") == 0) {
        char report[4096];
        int rc = store_check(st, report, sizeof(report));
        printf("{\"integrity\":\"%s\",\"schemaVersion\":%d}\n", rc == IRTC_OK ? "ok" : "failed",
               store_schema_version(st));
        if (rc != IRTC_OK)
            fprintf(stderr, "%s\n", report);
        return rc == IRTC_OK ? 0 : 1;
    }
    if (argc == 3 && strcmp(argv[1], "backup") == 0) {
        if (store_backup(st, argv[2]) != IRTC_OK) {
            fprintf(stderr, "irtcd: backup to %s failed\n", argv[2]);
            return 1;
        }
        printf("{\"backup\":\"%s\"}\n", argv[2]);
        return 0;
    }
    return CLI_USAGE;
}

static int cmd_cluster(const cfg_t *cfg, int argc, char **argv)
{
    char err[512];
    if (argc != 2 || strcmp(argv[1], "status") != 0)
        return CLI_USAGE;
    buf_t b;
    buf_init(&b);
    if (cluster_status(cfg, &b, err, sizeof(err)) != IRTC_OK) {
        buf_dispose(&b);
        fprintf(stderr, "irtcd: %s\n", err);
        return 1;
    }
    fwrite(b.base, 1, b.len, stdout);
    buf_dispose(&b);
    return 0;
}

/* Cluster mode: what an app command changed goes to every node. */
static int push_changes(const cfg_t *cfg, store_t *st)
{
    char err[512];
    void *cs = NULL;
    size_t len = 0;
    if (store_changes_take(st, &cs, &len) != IRTC_OK)
        return 1;
    int rc = len == 0 ? IRTC_OK : cluster_log_push(cfg, cs, len, err, sizeof(err));
    free(cs);
    if (rc != IRTC_OK) {
        fprintf(stderr, "irtcd: the change is stored here but did not reach the cluster: %s\n", err);
        return 1;
    }
    return 0;
}

int cli_run(const cfg_t *cfg, int argc, char **argv)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "cluster") == 0)
        return cmd_cluster(cfg, argc, argv);
    if (strcmp(cmd, "app") != 0 && strcmp(cmd, "token") != 0 && strcmp(cmd, "db") != 0 &&
        strcmp(cmd, "callback") != 0) {
        fprintf(stderr, "irtcd: unknown command \"%s\"\n", cmd);
        return CLI_USAGE;
    }
    store_t *st = open_store(cfg);
    if (st == NULL)
        return 1;
    int rc;
    bool shared = strcmp(cmd, "app") == 0 && cfg_cluster_enabled(cfg);
    if (shared && store_changes_start(st) != IRTC_OK) {
        store_close(st);
        return 1;
    }
    if (strcmp(cmd, "app") == 0)
        rc = cmd_app(st, argc, argv);
    else if (strcmp(cmd, "token") == 0)
        rc = cmd_token(cfg, st, argc, argv);
    else if (strcmp(cmd, "callback") == 0)
        rc = cli_callback(st, argc, argv);
    else
        rc = cmd_db(st, argc, argv);
    if (shared && rc == 0)
        rc = push_changes(cfg, st);
    store_close(st);
    return rc;
}
