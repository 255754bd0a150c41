#!/bin/sh
# test_daemon.sh — the foundation end to end: the built irtcd on 127.0.0.1
# serves HTTPS over HTTP/1.1 and HTTP/2, static files, /healthz and /metrics,
# manages apps from the command line while running, refuses bad configs with
# file:line:column and exit 2, reloads on SIGHUP and stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port 1)
MEDIA_PORT=$(free_port 2)
CFG="$T_TMP/irtc.yaml"
write_config "$CFG" "$HTTPS_PORT" "$MEDIA_PORT"
BASE="https://127.0.0.1:$HTTPS_PORT"

# ---- configuration errors ----
printf 'server:\n  listen: ["127.0.0.1:%s"]\n  lisen: 1\n' "$HTTPS_PORT" > "$T_TMP/bad1.yaml"
out=$("$IRTCD" --check-config "$T_TMP/bad1.yaml" 2>&1); rc=$?
ok $([ $rc -eq 2 ]; echo $?) "unknown key: --check-config exits 2 (got $rc)"
echo "$out" | grep -q "^$T_TMP/bad1.yaml:3:3: server.lisen: " ; ok $? "unknown key reported as file:line:column: key.path: ($out)"
printf 'media:\n  port: 70000\n' > "$T_TMP/bad2.yaml"
out=$("$IRTCD" --config "$T_TMP/bad2.yaml" 2>&1); rc=$?
ok $([ $rc -eq 2 ]; echo $?) "out-of-range value: the daemon refuses to start with exit 2"
echo "$out" | grep -q "bad2.yaml:2:9: media.port: " ; ok $? "out-of-range reported with its position ($out)"
printf 'server:\n  tls:\n    cert: /nonexistent/cert.pem\n    key: /nonexistent/key.pem\n' > "$T_TMP/bad3.yaml"
"$IRTCD" --check-config "$T_TMP/bad3.yaml" >/dev/null 2>&1; ok $([ $? -eq 2 ]; echo $?) "unreadable certificate refused"
"$IRTCD" --check-config "$CFG" >/dev/null 2>&1; ok $? "the test's own config validates"
"$IRTCD" --check-config "$top_srcdir/etc/irtc.yaml" >/dev/null 2>&1; ok $? "the packaged etc/irtc.yaml validates"

# ---- start ----
start_daemon "$CFG"; ok $? "daemon starts and answers /healthz"
[ -s "$T_TMP/var/tls/cert.pem" ]; ok $? "self-signed certificate generated into the data directory"
openssl x509 -in "$T_TMP/var/tls/cert.pem" -noout -text 2>/dev/null | grep -q "id-ecPublicKey" ; ok $? "certificate is ECDSA"
[ "$(stat -c %a "$T_TMP/var/tls/key.pem")" = 600 ]; ok $? "private key is mode 0600"
grep -q "created demo app: appId=" "$T_TMP/daemon.log"; ok $? "demo app created and its credentials logged at first start"

