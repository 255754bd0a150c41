#!/bin/sh
# Installs what the test suite needs on Debian 12 (run as root), on top of the
# build dependencies: real clients and checkers, never mocks.
#   chromium + playwright-core (npm, driving Debian's browser; no browser download)
#   python3-aiortc (a real non-browser WebRTC peer), python3-websockets
#   ffmpeg/ffprobe (recordings), curl, sqlite3
#   nftables (netlab: random loss and blocks inside test network namespaces)
#   coturn (a real TURN server for the TURN test)
#   GStreamer webrtcbin (libnice) from python3-gst-1.0: the third real client
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/install-build-deps.sh"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends \
  clang curl python3 python3-yaml procps iproute2 sqlite3 ffmpeg \
  chromium python3-aiortc python3-websockets fonts-dejavu-core nftables
# ICE-TCP/TURN test (tests/e2e/test_reach.js): Debian's coturn, run by the
# test itself as a plain process (its service is not needed).
apt-get install -y -q --no-install-recommends coturn
# The Android SDK (make android, make check-android): a JDK (jni.h, javac
# --release 8, jar, javap, jdeps) and JUnit 5's console launcher.
apt-get install -y -q --no-install-recommends default-jdk-headless junit5
# Cluster mode's test (make check-cluster): a real Redis on loopback.
apt-get install -y -q --no-install-recommends redis-server
apt-get install -y -q --no-install-recommends \
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice \
  python3-gst-1.0 gir1.2-gst-plugins-bad-1.0
# docs/openapi.yaml checked by openapi-spec-validator where Debian ships it
# (13 does, 12 does not: tests/integration/oas.py checks it there).
if apt-cache show python3-openapi-spec-validator >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends python3-openapi-spec-validator
fi
# Packaging (make deb / make rpm / make check-packaging, issue #7): debhelper
# and dch (devscripts) build the .deb, lintian checks it (man-db and groff-base
# for its man page check), rpm builds the .rpm, debootstrap makes the clean
# Debian root the .deb is installed into, systemd-nspawn (systemd-container)
# boots it to run the unit under systemd.
apt-get install -y -q --no-install-recommends \
  debhelper devscripts lintian rpm debootstrap fakeroot dpkg-dev man-db groff-base \
  systemd-container
# The machine image may already carry a Node.js with its own npm (which
# conflicts with Debian's npm package): install Debian's only when none is there.
if ! command -v npm >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends nodejs npm
fi
# playwright-core drives /usr/bin/chromium; package-lock.json pins it.
if [ -f "$here/../tests/e2e/package.json" ]; then
  (cd "$here/../tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi
# esbuild and typescript: `make sdk` and the SDK bundle test (tools/sdk/package-lock.json).
if [ -f "$here/sdk/package.json" ]; then
  (cd "$here/sdk" && npm ci --no-audit --no-fund --loglevel=error)
fi
