#!/bin/sh
# build-deb.sh — builds the irtc .deb with debhelper (packaging/deb becomes
# debian/) from a `make dist` tarball or an unpacked source tree.  `make deb`
# calls it; tests/packaging/test_deb.sh calls it twice (the upgrade test).
#
#   build-deb.sh [-o OUTDIR] [-w WORKDIR] [-v DEB_VERSION] [-n] SOURCE
#     -o  where the .deb files are copied (default: ./dist)
#     -w  scratch directory (default: build-pkg/ beside packaging/, git-ignored)
#     -v  package version; adds a packaging/deb/changelog entry in the build
#         copy only (e.g. 0.1.0-2, or 0.1.0-1+local1 for a local rebuild)
#     -n  skip `make check` (DEB_BUILD_OPTIONS=nocheck)
# Prints the path of the built irtc_*.deb on its last line.
set -eu
# Called from make (make deb, make check-packaging): the package build must not
# inherit the caller's make flags (TESTS=... would recurse into this test).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES TESTS TEST_LOGS
here=$(cd "$(dirname "$0")" && pwd)
out=$PWD/dist
work=$here/../build-pkg
version=
nocheck=
while getopts o:w:v:n opt; do
    case $opt in
    o) out=$OPTARG ;;
    w) work=$OPTARG ;;
    v) version=$OPTARG ;;
    n) nocheck=1 ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-o OUTDIR] [-w WORKDIR] [-v DEB_VERSION] [-n] SOURCE" >&2; exit 2; }
src=$1
for tool in dpkg-buildpackage dh dch; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "build-deb.sh: $tool not found: sh tools/install-test-deps.sh (debhelper, devscripts)" >&2
        exit 1
    }
done

mkdir -p "$out" "$work"
out=$(cd "$out" && pwd)
build=$(mktemp -d "$(cd "$work" && pwd)/deb-XXXXXX")
if [ -d "$src" ]; then
    cp -a "$src" "$build/src"
else
    mkdir "$build/src"
    tar -xzf "$src" -C "$build/src" --strip-components=1
fi
cd "$build/src"
rm -rf debian
cp -a packaging/deb debian

upstream=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' configure.ac)
if [ -n "$version" ]; then
    DEBEMAIL="irtc maintainers <irtc@localhost.localdomain>" dch --changelog debian/changelog \
        --newversion "$version" --distribution bookworm --force-distribution \
        "Rebuild of upstream $upstream as $version." >/dev/null 2>&1
fi
debversion=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "${debversion%-*}" != "$upstream" ] && [ -z "$version" ]; then
    echo "build-deb.sh: packaging/deb/changelog is at $debversion but configure.ac at $upstream:" >&2
    echo "  add an entry: dch --changelog packaging/deb/changelog -v $upstream-1 (and bump packaging/rpm/irtc.spec)" >&2
    exit 1
fi

opts="parallel=$(nproc)"
[ -z "$nocheck" ] || opts="$opts nocheck"
echo "build-deb.sh: building irtc $debversion in $build/src (DEB_BUILD_OPTIONS=$opts)"
DEB_BUILD_OPTIONS="$opts" dpkg-buildpackage -b -us -uc
cd "$build"
for f in ./*.deb; do cp "$f" "$out/"; done
cd /
[ -n "${IRTC_PKG_KEEP:-}" ] || rm -rf "$build"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
echo "$out/irtc_${debversion#*:}_$arch.deb"
