#!/usr/bin/env bash
# The main job on a fresh machine: install what is needed, serve the stack in the background
# (fresh data folder), run the closed-loop demo against it, stop the stack.
# DEMO_STORES=production runs it on MySQL (MariaDB), InfluxDB and S3 (Versity's S3 gateway) instead of the
# embedded SQLite and folder stores: scripts/services/up.sh installs and starts them on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/helpOnly.sh
help_only scripts/demo-usage.txt "$@"
bash scripts/setup.sh
if [[ "${DEMO_STORES:-embedded}" == production ]]; then
  bash scripts/services/up.sh
  source .services/env
  export REGISTRY_URL="$PRODUCTION_REGISTRY_URL" MEASUREMENTS_URL="$PRODUCTION_MEASUREMENTS_URL" OBJECTS_URL="$PRODUCTION_OBJECTS_URL"
  echo "[demo] stores: MySQL, InfluxDB and S3 on loopback (scripts/services/down.sh stops them)"
fi
export DATA_DIR="${DATA_DIR:-./data/demo-$(date +%Y%m%d-%H%M%S)}"
export TF_CPP_MIN_LOG_LEVEL=2 LOG_LEVEL="${LOG_LEVEL:-warn}"
mkdir -p "$DATA_DIR"
log="$DATA_DIR/serve.log"
setsid npx tsx scripts/serve.ts >"$log" 2>&1 &
serve_pid=$!
stop() { kill -INT -- "-$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; }
trap stop EXIT
echo "[demo] stack starting (log: $log, data: $DATA_DIR)"
status=0
npx tsx scripts/demo.ts || status=$?
if [[ -n "${DEMO_SCREENSHOTS:-}" ]]; then
  npx tsx scripts/consoleScreenshots.ts --out "$DEMO_SCREENSHOTS" || status=$((status ? status : 1))
fi
api_url="http://127.0.0.1:${API_PORT:-3000}"
if [[ "${DEMO_KEEP_SERVING:-}" == 1 ]]; then
  echo "[demo] still serving: the console at $api_url/console/ shows every phase; Ctrl-C stops the stack"
  wait "$serve_pid" || true
else
  echo "[demo] the console keeps every phase: DATA_DIR=$DATA_DIR npm start, then open $api_url/console/"
fi
exit "$status"
