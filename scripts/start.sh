#!/usr/bin/env bash
# npm start: sets up what a fresh clone is missing (npm packages, the temporal CLI), rebuilds the console's bundle
# if its sources changed, then serves everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/helpOnly.sh
help_only scripts/serve-usage.txt "$@"
if [[ ! -x node_modules/.bin/tsx || (-z "${TEMPORAL_ADDRESS:-}" && ! -x .tools/bin/temporal) ]]; then
  echo "[start] first run: npm run setup (npm packages, the temporal CLI, native TensorFlow)"
  bash scripts/setup.sh
fi
# The console's bundle, when a source is newer (after a pull): a second at most, nothing when it is current.
node_modules/.bin/tsx scripts/buildConsole.ts --if-stale
exec node_modules/.bin/tsx scripts/serve.ts
