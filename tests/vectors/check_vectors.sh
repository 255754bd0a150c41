#!/bin/sh
# check_vectors.sh: the checked-in join-token vectors must be exactly what
# jointoken_vectors.py (the guide's Java reference, transcribed) prints, so
# test_jointoken.c never compares against a hand-edited file.
# TAP output for Automake's tap-driver; "1..0 # SKIP" when python3 is absent
# (under tap-driver a skip is that plan line, exit 77 would count as ERROR).
top_srcdir=${top_srcdir:-.}
dir="$top_srcdir/tests/vectors"

if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 not found"
    exit 0
fi
echo "1..1"
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
if python3 "$dir/jointoken_vectors.py" >"$out" && diff -u "$dir/jointoken_vectors.txt" "$out" | sed 's/^/# /' &&
    cmp -s "$dir/jointoken_vectors.txt" "$out"; then
    echo "ok 1 - jointoken_vectors.txt matches jointoken_vectors.py"
else
    echo "not ok 1 - jointoken_vectors.txt differs from jointoken_vectors.py output (regenerate it)"
fi
