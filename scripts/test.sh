#!/usr/bin/env bash
# The test command (README, .ci/run): set up, type-check, lint, check formatting, run every suite against real servers,
# and replay the checked-in workflow histories against the current workflow code.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
echo "[test] typecheck, lint, format"
npx tsc --noEmit -p .
npx tsc --noEmit -p console
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; echo "[test] formatting differs: run npm run format" >&2; exit 1; }
echo "[test] real servers: MariaDB, InfluxDB, an S3 gateway, PostgreSQL and Temporal's server; HAProxy installed (any that fails to start fails the run)"
bash scripts/services/up.sh
[[ "${KEEP_SERVICES:-}" == 1 ]] || trap 'bash scripts/services/down.sh' EXIT
source .services/env
echo "[test] vitest (unit + integration)"
npx vitest run || {
  echo "[test] vitest failed; the servers' state at the end:"
  bash scripts/services/report.sh
  exit 1
}


