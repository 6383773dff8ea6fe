#!/usr/bin/env bash
# The malformed-request corpus against a stack built with AddressSanitizer (all three
# programs, in .build-asan): a memory error on any request aborts atr-fcgi, which the corpus
# sees as a reset or a changed pid, and the sanitizer's report in the log fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --sanitize=address --scratch-path .build-asan
# Leaks at exit are not what this looks for (the stack is stopped with SIGTERM mid-flight).
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
status=0
E2E_BIN_DIR="$PWD/.build-asan/debug" scripts/e2e.sh -k malformed_corpus || status=$?
if grep -l "AddressSanitizer" var/test/log/*.log 2>/dev/null; then
    echo "AddressSanitizer reported an error (see the log above)" >&2
    grep -h -A30 "AddressSanitizer" var/test/log/*.log >&2
    exit 1
fi
exit "$status"
