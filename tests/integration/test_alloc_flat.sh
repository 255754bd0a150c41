#!/bin/sh
# test_alloc_flat.sh — the packet path allocates nothing (issue 12): irtcd
# runs with tests/integration/alloccount.so preloaded, which counts the
# allocations its media worker threads make; irtc-loadgen (the C client
# core: real ICE, DTLS-SRTP, RTCP over UDP on 127.0.0.1) runs one 2.5 Mbit/s
# 720p-shaped publisher to 150 subscribers.  Once forwarding is steady the test
# reads the worker's allocation count, lets irtcd forward >= 1,000,000
# packets (bounded: 120 s from the start), and reads it again: it must not have grown with
# the packets (at most one allocation per 20,000 forwarded; timers, RTCP
# and events may allocate now and then, a per-packet allocation makes
# ~1,000,000).  Skips on a sanitizer build (its allocator cannot be
# interposed).  Every wait is bounded.  ALLOC_FLAT_SPREAD=N sets
# media.room_spread_at (test_alloc_flat_pipe.sh: the room spans both
# workers, and the pipe between them is on the packet path too).
. "$top_srcdir/tests/integration/lib.sh"

SO="$top_builddir/tests/integration/alloccount.so"
LG="$top_builddir/tools/loadgen/irtc-loadgen"
if ldd "$IRTCD" 2>/dev/null | grep -q -e libasan -e libtsan -e libubsan; then
  echo "1..0 # SKIP sanitizer build: its allocator cannot be interposed"; exit 0
fi
PACKETS=${ALLOC_FLAT_PACKETS:-1000000}

HTTPS_PORT=$(free_port)
MEDIA_PORT=$(free_port 2)
write_config "$T_TMP/irtc.yaml" "$HTTPS_PORT" "$MEDIA_PORT"
sed -i 's/level: info/level: warn/' "$T_TMP/irtc.yaml"
SPREAD=${ALLOC_FLAT_SPREAD:-0}
sed -i "s/^  workers: 2\$/  workers: 2\n  room_spread_at: $SPREAD/" "$T_TMP/irtc.yaml"
COUNTS="$T_TMP/alloc.counts"
head -c 4096 /dev/zero > "$COUNTS"
APP=$("$IRTCD" --config "$T_TMP/irtc.yaml" app create allocflat)
field() { printf '%s' "$APP" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

LD_PRELOAD="$SO" IRTC_ALLOC_COUNT_FILE="$COUNTS" start_daemon "$T_TMP/irtc.yaml"; up=$?
ok $up "irtcd starts with the allocation counter preloaded"
[ $up = 0 ] || { tail -20 "$T_TMP/daemon.log" | sed 's/^/# /'; done_testing; exit 1; }

"$LG" --scenario live --pid "$DAEMON_PID" --host 127.0.0.1 --port "$HTTPS_PORT" --media-port "$MEDIA_PORT" \
  --media-workers 2 --app "$(field appId)" --key "$(field accessKey)" --tenant "$(field tenantId)" \
  --steps 150 --settle 2 --window 150 >"$T_TMP/loadgen.log" 2>&1 &
LG_PID=$!

allocs() { od -An -tu8 -j0 -N8 "$COUNTS" | tr -d ' '; }
tx() { # packets the media workers sent, all workers
  curl -ks "https://127.0.0.1:$HTTPS_PORT/metrics" | awk '/^irtc_media_tx_packets_total/ { s += $2 } END { printf "%d\n", s }'
}

# Steady: every subscriber set up and media flowing (>= 100,000 sent), <= 60 s.
t0=$(date +%s)
while [ "$(tx)" -lt 100000 ] && [ $(( $(date +%s) - t0 )) -lt 60 ] && kill -0 "$LG_PID" 2>/dev/null; do sleep 0.5; done
A0=$(allocs); T0=$(tx); S0=$(date +%s%N)
ok $([ "$T0" -ge 100000 ] && echo 0 || echo 1) "forwarding is steady ($T0 packets sent)"
ok $([ "$A0" -gt 0 ] && echo 0 || echo 1) "the counter sees the media worker's allocations ($A0 so far: transports, sessions)"

# >= PACKETS more, within 120 s of the start (irtc-loadgen keeps going for 150 s).
while [ $(( $(tx) - T0 )) -lt "$PACKETS" ] && [ $(( $(date +%s) - t0 )) -lt 120 ] && kill -0 "$LG_PID" 2>/dev/null; do
  sleep 0.5
done
A1=$(allocs); T1=$(tx); S1=$(date +%s%N)
if [ "$SPREAD" -gt 0 ]; then
  M=$(curl -ks "https://127.0.0.1:$HTTPS_PORT/metrics")
  piped=$(printf '%s\n' "$M" | awk '/^irtc_media_pipe_rx_total/ { s += $2 } END { printf "%d\n", s }')
  least=$(printf '%s\n' "$M" | awk '/^irtc_media_tx_packets_total/ { n++; s += $2; if (n == 1 || $2 < m) m = $2 }
    END { printf "%d\n", s ? m * 100 / s : 0 }')
  ok $([ "$piped" -ge 2000 ] && [ "$least" -ge 20 ] && echo 0 || echo 1) \
    "the room spans both workers: $piped packets through the pipe, the lesser worker sent $least % of the datagrams"
fi
fwd=$((T1 - T0)); grown=$((A1 - A0))
diag "forwarded $fwd packets in $(( (S1 - S0) / 1000000 )) ms; media worker allocations $A0 -> $A1 (+$grown)"
ok $([ "$fwd" -ge "$PACKETS" ] && echo 0 || echo 1) "irtcd forwarded >= $PACKETS packets ($fwd)"
ok $([ $((grown * 20000)) -le "$fwd" ] && echo 0 || echo 1) \
  "the media worker's allocation count stayed flat: +$grown over $fwd packets (<= 1 per 20,000)"

kill "$LG_PID" 2>/dev/null; wait "$LG_PID" 2>/dev/null
kill -0 "$DAEMON_PID" 2>/dev/null; ok $? "irtcd still runs"
stop_daemon
ok $([ "$STOP_RC" = 0 ] && echo 0 || echo 1) "irtcd stops cleanly (rc $STOP_RC)"
grep -E "^live|join failures" "$T_TMP/loadgen.log" | sed 's/^/# /'
done_testing
