#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (preset debug-asan), and runs every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset debug-asan >/dev/null
cmake --build --preset debug-asan
ctest --preset debug-asan "$@"
