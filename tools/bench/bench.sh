#!/bin/sh
# bench.sh — what `make bench` runs (docs/BENCHMARKS.md says how to read it):
#   srtp          tools/bench/bench_srtp: SRTP per packet and per session,
#                 OpenSSL EVP GCM (srtp_gcm.c) and libsrtp2
#   live meeting audio storm churn
#                 irtc-loadgen against irtcd with ONE media worker
#   live_libsrtp  the live scenario again with IRTC_SRTP_GCM=libsrtp (before/after)
#   live_spread   the live scenario at BENCH_SPREAD_STEPS (300) viewers against
#                 irtcd with TWO media workers on CPUs $BENCH_SPREAD_CPUS (0-1),
#                 media.room_spread_at 0 (the room on one worker) and then
#                 $BENCH_SPREAD_AT (150: spread over both), with each worker's
#                 forwarded pkt/s and CPU (tools/bench/per_worker.py); not in
#                 the default list (the load generator shares a core with it)
#   janus         the live scenario against Debian's Janus 1.1.2 (videoroom, HTTP
#                 transport), event_loops = 1 and its default, side by side
# The server runs pinned to CPU $BENCH_SERVER_CPU (0), irtc-loadgen to
# $BENCH_LOAD_CPU (1).  As root both servers run in a network namespace
# reached over a veth pair (Janus gathers no candidates on lo): 10.212.0.2
# inside, 10.212.0.1 outside; without root irtcd runs on 127.0.0.1 and Janus
# is skipped.  Everything is removed on exit (trap).
#
# Environment: BENCH_SCENARIOS (default: all above), BENCH_QUICK=1 (short
# steps and windows, for a smoke run), BENCH_CHURN_SECONDS (600),
# BENCH_LIVE_STEPS, BENCH_MEET_STEPS, BENCH_AUDIO_STEPS (viewers; rooms of 8),
# BENCH_WINDOW and BENCH_SETTLE (seconds measured per step,
# and waited before: 10 and 3), BENCH_JOIN_RATE (viewers joining per second
# between steps, irtc-loadgen's default 100), BENCH_OUT (directory for the CSV and logs), BENCH_NICE
# (e.g. -15: the servers and irtc-loadgen get that scheduling priority, for a
# machine whose cores other work shares: the wait% column shows how much of
# the time the media worker was runnable but preempted).
# BENCH_RX: where the kernel delivers a datagram into its receiving socket.
#   split (default): on the receiver's core.  RPS on each veth end's receive
#     queue sends the server's datagrams to the load generator's CPU and the
#     load generator's to the server's, as two hosts on a network would: the
#     server pays for what it receives, the load generator for what it
#     receives.  Without it veth's netif_rx runs the receiving half (IP, UDP,
#     the enqueue into each subscriber's socket) on the SENDER's CPU, inside
#     its sendmmsg, and charges it to the sending thread.
#   local: the old behaviour (no RPS), for comparison with earlier figures.
# BENCH_PUBLISHER: paced (default: video paced as a browser sends it, 2.5x
#   its bitrate every 5 ms) or burst (each frame in one burst, as before
#   December 2026's figures say).
set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(pwd)}"
B=$top_builddir
S=$top_srcdir
LG=$B/tools/loadgen/irtc-loadgen
IRTCD=$B/irtcd
SCENARIOS=${BENCH_SCENARIOS:-"srtp live live_libsrtp meeting audio storm churn janus"}
QUICK=${BENCH_QUICK:-0}
SRV_CPU=${BENCH_SERVER_CPU:-0}
LG_CPU=${BENCH_LOAD_CPU:-1}
NICE="nice -n ${BENCH_NICE:-0}"
RX_MODE=${BENCH_RX:-split}
case ${BENCH_PUBLISHER:-paced} in
  paced) PUB_ARG="" ;;
  burst) PUB_ARG="--burst-publisher" ;;
  *) echo "bench: BENCH_PUBLISHER is paced or burst"; exit 1 ;;
