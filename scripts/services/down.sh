#!/usr/bin/env bash
# Stops every server scripts/services/up.sh started (their data stays until $SERVICES_DIR is removed).
set -euo pipefail
SERVICE=down
source "$(dirname "$0")/lib.sh"
SCRIPTS_DIR="$REPO_DIR/scripts/services"

# temporal-ui: started by scripts/topology/up.sh only ("not running" otherwise).
services=(mariadb versitygw temporal temporal-ui)
[ -f "$SCRIPTS_DIR/influxdb.sh" ] && services+=(influxdb)

declare -A stop_pid
for service in "${services[@]}"; do
  bash "$SCRIPTS_DIR/$service.sh" stop &
  stop_pid[$service]=$!
done
# PostgreSQL once Temporal, which keeps its data there, has stopped.
(
  while process_running "${stop_pid[temporal]}"; do sleep 0.2; done
  bash "$SCRIPTS_DIR/postgres.sh" stop
) &
stop_pid[postgres]=$!
services+=(postgres)
failed=()
for service in "${services[@]}"; do
  wait "${stop_pid[$service]}" || failed+=("$service")
done
rm -f "$SERVICES_DIR/env"
if [ ${#failed[@]} -gt 0 ]; then
  log "ERROR: could not stop: ${failed[*]}" >&2
  exit 1
fi
