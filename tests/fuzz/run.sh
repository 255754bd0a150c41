#!/bin/sh
# run.sh TARGET CORPUS-ROOT SECONDS — runs one libFuzzer target (make
# check-fuzz calls it, several at once).  The committed corpus
# CORPUS-ROOT/NAME is read, never written; inputs libFuzzer finds go to
# tests/fuzz/work/NAME, a crash to tests/fuzz/crash-NAME-*.  Prints one TAP-like
# line and the tail of the log on failure; exits non-zero on a crash.
set -u
target=$1 corpus_root=$2 seconds=$3
name=${target##*/}
name=${name#fuzz_}
work=tests/fuzz/work/$name
mkdir -p "$work"
log=tests/fuzz/$name.log
seeds=$corpus_root/$name
[ -d "$seeds" ] || seeds=
# -timeout: one input must not take longer; -rss_limit_mb: leaks and
# runaway allocations fail the run instead of slowing the machine.
if "./$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="tests/fuzz/crash-$name-" "$work" $seeds >"$log" 2>&1; then
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "ok - fuzz_$name: ${runs:-?} inputs in ${seconds} s, no crash"
else
  echo "not ok - fuzz_$name: crashed (input: $(ls tests/fuzz/crash-"$name"-* 2>/dev/null | head -1))"
  tail -40 "$log"
  exit 1
fi
