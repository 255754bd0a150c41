#!/bin/sh
# build-rpm.sh — builds the irtc .rpm from a `make dist` tarball with
# packaging/rpm/irtc.spec.  `make rpm` calls it.
#
#   build-rpm.sh [-o OUTDIR] [-w WORKDIR] TARBALL
#
# On Debian (no RPM database of build dependencies) it passes --nodeps and
# _build_id_links=none: the .rpm then links Debian's sonames and is only good
# for inspection (rpm -qpl, rpm -qp --scripts).  On an RPM distribution it
# builds a real package (dependencies checked).  Prints the .rpm path last.
set -eu
# Called from make (make deb, make check-packaging): the package build must not
# inherit the caller's make flags (TESTS=... would recurse into this test).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES TESTS TEST_LOGS
here=$(cd "$(dirname "$0")" && pwd)
out=$PWD/dist
work=$here/../build-pkg
while getopts o:w: opt; do
    case $opt in
    o) out=$OPTARG ;;
    w) work=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-o OUTDIR] [-w WORKDIR] TARBALL" >&2; exit 2; }
command -v rpmbuild >/dev/null 2>&1 || { echo "build-rpm.sh: rpmbuild not found (apt-get install rpm)" >&2; exit 1; }
tarball=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
spec=$here/rpm/irtc.spec
specver=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
case "$(basename "$tarball")" in
irtc-"$specver".tar.gz) ;;
*)
    echo "build-rpm.sh: $spec has Version $specver but the tarball is $(basename "$tarball"): bump Version (and %changelog)" >&2
    exit 1
    ;;
esac
mkdir -p "$out" "$work"
out=$(cd "$out" && pwd)
top=$(cd "$work" && pwd)/rpmbuild
rm -rf "$top"
mkdir -p "$top/SOURCES"
cp "$tarball" "$top/SOURCES/"
set -- --define "_topdir $top"
if [ -f /etc/debian_version ]; then
    echo "build-rpm.sh: Debian: rpmbuild --nodeps, _build_id_links none (this .rpm links Debian's sonames)"
    set -- "$@" --nodeps --define "_build_id_links none" --without check --load "$here/rpm/macros.debian"
fi
rpmbuild -bb "$@" "$spec"
rpm=$(find "$top/RPMS" -name "irtc-$specver-*.rpm" ! -name '*debug*' | head -n 1)
cp "$top"/RPMS/*/*.rpm "$out/"
echo "$out/$(basename "$rpm")"
