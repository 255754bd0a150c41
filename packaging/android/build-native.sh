#!/bin/sh
# build-native.sh [OUTDIR] — cross-builds the Android SDK's native library,
# OUTDIR/jni/<abi>/libirtc.so (default OUTDIR: ./android), for the guide's
# four ABIs (§7.2.1: armeabi-v7a, arm64-v8a, x86, x86_64) with the Android
# NDK's clang at API 21: src/jni and the client core (src/client and the
# core, media and sdp files it carries, Makefile.am's libirtcclient_a_SOURCES).
# Then `make android` puts them into dist/iRTCSDK.aar.
#
# The client core needs OpenSSL, libsrtp2 and wslay built for each ABI:
# point IRTC_ANDROID_DEPS at a prefix holding <abi>/include and <abi>/lib
# (static libssl.a, libcrypto.a, libsrtp2.a, libwslay.a).  Without the NDK
# or those, this refuses and writes nothing: never a placeholder .so.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${1:-android}
die() { echo "build-native.sh: $*" >&2; exit 1; }
[ -n "${ANDROID_NDK_HOME:-}" ] || die "ANDROID_NDK_HOME is not set: install the Android NDK (r21 or later) and set ANDROID_NDK_HOME to it. Nothing was built."
tc=$(ls -d "$ANDROID_NDK_HOME"/toolchains/llvm/prebuilt/*/bin 2>/dev/null | head -1)
[ -n "$tc" ] && [ -d "$tc" ] || die "no LLVM toolchain under $ANDROID_NDK_HOME/toolchains/llvm/prebuilt: is ANDROID_NDK_HOME an NDK? Nothing was built."
deps=${IRTC_ANDROID_DEPS:-}
[ -n "$deps" ] || die "IRTC_ANDROID_DEPS is not set: a prefix with <abi>/include and <abi>/lib holding OpenSSL, libsrtp2 and wslay built for Android. Nothing was built."
sources=$(sed -n '/^libirtcclient_a_SOURCES/,/^[^\t]/p' "$src/Makefile.am" | tr ' \t\\' '\n\n\n' | grep '\.c$')
sources="src/jni/irtc_jni.c src/jni/engine.c $sources"
for abi in armeabi-v7a arm64-v8a x86 x86_64; do
  case $abi in
    armeabi-v7a) triple=armv7a-linux-androideabi21 ;;
    arm64-v8a) triple=aarch64-linux-android21 ;;
    x86) triple=i686-linux-android21 ;;
    x86_64) triple=x86_64-linux-android21 ;;
  esac
  [ -f "$deps/$abi/lib/libssl.a" ] || die "$deps/$abi/lib/libssl.a missing (OpenSSL for $abi). Nothing more was built."
  mkdir -p "$out/jni/$abi"
  (cd "$src" && "$tc/clang" --target="$triple" -shared -fPIC -O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
    -Wno-missing-field-initializers -D_GNU_SOURCE -Isrc -I"$deps/$abi/include" $sources \
    -L"$deps/$abi/lib" -lsrtp2 -lwslay -lssl -lcrypto -llog -lm -Wl,--no-undefined -Wl,-soname,libirtc.so \
    -o "$OLDPWD/$out/jni/$abi/libirtc.so")
  echo "built $out/jni/$abi/libirtc.so"
done
