#!/bin/sh
# test_android.sh — the Android SDK (docs/ANDROID.md), make check-android:
#   1. dist/iRTCSDK.aar's layout, manifest and class files (javap: major 52;
#      jdeps: no Java API newer than Android API 21; our API stubs left out);
#   2. packaging/android/build-native.sh refuses without the NDK;
#   3. the JUnit 5 suite (tests/android/java, Debian's junit5 console
#      launcher) against irtcd started here on 127.0.0.1, with the desktop
#      libirtc-jni.so; each JUnit test is one TAP line.
# Needs make android first (the make target does it).  Every wait is bounded.
# IRTC_JNI_LIBDIR: load libirtc-jni.so from there instead (e.g. an ASan
# build), IRTC_JAVA_PRELOAD: LD_PRELOAD for the JVM only (its libasan.so).
. "$top_srcdir/tests/integration/lib.sh"

JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
AAR="$top_builddir/dist/iRTCSDK.aar"
LAUNCHER=/usr/share/java/junit-platform-console-standalone.jar
W="$T_TMP/aar"
mkdir -p "$W"

# ---- 1. the AAR ----
check "dist/iRTCSDK.aar exists (make android)" test -f "$AAR"
(cd "$W" && "$JAVA_HOME/bin/jar" xf "$AAR") 2>/dev/null
for f in AndroidManifest.xml classes.jar R.txt proguard.txt; do
  check "the AAR has $f at its root" test -f "$W/$f"
done
check "manifest: minSdkVersion 21" grep -q 'android:minSdkVersion="21"' "$W/AndroidManifest.xml"
for p in INTERNET RECORD_AUDIO CAMERA READ_PHONE_STATE MODIFY_AUDIO_SETTINGS ACCESS_NETWORK_STATE \
  WRITE_EXTERNAL_STORAGE BLUETOOTH; do
  check "manifest: permission $p (guide §7.2.1)" grep -q "android.permission.$p\"" "$W/AndroidManifest.xml"
done
check "proguard.txt keeps native methods" grep -q 'native <methods>' "$W/proguard.txt"
check "proguard.txt keeps the listener" grep -q 'ISDPVideoEngineListener' "$W/proguard.txt"
check "proguard.txt keeps the JNI frame callback" grep -q 'onNativeFrame(java.lang.String, boolean, boolean, boolean, int, int, long, byte\[\])' "$W/proguard.txt"
mkdir -p "$W/classes"
(cd "$W/classes" && "$JAVA_HOME/bin/jar" xf "$W/classes.jar")
n_android=$(find "$W/classes" -path '*/android/*' -name '*.class' | wc -l)
ok "$([ "$n_android" -eq 0 ]; echo $?)" "classes.jar leaves our android.* API stubs out ($n_android found)"
majors=$(for c in $(find "$W/classes" -name '*.class'); do "$JAVA_HOME/bin/javap" -v "$c" | sed -n 's/^ *major version: //p'; done | sort -u)
ok "$([ "$majors" = 52 ]; echo $?)" "every class file is major 52, Java 8 (found: $(echo $majors))"
for c in RtcEngine CreateVideoEngine EngineType ISDPVideoEngineListener ISDPRtcErrorCode RtcStats RemoteVideoStats \
  RemoteAudioStats AudioVolumeInfo MonitorInfo ChannelMediaOptions VideoCanvas; do
  check "classes.jar has com.isdp.irtc.$c" test -f "$W/classes/com/isdp/irtc/$c.class"
done
# Java APIs an Android 21 device does not have (Base64, streams, java.time,
# Optional, CompletableFuture, functional interfaces, java.nio.file).
deps=$("$JAVA_HOME/bin/jdeps" -verbose:class -cp "$top_builddir/android/stubs-classes" "$W/classes.jar" 2>&1)
newer=$(printf '%s\n' "$deps" | grep -oE 'java\.(util\.Base64|util\.stream\.[A-Za-z]+|time\.[A-Za-z.]+|util\.Optional[A-Za-z]*|util\.concurrent\.CompletableFuture|util\.function\.[A-Za-z]+|nio\.file\.[A-Za-z.]+|lang\.invoke\.[A-Za-z]+)' | sort -u)
ok "$([ -z "$newer" ] && printf '%s' "$deps" | grep -q 'java.lang.String'; echo $?)" \
  "jdeps: no Java API newer than Android API 21 ($(echo $newer))"
n_so=$(find "$W" -name '*.so' | wc -l)
ok "$([ "$n_so" -eq 0 ] || [ -d "$top_builddir/android/jni" ]; echo $?)" \
  "no .so in the AAR unless build-native.sh built them ($n_so)"

# ---- 2. the NDK build refuses without the NDK ----
out=$(env -u ANDROID_NDK_HOME sh "$top_srcdir/packaging/android/build-native.sh" "$T_TMP/ndk-out" 2>&1)
rc=$?
ok "$([ $rc -ne 0 ] && printf '%s' "$out" | grep -q ANDROID_NDK_HOME && [ ! -e "$T_TMP/ndk-out" ]; echo $?)" \
  "build-native.sh refuses clearly without ANDROID_NDK_HOME and writes nothing"