esac
NET=${BENCH_NET:-10.212.0}
NS=${BENCH_NS:-irtc-bench}
HIF=${BENCH_NS_IF:-irtc-b}h
NIF=${BENCH_NS_IF:-irtc-b}n
TMP=$(mktemp -d /tmp/irtc-bench-XXXXXX)
OUT=${BENCH_OUT:-$TMP}
CSV=$OUT/bench.csv
SERVER_PID=""
USE_NS=0

if [ "$QUICK" = 1 ]; then
  LIVE_STEPS=${BENCH_LIVE_STEPS:-"10,50"}; WINDOW=4; SETTLE=2; MEET_STEPS="1,2"; AUDIO_STEPS="2,5"
  STORM="--storm 100 --storm-rate 50"; CHURN=${BENCH_CHURN_SECONDS:-40}
else
  LIVE_STEPS=${BENCH_LIVE_STEPS:-"25,50,100,150,200,300,400,600,800"}; WINDOW=10; SETTLE=3
  MEET_STEPS=${BENCH_MEET_STEPS:-"1,2,3,4,6,8,12"}; AUDIO_STEPS=${BENCH_AUDIO_STEPS:-"5,10,20,40,60,80"}; STORM="--storm 500 --storm-rate 50"
  CHURN=${BENCH_CHURN_SECONDS:-600}
fi
WINDOW=${BENCH_WINDOW:-$WINDOW}; SETTLE=${BENCH_SETTLE:-$SETTLE}

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  if [ "$USE_NS" = 1 ]; then
    ip netns del "$NS" 2>/dev/null
    ip link del "$HIF" 2>/dev/null
  fi
  [ -n "${BENCH_OUT:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
  ip netns del "$NS" 2>/dev/null; ip link del "$HIF" 2>/dev/null   # a run killed with -9
  if ip netns add "$NS" && ip link add "$HIF" type veth peer name "$NIF" && ip link set "$NIF" netns "$NS" &&
     ip addr add "$NET.1/24" dev "$HIF" && ip link set "$HIF" up && ip -n "$NS" addr add "$NET.2/24" dev "$NIF" &&
     ip -n "$NS" link set "$NIF" up && ip -n "$NS" link set lo up; then
    USE_NS=1
  fi
fi
cpumask() { printf '%x' $((1 << $1)); }
if [ "$USE_NS" = 1 ]; then
  case $RX_MODE in
  split)
    # The host end receives what the server sends; the namespace end what
    # the load generator sends (ip netns exec mounts that namespace's sysfs).
    echo "$(cpumask "$LG_CPU")" > "/sys/class/net/$HIF/queues/rx-0/rps_cpus" &&
      ip netns exec "$NS" sh -c "echo $(cpumask "$SRV_CPU") > /sys/class/net/$NIF/queues/rx-0/rps_cpus" ||
      { echo "bench: cannot set RPS on the veth pair (BENCH_RX=local measures without it)"; exit 1; } ;;
  local) ;;
  *) echo "bench: BENCH_RX is split or local"; exit 1 ;;
  esac
else
  RX_MODE=local
fi
if [ "$USE_NS" = 1 ]; then
  SRV_IP=$NET.2; LG_IP=$NET.1; RUN_IN="ip netns exec $NS"
else
  SRV_IP=127.0.0.1; LG_IP=127.0.0.1; RUN_IN=""
  echo "# not root (or no ip netns): irtcd on 127.0.0.1, no Janus"
fi

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(uname -r)"
echo "# commit: $(git -C "$S" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$S" diff --quiet 2>/dev/null || echo ' (uncommitted changes)')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share this machine: see docs/BENCHMARKS.md)"
echo "# server pinned to CPU $SRV_CPU, irtc-loadgen to CPU $LG_CPU; server at $SRV_IP, load from $LG_IP; nice ${BENCH_NICE:-0}"
echo "# receive processing (BENCH_RX): $RX_MODE$([ "$RX_MODE" = split ] && echo ": each side's datagrams delivered on the receiver's CPU (RPS on the veth pair)" || echo ": on the sender's CPU, charged to the sending thread")"

