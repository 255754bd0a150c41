#!/bin/sh
# test_sdk_errors.js with Node.js (skipped without it, as test_sdk_bundle.sh is).
command -v node >/dev/null 2>&1 || { echo "1..0 # SKIP node not installed"; exit 0; }
exec node "$(dirname "$0")/test_sdk_errors.js"