out=$(ANDROID_NDK_HOME="$T_TMP/no-ndk" sh "$top_srcdir/packaging/android/build-native.sh" "$T_TMP/ndk-out" 2>&1)
rc=$?
ok "$([ $rc -ne 0 ] && [ ! -e "$T_TMP/ndk-out" ]; echo $?)" "build-native.sh refuses an ANDROID_NDK_HOME without a toolchain"

# ---- 3. JUnit against irtcd ----
if [ ! -f "$LAUNCHER" ]; then
  echo "not ok $((T_N + 1)) - junit5 console launcher ($LAUNCHER: apt-get install junit5)"; T_N=$((T_N + 1))
  echo "1..$T_N"; exit 1
fi
HTTPS_PORT=$(free_port)
MEDIA_PORT=$(free_port 2)
write_config "$T_TMP/irtc.yaml" "$HTTPS_PORT" "$MEDIA_PORT"
if ! start_daemon "$T_TMP/irtc.yaml"; then
  ok 1 "irtcd starts"; sed 's/^/# /' "$T_TMP/daemon.log" | tail -20; done_testing; exit 1
fi
APP=$("$IRTCD" --config "$T_TMP/irtc.yaml" app create android 2>/dev/null)
field() { printf '%s' "$1" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
APP_ID=$(field "$APP" appId)
BEARER=$(field "$(curl -ks --max-time 10 -H 'Content-Type: application/json' \
  -d "{\"client_id\":\"isdp-saas-openapi\",\"client_secret\":\"isdp-saas-openapi\",\"grant_type\":\"password\",\"username\":\"$APP_ID\",\"password\":\"$(field "$APP" appToken)\"}" \
  "https://127.0.0.1:$HTTPS_PORT/oauth2/oauth/rest_token")" access_token)

mkdir -p "$T_TMP/test-classes" "$T_TMP/reports"
CP="$top_builddir/android/classes:$top_builddir/android/stubs-classes"
if ! "$JAVA_HOME/bin/javac" -nowarn -d "$T_TMP/test-classes" -cp "$CP:$LAUNCHER" \
  $(find "$top_srcdir/tests/android/java" -name '*.java') 2>"$T_TMP/javac.log"; then
  ok 1 "the JUnit tests compile"; sed 's/^/# /' "$T_TMP/javac.log"; done_testing; exit 1
fi
IRTCD="$IRTCD" IRTC_CONFIG="$T_TMP/irtc.yaml" IRTC_HTTPS_PORT="$HTTPS_PORT" IRTC_APP_ID="$APP_ID" IRTC_BEARER="$BEARER" \
  IRTC_ACCESS_KEY="$(field "$APP" accessKey)" IRTC_TENANT_ID="$(field "$APP" tenantId)" IRTC_MEDIA_PORT="$MEDIA_PORT" \
  timeout 300 env ${IRTC_JAVA_PRELOAD:+LD_PRELOAD="$IRTC_JAVA_PRELOAD"} \
  "$JAVA_HOME/bin/java" -Djava.library.path="${IRTC_JNI_LIBDIR:-$top_builddir}" -Xss1m \
  -jar "$LAUNCHER" --disable-banner --details=none --reports-dir="$T_TMP/reports" \
  --class-path "$T_TMP/test-classes:$CP" --select-package com.isdp.irtc.test >"$T_TMP/junit.log" 2>&1
junit_rc=$?
# One TAP line per JUnit test from the XML report, then the count line CI reads.
/usr/bin/python3 - "$T_TMP/reports" "$T_N" >"$T_TMP/tap" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
n = int(sys.argv[2]); passed = failed = 0
for f in sorted(glob.glob(sys.argv[1] + "/*.xml")):
    for tc in ET.parse(f).getroot().iter("testcase"):
        n += 1
        bad = [c for c in tc if c.tag in ("failure", "error")]
        name = "junit: %s.%s" % (tc.get("classname").split(".")[-1], tc.get("name").split("(")[0])
        if bad:
            failed += 1
            print("not ok %d - %s" % (n, name))
            for line in ((bad[0].get("message") or "") + "\n" + (bad[0].text or "")).splitlines()[:25]:
                print("#   %s" % line)
        else:
            passed += 1
            print("ok %d - %s" % (n, name))
print("# JUnit: %d passed, %d failed" % (passed, failed))
PY
cat "$T_TMP/tap"
T_FAILED=$((T_FAILED + $(grep -c '^not ok' "$T_TMP/tap")))
T_N=$((T_N + $(grep -c '^\(not \)\?ok' "$T_TMP/tap")))
junit_tests=$(grep -c '^\(not \)\?ok' "$T_TMP/tap")
ok "$([ $junit_rc -eq 0 ] && [ "$junit_tests" -ge 6 ]; echo $?)" "the JUnit run passed as a whole ($junit_tests tests, exit $junit_rc)"
[ $junit_rc -eq 0 ] || sed 's/^/# /' "$T_TMP/junit.log" | tail -30
kill -0 "$DAEMON_PID" 2>/dev/null; ok $? "irtcd is still running"
done_testing
