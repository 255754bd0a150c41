/*
 * cli.h — one-shot commands (irtcd app|token|db|callback ...).  They open their own
 * store connection, so they work while the daemon runs (SQLite WAL), print
 * JSON on stdout and errors on stderr.  Single-threaded.
 */
#ifndef IRTC_CLI_H
#define IRTC_CLI_H

#include "core/config.h"

#define CLI_USAGE 64 /* returned for a bad command line; main prints usage */

/* argv[0] is the command word ("app", "token", "db", "callback"). Returns an exit code. */
int cli_run(const cfg_t *cfg, int argc, char **argv);

struct store;
/* irtcd callback test URL [--app APPID] | list [--limit N] (cli_callback.c). */
int cli_callback(struct store *st, int argc, char **argv);

#endif
