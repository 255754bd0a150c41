/*
 * main.c — start-up only: parse the command line, load the configuration,
 * and hand over to the daemon (app.c) or to a one-shot command (cli.c).
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
 */
#include "config.h"
#include "cli.h"
#include "daemon.h"
#include "core/common.h"
#include "core/config.h"
#include "core/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *fp)
{
    fprintf(fp, "usage: irtcd [--config FILE]                 run the daemon\n"
                "       irtcd --check-config FILE             validate a configuration file\n"
                "       irtcd app create NAME                 create an app (prints its credentials once)\n"
                "       irtcd app list [--show-secrets]       list apps\n"
                "       irtcd app delete APPID                delete an app and its rules and tokens\n"
                "       irtcd app rotate-key APPID            new join-token key (accessKey)\n"
                "       irtcd token APPID CHANNEL USER [--role 0|1]\n"
                "                                             print a join token (for testing)\n"
                "       irtcd db check                        run SQLite's integrity check\n"
                "       irtcd db backup DEST                  online copy of the database\n"
                "       irtcd callback test URL [--app APPID] queue a signed test callback (default: demo app)\n"
                "       irtcd callback list [--limit N]       recent callbacks and their delivery state\n"
                "       irtcd cluster status                  nodes of the cluster and their load (cluster:)\n"
                "       irtcd --version | --help\n"
                "Every command takes --config FILE.  Without it the daemon uses built-in defaults;\n"
                "the other commands use " IRTC_SYSCONFDIR "/irtc/irtc.yaml when this irtcd is installed\n"
                "and the file exists (the packaged daemon's), else the built-in defaults.\n");
}

/* Removes "--config FILE" from argv wherever it appears; returns the path or NULL. */
static const char *take_config(int *argc, char **argv, int *bad)
{
    const char *path = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) {
            if (i + 1 >= *argc) {
                *bad = 1;
                return NULL;
            }
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return path;
}

static int load_config(cfg_t *cfg, const char *path)
{
    cfg_defaults(cfg);
    if (path == NULL)
        return 0;
    char err[1024];
    if (cfg_load(cfg, path, err, sizeof(err)) != IRTC_OK) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    return 0;
}

/* The configuration a one-shot command (app, token, db, callback) reads
 * without --config: on an installed system the packaged daemon's, so
 * `irtcd app create` acts on the database the service uses; a binary run
 * from its build tree (tests, README command 1) keeps the built-in defaults.
 * Says which on stderr (stdout carries the command's JSON). */
static const char *cli_default_config(void)
{
    static const char packaged[] = IRTC_SYSCONFDIR "/irtc/irtc.yaml";
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    bool in_build_tree = n > 0 && strncmp(exe, IRTC_BUILDDIR "/", strlen(IRTC_BUILDDIR) + 1) == 0;
    if (!in_build_tree && access(packaged, F_OK) == 0) {
        fprintf(stderr, "irtcd: configuration %s (no --config given)\n", packaged);
        return packaged;
    }
    fprintf(stderr, "irtcd: built-in default configuration (no --config given%s%s)\n",
            in_build_tree ? "; run from the build tree" : "; no ", in_build_tree ? "" : packaged);
    return NULL;
}

int main(int argc, char **argv)
{
    int bad = 0;
    const char *config_path = take_config(&argc, argv, &bad);
    if (bad) {
        usage(stderr);
        return 2;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("irtcd %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--check-config") == 0) {
        if (argc != 3) {
            usage(stderr);
            return 2;
        }
        static cfg_t cfg;
        if (load_config(&cfg, argv[2]) != 0)
            return 2;
        printf("%s: ok\n", argv[2]);
        return 0;
    }
    if (argc >= 2 && config_path == NULL)
        config_path = cli_default_config();
    else if (argc >= 2)
        fprintf(stderr, "irtcd: configuration %s\n", config_path);
    static cfg_t cfg;
    if (load_config(&cfg, config_path) != 0)
        return 2;
    log_setup(cfg.log_level, cfg.log_format, cfg.log_file[0] ? cfg.log_file : NULL);
    if (argc == 1)
        return daemon_run(&cfg);
    int rc = cli_run(&cfg, argc - 1, argv + 1);
    if (rc == CLI_USAGE)
        usage(stderr);
    return rc == CLI_USAGE ? 2 : rc;
}
