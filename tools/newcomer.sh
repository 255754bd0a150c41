#!/bin/sh
# README command 1, exactly as README.md writes it (its first ```sh block),
# run the way a newcomer runs it, then stopped once it serves the demo page:
# the build, the start of irtcd and https://localhost:8443/ are what it
# proves.  .ci/run runs it before README command 2 (tools/test.sh) in CI's
# fresh clone, so the two commands are tried in that order on every run;
# command 1 builds in build/ and command 2 in build-gcc/ and build-clang/, so
# either order works, repeatedly, in one checkout.
#
#   sh tools/newcomer.sh          # as root (command 1 installs packages)
#
# Port 8443 must be free (it is command 1's): an answer there before the
# command started would prove nothing, so the script refuses to start.
# Exit 0 when the page answered with the demo meeting page, 1 otherwise;
# the command's output is in build/newcomer.log.  Bounded: 40 minutes.
set -eu
cd "$(dirname "$0")/.."
URL=https://localhost:8443/
LIMIT_S=${NEWCOMER_LIMIT_S:-2400}

cmd=$(awk '/^```sh$/ { n++; next } /^```$/ { next } n == 1 { print; exit }' README.md)
[ -n "$cmd" ] || { echo "newcomer: no README command 1 found" >&2; exit 1; }
if curl -ks -o /dev/null --max-time 5 "$URL"; then
  echo "newcomer: something already answers $URL; stop it first" >&2
  exit 1
fi
mkdir -p build
log=build/newcomer.log
echo "newcomer: README command 1: $cmd"
# Its own session, so the script stops exactly what it started (sh, make,
# irtcd) by process group, and nothing else.
setsid sh -c "$cmd" </dev/null >"$log" 2>&1 &
pid=$!
stop() { kill -TERM "-$pid" 2>/dev/null || true; }
trap stop EXIT INT TERM

status=1
start=$(date +%s)
page=build/newcomer-page.html
while [ $(($(date +%s) - start)) -lt "$LIMIT_S" ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "newcomer: command 1 ended before the demo page answered:" >&2
    tail -n 40 "$log" >&2
    break
  fi
  if curl -ksf -o "$page" --max-time 5 "$URL"; then
    if grep -qi 'isdprtc' "$page"; then
      echo "newcomer: $URL serves the demo page after $(($(date +%s) - start)) s"
      status=0
    else
      echo "newcomer: $URL answered, but not with the demo page" >&2
    fi
    break
  fi
  sleep 2
done
[ "$status" = 0 ] || [ $(($(date +%s) - start)) -lt "$LIMIT_S" ] || echo "newcomer: no answer within $LIMIT_S s" >&2
stop
trap - EXIT INT TERM
# irtcd stops on SIGTERM within seconds; wait for the group to be gone so
# port 8443 is free for whoever comes next.
i=0
while kill -0 "-$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL "-$pid" 2>/dev/null || true
rm -f "$page"
exit $status