# NET_RX softirqs per CPU (where the kernel's receive processing ran), so
# that each run shows which core did the delivery.
net_rx() { awk '$1 == "NET_RX:" { print $'"$((SRV_CPU + 2))"', $'"$((LG_CPU + 2))"' }' /proc/softirqs; }
net_rx_report() { # BEFORE-PAIR
  set -- $1 $(net_rx)
  echo "# NET_RX softirqs during this run: server CPU $SRV_CPU +$(($3 - $1)), load generator CPU $LG_CPU +$(($4 - $2))"
}

HTTPS_PORT=${BENCH_HTTPS_PORT:-28443}
MEDIA_PORT=${BENCH_MEDIA_PORT:-28500}
CFG=$TMP/irtc.yaml
write_cfg() { # WORKERS ROOM-SPREAD-AT
cat > "$CFG" <<EOF
server:
  listen: ["$SRV_IP:$HTTPS_PORT"]
media:
  ips: ["$SRV_IP"]
  port: $MEDIA_PORT
  workers: $1
  room_spread_at: $2
storage:
  db: $TMP/var/irtc.db
  data_dir: $TMP/var
recording:
  nas_base_path: $TMP/nas
log:
  level: warn
limits:
  max_connections_per_source: 4096  # every viewer's WebSocket comes from the one load address
EOF
}
write_cfg 1 0
APP=$("$IRTCD" --config "$CFG" app create bench) || { echo "bench: irtcd app create failed"; exit 1; }
field() { printf '%s' "$APP" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
APP_ID=$(field appId); KEY=$(field accessKey); TENANT=$(field tenantId)

start_irtcd() { # [ENV=VALUE...]
  env "$@" $RUN_IN $NICE taskset -c "$SRV_CPU" "$IRTCD" --config "$CFG" >>"$OUT/irtcd.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -ks -o /dev/null "https://$SRV_IP:$HTTPS_PORT/healthz" && return 0
    sleep 0.1
  done
  echo "bench: irtcd did not start"; tail -5 "$OUT/irtcd.log"; return 1
}

loadgen() { # SCENARIO LABEL [ARGS...]
  sc=$1; label=$2; shift 2
  $NICE taskset -c "$LG_CPU" "$LG" --scenario "$sc" --pid "$SERVER_PID" --host "$SRV_IP" --bind "$LG_IP" \
    --port "$HTTPS_PORT" --media-port "$MEDIA_PORT" --app "$APP_ID" --key "$KEY" --tenant "$TENANT" \
    --window "$WINDOW" --settle "$SETTLE" --csv "$CSV" --label "$label" $PUB_ARG \
    ${BENCH_JOIN_RATE:+--join-rate "$BENCH_JOIN_RATE"} "$@"
}

run_irtcd() { # SCENARIO LABEL ENV [ARGS...]
  sc=$1; label=$2; envv=$3; shift 3
  echo; echo "== $label: $sc against irtcd ($envv)"
  start_irtcd $envv || return 1
  rx0=$(net_rx)
  loadgen "$sc" "$label" "$@"
  net_rx_report "$rx0"
  stop_server
}

janus_run() { # LABEL LOOPS-LINE
  label=$1; loops=$2
  J=$TMP/janus
  rm -rf "$J"; mkdir -p "$J/plugins" "$J/transports" "$J/events" "$J/loggers"
  ln -s /usr/lib/x86_64-linux-gnu/janus/plugins/libjanus_videoroom.so "$J/plugins/"
  ln -s /usr/lib/x86_64-linux-gnu/janus/transports/libjanus_http.so "$J/transports/"
  sed -e "s|@DIR@|$J|g" -e "s|@LOOPS@|$loops|" -e "s|@IFACE@|$NIF|" "$S/tools/bench/janus.jcfg.in" > "$J/janus.jcfg"
  sed -e "s|@PORT@|8088|" -e "s|@IP@|$SRV_IP|" "$S/tools/bench/janus.transport.http.jcfg.in" > "$J/janus.transport.http.jcfg"
  cp "$S/tools/bench/janus.plugin.videoroom.jcfg.in" "$J/janus.plugin.videoroom.jcfg"
  echo; echo "== $label: live against Janus 1.1.2 (${loops:-event loops: Janus default, one thread per handle})"
  $RUN_IN $NICE taskset -c "$SRV_CPU" janus -C "$J/janus.jcfg" -F "$J" -P "$J/plugins" -o >"$OUT/$label.log" 2>&1 &
  SERVER_PID=$!
  up=0
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://$SRV_IP:8088/janus/info" && { up=1; break; }
    sleep 0.1
  done
  if [ $up = 1 ]; then
    rx0=$(net_rx)
    $NICE taskset -c "$LG_CPU" "$LG" --scenario live --pid "$SERVER_PID" --janus "http://$SRV_IP:8088/janus" \
      --bind "$LG_IP" --window "$WINDOW" --settle "$SETTLE" --csv "$CSV" --label "$label" --steps "$LIVE_STEPS" --srtp gcm \
      $PUB_ARG
    net_rx_report "$rx0"
  else
    echo "bench: Janus did not start"; tail -5 "$OUT/$label.log"
  fi
  stop_server
}

for sc in $SCENARIOS; do
  case $sc in
  srtp)
    echo; echo "== SRTP per 1200-byte packet and per session (one thread, CPU $LG_CPU)"
    taskset -c "$LG_CPU" "$B/tools/bench/bench_srtp"
    IRTC_SRTP_GCM=libsrtp taskset -c "$LG_CPU" "$B/tools/bench/bench_srtp" | grep -v AES_CM ;;
  live) run_irtcd live irtcd "IRTC_BENCH=1" --steps "$LIVE_STEPS" --srtp gcm ;;
  live_spread)
    srv_cpu=$SRV_CPU; SRV_CPU=${BENCH_SPREAD_CPUS:-0-1}
    for at in 0 "${BENCH_SPREAD_AT:-150}"; do
      write_cfg 2 "$at"
      label=irtcd-2w-spread$at
      echo; echo "== $label: live against irtcd, 2 workers on CPUs $SRV_CPU, room_spread_at $at"
      start_irtcd IRTC_BENCH=1 || continue
      rm -f "$TMP/sampler.stop"
      /usr/bin/python3 "$S/tools/bench/per_worker.py" "$SERVER_PID" "https://$SRV_IP:$HTTPS_PORT/metrics" \
        "$TMP/sampler.stop" "$WINDOW" >"$OUT/$label.workers" 2>&1 &
      sampler=$!
      loadgen live "$label" --steps "${BENCH_SPREAD_STEPS:-300}" --srtp gcm --media-workers 2
      touch "$TMP/sampler.stop"; wait "$sampler"; cat "$OUT/$label.workers"
      stop_server
    done
    SRV_CPU=$srv_cpu; write_cfg 1 0 ;;
  live_libsrtp) run_irtcd live irtcd-libsrtp "IRTC_SRTP_GCM=libsrtp" --steps "$LIVE_STEPS" --srtp gcm ;;
  meeting) run_irtcd meeting irtcd "IRTC_BENCH=1" --steps "$MEET_STEPS" --video-kbps 1000 ;;
  audio) run_irtcd audio irtcd "IRTC_BENCH=1" --steps "$AUDIO_STEPS" ;;
  storm)
    run_irtcd storm irtcd "IRTC_BENCH=1" $STORM --srtp gcm
    run_irtcd storm irtcd-libsrtp "IRTC_SRTP_GCM=libsrtp" $STORM --srtp gcm ;;
  churn) run_irtcd churn irtcd "IRTC_BENCH=1" --churn-seconds "$CHURN" ;;
  janus)
    if [ "$USE_NS" != 1 ] || ! command -v janus >/dev/null 2>&1; then
      echo; echo "== janus: skipped (needs root for the namespace and Debian's janus: apt-get install janus)"
      continue
    fi
    run_irtcd live irtcd-ns "IRTC_BENCH=1" --steps "$LIVE_STEPS" --srtp gcm
    janus_run janus-1loop "event_loops = 1"
    janus_run janus-default "" ;;
  *) echo "bench: unknown scenario $sc" ;;
  esac
done

if [ -s "$CSV" ]; then
  echo; echo "== side by side (live, 720p publisher -> N subscribers; CPU of the whole server process)"
  /usr/bin/python3 "$S/tools/bench/side_by_side.py" "$CSV"
fi
