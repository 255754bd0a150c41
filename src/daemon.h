/*
 * daemon.h — the running daemon (irtcd): start-up in dependency order, the
 * control thread's event loop, signals, and a graceful shutdown.  Called by
 * main() once the configuration is loaded.  Control thread.
 *
 * "daemon" is the process; "app" always means a tenant app (src/apps/).
 */
#ifndef IRTC_DAEMON_H
#define IRTC_DAEMON_H

#include "core/config.h"

/* Runs the daemon until SIGTERM/SIGINT; returns the process exit code. */
int daemon_run(const cfg_t *cfg);

#endif
