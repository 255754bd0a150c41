#!/bin/sh
# test_client_irtcd.sh — the C client core (src/client) against the built
# irtcd on 127.0.0.1: starts the daemon, creates an app, and runs
# tests/integration/client_irtcd (TAP), which joins, publishes, subscribes and
# counts what arrives.  Every wait is bounded.
. "$top_srcdir/tests/integration/lib.sh"

HTTPS_PORT=$(free_port)
MEDIA_PORT=$(free_port 2)
write_config "$T_TMP/irtc.yaml" "$HTTPS_PORT" "$MEDIA_PORT"
if ! start_daemon "$T_TMP/irtc.yaml"; then
  echo "not ok 1 - irtcd starts"; sed 's/^/# /' "$T_TMP/daemon.log" | tail -20; echo "1..1"; exit 1
fi
APP=$("$IRTCD" --config "$T_TMP/irtc.yaml" app create loadtest)
field() { printf '%s' "$APP" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# The client's own TAP numbering: run it and pass its lines through.
"$top_builddir/tests/integration/client_irtcd" 127.0.0.1 "$HTTPS_PORT" "$(field appId)" "$(field accessKey)" \
  "$(field tenantId)" "$MEDIA_PORT" 2 # lib.sh's write_config: two workers
rc=$?
kill -0 "$DAEMON_PID" 2>/dev/null || { echo "# irtcd died:"; tail -20 "$T_TMP/daemon.log" | sed 's/^/# /'; rc=1; }
exit $rc