# ---- HTTP versions and static files ----
v=$(api -o /dev/null -w '%{http_version}' --http1.1 "$BASE/"); ok $([ "$v" = 1.1 ]; echo $?) "HTTP/1.1 works (got $v)"
v=$(api -o /dev/null -w '%{http_version}' --http2 "$BASE/"); ok $([ "$v" = 2 ]; echo $?) "HTTP/2 negotiated by ALPN (got $v)"
api "$BASE/" | grep -q "<title>irtc"; ok $? "landing page at / (the demo meeting page) names the product"
api -D - -o /dev/null "$BASE/sdk/isdprtc.js" | grep -qi '^content-type: .*javascript'; ok $? "the Web SDK is served at /sdk/isdprtc.js as JavaScript"
api -D - -o /dev/null "$BASE/sdk/isdprtc.js.map" | grep -qi '^content-type: application/json'; ok $? "its source map as JSON"
hdr=$(api -D - -o /dev/null "$BASE/style.css")
echo "$hdr" | grep -qi '^content-type: text/css'; ok $? "static file has the right MIME type"
etag=$(echo "$hdr" | grep -i '^etag:' | sed 's/^[^:]*: *//' | tr -d '\r')
ok $([ -n "$etag" ]; echo $?) "static file has an ETag ($etag)"
code=$(api -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE/style.css")
ok $([ "$code" = 304 ]; echo $?) "conditional GET with the ETag answers 304 (got $code)"
api -D - -o /dev/null -H 'Accept-Encoding: gzip' "$BASE/" | grep -qi '^content-encoding: gzip'; ok $? "gzip offered for HTML"
code=$(api -o /dev/null -w '%{http_code}' "$BASE/no/such/file.js"); ok $([ "$code" = 404 ]; echo $?) "missing file is 404"

# ---- health and metrics ----
h=$(api "$BASE/healthz")
echo "$h" | /usr/bin/python3 -c '
import json,sys; h=json.load(sys.stdin)
assert h["status"]=="ok", h
assert h["parts"]["store"]["status"]=="ok"
assert h["parts"]["media-0"]["status"]=="ok" and h["parts"]["media-1"]["status"]=="ok"
assert h["parts"]["media-1"]["port"]=='"$((MEDIA_PORT + 1))"', h
'; ok $? "/healthz names every part, two media workers on consecutive ports"
api "$BASE/healthz?token=SUPERSECRETVALUE" >/dev/null
m=$(api "$BASE/metrics")
echo "$m" | grep -q '^irtc_uptime_seconds '; ok $? "/metrics has uptime"
echo "$m" | grep -q '^irtc_http_requests_total{route="healthz",status="200"} [1-9]'; ok $? "/metrics counts requests by route and status"
echo "$m" | grep -q '^irtc_media_workers 2'; ok $? "/metrics reports the media workers"
# UDP to a worker with no transport is counted, never crashes the daemon.
/usr/bin/python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(50): s.sendto(bytes([i])*i, ('127.0.0.1', $MEDIA_PORT))"
sleep 0.3
api "$BASE/metrics" | grep -q '^irtc_media_drop_unknown_source_total{worker="0"} [1-9]'; ok $? "stray UDP datagrams are counted as dropped"
api -o /dev/null "$BASE/healthz"; ok $? "daemon alive after stray UDP"
# A STUN binding request for a ufrag no transport has gets no answer at all
# (a 401 would reflect 1.7x the bytes to a forged source, and libnice takes a
# 401 as final when its check overtakes the transport's installation); it is
# counted, nothing more.
resp=$(/usr/bin/python3 -c "
import socket, struct, os
user = b'nosuchufrag:peer'
attrs = struct.pack('!HH', 0x0006, len(user)) + user + b'\0' * ((4 - len(user) % 4) % 4)
attrs += struct.pack('!HH', 0x0008, 20) + os.urandom(20)
msg = struct.pack('!HHI', 0x0001, len(attrs), 0x2112A442) + os.urandom(12) + attrs
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(msg, ('127.0.0.1', $MEDIA_PORT))
try:
    d = s.recv(2048)
    print('%04x' % struct.unpack('!H', d[:2])[0])
except socket.timeout:
    print('none')
" 2>&1)
ok $([ "$resp" = none ]; echo $?) "a STUN check for an unknown ufrag gets no answer (got $resp)"
api "$BASE/metrics" | grep -q '^irtc_media_drop_stun_unknown_total{worker="0"} [1-9]'; ok $? "and is counted in irtc_media_drop_stun_unknown_total"

# ---- apps from the command line while the daemon runs ----
created=$("$IRTCD" --config "$CFG" app create acme)
app_id=$(echo "$created" | /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin); assert len(a["appId"])==32 and a["appId"].isalnum(); assert a["appToken"] and a["accessKey"] and a["tenantId"]; print(a["appId"])')
ok $? "app create prints appId (32 alnum), appToken, accessKey, tenantId"
token=$(echo "$created" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["appToken"])')
"$IRTCD" --config "$CFG" app create acme >/dev/null 2>&1; ok $([ $? -ne 0 ]; echo $?) "duplicate app name refused"
l=$("$IRTCD" --config "$CFG" app list)
echo "$l" | grep -q "$app_id" && ! echo "$l" | grep -q "$token" && ! echo "$l" | grep -q accessKey; ok $? "app list shows the app without secrets"
"$IRTCD" --config "$CFG" app list --show-secrets | /usr/bin/python3 -c '
import json,sys; apps={a["name"]:a for a in json.load(sys.stdin)}
assert apps["demo"]["appToken"] and apps["demo"]["accessKey"]; assert "appToken" not in apps["acme"] and apps["acme"]["accessKey"]'
ok $? "app list --show-secrets shows keys, and the demo appToken only"
old_key=$(echo "$created" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["accessKey"])')
new_key=$("$IRTCD" --config "$CFG" app rotate-key "$app_id" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["accessKey"])')
ok $([ -n "$new_key" ] && [ "$new_key" != "$old_key" ]; echo $?) "rotate-key gives a new accessKey"
sqlite3 "$T_TMP/var/irtc.db" "select * from apps" | grep -q "$token"; ok $([ $? -ne 0 ]; echo $?) "appToken is not stored in clear"
"$IRTCD" --config "$CFG" token "$app_id" room1 alice | grep -q '"signature":"'; ok $? "token command prints a join token"
"$IRTCD" --config "$CFG" app delete "$app_id" >/dev/null; ok $? "app delete"
"$IRTCD" --config "$CFG" app delete "$app_id" >/dev/null 2>&1; ok $([ $? -ne 0 ]; echo $?) "deleting it again fails"
"$IRTCD" --config "$CFG" db check | grep -q '"integrity":"ok"'; ok $? "db check runs integrity_check"

# ---- which configuration a one-shot command uses (issue 16) ----
# Installed, `irtcd app …` without --config reads SYSCONFDIR/irtc/irtc.yaml
# (tests/packaging/test_deb.sh checks /etc/irtc/irtc.yaml); from the build
# tree, the built-in defaults; either way it says which on stderr.
err=$("$IRTCD" --config "$CFG" app list 2>&1 >/dev/null)
case "$err" in *"configuration $CFG"*) r=0;; *) r=1;; esac; ok $r "app list --config names the file it used ($err)"
mkdir "$T_TMP/cwd"  # the defaults' ./var lands here, not in the daemon's data directory
err=$(cd "$T_TMP/cwd" && "$IRTCD" db check 2>&1 >/dev/null)
case "$err" in *"built-in default configuration"*"build tree"*) r=0;; *) r=1;; esac
ok $r "from the build tree without --config: says it uses the built-in defaults ($err)"
cp "$IRTCD" "$T_TMP/cwd/irtcd-copy"
err=$(cd "$T_TMP/cwd" && ./irtcd-copy db check 2>&1 >/dev/null)
case "$err" in *"/irtc/irtc.yaml"*) r=0;; *) r=1;; esac
ok $r "a binary outside the build tree looks for the packaged SYSCONFDIR/irtc/irtc.yaml ($err)"
rm -rf "$T_TMP/cwd"

# ---- logs carry no secrets ----
! grep -q "SUPERSECRETVALUE" "$T_TMP/daemon.log"; ok $? "query strings never reach the access log"
grep -q 'GET /healthz HTTP/' "$T_TMP/daemon.log"; ok $? "one access-log line per request"

# ---- SIGHUP and SIGTERM ----
kill -HUP "$DAEMON_PID"; sleep 0.5
api -o /dev/null "$BASE/healthz"; ok $? "serves after SIGHUP"
grep -q "TLS certificate .* reloaded" "$T_TMP/daemon.log"; ok $? "SIGHUP reloads the certificate"
stop_daemon
ok $([ "$STOP_RC" = 0 ]; echo $?) "SIGTERM: exit code 0 (got $STOP_RC)"
ok $([ "$STOP_MS" -lt 5000 ]; echo $?) "SIGTERM: stopped within 5 s (${STOP_MS} ms)"

# ---- restart keeps state; no demo credentials printed twice ----
: > "$T_TMP/daemon.log"
start_daemon "$CFG"; ok $? "restarts on the same data directory"
! grep -q "created demo app" "$T_TMP/daemon.log"; ok $? "demo app is created only once"
stop_daemon

done_testing
