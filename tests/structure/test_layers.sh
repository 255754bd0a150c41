#!/bin/sh
# test_layers.sh: src/ depends downward only and has no circle between
# modules, by its #includes and by the symbols its objects use
# (tools/check-layers.py; the order is in docs/ARCHITECTURE.md, "Layers").
# TAP for Automake's tap-driver; "1..0 # SKIP" when python3 is absent.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-$top_srcdir}
if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 not found"
    exit 0
fi
exec python3 "$top_srcdir/tools/check-layers.py" --tap --srcdir "$top_srcdir" --builddir "$top_builddir"
