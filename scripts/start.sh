#!/usr/bin/env bash
# npm start: sets up what a fresh clone is missing (npm packages, the temporal CLI), then serves everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/helpOnly.sh
help_only scripts/serve-usage.txt "$@"
if [[ ! -x node_modules/.bin/tsx || (-z "${TEMPORAL_ADDRESS:-}" && ! -x .tools/bin/temporal) ]]; then
  echo "[start] first run: npm run setup (npm packages, the temporal CLI, native TensorFlow)"
  bash scripts/setup.sh
fi
exec node_modules/.bin/tsx scripts/serve.ts
