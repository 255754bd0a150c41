#!/bin/sh
# test_rpm.sh — what can be checked of the .rpm on Debian (issue #7): it is
# built with rpmbuild --nodeps from `make dist` (so it links Debian's sonames
# and is not installed anywhere), then its file list, modes, owners, config
# flags, dependencies and scriptlets are read back with rpm -qp.  The real
# package is built on the RPM distribution itself (docs/ADMIN.md).  TAP.
set -u
# A package build runs make check; never let it run this test again.
if [ -n "${IRTC_IN_PACKAGING_TEST:-}" ]; then
    echo "1..0 # SKIP nested in a packaging test"
    exit 0
fi
export IRTC_IN_PACKAGING_TEST=1
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES TESTS TEST_LOGS
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
WORK=${IRTC_PKG_WORK:-$top_builddir/build-pkg}
export LC_ALL=C

T_N=0
T_FAILED=0
ok() {
    T_N=$((T_N + 1))
    if [ "$1" -eq 0 ]; then echo "ok $T_N - $2"; else
        echo "not ok $T_N - $2"
        T_FAILED=$((T_FAILED + 1))
    fi
}
check() {
    d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok 0 "$d"; else
        ok 1 "$d"
        echo "#   failed: $*"
    fi
}
diag_file() { sed 's/^/#   /' "$1"; }

command -v rpmbuild >/dev/null 2>&1 || { echo "Bail out! rpmbuild missing (sh tools/install-test-deps.sh installs rpm)"; exit 1; }
mkdir -p "$WORK"
RUN=$(mktemp -d "$WORK/test-rpm-XXXXXX")
trap '[ -n "${IRTC_PKG_KEEP:-}" ] || rm -rf "$RUN"' EXIT

version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
# make check-packaging has made the tarball; run alone, the test makes it.
if [ ! -f "${IRTC_PKG_TARBALL:-}" ]; then
    make -s -C "$top_builddir" dist >"$RUN/dist.log" 2>&1 || { diag_file "$RUN/dist.log"; echo "Bail out! make dist"; exit 1; }
fi
if sh "$top_srcdir/packaging/build-rpm.sh" -o "$RUN/dist" -w "$RUN" "${IRTC_PKG_TARBALL:-$top_builddir/irtc-$version.tar.gz}" >"$RUN/build.log" 2>&1; then
    RPM=$(tail -n 1 "$RUN/build.log")
    ok 0 "rpmbuild builds $(basename "$RPM") from packaging/rpm/irtc.spec (--nodeps on Debian)"
else
    tail -n 30 "$RUN/build.log" | diag_file /dev/stdin
    echo "Bail out! rpmbuild failed"
    exit 1
fi

rpm -qpl "$RPM" >"$RUN/files.txt" 2>/dev/null
echo "# rpm -qpl:"
diag_file "$RUN/files.txt"
for f in /usr/sbin/irtcd /etc/irtc/irtc.yaml /usr/share/irtc/web/index.html /usr/lib/systemd/system/irtcd.service \
    /var/lib/irtc /var/lib/irtc/recordings /var/lib/irtc/backup; do
    check "the .rpm installs $f" grep -qx "$f" "$RUN/files.txt"
done
check "the .rpm installs irtcd(8)" grep -q '^/usr/share/man/man8/irtcd\.8' "$RUN/files.txt"
check "the .rpm installs ADMIN.md as documentation" grep -q '/usr/share/doc/irtc.*/ADMIN.md$' "$RUN/files.txt"

# mode owner group path, from the header
rpm -qp --qf '[%{FILEMODES:octal} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' "$RPM" >"$RUN/modes.txt"
check "irtc.yaml is 0640 root:irtc" grep -qE '^100640 root irtc [a-z]* /etc/irtc/irtc.yaml$' "$RUN/modes.txt"
check "irtc.yaml is %config(noreplace)" grep -qE '^[0-7]+ [a-z]+ [a-z]+ cn /etc/irtc/irtc.yaml$' "$RUN/modes.txt"
check "/var/lib/irtc is 0750 irtc:irtc" grep -qE '^40750 irtc irtc [a-z]* /var/lib/irtc$' "$RUN/modes.txt"
check "the unit file is not a config file (a drop-in overrides it)" grep -qE '^100644 root root  /usr/lib/systemd/system/irtcd.service$' "$RUN/modes.txt"

rpm -qp --scripts "$RPM" >"$RUN/scripts.txt" 2>/dev/null
echo "# rpm -qp --scripts:"
diag_file "$RUN/scripts.txt"
check "%pre creates the system group and user irtc" sh -c "grep -q 'groupadd -r irtc' '$RUN/scripts.txt' && grep -q 'useradd -r -g irtc' '$RUN/scripts.txt'"
check "%pre backs up the database on upgrade with the old irtcd" sh -c "grep -q 'db backup' '$RUN/scripts.txt'"
check "%post enables the unit (systemd preset)" grep -q 'preset irtcd.service' "$RUN/scripts.txt"
check "%preun stops and disables it on erase" grep -q 'disable --now irtcd.service' "$RUN/scripts.txt"
check "%postun restarts it after an upgrade" grep -q 'try-restart irtcd.service' "$RUN/scripts.txt"
check "the scriptlets are valid sh" sh -c "awk '/scriptlet \\(using \\/bin\\/sh\\):\$/ { n++; next } { print > \"$RUN/s\" n \".sh\" }' '$RUN/scripts.txt' && for f in '$RUN'/s*.sh; do sh -n \"\$f\" || exit 1; done"

rpm -qpR "$RPM" >"$RUN/requires.txt" 2>/dev/null
check "Requires: shadow-utils for %pre" grep -qx 'shadow-utils' "$RUN/requires.txt"
check "Requires the shared libraries it links (automatic)" grep -q '^libssl.so.3' "$RUN/requires.txt"
check "spec BuildRequires use pkgconfig() names" grep -q '^BuildRequires: *pkgconfig(libh2o-evloop)' "$top_srcdir/packaging/rpm/irtc.spec"
check "spec Release carries %{?dist}" grep -q '^Release: *[0-9]*%{?dist}' "$top_srcdir/packaging/rpm/irtc.spec"
check "spec Version matches configure.ac ($version)" grep -qE "^Version: *$version\$" "$top_srcdir/packaging/rpm/irtc.spec"

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
