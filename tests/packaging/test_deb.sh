#!/bin/sh
# test_deb.sh — the .deb installed for real (issue #7).  TAP output; run by
# `make check-packaging` (not by `make check`), as root, in about 1.5 minutes
# (the first run also debootstraps Debian 12 and downloads, about 1 more).
#
#  1. builds the .deb from `make dist` (with make check), and a second one of
#     the same source with a higher version (DEB_BUILD_OPTIONS=nocheck) whose
#     packaged irtc.yaml differs, as a new release's would; lintian on both;
#  2. makes a clean Debian 12 root with debootstrap (cached as a tarball in
#     build-pkg/, git-ignored) and installs the first .deb with dpkg -i +
#     apt-get -f install in a chroot; checks user, modes, files;
#  3. starts irtcd from the installed files with the packaged config as the
#     unit does (same ExecStart, User, WorkingDirectory, UMask, no capability,
#     no new privileges; systemd is not PID 1 there), in a network namespace
#     of its own so the packaged ports 8443/20000 never clash with the host;
#     checks https /healthz, / and /sdk/isdprtc.js (when packaged);
#  4. creates an app, changes the config, upgrades to the second .deb with the
#     daemon running, checks the changed config was kept, the database backup,
#     restarts irtcd and checks the app and every table's rows are still there;
#  4b. installs systemd in the root and boots it with systemd-nspawn (only a
#     loopback network): the real irtcd.service, as systemd runs it — user,
#     capabilities, seccomp, reload, and the documented port-443 drop-in;
#  5. remove keeps the data, reinstall backs it up, purge deletes it.
# Every mount and the namespace are removed on every exit path (trap).
# Without debootstrap or a chroot, the reason is printed and the package is
# checked unpacked into a scratch prefix on this machine instead.
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
CACHE=$WORK/cache
SUITE=bookworm
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

T_N=0
T_FAILED=0
ok() { # ok EXIT-CODE DESCRIPTION
    T_N=$((T_N + 1))
    if [ "$1" -eq 0 ]; then echo "ok $T_N - $2"; else
        echo "not ok $T_N - $2"
        T_FAILED=$((T_FAILED + 1))
    fi
}
check() { # check DESCRIPTION CMD...
    d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok 0 "$d"; else
        ok 1 "$d"
        echo "#   failed: $*"
    fi
}
skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP $2"; }
diag() { echo "# $*"; }
diag_file() { sed 's/^/#   /' "$1"; }
done_testing() {
    echo "1..$T_N"
    diag "packaging test took $(($(date +%s) - T0)) s"
    [ "$T_FAILED" -eq 0 ]
}
bail() {
    echo "Bail out! $*"
    exit 1
}
T0=$(date +%s)
phase() { diag "[$(($(date +%s) - T0)) s] $*"; }

[ "$(id -u)" = 0 ] || bail "needs root (debootstrap, chroot, dpkg)"
missing=
for t in dpkg-buildpackage dh dch lintian debootstrap chroot setpriv curl sqlite3 ip; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || bail "missing:$missing (sh tools/install-test-deps.sh installs them)"

mkdir -p "$WORK" "$CACHE/archives"
RUN=$(mktemp -d "$WORK/test-deb-XXXXXX")
ROOT=$RUN/root
NS=irtcpkg$$
NSEXEC=
DAEMON_PID=

