#!/bin/sh
# Installs what the test suite needs on Debian 12 (run as root), on top of the
# build dependencies: real clients and checkers, never mocks.
set -eu
here=$(dirname "$0")
sh "$here/install-build-deps.sh"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends \
  clang curl python3 python3-yaml procps iproute2 sqlite3 ffmpeg
