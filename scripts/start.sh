#!/usr/bin/env bash
# npm start: sets up what a fresh clone is missing (npm packages, the temporal CLI), then serves everything.
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  case "$arg" in
    -h | --help) cat scripts/serve-usage.txt; exit 0 ;;
    -*) printf 'error: unknown option %s\n\n' "$arg" >&2; cat scripts/serve-usage.txt >&2; exit 2 ;;
    *) printf 'error: unexpected argument %s\n\n' "$arg" >&2; cat scripts/serve-usage.txt >&2; exit 2 ;;
  esac
done
if [[ ! -x node_modules/.bin/tsx || (-z "${TEMPORAL_ADDRESS:-}" && ! -x .tools/bin/temporal) ]]; then
  echo "[start] first run: npm run setup (npm packages, the temporal CLI, native TensorFlow)"
  bash scripts/setup.sh
fi
exec node_modules/.bin/tsx scripts/serve.ts
