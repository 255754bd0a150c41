# lib.sh — shared by the integration tests (sourced): TAP output, free ports,
# a daemon started for real from the build tree on 127.0.0.1, and cleanup.
# Every wait is bounded.

: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(pwd)}"
IRTCD="$top_builddir/irtcd"
T_N=0
T_FAILED=0

ok() { # ok CONDITION-EXIT-CODE DESCRIPTION
  T_N=$((T_N + 1))
  if [ "$1" -eq 0 ]; then echo "ok $T_N - $2"; else echo "not ok $T_N - $2"; T_FAILED=$((T_FAILED + 1)); fi
}
check() { # check DESCRIPTION CMD...  (passes when CMD exits 0)
  desc=$1; shift
  if "$@" >/dev/null 2>&1; then ok 0 "$desc"; else ok 1 "$desc"; echo "#   command failed: $*"; fi
}
done_testing() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; }
diag() { echo "# $*"; }

free_port() { # free_port [UDP-RANGE-LEN]: a TCP (and UDP range) port free on 127.0.0.1
  /usr/bin/python3 -B -c 'import sys; sys.path.insert(0, sys.argv[1]); import irtctest; print(irtctest.free_port(int(sys.argv[2])))' \
    "$top_srcdir/tests/integration" "${1:-1}"
}

T_TMP=$(mktemp -d /tmp/irtc-it-XXXXXX)
DAEMON_PID=""
cleanup() {
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then kill -9 "$DAEMON_PID" 2>/dev/null; fi
  rm -rf "$T_TMP"
}
trap cleanup EXIT

# write_config FILE HTTPS-PORT MEDIA-PORT [extra yaml lines...]
write_config() {
  f=$1; hp=$2; mp=$3; shift 3
  {
    echo "server:"
    echo "  listen: [\"127.0.0.1:$hp\"]"
    echo "  demo_token: true"
    echo "media:"
    echo "  ips: [\"127.0.0.1\"]"
    echo "  port: $mp"
    echo "  workers: 2"
    echo "storage:"
    echo "  db: $T_TMP/var/irtc.db"
    echo "  data_dir: $T_TMP/var"
    echo "recording:"
    echo "  nas_base_path: $T_TMP/nas"
    echo "log:"
    echo "  level: info"
    for l in "$@"; do echo "$l"; done
  } > "$f"
}

# start_daemon CONFIG: starts irtcd, waits (<= 20 s, times IRTC_TEST_SLOW) for /healthz 200.
start_daemon() {
  "$IRTCD" --config "$1" >>"$T_TMP/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 $((200 * ${IRTC_TEST_SLOW:-1}))); do
    if curl -ks -o /dev/null -w '%{http_code}' "https://127.0.0.1:$HTTPS_PORT/healthz" 2>/dev/null | grep -q 200; then
      return 0
    fi
    kill -0 "$DAEMON_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# stop_daemon: SIGTERM, then waits for the exit; sets STOP_RC and STOP_MS.
# A watchdog SIGKILLs a daemon that has not stopped after 10 s.
stop_daemon() {
  t0=$(date +%s%N)
  kill -TERM "$DAEMON_PID" 2>/dev/null
  ( sleep 10; kill -9 "$DAEMON_PID" 2>/dev/null ) &
  watchdog=$!
  wait "$DAEMON_PID"; STOP_RC=$?
  kill "$watchdog" 2>/dev/null
  STOP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  DAEMON_PID=""
}

api() { curl -ks --max-time 10 "$@"; }
