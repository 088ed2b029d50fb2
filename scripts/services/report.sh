#!/usr/bin/env bash
# What a failed test run needs to say about the servers up.sh started: whether each still runs and
# answers, and the last lines of each log (long JSON lines cut), so a server that died mid-run is
# named in the run's own output. Usage: report.sh [lines per log, default 12]
set -uo pipefail
SERVICE=report
source "$(dirname "$0")/lib.sh"
SCRIPTS_DIR="$REPO_DIR/scripts/services"
LINES="${1:-12}"

for service in postgres mariadb versitygw influxdb temporal; do
  [ -f "$SCRIPTS_DIR/$service.sh" ] || continue
  echo "[report] ---- $service"
  bash "$SCRIPTS_DIR/$service.sh" status 2>&1 | sed 's/^/[report]   /'
  # The servers' own logs (Temporal's two processes keep one each), not install or schema logs.
  for log_file in "$SERVICES_DIR/$service"/{server,backend,frontend}.log; do
    [ -s "$log_file" ] || continue
    echo "[report]   last $LINES lines of $log_file:"
    tail -n "$LINES" "$log_file" | cut -c1-400 | sed 's/^/[report]     /'
  done
done
