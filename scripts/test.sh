#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (preset debug-asan), and runs every test with CTest.
#
# The out-of-memory test puts a memory limit on the binary it runs, which a sanitized binary cannot
# take: it runs the release preset's `topoplace` (no sanitizers), built here and named in
# TOPOPLACE_UNSANITIZED_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset debug-asan >/dev/null
cmake --build --preset debug-asan
cmake --preset release >/dev/null
cmake --build --preset release --target topoplace
export TOPOPLACE_UNSANITIZED_BIN="$PWD/build/release/api/topoplace"
ctest --preset debug-asan "$@"
