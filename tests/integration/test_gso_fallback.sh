#!/bin/sh
# test_gso_fallback.sh — UDP GSO's runtime fallback (docs/ARCHITECTURE.md,
# "The send path as built"): irtcd and irtc-loadgen run in a network
# namespace of their own whose loopback has a 1,100-byte MTU, so the kernel
# refuses a GSO message of 1,200-byte video segments (EMSGSIZE;
# EINVAL on older kernels).  The worker
# must resend those datagrams one by one, stop using GSO, count it once in
# irtc_media_tx_gso_fallbacks_total, and the subscribers must get their
# media (IP fragments on this loopback).  Needs root (network namespace);
# skips without.  Every wait is bounded.
. "$top_srcdir/tests/integration/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
  echo "1..0 # SKIP needs root and ip(8) for a network namespace"; exit 0
fi
NS=irtc-gso-$$
ip netns add "$NS" || { echo "1..0 # SKIP cannot create a network namespace"; exit 0; }
lib_cleanup() { cleanup; ip netns del "$NS" 2>/dev/null; }
trap lib_cleanup EXIT
ip -n "$NS" link set lo mtu 1100 up
IN="ip netns exec $NS"

HTTPS_PORT=28443
MEDIA_PORT=28500
write_config "$T_TMP/irtc.yaml" "$HTTPS_PORT" "$MEDIA_PORT"
sed -i 's/level: info/level: warn/' "$T_TMP/irtc.yaml"
APP=$("$IRTCD" --config "$T_TMP/irtc.yaml" app create gso)
field() { printf '%s' "$APP" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

$IN "$IRTCD" --config "$T_TMP/irtc.yaml" >>"$T_TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
up=1
for _ in $(seq 1 200); do
  $IN curl -ks -o /dev/null "https://127.0.0.1:$HTTPS_PORT/healthz" && { up=0; break; }
  kill -0 "$DAEMON_PID" 2>/dev/null || break
  sleep 0.1
done
ok $up "irtcd starts in a namespace whose loopback MTU is 1100"
[ $up = 0 ] || { tail -20 "$T_TMP/daemon.log" | sed 's/^/# /'; done_testing; exit 1; }

metric() { # sum of one counter over the workers
  $IN curl -ks "https://127.0.0.1:$HTTPS_PORT/metrics" | awk -v m="$1" '$1 ~ "^"m"[{ ]" || $1 == m { s += $2 } END { printf "%d\n", s }'
}

$IN timeout 60 "$top_builddir/tools/loadgen/irtc-loadgen" --scenario live --pid "$DAEMON_PID" --host 127.0.0.1 \
  --port "$HTTPS_PORT" --media-port "$MEDIA_PORT" --media-workers 2 --app "$(field appId)" --key "$(field accessKey)" \
  --tenant "$(field tenantId)" --steps 10 --settle 2 --window 5 >"$T_TMP/loadgen.log" 2>&1
rc=$?
line=$(grep -E "^live-1 " "$T_TMP/loadgen.log")
sed 's/^/# /' "$T_TMP/loadgen.log" | grep -E "^# (live|# join)"
ok $rc "irtc-loadgen ran 10 subscribers (rc $rc)"
fb=$(metric irtc_media_tx_gso_fallbacks_total); tx=$(metric irtc_media_tx_packets_total); err=$(metric irtc_media_tx_errors_total)
diag "fallbacks $fb, datagrams sent $tx, send errors $err"
ok $([ "$fb" -ge 1 ] && [ "$fb" -le 2 ] && echo 0 || echo 1) "the kernel refused GSO and the worker fell back once ($fb)"
rcv=$(printf '%s' "$line" | awk '{print $4}'); loss=$(printf '%s' "$line" | awk '{print $12}')
ok $([ -n "$rcv" ] && [ "${rcv%.*}" -gt 1000 ] && echo 0 || echo 1) "the subscribers received media after the fallback (${rcv:-none} pkt/s)"
ok $(/usr/bin/python3 -c "import sys; sys.exit(0 if float(sys.argv[1] or 100) < 1.0 else 1)" "$loss" && echo 0 || echo 1) \
  "no loss from the fallback (${loss:-?} %)"
kill -0 "$DAEMON_PID" 2>/dev/null; ok $? "irtcd still runs"
done_testing
