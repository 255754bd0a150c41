#!/bin/sh
# check_vectors.sh: the checked-in test vectors must be exactly what their
# generators print (jointoken_vectors.py: the guide's Java reference,
# transcribed; callback_vectors.py: the callback bodies and X-HW-SIGN), so
# the C unit tests never compare against a hand-edited file.
# TAP output for Automake's tap-driver; "1..0 # SKIP" when python3 is absent
# (under tap-driver a skip is that plan line, exit 77 would count as ERROR).
top_srcdir=${top_srcdir:-.}
dir="$top_srcdir/tests/vectors"

if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 not found"
    exit 0
fi
echo "1..2"
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
n=0
for name in jointoken_vectors callback_vectors; do
    n=$((n + 1))
    if python3 "$dir/$name.py" >"$out" && diff -u "$dir/$name.txt" "$out" | sed 's/^/# /' &&
        cmp -s "$dir/$name.txt" "$out"; then
        echo "ok $n - $name.txt matches $name.py"
    else
        echo "not ok $n - $name.txt differs from $name.py output (regenerate it)"
    fi
done
