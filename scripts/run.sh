#!/usr/bin/env bash
# The main job on embedded defaults: installs what is missing, builds (Release), and places the
# default scenario's requests. Any arguments replace the default command, e.g.
#   scripts/run.sh show scenarios/moc-small.yaml
# The default scenario holds one impossible request on purpose, to show an explanation: exit code 3
# (some request unsatisfied) is the expected outcome of the default run and is reported as success.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target topoplace >/dev/null
bin=build/release/api/topoplace
if [ $# -gt 0 ]; then
  exec "$bin" "$@"
fi
"$bin" validate scenarios/*.yaml
set +e
"$bin" place scenarios/moc-small.yaml
code=$?
set -e
if [ $code -eq 3 ]; then
  echo "(exit 3: a request of the scenario cannot be placed; the explanation above says why)"
  exit 0
fi
exit $code
