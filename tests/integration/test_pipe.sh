#!/bin/sh
# test_pipe.sh — a room spanning media workers (issue 12): irtcd with two
# workers and media.room_spread_at 3; tests/integration/client_pipe (the C
# client core: real ICE, DTLS-SRTP, RTCP over UDP on 127.0.0.1) runs one
# publisher to 8 subscribers, 5 of them placed on the other worker and fed
# through a pipe; then again with a simulcast publisher (three encodings).  The client checks what each subscriber gets (loss, a
# keyframe after a remote PLI, the pipes closing and reopening); this
# script checks /metrics at its snapshots: both workers forward, the pipe
# carried packets, and once everyone left no pipe, transport or
# connection remains.  Every wait is bounded.
. "$top_srcdir/tests/integration/lib.sh"

HTTPS_PORT=$(free_port)
MEDIA_PORT=$(free_port 2)
write_config "$T_TMP/irtc.yaml" "$HTTPS_PORT" "$MEDIA_PORT"
sed -i 's/^  workers: 2$/  workers: 2\n  room_spread_at: 3/' "$T_TMP/irtc.yaml"
if ! start_daemon "$T_TMP/irtc.yaml"; then
  echo "not ok 1 - irtcd starts"; sed 's/^/# /' "$T_TMP/daemon.log" | tail -20; echo "1..1"; exit 1
fi
APP=$("$IRTCD" --config "$T_TMP/irtc.yaml" app create pipetest)
field() { printf '%s' "$APP" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# The client runs $PIPE_SNAPSHOT NAME at named points: keep /metrics then.
SNAP="$T_TMP/snap.sh"
printf '#!/bin/sh\ncurl -ks "https://127.0.0.1:%s/metrics" > "%s/metrics.$1"\n' "$HTTPS_PORT" "$T_TMP" > "$SNAP"
chmod +x "$SNAP"
export PIPE_SNAPSHOT="$SNAP"
# run_client [SIMULCAST]: the client's TAP lines, renumbered after ours.
run_client() {
  "$top_builddir/tests/integration/client_pipe" 127.0.0.1 "$HTTPS_PORT" "$(field appId)" "$(field accessKey)" \
    "$(field tenantId)" "$MEDIA_PORT" 2 3 8 "$@" > "$T_TMP/client.tap"
  crc=$?
  awk -v off="$T_N" '/^(not )?ok [0-9]+/ { n = ($1 == "not") ? 3 : 2; $n = $n + off } !/^1\.\./' "$T_TMP/client.tap"
  T_N=$((T_N + $(grep -c -E '^(not )?ok ' "$T_TMP/client.tap")))
  T_FAILED=$((T_FAILED + $(grep -c '^not ok ' "$T_TMP/client.tap")))
  [ "$crc" = 0 ] || [ "$(grep -c '^not ok ' "$T_TMP/client.tap")" -gt 0 ] || T_FAILED=$((T_FAILED + 1))
}
run_client

# metric NAME SNAPSHOT [LABELS]: the sum of NAME's samples whose labels contain LABELS
metric() {
  awk -v n="$1" -v l="${3:-}" '$1 ~ "^"n"({|$)" && index($1, l) { s += $2 } END { printf "%d\n", s }' "$T_TMP/metrics.$2" 2>/dev/null
}
for w in 0 1; do
  tx=$(metric irtc_media_tx_packets_total flowing "worker=\"$w\"")
  ok $([ "${tx:-0}" -ge 1000 ] && echo 0 || echo 1) "worker $w forwards ($tx datagrams sent)"
done
ok $([ "$(metric irtc_media_pipes_out flowing)" = 2 ] && [ "$(metric irtc_media_pipes_in flowing)" = 2 ] \
  && echo 0 || echo 1) "two pipes (audio, video) while spread"
rx=$(metric irtc_media_pipe_rx_total flowing)
ok $([ "${rx:-0}" -ge 500 ] && echo 0 || echo 1) "the other worker took packets from the pipes ($rx)"
ok $([ "$(metric irtc_media_pipe_dropped_total flowing)" = 0 ] && echo 0 || echo 1) "no packet dropped at a full pipe"
ok $([ "$(metric irtc_media_pipes_out remote-gone)" = 0 ] && [ "$(metric irtc_media_pipes_in remote-gone)" = 0 ] \
  && echo 0 || echo 1) "the pipes close when the other worker's last subscriber leaves"
ok $([ "$(metric irtc_media_pipes_in reopened)" = 2 ] && echo 0 || echo 1) "a new spread subscriber reopens them"
left=$(( $(metric irtc_media_pipes_out empty) + $(metric irtc_media_pipes_in empty) + $(metric irtc_media_transports empty) ))
ok $([ -s "$T_TMP/metrics.empty" ] && [ "$left" = 0 ] && echo 0 || echo 1) \
  "after everyone left: no pipe and no transport on any worker ($left)"

# Again with a simulcast publisher: the pipe carries its three encodings.
rm -f "$T_TMP"/metrics.*
run_client 3
left=$(( $(metric irtc_media_pipes_out empty) + $(metric irtc_media_pipes_in empty) + $(metric irtc_media_transports empty) ))
ok $([ -s "$T_TMP/metrics.empty" ] && [ "$left" = 0 ] && echo 0 || echo 1) \
  "simulcast: after everyone left, no pipe and no transport ($left)"
kill -0 "$DAEMON_PID" 2>/dev/null; ok $? "irtcd still runs"
stop_daemon
ok $([ "$STOP_RC" = 0 ] && echo 0 || echo 1) "irtcd stops cleanly (rc $STOP_RC)"
grep -E "spans worker|ERROR|error" "$T_TMP/daemon.log" | head -5 | sed 's/^/# /'
done_testing
