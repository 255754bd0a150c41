#!/bin/sh
# README command 2: install test dependencies, build with -Werror under both
# gcc (build-gcc/) and clang (build-clang/), and run the whole suite in
# build-gcc/ (make check, make check-e2e; in CI also the fuzzers, the
# sanitizer build and the packages).  .ci/run calls this.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then sh tools/install-test-deps.sh; fi
autoreconf -fi
jobs=$(nproc)
# Every build is out of the source tree (README command 1 builds in build/),
# so the two README commands work in either order in one checkout.  A tree
# configured in place (by hand, or by an older README) stops any
# out-of-tree configure ("source directory already configured"): clean it.
if [ -f config.status ]; then make distclean >/dev/null 2>&1 || rm -f config.status; fi

# clang build: warnings are errors, nothing else (the suite runs once, below).
rm -rf build-clang && mkdir build-clang
(cd build-clang && ../configure -q CC=clang --enable-werror && make -s -j"$jobs" irtcd)

# gcc build in build-gcc/: the suite.
mkdir -p build-gcc
cd build-gcc
../configure -q CC=gcc --enable-werror
make -s -j"$jobs"
status=0
failed=""
# Each step runs whatever the ones before did; a failing step is named in
# the last lines (CI shows only the tail): a step can fail without a
# failing test result (a sanitizer report, a fuzzer crash, a build error).
step() { "$@" || { status=$?; failed="$failed
  step failed (exit $status): $*"; }; }
step make -j"$jobs" check
# The Android SDK: dist/iRTCSDK.aar and its JUnit suite against irtcd (issue 13).
step make check-android
# Cluster mode: redis-server and three nodes on loopback (issue 15).
step make check-cluster
# Real browsers, one test at a time, once nothing else competes for the cores.
step make check-e2e
# Fuzzers (every target FUZZ_SECONDS on its corpus, clang + libFuzzer,
# ~6 min with the build) and the whole suite again against an ASan + UBSan
# build (~15 min), tests/fuzz/local.mk; in CI or when asked.
if [ "${CI:-}" = true ] || [ "${IRTC_TEST_HARDEN:-}" = 1 ]; then
  step make check-fuzz
  step make check-sanitize
fi
# Packaging (issue #7): build the .deb and .rpm, install the .deb into a
# debootstrap chroot and upgrade it (~2-3 min); in CI or when asked.
rm -f tests/packaging/*.log tests/packaging/*.trs
if [ "${CI:-}" = true ] || [ "${IRTC_TEST_PACKAGING:-}" = 1 ]; then
  step make check-packaging
fi
for f in tests/unit/*/*.log tests/structure/*.log tests/integration/*.log tests/vectors/*.log tests/e2e/*.log tests/sdk/*.log tests/packaging/*.log tests/android/*.log; do
  [ -f "$f" ] || continue
  case "$f" in *test-suite.log) continue;; esac
  if grep -q '^:test-result: \(FAIL\|ERROR\)' "${f%.log}.trs" 2>/dev/null; then echo "==== $f"; cat "$f"; fi
done
pass=$(cat tests/*/*.trs tests/unit/*/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
fail=$(cat tests/*/*.trs tests/unit/*/*.trs 2>/dev/null | grep -c '^:test-result: \(FAIL\|ERROR\|XPASS\)' || true)
skip=$(cat tests/*/*.trs tests/unit/*/*.trs 2>/dev/null | grep -c '^:test-result: SKIP' || true)
echo "$pass passed, $fail failed, $skip skipped"
if [ -n "$failed" ]; then
  echo "tools/test.sh:$failed"
  # The sanitizer build's failures, again at the end (its own log is long).
  for t in sanitize/tests/*/*.trs sanitize/tests/unit/*/*.trs; do
    [ -f "$t" ] || continue
    grep -q '^:test-result: \(FAIL\|ERROR\)' "$t" && echo "  sanitize: $(grep -c '^:test-result: \(FAIL\|ERROR\)' "$t") failing in ${t%.trs}"
  done
  for r in sanitize/reports/*; do [ -f "$r" ] && { echo "  sanitizer report $r:"; head -n 25 "$r"; }; done
fi
exit $status
