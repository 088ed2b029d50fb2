#!/usr/bin/env bash
# Stops every server scripts/services/up.sh started (their data stays until $SERVICES_DIR is removed).
set -euo pipefail
SERVICE=down
source "$(dirname "$0")/lib.sh"
SCRIPTS_DIR="$REPO_DIR/scripts/services"

services=(mariadb versitygw)
[ -f "$SCRIPTS_DIR/influxdb.sh" ] && services+=(influxdb)

declare -A stop_pid
for service in "${services[@]}"; do
  bash "$SCRIPTS_DIR/$service.sh" stop &
  stop_pid[$service]=$!
done
failed=()
for service in "${services[@]}"; do
  wait "${stop_pid[$service]}" || failed+=("$service")
done
rm -f "$SERVICES_DIR/env"
if [ ${#failed[@]} -gt 0 ]; then
  log "ERROR: could not stop: ${failed[*]}" >&2
  exit 1
fi
