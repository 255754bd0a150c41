#!/bin/sh
# Installs everything needed to build irtcd on Debian 12 (run as root).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  build-essential autoconf automake libtool pkg-config ca-certificates openssl \
  libh2o-evloop-dev libwslay-dev libssl-dev libsrtp2-dev libusrsctp-dev \
  libsqlite3-dev libyaml-dev libhiredis-dev \
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
