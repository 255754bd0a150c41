#!/bin/sh
# build-aar.sh SRCDIR BUILDDIR — dist/iRTCSDK.aar with the JDK only (make
# android; docs/ANDROID.md):
#   classes.jar   android/java compiled with javac --release 8 (class files
#                 major 52) against our API stubs (android/stubs), which are
#                 left out of the AAR: the device has the real classes;
#   AndroidManifest.xml (minSdkVersion 21, the guide's permissions), R.txt
#                 (empty: no resources), proguard.txt (consumer rules);
#   jni/<abi>/libirtc.so only when packaging/android/build-native.sh has
#                 built them into BUILDDIR/android/jni (never a placeholder).
# Also BUILDDIR/android/classes (SDK) and stubs-classes (for the tests).
set -eu
src=$1
out=$2
jdk=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
work="$out/android"
rm -rf "$work/classes" "$work/stubs-classes" "$work/aar"
mkdir -p "$work/classes" "$work/stubs-classes" "$work/aar" "$out/dist"
"$jdk/bin/javac" -nowarn -d "$work/stubs-classes" --release 8 $(find "$src/android/stubs" -name '*.java' | sort)
"$jdk/bin/javac" -Xlint:all -Werror -d "$work/classes" --release 8 -cp "$work/stubs-classes" \
  $(find "$src/android/java" -name '*.java' | sort)
"$jdk/bin/jar" --create --file "$work/aar/classes.jar" --no-manifest -C "$work/classes" .
cp "$src/android/AndroidManifest.xml" "$src/android/proguard.txt" "$work/aar/"
: > "$work/aar/R.txt"
if [ -d "$work/jni" ]; then
  for so in "$work"/jni/*/libirtc.so; do
    [ -f "$so" ] || continue
    abi=$(basename "$(dirname "$so")")
    mkdir -p "$work/aar/jni/$abi"
    cp "$so" "$work/aar/jni/$abi/"
  done
fi
rm -f "$out/dist/iRTCSDK.aar"
(cd "$work/aar" && "$jdk/bin/jar" --create --file "$out/dist/iRTCSDK.aar" --no-manifest .)
echo "dist/iRTCSDK.aar: $(cd "$work/aar" && find . -type f | sort | tr '\n' ' ')"