# ---- cleanup: daemon, mounts (deepest first), namespace, scratch files ----
mounts_below() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r; }
cleanup() {
    if [ -n "$DAEMON_PID" ]; then kill -9 "$DAEMON_PID" 2>/dev/null; fi
    DAEMON_PID=
    for m in $(mounts_below "$ROOT"); do umount "$m" 2>/dev/null || umount -l "$m"; done
    ip netns delete "$NS" 2>/dev/null
    if [ -n "$(mounts_below "$ROOT")" ]; then
        echo "# cleanup: still mounted below $ROOT, not deleting it:"
        mounts_below "$ROOT" | sed 's/^/#   /'
    elif [ -z "${IRTC_PKG_KEEP:-}" ]; then
        rm -rf --one-file-system "$RUN"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. build both packages ----
version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
tarball=${IRTC_PKG_TARBALL:-$top_builddir/irtc-$version.tar.gz}
# make check-packaging has made the tarball; run alone, the test makes it.
if [ -z "${IRTC_PKG_TARBALL:-}" ] || [ ! -f "$tarball" ]; then
    phase "make dist"
    if ! make -s -C "$top_builddir" dist >"$RUN/dist.log" 2>&1; then
        diag_file "$RUN/dist.log"
        bail "make dist failed"
    fi
fi

phase "building the first .deb (with make check)"
if sh "$top_srcdir/packaging/build-deb.sh" -o "$RUN/dist1" -w "$RUN" "$tarball" >"$RUN/build1.log" 2>&1; then
    DEB1=$(tail -n 1 "$RUN/build1.log")
    ok 0 "the .deb builds with dpkg-buildpackage, make check passing ($(basename "$DEB1"))"
else
    tail -n 40 "$RUN/build1.log" | diag_file /dev/stdin
    bail "dpkg-buildpackage failed (log above)"
fi
V1=$(dpkg-deb -f "$DEB1" Version)
V2="$V1+upgradetest1"
mkdir "$RUN/src2"
tar -xzf "$tarball" -C "$RUN/src2" --strip-components=1
# A new release usually changes the packaged irtc.yaml: dpkg must then keep
# the admin's copy and put the new one beside it as .dpkg-dist.
echo "# (upgrade test: this line makes the packaged file of $V2 differ)" >>"$RUN/src2/etc/irtc.yaml"
phase "building the second .deb ($V2, nocheck)"
if sh "$top_srcdir/packaging/build-deb.sh" -n -v "$V2" -o "$RUN/dist2" -w "$RUN" "$RUN/src2" >"$RUN/build2.log" 2>&1; then
    DEB2=$(tail -n 1 "$RUN/build2.log")
    ok 0 "a second .deb of the same source builds as $V2"
else
    tail -n 40 "$RUN/build2.log" | diag_file /dev/stdin
    bail "second dpkg-buildpackage failed"
fi

check "the .deb depends on its shared libraries (shlibs:Depends)" sh -c "dpkg-deb -f '$DEB1' Depends | grep -q libssl3"
dpkg-deb -x "$DEB1" "$RUN/x1"
check "irtcd is hardened: PIE, full RELRO (bindnow), stack protector" sh -c "readelf -h '$RUN/x1/usr/sbin/irtcd' | grep -q 'DYN (Position-Independent' && readelf -d '$RUN/x1/usr/sbin/irtcd' | grep -q 'FLAGS.*BIND_NOW' && readelf -lW '$RUN/x1/usr/sbin/irtcd' | grep -q GNU_RELRO && nm -D '$RUN/x1/usr/sbin/irtcd' | grep -q __stack_chk_fail"

phase "lintian"
lintian --pedantic --display-info "$DEB1" >"$RUN/lintian.txt" 2>&1
diag "lintian --pedantic --display-info $(basename "$DEB1"):"
grep -v '^running with root privileges' "$RUN/lintian.txt" | diag_file /dev/stdin
check "lintian: no error" sh -c "! grep -q '^E:' '$RUN/lintian.txt'"

# ---- 2. a clean Debian root ----
mirror() { # the Debian mirror this machine's apt uses
    m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }')
    [ -n "$m" ] || m=$(cat /etc/apt/sources.list 2>/dev/null | awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }')
    echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=$(mirror)
BASE=$CACHE/$SUITE-minbase-$(dpkg --print-architecture).tar
have_root=0
mkdir "$ROOT"
if [ -n "${IRTC_PKG_NO_CHROOT:-}" ]; then
    diag "IRTC_PKG_NO_CHROOT is set: no debootstrap (exercises the fallback below)"
elif [ -s "$BASE" ]; then
    phase "unpacking the cached $SUITE root ($BASE)"
    tar -xpf "$BASE" -C "$ROOT" && have_root=1
else
    phase "debootstrap --variant=minbase $SUITE from $MIRROR (cached afterwards)"
    if debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$RUN/debootstrap.log" 2>&1; then
        tar -cpf "$BASE.part" -C "$ROOT" . && mv "$BASE.part" "$BASE"
        have_root=1
    else
        diag "debootstrap failed; its last lines, then $ROOT/debootstrap/debootstrap.log:"
        tail -n 15 "$RUN/debootstrap.log" | diag_file /dev/stdin
        [ -f "$ROOT/debootstrap/debootstrap.log" ] && tail -n 15 "$ROOT/debootstrap/debootstrap.log" | diag_file /dev/stdin
    fi
fi
if [ "$have_root" = 1 ] && ! chroot "$ROOT" /bin/true 2>"$RUN/chroot.err"; then
    diag "chroot into the new root fails:"
    diag_file "$RUN/chroot.err"
    have_root=0
fi

# ---- fallback: no chroot here, so unpack into a scratch prefix ----
if [ "$have_root" = 0 ]; then
    diag "FALLBACK: no clean Debian root (reason above); checking the package unpacked in a scratch prefix"
    P=$RUN/prefix
    dpkg-deb -x "$DEB1" "$P"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    uport=$(python3 -c 'import socket; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    sed -e "s|\"0.0.0.0:8443\"|\"127.0.0.1:$port\"|" -e "s|/var/lib/irtc|$P/var/lib/irtc|g" \
        -e "s|web_root: \"\"|web_root: \"$P/usr/share/irtc/web\"|" -e "s|port: 20000|port: $uport|" \
        -e 's|workers: auto|workers: 1|' "$P/etc/irtc/irtc.yaml" >"$P/irtc.yaml"
    "$P/usr/sbin/irtcd" --config "$P/irtc.yaml" >"$RUN/daemon.log" 2>&1 &
    DAEMON_PID=$!
    code=
    for _ in $(seq 1 100); do
        code=$(curl -ks -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/healthz") && [ "$code" = 200 ] && break
        sleep 0.2
    done
    ok "$([ "$code" = 200 ] && echo 0 || echo 1)" "unpacked irtcd serves /healthz (scratch prefix)"
    check "unpacked irtcd serves / from the packaged web root" \
        sh -c "curl -ks https://127.0.0.1:$port/ | cmp -s - '$P/usr/share/irtc/web/index.html'"
    skip "install, upgrade and purge in a chroot" "no clean Debian root"
    done_testing
    exit
fi

# ---- chroot set-up: mounts, apt sources, package cache ----
mount_chroot() { # /proc, and a /dev of our own (tmpfs: nothing of the host's /dev is reachable)
    mount -t proc proc "$ROOT/proc"
    mount -t tmpfs -o mode=0755,nosuid,size=16m irtc-test-dev "$ROOT/dev"
    for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
        set -- $n
        mknod -m 0666 "$ROOT/dev/$1" c "$2" "$3"
    done
    mkdir "$ROOT/dev/pts" "$ROOT/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$ROOT/dev/pts"
    ln -s pts/ptmx "$ROOT/dev/ptmx"
    ln -s /proc/self/fd "$ROOT/dev/fd"
}
umount_chroot() {
    for m in $(mounts_below "$ROOT"); do umount "$m" 2>/dev/null || umount -l "$m"; done
}
mount_chroot
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null
# The same Debian suites as this machine (updates and security included).
if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    : >"$ROOT/etc/apt/sources.list"
    cat /etc/apt/sources.list.d/*.sources >"$ROOT/etc/apt/sources.list.d/debian.sources"
fi
cp "$CACHE/archives/"*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null
in_root() { chroot "$ROOT" env PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"; }
as_irtc() { in_root setpriv --reuid=irtc --regid=irtc --init-groups -- "$@"; }
cp "$DEB1" "$DEB2" "$ROOT/tmp/"
D1=/tmp/$(basename "$DEB1")
D2=/tmp/$(basename "$DEB2")

# ---- install ----
phase "dpkg -i + apt-get -f install in the chroot"
in_root apt-get -q update >"$RUN/apt-update.log" 2>&1 || diag_file "$RUN/apt-update.log"
in_root dpkg -i "$D1" >"$RUN/install.log" 2>&1
diag "dpkg -i (missing dependencies are expected here):"
grep -E '^(dpkg|irtc|Setting|Unpacking)|depends on' "$RUN/install.log" | head -n 12 | diag_file /dev/stdin
in_root apt-get -q -y -f install </dev/null >"$RUN/apt-f.log" 2>&1
rc=$?
tail -n 5 "$RUN/apt-f.log" | diag_file /dev/stdin
cp "$ROOT/var/cache/apt/archives/"*.deb "$CACHE/archives/" 2>/dev/null
ok "$rc" "apt-get -f install pulls the dependencies and configures irtc"
check "irtc $V1 is installed" sh -c "chroot '$ROOT' dpkg-query -W -f='\${Status} \${Version}' irtc | grep -qx 'install ok installed $V1'"
check "system user irtc exists with no login shell" sh -c "chroot '$ROOT' getent passwd irtc | grep -q ':/var/lib/irtc:/usr/sbin/nologin$'"
check "user irtc is a system user (uid < 1000)" sh -c "[ \$(chroot '$ROOT' id -u irtc) -lt 1000 ]"
st() { chroot "$ROOT" stat -c '%a %U:%G' "$1" 2>/dev/null; } # names as the chroot knows them
check "/etc/irtc/irtc.yaml is 0640 root:irtc (got $(st /etc/irtc/irtc.yaml))" [ "$(st /etc/irtc/irtc.yaml)" = "640 root:irtc" ]
check "/var/lib/irtc is 0750 irtc:irtc (got $(st /var/lib/irtc))" [ "$(st /var/lib/irtc)" = "750 irtc:irtc" ]
check "/etc/irtc/irtc.yaml is a conffile" sh -c "chroot '$ROOT' dpkg-query -W -f='\${Conffiles}' irtc | grep -q '/etc/irtc/irtc.yaml'"
check "/usr/sbin/irtcd is installed" test -x "$ROOT/usr/sbin/irtcd"
check "/usr/share/irtc/web/index.html is installed" test -f "$ROOT/usr/share/irtc/web/index.html"
check "irtcd(8) is installed" test -f "$ROOT/usr/share/man/man8/irtcd.8.gz"
UNIT=$ROOT/lib/systemd/system/irtcd.service
check "irtcd.service is installed" test -f "$UNIT"
check "irtcd.service is enabled (multi-user.target.wants)" test -L "$ROOT/etc/systemd/system/multi-user.target.wants/irtcd.service"
for k in User=irtc Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/irtc \
    PrivateTmp=yes CapabilityBoundingSet=; do
    check "irtcd.service has $k" grep -qx "$k" "$UNIT"
done
check "the packaged config is valid (irtcd --check-config, as irtc)" as_irtc /usr/sbin/irtcd --check-config /etc/irtc/irtc.yaml

# ---- 3. start irtcd as the unit would ----
unit_get() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }
EXEC=$(unit_get ExecStart)
USER_=$(unit_get User)
WD=$(unit_get WorkingDirectory)
UMASK=$(unit_get UMask)
PORT=$(sed -n 's/^[[:space:]]*- "[^"]*:\([0-9]*\)"[[:space:]]*$/\1/p' "$ROOT/etc/irtc/irtc.yaml" | head -n 1)
diag "unit: User=$USER_ WorkingDirectory=$WD UMask=$UMASK ExecStart=$EXEC; HTTPS port $PORT"
if ip netns add "$NS" 2>"$RUN/netns.err" && ip netns exec "$NS" ip link set lo up; then
    NSEXEC="ip netns exec $NS"
    diag "irtcd runs in network namespace $NS (loopback only)"
else
    diag "no network namespace ($(cat "$RUN/netns.err")): irtcd uses the host's ports"
fi
start_irtcd() { # start_irtcd LOG: the unit's ExecStart, as its User, no capabilities
    # shellcheck disable=SC2086
    $NSEXEC chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        setpriv --reuid="$USER_" --regid="$USER_" --init-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all -- \
        sh -c "umask ${UMASK:-0022} && cd '$WD' && exec $EXEC" >>"$1" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 1 150); do
        [ "$(https /healthz -o /dev/null -w '%{http_code}')" = 200 ] && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
stop_irtcd() {
    kill -TERM "$DAEMON_PID" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
    STOP_RC=$?
    DAEMON_PID=
}
https() { # https PATH [curl args]
    p=$1
    shift
    $NSEXEC curl -ks --max-time 5 "$@" "https://127.0.0.1:$PORT$p"
}

phase "starting irtcd $V1"
start_irtcd "$RUN/daemon1.log"
ok $? "irtcd $V1 starts from the installed unit's ExecStart as $USER_ and answers /healthz 200"
check "/healthz says ok" sh -c "$NSEXEC curl -ks https://127.0.0.1:$PORT/healthz | grep -q '\"status\":\"ok\"'"
check "/ serves the packaged index.html" sh -c "$NSEXEC curl -ks https://127.0.0.1:$PORT/ | cmp -s - '$ROOT/usr/share/irtc/web/index.html'"
if [ -f "$ROOT/usr/share/irtc/web/sdk/isdprtc.js" ]; then
    check "/sdk/isdprtc.js serves the packaged SDK" sh -c "$NSEXEC curl -ks https://127.0.0.1:$PORT/sdk/isdprtc.js | cmp -s - '$ROOT/usr/share/irtc/web/sdk/isdprtc.js'"
else
    skip "/sdk/isdprtc.js serves the packaged SDK" "not in this package yet"
fi
check "the self-signed certificate is in /var/lib/irtc/tls, key 600 irtc:irtc (got $(st /var/lib/irtc/tls/key.pem))" \
    sh -c "test -s '$ROOT/var/lib/irtc/tls/cert.pem' && [ '$(st /var/lib/irtc/tls/key.pem)' = '600 irtc:irtc' ]"
check "the database belongs to irtc, not world-readable (got $(st /var/lib/irtc/irtc.db))" \
    sh -c "st=\"$(st /var/lib/irtc/irtc.db)\"; [ \"\${st#* }\" = irtc:irtc ] && [ \$((0\${st%% *} & 07)) -eq 0 ]"
check "nothing written outside /var/lib/irtc is owned by irtc" \
    sh -c "[ -z \"\$(find '$ROOT' -xdev -user irtc ! -path '$ROOT/var/lib/irtc*' ! -path '$ROOT/proc/*' 2>/dev/null)\" ]"

# ---- 4. data, config change, upgrade ----
as_irtc /usr/sbin/irtcd --config /etc/irtc/irtc.yaml app create pkgtest >"$RUN/app.json" 2>&1
APPID=$(sed -n 's/.*"appId":"\([^"]*\)".*/\1/p' "$RUN/app.json")
ok "$([ -n "$APPID" ] && echo 0 || echo 1)" "irtcd app create (as irtc, daemon running) gives appId $APPID"
DB=$ROOT/var/lib/irtc/irtc.db
table_counts() { # one "table rows" line per table
    for t in $(sqlite3 "file:$1?mode=ro" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
        echo "$t $(sqlite3 "file:$1?mode=ro" "SELECT count(*) FROM \"$t\"")"
    done
}
table_counts "$DB" >"$RUN/counts1.txt"
diag "rows before the upgrade: $(tr '\n' ' ' <"$RUN/counts1.txt")"
# The admin's change: JSON logs.
sed -i 's/^  format: text$/  format: json/' "$ROOT/etc/irtc/irtc.yaml"
check "the admin's change is in place" grep -qx '  format: json' "$ROOT/etc/irtc/irtc.yaml"

phase "upgrading to $V2 with irtcd $V1 running"
in_root dpkg -i --force-confold "$D2" </dev/null >"$RUN/upgrade.log" 2>&1
rc=$?
diag_file "$RUN/upgrade.log"
ok "$rc" "dpkg -i $V2 upgrades $V1"
check "irtc $V2 is installed" sh -c "chroot '$ROOT' dpkg-query -W -f='\${Status} \${Version}' irtc | grep -qx 'install ok installed $V2'"
check "the changed config was kept" grep -qx '  format: json' "$ROOT/etc/irtc/irtc.yaml"
check "the new packaged config is beside it (.dpkg-dist)" grep -q 'upgrade test' "$ROOT/etc/irtc/irtc.yaml.dpkg-dist"
check "the config is still 0640 root:irtc (got $(st /etc/irtc/irtc.yaml))" [ "$(st /etc/irtc/irtc.yaml)" = "640 root:irtc" ]
BK=$(ls "$ROOT/var/lib/irtc/backup/irtc-$V1-"*.db 2>/dev/null | head -n 1)
ok "$([ -n "$BK" ] && echo 0 || echo 1)" "the preinst backed up the database to /var/lib/irtc/backup/$(basename "${BK:-irtc-$V1-DATE.db}")"
check "the backup is a sound SQLite database with the app" \
    sh -c "[ \"\$(sqlite3 'file:$BK?mode=ro' 'PRAGMA integrity_check; SELECT count(*) FROM apps WHERE app_id=\"$APPID\"' | tr '\n' ' ')\" = 'ok 1 ' ]"
BKST=$(st "${BK#"$ROOT"}")
check "the backup belongs to irtc, mode 0640 or stricter (got $BKST)" \
    sh -c "[ '${BKST#* }' = irtc:irtc ] && [ \$((0${BKST%% *} & 027)) -eq 0 ]"

phase "restarting irtcd ($V2)"
stop_irtcd
start_irtcd "$RUN/daemon2.log"
ok $? "irtcd $V2 starts after the upgrade and answers /healthz 200"
check "it logs as the kept config says (json)" sh -c "grep -q '^{' '$RUN/daemon2.log'"
check "irtcd app list still shows app $APPID" sh -c "chroot '$ROOT' setpriv --reuid=irtc --regid=irtc --init-groups /usr/sbin/irtcd --config /etc/irtc/irtc.yaml app list | grep -q '$APPID'"
# Issue 16: without --config, the installed irtcd's commands read the packaged
# daemon's configuration, and say so.
check "irtcd app list without --config reads /etc/irtc/irtc.yaml and says so" sh -c "chroot '$ROOT' setpriv --reuid=irtc --regid=irtc --init-groups /usr/sbin/irtcd app list >'$RUN/noconf.out' 2>'$RUN/noconf.err' && grep -q '$APPID' '$RUN/noconf.out' && grep -q 'configuration /etc/irtc/irtc.yaml' '$RUN/noconf.err'"
table_counts "$DB" >"$RUN/counts2.txt"
check "every table keeps its rows (apps, rules, recordings, outbox ...)" \
    sh -c "join '$RUN/counts1.txt' '$RUN/counts2.txt' | awk '\$2 > \$3 { bad = 1 } END { exit bad }' && [ \$(wc -l <'$RUN/counts1.txt') -le \$(wc -l <'$RUN/counts2.txt') ]"
check "db check passes after the upgrade" as_irtc /usr/sbin/irtcd --config /etc/irtc/irtc.yaml db check
stop_irtcd
check "irtcd stops on SIGTERM with exit code 0 (got $STOP_RC)" [ "$STOP_RC" = 0 ]

# ---- 4b. the real unit under systemd (systemd-nspawn --boot) ----
# The chroot gets systemd, boots it in a container with only a loopback
# network, and a probe unit checks irtcd.service as systemd runs it: its user,
# capabilities, seccomp filter, reload, and the documented port-443 drop-in.
if command -v systemd-nspawn >/dev/null 2>&1; then
    phase "booting the root with systemd-nspawn"
    in_root apt-get -q -y install --no-install-recommends systemd systemd-sysv dbus curl </dev/null >"$RUN/apt-systemd.log" 2>&1
    rc=$?
    cp "$ROOT/var/cache/apt/archives/"*.deb "$CACHE/archives/" 2>/dev/null
    echo "$APPID" >"$ROOT/root/appid"
    cp "$ROOT/etc/irtc/irtc.yaml" "$ROOT/root/irtc.yaml.saved"
    cat >"$ROOT/usr/local/sbin/irtc-probe" <<'PROBE'
#!/bin/sh
# Runs once at boot in the test container; key=value results in /root/probe.out.
exec >/root/probe.out 2>&1
healthz() { # healthz PORT: waits up to 15 s for 200
    for _ in $(seq 1 75); do
        [ "$(curl -ks -o /dev/null -w '%{http_code}' "https://127.0.0.1:$1/healthz")" = 200 ] && return 0
        sleep 0.2
    done
    return 1
}
procinfo() { # PREFIX: user and capability state of irtcd's main process
    pid=$(systemctl show irtcd -p MainPID --value)
    echo "$1user=$(stat -c %U /proc/$pid)"
    sed -n 's/^\(CapEff\|CapBnd\|NoNewPrivs\|Seccomp\):[[:space:]]*/\1=/p' /proc/$pid/status | sed "s/^/$1/"
}
healthz 8443 && echo healthz=ok || echo healthz=fail
echo "active=$(systemctl is-active irtcd)"
echo "enabled=$(systemctl is-enabled irtcd)"
procinfo ""
runuser -u irtc -- irtcd --config /etc/irtc/irtc.yaml app list | grep -q "$(cat /root/appid)" && echo app=ok || echo app=missing
systemctl reload irtcd && sleep 1 && healthz 8443 && echo reload=ok || echo reload=fail
echo "security=$(systemd-analyze security irtcd 2>/dev/null | tail -n 1)"
# Port 443 without the drop-in: refused (no capability) ...
sed -i 's/^    - "0.0.0.0:8443"$/    - "0.0.0.0:8443"\n    - "0.0.0.0:443"/' /etc/irtc/irtc.yaml
systemctl restart irtcd
sleep 3
journalctl -u irtcd --no-pager | grep -q 'Permission denied\|EACCES\|permission' && echo port443_nocap=refused || echo port443_nocap=not-refused
# ... and served with the documented drop-in.
mkdir -p /etc/systemd/system/irtcd.service.d
printf '[Service]\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n' \
    >/etc/systemd/system/irtcd.service.d/port443.conf
systemctl daemon-reload
systemctl reset-failed irtcd 2>/dev/null
systemctl restart irtcd
healthz 443 && echo port443=ok || echo port443=fail
procinfo "port443_"
rm -r /etc/systemd/system/irtcd.service.d
cp /root/irtc.yaml.saved /etc/irtc/irtc.yaml
systemctl daemon-reload
systemctl stop irtcd
echo "stop_status=$(systemctl show irtcd -p ExecMainStatus --value)"
journalctl -u irtcd --no-pager >/root/journal.txt 2>&1
echo done=1
systemctl --no-block poweroff
PROBE
    chmod 0755 "$ROOT/usr/local/sbin/irtc-probe"
    cat >"$ROOT/etc/systemd/system/irtc-probe.service" <<'UNIT'
[Unit]
Description=irtc packaging test probe
After=irtcd.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/irtc-probe
[Install]
WantedBy=multi-user.target
UNIT
    ln -sf /etc/systemd/system/irtc-probe.service "$ROOT/etc/systemd/system/multi-user.target.wants/irtc-probe.service"
    umount_chroot
    timeout 180 systemd-nspawn -q -D "$ROOT" --boot --register=no --keep-unit --private-network \
        --machine="irtcpkg$$" </dev/null >"$RUN/nspawn.log" 2>&1
    nrc=$?
    mount_chroot
    rm -f "$ROOT/etc/systemd/system/multi-user.target.wants/irtc-probe.service"
    if [ "$rc" -ne 0 ] || ! grep -q '^done=1' "$ROOT/root/probe.out" 2>/dev/null; then
        diag "systemd-nspawn did not run the probe (apt $rc, nspawn exit $nrc); its output:"
        tail -n 25 "$RUN/nspawn.log" | diag_file /dev/stdin
    fi
    if grep -q '^done=1' "$ROOT/root/probe.out" 2>/dev/null; then
        probe() { sed -n "s/^$1=//p" "$ROOT/root/probe.out" | head -n 1; }
        diag "probe results:"
        diag_file "$ROOT/root/probe.out"
        check "systemd: irtcd.service is enabled and active after boot" [ "$(probe enabled) $(probe active)" = "enabled active" ]
        check "systemd: /healthz answers 200" [ "$(probe healthz)" = ok ]
        check "systemd: irtcd runs as irtc with no capability (CapEff=$(probe CapEff) CapBnd=$(probe CapBnd))" \
            [ "$(probe user) $(probe CapEff) $(probe CapBnd)" = "irtc 0000000000000000 0000000000000000" ]
        check "systemd: NoNewPrivileges and a seccomp filter are in force" [ "$(probe NoNewPrivs) $(probe Seccomp)" = "1 2" ]
        check "systemd: the app is there" [ "$(probe app)" = ok ]
        check "systemd: systemctl reload irtcd (SIGHUP) keeps it serving" [ "$(probe reload)" = ok ]
        check "systemd: port 443 is refused without the drop-in" [ "$(probe port443_nocap)" = refused ]
        check "systemd: port 443 works with the documented CAP_NET_BIND_SERVICE drop-in" [ "$(probe port443)" = ok ]
        check "systemd: ... and then irtcd holds CAP_NET_BIND_SERVICE only (CapEff=$(probe port443_CapEff))" \
            [ "$(probe port443_CapEff) $(probe port443_CapBnd)" = "0000000000000400 0000000000000400" ]
        check "systemd: systemctl stop ends it with status 0" [ "$(probe stop_status)" = 0 ]
        diag "systemd-analyze security irtcd: $(probe security)"
    else
        skip "irtcd.service under systemd (systemd-nspawn)" "the container did not boot here (output above)"
    fi
else
    skip "irtcd.service under systemd (systemd-nspawn)" "systemd-nspawn not installed (systemd-container)"
fi

# ---- 5. remove, reinstall, purge ----
phase "remove, reinstall, purge"
in_root dpkg -r irtc >"$RUN/remove.log" 2>&1
ok $? "dpkg -r irtc"
check "remove keeps the database" test -f "$DB"
check "remove keeps the config" test -f "$ROOT/etc/irtc/irtc.yaml"
n_before=$(ls "$ROOT/var/lib/irtc/backup" | wc -l)
in_root dpkg -i --force-confold "$D2" </dev/null >"$RUN/reinstall.log" 2>&1
ok $? "reinstalling after remove"
check "the reinstall backed up the existing database too" [ "$(ls "$ROOT/var/lib/irtc/backup" | wc -l)" -gt "$n_before" ]
check "the app survived remove + reinstall" sh -c "chroot '$ROOT' setpriv --reuid=irtc --regid=irtc --init-groups /usr/sbin/irtcd --config /etc/irtc/irtc.yaml app list | grep -q '$APPID'"
in_root dpkg --purge irtc >"$RUN/purge.log" 2>&1
ok $? "dpkg --purge irtc"
check "purge deletes /var/lib/irtc" test ! -e "$ROOT/var/lib/irtc"
check "purge deletes /etc/irtc" test ! -e "$ROOT/etc/irtc"
check "purge drops the statoverride" sh -c "! chroot '$ROOT' dpkg-statoverride --list /etc/irtc/irtc.yaml"
check "purge leaves no irtcd.service symlink" test ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/irtcd.service"

for f in daemon1 daemon2; do
    diag "$f.log (last lines):"
    tail -n 4 "$RUN/$f.log" | diag_file /dev/stdin
done
done_testing
